"""The large-d PLRF measurement: W-free curves, local exponents and their d → ∞ limits."""

from __future__ import annotations

import math
import sys
import warnings

import numpy as np
import pytest

from simulations.plrf import analysis, limits
from theory import plrf as theory_plrf


def _synthetic_curves(a: float, b: float, c: float, per_octave: int = 4) -> limits.WFreeCurves:
    """Loss ``L(f, d) = d^(−a)(1 + c/d) + (f/d)^(−b)``: a frontier with a known ``1/d`` correction.

    Without the correction, ``d* ∝ f^ξ`` with ``ξ = b/(a + b)`` and ``L* ∝ f^(−η)``,
    ``η = ab/(a + b)``; the ``c/d`` term moves the local exponents by ``O(1/d*)``.
    """
    sizes = np.array(limits.size_ladder(4, 30, per_octave), dtype=float)
    steps = np.concatenate([[0.0], np.geomspace(1.0, 1e16, 641)])
    compute = sizes[:, None] * steps[None, :]
    with np.errstate(divide="ignore"):
        loss = sizes[:, None] ** -a * (1 + c / sizes[:, None]) + steps[None, :] ** -b
    loss[:, 0] = np.inf
    p_star = sizes ** -(2 * a) * (1 + c / sizes)
    return limits.WFreeCurves(
        0.5, 0.5, sizes, compute, loss, p_star, np.zeros_like(sizes), {"synthetic": True}
    )


@pytest.mark.parametrize(("a", "b", "c"), [(0.8, 1.2, 30.0), (0.4, 0.6, -5.0)])
def test_extrapolation_recovers_known_exponents_despite_a_1_over_d_correction(a, b, c):
    t = analysis.measure_trend(_synthetic_curves(a, b, c))
    xi, eta = b / (a + b), a * b / (a + b)
    # the correction is visible at small d* ...
    assert abs(t.xi_local.slope[0] - xi) > 0.005 or abs(t.eta_local.slope[0] - eta) > 0.005
    # ... and gone in the limit: within the numerical resolution at 4 sizes per octave
    res = analysis.local_resolution(4)
    for ext, truth in ((t.xi, xi), (t.eta, eta), (t.p_star, 2 * a)):
        assert ext.ci_low <= truth <= ext.ci_high, (ext, truth)
        assert abs(ext.value - truth) < res
        assert ext.converged


def test_size_ladder():
    assert limits.size_ladder(6, 8, 2) == (64, 91, 128, 181, 256)
    assert limits.size_ladder(6, 7, 1) == (64, 128)
    with pytest.raises(ValueError, match="log2_max"):
        limits.size_ladder(8, 6, 2)
    with pytest.raises(ValueError, match="per_octave"):
        limits.size_ladder(6, 8, 0)


def test_wfree_steps_reach_the_plateau_and_switch_to_floats_beyond_int64():
    gamma = theory_plrf.learning_rate(1.0, 4 * 2**10)
    steps = limits.wfree_steps(1.0, 2**10, gamma, 1, horizon=20.0, per_decade=10)
    assert steps.dtype == np.int64 and steps[0] == 0 and steps[1] == 1
    assert steps[-1] == pytest.approx(20.0 * 2**20 / gamma, rel=1e-6)
    big = limits.wfree_steps(1.0, 2**40, gamma, 1, horizon=20.0, per_decade=10)
    assert big.dtype == np.float64 and big[-1] > 2.0**63
    assert np.all(big == np.round(big)) and np.all(np.diff(big) > 0)


def test_expected_loss_beyond_int64_steps_reaches_the_plateau():
    """Float steps (integral values) beyond 2^62: the same curve where both exist, and
    ``P(∞) = P*/(1 − ‖K‖)`` at the end."""
    spec = theory_plrf.continuum_spectrum(2.0, 0.5, 2**12, **limits.FRONTIER_SPECTRUM)
    gamma = theory_plrf.learning_rate(2.0, 4 * 2**12)
    ints = np.unique(np.geomspace(1, 1e18, 200).astype(np.int64))
    floats = np.concatenate([ints.astype(np.float64), [1e21, 1e30]])
    a = theory_plrf.expected_loss(spec, gamma, 1, ints)
    b = theory_plrf.expected_loss(spec, gamma, 1, floats)
    np.testing.assert_allclose(a, b[:-2], rtol=1e-12)  # the same blocks, float arithmetic
    plateau = float(spec.p_star) / (1 - float(theory_plrf.kernel_norm(spec, gamma, 1)))
    assert b[-1] == pytest.approx(plateau, rel=1e-6)
    with pytest.raises(ValueError, match="exact"):
        theory_plrf.expected_loss(spec, gamma, 1, [0, 1e20], method="exact")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"alpha": -0.1}, "alpha"),
        ({"beta": 0.1, "alpha": 0.2}, "beta"),
        ({"sizes": (64, 128)}, "at least 3"),
        ({"sizes": (64, 256, 128)}, "increasing"),
        ({"lr_scale": 3.0}, r"lr_scale=3\.0 is unstable"),
        ({"horizon": 0.0}, "horizon"),
        ({"per_decade": 1}, "per_decade"),
    ],
)
def test_wfree_curves_reject_bad_input_before_any_curve(kwargs, match, monkeypatch):
    def fail(*args, **kw):
        raise AssertionError("a spectrum was computed before the inputs were checked")

    monkeypatch.setattr(theory_plrf, "continuum_spectrum", fail)
    args = {"alpha": 0.7, "beta": 1.0, "sizes": (64, 128, 256), **kwargs}
    with pytest.raises(ValueError, match=match):
        limits.wfree_curves(**args)


@pytest.fixture(scope="module")
def small_curves():
    sizes = limits.size_ladder(6, 16, 2)
    return {pd: limits.wfree_curves(1.0, 0.7, sizes, per_decade=pd) for pd in (40, 80)}


def test_frontier_exponents_do_not_depend_on_the_checkpoint_density(small_curves):
    """Doubling the checkpoints per decade moves the local exponents by < 1e-3 (the
    interpolation of each curve in log f is the only place the checkpoints enter)."""
    t40, t80 = (analysis.measure_trend(c) for c in small_curves.values())
    for name in ("xi_local", "eta_local"):
        a, b = getattr(t40, name), getattr(t80, name)
        np.testing.assert_array_equal(a.lo, b.lo)
        assert np.nanmax(np.abs(a.slope - b.slope)) < 1e-3


def test_wfree_curves_match_the_binned_deterministic_equivalent(small_curves):
    """The W-free curve of one size against the binned (O(v)) deterministic equivalent."""
    c = small_curves[40]
    k = 4  # d = 256
    d = int(c.sizes[k])
    spec = theory_plrf.deterministic_equivalent_spectrum(1.0, 0.7, d, 4 * d)
    steps = (c.compute[k] / d)[np.isfinite(c.compute[k])].astype(np.int64)
    ref = theory_plrf.expected_loss(spec, theory_plrf.learning_rate(1.0, 4 * d), 1, steps)
    got = c.loss[k][: steps.size]
    # both are deterministic equivalents of the same K̂: they differ by the binning and the
    # tail quadrature (≲ 1e-3 relative along the curve, measured 3e-4)
    assert np.max(np.abs(got / ref - 1)) < 2e-3


def test_stored_curves_are_reused_and_damage_is_recomputed(tmp_path, monkeypatch):
    sizes = limits.size_ladder(6, 9, 1)
    kw = {"alpha": 0.7, "beta": 1.0, "sizes": sizes, "per_decade": 10}
    first = limits.cached_wfree_curves(tmp_path, **kw)
    (path,) = tmp_path.glob("wfree-*.npz")
    calls = []
    real = limits.wfree_curves
    monkeypatch.setattr(limits, "wfree_curves", lambda **k: calls.append(k) or real(**k))
    again = limits.cached_wfree_curves(tmp_path, **kw)
    assert calls == []
    np.testing.assert_array_equal(first.loss, again.loss)
    # other settings: another file, computed afresh (never another experiment's curves)
    other = limits.cached_wfree_curves(tmp_path, **{**kw, "lr_scale": 0.25})
    assert len(calls) == 1 and len(list(tmp_path.glob("wfree-*.npz"))) == 2
    assert not np.array_equal(other.loss, first.loss)
    path.write_bytes(b"not a zip file")
    with pytest.warns(UserWarning, match="unreadable"):
        repaired = limits.cached_wfree_curves(tmp_path, **kw)
    assert len(calls) == 2
    np.testing.assert_array_equal(repaired.loss, first.loss)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        limits.cached_wfree_curves(tmp_path, **kw)  # the repaired file reads back quietly
    assert len(calls) == 2
    assert not list(tmp_path.glob(".tmp-*"))


@pytest.mark.slow
@pytest.mark.parametrize(("alpha", "beta"), [(1.0, 0.3), (1.0, 0.7), (0.7, 1.0), (1.0, 2.0)])
def test_converging_phases_reach_the_table(alpha, beta):
    """Phases Ia, II, III: the W-free d → ∞ limits over d = 2^6…2^32 match the table to the
    numerical resolution (measured |Δ| ≤ 0.002)."""
    t = analysis.measure_trend(limits.wfree_curves(alpha, beta, limits.size_ladder(6, 32, 4)))
    xi, eta = theory_plrf.compute_optimal_exponents(alpha, beta)
    for ext, truth in ((t.xi, xi), (t.eta, eta)):
        assert ext.converged and ext.ci_low <= truth <= ext.ci_high
        assert math.isclose(ext.value, truth, abs_tol=0.005)


def test_the_continuum_path_closes_its_mass_at_huge_d_and_refuses_otherwise(monkeypatch):
    """Small α at huge d: the top eigenvalue is an isolated bump whose panel count carries the
    η-tails of the modes below (≈ dη/π); it must still get its residue mass (before that slack,
    α = 0.1 lost c₁² ≈ 60 % of the mass from d = 2^28). A spectrum that does not close to
    MAX_CLOSURE is refused."""
    for alpha, k in ((0.1, 28), (0.2, 36)):
        spec = theory_plrf.continuum_spectrum(alpha, 1.0, 2**k)
        total = float(np.sum(spec.target_mass) + spec.p_star)
        exact = float(np.sum(np.arange(1, 2**20 + 1.0) ** (-2 * alpha - 2)))  # tail < 1e-7
        assert abs(total / exact - 1) < theory_plrf.MAX_CLOSURE / 5, (alpha, k, total)
    module = sys.modules[theory_plrf.continuum_spectrum.__module__]  # where the bound is read
    monkeypatch.setattr(module, "MAX_CLOSURE", 1e-12)
    with pytest.raises(RuntimeError, match="does not close"):
        theory_plrf.continuum_spectrum(0.1, 1.0, 2**20, **limits.FRONTIER_SPECTRUM)


def test_frontier_terms_split_the_loss(small_curves):
    """capacity + forcing + noise = loss at each size's optimum; at small d the SGD noise is the
    Volterra amplification ‖K‖/(1 − ‖K‖) of the forcing, i.e. a share ≈ ‖K‖ ≈ c/2 = 0.25."""
    from simulations.plrf import diagnostics

    t = diagnostics.frontier_terms(small_curves[40])
    assert t.d.size >= 4 and np.all(np.diff(t.d) > 0)
    np.testing.assert_allclose(t.capacity + t.forcing + t.noise, t.loss, rtol=1e-12)
    assert np.all(t.capacity > 0) and np.all(t.forcing > 0) and np.all(t.noise > 0)
    share = t.noise / t.loss
    assert np.all((share > 0.2) & (share < 0.4)), share
    gammas = [theory_plrf.learning_rate(1.0, 4 * int(d)) for d in t.d]
    np.testing.assert_allclose(t.t, t.steps * np.array(gammas), rtol=1e-12)
    assert t.local_exponents("capacity").shape == (t.d.size - 1,)
