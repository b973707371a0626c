"""Liu, Liu & Gore 2025 (arXiv 2505.10465), Fig. 3: model exponent alpha_m vs frequency exponent
alpha, against alpha - 1 (weak), max(1, 2(alpha - 1)) (strong) and the exact finite-n weak slope.

Data: the sweep of :mod:`paper_figures.superposition.liu2025_loss_vs_m` (same presets).
"""

from __future__ import annotations

from pathlib import Path

from paper_figures.superposition._sweeps import save_figure
from paper_figures.superposition.liu2025_loss_vs_m import compute, config, rows
from simulations.superposition import plot_exponents

__all__ = ["DESCRIPTION", "compute", "config", "plot"]

DESCRIPTION = "Superposition toy model: alpha_m vs alpha with the weak and strong predictions"


def plot(data: dict, out_dir: Path) -> list[Path]:
    """Draw the figure from ``compute``'s data into ``out_dir``; returns the PNG paths."""
    cfg = data["config"]
    fig = plot_exponents(rows(data), n=cfg["n"], widths=cfg["widths"])
    return [save_figure(fig, Path(out_dir) / "liu2025_exponent_vs_alpha.png", cfg)]
