"""What the simulated two-channel pulse generators (Keysight 33500B, Tektronix AFG31000) share:
the 50 Ω output and its load setting, bursts played on source ports in bench time, the channel a
header addresses, the level commands, and the output and burst commands both manuals spell alike.

Each instrument module gives its channel settings, its limits, its *RST values and its number
and error-message formats; see ``keysight33500.py`` for what playing a burst means on a port.
"""
from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from labsuite.core.clock import VirtualClock
from labsuite.simulator.circuit import SourcePort
from labsuite.simulator.instruments.scpi import (Ieee488Instrument, ScpiError, Setting, _Command, choice, command,
                                                 keyword, on_off, parse_bool, parse_number)

OUTPUT_IMPEDANCE = 50.0        # Ω, series output impedance of each channel
LOAD_RANGE = (1.0, 10e3)       # Ω, load setting
INFINITY = 9.9e37              # what both answer for INFinity


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


def load_setting(arg: str) -> float:
    """A load setting parameter, Ω: a number (MIN 1 Ω, MAX 10 kΩ, DEF 50 Ω; 9.9E37 or more is
    infinite) or INFinity; the instrument clips a finite one (``_take_load``)."""
    if arg.strip().upper() in ("INF", "INFINITY"):
        return math.inf
    value = parse_number(arg, minimum=LOAD_RANGE[0], maximum=LOAD_RANGE[1], default=50.0)
    return math.inf if value >= INFINITY else value


def finite(value: float) -> float:
    """``value`` as the generators answer it: INFinity as 9.9E37."""
    return INFINITY if math.isinf(value) else value


@dataclass
class GeneratorChannel:
    """The settings of one output both generators keep (levels as EMF, the open-circuit volts
    behind the 50 Ω); each instrument gives the *RST values of the first seven and adds its own."""

    frequency: float                # Hz; the pulse period is its inverse
    width: float                    # s, 50 % to 50 %
    lead: float                     # s, 10–90 %
    trail: float                    # s
    emf_high: float                 # V
    emf_low: float                  # V
    cycles: float                   # burst count; math.inf: INFinity
    function: str = "SIN"
    load: float = 50.0              # Ω, load setting (math.inf: high impedance)
    polarity: str = "NORM"
    output: bool = False
    burst: bool = False
    burst_mode: str = "TRIG"

    @property
    def period(self) -> float:
        return 1.0 / self.frequency

    @property
    def pulsed(self) -> bool:
        return self.function == "PULS"

    def unplayable(self, triggered: bool, untriggered: str) -> str | None:
        """Why an output that is on in this state cannot be simulated (None: it can);
        ``triggered``: the trigger source lets a bus trigger start the burst, else the burst is
        ``untriggered`` (free-running, timer-triggered)."""
        if self.function == "DC":
            return None
        if not self.burst:
            return "continuous output"
        if self.burst_mode != "TRIG":
            return "gated burst"
        if not triggered:
            return untriggered
        if math.isinf(self.cycles):
            return "infinite burst"
        return None

    def levels(self) -> tuple[float, float]:
        """(idle, pulse) EMF, V: the low level while idle, the high level during the pulse
        (swapped with the polarity inverted); the offset for other functions."""
        if not self.pulsed:
            offset = (self.emf_high + self.emf_low) / 2
            return offset, offset
        if self.polarity == "INV":
            return self.emf_high, self.emf_low
        return self.emf_low, self.emf_high


def split_channel(header: str, suffix: re.Pattern[str]) -> tuple[int, str]:
    """(channel, header without it): the numeric suffix of a node such as ``SOUR2`` or ``OUTP2``
    selects the channel (1 if none has one)."""
    match = suffix.search(header)
    return (int(match.group(2)) if match else 1), suffix.sub(r"\1", header)


class SimulatedGenerator(Ieee488Instrument):
    """A two-channel generator whose channel 1 drives ``port`` (channel 2 drives ``port2`` if
    wired); a command addresses the channel its header's suffix names (``self.ch``).

    Holds the commands the 33500 and AFG31000 manuals spell alike: the levels (amplitude, offset,
    high, low: kept as the open-circuit EMF, answered for the load setting), output state and
    polarity, burst mode and count, the error queue. Subclasses give their channel settings
    (``reset``), limits, *RST defaults, number format (``reply``), the rule deciding whether a
    change leaves an output that is on playable (``_change``) and the pulse fit (``_fit_pulse``)."""

    output_impedance = OUTPUT_IMPEDANCE   # Ω
    _armed_externally: Callable[[Any, str], bool]   # (channel, slope): a burst starts on that edge at Trig In
    channel_suffix: re.Pattern[str]   # the nodes that take a channel suffix
    max_emf: float              # V, largest |level| open circuit
    min_amplitude_emf: float    # V, smallest amplitude open circuit
    default_amplitude: float    # V, the DEFault amplitude into the load setting
    default_high: float         # V, the DEFault high level (the low level's is its negative)
    max_burst: int              # cycles, largest burst count
    min_width: float            # s, narrowest pulse
    default_cycles: int         # cycles, the DEFault burst count
    clip_messages: tuple[str, str]   # error messages of a value clipped to the lower and the upper limit
    reply: Callable[[float], str]   # a number as the instrument answers it
    channels: dict[int, Any]   # channel number → its settings (levels, output, burst, load...)
    _change: Callable[..., None]
    _fit_pulse: Callable[[], None]   # fit width, edges (and delay) to the period, -221 for each change

    def __init__(self, port: SourcePort, port2: SourcePort | None = None) -> None:
        super().__init__()
        self.ports = {1: port, 2: port2}
        self.clock = port.clock
        self._addressed = 1
        self.reset()

    def power_loss(self) -> None:
        """Mains lost and back: outputs drop, power-on settings, empty error queue, Power On set."""
        self.reset()
        self.power_on_status()
        self._drive()

    def process(self, message: str) -> str | None:
        for port in self.ports.values():
            if port is not None:
                port.sync()
        try:
            return super().process(message)
        finally:
            if not self.sequence_running:   # a paced burst drives the ports itself
                self._drive()

    def _find(self, header: str, query: bool) -> _Command:
        """Note the channel the header addresses (``SOUR2``, ``OUTP2``) for the handler."""
        self._addressed, header = split_channel(header, self.channel_suffix)
        return super()._find(header, query)

    @property
    def ch(self) -> Any:
        """The channel the command being executed addresses."""
        return self.channels[self._addressed]

    def _drive(self) -> None:
        for n, port in self.ports.items():
            if port is not None:
                c = self.channels[n]
                port.drive(c.levels()[0] if c.output else None, math.inf)

    def _number(self, arg: str, low: float, high: float, default: float) -> float:
        """A numeric argument (MIN, MAX, DEF: ``low``, ``high``, ``default``) clipped to [low, high]."""
        return self.clipped(parse_number(arg, minimum=low, maximum=high, default=default), low, high)

    def _volts(self, arg: str, low: float, high: float, default: float) -> float:
        """A level argument in programmed (load-setting) volts → EMF volts."""
        scale = emf_per_volt(self.ch.load)
        return parse_number(arg, minimum=low / scale, maximum=high / scale, default=default / scale) * scale

    def _take_duty(self, duty: float) -> None:
        """A duty cycle (%) sets the width of the present period."""
        self._retime(width=max(self.min_width, duty / 100.0 * self.ch.period))

    def _retime(self, **timing: float) -> None:
        """Take pulse timing settings of the addressed channel, then fit the pulse to its period."""
        for name, value in timing.items():
            setattr(self.ch, name, value)
        self._fit_pulse()

    def _set_levels(self, high: float, low: float) -> None:
        """Set the EMF levels, each clipped to ±``max_emf`` and at least the minimum amplitude apart."""
        high = self.clipped(high, -self.max_emf + self.min_amplitude_emf, self.max_emf)
        low = self.clipped(low, -self.max_emf, high - self.min_amplitude_emf)
        self.ch.emf_high, self.ch.emf_low = high, low

    def _take_load(self, load: float) -> None:
        """The load setting (Ω): a value clipped to 1 Ω to 10 kΩ, or infinite."""
        self.ch.load = load if math.isinf(load) else self.clipped(load, *LOAD_RANGE)

    def trigger_in(self, slope: str) -> None:
        """An edge (``slope`` "POS" rising, "NEG" falling) on the Trig In connector: the burst of
        every channel that is on and armed for it (:meth:`_armed_externally`) starts now, scheduled
        on its port, so that it plays while the instrument that sent the edge goes on (the
        sender's sequence carries the clock). An edge during a channel's burst is ignored, as the
        manuals say a trigger is while a burst plays."""
        for n, c in self.channels.items():
            port = self.ports[n]
            if port is None or not c.output or not self._armed_externally(c, slope):
                continue
            if port.busy_until > self.clock.now():
                continue
            port.schedule(c.burst_segments(*c.levels()))

    def _play(self, fired: Callable[[Any], bool]) -> None:
        """Play at once the burst of every channel in triggered burst mode that ``fired``; a
        channel that is on but not in the pulse function queues -221 instead."""
        lines = []
        for n, c in self.channels.items():
            if not (c.burst and c.burst_mode == "TRIG" and fired(c)) or math.isinf(c.cycles):
                continue
            if c.output and not c.pulsed:
                self.errors.push(-221, "Settings conflict;only pulse bursts are simulated")
                continue
            idle, pulse = c.levels() if c.output else (None, None)
            lines.append((self.ports[n] if c.output else None, c.burst_segments(idle, pulse)))
        self.play(functools.partial(play_bursts, lines, self.clock, self.run_control.check))

    # --- output and burst ---------------------------------------------------------------------
    @command(":ABORt")
    def _abort(self) -> None:
        self.stop_sequence()   # a paced burst; in virtual time it ran to completion inside *TRG

    def _switch_output(self, output: bool) -> None:
        """The output on or off; off, its relay opens and a paced burst ends there."""
        if not output:
            self.stop_sequence()
        self._change(output=output)

    # the output, its burst mode and count decide whether an output that is on can be played
    _output = Setting(":OUTPut[:STATe]", "ch.output", parse_bool, on_off, apply="_switch_output")

    _polarity = Setting(":OUTPut:POLarity", "ch.polarity", choice("NORMal", "INVerted"))

    _burst_mode = Setting("[:SOURce]:BURSt:MODE", "ch.burst_mode", choice("TRIGgered", "GATed"), apply="_change")

    @command("[:SOURce]:BURSt:NCYCles")
    def _set_cycles(self, arg: str) -> None:
        if arg.strip().upper() in ("INF", "INFINITY"):
            self._change(cycles=math.inf)
            return
        self._change(cycles=round(self._number(arg, 1, self.max_burst, self.default_cycles)))

    @command("[:SOURce]:BURSt:NCYCles?")
    def _get_cycles(self) -> str:
        return self.reply(finite(self.ch.cycles))

    # --- levels -------------------------------------------------------------------------------

    @command("[:SOURce]:VOLTage[:LEVel][:IMMediate][:AMPLitude]")
    def _set_amplitude(self, arg: str) -> None:
        c = self.ch
        offset = (c.emf_high + c.emf_low) / 2
        room = 2 * (self.max_emf - abs(offset))
        amplitude = self.clipped(self._volts(arg, self.min_amplitude_emf, room, self.default_amplitude),
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
        offset = self.clipped(self._volts(arg, -room, room, 0.0), -room, room)
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


