"""Typed errors. Each one says which field was wrong, its value, and what is allowed."""
from __future__ import annotations


class LabsuiteError(Exception):
    """Base class of every error labsuite raises on purpose."""


class RangeError(LabsuiteError, ValueError):
    """A value outside its allowed range.

    ``field`` names what the user set, ``value`` is what they set, ``low``/``high`` bound the
    allowed range (either may be ``None``) and ``unit`` is the SI unit of all three.
    """

    def __init__(self, field: str, value: float, low: float | None, high: float | None,
                 unit: str = "", why: str = "") -> None:
        self.field, self.value, self.low, self.high, self.unit, self.why = field, value, low, high, unit, why
        super().__init__(self._message())

    def _message(self) -> str:
        from labsuite.core.units import format_quantity

        def q(x: float | None) -> str:
            if isinstance(x, int) and not self.unit:   # a count or a seed: every digit (an absurd one shortened)
                digits = str(abs(x))
                return str(x) if len(digits) <= 24 else f"{'-' if x < 0 else ''}{digits[0]}.{digits[1:4]}e+{len(digits) - 1}"
            return format_quantity(x, self.unit) if x is not None else ""

        why = f" ({self.why})" if self.why else ""
        if self.low is None and self.high is None:
            return f"{self.field} = {q(self.value)} is not allowed{why}"
        if self.low is not None and self.high is not None:
            allowed = f"{q(self.low)} to {q(self.high)}"
        elif self.low is not None:
            allowed = f"at least {q(self.low)}"
        else:
            allowed = f"at most {q(self.high)}"
        return f"{self.field} = {q(self.value)} is out of range: allowed {allowed}{why}"


class ParameterError(RangeError):
    """A protocol parameter outside the limits its protocol declares."""


class LimitError(RangeError):
    """A program that would exceed a bench or instrument limit; raised before anything is sent."""


class InvalidParameter(LabsuiteError, ValueError):
    """A parameter that cannot be understood at all (wrong unit, unknown name, not a number)."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")


class InstrumentError(LabsuiteError):
    """An instrument reported an error in its error queue, or answered what it should not."""

    def __init__(self, instrument: str, message: str, code: int | None = None) -> None:
        self.instrument, self.code = instrument, code
        prefix = f"{code}, " if code is not None else ""
        super().__init__(f"{instrument}: {prefix}{message}")


class RunAborted(LabsuiteError):
    """The run was stopped by the user; every sample taken before the stop is kept."""
