"""Commands of ``solvable … random-features``: ``compare`` and ``run`` (the only module that runs
sweeps, writes files and prints)."""

from __future__ import annotations

import json
import time
from pathlib import Path

from simulations import compare as comparison
from simulations.plotting import save, stamp
from simulations.random_features import analysis, experiment, plots
from simulations.random_features.experiment import CompareConfig, RunConfig

__all__ = ["compare", "run"]


def compare(
    config: CompareConfig, out: Path, *, progress: bool = True, note: str = ""
) -> list[comparison.ComparisonRow]:
    """Measured vs predicted exponents: Bahri's four regimes, BAP flow and compute-optimal.

    For each ``(b, a)`` of ``config.settings`` it measures, with seed-bootstrap intervals, and
    sets beside the theory evaluated at the *same finite sizes* (the asymptotic exponent is the
    ``asymptote`` column):

    * ``e_N`` (ridgeless, ``N < T``) and ``e_T`` (``T < N``): resolution-limited, both sides of
      ``N = T``; theory :func:`theory.random_features.ridge_loss`;
    * the variance-limited exponents in ``T`` (``T ≫ N``) and in ``N`` (``N ≫ T``) of the loss
      minus the same seed's limit of the unlimited resource (asymptote 1);
    * ``e_t`` of population gradient flow, and the compute-optimal exponents ``compute_N``,
      ``compute_t``, ``compute_loss`` (``C = N t``, signed powers of ``C``) from the IsoFLOP
      frontier of flow curves at several ``N``; theory
      :func:`theory.random_features.gradient_flow_loss`.

    Writes ``out/comparison.csv`` (parameter columns ``b, a, n_latent, n_features, n_samples``,
    the swept one written ``swept``; extras ``window, asymptote, seeds, note, n_diverged``: the
    diverged runs left out of each fit) and ``out/random_features_compare.png`` (stamped with
    ``note``, e.g. the quick-preset warning, also printed above the table); sweeps are stored
    under ``out/sweep`` (a rerun resumes). Prints the table and returns the rows.
    """
    config.validate()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    store = out / "sweep"
    t0 = time.perf_counter()
    rows, regimes, flows = [], [], []
    for b, a in config.settings:
        data = experiment.run_scaling_regimes(config, b, a, store, progress=progress)
        regimes.append(analysis.measure_scaling_regimes(config, data))
        data = experiment.run_flow_scaling(config, b, a, store, progress=progress)
        flows.append(analysis.measure_flow_scaling(config, data))
        rows += [*regimes[-1].rows, *flows[-1].rows]
    comparison.write_comparison_csv(rows, out / "comparison.csv", experiment.PARAM_NAMES)
    save(stamp(plots.compare_figure(regimes, flows), note), out / "random_features_compare")
    print(comparison.format_comparison_table(rows, experiment.PARAM_NAMES, note=note))
    print(
        f"[random-features] {len(rows)} comparisons in {time.perf_counter() - t0:.1f} s; "
        f"wrote {out / 'comparison.csv'}"
    )
    return rows


def run(
    config: RunConfig, out: Path, *, progress: bool = True, note: str = ""
) -> analysis.RunSummary:
    """One ridge configuration: simulated test and train loss beside the deterministic equivalent.

    Prints the mean test and train loss over seeds (± standard error) of ridge regression with
    the chosen features beside the theory (linear features), writes them to
    ``out/summary.json`` and returns them. Diverged seeds are left out and counted.
    """
    config.validate()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    r = experiment.simulate_ridge(
        config.n_latent,
        [config.n_features],
        [config.n_samples],
        b=config.b,
        a=config.source,
        ridge=config.ridge,
        noise=config.noise,
        features=config.features,
        seeds=config.seeds,
        n_test=config.n_test,
        progress=progress,
    )
    s = analysis.summarize_run(config, r)
    if note:
        print(f"[{note}]")
    print(
        f"random features: M={config.n_latent} N={config.n_features} T={config.n_samples} "
        f"b={config.b:g} a={config.source:g} ridge={config.ridge:g} noise={config.noise:g} "
        f"{config.features}"
    )
    print(f"  simulated test  {s.test_mean:.6g} ± {s.test_se:.2g}")
    print(f"  simulated train {s.train_mean:.6g} ± {s.train_se:.2g}")
    if config.features == "linear":
        print(f"  theory    test  {s.theory_test:.6g}   train {s.theory_train:.6g}")
    diverged = f", {s.n_diverged} diverged (left out)" if s.n_diverged else ""
    print(f"  ({config.seeds} seeds{diverged}, {time.perf_counter() - t0:.1f} s)")
    payload = {k: (None if v != v else v) for k, v in s._asdict().items()}  # NaN -> null
    (out / "summary.json").write_text(json.dumps(payload, indent=2) + "\n")
    return s
