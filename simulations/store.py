"""Labelled sweep results on disk: one netCDF file per chunk, written atomically, resumable.

Engine layer 3: imports ``grid`` and ``results``, never ``sweep``.

Layout of a store directory::

    manifest.json              the grid, base seed, sweep name, config, versions and git SHA
    group-0000/chunk-*.nc      rows (point x seed) finished by one compiled call, per static group

A chunk file is written to a temporary name and renamed into place (``os.replace`` is atomic on
POSIX), so an interrupted sweep leaves only complete chunks behind; rerunning the same sweep into
the same directory skips every stored row. :func:`open_sweep` reassembles the labelled
:class:`xarray.Dataset` of every group (missing rows are NaN with ``complete == False``).
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from simulations.grid import Experiment, Grid
from simulations.results import SweepResult, group_dataset, output_dims

__all__ = ["SweepStore", "open_sweep", "provenance"]

_ENGINE = "h5netcdf"


def _git_sha() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=Path(__file__).resolve().parent,
        )
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def provenance() -> dict[str, str]:
    """Versions of the packages that produced a result, and the git SHA of this checkout."""
    import jax
    import jaxlib

    from simulations import __version__

    return {
        "solvable_scaling_version": __version__,
        "git_sha": _git_sha(),
        "python": platform.python_version(),
        "jax": jax.__version__,
        "jaxlib": jaxlib.__version__,
        "numpy": np.__version__,
        "xarray": xr.__version__,
        "backend": jax.default_backend(),
        "device_count": str(jax.device_count()),
    }


def _fingerprint(name: str, grid: Grid, base_seed: int) -> str:
    return json.dumps(
        {"name": name, "grid": grid.to_json(), "base_seed": base_seed}, sort_keys=True
    )


def _atomic_write_json(path: Path, payload: dict) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
    with os.fdopen(fd, "w") as fh:
        json.dump(payload, fh, indent=2, sort_keys=True, default=str)
    os.replace(tmp, path)


class SweepStore:
    """A directory holding one sweep's chunks (see the module docstring).

    Raises:
        ValueError: if ``path`` already holds a *different* sweep (other grid, name or seed).
    """

    def __init__(
        self,
        path: str | os.PathLike,
        name: str,
        grid: Grid,
        base_seed: int,
        config: Mapping[str, Any] | None = None,
    ):
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self.grid = grid
        self.fingerprint = _fingerprint(name, grid, base_seed)
        manifest = self.path / "manifest.json"
        if manifest.exists():
            existing = json.loads(manifest.read_text())
            if existing.get("fingerprint") != self.fingerprint:
                raise ValueError(
                    f"store {str(self.path)!r} holds a different sweep (grid, name or base_seed "
                    "differ); use another directory or delete it"
                )
            self.manifest = existing
        else:
            self.manifest = {
                "fingerprint": self.fingerprint,
                "name": name,
                "grid": grid.to_json(),
                "base_seed": base_seed,
                "config": dict(config or {}),
                "provenance": provenance(),
                "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "complete": False,
            }
            _atomic_write_json(manifest, self.manifest)
        self.attrs = {
            "sweep_name": name,
            "base_seed": base_seed,
            "grid": json.dumps(grid.to_json()),
            "config": json.dumps(self.manifest.get("config", {}), default=str),
            **{f"provenance.{k}": v for k, v in self.manifest["provenance"].items()},
        }

    def _group_dir(self, group: int) -> Path:
        return self.path / f"group-{group:04d}"

    def write_chunk(
        self,
        group: int,
        experiment: Experiment,
        rows: np.ndarray,
        outputs: Mapping[str, np.ndarray],
        finite: np.ndarray,
        elapsed: float,
    ) -> Path:
        """Write one chunk's rows atomically; returns the file written."""
        gdir = self._group_dir(group)
        gdir.mkdir(exist_ok=True)
        data_vars = {
            k: (("row", *output_dims(experiment.dims, k, v)), v) for k, v in outputs.items()
        }
        data_vars["finite"] = (("row",), finite)
        coords = {"row": np.asarray(rows, dtype=np.int64)}
        coords.update({k: np.asarray(v) for k, v in experiment.coords.items()})
        ds = xr.Dataset(data_vars, coords=coords, attrs={"elapsed_seconds": float(elapsed)})
        target = gdir / f"chunk-{int(rows[0]):08d}-{int(rows[-1]):08d}.nc"
        fd, tmp = tempfile.mkstemp(dir=gdir, prefix=".tmp-", suffix=".nc")
        os.close(fd)
        try:
            ds.to_netcdf(tmp, engine=_ENGINE)
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
        return target

    def _read_rows(self, group: int) -> xr.Dataset | None:
        gdir = self._group_dir(group)
        files = sorted(gdir.glob("chunk-*.nc")) if gdir.exists() else []
        if not files:
            return None
        parts = []
        for f in files:
            with xr.open_dataset(f, engine=_ENGINE) as ds:
                parts.append(ds.load())
        return xr.concat(parts, dim="row", data_vars="all", coords="minimal", compat="override")

    def load_group(self, group: int):
        """``(done, outputs, finite)`` arrays over all rows of a group, or ``None`` if empty."""
        rows_ds = self._read_rows(group)
        if rows_ds is None:
            return None
        n_rows = self.grid.n_points * self.grid.seeds
        rows = rows_ds["row"].values
        done = np.zeros(n_rows, dtype=bool)
        done[rows] = True
        finite = np.ones(n_rows, dtype=bool)
        finite[rows] = rows_ds["finite"].values.astype(bool)
        outputs = {}
        for k, var in rows_ds.data_vars.items():
            if k == "finite":
                continue
            v = var.values
            fill = np.nan if np.issubdtype(v.dtype, np.floating) else 0
            full = np.full((n_rows, *v.shape[1:]), fill, dtype=v.dtype)
            full[rows] = v
            outputs[k] = full
        return done, outputs, finite

    def finish(self) -> None:
        self.manifest["complete"] = True
        self.manifest["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        _atomic_write_json(self.path / "manifest.json", self.manifest)


def open_sweep(path: str | os.PathLike) -> SweepResult:
    """Open a stored sweep (finished or not) as a :class:`~simulations.sweep.SweepResult`.

    Rows not yet computed are NaN with ``complete == False``; diverged runs have ``finite ==
    False``. Attributes carry the grid, config, package versions and git SHA.
    """
    path = Path(path)
    manifest = json.loads((path / "manifest.json").read_text())
    gj = manifest["grid"]
    grid = Grid(
        static={k: tuple(v) for k, v in gj["static"].items()},
        points={k: np.asarray(v, dtype=np.float64) for k, v in gj["points"].items()},
        seeds=gj["seeds"],
    )
    store = SweepStore(path, manifest["name"], grid, manifest["base_seed"])
    groups = []
    for g, static in enumerate(grid.static_combinations()):
        rows_ds = store._read_rows(g)
        if rows_ds is None:
            continue
        loaded = store.load_group(g)
        done, outputs, finite = loaded
        dims = {k: tuple(v.dims[1:]) for k, v in rows_ds.data_vars.items() if k != "finite"}
        coords = {k: v.values for k, v in rows_ds.coords.items() if k != "row"}
        ds = group_dataset(grid, static, dims, coords, outputs, finite, done)
        ds.attrs.update(store.attrs)
        ds.attrs["complete"] = bool(manifest.get("complete", False))
        groups.append(ds)
    return SweepResult(grid=grid, groups=groups, name=manifest["name"])
