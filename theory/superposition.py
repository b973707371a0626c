"""Theory of the superposition toy model (Liu, Liu & Gore, arXiv 2505.10465), in float64.

Model and symbols (the simulator is :mod:`simulations.superposition`):

* ``n`` features ``x_i = u_i s_i`` with ``u_i ~ Bernoulli(p_i)`` and ``s_i ~ U(0, 2)``, so
  ``<s> = 1`` and ``<s^2> = 4/3``. The frequencies ``p_i`` (``i = 1..n``, most frequent first) sum
  to the activation density ``E`` (``density``; ``E = 1`` in the paper's main runs).
* Width ``m``: hidden vector ``h = W^T x`` in ``R^m`` with ``W`` of shape ``(n, m)`` (row ``W_i`` is
  feature ``i``'s representation), output ``y = ReLU(W h + b)`` in ``R^n``.
* Loss ``L = E ||y - x||^2``: summed over the ``n`` features, averaged over samples (no 1/2).
* Exponent convention: ``L ∝ m^(-alpha_m)``; ``alpha_m`` is positive when the loss falls.

Weak superposition (paper §3/§4): the ``k`` most frequent features are represented exactly, the
others are ignored and their outputs set to the best constant (``b_i = <x_i>``), so each costs
its variance ``Var(x_i) = <s^2> p_i - <s>^2 p_i^2`` and ``L_weak(k) = sum_{i>k} Var(x_i)``. With
``k = m`` and ``p_i ∝ i^(-alpha)`` (``alpha > 1``, ``n >> m``) this gives ``alpha_m = alpha - 1``.

Strong superposition: all ``n`` rows are represented with norm ~1 and the loss is set by the
interference of overlapping rows, i.e. squared overlaps of ``n`` nearly-random unit vectors in
``R^m``, whose mean is ``1/m``; hence ``alpha_m ≈ 1`` robustly, and up to ``2(alpha - 1)`` for
strongly skewed frequencies: ``alpha_m ≈ max(1, 2(alpha - 1))`` (paper §5, heuristic).

Regimes: the signed weight decay ``gamma`` of the paper's optimiser selects them, with the
boundary at ``gamma ≈ 0`` for ``alpha`` in ``[0, 2]`` (:func:`predicted_regime`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import jax.numpy as jnp
import numpy as np

from theory.checks import check_choice, check_float, check_int

__all__ = [
    "LAWS",
    "REGIMES",
    "S_MEAN",
    "S_SECOND_MOMENT",
    "feature_variances",
    "finite_n_weak_exponent",
    "frequencies",
    "frequencies_from_code",
    "large_run_learning_rates",
    "max_stable_weight_decay",
    "model_exponent",
    "predicted_exponents",
    "predicted_phi1",
    "predicted_phi_half",
    "predicted_regime",
    "random_overlap_moments",
    "weak_loss",
    "weak_loss_from_frequencies",
    "welch_bound",
    "zero_model_loss",
]

S_MEAN = 1.0
"""``<s>`` for ``s ~ U(0, 2)``."""
S_SECOND_MOMENT = 4.0 / 3.0
"""``<s^2>`` for ``s ~ U(0, 2)``."""

LAWS = ("power", "exponential", "linear")
"""Frequency laws: ``p_i ∝ i^(-alpha)``, ``p_i ∝ exp(-i/scale)``, ``p_i ∝ n - i`` (i = 1..n)."""

REGIMES = ("weak", "strong")
"""Superposition regimes: ``weak`` (``gamma > 0``) and ``strong`` (``gamma < 0``)."""


def _normalised_frequencies(xp, i, n: int, alpha, law_code, density, scale):
    """``density * q / sum(q)`` for the law ``LAWS[law_code]``; ``xp`` is ``numpy`` or
    ``jax.numpy`` (the one formula behind :func:`frequencies` and :func:`frequencies_from_code`).
    """
    power = i ** (-alpha)
    exponential = xp.exp(-(i - 1.0) / scale)  # shift: same law after normalisation, no underflow
    linear = n - i
    q = xp.where(law_code == 0, power, xp.where(law_code == 1, exponential, linear))
    return density * q / xp.sum(q)


def frequencies(
    n_features: int,
    alpha: float = 1.0,
    *,
    law: str = "power",
    density: float = 1.0,
    scale: float = 400.0,
) -> np.ndarray:
    """Feature frequencies ``p_i`` (i = 1..n, most frequent first), normalised to ``sum p = E``.

    Liu, Liu & Gore (2025), §3 (power law) and §5 (exponential and linear laws):
    ``power``: ``p_i ∝ i^(-alpha)``; ``exponential``: ``p_i ∝ exp(-i/scale)`` (the paper uses
    ``scale = 400``); ``linear``: ``p_i ∝ n - i`` (so ``p_n = 0``). ``alpha`` is used by the power
    law only.

    Args:
        n_features: ``n >= 2``.
        alpha: power-law exponent, ``>= 0``.
        law: one of :data:`LAWS`.
        density: activation density ``E = sum_i p_i > 0``.
        scale: decay length of the exponential law, ``> 0``.

    Returns:
        float64 array of shape ``(n_features,)``.

    Raises:
        ValueError: bad parameters, or a normalised frequency above 1 (not a probability).
    """
    n = check_int("n_features", n_features, 2)
    alpha = check_float("alpha", alpha, low=0.0)
    density = check_float("density", density, low=0.0, strict=True)
    scale = check_float("scale", scale, low=0.0, strict=True)
    law_code = LAWS.index(check_choice("law", law, LAWS))
    i = np.arange(1, n + 1, dtype=np.float64)
    p = _normalised_frequencies(np, i, n, alpha, law_code, density, scale)
    if p[0] > 1.0:
        raise ValueError(
            f"density={density} gives a largest frequency p_1 = {p[0]:.4g} > 1 for law={law!r}; "
            "lower the density"
        )
    return p


def frequencies_from_code(
    n_features: int, alpha, law_code, density=1.0, scale: float = 400.0, dtype=jnp.float32
):
    """:func:`frequencies` in ``jax.numpy``, of traced ``alpha``, ``law_code`` and ``density``.

    ``law_code`` indexes :data:`LAWS` (0 power, 1 exponential, 2 linear), so several laws can
    share one compiled program (``jit``/``vmap`` over ``alpha``, ``law_code`` and ``density``).
    Same formula and normalisation as :func:`frequencies`; no argument checks (values may be
    traced): validate with :func:`frequencies` beforehand.

    Args:
        n_features: ``n`` (static).
        alpha, law_code, density: scalars, possibly traced.
        scale: decay length of the exponential law (static).
        dtype: floating dtype of the result.

    Returns:
        Array of shape ``(n_features,)`` and dtype ``dtype``.
    """
    i = jnp.arange(1, n_features + 1, dtype=dtype)
    return _normalised_frequencies(jnp, i, n_features, alpha, law_code, density, scale)


def feature_variances(p: Sequence[float] | np.ndarray) -> np.ndarray:
    """``Var(x_i) = <s^2> p_i - <s>^2 p_i^2``: the loss of an ignored feature (optimal bias).

    Args:
        p: frequencies in ``[0, 1]``, shape ``(n,)``.

    Returns:
        float64 array of shape ``(n,)``.
    """
    p = np.asarray(p, dtype=np.float64)
    if p.ndim != 1 or p.size == 0:
        raise ValueError(f"p must be a non-empty 1-D array, got shape {p.shape}")
    if not np.all(np.isfinite(p)) or p.min() < 0.0 or p.max() > 1.0:
        raise ValueError(f"p must lie in [0, 1], got range [{p.min()}, {p.max()}]")
    return S_SECOND_MOMENT * p - S_MEAN**2 * p**2


def zero_model_loss(p):
    """``sum_i Var(x_i) = <s^2> sum_i p_i - <s>^2 sum_i p_i^2``: the loss of the zero-width model.

    With nothing represented (``W = 0``) the best output is the constant ``b_i = <x_i>``, and each
    feature costs its variance (Liu, Liu & Gore 2025, §4: the weak-superposition loss with
    ``k = 0``). Any trained model should do at least this well; the simulator calls a run whose
    final loss exceeds it by orders of magnitude diverged. No argument checks and only array
    methods, so ``p`` may be a NumPy array or a (traced) ``jax.numpy`` array.

    Args:
        p: frequencies, shape ``(n,)``.

    Returns:
        A scalar of ``p``'s array type.
    """
    return S_SECOND_MOMENT * p.sum() - S_MEAN**2 * (p * p).sum()


def weak_loss_from_frequencies(p: Sequence[float] | np.ndarray, k: int) -> float:
    """Weak-superposition loss ``sum_{i>k} (<s^2> p_i - <s>^2 p_i^2)``, ``k`` features represented.

    Liu, Liu & Gore (2025), §4 (weak superposition): the first ``k`` features (in the order of
    ``p``; pass it sorted, most frequent first) are represented without interference and cost
    nothing, every other feature costs its variance.

    Args:
        p: frequencies, shape ``(n,)``, in ``[0, 1]``.
        k: number of represented features, ``0 <= k <= n``.

    Returns:
        The loss (float).
    """
    var = feature_variances(p)
    k = check_int("k", k, 0)
    if k > var.size:
        raise ValueError(f"k must be <= n = {var.size}, got {k}")
    return float(np.sum(var[k:]))


def weak_loss(
    n_features: int,
    width: int | Sequence[int] | np.ndarray,
    alpha: float,
    density: float = 1.0,
    *,
    law: str = "power",
    k: int | Sequence[int] | np.ndarray | None = None,
    scale: float = 400.0,
) -> float | np.ndarray:
    """Weak-superposition loss at width ``m``: ``sum_{i>k} Var(x_i)`` with ``k = m`` by default.

    Liu, Liu & Gore (2025), §4. Check values (``n = 1000``, ``E = 1``, power law):
    ``weak_loss(1000, 10, 1.0) = 0.8099``, ``weak_loss(1000, 100, 1.0) = 0.4092``.

    Args:
        n_features: ``n``.
        width: ``m`` (an integer or an array of integers, each ``1 <= m <= n``).
        alpha: exponent of the power law (ignored by the other laws).
        density: ``E``.
        law, scale: frequency law and exponential decay length, see :func:`frequencies`.
        k: represented features, if not ``m`` (e.g. the measured ``phi_1/2 * n``); same shape as
            ``width`` or a scalar.

    Returns:
        A float for scalar ``width`` (and ``k``), else a float64 array of ``width``'s shape.
    """
    p = frequencies(n_features, alpha, law=law, density=density, scale=scale)
    widths = np.asarray(width)
    if widths.dtype.kind not in "iu":
        raise TypeError(f"width must be integer(s), got {width!r}")
    if widths.size == 0 or widths.min() < 1 or widths.max() > n_features:
        raise ValueError(f"width must lie in [1, n_features={n_features}], got {width!r}")
    ks = widths if k is None else np.broadcast_to(np.asarray(k), widths.shape)
    if ks.dtype.kind not in "iu" or ks.min() < 0 or ks.max() > n_features:
        raise ValueError(f"k must be integer(s) in [0, n_features={n_features}], got {k!r}")
    var = feature_variances(p)
    tail = np.concatenate([np.cumsum(var[::-1])[::-1], [0.0]])  # tail[j] = sum_{i>=j} var[i]
    out = tail[ks]
    return float(out) if out.ndim == 0 else out


def model_exponent(alpha: float | np.ndarray, regime: str) -> float | np.ndarray:
    """Predicted ``alpha_m`` (``L ∝ m^(-alpha_m)``) in the ``n >> m`` limit.

    Liu, Liu & Gore (2025): weak superposition ``alpha_m = alpha - 1`` (§4, valid for
    ``alpha > 1``; for ``alpha <= 1`` the weak loss does not decay as a power law of ``m``, and the
    value returned, ``<= 0``, only says so); strong superposition ``max(1, 2(alpha - 1))`` (§5,
    heuristic combining the ``1/m`` interference law with the skewed-frequency limit).

    Args:
        alpha: frequency exponent(s), ``>= 0``.
        regime: ``"weak"`` or ``"strong"``.
    """
    check_choice("regime", regime, REGIMES)
    a = np.asarray(alpha, dtype=np.float64)
    if not np.all(np.isfinite(a)) or np.any(a < 0):
        raise ValueError(f"alpha must be finite and >= 0, got {alpha!r}")
    out = a - 1.0 if regime == "weak" else np.maximum(1.0, 2.0 * (a - 1.0))
    return float(out) if out.ndim == 0 else out


def finite_n_weak_exponent(
    n_features: int,
    widths: Sequence[int] | np.ndarray,
    alpha: float,
    density: float = 1.0,
    *,
    law: str = "power",
    scale: float = 400.0,
) -> float:
    """Slope ``-d log L_weak / d log m`` fitted (least squares in log-log) to the exact sum.

    The finite-``n`` counterpart of ``alpha - 1`` that a weak-regime simulation over the same
    widths should reproduce. Check values: ``n = 1000``, ``E = 1``,
    ``widths = (10, 15, 25, 39, 63, 100)`` give 0.294 (alpha = 1), 0.434 (1.25), 0.606 (1.5),
    0.804 (1.75), 1.020 (2).

    Args:
        n_features: ``n``.
        widths: at least two distinct widths in ``[1, n - 1]`` (the loss vanishes at ``m = n``).
        alpha, density, law, scale: see :func:`frequencies`.
    """
    w = np.asarray(widths)
    if w.ndim != 1 or w.dtype.kind not in "iu" or np.unique(w).size < 2:
        raise ValueError(f"widths must be >= 2 distinct integers, got {widths!r}")
    if w.min() < 1 or w.max() >= n_features:
        raise ValueError(
            f"widths must lie in [1, n_features - 1 = {n_features - 1}], got {widths!r}"
        )
    losses = weak_loss(n_features, w, alpha, density, law=law, scale=scale)
    if np.any(losses <= 0):
        raise ValueError(
            "weak loss is zero at some width (features with p = 0); cannot fit a slope"
        )
    slope = np.polyfit(np.log(w.astype(np.float64)), np.log(losses), 1)[0]
    return float(-slope)


def random_overlap_moments(m: int | np.ndarray) -> tuple:
    """Mean and variance of ``(u . v)^2`` for independent uniform unit vectors in ``R^m``.

    ``(u . v)^2 ~ Beta(1/2, (m-1)/2)``: mean ``1/m``, variance ``2(m-1) / (m^2 (m+2))``
    (Liu, Liu & Gore 2025, §5: the interference behind ``L ∝ 1/m``).

    Args:
        m: dimension(s), integers ``>= 1``.

    Returns:
        ``(mean, variance)``, floats or float64 arrays of ``m``'s shape.
    """
    ms = np.asarray(m)
    if ms.dtype.kind not in "iu" or ms.size == 0 or ms.min() < 1:
        raise ValueError(f"m must be integer(s) >= 1, got {m!r}")
    mf = ms.astype(np.float64)
    mean = 1.0 / mf
    var = 2.0 * (mf - 1.0) / (mf**2 * (mf + 2.0))
    if mean.ndim == 0:
        return float(mean), float(var)
    return mean, var


def welch_bound(n: int, m: int) -> float:
    """Welch bound: ``n`` unit vectors in ``R^m`` have mean squared overlap ``>= (n-m)/(m(n-1))``.

    The mean is over ordered pairs ``i != j``; it follows from ``||U U^T||_F^2 >= n^2/m``
    (Welch 1974), so it bounds the largest squared overlap too. Zero when ``n <= m``.
    """
    n = check_int("n", n, 2)
    m = check_int("m", m, 1)
    return max(0.0, (n - m) / (m * (n - 1)))


def predicted_phi1(n_features: int, width: int | np.ndarray) -> float | np.ndarray:
    """Predicted fraction of rows with ``||W_i|| > 1`` in strong superposition: ``min(1, m^2/2n)``.

    Liu, Liu & Gore (2025), strong-superposition row-norm statistics: about ``m^2/2`` rows can be
    strongly represented (norm above 1) before their interference saturates.
    """
    n = check_int("n_features", n_features, 1)
    ms = np.asarray(width)
    if ms.dtype.kind not in "iu" or ms.size == 0 or ms.min() < 1:
        raise ValueError(f"width must be integer(s) >= 1, got {width!r}")
    out = np.minimum(1.0, ms.astype(np.float64) ** 2 / (2.0 * n))
    return float(out) if out.ndim == 0 else out


def predicted_phi_half(
    n_features: int, width: int | Sequence[int] | np.ndarray, regime: str
) -> float | np.ndarray:
    """Predicted fraction ``phi_1/2`` of rows with ``||W_i|| > 1/2`` (represented features).

    Liu, Liu & Gore (2025): weak superposition represents the ``m`` most frequent features,
    ``phi_1/2 = m/n``; strong superposition represents every feature, ``phi_1/2 = 1``; NaN at the
    ``"boundary"`` (no prediction).

    Args:
        n_features: ``n >= 1``.
        width: ``m`` (integer or integers ``>= 1``).
        regime: ``"weak"``, ``"strong"`` or ``"boundary"``.

    Returns:
        A float for scalar ``width``, else a float64 array of ``width``'s shape.
    """
    n = check_int("n_features", n_features, 1)
    check_choice("regime", regime, (*REGIMES, "boundary"))
    ms = np.asarray(width)
    if ms.dtype.kind not in "iu" or ms.size == 0 or ms.min() < 1:
        raise ValueError(f"width must be integer(s) >= 1, got {width!r}")
    if regime == "weak":
        out = ms / n
    else:
        out = np.full(ms.shape, 1.0 if regime == "strong" else math.nan)
    return float(out) if out.ndim == 0 else out


def predicted_regime(gamma: float) -> str:
    """The regime the signed weight decay ``gamma`` selects: ``strong``, ``weak`` or ``boundary``.

    Liu, Liu & Gore (2025): ``gamma < 0`` pulls every row norm towards 1 (strong
    superposition), ``gamma > 0`` decays the rows of rare features (weak superposition); the
    boundary sits at ``gamma ≈ 0`` for ``alpha`` in ``[0, 2]``.
    """
    gamma = check_float("gamma", gamma)
    if gamma < 0:
        return "strong"
    return "weak" if gamma > 0 else "boundary"


def predicted_exponents(
    n: int, widths: Sequence[int], law: str, alpha: float, exp_scale: float = 400.0
) -> dict[str, float]:
    """Predicted ``alpha_m`` of one setting ``(law, alpha)`` over the given widths.

    Returns a dict with ``weak`` (the exact weak-loss sum fitted over ``widths``,
    :func:`finite_n_weak_exponent`: the finite-``n`` counterpart of ``alpha - 1``),
    ``weak_asymptotic`` (``alpha - 1``; NaN for the laws other than the power law) and ``strong``
    (``max(1, 2(alpha - 1))`` for the power law, ``1`` for the others: the ``1/m`` interference
    law, Liu, Liu & Gore 2025, §5).

    Args:
        n: number of features.
        widths: the widths the simulation fits over (at least two distinct, ``< n``).
        law: one of :data:`LAWS`.
        alpha: power-law exponent (ignored by the other laws).
        exp_scale: decay length of the exponential law.
    """
    weak = finite_n_weak_exponent(n, list(widths), alpha, law=law, scale=exp_scale)
    if law == "power":
        return {
            "weak": weak,
            "weak_asymptotic": float(model_exponent(alpha, "weak")),
            "strong": float(model_exponent(alpha, "strong")),
        }
    return {"weak": weak, "weak_asymptotic": math.nan, "strong": 1.0}


def large_run_learning_rates(width):
    """The paper's learning rates for its large runs: ``lr = 0.02 (8/m)^(1/4)``, ``lr_b = 2/m``.

    Liu, Liu & Gore (2025), the runs at ``n = 10240``, ``m = 8..1024``: ``lr`` for ``W`` and
    ``lr_b`` for the bias. ``width`` may be a number or a (traced) array.

    Returns:
        ``(lr, lr_b)``, of ``width``'s type.
    """
    return 0.02 * (8.0 / width) ** 0.25, 2.0 / width


def max_stable_weight_decay(lr: float) -> float:
    """The largest ``|gamma|`` for which the signed weight decay at learning rate ``lr`` is stable.

    The decoupled decay step of Liu, Liu & Gore (2025) is ``W_i <- W_i (1 - eta gamma)`` for
    ``gamma >= 0`` and moves the row norm ``r`` to ``1 + (1 - eta |gamma|)(r - 1)`` for
    ``gamma < 0``: a contraction (to 0, resp. to the unit sphere) iff ``eta |gamma| < 2``. The
    schedule's peak learning rate is ``lr``, so runs need ``|gamma| < 2 / lr``.

    Args:
        lr: peak learning rate of ``W``, ``> 0``.
    """
    return 2.0 / check_float("lr", lr, low=0.0, strict=True)
