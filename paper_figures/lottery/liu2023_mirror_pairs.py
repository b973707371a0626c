"""Liu & Tegmark 2023 (arXiv 2310.02258), Fig. 4: the learned (w, b, v) of a wide SiLU net
(N = 1024) with mirror pairs (w, b, v) / (−w, b, v) marked, and the distribution of each neuron's
distance to its nearest mirror partner (paired fraction at tolerance 0.1), beside the same nets
at initialisation.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from simulations.lottery import plots
from simulations.lottery.analysis import WideNets, wide_mirror_pairs
from simulations.lottery.experiment import CompareConfig, run_wide
from simulations.lottery.model import Recipe

DESCRIPTION = "Lottery tickets: mirror pairs in a wide (N = 1024) SiLU net"


def config(preset: str) -> dict:
    """Width, recipe and seeds of the wide nets (quick: N = 1024, 300 Adam steps, 1 seed;
    default and paper: ``wide_width``, ``mechanism_recipe``, ``wide_seeds`` of
    :meth:`CompareConfig.preset`)."""
    if preset == "quick":
        width, recipe, seeds = 1024, Recipe(adam_steps=300), 1
    else:
        cfg = CompareConfig.preset(preset)
        width, recipe, seeds = cfg.wide_width, cfg.mechanism_recipe, cfg.wide_seeds
    return {"width": width, "recipe": dataclasses.asdict(recipe), "seeds": seeds}


def compute(cfg: dict) -> WideNets:
    """Train the wide nets and measure their mirror pairs (:func:`wide_mirror_pairs`)."""
    return wide_mirror_pairs(run_wide(cfg["width"], Recipe(**cfg["recipe"]), cfg["seeds"]))


def plot(data: WideNets, out_dir: Path) -> list[Path]:
    """``liu2023_mirror_pairs.png``."""
    path = Path(out_dir) / "liu2023_mirror_pairs.png"
    plots.plot_mirror_pairs(data).savefig(path, dpi=120)
    return [path]
