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
    exp = lot.build({"width": 3, **recipe.static(), "n_test": 300, "n_checkpoints": 8})
    assert exp.x64 and exp.dims["curve"] == ("step",) and exp.dims["w_init"] == ("neuron",)
    np.testing.assert_array_equal(exp.coords["step"], lot.checkpoint_steps(52, 8))
    np.testing.assert_array_equal(exp.coords["neuron"], np.arange(3))


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
