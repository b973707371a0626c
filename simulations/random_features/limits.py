"""What one random-feature run may be given, what it costs, and when it has diverged.

The three things every builder of :mod:`simulations.random_features.sweeps` hands the sweep
engine besides its run function (:class:`simulations.grid.Experiment`):

* ``validate(point)`` (:func:`point_validator`): the swept values of one point, checked before
  anything is compiled: ``b > 1``, ``a > 1`` (the power laws of the model), a teacher variance
  ``k^(b−a)/M`` representable in the run's float type, ``ridge ≥ 0``, ``noise ≥ 0``,
  ``learning_rate > 0`` and, for gradient descent, below the stability bound
  :func:`theory.random_features.max_learning_rate` (not for gradient flow, where ``η`` only
  sets the time unit), and padded sizes ``features_used ≤ n_features``,
  ``samples_used ≤ n_samples``. Errors are one line naming the parameter, its value and the
  valid range.
* ``diverged(outputs, params)`` (:func:`train_loss_blowup`, :func:`spectrum_blowup`): the
  divergence bound, traced per run (see their docstrings for why the bound cannot be crossed
  by a run that did not blow up).
* ``bytes_per_run`` (:func:`ridge_bytes`, :func:`nested_ridge_bytes`, :func:`descent_bytes`,
  :func:`spectrum_bytes`): the arrays one run keeps alive, counted from its sizes.

It also holds the checks of the static (shape) parameters the builders share.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Collection, Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from theory import random_features as rf_theory
from theory.checks import check_choice, check_float, check_int, check_size

__all__ = [
    "DIVERGENCE_FACTOR",
    "as_int",
    "check_teacher_tilt",
    "descent_bytes",
    "int_list",
    "max_teacher_tilt",
    "nested_ridge_bytes",
    "parse_sizes",
    "point_validator",
    "ridge_bytes",
    "spectrum_blowup",
    "spectrum_bytes",
    "static_choice",
    "static_flag",
    "static_samples",
    "static_size",
    "train_loss_blowup",
]

DIVERGENCE_FACTOR = 1e3
"""A run has diverged when its training loss reaches this multiple of ``E[y²]`` (see
:func:`train_loss_blowup`)."""

_HEADROOM_DECADES = 6.0  # decades kept below the float maximum for the teacher's products


# --------------------------------------------------------------------------------------------
# static (shape) parameters
# --------------------------------------------------------------------------------------------


def as_int(name: str, value: Any, minimum: int = 1) -> int:
    """``value`` as an ``int >= minimum`` (integer-valued floats accepted, bools refused)."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        value = int(value)
    return check_int(name, value, minimum)


def int_list(name: str, values: Any, minimum: int = 1) -> list[int]:
    """A non-empty sequence (or a single value) of integers ``>= minimum``, as a list."""
    flat = np.atleast_1d(np.asarray(values, dtype=object)).ravel().tolist()
    if not flat:
        raise ValueError(f"{name} must hold at least one integer >= {minimum}, got {values!r}")
    return [as_int(name, v, minimum) for v in flat]


def static_size(static: Mapping[str, Any], name: str, minimum: int = 1, default=None) -> int:
    """Integer static parameter ``name`` (``default`` when absent), see :func:`as_int`."""
    if name not in static and default is None:
        raise ValueError(f"static parameter {name!r} is required")
    return as_int(name, static.get(name, default), minimum)


def static_samples(static: Mapping[str, Any]) -> float:
    """``n_samples``: an integer ``>= 1`` or ``math.inf`` (the population), as a float."""
    if "n_samples" not in static:
        raise ValueError("static parameter 'n_samples' is required (math.inf = population)")
    v = check_size("n_samples", static["n_samples"])
    if math.isfinite(v) and not v.is_integer():
        raise ValueError(f"n_samples must be an integer >= 1 or inf, got {static['n_samples']!r}")
    return v


def static_choice(static: Mapping[str, Any], name: str, options: Collection[Any], default):
    """Static parameter ``name`` (``default`` when absent), one of ``options``."""
    return check_choice(name, static.get(name, default), options)


def static_flag(static: Mapping[str, Any], name: str, default: int = 0) -> bool:
    """A 0/1 static switch."""
    return bool(check_choice(name, static.get(name, default), (0, 1)))


def parse_sizes(text: str, largest: int) -> tuple[int, ...]:
    """``nested_sizes``: comma-separated increasing integers in ``[1, largest]``."""
    try:
        sizes = tuple(int(v) for v in str(text).split(","))
    except ValueError as err:
        raise ValueError(f"nested_sizes must be comma-separated integers, got {text!r}") from err
    if not sizes or sizes[0] < 1 or any(b <= a for a, b in itertools.pairwise(sizes)):
        raise ValueError(f"nested_sizes must be increasing integers >= 1, got {text!r}")
    if sizes[-1] > largest:
        raise ValueError(f"nested_sizes must not exceed {largest}, got {text!r}")
    return sizes


# --------------------------------------------------------------------------------------------
# swept points
# --------------------------------------------------------------------------------------------


def max_teacher_tilt(n_latent: int, x64: bool) -> float:
    """Largest ``b − a`` whose teacher variance ``k^(b−a)/M`` stays representable up to ``k = M``.

    ``w_k² ∝ k^(b−a)`` is squared and multiplied again in the losses, so
    ``(b − a) log10 M`` must stay :data:`_HEADROOM_DECADES` below ``log10`` of the float maximum
    (302 decades in float64, 32 in float32). For ``M = 1`` every tilt is representable.
    """
    top = math.log10(np.finfo(np.float64 if x64 else np.float32).max) - _HEADROOM_DECADES
    return math.inf if n_latent <= 1 else top / math.log10(n_latent)


def check_teacher_tilt(b: float, a: float, n_latent: int, x64: bool = True) -> None:
    """Refuse ``b − a`` above :func:`max_teacher_tilt` (one line naming both and the limit)."""
    tilt = max_teacher_tilt(n_latent, x64)
    if b - a > tilt:
        raise ValueError(
            f"b - a must be <= {tilt:.3g} for n_latent = {n_latent} in float{64 if x64 else 32} "
            f"(the teacher variance k^(b-a)/M overflows), got b - a = {b - a:g}"
        )


def _check_used(name: str, value: float, largest: float, static_name: str) -> float:
    if not (float(value).is_integer() and 1 <= value <= largest):
        raise ValueError(
            f"{name} must be an integer in [1, {static_name} = {largest:g}], got {value!r}"
        )
    return float(value)


def point_validator(
    experiment: str,
    *,
    required: tuple[str, ...],
    optional: tuple[str, ...] = (),
    n_latent: int,
    n_features: int,
    n_samples: float,
    x64: bool,
    descent: bool = False,
) -> Callable[[Mapping[str, float]], None]:
    """``validate(point)`` for one static group of ``experiment`` (a builder's name).

    Args:
        required: swept names every point must have; optional: names it may have
            (``features_used``, ``samples_used``); any other name is refused (it would be
            ignored silently).
        n_latent, n_features, n_samples: the static sizes (``n_samples`` may be ``inf``).
        x64: float64 runs (else float32: a smaller representable teacher tilt).
        descent: gradient descent with step ``learning_rate``: also check it against
            :func:`theory.random_features.max_learning_rate` at the point's ``b`` and sizes.
    """
    known = (*required, *optional)

    def validate(point: Mapping[str, float]) -> None:
        for name in required:
            if name not in point:
                raise ValueError(
                    f"{experiment}: swept parameter {name!r} is required (swept: "
                    f"{', '.join(point) or 'nothing'}; expected {', '.join(required)})"
                )
        for name in point:
            if name not in known:
                raise ValueError(
                    f"{experiment}: {name!r} is not a swept parameter of this experiment "
                    f"(known: {', '.join(known)})"
                )
        b = check_float("b", point["b"], low=1.0, strict=True)
        a = check_float("a", point["a"], low=1.0, strict=True)
        check_teacher_tilt(b, a, n_latent, x64)
        for name in ("ridge", "noise"):
            if name in point:
                check_float(name, point[name], low=0.0)
        n_used, t_used = float(n_features), float(n_samples)
        if "features_used" in point:
            n_used = _check_used("features_used", point["features_used"], n_used, "n_features")
        if "samples_used" in point:
            if math.isinf(t_used):
                raise ValueError("samples_used needs a finite n_samples, got n_samples = inf")
            t_used = _check_used("samples_used", point["samples_used"], t_used, "n_samples")
        if "learning_rate" in point:
            lr = check_float("learning_rate", point["learning_rate"], low=0.0, strict=True)
            if descent:
                lam = rf_theory.latent_spectrum(n_latent, b)
                bound = rf_theory.max_learning_rate(lam, n_used, t_used)
                if lr >= bound:
                    raise ValueError(
                        f"learning_rate must be < {bound:.4g} for gradient descent at b = {b:g}, "
                        f"N = {n_used:g}, T = {t_used:g}, M = {n_latent} (2 / the top "
                        f"eigenvalue of the feature covariance; flow=1 has no bound), got {lr:g}"
                    )

    return validate


# --------------------------------------------------------------------------------------------
# divergence bounds (traced per run)
# --------------------------------------------------------------------------------------------


def _expected_null_loss(params: Mapping[str, jax.Array], n_latent: int) -> jax.Array:
    """``E[y²] = Σ_k k^(−a)/M + σ²``: the mean loss of the zero predictor ``β = 0``."""
    k = jnp.arange(1, n_latent + 1, dtype=jnp.result_type(params["a"]))
    lam, var_w = rf_theory.power_law_latent(k, params["b"], params["a"], n_latent)
    return jnp.sum(lam * var_w) + params["noise"]


def train_loss_blowup(
    n_latent: int, factor: float = DIVERGENCE_FACTOR
) -> Callable[[Mapping[str, jax.Array], Mapping[str, jax.Array]], jax.Array]:
    """Diverged: a recorded training loss ``≥ factor × E[y²]``.

    The training loss of every run here is at most the training loss ``y²`` of ``β = 0``
    (the mean squared label): ridge minimises ``‖Zβ − y‖² + δ‖β‖²``, which ``β = 0`` bounds;
    gradient descent below the stability bound and gradient flow decrease the training loss
    monotonically from ``β = 0`` (with ``T = ∞`` the training loss is the population loss, same
    argument). And ``y²/E[y²]`` is a mean of squared Gaussians: reaching ``10³`` has probability
    below ``e^(−400)``. So only a blown-up run (an unstable step size, a failed solve) crosses
    the bound; the test loss is not used, since it legitimately peaks at ``N = T``.
    """

    def diverged(outputs: Mapping[str, jax.Array], params: Mapping[str, jax.Array]) -> jax.Array:
        return jnp.any(outputs["train_loss"] >= factor * _expected_null_loss(params, n_latent))

    return diverged


def spectrum_blowup(
    n_latent: int, features: str, factor: float = DIVERGENCE_FACTOR
) -> Callable[[Mapping[str, jax.Array], Mapping[str, jax.Array]], jax.Array]:
    """Diverged: an eigenvalue of the feature covariance ``≥ factor ×`` its expected trace.

    Eigenvalues of a covariance are at most its trace, whose mean is ``Σλ`` for linear features
    and at most 1 for ReLU/tanh of unit-variance pre-activations (``E φ² ≤ E h² = 1``); the
    realised trace is a mean of many squares, so only a failed computation reaches ``10³×``.
    """

    def diverged(outputs: Mapping[str, jax.Array], params: Mapping[str, jax.Array]) -> jax.Array:
        if features == "linear":
            k = jnp.arange(1, n_latent + 1, dtype=jnp.result_type(params["b"]))
            scale = jnp.sum(k ** (-params["b"]))
        else:
            scale = 1.0
        return jnp.any(outputs["eigenvalues"] >= factor * scale)

    return diverged


# --------------------------------------------------------------------------------------------
# memory of one run (bytes of the arrays it keeps alive)
# --------------------------------------------------------------------------------------------


def _draw_bytes(count: int, itemsize: int) -> int:
    # model.normals draws float32 and casts: both copies exist at the cast
    return count * (4 + itemsize)


def ridge_bytes(
    m: int,
    n: int,
    t: int,
    *,
    n_test: int = 0,
    features: str = "linear",
    limits: str = "none",
    teacher_average: bool = False,
    x64: bool = True,
) -> float:
    """Bytes of one :func:`~simulations.random_features.model.ridge_run`.

    The draw (``M + NM + TM + T``, plus ``n_test (M + 1)`` for nonlinear features, float32 and
    its cast), the masked projection ``NM``, the data ``TM``, the features ``TN``, Gram matrix
    and Cholesky factor ``2 min(N, T)²``; nonlinear features add their pre-activations ``TN``
    and the test set ``n_test (M + 2N)``; the teacher average ``M² + MT + T² + N max(M, T)``;
    the ``T = ∞`` limit ``2N² + NM``; the ``N = ∞`` limit ``2 min(T, M)² + TM``.
    """
    item = 8 if x64 else 4
    nonlinear = features != "linear"
    draw = m + n * m + t * m + t + (n_test * (m + 1) if nonlinear else 0)
    s = min(n, t)
    live = n * m + t * m + t * n + 2 * s * s
    if nonlinear:
        live += t * n + n_test * (m + 2 * n)
    if teacher_average:
        live += m * m + m * t + t * t + n * max(m, t)
    if limits in ("samples", "both"):
        live += 2 * n * n + n * m
    if limits in ("features", "both"):
        live += 2 * min(t, m) ** 2 + t * m
    return float(_draw_bytes(draw, item) + item * live)


def nested_ridge_bytes(m: int, n: int, t: int, *, limits: str = "none", x64: bool = True) -> float:
    """Bytes of one :func:`~simulations.random_features.model.nested_ridge_run` at its largest
    size: the draw, the data ``TM``, ``Z = XF^T`` ``TN`` and one prefix of it ``TN``, Gram and
    Cholesky ``2 min(N, T)²``, and the limits as in :func:`ridge_bytes`."""
    item = 8 if x64 else 4
    draw = m + n * m + t * m + t
    s = min(n, t)
    live = t * m + 2 * t * n + 2 * s * s
    if limits == "samples":
        live += 2 * n * n + n * m
    if limits == "features":
        live += 2 * min(t, m) ** 2 + t * m
    return float(_draw_bytes(draw, item) + item * live)


def descent_bytes(
    m: int, n: int, t: float, *, n_checkpoints: int, method: str = "eigen", x64: bool = True
) -> float:
    """Bytes of one gradient-descent run (:func:`~simulations.random_features.model.
    descent_eigen_run` or ``descent_scan_run``): the draw (``M + NM``, plus ``TM + T`` at finite
    ``T``), the masked projection and ``FΛ`` ``2NM``, ``S`` ``N²``; at finite ``T`` the data
    ``TM``, features ``TN``, ``Ŝ`` ``N²`` and ``Z^TX/T`` ``NM``; the eigenbasis method adds the
    eigendecomposition ``2N²``, ``G = F^TV`` and ``Q`` ``2NM``, two ``N²`` products and the
    per-checkpoint filters ``2 n_checkpoints N``.
    """
    item = 8 if x64 else 4
    finite = math.isfinite(t)
    tt = int(t) if finite else 0
    draw = m + n * m + (tt * m + tt if finite else 0)
    live = 2 * n * m + n * n
    if finite:
        live += tt * m + tt * n + n * n + n * m
    if method == "eigen":
        live += 2 * n * n + 2 * n * m + 2 * n * n + 2 * n_checkpoints * n
    return float(_draw_bytes(draw, item) + item * live)


def spectrum_bytes(m: int, n: int, t: float, *, x64: bool = True) -> float:
    """Bytes of one :func:`~simulations.random_features.model.spectrum_run`: the draw (``M + NM``,
    plus ``TM`` at finite ``T``), the data ``TM``, features and pre-activations ``2TN``, the
    covariance and the eigensolver's copy ``2N²``."""
    item = 8 if x64 else 4
    tt = int(t) if math.isfinite(t) else 0
    draw = m + n * m + tt * m
    live = tt * m + 2 * tt * n + 2 * n * n
    return float(_draw_bytes(draw, item) + item * live)
