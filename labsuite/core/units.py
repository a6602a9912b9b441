"""Units at the edges: parse what a user types (``100 us``, ``1.2 V``) into SI floats and back.

Code inside labsuite works in plain SI floats (V, A, s, S, J); pint is used only here, imported and
its registry built on first use (pint loads dask and uncertainties where installed).
"""
from __future__ import annotations

import functools
import math
import numbers
import re

import numpy as np

from labsuite.core.errors import InvalidParameter


@functools.cache
def unit_registry():
    """The one pint ``UnitRegistry``, formatting units abbreviated (``~P``: µs, kΩ)."""
    import pint

    registry = pint.UnitRegistry()
    registry.formatter.default_format = "~P"
    return registry


# pint spells micro as "u" in input; users also type "µ" and "μ".
_MICRO = str.maketrans({"µ": "u", "μ": "u"})
# One decimal number, then at most a unit. pint would read "1,5 V" as 15 V, "1_0" as 10 and
# "1 5 V" as 5 V (an implied product): a typo must be refused, never read as another value.
_QUANTITY = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*((?:[^\W\d_]|%|1\s*/)[\w/*^ %()\-]*)?$")

# A bare SI prefix after the number (2k, 10 M, 100n) is that multiple of the field's unit, as on a
# resistor's label or in SPICE: pint alone would read 2k as 2 × Boltzmann's constant and 2m as metres.
_BARE_PREFIXES = frozenset("fpnumkMGT")


def parse_quantity(value: str | float | int, unit: str, field: str) -> float:
    """Return ``value`` in the SI ``unit`` as a float.

    Numbers without a unit are taken as already in ``unit``; strings may carry any unit of the
    same dimension (``"100 us"`` for seconds, ``"1.2V"``, ``"5 mA"``). ``unit=""`` means a count.
    """
    if isinstance(value, (bool, np.bool_)):
        raise InvalidParameter(field, f"expected a number, got {value!r}")
    if isinstance(value, (numbers.Real, np.generic)) and np.ndim(value) == 0:
        number = float(value)
    elif not isinstance(value, str):
        raise InvalidParameter(field, f"expected a number or a quantity such as '1.2 V', got {value!r}")
    else:
        text = value.strip().translate(_MICRO)
        match = _QUANTITY.match(text)
        if not match:
            raise InvalidParameter(field, f"cannot read {value!r}: write one number with a decimal point and "
                                          f"an optional unit, e.g. '1.5 V', '100 us', '2e-3'")
        if unit.isidentifier() and match.group(1) and match.group(1).strip() in _BARE_PREFIXES:
            text = f"{text[:match.start(1)]} {match.group(1).strip()}{unit}"
        import pint

        try:
            quantity = unit_registry().Quantity(text)
            if isinstance(quantity, (int, float)):
                number = float(quantity)
            elif not match.group(1):   # a bare number: already in ``unit``
                number = float(quantity.magnitude)
            elif not unit:
                number = float(quantity.to("dimensionless").magnitude)
            elif quantity.dimensionless:   # %, ppm, V/V where a dimensioned quantity is meant
                raise InvalidParameter(field, f"{value!r} is a ratio, not a quantity in {unit}: write the "
                                              f"value in {unit}, e.g. '1.5 {unit}'")
            else:
                number = float(quantity.to(unit).magnitude)
        except pint.errors.DimensionalityError:
            want = (f"a quantity in {unit}: write e.g. '2 {unit}' (prefixes allowed)" if unit
                    else "a plain number: write e.g. '0.5' (or a ratio such as '5 %')")
            raise InvalidParameter(field, f"{value!r} is not {want}") from None
        except (pint.errors.PintError, ValueError, ArithmeticError, AttributeError, TypeError, AssertionError,
                KeyError, RecursionError) as exc:
            if isinstance(exc, InvalidParameter):
                raise
            raise InvalidParameter(field, f"cannot read {value!r} as a quantity in {unit or 'no unit'} "
                                          f"({type(exc).__name__}: {exc})") from None
    if not math.isfinite(number):
        raise InvalidParameter(field, f"{value!r} is not a finite number")
    # Unit conversion leaves binary dust (100 us -> 9.999999999999999e-05); 12 digits is exact
    # for anything a person types and far below any instrument's resolution.
    return float(f"{number:.12g}")


# pint's abbreviation of each single unit that a parameter or figure is declared in, formatted
# without building the registry (pint is still what reads a quantity and formats any other unit)
_SYMBOLS = {"s": "s", "V": "V", "A": "A", "S": "S", "m": "m", "ohm": "Ω", "Ω": "Ω", "W": "W", "J": "J", "Hz": "Hz",
            "K": "K", "eV": "eV", "F": "F", "C": "C"}
# the SI prefixes pint's ``to_compact`` chooses from, by power of ten, abbreviated
_PREFIXES = dict(zip(range(-30, 31, 3), ("q", "r", "y", "z", "a", "f", "p", "n", "µ", "m", "",
                                         "k", "M", "G", "T", "P", "E", "Z", "Y", "R", "Q")))


def format_quantity(value: float, unit: str, digits: int = 4) -> str:
    """Format an SI value with an engineering prefix: ``format_quantity(1e-4, "s") == "100 µs"``.

    As pint's ``to_compact`` does (the prefix puts 1 ≤ |mantissa| < 1000, from quecto to quetta), and
    for the units in ``_SYMBOLS`` without pint: listing parameters needs no unit registry."""
    if not unit:   # a count or a ratio: whole numbers in full (100000, not 1e+05)
        return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else f"{value:.{digits}g}"
    if value == 0 or not math.isfinite(value):
        return f"{value:g} {unit}"
    if unit in _SYMBOLS:
        power = min(max(math.floor(math.log10(abs(value)) / 3) * 3, -30), 30)
        mantissa = value * (1 / float(f"1e{power}"))   # pint's arithmetic, to the last bit
        return f"{mantissa:.{digits}g} {_PREFIXES[power]}{_SYMBOLS[unit]}"
    quantity = unit_registry().Quantity(value, unit).to_compact()
    return f"{quantity.magnitude:.{digits}g} {quantity.units:~P}"
