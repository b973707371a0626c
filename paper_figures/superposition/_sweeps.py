"""The sweep behind the superposition figures: one compute, shared by the figures that plot it."""

from __future__ import annotations

from simulations.superposition import CompareConfig, PhaseDiagramConfig, comparison_rows, run_config


def compute_sweep(config_class: type[CompareConfig] | type[PhaseDiagramConfig], cfg: dict, name):
    """Run ``config_class.from_dict(cfg)``; returns ``{"data", "config", "rows"}`` (all cached)."""
    sweep_config = config_class.from_dict(cfg)
    sweep_config.validate()
    data = run_config(sweep_config, name=name, progress=False)
    rows = comparison_rows(
        data,
        window=sweep_config.window,
        n_boot=sweep_config.n_boot,
        exp_scale=sweep_config.exp_scale,
    )
    return {"data": data, "config": dict(cfg), "rows": rows}
