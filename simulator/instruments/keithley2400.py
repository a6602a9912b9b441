"""Simulated Keithley 2400 SourceMeter, SCPI command set.

Follows the Series 2400 SourceMeter User's Manual (2400S-900-01 Rev. K, September 2011):
section 18 "SCPI command reference" (SOURce, SENSe, OUTPut, FORMat, TRACe, CALCulate3, ARM,
TRIGger, SYSTem, STATus subsystems and the *RST defaults of their summary tables), section 17
"SCPI signal oriented measurement commands" (:CONFigure, :FETCh?, :READ?, :MEASure?),
section 11 "Triggering" (arm and trigger layers, the 2500-reading limit on their counts),
section 10 "Sweep operation" (staircase and custom list sweeps), section 6 "Source-delay-measure
cycle", section 13 "Output-off states", section 15 "Status structure", Appendix A "SDM cycle
timing" and Appendix B "Status and error messages". What is simulated:

- ``*IDN?``, ``*RST`` defaults (V source at 0 V, compliance 105 µA, fixed source mode, auto
  source delay, auto output-off disabled, output off in the NORMal off state, current measured
  at 1 PLC with autozero on, trigger and arm counts 1, all five data elements), ``*OPC?``,
  ``*ESR?``/``*ESE``, ``*STB?``/``*SRE``, ``*CLS``; the error queue in the 2400's format
  (``-113,"Undefined header"``; empty: ``+0,"No error"``) setting the standard event bits;
- the V source: level (±210 V), ranges 200 mV to 200 V (each to 105 %), compliance
  ``:SENS:CURR:PROT`` (±1.05 A, never below 0.1 % of the measurement range: +822) with
  ``:TRIPped?``, the compliance bit of the reading status word and the measurement event
  "source in compliance"; the output-off states (HIMPedance opens the output, NORMal holds 0 V
  under 0.5 % of the present current range, ZERO holds 0 V under the compliance);
- source-delay-measure cycles in virtual time, fixed, custom list (``:SOUR:VOLT:MODE LIST``,
  100 values per ``:SOUR:LIST:VOLT`` or ``:APPend`` command, 2500 in all) and staircase sweeps
  (``:SOUR:VOLT:MODE SWE``), run by ``:INIT``/``:READ?`` through the arm and trigger layers
  (arm count × trigger count ≤ 2500; IMMediate, TIMer and BUS arm events, immediate triggers);
- the sample buffer (``:FETCh?``), the 2500-reading ``:TRACe`` buffer with its buffer-full
  measurement event, ``:CALCulate3`` buffer statistics, timestamps;
- the 200 V range's 105 mA current limit (data sheet); the averaging filter (``:SENS:AVER``,
  ``:COUN``, ``:TCON``: REPeat makes COUNt A/D conversions per reading, MOVing averages the last
  COUNt; status word bit 1) and ``:DISP:ENAB``.

SDM cycle timing (Appendix A, cases I and III, source V; the manual gives them for trigger-link
triggers and list/staircase sweeps)::

    trigger delay → source configuration 50 µs → source delay (auto delay adds 1 ms) →
    A/D signal phase NPLC/f + 185 µs (the reading integrates the current over NPLC/f) →
    autozero on only: reference and reference-zero phases, NPLC/f + 185 µs each →
    firmware overhead 300 µs (autozero off) or 1.8 ms (autozero on)

so with autozero off a cycle lasts source delay + NPLC/f + 535 µs, at least 0.70 ms (60 Hz) or
0.74 ms (50 Hz). A list or staircase sweep sources a new value in every cycle; a fixed-mode
cycle whose source did not change since the previous one skips source configuration and delay
(Appendix A, cases V and VI). Figures the simulator uses that the manual does not state: no
trigger latency for immediate triggers (Appendix A gives 225 µs max for trigger-link events);
an auto delay of 1 ms on every range (figure 6-1; table 3-4's per-range values were not
available); ``:SYST:AZER ONCE`` takes the two reference phases and leaves autozero off; the
codes of refusals the manual lists no code for (-221 for counts over 2500 and for a fixed range
below the present level, -222 for a level beyond a fixed range, -223 for over-long lists, -230
for :FETCh? without readings, +800 for :TRAC:CLE while storing); a list sweep with more
triggers than values starts the list over; a 10-entry error queue; ``:TRAC:POIN`` 100 and
``:SOUR:VOLT:RANG`` 20 V after *RST. The current source (``:SOUR:FUNC CURR``, fixed level
``:SOUR:CURR``, under the voltage compliance ``:SENS:VOLT:PROT``) is a voltage source at the
compliance voltage held to the level by its current limit, so the device takes the level at the
voltage it needs; its timing is taken as the voltage source's. Current sweeps, resistance
measurement and source-memory sweeps are refused with -221 (Appendix A gives no timing for
these). ``:*RST`` (a colon before a common command, as QCoDeS sends it) is taken as ``*RST``.
"""
from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from labsuite.core.datasheets import KEITHLEY_2400_200V_RANGE_CURRENT
from labsuite.simulator.circuit import SegmentResult, SourcePort
from labsuite.simulator.instruments.scpi import (ERROR_MESSAGES, ScpiError, Setting, bounded, choice, command,
                                                 on_off, parse_bool, parse_int, parse_number, unquote)
from labsuite.simulator.instruments.source_meter import SimulatedSourceMeter, TraceBuffer, moving_average
from labsuite.simulator.run_control import Interrupted

VOLTAGE_RANGES = (0.21, 2.1, 21.0, 210.0)                          # V, 200 mV to 200 V ranges at 105 %
MAX_VOLTAGE = 210.0                                                # V
CURRENT_RANGES = (1.05e-6, 1.05e-5, 1.05e-4, 1.05e-3, 1.05e-2, 0.105, 1.05)   # A, 1 µA to 1 A at 105 %
MAX_CURRENT = 1.05                                                 # A
HIGH_VOLTAGE_CURRENT = KEITHLEY_2400_200V_RANGE_CURRENT   # A on the 200 V range (data sheet: 22 W envelope)
DEFAULT_COMPLIANCE = 105e-6                                        # A
MIN_COMPLIANCE_FRACTION = 1e-3     # compliance ≥ 0.1 % of the present measurement range (section 18)
OFF_STATE_LIMIT_FRACTION = 5e-3    # NORMal output-off: compliance 0.5 % of the present current range
NPLC_RANGE = (0.01, 10.0)
MAX_DELAY = 999.9999                                               # s, source and trigger delay
MAX_READINGS = 2500                # arm count × trigger count, buffer and list size (section 11)
LIST_VALUES_PER_COMMAND = 100
MAX_SWEEP_POINTS = 2500
LINE_FREQUENCY = 60.0                                              # Hz at power-on

SOURCE_CONFIGURATION = 50e-6       # s, Appendix A: source configuration, 50 µs max
AD_OVERHEAD = 185e-6               # s, Appendix A: each A/D conversion is NPLC/f + 185 µs
FIRMWARE_OVERHEAD = 300e-6         # s, Appendix A case III (autozero off), source V
FIRMWARE_OVERHEAD_AUTOZERO = 1.8e-3   # s, Appendix A case I (autozero on), source V
AUTO_DELAY = 1e-3                  # s, figure 6-1

NOT_A_NUMBER = 9.91e37             # element not measured nor sourced (:FORMat:ELEMents)
OVERFLOW = 9.9e37                  # reading beyond a fixed range

# reading status word (section 18, :FORMat:ELEMents STATus)
STATUS_OVERFLOW, STATUS_FRONT, STATUS_COMPLIANCE = 1 << 0, 1 << 2, 1 << 3
STATUS_V_MEAS, STATUS_I_MEAS, STATUS_V_SOURCE, STATUS_REMOTE_SENSE = 1 << 11, 1 << 12, 1 << 14, 1 << 22
STATUS_I_SOURCE = 1 << 15
STATUS_FILTER = 1 << 1                                             # the averaging filter is on
AVERAGE_COUNT_RANGE = (1, 100)     # :SENSe:AVERage:COUNt (section 18 SENSe; pymeasure's range too)
# measurement event register (section 15)
EVENT_READING_AVAILABLE, EVENT_BUFFER_FULL, EVENT_COMPLIANCE = 1 << 6, 1 << 9, 1 << 14
OPERATION_SWEEPING, OPERATION_ARM, OPERATION_IDLE = 1 << 3, 1 << 6, 1 << 10   # section 15, Figure 15-5

MESSAGES = {**ERROR_MESSAGES, -223: "Too much data", -230: "Data corrupt or stale",
            800: "Illegal with storage active", 803: "Not permitted with OUTPUT off",
            822: "Too small for sense range"}

ELEMENT_NAMES = {"VOLT": "VOLT", "VOLTAGE": "VOLT", "CURR": "CURR", "CURRENT": "CURR", "RES": "RES",
                 "RESISTANCE": "RES", "TIME": "TIME", "STAT": "STAT", "STATUS": "STAT"}
FUNCTION_NAMES = {"VOLT": "VOLT", "VOLTAGE": "VOLT", "VOLT:DC": "VOLT", "VOLTAGE:DC": "VOLT",
                  "CURR": "CURR", "CURRENT": "CURR", "CURR:DC": "CURR", "CURRENT:DC": "CURR",
                  "RES": "RES", "RESISTANCE": "RES"}


def error(code: int) -> ScpiError:
    """The 2400's error ``code`` with its Appendix B message."""
    return ScpiError(code, MESSAGES[code])


def not_simulated(what: str) -> ScpiError:
    """A setting the real instrument accepts but this simulator does not model."""
    return ScpiError(-221, f"Settings conflict; {what} not simulated")


def nr3(value: float) -> str:
    """A number as the 2400 answers it (``+1.000000E-04``)."""
    return f"{value:+.6E}"


def smallest_range(value: float, ranges: tuple[float, ...]) -> float:
    """The lowest range that holds ``|value|`` (ranges are full scale, 105 % included)."""
    return next((r for r in ranges if abs(value) <= r * (1 + 1e-12)), ranges[-1])


def source_range(level: float, ranges: tuple[float, ...], autorange: bool, present: float) -> float:
    """The source range a ``level`` takes: with ``autorange`` the lowest of ``ranges`` that holds
    it; else the ``present`` range, which must hold it (-222)."""
    if autorange:
        return smallest_range(level, ranges)
    if abs(level) > present * (1 + 1e-12):
        raise ScpiError(-222)
    return present


def whole(minimum: int, maximum: int, default: int) -> Callable[[str], int]:
    """Parser of a whole-number parameter in [minimum, maximum] (a fraction is cut off; MIN, MAX,
    DEF too); outside, -222."""
    def parse(value: str) -> int:
        number = int(parse_number(value, minimum=minimum, maximum=maximum, default=default))
        if not minimum <= number <= maximum:
            raise ScpiError(-222)
        return number
    return parse


def line_frequency(value: str) -> float:
    """The power line frequency parameter, Hz: 50 or 60 (DEF 60); another, -222."""
    hz = parse_number(value, minimum=50.0, maximum=60.0, default=60.0)
    if hz not in (50.0, 60.0):
        raise ScpiError(-222)
    return hz


def chosen_range(value: str, ranges: tuple[float, ...], present: float, maximum: float, default: float) -> float:
    """A range parameter: UP or DOWN steps from the ``present`` range (staying at the ends); a
    number selects the lowest of ``ranges`` holding it (MIN, MAX, DEF too; beyond ±``maximum``, -222)."""
    token = value.strip().upper()
    if token in ("UP", "DOWN"):
        i = ranges.index(present) + (1 if token == "UP" else -1)
        return ranges[min(max(i, 0), len(ranges) - 1)]
    return smallest_range(bounded(-maximum, maximum, default)(value), ranges)


def holding(source_range: float, level: float) -> float:
    """A source range set by hand, which must hold the present ``level`` (-221)."""
    if abs(level) > source_range * (1 + 1e-12):
        raise ScpiError(-221)
    return source_range


@dataclass
class Reading:
    voltage: float      # V, measured or programmed source value
    current: float      # A, or NOT_A_NUMBER
    time: float         # s on the bench clock, end of the signal integration
    status: int         # status word


class Keithley2400(SimulatedSourceMeter):
    """A 2400 whose output drives the device through ``port`` on the bench clock."""

    simulates = {"keithley2400": None}   # registry name (labsuite.registry) → model

    idn = "KEITHLEY INSTRUMENTS INC.,MODEL 2400,1248014,C30   Mar 17 2006 09:29:29/A02  /K/J"
    error_queue_size = 10

    def __init__(self, port: SourcePort) -> None:
        super().__init__(port)
        self.power_on()

    # --- state --------------------------------------------------------------------------
    def power_on(self) -> None:
        """Power-on state: *RST settings, status registers cleared, timestamp at zero."""
        self.line_frequency = LINE_FREQUENCY
        self.power_on_status()
        self.measurement_event = self.measurement_enable = 0
        self.time_zero = self.clock.now()
        self.display = True
        self.reset()

    def reset(self) -> None:
        """The *RST state (status registers and the error queue are kept, as IEEE 488.2 says)."""
        self.reset_settings()
        self.function = "VOLT"
        self.level = 0.0                 # V, programmed (bias) level
        self.applied = 0.0               # V, level the source puts out while on
        self.source_range, self.source_autorange = 21.0, True
        self.compliance = DEFAULT_COMPLIANCE
        self.voltage_compliance = 21.0
        self.current_level = 0.0         # A, the current source's level
        self.current_source_range, self.current_source_autorange = 1.05e-4, True   # *RST range not confirmed
        self.source_delay = 0.0
        self.output = False
        self.list_values: list[float] = []
        self.list_start = 1
        self.sweep_points = 2500
        self.functions, self.concurrent = {"CURR"}, True
        self.nplc = 1.0
        # :SENSe:AVERage (section 18 SENSe: OFF, count 10; the *RST filter type REPeat is not confirmed)
        self.average, self.average_count, self.average_type = False, 10, "REP"
        self.average_stack: deque[float] = deque()
        self.current_range = 1.05e-4
        self.voltage_range = 21.0
        self.autozero = True
        self.arm_count = 1
        self.trigger_count = 1
        self.armed = False
        self.sweeping = False   # a paced sweep plays in the background
        self.elements = ("VOLT", "CURR", "RES", "TIME", "STAT")
        self.trace, self.trace_feed = TraceBuffer(100), "SENS"
        self.samples: list[Reading] = []
        self.tripped = False
        self.source_changed = True

    def format_error(self, code: int, message: str) -> str:
        """Codes signed (Appendix B Table B-1 ``+000 No error``; a real 2400, firmware C34, answers
        ``+0,"No error"``: nominal-io/instro issue #84, PR #135)."""
        return f'{code:+d},"{message}"'

    # --- the output on the device ---------------------------------------------------------
    def present_current_range(self) -> float:
        """A: the fixed measurement range, or with autorange the compliance range."""
        return self.current_range if not self.current_autorange else smallest_range(self.compliance, CURRENT_RANGES)

    def output_current_limit(self) -> float:
        """A: the compliance, at most 105 mA while the V source is on its 200 V range (the
        compliance setting itself is kept and answered as set)."""
        source_range = smallest_range(self.applied, VOLTAGE_RANGES) if self.source_autorange else self.source_range
        return min(self.compliance, HIGH_VOLTAGE_CURRENT) if source_range == VOLTAGE_RANGES[-1] else self.compliance

    def _terminal(self) -> tuple[float | None, float]:
        """The port's drive for the present output state (section 13, output-off states): (V, None
        while the relay is open; A limit). The current source is a voltage source at the voltage
        compliance (of the level's sign) held to the level by its current limit: the device takes the
        level at the voltage it needs, or the compliance voltage when it needs more."""
        if self.output and self.function == "CURR":
            level = self.current_level
            return (math.copysign(self.voltage_compliance, level), abs(level)) if level else (0.0, math.inf)
        if self.output:
            return self.applied, self.output_current_limit()
        if self.off_state == "NORM":
            return 0.0, OFF_STATE_LIMIT_FRACTION * self.present_current_range()
        if self.off_state == "ZERO":
            return 0.0, self.compliance
        return None, math.inf   # HIMPedance: relay open; GUARd: a 0 A current source

    def _drive(self) -> None:
        """Put the present output state on the port."""
        self.port.drive(*self._terminal())

    def _hold(self, duration: float) -> SegmentResult | None:
        """Keep the output as it is for ``duration`` s of bench time."""
        if duration <= 0:
            return None
        self._drive()
        result = self.port.hold(duration)
        if self.output:
            self.tripped = self._limited(result.in_compliance)
        return result

    def _limited(self, in_compliance: bool) -> bool:
        """In compliance: the current limit reached (V source), or the voltage compliance (I
        source: the device did not take the level)."""
        if self.function == "CURR":
            return bool(self.current_level) and not in_compliance
        return in_compliance

    def _set_output(self, on: bool) -> None:
        if on and self.function == "CURR" and self.mode != "FIX":
            raise not_simulated("current sweep")
        if on and not self.output:
            self.tripped = False
            self.source_changed = True
        self.output = on

    def aperture(self) -> float:
        """Integration time of one A/D conversion, s."""
        return self.nplc / self.line_frequency

    def sdm_cycle(self, level: float | None, hold: Callable[[float, int | None], None]) -> None:
        """One source-delay-measure cycle (section 6, Appendix A), held through ``hold(s, conversions
        of the current read at its end, None: no reading)``; ``level`` None in fixed mode."""
        if level is not None:
            self.applied, self.source_changed = level, True
        if self.source_changed:
            hold(SOURCE_CONFIGURATION + self.source_delay + (AUTO_DELAY if self.auto_delay else 0.0), None)
            self.source_changed = False
        hold(self.aperture() * self.conversions(), self.conversions() if "CURR" in self.functions else 0)
        after = AD_OVERHEAD
        if self.autozero:
            after += 2 * (self.aperture() + AD_OVERHEAD) + FIRMWARE_OVERHEAD_AUTOZERO
        else:
            after += FIRMWARE_OVERHEAD
        hold(after, None)

    def conversions(self) -> int:
        """A/D conversions per reading: the count of a repeating averaging filter, else 1."""
        return self.average_count if self.average and self.average_type == "REP" else 1

    def _filtered(self, current: float) -> float:
        """A moving filter's average with ``current`` in its stack (the first conversion fills it)."""
        if not (self.average and self.average_type == "MOV"):
            return current
        return moving_average(self.average_stack, self.average_count, current)

    def _reading(self, in_compliance: bool, source_voltage: float, noisy: float, time: float) -> Reading:
        """The reading of a measure segment that ended at ``time`` (s), with ``noisy`` (A) the mean of
        its noisy conversions."""
        sourcing_current = self.function == "CURR"
        status = (STATUS_I_SOURCE if sourcing_current else STATUS_V_SOURCE) | \
            (STATUS_FRONT if self.terminals == "FRON" else 0) | (STATUS_REMOTE_SENSE if self.remote_sense else 0) | \
            (STATUS_FILTER if self.average else 0)
        current = self.current_level if sourcing_current else NOT_A_NUMBER   # the sourced value, or NaN
        if "CURR" in self.functions:
            status |= STATUS_I_MEAS
            current = self._filtered(noisy)
            if in_compliance and self.output and not sourcing_current:
                limit = self.output_current_limit()
                current = float(np.clip(current, -limit, limit))
            if not self.current_autorange and abs(current) > self.current_range:
                current, status = OVERFLOW, status | STATUS_OVERFLOW
        voltage = NOT_A_NUMBER if sourcing_current else self.applied
        if "VOLT" in self.functions:
            status |= STATUS_V_MEAS
            voltage = source_voltage
        self.measurement_event |= EVENT_READING_AVAILABLE
        if self._limited(in_compliance) and self.output:
            status |= STATUS_COMPLIANCE
            self.measurement_event |= EVENT_COMPLIANCE
        return Reading(voltage, current, time, status)

    # --- trigger model ------------------------------------------------------------------
    def source_points(self) -> list[float] | None:
        """Values a sweep steps through, in order; None in fixed mode (section 10)."""
        if self.mode == "LIST":
            if not self.list_values:
                raise ScpiError(-221, ERROR_MESSAGES[-221])
            return self.list_values[self.list_start - 1:] + self.list_values[:self.list_start - 1]
        if self.mode == "SWE":
            if self.sweep_spacing == "LOG":
                if self.sweep_start * self.sweep_stop <= 0:
                    raise ScpiError(-221, ERROR_MESSAGES[-221])
                values = np.geomspace(self.sweep_start, self.sweep_stop, self.sweep_points)
            else:
                values = np.linspace(self.sweep_start, self.sweep_stop, self.sweep_points)
            return list(values[::-1] if self.sweep_direction == "DOWN" else values)
        return None

    def initiate(self) -> None:
        """Leave idle (section 11): wait in the arm layer for a BUS trigger, or run at once."""
        if not self.output and not self.auto_off:
            raise error(803)
        if self.function == "CURR" and self.mode != "FIX":
            raise not_simulated("current sweep")
        if self.trigger_source != "IMM":
            raise not_simulated("trigger-link triggering")
        if self.arm_source not in ("IMM", "TIM", "BUS"):
            raise not_simulated(f"arm event {self.arm_source}")
        if self.arm_source == "BUS":
            self.armed = True
            return
        self.sweeping = True
        self.play(self._play_sweep)

    def _play_sweep(self) -> None:
        """The trigger model of an initiation; stopped by :ABOR, source auto-off turns the output
        off as at the sweep's end (section 11, ``:ABORt``)."""
        try:
            self.run_trigger_model()
        except Interrupted:
            if self.auto_off:
                self._set_output(False)
            raise
        finally:
            self.sweeping = False

    def run_trigger_model(self) -> None:
        """Arm count × trigger count SDM cycles, in virtual time; back to idle afterwards.

        Nothing in them depends on a reading, so the cycles are walked first into a segment table
        (the drive, length and conversions of every hold), the device evolves over the whole table in
        one call (:meth:`SourcePort.hold_train`), and the readings are then taken in order. On a paced
        station the device evolves hold by hold as the wall clock passes, each reading taken as it is."""
        self.armed = False
        points = self.source_points()
        self.samples = []
        table: list[tuple[float | None, float, float, int]] = []   # per hold: V or None, A limit, s, conversions
        steps: list[tuple] = []   # in order: (row, output, level, conversions or None) of a hold; () output on
        now, tripped = self.clock.now(), self.tripped

        def play() -> None:
            """Evolve the device over the holds walked so far, then take their readings in order."""
            nonlocal tripped
            output, applied, self.tripped = self.output, self.applied, tripped
            if table:
                seen = self.port.hold_train(*zip(*table), check=self.run_control.check)
                limited, source_voltage = seen.in_compliance.tolist(), seen.source_voltage.tolist()
                noisy, time = seen.reading.tolist(), seen.time.tolist()
            for step in steps:
                if not step:
                    self.tripped = False
                    continue
                row, self.output, self.applied, conversions = step
                if self.output:
                    self.tripped = self._limited(limited[row])
                if conversions is not None:
                    reading = self._reading(limited[row], source_voltage[row], noisy[row], time[row])
                    self.samples.append(reading)
                    self._store(reading)
            tripped = self.tripped
            self.output, self.applied = output, applied
            table.clear()
            steps.clear()

        def hold(duration: float, conversions: int | None) -> None:
            nonlocal now
            if duration > 0:
                steps.append((len(table), self.output, self.applied, conversions))
                table.append((*self._terminal(), duration, conversions or 0))
                now += duration
                if self.port.node.pacer is not None:   # paced: each reading as it is taken
                    play()

        def switch(on: bool) -> None:
            if on and not self.output:
                steps.append(())
            self._set_output(on)

        index = 0
        next_arm = now
        for arm in range(self.arm_count):
            if self.arm_source == "TIM" and arm:
                next_arm += self.arm_timer
                hold(next_arm - now, None)
            for _ in range(self.trigger_count):
                hold(self.trigger_delay, None)
                level = None
                if points is not None:
                    level, index = points[index % len(points)], index + 1
                if self.auto_off:
                    switch(True)
                self.sdm_cycle(level, hold)
                if self.auto_off and self.auto_off_mode == "ALW":
                    switch(False)
        if self.auto_off:
            switch(False)
        play()
        if points is not None:   # a sweep ends back at the bias level
            self.applied, self.source_changed = self.level, True

    def _store(self, reading: Reading) -> None:
        if self.trace.feed(reading):
            self.measurement_event |= EVENT_BUFFER_FULL

    def _format(self, readings: list[Reading], timestamp_zero: str = "power-on") -> str:
        fields = []
        previous = readings[0].time if readings else 0.0
        for r in readings:
            for element in self.elements:
                if element == "VOLT":
                    fields.append(f"{r.voltage:+.6E}")
                elif element == "CURR":
                    fields.append(f"{r.current:+.6E}")
                elif element == "RES":
                    fields.append(f"{NOT_A_NUMBER:+.6E}")
                elif element == "TIME":
                    if timestamp_zero == "power-on":
                        t = r.time - self.time_zero
                    elif self.timestamp_format == "ABS":
                        t = r.time - self.trace.readings[0].time
                    else:
                        t, previous = r.time - previous, r.time
                    fields.append(f"{t:+.6E}")
                else:
                    fields.append(f"{r.status:+.6E}")
        return ",".join(fields)

    # --- IEEE 488.2 status -----------------------------------------------------------------
    def clear_status(self) -> None:
        super().clear_status()
        self.measurement_event = 0

    def status_summary(self) -> int:
        """Status byte bit 0, MSB: an enabled measurement event (section 15)."""
        return 1 if self.measurement_event & self.measurement_enable else 0

    @command("*TRG")
    def _bus_trigger(self) -> None:
        if self.armed:
            self.sweeping = True
            self.play(self._play_sweep)

    @command(":STATus:OPERation:CONDition?")
    def _operation_condition(self) -> str:
        """Swp (bit 3) while a paced sweep plays, Arm (bit 6) while armed for a BUS trigger, else
        Idle (bit 10): section 15, Figure 15-5 "Operation event status"."""
        return str(OPERATION_SWEEPING if self.sweeping else OPERATION_ARM if self.armed else OPERATION_IDLE)

    # --- status subsystem ---------------------------------------------------------------
    @command(":STATus:MEASurement[:EVENt]?")
    def _measurement_event(self) -> str:
        value, self.measurement_event = self.measurement_event, 0
        return str(value)

    _measurement_enable = Setting(":STATus:MEASurement:ENABle", "measurement_enable",
                                  lambda value: parse_int(value, 0, 0xFFFF))

    @command(":STATus:MEASurement:CONDition?")
    def _measurement_condition(self) -> str:
        full = len(self.trace.readings) >= self.trace.capacity
        return str((EVENT_COMPLIANCE if self.tripped else 0) | (EVENT_BUFFER_FULL if full else 0))

    @command(":STATus:PRESet")
    def _status_preset(self) -> None:
        self.measurement_enable = 0

    @command(":STATus:QUEue[:NEXT]?")
    @command(":SYSTem:ERRor[:NEXT]?")
    def _error_next(self) -> str:
        return self.errors.pop()

    @command(":SYSTem:ERRor:ALL?")
    def _error_all(self) -> str:
        entries = [self.errors.pop() for _ in range(len(self.errors))]
        return ",".join(entries) if entries else self.errors.pop()

    # --- system -------------------------------------------------------------------------
    @command(":SYSTem:CLEar")
    def _system_clear(self) -> None:
        self.errors.clear()

    @command(":SYSTem:PRESet")
    def _system_preset(self) -> None:
        self.reset()

    _line_frequency = Setting(":SYSTem:LFRequency", "line_frequency", line_frequency, "{:g}".format)

    @command(":SYSTem:AZERo[:STATe]")
    def _set_autozero(self, value: str) -> None:
        if value.strip().upper() == "ONCE":
            if self.output:
                self._hold(2 * (self.aperture() + AD_OVERHEAD))   # reference and reference-zero phases
            self.autozero = False
        else:
            self.autozero = parse_bool(value)

    @command(":SYSTem:AZERo[:STATe]?")
    def _autozero_query(self) -> str:
        return "1" if self.autozero else "0"

    @command(":SYSTem:TIME:RESet")
    def _time_reset(self) -> None:
        self.time_zero = self.clock.now()

    @command(":SYSTem:TIME?")
    def _time_query(self) -> str:
        return f"{self.clock.now() - self.time_zero:+.6E}"

    _remote_sense = Setting(":SYSTem:RSENse", "remote_sense", parse_bool, on_off, default=False)

    _terminals = Setting(":ROUTe:TERMinals", "terminals", choice("FRONt", "REAR"), default="FRON")

    # --- source -------------------------------------------------------------------------
    @command("[:SOURce[1]]:FUNCtion[:MODE]")
    def _set_function(self, value: str) -> None:
        token = value.strip().upper()
        if token in ("VOLT", "VOLTAGE"):
            self.function = "VOLT"
        elif token in ("CURR", "CURRENT"):
            if self.output and self.mode != "FIX":
                raise not_simulated("current sweep")
            self.function = "CURR"
        elif token in ("MEM", "MEMORY"):
            raise not_simulated("source memory sweep")
        else:
            raise ScpiError(-224)

    @command("[:SOURce[1]]:FUNCtion[:MODE]?")
    def _function_query(self) -> str:
        return self.function

    @command("[:SOURce[1]]:VOLTage[:LEVel][:IMMediate][:AMPLitude]")
    def _set_level(self, value: str) -> None:
        level = bounded(-MAX_VOLTAGE, MAX_VOLTAGE, 0.0)(value)
        self.source_range = source_range(level, VOLTAGE_RANGES, self.source_autorange, self.source_range)
        self.level = level
        if self.applied != level:
            self.applied, self.source_changed = level, True

    @command("[:SOURce[1]]:VOLTage[:LEVel][:IMMediate][:AMPLitude]?")
    def _level_query(self, which: str | None = None) -> str:
        return limit_query(which, self.level, -MAX_VOLTAGE, MAX_VOLTAGE, 0.0)

    @command("[:SOURce[1]]:CURRent[:LEVel][:IMMediate][:AMPLitude]")
    def _set_current_level(self, value: str) -> None:
        """§18 SOURce ``:CURRent[:LEVel][:IMMediate][:AMPLitude]``: the current source's level."""
        level = bounded(-MAX_CURRENT, MAX_CURRENT, 0.0)(value)
        self.current_source_range = source_range(level, CURRENT_RANGES, self.current_source_autorange,
                                                 self.current_source_range)
        if level != self.current_level:
            self.current_level, self.source_changed = level, True

    @command("[:SOURce[1]]:CURRent[:LEVel][:IMMediate][:AMPLitude]?")
    def _current_level_query(self, which: str | None = None) -> str:
        return limit_query(which, self.current_level, -MAX_CURRENT, MAX_CURRENT, 0.0)

    # A source range set by hand must hold the present level and stops autoranging; autoranging
    # turned on takes the range the level needs at once.
    _current_source_range = Setting("[:SOURce[1]]:CURRent:RANGe", "current_source_range",
                                    lambda value: smallest_range(bounded(-MAX_CURRENT, MAX_CURRENT, 1.05e-4)(value),
                                                                 CURRENT_RANGES),
                                    nr3, apply="_fix_current_source_range")

    def _fix_current_source_range(self, current_source_range: float) -> None:
        self.current_source_range = holding(current_source_range, self.current_level)
        self.current_source_autorange = False

    _current_source_autorange = Setting("[:SOURce[1]]:CURRent:RANGe:AUTO", "current_source_autorange", parse_bool,
                                        on_off, apply="_autorange_current_source")

    def _autorange_current_source(self, current_source_autorange: bool) -> None:
        self.current_source_autorange = current_source_autorange
        if current_source_autorange:
            self.current_source_range = smallest_range(self.current_level, CURRENT_RANGES)

    @command("[:SOURce[1]]:VOLTage:RANGe")
    def _set_source_range(self, value: str) -> None:
        r = chosen_range(value, VOLTAGE_RANGES, self.source_range, MAX_VOLTAGE, 21.0)
        self.source_range, self.source_autorange = holding(r, self.level), False

    @command("[:SOURce[1]]:VOLTage:RANGe?")
    def _source_range_query(self) -> str:
        return nr3(self.source_range)

    _source_autorange = Setting("[:SOURce[1]]:VOLTage:RANGe:AUTO", "source_autorange", parse_bool, on_off,
                                apply="_autorange_voltage_source")

    def _autorange_voltage_source(self, source_autorange: bool) -> None:
        self.source_autorange = source_autorange
        if source_autorange:
            self.source_range = smallest_range(self.level, VOLTAGE_RANGES)

    _mode = Setting("[:SOURce[1]]:VOLTage:MODE", "mode", choice("FIXed", "LIST", "SWEep"), default="FIX")

    @command("[:SOURce[1]]:DELay")
    def _set_delay(self, value: str) -> None:
        seconds = parse_number(value, minimum=0.0, maximum=MAX_DELAY, default=0.0)
        if not 0 <= seconds <= MAX_DELAY:
            raise ScpiError(-222)
        self.source_delay, self.auto_delay = seconds, False

    @command("[:SOURce[1]]:DELay?")
    def _delay_query(self, which: str | None = None) -> str:
        return limit_query(which, self.source_delay, 0.0, MAX_DELAY, 0.0)

    _auto_delay = Setting("[:SOURce[1]]:DELay:AUTO", "auto_delay", parse_bool, on_off, default=True)

    @command("[:SOURce[1]]:CLEar[:IMMediate]")
    def _source_clear(self) -> None:
        self._set_output(False)

    _auto_off = Setting("[:SOURce[1]]:CLEar:AUTO", "auto_off", parse_bool, on_off, default=False)

    _auto_off_mode = Setting("[:SOURce[1]]:CLEar:AUTO:MODE", "auto_off_mode", choice("ALWays", "TCOunt"),
                             default="ALW")

    # --- custom (list) sweep ------------------------------------------------------------
    def _list_values(self, values: tuple[str, ...]) -> list[float]:
        if not values:
            raise ScpiError(-109)
        if len(values) > LIST_VALUES_PER_COMMAND:
            raise error(-223)
        levels = [parse_number(v, minimum=-MAX_VOLTAGE, maximum=MAX_VOLTAGE, default=0.0) for v in values]
        if any(abs(v) > MAX_VOLTAGE for v in levels):
            raise ScpiError(-222)
        return levels

    @command("[:SOURce[1]]:LIST:VOLTage")
    def _set_list(self, *values: str) -> None:
        self.list_values = self._list_values(values)
        self.list_start = 1

    @command("[:SOURce[1]]:LIST:VOLTage:APPend")
    def _append_list(self, *values: str) -> None:
        levels = self._list_values(values)
        if len(self.list_values) + len(levels) > MAX_READINGS:
            raise error(-223)
        self.list_values += levels

    @command("[:SOURce[1]]:LIST:VOLTage?")
    def _list_query(self) -> str:
        return ",".join(f"{v:+.6E}" for v in self.list_values)

    @command("[:SOURce[1]]:LIST:VOLTage:POINts?")
    def _list_points(self) -> str:
        return str(len(self.list_values))

    @command("[:SOURce[1]]:LIST:VOLTage:STARt")
    def _set_list_start(self, value: str) -> None:
        self.list_start = whole(1, max(len(self.list_values), 1), 1)(value)

    @command("[:SOURce[1]]:LIST:VOLTage:STARt?")
    def _list_start_query(self) -> str:
        return str(self.list_start)

    # --- staircase sweep ----------------------------------------------------------------
    _sweep_start = Setting("[:SOURce[1]]:VOLTage:STARt", "sweep_start", bounded(-MAX_VOLTAGE, MAX_VOLTAGE, 0.0), nr3,
                           default=0.0)

    _sweep_stop = Setting("[:SOURce[1]]:VOLTage:STOP", "sweep_stop", bounded(-MAX_VOLTAGE, MAX_VOLTAGE, 0.0), nr3,
                          default=0.0)

    @command("[:SOURce[1]]:VOLTage:STEP")
    def _set_sweep_step(self, value: str) -> None:
        step = abs(parse_number(value))
        span = abs(self.sweep_stop - self.sweep_start)
        if step == 0 or step > span:
            raise ScpiError(-221)
        points = int(round(span / step)) + 1
        if points > MAX_SWEEP_POINTS:
            raise ScpiError(-222)
        self.sweep_points = points

    @command("[:SOURce[1]]:VOLTage:STEP?")
    def _sweep_step_query(self) -> str:
        return f"{abs(self.sweep_stop - self.sweep_start) / (self.sweep_points - 1):+.6E}"

    _sweep_points = Setting("[:SOURce[1]]:SWEep:POINts", "sweep_points", whole(2, MAX_SWEEP_POINTS, MAX_SWEEP_POINTS))

    _sweep_spacing = Setting("[:SOURce[1]]:SWEep:SPACing", "sweep_spacing", choice("LINear", "LOGarithmic"),
                             default="LIN")

    _sweep_direction = Setting("[:SOURce[1]]:SWEep:DIRection", "sweep_direction", choice("UP", "DOWN"), default="UP")

    _sweep_ranging = Setting("[:SOURce[1]]:SWEep:RANGing", "sweep_ranging", choice("BEST", "AUTO", "FIXed"),
                             default="BEST")

    # --- output -------------------------------------------------------------------------
    @command(":OUTPut[1][:STATe]")
    def _output(self, value: str) -> None:
        self._set_output(parse_bool(value))

    @command(":OUTPut[1][:STATe]?")
    def _output_query(self) -> str:
        return "1" if self.output else "0"

    _off_state = Setting(":OUTPut[1]:SMODe", "off_state", choice("HIMPedance", "NORMal", "ZERO", "GUARd"),
                         default="NORM")

    # --- sense --------------------------------------------------------------------------
    def _function_names(self, names: tuple[str, ...]) -> set[str]:
        functions = set()
        for name in names:
            try:
                functions.add(FUNCTION_NAMES[unquote(name).upper()])
            except KeyError:
                raise ScpiError(-224) from None
        if "RES" in functions:
            raise not_simulated("resistance measurement")
        return functions

    @command("[:SENSe[1]]:FUNCtion[:ON]")
    def _function_on(self, *names: str) -> None:
        functions = self._function_names(names)
        if not self.concurrent:
            if len(functions) > 1:
                raise ScpiError(-221)
            self.functions = functions
        else:
            self.functions |= functions

    @command("[:SENSe[1]]:FUNCtion[:ON]?")
    def _function_on_query(self) -> str:
        return ",".join(f'"{f}:DC"' for f in ("VOLT", "CURR") if f in self.functions)

    @command("[:SENSe[1]]:FUNCtion:OFF")
    def _function_off(self, *names: str) -> None:
        self.functions -= self._function_names(names)

    @command("[:SENSe[1]]:FUNCtion:OFF:ALL")
    def _function_off_all(self) -> None:
        self.functions = set()

    @command("[:SENSe[1]]:FUNCtion:CONCurrent")
    def _set_concurrent(self, value: str) -> None:
        self.concurrent = parse_bool(value)
        if not self.concurrent and len(self.functions) > 1:
            self.functions = {"CURR"}

    @command("[:SENSe[1]]:FUNCtion:CONCurrent?")
    def _concurrent_query(self) -> str:
        return "1" if self.concurrent else "0"

    # Section 18 [:SENSe[1]]:AVERage: the averaging filter (status word bit 1); TCONtrol REPeat
    # makes COUNt conversions per reading, MOVing averages the last COUNt. A change of its
    # settings starts the moving stack over.
    _average = Setting("[:SENSe[1]]:AVERage[:STATe]", "average", parse_bool, on_off, apply="_set_filter")
    _average_count = Setting("[:SENSe[1]]:AVERage:COUNt", "average_count",
                             lambda value: parse_int(value, *AVERAGE_COUNT_RANGE), apply="_set_filter")
    _average_type = Setting("[:SENSe[1]]:AVERage:TCONtrol", "average_type", choice("REPeat", "MOVing"),
                            apply="_set_filter")

    def _set_filter(self, **setting: object) -> None:
        for name, value in setting.items():
            setattr(self, name, value)
        self.average_stack.clear()

    # section 18 :DISPlay:ENABle: the front panel display (on at power-on; *RST keeps it)
    _display = Setting(":DISPlay:ENABle", "display", parse_bool, on_off)

    @command("[:SENSe[1]]:CURRent[:DC]:NPLCycles")
    @command("[:SENSe[1]]:VOLTage[:DC]:NPLCycles")
    @command("[:SENSe[1]]:RESistance:NPLCycles")
    def _set_nplc(self, value: str) -> None:
        self.nplc = bounded(*NPLC_RANGE, 1.0)(value)

    @command("[:SENSe[1]]:CURRent[:DC]:NPLCycles?")
    @command("[:SENSe[1]]:VOLTage[:DC]:NPLCycles?")
    @command("[:SENSe[1]]:RESistance:NPLCycles?")
    def _nplc_query(self, which: str | None = None) -> str:
        return limit_query(which, self.nplc, *NPLC_RANGE, 1.0)

    @command("[:SENSe[1]]:CURRent[:DC]:PROTection[:LEVel]")
    def _set_compliance(self, value: str) -> None:
        amps = abs(parse_number(value, minimum=-MAX_CURRENT, maximum=MAX_CURRENT, default=DEFAULT_COMPLIANCE))
        if amps > MAX_CURRENT:
            raise ScpiError(-222)
        floor = CURRENT_RANGES[0] if self.current_autorange else self.current_range
        if amps < MIN_COMPLIANCE_FRACTION * floor * (1 - 1e-9):
            raise error(822)
        self.compliance = amps

    @command("[:SENSe[1]]:CURRent[:DC]:PROTection[:LEVel]?")
    def _compliance_query(self, which: str | None = None) -> str:
        return limit_query(which, self.compliance, -MAX_CURRENT, MAX_CURRENT, DEFAULT_COMPLIANCE)

    @command("[:SENSe[1]]:CURRent[:DC]:PROTection:TRIPped?")
    def _tripped_query(self) -> str:
        return "1" if self.tripped else "0"

    @command("[:SENSe[1]]:CURRent[:DC]:RANGe[:UPPer]")
    def _set_current_range(self, value: str) -> None:
        r = chosen_range(value, CURRENT_RANGES, self.present_current_range(), MAX_CURRENT, 1.05e-4)
        self.current_range, self.current_autorange = r, False

    @command("[:SENSe[1]]:CURRent[:DC]:RANGe[:UPPer]?")
    def _current_range_query(self) -> str:
        return f"{self.present_current_range():+.6E}"

    _current_autorange = Setting("[:SENSe[1]]:CURRent[:DC]:RANGe:AUTO", "current_autorange", parse_bool, on_off,
                                 default=True)

    _voltage_compliance = Setting("[:SENSe[1]]:VOLTage[:DC]:PROTection[:LEVel]", "voltage_compliance",
                                  lambda value: abs(bounded(-MAX_VOLTAGE, MAX_VOLTAGE, 21.0)(value)), nr3)

    # a range set by hand turns autoranging off
    _voltage_range = Setting("[:SENSe[1]]:VOLTage[:DC]:RANGe[:UPPer]", "voltage_range",
                             lambda value: smallest_range(bounded(-MAX_VOLTAGE, MAX_VOLTAGE, 21.0)(value),
                                                          VOLTAGE_RANGES),
                             nr3, apply="_fix_voltage_range")

    def _fix_voltage_range(self, voltage_range: float) -> None:
        self.voltage_range, self.voltage_autorange = voltage_range, False

    _voltage_autorange = Setting("[:SENSe[1]]:VOLTage[:DC]:RANGe:AUTO", "voltage_autorange", parse_bool, on_off,
                                 default=True)

    # --- format -------------------------------------------------------------------------
    @command(":FORMat:ELEMents[:SENSe[1]]")
    def _set_elements(self, *names: str) -> None:
        if not names:
            raise ScpiError(-109)
        try:
            elements = [ELEMENT_NAMES[n.strip().upper()] for n in names]
        except KeyError:
            raise ScpiError(-224) from None
        self.elements = tuple(e for e in ("VOLT", "CURR", "RES", "TIME", "STAT") if e in elements)

    @command(":FORMat:ELEMents[:SENSe[1]]?")
    def _elements_query(self) -> str:
        return ",".join(self.elements)

    @command(":FORMat[:DATA]")
    def _set_data_format(self, *value: str) -> None:
        if not value or value[0].strip().upper() not in ("ASC", "ASCII"):
            raise not_simulated("binary data format")

    @command(":FORMat[:DATA]?")
    def _data_format_query(self) -> str:
        return "ASC"

    # --- measurement ----------------------------------------------------------------------
    @command(":INITiate[:IMMediate]")
    def _initiate(self) -> None:
        self.initiate()

    @command(":ABORt")
    def _abort(self) -> None:
        self.stop_sequence()   # a paced sweep (in virtual time it has already finished)
        self.armed = False

    @command(":FETCh?")
    def _fetch(self) -> str:
        if not self.samples:
            raise error(-230)
        return self._format(self.samples)

    @command(":READ?")
    def _read(self) -> str | None:
        if self.arm_source == "BUS":
            raise not_simulated(":READ? on a BUS arm event")
        self.initiate()
        self._wai()   # a paced sweep: its end
        return self._fetch()

    def _configure(self, function: str) -> None:
        """:CONFigure (section 17): one function, immediate single triggers, output on."""
        self.functions = {function}
        if function == "CURR":
            self.current_autorange = True
        else:
            self.voltage_autorange = True
        self.arm_source = self.trigger_source = "IMM"
        self.arm_count = self.trigger_count = 1
        self.trigger_delay = 0.0
        self.trace.control = "NEV"
        self._set_output(True)

    @command(":CONFigure[:CURRent[:DC]]")
    def _configure_current(self) -> None:
        self._configure("CURR")

    @command(":CONFigure:VOLTage[:DC]")
    def _configure_voltage(self) -> None:
        self._configure("VOLT")

    @command(":CONFigure?")
    def _configure_query(self) -> str:
        return self._function_on_query()

    @command(":MEASure[:CURRent[:DC]]?")
    def _measure_current(self) -> str | None:
        self._configure("CURR")
        return self._read()

    @command(":MEASure:VOLTage[:DC]?")
    def _measure_voltage(self) -> str | None:
        self._configure("VOLT")
        return self._read()

    # --- arm and trigger layers -----------------------------------------------------------
    def _count(self, value: str, other: int) -> int:
        count = whole(1, MAX_READINGS, 1)(value)
        if count * other > MAX_READINGS:
            raise ScpiError(-221)
        return count

    @command(":ARM[:SEQuence[1]][:LAYer[1]]:COUNt")
    def _set_arm_count(self, value: str) -> None:
        if value.strip().upper() in ("INF", "INFINITE"):
            raise not_simulated("infinite arm count")
        self.arm_count = self._count(value, self.trigger_count)

    @command(":ARM[:SEQuence[1]][:LAYer[1]]:COUNt?")
    def _arm_count_query(self) -> str:
        return str(self.arm_count)

    _arm_source = Setting(":ARM[:SEQuence[1]][:LAYer[1]]:SOURce", "arm_source",
                          choice("IMMediate", "TLINk", "TIMer", "MANual", "BUS", "NSTest", "PSTest", "BSTest"), default="IMM")

    _arm_timer = Setting(":ARM[:SEQuence[1]][:LAYer[1]]:TIMer", "arm_timer", bounded(0.001, 99999.99, 0.1), nr3,
                         default=0.1)

    @command(":TRIGger[:SEQuence[1]]:COUNt")
    def _set_trigger_count(self, value: str) -> None:
        self.trigger_count = self._count(value, self.arm_count)

    @command(":TRIGger[:SEQuence[1]]:COUNt?")
    def _trigger_count_query(self) -> str:
        return str(self.trigger_count)

    _trigger_delay = Setting(":TRIGger[:SEQuence[1]]:DELay", "trigger_delay", bounded(0.0, MAX_DELAY, 0.0), nr3,
                             default=0.0)

    _trigger_source = Setting(":TRIGger[:SEQuence[1]]:SOURce", "trigger_source", choice("IMMediate", "TLINk"),
                              default="IMM")

    @command(":TRIGger[:SEQuence[1]]:CLEar")
    def _trigger_clear(self) -> None:
        return None   # no trigger-link input is wired

    # --- trace buffer ----------------------------------------------------------------------
    @command(":TRACe:CLEar")
    def _trace_clear(self) -> None:
        if self.trace.control == "NEXT":
            raise error(800)
        self.trace.readings = []

    @command(":TRACe:POINts")
    def _set_trace_points(self, value: str) -> None:
        points = whole(1, MAX_READINGS, 100)(value)
        if self.trace.control == "NEXT":
            raise error(800)
        self.trace.capacity = points

    @command(":TRACe:POINts?")
    def _trace_points_query(self) -> str:
        return str(self.trace.capacity)

    @command(":TRACe:POINts:ACTual?")
    def _trace_actual(self) -> str:
        return str(len(self.trace.readings))

    @command(":TRACe:FEED")
    def _set_trace_feed(self, value: str) -> None:
        token = value.strip().upper()
        if token not in ("SENS", "SENSE", "SENS1", "SENSE1"):
            raise not_simulated(f"buffer feed {token}")
        self.trace_feed = "SENS"

    @command(":TRACe:FEED?")
    def _trace_feed_query(self) -> str:
        return self.trace_feed

    _trace_control = Setting(":TRACe:FEED:CONTrol", "trace.control", choice("NEXT", "NEVer"))

    _timestamp_format = Setting(":TRACe:TSTamp:FORMat", "timestamp_format", choice("ABSolute", "DELTa"), default="ABS")

    @command(":TRACe:DATA?")
    def _trace_data(self) -> str:
        if not self.trace.readings:
            raise error(-230)
        return self._format(self.trace.readings, timestamp_zero="buffer")

    _statistic = Setting(":CALCulate3:FORMat", "statistic", choice("MEAN", "SDEViation", "MAXimum", "MINimum", "PKPK"),
                         default="MEAN")

    @command(":CALCulate3:DATA?")
    def _statistic_data(self) -> str:
        """The statistic of the buffer's voltage, current and resistance readings (section 9)."""
        if len(self.trace.readings) < 2:
            raise error(-230)
        stat = {"MEAN": np.mean, "SDEV": lambda x: np.std(x, ddof=1), "MAX": np.max, "MIN": np.min,
                "PKPK": np.ptp}[self.statistic]
        readings = self.trace.readings
        columns = (np.array([r.voltage for r in readings]), np.array([r.current for r in readings]))
        values = [float(stat(c)) for c in columns] + [NOT_A_NUMBER]
        return ",".join(f"{v:+.6E}" for v in values)


def limit_query(which: str | None, value: float, minimum: float, maximum: float, default: float) -> str:
    """A ``…?`` query's reply: the setting ``value``, or with the optional parameter ``which``
    (MIN, MAX, DEF) what it stands for."""
    if which is None:
        return nr3(value)
    token = which.strip().upper()[:3]
    if token not in ("MIN", "MAX", "DEF"):
        raise ScpiError(-224)
    return nr3({"MIN": minimum, "MAX": maximum, "DEF": default}[token])

