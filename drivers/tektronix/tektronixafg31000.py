"""Tektronix AFG31000 arbitrary/function generators: a pymeasure Instrument with per-channel
controls, plus bursts of rectangular pulses on a bus trigger (labsuite's
:class:`~labsuite.core.instruments.PulseGenerator`).

pymeasure's AFG3152C is another series and does not fit: it has no pulse width, period, edge,
burst or trigger controls, and it sends the load setting as ``SOURce<n>:OUTPut:IMPedance``, a
header the AFG31000 does not have (``OUTPut<n>:IMPedance``). Commands here follow the AFG31000
Series Programmer Manual (077-1643-xx) syntax: ``SOURce<n>:FUNCtion:SHAPe``, ``SOURce<n>:PULSe:
PERiod|WIDTh|DELay|TRANsition:LEADing|TRANsition:TRAiling``, ``SOURce<n>:VOLTage:LEVel:IMMediate:
HIGH|LOW|OFFSet``, ``OUTPut<n>:IMPedance|POLarity|STATe``, ``SOURce<n>:BURSt:STATe|MODE|
NCYCles``, ``TRIGger:SEQuence:SOURce``, ``*TRG``, ``*OPC``, ``*ESR?``, ``*CLS``.

Armed for the Trigger Input connector (``arm_external_burst``), the message adds
``:TRIG:SEQ:SLOP POS`` (a rising edge from another instrument's trigger output starts the burst)
and the channel idles at the caller's level instead of 0 V.

Bus trigger: the AFG31000 has no BUS trigger source; ``*TRG`` generates a trigger event whatever
the source. With the source TIMer a triggered burst also repeats at the timer interval, so the
driver selects EXTernal (nothing wired to Trigger Input) and fires with ``*TRG``. As for the
33500 (``drivers/keysight/keysight33500.py``, whose docstring gives the reasons), nothing is
carried over between bursts: every call sends one message, then one ``SYST:ERR?``::

    [:OUTPn:STAT OFF]                       unless this driver turned the output on
    :SOURn:BURS:MODE TRIG;:SOURn:BURS:NCYC N;:TRIG:SEQ:SOUR EXT;:SOURn:BURS:STAT ON
                                            armed and idle before the shape turns to pulses
    :SOURn:FUNC:SHAP PULS
    :SOURn:PULS:DEL 0;...:TRAN:LEAD MIN;...:TRAN:TRA MIN;...:WIDT MIN;...:PER T;...:WIDT W;
    ...:TRAN:LEAD E;...:TRAN:TRA E          minimum width and edges first: no intermediate conflict
    :OUTPn:IMP INF                          levels are open-circuit volts from here on
    [:SOURn:VOLT:LEV:IMM:OFFS 0]            with the output off
    :SOURn:VOLT:LEV:IMM:HIGH 0.002;:SOURn:VOLT:LEV:IMM:LOW -0.002
    :OUTPn:POL NORM|INV
    ...:HIGH L;...:LOW 0  (L > 0)   or   ...:LOW L;...:HIGH 0  (L < 0)

Levels are open-circuit volts (load setting INFinity), negative pulses use the inverted polarity,
the output stays as it is and a channel set up by this driver idles within 2 mV of 0 V all
through the message, as on the 33500.

Triggering polls ``*ESR?`` for the Operation Complete bit that ``*OPC`` sets (see
:meth:`~labsuite.drivers.keysight.keysight33500.BusBurstMixin.trigger`). The AFG3000-family
programmer manual ("Status and Events", SESR bit 0) says the bit "is set when all pending
operations complete following the *OPC command"; that a triggered burst counts as pending until
it has played, as the 33500 guide says for its bursts, is not confirmed here for the AFG31000
(its manual text was not available; the earlier ``*TRG;*OPC?`` assumed it too). The opt-in
hardware test times :meth:`trigger` against the burst to check it.

Capabilities are the AFG31022's, the slowest model of the series; the faster models exceed them.
Not confirmed here (recalled from the AFG31000 data sheet and the AFG3000 programmer manual, the
AFG31000 texts were not available): minimum width 30 ns, edges 18 ns to 0.625 × period,
pulse rate 12.5 MHz, 999.99 s longest width, 10 ps width resolution, 1 mVpp to 10 Vpp into 50 Ω
(±10 V open circuit), and the width rule 0.625 × (lead + trail) ≤ width ≤ period − 0.8 × (lead +
trail). Burst counts 1 to 1 000 000, loads 1 Ω to 10 kΩ or INFinity and the TIMer|EXTernal trigger
sources agree with a public AFG31022 driver (QuTech QMI).
"""
from __future__ import annotations

from pymeasure.instruments import Channel, Instrument, SCPIMixin
from pymeasure.instruments.validators import strict_discrete_set, strict_range

from labsuite.drivers.keysight.keysight33500 import (BusBurstMixin, check_channel_and_level, check_count,
                                                     level_commands, level_controls, output_controls)
from labsuite.drivers.scpi_common import number
from labsuite.core.errors import RangeError
from labsuite.core.datasheets import PULSE_GENERATORS
from labsuite.core.instruments import Registration

MAX_LEVEL = PULSE_GENERATORS["tektronixafg31000"].max_voltage   # V, open circuit
MIN_LEVEL = 2e-3               # V, smallest |level| open circuit (1 mVpp into 50 Ω)
MIN_PERIOD = PULSE_GENERATORS["tektronixafg31000"].min_period   # s, highest pulse rate
MAX_PERIOD = 1e3               # s, 1 mHz
MAX_EDGE_PER_PERIOD = 0.625
BOOLEAN = {True: 1, False: 0}


class AFG31000Channel(Channel):
    """One output of an AFG31000: waveform, pulse timing, levels, load setting, burst."""

    shape = Instrument.control(
        "SOUR{ch}:FUNC:SHAP?", "SOUR{ch}:FUNC:SHAP %s",
        """Control the waveform: "SIN", "SQU", "PULS", "RAMP", "PRN", "DC", ... (str).""",
        validator=strict_discrete_set,
        values=["SIN", "SQU", "PULS", "RAMP", "PRN", "DC", "SINC", "GAUS", "LOR", "ERIS", "EDEC", "HAV"])

    pulse_period = Instrument.control(
        "SOUR{ch}:PULS:PER?", "SOUR{ch}:PULS:PER %e",
        """Control the pulse period in s (float).""",
        validator=strict_range, values=[MIN_PERIOD, MAX_PERIOD])

    pulse_width = Instrument.control(
        "SOUR{ch}:PULS:WIDT?", "SOUR{ch}:PULS:WIDT %e",
        """Control the pulse width in s between the 50 % points (float).""",
        validator=strict_range, values=[30e-9, 999.99])

    pulse_delay = Instrument.control(
        "SOUR{ch}:PULS:DEL?", "SOUR{ch}:PULS:DEL %e",
        """Control the lead delay of the pulse in s (float).""",
        validator=strict_range, values=[0.0, MAX_PERIOD])

    pulse_leading = Instrument.control(
        "SOUR{ch}:PULS:TRAN:LEAD?", "SOUR{ch}:PULS:TRAN:LEAD %e",
        """Control the leading edge time in s, 10–90 % (float).""",
        validator=strict_range, values=[18e-9, MAX_EDGE_PER_PERIOD * MAX_PERIOD])

    pulse_trailing = Instrument.control(
        "SOUR{ch}:PULS:TRAN:TRA?", "SOUR{ch}:PULS:TRAN:TRA %e",
        """Control the trailing edge time in s, 90–10 % (float).""",
        validator=strict_range, values=[18e-9, MAX_EDGE_PER_PERIOD * MAX_PERIOD])

    amplitude, offset, voltage_high, voltage_low = level_controls(
        "SOUR{ch}:VOLT:LEV:IMM:AMPL", "SOUR{ch}:VOLT:LEV:IMM", MIN_LEVEL, MAX_LEVEL)

    output_load, polarity = output_controls("OUTP{ch}:IMP")

    output = Instrument.control(
        "OUTP{ch}:STAT?", "OUTP{ch}:STAT %d",
        """Control the output state (bool).""",
        validator=strict_discrete_set, values=BOOLEAN, map_values=True)

    burst_state = Instrument.control(
        "SOUR{ch}:BURS:STAT?", "SOUR{ch}:BURS:STAT %d",
        """Control burst mode (bool); off, the channel runs continuously.""",
        validator=strict_discrete_set, values=BOOLEAN, map_values=True)

    burst_mode = Instrument.control(
        "SOUR{ch}:BURS:MODE?", "SOUR{ch}:BURS:MODE %s",
        """Control the burst mode, "TRIG" (N cycles per trigger) or "GAT" (str).""",
        validator=strict_discrete_set, values=["TRIG", "GAT"])

    burst_ncycles = Instrument.control(
        "SOUR{ch}:BURS:NCYC?", "SOUR{ch}:BURS:NCYC %d",
        """Control the cycles per triggered burst (int; reads back as a float).""",
        validator=strict_range, values=[1, 1_000_000])


class TektronixAFG31000(BusBurstMixin, SCPIMixin, Instrument):
    """Tektronix AFG31000 (two-channel models), implementing labsuite's
    :class:`~labsuite.core.instruments.PulseGenerator`."""

    capabilities = PULSE_GENERATORS["tektronixafg31000"]
    registrations = (Registration("tektronixafg31000", "pulse_generator", r"TEKTRONIX,AFG31\d{3},", capabilities),)

    ch_1 = Instrument.ChannelCreator(AFG31000Channel, 1)
    ch_2 = Instrument.ChannelCreator(AFG31000Channel, 2)
    min_level = MIN_LEVEL
    outputs_off = ":OUTP1:STAT OFF;:OUTP2:STAT OFF;:ABOR"

    trigger_source = Instrument.control(
        "TRIG:SEQ:SOUR?", "TRIG:SEQ:SOUR %s",
        """Control the trigger source of both channels: "TIM" (internal timer) or "EXT"
        (Trigger Input); ``*TRG`` triggers with either.""",
        validator=strict_discrete_set, values=["TIM", "EXT"])

    def __init__(self, adapter, name: str = "Tektronix AFG31000 arbitrary/function generator", **kwargs) -> None:
        super().__init__(adapter, name, **kwargs)

    # --- PulseGenerator interface -------------------------------------------------------
    def settings(self) -> dict[str, object]:
        """Get each channel's pulse, burst and output settings (one query per channel)."""
        found: dict[str, object] = {"idn": self.identify(), "trigger_source": self.trigger_source}
        for n in self.channels:
            reply = self.ask(f":SOUR{n}:FUNC:SHAP?;:SOUR{n}:PULS:PER?;:SOUR{n}:PULS:WIDT?;"
                             f":SOUR{n}:PULS:DEL?;:SOUR{n}:PULS:TRAN:LEAD?;:SOUR{n}:PULS:TRAN:TRA?;"
                             f":SOUR{n}:VOLT:LEV:IMM:HIGH?;:SOUR{n}:VOLT:LEV:IMM:LOW?;:OUTP{n}:IMP?;"
                             f":OUTP{n}:POL?;:SOUR{n}:BURS:STAT?;:SOUR{n}:BURS:NCYC?;:OUTP{n}:STAT?")
            (shape, period, width, delay, lead, trail, high, low, load, polarity, burst, cycles,
             output) = reply.strip().split(";")
            found[f"ch{n}"] = {"shape": shape, "period_s": float(period), "width_s": float(width),
                               "delay_s": float(delay), "lead_s": float(lead), "trail_s": float(trail),
                               "high_V": float(high), "low_V": float(low), "load_ohm": float(load),
                               "polarity": polarity, "burst": burst == "1",
                               "burst_cycles": int(float(cycles)), "output": output == "1"}
        return found

    def check_burst(self, level: float, width: float, period: float, count: int, edge: float,
                    channel: int = 1) -> None:
        """Raise :class:`RangeError` (or :class:`InvalidParameter`) naming the setting and its
        allowed range unless an AFG31022 can play the burst (limits in :attr:`capabilities`); sends
        nothing."""
        caps = self.capabilities
        check_channel_and_level(caps, channel, level, MIN_LEVEL)
        if not MIN_PERIOD <= period <= MAX_PERIOD:
            raise RangeError("period", period, MIN_PERIOD, MAX_PERIOD, "s")
        if not caps.min_edge <= edge <= MAX_EDGE_PER_PERIOD * period:
            raise RangeError("edge", edge, caps.min_edge, MAX_EDGE_PER_PERIOD * period, "s",
                             why="0.625 × the period")
        shortest = max(caps.min_width, 0.625 * 2 * edge)
        longest = min(caps.max_width, period - 0.8 * 2 * edge)
        if not shortest <= width <= longest:
            raise RangeError("width", width, shortest, longest, "s",
                             why="room for both edges: 1.25 × edge to the period less 1.6 × edge")
        check_count(caps, count)

    # --- helpers ------------------------------------------------------------------------
    def _burst_message(self, level: float, width: float, period: float, count: int, edge: float,
                       channel: int, idle: float | None = None) -> str:
        """The burst's message: played by ``*TRG`` from a 0 V idle, or (``idle`` given) also on a
        rising edge at Trigger Input from ``idle`` V (TRIGger:SEQuence:SLOPe POSitive)."""
        n, off = channel, not self._outputs[channel]
        src, volt = f":SOUR{n}", f":SOUR{n}:VOLT:LEV:IMM"
        commands = [f":OUTP{n}:STAT OFF"] if off else []
        slope = [] if idle is None else [":TRIG:SEQ:SLOP POS"]
        commands += [f"{src}:BURS:MODE TRIG", f"{src}:BURS:NCYC {count}", ":TRIG:SEQ:SOUR EXT", *slope,
                     f"{src}:BURS:STAT ON", f"{src}:FUNC:SHAP PULS",
                     f"{src}:PULS:DEL 0", f"{src}:PULS:TRAN:LEAD MIN", f"{src}:PULS:TRAN:TRA MIN",
                     f"{src}:PULS:WIDT MIN", f"{src}:PULS:PER {number(period)}", f"{src}:PULS:WIDT {number(width)}",
                     f"{src}:PULS:TRAN:LEAD {number(edge)}", f"{src}:PULS:TRAN:TRA {number(edge)}",
                     f":OUTP{n}:IMP INF"]
        commands += level_commands(level, off, f"{volt}:HIGH", f"{volt}:LOW", f"{volt}:OFFS", f":OUTP{n}:POL",
                                   MIN_LEVEL, idle or 0.0)
        return ";".join(commands)
