"""``solvable compare lottery`` and ``solvable run lottery``: run, write, print.

``compare`` writes ``comparison.csv`` (parameter columns ``activation,recipe,width``, then
``phase,quantity,predicted,measured,ci_low,ci_high``, then ``window,n_seeds,note``; see
:mod:`simulations.lottery.analysis`) and the figures; the sweeps are stored under ``out/sweep``
(a rerun resumes).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from simulations.compare import ComparisonRow, format_comparison_table, write_comparison_csv
from simulations.lottery.analysis import PARAM_NAMES, measure
from simulations.lottery.diagnostics import fit_width_exponent, mse_quantiles
from simulations.lottery.experiment import (
    CompareConfig,
    RunConfig,
    WidthTable,
    run_compare,
    train,
    width_table,
)
from simulations.lottery.plots import (
    plot_ensembles,
    plot_mirror_pairs,
    plot_n2_histogram,
    plot_width_scaling,
)

__all__ = ["compare", "run"]


def _save(fig: Figure, path: Path) -> Path:
    fig.savefig(path, dpi=120)
    return path


def compare(config: CompareConfig, out: Path, *, progress: bool = True) -> list[ComparisonRow]:
    """Width exponents of SiLU and ReLU nets beside 1 and 4, the ReLU floor, the mechanism.

    Writes ``comparison.csv``, ``width_scaling.png`` and, with ``config.mechanism``,
    ``n2_histogram.png``, ``mirror_pairs.png`` and ``ensembles.png`` into ``out``; prints the
    table and returns its rows.
    """
    config.validate()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    data = measure(config, run_compare(config, out / "sweep", progress=progress))
    rows = list(data.rows)
    write_comparison_csv(rows, out / "comparison.csv", list(PARAM_NAMES))
    _save(plot_width_scaling(data.silu, data.relu), out / "width_scaling.png")
    if data.n2 is not None:
        _save(plot_n2_histogram(data.n2), out / "n2_histogram.png")
    if data.wide is not None:
        _save(plot_mirror_pairs(data.wide), out / "mirror_pairs.png")
    if data.ensemble is not None:
        fig = plot_ensembles(data.ensemble.curve, data.ensemble.width, data.ensemble_single)
        _save(fig, out / "ensembles.png")
    print(format_comparison_table(rows, list(PARAM_NAMES)))
    print(f"lottery compare: {time.perf_counter() - t0:.0f} s")
    return rows


def run(config: RunConfig, out: Path, *, progress: bool = True) -> WidthTable:
    """Train one activation and recipe over widths; print MSE quantiles and the width exponent.

    The sweep is stored under ``config.store`` (default ``out/sweep``; a rerun resumes).
    """
    config.validate()
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
    q = mse_quantiles(table.test_mse, (0.1, 0.5, 0.9))
    print(f"{config.activation}, {config.target}, recipe {recipe.label}, {config.seeds} seeds")
    print("   N   q10 MSE   median    q90 MSE   train/test")
    for k, n in enumerate(table.widths):
        ratio = np.nanmedian(table.train_mse[:, k] / table.test_mse[:, k])
        print(f"{n:4d}  {q[0, k]:.3e}  {q[1, k]:.3e}  {q[2, k]:.3e}  {ratio:.4f}")
    if len(config.widths) >= 2:
        print(fit_width_exponent(table, n_boot=config.n_boot))
    return table
