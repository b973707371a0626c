"""What the mathematics predicts: pure functions in float64, no training, no plotting.

Submodules (imported lazily): ``plrf`` (power-law random features, Paquette et al. 2024;
``plrf_training``: its exact dynamics under schedules, momentum/DANA and batch size, with the
schedules of ``schedules``; ``plrf_longrun``: long runs of that recursion and the time exponents
of the loss at d → ∞),
``random_features`` (Maloney-Roberts-Sully, Bahri et al., Bordelon-Atanasov-Pehlevan),
``superposition`` (Liu, Liu & Gore 2025), ``lottery`` (Liu & Tegmark 2023).
"""

import importlib

__all__ = [
    "lottery",
    "plrf",
    "plrf_longrun",
    "plrf_training",
    "random_features",
    "schedules",
    "superposition",
]


def __getattr__(name):
    if name in __all__:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
