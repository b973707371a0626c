"""Paquette et al. 2024 (arXiv 2405.15074), Fig. 3: SGD loss curves against theory at several d.

Mean of one-pass SGD runs (each seed its own W; eigenbasis path, float32) beside the exact expected
loss of the same W's (Volterra recursion, float64) and the deterministic equivalent (no W), at
(α, β) = (0.7, 1.0), B = 1, c = 0.5, v = 4d.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

DESCRIPTION = "PLRF SGD loss curves vs Volterra and deterministic-equivalent theory at several d"


def main(out_dir: Path, quick: bool = False, alpha: float = 0.7, beta: float = 1.0) -> list[Path]:
    import matplotlib.pyplot as plt

    from simulations import plrf as plrf_sim
    from simulations.plrf_commands import _learning_rate
    from theory import plrf as theory_plrf

    out_dir = Path(out_dir)
    sizes = (32, 64, 128) if quick else (100, 200, 400, 800)
    seeds = 8 if quick else 32
    fig, ax = plt.subplots(figsize=(7, 5), constrained_layout=True)
    arrays = {}
    for k, d in enumerate(sizes):
        v = 4 * d
        gamma = _learning_rate(alpha, v, 0.5)
        steps = int(min(2e5 if quick else 2e6, 4 * d ** (2 * alpha) / gamma))
        ds = plrf_sim.simulate(
            alpha, beta, d, max_steps=steps, seeds=seeds, n_checkpoints=30, expected=True
        )
        step = np.maximum(ds["step"].values, 1)
        det = theory_plrf.expected_loss(
            theory_plrf.deterministic_equivalent_spectrum(alpha, beta, d, v),
            gamma,
            1,
            ds["step"].values,
        )
        sgd = ds["loss"].values
        mean = np.nanmean(sgd, axis=0)
        se = np.nanstd(sgd, axis=0, ddof=1) / np.sqrt(sgd.shape[0])
        c = f"C{k}"
        ax.fill_between(step, mean - 2 * se, mean + 2 * se, color=c, alpha=0.25)
        ax.loglog(step, mean, "o", ms=3, color=c, label=f"SGD d={d} ({seeds} seeds)")
        ax.loglog(step, ds["expected_loss"].values.mean(axis=0), "-", color=c, lw=1)
        ax.loglog(step, det, "--", color="k", lw=0.8)
        arrays[f"d{d}"] = np.stack([step, mean, se, ds["expected_loss"].values.mean(0), det])
    ax.plot([], [], "-", color="0.4", label="Volterra (same W)")
    ax.plot([], [], "--", color="k", label="deterministic equivalent")
    ax.set_xlabel("SGD steps r")
    ax.set_ylabel("population loss")
    ax.set_title(f"PLRF α={alpha}, β={beta}, B=1, c=0.5, v=4d")
    ax.legend(fontsize=8)
    path = out_dir / "paquette2024_sgd_vs_theory.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    np.savez(out_dir / "paquette2024_sgd_vs_theory.npz", **arrays)
    return [path]
