"""Random-feature ridge regression throughput: batched solves vs a loop, fraction of matmul peak.

Usage: ``python benchmarks/random_features_ridge.py [--json PATH] [--quick]``

One "solve" is a full run of :func:`simulations.random_features.build_ridge` (linear features,
ridgeless, one seed): draw the latent data, features and teacher (one RNG call), form
``Z = X F^T/√N``, the ``N×N`` (primal) Gram matrix, its Cholesky factor, the solution, the exact
test loss. For two shapes it prints

* ``speedup_batched_vs_loop``: solves per second of one ``jit(vmap(run))`` call over ``B``
  configurations (ridges × seeds: what the sweep engine compiles per chunk) over the same ``B``
  configurations run one at a time through ``jit(run)``;
* ``fraction_of_matmul_peak``: FLOP/s of the batched call over this machine's matmul peak in
  the same dtype (``_peak.py``). Flops per solve (multiply-add = 2): ``Z`` 2·T·M·N, labels
  2·T·M, Gram 2·T·N², right-hand side 2·T·N, Cholesky N³/3, two triangular solves 2·N²,
  ``F^T β`` 2·N·M; the Gaussian draws (T·M + N·M + M + T numbers) are not flops and are timed
  separately (``rng_fraction_of_time``: the share of the batched call spent drawing them).

float32 is what the peak is measured in; float64 (the library's default for comparisons with
theory) is reported against the float64 matmul peak.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import jax
import jax.numpy as jnp

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _peak import best_time, measure_matmul_peak

from simulations.random_features import experiment, model


def _flops(m: int, n: int, t: int) -> float:
    return 2 * t * m * n + 2 * t * m + 2 * t * n * n + 2 * t * n + n**3 / 3 + 2 * n * n + 2 * n * m


def _bench(m: int, n: int, t: int, batch: int, x64: bool, repeats: int) -> dict:
    dtype = jnp.float64 if x64 else jnp.float32
    exp = experiment.build_ridge(dict(n_latent=m, n_features=n, n_samples=t, x64=int(x64)))
    keys = jax.random.split(jax.random.key(0), batch)
    params = {
        "b": jnp.full((batch,), 1.5, dtype),
        "a": jnp.full((batch,), 1.5, dtype),
        "ridge": jnp.geomspace(1e-4, 1.0, batch).astype(dtype),
        "noise": jnp.zeros((batch,), dtype),
    }
    batched = jax.jit(jax.vmap(exp.run))
    single = jax.jit(exp.run)
    singles = [{k: v[i] for k, v in params.items()} for i in range(batch)]
    n_normals = t * m + n * m + m + t
    # the same draw as the run makes (simulations.random_features.model.normals), summed
    draw = jax.jit(jax.vmap(lambda k: jnp.sum(model.normals(k, [(n_normals,)], dtype)[0])))

    t_batch = best_time(
        lambda: batched(keys, params)["test_loss"].block_until_ready(), repeats=repeats
    )

    def loop():
        out = None
        for i in range(batch):
            out = single(keys[i], singles[i])
        out["test_loss"].block_until_ready()

    t_loop = best_time(loop, repeats=repeats, min_time=0.0)
    t_rng = best_time(lambda: draw(keys).block_until_ready(), repeats=repeats)
    flops = batch * _flops(m, n, t)
    return {
        "shape": dict(n_latent=m, n_features=n, n_samples=t, batch=batch, x64=x64),
        "batched_solves_per_second": batch / t_batch,
        "loop_solves_per_second": batch / t_loop,
        "speedup_batched_vs_loop": t_loop / t_batch,
        "batched_flops": flops / t_batch,
        "rng_fraction_of_time": t_rng / t_batch,
    }


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    parser.add_argument("--quick", action="store_true", help="smaller shapes and batches")
    args = parser.parse_args(argv)
    repeats = 2 if args.quick else 5
    shapes = [(256, 64, 128, 64), (1024, 256, 512, 16)]
    if args.quick:
        shapes = [(128, 32, 64, 32), (512, 128, 256, 8)]
    results: dict = {"devices": str(jax.devices()), "runs": []}
    peak32 = measure_matmul_peak(dtype=jnp.float32)
    with jax.enable_x64(True):
        peak64 = measure_matmul_peak(dtype=jnp.float64)
    results.update(matmul_peak_f32=peak32, matmul_peak_f64=peak64)
    print(f"matmul peak: f32 {peak32 / 1e9:.1f} GFLOP/s, f64 {peak64 / 1e9:.1f} GFLOP/s")
    for x64, peak in ((False, peak32), (True, peak64)):
        for m, n, t, batch in shapes:
            ctx = jax.enable_x64(True) if x64 else jax.enable_x64(False)
            with ctx:
                r = _bench(m, n, t, batch, x64, repeats)
            r["fraction_of_matmul_peak"] = r["batched_flops"] / peak
            results["runs"].append(r)
            print(
                f"{'f64' if x64 else 'f32'} M={m} N={n} T={t}, {batch} configs: batched "
                f"{r['batched_solves_per_second']:,.0f} solves/s vs loop "
                f"{r['loop_solves_per_second']:,.0f} solves/s -> speedup "
                f"{r['speedup_batched_vs_loop']:.2f}x; {r['batched_flops'] / 1e9:.2f} GFLOP/s = "
                f"{r['fraction_of_matmul_peak']:.1%} of matmul peak "
                f"(RNG {r['rng_fraction_of_time']:.0%} of the time)"
            )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
