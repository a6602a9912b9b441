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
source time (1 s by default: the samples reach the file and the progress at least that often),
so pause and abort take effect within one chunk. ``start`` skips the trains and repeats a
resumed run's file already holds. ``timing="hardware"`` sends each
chunk as one instrument-timed train (and refuses, before sending anything, a train the SMU's
sequencer cannot play faithfully); ``timing="software"`` steps segment by segment from the
computer (the fallback, and the reference the benchmark compares against); ``timing="auto"``
(the default) plays each train hardware-timed where the SMU can, software-timed where it cannot
and every segment other than a read lasts at least 5 ms (shorter ones would stretch by bus and
OS latency on hardware), and refuses it otherwise.

On a bench with a pulse generator, the generator plays the write pulses as bursts on a bus
trigger (see ``burst_plan.py``) and the SMU takes the reads; a write with its own compliance
stays on the SMU. A generator cannot limit current, so a write goes to it only if a shorted
device could not draw more than the program's compliance through the generator's output
impedance and the bench's series resistance. One source is on the device at a time: the SMU's
output is open during a burst and the generator's off during SMU segments (its 50 Ω would
otherwise load the reads), each hand-over confirmed by a query. Such trains are sequenced from
the computer, so the waits between bursts must last ≥ 5 ms (timing "software" waives this).
"""
from __future__ import annotations

import enum
import threading
import time
from dataclasses import dataclass

import numpy as np

from labsuite.bench import Bench
from labsuite.burst_plan import Burst, plan_repeat, plays_on_generator
from labsuite.errors import InvalidParameter, LimitError, RunAborted
from labsuite.program import SAMPLE_DTYPE, PulseProgram, Train


TIMINGS = ("auto", "hardware", "software")
SOFTWARE_MIN_SEGMENT = 5e-3   # s: shorter segments stepped from a computer stretch by bus and OS latency


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

    def __init__(self, bench: Bench, program: PulseProgram, *, timing: str = "auto",
                 chunk_duration: float | None = 1.0, observers: list[RunObserver] | tuple = (),
                 train_offset: int = 0, start: tuple[int, int] = (0, 0)) -> None:
        if timing not in TIMINGS:
            raise InvalidParameter("timing", f"{timing!r}: choose one of {', '.join(TIMINGS)}")
        self.bench, self.program, self.timing = bench, program, timing
        self.chunk_duration = chunk_duration
        self.observers = list(observers)
        self.train_offset = train_offset   # train numbers continue across the stages of a closed loop
        self.start = start   # (train, repeat) to begin at: a resumed run skips what its file already holds
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
            for seg in train.pattern:
                if seg.measure and seg.duration < caps.min_aperture * (1 - 1e-9):
                    raise LimitError(f"{seg.label} duration", seg.duration, caps.min_aperture, None, "s",
                                     "a measured segment must hold the SMU's shortest integration")
            if self._uses_generator(train):
                self._check_generator(train)
            elif self.timing == "hardware" or (self.timing == "auto" and not self._software_timeable(train)):
                self._check_hardware(train)

    def _check_hardware(self, train: Train) -> None:
        """Raise if the SMU's sequencer cannot play ``train`` as programmed."""
        caps = self.bench.smu.capabilities
        if len(train.pattern) > caps.max_pattern:
            raise LimitError("segments per pattern", len(train.pattern), 1, caps.max_pattern, "",
                             "SMU trigger-model length")
        for seg in train.pattern:
            if seg.duration < caps.min_segment * (1 - 1e-9):
                raise LimitError(f"{seg.label} duration", seg.duration, caps.min_segment, None, "s",
                                 "shortest segment the SMU can time")
        reason = self.bench.smu.hardware_timing_limit(train, self.program.compliance)
        if reason:
            raise InvalidParameter("timing", f"{reason}, and a computer cannot time segments under "
                                             f"{SOFTWARE_MIN_SEGMENT * 1e3:g} ms")

    def _hardware_timeable(self, train: Train) -> bool:
        try:
            self._check_hardware(train)
        except (LimitError, InvalidParameter):
            return False
        return True

    @staticmethod
    def _software_timeable(train: Train) -> bool:
        """Whether stepping ``train`` from the computer keeps its timing: every segment that is not
        a read lasts ≥ 5 ms (a read lasts its integration however late its reply comes)."""
        return all(seg.measure or seg.duration >= SOFTWARE_MIN_SEGMENT for seg in train.pattern)

    def _uses_generator(self, train: Train) -> bool:
        """Whether the bench's pulse generator plays any of ``train``'s writes."""
        return self.bench.pulse_generator is not None and any(
            plays_on_generator(seg, 1.0) and np.any(train.levels[:, k] != 0) for k, seg in enumerate(train.pattern))

    def _check_generator(self, train: Train) -> None:
        """Raise if the generator cannot play ``train``'s bursts, if a burst could pass the compliance
        into a shorted device, or if the computer would have to trigger bursts < 5 ms apart."""
        if self.timing == "hardware":
            raise InvalidParameter("timing", "trains with generator pulses are sequenced from the computer over "
                                             "bus triggers; use timing 'auto' or 'software'")
        generator = self.bench.pulse_generator
        caps = generator.capabilities
        path = caps.output_impedance + self.bench.pulse_series_resistance
        for row in np.unique(train.levels, axis=0):
            steps = plan_repeat(train.pattern, row, caps)
            for step in steps:
                if not isinstance(step, Burst):
                    continue
                seg = train.pattern[step.first]
                generator.check_burst(step.level, step.width, step.period, step.count, caps.min_edge)
                if abs(step.level) / path > self.program.compliance:
                    raise LimitError(f"{seg.label} level", abs(step.level), None, self.program.compliance * path, "V",
                                     f"a shorted device would draw |level| / {path:g} Ω from the pulse generator, "
                                     f"above the {self.program.compliance:g} A compliance: add series resistance "
                                     "in its path (pulse_series_resistance) or raise the compliance")
            if self.timing != "software":
                self._check_bus_timing(train, steps)

    def _check_bus_timing(self, train: Train, steps: list[Burst | int]) -> None:
        """Refuse waits the computer times that are < 5 ms, and bursts < 5 ms apart."""
        for step in steps:
            seg = None if isinstance(step, Burst) else train.pattern[step]
            if seg is not None and not seg.measure and seg.duration < SOFTWARE_MIN_SEGMENT:
                raise LimitError(f"{seg.label} duration", seg.duration, SOFTWARE_MIN_SEGMENT, None, "s",
                                 "a wait timed by the computer between generator bursts")
        since: float | None = None   # s of SMU steps since the last burst; the pattern repeats
        for step in steps * (2 if train.repeats > 1 else 1):
            if isinstance(step, Burst):
                if since is not None and since < SOFTWARE_MIN_SEGMENT:
                    raise InvalidParameter("timing", f"generator bursts follow each other {since * 1e3:.3g} ms apart; "
                                                     "bus triggers from a computer need ≥ 5 ms between them (one "
                                                     "burst holds only equal pulses with equal gaps)")
                since = 0.0
            elif since is not None:
                since += train.pattern[step].duration

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
            if self.bench.pulse_generator is not None:
                self.bench.pulse_generator.set_output(False)
                smu.set_off_state(high_impedance=True)   # an SMU off at 0 V would short the pulses
            for index, train in enumerate(self.program.trains):
                first_repeat = self.start[1] if index == self.start[0] else 0
                if index < self.start[0] or first_repeat >= train.repeats:
                    done += train.duration
                    continue
                if first_repeat:
                    done += train.period * first_repeat
                    train = Train(train.pattern, train.repeats - first_repeat, train.levels[first_repeat:])
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
                if self.bench.pulse_generator is not None:
                    self.bench.pulse_generator.shutdown()
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
        if self._uses_generator(chunk):
            times, voltage, current = self._step(chunk)
        elif self.timing == "hardware" or (self.timing == "auto" and self._hardware_timeable(chunk)):
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
        """Software timing: one command per segment, waits on the bench clock. On a bench with a
        pulse generator the writes it plays go out as bursts (``burst_plan.py``)."""
        smu, clock, generator = self.bench.smu, self.bench.clock, self.bench.pulse_generator
        caps = self.bench.smu.capabilities
        shortest = min((s.duration for s in chunk.pattern if s.measure), default=caps.min_aperture)
        aperture = float(np.clip(shortest, caps.min_aperture, caps.max_aperture))
        times, voltage, current = [], [], []
        limit = self.program.compliance_of(chunk.pattern[0])
        smu.set_compliance(limit)
        smu_on = generator_on = False
        burst: Burst | None = None   # the settings the generator holds
        for r in range(chunk.repeats):
            if generator is None:
                steps: list[Burst | int] = list(range(len(chunk.pattern)))
            else:
                steps = plan_repeat(chunk.pattern, chunk.levels[r], generator.capabilities)
            for step in steps:
                if isinstance(step, Burst):
                    if smu_on:         # one source on the device at a time; the query confirms it
                        smu.set_output(False)
                        smu.raise_errors()
                        smu_on = False
                    if burst is None or step.settings != burst.settings:
                        generator.configure_burst(*step.settings, generator.capabilities.min_edge)
                        burst = step
                    if not generator_on:
                        generator.set_output(True)
                        generator_on = True
                    generator.trigger()
                    continue
                seg = chunk.pattern[step]
                if generator_on:       # the generator's 50 Ω would otherwise load the SMU's reads
                    generator.set_output(False)
                    generator.raise_errors()
                    generator_on = False
                if self.program.compliance_of(seg) != limit:
                    limit = self.program.compliance_of(seg)
                    smu.set_compliance(limit)
                smu.set_level(float(chunk.levels[r, step]))
                if not smu_on:
                    smu.set_output(True)
                    smu_on = True
                if seg.measure:
                    clock.sleep(seg.duration - aperture)
                    started = clock.now()
                    v, i = smu.measure(aperture)
                    times.append(started + aperture)   # the end of the integration, not of the reply
                    voltage.append(v)
                    current.append(i)
                else:
                    clock.sleep(seg.duration)
        smu.set_output(False)
        if generator_on:
            generator.set_output(False)
        smu.raise_errors()   # a refused setting would otherwise leave the old level on unnoticed
        return np.array(times), np.array(voltage), np.array(current)
