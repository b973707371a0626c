"""Random-feature figures (matplotlib only): panels drawn on a given ``Axes``, figures returned.

Every ``*_figure`` function builds and returns a :class:`matplotlib.figure.Figure` (not
registered with pyplot: display it in a notebook by ending a cell with it, save it with
``fig.savefig``); the ``draw_*`` functions draw one panel on an ``Axes``. Nothing here sets a
backend, writes a file, runs a sweep or evaluates a slow theory: the data come in computed
(:mod:`simulations.random_features.analysis`, the paper-figure modules' ``compute``).
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

from simulations.random_features.analysis import FlowScaling, RegimeCurve, ScalingRegimes
from simulations.random_features.experiment import setting_tag

__all__ = [
    "compare_figure",
    "draw_flow_curves",
    "draw_frontier",
    "draw_regime",
    "dynamics_figure",
    "loss_vs_size_figure",
    "regimes_figure",
    "ridge_figure",
    "spectrum_figure",
]

_SHORT = {
    "variance exponent in T": "variance-limited in T",
    "variance exponent in N": "variance-limited in N",
}


def _mean_se(sim: np.ndarray, axis: int = 0, ddof: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard error over seeds; diverged runs (NaN) are left out of both."""
    n = np.maximum(np.sum(~np.isnan(sim), axis=axis), 1)
    return np.nanmean(sim, axis=axis), np.nanstd(sim, axis=axis, ddof=ddof) / np.sqrt(n)


def _diverged_note(ax: Axes, sim: np.ndarray) -> None:
    """Say on the axes how many runs (NaN: diverged) the points leave out."""
    n = int(np.isnan(np.asarray(sim, dtype=float).reshape(len(sim), -1)).any(axis=1).sum())
    if n:
        ax.text(
            0.95,
            0.95,
            f"{n} diverged left out",
            transform=ax.transAxes,
            ha="right",
            va="top",
            fontsize=7,
            color="C3",
        )


def draw_regime(ax: Axes, curve: RegimeCurve, title: str = "") -> None:
    """Simulated seed mean (± 2 s.e.) and the theory at the same sizes, with the fitted slope."""
    mean, err = _mean_se(curve.sim)
    ax.errorbar(curve.x, mean, 2 * err, fmt="o", ms=3, label="simulation (± 2 s.e.)")
    ax.plot(curve.x, curve.theory, "-", label="theory (same sizes)")
    ax.set(xscale="log", yscale="log", xlabel="swept size")
    ax.set_title(title or _SHORT.get(curve.quantity, curve.quantity), fontsize=9)
    ax.text(0.05, 0.05, f"fit {curve.fit.exponent:.3f}", transform=ax.transAxes)
    _diverged_note(ax, curve.sim)


def draw_flow_curves(ax: Axes, flow: FlowScaling, title: str = "") -> None:
    """Seed-mean flow curves (points) and the BAP theory (lines), one colour per ``N``."""
    for s in range(len(flow.sizes)):
        line = ax.plot(flow.times, np.nanmean(flow.sim[:, s], axis=0), "o", ms=2)[0]
        ax.plot(flow.times, flow.theory[s], "-", color=line.get_color(), lw=0.8)
    ax.set(xscale="log", yscale="log", xlabel="t")
    _diverged_note(ax, flow.sim)
    sizes = flow.sizes
    ax.set_title(title or f"flow, N = {sizes[0]}..{sizes[-1]}", fontsize=9)


def draw_frontier(ax: Axes, flow: FlowScaling, title: str = "") -> None:
    """Simulated curves against compute ``C = N t`` and the theory's compute-optimal frontier."""
    for s in range(len(flow.sizes)):
        ax.plot(flow.compute[s], np.nanmean(flow.sim[:, s], axis=0), lw=0.8, color="0.6")
    fr = flow.theory_frontier
    ok = fr.interior
    ax.plot(fr.budgets[ok], fr.optimal_loss[ok], "k-", lw=2, label="theory frontier")
    ax.set(xscale="log", yscale="log", xlabel="C = N t")
    ax.set_title(title or "compute-optimal frontier", fontsize=9)
    ax.legend(fontsize=7)


def compare_figure(regimes: Sequence[ScalingRegimes], flows: Sequence[FlowScaling]) -> Figure:
    """``compare`` overview: one row per ``(b, a)``: four regimes, flow curves, frontier."""
    n_cols = 4
    fig = Figure(figsize=(3.3 * (n_cols + 2), 3.2 * len(regimes)))
    axes = fig.subplots(len(regimes), n_cols + 2, squeeze=False)
    for i, (reg, flow) in enumerate(zip(regimes, flows, strict=True)):
        tag = setting_tag(reg.b, reg.a)
        for j, curve in enumerate(reg.curves[:n_cols]):
            draw_regime(axes[i, j], curve, f"{tag}: {_SHORT.get(curve.quantity, curve.quantity)}")
        sizes = flow.sizes
        draw_flow_curves(axes[i, n_cols], flow, f"{tag}: flow, N = {sizes[0]}..{sizes[-1]}")
        draw_frontier(axes[i, n_cols + 1], flow, f"{tag}: compute-optimal frontier")
    for ax in axes.flat:
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.yaxis.set_minor_formatter(NullFormatter())
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------------------------
# paper figures
# --------------------------------------------------------------------------------------------


def loss_vs_size_figure(
    *, m, fixed, sizes, vs_n, vs_t, theory_vs_n, theory_vs_t, noise, alpha, asymptote_100
) -> Figure:
    """MRS: loss vs ``N`` at fixed ``T`` (left) and vs ``T`` at fixed ``N`` (right).

    ``vs_n``/``vs_t``: ``(len(sizes), len(fixed), seeds)``; ``theory_vs_*``: per fixed size a
    pair ``(grid, loss)``; ``asymptote_100``: the large-``n`` loss at ``n = 100`` (title).
    """
    fig = Figure(figsize=(11, 4.5), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    panels = (
        (axes[0], vs_n, theory_vs_n, "N (features)", "T"),
        (axes[1], vs_t, theory_vs_t, "T (samples)", "N"),
    )
    for ax, sim_all, theory, label, other in panels:
        for j, f in enumerate(fixed):
            mean, se = _mean_se(sim_all[:, j, :], axis=1, ddof=1)
            c = f"C{j}"
            ax.errorbar(sizes, mean, 2 * se, fmt="o", ms=4, color=c, label=f"{other} = {f}")
            g, th = theory[j]
            ax.plot(g, np.where(np.isfinite(th), th, np.nan), "-", color=c, lw=1)
            ax.axvline(f, color=c, ls=":", lw=0.8)
        ax.axvline(m, color="k", ls="--", lw=0.8)
        ax.text(m * 1.05, 0.02, "M", transform=ax.get_xaxis_transform())
        ax.axhline(noise, color="0.5", lw=0.6)
        ax.set(xscale="log", yscale="log", xlabel=label)
        ax.legend(fontsize=8, title=f"fixed {other}")
    axes[0].set_ylabel("test loss")
    fig.suptitle(
        f"MRS linear random features, ridgeless, α = {alpha:g}, M = {m}, σ² = {noise:g} "
        f"(lines: deterministic equivalent; asymptote E ≈ {asymptote_100 * 100**alpha:.3g}·n^-α)"
    )
    return fig


def ridge_figure(
    *,
    m,
    t,
    noise,
    alpha,
    ridges,
    ns_ridge,
    vs_ridge,
    ridge_grid,
    theory_vs_ridge,
    optimum,
    ns_sweep,
    ridgeless,
    tuned,
    n_grid,
    theory_ridgeless,
    n_grid_tuned,
    theory_tuned,
) -> Figure:
    """MRS: loss vs ridge at ``N = T/4, T, 4T`` (optimum ★), and vs ``N`` ridgeless and tuned.

    ``vs_ridge``: ``(len(ns_ridge), len(ridges), seeds)``; ``theory_vs_ridge``:
    ``(len(ns_ridge), len(ridge_grid))``; ``optimum``: per ``N`` the pair ``(δ*, E(δ*))``;
    ``ridgeless``/``tuned``: ``(len(ns_sweep), seeds)``.
    """
    fig = Figure(figsize=(11, 4.5), layout="constrained")
    axes = fig.subplots(1, 2)
    ax = axes[0]
    for k, n in enumerate(ns_ridge):
        c = f"C{k}"
        mean, se = _mean_se(vs_ridge[k], axis=1, ddof=1)
        ax.errorbar(ridges, mean, 2 * se, fmt="o", ms=4, color=c, label=f"N = {n}")
        ax.plot(ridge_grid, theory_vs_ridge[k], "-", color=c, lw=1)
        ax.plot([optimum[k][0]], [optimum[k][1]], "*", color=c, ms=12, mec="k")
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="ridge δ (kernel scale)",
        ylabel="test loss",
        title=f"T = {t}: loss vs ridge (★ = optimum δ*)",
    )
    ax.legend(fontsize=8)
    ax = axes[1]
    for sim, label, c, grid, th in (
        (ridgeless, "ridgeless", "C3", n_grid, theory_ridgeless),
        (tuned, "optimal ridge δ*(N)", "C2", n_grid_tuned, theory_tuned),
    ):
        mean, se = _mean_se(sim, axis=1, ddof=1)
        ax.errorbar(ns_sweep, mean, 2 * se, fmt="o", ms=4, color=c, label=label)
        ax.plot(grid, th, "-", color=c, lw=1)
    ax.axvline(t, color="k", ls=":", lw=0.8)
    ax.axhline(noise, color="0.5", lw=0.6)
    ax.set(xscale="log", yscale="log", xlabel="N (features)", title=f"T = {t}: loss vs N")
    ax.legend(fontsize=8)
    fig.suptitle(
        f"MRS ridge regression, α = {alpha:g}, M = {m}, σ² = {noise:.2g} "
        "(points: simulation, teacher-averaged; lines: deterministic equivalent)"
    )
    return fig


def spectrum_figure(*, m, n, t, b, spectra: dict[str, np.ndarray]) -> Figure:
    """MRS §5: feature-covariance spectra (each divided by its second eigenvalue) and ``k^(−b)``."""
    fig = Figure(figsize=(6.5, 4.8), layout="constrained")
    ax = fig.subplots()
    k = np.arange(1, n + 1)
    for i, (kind, ev) in enumerate(spectra.items()):
        ev = np.where(ev > 0, ev, np.nan) / ev[1]
        ax.plot(k, ev, "-", color=f"C{i}", lw=1.5, label=f"{kind} features")
    ax.plot(k, (k / 2.0) ** (-b), "k--", lw=0.8, label=f"k^(−{b:g})")
    ax.axvline(m, color="k", ls=":", lw=0.8)
    ax.text(m * 1.05, 0.9, "M", transform=ax.get_xaxis_transform())
    ref = spectra.get("relu", next(iter(spectra.values())))
    low = np.nanmin(ref[ref > 0]) / ref[1]
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="index k",
        ylabel="eigenvalue / eigenvalue₂",
        ylim=(low / 30, 30),
        title=f"feature spectra: M = {m}, N = {n}, T = {t}, b = {b:g}",
    )
    ax.legend(fontsize=8)
    return fig


_REGIME_TITLES = {
    "e_N": ("resolution-limited in N (T = {big})", "N"),
    "e_T": ("resolution-limited in T (N = {big})", "T"),
    "variance exponent in T": ("variance-limited in T (N = {small}): E − E(N, ∞)", "T"),
    "variance exponent in N": ("variance-limited in N (T = {small}): E − E(∞, T)", "N"),
}


def regimes_figure(
    regimes: ScalingRegimes, *, big: int, var_small: int, n_latent: int, var_latent: int
) -> Figure:
    """Bahri et al.'s four regimes on a 2×2 grid, with fitted, theory and asymptotic exponents."""
    fig = Figure(figsize=(10, 8), layout="constrained")
    axes = fig.subplots(2, 2)
    for i, (curve, row) in enumerate(zip(regimes.curves, regimes.rows, strict=True)):
        ax = axes.flat[i]
        mean, se = _mean_se(curve.sim, axis=0, ddof=1)
        c = "C0" if i < 2 else "C3"
        label = f"simulation: {row.measured:.3f} [{row.ci_low:.3f}, {row.ci_high:.3f}]"
        ax.errorbar(curve.x, mean, 2 * se, fmt="o", ms=5, color=c, label=label)
        ax.plot(
            curve.x,
            curve.theory,
            "-",
            color="k",
            lw=1,
            label=f"theory, same sizes: {row.predicted:.3f}",
        )
        asym = float(row.extras["asymptote"])
        ref = curve.theory[0] * (curve.x / curve.x[0]) ** (-asym)
        ax.plot(curve.x, ref, ":", color="0.5", lw=1, label=f"asymptote: {asym:g}")
        title, xlabel = _REGIME_TITLES.get(curve.quantity, (curve.quantity, "size"))
        ax.set(
            xscale="log", yscale="log", title=title.format(big=big, small=var_small), xlabel=xlabel
        )
        ax.legend(fontsize=8, title=curve.quantity, title_fontsize=8)
    axes[0, 0].set_ylabel("test loss")
    axes[1, 0].set_ylabel("test loss − limit")
    fig.suptitle(
        f"Bahri et al. regimes, linear random features, b = {regimes.b:g}, a = {regimes.a:g}, "
        f"M = {n_latent} (resolution) / {var_latent} (variance)"
    )
    return fig


def dynamics_figure(
    flow: FlowScaling,
    *,
    gf_latent,
    reuse_n,
    reuse_t,
    reuse_times,
    reuse_test,
    reuse_train,
    reuse_test_th,
    reuse_train_th,
) -> Figure:
    """BAP: (a) flow curves for several ``N``, (b) the compute-optimal frontier, (c) data reuse.

    ``reuse_test``/``reuse_train``: ``(len(reuse_t), seeds, n_t)``; ``reuse_*_th``:
    ``(len(reuse_t), n_t)``.
    """
    fig = Figure(figsize=(16, 4.8), layout="constrained")
    axes = fig.subplots(1, 3)
    times, sizes, theory = flow.times, flow.sizes, flow.theory
    ylim = (0.5 * theory.min(), 2 * theory.max())
    cmap = matplotlib.colormaps["viridis"]
    ax = axes[0]
    for s, n in enumerate(sizes):
        col = cmap(s / max(1, len(sizes) - 1))
        mean = np.nanmean(flow.sim[:, s], axis=0)
        ax.plot(times, mean, "o", ms=2.5, color=col, label=f"N = {n}" if s % 2 == 0 else None)
        ax.plot(times, theory[s], "-", color=col, lw=0.9)
    e_t = flow.rows[0]
    asym = float(e_t.extras["asymptote"])
    i10 = int(np.argmin(np.abs(times - 10.0)))
    ref = 1.5 * theory[-1][i10] * (times / times[i10]) ** (-asym)
    ax.plot(
        times,
        ref,
        "k:",
        lw=0.8,
        label=f"t^(−{asym:g}); fit {e_t.measured:.3f}, theory {e_t.predicted:.3f}",
    )
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="time t",
        ylabel="test loss",
        ylim=ylim,
        title=f"(a) population gradient flow, M = {gf_latent}",
    )
    ax.legend(fontsize=7, ncol=2)

    ax = axes[1]
    for s in range(len(sizes)):
        ax.plot(flow.compute[s], theory[s], "-", color="0.7", lw=0.8)
    sim_front, th_front = flow.sim_frontier, flow.theory_frontier
    ok = sim_front.interior
    ax.plot(
        sim_front.budgets[ok],
        sim_front.optimal_loss[ok],
        "o",
        color="C3",
        ms=5,
        mfc="none",
        label="simulated frontier",
    )
    ok = th_front.interior
    ax.plot(th_front.budgets[ok], th_front.optimal_loss[ok], "k-", lw=1.5, label="theory frontier")
    n_row, l_row = flow.rows[1], flow.rows[3]
    ax.text(
        0.03,
        0.05,
        f"N* ∝ C^{n_row.measured:.3f} (theory {n_row.predicted:.3f}, asymptote "
        f"{float(n_row.extras['asymptote']):.3f})\n"
        f"E* ∝ C^{l_row.measured:.3f} (theory {l_row.predicted:.3f}, asymptote "
        f"{float(l_row.extras['asymptote']):.3f})",
        transform=ax.transAxes,
        fontsize=8,
    )
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="compute C = N t",
        ylabel="test loss",
        ylim=ylim,
        title="(b) compute-optimal frontier",
    )
    ax.legend(fontsize=8, loc="upper right")

    ax = axes[2]
    for k, t in enumerate(reuse_t):
        c = f"C{k}"
        ax.plot(
            reuse_times,
            np.nanmean(reuse_test[k], axis=0),
            "o",
            ms=2.5,
            color=c,
            label=f"T = {t}: test",
        )
        ax.plot(
            reuse_times,
            np.nanmean(reuse_train[k], axis=0),
            "^",
            ms=2.5,
            color=c,
            mfc="none",
            label=f"T = {t}: train",
        )
        ax.plot(reuse_times, reuse_test_th[k], "-", color=c, lw=0.9)
        ax.plot(reuse_times, reuse_train_th[k], "--", color=c, lw=0.9)
    top = np.max(reuse_test_th)
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="time t",
        ylabel="loss",
        ylim=(max(1e-3 * np.min(reuse_test_th), 1e-12), 2 * top),
        title=f"(c) data reuse: N = {reuse_n}, train–test gap",
    )
    ax.legend(fontsize=7, ncol=2)
    fig.suptitle(f"BAP dynamics of linear random features, b = {flow.b:g}, a = {flow.a:g}")
    return fig
