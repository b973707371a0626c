"""Liu & Tegmark 2023 (arXiv 2310.02258), Fig. 3: the loss histogram of width-2 SiLU nets over
many seeds is multi-modal; the lowest mode is the mirror pair (w, b, v) / (−w, b, v).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from simulations.lottery import plots
from simulations.lottery.analysis import n2_histogram
from simulations.lottery.experiment import CompareConfig
from simulations.lottery.model import Recipe
from simulations.lottery.sweeps import run_n2
from simulations.plotting import QUICK_NOTE, save, stamp

DESCRIPTION = "Lottery tickets: the N = 2 loss histogram and its mirror-pair mode"


def config(preset: str) -> dict:
    """Recipe and seeds of the width-2 nets (quick: 1000 Adam steps + 300 L-BFGS, 64 seeds;
    default and paper: ``n2_recipe`` and ``n2_seeds`` of :meth:`CompareConfig.preset`)."""
    if preset == "quick":
        recipe, seeds = Recipe(adam_steps=1000, lbfgs_steps=300), 64
    else:
        cfg = CompareConfig.preset(preset)
        recipe, seeds = cfg.n2_recipe, cfg.n2_seeds
    return {"preset": preset, "recipe": dataclasses.asdict(recipe), "seeds": seeds}


def compute(cfg: dict) -> dict:
    """Train the width-2 nets and measure them: ``{"n2": N2Histogram, "preset": str}``
    (:func:`n2_histogram`)."""
    n2 = n2_histogram(run_n2(Recipe(**cfg["recipe"]), cfg["seeds"]))
    return {"n2": n2, "preset": cfg["preset"]}


def plot(data: dict, out_dir: Path) -> list[Path]:
    """``liu2023_n2_histogram.png`` (stamped as such from the quick preset)."""
    path = Path(out_dir) / "liu2023_n2_histogram.png"
    fig = plots.plot_n2_histogram(data["n2"])
    return save(stamp(fig, QUICK_NOTE if data.get("preset") == "quick" else ""), path)[:1]
