"""Maloney, Roberts & Sully 2022 (arXiv 2210.16859): the ridge parameter and equiparameterization.

Linear random features, MRS teacher (α = 1) with label noise. Left: test loss vs ridge δ at
fixed T for N = T/4, T (equiparameterization) and 4T, with the optimal ridge δ* of the
deterministic equivalent marked (:func:`theory.random_features.optimal_ridge`): at N = T the
ridgeless loss diverges and the optimum is reached only with δ > 0. Right: loss vs N at fixed T,
ridgeless (double-descent peak at N = T) and at the per-N optimal ridge δ*(N) (monotone, no
peak). Points: float64 simulations, teacher-averaged (± 2 s.e.); lines:
:func:`theory.random_features.ridge_loss`.

Presets: ``quick`` (M = 256, T = 64), ``default`` (M = 1024, T = 256) and ``paper`` (M = 4096,
T = 1024: accelerator-scale).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from simulations import sweep
from simulations.plotting import QUICK_NOTE, save, stamp
from simulations.random_features import experiment, plots
from theory import random_features as rf_theory
from theory.checks import check_choice

DESCRIPTION = "MRS: loss vs ridge (optimum at equiparameterization N = T) and the peak it removes"

_ALPHA = 1.0
# preset -> (M, T, seeds, number of ridges)
_SIZES = {"quick": (256, 64, 4, 7), "default": (1024, 256, 16, 13), "paper": (4096, 1024, 16, 13)}


def config(preset: str) -> dict:
    """Sizes of ``preset``: ``M``, ``T``, noise, seeds, the ridges and the swept ``N``."""
    m, t, seeds, n_ridges = _SIZES[check_choice("preset", preset, tuple(_SIZES))]
    ns_sweep = np.unique(np.round(t * 2.0 ** np.arange(-3, 3.01, 0.5)).astype(int))
    return dict(
        m=m,
        t=t,
        noise=1e-3 / m,  # ~6% of the signal Σ v_k² ≈ 1.64/M
        seeds=seeds,
        ridges=np.geomspace(1e-4, 1e2, n_ridges).tolist(),
        ns_sweep=ns_sweep[ns_sweep != t].tolist(),
        alpha=_ALPHA,
        preset=preset,
    )


def compute(cfg: dict) -> dict:
    """Loss vs ridge at ``N = T/4, T, 4T``; ridgeless and tuned loss vs ``N``; theory lines."""
    m, t, noise, seeds = cfg["m"], cfg["t"], cfg["noise"], cfg["seeds"]
    ridges, ns_sweep = np.asarray(cfg["ridges"]), np.asarray(cfg["ns_sweep"])
    b = a = 1.0 + cfg["alpha"]
    lam, v2 = rf_theory.latent_spectrum(m, b), rf_theory.target_power(m, a)
    ns_ridge = (t // 4, t, 4 * t)
    opt = np.array([rf_theory.optimal_ridge(lam, v2, n, t, noise) for n in ns_sweep])
    r = experiment.simulate_ridge(
        m,
        ns_ridge,
        [t],
        b=b,
        a=a,
        ridge=ridges,
        noise=noise,
        seeds=seeds,
        pad="features",
        teacher_average=True,
        name="fig-mrs-ridge",
    )
    # ridgeless and tuned ridge at each N: one padded sweep of aligned (N, ridge) points
    n_pts = np.concatenate([ns_sweep, ns_sweep]).astype(float)
    grid = sweep.Grid.zipped(
        static=dict(n_latent=m, n_features=int(ns_sweep.max()), n_samples=t, teacher_average=1),
        points=dict(
            b=np.full(n_pts.size, b),
            a=np.full(n_pts.size, a),
            noise=np.full(n_pts.size, noise),
            features_used=n_pts,
            ridge=np.concatenate([np.zeros(ns_sweep.size), opt]),
        ),
        seeds=seeds,
    )
    res = sweep.run_sweep(experiment.build_ridge, grid, name="fig-mrs-tuned", progress=False)
    vals = sweep.mask_diverged(res.groups[0])["test_loss_avg"].values  # (points, seeds)
    # theory: loss vs ridge and the optimum per N = T/4, T, 4T; loss vs N ridgeless and tuned
    ridge_grid = np.geomspace(1e-5, 1e3, 200)
    optimum = []
    for n in ns_ridge:
        d = rf_theory.optimal_ridge(lam, v2, n, t, noise)
        optimum.append((d, rf_theory.ridge_loss(lam, v2, n, t, d, noise)))
    n_grid = np.unique(np.round(np.geomspace(ns_sweep[0] / 1.2, ns_sweep[-1] * 1.2, 300)))
    n_grid = n_grid[n_grid != t]
    n_grid_tuned = n_grid[::6]
    return dict(
        preset=cfg.get("preset", ""),
        m=m,
        t=t,
        noise=noise,
        alpha=cfg["alpha"],
        ridges=ridges,
        ns_ridge=ns_ridge,
        vs_ridge=r["test_loss_avg"][:, 0],  # (3, ridges, seeds)
        ridge_grid=ridge_grid,
        theory_vs_ridge=np.stack(
            [rf_theory.ridge_loss(lam, v2, n, t, ridge_grid, noise) for n in ns_ridge]
        ),
        optimum=optimum,
        ns_sweep=ns_sweep,
        ridgeless=vals[: ns_sweep.size],
        tuned=vals[ns_sweep.size :],
        n_grid=n_grid,
        theory_ridgeless=rf_theory.ridge_loss(lam, v2, n_grid, t, 0.0, noise),
        n_grid_tuned=n_grid_tuned,
        theory_tuned=np.array(
            [
                rf_theory.ridge_loss(
                    lam, v2, n, t, rf_theory.optimal_ridge(lam, v2, n, t, noise), noise
                )
                for n in n_grid_tuned
            ]
        ),
    )


def plot(data: dict, out_dir: Path) -> list[Path]:
    """Draw the figure into ``out_dir``; returns the PNG path."""
    data = dict(data)
    note = QUICK_NOTE if data.pop("preset", "") == "quick" else ""
    path = Path(out_dir) / "maloney2022_ridge.png"
    return save(stamp(plots.ridge_figure(**data), note), path)[:1]
