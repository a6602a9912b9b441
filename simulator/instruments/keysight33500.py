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
from collections.abc import Iterator
from dataclasses import dataclass, replace
from decimal import Decimal
from itertools import chain

from labsuite.simulator.circuit import SourcePort
from labsuite.simulator.instruments.generator import INFINITY, SimulatedGenerator, emf_per_volt, pulse_train
from labsuite.simulator.instruments.scpi import (ScpiError, Setting, choice, command, keyword, on_off, parse_bool,
                                                 parse_number)

MAX_EMF = 10.0                 # V, largest |level| open circuit (±5 V into 50 Ω)
MIN_AMPLITUDE_EMF = 2e-3       # V, 1 mVpp into 50 Ω
FREQUENCY_RANGE = (1e-6, 30e6)  # Hz, pulse (and sine) frequency
MIN_WIDTH = 16e-9              # s
MAX_WIDTH = 1e6                # s
EDGE_RANGE = (8.4e-9, 1e-6)    # s, 10–90 %
LONG_EDGE_WIDTH = 20e-9        # s, narrowest pulse that takes edges above the minimum
MAX_BURST = 100_000_000
BURST_PERIOD_RANGE = (1e-6, 8000.0)   # s

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

    @property
    def pulsed(self) -> bool:
        return self.function == "PULS"

    def burst_segments(self, idle: float | None, pulse: float | None) -> Iterator[tuple[float, float | None]]:
        """The burst a trigger starts: the trigger delay at ``idle``, then the pulse train."""
        delay = [(self.trigger_delay, idle)] if self.trigger_delay > 0 else []
        return chain(delay, pulse_train(idle, pulse, self.width, self.period, int(self.cycles)))

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


class Keysight33500(SimulatedGenerator):
    """A 33522B whose channel 1 drives ``port`` (channel 2 drives ``port2`` if wired)."""

    simulates = {"keysight33500": None}   # registry name (labsuite.registry) → model

    idn = "Keysight Technologies,33522B,MY59001234,4.03-1.19-2.00-58-00"
    channel_suffix = CHANNEL_SUFFIX
    max_emf, min_amplitude_emf = MAX_EMF, MIN_AMPLITUDE_EMF
    default_amplitude, default_high = 0.2, 0.1   # 100 mVpp into 50 Ω after *RST
    max_burst, default_cycles = MAX_BURST, 1
    clipped = ("Data out of range;value clipped to lower limit", "Data out of range;value clipped to upper limit")
    reply = staticmethod(nr3)

    def __init__(self, port: SourcePort, port2: SourcePort | None = None) -> None:
        self.reference = "INT"           # ROSCillator:SOURce (kept through *RST; no external reference wired)
        super().__init__(port, port2)

    # --- bookkeeping ------------------------------------------------------------------
    def reset(self) -> None:
        """The *RST state (the error queue and the status registers are not cleared)."""
        self.channels = {1: Channel(), 2: Channel()}
        self.sync_source = "CH1"

    def format_error(self, code: int, message: str) -> str:
        return f'{code:+d},"{message}"'

    def integer(self, value: int) -> str:
        return f"{value:+d}"

    def _change(self, **settings: object) -> None:
        """Apply settings that decide whether the output can be played."""
        new = replace(self.ch, **settings)
        reason = new.unplayable()
        if new.output and reason:
            raise ScpiError(-221, f"Settings conflict;{reason} is not simulated with the output on")
        self.channels[self._addressed] = new

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

    def _volts(self, arg: str, low: float, high: float, default: float) -> float:
        """A level argument in programmed (load-setting) volts → EMF volts."""
        scale = emf_per_volt(self.ch.load)
        return parse_number(arg, minimum=low / scale, maximum=high / scale, default=default / scale) * scale

    # --- triggering ---------------------------------------------------------------------------
    @command(":ABORt")
    def _abort(self) -> None:
        self.stop_sequence()   # a paced burst; in virtual time it ran to completion inside *TRG

    @command("*TRG")
    def _trg(self) -> None:
        """Play the burst of every channel whose trigger source is BUS."""
        self._play(lambda c: c.trigger_source == "BUS")

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

    _hold = Setting("[:SOURce]:FUNCtion:PULSe:HOLD", "ch.hold", choice("WIDTh", "DCYCle"))

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
    @command(":OUTPut:LOAD")
    def _set_load(self, arg: str) -> None:
        super()._set_load(arg)

    @command(":OUTPut:LOAD?")
    def _get_load(self) -> str:
        return super()._get_load()

    _sync = Setting(":OUTPut:SYNC", "ch.sync", parse_bool, on_off)

    # --- burst and trigger ----------------------------------------------------------------
    @command("[:SOURce]:BURSt:STATe")
    def _set_burst(self, arg: str) -> None:
        self._change(burst=parse_bool(arg))

    @command("[:SOURce]:BURSt:STATe?")
    def _get_burst(self) -> str:
        return "1" if self.ch.burst else "0"

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

    _trigger_slope = Setting(":TRIGger:SLOPe", "ch.trigger_slope", choice("POSitive", "NEGative"))

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

    _gate_polarity = Setting("[:SOURce]:BURSt:GATE:POLarity", "ch.burst_gate_polarity", choice("NORMal", "INVerted"))

    _sync_source = Setting(":OUTPut:SYNC:SOURce", "sync_source", choice("CH1", "CH2"))

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

    _reference = Setting("[:SOURce]:ROSCillator:SOURce", "reference", choice("INTernal", "EXTernal"))

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
