"""``solvable compare lottery`` and ``solvable run lottery``: run, write, print.

``compare`` writes ``comparison.csv`` (parameter columns ``activation,recipe,width``, then
``phase,quantity,predicted,measured,ci_low,ci_high``, then ``window,n_seeds,n_diverged,note``;
see :mod:`simulations.lottery.analysis`) and the figures; the sweeps are stored under
``out/sweep`` (a rerun resumes). Both verbs check their config before anything runs; diverged
runs are counted and left out of every fit.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from simulations.compare import ComparisonRow, format_comparison_table, write_comparison_csv
from simulations.lottery.analysis import PARAM_NAMES, measure
from simulations.lottery.diagnostics import (
    fit_width_exponent,
    mse_quantiles,
    parse_exponent_by_budget,
    usable_widths,
)
from simulations.lottery.experiment import CompareConfig, RunConfig, run_compare
from simulations.lottery.plots import (
    plot_ensembles,
    plot_exponent_vs_budget,
    plot_mirror_pairs,
    plot_n2_histogram,
    plot_width_scaling,
)
from simulations.lottery.sweeps import WidthTable, train, width_table
from simulations.plotting import save, stamp

__all__ = ["compare", "run"]


def _save(fig: Figure, path: Path, note: str) -> Path:
    return save(stamp(fig, note), path)[0]


def _check(config, cls) -> None:
    if not isinstance(config, cls):
        raise TypeError(f"config must be a {cls.__name__}, got {type(config).__name__}")
    config.validate()


def compare(
    config: CompareConfig, out: Path, *, progress: bool = True, note: str = ""
) -> list[ComparisonRow]:
    """Width exponents of SiLU and ReLU nets beside 1 and 4, the ReLU floor, the mechanism.

    Writes ``comparison.csv``, ``width_scaling.png``, with a SiLU budget ladder
    ``exponent_vs_budget.png`` (the width exponent per budget, its verdict "converged at budget
    B" or "not converged": :func:`simulations.lottery.diagnostics.budget_convergence`) and, with
    ``config.mechanism``, ``n2_histogram.png``, ``mirror_pairs.png`` and ``ensembles.png`` into
    ``out``; prints the table (headed by ``note``, which also stamps every figure) and the
    exponent per budget, and returns the rows.
    """
    _check(config, CompareConfig)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    data = measure(config, run_compare(config, out / "sweep", progress=progress))
    rows = list(data.rows)
    write_comparison_csv(rows, out / "comparison.csv", list(PARAM_NAMES))
    _save(plot_width_scaling(data.silu, data.relu), out / "width_scaling.png", note)
    if any("exponent_by_budget" in r.extras for r in rows):
        _save(plot_exponent_vs_budget(rows), out / "exponent_vs_budget.png", note)
    if data.n2 is not None:
        _save(plot_n2_histogram(data.n2), out / "n2_histogram.png", note)
    if data.wide is not None:
        _save(plot_mirror_pairs(data.wide), out / "mirror_pairs.png", note)
    if data.ensemble is not None:
        ens = data.ensemble
        fig = plot_ensembles(ens.curve, ens.width, data.ensemble_single, n_diverged=ens.n_diverged)
        _save(fig, out / "ensembles.png", note)
    drop = {"exponent_by_budget", "converged_at"}  # printed below, one line per budget
    shown = [
        dataclasses.replace(r, extras={k: v for k, v in r.extras.items() if k not in drop})
        for r in rows
    ]
    print(format_comparison_table(shown, list(PARAM_NAMES), note=note))
    for r in rows:
        if "exponent_by_budget" in r.extras and r.phase == "lottery CLT":
            steps = ", ".join(
                f"{b} steps {e:.3f} [{lo:.3f}, {hi:.3f}]"
                for b, e, lo, hi in parse_exponent_by_budget(r.extras["exponent_by_budget"])
            )
            print(
                f"SiLU width exponent ({r.params['width']}) by Adam budget: {steps}; "
                f"{r.extras['convergence']}"
            )
    print(f"lottery compare: {time.perf_counter() - t0:.0f} s")
    return rows


def run(config: RunConfig, out: Path, *, progress: bool = True, note: str = "") -> WidthTable:
    """Train one activation and recipe over widths; print MSE quantiles and the width exponent.

    The sweep is stored under ``config.store`` (default ``out/sweep``; a rerun resumes). Diverged
    runs are counted per width and left out of the quantiles and the fit; with fewer than two
    widths of usable runs the exponent is reported as not determined.
    """
    _check(config, RunConfig)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    recipe = config.recipe
    res = train(
        config.widths,
        activation=config.activation,
        recipe=recipe,
        seeds=config.seeds,
        target=config.target,
        store=config.store if config.store is not None else out / "sweep",
        progress=progress,
    )
    table = width_table(res, recipe)
    n_div = table.diverged()
    if note:
        print(f"[{note}]")
    print(f"{config.activation}, {config.target}, recipe {recipe.label}, {config.seeds} seeds")
    print("   N   q10 MSE   median    q90 MSE   train/test  diverged")
    for k, n in enumerate(table.widths):
        if n_div[k] == table.test_mse.shape[0]:
            print(f"{n:4d}  {'-':>9}  {'-':>9}  {'-':>9}  {'-':>10}  {n_div[k]:8d}")
            continue
        q = mse_quantiles(table.test_mse[:, k], (0.1, 0.5, 0.9))
        ratio = np.nanmedian(table.train_mse[:, k] / table.test_mse[:, k])
        print(f"{n:4d}  {q[0]:.3e}  {q[1]:.3e}  {q[2]:.3e}  {ratio:10.4f}  {n_div[k]:8d}")
    if len(config.widths) >= 2:
        n_usable = int(usable_widths(table).sum())
        if n_usable < 2:
            print(
                f"width exponent not determined: {int(n_div.sum())} of {n_div.size * config.seeds}"
                f" runs diverged, {n_usable} width(s) with usable runs (need 2)"
            )
        else:
            if n_div.sum():
                print(f"{int(n_div.sum())} diverged runs left out of the fit")
            print(fit_width_exponent(table, n_boot=config.n_boot))
    return table
