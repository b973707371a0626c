"""Liu & Tegmark 2023 (arXiv 2310.02258), Fig. 4: the learned (w, b, v) of a wide SiLU net
(N = 1024) with mirror pairs (w, b, v) / (−w, b, v) marked, and the distribution of each neuron's
distance to its nearest mirror partner (paired fraction at tolerance 0.1).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

DESCRIPTION = "Lottery tickets: mirror pairs in a wide (N = 1024) SiLU net"


def main(out_dir: Path, quick: bool = False) -> list[Path]:
    from simulations import lottery as lot

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    recipe = lot.Recipe(adam_steps=300) if quick else lot.QUICK_RECIPE
    seeds = 1 if quick else 4
    store = out_dir / f"liu2023_mirror_pairs-{'quick' if quick else 'full'}-sweep"
    wide = lot.run_wide(1024, recipe, seeds, store=store)
    png = lot.plot_mirror_pairs(wide, out_dir / "liu2023_mirror_pairs.png")
    npz = out_dir / "liu2023_mirror_pairs.npz"
    np.savez(npz, **{k: np.asarray(v) for k, v in wide.items()}, recipe=recipe.label)
    return [png, npz]
