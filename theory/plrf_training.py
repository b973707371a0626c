"""Exact expected loss of PLRF under training procedures: schedules, momentum, DANA, batch size.

Extends the per-mode recursion of Paquette, Paquette, Xiao, Pennington (arXiv 2405.15074, §2;
:mod:`theory.plrf`) to step-dependent hyperparameters. Symbols as in :mod:`theory.plrf`:
``K̂ = WᵀDW`` with eigenvalues ``λ_i``, target masses ``λ_iρ_i``, multiplicities ``counts_i``,
``P*``; batch ``B``; the gradient of a step is the SUM over its batch,
``g = Σ_(b≤B) z_b(⟨z_b, θ⟩ − y_b)`` (the convention of :mod:`simulations.plrf.model`).

**Scheduled SGD** (``θ ← θ − γ_r g``, ``γ_r = γ·m_r``): with ``M_i = counts_i λ_i E[δ_i²]``
(``δ = θ − θ*`` in the eigenbasis),

    M_i(r+1) = q_r(λ_i) M_i(r) + γ_r² B λ_i² counts_i P(r),   P(r) = P* + Σ_i M_i(r),
    q_r(λ) = 1 − 2γ_r Bλ + γ_r² B(B+1)λ²,

exact for Gaussian data: ``E[g | θ] = BΛδ`` and, by the Gaussian fourth-moment identity
``E[x_i² (xᵀδ)²] = λ_i(δᵀΛδ) + 2λ_i²δ_i²``, the per-mode conditional variance of ``g`` is
``Var(g_i | θ) = Bλ_i²δ_i² + Bλ_i P(θ)``; the off-diagonal second moments never enter the
diagonal ones, so the recursion closes on ``M``.

**Momentum** (Gen-Mom-SGD of Paquette, Ferbach, Paquette, Gidel, Everett, "Dimension-adapted
momentum outscales SGD", arXiv 2505.16098, §2, written with the summed gradient):

    y_r = κ_r y_(r−1) + γ1_r g_r,      θ_(r+1) = θ_r − γ2_r g_r − γ3_r y_r,   (κ = 1 − Δ)

covers SGD (``γ1 = γ3 = 0``), heavy ball ``θ' = θ − γg + μ(θ − θ_prev)`` (``γ1 = 1``,
``γ2 = 0``, ``γ3 = γ``, ``κ = μ``), Nesterov in its PyTorch/optax form (``γ1 = 1``, ``γ2 = γ``,
``γ3 = γμ``, ``κ = μ``) and DANA (dimension-adapted Nesterov acceleration, arXiv 2505.16098 §2-3):
``γ1 = 1``, ``γ2 = γ``, ``Δ(r) = δ/(δ + r)`` (so the momentum ``y`` averages the last ~``r/δ``
gradients and grows), and either "DANA-decaying" ``γ3(r) = γ̃3 γ (1 + r)^(−κ₃)`` with
``κ₃ = 1/(2α)``, or "DANA-constant" ``γ3 = γ̃3 γ/d`` (the paper's ``κ₂ = 1``: the acceleration
starts at ``r ≍ 1/γ3 ≍ d``). The paper's equations were not at hand when this was written:
these forms, and the defaults ``γ̃3 = 0.2`` (``γ3(0) = 0.2·γ2``) and ``δ = 4 + (α + β)/α``,
follow the authors' public reference implementation (``power_law_rf``: ``dana_optimizer``
with ``powerlaw_schedule`` ``I·(1 + r/τ)^p``; ``Δ``: ``I = 1, p = −1, τ = δ``; ``γ3``:
``p = −1/(2α), τ = 1``) and the paper's Fig. 1 caption. Per mode, with ``g = Bλδ + ξ`` and
``ξ`` fresh noise,

    (δ, y)' = T (δ, y) + v ξ,   T = [[1 − (γ2 + γ3γ1)Bλ, −γ3κ], [γ1Bλ, κ]],
    v = (−(γ2 + γ3γ1), γ1),     E[ξ²] = Bλ² E[δ²] + Bλ P,

so the three second moments ``S = (E δ², E δy, E y²)`` (times ``counts·λ``) obey a 3×3 linear
recursion per eigenvalue plus the rank-one coupling through ``P`` (:func:`momentum_loss_curve`).
With ``γ1 = γ3 = 0`` it is the SGD recursion above (tested to rounding).

**Stability** (constant hyperparameters): bounded iff every per-mode 3×3 operator has spectral
radius ``< 1`` and the kernel norm ``‖K‖ = Σ_r K(r) < 1`` (``K(r)``: the response of ``P`` to a
unit ``P`` at lag ``r``; for SGD ``Σ_i γλ_i/(2 − γ(B+1)λ_i)``). Schedules are checked at their
peak (:func:`check_schedule`); time-varying momentum at its frozen coefficients on a log grid of
steps (:func:`check_momentum`).

**Batch size**: :func:`steps_to_target`, :func:`critical_batch` (smallest ``B`` whose
steps-to-target is within ``factor`` of the best, Zhang et al. arXiv 2410.21676) and
:func:`max_stable_batch`. Everything is float64 (``jax.enable_x64`` inside the public functions).
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from theory import plrf as theory_plrf
from theory._plrf_volterra import Spectrum, stability_check
from theory.checks import check_choice, check_float, check_int
from theory.schedules import Constant, as_multipliers

__all__ = [
    "OPTIMIZERS",
    "Optimizer",
    "check_momentum",
    "check_schedule",
    "check_steps",
    "critical_batch",
    "critical_batch_from_steps",
    "dana_delta",
    "dana_exponents",
    "expected_loss_trained",
    "max_stable_batch",
    "max_stable_learning_rate",
    "momentum_kernel_norm",
    "momentum_loss_curve",
    "momentum_step",
    "scheduled_loss_at",
    "scheduled_loss_curve",
    "steps_to_target",
    "steps_to_targets",
]

OPTIMIZERS = ("sgd", "heavy_ball", "nesterov", "dana")


# --------------------------------------------------------------------------------------------
# Optimizers as Gen-Mom coefficients
# --------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Optimizer:
    """An optimizer of the Gen-Mom-SGD family (arXiv 2505.16098, §2; module docstring).

    Attributes:
        kind: ``sgd``, ``heavy_ball``, ``nesterov`` or ``dana``.
        momentum: ``μ`` in ``[0, 1)`` (heavy ball, Nesterov).
        delta: DANA's ``δ > 0``: ``Δ(r) = δ/(δ + r)`` (:func:`dana_delta`: the reference
            ``4 + (α + β)/α``).
        gamma3: DANA's ``γ̃3 >= 0`` in units of the learning rate ``γ``.
        decay: DANA's ``κ₃ >= 0``: ``γ3(r) = γ̃3 γ (1 + r)^(−κ₃)`` (the paper: ``1/(2α)``).
        d: with ``d`` given, DANA-constant ``γ3 = γ̃3 γ/d`` instead (``decay`` ignored).
    """

    kind: str = "sgd"
    momentum: float = 0.0
    delta: float = 4.0
    gamma3: float = 0.2
    decay: float = 0.5
    d: int | None = None

    def __post_init__(self):
        check_choice("kind", self.kind, OPTIMIZERS)
        m = check_float("momentum", self.momentum, low=0.0)
        if m >= 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {self.momentum!r}")
        check_float("delta", self.delta, low=0.0, strict=True, high=math.inf)
        check_float("gamma3", self.gamma3, low=0.0)
        check_float("decay", self.decay, low=0.0, high=4.0)
        if self.d is not None:
            check_int("d", self.d, 1)

    def label(self) -> str:
        if self.kind in ("heavy_ball", "nesterov"):
            return f"{self.kind} μ={self.momentum:g}"
        return self.kind

    def coefficients(self, gamma: float, multipliers: np.ndarray) -> tuple[np.ndarray, ...]:
        """``(γ1, γ2, γ3, κ)`` per step (float64 arrays of the multipliers' length)."""
        m = np.asarray(multipliers, dtype=np.float64)
        # numpy for a concrete γ; jax.numpy when γ is traced (simulators under jit).
        concrete = isinstance(gamma, (int, float, np.integer, np.floating))
        xp = np if concrete else jnp
        g = (float(gamma) if concrete else gamma) * xp.asarray(m)
        n = m.shape[0]
        zero, one = xp.zeros(n), xp.ones(n)
        if self.kind == "sgd":
            return zero, g, zero, zero
        if self.kind == "heavy_ball":
            return one, zero, g, xp.full(n, self.momentum)
        if self.kind == "nesterov":
            return one, g, g * self.momentum, xp.full(n, self.momentum)
        r = np.arange(n, dtype=np.float64)
        if self.d is not None:
            g3 = g * (self.gamma3 / self.d)
        else:
            g3 = g * xp.asarray(self.gamma3 * np.exp(-self.decay * np.log1p(r)))
        keep = xp.asarray(r / (self.delta + r))  # 1 − Δ(r), Δ(r) = δ/(δ + r)
        return one, g, g3, keep


def dana_delta(alpha, beta) -> float:
    """DANA's reference ``δ = 4 + (α + β)/α`` (``Δ(r) = δ/(δ + r)``; module docstring)."""
    alpha, beta = theory_plrf.validate_parameters(alpha, beta)
    return 4.0 + (alpha + beta) / alpha


def dana_exponents(alpha, beta, time_power: float | None = None) -> tuple[float, float]:
    """Predicted compute-optimal ``(ξ, η)`` of DANA-decaying (OUR READING of arXiv 2505.16098).

    DANA-decaying's momentum step ``γ3(r)/Δ(r) ∝ r^(1−1/(2α))`` grows, so a mode of eigenvalue
    ``λ`` relaxes once ``λ r^(2−1/(2α)) ≍ 1``: the loss is read as SGD's asymptotic terms
    (:func:`theory.plrf.scaling_terms`) with the time ``t`` replaced by ``t^k``,
    ``k = time_power = 2 − 1/(2α)`` in ``F_pp``, ``F_ac`` and the noise term, ``F0(d)``
    unchanged; then ``η = max_ξ min_i (g_i − e_i ξ)`` as for SGD. ``k = 1`` gives SGD's
    exponents. For ``2α <= 1`` (``κ₃ = 1/(2α) >= 1``: no growth) SGD's exponents are returned.
    """
    alpha, beta = theory_plrf.validate_parameters(alpha, beta)
    if time_power is None:
        if 2 * alpha <= 1:
            return theory_plrf.compute_optimal_exponents(alpha, beta, method="balance")
        time_power = 2.0 - 1.0 / (2.0 * alpha)
    k = check_float("time_power", time_power, low=0.0, strict=True, high=math.inf)
    tau = -1.0 if 2 * alpha >= 1 else 2 * alpha - 2  # t ∝ f·d^τ (scaling_terms)
    terms = []
    for name, (g, e) in theory_plrf.scaling_terms(alpha, beta).items():
        if name == "F0":
            terms.append((g, e))
        elif name == "F_ac":  # d^(−1) t^(−g): only the time factor is reparametrised
            terms.append((k * g, -1.0 - k * g * tau))
        else:  # F_pp, noise: pure time terms (γ constant for 2α >= 1)
            terms.append((k * g, e + (k - 1.0) * g * tau * -1.0))
    cands = [0.0, 1.0] + [
        (g0 - g1) / (e0 - e1)
        for i, (g0, e0) in enumerate(terms)
        for g1, e1 in terms[i + 1 :]
        if e0 != e1 and 0.0 <= (g0 - g1) / (e0 - e1) <= 1.0
    ]
    best = max(sorted(cands), key=lambda x: min(g - e * x for g, e in terms))
    return float(best), float(min(g - e * best for g, e in terms))


# --------------------------------------------------------------------------------------------
# Recursions (jittable, float64 under x64)
# --------------------------------------------------------------------------------------------
def _arrays(spectrum: Spectrum):
    dtype = jax.dtypes.canonicalize_dtype(jnp.float64)
    lam = jnp.asarray(spectrum.eigenvalues, dtype)
    target = jnp.asarray(spectrum.target_mass, dtype)
    counts = jnp.asarray(spectrum.counts, dtype)
    p_star = jnp.asarray(spectrum.p_star, dtype)
    return lam, target, counts, p_star


def scheduled_loss_curve(spectrum: Spectrum, gammas, batch):
    """Expected SGD loss ``P(r)``, ``r = 0..n``, with learning rate ``gammas[r]`` at step ``r``.

    The exact per-mode recursion of the module docstring, one ``lax.scan`` step per SGD step, the
    same arithmetic as :func:`theory.plrf.expected_loss_curve_exact` (so a constant ``gammas``
    reproduces it). Jittable; no validation (see :func:`expected_loss_trained`).

    Returns:
        ``(n + 1,)`` array of ``P(r)``.
    """
    lam, target, counts, p_star = _arrays(spectrum)
    batch = jnp.asarray(batch, lam.dtype)
    gammas = jnp.asarray(gammas, lam.dtype)

    def step(M, gamma):
        one_minus_q = gamma * batch * lam * (2.0 - gamma * (batch + 1.0) * lam)
        q = 1.0 - one_minus_q
        forcing = gamma**2 * batch * lam**2 * counts
        p = p_star + jnp.sum(M)
        return q * M + forcing * p, p

    M_final, p = lax.scan(step, target, gammas)
    return jnp.concatenate([p, (p_star + jnp.sum(M_final))[None]])


def scheduled_loss_at(spectrum: Spectrum, gammas, batch, n):
    """Expected SGD loss ``P(n)`` after ``n`` steps with learning rate ``gammas[r]`` at step ``r``
    (``n`` may be traced, ``<= len(gammas)``): the recursion of :func:`scheduled_loss_curve` in a
    ``fori_loop``, so runs of many lengths share one compilation and each costs its own ``n``.
    """
    lam, target, counts, p_star = _arrays(spectrum)
    batch = jnp.asarray(batch, lam.dtype)
    gammas = jnp.asarray(gammas, lam.dtype)

    def body(r, M):
        gamma = gammas[r]
        one_minus_q = gamma * batch * lam * (2.0 - gamma * (batch + 1.0) * lam)
        forcing = gamma**2 * batch * lam**2 * counts
        return (1.0 - one_minus_q) * M + forcing * (p_star + jnp.sum(M))

    return p_star + jnp.sum(lax.fori_loop(0, n, body, target))


def _mode_operator(lam, batch, g1, g2, g3, keep):
    """Entries of ``T`` and ``v`` per mode (module docstring)."""
    lr = g2 + g3 * g1
    t11 = 1.0 - lr * batch * lam
    t12 = -g3 * keep
    t21 = g1 * batch * lam
    t22 = keep
    return t11, t12, t21, t22, -lr, g1


def momentum_loss_curve(spectrum: Spectrum, batch, g1, g2, g3, keep):
    """Expected loss ``P(r)``, ``r = 0..n``, of Gen-Mom-SGD with per-step coefficients.

    ``g1, g2, g3, keep`` are ``(n,)`` arrays (``γ1, γ2, γ3, κ = 1 − Δ`` of step ``r``;
    :meth:`Optimizer.coefficients`). State per mode: ``a = counts·λ·E δ²``, ``b = counts·λ·E δy``,
    ``c = counts·λ·E y²`` from ``(target_mass, 0, 0)``; one step is
    ``S' = T S Tᵀ + v vᵀ (Bλ² a + Bλ² counts P)`` (module docstring). Jittable.

    Returns:
        ``(n + 1,)`` array of ``P(r)``.
    """
    lam, target, counts, p_star = _arrays(spectrum)
    batch = jnp.asarray(batch, lam.dtype)
    coeffs = tuple(jnp.asarray(x, lam.dtype) for x in (g1, g2, g3, keep))

    def step(state, c_r):
        return momentum_step(state, lam, counts, p_star, batch, *c_r)

    zero = jnp.zeros_like(target)
    (a, _, _), p = lax.scan(step, (target, zero, zero), coeffs)
    return jnp.concatenate([p, (p_star + jnp.sum(a))[None]])


def momentum_step(state, lam, counts, p_star, batch, g1, g2, g3, keep):
    """One step of the Gen-Mom second-moment recursion (module docstring):
    ``((a, b, c), coefficients of step r) -> ((a', b', c'), P(r))``, with
    ``(a, b, c) = counts·λ·(E δ², E δy, E y²)`` per mode. Jittable."""
    a, b, c = state
    t11, t12, t21, t22, v1, v2 = _mode_operator(lam, batch, g1, g2, g3, keep)
    p = p_star + jnp.sum(a)
    noise = batch * lam**2 * (a + counts * p)
    a2 = t11 * t11 * a + 2.0 * t11 * t12 * b + t12 * t12 * c + v1 * v1 * noise
    b2 = t11 * t21 * a + (t11 * t22 + t12 * t21) * b + t12 * t22 * c + v1 * v2 * noise
    c2 = t21 * t21 * a + 2.0 * t21 * t22 * b + t22 * t22 * c + v2 * v2 * noise
    return (a2, b2, c2), p


# --------------------------------------------------------------------------------------------
# Stability of frozen coefficients
# --------------------------------------------------------------------------------------------
def _operators(lam, batch, g1, g2, g3, keep):
    """Per-mode 3×3 operators on ``(a, b, c)`` without the ``P`` coupling, and the coupling
    column ``w`` (so ``S' = A S + w·Bλ²counts·P``); numpy, shapes ``(n, 3, 3)``, ``(n, 3)``."""
    t11, t12, t21, t22, v1, v2 = _mode_operator(lam, batch, g1, g2, g3, keep)
    t11 = np.broadcast_to(t11, lam.shape)
    t21 = np.broadcast_to(t21, lam.shape)
    t12, t22, v1, v2 = (np.broadcast_to(x, lam.shape) for x in (t12, t22, v1, v2))
    s = batch * lam**2
    A = np.stack(
        [
            np.stack([t11 * t11 + v1 * v1 * s, 2 * t11 * t12, t12 * t12], -1),
            np.stack([t11 * t21 + v1 * v2 * s, t11 * t22 + t12 * t21, t12 * t22], -1),
            np.stack([t21 * t21 + v2 * v2 * s, 2 * t21 * t22, t22 * t22], -1),
        ],
        -2,
    )
    w = np.stack([v1 * v1, v1 * v2, v2 * v2], -1)
    return A, w


def momentum_kernel_norm(spectrum: Spectrum, batch, g1, g2, g3, keep) -> tuple[float, float]:
    """``(max spectral radius, ‖K‖)`` of frozen Gen-Mom coefficients (scalars; numpy).

    ``‖K‖ = Σ_i Bλ_i² counts_i [(I − A_i)⁻¹ w_i]_a`` (the total response of ``P`` to a unit
    ``P``); ``inf`` when a per-mode radius is ``>= 1``. For SGD it equals
    ``Σ_i γλ_i/(2 − γ(B+1)λ_i)`` (:func:`theory.plrf.kernel_norm`).

    Modes with ``(γ2 + γ3γ1)Bλ < 1e-12`` (e.g. W-free at ``d = 2^40``) are left out: their radius
    rounds to exactly 1 (marginal, not divergent) and their share of ``‖K‖`` is ``< 1e-12``.
    """
    lam = np.asarray(spectrum.eigenvalues, np.float64)
    counts = np.asarray(spectrum.counts, np.float64)
    moving = (float(g2) + float(g3) * float(g1)) * float(batch) * lam > 1e-12
    lam, counts = lam[moving], counts[moving]
    A, w = _operators(lam, float(batch), float(g1), float(g2), float(g3), float(keep))
    radius = float(np.max(np.abs(np.linalg.eigvals(A)))) if lam.size else 0.0
    if radius >= 1.0:
        return radius, math.inf
    resp = np.linalg.solve(np.eye(3) - A, w[..., None])[..., 0, 0]
    return radius, float(np.sum(batch * lam**2 * counts * resp))


def check_momentum(spectrum: Spectrum, batch: int, coefficients, *, n_probe: int = 48) -> float:
    """Raise ValueError unless the frozen coefficients are stable on a log grid of steps.

    ``coefficients``: ``(γ1, γ2, γ3, κ)`` per step. Probes ``n_probe`` log-spaced steps (and the
    step of the peak learning rate), skipping steps whose learning rate is 0; returns the largest
    ``‖K‖`` seen.
    """
    g1, g2, g3, keep = (np.asarray(x, np.float64) for x in coefficients)
    n = g2.shape[0]
    probe = np.unique(np.concatenate([np.geomspace(1, n, n_probe).astype(int) - 1, [0]]))
    probe = np.unique(np.concatenate([probe, [int(np.argmax(g2 + g3))]]))
    # A step with zero learning rate moves nothing (radius exactly 1): not a divergence.
    probe = probe[(g2 + g3 * g1)[probe] > 0.0]
    worst = 0.0
    for r in probe:
        radius, norm = momentum_kernel_norm(spectrum, batch, g1[r], g2[r], g3[r], keep[r])
        if radius >= 1.0 or norm >= 1.0:
            raise ValueError(
                f"optimizer unstable at step {r}: per-mode spectral radius {radius:.4g}, kernel "
                f"norm ||K|| = {norm:.4g} (need radius < 1 and ||K|| < 1); lower the learning "
                "rate or the momentum"
            )
        worst = max(worst, norm)
    return worst


def check_schedule(spectrum: Spectrum, gamma, batch: int, multipliers) -> float:
    """Raise ValueError if SGD at the schedule's peak ``γ·max m_r`` is unstable; return ``‖K‖``."""
    peak = float(np.max(multipliers))
    if peak <= 0.0:
        raise ValueError("schedule multipliers are all 0: the learning rate never moves θ")
    try:
        return stability_check(spectrum, float(gamma) * peak, batch)
    except ValueError as err:
        raise ValueError(f"schedule peak (multiplier {peak:.4g}): {err}") from None


# --------------------------------------------------------------------------------------------
# The validated entry point
# --------------------------------------------------------------------------------------------
def check_steps(steps) -> np.ndarray:
    """``steps`` as a non-empty, sorted 1-D integer array ``>= 0``, else a one-line ValueError."""
    steps = np.asarray(steps)
    if steps.ndim != 1 or steps.size == 0 or not np.issubdtype(steps.dtype, np.integer):
        raise ValueError(f"steps must be a non-empty 1-D integer array, got {steps!r}")
    if steps[0] < 0 or np.any(np.diff(steps) < 0):
        raise ValueError("steps must be >= 0 and sorted")
    return steps


_scheduled_jit = jax.jit(scheduled_loss_curve)
_momentum_jit = jax.jit(momentum_loss_curve)


def expected_loss_trained(
    spectrum: Spectrum,
    gamma,
    batch: int,
    steps,
    schedule=None,
    optimizer: Optimizer | None = None,
) -> np.ndarray:
    """Expected population loss at ``steps`` under a schedule and an optimizer (float64).

    Args:
        spectrum: realised (:func:`theory.plrf.realised_spectrum`) or W-free
            (:func:`theory.plrf.continuum_spectrum`) :class:`~theory.plrf.Spectrum`.
        gamma: base learning rate ``γ > 0``; step ``r`` uses ``γ·m_r``.
        batch: ``B >= 1``.
        steps: sorted integer steps ``0 <= r <= n``; the horizon ``n = steps[-1]`` is the
            schedule's horizon.
        schedule: a :class:`theory.schedules.Schedule`, an optax schedule or an ``(n,)`` array
            of multipliers (default constant).
        optimizer: :class:`Optimizer` (default SGD).

    Checks stability first: SGD at the schedule's peak (:func:`check_schedule`); momentum at
    frozen coefficients (:func:`check_momentum`). Cost ``O(n·len(spectrum))``.
    """
    gamma = check_float("learning_rate", gamma, low=0.0, strict=True, high=math.inf)
    batch = check_int("batch", batch, 1)
    steps = check_steps(steps)
    n = int(max(steps[-1], 1))
    m = as_multipliers(Constant() if schedule is None else schedule, n)
    optimizer = optimizer or Optimizer()
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"optimizer must be a theory.plrf_training.Optimizer, got {optimizer!r}")
    with jax.enable_x64(True):
        spec = Spectrum(*(jnp.asarray(np.asarray(x, np.float64)) for x in spectrum))
        if optimizer.kind == "sgd":
            check_schedule(spectrum, gamma, batch, m)
            curve = _scheduled_jit(spec, jnp.asarray(gamma * m), float(batch))
        else:
            coeffs = optimizer.coefficients(gamma, m)
            check_momentum(spectrum, batch, coeffs)
            curve = _momentum_jit(spec, float(batch), *(jnp.asarray(c) for c in coeffs))
        return np.asarray(curve, dtype=np.float64)[steps]


# --------------------------------------------------------------------------------------------
# Batch size
# --------------------------------------------------------------------------------------------
def max_stable_learning_rate(spectrum: Spectrum, batch: int) -> float:
    """Largest ``γ`` at which SGD with batch ``B`` is stable on ``spectrum`` (bisection of
    ``γ(B+1)λ_max < 2`` and ``‖K‖ < 1``)."""
    batch = check_int("batch", batch, 1)
    lam = np.asarray(spectrum.eigenvalues, np.float64)
    hi = 2.0 / ((batch + 1) * float(lam.max()))
    lo = 0.0
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        try:
            stability_check(spectrum, mid, batch)
            lo = mid
        except ValueError:
            hi = mid
    return lo


def max_stable_batch(spectrum: Spectrum, gamma, b_max: int = 2**30) -> int:
    """Largest batch ``B`` at which SGD with learning rate ``γ`` is stable (0 if none): ``‖K‖``
    and ``γ(B+1)λ_max`` both grow with ``B``, so bisect on integers up to ``b_max``."""
    gamma = check_float("learning_rate", gamma, low=0.0, strict=True, high=math.inf)

    def ok(b):
        try:
            stability_check(spectrum, gamma, b)
            return True
        except ValueError:
            return False

    if not ok(1):
        return 0
    lo, hi = 1, check_int("b_max", b_max, 1)
    if ok(hi):
        return hi
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if ok(mid) else (lo, mid)
    return lo


def _steps_to_target(spectrum, gamma, batch, target, max_steps):
    lam, M0, counts, p_star = _arrays(spectrum)
    batch = jnp.asarray(batch, lam.dtype)
    one_minus_q = gamma * batch * lam * (2.0 - gamma * (batch + 1.0) * lam)
    q = 1.0 - one_minus_q
    forcing = gamma**2 * batch * lam**2 * counts

    def cond(state):
        r, M = state
        return (p_star + jnp.sum(M) > target) & (r < max_steps)

    def body(state):
        r, M = state
        return r + 1, q * M + forcing * (p_star + jnp.sum(M))

    r, M = lax.while_loop(cond, body, (jnp.zeros((), jnp.int64), M0))
    return jnp.where(p_star + jnp.sum(M) <= target, r, -1)


_steps_jit = jax.jit(_steps_to_target, static_argnames=("max_steps",))


def steps_to_target(spectrum: Spectrum, gamma, batch: int, target, max_steps: int = 10**7) -> int:
    """First step ``r`` with expected SGD loss ``P(r) <= target`` (exact recursion), or ``-1``
    if not reached within ``max_steps`` (``target <= P*/(1 − ‖K‖)`` is never reached)."""
    gamma = check_float("learning_rate", gamma, low=0.0, strict=True, high=math.inf)
    batch = check_int("batch", batch, 1)
    target = check_float("target", target, low=0.0, strict=True, high=math.inf)
    stability_check(spectrum, gamma, batch)
    with jax.enable_x64(True):
        spec = Spectrum(*(jnp.asarray(np.asarray(x, np.float64)) for x in spectrum))
        return int(_steps_jit(spec, gamma, float(batch), target, int(max_steps)))


def steps_to_targets(
    spectrum: Spectrum,
    learning_rates,
    batches,
    targets,
    max_steps: int = 10**8,
    per_decade: int = 60,
) -> np.ndarray:
    """Steps-to-target of many ``(γ, B)`` pairs and targets at once, from the block integrator.

    Each pair's expected SGD loss (:func:`theory.plrf.expected_loss_curve`, block fraction 0.02)
    on a log grid of ``per_decade`` steps per decade up to ``max_steps``; the step of a target is
    the first grid step with ``P <= target`` (resolution ``10^(1/per_decade)``, 4% at 60; exact
    below ~``per_decade/ln 10`` steps, where the grid holds every integer). Pairs are
    ``vmap``-ped: one compiled call. Returns ``(n_pairs, n_targets)`` int64, ``-1`` not reached.
    """
    from theory._plrf_volterra import expected_loss_curve

    gammas = np.asarray(learning_rates, np.float64).ravel()
    bs = np.asarray(batches, np.float64).ravel()
    if gammas.shape != bs.shape:
        raise ValueError(f"learning_rates and batches must pair up, got {gammas.shape}, {bs.shape}")
    for g, b in zip(gammas, bs):
        stability_check(spectrum, float(g), int(b))
    tg = np.asarray(targets, np.float64).ravel()
    n_grid = int(per_decade * math.log10(max_steps)) + 1
    grid = np.unique(np.round(np.geomspace(1, max_steps, n_grid)).astype(np.int64))
    grid = np.concatenate([[0], grid])
    with jax.enable_x64(True):
        spec = Spectrum(*(jnp.asarray(np.asarray(x, np.float64)) for x in spectrum))
        fn = jax.jit(jax.vmap(lambda g, b: expected_loss_curve(spec, g, b, jnp.asarray(grid))))
        curves = np.asarray(fn(jnp.asarray(gammas), jnp.asarray(bs)))
    below = curves[:, :, None] <= tg[None, None, :]
    first = np.argmax(below, axis=1)
    return np.where(below.any(axis=1), grid[first], -1)


def critical_batch_from_steps(batches, steps, factor: float = 2.0) -> int:
    """``B*``: the smallest batch whose ``steps`` (``-1``: not reached) is within ``factor`` of
    the fewest; ``-1`` when none reached."""
    steps = np.asarray(steps)
    if not np.any(steps >= 0):
        return -1
    best = steps[steps >= 0].min()
    return min(b for b, s in zip(batches, steps) if 0 <= s <= factor * best)


def critical_batch(
    spectrum: Spectrum,
    batches,
    learning_rates,
    target,
    *,
    factor: float = 2.0,
    max_steps: int = 10**7,
) -> tuple[int, np.ndarray]:
    """Critical batch size ``B*(target)``: the smallest ``B`` whose steps-to-target is within
    ``factor`` of the best over ``batches`` (Zhang et al., arXiv 2410.21676, §3).

    ``learning_rates[k]`` is the learning rate used at ``batches[k]`` (e.g. a fixed fraction of
    :func:`max_stable_learning_rate`), or a row of rates tried there (the fewest steps counts:
    the learning rate tuned per batch size, as in Zhang et al.). Returns ``(B*, steps)`` with
    ``steps[k]`` the steps-to-target of each batch (``-1``: not reached; such batches never
    qualify); ``B* = -1`` when no batch reaches the target.
    """
    batches = [check_int("batches", b, 1) for b in batches]
    rates = np.asarray(learning_rates, np.float64)
    rates = rates.reshape(len(batches), -1) if rates.ndim else np.full((len(batches), 1), rates)
    factor = check_float("factor", factor, low=1.0, high=math.inf)

    def best(gs, b):  # fewest steps over the learning rates tried at batch b (-1: none reached)
        s = [steps_to_target(spectrum, g, b, target, max_steps) for g in gs]
        s = [x for x in s if x >= 0]
        return min(s) if s else -1

    steps = np.array([best(gs, b) for gs, b in zip(rates, batches)])
    return critical_batch_from_steps(batches, steps, factor), steps
