"""Liu, Liu & Gore 2025 (arXiv 2505.10465), Fig. 2: fraction of represented rows phi_1/2 vs weight
decay gamma, coloured by width m, and the (gamma, alpha) map (from the phase-diagram sweep).

Predicted: phi_1/2 ≈ m/n (weak, gamma > 0) and ≈ 1 (strong, gamma < 0), boundary near 0.
Quick mode: tiny sizes, one alpha. ``SOLVABLE_FULL=1``: the paper's small-run grid.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from simulations import superposition as sp

DESCRIPTION = "Superposition toy model: phi_1/2 vs weight decay gamma, coloured by width"


def main(out_dir: Path, quick: bool = False) -> list[Path]:
    data, config = sp.figure_data("phase", out_dir, quick)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    alphas = np.unique(data["alpha"].values)
    fig, axes = plt.subplots(1, len(alphas), figsize=(4.2 * len(alphas), 3.6), squeeze=False)
    colors = plt.cm.viridis(np.linspace(0, 0.9, data.sizes["m"]))
    for ax, a in zip(axes[0], alphas, strict=True):
        sel = np.flatnonzero(np.isclose(data["alpha"].values, a))
        order = sel[np.argsort(data["gamma"].values[sel])]
        g = data["gamma"].values[order]
        for k, m in enumerate(data["m"].values):
            phi = np.nanmean(data["phi_half"].values[order, k], axis=-1)
            ax.plot(g, phi, "o-", ms=3, color=colors[k], label=f"m = {m}")
            ax.axhline(m / config.n, color=colors[k], ls=":", lw=0.8)
        ax.axvline(0.0, color="gray", ls="--", lw=1)
        ax.set(
            xlabel="weight decay γ", ylabel="φ½", title=f"α = {a:g} (dotted: m/n)", ylim=(0, 1.05)
        )
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    out = Path(out_dir)
    paths = [out / "liu2025_phi_vs_gamma.png"]
    fig.savefig(paths[0], dpi=120)
    plt.close(fig)
    if alphas.size > 1:
        rows = sp.comparison_rows(data, window=config.window, n_boot=config.n_boot)
        paths.append(sp.plot_phase_diagram(data, rows, out / "liu2025_phase_map.png"))
    return paths
