"""Theory of power-law random features (PLRF) trained by one-pass SGD, in float64.

Paquette, Paquette, Xiao, Pennington, "4+3 Phases of Compute-Optimal Neural Scaling Laws",
NeurIPS 2024, arXiv 2405.15074. The simulator is :mod:`simulations.plrf`.

Model and symbols (one convention everywhere):

* data ``x ~ N(0, D)`` in ``R^v`` with ``D = diag(σ_j)``, ``σ_j = j^(-2α)``, ``j = 1..v``; target
  ``y = ⟨x, b⟩`` with ``b_j = j^(-β)``; admissible ``α > 0`` and ``2α + 2β > 1``;
* embedding ``W ∈ R^(v×d)`` with i.i.d. ``N(0, 1/d)`` entries, ``v > d``; parameters ``θ ∈ R^d``,
  ``θ_0 = 0``; population loss ``P(θ) = ‖D^(1/2)(Wθ − b)‖²`` (full MSE, no ½);
* one-pass SGD with batch ``B`` and learning rate ``γ`` (``learning_rate``), ``r`` steps; compute
  ``f = d·B·r``; SGD "time" ``t = γ B r``; the paper's learning rate ``γ = c/Σ_(j≤v) j^(−2α)``
  (:func:`learning_rate`, ``c`` = ``lr_scale``);
* ``K̂ = Wᵀ D W`` (``d×d``) with eigenpairs ``(λ_i, u_i)``; ``θ* = K̂⁻¹ Wᵀ D b``; ``P* = min P``;
  ``ρ_i = ⟨u_i, θ*⟩²``; ``c = D^(1/2) b`` (so ``‖c‖² = Σ_j j^(-2α-2β) = P(θ_0)``);
* ``q(λ) = 1 − 2γBλ + γ²B(B+1)λ²`` and the kernel norm ``‖K‖ = Σ_i γλ_i / (2 − γ(B+1)λ_i)``.
* Exponent convention: ``Q ∝ X^(-e)`` has exponent ``e`` (positive when ``Q`` falls).
  Compute-optimal exponents: ``d*(f) ∝ f^ξ`` and ``P(f/d*, d*) ∝ f^(-η)``.

Contents: the phase diagram (:func:`phase`, :func:`compute_optimal_exponents`,
:func:`scaling_terms`, :func:`phase_boundaries`, :func:`exponent_maps`); spectra
(:class:`Spectrum`, :func:`realised_spectrum`, :func:`deterministic_equivalent_spectrum`,
:func:`limit_level`, :func:`limit_level_exponent`); the exact expected-loss dynamics
(:func:`expected_loss`, and the jittable :func:`expected_loss_curve` and
:func:`expected_loss_curve_exact`, from :mod:`theory._plrf_volterra`); stability before any
simulation (:func:`stability_limit`, :func:`check_stable`, :func:`equivalent_kernel_norm`: the
largest stable learning rate of the deterministic equivalent, from :mod:`theory._plrf_stability`);
the learning rate (:func:`learning_rate`, usable on floats and under ``jit``); the asymptotic terms.

Findings recorded while implementing (see also :func:`phase`):

* The balance recipe (each term ``c·f^(-g)·d^e``; ``η = max_ξ min_terms (g − eξ)``) reproduces every
  row of the paper's table of compute-optimal exponents (§3), provided the SGD-noise term is
  ``K_pp/(γB) ≍ γ t^(-(2-1/(2α)))`` (the noise term ``K(r) Σ_(s<r) F(s)`` with
  ``Σ_s F(s) ≍ 1/(γB)`` when ``2β > 1``).
* Sub-phases of IV: for ``2α < 1`` (``γ ∝ d^(2α−1)``) the noise term's ``d``-exponent is
  ``e = 4 − 2α − 1/α``, which changes sign at ``2α² − 4α + 1 = 0``, i.e. ``α₀ = 1 − 1/√2``. For
  ``α > α₀`` the noise grows with ``d`` and balances the capacity term ``F₀`` (``ξ = 1/2``,
  ``η = α``); for ``α < α₀`` it falls with ``d`` and ``F_pp`` balances it. The labels used here
  (IVa: ``α₀ < α < 1/2``; IVb: ``1/4 < α < α₀``) follow the a-b-c order of phase I (Ia has the
  largest ``α``); they were not checked against the paper's text.
* The region ``2β < 1``, ``α < 1/4`` (above ``2α + 2β = 1``) is not a row of that table; the
  recipe gives the Ib balance there (``F_pp = F₀``, ``ξ = 1/2``, ``η = (2α+2β−1)/2``), so
  :func:`phase` returns ``"Ib"`` for all ``2β < 1 < 2α + 2β``, ``2α < 1``.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from scipy import special

from theory._plrf_continuum import MAX_CLOSURE, continuum_limit_level, continuum_spectrum
from theory._plrf_spectra import deterministic_equivalent_bins, limit_kappa
from theory._plrf_stability import (
    StabilityLimit,
    check_stable,
    equivalent_kernel_norm,
    power_sum,
    stability_limit,
)
from theory._plrf_volterra import (
    Spectrum,
    expected_loss,
    expected_loss_curve,
    expected_loss_curve_exact,
    forcing_function,
    kernel_function,
    kernel_norm,
    stability_check,
)
from theory.checks import check_float, check_int, check_interval

__all__ = [
    "ALPHA_0",
    "MAX_CLOSURE",
    "PHASES",
    "REFERENCE_POINTS",
    "Spectrum",
    "StabilityLimit",
    "asymptotic_terms",
    "check_stable",
    "compute_optimal_exponents",
    "continuum_limit_level",
    "continuum_spectrum",
    "default_learning_rate",
    "deterministic_equivalent_spectrum",
    "equivalent_kernel_norm",
    "expected_loss",
    "expected_loss_curve",
    "expected_loss_curve_exact",
    "exponent_maps",
    "forcing_function",
    "kernel_function",
    "kernel_norm",
    "learning_rate",
    "limit_level",
    "limit_level_exponent",
    "phase",
    "phase_boundaries",
    "power_law_trace",
    "power_sum",
    "realised_spectrum",
    "scaling_terms",
    "stability_check",
    "stability_limit",
    "validate_parameters",
]

ALPHA_0 = 1.0 - 1.0 / math.sqrt(2.0)
"""``α₀ = 1 − 1/√2 ≈ 0.2929``: boundary between phases IVa and IVb."""

PHASES = ("Ia", "Ib", "Ic", "II", "III", "IVa", "IVb")

REFERENCE_POINTS = {
    "Ia": (1.0, 0.3),
    "Ib": (0.4, 0.3),
    "Ic": (0.2, 1.0),
    "II": (1.0, 0.7),
    "III": (0.7, 1.0),
    "IVa": (0.4, 0.8),
    "IVb": (0.27, 1.0),
}
"""One ``(α, β)`` inside each phase: the reference points of the phase-diagram comparison."""


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------
def validate_parameters(
    alpha, beta, *, d: int | None = None, v: int | None = None, batch: int | None = None
) -> tuple[float, float]:
    """Check that ``(α, β)`` is admissible and that the sizes given are valid.

    Admissible (the loss ``‖D^(1/2)b‖² = Σ_j j^(−2α−2β)`` stays finite as ``v → ∞``): ``α > 0``
    and ``2α + 2β > 1`` (``β`` may be negative). Sizes, when given: ``d >= 1``, ``v > d``
    (``v >= 2`` if ``d`` is not given), ``batch >= 1``, all integers.

    Returns:
        ``(alpha, beta)`` as Python floats.

    Raises:
        TypeError: a non-numeric parameter or a non-integer size.
        ValueError: a value outside its range; the message names the parameter, the value and
            the valid range.
    """
    alpha = check_float("alpha", alpha, low=0.0, strict=True)
    beta = check_float("beta", beta)
    if 2.0 * alpha + 2.0 * beta <= 1.0:
        raise ValueError(
            f"beta must satisfy 2*alpha + 2*beta > 1, i.e. beta > {0.5 - alpha:.6g} for "
            f"alpha={alpha}, got beta={beta}"
        )
    if d is not None:
        d = check_int("d", d, 1)
    if v is not None:
        v = check_int("v", v, 2 if d is None else d + 1)
    if batch is not None:
        check_int("batch", batch, 1)
    return alpha, beta


def _concrete_float(x) -> float | None:
    """``float(x)`` for a concrete scalar, ``None`` for a tracer (inside jit/vmap)."""
    try:
        return float(x)
    except (TypeError, jax.errors.ConcretizationTypeError, jax.errors.TracerArrayConversionError):
        return None


# --------------------------------------------------------------------------------------------
# Phase diagram and compute-optimal exponents
# --------------------------------------------------------------------------------------------
def phase(alpha, beta) -> str:
    """The compute-optimal phase of ``(α, β)`` (Paquette et al. 2024, §3 and Fig. 2).

    Regions (a boundary belongs to the side of larger ``α``, resp. larger ``β``):

    ========  =============================================  ============================
    phase     region                                         balance at the optimum
    ========  =============================================  ============================
    Ia        ``2β < 1``, ``2α > 1``                         ``F_pp = F₀``
    Ib        ``2β < 1``, ``2α < 1``                         ``F_pp = F₀``
    Ic        ``2β > 1``, ``α < 1/4``                        ``F_pp = F₀``
    II        ``2β > 1``, ``2α > 1``, ``β < α``              ``F_pp = F_ac``
    III       ``2α > 1``, ``β > α``                          ``K_pp = F_ac``
    IVa       ``2β > 1``, ``α₀ < α < 1/2``                   ``K_pp = F₀``
    IVb       ``2β > 1``, ``1/4 < α < α₀``                   ``K_pp = F_pp``
    ========  =============================================  ============================

    ``α₀ = 1 − 1/√2``. Which balance holds on which side of ``α₀`` follows from the exponents
    (see the module docstring: the noise term's ``d``-exponent changes sign at ``α₀``); the
    labels IVa/IVb put a = larger ``α``, as in phase I. Ib here also covers the triangle
    ``α < 1/4``, ``2β < 1`` that the paper's table leaves out (same balance, same formulas).

    Args:
        alpha, beta: admissible ``(α, β)`` (``α > 0``, ``2α + 2β > 1``).

    Returns:
        One of :data:`PHASES`.
    """
    alpha, beta = validate_parameters(alpha, beta)
    if 2.0 * beta < 1.0:
        return "Ia" if 2.0 * alpha >= 1.0 else "Ib"
    if 2.0 * alpha >= 1.0:
        return "III" if beta >= alpha else "II"
    if alpha < 0.25:
        return "Ic"
    return "IVa" if alpha >= ALPHA_0 else "IVb"


def _table_exponents(alpha: float, beta: float, name: str) -> tuple[float, float]:
    a, b = alpha, beta
    if name == "Ia":
        return 1.0 / (2 * a + 1), (2 * a + 2 * b - 1) / (2 * a + 1)
    if name == "Ib":
        return 0.5, (2 * a + 2 * b - 1) / 2
    if name == "Ic":
        xi = (2 * a + 2 * b - 1) / (2 * (3 * a + 2 * b - 1 - 2 * a * b))
        return xi, 2 * a * xi
    if name == "II":
        return b / (a + b), (2 * a + 2 * b - 1) / (2 * (a + b))
    if name == "III":
        return 0.5, 1 - 1 / (4 * a)
    if name == "IVa":
        return 0.5, a
    den = 2 * b - a - 2 * a * b
    return (b - a) / den, (1 - 2 * a) * (2 * a + 2 * b - 1) / (2 * den)


def scaling_terms(alpha, beta) -> dict[str, tuple[float, float]]:
    """Each asymptotic loss term as ``f^(-g) · d^e`` at the compute-optimal scale, as ``(g, e)``.

    With ``t = γBr = γ f / d`` and ``γ ∝ d^(2α−1)`` when ``2α < 1`` (``γ = c/Σ_(j≤v) σ_j`` with
    ``v ∝ d``; constant otherwise), so ``t ∝ f d^τ`` with ``τ = −1`` (``2α ≥ 1``) or ``2α − 2``:

    * ``F0``: ``d^(−2α + max(0, 1−2β))``  → ``(0, −2α + max(0, 1−2β))``;
    * ``F_pp``: ``t^(−A)``, ``A = (2α+2β−1)/(2α)`` → ``(A, −Aτ)``;
    * ``F_ac`` (only ``2β > 1``, ``2α > 1``): ``d^(−1) t^(−(1−1/(2α)))``;
    * ``noise`` (only ``α > 1/4``): ``K_pp/(γB) ≍ γ t^(−(2−1/(2α)))``, the SGD-noise term
      ``K(r) Σ_(s<r) F(s)`` with ``Σ_s F(s) ≍ 1/(γB)``.

    Returns:
        dict ``name -> (g, e)`` with the terms present at ``(α, β)``.
    """
    alpha, beta = validate_parameters(alpha, beta)
    a, b = alpha, beta
    tau = -1.0 if 2 * a >= 1 else 2 * a - 2
    gamma_exp = 0.0 if 2 * a >= 1 else 2 * a - 1
    A = (2 * a + 2 * b - 1) / (2 * a)
    terms = {"F0": (0.0, -limit_level_exponent(a, b)), "F_pp": (A, -A * tau)}
    if 2 * b > 1 and 2 * a > 1:
        g = 1 - 1 / (2 * a)
        terms["F_ac"] = (g, -1.0 - g * tau)
    if a > 0.25:
        g = 2 - 1 / (2 * a)
        terms["noise"] = (g, gamma_exp - g * tau)
    return terms


def _balance_exponents(alpha: float, beta: float) -> tuple[float, float]:
    """``η = max_(ξ∈[0,1]) min_i (g_i − e_i ξ)``: the optimum of a concave piecewise-linear
    function sits at a vertex, i.e. where two terms balance (or at an end of ``[0, 1]``)."""
    terms = list(scaling_terms(alpha, beta).values())
    candidates = [0.0, 1.0]
    for i, (g0, e0) in enumerate(terms):
        for g1, e1 in terms[i + 1 :]:
            if e0 != e1:
                x = (g0 - g1) / (e0 - e1)
                if 0.0 <= x <= 1.0:
                    candidates.append(x)
    best_xi, best_eta = 0.0, -math.inf
    for x in sorted(candidates):
        eta = min(g - e * x for g, e in terms)
        if eta > best_eta + 1e-13:
            best_xi, best_eta = x, eta
    return best_xi, best_eta


def compute_optimal_exponents(alpha, beta, method: str = "table") -> tuple[float, float]:
    """Compute-optimal exponents ``(ξ, η)``: ``d*(f) ∝ f^ξ``, ``P(f/d*, d*) ∝ f^(−η)``.

    Paquette et al. 2024, §3 (the table of compute-optimal exponents there).

    Args:
        alpha, beta: admissible ``(α, β)``.
        method: ``"table"`` (the closed form of the phase's row) or ``"balance"`` (the generic
            recipe: the max over ``ξ`` of the min over the terms of :func:`scaling_terms`).

    Returns:
        ``(xi, eta)`` as floats. ``η`` is continuous across every phase boundary; ``ξ`` jumps at
        some (e.g. at ``α = α₀``, where the optimum is a plateau).
    """
    alpha, beta = validate_parameters(alpha, beta)
    if method == "table":
        return _table_exponents(alpha, beta, phase(alpha, beta))
    if method == "balance":
        return _balance_exponents(alpha, beta)
    raise ValueError(f"method must be 'table' or 'balance', got {method!r}")


def phase_boundaries(
    alpha_max: float = 2.0, beta_range: tuple[float, float] = (-0.5, 2.0), n: int = 200
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Curves of the phase boundaries in the ``(α, β)`` plane, clipped to the plotting box.

    Returns:
        dict ``name -> (alpha_array, beta_array)`` (float64, ``n`` points each, empty if the
        curve misses the box): ``"admissible"`` (``2α + 2β = 1``), ``"2alpha=1"``,
        ``"2beta=1"``, ``"alpha=beta"`` (for ``2α > 1``), ``"alpha=1/4"`` and ``"alpha_0"``
        (``α = 1 − 1/√2``; both for ``2β > 1``).
    """
    alpha_max = check_float("alpha_max", alpha_max, low=0.0, strict=True)
    b_lo, b_hi = check_interval("beta_range", beta_range)
    n = check_int("n", n, 2)

    empty = (np.empty(0), np.empty(0))

    def vertical(a, b_start):
        b0 = max(b_start, b_lo)
        if a > alpha_max or b0 >= b_hi:
            return empty
        return np.full(n, a), np.linspace(b0, b_hi, n)

    out = {}
    # 2α + 2β = 1 inside the box: α ∈ [0.5 − b_hi, 0.5 − b_lo] ∩ [0, alpha_max].
    a0, a1 = max(0.0, 0.5 - b_hi), min(alpha_max, 0.5 - b_lo)
    if a1 > a0:
        alphas = np.linspace(a0, a1, n)
        out["admissible"] = (alphas, 0.5 - alphas)
    else:
        out["admissible"] = empty
    out["2alpha=1"] = vertical(0.5, 0.0)
    out["2beta=1"] = (
        (np.linspace(0.0, alpha_max, n), np.full(n, 0.5)) if b_lo <= 0.5 <= b_hi else empty
    )
    lo, top = max(0.5, b_lo), min(alpha_max, b_hi)
    out["alpha=beta"] = (np.linspace(lo, top, n), np.linspace(lo, top, n)) if top > lo else empty
    out["alpha=1/4"] = vertical(0.25, 0.5)
    out["alpha_0"] = vertical(ALPHA_0, 0.5)
    return out


def exponent_maps(alphas, betas) -> tuple[np.ndarray, np.ndarray]:
    """Predicted ``(ξ, η)`` over the grid ``betas × alphas`` (:func:`compute_optimal_exponents`).

    Returns:
        Two float64 arrays of shape ``(len(betas), len(alphas))`` (rows: β), NaN where
        ``2α + 2β <= 1 + 1e-9`` (inadmissible) or ``α <= 0``.
    """
    alphas = np.asarray(alphas, dtype=np.float64).ravel()
    betas = np.asarray(betas, dtype=np.float64).ravel()
    xi = np.full((betas.size, alphas.size), np.nan)
    eta = np.full_like(xi, np.nan)
    for i, b in enumerate(betas):
        for j, a in enumerate(alphas):
            if a > 0 and 2 * a + 2 * b > 1.0 + 1e-9:
                xi[i, j], eta[i, j] = compute_optimal_exponents(a, b)
    return xi, eta


# --------------------------------------------------------------------------------------------
# Spectra
# --------------------------------------------------------------------------------------------
def realised_spectrum(W, alpha, beta) -> Spectrum:
    """The exact spectrum of a realised embedding ``W`` (Paquette et al. 2024, §2).

    Eigen-decomposes ``K̂ = AᵀA`` with ``A = D^(1/2) W`` and projects ``w = Aᵀc`` (``c =
    D^(1/2) b``): ``target_mass_i = ⟨u_i, w⟩² / λ_i`` (``= λ_i ρ_i``; error leaking from other
    eigen-directions is ``O(ε)`` in ``⟨u_i, w⟩``, so no ``1/λ`` blow-up for the dynamically
    relevant modes). ``P*`` is the squared residual ``‖c − Aθ*‖²`` after one step of iterative
    refinement of ``θ*``, accurate even when ``P* ≪ ‖c‖²`` (where ``‖c‖² − Σ target_mass`` would
    cancel catastrophically, e.g. ``α = 2``). Eigenvalues below ``d·ε·λ_max`` (numerically zero)
    are clipped to that floor.

    Written in ``jax.numpy``: jittable and vmappable over ``W`` and the (traced) ``alpha``,
    ``beta``. Must run in float64 (inside ``with jax.enable_x64(True):``).

    Args:
        W: ``(v, d)`` float64 embedding, ``v > d``.
        alpha, beta: ``α``, ``β`` (Python or traced scalars; validated when concrete).

    Returns:
        :class:`Spectrum` with ``(d,)`` arrays (eigenvalues ascending) and ``counts = 1``.
    """
    W = jnp.asarray(W)
    if W.ndim != 2:
        raise ValueError(f"W must be a 2-D array of shape (v, d), got shape {W.shape}")
    v, d = W.shape
    if v <= d:
        raise ValueError(f"W must have shape (v, d) with v > d, got shape {W.shape}")
    if W.dtype != jnp.float64:
        raise TypeError(
            f"W must be float64, got {W.dtype}; call realised_spectrum under jax.enable_x64(True)"
        )
    a_c, b_c = _concrete_float(alpha), _concrete_float(beta)
    if a_c is not None and b_c is not None:
        validate_parameters(a_c, b_c)
    hi = lax.Precision.HIGHEST
    j = jnp.arange(1, v + 1, dtype=jnp.float64)
    sqrt_sigma = j ** (-jnp.asarray(alpha, jnp.float64))
    c = sqrt_sigma * j ** (-jnp.asarray(beta, jnp.float64))
    A = sqrt_sigma[:, None] * W
    K = jnp.matmul(A.T, A, precision=hi)
    lam, U = jnp.linalg.eigh(0.5 * (K + K.T))
    floor = jnp.finfo(jnp.float64).eps * d * lam[-1]
    lam = jnp.maximum(lam, floor)
    w = jnp.matmul(A.T, c, precision=hi)
    proj = jnp.matmul(U.T, w, precision=hi)
    target = proj**2 / lam
    theta = jnp.matmul(U, proj / lam, precision=hi)
    resid = c - jnp.matmul(A, theta, precision=hi)
    correction = jnp.matmul(U.T, jnp.matmul(A.T, resid, precision=hi), precision=hi) / lam
    theta = theta + jnp.matmul(U, correction, precision=hi)
    resid = c - jnp.matmul(A, theta, precision=hi)
    p_star = jnp.sum(resid**2)
    return Spectrum(lam, target, jnp.ones_like(lam), p_star)


def deterministic_equivalent_spectrum(
    alpha, beta, d: int, v: int, n_grid: int = 512, points_per_bin: int = 8
) -> Spectrum:
    """The deterministic equivalent of K̂'s spectrum and target measure, binned (no ``W`` needed).

    Solves ``m = 1/(1 + (1/d) Σ_j σ_j/(σ_j m − z))`` (Paquette et al. 2024, §2 and App. E) in the
    equivalent form ``z(s) = −1/s + (1/d) Σ_j σ_j/(1 + σ_j s)`` for
    ``s = −m/z = (1/d) tr(K̂ − z)⁻¹`` at ``z = x(1 + 10⁻⁹ i)`` along the real axis, by Newton
    continuation from the top edge of the support (with an ``Im z`` homotopy where continuation
    lands on a spurious branch). Stieltjes inversion then gives the eigenvalue density
    ``(d/π) Im s`` and the target density ``(1/π) Im g``, ``g(z) = Σ_j j^(−2α−2β)/(σ_j m − z)``,
    whose atom at 0 is ``P*``.

    Binning: ``n_grid`` log-spaced bins spanning the support ``[λ₋, λ₊]``, each split into
    ``points_per_bin`` panels. Counts are exact (from the counting function ``−Im Φ(x+i0)/π``,
    ``Φ ≈ log det(D^(1/2)WWᵀD^(1/2) − z)``); a panel's target mass is its count times the
    density-weighted mass per eigenvalue ``ρ_t/ρ_c`` at its ends, which stays accurate at the
    square-root edges of the isolated top eigenvalue bumps (see :mod:`theory._plrf_spectra`). Total
    target mass plus ``P*`` reproduces ``‖D^(1/2) b‖²`` to ~1e-6 relative at the defaults.

    Cost: ``O(n_grid · points_per_bin · v)`` complex operations (about 1–3 s at ``v = 8192``
    with the defaults, plus one compilation per ``(v, grid)`` shape).

    Args:
        alpha, beta: admissible ``(α, β)``.
        d: number of features, ``>= 1``.
        v: data dimension, ``> d``.
        n_grid: number of bins, ``>= 8``.
        points_per_bin: quadrature panels per bin, ``>= 2``.

    Returns:
        :class:`Spectrum` of numpy float64 arrays of shape ``(n_grid,)`` (eigenvalues descending;
        bins inside spectral gaps have ``counts = target_mass = 0``), ``Σ counts = d``.

    Raises:
        RuntimeError: if the solver did not converge on the valid branch somewhere.
    """
    alpha, beta = validate_parameters(alpha, beta, d=d, v=v)
    n_grid = check_int("n_grid", n_grid, 8)
    points_per_bin = check_int("points_per_bin", points_per_bin, 2)
    out = deterministic_equivalent_bins(alpha, beta, d, v, n_grid, points_per_bin)
    if not out["max_residual"] <= 1e-10:
        raise RuntimeError(
            "deterministic equivalent: Newton continuation did not converge on the valid branch "
            f"(max relative residual {out['max_residual']:.3g}); try another n_grid"
        )
    return Spectrum(
        np.asarray(out["eigenvalues"]),
        np.asarray(out["target_mass"]),
        np.asarray(out["counts"]),
        np.float64(out["p_star"]),
    )


def limit_level(alpha, beta, d: int, v: int) -> float:
    """Deterministic-equivalent limit level ``P* ≈ Σ_j κ j^(−2α−2β)/(j^(−2α) + κ)``.

    ``κ > 0`` solves ``Σ_(j≤v) j^(−2α)/(j^(−2α) + κ) = d`` (Paquette et al. 2024,
    the ``F₀`` term). This is exactly the atom at 0 of the deterministic-equivalent target
    measure (``κ = 1/s(0)``), computed here by a separate route (bisection on ``κ``).

    Returns:
        ``P*`` as a float.
    """
    alpha, beta = validate_parameters(alpha, beta, d=d, v=v)
    j = np.arange(1, v + 1, dtype=np.float64)
    sigma = j ** (-2.0 * alpha)
    kappa = limit_kappa(sigma, d)
    return float(np.sum(kappa * j ** (-2.0 * alpha - 2.0 * beta) / (sigma + kappa)))


# --------------------------------------------------------------------------------------------
# Learning rate and the limit level's exponent
# --------------------------------------------------------------------------------------------
def power_law_trace(alpha, v: int):
    """``Σ_(j≤v) j^(−2α)`` (``= tr D = E tr K̂``), the normaliser of :func:`learning_rate`.

    A concrete ``alpha`` (Python or numpy number) is validated (``α > 0``, ``v >= 1``) and summed
    in float64 numpy by :func:`power_sum` (returns a ``float``; bounded memory for any ``v``).
    A JAX ``alpha`` (array or tracer, e.g. inside ``jit`` or ``vmap``) is summed with
    ``jax.numpy`` in the default float dtype (float64 under ``jax.enable_x64``), unvalidated;
    ``v`` must be a static int.
    """
    if isinstance(alpha, jax.Array):
        dtype = jnp.result_type(float)
        return jnp.sum(jnp.arange(1, v + 1, dtype=dtype) ** (-2 * jnp.asarray(alpha, dtype)))
    alpha = check_float("alpha", alpha, low=0.0, strict=True)
    return power_sum(2.0 * alpha, check_int("v", v, 1))


def learning_rate(alpha, v: int, lr_scale=0.5):
    """The paper's learning rate ``γ = c / Σ_(j≤v) j^(−2α)`` (``c`` = ``lr_scale`` ≈ 0.25–0.75).

    Since ``E tr K̂ = tr D``, this makes ``γ tr K̂ ≈ c``, hence ``‖K‖ ≈ c/2`` at ``B = 1``; for
    ``2α < 1`` it scales as ``γ ∝ v^(2α−1)``.

    Array-agnostic (the one copy of the rule): with concrete ``alpha`` and ``lr_scale`` it
    validates (``α > 0``, ``v >= 1``, ``c > 0``) and returns a ``float`` computed in float64
    numpy; when either is a JAX array or tracer it returns a ``jax.numpy`` scalar in the default
    float dtype (float64 under ``jax.enable_x64``), jittable and vmappable in ``alpha`` and
    ``lr_scale`` (``v`` static), without validation.
    """
    if isinstance(alpha, jax.Array) or isinstance(lr_scale, jax.Array):
        dtype = jnp.result_type(float)
        return jnp.asarray(lr_scale, dtype) / power_law_trace(jnp.asarray(alpha, dtype), v)
    trace = power_law_trace(alpha, v)
    return check_float("lr_scale", lr_scale, low=0.0, strict=True) / trace


def default_learning_rate(alpha, v: int, c: float = 0.5) -> float:
    """:func:`learning_rate` under its older name (``c`` = ``lr_scale``)."""
    return learning_rate(alpha, v, c)


def limit_level_exponent(alpha, beta) -> float:
    """Exponent ``e`` of the limit level ``P*(d) ∝ d^(−e)``: ``e = 2α − max(0, 1 − 2β)``.
    The ``F₀`` term of Paquette et al. 2024, §3 (:func:`limit_level` at ``v ∝ d``): with
    ``κ ≍ d^(−2α)``, the directions ``j ≲ d`` keep residuals ``≈ κ j^(−2β)`` and the tail
    ``j ≳ d`` adds ``Σ_(j>d) j^(−2α−2β) ≍ d^(1−2α−2β)``, so ``P* ≍ d^(−2α) max(1, d^(1−2β))``.
    """
    alpha, beta = validate_parameters(alpha, beta)
    return 2 * alpha - max(0.0, 1 - 2 * beta)


# --------------------------------------------------------------------------------------------
# Asymptotic terms
# --------------------------------------------------------------------------------------------
def asymptotic_terms(
    alpha, beta, d: int, t, gamma, batch: int, v: int | None = None
) -> dict[str, np.ndarray]:
    """Leading asymptotic terms of the forcing and kernel functions at SGD time ``t = γBr``.

    Paquette et al. 2024, §3 (the asymptotic terms), with ``A = (2α+2β−1)/(2α)``:

    * ``F0``: the limit level ``P*`` (:func:`limit_level`, ``v`` defaults to ``4d``; for
      ``v > 2^22`` :func:`continuum_limit_level`), ``∝ d^(−2α + max(0, 1−2β))``;
    * ``F_pp = Γ(A)/(2α) · (2t)^(−A)`` (``Σ_j j^(−2α−2β) e^(−2tσ_j)`` as an integral; valid for
      ``1 ≪ t ≪ d^(2α)``);
    * ``F_ac = ζ(2β) Γ(1 − 1/(2α)) / (2α d) · (2t)^(−(1−1/(2α)))`` for ``2β > 1`` and ``2α > 1``
      (else 0). The constant is our derivation (target mass leaking into the bulk at density
      ``ζ(2β) x^(−1/(2α))/(2αd)`` when ``|m| ≈ 1``); the exponents are the paper's;
    * ``K_pp = γ²B · Γ(2 − 1/(2α))/(2α) · (2t)^(−(2−1/(2α)))`` for ``α > 1/4`` (else 0).

    The loss's SGD-noise contribution is about ``K_pp/(γB)`` when ``2β > 1``.

    Args:
        alpha, beta: admissible ``(α, β)``.
        d: number of features; ``v``: data dimension (``> d``, default ``4d``).
        t: SGD time(s) ``t = γBr > 0``, any shape.
        gamma, batch: learning rate and batch (for ``K_pp``).

    Returns:
        dict of float64 arrays with the shape of ``t``: ``F0``, ``F_pp``, ``F_ac``, ``K_pp``.
    """
    alpha, beta = validate_parameters(alpha, beta, d=d, v=v, batch=batch)
    if v is None:
        v = 4 * d
    gamma = check_float("learning_rate", gamma, low=0.0, strict=True)
    t = np.asarray(t, dtype=np.float64)
    if not np.all(np.isfinite(t)) or np.any(t <= 0.0):
        raise ValueError("t must be finite and > 0")
    a, b = alpha, beta
    A = (2 * a + 2 * b - 1) / (2 * a)
    f0 = np.full_like(t, (limit_level if v <= 2**22 else continuum_limit_level)(a, b, d, v))
    f_pp = special.gamma(A) / (2 * a) * (2 * t) ** (-A)
    if 2 * b > 1 and 2 * a > 1:
        e_ac = 1 - 1 / (2 * a)
        f_ac = special.zeta(2 * b, 1) * special.gamma(e_ac) / (2 * a * d) * (2 * t) ** (-e_ac)
    else:
        f_ac = np.zeros_like(t)
    if a > 0.25:
        e_k = 2 - 1 / (2 * a)
        k_pp = gamma**2 * batch * special.gamma(e_k) / (2 * a) * (2 * t) ** (-e_k)
    else:
        k_pp = np.zeros_like(t)
    return {"F0": f0, "F_pp": f_pp, "F_ac": f_ac, "K_pp": k_pp}
