"""Liu & Tegmark 2023 (arXiv 2310.02258), Fig. 1: median test MSE vs width N for ReLU and SiLU
nets regressing x² on [−2, 2], with the reference slopes N^−1 and N^−4, the exact ReLU floor, and
one SiLU curve per training budget (the slope is the optimiser's, not a law).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from simulations.lottery import plots
from simulations.lottery.experiment import CompareConfig
from simulations.lottery.model import QUICK_RECIPE, Recipe
from simulations.lottery.sweeps import train, width_table
from simulations.plotting import QUICK_NOTE, save, stamp

DESCRIPTION = "Lottery tickets: median MSE vs width, ReLU and SiLU, one curve per training budget"


def _sweep(recipe: Recipe, seeds: int, widths) -> dict:
    return {"recipe": dataclasses.asdict(recipe), "seeds": int(seeds), "widths": list(widths)}


def config(preset: str) -> dict:
    """The SiLU sweeps (one per budget) and the ReLU sweep: recipe, seeds, widths.

    quick: 1000 and 3000 Adam steps at N = 4, 16 with 4 seeds; default and paper: the SiLU
    budget sweep and the ReLU sweep of :meth:`CompareConfig.preset`.
    """
    if preset == "quick":
        silu = [_sweep(Recipe(adam_steps=1000), 4, (4, 16)), _sweep(QUICK_RECIPE, 4, (4, 16))]
        relu = _sweep(Recipe(adam_steps=2000), 4, (4, 16))
        return {"preset": preset, "silu": silu, "relu": relu}
    cfg = CompareConfig.preset(preset)
    silu = [
        _sweep(r.recipe, cfg.silu_seeds or r.seeds, r.widths or cfg.silu_widths)
        for r in cfg.silu_recipes
    ]
    relu = _sweep(cfg.relu_recipe, cfg.relu_seeds, cfg.relu_widths)
    return {"preset": preset, "silu": silu, "relu": relu}


def compute(cfg: dict) -> dict:
    """Train every sweep; ``{"silu": [WidthTable, ...], "relu": WidthTable, "preset": str}``."""

    def table(sweep: dict, activation: str):
        recipe = Recipe(**sweep["recipe"])
        res = train(sweep["widths"], activation=activation, recipe=recipe, seeds=sweep["seeds"])
        return width_table(res, recipe)

    silu = [table(s, "silu") for s in cfg["silu"]]
    return {"silu": silu, "relu": table(cfg["relu"], "relu"), "preset": cfg["preset"]}


def plot(data: dict, out_dir: Path) -> list[Path]:
    """``liu2023_width_scaling.png`` (stamped as such from the quick preset)."""
    path = Path(out_dir) / "liu2023_width_scaling.png"
    fig = plots.plot_width_scaling(data["silu"], data["relu"])
    return save(stamp(fig, QUICK_NOTE if data.get("preset") == "quick" else ""), path)[:1]
