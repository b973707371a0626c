"""Sweep grids, run descriptions and per-run keys: the bottom layer of the sweep engine.

The engine's modules import one way: ``grid`` → ``results`` → ``shards`` → ``store`` →
``status`` → ``distributed`` → ``sweep``.

Every model plugs in through one small interface, :class:`Experiment`: ``build(static) ->
Experiment`` is called once per *static group* (one combination of the shape-defining parameters,
e.g. ``d`` or ``width``) and returns a pure function ``run(key, params) -> outputs``.

Reproducibility: the key of a run is ``fold_in(fold_in(key(base_seed), config_hash), seed)`` where
``config_hash`` is a CRC32 of the run's static and swept parameter values (:func:`config_key`), so
a run's random numbers depend only on its own configuration and seed index.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import zlib
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["Experiment", "Grid", "RunFn", "canonical", "config_key", "loss_blowup"]

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
        validate: ``validate(point)`` raises a one-line ``ValueError``/``TypeError`` (naming the
            parameter, its value and the valid range) for a swept point this static group cannot
            run, theory stability checks included. :func:`~simulations.sweep.run_sweep` calls it
            for every point before anything is compiled, and refuses an experiment without it.
        diverged: ``diverged(outputs, params) -> bool`` scalar, traced per run inside the
            compiled chunk: the model's divergence bound (e.g. :func:`loss_blowup`). Non-finite
            outputs are always flagged; this adds finite blow-ups (losses of 1e21 are not data).
        bytes_per_run: estimate of the device memory one run needs (its largest live arrays);
            the engine shrinks a chunk that would not fit and refuses a run that cannot fit.
    """

    run: RunFn
    dims: Mapping[str, tuple[str, ...]] = {}
    coords: Mapping[str, Any] = {}
    x64: bool = False
    validate: Callable[[Mapping[str, float]], None] | None = None
    diverged: Callable[[Mapping[str, jax.Array], Mapping[str, jax.Array]], jax.Array] | None = None
    bytes_per_run: float | None = None


def loss_blowup(
    name: str,
    factor: float = 1e3,
    *,
    ceiling: float | None = None,
    initial: str | None = None,
) -> Callable[[Mapping[str, jax.Array], Mapping[str, jax.Array]], jax.Array]:
    """A divergence bound for :attr:`Experiment.diverged`: output ``name`` blew up.

    A run is diverged when any recorded value of ``name`` (a curve over its last axis, or a
    scalar) is ``>= factor ×`` the reference value, or ``>= ceiling`` when one is given. The
    reference is the scalar output ``initial`` when given, else the first recorded value of the
    curve (for a scalar output without ``initial`` only ``ceiling`` applies).
    """
    if not (isinstance(factor, (int, float)) and factor > 1):
        raise ValueError(f"factor must be a number > 1, got {factor!r}")

    def diverged(outputs: Mapping[str, jax.Array], params: Mapping[str, jax.Array]) -> jax.Array:
        values = jnp.asarray(outputs[name])
        flag = jnp.zeros((), dtype=bool)
        if initial is not None:
            reference = jnp.abs(jnp.asarray(outputs[initial]))
        elif values.ndim >= 1:
            reference = jnp.abs(values[..., :1])
        else:
            reference = None
        if reference is not None:
            flag = flag | jnp.any(jnp.abs(values) >= factor * reference)
        if ceiling is not None:
            flag = flag | jnp.any(jnp.abs(values) >= ceiling)
        return flag

    return diverged


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


def canonical(value: Any) -> Any:
    """A JSON-stable form of a parameter value (floats by ``repr``, ints as ints)."""
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
    config = {k: canonical(v) for k, v in sorted({**static, **point}.items())}
    digest = zlib.crc32(json.dumps(config, sort_keys=True).encode()) & 0x7FFFFFFF
    return jax.random.fold_in(base_key, digest)
