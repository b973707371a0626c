"""Bordelon, Atanasov & Pehlevan 2024 (arXiv 2402.01092): loss dynamics, compute, data reuse.

Linear random features trained by gradient flow, b = a = 2 (MRS α = 1). (a) Population flow
(T = ∞): test loss vs time t for several N, levelling off at the N-limited loss; points are
simulations (teacher-averaged, exact in the eigenbasis of each realised feature matrix), lines the
BAP large-size theory (:func:`theory.random_features.gradient_flow_loss`). (b) The same curves
against compute C = N t: their lower envelope is the compute-optimal frontier, with
N* ∝ C^(1/3) and E* ∝ C^(−1/3) asymptotically (time exponent 1/2 ≠ size exponent 1, so compute
goes mostly into steps); the theory frontier (black) and the simulated one (red) are fitted over
their interior budgets. (c) Finite data reused every step (T samples, N fixed): the training loss
keeps falling while the test loss stalls or rises, so the train–test gap grows with t (faster for
smaller T); lines are the theory's test (solid) and train (dashed) curves.

Presets: the flow sizes of ``solvable compare random-features`` (``quick``, ``default``;
``paper`` is accelerator-scale), with data reuse at N = 128 / 512 / 1024.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from simulations.options import config_from_dict, config_to_dict
from simulations.plotting import QUICK_NOTE, save, stamp
from simulations.random_features import analysis, experiment, plots
from simulations.random_features.experiment import CompareConfig
from theory import random_features as rf_theory
from theory.checks import check_choice

DESCRIPTION = "BAP: loss vs time for several N, the compute-optimal frontier, train-test gap"

_B = _A = 2.0
# preset -> (flow seeds, data-reuse N, data-reuse steps)
_REUSE = {"quick": (8, 128, 10**6), "default": (8, 512, 10**7), "paper": (16, 1024, 10**8)}


def config(preset: str) -> dict:
    """The flow sizes of ``preset`` (a :class:`CompareConfig` dict) and the data-reuse runs."""
    seeds, n, steps = _REUSE[check_choice("preset", preset, tuple(_REUSE))]
    cfg = dataclasses.replace(CompareConfig.preset(preset), gf_seeds=seeds)
    return dict(
        compare=config_to_dict(cfg),
        b=_B,
        a=_A,
        reuse_n=n,
        reuse_t=[n // 2, 2 * n, 8 * n],
        reuse_steps=steps,
        preset=preset,
    )


def compute(cfg: dict) -> dict:
    """Population flow curves at ``gf_sizes`` with their theory, and data-reuse curves."""
    sweep_cfg = config_from_dict(CompareConfig, cfg["compare"])
    sweep_cfg.validate()
    b, a = cfg["b"], cfg["a"]
    flow = experiment.run_flow_scaling(sweep_cfg, b, a)
    m, n = sweep_cfg.gf_latent, cfg["reuse_n"]
    lam, v2 = rf_theory.latent_spectrum(m, b), rf_theory.target_power(m, a)
    test, train, test_th, train_th = [], [], [], []
    for t in cfg["reuse_t"]:
        g = experiment.simulate_gradient_descent(
            m,
            [n],
            t,
            cfg["reuse_steps"],
            b=b,
            a=a,
            learning_rate=1.0,
            flow=True,
            seeds=sweep_cfg.gf_seeds,
            n_checkpoints=40,
            name="fig-bap-reuse",
        )
        test.append(g["test_loss_avg"][0])
        train.append(g["train_loss"][0])
        th = rf_theory.gradient_flow_loss(lam, v2, n, t, g["times"])
        test_th.append(th.test)
        train_th.append(th.train)
    return dict(
        compare=dict(cfg["compare"]),
        flow=flow,
        flow_theory=analysis.flow_theory(sweep_cfg, flow),
        reuse_n=n,
        reuse_t=tuple(cfg["reuse_t"]),
        reuse_times=g["times"],
        reuse_test=np.array(test),
        reuse_train=np.array(train),
        reuse_test_th=np.array(test_th),
        reuse_train_th=np.array(train_th),
        preset=cfg.get("preset", ""),
    )


def plot(data: dict, out_dir: Path) -> list[Path]:
    """Measure the exponents (numpy) and draw the figure into ``out_dir``."""
    cfg = config_from_dict(CompareConfig, data["compare"])
    flow = analysis.measure_flow_scaling(cfg, data["flow"], theory=data["flow_theory"])
    reuse = {k: v for k, v in data.items() if k.startswith("reuse_")}
    fig = plots.dynamics_figure(flow, gf_latent=cfg.gf_latent, **reuse)
    stamp(fig, QUICK_NOTE if data.get("preset") == "quick" else "")
    return save(fig, Path(out_dir) / "bordelon2024_dynamics.png")[:1]
