"""Scheduler array jobs without a coordinator: ``--shard I/N``, ``solvable status``, chunk sizing.

Every test can fail: shards are compared bit for bit with one unsharded run of the same grid
and chunk size (across chunk sizes XLA may round a batched matmul differently in the last bit:
test_sweep checks that invariance to rtol 1e-6), status counts with counts derived from that run,
and chunk sizes with the memory they were given.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from helpers import TOY_GRID, toy_build, toy_values

from simulations import cli, shards, status, store, sweep

TESTS = Path(__file__).resolve().parent
N_ROWS = TOY_GRID.n_points * TOY_GRID.seeds  # 24 rows per static group, 2 groups
CHUNK = 4  # one chunk size for every run compared bit for bit (see the module docstring)
_REFERENCE = None


def _reference():
    global _REFERENCE
    if _REFERENCE is None:
        _REFERENCE = _run()
    return _REFERENCE


def _assert_same(result):
    for got, want in zip(toy_values(result), toy_values(_reference()), strict=True):
        for g, w in zip(got, want, strict=True):
            np.testing.assert_array_equal(g, w)


def _run(**kw):
    return sweep.run_sweep(toy_build, TOY_GRID, chunk_size=CHUNK, progress=False, **kw)


def _shard(path, spec):
    """Run one shard in this process; return its ShardDone."""
    with pytest.raises(shards.ShardDone) as done:
        _run(store=path, shard=spec)
    return done.value


def _count_writes(monkeypatch) -> list:
    written: list = []
    real = store.SweepStore.write_chunk

    def counting(self, group, experiment, rows, *args, **kwargs):
        written.append((group, len(rows)))
        return real(self, group, experiment, rows, *args, **kwargs)

    monkeypatch.setattr(store.SweepStore, "write_chunk", counting)
    return written


_SHARD_SCRIPT = textwrap.dedent(
    """
    import glob, sys, time
    sys.path.insert(0, {tests!r})
    from helpers import toy_build
    from simulations import shards, sweep

    grid = sweep.Grid.product(static={{"n": [8]}}, swept={{"a": [1.0, 100.0], "b": [0.0, 1.5]}},
                              seeds=6)

    # a barrier: every shard starts its sweep once all three have imported jax
    open({ready!r} + {spec!r}.replace("/", "-"), "w").close()
    while len(glob.glob({ready!r} + "*")) < 3:
        time.sleep(0.002)
    try:
        sweep.run_sweep(toy_build, grid, store={store!r}, shard={spec!r}, chunk_size={chunk},
                        progress=False)
    except shards.ShardDone as done:
        print("DONE", sum(done.missing.values()), done.computed)
    """
)


def test_concurrent_shard_processes_fill_one_store_bit_identical(tmp_path, monkeypatch):
    path = tmp_path / "store"
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    ready = str(tmp_path / "ready-")
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                _SHARD_SCRIPT.format(
                    tests=str(TESTS), store=str(path), spec=f"{i}/3", ready=ready, chunk=CHUNK
                ),
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(3)
    ]
    outs = [p.communicate(timeout=240) for p in procs]
    for p, (_, err) in zip(procs, outs):
        assert p.returncode == 0, err[-3000:]
    done = [line.split() for out, _ in outs for line in out.splitlines() if line.startswith("DONE")]
    assert len(done) == 3
    assert all(int(computed) == 8 for _, _, computed in done)  # 24 rows: 8 per shard
    assert min(int(left) for _, left, _ in done) == 0  # the last one to finish saw none left
    assert not list(path.glob("lock*"))
    assert sorted(p.name for p in path.glob("checksums*.jsonl")) == [
        f"checksums-{i}-of-3.jsonl" for i in range(3)
    ]
    grid = sweep.Grid.product(
        static={"n": [8]}, swept={"a": [1.0, 100.0], "b": [0.0, 1.5]}, seeds=6
    )
    reference = sweep.run_sweep(toy_build, grid, chunk_size=CHUNK, progress=False)
    report = status.store_status(path)
    assert report.complete and report.shards == 3
    assert [c.done for c in report.counts] == [8, 8, 8] and report.total.diverged == 18
    # Without --shard: reads the complete store, computes nothing, same bits.
    written = _count_writes(monkeypatch)
    again = sweep.run_sweep(toy_build, grid, store=path, chunk_size=CHUNK, progress=False)
    assert written == []
    for result in (store.open_sweep(path), again):
        for got, want in zip(toy_values(result), toy_values(reference), strict=True):
            for g, w in zip(got, want, strict=True):
                np.testing.assert_array_equal(g, w)


def test_shards_in_turn_report_what_remains_and_never_return_partial_results(tmp_path, monkeypatch):
    path = tmp_path / "store"
    first = _shard(path, "0/3")
    assert first.computed == 16 and first.total == 2 * N_ROWS
    assert first.missing == {shards.Shard(0, 3): 0, shards.Shard(1, 3): 16, shards.Shard(2, 3): 16}
    assert "shard 0/3 finished" in str(first) and "32 of 48 rows remain" in str(first)
    again = _shard(path, (0, 3))  # rerun of a finished shard: nothing to compute
    assert again.computed == 0
    with pytest.warns(UserWarning, match="partial: 32 of 48 rows missing"):
        partial = store.open_sweep(path)
    assert not partial.complete and partial.missing == 32
    assert partial.groups[0].attrs["missing_rows"] == 16
    assert not partial.groups[0]["complete"].values.all()
    assert _shard(path, "2/3").missing[shards.Shard(1, 3)] == 16
    last = _shard(path, "1/3")
    assert sum(last.missing.values()) == 0 and "0 of 48 rows remain" in str(last)
    # A shard of a store complete when it starts reads it like an unsharded run (next sweep).
    written = _count_writes(monkeypatch)
    _assert_same(_run(store=path, shard="2/3"))
    with shards.sharding("1/3"):  # a command's --shard: the same, through the context
        _assert_same(_run(store=path))
        _assert_same(_run())  # no store: ignored
    _assert_same(store.open_sweep(path))
    assert written == []


def test_more_shards_than_rows_of_a_group(tmp_path):
    # 2 rows per group, 3 shards: shard 2/3 owns no row of group 0, shard 1/3 none of group 1.
    grid = sweep.Grid.product(static={"n": [3, 8]}, swept={"a": [1.0], "b": [1.5]}, seeds=2)
    assert [len(shards.shard_rows(shards.Shard(2, 3), g, 2)) for g in (0, 1)] == [0, 1]
    path = tmp_path / "s"
    for spec in ("2/3", "1/3", "0/3"):
        with pytest.raises(shards.ShardDone):
            sweep.run_sweep(toy_build, grid, store=path, shard=spec, chunk_size=1, progress=False)
    reference = sweep.run_sweep(toy_build, grid, chunk_size=1, progress=False)
    for got, want in zip(toy_values(store.open_sweep(path)), toy_values(reference), strict=True):
        for g, w in zip(got, want, strict=True):
            np.testing.assert_array_equal(g, w)


def test_status_counts_done_missing_diverged_quarantined(tmp_path, capsys):
    path = tmp_path / "out" / "sweep"
    _shard(path, "0/3")
    _shard(path, "2/3")
    flags = [g["diverged"].values.reshape(-1) for g in _reference().groups]

    def expected(i, done):
        rows = [shards.shard_rows(shards.Shard(i, 3), g, N_ROWS) for g in range(2)]
        n = sum(len(r) for r in rows)
        div = sum(int(f[r].sum()) for f, r in zip(flags, rows)) if done else 0
        return n, div

    report = status.store_status(path)
    assert report.shards == 3 and not report.complete
    for i, done in ((0, True), (1, False), (2, True)):
        c = report.counts[i]
        n, div = expected(i, done)
        assert (c.rows, c.done, c.missing, c.diverged, c.quarantined) == (
            n,
            n if done else 0,
            0 if done else n,
            div,
            0,
        )
    assert report.total.diverged == sum(expected(i, True)[1] for i in (0, 2)) > 0
    # Damage one chunk of shard 0: its rows count as quarantined (and missing) until rerun.
    log = [json.loads(x) for x in (path / "checksums-0-of-3.jsonl").read_text().splitlines()]
    victim = path / log[1]["chunk"]
    n_lost = len(shards.decode_rows(log[1]["rows"]))
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0xFF
    victim.write_bytes(bytes(data))
    damaged = status.store_status(path)
    assert damaged.counts[0].quarantined == n_lost > 0
    assert damaged.counts[0].done == report.counts[0].done - n_lost
    assert damaged.total.quarantined == n_lost and damaged.damaged
    assert victim.exists()  # status never moves files
    assert cli.main(["status", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "0/3" in out and "quarantined" in out and f"partial: {16 + n_lost} of 48" in out
    # the shard's rerun quarantines and recomputes them
    with pytest.warns(UserWarning, match="quarantine"):
        assert _shard(path, "0/3").computed == n_lost
    healed = status.store_status(path)
    assert healed.counts[0].quarantined == 0 and healed.counts[0].missing == 0
    assert status.store_status(path, shards=1).total.missing == 16
    with pytest.raises(SystemExit) as exc:
        cli.main(["status", str(tmp_path / "nothing-here")])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is not a directory" in err[0]
    (tmp_path / "empty").mkdir()
    with pytest.raises(store.StoreError, match="holds no sweep store"):
        status.find_stores(tmp_path / "empty")


def test_locks_let_one_partition_write_at_once_and_refuse_the_rest(tmp_path):
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    path = tmp_path / "store"
    try:
        path.mkdir()
        owner = {"pid": sleeper.pid, "host": os.uname().nodename, "started": time.time()}
        (path / "lock-0-of-3").write_text(json.dumps(owner))
        _shard(path, "1/3")  # same partition: runs beside shard 0/3
        with pytest.raises(store.StoreLockedError, match=f"shard 0/3 \\(pid {sleeper.pid}"):
            _run(store=path)
        with pytest.raises(store.StoreLockedError, match="conflicts with shard 0/2"):
            _shard(path, "0/2")
        with pytest.raises(store.StoreLockedError, match=f"pid {sleeper.pid}"):
            _shard(path, "0/3")  # the same shard twice
        assert sorted(p.name for p in path.glob("lock*")) == ["lock-0-of-3"]
    finally:
        sleeper.kill()
        sleeper.wait()
    with pytest.warns(UserWarning, match="stale lock"):
        _assert_same(_run(store=path))
    assert not list(path.glob("lock*"))


def test_chunk_sizing_follows_free_memory_and_the_groups_rows(monkeypatch, tmp_path):
    monkeypatch.setattr(sweep, "available_memory", lambda device: 1000.0)  # 500 B usable
    dev = [object()]
    assert sweep.chunk_rows(100.0, 24, dev, "x") == 5  # memory-bound
    assert sweep.chunk_rows(1.0, 24, dev, "x") == 24  # capped at the rows (no padding)
    assert sweep.chunk_rows(None, 1000, dev, "x") == 64  # unknown footprint
    assert sweep.chunk_rows(10.0, 1000, dev * 2, "x") == 100  # 50 per device
    assert sweep.chunk_rows(1.0, 3, dev * 2, "x", chunk_size=7) == 4  # rows, rounded to 2 devices
    assert sweep.chunk_rows(100.0, 24, dev, "x", chunk_size=3) == 3
    with pytest.raises(ValueError, match="x: one run needs about 600 B"):
        sweep.chunk_rows(600.0, 24, dev, "x")
    # End to end: n=8 needs 320 B per run (3 fit in 960 B), n=3 60 B (16 fit): same bits.
    monkeypatch.setattr(sweep, "available_memory", lambda device: 1920.0)
    written = _count_writes(monkeypatch)
    result = sweep.run_sweep(toy_build, TOY_GRID, store=tmp_path / "s", progress=False)
    for got, want in zip(toy_values(result), toy_values(_reference()), strict=True):
        for g, w in zip(got, want, strict=True):
            np.testing.assert_allclose(g, w, rtol=1e-6, atol=1e-7)
    by_group = {g: max(n for gg, n in written if gg == g) for g in (0, 1)}
    assert by_group == {0: 16, 1: 3}  # group 0 is n=3, group 1 is n=8


@pytest.mark.parametrize("bad", ["0/0", "3/3", "x", "-1/2", "1/2/3", (2, 2), (True, 2)])
def test_bad_shard_values_fail_at_once_in_one_line(bad, tmp_path, monkeypatch, capsys):
    def no_compile(*args, **kwargs):
        raise AssertionError("compiled before validating")

    monkeypatch.setattr(sweep.jax, "jit", no_compile)
    with pytest.raises(ValueError, match=r"shard must be I/N with integers 0 <= I < N \(N >= 1\)"):
        sweep.run_sweep(toy_build, TOY_GRID, store=tmp_path / "s", shard=bad, progress=False)
    assert not (tmp_path / "s").exists()
    monkeypatch.undo()  # importing a model's commands jits its functions at import time
    if isinstance(bad, str):  # the option is parsed before the command runs
        with pytest.raises(SystemExit) as exc:
            cli.main(["run", "lottery", "--quick", "--shard", bad, "--out", str(tmp_path / "o")])
        assert exc.value.code == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "--shard must be I/N with integers 0 <= I < N" in err[0]
        assert repr(bad) in err[0] and not (tmp_path / "o").exists()


def test_shard_needs_a_store_and_cannot_overwrite(tmp_path, capsys):
    with pytest.raises(ValueError, match="shard='0/2' needs a store"):
        sweep.run_sweep(toy_build, TOY_GRID, shard="0/2", progress=False)
    with pytest.raises(SystemExit):
        cli.main(["run", "lottery", "--shard", "0/2", "--overwrite", "--out", str(tmp_path)])
    assert "--overwrite cannot be combined with --shard" in capsys.readouterr().err


def test_cli_shards_then_one_plain_run_analyses_the_same_numbers(tmp_path, capsys):
    argv = ["run", "lottery", "--quick", "--widths", "4", "--seeds", "4", "--adam-steps", "20"]
    argv += ["--n-boot", "20", "--no-progress"]
    sharded, plain = tmp_path / "sharded", tmp_path / "plain"
    assert cli.main([*argv, "--out", str(sharded), "--shard", "1/2"]) == 0
    out = capsys.readouterr().out
    assert "shard 1/2 finished" in out and "2 of 4 rows remain in shards 0/2" in out
    assert "solvable status" in out
    assert "MSE" not in out  # a shard never analyses
    assert cli.main(["status", str(sharded)]) == 0
    assert "partial: 2 of 4 rows missing (shards 0/2)" in capsys.readouterr().out
    assert cli.main([*argv, "--out", str(sharded), "--shard", "0/2"]) == 0
    assert "0 of 4 rows remain" in capsys.readouterr().out
    assert cli.main([*argv, "--out", str(sharded)]) == 0
    analysed = capsys.readouterr().out
    assert "MSE" in analysed and "results in" in analysed
    assert cli.main([*argv, "--out", str(plain)]) == 0
    capsys.readouterr()
    # shards ran chunks of 2 rows, the plain run one of 4: equal up to rounding
    a, b = store.open_sweep(sharded / "sweep"), store.open_sweep(plain / "sweep")
    for ga, gb in zip(a.groups, b.groups, strict=True):
        for name in ga.data_vars:
            np.testing.assert_allclose(ga[name].values, gb[name].values, rtol=1e-9)
