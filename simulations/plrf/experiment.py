"""PLRF commands' configs and presets, and the runs behind them (they return data).

:class:`PhaseDiagramConfig` (``solvable phase-diagram plrf`` / ``compare plrf``) and
:class:`RunConfig` (``solvable run plrf``), each with presets ``quick``, ``default``, ``paper``
and a ``validate()`` that checks every field, the theory's stability limit included
(:func:`theory.plrf.check_stable`), before anything is compiled. :func:`run_phase_sweep` runs
the expected-loss sweep of the phase diagram; :func:`run_curves` the SGD-vs-theory curves of
``solvable run plrf``. The builders and one-configuration runs are in
:mod:`simulations.plrf.sweeps`. Symbols as in :mod:`simulations.plrf.model` (Paquette, Paquette,
Xiao, Pennington, arXiv 2405.15074).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, Self

import jax
import numpy as np
import xarray as xr
from tqdm.auto import tqdm

from simulations.grid import Experiment, Grid
from simulations.plrf import checks, limits, sweeps
from simulations.plrf.checks import MAX_STEPS, PATHS
from simulations.plrf.training import TrainingConfig
from simulations.results import SweepResult
from simulations.steps import geometric_sizes
from simulations.sweep import check_memory, run_sweep
from theory import plrf as theory_plrf
from theory.checks import check_choice, check_float, check_int

__all__ = [
    "MAX_LOG2_SIZE",
    "PHASE_POINTS",
    "PLANE_ALPHAS",
    "PLANE_BETAS",
    "WFREE_PER_DECADE",
    "PhaseDiagramConfig",
    "RunConfig",
    "max_steps_for",
    "run_curves",
    "run_phase_sweep",
    "run_wfree",
]

#: One (α, β) point well inside each phase (``theory.plrf.REFERENCE_POINTS``, plus (1, 2), a
#: second, deeper point of phase III).
PHASE_POINTS: tuple[tuple[float, float], ...] = (
    (1.0, 0.3),  # Ia
    (0.4, 0.3),  # Ib
    (0.2, 1.0),  # Ic
    (1.0, 0.7),  # II
    (0.7, 1.0),  # III
    (1.0, 2.0),  # III
    (0.4, 0.8),  # IVa
    (0.27, 1.0),  # IVb
)

_PRESETS = ("quick", "default", "paper")

#: The (α, β) grid of ``--plane``: every phase, with rows and columns next to the boundaries
#: α = 1/4, α₀ ≈ 0.293, α = 1/2, β = 1/2 and α = β (IVb is the strip 1/4 < α < α₀: α = 0.27).
PLANE_ALPHAS: tuple[float, ...] = (0.1, 0.2, 0.27, 0.35, 0.45, 0.55, 0.7, 0.85, 1.0, 1.25, 1.5)
PLANE_BETAS: tuple[float, ...] = (0.2, 0.35, 0.45, 0.55, 0.7, 0.85, 1.0, 1.25, 1.5)

#: Largest W-free size 2^b accepted (steps beyond int64 are handled; v = 4d must stay a float64
#: integer and the bisections of the spectrum span 1e±300).
MAX_LOG2_SIZE = 48.0


# --------------------------------------------------------------------------------------------
# Command configs
# --------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=1024)
def _validate_once(alpha, beta, v: int, d: int, batch: int, lr_scale: float) -> None:
    """:func:`~simulations.plrf.checks.validate_point`, once per argument tuple (~0.1 s at large
    d; the plane validates ~100 points and each command validates its config more than once)."""
    checks.validate_point(alpha, beta, v=v, d=d, batch=batch, lr_scale=lr_scale)


@dataclasses.dataclass(frozen=True)
class PhaseDiagramConfig:
    """``solvable phase-diagram plrf`` (and ``compare plrf``): measured vs predicted ξ, η.

    Two measurements of the same compute-optimal frontier:

    * **large d, W-free** (the main one): the deterministic-equivalent expected loss
      (:mod:`simulations.plrf.limits`, cost independent of d) for ``d = 2^a … 2^b``
      (``wfree_sizes``), ``per_octave`` sizes per octave; local ξ, η over ``window``-octave
      windows of ``d*`` and their extrapolation to d → ∞ (converged when they move less than
      ``tol`` over the last window);
    * **small d, realised W** (the cross-check): the exact expected SGD loss of each
      (point, d, seed)'s own ``W`` for ``sizes``, IsoFLOP frontiers with seed-bootstrap intervals.

    With ``plane`` the command measures the whole (α, β) plane instead (``plane_alphas`` ×
    ``plane_betas``, admissible points only, W-free path over ``plane_sizes``).

    Presets: ``quick`` (W-free d = 2^6…2^24, realised d = 32..512: under a minute on 2 CPU
    cores), ``default`` (W-free 2^6…2^36, realised 64..1024: minutes), ``paper`` (W-free
    2^6…2^40 at 8 sizes per octave, the plane to 2^28; realised d = 128..8192, 8 embeddings
    per size: accelerator-scale; the largest size holds the float64 ``W`` and ``D^(1/2)W``,
    16·v·d ≈ 4.3 GB per run, times ``chunk_size`` runs under ``vmap``, and eigendecomposes an
    8192² matrix per run).

    Attributes:
        sizes: model sizes d of the realised-W cross-check (√2 steps); v = round(v_ratio·d).
        seeds: independent embeddings W per (point, d); the bootstrap resamples them.
        v_ratio: v/d (finite v matters when 2α < 1).
        lr_scale: c in γ = c/Σ_(j≤v) j^(−2α).
        batch: SGD batch B.
        horizon: runs last r_max(d) = horizon · max_α d^(2α)/(γ(α, d)·B) steps (capped at
            2^31 − 2), so every size's loss curve reaches its plateau.
        n_checkpoints: log-spaced checkpoints per curve.
        n_boot: bootstrap replicates for the confidence intervals.
        points: the (α, β) points, one comparison each ("a,b;a,b;..." on the command line).
        chunk_size: runs per compiled call (memory; results do not depend on it).
        wfree_sizes: ``(a, b)``: the W-free sizes run from 2^a to 2^b.
        per_octave: W-free sizes per octave (4: local exponents move < 1e-3 when doubled).
        window: width of the sliding d* windows of the local exponents (octaves).
        tol: an exponent has converged when it moves less than this over the last window.
        plane: measure the whole (α, β) plane (W-free only) instead of one point per phase.
        plane_alphas: the α of the plane's grid (inadmissible 2α + 2β <= 1 skipped).
        plane_betas: the β of the plane's grid.
        plane_sizes: ``(a, b)``: the plane's W-free sizes run from 2^a to 2^b.
        study: ``compare plrf`` only: ``exponents`` (the comparison above) or a training-procedure
            study, ``schedules``, ``momentum`` or ``batch`` (:mod:`simulations.plrf.training`).
        training: the training studies' settings
            (:class:`~simulations.plrf.training.TrainingConfig`).
    """

    sizes: tuple[int, ...] = geometric_sizes(64, 1024)
    seeds: int = 4
    v_ratio: float = 4.0
    lr_scale: float = 0.5
    batch: int = 1
    horizon: float = 20.0
    n_checkpoints: int = 160
    n_boot: int = 200
    points: tuple[tuple[float, float], ...] = PHASE_POINTS
    chunk_size: int = 8
    wfree_sizes: tuple[float, float] = (6.0, 36.0)
    per_octave: int = 4
    window: float = 4.0
    tol: float = 0.01
    plane: bool = False
    plane_alphas: tuple[float, ...] = PLANE_ALPHAS
    plane_betas: tuple[float, ...] = PLANE_BETAS
    plane_sizes: tuple[float, float] = (6.0, 20.0)
    study: Literal["exponents", "schedules", "momentum", "batch"] = "exponents"
    training: TrainingConfig = TrainingConfig()  # noqa: RUF009 (frozen: safe as a default)

    @classmethod
    def preset(cls, name: str) -> Self:
        """The config of preset ``name`` (``quick``, ``default`` or ``paper``)."""
        check_choice("preset", name, _PRESETS)
        if name == "quick":
            return cls(
                sizes=geometric_sizes(32, 512),
                seeds=3,
                n_boot=100,
                wfree_sizes=(6.0, 24.0),
                per_octave=2,
                plane_sizes=(6.0, 16.0),
                training=TrainingConfig.preset("quick"),
            )
        if name == "paper":
            return cls(
                sizes=geometric_sizes(128, 8192),
                seeds=8,
                n_boot=1000,
                chunk_size=4,
                wfree_sizes=(6.0, 40.0),
                per_octave=8,
                plane_sizes=(6.0, 28.0),
                training=TrainingConfig.preset("paper"),
            )
        return cls()

    @property
    def out_suffix(self) -> str:
        """Appended to the default output directory: ``-plane`` for the plane, ``-STUDY`` for a
        training study."""
        return ("-plane" if self.plane else "") + (
            "" if self.study == "exponents" else f"-{self.study}"
        )

    def plane_points(self) -> tuple[tuple[float, float], ...]:
        """The admissible (α, β) of the plane grid (``2α + 2β > 1``), α-major."""
        return tuple(
            (float(a), float(b))
            for a in self.plane_alphas
            for b in self.plane_betas
            if 2 * a + 2 * b > 1 + 1e-12
        )

    def realised_settings(self) -> dict:
        """The fields the realised-W sweep depends on (its store fingerprint)."""
        names = ("sizes", "seeds", "v_ratio", "lr_scale", "batch", "horizon", "n_checkpoints")
        return {k: getattr(self, k) for k in (*names, "points", "chunk_size")}

    def validate(self) -> None:
        """Raise ValueError / TypeError (field, value, range) before anything is compiled."""
        if len(self.sizes) == 0:
            raise ValueError("sizes must list at least one model size d")
        for d in self.sizes:
            check_int("sizes", d, 1)
        check_int("seeds", self.seeds, 1)
        check_float("v_ratio", self.v_ratio, low=1.0, strict=True)
        check_float("horizon", self.horizon, low=0.0, strict=True)
        check_int("n_checkpoints", self.n_checkpoints, 2)
        check_int("n_boot", self.n_boot, 1)
        check_int("chunk_size", self.chunk_size, 1)
        if len(self.points) == 0:
            raise ValueError("points must list at least one (alpha, beta) pair")
        check_int("batch", self.batch, 1)
        check_float("lr_scale", self.lr_scale, low=0.0, strict=True)
        for name in ("wfree_sizes", "plane_sizes"):
            lo, hi = getattr(self, name)
            check_float(name, lo, low=1.0)
            if not hi - lo >= 2 * self.window:
                raise ValueError(
                    f"{name} must span at least 2 windows ({2 * self.window:g} octaves) for a "
                    f"trend, got ({lo:g}, {hi:g})"
                )
            check_float(name, hi, low=lo, high=MAX_LOG2_SIZE)
        check_int("per_octave", self.per_octave, 1, 64)
        check_float("window", self.window, low=1.0, high=16.0)
        check_float("tol", self.tol, low=0.0, strict=True)
        if self.plane:
            if not self.plane_points():
                raise ValueError("plane_alphas x plane_betas has no admissible point (2a+2b > 1)")
            for a, b in self.plane_points():
                self._check_wfree(a, b, self.plane_sizes[1])
        for point in self.points:
            if len(point) != 2:
                raise ValueError(f"points must be (alpha, beta) pairs, got {point!r}")
            for d in self.sizes:
                checks.validate_point(
                    point[0],
                    point[1],
                    v=round(self.v_ratio * d),
                    d=d,
                    batch=self.batch,
                    lr_scale=self.lr_scale,
                )
            if not self.plane:
                self._check_wfree(point[0], point[1], self.wfree_sizes[1])

    def _check_wfree(self, alpha: float, beta: float, log2_d: float) -> None:
        """The theory's stability check at the largest W-free size (‖K‖ ≈ c/2 at every d)."""
        d = round(2.0**log2_d)
        _validate_once(alpha, beta, round(self.v_ratio * d), d, self.batch, self.lr_scale)


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """``solvable run plrf``: SGD loss curves of one configuration beside the theory curves.

    The mean of ``seeds`` SGD runs (each seed its own W) beside the exact expected loss of each
    seed's W (Volterra equation, averaged over the same seeds) and the deterministic equivalent
    (no W). Presets: ``quick`` (d = 32, seconds), ``default`` (d = 256, a minute on 2 CPU cores),
    ``paper`` (d = 2^12, 1024 seeds: one accelerator; per seed a float64 ``eigh`` of ``K̂`` for
    the SGD run and one for its expected loss, ~2.4e15 float64 FLOPs and 4.5e12 normal draws in
    all, at most 2.6 GB per run; ``--d 16384`` runs d = 2^14 at ~40 GB per run, ~64x the float64
    work: ``python benchmarks/device_check.py --costs``).

    Attributes:
        alpha: data spectrum exponent α (D = diag(j^(−2α))).
        beta: target exponent β (b_j = j^(−β)).
        d: model size (embedding dimension).
        v_ratio: v/d, v = round(v_ratio·d).
        batch: SGD batch B.
        lr_scale: c in γ = c/Σ_(j≤v) j^(−2α).
        steps: SGD steps (none: ~4·d^(2α)/γ, clipped to [1e3, 1e6]).
        seeds: independent (W, SGD noise) draws.
        n_checkpoints: log-spaced checkpoints per curve.
        path: SGD simulator (eigenbasis: O(d) per sample; explicit: O(v·d), the reference).
    """

    alpha: float = 0.7
    beta: float = 1.0
    d: int = 256
    v_ratio: float = 4.0
    batch: int = 1
    lr_scale: float = 0.5
    steps: int | None = None
    seeds: int = 16
    n_checkpoints: int = 40
    path: Literal["eigenbasis", "explicit"] = "eigenbasis"

    @classmethod
    def preset(cls, name: str) -> Self:
        """The config of preset ``name`` (``quick``, ``default`` or ``paper``)."""
        check_choice("preset", name, _PRESETS)
        if name == "quick":
            return cls(d=32, seeds=8)
        if name == "paper":
            return cls(d=4096, seeds=1024)
        return cls()

    @property
    def v(self) -> int:
        """Data dimension ``round(v_ratio·d)``."""
        return round(self.v_ratio * self.d)

    @property
    def learning_rate(self) -> float:
        """γ = c/Σ_(j≤v) j^(−2α) (:func:`theory.plrf.learning_rate`)."""
        return theory_plrf.learning_rate(self.alpha, self.v, self.lr_scale)

    def max_steps(self) -> int:
        """``steps``, or ~4·d^(2α)/γ (4× the time to resolve d modes) clipped to [1e3, 1e6]."""
        if self.steps is not None:
            return self.steps
        return int(min(1e6, max(1e3, 4 * self.d ** (2 * self.alpha) / self.learning_rate)))

    def validate(self) -> None:
        """Raise ValueError / TypeError (field, value, range) before anything is compiled."""
        theory_plrf.validate_parameters(self.alpha, self.beta)
        check_int("d", self.d, 1)
        check_float("v_ratio", self.v_ratio, low=1.0, strict=True)
        check_int("batch", self.batch, 1)
        check_float("lr_scale", self.lr_scale, low=0.0, strict=True)
        checks.validate_point(
            self.alpha, self.beta, v=self.v, d=self.d, batch=self.batch, lr_scale=self.lr_scale
        )
        if self.steps is not None:
            check_int("steps", self.steps, 1, MAX_STEPS)
        check_int("seeds", self.seeds, 1)
        check_int("n_checkpoints", self.n_checkpoints, 2)
        check_choice("path", self.path, PATHS)


def run_curves(config: RunConfig, *, progress: bool = True) -> xr.Dataset:
    """SGD, expected-loss (same W) and deterministic-equivalent curves of one configuration.

    :func:`~simulations.plrf.sweeps.simulate` with ``expected=True`` plus ``det_equiv`` (along
    ``checkpoint``): the expected loss of the deterministic-equivalent spectrum (no W;
    :func:`theory.plrf.deterministic_equivalent_spectrum`). Validates ``config`` first (theory
    stability included) and computes ``det_equiv`` before any SGD step, so nothing the theory can
    refuse is simulated, and sizes that cannot fit in memory are refused first.
    """
    config.validate()
    # Sizes that cannot run are refused before the deterministic equivalent (O(v) per spectral
    # point) is computed: the same memory pre-flight run_sweep applies to both sweeps.
    static = {"d": config.d, "v_ratio": config.v_ratio, "batch": config.batch}
    static |= {"max_steps": config.max_steps(), "path": config.path}
    for build in (sweeps.build_sgd, sweeps.build_expected):
        check_memory(build(static).bytes_per_run, 1, jax.devices(), f"d={config.d}, v={config.v}")
    spectrum = theory_plrf.deterministic_equivalent_spectrum(
        config.alpha, config.beta, config.d, config.v
    )
    steps = checks.log_checkpoints(config.max_steps(), config.n_checkpoints)
    det = theory_plrf.expected_loss(spectrum, config.learning_rate, config.batch, steps)
    ds = sweeps.simulate(
        config.alpha,
        config.beta,
        config.d,
        v_ratio=config.v_ratio,
        batch=config.batch,
        lr_scale=config.lr_scale,
        max_steps=config.max_steps(),
        n_checkpoints=config.n_checkpoints,
        seeds=config.seeds,
        path=config.path,
        expected=True,
        progress=progress,
    )
    ds["det_equiv"] = ("checkpoint", det)
    return ds


# --------------------------------------------------------------------------------------------
# The phase diagram: W-free curves at large d, the realised-W sweep at small d
# --------------------------------------------------------------------------------------------
#: Checkpoints per decade of steps on the W-free curves (doubling it moves the local exponents
#: by < 1e-5).
WFREE_PER_DECADE = 40


def run_wfree(
    config: PhaseDiagramConfig,
    points: Sequence[tuple[float, float]],
    log2_sizes: tuple[float, float],
    *,
    store: str | Path | None = None,
    progress: bool = True,
) -> list[limits.WFreeCurves]:
    """W-free expected-loss curves (:func:`simulations.plrf.limits.wfree_curves`) per point.

    Sizes ``2^a … 2^b`` (``log2_sizes``) at ``config.per_octave`` per octave, ``v_ratio``,
    ``lr_scale``, ``batch`` and ``horizon`` as the realised sweep; with ``store`` each point's
    curves are kept there and reused by a rerun with the same settings. ``config`` is validated
    first (every point's stability at the largest size).
    """
    config.validate()
    sizes = limits.size_ladder(*log2_sizes, config.per_octave)
    out = []
    for a, b in tqdm(points, desc="W-free curves", unit="point", disable=not progress):
        out.append(
            limits.cached_wfree_curves(
                store,
                alpha=float(a),
                beta=float(b),
                sizes=sizes,
                v_ratio=config.v_ratio,
                lr_scale=config.lr_scale,
                batch=config.batch,
                horizon=config.horizon,
                per_decade=WFREE_PER_DECADE,
            )
        )
    return out


def max_steps_for(d: int, alphas: Sequence[float], config: PhaseDiagramConfig) -> int:
    """Run length for size d: ``horizon`` × the slowest point's time to resolve d modes."""
    v = round(config.v_ratio * d)
    need = max(
        d ** (2 * a) / (theory_plrf.learning_rate(a, v, config.lr_scale) * config.batch)
        for a in alphas
    )
    return int(min(MAX_STEPS, max(1000, math.ceil(config.horizon * need))))


def _build_phase(static: Mapping[str, Any]) -> Experiment:
    """:func:`build_expected` with the run length chosen per size (``alpha_max``, ``horizon``)."""
    s = dict(static)
    alpha_max = float(s.pop("alpha_max"))
    config = PhaseDiagramConfig(
        sizes=(s["d"],),
        seeds=1,
        v_ratio=float(s["v_ratio"]),
        lr_scale=float(s["lr_scale"]),  # stays in s: build_expected reads it as a constant
        batch=int(s["batch"]),
        horizon=float(s.pop("horizon")),
    )
    s["max_steps"] = max_steps_for(int(s["d"]), [alpha_max], config)
    return sweeps.build_expected(s)


def run_phase_sweep(
    config: PhaseDiagramConfig, *, store: str | Path | None = None, progress: bool = True
) -> SweepResult:
    """Expected-loss curves for every (α, β) of ``config.points`` × size × seed (float64).

    The learning rate is the constant ``lr_scale`` (c); each (point, d, seed) has its own W. With
    ``store`` the chunks are written there and a rerun resumes. Validates ``config`` first.
    """
    config.validate()
    alphas = np.array([p[0] for p in config.points], dtype=np.float64)
    betas = np.array([p[1] for p in config.points], dtype=np.float64)
    grid = Grid.zipped(
        static={
            "d": [int(d) for d in config.sizes],
            "v_ratio": float(config.v_ratio),
            "batch": int(config.batch),
            "n_checkpoints": int(config.n_checkpoints),
            "alpha_max": float(alphas.max()),
            "horizon": float(config.horizon),
            "lr_scale": float(config.lr_scale),
        },
        points={"alpha": alphas, "beta": betas},
        seeds=config.seeds,
    )
    return run_sweep(
        _build_phase,
        grid,
        name="plrf-phase-diagram",
        store=str(store) if store is not None else None,
        chunk_size=config.chunk_size,
        progress=progress,
        config={"command": "phase-diagram plrf", **config.realised_settings()},
    )
