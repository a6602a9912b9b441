"""Runner: plays a PulseProgram on a Bench, safely, and streams the samples to observers.

States: idle → running ⇄ paused → completed | aborted | failed.

Safety contract:
1. Before anything is sent, the program is checked against the bench limits (max |V|, max
   compliance) and the SMU's capabilities; a violation raises :class:`LimitError`.
2. The current limit is set before the output is turned on (in ``configure`` and in every train).
3. Whatever ends the run — completion, an abort, an exception, Ctrl-C — the SMU is shut down
   (output off) before the Runner returns or re-raises.
Samples reach observers chunk by chunk, as they are taken, so none is lost when a run stops.

Trains are cut into chunks of at most the instrument's list length and ``chunk_duration`` of
source time, so pause and abort take effect within one chunk. ``timing="hardware"`` sends each
chunk as one instrument-timed train; ``timing="software"`` steps segment by segment from the
computer (the fallback, and the reference the benchmark compares against).
"""
from __future__ import annotations

import enum
import threading
import time
from dataclasses import dataclass

import numpy as np

from labsuite.bench import Bench
from labsuite.errors import LimitError, RunAborted
from labsuite.program import SAMPLE_DTYPE, PulseProgram, Train


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


class RunObserver:
    """Receives a run as it happens. Override what you need; the defaults do nothing."""

    def on_start(self, runner: Runner) -> None: ...

    def on_samples(self, samples: np.ndarray, progress: Progress) -> None: ...

    def on_finish(self, state: RunState, error: BaseException | None) -> None: ...


class Runner:
    """Run ``program`` on ``bench``; see the module docstring for the contract."""

    def __init__(self, bench: Bench, program: PulseProgram, *, timing: str = "hardware",
                 chunk_duration: float = 30.0, observers: list[RunObserver] | tuple = (),
                 train_offset: int = 0) -> None:
        if timing not in ("hardware", "software"):
            raise ValueError(f"timing must be 'hardware' or 'software', not {timing!r}")
        self.bench, self.program, self.timing = bench, program, timing
        self.chunk_duration = chunk_duration
        self.observers = list(observers)
        self.train_offset = train_offset   # train numbers continue across the stages of a closed loop
        self.state = RunState.IDLE
        self.error: BaseException | None = None
        self._abort = threading.Event()
        self._resume = threading.Event()
        self._resume.set()
        self._chunks: list[np.ndarray] = []

    # --- control (thread-safe) ----------------------------------------------------------
    def abort(self) -> None:
        """Stop at the end of the present chunk; outputs go off, samples so far are kept."""
        self._abort.set()
        self._resume.set()

    def pause(self) -> None:
        """Hold before the next chunk (the output is off while paused). No effect once aborted."""
        if not self._abort.is_set():
            self._resume.clear()

    def resume(self) -> None:
        self._resume.set()

    @property
    def samples(self) -> np.ndarray:
        """Every sample taken so far (a SAMPLE_DTYPE table)."""
        return np.concatenate(self._chunks) if self._chunks else np.empty(0, SAMPLE_DTYPE)

    # --- running ------------------------------------------------------------------------
    def check(self) -> None:
        """Raise :class:`LimitError` if the program cannot run on this bench. Sends nothing."""
        self.bench.limits.check(self.program)
        caps = self.bench.smu.capabilities
        if self.program.max_abs_level > caps.max_voltage:
            raise LimitError("|level|", self.program.max_abs_level, None, caps.max_voltage, "V", "SMU range")
        for compliance in (self.program.min_compliance, self.program.max_compliance):
            if not caps.min_current_limit <= compliance <= caps.max_current_limit:
                raise LimitError("compliance", compliance, caps.min_current_limit, caps.max_current_limit, "A",
                                 "SMU current-limit range")
        for train in self.program.trains:
            if self.timing == "hardware" and len(train.pattern) > caps.max_pattern:
                raise LimitError("segments per pattern", len(train.pattern), 1, caps.max_pattern, "",
                                 "SMU trigger-model length")
            for seg in train.pattern:
                if self.timing == "hardware" and seg.duration < caps.min_segment * (1 - 1e-9):
                    raise LimitError(f"{seg.label} duration", seg.duration, caps.min_segment, None, "s",
                                     "shortest segment the SMU can time")
                if seg.measure and seg.duration < caps.min_aperture * (1 - 1e-9):
                    raise LimitError(f"{seg.label} duration", seg.duration, caps.min_aperture, None, "s",
                                     "a measured segment must hold the SMU's shortest integration")

    def run(self) -> np.ndarray:
        """Run to the end (or abort); return the samples. Re-raises whatever stopped the run."""
        self.check()
        started = time.monotonic()
        self.state = RunState.RUNNING
        for obs in self.observers:
            obs.on_start(self)
        done, n_samples = 0.0, 0
        smu = self.bench.smu
        try:
            smu.configure(self.program.compliance, self.program.max_abs_level)
            for index, train in enumerate(self.program.trains):
                first_repeat = 0
                for chunk in train.split(self._chunk_repeats(train)):
                    self._wait_if_paused()
                    if self._abort.is_set():
                        raise RunAborted("aborted by the user")
                    samples = self._play(chunk, self.train_offset + index, first_repeat)
                    first_repeat += chunk.repeats
                    done += chunk.duration
                    n_samples += samples.size
                    self._chunks.append(samples)
                    progress = Progress(done, self.program.duration, time.monotonic() - started, n_samples)
                    for obs in self.observers:
                        obs.on_samples(samples, progress)
            self.state = RunState.COMPLETED
        except RunAborted as exc:
            self.state, self.error = RunState.ABORTED, exc
        except BaseException as exc:
            self.state, self.error = RunState.FAILED, exc
            raise
        finally:
            try:
                smu.shutdown()
            finally:
                for obs in self.observers:
                    obs.on_finish(self.state, self.error)
        return self.samples

    def _chunk_repeats(self, train: Train) -> int:
        caps = self.bench.smu.capabilities
        per_repeat = max(1, train.measurements_per_repeat)
        # 0.5 // 0.01 == 49.0 in binary floating point: allow for the rounding
        by_time = int(self.chunk_duration / train.period * (1 + 1e-9)) if self.chunk_duration else train.repeats
        return max(1, min(caps.max_repeats, caps.max_readings // per_repeat, by_time))

    def _wait_if_paused(self) -> None:
        if not self._resume.is_set():
            self.state = RunState.PAUSED
            while not self._resume.wait(0.1) and not self._abort.is_set():
                pass
            self.state = RunState.RUNNING

    def _play(self, chunk: Train, index: int, first_repeat: int) -> np.ndarray:
        """Play one chunk; return its samples with times on the bench clock."""
        repeat, segment, ends = chunk.measurements()
        t0 = self.bench.clock.now()
        if self.timing == "hardware":
            readings = self.bench.smu.run_train(chunk, self.program.compliance)
            voltage, current = readings.voltage, readings.current
            # anchor the instrument's relative timestamps at the scheduled first reading
            times = t0 + ends[0] + readings.time if ends.size else ends
        else:
            times, voltage, current = self._step(chunk)
        samples = np.empty(ends.size, SAMPLE_DTYPE)
        samples["t"], samples["voltage"], samples["current"] = times, voltage, current
        samples["train"], samples["repeat"], samples["segment"] = index, first_repeat + repeat, segment
        return samples

    def _step(self, chunk: Train) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Software timing: one command per segment, waits on the bench clock."""
        smu, clock = self.bench.smu, self.bench.clock
        caps = self.bench.smu.capabilities
        shortest = min((s.duration for s in chunk.pattern if s.measure), default=caps.min_aperture)
        aperture = float(np.clip(shortest, caps.min_aperture, caps.max_aperture))
        times, voltage, current = [], [], []
        limit = self.program.compliance_of(chunk.pattern[0])
        smu.set_compliance(limit)
        smu.set_level(float(chunk.levels[0, 0]))
        smu.set_output(True)
        for r in range(chunk.repeats):
            for k, seg in enumerate(chunk.pattern):
                if self.program.compliance_of(seg) != limit:
                    limit = self.program.compliance_of(seg)
                    smu.set_compliance(limit)
                smu.set_level(float(chunk.levels[r, k]))
                if seg.measure:
                    clock.sleep(seg.duration - aperture)
                    v, i = smu.measure(aperture)
                    times.append(clock.now())
                    voltage.append(v)
                    current.append(i)
                else:
                    clock.sleep(seg.duration)
        smu.set_output(False)
        return np.array(times), np.array(voltage), np.array(current)
