"""Theory of random-feature regression (float64): MRS ridge(less), Bahri's regimes, BAP dynamics.

Papers: Maloney, Roberts & Sully, "A Solvable Model of Neural Scaling Laws", arXiv 2210.16859
(MRS); Bahri, Dyer, Kaplan, Lee & Sharma, "Explaining Neural Scaling Laws", arXiv 2102.06701;
Bordelon, Atanasov & Pehlevan, "A Dynamical Model of Neural Scaling Laws", arXiv 2402.01092 (BAP).
The simulator is :mod:`simulations.random_features`; THEORY.md §2 is the specification.

Model and symbols (one convention, used everywhere in this module and in the simulator):

* Latent data ``x ∈ R^M``, ``x ~ N(0, Λ)``, ``Λ = diag(λ_k)``, ``λ_k = λ₊ k^(−b)`` (``b > 1``).
* Teacher ``y = w·x + ε``, ``ε ~ N(0, σ²)``. The *target power* of mode ``k`` is
  ``v_k² = λ_k E[w_k²]``; the power-law teacher has ``v_k² = λ₊ σ_w² k^(−a) / M`` (``a > 1``), i.e.
  ``w_k ~ N(0, σ_w² k^(b−a) / M)``, which for ``a = b = 1 + α`` is MRS's ``w_I ~ N(0, σ_w²/M)``.
* ``N`` linear random features ``φ = F x`` with ``F_jk ~ N(0, 1)``; the predictor is
  ``f(x) = β·φ(x)/√N``, so the random-feature kernel ``φ·φ'/N`` has mean ``x·x'`` ("kernel scale").
  MRS's ``U_jI ~ N(0, σ_u²/M)`` only rescales the kernel by ``Nσ_u²/M``; their ridge ``γ`` is our
  ``δ · N σ_u² / M``.
* Ridge regression on ``T`` samples (also written ``P`` or ``D``): ``β̂ = argmin Σ_t (f(x_t) − y_t)²
  + δ ‖β‖²`` (sum over samples, unnormalised ridge ``δ``; ``s = δ/T`` is the per-sample ridge).
* Gradient flow/descent: from ``β = 0`` on ``½ × (mean squared training error)``, i.e.
  ``dβ/dt = −(Ŝ β − b̂)`` with ``Ŝ = Z^T Z / T``, ``b̂ = Z^T y / T``, ``Z = X F^T/√N``; gradient
  descent with step ``η`` takes ``β ← β − η (Ŝ β − b̂)`` and reaches time ``t = η × steps``.
  ``T = ∞`` (population) replaces ``Ŝ, b̂`` by ``S = F Λ F^T/N``, ``c = F Λ w/√N``.
* Losses are mean squared errors without ½: test ``E = E (f(x) − y)²`` (includes ``σ²``), train
  ``(1/T) Σ_t (f(x_t) − y_t)²``.
* ``z(g) = Σ_k λ_k/(λ_k + g)`` (degrees of freedom ``df``), ``q(g) = Σ_k λ_k²/(λ_k + g)²``,
  ``l_k = λ_k/(λ_k + g)``. Exponent convention: ``Q ∝ X^(−e)`` has exponent ``e``.

What is implemented:

* :func:`ridge_loss` / :func:`ridge_solution`: the deterministic equivalent of ridge regression
  with linear random features on any spectrum (THEORY.md §2 "Closed forms"): solve
  ``z(g) + δ/κ = T`` and ``z(g) + Nκ/g = N`` as the single monotone equation
  ``z(g) + δN/(g(N − z(g))) = T`` for ``g`` above ``z⁻¹(N)``, then
  ``E = [Σ v_k²((1 − l_k) − κ l_k/(λ_k + g) · N/(N − q)) + σ²]/(1 − x)``,
  ``x = [q(N − 2z) + z²]/[T(N − q)]``. The training loss is ``(1 − z/T)² E`` (i.e. ``(s/κ)² E``).
* :func:`ridgeless_loss`: MRS's isotropic ridgeless closed form
  ``E(N, T) = (σ_w²/M) n κ_n/(1 − n/n')``, ``n = min(N, T)``, ``n' = max(N, T)``, ``df(κ_n) = n``;
  :func:`ridgeless_asymptote` and :func:`c_alpha` give its large-``n`` form
  ``(σ_w² λ₊/M) C_α n^(−α)/(1 − n/n')``, ``C_α = [π/((1+α) sin(π/(1+α)))]^(1+α)``.
* :func:`gradient_flow_loss`: BAP's large-size theory of the test and train loss of gradient flow
  at finite ``N`` and ``T`` (see its docstring for the equations and how they were checked).
* :func:`realised_loss_curve`: the exact loss curve of one realised model (given ``F``, ``w`` and
  the training set), by diagonalising the (empirical) feature covariance once.
* :func:`exponents`: THEORY.md §2 "Exponents" (time, data, model size, compute-optimal).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from scipy import optimize

__all__ = [
    "GradientFlowCurves",
    "RidgeSolution",
    "c_alpha",
    "exponents",
    "gradient_flow_loss",
    "latent_spectrum",
    "realised_loss_curve",
    "ridge_loss",
    "ridge_solution",
    "ridgeless_asymptote",
    "ridgeless_loss",
    "target_power",
]


# --------------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------------


def _check_size(name: str, value, *, allow_inf: bool = True) -> float:
    if isinstance(value, bool):
        raise TypeError(f"{name} must be a number > 0, got {value!r}")
    try:
        v = float(value)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be a number > 0, got {value!r}") from err
    if math.isnan(v) or v <= 0 or (math.isinf(v) and not allow_inf):
        rng = "(0, inf]" if allow_inf else "(0, inf)"
        raise ValueError(f"{name} must be in {rng}, got {value!r}")
    return v


def _check_int(name: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _check_nonneg(name: str, value) -> float:
    v = float(value)
    if not (math.isfinite(v) and v >= 0):
        raise ValueError(f"{name} must be finite and >= 0, got {value!r}")
    return v


def _check_exponent(name: str, value, lower: float = 1.0) -> float:
    v = float(value)
    if not (math.isfinite(v) and v > lower):
        raise ValueError(f"{name} must be > {lower:g}, got {value!r}")
    return v


def _check_spectrum(eigenvalues, target_power) -> tuple[np.ndarray, np.ndarray]:
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


# --------------------------------------------------------------------------------------------
# spectra
# --------------------------------------------------------------------------------------------


def latent_spectrum(n_latent: int, b: float, lambda_plus: float = 1.0) -> np.ndarray:
    """Latent eigenvalues ``λ_k = λ₊ k^(−b)``, ``k = 1..M`` (MRS: ``b = 1 + α``).

    Returns:
        ``(n_latent,)`` float64.
    """
    m = _check_int("n_latent", n_latent)
    b = _check_exponent("b", b)
    lp = _check_size("lambda_plus", lambda_plus, allow_inf=False)
    return lp * np.arange(1, m + 1, dtype=np.float64) ** (-b)


def target_power(
    n_latent: int, a: float, lambda_plus: float = 1.0, sigma_w2: float = 1.0
) -> np.ndarray:
    """Mean target power per mode ``v_k² = λ₊ σ_w² k^(−a)/M`` (MRS teacher when ``a = b``).

    Returns:
        ``(n_latent,)`` float64.
    """
    m = _check_int("n_latent", n_latent)
    a = _check_exponent("a", a)
    lp = _check_size("lambda_plus", lambda_plus, allow_inf=False)
    sw = _check_size("sigma_w2", sigma_w2, allow_inf=False)
    return lp * sw * np.arange(1, m + 1, dtype=np.float64) ** (-a) / m


# --------------------------------------------------------------------------------------------
# ridge deterministic equivalent
# --------------------------------------------------------------------------------------------


def _z(lam: np.ndarray, g: float) -> float:
    return float(np.sum(lam / (lam + g)))


def _inverse_df(lam: np.ndarray, n: float) -> float:
    """The ``g > 0`` with ``z(g) = n`` (``0 < n < M``), by bisection-safe Brent in ``log g``."""
    lo, hi = math.log(lam.min()) - 5.0, math.log(lam.max()) + 5.0
    while _z(lam, math.exp(lo)) <= n:
        lo -= 10.0
    while _z(lam, math.exp(hi)) >= n:
        hi += 10.0
    return math.exp(
        optimize.brentq(lambda u: _z(lam, math.exp(u)) - n, lo, hi, xtol=1e-14, rtol=1e-15)
    )


class RidgeSolution(NamedTuple):
    """Deterministic-equivalent solution of ridge regression with linear random features.

    Attributes:
        g: renormalised ridge of the feature projection (``z(g) + Nκ/g = N``).
        kappa: renormalised ridge of the sample average (``z(g) + δ/κ = T``).
        df: ``z(g)``.
        test_loss: expected test loss (including the noise ``σ²``).
        train_loss: expected training loss ``(1 − z/T)² × test_loss``.
    """

    g: float
    kappa: float
    df: float
    test_loss: float
    train_loss: float


def _ridge_scalar(lam, v2, n, t, delta, noise) -> RidgeSolution:
    m = lam.size
    inv_n = 0.0 if math.isinf(n) else 1.0 / n
    inv_t = 0.0 if math.isinf(t) else 1.0 / t
    # Below g_lo the projection equation has no positive kappa: z(g_lo) = N (or 0 if N >= M).
    g_lo = _inverse_df(lam, n) if n < m else 0.0
    if delta == 0.0 or math.isinf(t):
        if not math.isinf(t) and t < min(n, m) and delta == 0.0:
            g = _inverse_df(lam, t)
            kappa = g * (1.0 - t * inv_n)
        else:
            g, kappa = g_lo, 0.0
    else:

        def split(u):
            # g = g_lo + e^u; N − z(g) = e^u Σ λ/((λ+g)(λ+g_lo)) exactly (no cancellation near g_lo)
            if g_lo > 0.0:
                gap = math.exp(u)
                g = g_lo + gap
                n_z = gap * float(np.sum(lam / ((lam + g) * (lam + g_lo))))
            else:
                g = math.exp(u)
                n_z = math.inf if math.isinf(n) else n - _z(lam, g)
            return g, (1.0 if math.isinf(n) else n_z * inv_n)

        def h(u):
            g, shrink = split(u)
            return _z(lam, g) + delta / (g * shrink) - t

        scale = max(g_lo, float(lam.min()))
        lo, hi = math.log(scale) - 20.0, math.log(scale) + 20.0
        while h(lo) <= 0.0:
            lo -= 20.0
        while h(hi) >= 0.0:
            hi += 20.0
        u = optimize.brentq(h, lo, hi, xtol=1e-13, rtol=1e-15)
        g, shrink = split(u)
        kappa = g * shrink

    if g == 0.0:
        # min(N, T) >= M without ridge: the teacher is recovered exactly, OLS noise remains.
        bias = 0.0
        x = m * inv_t
        z = float(m)
        if x >= 1.0:
            test = math.inf if noise > 0.0 else 0.0
        else:
            test = noise / (1.0 - x)
        train = (1.0 - z * inv_t) ** 2 * test if math.isfinite(test) else test
        return RidgeSolution(0.0, 0.0, z, test, train)

    lk = lam / (lam + g)
    z = float(lk.sum())
    q = float(np.sum(lk * lk))
    n_q = 1.0 if math.isinf(n) else n / (n - q)
    bias = float(np.sum(v2 * ((1.0 - lk) - kappa * lk / (lam + g) * n_q)))
    if math.isinf(t):
        x = 0.0
    elif math.isinf(n):
        x = q * inv_t
    else:
        x = (q * (n - 2.0 * z) + z * z) / (t * (n - q))
    test = math.inf if x >= 1.0 - 1e-15 else (bias + noise) / (1.0 - x)
    train = (1.0 - z * inv_t) ** 2 * test if math.isfinite(test) else math.inf
    return RidgeSolution(float(g), float(kappa), z, float(test), float(train))


def ridge_solution(
    eigenvalues, target_power, n_features, n_samples, ridge: float = 0.0, noise: float = 0.0
) -> RidgeSolution:
    """Deterministic equivalent of ridge regression with ``N`` linear random features.

    THEORY.md §2 "Closed forms" (the linear-random-feature ridge equivalent; see the module
    docstring for the conventions): ``g`` solves the single monotone equation
    ``z(g) + δN/(g(N − z(g))) = T`` on ``g > z⁻¹(N)``, ``κ = g(N − z(g))/N``, and
    ``E = [Σ v_k²((1 − l_k) − κ l_k/(λ_k+g) · N/(N − q)) + σ²]/(1 − x)``,
    ``x = [q(N − 2z) + z²]/[T(N − q)]``. ``N = ∞`` is kernel ridge regression on the latent
    kernel, ``T = ∞`` the population (least-squares projection onto the features). Without ridge
    the solution is the min-norm limit ``δ → 0⁺``; ``E = ∞`` at ``N = T < M`` (the double-descent
    peak).

    Args:
        eigenvalues: ``(M,)`` latent eigenvalues ``λ_k > 0``.
        target_power: ``(M,)`` target power ``v_k² = λ_k E[w_k²] ≥ 0``.
        n_features: ``N > 0`` (``math.inf`` allowed).
        n_samples: ``T > 0`` (``math.inf`` allowed).
        ridge: ``δ ≥ 0`` (unnormalised, on the kernel scale).
        noise: label-noise variance ``σ² ≥ 0``.

    Returns:
        :class:`RidgeSolution` (floats).
    """
    lam, v2 = _check_spectrum(eigenvalues, target_power)
    n = _check_size("n_features", n_features)
    t = _check_size("n_samples", n_samples)
    delta = _check_nonneg("ridge", ridge)
    sigma2 = _check_nonneg("noise", noise)
    return _ridge_scalar(lam, v2, n, t, delta, sigma2)


def ridge_loss(
    eigenvalues, target_power, n_features, n_samples, ridge=0.0, noise=0.0
) -> float | np.ndarray:
    """Expected test loss of ridge regression with linear random features (deterministic equiv.).

    See :func:`ridge_solution` for the equations. ``n_features``, ``n_samples``, ``ridge`` and
    ``noise`` broadcast against each other (numpy rules); the result has their broadcast shape
    (a float for scalars), dtype float64.

    Raises:
        ValueError: non-positive sizes, negative ridge or noise, bad spectrum.
    """
    lam, v2 = _check_spectrum(eigenvalues, target_power)
    args = np.broadcast_arrays(
        np.asarray(n_features, dtype=np.float64),
        np.asarray(n_samples, dtype=np.float64),
        np.asarray(ridge, dtype=np.float64),
        np.asarray(noise, dtype=np.float64),
    )
    out = np.empty(args[0].shape)
    for idx in np.ndindex(out.shape):
        n = _check_size("n_features", args[0][idx])
        t = _check_size("n_samples", args[1][idx])
        d = _check_nonneg("ridge", args[2][idx])
        s = _check_nonneg("noise", args[3][idx])
        out[idx] = _ridge_scalar(lam, v2, n, t, d, s).test_loss
    return float(out) if out.ndim == 0 else out


# --------------------------------------------------------------------------------------------
# ridgeless isotropic closed form (MRS)
# --------------------------------------------------------------------------------------------


def c_alpha(alpha: float) -> float:
    """``C_α = [π/((1+α) sin(π/(1+α)))]^(1+α)`` (MRS's large-``n`` constant; ``C₁ = π²/4``).

    It comes from ``df(κ) = n`` in the continuum:
    ``∫₀^∞ du/(1 + u^(1+α)) = π/((1+α) sin(π/(1+α)))``.
    """
    alpha = _check_exponent("alpha", alpha, lower=0.0)
    p = 1.0 + alpha
    return (math.pi / (p * math.sin(math.pi / p))) ** p


def _ridgeless_args(alpha, n_latent, n_features, n_samples, lambda_plus, sigma_w2):
    alpha = _check_exponent("alpha", alpha, lower=0.0)
    m = _check_int("n_latent", n_latent)
    lp = _check_size("lambda_plus", lambda_plus, allow_inf=False)
    sw = _check_size("sigma_w2", sigma_w2, allow_inf=False)
    nf, ns = np.broadcast_arrays(
        np.asarray(n_features, dtype=np.float64), np.asarray(n_samples, dtype=np.float64)
    )
    for idx in np.ndindex(nf.shape):
        _check_size("n_features", nf[idx])
        _check_size("n_samples", ns[idx])
    return alpha, m, lp, sw, nf, ns


def ridgeless_loss(
    alpha: float,
    n_latent: int,
    n_features,
    n_samples,
    *,
    lambda_plus: float = 1.0,
    sigma_w2: float = 1.0,
):
    """MRS's ridgeless test loss for the isotropic teacher, linear features, no label noise.

    ``E(N, T) = (σ_w²/M) · n κ_n/(1 − n/n')`` with ``n = min(N, T)``, ``n' = max(N, T)`` and
    ``κ_n`` solving ``Σ_I λ_I/(λ_I + κ) = n`` for ``λ_I = λ₊ I^(−(1+α))``, ``I = 1..M``
    (MRS eq. for the ridgeless limit; THEORY.md §2). Symmetric in ``N ↔ T`` (duality), infinite
    at ``N = T < M`` (double-descent peak), and ``0`` once ``min(N, T) ≥ M`` (plateau).

    Args:
        alpha: ``α > 0`` (``b = a = 1 + α``).
        n_latent: ``M``.
        n_features, n_samples: ``N, T > 0`` (``math.inf`` allowed); broadcast against each other.
        lambda_plus, sigma_w2: ``λ₊`` and ``σ_w²``.

    Returns:
        float (scalars) or float64 array of the broadcast shape.
    """
    alpha, m, lp, sw, nf, ns = _ridgeless_args(
        alpha, n_latent, n_features, n_samples, lambda_plus, sigma_w2
    )
    lam = lp * np.arange(1, m + 1, dtype=np.float64) ** (-(1.0 + alpha))
    out = np.empty(nf.shape)
    for idx in np.ndindex(nf.shape):
        n, n2 = min(nf[idx], ns[idx]), max(nf[idx], ns[idx])
        if n >= m:
            out[idx] = 0.0
        elif n == n2:
            out[idx] = math.inf
        else:
            kappa = _inverse_df(lam, n)
            ratio = 0.0 if math.isinf(n2) else n / n2
            out[idx] = sw / m * n * kappa / (1.0 - ratio)
    return float(out) if out.ndim == 0 else out


def ridgeless_asymptote(
    alpha: float,
    n_latent: int,
    n_features,
    n_samples,
    *,
    lambda_plus: float = 1.0,
    sigma_w2: float = 1.0,
):
    """Large-``n`` form of :func:`ridgeless_loss`: ``(σ_w² λ₊/M) C_α n^(−α)/(1 − n/n')``.

    Valid for ``1 ≪ n ≪ M`` (it ignores the cutoff at ``M``, so it misses the plateau).
    """
    alpha, m, lp, sw, nf, ns = _ridgeless_args(
        alpha, n_latent, n_features, n_samples, lambda_plus, sigma_w2
    )
    n = np.minimum(nf, ns)
    n2 = np.maximum(nf, ns)
    with np.errstate(divide="ignore"):
        ratio = np.where(np.isinf(n2), 0.0, n / n2)
        out = sw * lp / m * c_alpha(alpha) * n ** (-alpha) / (1.0 - ratio)
    out = np.where(ratio >= 1.0, np.inf, out)
    return float(out) if out.ndim == 0 else out


# --------------------------------------------------------------------------------------------
# exponents
# --------------------------------------------------------------------------------------------


def exponents(b: float, a: float) -> dict[str, float]:
    """Scaling exponents of the noiseless single model (THEORY.md §2 "Exponents").

    Keys (loss ``∝ X^(−e)``): ``e_t = (a−1)/b`` (gradient-flow time, ``N = T = ∞``),
    ``e_P = min(a−1, 2b)`` (samples, ``N = ∞``), ``e_N = min(a−1, b)`` (features, ``T = ∞``).
    Compute ``C = N t`` at ``T = ∞`` with ``m = e_N`` (BAP §5): signed powers of ``C``,
    ``compute_N = (a−1)/(a−1+bm)`` (``N* ∝ C^compute_N``), ``compute_t = bm/(a−1+bm)``,
    ``compute_loss = −(a−1)m/(a−1+bm)`` (``E* ∝ C^compute_loss``).

    Args:
        b: capacity exponent, ``b > 1``. a: source exponent, ``a > 1``.
    """
    b = _check_exponent("b", b)
    a = _check_exponent("a", a)
    e_n = min(a - 1.0, b)
    denom = a - 1.0 + b * e_n
    return {
        "e_t": (a - 1.0) / b,
        "e_P": min(a - 1.0, 2.0 * b),
        "e_N": e_n,
        "compute_N": (a - 1.0) / denom,
        "compute_t": b * e_n / denom,
        "compute_loss": -(a - 1.0) * e_n / denom,
    }


# --------------------------------------------------------------------------------------------
# gradient flow: BAP large-size theory
# --------------------------------------------------------------------------------------------


class GradientFlowCurves(NamedTuple):
    """Loss curves of gradient flow. Attributes: ``times``, ``test``, ``train`` (``(n_t,)``)."""

    times: np.ndarray
    test: np.ndarray
    train: np.ndarray


# Weideman & Trefethen (2007, Math. Comp. 76, "Parabolic and hyperbolic contours for computing
# the Bromwich integral"), optimised cotangent ("Talbot") contour s(θ) = (n/t) c(θ), θ ∈ (−π, π).
_WT = (-0.6122, 0.5017, 0.6407, 0.2645)


def _wt_contour(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Upper-half nodes of the contour for ``t = 1``: ``c(θ)``, ``c'(θ)``, trapezoid weight."""
    c0, c1, c2, c3 = _WT
    h = 2.0 * math.pi / n
    th = (np.arange(n // 2) + 0.5) * h
    c = n * (c0 + c1 * th / np.tan(c2 * th) + 1j * c3 * th)
    dc = n * (c1 / np.tan(c2 * th) - c1 * c2 * th / np.sin(c2 * th) ** 2 + 1j * c3)
    return th, c, dc * h / (2j * math.pi)


class _Spectral:
    """One-point functions of the latent spectrum at (complex) renormalised ridge ``g``.

    ``g = g_lo + u`` with ``z(g_lo) = min(N, T)`` (``g_lo = 0`` if ``min(N, T) ≥ M``); the gap
    ``u`` is the unknown, because at long times ``u ≪ g_lo`` and the binding deficit
    ``1 − z/min(N, T) = u Σ λ/((λ+g)(λ+g_lo)) / min(N, T)`` must not be computed as a
    difference of nearly equal numbers.
    """

    def __init__(self, lam, n, t):
        self.lam = lam
        self.n, self.t = n, t
        m = lam.size
        self.n_min = min(n, t)
        self.g_lo = _inverse_df(lam, self.n_min) if self.n_min < m else 0.0

    def deficits(self, u):
        """``g``, ``1 − z/N``, ``1 − z/T``, ``z`` and ``dz/dg`` at gap ``u`` (any shape)."""
        lam = self.lam
        g = self.g_lo + u
        inv = 1.0 / (lam + g[..., None])
        r = lam * inv
        z = r.sum(-1)
        dz = -(r * inv).sum(-1)
        if self.g_lo > 0.0:
            short = u * (r @ (1.0 / (lam + self.g_lo))) / self.n_min
        else:
            short = None

        def deficit(size):
            if math.isinf(size):
                return np.ones_like(z)
            if short is not None and size == self.n_min:
                return short
            return 1.0 - z / size

        return g, deficit(self.n), deficit(self.t), z, dz

    def s_of_u(self, u):
        """Per-sample ridge ``s = g (1 − z/N)(1 − z/T)`` and ``ds/du``."""
        g, dn, dt, _, dz = self.deficits(u)
        inv_n = 0.0 if math.isinf(self.n) else 1.0 / self.n
        inv_t = 0.0 if math.isinf(self.t) else 1.0 / self.t
        return g * dn * dt, dn * dt - g * dz * (dt * inv_n + dn * inv_t)

    def u_real(self, s: float) -> float:
        def f(log_u):
            return float(self.s_of_u(np.array(math.exp(log_u)))[0]) - s

        scale = max(self.g_lo, float(self.lam.min()), s)
        lo, hi = math.log(scale) - 30.0, math.log(scale) + 30.0
        while f(lo) >= 0.0:
            lo -= 30.0
        while f(hi) <= 0.0:
            hi += 30.0
        return math.exp(optimize.brentq(f, lo, hi, xtol=1e-14, rtol=1e-15))

    def u_contour(self, s_nodes: np.ndarray, s_start: np.ndarray) -> np.ndarray:
        """``u(s)`` on ``s_nodes[:, j]`` (times × nodes), Newton-continued from real ``s_start``."""
        u = np.array([self.u_real(float(s)) for s in s_start], dtype=np.complex128)
        prev = s_start.astype(np.complex128)
        out = np.empty(s_nodes.shape, dtype=np.complex128)
        for j in range(s_nodes.shape[1]):
            target = s_nodes[:, j]
            u = self._continue(u, prev, target)
            out[:, j] = u
            prev = target
        return out

    def _continue(self, u, s_from, s_to):
        n_sub = 1
        while n_sub <= 4096:
            uu = u.copy()
            ok = np.ones(u.shape, dtype=bool)
            for k in range(1, n_sub + 1):
                st = s_from + (s_to - s_from) * k / n_sub
                conv = np.zeros(u.shape, dtype=bool)
                for _ in range(40):
                    f, df = self.s_of_u(uu)
                    step = (f - st) / df
                    uu = uu - step
                    conv = np.abs(step) <= 1e-10 * np.abs(uu)
                    if conv.all():
                        # quadratic convergence: one more step reaches rounding level
                        f, df = self.s_of_u(uu)
                        uu = uu - (f - st) / df
                        break
                ok &= conv & np.isfinite(uu)
            if ok.all():
                return uu
            n_sub *= 2
        raise RuntimeError("gradient_flow_loss: continuation of g(s) did not converge")


def gradient_flow_loss(
    eigenvalues,
    target_power,
    n_features,
    n_samples,
    times,
    noise: float = 0.0,
    *,
    n_nodes: int = 16,
) -> GradientFlowCurves:
    """Large-size (BAP) theory of the test and train loss of gradient flow with linear RFs.

    BAP (arXiv 2402.01092, §3–4) solve the gradient-flow dynamics of this model with dynamical
    mean-field theory in the frequency domain: each latent mode's mean error evolves with a
    transfer function of the form ``H_k(ω) = 1/(iω + λ_k R₁(ω) R₂(ω))``, the two factors
    accounting for the finite data set and the finite feature projection, and the loss adds the
    variance (correlation) terms those bottlenecks create. The paper's text was not available
    when this was written, so its equations are *not* transcribed here (equation numbers
    unchecked); we implement the same large-size limit in an equivalent resolvent form, derived
    for this module and checked numerically:

    * The Laplace transform of the flow, ``∫ e^{−st} β̇ dt = (Ŝ + s)⁻¹ b̂``, is the ridge estimator at
      per-sample ridge ``s``, so ``β(t) = L⁻¹[β_s/s](t)`` and the expected loss at time ``t`` is the
      double inverse Laplace transform of the *two-ridge* equivalent ``D(s, s')/(s s')``.
    * At ridge ``s`` the feature-level ridge ``g`` solves ``s = g (1 − z(g)/N)(1 − z(g)/T)`` and
      ``κ = g (1 − z(g)/N)``. Then ``s H_k = g/(λ_k + g)`` with ``R₁ = 1 − z/T``, ``R₂ = 1 − z/N``:
      BAP's mean-field transfer function.
    * Given the features, the problem is linear regression on Gaussian features with covariance
      ``S = FΛF^T/N``, target ``β* = S⁻¹c`` and effective noise ``σ_e² = σ² + ε_F``,
      ``ε_F = Σ v_k² g₀/(λ_k + g₀)``, ``z(g₀) = N`` (the ``T = ∞`` projection error). With
      ``m(κ) = Σ v_k² λ_k/(λ_k + g(κ))`` and ``df(κ) = z(g(κ))``:
      ``D = [A + σ_e² d₂/T]/(1 − d₂/T)``, ``A = m(0) + (κ' m(κ) − κ m(κ'))/(κ − κ')``,
      ``d₂ = (κ' df(κ') − κ df(κ))/(κ' − κ)`` (their confluent limits on the diagonal);
      test ``= L⁻¹L⁻¹[D/(s s')] + σ_e²``, train ``= L⁻¹L⁻¹[(D + σ_e²)/(κ κ')]``. At ``s = s'``
      this reproduces :func:`ridge_solution` (test and train) exactly, which is the check of the
      algebra; the two-ridge form was checked against simulated ridge pairs and the flow against
      :func:`realised_loss_curve` averaged over seeds (tests/test_theory_random_features.py).
    * The inverse Laplace transforms use the Weideman–Trefethen cotangent contour with
      ``n_nodes`` nodes (relative accuracy ~1e−9 at 16, ~1e−7 at 12), ``g(s)`` continued along it
      by Newton.

    ``T = ∞`` is the population (online, no reuse) flow, ``N = ∞`` the kernel (latent) flow; at
    ``N = T = ∞`` the loss is ``Σ v_k² e^{−2λ_k t} + σ²``. Time is ``t = η × steps`` for gradient
    descent with a small step ``η`` on ``½ ×`` the training MSE.

    Args:
        eigenvalues: ``(M,)`` latent eigenvalues. target_power: ``(M,)`` ``v_k²``.
        n_features, n_samples: ``N, T > 0`` (``math.inf`` allowed).
        times: ``(n_t,)`` positive times.
        noise: label-noise variance ``σ²``.
        n_nodes: contour nodes (even, ≥ 8).

    Returns:
        :class:`GradientFlowCurves` of float64 arrays ``(n_t,)``.
    """
    lam, v2 = _check_spectrum(eigenvalues, target_power)
    n = _check_size("n_features", n_features)
    t_samples = _check_size("n_samples", n_samples)
    sigma2 = _check_nonneg("noise", noise)
    n_nodes = _check_int("n_nodes", n_nodes, 8)
    if n_nodes % 2:
        raise ValueError(f"n_nodes must be even, got {n_nodes}")
    times = np.atleast_1d(np.asarray(times, dtype=np.float64))
    if times.ndim != 1 or not (np.isfinite(times).all() and (times > 0).all()):
        raise ValueError("times must be a 1-D array of finite values > 0")

    sp = _Spectral(lam, n, t_samples)
    # g_proj: z(g_proj) = N, the T = ∞ projection; eps_f = sum v^2 g_proj/(lam + g_proj)
    g_proj = _inverse_df(lam, n) if n < lam.size else 0.0
    eps_f = float(np.sum(v2 * g_proj / (lam + g_proj)))
    sigma_e = sigma2 + eps_f

    _, c, w = _wt_contour(n_nodes)
    s_half = c[None, :] / times[:, None]  # (n_t, n/2)
    s_real = (n_nodes * (_WT[0] + _WT[1] / _WT[2])) / times
    u_half = sp.u_contour(s_half, s_real)
    s_all = np.concatenate([s_half, s_half.conj()], axis=1)
    u_all = np.concatenate([u_half, u_half.conj()], axis=1)
    w_all = np.concatenate([w, w.conj()])[None, :] / times[:, None]

    g, dn, dt, _, _ = sp.deficits(u_all)  # (n_t, n) each
    inv_n = 0.0 if math.isinf(n) else 1.0 / n
    inv_t = 0.0 if math.isinf(t_samples) else 1.0 / t_samples
    res = 1.0 / (lam + g[..., None])  # (n_t, n, M) resolvent entries 1/(λ_k + g)
    kap = g * dn
    # Δm(κ) = m(0) − m(κ) = Σ v² λ (g − g_proj)/((λ+g)(λ+g_proj))
    dm = ((sp.g_lo - g_proj) + u_all) * (v2 * lam * res / (lam + g_proj)).sum(-1)
    # Pair sums, so that no difference of nearly equal numbers is ever formed (at long times
    # the nodes crowd around s = 0 and κ, κ' differ in their last digits):
    #   P_z = Σ λ/((λ+g)(λ+g')),  P_m = Σ v² λ/((λ+g)(λ+g')),
    #   κ − κ' = (u − u') P_k with P_k = (1 − z/N) + g' P_z/N,
    #   Δm(κ') − Δm(κ) = (u − u') P_m, (1 − z/T) − (1 − z'/T) = (u − u') P_z/T.
    p_z = np.matmul(res * lam, np.swapaxes(res, -1, -2))  # (n_t, n, n)
    p_m = np.matmul(res * (v2 * lam), np.swapaxes(res, -1, -2))
    p_k = dn[:, :, None] + g[:, None, :] * p_z * inv_n
    k1 = kap[:, :, None]
    # A = m(0) + (κ' m(κ) − κ m(κ'))/(κ − κ') = Δm(κ) − κ P_m/P_k
    a_mat = dm[:, :, None] - k1 * p_m / p_k
    # 1 − d₂/T = (κ' (1 − z'/T) − κ (1 − z/T))/(κ' − κ) = (1 − z'/T) + κ P_z/(T P_k)
    one_minus = dt[:, None, :] + k1 * p_z * inv_t / p_k
    d_mat = (a_mat + sigma_e * (1.0 - one_minus)) / one_minus
    k2 = kap[:, None, :]

    ew = np.exp(s_all * times[:, None]) * w_all  # (n_t, n)
    test_f = d_mat / (s_all[:, :, None] * s_all[:, None, :])
    train_f = (d_mat + sigma_e) / (k1 * k2)
    test = np.einsum("ti,tij,tj->t", ew, test_f, ew).real + sigma_e
    train = np.einsum("ti,tij,tj->t", ew, train_f, ew).real
    return GradientFlowCurves(times=times, test=test, train=train)


# --------------------------------------------------------------------------------------------
# exact curves of one realised model
# --------------------------------------------------------------------------------------------


def realised_loss_curve(
    eigenvalues,
    teacher,
    projection,
    *,
    times=None,
    steps=None,
    learning_rate: float | None = None,
    data=None,
    labels=None,
    noise: float = 0.0,
) -> GradientFlowCurves:
    """Exact loss curve of one realised linear random-feature model trained from ``β = 0``.

    Diagonalises the feature covariance once — ``Ŝ = Z^T Z/T`` on the training set, or
    ``S = FΛF^T/N`` for the population (``data=None``, ``T = ∞``) — and evaluates every mode in
    closed form: gradient flow multiplies mode ``i`` by ``(1 − e^{−t e_i})/e_i``, gradient descent
    with step ``η`` after ``k`` steps by ``(1 − (1 − η e_i)^k)/e_i``. Test loss
    ``(w − F^Tβ/√N)^T Λ (w − F^Tβ/√N) + σ²`` (exact over the input distribution), train loss
    ``(1/T)‖y − Zβ‖²`` (for the population the training objective is the test loss itself).

    Args:
        eigenvalues: ``(M,)`` latent ``λ_k``. teacher: ``(M,)`` ``w``. projection: ``(N, M)`` ``F``.
        times: ``(n_t,)`` flow times (give either ``times``, or ``steps`` and ``learning_rate``).
        steps: ``(n_t,)`` non-negative integer step counts of gradient descent.
        learning_rate: ``η > 0`` for gradient descent.
        data: ``(T, M)`` latent training inputs ``X``, or None for the population.
        labels: ``(T,)`` training labels (default ``X w``, noiseless).
        noise: ``σ²`` added to the test loss (the label noise of test points).

    Returns:
        :class:`GradientFlowCurves` (``times`` is ``η·steps`` for gradient descent).
    """
    lam = np.asarray(eigenvalues, dtype=np.float64)
    w = np.asarray(teacher, dtype=np.float64)
    f = np.asarray(projection, dtype=np.float64)
    if lam.ndim != 1 or w.shape != lam.shape:
        raise ValueError(f"teacher must have the shape of eigenvalues {lam.shape}, got {w.shape}")
    if f.ndim != 2 or f.shape[1] != lam.size:
        raise ValueError(f"projection must have shape (N, {lam.size}), got {f.shape}")
    if (times is None) == (steps is None):
        raise ValueError("give exactly one of times (gradient flow) or steps (gradient descent)")
    sigma2 = _check_nonneg("noise", noise)
    if steps is not None:
        if learning_rate is None:
            raise ValueError("steps requires learning_rate")
        eta = _check_size("learning_rate", learning_rate, allow_inf=False)
        k = np.atleast_1d(np.asarray(steps))
        if k.ndim != 1 or (k < 0).any() or not np.array_equal(k, np.round(k)):
            raise ValueError("steps must be a 1-D array of non-negative integers")
        k = k.astype(np.float64)
        tt = eta * k
    else:
        tt = np.atleast_1d(np.asarray(times, dtype=np.float64))
        if tt.ndim != 1 or not (np.isfinite(tt).all() and (tt >= 0).all()):
            raise ValueError("times must be a 1-D array of finite values >= 0")
    n = f.shape[0]
    s_pop = (f * lam) @ f.T / n
    c_pop = (f * lam) @ w / math.sqrt(n)
    signal = float(w @ (lam * w))
    if data is None:
        mat, vec, y2 = s_pop, c_pop, signal
    else:
        x = np.asarray(data, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != lam.size:
            raise ValueError(f"data must have shape (T, {lam.size}), got {x.shape}")
        y = x @ w if labels is None else np.asarray(labels, dtype=np.float64)
        if y.shape != (x.shape[0],):
            raise ValueError(f"labels must have shape ({x.shape[0]},), got {y.shape}")
        zmat = x @ f.T / math.sqrt(n)
        mat = zmat.T @ zmat / x.shape[0]
        vec = zmat.T @ y / x.shape[0]
        y2 = float(y @ y) / x.shape[0]
    e, v = np.linalg.eigh(mat)
    e = np.maximum(e, 0.0)
    proj = v.T @ vec
    if steps is not None:
        decay = (1.0 - eta * e[None, :]) ** k[:, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            phi = np.where(
                e[None, :] > 0, (1.0 - decay) / np.where(e > 0, e, 1.0), eta * k[:, None]
            )
    else:
        x_t = tt[:, None] * e[None, :]
        with np.errstate(divide="ignore", invalid="ignore"):
            phi = np.where(x_t > 1e-300, -np.expm1(-x_t) / np.where(e > 0, e, 1.0), tt[:, None])
    alpha = phi * proj  # beta(t) in the eigenbasis, (n_t, N)
    train = np.einsum("ti,i,ti->t", alpha, e, alpha) - 2.0 * alpha @ proj + y2
    if data is None:
        # the population objective is the test loss itself (noise included)
        test = train + sigma2
        train = test
    else:
        b_pop = v.T @ s_pop @ v
        test = (
            np.einsum("ti,ij,tj->t", alpha, b_pop, alpha)
            - 2.0 * alpha @ (v.T @ c_pop)
            + signal
            + sigma2
        )
    return GradientFlowCurves(times=tt, test=test, train=train)
