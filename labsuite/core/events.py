"""Run events: what a run's observers receive while it happens (the Runner, a replay), and its states.

States: idle → running ⇄ paused → completed | aborted | failed.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from labsuite.core.program import PulseProgram


class RunState(enum.Enum):
    IDLE = "idle"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    ABORTED = "aborted"
    FAILED = "failed"


@dataclass(frozen=True)
class Progress:
    """How far a run is, in source time, and the wall time it should still take."""

    done: float          # s of program time played
    total: float         # s of program time in all
    elapsed: float       # s of wall time since the run started
    samples: int         # readings so far

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0

    @property
    def remaining(self) -> float:
        """Estimated wall time to the end, s (from the pace so far)."""
        return self.elapsed * (1 - self.fraction) / self.fraction if self.fraction > 0 else float("nan")


class ActiveRun(Protocol):
    """What observers see of the thing that runs (a Runner, a replay): its program and state."""

    program: PulseProgram
    state: RunState


class RunObserver:
    """Receives a run as it happens. Override what you need; the defaults do nothing."""

    def on_start(self, runner: ActiveRun) -> None: ...

    def on_samples(self, samples: np.ndarray, progress: Progress) -> None: ...

    def on_finish(self, state: RunState, error: BaseException | None) -> None: ...
