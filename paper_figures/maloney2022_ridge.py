"""Maloney, Roberts & Sully 2022 (arXiv 2210.16859): the ridge parameter and equiparameterization.

Linear random features, MRS teacher (α = 1) with label noise. Left: test loss vs ridge δ at
fixed T for N = T/4, T (equiparameterization) and 4T, with the optimal ridge δ* of the
deterministic equivalent marked: at N = T the ridgeless loss diverges and the optimum is
reached only with δ > 0. Right: loss vs N at fixed T, ridgeless (double-descent peak at N = T)
and at the per-N optimal ridge δ*(N) (monotone, no peak). Points: float64 simulations (± 2 s.e.);
lines: :func:`theory.random_features.ridge_loss`.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from scipy import optimize

from paper_figures._cache import cached_npz

DESCRIPTION = "MRS: loss vs ridge (optimum at equiparameterization N = T) and the peak it removes"

_ALPHA = 1.0


def _optimal_ridge(lam, v2, n, t, noise) -> float:
    from theory import random_features as rft

    res = optimize.minimize_scalar(
        lambda u: math.log(rft.ridge_loss(lam, v2, n, t, math.exp(u), noise)),
        bounds=(math.log(1e-8), math.log(1e3)),
        method="bounded",
        options={"xatol": 1e-4},
    )
    return math.exp(res.x)


def main(out_dir: Path, quick: bool = False) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from simulations import random_features as rfs
    from simulations import sweep
    from theory import random_features as rft

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    m, t = (256, 64) if quick else (1024, 256)
    noise = 1e-3 / m  # ~6% of the signal Σ v_k² ≈ 1.64/M
    seeds = 4 if quick else 16
    b = a = 1.0 + _ALPHA
    lam, v2 = rft.latent_spectrum(m, b), rft.target_power(m, a)
    ns_ridge = (t // 4, t, 4 * t)
    ridges = np.geomspace(1e-4, 1e2, 7 if quick else 13)
    ns_sweep = np.unique(np.round(t * 2.0 ** np.arange(-3, 3.01, 0.5)).astype(int))
    ns_sweep = ns_sweep[ns_sweep != t]
    opt = np.array([_optimal_ridge(lam, v2, n, t, noise) for n in ns_sweep])
    config = dict(m=m, t=t, noise=noise, seeds=seeds, ridges=ridges.tolist(),
                  ns_sweep=ns_sweep.tolist(), alpha=_ALPHA)  # fmt: skip
    stem = "maloney2022_ridge"

    def compute():
        out = {}
        r = rfs.simulate_ridge(
            m, ns_ridge, [t], b=b, a=a, ridge=ridges, noise=noise, seeds=seeds, pad="features",
            teacher_average=True, name="fig-mrs-ridge",
        )  # fmt: skip
        out["vs_ridge"] = r["test_loss_avg"][:, 0]  # (3, ridges, seeds)
        # ridgeless and tuned ridge at each N: one padded sweep of aligned (N, ridge) points
        n_pts = np.concatenate([ns_sweep, ns_sweep]).astype(float)
        grid = sweep.Grid.zipped(
            static=dict(n_latent=m, n_features=int(ns_sweep.max()), n_samples=t,
                        teacher_average=1),
            points=dict(b=np.full(n_pts.size, b), a=np.full(n_pts.size, a),
                        noise=np.full(n_pts.size, noise), features_used=n_pts,
                        ridge=np.concatenate([np.zeros(ns_sweep.size), opt])),
            seeds=seeds,
        )  # fmt: skip
        res = sweep.run_sweep(rfs.build_ridge, grid, name="fig-mrs-tuned", progress=False)
        vals = sweep.mask_diverged(res.groups[0])["test_loss_avg"].values  # (points, seeds)
        out["ridgeless"], out["tuned"] = vals[: ns_sweep.size], vals[ns_sweep.size :]
        return out

    data = cached_npz(out_dir / f"{stem}.npz", config, compute)

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5), constrained_layout=True)
    ax = axes[0]
    fine = np.geomspace(1e-5, 1e3, 200)
    for k, n in enumerate(ns_ridge):
        c = f"C{k}"
        sim = data["vs_ridge"][k]
        mean, se = sim.mean(1), sim.std(1, ddof=1) / math.sqrt(sim.shape[1])
        ax.errorbar(ridges, mean, 2 * se, fmt="o", ms=4, color=c, label=f"N = {n}")
        ax.plot(fine, rft.ridge_loss(lam, v2, n, t, fine, noise), "-", color=c, lw=1)
        d = _optimal_ridge(lam, v2, n, t, noise)
        ax.plot([d], [rft.ridge_loss(lam, v2, n, t, d, noise)], "*", color=c, ms=12, mec="k")
    ax.set(xscale="log", yscale="log", xlabel="ridge δ (kernel scale)", ylabel="test loss",
           title=f"T = {t}: loss vs ridge (★ = optimum δ*)")  # fmt: skip
    ax.legend(fontsize=8)

    ax = axes[1]
    grid = np.unique(np.round(np.geomspace(ns_sweep[0] / 1.2, ns_sweep[-1] * 1.2, 300)))
    grid = grid[grid != t]
    for key, label, c, th in (
        ("ridgeless", "ridgeless", "C3", rft.ridge_loss(lam, v2, grid, t, 0.0, noise)),
        ("tuned", "optimal ridge δ*(N)", "C2",
         [rft.ridge_loss(lam, v2, n, t, _optimal_ridge(lam, v2, n, t, noise), noise)
          for n in grid[:: 6]]),
    ):  # fmt: skip
        sim = data[key]
        mean, se = sim.mean(1), sim.std(1, ddof=1) / math.sqrt(sim.shape[1])
        ax.errorbar(ns_sweep, mean, 2 * se, fmt="o", ms=4, color=c, label=label)
        ax.plot(grid if key == "ridgeless" else grid[::6], th, "-", color=c, lw=1)
    ax.axvline(t, color="k", ls=":", lw=0.8)
    ax.axhline(noise, color="0.5", lw=0.6)
    ax.set(xscale="log", yscale="log", xlabel="N (features)", title=f"T = {t}: loss vs N")
    ax.legend(fontsize=8)
    fig.suptitle(
        f"MRS ridge regression, α = {_ALPHA:g}, M = {m}, σ² = {noise:.2g} "
        "(points: simulation, teacher-averaged; lines: deterministic equivalent)"
    )
    path = out_dir / f"{stem}.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return [path]
