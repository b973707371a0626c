"""simulations.superposition: optimiser rule, samplers, exact padding, chunking, quick compare."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from simulations import compare, sweep
from simulations import superposition as sp
from theory import superposition as theory


# --- optimiser -----------------------------------------------------------------------------------
def test_signed_weight_decay_matches_hand_computation():
    w = jnp.array([[3.0, 4.0], [0.3, 0.4], [0.0, 0.0]])  # row norms 5, 0.5, 0
    zeros = jnp.zeros_like(w)
    for gamma in (-0.5, 0.5):
        tx = sp.signed_weight_decay(gamma)
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
    opt = sp.make_optimizer(lr, gamma, steps=steps, warmup=warmup)
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
    mult = [float(sp.lr_multiplier(t, steps, warmup)) for t in (0, 49, 99, 100, 550, 1000)]
    assert mult[0] == pytest.approx(0.01)
    assert mult[1] == pytest.approx(0.5)
    assert mult[2] == pytest.approx(1.0)
    assert mult[3] == pytest.approx(1.0)
    assert mult[4] == pytest.approx(0.05 + 0.95 * 0.5, rel=1e-5)  # half-way through the decay
    assert mult[5] == pytest.approx(0.05, rel=1e-5)


# --- data ----------------------------------------------------------------------------------------
def _p(n=50, alpha=1.0):
    return jnp.asarray(theory.frequencies(n, alpha), jnp.float32)


def test_sparse_sampler_distribution():
    n, batch = 50, 4096
    p = _p(n)
    max_active, budget = sp.slot_sizes(batch, 1.35)
    draw = jax.jit(
        lambda k: sp.sparse_to_dense(sp.sample_sparse_features(k, p, batch, max_active, budget), n)
    )
    draws = [draw(jax.random.key(i)) for i in range(4)]
    x = np.concatenate([np.asarray(d) for d in draws])  # (16384, 50)
    active = x > 0
    n_samples = x.shape[0]
    freq = active.mean(0)
    se = np.sqrt(np.asarray(p) * (1 - np.asarray(p)) / n_samples)
    # each of 50 frequencies within 4.5 standard errors (family-wise false alarm < 0.1 %)
    assert np.all(np.abs(freq - np.asarray(p)) < 4.5 * se)
    s = x[active]
    assert s.min() >= 0 and s.max() <= 2
    assert s.mean() == pytest.approx(1.0, abs=4 * math.sqrt(1 / 3 / s.size))
    assert (s**2).mean() == pytest.approx(4 / 3, abs=4 * math.sqrt(64 / 45 / s.size))
    # independence of the two most frequent features: P(both) = p1 p2
    both = (active[:, 0] & active[:, 1]).mean()
    p12 = float(p[0] * p[1])
    assert both == pytest.approx(p12, abs=4.5 * math.sqrt(p12 / n_samples))


def test_sparse_and_dense_samplers_agree_in_distribution():
    n, batch = 30, 8192
    p = _p(n, 0.7)
    max_active, budget = sp.slot_sizes(batch, 1.35)
    sparse = jax.jit(
        lambda k: sp.sparse_to_dense(sp.sample_sparse_features(k, p, batch, max_active, budget), n)
    )
    xs = np.asarray(sparse(jax.random.key(1)))
    xd = np.asarray(jax.jit(lambda k: sp.sample_features(k, p, batch))(jax.random.key(2)))
    # E x_i = p_i <s> = p_i; sd of the mean <= sqrt(4/3 p_i / batch)
    tol = 4.5 * np.sqrt(4 / 3 * np.asarray(p) / batch) * math.sqrt(2)
    assert np.all(np.abs(xs.mean(0) - xd.mean(0)) < tol)


def test_sparse_loss_and_gradient_equal_dense():
    n, m, batch = 40, 6, 256
    key = jax.random.key(0)
    p = _p(n, 0.5)
    max_active, budget = sp.slot_sizes(batch, 1.35)
    xs = jax.jit(lambda k: sp.sample_sparse_features(k, p, batch, max_active, budget))(key)
    assert int(xs.n_truncated) == 0
    xd = sp.sparse_to_dense(xs, n)
    params = {
        "W": jax.random.normal(jax.random.key(1), (n, m)) / math.sqrt(m),
        "b": 0.1 * jax.random.normal(jax.random.key(2), (n,)),
    }
    ls, gs = jax.jit(jax.value_and_grad(sp.sparse_toy_model_loss))(params, xs)
    ld, gd = jax.jit(jax.value_and_grad(sp.toy_model_loss))(params, xd)
    assert float(ls) == pytest.approx(float(ld), rel=1e-5)
    for k in ("W", "b"):
        np.testing.assert_allclose(gs[k], gd[k], rtol=1e-4, atol=1e-6)


# --- the training run ----------------------------------------------------------------------------
_TINY = {"n": 64, "steps": 60, "batch": 32, "eval_batches": 2, "n_checkpoints": 8}


def test_padded_widths_are_exact():
    """A width-8 run padded to 16 columns equals the unpadded run (same key): masking is exact."""
    key = jax.random.key(7)
    params = {"gamma": jnp.float32(-1.0), "alpha": jnp.float32(1.0)}
    plain = jax.jit(sp.build({**_TINY, "m": 8}).run)(key, params)
    padded = jax.jit(sp.build({**_TINY, "m_max": 16}).run)(key, {**params, "m": jnp.float32(8.0)})
    for name in ("final_loss", "loss_curve", "row_norms", "overlap_sq_represented", "phi_half"):
        np.testing.assert_allclose(padded[name], plain[name], rtol=2e-4, atol=1e-6, err_msg=name)


def test_results_do_not_depend_on_chunking_and_compile_once():
    """Two widths padded into one program, rows cut into chunks of 3 or of 4."""
    grid = sp.make_grid(
        widths=[4, 8], gammas=[-1.0, 0.5], alphas=[1.0], seeds=2, pad_widths=True,
        **{**_TINY, "steps": 30},
    )  # fmt: skip
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


# --- the compare command (quick) -----------------------------------------------------------------
@pytest.fixture(scope="module")
def quick_compare(tmp_path_factory):
    out = tmp_path_factory.mktemp("superposition-compare")
    rows = sp.compare_command(out, quick=True)
    return out, rows


def test_compare_quick_writes_the_common_table(quick_compare):
    out, rows = quick_compare
    assert (out / "comparison.csv").exists()
    assert list(out.glob("*.png"))
    back = compare.read_comparison_csv(out / "comparison.csv")
    assert back == rows
    header = (out / "comparison.csv").read_text().splitlines()[0].split(",")
    assert header[:9] == ["law", "gamma", "alpha", *compare.CORE_COLUMNS]
    assert {r.quantity for r in rows} == {"alpha_m", "phi_half"}


def test_quick_strong_run_is_strong_and_closer_to_one_over_m(quick_compare):
    _, rows = quick_compare
    alpha_m = {(r.params["gamma"], r.params["alpha"]): r for r in rows if r.quantity == "alpha_m"
               and r.params["law"] == "power"}  # fmt: skip
    phi = {(r.params["gamma"], r.params["alpha"]): r for r in rows if r.quantity == "phi_half"
           and r.params["law"] == "power"}  # fmt: skip
    strong = [k for k in alpha_m if k[0] < 0]
    weak = [k for k in alpha_m if k[0] > 0]
    assert strong and weak
    for k in strong:
        assert phi[k].measured > 0.95  # every row represented (THEORY.md: phi_1/2 ≈ 1)
    for k in weak:
        assert phi[k].measured < 0.6
    for ks in strong:
        kw = next(k for k in weak if k[1] == ks[1])
        assert abs(alpha_m[ks].measured - 1) < abs(alpha_m[kw].measured - 1)
