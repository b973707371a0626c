"""Figures of the PLRF model (matplotlib only; nothing is run or saved here).

Each function draws on a given ``Axes`` (``draw_*``) or builds and returns a
:class:`matplotlib.figure.Figure` (not registered with pyplot: save it with ``fig.savefig`` or show
it by ending a notebook cell with it). Symbols as in :mod:`theory.plrf` (Paquette, Paquette, Xiao,
Pennington, arXiv 2405.15074).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from simulations.compare import ComparisonRow
from simulations.fit import reduce_seeds
from simulations.plrf.analysis import FrontierTrend, LossCurves, PointMeasurement
from theory import plrf as theory_plrf

__all__ = [
    "draw_loss_curves",
    "draw_measured_offsets",
    "draw_phase_boundaries",
    "exponent_maps",
    "isoflop_frontier",
    "isoflop_grid",
    "local_exponents",
    "loss_curves",
    "loss_curves_by_size",
    "phase_plane",
    "plane_maps",
]

_PHASE_LABEL_AT = {
    "Ia": (1.5, 0.15),
    "Ib": (0.4, 0.2),
    "Ic": (0.13, 1.3),
    "II": (1.5, 0.8),
    "III": (1.0, 1.6),
    "IVa": (0.4, 1.5),
    "IVb": (0.27, 1.75),
}


def draw_phase_boundaries(
    ax: Axes, alpha_max: float = 2.0, beta_range: tuple[float, float] = (-0.2, 2.0)
) -> None:
    """Predicted phase boundaries (``theory.plrf.phase_boundaries``) and phase labels on ``ax``."""
    curves = theory_plrf.phase_boundaries(alpha_max=alpha_max, beta_range=beta_range)
    for name, (a, b) in curves.items():
        ax.plot(a, b, color="0.3", lw=1.0, ls="--" if "excluded" in name else "-")
    a = np.linspace(0.0, alpha_max, 200)
    ax.fill_between(a, beta_range[0], 0.5 - a, color="0.85", zorder=0)
    for phase, (x, y) in _PHASE_LABEL_AT.items():
        if x <= alpha_max and beta_range[0] <= y <= beta_range[1]:
            ax.text(x, y, phase, ha="center", va="center", fontsize=9, color="0.35")
    ax.set_xlim(0, alpha_max)
    ax.set_ylim(*beta_range)
    ax.set_xlabel("α (data spectrum decay)")
    ax.set_ylabel("β (target decay)")


def draw_measured_offsets(
    ax: Axes, rows: Sequence[ComparisonRow], quantity: str, *, annotate: bool = True
):
    """Points at (α, β) coloured by measured − predicted ``quantity``; returns the scatter.

    Annotations give measured (predicted) and, where a fit left runs out, how many diverged."""
    sel = [r for r in rows if r.quantity == quantity]
    a = np.array([float(r.params["alpha"]) for r in sel])
    b = np.array([float(r.params["beta"]) for r in sel])
    delta = np.array([r.measured - r.predicted for r in sel])
    lim = max(0.05, float(np.nanmax(np.abs(delta))) if delta.size else 0.05)
    sc = ax.scatter(a, b, c=delta, cmap="coolwarm", vmin=-lim, vmax=lim, s=120, ec="k")
    if annotate:
        for r, x, y in zip(sel, a, b):
            n_bad = int(r.extras.get("n_diverged", "0"))
            ax.annotate(
                f"{r.measured:.3f}\n({r.predicted:.3f})" + (f"\n{n_bad} diverged" if n_bad else ""),
                (x, y),
                textcoords="offset points",
                xytext=(8, 6),
                fontsize=7,
            )
    return sc


def phase_plane(rows: Sequence[ComparisonRow]) -> Figure:
    """Phase plane with predicted boundaries; points coloured by measured − predicted ξ and η."""
    fig = Figure(figsize=(12, 5), layout="constrained")
    axes = fig.subplots(1, 2)
    for ax, quantity, sym in zip(axes, ("xi", "eta"), ("ξ", "η")):
        draw_phase_boundaries(ax)
        sc = draw_measured_offsets(ax, rows, quantity)
        fig.colorbar(sc, ax=ax, label=f"measured − predicted {sym}")
        ax.set_title(f"compute-optimal {sym}: measured (predicted)")
    return fig


def exponent_maps(
    alphas: np.ndarray,
    betas: np.ndarray,
    xi: np.ndarray,
    eta: np.ndarray,
    rows: Sequence[ComparisonRow] = (),
    *,
    title: str = "measured η",
) -> Figure:
    """Predicted η and ξ maps (``theory.plrf.exponent_maps``) with the phase boundaries, and
    (when ``rows`` are given) a third panel of measured − predicted η at the measured points."""
    n = 3 if rows else 2
    fig = Figure(figsize=(5.7 * n, 5), layout="constrained")
    axes = fig.subplots(1, n)
    for ax, z, name in ((axes[0], eta, "η"), (axes[1], xi, "ξ")):
        im = ax.pcolormesh(alphas, betas, z, shading="auto", cmap="viridis")
        draw_phase_boundaries(ax)
        fig.colorbar(im, ax=ax, label=f"predicted {name}")
        ax.set_title(f"compute-optimal exponent {name}")
    if rows:
        draw_phase_boundaries(axes[2])
        sc = draw_measured_offsets(axes[2], rows, "eta", annotate=False)
        fig.colorbar(sc, ax=axes[2], label="measured − predicted η")
        axes[2].set_title(title)
    return fig


def _diverged_suffix(n_diverged: int) -> str:
    """Title suffix for a panel whose diverged runs were left out ("" when none)."""
    return f"\n({n_diverged} diverged runs left out)" if n_diverged else ""


def _draw_isoflop(ax: Axes, m: PointMeasurement, *, lw: float = 0.8, legend: bool = False):
    mean = reduce_seeds(m.losses)
    colors = matplotlib.colormaps["viridis"](np.linspace(0, 1, len(m.sizes)))
    for k, d in enumerate(m.sizes):
        label = f"d = {int(d)}" if legend else f"d={int(d)}"
        ax.loglog(m.compute[k], mean[k], color=colors[k], lw=lw, label=label)
    fr = m.frontier
    return fr.budgets[fr.interior]


def isoflop_grid(measurements: Sequence[PointMeasurement]) -> Figure:
    """Mean loss vs compute for every size (one panel per (α, β)) with the fitted frontier."""
    n = len(measurements)
    cols = min(4, n)
    nrows = int(np.ceil(n / cols))
    fig = Figure(figsize=(4 * cols, 3.4 * nrows), layout="tight")
    axes = np.atleast_1d(fig.subplots(nrows, cols, squeeze=False))
    for ax, m in zip(axes.flat, measurements):
        f = _draw_isoflop(ax, m)
        fr = m.frontier
        ax.loglog(f, fr.optimal_loss[fr.interior], "r.", ms=3)
        if f.size:
            ax.loglog(f, m.eta.predict(f), "k--", lw=1)
        ax.set_title(
            f"α={m.alpha:g}, β={m.beta:g}: η={m.eta.exponent:.3f}, ξ={m.xi.exponent:.3f}"
            + _diverged_suffix(m.n_diverged),
            fontsize=9,
        )
        ax.set_xlabel("compute f = d·B·r")
        ax.set_ylabel("expected loss")
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=6, ncol=2)
    return fig


def isoflop_frontier(m: PointMeasurement) -> Figure:
    """IsoFLOP curves and the frontier P*(f) with fitted and predicted η (left); d*(f) with
    fitted and predicted ξ (right) (arXiv 2405.15074, Fig. 2)."""
    xi_pred, eta_pred = theory_plrf.compute_optimal_exponents(m.alpha, m.beta)
    fig = Figure(figsize=(12, 4.6), layout="constrained")
    ax, ax2 = fig.subplots(1, 2)
    f = _draw_isoflop(ax, m, lw=1, legend=True)
    fr = m.frontier
    loss_f = fr.optimal_loss[fr.interior]
    ax.loglog(f, loss_f, "r.", ms=4, label="frontier")
    ax.loglog(
        f,
        m.eta.predict(f),
        "k--",
        label=f"fit η = {m.eta.exponent:.3f} [{m.eta.ci_low:.3f}, {m.eta.ci_high:.3f}]",
    )
    if f.size:
        ax.loglog(
            f, loss_f[0] * (f / f[0]) ** (-eta_pred), "k:", label=f"predicted η = {eta_pred:.3f}"
        )
    ax.set_xlabel("compute f = d·B·r")
    ax.set_ylabel("expected loss P")
    phase = theory_plrf.phase(m.alpha, m.beta)
    title = f"IsoFLOP curves, α = {m.alpha:g}, β = {m.beta:g} ({phase})"
    ax.set_title(title + _diverged_suffix(m.n_diverged))
    ax.legend(fontsize=7, ncol=2)
    ax2.loglog(f, fr.optimal_size[fr.interior], "o", ms=3, label="d*(f)")
    ax2.loglog(
        f,
        m.xi.predict(f),
        "k--",
        label=f"fit ξ = {m.xi.exponent:.3f} [{m.xi.ci_low:.3f}, {m.xi.ci_high:.3f}]",
    )
    ax2.set_xlabel("compute f")
    ax2.set_ylabel("compute-optimal size d*")
    ax2.set_title(f"predicted ξ = {xi_pred:.3f}")
    ax2.legend(fontsize=8)
    return fig


def draw_loss_curves(
    ax: Axes, curves: LossCurves, *, color: str = "C0", label: str = "SGD mean ± 2 SE"
) -> None:
    """SGD mean ± 2 SE (markers), the Volterra curve of the same W's (line) and the
    deterministic equivalent (dashed) on ``ax`` (log-log; step 0 drawn at 1). Diverged runs are
    not in the means (``curves.n_finite`` of ``curves.n_seeds`` kept)."""
    x = np.maximum(np.asarray(curves.step, dtype=float), 1)
    lo = curves.sgd_mean - 2 * curves.sgd_se
    ax.fill_between(x, lo, curves.sgd_mean + 2 * curves.sgd_se, alpha=0.3, color=color)
    ax.loglog(x, curves.sgd_mean, "o", ms=3, color=color, label=label)
    ax.loglog(x, curves.volterra_mean, "-", color=color, lw=1)
    ax.loglog(x, curves.det_equiv, "--", color="k", lw=0.8)
    ax.set_xlabel("SGD steps r")
    ax.set_ylabel("population loss P(θ_r)")


def loss_curves(curves: LossCurves, *, title: str = "") -> Figure:
    """One configuration: SGD mean ± 2 SE beside the Volterra (same W) and deterministic-
    equivalent curves."""
    fig = Figure(figsize=(6, 4.2), layout="constrained")
    ax = fig.subplots()
    kept = f"{curves.n_finite}/{curves.n_seeds} runs" + (
        f", {curves.n_seeds - curves.n_finite} diverged left out"
        if curves.n_finite < curves.n_seeds
        else ""
    )
    draw_loss_curves(ax, curves, label=f"SGD mean ± 2 SE ({kept})")
    ax.plot([], [], "-", color="C0", label="Volterra (same W)")
    ax.plot([], [], "--", color="k", label="deterministic equivalent")
    ax.set_title(title, fontsize=9)
    ax.legend()
    return fig


def loss_curves_by_size(curves: Mapping[int, LossCurves], *, title: str = "") -> Figure:
    """:func:`draw_loss_curves` for several model sizes d on one axes (arXiv 2405.15074, Fig. 3)."""
    fig = Figure(figsize=(7, 5), layout="constrained")
    ax = fig.subplots()
    for k, (d, c) in enumerate(curves.items()):
        kept = f"{c.n_seeds} seeds" if c.n_finite == c.n_seeds else f"{c.n_finite}/{c.n_seeds} kept"
        draw_loss_curves(ax, c, color=f"C{k}", label=f"SGD d={d} ({kept})")
    ax.plot([], [], "-", color="0.4", label="Volterra (same W)")
    ax.plot([], [], "--", color="k", label="deterministic equivalent")
    ax.set_ylabel("population loss")
    ax.set_title(title)
    ax.legend(fontsize=8)
    return fig


def local_exponents(
    trends: Sequence[FrontierTrend], crosscheck: Sequence[PointMeasurement] = ()
) -> Figure:
    """Local ξ and η against ``d*`` (one panel per point), the table's values (dotted), the
    extrapolated d → ∞ intervals (bars at the right edge) and, where given, the realised-W
    measurement at small d (markers with 95 % intervals at the centre of its d* range)."""
    small = {(m.alpha, m.beta): m for m in crosscheck}
    n = len(trends)
    cols = min(4, n)
    nrows = int(np.ceil(n / cols))
    fig = Figure(figsize=(4.2 * cols, 3.3 * nrows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(nrows, cols, squeeze=False))
    for ax, t in zip(axes.flat, trends):
        xi_pred, eta_pred = theory_plrf.compute_optimal_exponents(t.alpha, t.beta)
        x_right = float(np.log2(t.xi_local.hi[-1])) if len(t.xi_local) else 0.0
        for k, (local, ext, pred, sym) in enumerate(
            ((t.xi_local, t.xi, xi_pred, "ξ"), (t.eta_local, t.eta, eta_pred, "η"))
        ):
            color = f"C{k}"
            ax.plot(
                np.log2(local.centre), local.slope, "-", color=color, lw=1.5, label=f"local {sym}"
            )
            ax.axhline(pred, color=color, ls=":", lw=1)
            ax.errorbar(
                [x_right + 0.6 * (k + 1)],
                [ext.value],
                yerr=[[ext.value - ext.ci_low], [ext.ci_high - ext.value]],
                fmt="s" if ext.converged else "D",
                mfc=color if ext.converged else "white",
                color=color,
                ms=5,
                capsize=2,
            )
            m = small.get((t.alpha, t.beta))
            if m is not None:
                fit_ = m.xi if sym == "ξ" else m.eta
                d_lo, d_hi = fit_.window  # budgets; place at the realised d* range centre
                fr = m.frontier
                ok = fr.interior & (fr.budgets >= d_lo) & (fr.budgets <= d_hi)
                x = float(np.mean(np.log2(fr.optimal_size[ok]))) if ok.any() else 8.0
                ax.errorbar(
                    [x],
                    [fit_.exponent],
                    yerr=[[fit_.exponent - fit_.ci_low], [fit_.ci_high - fit_.exponent]],
                    fmt="o",
                    color=color,
                    mfc="white",
                    ms=5,
                    capsize=2,
                )
        ax.set_title(
            f"α={t.alpha:g}, β={t.beta:g} ({theory_plrf.phase(t.alpha, t.beta)})", fontsize=9
        )
        ax.set_xlabel("log₂ d* (window centre)")
        ax.set_ylabel("local exponent")
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    first = axes.flat[0]
    first.plot([], [], ":", color="0.4", label="table")
    first.plot([], [], "s", color="0.4", label="d → ∞ (filled: converged)")
    if crosscheck:
        first.plot([], [], "o", color="0.4", mfc="white", label="realised W, small d")
    first.legend(fontsize=7)
    return fig


def plane_maps(rows: Sequence[ComparisonRow]) -> Figure:
    """The measured phase plane beside the predicted one (arXiv 2405.15074, Fig. 1, measured).

    Rows ``xi``/``eta`` of :func:`simulations.plrf.analysis.trend_rows` over a grid of (α, β).
    Top row ξ, bottom row η: the predicted map with the boundaries; the measured values at the
    grid points on the same colour scale; ``|measured − predicted|`` (hollow markers: not
    converged at the largest size).
    """
    fig = Figure(figsize=(16, 9.5), layout="constrained")
    axes = fig.subplots(2, 3)
    a_max = max(float(r.params["alpha"]) for r in rows) * 1.1
    alphas = np.linspace(0.01, a_max, 240)
    betas = np.linspace(0.0, max(float(r.params["beta"]) for r in rows) * 1.1, 240)
    xi_map, eta_map = theory_plrf.exponent_maps(alphas, betas)
    for row_axes, quantity, z, sym in (
        (axes[0], "xi", xi_map, "ξ"),
        (axes[1], "eta", eta_map, "η"),
    ):
        sel = [r for r in rows if r.quantity == quantity]
        a = np.array([float(r.params["alpha"]) for r in sel])
        b = np.array([float(r.params["beta"]) for r in sel])
        meas = np.array([r.measured for r in sel])
        err = np.abs(meas - np.array([r.predicted for r in sel]))
        conv = np.array([r.extras.get("converged") == "yes" for r in sel], dtype=bool)
        vmin, vmax = float(np.nanmin(z)), float(np.nanmax(z))
        im = row_axes[0].pcolormesh(alphas, betas, z, shading="auto", vmin=vmin, vmax=vmax)
        fig.colorbar(im, ax=row_axes[0], label=f"predicted {sym}")
        row_axes[0].set_title(f"predicted {sym} (table)")
        sc = row_axes[1].scatter(a, b, c=meas, vmin=vmin, vmax=vmax, s=90, marker="s", ec="k")
        fig.colorbar(sc, ax=row_axes[1], label=f"measured {sym} (d → ∞ extrapolation)")
        row_axes[1].set_title(f"measured {sym}")
        lim = max(0.02, float(np.nanmax(err)))
        sc2 = row_axes[2].scatter(
            a[conv], b[conv], c=err[conv], cmap="magma_r", vmin=0, vmax=lim, s=90, ec="k"
        )
        row_axes[2].scatter(
            a[~conv],
            b[~conv],
            c=err[~conv],
            cmap="magma_r",
            vmin=0,
            vmax=lim,
            s=90,
            ec="tab:blue",
            lw=2,
        )
        fig.colorbar(sc2, ax=row_axes[2], label=f"|measured − predicted| {sym}")
        row_axes[2].set_title(f"|Δ{sym}| (blue edge: not converged)")
        for ax in row_axes:
            draw_phase_boundaries(ax, alpha_max=a_max, beta_range=(0.0, float(betas[-1])))
    return fig
