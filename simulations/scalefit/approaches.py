"""Compute-optimal allocation from runs: Hoffmann et al. 2022 approaches 1 and 2.

Hoffmann et al. 2022 ("Training Compute-Optimal Language Models", arXiv 2203.15556) §3:

* **Approach 1** (:func:`envelope_fit`): the envelope of the training curves. Each run's loss is
  interpolated at log-spaced compute budgets, the minimum over model sizes is taken and its argmin
  refined by a parabola through the three nearest sizes (:func:`simulations.frontier.
  compute_optimal_frontier`); ``N*(C) ∝ C^a`` and ``D*(C) = C/(6·N*) ∝ C^b`` are then fitted by
  least squares over the budgets whose minimum is bracketed by sampled sizes.
* **Approach 2** (:func:`isoflop_fit`): IsoFLOP profiles. Rows are grouped into budgets of equal
  compute; at each budget a parabola in ``log N`` is fitted to ``log L`` and its vertex is the
  optimal size. A budget whose discrete minimum is the smallest or largest sampled size, or whose
  vertex lies outside the sampled sizes, is an **edge** budget: the optimum may lie off the grid,
  so it is refused (left out, with the reason) or, with ``edge="flag"``, kept and marked.

Both report ``a``, ``b`` and tokens per parameter ``D*/N*`` at a chosen compute with regression
t-intervals; :mod:`simulations.scalefit.uncertainty` adds bootstrap intervals.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from simulations.frontier import Frontier, compute_optimal_frontier, fit_frontier
from simulations.regression import t_halfwidth, wls_batch
from simulations.scalefit.data import RunTable

__all__ = [
    "EDGE_POLICIES",
    "AllocationFit",
    "IsoflopBudget",
    "envelope_fit",
    "isoflop_budgets",
    "isoflop_fit",
    "loglinear",
]

EDGE_POLICIES = ("refuse", "flag")


@dataclass(frozen=True)
class IsoflopBudget:
    """One IsoFLOP profile of approach 2.

    Attributes:
        budget: compute ``C`` (geometric mean of the rows grouped into it).
        sizes, losses: the rows' ``N`` and ``L`` at this budget. n_sizes: distinct sizes.
        coef: ``(c2, c1, c0)`` of ``log L ≈ c2 u² + c1 u + c0``, ``u = log N``.
        n_opt, loss_opt: vertex of the parabola (NaN when it has no minimum).
        status: ``"ok"``, ``"edge"``, ``"no-minimum"`` or ``"too-few-sizes"``; reason: why.
        used: whether it entered the power-law fit.
    """

    budget: float
    sizes: np.ndarray
    losses: np.ndarray
    n_sizes: int
    coef: tuple
    n_opt: float
    loss_opt: float
    status: str
    reason: str
    used: bool
    tokens_per_flop: float


@dataclass(frozen=True, eq=False)
class AllocationFit:
    """``N* ∝ C^a``, ``D* ∝ C^b`` from approach 1 or 2.

    Attributes:
        approach: 1 or 2. budgets, n_opt, d_opt, loss_opt: the per-budget optima that were used.
        a, b: allocation exponents with regression t-intervals ``a_ci``, ``b_ci``.
        log_n0, log_d0: intercepts (``log N* = log_n0 + a log C``).
        profiles: approach 2's :class:`IsoflopBudget` list (all budgets, used or not).
        frontier: approach 1's :class:`simulations.frontier.Frontier`.
        messages: refused or flagged budgets, in words.
    """

    approach: int
    budgets: np.ndarray
    n_opt: np.ndarray
    d_opt: np.ndarray
    loss_opt: np.ndarray
    a: float
    b: float
    a_ci: tuple
    b_ci: tuple
    log_n0: float
    log_d0: float
    profiles: tuple = ()
    frontier: Frontier | None = None
    messages: tuple = ()

    def predict(self, C) -> tuple[np.ndarray, np.ndarray]:
        """``(N*, D*)`` at compute ``C`` from the fitted power laws."""
        lc = np.log(np.asarray(C, dtype=np.float64))
        return np.exp(self.log_n0 + self.a * lc), np.exp(self.log_d0 + self.b * lc)

    def estimates(self, c_target: float) -> dict:
        """Point estimates reported (and bootstrapped): a, b, N*, D*, D*/N* at ``c_target``."""
        n, d = self.predict(c_target)
        return {
            "a": self.a,
            "b": self.b,
            "N_opt": float(n),
            "D_opt": float(d),
            "tokens_per_param": float(d / n),
        }


def loglinear(x, y, ci: float = 0.95):
    """OLS of ``log y`` on ``log x``: ``(slope, intercept, (lo, hi))`` with a t-interval."""
    slope, intercept, se, _, n = wls_batch(np.log(x), np.log(y), np.ones(len(x)))
    half = t_halfwidth(float(se), int(n) - 2, ci)
    s = float(slope)
    return s, float(intercept), (s - half, s + half)


def isoflop_budgets(C: np.ndarray, tol_decades: float = 1e-6, budgets=None) -> np.ndarray:
    """Budget label of each row (−1: no budget).

    Without ``budgets``, rows whose sorted ``log10 C`` differ by ≤ ``tol_decades`` chain into one
    budget. With ``budgets`` (the nominal IsoFLOP budgets of the design), each row goes to the
    nearest budget in ``log10 C`` if it is within ``tol_decades`` of it (use e.g. 0.1 for
    digitised or jittered compute).
    """
    if not (math.isfinite(tol_decades) and tol_decades >= 0):
        raise ValueError(f"budget tolerance must be >= 0 decades, got {tol_decades}")
    lc = np.log10(C)
    if budgets is not None:
        lb = np.log10(np.asarray(budgets, dtype=np.float64))
        if lb.ndim != 1 or lb.size == 0 or not np.isfinite(lb).all():
            raise ValueError(f"budgets must be a list of positive numbers, got {budgets!r}")
        dist = np.abs(lc[:, None] - lb[None, :])
        nearest = np.argmin(dist, axis=1)
        return np.where(dist[np.arange(lc.size), nearest] <= tol_decades, nearest, -1)
    order = np.argsort(lc, kind="stable")
    jumps = np.diff(lc[order]) > tol_decades
    labels = np.empty(C.size, dtype=np.intp)
    labels[order] = np.concatenate([[0], np.cumsum(jumps)])
    return labels


def _profile(C, N, L, k_ratio) -> IsoflopBudget:
    u, y = np.log(N), np.log(L)
    budget = float(np.exp(np.log(C).mean()))
    sizes_u = np.unique(u)
    base = dict(
        budget=budget, sizes=N, losses=L, n_sizes=int(sizes_u.size), tokens_per_flop=1.0 / k_ratio
    )
    nan = (math.nan, math.nan, math.nan)
    if sizes_u.size < 3:
        return IsoflopBudget(
            **base,
            coef=nan,
            n_opt=math.nan,
            loss_opt=math.nan,
            status="too-few-sizes",
            reason=f"{sizes_u.size} distinct sizes (a parabola needs 3)",
            used=False,
        )
    c2, c1, c0 = np.polyfit(u, y, 2)
    mean_y = np.array([y[u == s].mean() for s in sizes_u])
    i_min = int(np.argmin(mean_y))
    if not c2 > 0:
        return IsoflopBudget(
            **base,
            coef=(c2, c1, c0),
            n_opt=math.nan,
            loss_opt=math.nan,
            status="no-minimum",
            reason="the parabola opens downwards (no minimum)",
            used=False,
        )
    us = -c1 / (2 * c2)
    n_opt, l_opt = math.exp(us), math.exp(c0 - c1 * c1 / (4 * c2))
    reason, status = "", "ok"
    if i_min in (0, sizes_u.size - 1):
        which = "smallest" if i_min == 0 else "largest"
        status = "edge"
        reason = f"lowest loss at the {which} sampled size N={math.exp(sizes_u[i_min]):.3g}"
    elif not sizes_u[0] < us < sizes_u[-1]:
        status, reason = "edge", f"vertex N={n_opt:.3g} outside the sampled sizes"
    return IsoflopBudget(
        **base,
        coef=(c2, c1, c0),
        n_opt=n_opt,
        loss_opt=l_opt,
        status=status,
        reason=reason,
        used=False,
    )


def _tokens_per_flop(table: RunTable, rows) -> float:
    """``D/C`` per unit ``1/N`` at these rows: ``1/6`` unless compute was given."""
    return float(np.median(table.C[rows] / (table.N[rows] * table.D[rows])))


def _allocation(approach, budgets, n_opt, k_ratio, loss_opt, ci, **extra) -> AllocationFit:
    d_opt = budgets / (k_ratio * n_opt)
    a, log_n0, a_ci = loglinear(budgets, n_opt, ci)
    b, log_d0, b_ci = loglinear(budgets, d_opt, ci)
    return AllocationFit(
        approach=approach,
        budgets=budgets,
        n_opt=n_opt,
        d_opt=d_opt,
        loss_opt=loss_opt,
        a=a,
        b=b,
        a_ci=a_ci,
        b_ci=b_ci,
        log_n0=log_n0,
        log_d0=log_d0,
        **extra,
    )


def isoflop_fit(
    table: RunTable,
    *,
    budget_tol: float = 1e-6,
    budgets=None,
    edge: str = "refuse",
    ci: float = 0.95,
    exclude_largest: bool = False,
) -> AllocationFit:
    """Approach 2: a parabola per IsoFLOP budget, then power laws of the vertices.

    Args:
        table: runs; rows of equal compute (within ``budget_tol`` decades) form a budget.
        budget_tol: tolerance in decades of ``C`` for grouping rows into budgets.
        budgets: nominal budgets of the design (rows go to the nearest, within ``budget_tol``).
        edge: ``"refuse"`` (edge budgets are left out) or ``"flag"`` (kept, marked).
        ci: level of the t-intervals of ``a`` and ``b``.
        exclude_largest: leave the largest usable budget out (held-out extrapolation).

    Returns:
        :class:`AllocationFit` (``approach=2``); ``messages`` name each refused budget.

    Raises:
        ValueError: fewer than 2 budgets with an interior minimum (the message says why).
    """
    if edge not in EDGE_POLICIES:
        raise ValueError(f"edge must be one of {EDGE_POLICIES}, got {edge!r}")
    labels = isoflop_budgets(table.C, budget_tol, budgets)
    col = table.names.get("C", "C") if table.compute_given else "6·N·D"
    n_budgets = int(labels.max()) + 1
    if (labels < 0).all():
        raise ValueError(f"no row of compute ({col}) lies within {budget_tol} decades of a budget")
    if n_budgets < 2:
        raise ValueError(
            f"approach 2 needs at least 2 compute budgets; compute ({col}) takes a single value"
        )
    profiles = []
    for k in range(n_budgets):
        rows = labels == k
        if not rows.any():
            continue
        profiles.append(
            _profile(table.C[rows], table.N[rows], table.L[rows], _tokens_per_flop(table, rows))
        )
    usable = [p.status == "ok" or (edge == "flag" and p.status == "edge") for p in profiles]
    if exclude_largest and any(usable):
        usable[max(i for i, u in enumerate(usable) if u)] = False
    profiles = [IsoflopBudget(**{**p.__dict__, "used": bool(u)}) for p, u in zip(profiles, usable)]
    messages = tuple(
        f"budget C={p.budget:.3g}: {'refused' if not p.used else 'flagged'} ({p.reason})"
        for p in profiles
        if p.status in ("edge", "no-minimum")
    )
    few = sum(p.status == "too-few-sizes" for p in profiles)
    if few:
        messages += (f"{few} budgets with fewer than 3 distinct sizes ignored",)
    used = [p for p in profiles if p.used]
    if len(used) < 2:
        named = [
            f"C={p.budget:.3g}: {p.reason}" for p in profiles if p.status in ("edge", "no-minimum")
        ]
        if len(named) > 3:
            named = [*named[:3], f"{len(named) - 3} more at the edge or without a minimum"]
        if few:
            named.append(f"{few} budgets with fewer than 3 distinct sizes")
        why = "; ".join(named)
        raise ValueError(
            f"approach 2 needs at least 2 budgets with an interior minimum, got {len(used)} of "
            f"{n_budgets} budgets of {col} ({why or 'largest left out'})"
        )
    budgets = np.array([p.budget for p in used])
    n_opt = np.array([p.n_opt for p in used])
    k_ratio = np.array([1.0 / p.tokens_per_flop for p in used])
    loss_opt = np.array([p.loss_opt for p in used])
    return _allocation(
        2, budgets, n_opt, k_ratio, loss_opt, ci, profiles=tuple(profiles), messages=messages
    )


def _curve_table(table: RunTable):
    """One loss-vs-compute curve per distinct size (runs of one size averaged in log loss)."""
    if table.group is None and table.step is None:
        raise ValueError(
            "approach 1 needs training curves: give a --group column (one run per label) or a "
            "--step column (checkpoints of one run per size)"
        )
    runs = table.group if table.group is not None else np.unique(table.N, return_inverse=True)[1]
    sizes = np.unique(table.N)
    curves = []
    for s in sizes:
        per_run = []
        for r in np.unique(runs[table.N == s]):
            rows = (runs == r) & (table.N == s)
            o = np.argsort(table.C[rows], kind="stable")
            per_run.append((np.log(table.C[rows][o]), np.log(table.L[rows][o])))
        if len(per_run) == 1:
            curves.append(per_run[0])
            continue
        lo = max(c[0] for c, _ in per_run)
        hi = min(c[-1] for c, _ in per_run)
        if not hi > lo:
            lo, hi = min(c[0] for c, _ in per_run), max(c[-1] for c, _ in per_run)
        grid = np.linspace(lo, hi, 64)
        vals = np.array([np.interp(grid, c, v, left=np.nan, right=np.nan) for c, v in per_run])
        with np.errstate(invalid="ignore"):
            curves.append((grid, np.nanmean(vals, axis=0)))
    width = max(c.size for c, _ in curves)
    comp = np.full((sizes.size, width), np.nan)
    loss = np.full((sizes.size, width), np.nan)
    for i, (c, v) in enumerate(curves):
        comp[i, : c.size], loss[i, : c.size] = np.exp(c), np.exp(v)
    return sizes, comp, loss


def envelope_fit(
    table: RunTable,
    *,
    n_budgets: int = 40,
    ci: float = 0.95,
    budgets=None,
    exclude_largest: bool = False,
) -> AllocationFit:
    """Approach 1: the envelope of training curves and its compute-optimal power laws.

    Args:
        table: runs with a group or step column (each run a loss-vs-compute curve).
        n_budgets: log-spaced budgets over the range where the minimum is bracketed.
        ci: level of the t-intervals. budgets: explicit budgets instead.
        exclude_largest: leave out the top fifth (in log C) of the budgets (held-out check).

    Returns:
        :class:`AllocationFit` (``approach=1``) with the :class:`Frontier`.
    """
    sizes, comp, loss = _curve_table(table)
    if sizes.size < 3:
        raise ValueError(
            f"approach 1 needs at least 3 model sizes in column "
            f"{table.names.get('N', 'N')!r}, got {sizes.size}"
        )
    fr = compute_optimal_frontier(sizes, comp, loss, budgets=budgets, n_budgets=n_budgets)
    lb = np.log(fr.budgets)
    window = None
    if exclude_largest:
        cut = lb.min() + 0.8 * (lb.max() - lb.min())
        window = (float(fr.budgets.min()), float(math.exp(cut)))
    size_fit, _ = fit_frontier(fr, window=window, ci=ci)
    lo, hi = size_fit.window
    m = fr.interior & (fr.budgets >= lo * (1 - 1e-9)) & (fr.budgets <= hi * (1 + 1e-9))
    k_ratio = float(np.median(table.C / (table.N * table.D)))
    messages = ()
    if (~fr.interior).any():
        messages = (
            f"{int((~fr.interior).sum())} of {fr.budgets.size} budgets refused: minimum at the "
            "edge of the sampled sizes",
        )
    return _allocation(
        1,
        fr.budgets[m],
        fr.optimal_size[m],
        k_ratio,
        fr.optimal_loss[m],
        ci,
        frontier=fr,
        messages=messages,
    )
