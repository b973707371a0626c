"""Bahri, Dyer, Kaplan, Lee & Sharma 2021 (arXiv 2102.06701): the four scaling regimes.

Linear random-feature teacher-student (MRS teacher, α = 0.5: b = a = 1.5), ridgeless. Top row:
resolution-limited, the loss vs N with T large and vs T with N large, both ∝ n^(−α) (duality
α_N = α_T); bottom row: variance-limited, the loss minus the same seed's limit of the unlimited
resource, ∝ 1/T (N small) and ∝ 1/N (T small). Points: simulations (± 2 s.e.); lines: the
deterministic equivalent at the same sizes; the legend gives the fitted exponent with its seed
bootstrap interval, the theory's exponent at these sizes and the asymptote. The resolution-limited
exponents lie above α = 0.5 at these sizes (finite M and T steepen them; the theory at the same
sizes agrees).
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np

DESCRIPTION = "Bahri et al.: resolution- and variance-limited scaling in N and T on one figure"

_B = _A = 1.5


def main(out_dir: Path, quick: bool = False) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from simulations import random_features as rfs

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if quick:
        cfg = dataclasses.replace(
            rfs.QUICK, n_latent=512, big=1024, res_sizes=(16, 32, 64, 128), var_latent=256,
            var_small=16, var_sizes=(128, 256, 512, 1024), var_seeds=16, seeds=4, pad=True,
            n_boot=300,
        )  # fmt: skip
    else:
        cfg = dataclasses.replace(
            rfs.DEFAULT, n_latent=2048, big=4096, res_sizes=(16, 32, 64, 128, 256),
            var_latent=512, var_small=16, var_sizes=(128, 256, 512, 1024, 2048, 4096),
            var_seeds=64, seeds=16, pad=False,
        )  # fmt: skip
    stem = "bahri2021_regimes"
    cache = out_dir / f"{stem}.npz"
    key = json.dumps(dataclasses.asdict(cfg), sort_keys=True)
    titles = {
        "e_N": "resolution-limited in N (T = {big})",
        "e_T": "resolution-limited in T (N = {big})",
        "variance exponent in T": "variance-limited in T (N = {small}): E − E(N, ∞)",
        "variance exponent in N": "variance-limited in N (T = {small}): E − E(∞, T)",
    }
    data = None
    if cache.exists():
        with np.load(cache) as z:
            if str(z["config"]) == key:
                data = {k: z[k] for k in z.files}
    if data is None:
        curves: dict = {}
        rows = rfs.measure_scaling_regimes(cfg, _B, _A, curves=curves)
        data = {"config": key}
        for i, (q, row) in enumerate(zip(titles, rows, strict=True)):
            c = curves[(f"b{_B:g}-a{_A:g}", q)]
            data[f"x{i}"], data[f"sim{i}"], data[f"theory{i}"] = c["x"], c["sim"], c["theory"]
            data[f"nums{i}"] = np.array(
                [row.measured, row.ci_low, row.ci_high, row.predicted,
                 float(row.extras["asymptote"])]
            )  # fmt: skip
        np.savez(cache, **data)

    fig, axes = plt.subplots(2, 2, figsize=(10, 8), constrained_layout=True)
    for i, (q, title) in enumerate(titles.items()):
        ax = axes.flat[i]
        x, sim, th = data[f"x{i}"], data[f"sim{i}"], data[f"theory{i}"]
        meas, lo, hi, pred, asym = data[f"nums{i}"]
        mean = np.nanmean(sim, axis=0)
        se = np.nanstd(sim, axis=0, ddof=1) / math.sqrt(sim.shape[0])
        c = "C0" if i < 2 else "C3"
        label = f"simulation: {meas:.3f} [{lo:.3f}, {hi:.3f}]"
        ax.errorbar(x, mean, 2 * se, fmt="o", ms=5, color=c, label=label)
        ax.plot(x, th, "-", color="k", lw=1, label=f"theory, same sizes: {pred:.3f}")
        ref = th[0] * (x / x[0]) ** (-asym)
        ax.plot(x, ref, ":", color="0.5", lw=1, label=f"asymptote: {asym:g}")
        ax.set(xscale="log", yscale="log",
               title=title.format(big=cfg.big, small=cfg.var_small),
               xlabel="N" if q in ("e_N", "variance exponent in N") else "T")  # fmt: skip
        ax.legend(fontsize=8, title=q, title_fontsize=8)
    axes[0, 0].set_ylabel("test loss")
    axes[1, 0].set_ylabel("test loss − limit")
    fig.suptitle(
        f"Bahri et al. regimes, linear random features, b = a = {_B:g} (α = {_B - 1:g}), "
        f"M = {cfg.n_latent} (resolution) / {cfg.var_latent} (variance)"
    )
    path = out_dir / f"{stem}.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return [path]
