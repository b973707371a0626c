"""The sweep engine: grid -> static-shape groups -> fixed-size chunks -> jit(vmap(run)) -> store.

Top layer of the engine (``grid`` → ``results`` → ``store`` → ``sweep``).

Every model of the library plugs in through one small interface, :class:`Experiment`:

* ``build(static) -> Experiment`` is called once per *static group* (one combination of the
  shape-defining parameters, e.g. ``d`` or ``width``); it returns a pure function
  ``run(key, params) -> outputs`` where ``params`` maps each swept hyperparameter name to a
  scalar array (traced, never static) and ``outputs`` maps names to arrays of fixed shape.
* :func:`run_sweep` flattens ``points x seeds`` into one batch axis, cuts it into chunks of a fixed
  size (the last one padded, so one compilation per group), runs each chunk as
  ``jit(vmap(run))`` with the batch axis sharded over all devices (``jax.make_mesh`` +
  ``NamedSharding``: 1 CPU, 8 GPUs or a TPU slice run the same code), flags runs with NaN/inf
  outputs, writes each chunk atomically to the store, and skips rows already stored on a rerun.

Reproducibility: the key of a run is ``fold_in(fold_in(key(base_seed), config_hash), seed)``
where ``config_hash`` is a CRC32 of the run's static and swept parameter values. A run's random
numbers therefore depend only on its own configuration and seed index, never on which chunk or
device it lands on, on the chunk size, or on the other points of the grid.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from simulations.grid import Experiment, Grid, RunFn, canonical, config_key
from simulations.results import SweepResult, group_dataset, mask_diverged
from simulations.store import SweepStore

__all__ = [
    "Experiment",
    "Grid",
    "SweepResult",
    "config_key",
    "mask_diverged",
    "run_sweep",
    "trace_count",
]

# --- tracing counters (tests use them to guard against recompiles) -----------------------------
_TRACES: dict[str, int] = {}


def trace_count(name: str) -> int:
    """How many times the run function of sweep ``name`` has been traced in this process."""
    return _TRACES.get(name, 0)


def _counted(run: RunFn, name: str) -> RunFn:
    def wrapped(key, params):
        _TRACES[name] = _TRACES.get(name, 0) + 1
        return run(key, params)

    return wrapped


_COMPILED: dict[tuple, Callable] = {}


def _compiled_batch_fn(build, static: Mapping[str, Any], name: str, mesh_devices: int):
    """``jit(vmap(run))`` for one static group, cached so reruns of a sweep do not recompile."""
    cache_key = (build, tuple(sorted((k, canonical(v)) for k, v in static.items())), name)
    if cache_key not in _COMPILED:
        experiment = build(dict(static))
        if not isinstance(experiment, Experiment):
            raise TypeError(f"build(static) must return an Experiment, got {type(experiment)}")
        fn = jax.jit(jax.vmap(_counted(experiment.run, name)))
        _COMPILED[cache_key] = (experiment, fn)
    return _COMPILED[cache_key]


def _mesh_sharding(devices: Sequence[jax.Device]) -> NamedSharding:
    # Auto axis: XLA propagates the batch sharding through the model code, so model authors never
    # annotate shardings (explicit-mode meshes would demand out_sharding on every scatter).
    mesh = jax.make_mesh(
        (len(devices),),
        ("batch",),
        devices=list(devices),
        axis_types=(jax.sharding.AxisType.Auto,),
    )
    return NamedSharding(mesh, P("batch"))


def _row_finite(outputs: Mapping[str, np.ndarray], n_rows: int) -> np.ndarray:
    ok = np.ones(n_rows, dtype=bool)
    for value in outputs.values():
        if np.issubdtype(value.dtype, np.floating) or np.issubdtype(
            value.dtype, np.complexfloating
        ):
            ok &= np.isfinite(value.reshape(n_rows, -1)).all(axis=1)
    return ok


def run_sweep(
    build: Callable[[dict[str, Any]], Experiment],
    grid: Grid,
    *,
    name: str = "sweep",
    store: str | None = None,
    chunk_size: int = 64,
    base_seed: int = 0,
    devices: Sequence[jax.Device] | None = None,
    progress: bool = True,
    config: Mapping[str, Any] | None = None,
) -> SweepResult:
    """Run ``build``'s experiment over ``grid``, chunked, sharded and resumable.

    Args:
        build: ``build(static: dict) -> Experiment``; called once per static group.
        grid: the :class:`Grid` to sweep.
        name: label of the sweep (trace counters, store attributes, progress bar).
        store: directory to write one netCDF file per chunk into (atomically), or ``None`` to keep
            results in memory only. A rerun with the same store skips every row already stored,
            so an interrupted sweep resumes without losing finished work.
        chunk_size: rows (point x seed) per compiled call; rounded up to a multiple of the device
            count. Results do not depend on it.
        base_seed: root of every run's key (see the module docstring).
        devices: devices to shard the batch axis over (default: all of ``jax.devices()``).
        progress: show a tqdm progress bar (rows done, rate, ETA).
        config: extra JSON-serialisable metadata stored with the results (e.g. the CLI options).

    Returns:
        A :class:`SweepResult` with one dataset per static group.
    """
    if not isinstance(chunk_size, (int, np.integer)) or chunk_size < 1:
        raise ValueError(f"chunk_size must be an integer >= 1, got {chunk_size!r}")
    devices = list(devices) if devices is not None else jax.devices()
    n_dev = len(devices)
    chunk = int(math.ceil(chunk_size / n_dev) * n_dev)
    sharding = _mesh_sharding(devices)
    base_key = jax.random.key(base_seed)

    combos = grid.static_combinations()
    n_rows = grid.n_points * grid.seeds
    sweep_store = SweepStore(store, name, grid, base_seed, config) if store else None

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=n_rows * len(combos), desc=name, unit="run", dynamic_ncols=True)

    groups = []
    for g, static in enumerate(combos):
        experiment, batch_fn = _compiled_batch_fn(build, static, name, n_dev)
        ctx = jax.enable_x64(True) if experiment.x64 else contextlib.nullcontext()
        float_dtype = np.float64 if experiment.x64 else np.float32
        with ctx:
            # Keys per row, independent of chunking (see module docstring).
            point_keys = jnp.stack(
                [config_key(base_key, static, grid.point(i)) for i in range(grid.n_points)]
            )
            seed_ids = jnp.arange(grid.seeds)
            row_keys = jax.vmap(lambda pk: jax.vmap(lambda s: jax.random.fold_in(pk, s))(seed_ids))(
                point_keys
            ).reshape(-1)
            row_params = {
                k: np.repeat(np.asarray(v, dtype=float_dtype), grid.seeds)
                for k, v in grid.points.items()
            }
            stored = sweep_store.load_group(g) if sweep_store else None
            done = np.zeros(n_rows, dtype=bool) if stored is None else stored[0].copy()
            outputs: dict[str, np.ndarray] | None = None if stored is None else stored[1]
            finite = np.ones(n_rows, dtype=bool) if stored is None else stored[2].copy()
            if bar is not None:
                bar.update(int(done.sum()))
            todo = np.flatnonzero(~done)
            for start in range(0, len(todo), chunk):
                rows = todo[start : start + chunk]
                padded = np.concatenate([rows, np.full(chunk - len(rows), rows[-1])])
                keys = jax.device_put(row_keys[padded], sharding)
                params = {k: jax.device_put(v[padded], sharding) for k, v in row_params.items()}
                t0 = time.perf_counter()
                out = batch_fn(keys, params)
                out = {k: np.asarray(v)[: len(rows)] for k, v in out.items()}
                elapsed = time.perf_counter() - t0
                ok = _row_finite(out, len(rows))
                if outputs is None:
                    outputs = {
                        k: np.full((n_rows, *v.shape[1:]), np.nan, dtype=v.dtype)
                        if np.issubdtype(v.dtype, np.floating)
                        else np.zeros((n_rows, *v.shape[1:]), dtype=v.dtype)
                        for k, v in out.items()
                    }
                for k, v in out.items():
                    outputs[k][rows] = v
                finite[rows] = ok
                done[rows] = True
                if sweep_store:
                    sweep_store.write_chunk(g, experiment, rows, out, ok, elapsed)
                if bar is not None:
                    bar.update(len(rows))
                    if not ok.all():
                        bar.set_postfix(diverged=int((~finite[done]).sum()))
        groups.append(
            group_dataset(grid, static, experiment.dims, experiment.coords, outputs, finite, done)
        )
        if sweep_store:
            groups[-1].attrs.update(sweep_store.attrs)
    if bar is not None:
        bar.close()
    if sweep_store:
        sweep_store.finish()
    return SweepResult(grid=grid, groups=groups, name=name)
