"""Figures of a :class:`simulations.scalefit.report.FitReport` (matplotlib only, no backend set).

* :func:`plot_isoflop`: approach 2's IsoFLOP profiles with their parabolas and optima (refused
  budgets grey, vertices marked), or approach 1's loss-vs-compute curves with the envelope;
* :func:`plot_frontier`: ``N*(C)`` of every approach with its power-law fit and 95 % band;
* :func:`plot_residuals`: approach 3's log residuals against ``N`` and ``D``;
* :func:`plot_pairs`: bootstrap replicates of approach 3's parameters, pair by pair (a thin,
  straight cloud is a direction the data do not identify).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from scipy import stats

from simulations.plotting import new_figure, save, stamp, styled

__all__ = ["plot_frontier", "plot_isoflop", "plot_pairs", "plot_residuals", "save_figures"]


@styled
def plot_isoflop(rep, note: str = "") -> Figure | None:
    """IsoFLOP profiles (approach 2: points, parabola fits as lines, ★ their vertices) or training
    curves and envelope (approach 1)."""
    fig = new_figure("one", 3.0)
    ax = fig.add_subplot()
    if "2" in rep.fits:
        profiles = rep.fits["2"].profiles
        cmap = colormaps["viridis"]
        for i, p in enumerate(profiles):
            c = cmap(i / max(len(profiles) - 1, 1)) if p.used else "0.6"
            ax.scatter(p.sizes, p.losses, s=10, color=c)
            if np.isfinite(p.coef[0]):
                u = np.linspace(np.log(p.sizes.min()), np.log(p.sizes.max()), 100)
                ax.plot(
                    np.exp(u),
                    np.exp(np.polyval(p.coef, u)),
                    color=c,
                    lw=1,
                    ls="-" if p.used else ":",
                    label=f"C={p.budget:.2g}",
                )
            if np.isfinite(p.n_opt):
                ax.plot(p.n_opt, p.loss_opt, marker="*" if p.used else "x", color="k", ms=6)
        ax.plot([], [], "k*", ms=6, label="vertex (optimum)")
        ax.set_title("approach 2: IsoFLOP profiles (grey: refused)")
        ax.set_xlabel("parameters N")
    elif "1" in rep.fits:
        fr = rep.fits["1"].frontier
        for row in fr.loss_at_budget:
            ax.plot(fr.budgets, row, lw=0.8, color="0.6")
        ax.plot(fr.budgets, fr.optimal_loss, color="C3", lw=2, label="envelope")
        ax.set_title("approach 1: losses at each budget and their envelope")
        ax.set_xlabel("compute C")
    else:
        return None
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylabel("loss")
    ax.legend(fontsize=5.5, ncol=2, title="budgets C (FLOP)", title_fontsize=6)
    return stamp(fig, note)


def _ols_band(x, y, grid, ci):
    lx, ly, lg = np.log(x), np.log(y), np.log(grid)
    n = lx.size
    slope, icpt = np.polyfit(lx, ly, 1)
    pred = icpt + slope * lg
    if n < 3:
        return np.exp(pred), None, None
    resid = ly - (icpt + slope * lx)
    s = np.sqrt(resid @ resid / (n - 2))
    sxx = ((lx - lx.mean()) ** 2).sum()
    half = stats.t.ppf(0.5 + ci / 2, n - 2) * s * np.sqrt(1 / n + (lg - lx.mean()) ** 2 / sxx)
    return np.exp(pred), np.exp(pred - half), np.exp(pred + half)


@styled
def plot_frontier(rep, note: str = "") -> Figure | None:
    """``N*(C)`` of each approach with its fit and band (t-band for 1/2, bootstrap for 3)."""
    from simulations.scalefit.laws import compute_optimal

    fit3 = rep.fits.get("3")
    has3 = fit3 is not None and fit3.law.allocation is not None
    if not (has3 or "1" in rep.fits or "2" in rep.fits):
        return None
    fig = new_figure("one", 2.8)
    ax = fig.add_subplot()
    C = rep.table.C
    grid = np.geomspace(C.min(), max(C.max(), rep.c_target), 100)
    for k, color in (("1", "C0"), ("2", "C1")):
        if k in rep.fits:
            f = rep.fits[k]
            ax.scatter(f.budgets, f.n_opt, s=10, color=color, label=f"approach {k}: optima")
            mid, lo, hi = _ols_band(f.budgets, f.n_opt, grid, rep.ci)
            ax.plot(grid, mid, color=color, label=f"approach {k}: fit, a = {f.a:.3f}")
            if lo is not None:
                ax.fill_between(grid, lo, hi, color=color, alpha=0.2)
    fit3 = rep.fits.get("3")
    if fit3 is not None and fit3.law.allocation is not None:
        ax.plot(
            grid,
            compute_optimal(fit3, grid)[0],
            color="C2",
            label=f"approach 3 ({fit3.law.name}): a = {fit3.a:.3f}",
        )
        if rep.samples:
            curves = []
            for r in range(next(iter(rep.samples.values())).size):
                t = np.array([rep.samples[n][r] for n in fit3.law.theta_names])
                if np.isfinite(t).all():
                    curves.append(compute_optimal(_with_theta(fit3, t), grid)[0])
            if curves:
                q = np.quantile(np.log(curves), [(1 - rep.ci) / 2, (1 + rep.ci) / 2], axis=0)
                ax.fill_between(grid, np.exp(q[0]), np.exp(q[1]), color="C2", alpha=0.2)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("compute C (FLOP)")
    ax.set_ylabel("compute-optimal parameters N*")
    ax.set_title(r"$N^*(C) \propto C^{a}$" + f"; bands: {rep.ci:.0%} intervals")
    ax.legend(fontsize=5.5)
    return stamp(fig, note)


def _with_theta(fit, theta):
    import dataclasses

    return dataclasses.replace(fit, theta=theta)


@styled
def plot_residuals(rep, note: str = "") -> Figure | None:
    """Approach 3's residuals ``log L̂ − log L`` against ``N`` and ``D``."""
    fit = rep.fits.get("3")
    if fit is None:
        return None
    fig = new_figure("two", 2.6)
    for i, (x, label) in enumerate(((rep.table.N, "parameters N"), (rep.table.D, "tokens D"))):
        ax = fig.add_subplot(1, 2, i + 1)
        ax.scatter(x, fit.residuals, s=8)
        ax.axhline(0, color="k", lw=0.8)
        ax.set_xscale("log")
        ax.set_xlabel(label)
        ax.set_ylabel("log L̂ − log L" if i == 0 else "")
    fig.suptitle(f"approach 3 ({fit.law.name}) residuals")
    return stamp(fig, note)


@styled
def plot_pairs(rep, note: str = "") -> Figure | None:
    """Bootstrap pairs plot of approach 3's internal parameters."""
    fit = rep.fits.get("3")
    if fit is None or not rep.samples:
        return None
    names = list(fit.law.theta_names)
    p = len(names)
    fig = new_figure("two", 7.0)
    for i in range(p):
        for j in range(p):
            ax = fig.add_subplot(p, p, i * p + j + 1)
            xi, xj = rep.samples[names[i]], rep.samples[names[j]]
            if i == j:
                ax.hist(xi[np.isfinite(xi)], bins=20, color="C0")
            else:
                ax.scatter(xj, xi, s=3, alpha=0.5)
                ax.plot(fit.theta[j], fit.theta[i], "r+", ms=8)
            if i == p - 1:
                ax.set_xlabel(names[j], fontsize=7)
            if j == 0:
                ax.set_ylabel(names[i], fontsize=7)
            ax.tick_params(labelsize=4.5)
            ax.xaxis.set_major_locator(MaxNLocator(3))
            ax.yaxis.set_major_locator(MaxNLocator(3))
            if i != p - 1:
                ax.tick_params(labelbottom=False)
            if j != 0:
                ax.tick_params(labelleft=False)
    fig.suptitle("bootstrap replicates (red: point estimate)", fontsize=9)
    return stamp(fig, note)


def save_figures(rep, out, note: str = "") -> list[Path]:
    """Write ``isoflop``, ``frontier``, ``residuals``, ``pairs`` (those that apply; PNG and PDF:
    :func:`simulations.plotting.save`) into ``out``; returns the PNG paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    makers = (
        ("isoflop", plot_isoflop),
        ("frontier", plot_frontier),
        ("residuals", plot_residuals),
        ("pairs", plot_pairs),
    )
    for name, make in makers:
        if rep.table is None:
            break
        fig = make(rep, note)
        if fig is not None:
            written.append(save(fig, out / name)[0])
    return written
