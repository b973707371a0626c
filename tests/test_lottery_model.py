"""simulations.lottery.model (and the sweep interface): init, checkpoints, schedules, one training
run, validation."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from simulations import lottery as lot
from simulations.lottery import model
from simulations.steps import log_steps


def test_checkpoints_and_init():
    steps = lot.checkpoint_steps(3000, 24)
    assert steps[0] == 0 and steps[-1] == 3000 and np.all(np.diff(steps) > 0)
    with jax.enable_x64(True):
        w, b, v, _ = lot.init_params(jax.random.key(0), 400)
    assert w.dtype == np.float64
    assert np.abs(np.asarray(w)).max() <= 1 and np.abs(np.asarray(v)).max() <= 1 / 20
    assert np.asarray(b).min() < -0.9 and np.asarray(v).max() > 0.045


@pytest.mark.parametrize("total", [1, 7, 1000, 3000, 5000, 7000, 11000])
def test_checkpoint_steps_are_log_steps_with_zero(total):
    # the convention of the stored curves: [0] + round(logspace(0, log10(T), n − 1)) + [T]
    old = np.unique(np.round(np.logspace(0, np.log10(total), 23)).astype(np.int64))
    old = np.concatenate([[0], old[old < total], [total]])
    np.testing.assert_array_equal(lot.checkpoint_steps(total, 24), old)
    np.testing.assert_array_equal(log_steps(total, 24, zero=True), old)


def test_lr_schedules():
    cos = model.lr_schedule("cosine", 100, 1e-1, 1e-3)
    assert float(cos(0)) == pytest.approx(1e-1)
    assert float(cos(50)) == pytest.approx((1e-1 + 1e-3) / 2)
    assert float(cos(100)) == pytest.approx(1e-3) and float(cos(500)) == pytest.approx(1e-3)
    exp = model.lr_schedule("exponential", 100, 1e-1, 1e-3)
    assert float(exp(50)) == pytest.approx(1e-2)
    assert float(model.lr_schedule("constant", 100, 1e-1, 1e-3)(70)) == pytest.approx(1e-1)


def test_forward_is_the_net():
    w, b, v, c = jnp.array([1.0, -2.0]), jnp.array([0.5, 0.0]), jnp.array([2.0, 1.0]), 0.3
    x = jnp.array([-1.0, 0.0, 2.0])
    out = lot.forward((w, b, v, c), x, lot.ACTIVATIONS["relu"])
    expected = 2.0 * np.maximum(x + 0.5, 0) + np.maximum(-2.0 * x, 0) + 0.3
    np.testing.assert_allclose(out, expected, rtol=1e-6)


def test_train_one_records_its_curve_from_the_initial_net():
    # (the L-BFGS polish is checked on the N = 2 nets of tests/test_lottery_agreement.py)
    recipe = lot.Recipe(adam_steps=40)
    with jax.enable_x64(True):
        key = jax.random.key(3)
        out = jax.jit(lambda k: lot.train_one(k, 3, recipe, n_test=300, n_checkpoints=8))(key)
        theta0 = lot.init_params(key, 3)
        x = jnp.asarray(lot.midpoint_grid(recipe.n_train))
        loss0 = jnp.mean((lot.forward(theta0, x, lot.ACTIVATIONS["silu"]) - x**2) ** 2)
    steps = lot.checkpoint_steps(recipe.total_steps, 8)
    assert out["curve"].shape == steps.shape and out["w"].shape == (3,) and out["c"].shape == ()
    assert out["test_mse"].dtype == np.float64
    np.testing.assert_allclose(out["w_init"], theta0[0])
    assert float(out["curve"][0]) == pytest.approx(float(loss0), rel=1e-12)
    assert float(out["curve"][-1]) == float(out["train_mse"]) < float(loss0)
    assert float(out["test_mse"]) == float(out["test_mse_adam"])  # no polish


def test_build_is_train_one_over_traced_learning_rates():
    recipe = lot.Recipe(adam_steps=40, lbfgs_steps=12)
    static = {"width": 3, **recipe.static(), "n_test": 300, "n_checkpoints": 8}
    exp = lot.build(static)
    assert exp.x64 and exp.dims["curve"] == ("step",) and exp.dims["w_init"] == ("neuron",)
    np.testing.assert_array_equal(exp.coords["step"], lot.checkpoint_steps(52, 8))
    assert "neuron" not in exp.coords  # positions only: building costs nothing at any width
    # what the engine checks before compiling and flags after each run
    assert exp.validate is lot.check_point and exp.diverged is lot.diverged
    assert exp.bytes_per_run == lot.run_bytes(lot.resolve_static(static))


def test_check_point_names_the_bad_learning_rate():
    assert lot.check_point({"lr": 3e-2, "lr_end": 1e-5}) == {"lr": 3e-2, "lr_end": 1e-5}
    assert lot.check_point({"lr": 1e3, "lr_end": 1.0})["lr"] == 1e3  # runs; flagged if it blows up
    for point, match in [
        ({"lr": -1.0, "lr_end": 1e-5}, r"lr must be > 0, got -1.0"),
        ({"lr": 3e-2, "lr_end": 0.0}, r"lr_end must be > 0, got 0.0"),
        ({"lr": float("nan"), "lr_end": 1e-5}, r"lr must be finite, got nan"),
        ({"lr": float("inf"), "lr_end": 1e-5}, r"lr must be finite"),
        ({"lr": 3e-2}, r"swept parameters \['lr_end'\] missing"),
        ({"lr": 3e-2, "lr_end": 1e-5, "beta": 1.0}, r"unknown swept parameters \['beta'\]"),
    ]:
        with pytest.raises(ValueError, match=match) as err:
            lot.check_point(point)
        assert "\n" not in str(err.value)


def test_divergence_bound_is_relative_to_the_initial_loss():
    def outputs(curve, test=1e-4, test_adam=1e-4):
        return {
            "curve": jnp.asarray(curve),
            "test_mse": jnp.asarray(test),
            "test_mse_adam": jnp.asarray(test_adam),
        }

    factor = lot.DIVERGENCE_FACTOR
    assert factor == 1e3
    assert not bool(lot.diverged(outputs([3.0, 5.0, 1e-2, 1e-4]), {}))
    # a curve that rises to 10^3 times its start, even if it comes back
    assert bool(lot.diverged(outputs([3.0, 3.0 * factor, 1e-2, 1e-4]), {}))
    assert not bool(lot.diverged(outputs([3.0, 0.99 * 3.0 * factor, 1e-2, 1e-4]), {}))
    # a final test MSE (after the polish, or after Adam) that far above the start
    assert bool(lot.diverged(outputs([3.0, 1.0, 1e-4], test=1e4), {}))
    assert bool(lot.diverged(outputs([3.0, 1.0, 1e-4], test_adam=1e4), {}))
    # relative: a target with a large initial loss (exp on [-2, 2]) is judged on its own scale
    assert not bool(lot.diverged(outputs([50.0, 2e3, 1e-2], test=1e3), {}))


def test_run_bytes_bounds_the_compiled_memory():
    """The memory formula against XLA's own estimate for a compiled chunk (argument, output and
    temporary buffers): an upper bound, within a factor 2 for the Adam recipe (the L-BFGS path:
    see the slow test below)."""
    _memory_ratio(lbfgs_steps=0, high=2.0)


@pytest.mark.slow
def test_run_bytes_bounds_the_compiled_memory_with_lbfgs():
    _memory_ratio(lbfgs_steps=2, high=2.0)


def _memory_ratio(lbfgs_steps: int, high: float) -> None:
    static = lot.resolve_static(
        {"width": 256, "adam_steps": 5, "lbfgs_steps": lbfgs_steps, "n_test": 2048}
    )
    exp = lot.build(static)
    with jax.enable_x64(True):
        keys = jax.random.split(jax.random.key(0), 2)
        params = {"lr": jnp.full(2, 3e-2), "lr_end": jnp.full(2, 1e-5)}
        mem = jax.jit(jax.vmap(exp.run)).lower(keys, params).compile().memory_analysis()
    if mem is None:
        pytest.skip("this backend gives no memory analysis")
    sizes = (mem.temp_size_in_bytes, mem.output_size_in_bytes, mem.argument_size_in_bytes)
    per_run = sum(sizes) / 2
    assert per_run <= exp.bytes_per_run <= high * per_run, (per_run, exp.bytes_per_run)
    # linear in the width: 8 bytes x (test block + 3 n_train + 16) per neuron without L-BFGS
    wider = lot.run_bytes({**static, "width": 512}) - lot.run_bytes(static)
    per_neuron = 1024 + (12 * 256 + 120 if lbfgs_steps else 3 * 256) + 16
    assert wider == 8.0 * 256 * per_neuron


def test_recipe_label_and_static():
    assert lot.QUICK_RECIPE.label == "adam3000-cos3e-02>1e-05"
    assert lot.POLISHED_RECIPE.label == "adam3000-cos3e-02>1e-05+lbfgs2000"
    assert lot.Recipe(schedule="constant", n_train=64).label == "adam3000-const3e-02-grid64"
    assert lot.LONG_POLISHED_RECIPE.total_steps == 11000
    assert lot.RELU_RECIPE.static() == {
        "adam_steps": 5000,
        "lbfgs_steps": 0,
        "schedule": "cosine",
        "n_train": 256,
    }


def test_bad_inputs():
    with pytest.raises(ValueError, match="adam_steps"):
        lot.Recipe(adam_steps=0)
    with pytest.raises(ValueError, match="lr"):
        lot.Recipe(lr=-1.0)
    with pytest.raises(ValueError, match="schedule"):
        lot.Recipe(schedule="linear")
    with pytest.raises(TypeError, match="lbfgs_steps"):
        lot.Recipe(lbfgs_steps=1.5)
    with pytest.raises(ValueError, match="activation"):
        lot.build({"width": 4, "activation": "swish"})
    with pytest.raises(ValueError, match="width"):
        lot.build({"width": 0})
    with pytest.raises(ValueError, match="unknown static"):
        lot.build({"width": 4, "depth": 2})
    with pytest.raises(ValueError, match="widths"):
        lot.train([4, 4])
    with pytest.raises(TypeError, match="recipe"):
        lot.train([4], recipe="adam")
    with pytest.raises(ValueError, match="target"):
        lot.train([4], target="x^2")
    with pytest.raises(TypeError, match="recipe"):
        lot.train_one(jax.random.key(0), 4, "adam")
    with pytest.raises(ValueError, match="n_checkpoints"):
        lot.train_one(jax.random.key(0), 4, lot.QUICK_RECIPE, n_checkpoints=1)
