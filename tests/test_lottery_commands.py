"""simulations.lottery commands, configs, analysis and figures: the verbs end to end at tiny sizes,
the statistics on constructed inputs, each paper figure's plot() on synthetic data."""

import csv
import dataclasses
import importlib
import inspect
import json
import math
import typing

import numpy as np
import pytest
import xarray as xr

from simulations import lottery as lot
from simulations.lottery import analysis, commands, experiment

TINY = lot.Recipe(adam_steps=100)
FIGURES = ["ensembles", "mirror_pairs", "n2_histogram", "width_scaling"]


def _tiny_config(**changes) -> lot.CompareConfig:
    config = lot.CompareConfig(
        silu_widths=(4, 8),
        silu_recipes=(lot.RecipeRun(TINY, 4),),
        relu_widths=(4, 8),
        relu_recipe=TINY,
        relu_seeds=4,
        silu_window=(4, 8),
        relu_windows=((4, 8),),
        n_boot=100,
        mechanism=False,
        n2_seeds=40,
        mechanism_recipe=TINY,
        wide_width=16,
        wide_seeds=2,
        ensemble_seeds=20,
        ensemble_ks=(1, 2),
    )
    return dataclasses.replace(config, **changes)


def _dataset(width: int, seeds: int, seed: int, mse_decades=(-6.0, -3.0)) -> xr.Dataset:
    """A sweep group of ``seeds`` nets of ``width`` (what run_n2/run_wide/run_ensemble return)."""
    rng = np.random.default_rng(seed)
    lo, hi = mse_decades
    logs = np.where(rng.random(seeds) < 0.6, lo, hi) + rng.normal(0, 0.1, seeds)
    params = {k: rng.uniform(-1, 1, (1, seeds, width)) for k in ("w", "b", "v")}
    params["w"][0, : seeds // 2, 1 % width] = -params["w"][0, : seeds // 2, 0]  # mirror pairs
    data = {k: (("point", "seed", "neuron"), v) for k, v in params.items()}
    data.update({f"{k}_init": (("point", "seed", "neuron"), 1.1 * v) for k, v in params.items()})
    data["c"] = (("point", "seed"), rng.normal(size=(1, seeds)))
    data["test_mse"] = (("point", "seed"), 10 ** logs[None])
    data["finite"] = (("point", "seed"), np.ones((1, seeds), bool))
    return xr.Dataset(data, attrs={"static.width": width, "static.activation": "silu"})


def _synthetic_runs(config: lot.CompareConfig) -> lot.CompareRuns:
    silu = tuple(
        _table("silu", r.recipe.label, r.widths or config.silu_widths, 1.0, seeds=r.seeds)
        for r in config.silu_recipes
    )
    relu = _table("relu", config.relu_recipe.label, config.relu_widths, 4.0, config.relu_seeds)
    return lot.CompareRuns(
        silu,
        relu,
        _dataset(2, config.n2_seeds, 1),
        _dataset(config.wide_width, config.wide_seeds, 2),
        _dataset(config.ensemble_width, config.ensemble_seeds, 3),
    )


# --- the verbs (both end to end at the quick preset: tests/test_lottery_agreement.py) -----
def test_compare_without_the_mechanism(tmp_path, monkeypatch):
    config = _tiny_config()
    monkeypatch.setattr(commands, "run_compare", lambda cfg, store, progress: _synthetic_runs(cfg))
    rows = lot.compare(config, tmp_path, progress=False)
    with (tmp_path / "comparison.csv").open() as fh:
        table = list(csv.reader(fh))
    assert len(table) == 1 + len(rows) == 1 + 2 + 1 + 2 * 2
    assert sorted(p.name for p in tmp_path.glob("*.png")) == ["width_scaling.png"]
    floor = {"best_seed/relu_floor", "median/relu_floor"}
    assert {r.quantity for r in rows} == {"width_exponent", *floor}


def test_compare_with_the_mechanism_writes_every_figure(tmp_path, monkeypatch, capsys):
    # the sweeps replaced by synthetic nets: the verb's measuring and writing, end to end
    config = _tiny_config(mechanism=True)
    monkeypatch.setattr(commands, "run_compare", lambda cfg, store, progress: _synthetic_runs(cfg))
    rows = lot.compare(config, tmp_path, progress=False)
    for name in ("width_scaling", "n2_histogram", "mirror_pairs", "ensembles"):
        assert (tmp_path / f"{name}.png").stat().st_size > 10_000
    quantities = [r.quantity for r in rows]
    assert quantities.count("n2_loss_modes") == 1 and "n2_mode0_mirror_fraction" in quantities
    fine = f"mirror_fraction_tol{lot.FINE_MIRROR_TOL:g}"
    assert quantities.count("mirror_fraction") == quantities.count(fine) == 2
    ens = [r for r in rows if r.quantity == "ensemble_mse"]
    assert [r.params["width"] for r in ens] == ["4x1", "4x2"]
    assert "one net of width 8" in ens[1].extras["note"]  # the SiLU sweep has N = 8
    assert {r.params["recipe"] for r in rows} == {TINY.label, "init", config.n2_recipe.label}
    mode0 = next(r for r in rows if r.quantity == "n2_mode0_mirror_fraction")
    assert mode0.ci_low <= mode0.measured <= mode0.ci_high
    assert "ensemble K=2" in capsys.readouterr().out


# --- configs ------------------------------------------------------------------------------------
ALLOWED = {int, float, str, bool, type(None)}


def _allowed(tp) -> bool:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp in ALLOWED or dataclasses.is_dataclass(tp):
        return True
    if origin is typing.Literal:
        return True
    if origin is tuple:
        return all(a is Ellipsis or _allowed(a) for a in args)
    if origin in (typing.Union, type(int | None)):
        return all(_allowed(a) for a in args)
    return False


@pytest.mark.parametrize("cls", [lot.CompareConfig, lot.RunConfig, lot.RecipeRun, lot.Recipe])
def test_configs_are_frozen_typed_documented_with_defaults(cls):
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        assert f.default is not dataclasses.MISSING, f.name
        assert _allowed(hints[f.name]), (f.name, hints[f.name])
        assert f"{f.name}:" in cls.__doc__.split("Attributes:")[1], f.name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(cls(), dataclasses.fields(cls)[0].name, None)


def test_presets():
    assert lot.CompareConfig.preset("quick") == lot.QUICK_CONFIG
    assert lot.CompareConfig.preset("default") == lot.FULL_CONFIG == lot.CompareConfig()
    quick = lot.QUICK_CONFIG
    assert quick.silu_widths == (4, 8, 16, 32, 64) and quick.relu_widths == (4, 8, 16)
    assert quick.silu_recipes == (lot.RecipeRun(lot.QUICK_RECIPE, 16, ()),)
    assert (quick.relu_seeds, quick.mechanism, quick.n_boot) == (16, False, 2000)
    full = lot.FULL_CONFIG
    assert [r.recipe for r in full.silu_recipes] == list(lot.BUDGET_RECIPES)
    assert full.mechanism and full.relu_windows == ((4, 16), (16, 128))
    paper = lot.CompareConfig.preset("paper")
    assert max(paper.silu_widths) >= 1024 and paper.wide_width == 10_000
    assert lot.RunConfig.preset("default") == lot.RunConfig()
    assert lot.RunConfig().recipe == lot.QUICK_RECIPE
    for cls in (lot.CompareConfig, lot.RunConfig):
        for name in ("quick", "default", "paper"):
            cfg = cls.preset(name)
            cfg.validate()
            json.dumps(dataclasses.asdict(cfg))  # what the CLI writes to config.json
        with pytest.raises(ValueError, match="preset"):
            cls.preset("full")


def test_old_silu_recipe_tuples_still_accepted():
    cfg = dataclasses.replace(lot.QUICK_CONFIG, silu_recipes=((TINY, 8, None), (TINY, 4, (4, 8))))
    assert cfg.silu_recipes == (lot.RecipeRun(TINY, 8), lot.RecipeRun(TINY, 4, (4, 8)))


def test_config_validation_names_the_field():
    with pytest.raises(ValueError, match="silu_widths"):
        _tiny_config(silu_widths=(4, 4))
    with pytest.raises(ValueError, match="relu_windows"):
        _tiny_config(relu_windows=((8, 4),))
    with pytest.raises(ValueError, match="silu_window"):
        _tiny_config(silu_window=(16, 64))
    with pytest.raises(ValueError, match="ensemble_ks"):
        _tiny_config(ensemble_ks=(1, 16))
    with pytest.raises(TypeError, match="relu_recipe"):
        _tiny_config(relu_recipe="adam")
    with pytest.raises(ValueError, match="seeds"):
        lot.RunConfig(seeds=0)
    with pytest.raises(ValueError, match="activation"):
        lot.RunConfig(activation="swish")
    with pytest.raises(ValueError, match="adam_steps"):
        lot.RunConfig(adam_steps=0)


def test_verbs_are_the_only_public_functions_of_commands():
    defined = {
        n
        for n, f in vars(commands).items()
        if inspect.isfunction(f) and f.__module__ == commands.__name__ and not n.startswith("_")
    }
    assert defined == set(commands.__all__) == {"compare", "run"}
    for verb, cls in ((commands.compare, lot.CompareConfig), (commands.run, lot.RunConfig)):
        assert typing.get_type_hints(verb)["config"] is cls
        params = inspect.signature(verb).parameters
        assert list(params) == ["config", "out", "progress"]
        assert params["progress"].kind is inspect.Parameter.KEYWORD_ONLY
        assert verb.__doc__.splitlines()[0]


# --- analysis on synthetic data -----------------------------------------------------------------
def _table(activation, recipe, widths, exponent, seeds=12, seed=0):
    rng = np.random.default_rng(seed)
    widths = np.asarray(widths)
    mse = 1e-2 * widths.astype(float) ** (-exponent) * rng.lognormal(0.0, 0.3, (seeds, widths.size))
    return lot.WidthTable(widths, mse, 0.9 * mse, 1.1 * mse, activation, recipe)


def test_measure_turns_tables_into_rows_without_running():
    config = lot.QUICK_CONFIG
    silu = _table("silu", lot.QUICK_RECIPE.label, config.silu_widths, 1.0)
    relu = _table("relu", lot.RELU_RECIPE.label, config.relu_widths, 4.0, seed=1)
    data = lot.measure(config, lot.CompareRuns((silu,), relu))
    assert len(data.rows) == 10 and data.n2 is None
    clt = next(r for r in data.rows if r.phase == "lottery CLT")
    assert clt.ci_low < 1.0 < clt.ci_high and clt.extras["window"] == "4-64"
    assert data.silu_fits[lot.QUICK_RECIPE.label].exponent == clt.measured
    assert set(data.relu_fits) == {"4-16"}
    with pytest.raises(TypeError, match="CompareRuns"):
        lot.measure(config, "results/sweep")


def test_median_ci_and_wilson_ci_match_the_textbook_formulas():
    rng = np.random.default_rng(3)
    vals = rng.lognormal(size=16)
    boot = np.random.default_rng(0)
    meds = np.median(vals[boot.integers(0, 16, (500, 16))], axis=1)
    np.testing.assert_allclose(lot.median_ci(vals, 500), np.quantile(meds, [0.025, 0.975]))
    assert all(math.isnan(v) for v in lot.median_ci(np.array([1.0, np.nan]), 100))
    for k, n in ((0, 5), (3, 10), (10, 10)):
        z, p = 1.959963984540054, k / n
        mid = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
        np.testing.assert_allclose(lot.wilson_ci(k, n), (mid - half, mid + half), atol=1e-12)
    assert all(math.isnan(v) for v in lot.wilson_ci(0, 0))


def test_mirror_pairs_on_a_constructed_net():
    rng = np.random.default_rng(1)
    w0, b0, v0 = rng.uniform(0.5, 2, (3, 4))
    w = np.concatenate([w0, -w0 + 0.01, [1.3, -0.2]])
    b = np.concatenate([b0, b0, [0.7, -1.9]])
    v = np.concatenate([v0, v0, [0.4, 2.0]])
    pairs = lot.mirror_pairs(w, b, v, tol=0.1)
    assert pairs.fraction == pytest.approx(0.8)
    np.testing.assert_array_equal(pairs.partner[:4], np.arange(4, 8))
    assert lot.pair_asymmetry([0.3, -0.3], [1.0, 1.0], [2.0, 2.0]) == 0.0
    assert lot.pair_asymmetry([0.3, 0.3], [1.0, 1.0], [2.0, 2.0]) == 1.0


def test_loss_modes_on_a_constructed_sample():
    rng = np.random.default_rng(2)
    mse = np.concatenate([10 ** rng.normal(-8, 0.2, 60), 10 ** rng.normal(-5, 0.2, 30), [1.4]])
    modes = lot.loss_modes(mse)
    assert [m.count for m in modes] == [60, 31]  # the single outlier joins its nearer mode
    assert modes[0].center == pytest.approx(-8, abs=0.15)


def test_bad_analysis_inputs():
    with pytest.raises(ValueError, match="w, b, v"):
        lot.mirror_pairs(np.zeros(3), np.zeros(3), np.zeros(2))
    with pytest.raises(ValueError, match="ks"):
        lot.ensemble_curve(np.zeros((6, 5)), np.zeros(5), [4])
    with pytest.raises(ValueError, match="gap"):
        lot.loss_modes([1.0, 2.0], gap=0.0)
    with pytest.raises(ValueError, match="q must"):
        lot.mse_quantiles(np.ones((3, 2)), q=[1.5])


# --- figures ------------------------------------------------------------------------------------
def _synthetic(name):
    rng = np.random.default_rng(4)
    if name == "width_scaling":
        silu = [_table("silu", "adam1000", (4, 8, 16), 0.5), _table("silu", "adam3000", (4, 16), 1)]
        return {"silu": silu, "relu": _table("relu", "adam5000", (4, 8, 16), 4.0)}
    if name == "n2_histogram":
        w, b, v = rng.normal(size=(3, 40, 2))
        mse = 10 ** np.concatenate([rng.normal(-7, 0.2, 25), rng.normal(-4, 0.2, 15)])
        return analysis.N2Histogram(
            mse, w, b, v, rng.normal(size=40), lot.pair_asymmetry(w, b, v), lot.loss_modes(mse)
        )
    if name == "mirror_pairs":
        w, b, v = rng.uniform(-1, 1, (3, 2, 64))
        pairs, null = lot.mirror_pairs(w, b, v), lot.mirror_pairs(w, b, 0.5 * v)
        fractions = (pairs.distance, pairs.fraction, null.distance, null.fraction)
        return analysis.WideNets(w, b, v, np.zeros(2), np.ones(2), *fractions)
    x = lot.midpoint_grid(64)
    pred = x**2 + rng.normal(0, 0.1, (20, 1)) + rng.normal(0, 0.05, (20, 64))
    curve = lot.ensemble_curve(pred, x**2, [1, 2, 4], n_boot=20)
    return {"ensemble": lot.EnsembleResult(curve, 0, 4), "single": _table("silu", "a", (4, 8), 1)}


@pytest.mark.parametrize("name", FIGURES)
def test_figure_plot_on_synthetic_data(name, tmp_path):
    module = importlib.import_module(f"paper_figures.lottery.liu2023_{name}")
    assert module.DESCRIPTION
    for preset in ("quick", "default", "paper"):
        cfg = module.config(preset)
        assert json.loads(json.dumps(cfg)) == cfg
    paths = module.plot(_synthetic(name), tmp_path)
    assert [p.name for p in paths] == [f"liu2023_{name}.png"]
    assert paths[0].stat().st_size > 10_000


@pytest.mark.slow
@pytest.mark.parametrize("name", FIGURES)
def test_figure_compute_quick(name, tmp_path):
    module = importlib.import_module(f"paper_figures.lottery.liu2023_{name}")
    data = module.compute(module.config("quick"))
    assert module.plot(data, tmp_path)[0].exists()


def test_experiment_has_no_measurements():
    # runners return data; the measurements live in analysis (which runs nothing)
    assert not any(n in vars(experiment) for n in ("measure", "fit_width_exponent"))
    assert not any(n in vars(analysis) for n in ("train", "run_sweep", "run_compare"))
