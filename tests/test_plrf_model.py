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
from helpers import no_compilation

from simulations import plrf, sweep
from simulations.results import count_diverged
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
        # c < 2 but beyond the theory's limit at this size (the kernel norm of the deterministic
        # equivalent of K̂ reaches 1): refused with the admissible range.
        ({"alpha": 0.7, "beta": 1.0, "lr_scale": 1.9, "d": 16}, r"lr_scale=1.9 .* < 1\.2"),
        ({"alpha": 1.0, "beta": 0.7, "learning_rate": 0.55, "d": 8}, r"need 0 < learning_rate"),
        ({"alpha": 1.0, "beta": 0.7, "d": 0}, "d must be"),
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
    # lr_scale = 1.9 passes the crude c < 2 bound but not the theory's stability limit.
    with pytest.raises(ValueError, match=r"lr_scale=1\.9 is unstable .* need 0 < lr_scale < "):
        plrf.validate_grid(
            sweep.Grid.product(
                static={"d": 64, "max_steps": 10},
                swept={"alpha": 0.7, "beta": 1.0, "lr_scale": [0.5, 1.9]},
            )
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
    points={"alpha": [1.0, 0.6, 1.5], "beta": [0.7, 1.2, 0.2], "learning_rate": [0.1, 0.05, 0.3]},
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
    # 2 static groups x 9 rows in chunks of 5 (2 chunks each, the last padded): 2 traces.
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


def test_stable_runs_are_kept(small_sweep):
    result, _ = small_sweep
    for ds in result.groups:
        assert ds["finite"].values.all() and not ds["diverged"].values.any()
        assert (ds["kernel_norm"].values < 1).all()
        # The runs learn: final loss well below the initial loss.
        assert (ds["loss"].values[:, :, -1] < 0.5 * ds["loss"].values[:, :, 0]).all()


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
        "'simulations.plrf.sweeps', 'simulations.plrf.experiment')); print(bad); "
        "sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_package_exports_resolve():
    for name in plrf.__all__:
        assert getattr(plrf, name) is not None, name
    with pytest.raises(AttributeError):
        plrf.no_such_name  # noqa: B018


# ------------------------------------------------------------------------------------------
# Bad inputs refused before anything is compiled; divergence flagged; memory checked up front
# ------------------------------------------------------------------------------------------
def _sweep(build, static, swept, name):
    grid = sweep.Grid.product(static=static, swept=swept)
    return lambda: sweep.run_sweep(build, grid, name=name, progress=False)


_SGD = {"d": 8, "max_steps": 10}
BAD_API_INPUTS = {
    # run_sweep with the PLRF builders: every point is validated before compiling.
    "sweep alpha=-1": (
        _sweep(plrf.build_sgd, _SGD, {"alpha": -1.0, "beta": 1.0}, "plrf-bad-alpha"),
        "alpha must be > 0",
    ),
    "sweep lr_scale=1.9 (c < 2, beyond the kernel-norm limit)": (
        _sweep(
            plrf.build_expected,
            {"d": 64, "max_steps": 10},
            {"alpha": 0.7, "beta": 1.0, "lr_scale": 1.9},
            "plrf-bad-lr",
        ),
        r"lr_scale=1\.9 is unstable for alpha=0\.7, d=64, .*need 0 < lr_scale < 1\.37",
    ),
    "sweep learning_rate=20": (
        _sweep(
            plrf.build_sgd, _SGD, {"alpha": 1.0, "beta": 0.7, "learning_rate": 20.0}, "plrf-bad-g"
        ),
        r"learning_rate=20\.0 is unstable .*lambda_max >= 2.*need 0 < learning_rate < 0\.49",
    ),
    "sweep unknown swept name": (
        _sweep(plrf.build_sgd, _SGD, {"alpha": 1.0, "beta": 0.7, "gamma": 0.1}, "plrf-bad-name"),
        r"unknown swept parameter\(s\) \['gamma'\]",
    ),
    "sweep beta missing": (
        _sweep(plrf.build_sgd, _SGD, {"alpha": 1.0}, "plrf-bad-beta"),
        "beta must be given",
    ),
    "sweep beta nan": (
        _sweep(plrf.build_sgd, _SGD, {"alpha": 1.0, "beta": float("nan")}, "plrf-bad-nan"),
        "beta must be finite",
    ),
    "sweep d=0": (
        _sweep(plrf.build_sgd, {"d": 0, "max_steps": 10}, {"alpha": 1.0, "beta": 0.7}, "plrf-d0"),
        "d must be an integer >= 1, got 0",
    ),
    "sweep dtype": (
        _sweep(plrf.build_sgd, {**_SGD, "dtype": "float16"}, {"alpha": 1.0, "beta": 0.7}, "plrf-t"),
        "dtype must be one of",
    ),
    # simulate, configs, the run verb
    "simulate d=0": (lambda: plrf.simulate(0.7, 1.0, 0, max_steps=10), "d must be"),
    "simulate max_steps=0": (lambda: plrf.simulate(0.7, 1.0, 16, max_steps=0), "max_steps"),
    "simulate lr_scale=1.9": (
        lambda: plrf.simulate(0.7, 1.0, 16, max_steps=10, lr_scale=1.9),
        r"lr_scale=1\.9 is unstable",
    ),
    "RunConfig lr_scale=1.9": (
        lambda: plrf.RunConfig(lr_scale=1.9).validate(),
        r"lr_scale=1\.9 is unstable for alpha=0\.7, d=256, v=1024, batch=1 .* < 1\.44",
    ),
    "RunConfig d=0": (lambda: plrf.RunConfig(d=0).validate(), "d must be an integer >= 1"),
    "RunConfig batch=0": (lambda: plrf.RunConfig(batch=0).validate(), "batch must be"),
    "PhaseDiagramConfig sizes": (
        lambda: plrf.PhaseDiagramConfig(sizes=(32, 0)).validate(),
        "sizes must be an integer >= 1",
    ),
    "PhaseDiagramConfig lr_scale=1.9": (
        lambda: plrf.PhaseDiagramConfig(lr_scale=1.9).validate(),
        r"lr_scale=1\.9 is unstable for alpha=1",
    ),
    "PhaseDiagramConfig inadmissible point": (
        lambda: plrf.PhaseDiagramConfig(points=((0.2, 0.1),)).validate(),
        r"2\*alpha \+ 2\*beta must be > 1",
    ),
}


@pytest.mark.parametrize("case", list(BAD_API_INPUTS))
def test_bad_api_input_is_one_line_before_compiling(case):
    call, match = BAD_API_INPUTS[case]
    traces = {n: sweep.trace_count(n) for n in ("plrf-sgd", "plrf-expected")}
    with no_compilation(), pytest.raises((ValueError, TypeError), match=match) as err:
        call()
    assert "\n" not in str(err.value)
    assert {n: sweep.trace_count(n) for n in traces} == traces


def test_stability_limit_is_the_admissible_range():
    """The limit named in the message is admissible and its next value is not."""
    limit = theory_plrf.stability_limit(0.7, 64, 256)
    c = float(f"{limit.lr_scale:.4g}")
    c = c if c < limit.lr_scale else c - 1e-3
    assert plrf.validate_point(0.7, 1.0, v=256, d=64, lr_scale=c) > 0
    with pytest.raises(ValueError, match="need 0 < lr_scale < "):
        plrf.validate_point(0.7, 1.0, v=256, d=64, lr_scale=limit.lr_scale * 1.001)


def test_huge_size_refused_before_compiling():
    """d = 10⁶ would need ~40 TB per run (the d×d eigendecomposition): refused up front."""
    name = "plrf-too-big"
    grid = sweep.Grid.product(static={"d": 10**6, "max_steps": 10}, swept={"alpha": 1, "beta": 1})
    for build in (plrf.build_sgd, plrf.build_expected):
        with no_compilation(), pytest.raises(ValueError, match=r"d=1000000.*needs about .*TB"):
            sweep.run_sweep(build, grid, name=name, progress=False)
    assert sweep.trace_count(name) == 0
    cfg = plrf.validate_static({"d": 10**6, "max_steps": 10})
    assert plrf.expected_run_bytes(cfg) == 28.0 * 4e6 * 1e6 + 40.0 * 1e12
    assert plrf.sgd_run_bytes(cfg) > 40.0 * 1e12
    # The estimate grows with v·d on the explicit path (W is held), not on the eigenbasis path.
    small = plrf.validate_static({"d": 64, "v": 10**6, "max_steps": 10, "path": "explicit"})
    assert plrf.sgd_run_bytes(small) > 64 * 10**6 * 8


NEAR_EDGE = {"v_ratio": 4, "lr_scale": 0.78, "max_steps": 3000, "n_checkpoints": 10, "seeds": 8}


def test_runs_near_the_stability_limit_are_flagged_diverged():
    """c = 0.78 passes the theory's limit (0.79 at d = 8, from the deterministic equivalent), but
    W's own spectrum fluctuates at d = 8: runs with ‖K‖ >= 1 (or γ(B+1)λ_max >= 2) diverge and
    are flagged, whatever their recorded losses show; the others are kept."""
    grid = plrf.simulation_grid(1.0, 0.7, 8, **NEAR_EDGE)  # validated: the point is admissible
    res = sweep.run_sweep(plrf.build_sgd, grid, name="plrf-near-edge", progress=False)
    ds = res.groups[0]
    norm = ds["kernel_norm"].values[0]
    flagged = ds["diverged"].values[0]
    np.testing.assert_array_equal(flagged, ~(norm < 1))  # inf and >= 1 alike
    assert 0 < flagged.sum() < grid.seeds
    np.testing.assert_array_equal(count_diverged(ds), [flagged.sum()])
    masked = sweep.mask_diverged(ds)
    assert np.isnan(masked["loss"].values[0][flagged]).all()
    assert np.isfinite(masked["loss"].values[0][~flagged]).all()
    # simulate() runs the same grid (same W per seed): it flags and masks the same runs, in its
    # expected-loss sweep too, and the seed means leave them out.
    sim = plrf.simulate(1.0, 0.7, 8, expected=True, **NEAR_EDGE)
    np.testing.assert_array_equal(sim["diverged"].values, flagged)
    assert np.isnan(sim["expected_loss"].values[flagged]).all()
    assert np.isfinite(sim["expected_loss"].values[~flagged]).all()
    sim["det_equiv"] = ("checkpoint", np.ones(sim.sizes["checkpoint"]))
    curves = plrf.summarize_curves(sim)
    assert curves.n_finite == grid.seeds - flagged.sum()
    assert np.isfinite(curves.sgd_mean).all() and np.isfinite(curves.volterra_mean).all()
