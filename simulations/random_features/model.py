"""Random-feature regression in pure JAX: draws, feature maps, exact solves and one-run functions.

Model and conventions are those of :mod:`theory.random_features` (read its docstring): latent
``x ~ N(0, Λ)``, ``λ_k = k^(−b)`` (``λ₊ = 1``), teacher ``w_k ~ N(0, k^(b−a)/M)`` (target power
``v_k² = k^(−a)/M``; MRS's teacher for ``a = b``), labels ``y = w·x + ε``, ``ε ~ N(0, σ²)``;
``N`` random features, predictor ``f(x) = β·φ(x)/√N``:

* ``linear``: ``φ = F x`` with ``F_jk ~ N(0, 1)`` (the solvable case, exact test loss
  ``(w − F^Tβ/√N)^T Λ (w − F^Tβ/√N) + σ²``);
* ``relu``, ``tanh``: ``φ = σ(F x/√(Σλ))`` (unit-variance pre-activations); their test loss is
  measured on ``n_test`` fresh samples. Nonlinear features extend the power-law spectrum past
  ``M`` (MRS §5).

The one-run functions (:func:`ridge_run`, :func:`nested_ridge_run`, :func:`descent_scan_run`,
:func:`descent_eigen_run`, :func:`spectrum_run`) have the sweep engine's signature
``run(key, params, **static)``: ``params`` maps the swept names (``b``, ``a``, ``ridge``,
``noise``, ``learning_rate``, and optionally ``features_used`` / ``samples_used`` for zero-padded
sizes) to scalars; the keyword arguments fix shapes. :mod:`simulations.random_features.experiment`
validates the static parameters and binds them. The exact gradient-flow path and the latent
spectrum come from :mod:`theory.random_features` (one copy, shared with the theory).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from theory import random_features as rf_theory

__all__ = [
    "FEATURES",
    "JITTER",
    "DescentProblem",
    "descent_eigen_run",
    "descent_problem",
    "descent_scan_run",
    "feature_map",
    "kernel_limit",
    "latent",
    "nested_ridge_run",
    "normals",
    "population_projection_loss",
    "ridge_run",
    "ridge_solve",
    "ridge_teacher_average",
    "spectrum_run",
    "teacher_averaged_test",
]

FEATURES = ("linear", "relu", "tanh")
"""Feature maps: ``linear`` (solvable), ``relu`` and ``tanh`` (nonlinear)."""

JITTER = {True: 1e-11, False: 1e-5}
"""Relative jitter of the ridgeless solves, by ``x64`` (see :func:`ridge_solve`)."""


def _dtype(x64: bool):
    return jnp.float64 if x64 else jnp.float32


# --------------------------------------------------------------------------------------------
# draws and features
# --------------------------------------------------------------------------------------------


def normals(key, shapes: Sequence[tuple[int, ...]], dtype) -> list[jax.Array]:
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


def latent(g_w, m: int, b, a, dtype):
    """Eigenvalues ``k^(−b)`` and the teacher ``w_k = g_w,k · √(k^(b−a)/M)`` (``(M,)`` each)."""
    k = jnp.arange(1, m + 1, dtype=dtype)
    lam, var_w = rf_theory.power_law_latent(k, b, a, m)
    return lam, jnp.sqrt(var_w) * g_w


def feature_map(kind: str, x, proj, lam):
    """``φ(x)`` for rows of ``x`` (``(T, M)``) and projection ``proj`` (``(N, M)``)."""
    h = x @ proj.T
    if kind == "linear":
        return h
    h = h / jnp.sqrt(jnp.sum(lam))
    return jnp.maximum(h, 0.0) if kind == "relu" else jnp.tanh(h)


# --------------------------------------------------------------------------------------------
# exact solves and per-realisation losses
# --------------------------------------------------------------------------------------------


def _cholesky_gram(z, ridge, jitter: float, active):
    """Cholesky factor of the smaller Gram matrix plus the (jittered) ridge; ``True`` if primal."""
    t, n = z.shape
    primal = n <= t
    gram = z.T @ z if primal else z @ z.T
    reg = ridge + jitter * jnp.trace(gram) / active
    chol = jnp.linalg.cholesky(gram + reg * jnp.eye(n if primal else t, dtype=z.dtype))
    return chol, primal


def ridge_solve(z, y, ridge, jitter: float, active):
    """Min ``‖zβ − y‖² + ridge ‖β‖²`` in the smaller of the primal and dual systems (Cholesky).

    A relative jitter (``jitter`` × the mean of the ``active`` non-zero eigenvalues) keeps the
    system positive definite when the Gram matrix is singular (ridgeless with rank < size, e.g.
    linear features with min(N, T) > M, or zero-padded rows/columns); it selects the min-norm
    solution.
    """
    chol, primal = _cholesky_gram(z, ridge, jitter, active)
    if primal:
        return jax.scipy.linalg.cho_solve((chol, True), z.T @ y)
    return z.T @ jax.scipy.linalg.cho_solve((chol, True), y)


def ridge_teacher_average(z, x, proj, lam, var_w, n_used, t_used, p, jitter):
    """Ridge test loss averaged exactly over the teacher ``w ~ N(0, diag(var_w))``.

    ``β = A y`` with ``A = (Z^T Z + δ)⁻¹ Z^T``, so ``θ = R w + F^T A ε/√N``, ``R = F^T A X/√N`` and
    ``E_w,ε (w − θ)^T Λ (w − θ) = tr ΛD − 2 tr ΛRD + tr R^T Λ R D + σ² ‖Λ^(1/2) F^T A‖²/N``.
    """
    t = z.shape[0]
    chol, primal = _cholesky_gram(z, p["ridge"], jitter, jnp.minimum(n_used, t_used))

    def apply_a(rhs):  # A @ rhs for rhs of shape (T, k)
        if primal:
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


def population_projection_loss(lam, w, proj, ridge_over_t, jitter, noise, n_used):
    """Test loss of the ``T = ∞`` ridge solution with the same features and teacher."""
    n = proj.shape[0]
    s = (proj * lam) @ proj.T / n_used
    c = (proj * lam) @ w / jnp.sqrt(n_used)
    reg = ridge_over_t + jitter * jnp.trace(s) / jnp.minimum(n_used, lam.shape[0])
    chol = jnp.linalg.cholesky(s + reg * jnp.eye(n, dtype=s.dtype))
    beta = jax.scipy.linalg.cho_solve((chol, True), c)
    return jnp.sum(lam * w * w) - 2.0 * beta @ c + beta @ (s @ beta) + noise


def kernel_limit(lam, w, x, y, proj, n_used, ridge, jitter, noise, t_used):
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


def teacher_averaged_test(phi, e, v, aux, noise, population: bool):
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
# one-run functions
# --------------------------------------------------------------------------------------------


def ridge_run(
    key,
    p: Mapping[str, jax.Array],
    *,
    n_latent: int,
    n_features: int,
    n_samples: int,
    features: str = "linear",
    limits: str = "none",
    n_test: int = 0,
    teacher_average: bool = False,
    x64: bool = True,
) -> dict[str, jax.Array]:
    """One ridge(less) regression: draw, solve, losses (see ``experiment.build_ridge``)."""
    m, n, t, kind = n_latent, n_features, n_samples, features
    jitter = JITTER[x64]
    dtype = _dtype(x64)
    shapes = [(m,), (n, m), (t, m), (t,)]
    if kind != "linear":
        shapes += [(n_test, m), (n_test,)]
    g = normals(key, shapes, dtype)
    lam, w = latent(g[0], m, p["b"], p["a"], dtype)
    n_used = p.get("features_used", jnp.asarray(n, dtype))
    t_used = p.get("samples_used", jnp.asarray(t, dtype))
    fmask = (jnp.arange(n) < n_used).astype(dtype)
    smask = (jnp.arange(t) < t_used).astype(dtype)
    proj = g[1] * fmask[:, None]
    x = g[2] * jnp.sqrt(lam) * smask[:, None]
    y = (x @ w + jnp.sqrt(p["noise"]) * g[3]) * smask
    z = feature_map(kind, x, proj, lam) * fmask / jnp.sqrt(n_used)
    beta = ridge_solve(z, y, p["ridge"], jitter, jnp.minimum(n_used, t_used))
    resid = z @ beta - y
    out = {"train_loss": jnp.sum(resid * resid) / t_used}
    if kind == "linear":
        d = w - proj.T @ beta / jnp.sqrt(n_used)
        out["test_loss"] = jnp.sum(lam * d * d) + p["noise"]
        if teacher_average:
            out["test_loss_avg"] = ridge_teacher_average(
                z, x, proj, lam, (w / g[0]) ** 2, n_used, t_used, p, jitter
            )
    else:
        xt = g[4] * jnp.sqrt(lam)
        yt = xt @ w + jnp.sqrt(p["noise"]) * g[5]
        rt = (feature_map(kind, xt, proj, lam) * fmask) @ beta / jnp.sqrt(n_used) - yt
        out["test_loss"] = jnp.mean(rt * rt)
    if limits in ("samples", "both"):
        out["test_loss_inf_samples"] = population_projection_loss(
            lam, w, proj, p["ridge"] / t_used, jitter, p["noise"], n_used
        )
    if limits in ("features", "both"):
        out["test_loss_inf_features"], out["control_inf_features"] = kernel_limit(
            lam, w, x, y, proj, n_used, p["ridge"], jitter, p["noise"], t_used
        )
    return out


def nested_ridge_run(
    key,
    p: Mapping[str, jax.Array],
    *,
    n_latent: int,
    n_features: int,
    n_samples: int,
    nested: str,
    sizes: tuple[int, ...],
    limits: str = "none",
    x64: bool = True,
) -> dict[str, jax.Array]:
    """Ridge(less) solves at nested sizes of one draw (see ``experiment.build_nested_ridge``)."""
    m, n, t = n_latent, n_features, n_samples
    jitter = JITTER[x64]
    dtype = _dtype(x64)
    g = normals(key, [(m,), (n, m), (t, m), (t,)], dtype)
    lam, w = latent(g[0], m, p["b"], p["a"], dtype)
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
        beta = ridge_solve(z, y[:tt], p["ridge"], jitter, min(nn, tt))
        resid = z @ beta - y[:tt]
        d = w - proj[:nn].T @ beta / math.sqrt(nn)
        outs["test_loss"].append(jnp.sum(lam * d * d) + p["noise"])
        outs["train_loss"].append(jnp.mean(resid * resid))
        if limits == "samples":
            outs["test_loss_inf_samples"].append(
                population_projection_loss(
                    lam, w, proj[:nn], p["ridge"] / tt, jitter, p["noise"], nn
                )
            )
        elif limits == "features":
            loss_inf, control = kernel_limit(
                lam, w, x[:tt], y[:tt], proj[:nn], nn, p["ridge"], jitter, p["noise"], tt
            )
            outs["test_loss_inf_features"].append(loss_inf)
            outs["control_inf_features"].append(control)
    return {k: jnp.stack(v) for k, v in outs.items()}


class DescentProblem(NamedTuple):
    """The quadratic training problem of one realisation (gradient descent/flow from ``β = 0``).

    Attributes:
        mat, vec, y2: training ``Ŝ`` ``(N, N)``, ``b̂`` ``(N,)``, mean squared label (population:
            ``S``, ``c``, ``signal + σ²``).
        s_pop, c_pop, signal: population ``S = FΛF^T/N``, ``c = FΛw/√N``, ``w^TΛw``.
        aux: what :func:`teacher_averaged_test` needs (``lam``, ``proj``, ``n_used``, ``var_w``,
            and for finite ``T`` ``zx = Z^T X/T``, ``t_used``).
    """

    mat: jax.Array
    vec: jax.Array
    y2: jax.Array
    s_pop: jax.Array
    c_pop: jax.Array
    signal: jax.Array
    aux: dict


def descent_problem(
    key, p: Mapping[str, jax.Array], *, n_latent: int, n_features: int, n_samples: float, dtype
) -> DescentProblem:
    """Draw one realisation and form its quadratic problem (``n_samples = inf``: population)."""
    m, n, t = n_latent, n_features, n_samples
    population = math.isinf(t)
    shapes = [(m,), (n, m)] + ([] if population else [(int(t), m), (int(t),)])
    g = normals(key, shapes, dtype)
    lam, w = latent(g[0], m, p["b"], p["a"], dtype)
    n_used = p.get("features_used", jnp.asarray(n, dtype))
    proj = g[1] * (jnp.arange(n) < n_used).astype(dtype)[:, None]
    s_pop = (proj * lam) @ proj.T / n_used
    c_pop = (proj * lam) @ w / jnp.sqrt(n_used)
    signal = jnp.sum(lam * w * w)
    aux = dict(lam=lam, proj=proj, n_used=n_used, var_w=(w / g[0]) ** 2)
    if population:
        return DescentProblem(s_pop, c_pop, signal + p["noise"], s_pop, c_pop, signal, aux)
    t_used = p.get("samples_used", jnp.asarray(t, dtype))
    smask = (jnp.arange(int(t)) < t_used).astype(dtype)
    x = g[2] * jnp.sqrt(lam) * smask[:, None]
    y = (x @ w + jnp.sqrt(p["noise"]) * g[3]) * smask
    z = x @ proj.T / jnp.sqrt(n_used)
    aux.update(zx=z.T @ x / t_used, t_used=t_used)
    mat, vec, y2 = z.T @ z / t_used, z.T @ y / t_used, jnp.sum(y * y) / t_used
    return DescentProblem(mat, vec, y2, s_pop, c_pop, signal, aux)


def descent_scan_run(
    key,
    p: Mapping[str, jax.Array],
    *,
    n_latent: int,
    n_features: int,
    n_samples: float,
    steps: tuple[int, ...],
    x64: bool = True,
) -> dict[str, jax.Array]:
    """Explicit gradient-descent steps ``β ← β − η(Ŝβ − b̂)``, losses at ``steps``."""
    pr = descent_problem(
        key, p, n_latent=n_latent, n_features=n_features, n_samples=n_samples, dtype=_dtype(x64)
    )
    eta = p["learning_rate"]
    incr = np.diff(np.concatenate([[0], np.asarray(steps)]))

    def step(_, beta):
        return beta - eta * (pr.mat @ beta - pr.vec)

    # One fixed-length loop per checkpoint interval (static trip counts, unrolled in Python):
    # a loop with a traced trip count fails to batch under the engine's sharded vmap in
    # jax 0.12 ("Resource axis: batch ... not found in mesh").
    beta = 0.0 * pr.vec  # batched (zeros_like would be an unbatched constant)
    test, train = [], []
    for k in incr:
        beta = jax.lax.fori_loop(0, int(k), step, beta)
        train.append(beta @ (pr.mat @ beta) - 2.0 * beta @ pr.vec + pr.y2)
        test.append(beta @ (pr.s_pop @ beta) - 2.0 * beta @ pr.c_pop + pr.signal + p["noise"])
    return {"test_loss": jnp.stack(test), "train_loss": jnp.stack(train)}


def descent_eigen_run(
    key,
    p: Mapping[str, jax.Array],
    *,
    n_latent: int,
    n_features: int,
    n_samples: float,
    steps: tuple[int, ...],
    flow: bool = False,
    x64: bool = True,
) -> dict[str, jax.Array]:
    """Gradient descent (or flow at ``t = η × steps``) evaluated exactly in the eigenbasis.

    The curves are :func:`theory.random_features.eigenbasis_curves` on this realisation (the
    same code as the theory's :func:`~theory.random_features.realised_loss_curve`), plus the
    teacher-averaged test loss :func:`teacher_averaged_test`.
    """
    dtype = _dtype(x64)
    population = math.isinf(n_samples)
    pr = descent_problem(
        key, p, n_latent=n_latent, n_features=n_features, n_samples=n_samples, dtype=dtype
    )
    k = jnp.asarray(steps, dtype)
    eta = p["learning_rate"]
    timing = dict(times=eta * k) if flow else dict(steps=k, learning_rate=eta)
    c = rf_theory.eigenbasis_curves(
        pr.mat,
        pr.vec,
        pr.y2,
        pr.s_pop,
        pr.c_pop,
        pr.signal,
        p["noise"],
        population=population,
        **timing,
    )
    avg = teacher_averaged_test(
        c.filter, c.eigenvalues, c.eigenvectors, pr.aux, p["noise"], population
    )
    return {"test_loss": c.test, "train_loss": c.train, "test_loss_avg": avg}


def spectrum_run(
    key,
    p: Mapping[str, jax.Array],
    *,
    n_latent: int,
    n_features: int,
    n_samples: float,
    features: str = "linear",
    x64: bool = True,
) -> dict[str, jax.Array]:
    """Eigenvalues (descending) of the feature covariance ``E[φφ^T]/N`` of one draw."""
    m, n, t = n_latent, n_features, n_samples
    dtype = _dtype(x64)
    g = normals(key, [(m,), (n, m)] + ([] if math.isinf(t) else [(int(t), m)]), dtype)
    lam, _ = latent(g[0], m, p["b"], p["a"], dtype)
    proj = g[1]
    if math.isinf(t):
        cov = (proj * lam) @ proj.T / n
    else:
        x = g[2] * jnp.sqrt(lam)
        phi = feature_map(features, x, proj, lam)
        cov = phi.T @ phi / (t * n)
    return {"eigenvalues": jnp.linalg.eigvalsh(cov)[::-1]}
