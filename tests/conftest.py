"""Shared test configuration.

Tests run on CPU in float32 unless they opt into float64 with ``jax.enable_x64(True)``. Sharding
tests start their own subprocess with ``XLA_FLAGS=--xla_force_host_platform_device_count=4``.
"""

import os

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")
# XLA parallelises batched work itself; a threaded OpenBLAS underneath (LAPACK eigh, L-BFGS-B)
# oversubscribes the cores and runs 10-100x slower. Effective only before numpy is imported.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("JAX_PLATFORMS", "cpu")


@pytest.fixture
def no_compile():
    """Fails the test if XLA compiles anything in its body (see helpers.no_compilation)."""
    from helpers import no_compilation

    with no_compilation() as events:
        yield events
