"""Keithley 2400 SourceMeter: pymeasure's driver, plus hardware-timed pulse trains.

A 2400's only sequencer is the sweep: a custom (list) sweep sources one list value per
source-delay-measure (SDM) cycle of the trigger layer (Series 2400 SourceMeter User's Manual
2400S-900-01 Rev. K, section 10 "Custom sweep", section 11 "Triggering", section 18
":SOURce:LIST"). One sweep applies the same source delay, integration time and compliance to
every point, and measures every point, so a train is played as a staircase of equal steps:

- the step T is the longest time that divides every segment of the pattern and that one SDM
  cycle can last. With autozero off a cycle is source configuration 50 µs + source delay +
  A/D conversion NPLC/f + 185 µs + firmware overhead 300 µs (Appendix A, case III, source V),
  so T ≥ 535 µs + 0.01 PLC: 0.70 ms at 60 Hz, 0.74 ms at 50 Hz;
- segment k becomes d_k / T list points at its level, each repeat its own points (levels may
  change from repeat to repeat); a sweep holds at most 2500 points (list, counts and buffer);
- the integration is as long as the step allows (NPLC/f = T − 535 µs, within 0.01–10 PLC) and
  the source delay fills the rest, so each reading integrates the end of its point; the reading
  of the last point of each measured segment is kept, the others are discarded;
- one compliance (``:SENS:CURR:PROT``) holds for the whole list.

:meth:`Keithley2400.hardware_timing_limit` names what keeps a train from being played so (a
segment shorter than a cycle, durations with no common step, segments with different current
limits, a repeat of more than 2500 points). A sweep is one message (the list in commands of 100
values, counts, the trace buffer set to raise "buffer full" in the status byte, compliance before
anything turns on), an error check, ``:OUTP ON;:INIT``, ``*STB?`` polls until the buffer is full
(one poll on a simulated bench; on hardware one per 50 ms, so that an abort reaches
``:ABOR;:OUTP OFF`` at once), one ``:FETCh?`` and an error check, whatever the number of
pulses; a train longer than 2500 points is several such sweeps, and ``:OUTP OFF`` follows the
last, with the source range back to the one ``configure`` chose (a sweep fixes the range to its
largest level, and a software-timed level beyond that would be refused). Timestamps are reset
once per train (``:SYST:TIME:RES``), so the readings of successive sweeps share one time base;
the 2400 prints them with 7 significant digits.

Autozero is off throughout, after one ``:SYST:AZER ONCE`` in ``configure`` and in every sweep: with
it on, each reading adds a reference and a reference-zero conversion and 1.5 ms more firmware
overhead (Appendix A, case I against case III), so a software-timed 2 ms ``:READ?`` would hold
its level about 8 ms. Not confirmed from the manual: the resolution with which the 2400 applies
:SOURce:DELay (programmed here to 1 ns), and how long the reload between two sweeps of a train
takes (the source holds its 0 V bias meanwhile).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
from pymeasure.instruments.keithley.keithley2400 import Keithley2400 as _PymeasureKeithley2400
from pymeasure.instruments.validators import strict_range

from labsuite.core.errors import InstrumentError
from labsuite.core.datasheets import KEITHLEY_2400_200V_RANGE_CURRENT
from labsuite.core.instruments import RangeCurrentLimit, Registration, SourceMeterCapabilities, TrainReadings
from labsuite.core.program import Train
from labsuite.core.units import format_quantity
from labsuite.drivers.scpi_common import RANGE_HEADROOM, ErrorQueueMixin, OutputMixin, link_settings, smallest_range

VOLTAGE_RANGES = (0.2, 2.0, 20.0, 200.0)   # V, source ranges (each to 105 %)
MAX_VOLTAGE = 210.0                        # V
NPLC_MIN, NPLC_MAX = 0.01, 10.0
MAX_POINTS = 2500                          # list points, trigger count and buffer per sweep
LIST_VALUES_PER_COMMAND = 100              # values per :SOUR:LIST:VOLT or :APPend command
MAX_SOURCE_DELAY = 999.9999                # s
CYCLE_OVERHEAD = 50e-6 + 185e-6 + 300e-6   # s, SDM cycle less delay and integration (Appendix A, case III)
ELEMENTS = 5                               # VOLT,CURR,RES,TIME,STAT per reading
STB_BUFFER_FULL = 1 | 64                   # *STB?: measurement summary and master summary (section 15)
STB_ERROR = 4                              # *STB?: error available
OPERATION_IDLE = 1 << 10                   # :STAT:OPER:COND?: idle (section 15, Figure 15-5)


@dataclass(frozen=True)
class ListPlan:
    """A pattern as list points: segment k is ``points[k]`` SDM cycles of ``step`` s each."""

    step: float                  # s, one SDM cycle
    points: tuple[int, ...]      # list points per segment
    nplc: float                  # integration, power-line cycles
    source_delay: float          # s

    @property
    def per_repeat(self) -> int:
        """List points of one repeat of the pattern."""
        return sum(self.points)

    def kept(self, measured: list[bool]) -> np.ndarray:
        """Index, within a repeat, of the last point of each measured segment."""
        ends = np.cumsum(self.points) - 1
        return ends[np.array(measured, dtype=bool)]


class Keithley2400(ErrorQueueMixin, OutputMixin, _PymeasureKeithley2400):
    """Keithley 2400 on pymeasure, implementing labsuite's :class:`~labsuite.core.instruments.SourceMeter`."""

    capabilities = SourceMeterCapabilities(
        max_voltage=MAX_VOLTAGE,
        max_current_limit=1.05,
        min_current_limit=1.05e-9,                  # 0.1 % of the 1 µA range (section 18, compliance)
        min_segment=CYCLE_OVERHEAD + NPLC_MIN / 50.0,   # shortest SDM cycle, on either line frequency
        min_aperture=NPLC_MIN / 50.0,               # 0.01 PLC, on either line frequency
        max_aperture=NPLC_MAX / 60.0,               # 10 PLC, on either line frequency
        max_repeats=MAX_POINTS,                     # trigger count of one sweep
        max_pattern=MAX_POINTS,                     # a pattern needs at least a point per segment
        max_readings=MAX_POINTS,                    # trace and sample buffers
        # 22 W envelope: 105 mA on the 200 V range, which any |level| beyond the 20 V range's 21 V needs
        range_current_limits=(RangeCurrentLimit(VOLTAGE_RANGES[-1], VOLTAGE_RANGES[-2] * RANGE_HEADROOM,
                                                KEITHLEY_2400_200V_RANGE_CURRENT),),
    )
    registrations = (Registration("keithley2400", "smu", r"KEITHLEY INSTRUMENTS INC\.,MODEL 2400,", capabilities),)

    def __init__(self, adapter, name: str = "Keithley 2400 SourceMeter", **kwargs) -> None:
        super().__init__(adapter, name, **link_settings(kwargs))
        self._mains_frequency: float | None = None
        self._source_range: float | None = None   # V, the range configure() chose (None until configured)
        self._played: list[np.ndarray] = []   # kept rows of the train's sweeps so far
        self._sweeping: tuple[int, int, np.ndarray] | None = None   # (repeats, points per repeat, kept) of the
        #                                                            sweep playing, None if none plays

    # --- SourceMeter interface ----------------------------------------------------------
    def identify(self) -> str:
        """Get the *IDN? reply."""
        return self.id

    @property
    def mains_frequency(self) -> float:
        """Get the power line frequency in Hz (read once)."""
        if self._mains_frequency is None:
            self._mains_frequency = float(self.line_frequency)
        return self._mains_frequency

    def settings(self) -> dict[str, object]:
        """Get the settings stored with a run."""
        return {"idn": self.identify(), "line_frequency_Hz": self.mains_frequency,
                "current_limit_A": self.compliance_current, "nplc": self.current_nplc}

    def reset_data_format(self) -> None:
        """Send nothing: pymeasure sets the data format on connecting, before labsuite has checked
        ``*IDN?``; :meth:`configure` sets it (V, I, R, time, status) instead."""

    def configure(self, compliance: float, max_level: float) -> None:
        """Set up a voltage source of range ≥ ``max_level`` (V) under ``compliance`` (A), output off."""
        self.check_compliance(compliance, max_level)
        self._source_range = source_range(max_level)
        super().reset_data_format()
        self.write(f":OUTP OFF;:SOUR:FUNC VOLT;:SOUR:VOLT:MODE FIX;:SOUR:VOLT 0;"
                   f":SOUR:VOLT:RANG {self._source_range:g};:SENS:CURR:RANG:AUTO ON;"
                   f":SENS:CURR:PROT {compliance:g};:SENS:FUNC:CONC ON;:SENS:FUNC:OFF:ALL;:SENS:FUNC \"CURR\";"
                   f":SOUR:DEL:AUTO OFF;:SOUR:DEL 0;:SOUR:CLE:AUTO OFF;:ARM:SOUR IMM;:ARM:COUN 1;"
                   f":TRIG:SOUR IMM;:TRIG:COUN 1;:TRIG:DEL 0;:SYST:AZER ONCE;:SYST:AZER OFF")
        self.raise_errors()

    def hardware_timing_limit(self, train: Train, compliance: float | None = None) -> str | None:
        """None if the 2400's list sweep plays ``train`` faithfully, else the limit it hits.

        ``compliance`` (A) is the limit of segments without their own; without it, segments
        that set their own limit must all set the same one and no segment may leave it unset.
        """
        limits = [s.compliance if s.compliance is not None else compliance for s in train.pattern]
        other = next((k for k, limit in enumerate(limits) if limit != limits[0]), None)
        if other is not None:
            own = other if train.pattern[other].compliance is not None else 0
            segment = train.pattern[own]
            return (f"segment {own + 1} ({segment.label}) has its own current limit "
                    f"({format_quantity(segment.compliance, 'A')}); the 2400 applies one compliance to a "
                    f"whole source list")
        try:   # nothing is sent to check: until the line frequency is known, 50 Hz (the longer cycle)
            self.list_plan(train, self._mains_frequency or 50.0)
        except ValueError as exc:
            return str(exc)
        return None

    def list_plan(self, train: Train, line_frequency: float | None = None) -> ListPlan:
        """The list points that play ``train``'s pattern at ``line_frequency`` (Hz; the
        instrument's, asked once, by default); ValueError naming the limit if none do."""
        f = line_frequency or self.mains_frequency
        shortest_cycle = CYCLE_OVERHEAD + NPLC_MIN / f
        longest_cycle = CYCLE_OVERHEAD + NPLC_MAX / f + MAX_SOURCE_DELAY
        durations = [s.duration for s in train.pattern]
        for k, segment in enumerate(train.pattern):
            if segment.duration < shortest_cycle * (1 - 1e-9):
                raise ValueError(f"segment {k + 1} ({segment.label}) lasts {format_quantity(segment.duration, 's')}; "
                                 f"the 2400's source-measure cycle needs ≥ {format_quantity(shortest_cycle, 's')}")
        shortest = min(durations)
        parts = max(1, math.ceil(shortest / longest_cycle))
        while shortest / parts >= shortest_cycle * (1 - 1e-9):
            step = shortest / parts
            counts = [d / step for d in durations]
            if all(abs(c - round(c)) <= 1e-6 * round(c) for c in counts):
                break
            parts += 1
        else:
            listed = ", ".join(format_quantity(d, "s") for d in durations)
            raise ValueError(f"segment durations {listed} have no common step ≥ "
                             f"{format_quantity(shortest_cycle, 's')}: each point of a 2400 source list lasts "
                             f"one source-measure cycle")
        points = tuple(int(round(c)) for c in counts)
        if sum(points) > MAX_POINTS:
            raise ValueError(f"one repeat needs {sum(points)} source-list points of {format_quantity(step, 's')}; "
                             f"a 2400 sweep holds {MAX_POINTS}")
        aperture = min(step - CYCLE_OVERHEAD, NPLC_MAX / f)
        nplc = max(NPLC_MIN, float(f"{aperture * f:.6g}"))
        return ListPlan(step, points, nplc, max(0.0, round(step - CYCLE_OVERHEAD - nplc / f, 9)))

    def run_train(self, train: Train, compliance: float) -> TrainReadings:
        """Play ``train`` as list sweeps of ≤ 2500 points; return its readings. Afterwards the output
        is off and the source range is the one :meth:`configure` chose."""
        self._played = []
        self.mains_frequency            # read once, so that the check below uses it
        reason = self.hardware_timing_limit(train, compliance)
        if reason is not None:
            raise InstrumentError(self.name, f"cannot play this train on the source list: {reason}")
        limit = next((s.compliance for s in train.pattern if s.compliance is not None), compliance)
        self.check_compliance(limit, np.abs(train.levels).max())
        plan = self.list_plan(train)
        kept = plan.kept([s.measure for s in train.pattern])
        for index, sweep in enumerate(train.split(MAX_POINTS // plan.per_repeat)):
            self.write(self.sweep_message(sweep, plan, limit, reset_time=index == 0))
            self.raise_errors()                  # nothing runs unless the whole list was taken
            self.write(":OUTP ON;:INIT")
            self._sweeping = (sweep.repeats, plan.per_repeat, kept)
            self.wait_for_sweep(sweep.duration)
            self._sweeping = None
            n = plan.per_repeat * sweep.repeats
            data = np.array(self.values(":FETC?"), dtype=float)
            self.raise_errors()
            if data.size != ELEMENTS * n:
                raise InstrumentError(self.name, f"expected {n} readings from :FETC?, got {data.size / ELEMENTS:g}")
            self._played.append(_kept_rows(data, sweep.repeats, plan.per_repeat, kept))
        closing = [":OUTP OFF", ":SOUR:VOLT:MODE FIX", ":TRIG:COUN 1"]
        if self._source_range is not None:      # each sweep set its own range
            closing.append(f":SOUR:VOLT:RANG {self._source_range:g}")
        self.write(";".join(closing))
        return self._train_readings()

    def stop_train(self) -> TrainReadings:
        """Abort the sweep (section 18 ``:ABORt``) and return the readings the train took: its sweeps
        played so far and, if the trace buffer holds any of the stopped one's (``:TRACe:POINts:ACTual?``),
        its kept points from ``:FETCh?``, timed on the train's clock as a finished sweep's."""
        sweeping, self._sweeping = self._sweeping, None
        self.write(":ABOR")
        if sweeping is not None and int(float(self.ask(":TRAC:POIN:ACT?"))):
            self._played.append(_kept_rows(np.array(self.values(":FETC?"), dtype=float), *sweeping))
        return self._train_readings()

    def _train_readings(self) -> TrainReadings:
        """The readings of the train's sweeps played so far, timed from its first reading."""
        readings = np.concatenate([np.empty((0, ELEMENTS)), *self._played])
        voltage, current, _, stamp, _ = readings.T
        return TrainReadings(stamp - stamp[0] if stamp.size else stamp, voltage, current)

    def sweep_message(self, train: Train, plan: ListPlan, compliance: float, reset_time: bool = False) -> str:
        """The one message that loads ``train`` as a list sweep (compliance set before the list)."""
        n = plan.per_repeat * train.repeats
        if n > MAX_POINTS:
            raise ValueError(f"{n} list points: a 2400 sweep holds {MAX_POINTS}")
        # *CLS clears the buffer-full event of an earlier sweep (and the error queue: checked after)
        commands = ["*CLS", ":SOUR:FUNC VOLT", ":SOUR:VOLT:MODE FIX", ":SOUR:VOLT 0",
                    f":SOUR:VOLT:RANG {source_range(np.abs(train.levels).max()):g}", ":SENS:CURR:RANG:AUTO ON",
                    f":SENS:CURR:PROT {compliance:g}", ":SENS:FUNC:CONC ON", ":SENS:FUNC:OFF:ALL",
                    ':SENS:FUNC "CURR"', f":SENS:CURR:NPLC {plan.nplc:.6g}", ":SYST:AZER ONCE", ":SYST:AZER OFF",
                    ":SOUR:DEL:AUTO OFF", f":SOUR:DEL {plan.source_delay:.9g}", ":SOUR:CLE:AUTO OFF",
                    ":ARM:SOUR IMM", ":ARM:COUN 1", ":TRIG:SOUR IMM", ":TRIG:DEL 0", f":TRIG:COUN {n}",
                    ":FORM:ELEM VOLT,CURR,RES,TIME,STAT", ":TRAC:FEED:CONT NEV", ":TRAC:CLE", f":TRAC:POIN {n}",
                    ":TRAC:FEED SENS", ":TRAC:FEED:CONT NEXT", ":STAT:MEAS:ENAB 512", "*SRE 1"]
        if reset_time:
            commands.append(":SYST:TIME:RES")
        levels = np.repeat(train.levels, plan.points, axis=1).ravel()
        for start in range(0, n, LIST_VALUES_PER_COMMAND):
            header = ":SOUR:LIST:VOLT" if start == 0 else ":SOUR:LIST:VOLT:APP"
            chunk = levels[start:start + LIST_VALUES_PER_COMMAND]
            commands.append(f"{header} " + ",".join(f"{v:.6g}" for v in chunk))
        commands.append(":SOUR:VOLT:MODE LIST")
        return ";".join(commands)

    def wait_for_sweep(self, duration: float, poll: float = 0.05) -> None:
        """Poll ``*STB?`` until the trace buffer is full (measurement and master summary bits, as
        pymeasure's ``is_buffer_full``); raise on an error, if the instrument went idle first (an
        ``:ABOR`` from elsewhere) or after ``duration`` + the timeout."""
        deadline = time.monotonic() + duration + self.adapter.connection.timeout / 1000
        while True:
            status = int(self.ask("*STB?"))
            if status & STB_BUFFER_FULL == STB_BUFFER_FULL:
                return
            if status & STB_ERROR:             # an error stopped the sweep
                self.raise_errors()
            if int(self.ask(":STAT:OPER:COND?")) & OPERATION_IDLE:   # idle: the sweep ended since the *STB?
                if int(self.ask("*STB?")) & STB_BUFFER_FULL == STB_BUFFER_FULL:
                    return
                raise InstrumentError(self.name, "the sweep was aborted before its last reading")   # buffer not full
            if time.monotonic() > deadline:
                raise InstrumentError(self.name, f"sweep still running after {duration:g} s")
            time.sleep(poll)

    def set_level(self, volts: float) -> None:
        """Set the source level, V."""
        strict_range(volts, (-MAX_VOLTAGE, MAX_VOLTAGE))
        self.write(f":SOUR:VOLT {volts:.6g}")

    def set_compliance(self, amps: float) -> None:
        """Set the current limit, A (on the source range :meth:`configure` chose)."""
        self.check_compliance(amps, self._source_range or 0.0)
        self.write(f":SENS:CURR:PROT {amps:g}")

    def measure(self, aperture: float) -> tuple[float, float]:
        """Take one reading integrating ``aperture`` s; return (V programmed, I in A)."""
        nplc = float(np.clip(aperture * self.mains_frequency, NPLC_MIN, NPLC_MAX))
        voltage, current, *_ = self.values(f":SENS:CURR:NPLC {nplc:.6g};:READ?")
        return float(voltage), float(current)

    def shutdown(self) -> None:
        """Stop any sweep and turn the output off at once (no ramp, no sleep)."""
        self.write(":ABOR;:OUTP OFF")
        self.isShutdown = True

    # --- helpers ------------------------------------------------------------------------
    def check_compliance(self, amps: float, level: float) -> None:
        """Raise :class:`LimitError` unless ``amps`` is a current limit the 2400 can set on the source
        range that holds ``level`` (V)."""
        self.capabilities.check_compliance(amps, level, self.name)


def _kept_rows(data: np.ndarray, repeats: int, per_repeat: int, kept: np.ndarray) -> np.ndarray:
    """The rows (VOLT, CURR, RES, TIME, STAT) of ``data``, a sweep's first readings of ``repeats`` ×
    ``per_repeat`` list points, that end a measured segment (``kept``: their index within a repeat)."""
    taken = data.size // ELEMENTS
    rows = (np.arange(repeats)[:, None] * per_repeat + kept[None, :]).ravel()
    return data[:ELEMENTS * taken].reshape(taken, ELEMENTS)[rows[rows < taken]]


def source_range(level: float) -> float:
    """Smallest 2400 voltage source range holding ``level`` (V)."""
    return smallest_range(level, VOLTAGE_RANGES, "the 2400's 200 V range")
