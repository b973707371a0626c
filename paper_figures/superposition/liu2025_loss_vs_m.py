"""Liu, Liu & Gore 2025 (arXiv 2505.10465), Figs. 1 and 4: loss vs width in weak and strong
superposition, for power-law, exponential and linear feature frequencies.

Dashed lines: the exact weak-superposition loss sum_(i>m) Var(x_i) (theory.superposition). Strong
superposition (gamma < 0) should fall as 1/m for every law; weak superposition follows the
frequency tail. Presets: ``quick`` (tiny sizes, one alpha), ``default`` and ``paper`` (those of
``solvable compare superposition``; paper: n = 10240, m = 8..1024, accelerators only).

The other scaling figures (``liu2025_exponent_vs_alpha``, ``liu2025_norm_histograms``,
``liu2025_overlap_vs_m``) plot the same data: they use :func:`config`, :func:`compute` and
:func:`rows` of this module.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from paper_figures.superposition._sweeps import compute_sweep, save_figure
from simulations.compare import ComparisonRow
from simulations.superposition import CompareConfig, plot_loss_vs_m
from theory.superposition import LAWS

DESCRIPTION = "Superposition toy model: loss vs width, weak vs strong, three frequency laws"


def config(preset: str) -> dict:
    """The sweep of ``preset`` (a :class:`CompareConfig` as a dict, plus the key ``preset``)."""
    if preset == "quick":
        cfg = CompareConfig(
            n=128,
            widths=(8, 16, 32),
            steps=500,
            batch=64,
            seeds=1,
            laws=LAWS,
            gammas=(-1.0, 0.5),
            alphas=(1.0,),
            pad_widths=True,
            n_boot=100,
            eval_batches=4,
            n_budgets=1,
        )
    else:
        # the figure shows the loss at the full budget: no budget ladder (its cost is 1.44x)
        cfg = dataclasses.replace(CompareConfig.preset(preset), n_budgets=1)
    return {**dataclasses.asdict(cfg), "preset": preset}


def compute(cfg: dict) -> dict:
    """Run the sweep; returns ``{"data": tidy dataset, "config": cfg, "rows": comparison rows}``."""
    return compute_sweep(CompareConfig, cfg, "superposition-scaling")


def rows(data: dict) -> list[ComparisonRow]:
    """The comparison rows of :func:`compute`'s data."""
    return data["rows"]


def plot(data: dict, out_dir: Path) -> list[Path]:
    """Draw the figure from ``compute``'s data into ``out_dir``; returns the PNG paths."""
    fig = plot_loss_vs_m(data["data"], rows(data), exp_scale=data["config"]["exp_scale"])
    return [save_figure(fig, Path(out_dir) / "liu2025_loss_vs_m.png", data["config"])]
