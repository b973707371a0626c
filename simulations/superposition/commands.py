"""The ``solvable`` verbs of the superposition model: ``compare`` and ``phase-diagram``.

Each verb takes its config (:class:`.experiment.CompareConfig`,
:class:`.experiment.PhaseDiagramConfig`; presets ``quick``, ``default``, ``paper``) and an output
directory, checks it before any work, runs the sweep (stored in ``out/sweep``: a rerun resumes;
diverged runs are stored, counted in every row's ``n_diverged`` and never fitted), writes
``comparison.csv``, ``data.nc`` and figures, prints the table and returns the rows.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import xarray as xr

from simulations import compare as comparison
from simulations.plotting import save, stamp
from simulations.superposition import plots
from simulations.superposition.analysis import (
    PARAM_NAMES,
    comparison_rows,
    parse_exponent_by_budget,
)
from simulations.superposition.experiment import (
    CompareConfig,
    PhaseDiagramConfig,
    SweepConfig,
    run_config,
)

__all__ = ["compare", "phase_diagram"]


def _save_data(data: xr.Dataset, path: Path) -> None:
    ds = data.assign_coords(law=data["law"].astype(str))
    ds.to_netcdf(path, engine="h5netcdf")


def _save_figure(fig, path: Path, note: str) -> None:
    save(stamp(fig, note), path)


def _sweep_and_compare(
    config: SweepConfig, out: Path, name: str, progress: bool
) -> tuple[xr.Dataset, list[comparison.ComparisonRow]]:
    config.validate()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    data = run_config(config, out / "sweep", name=name, progress=progress)
    rows = comparison_rows(
        data, window=config.window, n_boot=config.n_boot, exp_scale=config.exp_scale
    )
    comparison.write_comparison_csv(rows, out / "comparison.csv", list(PARAM_NAMES))
    _save_data(data, out / "data.nc")
    return data, rows


def _printed(rows: list[comparison.ComparisonRow]) -> list[comparison.ComparisonRow]:
    """The rows without ``exponent_by_budget``/``converged_at`` (:func:`_budget_table` shows
    them), so the printed table keeps its width."""
    drop = {"exponent_by_budget", "converged_at"}
    return [
        dataclasses.replace(r, extras={k: v for k, v in r.extras.items() if k not in drop})
        for r in rows
    ]


def _budget_table(rows: list[comparison.ComparisonRow]) -> str:
    """``alpha_m`` per training budget, one line per setting, and the convergence verdict."""
    sel = [r for r in rows if r.quantity == "alpha_m" and "exponent_by_budget" in r.extras]
    if not sel:
        return ""
    budgets = [b for b, *_ in parse_exponent_by_budget(sel[0].extras["exponent_by_budget"])]
    head = ["law", "gamma", "alpha", "predicted", *(f"{b} steps" for b in budgets), "verdict"]
    body = []
    for r in sel:
        cells = [str(r.params["law"]), f"{r.params['gamma']:g}", f"{r.params['alpha']:g}"]
        cells.append(f"{r.predicted:.3f}")
        cells += [
            f"{e:.3f} [{lo:.3f}, {hi:.3f}]"
            for _, e, lo, hi in parse_exponent_by_budget(r.extras["exponent_by_budget"])
        ]
        body.append([*cells, r.extras.get("convergence", "")])
    widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(head)]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip()
        for line in (head, ["-" * w for w in widths], *body)
    ]
    return (
        "alpha_m by training budget, each budget its own runs (converged: the change over the "
        "last two budgets is inside its 95 % interval, half-width sqrt(h1^2 + h2^2))\n"
        + "\n".join(lines)
    )


def compare(
    config: CompareConfig, out: Path, *, progress: bool = True, note: str = ""
) -> list[comparison.ComparisonRow]:
    """Measured alpha_m per (law, gamma, alpha) beside the weak and strong predictions.

    Writes ``comparison.csv`` (``law,gamma,alpha,phase,quantity,predicted,measured,ci_low,
    ci_high,pred_weak,pred_strong,alpha_minus_1,phi_half,window,n_diverged`` and ``note`` when
    runs diverged; weak prediction: the exact finite-``n`` sum, strong: ``max(1, 2(alpha - 1))``;
    with ``n_budgets >= 2`` also ``exponent_by_budget``, ``converged_at`` and ``convergence``:
    every width is trained to each budget and ``alpha_m`` fitted per budget, ``measured`` being
    the largest budget's), ``data.nc`` (every run's outputs), ``loss_vs_m.png``,
    ``exponents.png``, ``norm_histograms.png`` and, with several budgets,
    ``exponent_vs_budget.png``; it prints the table and ``alpha_m`` per budget with the
    verdict. ``note`` (e.g. the quick preset's caveat) heads the printed table
    and is stamped on every figure.
    """
    t0 = time.perf_counter()
    data, rows = _sweep_and_compare(config, out, "superposition-compare", progress)
    t_sweep = time.perf_counter() - t0
    out = Path(out)
    _save_figure(
        plots.plot_loss_vs_m(data, rows, exp_scale=config.exp_scale), out / "loss_vs_m.png", note
    )
    _save_figure(
        plots.plot_exponents(rows, n=config.n, widths=config.widths), out / "exponents.png", note
    )
    _save_figure(plots.plot_norm_histograms(data), out / "norm_histograms.png", note)
    if config.n_budgets > 1:
        fig = plots.plot_exponent_vs_budget(rows)
        _save_figure(fig, out / "exponent_vs_budget.png", note)
    print(comparison.format_comparison_table(_printed(rows), list(PARAM_NAMES), note=note))
    if table := _budget_table(rows):
        print(table)
    print(f"{config.describe()}; sweep {t_sweep:.0f} s, total {time.perf_counter() - t0:.0f} s")
    return rows


def phase_diagram(
    config: PhaseDiagramConfig, out: Path, *, progress: bool = True, note: str = ""
) -> list[comparison.ComparisonRow]:
    """The (gamma, alpha) maps of phi_1/2 and alpha_m with the predicted boundary gamma = 0.

    Writes ``comparison.csv`` (as :func:`compare`), ``data.nc``, ``phase_diagram.png`` and
    ``phi_vs_gamma.png``.
    """
    t0 = time.perf_counter()
    data, rows = _sweep_and_compare(config, out, "superposition-phase", progress)
    out = Path(out)
    _save_figure(plots.plot_phase_diagram(data, rows), out / "phase_diagram.png", note)
    _save_figure(plots.plot_phi_vs_gamma(data), out / "phi_vs_gamma.png", note)
    print(comparison.format_comparison_table(rows, list(PARAM_NAMES), note=note))
    print(f"{config.describe()}; total {time.perf_counter() - t0:.0f} s")
    return rows
