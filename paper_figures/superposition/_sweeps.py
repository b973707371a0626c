"""The sweep behind the superposition figures: one compute, shared by the figures that plot it."""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

from simulations.plotting import QUICK_NOTE, save, stamp
from simulations.superposition import CompareConfig, PhaseDiagramConfig, comparison_rows, run_config


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
    """Save ``fig`` to ``path`` (PNG, and the PDF beside it: :func:`simulations.plotting.save`),
    stamped with :data:`~simulations.plotting.QUICK_NOTE` when ``cfg`` is quick; returns the
    PNG path."""
    if cfg.get("preset") == "quick":
        stamp(fig, QUICK_NOTE)
    return save(fig, path)[0]
