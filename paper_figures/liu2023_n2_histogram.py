"""Liu & Tegmark 2023 (arXiv 2310.02258), Fig. 3: the loss histogram of width-2 SiLU nets over
many seeds is multi-modal; the lowest mode is the mirror pair (w, b, v) / (−w, b, v).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

DESCRIPTION = "Lottery tickets: the N = 2 loss histogram and its mirror-pair mode"


def main(out_dir: Path, quick: bool = False) -> list[Path]:
    from simulations import lottery as lot

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if quick:
        recipe, seeds = lot.Recipe(adam_steps=1000, lbfgs_steps=300), 64
    else:
        recipe, seeds = lot.FULL_CONFIG.n2_recipe, lot.FULL_CONFIG.n2_seeds
    store = out_dir / f"liu2023_n2_histogram-{'quick' if quick else 'full'}-sweep"
    n2 = lot.run_n2(recipe, seeds, store=store)
    n2["modes"] = lot.loss_modes(n2["mse"])
    png = lot.plot_n2_histogram(n2, out_dir / "liu2023_n2_histogram.png")
    npz = out_dir / "liu2023_n2_histogram.npz"
    np.savez(
        npz, **{k: n2[k] for k in ("mse", "w", "b", "v", "c", "asymmetry")}, recipe=recipe.label
    )
    return [png, npz]
