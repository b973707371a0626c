"""Theory of lottery-ticket ensembles (Liu & Tegmark, arXiv 2310.02258), in float64.

Model and symbols (the simulator is :mod:`simulations.lottery`):

* A one-hidden-layer net of width ``N`` on a scalar input, ``f(x) = Σ_i v_i σ(w_i x + b_i) + c``,
  regresses a target ``y(x)`` (``x²`` by default) on ``x ~ U[lo, hi]`` (``[−2, 2]`` by default).
* Loss convention: the **mean squared error** ``MSE = E_x (f(x) − y(x))²`` over the uniform
  distribution on the interval (no ½, mean not sum); every floor below is in these units.
* Exponent convention: ``MSE ∝ N^(−e)``; ``e`` is positive when the error falls.

Predictions collected here:

1. Approximation theory (Sharma & Kaplan, arXiv 2004.10802): a piecewise-linear fit with ``N``
   pieces of a smooth target in ``d`` dimensions has MSE ``∝ N^(−4/d)``
   (:func:`approximation_exponent`).
2. The ReLU floor. A width-``N`` ReLU net is continuous piecewise linear (PL) with at most ``N``
   interior breakpoints, hence at most ``N + 1`` pieces on the interval. For a quadratic
   ``a x² + b x + c`` the best L² continuous PL fit with ``K`` pieces has equal pieces and MSE
   ``a² h⁴ / 180``, ``h = (hi − lo)/K`` (:func:`piecewise_linear_floor`): the best line on one
   piece of length ``h`` leaves the Legendre-P2 part of ``a x²``, whose mean square is
   ``a² h⁴/180``; with equal pieces these per-piece optima (tangent lines raised by ``a h²/12``)
   agree at every knot, so continuity costs nothing, and by convexity of ``Σ h_i⁵`` unequal pieces
   only do worse. The bound ``MSE_ReLU(N) ≥ 1.4222/(N + 1)⁴`` for ``x²`` on ``[−2, 2]`` is this
   floor with ``K = N + 1`` (:func:`relu_floor_bound`).
3. The bound is attained only when the net can realise that PL function. A ReLU net's leftmost
   slope is ``−Σ_{i∈L} δ_i`` (``L`` = the neurons with ``w_i < 0``, ``δ_i`` = slope change at knot
   ``i``), which removes one degree of freedom from the ``N + 2`` of a PL function with ``N``
   knots: with the left-facing neurons to the left of the right-facing ones, some piece must be
   **flat** (it sees only ``c``). The equal-piece fit has a flat piece exactly when the vertex of
   the parabola sits at the centre of a piece, i.e. for ``x²`` on ``[−2, 2]`` when ``N`` is
   **even**. For odd ``N`` the exact floor (:func:`relu_floor`) lies strictly between the bounds
   for ``N + 1`` and ``N`` pieces (ratio to ``1.4222/(N + 1)⁴``: 10.14 at ``N = 1``, 1.862 at 3,
   1.325 at 5, 1.172 at 7, ≈ ``1 + 10/(N + 1)²`` for large ``N``). It is computed by optimising
   the knots of a continuous PL fit with one flat piece (envelope-theorem gradient, L-BFGS-B).
   Non-contiguous orientation patterns were checked by enumerating all ``2^N`` of them for
   ``N ≤ 5``: none beats the contiguous one.
4. Lottery-ticket ensembling (Liu & Tegmark §3): a SiLU net behaves as an average of ``∝ N``
   tickets with independent errors, so by the central limit theorem the variance part of its error
   falls as ``1/N`` (:data:`LOTTERY_CLT_EXPONENT`); for ``K`` independently trained nets averaged
   explicitly, ``MSE(K) = bias² + variance/K`` exactly (:func:`ensemble_mse`).
5. Mirror pairs. For an even target the natural ticket is a mirror pair ``(w, b, v)``,
   ``(−w, b, v)``, whose output ``v[σ(wx + b) + σ(−wx + b)]`` is even in ``x``. For SiLU its
   best fit of ``x²`` (:func:`mirror_pair_mse`) goes to 0 as ``w → 0`` (error ``∝ w⁴``): width is
   not what limits a SiLU net, the optimiser is.
6. Reference measurements (not predictions): the width exponents that float64 numerics of this
   model measured under named training recipes (:data:`REFERENCE_SILU_SLOPE`,
   :data:`REFERENCE_POLISHED_SLOPE`, :data:`REFERENCE_RELU_SLOPE`). A SiLU slope is a property
   of the training budget, so each names its recipe.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import numpy as np
from scipy import linalg, optimize, special

from theory.checks import check_choice, check_int, check_interval

__all__ = [
    "ACTIVATIONS",
    "ENSEMBLE_VARIANCE_EXPONENT",
    "LOTTERY_CLT_EXPONENT",
    "REFERENCE_POLISHED_SLOPE",
    "REFERENCE_RELU_SLOPE",
    "REFERENCE_RELU_SLOPE_CI",
    "REFERENCE_SILU_SLOPE",
    "REFERENCE_SILU_SLOPE_CI",
    "ReluFit",
    "approximation_exponent",
    "ensemble_mse",
    "mirror_pair_mse",
    "piecewise_linear_floor",
    "relu_best_fit",
    "relu_floor",
    "relu_floor_bound",
    "relu_net_mse",
]

LOTTERY_CLT_EXPONENT = 1.0
"""Liu & Tegmark's exponent for SiLU nets: ``MSE ∝ N^(−1)`` (a CLT over ``∝ N`` tickets)."""

ENSEMBLE_VARIANCE_EXPONENT = 1.0
"""The variance part of an explicit average of ``K`` independent nets falls as ``K^(−1)``."""

# --- 6. reference measurements ------------------------------------------------------------------
# Measured once with float64 JAX numerics of this model (x² on [−2, 2], PyTorch-default init,
# full-batch training on a 256-point midpoint grid, test MSE on 20 000 uniform draws, median over
# 32 seeds per width, bootstrap interval over seeds). Simulations set their measurements beside
# these: they are measurements under a named recipe, not laws.
REFERENCE_SILU_SLOPE = 1.14
"""SiLU width exponent over ``N = 4–64`` after Adam, 3000 steps, lr 3e−2 cosine to 1e−5 (median
test MSE 4.6e−4 → 1.1e−5 over ``N = 4…128``); interval :data:`REFERENCE_SILU_SLOPE_CI`. Other
budgets give other slopes (0.33 over 8–128 after 1000 steps)."""

REFERENCE_SILU_SLOPE_CI = (1.04, 1.24)
"""95 % bootstrap interval of :data:`REFERENCE_SILU_SLOPE` (32 seeds)."""

REFERENCE_POLISHED_SLOPE = 1.9
"""SiLU width exponent after the same Adam phase followed by an L-BFGS polish (median MSE 3e−12
at ``N = 64``); the slope keeps steepening with the polish budget, which was not recorded."""

REFERENCE_RELU_SLOPE = 3.1
"""ReLU width exponent over ``N = 4–16`` after Adam, 5000 steps, lr 3e−2 cosine to 1e−5 (bending
to 2.3 over 16–128 as the median drifts above the exact floor); interval
:data:`REFERENCE_RELU_SLOPE_CI`."""

REFERENCE_RELU_SLOPE_CI = (3.0, 3.5)
"""95 % bootstrap interval of :data:`REFERENCE_RELU_SLOPE` (32 seeds)."""

DEFAULT_INTERVAL = (-2.0, 2.0)
DEFAULT_QUADRATIC = (1.0, 0.0, 0.0)

# 3-point Gauss-Legendre on [0, 1]: exact for polynomials of degree <= 5, so for every integral of
# a product of a PL function (degree 1 per piece) with a quadratic, or of its square error.
_GL_X, _GL_W = np.polynomial.legendre.leggauss(3)
_LAM = (_GL_X + 1.0) / 2.0
_WEIGHT = _GL_W / 2.0


def _silu(z):
    return z * special.expit(z)


ACTIVATIONS = {
    "silu": _silu,
    "relu": lambda z: np.maximum(z, 0.0),
    "tanh": np.tanh,
    "sigmoid": special.expit,
    "softplus": lambda z: np.logaddexp(0.0, z),
    "gelu": lambda z: 0.5 * z * (1.0 + special.erf(z / math.sqrt(2.0))),
}
"""numpy versions of the activations the simulator offers (for :func:`mirror_pair_mse`)."""


def _check_quadratic(quadratic) -> tuple[float, float, float]:
    try:
        a, b, c = (float(v) for v in quadratic)
    except (TypeError, ValueError):
        raise ValueError(
            f"quadratic must be the coefficients (a, b, c) of a x² + b x + c, got {quadratic!r}"
        ) from None
    if not all(math.isfinite(v) for v in (a, b, c)):
        raise ValueError(f"quadratic coefficients must be finite, got {quadratic!r}")
    return a, b, c


# --- 1. approximation theory -------------------------------------------------------------------
def approximation_exponent(input_dim: int) -> float:
    """Approximation-theory exponent ``4/d`` of ``MSE ∝ N^(−4/d)``.

    Sharma & Kaplan (arXiv 2004.10802), as used by Liu & Tegmark (arXiv 2310.02258, §2): a
    piecewise-linear approximant with ``N`` pieces of a smooth function on a ``d``-dimensional
    domain has pieces of linear size ``∝ N^(−1/d)``, a pointwise error ``∝ h²`` and a squared
    error ``∝ h⁴ = N^(−4/d)``.

    Args:
        input_dim: the input dimension ``d`` (integer >= 1).

    Returns:
        ``4/d`` as a Python float.
    """
    d = check_int("input_dim", input_dim, 1)
    return 4.0 / d


# --- 2. piecewise-linear floors -----------------------------------------------------------------
def piecewise_linear_floor(pieces, interval=DEFAULT_INTERVAL, curvature: float = 1.0):
    """Best L² error (MSE) of a continuous piecewise-linear fit with ``K`` pieces of a quadratic.

    ``MSE = a² h⁴ / 180`` with ``h = (hi − lo)/K`` and ``a`` the quadratic's leading coefficient
    (``curvature``; ``y = a x² + ...``). The knots are free; the optimum has equal pieces (see
    the module docstring, item 2). For ``x²`` on ``[−2, 2]``: ``1.4222/K⁴``.

    Args:
        pieces: ``K``, integer >= 1, or an integer array (vectorised).
        interval: ``(lo, hi)``.
        curvature: ``a`` (any real; the floor depends on ``a²``).

    Returns:
        float64 scalar or array of the shape of ``pieces``.
    """
    lo, hi = check_interval("interval", interval)
    a = float(curvature)
    if not math.isfinite(a):
        raise ValueError(f"curvature must be finite, got {curvature!r}")
    k = np.asarray(pieces)
    if k.dtype == bool or not np.issubdtype(k.dtype, np.integer):
        raise TypeError(f"pieces must be an integer (or integer array) >= 1, got {pieces!r}")
    if np.any(k < 1):
        raise ValueError(f"pieces must be >= 1, got {pieces!r}")
    h = (hi - lo) / k.astype(np.float64)
    out = a * a * h**4 / 180.0
    return float(out) if out.ndim == 0 else out


def relu_floor_bound(width, interval=DEFAULT_INTERVAL, curvature: float = 1.0):
    """Lower bound on a width-``N`` ReLU net's MSE: the ``N + 1``-piece floor.

    ``a² ((hi − lo)/(N + 1))⁴ / 180`` (``1.4222/(N + 1)⁴`` for ``x²`` on ``[−2, 2]``). A valid
    lower bound for every ``N``; attained only when :func:`relu_floor` says so (even ``N`` for
    ``x²`` on ``[−2, 2]``).

    Args:
        width: ``N``, integer >= 1 or integer array.
        interval, curvature: as in :func:`piecewise_linear_floor`.
    """
    w = np.asarray(width)
    if w.dtype == bool or not np.issubdtype(w.dtype, np.integer):
        raise TypeError(f"width must be an integer (or integer array) >= 1, got {width!r}")
    if np.any(w < 1):
        raise ValueError(f"width must be >= 1, got {width!r}")
    return piecewise_linear_floor(w + 1, interval, curvature)


class ReluFit(NamedTuple):
    """The best width-``N`` ReLU net for a quadratic (see :func:`relu_best_fit`).

    Attributes:
        mse: its MSE over ``U[lo, hi]`` (the exact floor).
        w, b, v: ``(N,)`` float64 weights of ``f(x) = Σ v_i relu(w_i x + b_i) + c`` (``w_i = ±1``:
            the knots are ``−b_i/w_i``; neurons whose knot sits at an end act as linear units).
        c: the output bias (the value on the flat piece).
        knots: ``(N,)`` sorted knot positions in ``[lo, hi]``.
        flat_piece: index (0..N) of the flat piece; ``knots[:flat_piece]`` face left.
        attains_bound: whether ``mse`` equals :func:`relu_floor_bound` (equal ``N + 1`` pieces).
    """

    mse: float
    w: np.ndarray
    b: np.ndarray
    v: np.ndarray
    c: float
    knots: np.ndarray
    flat_piece: int
    attains_bound: bool


def _pl_fit(knots: np.ndarray, flat: int | None, vertex: float):
    """Best continuous PL fit on [0, 1] of ``(u − vertex)²`` with the given interior knots.

    ``flat`` is the index of the piece forced flat (``None``: unconstrained). Returns the MSE, the
    node values (including both ends) and the gradient of the MSE with respect to the knots. The
    gradient uses the envelope theorem (the node values are optimal, the constraint does not move
    with the knots): moving knot ``i`` at fixed node values changes the fit on its two pieces by
    ``−s_{i−1} λ`` and ``−s_i (1 − μ)`` (``s`` = slopes, ``λ, μ`` = relative positions), and the
    moving integration limit contributes nothing because the fit is continuous.
    """
    order = np.argsort(knots)
    t = knots[order]
    nodes = np.concatenate([[0.0], t, [1.0]])
    h = np.diff(nodes)
    n_pieces = h.size
    xs = nodes[:-1, None] + h[:, None] * _LAM[None, :]
    ws = h[:, None] * _WEIGHT[None, :]
    target = (xs - vertex) ** 2
    left, right = 1.0 - _LAM, _LAM  # hat functions of a piece's left and right node
    n = n_pieces + 1
    diag = np.zeros(n)
    diag[:-1] += ws @ (left * left)
    diag[1:] += ws @ (right * right)
    off = ws @ (left * right)
    rhs = np.zeros(n)
    rhs[:-1] += (ws * target) @ left
    rhs[1:] += (ws * target) @ right
    if flat is not None:
        # merge the two nodes of the flat piece into one basis function (still tridiagonal)
        k = flat
        merged = diag[k] + 2.0 * off[k] + diag[k + 1]
        diag = np.delete(diag, k + 1)
        diag[k] = merged
        off = np.delete(off, k)
        rhs_k = rhs[k] + rhs[k + 1]
        rhs = np.delete(rhs, k + 1)
        rhs[k] = rhs_k
    banded = np.zeros((2, diag.size))
    banded[0, 1:] = off
    banded[1] = diag
    try:
        z = linalg.solveh_banded(banded, rhs, check_finite=False)
    except (linalg.LinAlgError, ValueError):
        # coincident knots make the Gram matrix singular: any least-squares solution will do
        gram = np.diag(diag) + np.diag(off, 1) + np.diag(off, -1)
        z = np.linalg.lstsq(gram, rhs, rcond=1e-14)[0]
    y = z if flat is None else np.insert(z, flat + 1, z[flat])
    fit = left[None, :] * y[:-1, None] + right[None, :] * y[1:, None]
    resid = fit - target
    mse = float(np.sum(ws * resid * resid))
    slopes = np.where(h > 1e-300, np.diff(y) / np.where(h > 1e-300, h, 1.0), 0.0)
    a_int = (ws * resid) @ right  # ∫ over piece i−1 of resid · hat_i  (i = 1..n−2)
    b_int = (ws * resid) @ left  # ∫ over piece i of resid · hat_i
    grad_sorted = -2.0 * (slopes[:-1] * a_int[:-1] + slopes[1:] * b_int[1:])
    grad = np.empty_like(grad_sorted)
    grad[order] = grad_sorted
    return mse, nodes, y, grad


def _optimise_flat(width: int, flat: int, vertex: float, start: np.ndarray, scale: float):
    def fun(t):
        mse, _, _, grad = _pl_fit(t, flat, vertex)
        return mse / scale, grad / scale

    res = optimize.minimize(
        fun,
        start,
        jac=True,
        method="L-BFGS-B",
        bounds=[(0.0, 1.0)] * width,
        options={"ftol": 1e-13, "gtol": 1e-9, "maxiter": 5000, "maxcor": 30},
    )
    t = np.sort(np.clip(res.x, 0.0, 1.0))
    mse, _, _, _ = _pl_fit(t, flat, vertex)
    return mse, t


def _candidate_flats(width: int, vertex: float) -> list[int]:
    # the flat piece sits next to the vertex (all patterns were compared for width <= 8)
    if width <= 8:
        return list(range(width + 1))
    k = int(np.floor(vertex * (width + 1)))
    return sorted({min(max(k + j, 0), width) for j in range(-1, 2)})


@functools.lru_cache(maxsize=512)
def _unit_floor(width: int, vertex: float) -> tuple[float, tuple[float, ...], int, bool]:
    """Exact floor on [0, 1] for ``(u − vertex)²``: (mse, knots, flat piece, attains_bound)."""
    n_pieces = width + 1
    bound = 1.0 / (180.0 * n_pieces**4)
    k = vertex * n_pieces - 0.5
    if abs(k - round(k)) < 1e-12 and 0 <= round(k) <= width:
        knots = np.arange(1, n_pieces) / n_pieces
        return bound, tuple(knots), round(k), True
    # width − 1 equal interior knots plus a linear unit (knot at 0): always realisable
    best = (1.0 / (180.0 * width**4), (0.0, *(np.arange(1, width) / width)), 0)
    for flat in _candidate_flats(width, vertex):
        equal = np.arange(1, n_pieces) / n_pieces
        # the same partition shifted so that the flat piece is centred on the vertex
        shifted = np.clip(equal + (vertex - (flat + 0.5) / n_pieces), 0.0, 1.0)
        for start in (equal, shifted):
            mse, t = _optimise_flat(width, flat, vertex, start, bound)
            if mse < best[0]:
                best = (mse, tuple(t), flat)
    return best[0], best[1], best[2], False


def _unit_problem(width, interval, quadratic):
    width = check_int("width", width, 1)
    lo, hi = check_interval("interval", interval)
    a, b, _ = _check_quadratic(quadratic)
    length = hi - lo
    vertex = 0.0 if a == 0.0 else ((-b / (2.0 * a)) - lo) / length
    # reflection u -> 1 − u maps the problem to itself: canonicalise for the cache
    mirrored = vertex > 0.5
    v_canon = round(1.0 - vertex if mirrored else vertex, 14)
    return width, lo, hi, a, length, v_canon, mirrored


def relu_floor(width: int, interval=DEFAULT_INTERVAL, quadratic=DEFAULT_QUADRATIC) -> float:
    """Exact minimum MSE of a width-``N`` ReLU net fitting a quadratic on ``U[lo, hi]``.

    ``min over (w, b, v, c) of E_x (Σ v_i relu(w_i x + b_i) + c − y(x))²`` for
    ``y = a x² + b x + c``. It scales as ``a² (hi − lo)⁴`` and otherwise depends only on where the
    vertex ``−b/(2a)`` sits in the interval. When the vertex is at the centre of a piece of the
    equal ``N + 1``-piece partition (``x²`` on ``[−2, 2]`` with even ``N``) it equals
    :func:`relu_floor_bound`, ``a² h⁴/180``, ``h = (hi − lo)/(N + 1)``; otherwise it is larger
    and computed numerically (module docstring, item 3; cached). Relative accuracy ~1e−10.

    Args:
        width: ``N`` (integer >= 1).
        interval: ``(lo, hi)``, default ``(−2, 2)``.
        quadratic: ``(a, b, c)``, default ``(1, 0, 0)`` i.e. ``x²``.

    Returns:
        The floor as a Python float (0.0 for an affine target).
    """
    width, _, _, a, length, vertex, _ = _unit_problem(width, interval, quadratic)
    if a == 0.0:
        return 0.0
    return a * a * length**4 * _unit_floor(width, vertex)[0]


def relu_best_fit(width: int, interval=DEFAULT_INTERVAL, quadratic=DEFAULT_QUADRATIC) -> ReluFit:
    """The ReLU net that attains :func:`relu_floor`, as explicit weights.

    Knots ``t_1 < ... < t_N``; the first ``flat_piece`` neurons face left
    (``w = −1, b = t_i``), the others right (``w = 1, b = −t_i``); ``v_i`` is the slope change at
    ``t_i`` and ``c`` the value on the flat piece, where every neuron is off.

    Args:
        width, interval, quadratic: as in :func:`relu_floor`.

    Returns:
        :class:`ReluFit` (float64 arrays of shape ``(N,)``).
    """
    width, lo, _, a, length, vertex, mirrored = _unit_problem(width, interval, quadratic)
    if a == 0.0:
        raise ValueError("quadratic must have a != 0 (an affine target is fitted exactly)")
    _, _, c0 = _check_quadratic(quadratic)
    mse_u, knots_u, flat, attains = _unit_floor(width, vertex)
    knots_u = np.asarray(knots_u)
    _, nodes_u, y_u, _ = _pl_fit(knots_u, flat, vertex)
    if mirrored:
        nodes_u = 1.0 - nodes_u[::-1]
        y_u = y_u[::-1]
        flat = width - flat
    # back to x: y(x) = a·L²·(u − vertex)² + (value at the vertex)
    x_nodes = lo + length * nodes_u
    x_vertex = lo + length * (1.0 - vertex if mirrored else vertex)
    offset = c0 - a * x_vertex**2  # y(x) = a (x − x_vertex)² + offset
    y_nodes = a * length**2 * y_u + offset
    knots = x_nodes[1:-1]
    h = np.diff(x_nodes)
    slopes = np.where(h > 0, np.diff(y_nodes) / np.where(h > 0, h, 1.0), 0.0)
    v = slopes[1:] - slopes[:-1]
    left = np.arange(width) < flat
    w = np.where(left, -1.0, 1.0)
    b = np.where(left, knots, -knots)
    c = float(y_nodes[flat])  # left node of the flat piece
    return ReluFit(
        mse=a * a * length**4 * mse_u,
        w=w,
        b=b,
        v=v,
        c=c,
        knots=knots,
        flat_piece=int(flat),
        attains_bound=bool(attains),
    )


def relu_net_mse(w, b, v, c, interval=DEFAULT_INTERVAL, quadratic=DEFAULT_QUADRATIC):
    """Exact MSE over ``U[lo, hi]`` of ReLU nets ``Σ v_i relu(w_i x + b_i) + c`` for a quadratic.

    The net is piecewise linear between its knots ``−b_i/w_i``, so Gauss–Legendre quadrature with
    3 points per piece integrates the squared error exactly (to rounding).

    Args:
        w, b, v: ``(..., N)`` arrays (leading axes batch several nets, e.g. seeds).
        c: ``(...)`` output biases.
        interval, quadratic: as in :func:`relu_floor`.

    Returns:
        ``(...)`` float64 array of MSEs (a float for a single net).
    """
    lo, hi = check_interval("interval", interval)
    qa, qb, qc = _check_quadratic(quadratic)
    w, b, v = (np.asarray(arr, dtype=np.float64) for arr in (w, b, v))
    c = np.asarray(c, dtype=np.float64)
    if w.ndim == 0 or w.shape != b.shape or w.shape != v.shape or c.shape != w.shape[:-1]:
        raise ValueError(
            f"w, b, v must share a shape (..., N) and c have shape (...), got {w.shape}, "
            f"{b.shape}, {v.shape}, {c.shape}"
        )
    batch = w.shape[:-1]
    w2, b2, v2, c2 = (arr.reshape(-1, *arr.shape[len(batch) :]) for arr in (w, b, v, c))
    with np.errstate(divide="ignore", invalid="ignore"):
        knots = np.where(w2 != 0, -b2 / w2, lo)
    nodes = np.sort(
        np.concatenate(
            [np.full((w2.shape[0], 1), lo), np.clip(knots, lo, hi), np.full((w2.shape[0], 1), hi)],
            axis=1,
        ),
        axis=1,
    )
    h = np.diff(nodes, axis=1)
    xs = nodes[:, :-1, None] + h[:, :, None] * _LAM  # (B, P, 3)
    ws = h[:, :, None] * _WEIGHT
    pre = xs[..., None] * w2[:, None, None, :] + b2[:, None, None, :]
    f = np.einsum("bpqn,bn->bpq", np.maximum(pre, 0.0), v2) + c2[:, None, None]
    y = qa * xs**2 + qb * xs + qc
    mse = np.sum(ws * (f - y) ** 2, axis=(1, 2)) / (hi - lo)
    mse = mse.reshape(batch)
    return float(mse) if mse.ndim == 0 else mse


# --- 4. ensembles --------------------------------------------------------------------------------
def ensemble_mse(k, bias_sq, variance):
    """MSE of the average of ``K`` independently trained nets: ``bias² + variance/K``.

    For i.i.d. random functions ``f_1..f_K`` with mean ``f̄`` and pointwise variance ``V(x)``,
    ``E_x E (mean_k f_k − y)² = E_x (f̄ − y)² + E_x V(x)/K`` (the CLT argument of Liu & Tegmark
    §3, exact here because the nets are independent).

    Args:
        k: ``K``, integer >= 1 or integer array.
        bias_sq: ``E_x (f̄ − y)² >= 0``.
        variance: ``E_x V(x) >= 0``.

    Returns:
        float64 scalar or array of the shape of ``k``.
    """
    kk = np.asarray(k)
    if kk.dtype == bool or not np.issubdtype(kk.dtype, np.integer):
        raise TypeError(f"k must be an integer (or integer array) >= 1, got {k!r}")
    if np.any(kk < 1):
        raise ValueError(f"k must be >= 1, got {k!r}")
    for name, val in (("bias_sq", bias_sq), ("variance", variance)):
        if not (math.isfinite(float(val)) and float(val) >= 0.0):
            raise ValueError(f"{name} must be finite and >= 0, got {val!r}")
    out = float(bias_sq) + float(variance) / kk.astype(np.float64)
    return float(out) if out.ndim == 0 else out


# --- 5. mirror pairs -----------------------------------------------------------------------------
def mirror_pair_mse(
    w, b, activation: str = "silu", interval=DEFAULT_INTERVAL, quadratic=DEFAULT_QUADRATIC
):
    """Best MSE of a single mirror pair ``v[σ(wx + b) + σ(−wx + b)] + c`` (optimal ``v, c``).

    The pair's output is even in ``x``; for SiLU its Taylor expansion in ``w x`` is
    ``2 silu(b) + silu''(b) w² x² + silu''''(b) w⁴ x⁴/12 + ...``, so with ``v = 1/(silu''(b) w²)``
    it fits ``x²`` with an error ``∝ w⁴`` (``∝ w⁸`` where ``silu''''(b) = 0``): the infimum over
    the pair is 0 and any finite loss of a trained SiLU net is the optimiser's, not the width's.
    Computed by 64-point Gauss–Legendre quadrature on each piece between the kinks ``±b/w``
    (exact for ReLU), float64.

    Args:
        w, b: broadcastable arrays of the pair's weight and bias.
        activation: a key of :data:`ACTIVATIONS`.
        interval, quadratic: as in :func:`relu_floor`.

    Returns:
        float64 array of the broadcast shape of ``w, b`` (float for scalars).
    """
    check_choice("activation", activation, ACTIVATIONS)
    lo, hi = check_interval("interval", interval)
    qa, qb, qc = _check_quadratic(quadratic)
    w, b = np.broadcast_arrays(np.asarray(w, dtype=np.float64), np.asarray(b, dtype=np.float64))
    if not (np.all(np.isfinite(w)) and np.all(np.isfinite(b))):
        raise ValueError("w and b must be finite")
    # 64-point Gauss-Legendre on each piece between the pair's kinks ±b/w (exact for ReLU,
    # whose pair is piecewise linear; harmless for smooth activations)
    gx, gw = np.polynomial.legendre.leggauss(64)
    with np.errstate(divide="ignore", invalid="ignore"):
        kink = np.where(w != 0, np.abs(b / np.where(w != 0, w, 1.0)), hi - lo)
    ends = np.sort(
        np.stack(
            [
                np.full(w.shape, lo),
                np.clip(-kink, lo, hi),
                np.clip(kink, lo, hi),
                np.full(w.shape, hi),
            ],
            axis=-1,
        ),
        axis=-1,
    )
    half = 0.5 * np.diff(ends, axis=-1)[..., None]  # (..., 3, 1)
    mid = 0.5 * (ends[..., 1:] + ends[..., :-1])[..., None]
    x = (mid + half * gx).reshape(*w.shape, -1)
    q = (half * gw / (hi - lo)).reshape(*w.shape, -1)  # weights of the mean over the interval
    y = qa * x**2 + qb * x + qc
    sigma = ACTIVATIONS[activation]
    g = sigma(w[..., None] * x + b[..., None]) + sigma(-w[..., None] * x + b[..., None])
    # least squares of y on (1, g) under the weights q: residual = y_c − beta g_c (centred)
    g_c = g - np.sum(g * q, axis=-1, keepdims=True)
    y_c = y - np.sum(y * q, axis=-1, keepdims=True)
    var_g = np.sum(g_c * g_c * q, axis=-1)
    cov = np.sum(g_c * y_c * q, axis=-1)
    beta = np.where(var_g > 0, cov / np.where(var_g > 0, var_g, 1.0), 0.0)
    # the residual itself, not var_y − cov²/var_g, which cancels catastrophically near 0
    r = y_c - beta[..., None] * g_c
    mse = np.sum(r * r * q, axis=-1)
    return float(mse) if mse.ndim == 0 else mse
