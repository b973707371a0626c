"""Liu & Tegmark 2023 (arXiv 2310.02258), Fig. 1 and THEORY.md §4: median test MSE vs width N for
ReLU and SiLU nets regressing x² on [−2, 2], with the reference slopes N^−1 and N^−4, the exact
ReLU floor, and one SiLU curve per training budget (the slope is the optimiser's, not a law).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

DESCRIPTION = "Lottery tickets: median MSE vs width, ReLU and SiLU, one curve per training budget"


def main(out_dir: Path, quick: bool = False) -> list[Path]:
    from simulations import lottery as lot

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tag = "quick" if quick else "full"
    if quick:
        widths = (4, 16)
        recipes = [(lot.Recipe(adam_steps=1000), 4, widths), (lot.QUICK_RECIPE, 4, widths)]
        relu_recipe, relu_widths, relu_seeds = lot.Recipe(adam_steps=2000), (4, 16), 4
    else:
        cfg = lot.FULL_CONFIG
        recipes = [(r, s, w or cfg.silu_widths) for r, s, w in cfg.silu_recipes]
        relu_recipe, relu_widths, relu_seeds = cfg.relu_recipe, cfg.relu_widths, cfg.relu_seeds
    store = out_dir / f"liu2023_width_scaling-{tag}-sweep"
    tables = []
    for recipe, n_seeds, ws in recipes:
        res = lot.train(ws, recipe=recipe, seeds=n_seeds, store=store / f"silu-{recipe.label}")
        tables.append(lot.width_table(res, recipe))
    res = lot.train(
        relu_widths,
        activation="relu",
        recipe=relu_recipe,
        seeds=relu_seeds,
        store=store / f"relu-{relu_recipe.label}",
    )
    relu = lot.width_table(res, relu_recipe)
    png = lot.plot_width_scaling(tables, relu, out_dir / "liu2023_width_scaling.png")
    npz = out_dir / "liu2023_width_scaling.npz"
    np.savez(
        npz,
        **{f"silu_{t.recipe}_widths": t.widths for t in tables},
        **{f"silu_{t.recipe}_test_mse": t.test_mse for t in tables},
        relu_widths=relu.widths,
        relu_test_mse=relu.test_mse,
    )
    return [png, npz]
