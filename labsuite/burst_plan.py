"""How one repeat of a train divides between a pulse generator and an SMU.

On a bench with a pulse generator, the generator plays the write pulses: segments that are not
measured, have a non-zero level in this repeat and no current limit of their own. Equal pulses,
each followed by the same 0 V gap, become one burst of N cycles whose period is pulse + gap; a
pulse with no gap after it ends its burst after the generator's shortest low time (within its
shortest period). Everything
else (reads, waits, writes that need a compliance) is an SMU step.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labsuite.core.instruments import PulseGeneratorCapabilities
from labsuite.core.program import Segment


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
