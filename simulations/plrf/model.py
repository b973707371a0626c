"""Power-law random features (PLRF) trained by one-pass SGD: pure JAX simulators of one run.

Paquette, Paquette, Xiao, Pennington, "4+3 Phases of Compute-Optimal Neural Scaling Laws",
NeurIPS 2024, arXiv 2405.15074 (Section 2, the PLRF model). Notation (kept everywhere):

* data ``x ∈ R^v``, ``x ~ N(0, D)``, ``D = diag(j^(−2α))``, ``j = 1..v``; target ``y = ⟨x, b⟩``,
  ``b_j = j^(−β)``; no label noise;
* embedding ``W ∈ R^(v×d)`` with i.i.d. ``N(0, 1/d)`` entries; prediction ``⟨Wᵀx, θ⟩``, ``θ₀ = 0``;
* population loss ``P(θ) = ‖D^(1/2)(Wθ − b)‖²`` (full MSE, **no ½**);
* one-pass SGD with batch ``B`` and fresh samples every step,
  ``θ ← θ − γ Σ_(i≤B) Wᵀx_i (⟨Wᵀx_i, θ⟩ − ⟨x_i, b⟩)``; compute ``f = d·B·r`` after ``r`` steps;
* learning rate ``γ = c / Σ_(j≤v) j^(−2α)`` ("lr_scale" ``c``, default 0.5;
  :func:`theory.plrf.learning_rate`).

Two exact simulators of the same stochastic process:

* :func:`sgd_explicit` draws ``x ∈ R^v`` and forms ``Wᵀx`` (``O(v·d)`` per sample): the reference.
* :func:`sgd_eigenbasis` works in the eigenbasis of ``K̂ = WᵀDW = UΛUᵀ`` (``O(d)`` per sample).
  The features ``z = Wᵀx`` are Gaussian with covariance ``K̂``; with ``g ~ N(0, I_d)`` the rotated
  features are ``Uᵀz = Λ^(1/2) g`` and the target is ``y = cᵀg + s·e``, ``e ~ N(0, 1)``,
  ``c = Λ^(−1/2)UᵀWᵀDb``, ``s² = min_θ P(θ) = P*``. The loop state is ``u = Λ^(1/2)Uᵀθ``, the
  update ``u ← u − γ Λ Σ_i g_i(⟨g_i, u⟩ − y_i)`` and the loss ``P = ‖u − c‖² + s²``.

``W`` is a deterministic function of ``(key, v, d)`` (:func:`sample_embedding`, float32 draws);
:func:`split_run_key` splits a run key into the embedding and SGD keys, so :func:`sgd_run` and
:func:`expected_run` (the exact expected loss) see the same ``W`` for the same run key. Losses are
exact population losses (no ½) at static checkpoint steps from 0
(:func:`simulations.plrf.checks.log_checkpoints`). Pure JAX (plus :mod:`theory`); eager input
checks and memory estimates are in :mod:`simulations.plrf.checks`, sweeps in
:mod:`simulations.plrf.experiment`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from simulations.plrf.checks import (
    DEFAULT_LR_SCALE,
    default_block_steps,
    embedding_block_rows,
)
from theory import plrf as theory_plrf
from theory.checks import check_int

__all__ = [
    "DTYPES",
    "EigenbasisProblem",
    "check_checkpoints",
    "checkpointed_loop",
    "eigenbasis_problem",
    "expected_run",
    "learning_rate_from_scale",
    "normal_draws",
    "resolve_learning_rate",
    "sample_embedding",
    "sgd_eigenbasis",
    "sgd_explicit",
    "sgd_run",
    "split_run_key",
]

DTYPES = {"float32": jnp.float32, "float64": jnp.float64}

learning_rate_from_scale = theory_plrf.learning_rate
"""γ = c / Σ_(j≤v) j^(−2α): :func:`theory.plrf.learning_rate` (jittable in α and c)."""


# --------------------------------------------------------------------------------------------
# Learning rate of one run (traced)
# --------------------------------------------------------------------------------------------
def resolve_learning_rate(params: Mapping[str, Any], v: int):
    """γ of one run from its parameters: ``learning_rate`` itself, else from ``lr_scale``.

    ``params`` holds ``alpha`` and at most one of ``learning_rate`` (γ) and ``lr_scale`` (c,
    default 0.5); values may be traced. Returns a float64 scalar under ``jax.enable_x64``.
    """
    if "learning_rate" in params and "lr_scale" in params:
        raise ValueError("give either lr_scale or learning_rate, not both")
    if "learning_rate" in params:
        return jnp.asarray(params["learning_rate"], jnp.float64)
    return theory_plrf.learning_rate(
        jnp.asarray(params["alpha"]), v, params.get("lr_scale", DEFAULT_LR_SCALE)
    )


# --------------------------------------------------------------------------------------------
# The random problem: W, D, b and the eigenbasis
# --------------------------------------------------------------------------------------------
def normal_draws(key: jax.Array, shape: tuple[int, ...], dtype) -> jax.Array:
    """``jax.random.normal`` traced with the non-partitionable threefry lowering.

    Each run draws from its own key inside ``vmap``, so nothing is gained from the partitionable
    lowering (the default), while it compiled 2-5x slower inside the SGD loop and drew ~1.5x fewer
    numbers per second on CPU. The mode is fixed here, at trace time, so every caller (SGD paths,
    :func:`sample_embedding`, :func:`eigenbasis_problem`) sees the same stream for the same key
    whatever the global setting.
    """
    with jax.threefry_partitionable(False):
        return jax.random.normal(key, shape, dtype)


def _embedding_block(key: jax.Array, k: jax.Array | int, rows: int, d: int) -> jax.Array:
    """Standard normals (float32) of W's rows ``k·rows .. (k+1)·rows − 1`` (unscaled)."""
    return normal_draws(jax.random.fold_in(key, k), (rows, d), jnp.float32)


def sample_embedding(key: jax.Array, v: int, d: int, dtype=jnp.float32) -> jax.Array:
    """The realised embedding ``W`` (shape ``(v, d)``, entries ``N(0, 1/d)``) for ``key``.

    The draws are float32 standard normals in blocks of rows (``fold_in(key, block)``), cast to
    ``dtype`` and scaled by ``1/√d`` in that dtype, so ``W`` depends only on ``(key, v, d)``, not on
    the simulator or dtype (float64 ``W`` equals float32 ``W`` up to the rounding of ``1/√d``).
    Pure and jittable (``v``, ``d`` static). Under float64 call it inside ``jax.enable_x64``.
    """
    rows = embedding_block_rows(v, d)
    n_blocks = -(-v // rows)
    blocks = jax.vmap(lambda k: _embedding_block(key, k, rows, d))(jnp.arange(n_blocks))
    w = blocks.reshape(n_blocks * rows, d)[:v].astype(dtype)
    return w * jnp.asarray(1.0 / math.sqrt(d), dtype)


def _data_weights(alpha, beta, j, v: int, dtype):
    """``D_jj = j^(−2α)`` and ``b_j = j^(−β)`` for 1-based indices ``j`` (0 past ``v``: padding)."""
    jf = j.astype(dtype)
    valid = j <= v
    return jnp.where(valid, jf ** (-2 * alpha), 0), jnp.where(valid, jf ** (-beta), 0)


class EigenbasisProblem(NamedTuple):
    """The PLRF problem for one realised ``W`` in the eigenbasis of ``K̂ = WᵀDW`` (float64).

    Attributes (shapes, ``d`` = embedding dimension):
        eigenvalues: ``(d,)`` λ_i of ``K̂`` (ascending; negative round-off clipped to 0).
        c: ``(d,)`` target coefficients ``Λ^(−1/2)UᵀWᵀDb`` (0 on numerically null modes).
        p_star: ``()`` ``min_θ P(θ) = s²``, computed as the residual ``‖D^(1/2)(Wθ* − b)‖²``.
        initial_loss: ``()`` ``P(0) = bᵀDb``.
    """

    eigenvalues: jax.Array
    c: jax.Array
    p_star: jax.Array
    initial_loss: jax.Array


def eigenbasis_problem(key: jax.Array, alpha, beta, v: int, d: int) -> EigenbasisProblem:
    """Rotate the PLRF problem of ``W = sample_embedding(key, v, d)`` into ``K̂``'s eigenbasis.

    Computes ``K̂ = WᵀDW`` and ``WᵀDb`` by accumulating over blocks of W's rows (memory
    ``O(d²)`` per run, never the full ``v×d`` matrix), then ``eigh`` — all in float64, because the
    small eigenvalues (≈ d^(−2α)) are lost in float32. Modes with λ_i ≤ d·ε·λ_max are treated as
    null (c_i = 0). ``P* = s²`` is the residual at ``θ* = U Λ^(−1/2) c`` (a second pass over the
    rows), which is accurate even when ``P* ≪ bᵀDb`` (unlike ``bᵀDb − ‖c‖²``).

    Must be traced and run under ``jax.enable_x64(True)``. Pure; jit/vmap-able (``v``, ``d``
    static; α, β traced scalars).
    """
    f64 = jnp.float64
    if jnp.zeros((), f64).dtype != jnp.dtype("float64"):
        raise RuntimeError("eigenbasis_problem needs float64: call it inside jax.enable_x64(True)")
    alpha = jnp.asarray(alpha, f64)
    beta = jnp.asarray(beta, f64)
    rows = embedding_block_rows(v, d)
    n_blocks = -(-v // rows)
    scale = 1.0 / math.sqrt(d)

    def rows_of(k):
        w = _embedding_block(key, k, rows, d).astype(f64) * scale
        dj, bj = _data_weights(alpha, beta, k * rows + jnp.arange(1, rows + 1), v, f64)
        return w, dj, bj

    def accumulate(carry, k):
        kern, h = carry
        w, dj, bj = rows_of(k)
        return (kern + w.T @ (dj[:, None] * w), h + w.T @ (dj * bj)), None

    zeros = (jnp.zeros((d, d), f64), jnp.zeros((d,), f64))
    (kern, h), _ = jax.lax.scan(accumulate, zeros, jnp.arange(n_blocks))
    lam, u = jnp.linalg.eigh(0.5 * (kern + kern.T))
    lam = jnp.maximum(lam, 0.0)
    live = lam > d * jnp.finfo(f64).eps * jnp.max(lam)
    h_rot = u.T @ h
    c = jnp.where(live, h_rot / jnp.sqrt(jnp.where(live, lam, 1.0)), 0.0)
    theta_star = u @ jnp.where(live, h_rot / jnp.where(live, lam, 1.0), 0.0)

    def residual(total, k):
        w, dj, bj = rows_of(k)
        return total + jnp.sum(dj * (w @ theta_star - bj) ** 2), None

    p_star, _ = jax.lax.scan(residual, jnp.zeros((), f64), jnp.arange(n_blocks))
    initial = jnp.sum(jnp.arange(1, v + 1, dtype=f64) ** (-2 * alpha - 2 * beta))
    return EigenbasisProblem(lam, c, p_star, initial)


# --------------------------------------------------------------------------------------------
# The SGD loop: blocks of steps, exact loss at static checkpoints
# --------------------------------------------------------------------------------------------
def check_checkpoints(checkpoints) -> np.ndarray:
    """Eager check: a static 1-D integer array ``0 = r_0 < r_1 < ... < 2**31 - 1``."""
    arr = np.asarray(checkpoints)
    if arr.ndim != 1 or arr.size < 2 or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(
            f"checkpoints must be a 1-D integer array with >= 2 entries, got {checkpoints!r}"
        )
    if arr[0] != 0 or np.any(np.diff(arr) <= 0) or arr[-1] >= 2**31 - 1:
        raise ValueError(
            "checkpoints must start at 0 and increase strictly (below 2**31 - 1), got "
            f"{arr.tolist()}"
        )
    return arr.astype(np.int64)


def checkpointed_loop(
    step: Callable[[Any, Any], Any],
    loss: Callable[[Any], jax.Array],
    state: Any,
    key: jax.Array,
    make_block: Callable[[jax.Array], Any],
    checkpoints: np.ndarray,
    block_steps: int,
    dtype,
    *,
    indexed: bool = False,
) -> jax.Array:
    """Run ``max_steps = checkpoints[-1]`` SGD steps; return ``loss(state)`` at every checkpoint.

    ``step(state, sample)`` makes one step; with ``indexed``, ``step(state, sample, r)`` also gets
    the global step index ``r`` (``0 .. max_steps - 1``), e.g. to read a learning-rate schedule.

    The steps run in blocks of ``block_steps``; ``make_block(fold_in(key, k))`` draws the fresh
    samples of block ``k`` in one call (leading axis ``block_steps``), amortising the random-number
    dispatch. The loss is evaluated only when the step counter hits the next checkpoint, inside a
    ``lax.cond`` whose predicate depends on the (unbatched) step counter alone, so under ``vmap`` it
    stays a branch instead of being computed every step. Steps past ``max_steps`` in the last block
    (fewer than the number of blocks) run after every checkpoint is recorded and do not matter.
    """
    checkpoints = check_checkpoints(checkpoints)
    n = len(checkpoints)
    max_steps = int(checkpoints[-1])
    n_blocks = -(-max_steps // block_steps)
    ck = jnp.asarray(checkpoints, dtype=jnp.int32)
    buf = jnp.zeros((n,), dtype).at[0].set(loss(state).astype(dtype))

    def one_step(carry, sample):
        st, buf, idx, s = carry
        st = step(st, sample, jnp.minimum(s, max_steps - 1)) if indexed else step(st, sample)
        s = s + 1
        hit = s == ck[jnp.minimum(idx, n - 1)]

        def record(operands):
            st, buf, idx = operands
            return buf.at[idx].set(loss(st).astype(dtype)), idx + 1

        buf, idx = jax.lax.cond(hit, record, lambda o: (o[1], o[2]), (st, buf, idx))
        return (st, buf, idx, s), None

    def one_block(carry, k):
        st, buf, idx = carry
        samples = make_block(jax.random.fold_in(key, k))
        (st, buf, idx, _), _ = jax.lax.scan(one_step, (st, buf, idx, k * block_steps), samples)
        return (st, buf, idx), None

    init = (state, buf, jnp.asarray(1, jnp.int32))
    (_, buf, _), _ = jax.lax.scan(one_block, init, jnp.arange(n_blocks, dtype=jnp.int32))
    return buf


def sgd_eigenbasis(
    key: jax.Array,
    problem: EigenbasisProblem,
    learning_rate,
    *,
    batch: int,
    checkpoints: np.ndarray,
    dtype=jnp.float32,
    block_steps: int | None = None,
) -> jax.Array:
    """One-pass SGD on PLRF simulated in K̂'s eigenbasis (exact in distribution, O(d·B) per step).

    Implements the update of arXiv 2405.15074 §2 in rotated coordinates
    ``u = Λ^(1/2)Uᵀθ``: with ``g_i ~ N(0, I_d)``, ``e_i ~ N(0, 1)``, ``y_i = ⟨c, g_i⟩ + s·e_i``,
    ``u ← u − γ Λ Σ_(i≤B) g_i(⟨g_i, u⟩ − y_i)``; the population loss is ``‖u − c‖² + s²``.

    ``key``: the SGD noise; ``problem``: :func:`eigenbasis_problem` (float64, cast to ``dtype``);
    ``learning_rate``: γ (traced); static: ``batch`` B, ``checkpoints`` (int steps from 0, see
    :func:`~simulations.plrf.checks.log_checkpoints`), ``dtype`` of the loop (float32, or float64
    under x64), ``block_steps`` (steps per random-number block; default from the sizes).

    Returns:
        ``(len(checkpoints),)`` array of ``dtype``: the exact population loss at each checkpoint.
    """
    checkpoints = check_checkpoints(checkpoints)
    batch = check_int("batch", batch)
    d = problem.eigenvalues.shape[-1]
    lam = problem.eigenvalues.astype(dtype)
    c = problem.c.astype(dtype)
    s = jnp.sqrt(problem.p_star).astype(dtype)
    p_star = problem.p_star.astype(dtype)
    gamma_lam = jnp.asarray(learning_rate).astype(dtype) * lam
    if block_steps is None:
        block_steps = default_block_steps(
            {"batch": batch, "d": d, "path": "eigenbasis", "max_steps": int(checkpoints[-1])}
        )

    def make_block(k):
        # One draw for features and label noise: each random-number call site costs seconds of
        # XLA compile time inside the loop.
        ge = normal_draws(k, (block_steps, batch, d + 1), dtype)
        g = ge[..., :d]
        return g, g @ c + s * ge[..., d]

    def step(u, sample):
        g, y = sample
        r = g @ u - y
        return u - gamma_lam * (r @ g)

    def loss(u):
        return jnp.sum((u - c) ** 2) + p_star

    u0 = jnp.zeros((d,), dtype)
    return checkpointed_loop(step, loss, u0, key, make_block, checkpoints, block_steps, dtype)


def sgd_explicit(
    key: jax.Array,
    w: jax.Array,
    alpha,
    beta,
    learning_rate,
    *,
    batch: int,
    checkpoints: np.ndarray,
    dtype=jnp.float32,
    block_steps: int | None = None,
) -> jax.Array:
    """One-pass SGD on PLRF with explicit samples ``x ∈ R^v`` (the O(v·d)-per-sample reference).

    ``x = D^(1/2) ξ``, ``ξ ~ N(0, I_v)``; features ``z = Wᵀx``; ``y = ⟨x, b⟩``;
    ``θ ← θ − γ Σ_(i≤B) z_i(⟨z_i, θ⟩ − y_i)`` (arXiv 2405.15074 §2); the exact
    population loss ``‖D^(1/2)(Wθ − b)‖²`` is evaluated at the checkpoints. The features of a
    whole block of steps are one ``(block·B, v) @ (v, d)`` matmul, since they do not depend on θ.

    ``w`` is the ``(v, d)`` embedding (cast to ``dtype``), ``alpha``, ``beta``, ``learning_rate``
    traced scalars; the other arguments and the output are as in :func:`sgd_eigenbasis`.
    """
    checkpoints = check_checkpoints(checkpoints)
    batch = check_int("batch", batch)
    v, d = w.shape
    w = w.astype(dtype)
    alpha = jnp.asarray(alpha).astype(dtype)
    beta = jnp.asarray(beta).astype(dtype)
    j = jnp.arange(1, v + 1, dtype=dtype)
    sqrt_dj = j ** (-alpha)
    b = j ** (-beta)
    gamma = jnp.asarray(learning_rate).astype(dtype)
    if block_steps is None:
        block_steps = default_block_steps(
            {"batch": batch, "v": v, "path": "explicit", "max_steps": int(checkpoints[-1])}
        )

    def make_block(k):
        x = sqrt_dj * normal_draws(k, (block_steps * batch, v), dtype)
        z = (x @ w).reshape(block_steps, batch, d)
        y = (x @ b).reshape(block_steps, batch)
        return z, y

    def step(theta, sample):
        z, y = sample
        r = z @ theta - y
        return theta - gamma * (r @ z)

    def loss(theta):
        return jnp.sum((sqrt_dj * (w @ theta - b)) ** 2)

    theta0 = jnp.zeros((d,), dtype)
    return checkpointed_loop(step, loss, theta0, key, make_block, checkpoints, block_steps, dtype)


def split_run_key(key: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(embedding key, SGD key) of a run: shared by every one-run function so W matches per key."""
    return jax.random.fold_in(key, 0), jax.random.fold_in(key, 1)


# --------------------------------------------------------------------------------------------
# One run: SGD, and the exact expected loss of the same W
# --------------------------------------------------------------------------------------------
def sgd_run(
    key: jax.Array,
    alpha,
    beta,
    learning_rate,
    *,
    v: int,
    d: int,
    batch: int,
    checkpoints: np.ndarray,
    path: str = "eigenbasis",
    dtype=jnp.float32,
    block_steps: int | None = None,
) -> dict[str, jax.Array]:
    """One SGD run of PLRF from a run key: ``{"loss": (K,) dtype, "p_star", "kernel_norm"}``.

    ``W`` comes from ``split_run_key(key)[0]`` (:func:`sample_embedding`), the SGD noise from
    ``split_run_key(key)[1]``. ``path="eigenbasis"`` simulates in ``K̂``'s eigenbasis
    (:func:`sgd_eigenbasis`), ``"explicit"`` with explicit samples (:func:`sgd_explicit`);
    ``p_star`` is ``min_θ P`` of this ``W`` either way, ``kernel_norm`` its
    ``‖K‖ = Σ γλ_i/(2 − γ(B+1)λ_i)`` (float64; ``inf`` when ``γ(B+1)λ_max >= 2``: SGD on this ``W``
    diverges in expectation when ``‖K‖ >= 1``, arXiv 2405.15074 §2). Traced: ``alpha``, ``beta``,
    ``learning_rate``; static: the sizes, ``checkpoints``, ``path``, ``dtype``, ``block_steps``.
    Run under ``jax.enable_x64(True)`` (the eigendecomposition needs float64).
    """
    key_w, key_sgd = split_run_key(key)
    problem = eigenbasis_problem(key_w, alpha, beta, v, d)
    loop = {"batch": batch, "checkpoints": checkpoints, "dtype": dtype, "block_steps": block_steps}
    if path == "eigenbasis":
        loss = sgd_eigenbasis(key_sgd, problem, learning_rate, **loop)
    else:
        w = sample_embedding(key_w, v, d, dtype)
        loss = sgd_explicit(key_sgd, w, alpha, beta, learning_rate, **loop)
    lam = problem.eigenvalues
    spectrum = theory_plrf.Spectrum(lam, problem.c**2, jnp.ones_like(lam), problem.p_star)
    norm = theory_plrf.kernel_norm(spectrum, learning_rate, batch)
    return {"loss": loss, "p_star": problem.p_star, "kernel_norm": norm}


def expected_run(
    key: jax.Array,
    alpha,
    beta,
    learning_rate,
    *,
    v: int,
    d: int,
    batch: int,
    checkpoints: np.ndarray,
) -> dict[str, jax.Array]:
    """The exact expected SGD loss of the ``W`` of run ``key`` (the same ``W`` as :func:`sgd_run`).

    Evaluates ``theory.plrf.realised_spectrum(W, α, β)`` and the Volterra equation for the
    expected loss (arXiv 2405.15074 §2: ``P(r) = F(r) + Σ_(s<r) K(r−1−s) P(s)``) at the
    checkpoints with ``theory.plrf.expected_loss_curve``. Returns ``{"loss": (K,) float64,
    "p_star": (), "kernel_norm": ()}`` (``‖K‖ = Σ γλ_i/(2 − γ(B+1)λ_i)``). Must run under
    ``jax.enable_x64(True)``; memory about ``16·v·d`` bytes (the float64 ``W`` and ``D^(1/2)W``).
    """
    key_w, _ = split_run_key(key)
    w = sample_embedding(key_w, v, d, jnp.float64)
    spectrum = theory_plrf.realised_spectrum(w, alpha, beta)
    loss = theory_plrf.expected_loss_curve(spectrum, learning_rate, batch, checkpoints)
    return {
        "loss": loss,
        "p_star": spectrum.p_star,
        "kernel_norm": theory_plrf.kernel_norm(spectrum, learning_rate, batch),
    }
