"""Training-procedure studies on PLRF: schedules, momentum/DANA, batch size (runs; returns data).

``solvable compare plrf --study schedules|momentum|batch`` runs :func:`run_study` with the
:class:`TrainingConfig` of the preset. Theory is exact and float64
(:mod:`theory.plrf_training`): on the W-free spectrum of each size
(:func:`theory.plrf.continuum_spectrum`) for the scaling measurements, and on each SGD seed's own
realised ``W`` for the curves beside SGD. SGD runs go through the sweep engine
(:func:`simulations.sweep.run_sweep`) with :func:`build_procedures`: every procedure (schedule ×
optimizer) of a study is one row of a constant coefficient table indexed by a swept ``variant``,
so one compilation serves them all. Symbols as in :mod:`simulations.plrf.model`.

Compute-optimal exponents under a schedule need one run per (size, budget), since the schedule
ends at the budget: each size's runs are one ``vmap`` over budgets of a fixed-length scan whose
multipliers are 0 after the budget's last step (a zero learning rate freezes the state exactly).
"""

from __future__ import annotations

import dataclasses
import math
import zlib
from collections.abc import Mapping, Sequence
from typing import Any, Self

import jax.numpy as jnp
import numpy as np

from simulations.grid import Experiment, Grid, loss_blowup
from simulations.plrf import checks, dynamics, limits, model
from simulations.plrf import training_wfree as W
from simulations.results import SweepResult
from simulations.sweep import run_sweep
from theory import plrf as theory_plrf
from theory import plrf_training as T
from theory import schedules as S
from theory.checks import check_choice, check_float, check_int

__all__ = [
    "STUDIES",
    "Procedure",
    "TrainingConfig",
    "build_procedures",
    "parse_schedule",
    "run_study",
]

STUDIES = ("schedules", "momentum", "batch")
_PRESETS = ("quick", "default", "paper")


def parse_schedule(spec: str) -> S.Schedule:
    """A schedule from its text form: ``constant``, ``cosine``, ``linear``, ``power:P``,
    ``wsd:F`` (decay fraction ``F``)."""
    name, _, arg = str(spec).partition(":")
    makers = {
        "constant": lambda: S.Constant(),
        "cosine": lambda: S.Cosine(),
        "linear": lambda: S.LinearDecay(),
        "power": lambda: S.PowerDecay(float(arg or 0.5), 1.0),
        "wsd": lambda: S.WSD(float(arg or 0.2)),
    }
    if name not in makers:
        raise ValueError(f"schedule must be one of {sorted(makers)} (power:P, wsd:F), got {spec!r}")
    return makers[name]()


@dataclasses.dataclass(frozen=True)
class Procedure:
    """One training procedure: a schedule and a :class:`theory.plrf_training.Optimizer`."""

    schedule: S.Schedule
    optimizer: T.Optimizer

    def label(self) -> str:
        opt = self.optimizer.label()
        return self.schedule.label() if opt == "sgd" else f"{opt}, {self.schedule.label()}"


@dataclasses.dataclass(frozen=True)
class TrainingConfig:
    """``solvable compare plrf --study ...``: training procedures on PLRF, theory beside SGD.

    Presets: ``quick`` (W-free d = 2^5…2^9, SGD d = 32: about a minute per study on 2 CPU
    cores), ``default`` (d = 2^5…2^11, SGD d = 64: minutes), ``paper`` (d up to 2^14, 64 SGD
    seeds).

    Attributes:
        alpha: data exponent α of the schedule and batch studies.
        beta: target exponent β of the schedule and batch studies.
        v_ratio: v/d.
        lr_scale: c in γ = c/Σ_(j≤v) j^(−2α) (the base, peak learning rate).
        wfree_sizes: (a, b): W-free sizes 2^a … 2^b for the exponents.
        per_octave: W-free sizes per octave.
        horizon: longest run, in units of d^(2α)/γ (the relaxation time of the last mode).
        n_budgets: compute budgets per size (log-spaced) of the schedule frontier.
        schedules: the schedules compared (constant, cosine, linear, power:P, wsd:F).
        decay_fractions: WSD decay fractions scanned for the best one per horizon.
        power_exponents: power-decay exponents p scanned for the best one per horizon.
        horizons: run lengths (units of d^(2α)/γ) of the best-schedule scan.
        momentum: heavy-ball / Nesterov μ (learning rate γ(1 − μ): the same effective step).
        dana_gamma3: DANA's γ̃3 (units of γ); γ3(r) = γ̃3 γ (1 + r)^(−1/(2α)) (DANA-decaying,
            arXiv 2505.16098; the reference 0.2).
        dana_delta: DANA's δ: Δ(r) = δ/(δ + r); None: the reference 4 + (α + β)/α
            (:func:`theory.plrf_training.dana_delta`) at each (α, β).
        plane: (α, β) points of the momentum exponent map ("a,b;a,b").
        batches: batch sizes of the batch study.
        lr_fraction: batch study: γ(B) is tuned over lr_fraction × (1/16 … 1) × the largest
            stable γ at B (5 geometric values; the fewest steps wins).
        targets: batch study: targets P* + τ(P(0) − P*) for these τ.
        factor: B* is the smallest B within this factor of the best steps-to-target.
        sgd_batches: batch study: batch sizes of the SGD runs (d = sgd_d) measuring B*.
        sgd_targets: batch study: SGD targets P* + τ(P(0) − P*) for these τ (above the SGD
            noise floor at lr_fraction of the stable rate).
        sgd_d: model size of the SGD runs (realised W).
        sgd_seeds: SGD seeds (each its own W).
        sgd_horizon: SGD run length in units of d^(2α)/γ.
        n_checkpoints: log-spaced checkpoints of the SGD curves.
        chunk_size: SGD runs per compiled call.
        max_curve_steps: momentum study: longest W-free curve (steps); larger sizes are left out.
        time_log2_d: momentum study: log2 of the size of the time-exponent runs (W-free; 40:
            the d-limited loss terms stay below the d-free ones over the whole run).
        time_steps: momentum study: length of the time-exponent runs (SGD and DANA); the
            exponent is the slope of the last decade, the drift the change from the one before.
        dana_sizes: momentum study: (a, b): also measure SGD's and DANA's compute-optimal
            exponents over W-free sizes 2^a … 2^b (:func:`~simulations.plrf.training_wfree.
            long_frontier_tables`; None: not run; the paper preset: 2^8 … 2^21).
        dana_max_steps: the longest DANA run of those tables.
    """

    alpha: float = 0.7
    beta: float = 1.0
    v_ratio: float = 4.0
    lr_scale: float = 0.5
    wfree_sizes: tuple[float, float] = (5.0, 11.0)
    per_octave: int = 2
    horizon: float = 3.0
    n_budgets: int = 24
    schedules: tuple[str, ...] = ("constant", "cosine", "linear", "power:0.5", "wsd:0.2")
    decay_fractions: tuple[float, ...] = (0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0)
    power_exponents: tuple[float, ...] = (0.05, 0.1, 0.2, 0.3, 0.5, 0.75)
    horizons: tuple[float, ...] = (0.25, 1.0, 4.0)
    momentum: float = 0.9
    dana_gamma3: float = 0.2
    dana_delta: float | None = None
    plane: tuple[tuple[float, float], ...] = (
        (0.7, 1.0), (1.0, 0.7), (0.8, 0.5), (0.6, 0.3), (1.0, 2.0), (0.4, 0.8)
    )  # fmt: skip
    batches: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64, 128, 256)
    lr_fraction: float = 0.5
    targets: tuple[float, ...] = (1e-2, 1e-3, 1e-4)
    factor: float = 2.0
    sgd_batches: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64)
    sgd_targets: tuple[float, ...] = (0.05, 0.02, 0.01)
    sgd_d: int = 64
    sgd_seeds: int = 32
    sgd_horizon: float = 1.0
    n_checkpoints: int = 30
    chunk_size: int = 32
    max_curve_steps: int = 8_000_000
    time_log2_d: float = 40.0
    time_steps: int = 3_000_000
    dana_sizes: tuple[float, float] | None = None
    dana_max_steps: int = 200_000_000

    @classmethod
    def preset(cls, name: str) -> Self:
        """The config of preset ``name`` (``quick``, ``default`` or ``paper``)."""
        check_choice("preset", name, _PRESETS)
        if name == "quick":
            return cls(
                wfree_sizes=(5.0, 9.0),
                n_budgets=16,
                plane=((0.7, 1.0), (1.0, 0.7)),
                batches=(1, 2, 4, 8, 16, 32, 64),
                sgd_d=32,
                sgd_seeds=16,
                sgd_batches=(1, 2, 4, 8, 16),
                sgd_targets=(0.3, 0.1, 0.03),
                max_curve_steps=500_000,
                horizons=(0.25, 1.0, 4.0),
                time_steps=300_000,
            )
        if name == "paper":
            return cls(
                wfree_sizes=(5.0, 14.0), per_octave=4, sgd_d=128, sgd_seeds=64, time_steps=10**8,
                dana_sizes=(8.0, 21.0),
            )  # fmt: skip
        return cls()

    def validate(self) -> None:
        """Raise ValueError / TypeError (field, value, range) before anything is compiled."""
        theory_plrf.validate_parameters(self.alpha, self.beta)
        check_float("v_ratio", self.v_ratio, low=1.0, strict=True, high=math.inf)
        check_float("lr_scale", self.lr_scale, low=0.0, strict=True, high=math.inf)
        lo, hi = self.wfree_sizes
        check_float("wfree_sizes", lo, low=1.0, high=30.0)
        check_float("wfree_sizes", hi, low=lo + 2.0, high=30.0)
        check_int("per_octave", self.per_octave, 1, 16)
        check_float("horizon", self.horizon, low=0.0, strict=True, high=1e3)
        check_int("n_budgets", self.n_budgets, 4)
        for s in self.schedules:
            parse_schedule(s)
        for f in self.decay_fractions:
            S.WSD(f)
        for p in self.power_exponents:
            S.PowerDecay(p)
        for h in self.horizons:
            check_float("horizons", h, low=0.0, strict=True, high=1e3)
        T.Optimizer("heavy_ball", self.momentum)
        delta = 1.0 if self.dana_delta is None else self.dana_delta  # None: the reference rule
        T.Optimizer("dana", delta=delta, gamma3=self.dana_gamma3)
        for a, b in self.plane:
            theory_plrf.validate_parameters(a, b)
        for b in self.batches:
            check_int("batches", b, 1)
        for b in self.sgd_batches:
            check_int("sgd_batches", b, 1)
        for t in self.sgd_targets:
            check_float("sgd_targets", t, low=0.0, high=1.0, strict=True)
        check_float("lr_fraction", self.lr_fraction, low=0.0, high=1.0, strict=True)
        for t in self.targets:
            check_float("targets", t, low=0.0, high=1.0, strict=True)
        check_float("factor", self.factor, low=1.0, high=math.inf)
        check_int("sgd_d", self.sgd_d, 2)
        check_int("sgd_seeds", self.sgd_seeds, 2)
        check_float("sgd_horizon", self.sgd_horizon, low=0.0, strict=True, high=1e3)
        check_int("n_checkpoints", self.n_checkpoints, 3)
        check_int("chunk_size", self.chunk_size, 1)
        check_int("max_curve_steps", self.max_curve_steps, 1000)
        check_float("time_log2_d", self.time_log2_d, low=4.0, high=60.0)
        check_int("time_steps", self.time_steps, 1000)
        if self.dana_sizes is not None:
            lo, hi = self.dana_sizes
            check_float("dana_sizes", lo, low=1.0, high=40.0)
            check_float("dana_sizes", hi, low=lo + 2.0, high=40.0)
        check_int("dana_max_steps", self.dana_max_steps, 1000)
        checks.validate_point(
            self.alpha, self.beta, v=self.v(self.sgd_d), d=self.sgd_d, lr_scale=self.lr_scale
        )

    def v(self, d: int) -> int:
        return round(self.v_ratio * d)

    def gamma(self, d: int, alpha: float | None = None) -> float:
        """Base learning rate at size ``d``."""
        a = self.alpha if alpha is None else alpha
        return float(theory_plrf.learning_rate(a, self.v(d), self.lr_scale))

    def steps(self, d: int, horizon: float, alpha: float | None = None) -> int:
        """``horizon · d^(2α)/γ`` steps (at least 100)."""
        a = self.alpha if alpha is None else alpha
        return max(100, round(horizon * d ** (2 * a) / self.gamma(d, a)))

    def sizes(self) -> tuple[int, ...]:
        return limits.size_ladder(*self.wfree_sizes, self.per_octave)

    def optimizers(self, alpha: float, beta: float | None = None) -> dict[str, T.Optimizer]:
        """SGD, heavy ball, Nesterov and DANA-decaying (κ₃ = 1/(2α)) of this config."""
        b = self.beta if beta is None else beta
        delta = self.dana_delta if self.dana_delta is not None else T.dana_delta(alpha, b)
        return {
            "sgd": T.Optimizer(),
            "heavy_ball": T.Optimizer("heavy_ball", self.momentum),
            "nesterov": T.Optimizer("nesterov", self.momentum),
            "dana": T.Optimizer(
                "dana", delta=delta, gamma3=self.dana_gamma3, decay=1 / (2 * alpha)
            ),
        }

    def lr_factor(self, optimizer: T.Optimizer) -> float:
        """Heavy ball and Nesterov run at γ(1 − μ), the same effective step as SGD at γ."""
        return 1.0 - optimizer.momentum if optimizer.kind in ("heavy_ball", "nesterov") else 1.0


# --------------------------------------------------------------------------------------------
# SGD (realised W) through the sweep engine
# --------------------------------------------------------------------------------------------
def build_procedures(static: Mapping[str, Any]) -> Experiment:
    """Sweep builder: SGD of PLRF under the procedures of ``static["table"]`` (a key of the
    module's table registry), one per swept ``variant``; outputs ``loss``, ``expected_loss``
    (exact recursion on the run's own W), ``p_star``. Static: ``d``, ``v``, ``batch``,
    ``max_steps``, ``n_checkpoints``, ``table``; swept: ``alpha``, ``beta``, ``variant``."""
    cfg = checks.validate_static(
        {k: static[k] for k in ("d", "v", "batch", "max_steps", "n_checkpoints")}
    )
    table, gammas = _TABLES[static["table"]]
    steps = checks.log_checkpoints(cfg["max_steps"], cfg["n_checkpoints"])
    coeffs = jnp.asarray(table)  # (n_variants, 4, max_steps): γ1, γ2, γ3, κ per unit γ

    def run(key, params):
        idx = params["variant"].astype(jnp.int32)
        gamma = model.resolve_learning_rate(
            {"alpha": params["alpha"], "lr_scale": params["lr_scale"]}, cfg["v"]
        )
        c = coeffs[idx]
        scale = jnp.stack([1.0, gamma, gamma, 1.0])[:, None]
        c = c * scale
        key_w, key_sgd = model.split_run_key(key)
        problem = model.eigenbasis_problem(
            key_w, params["alpha"], params["beta"], cfg["v"], cfg["d"]
        )
        loss = dynamics.sgd_momentum(
            key_sgd, problem, tuple(c), batch=cfg["batch"], checkpoints=steps
        )
        lam = problem.eigenvalues
        spec = theory_plrf.Spectrum(lam, problem.c**2, jnp.ones_like(lam), problem.p_star)
        curve = T.momentum_loss_curve(spec, cfg["batch"], *c)
        return {"loss": loss, "expected_loss": curve[steps], "p_star": problem.p_star}

    def validate(point):
        if not 0 <= int(point["variant"]) < len(gammas):
            raise ValueError(f"variant must be in [0, {len(gammas)}), got {point['variant']}")

    return Experiment(
        run=run,
        dims={"loss": ("checkpoint",), "expected_loss": ("checkpoint",)},
        coords={"checkpoint": steps},
        x64=True,
        validate=validate,
        diverged=loss_blowup("loss", factor=1e3),
        bytes_per_run=checks.sgd_run_bytes(cfg) + 8 * 4 * cfg["max_steps"],
    )


#: Coefficient tables of the SGD sweeps by name (static parameters must be hashable and small).
_TABLES: dict[str, tuple[np.ndarray, tuple[float, ...]]] = {}


def _procedure_table(procedures: Sequence[Procedure], n: int, lr_factors) -> np.ndarray:
    """``(n_variants, 4, n)`` coefficients per unit γ (γ1 and κ are not scaled by γ)."""
    rows = []
    for p, f in zip(procedures, lr_factors):
        g1, g2, g3, keep = p.optimizer.coefficients(f, p.schedule.values(n))
        rows.append(np.stack([g1, g2, g3, keep]))
    return np.stack(rows)


def _run_sgd(
    config: TrainingConfig, name: str, procedures, lr_factors, progress, *, batch=1, n=None
) -> SweepResult:
    d = config.sgd_d
    n = config.steps(d, config.sgd_horizon) if n is None else int(n)
    spec = theory_plrf.deterministic_equivalent_spectrum(config.alpha, config.beta, d, config.v(d))
    gamma = config.gamma(d)
    for p, f in zip(procedures, lr_factors):  # refuse unstable procedures before compiling
        W.check_procedure(spec, gamma * f, p, n, batch)
    labels = "|".join(f"{p.label()}@{f:.6g}" for p, f in zip(procedures, lr_factors))
    key = f"{name}-{d}-{n}-{batch}-{zlib.crc32(labels.encode()):08x}"  # deterministic seeds
    _TABLES[key] = (_procedure_table(procedures, n, lr_factors), tuple(lr_factors))
    grid = Grid.zipped(
        static={"d": d, "v": config.v(d), "batch": batch, "max_steps": n,
                "n_checkpoints": config.n_checkpoints, "table": key},
        points={"alpha": [config.alpha] * len(procedures), "beta": [config.beta] * len(procedures),
                "variant": list(range(len(procedures))),
                "lr_scale": [config.lr_scale] * len(procedures)},
        seeds=config.sgd_seeds,
    )  # fmt: skip
    return run_sweep(
        build_procedures, grid, name=f"plrf-{name}", chunk_size=config.chunk_size, progress=progress
    )


# --------------------------------------------------------------------------------------------
# The studies
# --------------------------------------------------------------------------------------------
def run_study(config: TrainingConfig, study: str, *, progress: bool = True) -> dict[str, Any]:
    """Run one study and return its raw data (analysis in
    :mod:`simulations.plrf.training_analysis`)."""
    check_choice("study", study, STUDIES)
    config.validate()
    return {"schedules": _schedules, "momentum": _momentum, "batch": _batch}[study](
        config, progress
    )


def _schedules(config: TrainingConfig, progress: bool) -> dict[str, Any]:
    procs = [Procedure(parse_schedule(s), T.Optimizer()) for s in config.schedules]
    sgd = _run_sgd(config, "schedules", procs, [1.0] * len(procs), progress)
    tables = {p.label(): W.wfree_budget_table(config, p) for p in procs}
    # best WSD fraction / power exponent vs horizon at the largest size with its own spectrum
    d = config.sizes()[-1]
    spec = W.wfree_spectrum(config.alpha, config.beta, d, config.v(d))
    gamma = config.gamma(d)
    scan = {}
    for h in config.horizons:
        n = config.steps(d, h)
        row = {}
        for f in config.decay_fractions:
            row[f"wsd:{f:g}"] = T.expected_loss_trained(spec, gamma, 1, [n], schedule=S.WSD(f))[0]
        for p in config.power_exponents:
            sch = S.PowerDecay(p, 1.0)
            row[f"power:{p:g}"] = T.expected_loss_trained(spec, gamma, 1, [n], schedule=sch)[0]
        row["constant"] = T.expected_loss_trained(spec, gamma, 1, [n])[0]
        scan[h] = row
    # collapse: curves of each size at horizon·d^(2α)/γ under WSD, as a function of r/n
    collapse = {}
    for s in ("constant", "wsd:0.2"):
        per_size = []
        for d_c in config.sizes()[:: max(1, config.per_octave)]:
            n = config.steps(d_c, 1.0)
            spec_c = W.wfree_spectrum(config.alpha, config.beta, d_c, config.v(d_c))
            u = np.linspace(0.05, 1.0, 20)
            steps = np.unique(np.round(u * n).astype(np.int64))
            curve = T.expected_loss_trained(
                spec_c, config.gamma(d_c), 1, steps, schedule=parse_schedule(s)
            )
            per_size.append((d_c, steps / n, curve, float(spec_c.p_star)))
        collapse[s] = per_size
    return {"sgd": sgd, "procedures": procs, "tables": tables, "scan": scan, "scan_d": d,
            "collapse": collapse}  # fmt: skip


def _momentum(config: TrainingConfig, progress: bool) -> dict[str, Any]:
    opts = config.optimizers(config.alpha, config.beta)
    procs = [Procedure(S.Constant(), o) for o in opts.values()]
    factors = [config.lr_factor(o) for o in opts.values()]
    sgd = _run_sgd(config, "momentum", procs, factors, progress)
    tables = {}
    for a, b in config.plane:
        for name, opt in config.optimizers(a, b).items():
            if name == "nesterov":
                continue
            tables[(a, b, name)] = W.wfree_curve_table(config, opt, a, b)
    times = {(a, b, n): W.wfree_time_curve(config, o, a, b)
             for a, b in config.plane if 2 * a > 1
             for n, o in config.optimizers(a, b).items() if n in ("sgd", "dana")}  # fmt: skip
    long = {}
    if config.dana_sizes is not None:
        long = {(a, b): W.long_frontier_tables(config, a, b) for a, b in config.plane if 2 * a > 1}
    return {"sgd": sgd, "procedures": procs, "tables": tables, "times": times, "long": long}


def _batch(config: TrainingConfig, progress: bool) -> dict[str, Any]:
    out = {}
    fracs = config.lr_fraction * np.geomspace(1.0 / 16.0, 1.0, 5)
    for d in config.sizes()[:: config.per_octave * 2]:
        spec = W.wfree_spectrum(config.alpha, config.beta, d, config.v(d))
        p0 = float(np.sum(spec.target_mass) + spec.p_star)
        p_star = float(spec.p_star)
        limits_b = np.array([T.max_stable_learning_rate(spec, b) for b in config.batches])
        # the learning rate tuned per batch: the fewest steps over a geometric grid of fractions
        rates = np.outer(limits_b, fracs)
        batches = np.repeat(np.asarray(config.batches), fracs.size)
        targets = [p_star + tau * (p0 - p_star) for tau in config.targets]
        steps = T.steps_to_targets(spec, rates.ravel(), batches, targets, max_steps=10**8)
        steps = steps.reshape(len(config.batches), fracs.size, len(targets))
        per_target = {}
        for k, tau in enumerate(config.targets):
            s = steps[:, :, k]
            best = np.where(s >= 0, s, np.iinfo(np.int64).max).min(axis=1)
            best = np.where(best == np.iinfo(np.int64).max, -1, best)
            per_target[tau] = (
                T.critical_batch_from_steps(config.batches, best, config.factor),
                best,
            )
        out[d] = {
            "rates": rates,
            "targets": per_target,
            "max_batch": T.max_stable_batch(spec, config.lr_fraction * limits_b[0]),
            "p_star": p_star,
            "p0": p0,
        }
    sgd = _batch_sgd(config, progress)
    return {"sizes": out, "batches": np.asarray(config.batches), "sgd": sgd}


def _batch_sgd(config: TrainingConfig, progress: bool) -> dict[str, Any]:
    """SGD at ``sgd_d`` for each batch of ``sgd_batches`` at ``lr_fraction`` × its largest
    stable learning rate (deterministic-equivalent spectrum), run to 3× the theory's
    steps-to-target of the tightest ``sgd_targets`` (at least 100 steps); one sweep per batch.
    Returns per batch the sweep's dataset, its learning rate, and the exact theory's
    steps-to-target on the deterministic-equivalent spectrum."""
    d = config.sgd_d
    spec = theory_plrf.deterministic_equivalent_spectrum(config.alpha, config.beta, d, config.v(d))
    p_star = float(spec.p_star)
    p0 = float(np.sum(spec.target_mass) + p_star)
    targets = [p_star + tau * (p0 - p_star) for tau in config.sgd_targets]
    proc = [Procedure(S.Constant(), T.Optimizer())]
    runs = {}
    for b in config.sgd_batches:
        gamma = config.lr_fraction * T.max_stable_learning_rate(spec, b)
        exact = [T.steps_to_target(spec, gamma, b, t, 10**7) for t in targets]
        if min(exact) < 0:
            raise ValueError(
                f"sgd_targets={config.sgd_targets}: batch {b} at learning rate {gamma:.4g} never "
                "reaches the tightest target (below the noise floor); use larger targets"
            )
        n = max(100, int(3 * max(exact)))  # room for the seeds' W slower than the mean
        res = _run_sgd(config, f"batch-B{b}", proc, [gamma / config.gamma(d)], progress,
                       batch=b, n=n)  # fmt: skip
        runs[b] = {"ds": res.groups[0], "gamma": gamma, "exact_steps": np.asarray(exact)}
    return {"runs": runs, "targets": np.asarray(targets), "taus": np.asarray(config.sgd_targets),
            "p_star": p_star, "p0": p0, "d": d}  # fmt: skip
