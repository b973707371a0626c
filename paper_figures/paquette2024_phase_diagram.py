"""Paquette et al. 2024 (arXiv 2405.15074), Fig. 1/Table 2: the (α, β) phase diagram.

Left and middle: predicted compute-optimal exponents η (loss ∝ f^(−η)) and ξ (d* ∝ f^ξ) over the
plane, with the phase boundaries. Right: measured − predicted η at one point per phase (the sweep of
``solvable phase-diagram plrf``; quick mode uses small sizes).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

DESCRIPTION = "PLRF (α, β) phase diagram: predicted η, ξ maps with boundaries, measured points"


def main(out_dir: Path, quick: bool = False) -> list[Path]:
    import matplotlib.pyplot as plt

    from simulations import compare, plrf_commands, plrf_plots
    from theory import plrf as theory_plrf

    out_dir = Path(out_dir)
    alphas = np.linspace(0.02, 2.0, 160)
    betas = np.linspace(-0.2, 2.0, 160)
    xi = np.full((betas.size, alphas.size), np.nan)
    eta = np.full_like(xi, np.nan)
    for i, b in enumerate(betas):
        for j, a in enumerate(alphas):
            if 2 * a + 2 * b > 1.0 + 1e-9:
                xi[i, j], eta[i, j] = theory_plrf.compute_optimal_exponents(a, b)
    np.savez(out_dir / "phase_diagram_theory.npz", alpha=alphas, beta=betas, xi=xi, eta=eta)

    cfg = (
        plrf_commands.PhaseDiagramConfig(
            sizes=plrf_commands._sqrt2_sizes(32, 256), seeds=2, n_boot=50, n_checkpoints=100
        )
        if quick
        else plrf_commands.PhaseDiagramConfig.full()
    )
    result = plrf_commands.run_phase_sweep(
        plrf_commands.PHASE_POINTS,
        cfg,
        store=out_dir / ("sweep-quick" if quick else "sweep"),
        progress=False,
    )
    measured = [
        plrf_commands.measure_point(result, i, n_boot=cfg.n_boot)
        for i in range(len(plrf_commands.PHASE_POINTS))
    ]
    rows = plrf_commands._comparison_rows(measured)
    compare.write_comparison_csv(rows, out_dir / "phase_diagram_measured.csv", ["alpha", "beta"])

    fig, axes = plt.subplots(1, 3, figsize=(17, 5), constrained_layout=True)
    for ax, z, name in ((axes[0], eta, "η"), (axes[1], xi, "ξ")):
        im = ax.pcolormesh(alphas, betas, z, shading="auto", cmap="viridis")
        plrf_plots.draw_phase_boundaries(ax)
        fig.colorbar(im, ax=ax, label=f"predicted {name}")
        ax.set_title(f"compute-optimal exponent {name}")
    plrf_plots.draw_phase_boundaries(axes[2])
    sel = [r for r in rows if r.quantity == "eta"]
    delta = np.array([r.measured - r.predicted for r in sel])
    lim = max(0.05, float(np.nanmax(np.abs(delta))))
    sc = axes[2].scatter(
        [r.params["alpha"] for r in sel],
        [r.params["beta"] for r in sel],
        c=delta,
        cmap="coolwarm",
        vmin=-lim,
        vmax=lim,
        s=120,
        ec="k",
    )
    fig.colorbar(sc, ax=axes[2], label="measured − predicted η")
    axes[2].set_title(f"measured η, d = {cfg.sizes[0]}…{cfg.sizes[-1]}")
    path = out_dir / "paquette2024_phase_diagram.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return [path, out_dir / "phase_diagram_measured.csv"]
