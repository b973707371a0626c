"""Lottery-ticket nets trained per second: batched over seeds (``jit(vmap)``) vs one at a time.

Usage: ``python benchmarks/lottery_train.py [--json PATH] [--quick]``

For each width ``N`` (SiLU, float64, the model of :mod:`simulations.lottery.model` with Adam for
``steps`` steps on the 256-point grid), the same ``S`` seeds are trained

* batched: one call of ``jit(vmap(run))`` over the ``S`` seeds (what the sweep engine runs), and
* one at a time: ``S`` calls of ``jit(run)``,

compile time excluded. Printed per width: nets per second each way and
``speedup_batched_vs_loop`` (their ratio), plus the achieved flop rate of the batched run against
this machine's f32 matmul peak (``_peak.py``; float64 elementwise work, so a small fraction is
expected). Flops per step and net, counted as 2 per multiply-add: forward ``w x + b`` (2 N n),
output (2 N n), backward (4 N n) and ~10 N n for SiLU and its derivative: ~18 N n.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _peak import best_time, measure_matmul_peak

from simulations.lottery.model import STATIC_DEFAULTS
from simulations.lottery.sweeps import build


def _bench_width(width: int, seeds: int, steps: int, repeats: int) -> dict:
    exp = build({"width": width, "adam_steps": steps, "n_checkpoints": 8})
    with jax.enable_x64(True):
        keys = jnp.stack([jax.random.key(s) for s in range(seeds)])
        params = {"lr": jnp.full(seeds, 3e-2), "lr_end": jnp.full(seeds, 1e-5)}
        batched = jax.jit(jax.vmap(exp.run)).lower(keys, params).compile()
        one_params = {k: v[0] for k, v in params.items()}
        single = jax.jit(exp.run).lower(keys[0], one_params).compile()

        def run_batched():
            jax.block_until_ready(batched(keys, params))

        def run_loop():
            out = [single(keys[s], one_params) for s in range(seeds)]
            jax.block_until_ready(out)

        t_batch = best_time(run_batched, repeats=repeats, min_time=0.0)
        t_loop = best_time(run_loop, repeats=repeats, min_time=0.0)
        check = np.asarray(batched(keys, params)["test_mse"])
        ref = np.array([float(single(keys[s], one_params)["test_mse"]) for s in range(2)])
    np.testing.assert_allclose(check[:2], ref, rtol=1e-6)  # same nets either way
    flops = 18.0 * width * STATIC_DEFAULTS["n_train"] * steps * seeds
    return {
        "width": width,
        "seeds": seeds,
        "steps": steps,
        "batched_seconds": t_batch,
        "loop_seconds": t_loop,
        "nets_per_second_batched": seeds / t_batch,
        "nets_per_second_loop": seeds / t_loop,
        "speedup_batched_vs_loop": t_loop / t_batch,
        "batched_flops_per_second": flops / t_batch,
    }


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    parser.add_argument("--quick", action="store_true", help="fewer steps and widths")
    args = parser.parse_args(argv)
    widths = (2, 16) if args.quick else (2, 8, 32, 128)
    seeds, steps, repeats = (16, 200, 2) if args.quick else (32, 1000, 3)
    peak = measure_matmul_peak(1024 if args.quick else 2048)
    rows = [_bench_width(n, seeds, steps, repeats) for n in widths]
    print(f"f32 matmul peak: {peak / 1e9:.1f} GFLOP/s; {seeds} seeds x {steps} Adam steps, float64")
    print(f"{'N':>5} {'nets/s batched':>15} {'nets/s loop':>12} {'ratio':>7} {'of peak':>8}")
    for r in rows:
        print(
            f"{r['width']:>5} {r['nets_per_second_batched']:15.2f} "
            f"{r['nets_per_second_loop']:12.2f} {r['speedup_batched_vs_loop']:7.2f} "
            f"{r['batched_flops_per_second'] / peak:8.2%}"
        )
    result = {"matmul_peak_flops": peak, "widths": rows}
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
