"""Paquette et al. 2024 (arXiv 2405.15074), Fig. 1 measured: the (α, β) phase diagram of ξ and η.

The paper draws the compute-optimal exponents predicted by its table over the (α, β) plane. Here
the same maps are measured: at every admissible point of a grid, the W-free expected-loss curves
(cost independent of d) over d = 2^6 … 2^b give the IsoFLOP frontier, its local exponents over
sliding windows of d* and their d → ∞ extrapolation (what ``solvable phase-diagram plrf --plane``
runs). Rows: ξ, η. Columns: the table's map with the phase boundaries; the measured values;
|measured − predicted| (ringed: the local exponent still moves at the largest size). Presets:
``quick`` (a 5 × 4 grid, d ≤ 2^16, 2 sizes per octave), ``default`` (the 95-point plane,
d ≤ 2^20), ``paper`` (the same plane, d ≤ 2^24, 8 sizes per octave).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from simulations.plotting import QUICK_NOTE, save, stamp
from simulations.plrf import PhaseDiagramConfig, measure_trend, plane_maps, run_wfree, trend_rows

__all__ = ["DESCRIPTION", "compute", "config", "plot"]

DESCRIPTION = "PLRF phase plane measured at large d (W-free): ξ and η maps beside the table's"


def config(preset: str) -> dict:
    """The plane of ``preset`` (the fields of :class:`~simulations.plrf.PhaseDiagramConfig`)."""
    cfg = PhaseDiagramConfig.preset(preset)
    if preset == "quick":
        cfg = dataclasses.replace(
            cfg,
            plane_alphas=(0.2, 0.4, 0.7, 1.0, 1.5),
            plane_betas=(0.3, 0.7, 1.0, 1.5),
            plane_sizes=(6.0, 16.0),
        )
    keys = ("plane_alphas", "plane_betas", "plane_sizes", "per_octave", "window", "tol")
    keys += ("v_ratio", "lr_scale", "batch", "horizon")
    return {"preset": preset, **{k: getattr(cfg, k) for k in keys}}


def _phase_config(cfg: dict) -> PhaseDiagramConfig:
    fields = {k: v for k, v in cfg.items() if k != "preset"}
    for k in ("plane_alphas", "plane_betas", "plane_sizes"):
        fields[k] = tuple(float(x) for x in fields[k])
    return PhaseDiagramConfig(plane=True, **fields)


def compute(cfg: dict) -> dict:
    """Rows ``xi``/``eta`` per plane point (:func:`simulations.plrf.trend_rows`)."""
    pd = _phase_config(cfg)
    curves = run_wfree(pd, pd.plane_points(), pd.plane_sizes, progress=False)
    trends = [measure_trend(c, width=pd.window, tol=pd.tol) for c in curves]
    return {"rows": trend_rows(trends), "preset": cfg.get("preset", "")}


def plot(data: dict, out_dir: Path) -> list[Path]:
    """Draw the figure from ``compute``'s data into ``out_dir``; returns the PNG path (stamped as
    a small-size run when it comes from the quick preset)."""
    fig = plane_maps(data["rows"])
    path = Path(out_dir) / "paquette2024_measured_plane.png"
    return save(stamp(fig, QUICK_NOTE if data.get("preset") == "quick" else ""), path)[:1]
