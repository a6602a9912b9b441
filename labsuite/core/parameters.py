"""Typed parameter declarations: one system for protocols, device models, bench limits and settings.

A declaration says what a value may be and parses it from Python, a recipe, ``--set`` or a GUI
field:

- :class:`Number`: a number in an SI ``unit`` (``""`` for a count or a ratio), with a default,
  bounds (``minimum``/``maximum``, either may be None; ``open_minimum``/``open_maximum`` exclude
  the bound itself, ``> 0``) and ``integer=True`` for a whole number. Text takes units: ``"100 us"``.
- :class:`Choice`: one of named ``choices`` (text, or numbers such as ±1); with ``file`` set
  (a suffix, ``".csv"``) a path to such a file is accepted too, and with ``instance_of`` a Python
  object of that type (a user-built waveform).

Every declaration has a ``name`` (the field a user sets), ``help``, ``describe()`` (one line for
``labsuite protocols``) and ``allowed()`` (the allowed values in words); an invalid value raises
an error naming the field and what is allowed. Protocols list them in ``parameters``; model
parameter dataclasses and :class:`labsuite.bench.Limits` keep one in each field's metadata
(:func:`declared`), and run files record the values they parse. See docs/parameters.md.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, fields, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

from labsuite.core.errors import InvalidParameter, ParameterError
from labsuite.core.names import did_you_mean
from labsuite.core.units import format_quantity, parse_quantity


@dataclass(frozen=True)
class Number:
    """A number in SI ``unit`` (``""``: dimensionless), within ``minimum``..``maximum``."""

    name: str
    unit: str
    default: float
    minimum: float | None
    maximum: float | None
    help: str
    integer: bool = False
    why: str = ""   # why the range is what it is and what to give instead; shown with an out-of-range error
    open_minimum: bool = False   # the minimum itself is not allowed (``> 0``)
    open_maximum: bool = False   # the maximum itself is not allowed (``< 0``)

    def contains(self, value: float) -> bool:
        """Whether ``value`` (SI) is finite and within the bounds."""
        return (isinstance(value, int) or math.isfinite(value)) and not (
            (self.minimum is not None and (value < self.minimum or (self.open_minimum and value == self.minimum)))
            or (self.maximum is not None and (value > self.maximum or (self.open_maximum and value == self.maximum))))

    def parse(self, value: str | float | int) -> float:
        """Return ``value`` in SI units (an int for ``integer``), checked against the bounds."""
        if self.integer:
            number = self._whole(value)
        else:
            number = parse_quantity(value, self.unit, self.name)
        if not self.contains(number):
            if self.open_minimum or self.open_maximum:
                raise InvalidParameter(self.name, f"{self._shown(number)} is out of range: allowed {self.allowed()}"
                                                  + (f" ({self.why})" if self.why else ""))
            raise ParameterError(self.name, number, self.minimum, self.maximum, self.unit, self.why)
        return number

    def _whole(self, value: str | float | int) -> int:
        """``value`` as an exact whole number (a seed of 2**63 - 1 stays exact, not a rounded float)."""
        def refused() -> InvalidParameter:
            return InvalidParameter(self.name, f"{value!r} must be a whole number, {self.allowed()}")

        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and re.fullmatch(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]{1,3})?", value.strip()):
            exact = Fraction(value.strip())   # "9007199254740993e0" exactly, not rounded through a float
            if exact.denominator != 1:
                raise refused()
            return int(exact)
        try:
            number = parse_quantity(value, self.unit, self.name)
        except InvalidParameter:
            raise refused() from None
        if not math.isfinite(number) or number != int(number):
            raise refused()
        return int(number)

    def allowed(self) -> str:
        """The bounds in words: ``-10 V to 10 V``, ``> 0 s``, ``≥ 1 and < 2``, ``any finite number``."""
        low = None if self.minimum is None else self._shown(self.minimum)
        high = None if self.maximum is None else self._shown(self.maximum)
        if low is not None and high is not None and not (self.open_minimum or self.open_maximum):
            return f"{low} to {high}"
        parts = [f"{'>' if self.open_minimum else '≥'} {low}" if low is not None else "",
                 f"{'<' if self.open_maximum else '≤'} {high}" if high is not None else ""]
        return " and ".join(p for p in parts if p) or "any finite number"

    def describe(self, value: float | None = None) -> str:
        """``amplitude = 1.5 V (-10 V to 10 V): write pulse height``."""
        shown = self._shown(self.default if value is None else value)
        return f"{self.name} = {shown} ({self.allowed()}): {self.help}"

    def _shown(self, value: float) -> str:
        if self.integer and not self.unit:
            return str(int(value))
        return format_quantity(value, self.unit) if self.unit else f"{value:g}"


@dataclass(frozen=True)
class Choice:
    """One of ``choices``; or, with ``file``, a path to a file with that suffix; or, with
    ``instance_of``, a Python object of that type. A ``default`` of None means "not given"."""

    name: str
    choices: tuple[Any, ...]
    default: Any
    help: str
    file: str = ""                       # suffix of a file that may be given instead, e.g. ".csv"
    instance_of: type | None = None      # a Python object accepted as is (Python API only)

    def parse(self, value: Any) -> Any:
        """Return the choice ``value`` names (text is matched without regard to case or spaces)."""
        if value is None or (isinstance(value, str) and not value.strip() and self.default is None):
            if self.default is None:
                return None
            raise InvalidParameter(self.name, f"give one of {self.allowed()}")
        if self.instance_of is not None and isinstance(value, self.instance_of):
            return value
        for choice in self.choices:
            if value == choice or (isinstance(value, str) and value.strip().lower() == str(choice).lower()):
                return choice
            if isinstance(choice, (int, float)) and isinstance(value, str):
                try:
                    if float(value) == choice:
                        return choice
                except ValueError:
                    pass
        if self.file and isinstance(value, (str, Path)) and Path(value).suffix.lower() == self.file:
            return str(value)
        near = did_you_mean(value, [str(c) for c in self.choices]) if isinstance(value, str) else ""
        raise InvalidParameter(self.name, f"{value!r} is not a choice{near}: choose {self.allowed()}")

    def allowed(self) -> str:
        """``ascending or interleaved``; ``rectangular, … or exponential, or a .csv file``."""
        names = [f"{c:+g}" if isinstance(c, (int, float)) else str(c) for c in self.choices]
        words = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
        return f"{words}, or a {self.file} file" if self.file else words

    def describe(self, value: Any = None) -> str:
        """``order = ascending (ascending or interleaved): the order intervals are played in``."""
        shown = self.default if value is None else value
        return f"{self.name} = {'(unset)' if shown is None else shown} ({self.allowed()}): {self.help}"


Declaration = Number | Choice


def declared(cls: type) -> tuple[Declaration, ...]:
    """The declarations of a dataclass whose fields carry one (``field(metadata={"parameter": ...})``),
    named after their fields."""
    return tuple(replace(f.metadata["parameter"], name=f.name) for f in fields(cls) if "parameter" in f.metadata)


def declaration(cls: type, name: str, shown_as: str | None = None) -> Declaration:
    """The declaration of ``cls``'s field ``name``, named ``shown_as`` in what it says (``--seed``,
    ``simulator.seed``), so an error names the field as the user wrote it."""
    found = {p.name: p for p in declared(cls)}[name]
    return found if shown_as is None else replace(found, name=shown_as)

