"""Training-procedure studies on PLRF: raw data → measurements → comparison rows (runs nothing).

Input: the dictionaries of :func:`simulations.plrf.training.run_study`. Measurements:

* compute-optimal exponents ``ξ`` (``d* ∝ f^ξ``) and ``η`` (``P(f/d*, d*) ∝ f^(−η)``) of each
  procedure from its W-free IsoFLOP table (:func:`simulations.frontier.compute_optimal_frontier`,
  least-squares slopes over the interior budgets), beside the constant-step SGD prediction of
  :func:`theory.plrf.compute_optimal_exponents` (arXiv 2405.15074 §3);
* best WSD decay fraction and power-decay exponent per horizon;
* collapse: spread over sizes of ``log(P(u·n)/P(n))`` at the same fraction ``u`` of the run;
* SGD vs the exact recursion on the same W: the largest |z| of the paired per-seed difference;
* time exponents at d → ∞: the slope of ``log(P − P*)`` in ``log r`` over the last decade of a
  long W-free run at ``d = 2^40`` (:func:`time_slope`), beside
  :func:`theory.plrf_longrun.time_exponents`, with its change from the decade before (drift);
* critical batch size ``B*`` per target and size, and its log-log slope in the target.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from simulations.compare import ComparisonRow
from simulations.frontier import compute_optimal_frontier
from theory import plrf as theory_plrf
from theory import plrf_longrun as longrun
from theory import plrf_training as T

__all__ = [
    "PARAMS",
    "format_rows",
    "frontier_exponents",
    "frontier_rows",
    "rows_for",
    "sgd_agreement",
    "sgd_critical_batch",
    "time_rows",
    "time_slope",
]

#: A time exponent whose last decade differs from the decade before by more than this is
#: reported as still moving (the deterministic runs have no sampling error: the drift is the
#: honest uncertainty of an asymptotic exponent read at a finite time).
TIME_DRIFT = 0.02

#: Parameter columns of every training-study row.
PARAMS = ("alpha", "beta", "procedure", "setting")


def frontier_exponents(sizes, compute, loss) -> tuple[float, float, int]:
    """``(ξ, η, n_interior)`` from an IsoFLOP table (NaN when fewer than 3 interior budgets)."""
    fr = compute_optimal_frontier(sizes, compute, loss, n_budgets=40)
    ok = fr.interior & np.isfinite(fr.optimal_loss) & (fr.optimal_loss > 0)
    if ok.sum() < 3:
        return math.nan, math.nan, int(ok.sum())
    lf = np.log(fr.budgets[ok])
    xi = np.polyfit(lf, np.log(fr.optimal_size[ok]), 1)[0]
    eta = -np.polyfit(lf, np.log(fr.optimal_loss[ok]), 1)[0]
    return float(xi), float(eta), int(ok.sum())


def sgd_agreement(ds) -> list[tuple[int, float, float]]:
    """Per variant: ``(variant, max |z|, n_finite)`` of SGD minus the recursion on the same W
    (paired over seeds, checkpoints after 0)."""
    out = []
    for i in range(ds.sizes["point"]):
        sim = np.asarray(ds["loss"].isel(point=i).values, np.float64)[:, 1:]
        th = np.asarray(ds["expected_loss"].isel(point=i).values, np.float64)[:, 1:]
        keep = np.all(np.isfinite(sim), axis=1)
        diff = sim[keep] - th[keep]
        se = diff.std(0, ddof=1) / math.sqrt(max(diff.shape[0], 1))
        z = np.abs(diff.mean(0)) / np.where(se > 0, se, np.inf)
        out.append((i, float(np.max(z)), int(keep.sum())))
    return out


def _row(alpha, beta, procedure, setting, quantity, predicted, measured, *, ci_low=math.nan,
         ci_high=math.nan, **extras):  # fmt: skip
    return ComparisonRow(
        params={"alpha": alpha, "beta": beta, "procedure": procedure, "setting": setting},
        phase=theory_plrf.phase(alpha, beta),
        quantity=quantity,
        predicted=predicted,
        measured=measured,
        ci_low=float(ci_low),
        ci_high=float(ci_high),
        extras={k: (f"{v:.6g}" if isinstance(v, float) else str(v)) for k, v in extras.items()},
    )


def _sgd_rows(data, config) -> list[ComparisonRow]:
    rows = []
    ds = data["sgd"].groups[0]
    for (_, z, n_ok), p in zip(sgd_agreement(ds), data["procedures"]):
        rows.append(
            _row(config.alpha, config.beta, p.label(), f"SGD d={config.sgd_d}", "sgd_max_z",
                 0.0, z, seeds=n_ok, note="|SGD mean - recursion| in standard errors")
        )  # fmt: skip
    return rows


def _schedule_rows(data, config) -> list[ComparisonRow]:
    a, b = config.alpha, config.beta
    xi_p, eta_p = theory_plrf.compute_optimal_exponents(a, b)
    rows = _sgd_rows(data, config)
    tables = data["tables"]
    base = tables[next(iter(tables))]
    for label, (sizes, compute, loss) in tables.items():
        xi, eta, n_int = frontier_exponents(sizes, compute, loss)
        ratio = np.nanmin(loss[:, -1]) / np.nanmin(base[2][:, -1])
        lo, hi = config.wfree_sizes
        setting = f"W-free d=2^{lo:g}..2^{hi:g}"
        extra = {"interior_budgets": n_int, "loss_vs_constant_at_max_budget": float(ratio)}
        rows.append(_row(a, b, label, setting, "xi", xi_p, xi, **extra))
        rows.append(_row(a, b, label, setting, "eta", eta_p, eta, **extra))
    for h, row in data["scan"].items():
        wsd = {k: v for k, v in row.items() if k.startswith("wsd:")}
        pw = {k: v for k, v in row.items() if k.startswith("power:")}
        best_w = min(wsd, key=wsd.get)
        best_p = min(pw, key=pw.get)
        setting = f"d={data['scan_d']}, horizon={h:g}"
        gain = row["constant"] / wsd[best_w]
        rows.append(
            _row(
                a,
                b,
                "wsd",
                setting,
                "best_decay_fraction",
                math.nan,
                float(best_w.split(":")[1]),
                loss_gain_vs_constant=float(gain),
            )
        )
        rows.append(_row(a, b, "power", setting, "best_power_exponent", math.nan,
                         float(best_p.split(":")[1]),
                         loss_gain_vs_constant=float(row["constant"] / pw[best_p])))  # fmt: skip
    for label, per_size in data["collapse"].items():
        u_ref = per_size[0][1]
        logs = []
        for _, u, curve, _ in per_size:
            logs.append(np.interp(u_ref, u, np.log(curve / curve[-1])))
        spread = float(np.max(np.ptp(np.array(logs), axis=0)))
        sizes = ",".join(str(s[0]) for s in per_size)
        rows.append(_row(a, b, label, f"d={sizes}, n=d^(2a)/gamma", "collapse_spread", 0.0,
                         spread, note="max over r/n of the spread of log P(r)/P(n)"))  # fmt: skip
    return rows


def _predicted_exponents(a, b, name) -> tuple[float, float]:
    """Predicted ``(ξ, η)``: SGD's table for SGD and heavy ball (SGD-M has SGD's exponents,
    arXiv 2505.16098), DANA-decaying by :func:`theory.plrf_training.dana_exponents` (our
    reading of that paper), NaN otherwise."""
    if name in ("sgd", "heavy_ball"):
        return theory_plrf.compute_optimal_exponents(a, b, method="balance")
    if name == "dana":
        return T.dana_exponents(a, b)
    return math.nan, math.nan


def time_slope(steps, excess, lo, hi) -> float:
    """``−d log(P − P*)/d log r``: least-squares slope over the steps in ``[lo, hi]``."""
    steps, excess = np.asarray(steps, np.float64), np.asarray(excess, np.float64)
    sel = (steps >= lo) & (steps <= hi) & (excess > 0)
    if sel.sum() < 3:
        return math.nan
    return float(-np.polyfit(np.log(steps[sel]), np.log(excess[sel]), 1)[0])


def time_rows(data, config) -> list[ComparisonRow]:
    """Rows ``time_exponent`` per (point, optimizer) and ``time_exponent_gain`` (DANA − SGD)
    from ``data["times"]`` (:func:`simulations.plrf.training_wfree.wfree_time_curve` per key)."""
    rows, last = [], {}
    for (a, b, name), (steps, excess) in data.get("times", {}).items():
        n = float(steps[-1])
        slope, before = (
            time_slope(steps, excess, n / 10, n),
            time_slope(steps, excess, n / 100, n / 10),
        )
        k = longrun.dana_time_power(a) if name == "dana" else 1.0
        pred = longrun.time_exponents(a, b, k)["dominant"]
        last[(a, b, name)] = (slope, pred)
        moving = not abs(slope - before) <= TIME_DRIFT
        rows.append(_row(a, b, name, f"W-free d=2^{config.time_log2_d:g}, r<={int(n)}",
                         "time_exponent", pred, slope, previous_decade=before,
                         verdict="still moving" if moving else "settled",
                         predicted_is="DANA: our reading of 2505.16098" if name == "dana"
                         else "SGD noise/population term"))  # fmt: skip
    for (a, b, name), (slope, pred) in last.items():
        if name != "sgd" and (a, b, "sgd") in last:
            s_sgd, p_sgd = last[(a, b, "sgd")]
            rows.append(_row(a, b, name, "vs sgd", "time_exponent_gain", pred - p_sgd,
                             slope - s_sgd))  # fmt: skip
    return rows


def frontier_rows(tables, long: bool) -> list[ComparisonRow]:
    """Rows eta, xi per (point, optimizer) and eta_gain vs SGD from IsoFLOP tables keyed
    ``(α, β, name)``; ``long``: the long-run tables over ``dana_sizes``."""
    rows = []
    measured: dict[tuple[float, float], dict[str, tuple[float, float, float]]] = {}
    for (a, b, name), (sizes, compute, loss) in tables.items():
        xi, eta, n_int = frontier_exponents(sizes, compute, loss)
        k = len(sizes) // 2  # the upper half of the sizes: does the exponent still drift?
        _, eta_hi, _ = frontier_exponents(sizes[k:], compute[k:], loss[k:])
        measured.setdefault((a, b), {})[name] = (xi, eta, eta_hi)
        xi_p, eta_p = _predicted_exponents(a, b, name)
        setting = f"W-free d={int(sizes[0])}..{int(sizes[-1])}" + (" (long)" if long else "")
        note = "DANA: our reading of 2505.16098" if name == "dana" else "SGD table"
        rows.append(_row(a, b, name, setting, "eta", eta_p, eta, interior_budgets=n_int,
                         eta_upper_half=eta_hi, predicted_is=note))  # fmt: skip
        rows.append(_row(a, b, name, setting, "xi", xi_p, xi, interior_budgets=n_int))
    for (a, b), per in measured.items():
        if "sgd" not in per:
            continue
        sgd_p = _predicted_exponents(a, b, "sgd")[1]
        for name, (_, eta, eta_hi) in per.items():
            if name == "sgd":
                continue
            pred = _predicted_exponents(a, b, name)[1] - sgd_p
            setting = "vs sgd" + (" (long)" if long else "")
            rows.append(_row(a, b, name, setting, "eta_gain", pred, eta - per["sgd"][1],
                             upper_half_gain=eta_hi - per["sgd"][2]))  # fmt: skip
    return rows


def _momentum_rows(data, config) -> list[ComparisonRow]:
    rows = _sgd_rows(data, config) + time_rows(data, config)
    rows += frontier_rows(data["tables"], long=False)
    long = {(a, b, n): t for (a, b), per in data.get("long", {}).items() for n, t in per.items()}
    return rows + frontier_rows(long, long=True)


def _batch_rows(data, config) -> list[ComparisonRow]:
    a, b = config.alpha, config.beta
    rows = []
    batches = np.asarray(data["batches"])
    for d, res in data["sizes"].items():
        rows.append(_row(a, b, "sgd", f"d={d}, lr={config.lr_fraction:g}*max(B=1)",
                         "max_stable_batch", math.nan, float(res["max_batch"])))  # fmt: skip
        taus, bstars = [], []
        for tau, (b_star, steps) in res["targets"].items():
            best = steps[steps >= 0].min() if np.any(steps >= 0) else -1
            rows.append(_row(a, b, "sgd", f"d={d}, tau={tau:g}", "critical_batch", math.nan,
                             float(b_star), factor=config.factor, best_steps=int(best),
                             steps=" ".join(str(int(s)) for s in steps)))  # fmt: skip
            if b_star > 0:
                taus.append(tau)
                bstars.append(b_star)
        if len(taus) >= 2 and len(set(bstars)) > 1:
            slope = -np.polyfit(np.log(taus), np.log(bstars), 1)[0]
        else:
            slope = 0.0 if len(taus) >= 2 else math.nan
        rows.append(
            _row(
                a,
                b,
                "sgd",
                f"d={d}",
                "critical_batch_exponent",
                math.nan,
                float(slope),
                note="B* ∝ tau^(-exponent); batches " + " ".join(map(str, batches)),
            )
        )
    if "sgd" in data:
        rows.extend(_batch_sgd_rows(data, config))
    return rows


def _crossing_step(steps, curve, target) -> float:
    """First step at which ``curve`` (sampled at ``steps``) falls to ``target``: log-log
    interpolation between the bracketing checkpoints; NaN if never reached."""
    steps = np.asarray(steps, np.float64)
    curve = np.asarray(curve, np.float64)
    below = np.flatnonzero(curve <= target)
    if below.size == 0:
        return math.nan
    j = int(below[0])
    if j == 0 or steps[j - 1] <= 0:
        return float(steps[j])
    x0, x1 = np.log(steps[j - 1]), np.log(steps[j])
    y0, y1 = np.log(curve[j - 1]), np.log(curve[j])
    w = (y0 - np.log(target)) / (y0 - y1) if y0 != y1 else 1.0
    return float(np.exp(x0 + w * (x1 - x0)))


def sgd_critical_batch(
    sgd: Mapping[str, Any], factor: float, n_boot: int = 400, seed: int = 0, level: float = 0.95
):
    """Steps-to-target per batch from SGD (mean curve over seeds) and from the exact recursion
    on the same seeds' ``W`` (mean ``expected_loss``), with bootstrap over seeds.

    Returns ``{tau: {"batches", "sgd_steps", "theory_steps", "sgd_lo", "sgd_hi",
    "b_star_sgd", "b_star_theory", "b_star_lo", "b_star_hi", "exact_steps"}}``: steps-to-target
    are in steps (B samples each); intervals are the central ``level`` bootstrap quantiles;
    ``B*`` = smallest batch within ``factor`` of the fewest steps.
    """
    rng = np.random.default_rng(seed)
    batches = sorted(sgd["runs"])
    curves = {}
    for b in batches:
        ds = sgd["runs"][b]["ds"]
        sim = np.asarray(ds["loss"].isel(point=0).values, np.float64)
        th = np.asarray(ds["expected_loss"].isel(point=0).values, np.float64)
        keep = np.all(np.isfinite(sim), axis=1)
        curves[b] = (np.asarray(ds["checkpoint"].values), sim[keep], th[keep])

    def bstar(steps):
        steps = np.asarray(steps, np.float64)
        ok = np.isfinite(steps)
        if not ok.any():
            return -1
        best = steps[ok].min()
        return min(b for b, x in zip(batches, steps) if np.isfinite(x) and x <= factor * best)

    out = {}
    for k, (tau, target) in enumerate(zip(sgd["taus"], sgd["targets"])):
        s_sgd = [_crossing_step(c[0], c[1].mean(0), target) for c in curves.values()]
        s_th = [_crossing_step(c[0], c[2].mean(0), target) for c in curves.values()]
        boot = np.empty((n_boot, len(batches)))
        for i in range(n_boot):
            for j, (x, sim, _) in enumerate(curves.values()):
                idx = rng.integers(0, sim.shape[0], sim.shape[0])
                boot[i, j] = _crossing_step(x, sim[idx].mean(0), target)
        b_boot = np.array([bstar(row) for row in boot], float)
        out[float(tau)] = {
            "batches": np.asarray(batches),
            "sgd_steps": np.asarray(s_sgd),
            "theory_steps": np.asarray(s_th),
            "sgd_lo": np.nanquantile(boot, (1 - level) / 2, axis=0),
            "sgd_hi": np.nanquantile(boot, (1 + level) / 2, axis=0),
            "b_star_sgd": bstar(s_sgd),
            "b_star_theory": bstar(s_th),
            "b_star_lo": float(np.quantile(b_boot, (1 - level) / 2)),
            "b_star_hi": float(np.quantile(b_boot, (1 + level) / 2)),
            "exact_steps": np.array([sgd["runs"][b]["exact_steps"][k] for b in batches]),
        }
        exact = out[float(tau)]["exact_steps"].astype(float)
        out[float(tau)]["b_star_exact"] = bstar(np.where(exact >= 0, exact, np.nan))
    return out


def _batch_sgd_rows(data, config) -> list[ComparisonRow]:
    a, b = config.alpha, config.beta
    rows = []
    sgd = data["sgd"]
    for tau, r in sgd_critical_batch(sgd, config.factor).items():
        setting = f"SGD d={sgd['d']}, tau={tau:g}, {config.sgd_seeds} seeds"
        steps = " ".join(f"{x:.0f}" for x in r["sgd_steps"])
        th = " ".join(f"{x:.0f}" for x in r["theory_steps"])
        rows.append(_row(a, b, "sgd", setting, "critical_batch_sgd", float(r["b_star_theory"]),
                         float(r["b_star_sgd"]), ci_low=r["b_star_lo"], ci_high=r["b_star_hi"],
                         sgd_steps=steps, theory_steps=th,
                         b_star_deterministic_equivalent=int(r["b_star_exact"]),
                         batches=" ".join(str(int(x)) for x in r["batches"]),
                         note="predicted: recursion on the same W, mean over seeds"))  # fmt: skip
    return rows


def rows_for(study: str, data: Mapping[str, Any], config) -> list[ComparisonRow]:
    """The comparison rows of one study's data (``config``: its ``TrainingConfig``)."""
    make = {"schedules": _schedule_rows, "momentum": _momentum_rows, "batch": _batch_rows}
    if study not in make:
        raise ValueError(f"study must be one of {sorted(make)}, got {study!r}")
    return make[study](data, config)


def format_rows(rows: Sequence[ComparisonRow]) -> str:
    """A compact text table of the rows."""
    lines = [f"{'procedure':<28}{'setting':<30}{'quantity':<26}{'predicted':>10}{'measured':>11}"]
    for r in rows:
        lines.append(
            f"{str(r.params['procedure'])[:27]:<28}{str(r.params['setting'])[:29]:<30}"
            f"{r.quantity:<26}{r.predicted:>10.4g}{r.measured:>11.4g}"
        )
    return "\n".join(lines)
