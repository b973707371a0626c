"""simulations.superposition commands end to end, configs and presets, analysis and plots on
synthetic data, and the liu2025 paper figures."""

import dataclasses
import importlib
import json
import math

import numpy as np
import pytest
from helpers import superposition_tidy
from matplotlib.figure import Figure

from simulations import cli, compare, fit, sweep
from simulations import superposition as sp
from simulations.grid import Grid
from simulations.plotting import QUICK_NOTE
from simulations.superposition import model

FIGURES = [
    "liu2025_exponent_vs_alpha",
    "liu2025_loss_vs_m",
    "liu2025_norm_histograms",
    "liu2025_overlap_vs_m",
    "liu2025_phi_vs_gamma",
]


def _synthetic(gammas=(-1.0, 0.5), alphas=(1.0, 1.5), laws=("power", "exponential"), seed=0):
    """A tidy dataset like run_config's: loss = 2 m^-1 (gamma < 0) or 2 m^-(alpha - 1) (else)."""
    return superposition_tidy(gammas, alphas, laws, seed)


# --- configs and presets -------------------------------------------------------------------------
def test_presets_keep_the_previous_sizes():
    quick = sp.CompareConfig.preset("quick")
    assert (quick.n, quick.widths, quick.steps, quick.batch, quick.seeds) == (
        200,
        (8, 16, 32),
        1000,
        128,
        2,
    )
    assert quick.points == (
        ("power", -1.0, 1.0),
        ("power", -1.0, 1.5),
        ("power", 0.5, 1.0),
        ("power", 0.5, 1.5),
    )
    assert sp.CompareConfig.preset("default") == sp.CompareConfig()
    default = sp.CompareConfig()
    assert len(default.points) == 12 and default.points[8:] == (
        ("exponential", -1.0, 0.0),
        ("exponential", 0.1, 0.0),
        ("linear", -1.0, 0.0),
        ("linear", 0.1, 0.0),
    )
    paper = sp.CompareConfig.preset("paper")
    assert paper.n == 10240 and paper.window == (32.0, None) and len(paper.points) == 14
    phase = sp.PhaseDiagramConfig.preset("quick")
    assert len(phase.points) == 20 and phase.steps == 600 and phase.window is None
    assert sp.PhaseDiagramConfig().gammas == (-1.0, -0.75, -0.5, -0.25, 0.0, 0.25, 0.5, 0.75, 1.0)
    paper_phase = sp.PhaseDiagramConfig.preset("paper")
    assert len(paper_phase.alphas) == 17 and len(paper_phase.gammas) == 10
    for cls in (sp.CompareConfig, sp.PhaseDiagramConfig):
        for name in ("quick", "default", "paper"):
            cls.preset(name).validate()
        with pytest.raises(ValueError, match="preset"):
            cls.preset("huge")


def test_budget_ladders():
    assert sp.CompareConfig().budgets == (333, 1000, 3000)
    assert sp.CompareConfig.preset("quick").budgets == (111, 333, 1000)
    assert sp.CompareConfig.preset("paper").budgets == (2222, 6667, 20000)
    assert sp.PhaseDiagramConfig().budgets == (2000,)  # one budget: no verdict
    two = dataclasses.replace(sp.CompareConfig(), n_budgets=2, budget_factor=10.0)
    assert two.budgets == (300, 3000)
    assert two.grid().static["steps"] == (300, 3000)
    assert sp.PhaseDiagramConfig().grid().static["steps"] == (2000,)


def test_config_round_trips_through_json():
    config = sp.CompareConfig.preset("paper")
    back = sp.CompareConfig.from_dict(json.loads(json.dumps(dataclasses.asdict(config))))
    assert back == config


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"widths": (8,)}, "widths"),
        ({"widths": (8, 200)}, "widths"),
        ({"laws": ("zipf",)}, "laws"),
        ({"gammas": ()}, "gammas"),
        ({"alphas": (-1.0,)}, "alphas"),
        ({"seeds": 0}, "seeds"),
        ({"lr": 0.0}, "lr"),
        ({"lr_rule": "sqrt"}, "lr_rule"),
        ({"window_min": 20.0}, "window"),
        ({"steps": 1.5}, "steps"),
    ],
)
def test_config_validation(change, match):
    config = dataclasses.replace(sp.CompareConfig.preset("quick"), **change)
    with pytest.raises((ValueError, TypeError), match=match):
        config.validate()


# --- analysis and plots on synthetic data --------------------------------------------------------
def test_comparison_rows_on_synthetic_data():
    data = _synthetic()
    rows = sp.comparison_rows(data, n_boot=50)
    assert len(rows) == 2 * data.sizes["setting"]
    fits = sp.exponent_rows(rows)
    assert fits[("power", -1.0, 1.5)].measured == pytest.approx(1.0, abs=0.05)
    assert fits[("power", 0.5, 1.5)].measured == pytest.approx(0.5, abs=0.05)
    strong = fits[("power", -1.0, 1.5)]
    assert strong.phase == "strong" and strong.predicted == 1.0
    assert strong.extras["alpha_minus_1"] == "0.5" and strong.extras["window"] == "8:32"
    assert fits[("exponential", 0.5, 0.0)].extras.get("alpha_minus_1", "") == ""
    phi = [r for r in rows if r.quantity == "phi_half" and r.phase == "weak"]
    assert phi[0].predicted == pytest.approx(np.mean([8, 16, 32]) / 128)
    windowed = sp.comparison_rows(data, window=(16, None), n_boot=50)
    assert sp.exponent_rows(windowed)[("power", -1.0, 1.0)].extras["window"] == "16:32"


# --- budget convergence ----------------------------------------------------------------------
_H = (0.05, 0.05, 0.05)


@pytest.mark.parametrize(
    ("exponents", "halves", "at"),
    [
        ((0.70, 0.98, 1.00), _H, 300),  # last step 0.02 < 0.05 sqrt 2: converged from 300 on
        ((0.99, 1.01, 1.00), _H, 100),  # every budget within its difference's half-width
        ((0.50, 0.80, 1.00), _H, None),  # still steepening
        ((0.0, 0.375, 1.0), (0.1, 0.375, 0.5), None),  # change 0.625 = hypot(0.375, 0.5)
        ((0.0, 0.375, 0.9), (0.1, 0.375, 0.5), 300),  # change 0.525 < 0.625
        ((1.01, 1.30, 1.00), _H, None),  # near the first budget's again, but the last step is big
        ((0.90, float("nan"), 1.00), (0.5, 0.5, 0.5), None),  # a failed fit never converges
    ],
)
def test_budget_convergence_verdict(exponents, halves, at):
    budgets = (100, 300, 900)
    lows = [e - h for e, h in zip(exponents, halves, strict=True)]
    highs = [e + h for e, h in zip(exponents, halves, strict=True)]
    verdict = sp.budget_convergence(budgets, exponents, lows, highs)
    assert verdict.converged_at == at and verdict.converged is (at is not None)
    assert verdict.change == pytest.approx(exponents[-1] - exponents[-2], nan_ok=True)
    expected = math.hypot(*halves[1:]) if math.isfinite(exponents[1]) else math.nan
    assert verdict.half_width == pytest.approx(expected, nan_ok=True)
    text = verdict.verdict()
    assert text == f"converged at budget {at}" if at else text.startswith("not converged (")
    back = sp.parse_exponent_by_budget(verdict.by_budget())
    assert [b for b, *_ in back] == list(budgets)
    assert [e for _, e, *_ in back] == pytest.approx(exponents, abs=5e-5, nan_ok=True)


def test_budget_convergence_edge_cases():
    one = sp.budget_convergence([100], [1.0], [0.9], [1.1])
    assert not one.converged and one.verdict() == "not converged (one budget)"
    with pytest.raises(ValueError, match="budgets must be increasing"):
        sp.budget_convergence([300, 100], [1, 1], [0, 0], [2, 2])
    with pytest.raises(ValueError, match="equal length"):
        sp.budget_convergence([100, 300], [1.0], [0.9], [1.1])
    with pytest.raises(ValueError, match="exponent_by_budget"):
        sp.parse_exponent_by_budget("100:1.0")


def test_a_budget_is_a_complete_shorter_run():
    """The learning-rate schedule ends at the run's last step (warm-up steps // 10, cosine decay
    to 0.05 lr at ``steps``), so the model after B updates of a longer run is not a B-step run:
    each budget is its own run. Its result is exactly that of a sweep at ``steps = B`` alone
    (same static options, hence the same run key), and the largest budget is the main data."""
    base = {"n": 32, "batch": 8, "gammas": [-1.0], "alphas": [1.5], "eval_batches": 1}
    ladder = sp.make_grid(widths=[4], steps=36, budgets=[12, 36], **base)
    data = sp.tidy(sweep.run_sweep(sp.build, ladder, progress=False, name="sp-budgets"))
    alone = sp.tidy(
        sweep.run_sweep(sp.build, sp.make_grid(widths=[4], steps=12, **base), progress=False)
    )
    by_budget = data["final_loss_by_budget"].values  # (setting, budget, m, seed)
    np.testing.assert_array_equal(data["budget"].values, [12, 36])
    np.testing.assert_array_equal(by_budget[:, 0], alone["final_loss"].values)
    np.testing.assert_array_equal(by_budget[:, 1], data["final_loss"].values)
    assert not np.allclose(by_budget[:, 0], by_budget[:, 1], rtol=1e-3)
    assert not data["diverged_by_budget"].values.any()
    # a 12-step run's schedule at its last update is not the 36-step run's at update 12
    assert float(model.lr_multiplier(11, 12, 1)) < 0.1 < float(model.lr_multiplier(11, 36, 3))


def _with_budgets(data, drift):
    """Synthetic data with budgets 100, 300, 900: loss = 2 m^-(e - drift(B)) times 1 % noise per
    (width, seed), the same at every budget (so only the drift moves the exponent, and the
    intervals still have the noise's width); ``e`` the slope of :func:`_synthetic` (1 strong,
    max(alpha - 1, 0.2) weak)."""
    budgets = np.array([100, 300, 900])
    widths = data["m"].values.astype(float)
    rng = np.random.default_rng(1)
    loss = np.empty((data.sizes["setting"], budgets.size, widths.size, data.sizes["seed"]))
    for s in range(data.sizes["setting"]):
        g, a = float(data["gamma"].values[s]), float(data["alpha"].values[s])
        final = 1.0 if g < 0 else max(a - 1.0, 0.2)
        noise = 1 + 0.01 * rng.standard_normal((widths.size, data.sizes["seed"]))
        for k, b in enumerate(budgets):
            loss[s, k] = 2.0 * widths[:, None] ** -(final - drift(b)) * noise
    dims = ("setting", "budget", "m", "seed")
    data = data.assign(
        final_loss_by_budget=(dims, loss), diverged_by_budget=(dims, np.zeros(loss.shape, bool))
    ).assign_coords(budget=budgets)
    return data.assign(final_loss=(("setting", "m", "seed"), loss[:, -1]))


def test_comparison_rows_give_the_exponent_per_budget_and_the_verdict():
    """A slope still moving as 0.3 (100/B) (steps 0.2, then 0.067) is not converged; one whose
    correction falls as 0.3 (100/B)^6 (steps 0.3, then 4e-4) is converged at the middle budget.
    1 % noise per run over 3 seeds puts the half-widths of the changes at 0.005-0.010 (printed
    on failure): >= 10 x the fast last step, <= 1/6 of the slow one; the noise is seeded."""
    data = _synthetic(laws=("power",))
    slow = sp.comparison_rows(_with_budgets(data, lambda b: 0.3 * 100 / b), n_boot=200)
    fast = sp.comparison_rows(_with_budgets(data, lambda b: 0.3 * (100 / b) ** 6), n_boot=200)
    for rows, at in ((slow, "no"), (fast, "300")):
        fits = sp.exponent_rows(rows)
        assert {r.extras["converged_at"] for r in fits.values()} == {at}, [
            r.extras["convergence"] for r in fits.values()
        ]
        strong = fits[("power", -1.0, 1.5)]
        per_budget = sp.parse_exponent_by_budget(strong.extras["exponent_by_budget"])
        assert [b for b, *_ in per_budget] == [100, 300, 900]
        assert per_budget[-1][1] == pytest.approx(strong.measured, abs=5e-5)
    strong = sp.exponent_rows(slow)[("power", -1.0, 1.5)].extras["exponent_by_budget"]
    slopes = [e for _, e, *_ in sp.parse_exponent_by_budget(strong)]
    assert slopes == pytest.approx([0.7, 0.9, 1 - 0.3 / 9], abs=0.03)
    fig = sp.plot_exponent_vs_budget(fast)
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    assert any("converged at 300" in t.get_text() for t in fig.axes[0].get_legend().texts)


def test_plots_return_figures():
    data = _synthetic()
    rows = sp.comparison_rows(data, n_boot=20)
    figures = [
        sp.plot_loss_vs_m(data, rows),
        sp.plot_exponents(rows, n=128, widths=(8, 16, 32)),
        sp.plot_norm_histograms(data),
        sp.plot_overlaps(data),
        sp.plot_phase_diagram(data, rows),
        sp.plot_phi_vs_gamma(data),
    ]
    assert all(isinstance(f, Figure) for f in figures)
    assert len(figures[0].axes) == 2  # one panel per law


def test_phase_map_rings_undetermined_exponents():
    data = _synthetic(gammas=(-1.0, 0.5), alphas=(1.0, 1.5), laws=("power",))
    rows = sp.comparison_rows(data, n_boot=20)
    labels = sp.plot_phase_diagram(data, rows).axes[1].get_legend_handles_labels()[1]
    assert "not determined" not in labels  # tight synthetic intervals
    wide = [
        dataclasses.replace(r, ci_low=r.measured - 5, ci_high=r.measured + 5)
        if r.quantity == "alpha_m" and r.params["gamma"] == 0.5
        else r
        for r in rows
    ]
    ax = sp.plot_phase_diagram(data, wide).axes[1]
    assert ax.get_legend_handles_labels()[1][-1] == "not determined"
    assert len(ax.lines[-1].get_xdata()) == 2  # the two gamma = 0.5 settings


@pytest.mark.parametrize("name", FIGURES)
def test_figure_plot_on_synthetic_data(name, tmp_path):
    module = importlib.import_module(f"paper_figures.superposition.{name}")
    assert module.DESCRIPTION
    cfg = module.config("quick")
    json.dumps(cfg)  # the cache key
    assert cfg["preset"] == "quick" and module.config("default")["preset"] == "default"
    data = _synthetic(laws=("power", "exponential", "linear"))
    rows = sp.comparison_rows(data, n_boot=20)
    paths = module.plot({"data": data, "config": cfg, "rows": rows}, tmp_path)
    assert paths and all(p.exists() and p.stat().st_size > 0 for p in paths)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["liu2025_loss_vs_m", "liu2025_phi_vs_gamma"])
def test_figure_compute_quick(name, tmp_path):
    module = importlib.import_module(f"paper_figures.superposition.{name}")
    cfg = module.config("quick")
    data = module.compute(cfg)
    assert set(data) == {"data", "config", "rows"}
    assert np.isfinite(data["data"]["final_loss"].values).all()
    assert module.plot(data, tmp_path)


# --- the verbs -----------------------------------------------------------------------------------
def test_compare_quick_writes_the_common_table(tmp_path, capsys):
    rows = sp.compare(sp.CompareConfig.preset("quick"), tmp_path, progress=False)
    assert (tmp_path / "comparison.csv").exists() and (tmp_path / "data.nc").exists()
    assert {p.name for p in tmp_path.glob("*.png")} == {
        "loss_vs_m.png",
        "exponents.png",
        "norm_histograms.png",
        "exponent_vs_budget.png",
    }
    back = compare.read_comparison_csv(tmp_path / "comparison.csv")
    assert back == rows
    header = (tmp_path / "comparison.csv").read_text().splitlines()[0].split(",")
    assert header[:9] == ["law", "gamma", "alpha", *compare.CORE_COLUMNS]
    assert header[-4:] == ["n_diverged", "exponent_by_budget", "converged_at", "convergence"]
    assert {r.extras["n_diverged"] for r in rows} == {"0"}
    assert {r.quantity for r in rows} == {"alpha_m", "phi_half"}
    # the budget columns parse; the last budget is the measured exponent; verdicts agree
    for r in back:
        if r.quantity != "alpha_m":
            assert "exponent_by_budget" not in r.extras
            continue
        per_budget = sp.parse_exponent_by_budget(r.extras["exponent_by_budget"])
        assert [b for b, *_ in per_budget] == [111, 333, 1000]
        assert per_budget[-1][1:] == pytest.approx((r.measured, r.ci_low, r.ci_high), abs=6e-5)
        verdict = sp.budget_convergence(*zip(*per_budget, strict=True))
        at = r.extras["converged_at"]
        assert at == ("no" if verdict.converged_at is None else str(verdict.converged_at))
        assert r.extras["convergence"].startswith("converged at" if at != "no" else "not conv")
    out = capsys.readouterr().out
    assert "n = 200, widths [8, 16, 32]" in out and "budgets [111, 333, 1000] steps" in out
    assert "alpha_m by training budget" in out and "1000 steps" in out


def test_phase_diagram_tiny(tmp_path):
    config = sp.PhaseDiagramConfig(
        n=64,
        widths=(4, 8),
        steps=30,
        batch=16,
        gammas=(-1.0, 0.0, 1.0),
        alphas=(1.0, 1.5),
        pad_widths=True,
        n_boot=20,
        eval_batches=1,
    )
    rows = sp.phase_diagram(config, tmp_path, progress=False)
    assert len(rows) == 2 * 6
    assert {r.phase for r in rows} == {"strong", "boundary", "weak"}
    assert all(math.isnan(r.predicted) for r in rows if r.phase == "boundary")
    assert (tmp_path / "phase_diagram.png").exists() and (tmp_path / "phi_vs_gamma.png").exists()


def test_verbs_validate_before_running(tmp_path):
    with pytest.raises(ValueError, match="widths"):
        sp.compare(sp.CompareConfig(widths=(16,)), tmp_path, progress=False)
    assert not (tmp_path / "sweep").exists()


# --- trustworthy results: bad inputs, divergence, memory -----------------------------------------
_S = {"n": 64, "m": 8, "steps": 20, "batch": 8}


def _sweep(points, static=_S):
    static = {k: v for k, v in static.items() if v is not None}
    return lambda: sweep.run_sweep(
        sp.build, Grid.zipped(static=static, points=points), progress=False, name="sp-bad-input"
    )


_QUICK = sp.CompareConfig.preset("quick")

BAD_API = [
    # (call, message that must appear: it names the parameter)
    (_sweep({"gamma": [0.0], "alpha": [-1.0]}), "alpha"),
    (_sweep({"gamma": [500.0]}), r"gamma must satisfy \|gamma\| < 2/lr = 200"),
    (_sweep({"gamma": [float("nan")]}), "gamma"),
    (_sweep({"gamma": [0.0], "law_code": [3.0]}), "law_code"),
    (_sweep({"gamma": [0.0], "lr": [0.0]}), "lr"),
    (_sweep({"gamma": [0.0], "beta": [1.0]}), "swept parameters"),
    (_sweep({"gamma": [0.0], "alpha": [2.0], "density": [5.0]}), "density"),
    (_sweep({"gamma": [0.0], "m": [16.0]}, {**_S, "m": None, "m_max": 8}), "m must be"),
    (_sweep({"gamma": [0.0]}, {**_S, "max_rate": 0.5}), "max_rate"),
    (_sweep({"gamma": [0.0]}, {**_S, "n": 0}), "n must be"),
    (_sweep({"gamma": [0.0]}, {**_S, "m": 100}), "m must be <= n"),
    (_sweep({"gamma": [0.0]}, {**_S, "steps": 2.5}), "steps"),
    (lambda: sp.build({**_S, "n": 2**40}), "n must be"),
    (lambda: sp.make_grid(widths=[4, 8], gammas=[-300.0], **_S), "gamma"),
    (lambda: dataclasses.replace(_QUICK, gammas=(-1.0, 250.0)).validate(), "gamma"),
    (lambda: dataclasses.replace(_QUICK, lr=float("inf")).validate(), "lr"),
    (lambda: sp.compare(dataclasses.replace(_QUICK, n=1), "/nonexistent", progress=False), "n"),
    # budget ladders: the field, its value and its range
    (lambda: dataclasses.replace(_QUICK, n_budgets=0).validate(), r"n_budgets must be .*\[1, 8\]"),
    (lambda: dataclasses.replace(_QUICK, n_budgets=9).validate(), r"n_budgets .*\[1, 8\]"),
    (lambda: dataclasses.replace(_QUICK, n_budgets=2.0).validate(), "n_budgets"),
    (lambda: dataclasses.replace(_QUICK, budget_factor=1.0).validate(), "budget_factor must be >"),
    (lambda: dataclasses.replace(_QUICK, budget_factor=float("nan")).validate(), "budget_factor"),
    (lambda: dataclasses.replace(_QUICK, budget_factor=500.0).validate(), "budget_factor"),
    (
        lambda: dataclasses.replace(_QUICK, steps=50).validate(),
        r"n_budgets must be in \[1, 2\] at steps = 50, budget_factor = 3 .*got 3",
    ),
    (lambda: sp.make_grid(widths=[4, 8], gammas=[0.0], budgets=[20, 10], **_S), "budgets"),
]


@pytest.mark.parametrize(("call", "match"), BAD_API)
def test_bad_api_inputs_fail_in_one_line_before_compiling(call, match, no_compile):
    before = sweep.trace_count("sp-bad-input")
    with pytest.raises((ValueError, TypeError), match=match) as err:
        call()
    assert "\n" not in str(err.value).strip()
    assert sweep.trace_count("sp-bad-input") == before


BAD_CLI = [
    # verb-level: the config's or the engine's one-line error
    (["compare", "superposition", "--quick", "--n", "0"], "n"),
    (["compare", "superposition", "--quick", "--widths", "8,300"], "widths"),
    (["compare", "superposition", "--quick", "--gammas=-1,500"], "gamma must satisfy"),
    (["compare", "superposition", "--quick", "--lr", "-1"], "lr"),
    (["compare", "superposition", "--quick", "--laws", "zipf"], "laws"),
    (["compare", "superposition", "--quick", "--window-min", "20"], "window"),
    (["phase-diagram", "superposition", "--quick", "--alphas=-1,1"], "alpha"),
    (["phase-diagram", "superposition", "--quick", "--steps", "0"], "steps"),
    (["compare", "superposition", "--quick", "--n-budgets", "0"], "n_budgets"),
    (["compare", "superposition", "--quick", "--budget-factor", "1"], "budget_factor"),
]

BAD_OPTIONS = [
    # option parsing: argparse's usage, then one error line naming the option
    (["compare", "superposition", "--quick", "--widths", "a,b"], "--widths"),
    (["compare", "superposition", "--quick", "--lr-rule", "sqrt"], "--lr-rule"),
    (["phase-diagram", "superposition", "--quick", "--seeds", "1.5"], "--seeds"),
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


@pytest.mark.parametrize(("argv", "match"), BAD_OPTIONS)
def test_bad_cli_options_exit_2_naming_the_option(argv, match, tmp_path, capsys, no_compile):
    with pytest.raises(SystemExit) as exc:
        cli.main([*argv, "--out", str(tmp_path / "out"), "--no-progress"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert "error: argument " + match in last, last
    assert not (tmp_path / "out").exists()


def test_diverged_runs_are_flagged_counted_and_left_out_of_the_fit():
    """Setting alpha = 1.5 trains at lr = 100 at its widest width only (widths padded into one
    program, lr swept per point): those runs blow up (final loss >> 10^3 sum_i Var(x_i)) while
    every other run is fine. They are flagged, NaN in the tidy data, out of the fit, counted."""
    static = {"n": 64, "m_max": 8, "steps": 30, "batch": 16, "eval_batches": 1}
    points = {
        "m": [2.0, 4.0, 8.0] * 2,
        "gamma": [0.0] * 6,
        "alpha": [1.0] * 3 + [1.5] * 3,
        "lr": [0.01] * 5 + [100.0],
    }
    grid = Grid.zipped(static={**static, "n_checkpoints": 8}, points=points, seeds=2)
    result = sweep.run_sweep(sp.build, grid, progress=False, name="sp-diverging")
    raw = result.groups[0]
    np.testing.assert_array_equal(raw["diverged"].values.any(axis=1), [0, 0, 0, 0, 0, 1])
    assert raw["finite"].values.all()  # finite, but huge: only the bound catches them
    assert (raw["final_loss"].values[5] > 1e3 * 1.3).all()
    data = sp.tidy(result)
    np.testing.assert_array_equal(sp.diverged_counts(data), [[0, 0, 0], [0, 0, 2]])
    assert np.isnan(data["final_loss"].values[1, 2]).all()
    rows = sp.comparison_rows(data, n_boot=50)
    fits = sp.exponent_rows(rows)
    good, bad = fits[("power", 0.0, 1.0)], fits[("power", 0.0, 1.5)]
    assert good.extras["n_diverged"] == "0" and "note" not in good.extras
    assert bad.extras["n_diverged"] == "2" and "diverged" in bad.extras["note"]
    phi = [r for r in rows if r.quantity == "phi_half" and r.params["alpha"] == 1.5]
    assert phi[0].extras["n_diverged"] == "2"
    # the fit is the one over the surviving widths, not over the blown-up values
    survivors = fit.bootstrap_power_law([2, 4], data["final_loss"].values[1, :2].T, n_boot=50)
    assert bad.measured == pytest.approx(survivors.exponent)
    with_bad = fit.fit_power_law([2, 4, 8], raw["final_loss"].values[3:].mean(axis=1))
    assert abs(with_bad.exponent - bad.measured) > 1.0
    # figures leave them out and say so
    legend = [t.get_text() for t in sp.plot_loss_vs_m(data, rows).axes[0].get_legend().texts]
    assert any("2 diverged" in t for t in legend)
    phase = sp.plot_phase_diagram(data, rows).axes[0].get_legend_handles_labels()[1]
    assert "diverged runs (left out)" in phase


def test_a_size_that_cannot_fit_is_refused_up_front(no_compile):
    grid = sp.make_grid(n=10**6, widths=[5 * 10**5], steps=10, batch=8, gammas=[0.0])
    before = sweep.trace_count("sp-huge")
    with pytest.raises(ValueError, match=r"n=1000000.*m=500000") as err:
        sweep.run_sweep(sp.build, grid, progress=False, name="sp-huge")
    assert "one run needs" in str(err.value)
    assert sweep.trace_count("sp-huge") == before


def test_quick_figures_are_stamped(tmp_path):
    module = importlib.import_module("paper_figures.superposition.liu2025_overlap_vs_m")
    data = _synthetic()
    for preset, stamped in (("quick", True), ("default", False)):
        cfg = module.config(preset)
        captured = []
        orig = Figure.savefig

        def spy(fig, *args, _orig=orig, _captured=captured, **kwargs):
            _captured.append([t.get_text() for t in fig.texts])
            return _orig(fig, *args, **kwargs)

        Figure.savefig = spy
        try:
            module.plot({"data": data, "config": cfg, "rows": []}, tmp_path)
        finally:
            Figure.savefig = orig
        assert (QUICK_NOTE in captured[0]) is stamped
