"""PLRF simulation vs theory: the eigenbasis shortcut against explicit features (in distribution),
and SGD against the exact expected-loss recursion given the same realised W.

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

from simulations import plrf
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
