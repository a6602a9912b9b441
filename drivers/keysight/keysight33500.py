"""Keysight 33500B/33600A Trueform waveform generators: pymeasure's Agilent33500, plus bursts of
rectangular pulses on a bus trigger (labsuite's :class:`~labsuite.instruments.PulseGenerator`).

Commands from the 33500 Series Operating and Service Guide (33500-90901), "SCPI Programming
Reference": FUNCtion (PULSe, :PULSe:PERiod|WIDTh|TRANsition), VOLTage (amplitude, :OFFSet, :HIGH,
:LOW), OUTPut (:LOAD, :POLarity), BURSt (:MODE, :NCYCles, :STATe), TRIGger (:SOURce BUS) and
``*TRG``. A burst on channel ``n`` is set up as::

    [OUTP n OFF]                      only when the pulse polarity changes (see below)
    SOUR n:BURS:MODE TRIG; :NCYC N    triggered burst of N cycles
    TRIG n:SOUR BUS; SOUR n:BURS:STAT 1
                                      armed and idle before the function turns to pulses
    SOUR n:FUNC PULS
    :FUNC:PULS:TRAN:BOTH MIN; :WIDT MIN; :PER T; :WIDT W; :TRAN:BOTH E
                                      minimum width and edges first, so that no intermediate
                                      width/period pair conflicts ("Settings conflict", -221)
    [OUTP n:LOAD INF; OUTP n:POL NORM|INV; VOLT:OFFS 0; VOLT |L|; VOLT:OFFS L/2; OUTP n ON]
    or  VOLT:HIGH L (NORM) | VOLT:LOW L (INV)
    SYST:ERR?                         every setting taken as sent

Levels are open-circuit volts: the load setting is INFinity (guide, "Output Termination"), so the
programmed level is the EMF behind the 50 Ω output and a device of resistance R sees
L·R/(R + 50 Ω). A pulse from 0 V to a positive L is the low level 0 V and the high level L; to a
negative L it is the low level L and the high level 0 V with the polarity inverted, so that the
channel idles at 0 V either way. Flipping the polarity of a channel whose output is on would pass
through other idle levels, so the output is turned off for it and back on afterwards (the first
burst after connecting takes this path too, the polarity being unknown, and leaves the output off
unless this driver turned it on); levels of the same sign change with the idle level kept at 0 V
and the output as it is.

Capabilities are the 33500B's (the 33600A is faster); the guide gives the 16 ns minimum width,
the 8.4 ns minimum edge, 1 000 000 s widths and 100 000 000-cycle bursts. The ±10 V open-circuit
(±5 V into 50 Ω) level range, the 1 mVpp (into 50 Ω) minimum amplitude, the 30 MHz pulse rate,
the 100 ps width resolution, the 1 µs longest edge and the edge ≤ 0.625 × width rule are the data
sheet's and the 33250A/33220A guides' as recalled, not confirmed here.
"""
from __future__ import annotations

from pymeasure.instruments import Instrument
from pymeasure.instruments.agilent.agilent33500 import Agilent33500, Agilent33500Channel
from pymeasure.instruments.validators import joined_validators, strict_discrete_set, strict_range

from labsuite.errors import InstrumentError, InvalidParameter, RangeError
from labsuite.instruments import PulseGeneratorCapabilities

MAX_LEVEL = 10.0               # V, open circuit
MIN_LEVEL = 2e-3               # V, smallest |level| open circuit (1 mVpp into 50 Ω)
MIN_PERIOD = 1 / 30e6          # s, 30 MHz pulse rate
MAX_EDGE = 1e-6                # s
LONG_EDGE_WIDTH = 20e-9        # s, narrowest pulse that takes edges above the minimum


class Keysight33500Channel(Agilent33500Channel):
    """pymeasure's channel with the ranges of a high-impedance load setting (pymeasure's assume
    50 Ω: offset ±4.995 V, high ≤ 5 V) and the 33500's 10⁸-cycle bursts (pymeasure's: 99 999)."""

    amplitude = Instrument.control(
        "SOUR{ch}:VOLT?", "SOUR{ch}:VOLT %f",
        """Control the amplitude in Vpp at the load setting (float).""",
        validator=strict_range, values=[MIN_LEVEL, 2 * MAX_LEVEL])

    offset = Instrument.control(
        "SOUR{ch}:VOLT:OFFS?", "SOUR{ch}:VOLT:OFFS %f",
        """Control the offset in V at the load setting (float).""",
        validator=strict_range, values=[-MAX_LEVEL, MAX_LEVEL])

    voltage_high = Instrument.control(
        "SOUR{ch}:VOLT:HIGH?", "SOUR{ch}:VOLT:HIGH %f",
        """Control the high level in V at the load setting (float).""",
        validator=strict_range, values=[-MAX_LEVEL + MIN_LEVEL, MAX_LEVEL])

    voltage_low = Instrument.control(
        "SOUR{ch}:VOLT:LOW?", "SOUR{ch}:VOLT:LOW %f",
        """Control the low level in V at the load setting (float).""",
        validator=strict_range, values=[-MAX_LEVEL, MAX_LEVEL - MIN_LEVEL])

    burst_ncycles = Instrument.control(
        "SOUR{ch}:BURS:NCYC?", "SOUR{ch}:BURS:NCYC %d",
        """Control the cycles per triggered burst (int; reads back as a float).""",
        validator=strict_range, values=[1, 100_000_000])

    output_load = Instrument.control(
        "OUTP{ch}:LOAD?", "OUTP{ch}:LOAD %s",
        """Control the load setting the levels assume: Ω (1 to 10 000) or "INF" (high impedance);
        reads back 9.9e37 for INF.""",
        validator=joined_validators(strict_discrete_set, strict_range), values=[["INF"], [1, 10e3]])

    polarity = Instrument.control(
        "OUTP{ch}:POL?", "OUTP{ch}:POL %s",
        """Control the output polarity, "NORM" or "INV" (inverted about the offset).""",
        validator=strict_discrete_set, values=["NORM", "INV"])

    trigger_source = Instrument.control(
        "TRIG{ch}:SOUR?", "TRIG{ch}:SOUR %s",
        """Control this channel's trigger source: "IMM", "EXT", "TIM" or "BUS" (*TRG).""",
        validator=strict_discrete_set, values=["IMM", "EXT", "TIM", "BUS"])


class Keysight33500(Agilent33500):
    """Keysight 33500B/33600A (two-channel models) on pymeasure, implementing labsuite's
    :class:`~labsuite.instruments.PulseGenerator`."""

    idn_pattern = r"(AGILENT|KEYSIGHT) TECHNOLOGIES,33[56]\d\d[AB],"
    capabilities = PulseGeneratorCapabilities(
        max_voltage=MAX_LEVEL,
        min_width=16e-9,
        max_width=1e6,
        width_resolution=100e-12,
        min_edge=8.4e-9,
        max_burst=100_000_000,
        output_impedance=50.0,
        channels=2,
    )

    ch_1 = Instrument.ChannelCreator(Keysight33500Channel, 1)
    ch_2 = Instrument.ChannelCreator(Keysight33500Channel, 2)

    def __init__(self, adapter, name: str = "Keysight 33500B/33600A waveform generator", **kwargs) -> None:
        kwargs.setdefault("read_termination", "\n")
        kwargs.setdefault("write_termination", "\n")
        kwargs.setdefault("timeout", 10_000)
        super().__init__(adapter, name, **kwargs)
        self._outputs = {n: False for n in self.channels}   # as this driver last set them
        self._polarity: dict[int, str] = {}                  # as this driver last configured them

    # --- PulseGenerator interface -------------------------------------------------------
    def identify(self) -> str:
        """Get the *IDN? reply."""
        return self.id

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

    def configure_burst(self, level: float, width: float, period: float, count: int, edge: float,
                        channel: int = 1) -> None:
        """Pulses from 0 V to ``level`` V (open circuit), ``width`` s wide at the 50 % points,
        every ``period`` s, ``count`` per bus trigger, ``edge`` s (10–90 %) rise and fall."""
        check_burst(level, width, period, count, edge, channel)
        ch = self.channels[channel]
        polarity = "NORM" if level > 0 else "INV"
        flip = self._polarity.get(channel) != polarity
        if flip:
            ch.output = False
        ch.burst_mode = "TRIG"
        ch.burst_ncycles = count
        ch.trigger_source = "BUS"
        ch.burst_state = True
        ch.shape = "PULS"
        ch.write("SOUR{ch}:FUNC:PULS:TRAN:BOTH MIN")
        ch.write("SOUR{ch}:FUNC:PULS:WIDT MIN")
        ch.pulse_period = period
        ch.pulse_width = width
        ch.pulse_transition = edge
        if flip:
            ch.output_load = "INF"
            ch.polarity = polarity
            ch.offset = 0.0
            ch.amplitude = abs(level)
            ch.offset = level / 2
            if self._outputs[channel]:
                ch.output = True
        elif polarity == "NORM":
            ch.voltage_high = level
        else:
            ch.voltage_low = level
        self._raise_errors()
        self._polarity[channel] = polarity

    def trigger(self) -> None:
        """Fire one burst on every channel whose trigger source is BUS; return when it is done
        (``*OPC?`` answers once the burst is complete)."""
        self.ask("*TRG;*OPC?")

    def set_output(self, on: bool, channel: int = 1) -> None:
        """Turn a channel's output on or off."""
        if channel not in self.channels:
            raise InvalidParameter("channel", f"{channel!r} is not a channel; choose 1 or 2")
        self.channels[channel].output = on
        self._outputs[channel] = on

    def shutdown(self) -> None:
        """Stop any burst and turn both outputs off at once (one message, no query)."""
        self.write(":ABOR;:OUTP1 OFF;:OUTP2 OFF")
        self._outputs = {n: False for n in self.channels}
        self.isShutdown = True

    def reset(self) -> None:
        """Reset the instrument (load setting back to 50 Ω) and clear its error queue."""
        self.write("*RST;*CLS")
        self._outputs = {n: False for n in self.channels}
        self._polarity = {}

    # --- helpers ------------------------------------------------------------------------
    def _raise_errors(self) -> None:
        errors = self.check_errors()
        if errors:
            code, message = errors[0][0], ",".join(str(e) for e in errors[0][1:])
            raise InstrumentError(self.name, message.strip('"'), int(code))


def check_burst(level: float, width: float, period: float, count: int, edge: float, channel: int) -> None:
    """Raise unless the 33500B can play the burst (limits in :attr:`Keysight33500.capabilities`)."""
    caps = Keysight33500.capabilities
    if channel not in range(1, caps.channels + 1):
        raise InvalidParameter("channel", f"{channel!r} is not a channel; choose 1 to {caps.channels}")
    if not MIN_LEVEL <= abs(level) <= caps.max_voltage:
        raise RangeError("level", level, -caps.max_voltage, caps.max_voltage, "V",
                         why=f"and at least {MIN_LEVEL * 1e3:g} mV from 0 V, open circuit")
    if not MIN_PERIOD <= period <= caps.max_width:
        raise RangeError("period", period, MIN_PERIOD, caps.max_width, "s")
    longest = min(caps.max_width, period - caps.min_width)
    if not caps.min_width <= width <= longest:
        raise RangeError("width", width, caps.min_width, longest, "s", why="the period less the minimum width")
    if isinstance(count, bool) or not isinstance(count, int):
        raise InvalidParameter("count", f"{count!r} is not a whole number of pulses")
    if not 1 <= count <= caps.max_burst:
        raise RangeError("count", count, 1, caps.max_burst)
    steepest = longest_edge(width, period)
    if not caps.min_edge <= edge <= steepest:
        raise RangeError("edge", edge, caps.min_edge, steepest, "s",
                         why="0.625 × the shorter of the pulse and the time between pulses")


def longest_edge(width: float, period: float) -> float:
    """Longest edge (s) of a ``width`` s pulse every ``period`` s: the minimum below 20 ns width,
    else 0.625 × the shorter of the pulse and the time between pulses, at most 1 µs."""
    caps = Keysight33500.capabilities
    if width < LONG_EDGE_WIDTH:
        return caps.min_edge
    return min(MAX_EDGE, max(caps.min_edge, 0.625 * min(width, period - width)))
