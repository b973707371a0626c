"""simulations.superposition commands end to end, configs and presets, analysis and plots on
synthetic data, and the liu2025 paper figures."""

import dataclasses
import importlib
import json
import math

import numpy as np
import pytest
import xarray as xr
from matplotlib.figure import Figure

from simulations import compare
from simulations import superposition as sp
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
    rng = np.random.default_rng(seed)
    n, widths, seeds = 128, np.array([8, 16, 32]), 3
    settings = [("power", g, a) for g in gammas for a in alphas]
    settings += [(law, g, 0.0) for law in laws if law != "power" for g in gammas]
    shape = (len(settings), widths.size, seeds)
    loss, phi = np.empty(shape), np.empty(shape)
    for s, (_, g, a) in enumerate(settings):
        slope = 1.0 if g < 0 else max(a - 1.0, 0.2)
        noise = 1 + 0.01 * rng.standard_normal((widths.size, seeds))
        loss[s] = 2.0 * widths[:, None] ** -slope * noise
        phi[s] = 1.0 if g < 0 else (widths / n)[:, None] + 0.005 * rng.random((widths.size, seeds))
    hist = rng.random((*shape, model.HIST_BINS))
    return xr.Dataset(
        {
            "final_loss": (("setting", "m", "seed"), loss),
            "phi_half": (("setting", "m", "seed"), phi),
            "overlap_sq_represented": (("setting", "m", "seed"), 1.1 / widths[:, None] + 0 * loss),
            "norm_hist": (("setting", "m", "seed", "norm_bin"), hist / hist.sum(-1, keepdims=True)),
        },
        coords={
            "setting": np.arange(len(settings)),
            "law": ("setting", [s[0] for s in settings]),
            "gamma": ("setting", [s[1] for s in settings]),
            "alpha": ("setting", [s[2] for s in settings]),
            "m": widths,
            "seed": np.arange(seeds),
            "norm_bin": (np.arange(model.HIST_BINS) + 0.5) * model.HIST_WIDTH,
        },
        attrs={"n": n},
    )


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


@pytest.mark.parametrize("name", FIGURES)
def test_figure_plot_on_synthetic_data(name, tmp_path):
    module = importlib.import_module(f"paper_figures.superposition.{name}")
    assert module.DESCRIPTION
    cfg = module.config("quick")
    json.dumps(cfg)  # the cache key
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
    }
    back = compare.read_comparison_csv(tmp_path / "comparison.csv")
    assert back == rows
    header = (tmp_path / "comparison.csv").read_text().splitlines()[0].split(",")
    assert header[:9] == ["law", "gamma", "alpha", *compare.CORE_COLUMNS]
    assert {r.quantity for r in rows} == {"alpha_m", "phi_half"}
    assert "n = 200, widths [8, 16, 32]" in capsys.readouterr().out


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
