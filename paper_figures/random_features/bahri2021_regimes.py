"""Bahri, Dyer, Kaplan, Lee & Sharma 2021 (arXiv 2102.06701): the four scaling regimes.

Linear random-feature teacher-student (MRS teacher, α = 0.5: b = a = 1.5), ridgeless. Top row:
resolution-limited, the loss vs N with T large and vs T with N large, both ∝ n^(−α) (duality
α_N = α_T); bottom row: variance-limited, the loss minus the same seed's limit of the unlimited
resource, ∝ 1/T (N small) and ∝ 1/N (T small). Points: simulations (± 2 s.e.); lines: the
deterministic equivalent at the same sizes; the legend gives the fitted exponent with its seed
bootstrap interval, the theory's exponent at these sizes and the asymptote. The resolution-limited
exponents lie above α = 0.5 at these sizes (finite M and T steepen them; the theory at the same
sizes agrees).

Presets: ``quick`` and ``default`` (M = 512 / 2048), ``paper`` (the sizes of ``solvable compare
random-features --preset paper``: accelerator-scale). The measurement (fits, theory at the same
sizes) runs at plot time from the cached sweeps: it is numpy only and takes about a second.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from simulations.options import config_from_dict, config_to_dict
from simulations.plotting import QUICK_NOTE, save, stamp
from simulations.random_features import analysis, experiment, plots
from simulations.random_features.experiment import CompareConfig
from theory.checks import check_choice

DESCRIPTION = "Bahri et al.: resolution- and variance-limited scaling in N and T on one figure"

_B = _A = 1.5


def config(preset: str) -> dict:
    """The :class:`CompareConfig` sizes of ``preset`` (as a dict) and the setting ``(b, a)``."""
    check_choice("preset", preset, ("quick", "default", "paper"))
    if preset == "quick":
        cfg = dataclasses.replace(
            CompareConfig.preset("quick"),
            n_latent=512,
            big=1024,
            res_sizes=(16, 32, 64, 128),
            var_latent=256,
            var_small=16,
            var_sizes=(128, 256, 512, 1024),
            var_seeds=16,
            seeds=4,
            pad=True,
            n_boot=300,
        )
    elif preset == "default":
        cfg = dataclasses.replace(
            CompareConfig.preset("default"),
            n_latent=2048,
            big=4096,
            res_sizes=(16, 32, 64, 128, 256),
            var_latent=512,
            var_small=16,
            var_sizes=(128, 256, 512, 1024, 2048, 4096),
            var_seeds=64,
            seeds=16,
            pad=False,
        )
    else:
        cfg = CompareConfig.preset("paper")
    return dict(compare=config_to_dict(cfg), b=_B, a=_A, preset=preset)


def compute(cfg: dict) -> dict:
    """The four nested-size sweeps (:func:`experiment.run_scaling_regimes`)."""
    sweep_cfg = config_from_dict(CompareConfig, cfg["compare"])
    sweep_cfg.validate()
    sweeps = experiment.run_scaling_regimes(sweep_cfg, cfg["b"], cfg["a"])
    return dict(compare=dict(cfg["compare"]), sweeps=sweeps, preset=cfg.get("preset", ""))


def plot(data: dict, out_dir: Path) -> list[Path]:
    """Measure the exponents (numpy) and draw the figure into ``out_dir``."""
    cfg = config_from_dict(CompareConfig, data["compare"])
    regimes = analysis.measure_scaling_regimes(cfg, data["sweeps"])
    fig = plots.regimes_figure(
        regimes,
        big=cfg.big,
        var_small=cfg.var_small,
        n_latent=cfg.n_latent,
        var_latent=cfg.var_latent,
    )
    stamp(fig, QUICK_NOTE if data.get("preset") == "quick" else "")
    return save(fig, Path(out_dir) / "bahri2021_regimes.png")[:1]
