"""PulseProgram: a hardware-independent timeline of source levels, durations and measurements.

A program is a sequence of trains. A train repeats a pattern of segments ``repeats`` times; each
repeat may use its own levels (``levels[r, k]`` for segment ``k`` of repeat ``r``), so a
constant-amplitude potentiation, an incremental-step train and a single I-V staircase are all one
shape. Keeping the repetition explicit lets a driver send a whole train as one instrument-side
loop (a trigger model, a TSP script, a burst) instead of a command per pulse.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

import numpy as np

from labsuite.core.errors import InvalidParameter


@dataclass(frozen=True)
class Segment:
    """The source holds ``level`` (V) for ``duration`` (s).

    ``measure``: take one current reading at the end of the segment, integrating over the
    instrument's aperture. ``label`` says what the segment is for (``write``, ``read``, ``idle``).
    ``compliance`` (A): this segment's current limit; None uses the program's.
    """

    level: float
    duration: float
    label: str = "idle"
    measure: bool = False
    compliance: float | None = None

    def __post_init__(self) -> None:
        if not np.isfinite(self.level):
            raise InvalidParameter("level", f"{self.level!r} is not a finite voltage")
        if not (self.duration > 0 and np.isfinite(self.duration)):
            raise InvalidParameter(f"{self.label} duration", f"{self.duration!r} s must be a positive time")
        if self.compliance is not None and not (self.compliance > 0 and np.isfinite(self.compliance)):
            raise InvalidParameter(f"{self.label} compliance", f"{self.compliance!r} A must be a positive current")


@dataclass(frozen=True, eq=False)
class Train:
    """``pattern`` played ``repeats`` times; ``levels`` (repeats × len(pattern), V) overrides levels."""

    pattern: tuple[Segment, ...]
    repeats: int = 1
    levels: np.ndarray = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if not self.pattern:
            raise InvalidParameter("pattern", "a train needs at least one segment")
        if int(self.repeats) != self.repeats or self.repeats < 1:
            raise InvalidParameter("repeats", f"{self.repeats!r} must be a whole number ≥ 1")
        base = np.array([s.level for s in self.pattern], dtype=float)
        levels = np.tile(base, (self.repeats, 1)) if self.levels is None else np.asarray(self.levels, float)
        if levels.shape != (self.repeats, len(self.pattern)):
            raise InvalidParameter("levels", f"shape {levels.shape} must be (repeats, segments) = "
                                             f"({self.repeats}, {len(self.pattern)})")
        if not np.all(np.isfinite(levels)):
            raise InvalidParameter("levels", "every level must be a finite voltage")
        levels.setflags(write=False)
        object.__setattr__(self, "levels", levels)
        object.__setattr__(self, "repeats", int(self.repeats))

    @property
    def period(self) -> float:
        """Duration of one repeat of the pattern, s."""
        return float(sum(s.duration for s in self.pattern))

    @property
    def duration(self) -> float:
        """Duration of the whole train, s."""
        return self.period * self.repeats

    @property
    def measurements_per_repeat(self) -> int:
        return sum(s.measure for s in self.pattern)

    def measurements(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(repeat, segment, end time in s from the train's start) of every reading, in time order."""
        ends = np.cumsum([s.duration for s in self.pattern])
        measured = np.array([k for k, s in enumerate(self.pattern) if s.measure], dtype=int)
        repeat = np.repeat(np.arange(self.repeats), measured.size)
        segment = np.tile(measured, self.repeats)
        return repeat, segment, repeat * self.period + ends[segment]

    def split(self, max_repeats: int) -> list[Train]:
        """Cut into consecutive trains of at most ``max_repeats`` repeats (same timeline)."""
        if max_repeats < 1:
            raise ValueError("max_repeats must be ≥ 1")
        return [Train(self.pattern, min(max_repeats, self.repeats - r0), self.levels[r0:r0 + max_repeats])
                for r0 in range(0, self.repeats, max_repeats)]


# Sample table produced by running a program: one row per measured segment.
SAMPLE_DTYPE = np.dtype([
    ("t", "f8"),          # s, end of the measurement since the run started
    ("voltage", "f8"),    # V, source readback
    ("current", "f8"),    # A
    ("train", "i4"),      # which train of the program
    ("repeat", "i4"),     # which repeat of that train (pulse number - 1 for a pulse train)
    ("segment", "i4"),    # which segment of the pattern
])

# how a runner plays a program's trains: on the instrument where it can time them, or one command per segment
TIMINGS = ("auto", "hardware", "software")
SAMPLE_UNITS = {"t": "s", "voltage": "V", "current": "A", "train": "", "repeat": "", "segment": ""}


@dataclass(frozen=True, eq=False)
class PulseProgram:
    """What to apply to the device, in order, and under which current compliance (A)."""

    trains: tuple[Train, ...]
    compliance: float

    def __post_init__(self) -> None:
        if not self.trains:
            raise InvalidParameter("trains", "a program needs at least one train")
        if not (self.compliance > 0 and np.isfinite(self.compliance)):
            raise InvalidParameter("compliance", f"{self.compliance!r} A must be a positive current")

    @classmethod
    def single(cls, pattern: list[Segment] | tuple[Segment, ...], repeats: int, compliance: float,
               levels: np.ndarray | None = None) -> PulseProgram:
        """A program of one train."""
        return cls((Train(tuple(pattern), repeats, levels),), compliance)

    @property
    def duration(self) -> float:
        """Total time on the source, s."""
        return float(sum(t.duration for t in self.trains))

    @property
    def n_measurements(self) -> int:
        return sum(t.measurements_per_repeat * t.repeats for t in self.trains)

    @property
    def max_abs_level(self) -> float:
        """Largest |V| the program applies."""
        return float(max(np.abs(t.levels).max() for t in self.trains))

    def compliance_of(self, segment: Segment) -> float:
        """The current limit (A) in force during ``segment``."""
        return self.compliance if segment.compliance is None else segment.compliance

    @property
    def max_compliance(self) -> float:
        """Largest current limit (A) of any segment."""
        return max(self.compliance_of(s) for t in self.trains for s in t.pattern)

    @property
    def min_compliance(self) -> float:
        """Smallest current limit (A) of any segment."""
        return min(self.compliance_of(s) for t in self.trains for s in t.pattern)

    def segments(self) -> Iterator[tuple[int, int, int, float, Segment, float]]:
        """Yield ``(train, repeat, segment, start_s, segment, level_V)`` in time order."""
        start = 0.0
        for i, train in enumerate(self.trains):
            for r in range(train.repeats):
                for k, seg in enumerate(train.pattern):
                    yield i, r, k, start, seg, float(train.levels[r, k])
                    start += seg.duration

    def waveform(self) -> tuple[np.ndarray, np.ndarray]:
        """Return (t, V) corner points of the source waveform, for plotting."""
        times, volts = [0.0], []
        for *_, start, seg, level in self.segments():
            volts += [level, level]
            times += [start + seg.duration, start + seg.duration]
        return np.array(times[:-1]), np.array(volts)
