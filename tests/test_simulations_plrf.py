"""PLRF SGD simulators (simulations/plrf.py): exactness of the eigenbasis shortcut, agreement with
the exact expected-loss recursion given the realised W, sweep integration, validation, divergence.

Statistical tests compare means over seeds with a tolerance of 4 standard errors at every
checkpoint. Runs are paired where possible (same W per seed, independent SGD noise), so the
standard error is that of the per-seed difference. Under the null the largest of ~15 correlated
|z| values exceeds 4 with probability < 1e-3; each test also shows that a wrong learning rate is
detected at the same sample size, so the tolerance is not vacuous.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from simulations import plrf, sweep
from theory import plrf as theory_plrf

Z_TOL = 4.0
WRONG_LR = 0.7  # a 30% learning-rate error must be detected at the same sample size


def _keys(n, seed=0):
    return jax.vmap(lambda i: jax.random.fold_in(jax.random.key(seed), i))(jnp.arange(n))


def _paired_z(a, b):
    """z-score of mean(a − b) per column (a, b: (n_seeds, n_checkpoints))."""
    diff = np.asarray(a, np.float64) - np.asarray(b, np.float64)
    se = diff.std(axis=0, ddof=1) / np.sqrt(diff.shape[0])
    return diff.mean(axis=0) / se


# ------------------------------------------------------------------------------------------
# Checkpoints and validation
# ------------------------------------------------------------------------------------------
def test_log_checkpoints():
    ck = plrf.log_checkpoints(1000, 10)
    assert ck.dtype == np.int64
    assert ck[0] == 0 and ck[-1] == 1000
    assert np.all(np.diff(ck) > 0)
    np.testing.assert_array_equal(plrf.log_checkpoints(5, 50), np.arange(6))
    big = ck[ck >= 10]
    ratios = big[1:] / big[:-1]  # geometric once rounding to integers no longer matters
    np.testing.assert_allclose(ratios, (1000 / big[0]) ** (1 / (len(big) - 1)), rtol=0.05)
    with pytest.raises(ValueError, match="max_steps"):
        plrf.log_checkpoints(0, 10)
    with pytest.raises(ValueError, match="n must be"):
        plrf.log_checkpoints(10, 1)


@pytest.mark.parametrize(
    ("static", "match"),
    [
        ({"d": 0, "max_steps": 10}, "d must be"),
        ({"d": 8, "v": 8, "max_steps": 10}, "v must be > d"),
        ({"d": 8, "v_ratio": 1.0, "max_steps": 10}, "v_ratio must be > 1"),
        ({"d": 8, "v": 20, "v_ratio": 2, "max_steps": 10}, "either v or v_ratio"),
        ({"d": 8, "max_steps": 0}, "max_steps must be"),
        ({"d": 8, "max_steps": 10, "batch": 0}, "batch must be"),
        ({"d": 8, "max_steps": 10, "n_checkpoints": 1}, "n_checkpoints must be"),
        ({"d": 8, "max_steps": 10, "path": "fast"}, "path must be one of"),
        ({"d": 8, "max_steps": 10, "dtype": "float16"}, "dtype must be one of"),
        ({"d": 8, "max_steps": 10, "width": 3}, "unknown static"),
        ({"max_steps": 10}, "d .* is required"),
    ],
)
def test_bad_static_raises_before_tracing(static, match):
    name = "plrf-bad-static"
    grid = sweep.Grid.product(static=static, swept={"alpha": 1.0, "beta": 0.7})
    with pytest.raises(ValueError, match=match):
        plrf.validate_static(static)
    with pytest.raises(ValueError, match=match):
        plrf.build_sgd(static)
    with pytest.raises(ValueError, match=match):
        sweep.run_sweep(plrf.build_sgd, grid, name=name, progress=False)
    assert sweep.trace_count(name) == 0


def test_bad_types_raise():
    with pytest.raises(TypeError, match="d must be an integer"):
        plrf.validate_static({"d": 8.0, "max_steps": 10})
    with pytest.raises(TypeError, match="alpha must be a real number"):
        plrf.validate_point("a", 0.5, v=32)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"alpha": 0.0, "beta": 1.0}, "alpha must be > 0, got 0.0"),
        ({"alpha": -1.0, "beta": 2.0}, "alpha must be > 0"),
        ({"alpha": 0.3, "beta": 0.1}, r"2\*alpha \+ 2\*beta must be > 1"),
        ({"alpha": 1.0, "beta": 0.7, "lr_scale": 0.0}, "lr_scale must be > 0"),
        ({"alpha": 0.4, "beta": 0.7, "lr_scale": 2.5}, "kernel norm"),
        ({"alpha": 1.0, "beta": 0.7, "learning_rate": 1.5}, "too large for stability"),
        ({"alpha": 1.0, "beta": 0.7, "learning_rate": 0.5, "batch": 4}, "batch=4"),
        ({"alpha": 1.0, "beta": 0.7, "learning_rate": -0.1}, "learning_rate must be > 0"),
        ({"alpha": 1.0, "beta": 0.7, "lr_scale": 0.5, "learning_rate": 0.1}, "not both"),
        ({"alpha": float("nan"), "beta": 0.7}, "alpha must be finite"),
    ],
)
def test_bad_points_raise(kwargs, match):
    kwargs = {"v": 64, **kwargs}
    with pytest.raises(ValueError, match=match):
        plrf.validate_point(**kwargs)


def test_bad_checkpoints_raise():
    ones = jnp.ones(4)
    problem = plrf.EigenbasisProblem(ones, ones, jnp.asarray(0.1), jnp.asarray(4.1))
    for bad in ([1, 5, 10], [0, 5, 5], [0.0, 1.0], [0]):
        with pytest.raises(ValueError, match="checkpoints"):
            plrf.sgd_eigenbasis(jax.random.key(1), problem, 0.1, batch=1, checkpoints=bad)
    with pytest.raises(ValueError, match="batch must be"):
        plrf.sgd_eigenbasis(jax.random.key(1), problem, 0.1, batch=0, checkpoints=[0, 1])


def test_validate_point_returns_learning_rate():
    gamma = plrf.validate_point(1.0, 0.7, v=64, lr_scale=0.5)
    j = np.arange(1, 65)
    np.testing.assert_allclose(gamma, 0.5 / np.sum(j**-2.0), rtol=1e-12)
    assert plrf.validate_point(1.0, 0.7, v=64, learning_rate=0.1) == 0.1
    assert plrf.validate_point(0.3, 0.4, v=64) > 0  # beta < 1/2 and alpha < 1/2 is admissible


def test_validate_grid():
    good = sweep.Grid.product(
        static={"d": [8, 16], "max_steps": 10},
        swept={"alpha": [0.6, 1.0], "beta": [0.7, 1.2], "lr_scale": [0.25, 0.5]},
    )
    plrf.validate_grid(good)
    bad_point = sweep.Grid.zipped(
        static={"d": 8, "max_steps": 10}, points={"alpha": [1.0, 0.2], "beta": [0.7, 0.2]}
    )
    with pytest.raises(ValueError, match="2\\*alpha \\+ 2\\*beta"):
        plrf.validate_grid(bad_point)
    with pytest.raises(ValueError, match="beta must be given"):
        plrf.validate_grid(sweep.Grid.product(static={"d": 8, "max_steps": 10}, swept={"alpha": 1}))
    with pytest.raises(ValueError, match="not both"):
        plrf.validate_grid(
            sweep.Grid.product(
                static={"d": 8, "max_steps": 10},
                swept={"alpha": 1.0, "beta": 0.7, "lr_scale": 0.5, "learning_rate": 0.1},
            )
        )
    with pytest.raises(ValueError, match="unknown parameter"):
        plrf.validate_grid(
            sweep.Grid.product(static={"d": 8, "max_steps": 10}, swept={"alpha": 1, "gamma": 1})
        )


# ------------------------------------------------------------------------------------------
# The realised problem
# ------------------------------------------------------------------------------------------
def test_eigenbasis_problem_matches_dense_linear_algebra():
    """K̂'s spectrum, c and P* from the blocked float64 computation equal dense numpy on the same W
    (including a v that needs several row blocks with padding), and theory.plrf.realised_spectrum
    on that W gives the same spectrum, target masses (= c²) and P*."""
    d, v, alpha, beta = 100, 3000, 0.8, 0.6  # 2**18 // 100 = 2621 rows per block: 2 blocks
    key = jax.random.key(3)
    with jax.enable_x64(True):
        prob = jax.jit(lambda k: plrf.eigenbasis_problem(k, alpha, beta, v, d))(key)
        w64 = np.asarray(plrf.sample_embedding(key, v, d, jnp.float64))
    w32 = np.asarray(plrf.sample_embedding(key, v, d))
    assert w32.dtype == np.float32 and w64.dtype == np.float64
    np.testing.assert_allclose(w32, w64, rtol=1e-6, atol=0)  # same realised W in both dtypes
    assert abs(w64.var() * d - 1) < 0.01 and abs(w64.mean()) < 0.01
    j = np.arange(1, v + 1, dtype=np.float64)
    dj, b = j ** (-2 * alpha), j ** (-beta)
    kern = w64.T @ (dj[:, None] * w64)
    np.testing.assert_allclose(np.asarray(prob.eigenvalues), np.linalg.eigvalsh(kern), rtol=1e-9)
    theta, *_ = np.linalg.lstsq(np.sqrt(dj)[:, None] * w64, np.sqrt(dj) * b, rcond=None)
    p_star = np.sum(dj * (w64 @ theta - b) ** 2)
    np.testing.assert_allclose(float(prob.p_star), p_star, rtol=1e-8)
    np.testing.assert_allclose(float(prob.initial_loss), np.sum(dj * b**2), rtol=1e-12)
    # Loss decomposition at θ = 0: ‖c‖² + s² = bᵀDb.
    c2 = np.sum(np.asarray(prob.c, np.float64) ** 2)
    np.testing.assert_allclose(c2 + float(prob.p_star), np.sum(dj * b**2), rtol=1e-12)
    with jax.enable_x64(True):
        spec = theory_plrf.realised_spectrum(jnp.asarray(w64), alpha, beta)
        spec = [np.asarray(x) for x in spec]
    np.testing.assert_allclose(spec[0], np.asarray(prob.eigenvalues), rtol=1e-9)
    np.testing.assert_allclose(spec[1], np.asarray(prob.c, np.float64) ** 2, rtol=1e-7, atol=1e-18)
    np.testing.assert_allclose(spec[3], float(prob.p_star), rtol=1e-8)


def test_embedding_does_not_depend_on_global_prng_mode():
    key = jax.random.key(5)
    with jax.threefry_partitionable(True):
        w1 = np.asarray(plrf.sample_embedding(key, 20, 6))
    with jax.threefry_partitionable(False):
        w2 = np.asarray(plrf.sample_embedding(key, 20, 6))
    np.testing.assert_array_equal(w1, w2)


# ------------------------------------------------------------------------------------------
# (a) eigenbasis vs explicit features, same W per seed
# ------------------------------------------------------------------------------------------
def _both_paths(d, v, batch, max_steps, n_checkpoints):
    ck = plrf.log_checkpoints(max_steps, n_checkpoints)

    def run(key, alpha, beta, lr_scale, explicit_lr_factor):
        key_w, key_sgd = jax.random.split(key)
        k_eig, k_exp = jax.random.split(key_sgd)
        gamma = plrf.learning_rate_from_scale(alpha, v, lr_scale)
        problem = plrf.eigenbasis_problem(key_w, alpha, beta, v, d)
        eig = plrf.sgd_eigenbasis(k_eig, problem, gamma, batch=batch, checkpoints=ck)
        w = plrf.sample_embedding(key_w, v, d)
        exp = plrf.sgd_explicit(
            k_exp, w, alpha, beta, gamma * explicit_lr_factor, batch=batch, checkpoints=ck
        )
        return eig, exp

    return jax.jit(jax.vmap(run, in_axes=(0, None, None, None, None))), ck


def _check_paths_agree(d, v, batch, seeds, max_steps, alpha, beta, lr_scale=0.25):
    fn, ck = _both_paths(d, v, batch, max_steps, 14)
    keys = _keys(seeds, seed=d)
    with jax.enable_x64(True):
        eig, exp = (np.asarray(x) for x in fn(keys, alpha, beta, lr_scale, 1.0))
        bad_eig, bad_exp = (np.asarray(x) for x in fn(keys, alpha, beta, lr_scale, WRONG_LR))
    assert eig.dtype == np.float32 and eig.shape == (seeds, len(ck))
    # Step 0 is deterministic (bᵀDb): equal up to float32 rounding.
    np.testing.assert_allclose(eig[:, 0], exp[:, 0], rtol=1e-5)
    z = _paired_z(eig[:, 1:], exp[:, 1:])
    z_bad = _paired_z(bad_eig[:, 1:], bad_exp[:, 1:])
    print(
        f"eigenbasis vs explicit (d={d}, B={batch}): max|z| = {np.abs(z).max():.2f}; "
        f"explicit with {WRONG_LR}x learning rate: max|z| = {np.abs(z_bad).max():.2f}"
    )
    assert np.abs(z).max() < Z_TOL, z
    assert np.abs(z_bad).max() > Z_TOL, z_bad  # the comparison has the power to fail
    assert eig[:, -1].mean() < 0.05 * eig[:, 0].mean()  # and the runs did learn


def test_eigenbasis_matches_explicit_in_distribution():
    _check_paths_agree(d=24, v=96, batch=1, seeds=256, max_steps=2000, alpha=1.0, beta=0.7)


@pytest.mark.slow
def test_eigenbasis_matches_explicit_in_distribution_large():
    _check_paths_agree(d=48, v=192, batch=1, seeds=512, max_steps=5000, alpha=0.8, beta=1.2)
    _check_paths_agree(d=32, v=160, batch=4, seeds=512, max_steps=3000, alpha=1.0, beta=0.4)


# ------------------------------------------------------------------------------------------
# Sweep integration: one trace per static group, divergence flagged, labels
# ------------------------------------------------------------------------------------------
SWEEP_NAME = "plrf-test-sweep"
SWEEP_GRID = sweep.Grid.zipped(
    static={"d": [8, 12], "v_ratio": 3, "max_steps": 300, "n_checkpoints": 8},
    points={
        "alpha": [1.0, 0.6, 1.5, 1.0],
        "beta": [0.7, 1.2, 0.2, 0.7],
        "learning_rate": [0.1, 0.05, 0.3, 20.0],  # the last one diverges
    },
    seeds=3,
)


@pytest.fixture(scope="module")
def small_sweep():
    before = sweep.trace_count(SWEEP_NAME)
    result = sweep.run_sweep(
        plrf.build_sgd, SWEEP_GRID, name=SWEEP_NAME, chunk_size=5, progress=False
    )
    return result, sweep.trace_count(SWEEP_NAME) - before


def test_one_trace_per_static_group(small_sweep):
    result, traces = small_sweep
    # 2 static groups x 12 rows in chunks of 5 (3 chunks each, the last padded): 2 traces.
    assert traces == 2
    assert len(result.groups) == 2


def test_sweep_labels_and_outputs(small_sweep):
    result, _ = small_sweep
    ds = result.group(d=12)
    steps = plrf.log_checkpoints(300, 8)
    assert ds["loss"].dims == ("point", "seed", "checkpoint")
    np.testing.assert_array_equal(ds["checkpoint"].values, steps)
    assert ds["loss"].dtype == np.float32
    v = 36
    j = np.arange(1, v + 1)
    for point in range(3):
        a, b = float(ds["alpha"][point]), float(ds["beta"][point])
        np.testing.assert_allclose(
            ds["loss"][point, :, 0], np.sum(j ** (-2 * a - 2 * b)), rtol=1e-5
        )
        np.testing.assert_allclose(ds["gamma"][point], ds["learning_rate"][point])
    # Same W per seed across checkpoints; P* is a floor of every run's exact loss.
    assert (ds["loss"][:3].min("checkpoint") >= ds["p_star"][:3] * (1 - 1e-5)).all()
    labelled = plrf.with_compute_coords(ds)
    np.testing.assert_array_equal(labelled["step"].values, steps)
    np.testing.assert_array_equal(labelled["compute"].values, 12 * 1 * steps)


def test_diverging_learning_rate_is_flagged_not_fatal(small_sweep):
    result, _ = small_sweep
    for ds in result.groups:
        finite = ds["finite"].values
        np.testing.assert_array_equal(finite[:3], True)
        np.testing.assert_array_equal(finite[3], False)
        assert np.isfinite(ds["loss"].values[:3]).all()
        assert not np.isfinite(ds["loss"].values[3]).all()
        masked = sweep.mask_diverged(ds)
        assert np.isnan(masked["loss"].values[3]).all()
        # The well-behaved runs learn: final loss well below the initial loss.
        assert (ds["loss"].values[:3, :, -1] < 0.5 * ds["loss"].values[:3, :, 0]).all()


# ------------------------------------------------------------------------------------------
# (b), (c) SGD vs the exact expected-loss recursion given the same realised W
# ------------------------------------------------------------------------------------------
@functools.partial(jax.jit, static_argnames=("batch", "num_steps"))
def _exact_curves(w, alpha, beta, gamma, steps, batch, num_steps):
    def one(w):
        spectrum = theory_plrf.realised_spectrum(w, alpha, beta)
        curve = theory_plrf.expected_loss_curve_exact(spectrum, gamma, batch, num_steps)
        return curve[steps], spectrum.p_star

    return jax.vmap(one)(w)


def _exact_expected(grid, seeds, alpha, beta, gammas, batch, steps):
    """theory.plrf's exact per-step recursion for each seed's own W (re-sampled from the sweep's
    run keys), for each learning rate: curves (len(gammas), seeds, len(steps)) and P* (seeds,)."""
    with jax.enable_x64(True):
        w = plrf.run_embedding(grid, np.arange(seeds), dtype=jnp.float64)
        out = [_exact_curves(w, alpha, beta, g, steps, batch, int(steps[-1])) for g in gammas]
        return np.stack([np.asarray(c) for c, _ in out]), np.asarray(out[0][1])


def _check_sgd_vs_exact(alpha, beta, d, seeds, max_steps, batch=1, dtype="float32", expected=True):
    kwargs = dict(
        v_ratio=4,
        batch=batch,
        lr_scale=0.25,
        max_steps=max_steps,
        n_checkpoints=14,
        seeds=seeds,
        dtype=dtype,
    )
    ds = plrf.simulate(alpha, beta, d, expected=expected, **kwargs)
    grid = plrf.simulation_grid(alpha, beta, d, **kwargs)
    steps = ds["checkpoint"].values
    gamma = float(ds["gamma"][0])
    (exact, wrong), p_star = _exact_expected(
        grid, seeds, alpha, beta, (gamma, WRONG_LR * gamma), batch, steps
    )
    # The SGD runs used the W that run_embedding re-samples: same P* as the theory's.
    np.testing.assert_allclose(ds["p_star"].values, p_star, rtol=1e-8)
    loss = ds["loss"].values
    assert loss.dtype == np.dtype(dtype)
    assert ds["finite"].values.all()
    if expected:
        # build_expected (run in its own sweep over the same grid) saw the same W per seed: its
        # curves, from theory's block integrator, match the exact recursion on run_embedding's W.
        np.testing.assert_allclose(ds["expected_loss"].values, exact, rtol=1e-4)
        assert (ds["kernel_norm"].values < 0.5).all()
    rtol0 = 1e-12 if dtype == "float64" else 1e-5
    np.testing.assert_allclose(loss[:, 0], exact[:, 0], rtol=rtol0)
    z = _paired_z(loss[:, 1:], exact[:, 1:])
    z_bad = _paired_z(loss[:, 1:], wrong[:, 1:])
    print(
        f"SGD ({dtype}, d={d}, B={batch}, {seeds} seeds) vs exact expected loss: "
        f"max|z| = {np.abs(z).max():.2f}, max rel. dev. of the mean = "
        f"{np.abs(loss.mean(0) / exact.mean(0) - 1).max():.3f}; "
        f"vs theory at {WRONG_LR}x learning rate: max|z| = {np.abs(z_bad).max():.2f}"
    )
    assert np.abs(z).max() < Z_TOL, z
    assert np.abs(z_bad).max() > Z_TOL, z_bad
    return ds


def test_sgd_matches_exact_expected_loss():
    ds = _check_sgd_vs_exact(alpha=1.0, beta=0.7, d=50, seeds=256, max_steps=3000)
    assert ds["loss"].dims == ("seed", "checkpoint")
    np.testing.assert_array_equal(ds["compute"].values, 50 * ds["step"].values)
    assert ds["loss"].values[:, -1].mean() < 0.05 * ds["loss"].values[:, 0].mean()


def test_float64_sgd_matches_exact_expected_loss():
    _check_sgd_vs_exact(
        alpha=1.0, beta=0.7, d=50, seeds=128, max_steps=3000, dtype="float64", expected=False
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    ("alpha", "beta", "batch"), [(1.0, 0.3, 1), (0.7, 1.0, 1), (0.4, 0.8, 4), (1.0, 2.0, 2)]
)
def test_sgd_matches_exact_expected_loss_large(alpha, beta, batch):
    _check_sgd_vs_exact(alpha=alpha, beta=beta, d=100, seeds=1024, max_steps=10000, batch=batch)
