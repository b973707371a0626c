"""Simulator of the superposition toy model (Liu, Liu & Gore, arXiv 2505.10465) on the sweep engine.

Model (THEORY.md §3; symbols as in :mod:`theory.superposition`), shapes of one run:

* data: ``x`` of shape ``(batch, n)``, ``x_i = u_i s_i``, ``u_i ~ Bernoulli(p_i)``,
  ``s_i ~ U(0, 2)``, fresh every step. Training draws it in sparse form
  (:func:`sample_sparse_features`: Poisson thinning, ``~2 * 16`` random numbers per sample instead
  of ``n``, same distribution); :func:`sample_features` is the dense reference sampler.
* parameters: ``W`` of shape ``(n, m)`` (row ``W_i`` represents feature ``i``), ``b`` of shape
  ``(n,)``; init ``W ~ N(0, 1/m)``, ``b ~ N(0, 1)``.
* forward: ``h = x W`` (``h = W^T x`` per sample, shape ``(batch, m)``), ``y = ReLU(h W^T + b)``
  (shape ``(batch, n)``); loss ``L = mean_batch sum_i (y_i - x_i)^2`` (no 1/2).
* optimiser: AdamW (``beta = (0.9, 0.999)``, ``eps = 1e-8``) with the paper's *signed* decoupled
  weight decay on ``W`` only (:func:`signed_weight_decay`), learning rate ``lr`` (``lr_b`` for
  ``b``) times a linear warm-up + cosine decay to ``0.05 lr`` (:func:`lr_multiplier`).

:func:`build` returns the :class:`simulations.sweep.Experiment` of one static group. Swept
(traced) parameters: ``gamma`` (required), ``alpha``, ``law_code`` (index into
:data:`theory.superposition.LAWS`), and optionally ``m`` (padded widths), ``lr``, ``lr_b``,
``density``. Static: ``n``, ``steps``, ``batch``, either ``m`` or ``m_max`` (padded widths), and
the optional keys of :data:`STATIC_DEFAULTS`. :func:`make_grid` builds validated grids.

Outputs per run: ``loss_curve`` (loss of the fresh batch of update ``step``, log-spaced),
``final_loss`` (on ``eval_batches x eval_batch`` fresh samples), ``phi_half``/``phi_one``
(fractions of rows with ``||W_i|| > 1/2`` / ``> 1``), ``norm_hist`` (row-norm histogram, bins of
width :data:`HIST_WIDTH` from 0, the last bin also counting larger norms), ``row_norms`` (shape
``(n,)``, by feature rank), ``overlap_sq_strong``/``overlap_sq_represented`` (mean over pairs
``i != j`` of ``cos^2(W_i, W_j)`` among rows with norm ``> 1`` / ``> 1/2``; 0 with fewer than two
such rows, NaN after :func:`tidy`; the counts are ``count_strong``/``count_represented``),
``bias_mean``, ``n_truncated`` (sampler truncations, 0 in practice).

Commands: :func:`compare_command` (``solvable compare superposition``),
:func:`phase_diagram_command` (``solvable phase-diagram superposition``), :func:`run_command`
(``solvable run superposition --preset paper`` for the paper's sizes). Presets:
:data:`COMPARE_PRESETS`, :data:`PHASE_PRESETS`, :data:`FIGURE_PRESETS`.

Run times. Training costs ``~6 B n m`` FLOPs per step and run, plus a width-independent sampler.
The paper preset (``n = 10240``, ``m = 8..1024``, batch 2048, 20 000 steps, 3 seeds, 14 settings)
is ``~2.2e17`` FLOPs: about an hour on one A100-class GPU at ~50 TFLOP/s effective, weeks on
2 CPU cores (~10-20 GFLOP/s achieved here). The default compare preset takes ~10-15 min on 2 CPU
cores, the quick one well under a minute.
"""

from __future__ import annotations

import dataclasses
import math
import time
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import xarray as xr

from simulations import compare, fit, sweep
from theory import superposition as theory

__all__ = [
    "HIST_BINS",
    "HIST_WIDTH",
    "STATIC_DEFAULTS",
    "SparseBatch",
    "build",
    "checkpoint_steps",
    "lr_multiplier",
    "make_grid",
    "make_optimizer",
    "sample_features",
    "sample_sparse_features",
    "signed_weight_decay",
    "slot_sizes",
    "sparse_to_dense",
    "sparse_toy_model_loss",
    "toy_model_loss",
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
    "lr_rule": None,  # "liu2025-large": lr = 0.02 (8/m)^0.25, lr_b = 2/m (the paper's large runs)
    "density": 1.0,
    "final_lr_fraction": 0.05,
    "max_rate": 1.35,  # bound on sum_i -log(1 - p_i): E = 1 with alpha <= 2 (see slot_sizes)
}


# --- data, model, optimiser ----------------------------------------------------------------------
def _frequencies(alpha, law_code, n: int, density, exp_scale: float, dtype) -> jax.Array:
    """Traced counterpart of :func:`theory.superposition.frequencies` (same normalisation);
    ``law_code`` indexes :data:`theory.superposition.LAWS` (0 power, 1 exponential, 2 linear)."""
    i = jnp.arange(1, n + 1, dtype=dtype)
    power = i ** (-alpha)
    exponential = jnp.exp(-(i - 1.0) / exp_scale)
    linear = n - i
    q = jnp.where(law_code == 0, power, jnp.where(law_code == 1, exponential, linear))
    return density * q / jnp.sum(q)


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
    v = jax.random.uniform(key, (batch * n,), dtype=p.dtype).reshape(
        batch, n
    )  # flat: compiles fast
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


def toy_model_loss(params: Mapping[str, jax.Array], x: jax.Array) -> jax.Array:
    """``mean_batch sum_i (ReLU(W W^T x + b)_i - x_i)^2`` (Liu, Liu & Gore 2025, §3), dense ``x``.

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

    Liu, Liu & Gore (2025), §3: with learning rate ``eta`` the step is
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
    lr, gamma, *, steps: int, warmup: int, lr_b=None, final_fraction: float = 0.05
) -> optax.GradientTransformation:
    """AdamW with signed weight decay on ``W`` only, per-leaf learning rates and the schedule.

    Params must be ``{"W": ..., "b": ...}``. ``lr``, ``lr_b`` and ``gamma`` may be traced scalars.
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
        optax.scale_by_adam(b1=0.9, b2=0.999, eps=1e-8),
        optax.masked(signed_weight_decay(gamma), {"W": True, "b": False}),
        lr_transform,
    )


def checkpoint_steps(steps: int, n_checkpoints: int) -> np.ndarray:
    """Distinct log-spaced steps in ``[1, steps]`` (always including ``steps``)."""
    raw = np.unique(np.round(np.geomspace(1, steps, n_checkpoints)).astype(np.int64))
    return raw


# --- one run -------------------------------------------------------------------------------------
def _static(static: Mapping[str, Any]) -> dict[str, Any]:
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
        v = cfg[name]
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {v!r}")
    if cfg["n"] < 2:
        raise ValueError(f"n must be >= 2, got {cfg['n']}")
    if cfg[width_key] > cfg["n"]:
        raise ValueError(f"{width_key} must be <= n = {cfg['n']}, got {cfg[width_key]}")
    if cfg["law"] not in theory.LAWS:
        raise ValueError(f"law must be one of {theory.LAWS}, got {cfg['law']!r}")
    if cfg["warmup"] is None:
        cfg["warmup"] = max(1, cfg["steps"] // 10)
    if cfg["eval_batch"] is None:
        cfg["eval_batch"] = cfg["batch"]
    w = cfg["warmup"]
    if isinstance(w, bool) or not isinstance(w, (int, np.integer)) or not 0 <= w < cfg["steps"]:
        raise ValueError(f"warmup must be an integer in [0, steps), got {w!r}")
    for name in ("lr", "density", "max_rate", "exp_scale"):
        if not float(cfg[name]) > 0:
            raise ValueError(f"{name} must be > 0, got {cfg[name]!r}")
    if cfg["lr_rule"] not in (None, "liu2025-large"):
        raise ValueError(f"lr_rule must be None or 'liu2025-large', got {cfg['lr_rule']!r}")
    if cfg["lr_b"] is not None and not float(cfg["lr_b"]) > 0:
        raise ValueError(f"lr_b must be > 0, got {cfg['lr_b']!r}")
    if not 0.0 <= float(cfg["final_lr_fraction"]) <= 1.0:
        raise ValueError(f"final_lr_fraction must be in [0, 1], got {cfg['final_lr_fraction']!r}")
    return cfg


def _mean_sq_overlap(w: jax.Array, norms: jax.Array, mask: jax.Array):
    """Mean of ``cos^2`` over ordered pairs ``i != j`` of masked rows, via ``||U^T U||_F^2``.

    ``sum_{i,j in S} (u_i . u_j)^2 = ||sum_{i in S} u_i u_i^T||_F^2`` (an ``m x m`` matrix), so the
    cost is ``O(n m^2)`` instead of the ``O(n^2 m)`` of the Gram matrix; the diagonal contributes
    ``|S|``.
    """
    u = jnp.where(mask[:, None], w / jnp.maximum(norms, 1e-30)[:, None], 0.0)
    gram_small = u.T @ u
    count = jnp.sum(mask)
    total = jnp.sum(gram_small**2) - count
    pairs = count * (count - 1)
    # 0 (not NaN) without pairs, so the engine does not flag the run as diverged; tidy() turns
    # it into NaN using the count
    mean = jnp.where(pairs > 0, total / jnp.maximum(pairs, 1), 0.0)
    return mean, count


def build(static: Mapping[str, Any]) -> sweep.Experiment:
    """The toy model as a :class:`simulations.sweep.Experiment` for one ``(n, m, ...)`` group.

    Args:
        static: ``n``, ``m``, ``steps``, ``batch`` (required) and the optional keys of
            :data:`STATIC_DEFAULTS`.

    Returns:
        An Experiment whose ``run(key, params)`` trains one model (``params``: ``gamma`` and the
        optional swept names ``alpha``, ``lr``, ``lr_b``, ``density``) and returns the outputs
        listed in the module docstring. float32.
    """
    cfg = _static(static)
    n, steps, batch = cfg["n"], cfg["steps"], cfg["batch"]
    padded = "m_max" in cfg
    m_cols = cfg["m_max"] if padded else cfg["m"]
    warmup = cfg["warmup"]
    slots = slot_sizes(batch, float(cfg["max_rate"]))
    eval_slots = slot_sizes(cfg["eval_batch"], float(cfg["max_rate"]))
    eval_batch, eval_batches = cfg["eval_batch"], cfg["eval_batches"]
    ckpts = checkpoint_steps(steps, cfg["n_checkpoints"])
    ckpt_index = np.full(steps + 1, -1, dtype=np.int32)
    ckpt_index[ckpts] = np.arange(len(ckpts), dtype=np.int32)
    ckpt_index_j = jnp.asarray(ckpt_index)
    dtype = jnp.float32

    def run(key, params):
        missing = ({"gamma", "m"} if padded else {"gamma"}) - set(params)
        if missing:
            raise ValueError(
                f"swept parameters must include {sorted(missing)}, got {sorted(params)}"
            )
        gamma = params["gamma"]
        alpha = params.get("alpha", jnp.asarray(0.0, dtype))
        lr = params.get("lr", jnp.asarray(cfg["lr"], dtype))
        lr_b = params.get("lr_b", lr if cfg["lr_b"] is None else jnp.asarray(cfg["lr_b"], dtype))
        if cfg["lr_rule"] == "liu2025-large":
            width = params["m"] if padded else jnp.asarray(float(m_cols), dtype)
            lr, lr_b = 0.02 * (8.0 / width) ** 0.25, 2.0 / width
        density = params.get("density", jnp.asarray(cfg["density"], dtype))
        law_code = params.get("law_code", jnp.asarray(theory.LAWS.index(cfg["law"]), dtype))
        p = _frequencies(alpha, law_code, n, density, float(cfg["exp_scale"]), dtype)

        k_init, k_train, k_eval = jax.random.split(key, 3)
        # Column-major draw: with threefry's partitionable counters the first m columns are the
        # same numbers whatever m_cols is, so a padded run starts where the unpadded one does.
        w0 = jax.random.normal(k_init, (m_cols * n,), dtype).reshape(m_cols, n).T
        b0 = jax.random.normal(jax.random.fold_in(k_init, 1), (n,), dtype)
        if padded:
            # Columns >= m start at zero and stay exactly zero: their gradients vanish (h_j = 0
            # and dL/dh_j = sum_i g_i W_ij = 0), so Adam's moments and both decay rules leave
            # them at 0, and row norms and overlaps are those of the first m columns.
            m = params["m"]
            w0 = jnp.where(jnp.arange(m_cols) < m, w0 / jnp.sqrt(m), 0.0)
        else:
            w0 = w0 / math.sqrt(m_cols)
        theta = {"W": w0, "b": b0}
        opt = make_optimizer(
            lr, gamma, steps=steps, warmup=warmup, lr_b=lr_b,
            final_fraction=cfg["final_lr_fraction"],
        )  # fmt: skip
        grad_fn = jax.value_and_grad(sparse_toy_model_loss)

        def step(carry, t):
            theta, opt_state, curve, truncated = carry
            x = sample_sparse_features(jax.random.fold_in(k_train, t), p, batch, *slots)
            loss, grads = grad_fn(theta, x)
            truncated = truncated + x.n_truncated
            updates, opt_state = opt.update(grads, opt_state, theta)
            theta = optax.apply_updates(theta, updates)
            # Checkpoint t records the loss on the fresh batch of update t, i.e. an unbiased
            # estimate of the population loss of the model after t - 1 updates.
            idx = ckpt_index_j[t]
            # one-hot write (not a scatter: keeps the vmapped batch axis sharding-friendly)
            curve = jnp.where(jnp.arange(curve.shape[0]) == idx, loss, curve)
            return (theta, opt_state, curve, truncated), None

        curve0 = jnp.full((len(ckpts),), jnp.nan, dtype)
        carry0 = (theta, opt.init(theta), curve0, jnp.zeros((), jnp.int32))
        (theta, _, curve, truncated), _ = jax.lax.scan(step, carry0, jnp.arange(1, steps + 1))

        def eval_step(carry, j):
            total, truncated = carry
            x = sample_sparse_features(jax.random.fold_in(k_eval, j), p, eval_batch, *eval_slots)
            return (total + sparse_toy_model_loss(theta, x), truncated + x.n_truncated), None

        carry0 = (jnp.zeros((), dtype), truncated)
        (total, truncated), _ = jax.lax.scan(eval_step, carry0, jnp.arange(eval_batches))
        final_loss = total / eval_batches

        w = theta["W"]
        norms = jnp.linalg.norm(w, axis=-1)
        hist_index = jnp.clip(jnp.floor(norms / HIST_WIDTH), 0, HIST_BINS - 1).astype(jnp.int32)
        hist = jnp.mean(hist_index[:, None] == jnp.arange(HIST_BINS), axis=0).astype(dtype)
        ov_strong, c_strong = _mean_sq_overlap(w, norms, norms > 1.0)
        ov_rep, c_rep = _mean_sq_overlap(w, norms, norms > 0.5)
        return {
            "loss_curve": curve,
            "final_loss": final_loss,
            "phi_half": jnp.mean(norms > 0.5).astype(dtype),
            "phi_one": jnp.mean(norms > 1.0).astype(dtype),
            "norm_hist": hist,
            "row_norms": norms,
            "overlap_sq_strong": ov_strong,
            "overlap_sq_represented": ov_rep,
            "count_strong": c_strong.astype(jnp.int32),
            "count_represented": c_rep.astype(jnp.int32),
            "bias_mean": jnp.mean(theta["b"]),
            "n_truncated": truncated,
        }

    centers = (np.arange(HIST_BINS) + 0.5) * HIST_WIDTH
    return sweep.Experiment(
        run=run,
        dims={"loss_curve": ("step",), "norm_hist": ("norm_bin",), "row_norms": ("feature",)},
        coords={"step": ckpts, "norm_bin": centers, "feature": np.arange(1, n + 1)},
    )


def make_grid(
    *,
    n: int,
    widths: Sequence[int],
    steps: int,
    batch: int,
    gammas: Sequence[float] = (),
    alphas: Sequence[float] = (0.0,),
    laws: Sequence[str] = ("power",),
    points: Sequence[Mapping[str, Any]] | None = None,
    seeds: int = 1,
    pad_widths: bool = False,
    **static_options,
) -> sweep.Grid:
    """A validated :class:`~simulations.sweep.Grid` for :func:`build`.

    Points: either the product ``laws x gammas x alphas`` or an explicit list ``points`` of
    mappings with keys ``law`` (default ``"power"``), ``gamma``, ``alpha`` (default 0) — e.g. to
    pair the exponential and linear laws with one ``alpha`` only. The law is swept as the traced
    code ``law_code`` (index into :data:`theory.superposition.LAWS`), so all laws share one
    compiled program.

    Widths: ``pad_widths=False`` makes ``m`` static (one group and one compilation per width,
    compute proportional to each width); ``pad_widths=True`` puts every width in one compiled
    program (static ``m_max = max(widths)``, ``m`` swept, unused columns masked exactly; compute
    proportional to ``m_max`` for every width: worth it only when compilation dominates).
    ``static_options``: the optional keys of :data:`STATIC_DEFAULTS`.

    Every value is validated eagerly (``ValueError`` naming the parameter), so nothing is traced
    with a bad input; each ``(law, alpha, density)`` must give frequencies below 1.
    """
    widths = list(widths)
    if not widths:
        raise ValueError("widths must be non-empty")
    if len(set(widths)) != len(widths):
        raise ValueError(f"widths must be distinct, got {widths}")
    for m in widths:
        _static({"n": n, "m": m, "steps": steps, "batch": batch, **static_options})
    if points is None:
        if not gammas or not alphas or not laws:
            raise ValueError("gammas, alphas and laws must be non-empty (or pass points=)")
        points = [
            {"law": law, "gamma": g, "alpha": a} for law in laws for g in gammas for a in alphas
        ]
    elif not points:
        raise ValueError("points must be non-empty")
    density = float(static_options.get("density", STATIC_DEFAULTS["density"]))
    exp_scale = float(static_options.get("exp_scale", STATIC_DEFAULTS["exp_scale"]))
    cols: dict[str, list[float]] = {"law_code": [], "gamma": [], "alpha": []}
    rate = 0.0
    for pt in points:
        unknown = set(pt) - {"law", "gamma", "alpha"}
        if unknown:
            raise ValueError(f"point keys must be law, gamma, alpha; got {sorted(unknown)}")
        law = pt.get("law", "power")
        if law not in theory.LAWS:
            raise ValueError(f"law must be one of {theory.LAWS}, got {law!r}")
        if "gamma" not in pt:
            raise ValueError(f"every point needs a gamma, got {dict(pt)}")
        g, a = float(pt["gamma"]), float(pt.get("alpha", 0.0))
        if not math.isfinite(g):
            raise ValueError(f"gamma must be finite, got {g}")
        p = theory.frequencies(n, a, law=law, density=density, scale=exp_scale)  # alpha >= 0
        if p[0] >= 1.0:
            raise ValueError(f"alpha={a}, law={law!r}, density={density} give p_1 = 1")
        rate = max(rate, float(np.sum(-np.log1p(-p))))
        cols["law_code"].append(float(theory.LAWS.index(law)))
        cols["gamma"].append(g)
        cols["alpha"].append(a)
    if "max_rate" not in static_options and rate > STATIC_DEFAULTS["max_rate"]:
        static_options["max_rate"] = math.ceil(rate * 100.0) / 100.0  # keep keys stable otherwise
    if float(static_options.get("max_rate", STATIC_DEFAULTS["max_rate"])) < rate:
        raise ValueError(f"max_rate must be >= sum_i -log(1 - p_i) = {rate:.4g} for this grid")
    static: dict[str, Any] = {"n": n, "steps": steps, "batch": batch, **static_options}
    if pad_widths:
        static["m_max"] = max(widths)
        n_pts = len(cols["gamma"])
        cols = {k: [v for _ in widths for v in vals] for k, vals in cols.items()}
        cols["m"] = [float(m) for m in widths for _ in range(n_pts)]
    else:
        static["m"] = widths
    return sweep.Grid.zipped(static=static, points=cols, seeds=seeds)


# --- results: tidy arrays, exponents, comparison rows ---------------------------------------------
def tidy(result: sweep.SweepResult) -> xr.Dataset:
    """Every run of a sweep of :func:`build` in one dataset with dims ``(setting, m, seed, ...)``.

    A *setting* is one ``(law, gamma, alpha)`` triple (coordinates along ``setting``); ``m`` is the
    width, whether it was static (one group per width) or swept (padded widths). Runs flagged
    non-finite are NaN (:func:`simulations.sweep.mask_diverged`); missing runs are NaN too.
    """
    entries = []
    for ds in result.groups:
        ds = sweep.mask_diverged(ds)
        for i in range(ds.sizes["point"]):
            m = int(ds["m"].values[i]) if ds["m"].ndim == 1 else int(ds["m"].values)
            if "law_code" in ds.coords:
                law = theory.LAWS[int(ds["law_code"].values[i])]
            else:
                law = str(ds.attrs.get("static.law", STATIC_DEFAULTS["law"]))
            gamma = float(ds["gamma"].values[i])
            alpha = float(ds["alpha"].values[i]) if "alpha" in ds.coords else 0.0
            entries.append(((law, gamma, alpha), m, ds, i))
    settings = list(dict.fromkeys(e[0] for e in entries))
    widths = sorted({e[1] for e in entries})
    s_index = {s: k for k, s in enumerate(settings)}
    m_index = {m: k for k, m in enumerate(widths)}
    first = entries[0][2]
    n_seeds = first.sizes["seed"]
    data = {}
    for name, var in first.data_vars.items():
        extra_dims = var.dims[2:]
        shape = (len(settings), len(widths), n_seeds, *var.shape[2:])
        fill = False if var.dtype == bool else np.nan
        dtype = bool if var.dtype == bool else np.float64
        arr = np.full(shape, fill, dtype=dtype)
        for setting, m, ds, i in entries:
            arr[s_index[setting], m_index[m]] = ds[name].values[i]
        data[name] = (("setting", "m", "seed", *extra_dims), arr)
    coords: dict[str, Any] = {
        "setting": np.arange(len(settings)),
        "law": ("setting", [s[0] for s in settings]),
        "gamma": ("setting", [s[1] for s in settings]),
        "alpha": ("setting", [s[2] for s in settings]),
        "m": widths,
        "seed": np.arange(n_seeds),
    }
    for dim in ("step", "norm_bin", "feature"):
        if dim in first.coords:
            coords[dim] = first[dim].values
    for name, count in (("overlap_sq_strong", "count_strong"),
                        ("overlap_sq_represented", "count_represented")):  # fmt: skip
        if name in data and count in data:
            value = data[name][1]
            data[name] = (data[name][0], np.where(data[count][1] >= 2, value, np.nan))
    n = int(first.attrs.get("static.n", first["n"].values if "n" in first.coords else 0))
    return xr.Dataset(data, coords=coords, attrs={"n": n})


def predicted_regime(gamma: float) -> str:
    """THEORY.md §3: the weak/strong boundary sits at ``gamma ≈ 0`` for ``alpha`` in [0, 2]
    (``gamma < 0`` pulls row norms to 1: strong; ``gamma > 0`` decays unused rows: weak)."""
    if gamma < 0:
        return "strong"
    return "weak" if gamma > 0 else "boundary"


def predicted_exponents(
    n: int, widths: Sequence[int], law: str, alpha: float, exp_scale: float = 400.0
) -> dict[str, float]:
    """Predictions for one setting: ``weak`` (exact weak-loss sum fitted over ``widths``, the
    finite-``n`` counterpart of ``alpha - 1``), ``weak_asymptotic`` (``alpha - 1``, power law
    only), ``strong`` (``max(1, 2(alpha - 1))`` for the power law, ``1`` for the others)."""
    weak = theory.finite_n_weak_exponent(n, list(widths), alpha, law=law, scale=exp_scale)
    if law == "power":
        return {
            "weak": weak,
            "weak_asymptotic": float(theory.model_exponent(alpha, "weak")),
            "strong": float(theory.model_exponent(alpha, "strong")),
        }
    return {"weak": weak, "weak_asymptotic": math.nan, "strong": 1.0}


def comparison_rows(
    data: xr.Dataset,
    *,
    window: tuple[float | None, float | None] | None = None,
    n_boot: int = 1000,
    exp_scale: float = 400.0,
) -> list[compare.ComparisonRow]:
    """Measured ``alpha_m`` (and ``phi_half``) per setting beside theory's predictions.

    ``alpha_m``: seed-bootstrap power-law fit of the final loss over the widths in ``window``
    (:func:`simulations.fit.bootstrap_power_law`, mean over seeds). ``predicted`` is the
    prediction of the regime expected from ``gamma`` (:func:`predicted_regime`); the extras give
    both (``pred_weak``: exact finite-``n`` sum; ``pred_strong``), ``alpha - 1`` and the measured
    ``phi_half``. ``phi_half`` rows: mean over widths and seeds, predicted ``m/n`` averaged over
    the same widths (weak) or 1 (strong), interval a t-interval over seeds.
    """
    from scipy import stats

    n = int(data.attrs["n"])
    widths = np.asarray(data["m"].values)
    lo, hi = window if window is not None else (None, None)
    inwin = (widths >= (lo or 0)) & (widths <= (hi or np.inf))
    rows = []
    for s in range(data.sizes["setting"]):
        law = str(data["law"].values[s])
        gamma, alpha = float(data["gamma"].values[s]), float(data["alpha"].values[s])
        params = {"law": law, "gamma": gamma, "alpha": alpha}
        regime = predicted_regime(gamma)
        pred = predicted_exponents(n, widths[inwin].tolist(), law, alpha, exp_scale)
        phi = data["phi_half"].values[s][inwin]  # (m, seed)
        phi_mean = float(np.nanmean(phi))
        ys = data["final_loss"].values[s].T  # (seed, m)
        try:
            with warnings.catch_warnings():  # one seed: the regression interval, knowingly
                warnings.filterwarnings("ignore", message="bootstrap_power_law: only one")
                res = fit.bootstrap_power_law(widths, ys, window=window, n_boot=n_boot)
            measured, ci_low, ci_high = res.exponent, res.ci_low, res.ci_high
            win = f"{res.window[0]:g}:{res.window[1]:g}"
        except ValueError:  # every run diverged
            measured = ci_low = ci_high = math.nan
            win = ""
        predicted = {"strong": pred["strong"], "weak": pred["weak"]}.get(regime, math.nan)
        rows.append(
            compare.ComparisonRow(
                params=params,
                phase=regime,
                quantity="alpha_m",
                predicted=predicted,
                measured=measured,
                ci_low=ci_low,
                ci_high=ci_high,
                extras={
                    "pred_weak": f"{pred['weak']:.4f}",
                    "pred_strong": f"{pred['strong']:.4f}",
                    "alpha_minus_1": ""
                    if math.isnan(pred["weak_asymptotic"])
                    else f"{alpha - 1:g}",
                    "phi_half": f"{phi_mean:.3f}",
                    "window": win,
                },
            )
        )
        per_seed = np.nanmean(phi, axis=0)
        per_seed = per_seed[np.isfinite(per_seed)]
        if per_seed.size >= 2:
            half = stats.t.ppf(0.975, per_seed.size - 1) * per_seed.std(ddof=1)
            half /= math.sqrt(per_seed.size)
        else:
            half = math.nan
        phi_pred = {"strong": 1.0, "weak": float(np.mean(widths[inwin] / n))}.get(regime, math.nan)
        rows.append(
            compare.ComparisonRow(
                params=params,
                phase=regime,
                quantity="phi_half",
                predicted=phi_pred,
                measured=phi_mean,
                ci_low=phi_mean - half,
                ci_high=phi_mean + half,
                extras={"window": win},
            )
        )
    return rows


# --- presets and commands -------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class SweepConfig:
    """One sweep of the toy model: sizes, budget, the settings swept, and how to fit.

    ``points``: ``(law, gamma, alpha)`` triples. ``exp_scale``: decay length of the exponential
    law (THEORY.md's 400 at every ``n``; rescaling it to ``400 n / 10240`` would keep the paper's
    shape but leave only ~``3 exp_scale`` active features, not ``>> m`` at small ``n``).
    """

    n: int
    widths: tuple[int, ...]
    steps: int
    batch: int
    seeds: int
    points: tuple[tuple[str, float, float], ...]
    pad_widths: bool = False
    window: tuple[float | None, float | None] | None = None
    n_boot: int = 1000
    eval_batches: int = 8
    lr: float = 1e-2
    lr_rule: str | None = None
    exp_scale: float = 400.0

    @property
    def scale(self) -> float:
        return self.exp_scale

    def grid(self) -> sweep.Grid:
        pts = [{"law": law, "gamma": g, "alpha": a} for law, g, a in self.points]
        return make_grid(
            n=self.n,
            widths=self.widths,
            steps=self.steps,
            batch=self.batch,
            points=pts,
            seeds=self.seeds,
            pad_widths=self.pad_widths,
            eval_batches=self.eval_batches,
            lr=self.lr,
            lr_rule=self.lr_rule,
            exp_scale=self.scale,
        )

    def describe(self) -> str:
        return (
            f"n = {self.n}, widths {list(self.widths)}, {self.steps} steps of batch {self.batch}, "
            f"{self.seeds} seeds, {len(self.points)} settings"
            + (", widths padded into one program" if self.pad_widths else "")
        )


def _settings(gammas, alphas, laws=("exponential", "linear")):
    pts = [("power", float(g), float(a)) for g in gammas for a in alphas]
    pts += [(law, float(g), 0.0) for law in laws for g in gammas]
    return tuple(pts)


COMPARE_PRESETS: dict[str, SweepConfig] = {
    # 2 CPU cores, < 1 min: one compiled program; short budget (under-trains the strong regime)
    "quick": SweepConfig(
        n=200,
        widths=(8, 16, 32),
        steps=1000,
        batch=128,
        seeds=2,
        points=_settings((-1.0, 0.5), (1.0, 1.5), laws=()),
        pad_widths=True,
        n_boot=300,
        eval_batches=4,
    ),
    # 2 CPU cores, ~10-15 min (the per-step cost barely depends on m at these sizes)
    "default": SweepConfig(
        n=512,
        widths=(16, 24, 40, 64),
        steps=3000,
        batch=256,
        seeds=2,
        points=_settings((-1.0, 0.1), (0.5, 1.0, 1.5, 2.0)),
    ),
    # the paper's large runs (accelerator: see the module docstring for run times)
    "paper": SweepConfig(
        n=10240,
        widths=(8, 16, 32, 64, 128, 256, 512, 1024),
        steps=20000,
        batch=2048,
        seeds=3,
        points=_settings((-1.0, 0.1), (0.5, 1.0, 1.2, 1.5, 2.0)),
        window=(32, None),
        lr_rule="liu2025-large",
    ),
}

PHASE_PRESETS: dict[str, SweepConfig] = {
    "quick": SweepConfig(
        n=200,
        widths=(8, 16, 32),
        steps=600,
        batch=128,
        seeds=1,
        points=_settings((-1.0, -0.5, 0.0, 0.5, 1.0), (0.5, 1.0, 1.5, 2.0), laws=()),
        pad_widths=True,
        n_boot=200,
        eval_batches=4,
    ),
    "default": SweepConfig(
        n=512,
        widths=(16, 32, 64),
        steps=2000,
        batch=256,
        seeds=1,
        points=_settings(np.round(np.linspace(-1, 1, 9), 3), (0.0, 0.5, 1.0, 1.5, 2.0), laws=()),
        n_boot=500,
    ),
    "paper": SweepConfig(
        n=1000,
        widths=(10, 15, 25, 39, 63, 100),
        steps=20000,
        batch=2048,
        seeds=1,
        points=_settings(np.round(np.linspace(-1, 1, 10), 4), np.arange(0, 2.01, 0.125), laws=()),
    ),
}


def run_config(
    config: SweepConfig, store: Path | None = None, *, name: str = "superposition", progress=True
) -> xr.Dataset:
    """Run (or resume, with a ``store``) the sweep of ``config``; return :func:`tidy` data.

    Chunks hold every row of a width group (at most 256), so no row of a chunk is padding.
    """
    grid = config.grid()
    rows = grid.n_points * grid.seeds
    chunk = rows if rows <= 256 else math.ceil(rows / math.ceil(rows / 256))
    result = sweep.run_sweep(
        build,
        grid,
        name=name,
        store=None if store is None else str(store),
        chunk_size=chunk,
        progress=progress,
        config={"preset": dataclasses.asdict(config)},
    )
    data = tidy(result)
    data.attrs["n"] = config.n
    return data


def _save(data: xr.Dataset, path: Path) -> None:
    ds = data.assign_coords(law=data["law"].astype(str))
    ds.to_netcdf(path, engine="h5netcdf")


def _preset(presets: Mapping[str, SweepConfig], quick: bool, preset: str | None) -> SweepConfig:
    key = preset or ("quick" if quick else "default")
    if key not in presets:
        raise ValueError(f"preset must be one of {sorted(presets)}, got {key!r}")
    return presets[key]


def compare_command(
    out_dir: Path, quick: bool = False, *, preset: str | None = None, progress: bool = True
) -> list[compare.ComparisonRow]:
    """``solvable compare superposition``: measured ``alpha_m`` per ``(law, gamma, alpha)`` beside
    the weak (exact finite-``n`` sum) and strong (``max(1, 2(alpha - 1))``) predictions.

    Writes ``comparison.csv`` (``law,gamma,alpha,phase,quantity,predicted,measured,ci_low,
    ci_high,pred_weak,pred_strong,alpha_minus_1,phi_half,window``), ``data.nc`` (every run's
    outputs), ``loss_vs_m.png``, ``exponents.png`` and ``norm_histograms.png``; the sweep is stored
    in ``out_dir/sweep`` (a rerun resumes). ``preset``: ``quick``, ``default`` or ``paper``
    (accelerators).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    config = _preset(COMPARE_PRESETS, quick, preset)
    t0 = time.perf_counter()
    data = run_config(config, out_dir / "sweep", name="superposition-compare", progress=progress)
    t_sweep = time.perf_counter() - t0
    rows = comparison_rows(data, window=config.window, n_boot=config.n_boot, exp_scale=config.scale)
    param_names = ["law", "gamma", "alpha"]
    compare.write_comparison_csv(rows, out_dir / "comparison.csv", param_names)
    _save(data, out_dir / "data.nc")
    plot_loss_vs_m(data, rows, out_dir / "loss_vs_m.png", exp_scale=config.scale)
    plot_exponents(rows, out_dir / "exponents.png", n=config.n, widths=config.widths)
    plot_norm_histograms(data, out_dir / "norm_histograms.png")
    print(compare.format_comparison_table(rows, param_names))
    print(f"{config.describe()}; sweep {t_sweep:.0f} s, total {time.perf_counter() - t0:.0f} s")
    return rows


def phase_diagram_command(
    out_dir: Path, quick: bool = False, *, preset: str | None = None, progress: bool = True
) -> list[compare.ComparisonRow]:
    """``solvable phase-diagram superposition``: the ``(gamma, alpha)`` maps of ``phi_1/2`` and
    ``alpha_m`` with the predicted boundary ``gamma = 0``.

    Writes ``comparison.csv`` (as :func:`compare_command`), ``data.nc`` and ``phase_diagram.png``.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    config = _preset(PHASE_PRESETS, quick, preset)
    t0 = time.perf_counter()
    data = run_config(config, out_dir / "sweep", name="superposition-phase", progress=progress)
    rows = comparison_rows(data, window=config.window, n_boot=config.n_boot, exp_scale=config.scale)
    param_names = ["law", "gamma", "alpha"]
    compare.write_comparison_csv(rows, out_dir / "comparison.csv", param_names)
    _save(data, out_dir / "data.nc")
    plot_phase_diagram(data, rows, out_dir / "phase_diagram.png")
    print(compare.format_comparison_table(rows, param_names))
    print(f"{config.describe()}; total {time.perf_counter() - t0:.0f} s")
    return rows


def run_command(argv: list[str]) -> int:
    """``solvable run superposition``: the compare or phase-diagram sweep at a chosen preset.

    ``--preset paper`` runs the paper's sizes (``n = 10240``, ``m = 8..1024``, 20 000 steps of
    batch 2048): meant for accelerators (see the module docstring for run times).
    """
    import argparse

    p = argparse.ArgumentParser(prog="solvable run superposition", description=run_command.__doc__)
    p.add_argument("--what", choices=("compare", "phase-diagram"), default="compare")
    p.add_argument("--preset", choices=("quick", "default", "paper"), default="default")
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args(argv)
    out = args.out or Path("results") / f"superposition-{args.what}-{args.preset}"
    command = compare_command if args.what == "compare" else phase_diagram_command
    command(out, preset=args.preset)
    return 0


# --- plots (matplotlib imported lazily) -----------------------------------------------------------
def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _setting_label(law: str, gamma: float, alpha: float) -> str:
    return f"{law} α={alpha:g}, γ={gamma:g}" if law == "power" else f"{law}, γ={gamma:g}"


def plot_loss_vs_m(data: xr.Dataset, rows, path: Path, *, exp_scale: float = 400.0) -> Path:
    """Final loss vs width per setting (mean ± sd over seeds), fitted power laws, and the exact
    weak-superposition loss (dashed); one panel per frequency law, strong and weak together."""
    plt = _plt()
    laws = list(dict.fromkeys(str(v) for v in data["law"].values))
    fig, axes = plt.subplots(1, len(laws), figsize=(5.2 * len(laws), 4.2), squeeze=False)
    n = int(data.attrs["n"])
    widths = np.asarray(data["m"].values, dtype=float)
    fits = {(r.params["law"], r.params["gamma"], r.params["alpha"]): r for r in rows
            if r.quantity == "alpha_m"}  # fmt: skip
    colors = plt.cm.viridis(np.linspace(0, 0.9, max(2, data.sizes["setting"])))
    for ax, law in zip(axes[0], laws, strict=True):
        weak_drawn = set()
        for s in range(data.sizes["setting"]):
            if str(data["law"].values[s]) != law:
                continue
            gamma, alpha = float(data["gamma"].values[s]), float(data["alpha"].values[s])
            y = data["final_loss"].values[s]  # (m, seed)
            mean, sd = np.nanmean(y, axis=1), np.nanstd(y, axis=1)
            r = fits.get((law, gamma, alpha))
            marker = "o" if gamma < 0 else "s"
            label = _setting_label(law, gamma, alpha)
            if r is not None and math.isfinite(r.measured):
                label += f": α_m={r.measured:.2f}"
            ax.errorbar(widths, mean, yerr=sd, fmt=marker + "-", color=colors[s], label=label,
                        ms=4, lw=1)  # fmt: skip
            if alpha not in weak_drawn:
                weak_drawn.add(alpha)
                weak = theory.weak_loss(n, widths.astype(int), alpha, law=law, scale=exp_scale)
                ax.plot(widths, weak, "--", color=colors[s], lw=1, alpha=0.7)
        ref = np.nanmean(data["final_loss"].values) * widths[0] / widths
        ax.plot(widths, ref, ":", color="gray", label="∝ 1/m")
        ax.set(xscale="log", yscale="log", xlabel="width m", ylabel="final loss",
               title=f"{law} frequencies (dashed: weak-superposition sum)")  # fmt: skip
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)


def plot_exponents(rows, path: Path, *, n: int, widths: Sequence[int]) -> Path:
    """Measured ``alpha_m`` vs ``alpha`` (power law) with ``alpha - 1``, ``max(1, 2(alpha - 1))``
    and the exact finite-``n`` weak slope over the same widths."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    a = np.linspace(0.0, 2.2, 200)
    ax.plot(a, a - 1, "k--", lw=1, label="weak: α − 1")
    ax.plot(a, np.maximum(1, 2 * (a - 1)), "k-", lw=1, label="strong: max(1, 2(α − 1))")
    fin = [theory.finite_n_weak_exponent(n, list(widths), x) for x in a]
    ax.plot(a, fin, "k:", lw=1, label=f"weak, exact sum (n = {n})")
    for regime, color in (("strong", "C3"), ("weak", "C0"), ("boundary", "C2")):
        sel = [r for r in rows if r.quantity == "alpha_m" and r.phase == regime
               and r.params["law"] == "power"]  # fmt: skip
        if not sel:
            continue
        x = np.array([r.params["alpha"] for r in sel])
        y = np.array([r.measured for r in sel])
        err = np.array(
            [[r.measured - r.ci_low for r in sel], [r.ci_high - r.measured for r in sel]]
        )
        sign = {"strong": "<", "weak": ">"}.get(regime, "=")
        ax.errorbar(x, y, yerr=np.abs(err), fmt="o", color=color, ms=4, capsize=2,
                    label=f"measured, {regime} (γ {sign} 0)")  # fmt: skip
    ax.set(xlabel="frequency exponent α", ylabel="model exponent α_m", ylim=(-0.6, 2.6))
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)


def plot_norm_histograms(data: xr.Dataset, path: Path, *, setting_filter=None) -> Path:
    """Row-norm histograms (seed-averaged) per width, one panel per ``(law, gamma, alpha)``."""
    plt = _plt()
    settings = [s for s in range(data.sizes["setting"])
                if setting_filter is None or setting_filter(data, s)][:6]  # fmt: skip
    fig, axes = plt.subplots(1, len(settings), figsize=(3.6 * len(settings), 3.2), squeeze=False)
    centers = data["norm_bin"].values
    colors = plt.cm.viridis(np.linspace(0, 0.9, data.sizes["m"]))
    for ax, s in zip(axes[0], settings, strict=True):
        for k, m in enumerate(data["m"].values):
            h = np.nanmean(data["norm_hist"].values[s, k], axis=0)
            ax.step(centers, h, where="mid", color=colors[k], label=f"m = {m}")
        ax.axvline(0.5, color="gray", lw=0.8, ls=":")
        ax.axvline(1.0, color="gray", lw=0.8, ls="--")
        law, g, a = (
            str(data["law"].values[s]),
            float(data["gamma"].values[s]),
            float(data["alpha"].values[s]),
        )
        ax.set(xlabel="‖W_i‖", ylabel="fraction of rows", yscale="log",
               title=_setting_label(law, g, a))  # fmt: skip
        ax.title.set_fontsize(8)
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)


def plot_phase_diagram(data: xr.Dataset, rows, path: Path) -> Path:
    """Maps over ``(gamma, alpha)`` of ``phi_1/2`` (largest width) and of measured ``alpha_m``,
    with the predicted weak/strong boundary ``gamma = 0``."""
    plt = _plt()
    sel = [s for s in range(data.sizes["setting"]) if str(data["law"].values[s]) == "power"]
    gammas = np.unique(data["gamma"].values[sel])
    alphas = np.unique(data["alpha"].values[sel])
    phi = np.full((alphas.size, gammas.size), np.nan)
    am = np.full_like(phi, np.nan)
    fits = {(r.params["gamma"], r.params["alpha"]): r.measured for r in rows
            if r.quantity == "alpha_m" and r.params["law"] == "power"}  # fmt: skip
    for s in sel:
        g, a = float(data["gamma"].values[s]), float(data["alpha"].values[s])
        i, j = np.searchsorted(alphas, a), np.searchsorted(gammas, g)
        phi[i, j] = np.nanmean(data["phi_half"].values[s, -1])
        am[i, j] = fits.get((g, a), np.nan)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, z, title, cmap in (
        (axes[0], phi, f"φ½ at m = {int(data['m'].values[-1])}", "magma"),
        (axes[1], am, "measured α_m", "viridis"),
    ):
        mesh = ax.pcolormesh(gammas, alphas, z, shading="nearest", cmap=cmap)
        fig.colorbar(mesh, ax=ax)
        ax.axvline(0.0, color="w", ls="--", lw=1.5, label="predicted boundary γ = 0")
        ax.set(xlabel="weight decay γ", ylabel="frequency exponent α", title=title)
    axes[0].legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)


def plot_overlaps(data: xr.Dataset, path: Path) -> Path:
    """Mean squared overlap of represented rows vs width (strong settings), against ``1/m`` and
    the Welch bound."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5.2, 4.2))
    widths = np.asarray(data["m"].values)
    n = int(data.attrs["n"])
    for s in range(data.sizes["setting"]):
        if float(data["gamma"].values[s]) >= 0:
            continue
        y = np.nanmean(data["overlap_sq_represented"].values[s], axis=1)
        law, g, a = (
            str(data["law"].values[s]),
            float(data["gamma"].values[s]),
            float(data["alpha"].values[s]),
        )
        ax.plot(widths, y, "o-", ms=4, label=_setting_label(law, g, a))
    ax.plot(widths, 1.0 / widths, "k--", label="1/m (random unit vectors)")
    ax.plot(widths, [theory.welch_bound(n, int(m)) for m in widths], "k:", label="Welch bound")
    ax.set(xscale="log", yscale="log", xlabel="width m", ylabel="mean squared overlap")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)


# --- paper figures: shared data -------------------------------------------------------------------
FIGURE_PRESETS: dict[str, dict[str, SweepConfig]] = {
    "scaling": {
        "quick": SweepConfig(
            n=128,
            widths=(8, 16, 32),
            steps=500,
            batch=64,
            seeds=1,
            points=_settings((-1.0, 0.5), (1.0,)),
            pad_widths=True,
            n_boot=100,
            eval_batches=4,
        ),
        "default": COMPARE_PRESETS["default"],
        "paper": COMPARE_PRESETS["paper"],
    },
    "phase": {
        "quick": SweepConfig(
            n=128,
            widths=(8, 16, 32),
            steps=400,
            batch=64,
            seeds=1,
            points=_settings((-1.0, -0.5, 0.0, 0.5, 1.0), (1.0,), laws=()),
            pad_widths=True,
            n_boot=100,
            eval_batches=2,
        ),
        "default": PHASE_PRESETS["default"],
        "paper": PHASE_PRESETS["paper"],
    },
}


def figure_preset(quick: bool) -> str:
    """``quick``, ``default``, or ``paper`` when the environment sets ``SOLVABLE_FULL=1`` (the
    paper's sizes; accelerators only)."""
    import os

    if quick:
        return "quick"
    return "paper" if os.environ.get("SOLVABLE_FULL", "") == "1" else "default"


def figure_data(kind: str, out_dir: Path, quick: bool) -> tuple[xr.Dataset, SweepConfig]:
    """The tidy data behind the ``liu2025_*`` figures, cached as ``liu2025_<kind>_<preset>.nc``
    in ``out_dir`` (the sweep itself is stored under ``out_dir/sweep-<kind>-<preset>``)."""
    if kind not in FIGURE_PRESETS:
        raise ValueError(f"kind must be one of {sorted(FIGURE_PRESETS)}, got {kind!r}")
    preset = figure_preset(quick)
    config = FIGURE_PRESETS[kind][preset]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    cache = out_dir / f"liu2025_{kind}_{preset}.nc"
    if cache.exists():
        with xr.open_dataset(cache, engine="h5netcdf") as ds:
            data = ds.load()
        data["law"] = data["law"].astype(str)
        return data, config
    data = run_config(
        config, out_dir / f"sweep-{kind}-{preset}", name=f"superposition-{kind}", progress=False
    )
    _save(data, cache)
    return data, config
