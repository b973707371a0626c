"""Tests of the d-independent deterministic equivalent (theory.plrf.continuum_spectrum).

Paquette, Paquette, Xiao, Pennington, arXiv 2405.15074, §2 and App. E. Error budget used for the
tolerances (see theory/_plrf_continuum.py):

* rule (C) (exact head J₀ = 1024, Euler–Maclaurin midpoint tail, Gauss–Legendre in log j): each
  population sum to ``p(p+1)/(24 J₀²) ≤ 4e-7`` relative for the power sums (p ≤ 4), and the
  resolvent sums to better than that away from the comb of top eigenvalues;
* the binned path keeps an offset ``vη/π`` (η = 1e-9) in its counting function, which lands in
  its top bin (the continuum path removes it): a difference of ``≤ vη/π`` relative in any quantity
  that the top mode carries (measured: this is the binned path's whole mass-closure drift);
* the spectral binning common to both (count × mass per eigenvalue per panel; eigenvalue of a bin
  = count-weighted panel centre) is identical in the two paths, so it cancels in (a) but not in (b).
"""

import math
import time

import jax
import numpy as np
import pytest

from theory import plrf
from theory._plrf_continuum import ETA, continuum_population

# One (α, β) per phase family: Ic, IVa, III, II, Ia.
POINTS = [(0.2, 1.0), (0.4, 0.8), (0.7, 1.0), (1.0, 0.7), (1.0, 0.3)]
STEPS = np.unique(np.geomspace(1, 1e8, 50).astype(np.int64))


def _compare(alpha, beta, d):
    v = 4 * d
    binned = plrf.deterministic_equivalent_spectrum(alpha, beta, d, v)
    cont = plrf.continuum_spectrum(alpha, beta, d)
    gamma = plrf.learning_rate(alpha, v)
    ref = plrf.expected_loss(binned, gamma, 1, STEPS)
    new = plrf.expected_loss(cont, gamma, 1, STEPS)
    with jax.enable_x64(True):
        k_ref = float(plrf.kernel_norm(binned, gamma, 1))
        k_new = float(plrf.kernel_norm(cont, gamma, 1))
    # Quadrature of (C) (≤ 4e-7, measured ≤ 5e-8) plus the binned path's offset vη/π.
    tol = 1e-6 + 2 * v * ETA / math.pi
    assert np.max(np.abs(new / ref - 1)) < tol
    assert k_new == pytest.approx(k_ref, rel=tol)
    # P* needs no spectral path: only (C) (measured ≤ 5e-8).
    assert cont.p_star == pytest.approx(plrf.limit_level(alpha, beta, d, v), rel=1e-6)
    assert cont.p_star == pytest.approx(plrf.continuum_limit_level(alpha, beta, d), rel=1e-12)
    # The plateau P*/(1 − ‖K‖) (Volterra limit) is reached once every mode has decayed.
    late = plrf.expected_loss(cont, gamma, 1, [10**16])[0]
    assert late == pytest.approx(cont.p_star / (1 - k_new), rel=1e-3)


@pytest.mark.parametrize(("alpha", "beta"), POINTS)
@pytest.mark.parametrize("d", [2**8, 2**10])
def test_matches_the_binned_deterministic_equivalent(alpha, beta, d):
    _compare(alpha, beta, d)


@pytest.mark.slow
@pytest.mark.parametrize(("alpha", "beta"), POINTS)
@pytest.mark.parametrize("d", [2**12, 2**14])
def test_matches_the_binned_deterministic_equivalent_large(alpha, beta, d):
    _compare(alpha, beta, d)


def _closure(alpha, beta, d):
    v = 4 * d
    spec = plrf.continuum_spectrum(alpha, beta, d)
    assert spec.counts.sum() == pytest.approx(d, rel=1e-12)
    assert np.all(spec.counts >= 0) and np.all(spec.target_mass >= 0)
    # Exact identities of the deterministic equivalent: Σ target + P* = Σ_j j^(−2α−2β) and
    # ∫λ dμ = tr D = Σ_j j^(−2α). The binned spectrum satisfies the first up to the panel rule
    # (measured ≤ 9e-6 over the slow grid, d = 2^10 … 2^30: panels holding a whole isolated
    # bump beside part of a band), the second up to the bin centres (a priori ≤ half a panel,
    # 2α·ln v/8192 ≤ 1e-2; measured ≤ 3.3e-4, α = 2, d = 2^16).
    norm = plrf.power_sum(2 * alpha + 2 * beta, v)
    assert spec.target_mass.sum() + spec.p_star == pytest.approx(norm, rel=5e-5)
    trace = plrf.power_sum(2 * alpha, v)
    assert np.sum(spec.counts * spec.eigenvalues) == pytest.approx(trace, rel=1e-3)


@pytest.mark.parametrize(("alpha", "beta"), [(0.2, 1.0), (0.7, 1.0), (2.0, 0.3)])
@pytest.mark.parametrize("d", [2**10, 2**20, 2**30])
def test_mass_closure(alpha, beta, d):
    _closure(alpha, beta, d)


@pytest.mark.slow
@pytest.mark.parametrize(("alpha", "beta"), [*POINTS, (0.27, 1.0), (2.0, 0.3), (0.4, 0.3)])
@pytest.mark.parametrize("d", [2**k for k in range(10, 31, 2)])
def test_mass_closure_everywhere(alpha, beta, d):
    _closure(alpha, beta, d)


@pytest.mark.parametrize(("alpha", "beta"), [(0.2, 1.0), (1.0, 0.7), (2.0, 0.3)])
def test_population_totals_follow_euler_maclaurin(alpha, beta):
    """Σ w, Σ w σ, Σ t of rule (C) against the exact sums: the midpoint rule's bound
    ``p(p+1)/(24 J₀²)`` relative to the tail, hence to the total."""
    v = 2**32
    sigma, w, t = continuum_population(alpha, beta, v)
    assert w.sum() == pytest.approx(v, rel=1e-12)
    for p, total in ((2 * alpha, np.sum(w * sigma)), (2 * alpha + 2 * beta, t.sum())):
        assert total == pytest.approx(plrf.power_sum(p, v), rel=p * (p + 1) / (24 * 1024**2))


def test_kernel_norm_and_limit_level_beyond_the_binned_range():
    """At d = 2^16 … 2^20 against the closed forms (exact P*, stability's ‖K‖)."""
    for alpha, beta, d in ((0.4, 0.8, 2**16), (1.0, 0.7, 2**20)):
        v = 4 * d
        spec = plrf.continuum_spectrum(alpha, beta, d)
        if d <= 2**16:
            assert spec.p_star == pytest.approx(plrf.limit_level(alpha, beta, d, v), rel=1e-6)
        gamma = plrf.learning_rate(alpha, v)
        with jax.enable_x64(True):
            norm = float(plrf.kernel_norm(spec, gamma, 1))
        # Bin centres (≤ half a panel) against the closed form's 1e-7.
        assert norm == pytest.approx(plrf.equivalent_kernel_norm(alpha, d, v, gamma), rel=1e-3)


def test_cost_does_not_grow_with_d():
    plrf.continuum_spectrum(0.4, 0.8, 2**10)  # compile once (shared by every d)
    t0 = time.perf_counter()
    small = plrf.continuum_spectrum(0.4, 0.8, 2**10)
    t_small = time.perf_counter() - t0
    t0 = time.perf_counter()
    spec = plrf.continuum_spectrum(0.4, 0.8, 2**30)
    t_large = time.perf_counter() - t0
    assert t_large < 2.0
    assert t_large < 3 * t_small + 0.5
    assert spec.eigenvalues.shape == small.eigenvalues.shape == (512,)


def test_validation():
    with pytest.raises(ValueError, match="beta"):
        plrf.continuum_spectrum(0.2, 0.2, 64)
    with pytest.raises(ValueError, match="v"):
        plrf.continuum_spectrum(1.0, 1.0, 64, 64)
    with pytest.raises(TypeError, match="d"):
        plrf.continuum_spectrum(1.0, 1.0, 64.0)
    with pytest.raises(ValueError, match="alpha"):
        plrf.continuum_limit_level(0.0, 1.0, 64)
