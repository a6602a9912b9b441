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

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace

from labsuite.simulator.instruments.generator import (GeneratorChannel, SimulatedGenerator, finite, load_setting,
                                                     pulse_train)
from labsuite.simulator.instruments.scpi import (ScpiError, Setting, choice, command, keyword, numeric, on_off,
                                                 parse_bool)

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
class Channel(GeneratorChannel):
    """One output's settings: the shared ones and the pulse's lead delay."""

    delay: float = 0.0              # s, lead delay

    @property
    def duty(self) -> float:
        """Duty cycle, %."""
        return 100.0 * self.width / self.period

    def burst_segments(self, idle: float | None, pulse: float | None) -> Iterator[tuple[float, float | None]]:
        """The burst a trigger starts: the pulse train, each period from its lead delay."""
        return pulse_train(idle, pulse, self.width, self.period, int(self.cycles), self.delay)


class TektronixAFG31000(SimulatedGenerator):
    """An AFG31022 whose channel 1 drives ``port`` (channel 2 drives ``port2`` if wired)."""

    simulates = {"tektronixafg31000": None}   # registry name (labsuite.registry) → model

    idn = "TEKTRONIX,AFG31022,C010203,SCPI:99.0 FV:1.6.2"
    channel_suffix = CHANNEL_SUFFIX
    max_emf, min_amplitude_emf = MAX_EMF, MIN_AMPLITUDE_EMF
    default_amplitude, default_high = 2.0, 1.0
    max_burst, default_cycles, min_width = MAX_BURST, 5, MIN_WIDTH
    clip_messages = ("Data out of range", "Data out of range")
    reply = staticmethod(number)

    # --- bookkeeping ------------------------------------------------------------------
    def reset(self) -> None:
        """The *RST state (the error queue and the status registers are not cleared)."""
        self.channels = {n: Channel(frequency=1e6, width=500e-9, lead=MIN_EDGE, trail=MIN_EDGE, emf_high=1.0,
                                    emf_low=-1.0, cycles=5) for n in (1, 2)}   # 1 Vpp into the 50 Ω load setting
        self.trigger_source = "TIM"
        self.timer = 1e-3
        self.trigger_slope = "POS"        # TRIGger[:SEQuence]:SLOPe, POSitive after *RST

    def _change(self, trigger_source: str | None = None, **settings: object) -> None:
        """Apply settings that decide whether an output that is on can be played."""
        source = trigger_source or self.trigger_source
        channels = {n: replace(c, **settings) if n == self._addressed else c for n, c in self.channels.items()}
        for c in channels.values():
            reason = c.unplayable(source == "EXT", "timer-triggered burst")
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
        return super()._volts(token.removesuffix("VPP"), low, high, default)

    # --- triggering ---------------------------------------------------------------------------
    def _armed_externally(self, c: Channel, slope: str) -> bool:
        return (c.burst and c.burst_mode == "TRIG" and c.pulsed and self.trigger_source == "EXT"
                and self.trigger_slope == slope)

    @command("*TRG")
    @command(":TRIGger[:SEQuence][:IMMediate]")
    def _trigger(self) -> None:
        """Play the burst of every channel in triggered burst mode, whatever the trigger source."""
        self._play(lambda c: True)

    # --- function and timing --------------------------------------------------------------
    @command("[:SOURce]:FUNCtion[:SHAPe]")
    def _set_shape(self, arg: str) -> None:
        self._change(function=keyword(arg, SHAPES))
        if self.ch.function == "PULS":
            self.ch.frequency = self.clipped(self.ch.frequency, *PULSE_FREQUENCY_RANGE)
            self._fit_pulse()

    @command("[:SOURce]:FUNCtion[:SHAPe]?")
    def _get_shape(self) -> str:
        return self.ch.function

    @command("[:SOURce]:FREQuency[:CW]")
    @command("[:SOURce]:FREQuency:FIXed")
    def _set_frequency(self, arg: str) -> None:
        pulsed = self.ch.pulsed
        self.ch.frequency = self._number(arg, *(PULSE_FREQUENCY_RANGE if pulsed else FREQUENCY_RANGE), 1e6)
        if pulsed:
            self._fit_pulse()

    @command("[:SOURce]:FREQuency[:CW]?")
    @command("[:SOURce]:FREQuency:FIXed?")
    def _get_frequency(self) -> str:
        return number(self.ch.frequency)

    @command("[:SOURce]:PULSe:PERiod")
    def _set_period(self, arg: str) -> None:
        self._retime(frequency=1.0 / self._number(arg, 1.0 / PULSE_FREQUENCY_RANGE[1], 1.0 / PULSE_FREQUENCY_RANGE[0],
                                                   1e-6))

    @command("[:SOURce]:PULSe:PERiod?")
    def _get_period(self) -> str:
        return number(self.ch.period)

    _width = Setting("[:SOURce]:PULSe:WIDTh", "ch.width", numeric(MIN_WIDTH, MAX_WIDTH, 500e-9), number,
                     apply="_retime", clip=(MIN_WIDTH, MAX_WIDTH))

    _duty = Setting("[:SOURce]:PULSe:DCYCle", "ch.duty", numeric(0.001, 99.999, 50.0), number, apply="_take_duty",
                    clip=(0.001, 99.999))

    # the lead delay and the edges take ranges that follow the period
    @command("[:SOURce]:PULSe:DELay")
    def _set_delay(self, arg: str) -> None:
        self._retime(delay=self._number(arg, 0.0, self.ch.period, 0.0))

    @command("[:SOURce]:PULSe:TRANsition[:LEADing]")
    def _set_lead(self, arg: str) -> None:
        self._retime(lead=self._number(arg, MIN_EDGE, 0.625 * self.ch.period, MIN_EDGE))

    @command("[:SOURce]:PULSe:TRANsition:TRAiling")
    def _set_trail(self, arg: str) -> None:
        self._retime(trail=self._number(arg, MIN_EDGE, 0.625 * self.ch.period, MIN_EDGE))

    @command("[:SOURce]:PULSe:DELay?")
    def _get_delay(self) -> str:
        return number(self.ch.delay)

    @command("[:SOURce]:PULSe:TRANsition[:LEADing]?")
    def _get_lead(self) -> str:
        return number(self.ch.lead)

    @command("[:SOURce]:PULSe:TRANsition:TRAiling?")
    def _get_trail(self) -> str:
        return number(self.ch.trail)

    # --- output ---------------------------------------------------------------------------
    _load = Setting(":OUTPut:IMPedance", "ch.load", load_setting, lambda ohms: number(finite(ohms)), apply="_take_load")

    # --- burst and trigger ----------------------------------------------------------------
    _burst = Setting("[:SOURce]:BURSt[:STATe]", "ch.burst", parse_bool, on_off, apply="_change")

    _trigger_source = Setting(":TRIGger[:SEQuence]:SOURce", "trigger_source", choice("TIMer", "EXTernal"),
                              apply="_change")

    _timer = Setting(":TRIGger[:SEQuence]:TIMer", "timer", numeric(*TIMER_RANGE, 1e-3), number, clip=TIMER_RANGE)

    # the edge of the Trigger Input signal that triggers (nothing is wired to it; *TRG triggers either way)
    _trigger_slope = Setting(":TRIGger[:SEQuence]:SLOPe", "trigger_slope", choice("POSitive", "NEGative"))
