"""How one repeat of a train divides between a pulse generator and an SMU.

On a bench with a pulse generator, the generator plays the write pulses: segments that are not
measured, have a non-zero level in this repeat and no current limit of their own. Equal pulses,
each followed by the same 0 V gap, become one burst of N cycles whose period is pulse + gap; a
pulse with no gap after it ends its burst after the generator's shortest low time (within its
shortest period). Everything
else (reads, waits, writes that need a compliance) is an SMU step.

Where a bench wires the SMU's trigger output to the generator's trigger input, a train can instead
play on the SMU's sequencer with the generator started at each write (:func:`plan_triggered`): for
pulses shorter than the SMU can time, between reads it can.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from labsuite.core.errors import InvalidParameter, LimitError
from labsuite.core.instruments import PulseGeneratorCapabilities
from labsuite.core.program import Segment, Train


@dataclass(frozen=True)
class Burst:
    """``count`` pulses from 0 V to ``level`` (V), ``width`` s wide, one every ``period`` s."""

    level: float
    width: float
    period: float
    count: int
    first: int      # index of its first segment in the pattern
    end: int        # index after its last segment (its last gap included)

    @property
    def settings(self) -> tuple[float, float, float, int]:
        """(level V, width s, period s, count): what the generator must hold to play it."""
        return self.level, self.width, self.period, self.count

    @property
    def duration(self) -> float:
        """s the burst takes: the pattern time it plays."""
        return self.count * self.period


def plays_on_generator(segment: Segment, level: float) -> bool:
    """Whether a generator plays ``segment`` at ``level`` (V): a write without a limit of its own."""
    return not segment.measure and segment.compliance is None and level != 0


def plan_repeat(pattern: tuple[Segment, ...], levels: np.ndarray,
                caps: PulseGeneratorCapabilities) -> list[Burst | int]:
    """The repeat as generator bursts and SMU steps (segment indices), in time order."""
    steps: list[Burst | int] = []
    k = 0
    while k < len(pattern):
        if not plays_on_generator(pattern[k], levels[k]):
            steps.append(k)
            k += 1
            continue
        seg, level = pattern[k], float(levels[k])
        gap = _gap_after(pattern, levels, k)
        count, j = 1, k + 1 + (gap > 0)
        while (gap > 0 and j + 1 < len(pattern) and plays_on_generator(pattern[j], levels[j])
               and levels[j] == level and pattern[j].duration == seg.duration
               and _gap_after(pattern, levels, j) == gap):
            count, j = count + 1, j + 2
        period = seg.duration + (gap if gap > 0 else max(caps.min_width, 2 * caps.min_edge))
        if gap == 0:
            period = max(period, caps.min_period)
        steps.append(Burst(level, seg.duration, period, count, k, j))
        k = j
    return steps


def _gap_after(pattern: tuple[Segment, ...], levels: np.ndarray, k: int) -> float:
    """Duration (s) of the 0 V wait right after segment ``k``, 0 if there is none."""
    if k + 1 < len(pattern) and levels[k + 1] == 0 and not pattern[k + 1].measure:
        return pattern[k + 1].duration
    return 0.0


@dataclass(frozen=True)
class TriggeredTrain:
    """A train whose write pulses the generator plays, each started by the SMU's trigger output.

    The SMU plays ``smu_train``, its output open through the segments ``triggered`` (the writes),
    each lasting ``window`` s (at least the shortest segment the SMU times: the part beyond the
    pulse is taken from the read that follows it, whose integration ends where it did). The
    generator, armed for its trigger input, idles at ``idle`` V (the level of those reads, so that
    it loads no read) and plays one ``width`` s pulse to ``level`` V, ``period`` s long, per trigger.
    """

    smu_train: Train
    triggered: frozenset[int]
    level: float
    width: float
    period: float
    idle: float


def plan_triggered(train: Train, min_segment: float, min_aperture: float,
                   caps: PulseGeneratorCapabilities) -> TriggeredTrain:
    """``train`` as generator pulses started by the SMU's trigger output and SMU reads; raises
    :class:`InvalidParameter` or :class:`LimitError` (nothing sent) if it cannot play so."""
    writes = [k for k, seg in enumerate(train.pattern)
              if plays_on_generator(seg, 1.0) and np.any(train.levels[:, k] != 0)]
    heights = {float(v) for k in writes for v in train.levels[:, k]}
    widths = {train.pattern[k].duration for k in writes}
    if len(heights) != 1 or len(widths) != 1:
        raise InvalidParameter("timing", "a generator started by the SMU's trigger plays one pulse height and "
                                         "width per train")
    (level,), (width,) = heights, widths
    window = max(width, min_segment)
    pattern = list(train.pattern)
    idles: set[float] = set()
    for k in writes:
        read = pattern[k + 1] if k + 1 < len(pattern) else None
        if read is None or not read.measure:
            raise InvalidParameter("timing", "a pulse the generator plays on the SMU's trigger needs a read right "
                                             "after it (the generator idles at its level)")
        shortest = window - width + max(min_segment, min_aperture)
        if read.duration < shortest * (1 - 1e-9):
            raise LimitError(f"{read.label} duration", read.duration, shortest, None, "s",
                             "the SMU's output stays open for its shortest segment from the start of a pulse the "
                             "generator plays, and then reads")
        idles |= {float(v) for v in train.levels[:, k + 1]}
        pattern[k] = replace(pattern[k], duration=window)
        pattern[k + 1] = replace(read, duration=read.duration - (window - width))
    if len(idles) != 1:
        raise InvalidParameter("timing", "the reads after the pulses a generator plays on the SMU's trigger must "
                                         "share one level (the generator idles at it)")
    (idle,) = idles
    if not (level > idle if level > 0 else level < idle) or abs(idle) > caps.max_voltage:
        raise LimitError("read level", idle, None, None, "V", "a generator pulse leaves its idle level (the read's) "
                                                              "towards its own sign")
    period = max(window if window > width else width + max(caps.min_width, 2 * caps.min_edge), caps.min_period)
    return TriggeredTrain(Train(tuple(pattern), train.repeats, train.levels), frozenset(writes), level, width,
                          period, idle)
