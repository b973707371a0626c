"""The sweep behind the superposition figures: one compute, shared by the figures that plot it."""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

from simulations.plotting import stamp
from simulations.superposition import CompareConfig, PhaseDiagramConfig, comparison_rows, run_config

QUICK_NOTE = "quick preset: small sizes, exponents biased"
"""Stamped on every figure drawn from a quick-preset sweep."""


def compute_sweep(config_class: type[CompareConfig] | type[PhaseDiagramConfig], cfg: dict, name):
    """Run the sweep of ``cfg`` (a ``config_class`` as a dict, plus the key ``preset``); returns
    ``{"data", "config", "rows"}`` (all cached)."""
    sweep_config = config_class.from_dict({k: v for k, v in cfg.items() if k != "preset"})
    sweep_config.validate()
    data = run_config(sweep_config, name=name, progress=False)
    rows = comparison_rows(
        data,
        window=sweep_config.window,
        n_boot=sweep_config.n_boot,
        exp_scale=sweep_config.exp_scale,
    )
    return {"data": data, "config": dict(cfg), "rows": rows}


def save_figure(fig: Figure, path: Path, cfg: dict) -> Path:
    """Save ``fig`` to ``path`` (PNG), stamped with :data:`QUICK_NOTE` when ``cfg`` is quick."""
    if cfg.get("preset") == "quick":
        stamp(fig, QUICK_NOTE)
    fig.savefig(path, dpi=120)
    return Path(path)
