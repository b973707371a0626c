"""Simulator of power-law random features (PLRF) trained by one-pass SGD (Paquette, Paquette,
Xiao, Pennington, "4+3 Phases of Compute-Optimal Neural Scaling Laws", arXiv 2405.15074) on the
sweep engine. Theory: :mod:`theory.plrf`.

Layers, each importing only those above it in this list:

* :mod:`.model`: the random problem (:func:`sample_embedding`, :func:`eigenbasis_problem`), the
  two exact SGD simulators (:func:`sgd_eigenbasis`, :func:`sgd_explicit`), one run
  (:func:`sgd_run`, :func:`expected_run`) and eager validation; pure JAX.
* :mod:`.experiment`: :class:`PhaseDiagramConfig`, :class:`RunConfig` (presets ``quick``,
  ``default``, ``paper``), the sweep builders :func:`build_sgd`, :func:`build_expected`,
  :func:`simulate`, :func:`run_phase_sweep`, :func:`run_curves`.
* :mod:`.analysis`: :func:`measure_point` (ξ, η and ``P*(d)`` with bootstrap intervals),
  :func:`comparison_rows`, :func:`summarize_curves`.
* :mod:`.plots`: figures (functions returning a Figure; ``draw_*`` draw on an Axes).
* :mod:`.commands`: the verbs :func:`phase_diagram`, :func:`compare` and :func:`run`
  (``solvable phase-diagram plrf``, ``solvable compare plrf``, ``solvable run plrf``).

Every public name is importable from this package (loaded on first use).
"""

from simulations.lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "model": (
            "DEFAULT_LR_SCALE",
            "DEFAULT_N_CHECKPOINTS",
            "DEFAULT_V_RATIO",
            "DTYPES",
            "PATHS",
            "STATIC_KEYS",
            "SWEPT_KEYS",
            "EigenbasisProblem",
            "eigenbasis_problem",
            "expected_run",
            "learning_rate_from_scale",
            "log_checkpoints",
            "resolve_learning_rate",
            "sample_embedding",
            "sgd_eigenbasis",
            "sgd_explicit",
            "sgd_run",
            "split_run_key",
            "validate_point",
            "validate_static",
        ),
        "experiment": (
            "MAX_STEPS",
            "PHASE_POINTS",
            "PhaseDiagramConfig",
            "RunConfig",
            "build_expected",
            "build_sgd",
            "max_steps_for",
            "run_curves",
            "run_embedding",
            "run_phase_sweep",
            "simulate",
            "simulation_grid",
            "validate_grid",
            "with_compute_coords",
        ),
        "analysis": (
            "LossCurves",
            "PStarExponent",
            "PointArrays",
            "PointMeasurement",
            "comparison_rows",
            "measure_point",
            "measure_points",
            "p_star_exponents",
            "point_arrays",
            "summarize_curves",
        ),
        "plots": (
            "draw_loss_curves",
            "draw_measured_offsets",
            "draw_phase_boundaries",
            "exponent_maps",
            "isoflop_frontier",
            "isoflop_grid",
            "loss_curves",
            "loss_curves_by_size",
            "phase_plane",
        ),
        "commands": (
            "compare",
            "phase_diagram",
            "run",
        ),
    },
)
