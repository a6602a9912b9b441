"""Runner: plays a PulseProgram on a Bench, safely, and streams the samples to observers.

States: idle → running ⇄ paused → completed | aborted | failed.

Safety contract:
1. Before anything is sent, the program is checked against the bench limits (max |V|, max
   compliance) and the SMU's capabilities; a violation raises :class:`LimitError`.
2. The current limit is set before the output is turned on (in ``configure`` and in every train).
3. Whatever ends the run — completion, an abort, an exception, Ctrl-C, SIGTERM, SIGHUP, a
   dropped link — every output is switched off before the Runner returns or re-raises; after a
   dropped link the Runner reconnects to switch it off, and says so (or that it may still be
   on) in a note on the exception. A failure to switch off never hides the error that stopped
   the run, and a run whose outputs could not be switched off never counts as completed.
4. A stop signal or an abort ends the run ``aborted`` (the reason recorded); anything else
   ``failed`` with its error (link failures as one-line :class:`~labsuite.link.LinkError`).
Samples reach observers chunk by chunk, as they are taken, so none is lost when a run stops;
the readings of a chunk cut short are kept too: a software-timed chunk's as they were read, a
hardware-timed chunk's fetched from the SMU once a stop signal (Ctrl-C, SIGTERM, SIGHUP) has
stopped its sequencer (``stop_train``; an :meth:`Runner.abort` waits for the chunk's end).

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
the computer, so the waits between bursts must last ≥ 5 ms (timing "software" waives this). A
train whose bursts cannot keep that rule (paired pulses 500 µs apart, spike pairs, a read 1 ms
after a write) is played by the SMU's own sequencer instead, writes included, where it can time
it (a Keithley 2450, 2600B, Keysight B2900). A train with pulses shorter than the SMU can time
plays, where the bench wires the SMU's trigger output to the generator's trigger input
(``Bench.trigger_line``, an SMU with ``trigger_output``), on the SMU's sequencer with the generator
started at each pulse by that line (``burst_plan.plan_triggered``): the SMU's output is open
through the pulse, the generator idles at the read level between pulses, and the SMU reads. One
path carries the pulses of a whole run: bus-triggered bursts, the SMU's sequencer (every train
plays as on the SMU alone, with the generator's output off), or the triggered generator.
"""
from __future__ import annotations

import functools
import logging
import threading
import time

import numpy as np

from labsuite import link
from labsuite.bench import Bench
from labsuite.burst_plan import Burst, TriggeredTrain, plan_repeat, plan_triggered, plays_on_generator
from labsuite.core.errors import InvalidParameter, LimitError, RunAborted
from labsuite.core.events import Progress, RunObserver, RunState
from labsuite.core.instruments import TrainReadings
from labsuite.core.program import SAMPLE_DTYPE, TIMINGS, PulseProgram, Train
from labsuite.interrupts import stop_on_signals, stop_reason


SOFTWARE_MIN_SEGMENT = 5e-3   # s: shorter segments stepped from a computer stretch by bus and OS latency
PULSES_ON_SMU = ("the SMU plays this run's write pulses, timed by its own sequencer: bursts triggered from the "
                 "computer cannot keep the run's timing; the pulse generator's output stays off")
COMPLIANCE_FRACTION = 0.99    # a reading at |I| ≥ this fraction of its current limit sat at compliance

log = logging.getLogger("labsuite")


def compliance_hits(samples: np.ndarray, program: PulseProgram, train_offset: int = 0) -> int:
    """How many of ``samples`` read |I| ≥ COMPLIANCE_FRACTION of their segment's current limit:
    the device sat at compliance (a breakdown, a short, or a limit set too low). Derived from the
    data alone, so it means the same on every instrument."""
    if not samples.size:
        return 0
    limits = np.empty(samples.size)
    for train, segment in {(int(t), int(k)) for t, k in zip(samples["train"], samples["segment"])}:
        where = (samples["train"] == train) & (samples["segment"] == segment)
        limits[where] = program.compliance_of(program.trains[train - train_offset].pattern[segment])
    return int(np.count_nonzero(np.abs(samples["current"]) >= COMPLIANCE_FRACTION * limits))


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
        self._partial: np.ndarray | None = None   # readings of a chunk cut short by a stop or a failure
        self._done = 0.0                          # s of program time played
        self.compliance_hits = 0                  # readings at |I| ≥ COMPLIANCE_FRACTION of their current limit

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
            caps.check_compliance(compliance, self.program.max_abs_level)
        for train in self.program.trains:
            for seg in train.pattern:
                if seg.measure and seg.duration < caps.min_aperture * (1 - 1e-9):
                    raise LimitError(f"{seg.label} duration", seg.duration, caps.min_aperture, None, "s",
                                     "a measured segment must hold the SMU's shortest integration")
            if self._uses_generator(train):
                self._check_generator(train)
            elif self._triggers_generator(train):
                self._check_triggered(train)
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

    def sequencing(self, train: Train) -> str:
        """How ``train`` plays (once :meth:`check` accepts it): "hardware" on the SMU's sequencer,
        "smu_pulses" on the SMU's sequencer with the write pulses a generator bench would give its
        generator (see :attr:`pulses_on_smu`), "triggered" on the SMU's sequencer with the generator
        started at each pulse by the SMU's trigger output, "bursts" as pulse-generator bursts and SMU
        steps sequenced from the computer, "software" stepped from the computer segment by segment."""
        if self._uses_generator(train):
            return "bursts"
        if self._triggers_generator(train):
            return "triggered"
        if self._on_smu_sequencer(train):
            return "smu_pulses" if self.pulses_on_smu and self._generator_writes(train) else "hardware"
        return "software"

    def _on_smu_sequencer(self, train: Train) -> bool:
        """Whether the SMU's own sequencer plays ``train`` (no generator bursts, hardware timing)."""
        return not self._uses_generator(train) and not self._triggers_generator(train) and (
            self.timing == "hardware" or (self.timing == "auto" and self._hardware_timeable(train)))

    @property
    def pulses_on_smu(self) -> bool:
        """Whether, on a bench with a pulse generator, the SMU's sequencer plays the write pulses
        (bursts triggered from the computer cannot keep the run's timing) with the generator off."""
        return self.bench.pulse_generator is not None and not self._generator_plays and not self._triggered and any(
            self._generator_writes(t) for t in self.program.trains)

    @property
    def pulses_played_by(self) -> str | None:
        """On a bench with a pulse generator, which instrument plays the write pulses and how
        (None: no write a generator could play)."""
        if not any(self._generator_writes(t) for t in self.program.trains):
            return None
        if self._triggered:
            return "generator, triggered by the SMU"
        return "generator, bus-triggered" if self._generator_plays else "smu"

    @staticmethod
    def _software_timeable(train: Train) -> bool:
        """Whether stepping ``train`` from the computer keeps its timing: every segment that is not
        a read lasts ≥ 5 ms (a read lasts its integration however late its reply comes)."""
        return all(seg.measure or seg.duration >= SOFTWARE_MIN_SEGMENT for seg in train.pattern)

    def _uses_generator(self, train: Train) -> bool:
        """Whether the bench's pulse generator plays any of ``train``'s writes."""
        return self._generator_plays and self._generator_writes(train)

    def _generator_writes(self, train: Train) -> bool:
        """Whether ``train`` holds writes a pulse generator could play."""
        return self.bench.pulse_generator is not None and any(
            plays_on_generator(seg, 1.0) and np.any(train.levels[:, k] != 0) for k, seg in enumerate(train.pattern))

    @functools.cached_property
    def _generator_plays(self) -> bool:
        """Whether the pulse generator plays the program's writes. One path for the pulses of a run:
        the generator's, unless its bursts cannot keep the timing of some train (they are triggered
        from the computer) while the SMU's own sequencer plays every train with writes."""
        trains = [t for t in self.program.trains if self._generator_writes(t)]
        if not trains or self.timing == "software" or all(self._bursts_keep_timing(t) for t in trains):
            return bool(trains)
        return not all(self._hardware_timeable(t) for t in trains) and not self._triggered

    @functools.cached_property
    def _triggered(self) -> bool:
        """Whether the generator plays the program's writes, each started by the SMU's trigger
        output: where the bench has that line, and neither bus-triggered bursts nor the SMU's
        sequencer keep the timing of every train with writes (:meth:`check` then refuses, in this
        path's terms, a train it cannot play either)."""
        trains = [t for t in self.program.trains if self._generator_writes(t)]
        if (not trains or self.timing == "software" or not self.bench.trigger_line
                or not self.bench.smu.capabilities.trigger_output):
            return False
        return not (all(self._bursts_keep_timing(t) for t in trains) or all(self._hardware_timeable(t) for t in trains))

    def _triggers_generator(self, train: Train) -> bool:
        """Whether ``train`` plays on the SMU's sequencer with the generator started at each write."""
        return self._triggered and self._generator_writes(train)

    def _triggered_plan(self, train: Train) -> TriggeredTrain:
        caps = self.bench.smu.capabilities
        return plan_triggered(train, caps.min_segment, caps.min_aperture, self.bench.pulse_generator.capabilities)

    def _check_triggered(self, train: Train) -> None:
        """Raise unless the SMU's sequencer can play ``train`` with the generator started at each
        write, the generator can play the pulse, and a shorted device could not draw more than the
        compliance from it."""
        plan = self._triggered_plan(train)
        caps = self.bench.pulse_generator.capabilities
        self.bench.pulse_generator.check_burst(plan.level, plan.width, plan.period, 1, caps.min_edge)
        self._check_short(plan.level, train.pattern[min(plan.triggered)].label)
        self._check_hardware(plan.smu_train)

    def _bursts_keep_timing(self, train: Train) -> bool:
        """Whether bus-triggered bursts and computer-timed SMU steps keep ``train``'s timing."""
        if self.timing == "hardware":
            return False
        try:
            for row in np.unique(train.levels, axis=0):
                self._check_bus_timing(train, plan_repeat(train.pattern, row, self.bench.pulse_generator.capabilities))
        except (LimitError, InvalidParameter):
            return False
        return True

    def _check_generator(self, train: Train) -> None:
        """Raise if the generator cannot play ``train``'s bursts, if a burst could pass the compliance
        into a shorted device, or if the computer would have to trigger bursts < 5 ms apart."""
        if self.timing == "hardware":
            raise InvalidParameter("timing", "trains with generator pulses are sequenced from the computer over "
                                             "bus triggers; use timing 'auto' or 'software'")
        generator = self.bench.pulse_generator
        caps = generator.capabilities
        for row in np.unique(train.levels, axis=0):
            steps = plan_repeat(train.pattern, row, caps)
            for step in steps:
                if not isinstance(step, Burst):
                    continue
                generator.check_burst(step.level, step.width, step.period, step.count, caps.min_edge)
                self._check_short(step.level, train.pattern[step.first].label)
            if self.timing != "software":
                self._check_bus_timing(train, steps)

    def _check_short(self, level: float, label: str) -> None:
        """Refuse a generator pulse of ``level`` V that a shorted device would pass above the compliance."""
        path = self.bench.pulse_generator.capabilities.output_impedance + self.bench.pulse_series_resistance
        if abs(level) / path > self.program.compliance:
            raise LimitError(f"{label} level", abs(level), None, self.program.compliance * path, "V",
                             f"a shorted device would draw |level| / {path:g} Ω from the pulse generator, "
                             f"above the {self.program.compliance:g} A compliance: add series resistance "
                             "in its path (pulse_series_resistance) or raise the compliance")

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
        """Run to the end (or abort); return the samples. Re-raises whatever stopped the run: a
        link failure as :class:`~labsuite.link.LinkError` (the original chained as its cause), a
        stop signal as :class:`~labsuite.interrupts.Interrupted` (the run then ends ``aborted``).
        Notes on how the outputs were switched off are added to the exception (``add_note``)."""
        self.check()
        with stop_on_signals():
            return self._run()

    def _run(self) -> np.ndarray:
        started = time.monotonic()
        self.state = RunState.RUNNING
        raised: BaseException | None = None   # what run() re-raises once the outputs are off
        try:
            for obs in self.observers:
                obs.on_start(self)
            self._play_all(started)
            self.state = RunState.COMPLETED
        except RunAborted as exc:
            self.state, self.error = RunState.ABORTED, exc
        except KeyboardInterrupt as exc:   # Ctrl-C, SIGTERM, SIGHUP: a user's stop
            self.state, self.error, raised = RunState.ABORTED, RunAborted(stop_reason(exc)), exc
        except BaseException as exc:
            self.state, self.error = RunState.FAILED, link.translate(exc, self.bench.resources.get("smu", "SMU"))
            raised = self.error
        outcomes = self._switch_off()
        left_on = [o for o in outcomes if not o.off]
        if left_on and raised is None:   # completed or aborted, but an output may still be on
            self.state = RunState.FAILED
            self.error = raised = link.LinkError(left_on[0].resource, "could not switch the output off")
        notes = [o.note for o in outcomes if o.note]
        for note in notes:
            if raised is not None:
                raised.add_note(note)
            else:
                log.warning(note)
        try:
            if self._partial is not None:   # samples of the chunk the stop cut short
                self._keep(self._partial, started)
        finally:
            for obs in self.observers:
                obs.on_finish(self.state, self.error)
        if raised is not None:
            raise raised
        return self.samples

    def _play_all(self, started: float) -> None:
        smu = self.bench.smu
        smu.configure(self.program.compliance, self.program.max_abs_level)
        if self.bench.pulse_generator is not None:
            self.bench.pulse_generator.set_output(False)
            smu.set_off_state(high_impedance=True)   # an SMU off at 0 V would short the pulses
            if self.pulses_on_smu:
                log.warning(PULSES_ON_SMU)
        for index, train in enumerate(self.program.trains):
            first_repeat = self.start[1] if index == self.start[0] else 0
            if index < self.start[0] or first_repeat >= train.repeats:
                self._done += train.duration   # a resumed run's file already holds this train
                continue
            if first_repeat:
                self._done += train.period * first_repeat
                train = Train(train.pattern, train.repeats - first_repeat, train.levels[first_repeat:])
            for chunk in train.split(self._chunk_repeats(train)):
                self._wait_if_paused()
                if self._abort.is_set():
                    raise RunAborted("aborted by the user")
                samples = self._play(chunk, self.train_offset + index, first_repeat)
                first_repeat += chunk.repeats
                self._done += chunk.duration
                self._keep(samples, started)

    def _keep(self, samples: np.ndarray, started: float) -> None:
        """Add ``samples`` to the run and hand them to the observers."""
        self._chunks.append(samples)
        self.compliance_hits += compliance_hits(samples, self.program, self.train_offset)
        progress = Progress(self._done, self.program.duration, time.monotonic() - started,
                            sum(c.size for c in self._chunks))
        for obs in self.observers:
            obs.on_samples(samples, progress)

    def _switch_off(self) -> list[link.SwitchOff]:
        """Outputs off: the generator's first (it may be driving the device), then the SMU's.
        A stop signal arriving meanwhile does not cut this short."""
        outcomes = []
        for instrument in (self.bench.pulse_generator, self.bench.smu):
            if instrument is not None:
                confirm = isinstance(self.error, link.LinkError)
                try:
                    outcomes.append(link.switch_off(instrument, confirm))
                except KeyboardInterrupt:
                    outcomes.append(link.switch_off(instrument, confirm))
        return outcomes

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
        times, voltage, current = [], [], []   # software timing fills these reading by reading
        try:
            if not self._on_smu_sequencer(chunk) and not self._triggers_generator(chunk):
                self._step(chunk, times, voltage, current)
            else:
                readings = self._play_triggered(chunk) if self._triggers_generator(chunk) \
                    else self.bench.smu.run_train(chunk, self.program.compliance)
                voltage, current = readings.voltage, readings.current
                # anchor the instrument's relative timestamps at the scheduled first reading
                times = t0 + ends[0] + readings.time if ends.size else ends
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt) and ends.size and not len(current) \
                    and self._on_smu_sequencer(chunk) and not self._triggers_generator(chunk):
                # a stop signal during a hardware-timed chunk that measures
                taken = self._stop_train()
                voltage, current, times = taken.voltage, taken.current, t0 + ends[0] + taken.time
            if len(current):   # a stop or failure partway through a chunk: keep what was read
                self._partial = self._table(times, voltage, current, index, first_repeat + repeat, segment)
            raise
        return self._table(times, voltage, current, index, first_repeat + repeat, segment)

    def _stop_train(self) -> TrainReadings:
        """Stop the SMU's sequencer and fetch the readings its train took so far. The switch-off
        does not depend on it: a failure or a second stop while fetching is logged, and no readings
        are kept (each query is bounded by the link's timeout)."""
        try:
            return self.bench.smu.stop_train()
        except (Exception, KeyboardInterrupt) as exc:   # noqa: BLE001 (the stop that got here is re-raised)
            log.warning("the readings of the stopped hardware-timed chunk were not fetched: %s", link.describe(exc))
            return TrainReadings(np.empty(0), np.empty(0), np.empty(0))

    def _play_triggered(self, chunk: Train) -> TrainReadings:
        """The generator armed for its trigger input (output on, idling at the read level), the SMU's
        sequencer playing ``chunk`` and starting each pulse; the generator's output off after."""
        plan = self._triggered_plan(chunk)
        generator = self.bench.pulse_generator
        generator.arm_external_burst(plan.level, plan.width, plan.period, 1, generator.capabilities.min_edge,
                                     plan.idle)
        generator.set_output(True)
        readings = self.bench.smu.run_train(plan.smu_train, self.program.compliance, triggered=plan.triggered)
        generator.set_output(False)
        return readings

    @staticmethod
    def _table(times, voltage, current, train: int, repeat: np.ndarray, segment: np.ndarray) -> np.ndarray:
        """A SAMPLE_DTYPE table of the first ``len(current)`` readings of a chunk."""
        n = len(current)
        samples = np.empty(n, SAMPLE_DTYPE)
        samples["t"], samples["voltage"], samples["current"] = times[:n], voltage[:n], current
        samples["train"], samples["repeat"], samples["segment"] = train, repeat[:n], segment[:n]
        return samples

    def _step(self, chunk: Train, times: list[float], voltage: list[float], current: list[float]) -> None:
        """Software timing: one command per segment, waits on the bench clock; each reading is
        appended to ``times``, ``voltage``, ``current`` as it is taken. On a bench with a pulse
        generator the writes it plays go out as bursts (``burst_plan.py``)."""
        smu, clock, generator = self.bench.smu, self.bench.clock, self.bench.pulse_generator
        caps = self.bench.smu.capabilities
        shortest = min((s.duration for s in chunk.pattern if s.measure), default=caps.min_aperture)
        aperture = float(np.clip(shortest, caps.min_aperture, caps.max_aperture))
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
                    current.append(i)   # last: the reading counts once all three are in
                else:
                    clock.sleep(seg.duration)
        smu.set_output(False)
        if generator_on:
            generator.set_output(False)
        smu.raise_errors()   # a refused setting would otherwise leave the old level on unnoticed
