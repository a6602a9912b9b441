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
    change leaves an output that is on playable (``_change``) and level parsing (``_volts``)."""

    output_impedance = OUTPUT_IMPEDANCE   # Ω
    channel_suffix: re.Pattern[str]   # the nodes that take a channel suffix
    max_emf: float              # V, largest |level| open circuit
    min_amplitude_emf: float    # V, smallest amplitude open circuit
    default_amplitude: float    # V, the DEFault amplitude into the load setting
    default_high: float         # V, the DEFault high level (the low level's is its negative)
    max_burst: int              # cycles, largest burst count
    default_cycles: int         # cycles, the DEFault burst count
    clipped: tuple[str, str]    # error messages of a value clipped to the lower and the upper limit
    reply: Callable[[float], str]   # a number as the instrument answers it
    channels: dict[int, Any]   # channel number → its settings (levels, output, burst, load...)
    _change: Callable[..., None]
    _volts: Callable[[str, float, float, float], float]

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

    def _clip(self, value: float, low: float, high: float) -> float:
        """``value`` within [low, high]; outside, clipped with -222 (the instrument goes on)."""
        if value < low:
            self.errors.push(-222, self.clipped[0])
            return low
        if value > high:
            self.errors.push(-222, self.clipped[1])
            return high
        return value

    def _set_levels(self, high: float, low: float) -> None:
        """Set the EMF levels, each clipped to ±``max_emf`` and at least the minimum amplitude apart."""
        high = self._clip(high, -self.max_emf + self.min_amplitude_emf, self.max_emf)
        low = self._clip(low, -self.max_emf, high - self.min_amplitude_emf)
        self.ch.emf_high, self.ch.emf_low = high, low

    def _set_load(self, arg: str) -> None:
        """The load setting (Ω) from ``arg``: a value clipped to 1 Ω to 10 kΩ, or INFinity."""
        if arg.strip().upper() in ("INF", "INFINITY"):
            self.ch.load = math.inf
            return
        value = parse_number(arg, minimum=LOAD_RANGE[0], maximum=LOAD_RANGE[1], default=50.0)
        self.ch.load = math.inf if value >= INFINITY else self._clip(value, *LOAD_RANGE)

    def _get_load(self) -> str:
        return self.reply(INFINITY if math.isinf(self.ch.load) else self.ch.load)

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
    @command(":OUTPut[:STATe]")
    def _set_output(self, arg: str) -> None:
        on = parse_bool(arg)
        if not on:
            self.stop_sequence()   # the output relay opens: a paced burst ends there
        self._change(output=on)

    @command(":OUTPut[:STATe]?")
    def _get_output(self) -> str:
        return on_off(self.ch.output)

    _polarity = Setting(":OUTPut:POLarity", "ch.polarity", choice("NORMal", "INVerted"))

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
        limit = self.max_burst
        self._change(cycles=round(self._clip(parse_number(arg, minimum=1, maximum=limit, default=self.default_cycles),
                                             1, limit)))

    @command("[:SOURce]:BURSt:NCYCles?")
    def _get_cycles(self) -> str:
        return self.reply(INFINITY if math.isinf(self.ch.cycles) else self.ch.cycles)

    # --- levels -------------------------------------------------------------------------------

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


