"""Figures of the PLRF model (matplotlib only; nothing is run or saved here).

Each function draws on a given ``Axes`` (``draw_*``) or builds and returns a
:class:`matplotlib.figure.Figure` in the house style of :mod:`simulations.plotting` (not
registered with pyplot: save it with :func:`simulations.plotting.save` or show it by ending a
notebook cell with it). Symbols as in :mod:`theory.plrf` (Paquette, Paquette, Xiao, Pennington,
arXiv 2405.15074).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FormatStrFormatter, MultipleLocator, NullFormatter

from simulations.compare import ComparisonRow
from simulations.fit import reduce_seeds
from simulations.plotting import new_figure, size_ticks, styled, value_labels
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

# inside each phase, between the grid points that are usually measured (α, β ∈ {0.2, 0.4, 0.7,
# 1, 1.5} × {0.3, 0.7, 1, 1.5}), so that a label never sits on a marker
_PHASE_LABEL_AT = {
    "Ia": (1.25, 0.15),
    "Ib": (0.2, 0.42),
    "Ic": (0.1, 1.25),
    "II": (1.3, 0.85),
    "III": (0.85, 1.25),
    "IVa": (0.4, 1.25),
}
_IVB_AT = (0.271, 1.25)  # IVb (1/4 < α < 1 − 1/√2) is too narrow for its name: a leader line
_LABEL_BOX = dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.75)


def draw_phase_boundaries(
    ax: Axes,
    alpha_max: float = 2.0,
    beta_range: tuple[float, float] = (-0.2, 2.0),
    *,
    label_inadmissible: bool = True,
) -> None:
    """Predicted phase boundaries (``theory.plrf.phase_boundaries``, lines), phase labels (on a
    light box, so no boundary runs through them; IVb, too narrow to hold its name, by a leader)
    and the inadmissible region ``α + β < 1/2`` (grey; labelled along its edge unless
    ``label_inadmissible`` is false: then the figure must say what grey means)."""
    curves = theory_plrf.phase_boundaries(alpha_max=alpha_max, beta_range=beta_range)
    for name, (a, b) in curves.items():
        ax.plot(a, b, color="0.3", lw=0.8, ls="--" if "excluded" in name else "-")
    a = np.linspace(0.0, alpha_max, 200)
    ax.fill_between(a, beta_range[0], 0.5 - a, color="0.85", zorder=0, lw=0)
    for phase, (x, y) in _PHASE_LABEL_AT.items():
        if x <= alpha_max and beta_range[0] <= y <= beta_range[1]:
            ax.text(x, y, phase, ha="center", va="center", fontsize=7, color="0.3", bbox=_LABEL_BOX)
    ivb_text = (0.1, min(1.85, beta_range[1] - 0.12))
    if ivb_text[1] > 1.45 and alpha_max > 0.5:
        ax.annotate(
            "IVb", _IVB_AT, xytext=ivb_text, ha="center", va="center", fontsize=7,
            color="0.3", bbox=_LABEL_BOX, arrowprops=dict(arrowstyle="-", lw=0.5, color="0.4"),
        )  # fmt: skip
    lo = beta_range[0]
    if label_inadmissible and lo < 0.5 and alpha_max > 0.5 - lo:
        # along the boundary α + β = 1/2, through the centroid of the visible grey triangle
        ax.text(
            (0.5 - lo) / 3, lo + (0.5 - lo) / 3, "inadmissible", fontsize=5, color="0.3",
            style="italic", ha="center", va="center", rotation=-45, rotation_mode="anchor",
            transform_rotates_text=True,
        )  # fmt: skip
    ax.set_xlim(0, alpha_max)
    ax.set_ylim(*beta_range)
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_locator(MultipleLocator(0.5))
        axis.set_major_formatter(FormatStrFormatter("%g"))
    ax.set_xlabel("α (data spectrum decay)")
    ax.set_ylabel("β (target decay)")


def draw_measured_offsets(
    ax: Axes, rows: Sequence[ComparisonRow], quantity: str, *, annotate: bool = True
):
    """Points at (α, β) coloured by measured − predicted ``quantity``; returns the scatter.

    Labels (placed so that none overlaps another, :func:`simulations.plotting.value_labels`)
    give "measured (predicted)" and, where a fit left runs out, how many diverged."""
    sel = [r for r in rows if r.quantity == quantity]
    a = np.array([float(r.params["alpha"]) for r in sel])
    b = np.array([float(r.params["beta"]) for r in sel])
    delta = np.array([r.measured - r.predicted for r in sel])
    lim = max(0.05, float(np.nanmax(np.abs(delta))) if delta.size else 0.05)
    sc = ax.scatter(a, b, c=delta, cmap="coolwarm", vmin=-lim, vmax=lim, s=30, ec="k", lw=0.6)
    if annotate and sel:
        texts = []
        for r in sel:
            n_bad = int(r.extras.get("n_diverged", "0"))
            texts.append(
                f"{r.measured:.3f} ({r.predicted:.3f})" + (f", {n_bad} div." if n_bad else "")
            )
        value_labels(ax, a, b, texts, marker_pt=7.0, fontsize=5.5)
    return sc


@styled
def phase_plane(rows: Sequence[ComparisonRow]) -> Figure:
    """Phase plane with predicted boundaries; one point per phase, coloured by measured −
    predicted ξ (left) and η (right) and labelled "measured (predicted)"."""
    fig = new_figure("two", 3.4)
    axes = fig.subplots(1, 2)
    for ax, quantity, sym in zip(axes, ("xi", "eta"), ("ξ", "η")):
        draw_phase_boundaries(ax, beta_range=(-0.2, 2.25))
        sc = draw_measured_offsets(ax, rows, quantity)
        fig.colorbar(sc, ax=ax, label=f"measured − predicted {sym}")
        ax.set_title(f"compute-optimal {sym}; labels: measured (predicted)")
    return fig


@styled
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
    fig = new_figure("two", 2.7 if n == 3 else 3.2)
    axes = fig.subplots(1, n)
    for ax, z, name in ((axes[0], eta, "η"), (axes[1], xi, "ξ")):
        im = ax.pcolormesh(alphas, betas, z, shading="auto", cmap="viridis", rasterized=True)
        draw_phase_boundaries(ax)
        fig.colorbar(im, ax=ax, label=f"predicted {name}")
        ax.set_title(f"predicted {name} (table)")
    if rows:
        draw_phase_boundaries(axes[2])
        sc = draw_measured_offsets(axes[2], rows, "eta", annotate=False)
        fig.colorbar(sc, ax=axes[2], label="measured − predicted η")
        axes[2].set_title(title, fontsize=7)
    return fig


def _diverged_suffix(n_diverged: int) -> str:
    """Title suffix for a panel whose diverged runs were left out ("" when none)."""
    return f"; {n_diverged} diverged left out" if n_diverged else ""


def _draw_isoflop(ax: Axes, m: PointMeasurement, *, lw: float = 0.8):
    """IsoFLOP curves (seed mean), coloured by d on a log scale; returns (interior budgets,
    the scalar mappable for a colorbar of d)."""
    mean = reduce_seeds(m.losses)
    norm = LogNorm(vmin=float(np.min(m.sizes)), vmax=float(np.max(m.sizes)))
    cmap = matplotlib.colormaps["viridis"]
    for k, d in enumerate(m.sizes):
        ax.loglog(m.compute[k], mean[k], color=cmap(norm(float(d))), lw=lw)
    fr = m.frontier
    return fr.budgets[fr.interior], ScalarMappable(norm=norm, cmap=cmap)


def _isoflop_legend_handles() -> list:
    return [
        Line2D([], [], ls="none", marker=".", color="r", label="frontier P*(f) (min over d)"),
        Line2D([], [], ls="--", color="k", lw=1, label=r"fit $\propto f^{-\eta}$"),
        Line2D([], [], ls=":", color="k", lw=1, label=r"predicted slope $f^{-\eta}$"),
    ]


@styled
def isoflop_grid(measurements: Sequence[PointMeasurement]) -> Figure:
    """Mean loss vs compute for every size (one panel per (α, β), colour: d) with the frontier,
    its fit and the predicted slope; titles give fitted (predicted) η and ξ."""
    n = len(measurements)
    cols = min(4, n)
    nrows = int(np.ceil(n / cols))
    fig = new_figure("two", 2.0 * nrows + 0.5)
    axes = np.atleast_1d(fig.subplots(nrows, cols, squeeze=False))
    sm = None
    for ax, m in zip(axes.flat, measurements):
        f, sm = _draw_isoflop(ax, m)
        fr = m.frontier
        xi_pred, eta_pred = theory_plrf.compute_optimal_exponents(m.alpha, m.beta)
        loss_f = fr.optimal_loss[fr.interior]
        ax.loglog(f, loss_f, "r.", ms=2)
        if f.size:
            ax.loglog(f, m.eta.predict(f), "k--", lw=1)
            ax.loglog(f, loss_f[0] * (f / f[0]) ** (-eta_pred), "k:", lw=1)
        phase = theory_plrf.phase(m.alpha, m.beta)
        ax.set_title(
            f"α={m.alpha:g}, β={m.beta:g} ({phase}){_diverged_suffix(m.n_diverged)}\n"
            f"η {m.eta.exponent:.3f} ({eta_pred:.3f}), ξ {m.xi.exponent:.3f} ({xi_pred:.3f})",
            fontsize=6,
        )
        ax.tick_params(labelsize=6)
        ax.xaxis.set_minor_formatter(NullFormatter())
    for ax in axes[-1]:
        ax.set_xlabel("compute f = d·B·r")
    for ax in axes[:, 0]:
        ax.set_ylabel("expected loss")
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    if sm is not None:
        cbar = fig.colorbar(sm, ax=axes, label="model size d", shrink=0.8)
        size_ticks(cbar.ax, measurements[0].sizes, "y")
    handles = _isoflop_legend_handles()
    handles.append(Line2D([], [], ls="none", label="titles: fitted (predicted)"))
    fig.legend(handles=handles, loc="outside upper center", ncol=4, frameon=False)
    return fig


@styled
def isoflop_frontier(m: PointMeasurement) -> Figure:
    """IsoFLOP curves and the frontier P*(f) with fitted and predicted η (left); d*(f) with
    fitted and predicted ξ (right) (arXiv 2405.15074, Fig. 2)."""
    xi_pred, eta_pred = theory_plrf.compute_optimal_exponents(m.alpha, m.beta)
    fig = new_figure("two", 3.0)
    ax, ax2 = fig.subplots(1, 2)
    f, sm = _draw_isoflop(ax, m, lw=1)
    fr = m.frontier
    loss_f = fr.optimal_loss[fr.interior]
    ax.loglog(f, loss_f, "r.", ms=3, label="frontier P*(f) (min over d)")
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
    size_ticks(fig.colorbar(sm, ax=ax, label="model size d").ax, m.sizes, "y")
    ax.set_xlabel("compute f = d·B·r")
    ax.set_ylabel("expected loss P")
    phase = theory_plrf.phase(m.alpha, m.beta)
    ax.set_title(
        f"IsoFLOP curves, α = {m.alpha:g}, β = {m.beta:g} ({phase}){_diverged_suffix(m.n_diverged)}"
    )
    ax.legend(loc="lower left")
    ax2.loglog(f, fr.optimal_size[fr.interior], "o", ms=3, mfc="none", label="d*(f) (measured)")
    ax2.loglog(
        f,
        m.xi.predict(f),
        "k--",
        label=f"fit ξ = {m.xi.exponent:.3f} [{m.xi.ci_low:.3f}, {m.xi.ci_high:.3f}]",
    )
    if f.size:
        d0 = fr.optimal_size[fr.interior][0]
        ax2.loglog(f, d0 * (f / f[0]) ** xi_pred, "k:", label=f"predicted ξ = {xi_pred:.3f}")
    for a in (ax, ax2):
        a.xaxis.set_minor_formatter(NullFormatter())
    ax2.set_xlabel("compute f = d·B·r")
    ax2.set_ylabel("compute-optimal size d*")
    ax2.set_title(f"d*(f): fitted ξ = {m.xi.exponent:.3f}, predicted {xi_pred:.3f}")
    ax2.legend(loc="upper left")
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


@styled
def loss_curves(curves: LossCurves, *, title: str = "") -> Figure:
    """One configuration: SGD mean ± 2 SE beside the Volterra (same W) and deterministic-
    equivalent curves."""
    fig = new_figure("one", 2.8)
    ax = fig.subplots()
    kept = f"{curves.n_finite}/{curves.n_seeds} runs" + (
        f", {curves.n_seeds - curves.n_finite} diverged left out"
        if curves.n_finite < curves.n_seeds
        else ""
    )
    draw_loss_curves(ax, curves, label=f"SGD mean ± 2 SE ({kept})")
    ax.plot([], [], "-", color="C0", label="Volterra (same W)")
    ax.plot([], [], "--", color="k", label="deterministic equivalent")
    ax.set_title(title)
    ax.legend(fontsize=6)
    return fig


@styled
def loss_curves_by_size(curves: Mapping[int, LossCurves], *, title: str = "") -> Figure:
    """:func:`draw_loss_curves` for several model sizes d on one axes (arXiv 2405.15074, Fig. 3)."""
    fig = new_figure("one", 2.9)
    ax = fig.subplots()
    for k, (d, c) in enumerate(curves.items()):
        kept = f"{c.n_seeds} seeds" if c.n_finite == c.n_seeds else f"{c.n_finite}/{c.n_seeds} kept"
        draw_loss_curves(ax, c, color=f"C{k}", label=f"SGD d={d} ({kept})")
    ax.plot([], [], "-", color="0.4", label="Volterra (same W)")
    ax.plot([], [], "--", color="k", label="deterministic equivalent")
    ax.set_ylabel("population loss P(θ_r)")
    ax.set_title(title)
    ax.legend(fontsize=6, loc="lower left")
    return fig


@styled
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
    fig = new_figure("two", 1.9 * nrows + 0.45)
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
            f"α={t.alpha:g}, β={t.beta:g} ({theory_plrf.phase(t.alpha, t.beta)})", fontsize=7
        )
        ax.tick_params(labelsize=6)
    for ax in axes[-1]:
        ax.set_xlabel("log₂ d* (window centre)")
    for ax in axes[:, 0]:
        ax.set_ylabel("local exponent")
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    handles = [
        Line2D([], [], color="C0", label="local ξ"),
        Line2D([], [], color="C1", label="local η"),
        Line2D([], [], ls=":", color="0.4", label="table (predicted)"),
        Line2D([], [], ls="none", marker="s", color="0.4", label="d → ∞ (hollow: not converged)"),
    ]
    if crosscheck:
        handles.append(
            Line2D(
                [], [], ls="none", marker="o", color="0.4", mfc="white", label="realised W, small d"
            )
        )
    fig.legend(handles=handles, loc="outside upper center", ncol=len(handles), frameon=False)
    return fig


@styled
def plane_maps(rows: Sequence[ComparisonRow]) -> Figure:
    """The measured phase plane beside the predicted one (arXiv 2405.15074, Fig. 1, measured).

    Rows ``xi``/``eta`` of :func:`simulations.plrf.analysis.trend_rows` over a grid of (α, β).
    Top row ξ, bottom row η: the predicted map with the boundaries; the measured values at the
    grid points on the same colour scale; ``|measured − predicted|`` (hollow markers: not
    converged at the largest size).
    """
    fig = new_figure("two", 5.0)
    axes = fig.subplots(2, 3)
    a_max = max(float(r.params["alpha"]) for r in rows) * 1.1
    alphas = np.linspace(0.01, a_max, 120)
    betas = np.linspace(0.0, max(float(r.params["beta"]) for r in rows) + 0.35, 120)
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
        im = row_axes[0].pcolormesh(
            alphas, betas, z, shading="auto", vmin=vmin, vmax=vmax, rasterized=True
        )
        fig.colorbar(im, ax=row_axes[0], label=f"predicted {sym}")
        row_axes[0].set_title(f"predicted {sym} (table)")
        sc = row_axes[1].scatter(a, b, c=meas, vmin=vmin, vmax=vmax, s=30, marker="s", ec="k")
        fig.colorbar(sc, ax=row_axes[1], label=f"measured {sym} (d → ∞)")
        row_axes[1].set_title(f"measured {sym}")
        lim = max(0.02, float(np.nanmax(err)))
        sc2 = row_axes[2].scatter(
            a[conv], b[conv], c=err[conv], cmap="magma_r", vmin=0, vmax=lim, s=30, ec="k"
        )
        row_axes[2].scatter(
            a[~conv],
            b[~conv],
            c=err[~conv],
            cmap="magma_r",
            vmin=0,
            vmax=lim,
            s=30,
            ec="tab:blue",
            lw=1.5,
        )
        fig.colorbar(sc2, ax=row_axes[2], label=f"|measured − predicted| {sym}")
        row_axes[2].set_title(f"|Δ{sym}| (blue edge: not converged)", fontsize=7)
        for ax in row_axes:
            draw_phase_boundaries(
                ax, alpha_max=a_max, beta_range=(0.0, float(betas[-1])), label_inadmissible=False
            )
    fig.suptitle(
        "lines: predicted phase boundaries; grey: inadmissible (α + β < ½); rows: ξ, η",
        fontsize=7,
    )
    return fig
