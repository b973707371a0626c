"""Learning-rate schedules (theory.schedules): shapes, end points, formulas, optax, validation."""

import math

import numpy as np
import optax
import pytest

from theory import schedules as S


def test_constant_and_shapes():
    for sched in (S.Constant(), S.Cosine(), S.LinearDecay(), S.PowerDecay(), S.WSD()):
        m = sched.values(101)
        assert m.shape == (101,) and m.dtype == np.float64
        assert np.all(m >= 0) and m.max() <= 1.0
    np.testing.assert_array_equal(S.Constant().values(7), np.ones(7))


def test_cosine_linear_power_formulas():
    n = 11
    u = np.arange(n) / (n - 1)
    np.testing.assert_allclose(
        S.Cosine(final=0.1).values(n), 0.1 + 0.9 * 0.5 * (1 + np.cos(math.pi * u)), rtol=1e-15
    )
    np.testing.assert_allclose(S.LinearDecay(final=0.2).values(n), 1 - 0.8 * u, rtol=1e-15)
    r = np.arange(n)
    np.testing.assert_allclose(S.PowerDecay(0.7, 3.0).values(n), (1 + r / 3.0) ** -0.7, rtol=1e-14)
    # cosine with warmup: rises linearly, then starts its decay at 1
    m = S.Cosine(warmup=4).values(20)
    np.testing.assert_allclose(m[:5], [0.2, 0.4, 0.6, 0.8, 1.0])


@pytest.mark.parametrize("shape", ["linear", "cosine", "sqrt"])
def test_wsd_decays_over_its_fraction(shape):
    n, frac = 1000, 0.25
    m = S.WSD(decay_fraction=frac, final=0.05, shape=shape).values(n)
    stable = m[: n - int(frac * n)]
    np.testing.assert_array_equal(stable, 1.0)
    decay = m[n - int(frac * n) :]
    assert np.all(np.diff(decay) < 0)
    assert decay[-1] == pytest.approx(0.05, abs=1e-15)
    # no decay at fraction 0; warmup rises linearly to 1
    np.testing.assert_array_equal(S.WSD(decay_fraction=0.0).values(50), 1.0)
    np.testing.assert_allclose(S.WSD(warmup=3).values(10)[:3], [0.25, 0.5, 0.75])


def test_optax_schedule_wrapped():
    fn = optax.warmup_cosine_decay_schedule(0.0, 1.0, 10, 100)
    m = S.Optax(fn).values(100)
    np.testing.assert_allclose(m, np.asarray(fn(np.arange(100)), np.float64), rtol=1e-6)
    np.testing.assert_allclose(S.as_multipliers(fn, 100), m)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: S.WSD(decay_fraction=1.5), "decay_fraction"),
        (lambda: S.WSD(decay_fraction=math.nan), "decay_fraction"),
        (lambda: S.WSD(shape="exp"), "shape"),
        (lambda: S.Cosine(final=-0.1), "final"),
        (lambda: S.Cosine(warmup=-1), "warmup"),
        (lambda: S.PowerDecay(exponent=-1.0), "exponent"),
        (lambda: S.PowerDecay(timescale=0.0), "timescale"),
        (lambda: S.Optax(fn=3.0), "fn"),
    ],
)
def test_bad_parameters_rejected(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


def test_bad_multipliers_rejected():
    with pytest.raises(ValueError, match="finite"):
        S.Optax(lambda r: np.where(r > 3, np.nan, 1.0)).values(10)
    with pytest.raises(ValueError, match=">= 0"):
        S.Optax(lambda r: 1.0 - r / 5.0).values(10)
    with pytest.raises(ValueError, match="finite and >= 0"):
        S.as_multipliers(np.array([1.0, -1.0]), 2)
    with pytest.raises(ValueError, match="shape"):
        S.as_multipliers(np.ones(3), 2)
    with pytest.raises(ValueError, match="num_steps"):
        S.Constant().values(0)
