"""Commands of the PLRF model: ``solvable phase-diagram plrf``, ``compare plrf``, ``run plrf``.

The phase diagram measures the compute-optimal exponents of Paquette, Paquette, Xiao, Pennington,
"4+3 Phases of Compute-Optimal Neural Scaling Laws" (arXiv 2405.15074): for one point well inside
each phase, the expected SGD loss curves P(r) of several model sizes d (each on its own realised
embedding W, several W per size) give IsoFLOP slices at compute f = d·B·r; the compute-optimal
frontier d*(f) ∝ f^ξ, P(f/d*, d*) ∝ f^(−η) is fitted over its interior budgets with seed-bootstrap
confidence intervals, and set beside ``theory.plrf.compute_optimal_exponents``.

Why expected loss rather than SGD sample paths: the frontier needs runs of up to ~10^8 steps per
size (t ≈ d^(2α)/γ), which the O(d)-per-step Volterra equation for the exact expected loss given W
(arXiv 2405.15074 §2) reaches in seconds with the block integrator, while SGD needs every step.
The expected loss is exactly the mean over SGD noise of the simulated loss given the same W; that
identity is tested against SGD runs (tests/test_plrf_agreement.py) and shown by
``solvable run plrf``.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from simulations import compare as comparison
from simulations.compare import ComparisonRow
from simulations.plotting import save, stamp
from simulations.plrf import (
    analysis,
    experiment,
    plots,
    training,
    training_analysis,
    training_plots,
)
from simulations.plrf.experiment import PhaseDiagramConfig, RunConfig
from theory import plrf as theory_plrf

__all__ = ["compare", "phase_diagram", "run"]

_PARAMS = ["alpha", "beta"]


def phase_diagram(
    config: PhaseDiagramConfig, out: Path, *, progress: bool = True, note: str = ""
) -> list[ComparisonRow]:
    """Measured vs predicted compute-optimal exponents ξ, η: at large d (W-free) and small d.

    One point per phase (``config.points``): the W-free frontier over ``d = 2^a … 2^b``
    (``wfree_sizes``) gives local ξ, η over sliding windows of ``d*`` and their d → ∞ limit
    (``measured`` and its interval in ``comparison.csv``, with the local value, drift,
    convergence and trend as extra columns); the realised-W sweep at ``sizes`` gives the same
    exponents at small d with seed-bootstrap intervals (column ``realised``; its own rows in
    ``crosscheck.csv``). Also writes ``local_exponents.csv`` (every window),
    ``p_star_exponents.csv``, ``phase_diagram.png``, ``local_exponents.png`` and ``isoflop.png``
    (realised W). The sweep
    is stored in ``out/sweep`` and the W-free curves in ``out/wfree`` (a rerun resumes).
    Diverged runs are left out of every fit and counted per row (``n_diverged``). With
    ``config.plane`` the whole (α, β) plane is measured instead (``plane.csv``, ``plane.png``).
    ``note`` (e.g. the quick preset's) heads the printed tables and is stamped on the figures.
    """
    config.validate()
    if config.plane:
        return _plane(config, out, progress=progress, note=note)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    # The realised-W sweep first: its memory pre-flight refuses impossible sizes before anything
    # is compiled.
    result = experiment.run_phase_sweep(config, store=out / "sweep", progress=progress)
    t_sweep = time.perf_counter() - t0
    curves = experiment.run_wfree(
        config, config.points, config.wfree_sizes, store=out / "wfree", progress=progress
    )
    trends = [_measure(c, config) for c in curves]
    t_wfree = time.perf_counter() - t0 - t_sweep
    measurements = analysis.measure_points(result, n_boot=config.n_boot)
    rows = analysis.trend_rows(trends, measurements)
    comparison.write_comparison_csv(rows, out / "comparison.csv", _PARAMS)
    small_rows = analysis.comparison_rows(measurements)
    comparison.write_comparison_csv(small_rows, out / "crosscheck.csv", _PARAMS)
    _write_local_csv(trends, out / "local_exponents.csv")
    _write_p_star_csv(analysis.p_star_exponents(measurements), out / "p_star_exponents.csv")
    save(stamp(plots.phase_plane(rows), note), out / "phase_diagram")
    save(stamp(plots.local_exponents(trends, measurements), note), out / "local_exponents")
    save(stamp(plots.isoflop_grid(measurements), note), out / "isoflop")
    print(analysis.format_three_way(rows, note=note))
    lo, hi = config.wfree_sizes
    print(
        f"W-free: d = 2^{lo:g}..2^{hi:g}, {config.per_octave} sizes per octave, local exponents "
        f"over {config.window:g}-octave windows of d* ({t_wfree:.0f} s); realised W: d = "
        f"{config.sizes[0]}..{config.sizes[-1]}, {config.seeds} W per size ({t_sweep:.0f} s); "
        f"v = {config.v_ratio:g}d, c = {config.lr_scale}, B = {config.batch}; "
        f"total {time.perf_counter() - t0:.0f} s"
    )
    return rows


def _plane(
    config: PhaseDiagramConfig, out: Path, *, progress: bool = True, note: str = ""
) -> list[ComparisonRow]:
    """The whole (α, β) plane measured: ``solvable phase-diagram plrf --plane``.

    Every admissible point of ``plane_alphas × plane_betas``: W-free frontier over
    ``d = 2^a … 2^b`` (``plane_sizes``), local exponents and their d → ∞ limit. Writes
    ``plane.csv`` (the rows of :func:`simulations.plrf.analysis.trend_rows`), ``plane.png``
    (predicted maps with boundaries, measured maps, ``|measured − predicted|``) and prints the
    agreement per phase. The W-free curves are stored in ``out/wfree`` (a rerun resumes).
    """
    config.validate()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    points = config.plane_points()
    curves = experiment.run_wfree(
        config, points, config.plane_sizes, store=out / "wfree", progress=progress
    )
    trends = [_measure(c, config) for c in curves]
    rows = analysis.trend_rows(trends)
    comparison.write_comparison_csv(rows, out / "plane.csv", _PARAMS)
    _write_local_csv(trends, out / "local_exponents.csv")
    save(stamp(plots.plane_maps(rows), note), out / "plane")
    if note:
        print(f"[{note}]")
    print(_phase_summary(rows))
    lo, hi = config.plane_sizes
    print(
        f"{len(points)} points, W-free d = 2^{lo:g}..2^{hi:g} ({config.per_octave} per octave); "
        f"{time.perf_counter() - t0:.0f} s"
    )
    return rows


def _measure(curves, config: PhaseDiagramConfig) -> analysis.FrontierTrend:
    return analysis.measure_trend(curves, width=config.window, tol=config.tol)


def compare(
    config: PhaseDiagramConfig, out: Path, *, progress: bool = True, note: str = ""
) -> list[ComparisonRow]:
    """Measured vs predicted ξ, η: the same sweep and table as ``phase-diagram plrf``.

    With ``--study schedules|momentum|batch``: a training-procedure study instead
    (:mod:`simulations.plrf.training`, settings in ``config.training``), writing
    ``comparison.csv`` and its figures.
    """
    if config.study != "exponents":
        return _training_study(config, out, progress=progress, note=note)
    return phase_diagram(config, out, progress=progress, note=note)


def _training_study(
    config: PhaseDiagramConfig, out: Path, *, progress: bool = True, note: str = ""
) -> list[ComparisonRow]:
    """``compare plrf --study S``: run, measure, write ``comparison.csv`` and the figures."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    cfg, study = config.training, config.study
    data = training.run_study(cfg, study, progress=progress)
    rows = training_analysis.rows_for(study, data, cfg)
    comparison.write_comparison_csv(rows, out / "comparison.csv", training_analysis.PARAMS)
    title = f"PLRF α={cfg.alpha:g}, β={cfg.beta:g}, SGD d={cfg.sgd_d}, {cfg.sgd_seeds} seeds"
    if study in ("schedules", "momentum"):
        labels = [p.label() for p in data["procedures"]]
        fig = training_plots.procedure_curves(data["sgd"].groups[0], labels, title=title)
        save(stamp(fig, note), out / "loss_curves")
    if study == "schedules":
        save(
            stamp(training_plots.schedule_shape(data["scan"], data["scan_d"]), note),
            out / "schedule_shape",
        )
        save(stamp(training_plots.collapse_figure(data["collapse"]), note), out / "collapse")
    elif study == "momentum":
        save(stamp(training_plots.exponent_gain_map(rows), note), out / "exponent_gain")
        fig = training_plots.time_exponents_figure(data["times"])
        save(stamp(fig, note), out / "time_exponents")
    else:
        save(stamp(training_plots.batch_figure(data, cfg.factor), note), out / "critical_batch")
    if note:
        print(f"[{note}]")
    print(training_analysis.format_rows(rows))
    print(f"study {study}: {time.perf_counter() - t0:.0f} s; wrote {out / 'comparison.csv'}")
    return rows


def run(config: RunConfig, out: Path, *, progress: bool = True, note: str = "") -> None:
    """SGD loss curves of one configuration beside the Volterra and deterministic-equivalent curves.

    The mean of ``seeds`` SGD runs (each seed its own W) is set beside the exact expected loss of
    each seed's W (Volterra equation, averaged over the same seeds) and the deterministic
    equivalent (no W). Writes ``loss_curves.csv`` and ``loss_curves.png``. The configuration is
    checked first, including the theory's stability limit on ``lr_scale``, so an unstable one
    fails before any simulation. Diverged runs are left out of the means and counted.
    """
    config.validate()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    curves = analysis.summarize_curves(experiment.run_curves(config, progress=progress))
    table = out / "loss_curves.csv"
    with open(table, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["step", "compute", "sgd_mean", "sgd_se", "volterra_mean", "det_equiv"])
        columns = (curves.step, curves.compute, curves.sgd_mean, curves.sgd_se)
        for row in zip(*columns, curves.volterra_mean, curves.det_equiv):
            w.writerow([f"{x:.6g}" for x in row])
    title = (
        f"PLRF α={config.alpha:g}, β={config.beta:g}, d={config.d}, v={config.v}, B={config.batch}"
    )
    save(stamp(plots.loss_curves(curves, title=title), note), out / "loss_curves")
    if note:
        print(f"[{note}]")
    print(f"{'step':>10} {'SGD mean':>12} {'± SE':>10} {'Volterra':>12} {'det. equiv.':>12}")
    for k in np.unique(np.linspace(0, len(curves.step) - 1, 12).astype(int)):
        print(
            f"{curves.step[k]:>10d} {curves.sgd_mean[k]:>12.5g} {curves.sgd_se[k]:>10.2g} "
            f"{curves.volterra_mean[k]:>12.5g} {curves.det_equiv[k]:>12.5g}"
        )
    print(
        f"{curves.n_finite}/{curves.n_seeds} SGD runs finite "
        f"({curves.n_seeds - curves.n_finite} diverged, left out); wrote {table} and "
        f"{out / 'loss_curves.png'}"
    )


def _write_p_star_csv(rows: list[analysis.PStarExponent], path: Path) -> None:
    """P*(d) exponents: finite-size drift of the capacity limit explains most of the η offsets."""
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["alpha", "beta", "predicted", "measured", "ci_low", "ci_high", "n_diverged"])
        for row in rows:
            w.writerow(list(row))


def _write_local_csv(trends: Sequence[analysis.FrontierTrend], path: Path) -> None:
    """Every local exponent: ``alpha,beta,quantity,lo,hi,centre,value,predicted`` (windows of
    ``d*`` for ξ and η, of ``d`` for the ``P*(d)`` exponent)."""
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["alpha", "beta", "quantity", "lo", "hi", "centre", "value", "predicted"])
        for t in trends:
            xi_pred, eta_pred = theory_plrf.compute_optimal_exponents(t.alpha, t.beta)
            p_pred = theory_plrf.limit_level_exponent(t.alpha, t.beta)
            for name, local, pred in (
                ("xi", t.xi_local, xi_pred),
                ("eta", t.eta_local, eta_pred),
                ("p_star", t.p_star_local, p_pred),
            ):
                for lo, hi, c, v in zip(local.lo, local.hi, local.centre, local.slope):
                    w.writerow(
                        [
                            t.alpha,
                            t.beta,
                            name,
                            f"{lo:.6g}",
                            f"{hi:.6g}",
                            f"{c:.6g}",
                            f"{v:.6g}",
                            f"{pred:.6g}",
                        ]
                    )


def _phase_summary(rows: Sequence[ComparisonRow]) -> str:
    """Per phase: points, median and max |measured − predicted| of ξ and η, converged counts."""
    lines = [
        f"{'phase':<6}{'points':>7}{'|Δξ| med':>10}{'|Δξ| max':>10}{'|Δη| med':>10}"
        f"{'|Δη| max':>10}{'converged':>11}"
    ]
    for phase in theory_plrf.PHASES:
        sel = [r for r in rows if r.phase == phase]
        if not sel:
            continue
        dxi = [abs(r.measured - r.predicted) for r in sel if r.quantity == "xi"]
        deta = [abs(r.measured - r.predicted) for r in sel if r.quantity == "eta"]
        conv = sum(r.extras.get("converged") == "yes" for r in sel)
        lines.append(
            f"{phase:<6}{len(dxi):>7}{np.median(dxi):>10.4f}{max(dxi):>10.4f}"
            f"{np.median(deta):>10.4f}{max(deta):>10.4f}{f'{conv}/{len(sel)}':>11}"
        )
    return "\n".join(lines)
