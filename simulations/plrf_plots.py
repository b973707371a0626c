"""Plots for the PLRF model (matplotlib, imported lazily by the commands and figures)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

_PHASE_LABEL_AT = {
    "Ia": (1.5, 0.15),
    "Ib": (0.4, 0.2),
    "Ic": (0.13, 1.3),
    "II": (1.5, 0.8),
    "III": (1.0, 1.6),
    "IVa": (0.4, 1.5),
    "IVb": (0.27, 1.75),
}


def draw_phase_boundaries(ax, alpha_max: float = 2.0, beta_range=(-0.2, 2.0)) -> None:
    """Predicted phase boundaries (``theory.plrf.phase_boundaries``) and phase labels."""
    from theory import plrf as theory_plrf

    curves = theory_plrf.phase_boundaries(alpha_max=alpha_max, beta_range=beta_range)
    for name, (a, b) in curves.items():
        ax.plot(a, b, color="0.3", lw=1.0, ls="--" if "excluded" in name else "-")
    a = np.linspace(0.0, alpha_max, 200)
    ax.fill_between(a, beta_range[0], 0.5 - a, color="0.85", zorder=0)
    for phase, (x, y) in _PHASE_LABEL_AT.items():
        if x <= alpha_max and beta_range[0] <= y <= beta_range[1]:
            ax.text(x, y, phase, ha="center", va="center", fontsize=9, color="0.35")
    ax.set_xlim(0, alpha_max)
    ax.set_ylim(*beta_range)
    ax.set_xlabel("α (data spectrum decay)")
    ax.set_ylabel("β (target decay)")


def phase_plane(rows, path: Path) -> Path:
    """Phase plane with predicted boundaries; points coloured by measured − predicted ξ and η."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 5), constrained_layout=True)
    for ax, quantity, sym in zip(axes, ("xi", "eta"), ("ξ", "η")):
        draw_phase_boundaries(ax)
        sel = [r for r in rows if r.quantity == quantity]
        a = np.array([float(r.params["alpha"]) for r in sel])
        b = np.array([float(r.params["beta"]) for r in sel])
        delta = np.array([r.measured - r.predicted for r in sel])
        lim = max(0.05, float(np.nanmax(np.abs(delta))) if delta.size else 0.05)
        sc = ax.scatter(a, b, c=delta, cmap="coolwarm", vmin=-lim, vmax=lim, s=120, ec="k")
        for r, x, y in zip(sel, a, b):
            ax.annotate(
                f"{r.measured:.3f}\n({r.predicted:.3f})",
                (x, y),
                textcoords="offset points",
                xytext=(8, 6),
                fontsize=7,
            )
        fig.colorbar(sc, ax=ax, label=f"measured − predicted {sym}")
        ax.set_title(f"compute-optimal {sym}: measured (predicted)")
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)


def isoflop_grid(measurements: Sequence, path: Path) -> Path:
    """Mean loss vs compute for every size (one panel per (α, β)) with the fitted frontier."""
    n = len(measurements)
    cols = min(4, n)
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 3.4 * rows), squeeze=False)
    for ax, m in zip(axes.flat, measurements):
        from simulations.fit import reduce_seeds

        mean = reduce_seeds(m.losses)
        colors = plt.cm.viridis(np.linspace(0, 1, len(m.sizes)))
        for k, d in enumerate(m.sizes):
            ax.loglog(m.compute[k], mean[k], color=colors[k], lw=0.8, label=f"d={int(d)}")
        fr = m.frontier
        ax.loglog(fr.budgets[fr.interior], fr.optimal_loss[fr.interior], "r.", ms=3)
        f = fr.budgets[fr.interior]
        if f.size:
            ax.loglog(f, m.eta.predict(f), "k--", lw=1)
        ax.set_title(
            f"α={m.alpha:g}, β={m.beta:g}: η={m.eta.exponent:.3f}, ξ={m.xi.exponent:.3f}",
            fontsize=9,
        )
        ax.set_xlabel("compute f = d·B·r")
        ax.set_ylabel("expected loss")
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=6, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)


def loss_curves(step, sgd_mean, sgd_se, volterra, det_equiv, path: Path, title: str = "") -> Path:
    """SGD mean ± 2 SE beside the Volterra (realised W) and deterministic-equivalent curves."""
    step = np.asarray(step, dtype=float)
    x = np.maximum(step, 1)
    fig, ax = plt.subplots(figsize=(6, 4.2), constrained_layout=True)
    ax.fill_between(x, sgd_mean - 2 * sgd_se, sgd_mean + 2 * sgd_se, alpha=0.3, color="C0")
    ax.loglog(x, sgd_mean, "o", ms=3, color="C0", label="SGD mean ± 2 SE")
    ax.loglog(x, volterra, "-", color="C1", label="Volterra (same W)")
    ax.loglog(x, det_equiv, "--", color="k", label="deterministic equivalent")
    ax.set_xlabel("SGD steps r")
    ax.set_ylabel("population loss P(θ_r)")
    ax.set_title(title, fontsize=9)
    ax.legend()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)
