"""Training throughput of the superposition toy model: a batched (m, gamma, alpha, seed) chunk vs
one configuration at a time, and the fraction of this machine's measured matmul peak.

Prints steps/s for ``jit(vmap(run))`` over a chunk of ``C`` configurations (what the sweep engine
runs) and for ``jit(run)`` called on each configuration in turn, their ratio, and the achieved
FLOP/s of the batched chunk over the measured f32 matmul peak (``benchmarks/_peak.py``). FLOPs
per training step: ``6 B n m`` (forward ``h W^T``, and its two gradient matmuls; the input side
is a gather of the ~``B E`` active entries, see ``simulations.superposition.model``).

    python benchmarks/superposition_train.py [--quick] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _peak import measure_matmul_peak

from simulations.superposition.experiment import build


def _timed(fn, repeats: int) -> float:
    fn()  # compile + warm-up
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def benchmark(n: int, m: int, batch: int, steps: int, chunk: int, repeats: int) -> dict:
    static = {"n": n, "m": m, "steps": steps, "batch": batch, "eval_batches": 1}
    experiment = build(static)
    run = experiment.run
    keys = jax.vmap(lambda i: jax.random.fold_in(jax.random.key(0), i))(jnp.arange(chunk))
    gammas = jnp.linspace(-1.0, 1.0, chunk, dtype=jnp.float32)
    alphas = jnp.linspace(0.5, 2.0, chunk, dtype=jnp.float32)
    for g, a in zip(gammas.tolist(), alphas.tolist(), strict=True):  # as run_sweep would
        experiment.validate({"gamma": g, "alpha": a})
    batched = jax.jit(jax.vmap(run))
    single = jax.jit(run)

    def run_batched():
        jax.block_until_ready(batched(keys, {"gamma": gammas, "alpha": alphas}))

    def run_single():
        for i in range(chunk):
            jax.block_until_ready(single(keys[i], {"gamma": gammas[i], "alpha": alphas[i]}))

    t_batched = _timed(run_batched, repeats)
    t_single = _timed(run_single, repeats)
    train_steps = chunk * steps
    flops = 6.0 * batch * n * m * train_steps
    return {
        "n": n,
        "m": m,
        "batch": batch,
        "steps": steps,
        "chunk": chunk,
        "steps_per_s_batched": train_steps / t_batched,
        "steps_per_s_single": train_steps / t_single,
        "ratio_batched_over_single": t_single / t_batched,
        "gflops_batched": flops / t_batched / 1e9,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="small sizes (a few seconds)")
    p.add_argument("--json", type=Path, default=None, help="write the results as JSON")
    args = p.parse_args(argv)
    if args.quick:
        cases = [dict(n=128, m=16, batch=64, steps=50, chunk=8, repeats=2)]
    else:
        cases = [
            dict(n=512, m=32, batch=256, steps=200, chunk=24, repeats=3),
            dict(n=512, m=64, batch=256, steps=200, chunk=24, repeats=3),
            dict(n=1000, m=100, batch=2048, steps=50, chunk=8, repeats=2),
        ]
    peak = measure_matmul_peak(1024 if args.quick else 2048)
    print(f"f32 matmul peak: {peak / 1e9:.1f} GFLOP/s on {jax.devices()[0]}")
    results = []
    for case in cases:
        r = benchmark(**case)
        r["fraction_of_peak"] = r["gflops_batched"] * 1e9 / peak
        results.append(r)
        print(
            f"n={r['n']} m={r['m']} B={r['batch']} chunk={r['chunk']}: "
            f"batched {r['steps_per_s_batched']:.0f} steps/s, one at a time "
            f"{r['steps_per_s_single']:.0f} steps/s, ratio {r['ratio_batched_over_single']:.2f}; "
            f"{r['gflops_batched']:.1f} GFLOP/s = {r['fraction_of_peak']:.1%} of peak"
        )
    if args.json:
        args.json.write_text(json.dumps({"peak_flops": peak, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    raise SystemExit(main())
