"""Simulator of random-feature regression: MRS ridge(less), Bahri's regimes, BAP dynamics.

Maloney, Roberts & Sully, "A Solvable Model of Neural Scaling Laws" (arXiv 2210.16859); Bahri,
Dyer, Kaplan, Lee & Sharma, "Explaining Neural Scaling Laws" (arXiv 2102.06701); Bordelon,
Atanasov & Pehlevan, "A Dynamical Model of Neural Scaling Laws" (arXiv 2402.01092). Theory and
conventions: :mod:`theory.random_features`.

Layers, each importing only those above it in this list:

* :mod:`.model`: draws (:func:`normals`, :func:`latent`), feature maps, exact ridge solves and
  per-realisation limits, and the one-run functions (:func:`ridge_run`,
  :func:`nested_ridge_run`, :func:`descent_eigen_run`, :func:`descent_scan_run`,
  :func:`spectrum_run`); pure JAX.
* :mod:`.limits`: what a run may be given (``validate`` of each builder: ``b, a > 1``, the
  gradient-descent step below :func:`theory.random_features.max_learning_rate`, ...), its
  divergence bound (:func:`train_loss_blowup`: training loss ``≥ 10³ E[y²]``) and its memory
  (:func:`ridge_bytes`, ...).
* :mod:`.experiment`: :class:`CompareConfig`, :class:`RunConfig` (presets ``quick``,
  ``default``, ``paper``), the builders (:func:`build_ridge`, ...) and drivers
  (:func:`simulate_ridge`, ..., from :mod:`.sweeps`; diverged runs NaN, flagged in
  ``diverged``), and the sweeps of ``compare``
  (:func:`run_scaling_regimes`, :func:`run_flow_scaling`).
* :mod:`.analysis`: :func:`measure_scaling_regimes`, :func:`measure_flow_scaling` (exponents
  with seed-bootstrap intervals beside the theory at the same sizes; diverged seeds left out of
  every fit and counted in the rows' ``n_diverged``), :func:`summarize_run`.
* :mod:`.plots`: figures (functions returning a Figure; ``draw_*`` draw on an Axes).
* :mod:`.commands`: the verbs :func:`compare` and :func:`run` (``solvable compare
  random-features``, ``solvable run random-features``).

Every public name is importable from this package (loaded on first use).
"""

from simulations.lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "model": (
            "JITTER",
            "DescentProblem",
            "descent_eigen_run",
            "descent_problem",
            "descent_scan_run",
            "feature_map",
            "kernel_limit",
            "latent",
            "nested_ridge_run",
            "normals",
            "population_projection_loss",
            "ridge_run",
            "ridge_solve",
            "ridge_teacher_average",
            "spectrum_run",
            "teacher_averaged_test",
        ),
        "experiment": (
            "DEFAULT",
            "FEATURES",
            "PARAM_NAMES",
            "QUICK",
            "CompareConfig",
            "FlowSweeps",
            "RegimeSweeps",
            "RunConfig",
            "build_gradient_descent",
            "build_nested_ridge",
            "build_ridge",
            "build_spectrum",
            "run_flow_scaling",
            "run_scaling_regimes",
            "setting_tag",
            "simulate_gradient_descent",
            "simulate_nested_ridge",
            "simulate_ridge",
            "simulate_spectrum",
        ),
        "analysis": (
            "FlowScaling",
            "RegimeCurve",
            "RunSummary",
            "ScalingRegimes",
            "bootstrap_mean_power_law",
            "drop_diverged",
            "flow_theory",
            "measure_flow_scaling",
            "measure_scaling_regimes",
            "summarize_run",
        ),
        "plots": (
            "compare_figure",
            "draw_flow_curves",
            "draw_frontier",
            "draw_regime",
            "dynamics_figure",
            "loss_vs_size_figure",
            "regimes_figure",
            "ridge_figure",
            "spectrum_figure",
        ),
        "commands": (
            "compare",
            "run",
        ),
        "sweeps": (),
        "limits": (
            "DIVERGENCE_FACTOR",
            "as_int",
            "check_teacher_tilt",
            "descent_bytes",
            "int_list",
            "max_teacher_tilt",
            "nested_ridge_bytes",
            "parse_sizes",
            "point_validator",
            "ridge_bytes",
            "spectrum_blowup",
            "spectrum_bytes",
            "static_choice",
            "static_flag",
            "static_samples",
            "static_size",
            "train_loss_blowup",
        ),
    },
)
