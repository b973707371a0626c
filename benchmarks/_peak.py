"""Shared benchmark helpers: this machine's measured matmul peak and a robust timer."""

from __future__ import annotations

import time
from collections.abc import Callable

import jax
import jax.numpy as jnp


def best_time(fn: Callable[[], object], *, repeats: int = 5, min_time: float = 0.2) -> float:
    """Best wall time (s) of ``fn()`` (which must block until done) over ``repeats`` trials.

    Each trial loops until ``min_time`` has passed, so short calls are averaged.
    """
    fn()  # warm-up / compile
    best = float("inf")
    for _ in range(repeats):
        n, t0 = 0, time.perf_counter()
        while True:
            fn()
            n += 1
            elapsed = time.perf_counter() - t0
            if elapsed >= min_time:
                break
        best = min(best, elapsed / n)
    return best


def measure_matmul_peak(n: int = 2048, dtype=jnp.float32) -> float:
    """Achieved FLOP/s of a jitted ``n x n @ n x n`` matmul on the default device (2 n^3 flops)."""
    key = jax.random.key(0)
    a = jax.random.normal(key, (n, n), dtype)
    b = jax.random.normal(jax.random.fold_in(key, 1), (n, n), dtype)
    f = jax.jit(lambda x, y: x @ y)
    seconds = best_time(lambda: f(a, b).block_until_ready())
    return 2.0 * n**3 / seconds


if __name__ == "__main__":
    print(f"f32 matmul peak: {measure_matmul_peak() / 1e9:.1f} GFLOP/s on {jax.devices()}")
