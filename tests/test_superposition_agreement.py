"""simulations.superposition against theory: samplers vs the frequencies, and the quick sweep's
regimes (phi_1/2 and alpha_m) vs the weak/strong predictions."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from simulations import superposition as sp
from simulations.superposition import model
from theory import superposition as theory


def _p(n=50, alpha=1.0):
    return jnp.asarray(theory.frequencies(n, alpha), jnp.float32)


# --- data ----------------------------------------------------------------------------------------
def test_sparse_sampler_distribution():
    n, batch = 50, 4096
    p = _p(n)
    max_active, budget = model.slot_sizes(batch, 1.35)
    draw = jax.jit(
        lambda k: model.sparse_to_dense(
            model.sample_sparse_features(k, p, batch, max_active, budget), n
        )
    )
    draws = [draw(jax.random.key(i)) for i in range(4)]
    x = np.concatenate([np.asarray(d) for d in draws])  # (16384, 50)
    active = x > 0
    n_samples = x.shape[0]
    freq = active.mean(0)
    se = np.sqrt(np.asarray(p) * (1 - np.asarray(p)) / n_samples)
    # each of 50 frequencies within 4.5 standard errors (family-wise false alarm < 0.1 %)
    assert np.all(np.abs(freq - np.asarray(p)) < 4.5 * se)
    s = x[active]
    assert s.min() >= 0 and s.max() <= 2
    assert s.mean() == pytest.approx(theory.S_MEAN, abs=4 * math.sqrt(1 / 3 / s.size))
    assert (s**2).mean() == pytest.approx(
        theory.S_SECOND_MOMENT, abs=4 * math.sqrt(64 / 45 / s.size)
    )
    # independence of the two most frequent features: P(both) = p1 p2
    both = (active[:, 0] & active[:, 1]).mean()
    p12 = float(p[0] * p[1])
    assert both == pytest.approx(p12, abs=4.5 * math.sqrt(p12 / n_samples))


def test_sparse_and_dense_samplers_agree_in_distribution():
    n, batch = 30, 8192
    p = _p(n, 0.7)
    max_active, budget = model.slot_sizes(batch, 1.35)
    sparse = jax.jit(
        lambda k: model.sparse_to_dense(
            model.sample_sparse_features(k, p, batch, max_active, budget), n
        )
    )
    xs = np.asarray(sparse(jax.random.key(1)))
    xd = np.asarray(jax.jit(lambda k: model.sample_features(k, p, batch))(jax.random.key(2)))
    # E x_i = p_i <s> = p_i; sd of the mean <= sqrt(4/3 p_i / batch)
    tol = 4.5 * np.sqrt(4 / 3 * np.asarray(p) / batch) * math.sqrt(2)
    assert np.all(np.abs(xs.mean(0) - xd.mean(0)) < tol)


# --- the quick compare sweep ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def quick_rows():
    config = sp.CompareConfig.preset("quick")
    # same sweep name as the compare verb: a later verb test in this process reuses the program
    data = sp.run_config(config, name="superposition-compare", progress=False)
    return sp.comparison_rows(
        data, window=config.window, n_boot=config.n_boot, exp_scale=config.exp_scale
    )


def test_quick_strong_run_is_strong_and_closer_to_one_over_m(quick_rows):
    rows = [r for r in quick_rows if r.params["law"] == "power"]
    alpha_m = {(r.params["gamma"], r.params["alpha"]): r for r in rows if r.quantity == "alpha_m"}
    phi = {(r.params["gamma"], r.params["alpha"]): r for r in rows if r.quantity == "phi_half"}
    strong = [k for k in alpha_m if k[0] < 0]
    weak = [k for k in alpha_m if k[0] > 0]
    assert strong and weak
    for k in strong:
        assert phi[k].measured > 0.95  # every row represented (phi_1/2 ≈ 1)
    for k in weak:
        assert phi[k].measured < 0.6
    for ks in strong:
        kw = next(k for k in weak if k[1] == ks[1])
        assert abs(alpha_m[ks].measured - 1) < abs(alpha_m[kw].measured - 1)
