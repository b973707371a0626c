"""Gradient flow of linear random features: BAP's large-size theory and exact realised curves.

Private sibling of :mod:`theory.random_features`, which re-exports every public name here and
states the model and symbols. Two kinds of curve:

* :func:`gradient_flow_loss`: Bordelon, Atanasov & Pehlevan's (arXiv 2402.01092) large-size
  theory of the expected test and train loss of gradient flow at finite ``N`` and ``T``;
* :func:`realised_loss_curve`: the exact curve of one realised model (given ``F``, ``w`` and the
  training set), evaluated by :func:`eigenbasis_curves` in the eigenbasis of the (empirical)
  feature covariance. :func:`eigenbasis_curves`, :func:`flow_filter` and
  :func:`descent_filter` work on numpy arrays and, unchanged, on ``jax.numpy`` arrays under
  ``jit``/``vmap``: the simulator (:mod:`simulations.random_features.model`) calls the same code.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np
from scipy import optimize

from theory._rf_spectrum import check_spectrum, inverse_df
from theory.checks import check_float, check_int, check_size

__all__ = [
    "EigenbasisCurves",
    "GradientFlowCurves",
    "descent_filter",
    "eigenbasis_curves",
    "flow_filter",
    "gradient_flow_loss",
    "realised_loss_curve",
]


class GradientFlowCurves(NamedTuple):
    """Loss curves of gradient flow. Attributes: ``times``, ``test``, ``train`` (``(n_t,)``)."""

    times: np.ndarray
    test: np.ndarray
    train: np.ndarray


# Weideman & Trefethen (2007, Math. Comp. 76, "Parabolic and hyperbolic contours for computing
# the Bromwich integral"), optimised cotangent ("Talbot") contour s(θ) = (n/t) c(θ), θ ∈ (−π, π).
_WT = (-0.6122, 0.5017, 0.6407, 0.2645)


def _wt_contour(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Upper-half nodes of the contour for ``t = 1``: ``c(θ)``, ``c'(θ)``, trapezoid weight."""
    c0, c1, c2, c3 = _WT
    h = 2.0 * math.pi / n
    th = (np.arange(n // 2) + 0.5) * h
    c = n * (c0 + c1 * th / np.tan(c2 * th) + 1j * c3 * th)
    dc = n * (c1 / np.tan(c2 * th) - c1 * c2 * th / np.sin(c2 * th) ** 2 + 1j * c3)
    return th, c, dc * h / (2j * math.pi)


class _Spectral:
    """One-point functions of the latent spectrum at (complex) renormalised ridge ``g``.

    ``g = g_lo + u`` with ``z(g_lo) = min(N, T)`` (``g_lo = 0`` if ``min(N, T) ≥ M``); the gap
    ``u`` is the unknown, because at long times ``u ≪ g_lo`` and the binding deficit
    ``1 − z/min(N, T) = u Σ λ/((λ+g)(λ+g_lo)) / min(N, T)`` must not be computed as a
    difference of nearly equal numbers.
    """

    def __init__(self, lam, n, t):
        self.lam = lam
        self.n, self.t = n, t
        m = lam.size
        self.n_min = min(n, t)
        self.g_lo = inverse_df(lam, self.n_min) if self.n_min < m else 0.0

    def deficits(self, u):
        """``g``, ``1 − z/N``, ``1 − z/T``, ``z`` and ``dz/dg`` at gap ``u`` (any shape)."""
        lam = self.lam
        g = self.g_lo + u
        inv = 1.0 / (lam + g[..., None])
        r = lam * inv
        z = r.sum(-1)
        dz = -(r * inv).sum(-1)
        if self.g_lo > 0.0:
            short = u * (r @ (1.0 / (lam + self.g_lo))) / self.n_min
        else:
            short = None

        def deficit(size):
            if math.isinf(size):
                return np.ones_like(z)
            if short is not None and size == self.n_min:
                return short
            return 1.0 - z / size

        return g, deficit(self.n), deficit(self.t), z, dz

    def s_of_u(self, u):
        """Per-sample ridge ``s = g (1 − z/N)(1 − z/T)`` and ``ds/du``."""
        g, dn, dt, _, dz = self.deficits(u)
        inv_n = 0.0 if math.isinf(self.n) else 1.0 / self.n
        inv_t = 0.0 if math.isinf(self.t) else 1.0 / self.t
        return g * dn * dt, dn * dt - g * dz * (dt * inv_n + dn * inv_t)

    def u_real(self, s: float) -> float:
        def f(log_u):
            return float(self.s_of_u(np.array(math.exp(log_u)))[0]) - s

        scale = max(self.g_lo, float(self.lam.min()), s)
        lo, hi = math.log(scale) - 30.0, math.log(scale) + 30.0
        while f(lo) >= 0.0:
            lo -= 30.0
        while f(hi) <= 0.0:
            hi += 30.0
        return math.exp(optimize.brentq(f, lo, hi, xtol=1e-14, rtol=1e-15))

    def u_contour(self, s_nodes: np.ndarray, s_start: np.ndarray) -> np.ndarray:
        """``u(s)`` on ``s_nodes[:, j]`` (times × nodes), Newton-continued from real ``s_start``."""
        u = np.array([self.u_real(float(s)) for s in s_start], dtype=np.complex128)
        prev = s_start.astype(np.complex128)
        out = np.empty(s_nodes.shape, dtype=np.complex128)
        for j in range(s_nodes.shape[1]):
            target = s_nodes[:, j]
            u = self._continue(u, prev, target)
            out[:, j] = u
            prev = target
        return out

    def _continue(self, u, s_from, s_to):
        n_sub = 1
        while n_sub <= 4096:
            uu = u.copy()
            ok = np.ones(u.shape, dtype=bool)
            for k in range(1, n_sub + 1):
                st = s_from + (s_to - s_from) * k / n_sub
                conv = np.zeros(u.shape, dtype=bool)
                for _ in range(40):
                    f, df = self.s_of_u(uu)
                    step = (f - st) / df
                    uu = uu - step
                    conv = np.abs(step) <= 1e-10 * np.abs(uu)
                    if conv.all():
                        # quadratic convergence: one more step reaches rounding level
                        f, df = self.s_of_u(uu)
                        uu = uu - (f - st) / df
                        break
                ok &= conv & np.isfinite(uu)
            if ok.all():
                return uu
            n_sub *= 2
        raise RuntimeError("gradient_flow_loss: continuation of g(s) did not converge")


def gradient_flow_loss(
    eigenvalues,
    target_power,
    n_features,
    n_samples,
    times,
    noise: float = 0.0,
    *,
    n_nodes: int = 16,
) -> GradientFlowCurves:
    """Large-size (BAP) theory of the test and train loss of gradient flow with linear RFs.

    BAP (arXiv 2402.01092, §3–4) solve the gradient-flow dynamics of this model with dynamical
    mean-field theory in the frequency domain: each latent mode's mean error evolves with a
    transfer function of the form ``H_k(ω) = 1/(iω + λ_k R₁(ω) R₂(ω))``, the two factors
    accounting for the finite data set and the finite feature projection, and the loss adds the
    variance (correlation) terms those bottlenecks create. The paper's text was not available
    when this was written, so its equations are *not* transcribed here (equation numbers
    unchecked); we implement the same large-size limit in an equivalent resolvent form, derived
    for this module and checked numerically:

    * The Laplace transform of the flow, ``∫ e^{−st} β̇ dt = (Ŝ + s)⁻¹ b̂``, is the ridge estimator at
      per-sample ridge ``s``, so ``β(t) = L⁻¹[β_s/s](t)`` and the expected loss at time ``t`` is the
      double inverse Laplace transform of the *two-ridge* equivalent ``D(s, s')/(s s')``.
    * At ridge ``s`` the feature-level ridge ``g`` solves ``s = g (1 − z(g)/N)(1 − z(g)/T)`` and
      ``κ = g (1 − z(g)/N)``. Then ``s H_k = g/(λ_k + g)`` with ``R₁ = 1 − z/T``, ``R₂ = 1 − z/N``:
      BAP's mean-field transfer function.
    * Given the features, the problem is linear regression on Gaussian features with covariance
      ``S = FΛF^T/N``, target ``β* = S⁻¹c`` and effective noise ``σ_e² = σ² + ε_F``,
      ``ε_F = Σ v_k² g₀/(λ_k + g₀)``, ``z(g₀) = N`` (the ``T = ∞`` projection error). With
      ``m(κ) = Σ v_k² λ_k/(λ_k + g(κ))`` and ``df(κ) = z(g(κ))``:
      ``D = [A + σ_e² d₂/T]/(1 − d₂/T)``, ``A = m(0) + (κ' m(κ) − κ m(κ'))/(κ − κ')``,
      ``d₂ = (κ' df(κ') − κ df(κ))/(κ' − κ)`` (their confluent limits on the diagonal);
      test ``= L⁻¹L⁻¹[D/(s s')] + σ_e²``, train ``= L⁻¹L⁻¹[(D + σ_e²)/(κ κ')]``. At ``s = s'``
      this reproduces :func:`ridge_solution` (test and train) exactly, which is the check of the
      algebra; the two-ridge form was checked against simulated ridge pairs and the flow against
      :func:`realised_loss_curve` averaged over seeds (tests/test_random_features_theory.py).
    * The inverse Laplace transforms use the Weideman–Trefethen cotangent contour with
      ``n_nodes`` nodes (relative accuracy ~1e−9 at 16, ~1e−7 at 12), ``g(s)`` continued along it
      by Newton.

    ``T = ∞`` is the population (online, no reuse) flow, ``N = ∞`` the kernel (latent) flow; at
    ``N = T = ∞`` the loss is ``Σ v_k² e^{−2λ_k t} + σ²``. Time is ``t = η × steps`` for gradient
    descent with a small step ``η`` on ``½ ×`` the training MSE.

    Args:
        eigenvalues: ``(M,)`` latent eigenvalues. target_power: ``(M,)`` ``v_k²``.
        n_features, n_samples: ``N, T > 0`` (``math.inf`` allowed).
        times: ``(n_t,)`` positive times.
        noise: label-noise variance ``σ²``.
        n_nodes: contour nodes (even, ≥ 8).

    Returns:
        :class:`GradientFlowCurves` of float64 arrays ``(n_t,)``.
    """
    lam, v2 = check_spectrum(eigenvalues, target_power)
    n = check_size("n_features", n_features)
    t_samples = check_size("n_samples", n_samples)
    sigma2 = check_float("noise", noise, low=0.0)
    n_nodes = check_int("n_nodes", n_nodes, 8)
    if n_nodes % 2:
        raise ValueError(f"n_nodes must be even, got {n_nodes}")
    times = np.atleast_1d(np.asarray(times, dtype=np.float64))
    if times.ndim != 1 or not (np.isfinite(times).all() and (times > 0).all()):
        raise ValueError("times must be a 1-D array of finite values > 0")

    sp = _Spectral(lam, n, t_samples)
    # g_proj: z(g_proj) = N, the T = ∞ projection; eps_f = sum v^2 g_proj/(lam + g_proj)
    g_proj = inverse_df(lam, n) if n < lam.size else 0.0
    eps_f = float(np.sum(v2 * g_proj / (lam + g_proj)))
    sigma_e = sigma2 + eps_f

    _, c, w = _wt_contour(n_nodes)
    s_half = c[None, :] / times[:, None]  # (n_t, n/2)
    s_real = (n_nodes * (_WT[0] + _WT[1] / _WT[2])) / times
    u_half = sp.u_contour(s_half, s_real)
    s_all = np.concatenate([s_half, s_half.conj()], axis=1)
    u_all = np.concatenate([u_half, u_half.conj()], axis=1)
    w_all = np.concatenate([w, w.conj()])[None, :] / times[:, None]

    g, dn, dt, _, _ = sp.deficits(u_all)  # (n_t, n) each
    inv_n = 0.0 if math.isinf(n) else 1.0 / n
    inv_t = 0.0 if math.isinf(t_samples) else 1.0 / t_samples
    res = 1.0 / (lam + g[..., None])  # (n_t, n, M) resolvent entries 1/(λ_k + g)
    kap = g * dn
    # Δm(κ) = m(0) − m(κ) = Σ v² λ (g − g_proj)/((λ+g)(λ+g_proj))
    dm = ((sp.g_lo - g_proj) + u_all) * (v2 * lam * res / (lam + g_proj)).sum(-1)
    # Pair sums, so that no difference of nearly equal numbers is ever formed (at long times
    # the nodes crowd around s = 0 and κ, κ' differ in their last digits):
    #   P_z = Σ λ/((λ+g)(λ+g')),  P_m = Σ v² λ/((λ+g)(λ+g')),
    #   κ − κ' = (u − u') P_k with P_k = (1 − z/N) + g' P_z/N,
    #   Δm(κ') − Δm(κ) = (u − u') P_m, (1 − z/T) − (1 − z'/T) = (u − u') P_z/T.
    p_z = np.matmul(res * lam, np.swapaxes(res, -1, -2))  # (n_t, n, n)
    p_m = np.matmul(res * (v2 * lam), np.swapaxes(res, -1, -2))
    p_k = dn[:, :, None] + g[:, None, :] * p_z * inv_n
    k1 = kap[:, :, None]
    # A = m(0) + (κ' m(κ) − κ m(κ'))/(κ − κ') = Δm(κ) − κ P_m/P_k
    a_mat = dm[:, :, None] - k1 * p_m / p_k
    # 1 − d₂/T = (κ' (1 − z'/T) − κ (1 − z/T))/(κ' − κ) = (1 − z'/T) + κ P_z/(T P_k)
    one_minus = dt[:, None, :] + k1 * p_z * inv_t / p_k
    d_mat = (a_mat + sigma_e * (1.0 - one_minus)) / one_minus
    k2 = kap[:, None, :]

    ew = np.exp(s_all * times[:, None]) * w_all  # (n_t, n)
    test_f = d_mat / (s_all[:, :, None] * s_all[:, None, :])
    train_f = (d_mat + sigma_e) / (k1 * k2)
    test = np.einsum("ti,tij,tj->t", ew, test_f, ew).real + sigma_e
    train = np.einsum("ti,tij,tj->t", ew, train_f, ew).real
    return GradientFlowCurves(times=times, test=test, train=train)


# --------------------------------------------------------------------------------------------
# exact curves of one realised model (numpy, or jax.numpy under jit)
# --------------------------------------------------------------------------------------------


def _namespace(*arrays: Any):
    """The array namespace of the first non-numpy array among ``arrays`` (numpy by default)."""
    for x in arrays:
        get = getattr(x, "__array_namespace__", None)
        if get is not None and get() is not np:
            return get()
    return np


def flow_filter(eigenvalues, times):
    """Gradient-flow filter from ``β = 0``: ``(1 − e^{−t e_i})/e_i`` (``t`` at ``e_i = 0``).

    ``β(t) = V diag(φ(t)) V^T b̂`` for ``dβ/dt = −(Ŝβ − b̂)`` with ``Ŝ = V diag(e) V^T``.

    Args:
        eigenvalues: ``(N,)`` eigenvalues ``e_i ≥ 0``.
        times: ``(n_t, 1)`` times (a column, so that the result broadcasts to ``(n_t, N)``).

    Returns:
        ``(n_t, N)`` array in the namespace of the inputs (numpy or ``jax.numpy``).
    """
    xp = _namespace(eigenvalues, times)
    safe = xp.where(eigenvalues > 0, eigenvalues, 1.0)
    return xp.where(eigenvalues > 0, -xp.expm1(-times * eigenvalues) / safe, times)


def descent_filter(eigenvalues, steps, learning_rate):
    """Per-mode filter of gradient descent from ``β = 0``: ``(1 − (1 − η e_i)^k)/e_i`` (``η k`` if
    ``e_i = 0``), after ``k`` steps ``β ← β − η(Ŝβ − b̂)``.

    Args:
        eigenvalues: ``(N,)``. steps: ``(n_t, 1)`` step counts (a column, float dtype).
        learning_rate: ``η``.

    Returns:
        ``(n_t, N)`` array in the namespace of the inputs.
    """
    xp = _namespace(eigenvalues, steps)
    safe = xp.where(eigenvalues > 0, eigenvalues, 1.0)
    eta = learning_rate
    return xp.where(eigenvalues > 0, (1.0 - (1.0 - eta * eigenvalues) ** steps) / safe, eta * steps)


class EigenbasisCurves(NamedTuple):
    """Exact loss curves of one realised quadratic problem, with its eigenbasis.

    Attributes:
        test: ``(n_t,)`` test loss. train: ``(n_t,)`` training loss.
        eigenvalues: ``(N,)`` eigenvalues ``e`` of the training covariance (clipped at 0).
        eigenvectors: ``(N, N)`` eigenvectors ``V`` (columns).
        filter: ``(n_t, N)`` per-mode filter ``φ`` (:func:`flow_filter` / :func:`descent_filter`).
    """

    test: Any
    train: Any
    eigenvalues: Any
    eigenvectors: Any
    filter: Any


def eigenbasis_curves(
    mat,
    vec,
    y2,
    s_pop,
    c_pop,
    signal,
    noise,
    *,
    times=None,
    steps=None,
    learning_rate=None,
    population: bool = False,
) -> EigenbasisCurves:
    """Exact test and train loss of gradient flow/descent from ``β = 0``, in ``mat``'s eigenbasis.

    The training objective is ``½ (β^T Ŝ β − 2 β^T b̂ + y2)`` with ``Ŝ = mat``, ``b̂ = vec``,
    ``y2`` the mean squared label; the test loss is ``β^T S β − 2 β^T c + signal + noise`` with
    the population ``S = s_pop``, ``c = c_pop``. Diagonalising ``Ŝ = V diag(e) V^T`` once gives
    every time in closed form: ``β(t) = V (φ(t) ⊙ V^T b̂)``. For the population (``population``:
    ``Ŝ = S``, ``b̂ = c``, ``y2 = signal + noise``) the test loss is the training objective.

    Works unchanged on numpy arrays and on ``jax.numpy`` arrays (also traced under ``jit`` /
    ``vmap``): the same arithmetic in the same order in both.

    Args:
        mat: ``(N, N)`` ``Ŝ``. vec: ``(N,)`` ``b̂``. y2: mean squared training label.
        s_pop: ``(N, N)`` ``S``. c_pop: ``(N,)`` ``c``. signal: ``w^T Λ w``.
        noise: label-noise variance ``σ²`` added to the test loss.
        times: ``(n_t,)`` flow times; or ``steps`` (``(n_t,)``, float) and ``learning_rate``.
        population: ``mat``/``vec``/``y2`` are the population ones.

    Returns:
        :class:`EigenbasisCurves`.
    """
    xp = _namespace(mat, vec)
    e, v = xp.linalg.eigh(mat)
    e = xp.maximum(e, 0.0)
    u = v.T @ vec
    if times is not None:
        phi = flow_filter(e, times[:, None])
    else:
        phi = descent_filter(e, steps[:, None], learning_rate)
    alpha = phi * u  # beta(t) in the eigenbasis, (n_t, N)
    train = xp.sum(alpha * alpha * e, axis=1) - 2.0 * alpha @ u + y2
    if population:
        test = train
    else:
        b_pop = v.T @ s_pop @ v
        test = (
            xp.einsum("ti,ij,tj->t", alpha, b_pop, alpha)
            - 2.0 * alpha @ (v.T @ c_pop)
            + signal
            + noise
        )
    return EigenbasisCurves(test, train, e, v, phi)


def realised_loss_curve(
    eigenvalues,
    teacher,
    projection,
    *,
    times=None,
    steps=None,
    learning_rate: float | None = None,
    data=None,
    labels=None,
    noise: float = 0.0,
) -> GradientFlowCurves:
    """Exact loss curve of one realised linear random-feature model trained from ``β = 0``.

    Diagonalises the feature covariance once — ``Ŝ = Z^T Z/T`` on the training set, or
    ``S = FΛF^T/N`` for the population (``data=None``, ``T = ∞``) — and evaluates every mode in
    closed form (:func:`eigenbasis_curves`): gradient flow multiplies mode ``i`` by
    ``(1 − e^{−t e_i})/e_i``, gradient descent with step ``η`` after ``k`` steps by
    ``(1 − (1 − η e_i)^k)/e_i``. Test loss ``(w − F^Tβ/√N)^T Λ (w − F^Tβ/√N) + σ²`` (exact over
    the input distribution), train loss ``(1/T)‖y − Zβ‖²`` (for the population the training
    objective is the test loss itself).

    Args:
        eigenvalues: ``(M,)`` latent ``λ_k``. teacher: ``(M,)`` ``w``. projection: ``(N, M)`` ``F``.
        times: ``(n_t,)`` flow times (give either ``times``, or ``steps`` and ``learning_rate``).
        steps: ``(n_t,)`` non-negative integer step counts of gradient descent.
        learning_rate: ``η > 0`` for gradient descent.
        data: ``(T, M)`` latent training inputs ``X``, or None for the population.
        labels: ``(T,)`` training labels (default ``X w``, noiseless).
        noise: ``σ²`` added to the test loss (the label noise of test points).

    Returns:
        :class:`GradientFlowCurves` (``times`` is ``η·steps`` for gradient descent).
    """
    lam = np.asarray(eigenvalues, dtype=np.float64)
    w = np.asarray(teacher, dtype=np.float64)
    f = np.asarray(projection, dtype=np.float64)
    if lam.ndim != 1 or w.shape != lam.shape:
        raise ValueError(f"teacher must have the shape of eigenvalues {lam.shape}, got {w.shape}")
    if f.ndim != 2 or f.shape[1] != lam.size:
        raise ValueError(f"projection must have shape (N, {lam.size}), got {f.shape}")
    if (times is None) == (steps is None):
        raise ValueError("give exactly one of times (gradient flow) or steps (gradient descent)")
    sigma2 = check_float("noise", noise, low=0.0)
    k = eta = None
    if steps is not None:
        if learning_rate is None:
            raise ValueError("steps requires learning_rate")
        eta = check_size("learning_rate", learning_rate, allow_inf=False)
        k = np.atleast_1d(np.asarray(steps))
        if k.ndim != 1 or (k < 0).any() or not np.array_equal(k, np.round(k)):
            raise ValueError("steps must be a 1-D array of non-negative integers")
        k = k.astype(np.float64)
        tt = eta * k
    else:
        tt = np.atleast_1d(np.asarray(times, dtype=np.float64))
        if tt.ndim != 1 or not (np.isfinite(tt).all() and (tt >= 0).all()):
            raise ValueError("times must be a 1-D array of finite values >= 0")
    n = f.shape[0]
    s_pop = (f * lam) @ f.T / n
    c_pop = (f * lam) @ w / math.sqrt(n)
    signal = float(w @ (lam * w))
    timing = dict(steps=k, learning_rate=eta) if steps is not None else dict(times=tt)
    if data is None:
        c = eigenbasis_curves(
            s_pop, c_pop, signal + sigma2, s_pop, c_pop, signal, sigma2, population=True, **timing
        )
        return GradientFlowCurves(times=tt, test=c.test, train=c.test)
    x = np.asarray(data, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != lam.size:
        raise ValueError(f"data must have shape (T, {lam.size}), got {x.shape}")
    y = x @ w if labels is None else np.asarray(labels, dtype=np.float64)
    if y.shape != (x.shape[0],):
        raise ValueError(f"labels must have shape ({x.shape[0]},), got {y.shape}")
    zmat = x @ f.T / math.sqrt(n)
    mat = zmat.T @ zmat / x.shape[0]
    vec = zmat.T @ y / x.shape[0]
    y2 = float(y @ y) / x.shape[0]
    c = eigenbasis_curves(mat, vec, y2, s_pop, c_pop, signal, sigma2, **timing)
    return GradientFlowCurves(times=tt, test=c.test, train=c.train)
