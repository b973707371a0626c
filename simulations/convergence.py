"""Is an exponent still moving? Local exponents over sliding windows, and their limit.

A power law measured over a finite range is a *local* exponent: when corrections to scaling
(``1/d`` terms, a crossover between two balances, a budget that is not yet converged) are still
alive, the slope depends on where it is measured. This module makes that visible instead of
hiding it in one number:

* :func:`local_slopes`: the log-log slope of ``y`` against ``x`` over sliding windows of a
  *scale* variable (e.g. the compute-optimal size ``d*``, a model width, a training budget),
  each window ``width`` octaves wide, moved by ``step`` octaves;
* :func:`extrapolate`: the limit of a sequence of local exponents as the scale grows, from the
  correction-to-scaling form ``e(s) = e∞ + a·s^(−ω)`` (variable projection: for each ``ω`` on a
  grid the linear least-squares ``(e∞, a)``, the best ``ω`` refined), fitted on the last
  windows; its interval spans the extrapolations of neighbouring fit ranges *and* the last
  measured value (for a monotone approach the limit lies beyond it), widened by twice the fit's
  residual scatter. ``converged`` says whether the local exponent moved by less than ``tol``
  over the last ``span`` octaves. An exponent that is not converged is reported as such, with
  its trend, never as the law.

For trained models (superposition, lottery) the scale is the training budget and each budget
is its own run: :func:`budget_convergence` says whether an exponent measured with intervals at a
ladder of budgets has stopped moving (:class:`BudgetConvergence`).

Pure numpy/scipy, float64; used by the PLRF phase diagram (local ξ, η against ``d*``) and by the
budget-convergence measurements of the trained models.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from simulations.regression import as_float_array, check_positive_finite

__all__ = [
    "BudgetConvergence",
    "Extrapolation",
    "LocalSlopes",
    "budget_convergence",
    "extrapolate",
    "local_slopes",
    "parse_exponent_by_budget",
]

#: Bounds of the correction exponent ω. Below 0.1 a correction is indistinguishable from an
#: offset over any reachable range (the remaining correction beyond the data would exceed 3× the
#: drift seen over the last 4 octaves), so such a fit is not an extrapolation.
OMEGA_RANGE = (0.1, 4.0)


@dataclass(frozen=True)
class LocalSlopes:
    """Log-log slopes of ``y`` against ``x`` over sliding windows of a scale variable.

    Attributes (``n`` windows, float64):
        lo, hi: window ends on the scale (inclusive).
        centre: geometric centre of the points used in each window (on the scale).
        slope: OLS slope of ``log y`` on ``log x`` in the window (NaN if too few points).
        n_points: points in each window.
    """

    lo: np.ndarray
    hi: np.ndarray
    centre: np.ndarray
    slope: np.ndarray
    n_points: np.ndarray

    def __len__(self) -> int:
        return int(self.slope.size)

    def trend(self, fmt: str = "{:.3f}") -> str:
        """``"0.601 @2^8 → 0.571 @2^22"``: first and last finite local values with their centres."""
        ok = np.flatnonzero(np.isfinite(self.slope))
        if ok.size == 0:
            return ""
        first, last = ok[0], ok[-1]
        return (
            f"{fmt.format(self.slope[first])} @2^{math.log2(self.centre[first]):.0f} → "
            f"{fmt.format(self.slope[last])} @2^{math.log2(self.centre[last]):.0f}"
        )


def local_slopes(
    x, y, scale=None, *, width: float = 4.0, step: float = 1.0, min_points: int = 4
) -> LocalSlopes:
    """Local log-log slopes ``d log y / d log x`` over sliding windows of ``scale``.

    Windows are ``[2^k, 2^(k + width)]`` on ``scale`` (default: ``x`` itself) for ``k`` the
    multiples of ``step`` from ``log2(min scale)`` on, while the window fits inside the data;
    each slope is the ordinary least-squares slope of ``log y`` on ``log x`` of the points whose
    scale falls in the window. Points with a non-positive or non-finite ``x``, ``y`` or scale
    are ignored.

    Args:
        x, y: 1-D arrays of the same length (e.g. compute budgets and compute-optimal sizes).
        scale: 1-D array of the same length that places the windows (e.g. ``d*``).
        width, step: window width and step in octaves (``width > 0``, ``0 < step``).
        min_points: windows with fewer points get a NaN slope (``>= 2``).

    Returns:
        :class:`LocalSlopes` (possibly empty when the data span less than one window).
    """
    x = as_float_array("x", x, 1)
    y = as_float_array("y", y, 1)
    s = x if scale is None else as_float_array("scale", scale, 1)
    if not x.size == y.size == s.size:
        raise ValueError(
            f"x, y and scale must have the same length, got {x.size}, {y.size}, {s.size}"
        )
    for name, value, low in (("width", width, 0.0), ("step", step, 0.0)):
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value > low):
            raise ValueError(f"{name} must be a finite number of octaves > 0, got {value!r}")
    if int(min_points) != min_points or min_points < 2:
        raise ValueError(f"min_points must be an integer >= 2, got {min_points!r}")
    ok = np.isfinite(x) & np.isfinite(y) & np.isfinite(s) & (x > 0) & (y > 0) & (s > 0)
    lx, ly, ls = np.log(x[ok]), np.log(y[ok]), np.log2(s[ok])
    empty = np.zeros(0)
    if ls.size == 0 or ls.max() - ls.min() < width * (1 - 1e-9):
        return LocalSlopes(empty, empty, empty, empty, np.zeros(0, dtype=int))
    # Windows start on multiples of ``step`` (aligned across data sets, so two measurements of
    # the same quantity have the same windows).
    first = math.ceil(ls.min() / step - 1e-9) * step
    starts = np.arange(first, ls.max() - width + 1e-9, step)
    if starts.size == 0:
        return LocalSlopes(empty, empty, empty, empty, np.zeros(0, dtype=int))
    lo, hi, centre, slope, count = [], [], [], [], []
    for k in starts:
        inside = (ls >= k - 1e-12) & (ls <= k + width + 1e-12)
        n = int(inside.sum())
        if n >= min_points and np.ptp(lx[inside]) > 0:
            slope.append(float(np.polyfit(lx[inside], ly[inside], 1)[0]))
            centre.append(2.0 ** float(ls[inside].mean()))
        else:
            slope.append(math.nan)
            centre.append(2.0 ** (k + 0.5 * width))
        lo.append(2.0**k)
        hi.append(2.0 ** (k + width))
        count.append(n)
    return LocalSlopes(
        np.array(lo), np.array(hi), np.array(centre), np.array(slope), np.array(count, dtype=int)
    )


@dataclass(frozen=True)
class Extrapolation:
    """The large-scale limit of a sequence of local exponents (see :func:`extrapolate`).

    Attributes:
        value: the extrapolated limit (the last local value when no fit was possible).
        ci_low, ci_high: its interval: the span of the extrapolations over neighbouring fit
            ranges and the last local value, widened by twice the fit's residual scatter.
        last: the local exponent of the largest window; last_scale: that window's centre.
        drift: ``last`` minus the local exponent ``span`` octaves earlier (NaN if the data span
            less); how much the exponent still moves.
        converged: ``|drift| <= tol``.
        omega: the fitted correction exponent ``ω`` (NaN when no fit).
        n_windows: windows fitted (0: no fit).
        method: how ``value`` was obtained, in words.
    """

    value: float
    ci_low: float
    ci_high: float
    last: float
    last_scale: float
    drift: float
    converged: bool
    omega: float
    n_windows: int
    method: str

    def status(self, span: float = 4.0) -> str:
        """``"converged"`` or ``"not converged (moved +0.023 over the last 4 octaves)"``."""
        if self.converged:
            return "converged"
        if not math.isfinite(self.drift):
            return "not converged (too few windows to tell)"
        return f"not converged (moved {self.drift:+.3f} over the last {span:g} octaves)"


def _correction_fit(u: np.ndarray, e: np.ndarray) -> tuple[float, float, float]:
    """``e ≈ e∞ + a·2^(−ω u)``: ``(e∞, ω, rms residual)`` by variable projection over ω."""

    def solve(omega: float) -> tuple[np.ndarray, float]:
        basis = np.column_stack([np.ones_like(u), 2.0 ** (-omega * (u - u[-1]))])
        coef, *_ = np.linalg.lstsq(basis, e, rcond=None)
        return coef, float(np.sum((basis @ coef - e) ** 2))

    grid = np.geomspace(*OMEGA_RANGE, 60)
    costs = [solve(w)[1] for w in grid]
    i = int(np.argmin(costs))
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, grid.size - 1)]
    if hi > lo:
        res = optimize.minimize_scalar(lambda w: solve(w)[1], bounds=(lo, hi), method="bounded")
        omega = float(res.x) if res.fun <= costs[i] else float(grid[i])
    else:
        omega = float(grid[i])
    coef, cost = solve(omega)
    return float(coef[0]), omega, math.sqrt(cost / u.size)


def extrapolate(
    scale,
    values,
    *,
    tol: float = 0.01,
    span: float = 4.0,
    n_fit: int = 6,
    resolution: float = 0.0,
) -> Extrapolation:
    """Limit of local exponents ``values`` measured at increasing ``scale`` (e.g. ``d*``).

    Fits ``e(s) = e∞ + a·s^(−ω)`` (``ω`` in :data:`OMEGA_RANGE`) to the last ``n_fit − 2``,
    ``n_fit`` and ``n_fit + 2`` finite windows (those available, at least 4); ``value`` is the
    median of their ``e∞``. The interval spans those ``e∞`` and the last local value (a
    monotone approach has its limit beyond the last value; a fit that overshoots is bounded by
    it), widened by twice the largest residual scatter of the fits (the numerical noise of the
    local values). A fit is used only if the last windows approach monotonically with shrinking
    steps; otherwise (a crossover still accelerating, or scatter) ``value`` is the last local
    value and the interval spans the last ``span`` octaves of local values and, in the direction
    of the drift, what a correction ``∝ s^(−ω)`` with ``ω >= 0.1`` could still add beyond the
    last window (``drift/(2^(0.1·span) − 1)``, about 3× the drift over 4 octaves). Both intervals
    are widened by ``resolution`` (the numerical resolution of the local values themselves).
    ``converged`` is ``|drift| <= tol`` with ``drift`` the change over the last ``span`` octaves.

    Args:
        scale: 1-D positive window centres, increasing; values: local exponents (NaN skipped).
        tol: convergence tolerance on the drift (> 0).
        span: octaves over which the drift is measured (> 0).
        n_fit: windows in the central fit (>= 4).
        resolution: added to both ends of the interval (>= 0).
    """
    s = as_float_array("scale", scale, 1)
    e = as_float_array("values", values, 1)
    if s.size != e.size:
        raise ValueError(f"scale and values must have the same length, got {s.size}, {e.size}")
    if not (math.isfinite(tol) and tol > 0):
        raise ValueError(f"tol must be a finite number > 0, got {tol!r}")
    if not (math.isfinite(span) and span > 0):
        raise ValueError(f"span must be a finite number of octaves > 0, got {span!r}")
    if int(n_fit) != n_fit or n_fit < 4:
        raise ValueError(f"n_fit must be an integer >= 4, got {n_fit!r}")
    if not (math.isfinite(resolution) and resolution >= 0):
        raise ValueError(f"resolution must be a finite number >= 0, got {resolution!r}")
    ok = np.isfinite(s) & np.isfinite(e)
    s, e = s[ok], e[ok]
    if s.size == 0:
        raise ValueError("no finite local exponents to extrapolate")
    check_positive_finite("scale", s)
    if np.any(np.diff(s) <= 0):
        raise ValueError("scale must be strictly increasing")
    u = np.log2(s)
    last = float(e[-1])
    drift = math.nan
    if u[-1] - u[0] >= span * (1 - 1e-9):
        drift = last - float(np.interp(u[-1] - span, u, e))
    converged = math.isfinite(drift) and abs(drift) <= tol
    recent = e[u >= u[-1] - span]

    def fallback(why: str) -> Extrapolation:
        ahead = drift / (2.0 ** (OMEGA_RANGE[0] * span) - 1.0) if math.isfinite(drift) else 0.0
        lo = min(float(recent.min()), last + min(ahead, 0.0)) - resolution
        hi = max(float(recent.max()), last + max(ahead, 0.0)) + resolution
        return Extrapolation(
            last, lo, hi, last, float(s[-1]), drift, converged, math.nan, 0, f"last window ({why})"
        )

    if e.size < 4:
        return fallback("fewer than 4 windows")
    tail = e[-min(n_fit, e.size) :]
    steps = np.diff(tail)
    monotone = np.all(steps >= 0) or np.all(steps <= 0)
    shrinking = np.all(np.abs(steps[1:]) <= np.abs(steps[:-1]) * 1.05 + 1e-12)
    if not (monotone and shrinking and np.ptp(tail) > 0):
        return fallback("no monotone, decelerating approach to fit")
    limits, omegas, scatter = [], [], []
    for m in sorted({n_fit - 2, n_fit, n_fit + 2}):
        if 4 <= m <= e.size:
            limit, omega, rms = _correction_fit(u[-m:], e[-m:])
            limits.append(limit)
            omegas.append(omega)
            scatter.append(rms)
    value = float(np.median(limits))
    pad = 2.0 * max(scatter) + resolution
    lo = min(min(limits), last) - pad
    hi = max(max(limits), last) + pad
    n_central = min(n_fit, e.size)
    return Extrapolation(
        value,
        float(lo),
        float(hi),
        last,
        float(s[-1]),
        drift,
        converged,
        float(np.median(omegas)),
        n_central,
        f"e∞ + a·s^(−ω) over the last {len(limits)} fit ranges of ≤ {n_fit + 2} windows",
    )


# ----- budget ladders of trained models (superposition, lottery) -----
@dataclass(frozen=True)
class BudgetConvergence:
    """An exponent measured at increasing training budgets, and whether it stopped moving.

    Criterion: the exponent is *converged* when its change between the last two budgets is
    smaller than the half-width of that change's interval, ``sqrt(h_(k-1)^2 + h_k^2)`` with
    ``h`` the half-widths of the two budgets' intervals (the budgets are independent runs, so a
    change inside it is no evidence of movement: a flat exponent is called not converged about
    5 % of the time with 95 % intervals; against ``h_k`` alone it would be ~17 %). It is then
    *converged at* the smallest budget ``B`` from which every exponent ``e_i`` lies within
    ``sqrt(h_i^2 + h_k^2)`` of the largest budget's ``e_k``. Fewer than two budgets, or a NaN
    among the last two: not converged (nothing to compare).

    Attributes:
        budgets: training steps, increasing; exponents, ci_low, ci_high: one per budget.
        converged_at: the budget ``B`` above (``None``: not converged).
        change: last exponent minus the one before (NaN with one budget).
        half_width: the half-width the change was compared with (NaN with one budget).
    """

    budgets: tuple[int, ...]
    exponents: tuple[float, ...]
    ci_low: tuple[float, ...]
    ci_high: tuple[float, ...]
    converged_at: int | None
    change: float
    half_width: float

    @property
    def converged(self) -> bool:
        return self.converged_at is not None

    def verdict(self) -> str:
        """``"converged at budget 1000"`` or ``"not converged (+0.120 from 1000 to 3000 steps,
        interval half-width 0.050)"``."""
        if self.converged:
            return f"converged at budget {self.converged_at}"
        if len(self.budgets) < 2:
            return "not converged (one budget)"
        return (
            f"not converged ({self.change:+.3f} from {self.budgets[-2]} to {self.budgets[-1]} "
            f"steps, interval half-width {self.half_width:.3f})"
        )

    def by_budget(self) -> str:
        """``"333:1.0412[0.9800,1.1023];1000:..."`` (:func:`parse_exponent_by_budget` reads it)."""
        return ";".join(
            f"{b}:{e:.4f}[{lo:.4f},{hi:.4f}]"
            for b, e, lo, hi in zip(
                self.budgets, self.exponents, self.ci_low, self.ci_high, strict=True
            )
        )


def budget_convergence(budgets, exponents, ci_low, ci_high) -> BudgetConvergence:
    """The :class:`BudgetConvergence` of exponents (with intervals) at increasing ``budgets``."""
    b = tuple(int(v) for v in budgets)
    e, lo, hi = (tuple(float(v) for v in arr) for arr in (exponents, ci_low, ci_high))
    if not len(b) == len(e) == len(lo) == len(hi) or not b:
        raise ValueError(
            "budgets, exponents and intervals must have one equal length >= 1, got "
            f"{len(b)}, {len(e)}, {len(lo)}, {len(hi)}"
        )
    if any(x >= y for x, y in itertools.pairwise(b)):
        raise ValueError(f"budgets must be increasing, got {list(b)}")
    h = [0.5 * (top - bottom) for bottom, top in zip(lo, hi, strict=True)]

    def within(i: int) -> bool:  # e_i within the interval of its difference from e_k (NaN: no)
        return abs(e[i] - e[-1]) < math.hypot(h[i], h[-1])

    if len(b) < 2:
        return BudgetConvergence(b, e, lo, hi, None, math.nan, math.nan)
    at = None
    if within(len(b) - 2):
        j = len(b) - 2
        while j > 0 and within(j - 1):
            j -= 1
        at = b[j]
    return BudgetConvergence(b, e, lo, hi, at, e[-1] - e[-2], math.hypot(h[-2], h[-1]))


def parse_exponent_by_budget(text: str) -> list[tuple[int, float, float, float]]:
    """``(budget, exponent, ci_low, ci_high)`` per budget of an ``exponent_by_budget`` cell."""
    out = []
    for item in filter(None, text.split(";")):
        try:
            budget, rest = item.split(":")
            value, interval = rest.rstrip("]").split("[")
            lo, hi = interval.split(",")
            out.append((int(budget), float(value), float(lo), float(hi)))
        except ValueError as err:
            raise ValueError(
                f"exponent_by_budget must read 'B:e[lo,hi];...', got {item!r}"
            ) from err
    return out
