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
from matplotlib.figure import Figure

from simulations import cli, sweep
from simulations import lottery as lot
from simulations.grid import Grid
from simulations.lottery import analysis, commands, experiment, plots, sweeps
from simulations.plotting import QUICK_NOTE

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


def _dataset(
    width: int, seeds: int, seed: int, mse_decades=(-6.0, -3.0), n_diverged: int = 0
) -> xr.Dataset:
    """A sweep group of ``seeds`` nets of ``width`` (what run_n2/run_wide/run_ensemble return);
    the last ``n_diverged`` nets blew up (flagged, with huge finite losses and weights)."""
    rng = np.random.default_rng(seed)
    lo, hi = mse_decades
    logs = np.where(rng.random(seeds) < 0.6, lo, hi) + rng.normal(0, 0.1, seeds)
    params = {k: rng.uniform(-1, 1, (1, seeds, width)) for k in ("w", "b", "v")}
    params["w"][0, : seeds // 2, 1 % width] = -params["w"][0, : seeds // 2, 0]  # mirror pairs
    data = {k: (("point", "seed", "neuron"), v) for k, v in params.items()}
    data.update({f"{k}_init": (("point", "seed", "neuron"), 1.1 * v) for k, v in params.items()})
    data["c"] = (("point", "seed"), rng.normal(size=(1, seeds)))
    mse = 10 ** logs[None]
    blown = np.zeros((1, seeds), bool)
    if n_diverged:
        blown[0, -n_diverged:] = True
        mse[0, -n_diverged:] = 1e6
        for k in ("w", "b", "v"):
            params[k][0, -n_diverged:] = 1e5
    data["test_mse"] = (("point", "seed"), mse)
    data["finite"] = (("point", "seed"), np.ones((1, seeds), bool))
    data["diverged"] = (("point", "seed"), blown)
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
def test_compare_without_the_mechanism(tmp_path, monkeypatch, capsys):
    config = _tiny_config()
    monkeypatch.setattr(commands, "run_compare", lambda cfg, store, progress: _synthetic_runs(cfg))
    rows = lot.compare(config, tmp_path, progress=False, note=QUICK_NOTE)
    with (tmp_path / "comparison.csv").open() as fh:
        table = list(csv.reader(fh))
    assert len(table) == 1 + len(rows) == 1 + 2 + 1 + 2 * 2
    assert table[0][-4:] == ["window", "n_seeds", "n_diverged", "note"]
    assert all(r.extras["n_diverged"] == "0" for r in rows)
    assert capsys.readouterr().out.splitlines()[0] == f"[{QUICK_NOTE}]"
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
    assert quick.silu_recipes == (
        lot.RecipeRun(lot.BUDGET_RECIPES[0], 16, ()),
        lot.RecipeRun(lot.QUICK_RECIPE, 16, ()),
    )
    assert lot.budget_ladders(quick) == [[0, 1]]  # 1000 and 3000 Adam steps
    assert lot.budget_ladders(lot.FULL_CONFIG) == [[0, 1, 2]]  # 1000, 3000, 10 000
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
    # distinct recipes: two sweeps of one recipe would share a store (and a ladder rung)
    other = lot.Recipe(adam_steps=200)
    cfg = dataclasses.replace(lot.QUICK_CONFIG, silu_recipes=((TINY, 8, None), (other, 4, (4, 8))))
    assert cfg.silu_recipes == (lot.RecipeRun(TINY, 8), lot.RecipeRun(other, 4, (4, 8)))


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
        assert list(params) == ["config", "out", "progress", "note"]
        assert params["progress"].kind is inspect.Parameter.KEYWORD_ONLY
        assert params["note"].kind is inspect.Parameter.KEYWORD_ONLY
        assert params["note"].default == ""
        assert verb.__doc__.splitlines()[0]


# --- analysis on synthetic data -----------------------------------------------------------------
def _table(activation, recipe, widths, exponent, seeds=12, seed=0):
    rng = np.random.default_rng(seed)
    widths = np.asarray(widths)
    mse = 1e-2 * widths.astype(float) ** (-exponent) * rng.lognormal(0.0, 0.3, (seeds, widths.size))
    return lot.WidthTable(widths, mse, 0.9 * mse, 1.1 * mse, activation, recipe)


def test_measure_turns_tables_into_rows_without_running():
    config = lot.QUICK_CONFIG
    short = _table("silu", lot.BUDGET_RECIPES[0].label, config.silu_widths, 1.0, seed=2)
    silu = _table("silu", lot.QUICK_RECIPE.label, config.silu_widths, 1.0)
    relu = _table("relu", lot.RELU_RECIPE.label, config.relu_widths, 4.0, seed=1)
    data = lot.measure(config, lot.CompareRuns((short, silu), relu))
    assert len(data.rows) == 2 + 3 + 1 + 2 * 3 and data.n2 is None
    clt = next(
        r
        for r in data.rows
        if r.phase == "lottery CLT" and r.params["recipe"] == lot.QUICK_RECIPE.label
    )
    assert clt.ci_low < 1.0 < clt.ci_high and clt.extras["window"] == "4-64"
    assert data.silu_fits[lot.QUICK_RECIPE.label].exponent == clt.measured
    assert set(data.relu_fits) == {"4-16"}
    with pytest.raises(TypeError, match="CompareRuns"):
        lot.measure(config, "results/sweep")


# --- convergence in the training budget ----------------------------------------------------------
@pytest.mark.parametrize(
    ("exponents", "at"),
    [
        ((0.42, 1.15, 0.42), None),  # the measured Adam ladder's shape: it moves both ways
        ((0.60, 0.98, 1.00), 300),  # last change 0.02 < 0.05 sqrt 2
        ((0.99, 1.01, 1.00), 100),
    ],
)
def test_budget_convergence_verdict(exponents, at):
    lows, highs = [e - 0.05 for e in exponents], [e + 0.05 for e in exponents]
    verdict = lot.budget_convergence((100, 300, 1000), exponents, lows, highs)
    assert verdict.converged_at == at
    assert verdict.verdict().startswith("converged at budget" if at else "not converged (")
    back = lot.parse_exponent_by_budget(verdict.by_budget())
    assert [e for _, e, *_ in back] == pytest.approx(exponents, abs=5e-5)


def test_a_budget_ladder_gets_exponents_per_budget_and_a_verdict(tmp_path, monkeypatch, capsys):
    """Adam-only recipes differing only in steps form the ladder; the L-BFGS recipe does not.
    The synthetic tables have slope 1 at every budget (30 % lognormal noise over 12 seeds, the
    half-widths ~0.1-0.2): the verdict is converged at the first budget; steepening the last
    budget's slope to 1.6 makes it not converged."""
    short, long = lot.Recipe(adam_steps=100), lot.Recipe(adam_steps=300)
    polished = lot.Recipe(adam_steps=300, lbfgs_steps=20)
    runs = tuple(lot.RecipeRun(r, 12) for r in (short, long, polished))
    config = _tiny_config(silu_recipes=runs, silu_widths=(4, 8, 16, 32), silu_window=(4, 32))
    assert lot.budget_ladders(config) == [[0, 1]]
    relu = _table("relu", TINY.label, config.relu_widths, 4.0, seeds=4)
    for slope, at in ((1.0, "100"), (1.6, "no")):
        tables = tuple(
            _table("silu", r.label, config.silu_widths, slope if r == long else 1.0, seed=i)
            for i, r in enumerate((short, long, polished))
        )
        data = lot.measure(config, lot.CompareRuns(tables, relu))
        marked = [r for r in data.rows if "exponent_by_budget" in r.extras]
        assert {r.params["recipe"] for r in marked} == {long.label}
        assert {r.params["width"] for r in marked} == {"4-32"}
        for r in marked:
            assert r.extras["converged_at"] == at, r.extras["convergence"]
            per_budget = lot.parse_exponent_by_budget(r.extras["exponent_by_budget"])
            assert [b for b, *_ in per_budget] == [100, 300]
            assert per_budget[-1][1] == pytest.approx(r.measured, abs=5e-5)
    monkeypatch.setattr(commands, "run_compare", lambda cfg, store, progress: _synthetic_runs(cfg))
    rows = lot.compare(config, tmp_path, progress=False)
    assert (tmp_path / "exponent_vs_budget.png").stat().st_size > 10_000
    header = (tmp_path / "comparison.csv").read_text().splitlines()[0].split(",")
    assert header[-3:] == ["exponent_by_budget", "converged_at", "convergence"]
    assert "by Adam budget: 100 steps" in capsys.readouterr().out
    assert isinstance(lot.plot_exponent_vs_budget(rows), Figure)


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
        asym = lot.pair_asymmetry(w, b, v)
        n2 = analysis.N2Histogram(mse, w, b, v, rng.normal(size=40), asym, lot.loss_modes(mse))
        return {"n2": n2}
    if name == "mirror_pairs":
        w, b, v = rng.uniform(-1, 1, (3, 2, 64))
        pairs, null = lot.mirror_pairs(w, b, v), lot.mirror_pairs(w, b, 0.5 * v)
        fractions = (pairs.distance, pairs.fraction, null.distance, null.fraction)
        return {"wide": analysis.WideNets(w, b, v, np.zeros(2), np.ones(2), *fractions)}
    x = lot.midpoint_grid(64)
    pred = x**2 + rng.normal(0, 0.1, (20, 1)) + rng.normal(0, 0.05, (20, 64))
    curve = lot.ensemble_curve(pred, x**2, [1, 2, 4], n_boot=20)
    return {"ensemble": lot.EnsembleResult(curve, 0, 4), "single": _table("silu", "a", (4, 8), 1)}


@pytest.mark.parametrize("name", FIGURES)
def test_figure_plot_on_synthetic_data(name, tmp_path, monkeypatch):
    module = importlib.import_module(f"paper_figures.lottery.liu2023_{name}")
    assert module.DESCRIPTION
    for preset in ("quick", "default", "paper"):
        cfg = module.config(preset)
        assert json.loads(json.dumps(cfg)) == cfg and cfg["preset"] == preset
    # a figure from the quick preset says so on its face; others carry no stamp
    notes = []
    monkeypatch.setattr(module, "stamp", lambda fig, note: notes.append(note) or fig)
    for preset in ("quick", "default"):
        paths = module.plot({**_synthetic(name), "preset": preset}, tmp_path)
        assert [p.name for p in paths] == [f"liu2023_{name}.png"]
        assert paths[0].stat().st_size > 10_000
    assert notes == [QUICK_NOTE, ""]


@pytest.mark.slow
@pytest.mark.parametrize("name", FIGURES)
def test_figure_compute_quick(name, tmp_path):
    module = importlib.import_module(f"paper_figures.lottery.liu2023_{name}")
    data = module.compute(module.config("quick"))
    assert data["preset"] == "quick"
    assert module.plot(data, tmp_path)[0].exists()


def test_experiment_has_no_measurements():
    # runners return data; the measurements live in analysis (which runs nothing)
    for module in (experiment, sweeps):
        assert not any(n in vars(module) for n in ("measure", "fit_width_exponent"))
    assert not any(n in vars(analysis) for n in ("train", "run_sweep", "run_compare"))


# --- trustworthy results: bad inputs, divergence, memory -----------------------------------------
_STATIC = {"width": 4, "adam_steps": 20, "n_test": 64, "n_checkpoints": 4}
_RATES = {"lr": [3e-2], "lr_end": [1e-5]}


def _sweep(static=None, swept=None, drop=()):
    static = {**_STATIC, **(static or {})}
    swept = {k: v for k, v in {**_RATES, **(swept or {})}.items() if k not in drop}
    grid = Grid.product(static=static, swept=swept)
    return lambda: sweep.run_sweep(lot.build, grid, progress=False, name="lottery-bad-input")


BAD_API = [
    # (call, what the one-line message must say: the parameter, its value, the valid range)
    (_sweep(swept={"lr": [-1.0]}), r"lr must be > 0, got -1.0"),
    (_sweep(swept={"lr": [3e-2, float("nan")]}), r"lr must be finite, got nan"),
    (_sweep(swept={"lr_end": [0.0]}), r"lr_end must be > 0, got 0.0"),
    (_sweep(drop=("lr_end",)), r"swept parameters \['lr_end'\] missing"),
    (_sweep(swept={"beta": [1.0]}), r"unknown swept parameters \['beta'\]"),
    (_sweep(static={"width": 0}), r"width must be an integer >= 1, got 0"),
    (_sweep(static={"width": (4, 2.5)}), r"width must be an integer >= 1, got 2.5"),  # 2nd group
    (_sweep(static={"activation": "swish"}), r"activation must be one of .*got 'swish'"),
    (_sweep(static={"n_train": 1}), r"n_train must be an integer >= 2, got 1"),
    (_sweep(static={"depth": 2}), r"unknown static parameters \['depth'\]"),
    (lambda: lot.build({"width": 4, "schedule": "linear"}), r"schedule must be one of"),
    (lambda: lot.train([4, 4]), r"widths must be distinct"),
    (lambda: lot.train([4], seeds=0), r"seeds must be an integer >= 1, got 0"),
    (lambda: lot.train([4], recipe=lot.Recipe(lr=float("inf"))), r"lr must be finite"),
    (lambda: lot.RunConfig(widths=("a",)), r"width must be an integer >= 1, got 'a'"),
    (lambda: dataclasses.replace(lot.QUICK_CONFIG, n_boot=0), r"n_boot must be an integer"),
    (lambda: dataclasses.replace(lot.QUICK_CONFIG, silu_window=(64, 4)), r"silu_window"),
    (
        lambda: _tiny_config(silu_recipes=(lot.RecipeRun(TINY, 4), lot.RecipeRun(TINY, 8))),
        r"silu_recipes must be distinct recipes .*got adam100-cos3e-02>1e-05 2 times",
    ),
    (lambda: lot.compare("quick", "/nonexistent", progress=False), r"config must be a Compare"),
    (lambda: lot.run(lot.QUICK_CONFIG, "/nonexistent", progress=False), r"config must be a Run"),
]


@pytest.mark.parametrize(("call", "match"), BAD_API)
def test_bad_api_inputs_fail_in_one_line_before_compiling(call, match, no_compile):
    before = sweep.trace_count("lottery-bad-input")
    with pytest.raises((ValueError, TypeError), match=match) as err:
        call()
    assert "\n" not in str(err.value).strip()
    assert sweep.trace_count("lottery-bad-input") == before


BAD_CLI = [
    (["run", "lottery", "--widths", "a,b"], "widths"),
    (["run", "lottery", "--widths", "4,4"], "widths must be distinct"),
    (["run", "lottery", "--lr", "-1"], "lr must be > 0"),
    (["run", "lottery", "--lr-end", "nan"], "lr_end must be finite"),
    (["run", "lottery", "--seeds", "0"], "seeds"),
    (["run", "lottery", "--activation", "swish"], "activation"),
    (["run", "lottery", "--n-train", "1"], "n_train"),
    (["compare", "lottery", "--quick", "--silu-window", "64,4"], "silu_window"),
    (["compare", "lottery", "--quick", "--relu-seeds", "0"], "relu_seeds"),
]


@pytest.mark.parametrize(("argv", "match"), BAD_CLI)
def test_bad_cli_inputs_exit_2_with_one_line(argv, match, tmp_path, capsys, no_compile):
    with pytest.raises(SystemExit) as exc:
        cli.main([*argv, "--out", str(tmp_path / "out"), "--no-progress"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("solvable: error:"), err
    assert match in err[0] and "Traceback" not in err[0]
    assert not (tmp_path / "out" / "sweep").exists()


def test_a_width_that_cannot_fit_is_refused_before_anything_runs(no_compile):
    # the width 1e8 (it used to hang): about 1.3 TB for one run, refused up front
    static = {"width": 10**8, "adam_steps": 1}
    assert lot.run_bytes(lot.resolve_static(static)) > 1e12
    grid = Grid.product(static=static, swept=_RATES)
    with pytest.raises(ValueError, match=r"width=100000000.*one run needs about") as err:
        sweep.run_sweep(lot.build, grid, progress=False, name="lottery-bad-input")
    assert "\n" not in str(err.value)


def test_diverged_runs_are_flagged_left_out_of_the_fit_and_counted():
    """lr = 1e3 (which validation allows: Adam has no bound theory can decide) blows every net
    up to finite MSEs of 10⁴–10⁹ (the issue's `run lottery --lr 1e3` fitted an exponent of
    −4.39 from such runs); lr = 3e-2 trains normally. Same widths, one grid."""
    static = {"width": (4, 16), "adam_steps": 200, "n_test": 256, "n_checkpoints": 8}
    grid = Grid.product(static=static, swept={"lr": [3e-2, 1e3], "lr_end": [1e-5]}, seeds=3)
    result = sweep.run_sweep(lot.build, grid, progress=False, name="lottery-diverging")
    for ds in result.groups:
        np.testing.assert_array_equal(ds["diverged"].values, [[False] * 3, [True] * 3])
        assert ds["finite"].values.all()  # finite, but huge: only the bound catches them
        assert (ds["test_mse"].values[1] > 1e3).all()
    good, blown = lot.width_table(result, point=0), lot.width_table(result, point=1)
    assert good.diverged().tolist() == [0, 0] and blown.diverged().tolist() == [3, 3]
    assert np.isfinite(good.test_mse).all() and np.isnan(blown.test_mse).all()
    # a table of both: the blown-up seeds never reach the fit, and the rows count them
    mixed = good._replace(
        test_mse=np.vstack([good.test_mse, blown.test_mse]),
        n_diverged=good.diverged() + blown.diverged(),
    )
    config = _tiny_config(silu_widths=(4, 16), silu_window=(4, 16), n_boot=200)
    relu = _table("relu", TINY.label, config.relu_widths, 4.0, seeds=4)
    clean = lot.fit_width_exponent(good, (4, 16), n_boot=200)
    data = lot.measure(config, lot.CompareRuns((mixed,), relu))
    silu = [r for r in data.rows if r.params["activation"] == "silu"]
    assert len(silu) == 2
    for row in silu:
        assert row.measured == clean.exponent
        assert (row.ci_low, row.ci_high) == (clean.ci_low, clean.ci_high)
        assert row.extras["n_diverged"] == "6"
        assert "6 diverged runs left out of the fit" in row.extras["note"]
    # every run of a width diverged: no exponent is fitted, the row says why
    data = lot.measure(config, lot.CompareRuns((blown,), relu))
    silu = [r for r in data.rows if r.params["activation"] == "silu"]
    assert all(math.isnan(r.measured) and r.extras["n_diverged"] == "6" for r in silu)
    assert all("not fitted" in r.extras["note"] for r in silu) and not data.silu_fits


def test_run_verb_reports_diverged_runs_and_no_exponent(tmp_path, capsys):
    config = lot.RunConfig(widths=(4, 8), seeds=2, adam_steps=100, lr=1e3, n_boot=50)
    table = lot.run(config, tmp_path, progress=False, note=QUICK_NOTE)
    assert table.diverged().tolist() == [2, 2] and np.isnan(table.test_mse).all()
    text = capsys.readouterr().out.splitlines()
    assert text[0] == f"[{QUICK_NOTE}]"
    assert text[-1].startswith("width exponent not determined: 4 of 4 runs diverged")
    assert not any("PowerLawFit" in line for line in text)


def test_analysis_counts_diverged_runs_in_every_row():
    config = _tiny_config(mechanism=True)
    runs = _synthetic_runs(config)
    relu = runs.relu
    mse = relu.test_mse.copy()
    mse[:2, 1] = np.nan  # two ReLU runs at N = 8 diverged
    relu = relu._replace(test_mse=mse, n_diverged=np.array([0, 2]))
    runs = dataclasses.replace(
        runs,
        relu=relu,
        n2=_dataset(2, config.n2_seeds, 1, n_diverged=3),
        wide=_dataset(config.wide_width, 3, 2, n_diverged=1),
        ensemble=_dataset(config.ensemble_width, config.ensemble_seeds, 3, n_diverged=2),
    )
    data = lot.measure(config, runs)
    assert all("n_diverged" in r.extras for r in data.rows)
    by = {(r.quantity, str(r.params["width"]).removesuffix(".0")): r for r in data.rows}
    relu_fit = by[("width_exponent", "4-8")]
    assert relu_fit.params["activation"] == "relu" and relu_fit.extras["n_diverged"] == "2"
    assert "2 diverged runs left out of the fit" in relu_fit.extras["note"]
    assert by[("median/relu_floor", "8")].extras["n_diverged"] == "2"
    assert by[("median/relu_floor", "4")].extras["n_diverged"] == "0"
    # mechanism: diverged nets are in no loss mode, no mirror statistic, no ensemble
    assert by[("n2_loss_modes", "2")].extras["n_diverged"] == "3"
    assert sum(m.count for m in data.n2.modes) == config.n2_seeds - 3
    assert data.wide.w.shape == (2, config.wide_width) and data.wide.n_diverged == 1
    assert by[("mirror_fraction", str(config.wide_width))].extras["n_seeds"] == "3"
    assert data.ensemble.n_diverged == 2 and data.ensemble.curve.n_nets * 2 <= 18
    assert all(r.extras["n_diverged"] == "2" for r in data.rows if r.quantity == "ensemble_mse")
    # ... and the figures say how many they left out
    fig = plots.plot_n2_histogram(data.n2)
    assert isinstance(fig, Figure) and "3 diverged runs left out" in fig.axes[0].get_title()
    fig = plots.plot_width_scaling(data.silu, data.relu)
    assert any("2 diverged runs left out" in t.get_text() for t in fig.axes[0].get_legend().texts)
