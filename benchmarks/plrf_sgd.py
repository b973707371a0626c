"""PLRF one-pass SGD throughput: eigenbasis shortcut vs explicit features, batched sweep chunks.

Usage: ``python benchmarks/plrf_sgd.py [--json PATH] [--quick]``

Prints three ratios (and writes them, with the raw numbers, to ``--json``):

* ``speedup_eigenbasis_vs_explicit``: SGD samples per second of
  :func:`simulations.plrf.sgd_eigenbasis` (O(d) per sample) over
  :func:`simulations.plrf.sgd_explicit` (O(v·d) per sample) at d = 1000, v = 10·d, B = 1, same
  number of steps, one run each (jitted, compile excluded; the float64 eigendecomposition that the
  eigenbasis path needs once per W is timed separately).
* ``fraction_of_matmul_peak``: achieved FLOP/s of one ``jit(vmap)`` chunk of eigenbasis SGD runs
  (several (α, β) problems x seeds) over this machine's f32 matmul peak (``_peak.py``). Flop count
  per SGD step and run, multiply-add = 2 flops: targets ``y = G c`` (2·B·d), residuals
  ``G u − y`` (2·B·d), gradient ``rᵀG`` (2·B·d), update ``u −= γλ∘grad`` (2·d): 6·B·d + 2·d.
  Drawing the B·d Gaussian numbers per step is not counted as flops; it dominates the run time
  (the step does ~6 flops per random number), so the chunk's rate is also reported against the
  rate of drawing the same count of normals alone (``fraction_of_rng_peak``), the real roofline.
* ``speedup_batched_vs_loop``: the same configurations run one at a time through the single-run
  jitted function vs one ``jit(vmap)`` call over all of them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _peak import best_time, measure_matmul_peak

from simulations.plrf import checks
from simulations.plrf import model as plrf
from theory import plrf as theory_plrf


def _problems(configs, v, d):
    """float64 eigenbasis problems (one per (alpha, beta)), cast to float32 for the SGD loop."""
    with jax.enable_x64(True):
        a0, b0 = configs[0]
        fn = (
            jax.jit(lambda k, a, b: plrf.eigenbasis_problem(k, a, b, v, d))
            .lower(jax.random.key(0), a0, b0)
            .compile()
        )
        out = []
        t0 = time.perf_counter()
        for i, (a, b) in enumerate(configs):
            out.append(jax.block_until_ready(fn(jax.random.key(i), a, b)))
        setup = (time.perf_counter() - t0) / len(configs)
        gammas = [theory_plrf.learning_rate(a, v, 0.5) for a, _ in configs]
    probs = [jax.tree.map(lambda x: jnp.asarray(x, jnp.float32), p) for p in out]
    return probs, gammas, setup


def _rng_peak(n: int, repeats: int) -> float:
    """Gaussian numbers per second drawn as the SGD loop draws them (non-partitionable threefry,
    cache-sized blocks of 2**14, each reduced at once so memory traffic does not count)."""
    block = 2**14
    n_blocks = max(1, n // block)

    def draw(key):
        def body(total, i):
            with jax.threefry_partitionable(False):
                x = jax.random.normal(jax.random.fold_in(key, i), (block,), jnp.float32)
            return total + jnp.sum(x), None

        return jax.lax.scan(body, jnp.zeros((), jnp.float32), jnp.arange(n_blocks))[0]

    fn = jax.jit(draw)
    key = jax.random.key(7)
    return n_blocks * block / best_time(lambda: fn(key).block_until_ready(), repeats=repeats)


def _batched_vs_loop(probs, gammas, n_seeds, steps, batch, repeats) -> dict:
    """Time all (problem, seed) runs in one ``jit(vmap)`` call and one at a time (same runs)."""
    checkpoints = checks.log_checkpoints(steps, 20)
    rows = [(c, s) for c in range(len(probs)) for s in range(n_seeds)]
    stack = jax.tree.map(lambda *xs: jnp.stack(xs), *[probs[c] for c, _ in rows])
    gamma_rows = jnp.asarray([gammas[c] for c, _ in rows], jnp.float32)
    keys = jnp.stack([jax.random.fold_in(jax.random.key(c), s) for c, s in rows])

    def one(k, p, g):
        return plrf.sgd_eigenbasis(k, p, g, batch=batch, checkpoints=checkpoints)

    batched = jax.jit(jax.vmap(one))
    single = jax.jit(one)
    t_batch = best_time(
        lambda: batched(keys, stack, gamma_rows).block_until_ready(), repeats=repeats
    )

    def loop():
        out = None
        for i, (c, _) in enumerate(rows):
            out = single(keys[i], probs[c], gamma_rows[i])
        out.block_until_ready()

    t_loop = best_time(loop, repeats=repeats, min_time=0.0)
    return {"batched_seconds": t_batch, "loop_seconds": t_loop, "runs": len(rows)}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    parser.add_argument("--quick", action="store_true", help="shorter runs, fewer configurations")
    args = parser.parse_args(argv)

    d, batch = 1000, 1
    v = 10 * d
    steps = 500 if args.quick else 2000
    n_configs, n_seeds = (2, 4) if args.quick else (4, 8)
    checkpoints = checks.log_checkpoints(steps, 20)
    repeats = 2 if args.quick else 5
    configs = [(1.0, 0.7), (0.7, 1.0), (0.4, 0.8), (1.0, 0.3)][:n_configs]
    results: dict = {"d": d, "v": v, "batch": batch, "steps": steps, "devices": str(jax.devices())}

    peak = measure_matmul_peak()
    results["matmul_peak_flops"] = peak
    print(f"f32 matmul peak: {peak / 1e9:.1f} GFLOP/s")

    probs, gammas, setup = _problems(configs, v, d)
    results["eigenbasis_setup_seconds_per_w"] = setup
    print(f"eigenbasis setup (K = WᵀDW + eigh, float64, d={d}, v={v}): {setup:.2f} s per W")

    # --- 1. one run each: eigenbasis vs explicit -----------------------------------------
    key = jax.random.key(123)
    eig = jax.jit(
        lambda k, p, g: plrf.sgd_eigenbasis(k, p, g, batch=batch, checkpoints=checkpoints)
    )
    t_eig = best_time(lambda: eig(key, probs[0], gammas[0]).block_until_ready(), repeats=repeats)
    w = plrf.sample_embedding(jax.random.key(0), v, d)
    a0, b0 = configs[0]
    exp = jax.jit(
        lambda k, w: plrf.sgd_explicit(
            k, w, a0, b0, gammas[0], batch=batch, checkpoints=checkpoints
        )
    )
    t_exp = best_time(lambda: exp(key, w).block_until_ready(), repeats=repeats)
    rate_eig, rate_exp = steps * batch / t_eig, steps * batch / t_exp
    results.update(
        eigenbasis_samples_per_second=rate_eig,
        explicit_samples_per_second=rate_exp,
        speedup_eigenbasis_vs_explicit=rate_eig / rate_exp,
    )
    print(
        f"one run, {steps} steps: eigenbasis {rate_eig:,.0f} samples/s, explicit "
        f"{rate_exp:,.0f} samples/s -> speedup {rate_eig / rate_exp:.1f}x "
        f"(eigenbasis incl. its setup: {steps / (t_eig + setup):,.0f} samples/s)"
    )

    # --- 2. a batched chunk: configs x seeds in one jit(vmap); 3. the same runs one at a time --
    chunk = _batched_vs_loop(probs, gammas, n_seeds, steps, batch, repeats)
    t_batch, t_loop, n_rows = chunk["batched_seconds"], chunk["loop_seconds"], chunk["runs"]
    flops = n_rows * steps * (6 * batch * d + 2 * d)
    achieved = flops / t_batch
    normals = n_rows * steps * batch * (d + 1)

    rng_rate = _rng_peak(normals, repeats)
    t_rng = normals / rng_rate
    results.update(
        batched_runs=n_rows,
        batched_seconds=t_batch,
        batched_samples_per_second=n_rows * steps * batch / t_batch,
        achieved_flops=achieved,
        fraction_of_matmul_peak=achieved / peak,
        bulk_normals_per_second=normals / t_rng,
        loop_normals_per_second=normals / t_batch,
        fraction_of_rng_peak=t_rng / t_batch,
        loop_seconds=t_loop,
        speedup_batched_vs_loop=t_loop / t_batch,
    )
    print(
        f"batched chunk ({n_rows} runs = {n_configs} (α,β) x {n_seeds} seeds, d={d}): "
        f"{n_rows * steps / t_batch:,.0f} samples/s, {achieved / 1e9:.2f} GFLOP/s = "
        f"{achieved / peak:.2%} of matmul peak; draws {normals / t_batch / 1e6:.1f} M normals/s "
        f"= {t_rng / t_batch:.0%} of the RNG peak ({rng_rate / 1e6:.1f} M/s)"
    )
    print(
        f"same {n_rows} runs one at a time: {t_loop:.3f} s vs batched {t_batch:.3f} s "
        f"-> speedup {t_loop / t_batch:.2f}x"
    )

    # Small d, where a phase-diagram sweep spends most of its runs: per-step overhead, not random
    # numbers, dominates a single run, and batching pays.
    d_small, steps_small = 64, 4 * steps
    small_configs = [(1.0, 0.7), (0.7, 1.0), (0.4, 0.8), (1.0, 0.3)]
    small_probs, small_gammas, _ = _problems(small_configs, 4 * d_small, d_small)
    small = _batched_vs_loop(small_probs, small_gammas, 8, steps_small, batch, repeats)
    results.update(
        {
            "d_small": d_small,
            "speedup_batched_vs_loop_small_d": small["loop_seconds"] / small["batched_seconds"],
            "batched_samples_per_second_small_d": small["runs"]
            * steps_small
            / small["batched_seconds"],
        }
    )
    print(
        f"d={d_small}, {small['runs']} runs x {steps_small} steps: batched "
        f"{small['batched_seconds']:.3f} s vs one at a time {small['loop_seconds']:.3f} s -> "
        f"speedup {small['loop_seconds'] / small['batched_seconds']:.2f}x"
    )
    results["load_average_1min"] = os.getloadavg()[0]
    print(f"(1-minute load average during the run: {results['load_average_1min']:.1f})")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
