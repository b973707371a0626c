"""theory.random_features: closed forms, limits, exponents, optimal ridge, BAP flow theory, the
realised eigenbasis curves (numpy and jax.numpy), bad inputs."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from theory import random_features as rf


def _spectrum(m=300, b=1.5, a=1.8):
    return rf.latent_spectrum(m, b), rf.target_power(m, a)


# --------------------------------------------------------------------------------------------
# ridge deterministic equivalent and the MRS ridgeless closed form
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "n, t", [(50, 200), (200, 50), (100, 1000), (30, math.inf), (math.inf, 40), (10, 11)]
)
def test_ridgeless_closed_form_is_the_ridge_equivalent_at_zero_ridge(n, t):
    # MRS's isotropic teacher (a = b = 1 + alpha, v_k^2 = lambda_k / M): two independent
    # derivations (one-variable ridge solve vs df(kappa_n) = n) must agree to rounding.
    alpha, m = 1.0, 400
    closed = rf.ridgeless_loss(alpha, m, n, t)
    de = rf.ridge_loss(rf.latent_spectrum(m, 1 + alpha), rf.target_power(m, 1 + alpha), n, t)
    assert closed == pytest.approx(de, rel=1e-9)


def test_ridgeless_loss_is_symmetric_peaks_at_n_equals_t_and_plateaus_at_m():
    sizes = np.array([10, 37, 100, 250, 399])
    e = rf.ridgeless_loss(0.5, 400, sizes[:, None], sizes[None, :])
    np.testing.assert_allclose(e, e.T, rtol=1e-12)  # duality N <-> T
    assert np.isinf(np.diag(e)).all()  # double-descent peak at N = T < M
    assert rf.ridgeless_loss(0.5, 400, 400, 10_000) == 0.0  # min(N, T) >= M: exact recovery
    assert rf.ridgeless_loss(0.5, 400, 500, 500) == 0.0
    # approaching the peak from either side the loss grows like 1/(1 - n/n')
    assert rf.ridgeless_loss(0.5, 400, 100, 110) > 5 * rf.ridgeless_loss(0.5, 400, 100, 1000)


def test_c_alpha_reference_values_and_asymptote():
    # C_1 = 2.4674 (= pi^2/4), C_0.5 = 3.7609, C_2 = 1.7680
    assert rf.c_alpha(1.0) == pytest.approx(math.pi**2 / 4, rel=1e-12)
    assert rf.c_alpha(0.5) == pytest.approx(3.7609, abs=1e-4)
    assert rf.c_alpha(2.0) == pytest.approx(1.7680, abs=1e-4)
    # 1 << n << M: the closed form approaches its asymptote (alpha = 1: within 1% at
    # n = 100..1000 for M = 1e6; the residual is the discreteness of the first modes)
    for n in (100, 1000):
        ratio = rf.ridgeless_loss(1.0, 10**6, n, math.inf) / rf.ridgeless_asymptote(
            1.0, 10**6, n, math.inf
        )
        assert ratio == pytest.approx(1.0, abs=0.011)


def test_ridge_equivalent_limits():
    lam, v2 = _spectrum()
    noise = 1e-3
    # the ridgeless solution is the delta -> 0+ limit on both sides of the threshold
    for n, t in [(150, 250), (250, 150)]:
        e0 = rf.ridge_loss(lam, v2, n, t, 0.0, noise)
        assert rf.ridge_loss(lam, v2, n, t, 1e-10, noise) == pytest.approx(e0, rel=1e-6)
    # N = inf: kernel ridge regression, E = [sum v^2 k^2/(l+k)^2 + s^2] / (1 - q/T)
    t, delta = 120, 0.3
    sol = rf.ridge_solution(lam, v2, math.inf, t, delta, noise)
    k = sol.kappa
    q = np.sum(lam**2 / (lam + k) ** 2)
    assert sol.g == pytest.approx(k)
    assert k == pytest.approx(delta / (t - np.sum(lam / (lam + k))), rel=1e-10)
    expected = (np.sum(v2 * k**2 / (lam + k) ** 2) + noise) / (1 - q / t)
    assert sol.test_loss == pytest.approx(expected, rel=1e-10)
    # T = inf: the projection error onto N features, sum v^2 g/(lam+g) with z(g) = N
    sol = rf.ridge_solution(lam, v2, 80, math.inf, 0.0, noise)
    assert np.sum(lam / (lam + sol.g)) == pytest.approx(80, rel=1e-10)
    assert sol.test_loss == pytest.approx(np.sum(v2 * sol.g / (lam + sol.g)) + noise, rel=1e-10)
    # training loss: zero when interpolating (N > T, no ridge), OLS value when N < T
    assert rf.ridge_solution(lam, v2, 200, 100).train_loss == pytest.approx(0.0, abs=1e-14)
    sol = rf.ridge_solution(lam, v2, 50, 200, 0.0, noise)
    assert sol.train_loss == pytest.approx((1 - 50 / 200) ** 2 * sol.test_loss, rel=1e-10)
    # min(N, T) >= M with noise: OLS in M dimensions, sigma^2 / (1 - M/T)
    assert rf.ridge_loss(lam, v2, 400, 600, 0.0, noise) == pytest.approx(
        noise / (1 - 300 / 600), rel=1e-12
    )


def test_ridge_loss_broadcasts():
    lam, v2 = _spectrum()
    out = rf.ridge_loss(lam, v2, np.array([[20], [40]]), np.array([60, 90, 120]), 0.1)
    assert out.shape == (2, 3)
    assert out[1, 2] == pytest.approx(rf.ridge_loss(lam, v2, 40, 120, 0.1))


# --------------------------------------------------------------------------------------------
# exponents
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "b, a, row",
    [
        (2.0, 2.0, (0.5, 1.0, 1.0, 1 / 3, 2 / 3, -1 / 3)),
        (1.5, 1.5, (1 / 3, 0.5, 0.5, 0.4, 0.6, -0.2)),
        (1.5, 2.0, (2 / 3, 1.0, 1.0, 0.4, 0.6, -0.4)),
        (1.5, 4.0, (2.0, 3.0, 1.5, 4 / 7, 3 / 7, -6 / 7)),
    ],
)
def test_exponents_reference_table(b, a, row):
    # reference table: e_t = (a-1)/b, e_P = min(a-1, 2b), e_N = min(a-1, b), compute exponents
    ex = rf.exponents(b, a)
    keys = ("e_t", "e_P", "e_N", "compute_N", "compute_t", "compute_loss")
    assert [ex[k] for k in keys] == pytest.approx(list(row), abs=1e-12)
    assert ex["compute_N"] + ex["compute_t"] == pytest.approx(1.0)


# --------------------------------------------------------------------------------------------
# gradient flow: BAP theory and the realised eigenbasis curves
# --------------------------------------------------------------------------------------------


def test_flow_theory_limits():
    lam, v2 = _spectrum(200)
    noise = 1e-3
    t = np.logspace(-2, 3, 9)
    # N = T = inf: the loss is sum v^2 exp(-2 lam t) + sigma^2 exactly
    c = rf.gradient_flow_loss(lam, v2, math.inf, math.inf, t, noise)
    exact = np.exp(-2 * np.outer(t, lam)) @ v2 + noise
    np.testing.assert_allclose(c.test, exact, rtol=1e-8)
    np.testing.assert_allclose(c.train, exact, rtol=1e-8)
    # long times reach the ridgeless end point, short times the initial loss
    for n, p in [(60, 150), (150, 60), (80, math.inf)]:
        c = rf.gradient_flow_loss(lam, v2, n, p, [1e-6, 1e13], noise)
        assert c.test[0] == pytest.approx(np.sum(v2) + noise, rel=1e-4)
        end = rf.ridge_solution(lam, v2, n, p, 0.0, noise)
        assert c.test[1] == pytest.approx(end.test_loss, rel=1e-5)
        assert c.train[1] == pytest.approx(end.train_loss, rel=1e-5, abs=1e-12)


def test_flow_theory_contour_is_converged():
    lam, v2 = _spectrum(200)
    t = np.logspace(-1, 4, 6)
    a = rf.gradient_flow_loss(lam, v2, 60, 150, t, 1e-3)  # default: 16 nodes
    b = rf.gradient_flow_loss(lam, v2, 60, 150, t, 1e-3, n_nodes=40)
    np.testing.assert_allclose(a.test, b.test, rtol=1e-8)
    np.testing.assert_allclose(a.train, b.train, rtol=1e-8)


def test_realised_gradient_descent_matches_explicit_iteration():
    rng = np.random.default_rng(0)
    m, n, t = 30, 12, 20
    lam = rf.latent_spectrum(m, 1.5)
    w = rng.standard_normal(m)
    f = rng.standard_normal((n, m))
    x = rng.standard_normal((t, m)) * np.sqrt(lam)
    y = x @ w + 0.1 * rng.standard_normal(t)
    eta, steps = 0.3, np.array([0, 1, 5, 40])
    c = rf.realised_loss_curve(
        lam, w, f, steps=steps, learning_rate=eta, data=x, labels=y, noise=0.01
    )
    z = x @ f.T / math.sqrt(n)
    beta, k, test, train = np.zeros(n), 0, [], []
    for target in steps:
        while k < target:
            beta -= eta * (z.T @ (z @ beta - y)) / t
            k += 1
        d = w - f.T @ beta / math.sqrt(n)
        test.append(d @ (lam * d) + 0.01)
        train.append(np.mean((z @ beta - y) ** 2))
    np.testing.assert_allclose(c.test, test, rtol=1e-10)
    np.testing.assert_allclose(c.train, train, rtol=1e-10)
    # gradient descent with a small step is gradient flow at t = eta * steps
    small = rf.realised_loss_curve(
        lam, w, f, steps=np.array([4000]), learning_rate=1e-3, data=x, labels=y
    )
    flow = rf.realised_loss_curve(lam, w, f, times=np.array([4.0]), data=x, labels=y)
    assert small.test[0] == pytest.approx(flow.test[0], rel=2e-3)


@pytest.mark.parametrize(
    "n, t",
    [
        (100, 200),
        pytest.param(200, 100, marks=pytest.mark.slow),
        pytest.param(100, math.inf, marks=pytest.mark.slow),
    ],
)
def test_flow_theory_matches_realised_average(n, t):
    """BAP theory vs the mean of exact realised curves (random teacher, features, data).

    48 seeds give a standard error of 1.5-5% (the teacher's chi-square weights dominate at
    early times); the allowance is 4 standard errors plus 3% for the O(1/N) finite-size
    deviation measured at these sizes (1-2.5% at N = 100).
    """
    rng = np.random.default_rng(1)
    m = 300
    lam, v2 = rf.latent_spectrum(m, 1.5), rf.target_power(m, 1.8)
    noise = 1e-4
    times = np.logspace(-1, 4, 6)
    theory = rf.gradient_flow_loss(lam, v2, n, t, times, noise)
    curves = []
    for _ in range(48):
        w = rng.standard_normal(m) * np.sqrt(v2 / lam)
        f = rng.standard_normal((n, m))
        if math.isinf(t):
            curves.append(rf.realised_loss_curve(lam, w, f, times=times, noise=noise))
        else:
            x = rng.standard_normal((int(t), m)) * np.sqrt(lam)
            y = x @ w + math.sqrt(noise) * rng.standard_normal(int(t))
            curves.append(
                rf.realised_loss_curve(lam, w, f, times=times, data=x, labels=y, noise=noise)
            )
    for name in ("test", "train"):
        sims = np.array([getattr(c, name) for c in curves])
        mean, se = sims.mean(0), sims.std(0) / math.sqrt(len(sims))
        th = getattr(theory, name)
        assert (np.abs(mean - th) <= 4 * se + 0.03 * th).all(), (name, mean / th - 1, se / th)


# --------------------------------------------------------------------------------------------
# optimal ridge, jit-usable pieces shared with the simulator
# --------------------------------------------------------------------------------------------


def test_optimal_ridge_minimises_the_ridge_loss():
    lam, v2 = _spectrum()
    noise = 1e-3 / 300
    for n, t in [(40, 80), (80, 80), (160, 80)]:
        d = rf.optimal_ridge(lam, v2, n, t, noise)
        best = rf.ridge_loss(lam, v2, n, t, d, noise)
        assert 1e-8 < d < 1e3
        for factor in (0.5, 2.0):
            assert best <= rf.ridge_loss(lam, v2, n, t, d * factor, noise) * (1 + 1e-9)
    # at N = T the ridgeless loss diverges: the optimum is finite and needs delta > 0
    assert math.isinf(rf.ridge_loss(lam, v2, 80, 80, 0.0, noise))
    with pytest.raises(ValueError, match="bounds"):
        rf.optimal_ridge(lam, v2, 40, 80, noise, bounds=(0.0, 1.0))


def test_power_law_latent_matches_spectrum_and_target_power():
    m, b, a = 50, 1.7, 2.3
    k = np.arange(1, m + 1, dtype=float)
    lam, var_w = rf.power_law_latent(k, b, a, m)
    np.testing.assert_allclose(lam, rf.latent_spectrum(m, b), rtol=1e-14)
    np.testing.assert_allclose(lam * var_w, rf.target_power(m, a), rtol=1e-13)
    with jax.enable_x64(True):
        lam_j, var_j = jax.jit(rf.power_law_latent, static_argnums=3)(jnp.asarray(k), b, a, m)
    np.testing.assert_allclose(lam_j, lam, rtol=1e-14)
    np.testing.assert_allclose(var_j, var_w, rtol=1e-14)


@pytest.mark.parametrize("flow", [True, False])
def test_eigenbasis_curves_agree_in_numpy_and_under_jit(flow):
    rng = np.random.default_rng(3)
    m, n, t = 20, 8, 15
    lam = rf.latent_spectrum(m, 1.5)
    w, f = rng.standard_normal(m), rng.standard_normal((n, m))
    x = rng.standard_normal((t, m)) * np.sqrt(lam)
    y = x @ w
    z = x @ f.T / math.sqrt(n)
    args = (
        z.T @ z / t,
        z.T @ y / t,
        float(y @ y) / t,
        (f * lam) @ f.T / n,
        (f * lam) @ w / math.sqrt(n),
        float(w @ (lam * w)),
        1e-3,
    )
    steps = np.array([0.0, 1.0, 10.0, 100.0])
    timing = dict(times=0.3 * steps) if flow else dict(steps=steps, learning_rate=0.3)
    ref = rf.eigenbasis_curves(*args, **timing)
    with jax.enable_x64(True):
        fn = jax.jit(
            lambda *a: rf.eigenbasis_curves(*a, **{k: jnp.asarray(v) for k, v in timing.items()})
        )
        out = fn(*(jnp.asarray(a) for a in args))
    assert isinstance(ref.test, np.ndarray)
    np.testing.assert_allclose(out.test, ref.test, rtol=1e-10)
    np.testing.assert_allclose(out.train, ref.train, rtol=1e-10)
    np.testing.assert_allclose(out.filter, ref.filter, rtol=1e-10, atol=1e-12)
    # realised_loss_curve is the same kernel on the same problem
    kw = dict(times=0.3 * steps) if flow else dict(steps=steps, learning_rate=0.3)
    c = rf.realised_loss_curve(lam, w, f, data=x, labels=y, noise=1e-3, **kw)
    np.testing.assert_allclose(c.test, ref.test, rtol=1e-12)


# --------------------------------------------------------------------------------------------
# bad inputs
# --------------------------------------------------------------------------------------------


def test_bad_inputs_raise_value_errors():
    lam, v2 = _spectrum()
    with pytest.raises(ValueError, match="n_features"):
        rf.ridge_loss(lam, v2, 0, 10)
    with pytest.raises(ValueError, match="n_samples"):
        rf.ridge_loss(lam, v2, 10, -5)
    with pytest.raises(ValueError, match="ridge"):
        rf.ridge_loss(lam, v2, 10, 10, ridge=-1.0)
    with pytest.raises(ValueError, match="noise"):
        rf.ridge_solution(lam, v2, 10, 10, noise=-1.0)
    with pytest.raises(ValueError, match="target_power"):
        rf.ridge_loss(lam, v2[:-1], 10, 10)
    with pytest.raises(ValueError, match="eigenvalues"):
        rf.ridge_loss(-lam, v2, 10, 10)
    with pytest.raises(ValueError, match="b must be > 1"):
        rf.exponents(1.0, 2.0)
    with pytest.raises(ValueError, match="a must be > 1"):
        rf.exponents(2.0, 0.5)
    with pytest.raises(ValueError, match="b must be > 1"):
        rf.latent_spectrum(10, 0.9)
    with pytest.raises(ValueError, match="alpha"):
        rf.ridgeless_loss(0.0, 100, 10, 20)
    with pytest.raises(ValueError, match="n_features"):
        rf.ridgeless_loss(1.0, 100, np.array([10, 0]), 20)
    with pytest.raises(TypeError, match="n_latent"):
        rf.ridgeless_loss(1.0, 100.5, 10, 20)
    with pytest.raises(ValueError, match="times"):
        rf.gradient_flow_loss(lam, v2, 10, 20, [0.0, 1.0])
    with pytest.raises(ValueError, match="n_nodes"):
        rf.gradient_flow_loss(lam, v2, 10, 20, [1.0], n_nodes=25)
    with pytest.raises(ValueError, match="learning_rate"):
        rf.realised_loss_curve(lam, v2, np.ones((3, 300)), steps=[1], learning_rate=-1.0)


def test_descent_top_eigenvalue_is_the_typical_realised_one():
    """``λ₁ + Σλ (1/N + 1/T)`` against the top eigenvalue of realised feature covariances: for
    N >= 8 the mean over draws lies within 15% of it (measured 0.9-1.1), so a step above
    ``max_learning_rate`` diverges for a typical draw."""
    rng = np.random.default_rng(0)
    for b, m, n, t in [(1.5, 256, 16, math.inf), (2.0, 256, 64, 256), (1.2, 64, 8, 16)]:
        lam = rf.latent_spectrum(m, b)
        est = rf.descent_top_eigenvalue(lam, n, t)
        tops = []
        for _ in range(40):
            f = rng.standard_normal((n, m))
            if math.isinf(t):
                s = (f * lam) @ f.T / n
            else:
                z = (rng.standard_normal((t, m)) * np.sqrt(lam)) @ f.T / math.sqrt(n)
                s = z.T @ z / t
            tops.append(np.linalg.eigvalsh(s)[-1])
        assert 0.85 < np.mean(tops) / est < 1.15, (b, m, n, t, np.mean(tops) / est)
        assert rf.max_learning_rate(lam, n, t) == pytest.approx(2.0 / est)
    with pytest.raises(ValueError, match="n_features"):
        rf.descent_top_eigenvalue(lam, 0, 10)
    with pytest.raises(ValueError, match="eigenvalues"):
        rf.descent_top_eigenvalue([1.0, -1.0], 4, 10)
