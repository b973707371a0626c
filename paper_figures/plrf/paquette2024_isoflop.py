"""Paquette et al. 2024 (arXiv 2405.15074), Fig. 2: IsoFLOP curves and the compute-optimal frontier.

Expected loss vs compute f = d·B·r for many model sizes d at (α, β) = (0.7, 1.0) (phase III, the
paper's headline point: predicted η = 1 − 1/(4α) = 0.643), with the frontier P*(f) and its fitted
slope, and d*(f) with its fitted exponent ξ (predicted 1/2). Presets: ``quick`` (d = 32..256, two
W per size), ``default`` (d = 64..2048, as ``solvable phase-diagram plrf``), ``paper``
(d = 128..8192, accelerator-scale).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from simulations.plotting import QUICK_NOTE, save, stamp
from simulations.plrf import (
    PhaseDiagramConfig,
    isoflop_frontier,
    measure_point,
    run_phase_sweep,
)
from simulations.steps import geometric_sizes

__all__ = ["DESCRIPTION", "compute", "config", "plot"]

DESCRIPTION = "PLRF IsoFLOP curves at (α, β) = (0.7, 1.0) with the compute-optimal frontier"

ALPHA, BETA = 0.7, 1.0


def config(preset: str) -> dict:
    """The one-point phase-diagram sweep of ``preset`` (a :class:`PhaseDiagramConfig` as a dict)."""
    if preset == "quick":
        cfg = PhaseDiagramConfig(sizes=geometric_sizes(32, 256), seeds=2, n_boot=50)
    else:
        cfg = PhaseDiagramConfig.preset(preset)
    sweep = dataclasses.asdict(dataclasses.replace(cfg, points=((ALPHA, BETA),)))
    return {"preset": preset, **sweep}


def compute(cfg: dict) -> dict:
    """Run the sweep; returns ``{"measurement": PointMeasurement, "preset": str}``."""
    fields = {k: v for k, v in cfg.items() if k != "preset"}
    sweep_config = PhaseDiagramConfig(
        **{
            **fields,
            "sizes": tuple(int(d) for d in fields["sizes"]),
            "points": tuple((float(a), float(b)) for a, b in fields["points"]),
        }
    )
    result = run_phase_sweep(sweep_config, progress=False)
    measurement = measure_point(result, 0, n_boot=sweep_config.n_boot)
    return {"measurement": measurement, "preset": cfg.get("preset", "")}


def plot(data: dict, out_dir: Path) -> list[Path]:
    """Draw the figure from ``compute``'s data into ``out_dir``; returns the PNG paths (stamped
    as biased small-size runs when they come from the quick preset)."""
    path = Path(out_dir) / "paquette2024_isoflop.png"
    fig = isoflop_frontier(data["measurement"])
    return save(stamp(fig, QUICK_NOTE if data.get("preset") == "quick" else ""), path)[:1]
