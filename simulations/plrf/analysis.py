"""PLRF results -> measurements -> comparison rows (runs nothing).

Large d (the main measurement): :func:`measure_trend` turns the W-free curves of one (α, β)
(:func:`simulations.plrf.limits.wfree_curves`, d up to 2^32 and beyond) into the frontier, local
ξ and η over sliding windows of ``d*`` and their extrapolated d → ∞ values
(:mod:`simulations.convergence`); :func:`trend_rows` sets them beside the table and beside the
realised-W measurement at small d.

Small d (the cross-check):
:func:`measure_point` turns the expected-loss curves of one (α, β) of a phase-diagram sweep
(:func:`simulations.plrf.experiment.run_phase_sweep`) into the compute-optimal exponents of
Paquette, Paquette, Xiao, Pennington (arXiv 2405.15074): the IsoFLOP frontier
``d*(f) ∝ f^ξ``, ``P(f/d*, d*) ∝ f^(−η)`` over compute ``f = d·B·r``, fitted over its interior
budgets with seed-bootstrap confidence intervals, and the exponent of the limit level
``P*(d)``. :func:`comparison_rows` and :func:`p_star_exponents` set them beside
:mod:`theory.plrf`'s predictions; :func:`summarize_curves` reduces the curves of
``solvable run plrf`` over seeds.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import xarray as xr

from simulations import fit
from simulations.compare import ComparisonRow
from simulations.convergence import Extrapolation, LocalSlopes, extrapolate, local_slopes
from simulations.plrf.limits import WFreeCurves, curves_frontier
from simulations.results import SweepResult, count_diverged, mask_diverged
from theory import plrf as theory_plrf

__all__ = [
    "FrontierTrend",
    "LossCurves",
    "PStarExponent",
    "PointArrays",
    "PointMeasurement",
    "comparison_rows",
    "diverged_note",
    "format_three_way",
    "local_resolution",
    "measure_point",
    "measure_points",
    "measure_trend",
    "p_star_exponents",
    "point_arrays",
    "summarize_curves",
    "trend_rows",
]


class PointArrays(NamedTuple):
    """The curves of one (α, β) of a phase-diagram sweep, sizes stacked (NaN-padded).

    Attributes:
        sizes: ``(n_sizes,)`` model sizes d (float).
        compute: ``(n_sizes, n_checkpoints)`` compute ``f = d·B·r`` at each checkpoint.
        losses: ``(n_seeds, n_sizes, n_checkpoints)`` expected losses (diverged runs NaN).
        p_star: ``(n_seeds, n_sizes)`` limit levels ``P*`` of each run's W (diverged runs NaN).
        n_diverged: number of runs flagged diverged (non-finite, loss ``>= 10³ · P(0)`` or
            ``‖K‖ >= 1``: :func:`simulations.plrf.sweeps.run_diverged`); left out of every fit.
    """

    sizes: np.ndarray
    compute: np.ndarray
    losses: np.ndarray
    p_star: np.ndarray
    n_diverged: int


@dataclasses.dataclass(frozen=True)
class PointMeasurement:
    """Measured compute-optimal exponents at one (α, β) (see :func:`measure_point`)."""

    alpha: float
    beta: float
    xi: fit.PowerLawFit
    eta: fit.PowerLawFit
    frontier: fit.Frontier
    sizes: np.ndarray
    compute: np.ndarray  # (n_sizes, n_checkpoints)
    losses: np.ndarray  # (n_seeds, n_sizes, n_checkpoints)
    p_star: np.ndarray  # (n_seeds, n_sizes)
    p_star_fit: fit.PowerLawFit
    n_diverged: int


class PStarExponent(NamedTuple):
    """Measured vs predicted exponent of ``P*(d) ∝ d^(−e)`` at one (α, β) (one CSV row)."""

    alpha: float
    beta: float
    predicted: float
    measured: float
    ci_low: float
    ci_high: float
    n_diverged: int


class LossCurves(NamedTuple):
    """SGD vs theory curves of one configuration, reduced over seeds.

    Attributes:
        step: ``(K,)`` SGD steps r of the checkpoints.
        compute: ``(K,)`` compute ``d·B·r``.
        sgd_mean: ``(K,)`` mean SGD loss over the finite runs.
        sgd_se: ``(K,)`` its standard error.
        volterra_mean: ``(K,)`` mean exact expected loss of the same W's.
        det_equiv: ``(K,)`` expected loss of the deterministic equivalent (no W).
        n_finite: number of runs kept (not diverged: finite and within the divergence bound).
        n_seeds: number of SGD runs.
    """

    step: np.ndarray
    compute: np.ndarray
    sgd_mean: np.ndarray
    sgd_se: np.ndarray
    volterra_mean: np.ndarray
    det_equiv: np.ndarray
    n_finite: int
    n_seeds: int


def local_resolution(per_octave: int) -> float:
    """Numerical resolution of W-free local exponents measured with ``per_octave`` sizes per
    octave: ``0.03/per_octave²``. Measured over the eight reference points (d = 2^6…2^24,
    4-octave windows): going from 4 to 2 sizes per octave moves a local exponent by at most
    0.0055, i.e. an error ``≈ C/q²`` with ``C ≈ 0.029``; halving the checkpoints per decade
    (40 → 20) moves it by at most 1.7e-4."""
    return 0.03 / float(per_octave) ** 2


@dataclasses.dataclass(frozen=True, eq=False)
class FrontierTrend:
    """Local and extrapolated compute-optimal exponents of one (α, β) (:func:`measure_trend`).

    Attributes:
        alpha, beta: the point.
        frontier: the compute-optimal frontier of the W-free curves.
        xi_local, eta_local: local ξ (slope of ``log d*`` on ``log f``) and η (minus the slope of
            ``log P*(f)``) over sliding windows of ``d*``.
        p_star_local: local exponent ``e`` of ``P*(d) ∝ d^(−e)`` over windows of ``d``.
        xi, eta, p_star: their extrapolations to ``d → ∞`` (:func:`simulations.convergence.
            extrapolate`).
        width: window width (octaves); sizes: the W-free sizes.
    """

    alpha: float
    beta: float
    frontier: fit.Frontier
    xi_local: LocalSlopes
    eta_local: LocalSlopes
    p_star_local: LocalSlopes
    xi: Extrapolation
    eta: Extrapolation
    p_star: Extrapolation
    width: float
    sizes: np.ndarray


def measure_trend(
    curves: WFreeCurves,
    *,
    width: float = 4.0,
    step: float = 1.0,
    tol: float = 0.01,
    budgets_per_octave: int = 8,
    resolution: float | None = None,
) -> FrontierTrend:
    """Frontier, local exponents over ``width``-octave windows of ``d*``, and their limits.

    The frontier (:func:`simulations.fit.compute_optimal_frontier`, parabola refinement in
    ``log d``) is taken at ``budgets_per_octave`` log-spaced budgets per octave of compute over its
    bracketed range; only interior budgets enter. Local exponents are OLS slopes over the frontier
    points whose ``d*`` lies in each window (moved by ``step`` octaves); each sequence is
    extrapolated with ``tol`` as the convergence tolerance over the last ``width`` octaves and
    ``resolution`` added to both ends of its interval (default :func:`local_resolution` of the
    sizes per octave of ``curves``).
    """
    if resolution is None:
        per_octave = round(1.0 / float(np.median(np.diff(np.log2(curves.sizes)))))
        resolution = local_resolution(max(per_octave, 1))
    frontier = curves_frontier(curves, budgets_per_octave=budgets_per_octave)
    ok = frontier.interior & np.isfinite(frontier.optimal_loss) & (frontier.optimal_loss > 0)
    f, d_star, p_opt = frontier.budgets[ok], frontier.optimal_size[ok], frontier.optimal_loss[ok]
    xi_local = local_slopes(f, d_star, d_star, width=width, step=step)
    eta_raw = local_slopes(f, p_opt, d_star, width=width, step=step)
    eta_local = dataclasses.replace(eta_raw, slope=-eta_raw.slope)
    p_raw = local_slopes(curves.sizes, curves.p_star, width=width, step=step)
    p_local = dataclasses.replace(p_raw, slope=-p_raw.slope)

    def limit(local: LocalSlopes) -> Extrapolation:
        return extrapolate(local.centre, local.slope, tol=tol, span=width, resolution=resolution)

    return FrontierTrend(
        curves.alpha,
        curves.beta,
        frontier,
        xi_local,
        eta_local,
        p_local,
        limit(xi_local),
        limit(eta_local),
        limit(p_local),
        width,
        curves.sizes,
    )


def trend_rows(
    trends: Sequence[FrontierTrend], crosscheck: Sequence[PointMeasurement] | None = None
) -> list[ComparisonRow]:
    """Rows ``xi``, ``eta`` per point: the table, the W-free limit, and realised W at small d.

    ``measured`` and its interval are the extrapolated d → ∞ values of the W-free frontier
    (:func:`measure_trend`). Extras: ``local`` (the local exponent of the largest window),
    ``at_d_star`` (that window's centre), ``drift`` (its change over the last window width),
    ``converged`` (yes/no), ``trend`` (first → last local value), ``sizes`` (W-free range), and
    from ``crosscheck`` (realised-W measurements of the same points, matched by (α, β))
    ``realised`` (ξ or η with its bootstrap interval), ``realised_sizes`` and ``n_diverged``.
    """
    by_point = {(m.alpha, m.beta): m for m in crosscheck or ()}
    rows = []
    for t in trends:
        xi_pred, eta_pred = theory_plrf.compute_optimal_exponents(t.alpha, t.beta)
        phase = theory_plrf.phase(t.alpha, t.beta)
        small = by_point.get((t.alpha, t.beta))
        sizes = f"2^{math.log2(t.sizes[0]):.0f}-2^{math.log2(t.sizes[-1]):.0f}"
        for name, pred, ext, local in (
            ("xi", xi_pred, t.xi, t.xi_local),
            ("eta", eta_pred, t.eta, t.eta_local),
        ):
            extras = {
                "local": f"{ext.last:.4f}",
                "at_d_star": f"2^{math.log2(ext.last_scale):.1f}",
                "drift": f"{ext.drift:+.4f}" if math.isfinite(ext.drift) else "",
                "converged": "yes" if ext.converged else "no",
                "trend": local.trend(),
                "sizes": sizes,
            }
            if small is not None:
                m = small.xi if name == "xi" else small.eta
                extras["realised"] = f"{m.exponent:.4f} [{m.ci_low:.4f}, {m.ci_high:.4f}]"
                extras["realised_sizes"] = f"{small.sizes[0]:.0f}-{small.sizes[-1]:.0f}"
                extras["n_diverged"] = str(small.n_diverged)
                extras["note"] = diverged_note(small.n_diverged)
            rows.append(
                ComparisonRow(
                    params={"alpha": t.alpha, "beta": t.beta},
                    phase=phase,
                    quantity=name,
                    predicted=float(pred),
                    measured=ext.value,
                    ci_low=ext.ci_low,
                    ci_high=ext.ci_high,
                    extras=extras,
                )
            )
    return rows


def point_arrays(result: SweepResult, index: int) -> PointArrays:
    """Curves of point ``index`` of a phase-diagram sweep, one row per static group (size).

    Diverged runs are NaN (:func:`simulations.results.mask_diverged`) and counted.
    """
    sizes, computes, losses, p_stars, n_bad = [], [], [], [], 0
    for ds in result.groups:
        n_bad += int(count_diverged(ds)[index])
        ds = mask_diverged(ds)
        d = int(ds.attrs["static.d"])
        batch = int(ds.attrs.get("static.batch", 1))
        steps = ds["checkpoint"].values.astype(np.float64)
        sizes.append(d)
        computes.append(d * batch * steps)
        losses.append(ds["loss"].isel(point=index).values)  # (seed, checkpoint)
        p_stars.append(ds["p_star"].isel(point=index).values)
    n_ck = max(c.size for c in computes)
    compute = np.full((len(sizes), n_ck), np.nan)
    loss = np.full((losses[0].shape[0], len(sizes), n_ck), np.nan)
    for i, (c, l) in enumerate(zip(computes, losses)):
        compute[i, : c.size] = c
        loss[:, i, : c.size] = l
    return PointArrays(np.array(sizes, float), compute, loss, np.stack(p_stars, axis=1), n_bad)


def measure_point(
    result: SweepResult, index: int, *, n_boot: int = 200, seed: int = 0
) -> PointMeasurement:
    """ξ and η (with seed-bootstrap CIs) of point ``index`` of a phase-diagram sweep result.

    The frontier is built on the mean loss over seeds (W draws) and fitted over its interior
    budgets only (where the optimum is bracketed by the size grid). Step 0 (f = 0) is dropped.
    ``P*(d)`` is fitted as a power law over the sizes (bootstrap over seeds).
    """
    sizes, compute, losses, p_star, n_bad = point_arrays(result, index)
    compute = np.where(compute > 0, compute, np.nan)
    xi, eta = fit.bootstrap_frontier(sizes, compute, losses, n_boot=n_boot, seed=seed)
    frontier = fit.compute_optimal_frontier(sizes, compute, fit.reduce_seeds(losses))
    p_fit = fit.bootstrap_power_law(sizes, p_star, n_boot=n_boot, seed=seed)
    alpha = float(result.grid.points["alpha"][index])
    beta = float(result.grid.points["beta"][index])
    return PointMeasurement(
        alpha, beta, xi, eta, frontier, sizes, compute, losses, p_star, p_fit, n_bad
    )


def measure_points(result: SweepResult, *, n_boot: int = 200) -> list[PointMeasurement]:
    """:func:`measure_point` for every point of the sweep, in grid order."""
    return [measure_point(result, i, n_boot=n_boot) for i in range(result.grid.n_points)]


def comparison_rows(measurements: Sequence[PointMeasurement]) -> list[ComparisonRow]:
    """Rows ``xi`` and ``eta`` per point beside ``theory.plrf.compute_optimal_exponents``.

    Parameters ``alpha``, ``beta``; extras ``window`` (the fitted compute range), ``n_budgets``
    (the interior budgets fitted), ``n_diverged`` (runs of the point flagged diverged and left out
    of the fit, 0 included) and, when some were, a ``note`` saying so.
    """
    rows = []
    for m in measurements:
        xi_pred, eta_pred = theory_plrf.compute_optimal_exponents(m.alpha, m.beta)
        phase = theory_plrf.phase(m.alpha, m.beta)
        window = f"{m.xi.window[0]:.3g}-{m.xi.window[1]:.3g}"
        for name, pred, meas in (("xi", xi_pred, m.xi), ("eta", eta_pred, m.eta)):
            rows.append(
                ComparisonRow(
                    params={"alpha": m.alpha, "beta": m.beta},
                    phase=phase,
                    quantity=name,
                    predicted=float(pred),
                    measured=float(meas.exponent),
                    ci_low=float(meas.ci_low),
                    ci_high=float(meas.ci_high),
                    extras={
                        "window": window,
                        "n_budgets": str(meas.n_points),
                        "n_diverged": str(m.n_diverged),
                        "note": diverged_note(m.n_diverged),
                    },
                )
            )
    return rows


def diverged_note(n_diverged: int) -> str:
    """The ``note`` of a row whose fit lost ``n_diverged`` runs ("" when none did)."""
    if n_diverged == 0:
        return ""
    return f"{n_diverged} diverged run(s) left out of the fit"


def p_star_exponents(measurements: Sequence[PointMeasurement]) -> list[PStarExponent]:
    """Measured ``P*(d)`` exponents beside ``theory.plrf.limit_level_exponent``.

    The finite-size drift of the capacity limit explains most of the offsets of η.
    """
    out = []
    for m in measurements:
        pred = theory_plrf.limit_level_exponent(m.alpha, m.beta)
        f = m.p_star_fit
        out.append(
            PStarExponent(m.alpha, m.beta, pred, f.exponent, f.ci_low, f.ci_high, m.n_diverged)
        )
    return out


def summarize_curves(ds: xr.Dataset) -> LossCurves:
    """Reduce :func:`simulations.plrf.experiment.run_curves` output over seeds.

    Diverged runs (NaN, flagged in ``diverged``) are left out of every mean; the standard error
    divides by the number of kept runs. All NaN where every run diverged.
    """
    sgd = ds["loss"].values
    n_ok = int(np.isfinite(sgd).all(axis=1).sum())
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns when every run diverged
        sgd_mean = np.nanmean(sgd, axis=0)
        sgd_se = np.nanstd(sgd, axis=0, ddof=1) / np.sqrt(max(n_ok, 1))
        volterra = np.nanmean(ds["expected_loss"].values, axis=0)
    return LossCurves(
        step=ds["step"].values,
        compute=ds["compute"].values,
        sgd_mean=sgd_mean,
        sgd_se=sgd_se,
        volterra_mean=volterra,
        det_equiv=np.asarray(ds["det_equiv"].values),
        n_finite=n_ok,
        n_seeds=int(sgd.shape[0]),
    )


def format_three_way(rows: Sequence[ComparisonRow], *, note: str = "") -> str:
    """The table per point: asymptotic table | W-free d → ∞ [interval], local value and status |
    realised W at small d [95 % CI] (rows of :func:`simulations.plrf.analysis.trend_rows`)."""
    lines = [f"[{note}]"] if note else []
    head = (
        f"{'(α, β)':<12}{'phase':<6}{'':<4}{'table':>7}  {'W-free d→∞ [interval]':<26}"
        f"{'local @ d*':<18}{'':<5}{'realised W, small d [95% CI]':<30}"
    )
    lines += [head, "-" * len(head)]
    for r in rows:
        sym = "ξ" if r.quantity == "xi" else "η"
        a, b = r.params["alpha"], r.params["beta"]
        wfree = f"{r.measured:.4f} [{r.ci_low:.4f}, {r.ci_high:.4f}]"
        local = f"{r.extras.get('local', '')} @{r.extras.get('at_d_star', '')}"
        status = "conv" if r.extras.get("converged") == "yes" else "MOV"
        inside = r.ci_low <= r.predicted <= r.ci_high
        lines.append(
            f"{f'({a:g}, {b:g})':<12}{r.phase:<6}{sym:<4}{r.predicted:>7.4f}  "
            f"{wfree + ('' if inside else ' *'):<26}{local:<18}{status:<5}"
            f"{r.extras.get('realised', '')}"
        )
    n_inside = sum(r.ci_low <= r.predicted <= r.ci_high for r in rows)
    n_conv = sum(r.extras.get("converged") == "yes" for r in rows)
    lines.append(
        f"{n_inside}/{len(rows)} table values inside the d → ∞ interval (* outside); "
        f"{n_conv}/{len(rows)} local exponents converged (conv; MOV: still moving, see trend)"
    )
    return "\n".join(lines)
