"""Compute-optimal frontiers: the IsoFLOP envelope of training curves and its exponents.

:func:`compute_optimal_frontier`, :func:`fit_frontier`, :func:`bootstrap_frontier`: the envelope
``P*(f) = min_d P(f, d)`` (Hoffmann et al. 2022, arXiv 2203.15556, approach 1) with its argmin
``d*(f)`` refined by a parabola in ``log d`` as in their IsoFLOP profiles (approach 2); the
exponents ``d* ∝ f^ξ`` (growth convention) and ``P* ∝ f^(−η)`` are those of Paquette et al. 2024
(arXiv 2405.15074) for PLRF.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from dataclasses import replace as _replace

import numpy as np

from simulations.powerlaw import PowerLawFit, fit_power_law
from simulations.regression import (
    as_float_array,
    check_ci,
    check_n_boot,
    check_positive_finite,
    check_reducer,
    ci_method_tag,
    effective_window,
    in_window,
    parse_window,
    percentile_ci,
    reduce_axis,
    replace_ci,
    t_halfwidth,
    usable,
    wls_batch,
)
from simulations.regression import format_number as _g

__all__ = [
    "FixedGridInterpolator",
    "Frontier",
    "bootstrap_frontier",
    "compute_optimal_frontier",
    "fit_frontier",
    "interpolate_envelope",
]


@dataclass(frozen=True, eq=False)
class Frontier:
    """Compute-optimal frontier from IsoFLOP data (see :func:`compute_optimal_frontier`).

    Attributes (``n_b`` budgets, ``n_s`` sizes; float64 unless stated):
        budgets: ``(n_b,)`` compute budgets ``f``.
        optimal_size: ``(n_b,)`` ``d*(f)``, refined off the size grid where ``interior``.
        optimal_loss: ``(n_b,)`` ``P*(f)``.
        interior: ``(n_b,)`` bool: the discrete minimum has available neighbours on both sides
            in the size grid. Only interior budgets are valid for exponent fits.
        grid_index: ``(n_b,)`` int: index into ``sizes`` of the discrete minimum (−1: no data).
        n_available: ``(n_b,)`` int: sizes with data at each budget.
        sizes: ``(n_s,)`` sizes, sorted increasingly.
        loss_at_budget: ``(n_s, n_b)`` each size's loss interpolated (log-log) at each budget,
            NaN where the budget is outside that size's compute range (the IsoFLOP slices).
    """

    budgets: np.ndarray
    optimal_size: np.ndarray
    optimal_loss: np.ndarray
    interior: np.ndarray
    grid_index: np.ndarray
    n_available: np.ndarray
    sizes: np.ndarray
    loss_at_budget: np.ndarray

    def __repr__(self) -> str:
        b = self.budgets
        return (
            f"Frontier(n_budgets={b.size}, n_interior={int(self.interior.sum())},"
            f" budgets=[{_g(b.min())}, {_g(b.max())}], n_sizes={self.sizes.size},"
            f" sizes=[{_g(self.sizes[0])}, {_g(self.sizes[-1])}])"
        )


def _prepare_frontier_inputs(sizes, compute, loss_shape_tail):
    sizes = as_float_array("sizes", sizes, 1)
    check_positive_finite("sizes", sizes)
    if np.unique(sizes).size != sizes.size:
        raise ValueError("sizes must be distinct")
    compute = as_float_array("compute", compute, (1, 2))
    if compute.ndim == 1:
        compute = np.broadcast_to(compute, (sizes.size, compute.size))
    if compute.shape != (sizes.size, *loss_shape_tail):
        raise ValueError(
            f"compute must have shape (n_sizes, n_checkpoints) = {(sizes.size, *loss_shape_tail)}"
            f" (or (n_checkpoints,)), got {compute.shape}"
        )
    order = np.argsort(sizes)
    return sizes[order], compute[order], order


def _curves(compute: np.ndarray, loss: np.ndarray):
    """Per size: increasing log compute and matching log loss of the usable points."""
    out = []
    for c, l in zip(compute, loss, strict=True):
        ok = np.isfinite(c) & (c > 0) & np.isfinite(l) & (l > 0)
        lc, ll = np.log(c[ok]), np.log(l[ok])
        if lc.size and np.any(np.diff(np.sort(lc)) == 0):
            # repeated compute values: average their log losses so interpolation is defined
            lc, inv = np.unique(lc, return_inverse=True)
            ll = np.bincount(inv, weights=ll) / np.bincount(inv)
        else:
            o = np.argsort(lc)
            lc, ll = lc[o], ll[o]
        out.append((lc, ll))
    return out


def _default_budgets(curves, log_sizes: np.ndarray, n_budgets: int) -> np.ndarray:
    """Log-spaced budgets over the range where the minimum is bracketed by sizes with data.

    First the range covered by >= 3 sizes, then, on a fine grid over it, the first and last
    budget whose discrete minimum has neighbours with data on both sides; if there is none, the
    coverage range itself (every budget then comes out non-interior).
    """
    lo, hi = _coverage_range(curves)
    fine = np.linspace(lo, hi, max(400, 10 * n_budgets))
    interior = _frontier_core(log_sizes, curves, fine)[2]
    if interior.any():
        lo, hi = fine[interior][0], fine[interior][-1]
    return np.exp(np.linspace(lo, hi, n_budgets))


def _coverage_range(curves) -> tuple[float, float]:
    ranges = np.array([(lc[0], lc[-1]) if lc.size >= 2 else (np.nan, np.nan) for lc, _ in curves])
    cand = ranges[np.isfinite(ranges)]
    counts = np.array([((ranges[:, 0] <= f) & (ranges[:, 1] >= f)).sum() for f in cand], dtype=int)
    good = cand[counts >= 3]
    if good.size == 0:
        raise ValueError(
            "need a compute budget covered by at least 3 sizes (each with >= 2 usable points)"
        )
    return float(good.min()), float(good.max())


def _interp_curves(curves, log_budgets: np.ndarray) -> np.ndarray:
    """``(n_s, n_b)`` log loss of each size at each budget (NaN outside its compute range)."""
    LB = np.full((len(curves), log_budgets.size), np.nan)
    for i, (lc, ll) in enumerate(curves):
        if lc.size >= 2:
            LB[i] = np.interp(log_budgets, lc, ll, left=np.nan, right=np.nan)
    return LB


def interpolate_envelope(compute, loss, log_budgets) -> np.ndarray:
    """Each curve's loss at ``log_budgets`` (log-log linear interpolation; NaN outside a curve).

    The plain path that :class:`FixedGridInterpolator` accelerates for bootstrap replicates.
    """
    return _interp_curves(_curves(np.asarray(compute), np.asarray(loss)), np.asarray(log_budgets))


class FixedGridInterpolator:
    """:func:`_interp_curves` for many loss arrays on one compute grid (bootstrap replicates).

    The bracketing checkpoints and weights of every (size, budget) pair are computed once; a loss
    array is then interpolated by one gather. When a loss array has a missing value at a usable
    compute point (the slow path bridges such gaps), or a size has repeated compute values,
    ``__call__`` falls back to the general path so both give identical results.
    """

    def __init__(self, compute: np.ndarray, log_budgets: np.ndarray):
        n_s, n_c = compute.shape
        with np.errstate(invalid="ignore", divide="ignore"):
            self.valid_c = np.isfinite(compute) & (compute > 0)
        self.compute = compute
        self.log_budgets = log_budgets
        n_b = log_budgets.size
        self.i0 = np.zeros((n_s, n_b), dtype=np.intp)
        self.i1 = np.zeros((n_s, n_b), dtype=np.intp)
        self.w = np.zeros((n_s, n_b))
        self.inside = np.zeros((n_s, n_b), dtype=bool)
        self.exact = True
        for i in range(n_s):
            pos = np.flatnonzero(self.valid_c[i])
            if pos.size < 2:
                continue
            lc = np.log(compute[i, pos])
            o = np.argsort(lc)
            pos, lc = pos[o], lc[o]
            if np.any(np.diff(lc) == 0):
                self.exact = False
                continue
            j = np.clip(np.searchsorted(lc, log_budgets, side="right") - 1, 0, lc.size - 2)
            self.w[i] = (log_budgets - lc[j]) / (lc[j + 1] - lc[j])
            self.i0[i] = i * n_c + pos[j]
            self.i1[i] = i * n_c + pos[j + 1]
            self.inside[i] = (log_budgets >= lc[0]) & (log_budgets <= lc[-1])

    def __call__(self, loss: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            ll = np.log(np.where(loss > 0, loss, np.nan))
        if not self.exact or np.isnan(ll[self.valid_c]).any():
            return _interp_curves(_curves(self.compute, loss), self.log_budgets)
        flat = ll.ravel()
        LB = (1.0 - self.w) * flat[self.i0] + self.w * flat[self.i1]
        return np.where(self.inside, LB, np.nan)


def _frontier_core(log_sizes, curves, log_budgets):
    return _frontier_from_table(log_sizes, _interp_curves(curves, log_budgets))


def _frontier_from_table(log_sizes: np.ndarray, LB: np.ndarray):
    n_s, n_b = LB.shape
    avail = ~np.isnan(LB)
    n_avail = avail.sum(axis=0)
    has = n_avail > 0
    gi = np.where(has, np.argmin(np.where(avail, LB, np.inf), axis=0), -1)
    cols = np.arange(n_b)
    gic = np.clip(gi, 0, n_s - 1)
    lower = np.clip(gic - 1, 0, n_s - 1)
    upper = np.clip(gic + 1, 0, n_s - 1)
    interior = has & (gi > 0) & (gi < n_s - 1) & avail[lower, cols] & avail[upper, cols]
    u0, u1, u2 = log_sizes[lower], log_sizes[gic], log_sizes[upper]
    g0, g1, g2 = LB[lower, cols], LB[gic, cols], LB[upper, cols]
    with np.errstate(invalid="ignore", divide="ignore"):
        # Newton divided differences of the parabola through the three nearest sizes
        d1 = (g1 - g0) / (u1 - u0)
        d2 = (g2 - g1) / (u2 - u1)
        c2 = (d2 - d1) / (u2 - u0)
        u_star = 0.5 * (u0 + u1) - d1 / (2.0 * c2)
        g_star = g0 + d1 * (u_star - u0) + c2 * (u_star - u0) * (u_star - u1)
    refine = interior & (c2 > 0) & np.isfinite(u_star)
    u_star = np.where(refine, np.clip(u_star, u0, u2), u1)
    g_star = np.where(refine, np.minimum(g_star, g1), g1)
    opt_size = np.where(has, np.exp(u_star), np.nan)
    opt_loss = np.where(has, np.exp(g_star), np.nan)
    return opt_size, opt_loss, interior, gi, n_avail, LB


def compute_optimal_frontier(
    sizes, compute, loss, *, budgets=None, n_budgets: int = 40
) -> Frontier:
    """Compute-optimal frontier ``P*(f) = min_d P(f, d)`` from loss-vs-compute curves.

    For each budget ``f``, each size's loss is interpolated at ``f`` linearly in
    ``(log compute, log loss)`` (no extrapolation beyond a size's compute range), the minimum over
    sizes is taken, and the argmin is refined by the vertex of the parabola through
    ``(log d, log P)`` of the discrete minimum and its two neighbours, so ``d*(f)`` moves
    continuously instead of jumping between grid sizes. The vertex error is
    ``≤ |g'''/g''|·h²/6`` for grid spacing ``h`` in ``log d`` and ``g(log d) = log P``.
    A budget is ``interior`` only if both neighbours of the discrete minimum have data there;
    at the edges of the size grid (or next to a size without data at ``f``) the true optimum may
    lie outside the grid, so such budgets must be left out of exponent fits (:func:`fit_frontier`
    does). This is the envelope of training curves of Hoffmann et al. 2022 (approach 1) with the
    parabola refinement of their IsoFLOP profiles (approach 2), as used to measure the
    compute-optimal exponents of Paquette et al. 2024 (arXiv 2405.15074).

    Args:
        sizes: ``(n_sizes,)`` distinct positive model sizes (any order; sorted on output).
        compute: ``(n_sizes, n_checkpoints)`` compute at each checkpoint of each size (grids may
            differ per size; NaN pads), or ``(n_checkpoints,)`` shared by all sizes.
        loss: ``(n_sizes, n_checkpoints)`` loss at those checkpoints (NaN/inf/<=0: missing).
        budgets: explicit budgets (1-D, > 0). Default: ``n_budgets`` log-spaced budgets over
            the range where the minimum over sizes is bracketed, i.e. the discrete argmin and its
            two neighbours in the size grid have data (so at least 3 sizes); found on a fine grid
            over the range covered by at least 3 sizes (which is used if nothing is bracketed).
        n_budgets: number of default budgets (>= 2).

    Returns:
        :class:`Frontier`.
    """
    loss = as_float_array("loss", loss, 2)
    sizes, compute, order = _prepare_frontier_inputs(sizes, compute, loss.shape[1:])
    if loss.shape[0] != sizes.size:
        raise ValueError(f"loss must have shape ({sizes.size}, n_checkpoints), got {loss.shape}")
    loss = loss[order]
    curves = _curves(compute, loss)
    if budgets is None:
        if int(n_budgets) != n_budgets or n_budgets < 2:
            raise ValueError(f"n_budgets must be an integer >= 2, got {n_budgets!r}")
        budgets = _default_budgets(curves, np.log(sizes), int(n_budgets))
    else:
        budgets = as_float_array("budgets", budgets, 1)
        check_positive_finite("budgets", budgets)
    opt_size, opt_loss, interior, gi, n_avail, LB = _frontier_core(
        np.log(sizes), curves, np.log(budgets)
    )
    return Frontier(
        budgets=budgets,
        optimal_size=opt_size,
        optimal_loss=opt_loss,
        interior=interior,
        grid_index=gi,
        n_available=n_avail,
        sizes=sizes,
        loss_at_budget=np.exp(LB),
    )


def _frontier_mask(frontier: Frontier, win) -> tuple[np.ndarray, int]:
    inwin = in_window(frontier.budgets, win)
    usable = (
        frontier.interior
        & np.isfinite(frontier.optimal_size)
        & np.isfinite(frontier.optimal_loss)
        & (frontier.optimal_loss > 0)
    )
    return inwin & usable, int((inwin & ~usable).sum())


def fit_frontier(
    frontier: Frontier, *, window=None, ci: float = 0.95
) -> tuple[PowerLawFit, PowerLawFit]:
    """Exponents of the compute-optimal frontier over its interior budgets.

    Sign conventions (stated explicitly because they differ):

    * ``size_fit.exponent = ξ`` with ``d*(f) ∝ f^(+ξ)``: **positive when the optimal size grows
      with compute** (``size_fit.convention == "growth"``, ``predict`` honours it);
    * ``loss_fit.exponent = η`` with ``P*(f) ∝ f^(−η)``: positive when the optimal loss falls
      (the library's usual decay convention).

    Only budgets flagged ``interior`` (and inside the inclusive ``window`` on budgets) enter; the
    others in the window are counted in ``n_dropped``. Intervals are regression t-intervals, which
    understate the uncertainty of a deterministic envelope; use :func:`bootstrap_frontier`.

    Args:
        frontier: output of :func:`compute_optimal_frontier`.
        window: inclusive ``(f_min, f_max)`` on budgets.
        ci: interval level.

    Returns:
        ``(size_fit, loss_fit)``, two :class:`PowerLawFit`.

    Raises:
        ValueError: fewer than 2 interior budgets in the window.
    """
    ci = check_ci(ci)
    win = parse_window(window)
    mask, n_dropped = _frontier_mask(frontier, win)
    if mask.sum() < 2:
        raise ValueError(
            f"need at least 2 interior budgets in window {window!r}, got {int(mask.sum())}"
        )
    f = frontier.budgets[mask]
    loss_fit = fit_power_law(f, frontier.optimal_loss[mask], ci=ci)
    slope, intercept, se, r2, n = wls_batch(
        np.log(f), np.log(frontier.optimal_size[mask]), np.ones(f.size)
    )
    xi = float(slope)
    half = t_halfwidth(float(se), int(n) - 2, ci)
    eff = effective_window(win, f)
    size_fit = PowerLawFit(
        exponent=xi,
        prefactor=math.exp(float(intercept)),
        ci_low=xi - half,
        ci_high=xi + half,
        r2=float(r2),
        window=eff,
        n_points=int(n),
        n_boot=0,
        method="frontier-ols",
        n_dropped=n_dropped,
        ci_level=ci,
        convention="growth",
    )
    loss_fit = _replace(loss_fit, window=eff, n_dropped=n_dropped, method="frontier-ols")
    return size_fit, loss_fit


def bootstrap_frontier(
    sizes,
    compute,
    losses,
    *,
    n_boot: int = 200,
    seed: int = 0,
    window=None,
    ci: float = 0.95,
    budgets=None,
    n_budgets: int = 40,
    reducer: str = "mean",
    expand: bool = True,
) -> tuple[PowerLawFit, PowerLawFit]:
    """Frontier exponents ``ξ`` (growth) and ``η`` (decay) with seed-bootstrap intervals.

    The point estimate is :func:`fit_frontier` of :func:`compute_optimal_frontier` applied to the
    ``reducer`` over seeds of ``losses`` (bad values excluded per point, see
    :func:`reduce_seeds`). Each replicate resamples seed indices with replacement (jointly for
    all sizes, since seed ``s`` of every size shares its randomness in a sweep), reduces,
    recomputes the frontier at the point estimate's budgets and refits over that replicate's
    interior budgets. Intervals are percentiles of the replicate exponents; replicates with fewer
    than 2 interior budgets are skipped (reported in ``method``). Seeds without a single usable
    value are excluded (``n_excluded_seeds``).

    Args:
        sizes: ``(n_sizes,)``. compute: ``(n_sizes, n_checkpoints)`` or ``(n_checkpoints,)``.
        losses: ``(n_seeds, n_sizes, n_checkpoints)``.
        n_boot, seed, window, ci, reducer, expand: as in :func:`bootstrap_power_law`
            (``window`` applies to budgets); budgets, n_budgets: as in
            :func:`compute_optimal_frontier`.

    Returns:
        ``(size_fit, loss_fit)`` with the sign conventions of :func:`fit_frontier`.
    """
    ci = check_ci(ci)
    n_boot = check_n_boot(n_boot)
    check_reducer(reducer)
    losses = as_float_array("losses", losses, 3)
    sizes_sorted, compute_sorted, order = _prepare_frontier_inputs(sizes, compute, losses.shape[2:])
    if losses.shape[1] != sizes_sorted.size:
        raise ValueError(
            f"losses must have shape (n_seeds, {sizes_sorted.size}, n_checkpoints), got "
            f"{losses.shape}"
        )
    lu = usable(losses[:, order])
    alive = (~np.isnan(lu)).reshape(lu.shape[0], -1).any(axis=1)
    n_excluded = int((~alive).sum())
    lu = lu[alive]
    if lu.shape[0] == 0:
        raise ValueError("every seed of losses is non-finite or non-positive")
    win = parse_window(window)
    front = compute_optimal_frontier(
        sizes_sorted,
        compute_sorted,
        reduce_axis(lu, reducer, axis=0),
        budgets=budgets,
        n_budgets=n_budgets,
    )
    size_fit, loss_fit = fit_frontier(front, window=window, ci=ci)
    n_s = lu.shape[0]
    if n_s < 2:
        warnings.warn("bootstrap_frontier: only one usable seed, no bootstrap", stacklevel=2)
        return (
            _replace(size_fit, n_excluded_seeds=n_excluded),
            _replace(loss_fit, n_excluded_seeds=n_excluded),
        )
    rng = np.random.default_rng(seed)
    log_sizes, log_b = np.log(sizes_sorted), np.log(front.budgets)
    interp = FixedGridInterpolator(compute_sorted, log_b)
    inwin = in_window(front.budgets, win)
    log_opt = np.full((n_boot, 2, log_b.size), np.nan)  # [replicate, (size, loss), budget]
    weight = np.zeros((n_boot, 1, log_b.size))
    for r in range(n_boot):
        red = reduce_axis(lu[rng.integers(0, n_s, size=n_s)], reducer, axis=0)
        osz, olo, interior, _, _, _ = _frontier_from_table(log_sizes, interp(red))
        m = interior & inwin & np.isfinite(osz) & np.isfinite(olo) & (olo > 0)
        if m.sum() < 2:
            continue
        weight[r, 0] = m
        log_opt[r, 0, m] = np.log(osz[m])
        log_opt[r, 1, m] = np.log(olo[m])
    with np.errstate(invalid="ignore", divide="ignore"):
        slopes = wls_batch(log_b, log_opt, weight)[0]
    xis, etas = slopes[:, 0], -slopes[:, 1]
    n_ok = int(np.isfinite(xis).sum())
    method = f"frontier-bootstrap-seeds({reducer}){ci_method_tag(expand)}"
    if n_ok < n_boot:
        method += f", {n_boot - n_ok} replicates skipped"
    out = []
    for fit, samples in ((size_fit, xis), (loss_fit, etas)):
        lo, hi = percentile_ci(samples, ci, n_s if expand else None)
        out.append(replace_ci(fit, lo, hi, n_boot, method, n_excluded))
    return out[0], out[1]
