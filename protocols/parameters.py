"""Protocol parameters: declared once with unit, default, limits and help.

The same declaration parses Python values, recipe and CLI strings (``"100 us"``), and will
generate the GUI form; an out-of-range value raises an error naming the field and the range.
"""
from __future__ import annotations

from dataclasses import dataclass

from labsuite.core.errors import InvalidParameter, ParameterError
from labsuite.core.units import format_quantity, parse_quantity


@dataclass(frozen=True)
class Parameter:
    """One protocol parameter, in SI units (``unit=""`` for a count)."""

    name: str
    unit: str
    default: float
    minimum: float
    maximum: float
    help: str
    integer: bool = False
    why: str = ""   # why the range is what it is and what to give instead; shown with an out-of-range error

    def parse(self, value: str | float | int) -> float:
        """Return ``value`` in SI units, checked against the limits."""
        number = parse_quantity(value, self.unit, self.name)
        if self.integer:
            if number != int(number):
                raise InvalidParameter(self.name, f"{value!r} must be a whole number from {self.minimum:g} to "
                                                  f"{self.maximum:g}")
            number = int(number)
        if not self.minimum <= number <= self.maximum:
            raise ParameterError(self.name, number, self.minimum, self.maximum, self.unit, self.why)
        return number

    def describe(self, value: float | None = None) -> str:
        """``amplitude = 1.5 V (−10 V to 10 V): write pulse height``."""
        shown = format_quantity(self.default if value is None else value, self.unit)
        lo, hi = format_quantity(self.minimum, self.unit), format_quantity(self.maximum, self.unit)
        return f"{self.name} = {shown} ({lo} to {hi}): {self.help}"
