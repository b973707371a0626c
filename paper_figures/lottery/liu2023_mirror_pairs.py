"""Liu & Tegmark 2023 (arXiv 2310.02258), Fig. 4: the learned (w, b, v) of a wide SiLU net
(N = 1024) with mirror pairs (w, b, v) / (−w, b, v) marked, and the distribution of each neuron's
distance to its nearest mirror partner (paired fraction at tolerance 0.1), beside the same nets
at initialisation.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from simulations.lottery import plots
from simulations.lottery.analysis import wide_mirror_pairs
from simulations.lottery.experiment import CompareConfig
from simulations.lottery.model import Recipe
from simulations.lottery.sweeps import run_wide
from simulations.plotting import QUICK_NOTE, save, stamp

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
    return {
        "preset": preset,
        "width": width,
        "recipe": dataclasses.asdict(recipe),
        "seeds": seeds,
    }


def compute(cfg: dict) -> dict:
    """Train the wide nets and measure their mirror pairs: ``{"wide": WideNets, "preset": str}``
    (:func:`wide_mirror_pairs`)."""
    nets = run_wide(cfg["width"], Recipe(**cfg["recipe"]), cfg["seeds"])
    return {"wide": wide_mirror_pairs(nets), "preset": cfg["preset"]}


def plot(data: dict, out_dir: Path) -> list[Path]:
    """``liu2023_mirror_pairs.png`` (stamped as such from the quick preset)."""
    path = Path(out_dir) / "liu2023_mirror_pairs.png"
    fig = plots.plot_mirror_pairs(data["wide"])
    return save(stamp(fig, QUICK_NOTE if data.get("preset") == "quick" else ""), path)[:1]
