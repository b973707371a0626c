"""simulations.random_features.model and the builders: exact identities of one run, draws,
padding, eager validation of static parameters and configs."""

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from simulations import random_features as rfs
from simulations import steps, sweep
from simulations.random_features import model
from theory import random_features as rft


def _reference(key, m, n, t, b=1.5, a=2.0, noise_sd=0.1):
    """The draw of a run, rebuilt in numpy from model.normals (same key, same order)."""
    with jax.enable_x64(True):
        g = [np.asarray(v) for v in model.normals(key, [(m,), (n, m), (t, m), (t,)], jnp.float64)]
    k = np.arange(1, m + 1.0)
    lam = k**-b
    w = np.sqrt(k ** (b - a) / m) * g[0]
    x = g[2] * np.sqrt(lam)
    y = x @ w + noise_sd * g[3]
    return lam, w, g[1], x, y


@pytest.mark.parametrize("nested", ["features", "samples"])
def test_nested_sizes_reuse_one_draw_exactly(nested):
    # each nested size is the ridgeless solution on the prefix of the same draw (numpy check)
    m, n, t = 24, 16, 20
    static = dict(
        n_latent=m,
        n_features=n,
        n_samples=t,
        nested=nested,
        nested_sizes="4,8,16" if nested == "features" else "4,8,20",
        limits="samples" if nested == "features" else "features",
    )
    with jax.enable_x64(True):
        p = {
            k: jnp.asarray(v, jnp.float64)
            for k, v in dict(b=1.5, a=2.0, ridge=0.0, noise=1e-2).items()
        }
        out = jax.jit(rfs.build_nested_ridge(static).run)(jax.random.key(5), p)
    lam, w, f_all, x, y = _reference(jax.random.key(5), m, n, t)
    sizes = [int(v) for v in static["nested_sizes"].split(",")]
    for i, size in enumerate(sizes):
        nn, tt = (size, t) if nested == "features" else (n, size)
        f = f_all[:nn]
        z = x[:tt] @ f.T / math.sqrt(nn)
        beta = np.linalg.lstsq(z, y[:tt], rcond=None)[0]  # min-norm least squares
        d = w - f.T @ beta / math.sqrt(nn)
        assert out["test_loss"][i] == pytest.approx(d @ (lam * d) + 1e-2, rel=1e-7)
    if nested == "features":  # T = inf limit of the same features: sum v^2 minus projection
        f = f_all[:16]
        s_pop, c = (f * lam) @ f.T / 16, (f * lam) @ w / 4.0
        assert out["test_loss_inf_samples"][-1] == pytest.approx(
            w @ (lam * w) - c @ np.linalg.solve(s_pop, c) + 1e-2, rel=1e-7
        )


def test_ridge_run_solves_ridge_exactly():
    m, n, t = 24, 10, 30
    p = dict(b=1.5, a=2.0, ridge=0.3, noise=1e-2)
    with jax.enable_x64(True):
        pj = {k: jnp.asarray(v, jnp.float64) for k, v in p.items()}
        key = jax.random.key(11)
        run = rfs.build_ridge(dict(n_latent=m, n_features=n, n_samples=t)).run
        assert run.func is model.ridge_run  # the builder binds the static sizes
        direct = jax.jit(run)(key, pj)
    lam, w, f, x, y = _reference(key, m, n, t)
    z = x @ f.T / math.sqrt(n)
    beta = np.linalg.solve(z.T @ z + 0.3 * np.eye(n), z.T @ y)
    d = w - f.T @ beta / math.sqrt(n)
    assert float(direct["test_loss"]) == pytest.approx(d @ (lam * d) + 1e-2, rel=1e-9)
    assert float(direct["train_loss"]) == pytest.approx(np.mean((z @ beta - y) ** 2), rel=1e-9)


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


@pytest.mark.parametrize("n_samples", [30, math.inf])
def test_gradient_descent_scan_matches_eigenbasis(n_samples):
    # explicit steps in a loop vs the same iteration evaluated in the eigenbasis
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
    lam, w, f, x, y = _reference(jax.random.key(3), m, n, t)
    times = 0.5 * steps.log_steps(1000, 5, zero=False).astype(float)
    ref = rft.realised_loss_curve(lam, w, f, times=times, data=x, labels=y, noise=1e-2)
    np.testing.assert_allclose(out["test_loss"], ref.test, rtol=1e-9)
    np.testing.assert_allclose(out["train_loss"], ref.train, rtol=1e-9)


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
        rfs.build_gradient_descent(dict(n_latent=8, n_features=4, n_samples=4, max_steps=0))
    with pytest.raises(ValueError, match="nested_sizes"):
        rfs.build_nested_ridge(dict(n_latent=8, n_features=4, n_samples=4, nested_sizes="2,8"))
    with pytest.raises(ValueError, match="nested"):
        rfs.simulate_nested_ridge(8, [2, 4], 4, nested="both", b=2.0, a=2.0)


def test_presets_and_config_validation():
    for cls in (rfs.CompareConfig, rfs.RunConfig):
        assert cls.preset("default") == cls()
        for name in ("quick", "default", "paper"):
            cls.preset(name).validate()
        with pytest.raises(ValueError, match="preset"):
            cls.preset("huge")
    assert rfs.QUICK == rfs.CompareConfig.preset("quick")
    assert rfs.DEFAULT == rfs.CompareConfig()
    quick = rfs.QUICK
    bad = {
        "settings": ((2.0, 0.5),),
        "res_sizes": (16, 16, 32),
        "big": 64,  # not above res_sizes
        "var_sizes": (8, 64),  # not above var_small
        "gf_window": (300.0, 3.0),
        "seeds": 1,
    }
    for field, value in bad.items():
        with pytest.raises((ValueError, TypeError), match=field if field != "settings" else "a"):
            dataclasses.replace(quick, **{field: value}).validate()
    with pytest.raises(ValueError, match="b must be > 1"):
        rfs.RunConfig(b=1.0).validate()
    with pytest.raises(ValueError, match="features"):
        rfs.RunConfig(features="cosine").validate()
    assert rfs.RunConfig(b=1.5).source == 1.5
    assert rfs.RunConfig(b=1.5, a=2.0).source == 2.0
