"""Simulated Keysight (Agilent) B2900 series Precision Source/Measure Unit, SCPI command set.

Models B2901A, B2902A (50 µs pulses, 20 µs trigger interval), B2911A and B2912A (10 µs). Follows

- the Agilent B2900 SCPI Command Reference, part number B2910-90030, Edition 2 (July 2011):
  chapter 1 "Programming Basics" (numeric suffix ``[c]`` = channel, channel list ``(@1,2)``, data
  output format with ``+9.910000E+37`` for "not a number", Table 1-2 status data bits), chapter 2
  "Subsystem Command Summary" (reset settings, source output ranges), chapter 4 "Subsystem
  Commands" (FETCh, FORMat, READ, SENSe, SOURce incl. ``LIST`` of at most 2500 points, TRACe of
  1 to 100 000 points) and chapter 5 "Error Messages" (``+0,"No error"``; the queue is cleared
  by ``*CLS`` and at power-on, not by ``*RST``);
- the Keysight B2900 User's Guide, Edition 5: section 6 "Function Details", "Pulse Output"
  (source delay, measure delay, pulse delay, pulse width 50 µs to 100 000 s) and "Trigger
  System" (an ARM-TRIGger model per device action, transient and acquire, per channel);
  section 4 "Sweep dialog box" (output after a sweep); specifications (pulse width resolution
  1 µs; arm/trigger delay 0 to 100 000 s, interval 20 µs (B2901A/02A) or 10 µs (B2911A/12A) to
  100 000 s, count 1 to 100 000; DC ranges 0.2/2/20/200 V, 210 V, 3.03 A at ≤ 6 V, 1.515 A at
  ≤ 21 V, 105 mA above, 10.5 A pulsed for ≤ 1 ms);
- the Keysight B2961A/B2962A SCPI Command Reference, Edition 6 (same command tree) where the B2900
  pages were not available: compliance default 100 µA, ``:SENS:CURR:PROT:TRIP?``, aperture
  8 µs to 2 s clamped to MIN/MAX, ``:OUTP:OFF:MODE`` NORM/HIZ/ZERO, ``:OUTP:ON:AUTO`` default ON.

Not found in the pages consulted, so chosen here (marked "not confirmed" where used): the reset
values of the pulse width and trigger timer (the model's minimum), of the sense functions
(voltage and current) and of the output-off mode (NORMal: 0 V, relay open); the B2911A/12A 10 µs
minimum pulse width; the 1 nA compliance floor; the error number for a list longer than 2500
points (the SCPI-99 -223 "Too much data"); what a sweep does when the trigger count exceeds its
points (it holds the last point); the reply to an out-of-range compliance or timer (-222); the
timer commands ``:SYST:TIME:TIM:COUN[:RES[:AUTO]]`` with the TIME element counted from the last
INIT (automatic reset on); the bit order of the operation status condition register
(``:STAT:OPER:COND?``: bit 0 calibration or self-test running, then per channel, from bit 1 for
channel 1 and bit 7 for channel 2: transition idle, waiting for transition trigger, waiting for
transition arm, acquire idle, waiting for acquire trigger, waiting for acquire arm; taken from a
transcription of the reference's table); the initial source and measurement wait times (0 here:
the wait settings are stored only). Trigger lines other than AINT, BUS and TIMer, current
pulses, lists and sweeps (DC current sourcing in fixed mode, ``:SOUR:CURR`` under the voltage
limit ``:SENS:VOLT:PROT``, is simulated) and 4-wire sensing (``:SENS:REM ON``) are refused
with -221. Measurement data comes as ASCII NR3 or, with ``:FORM REAL,32|64``, as one IEEE 488.2
definite-length block in the ``:FORM:BORD`` byte order; the current ranges (``:SENS:CURR:RANG``,
``:SOUR:CURR:RANG``, with AUTO) are stored and reported, not applied to the reading's resolution.
Resistance (``:SENS:FUNC "RES"``, ``:MEAS:RES?``) is the measured voltage over the measured
current.

Per channel: voltage source, DC current source (a voltage source at the voltage limit held to
the level by its current limit: the device takes the level at the voltage it needs), DC or
pulse shape (base = ``:SOUR:VOLT``, peak = ``:SOUR:VOLT:TRIG`` or the list/sweep point), fixed,
list and linear sweep modes, current compliance with its trip flag and status bit, aperture and
NPLC, the ARM and TRIGger layers of both device actions (sources AINT, TIMer, BUS; count, delay,
timer), ``INIT``/``*TRG``/``ABOR``, ``FETC``/``READ``/``MEAS`` and the trace buffer, readings as
``:FORM:ELEM:SENS`` orders them, ``*ESR?``/``*ESE``/``*STB?``/``*OPC``/``*CLS``, the operation
status condition register (idle and waiting-for-trigger bits). Setting the DC level
also sets the triggered level (a level set with ``:VOLT:TRIG`` afterwards stays pending until a
trigger; a fixed-mode DC trigger makes it the DC level). An AINT layer follows the other device
action's events (both AINT: they step together, each trigger once the last one's actions are done);
a TIMer tick that comes while its action is busy is lost. With BUS, ``*TRG`` fires the next
trigger of every waiting action (ARM layers on BUS, or one action on BUS and the other on TIMer,
are refused with -221).

Time is the bench clock. Channel 1 drives the device through its :class:`SourcePort`; channel 2
is unwired (an open circuit: it sources its voltage, its readings are 0 A). ``INIT`` with TIMer or AINT triggers
runs the whole trigger model inside the command in bench time, holding the port between events
(base between pulses, peak for the pulse width, each reading integrating its aperture from its
acquire delay); with BUS triggers each ``*TRG`` runs the next trigger. After a sweep the output
returns to the DC level (User's Guide "Output after Sweep" START; the SCPI command selecting
END is not simulated).
"""
from __future__ import annotations

import functools
import math
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from labsuite.core.datasheets import KEYSIGHT_B2900
from labsuite.simulator.circuit import SegmentResult, SourcePort
from labsuite.simulator.instruments.scpi import (ScpiError, Setting, bounded, choice, command, commands, definite_block,
                                                 on_off, parse_bool, parse_number, unquote)
from labsuite.simulator.instruments.source_meter import SimulatedSourceMeter, TraceBuffer

VOLTAGE_RANGES = (0.2, 2.0, 20.0, 200.0)          # V
# a range setting of a channel and the autorange setting a range set by hand turns off
ELEMENT_NODES = ("CURRent", "VOLTage", "TIME", "STATus", "SOURce")   # :FETCh…:<element>? headers
AUTORANGE = {"range": "autorange", "current_range": "current_autorange",
             "sense_current_range": "sense_current_autorange"}
MAX_VOLTAGE = 210.0                               # V
COMPLIANCE_MIN = 1e-9                             # A, not confirmed (manual: "minimum measurement value")
COMPLIANCE_DC_MAX = 3.03                          # A
COMPLIANCE_PULSE_MAX = 10.5                       # A, pulse shape only
DEFAULT_COMPLIANCE = 100e-6                       # A
DEFAULT_VOLTAGE_COMPLIANCE = 2.0                  # V, not confirmed (B2961A/62A reset table as recalled)
VOLTAGE_COMPLIANCE_MIN = 20e-3                    # V, not confirmed
APERTURE_RANGE = (8e-6, 2.0)                      # s; out-of-range values are set to MIN/MAX
DEFAULT_NPLC = 0.1
LINE_FREQUENCIES = (50.0, 60.0)                   # Hz
LIST_POINTS = 2500                                # list sweep and sweep points
COUNT_MAX = 100_000                               # arm/trigger count
MAX_EVENTS = 1_000_000                            # arm × trigger events one INIT plays (simulator bound)
TIME_MAX = 100_000.0                              # s, arm/trigger delay and timer, pulse width
TRACE_POINTS = 100_000                            # trace buffer size
NOT_A_NUMBER = 9.91e37
# Current ranges (A) of the source and the measurement (data sheet 5990-7009EN, "Source and
# measurement ranges": 10 nA on the B2911A/12A only; 10 A is a pulse range).
CURRENT_RANGES = (10e-9, 100e-9, 1e-6, 10e-6, 100e-6, 1e-3, 10e-3, 100e-3, 1.0, 1.5, 3.0, 10.0)
# :FORMat[:DATA] replies and the struct code of each binary format (Reference ch. 4 FORMat:
# IEEE-754 single or double precision in an IEEE 488.2 definite-length block).
DATA_FORMATS = {"ASC": "", "REAL,32": "f", "REAL,64": "d"}
ELEMENTS = ("VOLT", "CURR", "RES", "TIME", "STAT", "SOUR")   # the fixed output order (FORMat)
STATUS_COMPLIANCE = 2                             # Table 1-2: bits 1-2 non-zero = in compliance
OPERATION_TRANSITION_IDLE = 1 << 1                # :STAT:OPER:COND?, channel 1; channel 2 six bits up
OPERATION_TRANSITION_TRIGGER = 1 << 2             # waiting for the transition trigger
OPERATION_ACQUIRE_IDLE = 1 << 4
OPERATION_ACQUIRE_TRIGGER = 1 << 5                # waiting for the acquire trigger
OPERATION_CHANNEL_BITS = 6

MESSAGES = {
    0: "No error", -100: "Command error", -102: "Syntax error", -104: "Data type error",
    -108: "Parameter not allowed", -109: "Missing parameter", -113: "Undefined header",
    -114: "Header suffix out of range", -221: "Settings conflict", -222: "Data out of range",
    -223: "Too much data", -224: "Illegal parameter value", -350: "Error queue overflow",
    -410: "Query INTERRUPTED", -420: "Query UNTERMINATED",
}

_CHANNEL_NODES = {"SOUR", "SOURCE", "SENS", "SENSE", "OUTP", "OUTPUT", "TRIG", "TRIGGER", "ARM", "TRAC", "TRACE"}
_SUFFIXED = re.compile(r"([A-Za-z]+)(\d+)")


def current_envelope(volts: float, pulse_width: float | None) -> float:
    """Largest current (A) the output delivers at ``volts`` V, DC or in pulses ``pulse_width`` s
    wide (voltage output range table of the B2961A/B2962A reference, Table 2-4; the figures match
    the B2901A/B2902A data sheet: 3.03 A DC and 10.5 A pulsed)."""
    v = abs(volts)
    limit = 3.03 if v <= 6.0 else 1.515 if v <= 21.0 else 0.105
    if pulse_width is not None:
        if v <= 6.0 and pulse_width <= 1e-3:
            limit = max(limit, 10.5)
        if v <= 200.0 and pulse_width <= 2.5e-3:
            limit = max(limit, 1.515)
        if v <= 180.0 and pulse_width <= 10e-3:
            limit = max(limit, 1.05)
    return limit


@dataclass
class Layer:
    """One layer (ARM or TRIGger) of one device action: where its events come from, how many."""

    source: str = "AINT"
    timer: float = 20e-6      # s, not confirmed: the reset value is the model's shortest interval here
    count: int = 1
    delay: float = 0.0        # s


@dataclass
class Action:
    """The ARM-TRIGger loops of one device action (transient = source output, acquire = reading)."""

    arm: Layer = field(default_factory=Layer)
    trigger: Layer = field(default_factory=Layer)

    @property
    def total(self) -> int:
        return self.arm.count * self.trigger.count


@dataclass
class Reading:
    voltage: float     # V, measured at the terminals (the source readback)
    current: float     # A
    time: float        # s on the instrument timer, when the reading started
    status: int        # Table 1-2 bits
    source: float      # V, the programmed output during the reading


@dataclass
class ChannelState:
    """Everything ``*RST`` sets for one channel."""

    min_interval: float
    min_pulse_width: float
    line_frequency: float
    function: str = "VOLT"
    shape: str = "DC"
    mode: str = "FIX"
    level: float = 0.0                 # V, DC output (pulse base)
    triggered: float = 0.0             # V, :VOLT:TRIG
    range: float = 0.2
    autorange: bool = True
    points: list[float] = field(default_factory=lambda: [0.0])
    start: float = 0.0
    stop: float = 0.0
    sweep_points: int = 1
    pulse_width: float = 0.0           # s, set to the model's minimum (reset value not confirmed)
    pulse_delay: float = 0.0           # s
    compliance: float = DEFAULT_COMPLIANCE
    voltage_compliance: float = DEFAULT_VOLTAGE_COMPLIANCE   # V, applies while sourcing current
    current_level: float = 0.0         # A, :SOUR:CURR
    current_range: float = 100e-6      # A, :SOUR:CURR:RANG (reset value not confirmed)
    current_autorange: bool = True     # :SOUR:CURR:RANG:AUTO
    sense_current_range: float = 100e-6   # A, :SENS:CURR:RANG: the *RST compliance's range (not confirmed)
    sense_current_autorange: bool = True  # :SENS:CURR:RANG:AUTO
    aperture: float = 0.0              # s, 0.1 PLC at reset
    functions: list[str] = field(default_factory=lambda: ["VOLT", "CURR"])   # reset value not confirmed
    output: bool = False
    off_mode: str = "NORM"             # reset value not confirmed
    auto_on: bool = True
    source_wait: bool = True
    sense_wait: bool = True
    transient: Action = field(default_factory=Action)
    acquire: Action = field(default_factory=Action)
    present: float = 0.0               # V, what the output sources right now
    tripped: bool = False
    readings: list[Reading] = field(default_factory=list)
    bus: dict[str, list[int]] = field(default_factory=dict)   # action -> trigger indexes waiting for *TRG
    sweeping: bool = False             # a paced TIMer/AINT initiation plays in the background

    def __post_init__(self) -> None:
        self.pulse_width = self.min_pulse_width
        self.aperture = DEFAULT_NPLC / self.line_frequency
        for action in (self.transient, self.acquire):
            action.arm.timer = action.trigger.timer = self.min_interval

    def terminal(self) -> float | None:
        """Voltage the output sources (None: relay open). The current source is a voltage
        source at the voltage limit (of the level's sign) held to the level by its current
        limit: the device takes the level at the voltage it needs, or the limit if it needs more."""
        if self.output and self.function == "CURR":
            return math.copysign(self.voltage_compliance, self.current_level) if self.current_level else 0.0
        if self.output:
            return self.present
        return 0.0 if self.off_mode == "ZERO" else None

    def current_limit(self) -> float:
        if self.output and self.function == "CURR":
            return abs(self.current_level) if self.current_level else math.inf
        width = self.pulse_width if self.shape == "PULS" else None
        return min(self.compliance, current_envelope(self.present, width))

    def limited(self, result: SegmentResult) -> bool:
        """The output is at its compliance: the current limit (voltage source) or the voltage
        limit (current source: the device did not take the level)."""
        if not self.output:
            return False
        if self.function == "CURR":
            return bool(self.current_level) and not result.in_compliance
        return result.in_compliance

    def source_value(self) -> float:
        """The programmed output: V, or A for the current source (the SOUR element)."""
        return self.current_level if self.function == "CURR" else self.present

    def point_level(self, k: int) -> float:
        """Level of the transient for the ``k``-th trigger of an arm cycle."""
        if self.mode == "LIST":
            return self.points[min(k, len(self.points) - 1)]
        if self.mode == "SWE":
            step = (self.stop - self.start) / (self.sweep_points - 1) if self.sweep_points > 1 else 0.0
            return self.start + step * min(k, self.sweep_points - 1)
        return self.triggered


@dataclass(order=True)
class _Event:
    time: float                            # s from the start of the run
    order: int                             # at one instant: readings end, then levels change, then start
    seq: int
    kind: str = field(compare=False)       # "end", "level", "start"
    channel: int = field(compare=False)
    value: float = field(compare=False, default=0.0)
    fixed: bool = field(compare=False, default=False)   # a DC fixed-mode transient: the DC level follows


@dataclass
class _Window:
    start: float                           # s on the bench clock
    source: float                          # V programmed at the start
    charge: float = 0.0                    # A·s
    flux: float = 0.0                      # V·s
    limited: bool = False


def _tick(layer: Layer, origin: float, ready: float, first: int) -> tuple[float, int]:
    """When ``layer``'s next event comes and the number of its tick: at once (AINT), or at the
    first tick of its timer (counted from ``origin``) that is not before ``ready`` and not
    before tick number ``first`` (a tick gives one event; ticks that come while busy are lost)."""
    if layer.source == "AINT":
        return ready, first
    # a tick within a millionth of a period of ``ready`` (rounding of sums of times) is on time,
    # and comes at ``ready``: never before the last action ended
    n = max(first, math.ceil((ready - origin) / layer.timer - 1e-6))
    return max(origin + n * layer.timer, ready), n


def _loops(action: Action, finish: Callable[[float], float]) -> list[float]:
    """Trigger event times (s from INIT) of ``action``'s ARM-TRIGger loops; ``finish(t)`` is when
    the device actions an event at ``t`` starts are done (no event is taken before)."""
    if action.arm.count * action.trigger.count > MAX_EVENTS:
        raise ScpiError(-221, f"Settings conflict; more than {MAX_EVENTS} trigger events in one "
                              f"initiation are not simulated")
    events: list[float] = []
    ready, arm_tick = 0.0, 0
    for _ in range(action.arm.count):
        armed, arm_tick = _tick(action.arm, 0.0, ready, arm_tick)
        start = armed + action.arm.delay
        ready, tick, arm_tick = start, 0, arm_tick + 1
        for _ in range(action.trigger.count):
            t, tick = _tick(action.trigger, start, ready, tick)
            events.append(t)
            ready, tick = finish(t), tick + 1
    return events


def parse_chanlist(args: tuple[str, ...], channels: int) -> list[int]:
    """``(@1)``, ``(@1,2)``, ``(@1:2)``, ... → sorted channel numbers; none given: channel 1."""
    if not args:
        return [1]
    match = re.fullmatch(r"\(@([\d,:\s]+)\)", ",".join(a.strip() for a in args))
    if not match:
        raise ScpiError(-104, MESSAGES[-104])
    found: set[int] = set()
    for part in match.group(1).split(","):
        try:
            ends = [int(x) for x in part.split(":")]
        except ValueError:
            raise ScpiError(-104, MESSAGES[-104]) from None
        found.update(range(min(ends), max(ends) + 1))
    if not found or not all(1 <= c <= channels for c in found):
        raise ScpiError(-222, MESSAGES[-222])
    return sorted(found)


def _layer_headers(tail: str) -> tuple[str, ...]:
    """The headers of ``tail`` of the ARM and TRIGger layers, of one action or ``[:ALL]``."""
    return tuple(f"{layer}{action}:{tail}" for layer in (":ARM", ":TRIGger")
                 for action in ("[:ALL]", ":ACQuire", ":TRANsient"))


def _trigger_source(arg: str) -> str:
    """A layer's trigger source: AINT (AUTO), BUS or TIMer; INT1/2, EXT1-14 and LAN (the
    instrument's, nothing wired to them here) -221, another -224."""
    token = arg.strip().upper()
    names = {"AINT": "AINT", "AUTO": "AINT", "BUS": "BUS", "TIM": "TIM", "TIMER": "TIM"}
    if token not in names:
        code = -221 if re.fullmatch(r"(INT|EXT)\d+|LAN", token) else -224
        raise ScpiError(code, MESSAGES[code])
    return names[token]


def _held(ch: ChannelState, level: float) -> float:
    """``level``, which the channel's voltage range must hold unless it autoranges (-222)."""
    if not ch.autorange and abs(level) > ch.range * 1.05:
        raise ScpiError(-222, MESSAGES[-222])
    return level


def whole(minimum: int, maximum: int, default: int) -> Callable[[str], int]:
    """Parser of a whole-number parameter in [minimum, maximum] (MIN, MAX, DEF too); a fraction
    or a number outside, -222."""
    def parse(arg: str) -> int:
        value = parse_number(arg, minimum=minimum, maximum=maximum, default=default)
        if value != int(value) or not minimum <= value <= maximum:
            raise ScpiError(-222, MESSAGES[-222])
        return int(value)
    return parse


def _voltage_range(arg: str) -> float:
    """The voltage range a ``RANGe`` parameter selects (MIN, MAX, DEF or a value in V); beyond
    the largest level, -222."""
    value = abs(parse_number(arg, minimum=VOLTAGE_RANGES[0], maximum=VOLTAGE_RANGES[-1], default=VOLTAGE_RANGES[-1]))
    if value > MAX_VOLTAGE:
        raise ScpiError(-222, MESSAGES[-222])
    return _range_for(value)


def _nr3(value: float) -> str:
    return f"{value:+.6E}"


class KeysightB2900(SimulatedSourceMeter):
    """A B2900 ``model`` whose channel 1 drives the device through ``port`` on the bench clock;
    channel 2 (two-channel models) is unwired: it sources into an open circuit."""

    simulates = {"keysightb2900": "B2902A"}   # registry name (labsuite.registry) → model

    def __init__(self, port: SourcePort, *, model: str = "B2902A") -> None:
        if model not in KEYSIGHT_B2900:
            raise ValueError(f"no B2900 model {model!r}; choose one of {', '.join(KEYSIGHT_B2900)}")
        super().__init__(port)
        self.spec = KEYSIGHT_B2900[model]
        self.model = model
        self.idn = f"Keysight Technologies,{model},MY00000001,4.0.2011.5100"   # serial and firmware invented
        self.line_frequency = 60.0
        self._suffix = 1
        self._header = ""
        self._seq = 0
        self.power_on()

    # --- state ---------------------------------------------------------------------------
    def power_on(self) -> None:
        """The state after mains on: reset settings, empty error queue and buffers, PON set."""
        self.power_on_status()
        self.timer_zero = self.clock.now()
        self.timer_auto_reset = True   # reset value not confirmed
        self.reset()

    def reset(self) -> None:
        """``*RST``: every channel to its reset settings (the error queue is kept)."""
        self.channels = [ChannelState(self.spec.min_interval, self.spec.min_pulse_width, self.line_frequency)
                         for _ in range(self.spec.channels)]
        self.traces = [TraceBuffer(TRACE_POINTS) for _ in range(self.spec.channels)]
        self.elements = list(ELEMENTS)
        self.data_format = "ASC"          # :FORMat[:DATA], *RST ASCii
        self.byte_order = "NORM"          # :FORMat:BORDer, *RST NORMal (big-endian)

    def format_error(self, code: int, message: str) -> str:
        return f'{code:+d},"{MESSAGES.get(code, message)}"'

    def _find(self, header: str, query: bool):
        """Take the channel suffix off ``SOUR2``, ``SENS2``, ``OUTP2``, ``TRIG2``, ``ARM2``, ``TRAC2``."""
        self._suffix = 1
        nodes = []
        for node in header.split(":"):
            match = _SUFFIXED.fullmatch(node)
            if match and match.group(1).upper() in _CHANNEL_NODES:
                number = int(match.group(2))
                if not 1 <= number <= self.spec.channels:
                    raise ScpiError(-114, MESSAGES[-114])
                self._suffix, node = number, match.group(1)
            nodes.append(node)
        self._header = ":".join(nodes).upper()
        return super()._find(":".join(nodes), query)

    def _ch(self) -> ChannelState:
        return self.channels[self._suffix - 1]

    def _drive(self) -> None:
        ch = self.channels[0]
        self.port.drive(ch.terminal(), ch.current_limit())

    def _restart_timer(self) -> None:
        """INIT, READ and MEASure zero the timer when its automatic reset is on."""
        if self.timer_auto_reset:
            self.timer_zero = self.clock.now()

    # --- IEEE 488.2 common commands --------------------------------------------------------
    @command("*TRG")
    def _trg(self) -> None:
        """Fire the next trigger of every action waiting for a BUS trigger."""
        waiting = [(i, ch) for i, ch in enumerate(self.channels) if ch.bus]
        events: list[_Event] = []
        for i, ch in waiting:
            for name, indexes in ch.bus.items():
                action = ch.transient if name == "tran" else ch.acquire
                events += self._action_events(i, name, action.trigger.delay, indexes.pop(0) % action.trigger.count)
            ch.bus = {name: left for name, left in ch.bus.items() if left}
        self._run(events, [ch for _, ch in waiting if not ch.bus])

    # --- system ---------------------------------------------------------------------------
    @command(":STATus:OPERation:CONDition?")
    def _operation_condition(self) -> str:
        """Idle, busy (a paced TIMer/AINT model playing) or waiting for a ``*TRG`` (in virtual time
        TIMer/AINT models run to their end inside INIT)."""
        value = 0
        for i, ch in enumerate(self.channels):
            for name, idle, waiting in (("tran", OPERATION_TRANSITION_IDLE, OPERATION_TRANSITION_TRIGGER),
                                        ("acq", OPERATION_ACQUIRE_IDLE, OPERATION_ACQUIRE_TRIGGER)):
                state = waiting if name in ch.bus else 0 if ch.sweeping else idle
                value |= state << (OPERATION_CHANNEL_BITS * i)
        return str(value)

    @command(":SYSTem:TIME:TIMer:COUNt?")
    def _get_timer(self) -> str:
        return _nr3(self.clock.now() - self.timer_zero)

    @command(":SYSTem:TIME:TIMer:COUNt:RESet")
    def _reset_timer(self) -> None:
        self.timer_zero = self.clock.now()

    _timer_auto_reset = Setting(":SYSTem:TIME:TIMer:COUNt:RESet:AUTO", "timer_auto_reset", parse_bool, on_off)

    @command(":SYSTem:LFRequency")
    def _set_line_frequency(self, arg: str) -> None:
        value = parse_number(arg, minimum=50.0, maximum=60.0, default=50.0)
        if value not in LINE_FREQUENCIES:
            raise ScpiError(-224, MESSAGES[-224])
        self.line_frequency = value

    @command(":SYSTem:LFRequency?")
    def _get_line_frequency(self) -> str:
        return f"{self.line_frequency:+.0f}"

    # --- source ---------------------------------------------------------------------------
    _function = Setting("[:SOURce]:FUNCtion:MODE", "_ch().function", choice("VOLTage", "CURRent"))

    _shape = Setting("[:SOURce]:FUNCtion[:SHAPe]", "_ch().shape", choice("DC", "PULSe"))

    @command("[:SOURce]:VOLTage[:LEVel][:IMMediate][:AMPLitude]")
    def _set_level(self, arg: str) -> None:
        ch = self._ch()
        ch.level = ch.triggered = self._level(ch, arg)
        ch.present = ch.level
        if ch.autorange:
            ch.range = _range_for(ch.level)

    @command("[:SOURce]:VOLTage[:LEVel][:IMMediate][:AMPLitude]?")
    def _get_level(self, which: str = "") -> str:
        return _nr3(_limit_query(which, self._ch().level, -MAX_VOLTAGE, MAX_VOLTAGE, 0.0))

    @command("[:SOURce]:CURRent[:LEVel][:IMMediate][:AMPLitude]")
    def _set_current_level(self, arg: str) -> None:
        """Reference ch. 4 ``[:SOURce[c]]:CURRent[:LEVel][:IMMediate][:AMPLitude]``: the level of
        the current-source function (DC, fixed mode)."""
        ch = self._ch()
        high = COMPLIANCE_PULSE_MAX if ch.shape == "PULS" else COMPLIANCE_DC_MAX
        value = parse_number(arg, minimum=-high, maximum=high, default=0.0)
        if abs(value) > high:
            raise ScpiError(-222, MESSAGES[-222])
        ch.current_level = value

    @command("[:SOURce]:CURRent[:LEVel][:IMMediate][:AMPLitude]?")
    def _get_current_level(self, which: str = "") -> str:
        ch = self._ch()
        high = COMPLIANCE_PULSE_MAX if ch.shape == "PULS" else COMPLIANCE_DC_MAX
        return _nr3(_limit_query(which, ch.current_level, -high, high, 0.0))

    @command("[:SOURce]:CURRent:RANGe")
    def _set_current_range(self, arg: str) -> None:
        """Reference ch. 4 ``[:SOURce[c]]:CURRent:RANGe``: a fixed current-source range."""
        self._fix_range(current_range=self._current_range(arg))

    @command("[:SOURce]:CURRent:RANGe?")
    def _get_current_range(self) -> str:
        return _nr3(self._ch().current_range)

    _current_autorange = Setting("[:SOURce]:CURRent:RANGe:AUTO", "_ch().current_autorange", parse_bool, on_off)

    @command("[:SOURce]:VOLTage[:LEVel]:TRIGgered[:AMPLitude]")
    def _set_triggered(self, arg: str) -> None:
        ch = self._ch()
        ch.triggered = self._level(ch, arg)

    @command("[:SOURce]:VOLTage[:LEVel]:TRIGgered[:AMPLitude]?")
    def _get_triggered(self, which: str = "") -> str:
        return _nr3(_limit_query(which, self._ch().triggered, -MAX_VOLTAGE, MAX_VOLTAGE, 0.0))

    def _level(self, ch: ChannelState, arg: str) -> float:
        return _held(ch, bounded(-MAX_VOLTAGE, MAX_VOLTAGE, 0.0)(arg))

    def _take_levels(self, **levels: float) -> None:
        """Sweep ends, which a fixed voltage range must hold (-222)."""
        ch = self._ch()
        for name, value in levels.items():
            setattr(ch, name, _held(ch, value))

    def _fix_range(self, **fixed: float) -> None:
        """A range set by hand: autoranging of what it ranges stops."""
        ch = self._ch()
        for name, value in fixed.items():
            setattr(ch, name, value)
            setattr(ch, AUTORANGE[name], False)

    _mode = Setting("[:SOURce]:VOLTage:MODE", "_ch().mode", choice("FIXed", "LIST", "SWEep"))

    _range = Setting("[:SOURce]:VOLTage:RANGe", "_ch().range", _voltage_range, _nr3, apply="_fix_range")

    _autorange = Setting("[:SOURce]:VOLTage:RANGe:AUTO", "_ch().autorange", parse_bool, on_off)

    _sweep_start = Setting("[:SOURce]:VOLTage:STARt", "_ch().start", bounded(-MAX_VOLTAGE, MAX_VOLTAGE, 0.0), _nr3,
                           apply="_take_levels")

    _sweep_stop = Setting("[:SOURce]:VOLTage:STOP", "_ch().stop", bounded(-MAX_VOLTAGE, MAX_VOLTAGE, 0.0), _nr3,
                          apply="_take_levels")

    _sweep_points = Setting(("[:SOURce]:VOLTage:POINts", "[:SOURce]:SWEep:POINts"), "_ch().sweep_points",
                            whole(1, LIST_POINTS, 1))

    @command("[:SOURce]:LIST:VOLTage")
    def _set_list(self, *values: str) -> None:
        ch = self._ch()
        ch.points = self._list_values(ch, values, 0)

    @command("[:SOURce]:LIST:VOLTage:APPend")
    def _append_list(self, *values: str) -> None:
        ch = self._ch()
        ch.points = ch.points + self._list_values(ch, values, len(ch.points))

    def _list_values(self, ch: ChannelState, values: tuple[str, ...], present: int) -> list[float]:
        if not values:
            raise ScpiError(-109, MESSAGES[-109])
        if present + len(values) > LIST_POINTS:
            raise ScpiError(-223, MESSAGES[-223])   # code not confirmed; the limit is the manual's
        return [self._level(ch, v) for v in values]

    @command("[:SOURce]:LIST:VOLTage?")
    def _get_list(self) -> str:
        return ",".join(_nr3(v) for v in self._ch().points)

    @command("[:SOURce]:LIST:VOLTage:POINts?")
    def _list_points(self) -> str:
        return str(len(self._ch().points))

    @command("[:SOURce]:PULSe:WIDTh")
    def _set_pulse_width(self, arg: str) -> None:
        low = self.spec.min_pulse_width
        value = parse_number(arg, minimum=low, maximum=TIME_MAX, default=low)
        if not low * (1 - 1e-9) <= value <= TIME_MAX:
            raise ScpiError(-222, MESSAGES[-222])
        self._ch().pulse_width = round(value * 1e6) / 1e6      # 1 µs resolution

    @command("[:SOURce]:PULSe:WIDTh?")
    def _get_pulse_width(self, which: str = "") -> str:
        low = self.spec.min_pulse_width
        return _nr3(_limit_query(which, self._ch().pulse_width, low, TIME_MAX, low))

    @command("[:SOURce]:PULSe:DELay")
    def _set_pulse_delay(self, arg: str) -> None:
        value = parse_number(arg, minimum=0.0, maximum=TIME_MAX, default=0.0)
        if not 0.0 <= value <= TIME_MAX:        # upper limit not confirmed: the trigger delay's is used
            raise ScpiError(-222, MESSAGES[-222])
        self._ch().pulse_delay = round(value * 1e6) / 1e6

    @command("[:SOURce]:PULSe:DELay?")
    def _get_pulse_delay(self) -> str:
        return _nr3(self._ch().pulse_delay)

    # stored; the simulator's initial wait time is 0
    _source_wait = Setting("[:SOURce]:WAIT[:STATe]", "_ch().source_wait", parse_bool, on_off)

    # --- sense ----------------------------------------------------------------------------
    @command(":SENSe:FUNCtion[:ON]")
    def _function_on(self, *names: str) -> None:
        ch = self._ch()
        for name in self._functions(names):
            if name not in ch.functions:
                ch.functions.append(name)

    @command(":SENSe:FUNCtion:OFF")
    def _function_off(self, *names: str) -> None:
        ch = self._ch()
        for name in self._functions(names):
            if name in ch.functions:
                ch.functions.remove(name)

    def _functions(self, names: tuple[str, ...]) -> list[str]:
        if not names:
            raise ScpiError(-109, MESSAGES[-109])
        known = {"VOLT": "VOLT", "VOLT:DC": "VOLT", "VOLTAGE": "VOLT", "VOLTAGE:DC": "VOLT",
                 "CURR": "CURR", "CURR:DC": "CURR", "CURRENT": "CURR", "CURRENT:DC": "CURR",
                 "RES": "RES", "RESISTANCE": "RES"}
        out = []
        for name in names:
            key = unquote(name).upper()
            if key not in known:
                raise ScpiError(-224, MESSAGES[-224])
            out.append(known[key])
        return out

    @command(":SENSe:FUNCtion[:ON]?")
    def _functions_on(self) -> str:
        return ",".join(f'"{name}"' for name in self._ch().functions)

    @command(":SENSe:CURRent[:DC]:PROTection[:LEVel]")
    def _set_compliance(self, arg: str) -> None:
        ch = self._ch()
        high = COMPLIANCE_PULSE_MAX if ch.shape == "PULS" else COMPLIANCE_DC_MAX
        ch.compliance = bounded(COMPLIANCE_MIN, high, DEFAULT_COMPLIANCE)(arg)

    @command(":SENSe:CURRent[:DC]:PROTection[:LEVel]?")
    def _get_compliance(self, which: str = "") -> str:
        ch = self._ch()
        high = COMPLIANCE_PULSE_MAX if ch.shape == "PULS" else COMPLIANCE_DC_MAX
        return _nr3(_limit_query(which, ch.compliance, COMPLIANCE_MIN, high, DEFAULT_COMPLIANCE))

    @command(":SENSe:VOLTage[:DC]:PROTection[:LEVel]")
    def _set_voltage_compliance(self, arg: str) -> None:
        """Reference ch. 4 ``[:SENSe[c]]:VOLTage[:DC]:PROTection[:LEVel]``: the voltage limit
        while sourcing current."""
        self._ch().voltage_compliance = bounded(VOLTAGE_COMPLIANCE_MIN, MAX_VOLTAGE, DEFAULT_VOLTAGE_COMPLIANCE)(arg)

    @command(":SENSe:VOLTage[:DC]:PROTection[:LEVel]?")
    def _get_voltage_compliance(self, which: str = "") -> str:
        return _nr3(_limit_query(which, self._ch().voltage_compliance, VOLTAGE_COMPLIANCE_MIN, MAX_VOLTAGE,
                                 DEFAULT_VOLTAGE_COMPLIANCE))

    @command(":SENSe:REMote")
    def _set_remote_sense(self, arg: str) -> None:
        """Reference ch. 4 ``[:SENSe[c]]:REMote``: 2-wire (OFF, the reset value) is what is
        simulated; 4-wire sensing is refused with -221."""
        if parse_bool(arg):
            raise ScpiError(-221, MESSAGES[-221])

    @command(":SENSe:REMote?")
    def _get_remote_sense(self) -> str:
        return "0"

    @command(":SENSe:CURRent[:DC]:RANGe[:UPPer]")
    def _set_sense_current_range(self, arg: str) -> None:
        """Reference ch. 4 ``[:SENSe[c]]:CURRent[:DC]:RANGe[:UPPer]``: a fixed measurement range
        (autorange off); a value selects the smallest range holding it."""
        self._fix_range(sense_current_range=self._current_range(arg))

    @command(":SENSe:CURRent[:DC]:RANGe[:UPPer]?")
    def _get_sense_current_range(self) -> str:
        return _nr3(self._ch().sense_current_range)

    _sense_current_autorange = Setting(":SENSe:CURRent[:DC]:RANGe:AUTO", "_ch().sense_current_autorange", parse_bool,
                                       on_off)

    def _current_range(self, arg: str) -> float:
        """The current range a ``RANGe`` parameter selects (MIN, MAX, DEF or a value in A)."""
        ranges = [r for r in CURRENT_RANGES if self.spec.min_current_range <= r <= COMPLIANCE_DC_MAX]
        value = abs(parse_number(arg, minimum=ranges[0], maximum=ranges[-1], default=100e-6))
        if value > ranges[-1] * 1.05:
            raise ScpiError(-222, MESSAGES[-222])
        return next((r for r in ranges if value <= r * 1.05), ranges[-1])

    @command(":SENSe:CURRent[:DC]:PROTection:TRIPped?")
    @command(":SENSe:VOLTage[:DC]:PROTection:TRIPped?")
    def _get_tripped(self) -> str:
        return "1" if self._ch().tripped else "0"

    @command(":SENSe:CURRent[:DC]:APERture")
    @command(":SENSe:VOLTage[:DC]:APERture")
    def _set_aperture(self, arg: str) -> None:
        low, high = APERTURE_RANGE
        value = parse_number(arg, minimum=low, maximum=high, default=DEFAULT_NPLC / self.line_frequency)
        self._ch().aperture = min(max(value, low), high)      # "automatically set to MIN or MAX"

    @command(":SENSe:CURRent[:DC]:APERture?")
    @command(":SENSe:VOLTage[:DC]:APERture?")
    def _get_aperture(self, which: str = "") -> str:
        low, high = APERTURE_RANGE
        return _nr3(_limit_query(which, self._ch().aperture, low, high, DEFAULT_NPLC / self.line_frequency))

    @command(":SENSe:CURRent[:DC]:NPLCycles")
    @command(":SENSe:VOLTage[:DC]:NPLCycles")
    def _set_nplc(self, arg: str) -> None:
        low, high = (x * self.line_frequency for x in APERTURE_RANGE)
        value = parse_number(arg, minimum=low, maximum=high, default=DEFAULT_NPLC)
        self._ch().aperture = min(max(value, low), high) / self.line_frequency

    @command(":SENSe:CURRent[:DC]:NPLCycles?")
    @command(":SENSe:VOLTage[:DC]:NPLCycles?")
    def _get_nplc(self) -> str:
        return _nr3(self._ch().aperture * self.line_frequency)

    # stored; the simulator's initial wait time is 0
    _sense_wait = Setting(":SENSe:WAIT[:STATe]", "_ch().sense_wait", parse_bool, on_off)

    # --- output ---------------------------------------------------------------------------
    @command(":OUTPut[:STATe]")
    def _set_output(self, arg: str) -> None:
        self._switch(self._ch(), parse_bool(arg))

    def _switch(self, ch: ChannelState, on: bool) -> None:
        if on and ch.function == "CURR" and (ch.shape != "DC" or ch.mode != "FIX"):
            raise ScpiError(-221, MESSAGES[-221])      # current pulses, lists and sweeps are not simulated
        if on and not ch.output:
            ch.tripped = False
        ch.output = on
        ch.present = ch.level

    @command(":OUTPut[:STATe]?")
    def _get_output(self) -> str:
        return "1" if self._ch().output else "0"

    _off_mode = Setting(":OUTPut:OFF:MODE", "_ch().off_mode", choice("ZERO", "HIZ", "NORMal"))

    _auto_on = Setting(":OUTPut:ON:AUTO", "_ch().auto_on", parse_bool, on_off)

    # --- trigger system -------------------------------------------------------------------
    def _layers(self) -> list[Layer]:
        """The layers a ``:ARM…``/``:TRIGger…`` header addresses: ``[:ALL]`` means both actions."""
        nodes = self._header.split(":")
        ch = self._ch()
        pick = (lambda a: a.arm) if nodes[1] == "ARM" else (lambda a: a.trigger)
        if len(nodes) > 3 and nodes[2] in ("ACQ", "ACQUIRE"):
            return [pick(ch.acquire)]
        if len(nodes) > 3 and nodes[2] in ("TRAN", "TRANSIENT"):
            return [pick(ch.transient)]
        return [pick(ch.transient), pick(ch.acquire)]

    def _layer(self) -> Layer:
        """The first layer the header addresses: a query answers its setting."""
        return self._layers()[0]

    def _set_layers(self, **setting: object) -> None:
        """Give every layer the header addresses the setting."""
        for layer in self._layers():
            for name, value in setting.items():
                setattr(layer, name, value)

    _layer_source = Setting(_layer_headers("SOURce[:SIGNal]"), "_layer().source", _trigger_source, apply="_set_layers")

    @commands(*_layer_headers("TIMer"))
    def _set_layer_timer(self, arg: str) -> None:
        low = self.spec.min_interval
        value = parse_number(arg, minimum=low, maximum=TIME_MAX, default=low)
        if not low * (1 - 1e-9) <= value <= TIME_MAX:
            raise ScpiError(-222, MESSAGES[-222])
        self._set_layers(timer=value)

    @commands(*_layer_headers("TIMer?"))
    def _get_layer_timer(self) -> str:
        return _nr3(self._layer().timer)

    _layer_count = Setting(_layer_headers("COUNt"), "_layer().count", whole(1, COUNT_MAX, 1), apply="_set_layers")

    _layer_delay = Setting(_layer_headers("DELay"), "_layer().delay", bounded(0.0, TIME_MAX, 0.0), _nr3,
                           apply="_set_layers")

    @command(":INITiate[:IMMediate][:ALL]")
    def _initiate(self, *chanlist: str) -> None:
        self._start(parse_chanlist(chanlist, self.spec.channels), ("tran", "acq"))

    @command(":INITiate[:IMMediate]:ACQuire")
    def _initiate_acquire(self, *chanlist: str) -> None:
        self._start(parse_chanlist(chanlist, self.spec.channels), ("acq",))

    @command(":INITiate[:IMMediate]:TRANsient")
    def _initiate_transient(self, *chanlist: str) -> None:
        self._start(parse_chanlist(chanlist, self.spec.channels), ("tran",))

    @command(":ABORt[:ALL]")
    @command(":ABORt:ACQuire")
    @command(":ABORt:TRANsient")
    def _abort(self, *chanlist: str) -> None:
        """Stop actions waiting for ``*TRG`` and a paced TIMer/AINT model (in virtual time they have
        already run to their end)."""
        numbers = parse_chanlist(chanlist, self.spec.channels)
        self.stop_sequence()
        for c in numbers:
            self.channels[c - 1].bus.clear()

    def _start(self, numbers: list[int], actions: tuple[str, ...]) -> None:
        """INIT: check every channel first, then run the TIMer/AINT models and arm the BUS ones."""
        plans = []
        for c in numbers:
            ch = self.channels[c - 1]
            chosen = {name: ch.transient if name == "tran" else ch.acquire for name in actions}
            sources = {action.trigger.source for action in chosen.values()}
            if "BUS" in sources and "TIM" in sources:
                raise ScpiError(-221, MESSAGES[-221])      # not simulated: one action on BUS, one on TIMer
            if any(a.arm.source == "BUS" for a in chosen.values()):
                raise ScpiError(-221, MESSAGES[-221])      # not simulated: ARM layer on BUS
            if any(a.total > COUNT_MAX for a in chosen.values()):
                raise ScpiError(-221, MESSAGES[-221])      # more readings than a channel buffers
            if ch.function != "VOLT":
                raise ScpiError(-221, MESSAGES[-221])
            plans.append((c - 1, ch, chosen, "BUS" in sources))
        self._restart_timer()
        events: list[_Event] = []
        finished: list[ChannelState] = []
        for i, ch, chosen, bus in plans:
            if "acq" in chosen:
                ch.readings.clear()
            if ch.auto_on and not ch.output:
                self._switch(ch, True)
            if bus:
                ch.bus = {name: list(range(action.total)) for name, action in chosen.items()}
                continue
            events += self._model_events(i, ch, chosen)
            finished.append(ch)
            ch.sweeping = True
        self.play(functools.partial(self._sweep, events, finished))

    def _sweep(self, events: list[_Event], finished: list[ChannelState]) -> None:
        """Play the TIMer/AINT models of an INIT; their channels are busy until it ends."""
        try:
            self._run(events, finished)
        finally:
            for ch in finished:
                ch.sweeping = False

    def _model_events(self, i: int, ch: ChannelState, chosen: dict[str, Action]) -> list[_Event]:
        """Every event of one channel's TIMer/AINT trigger model."""
        busy = {"tran": ch.pulse_delay + ch.pulse_width if ch.shape == "PULS" else 0.0, "acq": ch.aperture}

        def finish(names: list[str]) -> Callable[[float], float]:
            return lambda t: max(t + chosen[n].trigger.delay + busy[n] for n in names)

        starts: dict[str, list[float]] = {}
        if len(chosen) == 2 and "AINT" in {a.trigger.source for a in chosen.values()}:
            # an AINT action follows the other's events (both AINT: they step together)
            lead = "acq" if chosen["tran"].trigger.source == "AINT" and chosen["acq"].trigger.source == "TIM" \
                else "tran"
            times = _loops(chosen[lead], finish(["tran", "acq"]))
            for name, action in chosen.items():
                starts[name] = [t + action.trigger.delay for t in times[:action.total]]
        else:
            for name, action in chosen.items():
                starts[name] = [t + action.trigger.delay for t in _loops(action, finish([name]))]
        events: list[_Event] = []
        for name, times in starts.items():
            per_arm = chosen[name].trigger.count
            for n, t in enumerate(times):
                events += self._action_events(i, name, t, n % per_arm)
        return events

    def _action_events(self, i: int, name: str, t: float, k: int) -> list[_Event]:
        """The events of one device action of channel ``i`` starting at ``t``; ``k`` = trigger
        number within its arm cycle."""
        ch = self.channels[i]
        if name == "acq":
            return [self._event(t, 2, "start", i), self._event(t + ch.aperture, 0, "end", i)]
        level = ch.point_level(k)
        if ch.shape == "PULS":
            peak = t + ch.pulse_delay
            return [self._event(peak, 1, "level", i, level),
                    self._event(peak + ch.pulse_width, 1, "level", i, ch.level)]
        return [self._event(t, 1, "level", i, level, fixed=ch.mode == "FIX")]

    def _event(self, t: float, order: int, kind: str, channel: int, value: float = 0.0,
               fixed: bool = False) -> _Event:
        self._seq += 1
        return _Event(t, order, self._seq, kind, channel, value, fixed)

    def _run(self, events: list[_Event], finished: list[ChannelState]) -> None:
        """Play ``events`` (times from now) in bench time; then the sweeps in ``finished`` end. The
        device evolves over the holds between two readings in one call (:meth:`SourcePort.hold_later`),
        and to the end before this returns."""
        try:
            self._play(events, finished)
        finally:
            self.port.sync()

    def _play(self, events: list[_Event], finished: list[ChannelState]) -> None:
        windows: dict[int, _Window] = {}
        now = 0.0
        for event in sorted(events):
            ch = self.channels[event.channel]
            if event.kind == "level" and event.value == ch.present and (ch.level == event.value or not event.fixed):
                continue       # a list point at the level already out: nothing to hold apart
            if event.time > now:
                self._pass(event.time - now, windows)
                now = event.time
            if event.kind == "level":
                ch.present = event.value
                if event.fixed:
                    ch.level = event.value
            elif event.kind == "start":
                windows[event.channel] = _Window(self.clock.now(), ch.source_value())
            else:
                self._store(event.channel, windows.pop(event.channel))
        end = max((event.time for event in events), default=0.0)
        if end > now:      # the trigger system runs until its last action, changed anything or not
            self._pass(end - now, windows)
        for ch in finished:
            ch.present = ch.level      # output after sweep: back to the DC level

    def _pass(self, duration: float, windows: dict[int, _Window]) -> None:
        """Hold the outputs ``duration`` s, integrating the open readings; channel 1's share (a trip,
        its reading's charge) once the device is evaluated."""
        self._drive()
        wired, window = self.channels[0], windows.get(0)

        def account(result: SegmentResult) -> None:
            if wired.limited(result):
                wired.tripped = True
            if window is not None:
                window.charge += result.current * duration
                window.flux += result.source_voltage * duration
                window.limited |= wired.limited(result)
        self.port.hold_later(duration, account)
        for i, open_window in windows.items():
            if i != 0:   # channel 2: open circuit
                open_window.flux += (self.channels[i].terminal() or 0.0) * duration

    def _store(self, i: int, window: _Window) -> None:
        ch = self.channels[i]
        self.port.sync()   # the holds of the window evaluated, their charge counted
        current = window.charge / ch.aperture
        if i == 0:
            current = float(self.port.model.add_read_noise(np.array([current]))[0])
        if window.limited:
            current = float(np.clip(current, -ch.current_limit(), ch.current_limit()))
        reading = Reading(window.flux / ch.aperture, current, window.start - self.timer_zero,
                          STATUS_COMPLIANCE if window.limited else 0, window.source)
        ch.readings.append(reading)
        self.traces[i].feed(reading)

    # --- readings -------------------------------------------------------------------------
    def _spot(self, numbers: list[int]) -> None:
        """MEASure: one reading per channel now, at the present output."""
        self._restart_timer()
        events = []
        for c in numbers:
            ch = self.channels[c - 1]
            ch.readings.clear()
            if ch.auto_on and not ch.output:
                self._switch(ch, True)
            events += self._action_events(c - 1, "acq", 0.0, 0)
        self._run(events, [])

    @command(":FETCh:ARRay?")
    def _fetch_array(self, *chanlist: str) -> str:
        return self._format(parse_chanlist(chanlist, self.spec.channels), self.elements, latest=False)

    @command(":FETCh[:SCALar]?")
    def _fetch(self, *chanlist: str) -> str:
        return self._format(parse_chanlist(chanlist, self.spec.channels), self.elements, latest=True)

    @commands(*(f":FETCh:ARRay:{element}?" for element in ELEMENT_NODES))
    def _fetch_array_element(self, *chanlist: str) -> str:
        return self._format(parse_chanlist(chanlist, self.spec.channels), [self._element()], latest=False)

    @commands(*(f":FETCh[:SCALar]:{element}?" for element in ELEMENT_NODES))
    def _fetch_element(self, *chanlist: str) -> str:
        return self._format(parse_chanlist(chanlist, self.spec.channels), [self._element()], latest=True)

    @command(":READ:ARRay?")
    def _read_array(self, *chanlist: str) -> str:
        numbers = parse_chanlist(chanlist, self.spec.channels)
        self._start(numbers, ("tran", "acq"))
        return self._format(numbers, self.elements, latest=False)

    @command(":READ[:SCALar]?")
    def _read(self, *chanlist: str) -> str:
        numbers = parse_chanlist(chanlist, self.spec.channels)
        self._start(numbers, ("tran", "acq"))
        return self._format(numbers, self.elements, latest=True)

    @command(":MEASure[:SCALar]?")
    def _measure(self, *chanlist: str) -> str:
        numbers = parse_chanlist(chanlist, self.spec.channels)
        self._spot(numbers)
        return self._format(numbers, self.elements, latest=True)

    @command(":MEASure[:SCALar]:CURRent[:DC]?")
    @command(":MEASure[:SCALar]:VOLTage[:DC]?")
    @command(":MEASure[:SCALar]:RESistance?")
    def _measure_element(self, *chanlist: str) -> str:
        numbers = parse_chanlist(chanlist, self.spec.channels)
        element = self._element()
        for c in numbers:
            if element not in self.channels[c - 1].functions:
                self.channels[c - 1].functions.append(element)
        self._spot(numbers)
        return self._format(numbers, [element], latest=True)

    def _element(self) -> str:
        """The element a ``…:CURRent?``-style header names."""
        last = self._header.split(":")[-1]
        last = self._header.split(":")[-2] if last == "DC" else last
        return {"CURRENT": "CURR", "VOLTAGE": "VOLT", "STATUS": "STAT", "SOURCE": "SOUR",
                "RESISTANCE": "RES"}.get(last, last)

    def _format(self, numbers: list[int], elements: list[str], latest: bool) -> str:
        """Readings of ``numbers`` as FORMat orders them; channels interleave point by point, a
        channel without a point there gives "not a number" (FETCh:ARRay?). In ASCii each value is
        NR3 and values are comma-separated; in REAL,32|64 they are one definite-length block."""
        per_channel = [self.channels[c - 1].readings for c in numbers]
        if latest:
            per_channel = [r[-1:] for r in per_channel]
        rows = max([len(r) for r in per_channel] + [1])
        values = []
        for row in range(rows):
            for c, readings in zip(numbers, per_channel):
                reading = readings[row] if row < len(readings) else None
                values += [self._field(self.channels[c - 1], reading, e) for e in elements]
        return self._render(values)

    def _render(self, values: list[float]) -> str:
        """Measurement data as ``:FORMat[:DATA]`` and ``:FORMat:BORDer`` say."""
        if self.data_format == "ASC":
            return ",".join(_nr3(v) for v in values)
        order = ">" if self.byte_order == "NORM" else "<"
        return definite_block(struct.pack(f"{order}{len(values)}{DATA_FORMATS[self.data_format]}", *values))

    @staticmethod
    def _field(ch: ChannelState, reading: Reading | None, element: str) -> float:
        if reading is None or (element in ("VOLT", "CURR", "RES") and element not in ch.functions):
            return NOT_A_NUMBER
        if element == "RES":   # measured V / measured I (Reference, RESistance; offset compensation off)
            return reading.voltage / reading.current if reading.current else NOT_A_NUMBER
        return {"VOLT": reading.voltage, "CURR": reading.current, "TIME": reading.time,
                "STAT": float(reading.status), "SOUR": reading.source}[element]

    @command(":FORMat:ELEMents:SENSe")
    def _set_elements(self, *names: str) -> None:
        if not names:
            raise ScpiError(-109, MESSAGES[-109])
        aliases = {"VOLTAGE": "VOLT", "CURRENT": "CURR", "RESISTANCE": "RES", "STATUS": "STAT", "SOURCE": "SOUR"}
        chosen = {aliases.get(n.strip().upper(), n.strip().upper()) for n in names}
        if not chosen <= set(ELEMENTS):
            raise ScpiError(-224, MESSAGES[-224])
        self.elements = [e for e in ELEMENTS if e in chosen]

    @command(":FORMat:ELEMents:SENSe?")
    def _get_elements(self) -> str:
        return ",".join(self.elements)

    @command(":FORMat[:DATA]")
    def _set_data_format(self, *args: str) -> None:
        """Reference ch. 4 ``:FORMat[:DATA] ASCii|REAL,32|REAL,64``: how measurement data is sent."""
        words = [a.strip().upper() for a in args]
        name = {("ASC",): "ASC", ("ASCII",): "ASC", ("REAL", "32"): "REAL,32",
                ("REAL", "64"): "REAL,64"}.get(tuple(words))
        if name is None:
            raise ScpiError(-224, MESSAGES[-224])
        self.data_format = name

    @command(":FORMat[:DATA]?")
    def _get_data_format(self) -> str:
        return self.data_format

    # Reference ch. 4 :FORMat:BORDer: NORMal sends the most significant byte first, SWAPped the least
    _byte_order = Setting(":FORMat:BORDer", "byte_order", choice("NORMal", "SWAPped"))

    # --- trace buffer ---------------------------------------------------------------------
    def _trace(self) -> TraceBuffer:
        return self.traces[self._suffix - 1]

    @command(":TRACe:FEED")
    def _set_feed(self, arg: str) -> None:
        if arg.strip().upper() not in ("SENS", "SENSE"):
            raise ScpiError(-221, MESSAGES[-221])      # MATH and LIMit feeds are not simulated

    @command(":TRACe:FEED?")
    def _get_feed(self) -> str:
        return "SENS"

    _control = Setting(":TRACe:FEED:CONTrol", "_trace().control", choice("NEXT", "NEVer"))

    @command(":TRACe:POINts")
    def _set_trace_points(self, arg: str) -> None:
        trace = self._trace()
        value = parse_number(arg, minimum=1, maximum=TRACE_POINTS, default=TRACE_POINTS)
        if trace.control != "NEV":
            raise ScpiError(-221, MESSAGES[-221])      # "effective when the control mode is NEV"
        if value != int(value) or not 1 <= value <= TRACE_POINTS:
            raise ScpiError(-222, MESSAGES[-222])
        trace.capacity = int(value)

    @command(":TRACe:POINts?")
    def _get_trace_points(self, which: str = "") -> str:
        return str(int(_limit_query(which, self._trace().capacity, 1, TRACE_POINTS, TRACE_POINTS)))

    @command(":TRACe:POINts:ACTual?")
    def _trace_actual(self) -> str:
        return str(len(self._trace().readings))

    @command(":TRACe:FREE?")
    def _trace_free(self) -> str:
        trace = self._trace()
        return f"{trace.capacity - len(trace.readings)},{trace.capacity}"

    @command(":TRACe:CLEar")
    def _trace_clear(self) -> None:
        self._trace().readings.clear()

    @command(":TRACe:DATA?")
    def _trace_data(self, offset: str = "STAR", size: str = "") -> str:
        trace = self._trace()
        token = offset.strip().upper()
        first = 0 if token in ("STAR", "START") else len(trace.readings) - 1 if token in ("CURR", "CURRENT") \
            else int(parse_number(offset))
        last = len(trace.readings) if not size else first + int(parse_number(size))
        if not 0 <= first <= last <= len(trace.readings):
            raise ScpiError(-222, MESSAGES[-222])
        ch = self.channels[self._suffix - 1]
        return self._render([self._field(ch, r, e) for r in trace.readings[first:last] for e in self.elements])


def _choice(arg: str, names: dict[str, str]) -> str:
    try:
        return names[arg.strip().upper()]
    except KeyError:
        raise ScpiError(-224, MESSAGES[-224]) from None


def _range_for(level: float) -> float:
    """Smallest voltage range holding ``level`` (ranges extend 5 % over their nominal value)."""
    return next(r for r in VOLTAGE_RANGES if abs(level) <= r * 1.05)


def _limit_query(which: str, value: float, minimum: float, maximum: float, default: float) -> float:
    """A ``…?`` query's reply: the setting, or what MIN, MAX or DEF stands for."""
    token = which.strip().upper()
    if not token:
        return value
    return parse_number(token, minimum=minimum, maximum=maximum, default=default)
