"""Scaling-law fits of your own runs, with honest uncertainty (``solvable fit``).

* :mod:`~simulations.scalefit.data`: a CSV/parquet of runs in, every column checked
  (:func:`load_table`, :func:`make_table`, :class:`RunTable`);
* :mod:`~simulations.scalefit.approaches`: Hoffmann et al. 2022 approach 1 (envelope of training
  curves, :func:`envelope_fit`) and approach 2 (IsoFLOP parabolas that refuse edge budgets,
  :func:`isoflop_fit`);
* :mod:`~simulations.scalefit.laws`: approach 3 and relatives, Huber on ``log L``
  (:func:`fit_law`: Chinchilla, Kaplan, Muennighoff et al.'s data-constrained law, saturating);
* :mod:`~simulations.scalefit.uncertainty`: row/group bootstrap, robust profile likelihood,
  correlation matrix, Hessian condition number, identifiability verdict, held-out rows;
* :mod:`~simulations.scalefit.report`: :func:`run_fit` runs it all, :func:`format_report` prints,
  :func:`write_estimates` writes ``estimates.json``/``estimates.csv``;
* :mod:`~simulations.scalefit.plots` (figures) and :mod:`~simulations.scalefit.validate`
  (synthetic and solvable-model ground truth) are imported on demand.
"""

from simulations.scalefit.approaches import AllocationFit, envelope_fit, isoflop_fit
from simulations.scalefit.data import RunTable, load_table, make_table
from simulations.scalefit.laws import LAWS, LawFit, compute_optimal, fit_law
from simulations.scalefit.report import Estimate, FitReport, format_report, run_fit, write_estimates
from simulations.scalefit.uncertainty import (
    identifiability_verdict,
    law_covariance,
    profile_interval,
)

__all__ = [
    "LAWS",
    "AllocationFit",
    "Estimate",
    "FitReport",
    "LawFit",
    "RunTable",
    "compute_optimal",
    "envelope_fit",
    "fit_law",
    "format_report",
    "identifiability_verdict",
    "isoflop_fit",
    "law_covariance",
    "load_table",
    "make_table",
    "profile_interval",
    "run_fit",
    "write_estimates",
]
