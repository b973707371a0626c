"""Figures of superposition sweeps (matplotlib only; nothing is saved or shown here).

``draw_*`` functions draw one panel on a given ``Axes``; ``plot_*`` functions build and return a
:class:`matplotlib.figure.Figure` in the house style of :mod:`simulations.plotting` (not
registered with pyplot: save it with :func:`simulations.plotting.save` or display it in a
notebook). Inputs: the tidy dataset of :func:`.experiment.run_config` and the
rows of :func:`.analysis.comparison_rows`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence

import matplotlib
import numpy as np
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from simulations.compare import ComparisonRow
from simulations.plotting import legend_below, new_figure, size_ticks, styled
from simulations.superposition.analysis import (
    diverged_counts,
    exponent_rows,
    parse_exponent_by_budget,
)
from theory import superposition as theory

__all__ = [
    "draw_exponent_vs_budget",
    "draw_exponents",
    "draw_loss_vs_m",
    "draw_norm_histogram",
    "draw_overlaps",
    "draw_phi_vs_gamma",
    "plot_exponent_vs_budget",
    "plot_exponents",
    "plot_loss_vs_m",
    "plot_norm_histograms",
    "plot_overlaps",
    "plot_phase_diagram",
    "plot_phi_vs_gamma",
    "setting_label",
]


def _nanmean(values, axis=None):
    """Mean over the runs that did not diverge (NaN, silently, where every run diverged)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(values, axis=axis)


def _nanstd(values, axis=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanstd(values, axis=axis)


def _colors(k: int) -> np.ndarray:
    return matplotlib.colormaps["viridis"](np.linspace(0, 0.9, k))


def _setting(data: xr.Dataset, s: int) -> tuple[str, float, float]:
    return (
        str(data["law"].values[s]),
        float(data["gamma"].values[s]),
        float(data["alpha"].values[s]),
    )


def setting_label(law: str, gamma: float, alpha: float) -> str:
    """``"power α=1.5, γ=−1"`` (``alpha`` only for the power law; a true minus sign)."""
    g = f"{gamma:g}".replace("-", "−")
    return f"{law} α={alpha:g}, γ={g}" if law == "power" else f"{law}, γ={g}"


_ALPHA_M = r"$\alpha_m$"


def draw_loss_vs_m(
    ax: Axes,
    data: xr.Dataset,
    rows: Sequence[ComparisonRow],
    law: str,
    *,
    exp_scale: float = 400.0,
) -> Axes:
    """Final loss vs width for the settings of one frequency law (mean ± sd over seeds), with
    the fitted ``alpha_m`` in the legend, the exact weak-superposition loss (dashed) and ``1/m``.
    Diverged runs are left out; the legend counts them.
    """
    n = int(data.attrs["n"])
    widths = np.asarray(data["m"].values, dtype=float)
    fits = exponent_rows(list(rows))
    colors = _colors(max(2, data.sizes["setting"]))
    weak_drawn = set()
    n_div = diverged_counts(data).sum(axis=1)
    for s in range(data.sizes["setting"]):
        if str(data["law"].values[s]) != law:
            continue
        _, gamma, alpha = _setting(data, s)
        y = data["final_loss"].values[s]  # (m, seed)
        mean, sd = _nanmean(y, axis=1), _nanstd(y, axis=1)
        r = fits.get((law, gamma, alpha))
        label = setting_label(law, gamma, alpha)
        if r is not None and math.isfinite(r.measured):
            label += f": {_ALPHA_M} = {r.measured:.2f}"
        if n_div[s]:
            label += f" ({n_div[s]} diverged, left out)"
        marker = "o" if gamma < 0 else "s"
        ax.errorbar(
            widths, mean, yerr=sd, fmt=marker + "-", color=colors[s], label=label, ms=3, lw=0.8
        )
        if alpha not in weak_drawn:
            weak_drawn.add(alpha)
            weak = theory.weak_loss(n, widths.astype(int), alpha, law=law, scale=exp_scale)
            ax.plot(widths, weak, "--", color=colors[s], lw=1, alpha=0.7)
    ref = _nanmean(data["final_loss"].values) * widths[0] / widths
    ax.plot(widths, ref, ":", color="gray", label="∝ 1/m")
    ax.plot([], [], "--", color="0.4", lw=1, label="weak-superposition sum (theory)")
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="width m",
        ylabel="final loss (mean ± sd)",
        title=f"{law} frequencies",
    )
    size_ticks(ax, widths)
    legend_below(ax)
    return ax


@styled
def plot_loss_vs_m(
    data: xr.Dataset, rows: Sequence[ComparisonRow], *, exp_scale: float = 400.0
) -> Figure:
    """:func:`draw_loss_vs_m`, one panel per frequency law (strong and weak together)."""
    laws = list(dict.fromkeys(str(v) for v in data["law"].values))
    fig = new_figure("one" if len(laws) == 1 else "two", 3.5)
    axes = fig.subplots(1, len(laws), squeeze=False)[0]
    for ax, law in zip(axes, laws, strict=True):
        draw_loss_vs_m(ax, data, rows, law, exp_scale=exp_scale)
    return fig


def draw_exponents(
    ax: Axes, rows: Sequence[ComparisonRow], *, n: int, widths: Sequence[int]
) -> Axes:
    """Measured ``alpha_m`` vs ``alpha`` (power law) with ``alpha - 1``, ``max(1, 2(alpha - 1))``
    and the exact finite-``n`` weak slope over the same widths."""
    a = np.linspace(0.0, 2.2, 200)
    ax.plot(a, theory.model_exponent(a, "weak"), "k--", lw=1, label="weak: α − 1")
    ax.plot(a, theory.model_exponent(a, "strong"), "k-", lw=1, label="strong: max(1, 2(α − 1))")
    fin = [theory.finite_n_weak_exponent(n, list(widths), x) for x in a]
    ax.plot(a, fin, "k:", lw=1, label=f"weak, exact sum (n = {n})")
    for regime, color in (("strong", "C3"), ("weak", "C0"), ("boundary", "C2")):
        sel = [
            r
            for r in rows
            if r.quantity == "alpha_m" and r.phase == regime and r.params["law"] == "power"
        ]
        if not sel:
            continue
        x = np.array([r.params["alpha"] for r in sel])
        y = np.array([r.measured for r in sel])
        err = np.array(
            [[r.measured - r.ci_low for r in sel], [r.ci_high - r.measured for r in sel]]
        )
        sign = {"strong": "<", "weak": ">"}.get(regime, "=")
        ax.errorbar(
            x,
            y,
            yerr=np.abs(err),
            fmt="o",
            color=color,
            ms=4,
            capsize=2,
            label=f"measured, {regime} (γ {sign} 0)",
        )
    ax.set(xlabel="frequency exponent α", ylabel=f"model exponent {_ALPHA_M}", ylim=(-0.6, 2.6))
    ax.legend(fontsize=5.5, loc="upper left")
    return ax


@styled
def plot_exponents(rows: Sequence[ComparisonRow], *, n: int, widths: Sequence[int]) -> Figure:
    """:func:`draw_exponents` in a figure of its own."""
    fig = new_figure("one", 2.8)
    draw_exponents(fig.subplots(), rows, n=n, widths=widths)
    return fig


def draw_norm_histogram(ax: Axes, data: xr.Dataset, setting: int) -> Axes:
    """Row-norm histograms (seed-averaged) of one setting, one line per width, with the
    thresholds 1/2 (represented) and 1 (strongly represented)."""
    centers = data["norm_bin"].values
    colors = _colors(data.sizes["m"])
    for k, m in enumerate(data["m"].values):
        h = _nanmean(data["norm_hist"].values[setting, k], axis=0)
        ax.step(centers, h, where="mid", color=colors[k], label=f"m = {m}")
    ax.axvline(0.5, color="gray", lw=0.8, ls=":")
    ax.axvline(1.0, color="gray", lw=0.8, ls="--")
    ax.set(xlabel="row norm ‖W_i‖", ylabel="fraction of rows", yscale="log")
    ax.set_title(setting_label(*_setting(data, setting)), fontsize=7)
    return ax


@styled
def plot_norm_histograms(
    data: xr.Dataset, *, setting_filter: Callable[[xr.Dataset, int], bool] | None = None
) -> Figure:
    """:func:`draw_norm_histogram` for the first six settings (those ``setting_filter(data, s)``
    keeps, if given), side by side."""
    settings = [
        s for s in range(data.sizes["setting"]) if setting_filter is None or setting_filter(data, s)
    ][:6]
    cols = min(3, max(1, len(settings)))
    rows = max(1, math.ceil(len(settings) / cols))
    fig = new_figure("one" if cols == 1 else "two", 2.0 * rows + 0.4)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, s in zip(axes, settings, strict=False):
        draw_norm_histogram(ax, data, s)
        ax.tick_params(labelsize=6)
    for ax in axes[len(settings) :]:
        ax.axis("off")
    handles, labels = axes[0].get_legend_handles_labels()
    handles += [
        Line2D([], [], color="gray", lw=0.8, ls=":"),
        Line2D([], [], color="gray", lw=0.8, ls="--"),
    ]
    labels += ["1/2 (represented)", "1 (strongly represented)"]
    fig.legend(handles, labels, loc="outside upper center", ncol=len(labels), fontsize=5.5)
    return fig


@styled
def plot_phase_diagram(data: xr.Dataset, rows: Sequence[ComparisonRow]) -> Figure:
    """Maps over ``(gamma, alpha)`` (power law) of ``phi_1/2`` at the largest width and of the
    measured ``alpha_m``, with the predicted weak/strong boundary ``gamma = 0``. Settings with
    diverged runs (left out of both maps) are marked ``×``; exponents whose interval is wider
    than ``|predicted|`` (not determined) are ringed."""
    sel = [s for s in range(data.sizes["setting"]) if str(data["law"].values[s]) == "power"]
    gammas = np.unique(data["gamma"].values[sel])
    alphas = np.unique(data["alpha"].values[sel])
    phi = np.full((alphas.size, gammas.size), np.nan)
    am = np.full_like(phi, np.nan)
    fits = exponent_rows(list(rows))
    n_div = diverged_counts(data).sum(axis=1)
    marked, vague = [], []
    for s in sel:
        _, g, a = _setting(data, s)
        i, j = np.searchsorted(alphas, a), np.searchsorted(gammas, g)
        if n_div[s]:
            marked.append((g, a))
        phi[i, j] = _nanmean(data["phi_half"].values[s, -1])
        r = fits.get(("power", g, a))
        am[i, j] = np.nan if r is None else r.measured
        if r is not None and not r.determined:
            vague.append((g, a))
    fig = new_figure("two", 2.9)
    axes = fig.subplots(1, 2)
    for ax, z, title, cmap in (
        (axes[0], phi, f"φ½ at m = {int(data['m'].values[-1])}", "magma"),
        (axes[1], am, f"measured {_ALPHA_M}", "viridis"),
    ):
        mesh = ax.pcolormesh(gammas, alphas, z, shading="nearest", cmap=cmap)
        fig.colorbar(mesh, ax=ax, label=title.split(" at ")[0].replace("measured ", ""))
        ax.axvline(0.0, color="w", ls="--", lw=1.5, label="predicted boundary γ = 0")
        if marked:
            gx, ay = zip(*marked, strict=True)
            ax.plot(gx, ay, "x", color="r", ms=8, mew=2, label="diverged runs (left out)")
        ax.set(xlabel="weight decay γ", ylabel="frequency exponent α", title=title)
    if vague:
        gx, ay = zip(*vague, strict=True)
        axes[1].plot(gx, ay, "o", mfc="none", mec="0.6", ms=9, label="not determined")
        axes[1].legend(fontsize=5.5, loc="lower left")
    axes[0].legend(fontsize=5.5, loc="lower left")
    return fig


def draw_overlaps(ax: Axes, data: xr.Dataset) -> Axes:
    """Mean squared overlap of represented rows vs width (strong settings, ``gamma < 0``),
    against ``1/m`` (random unit vectors) and the Welch bound."""
    widths = np.asarray(data["m"].values)
    n = int(data.attrs["n"])
    for s in range(data.sizes["setting"]):
        if float(data["gamma"].values[s]) >= 0:
            continue
        y = _nanmean(data["overlap_sq_represented"].values[s], axis=1)
        ax.plot(widths, y, "o-", ms=4, label=setting_label(*_setting(data, s)))
    ax.plot(
        widths, theory.random_overlap_moments(widths)[0], "k--", label="1/m (random unit vectors)"
    )
    ax.plot(widths, [theory.welch_bound(n, int(m)) for m in widths], "k:", label="Welch bound")
    ax.set(xscale="log", yscale="log", xlabel="width m", ylabel="mean squared overlap")
    size_ticks(ax, widths)
    ax.legend(fontsize=5.5, loc="lower left")
    return ax


@styled
def plot_overlaps(data: xr.Dataset) -> Figure:
    """:func:`draw_overlaps` in a figure of its own."""
    fig = new_figure("one", 2.7)
    draw_overlaps(fig.subplots(), data)
    return fig


def draw_phi_vs_gamma(ax: Axes, data: xr.Dataset, alpha: float) -> Axes:
    """``phi_1/2`` (seed mean) vs weight decay ``gamma`` at one ``alpha``, one line per width,
    with the weak prediction ``m/n`` dotted and the boundary ``gamma = 0`` dashed."""
    n = int(data.attrs["n"])
    sel = np.flatnonzero(np.isclose(data["alpha"].values, alpha))
    order = sel[np.argsort(data["gamma"].values[sel])]
    g = data["gamma"].values[order]
    colors = _colors(data.sizes["m"])
    for k, m in enumerate(data["m"].values):
        phi = _nanmean(data["phi_half"].values[order, k], axis=-1)
        ax.plot(g, phi, "o-", ms=3, color=colors[k], label=f"m = {m}")
        ax.axhline(theory.predicted_phi_half(n, int(m), "weak"), color=colors[k], ls=":", lw=0.8)
    ax.axvline(0.0, color="gray", ls="--", lw=1)
    ax.set(
        xlabel="weight decay γ",
        ylabel="φ½ (fraction of rows with ‖W_i‖ > 1/2)",
        title=f"α = {alpha:g}",
        ylim=(0, 1.05),
    )
    return ax


@styled
def plot_phi_vs_gamma(data: xr.Dataset) -> Figure:
    """:func:`draw_phi_vs_gamma`, one panel per ``alpha``."""
    alphas = np.unique(data["alpha"].values)
    fig = new_figure("one" if len(alphas) == 1 else "two", 2.9)
    axes = fig.subplots(1, len(alphas), squeeze=False)[0]
    for ax, a in zip(axes, alphas, strict=True):
        draw_phi_vs_gamma(ax, data, float(a))
    handles, labels = axes[0].get_legend_handles_labels()
    handles += [
        Line2D([], [], color="0.4", ls=":", lw=0.8),
        Line2D([], [], color="gray", ls="--", lw=1),
    ]
    labels += ["weak prediction m/n", "boundary γ = 0"]
    fig.legend(handles, labels, loc="outside upper center", ncol=3, fontsize=5.5)
    return fig


def draw_exponent_vs_budget(ax: Axes, rows: Sequence[ComparisonRow], law: str) -> Axes:
    """Measured ``alpha_m`` vs training budget (log x) with its interval, one line per
    ``alpha_m`` row of frequency law ``law`` that has ``exponent_by_budget``, and the row's
    prediction as a horizontal dashed line of the same colour; the legend gives the verdict."""
    sel = [
        r
        for r in rows
        if r.quantity == "alpha_m" and r.params["law"] == law and "exponent_by_budget" in r.extras
    ]
    colors = _colors(max(2, len(sel)))
    for k, r in enumerate(sel):
        b, e, lo, hi = np.array(parse_exponent_by_budget(r.extras["exponent_by_budget"])).T
        label = setting_label(law, float(r.params["gamma"]), float(r.params["alpha"]))
        verdict = r.extras.get("converged_at", "no")
        label += f": {'not converged' if verdict == 'no' else f'converged at {verdict}'}"
        marker = "o" if float(r.params["gamma"]) < 0 else "s"
        shift = 1.0 + 0.03 * (k - (len(sel) - 1) / 2)  # keep overlapping bars apart
        err = np.abs(np.array([e - lo, hi - e]))
        ax.errorbar(b * shift, e, yerr=err, fmt=marker + "-", color=colors[k], ms=3, label=label)
        if math.isfinite(r.predicted):
            ax.axhline(r.predicted, color=colors[k], ls="--", lw=0.8)
    ax.set(
        xscale="log",
        xlabel="training budget (steps)",
        ylabel=f"model exponent {_ALPHA_M}",
        title=f"{law} frequencies",
    )
    if sel:  # the budgets themselves as ticks (log minor labels overlap)
        budgets = [b for b, *_ in parse_exponent_by_budget(sel[0].extras["exponent_by_budget"])]
        ax.set_xticks(budgets, [str(b) for b in budgets])
        ax.minorticks_off()
    if sel:
        ax.plot([], [], "--", color="0.4", lw=0.8, label="predicted (same colour)")
        legend_below(ax)
    return ax


@styled
def plot_exponent_vs_budget(rows: Sequence[ComparisonRow]) -> Figure:
    """:func:`draw_exponent_vs_budget`, one panel per frequency law of the rows."""
    laws = list(dict.fromkeys(str(r.params["law"]) for r in rows if r.quantity == "alpha_m"))
    fig = new_figure("one" if len(laws) <= 1 else "two", 3.0)
    axes = fig.subplots(1, max(1, len(laws)), squeeze=False)[0]
    for ax, law in zip(axes, laws, strict=False):
        draw_exponent_vs_budget(ax, rows, law)
    return fig
