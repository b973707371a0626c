"""simulations.random_features verbs end to end, the analysis on synthetic data, and the paper
figures (``plot`` on synthetic data; ``compute`` under ``slow``)."""

import dataclasses
import importlib
import json
import math
import pickle

import numpy as np
import pytest

from simulations import cli, compare, fit, sweep
from simulations import random_features as rfs
from simulations.options import config_to_dict
from simulations.plotting import QUICK_NOTE, stamp
from simulations.random_features import commands
from simulations.steps import log_steps

FIGURES = [
    "bahri2021_regimes",
    "bordelon2024_dynamics",
    "maloney2022_loss_vs_size",
    "maloney2022_ridge",
    "maloney2022_spectrum",
]

SMALL = dataclasses.replace(
    rfs.QUICK,
    n_latent=64,
    big=64,
    res_sizes=(4, 8, 16),
    var_latent=32,
    var_small=4,
    var_sizes=(32, 64, 128),
    var_seeds=6,
    seeds=6,
    gf_latent=64,
    gf_sizes=(4, 8, 16, 32),
    gf_max_time=10_000,
    gf_checkpoints=24,
    gf_window=(1.0, 30.0),
    gf_seeds=4,
    n_boot=50,
)


def _noisy(rng, shape, scale=0.02):
    return 1.0 + scale * rng.standard_normal(shape)


def _synthetic_regimes(cfg=SMALL, b=2.0, a=2.0, seed=0) -> rfs.RegimeSweeps:
    """Per-seed losses ∝ n^-1 (resolution-limited) and limits + n^-1 (variance-limited)."""
    rng = np.random.default_rng(seed)
    res, var = np.asarray(cfg.res_sizes, float), np.asarray(cfg.var_sizes, float)
    rs, vs = (cfg.seeds, res.size), (cfg.var_seeds, var.size)
    limit = np.full(vs, 1e-3)
    return rfs.RegimeSweeps(
        b=b,
        a=a,
        res_n=0.1 / res * _noisy(rng, rs),
        res_t=0.1 / res * _noisy(rng, rs),
        var_t=limit + 0.01 / var * _noisy(rng, vs),
        var_t_limit=limit,
        var_n=limit + 0.01 / var * _noisy(rng, vs),
        var_n_limit=limit,
        var_n_control=1e-6 * rng.standard_normal(vs),
    )


def _synthetic_flow(cfg=SMALL, b=2.0, a=2.0, seed=0) -> rfs.FlowSweeps:
    """Teacher-averaged-like flow curves L = 1/N + t^(-1/2) (seeds × sizes × times)."""
    rng = np.random.default_rng(seed)
    times = log_steps(cfg.gf_max_time, cfg.gf_checkpoints).astype(float)
    sizes = np.asarray(cfg.gf_sizes)
    curves = 0.01 / sizes[:, None] + 0.01 * times[None, :] ** -0.5
    loss = curves[:, None, :] * _noisy(rng, (sizes.size, cfg.gf_seeds, times.size), 0.01)
    return rfs.FlowSweeps(b, a, times, sizes, loss)


# --------------------------------------------------------------------------------------------
# verbs
# --------------------------------------------------------------------------------------------


def test_compare_quick(tmp_path):
    rows = commands.compare(rfs.CompareConfig.preset("quick"), tmp_path, progress=False)
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
    assert [r.extras["n_diverged"] for r in rows] == ["0"] * len(rows)


def test_compare_rejects_bad_config_before_running(tmp_path):
    bad = dataclasses.replace(rfs.QUICK, res_sizes=(16, 2048))
    with pytest.raises(ValueError, match="res_sizes"):
        commands.compare(bad, tmp_path, progress=False)
    assert not (tmp_path / "sweep").exists()


def test_run_quick(tmp_path, capsys):
    cfg = dataclasses.replace(rfs.RunConfig.preset("quick"), ridge=0.1, noise=1e-4)
    s = commands.run(cfg, tmp_path, progress=False)
    assert "theory    test" in capsys.readouterr().out
    saved = json.loads((tmp_path / "summary.json").read_text())
    assert saved["seeds"] == cfg.seeds and saved["test_mean"] == pytest.approx(s.test_mean)
    assert math.isfinite(s.theory_test)
    assert 0.5 < s.test_mean / s.theory_test < 2.0
    with pytest.raises(ValueError, match="n_features"):
        commands.run(dataclasses.replace(cfg, n_features=0), tmp_path, progress=False)


# --------------------------------------------------------------------------------------------
# analysis on synthetic data
# --------------------------------------------------------------------------------------------


def test_measure_scaling_regimes_on_synthetic_power_laws():
    reg = rfs.measure_scaling_regimes(SMALL, _synthetic_regimes())
    assert [c.quantity for c in reg.curves] == [r.quantity for r in reg.rows]
    assert len(reg.rows) == 4
    for row, curve in zip(reg.rows, reg.curves, strict=True):
        assert row.measured == pytest.approx(1.0, abs=0.05), row
        assert row.ci_low <= row.measured <= row.ci_high
        assert curve.sim.shape[1] == curve.x.size == curve.theory.size
        assert set(row.params) == set(rfs.PARAM_NAMES)
    assert reg.rows[0].params["n_features"] == "swept"
    assert reg.rows[1].params["n_samples"] == "swept"
    assert "skipped" in reg.curves[3].fit.method  # the signed-mean bootstrap


def test_bootstrap_mean_power_law_keeps_signed_values():
    rng = np.random.default_rng(1)
    x = np.array([10.0, 20.0, 40.0, 80.0])
    ys = 1.0 / x + 0.2 / x * rng.standard_normal((200, 4))  # some seeds negative at large x
    f = rfs.bootstrap_mean_power_law(x, ys, n_boot=200)
    assert f.exponent == pytest.approx(1.0, abs=0.05)
    assert f.ci_low < f.exponent < f.ci_high


def test_measure_flow_scaling_on_synthetic_curves():
    data = _synthetic_flow()
    flow = rfs.measure_flow_scaling(SMALL, data)
    assert [r.quantity for r in flow.rows] == ["e_t", "compute_N", "compute_t", "compute_loss"]
    assert flow.sim.shape == (SMALL.gf_seeds, len(SMALL.gf_sizes), data.times.size)
    assert flow.theory.shape == (len(SMALL.gf_sizes), data.times.size)
    for r in flow.rows:
        assert math.isfinite(r.measured) and math.isfinite(r.predicted)
    n_row, t_row = flow.rows[1], flow.rows[2]
    assert n_row.measured + t_row.measured == pytest.approx(1.0)
    # passing the theory reproduces the rows exactly
    again = rfs.measure_flow_scaling(SMALL, data, theory=flow.theory)
    assert again.rows == flow.rows


def test_diverged_seeds_are_left_out_of_fits_and_counted():
    """Diverged runs come back NaN from the drivers: the fit is the fit without those seeds,
    the row says how many were left out (and its note flags it), the figure still draws."""
    data = _synthetic_regimes()
    bad = data.res_n.copy()
    bad[[1, 4]] = np.nan  # two diverged seeds
    var_n = data.var_n.copy()
    var_n[0, 2] = np.nan  # one diverged run (its whole nested-size row is NaN in practice)
    reg = rfs.measure_scaling_regimes(SMALL, data._replace(res_n=bad, var_n=var_n))
    clean = rfs.measure_scaling_regimes(
        SMALL, data._replace(res_n=np.delete(data.res_n, [1, 4], axis=0))
    )
    assert [r.extras["n_diverged"] for r in reg.rows] == ["2", "0", "0", "1"]
    assert "2 diverged run(s): their seeds left out of the fit" in reg.rows[0].extras["note"]
    assert "diverged" not in reg.rows[1].extras["note"]
    assert reg.rows[0].measured == clean.rows[0].measured
    assert reg.rows[0].ci_low == clean.rows[0].ci_low
    flow_data = _synthetic_flow()
    losses = flow_data.test_loss_avg.copy()  # (sizes, seeds, times)
    losses[-1, 0] = np.nan  # seed 0 diverged at the largest N
    losses[0, 1] = np.nan  # seed 1 diverged at the smallest N
    flow = rfs.measure_flow_scaling(SMALL, flow_data._replace(test_loss_avg=losses))
    assert [r.extras["n_diverged"] for r in flow.rows] == ["1", "2", "2", "2"]
    kept = np.delete(np.transpose(losses, (1, 0, 2))[:, -1], 0, axis=0)
    ref = fit.bootstrap_power_law(
        flow_data.times, kept, window=SMALL.gf_window, n_boot=SMALL.n_boot, seed=0
    )
    assert flow.rows[0].measured == ref.exponent
    # all seeds diverged: no fit (NaN), not a crash
    none = rfs.measure_scaling_regimes(SMALL, data._replace(res_t=np.full_like(data.res_t, np.nan)))
    assert math.isnan(none.rows[1].measured)
    assert none.rows[1].extras["n_diverged"] == str(SMALL.seeds)
    fig = rfs.compare_figure([reg], [flow])
    assert any("diverged left out" in t.get_text() for ax in fig.axes for t in ax.texts)


def test_diverging_descent_end_to_end_is_counted_in_the_rows():
    """Real gradient descent at a step inside the theory's bound whose N = 1 draws partly blow
    up: flagged by the engine, NaN in the driver, left out of e_t and counted."""
    m = 64
    lr = 0.98 * rfs.experiment.rf_theory.max_learning_rate(
        rfs.experiment.rf_theory.latent_spectrum(m, 2.0), 1, math.inf
    )
    g = rfs.simulate_gradient_descent(
        m,
        [8, 4, 2, 1],
        math.inf,
        200,
        b=2.0,
        a=2.0,
        learning_rate=lr,
        seeds=16,
        n_checkpoints=12,
        pad=True,
        name="test-rf-e2e-blowup",
    )
    flagged = g["diverged"].sum(axis=1)  # per N
    assert flagged[-1] > 0 and np.isnan(g["test_loss_avg"][-1][g["diverged"][-1]]).all()
    cfg = dataclasses.replace(SMALL, gf_latent=m, gf_window=(1.0, 100.0), n_boot=50)
    data = rfs.FlowSweeps(2.0, 2.0, g["times"], g["n_features"], g["test_loss_avg"])
    rows = rfs.measure_flow_scaling(cfg, data).rows
    assert rows[0].extras["n_diverged"] == str(int(flagged[-1]))  # e_t: the last N (= 1)
    assert rows[1].extras["n_diverged"] == str(int(flagged.sum()))  # frontier: every run
    assert all(math.isfinite(r.measured) for r in rows)


CLI_BAD = [
    (["run", "random-features", "--b", "0.5"], "b must be > 1"),
    (["run", "random-features", "--a", "nan"], "a must be finite"),
    (["run", "random-features", "--ridge", "-1"], "ridge must be >= 0"),
    (["run", "random-features", "--noise", "-0.1"], "noise must be >= 0"),
    (["run", "random-features", "--b", "200", "--a", "2"], "b - a must be <="),
    (["run", "random-features", "--features", "relu", "--n-test", "0"], "n_test"),
    (
        ["run", "random-features", "--n-latent", "100000000", "--n-features", "100000"],
        "one run needs about",
    ),
    (["compare", "random-features", "--quick", "--res-sizes", "16,2048"], "res_sizes"),
    (["compare", "random-features", "--quick", "--gf-window", "300,3"], "gf_window"),
    (["compare", "random-features", "--quick", "--settings", "2,0.5"], "a must be > 1"),
]


@pytest.mark.parametrize("argv, message", CLI_BAD, ids=[" ".join(a[2:]) for a, _ in CLI_BAD])
def test_cli_errors_are_one_line_before_compiling(argv, message, tmp_path, capsys):
    names = ("rf-ridge", "res-N-b2-a2", "flow-b2-a2")
    before = [sweep.trace_count(n) for n in names]
    with pytest.raises(SystemExit) as exc:
        cli.main([*argv, "--no-progress", "--out", str(tmp_path / "out")])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("solvable: error:"), err
    assert message in err[0] and "Traceback" not in err[0]
    assert [sweep.trace_count(n) for n in names] == before


# --------------------------------------------------------------------------------------------
# paper figures
# --------------------------------------------------------------------------------------------


def _figure(name):
    return importlib.import_module(f"paper_figures.random_features.{name}")


def _synthetic_figure_data(name):
    rng = np.random.default_rng(0)
    if name == "bahri2021_regimes":
        return dict(compare=config_to_dict(SMALL), sweeps=_synthetic_regimes(b=1.5, a=1.5))
    if name == "bordelon2024_dynamics":
        flow = _synthetic_flow()
        times = flow.times
        reuse_t = (8, 32)
        th = 0.01 * times[None, :] ** -0.5 + np.array([[1e-3], [3e-4]])
        return dict(
            compare=config_to_dict(SMALL),
            flow=flow,
            flow_theory=0.01 / flow.sizes[:, None] + 0.01 * times[None, :] ** -0.5,
            reuse_n=16,
            reuse_t=reuse_t,
            reuse_times=times,
            reuse_test=th[:, None, :] * _noisy(rng, (2, 3, times.size)),
            reuse_train=0.5 * th[:, None, :] * _noisy(rng, (2, 3, times.size)),
            reuse_test_th=th,
            reuse_train_th=0.5 * th,
        )
    if name == "maloney2022_loss_vs_size":
        sizes, fixed = np.array([6, 9, 14, 20]), (4, 8, 64)
        grid = np.arange(4, 64)
        return dict(
            m=16,
            fixed=fixed,
            sizes=sizes,
            vs_n=rng.random((4, 3, 2)) + 0.1,
            vs_t=rng.random((4, 3, 2)) + 0.1,
            noise=1e-6,
            alpha=1.0,
            asymptote_100=1e-4,
            theory_vs_n=[(grid, 1.0 / grid) for _ in fixed],
            theory_vs_t=[(grid, np.where(grid == 8, np.inf, 1.0 / grid)) for _ in fixed],
        )
    if name == "maloney2022_ridge":
        ridges, ns_sweep = np.geomspace(1e-3, 1, 4), np.array([4, 8, 32])
        ridge_grid, n_grid = np.geomspace(1e-4, 10, 20), np.arange(4, 40)
        return dict(
            m=32,
            t=16,
            noise=1e-4,
            alpha=1.0,
            ridges=ridges,
            ns_ridge=(4, 16, 64),
            vs_ridge=rng.random((3, 4, 2)) + 0.1,
            ridge_grid=ridge_grid,
            theory_vs_ridge=np.ones((3, 20)),
            optimum=[(0.1, 0.5)] * 3,
            ns_sweep=ns_sweep,
            ridgeless=rng.random((3, 2)) + 0.1,
            tuned=rng.random((3, 2)) + 0.1,
            n_grid=n_grid,
            theory_ridgeless=1.0 / n_grid,
            n_grid_tuned=n_grid[::6],
            theory_tuned=1.0 / n_grid[::6],
        )
    if name == "maloney2022_spectrum":
        k = np.arange(1, 65.0)
        spectra = {"linear": np.where(k <= 8, k**-1.5, 0.0), "relu": k**-1.5, "tanh": k**-1.6}
        return dict(m=8, n=64, t=1024, b=1.5, spectra=spectra)
    raise KeyError(name)


@pytest.mark.parametrize("name", FIGURES)
def test_figure_plots_synthetic_data(name, tmp_path, monkeypatch):
    mod = _figure(name)
    assert isinstance(mod.DESCRIPTION, str) and mod.DESCRIPTION
    for preset in ("quick", "default", "paper"):
        json.dumps(mod.config(preset))  # JSON-serialisable (the cache key)
    with pytest.raises(ValueError, match="preset"):
        mod.config("huge")
    data = pickle.loads(pickle.dumps(_synthetic_figure_data(name)))
    notes = []  # what the figure is stamped with: the quick-preset warning for quick data
    monkeypatch.setattr(mod, "stamp", lambda fig, note: notes.append(note) or stamp(fig, note))
    paths = mod.plot(data, tmp_path)
    assert paths and all(p.stat().st_size > 5_000 for p in paths)
    assert mod.config("quick")["preset"] == "quick"
    mod.plot({**data, "preset": "quick"}, tmp_path)
    assert notes == ["", QUICK_NOTE]


@pytest.mark.slow
@pytest.mark.parametrize("name", FIGURES)
def test_figure_computes_quick_preset(name, tmp_path):
    mod = _figure(name)
    data = mod.compute(mod.config("quick"))
    data = pickle.loads(pickle.dumps(data))  # the cache pickles it
    paths = mod.plot(data, tmp_path)
    assert paths and all(p.stat().st_size > 10_000 for p in paths)
