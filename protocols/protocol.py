"""Protocol: typed parameters → PulseProgram → figures of merit. Knows nothing of instruments."""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from labsuite.core.errors import InstrumentError, InvalidParameter, ParameterError
from labsuite.core.names import did_you_mean
from labsuite.core.parameters import Choice, Declaration, Number
from labsuite.core.plotspec import PlotSpec
from labsuite.core.program import PulseProgram
from labsuite.core.units import format_quantity
from labsuite.core.renames import ACCEPTED_UNTIL, new_name

MAX_READINGS = 10_000_000    # readings one program may take (samples: 36 B each, plus indexing tables)
MAX_SEGMENTS = 20_000_000    # segments one program may hold (levels: 8 B each)
_BYTES_PER_READING = 36 + 24   # a sample row, and its (repeat, segment, time) while the run is planned
_BYTES_PER_SEGMENT = 8


@dataclass(frozen=True)
class ProgramSize:
    """How big a protocol's program would be, known before it is built."""

    segments: int
    readings: int
    parameters: tuple[str, ...]   # the parameters that set the size
    change: str                   # what to change to make it smaller, e.g. "fewer cycles or a larger step"

    @classmethod
    def of(cls, trains: Sequence[tuple[Sequence[Any], int]], parameters: tuple[str, ...], change: str) -> ProgramSize:
        """The size of trains given as (pattern of segments, repeats)."""
        return cls(sum(len(pattern) * repeats for pattern, repeats in trains),
                   sum(sum(s.measure for s in pattern) * repeats for pattern, repeats in trains), parameters, change)

    @property
    def bytes(self) -> int:
        return self.segments * _BYTES_PER_SEGMENT + self.readings * _BYTES_PER_READING


class Protocol(ABC):
    """Base class. Subclasses declare ``name``, ``parameters`` (:class:`~labsuite.core.parameters.Number`
    and :class:`~labsuite.core.parameters.Choice` declarations), ``figure_units`` and implement
    :meth:`program` and :meth:`analyze`; :meth:`validate` checks relations between fields."""

    name: ClassVar[str]
    aliases: ClassVar[tuple[str, ...]] = ()   # other names the field uses (ltp), accepted wherever a name is
    title: ClassVar[str]
    parameters: ClassVar[tuple[Declaration, ...]]
    figure_units: ClassVar[dict[str, str]]

    def __init__(self, **values: Any) -> None:
        declared = {p.name: p for p in self.parameters}
        unknown = set(values) - set(declared)
        if unknown:
            name = sorted(unknown)[0]
            new = new_name(self.name, name)
            if new is not None:
                raise InvalidParameter(name, f"is renamed {new}; write {new}= (old names are accepted only in "
                                             f"recipes, --set and parameter dicts, until labsuite {ACCEPTED_UNTIL})")
            raise InvalidParameter(name, f"{self.name} has no such parameter{did_you_mean(name, declared)}; it takes "
                                         f"{', '.join(declared)}")
        parsed = {n: p.parse(values.get(n, p.default)) for n, p in declared.items()}
        self.values: dict[str, float] = {n: v for n, v in parsed.items() if isinstance(declared[n], Number)}
        self.choices: dict[str, Any] = {n: v for n, v in parsed.items() if isinstance(declared[n], Choice)}
        if self.values.get("read_voltage", 1.0) == 0:   # every protocol that reads needs a non-zero read
            raise ParameterError("read_voltage", 0.0, None, None, "V",
                                 "must be non-zero: a read at 0 V measures no conductance")
        self.validate()
        self.check_size()

    def __getattr__(self, name: str) -> Any:
        for group in ("values", "choices"):
            found = self.__dict__.get(group, {})
            if name in found:
                return found[name]
        raise AttributeError(name)

    @classmethod
    def parameter(cls, name: str) -> Declaration:
        return next(p for p in cls.parameters if p.name == name)

    @classmethod
    def numbers(cls) -> tuple[Number, ...]:
        """The numeric parameters (those with a unit and bounds)."""
        return tuple(p for p in cls.parameters if isinstance(p, Number))

    @property
    def units(self) -> dict[str, str]:
        return {p.name: p.unit for p in self.numbers()}

    @property
    def options(self) -> dict[str, str]:
        """The choices as text (a file's path, a built waveform's ``str``), as run files keep them;
        choices left unset are left out."""
        return {n: str(v) for n, v in self.choices.items() if v is not None}

    def validate(self) -> None:
        """Check relations between parameters (each is already within its own limits)."""

    def check_span(self, low: str, high: str, count: str) -> None:
        """Refuse a log-spaced sweep whose parameter ``high`` is below ``low``, or equal to it while
        parameter ``count`` asks for more than one value."""
        unit = self.units[high]
        if self.values[high] < self.values[low]:
            raise ParameterError(high, self.values[high], self.values[low], None, unit, f"must be at least {low}")
        if self.values[count] > 1 and self.values[high] == self.values[low]:
            raise ParameterError(high, self.values[high], self.values[low], None, unit,
                                 f"must exceed {low} when {count} > 1")

    def log_span(self, low: str, high: str, count: str) -> np.ndarray:
        """The sweep :meth:`check_span` checks: ``count`` values from ``low`` to ``high``, log-spaced
        (``low`` alone for one), in the parameters' unit."""
        if self.values[count] == 1:
            return np.array([self.values[low]])
        return np.geomspace(self.values[low], self.values[high], int(self.values[count]))

    def planned_size(self) -> ProgramSize | None:
        """Segments and readings of :meth:`program`, computed without building it; None where the
        declared parameter ranges alone keep every program far below the bounds."""
        return None

    def check_size(self) -> None:
        """Refuse, before anything is allocated, a program over MAX_SEGMENTS or MAX_READINGS."""
        size = self.planned_size()
        if size is None or (size.segments <= MAX_SEGMENTS and size.readings <= MAX_READINGS):
            return
        units = self.units
        given = ", ".join(f"{n} = {format_quantity(self.values[n], units[n]) if units[n] else f'{self.values[n]:.12g}'}"
                          for n in size.parameters)
        raise InvalidParameter(", ".join(size.parameters),
                               f"{given} make a program of {size.segments:,} segments and {size.readings:,} "
                               f"readings (≈ {size.bytes / 2**30:.2g} GiB); {self.name} allows at most "
                               f"{MAX_SEGMENTS:,} segments and {MAX_READINGS:,} readings: choose {size.change}")

    @abstractmethod
    def program(self) -> PulseProgram:
        """The pulse program these parameters describe."""

    @abstractmethod
    def analyze(self, samples: np.ndarray) -> dict[str, float]:
        """Figures of merit (SI units, see ``figure_units``) from the run's samples."""

    @abstractmethod
    def plot(self, samples: np.ndarray, figures: dict[str, float]) -> PlotSpec:
        """The figure this protocol's results are read from (rendered by the CLI and the GUI)."""


class AdaptiveProtocol(Protocol):
    """A closed-loop protocol: it decides each next program from what it has measured.

    ``program()`` is the first stage; after each stage ``next_program(samples)`` receives every
    sample so far (train indices run on across stages) and returns the next stage, or None when
    done. Every stage is checked against the bench's limits before it is sent.
    """

    max_stages: ClassVar[int] = 10_000

    @abstractmethod
    def next_program(self, samples: np.ndarray) -> PulseProgram | None:
        """The next stage given all samples so far, or None to stop."""

    @staticmethod
    def conductances(samples: np.ndarray) -> np.ndarray:
        """I / V of every read, S. Raise :class:`InstrumentError` naming the first read whose voltage is
        0 or whose voltage or current is not finite: the loop cannot decide its next step on it."""
        v, i = samples["voltage"], samples["current"]
        bad = np.flatnonzero((v == 0) | ~np.isfinite(v) | ~np.isfinite(i))
        if bad.size:
            k = int(bad[0])
            raise InstrumentError("SMU", f"read {k} measured {v[k]:g} V, {i[k]:g} A: a conductance needs a finite, "
                                         "non-zero read voltage (is the output connected and on?)")
        return i / v
