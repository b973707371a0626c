"""Shared test configuration.

Tests run on CPU in float32 unless they opt into float64 with ``jax.enable_x64(True)``. Sharding
tests start their own subprocess with ``XLA_FLAGS=--xla_force_host_platform_device_count=4``.
"""

import os

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("JAX_PLATFORMS", "cpu")
