"""Sweep results as labelled :class:`xarray.Dataset` groups (engine layer 2: imports ``grid``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

from simulations.grid import Grid, canonical

__all__ = [
    "SweepResult",
    "count_diverged",
    "diverged_runs",
    "group_dataset",
    "mask_diverged",
    "output_dims",
]


@dataclasses.dataclass
class SweepResult:
    """Results of a sweep: one :class:`xarray.Dataset` per static group.

    Each dataset has dimensions ``(point, seed, ...)``; the swept parameters are coordinates along
    ``point``, the static parameters are scalar coordinates and attributes, and the boolean data
    variable ``finite`` flags runs whose outputs were all finite (diverged runs are kept on disk,
    but :func:`mask_diverged` and the fitting code leave them out). ``missing`` counts the rows
    of the grid not present (a partial store: their values are NaN, ``complete == False``, and
    a static group without any row is absent from ``groups``).
    """

    grid: Grid
    groups: list[xr.Dataset]
    name: str = "sweep"
    missing: int = 0

    @property
    def complete(self) -> bool:
        """Every row of the grid is present."""
        return self.missing == 0

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
                canonical(ds.attrs.get(f"static.{k}")) == canonical(v) for k, v in static.items()
            ):
                return ds
        raise KeyError(f"no group with static values {static}")


def diverged_runs(ds: xr.Dataset) -> xr.DataArray:
    """Boolean ``(point, seed)``: runs flagged diverged (non-finite or beyond the model's bound)."""
    if "diverged" in ds:
        return ds["diverged"].astype(bool)
    if "finite" in ds:
        return ~ds["finite"].astype(bool)
    return xr.zeros_like(ds[next(iter(ds.data_vars))], dtype=bool)


def mask_diverged(ds: xr.Dataset) -> xr.Dataset:
    """Set every floating output of diverged runs to NaN (so they are never averaged or fitted)."""
    if "diverged" not in ds and "finite" not in ds:
        return ds
    keep = ~diverged_runs(ds)
    out = ds.copy()
    for name, var in ds.data_vars.items():
        if name not in ("finite", "diverged") and np.issubdtype(var.dtype, np.floating):
            out[name] = var.where(keep)
    return out


def count_diverged(ds: xr.Dataset) -> np.ndarray:
    """Diverged runs per point: an integer array over ``point``."""
    flags = diverged_runs(ds)
    if "complete" in ds:
        flags = flags & ds["complete"].astype(bool)
    return flags.sum("seed").values.astype(int)


def output_dims(dims: Mapping[str, tuple[str, ...]], name: str, value: np.ndarray) -> tuple:
    """Names of the dimensions of output ``name`` beyond the run axis."""
    extra = tuple(dims.get(name, ()))
    if len(extra) != value.ndim - 1:
        extra = tuple(f"{name}_dim{i}" for i in range(value.ndim - 1))
    return extra


def group_dataset(
    grid: Grid,
    static: Mapping[str, Any],
    dims: Mapping[str, tuple[str, ...]],
    extra_coords: Mapping[str, Any],
    outputs: Mapping[str, np.ndarray],
    finite: np.ndarray,
    done: np.ndarray,
    diverged: np.ndarray | None = None,
) -> xr.Dataset:
    """One static group's outputs as a Dataset with dimensions ``(point, seed, ...)``."""
    n_points, n_seeds = grid.n_points, grid.seeds
    data_vars = {}
    for name, value in outputs.items():
        extra = output_dims(dims, name, value)
        data_vars[name] = (
            ("point", "seed", *extra),
            value.reshape(n_points, n_seeds, *value.shape[1:]),
        )
    data_vars["finite"] = (("point", "seed"), finite.reshape(n_points, n_seeds))
    if diverged is None:
        diverged = ~finite
    data_vars["diverged"] = (("point", "seed"), diverged.reshape(n_points, n_seeds))
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
