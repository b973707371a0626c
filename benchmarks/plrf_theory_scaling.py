"""Seconds per PLRF expected-loss curve against d: the W-free continuum path vs the binned one.

Usage: ``python benchmarks/plrf_theory_scaling.py [--json PATH] [--quick] [--alpha A --beta B]``

For each ``d = 2^k`` (``v = 4d``, ``γ`` = the paper's learning rate at ``lr_scale = 0.5``, B = 1)
one loss curve at 60 log-spaced steps up to ``r = 10^8``:

* ``continuum``: :func:`theory.plrf.continuum_spectrum` (cost independent of ``d``) then
  :func:`theory.plrf.expected_loss`, for ``k = 10 … 30`` (quick: 10, 20, 30);
* ``binned``: :func:`theory.plrf.deterministic_equivalent_spectrum` (``O(v)`` per spectral
  point) then the same integrator, for ``k = 10 … 16`` (quick: 10, 12);
* ``frontier``: the continuum path with the options the phase diagram uses
  (:data:`simulations.plrf.limits.FRONTIER_SPECTRUM`), ``k = 10 … 30``;
* ``realised``: one realised ``W`` (float64, ``v = 4d``), its spectrum
  (:func:`theory.plrf.realised_spectrum`: ``O(v d² + d³)``) and the same integrator, for
  ``k = 6 … 12`` (quick: 6, 8; memory 16·v·d bytes: 2 GB at ``d = 2^12``).

With ``--plane`` also the wall time of ``solvable phase-diagram plrf --plane`` (the default
plane: ~95 points, d = 2^6 … 2^20 at 4 sizes per octave).

Each row: seconds to build the spectrum, seconds for the curve, their sum (best of
``--repeats``, after one untimed call that compiles), and for the binned rows the largest relative
difference between the two curves. The first (compiling) call of each path is reported apart.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import jax
import jax.numpy as jnp

from simulations.plrf import limits, model
from theory import plrf

STEPS = np.unique(np.geomspace(1, 1e8, 60).astype(np.int64))


def _curve(build, alpha, d):
    v = 4 * d
    t0 = time.perf_counter()
    spec = build(d)
    t1 = time.perf_counter()
    loss = plrf.expected_loss(spec, plrf.learning_rate(alpha, v), 1, STEPS)
    t2 = time.perf_counter()
    return loss, t1 - t0, t2 - t1


def _time(build, alpha, d, repeats):
    best = None
    for _ in range(repeats):
        loss, ts, tc = _curve(build, alpha, d)
        if best is None or ts + tc < best[1] + best[2]:
            best = (loss, ts, tc)
    return best


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--alpha", type=float, default=0.4)
    parser.add_argument("--beta", type=float, default=0.8)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--plane", action="store_true", help="also time the full --plane run")
    args = parser.parse_args(argv)
    a, b = args.alpha, args.beta
    cont_ks = [10, 20, 30] if args.quick else list(range(10, 31, 2))
    binned_ks = [10, 12] if args.quick else [10, 12, 14, 16]

    def continuum(d):
        return plrf.continuum_spectrum(a, b, d)

    def binned(d):
        return plrf.deterministic_equivalent_spectrum(a, b, d, 4 * d)

    def frontier(d):
        return plrf.continuum_spectrum(a, b, d, **limits.FRONTIER_SPECTRUM)

    def realised(d):
        with jax.enable_x64(True):
            w = model.sample_embedding(jax.random.key(d), 4 * d, d, jnp.float64)
            spec = plrf.realised_spectrum(w, a, b)
            return plrf.Spectrum(*(np.asarray(x) for x in spec))

    frontier_ks = [10, 20, 30] if args.quick else list(range(10, 31, 2))
    realised_ks = [6, 8] if args.quick else [6, 8, 10, 12]

    t0 = time.perf_counter()
    _curve(continuum, a, 2**10)
    first = {"continuum": time.perf_counter() - t0}
    t0 = time.perf_counter()
    _curve(binned, a, 2**10)
    first["binned"] = time.perf_counter() - t0

    rows, curves = [], {}
    print(f"PLRF loss curve cost, alpha={a}, beta={b}, v=4d, {STEPS.size} steps to 1e8")
    print(
        f"first call (compiles): continuum {first['continuum']:.2f} s, "
        f"binned {first['binned']:.2f} s"
    )
    print(
        f"{'path':>9} {'log2 d':>6} {'spectrum s':>10} {'curve s':>8} {'total s':>8} "
        f"{'max rel diff':>12}"
    )
    for k in cont_ks:
        loss, ts, tc = _time(continuum, a, 2**k, args.repeats)
        curves[k] = loss
        rows.append({"path": "continuum", "log2_d": k, "spectrum_s": ts, "curve_s": tc})
    for k in binned_ks:
        loss, ts, tc = _time(binned, a, 2**k, 1 if k >= 14 else args.repeats)
        row = {"path": "binned", "log2_d": k, "spectrum_s": ts, "curve_s": tc}
        if k not in curves:
            curves[k] = _time(continuum, a, 2**k, 1)[0]
        row["max_rel_diff_to_continuum"] = float(np.max(np.abs(loss / curves[k] - 1)))
        rows.append(row)
    _curve(frontier, a, 2**10)
    for k in frontier_ks:
        _, ts, tc = _time(frontier, a, 2**k, args.repeats)
        rows.append({"path": "frontier", "log2_d": k, "spectrum_s": ts, "curve_s": tc})
    _curve(realised, a, 2**6)
    for k in realised_ks:
        loss, ts, tc = _time(realised, a, 2**k, 1)
        row = {"path": "realised", "log2_d": k, "spectrum_s": ts, "curve_s": tc}
        row["max_rel_diff_to_continuum"] = float(
            np.max(np.abs(loss / _time(continuum, a, 2**k, 1)[0] - 1))
        )
        rows.append(row)
    for r in rows:
        diff = r.get("max_rel_diff_to_continuum")
        print(
            f"{r['path']:>9} {r['log2_d']:>6} {r['spectrum_s']:>10.3f} {r['curve_s']:>8.3f} "
            f"{r['spectrum_s'] + r['curve_s']:>8.3f} {'' if diff is None else f'{diff:.2e}':>12}"
        )
    result = {"alpha": a, "beta": b, "steps": int(STEPS.size), "first_call_s": first, "rows": rows}
    if args.plane:
        import subprocess
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "simulations.cli",
                    "phase-diagram",
                    "plrf",
                    "--plane",
                    "--no-progress",
                    "--out",
                    tmp,
                ],
                check=True,
                capture_output=True,
            )
            result["plane_s"] = time.perf_counter() - t0
        print(f"solvable phase-diagram plrf --plane (default plane): {result['plane_s']:.0f} s")
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
