"""Liu, Liu & Gore 2025 (arXiv 2505.10465), Fig. 2: histograms of the row norms ||W_i||.

Weak superposition: a few rows near 1 (represented) and most near 0; strong superposition: every
row near 1 (phi_1/2 ≈ 1). Quick mode: tiny sizes. ``SOLVABLE_FULL=1``: the paper's sizes.
"""

from __future__ import annotations

from pathlib import Path

from simulations import superposition as sp

DESCRIPTION = "Superposition toy model: row-norm histograms in weak and strong superposition"


def main(out_dir: Path, quick: bool = False) -> list[Path]:
    data, _ = sp.figure_data("scaling", out_dir, quick)
    path = Path(out_dir) / "liu2025_norm_histograms.png"
    only_power = lambda d, s: str(d["law"].values[s]) == "power"  # noqa: E731
    return [sp.plot_norm_histograms(data, path, setting_filter=only_power)]
