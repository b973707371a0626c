"""Power-law random features (PLRF) trained by one-pass SGD: simulators and sweep builders.

Paquette, Paquette, Xiao, Pennington, "4+3 Phases of Compute-Optimal Neural Scaling Laws",
NeurIPS 2024, arXiv 2405.15074 (Section 2, the PLRF model). Notation (kept everywhere):

* data ``x ∈ R^v``, ``x ~ N(0, D)``, ``D = diag(j^(−2α))``, ``j = 1..v``; target ``y = ⟨x, b⟩``,
  ``b_j = j^(−β)``; no label noise;
* embedding ``W ∈ R^(v×d)`` with i.i.d. ``N(0, 1/d)`` entries; prediction ``⟨Wᵀx, θ⟩``, ``θ₀ = 0``;
* population loss ``P(θ) = ‖D^(1/2)(Wθ − b)‖²`` (full MSE, **no ½**);
* one-pass SGD with batch ``B`` and fresh samples every step,
  ``θ ← θ − γ Σ_(i≤B) Wᵀx_i (⟨Wᵀx_i, θ⟩ − ⟨x_i, b⟩)``; compute ``f = d·B·r`` after ``r`` steps;
* learning rate ``γ = c / Σ_(j≤v) j^(−2α)`` ("lr_scale" ``c``, default 0.5).

Two exact simulators of the same stochastic process:

* :func:`sgd_explicit` draws ``x ∈ R^v`` and forms ``Wᵀx`` (``O(v·d)`` per sample): the reference.
* :func:`sgd_eigenbasis` works in the eigenbasis of ``K̂ = WᵀDW = UΛUᵀ`` (``O(d)`` per sample).
  The features ``z = Wᵀx`` are Gaussian with covariance ``K̂``; with ``g ~ N(0, I_d)`` the rotated
  features are ``Uᵀz = Λ^(1/2) g`` and the target is ``y = cᵀg + s·e``, ``e ~ N(0, 1)``,
  ``c = Λ^(−1/2)UᵀWᵀDb``, ``s² = min_θ P(θ) = P*``. The loop state is ``u = Λ^(1/2)Uᵀθ``, the
  update ``u ← u − γ Λ Σ_i g_i(⟨g_i, u⟩ − y_i)`` and the loss ``P = ‖u − c‖² + s²``.

The realised embedding ``W`` is a deterministic function of ``(key, v, d)``
(:func:`sample_embedding`, float32 draws), so the SGD builder :func:`build_sgd` and the theory
builder :func:`build_expected` see the same ``W`` for the same run key: sweeping both over the same
:class:`~simulations.sweep.Grid` (same static and swept names and values) pairs every SGD run with
the expected loss of its own ``W`` (:func:`run_embedding` re-samples the ``W`` of any run).

Outputs and conventions: losses are exact population losses (no ½) at log-spaced checkpoints
(:func:`log_checkpoints`, coordinate ``checkpoint`` = step count); the learning rate actually used
is output as ``gamma``; :func:`with_compute_coords` adds ``step`` and ``compute = d·B·step``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from simulations import sweep
from theory import plrf as theory_plrf

__all__ = [
    "EigenbasisProblem",
    "build_expected",
    "build_sgd",
    "eigenbasis_problem",
    "learning_rate_from_scale",
    "log_checkpoints",
    "run_embedding",
    "sample_embedding",
    "sgd_eigenbasis",
    "sgd_explicit",
    "simulate",
    "simulation_grid",
    "validate_grid",
    "validate_point",
    "validate_static",
    "with_compute_coords",
]

PATHS = ("eigenbasis", "explicit")
DTYPES = {"float32": jnp.float32, "float64": jnp.float64}
DEFAULT_LR_SCALE = 0.5
DEFAULT_V_RATIO = 4
DEFAULT_N_CHECKPOINTS = 40
STATIC_KEYS = frozenset(
    {"d", "v", "v_ratio", "batch", "max_steps", "n_checkpoints", "path", "dtype", "block_steps"}
)
SWEPT_KEYS = frozenset({"alpha", "beta", "lr_scale", "learning_rate"})

# Elements drawn per block of W rows / per block of SGD steps. The eigenbasis loop is bound by
# random-number generation; its block is kept small (2**12 normals per run) so that a vmapped chunk
# of tens of runs still draws into L2-resident buffers (measured: blocks of 2**15 per run ran 2-4x
# slower under vmap over 16 runs at d = 1000). The explicit path reads all of W once per block, so
# its blocks are large (one (block·B, v) @ (v, d) matmul per block).
_EMBEDDING_BLOCK_ELEMENTS = 2**18
_EIGENBASIS_BLOCK_ELEMENTS = 2**12
_EXPLICIT_BLOCK_ELEMENTS = 2**20
_MAX_BLOCK_STEPS = 1024


# --------------------------------------------------------------------------------------------
# Checkpoints
# --------------------------------------------------------------------------------------------
def log_checkpoints(max_steps: int, n: int) -> np.ndarray:
    """Sorted unique log-spaced integer steps in ``[0, max_steps]``, including both ends.

    Args:
        max_steps: last step (int >= 1).
        n: requested number of checkpoints (int >= 2); duplicates after rounding are dropped, so
            fewer may be returned at small ``max_steps``.

    Returns:
        int64 array ``[0, ..., max_steps]`` (the loss after ``k`` SGD steps is recorded at each).
    """
    max_steps = _positive_int("max_steps", max_steps)
    n = _positive_int("n", n, minimum=2)
    inner = np.rint(np.geomspace(1.0, float(max_steps), n - 1)).astype(np.int64)
    return np.unique(np.concatenate([[0], inner, [max_steps]]).astype(np.int64))


# --------------------------------------------------------------------------------------------
# Validation (eager, before any tracing)
# --------------------------------------------------------------------------------------------
def _positive_int(name: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _finite_float(name: str, value: Any) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real number, got {value!r}") from None
    if not math.isfinite(out):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return out


def validate_static(static: Mapping[str, Any]) -> dict[str, Any]:
    """Check and normalise the static (shape-defining) parameters of a PLRF sweep group.

    Keys: ``d`` (int >= 1), ``v`` (int > d) or ``v_ratio`` (> 1, ``v = round(v_ratio·d)``;
    default 4), ``batch`` (int >= 1, default 1), ``max_steps`` (int >= 1, required),
    ``n_checkpoints`` (int >= 2, default 40), ``path`` ("eigenbasis" | "explicit"), ``dtype``
    ("float32" | "float64"), ``block_steps`` (int >= 1, optional: SGD steps per random-number
    block; default chosen from the sizes).

    Returns:
        A dict with every key filled in (``v`` resolved, ``v_ratio`` dropped).

    Raises:
        ValueError / TypeError naming the parameter, its value and the valid range.
    """
    unknown = set(static) - STATIC_KEYS
    if unknown:
        raise ValueError(
            f"unknown static parameter(s) {sorted(unknown)}; valid: {sorted(STATIC_KEYS)}"
        )
    if "d" not in static:
        raise ValueError("static parameter d (embedding dimension) is required")
    if "max_steps" not in static:
        raise ValueError("static parameter max_steps is required")
    d = _positive_int("d", static["d"])
    if "v" in static and "v_ratio" in static:
        raise ValueError(
            f"give either v or v_ratio, not both (got v={static['v']!r}, "
            f"v_ratio={static['v_ratio']!r})"
        )
    if "v" in static:
        v = _positive_int("v", static["v"])
    else:
        ratio = _finite_float("v_ratio", static.get("v_ratio", DEFAULT_V_RATIO))
        if ratio <= 1:
            raise ValueError(f"v_ratio must be > 1 (v > d), got {ratio!r}")
        v = round(ratio * d)
    if v <= d:
        raise ValueError(f"v must be > d = {d}, got v = {v}")
    out = {
        "d": d,
        "v": v,
        "batch": _positive_int("batch", static.get("batch", 1)),
        "max_steps": _positive_int("max_steps", static["max_steps"]),
        "n_checkpoints": _positive_int(
            "n_checkpoints", static.get("n_checkpoints", DEFAULT_N_CHECKPOINTS), minimum=2
        ),
        "path": static.get("path", "eigenbasis"),
        "dtype": static.get("dtype", "float32"),
    }
    if out["max_steps"] >= 2**31 - 1:
        raise ValueError(f"max_steps must be < 2**31 - 1, got {out['max_steps']}")
    if out["path"] not in PATHS:
        raise ValueError(f"path must be one of {PATHS}, got {out['path']!r}")
    if out["dtype"] not in DTYPES:
        raise ValueError(f"dtype must be one of {tuple(DTYPES)}, got {out['dtype']!r}")
    if "block_steps" in static:
        out["block_steps"] = _positive_int("block_steps", static["block_steps"])
    else:
        out["block_steps"] = _default_block_steps(out)
    return out


def _default_block_steps(cfg: Mapping[str, Any]) -> int:
    per_step = cfg["batch"] * (cfg["d"] if cfg["path"] == "eigenbasis" else cfg["v"])
    budget = _EIGENBASIS_BLOCK_ELEMENTS if cfg["path"] == "eigenbasis" else _EXPLICIT_BLOCK_ELEMENTS
    target = max(1, min(_MAX_BLOCK_STEPS, budget // per_step))
    # Same number of blocks, shortest block length: at most n_blocks - 1 padded steps.
    n_blocks = -(-cfg["max_steps"] // target)
    return -(-cfg["max_steps"] // n_blocks)


def _power_law_sum_np(alpha: float, v: int) -> float:
    j = np.arange(1, v + 1, dtype=np.float64)
    return float(np.sum(j ** (-2.0 * alpha)))


def validate_point(
    alpha: float,
    beta: float,
    *,
    v: int,
    batch: int = 1,
    lr_scale: float | None = None,
    learning_rate: float | None = None,
) -> float:
    """Check one (α, β, learning-rate) point before a sweep; return the learning rate γ.

    Checks: α > 0; 2α + 2β > 1 (finite loss as v → ∞, THEORY.md §1); γ > 0; and two necessary
    stability conditions that hold for every realisation of ``W`` up to O(d^(−1/2)) fluctuations:
    ``γ(B+1)·1 < 2`` (the top eigenvalue of ``K̂ = WᵀDW`` is ≈ D's top eigenvalue 1 for α > 1/2,
    larger for small α, so this is a necessary, not a sufficient, bound) and
    ``γ·Σ_(j≤v) j^(−2α) < 2`` (the kernel norm ‖K‖ = Σ γλ_i/(2 − γ(B+1)λ_i) exceeds γ·tr(K̂)/2 and
    E tr(K̂) = Σ_(j≤v) j^(−2α); ‖K‖ ≥ 1 makes the expected loss blow up). In terms of ``lr_scale``
    c the second condition is c < 2.

    Args:
        alpha, beta: the data exponents.
        v: data dimension (int).
        batch: SGD batch size B.
        lr_scale: c in γ = c / Σ_(j≤v) j^(−2α) (default 0.5 when neither is given).
        learning_rate: γ directly. Giving both raises (ambiguous).

    Returns:
        γ (float).
    """
    alpha = _finite_float("alpha", alpha)
    beta = _finite_float("beta", beta)
    v = _positive_int("v", v, minimum=2)
    batch = _positive_int("batch", batch)
    if alpha <= 0:
        raise ValueError(f"alpha must be > 0, got {alpha!r}")
    if 2 * alpha + 2 * beta <= 1:
        raise ValueError(
            f"2*alpha + 2*beta must be > 1, got alpha={alpha!r}, beta={beta!r} "
            f"(2α+2β = {2 * alpha + 2 * beta!r})"
        )
    if lr_scale is not None and learning_rate is not None:
        raise ValueError(
            f"give either lr_scale or learning_rate, not both (got lr_scale={lr_scale!r}, "
            f"learning_rate={learning_rate!r})"
        )
    trace = _power_law_sum_np(alpha, v)
    if learning_rate is not None:
        gamma = _finite_float("learning_rate", learning_rate)
        if gamma <= 0:
            raise ValueError(f"learning_rate must be > 0, got {gamma!r}")
    else:
        c = _finite_float("lr_scale", DEFAULT_LR_SCALE if lr_scale is None else lr_scale)
        if c <= 0:
            raise ValueError(f"lr_scale must be > 0, got {c!r}")
        gamma = c / trace
    if gamma * (batch + 1) >= 2:
        raise ValueError(
            f"learning rate too large for stability: need learning_rate*(batch+1)*lambda_max < 2 "
            f"with lambda_max ~ 1, got learning_rate={gamma!r}, batch={batch} "
            f"(learning_rate must be < {2 / (batch + 1)!r})"
        )
    if gamma * trace >= 2:
        raise ValueError(
            f"learning rate too large: the kernel norm would exceed 1 (need "
            f"learning_rate * sum_j j^(-2 alpha) < 2, i.e. lr_scale < 2), got "
            f"learning_rate={gamma!r}, lr_scale={gamma * trace!r}"
        )
    return gamma


def validate_grid(grid: sweep.Grid) -> None:
    """Validate every static group and every point of a PLRF sweep grid (call before a sweep).

    ``alpha`` and ``beta`` must be swept (or static constants); the learning rate is either
    ``learning_rate`` (γ) or ``lr_scale`` (c), default c = 0.5; giving both raises.
    """
    names = set(grid.static) | set(grid.points)
    unknown = names - STATIC_KEYS - SWEPT_KEYS
    if unknown:
        raise ValueError(
            f"unknown parameter(s) {sorted(unknown)}; valid static: {sorted(STATIC_KEYS)}, "
            f"swept: {sorted(SWEPT_KEYS)}"
        )
    for name in ("alpha", "beta"):
        if name not in names:
            raise ValueError(f"{name} must be given (swept or static)")
    if "lr_scale" in names and "learning_rate" in names:
        raise ValueError("give either lr_scale or learning_rate, not both")
    static_swept = {k: v for k, v in grid.static.items() if k in SWEPT_KEYS}
    for combo in grid.static_combinations():
        cfg = validate_static({k: v for k, v in combo.items() if k in STATIC_KEYS})
        for i in range(grid.n_points):
            point = {**{k: combo[k] for k in static_swept}, **grid.point(i)}
            validate_point(
                point["alpha"],
                point["beta"],
                v=cfg["v"],
                batch=cfg["batch"],
                lr_scale=point.get("lr_scale"),
                learning_rate=point.get("learning_rate"),
            )


# --------------------------------------------------------------------------------------------
# The random problem: W, D, b and the eigenbasis
# --------------------------------------------------------------------------------------------
def _embedding_block_rows(v: int, d: int) -> int:
    return max(1, min(v, _EMBEDDING_BLOCK_ELEMENTS // d))


def _normal(key: jax.Array, shape: tuple[int, ...], dtype) -> jax.Array:
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
    return _normal(jax.random.fold_in(key, k), (rows, d), jnp.float32)


def sample_embedding(key: jax.Array, v: int, d: int, dtype=jnp.float32) -> jax.Array:
    """The realised embedding ``W`` (shape ``(v, d)``, entries ``N(0, 1/d)``) for ``key``.

    The draws are float32 standard normals in blocks of rows (``fold_in(key, block)``), cast to
    ``dtype`` and scaled by ``1/√d`` in that dtype, so ``W`` depends only on ``(key, v, d)``, not on
    the simulator or dtype (float64 ``W`` equals float32 ``W`` up to the rounding of ``1/√d``).
    Pure and jittable (``v``, ``d`` static). Under float64 call it inside ``jax.enable_x64``.
    """
    rows = _embedding_block_rows(v, d)
    n_blocks = -(-v // rows)
    blocks = jax.vmap(lambda k: _embedding_block(key, k, rows, d))(jnp.arange(n_blocks))
    w = blocks.reshape(n_blocks * rows, d)[:v].astype(dtype)
    return w * jnp.asarray(1.0 / math.sqrt(d), dtype)


def run_embedding(
    grid: sweep.Grid,
    seeds: int | Sequence[int],
    *,
    point: int = 0,
    group: int = 0,
    base_seed: int = 0,
    dtype=jnp.float32,
) -> jax.Array:
    """The embedding(s) ``W`` that runs ``(group, point, seeds)`` of a PLRF sweep used.

    Re-derives the engine's run keys (``fold_in(config_key(key(base_seed), static, point), seed)``,
    see :mod:`simulations.sweep`) and samples W as :func:`build_sgd` / :func:`build_expected` do.
    Call under ``jax.enable_x64(True)`` for ``dtype=float64``.

    Returns:
        ``(v, d)`` for an integer seed, ``(len(seeds), v, d)`` for a sequence of seeds.
    """
    static = grid.static_combinations()[group]
    cfg = validate_static({k: v for k, v in static.items() if k in STATIC_KEYS})
    key = sweep.config_key(jax.random.key(base_seed), static, grid.point(point))
    seed_ids = jnp.atleast_1d(jnp.asarray(seeds))
    w = _run_embeddings(key, seed_ids, cfg["v"], cfg["d"], jnp.dtype(dtype))
    return w[0] if np.ndim(seeds) == 0 else w


@functools.partial(jax.jit, static_argnames=("v", "d", "dtype"))
def _run_embeddings(key, seed_ids, v: int, d: int, dtype):
    def one(seed):
        key_w, _ = _split_run_key(jax.random.fold_in(key, seed))
        return sample_embedding(key_w, v, d, dtype)

    return jax.vmap(one)(seed_ids)


def _data_weights(alpha, beta, j, v: int, dtype):
    """``D_jj = j^(−2α)`` and ``b_j = j^(−β)`` for 1-based indices ``j`` (0 past ``v``: padding)."""
    jf = j.astype(dtype)
    valid = j <= v
    return jnp.where(valid, jf ** (-2 * alpha), 0), jnp.where(valid, jf ** (-beta), 0)


def _power_law_sum(alpha, v: int, dtype):
    return jnp.sum(jnp.arange(1, v + 1, dtype=dtype) ** (-2 * alpha))


def learning_rate_from_scale(alpha, v: int, lr_scale):
    """γ = c / Σ_(j≤v) j^(−2α) (arXiv 2405.15074's scaling; THEORY.md §1).

    Jittable in ``alpha`` and ``lr_scale`` (traced scalars); float64 under ``jax.enable_x64``.
    Same value as ``theory.plrf.default_learning_rate`` (which is numpy-only, not traceable).
    """
    dtype = jnp.result_type(float)
    return jnp.asarray(lr_scale, dtype) / _power_law_sum(jnp.asarray(alpha, dtype), v, dtype)


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
    rows = _embedding_block_rows(v, d)
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
def _check_checkpoints(checkpoints) -> np.ndarray:
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


def _checkpointed_loop(
    step: Callable[[Any, Any], Any],
    loss: Callable[[Any], jax.Array],
    state: Any,
    key: jax.Array,
    make_block: Callable[[jax.Array], Any],
    checkpoints: np.ndarray,
    block_steps: int,
    dtype,
) -> jax.Array:
    """Run ``max_steps = checkpoints[-1]`` SGD steps; return ``loss(state)`` at every checkpoint.

    The steps run in blocks of ``block_steps``; ``make_block(fold_in(key, k))`` draws the fresh
    samples of block ``k`` in one call (leading axis ``block_steps``), amortising the random-number
    dispatch. The loss is evaluated only when the step counter hits the next checkpoint, inside a
    ``lax.cond`` whose predicate depends on the (unbatched) step counter alone, so under ``vmap`` it
    stays a branch instead of being computed every step. Steps past ``max_steps`` in the last block
    (fewer than the number of blocks) run after every checkpoint is recorded and do not matter.
    """
    checkpoints = _check_checkpoints(checkpoints)
    n = len(checkpoints)
    max_steps = int(checkpoints[-1])
    n_blocks = -(-max_steps // block_steps)
    ck = jnp.asarray(checkpoints, dtype=jnp.int32)
    buf = jnp.zeros((n,), dtype).at[0].set(loss(state).astype(dtype))

    def one_step(carry, sample):
        st, buf, idx, s = carry
        st = step(st, sample)
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

    Implements the update of arXiv 2405.15074 §2 (THEORY.md §1) in rotated coordinates
    ``u = Λ^(1/2)Uᵀθ``: with ``g_i ~ N(0, I_d)``, ``e_i ~ N(0, 1)``, ``y_i = ⟨c, g_i⟩ + s·e_i``,
    ``u ← u − γ Λ Σ_(i≤B) g_i(⟨g_i, u⟩ − y_i)``; the population loss is ``‖u − c‖² + s²``.

    Args:
        key: PRNG key of the SGD noise.
        problem: :func:`eigenbasis_problem` output (float64; cast to ``dtype`` here).
        learning_rate: γ (scalar, traced).
        batch: B (static).
        checkpoints: static int array of steps, starting at 0 (see :func:`log_checkpoints`).
        dtype: dtype of the SGD loop (float32 default, or float64 under x64).
        block_steps: steps per random-number block (static; default from the sizes).

    Returns:
        ``(len(checkpoints),)`` array of ``dtype``: the exact population loss at each checkpoint.
    """
    checkpoints = _check_checkpoints(checkpoints)
    batch = _positive_int("batch", batch)
    d = problem.eigenvalues.shape[-1]
    lam = problem.eigenvalues.astype(dtype)
    c = problem.c.astype(dtype)
    s = jnp.sqrt(problem.p_star).astype(dtype)
    p_star = problem.p_star.astype(dtype)
    gamma_lam = jnp.asarray(learning_rate).astype(dtype) * lam
    if block_steps is None:
        block_steps = _default_block_steps(
            {"batch": batch, "d": d, "path": "eigenbasis", "max_steps": int(checkpoints[-1])}
        )

    def make_block(k):
        # One draw for features and label noise: each random-number call site costs seconds of
        # XLA compile time inside the loop.
        ge = _normal(k, (block_steps, batch, d + 1), dtype)
        g = ge[..., :d]
        return g, g @ c + s * ge[..., d]

    def step(u, sample):
        g, y = sample
        r = g @ u - y
        return u - gamma_lam * (r @ g)

    def loss(u):
        return jnp.sum((u - c) ** 2) + p_star

    u0 = jnp.zeros((d,), dtype)
    return _checkpointed_loop(step, loss, u0, key, make_block, checkpoints, block_steps, dtype)


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
    ``θ ← θ − γ Σ_(i≤B) z_i(⟨z_i, θ⟩ − y_i)`` (arXiv 2405.15074 §2, THEORY.md §1); the exact
    population loss ``‖D^(1/2)(Wθ − b)‖²`` is evaluated at the checkpoints. The features of a
    whole block of steps are one ``(block·B, v) @ (v, d)`` matmul, since they do not depend on θ.

    Args:
        key: PRNG key of the SGD samples.
        w: ``(v, d)`` embedding (cast to ``dtype``).
        alpha, beta: data exponents (traced scalars).
        learning_rate: γ (traced scalar).
        batch, checkpoints, dtype, block_steps: as in :func:`sgd_eigenbasis`.

    Returns:
        ``(len(checkpoints),)`` array of ``dtype``.
    """
    checkpoints = _check_checkpoints(checkpoints)
    batch = _positive_int("batch", batch)
    v, d = w.shape
    w = w.astype(dtype)
    alpha = jnp.asarray(alpha).astype(dtype)
    beta = jnp.asarray(beta).astype(dtype)
    j = jnp.arange(1, v + 1, dtype=dtype)
    sqrt_dj = j ** (-alpha)
    b = j ** (-beta)
    gamma = jnp.asarray(learning_rate).astype(dtype)
    if block_steps is None:
        block_steps = _default_block_steps(
            {"batch": batch, "v": v, "path": "explicit", "max_steps": int(checkpoints[-1])}
        )

    def make_block(k):
        x = sqrt_dj * _normal(k, (block_steps * batch, v), dtype)
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
    return _checkpointed_loop(step, loss, theta0, key, make_block, checkpoints, block_steps, dtype)


# --------------------------------------------------------------------------------------------
# Sweep builders
# --------------------------------------------------------------------------------------------
def _split_run_key(key: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(embedding key, SGD key) of a run: shared by both builders so W matches per run key."""
    return jax.random.fold_in(key, 0), jax.random.fold_in(key, 1)


def _learning_rate(params: Mapping[str, jax.Array], alpha, v: int):
    if "learning_rate" in params and "lr_scale" in params:
        raise ValueError("give either lr_scale or learning_rate, not both")
    if "learning_rate" in params:
        return jnp.asarray(params["learning_rate"], jnp.float64)
    return learning_rate_from_scale(alpha, v, params.get("lr_scale", DEFAULT_LR_SCALE))


def _run_params(static: Mapping[str, Any], params: Mapping[str, jax.Array]) -> dict:
    """Swept params plus any swept-kind names given as static constants."""
    merged = {k: static[k] for k in SWEPT_KEYS if k in static}
    merged.update(params)
    for name in ("alpha", "beta"):
        if name not in merged:
            raise ValueError(f"{name} must be a swept (or static) parameter of the PLRF sweep")
    return merged


def _split_static(static: Mapping[str, Any]) -> tuple[dict, dict]:
    shape = {k: v for k, v in static.items() if k not in SWEPT_KEYS}
    return validate_static(shape), {k: v for k, v in static.items() if k in SWEPT_KEYS}


def build_sgd(static: Mapping[str, Any]) -> sweep.Experiment:
    """Sweep builder: one-pass SGD on PLRF (arXiv 2405.15074), one run per (point, seed).

    Static keys: see :func:`validate_static` (``d``, ``v``/``v_ratio``, ``batch``, ``max_steps``,
    ``n_checkpoints``, ``path`` = "eigenbasis" (default) | "explicit", ``dtype`` = "float32"
    (default) | "float64", ``block_steps``). Swept (traced) parameters: ``alpha``, ``beta`` and the
    learning rate as either ``lr_scale`` (c, γ = c/Σ_(j≤v) j^(−2α)) or ``learning_rate`` (γ
    itself); neither means c = 0.5; both is ambiguous and raises ValueError (in
    :func:`validate_grid`, and at trace time). Swept-kind names may also be given as static
    constants (e.g. a fixed ``lr_scale``).

    The experiment runs under float64 (``x64=True``) because ``K̂``'s eigendecomposition needs it;
    the SGD loop itself runs in ``dtype``.

    Outputs per run: ``loss`` (dims ``("checkpoint",)``, ``dtype``: exact population loss after
    ``step`` SGD steps), ``p_star`` (float64, min_θ P of this run's W), ``gamma`` (float64, the
    learning rate γ used; not called ``learning_rate``, which may be a swept coordinate).
    The coordinate ``checkpoint`` holds the step numbers; :func:`with_compute_coords` adds
    ``step`` and ``compute = d·B·step``.
    """
    cfg, constants = _split_static(static)
    d, v, batch = cfg["d"], cfg["v"], cfg["batch"]
    dtype = DTYPES[cfg["dtype"]]
    steps = log_checkpoints(cfg["max_steps"], cfg["n_checkpoints"])

    def run(key, params):
        p = _run_params(constants, params)
        key_w, key_sgd = _split_run_key(key)
        gamma = _learning_rate(p, p["alpha"], v)
        problem = eigenbasis_problem(key_w, p["alpha"], p["beta"], v, d)
        if cfg["path"] == "eigenbasis":
            loss = sgd_eigenbasis(
                key_sgd,
                problem,
                gamma,
                batch=batch,
                checkpoints=steps,
                dtype=dtype,
                block_steps=cfg["block_steps"],
            )
        else:
            w = sample_embedding(key_w, v, d, dtype)
            loss = sgd_explicit(
                key_sgd,
                w,
                p["alpha"],
                p["beta"],
                gamma,
                batch=batch,
                checkpoints=steps,
                dtype=dtype,
                block_steps=cfg["block_steps"],
            )
        return {"loss": loss, "p_star": problem.p_star, "gamma": gamma}

    return sweep.Experiment(
        run=run, dims={"loss": ("checkpoint",)}, coords={"checkpoint": steps}, x64=True
    )


def build_expected(static: Mapping[str, Any]) -> sweep.Experiment:
    """Sweep builder: the exact expected SGD loss given each run's realised W (float64).

    Accepts the same static keys as :func:`build_sgd` (``path``, ``dtype`` and ``block_steps`` are
    ignored), so the same :class:`~simulations.sweep.Grid` gives both sweeps the same run keys and
    therefore the same ``W`` per (point, seed). Evaluates ``theory.plrf.realised_spectrum(W, α, β)``
    and the expected loss (THEORY.md §1: P(r) = F(r) + Σ_(s<r) K(r−1−s) P(s), arXiv 2405.15074
    §2) at the checkpoints with ``theory.plrf``'s jittable curve evaluator.

    Outputs per run: ``loss`` (``("checkpoint",)``, float64), ``p_star``, ``kernel_norm``
    (‖K‖ = Σ γλ_i/(2 − γ(B+1)λ_i)), ``gamma`` (the learning rate γ).

    Memory: ``realised_spectrum`` takes the full float64 ``W`` (and ``D^(1/2)W``), about
    ``16·v·d`` bytes per run, times the chunk size under ``vmap`` (d = 1024, v = 4d: 67 MB per
    run); pass a small ``chunk_size`` to :func:`~simulations.sweep.run_sweep` at large ``d``.
    (:func:`build_sgd` accumulates ``K̂`` over row blocks and needs only ``O(d²)``.)
    """
    cfg, constants = _split_static(static)
    d, v, batch = cfg["d"], cfg["v"], cfg["batch"]
    steps = log_checkpoints(cfg["max_steps"], cfg["n_checkpoints"])

    def run(key, params):
        p = _run_params(constants, params)
        key_w, _ = _split_run_key(key)
        gamma = _learning_rate(p, p["alpha"], v)
        w = sample_embedding(key_w, v, d, jnp.float64)
        spectrum = theory_plrf.realised_spectrum(w, p["alpha"], p["beta"])
        loss = theory_plrf.expected_loss_curve(spectrum, gamma, batch, steps)
        return {
            "loss": loss,
            "p_star": spectrum.p_star,
            "kernel_norm": theory_plrf.kernel_norm(spectrum, gamma, batch),
            "gamma": gamma,
        }

    return sweep.Experiment(
        run=run, dims={"loss": ("checkpoint",)}, coords={"checkpoint": steps}, x64=True
    )


def with_compute_coords(ds: xr.Dataset) -> xr.Dataset:
    """Add the coordinates ``step`` and ``compute = d·B·step`` along ``checkpoint``.

    ``ds`` is a group dataset of :func:`build_sgd` / :func:`build_expected` (its static ``d`` and
    ``batch`` are read from the scalar coordinates or attributes; batch defaults to 1).
    """
    d = int(ds.attrs.get("static.d", ds.coords["d"].item() if "d" in ds.coords else 0))
    if d <= 0:
        raise ValueError("dataset has no static d (expected a PLRF sweep group)")
    batch = int(
        ds.attrs.get("static.batch", ds.coords["batch"].item() if "batch" in ds.coords else 1)
    )
    steps = np.asarray(ds["checkpoint"].values, dtype=np.int64)
    return ds.assign_coords(
        step=("checkpoint", steps), compute=("checkpoint", (d * batch * steps).astype(np.float64))
    )


# --------------------------------------------------------------------------------------------
# Convenience
# --------------------------------------------------------------------------------------------
def simulation_grid(
    alpha: float,
    beta: float,
    d: int,
    *,
    v_ratio: float = DEFAULT_V_RATIO,
    batch: int = 1,
    lr_scale: float = DEFAULT_LR_SCALE,
    max_steps: int,
    n_checkpoints: int = DEFAULT_N_CHECKPOINTS,
    seeds: int = 8,
    path: str = "eigenbasis",
    dtype: str = "float32",
) -> sweep.Grid:
    """The (validated) one-point sweep grid that :func:`simulate` runs (same arguments)."""
    grid = sweep.Grid.product(
        static={
            "d": d,
            "v_ratio": v_ratio,
            "batch": batch,
            "max_steps": max_steps,
            "n_checkpoints": n_checkpoints,
            "path": path,
            "dtype": dtype,
        },
        swept={"alpha": alpha, "beta": beta, "lr_scale": lr_scale},
        seeds=seeds,
    )
    validate_grid(grid)
    return grid


def simulate(
    alpha: float,
    beta: float,
    d: int,
    *,
    v_ratio: float = DEFAULT_V_RATIO,
    batch: int = 1,
    lr_scale: float = DEFAULT_LR_SCALE,
    max_steps: int,
    n_checkpoints: int = DEFAULT_N_CHECKPOINTS,
    seeds: int = 8,
    path: str = "eigenbasis",
    dtype: str = "float32",
    base_seed: int = 0,
    expected: bool = False,
    chunk_size: int = 64,
    progress: bool = False,
) -> xr.Dataset:
    """SGD loss curves of PLRF at one (α, β, d) over ``seeds`` independent (W, SGD) draws.

    Runs :func:`build_sgd` through :func:`simulations.sweep.run_sweep` (one point) and returns a
    dataset with dims ``(seed, checkpoint)``: ``loss`` (diverged runs set to NaN), ``p_star``,
    ``gamma`` (learning rate), ``finite``; coordinates ``step`` and ``compute = d·B·step``. With
    ``expected=True`` also ``expected_loss`` (float64): the exact expected loss of each seed's own
    W (:func:`build_expected` over the same grid, so the same W), plus ``kernel_norm``.
    """
    grid = simulation_grid(
        alpha,
        beta,
        d,
        v_ratio=v_ratio,
        batch=batch,
        lr_scale=lr_scale,
        max_steps=max_steps,
        n_checkpoints=n_checkpoints,
        seeds=seeds,
        path=path,
        dtype=dtype,
    )
    res = sweep.run_sweep(
        build_sgd,
        grid,
        name="plrf-sgd",
        chunk_size=chunk_size,
        base_seed=base_seed,
        progress=progress,
    )
    ds = sweep.mask_diverged(res.groups[0]).isel(point=0)
    ds = ds.drop_vars("complete")
    if expected:
        theory_res = sweep.run_sweep(
            build_expected,
            grid,
            name="plrf-expected",
            chunk_size=chunk_size,
            base_seed=base_seed,
            progress=progress,
        )
        th = theory_res.groups[0].isel(point=0)
        ds["expected_loss"] = th["loss"]
        ds["kernel_norm"] = th["kernel_norm"]
    return with_compute_coords(ds)
