"""Labelled sweep results on disk: one netCDF file per chunk, written atomically, resumable.

Engine layer 3: imports ``grid`` and ``results``, never ``sweep``.

Layout of a store directory::

    manifest.json              fingerprint of the experiment, grid, seed, config, provenance
    checksums[-I-of-N].jsonl   the SHA-256 and rows of every chunk written, one appended line
                               per chunk, one log per writer (unsharded, or shard I/N)
    lock[-I-of-N]              while a sweep (or shard I/N) writes: owner pid, host, start
    group-0000/chunk-*.nc      rows (point x seed) finished by one compiled call, per static group
    quarantine/                chunks that failed their checksum or could not be read

Guarantees:

* **Never stale.** A store records a fingerprint of what produced it (:func:`fingerprint`: the
  builder and its captured settings, every group's output dims and coordinates, the grid, the
  base seed, the package version and, in a git checkout, a hash of the builder's source). A rerun
  resumes only on an exact match; any difference is refused with a :class:`StoreMismatchError`
  naming the fields that differ (use another directory, or ``overwrite=True``).
* **Atomic chunks, verified.** A chunk is written to a temporary name, renamed into place and its
  checksum appended to ``checksums.jsonl``. On resume a chunk that is truncated, unreadable or
  fails its checksum is moved to ``quarantine/`` with a one-line warning and its rows are
  recomputed; a chunk whose write finished but whose checksum was not yet recorded (killed in
  between) is checked by reading it and kept.
* **One writer per part.** A lock file (pid, host) stops a second writer of the same rows
  (:class:`StoreLockedError`): ``lock`` for a writer of every row, ``lock-I-of-N`` for shard
  ``I/N`` (see :mod:`simulations.shards`), so the ``N`` shards of one partition fill one store at
  once while an unsharded writer, or another partition, is refused. A stale lock left by a dead
  process on this host is taken over with a warning. Chunk names carry their checksum and every
  writer appends to its own log, so concurrent writers never touch the same file.
* Files are created with the permissions the umask allows (shareable on a cluster file system).
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import platform
import shutil
import subprocess
import tempfile
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from simulations.grid import Experiment, Grid
from simulations.results import SweepResult, group_dataset, output_dims
from simulations.shards import (
    FILE_MODE,
    Shard,
    StoreError,
    StoreLockedError,
    StoreMismatchError,
    WriterLock,
    append_log,
    decode_rows,
    encode_rows,
    read_logs,
    write_json,
)

__all__ = [
    "StoreError",
    "StoreLockedError",
    "StoreMismatchError",
    "SweepStore",
    "fingerprint",
    "open_sweep",
    "provenance",
]

_ENGINE = "h5netcdf"
_FORMAT = 2  # manifest format: 2 = experiment fingerprints and chunk checksums
_FILE_MODE = FILE_MODE


def _library_checkout() -> Path | None:
    """The repository root if this library runs from its own git checkout, else ``None``."""
    root = Path(__file__).resolve().parents[1]
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=root,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    top = out.stdout.strip()
    return root if out.returncode == 0 and top and Path(top).resolve() == root else None


def _git_sha(root: Path) -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, cwd=root
        )
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def provenance() -> dict[str, str]:
    """Versions of the packages that produced a result; the library's git SHA if a checkout.

    The SHA is recorded only when the library itself runs from a git checkout (never the SHA of
    whatever repository the working directory is in).
    """
    import jax
    import jaxlib

    from simulations import __version__

    root = _library_checkout()
    return {
        "solvable_scaling_version": __version__,
        "git_sha": _git_sha(root) if root is not None else "not a git checkout",
        "python": platform.python_version(),
        "jax": jax.__version__,
        "jaxlib": jaxlib.__version__,
        "numpy": np.__version__,
        "xarray": xr.__version__,
        "backend": jax.default_backend(),
        "device_count": str(jax.device_count()),
    }


# --- fingerprints --------------------------------------------------------------------------------
def _describe(value: Any, depth: int = 0) -> Any:
    """A JSON-stable description of a value captured by a builder (numbers, strings, shapes)."""
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value if not isinstance(value, float) else repr(value)
    if isinstance(value, np.generic):
        return repr(value.item())
    if isinstance(value, (tuple, list)) and depth < 3:
        return [_describe(v, depth + 1) for v in value]
    if isinstance(value, Mapping) and depth < 3:
        return {str(k): _describe(v, depth + 1) for k, v in sorted(value.items(), key=str)}
    if isinstance(value, np.ndarray):
        digest = hashlib.sha256(np.ascontiguousarray(value).tobytes()).hexdigest()[:16]
        return f"array{value.shape}:{value.dtype}:{digest}"
    if callable(value):
        return _callable_name(value)
    if hasattr(value, "__dataclass_fields__"):
        return _describe({k: getattr(value, k) for k in value.__dataclass_fields__}, depth + 1)
    return type(value).__qualname__


def _callable_name(fn: Callable) -> str:
    inner = getattr(fn, "func", None)  # functools.partial
    if inner is not None:
        return _callable_name(inner)
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', type(fn).__name__)}"


def _builder_identity(build: Callable) -> dict[str, Any]:
    """The builder's name, its partial arguments and closure values, and (in a checkout) source."""
    identity: dict[str, Any] = {"builder": _callable_name(build)}
    if hasattr(build, "func"):
        identity["args"] = _describe(list(getattr(build, "args", ())))
        identity["keywords"] = _describe(dict(getattr(build, "keywords", {}) or {}))
        build = build.func
    closure = getattr(build, "__closure__", None)
    if closure:
        names = build.__code__.co_freevars
        identity["closure"] = {
            n: _describe(c.cell_contents) for n, c in zip(names, closure) if _cell_is_set(c)
        }
    if _library_checkout() is not None:  # a checkout may be edited between runs: hash the source
        try:
            source = inspect.getsource(inspect.getmodule(build))
            identity["source_sha256"] = hashlib.sha256(source.encode()).hexdigest()[:16]
        except (OSError, TypeError):
            pass
    return identity


def _cell_is_set(cell) -> bool:
    try:
        cell.cell_contents  # noqa: B018
    except ValueError:
        return False
    return True


def fingerprint(
    name: str,
    build: Callable,
    experiments: Sequence[Experiment],
    grid: Grid,
    base_seed: int,
) -> dict[str, Any]:
    """What produced a sweep: builder, per-group outputs (dims, coords), grid, seed, version."""
    from simulations import __version__

    groups = []
    for experiment in experiments:
        groups.append(
            {
                "dims": _describe({k: list(v) for k, v in experiment.dims.items()}),
                "coords": _describe({k: np.asarray(v) for k, v in experiment.coords.items()}),
                "x64": bool(experiment.x64),
            }
        )
    return {
        "name": name,
        "experiment": _builder_identity(build),
        "groups": groups,
        "grid": grid.to_json(),
        "base_seed": int(base_seed),
        "version": __version__,
    }


def _differences(old: Any, new: Any, prefix: str = "") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in sorted(set(old) | set(new)):
            path = f"{prefix}.{key}" if prefix else str(key)
            if key not in old or key not in new:
                out.append(path)
            else:
                out.extend(_differences(old[key], new[key], path))
        return out
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        out = []
        for i, (a, b) in enumerate(zip(old, new)):
            out.extend(_differences(a, b, f"{prefix}[{i}]"))
        return out
    return [prefix or "fingerprint"] if old != new else []


# --- files ---------------------------------------------------------------------------------------
def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class SweepStore:
    """A directory holding one sweep's chunks (see the module docstring).

    Args:
        path: the directory (created if missing).
        fingerprint_: :func:`fingerprint` of the sweep to run.
        grid: its grid.
        config: extra metadata stored in the manifest.
        overwrite: replace a store that holds a different sweep instead of refusing.
        read_only: open for reading only (no lock; damaged chunks are reported, never moved).
        shard: the :class:`~simulations.shards.Shard` this writer fills (``None``: every row);
            the shards of one partition may write the store at the same time.

    Raises:
        StoreMismatchError: ``path`` holds a different sweep (and not ``overwrite``).
        StoreLockedError: another live process holds the same lock or a conflicting one.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        fingerprint_: Mapping[str, Any],
        grid: Grid,
        config: Mapping[str, Any] | None = None,
        *,
        overwrite: bool = False,
        read_only: bool = False,
        shard: Shard | None = None,
    ):
        self.path = Path(path)
        self.grid = grid
        self.read_only = read_only
        self.shard = shard
        self.fingerprint = dict(fingerprint_)
        self._lock: WriterLock | None = None
        manifest = self.path / "manifest.json"
        if read_only:
            self.manifest = json.loads(manifest.read_text())
        else:
            self.path.mkdir(parents=True, exist_ok=True)
            self._lock = WriterLock(self.path, shard)
            try:
                self.manifest = self._open_manifest(manifest, config, overwrite)
            except BaseException:
                self.release()
                raise
        self.attrs = {
            "sweep_name": self.manifest.get("name", ""),
            "base_seed": self.manifest.get("base_seed", 0),
            "grid": json.dumps(self.manifest.get("grid", {})),
            "config": json.dumps(self.manifest.get("config", {}), default=str),
            **{f"provenance.{k}": v for k, v in self.manifest.get("provenance", {}).items()},
        }

    # -- manifest and lock --------------------------------------------------------------------
    def _open_manifest(self, manifest: Path, config, overwrite: bool) -> dict:
        for _ in range(2):
            if manifest.exists():
                try:
                    existing = json.loads(manifest.read_text())
                except (OSError, json.JSONDecodeError):
                    existing = {"fingerprint": "unreadable manifest"}
                old = existing.get("fingerprint")
                if old == self.fingerprint:
                    return existing
                if not overwrite:
                    if not isinstance(old, dict):
                        what = "results of an older version of the library (no fingerprint)"
                    else:
                        diff = _differences(old, self.fingerprint)
                        fields = ", ".join(diff[:4]) + (", ..." if len(diff) > 4 else "")
                        what = f"a different sweep ({fields} differ)"
                    raise StoreMismatchError(
                        f"store {str(self.path)!r} holds {what}; use another directory "
                        "(--out) or overwrite it (--overwrite / overwrite=True)"
                    )
                busy = self._lock.others_alive() if self._lock else []
                if busy:
                    raise StoreLockedError(
                        f"store {str(self.path)!r} cannot be overwritten while "
                        f"{', '.join(busy)} writes it"
                    )
                self._clear()
            payload = {
                "format": _FORMAT,
                "fingerprint": self.fingerprint,
                "name": self.fingerprint.get("name", ""),
                "grid": self.grid.to_json(),
                "base_seed": self.fingerprint.get("base_seed", 0),
                "config": dict(config or {}),
                "provenance": provenance(),
                "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "complete": False,
            }
            if write_json(manifest, payload, exclusive=True):
                return payload
            # another shard created it first: compare with its fingerprint
        raise StoreLockedError(f"store {str(self.path)!r}: its manifest keeps changing")

    def _clear(self) -> None:
        for child in self.path.iterdir():
            if child.name.startswith(("lock", ".tmp-lock")):
                continue
            if child.is_dir():
                shutil.rmtree(child)
            else:
                child.unlink()

    def release(self) -> None:
        """Release the lock (idempotent)."""
        if self._lock is not None:
            self._lock.release()

    # -- chunks ---------------------------------------------------------------------------------
    def _group_dir(self, group: int) -> Path:
        return self.path / f"group-{group:04d}"

    def write_chunk(
        self,
        group: int,
        experiment: Experiment,
        rows: np.ndarray,
        outputs: Mapping[str, np.ndarray],
        finite: np.ndarray,
        diverged: np.ndarray,
        elapsed: float,
    ) -> Path:
        """Write one chunk's rows atomically and log its checksum; returns the file.

        The file name carries the rows' range and the start of the checksum, so no two writers
        (or two versions of a chunk) ever share a name.
        """
        gdir = self._group_dir(group)
        gdir.mkdir(exist_ok=True)
        data_vars = {
            k: (("row", *output_dims(experiment.dims, k, v)), v) for k, v in outputs.items()
        }
        data_vars["finite"] = (("row",), finite)
        data_vars["diverged"] = (("row",), diverged)
        coords = {"row": np.asarray(rows, dtype=np.int64)}
        coords.update({k: np.asarray(v) for k, v in experiment.coords.items()})
        ds = xr.Dataset(data_vars, coords=coords, attrs={"elapsed_seconds": float(elapsed)})
        fd, tmp = tempfile.mkstemp(dir=gdir, prefix=".tmp-", suffix=".nc")
        os.close(fd)
        try:
            ds.to_netcdf(tmp, engine=_ENGINE)
            os.chmod(tmp, _FILE_MODE)
            digest = _sha256(Path(tmp))
            target = gdir / f"chunk-{int(rows[0]):08d}-{int(rows[-1]):08d}-{digest[:12]}.nc"
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
        self._record(target, digest, rows)
        return target

    def _record(self, chunk: Path, digest: str | None, rows, **extra) -> None:
        entry = {"chunk": self._key(chunk), "sha256": digest, **extra}
        if rows is not None:
            entry["rows"] = encode_rows(np.sort(np.asarray(rows)))
        append_log(self.path, self.shard, entry)

    def _key(self, chunk: Path) -> str:
        return f"{chunk.parent.name}/{chunk.name}"

    def _quarantine(self, chunk: Path, why: str, rows) -> None:
        if self.read_only:
            warnings.warn(
                f"store {str(self.path)!r}: skipping {self._key(chunk)} ({why})", stacklevel=5
            )
            return
        qdir = self.path / "quarantine"
        qdir.mkdir(exist_ok=True)
        dest = qdir / f"{chunk.parent.name}-{chunk.name}.{int(time.time())}"
        try:
            os.replace(chunk, dest)
        except FileNotFoundError:
            return  # another writer moved it first
        self._record(chunk, None, rows, quarantined=why)
        warnings.warn(
            f"store {str(self.path)!r}: {self._key(chunk)} {why}; moved to {dest.name} in "
            "quarantine/, its rows will be recomputed",
            stacklevel=5,
        )

    def verified_chunks(
        self,
        group: int,
        known: Mapping[str, dict],
        columns=None,
        on_bad=None,
        *,
        verify: bool = True,
    ):
        """The valid chunks of ``group`` as Datasets (only ``columns`` if given).

        A chunk that fails its checksum (checked unless not ``verify``) or cannot be read goes
        to ``on_bad(file, why, rows)`` (default: quarantine it, or warn when read-only);
        ``rows`` are its logged rows.
        """
        gdir = self._group_dir(group)
        files = sorted(gdir.glob("chunk-*.nc")) if gdir.exists() else []
        n_rows = self.grid.n_points * self.grid.seeds
        bad = on_bad or self._quarantine
        for f in files:
            entry = known.get(self._key(f)) or {}
            digest = entry.get("sha256")
            logged = decode_rows(entry["rows"]) if "rows" in entry else None
            try:
                if verify and digest is not None and _sha256(f) != digest:
                    bad(f, "fails its checksum", logged)
                    continue
                with xr.open_dataset(f, engine=_ENGINE) as ds:
                    part = ds[[c for c in columns if c in ds]] if columns else ds
                    part = part.load()
                rows = part["row"].values
                if rows.size == 0 or rows.min() < 0 or rows.max() >= n_rows:
                    raise ValueError("rows outside the grid")
            except FileNotFoundError:
                continue  # quarantined by another writer meanwhile
            except Exception as err:
                if f.exists():
                    bad(f, f"cannot be read ({type(err).__name__})", logged)
                continue
            if digest is None and not self.read_only:  # written, killed before its checksum
                self._record(f, _sha256(f), rows)
            if "diverged" not in part:
                part["diverged"] = ~part["finite"].astype(bool)
            yield part

    def _read_rows(self, group: int) -> xr.Dataset | None:
        parts = list(self.verified_chunks(group, read_logs(self.path)))
        if not parts:
            return None
        return xr.concat(parts, dim="row", data_vars="all", coords="minimal", compat="override")

    def load_group(self, group: int):
        """``(done, outputs, finite, diverged)`` over all rows of a group, or ``None`` if empty."""
        rows_ds = self._read_rows(group)
        if rows_ds is None:
            return None
        return self._arrays(rows_ds)

    def _arrays(self, rows_ds: xr.Dataset):
        n_rows = self.grid.n_points * self.grid.seeds
        rows = rows_ds["row"].values
        done = np.zeros(n_rows, dtype=bool)
        done[rows] = True
        finite = np.ones(n_rows, dtype=bool)
        finite[rows] = rows_ds["finite"].values.astype(bool)
        diverged = np.zeros(n_rows, dtype=bool)
        diverged[rows] = rows_ds["diverged"].values.astype(bool)
        outputs = {}
        for k, var in rows_ds.data_vars.items():
            if k in ("finite", "diverged"):
                continue
            v = var.values
            fill = np.nan if np.issubdtype(v.dtype, np.floating) else 0
            full = np.full((n_rows, *v.shape[1:]), fill, dtype=v.dtype)
            full[rows] = v
            outputs[k] = full
        return done, outputs, finite, diverged

    def finish(self) -> None:
        """Mark the sweep complete and release the lock."""
        self.manifest["complete"] = True
        self.manifest["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        write_json(self.path / "manifest.json", self.manifest)
        self.release()


def open_store(path: str | os.PathLike) -> SweepStore:
    """The store at ``path``, opened read-only (its ``manifest`` and ``grid`` as written).

    Raises:
        StoreError: ``path`` holds no sweep (one line, naming the directory).
    """
    path = Path(path)
    manifest_path = path / "manifest.json"
    if not manifest_path.is_file():
        raise StoreError(f"{str(path)!r} holds no sweep (no manifest.json)")
    try:
        manifest = json.loads(manifest_path.read_text())
        gj = manifest["grid"]
        grid = Grid(
            static={k: tuple(v) for k, v in gj["static"].items()},
            points={k: np.asarray(v, dtype=np.float64) for k, v in gj["points"].items()},
            seeds=gj["seeds"],
        )
        print_ = manifest.get("fingerprint")
        print_ = print_ if isinstance(print_, dict) else {}  # stores of older versions: none
        return SweepStore(path, print_, grid, read_only=True)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
        raise StoreError(f"{str(manifest_path)!r} is not a sweep's manifest ({err})") from None


def open_sweep(path: str | os.PathLike) -> SweepResult:
    """Open a stored sweep (finished or not) as a :class:`~simulations.results.SweepResult`.

    Rows not yet computed are NaN with ``complete == False``; diverged runs have ``diverged ==
    True``. A partial store (e.g. while the shards of an array job are still running) is
    clearly marked: the result's ``missing`` counts the rows not yet present, every group's
    ``attrs["complete"]`` is ``False`` and ``attrs["missing_rows"]`` counts its missing rows,
    a group without any row yet is left out, and a warning says how many rows are missing.
    A chunk that fails its checksum or cannot be read is reported (a warning) and left out,
    never fatal. Attributes carry the grid, config, package versions and git SHA.
    """
    store = open_store(path)
    grid, manifest = store.grid, store.manifest
    n_rows = grid.n_points * grid.seeds
    groups, missing = [], 0
    for g, static in enumerate(grid.static_combinations()):
        rows_ds = store._read_rows(g)
        if rows_ds is None:
            missing += n_rows
            continue
        done, outputs, finite, diverged = store._arrays(rows_ds)
        dims = {
            k: tuple(v.dims[1:])
            for k, v in rows_ds.data_vars.items()
            if k not in ("finite", "diverged")
        }
        coords = {k: v.values for k, v in rows_ds.coords.items() if k != "row"}
        ds = group_dataset(grid, static, dims, coords, outputs, finite, done, diverged)
        ds.attrs.update(store.attrs)
        ds.attrs["complete"] = bool(done.all())
        ds.attrs["missing_rows"] = int((~done).sum())
        missing += int((~done).sum())
        groups.append(ds)
    if missing:
        total = n_rows * len(grid.static_combinations())
        warnings.warn(
            f"store {str(path)!r} is partial: {missing} of {total} rows missing (NaN, "
            "complete == False); see: solvable status",
            stacklevel=2,
        )
    name = manifest.get("name", "sweep")
    return SweepResult(grid=grid, groups=groups, name=name, missing=missing)
