"""The sweep engine and store: chunking/device invariance, resume, divergence flags, recompiles."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulations import store, sweep


def _build(static):
    """A toy experiment with random draws, a matmul and a run that diverges when ``b == 0``."""
    n = static["n"]

    def run(key, p):
        k1, k2 = jax.random.split(key)
        x = jax.random.normal(k1, (n,))
        a = jax.random.normal(k2, (n, n)) / n
        y = p["a"] * (a @ x) + p["b"]
        return {"y": y, "ratio": jnp.sum(x) / p["b"]}

    return sweep.Experiment(
        run=run, dims={"y": ("i",)}, coords={"i": np.arange(n)}, validate=_accept_any
    )


def _accept_any(point):
    """This toy runs any point (diverging ones included: that is what it tests)."""


GRID = sweep.Grid.product(static={"n": [3, 8]}, swept={"a": [1.0, 2.0], "b": [0.0, 1.5]}, seeds=3)


def _values(result):
    return [(g["y"].values, g["ratio"].values, g["finite"].values) for g in result.groups]


def test_grid_validation():
    with pytest.raises(ValueError, match="seeds"):
        sweep.Grid.product(swept={"a": [1.0]}, seeds=0)
    with pytest.raises(ValueError, match="equal lengths"):
        sweep.Grid.zipped(points={"a": [1.0, 2.0], "b": [1.0]})
    with pytest.raises(ValueError, match="both static and swept"):
        sweep.Grid.product(static={"a": [1]}, swept={"a": [1.0]})
    with pytest.raises(ValueError, match="chunk_size"):
        sweep.run_sweep(_build, GRID, chunk_size=0, progress=False)


def test_labels_and_divergence_flag():
    res = sweep.run_sweep(_build, GRID, chunk_size=5, progress=False)
    ds = res.group(n=8)
    assert ds["y"].dims == ("point", "seed", "i")
    assert ds["y"].shape == (4, 3, 8)
    np.testing.assert_array_equal(ds["a"].values, [1.0, 1.0, 2.0, 2.0])
    np.testing.assert_array_equal(ds["b"].values, [0.0, 1.5, 0.0, 1.5])
    # b == 0 divides by zero: flagged, kept out by mask_diverged, the rest of the sweep intact.
    np.testing.assert_array_equal(ds["finite"].values.all(axis=1), ds["b"].values != 0)
    masked = sweep.mask_diverged(ds)
    assert np.isnan(masked["ratio"].sel(point=0)).all()
    assert np.isfinite(masked["ratio"].sel(point=1)).all()
    assert ds["complete"].values.all()


def test_seeds_and_configs_get_distinct_streams():
    ds = sweep.run_sweep(_build, GRID, progress=False).group(n=8)
    y = ds["y"].values
    assert not np.allclose(y[1, 0], y[1, 1])  # seeds differ
    # Same seed, different a: different config key, so different draws (not just rescaled).
    assert not np.allclose(y[1, 0] - 1.5, (y[3, 0] - 1.5) / 2.0)


@settings(max_examples=6, deadline=None)
@given(chunk=st.integers(min_value=1, max_value=13))
def test_chunk_size_invariance(chunk):
    reference = _values(sweep.run_sweep(_build, GRID, chunk_size=64, progress=False))
    other = _values(sweep.run_sweep(_build, GRID, chunk_size=chunk, progress=False))
    for (y0, r0, f0), (y1, r1, f1) in zip(reference, other):
        np.testing.assert_allclose(y1, y0, rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(r1, r0, rtol=1e-6, atol=1e-7)
        np.testing.assert_array_equal(f1, f0)


def test_results_independent_of_other_grid_points():
    small = sweep.Grid.product(static={"n": [8]}, swept={"a": [2.0], "b": [1.5]}, seeds=3)
    y_small = sweep.run_sweep(_build, small, progress=False).groups[0]["y"].values[0]
    y_big = sweep.run_sweep(_build, GRID, progress=False).group(n=8)["y"].values[3]
    np.testing.assert_allclose(y_small, y_big, rtol=1e-6, atol=1e-7)


def test_one_trace_per_static_group():
    def build(static):
        return _build(static)

    name = "trace-guard"
    grid = sweep.Grid.product(
        static={"n": [4, 6]}, swept={"a": np.linspace(1, 2, 5), "b": [1.0, 2.0]}, seeds=2
    )
    sweep.run_sweep(build, grid, name=name, chunk_size=4, progress=False)
    assert sweep.trace_count(name) == 2
    sweep.run_sweep(build, grid, name=name, chunk_size=4, progress=False)  # cached: no retrace
    assert sweep.trace_count(name) == 2


def test_store_roundtrip_and_provenance(tmp_path):
    res = sweep.run_sweep(_build, GRID, store=tmp_path, chunk_size=4, progress=False)
    opened = store.open_sweep(tmp_path)
    for a, b in zip(res.groups, opened.groups):
        np.testing.assert_array_equal(a["y"].values, b["y"].values)
        np.testing.assert_array_equal(a["finite"].values, b["finite"].values)
        np.testing.assert_array_equal(a["a"].values, b["a"].values)
    attrs = opened.groups[0].attrs
    assert attrs["provenance.jax"] == jax.__version__
    assert "provenance.git_sha" in attrs
    assert json.loads(attrs["grid"])["seeds"] == 3
    assert attrs["complete"]


def test_store_refuses_a_different_sweep(tmp_path):
    sweep.run_sweep(_build, GRID, store=tmp_path, progress=False)
    other = sweep.Grid.product(static={"n": [3]}, swept={"a": [1.0]}, seeds=1)
    with pytest.raises(ValueError, match="different sweep"):
        sweep.run_sweep(_build, other, store=tmp_path, progress=False)


def test_resume_after_interruption(tmp_path):
    """Kill a sweep mid-way (an exception in the 3rd chunk); the rerun computes only the rest."""
    calls = {"n": 0}

    def flaky_build(static):
        exp = _build(static)
        return exp

    reference = sweep.run_sweep(_build, GRID, chunk_size=4, progress=False)

    real_write = store.SweepStore.write_chunk

    def write_then_die(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt("simulated interruption")
        return real_write(self, *args, **kwargs)

    store.SweepStore.write_chunk = write_then_die
    try:
        with pytest.raises(KeyboardInterrupt):
            sweep.run_sweep(flaky_build, GRID, store=tmp_path, chunk_size=4, progress=False)
    finally:
        store.SweepStore.write_chunk = real_write
    partial = store.open_sweep(tmp_path)
    n_done = sum(int(g["complete"].sum()) for g in partial.groups)
    assert n_done == 8  # two chunks of 4 rows survived
    assert not list(Path(tmp_path).rglob(".tmp-*"))  # no half-written files

    written = []

    def counting_write(self, group, experiment, rows, *args, **kwargs):
        written.extend((group, int(r)) for r in rows)
        return real_write(self, group, experiment, rows, *args, **kwargs)

    store.SweepStore.write_chunk = counting_write
    try:
        resumed = sweep.run_sweep(flaky_build, GRID, store=tmp_path, chunk_size=4, progress=False)
    finally:
        store.SweepStore.write_chunk = real_write
    assert len(written) == 2 * 12 - 8  # only the missing rows were recomputed
    for a, b in zip(reference.groups, resumed.groups):
        np.testing.assert_allclose(b["y"].values, a["y"].values, rtol=1e-6, atol=1e-7)
        assert b["complete"].values.all()


_SHARDED_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import jax, numpy as np
    sys.path.insert(0, {tests!r})
    from test_sweep import _build, GRID
    from simulations import sweep
    assert jax.device_count() == {n}, jax.devices()
    res = sweep.run_sweep(_build, GRID, chunk_size=5, progress=False)
    out = {{str(g.attrs["static.n"]): g["y"].values.tolist() for g in res.groups}}
    print("RESULT" + json.dumps(out))
    """
)


def _run_with_devices(n: int) -> dict:
    env = dict(os.environ)
    env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={n}"
    env["JAX_PLATFORMS"] = "cpu"
    script = _SHARDED_SCRIPT.format(tests=str(Path(__file__).parent), n=n)
    proc = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(l for l in proc.stdout.splitlines() if l.startswith("RESULT"))
    return json.loads(line[len("RESULT") :])


def test_sharding_over_fake_devices_gives_the_same_numbers():
    one, four = _run_with_devices(1), _run_with_devices(4)
    assert one.keys() == four.keys()
    for k in one:
        np.testing.assert_allclose(np.array(four[k]), np.array(one[k]), rtol=1e-6, atol=1e-7)


def test_config_key_depends_only_on_config():
    base = jax.random.key(0)
    k1 = sweep.config_key(base, {"d": 4}, {"alpha": 1.0})
    k2 = sweep.config_key(base, {"d": 4}, {"alpha": 1.0})
    k3 = sweep.config_key(base, {"d": 4}, {"alpha": 1.0000001})
    assert jnp.array_equal(jax.random.key_data(k1), jax.random.key_data(k2))
    assert not jnp.array_equal(jax.random.key_data(k1), jax.random.key_data(k3))
