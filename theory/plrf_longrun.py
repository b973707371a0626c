"""Long runs of the PLRF training recursion, and the time exponents of the loss at d → ∞.

:func:`theory.plrf_training.momentum_loss_curve` takes per-step coefficient arrays and returns
the loss of every step: at 10⁸ steps that is 4 GB of inputs and 0.8 GB of output.
:func:`momentum_loss_at` runs the same exact recursion (same arithmetic per step) with the
coefficients of a constant-schedule :class:`~theory.plrf_training.Optimizer` computed inside the
loop and only the requested steps kept, in memory independent of the run length; with the
W-free spectrum (:func:`theory.plrf.continuum_spectrum`, cost independent of ``d``) it reaches
``d = 2^40`` and 10⁸ steps in about a minute on one CPU core.

**Time exponents at d → ∞.** For ``2α > 1`` (learning rate independent of ``d``) SGD's loss
above ``P*`` is a sum of power laws in the step ``r`` (Paquette, Paquette, Xiao, Pennington,
arXiv 2405.15074, §3; :func:`theory.plrf.scaling_terms`): the population term
``F_pp ≍ r^(−(2α+2β−1)/(2α))`` and the SGD-noise term ``≍ r^(−(2−1/(2α)))``, with the
``d``-limited terms (``F0``, ``F_ac``) gone as ``d → ∞``. DANA-decaying (arXiv 2505.16098;
``γ3(r) ∝ r^(−1/(2α))``, ``Δ(r) = δ/(δ + r)``) relaxes a mode of eigenvalue ``λ`` once
``λ·r^(2−1/(2α)) ≍ 1`` instead of ``λ·r ≍ 1``, so — OUR READING of that paper, the one of
:func:`theory.plrf_training.dana_exponents` — both exponents are multiplied by
``k = 2 − 1/(2α)``; the loss curve's slope in ``log P − log r`` tends to the smaller of them
(:func:`time_exponents`). This is the paper's outscaling stated without the ``d``-limited terms,
so it can be checked on one long run at a very large ``d``.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from theory import plrf as theory_plrf
from theory._plrf_volterra import Spectrum, stability_check
from theory.checks import check_float, check_int
from theory.plrf_training import Optimizer, check_momentum, check_steps, momentum_step

__all__ = ["coefficients_at", "dana_time_power", "momentum_loss_at", "time_exponents"]


def coefficients_at(optimizer: Optimizer, gamma, r):
    """``(γ1, γ2, γ3, κ)`` of step ``r`` (traced or concrete) at a constant schedule: the values
    :meth:`theory.plrf_training.Optimizer.coefficients` gives at step ``r``, as jax scalars."""
    r = jnp.asarray(r, jnp.result_type(float))
    g = jnp.asarray(gamma, r.dtype)
    zero, one = jnp.zeros_like(r), jnp.ones_like(r)
    kind = optimizer.kind
    if kind == "sgd":
        return zero, g * one, zero, zero
    if kind == "heavy_ball":
        return one, zero, g * one, optimizer.momentum * one
    if kind == "nesterov":
        return one, g * one, g * optimizer.momentum * one, optimizer.momentum * one
    if optimizer.d is not None:
        g3 = g * (optimizer.gamma3 / optimizer.d) * one
    else:
        g3 = g * optimizer.gamma3 * jnp.exp(-optimizer.decay * jnp.log1p(r))
    return one, g * one, g3, r / (optimizer.delta + r)


def _run(spectrum: Spectrum, batch, optimizer: Optimizer, gamma, steps):
    """:func:`theory.plrf_training.momentum_step` with in-loop coefficients, one ``fori_loop``
    between consecutive ``steps``; returns ``P`` at ``steps``."""
    lam, target, counts, p_star = (jnp.asarray(x, jnp.result_type(float)) for x in spectrum)
    batch = jnp.asarray(batch, lam.dtype)

    def one_step(r, state):
        coeffs = coefficients_at(optimizer, gamma, r)
        return momentum_step(state, lam, counts, p_star, batch, *coeffs)[0]

    def segment(carry, stop):
        start, state = carry
        state = lax.fori_loop(start, stop, one_step, state)
        return (stop, state), p_star + jnp.sum(state[0])

    zero = jnp.zeros_like(target)
    start = jnp.zeros((), steps.dtype)
    _, p = lax.scan(segment, (start, (target, zero, zero)), steps)
    return p


_run_jit = jax.jit(_run, static_argnames=("optimizer",))


def momentum_loss_at(
    spectrum: Spectrum, gamma, steps, optimizer: Optimizer | None = None, batch: int = 1
) -> np.ndarray:
    """Expected loss ``P(r)`` at ``steps`` of ``optimizer`` at a constant learning rate ``γ``.

    The exact recursion of :func:`theory.plrf_training.momentum_loss_curve` (equal to rounding:
    the coefficients are computed in the loop instead of read from arrays), memory independent
    of the run length. Checks stability first (:func:`theory.plrf_training.check_momentum` on
    the frozen coefficients at log-spaced steps up to ``steps[-1]``). Float64.

    Args:
        spectrum: realised or W-free :class:`~theory.plrf.Spectrum`.
        gamma: learning rate ``γ > 0``.
        steps: sorted integer steps ``>= 0``.
        optimizer: :class:`~theory.plrf_training.Optimizer` (default SGD).
        batch: ``B >= 1``.
    """
    gamma = check_float("learning_rate", gamma, low=0.0, strict=True, high=math.inf)
    batch = check_int("batch", batch, 1)
    optimizer = optimizer or Optimizer()
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"optimizer must be a theory.plrf_training.Optimizer, got {optimizer!r}")
    steps = check_steps(steps)
    n = int(max(steps[-1], 1))
    with jax.enable_x64(True):
        if optimizer.kind == "sgd":
            stability_check(spectrum, gamma, batch)
        else:
            probe = np.unique(np.geomspace(1, n, 48).astype(np.int64) - 1)
            coeffs = np.stack([np.asarray(coefficients_at(optimizer, gamma, r)) for r in probe], -1)
            check_momentum(spectrum, batch, tuple(coeffs), n_probe=probe.size)
        spec = Spectrum(*(jnp.asarray(np.asarray(x, np.float64)) for x in spectrum))
        p = _run_jit(spec, float(batch), optimizer, float(gamma), jnp.asarray(steps, jnp.int64))
        return np.asarray(p, np.float64)


def dana_time_power(alpha) -> float:
    """``k = 2 − 1/(2α)``: DANA-decaying's loss terms are SGD's at the time ``r^k`` (our reading
    of arXiv 2505.16098); ``1`` for ``2α <= 1`` (no growth of the momentum step)."""
    alpha, _ = theory_plrf.validate_parameters(alpha, 1.0)
    return 1.0 if 2 * alpha <= 1 else 2.0 - 1.0 / (2.0 * alpha)


def time_exponents(alpha, beta, time_power: float = 1.0) -> dict[str, float]:
    """Exponents of the loss terms in the step ``r`` at ``d → ∞`` (``2α > 1``), times ``k``.

    ``{"F_pp": k(2α+2β−1)/(2α), "noise": k(2 − 1/(2α)), "dominant": the smaller}``
    (arXiv 2405.15074, §3; ``time_power = k``: 1 for SGD and heavy ball, :func:`dana_time_power`
    for DANA-decaying). ``P(r) − P*`` tends to ``r^(−dominant)`` before the ``d``-limited terms
    take over.
    """
    alpha, beta = theory_plrf.validate_parameters(alpha, beta)
    if 2 * alpha <= 1:
        raise ValueError(f"alpha must be > 0.5 for d-independent time exponents, got {alpha!r}")
    k = check_float("time_power", time_power, low=0.0, strict=True, high=math.inf)
    out = {
        "F_pp": k * (2 * alpha + 2 * beta - 1) / (2 * alpha),
        "noise": k * (2.0 - 1.0 / (2 * alpha)),
    }
    out["dominant"] = min(out.values())
    return out
