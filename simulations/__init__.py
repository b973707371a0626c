"""What the models do: JAX simulators, the sweep engine, the store, fits and comparisons.

Submodules (imported lazily): ``sweep`` (grid -> chunks -> jit(vmap) over devices), ``store``
(labelled results on disk, resumable), ``fit`` (exponents with confidence intervals), ``compare``
(measured vs predicted tables), and one simulator per model: ``plrf``, ``random_features``,
``superposition``, ``lottery``.
"""

import importlib

__version__ = "0.1.0"

__all__ = [
    "compare",
    "fit",
    "lottery",
    "open_sweep",
    "plrf",
    "random_features",
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
