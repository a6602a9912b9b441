"""Users type units; code sees SI floats; errors name the field."""
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from labsuite.core.errors import InvalidParameter, LimitError
from labsuite.core.units import _SYMBOLS, format_quantity, parse_quantity, unit_registry


@pytest.mark.parametrize("text, unit, expected", [
    ("100 us", "s", 1e-4), ("100us", "s", 1e-4), ("100 µs", "s", 1e-4), ("1.2V", "V", 1.2),
    ("5 mA", "A", 5e-3), ("20 uS", "S", 20e-6), ("3", "V", 3.0), (2.5, "s", 2.5), ("1 kohm", "ohm", 1e3),
    ("-1.5 V", "V", -1.5), ("50", "", 50.0), ("20 ms", "s", 0.02),
])
def test_parse_quantity_returns_si(text, unit, expected):
    assert parse_quantity(text, unit, "x") == expected


@pytest.mark.parametrize("text, unit", [("3 s", "V"), ("abc", "V"), ("1 V", "A"), ("nan", "V"), ("1 furlong", "s")])
def test_parse_quantity_rejects_with_field_name(text, unit):
    with pytest.raises(InvalidParameter, match="^amplitude: "):
        parse_quantity(text, unit, "amplitude")


def test_format_quantity_uses_engineering_prefixes():
    assert format_quantity(1e-4, "s") == "100 µs"
    assert format_quantity(1.2, "V") == "1.2 V"
    assert format_quantity(2e-5, "S") == "20 µS"
    assert format_quantity(0.0, "V") == "0 V"


@given(st.floats(min_value=1e-40, max_value=1e40), st.sampled_from([1.0, -1.0]), st.sampled_from([3, 4, 12]),
       st.sampled_from(sorted(_SYMBOLS)))
def test_units_formatted_without_pint_read_as_pints_compact_form(magnitude, sign, digits, unit):
    """The declared units are formatted without building pint's registry, character for character
    as pint's ``to_compact`` with the ``~P`` format would (prefix, symbol, mantissa to the last bit)."""
    quantity = unit_registry().Quantity(sign * magnitude, unit).to_compact()
    assert format_quantity(sign * magnitude, unit, digits) == f"{quantity.magnitude:.{digits}g} {quantity.units:~P}"


@given(st.floats(min_value=1e-12, max_value=1e6, allow_nan=False))
def test_formatted_values_parse_back(value):
    back = parse_quantity(format_quantity(value, "s", digits=12), "s", "t")
    assert math.isclose(back, value, rel_tol=1e-9)


def test_range_error_names_field_value_and_range():
    err = LimitError("amplitude", 12.0, -10.0, 10.0, "V", "bench limit max_voltage")
    assert str(err) == "amplitude = 12 V is out of range: allowed -10 V to 10 V (bench limit max_voltage)"
    assert (err.field, err.value, err.low, err.high) == ("amplitude", 12.0, -10.0, 10.0)


def test_numpy_numbers_are_numbers_and_other_types_are_refused():
    import numpy as np
    assert parse_quantity(np.int64(20), "", "pulses") == 20.0
    assert parse_quantity(np.float32(1.5), "V", "amplitude") == 1.5
    for bad in ([1, 2], None, np.array([1.0, 2.0])):
        with pytest.raises(InvalidParameter, match="^amplitude: expected a number"):
            parse_quantity(bad, "V", "amplitude")


def test_an_unbounded_refusal_says_why_without_an_empty_range():
    err = LimitError("read_voltage", 0.0, None, None, "V", "must be non-zero to read a conductance")
    assert str(err) == "read_voltage = 0 V is not allowed (must be non-zero to read a conductance)"


@pytest.mark.parametrize("typed", ["1,5 V", "0,5 V", "1_0 V", "1 5 V", "1.5.2 V", "V 1.5"])
def test_a_typo_is_refused_never_read_as_another_value(typed):
    """pint alone reads "1,5 V" as 15 V, "0,5 V" as 0 V, "1_0" as 10 and "1 5 V" as 5 V."""
    with pytest.raises(InvalidParameter, match=r"amplitude: cannot read .* write one number with a decimal point"):
        parse_quantity(typed, "V", "amplitude")


def test_percent_and_compound_units_still_read():
    assert parse_quantity("50 %", "", "fraction") == 0.5
    assert parse_quantity("2 V/s", "V/s", "ramp rate") == 2.0
