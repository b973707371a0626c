"""The sweep engine: grid -> static-shape groups -> sized chunks -> jit(vmap(run)) -> store.

Top layer of the engine (``grid`` → ``results`` → ``shards`` → ``store`` → ``status`` →
``distributed`` → ``sweep``).

Every model of the library plugs in through one small interface, :class:`Experiment`:

* ``build(static) -> Experiment`` is called once per *static group* (one combination of the
  shape-defining parameters, e.g. ``d`` or ``width``); it returns a pure function
  ``run(key, params) -> outputs`` where ``params`` maps each swept hyperparameter name to a
  scalar array (traced, never static) and ``outputs`` maps names to arrays of fixed shape.
* :func:`run_sweep` flattens ``points x seeds`` into one batch axis, cuts it into chunks of one
  size per group (:func:`chunk_rows`: as many runs as fit in the free device memory, at most the
  group's rows; the last chunk padded, so one compilation per group), runs each chunk as
  ``jit(vmap(run))`` with the batch axis sharded over all devices (``jax.make_mesh`` +
  ``NamedSharding``: 1 CPU, 8 GPUs or a TPU slice run the same code), flags runs with NaN/inf
  outputs, writes each chunk atomically to the store, and skips rows already stored on a rerun.
* ``shard=(I, N)`` (or a command's ``--shard I/N``, through :func:`simulations.shards.sharding`)
  computes only shard ``I``'s rows (:func:`simulations.shards.shard_rows`), so ``N`` processes
  without a coordinator, at once or one after another, fill one store; then it raises
  :class:`~simulations.shards.ShardDone` instead of returning partial results.
* Under JAX's distributed runtime (several processes, :mod:`simulations.distributed`) a stored
  sweep splits its rows over the processes the same way (process ``p`` of ``P`` = shard
  ``p/P``, on its own devices), waits at a barrier, and returns the whole store in every process.

Reproducibility: the key of a run is ``fold_in(fold_in(key(base_seed), config_hash), seed)``
where ``config_hash`` is a CRC32 of the run's static and swept parameter values. A run's random
numbers therefore depend only on its own configuration and seed index, never on which chunk or
device it lands on, on the chunk size, or on the other points of the grid.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import time
import zlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from simulations import distributed
from simulations.grid import Experiment, Grid, RunFn, canonical, config_key
from simulations.results import SweepResult, group_dataset, mask_diverged
from simulations.shards import Shard, ShardDone, current_shard, parse_shard, shard_rows
from simulations.status import store_status
from simulations.store import SweepStore, fingerprint

__all__ = [
    "Experiment",
    "Grid",
    "SweepResult",
    "available_memory",
    "check_memory",
    "chunk_rows",
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


_DIVERGED = "__diverged__"


def _counted(experiment: Experiment, name: str) -> RunFn:
    run, bound = experiment.run, experiment.diverged

    def wrapped(key, params):
        _TRACES[name] = _TRACES.get(name, 0) + 1
        out = dict(run(key, params))
        if bound is not None:
            out[_DIVERGED] = jnp.asarray(bound(out, params), dtype=bool)
        return out

    return wrapped


_COMPILED: dict[tuple, tuple[Experiment, Callable | None]] = {}


def _cache_key(build, static: Mapping[str, Any], name: str) -> tuple:
    return (build, tuple(sorted((k, canonical(v)) for k, v in static.items())), name)


def _experiment(build, static: Mapping[str, Any], name: str) -> Experiment:
    """``build(static)``, cached with its compiled function so reruns do not recompile."""
    key = _cache_key(build, static, name)
    if key not in _COMPILED:
        experiment = build(dict(static))
        if not isinstance(experiment, Experiment):
            raise TypeError(f"build(static) must return an Experiment, got {type(experiment)}")
        _COMPILED[key] = (experiment, None)
    return _COMPILED[key][0]


def _compiled_batch_fn(build, static: Mapping[str, Any], name: str) -> Callable:
    """``jit(vmap(run))`` for one (built and validated) static group, cached."""
    key = _cache_key(build, static, name)
    experiment, fn = _COMPILED[key]
    if fn is None:
        fn = jax.jit(jax.vmap(_counted(experiment, name)))
        _COMPILED[key] = (experiment, fn)
    return fn


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


def available_memory(device: jax.Device) -> float:
    """Bytes free on ``device`` (accelerator memory stats, else the host's available memory)."""
    stats = None
    with contextlib.suppress(Exception):
        stats = device.memory_stats()
    if stats and "bytes_limit" in stats:
        return float(stats["bytes_limit"] - stats.get("bytes_in_use", 0))
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return float(line.split()[1]) * 1024.0
    with contextlib.suppress(ValueError, OSError, AttributeError):
        return float(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    return math.inf


def _fmt_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if n < 1024 or unit == "PB":
            return f"{n:.3g} {unit}"
        n /= 1024
    return f"{n:.3g} PB"


def check_memory(
    bytes_per_run: float | None,
    chunk: int,
    devices: Sequence[jax.Device],
    label: str,
    *,
    headroom: float = 0.5,
) -> int:
    """The largest chunk ``<= chunk`` whose runs fit in ``headroom`` × the free device memory.

    Raises ``ValueError`` naming ``label`` (the static sizes) when one run per device cannot fit.
    """
    if bytes_per_run is None:
        return chunk
    n_dev = len(devices)
    free = min(available_memory(d) for d in devices) * headroom
    per_device = max(1, chunk // n_dev)
    if bytes_per_run > free:
        raise ValueError(
            f"{label}: one run needs about {_fmt_bytes(bytes_per_run)} but only "
            f"{_fmt_bytes(free)} of device memory is usable; choose smaller sizes"
        )
    fits = int(free // bytes_per_run)
    return n_dev * min(per_device, max(1, fits))


_UNKNOWN_FOOTPRINT_CHUNK = 64  # rows per device when an experiment gives no bytes_per_run
_MAX_ROWS_PER_DEVICE = 4096  # keeps a chunk's loss on a kill and the progress steps bounded


def chunk_rows(
    bytes_per_run: float | None,
    rows: int,
    devices: Sequence[jax.Device],
    label: str,
    *,
    chunk_size: int | None = None,
    headroom: float = 0.5,
) -> int:
    """Rows per compiled call for a group of which this process runs ``rows`` rows.

    Without ``chunk_size``: as many runs per device as fit in ``headroom`` × the smallest free
    device memory (:func:`available_memory`, ``bytes_per_run`` each; 64 when the footprint is
    unknown; at most 4096), times the device count. With it: ``chunk_size`` rounded up to a
    multiple of the device count, shrunk to fit. Either way at most ``rows`` rounded up to that
    multiple, so a small grid pays for no padding. Results never depend on the chunk size.

    Raises ``ValueError`` naming ``label`` (the static sizes) when one run per device cannot fit.
    """
    n_dev = len(devices)
    cap = n_dev * max(1, math.ceil(rows / n_dev))
    if chunk_size is None:
        per_device = _UNKNOWN_FOOTPRINT_CHUNK if bytes_per_run is None else _MAX_ROWS_PER_DEVICE
    else:
        per_device = math.ceil(chunk_size / n_dev)
    return check_memory(
        bytes_per_run, min(cap, n_dev * per_device), devices, label, headroom=headroom
    )


def run_sweep(
    build: Callable[[dict[str, Any]], Experiment],
    grid: Grid,
    *,
    name: str = "sweep",
    store: str | os.PathLike | None = None,
    chunk_size: int | None = None,
    base_seed: int = 0,
    devices: Sequence[jax.Device] | None = None,
    progress: bool = True,
    config: Mapping[str, Any] | None = None,
    overwrite: bool = False,
    shard: str | tuple[int, int] | None = None,
) -> SweepResult:
    """Run ``build``'s experiment over ``grid``, chunked, sharded and resumable.

    Before anything is compiled, ``build(static)`` is called for every static group, every point
    is checked by the experiment's ``validate`` (which it must have), and each group's chunk is
    sized to the free device memory (``bytes_per_run``, :func:`chunk_rows`).

    Args:
        build: ``build(static: dict) -> Experiment``; called once per static group.
        grid: the :class:`Grid` to sweep.
        name: label of the sweep (trace counters, store attributes, progress bar).
        store: directory to write one netCDF file per chunk into (atomically), or ``None`` to keep
            results in memory only. A rerun of the same experiment into the same store skips every
            row already stored; a store of a different experiment is refused
            (:class:`~simulations.store.StoreMismatchError`).
        chunk_size: rows (point x seed) per compiled call (default: sized to the free device
            memory, see :func:`chunk_rows`); rounded up to a multiple of the device count, shrunk
            if it would not fit in memory, at most the group's rows. Results do not depend on it.
        base_seed: root of every run's key (see the module docstring).
        devices: devices to shard the batch axis over (default: this process's devices,
            ``jax.local_devices()``, which in a single process are all of ``jax.devices()``).
        progress: show a tqdm progress bar (rows done, rate, ETA, diverged runs); in a
            multi-process run only process 0 shows one (its own rows).
        config: extra JSON-serialisable metadata stored with the results (e.g. the CLI options).
        overwrite: replace a store that holds a different experiment instead of refusing.
        shard: ``"I/N"`` or ``(I, N)``: compute only shard ``I`` of ``N``'s rows into ``store``
            (needed), while other processes may fill the other shards at the same time; default:
            the shard of an enclosing :func:`simulations.shards.sharding` context (ignored by a
            sweep without a store). A shard never returns partial results: once its rows are
            stored it raises :class:`~simulations.shards.ShardDone` (what remains, per shard);
            only a store already complete when the sweep starts is read and returned as usual.
            Cannot be combined with a multi-process run (which shards by process itself).

    In a multi-process run (:func:`simulations.distributed.initialize`) a sweep with a store
    computes only this process's rows (process ``p`` of ``P`` owns shard ``p/P``'s rows) on
    this process's devices, waits for every process at a barrier, then reads the whole store and
    returns it in every process (process 0 marks it complete). Without a store every process
    runs every row (identical results, no speed-up).

    Returns:
        A :class:`SweepResult` with one dataset per static group; runs whose outputs are
        non-finite or beyond the experiment's ``diverged`` bound are flagged ``diverged``.
    """
    if chunk_size is not None:
        if isinstance(chunk_size, bool) or not isinstance(chunk_size, (int, np.integer)):
            raise TypeError(f"chunk_size must be an integer >= 1, got {chunk_size!r}")
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be an integer >= 1, got {chunk_size!r}")
    if shard is not None:
        shard = parse_shard(shard, "shard")
        if not store:
            raise ValueError(f"shard={str(shard)!r} needs a store (the shards' common directory)")
    elif store:
        shard = current_shard()
    world = distributed.process_shard() if store else None
    if world is not None:
        if shard is not None:
            raise ValueError(
                f"shard={str(shard)!r} cannot be combined with a multi-process run of "
                f"{world.count} processes (each process already computes its own rows)"
            )
        store = distributed.shared_path(store)
        shard = world
    if not isinstance(grid, Grid):
        raise TypeError(f"grid must be a simulations.grid.Grid, got {type(grid).__name__}")
    devices = list(devices) if devices is not None else jax.local_devices()

    combos = grid.static_combinations()
    n_rows = grid.n_points * grid.seeds
    # Build and validate everything before compiling anything.
    experiments = [_experiment(build, static, name) for static in combos]
    chunks = []
    for static, experiment in zip(combos, experiments):
        if experiment.validate is None:
            raise TypeError(
                f"sweep {name!r}: the experiment of {_callable_label(build)} has no validate(); "
                "run_sweep runs only validated points"
            )
        for i in range(grid.n_points):
            experiment.validate(grid.point(i))
        label = ", ".join(f"{k}={v}" for k, v in static.items()) or name
        mine = len(shard_rows(shard, len(chunks), n_rows))
        size = chunk_rows(experiment.bytes_per_run, mine, devices, label, chunk_size=chunk_size)
        chunks.append(size)
    sharding = _mesh_sharding(devices)
    base_key = jax.random.key(base_seed)  # after validation: even this compiles a little
    sweep_store = None
    if store:
        print_ = fingerprint(name, build, experiments, grid, base_seed)
        tag = f"sweep {name} {zlib.crc32(json.dumps(print_, sort_keys=True, default=str).encode())}"
        if world is not None and world.index > 0:
            distributed.barrier(f"{tag} open")  # process 0 creates (or clears) the store first
        sweep_store = SweepStore(store, print_, grid, config, overwrite=overwrite, shard=shard)
        if world is not None and world.index == 0:
            distributed.barrier(f"{tag} open")
    try:
        stored = [sweep_store.load_group(g) if sweep_store else None for g in range(len(combos))]
    except BaseException:
        if sweep_store:
            sweep_store.release()
        raise
    if world is None and shard is not None and all(s is not None and s[0].all() for s in stored):
        shard = None  # complete before this shard started: read and returned as usual
    mine = [shard_rows(shard, g, n_rows) for g in range(len(combos))]

    bar = None
    if progress and (world is None or world.index == 0):
        from tqdm.auto import tqdm

        total = sum(len(m) for m in mine)
        bar = tqdm(total=total, desc=name, unit="run", dynamic_ncols=True)

    groups = []
    n_diverged = n_computed = 0
    try:
        for g, static in enumerate(combos):
            experiment = experiments[g]
            batch_fn = _compiled_batch_fn(build, static, name)
            chunk_g = chunks[g]
            ctx = jax.enable_x64(True) if experiment.x64 else contextlib.nullcontext()
            float_dtype = np.float64 if experiment.x64 else np.float32
            with ctx:
                # Keys per row, independent of chunking (see module docstring).
                point_keys = jnp.stack(
                    [config_key(base_key, static, grid.point(i)) for i in range(grid.n_points)]
                )
                seed_ids = jnp.arange(grid.seeds)
                row_keys = jax.vmap(
                    lambda pk: jax.vmap(lambda s: jax.random.fold_in(pk, s))(seed_ids)
                )(point_keys).reshape(-1)
                row_params = {
                    k: np.repeat(np.asarray(v, dtype=float_dtype), grid.seeds)
                    for k, v in grid.points.items()
                }
                if stored[g] is None:
                    done = np.zeros(n_rows, dtype=bool)
                    outputs: dict[str, np.ndarray] | None = None
                    finite = np.ones(n_rows, dtype=bool)
                    diverged = np.zeros(n_rows, dtype=bool)
                else:
                    done, outputs, finite, diverged = (
                        x.copy() if isinstance(x, np.ndarray) else x for x in stored[g]
                    )
                    stored[g] = None
                n_diverged += int((diverged & done)[mine[g]].sum())
                if bar is not None:
                    bar.update(int(done[mine[g]].sum()))
                todo = mine[g][~done[mine[g]]]
                for start in range(0, len(todo), chunk_g):
                    rows = todo[start : start + chunk_g]
                    padded = np.concatenate([rows, np.full(chunk_g - len(rows), rows[-1])])
                    keys = jax.device_put(row_keys[padded], sharding)
                    params = {k: jax.device_put(v[padded], sharding) for k, v in row_params.items()}
                    t0 = time.perf_counter()
                    out = batch_fn(keys, params)
                    out = {k: np.asarray(v)[: len(rows)] for k, v in out.items()}
                    elapsed = time.perf_counter() - t0
                    bound = out.pop(_DIVERGED, np.zeros(len(rows), dtype=bool)).astype(bool)
                    ok = _row_finite(out, len(rows))
                    blown = ~ok | bound
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
                    diverged[rows] = blown
                    done[rows] = True
                    n_diverged += int(blown.sum())
                    n_computed += len(rows)
                    if sweep_store:
                        sweep_store.write_chunk(g, experiment, rows, out, ok, blown, elapsed)
                    if bar is not None:
                        bar.update(len(rows))
                        if n_diverged:
                            bar.set_postfix(diverged=n_diverged)
            if shard is not None:
                continue  # a shard returns nothing (its groups may even be empty)
            groups.append(
                group_dataset(
                    grid,
                    static,
                    experiment.dims,
                    experiment.coords,
                    outputs,
                    finite,
                    done,
                    diverged,
                )
            )
            if sweep_store:
                groups[-1].attrs.update(sweep_store.attrs)
        if world is not None:
            distributed.barrier(f"{tag} done")  # every process has written its rows
            groups = _read_groups(sweep_store, grid, combos, experiments)
            if world.index == 0:
                sweep_store.finish()
        elif sweep_store and shard is None:
            sweep_store.finish()
    finally:
        if bar is not None:
            bar.close()
        if sweep_store:
            sweep_store.release()
    if shard is not None and world is None:
        # Never partial results: what remains is recounted on disk (other shards write too).
        status = store_status(store, shards=shard.count, verify=False)
        missing = {Shard(i, shard.count): c.missing for i, c in enumerate(status.counts)}
        raise ShardDone(shard, str(store), name, n_computed, status.total.rows, missing)
    return SweepResult(grid=grid, groups=groups, name=name)


def _read_groups(sweep_store: SweepStore, grid: Grid, combos, experiments) -> list:
    """Every group of a store as datasets (a multi-process sweep after its barrier)."""
    groups = []
    n_rows = grid.n_points * grid.seeds
    for g, (static, experiment) in enumerate(zip(combos, experiments)):
        loaded = sweep_store.load_group(g)
        if loaded is None:  # no row at all (a lost store): all missing
            loaded = (np.zeros(n_rows, dtype=bool), {}, np.ones(n_rows, bool), None)
        done, outputs, finite, diverged = loaded
        ds = group_dataset(
            grid, static, experiment.dims, experiment.coords, outputs, finite, done, diverged
        )
        ds.attrs.update(sweep_store.attrs)
        groups.append(ds)
    return groups


def _callable_label(fn) -> str:
    return getattr(fn, "__qualname__", type(fn).__name__)
