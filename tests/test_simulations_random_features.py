"""Tests of simulations.random_features: simulations against theory, exact identities, commands."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from simulations import compare, fit, sweep
from simulations import random_features as rfs
from theory import random_features as rft


def _theory(m, b, a):
    return rft.latent_spectrum(m, b), rft.target_power(m, a)


# --------------------------------------------------------------------------------------------
# ridge regression against the deterministic equivalent
# --------------------------------------------------------------------------------------------


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
            m, nf, ns, b=b, a=a, ridge=ridge, noise=noise, seeds=24, pad=pad,
            teacher_average=True, name=f"test-de-{pad}",
        )  # fmt: skip
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
    measured = rfs._bootstrap_mean_power_law(sizes, excess, n_boot=300).exponent
    assert abs(measured - th) < 0.2


@pytest.mark.parametrize("nested", ["features", "samples"])
def test_nested_sizes_reuse_one_draw_exactly(nested):
    # each nested size is the ridgeless solution on the prefix of the same draw (numpy check)
    m, n, t = 24, 16, 20
    static = dict(n_latent=m, n_features=n, n_samples=t, nested=nested, nested_sizes="4,8,16",
                  limits="samples" if nested == "features" else "features")  # fmt: skip
    if nested == "samples":
        static["nested_sizes"] = "4,8,20"
    with jax.enable_x64(True):
        p = {k: jnp.asarray(v, jnp.float64) for k, v in dict(b=1.5, a=2.0, ridge=0.0,
                                                             noise=1e-2).items()}  # fmt: skip
        out = jax.jit(rfs.build_nested_ridge(static).run)(jax.random.key(5), p)
        g = [np.asarray(v) for v in rfs._normals(jax.random.key(5), [(m,), (n, m), (t, m), (t,)],
                                                   jnp.float64)]  # fmt: skip
    k = np.arange(1, m + 1.0)
    lam = k**-1.5
    w = np.sqrt(k ** (1.5 - 2.0) / m) * g[0]
    x = g[2] * np.sqrt(lam)
    y = x @ w + 0.1 * g[3]
    sizes = [int(v) for v in static["nested_sizes"].split(",")]
    for i, size in enumerate(sizes):
        nn, tt = (size, t) if nested == "features" else (n, size)
        f = g[1][:nn]
        z = x[:tt] @ f.T / math.sqrt(nn)
        beta = np.linalg.lstsq(z, y[:tt], rcond=None)[0]  # min-norm least squares
        d = w - f.T @ beta / math.sqrt(nn)
        assert out["test_loss"][i] == pytest.approx(d @ (lam * d) + 1e-2, rel=1e-7)
    if nested == "features":  # T = inf limit of the same features: sum v^2 minus projection
        f = g[1][:16]
        s_pop, c = (f * lam) @ f.T / 16, (f * lam) @ w / 4.0
        assert out["test_loss_inf_samples"][-1] == pytest.approx(
            w @ (lam * w) - c @ np.linalg.solve(s_pop, c) + 1e-2, rel=1e-7
        )


def test_pad_sweep_compiles_once():
    name = "test-pad-trace"
    before = sweep.trace_count(name)
    rfs.simulate_ridge(64, [8, 16, 32], [40, 80], b=2.0, a=2.0, seeds=2, pad=True, name=name)
    assert sweep.trace_count(name) - before == 1


def test_nonlinear_features_run_and_learn():
    r = rfs.simulate_ridge(
        64, [128], [256], b=2.0, a=2.0, features="relu", n_test=512, seeds=2, name="test-relu"
    )
    signal = np.sum(rft.target_power(64, 2.0))
    assert np.isfinite(r["test_loss"]).all()
    assert (r["test_loss"] < 0.5 * signal).all()


# --------------------------------------------------------------------------------------------
# gradient descent / flow
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("n_samples", [30, math.inf])
def test_gradient_descent_scan_matches_eigenbasis(n_samples):
    # explicit steps in a lax.scan vs the same iteration evaluated in the eigenbasis
    static = dict(n_latent=40, n_features=12, n_samples=n_samples, max_steps=300, n_checkpoints=4)
    params = dict(b=1.5, a=2.0, noise=1e-2, learning_rate=0.3)
    out = {}
    with jax.enable_x64(True):
        p = {k: jnp.asarray(v, jnp.float64) for k, v in params.items()}
        for method in ("scan", "eigen"):
            exp = rfs.build_gradient_descent({**static, "method": method})
            out[method] = jax.jit(exp.run)(jax.random.key(7), p)
    for k in ("test_loss", "train_loss"):
        np.testing.assert_allclose(out["scan"][k], out["eigen"][k], rtol=1e-9)


def test_flow_matches_numpy_realised_curve():
    # the JAX eigenbasis flow equals theory.realised_loss_curve on the same realisation
    m, n, t = 40, 12, 30
    static = dict(n_latent=m, n_features=n, n_samples=t, max_steps=1000, n_checkpoints=5)
    with jax.enable_x64(True):
        p = {
            k: jnp.asarray(v, jnp.float64)
            for k, v in dict(b=1.5, a=2.0, noise=1e-2, learning_rate=0.5).items()
        }
        out = jax.jit(rfs.build_gradient_descent({**static, "flow": 1}).run)(jax.random.key(3), p)
        g = [np.asarray(v) for v in rfs._normals(jax.random.key(3), [(m,), (n, m), (t, m), (t,)],
                                                   jnp.float64)]  # fmt: skip
    k = np.arange(1, m + 1.0)
    lam = k**-1.5
    w = np.sqrt(k ** (1.5 - 2.0) / m) * g[0]
    x = g[2] * np.sqrt(lam)
    y = x @ w + 0.1 * g[3]
    times = 0.5 * np.array(rfs.log_checkpoints(1000, 5), dtype=float)
    ref = rft.realised_loss_curve(lam, w, g[1], times=times, data=x, labels=y, noise=1e-2)
    np.testing.assert_allclose(out["test_loss"], ref.test, rtol=1e-9)
    np.testing.assert_allclose(out["train_loss"], ref.train, rtol=1e-9)


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
        m, [100], n_samples, 10_000, b=b, a=a, noise=noise, learning_rate=1.0, flow=True,
        n_checkpoints=6, seeds=24, name="test-bap",
    )  # fmt: skip
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


# --------------------------------------------------------------------------------------------
# spectra, inputs, command
# --------------------------------------------------------------------------------------------


def test_nonlinear_features_extend_the_spectrum_past_m():
    m, n = 32, 256
    lin = rfs.simulate_spectrum(m, n, math.inf, b=2.0, features="linear")[0]
    relu = rfs.simulate_spectrum(m, n, 8192, b=2.0, features="relu")[0]
    assert lin.shape == relu.shape == (n,)
    assert np.all(np.diff(lin) <= 1e-12)  # descending
    # rank M: the linear spectrum ends at M ...
    assert np.all(np.abs(lin[m:]) < 1e-10 * lin[0])
    assert lin[m - 1] > 1e-6 * lin[0]
    # ... while ReLU features keep a power-law tail well past M (above the 1/T sampling floor)
    assert relu[2 * m] > 1e-3 * relu[1]


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="features"):
        rfs.build_ridge(dict(n_latent=8, n_features=4, n_samples=4, features="cosine"))
    with pytest.raises(ValueError, match="n_samples"):
        rfs.build_ridge(dict(n_latent=8, n_features=4, n_samples=math.inf))
    with pytest.raises(ValueError, match="n_test"):
        rfs.build_ridge(dict(n_latent=8, n_features=4, n_samples=4, features="relu"))
    with pytest.raises(ValueError, match="n_features"):
        rfs.build_ridge(dict(n_latent=8, n_features=0, n_samples=4))
    with pytest.raises(ValueError, match="flow"):
        rfs.build_gradient_descent(
            dict(n_latent=8, n_features=4, n_samples=4, max_steps=10, method="scan", flow=1)
        )
    with pytest.raises(ValueError, match="ridge"):
        rfs.simulate_ridge(8, [4], [4], b=2.0, a=2.0, ridge=-1.0)
    with pytest.raises(ValueError, match="learning_rate"):
        rfs.simulate_gradient_descent(8, [4], 4, 10, b=2.0, a=2.0, learning_rate=0.0)
    with pytest.raises(ValueError, match="max_steps"):
        rfs.log_checkpoints(0, 5)
    with pytest.raises(ValueError, match="nested_sizes"):
        rfs.build_nested_ridge(dict(n_latent=8, n_features=4, n_samples=4, nested_sizes="2,8"))
    with pytest.raises(ValueError, match="nested"):
        rfs.simulate_nested_ridge(8, [2, 4], 4, nested="both", b=2.0, a=2.0)


def test_compare_command_quick(tmp_path):
    rows = rfs.compare_command(tmp_path, quick=True)
    back = compare.read_comparison_csv(tmp_path / "comparison.csv")
    assert back == rows
    assert (tmp_path / "random_features_compare.png").stat().st_size > 10_000
    quantities = [r.quantity for r in rows]
    assert quantities == [
        "e_N",
        "e_T",
        "variance exponent in T",
        "variance exponent in N",
        "e_t",
        "compute_N",
        "compute_t",
        "compute_loss",
    ]
    for r in rows:
        assert set(r.params) == set(rfs.PARAM_NAMES)
        assert math.isfinite(r.measured) and math.isfinite(r.predicted)
        assert r.ci_low <= r.measured <= r.ci_high
        # quick sizes, 4-8 seeds: loose, but a wrong exponent (e.g. 0.5 for 1) fails
        assert abs(r.measured - r.predicted) < 0.3, r
        assert abs(r.predicted - float(r.extras["asymptote"])) < 0.1, r
    e_t = rows[quantities.index("e_t")]
    assert abs(e_t.measured - e_t.predicted) < 0.05
