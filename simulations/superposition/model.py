"""The superposition toy model in JAX: samplers, loss, optimiser and one training run.

Shapes of one run (symbols as in :mod:`theory.superposition`):

* data: ``x`` of shape ``(batch, n)``, ``x_i = u_i s_i``, ``u_i ~ Bernoulli(p_i)``,
  ``s_i ~ U(0, 2)``, fresh every step. Training draws it in sparse form
  (:func:`sample_sparse_features`: Poisson thinning, ``~2 * 16`` random numbers per sample instead
  of ``n``, same distribution); :func:`sample_features` is the dense reference sampler.
* parameters: ``W`` of shape ``(n, m)`` (row ``W_i`` represents feature ``i``), ``b`` of shape
  ``(n,)``; init ``W ~ N(0, 1/m)``, ``b ~ N(0, 1)`` (:func:`init_params`).
* forward: ``h = x W`` (``h = W^T x`` per sample, shape ``(batch, m)``), ``y = ReLU(h W^T + b)``
  (shape ``(batch, n)``); loss ``L = mean_batch sum_i (y_i - x_i)^2`` (no 1/2).
* optimiser: AdamW (``beta = (0.9, 0.999)``, ``eps = 1e-8``) with the paper's *signed* decoupled
  weight decay on ``W`` only (:func:`signed_weight_decay`), learning rate ``lr`` (``lr_b`` for
  ``b``) times a linear warm-up + cosine decay to ``0.05 lr`` (:func:`lr_multiplier`).

:func:`simulate` is one run: ``simulate(key, params, static)`` trains (:func:`train`), evaluates
(:func:`evaluate`) and measures the rows of ``W`` (:func:`row_statistics`). ``static`` holds the
shapes and fixed options (:func:`resolve_static`, :data:`STATIC_DEFAULTS`); ``params`` the swept
(traced) scalars: ``gamma`` (required), ``alpha``, ``law_code`` (index into
:data:`theory.superposition.LAWS`), ``m`` (padded widths), ``lr``, ``lr_b``, ``density``.

Outputs per run: ``loss_curve`` (loss of the fresh batch of update ``step``, log-spaced),
``final_loss`` (on ``eval_batches x eval_batch`` fresh samples), ``phi_half``/``phi_one``
(fractions of rows with ``||W_i|| > 1/2`` / ``> 1``), ``norm_hist`` (row-norm histogram, bins of
width :data:`HIST_WIDTH` from 0, the last bin also counting larger norms), ``row_norms`` (shape
``(n,)``, by feature rank), ``overlap_sq_strong``/``overlap_sq_represented`` (mean over pairs
``i != j`` of ``cos^2(W_i, W_j)`` among rows with norm ``> 1`` / ``> 1/2``; 0 with fewer than two
such rows; the counts are ``count_strong``/``count_represented``), ``bias_mean``, ``n_truncated``
(sampler truncations, 0 in practice).

Cost: ``~6 B n m`` FLOPs per step and run, plus a width-independent sampler.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from simulations.steps import log_steps
from theory import superposition as theory
from theory.checks import check_choice, check_float, check_int

__all__ = [
    "HIST_BINS",
    "HIST_WIDTH",
    "LR_RULES",
    "STATIC_DEFAULTS",
    "SparseBatch",
    "evaluate",
    "init_params",
    "lr_multiplier",
    "make_optimizer",
    "mean_sq_overlap",
    "resolve_static",
    "row_statistics",
    "run_frequencies",
    "sample_features",
    "sample_sparse_features",
    "signed_weight_decay",
    "simulate",
    "slot_sizes",
    "sparse_to_dense",
    "sparse_toy_model_loss",
    "toy_model_loss",
    "train",
]

HIST_BINS = 40
HIST_WIDTH = 0.05
"""Row-norm histogram: bins ``[k w, (k+1) w)`` for ``k < HIST_BINS``; the last also holds norms
``>= (HIST_BINS - 1) w`` (so norms up to 2 are resolved)."""

STATIC_DEFAULTS: dict[str, Any] = {
    "law": "power",  # used unless the code "law_code" (index into theory.LAWS) is swept
    "exp_scale": 400.0,  # decay length of the exponential law (the paper's 400 at n = 10240)
    "warmup": None,  # None: steps // 10 (the paper's 2000 of 20 000)
    "eval_batch": None,  # None: batch
    "eval_batches": 8,
    "n_checkpoints": 24,
    "lr": 1e-2,
    "lr_b": None,  # None: same as lr
    "lr_rule": None,  # "liu2025-large": theory.large_run_learning_rates (the paper's large runs)
    "density": 1.0,
    "final_lr_fraction": 0.05,
    "max_rate": 1.35,  # bound on sum_i -log(1 - p_i): E = 1 with alpha <= 2 (see slot_sizes)
    "adam_eps": 1e-8,  # Adam's eps; n * 1e-8 = a loss averaged over the n outputs (make_optimizer)
}
"""Optional static keys of :func:`resolve_static` and their defaults."""

LR_RULES = ("liu2025-large",)
"""Values of the static ``lr_rule`` (``None``: the fixed ``lr``); ``"liu2025-large"`` is
:func:`theory.superposition.large_run_learning_rates`."""


# --- data ----------------------------------------------------------------------------------------
def sample_features(key: jax.Array, p: jax.Array, batch: int) -> jax.Array:
    """A dense batch ``x`` (``(batch, n)``): ``x_i = u_i s_i``, ``u ~ Bern(p)``, ``s ~ U(0, 2)``.

    One uniform per entry: ``x_i = 2 v / p_i`` if ``v < p_i`` (then ``v / p_i ~ U(0, 1)``), else 0.
    The reference sampler (``n`` random numbers per sample); training uses the equivalent and much
    cheaper :func:`sample_sparse_features`.

    Args:
        key: PRNG key.
        p: frequencies, shape ``(n,)``, in ``[0, 1]``.
        batch: number of samples.
    """
    n = p.shape[-1]
    # flat draw, reshaped: compiles fast
    v = jax.random.uniform(key, (batch * n,), dtype=p.dtype).reshape(batch, n)
    safe_p = jnp.maximum(p, jnp.finfo(p.dtype).tiny)
    return jnp.where(v < p, 2.0 * v / safe_p, 0.0)


class SparseBatch(eqx.Module):
    """A batch of ``batch_size`` samples as a flat list of its active entries.

    Entry ``j`` says ``x[row[j], index[j]] = value[j]``; unused slots have ``value = 0`` (and
    ``row = index = 0``, which then adds nothing). All arrays have shape ``(budget,)``;
    ``n_truncated`` (int32 scalar) counts samples that may have had more active features than
    drawn, plus active entries dropped because the batch had more than ``budget`` (0 except with
    probability ~1e-12 per sample for the defaults; every run reports the total).
    """

    row: jax.Array
    index: jax.Array
    value: jax.Array
    n_truncated: jax.Array
    batch_size: int = eqx.field(static=True)


def slot_sizes(batch: int, max_rate: float) -> tuple[int, int]:
    """``(max_active, budget)``: Poisson points drawn per sample and active entries kept per batch.

    ``max_rate`` bounds ``sum_i -log(1 - p_i)`` (``>= E``; 1.33 for ``E = 1``, ``alpha = 2``).
    ``max_active`` is the smallest ``k`` with ``P(Poisson(max_rate) > k) < 1e-13`` and
    ``budget = batch * max_rate + 10 sqrt(batch * max_rate) + 16`` (a 10-sigma Poisson bound).
    """
    from scipy.stats import poisson

    if not max_rate > 0:
        raise ValueError(f"max_rate must be > 0, got {max_rate!r}")
    max_active = round(poisson.isf(1e-13, max_rate)) + 1
    mean = batch * max_rate
    return max_active, min(batch * max_active, math.ceil(mean + 10.0 * math.sqrt(mean) + 16))


def sample_sparse_features(
    key: jax.Array, p: jax.Array, batch: int, max_active: int, budget: int
) -> SparseBatch:
    """The distribution of :func:`sample_features`, with ``2 max_active`` random numbers per sample
    instead of ``n``, returned as a flat :class:`SparseBatch` of ``budget`` entries.

    Poisson thinning: lay the features on a line as intervals of length ``lambda_i = -log(1 - p_i)``
    and draw a unit-rate Poisson process on it (cumulative sums of ``Exp(1)`` gaps). Feature ``i``
    is active iff at least one point falls in its interval, probability
    ``1 - exp(-lambda_i) = p_i``, independently across features (disjoint intervals); each active
    feature takes a fresh ``s ~ U(0, 2)``. Only ``max_active`` points are drawn per sample and
    ``budget`` active entries kept per batch; anything cut is counted in ``n_truncated`` (see
    :func:`slot_sizes` for sizes that make that ~never happen). Requires ``p_i < 1``. Resolution
    is float32's in the cumulative sum (~1e-7 in ``p_i``), like the dense sampler's uniforms.

    Args:
        key: PRNG key.
        p: frequencies, shape ``(n,)``, in ``[0, 1)``.
        batch: number of samples.
        max_active: points drawn per sample.
        budget: active entries kept for the whole batch.
    """
    n = p.shape[-1]
    # One flat random draw: a multi-dimensional threefry draw takes XLA:CPU seconds to compile
    # (more under vmap); a 1-D draw reshaped takes a fraction of a second.
    u = jax.random.uniform(key, (2 * batch * max_active,), p.dtype).reshape(2, batch, max_active)
    edges = jnp.cumsum(-jnp.log1p(-p))  # right ends of the intervals, (n,)
    times = jnp.cumsum(-jnp.log1p(-u[0]), axis=-1)  # Exp(1) gaps; 1 - u in (0, 1]: finite
    # Keep the points on the line (about E per sample) before locating them: the search then
    # runs over ~budget queries instead of batch * max_active.
    inside = (times < edges[-1]).reshape(-1)
    count = jnp.sum(inside)
    pos = jnp.nonzero(inside, size=budget, fill_value=0)[0]
    used = jnp.arange(budget) < count
    row = (pos // max_active).astype(jnp.int32)
    index = jnp.searchsorted(edges, times.reshape(-1)[pos], side="right").astype(jnp.int32)
    index = jnp.minimum(index, n - 1)  # float guard; t < edges[-1] already implies index < n
    # Several points in one interval activate the feature once; compaction keeps each sample's
    # points in order, so repeats are adjacent.
    repeat = jnp.concatenate(
        [jnp.zeros(1, bool), (row[1:] == row[:-1]) & (index[1:] == index[:-1])]
    )
    keep = used & ~repeat
    n_truncated = jnp.sum(times[:, -1] < edges[-1]) + jnp.maximum(count - budget, 0)
    return SparseBatch(
        row=jnp.where(keep, row, 0),
        index=jnp.where(keep, index, 0),
        value=jnp.where(keep, 2.0 * u[1].reshape(-1)[pos], 0.0),
        n_truncated=n_truncated.astype(jnp.int32),
        batch_size=batch,
    )


def sparse_to_dense(batch: SparseBatch, n: int) -> jax.Array:
    """The dense ``(batch_size, n)`` array of a :class:`SparseBatch` (for tests and plots)."""
    x = jnp.zeros((batch.batch_size, n), batch.value.dtype)
    return x.at[batch.row, batch.index].add(batch.value)


# --- loss and optimiser ------------------------------------------------------------------------
def toy_model_loss(params: Mapping[str, jax.Array], x: jax.Array) -> jax.Array:
    """``mean_batch sum_i (ReLU(W W^T x + b)_i - x_i)^2`` (Liu, Liu & Gore 2025), dense ``x``.

    Args:
        params: ``{"W": (n, m), "b": (n,)}``.
        x: ``(batch, n)``.
    """
    w, b = params["W"], params["b"]
    h = x @ w  # (batch, m): h = W^T x per sample
    y = jax.nn.relu(h @ w.T + b)
    return jnp.mean(jnp.sum((y - x) ** 2, axis=-1))


def sparse_toy_model_loss(params: Mapping[str, jax.Array], batch: SparseBatch) -> jax.Array:
    """:func:`toy_model_loss` for a :class:`SparseBatch`: the same value, with ``~6 B n m`` flops
    for loss and gradient instead of ``10 B n m`` (the input side becomes a gather).

    With ``z = h W^T + b``, ``h_b = sum_{j: row_j = b} value_j W[index_j]`` and ``y = ReLU(z)``:
    ``||y - x||^2 = ||y||^2 - 2 sum_j value_j y[row_j, index_j] + sum_j value_j^2``, where the
    active outputs ``y[row_j, index_j] = ReLU(h[row_j] . W[index_j] + b[index_j])`` are computed
    from the gathered rows: gathering them from ``y`` instead costs a ``(B, n)`` scatter in the
    gradient, several times slower under ``vmap`` on CPU.
    """
    w, b = params["W"], params["b"]
    size = batch.batch_size
    w_active = w[batch.index]  # (budget, m)
    h = jax.ops.segment_sum(batch.value[:, None] * w_active, batch.row, num_segments=size)
    y = jax.nn.relu(h @ w.T + b)
    y_active = jax.nn.relu(jnp.sum(h[batch.row] * w_active, axis=-1) + b[batch.index])
    total = jnp.sum(y**2) - 2.0 * jnp.sum(batch.value * y_active) + jnp.sum(batch.value**2)
    return total / size


def signed_weight_decay(
    gamma: float | jax.Array, eps: float = 1e-12
) -> optax.GradientTransformation:
    """The paper's signed decoupled weight decay, as an optax transformation (add before the lr).

    Liu, Liu & Gore (2025): with learning rate ``eta`` the step is
    ``W_i <- W_i - eta gamma W_i`` for ``gamma >= 0`` (ordinary AdamW decay) and
    ``W_i <- W_i - eta gamma W_i (1/||W_i|| - 1)`` for ``gamma < 0``, which pulls every row norm
    towards 1. This transformation adds ``gamma W_i`` (resp. ``gamma W_i (1/||W_i|| - 1)``) to
    the update of every row (last axis = row); chain it after ``scale_by_adam`` and before the
    (negative) learning rate, and mask it to ``W``. ``gamma`` may be traced.

    Args:
        gamma: decay strength, scalar.
        eps: floor on ``||W_i||`` (a zero row stays zero).
    """

    def init_fn(params):
        del params
        return optax.EmptyState()

    def update_fn(updates, state, params=None):
        if params is None:
            raise ValueError("signed_weight_decay needs params (call update(g, state, params))")

        def decay(u, w):
            norm = jnp.linalg.norm(w, axis=-1, keepdims=True)
            factor = jnp.where(gamma >= 0, 1.0, 1.0 / jnp.maximum(norm, eps) - 1.0)
            return u + gamma * factor * w

        return jax.tree.map(decay, updates, params), state

    return optax.GradientTransformation(init_fn, update_fn)


def lr_multiplier(step, steps: int, warmup: int, final_fraction: float = 0.05):
    """Learning-rate multiplier: linear warm-up ``0 -> 1`` over ``warmup`` steps, then cosine decay
    to ``final_fraction`` at ``steps`` (the paper's schedule: 2000-step warm-up, decay to 0.05 lr).

    ``step`` counts updates already applied (0 for the first update, which therefore uses
    ``1/warmup``, not 0, so no step is wasted).
    """
    t = jnp.asarray(step, dtype=jnp.float32)
    warm = jnp.minimum(1.0, (t + 1.0) / max(warmup, 1))
    frac = jnp.clip((t - warmup) / max(steps - warmup, 1), 0.0, 1.0)
    cosine = final_fraction + (1.0 - final_fraction) * 0.5 * (1.0 + jnp.cos(jnp.pi * frac))
    return jnp.where(t < warmup, warm, cosine)


def make_optimizer(
    lr,
    gamma,
    *,
    steps: int,
    warmup: int,
    lr_b=None,
    final_fraction: float = 0.05,
    eps: float = 1e-8,
) -> optax.GradientTransformation:
    """AdamW with signed weight decay on ``W`` only, per-leaf learning rates and the schedule.

    Params must be ``{"W": ..., "b": ...}``. ``lr``, ``lr_b`` and ``gamma`` may be traced scalars.
    ``eps`` is Adam's. Adam is invariant to the loss's scale except through ``eps``: training on
    ``c L`` is training on ``L`` with ``eps / c`` (so a loss averaged over the ``n`` outputs, as
    PyTorch's ``MSELoss`` does, is this loss with ``eps = n * 1e-8``).
    """
    lr_b = lr if lr_b is None else lr_b

    def scale_lr(updates, state, params=None):
        del params
        mult = lr_multiplier(state.count, steps, warmup, final_fraction)
        scaled = {"W": -lr * mult * updates["W"], "b": -lr_b * mult * updates["b"]}
        return scaled, optax.ScaleByScheduleState(count=optax.safe_increment(state.count))

    lr_transform = optax.GradientTransformation(
        lambda params: optax.ScaleByScheduleState(count=jnp.zeros([], jnp.int32)), scale_lr
    )
    return optax.chain(
        optax.scale_by_adam(b1=0.9, b2=0.999, eps=eps),
        optax.masked(signed_weight_decay(gamma), {"W": True, "b": False}),
        lr_transform,
    )


# --- one run -------------------------------------------------------------------------------------
def resolve_static(static: Mapping[str, Any]) -> dict[str, Any]:
    """The static options of one run, validated, with defaults filled in.

    Args:
        static: ``n``, ``steps``, ``batch`` (required), exactly one of ``m`` (the width) or
            ``m_max`` (columns of a padded run; the width ``m`` is then swept), and any optional
            key of :data:`STATIC_DEFAULTS`.

    Returns:
        A new dict with every key of :data:`STATIC_DEFAULTS` (``warmup`` and ``eval_batch``
        resolved to integers).

    Raises:
        ValueError: a missing, out-of-range or inconsistent option (checked before any tracing).
    """
    cfg = {**STATIC_DEFAULTS, **static}
    for name in ("n", "steps", "batch"):
        if name not in cfg:
            raise ValueError(f"static parameter {name!r} is required")
    if ("m" in cfg) == ("m_max" in cfg):
        raise ValueError(
            "give exactly one of static 'm' (one group per width) or 'm_max' (widths padded to "
            "m_max, 'm' swept)"
        )
    width_key = "m_max" if "m_max" in cfg else "m"
    for name in ("n", width_key, "steps", "batch", "eval_batches", "n_checkpoints"):
        check_int(name, cfg[name], 1)
    check_int("n", cfg["n"], 2, 2**31 - 1)  # int32 feature indices in the sampler
    if cfg[width_key] > cfg["n"]:
        raise ValueError(f"{width_key} must be <= n = {cfg['n']}, got {cfg[width_key]}")
    check_choice("law", cfg["law"], theory.LAWS)
    if cfg["warmup"] is None:
        cfg["warmup"] = max(1, cfg["steps"] // 10)
    if cfg["eval_batch"] is None:
        cfg["eval_batch"] = cfg["batch"]
    check_int("eval_batch", cfg["eval_batch"], 1)
    check_int("warmup", cfg["warmup"], 0, cfg["steps"] - 1)
    for name in ("lr", "density", "max_rate", "exp_scale", "adam_eps"):
        check_float(name, cfg[name], low=0.0, strict=True)
    if cfg["lr_rule"] is not None:
        check_choice("lr_rule", cfg["lr_rule"], LR_RULES)
    if cfg["lr_b"] is not None:
        check_float("lr_b", cfg["lr_b"], low=0.0, strict=True)
    check_float("final_lr_fraction", cfg["final_lr_fraction"], low=0.0, high=1.0)
    return cfg


def init_params(
    key: jax.Array, n: int, m_cols: int, m: jax.Array | None = None, dtype=jnp.float32
) -> dict[str, jax.Array]:
    """Initial ``{"W": (n, m_cols), "b": (n,)}``: ``W ~ N(0, 1/m)``, ``b ~ N(0, 1)``.

    ``W`` is drawn column-major: with threefry's partitionable counters the first ``m`` columns
    are the same numbers whatever ``m_cols`` is, so a padded run (``m`` given, possibly traced,
    ``m <= m_cols``) starts where the unpadded one (``m_cols = m``) does. Padded columns
    ``>= m`` start at zero and stay exactly zero in training: their gradients vanish (``h_j = 0``
    and ``dL/dh_j = sum_i g_i W_ij = 0``), so Adam's moments and both decay rules leave them at
    0, and row norms and overlaps are those of the first ``m`` columns.
    """
    w0 = jax.random.normal(key, (m_cols * n,), dtype).reshape(m_cols, n).T
    b0 = jax.random.normal(jax.random.fold_in(key, 1), (n,), dtype)
    if m is not None:
        w0 = jnp.where(jnp.arange(m_cols) < m, w0 / jnp.sqrt(m), 0.0)
    else:
        w0 = w0 / math.sqrt(m_cols)
    return {"W": w0, "b": b0}


def train(
    key: jax.Array,
    theta: dict[str, jax.Array],
    p: jax.Array,
    optimizer: optax.GradientTransformation,
    *,
    batch: int,
    slots: tuple[int, int],
    checkpoints: np.ndarray,
) -> tuple[dict[str, jax.Array], jax.Array, jax.Array]:
    """``checkpoints[-1]`` optimiser updates on fresh sparse batches (one ``lax.scan``).

    Update ``t = 1, 2, ...`` draws its batch with ``fold_in(key, t)``. Checkpoint ``t`` records
    the loss on the fresh batch of update ``t``, i.e. an unbiased estimate of the population loss
    of the model after ``t - 1`` updates.

    Args:
        key: PRNG key of the training batches.
        theta: initial ``{"W", "b"}``.
        p: frequencies, shape ``(n,)``.
        optimizer: e.g. :func:`make_optimizer`.
        batch: samples per update.
        slots: ``(max_active, budget)`` of the sampler (:func:`slot_sizes`).
        checkpoints: increasing update counts to record, the last one the number of updates.

    Returns:
        ``(theta, loss_curve, n_truncated)``: trained parameters, losses at ``checkpoints``, and
        the sampler's truncation count.
    """
    steps = int(checkpoints[-1])
    ckpt_index = np.full(steps + 1, -1, dtype=np.int32)
    ckpt_index[checkpoints] = np.arange(len(checkpoints), dtype=np.int32)
    ckpt_index_j = jnp.asarray(ckpt_index)
    grad_fn = jax.value_and_grad(sparse_toy_model_loss)

    def step(carry, t):
        theta, opt_state, curve, truncated = carry
        x = sample_sparse_features(jax.random.fold_in(key, t), p, batch, *slots)
        loss, grads = grad_fn(theta, x)
        truncated = truncated + x.n_truncated
        updates, opt_state = optimizer.update(grads, opt_state, theta)
        theta = optax.apply_updates(theta, updates)
        idx = ckpt_index_j[t]
        # one-hot write (not a scatter: keeps the vmapped batch axis sharding-friendly)
        curve = jnp.where(jnp.arange(curve.shape[0]) == idx, loss, curve)
        return (theta, opt_state, curve, truncated), None

    curve0 = jnp.full((len(checkpoints),), jnp.nan, p.dtype)
    carry0 = (theta, optimizer.init(theta), curve0, jnp.zeros((), jnp.int32))
    (theta, _, curve, truncated), _ = jax.lax.scan(step, carry0, jnp.arange(1, steps + 1))
    return theta, curve, truncated


def evaluate(
    key: jax.Array,
    theta: Mapping[str, jax.Array],
    p: jax.Array,
    *,
    batch: int,
    batches: int,
    slots: tuple[int, int],
) -> tuple[jax.Array, jax.Array]:
    """Mean loss over ``batches`` fresh sparse batches of ``batch`` samples (batch ``j`` drawn
    with ``fold_in(key, j)``); returns ``(loss, n_truncated)``."""

    def eval_step(carry, j):
        total, truncated = carry
        x = sample_sparse_features(jax.random.fold_in(key, j), p, batch, *slots)
        return (total + sparse_toy_model_loss(theta, x), truncated + x.n_truncated), None

    carry0 = (jnp.zeros((), p.dtype), jnp.zeros((), jnp.int32))
    (total, truncated), _ = jax.lax.scan(eval_step, carry0, jnp.arange(batches))
    return total / batches, truncated


def mean_sq_overlap(w: jax.Array, norms: jax.Array, mask: jax.Array):
    """Mean of ``cos^2`` over ordered pairs ``i != j`` of masked rows, via ``||U^T U||_F^2``.

    ``sum_{i,j in S} (u_i . u_j)^2 = ||sum_{i in S} u_i u_i^T||_F^2`` (an ``m x m`` matrix), so the
    cost is ``O(n m^2)`` instead of the ``O(n^2 m)`` of the Gram matrix; the diagonal contributes
    ``|S|``. Returns ``(mean, count)``; the mean is 0 (not NaN) with fewer than two rows, so the
    sweep engine does not flag the run as diverged.
    """
    u = jnp.where(mask[:, None], w / jnp.maximum(norms, 1e-30)[:, None], 0.0)
    gram_small = u.T @ u
    count = jnp.sum(mask)
    total = jnp.sum(gram_small**2) - count
    pairs = count * (count - 1)
    mean = jnp.where(pairs > 0, total / jnp.maximum(pairs, 1), 0.0)
    return mean, count


def row_statistics(w: jax.Array) -> dict[str, jax.Array]:
    """Row-norm statistics of ``W`` (``(n, m)``): ``row_norms``, ``norm_hist``, ``phi_half``,
    ``phi_one``, ``overlap_sq_strong``/``count_strong`` (rows with norm ``> 1``) and
    ``overlap_sq_represented``/``count_represented`` (norm ``> 1/2``)."""
    dtype = w.dtype
    norms = jnp.linalg.norm(w, axis=-1)
    hist_index = jnp.clip(jnp.floor(norms / HIST_WIDTH), 0, HIST_BINS - 1).astype(jnp.int32)
    hist = jnp.mean(hist_index[:, None] == jnp.arange(HIST_BINS), axis=0).astype(dtype)
    ov_strong, c_strong = mean_sq_overlap(w, norms, norms > 1.0)
    ov_rep, c_rep = mean_sq_overlap(w, norms, norms > 0.5)
    return {
        "phi_half": jnp.mean(norms > 0.5).astype(dtype),
        "phi_one": jnp.mean(norms > 1.0).astype(dtype),
        "norm_hist": hist,
        "row_norms": norms,
        "overlap_sq_strong": ov_strong,
        "overlap_sq_represented": ov_rep,
        "count_strong": c_strong.astype(jnp.int32),
        "count_represented": c_rep.astype(jnp.int32),
    }


def run_frequencies(
    params: Mapping[str, Any], cfg: Mapping[str, Any], dtype=jnp.float32
) -> jax.Array:
    """The frequencies ``p`` (shape ``(n,)``) of one run: the swept ``alpha`` (default 0),
    ``law_code`` and ``density`` (defaults: the static ``law`` and ``density``) of ``params``
    (possibly traced), for the resolved static options ``cfg`` (:func:`resolve_static`)."""
    alpha = params.get("alpha", jnp.asarray(0.0, dtype))
    density = params.get("density", jnp.asarray(cfg["density"], dtype))
    law_code = params.get("law_code", jnp.asarray(theory.LAWS.index(cfg["law"]), dtype))
    n, scale = cfg["n"], float(cfg["exp_scale"])
    return theory.frequencies_from_code(n, alpha, law_code, density, scale, dtype)


def simulate(
    key: jax.Array, params: Mapping[str, jax.Array], static: Mapping[str, Any]
) -> dict[str, jax.Array]:
    """One run of the toy model: train, evaluate, measure (float32; ``jit``/``vmap``-able).

    Args:
        key: PRNG key of the run (split into init, training and evaluation keys).
        params: swept scalars (may be traced): ``gamma`` (required), ``m`` (required when
            ``static`` has ``m_max``), and optionally ``alpha`` (default 0), ``law_code``
            (default: ``static["law"]``), ``lr``, ``lr_b``, ``density``.
        static: shapes and fixed options, see :func:`resolve_static`.

    Returns:
        The outputs listed in the module docstring.
    """
    cfg = resolve_static(static)
    n, steps, batch = cfg["n"], cfg["steps"], cfg["batch"]
    padded = "m_max" in cfg
    m_cols = cfg["m_max"] if padded else cfg["m"]
    dtype = jnp.float32
    missing = ({"gamma", "m"} if padded else {"gamma"}) - set(params)
    if missing:
        raise ValueError(f"swept parameters must include {sorted(missing)}, got {sorted(params)}")
    gamma = params["gamma"]
    lr = params.get("lr", jnp.asarray(cfg["lr"], dtype))
    lr_b = params.get("lr_b", lr if cfg["lr_b"] is None else jnp.asarray(cfg["lr_b"], dtype))
    if cfg["lr_rule"] == "liu2025-large":
        width = params["m"] if padded else jnp.asarray(float(m_cols), dtype)
        lr, lr_b = theory.large_run_learning_rates(width)
    p = run_frequencies(params, cfg, dtype)

    k_init, k_train, k_eval = jax.random.split(key, 3)
    theta = init_params(k_init, n, m_cols, params["m"] if padded else None, dtype)
    optimizer = make_optimizer(
        lr,
        gamma,
        steps=steps,
        warmup=cfg["warmup"],
        lr_b=lr_b,
        final_fraction=cfg["final_lr_fraction"],
        eps=float(cfg["adam_eps"]),
    )
    theta, curve, truncated = train(
        k_train,
        theta,
        p,
        optimizer,
        batch=batch,
        slots=slot_sizes(batch, float(cfg["max_rate"])),
        checkpoints=log_steps(steps, cfg["n_checkpoints"], zero=False),
    )
    final_loss, eval_truncated = evaluate(
        k_eval,
        theta,
        p,
        batch=cfg["eval_batch"],
        batches=cfg["eval_batches"],
        slots=slot_sizes(cfg["eval_batch"], float(cfg["max_rate"])),
    )
    return {
        "loss_curve": curve,
        "final_loss": final_loss,
        **row_statistics(theta["W"]),
        "bias_mean": jnp.mean(theta["b"]),
        "n_truncated": truncated + eval_truncated,
    }
