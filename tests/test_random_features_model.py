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
from simulations.results import count_diverged
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


# --------------------------------------------------------------------------------------------
# issue 9: inputs checked before compiling, divergence flagged, memory refused up front
# --------------------------------------------------------------------------------------------

_OK = dict(b=2.0, a=2.0)


def _ridge(name, *, nf=(8,), ns=(16,), **kw):
    kw = {**_OK, "seeds": 2, **kw}
    return lambda: rfs.simulate_ridge(32, list(nf), list(ns), name=name, **kw)


def _gd(name, *, n=16, t=64, **kw):
    args = {**_OK, "learning_rate": 0.2, **kw}
    return lambda: rfs.simulate_gradient_descent(32, [n], t, 50, seeds=2, name=name, **args)


def _grid_sweep(build, static, swept, name):
    grid = sweep.Grid.product(static=static, swept=swept, seeds=2)
    return lambda: sweep.run_sweep(build, grid, name=name, progress=False)


_RIDGE_STATIC = dict(n_latent=32, n_features=8, n_samples=16)
_RIDGE_POINT = dict(b=2.0, a=2.0, ridge=0.0, noise=0.0)

# (case, call(name), expected message fragment) - every one must fail before any tracing
BAD_INPUTS = [
    ("a = nan", lambda n: _ridge(n, a=math.nan), "a must be finite, got nan"),
    ("b <= 1", lambda n: _ridge(n, b=0.5), "b must be > 1, got 0.5"),
    ("a <= 1", lambda n: _ridge(n, a=1.0), "a must be > 1"),
    ("b = inf", lambda n: _ridge(n, b=math.inf), "b must be finite"),
    ("negative ridge", lambda n: _ridge(n, ridge=[0.1, -1.0]), "ridge must be >= 0, got -1.0"),
    ("noise not a number", lambda n: _ridge(n, noise="x"), "noise must be a real number"),
    ("zero features", lambda n: _ridge(n, nf=(0,)), "n_features must be an integer >= 1"),
    ("fractional samples", lambda n: _ridge(n, ns=(16.5,)), "n_samples must be an integer"),
    ("unknown feature map", lambda n: _ridge(n, features="cosine"), "features must be one of"),
    ("relu without test set", lambda n: _ridge(n, features="relu"), "n_test must be >= 1"),
    ("bad pad", lambda n: _ridge(n, pad="both"), "pad must be True, False"),
    ("zero seeds", lambda n: _ridge(n, seeds=0), "seeds must be an integer >= 1"),
    (
        "teacher overflows float32",
        lambda n: _ridge(n, b=40.0, x64=False),
        "b - a must be <=",
    ),
    (
        "unstable learning rate",
        lambda n: _gd(n, learning_rate=2.0),
        "learning_rate must be < 1.7",
    ),
    ("negative learning rate", lambda n: _gd(n, learning_rate=-0.1), "learning_rate must be > 0"),
    ("unknown method", lambda n: _gd(n, method="adam"), "method must be one of"),
    (
        "zero max_steps",
        lambda n: lambda: rfs.simulate_gradient_descent(8, [4], 4, 0, **_OK),
        "max_steps must be an integer >= 1",
    ),
    (
        "unknown nested direction",
        lambda n: lambda: rfs.simulate_nested_ridge(8, [2, 4], 4, nested="both", name=n, **_OK),
        "nested must be one of",
    ),
    (
        "swept name the model does not have",
        lambda n: _grid_sweep(rfs.build_ridge, _RIDGE_STATIC, {**_RIDGE_POINT, "lr": 0.1}, n),
        "'lr' is not a swept parameter",
    ),
    (
        "missing swept noise",
        lambda n: _grid_sweep(rfs.build_ridge, _RIDGE_STATIC, dict(b=2.0, a=2.0, ridge=0.0), n),
        "'noise' is required",
    ),
    (
        "features_used above n_features",
        lambda n: _grid_sweep(
            rfs.build_ridge, _RIDGE_STATIC, {**_RIDGE_POINT, "features_used": 9.0}, n
        ),
        "features_used must be an integer in [1, n_features = 8]",
    ),
    (
        "samples_used with the population",
        lambda n: _grid_sweep(
            rfs.build_gradient_descent,
            dict(n_latent=8, n_features=4, n_samples=math.inf, max_steps=10),
            dict(b=2.0, a=2.0, noise=0.0, learning_rate=0.1, samples_used=4.0),
            n,
        ),
        "samples_used needs a finite n_samples",
    ),
    (
        "exact covariance of relu features",
        lambda n: _grid_sweep(
            rfs.build_spectrum,
            dict(n_latent=8, n_features=4, n_samples=math.inf, features="relu"),
            dict(b=2.0, a=2.0),
            n,
        ),
        "only available for linear features",
    ),
    (
        "spectrum b = 1",
        lambda n: lambda: rfs.simulate_spectrum(8, 4, math.inf, b=1.0, name=n),
        "b must be > 1",
    ),
]


@pytest.mark.parametrize("case, call, message", BAD_INPUTS, ids=[c[0] for c in BAD_INPUTS])
def test_bad_inputs_are_one_line_errors_before_tracing(case, call, message):
    name = f"test-bad-{case}"
    with pytest.raises((ValueError, TypeError)) as err:
        call(name)()
    text = str(err.value)
    assert message in text, text
    assert "\n" not in text
    assert sweep.trace_count(name) == 0  # nothing was traced (so nothing compiled)


def test_config_validation_is_one_line():
    cases = [
        (rfs.RunConfig(a=math.nan), "a must be finite"),
        (rfs.RunConfig(n_latent=0), "n_latent"),
        (rfs.RunConfig(b=200.0, a=2.0), "b - a must be <="),
        (dataclasses.replace(rfs.QUICK, settings=((300.0, 2.0),)), "b - a must be <="),
        (dataclasses.replace(rfs.QUICK, gf_sizes=(16, 8)), "gf_sizes"),
        (dataclasses.replace(rfs.QUICK, n_boot=0), "n_boot"),
    ]
    for cfg, message in cases:
        with pytest.raises((ValueError, TypeError), match=message.replace("(", r"\(")) as err:
            cfg.validate()
        assert "\n" not in str(err.value)


def test_learning_rate_bound_comes_from_the_theory():
    static = dict(n_latent=64, n_features=64, n_samples=64, max_steps=10)
    exp = rfs.build_gradient_descent(static)
    bound = rft.max_learning_rate(rft.latent_spectrum(64, 2.0), 16, 64)
    point = dict(b=2.0, a=2.0, noise=0.0, features_used=16.0)
    exp.validate({**point, "learning_rate": 0.99 * bound})
    with pytest.raises(ValueError, match=f"learning_rate must be < {bound:.4g}"):
        exp.validate({**point, "learning_rate": 1.01 * bound})
    # the bound is that of the size actually used (more features: a larger bound)
    exp.validate({**point, "learning_rate": 1.01 * bound, "features_used": 64.0})
    # gradient flow: the learning rate is only the time unit
    rfs.build_gradient_descent({**static, "flow": 1}).validate({**point, "learning_rate": 50.0})


def test_unstable_draws_are_flagged_finite_but_diverged():
    """One feature: the realised top eigenvalue ``Σ λ_k F_k²`` fluctuates around the theory's
    ``1 + Σλ``; at a step just inside the theory's bound, the draws above ``2/η`` blow up by
    ``|1 − η e|^(2k)``: finite (1e20-1e200 in float64) but flagged by the training-loss bound."""
    m, steps = 64, 100
    lr = 0.98 * rft.max_learning_rate(rft.latent_spectrum(m, 2.0), 1, math.inf)
    static = dict(n_latent=m, n_features=1, n_samples=math.inf, max_steps=steps, n_checkpoints=8)
    grid = sweep.Grid.product(
        static=static, swept=dict(b=2.0, a=2.0, noise=0.0, learning_rate=lr), seeds=32
    )
    ds = sweep.run_sweep(rfs.build_gradient_descent, grid, name="test-rf-blowup", progress=False)
    ds = ds.groups[0]
    diverged = ds["diverged"].values[0]
    finite = ds["finite"].values[0]
    train = ds["train_loss"].values[0]  # (seeds, checkpoints), unmasked
    assert 0 < diverged.sum() < 16, diverged.sum()
    assert finite.all()  # the bound, not the non-finite check, caught them
    null = np.sum(rft.target_power(m, 2.0))
    assert (train[diverged].max(axis=1) >= 1e3 * null).all()
    assert (train[~diverged] <= 10 * null).all()  # the others decrease from E[y²]
    assert count_diverged(ds).tolist() == [int(diverged.sum())]


def test_train_loss_bound_is_never_crossed_by_converged_runs():
    # ridge near the interpolation peak (huge test loss, legitimately) is not flagged
    r = rfs.simulate_ridge(64, [32], [32], b=2.0, a=2.0, noise=1e-2, seeds=8, name="test-peak")
    assert not r["diverged"].any()
    assert np.nanmax(r["test_loss"]) > 10 * r["train_loss"].max()
    bound = rfs.train_loss_blowup(16)
    with jax.enable_x64(True):
        p = {k: jnp.asarray(v) for k, v in dict(b=2.0, a=2.0, noise=0.0).items()}
        null = float(np.sum(rft.target_power(16, 2.0)))
        assert not bool(bound({"train_loss": jnp.asarray([0.999e3 * null])}, p))
        assert bool(bound({"train_loss": jnp.asarray([1e-3, 1.001e3 * null])}, p))


def test_memory_estimate_refuses_sizes_that_cannot_fit():
    static = dict(n_latent=10**6, n_features=10**6, n_samples=10**6)
    exp = rfs.build_ridge(static)
    assert exp.bytes_per_run == rfs.ridge_bytes(10**6, 10**6, 10**6)
    assert exp.bytes_per_run > 8 * 3 * 10**12  # at least F, X and Z in float64
    grid = sweep.Grid.product(static=static, swept=_RIDGE_POINT)
    with pytest.raises(ValueError, match=r"n_latent=1000000.*one run needs about") as err:
        sweep.run_sweep(rfs.build_ridge, grid, name="test-rf-huge", progress=False)
    assert "\n" not in str(err.value)
    assert sweep.trace_count("test-rf-huge") == 0
    # the per-run estimate grows with every size it depends on
    base = rfs.ridge_bytes(64, 32, 48)
    for kw in (dict(m=128), dict(n=64), dict(t=96)):
        args = {**dict(m=64, n=32, t=48), **kw}
        assert rfs.ridge_bytes(args["m"], args["n"], args["t"]) > base
    assert rfs.ridge_bytes(64, 32, 48, teacher_average=True) > base
    assert rfs.ridge_bytes(64, 32, 48, features="relu", n_test=100) > base
    assert rfs.descent_bytes(64, 32, 48, n_checkpoints=10) > rfs.descent_bytes(
        64, 32, math.inf, n_checkpoints=10
    )
