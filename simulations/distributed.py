"""Many processes, one sweep: JAX's distributed runtime for GPU clusters, TPU pods and test rigs.

Engine layer between ``status`` and ``sweep`` (it imports only ``shards``).

A multi-process run (``solvable VERB MODEL --distributed``, or automatic from the environment,
see :func:`requested`) starts JAX's distributed runtime (:func:`initialize`, before any device is
used). Then every process runs the same command, and every stored sweep in it
(:func:`simulations.sweep.run_sweep`) goes like this:

1. Process ``p`` of ``P`` owns the rows that shard ``p/P`` owns (:func:`process_shard`;
   :func:`simulations.shards.shard_rows`: a fixed assignment by global row index, independent of
   chunk sizes and device counts). It computes the missing ones on its *own* devices
   (``jax.local_devices()``, one local mesh per process) and writes them to the shared store,
   under its own lock and chunk log, exactly as a ``--shard p/P`` array job would.
2. A barrier (:func:`barrier`: a tiny all-process collective), then every process reads the whole
   store and carries on with the command; process 0 alone marks the store complete, shows
   progress and writes the command's outputs (the other processes write theirs into a private
   scratch directory, :func:`worker_outputs`, so they reach the same sweeps in the same order).

Why per-process row sets rather than one global mesh fed with
``jax.make_array_from_process_local_data``: the runs of a sweep never communicate, so a global
mesh would buy no speed, but it would make every chunk a collective program that all processes
must enter in lockstep with identical to-do lists (a resumed run, where each process is missing
different rows, would first have to agree on one) and a slow process would stall all of them.
With per-process rows the only collectives are two barriers per sweep; a killed process loses
only its chunk in flight (the others abort at the next barrier, JAX's runtime sees the peer
gone), and a rerun of the job recomputes only the rows missing from the store. The numbers cannot
depend on this choice: a run's key depends only on its configuration and seed index.

Environment (read by :func:`requested` and :func:`initialize`):

* ``JAX_COORDINATOR_ADDRESS`` (``host:port`` of process 0), ``JAX_NUM_PROCESSES``,
  ``JAX_PROCESS_ID``: all three set → a multi-process run, no flag needed;
* a SLURM step of several tasks (``srun``: ``SLURM_STEP_NUM_TASKS > 1``) or an Open MPI job
  (``OMPI_COMM_WORLD_SIZE > 1``): also automatic, through JAX's own cluster detection;
* anything else JAX detects (TPU pod slices, Kubernetes): pass ``--distributed``;
* ``SOLVABLE_DISTRIBUTED=0`` turns the automatic start off.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
from collections.abc import Iterator
from pathlib import Path

import jax

from simulations.shards import Shard

__all__ = [
    "ENV_VARS",
    "barrier",
    "initialize",
    "is_main",
    "process_shard",
    "requested",
    "run_command",
    "shared_path",
    "shutdown",
    "worker_outputs",
]

#: The explicit variables of a multi-process run (all three, or none).
ENV_VARS = ("JAX_COORDINATOR_ADDRESS", "JAX_NUM_PROCESSES", "JAX_PROCESS_ID")


def _int_env(name: str, env) -> int | None:
    text = env.get(name)
    if text is None or not text.strip():
        return None
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{name} must be an integer, got {text!r}") from None


def requested(flag: bool = False, env=None) -> bool:
    """Whether this process should start the distributed runtime.

    ``flag`` (``--distributed``) always does; otherwise the environment (see the module
    docstring): the three :data:`ENV_VARS`, a SLURM step of several tasks, or an Open MPI job of
    several processes; ``SOLVABLE_DISTRIBUTED=0`` turns that off.
    """
    env = os.environ if env is None else env
    if flag:
        return True
    if env.get("SOLVABLE_DISTRIBUTED", "").strip() in ("0", "false", "no", "off"):
        return False
    if all(env.get(v) for v in ENV_VARS):
        return True
    slurm = _int_env("SLURM_STEP_NUM_TASKS", env)  # set by srun for its step, not in sbatch scripts
    if slurm is not None and slurm > 1:
        return True
    ompi = _int_env("OMPI_COMM_WORLD_SIZE", env)
    return ompi is not None and ompi > 1


def initialize(*, heartbeat_timeout_seconds: int | None = None, env=None) -> tuple[int, int]:
    """Start JAX's distributed runtime (once); returns ``(process index, process count)``.

    With the three :data:`ENV_VARS` set they are used (checked first: one-line ``ValueError``
    naming the variable); otherwise ``jax.distributed.initialize()`` detects the cluster itself
    (SLURM, Open MPI, TPU pods, Kubernetes) and fails with JAX's message if it finds none. Must
    run before anything uses a device (``jax.devices()``, an array, a compilation).
    """
    env = os.environ if env is None else env
    if jax.distributed.is_initialized():
        return jax.process_index(), jax.process_count()
    kwargs = {}
    if heartbeat_timeout_seconds is not None:
        kwargs["heartbeat_timeout_seconds"] = int(heartbeat_timeout_seconds)
    given = [v for v in ENV_VARS if env.get(v)]
    if given:
        if len(given) != len(ENV_VARS):
            missing = [v for v in ENV_VARS if v not in given]
            raise ValueError(f"{', '.join(given)} set but {', '.join(missing)} not: set all three")
        address = env["JAX_COORDINATOR_ADDRESS"].strip()
        count, index = _int_env("JAX_NUM_PROCESSES", env), _int_env("JAX_PROCESS_ID", env)
        if ":" not in address:
            raise ValueError(f"JAX_COORDINATOR_ADDRESS must be host:port, got {address!r}")
        if count is None or count < 1:
            raise ValueError(f"JAX_NUM_PROCESSES must be an integer >= 1, got {count!r}")
        if index is None or not 0 <= index < count:
            raise ValueError(
                f"JAX_PROCESS_ID must be an integer in [0, {count - 1}], "
                f"got {env['JAX_PROCESS_ID']!r}"
            )
        kwargs.update(coordinator_address=address, num_processes=count, process_id=index)
    jax.distributed.initialize(**kwargs)
    return jax.process_index(), jax.process_count()


def process_shard() -> Shard | None:
    """This process's share of every stored sweep's rows, ``None`` unless several processes run.

    Never starts a backend before the runtime: without :func:`initialize` it is ``None``.
    """
    if not jax.distributed.is_initialized() or jax.process_count() < 2:
        return None
    return Shard(jax.process_index(), jax.process_count())


def is_main() -> bool:
    """Process 0 (or a single process): the one that shows progress and writes outputs."""
    return process_shard() is None or jax.process_index() == 0


def barrier(name: str) -> None:
    """Wait until every process reaches the barrier ``name`` (no-op in a single process).

    ``jax.experimental.multihost_utils.sync_global_devices``: a tiny collective over every
    process's devices, which also checks that all processes name the same barrier (two processes
    at different sweeps fail loudly instead of mixing them). A process that died makes the
    others fail here (JAX's runtime reports the peer gone).
    """
    if process_shard() is None:
        return
    from jax.experimental import multihost_utils

    multihost_utils.sync_global_devices(name)


def shutdown() -> None:
    """Leave the distributed runtime (waits for the other processes; no-op if never started)."""
    if jax.distributed.is_initialized():
        jax.distributed.shutdown()


# --- outputs of the worker processes -------------------------------------------------------------
_REMAP: contextvars.ContextVar[tuple[Path, Path] | None] = contextvars.ContextVar(
    "worker_outputs", default=None
)


@contextlib.contextmanager
def worker_outputs(scratch: str | os.PathLike, out: str | os.PathLike) -> Iterator[Path]:
    """Inside, a store below ``scratch`` is the same store below ``out`` (:func:`shared_path`).

    A worker process (index > 0) runs its command with ``scratch`` as its output directory, so
    its copies of the tables and figures never race process 0's, while its sweeps fill and read
    the shared stores under ``out``.
    """
    token = _REMAP.set((Path(scratch).resolve(), Path(out)))
    try:
        yield Path(scratch)
    finally:
        _REMAP.reset(token)


def shared_path(path: str | os.PathLike) -> str:
    """``path``, or its counterpart under ``out`` when inside :func:`worker_outputs` ``scratch``."""
    remap = _REMAP.get()
    if remap is None:
        return str(path)
    scratch, out = remap
    try:
        rel = Path(path).resolve().relative_to(scratch)
    except ValueError:
        return str(path)
    return str(out / rel)


def run_command(command, out: str | os.PathLike, claim=None) -> bool:
    """Run ``command(out_dir)`` in every process of a multi-process run; True in process 0.

    Process 0 first calls ``claim()`` (e.g. checks and creates ``out``, writes its config), then
    every process passes a barrier; process 0 runs ``command(out)``, every other process runs
    ``command(scratch)`` inside :func:`worker_outputs` (a private temporary directory, deleted
    afterwards), so its sweeps share the stores under ``out`` and its outputs go nowhere. On
    success the runtime is shut down (which waits for every process); on an error it is not, so
    the error ends this process and the others fail at their next barrier instead of waiting.
    """
    import tempfile

    main = is_main()
    if main and claim is not None:
        claim()
    barrier(f"command {Path(out).name}")
    if main:
        command(Path(out))
    else:
        with tempfile.TemporaryDirectory(prefix=f"solvable-worker-{jax.process_index()}-") as tmp:
            with worker_outputs(tmp, out):
                command(Path(tmp))
    shutdown()
    return main
