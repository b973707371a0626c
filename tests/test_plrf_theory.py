"""Tests of theory.plrf: phase diagram, learning rate, spectra and the expected-loss dynamics
(Paquette, Paquette, Xiao, Pennington, arXiv 2405.15074)."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from theory import plrf

# (α, β) -> (phase, ξ, η) at the reference points (the paper's table, §3, rounded to 4 decimals).
REFERENCE = {
    (1.0, 0.3): ("Ia", 0.3333, 0.5333),
    (0.4, 0.3): ("Ib", 0.5, 0.2),
    (0.2, 1.0): ("Ic", 0.5833, 0.2333),
    (1.0, 0.7): ("II", 0.4118, 0.7059),
    (0.7, 1.0): ("III", 0.5, 0.6429),
    (0.4, 0.8): ("IVa", 0.5, 0.4),
    (0.27, 1.0): ("IVb", 0.6134, 0.2976),
}


def _target_norm(alpha, beta, v):
    return float(np.sum(np.arange(1, v + 1, dtype=np.float64) ** (-2 * alpha - 2 * beta)))


def _embedding(seed, v, d):
    return np.random.default_rng(seed).standard_normal((v, d)) / math.sqrt(d)


def _realised(W, alpha, beta):
    with jax.enable_x64(True):
        spec = plrf.realised_spectrum(jnp.asarray(W, jnp.float64), alpha, beta)
        return plrf.Spectrum(*(np.asarray(x) for x in spec))


# ------------------------------------------------------------------------------------------
# Phase diagram
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("alpha", "beta"), list(REFERENCE))
def test_reference_points(alpha, beta):
    name, xi_ref, eta_ref = REFERENCE[(alpha, beta)]
    assert plrf.phase(alpha, beta) == name
    assert plrf.REFERENCE_POINTS[name] == (alpha, beta)
    for method in ("table", "balance"):
        xi, eta = plrf.compute_optimal_exponents(alpha, beta, method=method)
        # The references are rounded to 4 decimals.
        assert abs(xi - xi_ref) < 6e-5, (method, xi)
        assert abs(eta - eta_ref) < 6e-5, (method, eta)


def _boundary_distance(alpha, beta):
    return min(
        abs(2 * alpha - 1),
        abs(2 * beta - 1),
        abs(alpha - beta),
        abs(alpha - 0.25),
        abs(alpha - plrf.ALPHA_0),
        abs(2 * alpha + 2 * beta - 1),
    )


def test_table_agrees_with_balance_recipe_over_the_plane():
    n_checked = 0
    for alpha in np.linspace(0.013, 2.5, 90):
        for beta in np.linspace(-1.0, 3.0, 90):
            if 2 * alpha + 2 * beta <= 1.0 or _boundary_distance(alpha, beta) < 1e-6:
                continue
            table = plrf.compute_optimal_exponents(alpha, beta, method="table")
            balance = plrf.compute_optimal_exponents(alpha, beta, method="balance")
            np.testing.assert_allclose(balance, table, rtol=0, atol=1e-10, err_msg=f"{alpha, beta}")
            n_checked += 1
    assert n_checked > 4000


def _boundary_points():
    """(name, points on the boundary, unit normal, phases expected to differ across it)."""
    b = np.linspace(0.52, 3.0, 40)
    a_hi = np.linspace(0.52, 2.5, 40)
    yield "2beta=1, 2alpha>1", np.stack([a_hi, np.full(40, 0.5)], 1), (0.0, 1.0), True
    a_mid = np.linspace(0.26, 0.49, 20)
    yield "2beta=1, IV", np.stack([a_mid, np.full(20, 0.5)], 1), (0.0, 1.0), True
    a_lo = np.linspace(0.01, 0.24, 20)
    yield "2beta=1, alpha<1/4", np.stack([a_lo, np.full(20, 0.5)], 1), (0.0, 1.0), True
    yield "2alpha=1, beta>1/2", np.stack([np.full(40, 0.5), b], 1), (1.0, 0.0), True
    b_low = np.linspace(0.01, 0.49, 20)
    yield "2alpha=1, beta<1/2", np.stack([np.full(20, 0.5), b_low], 1), (1.0, 0.0), True
    yield "alpha=beta", np.stack([a_hi, a_hi], 1), (1 / math.sqrt(2), -1 / math.sqrt(2)), True
    yield "alpha=1/4", np.stack([np.full(40, 0.25), b], 1), (1.0, 0.0), True
    yield "alpha_0", np.stack([np.full(40, plrf.ALPHA_0), b], 1), (1.0, 0.0), True


@pytest.mark.parametrize("case", list(_boundary_points()), ids=lambda c: c[0])
def test_eta_is_continuous_across_phase_boundaries(case):
    _, points, normal, phases_differ = case
    h = 1e-7
    for alpha, beta in points:
        lo = (alpha - h * normal[0], beta - h * normal[1])
        hi = (alpha + h * normal[0], beta + h * normal[1])
        if phases_differ:
            assert plrf.phase(*lo) != plrf.phase(*hi), (lo, hi)
        eta_lo = plrf.compute_optimal_exponents(*lo)[1]
        eta_hi = plrf.compute_optimal_exponents(*hi)[1]
        # |∂η| <= ~3 inside the box, so a 2e-7 step moves η by < 1e-6; a jump would be O(0.01).
        assert abs(eta_lo - eta_hi) < 1e-5, (alpha, beta, eta_lo, eta_hi)


def test_ib_covers_the_triangle_below_alpha_quarter():
    # Not a row of the paper's table: 2β < 1, α < 1/4 is the Ib balance (F_pp = F0).
    alpha, beta = 0.15, 0.45
    assert plrf.phase(alpha, beta) == "Ib"
    xi, eta = plrf.compute_optimal_exponents(alpha, beta, method="balance")
    assert xi == pytest.approx(0.5, abs=1e-12)
    assert eta == pytest.approx((2 * alpha + 2 * beta - 1) / 2, abs=1e-12)


def test_phase_boundaries_curves():
    curves = plrf.phase_boundaries(alpha_max=2.0, beta_range=(-0.5, 2.0), n=50)
    assert set(curves) == {
        "admissible",
        "2alpha=1",
        "2beta=1",
        "alpha=beta",
        "alpha=1/4",
        "alpha_0",
    }
    for a, b in curves.values():
        assert a.shape == b.shape == (50,)
        assert a.min() >= 0.0 and a.max() <= 2.0 + 1e-12
        assert b.min() >= -0.5 - 1e-12 and b.max() <= 2.0 + 1e-12
    np.testing.assert_allclose(2 * curves["admissible"][0] + 2 * curves["admissible"][1], 1.0)
    np.testing.assert_allclose(curves["alpha_0"][0], 1 - 1 / math.sqrt(2))
    np.testing.assert_allclose(curves["alpha=beta"][0], curves["alpha=beta"][1])
    assert curves["alpha=1/4"][1].min() == pytest.approx(0.5)


# ------------------------------------------------------------------------------------------
# Validation
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("alpha", "beta", "name"),
    [(0.0, 1.0, "alpha"), (-1.0, 1.0, "alpha"), (0.5, 0.0, "beta"), (0.2, 0.29, "beta")],
)
def test_inadmissible_parameters_raise(alpha, beta, name):
    for fn in (plrf.phase, plrf.compute_optimal_exponents, plrf.scaling_terms):
        with pytest.raises(ValueError, match=name):
            fn(alpha, beta)
    with pytest.raises(ValueError, match=name):
        plrf.limit_level(alpha, beta, 10, 40)


def test_bad_values_and_sizes_raise():
    with pytest.raises(ValueError, match="alpha"):
        plrf.validate_parameters(float("nan"), 1.0)
    with pytest.raises(TypeError, match="alpha"):
        plrf.validate_parameters("one", 1.0)
    with pytest.raises(ValueError, match=r"d must be an integer >= 1, got 0"):
        plrf.limit_level(1.0, 1.0, 0, 10)
    with pytest.raises(ValueError, match=r"v must be an integer >= 11, got 10"):
        plrf.deterministic_equivalent_spectrum(1.0, 1.0, 10, 10)
    with pytest.raises(TypeError, match="d must be an integer"):
        plrf.limit_level(1.0, 1.0, 10.5, 40)
    with pytest.raises(ValueError, match="batch"):
        plrf.validate_parameters(1.0, 1.0, batch=0)
    with pytest.raises(ValueError, match="method"):
        plrf.compute_optimal_exponents(1.0, 1.0, method="guess")
    with pytest.raises(ValueError, match="v > d"):
        plrf.realised_spectrum(np.zeros((4, 4)), 1.0, 1.0)
    with pytest.raises(TypeError, match="float64"), jax.enable_x64(True):
        plrf.realised_spectrum(jnp.zeros((8, 4), jnp.float32), 1.0, 1.0)


def test_unstable_learning_rate_raises():
    spec = _realised(_embedding(0, 64, 16), 1.0, 0.7)
    lam_max = spec.eigenvalues.max()
    steps = np.array([0, 10])
    with pytest.raises(ValueError, match=r"learning_rate=.*need learning_rate < "):
        plrf.expected_loss(spec, 2.5 / lam_max, 1, steps)
    # γλ_max below the q-limit but ‖K‖ >= 1: a large batch-1 step on many modes.
    gamma = 1.9 / (2 * lam_max)
    assert float(plrf.kernel_norm(spec, gamma, 1)) >= 1.0
    with pytest.raises(ValueError, match=r"kernel norm .* need learning_rate < "):
        plrf.stability_check(spec, gamma, 1)
    with pytest.raises(ValueError, match="learning_rate must be > 0"):
        plrf.expected_loss(spec, -0.1, 1, steps)
    with pytest.raises(ValueError, match="batch"):
        plrf.expected_loss(spec, 0.1, 0, steps)
    with pytest.raises(ValueError, match="sorted"):
        plrf.expected_loss(spec, 0.1, 1, np.array([10, 0]))


def test_default_learning_rate():
    v = 400
    gamma = plrf.default_learning_rate(0.7, v, c=0.5)
    assert gamma * np.sum(np.arange(1, v + 1.0) ** -1.4) == pytest.approx(0.5, rel=1e-14)


def test_learning_rate_numpy_and_jit_agree():
    """One rule for floats (float64 numpy, validated) and traced values (jnp, under jit)."""
    v = 400
    j = np.arange(1, v + 1, dtype=np.float64)
    gamma = plrf.learning_rate(0.7, v, 0.5)
    assert isinstance(gamma, float)
    assert gamma == 0.5 / float(np.sum(j**-1.4))  # bit-identical to the float64 numpy sum
    assert plrf.default_learning_rate(0.7, v, c=0.5) == gamma
    assert plrf.power_law_trace(0.7, v) == float(np.sum(j**-1.4))
    with jax.enable_x64(True):
        traced = jax.jit(jax.vmap(lambda a, c: plrf.learning_rate(a, v, c)))(
            jnp.array([0.7, 1.0]), jnp.array([0.5, 0.25])
        )
        assert traced.dtype == jnp.float64
    np.testing.assert_allclose(np.asarray(traced), [gamma, 0.25 / np.sum(j**-2.0)], rtol=1e-14)
    with pytest.raises(ValueError, match="alpha must be > 0"):
        plrf.learning_rate(0.0, v)
    with pytest.raises(ValueError, match="lr_scale must be > 0"):
        plrf.learning_rate(0.7, v, -1.0)
    with pytest.raises(ValueError, match="v must be an integer"):
        plrf.learning_rate(0.7, 0)


@pytest.mark.parametrize(("alpha", "beta"), [(1.0, 0.3), (0.4, 0.3), (1.0, 2.0), (0.27, 1.0)])
def test_limit_level_exponent(alpha, beta):
    e = plrf.limit_level_exponent(alpha, beta)
    assert e == 2 * alpha - max(0.0, 1 - 2 * beta)
    assert plrf.scaling_terms(alpha, beta)["F0"] == (0.0, -e)
    # limit_level(d, v = 4d) falls as d^(-e) (up to slowly varying corrections).
    sizes = np.array([256, 512, 1024, 2048])
    levels = [plrf.limit_level(alpha, beta, int(d), 4 * int(d)) for d in sizes]
    slope = -np.polyfit(np.log(sizes), np.log(levels), 1)[0]
    assert slope == pytest.approx(e, abs=0.12)
    with pytest.raises(ValueError, match="beta"):
        plrf.limit_level_exponent(0.2, 0.2)


def test_exponent_maps():
    alphas = np.array([0.1, 0.7, 1.0])
    betas = np.array([0.0, 1.0])
    xi, eta = plrf.exponent_maps(alphas, betas)
    assert xi.shape == eta.shape == (2, 3)
    assert np.isnan(xi[0, 0]) and np.isnan(eta[0, 0])  # 2α + 2β = 0.2 <= 1: inadmissible
    assert (xi[1, 1], eta[1, 1]) == plrf.compute_optimal_exponents(0.7, 1.0)
    assert (xi[0, 2], eta[0, 2]) == plrf.compute_optimal_exponents(1.0, 0.0)


# ------------------------------------------------------------------------------------------
# Realised spectrum
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("alpha", "beta"), [(1.0, 0.7), (0.4, 0.3), (2.0, 1.0)])
def test_realised_spectrum_identities(alpha, beta):
    d, v = 96, 384
    W = _embedding(1, v, d)
    spec = _realised(W, alpha, beta)
    assert spec.counts.sum() == d
    j = np.arange(1, v + 1.0)
    A = W * j[:, None] ** -alpha
    c = j ** (-alpha - beta)
    theta, *_ = np.linalg.lstsq(A, c, rcond=None)
    p_star_brute = float(np.sum((A @ theta - c) ** 2))
    # At α = 2, P* ≈ 1e-9 ‖c‖²: the refined residual keeps ~10 digits.
    assert float(spec.p_star) == pytest.approx(p_star_brute, rel=1e-8)
    np.testing.assert_allclose(
        np.sort(spec.eigenvalues), np.linalg.eigvalsh(A.T @ A), rtol=1e-9, atol=1e-15
    )
    assert spec.target_mass.sum() + float(spec.p_star) == pytest.approx(c @ c, rel=1e-9)
    gamma = plrf.default_learning_rate(alpha, v)
    norm = plrf.stability_check(spec, gamma, 1)
    loss = plrf.expected_loss(spec, gamma, 1, np.array([0, 10**12]), method="blocks")
    assert loss[0] == pytest.approx(c @ c, rel=1e-12)
    assert loss[1] == pytest.approx(float(spec.p_star) / (1 - norm), rel=1e-6)


def test_realised_spectrum_jit_vmap_matches_single_calls():
    d, v = 32, 128
    Ws = np.stack([_embedding(s, v, d) for s in range(3)])
    alphas = np.array([0.4, 1.0, 1.5])
    betas = np.array([0.8, 0.7, 0.2])
    with jax.enable_x64(True):
        batched = jax.jit(jax.vmap(plrf.realised_spectrum))(jnp.asarray(Ws), alphas, betas)
    for i in range(3):
        single = _realised(Ws[i], float(alphas[i]), float(betas[i]))
        for got, want in zip(batched, single):
            np.testing.assert_allclose(np.asarray(got)[i], want, rtol=1e-9, atol=1e-14)


# ------------------------------------------------------------------------------------------
# Expected-loss dynamics
# ------------------------------------------------------------------------------------------
def _log_steps(max_steps, n):
    return np.unique(np.concatenate([[0], np.geomspace(1, max_steps, n).astype(np.int64)]))


@pytest.mark.parametrize(
    ("alpha", "beta", "batch", "source"),
    [
        (1.0, 0.7, 1, "realised"),
        (0.4, 0.8, 4, "realised"),
        (2.0, 1.0, 1, "realised"),
        (0.7, 1.0, 1, "de"),
    ],
)
def test_blocks_match_exact_recursion(alpha, beta, batch, source):
    d, v = 128, 512
    if source == "de":
        spec = plrf.deterministic_equivalent_spectrum(alpha, beta, d, v, n_grid=128)
    else:
        spec = _realised(_embedding(2, v, d), alpha, beta)
    gamma = plrf.default_learning_rate(alpha, v) / batch
    steps = _log_steps(100_000, 80)
    exact = plrf.expected_loss(spec, gamma, batch, steps, method="exact")
    blocks = plrf.expected_loss(spec, gamma, batch, steps, method="blocks")
    # Measured: max relative error over the whole curve 2e-6 .. 1.5e-4 (largest at α = 2).
    rel = np.abs(blocks / exact - 1)
    assert rel.max() < 1e-3, rel.max()
    assert exact[0] == pytest.approx(spec.target_mass.sum() + spec.p_star, rel=1e-12)


def test_expected_loss_curve_traces_once_for_new_hyperparameters():
    spec = _realised(_embedding(3, 64, 16), 1.0, 0.7)
    steps = _log_steps(1000, 10)
    traces = []

    def curve(spectrum, gamma, batch):
        traces.append(1)
        return plrf.expected_loss_curve(spectrum, gamma, batch, steps)

    with jax.enable_x64(True):
        f = jax.jit(curve)
        spec64 = plrf.Spectrum(*(jnp.asarray(x) for x in spec))
        a = f(spec64, 0.01, 1.0)
        b = f(spec64, 0.02, 2.0)
    assert len(traces) == 1
    assert not np.allclose(a, b)
    np.testing.assert_allclose(
        np.asarray(b), plrf.expected_loss(spec, 0.02, 2, steps, method="exact"), rtol=1e-4
    )


def test_recursion_matches_monte_carlo_sgd():
    """Brute-force one-pass SGD with batch 2 on explicit Gaussian data: the mean loss over
    4000 runs sits within 5 standard errors of the recursion at every checkpoint."""
    alpha, beta, d, v, batch = 1.0, 0.7, 8, 32, 2
    W = _embedding(4, v, d)
    spec = _realised(W, alpha, beta)
    gamma = 0.3 * plrf.default_learning_rate(alpha, v)
    steps = np.array([1, 3, 10, 30, 60])
    predicted = plrf.expected_loss(spec, gamma, batch, steps, method="exact")
    rng = np.random.default_rng(5)
    runs = 4000
    sd = np.arange(1, v + 1.0) ** -alpha
    b = np.arange(1, v + 1.0) ** -beta
    theta = np.zeros((runs, d))
    measured = []
    for r in range(1, steps[-1] + 1):
        x = rng.standard_normal((runs, batch, v)) * sd
        z = x @ W
        err = np.einsum("rbd,rd->rb", z, theta) - x @ b
        theta = theta - gamma * np.einsum("rbd,rb->rd", z, err)
        if r in steps:
            measured.append(np.sum(sd**2 * (theta @ W.T - b) ** 2, axis=1))
    measured = np.array(measured)
    z_scores = (measured.mean(1) - predicted) / (measured.std(1) / math.sqrt(runs))
    assert np.all(np.abs(z_scores) < 5), z_scores


# ------------------------------------------------------------------------------------------
# Deterministic equivalent
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("alpha", "beta"), [(1.0, 0.7), (0.27, 1.0), (1.5, 0.3), (0.2, 1.0)])
def test_deterministic_equivalent_identities(alpha, beta):
    d, v = 150, 600
    spec = plrf.deterministic_equivalent_spectrum(alpha, beta, d, v)
    assert spec.counts.sum() == pytest.approx(d, rel=1e-9)
    assert np.all(spec.counts >= 0) and np.all(spec.target_mass >= 0)
    # Mass conservation checks the binned continuous part against the atom P* (measured <= 3e-6
    # here, ~1e-6 over the plane).
    total = spec.target_mass.sum() + spec.p_star
    assert total == pytest.approx(_target_norm(alpha, beta, v), rel=1e-5)
    # limit_level finds κ by another route (bisection on Σσ/(σ+κ) = d).
    assert spec.p_star == pytest.approx(plrf.limit_level(alpha, beta, d, v), rel=1e-9)


def test_deterministic_equivalent_matches_average_over_realised_w():
    """DE vs the mean over 48 realised W at d = 256, v = 1024 (α, β) = (1, 0.7).

    Measured (this seed set): P*_realised / P*_DE = 1.01, standard error 0.016; loss curves
    within 4% everywhere, where the per-seed spread is up to ~15% (standard error of the mean
    ~2%). Allowance: 3 standard errors (statistics) + 2% (finite-d bias of the DE, measured
    0–2% for d = 100–800 with 64–512 seeds).
    """
    alpha, beta, d, v, seeds = 1.0, 0.7, 256, 1024, 48
    de = plrf.deterministic_equivalent_spectrum(alpha, beta, d, v, n_grid=256)
    gamma = plrf.default_learning_rate(alpha, v)
    steps = _log_steps(10**7, 40)
    de_loss = plrf.expected_loss(de, gamma, 1, steps)
    rng = np.random.default_rng(6)
    Ws = rng.standard_normal((seeds, v, d)) / math.sqrt(d)
    with jax.enable_x64(True):
        specs = jax.jit(jax.vmap(lambda W: plrf.realised_spectrum(W, alpha, beta)))(Ws)
        curves = jax.jit(jax.vmap(lambda s: plrf.expected_loss_curve(s, gamma, 1, steps)))(specs)
    p_star = np.asarray(specs.p_star)
    curves = np.asarray(curves)
    se = p_star.std() / math.sqrt(seeds) / p_star.mean()
    assert abs(p_star.mean() / de.p_star - 1) < 3 * se + 0.02
    mean = curves.mean(0)
    se_curve = curves.std(0) / math.sqrt(seeds) / mean
    assert np.all(np.abs(de_loss / mean - 1) < 3 * se_curve + 0.02)


def test_asymptotic_terms_match_deterministic_equivalent():
    """F_pp + F_ac and K_pp (leading order) against the DE's F(r) − P* and K(r).

    Measured at d = 1024, t ∈ [30, 1e4]: forcing within 4.0% (the deviation grows like
    t^(1/(2α))/d: 7.6% at d = 512), kernel within 1.3%.
    """
    alpha, beta, d, v = 1.5, 1.5, 1024, 4096
    de = plrf.deterministic_equivalent_spectrum(alpha, beta, d, v, n_grid=128)
    gamma = plrf.default_learning_rate(alpha, v)
    t = np.geomspace(30.0, 1e4, 8)
    with jax.enable_x64(True):
        forcing = np.asarray(plrf.forcing_function(de, gamma, 1, t / gamma)) - de.p_star
        kernel = np.asarray(plrf.kernel_function(de, gamma, 1, t / gamma))
    terms = plrf.asymptotic_terms(alpha, beta, d, t, gamma, 1, v=v)
    assert terms["F0"][0] == pytest.approx(de.p_star, rel=1e-9)
    np.testing.assert_allclose(forcing, terms["F_pp"] + terms["F_ac"], rtol=0.05)
    np.testing.assert_allclose(kernel, terms["K_pp"], rtol=0.02)
    # Without the F_ac term the forcing is off by > 40% at the end of the window.
    assert forcing[-1] / terms["F_pp"][-1] > 1.4
    low = plrf.asymptotic_terms(0.2, 1.0, d, t, gamma, 1)
    assert np.all(low["K_pp"] == 0) and np.all(low["F_ac"] == 0)


# ------------------------------------------------------------------------------------------
# Stability before simulation: the deterministic-equivalent kernel norm in closed form
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("alpha", "d", "batch"), [(0.7, 64, 1), (1.0, 32, 1), (0.4, 64, 1), (0.27, 32, 1), (2.0, 32, 4)]
)
def test_equivalent_kernel_norm_matches_the_binned_deterministic_equivalent(alpha, d, batch):
    """The closed form ‖K‖ = N(u) equals theory.plrf.kernel_norm of the binned deterministic-
    equivalent spectrum (an independent route: Stieltjes inversion and quadrature) below the limit,
    and the limit is where that kernel norm reaches 1 (or γ(B+1)λ₊ reaches 2)."""
    v = 4 * d
    limit = plrf.stability_limit(alpha, d, v, batch)
    spec = plrf.deterministic_equivalent_spectrum(alpha, 1.0, d, v)
    for frac in (0.05, 0.3, 0.7, 0.95):
        gamma = frac * limit.learning_rate
        closed = plrf.equivalent_kernel_norm(alpha, d, v, gamma, batch)
        with jax.enable_x64(True):
            binned = float(plrf.kernel_norm(spec, gamma, batch))
        assert closed == pytest.approx(binned, rel=1e-2), frac
    # Small γ: ‖K‖ ≈ γ tr(K̂)/2 = c/2 (the rule behind lr_scale).
    tiny = 1e-4 * limit.learning_rate
    trace = plrf.power_law_trace(alpha, v)
    norm = plrf.equivalent_kernel_norm(alpha, d, v, tiny, batch)
    assert norm == pytest.approx(tiny * trace / 2, rel=1e-3)
    # At the limit: ‖K‖ = 1, or the top edge.
    just_below = plrf.equivalent_kernel_norm(alpha, d, v, limit.learning_rate * (1 - 1e-9), batch)
    if limit.bound == "kernel norm":
        assert just_below == pytest.approx(1.0, rel=1e-5)
    else:
        assert limit.learning_rate * (batch + 1) * limit.lambda_max == pytest.approx(2.0)
    assert plrf.equivalent_kernel_norm(alpha, d, v, limit.learning_rate * 1.01, batch) >= 1.0
    assert limit.lr_scale == pytest.approx(limit.learning_rate * trace, rel=1e-12)
    assert limit.lambda_max > 1.0  # > σ_1: implies the crude bound γ(B+1) < 2


def test_equivalent_kernel_norm_is_the_mean_over_realised_embeddings():
    """Averaged over W, the realised ‖K‖ tends to the deterministic equivalent."""
    alpha, d, v = 0.7, 128, 512
    gamma = 0.6 * plrf.stability_limit(alpha, d, v).learning_rate
    realised = []
    for seed in range(4):
        spec = _realised(_embedding(seed, v, d), alpha, 1.0)
        with jax.enable_x64(True):
            realised.append(float(plrf.kernel_norm(spec, gamma, 1)))
    assert np.mean(realised) == pytest.approx(
        plrf.equivalent_kernel_norm(alpha, d, v, gamma), rel=0.03
    )


def test_kernel_norm_is_infinite_beyond_the_top_eigenvalue():
    spec = _realised(_embedding(0, 64, 16), 1.0, 0.7)
    lam_max = spec.eigenvalues.max()
    with jax.enable_x64(True):
        assert float(plrf.kernel_norm(spec, 1.01 / lam_max, 1)) == math.inf
        assert np.isfinite(float(plrf.kernel_norm(spec, 0.1 / lam_max, 1)))
    assert plrf.equivalent_kernel_norm(1.0, 16, 64, 10.0) == math.inf


def test_check_stable_names_the_parameter_and_the_admissible_range():
    limit = plrf.check_stable(0.7, 256, 1024, lr_scale=0.5)
    assert limit == plrf.stability_limit(0.7, 256, 1024)
    with pytest.raises(
        ValueError,
        match=r"^lr_scale=1\.9 is unstable for alpha=0\.7, d=256, v=1024, batch=1 \(kernel norm "
        r"\|\|K\|\| >= 1\); need 0 < lr_scale < 1\.441$",
    ):
        plrf.check_stable(0.7, 256, 1024, lr_scale=1.9)
    assert 1.441 < limit.lr_scale < 1.442  # the quoted bound is rounded down: admissible
    plrf.check_stable(0.7, 256, 1024, lr_scale=1.441)
    with pytest.raises(ValueError, match=r"learning_rate=5\.0 .*lambda_max >= 2"):
        plrf.check_stable(0.7, 256, 1024, learning_rate=5.0)
    with pytest.raises(ValueError, match="exactly one of lr_scale and learning_rate"):
        plrf.check_stable(0.7, 256, 1024, lr_scale=0.5, learning_rate=0.1)
    with pytest.raises(ValueError, match="v must be an integer >= 257"):
        plrf.stability_limit(0.7, 256, 256)
    with pytest.raises(ValueError, match="alpha must be > 0"):
        plrf.stability_limit(-0.7, 256, 1024)
    with pytest.raises(ValueError, match="batch must be"):
        plrf.stability_limit(0.7, 256, 1024, 0)


def test_stability_is_fast_and_bounded_for_any_size():
    """Huge v (4·10⁸) costs milliseconds and no O(v) memory: sums beyond 2^16 terms are binned
    (continuous across the switch), the trace beyond 2^22 by Euler–Maclaurin (exact below)."""
    import time

    a = plrf.stability_limit(0.7, 2**14, 2**16)
    b = plrf.stability_limit(0.7, 2**14, 2**16 + 1)
    assert b.lr_scale == pytest.approx(a.lr_scale, rel=1e-6)
    start = time.perf_counter()
    plrf.stability_limit(0.4, 10**8, 4 * 10**8)
    assert time.perf_counter() - start < 2.0
    for p in (0.4, 1.0, 1.4, 2.0):
        for v in (1, 1000, 2**22):
            exact = float(np.sum(np.arange(1, v + 1, dtype=np.float64) ** -p))
            assert plrf.power_sum(p, v) == exact  # the same sum below 2^22 terms
        v = 2**22 + 12345
        exact = float(np.sum(np.arange(1, v + 1, dtype=np.float64) ** -p))
        assert plrf.power_sum(p, v) == pytest.approx(exact, rel=1e-13)
