"""Chinchilla approach 3: ``L(N, D) = E + A/N^α + B/D^β`` and its compute-optimal allocation.

Hoffmann et al. 2022 ("Training Compute-Optimal Large Language Models", arXiv 2203.15556)
approach 3, eq. (2) and App. D.2: Huber loss (δ = 1e−3) on ``log L`` against
``LSE(a − α log N, b − β log D, e)``, L-BFGS from a grid of starts, keep the best; as replicated by
Besiroglu et al. 2024 (arXiv 2404.10102). :func:`chinchilla_compute_optimal` gives their eq. (4):
``N* = G (C/6)^(β/(α+β))``, ``G = (αA/(βB))^(1/(α+β))``, ``D* = (C/6)/N*``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from simulations.regression import (
    as_float_array,
    check_ci,
    check_n_boot,
    check_positive_finite,
    ci_method_tag,
    percentile_ci,
    usable,
)
from simulations.regression import format_number as _g

__all__ = [
    "ChinchillaFit",
    "chinchilla_compute_optimal",
    "fit_chinchilla",
]


_CHIN_NAMES = ("E", "A", "B", "alpha", "beta")


@dataclass(frozen=True)
class ChinchillaFit:
    """Result of :func:`fit_chinchilla`: ``L(N, D) = E + A/N^α + B/D^β``.

    Attributes:
        E, A, B, alpha, beta: the fitted parameters.
        objective: the minimised Huber loss, ``Σ_i huber_δ(log L̂_i − log L_i)``.
        n_points: data points used; n_dropped: points dropped (non-finite or non-positive).
        n_starts: grid starts from which L-BFGS was run.
        n_boot: bootstrap replicates (resampling data points); 0 means no intervals.
        huber_delta: δ of the Huber loss.
        ci_low, ci_high: mappings ``name -> bound`` for the names ``E, A, B, alpha, beta``
            (percentile bootstrap at level ``ci_level``; NaN when ``n_boot == 0``).
        method: description of the procedure.
    """

    E: float
    A: float
    B: float
    alpha: float
    beta: float
    objective: float
    n_points: int
    n_dropped: int
    n_starts: int
    n_boot: int
    huber_delta: float
    ci_level: float = 0.95
    ci_low: Mapping[str, float] = field(default_factory=dict, hash=False)
    ci_high: Mapping[str, float] = field(default_factory=dict, hash=False)
    method: str = "huber-lbfgs"

    def __post_init__(self):
        nan = {k: math.nan for k in _CHIN_NAMES}
        object.__setattr__(self, "ci_low", MappingProxyType({**nan, **dict(self.ci_low)}))
        object.__setattr__(self, "ci_high", MappingProxyType({**nan, **dict(self.ci_high)}))

    def predict(self, N, D) -> np.ndarray:
        """``E + A/N^α + B/D^β`` (broadcasting ``N`` and ``D``)."""
        N = np.asarray(N, dtype=np.float64)
        D = np.asarray(D, dtype=np.float64)
        return self.E + self.A * N ** (-self.alpha) + self.B * D ** (-self.beta)

    def __repr__(self) -> str:
        parts = []
        for k in _CHIN_NAMES:
            v = getattr(self, k)
            lo, hi = self.ci_low[k], self.ci_high[k]
            ci = f" [{_g(lo)}, {_g(hi)}]" if self.n_boot else ""
            parts.append(f"{k}={_g(v)}{ci}")
        return (
            f"ChinchillaFit({', '.join(parts)}, objective={_g(self.objective)},"
            f" n_points={self.n_points}, n_dropped={self.n_dropped}, n_starts={self.n_starts},"
            f" n_boot={self.n_boot}, huber_delta={_g(self.huber_delta)}, method={self.method!r})"
        )


def _hoffmann_grid() -> np.ndarray:
    """Starts of Hoffmann et al. App. D.2: α, β ∈ {0, .5, …, 2}, e ∈ {−1, −.5, …, 1},
    a, b ∈ {0, 5, …, 25}; columns (a, b, e, α, β)."""
    ab = np.arange(0.0, 25.0 + 1e-9, 5.0)
    ee = np.arange(-1.0, 1.0 + 1e-9, 0.5)
    al = np.arange(0.0, 2.0 + 1e-9, 0.5)
    g = np.meshgrid(ab, ab, ee, al, al, indexing="ij")
    return np.stack([m.ravel() for m in g], axis=1)


def _chin_objective_batch(theta: np.ndarray, lN, lD, lL, delta: float) -> np.ndarray:
    """Scaled Huber objective (``Σ huber / δ``) for a batch of parameter rows ``(G, 5)``."""
    a, b, e, al, be = (theta[:, i : i + 1] for i in range(5))
    z1 = a - al * lN
    z2 = b - be * lD
    z3 = np.broadcast_to(e, z1.shape)
    lse = np.logaddexp(np.logaddexp(z1, z2), z3)
    r = np.abs(lse - lL)
    h = np.where(r <= delta, 0.5 * r * r, delta * (r - 0.5 * delta))
    return h.sum(axis=1) / delta


def _chin_objective(theta: np.ndarray, lN, lD, lL, delta: float):
    """Scaled Huber objective and its gradient in ``theta = (a, b, e, α, β)``.

    Dividing the Huber sum by δ keeps the objective O(residual) so that L-BFGS's tolerances are
    not met prematurely (the failure Besiroglu et al. found in the original fit); the minimiser
    is unchanged.
    """
    a, b, e, al, be = theta
    z = np.stack([a - al * lN, b - be * lD, np.full_like(lN, e)])
    m = z.max(axis=0)
    ez = np.exp(z - m)
    s = ez.sum(axis=0)
    p = ez / s
    r = m + np.log(s) - lL
    quad = np.abs(r) <= delta
    h = np.where(quad, 0.5 * r * r, delta * (np.abs(r) - 0.5 * delta))
    dh = np.where(quad, r, delta * np.sign(r)) / delta
    grad = np.array(
        [
            (dh * p[0]).sum(),
            (dh * p[1]).sum(),
            (dh * p[2]).sum(),
            -(dh * p[0] * lN).sum(),
            -(dh * p[1] * lD).sum(),
        ]
    )
    return h.sum() / delta, grad


_CHIN_OPTIONS = {
    "L-BFGS-B": {"maxiter": 20000, "maxfun": 40000, "ftol": 1e-15, "gtol": 1e-11},
    "BFGS": {"maxiter": 20000, "gtol": 1e-10},
}


def _chin_minimise(starts: np.ndarray, lN, lD, lL, delta: float, optimizer: str):
    from scipy import optimize  # imported here: slow to import, needed only by this fit

    best_x, best_f = None, math.inf
    for x0 in starts:
        res = optimize.minimize(
            _chin_objective,
            x0,
            args=(lN, lD, lL, delta),
            jac=True,
            method=optimizer,
            options=_CHIN_OPTIONS[optimizer],
        )
        if np.all(np.isfinite(res.x)) and res.fun < best_f:
            best_x, best_f = res.x, float(res.fun)
    return best_x, best_f


def _chin_starts(grid: np.ndarray, lN, lD, lL, delta: float, n_local: int) -> np.ndarray:
    obj = np.concatenate(
        [
            _chin_objective_batch(grid[i : i + 500], lN, lD, lL, delta)
            for i in range(0, grid.shape[0], 500)
        ]
    )
    return grid[np.argsort(obj, kind="stable")[:n_local]]


def fit_chinchilla(
    N,
    D,
    L,
    *,
    huber_delta: float = 1e-3,
    n_boot: int = 0,
    ci: float = 0.95,
    seed: int = 0,
    n_local: int = 10,
    init_grid=None,
    optimizer: str = "L-BFGS-B",
    expand: bool = True,
) -> ChinchillaFit:
    """Fit ``L(N, D) = E + A/N^α + B/D^β`` (Chinchilla approach 3).

    Hoffmann et al. 2022 (arXiv 2203.15556) eq. (2) and App. D.2, as replicated by Besiroglu et al.
    2024 (arXiv 2404.10102): with ``a = log A``, ``b = log B``, ``e = log E``, minimise
    ``Σ_i Huber_δ(LSE(a − α log N_i, b − β log D_i, e) − log L_i)`` by L-BFGS. The objective is
    evaluated at every start of the grid (default: Hoffmann's 4500-point grid, α, β ∈ {0, …, 2},
    e ∈ {−1, …, 1}, a, b ∈ {0, …, 25}); L-BFGS runs from the ``n_local`` best starts and the best
    optimum is kept (``n_local=None`` runs from every start, as the paper did; slower). The Huber
    sum is divided by δ inside the optimiser (same minimiser, O(1) gradients), so that the
    tolerances are not met prematurely, the failure Besiroglu et al. found in the original fit.

    On the digitised data of Hoffmann et al.'s Fig. 4 (245 points, the 5 highest losses dropped,
    as in the replication) this gives E = 1.817, A = 478, B = 2143, α = 0.3473, β = 0.3672, against
    the replication's E = 1.8172, A = 482.01, B = 2085.43, α = 0.3478, β = 0.3658.

    Performance note: scipy >= 1.15's C port of L-BFGS-B calls BLAS on tiny arrays, and with a
    multi-threaded OpenBLAS on a busy machine each iteration can cost milliseconds
    (scipy/scipy#22438). Run with ``OPENBLAS_NUM_THREADS=1`` or pass ``optimizer="BFGS"`` (for
    these 5 parameters BFGS reaches the same optimum).

    Args:
        N: ``(n,)`` parameter counts (> 0). D: ``(n,)`` training tokens (> 0).
        L: ``(n,)`` losses; points with a non-finite or non-positive loss are dropped.
        huber_delta: δ of the Huber loss on log L (> 0).
        n_boot: bootstrap replicates over data points for percentile intervals (0: none).
        ci: interval level. seed: resampling seed.
        n_local: number of best grid starts refined by L-BFGS (>= 1) or ``None`` for all.
        init_grid: optional ``(G, 5)`` array of starts ``(a, b, e, α, β)``.
        optimizer: ``"L-BFGS-B"`` (the paper's choice) or ``"BFGS"``.
        expand: expanded percentile intervals (see :func:`bootstrap_power_law`).

    Returns:
        :class:`ChinchillaFit`.
    """
    N = as_float_array("N", N, 1)
    D = as_float_array("D", D, 1)
    L = as_float_array("L", L, 1)
    if not (N.shape == D.shape == L.shape):
        raise ValueError(f"N, D, L must have the same shape, got {N.shape}, {D.shape}, {L.shape}")
    check_positive_finite("N", N)
    check_positive_finite("D", D)
    if not (math.isfinite(huber_delta) and huber_delta > 0):
        raise ValueError(f"huber_delta must be > 0, got {huber_delta}")
    ci = check_ci(ci)
    n_boot = check_n_boot(n_boot, minimum=0)
    if optimizer not in _CHIN_OPTIONS:
        raise ValueError(f"optimizer must be one of {tuple(_CHIN_OPTIONS)}, got {optimizer!r}")
    grid = _hoffmann_grid() if init_grid is None else as_float_array("init_grid", init_grid, 2)
    if grid.shape[1] != 5 or grid.shape[0] == 0:
        raise ValueError(f"init_grid must have shape (G, 5), got {grid.shape}")
    if n_local is None:
        n_local = grid.shape[0]
    if int(n_local) != n_local or n_local < 1:
        raise ValueError(f"n_local must be an integer >= 1 or None, got {n_local!r}")
    Lu = usable(L)
    ok = ~np.isnan(Lu)
    if ok.sum() < 5:
        raise ValueError(f"need at least 5 usable points to fit 5 parameters, got {int(ok.sum())}")
    lN, lD, lL = np.log(N[ok]), np.log(D[ok]), np.log(Lu[ok])
    starts = _chin_starts(grid, lN, lD, lL, huber_delta, int(n_local))
    theta, fbest = _chin_minimise(starts, lN, lD, lL, huber_delta, optimizer)
    if theta is None:
        raise ValueError("chinchilla fit failed: no start converged to a finite optimum")

    def params(t):
        return {
            "E": math.exp(t[2]),
            "A": math.exp(t[0]),
            "B": math.exp(t[1]),
            "alpha": t[3],
            "beta": t[4],
        }

    lo, hi = {}, {}
    if n_boot:
        rng = np.random.default_rng(seed)
        samples = {k: np.full(n_boot, np.nan) for k in _CHIN_NAMES}
        n = lN.size
        for r in range(n_boot):
            i = rng.integers(0, n, size=n)
            st = np.vstack([theta, _chin_starts(grid, lN[i], lD[i], lL[i], huber_delta, 2)])
            tb, _ = _chin_minimise(st, lN[i], lD[i], lL[i], huber_delta, optimizer)
            if tb is not None:
                for k, v in params(tb).items():
                    samples[k][r] = v
        for k in _CHIN_NAMES:
            lo[k], hi[k] = percentile_ci(samples[k], ci, n if expand else None)
    return ChinchillaFit(
        **params(theta),
        objective=fbest * huber_delta,
        n_points=int(ok.sum()),
        n_dropped=int((~ok).sum()),
        n_starts=int(starts.shape[0]),
        n_boot=n_boot,
        huber_delta=float(huber_delta),
        ci_level=ci,
        ci_low=lo,
        ci_high=hi,
        method=f"huber-{optimizer.lower()}"
        + (f" + bootstrap-points{ci_method_tag(expand)}" if n_boot else ""),
    )


def chinchilla_compute_optimal(
    fit: ChinchillaFit, C, *, flops_per_param_token: float = 6.0
) -> tuple[np.ndarray, np.ndarray]:
    """Compute-optimal allocation of a budget ``C`` under a :class:`ChinchillaFit`.

    Minimising ``A/N^α + B/D^β`` subject to ``C = 6·N·D`` (Hoffmann et al. 2022, eq. (4)):
    ``N* = G·(C/6)^(β/(α+β))``, ``D* = G^(−1)·(C/6)^(α/(α+β)) = (C/6)/N*``, with
    ``G = (αA/(βB))^(1/(α+β))``.

    Args:
        fit: a fitted law (``alpha, beta > 0``).
        C: compute budget(s) in FLOP, any shape, > 0.
        flops_per_param_token: the 6 of ``C = 6ND``.

    Returns:
        ``(N_opt, D_opt)``, float64 arrays of the shape of ``C``.
    """
    C = np.asarray(C, dtype=np.float64)
    if not (np.isfinite(C) & (C > 0)).all():
        raise ValueError("C must be finite and > 0")
    if not (fit.alpha > 0 and fit.beta > 0):
        raise ValueError(f"alpha and beta must be > 0, got {fit.alpha}, {fit.beta}")
    if not flops_per_param_token > 0:
        raise ValueError(f"flops_per_param_token must be > 0, got {flops_per_param_token}")
    s = fit.alpha + fit.beta
    G = (fit.alpha * fit.A / (fit.beta * fit.B)) ** (1.0 / s)
    c6 = C / flops_per_param_token
    N_opt = G * c6 ** (fit.beta / s)
    return N_opt, c6 / N_opt
