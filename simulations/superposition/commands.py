"""The ``solvable`` verbs of the superposition model: ``compare`` and ``phase-diagram``.

Each verb takes its config (:class:`.experiment.CompareConfig`,
:class:`.experiment.PhaseDiagramConfig`; presets ``quick``, ``default``, ``paper``) and an output
directory, checks it before any work, runs the sweep (stored in ``out/sweep``: a rerun resumes;
diverged runs are stored, counted in every row's ``n_diverged`` and never fitted), writes
``comparison.csv``, ``data.nc`` and figures, prints the table and returns the rows.
"""

from __future__ import annotations

import time
from pathlib import Path

import xarray as xr

from simulations import compare as comparison
from simulations.plotting import stamp
from simulations.superposition import plots
from simulations.superposition.analysis import PARAM_NAMES, comparison_rows
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
    stamp(fig, note)
    fig.savefig(path, dpi=120)


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


def compare(
    config: CompareConfig, out: Path, *, progress: bool = True, note: str = ""
) -> list[comparison.ComparisonRow]:
    """Measured alpha_m per (law, gamma, alpha) beside the weak and strong predictions.

    Writes ``comparison.csv`` (``law,gamma,alpha,phase,quantity,predicted,measured,ci_low,
    ci_high,pred_weak,pred_strong,alpha_minus_1,phi_half,window,n_diverged`` and ``note`` when
    runs diverged; weak prediction: the exact finite-``n`` sum, strong: ``max(1, 2(alpha - 1))``),
    ``data.nc`` (every run's outputs), ``loss_vs_m.png``, ``exponents.png`` and
    ``norm_histograms.png``. ``note`` (e.g. the quick preset's caveat) heads the printed table
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
    print(comparison.format_comparison_table(rows, list(PARAM_NAMES), note=note))
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
