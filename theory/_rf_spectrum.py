"""Spectral helpers of the random-feature theory: input checks, degrees of freedom and its inverse.

Private sibling of :mod:`theory.random_features` (which re-exports what is public); shared by
the ridge deterministic equivalent there and the gradient-flow theory in
:mod:`theory._rf_flow`. Symbols as in :mod:`theory.random_features`:
``z(g) = Σ_k λ_k/(λ_k + g)`` (degrees of freedom ``df``).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize

__all__ = ["check_spectrum", "degrees_of_freedom", "inverse_df"]


def check_spectrum(eigenvalues, target_power) -> tuple[np.ndarray, np.ndarray]:
    """``(λ, v²)`` as float64 arrays, checked: 1-D, same shape, ``λ > 0``, ``v² ≥ 0``, finite."""
    lam = np.asarray(eigenvalues, dtype=np.float64)
    v2 = np.asarray(target_power, dtype=np.float64)
    if lam.ndim != 1 or lam.size == 0:
        raise ValueError(f"eigenvalues must be a non-empty 1-D array, got shape {lam.shape}")
    if v2.shape != lam.shape:
        raise ValueError(
            f"target_power must have the shape of eigenvalues {lam.shape}, got {v2.shape}"
        )
    if not (np.isfinite(lam).all() and (lam > 0).all()):
        raise ValueError("eigenvalues must be finite and > 0")
    if not (np.isfinite(v2).all() and (v2 >= 0).all()):
        raise ValueError("target_power must be finite and >= 0")
    return lam, v2


def degrees_of_freedom(lam: np.ndarray, g: float) -> float:
    """``z(g) = Σ_k λ_k/(λ_k + g)``."""
    return float(np.sum(lam / (lam + g)))


def inverse_df(lam: np.ndarray, n: float) -> float:
    """The ``g > 0`` with ``z(g) = n`` (``0 < n < M``), by bisection-safe Brent in ``log g``."""
    lo, hi = math.log(lam.min()) - 5.0, math.log(lam.max()) + 5.0
    while degrees_of_freedom(lam, math.exp(lo)) <= n:
        lo -= 10.0
    while degrees_of_freedom(lam, math.exp(hi)) >= n:
        hi += 10.0
    return math.exp(
        optimize.brentq(
            lambda u: degrees_of_freedom(lam, math.exp(u)) - n, lo, hi, xtol=1e-14, rtol=1e-15
        )
    )
