"""Random-feature figures (matplotlib only): panels drawn on a given ``Axes``, figures returned.

Every ``*_figure`` function builds and returns a :class:`matplotlib.figure.Figure` in the house
style of :mod:`simulations.plotting` (not registered with pyplot: display it in a notebook by
ending a cell with it, save it with :func:`simulations.plotting.save`); the ``draw_*`` functions
draw one panel on an ``Axes``. Nothing here sets a backend, writes a file, runs a sweep or
evaluates a slow theory: the data come in computed (:mod:`simulations.random_features.analysis`,
the paper-figure modules' ``compute``).
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import NullFormatter

from simulations.plotting import (
    legend_below,
    new_figure,
    power_label,
    sim_points,
    size_ticks,
    styled,
    theory_line,
)
from simulations.random_features.analysis import FlowScaling, RegimeCurve, ScalingRegimes

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

_REGIME_TITLES = {
    "e_N": ("resolution-limited in N (T = {big})", "N (features)", "test loss"),
    "e_T": ("resolution-limited in T (N = {big})", "T (samples)", "test loss"),
    "variance exponent in T": (
        "variance-limited in T (N = {small})",
        "T (samples)",
        "test loss − E(N, ∞)",
    ),
    "variance exponent in N": (
        "variance-limited in N (T = {small})",
        "N (features)",
        "test loss − E(∞, T)",
    ),
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
            0.03,
            0.03,
            f"{n} diverged left out",
            transform=ax.transAxes,
            ha="left",
            va="bottom",
            fontsize=6,
            color="C3",
        )


def draw_regime(ax: Axes, curve: RegimeCurve, title: str = "", *, row=None, big=None, small=None):
    """Simulated seed mean (markers, ± 2 s.e.) and the theory at the same sizes (line); the
    legend gives the fitted exponent with its interval and (with ``row``) the predicted one.
    ``big``/``small``: the fixed sizes, named in the default title."""
    mean, err = _mean_se(curve.sim)
    ax.set(xscale="log", yscale="log")
    f = curve.fit
    sim_points(ax, curve.x, mean, 2 * err, label=f"simulation ± 2 s.e.: {f.exponent:.3f}")
    pred = f": {row.predicted:.3f}" if row is not None else ""
    theory_line(ax, curve.x, curve.theory, label=f"theory{pred}", color="C1")
    head, xlabel, ylabel = _REGIME_TITLES.get(curve.quantity, (curve.quantity, "size", "loss"))
    if not title:
        title = head.format(big=big, small=small) if big is not None else head.split(" (")[0]
    ax.set(xlabel=xlabel, ylabel=ylabel)
    ax.set_title(title)
    size_ticks(ax, curve.x)
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.legend(loc="upper right", fontsize=5.5, title="exponent", title_fontsize=5.5)
    _diverged_note(ax, curve.sim)


def draw_flow_curves(ax: Axes, flow: FlowScaling, title: str = "") -> None:
    """Seed-mean flow curves (markers) and the BAP theory (lines), one colour per ``N``."""
    cmap = matplotlib.colormaps["viridis"]
    for s, n in enumerate(flow.sizes):
        col = cmap(s / max(1, len(flow.sizes) - 1))
        label = f"N = {n}" if s in (0, len(flow.sizes) - 1) else None
        ax.plot(flow.times, np.nanmean(flow.sim[:, s], axis=0), "o", ms=1.8, color=col, label=label)
        ax.plot(flow.times, flow.theory[s], "-", color=col, lw=0.8)
    ax.plot([], [], "-", color="0.3", lw=0.8, label="BAP theory")
    ax.set(xscale="log", yscale="log", xlabel="time t", ylabel="test loss")
    _diverged_note(ax, flow.sim)
    sizes = flow.sizes
    ax.set_title(title or f"gradient flow, N = {sizes[0]}…{sizes[-1]}")
    ax.legend(loc="upper right")


def draw_frontier(ax: Axes, flow: FlowScaling, title: str = "") -> None:
    """Simulated curves against compute ``C = N t`` and the theory's compute-optimal frontier."""
    for s in range(len(flow.sizes)):
        label = "simulation, one per N" if s == 0 else None
        ax.plot(
            flow.compute[s], np.nanmean(flow.sim[:, s], axis=0), lw=0.8, color="0.6", label=label
        )
    fr = flow.theory_frontier
    ok = fr.interior
    ax.plot(fr.budgets[ok], fr.optimal_loss[ok], "k-", lw=2, label="theory frontier")
    ax.set(xscale="log", yscale="log", xlabel="compute C = N t", ylabel="test loss")
    ax.set_title(title or "compute-optimal frontier")
    ax.legend(loc="lower left")


@styled
def compare_figure(regimes: Sequence[ScalingRegimes], flows: Sequence[FlowScaling]) -> Figure:
    """``compare`` overview: per ``(b, a)`` a 2 × 3 grid: the four regimes (fitted and predicted
    exponents in the legends), gradient-flow curves, and the compute-optimal frontier."""
    n = len(regimes)
    fig = new_figure("two", 4.4 * n)
    subfigs = np.atleast_1d(fig.subfigures(n, 1, squeeze=False).ravel())
    for sub, reg, flow in zip(subfigs, regimes, flows, strict=True):
        axes = sub.subplots(2, 3)
        for ax, curve, row in zip(axes.flat[:4], reg.curves, reg.rows, strict=False):
            draw_regime(ax, curve, row=row)
        draw_flow_curves(axes.flat[4], flow)
        draw_frontier(axes.flat[5], flow)
        for ax in axes.flat:
            ax.tick_params(labelsize=6)
            ax.yaxis.set_minor_formatter(NullFormatter())
        sub.suptitle(f"linear random features, b = {reg.b:g}, a = {reg.a:g}")
    return fig


# --------------------------------------------------------------------------------------------
# paper figures
# --------------------------------------------------------------------------------------------


def _log_limits(*arrays, pad: float = 2.0) -> tuple[float, float]:
    """y limits of a log axis holding every positive finite value of ``arrays`` (with margin)."""
    vals = np.concatenate([np.ravel(np.asarray(a, dtype=float)) for a in arrays])
    vals = vals[np.isfinite(vals) & (vals > 0)]
    return float(vals.min()) / pad, float(vals.max()) * pad


def _split_at(grid: np.ndarray, values: np.ndarray, at: float) -> tuple[np.ndarray, np.ndarray]:
    """The curve with a break (NaN) at ``at``: the ridgeless loss diverges at ``N = T``, so its
    two branches rise towards ``at`` instead of being joined across it."""
    values = np.where(np.isfinite(values), values, np.nan)
    k = int(np.searchsorted(grid, at))
    return np.insert(grid, k, at), np.insert(values, k, np.nan)


@styled
def loss_vs_size_figure(
    *, m, fixed, sizes, vs_n, vs_t, theory_vs_n, theory_vs_t, noise, alpha, asymptote_100
) -> Figure:
    """MRS: loss vs ``N`` at fixed ``T`` (left) and vs ``T`` at fixed ``N`` (right).

    ``vs_n``/``vs_t``: ``(len(sizes), len(fixed), seeds)``; ``theory_vs_*``: per fixed size a
    pair ``(grid, loss)``; ``asymptote_100``: the large-``n`` loss at ``n = 100`` (legend). The
    y range holds every simulated point with its bar and the whole theory curve (its peak at
    ``N = T`` included: the ridgeless loss is finite on the grid, which leaves out ``N = T``).
    """
    fig = new_figure("two", 3.2)
    axes = fig.subplots(1, 2, sharey=True)
    panels = (
        (axes[0], vs_n, theory_vs_n, "N (features)", "T"),
        (axes[1], vs_t, theory_vs_t, "T (samples)", "N"),
    )
    c_asym = asymptote_100 * 100**alpha
    extent = []
    for ax, sim_all, theory, label, other in panels:
        ax.set(xscale="log", yscale="log")
        for j, f in enumerate(fixed):
            mean, se = _mean_se(sim_all[:, j, :], axis=1, ddof=1)
            c = f"C{j}"
            sim_points(ax, sizes, mean, 2 * se, color=c, label=f"{other} = {f}")
            g, th = theory[j]
            g, th = _split_at(np.asarray(g, dtype=float), np.asarray(th, dtype=float), f)
            theory_line(ax, g, th, color=c)
            ax.axvline(f, color=c, ls=":", lw=0.8)
            extent += [mean + 2 * se, mean, th]
        ax.axvline(m, color="k", ls="--", lw=0.8)
        ax.text(m * 1.08, 0.03, "M", transform=ax.get_xaxis_transform(), fontsize=7)
        ax.axhline(noise, color="0.5", lw=0.6)
        ax.set_xlabel(label)
        handles, labels = ax.get_legend_handles_labels()
        handles += [
            Line2D([], [], color="0.3", lw=1),
            Line2D([], [], color="0.3", ls=":", lw=0.8),
            Line2D([], [], color="0.5", lw=0.6),
        ]
        labels += ["deterministic equivalent", f"{label.split()[0]} = {other}", "noise σ²"]
        ax.legend(handles, labels, title=f"markers: fixed {other} (± 2 s.e.)", loc="lower left")
    axes[0].set_ylim(*_log_limits(*extent))
    axes[0].set_ylabel("test loss")
    fig.suptitle(
        f"MRS linear random features, ridgeless: α = {alpha:g}, M = {m}, σ² = {noise:g}; "
        f"large-n asymptote E ≈ {c_asym:.3g}" + power_label("n", r"-\alpha", prefix=r"\cdot ")
    )
    return fig


@styled
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
    fig = new_figure("two", 3.2)
    axes = fig.subplots(1, 2)
    ax = axes[0]
    ax.set(xscale="log", yscale="log")
    extent = []
    for k, n in enumerate(ns_ridge):
        c = f"C{k}"
        mean, se = _mean_se(vs_ridge[k], axis=1, ddof=1)
        sim_points(ax, ridges, mean, 2 * se, color=c, label=f"N = {n}")
        theory_line(ax, ridge_grid, theory_vs_ridge[k], color=c)
        ax.plot([optimum[k][0]], [optimum[k][1]], "*", color=c, ms=8, mec="k", mew=0.5)
        extent += [mean, mean + 2 * se, theory_vs_ridge[k]]
    ax.plot([], [], "*", color="0.5", mec="k", mew=0.5, label="optimum δ* (theory)")
    theory_line(ax, [], [], color="0.3", label="deterministic equivalent")
    ax.set(
        ylim=_log_limits(*extent),
        xlabel="ridge δ (kernel scale)",
        ylabel="test loss",
        title=f"T = {t}: loss vs ridge",
    )
    ax.legend(loc="upper left", title="markers: simulation (± 2 s.e.)")
    ax = axes[1]
    ax.set(xscale="log", yscale="log")
    extent = []
    for sim, label, c, grid, th in (
        (ridgeless, "ridgeless", "C3", n_grid, theory_ridgeless),
        (tuned, "optimal ridge δ*(N)", "C2", n_grid_tuned, theory_tuned),
    ):
        mean, se = _mean_se(sim, axis=1, ddof=1)
        sim_points(ax, ns_sweep, mean, 2 * se, color=c, label=f"{label}: simulation")
        theory_line(ax, grid, th, color=c, label=f"{label}: theory")
        extent += [mean, mean + 2 * se, th]
    ax.axvline(t, color="k", ls=":", lw=0.8, label="N = T")
    ax.axhline(noise, color="0.5", lw=0.6, label="noise σ²")
    ax.set(
        ylim=_log_limits(*extent),
        xlabel="N (features)",
        ylabel="test loss",
        title=f"T = {t}: loss vs N",
    )
    ax.legend(loc="lower left")
    fig.suptitle(
        f"MRS ridge regression, α = {alpha:g}, M = {m}, σ² = {noise:.2g} "
        "(simulation teacher-averaged)"
    )
    return fig


@styled
def spectrum_figure(*, m, n, t, b, spectra: dict[str, np.ndarray]) -> Figure:
    """MRS §5: feature-covariance spectra (each divided by its second eigenvalue) and ``k^(−b)``."""
    fig = new_figure("one", 2.8)
    ax = fig.subplots()
    k = np.arange(1, n + 1)
    for i, (kind, ev) in enumerate(spectra.items()):
        ev = np.where(ev > 0, ev, np.nan) / ev[1]
        ax.plot(k, ev, "-", color=f"C{i}", lw=1.2, label=f"{kind} features")
    theory_line(ax, k, (k / 2.0) ** (-b), ls="--", lw=0.8, label=power_label("k", f"-{b:g}"))
    ax.axvline(m, color="k", ls=":", lw=0.8)
    ax.text(m * 1.08, 0.9, "M", transform=ax.get_xaxis_transform(), fontsize=7)
    ref = spectra.get("relu", next(iter(spectra.values())))
    low = np.nanmin(ref[ref > 0]) / ref[1]
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="index k",
        ylabel="eigenvalue / eigenvalue₂",
        ylim=(low / 30, 30),
    )
    ax.set_title(f"feature spectra: M = {m}, N = {n}, T = {t}, b = {b:g}", fontsize=7)
    ax.legend(loc="lower left")
    return fig


@styled
def regimes_figure(
    regimes: ScalingRegimes, *, big: int, var_small: int, n_latent: int, var_latent: int
) -> Figure:
    """Bahri et al.'s four regimes on a 2×2 grid: simulation (markers, ± 2 s.e.), theory at the
    same sizes (line) and the asymptotic slope (dotted), each exponent in the legend."""
    fig = new_figure("two", 5.0)
    axes = fig.subplots(2, 2)
    for i, (curve, row) in enumerate(zip(regimes.curves, regimes.rows, strict=True)):
        ax = axes.flat[i]
        ax.set(xscale="log", yscale="log")
        mean, se = _mean_se(curve.sim, axis=0, ddof=1)
        c = "C0" if i < 2 else "C3"
        label = f"simulation: {row.measured:.3f} [{row.ci_low:.3f}, {row.ci_high:.3f}]"
        sim_points(ax, curve.x, mean, 2 * se, color=c, label=label)
        theory_line(ax, curve.x, curve.theory, label=f"theory, same sizes: {row.predicted:.3f}")
        asym = float(row.extras["asymptote"])
        ref = curve.theory[0] * (curve.x / curve.x[0]) ** (-asym)
        theory_line(ax, curve.x, ref, ls=":", color="0.5", label=f"asymptote: {asym:g}")
        title, xlabel, ylabel = _REGIME_TITLES.get(curve.quantity, (curve.quantity, "size", ""))
        ax.set(title=title.format(big=big, small=var_small), xlabel=xlabel, ylabel=ylabel)
        size_ticks(ax, curve.x)
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.legend(loc="upper right", title="exponent of the loss")
    fig.suptitle(
        f"Bahri et al. regimes, linear random features, b = {regimes.b:g}, a = {regimes.a:g}, "
        f"M = {n_latent} (resolution) / {var_latent} (variance)"
    )
    return fig


@styled
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
    fig = new_figure("two", 3.6)
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
        label=power_label("t", f"-{asym:g}")
        + f": fit {e_t.measured:.3f}, theory {e_t.predicted:.3f}",
    )
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="time t",
        ylabel="test loss",
        ylim=ylim,
        title=f"(a) gradient flow, M = {gf_latent}",
    )
    ax.plot([], [], "-", color="0.4", lw=0.9, label="BAP theory")
    legend_below(ax, ncol=2)

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
        "N* ∝ "
        + power_label("C", f"{n_row.measured:.3f}")
        + f" (theory {n_row.predicted:.3f}, asympt. {float(n_row.extras['asymptote']):.3f})\n"
        + "E* ∝ "
        + power_label("C", f"{l_row.measured:.3f}")
        + f" (theory {l_row.predicted:.3f}, asympt. {float(l_row.extras['asymptote']):.3f})",
        transform=ax.transAxes,
        fontsize=5.5,
    )
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="compute C = N t",
        ylabel="test loss",
        ylim=ylim,
        title="(b) compute-optimal frontier",
    )
    ax.plot([], [], "-", color="0.7", lw=0.8, label="theory curve, one per N")
    legend_below(ax)

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
        title=f"(c) data reuse, N = {reuse_n}",
    )
    ax.plot([], [], "-", color="0.4", lw=0.9, label="test (theory)")
    ax.plot([], [], "--", color="0.4", lw=0.9, label="train (theory)")
    legend_below(ax, ncol=2)
    fig.suptitle(f"BAP dynamics of linear random features, b = {flow.b:g}, a = {flow.a:g}")
    return fig
