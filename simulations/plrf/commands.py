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
from pathlib import Path

import numpy as np

from simulations import compare as comparison
from simulations.compare import ComparisonRow
from simulations.plotting import stamp
from simulations.plrf import analysis, experiment, plots
from simulations.plrf.experiment import PhaseDiagramConfig, RunConfig

__all__ = ["compare", "phase_diagram", "run"]

_PARAMS = ["alpha", "beta"]


def phase_diagram(
    config: PhaseDiagramConfig, out: Path, *, progress: bool = True, note: str = ""
) -> list[ComparisonRow]:
    """Measured vs predicted compute-optimal exponents ξ, η at one (α, β) per phase.

    Writes ``comparison.csv`` (alpha,beta,phase,quantity,predicted,measured,ci_low,ci_high,
    window,n_budgets,n_diverged[,note]), ``p_star_exponents.csv``, ``phase_diagram.png`` (the
    phase plane with predicted boundaries and measured − predicted values) and ``isoflop.png``
    (the IsoFLOP curves and frontier of every point); the sweep is stored in ``out/sweep`` (a
    rerun resumes). Diverged runs are left out of every fit and counted per row (``n_diverged``).
    ``note`` (e.g. the quick preset's) heads the printed table and is stamped on the figures.
    """
    config.validate()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    result = experiment.run_phase_sweep(config, store=out / "sweep", progress=progress)
    t_sweep = time.perf_counter() - t0
    measurements = analysis.measure_points(result, n_boot=config.n_boot)
    rows = analysis.comparison_rows(measurements)
    comparison.write_comparison_csv(rows, out / "comparison.csv", _PARAMS)
    _write_p_star_csv(analysis.p_star_exponents(measurements), out / "p_star_exponents.csv")
    stamp(plots.phase_plane(rows), note).savefig(out / "phase_diagram.png", dpi=120)
    stamp(plots.isoflop_grid(measurements), note).savefig(out / "isoflop.png", dpi=110)
    print(comparison.format_comparison_table(rows, _PARAMS, note=note))
    print(
        f"sizes d = {config.sizes[0]}..{config.sizes[-1]} ({len(config.sizes)} sizes), "
        f"{config.seeds} W per size, v = {config.v_ratio:g}d, c = {config.lr_scale}, "
        f"B = {config.batch}; sweep {t_sweep:.0f} s, total {time.perf_counter() - t0:.0f} s"
    )
    return rows


def compare(
    config: PhaseDiagramConfig, out: Path, *, progress: bool = True, note: str = ""
) -> list[ComparisonRow]:
    """Measured vs predicted ξ, η: the same sweep and table as ``phase-diagram plrf``."""
    return phase_diagram(config, out, progress=progress, note=note)


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
    stamp(plots.loss_curves(curves, title=title), note).savefig(out / "loss_curves.png", dpi=120)
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
