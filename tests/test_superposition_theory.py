"""theory.superposition: weak-loss check values, exponents, predictions, overlaps, inputs."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from theory import superposition as sp

# The small-run widths of Liu, Liu & Gore 2025: m in {10, 15, 25, 39, 63, 100}, n = 1000.
WIDTHS = (10, 15, 25, 39, 63, 100)


def _weak_loss_by_hand(n, m, alpha, density=1.0):
    """Independent float64 evaluation: sum over i = m+1..n of 4/3 p_i - p_i^2."""
    total = math.fsum(i**-alpha for i in range(1, n + 1))
    p = [density * i**-alpha / total for i in range(1, n + 1)]
    return math.fsum(4.0 / 3.0 * q - q * q for q in p[m:])


def test_weak_loss_matches_check_values():
    # check values to 4 decimals; the exact sums are 0.80993660566... and 0.40918317306...
    assert sp.weak_loss(1000, 10, 1.0) == pytest.approx(0.8099, abs=5e-5)
    assert sp.weak_loss(1000, 100, 1.0) == pytest.approx(0.4092, abs=5e-5)
    for m in (1, 10, 37, 100, 999):
        for alpha in (0.0, 1.0, 1.5, 2.0):
            assert sp.weak_loss(1000, m, alpha) == pytest.approx(
                _weak_loss_by_hand(1000, m, alpha), rel=1e-10
            )


def test_weak_loss_vectorised_and_any_k():
    ms = np.array(WIDTHS)
    vec = sp.weak_loss(1000, ms, 1.25)
    assert vec.shape == ms.shape
    np.testing.assert_allclose(vec, [sp.weak_loss(1000, int(m), 1.25) for m in ms], rtol=1e-12)
    # k other than m: the k-feature loss from the frequencies directly
    p = sp.frequencies(1000, 1.25)
    assert sp.weak_loss(1000, 50, 1.25, k=20) == pytest.approx(
        sp.weak_loss_from_frequencies(p, 20), rel=1e-12
    )
    assert sp.weak_loss_from_frequencies(p, 0) == pytest.approx(
        float(np.sum(4 / 3 * p - p**2)), rel=1e-12
    )
    assert sp.weak_loss_from_frequencies(p, 1000) == 0.0
    # density E scales p: the loss is 4/3 E S1 - E^2 S2 with S_k the tail sums of the E=1 law
    p1 = sp.frequencies(1000, 1.0)
    s1, s2 = p1[10:].sum(), (p1[10:] ** 2).sum()
    assert sp.weak_loss(1000, 10, 1.0, density=0.5) == pytest.approx(
        4 / 3 * 0.5 * s1 - 0.25 * s2, rel=1e-10
    )


@pytest.mark.parametrize(
    ("alpha", "slope"), [(1.0, 0.294), (1.25, 0.434), (1.5, 0.606), (1.75, 0.804), (2.0, 1.020)]
)
def test_finite_n_weak_exponent_check_values(alpha, slope):
    # check values to 3 decimals: fitted on the six small-run widths, unweighted log-log OLS
    assert sp.finite_n_weak_exponent(1000, WIDTHS, alpha) == pytest.approx(slope, abs=5e-4)


def test_finite_n_exponent_tends_to_alpha_minus_one():
    # n >> m >> 1: the exact-sum slope approaches alpha - 1. At fixed widths the finite-n term
    # -n^(1-alpha) steepens the slope and shrinks as n grows (for m ~ 10 it happens to cancel
    # the small-m discreteness correction at n = 1000, so use widths >= 100 here).
    widths = (100, 200, 400, 800)
    for alpha in (1.5, 2.0):
        gaps = [sp.finite_n_weak_exponent(n, widths, alpha) - (alpha - 1) for n in (10**4, 10**6)]
        assert gaps[0] > gaps[1] >= -0.005
        assert abs(gaps[1]) < 0.01


def test_model_exponent():
    assert sp.model_exponent(1.5, "weak") == pytest.approx(0.5)
    assert sp.model_exponent(1.5, "strong") == 1.0
    assert sp.model_exponent(2.0, "strong") == pytest.approx(2.0)
    assert sp.model_exponent(1.2, "strong") == 1.0
    np.testing.assert_allclose(
        sp.model_exponent(np.array([0.5, 1.5, 2.5]), "strong"), [1.0, 1.0, 3.0]
    )


def test_frequencies_laws():
    for law in sp.LAWS:
        p = sp.frequencies(1000, 1.3, law=law, density=0.7)
        assert p.shape == (1000,)
        assert p.sum() == pytest.approx(0.7, rel=1e-12)
        assert np.all(np.diff(p) <= 0)
    p = sp.frequencies(1000, law="exponential")
    assert p[400] / p[0] == pytest.approx(math.exp(-1.0), rel=1e-12)
    p = sp.frequencies(10, law="linear")
    np.testing.assert_allclose(p, np.arange(9, -1, -1) / 45.0, rtol=1e-12)
    p = sp.frequencies(5, 2.0)
    np.testing.assert_allclose(p, (1 / np.arange(1, 6) ** 2) / np.sum(1 / np.arange(1, 6) ** 2))


def test_random_overlap_moments_by_monte_carlo():
    rng = np.random.default_rng(0)
    for m in (4, 16, 64):
        u = rng.standard_normal((200_000, m))
        v = rng.standard_normal((200_000, m))
        c2 = np.sum(u * v, 1) ** 2 / (np.sum(u * u, 1) * np.sum(v * v, 1))
        mean, var = sp.random_overlap_moments(m)
        assert mean == pytest.approx(1 / m)
        assert var == pytest.approx(2 * (m - 1) / (m**2 * (m + 2)))
        # standard errors: mean ~ sqrt(var/N) (< 0.4 % of 1/m at N = 2e5); the sample variance's
        # relative error is ~ sqrt(kurtosis/N) (< 2 %): 5 sigma tolerances
        se_mean = math.sqrt(var / c2.size)
        assert abs(c2.mean() - mean) < 5 * se_mean
        assert c2.var() == pytest.approx(var, rel=0.05)
    means, variances = sp.random_overlap_moments(np.array([2, 8]))
    np.testing.assert_allclose(means, [0.5, 0.125])
    np.testing.assert_allclose(variances, [2 * 1 / (4 * 4), 2 * 7 / (64 * 10)])


def test_welch_bound():
    assert sp.welch_bound(1000, 10) == pytest.approx(990 / (10 * 999))
    assert sp.welch_bound(10, 10) == 0.0
    # any n unit vectors in R^m respect it; random vectors are above it
    rng = np.random.default_rng(1)
    u = rng.standard_normal((300, 8))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    g = (u @ u.T) ** 2
    mean_offdiag = (g.sum() - 300) / (300 * 299)
    assert mean_offdiag >= sp.welch_bound(300, 8)
    # an equiangular tight frame attains it: the 3 vectors of the Mercedes frame in R^2
    ang = 2 * np.pi * np.arange(3) / 3
    f = np.stack([np.cos(ang), np.sin(ang)], 1)
    mf = (((f @ f.T) ** 2).sum() - 3) / 6
    assert mf == pytest.approx(sp.welch_bound(3, 2), rel=1e-12)


def test_predicted_phi1():
    assert sp.predicted_phi1(1000, 10) == pytest.approx(0.05)
    assert sp.predicted_phi1(1000, 100) == 1.0
    np.testing.assert_allclose(sp.predicted_phi1(200, np.array([4, 40])), [0.04, 1.0])


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: sp.frequencies(1, 1.0), "n_features"),
        (lambda: sp.frequencies(100, -1.0), "alpha"),
        (lambda: sp.frequencies(100, 1.0, law="zipf"), "law"),
        (lambda: sp.frequencies(100, 1.0, density=0.0), "density"),
        (lambda: sp.frequencies(100, 2.0, density=3.0), "density"),
        (lambda: sp.frequencies(100, float("nan")), "alpha"),
        (lambda: sp.weak_loss(100, 0, 1.0), "width"),
        (lambda: sp.weak_loss(100, 101, 1.0), "width"),
        (lambda: sp.weak_loss(100, 10, 1.0, k=101), "k"),
        (lambda: sp.weak_loss_from_frequencies([0.5, 1.5], 1), "p"),
        (lambda: sp.weak_loss_from_frequencies([0.5, 0.2], 3), "k"),
        (lambda: sp.model_exponent(1.0, "medium"), "regime"),
        (lambda: sp.model_exponent(-1.0, "weak"), "alpha"),
        (lambda: sp.finite_n_weak_exponent(100, (10,), 1.0), "widths"),
        (lambda: sp.finite_n_weak_exponent(100, (10, 100), 1.0), "widths"),
        (lambda: sp.random_overlap_moments(0), "m"),
        (lambda: sp.welch_bound(1, 1), "n"),
        (lambda: sp.predicted_phi1(100, 0), "width"),
        (lambda: sp.predicted_phi_half(100, 0, "weak"), "width"),
        (lambda: sp.predicted_phi_half(100, 10, "medium"), "regime"),
        (lambda: sp.predicted_regime(float("nan")), "gamma"),
        (lambda: sp.predicted_exponents(100, (10,), "power", 1.0), "widths"),
    ],
)
def test_bad_inputs_raise_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_bad_types_raise_type_error():
    with pytest.raises(TypeError, match="width"):
        sp.weak_loss(100, 10.5, 1.0)
    with pytest.raises(TypeError, match="n_features"):
        sp.frequencies(100.0, 1.0)


@pytest.mark.parametrize("law", ["power", "exponential", "linear"])
def test_frequencies_from_code_is_frequencies_under_jit(law):
    """The traced frequencies (law as a swept code) equal the checked float64 ones."""
    n, alpha, density = 300, 1.3, 0.8
    traced = jax.jit(lambda a, c, e: sp.frequencies_from_code(n, a, c, e, 250.0))
    got = traced(jnp.float32(alpha), jnp.float32(sp.LAWS.index(law)), jnp.float32(density))
    assert got.dtype == jnp.float32 and got.shape == (n,)
    want = sp.frequencies(n, alpha, law=law, density=density, scale=250.0)
    np.testing.assert_allclose(np.asarray(got), want, rtol=2e-6, atol=1e-9)
    # vmapped over the law code: one program for every law
    codes = jnp.arange(len(sp.LAWS), dtype=jnp.float32)
    batched = jax.vmap(lambda c: sp.frequencies_from_code(n, alpha, c, density, 250.0))(codes)
    np.testing.assert_allclose(np.asarray(batched[sp.LAWS.index(law)]), want, rtol=2e-6)


def test_predicted_regime_and_exponents():
    assert sp.predicted_regime(-0.5) == "strong"
    assert sp.predicted_regime(0.1) == "weak"
    assert sp.predicted_regime(0.0) == "boundary"
    pred = sp.predicted_exponents(1000, WIDTHS, "power", 1.5)
    assert pred["weak"] == pytest.approx(0.606, abs=5e-4)  # the exact finite-n sum
    assert pred["weak_asymptotic"] == pytest.approx(0.5)
    assert pred["strong"] == 1.0
    assert sp.predicted_exponents(1000, WIDTHS, "power", 2.5)["strong"] == pytest.approx(3.0)
    other = sp.predicted_exponents(1000, WIDTHS, "exponential", 0.0)
    assert math.isnan(other["weak_asymptotic"]) and other["strong"] == 1.0
    assert other["weak"] == pytest.approx(
        sp.finite_n_weak_exponent(1000, WIDTHS, 0.0, law="exponential")
    )


def test_predicted_phi_half():
    np.testing.assert_allclose(sp.predicted_phi_half(200, np.array([8, 16]), "weak"), [0.04, 0.08])
    assert sp.predicted_phi_half(200, 8, "strong") == 1.0
    assert math.isnan(sp.predicted_phi_half(200, 8, "boundary"))


def test_large_run_learning_rates():
    lr, lr_b = sp.large_run_learning_rates(8.0)
    assert (lr, lr_b) == (pytest.approx(0.02), pytest.approx(0.25))
    lr, lr_b = sp.large_run_learning_rates(jnp.asarray([128.0]))
    np.testing.assert_allclose(lr, [0.02 * (1 / 16) ** 0.25], rtol=1e-6)
    np.testing.assert_allclose(lr_b, [2 / 128], rtol=1e-6)


def test_zero_model_loss_is_the_weak_loss_with_nothing_represented():
    for law, alpha in (("power", 1.0), ("power", 2.0), ("exponential", 0.0), ("linear", 0.0)):
        p = sp.frequencies(300, alpha, law=law)
        expected = _weak_loss_by_hand(300, 0, alpha) if law == "power" else None
        value = sp.zero_model_loss(p)
        assert value == pytest.approx(sp.weak_loss_from_frequencies(p, 0), rel=1e-12)
        if expected is not None:
            assert value == pytest.approx(expected, rel=1e-10)
        # the same formula on (traced) jax arrays
        traced = jax.jit(sp.zero_model_loss)(jnp.asarray(p, jnp.float32))
        assert float(traced) == pytest.approx(value, rel=1e-5)
    # E = 1: sum Var = 4/3 - sum p^2 < 4/3
    assert 1.0 < sp.zero_model_loss(sp.frequencies(1000, 1.0)) < 4.0 / 3.0


def test_max_stable_weight_decay():
    assert sp.max_stable_weight_decay(0.01) == pytest.approx(200.0)
    assert sp.max_stable_weight_decay(2.0) == pytest.approx(1.0)
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="lr"):
            sp.max_stable_weight_decay(bad)
