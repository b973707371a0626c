"""Maloney, Roberts & Sully 2022 (arXiv 2210.16859), §5: nonlinear features extend the spectrum.

Eigenvalues of the feature covariance ``E[φφ^T]/N`` for N = 16 M features of latent data with
``λ_k = k^(−b)``: linear features (exact covariance ``FΛF^T/N``) have rank M, so their spectrum
ends at k = M (and a linear model cannot resolve anything beyond M: the plateau); ReLU and tanh
features (empirical covariance of T samples) continue a power law past M, with the nonlinearity
generating the missing directions. Each spectrum is normalised by its second eigenvalue (the
ReLU mean mode sits at k = 1); the dashed line is ``k^(−b)``. The bend of the nonlinear spectra
as k approaches N is the finite feature count (N features give N eigenvalues).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from paper_figures._cache import cached_npz

DESCRIPTION = "MRS: linear vs ReLU/tanh feature spectra (nonlinear features extend the power law)"

_B = 1.5


def main(out_dir: Path, quick: bool = False) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from simulations import random_features as rfs

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    m, n, t = (16, 256, 8192) if quick else (64, 1024, 65536)
    config = dict(m=m, n=n, t=t, b=_B)
    stem = "maloney2022_spectrum"

    def compute():
        out = {"linear": rfs.simulate_spectrum(m, n, math.inf, b=_B, features="linear")[0]}
        for kind in ("relu", "tanh"):
            out[kind] = rfs.simulate_spectrum(m, n, t, b=_B, features=kind)[0]
        return out

    data = cached_npz(out_dir / f"{stem}.npz", config, compute)
    k = np.arange(1, n + 1)
    fig, ax = plt.subplots(figsize=(6.5, 4.8), constrained_layout=True)
    for kind, c in (("linear", "C0"), ("relu", "C1"), ("tanh", "C2")):
        ev = data[kind]
        ev = np.where(ev > 0, ev, np.nan) / ev[1]
        ax.plot(k, ev, "-", color=c, lw=1.5, label=f"{kind} features")
    ax.plot(k, (k / 2.0) ** (-_B), "k--", lw=0.8, label=f"k^(−{_B:g})")
    ax.axvline(m, color="k", ls=":", lw=0.8)
    ax.text(m * 1.05, 0.9, "M", transform=ax.get_xaxis_transform())
    low = np.nanmin(data["relu"][data["relu"] > 0]) / data["relu"][1]
    ax.set(xscale="log", yscale="log", xlabel="index k", ylabel="eigenvalue / eigenvalue₂",
           ylim=(low / 30, 30),
           title=f"feature spectra: M = {m}, N = {n}, T = {t}, b = {_B:g}")  # fmt: skip
    ax.legend(fontsize=8)
    path = out_dir / f"{stem}.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return [path]
