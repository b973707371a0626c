"""Lottery-ticket ensembles (Liu & Tegmark, arXiv 2310.02258): width scaling of 1-hidden-layer nets.

One-hidden-layer nets ``f(x) = Σ_i v_i σ(w_i x + b_i) + c`` of width ``N`` regress ``x²`` on
``[−2, 2]``; the median test MSE over seeds is set beside approximation theory's ``N^(−4)``, the
lottery-ticket ``N^(−1)``, the exact ReLU floor and reference measurements
(:mod:`theory.lottery`). Layers, each importing only those below it:

* :mod:`~simulations.lottery.model`: the net, its init, :class:`Recipe`, the optimisers and one
  training run (:func:`train_one`), pure JAX;
* :mod:`~simulations.lottery.sweeps`: :func:`build` for the sweep engine (point checks, the
  divergence bound :func:`diverged`, the memory estimate), :func:`train` and the mechanism
  runners;
* :mod:`~simulations.lottery.experiment`: the command configs, their presets and the compare
  command's sweeps;
* :mod:`~simulations.lottery.diagnostics` and :mod:`~simulations.lottery.analysis`: statistics
  and comparison rows (run nothing);
* :mod:`~simulations.lottery.plots`: figures; :mod:`~simulations.lottery.commands`: the
  ``compare`` and ``run`` verbs.

Every public name of these modules is available here, imported on first use.
"""

from simulations.lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "model": (
            "ACTIVATIONS",
            "BUDGET_RECIPES",
            "INTERVAL",
            "LBFGS_MEMORY",
            "LBFGS_TRIALS",
            "LONG_POLISHED_RECIPE",
            "N2_RECIPE",
            "N_CHECKPOINTS",
            "N_TEST",
            "POLISHED_RECIPE",
            "QUICK_RECIPE",
            "RELU_RECIPE",
            "SCHEDULES",
            "STATIC_DEFAULTS",
            "SWEPT",
            "TARGETS",
            "Recipe",
            "check_point",
            "check_recipe",
            "check_widths",
            "checkpoint_steps",
            "forward",
            "init_params",
            "lbfgs_polish",
            "lr_schedule",
            "midpoint_grid",
            "resolve_static",
            "run_bytes",
            "train_one",
        ),
        "sweeps": (
            "DIVERGENCE_FACTOR",
            "WidthTable",
            "build",
            "diverged",
            "net_params",
            "run_ensemble",
            "run_n2",
            "run_wide",
            "train",
            "width_table",
        ),
        "experiment": (
            "FULL_CONFIG",
            "QUICK_CONFIG",
            "CompareConfig",
            "CompareRuns",
            "RecipeRun",
            "RunConfig",
            "run_compare",
        ),
        "diagnostics": (
            "FINE_MIRROR_TOL",
            "MIRROR_TOL",
            "BudgetConvergence",
            "EnsembleCurve",
            "LossMode",
            "MirrorPairs",
            "budget_convergence",
            "ensemble_curve",
            "fit_width_exponent",
            "floor_ratios",
            "loss_modes",
            "median_ci",
            "mirror_pairs",
            "mse_quantiles",
            "pair_asymmetry",
            "parse_exponent_by_budget",
            "predict",
            "usable_widths",
            "wilson_ci",
        ),
        "analysis": (
            "PARAM_NAMES",
            "REFERENCE_PHASE",
            "CompareData",
            "EnsembleResult",
            "N2Histogram",
            "WideNets",
            "budget_ladders",
            "ensemble_measurement",
            "measure",
            "n2_histogram",
            "wide_mirror_pairs",
        ),
        "plots": (
            "plot_ensembles",
            "plot_exponent_vs_budget",
            "plot_mirror_pairs",
            "plot_n2_histogram",
            "plot_width_scaling",
        ),
        "commands": (
            "compare",
            "run",
        ),
    },
)
