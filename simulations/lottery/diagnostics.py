"""Statistics of trained lottery-ticket nets: width exponents, floors, mirror pairs, ensembles.

Pure numpy/scipy on arrays (runs nothing): median and quantiles of the test MSE over seeds
(:func:`mse_quantiles`, :func:`median_ci`), width exponents with bootstrap intervals
(:func:`fit_width_exponent`), the exact ReLU floor ratio (:func:`floor_ratios`), mirror pairs
(:func:`mirror_pairs`, :func:`pair_asymmetry`), loss modes of the ``N = 2`` histogram
(:func:`loss_modes`), explicit ensembles of ``K`` independent nets (:func:`ensemble_curve`),
and whether a width exponent has converged in the training budget (:func:`budget_convergence`).
:mod:`simulations.lottery.analysis` applies them to sweep results.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from scipy import stats

from simulations import fit
from simulations.convergence import (
    BudgetConvergence,
    budget_convergence,
    parse_exponent_by_budget,
)
from simulations.lottery.model import ACTIVATIONS
from simulations.lottery.sweeps import WidthTable
from theory import lottery as theory
from theory.checks import check_choice, check_int

__all__ = [
    "FINE_MIRROR_TOL",
    "MIRROR_TOL",
    "BudgetConvergence",
    "EnsembleCurve",
    "LossMode",
    "MirrorPairs",
    "budget_convergence",
    "ensemble_curve",
    "fit_width_exponent",
    "floor_ratios",
    "loss_modes",
    "median_ci",
    "mirror_pairs",
    "mse_quantiles",
    "pair_asymmetry",
    "parse_exponent_by_budget",
    "predict",
    "usable_widths",
    "wilson_ci",
]

MIRROR_TOL = 0.25
"""Largest :func:`pair_asymmetry` of a width-2 net counted as a mirror pair."""

FINE_MIRROR_TOL = 0.02
"""A second mirror-pair tolerance for wide nets: at 0.1 nearly every neuron of a dense N = 1024
net is paired by chance already at initialisation."""


# --- convergence in the training budget ------------------------------------------------------
def mse_quantiles(mse, q: Sequence[float] = (0.1, 0.25, 0.5, 0.75, 0.9)) -> np.ndarray:
    """Quantiles over seeds (axis 0) of ``mse`` ``(n_seeds, ...)``, NaN ignored.

    Returns ``(len(q), ...)`` float64.
    """
    q = np.asarray(q, dtype=np.float64)
    if q.ndim != 1 or np.any((q < 0) | (q > 1)):
        raise ValueError(f"q must be a 1-D sequence of values in [0, 1], got {q!r}")
    return np.nanquantile(np.asarray(mse, dtype=np.float64), q, axis=0)


def fit_width_exponent(
    table: WidthTable, window=None, *, n_boot: int = 2000, seed: int = 0
) -> fit.PowerLawFit:
    """Exponent ``e`` of ``median_seeds(test MSE) ∝ N^(−e)`` with a bootstrap-over-seeds interval.

    Uses :func:`simulations.fit.bootstrap_power_law` (``reducer="median"``, expanded percentile
    interval) over the widths inside ``window`` (inclusive ``(N_min, N_max)``).
    """
    return fit.bootstrap_power_law(
        table.widths.astype(np.float64),
        table.test_mse,
        window=window,
        n_boot=n_boot,
        seed=seed,
        reducer="median",
    )


def usable_widths(table: WidthTable, window=None) -> np.ndarray:
    """``(n_widths,)`` bool: widths inside ``window`` (inclusive, ``None``: all) with at least one
    usable run (finite test MSE > 0; diverged runs are NaN). A width exponent needs two."""
    mse = np.asarray(table.test_mse, dtype=np.float64)
    ok = np.any(np.isfinite(mse) & (mse > 0), axis=0)
    if window is not None:
        ok &= (table.widths >= window[0]) & (table.widths <= window[1])
    return ok


def floor_ratios(table: WidthTable) -> dict[str, np.ndarray]:
    """Test MSE of ReLU nets over :func:`theory.lottery.relu_floor` per width.

    Returns ``{"floor", "best", "median", "below"}``: the exact floor ``(n_widths,)``, the best
    seed's and the median's ratio, and the count of seeds below the floor (should be 0 up to the
    test grid's quadrature error, below 1e−5 relative; :func:`theory.lottery.relu_net_mse` gives
    the exact value from the stored parameters).
    """
    floor = np.array([theory.relu_floor(int(n)) for n in table.widths])
    ratio = table.test_mse / floor
    return {
        "floor": floor,
        "best": np.nanmin(ratio, axis=0),
        "median": np.nanmedian(ratio, axis=0),
        "below": np.sum(ratio < 1.0, axis=0),
    }


def median_ci(values, n_boot: int, seed: int = 0, level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of the median of the finite ``values``.

    :func:`scipy.stats.bootstrap` (``method="percentile"``, ``numpy.random.default_rng(seed)``);
    ``(nan, nan)`` with fewer than two finite values.
    """
    vals = np.asarray(values, dtype=np.float64)
    vals = vals[np.isfinite(vals)]
    if vals.size < 2:
        return math.nan, math.nan
    res = stats.bootstrap(
        (vals,),
        np.median,
        n_resamples=check_int("n_boot", n_boot, 1),
        confidence_level=level,
        method="percentile",
        rng=np.random.default_rng(seed),
    )
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def wilson_ci(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion ``k/n``
    (:meth:`scipy.stats.binomtest(k, n).proportion_ci <scipy.stats.binomtest>`); NaN if n = 0."""
    if n == 0:
        return math.nan, math.nan
    ci = stats.binomtest(int(k), int(n)).proportion_ci(confidence_level=level, method="wilson")
    return float(ci.low), float(ci.high)


# --- nets and mirror pairs ----------------------------------------------------------------------
def predict(w, b, v, c, x, activation: str = "silu") -> np.ndarray:
    """Outputs of nets at ``x`` ``(n_x,)``: ``(..., n_x)``, numpy float64.

    ``w, b, v`` have shape ``(..., N)`` and ``c`` shape ``(...)`` (used for ensembles and plots;
    training runs in JAX).
    """
    act = theory.ACTIVATIONS[check_choice("activation", activation, ACTIVATIONS)]
    w, b, v = (np.asarray(a, dtype=np.float64) for a in (w, b, v))
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(over="ignore"):
        h = act(x[..., :, None] * w[..., None, :] + b[..., None, :])
    return np.einsum("...xn,...n->...x", h, v) + np.asarray(c, dtype=np.float64)[..., None]


class MirrorPairs(NamedTuple):
    """Nearest mirror partner of every neuron.

    Attributes:
        partner: ``(..., N)`` int, the index ``j ≠ i`` minimising
            ``|(w_j, b_j, v_j) − (−w_i, b_i, v_i)|``.
        distance: ``(..., N)`` that Euclidean distance.
        paired: ``(..., N)`` bool, ``distance < tol``.
        fraction: ``(...)`` fraction of paired neurons.
    """

    partner: np.ndarray
    distance: np.ndarray
    paired: np.ndarray
    fraction: np.ndarray


def mirror_pairs(w, b, v, tol: float = 0.1) -> MirrorPairs:
    """Mirror-pair detection (Liu & Tegmark §3: tickets for an even target are ``(w, b, v)`` and
    ``(−w, b, v)``): for each neuron the nearest ``(−w, b, v)`` partner among the others.

    Args:
        w, b, v: ``(..., N)`` with ``N >= 2`` (leading axes: several nets).
        tol: distance below which a neuron counts as paired (0.1 in Liu & Tegmark).

    Returns:
        :class:`MirrorPairs`.
    """
    w, b, v = (np.asarray(a, dtype=np.float64) for a in (w, b, v))
    if w.shape != b.shape or w.shape != v.shape or w.ndim == 0 or w.shape[-1] < 2:
        raise ValueError(f"w, b, v must share a shape (..., N) with N >= 2, got {w.shape}")
    if not (isinstance(tol, (int, float)) and tol > 0):
        raise ValueError(f"tol must be > 0, got {tol!r}")
    pts = np.stack([w, b, v], axis=-1)  # (..., N, 3)
    mirrored = np.stack([-w, b, v], axis=-1)
    d = np.linalg.norm(mirrored[..., :, None, :] - pts[..., None, :, :], axis=-1)
    n = w.shape[-1]
    d[..., np.arange(n), np.arange(n)] = np.inf
    partner = np.argmin(d, axis=-1)
    dist = np.take_along_axis(d, partner[..., None], axis=-1)[..., 0]
    paired = dist < tol
    return MirrorPairs(partner, dist, paired, paired.mean(axis=-1))


def pair_asymmetry(w, b, v) -> np.ndarray:
    """How far width-2 nets are from an exact mirror pair ``(w, b, v), (−w, b, v)``.

    The largest of the relative differences ``|w₁ + w₂|/(|w₁| + |w₂|)``,
    ``|b₁ − b₂|/(|b₁| + |b₂|)``, ``|v₁ − v₂|/(|v₁| + |v₂|)``: 0 for an exact pair, 1 when a
    component has opposite signs. Relative, because trained pairs drift along the valley
    ``w → 0, v → ∞`` (:func:`theory.lottery.mirror_pair_mse`), where absolute distances mislead.

    Args:
        w, b, v: ``(..., 2)``.

    Returns:
        ``(...)`` float64 in ``[0, 1]``.
    """
    w, b, v = (np.asarray(a, dtype=np.float64) for a in (w, b, v))
    if w.shape != b.shape or w.shape != v.shape or w.ndim == 0 or w.shape[-1] != 2:
        raise ValueError(
            f"w, b, v must share a shape (..., 2), got {w.shape}, {b.shape}, {v.shape}"
        )

    def rel(p, q):
        den = np.abs(p) + np.abs(q)
        return np.where(den > 0, np.abs(p - q) / np.where(den > 0, den, 1.0), 0.0)

    return np.maximum.reduce(
        [rel(w[..., 0], -w[..., 1]), rel(b[..., 0], b[..., 1]), rel(v[..., 0], v[..., 1])]
    )


class LossMode(NamedTuple):
    """One mode of a loss histogram (in ``log10`` MSE).

    Attributes:
        center: median ``log10`` MSE of its members.
        low, high: range of its members' ``log10`` MSE.
        count: members.
        members: indices into the input array.
    """

    center: float
    low: float
    high: float
    count: int
    members: np.ndarray


def loss_modes(mse, gap: float = 0.5, min_fraction: float = 0.02) -> list[LossMode]:
    """Split a sample of losses into modes separated by empty gaps in ``log10`` MSE.

    Sorted ``log10`` values are cut wherever two neighbours differ by more than ``gap`` decades;
    clusters holding less than ``min_fraction`` of the finite values are merged into their nearer
    neighbour (isolated outliers are not modes).

    Args:
        mse: ``(n,)`` losses (NaN/inf and non-positive values are ignored).
        gap: minimal empty gap between two modes, in decades.
        min_fraction: smallest mode, as a fraction of the finite values.

    Returns:
        Modes sorted by ``center`` (lowest loss first).
    """
    mse = np.asarray(mse, dtype=np.float64).ravel()
    if not (gap > 0 and 0 <= min_fraction < 1):
        raise ValueError(f"gap must be > 0 and min_fraction in [0, 1), got {gap}, {min_fraction}")
    idx = np.flatnonzero(np.isfinite(mse) & (mse > 0))
    if idx.size == 0:
        return []
    logs = np.log10(mse[idx])
    order = np.argsort(logs)
    ls = logs[order]
    cuts = np.flatnonzero(np.diff(ls) > gap) + 1
    clusters = [list(c) for c in np.split(np.arange(ls.size), cuts)]
    min_count = max(1, math.ceil(min_fraction * ls.size))
    while len(clusters) > 1:
        small = [i for i, c in enumerate(clusters) if len(c) < min_count]
        if not small:
            break
        i = min(small, key=lambda k: len(clusters[k]))
        if i == 0:
            j = 1
        elif i == len(clusters) - 1:
            j = i - 1
        else:
            left_gap = ls[clusters[i][0]] - ls[clusters[i - 1][-1]]
            right_gap = ls[clusters[i + 1][0]] - ls[clusters[i][-1]]
            j = i - 1 if left_gap <= right_gap else i + 1
        lo, hi = sorted((i, j))
        clusters[lo] = clusters[lo] + clusters[hi]
        del clusters[hi]
    modes = []
    for c in clusters:
        vals = ls[c]
        modes.append(
            LossMode(
                center=float(np.median(vals)),
                low=float(vals.min()),
                high=float(vals.max()),
                count=len(c),
                members=np.sort(idx[order[c]]),
            )
        )
    return modes


# --- explicit ensembles -------------------------------------------------------------------------
class EnsembleCurve(NamedTuple):
    """Error of explicit ensembles of ``K`` independently trained nets.

    Attributes:
        ks: ``(n_k,)`` ensemble sizes.
        mse: ``(n_k,)`` mean over ensembles of the ensemble average's MSE, measured on the
            held-out half of the nets (random partitions into disjoint groups of ``K``).
        mse_ci: ``(2, n_k)`` 95 % bootstrap interval of ``mse`` (nets of the held-out half
            resampled).
        bias_sq, variance: ``E_x (f̄ − y)²`` and ``E_x Var f`` estimated (unbiased) on the other
            half of the nets.
        predicted: ``(n_k,)`` :func:`theory.lottery.ensemble_mse` ``= bias_sq + variance/K``.
        predicted_ci: ``(2, n_k)`` its bootstrap interval (estimation half resampled).
        n_nets: nets per half.
    """

    ks: np.ndarray
    mse: np.ndarray
    mse_ci: np.ndarray
    bias_sq: float
    variance: float
    predicted: np.ndarray
    predicted_ci: np.ndarray
    n_nets: int


def _bias_variance(pred: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    m = pred.shape[0]
    var = float(np.mean(np.var(pred, axis=0, ddof=1)))
    bias_sq = float(np.mean((pred.mean(axis=0) - y) ** 2)) - var / m
    return max(bias_sq, 0.0), var


def _ensemble_mse(held: np.ndarray, y: np.ndarray, k: int, rng, n_partitions: int) -> float:
    n = held.shape[0]
    total = 0.0
    for _ in range(n_partitions):
        groups = rng.permutation(n)[: (n // k) * k].reshape(-1, k)
        total += float(np.mean((held[groups].mean(axis=1) - y) ** 2))
    return total / n_partitions


def ensemble_curve(
    pred, y, ks: Sequence[int], *, n_partitions: int = 20, n_boot: int = 200, seed: int = 0
) -> EnsembleCurve:
    """Explicit ensembles: average ``K`` nets' outputs, measure the MSE, compare with
    ``bias² + variance/K`` (:func:`theory.lottery.ensemble_mse`).

    The nets are split at random into two halves: the bias and variance are estimated on one and
    the ensembles are drawn from the other, so the prediction is tested on nets it was not
    estimated from (within one set of nets, ``bias² + variance/K`` holds identically).

    Args:
        pred: ``(n_nets, n_x)`` outputs of independently trained nets on a uniform grid.
        y: ``(n_x,)`` target on that grid.
        ks: ensemble sizes (each ``<= n_nets // 2``).
        n_partitions: random partitions averaged per ``K``.
        n_boot: bootstrap replicates of the intervals.
        seed: seed of the split, partitions and bootstrap.

    Returns:
        :class:`EnsembleCurve`.
    """
    pred = np.asarray(pred, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if pred.ndim != 2 or y.shape != pred.shape[1:]:
        raise ValueError(f"pred must be (n_nets, n_x) and y (n_x,), got {pred.shape}, {y.shape}")
    pred = pred[np.all(np.isfinite(pred), axis=1)]
    half = pred.shape[0] // 2
    ks = np.asarray([check_int("k", k, 1) for k in ks])
    if half < 2 or ks.size == 0 or np.any(ks > half):
        raise ValueError(f"ks must be in [1, n_nets // 2 = {half}], got {ks.tolist()}")
    check_int("n_partitions", n_partitions, 1)
    check_int("n_boot", n_boot, 1)
    rng = np.random.default_rng(seed)
    perm = rng.permutation(pred.shape[0])
    est, held = pred[perm[:half]], pred[perm[half : 2 * half]]
    bias_sq, variance = _bias_variance(est, y)
    mse = np.array([_ensemble_mse(held, y, int(k), rng, n_partitions) for k in ks])
    boot_mse = np.empty((n_boot, ks.size))
    boot_pred = np.empty((n_boot, ks.size))
    for i in range(n_boot):
        held_b = held[rng.integers(0, half, half)]
        boot_mse[i] = [_ensemble_mse(held_b, y, int(k), rng, 1) for k in ks]
        b_sq, var = _bias_variance(est[rng.integers(0, half, half)], y)
        boot_pred[i] = b_sq + var / ks
    predicted = theory.ensemble_mse(ks, bias_sq, variance)
    return EnsembleCurve(
        ks=ks,
        mse=mse,
        mse_ci=np.quantile(boot_mse, [0.025, 0.975], axis=0),
        bias_sq=bias_sq,
        variance=variance,
        predicted=np.atleast_1d(predicted),
        predicted_ci=np.quantile(boot_pred, [0.025, 0.975], axis=0),
        n_nets=half,
    )
