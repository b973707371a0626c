"""Progress of a sweep store, per shard: rows done, missing, diverged and quarantined.

Engine layer between ``store`` and ``sweep``: it reads a store (never writes it), so it can run
while the shards of an array job are still writing (``solvable status DIR``).

* **done**: rows present in a valid chunk; **diverged**: the done rows flagged diverged;
* **missing**: rows not present (not yet computed, or lost);
* **quarantined**: the missing rows that were in a damaged chunk (one that fails its checksum or
  cannot be read, whether still in place or already moved to ``quarantine/``); the next run of
  their shard recomputes them.

Rows are assigned to shards by :func:`simulations.shards.shard_rows`; the shard count is the one
the store was last written with (or the one asked for).
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from pathlib import Path

import numpy as np

from simulations.shards import (
    Shard,
    StoreError,
    decode_rows,
    live_writers,
    log_shards,
    read_logs,
    shard_rows,
)
from simulations.store import SweepStore, open_store

__all__ = ["ShardCounts", "StoreStatus", "find_stores", "store_status"]


@dataclasses.dataclass
class ShardCounts:
    """Row counts of one shard (or of the whole store, ``shard == "total"``)."""

    shard: str
    rows: int = 0
    done: int = 0
    missing: int = 0
    diverged: int = 0
    quarantined: int = 0


@dataclasses.dataclass
class StoreStatus:
    """What :func:`store_status` found: per-shard counts, live writers, damaged chunks."""

    path: str
    name: str
    groups: int
    rows_per_group: int
    shards: int
    counts: list[ShardCounts]
    total: ShardCounts
    writers: list[str]
    damaged: list[str]

    @property
    def complete(self) -> bool:
        """Every row of the sweep is present."""
        return self.total.missing == 0

    def format(self) -> str:
        """A printable table, one line per shard and a total, then the store's state."""
        head = (
            f"store {self.path}: sweep {self.name!r}, {self.groups} group(s) x "
            f"{self.rows_per_group} rows = {self.total.rows} rows, {self.shards} shard(s)"
        )
        cols = ("rows", "done", "missing", "diverged", "quarantined")
        lines = [head, f"{'shard':<8}" + "".join(f"{c:>12}" for c in cols)]
        for c in [*self.counts, self.total] if self.shards > 1 else [self.total]:
            lines.append(f"{c.shard:<8}" + "".join(f"{getattr(c, k):>12d}" for k in cols))
        if self.complete:
            lines.append(f"complete: all {self.total.rows} rows present")
        else:
            waiting = [c.shard for c in self.counts if c.missing]
            where = f" (shards {', '.join(waiting)})" if self.shards > 1 else ""
            lines.append(f"partial: {self.total.missing} of {self.total.rows} rows missing{where}")
        lines += [f"writing now: {w}" for w in self.writers]
        lines += [f"damaged: {d}; its rows are recomputed by the next run" for d in self.damaged]
        return "\n".join(lines)


def _is_store(path: Path) -> bool:
    try:
        manifest = json.loads((path / "manifest.json").read_text())
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and isinstance(manifest.get("grid"), dict)


def find_stores(path: str | os.PathLike, depth: int = 3) -> list[Path]:
    """The sweep stores at or below ``path`` (directories with a ``manifest.json``), sorted.

    Raises:
        StoreError: ``path`` does not exist or holds no store (one line).
    """
    path = Path(path)
    if not path.is_dir():
        raise StoreError(f"{str(path)!r} is not a directory")
    found, level = [], [path]
    for _ in range(depth + 1):
        nxt = []
        for d in level:
            if _is_store(d):
                found.append(d)
            else:
                nxt += sorted(p for p in d.iterdir() if p.is_dir() and not p.name.startswith("."))
        level = nxt
    if not found:
        raise StoreError(
            f"{str(path)!r} holds no sweep store (no manifest.json in it or in its "
            f"sub-directories up to {depth} levels down)"
        )
    return sorted(found)


def _group_masks(store: SweepStore, group: int, known, verify: bool, damaged: list):
    n_rows = store.grid.n_points * store.grid.seeds
    done = np.zeros(n_rows, dtype=bool)
    diverged = np.zeros(n_rows, dtype=bool)
    lost = np.zeros(n_rows, dtype=bool)

    def on_bad(chunk: Path, why: str, rows) -> None:
        damaged.append(f"{chunk.parent.name}/{chunk.name} ({why})")
        m = re.match(r"chunk-(\d+)-(\d+)", chunk.name)
        if rows is None and m:  # an old log without rows: the chunk's row range
            rows = np.arange(int(m.group(1)), min(int(m.group(2)) + 1, n_rows))
        if rows is not None:
            lost[rows] = True

    columns = ["row", "diverged", "finite"]
    for part in store.verified_chunks(group, known, columns, on_bad, verify=verify):
        rows = part["row"].values
        done[rows] = True
        diverged[rows] = part["diverged"].values.astype(bool)
    prefix = f"group-{group:04d}/"
    for key, entry in known.items():
        if key.startswith(prefix) and not entry.get("sha256") and "rows" in entry:
            lost[decode_rows(entry["rows"])] = True
    return done, diverged & done, lost & ~done


def store_status(
    path: str | os.PathLike, shards: int | None = None, *, verify: bool = True
) -> StoreStatus:
    """Rows done, missing, diverged and quarantined per shard of the store at ``path``.

    Args:
        path: a store directory (with ``manifest.json``).
        shards: the shard count ``N`` to report (default: the one the store was last written
            with, else 1).
        verify: check every chunk's checksum (``False``: only read their rows, faster).

    Raises:
        StoreError: ``path`` holds no store; ``ValueError``: ``shards`` is not an integer >= 1.
    """
    store = open_store(path)
    if shards is None:
        shards = log_shards(store.path) or 1
    if isinstance(shards, bool) or not isinstance(shards, int) or shards < 1:
        raise ValueError(f"shards must be an integer >= 1, got {shards!r}")
    n_rows = store.grid.n_points * store.grid.seeds
    n_groups = len(store.grid.static_combinations())
    known = read_logs(store.path)
    counts = [ShardCounts(f"{i}/{shards}") for i in range(shards)]
    damaged: list[str] = []
    for g in range(n_groups):
        done, diverged, lost = _group_masks(store, g, known, verify, damaged)
        for i, c in enumerate(counts):
            rows = shard_rows(Shard(i, shards), g, n_rows)
            c.rows += len(rows)
            c.done += int(done[rows].sum())
            c.missing += int((~done[rows]).sum())
            c.diverged += int(diverged[rows].sum())
            c.quarantined += int(lost[rows].sum())
    total = ShardCounts("total")
    for c in counts:
        for k in ("rows", "done", "missing", "diverged", "quarantined"):
            setattr(total, k, getattr(total, k) + getattr(c, k))
    return StoreStatus(
        path=str(store.path),
        name=str(store.manifest.get("name", "")),
        groups=n_groups,
        rows_per_group=n_rows,
        shards=shards,
        counts=counts,
        total=total,
        writers=live_writers(store.path),
        damaged=damaged,
    )
