"""Paquette et al. 2024 (arXiv 2405.15074), Fig. 1/Table 2: the (α, β) phase diagram.

Left and middle: predicted compute-optimal exponents η (loss ∝ f^(−η)) and ξ (d* ∝ f^ξ) over the
plane, with the phase boundaries. Right: measured − predicted η at one point per phase (the sweep of
``solvable phase-diagram plrf``). Presets: ``quick`` (d = 32..256, two W per size), ``default``
and ``paper`` (those of ``solvable phase-diagram plrf``; paper: accelerator-scale).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from simulations.plotting import QUICK_NOTE, save, stamp
from simulations.plrf import (
    PhaseDiagramConfig,
    comparison_rows,
    exponent_maps,
    measure_points,
    run_phase_sweep,
)
from simulations.steps import geometric_sizes
from theory import plrf as theory_plrf

__all__ = ["DESCRIPTION", "compute", "config", "plot"]

DESCRIPTION = "PLRF (α, β) phase diagram: predicted η, ξ maps with boundaries, measured points"


def config(preset: str) -> dict:
    """The theory grid and the phase-diagram sweep of ``preset``."""
    if preset == "quick":
        sweep = PhaseDiagramConfig(
            sizes=geometric_sizes(32, 256), seeds=2, n_boot=50, n_checkpoints=100
        )
    else:
        sweep = PhaseDiagramConfig.preset(preset)
    return {
        "preset": preset,
        "alpha_grid": [0.02, 2.0, 160],
        "beta_grid": [-0.2, 2.0, 160],
        "sweep": dataclasses.asdict(sweep),
    }


def compute(cfg: dict) -> dict:
    """Predicted exponent maps and the measurements of the sweep (one per point)."""
    alphas = np.linspace(*cfg["alpha_grid"][:2], int(cfg["alpha_grid"][2]))
    betas = np.linspace(*cfg["beta_grid"][:2], int(cfg["beta_grid"][2]))
    xi, eta = theory_plrf.exponent_maps(alphas, betas)
    sweep = cfg["sweep"]
    sweep_config = PhaseDiagramConfig(
        **{
            **sweep,
            "sizes": tuple(int(d) for d in sweep["sizes"]),
            "points": tuple((float(a), float(b)) for a, b in sweep["points"]),
        }
    )
    result = run_phase_sweep(sweep_config, progress=False)
    measurements = measure_points(result, n_boot=sweep_config.n_boot)
    return {
        "alphas": alphas,
        "betas": betas,
        "xi": xi,
        "eta": eta,
        "measurements": measurements,
        "preset": cfg.get("preset", ""),
    }


def plot(data: dict, out_dir: Path) -> list[Path]:
    """Draw the figure from ``compute``'s data into ``out_dir``; returns the PNG paths (stamped
    as biased small-size runs when they come from the quick preset)."""
    rows = comparison_rows(data["measurements"])
    sizes = data["measurements"][0].sizes
    fig = exponent_maps(
        data["alphas"],
        data["betas"],
        data["xi"],
        data["eta"],
        rows,
        title=f"measured η, d = {int(sizes[0])}…{int(sizes[-1])}",
    )
    path = Path(out_dir) / "paquette2024_phase_diagram.png"
    return save(stamp(fig, QUICK_NOTE if data.get("preset") == "quick" else ""), path)[:1]
