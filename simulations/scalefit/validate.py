"""Ground truth for the fitters: synthetic laws with noise, and this library's solvable models.

* :func:`chinchilla_isoflop`: IsoFLOP designs (sizes centred on the true optimum of each budget)
  drawn from ``L = E + A/N^α + B/D^β`` with log-normal noise; the truth is ``a = β/(α+β)``
  (Hoffmann et al. 2022, eq. (4)).
* :func:`chinchilla_curves`: training curves of the same law (approach 1's input).
* :func:`coverage`: refits many replicates and counts how often the 95 % intervals of approach 2
  (regression t-interval) and approach 3 (bootstrap and profile likelihood) contain the truth.
* :func:`plrf_curves`, :func:`plrf_truth`, :func:`plrf_table`: expected SGD loss curves of
  power-law random features (Paquette et al. 2024, arXiv 2405.15074) from
  :func:`theory.plrf.continuum_spectrum` and :func:`theory.plrf.expected_loss` (compute
  ``f = d·r``). At finite ``d`` PLRF's compute-optimal exponent is not yet its asymptotic value,
  so the truth is the exponent of the *noise-free* curves on a dense size grid (four sizes per
  octave) over the same budgets (:func:`plrf_truth`). At ``(α, β) = (1.0, 0.7)`` (phase II) it
  also approaches the asymptotic ``ξ = 7/17 = 0.4118`` quickly (0.4149 over ``d = 2^6..2^10``,
  0.411 over ``2^6..2^11``, 0.4113 over ``2^6..2^14``); elsewhere (phase IV) it need not.
* :func:`random_feature_table`: ridgeless random-feature regression (Maloney, Roberts & Sully
  2022, arXiv 2210.16859, :func:`theory.random_features.ridgeless_asymptote`) on an IsoFLOP
  design ``C = N·T`` with ``N < T``: ``E ∝ N^(−α)/(1 − N²/C)`` is minimised at
  ``N* = sqrt(α/(α+2))·C^(1/2)``, so the truth is ``a = 1/2`` exactly; every IsoFLOP profile has
  the same shape in ``log(N/√C)``, so approach 2 recovers ``a`` to round-off without noise.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from simulations.scalefit.approaches import isoflop_fit
from simulations.scalefit.data import RunTable, make_table
from simulations.scalefit.laws import fit_law, refit_law
from simulations.scalefit.uncertainty import (
    bootstrap_estimates,
    delta_se,
    interval,
    law_covariance,
    profile_interval,
)

__all__ = [
    "HOFFMANN",
    "chinchilla_curves",
    "chinchilla_isoflop",
    "coverage",
    "format_validation",
    "plrf_curves",
    "plrf_table",
    "plrf_truth",
    "random_feature_table",
    "run_validation",
]

#: Hoffmann et al. 2022's approach-3 estimates (their eq. (10)).
HOFFMANN = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}


def chinchilla_isoflop(
    params: dict = HOFFMANN,
    *,
    budgets=None,
    n_sizes: int = 9,
    span_decades: float = 1.0,
    noise: float = 0.01,
    n_groups: int = 1,
    group_noise: float = 0.0,
    budget_noise: float = 0.0,
    seed: int = 0,
) -> RunTable:
    """IsoFLOP runs of the Chinchilla law: ``n_sizes`` sizes per budget, centred on ``N*(C)``.

    Args:
        params: ``E, A, B, alpha, beta``. budgets: compute budgets (default 8 from 1e18 to
            1e21). n_sizes: sizes per budget, log-spaced over ``span_decades`` around ``N*``.
        noise: standard deviation of independent log-normal noise per row.
        n_groups: repeated sweeps (seeds); each is a group sharing a log-offset of standard
            deviation ``group_noise`` (correlated errors within a group).
        budget_noise: a log-offset shared by the rows of one budget (in one sweep); with a
            single sweep the group labels are then the budgets.
        seed: noise seed.
    """
    E, A, B, al, be = (params[k] for k in ("E", "A", "B", "alpha", "beta"))
    budgets = np.geomspace(1e18, 1e21, 8) if budgets is None else np.asarray(budgets, float)
    G = (al * A / (be * B)) ** (1 / (al + be))
    n_star = G * (budgets / 6) ** (be / (al + be))
    offs = np.linspace(-span_decades / 2, span_decades / 2, n_sizes)
    N = (n_star[:, None] * 10.0 ** offs[None, :]).ravel()
    C = np.repeat(budgets, n_sizes)
    D = C / (6 * N)
    L = E + A * N**-al + B * D**-be
    rng = np.random.default_rng(seed)
    rows_N, rows_D, rows_L, rows_g = [], [], [], []
    for g in range(n_groups):
        shift = group_noise * rng.standard_normal()
        shift = shift + np.repeat(budget_noise * rng.standard_normal(budgets.size), n_sizes)
        rows_N.append(N)
        rows_D.append(D)
        rows_L.append(L * np.exp(shift + noise * rng.standard_normal(L.size)))
        rows_g.append(
            np.full(L.size, g) if n_groups > 1 else np.repeat(np.arange(budgets.size), n_sizes)
        )
    grouped = n_groups > 1 or budget_noise > 0
    return make_table(
        np.concatenate(rows_N),
        np.concatenate(rows_D),
        np.concatenate(rows_L),
        group=np.concatenate(rows_g) if grouped else None,
    )


def chinchilla_curves(
    params: dict = HOFFMANN,
    *,
    sizes=None,
    tokens=None,
    noise: float = 0.0,
    seed: int = 0,
) -> RunTable:
    """Training curves of the Chinchilla law: every size's loss ``L(N, D_t)`` at checkpoints
    ``D_t`` (one run per size, a group each; a checkpoint's loss is the law at its tokens,
    ignoring learning-rate schedules). Default: 4 sizes per octave from 1e8 to 1e10, 60
    checkpoints from 1e9 to 1e12 tokens."""
    E, A, B, al, be = (params[k] for k in ("E", "A", "B", "alpha", "beta"))
    sizes = np.geomspace(1e8, 1e10, 27) if sizes is None else np.asarray(sizes, float)
    tokens = np.geomspace(1e9, 1e12, 60) if tokens is None else np.asarray(tokens, float)
    N = np.repeat(sizes, tokens.size)
    D = np.tile(tokens, sizes.size)
    rng = np.random.default_rng(seed)
    L = (E + A * N**-al + B * D**-be) * np.exp(noise * rng.standard_normal(N.size))
    return make_table(N, D, L, group=np.repeat(np.arange(sizes.size), tokens.size), step=D)


def coverage(
    n_rep: int = 200,
    *,
    params: dict = HOFFMANN,
    noise: float = 0.01,
    n_boot: int = 100,
    approaches=("2", "3"),
    seed: int = 0,
    **design,
) -> dict:
    """How often 95 % intervals contain the true ``a = β/(α+β)`` (and ``α``, ``β``).

    Approach 2: the regression t-interval of ``a`` over budgets. Approach 3 (Chinchilla law):
    the row-bootstrap interval of ``a`` (``n_boot`` replicates; 0 skips it), the delta-method
    interval of ``a`` from the Huber covariance, and the profile-likelihood intervals of ``α``
    and ``β``.

    Returns:
        ``{"n_rep", "a_true", "<approach>:<what>": fraction covered, ...}``.
    """
    if isinstance(n_rep, bool) or int(n_rep) != n_rep or n_rep < 1:
        raise ValueError(f"n_rep must be an integer >= 1, got {n_rep!r}")
    a_true = params["beta"] / (params["alpha"] + params["beta"])
    hits: dict[str, int] = {}
    ests: dict[str, list] = {}
    for r in range(int(n_rep)):
        table = chinchilla_isoflop(params, noise=noise, seed=seed + r, **design)
        if "2" in approaches:
            f2 = isoflop_fit(table)
            hits["2:a t-interval"] = hits.get("2:a t-interval", 0) + (
                f2.a_ci[0] <= a_true <= f2.a_ci[1]
            )
            ests.setdefault("2:a", []).append(f2.a)
        if "3" in approaches:
            f3 = fit_law(table, "chinchilla")
            ests.setdefault("3:a", []).append(f3.a)
            if n_boot:
                s, n_units, _ = bootstrap_estimates(
                    lambda t, f3=f3: {"a": refit_law(f3, t).a}, table, n_boot=n_boot, seed=r
                )
                lo, hi = interval(s["a"], 0.95, n_units)
                hits["3:a bootstrap"] = hits.get("3:a bootstrap", 0) + (lo <= a_true <= hi)
            cov = law_covariance(f3)
            al, be = f3.theta[3], f3.theta[4]
            g = np.zeros(5)
            g[3], g[4] = -be / (al + be) ** 2, al / (al + be) ** 2
            half = 1.959964 * delta_se(g, cov["cov"])
            hits["3:a delta"] = hits.get("3:a delta", 0) + (abs(f3.a - a_true) <= half)
            for name in ("alpha", "beta"):
                lo, hi = profile_interval(f3, name)
                key = f"3:{name} profile"
                hits[key] = hits.get(key, 0) + (lo <= params[name] <= hi)
    out = {"n_rep": int(n_rep), "a_true": a_true, "noise": noise}
    out.update({k: v / n_rep for k, v in hits.items()})
    out.update({f"{k} mean": float(np.mean(v)) for k, v in ests.items()})
    return out


def plrf_curves(alpha: float, beta: float, log2_sizes, steps) -> np.ndarray:
    """Expected SGD loss ``(n_sizes, n_steps)`` of PLRF at sizes ``d = round(2^k)`` (batch 1,
    ``v = 4d``, the paper's learning rate), from the continuum deterministic equivalent."""
    from theory import plrf  # imported here: pulls in JAX

    out = []
    for k in log2_sizes:
        d = round(2.0**k)
        spec = plrf.continuum_spectrum(alpha, beta, d)
        out.append(plrf.expected_loss(spec, plrf.learning_rate(alpha, 4 * d), 1, steps))
    return np.array(out)


def plrf_truth(alpha: float, beta: float, log2_range, steps, window=None) -> dict:
    """Compute-optimal ``ξ`` (``d* ∝ f^ξ``) of noise-free PLRF curves on a dense size grid.

    Four sizes per octave over ``log2_range = (k_min, k_max)``; the envelope and its exponent
    by :func:`simulations.frontier.compute_optimal_frontier` and
    :func:`simulations.frontier.fit_frontier` over ``window`` (default: bracketed budgets).
    """
    from simulations.frontier import compute_optimal_frontier, fit_frontier

    ks = np.arange(log2_range[0], log2_range[1] + 1e-9, 0.25)
    sizes = np.round(2.0**ks)
    L = plrf_curves(alpha, beta, ks, steps)
    fr = compute_optimal_frontier(sizes, sizes[:, None] * steps[None, :], L)
    size_fit, loss_fit = fit_frontier(fr, window=window)
    return {
        "xi": size_fit.exponent,
        "eta": loss_fit.exponent,
        "window": size_fit.window,
        "n_sizes": int(sizes.size),
    }


def plrf_table(
    alpha,
    beta,
    log2_sizes,
    steps,
    *,
    noise: float = 0.0,
    n_seeds: int = 1,
    seed: int = 0,
    curves=None,
) -> RunTable:
    """PLRF training curves as runs: one group per (size, seed), ``C = d·r``, ``D = r``
    (batch 1), log-normal noise per checkpoint and a shared per-run offset of the same size."""
    sizes = np.round(2.0 ** np.asarray(log2_sizes, float))
    L = plrf_curves(alpha, beta, log2_sizes, steps) if curves is None else curves
    rng = np.random.default_rng(seed)
    N, D, C, Ls, g = [], [], [], [], []
    for s in range(n_seeds):
        for i, d in enumerate(sizes):
            eps = noise * (rng.standard_normal() + rng.standard_normal(steps.size))
            N.append(np.full(steps.size, d))
            D.append(steps.astype(float))
            C.append(d * steps)
            Ls.append(L[i] * np.exp(eps))
            g.append(np.full(steps.size, s * sizes.size + i))
    cat = np.concatenate
    return make_table(cat(N), cat(D), cat(Ls), C=cat(C), group=cat(g), step=cat(D))


def random_feature_table(
    alpha: float = 0.5, n_latent: int = 10**7, budgets=None, n_sizes: int = 9
) -> RunTable:
    """Ridgeless random features on IsoFLOP budgets ``C = N·T`` (features ``N``, samples ``T``),
    sizes log-spaced from ``0.03·√C`` to ``0.9·√C`` (the under-parameterised side, ``N < T``),
    bracketing ``N* = sqrt(α/(α+2))·√C``."""
    from theory.random_features import ridgeless_asymptote

    budgets = np.geomspace(1e6, 1e9, 6) if budgets is None else np.asarray(budgets, float)
    N = np.concatenate([np.sqrt(c) * np.geomspace(0.03, 0.9, n_sizes) for c in budgets])
    C = np.repeat(budgets, n_sizes)
    T = C / N
    L = np.asarray(ridgeless_asymptote(alpha, n_latent, N, T), dtype=np.float64)
    return make_table(N, T, L, C=C)


def run_validation(out=None, *, seed: int = 0, n_rep: int = 40, n_boot: int = 50) -> dict:
    """What ``solvable fit --validate`` runs: recovery and coverage on known laws, and PLRF.

    * noise-free recovery: approach 3 (Chinchilla law on an IsoFLOP design), approach 1
      (Chinchilla training curves), approach 2 (random features, ``a = 1/2``);
    * coverage of the 95 % intervals over ``n_rep`` noisy replicates (:func:`coverage`, with
      ``n_boot`` bootstrap replicates each; 0 skips the bootstrap);
    * PLRF at ``(1.0, 0.7)``: approach 1 on 2 sizes per octave with 1 % noise and 6 seeds
      (group bootstrap) against the dense-grid truth.

    Returns (and writes ``validation.json`` into ``out`` when given) a dict of results.
    """
    from simulations.frontier import compute_optimal_frontier, fit_frontier
    from simulations.scalefit.approaches import envelope_fit
    from simulations.scalefit.report import run_fit

    a_true = HOFFMANN["beta"] / (HOFFMANN["alpha"] + HOFFMANN["beta"])
    f3 = fit_law(chinchilla_isoflop(noise=0.0), "chinchilla")
    res: dict = {
        "noise-free recovery": {
            "approach 3 max relative error of E, A, B, alpha, beta": max(
                abs(f3.params[k] / v - 1) for k, v in HOFFMANN.items()
            ),
            "approach 1 |a - beta/(alpha+beta)|": abs(envelope_fit(chinchilla_curves()).a - a_true),
            "approach 2 random features |a - 1/2|": abs(
                isoflop_fit(random_feature_table()).a - 0.5
            ),
        },
        f"coverage of 95 % intervals ({n_rep} replicates)": coverage(
            n_rep, seed=seed, n_boot=n_boot
        ),
    }
    steps = np.unique(np.geomspace(1, 2**19, 70).astype(np.int64))
    ks = np.arange(6, 11.01, 0.25)
    curves = plrf_curves(1.0, 0.7, ks, steps)
    sizes = np.round(2.0**ks)
    truth = fit_frontier(compute_optimal_frontier(sizes, sizes[:, None] * steps, curves))[0]
    runs = plrf_table(
        1.0, 0.7, ks[::2], steps, noise=0.01, n_seeds=6, seed=seed, curves=curves[::2]
    )
    rep = run_fit(runs, method="1", n_boot=max(n_boot, 50), by_group=True)
    a = rep.get("a", "1")
    res["PLRF (1.0, 0.7), approach 1"] = {
        "truth xi (noise-free, 4 sizes per octave)": truth.exponent,
        "asymptotic xi": 7 / 17,
        "a": a.estimate,
        "ci_low": a.ci_low,
        "ci_high": a.ci_high,
        "covered": bool(a.ci_low <= truth.exponent <= a.ci_high),
    }
    if out is not None:
        Path(out).mkdir(parents=True, exist_ok=True)
        (Path(out) / "validation.json").write_text(json.dumps(res, indent=2, default=float))
    return res


def format_validation(res: dict) -> str:
    """The printed summary of :func:`run_validation`."""
    lines = []
    for k, v in res.items():
        if isinstance(v, dict):
            lines.append(f"{k}:")
            lines += [
                f"  {kk}: {vv:.4g}" if isinstance(vv, float) else f"  {kk}: {vv}"
                for kk, vv in v.items()
            ]
        elif isinstance(v, float):
            lines.append(f"{k}: {v:.4g}" if math.isfinite(v) else f"{k}: nan")
        else:
            lines.append(f"{k}: {v}")
    return "\n".join(lines)
