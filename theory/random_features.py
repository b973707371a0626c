"""Theory of random-feature regression (float64): MRS ridge(less), Bahri's regimes, BAP dynamics.

Papers: Maloney, Roberts & Sully, "A Solvable Model of Neural Scaling Laws", arXiv 2210.16859
(MRS); Bahri, Dyer, Kaplan, Lee & Sharma, "Explaining Neural Scaling Laws", arXiv 2102.06701;
Bordelon, Atanasov & Pehlevan, "A Dynamical Model of Neural Scaling Laws", arXiv 2402.01092 (BAP).
The simulator is :mod:`simulations.random_features`.

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
  with linear random features on any spectrum: solve
  ``z(g) + δ/κ = T`` and ``z(g) + Nκ/g = N`` as the single monotone equation
  ``z(g) + δN/(g(N − z(g))) = T`` for ``g`` above ``z⁻¹(N)``, then
  ``E = [Σ v_k²((1 − l_k) − κ l_k/(λ_k + g) · N/(N − q)) + σ²]/(1 − x)``,
  ``x = [q(N − 2z) + z²]/[T(N − q)]``. The training loss is ``(1 − z/T)² E`` (i.e. ``(s/κ)² E``).
  :func:`optimal_ridge` minimises it over the ridge ``δ``.
* :func:`ridgeless_loss`: MRS's isotropic ridgeless closed form
  ``E(N, T) = (σ_w²/M) n κ_n/(1 − n/n')``, ``n = min(N, T)``, ``n' = max(N, T)``, ``df(κ_n) = n``;
  :func:`ridgeless_asymptote` and :func:`c_alpha` give its large-``n`` form
  ``(σ_w² λ₊/M) C_α n^(−α)/(1 − n/n')``, ``C_α = [π/((1+α) sin(π/(1+α)))]^(1+α)``.
* :func:`gradient_flow_loss`: BAP's large-size theory of the test and train loss of gradient flow
  at finite ``N`` and ``T`` (see its docstring for the equations and how they were checked).
* :func:`realised_loss_curve`: the exact loss curve of one realised model (given ``F``, ``w`` and
  the training set), by diagonalising the (empirical) feature covariance once; its kernel
  :func:`eigenbasis_curves` (with :func:`flow_filter`, :func:`descent_filter`) also runs on
  ``jax.numpy`` arrays under ``jit`` and is the simulator's exact gradient-flow path, as
  :func:`power_law_latent` is its spectrum and teacher.
* :func:`exponents`: the scaling exponents in time, data, model size and compute.
* :func:`descent_top_eigenvalue` and :func:`max_learning_rate`: the typical top eigenvalue of
  the (empirical) feature covariance, ``λ₁ + Σλ (1/N + 1/T)``, and the learning rate ``2/e``
  above which gradient descent diverges.

The gradient-flow part lives in the private module ``theory._rf_flow`` and is re-exported here.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from scipy import optimize

from theory._rf_flow import (
    EigenbasisCurves,
    GradientFlowCurves,
    descent_filter,
    eigenbasis_curves,
    flow_filter,
    gradient_flow_loss,
    realised_loss_curve,
)
from theory._rf_spectrum import (
    check_spectrum,
    degrees_of_freedom,
    descent_top_eigenvalue,
    inverse_df,
    max_learning_rate,
)
from theory.checks import check_float, check_int, check_interval, check_size

__all__ = [
    "EigenbasisCurves",
    "GradientFlowCurves",
    "RidgeSolution",
    "c_alpha",
    "descent_filter",
    "descent_top_eigenvalue",
    "eigenbasis_curves",
    "exponents",
    "flow_filter",
    "gradient_flow_loss",
    "latent_spectrum",
    "max_learning_rate",
    "optimal_ridge",
    "power_law_latent",
    "realised_loss_curve",
    "ridge_loss",
    "ridge_solution",
    "ridgeless_asymptote",
    "ridgeless_loss",
    "target_power",
]


# --------------------------------------------------------------------------------------------
# spectra
# --------------------------------------------------------------------------------------------


def latent_spectrum(n_latent: int, b: float, lambda_plus: float = 1.0) -> np.ndarray:
    """Latent eigenvalues ``λ_k = λ₊ k^(−b)``, ``k = 1..M`` (MRS: ``b = 1 + α``).

    Returns:
        ``(n_latent,)`` float64.
    """
    m = check_int("n_latent", n_latent)
    b = check_float("b", b, low=1.0, strict=True)
    lp = check_size("lambda_plus", lambda_plus, allow_inf=False)
    return lp * np.arange(1, m + 1, dtype=np.float64) ** (-b)


def target_power(
    n_latent: int, a: float, lambda_plus: float = 1.0, sigma_w2: float = 1.0
) -> np.ndarray:
    """Mean target power per mode ``v_k² = λ₊ σ_w² k^(−a)/M`` (MRS teacher when ``a = b``).

    Returns:
        ``(n_latent,)`` float64.
    """
    m = check_int("n_latent", n_latent)
    a = check_float("a", a, low=1.0, strict=True)
    lp = check_size("lambda_plus", lambda_plus, allow_inf=False)
    sw = check_size("sigma_w2", sigma_w2, allow_inf=False)
    return lp * sw * np.arange(1, m + 1, dtype=np.float64) ** (-a) / m


def power_law_latent(k, b, a, n_latent):
    """``λ_k = k^(−b)`` and the teacher variance ``E[w_k²] = k^(b−a)/M`` (``λ₊ = σ_w² = 1``).

    No checks and no conversion: works on numpy arrays and, unchanged, on ``jax.numpy`` arrays
    with traced ``b``, ``a`` (the simulator draws ``w_k = √(E[w_k²]) g_k`` from it). Then
    ``λ_k E[w_k²]`` is :func:`target_power`.

    Args:
        k: ``(M,)`` mode indices ``1..M`` (float dtype). b, a: exponents. n_latent: ``M``.

    Returns:
        ``(λ, E[w²])``, two ``(M,)`` arrays.
    """
    return k ** (-b), k ** (b - a) / n_latent


# --------------------------------------------------------------------------------------------
# ridge deterministic equivalent
# --------------------------------------------------------------------------------------------


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
    g_lo = inverse_df(lam, n) if n < m else 0.0
    if delta == 0.0 or math.isinf(t):
        if not math.isinf(t) and t < min(n, m) and delta == 0.0:
            g = inverse_df(lam, t)
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
                n_z = math.inf if math.isinf(n) else n - degrees_of_freedom(lam, g)
            return g, (1.0 if math.isinf(n) else n_z * inv_n)

        def h(u):
            g, shrink = split(u)
            return degrees_of_freedom(lam, g) + delta / (g * shrink) - t

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

    The deterministic equivalent of linear-random-feature ridge regression (MRS, arXiv
    2210.16859, written here for any spectrum; see the module docstring for the conventions):
    ``g`` solves the single monotone equation ``z(g) + δN/(g(N − z(g))) = T`` on ``g > z⁻¹(N)``,
    ``κ = g(N − z(g))/N``, and
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
    lam, v2 = check_spectrum(eigenvalues, target_power)
    n = check_size("n_features", n_features)
    t = check_size("n_samples", n_samples)
    delta = check_float("ridge", ridge, low=0.0)
    sigma2 = check_float("noise", noise, low=0.0)
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
    lam, v2 = check_spectrum(eigenvalues, target_power)
    args = np.broadcast_arrays(
        np.asarray(n_features, dtype=np.float64),
        np.asarray(n_samples, dtype=np.float64),
        np.asarray(ridge, dtype=np.float64),
        np.asarray(noise, dtype=np.float64),
    )
    out = np.empty(args[0].shape)
    for idx in np.ndindex(out.shape):
        n = check_size("n_features", args[0][idx])
        t = check_size("n_samples", args[1][idx])
        d = check_float("ridge", args[2][idx], low=0.0)
        s = check_float("noise", args[3][idx], low=0.0)
        out[idx] = _ridge_scalar(lam, v2, n, t, d, s).test_loss
    return float(out) if out.ndim == 0 else out


def optimal_ridge(
    eigenvalues,
    target_power,
    n_features,
    n_samples,
    noise: float = 0.0,
    *,
    bounds: tuple[float, float] = (1e-8, 1e3),
    xatol: float = 1e-4,
) -> float:
    """The ridge ``δ*`` that minimises :func:`ridge_loss` at fixed ``N``, ``T`` and noise.

    Bounded scalar minimisation of ``log E(δ)`` over ``log δ ∈ log(bounds)`` (tolerance ``xatol``
    in ``log δ``). With label noise the optimum is interior; at ``N = T`` the ridgeless loss is
    infinite and only ``δ > 0`` reaches it (MRS's equiparameterization).

    Args:
        eigenvalues, target_power: the spectrum (see :func:`ridge_solution`).
        n_features, n_samples: ``N, T > 0``. noise: ``σ² ≥ 0``.
        bounds: search interval ``(δ_lo, δ_hi)``, ``0 < δ_lo < δ_hi``.
        xatol: absolute tolerance in ``log δ``.

    Returns:
        ``δ*`` (float).
    """
    lam, v2 = check_spectrum(eigenvalues, target_power)
    n = check_size("n_features", n_features)
    t = check_size("n_samples", n_samples)
    sigma2 = check_float("noise", noise, low=0.0)
    lo, hi = check_interval("bounds", bounds)
    if lo <= 0.0:
        raise ValueError(f"bounds must be > 0, got {bounds!r}")
    res = optimize.minimize_scalar(
        lambda u: math.log(ridge_loss(lam, v2, n, t, math.exp(u), sigma2)),
        bounds=(math.log(lo), math.log(hi)),
        method="bounded",
        options={"xatol": check_float("xatol", xatol, low=0.0, strict=True)},
    )
    return math.exp(res.x)


# --------------------------------------------------------------------------------------------
# ridgeless isotropic closed form (MRS)
# --------------------------------------------------------------------------------------------


def c_alpha(alpha: float) -> float:
    """``C_α = [π/((1+α) sin(π/(1+α)))]^(1+α)`` (MRS's large-``n`` constant; ``C₁ = π²/4``).

    It comes from ``df(κ) = n`` in the continuum:
    ``∫₀^∞ du/(1 + u^(1+α)) = π/((1+α) sin(π/(1+α)))``.
    """
    alpha = check_float("alpha", alpha, low=0.0, strict=True)
    p = 1.0 + alpha
    return (math.pi / (p * math.sin(math.pi / p))) ** p


def _ridgeless_args(alpha, n_latent, n_features, n_samples, lambda_plus, sigma_w2):
    alpha = check_float("alpha", alpha, low=0.0, strict=True)
    m = check_int("n_latent", n_latent)
    lp = check_size("lambda_plus", lambda_plus, allow_inf=False)
    sw = check_size("sigma_w2", sigma_w2, allow_inf=False)
    nf, ns = np.broadcast_arrays(
        np.asarray(n_features, dtype=np.float64), np.asarray(n_samples, dtype=np.float64)
    )
    for idx in np.ndindex(nf.shape):
        check_size("n_features", nf[idx])
        check_size("n_samples", ns[idx])
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
    (MRS's ridgeless limit). Symmetric in ``N ↔ T`` (duality), infinite
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
            kappa = inverse_df(lam, n)
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
    """Scaling exponents of the noiseless single model (Bahri et al.; BAP).

    Keys (loss ``∝ X^(−e)``): ``e_t = (a−1)/b`` (gradient-flow time, ``N = T = ∞``),
    ``e_P = min(a−1, 2b)`` (samples, ``N = ∞``), ``e_N = min(a−1, b)`` (features, ``T = ∞``).
    Compute ``C = N t`` at ``T = ∞`` with ``m = e_N`` (BAP §5): signed powers of ``C``,
    ``compute_N = (a−1)/(a−1+bm)`` (``N* ∝ C^compute_N``), ``compute_t = bm/(a−1+bm)``,
    ``compute_loss = −(a−1)m/(a−1+bm)`` (``E* ∝ C^compute_loss``).

    Args:
        b: capacity exponent, ``b > 1``. a: source exponent, ``a > 1``.
    """
    b = check_float("b", b, low=1.0, strict=True)
    a = check_float("a", a, low=1.0, strict=True)
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
