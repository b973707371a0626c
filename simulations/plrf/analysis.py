"""PLRF results -> measurements -> comparison rows (runs nothing).

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
import warnings
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import xarray as xr

from simulations import fit
from simulations.compare import ComparisonRow
from simulations.results import SweepResult, count_diverged, mask_diverged
from theory import plrf as theory_plrf

__all__ = [
    "LossCurves",
    "PStarExponent",
    "PointArrays",
    "PointMeasurement",
    "comparison_rows",
    "diverged_note",
    "measure_point",
    "measure_points",
    "p_star_exponents",
    "point_arrays",
    "summarize_curves",
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
