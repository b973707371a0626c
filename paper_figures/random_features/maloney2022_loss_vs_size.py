"""Maloney, Roberts & Sully 2022 (arXiv 2210.16859): test loss vs features N and vs samples T.

Linear random features, ridgeless, MRS teacher (a = b = 1 + α, α = 1), small label noise so the
plateau is visible on a log scale. Left: loss vs N at several fixed T; right: loss vs T at several
fixed N. Points: mean of float64 simulations (± 2 s.e.); lines: the deterministic equivalent
(:func:`theory.random_features.ridge_loss`) at the same M. Visible: the N^(−α) power law, the
double-descent peak at N = T, the duality N ↔ T (the two panels mirror each other) and, once
min(N, T) ≥ M, the plateau at the noise floor σ²/(1 − M/max(N, T)).

Presets: ``quick`` (M = 128, 4 seeds), ``default`` (M = 256, 16 seeds) and ``paper``
(M = 1024, sizes up to 6M: accelerator-scale, float64 solves up to 4096 × 4096).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from simulations.plotting import QUICK_NOTE, save, stamp
from simulations.random_features import experiment, plots
from theory import random_features as rf_theory
from theory.checks import check_choice

DESCRIPTION = "MRS: loss vs N at fixed T and vs T at fixed N (peak at N = T, plateau at M)"

_ALPHA = 1.0
_NOISE = 1e-6
# preset -> (M, the two small fixed sizes, seeds, largest swept size / M)
_SIZES = {
    "quick": (128, (16, 64), 4, 4),
    "default": (256, (32, 128), 16, 6),
    "paper": (1024, (128, 512), 16, 6),
}


def config(preset: str) -> dict:
    """Sizes of ``preset``: ``M``, the fixed sizes (the third is ``4M``), swept sizes, seeds."""
    m, small, seeds, top = _SIZES[check_choice("preset", preset, tuple(_SIZES))]
    fixed = [*small, 4 * m]
    # ratio 1.5 from 6: never equal to a fixed size (the ridgeless loss is infinite at N = T)
    sizes = np.unique(np.round(6 * 1.5 ** np.arange(0, 20)).astype(int))
    sizes = sizes[sizes <= top * m].tolist()
    if set(sizes) & set(fixed):
        raise ValueError(f"swept sizes {sizes} must avoid the fixed sizes {fixed}")
    return dict(
        m=m, fixed=fixed, sizes=sizes, seeds=seeds, alpha=_ALPHA, noise=_NOISE, preset=preset
    )


def compute(cfg: dict) -> dict:
    """Two ridgeless sweeps (vs N, vs T; zero-padded: one compilation per fixed size) and the
    theory lines."""
    m, fixed, sizes, noise = cfg["m"], tuple(cfg["fixed"]), np.asarray(cfg["sizes"]), cfg["noise"]
    b = a = 1.0 + cfg["alpha"]
    common = dict(b=b, a=a, noise=noise, seeds=cfg["seeds"])
    # (nested sizes would unroll one solve per size into the graph and compile slower here)
    r = experiment.simulate_ridge(m, sizes, fixed, pad="features", name="fig-mrs-n", **common)
    vs_n = r["test_loss"][:, :, 0, :]  # (sizes, fixed, seeds)
    r = experiment.simulate_ridge(m, fixed, sizes, pad="samples", name="fig-mrs-t", **common)
    vs_t = np.transpose(r["test_loss"][:, :, 0, :], (1, 0, 2))  # (sizes, fixed, seeds)
    lam, v2 = rf_theory.latent_spectrum(m, b), rf_theory.target_power(m, a)
    grid = np.unique(np.round(np.geomspace(4, 8 * m, 400)).astype(int))
    theory_vs_n, theory_vs_t = [], []
    for f in fixed:
        g = grid[grid != f]
        theory_vs_n.append((g, rf_theory.ridge_loss(lam, v2, g, f, 0.0, noise)))
        theory_vs_t.append((g, rf_theory.ridge_loss(lam, v2, f, g, 0.0, noise)))
    return dict(
        m=m,
        fixed=fixed,
        sizes=sizes,
        vs_n=vs_n,
        vs_t=vs_t,
        theory_vs_n=theory_vs_n,
        theory_vs_t=theory_vs_t,
        noise=noise,
        alpha=cfg["alpha"],
        asymptote_100=rf_theory.ridgeless_asymptote(cfg["alpha"], m, 100, math.inf),
        preset=cfg.get("preset", ""),
    )


def plot(data: dict, out_dir: Path) -> list[Path]:
    """Draw the figure into ``out_dir``; returns the PNG path."""
    data = dict(data)
    note = QUICK_NOTE if data.pop("preset", "") == "quick" else ""
    path = Path(out_dir) / "maloney2022_loss_vs_size.png"
    return save(stamp(plots.loss_vs_size_figure(**data), note), path)[:1]
