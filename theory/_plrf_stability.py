"""Stability of one-pass SGD on PLRF decided before any simulation (re-exported by theory.plrf).

Paquette, Paquette, Xiao, Pennington, "4+3 Phases of Compute-Optimal Neural Scaling Laws",
NeurIPS 2024, arXiv 2405.15074, §2: the expected loss of SGD with batch ``B`` and learning rate
``γ`` stays bounded iff ``γ(B+1)λ_max < 2`` and the kernel norm
``‖K‖ = Σ_i γλ_i/(2 − γ(B+1)λ_i) < 1`` (``λ_i`` the eigenvalues of ``K̂ = WᵀDW``). Both need
only the eigenvalue distribution of ``K̂``, and its deterministic equivalent (no ``W``) gives
both in closed form, so a sweep can refuse an unstable point in milliseconds, before compiling.

Derivation (numpy float64, ``σ_j = j^(−2α)``, ``j ≤ v``). With ``z = 2/(γ(B+1))``,
``‖K‖ = (1/(B+1)) Σ_i λ_i/(z − λ_i) = (d/(B+1)) (z·u − 1)`` where ``u = (1/d) tr (z − K̂)⁻¹``.
For real ``z`` above the top edge ``λ₊`` of the spectrum, ``u`` is the root in ``(0, u₊)`` of
Silverstein's equation (see :mod:`theory._plrf_spectra`, with ``s = −u``)

    z(u) = 1/u + (1/d) Σ_j σ_j/(1 − σ_j u),

decreasing from ``+∞`` to ``λ₊ = z(u₊)`` on ``(0, u₊)``, where ``u₊`` solves
``(1/d) Σ_j (σ_j u/(1 − σ_j u))² = 1``. Substituting ``z(u)`` gives

    ‖K‖ = N(u) = (1/(B+1)) Σ_j σ_j u/(1 − σ_j u),

increasing in ``u``. Hence SGD is stable iff ``u < u* = min(u₊, u_K)`` with ``N(u_K) = 1``, i.e.
``γ < γ_max = 2/((B+1) z(u*))``: the top-eigenvalue condition binds when ``u₊ < u_K``, the kernel
norm otherwise. Small ``γ``: ``u ≈ γ(B+1)/2`` and ``‖K‖ ≈ γ Σ_j σ_j/2 = c/2`` (``c`` =
``lr_scale``). The realised ``K̂`` of one ``W`` fluctuates around this limit (by ``O(d^(−1/2))``
relative for the top eigenvalues), so a run close to the limit may still diverge: sweeps flag
such runs from their own spectrum.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import numpy as np

from theory.checks import check_float, check_int

__all__ = [
    "StabilityLimit",
    "check_stable",
    "equivalent_kernel_norm",
    "power_sum",
    "stability_limit",
]

_ITERATIONS = 200
_EXACT_TERMS = 2**16
_EXACT_SUM_TERMS = 2**22


def power_sum(exponent: float, v: int) -> float:
    """``Σ_(j≤v) j^(−exponent)`` in float64 with memory bounded for any ``v``.

    Up to ``v = 2^22`` the plain (pairwise) numpy sum; beyond it that sum of the first ``2^22``
    terms plus the Euler–Maclaurin tail ``∫_a^v x^(−p) dx + (a^(−p) + v^(−p))/2 +
    p(a^(−p−1) − v^(−p−1))/12`` from ``a = 2^22 + 1`` (truncation error below ``a^(−p−3)``: far
    below float64 rounding of the sum). Unvalidated (callers check ``exponent > 0``, ``v >= 1``).
    """
    n = min(v, _EXACT_SUM_TERMS)
    total = float(np.sum(np.arange(1, n + 1, dtype=np.float64) ** (-exponent)))
    if v > n:
        a, b, p = float(n + 1), float(v), exponent
        integral = math.log(b / a) if p == 1.0 else (b ** (1 - p) - a ** (1 - p)) / (1 - p)
        total += integral + 0.5 * (a**-p + b**-p) + p * (a ** (-p - 1) - b ** (-p - 1)) / 12
    return total


class StabilityLimit(NamedTuple):
    """The largest stable learning rate of the deterministic equivalent (SGD diverges at it).

    Attributes:
        learning_rate: ``γ_max``: SGD is stable for ``0 < γ < γ_max``.
        lr_scale: the same limit as ``c_max = γ_max · Σ_(j≤v) j^(−2α)``.
        bound: which condition binds: ``"kernel norm"`` (``‖K‖ = 1``) or ``"top eigenvalue"``
            (``γ(B+1)λ₊ = 2``).
        lambda_max: ``λ₊``, the top edge of the eigenvalue distribution of ``K̂``.
    """

    learning_rate: float
    lr_scale: float
    bound: str
    lambda_max: float


def _sigma(alpha, d, v) -> tuple[float, int, int, np.ndarray, np.ndarray]:
    """``σ_j`` as nodes with weights: every ``j ≤ 2^16`` exactly (weight 1), larger ``j`` in
    bins of relative width 1e-3 at their midpoints (relative error ~1e-7 of each sum), so any
    ``v`` costs ``O(2^16)`` per evaluation, never ``O(v)`` memory."""
    alpha = check_float("alpha", alpha, low=0.0, strict=True)
    d = check_int("d", d, 1)
    v = check_int("v", v, d + 1)
    head = np.arange(1, min(v, _EXACT_TERMS) + 1, dtype=np.float64)
    weights = np.ones_like(head)
    if v > _EXACT_TERMS:
        n = math.ceil(math.log(v / _EXACT_TERMS) / math.log1p(1e-3))
        edges = np.unique(np.round(np.geomspace(_EXACT_TERMS + 1, v + 1, n + 1)))
        head = np.concatenate([head, 0.5 * (edges[:-1] + edges[1:] - 1.0)])
        weights = np.concatenate([weights, np.diff(edges)])
    return alpha, d, v, head ** (-2.0 * alpha), weights


def _bisect(f, lo: float, hi: float) -> float:
    """The root of ``f`` (``f(lo) > 0 >= f(hi)``, one sign change) in ``(lo, hi)``."""
    for _ in range(_ITERATIONS):
        mid = 0.5 * (lo + hi)
        if f(mid) > 0.0:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-15 * hi:
            break
    return lo


def _z_of_u(u: float, sigma: np.ndarray, w: np.ndarray, d: int) -> float:
    return 1.0 / u + float(np.sum(w * sigma / (1.0 - sigma * u))) / d


def _norm_of_u(u: float, sigma: np.ndarray, w: np.ndarray, batch: int) -> float:
    r = sigma * u
    return float(np.sum(w * r / (1.0 - r))) / (batch + 1)


def _top_edge(sigma: np.ndarray, w: np.ndarray, d: int) -> float:
    """``u₊``: ``(1/d) Σ_j (σ_j u/(1 − σ_j u))² = 1`` on ``(0, 1/σ_1)``."""

    def edge(u):
        r = sigma * u / (1.0 - sigma * u)
        return 1.0 - float(np.sum(w * r * r)) / d

    return _bisect(edge, 0.0, 1.0 / sigma[0])


def stability_limit(alpha, d: int, v: int, batch: int = 1) -> StabilityLimit:
    """The largest stable learning rate of SGD on PLRF, from the deterministic equivalent.

    SGD with batch ``B`` is stable (expected loss bounded, arXiv 2405.15074 §2) iff
    ``γ(B+1)λ_max < 2`` and ``‖K‖ = Σ_i γλ_i/(2 − γ(B+1)λ_i) < 1``; both evaluated on the
    deterministic-equivalent spectrum of ``K̂`` in closed form (module docstring). Cost
    ``O(min(v, 2^16))`` per bisection step: milliseconds for any ``v``; no JAX.

    Args:
        alpha: data exponent ``α > 0`` (``β`` does not enter: stability depends on ``K̂`` only).
        d: model size ``>= 1``; v: data dimension ``> d``; batch: ``B >= 1``.

    Returns:
        :class:`StabilityLimit` (``learning_rate``, ``lr_scale``, ``bound``, ``lambda_max``).
    """
    alpha = check_float("alpha", alpha, low=0.0, strict=True)
    d = check_int("d", d, 1)
    return _stability_limit(alpha, d, check_int("v", v, d + 1), check_int("batch", batch, 1))


@functools.lru_cache(maxsize=4096)
def _stability_limit(alpha: float, d: int, v: int, batch: int) -> StabilityLimit:
    alpha, d, v, sigma, w = _sigma(alpha, d, v)
    u_top = _top_edge(sigma, w, d)
    u_norm = _bisect(lambda u: 1.0 - _norm_of_u(u, sigma, w, batch), 0.0, 1.0 / sigma[0])
    u_star = min(u_top, u_norm)
    gamma_max = 2.0 / ((batch + 1) * _z_of_u(u_star, sigma, w, d))
    bound = "kernel norm" if u_norm < u_top else "top eigenvalue"
    lam_max = _z_of_u(u_top, sigma, w, d)
    trace = power_sum(2.0 * alpha, v)
    return StabilityLimit(float(gamma_max), float(gamma_max * trace), bound, float(lam_max))


def equivalent_kernel_norm(alpha, d: int, v: int, learning_rate, batch: int = 1) -> float:
    """``‖K‖`` of the deterministic-equivalent spectrum of ``K̂`` at ``γ`` (inf when unstable).

    ``inf`` when ``γ(B+1)λ₊ >= 2`` (the kernel sum diverges); otherwise
    ``(1/(B+1)) Σ_j σ_j u/(1 − σ_j u)`` with ``z(u) = 2/(γ(B+1))`` (module docstring). Agrees with
    :func:`theory.plrf.kernel_norm` of :func:`theory.plrf.deterministic_equivalent_spectrum` up
    to its binning, and with the mean over realised ``W`` up to ``O(1/d)``.
    """
    alpha, d, v, sigma, w = _sigma(alpha, d, v)
    gamma = check_float("learning_rate", learning_rate, low=0.0, strict=True)
    batch = check_int("batch", batch, 1)
    z = 2.0 / (gamma * (batch + 1))
    u_top = _top_edge(sigma, w, d)
    if z <= _z_of_u(u_top, sigma, w, d):
        return math.inf
    u = _bisect(lambda x: _z_of_u(x, sigma, w, d) - z, 0.0, u_top)
    return _norm_of_u(u, sigma, w, batch)


def _round_down(x: float) -> float:
    """``x`` rounded down to 4 significant digits (a bound quoted to the user stays admissible)."""
    scale = 10.0 ** (math.floor(math.log10(x)) - 3)
    return float(f"{math.floor(x / scale) * scale:.4g}")


def check_stable(
    alpha,
    d: int,
    v: int,
    batch: int = 1,
    *,
    lr_scale=None,
    learning_rate=None,
) -> StabilityLimit:
    """Raise ValueError unless SGD at this learning rate is stable; return :func:`stability_limit`.

    The learning rate is ``lr_scale`` ``c`` (``γ = c/Σ_(j≤v) j^(−2α)``) or ``learning_rate``
    ``γ`` (exactly one). The message names the parameter given, its value, the parameters that
    set the limit and the admissible range, e.g. ``lr_scale=1.9 is unstable for alpha=0.7, d=256,
    v=1024, batch=1 (kernel norm ||K|| >= 1); need 0 < lr_scale < 1.441``.
    """
    if (lr_scale is None) == (learning_rate is None):
        raise ValueError(
            f"give exactly one of lr_scale and learning_rate (got lr_scale={lr_scale!r}, "
            f"learning_rate={learning_rate!r})"
        )
    limit = stability_limit(alpha, d, v, batch)
    if lr_scale is not None:
        name, value = "lr_scale", check_float("lr_scale", lr_scale, low=0.0, strict=True)
        top = limit.lr_scale
    else:
        name = "learning_rate"
        value = check_float("learning_rate", learning_rate, low=0.0, strict=True)
        top = limit.learning_rate
    if value >= top:
        gamma = value * limit.learning_rate / top
        why = "kernel norm ||K|| >= 1"
        if gamma * (batch + 1) * limit.lambda_max >= 2.0:
            why = f"learning_rate*(batch+1)*lambda_max >= 2, lambda_max = {limit.lambda_max:.4g}"
        raise ValueError(
            f"{name}={value!r} is unstable for alpha={float(alpha):g}, d={d}, v={v}, "
            f"batch={batch} ({why}); need 0 < {name} < {_round_down(top)!r}"
        )
    return limit
