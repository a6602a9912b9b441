"""Simulated Keysight 33522B (33500B Trueform series, two channels), native SCPI command set.

Follows the Agilent/Keysight 33500 Series Operating and Service Guide (33500-90901): chapter
"Features and Functions" (Output Configuration → Output Termination; Pulse Waveforms → Pulse
Width, Pulse Duty Cycle; Burst Mode) and "SCPI Programming Reference" (FUNCtion, VOLTage,
OUTPut, BURSt, TRIGger subsystems; SYSTem:ERRor?). What is simulated:

- identification, ``*RST`` (sine, 1 kHz, 100 mVpp, 0 V offset, 50 Ω load setting, outputs off,
  burst off with 1 cycle, trigger source IMMediate), ``*OPC?``, ``*STB?``, ``*CLS``, ``ABORt``,
  the error queue in the 33500's format (``+0,"No error"``, ``-221,"Settings conflict;..."``);
  ``*RST`` leaves the error queue and the status registers as they are;
- the Standard Event Status Register (IEEE 488.2 §11.5.1): ``*OPC`` sets Operation Complete
  (bit 0) once pending operations are done, and a triggered burst is one: "the *OPC command sets
  the Operation Complete bit (bit 0) in the Standard Event register when the sweep or burst is
  complete" (guide, TRIGger subsystem introduction). Bursts play inside ``*TRG`` in virtual time,
  so the bit is set as ``*OPC`` executes. Errors set their class's bit (command -1xx: bit 5,
  execution -2xx: bit 4, device-specific: bit 3, query -4xx: bit 2), power-on sets bit 7;
  ``*ESR?`` answers the register and clears it, as does ``*CLS``;
- per channel (``SOURce1|2``, ``OUTPut1|2``, ``TRIGger1|2``): function, frequency, pulse period,
  width, duty cycle, leading/trailing edge, amplitude/offset or high/low level, output
  termination (``OUTPut:LOAD``), polarity, sync, output state, burst state/mode/count/period,
  trigger source;
- the settings QCoDeS's 33500 driver reads (guide, SCPI Programming Reference; *RST values in
  brackets): ``TRIGger:SLOPe`` [POS], ``:COUNt`` [1], ``:DELay`` [0 s, played before a ``*TRG``
  burst], ``:TIMer`` [1 ms], ``BURSt:GATE:POLarity`` [NORM], ``FUNCtion:RAMP:SYMMetry`` [100 %],
  ``FUNCtion:SQUare:DCYCle`` [50 %], ``OUTPut:SYNC:SOURce`` [CH1]; ``PHASe``, ``BURSt:PHASe``
  and ``FREQuency:MODE`` answer their *RST values (0°, CW) and refuse others with -221 (bursts
  are played from phase 0; lists and sweeps are not simulated); ``PHASe:SYNChronize`` is taken;
- ``APPLy?``, ``FUNCtion:ARBitrary[?]`` and ``DATA:VOLatile:CATalog?`` (one built-in arbitrary
  waveform in volatile memory; loading others is not simulated), ``ROSCillator:SOURce[?]`` and
  ``:CURRent?`` (no external reference wired), ``VOLTage:LIMit:STATe`` (OFF only);
- the output termination as the manual describes it: the output is a 50 Ω source; programmed
  and queried levels assume the load setting, so with the 50 Ω default the EMF behind the 50 Ω
  is twice the programmed value, and with ``INFinity`` it equals it. Changing the setting
  rescales the queried amplitude and offset; the EMF stays (no error);
- pulse-timing conflicts as the manual describes them: a width that does not fit the period is
  decreased and -221 queued; values outside their range are clipped to it with -222.

Playing: in triggered burst mode with a BUS (or unconnected EXTernal) trigger source a channel
idles at its pulse's low level (the high level with the polarity inverted); ``*TRG`` plays the
burst of every channel whose trigger source is BUS in virtual time, as a sequence of
``port.drive`` + ``port.hold`` calls: the high level for the width, the low level for the rest
of each period. Edges are not drawn: a trapezoid with linear edges has the same ∫V dt as the
rectangle of its 50 % width, which is what is played (a device whose response is non-linear in
V sees the edges slightly differently). The DC function holds the offset. Free-running output
(continuous waveforms, IMMediate/TIMer-triggered or infinite bursts) cannot be represented on a
source port: turning an output on in such a state, or changing an output that is on into one, is
refused with -221 (as the simulated 2450 refuses current sourcing). A channel built without a
port (``port2=None``) is unwired: it sources into an open circuit.

Figures from the guide: output termination 1 Ω to 10 kΩ or INFinity, 50 Ω default; pulse
width 16 ns to 1 000 000 s, default 100 µs, at most the period less 16 ns; minimum edge 8.4 ns,
longer edges need widths of at least 20 ns; burst count 1 to 100 000 000 or INFinity; burst
period 1 µs to 8000 s, default 10 ms; *OPC? answers when a burst is complete; numbers are
answered as ``+1.000000000000000E-04``. Not confirmed from the guide (the 33500B data sheet
and the 33220A/33250A guides of the same family, as recalled): amplitude 1 mVpp to 10 Vpp into
50 Ω with |offset| + amplitude/2 ≤ 5 V (10 V open circuit), pulse frequency to 30 MHz, edge
range 8.4 ns to 1 µs with 10 ns default, edge ≤ 0.625 × width (and of the time at the low level),
the exact wording of the error messages, and the query form of ``FUNC:PULS:TRAN[:BOTH]?``
(answered here with the leading edge).
"""
from __future__ import annotations

import math
import re
from decimal import Decimal
from itertools import chain
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace

from labsuite.clock import VirtualClock
from labsuite.simulator.circuit import SourcePort
from labsuite.simulator.instruments.scpi import (ErrorQueue, ScpiError, ScpiInstrument, _Command, command,
                                                 parse_bool, parse_number)

OUTPUT_IMPEDANCE = 50.0        # Ω, series output impedance of each channel
MAX_EMF = 10.0                 # V, largest |level| open circuit (±5 V into 50 Ω)
MIN_AMPLITUDE_EMF = 2e-3       # V, 1 mVpp into 50 Ω
FREQUENCY_RANGE = (1e-6, 30e6)  # Hz, pulse (and sine) frequency
MIN_WIDTH = 16e-9              # s
MAX_WIDTH = 1e6                # s
EDGE_RANGE = (8.4e-9, 1e-6)    # s, 10–90 %
LONG_EDGE_WIDTH = 20e-9        # s, narrowest pulse that takes edges above the minimum
LOAD_RANGE = (1.0, 10e3)       # Ω
MAX_BURST = 100_000_000
BURST_PERIOD_RANGE = (1e-6, 8000.0)   # s
INFINITY = 9.9e37              # what the 33500 answers for INFinity

FUNCTIONS = ("SINusoid", "SQUare", "TRIangle", "RAMP", "PULSe", "PRBS", "NOISe", "ARB", "DC")
TRIGGER_SOURCES = ("IMMediate", "EXTernal", "TIMer", "BUS")
MAX_TRIGGER_COUNT = 1_000_000
TRIGGER_DELAY_RANGE = (0.0, 1000.0)    # s
TRIGGER_TIMER_RANGE = (1e-6, 8000.0)   # s
SQUARE_DUTY_RANGE = (0.01, 99.99)      # %
# The arbitrary waveform a channel holds from power-on (guide, FUNCtion:ARBitrary and
# DATA:VOLatile:CATalog?; the name is not confirmed for firmware 4.x).
DEFAULT_ARB = r"INT:\BUILTIN\EXP_RISE.ARB"
CHANNEL_SUFFIX = re.compile(r"(:(?:SOURCE|SOUR|OUTPUT|OUTP|TRIGGER|TRIG))([12])(?=:|$)", re.IGNORECASE)
# Standard Event Status Register bits (IEEE 488.2 §11.5.1.1)
ESR_OPC, ESR_QUERY, ESR_DEVICE, ESR_EXECUTION, ESR_COMMAND, ESR_POWER_ON = 1, 4, 8, 16, 32, 128


# --- status reporting (shared with the other simulated generators) ----------------------------
def event_bit(code: int) -> int:
    """The Standard Event Status Register bit an error of ``code`` sets."""
    if -199 <= code <= -100:
        return ESR_COMMAND
    if -299 <= code <= -200:
        return ESR_EXECUTION
    if -499 <= code <= -400:
        return ESR_QUERY
    return ESR_DEVICE


class EventErrorQueue(ErrorQueue):
    """The error queue, setting each error's bit in the instrument's ``esr`` as it is queued."""

    def __init__(self, instrument: ScpiInstrument, **kwargs) -> None:
        super().__init__(**kwargs)
        self._instrument = instrument

    def push(self, code: int, message: str) -> None:
        super().push(code, message)
        self._instrument.esr |= event_bit(code)


# --- pulse bursts on source ports (shared with the other simulated generators) --------------
def emf_per_volt(load: float) -> float:
    """EMF behind the 50 Ω output per programmed volt, for the output termination ``load`` (Ω)."""
    return 1.0 if math.isinf(load) else (load + OUTPUT_IMPEDANCE) / load


def pulse_train(idle: float | None, pulse: float | None, width: float, period: float, count: int,
                delay: float = 0.0) -> Iterator[tuple[float, float | None]]:
    """Segments (duration s, EMF V) of ``count`` periods: ``delay`` at ``idle``, ``width`` at
    ``pulse``, the rest of the period at ``idle`` (None: output off)."""
    cycle = [(d, v) for d, v in ((delay, idle), (width, pulse), (period - delay - width, idle)) if d > 0]
    for _ in range(count):
        yield from cycle


def play_bursts(lines: list[tuple[SourcePort | None, Iterable[tuple[float, float | None]]]],
                clock: VirtualClock, check: Callable[[], None]) -> None:
    """Play each line's segments on its port (None: not wired or output off) at the same time.

    The device is held between consecutive segment boundaries of all lines; a line that ends
    keeps its last level. Time advances by the longest line. ``check()`` runs at every boundary
    (it raises to stop the burst: an abort from another connection, the simulator's budget).
    """
    heads: list[list] = []
    for port, segments in lines:
        ends = _segment_ends(segments)
        heads.append([port, ends, next(ends, None)])
    wired = [port for port, _ in lines if port is not None]
    now = 0.0
    while live := [h for h in heads if h[2] is not None]:
        check()
        end = min(h[2][0] for h in live)
        for port, _, (_, level) in live:
            if port is not None:
                port.drive(level, math.inf)
        if end > now:
            if wired:
                wired[0].hold(end - now)
                for port in wired[1:]:
                    port.sync()
            else:
                clock.advance(end - now)
        now = end
        for h in live:
            if h[2][0] <= end:
                h[2] = next(h[1], None)


def _segment_ends(segments: Iterable[tuple[float, float | None]]) -> Iterator[tuple[float, float | None]]:
    t = 0.0
    for duration, level in segments:
        t += duration
        yield t, level


def split_channel(header: str, suffix: re.Pattern[str] = CHANNEL_SUFFIX) -> tuple[int, str]:
    """(channel, header without it): the numeric suffix of a node such as ``SOUR2`` or ``OUTP2``
    selects the channel (1 if none has one)."""
    match = suffix.search(header)
    return (int(match.group(2)) if match else 1), suffix.sub(r"\1", header)


def keyword(arg: str, choices: Iterable[str]) -> str:
    """The short form (upper case) of the manual-style keyword ``arg`` names, or -224."""
    token = arg.strip().upper()
    for choice in choices:
        short = "".join(c for c in choice if c.isupper() or c.isdigit())
        if token in (short, choice.upper()):
            return short
    raise ScpiError(-224)


def nr3(value: float) -> str:
    """A number as the 33500 answers it (``+1.000000000000000E-04``), from its shortest decimal
    form so that binary rounding does not show in the last digits (``+9.900000000000000E+37``)."""
    if value == 0:
        return "+0.000000000000000E+00"
    mantissa, exponent = f"{Decimal(repr(float(value))):+.15E}".split("E")
    return f"{mantissa}E{int(exponent):+03d}"


# --- the instrument --------------------------------------------------------------------------
@dataclass
class Channel:
    """One output's settings (levels as EMF, the open-circuit volts behind the 50 Ω)."""

    function: str = "SIN"
    frequency: float = 1e3          # Hz; the pulse period is its inverse
    width: float = 100e-6           # s, 50 % to 50 %
    duty: float = 10.0              # %, width/period, kept for PULSe:HOLD DCYCle
    hold: str = "WIDT"
    lead: float = 10e-9             # s, 10–90 %
    trail: float = 10e-9            # s
    emf_high: float = 0.1           # V, 100 mVpp into the 50 Ω load setting
    emf_low: float = -0.1           # V
    load: float = 50.0              # Ω, output termination setting (math.inf: high impedance)
    polarity: str = "NORM"
    sync: bool = True
    output: bool = False
    burst: bool = False
    burst_mode: str = "TRIG"
    cycles: float = 1               # math.inf: INFinity
    burst_period: float = 10e-3     # s
    trigger_source: str = "IMM"
    trigger_slope: str = "POS"
    trigger_count: float = 1        # math.inf: INFinity
    trigger_delay: float = 0.0      # s, from the trigger to the burst
    trigger_timer: float = 1e-3     # s, period of the TIMer trigger source
    burst_gate_polarity: str = "NORM"
    ramp_symmetry: float = 100.0    # %
    square_duty: float = 50.0       # %
    arb: str = DEFAULT_ARB          # FUNCtion:ARBitrary, the arbitrary waveform played by ARB

    @property
    def period(self) -> float:
        return 1.0 / self.frequency

    def unplayable(self) -> str | None:
        """Why an output that is on in this state cannot be simulated (None: it can)."""
        if self.function == "DC":
            return None
        if not self.burst:
            return "continuous output"
        if self.burst_mode != "TRIG":
            return "gated burst"
        if self.trigger_source not in ("BUS", "EXT"):
            return "free-running burst"
        if math.isinf(self.cycles):
            return "infinite burst"
        return None

    def levels(self) -> tuple[float, float]:
        """(idle, pulse) EMF, V: the low level while idle, the high level during the pulse
        (swapped with the polarity inverted); the offset for other functions."""
        if self.function != "PULS":
            offset = (self.emf_high + self.emf_low) / 2
            return offset, offset
        if self.polarity == "INV":
            return self.emf_high, self.emf_low
        return self.emf_low, self.emf_high


class GeneratorLevels:
    """The level commands of a simulated generator's selected channel (``self.ch``): amplitude,
    offset, high and low, held as the open-circuit EMF and answered for the load setting. The
    33500 and AFG31000 manuals give them the same headers; subclasses give their limits, *RST
    defaults and number format."""

    max_emf: float              # V, largest |level| open circuit
    min_amplitude_emf: float    # V, smallest amplitude open circuit
    default_amplitude: float    # V, the DEFault amplitude into the load setting
    default_high: float         # V, the DEFault high level (the low level's is its negative)
    reply: Callable[[float], str]   # a number as the instrument answers it

    @command("[:SOURce]:VOLTage[:LEVel][:IMMediate][:AMPLitude]")
    def _set_amplitude(self, arg: str) -> None:
        c = self.ch
        offset = (c.emf_high + c.emf_low) / 2
        room = 2 * (self.max_emf - abs(offset))
        amplitude = self._clip(self._volts(arg, self.min_amplitude_emf, room, self.default_amplitude),
                               self.min_amplitude_emf, room)
        self._set_levels(offset + amplitude / 2, offset - amplitude / 2)

    @command("[:SOURce]:VOLTage[:LEVel][:IMMediate][:AMPLitude]?")
    def _get_amplitude(self) -> str:
        c = self.ch
        return self.reply((c.emf_high - c.emf_low) / emf_per_volt(c.load))

    @command("[:SOURce]:VOLTage[:LEVel][:IMMediate]:OFFSet")
    def _set_offset(self, arg: str) -> None:
        c = self.ch
        half = (c.emf_high - c.emf_low) / 2
        room = self.max_emf - half
        offset = self._clip(self._volts(arg, -room, room, 0.0), -room, room)
        self._set_levels(offset + half, offset - half)

    @command("[:SOURce]:VOLTage[:LEVel][:IMMediate]:OFFSet?")
    def _get_offset(self) -> str:
        c = self.ch
        return self.reply((c.emf_high + c.emf_low) / 2 / emf_per_volt(c.load))

    @command("[:SOURce]:VOLTage[:LEVel][:IMMediate]:HIGH")
    def _set_high(self, arg: str) -> None:
        self._set_levels(self._volts(arg, -self.max_emf, self.max_emf, self.default_high), self.ch.emf_low)

    @command("[:SOURce]:VOLTage[:LEVel][:IMMediate]:HIGH?")
    def _get_high(self) -> str:
        return self.reply(self.ch.emf_high / emf_per_volt(self.ch.load))

    @command("[:SOURce]:VOLTage[:LEVel][:IMMediate]:LOW")
    def _set_low(self, arg: str) -> None:
        self._set_levels(self.ch.emf_high, self._volts(arg, -self.max_emf, self.max_emf, -self.default_high))

    @command("[:SOURce]:VOLTage[:LEVel][:IMMediate]:LOW?")
    def _get_low(self) -> str:
        return self.reply(self.ch.emf_low / emf_per_volt(self.ch.load))

    @command("[:SOURce]:VOLTage:UNIT")
    def _set_unit(self, arg: str) -> None:
        if keyword(arg, ("VPP", "VRMS", "DBM")) != "VPP":
            raise ScpiError(-221, "Settings conflict;only Vpp units are simulated")

    @command("[:SOURce]:VOLTage:UNIT?")
    def _get_unit(self) -> str:
        return "VPP"


class Keysight33500(GeneratorLevels, ScpiInstrument):
    """A 33522B whose channel 1 drives ``port`` (channel 2 drives ``port2`` if wired)."""

    idn = "Keysight Technologies,33522B,MY59001234,4.03-1.19-2.00-58-00"
    output_impedance = OUTPUT_IMPEDANCE
    max_emf, min_amplitude_emf = MAX_EMF, MIN_AMPLITUDE_EMF
    default_amplitude, default_high = 0.2, 0.1   # 100 mVpp into 50 Ω after *RST
    reply = staticmethod(nr3)

    def __init__(self, port: SourcePort, port2: SourcePort | None = None) -> None:
        super().__init__()
        self.esr = ESR_POWER_ON          # Standard Event Status Register
        self.errors = EventErrorQueue(self, formatter=self.format_error)
        self.ports = {1: port, 2: port2}
        self.clock = port.clock
        self._addressed = 1
        self.reference = "INT"           # ROSCillator:SOURce (kept through *RST; no external reference wired)
        self.reset()

    # --- bookkeeping ------------------------------------------------------------------
    def reset(self) -> None:
        """The *RST state (the error queue and the status registers are not cleared)."""
        self.channels = {1: Channel(), 2: Channel()}
        self.sync_source = "CH1"

    def power_loss(self) -> None:
        """Mains lost and back: outputs drop, power-on settings, empty error queue, Power On set."""
        self.reset()
        self.errors.clear()
        self.esr = ESR_POWER_ON
        self._drive()

    def format_error(self, code: int, message: str) -> str:
        return f'{code:+d},"{message}"'

    def process(self, message: str) -> str | None:
        for port in self.ports.values():
            if port is not None:
                port.sync()
        try:
            return super().process(message)
        finally:
            self._drive()

    def _find(self, header: str, query: bool) -> _Command:
        """Note the channel the header addresses (``SOUR2``, ``OUTP2``, ``TRIG2``) for the handler."""
        self._addressed, header = split_channel(header)
        return super()._find(header, query)

    @property
    def ch(self) -> Channel:
        """The channel the command being executed addresses."""
        return self.channels[self._addressed]

    def _drive(self) -> None:
        for n, port in self.ports.items():
            if port is not None:
                c = self.channels[n]
                port.drive(c.levels()[0] if c.output else None, math.inf)

    def _change(self, **settings: object) -> None:
        """Apply settings that decide whether the output can be played."""
        new = replace(self.ch, **settings)
        reason = new.unplayable()
        if new.output and reason:
            raise ScpiError(-221, f"Settings conflict;{reason} is not simulated with the output on")
        self.channels[self._addressed] = new

    def _clip(self, value: float, low: float, high: float) -> float:
        """``value`` within [low, high]; outside, clipped with -222 (the instrument goes on)."""
        if value < low:
            self.errors.push(-222, "Data out of range;value clipped to lower limit")
            return low
        if value > high:
            self.errors.push(-222, "Data out of range;value clipped to upper limit")
            return high
        return value

    def _fit_pulse(self) -> None:
        """Fit width and edges to the period: edges first, then the width (-221 for each)."""
        c = self.ch
        if c.width > c.period - MIN_WIDTH:
            c.width = max(MIN_WIDTH, c.period - MIN_WIDTH)
            self.errors.push(-221, "Settings conflict;pulse width decreased due to period")
        longest = max_edge(c.width, c.period)
        if max(c.lead, c.trail) > longest:
            c.lead, c.trail = min(c.lead, longest), min(c.trail, longest)
            self.errors.push(-221, "Settings conflict;edge time decreased due to pulse width")
        c.duty = 100.0 * c.width / c.period

    def _set_levels(self, high: float, low: float) -> None:
        """Set the EMF levels, each clipped to ±10 V and at least 1 mVpp (into 50 Ω) apart."""
        high = self._clip(high, -MAX_EMF + MIN_AMPLITUDE_EMF, MAX_EMF)
        low = self._clip(low, -MAX_EMF, high - MIN_AMPLITUDE_EMF)
        self.ch.emf_high, self.ch.emf_low = high, low

    def _volts(self, arg: str, low: float, high: float, default: float) -> float:
        """A level argument in programmed (load-setting) volts → EMF volts."""
        scale = emf_per_volt(self.ch.load)
        return parse_number(arg, minimum=low / scale, maximum=high / scale, default=default / scale) * scale

    # --- IEEE 488.2 common commands -----------------------------------------------------
    @command("*RST")
    def _rst(self) -> None:
        self.reset()

    @command("*CLS")
    def _cls(self) -> None:
        self.errors.clear()
        self.esr = 0

    @command("*OPC?")
    def _opc_query(self) -> str:
        return "1"   # a triggered burst has already finished in bench time

    @command("*OPC")
    def _opc(self) -> None:
        self.esr |= ESR_OPC   # a triggered burst has already finished in bench time

    @command("*WAI")
    @command(":ABORt")
    def _no_op(self) -> None:
        return None   # a burst runs to completion inside *TRG in bench time: nothing to wait for or stop

    @command("*ESR?")
    def _esr(self) -> str:
        value, self.esr = self.esr, 0
        return f"{value:+d}"

    @command("*STB?")
    def _stb(self) -> str:
        return "+4" if len(self.errors) else "+0"   # bit 2: error queue not empty

    @command("*TRG")
    def _trg(self) -> None:
        """Play the burst of every channel whose trigger source is BUS."""
        lines = []
        for n, c in self.channels.items():
            if not (c.burst and c.burst_mode == "TRIG" and c.trigger_source == "BUS") or math.isinf(c.cycles):
                continue
            if c.output and c.function != "PULS":
                self.errors.push(-221, "Settings conflict;only pulse bursts are simulated")
                continue
            idle, pulse = c.levels() if c.output else (None, None)
            port = self.ports[n] if c.output else None
            delay = [(c.trigger_delay, idle)] if c.trigger_delay > 0 else []
            lines.append((port, chain(delay, pulse_train(idle, pulse, c.width, c.period, int(c.cycles)))))
        play_bursts(lines, self.clock, self.run_control.check)

    @command(":SYSTem:ERRor[:NEXT]?")
    def _error(self) -> str:
        return self.errors.pop()

    # --- function and timing --------------------------------------------------------------
    @command("[:SOURce]:FUNCtion")
    def _set_function(self, arg: str) -> None:
        self._change(function=keyword(arg, FUNCTIONS))
        if self.ch.function == "PULS":
            self._fit_pulse()

    @command("[:SOURce]:FUNCtion?")
    def _get_function(self) -> str:
        return self.ch.function

    @command("[:SOURce]:FREQuency")
    def _set_frequency(self, arg: str) -> None:
        value = self._clip(parse_number(arg, minimum=FREQUENCY_RANGE[0], maximum=FREQUENCY_RANGE[1], default=1e3),
                           *FREQUENCY_RANGE)
        self._set_period(1.0 / value, fit=self.ch.function == "PULS")

    @command("[:SOURce]:FREQuency?")
    def _get_frequency(self) -> str:
        return nr3(self.ch.frequency)

    @command("[:SOURce]:FUNCtion:PULSe:PERiod")
    def _set_pulse_period(self, arg: str) -> None:
        low, high = 1.0 / FREQUENCY_RANGE[1], 1.0 / FREQUENCY_RANGE[0]
        self._set_period(self._clip(parse_number(arg, minimum=low, maximum=high, default=1e-3), low, high))

    def _set_period(self, period: float, fit: bool = True) -> None:
        """New period (s); the width follows it under PULSe:HOLD DCYCle, else stays."""
        c = self.ch
        c.frequency = 1.0 / period
        if c.hold == "DCYC":
            c.width = max(MIN_WIDTH, c.duty / 100.0 * period)
        if fit:
            self._fit_pulse()

    @command("[:SOURce]:FUNCtion:PULSe:PERiod?")
    def _get_pulse_period(self) -> str:
        return nr3(self.ch.period)

    @command("[:SOURce]:FUNCtion:PULSe:WIDTh")
    def _set_width(self, arg: str) -> None:
        self.ch.width = self._clip(parse_number(arg, minimum=MIN_WIDTH, maximum=MAX_WIDTH, default=100e-6),
                                   MIN_WIDTH, MAX_WIDTH)
        self._fit_pulse()

    @command("[:SOURce]:FUNCtion:PULSe:WIDTh?")
    def _get_width(self) -> str:
        return nr3(self.ch.width)

    @command("[:SOURce]:FUNCtion:PULSe:DCYCle")
    def _set_duty(self, arg: str) -> None:
        duty = self._clip(parse_number(arg, minimum=0.0, maximum=100.0, default=10.0), 0.0, 100.0)
        self.ch.width = max(MIN_WIDTH, duty / 100.0 * self.ch.period)
        self._fit_pulse()

    @command("[:SOURce]:FUNCtion:PULSe:DCYCle?")
    def _get_duty(self) -> str:
        return nr3(self.ch.duty)

    @command("[:SOURce]:FUNCtion:PULSe:HOLD")
    def _set_hold(self, arg: str) -> None:
        self.ch.hold = keyword(arg, ("WIDTh", "DCYCle"))

    @command("[:SOURce]:FUNCtion:PULSe:HOLD?")
    def _get_hold(self) -> str:
        return self.ch.hold

    @command("[:SOURce]:FUNCtion:PULSe:TRANsition[:BOTH]")
    def _set_edges(self, arg: str) -> None:
        edge = self._edge(arg)
        self.ch.lead = self.ch.trail = edge
        self._fit_pulse()

    @command("[:SOURce]:FUNCtion:PULSe:TRANsition:LEADing")
    def _set_lead(self, arg: str) -> None:
        self.ch.lead = self._edge(arg)
        self._fit_pulse()

    @command("[:SOURce]:FUNCtion:PULSe:TRANsition:TRAiling")
    def _set_trail(self, arg: str) -> None:
        self.ch.trail = self._edge(arg)
        self._fit_pulse()

    def _edge(self, arg: str) -> float:
        return self._clip(parse_number(arg, minimum=EDGE_RANGE[0], maximum=EDGE_RANGE[1], default=10e-9),
                          *EDGE_RANGE)

    @command("[:SOURce]:FUNCtion:PULSe:TRANsition[:BOTH]?")
    @command("[:SOURce]:FUNCtion:PULSe:TRANsition:LEADing?")
    def _get_lead(self) -> str:
        return nr3(self.ch.lead)

    @command("[:SOURce]:FUNCtion:PULSe:TRANsition:TRAiling?")
    def _get_trail(self) -> str:
        return nr3(self.ch.trail)

    # --- output ---------------------------------------------------------------------------
    @command(":OUTPut[:STATe]")
    def _set_output(self, arg: str) -> None:
        self._change(output=parse_bool(arg))

    @command(":OUTPut[:STATe]?")
    def _get_output(self) -> str:
        return "1" if self.ch.output else "0"

    @command(":OUTPut:LOAD")
    def _set_load(self, arg: str) -> None:
        if arg.strip().upper() in ("INF", "INFINITY"):
            self.ch.load = math.inf
            return
        value = parse_number(arg, minimum=LOAD_RANGE[0], maximum=LOAD_RANGE[1], default=50.0)
        self.ch.load = math.inf if value >= INFINITY else self._clip(value, *LOAD_RANGE)

    @command(":OUTPut:LOAD?")
    def _get_load(self) -> str:
        return nr3(INFINITY if math.isinf(self.ch.load) else self.ch.load)

    @command(":OUTPut:POLarity")
    def _set_polarity(self, arg: str) -> None:
        self.ch.polarity = keyword(arg, ("NORMal", "INVerted"))

    @command(":OUTPut:POLarity?")
    def _get_polarity(self) -> str:
        return self.ch.polarity

    @command(":OUTPut:SYNC")
    def _set_sync(self, arg: str) -> None:
        self.ch.sync = parse_bool(arg)

    @command(":OUTPut:SYNC?")
    def _get_sync(self) -> str:
        return "1" if self.ch.sync else "0"

    # --- burst and trigger ----------------------------------------------------------------
    @command("[:SOURce]:BURSt:STATe")
    def _set_burst(self, arg: str) -> None:
        self._change(burst=parse_bool(arg))

    @command("[:SOURce]:BURSt:STATe?")
    def _get_burst(self) -> str:
        return "1" if self.ch.burst else "0"

    @command("[:SOURce]:BURSt:MODE")
    def _set_burst_mode(self, arg: str) -> None:
        self._change(burst_mode=keyword(arg, ("TRIGgered", "GATed")))

    @command("[:SOURce]:BURSt:MODE?")
    def _get_burst_mode(self) -> str:
        return self.ch.burst_mode

    @command("[:SOURce]:BURSt:NCYCles")
    def _set_cycles(self, arg: str) -> None:
        if arg.strip().upper() in ("INF", "INFINITY"):
            self._change(cycles=math.inf)
            return
        cycles = round(self._clip(parse_number(arg, minimum=1, maximum=MAX_BURST, default=1), 1, MAX_BURST))
        self._change(cycles=cycles)

    @command("[:SOURce]:BURSt:NCYCles?")
    def _get_cycles(self) -> str:
        return nr3(INFINITY if math.isinf(self.ch.cycles) else self.ch.cycles)

    @command("[:SOURce]:BURSt:INTernal:PERiod")
    def _set_burst_period(self, arg: str) -> None:
        self.ch.burst_period = self._clip(parse_number(arg, minimum=BURST_PERIOD_RANGE[0],
                                                       maximum=BURST_PERIOD_RANGE[1], default=10e-3),
                                          *BURST_PERIOD_RANGE)

    @command("[:SOURce]:BURSt:INTernal:PERiod?")
    def _get_burst_period(self) -> str:
        return nr3(self.ch.burst_period)

    @command(":TRIGger:SOURce")
    def _set_trigger_source(self, arg: str) -> None:
        self._change(trigger_source=keyword(arg, TRIGGER_SOURCES))

    @command(":TRIGger:SOURce?")
    def _get_trigger_source(self) -> str:
        return self.ch.trigger_source

    @command(":TRIGger:SLOPe")
    def _set_trigger_slope(self, arg: str) -> None:
        self.ch.trigger_slope = keyword(arg, ("POSitive", "NEGative"))

    @command(":TRIGger:SLOPe?")
    def _get_trigger_slope(self) -> str:
        return self.ch.trigger_slope

    @command(":TRIGger:COUNt")
    def _set_trigger_count(self, arg: str) -> None:
        if arg.strip().upper() in ("INF", "INFINITY"):
            self.ch.trigger_count = math.inf
            return
        self.ch.trigger_count = round(self._clip(parse_number(arg, minimum=1, maximum=MAX_TRIGGER_COUNT, default=1),
                                                 1, MAX_TRIGGER_COUNT))

    @command(":TRIGger:COUNt?")
    def _get_trigger_count(self) -> str:
        return nr3(INFINITY if math.isinf(self.ch.trigger_count) else self.ch.trigger_count)

    @command(":TRIGger:DELay")
    def _set_trigger_delay(self, arg: str) -> None:
        self.ch.trigger_delay = self._clip(parse_number(arg, minimum=TRIGGER_DELAY_RANGE[0],
                                                        maximum=TRIGGER_DELAY_RANGE[1], default=0.0),
                                           *TRIGGER_DELAY_RANGE)

    @command(":TRIGger:DELay?")
    def _get_trigger_delay(self) -> str:
        return nr3(self.ch.trigger_delay)

    @command(":TRIGger:TIMer")
    def _set_trigger_timer(self, arg: str) -> None:
        self.ch.trigger_timer = self._clip(parse_number(arg, minimum=TRIGGER_TIMER_RANGE[0],
                                                        maximum=TRIGGER_TIMER_RANGE[1], default=1e-3),
                                           *TRIGGER_TIMER_RANGE)

    @command(":TRIGger:TIMer?")
    def _get_trigger_timer(self) -> str:
        return nr3(self.ch.trigger_timer)

    # --- phase, frequency mode, other waveform shapes ---------------------------------------
    @command("[:SOURce]:PHASe[:ADJust]")
    @command("[:SOURce]:BURSt:PHASe")
    def _set_phase(self, arg: str) -> None:
        """Only the *RST phase, 0°, is played: a burst starts at the start of its first period."""
        if parse_number(arg, minimum=-360.0, maximum=360.0, default=0.0) != 0.0:
            raise ScpiError(-221, "Settings conflict;a phase other than 0 is not simulated")

    @command("[:SOURce]:PHASe[:ADJust]?")
    @command("[:SOURce]:BURSt:PHASe?")
    def _get_phase(self) -> str:
        return nr3(0.0)

    @command("[:SOURce]:PHASe:SYNChronize")
    def _sync_phases(self) -> None:
        return None   # every burst starts at phase 0 on both channels: they are in phase already

    @command("[:SOURce]:FREQuency:MODE")
    def _set_frequency_mode(self, arg: str) -> None:
        if keyword(arg, ("CW", "FIXed", "LIST", "SWEep")) not in ("CW", "FIX"):
            raise ScpiError(-221, "Settings conflict;frequency lists and sweeps are not simulated")

    @command("[:SOURce]:FREQuency:MODE?")
    def _get_frequency_mode(self) -> str:
        return "CW"

    @command("[:SOURce]:FUNCtion:RAMP:SYMMetry")
    def _set_symmetry(self, arg: str) -> None:
        self.ch.ramp_symmetry = self._clip(parse_number(arg, minimum=0.0, maximum=100.0, default=100.0), 0.0, 100.0)

    @command("[:SOURce]:FUNCtion:RAMP:SYMMetry?")
    def _get_symmetry(self) -> str:
        return nr3(self.ch.ramp_symmetry)

    @command("[:SOURce]:FUNCtion:SQUare:DCYCle")
    def _set_square_duty(self, arg: str) -> None:
        self.ch.square_duty = self._clip(parse_number(arg, minimum=SQUARE_DUTY_RANGE[0],
                                                      maximum=SQUARE_DUTY_RANGE[1], default=50.0),
                                         *SQUARE_DUTY_RANGE)

    @command("[:SOURce]:FUNCtion:SQUare:DCYCle?")
    def _get_square_duty(self) -> str:
        return nr3(self.ch.square_duty)

    @command("[:SOURce]:BURSt:GATE:POLarity")
    def _set_gate_polarity(self, arg: str) -> None:
        self.ch.burst_gate_polarity = keyword(arg, ("NORMal", "INVerted"))

    @command("[:SOURce]:BURSt:GATE:POLarity?")
    def _get_gate_polarity(self) -> str:
        return self.ch.burst_gate_polarity

    @command(":OUTPut:SYNC:SOURce")
    def _set_sync_source(self, arg: str) -> None:
        self.sync_source = keyword(arg, ("CH1", "CH2"))

    @command(":OUTPut:SYNC:SOURce?")
    def _get_sync_source(self) -> str:
        return self.sync_source


    @command("[:SOURce]:APPLy?")
    def _get_apply(self) -> str:
        """Guide ``[SOURce[1|2]:]APPLy?``: a quoted ``"<function> <frequency>,<amplitude>,<offset>"``
        in the units and number form of the other queries (33250A guide p. 152 shows the same
        shape, ``"SIN +5.0000000000000E+03,+3.0000000000000E+00,-2.5000000000000E+00"``, with its
        own number width)."""
        return f'"{self.ch.function} {self._get_frequency()},{self._get_amplitude()},{self._get_offset()}"'

    @command("[:SOURce]:FUNCtion:ARBitrary")
    def _set_arb(self, arg: str) -> None:
        """Guide ``[SOURce[1|2]:]FUNCtion:ARBitrary <filename>``: only a waveform in volatile
        memory (``DATA:VOLatile:CATalog?``) can be selected; loading others is not simulated."""
        name = arg.strip().strip("\"'")
        if name.upper() not in (DEFAULT_ARB.upper(), "EXP_RISE"):
            raise ScpiError(-224, "Illegal parameter value;arbitrary waveform not in volatile memory")
        self.ch.arb = DEFAULT_ARB

    @command("[:SOURce]:FUNCtion:ARBitrary?")
    def _get_arb(self) -> str:
        return f'"{self.ch.arb}"'

    @command("[:SOURce]:DATA:VOLatile:CATalog?")
    def _get_volatile_catalog(self) -> str:
        """Guide ``[SOURce[1|2]:]DATA:VOLatile:CATalog?``: quoted names, comma-separated."""
        return f'"{DEFAULT_ARB}"'

    @command("[:SOURce]:ROSCillator:SOURce")
    def _set_reference(self, arg: str) -> None:
        """Guide ``[SOURce[1|2]:]ROSCillator:SOURce INTernal|EXTernal``."""
        self.reference = keyword(arg, ("INTernal", "EXTernal"))

    @command("[:SOURce]:ROSCillator:SOURce?")
    def _get_reference(self) -> str:
        return self.reference

    @command("[:SOURce]:ROSCillator:SOURce:CURRent?")
    def _get_reference_in_use(self) -> str:
        """The reference in use: the internal one, no external reference being wired."""
        return "INT"

    @command("[:SOURce]:VOLTage:LIMit:STATe")
    def _set_voltage_limit_state(self, arg: str) -> None:
        """Guide ``[SOURce[1|2]:]VOLTage:LIMit:STATe``: OFF (the *RST state) only."""
        if parse_bool(arg):
            raise ScpiError(-221, "Settings conflict;output voltage limits are not simulated")

    @command("[:SOURce]:VOLTage:LIMit:STATe?")
    def _get_voltage_limit_state(self) -> str:
        return "0"


def max_edge(width: float, period: float) -> float:
    """Longest edge (s) a pulse of ``width`` in ``period`` takes: the minimum below 20 ns width,
    else 0.625 × the shorter of the high and the low time."""
    if width < LONG_EDGE_WIDTH:
        return EDGE_RANGE[0]
    return max(EDGE_RANGE[0], 0.625 * min(width, period - width))
