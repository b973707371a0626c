"""Simulator of random-feature regression: MRS ridge(less), Bahri's regimes, BAP dynamics.

Model and conventions are those of :mod:`theory.random_features` (read its docstring): latent
``x ~ N(0, Λ)``, ``λ_k = k^(−b)`` (``λ₊ = 1``), teacher ``w_k ~ N(0, k^(b−a)/M)`` (target power
``v_k² = k^(−a)/M``; MRS's teacher for ``a = b``), labels ``y = w·x + ε``, ``ε ~ N(0, σ²)``;
``N`` random features, predictor ``f(x) = β·φ(x)/√N``:

* ``linear``: ``φ = F x`` with ``F_jk ~ N(0, 1)`` (the solvable case, exact test loss
  ``(w − F^Tβ/√N)^T Λ (w − F^Tβ/√N) + σ²``);
* ``relu``, ``tanh``: ``φ = σ(F x/√(Σλ))`` (unit-variance pre-activations); their test loss is
  measured on ``n_test`` fresh samples. Nonlinear features extend the power-law spectrum past
  ``M`` (MRS §5).

Three experiments plug into the sweep engine (:mod:`simulations.sweep`), all with the swept,
traced parameters ``b`` and ``a`` (plus ``ridge``, ``noise`` or ``learning_rate``) and the
shape-defining static parameters ``n_latent`` (``M``), ``n_features`` (``N``), ``n_samples``
(``T``; ``math.inf`` = population):

* :func:`build_ridge`: ridge(less) regression on ``T`` samples, solved in closed form in the
  smaller of the ``N×N`` (primal) and ``T×T`` (dual) systems by Cholesky; the ridgeless solution is
  the min-norm limit, reached with a relative jitter (``1e−11`` of the mean eigenvalue in float64),
  far below the smallest non-zero eigenvalue of the sizes used. Outputs ``test_loss``,
  ``train_loss`` and optionally the same seed's ``T = ∞`` and ``N = ∞`` limits (``limits``).
* :func:`build_gradient_descent`: gradient descent on ``½ ×`` training MSE from ``β = 0``, on a
  fixed training set (data reuse) or on the population (``T = ∞``), losses at log-spaced
  checkpoints; ``method="scan"`` runs explicit steps in a ``lax.scan``, ``method="eigen"``
  evaluates the same iteration (or gradient flow, ``flow=1``) exactly in the eigenbasis of the
  realised feature covariance (DESIGN.md "Exact shortcuts").
* :func:`build_spectrum`: the eigenvalues of the (empirical) feature covariance ``E[φφ^T]/N``.

Variance reduction (same means, smaller seed-to-seed spread): linear-feature runs can also
output the test loss averaged exactly over the teacher given the features and data
(``test_loss_avg``; ``teacher_average=1`` for ridge, always for ``method="eigen"``), and the
``N = ∞`` limit comes with a zero-mean control variate that removes the ``O(N^(−1/2))``
fluctuation of ``E(N, T) − E(∞, T)`` (see ``_kernel_limit``). Sweeps over sizes may zero-pad to
one shape (``features_used`` / ``samples_used``, ``pad=``) so that they compile once.

``compare_command`` (``solvable compare random-features``) measures the exponents of THEORY.md §2
and sets them beside the theory evaluated at the same finite sizes; its CSV parameter columns
are ``b, a, n_latent, n_features, n_samples`` (the fixed size of the swept pair is given, the
swept one is written ``swept``), see :func:`compare_command`.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import math
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from simulations import sweep
from theory import random_features as rf_theory

__all__ = [
    "DEFAULT",
    "FEATURES",
    "PARAM_NAMES",
    "QUICK",
    "CompareConfig",
    "build_gradient_descent",
    "build_nested_ridge",
    "build_ridge",
    "build_spectrum",
    "compare_command",
    "log_checkpoints",
    "measure_flow_scaling",
    "measure_scaling_regimes",
    "run_command",
    "simulate_gradient_descent",
    "simulate_nested_ridge",
    "simulate_ridge",
    "simulate_spectrum",
]

FEATURES = ("linear", "relu", "tanh")
"""Feature maps: ``linear`` (solvable), ``relu`` and ``tanh`` (nonlinear)."""

_LIMITS = ("none", "samples", "features", "both")
_METHODS = ("scan", "eigen")
_JITTER = {True: 1e-11, False: 1e-5}
_MEMORY_BUDGET = 1.5e9  # bytes of live arrays per compiled chunk


# --------------------------------------------------------------------------------------------
# validation of static parameters
# --------------------------------------------------------------------------------------------


def _int_size(static: Mapping[str, Any], name: str, minimum: int = 1) -> int:
    if name not in static:
        raise ValueError(f"static parameter {name!r} is required")
    v = static[name]
    if isinstance(v, bool) or not float(v).is_integer() or int(v) < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {v!r}")
    return int(v)


def _samples(static: Mapping[str, Any]) -> float:
    if "n_samples" not in static:
        raise ValueError("static parameter 'n_samples' is required (math.inf = population)")
    v = static["n_samples"]
    if isinstance(v, bool):
        raise ValueError(f"n_samples must be an integer >= 1 or inf, got {v!r}")
    v = float(v)
    if math.isinf(v) and v > 0:
        return math.inf
    if not v.is_integer() or v < 1:
        raise ValueError(f"n_samples must be an integer >= 1 or inf, got {static['n_samples']!r}")
    return v


def _choice(static, name, options, default):
    v = static.get(name, default)
    if v not in options:
        raise ValueError(f"{name} must be one of {options}, got {v!r}")
    return v


def _flag(static, name, default=0) -> bool:
    v = static.get(name, default)
    if v not in (0, 1, True, False):
        raise ValueError(f"{name} must be 0 or 1, got {v!r}")
    return bool(v)


# --------------------------------------------------------------------------------------------
# model pieces (traced)
# --------------------------------------------------------------------------------------------


def _normals(key, shapes: Sequence[tuple[int, ...]], dtype) -> list[jax.Array]:
    """Independent standard normal arrays of the given shapes, from a single draw.

    One ``jax.random.normal`` call instead of one per array: each call site adds its own
    threefry lowering, and compile time (seconds each on CPU) dominates small runs. Drawing the
    data dominates the run time of a ridge solve, so the numbers are drawn in float32 with the
    non-partitionable threefry (3× faster on CPU than partitionable float64) and cast to
    ``dtype``: the float32 rounding of a standard normal (~1e−7 relative) is far below any effect
    measured here, and all arithmetic stays in ``dtype``.
    """
    sizes = [math.prod(s) for s in shapes]
    with jax.threefry_partitionable(False):
        flat = jax.random.normal(key, (sum(sizes),), jnp.float32).astype(dtype)
    out, start = [], 0
    for shape, size in zip(shapes, sizes, strict=True):
        out.append(flat[start : start + size].reshape(shape))
        start += size
    return out


def _latent(g_w, m: int, b, a, dtype):
    """Eigenvalues ``k^(−b)`` and the teacher ``w_k = g_w,k · √(k^(b−a)/M)`` (``(M,)`` each)."""
    k = jnp.arange(1, m + 1, dtype=dtype)
    lam = k ** (-b)
    w = jnp.sqrt(k ** (b - a) / m) * g_w
    return lam, w


def _features(kind: str, x, proj, lam):
    """``φ(x)`` for rows of ``x`` (``(T, M)``) and projection ``proj`` (``(N, M)``)."""
    h = x @ proj.T
    if kind == "linear":
        return h
    h = h / jnp.sqrt(jnp.sum(lam))
    return jnp.maximum(h, 0.0) if kind == "relu" else jnp.tanh(h)


def _ridge_solve(z, y, ridge, jitter: float, active):
    """Min ``‖zβ − y‖² + ridge ‖β‖²`` in the smaller of the primal and dual systems (Cholesky).

    A relative jitter (``jitter`` × the mean of the ``active`` non-zero eigenvalues) keeps the
    system positive definite when the Gram matrix is singular (ridgeless with rank < size, e.g.
    linear features with min(N, T) > M, or zero-padded rows/columns); it selects the min-norm
    solution.
    """
    t, n = z.shape
    if n <= t:
        gram = z.T @ z
        size = n
    else:
        gram = z @ z.T
        size = t
    reg = ridge + jitter * jnp.trace(gram) / active
    chol = jnp.linalg.cholesky(gram + reg * jnp.eye(size, dtype=z.dtype))
    if n <= t:
        return jax.scipy.linalg.cho_solve((chol, True), z.T @ y)
    return z.T @ jax.scipy.linalg.cho_solve((chol, True), y)


def _ridge_teacher_average(z, x, proj, lam, var_w, n_used, t_used, p, jitter):
    """Ridge test loss averaged exactly over the teacher ``w ~ N(0, diag(var_w))``.

    ``β = A y`` with ``A = (Z^T Z + δ)⁻¹ Z^T``, so ``θ = R w + F^T A ε/√N``, ``R = F^T A X/√N`` and
    ``E_w,ε (w − θ)^T Λ (w − θ) = tr ΛD − 2 tr ΛRD + tr R^T Λ R D + σ² ‖Λ^(1/2) F^T A‖²/N``.
    """
    t, n = z.shape
    if n <= t:
        gram = z.T @ z
        size = n
    else:
        gram = z @ z.T
        size = t
    reg = p["ridge"] + jitter * jnp.trace(gram) / jnp.minimum(n_used, t_used)
    chol = jnp.linalg.cholesky(gram + reg * jnp.eye(size, dtype=z.dtype))

    def apply_a(rhs):  # A @ rhs for rhs of shape (T, k)
        if n <= t:
            return jax.scipy.linalg.cho_solve((chol, True), z.T @ rhs)
        return z.T @ jax.scipy.linalg.cho_solve((chol, True), rhs)

    r = proj.T @ apply_a(x) / jnp.sqrt(n_used)  # (M, M)
    fa = proj.T @ apply_a(jnp.eye(t, dtype=z.dtype))  # (M, T)
    return (
        jnp.sum(lam * var_w)
        - 2.0 * jnp.sum(lam * var_w * jnp.diag(r))
        + jnp.sum(lam[:, None] * r * r * var_w[None, :])
        + p["noise"] * jnp.sum(lam[:, None] * fa * fa) / n_used
        + p["noise"]
    )


def _population_projection_loss(lam, w, proj, ridge_over_t, jitter, noise, n_used):
    """Test loss of the ``T = ∞`` ridge solution with the same features and teacher."""
    n = proj.shape[0]
    s = (proj * lam) @ proj.T / n_used
    c = (proj * lam) @ w / jnp.sqrt(n_used)
    reg = ridge_over_t + jitter * jnp.trace(s) / jnp.minimum(n_used, lam.shape[0])
    chol = jnp.linalg.cholesky(s + reg * jnp.eye(n, dtype=s.dtype))
    beta = jax.scipy.linalg.cho_solve((chol, True), c)
    return jnp.sum(lam * w * w) - 2.0 * beta @ c + beta @ (s @ beta) + noise


def _kernel_limit(lam, w, x, y, proj, n_used, ridge, jitter, noise, t_used):
    """The ``N = ∞`` (latent linear kernel) ridge solution on the same data, and a control variate.

    Returns ``(loss_inf, control)``. With ``W = F^T F/N`` the finite-``N`` solution is
    ``θ(W) = W X^T (X W X^T + δ)⁻¹ y`` and ``θ(I)`` is the kernel limit. ``control`` is the
    first-order change of the test loss, ``−2 (w − θ)^T Λ P (W − I) θ`` with
    ``P = I − X^T (X X^T + δ)⁻¹ X``: linear in ``W − I``, whose mean over ``F`` is zero, so
    ``loss_N − loss_inf − control`` has the mean of ``loss_N − loss_inf`` without its
    ``O(N^(−1/2))`` zero-mean fluctuation (the variance-limited signal is only ``O(1/N)``).
    """
    t, m = x.shape
    active = jnp.minimum(t_used, m)
    if t <= m:
        gram = x @ x.T
        reg = ridge + jitter * jnp.trace(gram) / active
        chol = jnp.linalg.cholesky(gram + reg * jnp.eye(t, dtype=x.dtype))
        theta = x.T @ jax.scipy.linalg.cho_solve((chol, True), y)

        def project(u):
            return u - x.T @ jax.scipy.linalg.cho_solve((chol, True), x @ u)

    else:
        gram = x.T @ x
        reg = ridge + jitter * jnp.trace(gram) / active
        chol = jnp.linalg.cholesky(gram + reg * jnp.eye(m, dtype=x.dtype))
        theta = jax.scipy.linalg.cho_solve((chol, True), x.T @ y)

        def project(u):
            return reg * jax.scipy.linalg.cho_solve((chol, True), u)

    d = w - theta
    shift = proj.T @ (proj @ theta) / n_used - theta
    control = -2.0 * (lam * d) @ project(shift)
    return jnp.sum(lam * d * d) + noise, control


def _teacher_averaged_test(phi, e, v, aux, noise, population: bool):
    """Test loss averaged exactly over the teacher ``w`` (given ``F`` and the data), per time.

    With ``β(t) = V φ(t) V^T b̂`` (``φ`` the per-mode filter, ``(n_t, N)``), the learned latent
    weights are ``θ = R w + (noise part)``, ``R = G φ Q/√N``, ``G = F^T V``, ``Q = V^T Z^T X/T``
    (population: ``Q = G^T Λ/√N``). With ``D = E[w w^T] = diag(var_w)``:
    ``E_w (w − θ)^T Λ (w − θ) = tr ΛD − 2 tr ΛRD + tr R^T Λ R D`` plus the label-noise term
    ``σ²/(N T) Σ_i φ_i² e_i (G^TΛG)_ii`` (finite ``T`` only). This removes the teacher's share of
    the seed-to-seed variance (large at early times, when a few modes dominate).
    """
    lam, proj, n_used, var_w = aux["lam"], aux["proj"], aux["n_used"], aux["var_w"]
    g = proj.T @ v  # (M, N)
    p1 = g.T @ (lam[:, None] * g)  # G^T Λ G
    if population:
        q = g.T * lam / jnp.sqrt(n_used)  # (N, M)
    else:
        q = v.T @ aux["zx"]
    p2 = (q * var_w) @ q.T
    p3 = jnp.sum(q * (var_w * lam) * g.T, axis=1)
    loss = (
        jnp.sum(lam * var_w)
        - 2.0 * (phi @ p3) / jnp.sqrt(n_used)
        + jnp.einsum("ti,ij,tj->t", phi, p1 * p2, phi) / n_used
        + noise
    )
    if not population:
        loss = loss + noise * (phi * phi) @ (e * jnp.diag(p1)) / (n_used * aux["t_used"])
    return loss


# --------------------------------------------------------------------------------------------
# experiments
# --------------------------------------------------------------------------------------------


def build_ridge(static: Mapping[str, Any]) -> sweep.Experiment:
    """Ridge(less) regression with random features, for :func:`simulations.sweep.run_sweep`.

    Static parameters:
        n_latent (int ``M``), n_features (int ``N``), n_samples (int ``T``);
        features: ``"linear"`` (default), ``"relu"`` or ``"tanh"``;
        n_test: fresh test samples for nonlinear features (required > 0 for them; ignored for
        linear features, whose test loss is exact);
        limits: ``"none"`` (default), ``"samples"`` (also the ``T = ∞`` loss with the same
        features and teacher), ``"features"`` (also the ``N = ∞`` kernel loss on the same data;
        linear only) or ``"both"``; used to measure variance-limited corrections per seed;
        teacher_average: 1 to also output ``test_loss_avg``, the test loss averaged exactly over
        the teacher given the features and data (linear only; costs ``O(M² N)`` more);
        x64: 1 (default, float64) or 0 (float32).

    Swept (traced) parameters: ``b``, ``a``, ``ridge`` (``δ ≥ 0``), ``noise`` (``σ² ≥ 0``), and
    optionally ``features_used`` (``≤ n_features``) and ``samples_used`` (``≤ n_samples``): the
    run then uses only that many features/samples, the rest zero-padded, so that a sweep over
    sizes compiles once (at the cost of running every size at the padded shape; worth it when
    compilation dominates, as in quick mode).

    Outputs (scalars per run): ``test_loss``, ``train_loss`` and, with limits,
    ``test_loss_inf_samples`` / ``test_loss_inf_features`` plus ``control_inf_features`` (a
    zero-mean control variate: ``test_loss − test_loss_inf_features − control_inf_features``
    estimates the variance-limited excess ``E(N, T) − E(∞, T)`` with far less noise; see
    :func:`_kernel_limit`). ``test_loss − test_loss_inf_samples ≥ 0`` needs no control (the
    ``T = ∞`` solution is the optimum the finite-``T`` one deviates from).
    """
    m = _int_size(static, "n_latent")
    n = _int_size(static, "n_features")
    t_f = _samples(static)
    if math.isinf(t_f):
        raise ValueError("n_samples must be finite for ridge regression (use limits='samples')")
    t = int(t_f)
    kind = _choice(static, "features", FEATURES, "linear")
    limits = _choice(static, "limits", _LIMITS, "none")
    x64 = _flag(static, "x64", 1)
    n_test = int(static.get("n_test", 0))
    if kind != "linear" and n_test < 1:
        raise ValueError(f"n_test must be >= 1 for {kind} features, got {n_test}")
    if kind != "linear" and limits in ("features", "both"):
        raise ValueError(
            "limits='features' (the N = ∞ kernel) is only available for linear features"
        )
    jitter = _JITTER[x64]
    teacher_average = _flag(static, "teacher_average", 0)
    if teacher_average and kind != "linear":
        raise ValueError("teacher_average=1 is only available for linear features")

    def run(key, p):
        dtype = jnp.float64 if x64 else jnp.float32
        shapes = [(m,), (n, m), (t, m), (t,)]
        if kind != "linear":
            shapes += [(n_test, m), (n_test,)]
        g = _normals(key, shapes, dtype)
        lam, w = _latent(g[0], m, p["b"], p["a"], dtype)
        n_used = p.get("features_used", jnp.asarray(n, dtype))
        t_used = p.get("samples_used", jnp.asarray(t, dtype))
        fmask = (jnp.arange(n) < n_used).astype(dtype)
        smask = (jnp.arange(t) < t_used).astype(dtype)
        proj = g[1] * fmask[:, None]
        x = g[2] * jnp.sqrt(lam) * smask[:, None]
        y = (x @ w + jnp.sqrt(p["noise"]) * g[3]) * smask
        z = _features(kind, x, proj, lam) * fmask / jnp.sqrt(n_used)
        beta = _ridge_solve(z, y, p["ridge"], jitter, jnp.minimum(n_used, t_used))
        resid = z @ beta - y
        out = {"train_loss": jnp.sum(resid * resid) / t_used}
        if kind == "linear":
            d = w - proj.T @ beta / jnp.sqrt(n_used)
            out["test_loss"] = jnp.sum(lam * d * d) + p["noise"]
            if teacher_average:
                out["test_loss_avg"] = _ridge_teacher_average(
                    z, x, proj, lam, (w / g[0]) ** 2, n_used, t_used, p, jitter
                )
        else:
            xt = g[4] * jnp.sqrt(lam)
            yt = xt @ w + jnp.sqrt(p["noise"]) * g[5]
            rt = (_features(kind, xt, proj, lam) * fmask) @ beta / jnp.sqrt(n_used) - yt
            out["test_loss"] = jnp.mean(rt * rt)
        if limits in ("samples", "both"):
            out["test_loss_inf_samples"] = _population_projection_loss(
                lam, w, proj, p["ridge"] / t_used, jitter, p["noise"], n_used
            )
        if limits in ("features", "both"):
            out["test_loss_inf_features"], out["control_inf_features"] = _kernel_limit(
                lam, w, x, y, proj, n_used, p["ridge"], jitter, p["noise"], t_used
            )
        return out

    return sweep.Experiment(run=run, x64=x64)


def _parse_sizes(text: str, largest: int) -> tuple[int, ...]:
    try:
        sizes = tuple(int(v) for v in str(text).split(","))
    except ValueError as err:
        raise ValueError(f"nested_sizes must be comma-separated integers, got {text!r}") from err
    if not sizes or sizes[0] < 1 or any(b <= a for a, b in itertools.pairwise(sizes)):
        raise ValueError(f"nested_sizes must be increasing integers >= 1, got {text!r}")
    if sizes[-1] > largest:
        raise ValueError(f"nested_sizes must not exceed {largest}, got {text!r}")
    return sizes


def build_nested_ridge(static: Mapping[str, Any]) -> sweep.Experiment:
    """Ridgeless/ridge regression at several nested sizes per run (linear features).

    One run draws the teacher, ``N`` features and ``T`` samples once and solves the problem for
    each size in ``nested_sizes`` using the first ``n`` features (``nested="features"``) or the
    first ``n`` samples (``nested="samples"``): ``Z = X F^T`` is formed once, every size reuses
    its prefix. The sizes of one seed share their random numbers (common random numbers: the
    seed bootstrap of an exponent keeps that correlation), and a sweep over sizes costs one
    draw and one product instead of one per size — drawing the data dominates these runs.

    Static parameters: n_latent, n_features, n_samples (the largest sizes), nested
    (``"features"`` or ``"samples"``), nested_sizes (comma-separated increasing integers, e.g.
    ``"32,64,128"``), limits (``"none"``, ``"samples"``: the ``T = ∞`` loss of the same
    features, or ``"features"``: the ``N = ∞`` kernel loss of the same data with the control
    variate of :func:`build_ridge`), x64.

    Swept (traced) parameters: ``b``, ``a``, ``ridge``, ``noise``.

    Outputs: ``test_loss``, ``train_loss`` (and the limits) of shape ``(n_sizes,)`` (dimension
    ``size``, coordinate = the sizes).
    """
    m = _int_size(static, "n_latent")
    n = _int_size(static, "n_features")
    t_f = _samples(static)
    if math.isinf(t_f):
        raise ValueError("n_samples must be finite for ridge regression")
    t = int(t_f)
    nested = _choice(static, "nested", ("features", "samples"), "features")
    sizes = _parse_sizes(static.get("nested_sizes", ""), n if nested == "features" else t)
    limits = _choice(static, "limits", ("none", "samples", "features"), "none")
    x64 = _flag(static, "x64", 1)
    jitter = _JITTER[x64]

    def run(key, p):
        dtype = jnp.float64 if x64 else jnp.float32
        g = _normals(key, [(m,), (n, m), (t, m), (t,)], dtype)
        lam, w = _latent(g[0], m, p["b"], p["a"], dtype)
        proj, x = g[1], g[2] * jnp.sqrt(lam)
        y = x @ w + jnp.sqrt(p["noise"]) * g[3]
        z_full = x @ proj.T
        outs: dict[str, list] = {"test_loss": [], "train_loss": []}
        if limits != "none":
            outs[f"test_loss_inf_{limits}"] = []
        if limits == "features":
            outs["control_inf_features"] = []
        for size in sizes:
            nn, tt = (size, t) if nested == "features" else (n, size)
            z = z_full[:tt, :nn] / math.sqrt(nn)
            beta = _ridge_solve(z, y[:tt], p["ridge"], jitter, min(nn, tt))
            resid = z @ beta - y[:tt]
            d = w - proj[:nn].T @ beta / math.sqrt(nn)
            outs["test_loss"].append(jnp.sum(lam * d * d) + p["noise"])
            outs["train_loss"].append(jnp.mean(resid * resid))
            if limits == "samples":
                outs["test_loss_inf_samples"].append(
                    _population_projection_loss(
                        lam, w, proj[:nn], p["ridge"] / tt, jitter, p["noise"], nn
                    )
                )
            elif limits == "features":
                loss_inf, control = _kernel_limit(
                    lam, w, x[:tt], y[:tt], proj[:nn], nn, p["ridge"], jitter, p["noise"], tt
                )
                outs["test_loss_inf_features"].append(loss_inf)
                outs["control_inf_features"].append(control)
        return {k: jnp.stack(v) for k, v in outs.items()}

    names = ("test_loss", "train_loss", "test_loss_inf_samples", "test_loss_inf_features",
             "control_inf_features")  # fmt: skip
    return sweep.Experiment(
        run=run,
        dims={k: ("size",) for k in names},
        coords={"size": np.asarray(sizes)},
        x64=x64,
    )


def simulate_nested_ridge(
    n_latent: int,
    sizes: Sequence[int],
    fixed: int,
    *,
    nested: str,
    b: float,
    a: float,
    ridge: float = 0.0,
    noise: float = 0.0,
    seeds: int = 8,
    limits: str = "none",
    x64: bool = True,
    store: str | Path | None = None,
    name: str = "rf-nested",
    progress: bool = False,
) -> dict[str, np.ndarray]:
    """Loss vs ``N`` (``nested="features"``, ``T = fixed``) or vs ``T`` (``"samples"``, ``N =
    fixed``) with nested sizes per seed (:func:`build_nested_ridge`): one compilation, one data
    draw per seed.

    Returns:
        ``{output: (seeds, len(sizes))}`` (diverged runs NaN) and ``sizes``.
    """
    sizes = sorted(int(v) for v in sizes)
    if ridge < 0:
        raise ValueError(f"ridge must be >= 0, got {ridge}")
    if noise < 0:
        raise ValueError(f"noise must be >= 0, got {noise}")
    if nested not in ("features", "samples"):
        raise ValueError(f"nested must be 'features' or 'samples', got {nested!r}")
    n, t = (sizes[-1], int(fixed)) if nested == "features" else (int(fixed), sizes[-1])
    grid = sweep.Grid.product(
        static=dict(n_latent=[int(n_latent)], n_features=[n], n_samples=[t], nested=[nested],
                    nested_sizes=[",".join(map(str, sizes))], limits=[limits],
                    x64=[int(bool(x64))]),
        swept=dict(b=[float(b)], a=[float(a)], ridge=[float(ridge)], noise=[float(noise)]),
        seeds=seeds,
    )  # fmt: skip
    per_run = _bytes_per_run(n_latent, n, t)
    res = sweep.run_sweep(
        build_nested_ridge,
        grid,
        name=name,
        store=_store(store, name),
        chunk_size=_chunk(seeds, per_run),
        progress=progress,
    )
    ds = sweep.mask_diverged(res.groups[0])
    out = {
        k: ds[k].values[0] for k in ds.data_vars if k not in ("finite", "complete")
    }  # (seeds, sizes)
    out["sizes"] = np.asarray(sizes)
    return out


def log_checkpoints(max_steps: int, n: int) -> tuple[int, ...]:
    """``n`` (or fewer, after de-duplication) log-spaced integer steps from 1 to ``max_steps``."""
    if int(max_steps) != max_steps or max_steps < 1:
        raise ValueError(f"max_steps must be an integer >= 1, got {max_steps!r}")
    if int(n) != n or n < 1:
        raise ValueError(f"n must be an integer >= 1, got {n!r}")
    steps = np.unique(np.round(np.logspace(0, math.log10(max_steps), int(n))).astype(np.int64))
    return tuple(int(s) for s in steps)


def build_gradient_descent(static: Mapping[str, Any]) -> sweep.Experiment:
    """Gradient descent (or flow) with linear random features, for the sweep engine.

    Static parameters:
        n_latent, n_features (ints), n_samples (int ``T`` or ``math.inf`` for the population);
        max_steps, n_checkpoints: losses are recorded at ``log_checkpoints(max_steps,
        n_checkpoints)`` (log-spaced integer steps from 1; default 40 checkpoints);
        method: ``"eigen"`` (default; exact in the eigenbasis of the realised feature covariance)
        or ``"scan"`` (explicit steps ``β ← β − η(Ŝβ − b̂)`` in a ``lax.scan``);
        flow: 1 for gradient flow at times ``η × checkpoints`` (``"eigen"`` only), 0 (default)
        for gradient descent with step ``η``;
        x64: 1 (default) or 0.

    Swept (traced) parameters: ``b``, ``a``, ``noise``, ``learning_rate`` (``η``), and optionally
    ``features_used`` / ``samples_used`` (zero-padding, as in :func:`build_ridge`).

    Outputs: ``test_loss`` and ``train_loss`` of shape ``(n_checkpoints,)`` (dimension
    ``checkpoint``, coordinate = step counts); for the population the train loss is the
    population objective, i.e. equal to the test loss. ``method="eigen"`` also outputs
    ``test_loss_avg``, the test loss averaged exactly over the teacher given the features and
    data (same mean, much smaller seed-to-seed variance at early times).
    """
    m = _int_size(static, "n_latent")
    n = _int_size(static, "n_features")
    t = _samples(static)
    method = _choice(static, "method", _METHODS, "eigen")
    flow = _flag(static, "flow", 0)
    x64 = _flag(static, "x64", 1)
    ckpt = log_checkpoints(_int_size(static, "max_steps"), static.get("n_checkpoints", 40))
    if flow and method != "eigen":
        raise ValueError("flow=1 requires method='eigen'")
    population = math.isinf(t)
    steps = np.asarray(ckpt, dtype=np.int64)

    def setup(key, p, dtype):
        shapes = [(m,), (n, m)] + ([] if population else [(int(t), m), (int(t),)])
        g = _normals(key, shapes, dtype)
        lam, w = _latent(g[0], m, p["b"], p["a"], dtype)
        n_used = p.get("features_used", jnp.asarray(n, dtype))
        proj = g[1] * (jnp.arange(n) < n_used).astype(dtype)[:, None]
        s_pop = (proj * lam) @ proj.T / n_used
        c_pop = (proj * lam) @ w / jnp.sqrt(n_used)
        signal = jnp.sum(lam * w * w)
        aux = dict(lam=lam, proj=proj, n_used=n_used, var_w=(w / g[0]) ** 2)
        if population:
            return s_pop, c_pop, signal + p["noise"], s_pop, c_pop, signal, aux
        t_used = p.get("samples_used", jnp.asarray(t, dtype))
        smask = (jnp.arange(int(t)) < t_used).astype(dtype)
        x = g[2] * jnp.sqrt(lam) * smask[:, None]
        y = (x @ w + jnp.sqrt(p["noise"]) * g[3]) * smask
        z = x @ proj.T / jnp.sqrt(n_used)
        aux.update(zx=z.T @ x / t_used, t_used=t_used)
        mat, vec, y2 = z.T @ z / t_used, z.T @ y / t_used, jnp.sum(y * y) / t_used
        return mat, vec, y2, s_pop, c_pop, signal, aux

    def losses(beta, mat, vec, y2, s_pop, c_pop, signal, noise):
        train = beta @ (mat @ beta) - 2.0 * beta @ vec + y2
        test = beta @ (s_pop @ beta) - 2.0 * beta @ c_pop + signal + noise
        return test, train

    def run_scan(key, p):
        dtype = jnp.float64 if x64 else jnp.float32
        mat, vec, y2, s_pop, c_pop, signal, _ = setup(key, p, dtype)
        eta = p["learning_rate"]
        incr = np.diff(np.concatenate([[0], steps]))

        def step(_, beta):
            return beta - eta * (mat @ beta - vec)

        # One fixed-length loop per checkpoint interval (static trip counts, unrolled in Python):
        # a loop with a traced trip count fails to batch under the engine's sharded vmap in
        # jax 0.12 ("Resource axis: batch ... not found in mesh").
        beta = 0.0 * vec  # batched (zeros_like would be an unbatched constant)
        test, train = [], []
        for k in incr:
            beta = jax.lax.fori_loop(0, int(k), step, beta)
            te, tr = losses(beta, mat, vec, y2, s_pop, c_pop, signal, p["noise"])
            test.append(te)
            train.append(tr)
        test, train = jnp.stack(test), jnp.stack(train)
        return {"test_loss": test, "train_loss": train}

    def run_eigen(key, p):
        dtype = jnp.float64 if x64 else jnp.float32
        mat, vec, y2, s_pop, c_pop, signal, aux = setup(key, p, dtype)
        e, v = jnp.linalg.eigh(mat)
        e = jnp.maximum(e, 0.0)
        u = v.T @ vec
        k = jnp.asarray(steps, dtype)[:, None]
        eta = p["learning_rate"]
        safe = jnp.where(e > 0, e, 1.0)
        if flow:
            tt = eta * k
            phi = jnp.where(e > 0, -jnp.expm1(-tt * e) / safe, tt)
        else:
            phi = jnp.where(e > 0, (1.0 - (1.0 - eta * e) ** k) / safe, eta * k)
        alpha = phi * u  # (n_ckpt, N): beta in the eigenbasis
        train = jnp.sum(alpha * alpha * e, axis=1) - 2.0 * alpha @ u + y2
        if population:
            test = train
        else:
            b_pop = v.T @ s_pop @ v
            test = (
                jnp.einsum("ti,ij,tj->t", alpha, b_pop, alpha)
                - 2.0 * alpha @ (v.T @ c_pop)
                + signal
                + p["noise"]
            )
        return {
            "test_loss": test,
            "train_loss": train,
            "test_loss_avg": _teacher_averaged_test(phi, e, v, aux, p["noise"], population),
        }

    return sweep.Experiment(
        run=run_eigen if method == "eigen" else run_scan,
        dims={k: ("checkpoint",) for k in ("test_loss", "train_loss", "test_loss_avg")},
        coords={"checkpoint": steps},
        x64=x64,
    )


def build_spectrum(static: Mapping[str, Any]) -> sweep.Experiment:
    """Eigenvalues of the feature covariance ``E[φφ^T]/N``, for the sweep engine.

    Static parameters: n_latent, n_features, n_samples (``math.inf``: the exact covariance,
    linear features only; else the empirical covariance of ``n_samples`` samples), features,
    x64. Swept: ``b``, ``a`` (``a`` is unused but kept for a uniform grid).

    Output: ``eigenvalues`` of shape ``(n_features,)`` (dimension ``mode``), descending. The
    linear features' covariance ``FΛF^T/N`` has rank ``min(N, M)``: its spectrum ends at ``M``;
    nonlinear features continue the power law past ``M``.
    """
    m = _int_size(static, "n_latent")
    n = _int_size(static, "n_features")
    t = _samples(static)
    kind = _choice(static, "features", FEATURES, "linear")
    x64 = _flag(static, "x64", 1)
    if math.isinf(t) and kind != "linear":
        raise ValueError(
            "the exact covariance (n_samples=inf) is only available for linear features"
        )

    def run(key, p):
        dtype = jnp.float64 if x64 else jnp.float32
        g = _normals(key, [(m,), (n, m)] + ([] if math.isinf(t) else [(int(t), m)]), dtype)
        lam, _ = _latent(g[0], m, p["b"], p["a"], dtype)
        proj = g[1]
        if math.isinf(t):
            cov = (proj * lam) @ proj.T / n
        else:
            x = g[2] * jnp.sqrt(lam)
            phi = _features(kind, x, proj, lam)
            cov = phi.T @ phi / (t * n)
        return {"eigenvalues": jnp.linalg.eigvalsh(cov)[::-1]}

    return sweep.Experiment(
        run=run, dims={"eigenvalues": ("mode",)}, coords={"mode": np.arange(1, n + 1)}, x64=x64
    )


# --------------------------------------------------------------------------------------------
# convenience drivers (numpy arrays out)
# --------------------------------------------------------------------------------------------


def _bytes_per_run(m: int, n: int, t: float, n_test: int = 0, itemsize: int = 8) -> float:
    tt = 0 if math.isinf(t) else int(t)
    small = min(n, tt) if tt else n
    live = tt * m + n * m + tt * n + 2 * small * small + n * n + n_test * (m + n)
    return 3.0 * itemsize * live  # temporaries of matmuls and Cholesky


def _chunk(rows: int, per_run: float, budget: float = _MEMORY_BUDGET) -> int:
    return int(max(1, min(rows, budget // max(per_run, 1.0))))


def _store(store, name):
    return None if store is None else str(Path(store) / name)


def simulate_ridge(
    n_latent: int,
    n_features: Sequence[int],
    n_samples: Sequence[int],
    *,
    b: float,
    a: float,
    ridge: Sequence[float] | float = 0.0,
    noise: float = 0.0,
    features: str = "linear",
    seeds: int = 8,
    limits: str = "none",
    n_test: int = 0,
    pad: bool | str = False,
    teacher_average: bool = False,
    x64: bool = True,
    store: str | Path | None = None,
    name: str = "rf-ridge",
    progress: bool = False,
) -> dict[str, np.ndarray]:
    """Ridge sweep over the outer product ``n_features × n_samples × ridge`` (× seeds).

    Runs :func:`build_ridge` through :func:`simulations.sweep.run_sweep`: one compilation per
    ``(N, T)``, or fewer with zero-padding: ``pad=True`` pads both sizes to their largest value
    (one compilation), ``pad="features"`` (``"samples"``) only ``N`` (``T``), so the other size
    keeps its true cost. The ridges and seeds are batched with ``jit(vmap)`` in chunks sized to
    stay under ~1.5 GB. With ``store``, results go to ``store/name`` and a rerun resumes.

    Returns:
        ``{output: array (len(n_features), len(n_samples), len(ridge), seeds)}`` (diverged runs
        NaN), plus the coordinates ``n_features``, ``n_samples``, ``ridge``.
    """
    ridges = np.atleast_1d(np.asarray(ridge, dtype=np.float64))
    if (ridges < 0).any():
        raise ValueError(f"ridge must be >= 0, got {ridges.tolist()}")
    if noise < 0:
        raise ValueError(f"noise must be >= 0, got {noise}")
    nf = [int(v) for v in np.atleast_1d(n_features)]
    ns = [int(v) for v in np.atleast_1d(n_samples)]
    for name_, vals in (("n_features", nf), ("n_samples", ns)):
        if min(vals) < 1:
            raise ValueError(f"{name_} must be >= 1, got {vals}")
    common = {
        "n_latent": [int(n_latent)],
        "features": [features],
        "limits": [limits],
        "n_test": [int(n_test)],
        "teacher_average": [int(bool(teacher_average))],
        "x64": [int(bool(x64))],
    }
    if pad not in (True, False, "features", "samples"):
        raise ValueError(f"pad must be True, False, 'features' or 'samples', got {pad!r}")
    pad_n = pad is True or pad == "features"
    pad_t = pad is True or pad == "samples"
    swept: dict[str, Any] = {"b": [float(b)], "a": [float(a)]}
    static = dict(common)
    static["n_features"] = [max(nf)] if pad_n else nf
    static["n_samples"] = [max(ns)] if pad_t else ns
    if pad_n:
        swept["features_used"] = [float(v) for v in nf]
    if pad_t:
        swept["samples_used"] = [float(v) for v in ns]
    per_run = max(
        _bytes_per_run(n_latent, n, t, n_test) for n in static["n_features"]
        for t in static["n_samples"]
    )  # fmt: skip
    swept.update(ridge=ridges.tolist(), noise=[float(noise)])
    grid = sweep.Grid.product(static=static, swept=swept, seeds=seeds)
    res = sweep.run_sweep(
        build_ridge,
        grid,
        name=name,
        store=_store(store, name),
        chunk_size=_chunk(grid.n_points * seeds, per_run),
        progress=progress,
    )
    shape = (len(nf), len(ns), len(ridges), seeds)
    out: dict[str, np.ndarray] = {}
    for ds in res.groups:
        ds = sweep.mask_diverged(ds)
        for var in ds.data_vars:
            if var in ("finite", "complete"):
                continue
            if var not in out:
                out[var] = np.full(shape, np.nan)
            # point order of Grid.product: features_used, samples_used, ridge (last fastest)
            vals = ds[var].values.reshape(
                len(nf) if pad_n else 1, len(ns) if pad_t else 1, len(ridges), seeds
            )
            i = slice(None) if pad_n else nf.index(int(ds.attrs["static.n_features"]))
            j = slice(None) if pad_t else ns.index(int(ds.attrs["static.n_samples"]))
            if pad_n and pad_t:
                out[var][...] = vals
            elif pad_n:
                out[var][:, j] = vals[:, 0]
            elif pad_t:
                out[var][i, :] = vals[0]
            else:
                out[var][i, j] = vals[0, 0]
    out.update(n_features=np.array(nf), n_samples=np.array(ns, dtype=float), ridge=ridges)
    return out


def simulate_gradient_descent(
    n_latent: int,
    n_features: Sequence[int],
    n_samples: float,
    max_steps: int,
    *,
    b: float,
    a: float,
    n_checkpoints: int = 40,
    learning_rate: float = 0.2,
    noise: float = 0.0,
    seeds: int = 8,
    method: str = "eigen",
    flow: bool = False,
    pad: bool = False,
    x64: bool = True,
    store: str | Path | None = None,
    name: str = "rf-gd",
    progress: bool = False,
) -> dict[str, np.ndarray]:
    """Gradient descent/flow curves for each ``N`` in ``n_features`` (``T = n_samples``).

    Losses are recorded at ``log_checkpoints(max_steps, n_checkpoints)``; see
    :func:`build_gradient_descent` for the methods. Gradient descent needs
    ``learning_rate < 2/e_max`` (``e_max`` the top eigenvalue of the feature covariance, about
    ``λ₁ (1 + √(N/T))² + Σλ/N``); for gradient flow (``flow=True``) it only sets the time unit.
    ``pad=True`` compiles once for all ``N`` (zero-padding to the largest).

    Returns:
        ``{"test_loss", "train_loss": (len(n_features), seeds, n_checkpoints)}`` (and
        ``"test_loss_avg"``, the teacher-averaged test loss, for ``method="eigen"``), plus
        ``times = learning_rate × checkpoints`` and ``n_features``.
    """
    if learning_rate <= 0:
        raise ValueError(f"learning_rate must be > 0, got {learning_rate}")
    nf = [int(v) for v in np.atleast_1d(n_features)]
    ckpt = log_checkpoints(max_steps, n_checkpoints)
    common = {
        "n_latent": [int(n_latent)],
        "n_samples": [float(n_samples)],
        "max_steps": [int(max_steps)],
        "n_checkpoints": [int(n_checkpoints)],
        "method": [method],
        "flow": [int(bool(flow))],
        "x64": [int(bool(x64))],
    }
    swept: dict[str, Any] = {"b": [float(b)], "a": [float(a)], "noise": [float(noise)],
                             "learning_rate": [float(learning_rate)]}  # fmt: skip
    if pad:
        static = {**common, "n_features": [max(nf)]}
        swept["features_used"] = [float(v) for v in nf]
        per_run = _bytes_per_run(n_latent, max(nf), n_samples) + 16.0 * max(nf) ** 2
    else:
        static = {**common, "n_features": nf}
        per_run = max(_bytes_per_run(n_latent, n, n_samples) + 16.0 * n * n for n in nf)
    grid = sweep.Grid.product(static=static, swept=swept, seeds=seeds)
    res = sweep.run_sweep(
        build_gradient_descent,
        grid,
        name=name,
        store=_store(store, name),
        chunk_size=_chunk(grid.n_points * seeds, per_run),
        progress=progress,
    )
    names = ("test_loss", "train_loss") + (("test_loss_avg",) if method == "eigen" else ())
    out = {k: np.full((len(nf), seeds, len(ckpt)), np.nan) for k in names}
    for ds in res.groups:
        ds = sweep.mask_diverged(ds)
        for k in out:
            if pad:
                out[k][...] = ds[k].values
            else:
                out[k][nf.index(int(ds.attrs["static.n_features"]))] = ds[k].values[0]
    out["times"] = learning_rate * np.asarray(ckpt, dtype=np.float64)
    out["n_features"] = np.array(nf)
    return out


def simulate_spectrum(
    n_latent: int,
    n_features: int,
    n_samples: float,
    *,
    b: float,
    features: str = "linear",
    seeds: int = 1,
    x64: bool = True,
    name: str = "rf-spectrum",
) -> np.ndarray:
    """Eigenvalues of the feature covariance, ``(seeds, n_features)``, descending."""
    grid = sweep.Grid.product(
        static={
            "n_latent": [int(n_latent)],
            "n_features": [int(n_features)],
            "n_samples": [float(n_samples)],
            "features": [features],
            "x64": [int(bool(x64))],
        },
        swept={"b": [float(b)], "a": [float(b)]},
        seeds=seeds,
    )
    res = sweep.run_sweep(build_spectrum, grid, name=name, chunk_size=1, progress=False)
    return res.groups[0]["eigenvalues"].values[0]


# --------------------------------------------------------------------------------------------
# solvable compare random-features
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class CompareConfig:
    """Sizes of ``solvable compare random-features``.

    Attributes:
        settings: ``(b, a)`` pairs (MRS: ``a = b = 1 + α``).
        n_latent: ``M`` of the ridge sweeps.
        big: the fixed large resource of the resolution-limited sweeps (``T`` when ``N`` is
            swept and vice versa).
        res_sizes: swept resource of the resolution-limited sweeps.
        var_latent: ``M`` of the variance-limited sweeps (they need no large ``M``).
        var_small: the fixed small resource of the variance-limited sweeps.
        var_sizes: swept resource of the variance-limited sweeps (``≥ 8 × var_small``).
        var_seeds: seeds of the variance-limited sweeps (their signal is a small difference).
        seeds: seeds per resolution-limited configuration.
        gf_latent: ``M`` of the gradient-flow sweep (population, ``T = ∞``).
        gf_sizes: ``N`` of the gradient-flow sweep (compute-optimal frontier).
        gf_max_time: last time of the flow curves (``t = 1 … gf_max_time``, log-spaced).
        gf_checkpoints: number of times per curve.
        gf_window: fit window in ``t`` for ``e_t`` (on the curve of the largest ``N``), chosen
            so that ``t^(1/b) ≪ N`` and ``t ≫ 1``.
        gf_seeds: seeds per ``N``.
        pad: compile the flow sweep once by zero-padding ``N`` (quick mode: compilation
            dominates); the ridge sweeps always use nested sizes (one compilation each).
        n_boot: bootstrap replicates.
    """

    settings: tuple[tuple[float, float], ...]
    n_latent: int
    big: int
    res_sizes: tuple[int, ...]
    var_latent: int
    var_small: int
    var_sizes: tuple[int, ...]
    var_seeds: int
    seeds: int
    gf_latent: int
    gf_sizes: tuple[int, ...]
    gf_max_time: int
    gf_checkpoints: int
    gf_window: tuple[float, float]
    gf_seeds: int
    pad: bool
    n_boot: int = 1000


def _geom(lo: int, hi: int, ratio: float = math.sqrt(2.0)) -> tuple[int, ...]:
    n = round(math.log(hi / lo) / math.log(ratio)) + 1
    return tuple(round(lo * ratio**i) for i in range(n))


QUICK = CompareConfig(
    settings=((2.0, 2.0),),
    n_latent=512,
    big=1024,
    res_sizes=(16, 32, 64, 128),
    var_latent=256,
    var_small=16,
    var_sizes=(128, 256, 512, 1024),
    var_seeds=32,
    seeds=8,
    gf_latent=1024,
    gf_sizes=(16, 32, 64, 128, 256),
    gf_max_time=1_000_000,
    gf_checkpoints=40,
    gf_window=(3.0, 300.0),
    gf_seeds=8,
    pad=True,
    n_boot=400,
)
"""Quick mode: one setting (MRS α = 1), small sizes (well under a minute on 2 cores)."""

DEFAULT = CompareConfig(
    settings=((2.0, 2.0), (1.5, 1.5)),
    n_latent=4096,
    big=4096,
    res_sizes=_geom(32, 512),
    var_latent=1024,
    var_small=32,
    var_sizes=_geom(256, 4096, 2.0),
    var_seeds=64,
    seeds=16,
    gf_latent=4096,
    gf_sizes=_geom(16, 1024),
    gf_max_time=10_000_000,
    gf_checkpoints=60,
    gf_window=(10.0, 10_000.0),
    gf_seeds=8,
    pad=False,
)
"""Default: MRS α = 1 and α = 0.5 at M = 4096 (≈ 5 minutes on 2 idle cores)."""

PARAM_NAMES = ("b", "a", "n_latent", "n_features", "n_samples")
"""Parameter columns of ``comparison.csv`` (the swept resource is written ``swept``)."""


def _bootstrap_mean_power_law(x, ys, *, n_boot: int, seed: int = 0):
    """Power-law exponent of the seed mean of *signed* per-seed values, seed-bootstrap interval.

    :func:`simulations.fit.bootstrap_power_law` drops non-positive values seed by seed, which
    biases a mean whose per-seed terms fluctuate around a small positive value (the
    variance-limited excess ``E(N, T) − E(∞, T)``); here the mean is taken first, then fitted.
    Replicates whose mean is not positive everywhere are skipped (counted in ``method``).
    """
    from simulations import fit

    x = np.asarray(x, dtype=np.float64)
    point = fit.fit_power_law(x, np.nanmean(ys, axis=0))
    rng = np.random.default_rng(seed)
    n_seeds = ys.shape[0]
    means = np.nanmean(ys[rng.integers(0, n_seeds, size=(n_boot, n_seeds))], axis=1)
    ok = (means > 0).all(axis=1)
    lx = np.log(x) - np.log(x).mean()
    slopes = (np.log(means[ok]) @ lx) / (lx @ lx)
    lo, hi = np.percentile(-slopes, [2.5, 97.5]) if ok.sum() > 1 else (np.nan, np.nan)
    return dataclasses.replace(
        point,
        ci_low=float(lo),
        ci_high=float(hi),
        n_boot=int(ok.sum()),
        method=f"bootstrap-seeds(mean of signed values, {n_boot - ok.sum()} skipped), percentile",
    )


def _theory_fit(x, y, window=None):
    from simulations import fit

    return fit.fit_power_law(np.asarray(x, float), np.asarray(y, float), window=window).exponent


def measure_scaling_regimes(
    cfg: CompareConfig, b: float, a: float, store: Path | None = None, curves: dict | None = None
) -> list:
    """Bahri et al.'s four regimes at one ``(b, a)``: four comparison rows.

    Resolution-limited ``e_N`` (``N < T = cfg.big``) and ``e_T`` (``T < N = cfg.big``), and the
    variance-limited exponents in ``T`` (``T ≫ N = cfg.var_small``) and ``N``
    (``N ≫ T = cfg.var_small``), each measured (seed bootstrap) and predicted by the theory at
    the same sizes. If ``curves`` is given it receives, per ``(tag, quantity)``, the swept sizes
    ``x``, per-seed values ``sim`` (seeds × sizes), the ``theory`` values and the ``fit``.
    """
    curves = {} if curves is None else curves
    from simulations import compare, fit

    m = cfg.n_latent
    lam = rf_theory.latent_spectrum(m, b)
    v2 = rf_theory.target_power(m, a)
    ex = rf_theory.exponents(b, a)
    tag = f"b{b:g}-a{a:g}"
    res = np.asarray(cfg.res_sizes)
    var = np.asarray(cfg.var_sizes)
    rows = []

    def row(phase, quantity, nf, ns, x, ys, theory, asymptote, note, signed=False, m=m):
        if signed:
            fitted = _bootstrap_mean_power_law(x, ys, n_boot=cfg.n_boot)
        else:
            fitted = fit.bootstrap_power_law(x, ys, n_boot=cfg.n_boot, seed=0)
        predicted = _theory_fit(x, theory)
        curves[(tag, quantity)] = dict(x=x, sim=ys, theory=np.asarray(theory), fit=fitted)
        return compare.ComparisonRow.from_fit(
            dict(b=b, a=a, n_latent=m, n_features=nf, n_samples=ns),
            phase,
            quantity,
            predicted,
            fitted,
            asymptote=f"{asymptote:.4g}",
            seeds=str(ys.shape[0]),
            note=note,
        )

    # resolution-limited in N (N < T = big) and in T (T < N = big); nested sizes per seed
    common = dict(b=b, a=a, seeds=cfg.seeds, store=store)
    r = simulate_nested_ridge(m, res, cfg.big, nested="features", name=f"res-N-{tag}", **common)
    th = [rf_theory.ridge_loss(lam, v2, n, cfg.big) for n in res]
    note = "ridgeless; predicted = theory at the same N, T, M"
    rows.append(row("resolution-limited (N < T)", "e_N", "swept", cfg.big, res, r["test_loss"],
                    th, ex["e_N"], note))  # fmt: skip
    r = simulate_nested_ridge(m, res, cfg.big, nested="samples", name=f"res-T-{tag}", **common)
    th = [rf_theory.ridge_loss(lam, v2, cfg.big, t) for t in res]
    rows.append(row("resolution-limited (T < N)", "e_T", cfg.big, "swept", res, r["test_loss"],
                    th, ex["e_P"], "ridgeless; asymptote e_P = min(a-1, 2b)"))  # fmt: skip
    # variance-limited: loss minus the same seed's limit of the unlimited resource
    mv = cfg.var_latent
    lam_v = rf_theory.latent_spectrum(mv, b)
    v2_v = rf_theory.target_power(mv, a)
    common_v = {**common, "seeds": cfg.var_seeds}
    r = simulate_nested_ridge(mv, var, cfg.var_small, nested="samples", limits="samples",
                              name=f"var-T-{tag}", **common_v)  # fmt: skip
    ys = r["test_loss"] - r["test_loss_inf_samples"]
    lim = rf_theory.ridge_loss(lam_v, v2_v, cfg.var_small, math.inf)
    th = [rf_theory.ridge_loss(lam_v, v2_v, cfg.var_small, t) - lim for t in var]
    note = "E(N,T) - E(N,inf) per seed (same features)"
    rows.append(row("variance-limited (T >> N)", "variance exponent in T", cfg.var_small, "swept",
                    var, ys, th, 1.0, note, m=mv))  # fmt: skip
    r = simulate_nested_ridge(mv, var, cfg.var_small, nested="features", limits="features",
                              name=f"var-N-{tag}", **common_v)  # fmt: skip
    ys = r["test_loss"] - r["test_loss_inf_features"] - r["control_inf_features"]
    lim = rf_theory.ridge_loss(lam_v, v2_v, math.inf, cfg.var_small)
    th = [rf_theory.ridge_loss(lam_v, v2_v, n, cfg.var_small) - lim for n in var]
    note = "E(N,T) - E(inf,T) per seed (same data), minus a zero-mean control variate"
    rows.append(row("variance-limited (N >> T)", "variance exponent in N", "swept", cfg.var_small,
                    var, ys, th, 1.0, note, signed=True, m=mv))  # fmt: skip
    return rows


def measure_flow_scaling(
    cfg: CompareConfig, b: float, a: float, store: Path | None = None, curves: dict | None = None
) -> list:
    """``e_t`` and the compute-optimal exponents of population gradient flow: four rows.

    Flow curves (teacher-averaged, ``cfg.gf_seeds`` seeds) at each ``N`` of ``cfg.gf_sizes``
    beside :func:`theory.random_features.gradient_flow_loss` at the same sizes and times; ``e_t``
    is fitted on the largest ``N`` over ``cfg.gf_window``, the frontier over ``C = N t``. If
    ``curves`` is given it receives the curves (``(tag, "e_t")``) and frontiers
    (``(tag, "frontier")``).
    """
    curves = {} if curves is None else curves
    from simulations import compare, fit

    m = cfg.gf_latent
    lam = rf_theory.latent_spectrum(m, b)
    v2 = rf_theory.target_power(m, a)
    ex = rf_theory.exponents(b, a)
    tag = f"b{b:g}-a{a:g}"
    sizes = np.asarray(cfg.gf_sizes)
    g = simulate_gradient_descent(
        m, sizes, math.inf, cfg.gf_max_time, b=b, a=a, n_checkpoints=cfg.gf_checkpoints,
        learning_rate=1.0, seeds=cfg.gf_seeds, method="eigen", flow=True, pad=cfg.pad,
        store=store, name=f"flow-{tag}",
    )  # fmt: skip
    times = g["times"]
    # teacher-averaged curves: exact mean over w given F (see _teacher_averaged_test)
    losses = np.transpose(g["test_loss_avg"], (1, 0, 2))  # (seeds, sizes, times)
    theory = np.stack(
        [rf_theory.gradient_flow_loss(lam, v2, int(n), math.inf, times).test for n in sizes]
    )
    params = dict(b=b, a=a, n_latent=m)
    rows = []
    fitted = fit.bootstrap_power_law(
        times, losses[:, -1, :], window=cfg.gf_window, n_boot=cfg.n_boot, seed=0
    )
    curves[(tag, "e_t")] = dict(x=times, sim=losses, theory=theory, fit=fitted, sizes=sizes)
    rows.append(
        compare.ComparisonRow.from_fit(
            {**params, "n_features": int(sizes[-1]), "n_samples": "inf"},
            "gradient flow (T = inf, t^(1/b) << N)",
            "e_t",
            _theory_fit(times, theory[-1], cfg.gf_window),
            fitted,
            asymptote=f"{ex['e_t']:.4g}",
            seeds=str(losses.shape[0]),
            note="predicted = BAP theory at the same N, M, window",
        )
    )
    compute = sizes[:, None] * times[None, :]
    size_fit, loss_fit = fit.bootstrap_frontier(
        sizes, compute, losses, n_boot=min(cfg.n_boot, 200), seed=0
    )
    th_front = fit.compute_optimal_frontier(sizes, compute, theory)
    th_size, th_loss = fit.fit_frontier(th_front)
    curves[(tag, "frontier")] = dict(
        sizes=sizes, compute=compute, sim=losses, theory=theory, size_fit=size_fit,
        loss_fit=loss_fit, theory_frontier=th_front,
    )  # fmt: skip
    front_params = {**params, "n_features": "swept", "n_samples": "inf"}
    window = f"{size_fit.window[0]:.3g}:{size_fit.window[1]:.3g}"
    note = "C = N t; frontier over interior budgets; predicted = BAP theory, same sizes"
    for quantity, pred, meas, lo, hi, asym in (
        ("compute_N", th_size.exponent, size_fit.exponent, size_fit.ci_low, size_fit.ci_high,
         ex["compute_N"]),
        ("compute_t", 1 - th_size.exponent, 1 - size_fit.exponent, 1 - size_fit.ci_high,
         1 - size_fit.ci_low, ex["compute_t"]),
        ("compute_loss", -th_loss.exponent, -loss_fit.exponent, -loss_fit.ci_high,
         -loss_fit.ci_low, ex["compute_loss"]),
    ):  # fmt: skip
        rows.append(
            compare.ComparisonRow(
                params=front_params,
                phase="compute-optimal (T = inf)",
                quantity=quantity,
                predicted=pred,
                measured=meas,
                ci_low=lo,
                ci_high=hi,
                extras=dict(
                    window=window, asymptote=f"{asym:.4g}", seeds=str(losses.shape[0]), note=note
                ),
            )
        )
    return rows


def _compare_figure(curves: dict, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter

    keys = [k for k in curves if k[1] not in ("e_t", "frontier")]
    tags = sorted({k[0] for k in curves})
    short = {"variance exponent in T": "variance-limited in T",
             "variance exponent in N": "variance-limited in N"}  # fmt: skip
    n_cols = 4
    fig, axes = plt.subplots(
        len(tags), n_cols + 2, figsize=(3.3 * (n_cols + 2), 3.2 * len(tags)), squeeze=False
    )
    for i, tag in enumerate(tags):
        row_keys = [k for k in keys if k[0] == tag]
        for j, key in enumerate(row_keys[:n_cols]):
            c, ax = curves[key], axes[i, j]
            mean = np.nanmean(c["sim"], axis=0)
            err = np.nanstd(c["sim"], axis=0) / math.sqrt(c["sim"].shape[0])
            ax.errorbar(c["x"], mean, 2 * err, fmt="o", ms=3, label="simulation (± 2 s.e.)")
            ax.plot(c["x"], c["theory"], "-", label="theory (same sizes)")
            ax.set(xscale="log", yscale="log", xlabel="swept size")
            ax.set_title(f"{tag}: {short.get(key[1], key[1])}", fontsize=9)
            ax.text(0.05, 0.05, f"fit {c['fit'].exponent:.3f}", transform=ax.transAxes)
        ax = axes[i, n_cols]
        c = curves[(tag, "e_t")]
        for s in range(len(c["sizes"])):
            line = ax.plot(c["x"], np.nanmean(c["sim"][:, s], axis=0), "o", ms=2)[0]
            ax.plot(c["x"], c["theory"][s], "-", color=line.get_color(), lw=0.8)
        ax.set(xscale="log", yscale="log", xlabel="t")
        sizes = c["sizes"]
        ax.set_title(f"{tag}: flow, N = {sizes[0]}..{sizes[-1]}", fontsize=9)
        ax = axes[i, n_cols + 1]
        c = curves[(tag, "frontier")]
        for s in range(len(c["sizes"])):
            ax.plot(c["compute"][s], np.nanmean(c["sim"][:, s], axis=0), lw=0.8, color="0.6")
        fr = c["theory_frontier"]
        ok = fr.interior
        ax.plot(fr.budgets[ok], fr.optimal_loss[ok], "k-", lw=2, label="theory frontier")
        ax.set(xscale="log", yscale="log", xlabel="C = N t")
        ax.set_title(f"{tag}: compute-optimal frontier", fontsize=9)
        ax.legend(fontsize=7)
    for ax in axes.flat:
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.yaxis.set_minor_formatter(NullFormatter())
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def compare_command(out_dir: Path, quick: bool) -> list:
    """``solvable compare random-features``: measured vs predicted exponents (THEORY.md §2).

    For each ``(b, a)`` setting (quick: MRS α = 1; default: α = 1 and α = 0.5) it measures, with
    seed-bootstrap intervals, and sets beside the theory evaluated at the *same finite sizes*
    (the asymptotic exponent is the ``asymptote`` column):

    * ``e_N`` (ridgeless, ``N < T``) and ``e_T`` (``T < N``): resolution-limited, both sides of
      ``N = T``; theory :func:`theory.random_features.ridge_loss`;
    * the variance-limited exponents in ``T`` (``T ≫ N``) and in ``N`` (``N ≫ T``) of the loss
      minus the same seed's limit of the unlimited resource (asymptote 1);
    * ``e_t`` of population gradient flow, and the compute-optimal exponents ``compute_N``,
      ``compute_t``, ``compute_loss`` (``C = N t``, signed powers of ``C``) from the IsoFLOP
      frontier of flow curves at several ``N``; theory
      :func:`theory.random_features.gradient_flow_loss`.

    Writes ``out_dir/comparison.csv`` (parameter columns ``b, a, n_latent, n_features,
    n_samples``, the swept one written ``swept``; extras ``window, asymptote, seeds, note``),
    ``out_dir/random_features_compare.png``; sweeps are stored under ``out_dir/sweep`` (a rerun
    resumes). Prints the table and returns the rows.
    """
    from simulations import compare

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    cfg = QUICK if quick else DEFAULT
    store = out_dir / "sweep"
    t0 = time.perf_counter()
    rows, curves = [], {}
    for b, a in cfg.settings:
        rows += measure_scaling_regimes(cfg, b, a, store, curves)
        rows += measure_flow_scaling(cfg, b, a, store, curves)
    compare.write_comparison_csv(rows, out_dir / "comparison.csv", PARAM_NAMES)
    _compare_figure(curves, out_dir / "random_features_compare.png")
    print(compare.format_comparison_table(rows, PARAM_NAMES))
    print(f"[random-features] {len(rows)} comparisons in {time.perf_counter() - t0:.1f} s; "
          f"wrote {out_dir / 'comparison.csv'}")  # fmt: skip
    return rows


def run_command(argv: list[str]) -> int:
    """``solvable run random-features [options]``: one ridge configuration, simulation vs theory.

    Prints the mean test and train loss over seeds (± standard error) of ridge regression with
    the chosen features beside the deterministic equivalent (linear features).
    """
    p = argparse.ArgumentParser(
        prog="solvable run random-features", description=run_command.__doc__
    )
    p.add_argument("--b", type=float, default=2.0, help="capacity exponent b > 1 (MRS: 1 + alpha)")
    p.add_argument("--a", type=float, default=None, help="source exponent a > 1 (default: b)")
    p.add_argument("--n-latent", type=int, default=1024, help="latent dimension M")
    p.add_argument("--n-features", type=int, default=128, help="random features N")
    p.add_argument("--n-samples", type=int, default=256, help="training samples T")
    p.add_argument("--ridge", type=float, default=0.0, help="ridge delta >= 0 (kernel scale)")
    p.add_argument("--noise", type=float, default=0.0, help="label-noise variance")
    p.add_argument("--features", choices=FEATURES, default="linear")
    p.add_argument("--n-test", type=int, default=4096, help="test samples (nonlinear features)")
    p.add_argument("--seeds", type=int, default=16)
    args = p.parse_args(argv)
    a = args.b if args.a is None else args.a
    rf_theory.exponents(args.b, a)  # validates b, a
    t0 = time.perf_counter()
    r = simulate_ridge(
        args.n_latent, [args.n_features], [args.n_samples], b=args.b, a=a, ridge=args.ridge,
        noise=args.noise, features=args.features, seeds=args.seeds, n_test=args.n_test,
    )  # fmt: skip
    test = r["test_loss"][0, 0, 0]
    train = r["train_loss"][0, 0, 0]
    se = math.sqrt(args.seeds)
    print(
        f"random features: M={args.n_latent} N={args.n_features} T={args.n_samples} b={args.b:g}"
        f" a={a:g} ridge={args.ridge:g} noise={args.noise:g} {args.features}"
    )
    print(f"  simulated test  {np.nanmean(test):.6g} ± {np.nanstd(test) / se:.2g}")
    print(f"  simulated train {np.nanmean(train):.6g} ± {np.nanstd(train) / se:.2g}")
    if args.features == "linear":
        sol = rf_theory.ridge_solution(
            rf_theory.latent_spectrum(args.n_latent, args.b),
            rf_theory.target_power(args.n_latent, a),
            args.n_features, args.n_samples, args.ridge, args.noise,
        )  # fmt: skip
        print(f"  theory    test  {sol.test_loss:.6g}   train {sol.train_loss:.6g}")
    print(f"  ({args.seeds} seeds, {time.perf_counter() - t0:.1f} s)")
    return 0
