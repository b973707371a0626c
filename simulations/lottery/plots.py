"""Figures of lottery-ticket nets (matplotlib only; sets no backend, saves nothing).

Each function draws on the ``ax`` (or ``axes``) it is given, or on a new
:class:`matplotlib.figure.Figure`, and returns the figure. Diverged runs are never drawn (their
MSEs are NaN); each figure says how many were left out.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import matplotlib as mpl
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from simulations.compare import ComparisonRow
from simulations.lottery.analysis import N2Histogram, WideNets
from simulations.lottery.diagnostics import (
    MIRROR_TOL,
    EnsembleCurve,
    mse_quantiles,
    parse_exponent_by_budget,
)
from simulations.lottery.sweeps import WidthTable
from simulations.plotting import (
    legend_below,
    new_figure,
    power_label,
    size_ticks,
    styled,
    theory_line,
)
from theory import lottery as theory

__all__ = [
    "plot_ensembles",
    "plot_exponent_vs_budget",
    "plot_mirror_pairs",
    "plot_n2_histogram",
    "plot_width_scaling",
]

_RECIPE = re.compile(
    r"adam(?P<adam>\d+)-(?P<sched>cos|exp|const)(?P<lr>[^>+-]+(?:e[+-]\d+)?)"
    r"(?:>(?P<end>[^+-]+(?:e[+-]\d+)?))?(?:\+lbfgs(?P<lbfgs>\d+))?(?:-grid(?P<grid>\d+))?$"
)
_SCHEDULES = {"cos": "cosine", "exp": "exponential", "const": "constant"}


def _recipe_text(label: str) -> str:
    """A recipe label (:attr:`simulations.lottery.model.Recipe.label`, e.g.
    ``adam1000-cos3e-02>1e-05+lbfgs300``) in words: ``1000 Adam steps (cosine lr 0.03 → 1e-05)
    + 300 L-BFGS``; other strings come back unchanged."""
    m = _RECIPE.match(label)
    if m is None:
        return label
    lr = f"{float(m['lr']):g}" + (f" → {float(m['end']):g}" if m["end"] else "")
    text = f"{m['adam']} Adam steps ({_SCHEDULES[m['sched']]} lr {lr})"
    if m["lbfgs"]:
        text += f" + {m['lbfgs']} L-BFGS"
    if m["grid"]:
        text += f", {m['grid']} training points"
    return text


def _left_out(n_diverged: int, what: str = "runs") -> str:
    return f" ({n_diverged} diverged {what} left out)" if n_diverged else ""


def _axes(ax: Axes | None, height: float) -> tuple[Figure, Axes]:
    """``ax`` and its figure, or a new one-column figure ``height`` inches high."""
    if ax is not None:
        return ax.figure, ax
    fig = new_figure("one", height)
    return fig, fig.add_subplot()


def _legend(fig: Figure, ax: Axes, own: bool) -> None:
    """A long legend: under the axes in a figure of its own, inside ``ax`` otherwise."""
    if own:
        legend_below(ax)
    else:
        ax.legend(fontsize=5.5)


@styled
def plot_width_scaling(
    silu: Sequence[WidthTable], relu: WidthTable | None, ax: Axes | None = None
) -> Figure:
    """Median test MSE vs width (quartile band) for SiLU (one curve per recipe) and ReLU, with the
    reference slopes N^-1 and N^-4 and the exact ReLU floor."""
    own, (fig, ax) = ax is None, _axes(ax, 3.8)
    colors = mpl.colormaps["viridis"](np.linspace(0.0, 0.85, max(len(silu), 1)))
    for table, color in zip(silu, colors, strict=False):
        q = mse_quantiles(table.test_mse, (0.25, 0.5, 0.75))
        label = f"SiLU, {_recipe_text(table.recipe)}{_left_out(int(table.diverged().sum()))}"
        ax.loglog(table.widths, q[1], "o-", color=color, label=label)
        ax.fill_between(table.widths, q[0], q[2], color=color, alpha=0.15)
    if relu is not None:
        q = mse_quantiles(relu.test_mse, (0.25, 0.5, 0.75))
        label = f"ReLU, {_recipe_text(relu.recipe)}{_left_out(int(relu.diverged().sum()))}"
        ax.loglog(relu.widths, q[1], "s-", color="C3", label=label)
        ax.fill_between(relu.widths, q[0], q[2], color="C3", alpha=0.15)
        ns = np.arange(relu.widths.min(), relu.widths.max() + 1)
        bound = r"$1.42\,(N+1)^{-4}$ (floor bound)"
        theory_line(ax, ns, theory.relu_floor_bound(ns), lw=0.8, label=bound)
        floor = [theory.relu_floor(int(n)) for n in relu.widths]
        ax.loglog(relu.widths, floor, "kx", label="exact ReLU floor")
    if silu:
        ref_n = np.array([silu[0].widths.min(), max(t.widths.max() for t in silu)], dtype=float)
        y0 = np.nanmedian(silu[0].test_mse[:, 0])
        ax.loglog(ref_n, y0 * (ref_n / ref_n[0]) ** -1.0, "k--", lw=1, label=power_label("N", -1))
    if relu is not None:
        ref_n = np.array([relu.widths.min(), relu.widths.max()], dtype=float)
        y0 = np.nanmedian(relu.test_mse[:, 0])
        ax.loglog(ref_n, y0 * (ref_n / ref_n[0]) ** -4.0, "k:", lw=1, label=power_label("N", -4))
    widths = [w for t in [*silu, *([relu] if relu is not None else [])] for w in t.widths]
    if widths:
        size_ticks(ax, widths)
    ax.set_xlabel("width N")
    ax.set_ylabel("test MSE (median; quartiles shaded)")
    ax.set_title("Lottery tickets: x² on [−2, 2]")
    _legend(fig, ax, own)
    return fig


@styled
def plot_n2_histogram(n2: N2Histogram, ax: Axes | None = None) -> Figure:
    """Histogram of log10 test MSE of width-2 SiLU nets, mirror pairs and the rest stacked."""
    fig, ax = _axes(ax, 2.7)
    mse, asym = np.asarray(n2.mse), np.asarray(n2.asymmetry)
    ok = np.isfinite(mse) & (mse > 0)
    logs = np.log10(mse[ok])
    mirror = asym[ok] < MIRROR_TOL
    bins = np.linspace(logs.min() - 0.1, logs.max() + 0.1, 50)
    ax.hist(
        [logs[mirror], logs[~mirror]],
        bins=bins,
        stacked=True,
        color=["C0", "C1"],
        label=[f"mirror pair (asymmetry < {MIRROR_TOL})", "other"],
    )
    for m in n2.modes:
        ax.axvline(m.center, color="k", lw=0.6, ls=":")
    if n2.modes:
        ax.plot([], [], color="k", lw=0.6, ls=":", label="loss modes")
    ax.set_xlabel("log₁₀ test MSE")
    ax.set_ylabel("seeds")
    ax.set_title(f"N = 2 SiLU nets, {len(logs)} seeds{_left_out(n2.n_diverged)}")
    ax.legend(loc="upper right")
    return fig


@styled
def plot_mirror_pairs(
    wide: WideNets, seed: int = 0, axes: Sequence[Axes] | None = None, tol: float = 0.1
) -> Figure:
    """Learned ``(w, b)`` of one wide SiLU net coloured by ``v`` with mirror-paired neurons
    marked (left), and every neuron's distance to its nearest mirror partner, trained and at
    initialisation (right)."""
    if axes is None:
        fig = new_figure("two", 2.9)
        ax, ax2 = fig.subplots(1, 2)
    else:
        ax, ax2 = axes
        fig = ax.figure
    w, b, v = (np.asarray(a)[seed] for a in (wide.w, wide.b, wide.v))
    paired = np.asarray(wide.distance)[seed] < tol
    sc = ax.scatter(w, b, c=v, s=6, cmap="coolwarm")
    ax.scatter(
        w[paired],
        b[paired],
        s=22,
        facecolors="none",
        edgecolors="k",
        lw=0.4,
        label=f"paired with its mirror (−w, b) ({paired.mean():.0%})",
    )
    ax.axvline(0, color="0.7", lw=0.5)
    fig.colorbar(sc, ax=ax, label="v")
    ax.set_xlabel("w")
    ax.set_ylabel("b")
    ax.set_title(f"N = {w.size} SiLU net: neurons (w, b)")
    ax.legend(loc="upper right")
    all_dist = np.log10(np.asarray(wide.distance).ravel())
    init_dist = np.log10(np.asarray(wide.distance_init).ravel())
    lo, hi = min(all_dist.min(), init_dist.min()), max(all_dist.max(), init_dist.max())
    bins = np.linspace(lo, hi, 60)
    init_label = f"at init ({np.mean(wide.fraction_init):.1%} paired)"
    ax2.hist(init_dist, bins=bins, histtype="step", color="0.4", label=init_label)
    ax2.hist(all_dist, bins=bins, alpha=0.7, label="trained")
    ax2.axvline(np.log10(tol), color="k", ls="--", lw=0.8, label=f"tolerance {tol:g}")
    ax2.set_xlabel("log₁₀ distance to the nearest mirror (−w, b, v)")
    ax2.set_ylabel("neurons")
    ax2.set_title(
        f"mean paired fraction {np.mean(wide.fraction):.1%}{_left_out(wide.n_diverged, 'nets')}"
    )
    ax2.legend(loc="upper left")
    return fig


@styled
def plot_ensembles(
    curve: EnsembleCurve,
    width: int,
    single: WidthTable | None = None,
    ax: Axes | None = None,
    *,
    n_diverged: int = 0,
) -> Figure:
    """Ensemble MSE vs K beside bias² + variance/K and single nets of width ``width·K``
    (``n_diverged``: diverged nets left out of the ensembles, said in the title)."""
    own, (fig, ax) = ax is None, _axes(ax, 3.4)
    ax.errorbar(
        curve.ks,
        curve.mse,
        yerr=np.abs(curve.mse_ci - curve.mse),
        fmt="o-",
        label=f"average of K nets of width {width} (held-out half, 95% CI)",
    )
    ax.loglog(curve.ks, curve.predicted, "k--", label="bias² + variance/K (other half)")
    ax.fill_between(curve.ks, curve.predicted_ci[0], curve.predicted_ci[1], color="k", alpha=0.1)
    ax.axhline(curve.bias_sq, color="0.5", lw=0.8, ls=":", label="bias²")
    if single is not None:
        sel = np.isin(single.widths, width * curve.ks)
        if np.any(sel):
            k = single.widths[sel] / width
            mse = single.test_mse[:, sel]
            label = f"one net of width {width}·K"
            ax.loglog(k, np.nanmean(mse, axis=0), "s-", color="C3", label=f"{label} (mean)")
            median = np.nanmedian(mse, axis=0)
            ax.loglog(k, median, "s--", color="C3", alpha=0.6, label=f"{label} (median)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    size_ticks(ax, curve.ks)
    ax.set_xlabel("ensemble size K")
    ax.set_ylabel("test MSE")
    left_out = f"\n{_left_out(n_diverged, 'nets').strip()}" if n_diverged else ""
    ax.set_title(f"Ensembles of independently trained SiLU nets{left_out}")
    _legend(fig, ax, own)
    return fig


@styled
def plot_exponent_vs_budget(rows: Sequence[ComparisonRow], ax: Axes | None = None) -> Figure:
    """SiLU width exponent vs training budget (Adam steps, log x) with its interval, one line per
    budget ladder (rows with ``exponent_by_budget``), and the predictions of that row's phases
    (lottery CLT 1, approximation 4, reference slope) as horizontal lines."""
    fig, ax = _axes(ax, 3.2)
    seen: set[tuple[str, str]] = set()
    for r in rows:
        key = (str(r.params["recipe"]), str(r.params["width"]))
        if "exponent_by_budget" not in r.extras or key in seen:
            continue
        seen.add(key)
        b, e, lo, hi = np.array(parse_exponent_by_budget(r.extras["exponent_by_budget"])).T
        at = r.extras.get("converged_at", "no")
        verdict = "not converged" if at == "no" else f"converged at {at}"
        label = f"SiLU, N = {key[1]}, Adam-only: {verdict}"
        ax.errorbar(b, e, yerr=np.abs([e - lo, hi - e]), fmt="o-", label=label)
        styles = iter(["--", ":", "-.", (0, (5, 1, 1, 1, 1, 1))] * 4)
        for other in rows:
            same = (str(other.params["recipe"]), str(other.params["width"])) == key
            if same and other.quantity == r.quantity and math.isfinite(other.predicted):
                label = f"prediction, {other.phase}: {other.predicted:.3g}"
                ax.axhline(other.predicted, ls=next(styles), lw=0.8, color="0.35", label=label)
    ax.set_xscale("log")
    if seen:  # the budgets themselves as ticks (log minor labels overlap)
        ax.set_xticks(b, [str(int(v)) for v in b])
        ax.minorticks_off()
    ax.set_xlabel("training budget (Adam steps; own runs each)")
    ax.set_ylabel("width exponent")
    ax.set_title("Lottery tickets: width exponent vs budget")
    if seen:
        ax.legend(loc="best", fontsize=5.5)
    return fig
