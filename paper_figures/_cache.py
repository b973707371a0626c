"""Figure-data cache shared by the paper figures: recompute only when the config changes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np


def cached_npz(path: Path, config: dict, compute: Callable[[], dict]) -> dict:
    """Arrays cached in ``path`` for the same ``config``, else ``compute()`` (saved to ``path``).

    ``config`` must be JSON-serialisable; it is stored beside the arrays as the cache key.
    """
    key = json.dumps(config, sort_keys=True)
    if path.exists():
        with np.load(path) as z:
            if "config" in z.files and str(z["config"]) == key:
                return {k: z[k] for k in z.files if k != "config"}
    data = compute()
    np.savez(path, config=key, **data)
    return data
