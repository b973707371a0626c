"""Maloney, Roberts & Sully 2022 (arXiv 2210.16859): test loss vs features N and vs samples T.

Linear random features, ridgeless, MRS teacher (a = b = 1 + α, α = 1), small label noise so the
plateau is visible on a log scale. Left: loss vs N at several fixed T; right: loss vs T at several
fixed N. Points: mean of float64 simulations (± 2 s.e.); lines: the deterministic equivalent
(:func:`theory.random_features.ridge_loss`) at the same M. Visible: the N^(−α) power law, the
double-descent peak at N = T, the duality N ↔ T (the two panels mirror each other) and, once
min(N, T) ≥ M, the plateau at the noise floor σ²/(1 − M/max(N, T)).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from paper_figures._cache import cached_npz

DESCRIPTION = "MRS: loss vs N at fixed T and vs T at fixed N (peak at N = T, plateau at M)"

_ALPHA = 1.0
_NOISE = 1e-6


def _compute(m: int, fixed: tuple[int, ...], sizes: np.ndarray, seeds: int) -> dict:
    from simulations import random_features as rfs

    b = a = 1.0 + _ALPHA
    out = {}
    # one sweep per panel, zero-padded along the swept size: one compilation per fixed size
    # (nested sizes would unroll one solve per size into the graph and compile slower here)
    r = rfs.simulate_ridge(
        m, sizes, fixed, b=b, a=a, noise=_NOISE, seeds=seeds, pad="features", name="fig-mrs-n"
    )
    out["vs_n"] = r["test_loss"][:, :, 0, :]  # (sizes, fixed, seeds)
    r = rfs.simulate_ridge(
        m, fixed, sizes, b=b, a=a, noise=_NOISE, seeds=seeds, pad="samples", name="fig-mrs-t"
    )
    out["vs_t"] = np.transpose(r["test_loss"][:, :, 0, :], (1, 0, 2))  # (sizes, fixed, seeds)
    return out


def main(out_dir: Path, quick: bool = False) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from theory import random_features as rft

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    m = 128 if quick else 256
    fixed = (16, 64, 4 * m) if quick else (32, 128, 4 * m)
    seeds = 4 if quick else 16
    # ratio 1.5 from 6: never equal to a fixed size (the ridgeless loss is infinite at N = T)
    sizes = np.unique(np.round(6 * 1.5 ** np.arange(0, 20)).astype(int))
    sizes = sizes[sizes <= (4 if quick else 6) * m]
    assert not set(sizes.tolist()) & set(fixed)
    config = dict(m=m, fixed=fixed, sizes=sizes.tolist(), seeds=seeds, alpha=_ALPHA, noise=_NOISE)
    stem = "maloney2022_loss_vs_size"
    data = cached_npz(out_dir / f"{stem}.npz", config, lambda: _compute(m, fixed, sizes, seeds))

    lam = rft.latent_spectrum(m, 1 + _ALPHA)
    v2 = rft.target_power(m, 1 + _ALPHA)
    grid = np.unique(np.round(np.geomspace(4, 8 * m, 400)).astype(int))
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5), sharey=True, constrained_layout=True)
    for ax, key, label, other in ((axes[0], "vs_n", "N (features)", "T"),
                                  (axes[1], "vs_t", "T (samples)", "N")):  # fmt: skip
        for j, f in enumerate(fixed):
            sim = data[key][:, j, :]
            mean = np.nanmean(sim, axis=1)
            se = np.nanstd(sim, axis=1, ddof=1) / math.sqrt(sim.shape[1])
            c = f"C{j}"
            ax.errorbar(sizes, mean, 2 * se, fmt="o", ms=4, color=c, label=f"{other} = {f}")
            g = grid[grid != f]
            th = (
                rft.ridge_loss(lam, v2, g, f, 0.0, _NOISE)
                if key == "vs_n"
                else rft.ridge_loss(lam, v2, f, g, 0.0, _NOISE)
            )
            th = np.where(np.isfinite(th), th, np.nan)
            ax.plot(g, th, "-", color=c, lw=1)
            ax.axvline(f, color=c, ls=":", lw=0.8)
        ax.axvline(m, color="k", ls="--", lw=0.8)
        ax.text(m * 1.05, 0.02, "M", transform=ax.get_xaxis_transform())
        ax.axhline(_NOISE, color="0.5", lw=0.6)
        ax.set(xscale="log", yscale="log", xlabel=label)
        ax.legend(fontsize=8, title=f"fixed {other}")
    axes[0].set_ylabel("test loss")
    slope = rft.ridgeless_asymptote(_ALPHA, m, 100, math.inf)
    fig.suptitle(
        f"MRS linear random features, ridgeless, α = {_ALPHA:g}, M = {m}, σ² = {_NOISE:g} "
        f"(lines: deterministic equivalent; asymptote E ≈ {slope * 100**_ALPHA:.3g}·n^-α)"
    )
    path = out_dir / f"{stem}.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return [path]
