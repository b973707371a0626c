"""PLRF sweeps: the sweep builders, their grids, and one configuration run through the engine.

Builders for :func:`simulations.sweep.run_sweep`: :func:`build_sgd` (one-pass SGD, one run per
(point, seed)) and :func:`build_expected` (the exact expected SGD loss of each run's own ``W``);
the same :class:`~simulations.grid.Grid` gives both the same run keys and therefore the same ``W``
per (point, seed) (:func:`run_embedding` re-samples it). :func:`simulate` runs one (α, β, d).
Symbols as in :mod:`simulations.plrf.model` (Paquette, Paquette, Xiao, Pennington, arXiv
2405.15074).

Every builder's :class:`~simulations.grid.Experiment` carries what the engine checks before it
compiles anything: ``validate`` (each point, including the theory's stability check
:func:`theory.plrf.check_stable`), ``diverged`` (:func:`run_diverged`) and ``bytes_per_run``
(:func:`~simulations.plrf.checks.sgd_run_bytes`, :func:`~.checks.expected_run_bytes`).

Outputs and conventions: losses are exact population losses (no ½) at log-spaced checkpoints
(coordinate ``checkpoint`` = step count); the learning rate actually used is output as ``gamma``;
:func:`with_compute_coords` adds ``step`` and ``compute = d·B·step``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from simulations.grid import Experiment, Grid, config_key, loss_blowup
from simulations.plrf import checks, model
from simulations.plrf.checks import (
    DEFAULT_LR_SCALE,
    DEFAULT_N_CHECKPOINTS,
    DEFAULT_V_RATIO,
    STATIC_KEYS,
    SWEPT_KEYS,
)
from simulations.plrf.model import DTYPES
from simulations.results import mask_diverged
from simulations.sweep import run_sweep

__all__ = [
    "build_expected",
    "build_sgd",
    "point_validator",
    "run_diverged",
    "run_embedding",
    "simulate",
    "simulation_grid",
    "validate_grid",
    "with_compute_coords",
]


# --------------------------------------------------------------------------------------------
# Grids and sweep builders
# --------------------------------------------------------------------------------------------
def validate_grid(grid: Grid) -> None:
    """Validate every static group and every point of a PLRF sweep grid (call before a sweep).

    ``alpha`` and ``beta`` must be swept (or static constants); the learning rate is either
    ``learning_rate`` (γ) or ``lr_scale`` (c), default c = 0.5; giving both raises. Each point
    passes the theory's stability check at its group's ``d``, ``v`` and ``batch`` (what
    :func:`~simulations.sweep.run_sweep` checks through the builders' ``validate``).
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
    for combo in grid.static_combinations():
        cfg, constants = _split_static(combo)
        check = point_validator(cfg, constants)
        for i in range(grid.n_points):
            check(grid.point(i))


def point_validator(
    cfg: Mapping[str, Any], constants: Mapping[str, Any]
) -> Callable[[Mapping[str, float]], None]:
    """``validate(point)`` of one static group (``cfg`` from
    :func:`~simulations.plrf.checks.validate_static`; ``constants``: swept-kind names given as
    static values): :func:`~simulations.plrf.checks.validate_point` with the group's ``d``, ``v``,
    ``batch``, so the theory's stability check runs before anything is compiled."""

    def validate(point: Mapping[str, float]) -> None:
        unknown = set(point) - SWEPT_KEYS
        if unknown:
            raise ValueError(
                f"unknown swept parameter(s) {sorted(unknown)}; valid: {sorted(SWEPT_KEYS)}"
            )
        p = {**constants, **point}
        for name in ("alpha", "beta"):
            if name not in p:
                raise ValueError(f"{name} must be given (swept or static)")
        checks.validate_point(
            p["alpha"],
            p["beta"],
            v=cfg["v"],
            d=cfg["d"],
            batch=cfg["batch"],
            lr_scale=p.get("lr_scale"),
            learning_rate=p.get("learning_rate"),
        )

    return validate


# Divergence bound of every PLRF run. The loss at checkpoint 0 is P(0) = ‖D^(1/2)b‖² (θ₀ = 0).
# While ‖K‖ < 1 the expected loss never exceeds P(0)/(1 − ‖K‖) (the Volterra equation of arXiv
# 2405.15074 §2: P(r) = F(r) + Σ_s K(r−1−s) P(s) with 0 < F(r) <= P(0), K >= 0), and one SGD run
# fluctuates about it by O(1) factors: a loss >= 10³ · P(0) is divergence. A run whose own
# spectrum has ‖K‖ >= 1 (inf when γ(B+1)λ_max >= 2) diverges in expectation, whatever its
# recorded steps show: flagged too.
_LOSS_BLOWUP = loss_blowup("loss", factor=1e3)


def run_diverged(outputs: Mapping[str, jax.Array], params: Mapping[str, jax.Array]) -> jax.Array:
    """The divergence bound of a PLRF run (traced): ``loss >= 10³ × loss[0]`` or ``‖K‖ >= 1``."""
    return _LOSS_BLOWUP(outputs, params) | (outputs["kernel_norm"] >= 1.0)


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
    return checks.validate_static(shape), {k: v for k, v in static.items() if k in SWEPT_KEYS}


def _experiment(run, cfg: Mapping[str, Any], constants, steps, bytes_per_run) -> Experiment:
    return Experiment(
        run=run,
        dims={"loss": ("checkpoint",)},
        coords={"checkpoint": steps},
        x64=True,
        validate=point_validator(cfg, constants),
        diverged=run_diverged,
        bytes_per_run=bytes_per_run,
    )


def build_sgd(static: Mapping[str, Any]) -> Experiment:
    """Sweep builder: one-pass SGD on PLRF (arXiv 2405.15074), one run per (point, seed).

    Static keys: see :func:`~simulations.plrf.checks.validate_static` (``d``, ``v``/``v_ratio``,
    ``batch``, ``max_steps``, ``n_checkpoints``, ``path`` = "eigenbasis" (default) | "explicit",
    ``dtype`` = "float32" (default) | "float64", ``block_steps``); a bad value raises here.
    Swept (traced) parameters: ``alpha``, ``beta`` and the learning rate as either ``lr_scale``
    (c, γ = c/Σ_(j≤v) j^(−2α)) or ``learning_rate`` (γ itself); neither means c = 0.5; both is
    ambiguous and raises ValueError. Swept-kind names may also be given as static constants (e.g.
    a fixed ``lr_scale``). Every point is checked by the experiment's ``validate``
    (:func:`point_validator`, with the theory's stability check) before anything is compiled.

    The experiment runs under float64 (``x64=True``) because ``K̂``'s eigendecomposition needs it;
    the SGD loop itself runs in ``dtype``. Each run is :func:`~simulations.plrf.model.sgd_run`.

    Outputs per run: ``loss`` (dims ``("checkpoint",)``, ``dtype``: exact population loss after
    ``step`` SGD steps), ``p_star`` (float64, min_θ P of this run's W), ``kernel_norm`` (‖K‖ of
    this run's W), ``gamma`` (float64, the learning rate γ used; not called ``learning_rate``,
    which may be a swept coordinate). Runs are flagged by :func:`run_diverged`; memory per run
    :func:`~simulations.plrf.checks.sgd_run_bytes`.
    """
    cfg, constants = _split_static(static)
    steps = checks.log_checkpoints(cfg["max_steps"], cfg["n_checkpoints"])

    sizes = {"v": cfg["v"], "d": cfg["d"], "batch": cfg["batch"], "checkpoints": steps}
    loop = {"path": cfg["path"], "dtype": DTYPES[cfg["dtype"]], "block_steps": cfg["block_steps"]}

    def run(key, params):
        p = _run_params(constants, params)
        gamma = model.resolve_learning_rate(p, cfg["v"])
        out = model.sgd_run(key, p["alpha"], p["beta"], gamma, **sizes, **loop)
        return {**out, "gamma": gamma}

    return _experiment(run, cfg, constants, steps, checks.sgd_run_bytes(cfg))


def build_expected(static: Mapping[str, Any]) -> Experiment:
    """Sweep builder: the exact expected SGD loss given each run's realised W (float64).

    Accepts the same static keys as :func:`build_sgd` (``path``, ``dtype`` and ``block_steps`` are
    ignored), so the same :class:`~simulations.grid.Grid` gives both sweeps the same run keys and
    therefore the same ``W`` per (point, seed). Each run is
    :func:`~simulations.plrf.model.expected_run` (the Volterra equation of arXiv 2405.15074 §2).
    Validation and divergence as in :func:`build_sgd`.

    Outputs per run: ``loss`` (``("checkpoint",)``, float64), ``p_star``, ``kernel_norm``
    (‖K‖ = Σ γλ_i/(2 − γ(B+1)λ_i)), ``gamma`` (the learning rate γ).

    Memory: :func:`~simulations.plrf.checks.expected_run_bytes`, about ``28·v·d + 40·d²`` bytes
    per run (the float64 ``W``, its copies and ``K̂``'s eigendecomposition; d = 1024, v = 4d:
    160 MB), times the chunk size under ``vmap``; the engine shrinks the chunk to the free memory.
    (:func:`build_sgd` accumulates ``K̂`` over row blocks and needs only ``O(d²)``.)
    """
    cfg, constants = _split_static(static)
    steps = checks.log_checkpoints(cfg["max_steps"], cfg["n_checkpoints"])

    sizes = {"v": cfg["v"], "d": cfg["d"], "batch": cfg["batch"], "checkpoints": steps}

    def run(key, params):
        p = _run_params(constants, params)
        gamma = model.resolve_learning_rate(p, cfg["v"])
        out = model.expected_run(key, p["alpha"], p["beta"], gamma, **sizes)
        return {**out, "gamma": gamma}

    return _experiment(run, cfg, constants, steps, checks.expected_run_bytes(cfg))


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
    cfg = checks.validate_static({k: v for k, v in static.items() if k in STATIC_KEYS})
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
    dataset with dims ``(seed, checkpoint)``: ``loss``, ``p_star``, ``kernel_norm`` (‖K‖ of the
    seed's W), ``gamma`` (learning rate), ``finite``, ``diverged``; coordinates ``step`` and
    ``compute = d·B·step``. With ``expected=True`` also ``expected_loss`` (float64): the exact
    expected loss of each seed's own W (:func:`build_expected` over the same grid, so the same W).
    Every float output of a diverged run (:func:`run_diverged`, in either sweep) is NaN. The
    point (theory stability included) is validated before anything is compiled.
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
    ds = res.groups[0].isel(point=0).drop_vars("complete")
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
        ds["diverged"] = ds["diverged"] | th["diverged"]
    return with_compute_coords(mask_diverged(ds))
