"""Simulated Keithley 2450 SourceMeter, native SCPI command set.

Follows the Model 2450 Reference Manual (2450-901-01 Rev. B, 2013; section 6 "SCPI command
reference", section 3 "Configuration lists" and "Trigger model"), and the Model 2461 manual where
the 2450 text was not available (same command tree). What is simulated:

- identification, ``*RST`` defaults (source V at 0 V, current limit 105 µA, autorange, readback
  on, measure current at 1 PLC, output off), ``*OPC?``, ``*CLS``, the error queue in the 2450's
  own format (``-113,"Undefined header;1;<timestamp>"``; empty: ``0,"No error;0;0 0"``);
- voltage source level, range, current limit (compliance) with its TRIPped flag, source delay;
  the current source (level, range, voltage limit with its TRIPped flag): a voltage source at
  the voltage limit held to the level by its current limit, so the device takes the level at
  the voltage it needs (or the limit when it needs more);
- current, voltage and resistance (terminal voltage over current, 2-wire) measurement, each
  with its own NPLC, range, autozero and user delays, integrating over NPLC / line frequency
  with the source held meanwhile; ``:SENS:COUN`` readings per ``:MEAS?``/``:READ?``;
- what QCoDeS's Keithley2450 driver asks (2450-901-01 Rev. B): ``*LANG?`` (``SCPI``; the TSP
  and SCPI2400 command sets are refused with -221), ``:ROUT:TERM``, ``:FETC?``, ``:STAT:CLE``,
  ``:TRAC:DEL``, ``:TRAC:TRIG``, the ``UNIT``/``SOURUNIT`` buffer elements, and
  ``:SOUR:SWE:VOLT:LIN`` (a configuration list and trigger model ``:INIT`` runs);
- reading buffers (``defbuffer1``/``defbuffer2``, 10 000 readings each, and ``:TRAC:MAKE``) and
  all 14 buffer elements of ``:TRACe:DATA?`` (the shapes of DATE, FORMatted and the status bits
  from the 2461 manual's examples, TIME's and TSTamp's from the TSP buffer attributes' examples;
  the sign of a positive FORMatted value is not confirmed); ``:FORMat:ASCii:PRECision``, ``:FORMat[:DATA] ASCii|REAL|SREal`` (``#0``
  blocks) and ``:FORMat:BORDer``; the averaging filter per function (REPeat makes COUNt
  conversions, MOVing averages the last COUNt); ``:DISPlay:LIGHt:STATe``;
- source configuration lists (each point stores function, level, limit, range, delay, readback
  and output state) and the trigger model blocks a pulse train needs: BUFFer:CLEar,
  CONFig:NEXT/RECall, SOURce:STATe, DELay:CONStant, MEASure, BRANch:COUNter, BRANch:ALWays,
  NOTify;
- digital I/O line 1 as a trigger output (``:DIGital:LINE1:MODE TRIGger, OUT``,
  ``:TRIGger:DIGital1:OUT:STIMulus NOTify<n>``, ``:TRIGger:DIGital1:OUT:LOGic``; manual section 6):
  a NOTify block whose event is the line's stimulus asserts it, and the station passes the
  asserting edge (falling with NEGative logic, the *RST state; rising with POSitive) to whatever
  it wired to the line (a pulse generator's Trig In), at that moment of the trigger model. The
  release edge after the pulse width is not passed on.

Time is the bench's clock. The output drives the device through a :class:`SourcePort`; whenever
a command arrives, the device is first carried to "now" under whatever the outputs were doing; a
running trigger model advances the clock itself. With the output off the terminal follows the
output-off state (``:OUTP:SMOD``): NORMal (the *RST state) and ZERO hold 0 V under the present
current limit, HIMPedance and GUARd leave it open, so another instrument wired to the same device
can drive it. (How the real NORMal state limits its current is not confirmed here.) 4-wire
sensing, current sweeps and repeated sweeps are refused with -221.
"""
from __future__ import annotations

import calendar
import math
import struct
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import numpy as np

from labsuite.simulator.circuit import SegmentResult, SourcePort
from labsuite.simulator.instruments.scpi import (ScpiError, Setting, bounded, choice, command, commands, keyword,
                                                 on_off, parse_bool, parse_int, parse_number, unquote)
from labsuite.simulator.instruments.source_meter import SimulatedSourceMeter, moving_average
from labsuite.simulator.run_control import Interrupted

VOLTAGE_RANGES = (0.02, 0.2, 2.0, 20.0, 200.0)     # V
MAX_VOLTAGE = 210.0                               # V, largest programmable level
CURRENT_LIMIT_RANGE = (1e-9, 1.05)                # A
DEFAULT_BUFFER_SIZE = 10_000
LINE_FREQUENCY = 60.0                             # Hz
NPLC_RANGE = (0.01, 10.0)
MAX_BLOCKS = 255
NOTIFY_IDS = 8                                    # notify events of a trigger model
MIN_BUFFER_SIZE, MAX_BUFFER_SIZE = 1, 250_000     # readings (data sheet: "over 250,000")
MAX_COUNT = 2**31 - 1                             # measure block and branch counter counts
CURRENT_RANGES = (10e-9, 100e-9, 1e-6, 10e-6, 100e-6, 1e-3, 10e-3, 100e-3, 1.0)   # A
MAX_CURRENT = 1.05                                # A, largest programmable current level
VOLTAGE_LIMIT_RANGE = (0.02, 210.0)               # V, :SOUR:CURR:VLIM
TRAIN_CHUNK = 100_000                             # holds walked before the device evolves over them (memory bound)
MAX_SENSE_COUNT = 300_000                         # readings per :MEAS?/:READ?/:TRAC:TRIG (not confirmed)
MAX_USER_DELAY = 10_000.0                         # s, :DELay:USER<n> (not confirmed)
USER_DELAY = bounded(0.0, MAX_USER_DELAY, 0.0)    # parser of a :DELay:USER<n> value
USER_DELAYS = 5                                   # USER1..USER5
LANGUAGES = ("SCPI", "TSP", "SCPI2400")
# Measure functions: :SENS:FUNC? name, the UNIT buffer element, the range span and *RST range
# (the *RST range of voltage and resistance is not confirmed here).
SENSE_FUNCTIONS = {"CURR": ("CURR:DC", "Amp DC", (1e-8, 1.0), 1e-4),
                   "VOLT": ("VOLT:DC", "Volt DC", (0.02, 200.0), 0.02),
                   "RES": ("RES", "Ohm", (20.0, 200e6), 2e5)}
SENSE_ALIASES = {"CURR": "CURR", "CURRENT": "CURR", "CURR:DC": "CURR", "CURRENT:DC": "CURR",
                 "VOLT": "VOLT", "VOLTAGE": "VOLT", "VOLT:DC": "VOLT", "VOLTAGE:DC": "VOLT",
                 "RES": "RES", "RESISTANCE": "RES"}
SENSE_NODES = ("CURRent[:DC]", "VOLTage[:DC]", "RESistance")
SOURCE_NODES = ("VOLTage", "CURRent")
NOT_A_NUMBER = 9.9e37                             # a resistance with no current (not confirmed on a 2450 page)
_EPOCH = datetime(2026, 1, 1)                     # the bench clock's zero, UTC
_EPOCH_SECONDS = calendar.timegm(_EPOCH.timetuple())
# 2461-901-01 Rev. A §6 (the 2450's command tree): :FORMat[:DATA] ASCii|REAL|SREal (p. 6-46), the
# elements binary data may hold (READing, RELative, SOURce; EXTRa is a 2461 digitizer element), the
# event a text element raises there, :FORMat:BORDer (p. 6-45, default SWAPped), averaging filter
# count 1 to 100 (p. 6-53) and :DISPlay:LIGHt:STATe (p. 6-41, default ON50, kept through *RST).
BINARY_FORMATS = {"REAL": "d", "SRE": "f"}
BINARY_ELEMENTS = {"READ": "READ", "READING": "READ", "REL": "REL", "RELATIVE": "REL", "SOUR": "SOUR",
                   "SOURCE": "SOUR"}
BINARY_ELEMENT_ERROR = (1133, "Parameter 4, Syntax error, expected valid name parameters")
AVERAGE_COUNT_RANGE = (1, 100)
# Buffer status bits (2461 manual "Buffer status bits for sense measurements"; pyHegel's 2450
# driver lists the same bits and the source status bits).
STATUS_FRONT_TERMINAL = 0x08
SOURCE_STATUS_READBACK = 0x08
SOURCE_STATUS_LIMITED = 0x20
SOURCE_STATUS_OUTPUT_ON = 0x80
# The front panel's unit text and the SI prefix of each range decade (FORMatted, SOURFORMatted:
# "-00.0024 mV" in the manual's :MEASure? example; the other prefixes and the sign of a positive
# value are not confirmed).
PANEL_UNITS = {"Amp DC": "A", "Volt DC": "V", "Ohm": "Ohm"}
PREFIXES = ((1e6, "M"), (1e3, "k"), (1.0, ""), (1e-3, "m"), (1e-6, "u"), (1e-9, "n"))


def nr3(value: float) -> str:
    """A setting as the 2450 answers it (``1.050000E-04``)."""
    return f"{value:.6E}"


def source_range(level: float, ranges: tuple[float, ...], autorange: bool, present: float) -> float:
    """The source range a ``level`` takes: with ``autorange`` the smallest of ``ranges`` that holds
    it (each to 105 %); else the ``present`` range, which must hold it (-222)."""
    if autorange:
        return next(r for r in ranges if abs(level) <= r * 1.05)
    if abs(level) > present * 1.05:
        raise ScpiError(-222, "Parameter data out of range; level exceeds the source range")
    return present


def range_of(ranges: tuple[float, ...], default: float) -> Callable[[str], float]:
    """Parser of a fixed source range: the smallest of ``ranges`` holding |value| (each to 105 %;
    MIN, MAX, DEF: the lowest, the highest, ``default``); beyond the highest, -222."""
    def parse(arg: str) -> float:
        value = abs(parse_number(arg, minimum=ranges[0], maximum=ranges[-1], default=default))
        if value > ranges[-1] * 1.05:
            raise ScpiError(-222)
        return next(r for r in ranges if value <= r * 1.05)
    return parse


def panel(value: float, span: float, unit: str) -> str:
    """``value`` as the front panel shows it on the range ``span``: six digits with the range's
    SI prefix and unit (``-2.384862E-06`` V on the 20 mV range → ``-00.0024 mV``)."""
    scale, prefix = next(((f, p) for f, p in PREFIXES if span >= f), PREFIXES[-1])
    whole = len(str(int(round(span / scale))))
    return f"{value / scale:+08.{6 - whole}f} {prefix}{PANEL_UNITS[unit]}"


MAX_LIST_POINTS = 2500   # points per source configuration list (the driver plans for the same)


@dataclass
class SourceSettings:
    """The settings a source configuration list point stores."""

    function: str = "VOLT"
    level: float = 0.0
    current_limit: float = 105e-6
    range: float = 0.02
    autorange: bool = True
    delay: float = 0.0
    autodelay: bool = True
    readback: bool = True
    output: bool = False
    current_level: float = 0.0          # A, the current source's level
    voltage_limit: float = 21.0         # V, the current source's voltage limit (VLIM)
    current_range: float = 1e-4         # A
    current_autorange: bool = True


@dataclass
class SenseSettings:
    """The settings each measure function keeps for itself."""

    range: float
    nplc: float = 1.0
    autorange: bool = True
    autozero: bool = True
    user_delays: list[float] = field(default_factory=lambda: [0.0] * USER_DELAYS)   # s
    average: bool = False               # §6 :AVERage[:STATe], OFF after *RST
    average_count: int = 10             # §6 :AVERage:COUNt
    average_type: str = "REP"           # §6 :AVERage:TCONtrol REPeat|MOVing
    stack: deque[float] = field(default_factory=deque)   # the moving filter's last conversions


@dataclass
class Reading:
    reading: float      # A, V or Ω as ``unit`` says
    source: float       # V, or A for the current source (readback, or the programmed value with readback off)
    time: float         # s on the bench clock
    limited: bool       # source was in compliance
    unit: str = "Amp DC"
    source_unit: str = "Volt DC"
    range: float = 1e-4          # measure range, in ``unit``
    source_range: float = 0.02   # source range, in ``source_unit``
    front: bool = True           # measured on the front terminals
    output: bool = True          # the output was on
    readback: bool = True        # the source value is the measured one


@dataclass
class ReadingBuffer:
    capacity: int
    readings: list[Reading] = field(default_factory=list)

    def append(self, r: Reading) -> None:
        self.readings.append(r)
        if len(self.readings) > self.capacity:   # fill mode CONTinuous: oldest reading drops out
            del self.readings[0]


class Keithley2450(SimulatedSourceMeter):
    """A 2450 whose output drives the device through ``port`` on the bench clock."""

    simulates = {"keithley2450": None}   # registry name (labsuite.registry) → model

    idn = "KEITHLEY INSTRUMENTS,MODEL 2450,04096218,1.7.12b"

    def __init__(self, port: SourcePort) -> None:
        super().__init__(port)
        self._header = ""
        self.trigger_out: list[Callable[[str], None]] = []   # what digital I/O line 1 is wired to: f(edge)
        self.power_on()

    def power_on(self) -> None:
        """The state after mains on: the display light's power-on level, then the SMU's."""
        self.display_light = "ON50"       # :DISPlay:LIGHt:STATe, set at power-on only
        super().power_on()

    # --- bookkeeping ------------------------------------------------------------------
    def reset(self) -> None:
        """The *RST state."""
        self.source = SourceSettings()
        self.off_state = "NORM"
        self.sense_function = "CURR"
        self.senses = {name: SenseSettings(spec[3]) for name, spec in SENSE_FUNCTIONS.items()}
        self.sense_count = 1
        self.source_user_delays = [0.0] * USER_DELAYS
        self.terminals = "FRON"
        self.tripped = False
        self.buffers = {"defbuffer1": ReadingBuffer(DEFAULT_BUFFER_SIZE),
                        "defbuffer2": ReadingBuffer(DEFAULT_BUFFER_SIZE)}
        self.config_lists: dict[str, list[SourceSettings]] = {}
        self.line_mode = ("DIG", "IN")     # :DIGital:LINE1:MODE
        self.line_stimulus = "NONE"       # :TRIGger:DIGital1:OUT:STIMulus
        self.line_logic = "NEG"           # :TRIGger:DIGital1:OUT:LOGic
        self.blocks: dict[int, tuple] = {}
        self.last_block = 0
        self.trigger_state = "IDLE"       # :TRIGger:STATe?: IDLE, RUNNING, or ABORTED after a stop
        self.ascii_precision = 0          # :FORMat:ASCii:PRECision, 0 = automatic
        self.data_format = "ASC"          # :FORMat[:DATA]
        self.byte_order = "SWAP"          # :FORMat:BORDer

    def format_error(self, code: int, message: str) -> str:
        if code == 0:
            return '0,"No error;0;0 0"'
        stamp = (_EPOCH + timedelta(seconds=self.clock.now())).strftime("%Y/%m/%d %H:%M:%S.%f")[:-3]
        return f'{code},"{message};1;{stamp}"'

    def _terminal(self) -> tuple[float | None, float]:
        """The port's drive for the present output state: (V, None while the output is open; A limit).
        The current source is a voltage source at the voltage limit (of the level's sign) held to the
        level by its current limit: the device takes the level and the voltage it needs, or the limit
        when it needs more."""
        source = self.source
        if source.output and source.function == "CURR":
            level = source.current_level
            return (math.copysign(source.voltage_limit, level), abs(level)) if level else (0.0, math.inf)
        if source.output:
            return source.level, source.current_limit
        return (0.0 if self.off_state in ("NORM", "ZERO") else None), source.current_limit

    def _drive(self) -> None:
        """Put the present output state on the port."""
        self.port.drive(*self._terminal())

    def _hold(self, duration: float) -> SegmentResult:
        """Keep the output as it is for ``duration`` s of bench time."""
        self._drive()
        result = self.port.hold(duration)
        if self.source.output and self._limited(self.source, result.in_compliance):
            self.tripped = True
        return result

    @staticmethod
    def _limited(source: SourceSettings, in_compliance: bool) -> bool:
        """The source is at its limit: the current limit (voltage source) or the voltage limit
        (current source: the device did not take the level)."""
        if source.function == "CURR":
            return bool(source.current_level) and not in_compliance
        return in_compliance

    @property
    def sense(self) -> SenseSettings:
        """The settings of the present measure function."""
        return self.senses[self.sense_function]

    def aperture(self) -> float:
        """Integration time of one reading, s."""
        return self.sense.nplc / LINE_FREQUENCY

    def _conversions(self) -> int:
        """A/D conversions per reading: the count of a repeating averaging filter, else 1."""
        sense = self.sense
        return sense.average_count if sense.average and sense.average_type == "REP" else 1

    def _measure(self, buffer: str = "defbuffer1") -> Reading:
        repeats = self._conversions()
        result = self._hold(self.aperture() * repeats)
        current = float(np.mean(self.port.model.add_read_noise(np.full(repeats, result.current))))
        return self._store_reading(buffer, self.source, result.in_compliance, result.source_voltage, current,
                                   self.clock.now())

    def _store_reading(self, buffer: str, source: SourceSettings, in_compliance: bool, source_voltage: float,
                       current: float, time: float) -> Reading:
        """Store the reading of ``current`` (A, the mean of its noisy conversions) taken at ``time`` (s)
        under ``source`` with ``source_voltage`` (V) at the terminals: filtered, clipped at the limit
        and expressed in the measure function as the settings say."""
        sense = self.sense
        if sense.average and sense.average_type == "MOV":
            current = moving_average(sense.stack, sense.average_count, current)
        sourcing_current = source.function == "CURR"
        if in_compliance and source.output and not sourcing_current:
            current = float(np.clip(current, -source.current_limit, source.current_limit))
        voltage = source_voltage if source.output else 0.0
        if sourcing_current:
            value = current if source.readback else source.current_level
        else:
            value = voltage if source.readback else source.level
        function = self.sense_function
        measured = current if function == "CURR" else voltage if function == "VOLT" else \
            voltage / current if current else NOT_A_NUMBER
        reading = Reading(measured, value, time, source.output and self._limited(source, in_compliance),
                          SENSE_FUNCTIONS[function][1], "Amp DC" if sourcing_current else "Volt DC",
                          sense.range, source.current_range if sourcing_current else source.range,
                          self.terminals == "FRON", source.output, source.readback)
        self._buffer(buffer).append(reading)
        return reading

    def _find(self, header: str, query: bool):
        """Note the header for handlers shared by several functions (see :meth:`_node`)."""
        self._header = header.upper()
        return super()._find(header, query)

    def _node(self) -> str:
        """The function (``CURR``, ``VOLT``, ``RES``) the header being executed names."""
        for node in self._header.split(":"):
            for name in ("CURR", "VOLT", "RES"):
                if node.startswith(name):
                    return name
        raise ScpiError(-113)

    def _user(self) -> int:
        """The ``<n>`` of a ``…:DELay:USER<n>`` header, 0-based."""
        return int(self._header.rsplit("USER", 1)[1]) - 1

    def _buffer(self, name: str) -> ReadingBuffer:
        try:
            return self.buffers[name]
        except KeyError:
            raise ScpiError(-224, "Illegal parameter value; reading buffer not found") from None

    def _apply_settings(self, settings: SourceSettings) -> None:
        self.source = replace(settings)

    # --- IEEE 488.2 common commands -----------------------------------------------------
    @command("*TRG")
    def _bus_trigger(self) -> None:
        return None   # a running trigger model has already finished in bench time

    @command("*LANG?")
    def _get_language(self) -> str:
        """Reference manual App. B ``*LANG`` (p. B-5): the command set in use, SCPI here."""
        return "SCPI"

    @command("*LANG")
    def _set_language(self, arg: str) -> None:
        """``*LANG SCPI`` keeps the command set in use; the TSP and SCPI2400 sets (which a real
        2450 takes at its next power cycle) are not simulated: -221."""
        token = arg.strip().upper()
        if token not in LANGUAGES:
            raise ScpiError(-224)
        if token != "SCPI":
            raise ScpiError(-221, f"Settings conflict; the {token} command set not simulated")

    # --- system -------------------------------------------------------------------------
    @command(":SYSTem:CLEar")
    def _system_clear(self) -> None:
        self.errors.clear()

    @command(":SYSTem:LFRequency?")
    def _line_frequency(self) -> str:
        return f"{LINE_FREQUENCY:g}"

    @command(":STATus:PRESet")
    @command(":STATus:CLEar")
    def _status_preset(self) -> None:
        return None   # no event register is modelled; the error queue stays (§6 :STATus:CLEar)

    @command(":ROUTe:TERMinals")
    def _set_terminals(self, arg: str) -> None:
        """§6 ``:ROUTe:TERMinals`` (p. 6-35): changing the terminals turns the output off."""
        token = {"FRON": "FRON", "FRONT": "FRON", "REAR": "REAR"}.get(arg.strip().upper())
        if token is None:
            raise ScpiError(-224)
        if token != self.terminals:
            self.source.output = False
        self.terminals = token

    @command(":ROUTe:TERMinals?")
    def _get_terminals(self) -> str:
        return self.terminals

    # --- source -------------------------------------------------------------------------
    @command("[:SOURce[1]]:FUNCtion[:MODE]")
    def _set_function(self, arg: str) -> None:
        token = arg.strip().upper()
        if token in ("VOLT", "VOLTAGE"):
            self.source.function = "VOLT"
        elif token in ("CURR", "CURRENT"):
            self.source.function = "CURR"
        else:
            raise ScpiError(-224)

    @command("[:SOURce[1]]:FUNCtion[:MODE]?")
    def _get_function(self) -> str:
        return "VOLT" if self.source.function == "VOLT" else "CURR"

    _level = Setting("[:SOURce[1]]:VOLTage[:LEVel][:IMMediate][:AMPLitude]", "source.level",
                     bounded(-MAX_VOLTAGE, MAX_VOLTAGE, 0.0), nr3, apply="_take_level")

    def _take_level(self, level: float) -> None:
        self.source.range = source_range(level, VOLTAGE_RANGES, self.source.autorange, self.source.range)
        self.source.level = level

    _current_limit = Setting("[:SOURce[1]]:VOLTage:ILIMit[:LEVel]", "source.current_limit",
                             bounded(*CURRENT_LIMIT_RANGE, 105e-6), nr3)

    @command("[:SOURce[1]]:VOLTage:ILIMit[:LEVel]:TRIPped?")
    @command("[:SOURce[1]]:CURRent:VLIMit[:LEVel]:TRIPped?")
    def _get_tripped(self) -> str:
        return "1" if self.tripped else "0"

    # a range set by hand stops autoranging of that source function
    _range = Setting("[:SOURce[1]]:VOLTage:RANGe", "source.range", range_of(VOLTAGE_RANGES, VOLTAGE_RANGES[2]), nr3,
                     apply="_fix_range")
    _autorange = Setting("[:SOURce[1]]:VOLTage:RANGe:AUTO", "source.autorange", parse_bool, on_off)
    _current_autorange = Setting("[:SOURce[1]]:CURRent:RANGe:AUTO", "source.current_autorange", parse_bool, on_off)

    def _fix_range(self, **fixed: float) -> None:
        if "range" in fixed:
            self.source.range, self.source.autorange = fixed["range"], False
        if "current_range" in fixed:
            self.source.current_range, self.source.current_autorange = fixed["current_range"], False

    # The current source (§6 ``[:SOURce[1]]:CURRent…``, the mirror of the voltage tree; *RST:
    # 0 A, voltage limit 21 V, autorange; §8 ``smu.source.vlimit.level`` default 21 V).
    _current_level = Setting("[:SOURce[1]]:CURRent[:LEVel][:IMMediate][:AMPLitude]", "source.current_level",
                             bounded(-MAX_CURRENT, MAX_CURRENT, 0.0), nr3, apply="_take_current_level")

    def _take_current_level(self, current_level: float) -> None:
        self.source.current_range = source_range(current_level, CURRENT_RANGES, self.source.current_autorange,
                                                 self.source.current_range)
        self.source.current_level = current_level

    _voltage_limit = Setting("[:SOURce[1]]:CURRent:VLIMit[:LEVel]", "source.voltage_limit",
                             bounded(*VOLTAGE_LIMIT_RANGE, 21.0), nr3)

    _current_range = Setting("[:SOURce[1]]:CURRent:RANGe", "source.current_range", range_of(CURRENT_RANGES, 1e-4),
                             nr3, apply="_fix_range")

    # Source delay, autodelay and readback are one setting here for both source functions; a
    # delay set by hand turns the automatic delay off (§6 ``:DELay:AUTO``: on after *RST).
    _delay = Setting(tuple(f"[:SOURce[1]]:{node}:DELay" for node in SOURCE_NODES), "source.delay",
                     bounded(0.0, 4.0, 0.0), nr3, apply="_fix_delay")
    _autodelay = Setting(tuple(f"[:SOURce[1]]:{node}:DELay:AUTO" for node in SOURCE_NODES), "source.autodelay",
                         parse_bool, on_off)

    def _fix_delay(self, delay: float) -> None:
        self.source.delay, self.source.autodelay = delay, False

    @commands(*(f"[:SOURce[1]]:{node}:DELay:USER{n}" for node in SOURCE_NODES for n in range(1, USER_DELAYS + 1)))
    def _set_source_user_delay(self, arg: str) -> None:
        """§6 ``[:SOURce[1]]:<function>:DELay:USER<n>``: a delay a trigger model block can name."""
        self.source_user_delays[self._user()] = USER_DELAY(arg)

    @commands(*(f"[:SOURce[1]]:{node}:DELay:USER{n}?" for node in SOURCE_NODES for n in range(1, USER_DELAYS + 1)))
    def _get_source_user_delay(self) -> str:
        return nr3(self.source_user_delays[self._user()])

    _readback = Setting(("[:SOURce[1]]:VOLTage:READ:BACK", "[:SOURce[1]]:CURRent:READ:BACK"), "source.readback",
                        parse_bool, on_off)

    # --- configuration lists -------------------------------------------------------------
    @command("[:SOURce[1]]:CONFiguration:LIST:CREate")
    def _list_create(self, name: str) -> None:
        name = unquote(name)
        if name in self.config_lists:
            raise ScpiError(-221, "Settings conflict; configuration list already exists")
        self.config_lists[name] = []

    @command("[:SOURce[1]]:CONFiguration:LIST:STORe")
    def _list_store(self, name: str, index: str | None = None) -> None:
        points = self._list(name)
        if len(points) >= MAX_LIST_POINTS and (index is None or int(parse_number(index)) > len(points)):
            raise ScpiError(-225, f"Out of memory; a configuration list holds at most {MAX_LIST_POINTS} points")
        if index is None:
            points.append(replace(self.source))
            return
        i = int(parse_number(index))
        if not 1 <= i <= len(points) + 1:
            raise ScpiError(-222)
        if i == len(points) + 1:
            points.append(replace(self.source))
        else:
            points[i - 1] = replace(self.source)

    @command("[:SOURce[1]]:CONFiguration:LIST:RECall")
    def _list_recall(self, name: str, index: str = "1") -> None:
        self._apply_settings(self._point(unquote(name), int(parse_number(index))))

    @command("[:SOURce[1]]:CONFiguration:LIST:DELete")
    def _list_delete(self, name: str, index: str | None = None) -> None:
        points = self._list(name)
        if index is None:
            del self.config_lists[unquote(name)]
        else:
            i = int(parse_number(index))
            if not 1 <= i <= len(points):
                raise ScpiError(-222)
            del points[i - 1]

    @command("[:SOURce[1]]:CONFiguration:LIST:SIZE?")
    def _list_size(self, name: str) -> str:
        return str(len(self._list(name)))

    def _list(self, quoted: str) -> list[SourceSettings]:
        try:
            return self.config_lists[unquote(quoted)]
        except KeyError:
            raise ScpiError(-224, "Illegal parameter value; configuration list does not exist") from None

    def _point(self, name: str, index: int) -> SourceSettings:
        """Point ``index`` (1-based) of configuration list ``name``."""
        points = self.config_lists.get(name)
        if not points or not 1 <= index <= len(points):
            raise ScpiError(-222, "Parameter data out of range; configuration list point does not exist")
        return points[index - 1]

    # --- output -------------------------------------------------------------------------
    @command(":OUTPut[1][:STATe]")
    def _set_output(self, arg: str) -> None:
        on = parse_bool(arg)
        self.source.output = on
        if on:
            self.tripped = False

    _off_state = Setting(":OUTPut[1]:SMODe", "off_state", choice("NORMal", "HIMPedance", "ZERO", "GUARd"))

    @command(":OUTPut[1][:STATe]?")
    def _get_output(self) -> str:
        return "1" if self.source.output else "0"

    # --- measure ------------------------------------------------------------------------
    @command("[:SENSe[1]]:FUNCtion[:ON]")
    def _set_sense_function(self, arg: str) -> None:
        """§6 ``[:SENSe[1]]:FUNCtion[:ON]``: "CURR[:DC]", "VOLT[:DC]" or "RES"; a voltage reading
        is the terminal voltage, a resistance the terminal voltage over the current (2-wire)."""
        try:
            self.sense_function = SENSE_ALIASES[unquote(arg).upper()]
        except KeyError:
            raise ScpiError(-224) from None

    @command("[:SENSe[1]]:FUNCtion[:ON]?")
    def _get_sense_function(self) -> str:
        return f'"{SENSE_FUNCTIONS[self.sense_function][0]}"'

    def _sense_of_node(self) -> SenseSettings:
        return self.senses[self._node()]

    _nplc = Setting(tuple(f"[:SENSe[1]]:{node}:NPLCycles" for node in SENSE_NODES), "_sense_of_node().nplc",
                    bounded(*NPLC_RANGE, 1.0), nr3)

    # §6 [:SENSe[1]]:<function>:AZERo[:STATe]: on after *RST
    _autozero = Setting(tuple(f"[:SENSe[1]]:{node}:AZERo[:STATe]" for node in SENSE_NODES),
                        "_sense_of_node().autozero", parse_bool, on_off)

    @command("[:SENSe[1]]:AZERo:ONCE")
    def _autozero_once(self) -> None:
        return None   # a zero reference in the simulator is exact

    _sense_autorange = Setting(tuple(f"[:SENSe[1]]:{node}:RANGe:AUTO" for node in SENSE_NODES),
                               "_sense_of_node().autorange", parse_bool, on_off)

    @commands(*(f"[:SENSe[1]]:{node}:RANGe[:UPPer]" for node in SENSE_NODES))
    def _set_sense_range(self, arg: str) -> None:
        name = self._node()
        low, high = SENSE_FUNCTIONS[name][2]
        value = abs(parse_number(arg, minimum=low, maximum=high, default=SENSE_FUNCTIONS[name][3]))
        if not low <= value <= high * 1.05:
            raise ScpiError(-222)
        self.senses[name].range, self.senses[name].autorange = value, False

    @commands(*(f"[:SENSe[1]]:{node}:RANGe[:UPPer]?" for node in SENSE_NODES))
    def _get_sense_range(self) -> str:
        return nr3(self._sense_of_node().range)

    @commands(*(f"[:SENSe[1]]:{node}:RSENse" for node in SENSE_NODES))
    def _set_remote_sense(self, arg: str) -> None:
        """§6 ``[:SENSe[1]]:<function>:RSENse`` (p. 6-58): 2-wire, the *RST state, is what is
        simulated; 4-wire sensing is refused with -221."""
        if parse_bool(arg):
            raise ScpiError(-221, "Settings conflict; 4-wire sensing not simulated")

    @commands(*(f"[:SENSe[1]]:{node}:RSENse?" for node in SENSE_NODES))
    def _get_remote_sense(self) -> str:
        return "0"

    @commands(*(f"[:SENSe[1]]:{node}:DELay:USER{n}" for node in SENSE_NODES for n in range(1, USER_DELAYS + 1)))
    def _set_sense_user_delay(self, arg: str) -> None:
        """§6 ``[:SENSe[1]]:<function>:DELay:USER<n>``: a delay a trigger model block can name."""
        self._sense_of_node().user_delays[self._user()] = USER_DELAY(arg)

    @commands(*(f"[:SENSe[1]]:{node}:DELay:USER{n}?" for node in SENSE_NODES for n in range(1, USER_DELAYS + 1)))
    def _get_sense_user_delay(self) -> str:
        return nr3(self._sense_of_node().user_delays[self._user()])

    # §6 [:SENSe[1]]:COUNt: readings per :MEAS?/:READ?/:TRAC:TRIG (1 after *RST)
    _count = Setting("[:SENSe[1]]:COUNt", "sense_count", lambda arg: parse_int(arg, 1, MAX_SENSE_COUNT))

    @command(":READ?")
    @command(":MEASure?")
    def _read(self, buffer: str = '"defbuffer1"', *elements: str) -> str:
        """``:SENS:COUN`` readings into the buffer; the reply is the last one."""
        readings = [self._measure(unquote(buffer)) for _ in range(self.sense_count)]
        return self._format(readings[-1:], elements or ("READ",), self._buffer(unquote(buffer)))

    @commands(*(f":MEASure:{node}?" for node in SENSE_NODES))
    def _measure_function(self, buffer: str = '"defbuffer1"', *elements: str) -> str:
        """``:MEASure:<function>?``: select the function, then measure as ``:MEAS?`` does."""
        self.sense_function = self._node()
        return self._read(buffer, *elements)

    @command(":FETCh?")
    def _fetch(self, buffer: str = '"defbuffer1"', *elements: str) -> str:
        """§6 ``:FETCh?``: the latest reading of the buffer; an empty buffer is an error."""
        target = self._buffer(unquote(buffer))
        if not target.readings:
            raise ScpiError(-230, "Data corrupt or stale; the reading buffer is empty")
        return self._format(target.readings[-1:], elements or ("READ",), target)

    # --- reading buffers ----------------------------------------------------------------
    @command(":TRACe:MAKE")
    def _trace_make(self, name: str, size: str, style: str = "") -> None:
        """§6 ``:TRACe:MAKE "<name>", <size>[, <style>]``: every style stores what a STANdard
        buffer does here. An empty style (QCoDeS sends ``'x', 100, ``) is taken as the default,
        STANdard (what the firmware does with it is not confirmed)."""
        name = unquote(name)
        if name in self.buffers:
            raise ScpiError(-221, "Settings conflict; reading buffer already exists")
        if style.strip().upper() not in ("", "STAN", "STANDARD", "FULL", "COMP", "COMPACT", "WRIT", "WRITABLE",
                                         "FULLWRIT", "FULLWRITABLE"):
            raise ScpiError(-224)
        self.buffers[name] = ReadingBuffer(parse_int(size, MIN_BUFFER_SIZE, MAX_BUFFER_SIZE))

    @command(":TRACe:DELete")
    def _trace_delete(self, name: str) -> None:
        """§6 ``:TRACe:DELete`` (p. 6-111): user buffers only."""
        name = unquote(name)
        if name in ("defbuffer1", "defbuffer2"):
            raise ScpiError(-221, "Settings conflict; a default reading buffer cannot be deleted")
        self._buffer(name)
        del self.buffers[name]

    @command(":TRACe:TRIGger")
    def _trace_trigger(self, name: str = '"defbuffer1"') -> None:
        """§6 ``:TRACe:TRIGger``: ``:SENS:COUN`` readings into the buffer."""
        self._buffer(unquote(name))
        for _ in range(self.sense_count):
            self._measure(unquote(name))

    @command(":TRACe:CLEar")
    def _trace_clear(self, name: str = '"defbuffer1"') -> None:
        self._buffer(unquote(name)).readings.clear()

    @command(":TRACe:ACTual?")
    def _trace_actual(self, name: str = '"defbuffer1"') -> str:
        return str(len(self._buffer(unquote(name)).readings))

    @command(":TRACe:POINts")
    def _trace_points(self, size: str, name: str = '"defbuffer1"') -> None:
        buffer = self._buffer(unquote(name))
        buffer.capacity = parse_int(size, MIN_BUFFER_SIZE, MAX_BUFFER_SIZE)
        buffer.readings.clear()

    @command(":TRACe:POINts?")
    def _trace_points_query(self, name: str = '"defbuffer1"') -> str:
        return str(self._buffer(unquote(name)).capacity)

    @command(":TRACe:DATA?")
    def _trace_data(self, start: str, end: str, name: str = '"defbuffer1"', *elements: str) -> str:
        buffer = self._buffer(unquote(name))
        i, j = int(parse_number(start)), int(parse_number(end))
        if not 1 <= i <= j <= len(buffer.readings):
            raise ScpiError(-222, "Parameter data out of range; no such readings in the buffer")
        return self._format(buffer.readings[i - 1:j], elements or ("READ",), buffer)

    def _format(self, readings: list[Reading], elements: tuple[str, ...], buffer: ReadingBuffer) -> str:
        """§6 ``:TRACe:DATA?`` (p. 6-109): the elements of each reading in the order asked, all
        comma-separated (the manual's examples, ``03/21/2013,-1.375422E-11``, have no space
        after the comma though its ``:FORMat[:DATA]`` text says "comma and space"). In REAL or
        SREal only READing, RELative and SOURce, as a ``#0`` block of IEEE-754 values in the
        ``:FORMat:BORDer`` byte order ("starts with #0 and ends with a new line", p. 6-46)."""
        t0 = buffer.readings[0].time if buffer.readings else 0.0
        keys = [element.strip().upper() for element in elements]
        if self.data_format != "ASC":
            if any(key not in BINARY_ELEMENTS for key in keys):
                raise ScpiError(*BINARY_ELEMENT_ERROR)
            values = [{"READ": r.reading, "REL": r.time - t0, "SOUR": r.source}[BINARY_ELEMENTS[key]]
                      for r in readings for key in keys]
            order = ">" if self.byte_order == "NORM" else "<"
            data = struct.pack(f"{order}{len(values)}{BINARY_FORMATS[self.data_format]}", *values)
            return "#0" + data.decode("latin-1")
        return ",".join(self._field(r, key, t0) for r in readings for key in keys)

    def _field(self, r: Reading, key: str, t0: float) -> str:
        """One ASCII buffer element of reading ``r`` (§6 ``:TRACe:DATA?`` element table)."""
        if key in ("READ", "READING"):
            return self._number(r.reading)
        if key in ("SOUR", "SOURCE"):
            return self._number(r.source)
        if key in ("REL", "RELATIVE"):
            return f"{r.time - t0:.9f}"
        if key in ("SEC", "SECONDS"):                  # UTC seconds since 1970
            return f"{_EPOCH_SECONDS + int(r.time)}"
        if key in ("FRAC", "FRACTIONAL"):
            return f"{r.time % 1:.9f}"
        stamp = _EPOCH + timedelta(seconds=r.time)
        if key == "DATE":                              # "03/21/2013" (§6 :FETCh? example)
            return stamp.strftime("%m/%d/%Y")
        if key == "TIME":                              # hh:mm:ss (2470 RM p. 14-39 bufferVar.times)
            return stamp.strftime("%H:%M:%S")
        if key in ("TST", "TSTAMP"):                   # date, time and fractional seconds (pyHegel notes)
            return stamp.strftime("%m/%d/%Y %H:%M:%S") + f"{r.time % 1:.9f}"[1:]
        if key in ("STAT", "STATUS"):
            return str(STATUS_FRONT_TERMINAL if r.front else 0)
        if key in ("SOURSTAT", "SOURSTATUS"):
            return str((SOURCE_STATUS_READBACK if r.readback else 0) | (SOURCE_STATUS_LIMITED if r.limited else 0)
                       | (SOURCE_STATUS_OUTPUT_ON if r.output else 0))
        if key == "UNIT":
            return r.unit                              # 2470-901-01 p. 12-141: "Watt DC" style
        if key == "SOURUNIT":
            return r.source_unit
        if key in ("FORM", "FORMATTED"):
            return panel(r.reading, r.range, r.unit)
        if key in ("SOURFORM", "SOURFORMATTED"):
            return panel(r.source, r.source_range, r.source_unit)
        raise ScpiError(-224, "Illegal parameter value; unknown buffer element")

    def _number(self, value: float) -> str:
        """A reading as NR3 with ``:FORMat:ASCii:PRECision`` significant digits (0: automatic, 7)."""
        digits = self.ascii_precision or 7
        return f"{value:.{digits - 1}E}"

    @command(":FORMat:ASCii:PRECision")
    def _set_precision(self, arg: str) -> None:
        """2461 manual §6 ``:FORMat:ASCii:PRECision`` (p. 6-44): 0 (automatic) or 1 to 16 digits."""
        self.ascii_precision = 0 if arg.strip().upper() in ("DEF", "DEFAULT") else parse_int(arg, 0, 16)

    @command(":FORMat:ASCii:PRECision?")
    def _get_precision(self) -> str:
        return str(self.ascii_precision)

    # 2461 manual §6 :FORMat[:DATA] (p. 6-46): readings as text, IEEE-754 double or single precision
    _data_format = Setting(":FORMat[:DATA]", "data_format", choice("ASCii", "REAL", "SREal"))
    _byte_order = Setting(":FORMat:BORDer", "byte_order", choice("NORMal", "SWAPped"))

    # the averaging filter of each function; a change of its settings starts its moving stack over
    _average = Setting(tuple(f"[:SENSe[1]]:{node}:AVERage[:STATe]" for node in SENSE_NODES), "_sense_of_node().average",
                       parse_bool, on_off, apply="_set_filter")
    _average_count = Setting(tuple(f"[:SENSe[1]]:{node}:AVERage:COUNt" for node in SENSE_NODES),
                             "_sense_of_node().average_count", lambda arg: parse_int(arg, *AVERAGE_COUNT_RANGE),
                             apply="_set_filter")
    _average_type = Setting(tuple(f"[:SENSe[1]]:{node}:AVERage:TCONtrol" for node in SENSE_NODES),
                            "_sense_of_node().average_type", choice("REPeat", "MOVing"), apply="_set_filter")

    def _set_filter(self, **setting: object) -> None:
        sense = self._sense_of_node()
        for name, value in setting.items():
            setattr(sense, name, value)
        sense.stack.clear()

    _display_light = Setting(":DISPlay:LIGHt:STATe", "display_light",
                             choice("ON100", "ON75", "ON50", "ON25", "OFF", "BLACkout"))

    @commands(*(f":SOURce[1]:SWEep:{node}:LINear" for node in SOURCE_NODES))
    def _sweep_linear(self, start: str, stop: str, points: str, delay: str = "-1", count: str = "1",
                      range_type: str = "BEST", fail_abort: str = "ON", dual: str = "OFF",
                      buffer: str = '"defbuffer1"') -> None:
        """§6 ``:SOURce[1]:SWEep:<function>:LINear``: a source configuration list of the points
        and a trigger model that recalls each, turns the output on, waits ``delay`` (-1: the
        auto delay, none here), measures into ``buffer`` and steps on; ``:INIT`` runs it. The
        list is named ``VoltLinearSweepList`` (the firmware's name is not confirmed). Sweeping
        current, repeating (count ≠ 1) and failAbort are not simulated."""
        if self._node() != "VOLT":
            raise ScpiError(-221, "Settings conflict; current source not simulated")
        if parse_int(count, 0, MAX_COUNT) != 1:
            raise ScpiError(-221, "Settings conflict; repeated sweeps not simulated")
        n = parse_int(points, 2, 1_000_000)
        low = parse_number(start, minimum=-MAX_VOLTAGE, maximum=MAX_VOLTAGE)
        high = parse_number(stop, minimum=-MAX_VOLTAGE, maximum=MAX_VOLTAGE)
        wait = parse_number(delay)
        if max(abs(low), abs(high)) > MAX_VOLTAGE or not (wait == -1 or 0 <= wait <= MAX_USER_DELAY):
            raise ScpiError(-222)
        if range_type.strip().upper() not in ("AUTO", "BEST", "FIX", "FIXED"):
            raise ScpiError(-224)
        parse_bool(fail_abort)
        name = unquote(buffer)
        self._buffer(name)
        levels = list(np.linspace(low, high, n))
        if parse_bool(dual):
            levels += levels[-2::-1]
        mode = range_type.strip().upper()
        if mode in ("FIX", "FIXED"):     # the present range, which every point must fit
            if max(abs(low), abs(high)) > self.source.range * 1.05:
                raise ScpiError(-222, "Parameter data out of range; level exceeds the source range")
            ranges = [self.source.range] * len(levels)
        elif mode == "BEST":             # one range that fits every point
            ranges = [next(r for r in VOLTAGE_RANGES if max(abs(low), abs(high)) <= r * 1.05)] * len(levels)
        else:                            # AUTO: each point on its own range
            ranges = [next(r for r in VOLTAGE_RANGES if abs(v) <= r * 1.05) for v in levels]
        settings = [replace(self.source, function="VOLT", level=float(v), output=True, autorange=mode == "AUTO",
                            range=r) for v, r in zip(levels, ranges)]
        self.config_lists["VoltLinearSweepList"] = settings
        self.blocks = {1: ("clear", name), 2: ("recall", "VoltLinearSweepList", 1), 3: ("delay", max(wait, 0.0)),
                       4: ("measure", name, 1), 5: ("next", "VoltLinearSweepList"),
                       6: ("counter", len(levels), 3)}

    # --- trigger model ------------------------------------------------------------------
    @command(":TRIGger:LOAD")
    def _trigger_load(self, name: str, *args: str) -> None:
        if unquote(name).upper() != "EMPTY":
            raise ScpiError(-224, "Illegal parameter value; only the Empty trigger model is simulated")
        self.blocks.clear()

    def _block(self, number: str, entry: tuple) -> None:
        self.blocks[parse_int(number, 1, MAX_BLOCKS)] = entry

    @command(":TRIGger:BLOCk:BUFFer:CLEar")
    def _block_buffer_clear(self, number: str, name: str = '"defbuffer1"') -> None:
        self._block(number, ("clear", unquote(name)))

    @command(":TRIGger:BLOCk:CONFig:NEXT")
    def _block_config_next(self, number: str, name: str) -> None:
        self._block(number, ("next", unquote(name)))

    @command(":TRIGger:BLOCk:CONFig:RECall")
    def _block_config_recall(self, number: str, name: str, index: str = "1") -> None:
        self._block(number, ("recall", unquote(name), int(parse_number(index))))

    @command(":TRIGger:BLOCk:SOURce:STATe")
    def _block_source_state(self, number: str, state: str) -> None:
        self._block(number, ("output", parse_bool(state)))

    @command(":TRIGger:BLOCk:DELay:CONStant")
    def _block_delay(self, number: str, seconds: str) -> None:
        value = parse_number(seconds)
        if not 0 <= value <= 100_000:
            raise ScpiError(-222)
        self._block(number, ("delay", value))

    @command(":TRIGger:BLOCk:MEASure")
    def _block_measure(self, number: str, name: str = '"defbuffer1"', count: str = "1") -> None:
        self._block(number, ("measure", unquote(name), parse_int(count, 1, MAX_COUNT)))

    @command(":TRIGger:BLOCk:BRANch:COUNter")
    def _block_counter(self, number: str, count: str, target: str) -> None:
        self._block(number, ("counter", parse_int(count, 1, MAX_COUNT), parse_int(target, 1, MAX_BLOCKS)))

    @command(":TRIGger:BLOCk:NOTify")
    def _block_notify(self, number: str, notify_id: str) -> None:
        self._block(number, ("notify", parse_int(notify_id, 1, NOTIFY_IDS)))

    # --- digital I/O line 1 as a trigger output ---------------------------------------------
    @command(":DIGital:LINE1:MODE")
    def _set_line_mode(self, kind: str, direction: str) -> None:
        self.line_mode = (keyword(kind, ("TRIGger", "DIGital")), keyword(direction, ("IN", "OUT", "OPENdrain")))

    @command(":DIGital:LINE1:MODE?")
    def _get_line_mode(self) -> str:
        return ",".join(self.line_mode)

    _line_stimulus = Setting(":TRIGger:DIGital1:OUT:STIMulus", "line_stimulus",
                             choice("NONE", *(f"NOTify{n}" for n in range(1, NOTIFY_IDS + 1))))
    _line_logic = Setting(":TRIGger:DIGital1:OUT:LOGic", "line_logic", choice("POSitive", "NEGative"))

    def _notify(self, notify_id: int) -> None:
        """A NOTify block's event: assert line 1 if it is a trigger output with this stimulus."""
        if self.line_mode == ("TRIG", "OUT") and self.line_stimulus == f"NOT{notify_id}":
            edge = "POS" if self.line_logic == "POS" else "NEG"
            for receiver in self.trigger_out:
                receiver(edge)

    @command(":TRIGger:BLOCk:BRANch:ALWays")
    def _block_always(self, number: str, target: str) -> None:
        self._block(number, ("always", parse_int(target, 1, MAX_BLOCKS)))

    @command(":TRIGger:STATe?")
    def _trigger_state(self) -> str:
        return f"{self.trigger_state};{self.trigger_state};{self.last_block}"

    @command(":ABORt")
    def _abort(self) -> None:
        self.stop_sequence()   # stopped by the interface already (interrupts()) unless ABOR came later in a message

    @command(":INITiate[:IMMediate]")
    def _initiate(self) -> None:
        """Run the trigger model (on a paced station in the background, RUNNING meanwhile)."""
        self.trigger_state = "RUNNING"
        self.play(self._play_trigger_model)

    def _play_trigger_model(self) -> None:
        try:
            self._run_trigger_model()
        except Interrupted as stop:   # by :ABOR, a device clear or a power loss; the budget: -200 says so
            self.trigger_state = "IDLE" if stop.budget else "ABORTED"
            raise
        self.trigger_state = "IDLE"

    def _run_trigger_model(self) -> None:
        """Run the trigger model from block 1 until it falls off the end.

        No block depends on a reading, so the blocks are walked first into a segment table (the
        drive, length and conversions of every hold), the device evolves over the whole table in one
        call (:meth:`SourcePort.hold_train`), and the readings and trips are then stored in order.
        The walk shares the stored points (a point switched on or off is copied once); the budget and
        :ABOR are checked at every branch taken and every reading; every ``TRAIN_CHUNK`` holds the
        device evolves over those walked so far. On a paced station it evolves hold by hold as the wall
        clock passes, and each reading is stored as it is taken."""
        table: list[tuple] = []   # per hold: V or None, A limit, s, conversions, settings in force, buffer or None
        steps: list[int | str | None] = []    # in order: a hold's row, a buffer cleared, None: output on
        counters: dict[int, int] = {}
        positions: dict[str, int] = {}
        # (id of settings, output) → (the settings, kept alive so that the id stays theirs; a copy switched so)
        switched: dict[tuple[int, bool], tuple[SourceSettings, SourceSettings]] = {}
        terminals: dict[int, tuple[SourceSettings, tuple[float | None, float]]] = {}   # id → (them, the port's drive)
        blocks, check, pc = self.blocks, self.run_control.check, 1

        def hold(duration: float, buffer: str | None, repeats: int) -> None:
            known = terminals.get(id(self.source))
            if known is None:
                known = terminals[id(self.source)] = (self.source, self._terminal())
            steps.append(len(table))
            table.append((*known[1], duration, repeats, self.source, buffer))
            # every TRAIN_CHUNK holds (an endless model stops at the budget, not out of memory), and on
            # a paced station after every hold (each reading stored as it is taken)
            if len(table) == TRAIN_CHUNK or self.port.node.pacer is not None:
                self._play(table, steps)

        try:
            while pc in blocks:
                block = blocks[pc]
                kind = block[0]
                self.last_block = pc
                pc += 1
                if kind == "next":
                    points = self.config_lists.get(block[1])
                    if not points:
                        self._point(block[1], 1)   # raises: no such list
                    position = positions[block[1]] = positions.get(block[1], 0) % len(points) + 1
                    self.source = points[position - 1]
                elif kind == "output":
                    if self.source.output != block[1]:
                        key = (id(self.source), block[1])
                        if key not in switched:
                            switched[key] = (self.source, replace(self.source, output=block[1]))
                        self.source = switched[key][1]
                    if block[1]:
                        steps.append(None)
                elif kind == "delay":
                    hold(block[1], None, 0)
                elif kind == "measure":
                    repeats = self._conversions()
                    for _ in range(block[2]):
                        check()
                        hold(self.aperture() * repeats, block[1], repeats)
                elif kind == "counter":
                    counters[pc - 1] = counters.get(pc - 1, 0) + 1
                    if counters[pc - 1] < block[1]:
                        check()   # :ABOR from another connection, or the simulator's budget
                        pc = block[2]
                elif kind == "clear":
                    self._buffer(block[1])
                    steps.append(block[1])
                elif kind == "recall":
                    positions[block[1]] = block[2]
                    self.source = self._point(block[1], block[2])
                elif kind == "always":
                    check()
                    pc = block[1]
                elif kind == "notify":   # the device reaches this block's time, then the line starts what it drives
                    self._play(table, steps)
                    self._notify(block[1])
        finally:   # the walk shared the stored points; the instrument goes on with its own copy
            self.source = replace(self.source)
        self._play(table, steps)

    def _play(self, table: list[tuple], steps: list[int | str | None]) -> None:
        """Evolve the device over the holds a trigger-model walk collected, then store their readings
        and trips and play the other ``steps`` in order (a buffer cleared; None: the output turned on,
        which clears a trip); both lists are emptied."""
        walked = self.source
        if table:
            voltages, limits, durations, conversions, sources, into = zip(*table)
            # while the device evolves the model is under way: a fault there leaves the first hold's
            # settings (output on) in force, as a model stopped midway would
            self.source = replace(sources[0])
            seen = self.port.hold_train(voltages, limits, durations, conversions, check=self.run_control.check)
            limited, source_voltage = seen.in_compliance.tolist(), seen.source_voltage.tolist()
            reading, time = seen.reading.tolist(), seen.time.tolist()
        for step in steps:
            if step.__class__ is int:
                source = sources[step]
                if source.output and self._limited(source, limited[step]):
                    self.tripped = True
                if into[step] is not None:
                    self._store_reading(into[step], source, limited[step], source_voltage[step], reading[step],
                                        time[step])
            elif step is None:
                self.tripped = False
            else:
                self._buffer(step).readings.clear()
        self.source = walked
        table.clear()
        steps.clear()
