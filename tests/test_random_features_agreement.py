"""Simulations of random-feature regression against the theory, statistically: ridge vs the
deterministic equivalent, the plateau, variance-limited slopes, BAP flow vs simulated curves."""

import math

import numpy as np
import pytest

from simulations import fit, sweep
from simulations import random_features as rfs
from theory import random_features as rft


def _theory(m, b, a):
    return rft.latent_spectrum(m, b), rft.target_power(m, a)


def test_ridge_matches_deterministic_equivalent():
    """Mean of batched float64 simulations vs ``ridge_loss`` at moderate sizes (M = 256).

    The teacher-averaged test loss has a seed-to-seed spread of ~2%, so 24 seeds give a
    standard error of ~0.4%. The allowance is 4 standard errors plus 2.5% for the finite-size
    excess of the simulations over the deterministic equivalent, measured at these sizes as
    +0.1% to +1.5% away from the threshold (it grows near N = T, and shrinks with size: +1.3%,
    +0.5%, +0.55% at N/T = 3/4 for M = 256, 512, 1024). The train loss is not teacher-averaged
    (spread ~15%), same rule.
    """
    m, b, a, noise = 256, 1.5, 1.5, 1e-4
    lam, v2 = _theory(m, b, a)
    cases = [  # (n_features, n_samples, ridge, pad)
        ((48, 96), (192,), 0.0, True),
        ((192,), (48, 96), 0.0, True),
        ((96,), (192,), 1.0, False),
    ]
    for nf, ns, ridge, pad in cases:
        r = rfs.simulate_ridge(
            m,
            nf,
            ns,
            b=b,
            a=a,
            ridge=ridge,
            noise=noise,
            seeds=24,
            pad=pad,
            teacher_average=True,
            name=f"test-de-{pad}",
        )
        for i, n in enumerate(nf):
            for j, t in enumerate(ns):
                sol = rft.ridge_solution(lam, v2, n, t, ridge, noise)
                for key, th in (("test_loss_avg", sol.test_loss), ("train_loss", sol.train_loss)):
                    sim = r[key][i, j, 0]
                    mean, se = sim.mean(), sim.std(ddof=1) / math.sqrt(sim.size)
                    # (+1e-12: the training loss is 0 up to rounding when interpolating)
                    assert abs(mean - th) <= 4 * se + 0.025 * th + 1e-12, (key, n, t, mean / th)


def test_plateau_once_features_and_samples_exceed_latent_dimension():
    # linear features span the M-dimensional latent space: with min(N, T) >= M ridgeless
    # regression recovers the teacher exactly (noiseless), or is OLS in M dimensions (noisy)
    m, t, noise = 64, 256, 1e-2
    grid = sweep.Grid.product(
        static=dict(n_latent=m, n_features=128, n_samples=t),
        swept=dict(b=2.0, a=2.0, ridge=0.0, noise=[0.0, noise], features_used=[32.0, 128.0]),
        seeds=32,
    )
    ds = sweep.run_sweep(rfs.build_ridge, grid, name="test-plateau", progress=False).groups[0]
    loss = ds["test_loss"].values.reshape(2, 2, 32)  # (noise, N, seeds)
    signal = np.sum(rft.target_power(m, 2.0))
    assert np.all(loss[0, 1] < 1e-9 * signal)  # N = 128 >= M, T >= M, noiseless: exact
    expected = noise / (1 - m / t)  # = rft.ridge_loss(..., 128, 256, 0, noise)
    sim = loss[1, 1]
    assert abs(sim.mean() - expected) <= 4 * sim.std(ddof=1) / math.sqrt(sim.size)
    # below the plateau (N = 32 < M) the loss is far above the noise-free floor
    assert np.all(loss[0, 0] > 1e-3 * signal)


def test_variance_limited_slopes_are_one():
    """Bahri's variance-limited regime: loss minus the same seed's unlimited-resource loss
    falls as 1/T (N = 8 fixed) and 1/N (T = 8 fixed); theory at these sizes gives 1.056
    (the fit of (n'/n − 1)^(−1) over n'/n = 8..64; 1 asymptotically). The bootstrap interval
    (16 seeds) is ~±0.15; the test asks the measured exponent to be within 0.2 of theory (a
    slope of 0.5 or 2 would fail)."""
    m, b, a = 128, 2.0, 2.0
    lam, v2 = _theory(m, b, a)
    sizes = np.array([64, 128, 256, 512])
    r = rfs.simulate_ridge(
        m, [8], sizes, b=b, a=a, seeds=16, limits="samples", pad=True, name="test-var-t"
    )
    excess = (r["test_loss"] - r["test_loss_inf_samples"])[0, :, 0, :].T
    assert (excess > 0).all()  # the T = inf solution is the optimum: excess risk >= 0
    measured = fit.bootstrap_power_law(sizes, excess, n_boot=300).exponent
    lim = rft.ridge_loss(lam, v2, 8, math.inf)
    th = fit.fit_power_law(sizes, [rft.ridge_loss(lam, v2, 8, t) - lim for t in sizes]).exponent
    assert th == pytest.approx(1.056, abs=0.005)
    assert abs(measured - th) < 0.2

    r = rfs.simulate_ridge(
        m, sizes, [8], b=b, a=a, seeds=16, limits="features", pad=True, name="test-var-n"
    )
    raw = (r["test_loss"] - r["test_loss_inf_features"])[:, 0, 0, :].T
    excess = raw - r["control_inf_features"][:, 0, 0, :].T
    # the control variate has zero mean: it removes noise, not signal
    assert abs(excess.mean() - raw.mean()) < 3 * raw.std() / math.sqrt(raw.size)
    assert excess.std() < raw.std()
    measured = rfs.bootstrap_mean_power_law(sizes, excess, n_boot=300).exponent
    assert abs(measured - th) < 0.2


@pytest.mark.parametrize("n_samples", [200, math.inf])
def test_bap_flow_theory_matches_simulation(n_samples):
    """BAP large-size theory vs the mean of teacher-averaged flow curves (M = 300, N = 100).

    The teacher-averaged curves vary by ~5% between seeds (features and data only): 24 seeds,
    standard error ~1%. Allowance: 4 standard errors plus 3% for the O(1/N) finite-size
    deviation (measured 1-2.5% at N = 100, T = 200; smaller at T = inf).
    """
    m, b, a, noise = 300, 1.5, 1.8, 1e-4
    lam, v2 = _theory(m, b, a)
    g = rfs.simulate_gradient_descent(
        m,
        [100],
        n_samples,
        10_000,
        b=b,
        a=a,
        noise=noise,
        learning_rate=1.0,
        flow=True,
        n_checkpoints=6,
        seeds=24,
        name="test-bap",
    )
    theory = rft.gradient_flow_loss(lam, v2, 100, n_samples, g["times"], noise)
    sim = g["test_loss_avg"][0]
    mean, se = sim.mean(0), sim.std(0, ddof=1) / math.sqrt(sim.shape[0])
    assert (np.abs(mean - theory.test) <= 4 * se + 0.03 * theory.test).all(), mean / theory.test
    # the realised-teacher curves have the same mean (with a larger spread)
    raw = g["test_loss"][0]
    assert (np.abs(raw.mean(0) - mean) <= 4 * raw.std(0) / math.sqrt(raw.shape[0])).all()
    if math.isfinite(n_samples):
        tr = g["train_loss"][0]
        mean, se = tr.mean(0), tr.std(0, ddof=1) / math.sqrt(tr.shape[0])
        assert (np.abs(mean - theory.train) <= 4 * se + 0.03 * theory.train).all()
        assert theory.train[-1] < theory.test[-1]  # the train-test gap of data reuse
