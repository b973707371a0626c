"""Liu & Tegmark 2023 (arXiv 2310.02258), §3 ("central limit theorem of lottery tickets"):
explicit ensembles of K independently trained narrow SiLU nets (width 4), their error vs K beside
bias² + variance/K estimated on other nets, and single nets of the same total width 4K.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from simulations.lottery import plots
from simulations.lottery.analysis import ensemble_measurement
from simulations.lottery.experiment import CompareConfig
from simulations.lottery.model import Recipe
from simulations.lottery.sweeps import run_ensemble, train, width_table
from simulations.plotting import QUICK_NOTE, save, stamp

DESCRIPTION = "Lottery tickets: ensembles of K narrow SiLU nets vs K, and single nets of width 4K"


def config(preset: str) -> dict:
    """The ensembled nets and the single nets of width 4K (quick: 1000 Adam steps, 32 nets,
    K <= 8, single nets N = 4, 8, 16 with 4 seeds; default and paper: the mechanism recipe,
    ``ensemble_seeds``, ``ensemble_ks`` and ``silu_widths`` of :meth:`CompareConfig.preset`, 32
    single nets per width)."""
    if preset == "quick":
        recipe, seeds, ks = Recipe(adam_steps=1000), 32, (1, 2, 4, 8)
        single_widths, single_seeds, width = (4, 8, 16), 4, 4
    else:
        cfg = CompareConfig.preset(preset)
        recipe, seeds, ks = cfg.mechanism_recipe, cfg.ensemble_seeds, cfg.ensemble_ks
        single_widths, single_seeds, width = cfg.silu_widths, 32, cfg.ensemble_width
    return {
        "preset": preset,
        "width": width,
        "recipe": dataclasses.asdict(recipe),
        "seeds": seeds,
        "ks": list(ks),
        "single_widths": list(single_widths),
        "single_seeds": single_seeds,
    }


def compute(cfg: dict) -> dict:
    """``{"ensemble": EnsembleResult, "single": WidthTable, "preset": str}``."""
    recipe = Recipe(**cfg["recipe"])
    narrow = run_ensemble(cfg["width"], recipe, cfg["seeds"])
    single = train(cfg["single_widths"], recipe=recipe, seeds=cfg["single_seeds"])
    return {
        "ensemble": ensemble_measurement(narrow, cfg["ks"]),
        "single": width_table(single, recipe),
        "preset": cfg["preset"],
    }


def plot(data: dict, out_dir: Path) -> list[Path]:
    """``liu2023_ensembles.png`` (stamped as such from the quick preset)."""
    ens = data["ensemble"]
    path = Path(out_dir) / "liu2023_ensembles.png"
    fig = plots.plot_ensembles(ens.curve, ens.width, data["single"], n_diverged=ens.n_diverged)
    return save(stamp(fig, QUICK_NOTE if data.get("preset") == "quick" else ""), path)[:1]
