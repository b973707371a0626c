"""Paquette et al. 2024 (arXiv 2405.15074), Fig. 3: SGD loss curves against theory at several d.

Mean of one-pass SGD runs (each seed its own W; eigenbasis path, float32) beside the exact expected
loss of the same W's (Volterra equation, float64) and the deterministic equivalent (no W), at
(α, β) = (0.7, 1.0), B = 1, c = 0.5, v = 4d. Presets: ``quick`` (d = 32..128, 8 seeds),
``default`` (d = 100..800, 32 seeds), ``paper`` (d = 200..1600, 64 seeds: accelerator-scale).
"""

from __future__ import annotations

from pathlib import Path

from simulations.plotting import QUICK_NOTE, save, stamp
from simulations.plrf import RunConfig, loss_curves_by_size, run_curves, summarize_curves
from theory import plrf as theory_plrf
from theory.checks import check_choice

__all__ = ["DESCRIPTION", "compute", "config", "plot"]

DESCRIPTION = "PLRF SGD loss curves vs Volterra and deterministic-equivalent theory at several d"

_PRESETS = {
    "quick": {"sizes": [32, 64, 128], "seeds": 8, "max_steps": 200_000},
    "default": {"sizes": [100, 200, 400, 800], "seeds": 32, "max_steps": 2_000_000},
    "paper": {"sizes": [200, 400, 800, 1600], "seeds": 64, "max_steps": 2_000_000},
}


def config(preset: str) -> dict:
    """Sizes, seeds and the step cap of ``preset``; runs last min(cap, 4·d^(2α)/γ) steps."""
    check_choice("preset", preset, tuple(_PRESETS))
    return {
        "preset": preset,
        "alpha": 0.7,
        "beta": 1.0,
        "v_ratio": 4.0,
        "lr_scale": 0.5,
        "n_checkpoints": 30,
        **_PRESETS[preset],
    }


def compute(cfg: dict) -> dict:
    """Returns ``{"alpha", "beta", "curves": {d: LossCurves}, "preset"}``."""
    curves = {}
    for d in cfg["sizes"]:
        v = round(cfg["v_ratio"] * d)
        gamma = theory_plrf.learning_rate(cfg["alpha"], v, cfg["lr_scale"])
        run = RunConfig(
            alpha=cfg["alpha"],
            beta=cfg["beta"],
            d=int(d),
            v_ratio=cfg["v_ratio"],
            lr_scale=cfg["lr_scale"],
            steps=int(min(cfg["max_steps"], 4 * d ** (2 * cfg["alpha"]) / gamma)),
            seeds=cfg["seeds"],
            n_checkpoints=cfg["n_checkpoints"],
        )
        curves[int(d)] = summarize_curves(run_curves(run, progress=False))
    preset = cfg.get("preset", "")
    return {"alpha": cfg["alpha"], "beta": cfg["beta"], "curves": curves, "preset": preset}


def plot(data: dict, out_dir: Path) -> list[Path]:
    """Draw the figure from ``compute``'s data into ``out_dir``; returns the PNG paths (stamped
    as biased small-size runs when they come from the quick preset)."""
    title = f"PLRF α={data['alpha']}, β={data['beta']}, B=1, c=0.5, v=4d"
    path = Path(out_dir) / "paquette2024_sgd_vs_theory.png"
    fig = loss_curves_by_size(data["curves"], title=title)
    return save(stamp(fig, QUICK_NOTE if data.get("preset") == "quick" else ""), path)[:1]
