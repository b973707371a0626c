"""Liu, Liu & Gore 2025 (arXiv 2505.10465), Fig. 5: mean squared overlap of the represented rows
vs width in strong superposition, against 1/m (random unit vectors) and the Welch bound.

Quick mode: tiny sizes. ``SOLVABLE_FULL=1``: the paper's sizes (accelerators).
"""

from __future__ import annotations

from pathlib import Path

from simulations import superposition as sp

DESCRIPTION = "Superposition toy model: mean squared overlap vs width against 1/m"


def main(out_dir: Path, quick: bool = False) -> list[Path]:
    data, _ = sp.figure_data("scaling", out_dir, quick)
    return [sp.plot_overlaps(data, Path(out_dir) / "liu2025_overlap_vs_m.png")]
