"""Simulated Tektronix AFG31022 (AFG31000 series, two channels), native SCPI command set.

Follows the AFG31000 Series Programmer Manual (077-1643-xx) command syntax — ``SOURce[1|2]:
FUNCtion:SHAPe``, ``SOURce[1|2]:PULSe:WIDTh|PERiod|DCYCle|DELay|TRANsition[:LEADing]|
TRANsition:TRAiling``, ``SOURce[1|2]:VOLTage[:LEVel][:IMMediate]:AMPLitude|OFFSet|HIGH|LOW``,
``OUTPut[1|2][:STATe]|IMPedance|POLarity``, ``SOURce[1|2]:BURSt[:STATe]|MODE|NCYCles``,
``TRIGger[:SEQuence]:SOURce|TIMer|SLOPe``, ``TRIGger[:SEQuence][:IMMediate]``, ``*TRG`` — as the
AFG3000-family manual and public AFG31000 drivers use it. What is simulated:

- identification, ``*RST``, ``*OPC?``, ``*STB?``, ``*CLS``, ``ABORt``, the error queue
  (``0,"No error"``, ``-221,"Settings conflict;..."``), ``*RST`` leaving it and the status
  registers as they are;
- the Standard Event Status Register as the AFG3000-family manual ("Status and Events") and
  IEEE 488.2 describe it: ``*OPC`` sets OPC (bit 0) "when all pending operations complete",
  errors set CME (bit 5), EXE (bit 4), DDE (bit 3) or QYE (bit 2), power-on sets PON (bit 7),
  ``*ESR?`` answers the register and clears it, as does ``*CLS``. Bursts play inside ``*TRG``
  in virtual time, so OPC is set as ``*OPC`` executes, whether or not the AFG31000 counts a
  burst as pending (not confirmed here; the 33500 guide says so of its bursts);
- per channel: function, frequency, pulse period/width/duty cycle/lead delay/edges, amplitude
  (``VPP`` suffix accepted), offset, high/low level, load impedance setting
  (``OUTPut:IMPedance``: 1 Ω to 10 kΩ or INFinity), polarity, output state, burst state, mode
  and count (1 to 1 000 000 or INFinity); instrument-wide trigger source (TIMer|EXTernal) and
  timer;
- the load setting as on the 33500: a 50 Ω source whose programmed levels assume the load
  setting (EMF twice the programmed level at the 50 Ω default, equal to it at INFinity).

Bus triggering, as the manual describes it: there is no BUS trigger source. ``*TRG`` and
``TRIGger[:SEQuence][:IMMediate]`` generate a trigger event whatever the source; with the
source TIMer a triggered burst also repeats at the timer interval, with EXTernal (nothing wired
to Trigger Input) it waits for ``*TRG``. So a channel plays only in triggered burst mode with
the EXTernal source: it idles at the pulse's low level and ``*TRG`` plays every such channel's
burst in virtual time (lead delay and the rest of the period at the low level, the 50 %-width
rectangle at the high level; see ``keysight33500.py`` for why the rectangle and for how
outputs that run free are refused with -221).

Figures not confirmed here (recalled from the AFG31000 data sheet and AFG3000 manual; the
AFG31000 manual text itself was not available): the AFG31022's pulse width from 30 ns,
edges from 18 ns to 0.625 × period, pulse frequency to 12.5 MHz, 1 mVpp to 10 Vpp into 50 Ω
(±10 V open circuit), the width rule 0.625 × (lead + trail) ≤ width ≤ period − 0.8 × (lead +
trail) − delay, the *RST values (sine, 1 MHz, 1 Vpp, 500 ns width, burst count 5, TIMer source,
1 ms timer), the timer range 1 µs to 500 s and the exact reply and error-message formats.
"""
from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace

from labsuite.simulator.instruments.generator import SimulatedGenerator, emf_per_volt, pulse_train
from labsuite.simulator.instruments.scpi import ScpiError, Setting, choice, command, keyword, parse_bool, parse_number

MAX_EMF = 10.0                   # V, largest |level| open circuit (±5 V into 50 Ω)
MIN_AMPLITUDE_EMF = 2e-3         # V, 1 mVpp into 50 Ω
FREQUENCY_RANGE = (1e-6, 25e6)   # Hz, sine
PULSE_FREQUENCY_RANGE = (1e-3, 12.5e6)   # Hz
MIN_WIDTH = 30e-9                # s
MAX_WIDTH = 999.99               # s
MIN_EDGE = 18e-9                 # s, 10–90 %
MAX_BURST = 1_000_000
TIMER_RANGE = (1e-6, 500.0)      # s

SHAPES = ("SINusoid", "SQUare", "PULSe", "RAMP", "PRNoise", "DC", "SINC", "GAUSsian", "LORentz",
          "ERISe", "EDECay", "HAVersine")
CHANNEL_SUFFIX = re.compile(r"(:(?:SOURCE|SOUR|OUTPUT|OUTP))([12])(?=:|$)", re.IGNORECASE)


def number(value: float) -> str:
    """A number as answered (NR3)."""
    return f"{value:.6E}"


@dataclass
class Channel:
    """One output's settings (levels as EMF, the open-circuit volts behind the 50 Ω)."""

    shape: str = "SIN"
    frequency: float = 1e6          # Hz; the pulse period is its inverse
    width: float = 500e-9           # s, 50 % to 50 %
    delay: float = 0.0              # s, lead delay
    lead: float = MIN_EDGE          # s, 10–90 %
    trail: float = MIN_EDGE         # s
    emf_high: float = 1.0           # V, 1 Vpp into the 50 Ω load setting
    emf_low: float = -1.0           # V
    load: float = 50.0              # Ω, load impedance setting (math.inf: high impedance)
    polarity: str = "NORM"
    output: bool = False
    burst: bool = False
    burst_mode: str = "TRIG"
    cycles: float = 5               # math.inf: INFinity

    @property
    def period(self) -> float:
        return 1.0 / self.frequency

    @property
    def pulsed(self) -> bool:
        return self.shape == "PULS"

    def burst_segments(self, idle: float | None, pulse: float | None) -> Iterator[tuple[float, float | None]]:
        """The burst a trigger starts: the pulse train, each period from its lead delay."""
        return pulse_train(idle, pulse, self.width, self.period, int(self.cycles), self.delay)

    def levels(self) -> tuple[float, float]:
        """(idle, pulse) EMF, V (swapped with the polarity inverted; the offset for other shapes)."""
        if self.shape != "PULS":
            offset = (self.emf_high + self.emf_low) / 2
            return offset, offset
        if self.polarity == "INV":
            return self.emf_high, self.emf_low
        return self.emf_low, self.emf_high


class TektronixAFG31000(SimulatedGenerator):
    """An AFG31022 whose channel 1 drives ``port`` (channel 2 drives ``port2`` if wired)."""

    simulates = {"tektronixafg31000": None}   # registry name (labsuite.registry) → model

    idn = "TEKTRONIX,AFG31022,C010203,SCPI:99.0 FV:1.6.2"
    channel_suffix = CHANNEL_SUFFIX
    max_emf, min_amplitude_emf = MAX_EMF, MIN_AMPLITUDE_EMF
    default_amplitude, default_high = 2.0, 1.0
    max_burst, default_cycles = MAX_BURST, 5
    clipped = ("Data out of range", "Data out of range")
    reply = staticmethod(number)

    # --- bookkeeping ------------------------------------------------------------------
    def reset(self) -> None:
        """The *RST state (the error queue and the status registers are not cleared)."""
        self.channels = {1: Channel(), 2: Channel()}
        self.trigger_source = "TIM"
        self.timer = 1e-3
        self.trigger_slope = "POS"        # TRIGger[:SEQuence]:SLOPe, POSitive after *RST

    def _unplayable(self, c: Channel, trigger_source: str) -> str | None:
        """Why an output that is on in this state cannot be simulated (None: it can)."""
        if c.shape == "DC":
            return None
        if not c.burst:
            return "continuous output"
        if c.burst_mode != "TRIG":
            return "gated burst"
        if trigger_source != "EXT":
            return "timer-triggered burst"
        if math.isinf(c.cycles):
            return "infinite burst"
        return None

    def _change(self, trigger_source: str | None = None, **settings: object) -> None:
        """Apply settings that decide whether an output that is on can be played."""
        source = trigger_source or self.trigger_source
        channels = {n: replace(c, **settings) if n == self._addressed else c for n, c in self.channels.items()}
        for c in channels.values():
            reason = self._unplayable(c, source)
            if c.output and reason:
                raise ScpiError(-221, f"Settings conflict;{reason} is not simulated with the output on")
        self.channels, self.trigger_source = channels, source

    def _fit_pulse(self) -> None:
        """Fit edges, then width, then delay to the period (-221 for each adjustment)."""
        c = self.ch
        edges = min(c.width / 0.625, (c.period - c.width) / 0.8, 2 * 0.625 * c.period)
        if c.lead + c.trail > edges:
            scale = edges / (c.lead + c.trail)
            c.lead, c.trail = max(MIN_EDGE, c.lead * scale), max(MIN_EDGE, c.trail * scale)
            self.errors.push(-221, "Settings conflict;edge time decreased due to pulse width")
        longest = c.period - 0.8 * (c.lead + c.trail)
        if c.width > longest:
            c.width = max(MIN_WIDTH, longest)
            self.errors.push(-221, "Settings conflict;pulse width decreased due to period")
        if c.delay > longest - c.width:
            c.delay = max(0.0, longest - c.width)
            self.errors.push(-221, "Settings conflict;lead delay decreased due to period")

    def _volts(self, arg: str, low: float, high: float, default: float) -> float:
        """A level argument in programmed (load-setting) volts → EMF volts; a VPP suffix is allowed."""
        token = arg.strip().upper()
        if token.endswith(("VRMS", "DBM")):
            raise ScpiError(-221, "Settings conflict;only Vpp units are simulated")
        token = token.removesuffix("VPP")
        scale = emf_per_volt(self.ch.load)
        return parse_number(token, minimum=low / scale, maximum=high / scale, default=default / scale) * scale

    # --- triggering ---------------------------------------------------------------------------
    @command(":ABORt")
    def _abort(self) -> None:
        self.stop_sequence()   # a paced burst; in virtual time it ran to completion inside *TRG

    @command("*TRG")
    @command(":TRIGger[:SEQuence][:IMMediate]")
    def _trigger(self) -> None:
        """Play the burst of every channel in triggered burst mode, whatever the trigger source."""
        self._play(lambda c: True)

    # --- function and timing --------------------------------------------------------------
    @command("[:SOURce]:FUNCtion[:SHAPe]")
    def _set_shape(self, arg: str) -> None:
        self._change(shape=keyword(arg, SHAPES))
        if self.ch.shape == "PULS":
            self.ch.frequency = self._clip(self.ch.frequency, *PULSE_FREQUENCY_RANGE)
            self._fit_pulse()

    @command("[:SOURce]:FUNCtion[:SHAPe]?")
    def _get_shape(self) -> str:
        return self.ch.shape

    @command("[:SOURce]:FREQuency[:CW]")
    @command("[:SOURce]:FREQuency:FIXed")
    def _set_frequency(self, arg: str) -> None:
        low, high = PULSE_FREQUENCY_RANGE if self.ch.shape == "PULS" else FREQUENCY_RANGE
        self.ch.frequency = self._clip(parse_number(arg, minimum=low, maximum=high, default=1e6), low, high)
        if self.ch.shape == "PULS":
            self._fit_pulse()

    @command("[:SOURce]:FREQuency[:CW]?")
    @command("[:SOURce]:FREQuency:FIXed?")
    def _get_frequency(self) -> str:
        return number(self.ch.frequency)

    @command("[:SOURce]:PULSe:PERiod")
    def _set_period(self, arg: str) -> None:
        low, high = 1.0 / PULSE_FREQUENCY_RANGE[1], 1.0 / PULSE_FREQUENCY_RANGE[0]
        self.ch.frequency = 1.0 / self._clip(parse_number(arg, minimum=low, maximum=high, default=1e-6), low, high)
        self._fit_pulse()

    @command("[:SOURce]:PULSe:PERiod?")
    def _get_period(self) -> str:
        return number(self.ch.period)

    @command("[:SOURce]:PULSe:WIDTh")
    def _set_width(self, arg: str) -> None:
        self.ch.width = self._clip(parse_number(arg, minimum=MIN_WIDTH, maximum=MAX_WIDTH, default=500e-9),
                                   MIN_WIDTH, MAX_WIDTH)
        self._fit_pulse()

    @command("[:SOURce]:PULSe:WIDTh?")
    def _get_width(self) -> str:
        return number(self.ch.width)

    @command("[:SOURce]:PULSe:DCYCle")
    def _set_duty(self, arg: str) -> None:
        duty = self._clip(parse_number(arg, minimum=0.001, maximum=99.999, default=50.0), 0.001, 99.999)
        self.ch.width = max(MIN_WIDTH, duty / 100.0 * self.ch.period)
        self._fit_pulse()

    @command("[:SOURce]:PULSe:DCYCle?")
    def _get_duty(self) -> str:
        return number(100.0 * self.ch.width / self.ch.period)

    @command("[:SOURce]:PULSe:DELay")
    def _set_delay(self, arg: str) -> None:
        self.ch.delay = self._clip(parse_number(arg, minimum=0.0, maximum=self.ch.period, default=0.0),
                                   0.0, self.ch.period)
        self._fit_pulse()

    @command("[:SOURce]:PULSe:DELay?")
    def _get_delay(self) -> str:
        return number(self.ch.delay)

    @command("[:SOURce]:PULSe:TRANsition[:LEADing]")
    def _set_lead(self, arg: str) -> None:
        self.ch.lead = self._edge(arg)
        self._fit_pulse()

    @command("[:SOURce]:PULSe:TRANsition:TRAiling")
    def _set_trail(self, arg: str) -> None:
        self.ch.trail = self._edge(arg)
        self._fit_pulse()

    def _edge(self, arg: str) -> float:
        high = 0.625 * self.ch.period
        return self._clip(parse_number(arg, minimum=MIN_EDGE, maximum=high, default=MIN_EDGE), MIN_EDGE, high)

    @command("[:SOURce]:PULSe:TRANsition[:LEADing]?")
    def _get_lead(self) -> str:
        return number(self.ch.lead)

    @command("[:SOURce]:PULSe:TRANsition:TRAiling?")
    def _get_trail(self) -> str:
        return number(self.ch.trail)

    # --- output ---------------------------------------------------------------------------
    @command(":OUTPut:IMPedance")
    def _set_load(self, arg: str) -> None:
        super()._set_load(arg)

    @command(":OUTPut:IMPedance?")
    def _get_load(self) -> str:
        return super()._get_load()

    # --- burst and trigger ----------------------------------------------------------------
    @command("[:SOURce]:BURSt[:STATe]")
    def _set_burst(self, arg: str) -> None:
        self._change(burst=parse_bool(arg))

    @command("[:SOURce]:BURSt[:STATe]?")
    def _get_burst(self) -> str:
        return "1" if self.ch.burst else "0"

    @command(":TRIGger[:SEQuence]:SOURce")
    def _set_trigger_source(self, arg: str) -> None:
        self._change(trigger_source=keyword(arg, ("TIMer", "EXTernal")))

    @command(":TRIGger[:SEQuence]:SOURce?")
    def _get_trigger_source(self) -> str:
        return self.trigger_source

    @command(":TRIGger[:SEQuence]:TIMer")
    def _set_timer(self, arg: str) -> None:
        self.timer = self._clip(parse_number(arg, minimum=TIMER_RANGE[0], maximum=TIMER_RANGE[1], default=1e-3),
                                *TIMER_RANGE)

    @command(":TRIGger[:SEQuence]:TIMer?")
    def _get_timer(self) -> str:
        return number(self.timer)

    # the edge of the Trigger Input signal that triggers (nothing is wired to it; *TRG triggers either way)
    _trigger_slope = Setting(":TRIGger[:SEQuence]:SLOPe", "trigger_slope", choice("POSitive", "NEGative"))
