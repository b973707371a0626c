"""Paquette et al. 2024 (arXiv 2405.15074), Fig. 2: IsoFLOP curves and the compute-optimal frontier.

Expected loss vs compute f = d·B·r for many model sizes d at (α, β) = (0.7, 1.0) (phase III, the
paper's headline point: predicted η = 1 − 1/(4α) = 0.643), with the frontier P*(f) and its fitted
slope, and d*(f) with its fitted exponent ξ (predicted 1/2).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

DESCRIPTION = "PLRF IsoFLOP curves at (α, β) = (0.7, 1.0) with the compute-optimal frontier"


def main(out_dir: Path, quick: bool = False, alpha: float = 0.7, beta: float = 1.0) -> list[Path]:
    import matplotlib.pyplot as plt

    from simulations import fit, plrf_commands
    from theory import plrf as theory_plrf

    out_dir = Path(out_dir)
    cfg = (
        plrf_commands.PhaseDiagramConfig(
            sizes=plrf_commands._sqrt2_sizes(32, 256), seeds=2, n_boot=50
        )
        if quick
        else plrf_commands.PhaseDiagramConfig(sizes=plrf_commands._sqrt2_sizes(64, 2048), seeds=4)
    )
    result = plrf_commands.run_phase_sweep(
        [(alpha, beta)],
        cfg,
        store=out_dir / ("isoflop-sweep-quick" if quick else "isoflop-sweep"),
        progress=False,
    )
    m = plrf_commands.measure_point(result, 0, n_boot=cfg.n_boot)
    xi_pred, eta_pred = theory_plrf.compute_optimal_exponents(alpha, beta)
    mean = fit.reduce_seeds(m.losses)
    fr = m.frontier

    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(12, 4.6), constrained_layout=True)
    colors = plt.cm.viridis(np.linspace(0, 1, len(m.sizes)))
    for k, d in enumerate(m.sizes):
        ax.loglog(m.compute[k], mean[k], color=colors[k], lw=1, label=f"d = {int(d)}")
    f = fr.budgets[fr.interior]
    ax.loglog(f, fr.optimal_loss[fr.interior], "r.", ms=4, label="frontier")
    ax.loglog(
        f,
        m.eta.predict(f),
        "k--",
        label=f"fit η = {m.eta.exponent:.3f} [{m.eta.ci_low:.3f}, {m.eta.ci_high:.3f}]",
    )
    ax.loglog(
        f,
        fr.optimal_loss[fr.interior][0] * (f / f[0]) ** (-eta_pred),
        "k:",
        label=f"predicted η = {eta_pred:.3f}",
    )
    ax.set_xlabel("compute f = d·B·r")
    ax.set_ylabel("expected loss P")
    ax.set_title(f"IsoFLOP curves, α = {alpha}, β = {beta} ({theory_plrf.phase(alpha, beta)})")
    ax.legend(fontsize=7, ncol=2)
    ax2.loglog(f, fr.optimal_size[fr.interior], "o", ms=3, label="d*(f)")
    ax2.loglog(
        f,
        m.xi.predict(f),
        "k--",
        label=f"fit ξ = {m.xi.exponent:.3f} [{m.xi.ci_low:.3f}, {m.xi.ci_high:.3f}]",
    )
    ax2.set_xlabel("compute f")
    ax2.set_ylabel("compute-optimal size d*")
    ax2.set_title(f"predicted ξ = {xi_pred:.3f}")
    ax2.legend(fontsize=8)
    path = out_dir / "paquette2024_isoflop.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    np.savez(
        out_dir / "paquette2024_isoflop.npz",
        sizes=m.sizes,
        compute=m.compute,
        loss=mean,
        budgets=fr.budgets,
        optimal_loss=fr.optimal_loss,
        optimal_size=fr.optimal_size,
        interior=fr.interior,
    )
    return [path]
