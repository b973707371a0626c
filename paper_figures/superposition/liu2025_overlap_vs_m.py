"""Liu, Liu & Gore 2025 (arXiv 2505.10465), Fig. 5: mean squared overlap of the represented rows
vs width in strong superposition, against 1/m (random unit vectors) and the Welch bound.

Data: the sweep of :mod:`paper_figures.superposition.liu2025_loss_vs_m` (same presets).
"""

from __future__ import annotations

from pathlib import Path

from paper_figures.superposition._sweeps import save_figure
from paper_figures.superposition.liu2025_loss_vs_m import compute, config
from simulations.superposition import plot_overlaps

__all__ = ["DESCRIPTION", "compute", "config", "plot"]

DESCRIPTION = "Superposition toy model: mean squared overlap vs width against 1/m"


def plot(data: dict, out_dir: Path) -> list[Path]:
    """Draw the figure from ``compute``'s data into ``out_dir``; returns the PNG paths."""
    fig = plot_overlaps(data["data"])
    return [save_figure(fig, Path(out_dir) / "liu2025_overlap_vs_m.png", data["config"])]
