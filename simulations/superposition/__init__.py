"""Simulator of the superposition toy model (Liu, Liu & Gore 2025, "Superposition Yields Robust
Neural Scaling", arXiv 2505.10465) on the sweep engine.

``n`` sparse features ``x_i = u_i s_i`` (``u_i ~ Bernoulli(p_i)``, ``s_i ~ U(0, 2)``) are
squeezed into ``m < n`` dimensions by ``h = W^T x`` and read back by ``y = ReLU(W h + b)``;
AdamW's *signed* weight decay ``gamma`` selects weak (``gamma > 0``) or strong (``gamma < 0``)
superposition. Theory: :mod:`theory.superposition`.

Layers, each importing only those above it in this list:

* :mod:`.model`: samplers, loss, optimiser, one training run (:func:`simulate`); pure JAX.
* :mod:`.limits`: what a run may be given (:func:`check_point`, incl. the weight decay's
  stability), when it diverged (:func:`is_diverged`), its memory (:func:`bytes_per_run`).
* :mod:`.sweeps`: :func:`tidy` (every run in one dataset; the best learning rate of a
  learning-rate sweep, :func:`best_lr_index`).
* :mod:`.experiment`: :class:`CompareConfig`, :class:`PhaseDiagramConfig` (presets ``quick``,
  ``default``, ``paper``), :func:`make_grid`, :func:`build`, :func:`run_config`, :func:`tidy`.
* :mod:`.analysis`: :func:`comparison_rows` (measured ``alpha_m`` and ``phi_1/2`` beside theory,
  the exponent per training budget and its convergence verdict, :func:`budget_convergence`).
* :mod:`.plots`: figures (``plot_*`` return a Figure, ``draw_*`` draw on an Axes).
* :mod:`.commands`: the verbs :func:`compare` and :func:`phase_diagram`
  (``solvable compare superposition``, ``solvable phase-diagram superposition``).

Every public name is importable from this package (loaded on first use).
"""

from simulations.lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "model": (
            "HIST_BINS",
            "HIST_WIDTH",
            "LR_RULES",
            "STATIC_DEFAULTS",
            "SparseBatch",
            "evaluate",
            "init_params",
            "lr_multiplier",
            "make_optimizer",
            "mean_sq_overlap",
            "resolve_static",
            "row_statistics",
            "run_frequencies",
            "sample_features",
            "sample_sparse_features",
            "signed_weight_decay",
            "simulate",
            "slot_sizes",
            "sparse_to_dense",
            "sparse_toy_model_loss",
            "toy_model_loss",
            "train",
        ),
        "limits": (
            "DIVERGENCE_FACTOR",
            "SWEPT_NAMES",
            "bytes_per_run",
            "check_point",
            "is_diverged",
            "sampler_rate",
        ),
        "sweeps": ("best_lr_index",),
        "experiment": (
            "CompareConfig",
            "PhaseDiagramConfig",
            "SweepConfig",
            "build",
            "make_grid",
            "run_config",
            "tidy",
        ),
        "analysis": (
            "PARAM_NAMES",
            "BudgetConvergence",
            "budget_convergence",
            "comparison_rows",
            "diverged_counts",
            "exponent_rows",
            "parse_exponent_by_budget",
        ),
        "plots": (
            "draw_exponent_vs_budget",
            "draw_exponents",
            "draw_loss_vs_m",
            "draw_norm_histogram",
            "draw_overlaps",
            "draw_phi_vs_gamma",
            "plot_exponent_vs_budget",
            "plot_exponents",
            "plot_loss_vs_m",
            "plot_norm_histograms",
            "plot_overlaps",
            "plot_phase_diagram",
            "plot_phi_vs_gamma",
            "setting_label",
        ),
        "commands": (
            "compare",
            "phase_diagram",
        ),
    },
)
