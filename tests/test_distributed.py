"""Multi-process sweeps on JAX's distributed runtime: 2 local processes x 2 fake CPU devices each.

Every test can fail: the processes' results are compared with one process on one device (the
reference, computed here), value by value. Tolerance: rtol 1e-6 (not bit equality) because the
reference runs 4 rows per device call and each process 2 rows per device, and XLA may round a
batched matmul differently in the last bit across batch shapes (test_sweep checks chunk-size
invariance to the same rtol); every key depends only on (config, seed), so anything beyond
rounding (a row computed with another key, a row lost or written twice) fails it by O(1).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import jax
import numpy as np
import pytest
from helpers import TOY_GRID, toy_build, toy_values

from simulations import distributed, status, store, sweep

TESTS = Path(__file__).resolve().parent
N_ROWS = 2 * TOY_GRID.n_points * TOY_GRID.seeds  # 48 rows: 2 static groups x 6 points x 4 seeds
CHUNK = 4

_SCRIPT = textwrap.dedent(
    """
    import json, sys, time
    sys.path.insert(0, {tests!r})
    from simulations import distributed
    distributed.initialize(heartbeat_timeout_seconds=10)  # from JAX_* variables, before any device
    import jax
    import numpy as np
    from helpers import TOY_GRID, toy_build, toy_values
    from simulations import store, sweep

    written = []
    real = store.SweepStore.write_chunk

    def write_chunk(self, group, experiment, rows, *args, **kwargs):
        out = real(self, group, experiment, rows, *args, **kwargs)
        written.append(len(rows))
        print("WROTE", len(written), flush=True)
        time.sleep({pause})  # > 0: slow writer, so a test can kill it mid-sweep
        return out

    store.SweepStore.write_chunk = write_chunk
    result = sweep.run_sweep(toy_build, TOY_GRID, store={store!r}, chunk_size={chunk},
                             progress=False)
    values = [[np.asarray(v).tolist() for v in g] for g in toy_values(result)]
    devices = [d.id for d in jax.local_devices()]
    print("RESULT", json.dumps({{"computed": sum(written), "values": values,
                                "devices": devices, "process": jax.process_index()}}), flush=True)
    distributed.shutdown()
    """
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _launch(path: Path, pause: float = 0.0, n: int = 2) -> list[subprocess.Popen]:
    port = _free_port()
    procs = []
    for i in range(n):
        env = {
            **os.environ,
            "JAX_PLATFORMS": "cpu",
            "XLA_FLAGS": "--xla_force_host_platform_device_count=2",
            "JAX_COORDINATOR_ADDRESS": f"127.0.0.1:{port}",
            "JAX_NUM_PROCESSES": str(n),
            "JAX_PROCESS_ID": str(i),
        }
        script = _SCRIPT.format(tests=str(TESTS), store=str(path), chunk=CHUNK, pause=pause)
        procs.append(
            subprocess.Popen(
                [sys.executable, "-c", script],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    return procs


def _results(procs) -> list[dict]:
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (_, err) in zip(procs, outs):
        assert p.returncode == 0, err[-3000:]
    found = [
        json.loads(line[len("RESULT ") :])
        for out, _ in outs
        for line in out.splitlines()
        if line.startswith("RESULT ")
    ]
    assert len(found) == len(procs)
    return sorted(found, key=lambda r: r["process"])


_REFERENCE = None


def _reference():
    """One process, one device (this test process), no store."""
    global _REFERENCE
    if _REFERENCE is None:
        result = sweep.run_sweep(
            toy_build, TOY_GRID, chunk_size=CHUNK, progress=False, devices=jax.devices()[:1]
        )
        _REFERENCE = toy_values(result)
    return _REFERENCE


def _max_abs_diff(values) -> float:
    """Largest |difference| from the reference over every finite output (asserts rtol 1e-6)."""
    worst = 0.0
    for got, want in zip(values, _reference(), strict=True):
        for g, w in zip(got, want, strict=True):
            g, w = np.asarray(g, dtype=np.asarray(w).dtype), np.asarray(w)
            np.testing.assert_allclose(g, w, rtol=1e-6)  # also NaN/inf at the same places
            ok = np.isfinite(w) if np.issubdtype(w.dtype, np.floating) else slice(None)
            if np.size(w[ok]):
                worst = max(worst, float(np.max(np.abs(g[ok].astype(float) - w[ok]))))
    return worst


def test_two_processes_two_devices_each_match_one_process_one_device(tmp_path):
    path = tmp_path / "store"
    results = _results(_launch(path))
    assert [r["devices"] for r in results] == [[0, 1], [2048, 2049]]  # each its own devices
    # Process p computes shard p/2's rows: half of the 48 each, nothing twice.
    assert [r["computed"] for r in results] == [N_ROWS // 2, N_ROWS // 2]
    for r in results:  # both return the whole sweep
        _max_abs_diff(r["values"])
    report = status.store_status(path)
    assert report.complete and report.shards == 2 and [c.done for c in report.counts] == [24, 24]
    assert json.loads((path / "manifest.json").read_text())["complete"] is True
    assert not list(path.glob("lock*"))
    # The store read back (one process, no runtime) holds the same numbers.
    _max_abs_diff(toy_values(store.open_sweep(path)))


@pytest.mark.slow
def test_killed_process_then_rerun_recomputes_only_missing_rows(tmp_path):
    path = tmp_path / "store"
    procs = _launch(path, pause=1.0)  # 1 s per chunk: 6 chunks per process ≈ 6 s of writing
    victim = procs[1]
    seen = 0
    deadline = time.time() + 240
    while seen < 2 and time.time() < deadline:  # let process 1 write 2 of its 6 chunks
        line = victim.stdout.readline()
        if not line:  # it ended before writing: show why
            for p in procs:
                p.kill()
            raise AssertionError(victim.stderr.read()[-3000:] + procs[0].stderr.read()[-3000:])
        seen += line.startswith("WROTE")
    assert seen == 2
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    try:  # the survivor fails at the barrier (peer gone) or is cancelled, like a scheduler would
        procs[0].wait(timeout=60)
    except subprocess.TimeoutExpired:
        procs[0].kill()
        procs[0].wait()
    for p in procs:
        p.stdout.close()
        p.stderr.close()
    before = status.store_status(path, shards=2)
    assert not before.complete
    assert before.counts[1].done >= 2 * CHUNK // 2  # its 2 chunks (2 rows per device) survived
    missing = before.total.missing
    assert 0 < missing < N_ROWS
    results = _results(_launch(path))
    assert sum(r["computed"] for r in results) == missing  # only the missing rows, once
    assert [r["computed"] for r in results] == [c.missing for c in before.counts]
    for r in results:
        _max_abs_diff(r["values"])
    assert status.store_status(path).complete


def test_requested_and_initialize_checks(monkeypatch):
    env = {"JAX_COORDINATOR_ADDRESS": "127.0.0.1:1234", "JAX_NUM_PROCESSES": "2"}
    assert not distributed.requested(env={})
    assert distributed.requested(True, env={})
    assert not distributed.requested(env=env)  # two of three: not a multi-process run
    assert distributed.requested(env={**env, "JAX_PROCESS_ID": "1"})
    assert not distributed.requested(
        env={**env, "JAX_PROCESS_ID": "1", "SOLVABLE_DISTRIBUTED": "0"}
    )
    assert distributed.requested(env={"SLURM_STEP_NUM_TASKS": "4"})
    assert not distributed.requested(env={"SLURM_STEP_NUM_TASKS": "1", "SLURM_NTASKS": "4"})
    assert distributed.requested(env={"OMPI_COMM_WORLD_SIZE": "2"})
    # Bad variables: one line naming the variable, before JAX is touched.
    with pytest.raises(ValueError, match="JAX_PROCESS_ID not"):
        distributed.initialize(env=env)
    with pytest.raises(ValueError, match=r"JAX_PROCESS_ID must be an integer in \[0, 1\], got '2'"):
        distributed.initialize(env={**env, "JAX_PROCESS_ID": "2"})
    with pytest.raises(ValueError, match="JAX_NUM_PROCESSES must be an integer, got 'two'"):
        distributed.initialize(env={**env, "JAX_NUM_PROCESSES": "two", "JAX_PROCESS_ID": "0"})
    with pytest.raises(ValueError, match="host:port"):
        distributed.initialize(env={**env, "JAX_COORDINATOR_ADDRESS": "x", "JAX_PROCESS_ID": "0"})
    # A single process: no shard, main, barrier is a no-op.
    assert distributed.process_shard() is None and distributed.is_main()
    distributed.barrier("nothing to wait for")


def test_worker_outputs_map_stores_under_scratch_to_out(tmp_path):
    scratch, out = tmp_path / "scratch", tmp_path / "out"
    scratch.mkdir()
    assert distributed.shared_path(scratch / "sweep") == str(scratch / "sweep")
    with distributed.worker_outputs(scratch, out):
        assert distributed.shared_path(scratch / "sweep") == str(out / "sweep")
        assert distributed.shared_path(scratch / "a" / "b") == str(out / "a" / "b")
        assert distributed.shared_path(tmp_path / "elsewhere") == str(tmp_path / "elsewhere")
    assert distributed.shared_path(scratch / "sweep") == str(scratch / "sweep")


# --- benchmarks/device_check.py ------------------------------------------------------------------
ROOT = TESTS.parent


def _device_check_module():
    import importlib.util

    sys.path.insert(0, str(ROOT / "benchmarks"))
    spec = importlib.util.spec_from_file_location(
        "device_check", ROOT / "benchmarks/device_check.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_paper_preset_costs_scale_as_the_formulas_say():
    rows = _device_check_module().preset_costs()
    sup, plrf_rows = rows[0], rows[1:]
    assert "superposition" in sup["preset"] and sup["flops"] > 1e17 and sup["runs"] >= 1000
    # One accelerator: every paper-scale run fits in the 0.5 x 80 GB the engine would use.
    assert sup["bytes_per_run"] < 40e9 and plrf_rows[0]["bytes_per_run"] < 40e9
    assert [r["runs"] for r in plrf_rows] == [1024] * 3  # >= 1024 seeds at every size
    (d0, d1, d2) = (int(r["sizes"].split()[2].rstrip(",")) for r in plrf_rows)
    assert (d0, d1, d2) == (4096, 8192, 16384)
    # Doubling d: float64 work (kernel + eigh) x 8, SGD FLOPs x 2 (same capped steps).
    ratio64 = plrf_rows[2]["flops_float64"] / plrf_rows[1]["flops_float64"]
    assert 7.9 < ratio64 < 8.1
    assert plrf_rows[2]["flops"] / plrf_rows[1]["flops"] == pytest.approx(2.0, rel=1e-3)
    assert 3.5 < plrf_rows[2]["bytes_per_run"] / plrf_rows[1]["bytes_per_run"] < 4.5


@pytest.mark.slow
def test_device_check_cpu_smoke_writes_every_section(tmp_path):
    # ~45-60 s on 2 busy cores (over the 30 s budget of the default suite): slow.
    out = tmp_path / "check.json"
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    env["XLA_FLAGS"] = "--xla_force_host_platform_device_count=2"  # 1 device and all (2)
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks/device_check.py"), "--cpu-smoke", "--out", out],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["mode"] == "cpu-smoke" and result["device_count"] == 2
    assert result["matmul_peak_flops"]["default"] > 0
    for name, rate in (
        ("plrf_sgd", "samples_per_second"),
        ("superposition", "steps_per_second"),
        ("ridge", "solves_per_second"),
        ("lottery", "nets_per_second"),
    ):
        entries = result[name]
        assert isinstance(entries, list), entries  # a failed section is a dict with its error
        assert {e["devices"] for e in entries} == {1, 2}
        assert all(e[rate] > 0 and 0 < e["fraction_of_matmul_peak"] for e in entries)
    agree = result["agreement"]
    assert agree["matmul_precision"] == "highest" and agree["agrees"], agree
    hours = result["paper_preset_hours"]
    assert isinstance(hours, list) and all(h["hours"] > 0 for h in hours[:-1]), hours


# --- the command line ----------------------------------------------------------------------------
def test_cli_refuses_shard_with_distributed_and_bad_variables(tmp_path, capsys, monkeypatch):
    from simulations import cli

    argv = ["run", "plrf", "--quick", "--no-progress", "--out", str(tmp_path / "o")]
    with pytest.raises(SystemExit):
        cli.main([*argv, "--distributed", "--shard", "0/2"])
    assert "--shard cannot be combined with --distributed" in capsys.readouterr().err
    monkeypatch.setenv("JAX_COORDINATOR_ADDRESS", "127.0.0.1:1")
    monkeypatch.setenv("JAX_NUM_PROCESSES", "2")
    monkeypatch.setenv("JAX_PROCESS_ID", "5")  # automatic (all three set), out of range
    with pytest.raises(SystemExit):
        cli.main(argv)
    assert "JAX_PROCESS_ID must be an integer in [0, 1], got '5'" in capsys.readouterr().err
    assert not jax.distributed.is_initialized()  # refused before the runtime starts


@pytest.mark.slow
def test_cli_two_processes_match_one_process(tmp_path):
    # ~100 s on 2 cores: `compare random-features --quick` (5 stored sweeps) in one process, then
    # as 2 processes x 2 devices; process 0's comparison.csv against the single process's.
    argv = ["compare", "random-features", "--quick", "--no-progress"]
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    one = subprocess.run(
        [sys.executable, "-m", "simulations.cli", *argv, "--out", str(tmp_path / "one")],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert one.returncode == 0, one.stderr[-3000:]
    port = _free_port()
    env |= {
        "XLA_FLAGS": "--xla_force_host_platform_device_count=2",
        "JAX_COORDINATOR_ADDRESS": f"127.0.0.1:{port}",
        "JAX_NUM_PROCESSES": "2",
    }
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "simulations.cli", *argv, "--out", str(tmp_path / "two")],
            env={**env, "JAX_PROCESS_ID": str(i)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    outs = [p.communicate(timeout=600) for p in procs]
    for p, (_, err) in zip(procs, outs):
        assert p.returncode == 0, err[-3000:]
    assert "results in" in outs[0][0] and "results in" not in outs[1][0]  # process 0 writes
    for store_dir in (tmp_path / "two" / "sweep").iterdir():
        report = status.store_status(store_dir)
        assert report.complete and report.shards == 2 and all(c.done for c in report.counts)
    with (
        open(tmp_path / "one" / "comparison.csv") as fa,
        open(tmp_path / "two" / "comparison.csv") as fb,
    ):
        rows_a, rows_b = fa.read().splitlines(), fb.read().splitlines()
    assert len(rows_a) == len(rows_b) > 1 and rows_a[0] == rows_b[0]
    for a, b in zip(rows_a[1:], rows_b[1:]):
        for x, y in zip(a.split(","), b.split(",")):
            try:
                fx, fy = float(x), float(y)
            except ValueError:
                assert x == y
                continue
            assert fx == pytest.approx(fy, rel=1e-6, abs=1e-12)  # see the module docstring
