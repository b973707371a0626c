"""Log-spaced step checkpoints and geometric size grids (one copy for every model).

Each model records training curves at log-spaced steps; the conventions differ only in whether
step 0 (the initial loss) is recorded, which callers state with ``zero=``.
"""

from __future__ import annotations

import math

import numpy as np

from theory.checks import check_float, check_int

__all__ = ["geometric_sizes", "log_steps"]


def log_steps(last: int, n: int, *, zero: bool = False) -> np.ndarray:
    """Sorted, distinct log-spaced integer steps ending at ``last``.

    Args:
        last: the final step (int >= 1); always included.
        n: requested number of checkpoints, ``0`` included when ``zero`` (fewer may be returned:
            duplicates after rounding are dropped at small ``last``).
        zero: also record step 0: ``[0] + round(geomspace(1, last, n - 1))``; otherwise
            ``round(geomspace(1, last, n))``.

    Returns:
        int64 array, strictly increasing, ``[0 or 1, ..., last]``.
    """
    last = check_int("last", last, 1)
    n = check_int("n", n, 2 if zero else 1)
    inner = np.round(np.geomspace(1.0, float(last), n - 1 if zero else n)).astype(np.int64)
    parts = [[0], inner, [last]] if zero else [inner, [last]]
    return np.unique(np.concatenate(parts).astype(np.int64))


def geometric_sizes(lo: int, hi: int, ratio: float = math.sqrt(2.0)) -> tuple[int, ...]:
    """Integer sizes ``round(lo · ratio^k)`` for ``k = 0 … round(log(hi/lo)/log(ratio))``.

    ``geometric_sizes(32, 512)`` gives the √2 ladder 32, 45, 64, 91, …, 512.
    """
    lo = check_int("lo", lo, 1)
    hi = check_int("hi", hi, lo)
    ratio = check_float("ratio", ratio, low=1.0, strict=True)
    n = round(math.log(hi / lo) / math.log(ratio))
    return tuple(round(lo * ratio**k) for k in range(n + 1))
