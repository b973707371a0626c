"""Liu, Liu & Gore 2025 (arXiv 2505.10465), Figs. 1 and 4: loss vs width in weak and strong
superposition, for power-law, exponential and linear feature frequencies.

Dashed lines: the exact weak-superposition loss sum_(i>m) Var(x_i) (theory.superposition). Strong
superposition (gamma < 0) should fall as 1/m for every law; weak superposition follows the
frequency tail. Quick mode: one power law, tiny sizes. ``SOLVABLE_FULL=1``: the paper's sizes
(n = 10240, m = 8..1024; accelerators only).
"""

from __future__ import annotations

from pathlib import Path

from simulations import superposition as sp

DESCRIPTION = "Superposition toy model: loss vs width, weak vs strong, three frequency laws"


def main(out_dir: Path, quick: bool = False) -> list[Path]:
    data, config = sp.figure_data("scaling", out_dir, quick)
    rows = sp.comparison_rows(data, window=config.window, n_boot=config.n_boot,
                              exp_scale=config.scale)  # fmt: skip
    return [sp.plot_loss_vs_m(data, rows, Path(out_dir) / "liu2025_loss_vs_m.png",
                              exp_scale=config.scale)]  # fmt: skip
