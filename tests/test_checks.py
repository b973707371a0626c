"""theory.checks: every bad value gives a one-line TypeError/ValueError naming the parameter."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from theory import checks

JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.text(max_size=5),
    st.lists(st.integers(), max_size=2),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**6), max_value=10**6),
    st.complex_numbers(allow_nan=False, allow_infinity=False),
)


def _one_line(err: Exception, name: str) -> None:
    text = str(err)
    assert "\n" not in text and text.startswith(name), text


@settings(max_examples=300, deadline=None)
@given(value=JUNK)
def test_check_int_accepts_exactly_integers_in_range(value):
    ok = isinstance(value, int) and not isinstance(value, bool) and 2 <= value <= 50
    try:
        out = checks.check_int("width", value, 2, 50)
    except (TypeError, ValueError) as err:
        assert not ok
        _one_line(err, "width")
        assert "[2, 50]" in str(err)
    else:
        assert ok and out == value and type(out) is int


@settings(max_examples=300, deadline=None)
@given(value=JUNK)
def test_check_float_accepts_exactly_finite_reals_in_range(value):
    try:
        x = float(value) if not isinstance(value, (bool, str, list, complex)) else None
    except (TypeError, ValueError):
        x = None
    ok = x is not None and math.isfinite(x) and 0 < x < 2
    try:
        out = checks.check_float("lr_scale", value, low=0, high=2, strict=True)
    except (TypeError, ValueError) as err:
        assert not ok
        _one_line(err, "lr_scale")
    else:
        assert ok and out == x


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: checks.check_size("n_samples", 0), ValueError, r"n_samples must be in \(0, inf\]"),
        (lambda: checks.check_size("n", math.inf, allow_inf=False), ValueError, r"\(0, inf\)"),
        (lambda: checks.check_size("n", "x"), TypeError, "n must be a number"),
        (lambda: checks.check_choice("law", "cubic", ("power",)), ValueError, "law must be one"),
        (lambda: checks.check_interval("interval", (2, 1)), ValueError, "lo < hi"),
        (lambda: checks.check_interval("interval", 3), ValueError, "pair"),
        (lambda: checks.check_int("d", np.float64(3.0)), TypeError, "d must be an integer"),
        (lambda: checks.check_float("alpha", np.nan), ValueError, "alpha must be finite"),
    ],
)
def test_other_checks(call, error, match):
    with pytest.raises(error, match=match):
        call()
