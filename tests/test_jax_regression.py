"""Regression test for jax-ml/jax#39103.

jax 0.10.2 miscompiles a jitted, vmapped mat-vec followed by a reduction on CPU, which is exactly
the shape of every batched population-loss evaluation in this library. The project pins
``jax>=0.12``; this test keeps the reproducer so a bad jax version cannot slip back in.
"""

import jax
import jax.numpy as jnp
import numpy as np


def _matvec_then_reduce(a, x):
    return jnp.sum((a @ x) ** 2)


def test_jitted_vmapped_matvec_reduction_matches_numpy():
    rng = np.random.default_rng(39103)
    for batch, n, m in [(7, 33, 17), (16, 128, 64), (3, 5, 300)]:
        a = rng.standard_normal((batch, n, m)).astype(np.float32)
        x = rng.standard_normal((batch, m)).astype(np.float32)
        got = np.asarray(jax.jit(jax.vmap(_matvec_then_reduce))(a, x))
        want = np.einsum("bnm,bm->bn", a.astype(np.float64), x.astype(np.float64))
        want = (want**2).sum(axis=1)
        np.testing.assert_allclose(got, want, rtol=2e-5)


def test_jax_version_is_new_enough():
    major, minor = (int(p) for p in jax.__version__.split(".")[:2])
    assert (major, minor) >= (0, 12), jax.__version__
