"""Fault injection on the store: kills, corrupted chunks, swapped experiments, two writers.

Every test can fail: each compares against a clean in-memory run of the same grid and asserts
exact equality (the store keeps bits), or asserts that the refusal names what differs.
"""

from __future__ import annotations

import functools
import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from helpers import TOY_GRID, toy_build, toy_values

from simulations import fit, results, store, sweep

TESTS = Path(__file__).resolve().parent
REFERENCE = None


def _reference():
    global REFERENCE
    if REFERENCE is None:
        REFERENCE = toy_values(sweep.run_sweep(toy_build, TOY_GRID, chunk_size=3, progress=False))
    return REFERENCE


def _assert_same(result):
    for got, want in zip(toy_values(result), _reference(), strict=True):
        for g, w in zip(got, want, strict=True):
            np.testing.assert_array_equal(g, w)


def _resume(path, **kw):
    return sweep.run_sweep(toy_build, TOY_GRID, store=path, chunk_size=3, progress=False, **kw)


_WRITER = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, {tests!r})
    from helpers import TOY_GRID, toy_build
    from simulations import sweep

    def slow(static):
        exp = toy_build(static)
        def run(key, p):
            return exp.run(key, p)
        return exp._replace(run=run)

    # chunk of 1 run: many chunks, so a kill lands between, inside and after chunk writes
    sweep.run_sweep(toy_build, TOY_GRID, store={store!r}, chunk_size=1, progress=False)
    """
)


def _spawn_writer(path: Path) -> subprocess.Popen:
    code = _WRITER.format(tests=str(TESTS), store=str(path))
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    return subprocess.Popen([sys.executable, "-c", code], env=env)


def _kill_after_some_chunks(path: Path, rng: random.Random) -> int:
    """Start a writer, SIGKILL it once a random number of chunks exist; return chunks seen."""
    proc = _spawn_writer(path)
    target = rng.randint(1, 30)
    deadline = time.monotonic() + 120
    n = 0
    while proc.poll() is None and time.monotonic() < deadline:
        n = len(list(path.glob("group-*/chunk-*.nc")))
        if n >= target:
            time.sleep(rng.random() * 0.05)  # land anywhere inside the next write
            break
        time.sleep(0.005)
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    return n


@pytest.mark.parametrize("seed", [0, 1])
def test_sigkill_then_resume_gives_identical_results(tmp_path, seed):
    rng = random.Random(seed)
    kills = 0
    for _ in range(2):
        _kill_after_some_chunks(tmp_path, rng)
        kills += 1
    assert (tmp_path / "manifest.json").exists()
    with pytest.warns(UserWarning, match="stale lock"):
        result = _resume(tmp_path)  # the killed writer's lock is stale: taken over
    _assert_same(result)
    _assert_same(store.open_sweep(tmp_path))
    assert not (tmp_path / "lock").exists()
    assert kills == 2


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(2, 12))
def test_many_sigkills_then_resume(tmp_path, seed):
    rng = random.Random(seed)
    for _ in range(4):
        _kill_after_some_chunks(tmp_path, rng)
    with pytest.warns(UserWarning):
        _assert_same(_resume(tmp_path))


def _chunks(path):
    return sorted(path.glob("group-*/chunk-*.nc"))


@pytest.mark.parametrize("damage", ["truncate", "flip", "delete", "garbage"])
def test_damaged_chunk_is_quarantined_and_recomputed(tmp_path, damage):
    _resume(tmp_path)
    victim = _chunks(tmp_path)[3]
    if damage == "truncate":
        victim.write_bytes(victim.read_bytes()[: victim.stat().st_size // 2])
    elif damage == "flip":
        data = bytearray(victim.read_bytes())
        data[len(data) // 2] ^= 0xFF
        victim.write_bytes(bytes(data))
    elif damage == "delete":
        victim.unlink()
    else:
        victim.write_bytes(b"not a netCDF file")
    if damage == "delete":
        result = _resume(tmp_path)
    else:
        with pytest.warns(UserWarning, match="quarantine"):
            result = _resume(tmp_path)
        assert list((tmp_path / "quarantine").iterdir())
    _assert_same(result)
    _assert_same(store.open_sweep(tmp_path))


def test_open_sweep_reports_a_bad_chunk_and_never_crashes(tmp_path):
    _resume(tmp_path)
    victim = _chunks(tmp_path)[0]
    victim.write_bytes(victim.read_bytes()[:100])
    with pytest.warns(UserWarning, match="skipping"):
        opened = store.open_sweep(tmp_path)
    assert not opened.groups[0]["complete"].values.all()  # its rows are reported missing
    assert victim.exists()  # reading never moves files


def test_chunk_written_but_checksum_not_recorded_is_kept(tmp_path):
    _resume(tmp_path)
    log = tmp_path / "checksums.jsonl"
    lines = log.read_text().splitlines()
    log.write_text("\n".join(lines[1:]) + '\n{"chunk": "torn')  # killed: first record lost
    before = {p: p.stat().st_mtime_ns for p in _chunks(tmp_path)}
    _assert_same(_resume(tmp_path))
    assert {p: p.stat().st_mtime_ns for p in _chunks(tmp_path)} == before  # nothing recomputed


def test_checksums_are_appended_not_rewritten(tmp_path):
    _resume(tmp_path)
    entries = [json.loads(x) for x in (tmp_path / "checksums.jsonl").read_text().splitlines()]
    assert len(entries) == len(_chunks(tmp_path))
    assert "chunks" not in json.loads((tmp_path / "manifest.json").read_text())


def _other_builder(static):
    return toy_build(static)


def _with_setting(static, steps):
    return toy_build(static)


def test_a_different_experiment_on_the_same_store_is_refused(tmp_path):
    _resume(tmp_path)
    with pytest.raises(store.StoreMismatchError, match=r"experiment\.builder"):
        sweep.run_sweep(_other_builder, TOY_GRID, store=tmp_path, progress=False)
    other_grid = sweep.Grid.product(static={"n": [3, 8]}, swept={"a": [1.0], "b": [1.5]}, seeds=4)
    with pytest.raises(store.StoreMismatchError, match=r"grid"):
        sweep.run_sweep(toy_build, other_grid, store=tmp_path, progress=False)
    with pytest.raises(store.StoreMismatchError, match="base_seed"):
        sweep.run_sweep(toy_build, TOY_GRID, store=tmp_path, base_seed=1, progress=False)
    # overwrite=True replaces it
    sweep.run_sweep(_other_builder, TOY_GRID, store=tmp_path, overwrite=True, progress=False)
    assert json.loads((tmp_path / "manifest.json").read_text())["fingerprint"]["experiment"][
        "builder"
    ].endswith("_other_builder")


def _builder_with(scale):
    def build(static):
        exp = toy_build(static)
        return exp._replace(coords={**exp.coords, "step": np.arange(4) * scale})

    return build


def test_captured_settings_and_output_labels_are_part_of_the_fingerprint(tmp_path):
    short = functools.partial(_with_setting, steps=100)
    sweep.run_sweep(short, TOY_GRID, store=tmp_path, progress=False)
    longer = functools.partial(_with_setting, steps=200)
    with pytest.raises(store.StoreMismatchError, match="keywords"):
        sweep.run_sweep(longer, TOY_GRID, store=tmp_path, progress=False)
    # A setting captured by a builder closure (e.g. max_steps) relabels the checkpoints.
    other = tmp_path / "relabelled"
    sweep.run_sweep(_builder_with(1), TOY_GRID, store=other, progress=False)
    with pytest.raises(store.StoreMismatchError, match=r"closure\.scale.*coords\.step"):
        sweep.run_sweep(_builder_with(10), TOY_GRID, store=other, progress=False)


def test_a_second_writer_is_refused_and_a_stale_lock_taken_over(tmp_path):
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        tmp_path.mkdir(exist_ok=True)
        lock = {"pid": sleeper.pid, "host": os.uname().nodename, "started": time.time()}
        (tmp_path / "lock").write_text(json.dumps(lock))
        with pytest.raises(store.StoreLockedError, match=f"pid {sleeper.pid}"):
            _resume(tmp_path)
    finally:
        sleeper.kill()
        sleeper.wait()
    with pytest.warns(UserWarning, match="stale lock"):
        _assert_same(_resume(tmp_path))


def test_diverged_runs_are_flagged_excluded_and_counted():
    res = sweep.run_sweep(toy_build, TOY_GRID, progress=False)
    ds = res.group(n=8)
    a, b = ds["a"].values, ds["b"].values
    # b == 0: non-finite; a == 100: a finite blow-up (100^3 × the first value): both diverged.
    expected = (b == 0) | (a >= 100)
    np.testing.assert_array_equal(ds["diverged"].values.all(axis=1), expected)
    np.testing.assert_array_equal(ds["diverged"].values.any(axis=1), expected)
    assert np.isfinite(ds["curve"].sel(point=np.flatnonzero(a >= 100)[-1])).all()  # finite ...
    np.testing.assert_array_equal(results.count_diverged(ds), 4 * expected)  # ... but counted
    masked = results.mask_diverged(ds)
    assert np.isnan(masked["curve"].values[expected]).all()
    assert np.isfinite(masked["curve"].values[~expected]).all()
    # a fit over seeds never sees a diverged run
    ys = masked["curve"].values[np.flatnonzero(~expected)[0]]
    f = fit.bootstrap_power_law(np.arange(1.0, 5.0), np.abs(ys) + 1.0, n_boot=20)
    assert f.n_excluded_seeds == 0


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: sweep.run_sweep(toy_build, TOY_GRID, chunk_size=0), ValueError, "chunk_size"),
        (lambda: sweep.run_sweep(toy_build, TOY_GRID, chunk_size=2.5), TypeError, "chunk_size"),
        (lambda: sweep.run_sweep(toy_build, {"a": [1]}), TypeError, "grid"),
        (
            lambda: sweep.run_sweep(
                toy_build, sweep.Grid.product(static={"n": [0]}, swept={"a": [1.0], "b": [1.0]})
            ),
            ValueError,
            "n must be",
        ),
        (
            lambda: sweep.run_sweep(
                toy_build, sweep.Grid.product(static={"n": [4]}, swept={"a": [-1.0], "b": [1.0]})
            ),
            ValueError,
            "a must be > 0, got -1.0",
        ),
        (
            lambda: sweep.run_sweep(
                lambda s: toy_build(s)._replace(validate=None),
                sweep.Grid.product(static={"n": [4]}, swept={"a": [1.0], "b": [1.0]}),
            ),
            TypeError,
            "no validate",
        ),
        (
            lambda: sweep.run_sweep(
                lambda s: toy_build(s)._replace(bytes_per_run=1e18),
                sweep.Grid.product(static={"n": [4]}, swept={"a": [1.0], "b": [1.0]}),
            ),
            ValueError,
            r"n=4: one run needs about .* PB",
        ),
    ],
)
def test_bad_sweep_inputs_fail_before_compiling(call, error, match, monkeypatch):
    def no_compile(*args, **kwargs):
        raise AssertionError("compiled before validating")

    monkeypatch.setattr(sweep.jax, "jit", no_compile)
    with pytest.raises(error, match=match):
        call()


def test_chunks_shrink_to_fit_memory(monkeypatch):
    monkeypatch.setattr(sweep, "available_memory", lambda device: 1000.0)
    assert sweep.check_memory(100.0, 64, [object()], "x") == 5  # 500 usable bytes / 100
    assert sweep.check_memory(None, 64, [object()], "x") == 64
    with pytest.raises(ValueError, match="x: one run needs"):
        sweep.check_memory(600.0, 64, [object()], "x")


def test_files_follow_the_umask_and_provenance_is_the_librarys(tmp_path):
    _resume(tmp_path)
    umask = os.umask(0)
    os.umask(umask)
    for p in [tmp_path / "manifest.json", tmp_path / "checksums.jsonl", *_chunks(tmp_path)]:
        assert p.stat().st_mode & 0o777 == 0o666 & ~umask, p
    sha = json.loads((tmp_path / "manifest.json").read_text())["provenance"]["git_sha"]
    here = subprocess.run(
        [
            sys.executable,
            "-c",
            "from simulations import store; print(store.provenance()['git_sha'])",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert here == sha  # the library's own checkout, whatever the working directory
