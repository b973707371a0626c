"""One call from runs to a trustworthy summary: every requested approach, its intervals, its
identifiability verdict and its held-out error, as a table, ``estimates.json`` and
``estimates.csv`` (columns ``name, estimate, ci_low, ci_high, method``).
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import stats

from simulations.scalefit import uncertainty as unc
from simulations.scalefit.approaches import AllocationFit, envelope_fit, isoflop_fit
from simulations.scalefit.data import RunTable
from simulations.scalefit.laws import LAWS, LawFit, compute_optimal, fit_law, refit_law

__all__ = ["METHODS", "Estimate", "FitReport", "format_report", "run_fit", "write_estimates"]

METHODS = ("1", "2", "3", "all")


@dataclass(frozen=True)
class Estimate:
    """One reported number: ``name``, ``estimate`` and its interval, and how it was obtained."""

    name: str
    estimate: float
    ci_low: float = math.nan
    ci_high: float = math.nan
    method: str = ""


@dataclass(eq=False)
class FitReport:
    """What :func:`run_fit` found: estimates, per-approach fits and diagnostics.

    Attributes:
        estimates: all :class:`Estimate` rows. fits: ``{"1"|"2"|"3": fit object}``.
        verdict: identifiability sentence (approach 3). correlation: ``(names, matrix)``.
        condition: condition number of the scaled Hessian. messages: notes, refusals, skips.
        samples: bootstrap samples of approach 3's internal parameters (pairs plot).
        table: the runs. c_target: compute at which N*, D*, D*/N* are reported.
    """

    estimates: list = field(default_factory=list)
    fits: dict = field(default_factory=dict)
    verdict: str = ""
    correlation: tuple = ()
    condition: float = math.nan
    messages: list = field(default_factory=list)
    samples: dict = field(default_factory=dict)
    table: RunTable | None = None
    c_target: float = math.nan
    ci: float = 0.95

    def get(self, name: str, approach: str) -> Estimate:
        """The first estimate called ``name`` from ``approach`` ("1", "2" or "3")."""
        for e in self.estimates:
            if e.name == name and e.method.startswith(f"approach {approach}"):
                return e
        raise KeyError(f"no estimate {name!r} from approach {approach}")


def _boot_rows(tag, point: dict, samples, n_units, ci, boot_tag) -> list[Estimate]:
    rows = []
    for k, v in point.items():
        lo, hi = unc.interval(samples[k], ci, n_units) if k in samples else (math.nan,) * 2
        rows.append(Estimate(k, float(v), lo, hi, f"{tag}: {boot_tag}"))
    return rows


def _allocation_estimates(fit: AllocationFit, c_target: float) -> dict:
    return fit.estimates(c_target)


def _law_estimates(fit: LawFit, c_target: float) -> dict:
    out = dict(fit.params)
    if fit.law.allocation is not None:
        a = fit.a
        n, d = compute_optimal(fit, c_target)
        out.update(a=a, b=1.0 - a, N_opt=float(n), D_opt=float(d), tokens_per_param=float(d / n))
    return out


def _approach3(rep: FitReport, table, law, n_boot, by_group, seed, ci, x, budget_tol, budgets):
    fit = fit_law(table, law, x=x)
    rep.fits["3"] = fit
    tag = f"approach 3 ({law})"
    point = _law_estimates(fit, rep.c_target)
    cov = unc.law_covariance(fit)
    rep.verdict = unc.identifiability_verdict(fit, table, cov=cov)
    rep.correlation = (fit.law.theta_names, cov["corr"])
    rep.condition = cov["condition"]
    if n_boot:

        def est(t):
            r = refit_law(fit, t, x=x)
            return {
                **_law_estimates(r, rep.c_target),
                **{f"theta:{k}": v for k, v in zip(fit.law.theta_names, r.theta)},
            }

        samples, n_units, failed = unc.bootstrap_estimates(
            est, table, n_boot=n_boot, by_group=by_group, seed=seed
        )
        rep.samples = {k[6:]: v for k, v in samples.items() if k.startswith("theta:")}
        boot_tag = f"bootstrap-{'groups' if by_group else 'rows'}({n_boot})"
        rep.estimates += _boot_rows(tag, point, samples, n_units, ci, boot_tag)
        if failed:
            rep.messages.append(f"approach 3: {failed} of {n_boot} bootstrap refits failed")
    else:
        rep.estimates += [Estimate(k, float(v), method=f"{tag}: point") for k, v in point.items()]
    for name in fit.law.exponents:
        k = fit.law.theta_names.index(name)
        lo, hi = unc.profile_interval(fit, name, ci=ci, se=cov["se"][k])
        rep.estimates.append(
            Estimate(name, float(fit.theta[k]), lo, hi, f"{tag}: profile-likelihood")
        )
    if fit.law.allocation is not None:
        i, j = fit.law.theta_names.index(fit.law.exponents[0]), fit.law.exponents[1]
        j = fit.law.theta_names.index(j)
        al, be = fit.theta[i], fit.theta[j]
        g = np.zeros(fit.theta.size)  # a = e2/(e1 + e2) for the exponents (e1, e2) of the law
        g[i], g[j] = -be / (al + be) ** 2, al / (al + be) ** 2
        se = unc.delta_se(g, cov["cov"])
        z = float(stats.norm.ppf(0.5 + ci / 2))
        rep.estimates.append(
            Estimate("a", fit.a, fit.a - z * se, fit.a + z * se, f"{tag}: huber-delta-method")
        )
    held = unc.largest_budget_rows(table, budget_tol=budget_tol, budgets=budgets)
    try:
        sub = fit_law(table.subset(~held), law, x=x)
        err = sub.law.log_predict(sub.theta, _features_of(fit, held)) - np.log(table.L[held])
        rms = float(np.sqrt(np.mean(err**2)))
        rep.estimates.append(
            Estimate(
                "holdout_loss_rel_error",
                rms,
                method=f"{tag}: largest budget held out "
                f"({int(held.sum())} rows), rms of log L̂ − log L",
            )
        )
    except ValueError as err_:
        rep.messages.append(f"approach 3: held-out check skipped ({err_})")


def _features_of(fit: LawFit, rows) -> dict:
    return {k: v[rows] for k, v in fit.features.items() if k != "lL"}


def _approach12(rep, which, table, n_boot, by_group, seed, ci, budget_tol, budgets, edge):
    def fitter(t, exclude=False):
        if which == "1":
            return envelope_fit(t, ci=ci, exclude_largest=exclude)
        return isoflop_fit(
            t, budget_tol=budget_tol, budgets=budgets, edge=edge, ci=ci, exclude_largest=exclude
        )

    fit = fitter(table)
    rep.fits[which] = fit
    rep.messages += [f"approach {which}: {m}" for m in fit.messages]
    tag = f"approach {which}"
    point = fit.estimates(rep.c_target)
    if n_boot:
        samples, n_units, failed = unc.bootstrap_estimates(
            lambda t: fitter(t).estimates(rep.c_target),
            table,
            n_boot=n_boot,
            by_group=by_group,
            seed=seed,
        )
        boot_tag = f"bootstrap-{'groups' if by_group else 'rows'}({n_boot})"
        rep.estimates += _boot_rows(tag, point, samples, n_units, ci, boot_tag)
        if failed:
            rep.messages.append(f"{tag}: {failed} of {n_boot} bootstrap refits failed")
    else:
        rep.estimates += [Estimate(k, float(v), method=f"{tag}: point") for k, v in point.items()]
    rep.estimates += [
        Estimate("a", fit.a, *fit.a_ci, f"{tag}: regression t-interval over budgets"),
        Estimate("b", fit.b, *fit.b_ci, f"{tag}: regression t-interval over budgets"),
    ]
    try:
        sub = fitter(table, exclude=True)
        c_max = float(fit.budgets.max())
        n_pred = float(sub.predict(c_max)[0])
        n_meas = float(fit.n_opt[np.argmax(fit.budgets)])
        rep.estimates.append(
            Estimate(
                "holdout_N_opt_rel_error",
                abs(math.log(n_pred / n_meas)),
                method=f"{tag}: largest budget C={c_max:.3g} held out, |log N̂*/N*|",
            )
        )
    except ValueError as err:
        rep.messages.append(f"{tag}: held-out check skipped ({err})")


def run_fit(
    table: RunTable,
    *,
    law: str = "chinchilla",
    method: str = "all",
    n_boot: int = 200,
    by_group: bool | None = None,
    ci: float = 0.95,
    seed: int = 0,
    c_target: float | None = None,
    budget_tol: float = 1e-6,
    budgets=None,
    edge: str = "refuse",
    x: str = "compute",
) -> FitReport:
    """Fit ``table`` by the requested approaches and measure how far each can be trusted.

    Args:
        table: the runs. law: approach 3's law (:data:`simulations.scalefit.laws.LAWS`).
        method: ``"1"``, ``"2"``, ``"3"`` or ``"all"`` (approaches that do not apply to the
            data are skipped with a message; a single requested one raises instead).
        n_boot: bootstrap replicates (0: no bootstrap). by_group: resample whole groups
            (default: when the table has a group column). ci: interval level. seed: resampling.
        c_target: compute at which ``N*``, ``D*`` and ``D*/N*`` are reported (default: the
            largest compute in the data).
        budget_tol, budgets, edge: approach 2's budget grouping and edge policy
            (:func:`simulations.scalefit.approaches.isoflop_fit`). x: saturating variable.

    Returns:
        :class:`FitReport`.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if law not in LAWS:
        raise ValueError(f"law must be one of {tuple(LAWS)}, got {law!r}")
    if isinstance(n_boot, bool) or int(n_boot) != n_boot or n_boot < 0:
        raise ValueError(f"n_boot must be an integer >= 0, got {n_boot!r}")
    if not 0 < ci < 1:
        raise ValueError(f"ci must be in (0, 1), got {ci}")
    if by_group is None:
        by_group = table.group is not None
    if by_group and table.group is None:
        raise ValueError("group bootstrap needs a group column (--group)")
    c_target = float(table.C.max()) if c_target is None else float(c_target)
    if not (math.isfinite(c_target) and c_target > 0):
        raise ValueError(f"c_target must be > 0, got {c_target}")
    rep = FitReport(table=table, c_target=c_target, ci=ci)
    rep.messages += list(table.notes)
    wanted = ("1", "2", "3") if method == "all" else (method,)
    for which in wanted:
        try:
            if which == "3":
                _approach3(rep, table, law, n_boot, by_group, seed, ci, x, budget_tol, budgets)
            else:
                _approach12(
                    rep, which, table, n_boot, by_group, seed, ci, budget_tol, budgets, edge
                )
        except ValueError as err:
            if method != "all":
                raise
            rep.messages.append(f"approach {which} skipped: {err}")
    if not rep.fits:
        raise ValueError("no approach applies to these data: " + "; ".join(rep.messages))
    return rep


def _fmt(v: float) -> str:
    return "nan" if not math.isfinite(v) else f"{v:.4g}"


def format_report(rep: FitReport) -> str:
    """The printed table: one line per estimate, then diagnostics and messages."""
    w = max(len(e.name) for e in rep.estimates)
    lines = [f"{'name':<{w}}  {'estimate':>10}  {'ci_low':>10}  {'ci_high':>10}  method"]
    for e in rep.estimates:
        lines.append(
            f"{e.name:<{w}}  {_fmt(e.estimate):>10}  {_fmt(e.ci_low):>10}  "
            f"{_fmt(e.ci_high):>10}  {e.method}"
        )
    lines.append(
        f"(intervals at {rep.ci:.0%}; N_opt, D_opt, tokens_per_param at C = {rep.c_target:.3g})"
    )
    if rep.verdict:
        lines.append(f"identifiability (approach 3): {rep.verdict}")
        names, corr = rep.correlation
        lines.append("correlation matrix (approach 3): " + ", ".join(names))
        for n, row in zip(names, corr):
            lines.append(f"  {n:>8} " + " ".join(f"{c:+.3f}" for c in row))
    lines += [f"note: {m}" for m in rep.messages]
    return "\n".join(lines)


def write_estimates(rep: FitReport, out) -> list[Path]:
    """``estimates.json`` (estimates, verdict, correlation, messages) and ``estimates.csv``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows = [e.__dict__ for e in rep.estimates]

    def clean(v):
        return v if not (isinstance(v, float) and not math.isfinite(v)) else None

    names, corr = rep.correlation if rep.correlation else ((), np.zeros((0, 0)))
    doc = {
        "estimates": [{k: clean(v) for k, v in r.items()} for r in rows],
        "ci_level": rep.ci,
        "c_target": rep.c_target,
        "identifiability": rep.verdict,
        "correlation": {
            "names": list(names),
            "matrix": [[clean(float(c)) for c in r] for r in corr],
        },
        "condition_number": clean(rep.condition),
        "messages": rep.messages,
    }
    pj, pc = out / "estimates.json", out / "estimates.csv"
    pj.write_text(json.dumps(doc, indent=2) + "\n")
    with pc.open("w", newline="") as fh:
        wr = csv.DictWriter(fh, fieldnames=["name", "estimate", "ci_low", "ci_high", "method"])
        wr.writeheader()
        wr.writerows(rows)
    return [pj, pc]
