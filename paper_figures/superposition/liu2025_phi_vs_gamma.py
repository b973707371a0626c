"""Liu, Liu & Gore 2025 (arXiv 2505.10465), Fig. 2: fraction of represented rows phi_1/2 vs weight
decay gamma, coloured by width m, and the (gamma, alpha) map (from the phase-diagram sweep).

Predicted: phi_1/2 ≈ m/n (weak, gamma > 0) and ≈ 1 (strong, gamma < 0), boundary near 0.
Presets: ``quick`` (tiny sizes, one alpha), ``default`` and ``paper`` (those of
``solvable phase-diagram superposition``; paper: the paper's small-run grid, accelerators).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from paper_figures.superposition._sweeps import compute_sweep, save_figure
from simulations.compare import ComparisonRow
from simulations.superposition import (
    PhaseDiagramConfig,
    plot_phase_diagram,
    plot_phi_vs_gamma,
)

DESCRIPTION = "Superposition toy model: phi_1/2 vs weight decay gamma, coloured by width"


def config(preset: str) -> dict:
    """The sweep of ``preset`` (a :class:`PhaseDiagramConfig` as a dict, plus key ``preset``)."""
    if preset == "quick":
        cfg = PhaseDiagramConfig(
            n=128,
            widths=(8, 16, 32),
            steps=400,
            batch=64,
            seeds=1,
            gammas=(-1.0, -0.5, 0.0, 0.5, 1.0),
            alphas=(1.0,),
            pad_widths=True,
            n_boot=100,
            eval_batches=2,
        )
    else:
        cfg = PhaseDiagramConfig.preset(preset)
    return {**dataclasses.asdict(cfg), "preset": preset}


def compute(cfg: dict) -> dict:
    """Run the sweep; returns ``{"data": tidy dataset, "config": cfg, "rows": comparison rows}``."""
    return compute_sweep(PhaseDiagramConfig, cfg, "superposition-phase")


def rows(data: dict) -> list[ComparisonRow]:
    """The comparison rows of :func:`compute`'s data."""
    return data["rows"]


def plot(data: dict, out_dir: Path) -> list[Path]:
    """Draw the figure from ``compute``'s data into ``out_dir``; returns the PNG paths."""
    out, cfg = Path(out_dir), data["config"]
    paths = [save_figure(plot_phi_vs_gamma(data["data"]), out / "liu2025_phi_vs_gamma.png", cfg)]
    if len(cfg["alphas"]) > 1:
        fig = plot_phase_diagram(data["data"], rows(data))
        paths.append(save_figure(fig, out / "liu2025_phase_map.png", cfg))
    return paths
