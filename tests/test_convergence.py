"""Local exponents over sliding windows and their extrapolation (simulations.convergence)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from simulations.convergence import OMEGA_RANGE, extrapolate, local_slopes


def test_local_slopes_of_an_exact_power_law():
    x = np.geomspace(1.0, 2.0**20, 400)
    loc = local_slopes(x, 3.0 * x**-0.7, width=4, step=1)
    assert len(loc) == 17  # windows [2^k, 2^(k+4)], k = 0..16
    np.testing.assert_allclose(loc.slope, -0.7, atol=1e-12)
    np.testing.assert_allclose(np.log2(loc.lo), np.arange(17))
    assert (loc.n_points > 50).all()
    assert loc.trend() == "-0.700 @2^2 → -0.700 @2^18"


def test_local_slopes_follow_a_correction_to_scaling():
    """y = x^(−e)(1 + a/x): the local slope is −e − (a/x)/(1 + a/x), evaluated exactly."""
    x = np.geomspace(1.0, 2.0**24, 2000)
    y = x**-0.5 * (1 + 4.0 / x)
    loc = local_slopes(x, y, width=2, step=1)
    centre = loc.centre
    # the OLS slope over a window lies between the pointwise slopes at its two ends
    ends = [-0.5 - (4 / s) / (1 + 4 / s) for s in (loc.lo, loc.hi)]
    assert (loc.slope >= np.minimum(*ends) - 1e-9).all() and (
        loc.slope <= np.maximum(*ends) + 1e-9
    ).all()
    assert abs(loc.slope[-1] + 0.5) < 1e-5 and centre[-1] > 2.0**22


def test_windows_are_aligned_and_scale_can_differ_from_x():
    f = np.geomspace(1.0, 1e12, 300)
    d_star = f**0.5 * 3.3  # windows placed on d*, slope of d* on f
    loc = local_slopes(f, d_star, d_star, width=3, step=1)
    assert np.allclose(np.log2(loc.lo), np.round(np.log2(loc.lo)))
    np.testing.assert_allclose(loc.slope, 0.5, atol=1e-12)


@pytest.mark.parametrize(("e_inf", "a", "omega"), [(0.5, 0.3, 1.0), (0.233, -0.2, 0.4)])
def test_extrapolate_recovers_a_known_limit(e_inf, a, omega):
    s = 2.0 ** np.arange(8, 26)
    values = e_inf + a * s**-omega
    ext = extrapolate(s, values)
    assert ext.value == pytest.approx(e_inf, abs=1e-6)
    assert ext.ci_low <= e_inf <= ext.ci_high
    assert ext.omega == pytest.approx(omega, rel=1e-3)
    assert ext.last == values[-1] and ext.last_scale == s[-1]
    assert ext.drift == pytest.approx(values[-1] - values[-5])
    assert ext.converged == (abs(ext.drift) <= 0.01)


def test_a_slow_approach_is_not_converged_and_its_interval_covers_the_limit():
    s = 2.0 ** np.arange(6, 24)
    values = 0.5 + 0.4 * s**-0.15  # moving ~0.03 per 4 octaves at the end
    ext = extrapolate(s, values, tol=0.01)
    assert not ext.converged and "not converged" in ext.status()
    assert ext.ci_low <= 0.5 <= ext.ci_high
    assert abs(ext.value - 0.5) < abs(values[-1] - 0.5)


def test_scatter_falls_back_to_the_last_window_with_an_honest_interval():
    rng = np.random.default_rng(0)
    s = 2.0 ** np.arange(6, 22)
    values = 0.3 + 0.001 * rng.standard_normal(s.size)
    ext = extrapolate(s, values, resolution=0.002)
    assert ext.method.startswith("last window") and ext.n_windows == 0
    recent = values[-5:]
    assert ext.ci_low <= recent.min() - 0.002 + 1e-12
    assert ext.ci_high >= recent.max() + 0.002 - 1e-12
    assert ext.converged and ext.value == values[-1]


def test_a_drifting_noisy_sequence_widens_towards_its_drift():
    s = 2.0 ** np.arange(6, 22)
    values = 0.2 + 0.002 * np.log2(s) + 0.0005 * (-1) ** np.arange(s.size)  # noisy, rising
    ext = extrapolate(s, values)
    ahead = ext.drift / (2 ** (OMEGA_RANGE[0] * 4) - 1)
    assert ext.drift > 0 and ext.ci_high == pytest.approx(values[-1] + ahead)


def test_accelerating_crossover_is_not_extrapolated():
    s = 2.0 ** np.arange(6, 22)
    values = 0.6 - 0.1 * (s / 2.0**24) ** 0.5  # flat, then falling faster and faster
    ext = extrapolate(s, values)
    assert ext.method.startswith("last window") and math.isnan(ext.omega)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"scale": [1, 2], "values": [1.0]}, "same length"),
        ({"scale": [2, 1, 3, 4], "values": [1.0, 1, 1, 1]}, "increasing"),
        ({"scale": [1, 2], "values": [np.nan, np.nan]}, "no finite"),
        ({"tol": 0.0}, "tol"),
        ({"span": -1.0}, "span"),
        ({"n_fit": 3}, "n_fit"),
        ({"resolution": -0.1}, "resolution"),
    ],
)
def test_extrapolate_rejects_bad_input(kwargs, match):
    args = {"scale": 2.0 ** np.arange(8), "values": np.linspace(0.5, 0.4, 8), **kwargs}
    with pytest.raises(ValueError, match=match):
        extrapolate(args.pop("scale"), args.pop("values"), **args)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"y": [1.0, 2.0]}, "same length"),
        ({"width": 0}, "width"),
        ({"step": -1}, "step"),
        ({"min_points": 1}, "min_points"),
    ],
)
def test_local_slopes_rejects_bad_input(kwargs, match):
    args = {"x": np.arange(1.0, 9.0), "y": np.arange(1.0, 9.0), **kwargs}
    with pytest.raises(ValueError, match=match):
        local_slopes(args.pop("x"), args.pop("y"), **args)
