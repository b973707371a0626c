"""Commands for the PLRF model: ``solvable phase-diagram plrf``, ``compare plrf``, ``run plrf``.

The phase diagram measures the compute-optimal exponents of Paquette, Paquette, Xiao, Pennington,
"4+3 Phases of Compute-Optimal Neural Scaling Laws" (arXiv 2405.15074): for one point well inside
each phase, the expected SGD loss curves P(r) of several model sizes d (each on its own realised
embedding W, several W per size) give IsoFLOP slices at compute f = d·B·r; the compute-optimal
frontier d*(f) ∝ f^ξ, P(f/d*, d*) ∝ f^(−η) is fitted over its interior budgets with seed-bootstrap
confidence intervals, and set beside ``theory.plrf.compute_optimal_exponents``.

Why expected loss rather than SGD sample paths: the frontier needs runs of up to ~10^8 steps per
size (t ≈ d^(2α)/γ), which the O(d)-per-step recursion of the exact expected loss given W (Volterra,
THEORY.md §1) reaches in seconds with the block integrator, while SGD needs every step. The
expected loss is exactly the mean over SGD noise of the simulated loss given the same W; that
identity is tested against SGD runs (tests/test_simulations_plrf.py) and shown by
``solvable run plrf``.
"""

from __future__ import annotations

import argparse
import csv
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from simulations import compare, fit, sweep
from simulations import plrf as plrf_sim

__all__ = [
    "PHASE_POINTS",
    "PhaseDiagramConfig",
    "compare_command",
    "measure_point",
    "phase_diagram_command",
    "run_command",
    "run_phase_sweep",
]

#: One (α, β) point well inside each phase (THEORY.md §1 reference points; (1, 2) is a second,
#: deeper point of phase III).
PHASE_POINTS: tuple[tuple[float, float], ...] = (
    (1.0, 0.3),  # Ia
    (0.4, 0.3),  # Ib
    (0.2, 1.0),  # Ic
    (1.0, 0.7),  # II
    (0.7, 1.0),  # III
    (1.0, 2.0),  # III
    (0.4, 0.8),  # IVa
    (0.27, 1.0),  # IVb
)

_MAX_STEPS = 2**31 - 2


@dataclass(frozen=True)
class PhaseDiagramConfig:
    """Sizes, seeds and horizon of a phase-diagram sweep.

    Attributes:
        sizes: model sizes d (√2 steps); v = v_ratio·d.
        seeds: independent embeddings W per (point, d); the bootstrap resamples them.
        v_ratio: v/d (finite v matters when 2α < 1).
        lr_scale: c in γ = c/Σ_(j≤v) j^(−2α).
        batch: SGD batch B.
        horizon: runs last r_max(d) = horizon · max_α d^(2α)/γ(α, d) steps (capped at 2^31 − 2),
            i.e. `horizon` times the time the slowest point needs to resolve d modes, so every
            size's loss curve reaches its plateau.
        n_checkpoints: log-spaced checkpoints per curve.
        n_boot: bootstrap replicates for the confidence intervals.
    """

    sizes: tuple[int, ...]
    seeds: int
    v_ratio: float = 4.0
    lr_scale: float = 0.5
    batch: int = 1
    horizon: float = 20.0
    n_checkpoints: int = 160
    n_boot: int = 200

    @classmethod
    def quick(cls) -> PhaseDiagramConfig:
        return cls(sizes=_sqrt2_sizes(32, 512), seeds=3, n_boot=100)

    @classmethod
    def full(cls) -> PhaseDiagramConfig:
        return cls(sizes=_sqrt2_sizes(64, 2048), seeds=4, n_boot=200)


def _sqrt2_sizes(lo: int, hi: int) -> tuple[int, ...]:
    n = round(2 * math.log2(hi / lo))
    return tuple(round(lo * 2 ** (k / 2)) for k in range(n + 1))


def _learning_rate(alpha: float, v: int, lr_scale: float) -> float:
    return lr_scale / float(np.sum(np.arange(1, v + 1, dtype=np.float64) ** (-2.0 * alpha)))


def max_steps_for(d: int, alphas: Sequence[float], cfg: PhaseDiagramConfig) -> int:
    """Run length for size d: ``horizon`` × the slowest point's time to resolve d modes."""
    v = round(cfg.v_ratio * d)
    need = max(d ** (2 * a) / (_learning_rate(a, v, cfg.lr_scale) * cfg.batch) for a in alphas)
    return int(min(_MAX_STEPS, max(1000, math.ceil(cfg.horizon * need))))


def _build_phase(static: Mapping[str, Any]) -> sweep.Experiment:
    """``build_expected`` with the run length chosen per size (``alpha_max``, ``horizon``)."""
    s = dict(static)
    alpha_max = float(s.pop("alpha_max"))
    cfg = PhaseDiagramConfig(
        sizes=(s["d"],),
        seeds=1,
        v_ratio=float(s["v_ratio"]),
        lr_scale=float(s["lr_scale"]),  # stays in s: build_expected reads it as a constant
        batch=int(s["batch"]),
        horizon=float(s.pop("horizon")),
    )
    s["max_steps"] = max_steps_for(int(s["d"]), [alpha_max], cfg)
    return plrf_sim.build_expected(s)


def run_phase_sweep(
    points: Sequence[tuple[float, float]],
    cfg: PhaseDiagramConfig,
    *,
    store: str | Path | None = None,
    progress: bool = True,
    chunk_size: int = 8,
) -> sweep.SweepResult:
    """Expected-loss curves for every (α, β) in ``points`` × size × seed (float64).

    The learning rate is the swept ``lr_scale`` (c); each (point, d, seed) has its own W.
    """
    alphas = np.array([p[0] for p in points], dtype=np.float64)
    betas = np.array([p[1] for p in points], dtype=np.float64)
    for a, b in points:
        for d in cfg.sizes:
            plrf_sim.validate_point(
                a, b, v=round(cfg.v_ratio * d), batch=cfg.batch, lr_scale=cfg.lr_scale
            )
    grid = sweep.Grid.zipped(
        static={
            "d": list(cfg.sizes),
            "v_ratio": cfg.v_ratio,
            "batch": cfg.batch,
            "n_checkpoints": cfg.n_checkpoints,
            "alpha_max": float(alphas.max()),
            "horizon": cfg.horizon,
            "lr_scale": cfg.lr_scale,
        },
        points={"alpha": alphas, "beta": betas},
        seeds=cfg.seeds,
    )
    return sweep.run_sweep(
        _build_phase,
        grid,
        name="plrf-phase-diagram",
        store=str(store) if store is not None else None,
        chunk_size=chunk_size,
        progress=progress,
        config={"command": "phase-diagram plrf", **cfg.__dict__},
    )


@dataclass(frozen=True)
class PointMeasurement:
    """Measured compute-optimal exponents at one (α, β) (see :func:`measure_point`)."""

    alpha: float
    beta: float
    xi: fit.PowerLawFit
    eta: fit.PowerLawFit
    frontier: fit.Frontier
    sizes: np.ndarray
    compute: np.ndarray  # (n_sizes, n_checkpoints)
    losses: np.ndarray  # (n_seeds, n_sizes, n_checkpoints)
    p_star: np.ndarray  # (n_seeds, n_sizes)
    p_star_fit: fit.PowerLawFit
    n_diverged: int


def _point_arrays(result: sweep.SweepResult, index: int):
    sizes, computes, losses, p_stars, n_bad = [], [], [], [], 0
    for ds in result.groups:
        ds = sweep.mask_diverged(ds)
        d = int(ds.attrs["static.d"])
        batch = int(ds.attrs.get("static.batch", 1))
        steps = ds["checkpoint"].values.astype(np.float64)
        sizes.append(d)
        computes.append(d * batch * steps)
        losses.append(ds["loss"].isel(point=index).values)  # (seed, checkpoint)
        p_stars.append(ds["p_star"].isel(point=index).values)
        n_bad += int((~ds["finite"].isel(point=index).values).sum())
    n_ck = max(c.size for c in computes)
    compute = np.full((len(sizes), n_ck), np.nan)
    loss = np.full((losses[0].shape[0], len(sizes), n_ck), np.nan)
    for i, (c, l) in enumerate(zip(computes, losses)):
        compute[i, : c.size] = c
        loss[:, i, : c.size] = l
    return np.array(sizes, float), compute, loss, np.stack(p_stars, axis=1), n_bad


def measure_point(
    result: sweep.SweepResult, index: int, *, n_boot: int = 200, seed: int = 0
) -> PointMeasurement:
    """ξ and η (with seed-bootstrap CIs) of point ``index`` of a :func:`run_phase_sweep` result.

    The frontier is built on the mean loss over seeds (W draws) and fitted over its interior
    budgets only (where the optimum is bracketed by the size grid). Step 0 (f = 0) is dropped.
    """
    sizes, compute, losses, p_star, n_bad = _point_arrays(result, index)
    compute = np.where(compute > 0, compute, np.nan)
    xi, eta = fit.bootstrap_frontier(sizes, compute, losses, n_boot=n_boot, seed=seed)
    frontier = fit.compute_optimal_frontier(sizes, compute, fit.reduce_seeds(losses))
    p_fit = fit.bootstrap_power_law(sizes, p_star, n_boot=n_boot, seed=seed)
    alpha = float(result.grid.points["alpha"][index])
    beta = float(result.grid.points["beta"][index])
    return PointMeasurement(
        alpha, beta, xi, eta, frontier, sizes, compute, losses, p_star, p_fit, n_bad
    )


def _comparison_rows(measurements: Sequence[PointMeasurement]) -> list[compare.ComparisonRow]:
    from theory import plrf as theory_plrf

    rows = []
    for m in measurements:
        xi_pred, eta_pred = theory_plrf.compute_optimal_exponents(m.alpha, m.beta)
        phase = theory_plrf.phase(m.alpha, m.beta)
        window = f"{m.xi.window[0]:.3g}-{m.xi.window[1]:.3g}"
        for name, pred, meas in (("xi", xi_pred, m.xi), ("eta", eta_pred, m.eta)):
            rows.append(
                compare.ComparisonRow(
                    params={"alpha": m.alpha, "beta": m.beta},
                    phase=phase,
                    quantity=name,
                    predicted=float(pred),
                    measured=float(meas.exponent),
                    ci_low=float(meas.ci_low),
                    ci_high=float(meas.ci_high),
                    extras={"window": window, "n_budgets": str(meas.n_points)},
                )
            )
    return rows


def _write_diagnostics(measurements: Sequence[PointMeasurement], path: Path) -> None:
    """P*(d) exponents: finite-size drift of the capacity limit explains most of the η offsets."""
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["alpha", "beta", "predicted", "measured", "ci_low", "ci_high", "n_diverged"])
        for m in measurements:
            pred = 2 * m.alpha - max(0.0, 1 - 2 * m.beta)
            f = m.p_star_fit
            w.writerow([m.alpha, m.beta, pred, f.exponent, f.ci_low, f.ci_high, m.n_diverged])


def phase_diagram_command(
    out_dir: Path, quick: bool = False, *, progress: bool = True
) -> list[compare.ComparisonRow]:
    """``solvable phase-diagram plrf``: measured vs predicted ξ, η at one point per phase.

    Writes ``comparison.csv`` (alpha,beta,phase,quantity,predicted,measured,ci_low,ci_high,
    window,n_budgets), ``p_star_exponents.csv``, ``phase_diagram.png`` (the phase plane with
    predicted boundaries and measured − predicted values) and ``isoflop.png`` (the IsoFLOP curves
    and frontier of every point); the sweep is stored in ``out_dir/sweep`` (a rerun resumes).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    cfg = PhaseDiagramConfig.quick() if quick else PhaseDiagramConfig.full()
    t0 = time.perf_counter()
    result = run_phase_sweep(PHASE_POINTS, cfg, store=out_dir / "sweep", progress=progress)
    t_sweep = time.perf_counter() - t0
    measurements = [measure_point(result, i, n_boot=cfg.n_boot) for i in range(len(PHASE_POINTS))]
    rows = _comparison_rows(measurements)
    compare.write_comparison_csv(rows, out_dir / "comparison.csv", ["alpha", "beta"])
    _write_diagnostics(measurements, out_dir / "p_star_exponents.csv")
    from simulations import plrf_plots

    plrf_plots.phase_plane(rows, out_dir / "phase_diagram.png")
    plrf_plots.isoflop_grid(measurements, out_dir / "isoflop.png")
    print(compare.format_comparison_table(rows, ["alpha", "beta"]))
    print(
        f"sizes d = {cfg.sizes[0]}..{cfg.sizes[-1]} ({len(cfg.sizes)} sizes), {cfg.seeds} W per "
        f"size, v = {cfg.v_ratio:g}d, c = {cfg.lr_scale}, B = {cfg.batch}; "
        f"sweep {t_sweep:.0f} s, total {time.perf_counter() - t0:.0f} s"
    )
    return rows


def compare_command(
    out_dir: Path, quick: bool = False, *, progress: bool = True
) -> list[compare.ComparisonRow]:
    """``solvable compare plrf``: the same sweep and table as the phase diagram."""
    return phase_diagram_command(out_dir, quick, progress=progress)


def run_command(argv: list[str]) -> int:
    """``solvable run plrf``: SGD loss curves of one configuration beside the theory curves.

    The mean of ``--seeds`` SGD runs (eigenbasis path; each seed its own W) is set beside the exact
    expected loss of each seed's W (Volterra recursion, averaged over the same seeds) and the
    deterministic equivalent (no W). Writes ``loss_curves.csv`` and ``loss_curves.png``.
    """
    p = argparse.ArgumentParser(prog="solvable run plrf", description=run_command.__doc__)
    p.add_argument("--alpha", type=float, required=True)
    p.add_argument("--beta", type=float, required=True)
    p.add_argument("--d", type=int, required=True, help="model size (embedding dimension)")
    p.add_argument("--v-ratio", type=float, default=4.0, help="v/d (default 4)")
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--lr-scale", type=float, default=0.5, help="c in γ = c/Σ j^(−2α)")
    p.add_argument("--steps", type=int, default=None, help="default: ~4 d^(2α)/γ, capped at 1e6")
    p.add_argument("--seeds", type=int, default=16)
    p.add_argument("--n-checkpoints", type=int, default=40)
    p.add_argument("--path", choices=plrf_sim.PATHS, default="eigenbasis")
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args(argv)
    from theory import plrf as theory_plrf

    theory_plrf.validate_parameters(args.alpha, args.beta)
    v = round(args.v_ratio * args.d)
    gamma = _learning_rate(args.alpha, v, args.lr_scale)
    steps = args.steps or int(min(1e6, max(1e3, 4 * args.d ** (2 * args.alpha) / gamma)))
    out = args.out or Path("results") / f"run-plrf-a{args.alpha:g}-b{args.beta:g}-d{args.d}"
    out.mkdir(parents=True, exist_ok=True)
    ds = plrf_sim.simulate(
        args.alpha,
        args.beta,
        args.d,
        v_ratio=args.v_ratio,
        batch=args.batch,
        lr_scale=args.lr_scale,
        max_steps=steps,
        n_checkpoints=args.n_checkpoints,
        seeds=args.seeds,
        path=args.path,
        expected=True,
        progress=True,
    )
    spectrum = theory_plrf.deterministic_equivalent_spectrum(args.alpha, args.beta, args.d, v)
    step = ds["step"].values
    det = theory_plrf.expected_loss(spectrum, gamma, args.batch, step)
    sgd = ds["loss"].values
    n_ok = np.isfinite(sgd).all(axis=1).sum()
    sgd_mean = np.nanmean(sgd, axis=0)
    sgd_se = np.nanstd(sgd, axis=0, ddof=1) / np.sqrt(max(n_ok, 1))
    volterra = ds["expected_loss"].values.mean(axis=0)
    table = out / "loss_curves.csv"
    with open(table, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["step", "compute", "sgd_mean", "sgd_se", "volterra_mean", "det_equiv"])
        for row in zip(step, ds["compute"].values, sgd_mean, sgd_se, volterra, det):
            w.writerow([f"{x:.6g}" for x in row])
    from simulations import plrf_plots

    plrf_plots.loss_curves(
        step,
        sgd_mean,
        sgd_se,
        volterra,
        det,
        out / "loss_curves.png",
        title=f"PLRF α={args.alpha:g}, β={args.beta:g}, d={args.d}, v={v}, B={args.batch}",
    )
    print(f"{'step':>10} {'SGD mean':>12} {'± SE':>10} {'Volterra':>12} {'det. equiv.':>12}")
    for k in np.unique(np.linspace(0, len(step) - 1, 12).astype(int)):
        print(
            f"{step[k]:>10d} {sgd_mean[k]:>12.5g} {sgd_se[k]:>10.2g} {volterra[k]:>12.5g} "
            f"{det[k]:>12.5g}"
        )
    print(f"{n_ok}/{args.seeds} SGD runs finite; wrote {table} and {out / 'loss_curves.png'}")
    return 0
