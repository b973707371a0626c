"""PLRF simulator units (simulations.plrf.model, and the sweep builders of .experiment):
checkpoints, eager validation, the realised problem against dense linear algebra, the one-run
functions, and sweep integration (one trace per static group, labels, divergence flagged).
"""

import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from simulations import plrf, sweep
from simulations.steps import log_steps
from theory import plrf as theory_plrf


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
# Checkpoint convention, learning rate, one-run functions, import purity
# ------------------------------------------------------------------------------------------
def test_log_checkpoints_is_the_zero_convention_of_log_steps():
    for last, n in ((1000, 10), (7, 40), (10**7, 160)):
        np.testing.assert_array_equal(plrf.log_checkpoints(last, n), log_steps(last, n, zero=True))


def test_learning_rate_from_scale_is_theory_learning_rate():
    assert plrf.learning_rate_from_scale is theory_plrf.learning_rate
    with jax.enable_x64(True):
        gamma = plrf.resolve_learning_rate({"alpha": jnp.asarray(0.7)}, 256)
        assert float(gamma) == pytest.approx(theory_plrf.learning_rate(0.7, 256), rel=1e-14)
        given = plrf.resolve_learning_rate({"alpha": 0.7, "learning_rate": 0.01}, 256)
        assert float(given) == 0.01
    with pytest.raises(ValueError, match="not both"):
        plrf.resolve_learning_rate({"alpha": 0.7, "learning_rate": 0.01, "lr_scale": 0.5}, 256)


def test_one_run_functions_share_the_embedding():
    """sgd_run and expected_run of the same key see the same W: same P*, and the expected loss
    starts at the SGD run's (deterministic) initial loss bᵀDb."""
    d, v, alpha, beta = 16, 64, 1.0, 0.7
    ck = plrf.log_checkpoints(200, 8)
    key = jax.random.key(11)
    with jax.enable_x64(True):
        gamma = theory_plrf.learning_rate(alpha, v, 0.5)
        sgd = jax.jit(
            lambda k: plrf.sgd_run(k, alpha, beta, gamma, v=v, d=d, batch=1, checkpoints=ck)
        )(key)
        exp = jax.jit(
            lambda k: plrf.expected_run(k, alpha, beta, gamma, v=v, d=d, batch=1, checkpoints=ck)
        )(key)
        explicit = jax.jit(
            lambda k: plrf.sgd_run(
                k, alpha, beta, gamma, v=v, d=d, batch=1, checkpoints=ck, path="explicit"
            )
        )(key)
    assert sgd["loss"].shape == exp["loss"].shape == (len(ck),)
    assert sgd["loss"].dtype == jnp.float32 and exp["loss"].dtype == jnp.float64
    np.testing.assert_allclose(float(sgd["p_star"]), float(exp["p_star"]), rtol=1e-8)
    np.testing.assert_allclose(float(explicit["p_star"]), float(exp["p_star"]), rtol=1e-8)
    initial = np.sum(np.arange(1, v + 1.0) ** (-2 * alpha - 2 * beta))
    for out in (sgd, exp, explicit):
        np.testing.assert_allclose(float(out["loss"][0]), initial, rtol=1e-5)
    assert 0 < float(exp["kernel_norm"]) < 1
    assert float(exp["loss"][-1]) < 0.5 * initial


def test_model_module_imports_only_jax_and_theory():
    code = (
        "import sys; from simulations.plrf import model; "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('xarray', 'matplotlib', 'tqdm') or m in ('simulations.sweep', 'simulations.store', "
        "'simulations.grid', 'simulations.results', 'simulations.fit', 'simulations.compare', "
        "'simulations.plrf.experiment')); print(bad); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_package_exports_resolve():
    for name in plrf.__all__:
        assert getattr(plrf, name) is not None, name
    with pytest.raises(AttributeError):
        plrf.no_such_name  # noqa: B018
