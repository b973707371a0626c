"""Theory of power-law random features (PLRF) trained by one-pass SGD, in float64.

Paquette, Paquette, Xiao, Pennington, "4+3 Phases of Compute-Optimal Neural Scaling Laws",
NeurIPS 2024, arXiv 2405.15074 (THEORY.md §1). The simulator is :mod:`simulations.plrf`.

Model and symbols (one convention everywhere):

* data ``x ~ N(0, D)`` in ``R^v`` with ``D = diag(σ_j)``, ``σ_j = j^(-2α)``, ``j = 1..v``; target
  ``y = ⟨x, b⟩`` with ``b_j = j^(-β)``; admissible ``α > 0`` and ``2α + 2β > 1``;
* embedding ``W ∈ R^(v×d)`` with i.i.d. ``N(0, 1/d)`` entries, ``v > d``; parameters ``θ ∈ R^d``,
  ``θ_0 = 0``; population loss ``P(θ) = ‖D^(1/2)(Wθ − b)‖²`` (full MSE, no ½);
* one-pass SGD with batch ``B`` and learning rate ``γ`` (``learning_rate``), ``r`` steps; compute
  ``f = d·B·r``; SGD "time" ``t = γ B r``;
* ``K̂ = Wᵀ D W`` (``d×d``) with eigenpairs ``(λ_i, u_i)``; ``θ* = K̂⁻¹ Wᵀ D b``; ``P* = min P``;
  ``ρ_i = ⟨u_i, θ*⟩²``; ``c = D^(1/2) b`` (so ``‖c‖² = Σ_j j^(-2α-2β) = P(θ_0)``);
* ``q(λ) = 1 − 2γBλ + γ²B(B+1)λ²`` and the kernel norm ``‖K‖ = Σ_i γλ_i / (2 − γ(B+1)λ_i)``.
* Exponent convention: ``Q ∝ X^(-e)`` has exponent ``e`` (positive when ``Q`` falls).
  Compute-optimal exponents: ``d*(f) ∝ f^ξ`` and ``P(f/d*, d*) ∝ f^(-η)``.

Contents: the phase diagram (:func:`phase`, :func:`compute_optimal_exponents`,
:func:`scaling_terms`, :func:`phase_boundaries`); spectra (:class:`Spectrum`,
:func:`realised_spectrum`, :func:`deterministic_equivalent_spectrum`, :func:`limit_level`); the
exact expected-loss dynamics (:func:`expected_loss`, and the jittable :func:`expected_loss_curve`
and :func:`expected_loss_curve_exact`); learning-rate helpers; the asymptotic terms.

Findings recorded while implementing (see also :func:`phase`):

* The balance recipe (each term ``c·f^(-g)·d^e``; ``η = max_ξ min_terms (g − eξ)``) reproduces every
  row of the THEORY.md table, provided the SGD-noise term is ``K_pp/(γB) ≍ γ t^(-(2-1/(2α)))`` (the
  noise term ``K(r) Σ_(s<r) F(s)`` with ``Σ_s F(s) ≍ 1/(γB)`` when ``2β > 1``).
* Sub-phases of IV: for ``2α < 1`` (``γ ∝ d^(2α−1)``) the noise term's ``d``-exponent is
  ``e = 4 − 2α − 1/α``, which changes sign at ``2α² − 4α + 1 = 0``, i.e. ``α₀ = 1 − 1/√2``. For
  ``α > α₀`` the noise grows with ``d`` and balances the capacity term ``F₀`` (``ξ = 1/2``,
  ``η = α``); for ``α < α₀`` it falls with ``d`` and ``F_pp`` balances it. THEORY.md's labels
  (IVa: ``α₀ < α < 1/2``; IVb: ``1/4 < α < α₀``) are kept; they follow the a-b-c order of phase I
  (Ia has the largest ``α``). The paper's text was not available offline to confirm its labels.
* The region ``2β < 1``, ``α < 1/4`` (above ``2α + 2β = 1``) is not in the THEORY.md table; the
  recipe gives the Ib balance there (``F_pp = F₀``, ``ξ = 1/2``, ``η = (2α+2β−1)/2``), so
  :func:`phase` returns ``"Ib"`` for all ``2β < 1 < 2α + 2β``, ``2α < 1``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from scipy import special

from theory import _spectra

__all__ = [
    "ALPHA_0",
    "PHASES",
    "REFERENCE_POINTS",
    "Spectrum",
    "asymptotic_terms",
    "compute_optimal_exponents",
    "default_learning_rate",
    "deterministic_equivalent_spectrum",
    "expected_loss",
    "expected_loss_curve",
    "expected_loss_curve_exact",
    "forcing_function",
    "kernel_function",
    "kernel_norm",
    "limit_level",
    "phase",
    "phase_boundaries",
    "realised_spectrum",
    "scaling_terms",
    "stability_check",
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
"""One ``(α, β)`` well inside each phase (THEORY.md §1 reference points)."""

_AUTO_EXACT_MAX_STEPS = 20_000


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------
def _check_float(name: str, value) -> float:
    if isinstance(value, bool):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real number, got {value!r}") from None
    if not math.isfinite(x):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return x


def _check_int(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}")
    return int(value)


def validate_parameters(
    alpha, beta, *, d: int | None = None, v: int | None = None, batch: int | None = None
) -> tuple[float, float]:
    """Check that ``(α, β)`` is admissible and that the sizes given are valid.

    Admissible (THEORY.md §1): ``α > 0`` and ``2α + 2β > 1`` (``β`` may be negative). Sizes, when
    given: ``d >= 1``, ``v > d`` (``v >= 2`` if ``d`` is not given), ``batch >= 1``, all integers.

    Returns:
        ``(alpha, beta)`` as Python floats.

    Raises:
        TypeError: a non-numeric parameter or a non-integer size.
        ValueError: a value outside its range; the message names the parameter, the value and
            the valid range.
    """
    alpha = _check_float("alpha", alpha)
    beta = _check_float("beta", beta)
    if alpha <= 0.0:
        raise ValueError(f"alpha must be > 0, got {alpha}")
    if 2.0 * alpha + 2.0 * beta <= 1.0:
        raise ValueError(
            f"beta must satisfy 2*alpha + 2*beta > 1, i.e. beta > {0.5 - alpha:.6g} for "
            f"alpha={alpha}, got beta={beta}"
        )
    if d is not None:
        d = _check_int("d", d, 1)
    if v is not None:
        v = _check_int("v", v, 2 if d is None else d + 1)
    if batch is not None:
        _check_int("batch", batch, 1)
    return alpha, beta


def _check_learning_rate(gamma) -> float:
    gamma = _check_float("learning_rate", gamma)
    if gamma <= 0.0:
        raise ValueError(f"learning_rate must be > 0, got {gamma}")
    return gamma


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
    """The compute-optimal phase of ``(α, β)`` (Paquette et al. 2024, §3 and Fig. 2; THEORY.md §1).

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
    labels IVa/IVb follow THEORY.md (a = larger ``α``, as in phase I). Ib here also covers the
    triangle ``α < 1/4``, ``2β < 1`` that the THEORY.md table leaves out (same balance, same
    formulas).

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
    terms = {"F0": (0.0, -2 * a + max(0.0, 1 - 2 * b)), "F_pp": (A, -A * tau)}
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

    Paquette et al. 2024, §3 (Table 2 there; THEORY.md §1 table).

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
    alpha_max = _check_float("alpha_max", alpha_max)
    if alpha_max <= 0.0:
        raise ValueError(f"alpha_max must be > 0, got {alpha_max}")
    try:
        b_lo, b_hi = (_check_float("beta_range", x) for x in beta_range)
    except (TypeError, ValueError):
        raise ValueError(f"beta_range must be two finite numbers, got {beta_range!r}") from None
    if not b_lo < b_hi:
        raise ValueError(f"beta_range must be increasing (low, high), got {beta_range!r}")
    n = _check_int("n", n, 2)

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


# --------------------------------------------------------------------------------------------
# Spectra
# --------------------------------------------------------------------------------------------
class Spectrum(NamedTuple):
    """Spectral data that determine the expected SGD loss (a JAX pytree).

    For a realised ``W`` the modes are the eigenpairs of ``K̂ = Wᵀ D W``; for the deterministic
    equivalent they are bins of a log-spaced eigenvalue grid.

    Attributes:
        eigenvalues: ``(n,)`` float64, ``λ_i >= 0`` (for bins: the count-weighted mean).
        target_mass: ``(n,)`` float64, ``λ_i ρ_i = ⟨u_i, Wᵀ D b⟩² / λ_i`` (the loss the mode
            carries at ``θ = 0``; for bins: the target measure of the bin).
        counts: ``(n,)`` float64, eigenvalue multiplicity (1 per realised mode; the expected
            number of eigenvalues in a bin).
        p_star: ``()`` float64, ``P* = ‖D^(1/2) b‖² − Σ target_mass`` (the atom of the target
            measure at 0, the irreducible loss).
    """

    eigenvalues: jax.Array | np.ndarray
    target_mass: jax.Array | np.ndarray
    counts: jax.Array | np.ndarray
    p_star: jax.Array | np.ndarray | float


def realised_spectrum(W, alpha, beta) -> Spectrum:
    """The exact spectrum of a realised embedding ``W`` (THEORY.md §1, "Exact loss dynamics").

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

    Solves ``m = 1/(1 + (1/d) Σ_j σ_j/(σ_j m − z))`` (Paquette et al. 2024, §2 and App. E;
    THEORY.md §1) in the equivalent form ``z(s) = −1/s + (1/d) Σ_j σ_j/(1 + σ_j s)`` for
    ``s = −m/z = (1/d) tr(K̂ − z)⁻¹`` at ``z = x(1 + 10⁻⁹ i)`` along the real axis, by Newton
    continuation from the top edge of the support (with an ``Im z`` homotopy where continuation
    lands on a spurious branch). Stieltjes inversion then gives the eigenvalue density
    ``(d/π) Im s`` and the target density ``(1/π) Im g``, ``g(z) = Σ_j j^(−2α−2β)/(σ_j m − z)``,
    whose atom at 0 is ``P*``.

    Binning: ``n_grid`` log-spaced bins spanning the support ``[λ₋, λ₊]``, each split into
    ``points_per_bin`` panels. Counts are exact (from the counting function ``−Im Φ(x+i0)/π``,
    ``Φ ≈ log det(D^(1/2)WWᵀD^(1/2) − z)``); a panel's target mass is its count times the
    density-weighted mass per eigenvalue ``ρ_t/ρ_c`` at its ends, which stays accurate at the
    square-root edges of the isolated top eigenvalue bumps (see :mod:`theory._spectra`). Total
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
    n_grid = _check_int("n_grid", n_grid, 8)
    points_per_bin = _check_int("points_per_bin", points_per_bin, 2)
    out = _spectra.deterministic_equivalent_bins(alpha, beta, d, v, n_grid, points_per_bin)
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

    ``κ > 0`` solves ``Σ_(j≤v) j^(−2α)/(j^(−2α) + κ) = d`` (THEORY.md §1; Paquette et al. 2024,
    the ``F₀`` term). This is exactly the atom at 0 of the deterministic-equivalent target
    measure (``κ = 1/s(0)``), computed here by a separate route (bisection on ``κ``).

    Returns:
        ``P*`` as a float.
    """
    alpha, beta = validate_parameters(alpha, beta, d=d, v=v)
    j = np.arange(1, v + 1, dtype=np.float64)
    sigma = j ** (-2.0 * alpha)
    kappa = _spectra.limit_kappa(sigma, d)
    return float(np.sum(kappa * j ** (-2.0 * alpha - 2.0 * beta) / (sigma + kappa)))


# --------------------------------------------------------------------------------------------
# Learning rate and stability
# --------------------------------------------------------------------------------------------
def default_learning_rate(alpha, v: int, c: float = 0.5) -> float:
    """``γ = c / Σ_(j≤v) j^(−2α)`` (THEORY.md §1; ``c ≈ 0.25–0.75``).

    Since ``E tr K̂ = tr D``, this makes ``γ tr K̂ ≈ c``, hence ``‖K‖ ≈ c/2`` at ``B = 1``; for
    ``2α < 1`` it scales as ``γ ∝ v^(2α−1)``.
    """
    alpha = _check_float("alpha", alpha)
    if alpha <= 0.0:
        raise ValueError(f"alpha must be > 0, got {alpha}")
    v = _check_int("v", v, 1)
    c = _check_float("c", c)
    if c <= 0.0:
        raise ValueError(f"c must be > 0, got {c}")
    j = np.arange(1, v + 1, dtype=np.float64)
    return float(c / np.sum(j ** (-2.0 * alpha)))


def kernel_norm(spectrum: Spectrum, gamma, batch):
    """``‖K‖ = Σ_i counts_i γλ_i / (2 − γ(B+1)λ_i)`` (= ``Σ_r K(r)``; THEORY.md §1).

    jax.numpy, jittable and vmappable (``gamma``, ``batch`` may be traced).
    """
    dtype = jax.dtypes.canonicalize_dtype(jnp.float64)
    lam = jnp.asarray(spectrum.eigenvalues, dtype)
    counts = jnp.asarray(spectrum.counts, dtype)
    gamma = jnp.asarray(gamma, dtype)
    batch = jnp.asarray(batch, dtype)
    return jnp.sum(counts * gamma * lam / (2.0 - gamma * (batch + 1.0) * lam))


def _kernel_norm_np(lam, counts, gamma, batch) -> float:
    denom = 2.0 - gamma * (batch + 1.0) * lam
    if np.any(denom <= 0.0):
        return math.inf
    return float(np.sum(counts * gamma * lam / denom))


def stability_check(spectrum: Spectrum, gamma, batch: int) -> float:
    """Raise if SGD at this learning rate diverges in expectation; return ``‖K‖``.

    Stable iff ``γ(B+1)λ_max < 2`` (every ``q(λ_i) < 1``) and ``‖K‖ < 1`` (the Volterra equation
    then has a finite limit ``P*/(1 − ‖K‖)``; THEORY.md §1).

    Raises:
        ValueError: naming ``learning_rate``, its value and the largest stable value.
    """
    gamma = _check_learning_rate(gamma)
    batch = _check_int("batch", batch, 1)
    lam, _, counts, _ = _spectrum_numpy(spectrum)
    present = counts > 0
    lam_max = float(lam[present].max()) if present.any() else 0.0
    if gamma * (batch + 1) * lam_max >= 2.0:
        raise ValueError(
            f"learning_rate={gamma:.6g} is unstable: gamma*(batch+1)*lambda_max = "
            f"{gamma * (batch + 1) * lam_max:.6g} >= 2; need learning_rate < "
            f"{2.0 / ((batch + 1) * lam_max):.6g}"
        )
    norm = _kernel_norm_np(lam, counts, gamma, batch)
    if norm >= 1.0:
        # ‖K‖ increases with γ: bisect for the limit.
        lo, hi = 0.0, gamma
        for _ in range(100):
            mid = 0.5 * (lo + hi)
            if _kernel_norm_np(lam, counts, mid, batch) < 1.0:
                lo = mid
            else:
                hi = mid
        raise ValueError(
            f"learning_rate={gamma:.6g} is unstable: kernel norm ||K|| = {norm:.6g} >= 1; need "
            f"learning_rate < {lo:.6g}"
        )
    return norm


def _spectrum_numpy(spectrum: Spectrum):
    if not isinstance(spectrum, Spectrum):
        raise TypeError(f"spectrum must be a theory.plrf.Spectrum, got {type(spectrum).__name__}")
    lam = np.asarray(spectrum.eigenvalues, dtype=np.float64)
    target = np.asarray(spectrum.target_mass, dtype=np.float64)
    counts = np.asarray(spectrum.counts, dtype=np.float64)
    p_star = np.asarray(spectrum.p_star, dtype=np.float64)
    if lam.ndim != 1 or target.shape != lam.shape or counts.shape != lam.shape:
        raise ValueError(
            "spectrum arrays must be 1-D of equal length, got shapes "
            f"{lam.shape}, {target.shape}, {counts.shape}"
        )
    if p_star.shape != ():
        raise ValueError(f"spectrum.p_star must be a scalar, got shape {p_star.shape}")
    for name, arr in (("eigenvalues", lam), ("target_mass", target), ("counts", counts)):
        if not np.all(np.isfinite(arr)) or np.any(arr < 0.0):
            raise ValueError(f"spectrum.{name} must be finite and >= 0")
    if not (np.isfinite(p_star) and p_star >= 0.0):
        raise ValueError(f"spectrum.p_star must be finite and >= 0, got {float(p_star)}")
    return lam, target, counts, float(p_star)


# --------------------------------------------------------------------------------------------
# Expected loss dynamics
# --------------------------------------------------------------------------------------------
def _expm1_minus_x(x):
    """``expm1(x) − x`` without cancellation: Taylor to ``x⁷`` for ``|x| < 1e-2`` (relative
    truncation error < 5e-17), else the direct difference (relative rounding < 2ε/|x| ≤ 5e-14)."""
    series = (
        x * x * (0.5 + x * (1 / 6 + x * (1 / 24 + x * (1 / 120 + x * (1 / 720 + x * (1 / 5040))))))
    )
    return jnp.where(jnp.abs(x) < 1e-2, series, jnp.expm1(x) - x)


def _mode_arrays(spectrum: Spectrum, gamma, batch):
    # float64 under jax.enable_x64, float32 otherwise (no truncation warnings).
    dtype = jax.dtypes.canonicalize_dtype(jnp.float64)
    lam = jnp.asarray(spectrum.eigenvalues, dtype)
    target = jnp.asarray(spectrum.target_mass, dtype)
    counts = jnp.asarray(spectrum.counts, dtype)
    p_star = jnp.asarray(spectrum.p_star, dtype)
    gamma = jnp.asarray(gamma, dtype)
    batch = jnp.asarray(batch, dtype)
    # 1 − q(λ) = γBλ(2 − γ(B+1)λ): no cancellation for small λ.
    one_minus_q = gamma * batch * lam * (2.0 - gamma * (batch + 1.0) * lam)
    forcing = gamma**2 * batch * lam**2 * counts
    return lam, target, p_star, one_minus_q, forcing


def expected_loss_curve(
    spectrum: Spectrum,
    gamma,
    batch,
    checkpoints,
    *,
    block_fraction=0.02,
    exact_steps=0,
):
    """Expected SGD loss ``P(r)`` at the checkpoints, by geometric blocks (jittable, vmappable).

    Per-mode form of the Volterra equation (THEORY.md §1; Paquette et al. 2024, §2): with
    ``M_i = counts_i λ_i m_i``,

        M_i(0) = target_mass_i,  M_i(r+1) = q_i M_i(r) + γ²B λ_i² counts_i P(r),
        P(r) = P* + Σ_i M_i(r).

    A block of ``n`` steps from ``r`` is integrated exactly for ``P`` linear in the step index
    within the block, ``P(r+k) = P₀ + (P₁ − P₀) k/n``:

        M(r+n) = qⁿ M(r) + γ²Bλ² counts [P₀ S₀ + (P₁ − P₀) S₁/n],
        S₀ = Σ_(k<n) q^(n−1−k) = (1 − qⁿ)/(1 − q),   S₁ = Σ_(k<n) k q^(n−1−k) = (n − S₀)/(1 − q),

    evaluated with ``log1p``/``expm1`` (``S₁ = [h(nL) − n h(L)]/(1−q)²``, ``h(x) = eˣ − 1 − x``,
    ``L = log q``) so modes with ``q → 1`` lose no digits. Since ``P₁ = P* + Σ_i M_i(r+n)`` is
    linear in ``P₁``, the predictor–corrector fixed point is solved in closed form. Block length
    ``n = clip(⌊block_fraction · r⌋, 1, next checkpoint − r)`` (1 while ``r < exact_steps``), so
    the first ``~1/block_fraction`` steps are exact and ``r = 1e8`` takes ~
    ``(1 + ln(block_fraction·r))/block_fraction`` blocks (≈ 800 at the default 0.02).
    Accuracy at the default ε: max relative error against the exact recursion along whole curves
    (1e5 steps) measured 2e-6 to 1.5e-4 (largest at α = 2); the tests require < 1e-3.

    Args:
        spectrum: :class:`Spectrum` (float64 arrays of shape ``(n,)``).
        gamma: learning rate ``γ`` (scalar, may be traced).
        batch: batch size ``B`` (scalar, may be traced).
        checkpoints: ``(K,)`` integer array of sorted steps ``r >= 0`` (values may be traced).
        block_fraction: ``ε``, block length relative to ``r`` (default 0.02).
        exact_steps: use single steps while ``r < exact_steps`` (default 0).

    Returns:
        ``(K,)`` array: ``P(r)`` at the checkpoints (float64 under ``jax.enable_x64``).

    No validation here (it would need concrete values); :func:`expected_loss` validates, or call
    :func:`stability_check` first.
    """
    lam, target, p_star, one_minus_q, forcing = _mode_arrays(spectrum, gamma, batch)
    dtype = lam.dtype
    ckpt = jnp.asarray(checkpoints)
    n_ckpt = ckpt.shape[0]
    eps = jnp.asarray(block_fraction, dtype)
    exact_steps = jnp.asarray(exact_steps, ckpt.dtype)
    positive = one_minus_q > 0.0
    a = jnp.where(positive, one_minus_q, 1.0)
    log_q = jnp.log1p(-a)
    h_log_q = _expm1_minus_x(log_q)

    def advance(M, p0, n):
        nf = n.astype(dtype)
        n_log_q = nf * log_q
        decay = jnp.where(positive, jnp.exp(n_log_q), 1.0)
        s0 = jnp.where(positive, -jnp.expm1(n_log_q) / a, nf)
        s1_over_n = jnp.where(
            positive, (_expm1_minus_x(n_log_q) - nf * h_log_q) / (a * a * nf), 0.5 * (nf - 1.0)
        )
        base = decay * M + forcing * (p0 * s0)
        slope = forcing * s1_over_n
        # P₁ = P* + Σ base + (P₁ − P₀) Σ slope; Σ slope ≲ ‖K‖ < 1.
        sum_slope = jnp.sum(slope)
        p1 = (p_star + jnp.sum(base) - p0 * sum_slope) / (1.0 - sum_slope)
        return base + slope * (p1 - p0)

    def cond(state):
        return state[1] < n_ckpt

    def body(state):
        r, k, M, out = state
        p = p_star + jnp.sum(M)
        # Under vmap, lanes that have finished (k == n_ckpt) keep running: clamp, never write.
        kc = jnp.minimum(k, n_ckpt - 1)
        nxt = ckpt[kc]
        record = nxt <= r
        out = out.at[kc].set(jnp.where(record & (k < n_ckpt), p, out[kc]))
        n = jnp.floor(eps * r.astype(dtype)).astype(ckpt.dtype)
        n = jnp.clip(n, 1, jnp.maximum(nxt - r, 1))
        n = jnp.where(r < exact_steps, jnp.ones_like(n), n)
        M_next = advance(M, p, n)
        M = jnp.where(record, M, M_next)
        r = jnp.where(record, r, r + n)
        k = jnp.where(record, k + 1, k)
        return r, k, M, out

    init = (
        jnp.zeros((), ckpt.dtype),
        jnp.zeros((), jnp.int32),
        target,
        jnp.full((n_ckpt,), jnp.nan, dtype),
    )
    return lax.while_loop(cond, body, init)[3]


def expected_loss_curve_exact(spectrum: Spectrum, gamma, batch, num_steps: int):
    """Expected SGD loss at every step ``r = 0..num_steps`` by the exact per-mode recursion.

    Same recursion as :func:`expected_loss_curve`, one ``lax.scan`` step per SGD step (the
    reference the block integrator is tested against). Jittable with ``num_steps`` static.

    Returns:
        ``(num_steps + 1,)`` array of ``P(r)``.
    """
    _, target, p_star, one_minus_q, forcing = _mode_arrays(spectrum, gamma, batch)
    q = 1.0 - one_minus_q

    def step(M, _):
        p = p_star + jnp.sum(M)
        return q * M + forcing * p, p

    M_final, p = lax.scan(step, target, None, length=num_steps)
    return jnp.concatenate([p, (p_star + jnp.sum(M_final))[None]])


def _check_steps(steps) -> np.ndarray:
    arr = np.asarray(steps)
    if arr.ndim == 0:
        arr = arr[None]
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"steps must be a non-empty 1-D array of integers, got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.integer):
        if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
            raise TypeError("steps must be integers")
        arr = arr.astype(np.int64)
    if np.any(arr < 0):
        raise ValueError(f"steps must be >= 0, got min {int(arr.min())}")
    if np.any(np.diff(arr) < 0):
        raise ValueError("steps must be sorted in non-decreasing order")
    return arr.astype(np.int64)


_exact_jit = jax.jit(expected_loss_curve_exact, static_argnames=("num_steps",))
_blocks_jit = jax.jit(expected_loss_curve)


def expected_loss(
    spectrum: Spectrum,
    gamma,
    batch: int,
    steps,
    method: str = "auto",
    block_fraction: float = 0.02,
) -> np.ndarray:
    """Expected population loss ``P(r)`` of one-pass SGD at the given steps (float64).

    Validates, checks stability (:func:`stability_check`), then runs :func:`expected_loss_curve`
    (``"blocks"``) or :func:`expected_loss_curve_exact` (``"exact"``) under
    ``jax.enable_x64(True)``. ``"auto"`` is exact up to 20 000 steps, blocks beyond.

    Args:
        spectrum: :class:`Spectrum` (realised or deterministic equivalent).
        gamma: learning rate ``γ > 0``.
        batch: batch size ``B >= 1``.
        steps: sorted integer steps ``r >= 0``, shape ``(K,)``.
        method: ``"auto"``, ``"exact"`` or ``"blocks"``.
        block_fraction: ``ε`` of the block integrator, in ``(0, 0.5]``.

    Returns:
        numpy float64 array of shape ``(K,)``.
    """
    gamma = _check_learning_rate(gamma)
    batch = _check_int("batch", batch, 1)
    steps = _check_steps(steps)
    if method not in ("auto", "exact", "blocks"):
        raise ValueError(f"method must be 'auto', 'exact' or 'blocks', got {method!r}")
    block_fraction = _check_float("block_fraction", block_fraction)
    if not 0.0 < block_fraction <= 0.5:
        raise ValueError(f"block_fraction must be in (0, 0.5], got {block_fraction}")
    lam, target, counts, p_star = _spectrum_numpy(spectrum)
    stability_check(spectrum, gamma, batch)
    if method == "auto":
        method = "exact" if steps[-1] <= _AUTO_EXACT_MAX_STEPS else "blocks"
    with jax.enable_x64(True):
        spec = Spectrum(
            jnp.asarray(lam), jnp.asarray(target), jnp.asarray(counts), jnp.asarray(p_star)
        )
        if method == "exact":
            curve = _exact_jit(spec, gamma, float(batch), num_steps=int(steps[-1]))
            out = np.asarray(curve)[steps]
        else:
            out = np.asarray(
                _blocks_jit(
                    spec, gamma, float(batch), jnp.asarray(steps), block_fraction=block_fraction
                )
            )
    return out.astype(np.float64)


def forcing_function(spectrum: Spectrum, gamma, batch, steps):
    """``F(r) = P* + Σ_i target_mass_i q(λ_i)^r`` (THEORY.md §1), jax.numpy, shape of ``steps``."""
    lam, target, p_star, one_minus_q, _ = _mode_arrays(spectrum, gamma, batch)
    r = jnp.asarray(steps, lam.dtype)
    log_q = jnp.log1p(-one_minus_q)
    return p_star + jnp.sum(target * jnp.exp(r[..., None] * log_q), axis=-1)


def kernel_function(spectrum: Spectrum, gamma, batch, steps):
    """``K(r) = γ²B Σ_i counts_i λ_i² q(λ_i)^r`` (THEORY.md §1), jax.numpy, shape of ``steps``."""
    lam, _, _, one_minus_q, forcing = _mode_arrays(spectrum, gamma, batch)
    r = jnp.asarray(steps, lam.dtype)
    log_q = jnp.log1p(-one_minus_q)
    return jnp.sum(forcing * jnp.exp(r[..., None] * log_q), axis=-1)


# --------------------------------------------------------------------------------------------
# Asymptotic terms
# --------------------------------------------------------------------------------------------
def asymptotic_terms(
    alpha, beta, d: int, t, gamma, batch: int, v: int | None = None
) -> dict[str, np.ndarray]:
    """Leading asymptotic terms of the forcing and kernel functions at SGD time ``t = γBr``.

    THEORY.md §1 ("Asymptotic terms"; Paquette et al. 2024, §3), with ``A = (2α+2β−1)/(2α)``:

    * ``F0``: the limit level ``P*`` — :func:`limit_level` (``v`` defaults to ``4d``), which
      behaves as ``d^(−2α + max(0, 1−2β))``;
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
    gamma = _check_learning_rate(gamma)
    t = np.asarray(t, dtype=np.float64)
    if not np.all(np.isfinite(t)) or np.any(t <= 0.0):
        raise ValueError("t must be finite and > 0")
    a, b = alpha, beta
    A = (2 * a + 2 * b - 1) / (2 * a)
    f0 = np.full_like(t, limit_level(a, b, d, v))
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
