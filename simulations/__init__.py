"""What the models do: JAX simulators, the sweep engine, the store, fits and comparisons.

The engine (imported in this order, no cycle): ``grid`` (grids, experiments, keys) → ``results``
(labelled datasets) → ``store`` (resumable results on disk) → ``sweep`` (chunks → jit(vmap) over
devices); ``steps`` (log-spaced checkpoints, size ladders). Analysis that knows no model: ``fit``
(exponents with confidence intervals), ``compare`` (measured vs predicted tables). Command
configs: ``options``; the ``solvable`` command: ``cli``.

One package per model, each with the layers ``model`` → ``experiment`` → ``analysis`` →
``plots`` → ``commands``: ``plrf``, ``random_features``, ``superposition``, ``lottery``.
Submodules are imported lazily: ``from simulations import plrf`` costs only what it uses.
"""

import importlib
from importlib import metadata

try:
    __version__ = metadata.version("solvable-scaling")
except metadata.PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = [
    "compare",
    "fit",
    "grid",
    "lottery",
    "open_sweep",
    "options",
    "plrf",
    "random_features",
    "results",
    "steps",
    "store",
    "superposition",
    "sweep",
]


def __getattr__(name):
    if name == "open_sweep":
        from simulations.store import open_sweep

        return open_sweep
    if name in __all__:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
