"""Keysight 33500B/33600A Trueform waveform generators: pymeasure's Agilent33500, plus bursts of
rectangular pulses on a bus trigger (labsuite's :class:`~labsuite.core.instruments.PulseGenerator`).

Commands from the 33500 Series Operating and Service Guide (33500-90901), "SCPI Programming
Reference": FUNCtion (PULSe, :PULSe:PERiod|WIDTh|TRANsition), VOLTage (:OFFSet, :HIGH, :LOW),
OUTPut (:LOAD, :POLarity), BURSt (:MODE, :NCYCles, :STATe), TRIGger (:SOURce BUS), ``*TRG``,
``*OPC``, ``*ESR?``, ``*CLS``, SYSTem:ERRor?.

Configuring. Nothing is carried over from an earlier burst: the generator may have been power
cycled, reset from the front panel or set by another program since (its load setting back at
50 Ω would double every level). Every call sends, in one message, everything that decides what
the device sees, followed by one ``SYST:ERR?``::

    [:OUTPn OFF]                            unless this driver turned the output on (see below)
    :SOURn:BURS:MODE TRIG;:SOURn:BURS:NCYC N;:TRIGn:SOUR BUS;:SOURn:BURS:STAT ON
                                            armed and idle before the function turns to pulses
    :SOURn:FUNC PULS
    :SOURn:FUNC:PULS:TRAN:BOTH MIN;...:WIDT MIN;...:PER T;...:WIDT W;...:TRAN:BOTH E
                                            minimum width and edges first, so that no intermediate
                                            width/period pair conflicts ("Settings conflict", -221)
    :OUTPn:LOAD INF                         levels are open-circuit volts from here on
    [:SOURn:VOLT:OFFS 0]                    with the output off: levels about 0 V (see below)
    :SOURn:VOLT:HIGH 0.002;:SOURn:VOLT:LOW -0.002
    :OUTPn:POL NORM|INV
    :SOURn:VOLT:HIGH L;:SOURn:VOLT:LOW 0    (L > 0)  or  :SOURn:VOLT:LOW L;:SOURn:VOLT:HIGH 0  (L < 0)

Levels are open-circuit volts: the load setting is INFinity (guide, "Output Termination"; changing
it rescales the programmed values, not the output), so the programmed level is the EMF behind
the 50 Ω output and a device of resistance R sees L·R/(R + 50 Ω). A pulse from 0 V to a positive
L is the low level 0 V and the high level L; to a negative L it is the low level L and the high
level 0 V with the polarity inverted (OUTPut:POLarity inverts about the offset), so the channel
idles at 0 V either way. An armed channel shows its idle level only (the low level, the high
level when inverted) until ``*TRG``, so the output stays as it is during the message: the
polarity changes only while both levels are within 2 mV (the 1 mVpp-into-50-Ω minimum amplitude,
open circuit) of 0 V, and the idle level of a channel set up by this driver stays within 2 mV of
0 V throughout, whichever polarity it had. ``VOLT:HIGH 0.002`` fits only low levels ≤ 0 V,
which this driver leaves but another program may not; centring the levels first (``VOLT:OFFS
0``) would move an idle output by half the amplitude, so it is sent only while the output is off
as far as this driver knows, and then the output is turned off first in case something else
turned it on.

Triggering: ``*TRG`` fires the burst and ``*OPC`` sets the Operation Complete bit (bit 0) of the
Standard Event Status Register "when the sweep or burst is complete" (guide, TRIGger subsystem
introduction); ``*ESR?`` reads and clears that register (IEEE 488.2 §11.5.1.2). The driver polls
it instead of blocking in ``*OPC?``, so a burst may last longer than the VISA timeout and
Ctrl-C acts between polls with no reply left pending.

Armed for the trigger input (``arm_external_burst``: another instrument's trigger output starts
each burst, a Keithley 2450's digital I/O line wired to the rear Ext Trig connector), the message
is the same with ``:TRIGn:SOUR EXT;:TRIGn:SLOP POS;:TRIGn:DEL 0`` for ``:TRIGn:SOUR BUS`` (guide,
TRIGger:SOURce, :SLOPe, :DELay), always with the output off first, and the channel idles at a
level of the caller's (the read level, so that its path carries no current while an SMU reads)
instead of 0 V.

Capabilities are the 33500B's (the 33600A is faster); the guide gives the 16 ns minimum width,
the 8.4 ns minimum edge, 1 000 000 s widths and 100 000 000-cycle bursts. The ±10 V open-circuit
(±5 V into 50 Ω) level range, the 1 mVpp (into 50 Ω) minimum amplitude, the 30 MHz pulse rate,
the 100 ps width resolution, the 1 µs longest edge and the edge ≤ 0.625 × width rule are the data
sheet's and the 33250A/33220A guides' as recalled, not confirmed here.
"""
from __future__ import annotations

import time
from numbers import Integral

from pymeasure.instruments import Instrument
from pymeasure.instruments.agilent.agilent33500 import Agilent33500, Agilent33500Channel
from pymeasure.instruments.validators import joined_validators, strict_discrete_set, strict_range

from labsuite.drivers.scpi_common import ErrorQueueMixin, link_settings, number
from labsuite.core.errors import InstrumentError, InvalidParameter, RangeError
from labsuite.core.datasheets import PULSE_GENERATORS
from labsuite.core.instruments import PulseGeneratorCapabilities, Registration

MAX_LEVEL = PULSE_GENERATORS["keysight33500"].max_voltage   # V, open circuit
MIN_LEVEL = 2e-3               # V, smallest |level| open circuit (1 mVpp into 50 Ω)
MIN_PERIOD = PULSE_GENERATORS["keysight33500"].min_period   # s, highest pulse rate
MAX_EDGE = 1e-6                # s
LONG_EDGE_WIDTH = 20e-9        # s, narrowest pulse that takes edges above the minimum
POLL_INTERVAL = 0.05           # s between *ESR? polls while a burst plays
ESR_OPC = 1                    # Operation Complete, bit 0 of the Standard Event Status Register
DEFAULT_TIMEOUT = 10.0         # s, when the VISA session does not say
DRAIN_TIMEOUT = 100            # ms, for a reply left unread where a device clear is not available


def level_commands(level: float, recentre: bool, high: str, low: str, offset: str, polarity: str,
                   minimum: float = MIN_LEVEL, idle: float = 0.0) -> list[str]:
    """The commands that take a channel's levels to ``idle`` V idle (0 V unless armed for an
    external trigger, see ``arm_external_burst``), ``level`` V (open circuit) pulses.

    ``high``/``low``/``offset``/``polarity`` are the channel's headers, ``minimum`` (V) its
    smallest amplitude. Before the polarity is set the levels go to ±``minimum``: ``high
    minimum`` fits any low level ≤ 0 V, then ``low -minimum`` fits. With ``recentre`` the levels
    are centred on 0 V first, so that this holds whatever they were.
    """
    sequence = [f"{offset} 0"] if recentre else []
    sequence += [f"{high} {number(minimum)}", f"{low} {number(-minimum)}"]
    rest = number(idle) if idle else "0"
    if level > 0:
        return sequence + [f"{polarity} NORM", f"{high} {number(level)}", f"{low} {rest}"]
    return sequence + [f"{polarity} INV", f"{low} {number(level)}", f"{high} {rest}"]


def check_idle(caps: PulseGeneratorCapabilities, level: float, idle: float, minimum: float) -> None:
    """Raise unless a channel can idle at ``idle`` V between pulses to ``level`` V: within its
    range, and at least ``minimum`` (V) below a positive pulse, above a negative one."""
    room = level - minimum if level > 0 else caps.max_voltage
    floor = -caps.max_voltage if level > 0 else level + minimum
    if not floor <= idle <= room:
        raise RangeError("idle level", idle, floor, room, "V",
                         why="a pulse leaves its idle level towards its own sign, by at least the smallest amplitude")


def level_controls(amplitude: str, levels: str, minimum: float, maximum: float) -> tuple[property, ...]:
    """A generator channel's amplitude (Vpp), offset, high and low level (V) controls at the
    load setting: ``amplitude`` is the amplitude's header, ``levels`` the header that
    ``:OFFS``/``:HIGH``/``:LOW`` follow; ``minimum``/``maximum`` (V) the smallest and largest
    |level| open circuit."""
    def control(header: str, what: str, values: list[float]) -> property:
        return Instrument.control(header + "?", header + " %f",
                                  f"""Control the {what} at the load setting (float).""",
                                  validator=strict_range, values=values)
    return (control(amplitude, "amplitude in Vpp", [minimum, 2 * maximum]),
            control(levels + ":OFFS", "offset in V", [-maximum, maximum]),
            control(levels + ":HIGH", "high level in V", [-maximum + minimum, maximum]),
            control(levels + ":LOW", "low level in V", [-maximum, maximum - minimum]))


def output_controls(load: str) -> tuple[property, property]:
    """A generator channel's load setting, at header ``load``, and its output polarity
    (``OUTP{ch}:POL``), as the 33500 and the AFG31000 both take them."""
    return (Instrument.control(load + "?", load + " %s",
                               """Control the load setting the levels assume: Ω (1 to 10 000) or "INF" (high
                               impedance); reads back 9.9e37 for INF. The output impedance stays 50 Ω.""",
                               validator=joined_validators(strict_discrete_set, strict_range),
                               values=[["INF"], [1, 10e3]]),
            Instrument.control("OUTP{ch}:POL?", "OUTP{ch}:POL %s",
                               """Control the output polarity, "NORM" or "INV" (inverted about the offset).""",
                               validator=strict_discrete_set, values=["NORM", "INV"]))


def check_channel_and_level(caps: PulseGeneratorCapabilities, channel: int, level: float,
                            minimum: float) -> None:
    """Raise unless ``channel`` is one of the generator's and ``level`` (V, open circuit) is in
    its range and at least ``minimum`` (V) from 0 V."""
    if channel not in range(1, caps.channels + 1):
        raise InvalidParameter("channel", f"{channel!r} is not a channel; choose 1 to {caps.channels}")
    if not minimum <= abs(level) <= caps.max_voltage:
        raise RangeError("level", level, -caps.max_voltage, caps.max_voltage, "V",
                         why=f"and at least {minimum * 1e3:g} mV from 0 V, open circuit")


def check_count(caps: PulseGeneratorCapabilities, count: int) -> None:
    """Raise unless ``count`` is a whole number of pulses the generator's burst can hold."""
    if isinstance(count, bool) or not isinstance(count, Integral):
        raise InvalidParameter("count", f"{count!r} is not a whole number of pulses")
    if not 1 <= count <= caps.max_burst:
        raise RangeError("count", count, 1, caps.max_burst)


class BusBurstMixin(ErrorQueueMixin):
    """What the 33500 and AFG31000 drivers share: the link settings and ``identify``, a burst
    configured in one message (``_burst_message``, the model's own) after the model's
    ``check_burst``, fired with ``*TRG`` and polled through ``*ESR?``, outputs switched per
    channel, shutdown (the model's ``outputs_off`` message) and reset, the error queue, and
    recovery from a query whose reply was never read.

    A reply is pending from the write of a query until it has been read; a read interrupted
    (Ctrl-C) or timed out leaves it pending. The next write then clears the device first
    (``viClear``: the IEEE 488.2 device clear empties the instrument's output queue without an
    error; on a raw socket pyvisa-py reads and drops whatever arrives until the link has been
    quiet for 0.1 s), so that no later query gets a stale reply: a message sent over an unread
    reply would make a GPIB/USB/VXI-11 instrument drop it with -410 "Query INTERRUPTED"
    (IEEE 488.2 §6.3.2.3), and on a raw socket every later query would read the reply before.
    """

    _reply_pending = False
    _burst_seconds: dict[int, float]      # count × period last configured, per channel
    outputs_off: str                      # the message that turns both outputs off and aborts a burst
    min_level: float                      # V, smallest |level| open circuit

    def __init__(self, adapter, name: str, **kwargs) -> None:
        super().__init__(adapter, name, **link_settings(kwargs))
        self._outputs = {n: False for n in self.channels}   # as this driver last set them
        self._burst_seconds = {}

    def identify(self) -> str:
        """Get the *IDN? reply."""
        return self.id

    def write(self, command: str, **kwargs) -> None:
        if self._reply_pending:
            self._drain()
        super().write(command, **kwargs)
        if "?" in command:
            self._reply_pending = True

    def read(self, **kwargs) -> str:
        reply = super().read(**kwargs)
        self._reply_pending = False
        return reply

    def configure_burst(self, level: float, width: float, period: float, count: int, edge: float,
                        channel: int = 1) -> None:
        """Pulses from 0 V to ``level`` V (open circuit), ``width`` s wide at the 50 % points,
        every ``period`` s, ``count`` per bus trigger, ``edge`` s (10–90 %) rise and fall; the
        output stays as it is. One message and one error check (see the module docstring)."""
        self.check_burst(level, width, period, count, edge, channel)
        self._burst_seconds[channel] = int(count) * period
        self.write(self._burst_message(level, width, period, int(count), edge, channel))
        self.raise_errors()

    def arm_external_burst(self, level: float, width: float, period: float, count: int, edge: float,
                           idle: float, channel: int = 1) -> None:
        """Pulses from ``idle`` V to ``level`` V (open circuit) as :meth:`configure_burst` plays them,
        ``count`` per rising edge at the Trig In connector (another instrument's trigger output
        starts them), the output turned off first (the levels change from 0 V idle). One message
        and one error check."""
        self.check_burst(level, width, period, count, edge, channel)
        check_idle(self.capabilities, level, idle, self.min_level)
        self._outputs[channel] = False   # the message turns it off first
        self._burst_seconds[channel] = int(count) * period
        self.write(self._burst_message(level, width, period, int(count), edge, channel, idle))
        self.raise_errors()

    def set_output(self, on: bool, channel: int = 1) -> None:
        """Turn a channel's output on or off."""
        if channel not in self.channels:
            raise InvalidParameter("channel", f"{channel!r} is not a channel; choose 1 or 2")
        self.channels[channel].output = on
        self._outputs[channel] = on

    def output_enabled(self, channel: int = 1) -> bool:
        """Ask whether a channel's output is on."""
        if channel not in self.channels:
            raise InvalidParameter("channel", f"{channel!r} is not a channel; choose 1 or 2")
        return bool(self.channels[channel].output)

    def trigger(self) -> None:
        """Fire one burst on every channel armed for the bus trigger; return once it has played.

        One query, ``*ESR?;*TRG;*OPC;*ESR?``: the first ``*ESR?`` clears an Operation Complete bit
        an earlier, interrupted burst may have left, the last tells whether this burst is already
        over. If it is not, the driver sleeps (in steps of at most 50 ms) until the burst's
        count × period has passed, then polls ``*ESR?`` at growing intervals (1, 1, 2, 4 ... ms,
        at most 50 ms). Raises :class:`InstrumentError` if the bit is not set count × period
        plus the VISA timeout after ``*TRG``. No read waits for the burst, and Ctrl-C between
        polls leaves no reply pending.
        """
        expected = max(self._burst_seconds.values(), default=0.0)
        started = time.monotonic()
        done_at, deadline = started + expected, started + expected + self._visa_timeout()
        reply = self.ask("*ESR?;*TRG;*OPC;*ESR?")
        while not self._operation_complete(reply):
            now = time.monotonic()
            if now > deadline:
                raise InstrumentError(self.name, f"the burst was not complete {now - started:.3g} s after *TRG "
                                                 f"(it should take {expected:.3g} s)")
            if now < done_at:
                time.sleep(min(POLL_INTERVAL, done_at - now))   # nothing to ask before the burst is over
                continue
            time.sleep(min(POLL_INTERVAL, max(1e-3, now - done_at)))
            reply = self.ask("*ESR?")

    def _operation_complete(self, reply: str) -> bool:
        try:
            return bool(int(float(reply.strip().split(";")[-1])) & ESR_OPC)
        except ValueError:
            raise InstrumentError(self.name, f"answered {reply!r} to *ESR?") from None

    def _visa_timeout(self) -> float:
        """The session's VISA timeout, s (infinite: no deadline)."""
        timeout = getattr(getattr(self.adapter, "connection", None), "timeout", None)   # ms, pyvisa: inf
        if isinstance(timeout, (int, float)) and not isinstance(timeout, bool):
            return timeout / 1000
        return DEFAULT_TIMEOUT

    def _drain(self) -> None:
        """Drop a reply left unread: device clear, or where the session cannot, one read with a
        0.1 s timeout. Errors are ignored (a clean-up; the next exchange tells if the link is down).
        A raw socket has no device clear, and pyvisa-py's stand-in loops forever on a socket
        the instrument has closed: it is always drained by the read."""
        self._reply_pending = False
        connection = getattr(self.adapter, "connection", None)
        if not str(getattr(connection, "_resource_name", "")).upper().endswith("::SOCKET"):
            try:
                connection.clear()
                return
            except Exception:   # noqa: BLE001
                pass
        try:
            timeout, connection.timeout = connection.timeout, DRAIN_TIMEOUT
            try:
                connection.read()
            finally:
                connection.timeout = timeout
        except Exception:   # noqa: BLE001
            pass

    def shutdown(self) -> None:
        """Turn both outputs off and stop any burst, in one message sent before anything else;
        then, if a query was interrupted before its reply was read, drop the reply and ``*CLS``."""
        pending = self._reply_pending
        self._reply_pending = False
        super().write(self.outputs_off)     # outputs first: no device clear before it
        self._outputs = {n: False for n in self.channels}
        if pending:
            self._drain()
            super().write("*CLS")
        self.isShutdown = True

    def reset(self) -> None:
        """Reset the instrument (load setting back to 50 Ω) and clear its error queue."""
        self.write("*RST;*CLS")
        self._outputs = {n: False for n in self.channels}
        self._burst_seconds = {}


class Keysight33500Channel(Agilent33500Channel):
    """pymeasure's channel with the ranges of a high-impedance load setting (pymeasure's assume
    50 Ω: offset ±4.995 V, high ≤ 5 V) and the 33500's 10⁸-cycle bursts (pymeasure's: 99 999)."""

    amplitude, offset, voltage_high, voltage_low = level_controls("SOUR{ch}:VOLT", "SOUR{ch}:VOLT",
                                                                  MIN_LEVEL, MAX_LEVEL)

    burst_ncycles = Instrument.control(
        "SOUR{ch}:BURS:NCYC?", "SOUR{ch}:BURS:NCYC %d",
        """Control the cycles per triggered burst (int; reads back as a float).""",
        validator=strict_range, values=[1, 100_000_000])

    output_load, polarity = output_controls("OUTP{ch}:LOAD")

    trigger_source = Instrument.control(
        "TRIG{ch}:SOUR?", "TRIG{ch}:SOUR %s",
        """Control this channel's trigger source: "IMM", "EXT", "TIM" or "BUS" (*TRG).""",
        validator=strict_discrete_set, values=["IMM", "EXT", "TIM", "BUS"])


class Keysight33500(BusBurstMixin, Agilent33500):
    """Keysight 33500B/33600A (two-channel models) on pymeasure, implementing labsuite's
    :class:`~labsuite.core.instruments.PulseGenerator`."""

    capabilities = PULSE_GENERATORS["keysight33500"]
    registrations = (Registration("keysight33500", "pulse_generator",
                                  r"(AGILENT|KEYSIGHT) TECHNOLOGIES,33[56]\d\d[AB],", capabilities),)

    ch_1 = Instrument.ChannelCreator(Keysight33500Channel, 1)
    ch_2 = Instrument.ChannelCreator(Keysight33500Channel, 2)
    outputs_off = ":OUTP1 OFF;:OUTP2 OFF;:ABOR"
    min_level = MIN_LEVEL

    def __init__(self, adapter, name: str = "Keysight 33500B/33600A waveform generator", **kwargs) -> None:
        super().__init__(adapter, name, **kwargs)

    # --- PulseGenerator interface -------------------------------------------------------
    def settings(self) -> dict[str, object]:
        """Get each channel's pulse, burst and output settings (one query per channel)."""
        found: dict[str, object] = {"idn": self.identify()}
        for n in self.channels:
            reply = self.ask(f":SOUR{n}:FUNC?;:SOUR{n}:FUNC:PULS:PER?;:SOUR{n}:FUNC:PULS:WIDT?;"
                             f":SOUR{n}:FUNC:PULS:TRAN:LEAD?;:SOUR{n}:VOLT:HIGH?;:SOUR{n}:VOLT:LOW?;"
                             f":OUTP{n}:LOAD?;:OUTP{n}:POL?;:SOUR{n}:BURS:STAT?;:SOUR{n}:BURS:NCYC?;"
                             f":TRIG{n}:SOUR?;:OUTP{n}?")
            (function, period, width, edge, high, low, load, polarity, burst, cycles, source,
             output) = reply.strip().split(";")
            found[f"ch{n}"] = {"function": function, "period_s": float(period), "width_s": float(width),
                               "edge_s": float(edge), "high_V": float(high), "low_V": float(low),
                               "load_ohm": float(load), "polarity": polarity, "burst": burst == "1",
                               "burst_cycles": int(float(cycles)), "trigger_source": source,
                               "output": output == "1"}
        return found

    def check_burst(self, level: float, width: float, period: float, count: int, edge: float,
                    channel: int = 1) -> None:
        """Raise :class:`RangeError` (or :class:`InvalidParameter`) naming the setting and its
        allowed range unless the 33500B can play the burst (limits in :attr:`capabilities`); sends
        nothing."""
        caps = self.capabilities
        check_channel_and_level(caps, channel, level, MIN_LEVEL)
        if not MIN_PERIOD <= period <= caps.max_width:
            raise RangeError("period", period, MIN_PERIOD, caps.max_width, "s")
        longest = min(caps.max_width, period - caps.min_width)
        if not caps.min_width <= width <= longest:
            raise RangeError("width", width, caps.min_width, longest, "s", why="the period less the minimum width")
        check_count(caps, count)
        steepest = longest_edge(width, period)
        if not caps.min_edge <= edge <= steepest:
            raise RangeError("edge", edge, caps.min_edge, steepest, "s",
                             why="0.625 × the shorter of the pulse and the time between pulses")

    # --- helpers ------------------------------------------------------------------------
    def _burst_message(self, level: float, width: float, period: float, count: int, edge: float,
                       channel: int, idle: float | None = None) -> str:
        """The burst's message: on a bus trigger from a 0 V idle, or (``idle`` given) on a rising
        edge at Trig In from ``idle`` V with no trigger delay (TRIGger:SOURce EXT, :SLOPe POS, :DELay 0)."""
        n, off = channel, not self._outputs[channel]
        src = f":SOUR{n}"
        commands = [f":OUTP{n} OFF"] if off else []
        trigger = [f":TRIG{n}:SOUR BUS"] if idle is None else [f":TRIG{n}:SOUR EXT", f":TRIG{n}:SLOP POS",
                                                                 f":TRIG{n}:DEL 0"]
        commands += [f"{src}:BURS:MODE TRIG", f"{src}:BURS:NCYC {count}", *trigger,
                     f"{src}:BURS:STAT ON", f"{src}:FUNC PULS",
                     f"{src}:FUNC:PULS:TRAN:BOTH MIN", f"{src}:FUNC:PULS:WIDT MIN",
                     f"{src}:FUNC:PULS:PER {number(period)}", f"{src}:FUNC:PULS:WIDT {number(width)}",
                     f"{src}:FUNC:PULS:TRAN:BOTH {number(edge)}", f":OUTP{n}:LOAD INF"]
        commands += level_commands(level, off, f"{src}:VOLT:HIGH", f"{src}:VOLT:LOW", f"{src}:VOLT:OFFS",
                                   f":OUTP{n}:POL", idle=idle or 0.0)
        return ";".join(commands)


def longest_edge(width: float, period: float) -> float:
    """Longest edge (s) of a ``width`` s pulse every ``period`` s: the minimum below 20 ns width,
    else 0.625 × the shorter of the pulse and the time between pulses, at most 1 µs."""
    caps = Keysight33500.capabilities
    if width < LONG_EDGE_WIDTH:
        return caps.min_edge
    return min(MAX_EDGE, max(caps.min_edge, 0.625 * min(width, period - width)))
