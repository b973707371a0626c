"""Maloney, Roberts & Sully 2022 (arXiv 2210.16859), §5: nonlinear features extend the spectrum.

Eigenvalues of the feature covariance ``E[φφ^T]/N`` for N = 16 M features of latent data with
``λ_k = k^(−b)``: linear features (exact covariance ``FΛF^T/N``) have rank M, so their spectrum
ends at k = M (and a linear model cannot resolve anything beyond M: the plateau); ReLU and tanh
features (empirical covariance of T samples) continue a power law past M, with the nonlinearity
generating the missing directions. Each spectrum is normalised by its second eigenvalue (the
ReLU mean mode sits at k = 1); the dashed line is ``k^(−b)``. The bend of the nonlinear spectra
as k approaches N is the finite feature count (N features give N eigenvalues).

Presets: ``quick`` (M = 16, T = 8192), ``default`` (M = 64, T = 65536) and ``paper`` (M = 128,
N = 2048, T = 131072: accelerator-scale, a 131072 × 2048 float64 feature matrix).
"""

from __future__ import annotations

import math
from pathlib import Path

from simulations.plotting import QUICK_NOTE, save, stamp
from simulations.random_features import experiment, plots
from theory.checks import check_choice

DESCRIPTION = "MRS: linear vs ReLU/tanh feature spectra (nonlinear features extend the power law)"

_B = 1.5
_SIZES = {"quick": (16, 256, 8192), "default": (64, 1024, 65536), "paper": (128, 2048, 131072)}


def config(preset: str) -> dict:
    """``M``, ``N``, ``T`` of ``preset`` and the exponent ``b``."""
    m, n, t = _SIZES[check_choice("preset", preset, tuple(_SIZES))]
    return dict(m=m, n=n, t=t, b=_B, preset=preset)


def compute(cfg: dict) -> dict:
    """One spectrum per feature map (linear: exact covariance; relu, tanh: ``T`` samples)."""
    m, n, t, b = cfg["m"], cfg["n"], cfg["t"], cfg["b"]
    spectra = {"linear": experiment.simulate_spectrum(m, n, math.inf, b=b, features="linear")[0]}
    for kind in ("relu", "tanh"):
        spectra[kind] = experiment.simulate_spectrum(m, n, t, b=b, features=kind)[0]
    return dict(m=m, n=n, t=t, b=b, spectra=spectra, preset=cfg.get("preset", ""))


def plot(data: dict, out_dir: Path) -> list[Path]:
    """Draw the figure into ``out_dir``; returns the PNG path."""
    data = dict(data)
    note = QUICK_NOTE if data.pop("preset", "") == "quick" else ""
    path = Path(out_dir) / "maloney2022_spectrum.png"
    return save(stamp(plots.spectrum_figure(**data), note), path)[:1]
