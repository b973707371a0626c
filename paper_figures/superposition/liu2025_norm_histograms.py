"""Liu, Liu & Gore 2025 (arXiv 2505.10465), Fig. 2: histograms of the row norms ||W_i||.

Weak superposition: a few rows near 1 (represented) and most near 0; strong superposition: every
row near 1 (phi_1/2 ≈ 1). Power-law settings only. Data: the sweep of
:mod:`paper_figures.superposition.liu2025_loss_vs_m` (same presets).
"""

from __future__ import annotations

from pathlib import Path

from paper_figures.superposition._sweeps import save_figure
from paper_figures.superposition.liu2025_loss_vs_m import compute, config
from simulations.superposition import plot_norm_histograms

__all__ = ["DESCRIPTION", "compute", "config", "plot"]

DESCRIPTION = "Superposition toy model: row-norm histograms in weak and strong superposition"


def plot(data: dict, out_dir: Path) -> list[Path]:
    """Draw the figure from ``compute``'s data into ``out_dir``; returns the PNG paths."""
    fig = plot_norm_histograms(
        data["data"], setting_filter=lambda d, s: str(d["law"].values[s]) == "power"
    )
    return [save_figure(fig, Path(out_dir) / "liu2025_norm_histograms.png", data["config"])]
