"""The figure-data cache: ``compute(cfg)`` runs once per (figure, config, package version).

A figure's data is stored as a pickle under ``cache_dir`` (default ``$SOLVABLE_CACHE_DIR`` or
``~/.cache/solvable-scaling/figures``), named by the SHA-256 of the JSON key
``{"compute", "config", "version"}``; the key is stored inside the file and checked on load, so a
changed preset, option or package version never reuses stale data. Files are written atomically.
Pickles are only ever read from this cache, which the library itself writes.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import tempfile
from pathlib import Path
from types import ModuleType
from typing import Any

__all__ = ["cache_key", "cached_compute", "default_cache_dir", "render"]


def default_cache_dir() -> Path:
    """``$SOLVABLE_CACHE_DIR``, else ``~/.cache/solvable-scaling/figures``."""
    env = os.environ.get("SOLVABLE_CACHE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "solvable-scaling" / "figures"


def cache_key(module: ModuleType, cfg: Any) -> str:
    """The JSON text that identifies a figure's data: compute function, config, package version.

    Keyed by the ``compute`` function (not the figure), so figures that share one computation
    (several panels of one sweep) share its cached data.
    """
    from simulations import __version__

    compute = f"{module.compute.__module__}.{module.compute.__qualname__}"
    payload = {"compute": compute, "config": cfg, "version": __version__}
    return json.dumps(payload, sort_keys=True, default=str)


def cached_compute(
    module: ModuleType, cfg: Any, cache_dir: str | os.PathLike | None = None, refresh: bool = False
) -> Any:
    """``module.compute(cfg)``, or its cached result for the same key (see the module docstring)."""
    key = cache_key(module, cfg)
    directory = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    digest = hashlib.sha256(key.encode()).hexdigest()[:20]
    path = directory / f"{module.compute.__module__.rsplit('.', 1)[-1]}-{digest}.pkl"
    if path.exists() and not refresh:
        try:
            with open(path, "rb") as fh:
                stored_key, data = pickle.load(fh)
            if stored_key == key:
                return data
        except (OSError, EOFError, pickle.UnpicklingError, ValueError, TypeError):
            pass  # unreadable or truncated: recompute and overwrite
    data = module.compute(cfg)
    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".pkl")
    try:
        with os.fdopen(fd, "wb") as fh:
            pickle.dump((key, data), fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return data


def render(
    module: ModuleType,
    preset: str,
    out_dir: str | os.PathLike,
    *,
    cache_dir: str | os.PathLike | None = None,
    refresh: bool = False,
) -> list[Path]:
    """Compute (or load) a figure's data for ``preset`` and plot it into ``out_dir``."""
    cfg = module.config(preset)
    data = cached_compute(module, cfg, cache_dir, refresh)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return [Path(p) for p in module.plot(data, out)]
