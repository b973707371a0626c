"""The sweep engine: grid -> static-shape groups -> fixed-size chunks -> jit(vmap(run)) -> store.

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
import dataclasses
import itertools
import json
import math
import time
import zlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

__all__ = [
    "Experiment",
    "Grid",
    "SweepResult",
    "config_key",
    "mask_diverged",
    "run_sweep",
    "trace_count",
]

RunFn = Callable[[jax.Array, Mapping[str, jax.Array]], Mapping[str, jax.Array]]


class Experiment(NamedTuple):
    """What ``build(static)`` returns for one static-shape group.

    Attributes:
        run: ``run(key, params) -> {name: array}``. ``key`` is a typed PRNG key (shape ``()``),
            ``params`` maps every swept parameter name to a scalar array (float32, or float64 when
            ``x64``). Output shapes must depend on the static parameters only.
        dims: output name -> names of its dimensions beyond ``(point, seed)``; outputs not listed
            are scalars per run.
        coords: coordinate values for those dimensions (optional per dimension). Coordinates that
            vary per run (e.g. the step count of checkpoint ``k``) should be outputs instead.
        x64: trace and execute under ``jax.enable_x64(True)`` (theory-grade float64 runs).
    """

    run: RunFn
    dims: Mapping[str, tuple[str, ...]] = {}
    coords: Mapping[str, Any] = {}
    x64: bool = False


def _as_tuple(values: Any) -> tuple:
    if isinstance(values, (str, bytes)) or np.ndim(values) == 0:
        return (values,)
    return tuple(np.asarray(values).tolist()) if isinstance(values, np.ndarray) else tuple(values)


@dataclasses.dataclass(frozen=True)
class Grid:
    """A sweep grid: static-shape combinations x points of swept values x seeds.

    Build with :meth:`product` (outer product of swept values) or :meth:`zipped` (aligned
    arrays, one entry per point). Static parameters always form an outer product.

    Attributes:
        static: name -> tuple of values (shape-defining: one compilation per combination).
        points: name -> float64 array of shape ``(n_points,)`` (traced hyperparameters).
        seeds: number of seeds per (static combination, point); seed indices are ``0..seeds-1``.
    """

    static: Mapping[str, tuple]
    points: Mapping[str, np.ndarray]
    seeds: int = 1

    def __post_init__(self):
        if not isinstance(self.seeds, (int, np.integer)) or self.seeds < 1:
            raise ValueError(f"seeds must be an integer >= 1, got {self.seeds!r}")
        lengths = {len(v) for v in self.points.values()}
        if len(lengths) > 1:
            raise ValueError(f"swept point arrays must have equal lengths, got {sorted(lengths)}")
        if self.points and lengths.pop() == 0:
            raise ValueError("swept point arrays must be non-empty")
        for name, values in self.static.items():
            if len(values) == 0:
                raise ValueError(f"static parameter {name!r} has no values")
        overlap = set(self.static) & set(self.points)
        if overlap:
            raise ValueError(f"parameters {sorted(overlap)} are both static and swept")

    @classmethod
    def product(
        cls,
        static: Mapping[str, Any] | None = None,
        swept: Mapping[str, Any] | None = None,
        seeds: int = 1,
    ) -> Grid:
        """Outer product of every swept parameter's values (last name varies fastest)."""
        static = {k: _as_tuple(v) for k, v in (static or {}).items()}
        swept = {k: _as_tuple(v) for k, v in (swept or {}).items()}
        names = list(swept)
        combos = list(itertools.product(*(swept[n] for n in names)))
        points = {
            n: np.array([c[i] for c in combos], dtype=np.float64) for i, n in enumerate(names)
        }
        return cls(static=static, points=points, seeds=seeds)

    @classmethod
    def zipped(
        cls,
        static: Mapping[str, Any] | None = None,
        points: Mapping[str, Any] | None = None,
        seeds: int = 1,
    ) -> Grid:
        """Points given as aligned 1-D arrays (e.g. a list of (alpha, beta) pairs)."""
        static = {k: _as_tuple(v) for k, v in (static or {}).items()}
        pts = {k: np.atleast_1d(np.asarray(v, dtype=np.float64)) for k, v in (points or {}).items()}
        return cls(static=static, points=pts, seeds=seeds)

    @property
    def n_points(self) -> int:
        return len(next(iter(self.points.values()))) if self.points else 1

    def static_combinations(self) -> list[dict[str, Any]]:
        names = list(self.static)
        return [dict(zip(names, c)) for c in itertools.product(*(self.static[n] for n in names))]

    def point(self, i: int) -> dict[str, float]:
        return {k: float(v[i]) for k, v in self.points.items()}

    def to_json(self) -> dict:
        return {
            "static": {k: list(v) for k, v in self.static.items()},
            "points": {k: [float(x) for x in v] for k, v in self.points.items()},
            "seeds": int(self.seeds),
        }


def _canonical(value: Any) -> Any:
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    return value


def config_key(
    base_key: jax.Array, static: Mapping[str, Any], point: Mapping[str, float]
) -> jax.Array:
    """The per-configuration key: ``fold_in(base_key, crc32(canonical JSON of the config))``.

    Integer-valued floats and ints hash alike only when typed alike, so keep a parameter's type
    stable across sweeps that should share random numbers.
    """
    config = {k: _canonical(v) for k, v in sorted({**static, **point}.items())}
    digest = zlib.crc32(json.dumps(config, sort_keys=True).encode()) & 0x7FFFFFFF
    return jax.random.fold_in(base_key, digest)


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
    cache_key = (build, tuple(sorted((k, _canonical(v)) for k, v in static.items())), name)
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


@dataclasses.dataclass
class SweepResult:
    """Results of a sweep: one :class:`xarray.Dataset` per static group.

    Each dataset has dimensions ``(point, seed, ...)``; the swept parameters are coordinates along
    ``point``, the static parameters are scalar coordinates and attributes, and the boolean data
    variable ``finite`` flags runs whose outputs were all finite (diverged runs are kept on disk,
    but :func:`mask_diverged` and the fitting code leave them out).
    """

    grid: Grid
    groups: list[xr.Dataset]
    name: str = "sweep"

    def combined(self, dim: str | None = None) -> xr.Dataset:
        """Concatenate the groups along the (single) static parameter, or ``dim`` if given.

        Requires every group to have the same output shapes.
        """
        if len(self.groups) == 1:
            return self.groups[0]
        names = list(self.grid.static)
        if dim is None:
            if len(names) != 1:
                raise ValueError(
                    f"several static parameters {names}: pass dim= or use .groups directly"
                )
            dim = names[0]
        return xr.concat(self.groups, dim=dim)

    def group(self, **static) -> xr.Dataset:
        """The dataset of the static group with the given static values."""
        for ds in self.groups:
            if all(
                _canonical(ds.attrs.get(f"static.{k}")) == _canonical(v) for k, v in static.items()
            ):
                return ds
        raise KeyError(f"no group with static values {static}")


def mask_diverged(ds: xr.Dataset) -> xr.Dataset:
    """Set every floating output of runs flagged non-finite to NaN (so they are never averaged)."""
    if "finite" not in ds:
        return ds
    out = ds.copy()
    for name, var in ds.data_vars.items():
        if name != "finite" and np.issubdtype(var.dtype, np.floating):
            out[name] = var.where(ds["finite"])
    return out


def _output_dims(dims: Mapping[str, tuple[str, ...]], name: str, value: np.ndarray) -> tuple:
    extra = tuple(dims.get(name, ()))
    if len(extra) != value.ndim - 1:
        extra = tuple(f"{name}_dim{i}" for i in range(value.ndim - 1))
    return extra


def _group_dataset(
    grid: Grid,
    static: Mapping[str, Any],
    dims: Mapping[str, tuple[str, ...]],
    extra_coords: Mapping[str, Any],
    outputs: Mapping[str, np.ndarray],
    finite: np.ndarray,
    done: np.ndarray,
) -> xr.Dataset:
    n_points, n_seeds = grid.n_points, grid.seeds
    data_vars = {}
    for name, value in outputs.items():
        extra = _output_dims(dims, name, value)
        data_vars[name] = (
            ("point", "seed", *extra),
            value.reshape(n_points, n_seeds, *value.shape[1:]),
        )
    data_vars["finite"] = (("point", "seed"), finite.reshape(n_points, n_seeds))
    data_vars["complete"] = (("point", "seed"), done.reshape(n_points, n_seeds))
    coords: dict[str, Any] = {"point": np.arange(n_points), "seed": np.arange(n_seeds)}
    for k, v in grid.points.items():
        coords[k] = ("point", np.asarray(v))
    for k, v in static.items():
        coords[k] = v
    for k, v in extra_coords.items():
        coords[k] = np.asarray(v)
    ds = xr.Dataset(data_vars, coords=coords)
    for k, v in static.items():
        ds.attrs[f"static.{k}"] = v
    return ds


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
    from simulations import store as _store  # local: store imports this module's types

    if not isinstance(chunk_size, (int, np.integer)) or chunk_size < 1:
        raise ValueError(f"chunk_size must be an integer >= 1, got {chunk_size!r}")
    devices = list(devices) if devices is not None else jax.devices()
    n_dev = len(devices)
    chunk = int(math.ceil(chunk_size / n_dev) * n_dev)
    sharding = _mesh_sharding(devices)
    base_key = jax.random.key(base_seed)

    combos = grid.static_combinations()
    n_rows = grid.n_points * grid.seeds
    sweep_store = _store.SweepStore(store, name, grid, base_seed, config) if store else None

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
            _group_dataset(grid, static, experiment.dims, experiment.coords, outputs, finite, done)
        )
        if sweep_store:
            groups[-1].attrs.update(sweep_store.attrs)
    if bar is not None:
        bar.close()
    if sweep_store:
        sweep_store.finish()
    return SweepResult(grid=grid, groups=groups, name=name)
