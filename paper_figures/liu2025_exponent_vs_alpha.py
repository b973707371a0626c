"""Liu, Liu & Gore 2025 (arXiv 2505.10465), Fig. 3: model exponent alpha_m vs frequency exponent
alpha, against alpha - 1 (weak), max(1, 2(alpha - 1)) (strong) and the exact finite-n weak slope.

Quick mode: tiny sizes (one alpha). ``SOLVABLE_FULL=1``: the paper's sizes (accelerators).
"""

from __future__ import annotations

from pathlib import Path

from simulations import superposition as sp

DESCRIPTION = "Superposition toy model: alpha_m vs alpha with the weak and strong predictions"


def main(out_dir: Path, quick: bool = False) -> list[Path]:
    data, config = sp.figure_data("scaling", out_dir, quick)
    rows = sp.comparison_rows(data, window=config.window, n_boot=config.n_boot,
                              exp_scale=config.scale)  # fmt: skip
    path = Path(out_dir) / "liu2025_exponent_vs_alpha.png"
    return [sp.plot_exponents(rows, path, n=config.n, widths=config.widths)]
