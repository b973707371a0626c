"""Private helpers of :mod:`theory.plrf`: the deterministic equivalent of the PLRF spectrum.

Everything here is float64. The public entry points (with validation and documentation) live in
:mod:`theory.plrf`; these helpers assume validated input.

Notation (Paquette, Paquette, Xiao, Pennington, arXiv 2405.15074, §2 and App. E):
``σ_j = j^(-2α)`` and ``c_j² = j^(-2α-2β)`` for ``j = 1..v``; ``K̂ = Wᵀ D W`` (``d×d``). The
deterministic equivalent ``m(z)`` solves ``m = 1 / (1 + (1/d) Σ_j σ_j / (σ_j m − z))``. We work
with the normalised Stieltjes transform of K̂'s eigenvalues,

    s(z) = (1/d) tr (K̂ − z)⁻¹ = −m(z) / z,

because its functional inverse is explicit (Silverstein's equation for the companion matrix):

    z(s) = −1/s + (1/d) Σ_j σ_j / (1 + σ_j s),                                   (1)

so only a scalar complex Newton solve per spectral point is needed. Then, with ``z = x + i0``:

* eigenvalue-count density ``ρ_c(x) = (d/π) Im s``;
* target density ``ρ_t(x) = (1/π) Im g``, ``g(z) = Σ_j c_j² / (σ_j m − z) = −(1/z) Σ_j c_j² /
  (1 + σ_j s)`` (the deterministic equivalent of ``⟨(𝒦 − z)⁻¹ D^(1/2) b, D^(1/2) b⟩``); its atom
  at 0 is ``P* = Σ_j c_j² / (1 + σ_j s(0))`` with ``z(s(0)) = 0``;
* the eigenvalue counting function, exactly, from the log-determinant potential
  ``Φ(z) = Σ_j log(σ_j m − z) − d log m + d m − d ≈ log det(𝒦 − z)`` (``𝒦 = D^(1/2) W Wᵀ D^(1/2)``,
  ``v×v``; stationary in ``m`` exactly when ``m`` solves the fixed point, and ``∂Φ/∂z =
  −tr(𝒦 − z)⁻¹``): ``#{eigenvalues of K̂ below x} = −Im Φ(x + i0)/π − (v − d)``. Every
  ``σ_j m − z`` and ``m`` lie in the closed lower half-plane, so principal arguments are continuous.

Support edges: on the real axis ``s² z'(s) = 1 − (1/d) Σ_j (σ_j s / (1 + σ_j s))²`` is monotone in
``|s|`` on both ``(−1/σ_1, 0)`` and ``(0, ∞)``, so the top edge ``λ₊ = z(−u₊)`` and the bottom edge
``λ₋ = z(s₋)`` (``z'(−u₊) = z'(s₋) = 0``) are found by bisection.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

ETA = 1e-9
"""Relative height ``Im z / Re z`` of the points where the spectral density is read."""
"""Relative height ``Im z / Re z`` of the spectral points: smooths by a Lorentzian of relative width
1e-9, far below any bin, while keeping the valid root strictly inside the upper half-plane."""


def _z_of_s(s, sigma, d):
    """Equation (1) on the real axis, numpy float64."""
    return -1.0 / s + np.sum(sigma / (1.0 + sigma * s)) / d


def _edge_function(s, sigma, d):
    """``s² z'(s)``; monotone decreasing in ``|s|`` on each side of 0 (before the first pole)."""
    r = sigma * s / (1.0 + sigma * s)
    return 1.0 - np.sum(r * r) / d


def support_edges(sigma: np.ndarray, d: int) -> tuple[float, float, float, float]:
    """Edges of the deterministic-equivalent spectrum of K̂.

    Returns:
        ``(s_top, lam_plus, s_bottom, lam_minus)``: the real ``s`` at the top edge (in
        ``(−1/σ_1, 0)``) and the top edge ``λ₊``; the ``s`` at the bottom edge (``> 0``) and ``λ₋``.
    """
    # Top edge: u = -s in (0, 1/sigma_1); h(u) decreases from 1 to -inf.
    lo, hi = 0.0, 1.0 / sigma[0]
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if _edge_function(-mid, sigma, d) > 0.0:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-16 * hi:
            break
    s_top = -lo
    # Bottom edge: s > 0, h(s) decreases from 1 to 1 - v/d < 0; bisect in log s.
    lo, hi = math.log(1e-300), math.log(1e300)
    for _ in range(400):
        mid = 0.5 * (lo + hi)
        if _edge_function(math.exp(mid), sigma, d) > 0.0:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-15:
            break
    s_bottom = math.exp(lo)
    return s_top, _z_of_s(s_top, sigma, d), s_bottom, _z_of_s(s_bottom, sigma, d)


def stieltjes_at_zero(sigma: np.ndarray, d: int, s_bottom: float) -> float:
    """``s(0)``: the root of ``z(s) = 0`` on the increasing branch ``(0, s₋)`` of equation (1).

    Bisection in ``log s`` (``z`` increases from −∞ to ``λ₋ > 0`` there), polished by Newton.
    """
    lo, hi = math.log(1e-300), math.log(s_bottom)
    for _ in range(400):
        mid = 0.5 * (lo + hi)
        if _z_of_s(math.exp(mid), sigma, d) < 0.0:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-15:
            break
    s = math.exp(0.5 * (lo + hi))
    for _ in range(3):
        r = sigma / (1.0 + sigma * s)
        f = -1.0 / s + np.sum(r) / d
        df = 1.0 / s**2 - np.sum(r * r) / d
        if df <= 0.0:
            break
        s = s - f / df
    return float(s)


def _newton(s, zt, sigma, w, d, tol, max_iter):
    """Complex Newton on ``z(s) = zt`` (population weights ``w``), ``Im s >= 0`` by reflection.

    For ``Im zt > 0`` the valid root is the unique one in the upper half-plane; the spurious real
    branches (``z' < 0``) have ``Im s < 0``, so a reflected iterate that converges to one of them
    leaves a residual ``≈ 2 Im zt``, which the caller detects.
    """

    def resid(s):
        r = sigma / (1.0 + sigma * s)
        return -1.0 / s + jnp.sum(w * r) / d - zt, 1.0 / s**2 - jnp.sum(w * r * r) / d

    def cond(state):
        _, i, err = state
        return (i < max_iter) & (err > tol)

    def body(state):
        s, i, _ = state
        f, df = resid(s)
        step = f / df
        # Newton steps longer than half of |s| overshoot across poles of (1); damp them.
        limit = 0.5 * jnp.abs(s)
        step = jnp.where(jnp.abs(step) > limit, step * (limit / jnp.abs(step)), step)
        s = s - step
        s = jnp.where(s.imag < 0.0, jnp.conj(s), s)
        return s, i + 1, jnp.abs(step) / jnp.abs(s)

    s, _, _ = lax.while_loop(cond, body, (s, 0, jnp.inf))
    f, _ = resid(s)
    return s, jnp.abs(f) / jnp.abs(zt)


@functools.partial(jax.jit, static_argnames=("max_iter",))
def real_axis_path(xs, s_start, sigma, w, c2, d, max_iter=60):
    """Solve (1) at ``z = x (1 + iη)`` for descending ``xs`` by continuation in ``x``.

    ``sigma`` are the population eigenvalues with weights ``w`` (ones for the exact sum over
    ``j ≤ v``; quadrature weights for the continuum path of :mod:`theory._plrf_continuum`), and
    ``c2`` the (weighted) target coefficients.

    Each point starts from a linear extrapolation of the two previous solutions (nudged off the
    real axis when those were real, so Newton can enter the support). If Newton lands on a
    spurious branch (residual above ``1e-3 η``), the point is re-solved by a homotopy in ``η``
    from ``0.3`` down to ``η``, where the valid root is unambiguous.

    Returns per point: ``s``, the relative residual, ``Im Φ`` (for the counting function) and
    ``g`` (the target-measure Stieltjes transform).
    """
    eta = ETA
    tol = 1e-14
    etas = jnp.asarray(np.geomspace(0.3, eta, 18))

    def solve(x, guess, previous):
        zt = x * (1.0 + 1j * eta)
        s, res = _newton(guess, zt, sigma, w, d, tol, max_iter)

        def homotopy():
            def step(s, e):
                s, _ = _newton(s, x * (1.0 + 1j * e), sigma, w, d, tol, max_iter)
                return s, None

            s_h, _ = lax.scan(step, previous, etas)
            return _newton(s_h, zt, sigma, w, d, tol, max_iter)

        return lax.cond(res > 1e-3 * eta, homotopy, lambda: (s, res))

    def body(carry, x):
        s1, s2 = carry
        guess = 2.0 * s1 - s2
        guess = jnp.where(
            guess.imag < 1e-6 * jnp.abs(guess), guess.real + 1e-3j * jnp.abs(guess), guess
        )
        s, res = solve(x, guess, s1 + 1e-3j * jnp.abs(s1))
        z = x * (1.0 + 1j * eta)
        one_plus = 1.0 + sigma * s
        wz = -z * one_plus
        m = -z * s
        # Exactly, Im wz <= 0 and Im m <= 0; force the sign so rounding cannot flip arg by 2π.
        arg_w = jnp.arctan2(-jnp.abs(wz.imag), wz.real)
        arg_m = jnp.arctan2(-jnp.abs(m.imag), m.real)
        im_phi = jnp.sum(w * arg_w) - d * arg_m + d * m.imag
        g = -jnp.sum(c2 / one_plus) / z
        return (s, s1), (s, res, im_phi, g)

    _, out = lax.scan(body, (s_start, s_start), xs)
    return out


def deterministic_equivalent_bins(
    alpha: float, beta: float, d: int, v: int, n_grid: int, points_per_bin: int
) -> dict[str, np.ndarray | float]:
    """Bin the deterministic-equivalent count and target measures on a log-spaced grid.

    Grid: ``n_grid`` log-spaced bins spanning the support ``[λ₋, λ₊]`` exactly, each split into
    ``points_per_bin`` panels (``n_grid·points_per_bin + 1`` spectral points). The spectrum spans
    many decades and its top end is a comb of nearly isolated bumps (one eigenvalue each, width
    ``~ σ_j/√d``) with square-root edges, sometimes separated from the bulk by gaps narrower than
    a panel; plain trapezoid quadrature of the densities loses up to ~1% there. Instead:

    * panel counts are exact differences of the counting function;
    * panel target mass = panel count × (ρ_t(a) + ρ_t(b)) / (ρ_c(a) + ρ_c(b)), i.e. the count
      times the mass per eigenvalue ``T = ρ_t/ρ_c`` (smooth inside a band), weighted by the
      densities so that a panel end lying just outside the support (where only η-tails remain)
      does not count;
    * a bin's eigenvalue is the count-weighted mean of its panels' geometric centres.

    Measured: total target mass + ``P*`` reproduces ``‖D^(1/2) b‖²`` to ~1e-6 relative at the
    defaults over α ∈ [0.15, 2], β ∈ [−0.3, 2], d ∈ {64, 512} (residual error: a gap narrower than
    a panel between bands of different ``T``).

    Returns:
        dict with float64 arrays ``eigenvalues``, ``target_mass``, ``counts`` (shape
        ``(n_grid,)``, eigenvalues descending), floats ``p_star``, ``lam_minus``, ``lam_plus``,
        and ``max_residual`` (largest relative residual of equation (1) over the grid).
    """
    j = np.arange(1, v + 1, dtype=np.float64)
    sigma = j ** (-2.0 * alpha)
    c2 = j ** (-2.0 * alpha - 2.0 * beta)
    s_top, lam_plus, s_bottom, lam_minus = support_edges(sigma, d)
    n_pts = n_grid * points_per_bin + 1
    xs = np.geomspace(lam_plus, lam_minus, n_pts)
    with jax.enable_x64(True):
        s_int, res, im_phi, g = real_axis_path(
            jnp.asarray(xs[1:-1]),
            jnp.asarray(s_top + 0j),
            jnp.asarray(sigma),
            jnp.ones(len(sigma)),
            jnp.asarray(c2),
            float(d),
        )
        s_int, res, im_phi, g = (np.asarray(a) for a in (s_int, res, im_phi, g))
    # Grid ends: the counting function is exactly d (top edge) and 0 (bottom edge).
    counting = np.concatenate([[float(d)], -im_phi / np.pi - (v - d), [0.0]])
    panel_counts = np.maximum(counting[:-1] - counting[1:], 0.0)
    # Target mass per eigenvalue on a panel: ratio of the endpoint densities, Σρ_t / Σρ_c
    # (= T = ρ_t/ρ_c = Im g/(d Im s) where it is smooth). Weighting by the densities matters at
    # support edges: just outside, Im z = ηx > 0 leaves tiny η-tails whose ratio is a far-field
    # average (dominated by the bulk, not the adjacent edge) and must not count.
    im_s = np.concatenate([[0.0], np.maximum(s_int.imag, 0.0), [0.0]])
    im_g = np.concatenate([[0.0], np.maximum(g.imag, 0.0), [0.0]])
    dens_c = d * (im_s[:-1] + im_s[1:])
    dens_t = im_g[:-1] + im_g[1:]
    panel_target = panel_counts * dens_t / np.where(dens_c > 0.0, dens_c, 1.0)
    panel_x = np.sqrt(xs[:-1] * xs[1:])

    def per_bin(f):
        return f.reshape(n_grid, points_per_bin).sum(axis=1)

    counts = per_bin(panel_counts)
    target = per_bin(panel_target)
    centre = np.sqrt(xs[:-1:points_per_bin] * xs[points_per_bin::points_per_bin])
    occupied = counts > 0.0
    eigenvalues = np.where(
        occupied, per_bin(panel_counts * panel_x) / np.where(occupied, counts, 1.0), centre
    )
    s0 = stieltjes_at_zero(sigma, d, s_bottom)
    p_star = float(np.sum(c2 / (1.0 + sigma * s0)))
    return {
        "eigenvalues": eigenvalues,
        "target_mass": target,
        "counts": counts,
        "p_star": p_star,
        "lam_minus": float(lam_minus),
        "lam_plus": float(lam_plus),
        "max_residual": float(res.max()) if res.size else 0.0,
    }


def limit_kappa(sigma: np.ndarray, d: int) -> float:
    """``κ > 0`` solving ``Σ_j σ_j / (σ_j + κ) = d`` (left side decreasing in ``κ``, from ``v > d``
    to 0), by bisection in ``log κ``."""
    lo, hi = math.log(1e-300), math.log(1e300)
    for _ in range(400):
        mid = 0.5 * (lo + hi)
        if np.sum(sigma / (sigma + math.exp(mid))) > d:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-15:
            break
    return math.exp(0.5 * (lo + hi))
