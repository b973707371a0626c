"""One-shot accelerator check: each model's throughput on 1 device and on all, vs the matmul peak.

Run once on a GPU/TPU machine (about 5-10 minutes), keep the JSON::

    python benchmarks/device_check.py [--out PATH]     # default $OUT/device_check.json if $OUT
    python benchmarks/device_check.py --cpu-smoke      # tiny sizes on CPU (< 2 min on 2 cores)
    python benchmarks/device_check.py --costs          # paper-scale presets: FLOPs and memory

It measures, each as ``jit(vmap(run))`` with the batch axis sharded over a mesh of 1 device and
then of every device (as the sweep engine runs a chunk; compile time excluded, best of repeats):

* **PLRF SGD** samples/s (one-pass SGD in the eigenbasis, :func:`simulations.plrf.model.
  sgd_eigenbasis`, B = 1) at d = 2^12 and 2^14 with 256 and 4096 seeds batched. The problem is a
  fixed power-law spectrum (λ_j = j^(−2α), c_j = j^(−β−1/2)·…, α = 0.7, β = 1): the rate of the
  loop does not depend on where its spectrum came from (a sweep also pays a float64 ``eigh`` of
  each run's ``K̂``, once per run, counted in the ``--costs`` table instead). FLOPs per sample:
  6·d (targets, residual, gradient) + 2·d per step (update).
* **superposition** training steps/s at n = 10240, m = 256 (batch 2048, a batch of
  (γ, α) configurations); FLOPs per step 6·B·n·m (forward and two gradient matmuls).
* **random-feature ridge** solves/s (float32; the linear-feature solve of
  :func:`simulations.random_features.sweeps.build_ridge`), FLOPs per solve
  2TMN + 2TN² + N³/3 (features, Gram matrix, Cholesky).
* **lottery** nets/s (Adam on a one-hidden-layer SiLU net, float64 as the sweeps run it).
* the device's f32 matmul peak (``_peak.py``) at default precision and at ``highest`` (on GPUs
  the default f32 matmul may use TF32); each throughput is also given as a fraction of it;
* **agreement**: a small PLRF SGD run against the exact expected loss of each seed's own W
  (Volterra equation, arXiv 2405.15074 §2), with ``jax.default_matmul_precision("highest")``:
  the mean over seeds of (SGD loss − expected loss) at every checkpoint, in standard errors.

* **paper_preset_hours**: the ``--costs`` table turned into hours on one device of this
  machine at the rates just measured (plus one timed float64 ``eigh``): a rough estimate.

A section that fails is recorded with its error and the check goes on.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import platform
import sys
import time
import traceback
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _peak import best_time, measure_matmul_peak

#: Sizes per mode: accelerator ("full") and CPU smoke test ("smoke").
SIZES = {
    "full": {
        "peak_n": 8192,
        "plrf": [(4096, 256), (4096, 4096), (16384, 256), (16384, 4096)],  # (d, seeds)
        "plrf_steps": 256,
        "sup": {"n": 10240, "m": 256, "batch": 2048, "steps": 50, "configs": 32},
        "ridge": {"n_latent": 8192, "n_features": 2048, "n_samples": 4096, "batch": 32},
        "lottery": {"width": 256, "steps": 500, "seeds": 256},
        "agree": {"d": 128, "seeds": 256, "steps": 20000},
        "eigh_d": 4096,
        "repeats": 3,
    },
    "smoke": {
        "peak_n": 256,
        "plrf": [(64, 8), (128, 16)],
        "plrf_steps": 64,
        "sup": {"n": 256, "m": 16, "batch": 32, "steps": 20, "configs": 4},
        "ridge": {"n_latent": 128, "n_features": 32, "n_samples": 64, "batch": 4},
        "lottery": {"width": 8, "steps": 20, "seeds": 4},
        "agree": {"d": 16, "seeds": 32, "steps": 400},
        "eigh_d": 128,
        "repeats": 1,
    },
}


def describe_devices() -> dict:
    """Platform, device kinds and memory, JAX version."""
    devices = jax.devices()
    memory = None
    try:
        stats = devices[0].memory_stats() or {}
        memory = stats.get("bytes_limit")
    except Exception:  # CPU devices have no memory stats
        memory = None
    return {
        "jax_version": jax.__version__,
        "platform": devices[0].platform,
        "device_kind": devices[0].device_kind,
        "device_count": len(devices),
        "devices": [str(d) for d in devices],
        "device_memory_bytes": memory,
        "host": platform.machine(),
        "cpu_count": os.cpu_count(),
    }


def _device_sets() -> list[list]:
    devices = jax.devices()
    return [devices[:1]] + ([devices] if len(devices) > 1 else [])


def _time_batched(run, keys, params, devices, repeats: int, x64: bool = False) -> float:
    """Best seconds of one ``jit(vmap(run))`` call on ``devices`` (rows sharded, placed first)."""
    mesh = jax.make_mesh(
        (len(devices),), ("batch",), devices=devices, axis_types=(jax.sharding.AxisType.Auto,)
    )
    sharding = NamedSharding(mesh, P("batch"))
    with jax.enable_x64(x64):
        keys = jax.device_put(keys, sharding)
        params = {k: jax.device_put(v, sharding) for k, v in params.items()}
        fn = jax.jit(jax.vmap(run)).lower(keys, params).compile()
        return best_time(
            lambda: jax.block_until_ready(fn(keys, params)), repeats=repeats, min_time=0.0
        )


def _rows(n: int, devices) -> int:
    """``n`` rounded up to a multiple of the device count."""
    return len(devices) * math.ceil(n / len(devices))


def _keys(n: int):
    return jax.vmap(lambda i: jax.random.fold_in(jax.random.key(0), i))(jnp.arange(n))


# --- the models ----------------------------------------------------------------------------------
def plrf_sgd(sizes: dict, peak: float) -> list[dict]:
    from simulations.plrf import checks, model

    out = []
    steps = sizes["plrf_steps"]
    checkpoints = checks.log_checkpoints(steps, 8)
    alpha, beta = 0.7, 1.0
    for d, seeds in sizes["plrf"]:
        j = np.arange(1, d + 1, dtype=np.float64)
        lam = j ** (-2 * alpha)
        problem = model.EigenbasisProblem(
            eigenvalues=jnp.asarray(lam, jnp.float32),
            c=jnp.asarray(j ** (-beta - 0.5), jnp.float32),
            p_star=jnp.asarray(1e-3, jnp.float32),
            initial_loss=jnp.asarray(float(np.sum(j ** (-2 * beta - 1))), jnp.float32),
        )
        gamma = 0.5 / float(lam.sum())

        def run(key, params, problem=problem):
            loss = model.sgd_eigenbasis(
                key, problem, params["gamma"], batch=1, checkpoints=checkpoints
            )
            return {"loss": loss}

        for devices in _device_sets():
            rows = _rows(seeds, devices)
            params = {"gamma": jnp.full((rows,), gamma, jnp.float32)}
            t = _time_batched(run, _keys(rows), params, devices, sizes["repeats"])
            flops = rows * steps * 8.0 * d
            out.append(
                {
                    "d": d,
                    "seeds": rows,
                    "steps": steps,
                    "devices": len(devices),
                    "seconds": t,
                    "samples_per_second": rows * steps / t,
                    "normals_per_second": rows * steps * (d + 1) / t,
                    "flops_per_second": flops / t,
                    "fraction_of_matmul_peak": flops / t / (peak * len(devices)),
                }
            )
    return out


def superposition(sizes: dict, peak: float) -> list[dict]:
    from simulations.superposition.experiment import build

    s = sizes["sup"]
    exp = build(
        {"n": s["n"], "m": s["m"], "steps": s["steps"], "batch": s["batch"], "eval_batches": 1}
    )
    out = []
    for devices in _device_sets():
        rows = _rows(s["configs"], devices)
        params = {
            "gamma": jnp.linspace(-1.0, 1.0, rows, dtype=jnp.float32),
            "alpha": jnp.linspace(0.5, 2.0, rows, dtype=jnp.float32),
        }
        for g, a in zip(params["gamma"].tolist(), params["alpha"].tolist(), strict=True):
            exp.validate({"gamma": g, "alpha": a})  # as run_sweep would
        t = _time_batched(exp.run, _keys(rows), params, devices, sizes["repeats"])
        flops = 6.0 * s["batch"] * s["n"] * s["m"] * s["steps"] * rows
        out.append(
            {
                **{k: s[k] for k in ("n", "m", "batch", "steps")},
                "configs": rows,
                "devices": len(devices),
                "seconds": t,
                "steps_per_second": rows * s["steps"] / t,
                "flops_per_second": flops / t,
                "fraction_of_matmul_peak": flops / t / (peak * len(devices)),
            }
        )
    return out


def ridge(sizes: dict, peak: float) -> list[dict]:
    from simulations.random_features.sweeps import build_ridge

    s = sizes["ridge"]
    m, n, t_ = s["n_latent"], s["n_features"], s["n_samples"]
    exp = build_ridge({"n_latent": m, "n_features": n, "n_samples": t_, "x64": 0})
    flops_one = 2.0 * t_ * m * n + 2.0 * t_ * n * n + n**3 / 3.0
    out = []
    for devices in _device_sets():
        rows = _rows(s["batch"], devices)
        params = {
            "b": jnp.full((rows,), 1.5, jnp.float32),
            "a": jnp.full((rows,), 1.5, jnp.float32),
            "ridge": jnp.geomspace(1e-4, 1.0, rows).astype(jnp.float32),
            "noise": jnp.zeros((rows,), jnp.float32),
        }
        t = _time_batched(exp.run, _keys(rows), params, devices, sizes["repeats"])
        out.append(
            {
                "n_latent": m,
                "n_features": n,
                "n_samples": t_,
                "solves": rows,
                "devices": len(devices),
                "seconds": t,
                "solves_per_second": rows / t,
                "flops_per_second": rows * flops_one / t,
                "fraction_of_matmul_peak": rows * flops_one / t / (peak * len(devices)),
            }
        )
    return out


def lottery(sizes: dict, peak: float) -> list[dict]:
    from simulations.lottery.model import STATIC_DEFAULTS
    from simulations.lottery.sweeps import build

    s = sizes["lottery"]
    exp = build({"width": s["width"], "adam_steps": s["steps"], "n_checkpoints": 8})
    flops_one = 18.0 * s["width"] * STATIC_DEFAULTS["n_train"] * s["steps"]  # SiLU net, Adam
    out = []
    for devices in _device_sets():
        rows = _rows(s["seeds"], devices)
        with jax.enable_x64(True):
            keys = _keys(rows)
            params = {"lr": jnp.full(rows, 3e-2), "lr_end": jnp.full(rows, 1e-5)}
        t = _time_batched(exp.run, keys, params, devices, sizes["repeats"], x64=exp.x64)
        out.append(
            {
                "width": s["width"],
                "adam_steps": s["steps"],
                "nets": rows,
                "devices": len(devices),
                "seconds": t,
                "nets_per_second": rows / t,
                "flops_per_second": rows * flops_one / t,
                "fraction_of_matmul_peak": rows * flops_one / t / (peak * len(devices)),
            }
        )
    return out


def agreement(sizes: dict) -> dict:
    """PLRF SGD (float32 loop) vs the exact expected loss of the same W, matmuls at 'highest'."""
    from simulations.plrf import sweeps

    s = sizes["agree"]
    with jax.default_matmul_precision("highest"):
        ds = sweeps.simulate(
            0.7, 1.0, s["d"], max_steps=s["steps"], n_checkpoints=20, seeds=s["seeds"],
            expected=True,
        )  # fmt: skip
    diff = (ds["loss"] - ds["expected_loss"]).values  # (seed, checkpoint): zero-mean SGD noise
    keep = np.isfinite(diff).all(axis=1)
    diff = diff[keep]
    mean = diff.mean(axis=0)
    stderr = diff.std(axis=0, ddof=1) / math.sqrt(len(diff))
    z = np.abs(mean) / np.where(stderr > 0, stderr, np.inf)
    expected = np.nanmean(ds["expected_loss"].values[keep], axis=0)
    # 20 correlated checkpoints: |z| > 4 anywhere has probability < 0.2 % for unbiased SGD.
    return {
        "alpha": 0.7,
        "beta": 1.0,
        "d": s["d"],
        "seeds": int(keep.sum()),
        "steps": s["steps"],
        "matmul_precision": "highest",
        "max_abs_z": float(z.max()),
        "max_relative_deviation_of_mean": float(np.max(np.abs(mean) / expected)),
        "agrees": bool(z.max() < 4.0),
    }


# --- paper-scale presets: cost from the configs --------------------------------------------------
def preset_costs() -> list[dict]:
    """FLOPs and memory of the paper-scale presets, from their configs (nothing is run).

    * superposition ``compare --preset paper``: Σ over budgets, widths, settings, seeds and
      learning rates of 6·B·n·m·steps; memory per run from the experiment's own
      ``bytes_per_run`` at the widest m.
    * PLRF ``run --preset paper``: per seed, the realised W's kernel ``K̂ = WᵀDW`` (2·v·d²,
      float64), its eigendecomposition (≈ 9·d³ float64 with vectors), the SGD loop
      (steps·8·d float32 and steps·(d+1) normal draws) and, for the expected-loss curves, the
      same kernel and eigendecomposition again; memory per run from the sweep builders'
      ``bytes_per_run`` (SGD: O(d²); expected loss: 28·v·d + 40·d² bytes).
    """
    from simulations.plrf import sweeps as plrf_sweeps
    from simulations.plrf.experiment import RunConfig
    from simulations.superposition.experiment import CompareConfig, build

    rows = []
    sup = CompareConfig.preset("paper")
    settings = len(sup.points) * sup.seeds * len(sup.lr_factors)
    flops = sum(
        6.0 * sup.batch * sup.n * m * steps * settings for m in sup.widths for steps in sup.budgets
    )
    widest = build({"n": sup.n, "m": max(sup.widths), "steps": sup.steps, "batch": sup.batch})
    rows.append(
        {
            "preset": "compare superposition --preset paper",
            "sizes": f"n = {sup.n}, m = {min(sup.widths)}..{max(sup.widths)}, batch {sup.batch}, "
            f"budgets {list(sup.budgets)} steps",
            "runs": settings * len(sup.widths) * len(sup.budgets),
            "flops": flops,
            "flops_float64": 0.0,
            "normals": 0.0,
            "bytes_per_run": float(widest.bytes_per_run),
        }
    )
    paper_d = RunConfig.preset("paper").d
    for d in (paper_d, 8192, 16384):
        cfg = dataclasses.replace(RunConfig.preset("paper"), d=d)
        v, steps = cfg.v, cfg.max_steps()
        static = {"d": d, "v_ratio": cfg.v_ratio, "batch": cfg.batch, "max_steps": steps}
        per_seed_64 = 2 * (2.0 * v * d * d + 9.0 * d**3)  # SGD's W and the expected loss's W
        rows.append(
            {
                "preset": "run plrf --preset paper" + ("" if d == paper_d else f" --d {d}"),
                "sizes": f"d = {d}, v = {v}, {steps} SGD steps, batch {cfg.batch}",
                "runs": cfg.seeds,
                "flops": cfg.seeds * steps * 8.0 * d,
                "flops_float64": cfg.seeds * per_seed_64,
                "normals": cfg.seeds * (steps * (d + 1.0) + 2 * 2.0 * v * d),
                "bytes_per_run": max(
                    plrf_sweeps.build_sgd(static).bytes_per_run,
                    plrf_sweeps.build_expected(static).bytes_per_run,
                ),
            }
        )
    return rows


def preset_estimates(sizes: dict, result: dict) -> list[dict]:
    """Hours the paper-scale presets would take on one device of this machine (an estimate).

    f32 FLOPs at the best rate measured for that model on 1 device (superposition: its training
    chunk); PLRF: normal draws at the SGD loop's rate, the float64 work at the rate of one
    float64 ``eigh`` of size ``eigh_d`` timed here (an ``eigh`` is slower per FLOP than the
    kernel's matmul, so this errs long). Rough: sizes differ from the measured ones.
    """
    d_e = sizes["eigh_d"]
    with jax.enable_x64(True):
        a = jax.random.normal(jax.random.key(3), (d_e, d_e), jnp.float64)
        sym = jax.block_until_ready((a + a.T) / 2)
        eigh = jax.jit(jnp.linalg.eigh)
        t_eigh = best_time(lambda: jax.block_until_ready(eigh(sym)), repeats=2, min_time=0.0)
    f64_rate = 9.0 * d_e**3 / t_eigh

    def best(name, key):
        entries = result.get(name)
        if not isinstance(entries, list):
            return None
        return max((e[key] for e in entries if e["devices"] == 1), default=None)

    out = []
    for row in preset_costs():
        if "superposition" in row["preset"]:
            rate = best("superposition", "flops_per_second")
            seconds = row["flops"] / rate if rate else None
        else:
            rate = best("plrf_sgd", "normals_per_second")
            seconds = row["normals"] / rate + row["flops_float64"] / f64_rate if rate else None
        out.append({"preset": row["preset"], "hours": None if seconds is None else seconds / 3600})
    out.append({"eigh_d": d_e, "eigh_seconds": t_eigh, "float64_eigh_flops_per_second": f64_rate})
    return out


def format_costs(rows: list[dict]) -> str:
    """A markdown table of :func:`preset_costs`."""
    lines = [
        "| preset | sizes | runs | FLOPs (f32) | FLOPs (f64) | normal draws | memory per run |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| `{r['preset']}` | {r['sizes']} | {r['runs']} | {r['flops']:.2g} | "
            f"{r['flops_float64']:.2g} | {r['normals']:.2g} | {r['bytes_per_run'] / 1e9:.3g} GB |"
        )
    return "\n".join(lines)


# --- main ----------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=None, help="JSON path")
    parser.add_argument("--cpu-smoke", action="store_true", help="tiny sizes on CPU")
    parser.add_argument("--costs", action="store_true", help="print the presets' costs and exit")
    args = parser.parse_args(argv)
    if args.costs:
        print(format_costs(preset_costs()))
        return {}
    if args.cpu_smoke:
        jax.config.update("jax_platforms", "cpu")
    out = args.out
    if out is None and os.environ.get("OUT"):
        out = Path(os.environ["OUT"]) / "device_check.json"
    sizes = SIZES["smoke" if args.cpu_smoke else "full"]
    start = time.perf_counter()
    result: dict = {"mode": "cpu-smoke" if args.cpu_smoke else "full", **describe_devices()}
    print(
        f"{result['device_count']} x {result['device_kind']} ({result['platform']}), "
        f"jax {result['jax_version']}",
        flush=True,
    )
    peak = measure_matmul_peak(sizes["peak_n"])
    with jax.default_matmul_precision("highest"):
        peak_highest = measure_matmul_peak(sizes["peak_n"])
    result["matmul_peak_flops"] = {"n": sizes["peak_n"], "default": peak, "highest": peak_highest}
    print(f"f32 matmul peak: {peak / 1e12:.3g} TFLOP/s ({peak_highest / 1e12:.3g} at highest)")
    sections = {
        "plrf_sgd": lambda: plrf_sgd(sizes, peak),
        "superposition": lambda: superposition(sizes, peak),
        "ridge": lambda: ridge(sizes, peak),
        "lottery": lambda: lottery(sizes, peak),
        "agreement": lambda: agreement(sizes),
        "paper_preset_hours": lambda: preset_estimates(sizes, result),
    }
    for name, fn in sections.items():
        t0 = time.perf_counter()
        try:
            result[name] = fn()
        except Exception as err:  # record and go on: one broken section must not cost the rest
            result[name] = {
                "error": f"{type(err).__name__}: {err}",
                "trace": traceback.format_exc(),
            }
        took = time.perf_counter() - t0
        print(f"{name} ({took:.1f} s): {json.dumps(result[name], default=float)[:600]}", flush=True)
    result["wall_seconds"] = time.perf_counter() - start
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2, default=float) + "\n")
        print(f"wrote {out}")
    return result


if __name__ == "__main__":
    main()
