"""Every figure of the library, drawn from small synthetic data (nothing is trained), passes the
house-style checks of :mod:`simulations.plotting`: no two visible texts (titles, axis and tick
labels, annotations, legend entries, the quick-preset stamp) overlap or touch, no legend covers a
text outside itself, every text lies inside the figure, and the PNG and the PDF are both written.

The texts are the ones matplotlib actually draws (recorded from ``Text.draw`` during an Agg draw),
with their extents from the renderer, so ticks outside the view or empty labels do not count.
"""

from __future__ import annotations

import importlib
import itertools
from pathlib import Path
from unittest import mock

import matplotlib.text as mtext
import numpy as np
import pytest
import xarray as xr
from helpers import superposition_tidy
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.legend import Legend

from simulations import plotting
from simulations.compare import ComparisonRow
from simulations.lottery import analysis as lottery_analysis
from simulations.lottery import diagnostics as lottery_diag
from simulations.lottery import plots as lottery_plots
from simulations.lottery.model import midpoint_grid
from simulations.lottery.sweeps import WidthTable
from simulations.plrf import analysis as plrf_analysis
from simulations.plrf import plots as plrf_plots
from simulations.plrf.limits import WFreeCurves
from simulations.random_features import analysis as rf_analysis
from simulations.random_features import plots as rf_plots
from simulations.random_features.experiment import CompareConfig as RFCompareConfig
from simulations.random_features.experiment import FlowSweeps, RegimeSweeps
from simulations.results import SweepResult
from simulations.scalefit import plots as scalefit_plots
from simulations.scalefit.data import make_table
from simulations.scalefit.report import run_fit
from simulations.superposition import plots as sup_plots
from simulations.superposition.analysis import comparison_rows as sup_rows
from simulations.sweep import Grid
from theory import plrf as theory_plrf

# Boxes closer than 2 px (at 100 dpi: 1.4 pt) count as touching: tick labels that "run
# together" (3×10¹4×10¹) are 0-1 px apart, while legend entries and stacked labels of a sound
# layout are >= 3 px apart at the 5.5-8 pt sizes of the house style.
GAP_PX = 2.0


# --------------------------------------------------------------------------------------------
# the checker
# --------------------------------------------------------------------------------------------
def drawn_texts(fig: Figure):
    """Draw ``fig`` with Agg; returns ``(texts, legends)``: ``[(Text, Bbox)]`` of every non-empty
    visible text drawn (annotations without their arrows) and ``[(Legend, Bbox)]``."""
    texts, legends = {}, {}
    text_draw, legend_draw = mtext.Text.draw, Legend.draw

    def record_text(self, renderer):
        text_draw(self, renderer)
        if self.get_visible() and self.get_text().strip():
            texts[id(self)] = (self, mtext.Text.get_window_extent(self, renderer))

    def record_legend(self, renderer):
        legend_draw(self, renderer)
        if self.get_visible():
            legends[id(self)] = (self, self.get_window_extent(renderer))

    FigureCanvasAgg(fig)
    with (
        mock.patch.object(mtext.Text, "draw", record_text),
        mock.patch.object(Legend, "draw", record_legend),
        plotting.style(),
    ):
        fig.canvas.draw()
    return list(texts.values()), list(legends.values())


def _close(a, b, gap: float = GAP_PX) -> bool:
    dx = min(a.x1, b.x1) - max(a.x0, b.x0)
    dy = min(a.y1, b.y1) - max(a.y0, b.y0)
    return dx > -gap and dy > -gap


def layout_problems(fig: Figure) -> list[str]:
    """What breaks the house style in ``fig`` (empty when nothing does)."""
    texts, legends = drawn_texts(fig)
    assert texts, "nothing was drawn"
    out = []
    box = fig.bbox
    for t, b in texts:
        if b.x0 < box.x0 - 1 or b.y0 < box.y0 - 1 or b.x1 > box.x1 + 1 or b.y1 > box.y1 + 1:
            out.append(f"outside the figure: {t.get_text()!r}")
    for (t1, b1), (t2, b2) in itertools.combinations(texts, 2):
        if _close(b1, b2):
            out.append(f"overlap: {t1.get_text()!r} / {t2.get_text()!r}")
    for leg, lb in legends:
        own = {id(t) for t in (*leg.get_texts(), leg.get_title())}
        out += [
            f"legend over {t.get_text()!r}"
            for t, b in texts
            if id(t) not in own and _close(lb, b, 0.0)
        ]
    out += [
        "two legends overlap"
        for (_, a), (_, b) in itertools.combinations(legends, 2)
        if _close(a, b, 0.0)
    ]
    return out


def check(fig: Figure, name: str, note: str = plotting.QUICK_NOTE) -> None:
    """Stamp ``fig`` and check its layout (the files: :func:`test_paper_figures`)."""
    assert isinstance(fig, Figure)
    plotting.stamp(fig, note)
    problems = layout_problems(fig)
    assert not problems, f"{name}: " + "; ".join(problems)


# --------------------------------------------------------------------------------------------
# the checker can fail
# --------------------------------------------------------------------------------------------
def _labels_at_the_phase_points(place):
    fig = plotting.new_figure("one", 2.6)
    ax = fig.subplots()
    ax.set(xlim=(0, 2), ylim=(-0.2, 2), title="labels beside close points")
    a, b = np.array([0.2, 0.27, 0.4, 1.0]), np.array([1.0, 1.0, 0.8, 2.0])
    ax.scatter(a, b)
    texts = [f"0.{k}11 (0.{k}13)" for k in range(4)]
    place(ax, a, b, texts)
    return fig


def test_the_checker_catches_overlapping_value_labels():
    """Labels at a fixed offset, as the old phase diagram wrote them: (0.2, 1) and (0.27, 1)
    print on top of each other and (1, 2) runs into the title; value_labels places them apart."""

    def fixed(ax, a, b, texts):
        for t, x, y in zip(texts, a, b, strict=True):
            ax.annotate(t, (x, y), textcoords="offset points", xytext=(8, 6), fontsize=7)

    problems = layout_problems(_labels_at_the_phase_points(fixed))
    assert any("0.011 (0.013)" in p and "0.111 (0.113)" in p for p in problems), problems
    assert any("labels beside close points" in p for p in problems), problems
    placed = _labels_at_the_phase_points(lambda ax, a, b, t: plotting.value_labels(ax, a, b, t))
    assert layout_problems(placed) == []


def test_the_checker_catches_run_together_ticks_and_a_stamp_over_a_title():
    """Log minor tick labels of a short axis (the old Bahri figure) and the old top-right stamp
    over a title fail; size_ticks and the stamp's own strip pass."""
    fig = Figure(figsize=(3.4, 2.6), layout="constrained")
    ax = fig.subplots()
    ax.loglog([16, 32, 64, 128], [1e-3, 5e-4, 2.5e-4, 1.2e-4], "o")
    ax.set_title("a title long enough to reach the top-right corner of the figure")
    fig.text(0.995, 0.995, plotting.QUICK_NOTE, fontsize=7, ha="right", va="top")
    problems = layout_problems(fig)
    assert any("times10" in p for p in problems), problems
    assert any(plotting.QUICK_NOTE in p for p in problems), problems
    with plotting.style():
        fig = plotting.new_figure("one", 2.6)
        ax = fig.subplots()
        ax.loglog([16, 32, 64, 128], [1e-3, 5e-4, 2.5e-4, 1.2e-4], "o")
        ax.set_title("a title long enough to reach the corner")
        plotting.size_ticks(ax, [16, 32, 64, 128])
    check(fig, "fixed")


def test_style_helpers(tmp_path):
    assert plotting.power_label("N", -1) == "$N^{-1}$"
    assert plotting.power_label("k", "-1.5") == "$k^{-1.5}$"
    assert plotting.power_label("n", r"-\alpha", prefix=r"\cdot ") == r"$\cdot n^{-\alpha}$"
    fig = plotting.new_figure("two")
    assert tuple(fig.get_size_inches()) == pytest.approx((plotting.TWO_COLUMN, 0.45 * 7.0))
    assert plotting.new_figure("one").get_figwidth() == plotting.ONE_COLUMN
    with pytest.raises(ValueError, match="width must be"):
        plotting.new_figure("three")
    with pytest.raises(ValueError, match="height must be"):
        plotting.new_figure("one", -1.0)
    with pytest.raises(ValueError, match="texts must have one entry per point"):
        plotting.value_labels(fig.subplots(), [1, 2], [1, 2], ["a"])
    # an error bar whose lower end is <= 0 stays on a log axis
    fig = plotting.new_figure("one")
    ax = fig.subplots()
    ax.set_yscale("log")
    bars = plotting.sim_points(ax, [1, 2], [1e-3, 1e-3], [2e-3, 1e-4])
    low = bars.lines[2][0].get_segments()[0][0][1]
    assert low > 0
    # stamping twice keeps one stamp; an empty note stamps nothing
    fig = plotting.new_figure("one")
    plotting.stamp(plotting.stamp(fig, "a"), "b")
    assert [t.get_text() for t in fig.texts] == ["b"]
    assert plotting.stamp(plotting.new_figure("one"), "").texts == []
    paths = plotting.save(fig, tmp_path / "x.png", dpi=30)
    assert [p.name for p in paths] == ["x.png", "x.pdf"] and all(p.exists() for p in paths)
    assert plotting.save(fig, tmp_path / "x", dpi=30) == paths


# --------------------------------------------------------------------------------------------
# PLRF
# --------------------------------------------------------------------------------------------
SIZES = (16, 32, 64, 128, 256, 512)
PHASE_POINTS = ((1.0, 0.3), (0.4, 0.3), (0.2, 1.0), (1.0, 0.7), (0.7, 1.0), (1.0, 2.0))
PHASE_POINTS += ((0.4, 0.8), (0.27, 1.0))  # the points of `solvable phase-diagram plrf`


def _plrf_measurement(seeds=3):
    """L(r, d) = 1/d + r^(-1/2) with 1 % noise per seed: d* ∝ f^(1/3), P* ∝ f^(-1/3)."""
    rng = np.random.default_rng(0)
    grid = Grid.zipped(
        static={"d": list(SIZES), "batch": 1}, points={"alpha": [0.7], "beta": [1.0]}, seeds=seeds
    )
    steps = np.concatenate([[0], np.unique(np.round(np.geomspace(1, 1e6, 60)).astype(np.int64))])
    groups = []
    for d in SIZES:
        clean = 1.0 / d + np.maximum(steps, 1).astype(float) ** -0.5
        ds = xr.Dataset(
            {
                "loss": (
                    ("point", "seed", "checkpoint"),
                    clean * (1 + 0.01 * rng.standard_normal((1, seeds, steps.size))),
                ),
                "p_star": (("point", "seed"), np.full((1, seeds), d**-1.4)),
                "finite": (("point", "seed"), np.ones((1, seeds), bool)),
            },
            coords={"checkpoint": steps, "alpha": ("point", [0.7]), "beta": ("point", [1.0])},
        )
        ds.attrs.update({"static.d": d, "static.batch": 1})
        groups.append(ds)
    return plrf_analysis.measure_point(
        SweepResult(grid=grid, groups=groups, name="s"), 0, n_boot=10
    )


def _plrf_trend(alpha, beta):
    sizes = 2.0 ** np.arange(6, 17)
    r = np.geomspace(1, 1e12, 160)
    return plrf_analysis.measure_trend(
        WFreeCurves(
            alpha=alpha,
            beta=beta,
            sizes=sizes,
            compute=sizes[:, None] * r[None, :],
            loss=1.0 / sizes[:, None] + r[None, :] ** -0.5,
            p_star=sizes**-1.4,
            kernel_norm=np.zeros(sizes.size),
            settings={},
        )
    )


def _plrf_rows(points=PHASE_POINTS, converged=True):
    rng = np.random.default_rng(1)
    rows = []
    for a, b in points:
        xi, eta = theory_plrf.compute_optimal_exponents(a, b)
        for q, pred in (("xi", xi), ("eta", eta)):
            extras = {"n_diverged": "0", "converged": "yes" if converged or a > 0.5 else "no"}
            meas = pred + 0.02 * rng.standard_normal()
            params = {"alpha": a, "beta": b}
            rows.append(
                ComparisonRow(params, theory_plrf.phase(a, b), q, pred, meas, extras=extras)
            )
    return rows


def _plrf_curves(scale=1.0, seeds=6):
    steps = np.array([0, 1, 3, 10, 30, 100, 300, 1000])
    theory = scale * (0.01 + 1.0 / (1 + steps) ** 0.6)
    return plrf_analysis.LossCurves(
        step=steps,
        compute=32.0 * steps,
        sgd_mean=theory * 1.02,
        sgd_se=0.03 * theory,
        volterra_mean=theory,
        det_equiv=1.01 * theory,
        n_finite=seeds - 1,
        n_seeds=seeds,
    )


@pytest.fixture(scope="module")
def plrf_data():
    m = _plrf_measurement()
    maps = (np.linspace(0.02, 2, 40), np.linspace(-0.2, 2, 40))
    xi, eta = theory_plrf.exponent_maps(*maps)
    return {"m": m, "maps": (*maps, xi, eta)}


# exponent_maps, isoflop_frontier, loss_curves_by_size, plane_maps: through the paper figures
PLRF_FIGURES = ["phase_plane", "isoflop_grid", "loss_curves", "local_exponents"]


@pytest.mark.parametrize("name", PLRF_FIGURES)
def test_plrf_figures(name, plrf_data):
    m = plrf_data["m"]
    make = {
        "phase_plane": lambda: plrf_plots.phase_plane(_plrf_rows()),
        "isoflop_grid": lambda: plrf_plots.isoflop_grid([m] * len(PHASE_POINTS)),
        "loss_curves": lambda: plrf_plots.loss_curves(_plrf_curves(), title="PLRF α=0.7, β=1"),
        "local_exponents": lambda: plrf_plots.local_exponents(
            [_plrf_trend(0.7, 1.0), _plrf_trend(1.0, 0.3), _plrf_trend(0.4, 0.8)], [m]
        ),
    }[name]
    check(make(), name)


# --------------------------------------------------------------------------------------------
# random features
# --------------------------------------------------------------------------------------------
RF = RFCompareConfig(
    settings=((2.0, 2.0),),
    n_latent=64,
    big=64,
    res_sizes=(4, 8, 16, 32),
    var_latent=32,
    var_small=4,
    var_sizes=(32, 64, 128, 256),
    var_seeds=6,
    seeds=6,
    gf_latent=64,
    gf_sizes=(4, 8, 16, 32),
    gf_max_time=10_000,
    gf_checkpoints=24,
    gf_window=(1.0, 30.0),
    gf_seeds=4,
    n_boot=20,
)


def _noisy(rng, shape, scale=0.05):
    return 1.0 + scale * rng.standard_normal(shape)


def _rf_regime_sweeps(b=2.0, a=2.0):
    """Losses ∝ n^-1 (resolution-limited) and limit + n^-1 (variance-limited), 5 % noise."""
    rng = np.random.default_rng(0)
    res, var = np.asarray(RF.res_sizes, float), np.asarray(RF.var_sizes, float)
    rs, vs = (RF.seeds, res.size), (RF.var_seeds, var.size)
    limit = np.full(vs, 1e-3)
    return RegimeSweeps(
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


def _rf_regimes(b=2.0, a=2.0):
    return rf_analysis.measure_scaling_regimes(RF, _rf_regime_sweeps(b, a))


def _rf_flow_sweeps(b=2.0, a=2.0):
    """Flow curves L = 0.01/N + 0.01 t^(-1/2), 1 % noise (sizes × seeds × times)."""
    rng = np.random.default_rng(1)
    times = np.unique(np.round(np.geomspace(1, RF.gf_max_time, RF.gf_checkpoints)))
    sizes = np.asarray(RF.gf_sizes)
    clean = 0.01 / sizes[:, None, None] + 0.01 * times[None, None, :] ** -0.5
    loss = clean * _noisy(rng, (sizes.size, RF.gf_seeds, times.size), 0.01)
    return FlowSweeps(b, a, times, sizes, loss)


def _rf_flow_theory(sweeps):
    return 0.01 / sweeps.sizes[:, None] + 0.01 * sweeps.times[None, :] ** -0.5


def _rf_flow(b=2.0, a=2.0):
    sweeps = _rf_flow_sweeps(b, a)
    return rf_analysis.measure_flow_scaling(RF, sweeps, theory=_rf_flow_theory(sweeps))


def _maloney_loss_vs_size():
    rng = np.random.default_rng(2)
    m, fixed = 32, (8, 16, 128)
    sizes = np.array([6, 9, 14, 20, 30, 45, 68, 100])
    grid = np.arange(4, 256)

    def th(f, g):  # a double-descent-like curve, infinite at the fixed size
        with np.errstate(divide="ignore"):
            return 1e-3 * (1 + 1.0 / np.abs(1 - g / f)) / np.minimum(g, f)

    sim = np.stack([th(f, sizes) for f in fixed], 1)[:, :, None]
    return dict(
        m=m,
        fixed=fixed,
        sizes=sizes,
        vs_n=sim * _noisy(rng, (8, 3, 4), 0.5),
        vs_t=sim * _noisy(rng, (8, 3, 4), 0.5),
        theory_vs_n=[(grid[grid != f], th(f, grid[grid != f])) for f in fixed],
        theory_vs_t=[(grid[grid != f], th(f, grid[grid != f])) for f in fixed],
        noise=1e-6,
        alpha=1.0,
        asymptote_100=1e-4,
    )


def _maloney_ridge():
    rng = np.random.default_rng(3)
    ridges, ns_sweep = np.geomspace(1e-4, 1e2, 7), np.array([4, 8, 32, 64])
    ridge_grid, n_grid = np.geomspace(1e-5, 1e3, 50), np.arange(4, 80)
    shape_r = 1e-3 * (1 + 0.3 * np.log10(ridges / 1e-2) ** 2)
    return dict(
        m=64,
        t=16,
        noise=1e-4,
        alpha=1.0,
        ridges=ridges,
        ns_ridge=(4, 16, 64),
        vs_ridge=shape_r[None, :, None] * _noisy(rng, (3, 7, 3), 0.1),
        ridge_grid=ridge_grid,
        theory_vs_ridge=np.tile(1e-3 * (1 + 0.3 * np.log10(ridge_grid / 1e-2) ** 2), (3, 1)),
        optimum=[(1e-2, 1e-3)] * 3,
        ns_sweep=ns_sweep,
        ridgeless=(1e-2 / ns_sweep)[:, None] * _noisy(rng, (4, 3), 0.1),
        tuned=(0.8e-2 / ns_sweep)[:, None] * _noisy(rng, (4, 3), 0.1),
        n_grid=n_grid,
        theory_ridgeless=1e-2 / n_grid,
        n_grid_tuned=n_grid[::6],
        theory_tuned=0.8e-2 / n_grid[::6],
    )


def _bap_reuse(flow):
    rng = np.random.default_rng(4)
    times = flow.times
    th = 0.01 * times[None, :] ** -0.5 + np.array([[1e-3], [3e-4], [1e-4]])
    return dict(
        reuse_n=16,
        reuse_t=(8, 32, 128),
        reuse_times=times,
        reuse_test=th[:, None, :] * _noisy(rng, (3, 2, times.size)),
        reuse_train=0.5 * th[:, None, :] * _noisy(rng, (3, 2, times.size)),
        reuse_test_th=th,
        reuse_train_th=0.5 * th,
    )


def test_random_features_compare_figure():
    """The compare overview (the other random-feature figures: through the paper figures)."""
    fig = rf_plots.compare_figure([_rf_regimes()], [_rf_flow()])
    labels = [ax.get_ylabel() for ax in fig.findobj(Axes)]
    assert labels.count("") == 0 and "test loss − E(N, ∞)" in labels
    assert not any(":" in ax.get_title() for ax in fig.findobj(Axes))  # no "b2-a2: e_N"
    check(fig, "compare")


def test_maloney_theory_peak_and_bars_stay_inside_the_axes():
    """The theory's peak at N = T is inside the y range (not clipped), the curve breaks there
    instead of joining its two branches, and no error bar runs below a log axis."""
    data = _maloney_loss_vs_size()
    data["vs_n"][0, 0] = [1e-9, 1e-2, 1e-2, 1e-2]  # mean − 2 s.e. < 0
    fig = rf_plots.loss_vs_size_figure(**data)
    ax = fig.axes[0]
    _, hi = ax.get_ylim()
    for line in ax.get_lines():
        y = np.asarray(line.get_ydata(), dtype=float)
        x = np.asarray(line.get_xdata(), dtype=float)
        if y.size > 50:  # the theory curves
            assert np.nanmax(y) <= hi and np.isnan(y).sum() == 1
            assert x[np.isnan(y)][0] in data["fixed"]
    for coll in ax.collections:
        for seg in getattr(coll, "get_segments", list)():
            assert np.all(np.asarray(seg)[:, 1] > 0)


# --------------------------------------------------------------------------------------------
# lottery
# --------------------------------------------------------------------------------------------
def _table(activation, recipe, widths, exponent, seeds=8, seed=0):
    rng = np.random.default_rng(seed)
    widths = np.asarray(widths)
    mse = 1e-2 * widths.astype(float) ** (-exponent) * rng.lognormal(0.0, 0.3, (seeds, widths.size))
    return WidthTable(widths, mse, 0.9 * mse, 1.1 * mse, activation, recipe)


def _budget_rows():
    by_budget = "1000:0.42[0.01,0.67];3000:1.21[1.09,1.58];10000:1.05[0.95,1.2]"
    rows = []
    for phase, pred in (("lottery CLT", 1.0), ("approximation", 4.0)):
        extras = {"exponent_by_budget": by_budget, "converged_at": "10000"}
        params = {"activation": "silu", "recipe": "adam10000-cos3e-02>1e-05", "width": "4-64"}
        rows.append(ComparisonRow(params, phase, "width_exponent", pred, 1.05, 0.95, 1.2, extras))
    return rows


def test_lottery_exponent_vs_budget():
    """(The other lottery figures: through the paper figures.)"""
    check(lottery_plots.plot_exponent_vs_budget(_budget_rows()), "budget")


# --------------------------------------------------------------------------------------------
# superposition
# --------------------------------------------------------------------------------------------
def _superposition(gammas=(-1.0, 0.5), alphas=(1.0, 1.5), laws=("power", "exponential", "linear")):
    """A tidy dataset like run_config's: loss = 2 m^-1 (gamma < 0) or 2 m^-(alpha - 1) (else)."""
    return superposition_tidy(gammas, alphas, laws, seed=6)


def _with_budgets(rows):
    out = []
    for r in rows:
        if r.quantity == "alpha_m":
            e = r.measured
            ladder = ";".join(
                f"{b}:{e - d:.3f}[{e - d - 0.1:.3f},{e - d + 0.1:.3f}]"
                for b, d in ((111, 0.3), (333, 0.1), (1000, 0.0))
            )
            r = ComparisonRow(
                r.params,
                r.phase,
                r.quantity,
                r.predicted,
                r.measured,
                r.ci_low,
                r.ci_high,
                {**r.extras, "exponent_by_budget": ladder, "converged_at": "333"},
            )
        out.append(r)
    return out


def test_superposition_exponent_vs_budget_and_phase_diagram():
    """(The other superposition figures: through the paper figures.)"""
    rows = sup_rows(_superposition(), n_boot=20)
    check(sup_plots.plot_exponent_vs_budget(_with_budgets(rows)), "budget")
    data = _superposition(gammas=(-1.0, -0.5, 0.5, 1.0), alphas=(1.0, 1.5, 2.0), laws=("power",))
    check(sup_plots.plot_phase_diagram(data, sup_rows(data, n_boot=20)), "phase_diagram")


# --------------------------------------------------------------------------------------------
# scalefit
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def fit_report():
    """Chinchilla-law runs on three IsoFLOP budgets (E = 1.7, A = 400, B = 410, α = 0.34,
    β = 0.28, 1 % noise): every approach and figure applies."""
    rng = np.random.default_rng(7)
    n, d, c = [], [], []
    for budget in (1e18, 1e19, 1e20):
        sizes = np.geomspace(2e7, 2e9, 9) * (budget / 1e19) ** 0.5
        n += list(sizes)
        d += list(budget / (6 * sizes))
        c += [budget] * sizes.size
    n, d = np.array(n), np.array(d)
    loss = (1.7 + 400 / n**0.34 + 410 / d**0.28) * (1 + 0.01 * rng.standard_normal(n.size))
    table = make_table(N=n, D=d, L=loss, C=np.array(c))
    return run_fit(table, n_boot=8, budgets=[1e18, 1e19, 1e20])


@pytest.mark.parametrize("name", ["isoflop", "frontier", "residuals", "pairs"])
def test_scalefit_figures(name, fit_report):
    fig = getattr(scalefit_plots, f"plot_{name}")(fit_report, plotting.QUICK_NOTE)
    check(fig, name)


# --------------------------------------------------------------------------------------------
# paper figures: each module's plot() (its render path) on the same synthetic data
# --------------------------------------------------------------------------------------------
PAPER_FIGURES = sorted(
    f"{p.parent.name}.{p.stem}"
    for p in (Path(__file__).parents[1] / "paper_figures").glob("*/*.py")
    if not p.stem.startswith("_")
)


def _paper_data(name, plrf_data):
    from simulations.options import config_to_dict

    m = plrf_data["m"]
    alphas, betas, xi, eta = plrf_data["maps"]
    rng = np.random.default_rng(8)
    k = np.arange(1, 65.0)
    w2, b2, v2 = rng.normal(size=(3, 40, 2))
    mse2 = 10 ** np.concatenate([rng.normal(-7, 0.2, 25), rng.normal(-4, 0.2, 15)])
    wide = rng.uniform(-1, 1, (3, 1, 256))
    pairs = lottery_diag.mirror_pairs(*wide)
    null = lottery_diag.mirror_pairs(wide[0], wide[1], 0.5 * wide[2])
    x = midpoint_grid(64)
    pred = x**2 + rng.normal(0, 0.1, (20, 1)) + rng.normal(0, 0.05, (20, 64))
    flow = _rf_flow_sweeps()
    sup = _superposition(gammas=(-1.0, 0.5), alphas=(1.0, 1.5))
    sup_cfg = dict(n=128, widths=[8, 16, 32], exp_scale=400.0, alphas=[1.0, 1.5])
    data = {
        "plrf.paquette2024_phase_diagram": lambda: dict(
            alphas=alphas, betas=betas, xi=xi, eta=eta, measurements=[m]
        ),
        "plrf.paquette2024_isoflop": lambda: dict(measurement=m),
        "plrf.paquette2024_measured_plane": lambda: dict(rows=_plrf_rows(converged=False)),
        "plrf.paquette2024_sgd_vs_theory": lambda: dict(
            alpha=0.7, beta=1.0, curves={32: _plrf_curves(), 64: _plrf_curves(0.5)}
        ),
        "random_features.bahri2021_regimes": lambda: dict(
            compare=config_to_dict(RF), sweeps=_rf_regime_sweeps(1.5, 1.5)
        ),
        "random_features.bordelon2024_dynamics": lambda: dict(
            compare=config_to_dict(RF),
            flow=flow,
            flow_theory=_rf_flow_theory(flow),
            **_bap_reuse(flow),
        ),
        "random_features.maloney2022_loss_vs_size": _maloney_loss_vs_size,
        "random_features.maloney2022_ridge": _maloney_ridge,
        "random_features.maloney2022_spectrum": lambda: dict(
            m=8,
            n=64,
            t=1024,
            b=1.5,
            spectra={"linear": np.where(k <= 8, k**-1.5, 0.0), "relu": k**-1.5, "tanh": k**-1.6},
        ),
        "lottery.liu2023_width_scaling": lambda: dict(
            silu=[
                _table("silu", "adam1000-cos3e-02>1e-05", (4, 16), 0.5),
                _table("silu", "adam3000-cos3e-02>1e-05", (4, 16), 1.0),
            ],
            relu=_table("relu", "adam2000-cos3e-02>1e-05", (4, 16), 4.0),
        ),
        "lottery.liu2023_n2_histogram": lambda: dict(
            n2=lottery_analysis.N2Histogram(
                mse2,
                w2,
                b2,
                v2,
                rng.normal(size=40),
                lottery_diag.pair_asymmetry(w2, b2, v2),
                lottery_diag.loss_modes(mse2),
            )
        ),
        "lottery.liu2023_mirror_pairs": lambda: dict(
            wide=lottery_analysis.WideNets(
                *wide,
                np.zeros(1),
                np.ones(1),
                pairs.distance,
                pairs.fraction,
                null.distance,
                null.fraction,
            )
        ),
        "lottery.liu2023_ensembles": lambda: dict(
            ensemble=lottery_analysis.EnsembleResult(
                lottery_diag.ensemble_curve(pred, x**2, [1, 2, 4, 8], n_boot=20), 0, 4
            ),
            single=_table("silu", "a", (4, 8, 16, 32), 1),
        ),
    }
    if name.startswith("superposition."):
        return dict(data=sup, rows=sup_rows(sup, n_boot=20), config=sup_cfg)
    return data[name]()


@pytest.mark.parametrize("name", PAPER_FIGURES)
def test_paper_figures(name, plrf_data, tmp_path, monkeypatch):
    """``plot`` of every paper figure, from quick-preset data: stamped, laid out, PNG + PDF."""
    module = importlib.import_module(f"paper_figures.{name}")
    figures = []

    def save(fig, path, **kw):
        figures.append(fig)
        return plotting.save(fig, path, dpi=30)

    if name.startswith("superposition."):  # these save through save_figure, which calls save
        monkeypatch.setitem(module.save_figure.__globals__, "save", save)
    else:
        monkeypatch.setattr(module, "save", save)
    data = _paper_data(name, plrf_data)
    if name.startswith("superposition."):
        data["config"]["preset"] = "quick"
    else:
        data["preset"] = "quick"
    paths = module.plot(data, tmp_path)
    assert paths and figures and len(paths) == len(figures)
    for path, fig in zip(paths, figures, strict=True):
        assert path.suffix == ".png" and path.exists() and path.with_suffix(".pdf").exists()
        assert plotting.QUICK_NOTE in [t.get_text() for t in fig.texts]
        problems = layout_problems(fig)
        assert not problems, f"{path.name}: " + "; ".join(problems)
        texts = [t.get_text() for t in fig.findobj(mtext.Text)]
        assert not [t for t in texts if "^-" in t or "α_m" in t], "literal carets or subscripts"
        assert not [t for t in texts if "cos3e-02" in t], "raw recipe strings"
    if name == "lottery.liu2023_width_scaling":  # recipes in words
        assert "SiLU, 3000 Adam steps (cosine lr 0.03 → 1e-05)" in texts
