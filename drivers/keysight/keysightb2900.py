"""Keysight (Agilent) B2900 series Precision Source/Measure Unit: pymeasure driver with
hardware-timed pulse trains on the instrument's list sweep.

pymeasure has no B2900 class, so this one is written from the Agilent B2900 SCPI Command
Reference (part number B2910-90030, Edition 2): channel ``c`` is the numeric suffix of
``:SOURc``, ``:SENSc``, ``:OUTPc``, ``:TRIGc``, ``:ARMc`` (chapter 1, "Numeric Suffix"), the
list holds 2500 points (``[:SOURce]:LIST:VOLTage``), arm and trigger counts run 1 to 100 000 and
their timers 20 µs (B2901A/B2902A; 10 µs on the B2911A/B2912A) to 100 000 s (User's Guide,
"Timer" specifications), pulses last at least 50 µs with 1 µs resolution (User's Guide, "Pulse
Source Supplemental Characteristics").

A train plays on the trigger system of channel 1 (User's Guide, "Trigger System": an ARM-TRIGger
loop for the transient action, another for the acquire action, both started by one ``INIT``):

- **pulse shape** when every segment but one sits at 0 V: the DC level (pulse base) is 0 V,
  the one other segment is the pulse (``:SOUR:PULS:DEL`` = its start in the period,
  ``:SOUR:PULS:WIDT`` = its duration, peak ``:SOUR:VOLT:TRIG`` or one list point per repeat),
  one transient trigger per period (``TIMer``);
- otherwise a **DC list**: one list point per time step ``T``, a transient trigger every ``T``.
  With the same levels in every repeat, and a train that ends at 0 V or with a reading, the list
  holds one repeat and the transient ARM layer replays it once per period (``TIMer``), at most
  100 000 points in all per run (arm count × trigger count, as the simulated instrument checks;
  the manual consulted states each count's range, 1 to 100 000, not their product); a last 0 V
  wait is then one closing 0 V point, held until the next arm event. Else the list holds every
  repeat of the run (as many as fit in 2500 points; a train may take several runs).

Time steps (data sheet: trigger timing resolution 1 µs, shortest trigger interval 20 µs): every
segment edge is rounded to the nearest µs from the train's start, so each edge is within 0.5 µs
of its programmed time (a 316.1277660 ms wait lasts 316.128 ms). ``T`` is the durations' greatest
common step when it is ≥ 20 µs and the list holds the repeat; otherwise the finest step ≥ 20 µs
that divides every segment that is not a 0 V wait, with the ends of the 0 V waits rounded to it,
each edge within ``T``/2 of its programmed time (a PPF pair 629.925 µs apart plays 620 µs apart
on a 20 µs step). A repeat that no list holds (100 µs pulses around a 0.5 s wait) is cut after
each 0 V wait of ≥ 5 ms into pieces, a run each: the instrument holds the wait (the tail run
below) and the next piece starts after the bus round trips that load it (on a simulated bench,
none; on hardware, milliseconds, which the readings' TIME shows).

Readings: the acquire ARM layer ticks once per period and waits ``:ARM:ACQ:DEL`` = the first
reading's start; its TRIGger layer then takes readings ``:TRIG:ACQ:TIM`` apart: the greatest
common step of the measured segments' ends. The readings that end a measured segment are kept,
the others dropped; each integrates ``:SENS:CURR:APER`` = the shortest measured segment, or that
step if shorter, up to its end. They come back with one ``:FETC:ARR? (@1)`` as voltage, current
and time (``:FORM:ELEM:SENS VOLT,CURR,TIME``), in one binary block of big-endian float64
(``:FORM REAL,64;:FORM:BORD NORM``; spot readings too). The timer behind TIME does not restart at ``INIT``
(``:SYST:TIME:TIM:COUN:RES:AUTO OFF``) and is reset once per train (``:SYST:TIME:TIM:COUN:RES``),
so the readings of all runs of a train are on one clock, with the real time between runs
(printed with 7 significant digits: 10 µs steps 30 s into a train).

A run ends with its instrument's last action, and the output then returns to the DC level, 0 V
(User's Guide, "Output after Sweep"). If the train goes on after that action, at 0 V, a second,
one-trigger run holds 0 V for the rest (``:TRIG:TRAN:DEL``); a list holding every repeat instead
ends with one more point, at 0 V, on the train's last instant. Per run: one configuration
message, an error check, ``:OUTP ON;:INIT``, ``:STAT:OPER:COND?`` polls until channel 1's
transition and acquire actions are idle (bits 1 and 4 of the operation status condition register,
chapter 4 ``:STATus:OPERation:CONDition?``; one poll on a simulated bench, on hardware one per
50 ms, so that an abort reaches ``:OUTP1 OFF`` at once instead of queueing behind a blocking
``*OPC?``), at most one tail run polled the same way, ``:OUTP OFF``, an error check and one
``:FETC:ARR?`` — however many pulses. After the last run the source range goes back to the one
``configure`` chose (a run fixes it to its largest level, and a software-timed level beyond that
would be refused). Source and measurement wait times are turned off so that the instrument keeps
the programmed timing. A train whose segments have different current limits cannot run this way
(one compliance per channel): :meth:`KeysightB2900.hardware_timing_limit` says so, as it does for
every other limit.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace

import numpy as np
from pymeasure.instruments import Channel, Instrument, SCPIMixin
from pymeasure.instruments.validators import strict_discrete_set, strict_range
from pyvisa.util import from_ieee_block

from labsuite.core.errors import InstrumentError, InvalidParameter
from labsuite.core.datasheets import KEYSIGHT_B2900
from labsuite.core.instruments import Registration, SourceMeterCapabilities, TrainReadings
from labsuite.core.program import Train
from labsuite.core.units import format_quantity
from labsuite.drivers.scpi_common import ErrorQueueMixin, link_settings, smallest_range

VOLTAGE_RANGES = (0.2, 2.0, 20.0, 200.0)   # V, source ranges (Source Output Ranges, voltage table)
MAX_VOLTAGE = 210.0                        # V
COMPLIANCE_RANGE = (1e-9, 3.03)            # A, DC; the 1 nA floor is not confirmed in the manuals consulted
APERTURE_RANGE = (8e-6, 2.0)               # s (:SENSe:CURRent:APERture)
LIST_POINTS = 2500                         # [:SOURce]:LIST:VOLTage
COUNT_MAX = 100_000                        # arm/trigger count
TIME_MAX = 100_000.0                       # s, arm/trigger timer and delay
MIN_INTERVAL = KEYSIGHT_B2900["B2901A"].min_interval        # s, arm/trigger timer of the B2901A/B2902A
MIN_PULSE_WIDTH = KEYSIGHT_B2900["B2901A"].min_pulse_width  # s, B2901A/B2902A
READINGS_MAX = 100_000                     # readings per channel and run (the trace buffer's size)
BINARY_FORMAT = ":FORM REAL,64;:FORM:BORD NORM"   # readings as big-endian float64 blocks: fewer bytes than
                                                  # 7-digit ASCII, and no digits lost
SPLIT_MIN = 5e-3                           # s, a 0 V wait from which a repeat may be cut into runs: the
                                           # software floor of labsuite.runner (bus latency stays ≪ it)
CH1_IDLE = 2 | 16                          # :STAT:OPER:COND?: Ch1 Transition Idle (bit 1), Ch1 Acquire Idle (bit 4)


class TimingLimit(Exception):
    """A train the B2900's sequencer cannot play as programmed; the message says which limit."""


class B2900Channel(Channel):
    """One source/measure channel; ``{ch}`` is its number in every command."""

    source_mode = Channel.control(
        ":SOUR{ch}:FUNC:MODE?", ":SOUR{ch}:FUNC:MODE %s",
        """Control the source function, ``"voltage"`` or ``"current"``.""",
        validator=strict_discrete_set, values={"voltage": "VOLT", "current": "CURR"}, map_values=True)
    source_shape = Channel.control(
        ":SOUR{ch}:FUNC:SHAP?", ":SOUR{ch}:FUNC:SHAP %s",
        """Control the output shape, ``"dc"`` or ``"pulse"``.""",
        validator=strict_discrete_set, values={"dc": "DC", "pulse": "PULS"}, map_values=True)
    source_voltage = Channel.control(
        ":SOUR{ch}:VOLT?", ":SOUR{ch}:VOLT %g",
        """Control the DC output level (the pulse base), V.""",
        validator=strict_range, values=(-MAX_VOLTAGE, MAX_VOLTAGE))
    source_voltage_triggered = Channel.control(
        ":SOUR{ch}:VOLT:TRIG?", ":SOUR{ch}:VOLT:TRIG %g",
        """Control the level a trigger applies in fixed mode (the pulse peak), V.""",
        validator=strict_range, values=(-MAX_VOLTAGE, MAX_VOLTAGE))
    source_voltage_mode = Channel.control(
        ":SOUR{ch}:VOLT:MODE?", ":SOUR{ch}:VOLT:MODE %s",
        """Control what a transient trigger applies: ``"fixed"``, ``"list"`` or ``"sweep"``.""",
        validator=strict_discrete_set, values={"fixed": "FIX", "list": "LIST", "sweep": "SWE"}, map_values=True)
    source_voltage_range = Channel.control(
        ":SOUR{ch}:VOLT:RANG?", ":SOUR{ch}:VOLT:RANG %g",
        """Control the voltage source range, V (setting one turns autoranging off).""",
        validator=strict_discrete_set, values=VOLTAGE_RANGES)
    list_points = Channel.measurement(
        ":SOUR{ch}:LIST:VOLT:POIN?", """Get the number of points in the voltage list.""", cast=int)
    pulse_width = Channel.control(
        ":SOUR{ch}:PULS:WIDT?", ":SOUR{ch}:PULS:WIDT %g",
        """Control the pulse width, s (1 µs resolution).""",
        validator=strict_range, values=(MIN_PULSE_WIDTH, TIME_MAX))
    pulse_delay = Channel.control(
        ":SOUR{ch}:PULS:DEL?", ":SOUR{ch}:PULS:DEL %g",
        """Control the delay from the transient trigger to the pulse peak, s.""",
        validator=strict_range, values=(0.0, TIME_MAX))
    current_limit = Channel.control(
        ":SENS{ch}:CURR:PROT?", ":SENS{ch}:CURR:PROT %g",
        """Control the current compliance of the voltage source, A.""",
        validator=strict_range, values=COMPLIANCE_RANGE)
    current_limit_tripped = Channel.measurement(
        ":SENS{ch}:CURR:PROT:TRIP?", """Get whether the channel is in compliance.""", cast=bool)
    aperture = Channel.control(
        ":SENS{ch}:CURR:APER?", ":SENS{ch}:CURR:APER %g",
        """Control the integration time of one reading, s.""",
        validator=strict_range, values=APERTURE_RANGE)
    output_enabled = Channel.control(
        ":OUTP{ch}?", ":OUTP{ch} %d",
        """Control whether the output is on.""",
        validator=strict_discrete_set, values={True: 1, False: 0}, map_values=True)
    output_off_mode = Channel.control(
        ":OUTP{ch}:OFF:MODE?", ":OUTP{ch}:OFF:MODE %s",
        """Control the output-off state: ``"normal"``, ``"high impedance"`` or ``"zero"``.""",
        validator=strict_discrete_set, values={"normal": "NORM", "high impedance": "HIZ", "zero": "ZERO"},
        map_values=True)


@dataclass(frozen=True)
class SweepPlan:
    """How a train's pattern maps onto channel 1's list sweep (times in s)."""

    pulsed: bool                # pulse shape (else DC list)
    step: float                 # transient trigger interval: the period (pulse) or the time step T (DC)
    points: tuple[int, ...]     # DC: segment of each list point of one repeat; pulse: (peak segment,)
    per_arm: bool               # DC: the list holds one repeat and the ARM layer replays it
    marker: bool                # DC with changing levels: a last 0 V point ends the run
    aperture: float             # 0 without readings
    acquire_delay: float        # start of a repeat to the start of its first reading
    acquire_interval: float     # between the readings of a repeat
    readings: int               # acquired per repeat (those in ``kept`` are the measured segments')
    pulse_delay: float
    pulse_width: float
    repeats_per_run: int
    period: float = 0.0         # one repeat on the instrument's 1 µs grid
    kept: tuple[int, ...] = ()  # which acquired readings of a repeat end a measured segment
    groups: tuple[tuple[int, int, SweepPlan], ...] = ()   # pieces of a repeat cut at long 0 V waits:
                                                          # (first segment, end, plan), one run each


class KeysightB2900(ErrorQueueMixin, SCPIMixin, Instrument):
    """Keysight B2901A/B2902A/B2911A/B2912A on pymeasure, implementing labsuite's
    :class:`~labsuite.core.instruments.SourceMeter` on channel 1."""

    # data-sheet limits of the B2901A/B2902A, which the faster B2911A/B2912A also meet
    capabilities = SourceMeterCapabilities(
        max_voltage=MAX_VOLTAGE,
        max_current_limit=COMPLIANCE_RANGE[1],
        min_current_limit=COMPLIANCE_RANGE[0],
        min_segment=MIN_INTERVAL,
        min_aperture=APERTURE_RANGE[0],
        max_aperture=APERTURE_RANGE[1],
        max_repeats=LIST_POINTS,
        max_pattern=LIST_POINTS,
        max_readings=READINGS_MAX,
    )
    registrations = (Registration("keysightb2900", "smu", r"(?:Agilent|Keysight) Technologies,B29(?:01|02|11|12)A,",
                                  capabilities),)

    channels = Instrument.MultiChannelCreator(B2900Channel, (1, 2))

    def __init__(self, adapter, name: str = "Keysight B2900 Precision Source/Measure Unit", **kwargs) -> None:
        super().__init__(adapter, name, **link_settings(kwargs))
        self.channel_count: int | None = None   # known once identified
        self._source_range: float | None = None   # V, the range configure() chose (None until configured)
        self._played: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []   # (t, V, I) of the train's runs so far
        self._running: tuple[Train, SweepPlan] | None = None   # the run the list sweep plays, None if none plays

    # --- SourceMeter interface ----------------------------------------------------------
    def identify(self) -> str:
        """Get the *IDN? reply (and learn whether the model has one channel or two)."""
        idn = self.id
        model = idn.split(",")[1].strip() if idn.count(",") >= 3 else ""
        self.channel_count = KEYSIGHT_B2900[model].channels if model in KEYSIGHT_B2900 else 2
        return idn

    def settings(self) -> dict[str, object]:
        """Get the settings stored with a run."""
        return {"idn": self.identify(), "current_limit_A": self.ch_1.current_limit,
                "aperture_s": self.ch_1.aperture}

    def configure(self, compliance: float, max_level: float) -> None:
        """Set up channel 1 as a voltage source of range ≥ ``max_level`` (V) under ``compliance`` (A), output off."""
        strict_range(compliance, COMPLIANCE_RANGE)
        self._source_range = source_range(max_level)
        self.write(f"*CLS;:OUTP1 OFF;:SOUR1:FUNC:MODE VOLT;:SOUR1:FUNC:SHAP DC;:SOUR1:VOLT:MODE FIX;"
                   f":SOUR1:VOLT:RANG {self._source_range:g};:SENS1:CURR:PROT {compliance:g};:SOUR1:VOLT 0;"
                   f':SENS1:FUNC "CURR","VOLT"')
        self.raise_errors()

    def hardware_timing_limit(self, train: Train, compliance: float | None = None) -> str | None:
        """None if ``train`` runs on the list sweep exactly as programmed, else the limit it breaks.
        Segments without their own limit use ``compliance`` (A) when it is given."""
        try:
            self.plan(train, compliance)
        except TimingLimit as exc:
            return str(exc)
        return None

    def run_train(self, train: Train, compliance: float) -> TrainReadings:
        """Play ``train`` on channel 1's list sweep, timed by the instrument; return its readings.
        Afterwards the output is off and the source range is the one :meth:`configure` chose."""
        self._played = []
        try:
            plan = self.plan(train, compliance)
        except TimingLimit as exc:
            raise InvalidParameter("train", f"cannot be timed by the B2900: {exc}") from None
        limit = next((s.compliance for s in train.pattern if s.compliance is not None), compliance)
        strict_range(limit, COMPLIANCE_RANGE)
        runs = [(run, plan) for run in train.split(plan.repeats_per_run)]
        if plan.groups:     # a repeat cut at long 0 V waits: a run per piece, the waits held by the tails
            runs = [(Train(train.pattern[a:b], 1, train.levels[r:r + 1, a:b]), piece)
                    for r in range(train.repeats) for a, b, piece in plan.groups]
        for k, (run, run_plan) in enumerate(runs):
            self._played.append(self._run(run, run_plan, limit, first=k == 0, last=k == len(runs) - 1))
        return TrainReadings.joined(self._played)

    def stop_train(self) -> TrainReadings:
        """Abort channel 1's trigger system (chapter 4 ``:ABORt``) and return the readings the train
        took: its runs played so far and what the stopped run acquired (``:FETCh:ARRay?`` returns
        the readings taken), those that end a measured segment."""
        running, self._running = self._running, None
        self.write(":ABOR (@1)")
        if running is not None:
            self._played.append(self._kept(*running, self.binary_values(":FETC:ARR? (@1)")))
        return TrainReadings.joined(self._played)

    def set_output(self, on: bool) -> None:
        """Turn channel 1's output on or off."""
        self.ch_1.output_enabled = on

    def output_enabled(self) -> bool:
        """Ask whether channel 1's output is on (:OUTPut1?)."""
        return self.ch_1.output_enabled

    def set_off_state(self, high_impedance: bool) -> None:
        """Channel 1's output-off state: HIZ (relay open) or NORMal (0 V) (:OUTPut:OFF:MODE)."""
        self.ch_1.output_off_mode = "high impedance" if high_impedance else "normal"

    def set_level(self, volts: float) -> None:
        """Set channel 1's DC output level, V."""
        self.ch_1.source_voltage = volts

    def set_compliance(self, amps: float) -> None:
        """Set channel 1's current compliance, A."""
        self.ch_1.current_limit = amps

    def measure(self, aperture: float) -> tuple[float, float]:
        """Take one spot reading on channel 1 integrating ``aperture`` s; return (V, I in A)."""
        aperture = float(np.clip(aperture, *APERTURE_RANGE))
        voltage, current = self.binary_values(f"{BINARY_FORMAT};:FORM:ELEM:SENS VOLT,CURR;"
                                              f":SENS1:CURR:APER {aperture:.6g};:MEAS? (@1)")
        return float(voltage), float(current)

    def binary_values(self, command: str) -> np.ndarray:
        """Send ``command`` (a query under :data:`BINARY_FORMAT`) and read its reply: an IEEE 488.2
        definite-length block ``#<n><length><bytes>`` of big-endian float64, then the terminator
        (SCPI reference ch. 4 ``:FORMat[:DATA]``, ``:FORMat:BORDer``)."""
        self.write(command)
        head = self.read_bytes(2)
        if head[:1] != b"#" or not head[1:2].isdigit() or head[1:2] == b"0":
            raise InstrumentError(self.name, f"expected a definite-length block in reply to {command!r}, "
                                             f"got {head!r}")
        count = self.read_bytes(int(head[1:2]))
        block = head + count + self.read_bytes(int(count) + 1)   # the data and the "\n" terminator
        return from_ieee_block(block[:-1], datatype="d", is_big_endian=True, container=np.array)

    def shutdown(self) -> None:
        """Turn channel 1's output off, in a message of its own so that nothing in it can hold it
        up, then stop the trigger system. Channel 2 only once :meth:`identify` has found a
        two-channel model: a one-channel model refuses ``:OUTP2`` and ``(@1,2)`` with errors."""
        self.write(":OUTP1 OFF")
        if self.channel_count == 2:
            self.write(":OUTP2 OFF;:ABOR (@1,2)")
        else:
            self.write(":ABOR (@1)")
        self.isShutdown = True

    # --- the list sweep ---------------------------------------------------------------
    def plan(self, train: Train, compliance: float | None = None) -> SweepPlan:
        """How ``train`` runs on the list sweep; raise :class:`TimingLimit` naming the limit it breaks.
        Segments without their own limit use ``compliance`` (A); unknown, it counts as different.
        A train whose repeat must be cut at long 0 V waits has a plan per piece (``groups``)."""
        pattern = train.pattern
        if len({compliance if s.compliance is None else s.compliance for s in pattern}) > 1:
            raise TimingLimit("its segments have different current limits; a B2900 sweep keeps one "
                              "compliance per channel")
        edges = np.round(np.cumsum([s.duration for s in pattern]) * 1e6).astype(np.int64)   # µs
        durations = [int(d) for d in np.diff(edges, prepend=0)]
        for k, d in enumerate(durations, 1):
            if d < 1:
                raise TimingLimit(f"segment {k} lasts {format_quantity(pattern[k - 1].duration, 's')}; the "
                                  f"B2900 times in steps of 1 µs")
        if edges[-1] / 1e6 > TIME_MAX:
            raise TimingLimit(f"one repeat lasts {format_quantity(edges[-1] / 1e6, 's')}; the B2900's timers "
                              f"reach {TIME_MAX:g} s")
        try:
            return self._plan(train, durations)
        except TimingLimit as whole:
            cuts = [k for k in range(1, len(pattern) - 1) if _idle(train, k) and pattern[k].duration >= SPLIT_MIN]
            if not cuts or not np.all(train.levels == train.levels[0]):
                raise
            groups, first = [], 0
            for cut in cuts + [len(pattern)]:
                end = min(cut + 1, len(pattern))      # a piece ends with the wait that follows it
                piece = Train(pattern[first:end], 1, train.levels[:1, first:end])
                try:
                    groups.append((first, end, self._plan(piece, durations[first:end])))
                except TimingLimit:
                    raise whole from None
                first = end
            return replace(groups[0][2], groups=tuple(groups), repeats_per_run=1)

    def _plan(self, train: Train, durations: list[int]) -> SweepPlan:
        """The plan of one list sweep of ``train`` whose segments last ``durations`` (µs)."""
        pattern = train.pattern
        period = sum(durations)
        ends = [int(e) for e in np.cumsum(durations)]
        constant = bool(np.all(train.levels == train.levels[0]))
        measured = [k for k, s in enumerate(pattern) if s.measure]
        peak = pulse_segment(train)
        if peak is not None and pattern[peak].duration >= MIN_PULSE_WIDTH * (1 - 1e-9):
            readings = self._readings(pattern, ends, measured)
            return SweepPlan(True, period / 1e6, (peak,), False, False, pulse_delay=(ends[peak] - durations[peak]) / 1e6,
                             pulse_width=durations[peak] / 1e6, period=period / 1e6,
                             repeats_per_run=min(COUNT_MAX if constant else LIST_POINTS,
                                                 READINGS_MAX // max(readings["readings"], 1)), **readings)
        # a last 0 V wait is held between arm events, not stored point by point
        tail = len(pattern) > 1 and constant and _idle(train, len(pattern) - 1)
        active = durations[:-1] if tail else durations
        step, grid = self._grid(train, active)
        if tail and durations[-1] < step:
            step, grid = self._grid(train, durations)
            tail = False
        if tail:
            grid = grid + [durations[-1]]
        ends = [int(e) for e in np.cumsum(grid)]
        readings = self._readings(pattern, ends, measured)
        last_reading = ends[measured[-1]] if measured else 0
        points = tuple(k for k, d in enumerate(grid[:len(grid) - tail]) for _ in range(d // step))
        points += (len(pattern) - 1,) if tail else ()
        per_arm = constant and bool(tail or last_reading == period or train.levels[-1, -1] == 0.0)
        marker = not per_arm and last_reading != period
        if len(points) + marker > LIST_POINTS:
            raise TimingLimit(f"one repeat needs {len(points) + marker} list points of "
                              f"{format_quantity(step / 1e6, 's')}; the B2900's list holds {LIST_POINTS}")
        # the ARM layer replays the list: arm count × trigger count stays within COUNT_MAX
        repeats = COUNT_MAX // len(points) if per_arm else (LIST_POINTS - marker) // len(points)
        return SweepPlan(False, step / 1e6, points, per_arm, marker, pulse_delay=0.0, pulse_width=0.0,
                         period=period / 1e6,
                         repeats_per_run=min(repeats, READINGS_MAX // max(readings["readings"], 1)), **readings)

    @staticmethod
    def _grid(train: Train, durations: list[int]) -> tuple[int, list[int]]:
        """The list's time step (µs) and each segment's duration on it (µs). Exact when the
        durations share a step of ≥ 20 µs that the list holds; else the finest step ≥ 20 µs that
        divides every segment that is not a 0 V wait and fits the list, the waits' ends rounded to
        it (each edge within half a step of its programmed time)."""
        exact = math.gcd(*durations)
        if exact / 1e6 >= MIN_INTERVAL * (1 - 1e-9) and sum(durations) // exact < LIST_POINTS:
            return exact, list(durations)
        fixed = [d for k, d in enumerate(durations) if not _idle(train, k)]
        common = math.gcd(*fixed) if fixed else exact
        steps = [t for t in range(int(round(MIN_INTERVAL * 1e6)), common + 1) if common % t == 0]
        if not steps:
            raise TimingLimit(f"its segments share a {format_quantity(exact / 1e6, 's')} time step; the B2900's "
                              f"trigger timer needs ≥ {format_quantity(MIN_INTERVAL, 's')}")
        for step in steps:
            grid, start, programmed = [], 0, 0
            for k, d in enumerate(durations):
                programmed += d
                if _idle(train, k):
                    end = max(start + step, step * int(round(programmed / step)))
                else:
                    end = start + d
                grid.append(end - start)
                start = end
            if start // step < LIST_POINTS:
                return step, grid
        return steps[-1], grid

    @staticmethod
    def _readings(pattern, ends: list[int], measured: list[int]) -> dict[str, object]:
        """Acquire settings of one repeat: readings every ``acquire_interval`` from the first
        measured segment's end to the last (the greatest common step of their ends, µs), each
        integrating ``aperture`` up to its tick; ``kept``: the ticks that end a measured segment."""
        if not measured:
            return dict(aperture=0.0, acquire_delay=0.0, acquire_interval=sum(ends[-1:]) / 1e6, readings=0, kept=())
        read_ends = [ends[k] for k in measured]
        interval = math.gcd(*[b - a for a, b in zip(read_ends, read_ends[1:])]) if len(measured) > 1 else ends[-1]
        if len(measured) > 1 and interval / 1e6 < MIN_INTERVAL * (1 - 1e-9):
            raise TimingLimit(f"readings {format_quantity(interval / 1e6, 's')} apart; the B2900's trigger "
                              f"timer needs ≥ {format_quantity(MIN_INTERVAL, 's')}")
        shortest = min(pattern[k].duration for k in measured)
        aperture = float(np.clip(min(shortest, interval / 1e6), *APERTURE_RANGE))
        kept = tuple((e - read_ends[0]) // interval for e in read_ends)
        return dict(aperture=aperture, acquire_delay=max(0.0, read_ends[0] / 1e6 - aperture),
                    acquire_interval=interval / 1e6, readings=kept[-1] + 1, kept=kept)

    def sweep_message(self, run: Train, plan: SweepPlan, compliance: float, reset_time: bool = False) -> str:
        """The one message that sets up ``run`` on channel 1 (output off, compliance first); the
        timer keeps counting through ``INIT`` and, with ``reset_time``, restarts from 0."""
        peak = np.abs(run.levels).max()
        commands = [":OUTP1 OFF", ":SOUR1:FUNC:MODE VOLT", f":SOUR1:FUNC:SHAP {'PULS' if plan.pulsed else 'DC'}",
                    f":SOUR1:VOLT:RANG {source_range(peak):g}", f":SENS1:CURR:PROT {compliance:g}",
                    ":SOUR1:VOLT 0", ":SOUR1:WAIT OFF", ":SENS1:WAIT OFF"]
        if plan.pulsed:
            levels = run.levels[:, plan.points[0]]
            commands += [f":SOUR1:PULS:DEL {plan.pulse_delay:.9g}", f":SOUR1:PULS:WIDT {plan.pulse_width:.9g}"]
            commands += _source_levels(levels)
            commands += _layers("TRAN", "AINT", 0.0, 1, plan.step, run.repeats, 0.0)
        elif plan.per_arm:
            commands += _source_levels(run.levels[0, list(plan.points)], as_list=True)
            commands += _layers("TRAN", "TIM", plan.period, run.repeats, plan.step, len(plan.points), 0.0)
        else:
            levels = run.levels[:, list(plan.points)].ravel()
            if plan.marker:
                levels = np.append(levels, 0.0)
            commands += _source_levels(levels, as_list=True)
            commands += _layers("TRAN", "AINT", 0.0, 1, plan.step, levels.size, 0.0)
        if plan.readings:
            commands += [':SENS1:FUNC "CURR","VOLT"', f":SENS1:CURR:APER {plan.aperture:.9g}",
                         ":FORM:ELEM:SENS VOLT,CURR,TIME", BINARY_FORMAT]
            commands += _layers("ACQ", "TIM", plan.period, run.repeats, plan.acquire_interval, plan.readings,
                                0.0, arm_delay=plan.acquire_delay)
        commands.append(":SYST:TIME:TIM:COUN:RES:AUTO OFF")
        if reset_time:
            commands.append(":SYST:TIME:TIM:COUN:RES")
        return ";".join(commands)

    def tail(self, run: Train, plan: SweepPlan) -> float:
        """Time (s) from the run's last action to the end of ``run``, which a second run holds at 0 V."""
        if plan.marker:
            return 0.0
        last = (run.repeats - 1) * plan.period
        if plan.pulsed:
            busy = last + plan.pulse_delay + plan.pulse_width
        elif plan.per_arm:
            busy = last + (len(plan.points) - 1) * plan.step
        else:
            busy = run.repeats * plan.period - plan.step
        if plan.readings:
            busy = max(busy, last + plan.acquire_delay + (plan.readings - 1) * plan.acquire_interval + plan.aperture)
        return max(0.0, run.repeats * plan.period - busy)

    def wait_for_idle(self, duration: float, poll: float = 0.05) -> None:
        """Poll ``:STAT:OPER:COND?`` until channel 1's transition and acquire actions are idle;
        raise after ``duration`` s and the connection timeout."""
        deadline = time.monotonic() + duration + self.adapter.connection.timeout / 1000
        while int(self.ask(":STAT:OPER:COND?")) & CH1_IDLE != CH1_IDLE:
            if time.monotonic() > deadline:
                raise InstrumentError(self.name, f"channel 1 still running after {duration:g} s")
            time.sleep(poll)

    def _run(self, run: Train, plan: SweepPlan, compliance: float, first: bool,
             last: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One INIT of the list sweep (and its tail); return the run's (TIME, V, I). The train's
        ``first`` run resets the timer, its ``last`` puts back the source range of configure()."""
        self.write(self.sweep_message(run, plan, compliance, reset_time=first))
        self.raise_errors()             # nothing runs unless every setting was taken as sent
        self.write(f":OUTP1 ON;:INIT{'' if plan.readings else ':TRAN'} (@1)")
        self._running = (run, plan) if plan.readings else None
        self.wait_for_idle(run.repeats * plan.period)
        tail = self.tail(run, plan)
        if tail > 0.5e-6:
            self.write(tail_message(tail))
            self.wait_for_idle(tail)
        self._running = None
        closing = [":OUTP1 OFF", ":SOUR1:FUNC:SHAP DC", ":SOUR1:VOLT:MODE FIX", ":SOUR1:VOLT 0"]
        if last and self._source_range is not None:
            closing.append(f":SOUR1:VOLT:RANG {self._source_range:g}")
        self.write(";".join(closing))
        self.raise_errors()
        n = plan.readings * run.repeats
        if n == 0:
            return np.empty(0), np.empty(0), np.empty(0)
        data = self.binary_values(":FETC:ARR? (@1)")
        if data.size != 3 * n:
            raise InstrumentError(self.name, f"expected {n} readings from :FETC:ARR?, got {data.size / 3:g}")
        return self._kept(run, plan, data)

    @staticmethod
    def _kept(run: Train, plan: SweepPlan, data: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(TIME, V, I) of the readings of ``data`` (V, I, TIME per reading, the first readings of
        ``run``) that end a measured segment."""
        taken = data.size // 3
        kept = (np.arange(run.repeats)[:, None] * plan.readings + np.array(plan.kept)).ravel()
        voltage, current, stamp = data[:3 * taken].reshape(taken, 3)[kept[kept < taken]].T
        return stamp, voltage, current

    def reset(self) -> None:
        """Reset the instrument and clear its error queue."""
        self.write("*RST;*CLS")


def _idle(train: Train, k: int) -> bool:
    """Whether segment ``k`` is a wait: 0 V in every repeat, unmeasured."""
    return not train.pattern[k].measure and bool(np.all(train.levels[:, k] == 0.0))


def pulse_segment(train: Train) -> int | None:
    """The segment that is a pulse from 0 V: the only one not at 0 V in every repeat (else None)."""
    live = [k for k in range(len(train.pattern)) if np.any(train.levels[:, k] != 0.0)]
    return live[0] if len(live) == 1 and len(train.pattern) > 1 else None


def source_range(level: float) -> float:
    """Smallest B2900 voltage source range holding ``level`` (V); ranges reach 105 % of their value."""
    return smallest_range(level, VOLTAGE_RANGES, "the B2900's 210 V")


def tail_message(seconds: float) -> str:
    """A second run that holds the DC level, 0 V, for ``seconds`` (its one transient waits that long)."""
    return (":SOUR1:FUNC:SHAP DC;:SOUR1:VOLT:MODE FIX;:SOUR1:VOLT:TRIG 0;:ARM1:TRAN:SOUR AINT;:ARM1:TRAN:COUN 1;"
            f":ARM1:TRAN:DEL 0;:TRIG1:TRAN:SOUR AINT;:TRIG1:TRAN:COUN 1;:TRIG1:TRAN:DEL {seconds:.9g};"
            ":INIT:TRAN (@1)")


def _source_levels(levels: np.ndarray, as_list: bool = False) -> list[str]:
    """Fixed mode with one triggered level when every level is the same, else a list."""
    if not as_list and np.all(levels == levels[0]):
        return [":SOUR1:VOLT:MODE FIX", f":SOUR1:VOLT:TRIG {levels[0]:.6g}"]
    return [":SOUR1:VOLT:MODE LIST", ":SOUR1:LIST:VOLT " + ",".join(f"{v:.6g}" for v in levels)]


def _layers(action: str, arm_source: str, arm_timer: float, arm_count: int, timer: float, count: int,
            delay: float, arm_delay: float = 0.0) -> list[str]:
    """ARM and TRIGger settings of one device action of channel 1 (the trigger layer on its timer;
    ``arm_delay`` s once per arm event, ``delay`` s before every trigger's action)."""
    arm = [f":ARM1:{action}:SOUR {arm_source}", f":ARM1:{action}:COUN {arm_count}",
           f":ARM1:{action}:DEL {arm_delay:.9g}"]
    if arm_source == "TIM":
        arm.insert(1, f":ARM1:{action}:TIM {arm_timer:.9g}")
    return arm + [f":TRIG1:{action}:SOUR TIM", f":TRIG1:{action}:TIM {timer:.9g}",
                  f":TRIG1:{action}:COUN {count}", f":TRIG1:{action}:DEL {delay:.9g}"]
