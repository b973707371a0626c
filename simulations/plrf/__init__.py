"""Simulator of power-law random features (PLRF) trained by one-pass SGD (Paquette, Paquette,
Xiao, Pennington, "4+3 Phases of Compute-Optimal Neural Scaling Laws", arXiv 2405.15074) on the
sweep engine. Theory: :mod:`theory.plrf`.

Layers, each importing only those above it in this list:

* :mod:`.checks`: eager input checks (:func:`validate_static`, :func:`validate_point`, with the
  theory's stability limit), checkpoint and block conventions, memory per run; no tracing.
* :mod:`.model`: the random problem (:func:`sample_embedding`, :func:`eigenbasis_problem`), the
  two exact SGD simulators (:func:`sgd_eigenbasis`, :func:`sgd_explicit`) and one run
  (:func:`sgd_run`, :func:`expected_run`); pure JAX.
* :mod:`.limits`: the large-d path: W-free expected-loss curves over a size ladder
  (:func:`wfree_curves`, :func:`cached_wfree_curves`, :func:`size_ladder`) and their frontier.
* :mod:`.sweeps`: the sweep builders :func:`build_sgd`, :func:`build_expected` (each point
  validated before compiling, divergence bound :func:`run_diverged`, memory per run) and
  :func:`simulate` (one configuration).
* :mod:`.experiment`: :class:`PhaseDiagramConfig`, :class:`RunConfig` (presets ``quick``,
  ``default``, ``paper``), :func:`run_phase_sweep`, :func:`run_wfree`, :func:`run_curves`.
* :mod:`.diagnostics`: :func:`frontier_terms` (the loss at the compute-optimal point split into
  capacity, forcing and SGD noise, beside their asymptotic forms).
* :mod:`.analysis`: :func:`measure_trend` (local ξ, η over windows of ``d*`` and their d → ∞
  limits), :func:`trend_rows`; :func:`measure_point` (ξ, η and ``P*(d)`` with bootstrap
  intervals at small d), :func:`comparison_rows`, :func:`summarize_curves`.
* :mod:`.plots`: figures (functions returning a Figure; ``draw_*`` draw on an Axes).
* :mod:`.dynamics` (between model and limits): SGD with a per-step learning rate and momentum
  (heavy ball, Nesterov, DANA) in ``K̂``'s eigenbasis (:func:`sgd_scheduled`, :func:`sgd_momentum`,
  :func:`trained_run`); :mod:`.training` (between sweeps and experiment): the training-procedure
  studies (:class:`TrainingConfig`, :func:`run_study`); :mod:`.training_analysis` and
  :mod:`.training_plots`: their measurements and figures.
* :mod:`.commands`: the verbs :func:`phase_diagram`, :func:`compare` and :func:`run`
  (``solvable phase-diagram plrf``, ``solvable compare plrf``, ``solvable run plrf``).

Every public name is importable from this package (loaded on first use).
"""

from simulations.lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "checks": (
            "DEFAULT_LR_SCALE",
            "DEFAULT_N_CHECKPOINTS",
            "DEFAULT_V_RATIO",
            "DTYPE_NAMES",
            "MAX_STEPS",
            "PATHS",
            "STATIC_KEYS",
            "SWEPT_KEYS",
            "default_block_steps",
            "embedding_block_rows",
            "expected_run_bytes",
            "log_checkpoints",
            "sgd_run_bytes",
            "validate_point",
            "validate_static",
        ),
        "model": (
            "DTYPES",
            "EigenbasisProblem",
            "check_checkpoints",
            "checkpointed_loop",
            "eigenbasis_problem",
            "expected_run",
            "learning_rate_from_scale",
            "normal_draws",
            "resolve_learning_rate",
            "sample_embedding",
            "sgd_eigenbasis",
            "sgd_explicit",
            "sgd_run",
            "split_run_key",
        ),
        "sweeps": (
            "build_expected",
            "build_sgd",
            "point_validator",
            "run_diverged",
            "run_embedding",
            "simulate",
            "simulation_grid",
            "validate_grid",
            "with_compute_coords",
        ),
        "limits": (
            "FRONTIER_SPECTRUM",
            "WFreeCurves",
            "cached_wfree_curves",
            "curves_frontier",
            "size_ladder",
            "wfree_curves",
            "wfree_steps",
        ),
        "experiment": (
            "MAX_LOG2_SIZE",
            "PHASE_POINTS",
            "PLANE_ALPHAS",
            "PLANE_BETAS",
            "WFREE_PER_DECADE",
            "PhaseDiagramConfig",
            "RunConfig",
            "max_steps_for",
            "run_curves",
            "run_phase_sweep",
            "run_wfree",
        ),
        "diagnostics": (
            "FrontierTerms",
            "frontier_terms",
        ),
        "analysis": (
            "FrontierTrend",
            "LossCurves",
            "PStarExponent",
            "PointArrays",
            "PointMeasurement",
            "comparison_rows",
            "diverged_note",
            "format_three_way",
            "local_resolution",
            "measure_point",
            "measure_points",
            "p_star_exponents",
            "point_arrays",
            "summarize_curves",
            "measure_trend",
            "trend_rows",
        ),
        "plots": (
            "draw_loss_curves",
            "draw_measured_offsets",
            "draw_phase_boundaries",
            "exponent_maps",
            "isoflop_frontier",
            "isoflop_grid",
            "local_exponents",
            "loss_curves",
            "loss_curves_by_size",
            "phase_plane",
            "plane_maps",
        ),
        "dynamics": (
            "sgd_momentum",
            "sgd_momentum_explicit",
            "sgd_scheduled",
            "trained_run",
        ),
        "training": (
            "STUDIES",
            "Procedure",
            "TrainingConfig",
            "build_procedures",
            "parse_schedule",
            "run_study",
        ),
        "training_wfree": (
            "check_procedure",
            "long_frontier_tables",
            "wfree_budget_table",
            "wfree_curve_table",
            "wfree_spectrum",
            "wfree_time_curve",
        ),
        "training_analysis": (
            "PARAMS",
            "format_rows",
            "frontier_exponents",
            "frontier_rows",
            "rows_for",
            "sgd_agreement",
            "sgd_critical_batch",
            "time_rows",
            "time_slope",
        ),
        "training_plots": (
            "batch_figure",
            "collapse_figure",
            "exponent_gain_map",
            "procedure_curves",
            "schedule_shape",
            "time_exponents_figure",
        ),
        "commands": (
            "compare",
            "phase_diagram",
            "run",
        ),
    },
)
