"""Shards of a sweep, writer locks and chunk logs: many processes filling one store.

Engine layer between ``results`` and ``store`` (it imports no other engine module).

* **Assignment.** Shard ``I/N`` owns the rows whose *global* index ``group × rows_per_group +
  row`` is ``≡ I (mod N)`` (:func:`shard_rows`). The enumeration depends only on the grid, never
  on the chunk size, the device count or which shards already ran, so ``N`` scheduler array jobs
  (no coordinator) partition every static group evenly and each process still cuts its own rows
  into chunks sized for its own device (a chunk may hold any set of rows).
* **Locks.** A writer holds one lock file in the store: ``lock`` (an unsharded writer, which owns
  every row) or ``lock-I-of-N``. Shards of one partition (same ``N``) run concurrently; an
  unsharded writer, or a shard of another partition, is refused while a conflicting writer is
  alive (:class:`WriterLock`). Lock files are created complete (written to a temporary file, then
  hard-linked into place, which fails if the name exists), so a half-written lock is never seen.
* **Chunk logs.** Each writer appends the checksums (and rows) of the chunks it writes to its
  own log, ``checksums.jsonl`` or ``checksums-I-of-N.jsonl``: no two live processes append to
  one file, which keeps the logs sound on network file systems without atomic appends.
* Commands run a shard through the :func:`sharding` context: a sweep in a shard writes only its
  rows and then raises :class:`ShardDone` (what remains, per shard), so no analysis ever runs on a
  partial store.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import os
import re
import socket
import tempfile
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

__all__ = [
    "Shard",
    "ShardDone",
    "StoreError",
    "StoreLockedError",
    "StoreMismatchError",
    "WriterLock",
    "append_log",
    "current_shard",
    "decode_rows",
    "encode_rows",
    "live_writers",
    "log_shards",
    "parse_shard",
    "read_logs",
    "shard_rows",
    "sharding",
    "write_json",
]

_UMASK = os.umask(0)
os.umask(_UMASK)
FILE_MODE = 0o666 & ~_UMASK


class StoreError(ValueError):
    """A store cannot be used as asked (the message says why and what to do)."""


class StoreMismatchError(StoreError):
    """The store holds results of a different experiment."""


class StoreLockedError(StoreError):
    """Another live process is writing (a conflicting part of) this store."""


class Shard(NamedTuple):
    """Shard ``index`` of ``count`` (``0 <= index < count``)."""

    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


_SPEC = re.compile(r"^\s*(-?\d+)\s*/\s*(-?\d+)\s*$")


def parse_shard(value: Any, where: str = "shard") -> Shard | None:
    """A :class:`Shard` from ``"I/N"`` or ``(I, N)`` (``None`` stays ``None``).

    Raises a one-line ``ValueError`` naming ``where``, the value and the valid range.
    """
    if value is None:
        return None
    what = f"{where} must be I/N with integers 0 <= I < N (N >= 1), got {value!r}"
    if isinstance(value, str):
        m = _SPEC.match(value)
        if not m:
            raise ValueError(what)
        index, count = int(m.group(1)), int(m.group(2))
    elif isinstance(value, Sequence) and len(value) == 2:
        index, count = value
        if any(isinstance(x, bool) or not isinstance(x, (int, np.integer)) for x in value):
            raise ValueError(what)
    else:
        raise ValueError(what)
    if count < 1 or not 0 <= index < count:
        raise ValueError(what)
    return Shard(int(index), int(count))


def shard_rows(shard: Shard | None, group: int, n_rows: int) -> np.ndarray:
    """The rows of static group ``group`` (of ``n_rows`` each) that ``shard`` owns, sorted."""
    if shard is None:
        return np.arange(n_rows)
    first = (shard.index - group * n_rows) % shard.count
    return np.arange(first, n_rows, shard.count)


_CURRENT: contextvars.ContextVar[Shard | None] = contextvars.ContextVar("shard", default=None)


def current_shard() -> Shard | None:
    """The shard set by the innermost :func:`sharding` context (``None``: not sharded)."""
    return _CURRENT.get()


@contextlib.contextmanager
def sharding(shard: Any) -> Iterator[Shard | None]:
    """Run every stored sweep started inside as shard ``shard`` (``"I/N"``, ``(I, N)``, None).

    This is how a command (which calls the sweep engine through model code) is sharded without
    threading an argument through every model function. A sweep without a store ignores it.
    """
    token = _CURRENT.set(parse_shard(shard))
    try:
        yield _CURRENT.get()
    finally:
        _CURRENT.reset(token)


class ShardDone(Exception):
    """A shard wrote all its rows of a sweep whose store is not yet complete.

    Raised by the sweep engine in shard mode instead of returning partial results, so nothing
    downstream analyses an incomplete sweep. ``str()`` says what finished and what remains.

    Attributes:
        shard: the shard that finished. store: the store directory. name: the sweep's name.
        computed: rows this process computed. total: rows of the sweep.
        missing: ``{shard: rows still missing}`` for the shards of the same partition.
    """

    def __init__(
        self, shard: Shard, store: str, name: str, computed: int, total: int, missing: dict
    ):
        self.shard, self.store, self.name = shard, store, name
        self.computed, self.total, self.missing = computed, total, dict(missing)
        left = sum(self.missing.values())
        waiting = ", ".join(f"{s} ({n} rows)" for s, n in self.missing.items() if n)
        super().__init__(
            f"shard {shard} finished sweep {name!r} in {store!r} ({computed} rows computed); "
            f"{left} of {total} rows remain" + (f" in shards {waiting}" if waiting else "")
        )


# --- chunk logs ----------------------------------------------------------------------------------
def _log_name(shard: Shard | None) -> str:
    return "checksums.jsonl" if shard is None else f"checksums-{shard.index}-of-{shard.count}.jsonl"


def encode_rows(rows: np.ndarray) -> list[list[int]]:
    """Sorted distinct rows as ``[[start, count, step], ...]`` arithmetic runs (compact JSON)."""
    rows = np.asarray(rows, dtype=np.int64)
    runs: list[list[int]] = []
    i = 0
    while i < len(rows):
        if i + 1 == len(rows):
            runs.append([int(rows[i]), 1, 1])
            break
        step = int(rows[i + 1] - rows[i])
        j = i + 1
        while j + 1 < len(rows) and rows[j + 1] - rows[j] == step:
            j += 1
        runs.append([int(rows[i]), j - i + 1, step])
        i = j + 1
    return runs


def decode_rows(runs: Sequence[Sequence[int]]) -> np.ndarray:
    """The rows of :func:`encode_rows`' runs."""
    parts = [start + step * np.arange(count) for start, count, step in runs]
    return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, dtype=np.int64)


def append_log(store: Path, shard: Shard | None, entry: Mapping[str, Any]) -> None:
    """Append one JSON line to the log of writer ``shard`` and flush it to disk."""
    log = store / _log_name(shard)
    fresh = not log.exists()
    with open(log, "a") as fh:
        fh.write(json.dumps({**entry, "t": round(time.time(), 3)}) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    if fresh:
        os.chmod(log, FILE_MODE)


def read_logs(store: Path) -> dict[str, dict[str, Any]]:
    """``{chunk: entry}`` over every writer's log (torn lines ignored).

    Within one log a later entry replaces an earlier one; across logs an entry with a checksum
    wins over a quarantine record (new chunk names carry their checksum, so a name never comes
    back with other contents).
    """
    merged: dict[str, dict[str, Any]] = {}
    for log in sorted(store.glob("checksums*.jsonl")):
        mine: dict[str, dict[str, Any]] = {}
        with contextlib.suppress(OSError):
            for line in log.read_text().splitlines():
                try:
                    entry = json.loads(line)
                    mine[str(entry["chunk"])] = entry
                except (json.JSONDecodeError, KeyError, TypeError):
                    continue
        for key, entry in mine.items():
            if key not in merged or entry.get("sha256") or not merged[key].get("sha256"):
                merged[key] = entry
    return merged


def log_shards(store: Path) -> int | None:
    """The shard count ``N`` most recently used to write ``store`` (from logs and locks)."""
    found = []
    for p in [*store.glob("checksums-*-of-*.jsonl"), *store.glob("lock-*-of-*")]:
        m = re.search(r"-(\d+)-of-(\d+)", p.name)
        if m:
            with contextlib.suppress(OSError):
                found.append((p.stat().st_mtime, int(m.group(2))))
    return max(found)[1] if found else None


def write_json(path: Path, payload: dict, *, exclusive: bool = False) -> bool:
    """Write ``payload`` to ``path`` all-or-nothing; ``exclusive``: only if ``path`` is absent.

    Returns ``False`` when ``exclusive`` and another process created ``path`` first.
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(payload, fh, indent=2, sort_keys=True, default=str)
        os.chmod(tmp, FILE_MODE)
        if not exclusive:
            os.replace(tmp, path)
            return True
        try:
            os.link(tmp, path)  # atomic create-if-absent, also on network file systems
        except FileExistsError:
            return False
        return True
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


# --- locks ---------------------------------------------------------------------------------------
def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _lock_shard(name: str) -> Shard | None:
    m = re.fullmatch(r"lock-(\d+)-of-(\d+)", name)
    return Shard(int(m.group(1)), int(m.group(2))) if m else None


def _read_owner(lock: Path) -> dict[str, Any]:
    try:
        owner = json.loads(lock.read_text())
    except (OSError, json.JSONDecodeError):
        return {}
    return owner if isinstance(owner, dict) else {}


def _who(owner: Mapping[str, Any], lock: Path) -> str:
    shard = _lock_shard(lock.name)
    what = "an unsharded writer" if shard is None else f"shard {shard}"
    return f"{what} (pid {owner.get('pid')} on {owner.get('host')})"


class WriterLock:
    """The lock of one writer (``shard`` or, for ``None``, the whole store) in ``store``.

    Raises:
        StoreLockedError: a live writer holds the same lock, or a live conflicting writer (an
            unsharded one, or a shard of another partition) holds another.
    """

    def __init__(self, store: Path, shard: Shard | None):
        self.path = store / ("lock" if shard is None else f"lock-{shard.index}-of-{shard.count}")
        self.shard = shard
        self.held = False
        self._host = socket.gethostname()
        self._take()
        try:
            self._check_others()
        except BaseException:
            self.release()
            raise

    def _stale(self, owner: Mapping[str, Any]) -> bool:
        pid, host = owner.get("pid"), owner.get("host")
        alive = host != self._host or (isinstance(pid, int) and _pid_alive(pid))
        return not (owner and alive)

    def _take(self) -> None:
        me = {"pid": os.getpid(), "host": self._host, "started": time.time()}
        if self.shard is not None:
            me["shard"] = list(self.shard)
        for _ in range(3):
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".tmp-lock-")
            try:
                with os.fdopen(fd, "w") as fh:
                    json.dump(me, fh)
                os.chmod(tmp, FILE_MODE)
                os.link(tmp, self.path)  # fails if the lock exists: creation is all-or-nothing
            except FileExistsError:
                owner = _read_owner(self.path)
                self._refuse_or_take_over(owner)
                continue
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.remove(tmp)
            self.held = True
            return
        raise StoreLockedError(f"store {str(self.path.parent)!r}: could not take {self.path.name}")

    def _refuse_or_take_over(self, owner: Mapping[str, Any]) -> None:
        store, pid, host = str(self.path.parent), owner.get("pid"), owner.get("host")
        if owner and host == self._host and not self._stale(owner):
            since = time.strftime("%H:%M:%S", time.localtime(owner.get("started", 0)))
            raise StoreLockedError(
                f"store {store!r} is being written by pid {pid} on {host} (since {since}); wait "
                "for it to finish or use another directory"
            )
        if owner and host != self._host:
            raise StoreLockedError(
                f"store {store!r} is locked by pid {pid} on host {host}; if that process is "
                f"gone, delete {str(self.path)!r}"
            )
        if not owner and time.time() - _mtime(self.path) < 5:
            time.sleep(0.2)  # an old-style lock being written right now: look again
            if _read_owner(self.path):
                return
        warnings.warn(
            f"store {store!r}: taking over a stale lock of pid {pid} (no such process)",
            stacklevel=5,
        )
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    def _conflicts(self, other: Path) -> bool:
        theirs = _lock_shard(other.name)
        if self.shard is None or theirs is None:
            return True
        return theirs.count != self.shard.count

    def _check_others(self) -> None:
        busy = []
        for other in sorted(self.path.parent.glob("lock*")):
            if other == self.path or not (other.name == "lock" or _lock_shard(other.name)):
                continue
            if not self._conflicts(other):
                continue
            owner = _read_owner(other)
            if not owner and time.time() - _mtime(other) < 5:
                time.sleep(0.2)
                owner = _read_owner(other)
            if owner and not self._stale(owner):
                busy.append(_who(owner, other))
            elif other.exists():
                warnings.warn(
                    f"store {str(self.path.parent)!r}: removing the stale lock {other.name} of "
                    f"pid {owner.get('pid')} (no such process)",
                    stacklevel=4,
                )
                with contextlib.suppress(FileNotFoundError):
                    other.unlink()
        if busy:
            mine = "an unsharded writer" if self.shard is None else f"shard {self.shard}"
            raise StoreLockedError(
                f"store {str(self.path.parent)!r} is being written by {', '.join(busy)}, which "
                f"conflicts with {mine}; wait for it (see: solvable status) or use another "
                "directory"
            )

    def others_alive(self) -> list[str]:
        """Other live writers of the store (any partition), e.g. before clearing it."""
        out = []
        for other in sorted(self.path.parent.glob("lock*")):
            if other != self.path and (other.name == "lock" or _lock_shard(other.name)):
                owner = _read_owner(other)
                if owner and not self._stale(owner):
                    out.append(_who(owner, other))
        return out

    def release(self) -> None:
        """Remove the lock (idempotent)."""
        if self.held:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
            self.held = False


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def live_writers(store: Path) -> list[str]:
    """Descriptions of the writers whose locks are in ``store`` and (on this host) alive."""
    host = socket.gethostname()
    out = []
    for lock in sorted(store.glob("lock*")):
        if lock.name != "lock" and not _lock_shard(lock.name):
            continue
        owner = _read_owner(lock)
        pid = owner.get("pid")
        alive = owner.get("host") != host or (isinstance(pid, int) and _pid_alive(pid))
        if owner and alive:
            out.append(_who(owner, lock))
    return out
