"""What one run of the toy model may be given, when it has failed, and what memory it needs.

The sweep engine's :class:`~simulations.grid.Experiment` of :func:`.experiment.build` carries
three per-group hooks, defined here (pure JAX + theory, like :mod:`.model`):

* :func:`check_point`: every swept point is checked before anything is compiled, including the
  stability of the signed weight decay (:func:`theory.superposition.max_stable_weight_decay`):
  one-line ``ValueError``/``TypeError`` naming the parameter, its value and the valid range.
* :func:`is_diverged`: the divergence bound. A run is diverged (besides non-finite outputs, which
  the engine flags itself) when its final loss is ``>= DIVERGENCE_FACTOR`` times the loss of the
  zero-width model ``sum_i Var(x_i)`` (:func:`theory.superposition.zero_model_loss`).
* :func:`bytes_per_run`: the device memory of one run, from the shapes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jax
import numpy as np

from simulations.superposition.model import resolve_static, run_frequencies, slot_sizes
from theory import superposition as theory
from theory.checks import check_float

__all__ = [
    "DIVERGENCE_FACTOR",
    "SWEPT_NAMES",
    "bytes_per_run",
    "check_point",
    "is_diverged",
    "sampler_rate",
]

DIVERGENCE_FACTOR = 1e3
"""A run whose final loss is ``>= DIVERGENCE_FACTOR * sum_i Var(x_i)`` diverged.

Why this bound: the zero-width model (``W = 0``, ``b_i = <x_i>``) already reaches
``sum_i Var(x_i)`` (about ``4/3 E``, i.e. ~1.3 for the paper's ``E = 1``), and the trained model
can only do better (weak superposition keeps the ``m`` most frequent features, strong
superposition pays ``~n/m`` interference terms of size ``~p^2``, both below it). A final loss a
thousand times above it is AdamW having left the basin (a learning rate far too large for the
widths), not a measurement; such a run must never enter a fit. The bound is on the *final*
loss, not on the curve: the loss of the random initial model is ``~n/2`` (bias ``b ~ N(0, 1)``),
itself above ``10^3 sum_i Var(x_i)`` for ``n >~ 3000``.
"""

SWEPT_NAMES = ("gamma", "alpha", "law_code", "m", "lr", "lr_b", "density")
"""Names :func:`.model.simulate` reads from the swept ``params`` (``gamma`` required; ``m`` only,
and then required, with a static ``m_max``)."""


def sampler_rate(p: np.ndarray) -> float:
    """``sum_i -log(1 - p_i)``: the mean number of Poisson points per sample of the sparse sampler
    (:func:`.model.sample_sparse_features`), which the static ``max_rate`` must bound."""
    return float(np.sum(-np.log1p(-np.asarray(p, dtype=np.float64))))


def _swept_integer(name: str, value: Any, low: int, high: int) -> int:
    v = check_float(name, value)
    if not v.is_integer() or not low <= v <= high:
        raise ValueError(f"{name} must be an integer in [{low}, {high}], got {value!r}")
    return int(v)


def check_point(point: Mapping[str, float], static: Mapping[str, Any]) -> None:
    """Check one swept point of the static group ``static`` before anything is traced.

    Checks: the names (:data:`SWEPT_NAMES`; ``gamma`` and, when padded, ``m`` required), each
    value's range (``gamma`` finite, ``alpha >= 0``, ``law_code`` in ``0..2``, ``1 <= m <= m_max``,
    ``lr``, ``lr_b``, ``density > 0``), frequencies that are probabilities below 1, a sampler
    budget ``max_rate >= sum_i -log(1 - p_i)`` (:func:`sampler_rate`), and a stable signed weight
    decay ``|gamma| < 2 / lr`` (:func:`theory.superposition.max_stable_weight_decay`).

    Raises:
        ValueError, TypeError: one line naming the parameter, its value and the valid range.
    """
    cfg = resolve_static(static)
    padded = "m_max" in cfg
    allowed = [k for k in SWEPT_NAMES if padded or k != "m"]
    unknown = sorted(set(point) - set(allowed))
    if unknown:
        raise ValueError(f"swept parameters must be among {allowed}, got {unknown}")
    missing = sorted(({"gamma", "m"} if padded else {"gamma"}) - set(point))
    if missing:
        raise ValueError(f"swept parameters must include {missing}, got {sorted(point)}")
    gamma = check_float("gamma", point["gamma"])
    alpha = check_float("alpha", point.get("alpha", 0.0), low=0.0)
    if "law_code" in point:
        law = theory.LAWS[_swept_integer("law_code", point["law_code"], 0, len(theory.LAWS) - 1)]
    else:
        law = cfg["law"]
    width = _swept_integer("m", point["m"], 1, cfg["m_max"]) if padded else cfg["m"]
    density = check_float("density", point.get("density", cfg["density"]), low=0.0, strict=True)
    if cfg["lr_rule"] == "liu2025-large":
        lr, lr_b = theory.large_run_learning_rates(float(width))
    else:
        lr = check_float("lr", point.get("lr", cfg["lr"]), low=0.0, strict=True)
        lr_b = point.get("lr_b", lr if cfg["lr_b"] is None else cfg["lr_b"])
        check_float("lr_b", lr_b, low=0.0, strict=True)
    p = theory.frequencies(cfg["n"], alpha, law=law, density=density, scale=cfg["exp_scale"])
    if p[0] >= 1.0:
        raise ValueError(f"alpha={alpha}, law={law!r}, density={density} give p_1 = 1 (need < 1)")
    rate = sampler_rate(p)
    if rate > cfg["max_rate"]:
        raise ValueError(
            f"max_rate must be >= sum_i -log(1 - p_i) = {rate:.4g} at alpha={alpha}, "
            f"law={law!r}, density={density}; got {cfg['max_rate']}"
        )
    limit = theory.max_stable_weight_decay(lr)
    if not abs(gamma) < limit:
        raise ValueError(
            f"gamma must satisfy |gamma| < 2/lr = {limit:.4g} at lr = {lr:.4g} (the signed "
            f"weight decay is unstable beyond), got {gamma!r}"
        )


def is_diverged(
    outputs: Mapping[str, jax.Array], params: Mapping[str, jax.Array], static: Mapping[str, Any]
) -> jax.Array:
    """Whether one run diverged: ``final_loss >= DIVERGENCE_FACTOR * sum_i Var(x_i)`` for the
    run's frequencies (traced; a bool scalar, ``jit``/``vmap``-able). NaN compares false here:
    the engine flags non-finite runs itself."""
    cfg = resolve_static(static)
    p = run_frequencies(params, cfg, outputs["final_loss"].dtype)
    return outputs["final_loss"] >= DIVERGENCE_FACTOR * theory.zero_model_loss(p)


def bytes_per_run(static: Mapping[str, Any]) -> float:
    """Device memory of one run (bytes, float32): the largest arrays alive at once.

    With ``n`` features, ``m`` columns (``m_max`` when padded), ``B = max(batch, eval_batch)``,
    ``(k, K) = slot_sizes(B, max_rate)`` (Poisson points per sample, active entries per batch)
    and ``T = steps``, in 4-byte words::

        6 n m      W, its gradient, Adam's two moments, the update and the decay term
      + 4 B n      pre-activations, outputs ReLU(hW^T + b), their gradient, the ReLU mask
      + 3 K m      gathered active rows of W, their gradient, h at the active rows
      + 2 B m      hidden h = W^T x and its gradient
      + 2 B k      the sampler's uniforms
      + m^2 + 8 n  the overlap Gram matrix; bias, its moments, row norms, histogram indices
      + T + 1      the checkpoint lookup table of the training scan
    """
    cfg = resolve_static(static)
    n, m = cfg["n"], cfg.get("m_max", cfg.get("m"))
    b = max(cfg["batch"], cfg["eval_batch"])
    k, budget = slot_sizes(b, float(cfg["max_rate"]))
    words = 6 * n * m + 4 * b * n + 3 * budget * m + 2 * b * m + 2 * b * k + m * m + 8 * n
    words += cfg["steps"] + 1
    return 4.0 * float(words)
