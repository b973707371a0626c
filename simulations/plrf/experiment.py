"""PLRF sweeps: command configs and presets, sweep builders, grids, and runs that return data.

Builders for :func:`simulations.sweep.run_sweep`: :func:`build_sgd` (one-pass SGD, one run per
(point, seed)) and :func:`build_expected` (the exact expected SGD loss of each run's own ``W``);
the same :class:`~simulations.grid.Grid` gives both the same run keys and therefore the same ``W``
per (point, seed) (:func:`run_embedding` re-samples it). :func:`simulate` runs one (α, β, d);
:func:`run_phase_sweep` runs the expected-loss sweep of the phase diagram; :func:`run_curves` the
SGD-vs-theory curves of ``solvable run plrf``. Symbols as in :mod:`simulations.plrf.model`
(Paquette, Paquette, Xiao, Pennington, arXiv 2405.15074).

Outputs and conventions: losses are exact population losses (no ½) at log-spaced checkpoints
(coordinate ``checkpoint`` = step count); the learning rate actually used is output as ``gamma``;
:func:`with_compute_coords` adds ``step`` and ``compute = d·B·step``.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, Self

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from simulations.grid import Experiment, Grid, config_key
from simulations.plrf import model
from simulations.plrf.model import (
    DEFAULT_LR_SCALE,
    DEFAULT_N_CHECKPOINTS,
    DEFAULT_V_RATIO,
    DTYPES,
    PATHS,
    STATIC_KEYS,
    SWEPT_KEYS,
)
from simulations.results import SweepResult, mask_diverged
from simulations.steps import geometric_sizes
from simulations.sweep import run_sweep
from theory import plrf as theory_plrf
from theory.checks import check_choice, check_float, check_int

__all__ = [
    "MAX_STEPS",
    "PHASE_POINTS",
    "PhaseDiagramConfig",
    "RunConfig",
    "build_expected",
    "build_sgd",
    "max_steps_for",
    "run_curves",
    "run_embedding",
    "run_phase_sweep",
    "simulate",
    "simulation_grid",
    "validate_grid",
    "with_compute_coords",
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

#: Longest run the SGD loop and the expected-loss integrator count (int32 step counters).
MAX_STEPS = 2**31 - 2

_PRESETS = ("quick", "default", "paper")


# --------------------------------------------------------------------------------------------
# Command configs
# --------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class PhaseDiagramConfig:
    """``solvable phase-diagram plrf`` (and ``compare plrf``): measured vs predicted ξ, η.

    The exact expected SGD loss of each (point, d, seed)'s own ``W`` at log-spaced steps; IsoFLOP
    frontiers over the sizes give ξ and η with seed-bootstrap intervals. Presets: ``quick``
    (d = 32..512, ~15 s on 2 CPU cores), ``default`` (d = 64..2048, minutes), ``paper``
    (d = 128..8192, 8 embeddings per size: accelerator-scale; the largest size holds the float64
    ``W`` and ``D^(1/2)W``, 16·v·d ≈ 4.3 GB per run, times ``chunk_size`` runs under ``vmap``, and
    eigendecomposes an 8192² matrix per run).

    Attributes:
        sizes: model sizes d (√2 steps by default); v = round(v_ratio·d).
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
    """

    sizes: tuple[int, ...] = geometric_sizes(64, 2048)
    seeds: int = 4
    v_ratio: float = 4.0
    lr_scale: float = 0.5
    batch: int = 1
    horizon: float = 20.0
    n_checkpoints: int = 160
    n_boot: int = 200
    points: tuple[tuple[float, float], ...] = PHASE_POINTS
    chunk_size: int = 8

    @classmethod
    def preset(cls, name: str) -> Self:
        """The config of preset ``name`` (``quick``, ``default`` or ``paper``)."""
        check_choice("preset", name, _PRESETS)
        if name == "quick":
            return cls(sizes=geometric_sizes(32, 512), seeds=3, n_boot=100)
        if name == "paper":
            return cls(sizes=geometric_sizes(128, 8192), seeds=8, n_boot=1000, chunk_size=4)
        return cls()

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
        for point in self.points:
            if len(point) != 2:
                raise ValueError(f"points must be (alpha, beta) pairs, got {point!r}")
            for d in self.sizes:
                model.validate_point(
                    point[0],
                    point[1],
                    v=round(self.v_ratio * d),
                    batch=self.batch,
                    lr_scale=self.lr_scale,
                )


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """``solvable run plrf``: SGD loss curves of one configuration beside the theory curves.

    The mean of ``seeds`` SGD runs (each seed its own W) beside the exact expected loss of each
    seed's W (Volterra equation, averaged over the same seeds) and the deterministic equivalent
    (no W). Presets: ``quick`` (d = 32, seconds), ``default`` (d = 256, a minute on 2 CPU cores),
    ``paper`` (d = 1024, 64 seeds: accelerator-scale).

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
            return cls(d=1024, seeds=64)
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
        model.validate_point(
            self.alpha, self.beta, v=self.v, batch=self.batch, lr_scale=self.lr_scale
        )
        if self.steps is not None:
            check_int("steps", self.steps, 1, MAX_STEPS)
        check_int("seeds", self.seeds, 1)
        check_int("n_checkpoints", self.n_checkpoints, 2)
        check_choice("path", self.path, PATHS)


# --------------------------------------------------------------------------------------------
# Grids and sweep builders
# --------------------------------------------------------------------------------------------
def validate_grid(grid: Grid) -> None:
    """Validate every static group and every point of a PLRF sweep grid (call before a sweep).

    ``alpha`` and ``beta`` must be swept (or static constants); the learning rate is either
    ``learning_rate`` (γ) or ``lr_scale`` (c), default c = 0.5; giving both raises.
    """
    names = set(grid.static) | set(grid.points)
    unknown = names - STATIC_KEYS - SWEPT_KEYS
    if unknown:
        raise ValueError(
            f"unknown parameter(s) {sorted(unknown)}; valid static: {sorted(STATIC_KEYS)}, "
            f"swept: {sorted(SWEPT_KEYS)}"
        )
    for name in ("alpha", "beta"):
        if name not in names:
            raise ValueError(f"{name} must be given (swept or static)")
    if "lr_scale" in names and "learning_rate" in names:
        raise ValueError("give either lr_scale or learning_rate, not both")
    static_swept = {k: v for k, v in grid.static.items() if k in SWEPT_KEYS}
    for combo in grid.static_combinations():
        cfg = model.validate_static({k: v for k, v in combo.items() if k in STATIC_KEYS})
        for i in range(grid.n_points):
            point = {**{k: combo[k] for k in static_swept}, **grid.point(i)}
            model.validate_point(
                point["alpha"],
                point["beta"],
                v=cfg["v"],
                batch=cfg["batch"],
                lr_scale=point.get("lr_scale"),
                learning_rate=point.get("learning_rate"),
            )


def _run_params(static: Mapping[str, Any], params: Mapping[str, jax.Array]) -> dict:
    """Swept params plus any swept-kind names given as static constants."""
    merged = {k: static[k] for k in SWEPT_KEYS if k in static}
    merged.update(params)
    for name in ("alpha", "beta"):
        if name not in merged:
            raise ValueError(f"{name} must be a swept (or static) parameter of the PLRF sweep")
    return merged


def _split_static(static: Mapping[str, Any]) -> tuple[dict, dict]:
    shape = {k: v for k, v in static.items() if k not in SWEPT_KEYS}
    return model.validate_static(shape), {k: v for k, v in static.items() if k in SWEPT_KEYS}


def build_sgd(static: Mapping[str, Any]) -> Experiment:
    """Sweep builder: one-pass SGD on PLRF (arXiv 2405.15074), one run per (point, seed).

    Static keys: see :func:`~simulations.plrf.model.validate_static` (``d``, ``v``/``v_ratio``,
    ``batch``, ``max_steps``, ``n_checkpoints``, ``path`` = "eigenbasis" (default) | "explicit",
    ``dtype`` = "float32" (default) | "float64", ``block_steps``). Swept (traced) parameters:
    ``alpha``, ``beta`` and the learning rate as either ``lr_scale`` (c, γ = c/Σ_(j≤v) j^(−2α))
    or ``learning_rate`` (γ itself); neither means c = 0.5; both is ambiguous and raises
    ValueError (in :func:`validate_grid`, and at trace time). Swept-kind names may also be given as
    static constants (e.g. a fixed ``lr_scale``).

    The experiment runs under float64 (``x64=True``) because ``K̂``'s eigendecomposition needs it;
    the SGD loop itself runs in ``dtype``. Each run is :func:`~simulations.plrf.model.sgd_run`.

    Outputs per run: ``loss`` (dims ``("checkpoint",)``, ``dtype``: exact population loss after
    ``step`` SGD steps), ``p_star`` (float64, min_θ P of this run's W), ``gamma`` (float64, the
    learning rate γ used; not called ``learning_rate``, which may be a swept coordinate).
    """
    cfg, constants = _split_static(static)
    steps = model.log_checkpoints(cfg["max_steps"], cfg["n_checkpoints"])

    sizes = {"v": cfg["v"], "d": cfg["d"], "batch": cfg["batch"], "checkpoints": steps}
    loop = {"path": cfg["path"], "dtype": DTYPES[cfg["dtype"]], "block_steps": cfg["block_steps"]}

    def run(key, params):
        p = _run_params(constants, params)
        gamma = model.resolve_learning_rate(p, cfg["v"])
        out = model.sgd_run(key, p["alpha"], p["beta"], gamma, **sizes, **loop)
        return {**out, "gamma": gamma}

    return Experiment(
        run=run, dims={"loss": ("checkpoint",)}, coords={"checkpoint": steps}, x64=True
    )


def build_expected(static: Mapping[str, Any]) -> Experiment:
    """Sweep builder: the exact expected SGD loss given each run's realised W (float64).

    Accepts the same static keys as :func:`build_sgd` (``path``, ``dtype`` and ``block_steps`` are
    ignored), so the same :class:`~simulations.grid.Grid` gives both sweeps the same run keys and
    therefore the same ``W`` per (point, seed). Each run is
    :func:`~simulations.plrf.model.expected_run` (the Volterra equation of arXiv 2405.15074 §2).

    Outputs per run: ``loss`` (``("checkpoint",)``, float64), ``p_star``, ``kernel_norm``
    (‖K‖ = Σ γλ_i/(2 − γ(B+1)λ_i)), ``gamma`` (the learning rate γ).

    Memory: about ``16·v·d`` bytes per run (the float64 ``W`` and ``D^(1/2)W``), times the chunk
    size under ``vmap`` (d = 1024, v = 4d: 67 MB per run); pass a small ``chunk_size`` to
    :func:`~simulations.sweep.run_sweep` at large ``d``. (:func:`build_sgd` accumulates ``K̂``
    over row blocks and needs only ``O(d²)``.)
    """
    cfg, constants = _split_static(static)
    steps = model.log_checkpoints(cfg["max_steps"], cfg["n_checkpoints"])

    sizes = {"v": cfg["v"], "d": cfg["d"], "batch": cfg["batch"], "checkpoints": steps}

    def run(key, params):
        p = _run_params(constants, params)
        gamma = model.resolve_learning_rate(p, cfg["v"])
        out = model.expected_run(key, p["alpha"], p["beta"], gamma, **sizes)
        return {**out, "gamma": gamma}

    return Experiment(
        run=run, dims={"loss": ("checkpoint",)}, coords={"checkpoint": steps}, x64=True
    )


def run_embedding(
    grid: Grid,
    seeds: int | Sequence[int],
    *,
    point: int = 0,
    group: int = 0,
    base_seed: int = 0,
    dtype=jnp.float32,
) -> jax.Array:
    """The embedding(s) ``W`` that runs ``(group, point, seeds)`` of a PLRF sweep used.

    Re-derives the engine's run keys (``fold_in(config_key(key(base_seed), static, point), seed)``,
    see :mod:`simulations.sweep`) and samples W as :func:`build_sgd` / :func:`build_expected` do.
    Call under ``jax.enable_x64(True)`` for ``dtype=float64``.

    Returns:
        ``(v, d)`` for an integer seed, ``(len(seeds), v, d)`` for a sequence of seeds.
    """
    static = grid.static_combinations()[group]
    cfg = model.validate_static({k: v for k, v in static.items() if k in STATIC_KEYS})
    key = config_key(jax.random.key(base_seed), static, grid.point(point))
    seed_ids = jnp.atleast_1d(jnp.asarray(seeds))
    w = _run_embeddings(key, seed_ids, cfg["v"], cfg["d"], jnp.dtype(dtype))
    return w[0] if np.ndim(seeds) == 0 else w


@functools.partial(jax.jit, static_argnames=("v", "d", "dtype"))
def _run_embeddings(key, seed_ids, v: int, d: int, dtype):
    def one(seed):
        key_w, _ = model.split_run_key(jax.random.fold_in(key, seed))
        return model.sample_embedding(key_w, v, d, dtype)

    return jax.vmap(one)(seed_ids)


def with_compute_coords(ds: xr.Dataset) -> xr.Dataset:
    """Add the coordinates ``step`` and ``compute = d·B·step`` along ``checkpoint``.

    ``ds`` is a group dataset of :func:`build_sgd` / :func:`build_expected` (its static ``d`` and
    ``batch`` are read from the scalar coordinates or attributes; batch defaults to 1).
    """
    d = int(ds.attrs.get("static.d", ds.coords["d"].item() if "d" in ds.coords else 0))
    if d <= 0:
        raise ValueError("dataset has no static d (expected a PLRF sweep group)")
    batch = int(
        ds.attrs.get("static.batch", ds.coords["batch"].item() if "batch" in ds.coords else 1)
    )
    steps = np.asarray(ds["checkpoint"].values, dtype=np.int64)
    return ds.assign_coords(
        step=("checkpoint", steps), compute=("checkpoint", (d * batch * steps).astype(np.float64))
    )


# --------------------------------------------------------------------------------------------
# One configuration
# --------------------------------------------------------------------------------------------
def simulation_grid(
    alpha: float,
    beta: float,
    d: int,
    *,
    v_ratio: float = DEFAULT_V_RATIO,
    batch: int = 1,
    lr_scale: float = DEFAULT_LR_SCALE,
    max_steps: int,
    n_checkpoints: int = DEFAULT_N_CHECKPOINTS,
    seeds: int = 8,
    path: str = "eigenbasis",
    dtype: str = "float32",
) -> Grid:
    """The (validated) one-point sweep grid that :func:`simulate` runs (same arguments)."""
    grid = Grid.product(
        static={
            "d": d,
            "v_ratio": v_ratio,
            "batch": batch,
            "max_steps": max_steps,
            "n_checkpoints": n_checkpoints,
            "path": path,
            "dtype": dtype,
        },
        swept={"alpha": alpha, "beta": beta, "lr_scale": lr_scale},
        seeds=seeds,
    )
    validate_grid(grid)
    return grid


def simulate(
    alpha: float,
    beta: float,
    d: int,
    *,
    v_ratio: float = DEFAULT_V_RATIO,
    batch: int = 1,
    lr_scale: float = DEFAULT_LR_SCALE,
    max_steps: int,
    n_checkpoints: int = DEFAULT_N_CHECKPOINTS,
    seeds: int = 8,
    path: str = "eigenbasis",
    dtype: str = "float32",
    base_seed: int = 0,
    expected: bool = False,
    chunk_size: int = 64,
    progress: bool = False,
) -> xr.Dataset:
    """SGD loss curves of PLRF at one (α, β, d) over ``seeds`` independent (W, SGD) draws.

    Runs :func:`build_sgd` through :func:`simulations.sweep.run_sweep` (one point) and returns a
    dataset with dims ``(seed, checkpoint)``: ``loss`` (diverged runs set to NaN), ``p_star``,
    ``gamma`` (learning rate), ``finite``; coordinates ``step`` and ``compute = d·B·step``. With
    ``expected=True`` also ``expected_loss`` (float64): the exact expected loss of each seed's own
    W (:func:`build_expected` over the same grid, so the same W), plus ``kernel_norm``.
    """
    grid = simulation_grid(
        alpha,
        beta,
        d,
        v_ratio=v_ratio,
        batch=batch,
        lr_scale=lr_scale,
        max_steps=max_steps,
        n_checkpoints=n_checkpoints,
        seeds=seeds,
        path=path,
        dtype=dtype,
    )
    res = run_sweep(
        build_sgd,
        grid,
        name="plrf-sgd",
        chunk_size=chunk_size,
        base_seed=base_seed,
        progress=progress,
    )
    ds = mask_diverged(res.groups[0]).isel(point=0)
    ds = ds.drop_vars("complete")
    if expected:
        theory_res = run_sweep(
            build_expected,
            grid,
            name="plrf-expected",
            chunk_size=chunk_size,
            base_seed=base_seed,
            progress=progress,
        )
        th = theory_res.groups[0].isel(point=0)
        ds["expected_loss"] = th["loss"]
        ds["kernel_norm"] = th["kernel_norm"]
    return with_compute_coords(ds)


def run_curves(config: RunConfig, *, progress: bool = True) -> xr.Dataset:
    """SGD, expected-loss (same W) and deterministic-equivalent curves of one configuration.

    :func:`simulate` with ``expected=True`` plus ``det_equiv`` (along ``checkpoint``): the
    expected loss of the deterministic-equivalent spectrum (no W;
    :func:`theory.plrf.deterministic_equivalent_spectrum`). Validates ``config`` first.
    """
    config.validate()
    ds = simulate(
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
    spectrum = theory_plrf.deterministic_equivalent_spectrum(
        config.alpha, config.beta, config.d, config.v
    )
    det = theory_plrf.expected_loss(spectrum, config.learning_rate, config.batch, ds["step"].values)
    ds["det_equiv"] = ("checkpoint", det)
    return ds


# --------------------------------------------------------------------------------------------
# The phase-diagram sweep
# --------------------------------------------------------------------------------------------
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
    return build_expected(s)


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
        config={"command": "phase-diagram plrf", **dataclasses.asdict(config)},
    )
