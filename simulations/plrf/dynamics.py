"""PLRF SGD with a learning-rate schedule and momentum (heavy ball, Nesterov, DANA): pure JAX.

The simulator of :func:`simulations.plrf.model.sgd_eigenbasis` (Paquette, Paquette, Xiao,
Pennington, arXiv 2405.15074 §2, in ``K̂``'s eigenbasis, ``O(d·B)`` per step) with step-dependent
Gen-Mom-SGD coefficients (Paquette, Ferbach, Paquette, Gidel, Everett, arXiv 2505.16098 §2; see
:mod:`theory.plrf_training`): with the summed batch gradient ``g``,

    y_r = κ_r y_(r−1) + γ1_r g_r,     θ_(r+1) = θ_r − γ2_r g_r − γ3_r y_r.

In the rotated coordinates ``u = Λ^(1/2)Uᵀθ``, ``ỹ = Λ^(1/2)Uᵀy`` and ``G = Λ Σ_b g_b r_b``
(``r_b = ⟨g_b, u⟩ − y_b``): ``ỹ ← κỹ + γ1 G``, ``u ← u − γ2 G − γ3 ỹ``. Plain SGD with a
schedule (``γ1 = γ3 = 0``) keeps no ``ỹ`` and runs the very update of ``sgd_eigenbasis``,
``u ← u − (γ_r λ)(r @ g)``, on the same random blocks (``fold_in(key, block)``, one
``(block_steps, B, d + 1)`` normal draw per block, non-partitionable threefry), so a constant
schedule gives bit-identical losses for the same key (tested). Coefficients are per-step arrays
(``(max_steps,)``, from :meth:`theory.plrf_training.Optimizer.coefficients`).
:func:`sgd_momentum_explicit` is the ``O(v·d)``-per-sample reference with explicit samples
``x ∈ R^v`` (as :func:`simulations.plrf.model.sgd_explicit`), under the same coefficients; it
agrees with the eigenbasis path in distribution (tested), not sample by sample.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from simulations.plrf.checks import default_block_steps
from simulations.plrf.model import (
    EigenbasisProblem,
    check_checkpoints,
    checkpointed_loop,
    eigenbasis_problem,
    normal_draws,
    split_run_key,
)
from theory import plrf as theory_plrf
from theory.checks import check_int
from theory.plrf_training import Optimizer

__all__ = ["sgd_momentum", "sgd_momentum_explicit", "sgd_scheduled", "trained_run"]


def _setup(problem: EigenbasisProblem, batch, checkpoints, dtype, block_steps):
    checkpoints = check_checkpoints(checkpoints)
    batch = check_int("batch", batch)
    d = problem.eigenvalues.shape[-1]
    if block_steps is None:
        block_steps = default_block_steps(
            {"batch": batch, "d": d, "path": "eigenbasis", "max_steps": int(checkpoints[-1])}
        )
    lam = problem.eigenvalues.astype(dtype)
    c = problem.c.astype(dtype)
    s = jnp.sqrt(problem.p_star).astype(dtype)
    p_star = problem.p_star.astype(dtype)

    def make_block(k):
        ge = normal_draws(k, (block_steps, batch, d + 1), dtype)
        g = ge[..., :d]
        return g, g @ c + s * ge[..., d]

    def loss(state):
        u = state[0] if isinstance(state, tuple) else state
        return jnp.sum((u - c) ** 2) + p_star

    return checkpoints, batch, d, lam, make_block, loss, block_steps


def _coefficient_array(x, n: int, dtype, name: str) -> jax.Array:
    arr = jnp.asarray(x).astype(dtype)
    if arr.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},) (one value per step), got {arr.shape}")
    return arr


def sgd_scheduled(
    key: jax.Array,
    problem: EigenbasisProblem,
    learning_rates,
    *,
    batch: int,
    checkpoints,
    dtype=jnp.float32,
    block_steps: int | None = None,
) -> jax.Array:
    """One-pass SGD in ``K̂``'s eigenbasis with learning rate ``learning_rates[r]`` at step ``r``.

    ``learning_rates``: ``(max_steps,)`` (traced allowed; ``γ·multipliers``). Same arguments,
    random stream and output as :func:`simulations.plrf.model.sgd_eigenbasis`.
    """
    checkpoints, batch, d, lam, make_block, loss, block_steps = _setup(
        problem, batch, checkpoints, dtype, block_steps
    )
    rates = _coefficient_array(learning_rates, int(checkpoints[-1]), dtype, "learning_rates")

    def step(u, sample, s):
        g, y = sample
        r = g @ u - y
        return u - (rates[s] * lam) * (r @ g)

    u0 = jnp.zeros((d,), dtype)
    return checkpointed_loop(
        step, loss, u0, key, make_block, checkpoints, block_steps, dtype, indexed=True
    )


def sgd_momentum(
    key: jax.Array,
    problem: EigenbasisProblem,
    coefficients,
    *,
    batch: int,
    checkpoints,
    dtype=jnp.float32,
    block_steps: int | None = None,
) -> jax.Array:
    """Gen-Mom-SGD in ``K̂``'s eigenbasis: ``coefficients = (γ1, γ2, γ3, κ)``, each
    ``(max_steps,)`` (module docstring). Same random stream and output as
    :func:`sgd_scheduled`."""
    checkpoints, batch, d, lam, make_block, loss, block_steps = _setup(
        problem, batch, checkpoints, dtype, block_steps
    )
    n = int(checkpoints[-1])
    g1, g2, g3, keep = (
        _coefficient_array(x, n, dtype, name)
        for x, name in zip(coefficients, ("gamma1", "gamma2", "gamma3", "keep"))
    )

    def step(state, sample, s):
        u, yt = state
        g, y = sample
        r = g @ u - y
        grad = lam * (r @ g)
        yt = keep[s] * yt + g1[s] * grad
        return u - g2[s] * grad - g3[s] * yt, yt

    zero = jnp.zeros((d,), dtype)
    return checkpointed_loop(
        step, loss, (zero, zero), key, make_block, checkpoints, block_steps, dtype, indexed=True
    )


def sgd_momentum_explicit(
    key: jax.Array,
    w: jax.Array,
    alpha,
    beta,
    coefficients,
    *,
    batch: int,
    checkpoints,
    dtype=jnp.float32,
    block_steps: int | None = None,
) -> jax.Array:
    """Gen-Mom-SGD (module docstring) on PLRF with explicit samples: ``x = D^(1/2)ξ``,
    ``ξ ~ N(0, I_v)``, features ``z = Wᵀx``, ``y = ⟨x, b⟩``, summed batch gradient
    ``g = Σ_b z_b(⟨z_b, θ⟩ − y_b)``; ``coefficients = (γ1, γ2, γ3, κ)``, each ``(max_steps,)``
    (plain scheduled SGD: ``γ1 = γ3 = 0``, ``γ2 = γ·m_r``). ``w``: the ``(v, d)`` embedding
    (:func:`simulations.plrf.model.sample_embedding`). Returns the exact population loss
    ``‖D^(1/2)(Wθ − b)‖²`` at ``checkpoints`` (``O(v·d)`` per sample)."""
    checkpoints = check_checkpoints(checkpoints)
    batch = check_int("batch", batch)
    v, d = w.shape
    n = int(checkpoints[-1])
    g1, g2, g3, keep = (
        _coefficient_array(x, n, dtype, name)
        for x, name in zip(coefficients, ("gamma1", "gamma2", "gamma3", "keep"))
    )
    if block_steps is None:
        block_steps = default_block_steps(
            {"batch": batch, "v": v, "path": "explicit", "max_steps": n}
        )
    w = w.astype(dtype)
    j = jnp.arange(1, v + 1, dtype=dtype)
    sqrt_dj = j ** (-jnp.asarray(alpha).astype(dtype))
    b = j ** (-jnp.asarray(beta).astype(dtype))

    def make_block(k):
        x = sqrt_dj * normal_draws(k, (block_steps * batch, v), dtype)
        return (x @ w).reshape(block_steps, batch, d), (x @ b).reshape(block_steps, batch)

    def step(state, sample, s):
        theta, ym = state
        z, y = sample
        grad = (z @ theta - y) @ z
        ym = keep[s] * ym + g1[s] * grad
        return theta - g2[s] * grad - g3[s] * ym, ym

    def loss(state):
        return jnp.sum((sqrt_dj * (w @ state[0] - b)) ** 2)

    zero = jnp.zeros((d,), dtype)
    return checkpointed_loop(
        step, loss, (zero, zero), key, make_block, checkpoints, block_steps, dtype, indexed=True
    )


def trained_run(
    key: jax.Array,
    alpha,
    beta,
    learning_rate,
    *,
    v: int,
    d: int,
    batch: int,
    checkpoints,
    multipliers: np.ndarray,
    optimizer: Optimizer | None = None,
    dtype=jnp.float32,
    block_steps: int | None = None,
) -> dict[str, jax.Array]:
    """One SGD run of PLRF under a schedule and optimizer, and the exact expected loss of the same
    ``W``: ``{"loss", "expected_loss", "p_star"}``.

    As :func:`simulations.plrf.model.sgd_run` (same ``W`` and SGD keys per run key) with the
    per-step multipliers ``multipliers`` (``(max_steps,)`` numpy) of the traced base
    ``learning_rate``; ``expected_loss`` is :func:`theory.plrf_training.momentum_loss_curve` (or
    the scheduled SGD recursion) on the run's eigenbasis spectrum, float64, at the checkpoints.
    Run under ``jax.enable_x64(True)``.
    """
    from theory import plrf_training

    optimizer = optimizer or Optimizer()
    key_w, key_sgd = split_run_key(key)
    problem = eigenbasis_problem(key_w, alpha, beta, v, d)
    loop = {"batch": batch, "checkpoints": checkpoints, "dtype": dtype, "block_steps": block_steps}
    lam = problem.eigenvalues
    spectrum = theory_plrf.Spectrum(lam, problem.c**2, jnp.ones_like(lam), problem.p_star)
    steps = np.asarray(checkpoints)
    if optimizer.kind == "sgd":
        rates = learning_rate * jnp.asarray(multipliers)
        loss = sgd_scheduled(key_sgd, problem, rates, **loop)
        curve = plrf_training.scheduled_loss_curve(spectrum, rates, batch)
    else:
        coeffs = optimizer.coefficients(learning_rate, multipliers)
        loss = sgd_momentum(key_sgd, problem, coeffs, **loop)
        curve = plrf_training.momentum_loss_curve(spectrum, batch, *coeffs)
    return {"loss": loss, "expected_loss": curve[steps], "p_star": problem.p_star}
