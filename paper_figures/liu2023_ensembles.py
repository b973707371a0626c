"""Liu & Tegmark 2023 (arXiv 2310.02258), §3 ("central limit theorem of lottery tickets"):
explicit ensembles of K independently trained narrow SiLU nets (width 4), their error vs K beside
bias² + variance/K estimated on other nets, and single nets of the same total width 4K.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

DESCRIPTION = "Lottery tickets: ensembles of K narrow SiLU nets vs K, and single nets of width 4K"


def main(out_dir: Path, quick: bool = False) -> list[Path]:
    from simulations import lottery as lot

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if quick:
        recipe, seeds, ks, single_widths, single_seeds = (
            lot.Recipe(adam_steps=1000),
            32,
            (1, 2, 4, 8),
            (4, 8, 16),
            4,
        )
    else:
        cfg = lot.FULL_CONFIG
        recipe, seeds, ks = lot.QUICK_RECIPE, cfg.ensemble_seeds, cfg.ensemble_ks
        single_widths, single_seeds = cfg.silu_widths, 32
    width = 4
    store = out_dir / f"liu2023_ensembles-{'quick' if quick else 'full'}-sweep"
    curve, excluded = lot.run_ensemble(width, recipe, seeds, ks, store=store / "narrow")
    single = lot.width_table(
        lot.train(single_widths, recipe=recipe, seeds=single_seeds, store=store / "single"), recipe
    )
    png = lot.plot_ensembles(curve, width, single, out_dir / "liu2023_ensembles.png")
    npz = out_dir / "liu2023_ensembles.npz"
    np.savez(
        npz,
        ks=curve.ks,
        mse=curve.mse,
        mse_ci=curve.mse_ci,
        predicted=curve.predicted,
        bias_sq=curve.bias_sq,
        variance=curve.variance,
        excluded=excluded,
        single_widths=single.widths,
        single_test_mse=single.test_mse,
    )
    return [png, npz]
