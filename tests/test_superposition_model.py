"""simulations.superposition model and experiment: optimiser rule, loss, one run, exact padding,
chunking, validation."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from simulations import superposition as sp
from simulations import sweep
from simulations.superposition import model
from theory import superposition as theory


# --- optimiser -----------------------------------------------------------------------------------
def test_signed_weight_decay_matches_hand_computation():
    w = jnp.array([[3.0, 4.0], [0.3, 0.4], [0.0, 0.0]])  # row norms 5, 0.5, 0
    zeros = jnp.zeros_like(w)
    for gamma in (-0.5, 0.5):
        tx = model.signed_weight_decay(gamma)
        upd, _ = tx.update(zeros, tx.init(w), w)
        if gamma < 0:
            # gamma W_i (1/||W_i|| - 1): row 1: -0.5 (0.2 - 1) [3, 4]; row 2: -0.5 (2 - 1) [.3, .4]
            expected = [[1.2, 1.6], [-0.15, -0.2], [0.0, 0.0]]
        else:
            expected = [[1.5, 2.0], [0.15, 0.2], [0.0, 0.0]]
        np.testing.assert_allclose(upd, expected, rtol=1e-6, atol=1e-7)


def test_optimizer_step_applies_decay_to_w_only_with_the_scheduled_lr():
    w = jnp.array([[3.0, 4.0], [0.3, 0.4]])
    params = {"W": w, "b": jnp.array([2.0, -1.0])}
    lr, gamma, steps, warmup = 0.1, -1.0, 100, 10
    opt = model.make_optimizer(lr, gamma, steps=steps, warmup=warmup)
    state = opt.init(params)
    zero_grads = jax.tree.map(jnp.zeros_like, params)  # Adam's update is exactly 0
    upd, state = opt.update(zero_grads, state, params)
    new = optax.apply_updates(params, upd)
    eta = lr * (1 / warmup)  # first update: warm-up multiplier 1/warmup
    # paper's rule for gamma < 0: W_i <- W_i - eta gamma W_i (1/||W_i|| - 1)
    norms = np.array([5.0, 0.5])[:, None]
    expected = np.asarray(w) - eta * gamma * np.asarray(w) * (1 / norms - 1)
    np.testing.assert_allclose(new["W"], expected, rtol=1e-6)
    np.testing.assert_allclose(new["b"], params["b"])  # no decay on b
    assert np.all(np.abs(np.linalg.norm(new["W"], axis=1) - 1) < np.abs(norms[:, 0] - 1))


def test_lr_multiplier_warmup_and_cosine():
    steps, warmup = 1000, 100
    mult = [float(model.lr_multiplier(t, steps, warmup)) for t in (0, 49, 99, 100, 550, 1000)]
    assert mult[0] == pytest.approx(0.01)
    assert mult[1] == pytest.approx(0.5)
    assert mult[2] == pytest.approx(1.0)
    assert mult[3] == pytest.approx(1.0)
    assert mult[4] == pytest.approx(0.05 + 0.95 * 0.5, rel=1e-5)  # half-way through the decay
    assert mult[5] == pytest.approx(0.05, rel=1e-5)


# --- loss ----------------------------------------------------------------------------------------
def _p(n=50, alpha=1.0):
    return jnp.asarray(theory.frequencies(n, alpha), jnp.float32)


def test_sparse_loss_and_gradient_equal_dense():
    n, m, batch = 40, 6, 256
    key = jax.random.key(0)
    p = _p(n, 0.5)
    max_active, budget = model.slot_sizes(batch, 1.35)
    xs = jax.jit(lambda k: model.sample_sparse_features(k, p, batch, max_active, budget))(key)
    assert int(xs.n_truncated) == 0
    xd = model.sparse_to_dense(xs, n)
    params = {
        "W": jax.random.normal(jax.random.key(1), (n, m)) / math.sqrt(m),
        "b": 0.1 * jax.random.normal(jax.random.key(2), (n,)),
    }
    ls, gs = jax.jit(jax.value_and_grad(model.sparse_toy_model_loss))(params, xs)
    ld, gd = jax.jit(jax.value_and_grad(model.toy_model_loss))(params, xd)
    assert float(ls) == pytest.approx(float(ld), rel=1e-5)
    for k in ("W", "b"):
        np.testing.assert_allclose(gs[k], gd[k], rtol=1e-4, atol=1e-6)


def test_row_statistics_by_hand():
    w = jnp.array([[1.0, 0.0], [0.0, 2.0], [0.3, 0.0], [0.0, 0.0]])  # norms 1, 2, 0.3, 0
    stats = model.row_statistics(w)
    np.testing.assert_allclose(stats["row_norms"], [1.0, 2.0, 0.3, 0.0])
    assert float(stats["phi_half"]) == 0.5 and float(stats["phi_one"]) == 0.25
    # represented rows (norm > 1/2): 1 and 2, orthogonal: mean cos^2 = 0
    assert int(stats["count_represented"]) == 2 and float(stats["overlap_sq_represented"]) == 0
    assert int(stats["count_strong"]) == 1 and float(stats["overlap_sq_strong"]) == 0  # no pair
    assert float(stats["norm_hist"].sum()) == pytest.approx(1.0)
    assert float(stats["norm_hist"][-1]) == 0.25  # norm 2 lands in the last bin


# --- one run -------------------------------------------------------------------------------------
_TINY = {"n": 64, "steps": 60, "batch": 32, "eval_batches": 2, "n_checkpoints": 8}


def test_padded_widths_are_exact():
    """A width-8 run padded to 16 columns equals the unpadded run (same key): masking is exact."""
    key = jax.random.key(7)
    params = {"gamma": jnp.float32(-1.0), "alpha": jnp.float32(1.0)}
    plain = jax.jit(lambda k, p: model.simulate(k, p, {**_TINY, "m": 8}))(key, params)
    padded = jax.jit(sp.build({**_TINY, "m_max": 16}).run)(key, {**params, "m": jnp.float32(8.0)})
    assert plain["loss_curve"].shape == (8,) and plain["row_norms"].shape == (64,)
    assert plain["norm_hist"].shape == (model.HIST_BINS,)
    assert int(plain["n_truncated"]) == 0
    for name in ("final_loss", "loss_curve", "row_norms", "overlap_sq_represented", "phi_half"):
        np.testing.assert_allclose(padded[name], plain[name], rtol=2e-4, atol=1e-6, err_msg=name)


def test_results_do_not_depend_on_chunking_and_compile_once():
    """Two widths padded into one program, rows cut into chunks of 3 or of 4."""
    grid = sp.make_grid(
        widths=[4, 8],
        gammas=[-1.0, 0.5],
        alphas=[1.0],
        seeds=2,
        pad_widths=True,
        **{**_TINY, "steps": 30},
    )
    name = "superposition-chunk-test"
    before = sweep.trace_count(name)
    r1 = sweep.run_sweep(sp.build, grid, chunk_size=3, progress=False, name=name)
    assert sweep.trace_count(name) - before == 1  # every width and setting: one program
    r2 = sweep.run_sweep(sp.build, grid, chunk_size=4, progress=False, name=name + "-b")
    for a, b in zip(r1.groups, r2.groups, strict=True):
        for var in ("final_loss", "loss_curve", "row_norms", "phi_half"):
            np.testing.assert_allclose(a[var].values, b[var].values, rtol=1e-5, err_msg=var)
        assert a["finite"].values.all()
        assert int(a["n_truncated"].values.sum()) == 0
    data = sp.tidy(r1)
    assert data["final_loss"].shape == (2, 2, 2)  # (setting, m, seed)
    assert list(data["m"].values) == [4, 8]
    assert list(data["gamma"].values) == [-1.0, 0.5]
    np.testing.assert_array_equal(data["step"].values, [1, 2, 3, 4, 7, 11, 18, 30])


# --- validation ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"widths": []}, "widths"),
        ({"widths": [4, 4]}, "widths"),
        ({"widths": [100]}, "m must be <= n"),
        ({"gammas": [float("nan")]}, "gamma"),
        ({"alphas": [-0.5]}, "alpha"),
        ({"laws": ["zipf"]}, "law"),
        ({"steps": 0}, "steps"),
        ({"batch": 0}, "batch"),
        ({"lr": -1.0}, "lr"),
        ({"density": 5.0, "alphas": [2.0]}, "density"),
        ({"warmup": 60}, "warmup"),
    ],
)
def test_bad_inputs_raise_before_tracing(kwargs, match):
    args = {"n": 64, "widths": [4, 8], "gammas": [-1.0], "alphas": [1.0], "steps": 60, "batch": 8}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        sp.make_grid(**args)


def test_build_rejects_bad_static():
    with pytest.raises(ValueError, match="exactly one"):
        sp.build({"n": 10, "steps": 5, "batch": 4})
    with pytest.raises(ValueError, match="n"):
        sp.build({"m": 2, "steps": 5, "batch": 4})
    with pytest.raises(ValueError, match="max_rate"):
        sp.build({"n": 10, "m": 2, "steps": 5, "batch": 4, "max_rate": 0.0})
    with pytest.raises(ValueError, match="lr_rule"):
        sp.build({"n": 10, "m": 2, "steps": 5, "batch": 4, "lr_rule": "sqrt"})


def test_simulate_requires_the_swept_width_when_padded():
    with pytest.raises(ValueError, match="m"):
        model.simulate(jax.random.key(0), {"gamma": jnp.float32(1.0)}, {**_TINY, "m_max": 8})


# --- limits: stability, divergence bound, memory -------------------------------------------------
@pytest.mark.parametrize("gamma_sign", [-1.0, 1.0])
def test_weight_decay_is_stable_exactly_below_the_theory_limit(gamma_sign):
    """Decay-only steps (zero gradients: Adam's update is 0) of the real optimiser: row norms
    settle (to 1 for gamma < 0, to 0 for gamma > 0) iff |gamma| < max_stable_weight_decay(lr)."""
    lr = 0.05
    limit = theory.max_stable_weight_decay(lr)
    w = jnp.array([[0.6, 0.8], [0.9, 1.2]])  # row norms 1, 1.5
    params = {"W": w, "b": jnp.zeros(2)}
    zero = jax.tree.map(jnp.zeros_like, params)
    target = 1.0 if gamma_sign < 0 else 0.0
    drift = {}
    for ratio in (0.95, 1.05):
        opt = model.make_optimizer(lr, gamma_sign * ratio * limit, steps=10**6, warmup=1)
        state, theta = opt.init(params), params
        for _ in range(40):  # the cosine schedule stays ~1 over these steps
            upd, state = opt.update(zero, state, theta)
            theta = optax.apply_updates(theta, upd)
        drift[ratio] = float(jnp.max(jnp.abs(jnp.linalg.norm(theta["W"], axis=1) - target)))
    assert drift[0.95] < 0.5 and drift[1.05] > 1.0, drift


_STATIC = {"n": 64, "m": 8, "steps": 60, "batch": 32}


@pytest.mark.parametrize(
    ("point", "static", "match"),
    [
        ({"alpha": 1.0}, _STATIC, "must include"),
        ({"gamma": 0.0, "beta": 1.0}, _STATIC, "swept parameters must be among"),
        ({"gamma": 0.0, "m": 4.0}, _STATIC, "swept parameters must be among"),
        ({"gamma": math.inf}, _STATIC, "gamma"),
        ({"gamma": 0.0, "alpha": -1.0}, _STATIC, "alpha"),
        ({"gamma": 0.0, "law_code": 1.5}, _STATIC, "law_code"),
        ({"gamma": 0.0, "lr": 0.0}, _STATIC, "lr"),
        ({"gamma": 0.0, "lr_b": -1.0}, _STATIC, "lr_b"),
        ({"gamma": 0.0, "density": 0.0}, _STATIC, "density"),
        ({"gamma": 0.0, "alpha": 2.0, "density": 5.0}, _STATIC, "density"),
        ({"gamma": 0.0, "alpha": 0.0}, {**_STATIC, "max_rate": 0.5}, "max_rate"),
        ({"gamma": 250.0}, _STATIC, r"\|gamma\| < 2/lr = 200"),
        ({"gamma": -20.0, "lr": 0.1}, _STATIC, "gamma"),
        ({"gamma": 0.0, "m": 9.0}, {**_STATIC, "m": None, "m_max": 8}, "m"),
        ({"gamma": 0.0, "m": 2.5}, {**_STATIC, "m": None, "m_max": 8}, "m"),
    ],
)
def test_check_point_refuses(point, static, match):
    static = {k: v for k, v in static.items() if v is not None}
    with pytest.raises((ValueError, TypeError), match=match) as err:
        sp.check_point(point, static)
    assert "\n" not in str(err.value)


def test_check_point_accepts_the_edges():
    sp.check_point({"gamma": -199.0, "alpha": 1.5}, _STATIC)  # |gamma| < 2 / 0.01
    sp.check_point({"gamma": 0.0, "law_code": 2.0, "lr": 5.0}, _STATIC)
    sp.check_point({"gamma": 1.0, "m": 8.0}, {"n": 64, "m_max": 8, "steps": 60, "batch": 32})
    # the paper's rule: lr = 0.02 (8/m)^(1/4) at m = 8 -> |gamma| < 100
    sp.check_point({"gamma": -99.0}, {**_STATIC, "lr_rule": "liu2025-large"})
    with pytest.raises(ValueError, match="gamma"):
        sp.check_point({"gamma": -101.0}, {**_STATIC, "lr_rule": "liu2025-large"})


def test_divergence_bound_is_a_thousand_times_the_zero_model_loss():
    static = {**_STATIC, "law": "power"}
    params = {"gamma": jnp.float32(0.0), "alpha": jnp.float32(1.0)}
    bound = sp.DIVERGENCE_FACTOR * theory.zero_model_loss(theory.frequencies(64, 1.0))
    curve = jnp.full(8, 50.0)  # the curve's start is not the reference (initial loss ~ n/2)
    for final, expected in ((0.5, False), (0.999 * bound, False), (1.001 * bound, True)):
        out = {"final_loss": jnp.float32(final), "loss_curve": curve}
        assert bool(jax.jit(lambda o, p: sp.is_diverged(o, p, static))(out, params)) is expected
    # per point: a linear law has its own sum of variances
    lin = {"gamma": jnp.float32(0.0), "law_code": jnp.float32(2.0)}
    bound_lin = sp.DIVERGENCE_FACTOR * theory.zero_model_loss(theory.frequencies(64, law="linear"))
    out = {"final_loss": jnp.float32(1.001 * bound_lin), "loss_curve": curve}
    assert bool(sp.is_diverged(out, lin, static))
    assert not bool(sp.is_diverged({"final_loss": jnp.float32(jnp.nan)}, params, static))


def test_bytes_per_run_formula():
    small = sp.bytes_per_run({**_STATIC, "batch": 8})
    big = sp.bytes_per_run({**_STATIC, "n": 64 * 100, "m": 8 * 100, "batch": 8})
    # W-sized arrays dominate at large n m: 6 float32 copies of W
    assert big == pytest.approx(4 * 6 * 6400 * 800, rel=0.1)
    assert small < big
    padded = sp.bytes_per_run({"n": 64, "m_max": 8, "steps": 60, "batch": 32})
    assert padded == sp.bytes_per_run(_STATIC)  # the padded program holds m_max columns
    huge = sp.bytes_per_run({"n": 10**6, "m": 5 * 10**5, "steps": 10, "batch": 8})
    assert huge > 1e13
    assert sp.build(_STATIC).bytes_per_run == sp.bytes_per_run(_STATIC)


@pytest.mark.slow
def test_bytes_per_run_bounds_xla_memory_analysis():
    """The estimate is an upper bound of XLA's own count (temporaries + arguments + outputs),
    and not a loose one (within 2.5x), for a W-dominated and a batch-dominated shape."""
    for static in (
        {"n": 2048, "m": 64, "steps": 20, "batch": 256, "eval_batches": 1},
        {"n": 4096, "m": 256, "steps": 20, "batch": 32, "eval_batches": 1},
    ):
        experiment = sp.build(static)
        params = {"gamma": jnp.float32(-1.0), "alpha": jnp.float32(1.0)}
        stats = jax.jit(experiment.run).lower(jax.random.key(0), params).compile()
        mem = stats.memory_analysis()
        used = mem.temp_size_in_bytes + mem.argument_size_in_bytes + mem.output_size_in_bytes
        assert used <= experiment.bytes_per_run <= 2.5 * used, (static, used)
