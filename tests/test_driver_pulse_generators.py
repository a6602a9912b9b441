"""The 33500B/33600A and AFG31000 drivers send exactly the manuals' commands, validate first, and
play bursts on the simulated bench.

Keysight: 33500 Series Operating and Service Guide (33500-90901), SCPI reference: FUNCtion
(PULSe, :PULSe:PERiod|WIDTh|TRANsition), VOLTage (:OFFSet, :HIGH, :LOW), OUTPut (:LOAD,
:POLarity), BURSt, TRIGger (:SOURce BUS; its introduction: "*OPC sets the Operation Complete bit
(bit 0) in the Standard Event register when the sweep or burst is complete"), *TRG, *ESR?,
SYSTem:ERRor?. Tektronix: AFG31000 Series Programmer Manual (077-1643-xx):
SOURce<n>:FUNCtion:SHAPe, :PULSe, :VOLTage:LEVel:IMMediate, OUTPut<n>:IMPedance|POLarity|STATe,
:BURSt, TRIGger:SEQuence:SOURce EXTernal, *TRG, *OPC, *ESR? (AFG3000 family, "Status and
Events"). IEEE 488.2: *ESR? clears the register it reads (§11.5.1.2); a command sent before a
reply is read discards it with -410 "Query INTERRUPTED" (§6.3.2.3).
"""
import time
import types

import numpy as np
import pytest
from pymeasure.test import expected_protocol

from labsuite import registry
from labsuite.drivers.keysight import keysight33500
from labsuite.drivers.keysight.keysight33500 import Keysight33500
from labsuite.drivers.tektronix.tektronixafg31000 import TektronixAFG31000
from labsuite.core.errors import InstrumentError, InvalidParameter, RangeError
from labsuite.core.instruments import PulseGenerator
from labsuite.simulator.server import InstrumentServer
from labsuite.simulator.station import SimulatedStation

KEYSIGHT_OK = ("SYST:ERR?", '+0,"No error"')
AFG_OK = ("SYST:ERR?", '0,"No error"')
DRIVERS = [Keysight33500, TektronixAFG31000]
OK = {Keysight33500: KEYSIGHT_OK, TektronixAFG31000: AFG_OK}
OFF = {Keysight33500: ":OUTP1 OFF;:OUTP2 OFF;:ABOR", TektronixAFG31000: ":OUTP1:STAT OFF;:OUTP2:STAT OFF;:ABOR"}
CONNECTION = {"timeout": 10_000}


def keysight_burst(n: int = 1, count: int = 10, period: str = "0.001", width: str = "0.0001",
                   edge: str = "1e-08") -> str:
    """Channel ``n``'s burst and pulse timing, and its load setting."""
    s = f":SOUR{n}"
    return (f"{s}:BURS:MODE TRIG;{s}:BURS:NCYC {count};:TRIG{n}:SOUR BUS;{s}:BURS:STAT ON;{s}:FUNC PULS;"
            f"{s}:FUNC:PULS:TRAN:BOTH MIN;{s}:FUNC:PULS:WIDT MIN;{s}:FUNC:PULS:PER {period};"
            f"{s}:FUNC:PULS:WIDT {width};{s}:FUNC:PULS:TRAN:BOTH {edge};:OUTP{n}:LOAD INF")


def afg_burst(n: int = 1) -> str:
    s = f":SOUR{n}"
    return (f"{s}:BURS:MODE TRIG;{s}:BURS:NCYC 10;:TRIG:SEQ:SOUR EXT;{s}:BURS:STAT ON;{s}:FUNC:SHAP PULS;"
            f"{s}:PULS:DEL 0;{s}:PULS:TRAN:LEAD MIN;{s}:PULS:TRAN:TRA MIN;{s}:PULS:WIDT MIN;{s}:PULS:PER 0.001;"
            f"{s}:PULS:WIDT 0.0001;{s}:PULS:TRAN:LEAD 5e-08;{s}:PULS:TRAN:TRA 5e-08;:OUTP{n}:IMP INF")


# --- Keysight 33500B/33600A -----------------------------------------------------------------
def test_keysight_burst_is_one_message_that_sets_everything_the_device_sees_then_one_error_check():
    """Output off (this driver has not turned it on); armed burst before FUNC PULS; minimum edge
    and width before the period; load INFinity before the levels; levels centred, brought to
    ±2 mV, polarity, then high L and low 0 V. Nothing depends on an earlier call: the same burst
    twice is the same message twice (the generator may have been reset in between)."""
    message = (f":OUTP1 OFF;{keysight_burst()};:SOUR1:VOLT:OFFS 0;:SOUR1:VOLT:HIGH 0.002;:SOUR1:VOLT:LOW -0.002;"
               ":OUTP1:POL NORM;:SOUR1:VOLT:HIGH 1.5;:SOUR1:VOLT:LOW 0")
    with expected_protocol(Keysight33500, [(message, None), KEYSIGHT_OK, (message, None), KEYSIGHT_OK]) as generator:
        generator.configure_burst(level=1.5, width=100e-6, period=1e-3, count=10, edge=10e-9)
        generator.configure_burst(level=1.5, width=100e-6, period=1e-3, count=10, edge=10e-9)


def test_keysight_negative_pulses_invert_about_a_zero_high_level():
    """0 V → −1 V: polarity inverted, low level −1 V, high 0 V, so the channel idles at 0 V."""
    with expected_protocol(Keysight33500, [
        (f":OUTP2 OFF;{keysight_burst(2)};:SOUR2:VOLT:OFFS 0;:SOUR2:VOLT:HIGH 0.002;:SOUR2:VOLT:LOW -0.002;"
         ":OUTP2:POL INV;:SOUR2:VOLT:LOW -1.0;:SOUR2:VOLT:HIGH 0", None),
        KEYSIGHT_OK,
    ]) as generator:
        generator.configure_burst(-1.0, 100e-6, 1e-3, 10, 10e-9, channel=2)


def test_keysight_burst_with_the_output_on_leaves_it_on_and_passes_the_polarity_at_2_mV():
    """An output this driver turned on stays on: no OUTP, no offset (it would move the idle level
    by half the amplitude); the levels go to ±2 mV, the polarity flips, then the new levels."""
    levels = ":SOUR1:VOLT:HIGH 0.002;:SOUR1:VOLT:LOW -0.002;:OUTP1:POL {};:SOUR1:VOLT:{}"
    with expected_protocol(Keysight33500, [
        ("OUTP1 1", None),
        (f"{keysight_burst()};" + levels.format("INV", "LOW -1.0;:SOUR1:VOLT:HIGH 0"), None),
        KEYSIGHT_OK,
        (f"{keysight_burst()};" + levels.format("NORM", "HIGH 1.2;:SOUR1:VOLT:LOW 0"), None),
        KEYSIGHT_OK,
    ]) as generator:
        generator.set_output(True)
        generator.configure_burst(-1.0, 100e-6, 1e-3, 10, 10e-9)
        generator.configure_burst(1.2, 100e-6, 1e-3, 10, 10e-9)


def test_keysight_error_after_configuring_raises_with_the_instrument_message():
    with expected_protocol(Keysight33500, [
        (f":OUTP2 OFF;{keysight_burst(2)};:SOUR2:VOLT:OFFS 0;:SOUR2:VOLT:HIGH 0.002;:SOUR2:VOLT:LOW -0.002;"
         ":OUTP2:POL NORM;:SOUR2:VOLT:HIGH 1.5;:SOUR2:VOLT:LOW 0", None),
        ("SYST:ERR?", '-221,"Settings conflict;pulse width decreased due to period"'),
        KEYSIGHT_OK,
    ]) as generator:
        with pytest.raises(InstrumentError, match="-221, Settings conflict;pulse width decreased"):
            generator.configure_burst(1.5, 100e-6, 1e-3, 10, 10e-9, channel=2)


@pytest.mark.parametrize("kwargs, field", [
    ({"level": 12.0}, "level"),
    ({"level": 0.001}, "level"),                   # under the 1 mVpp-into-50-Ω minimum amplitude
    ({"level": float("nan")}, "level"),
    ({"period": 1e-9}, "period"),
    ({"period": 2e6, "width": 1.0}, "period"),     # 1 µHz at the least
    ({"width": 10e-9}, "width"),
    ({"width": 1e-3 - 10e-9}, "width"),           # no room for the 16 ns minimum low time
    ({"edge": 5e-9}, "edge"),
    ({"edge": 70e-6}, "edge"),                     # more than 0.625 × the 100 µs width
    ({"width": 18e-9, "edge": 9e-9}, "edge"),      # edges above 8.4 ns need 20 ns widths
    ({"count": 0}, "count"),
    ({"count": 100_000_001}, "count"),
])
def test_keysight_limits_are_checked_before_anything_is_sent(kwargs, field):
    """check_burst (what the Runner asks before a run) and configure_burst refuse alike, naming
    the setting and the allowed range, and send nothing."""
    burst = {"level": 1.0, "width": 100e-6, "period": 1e-3, "count": 10, "edge": 10e-9, **kwargs}
    with expected_protocol(Keysight33500, []) as generator:
        for method in (generator.check_burst, generator.configure_burst):
            with pytest.raises(RangeError) as refused:
                method(**burst)
            assert refused.value.field == field and field in str(refused.value) and "allowed" in str(refused.value)


@pytest.mark.parametrize("driver", DRIVERS)
def test_channel_and_count_must_be_a_channel_and_a_whole_number(driver):
    with expected_protocol(driver, []) as generator:
        for method in (generator.check_burst, generator.configure_burst):
            with pytest.raises(InvalidParameter, match="channel"):
                method(1.0, 100e-6, 1e-3, 10, 50e-9, channel=3)
            with pytest.raises(InvalidParameter, match="count"):
                method(1.0, 100e-6, 1e-3, 2.5, 50e-9)
        generator.check_burst(1.0, 100e-6, 1e-3, np.int64(10), 50e-9)     # any whole number
        with pytest.raises(InvalidParameter, match="channel"):
            generator.set_output(True, channel=0)


@pytest.mark.parametrize("driver, load", [(Keysight33500, "LOAD"), (TektronixAFG31000, "IMP")])
def test_load_setting_and_polarity_are_sent_with_the_channel_and_checked_first(driver, load):
    with expected_protocol(driver, [(f"OUTP2:{load} INF", None), ("OUTP2:POL INV", None),
                                    (f"OUTP1:{load}?", "9.9E+37")]) as generator:
        channel = generator.channels[2]
        channel.output_load = "INF"
        channel.polarity = "INV"
        assert generator.channels[1].output_load == pytest.approx(9.9e37)
        with pytest.raises(ValueError):
            channel.output_load = 0.5        # below 1 Ω: refused before sending
        with pytest.raises(ValueError):
            channel.polarity = "REV"


@pytest.mark.parametrize("driver", DRIVERS)
def test_raise_errors_raises_the_first_error_and_reads_the_queue_to_its_end(driver):
    ok = OK[driver]
    with expected_protocol(driver, [
        ok,
        ("SYST:ERR?", '-410,"Query INTERRUPTED"'),
        ("SYST:ERR?", '-222,"Data out of range"'),
        ok,
    ]) as generator:
        generator.raise_errors()
        with pytest.raises(InstrumentError, match="-410, Query INTERRUPTED"):
            generator.raise_errors()


# --- triggering ---------------------------------------------------------------------------
class FakeTime:
    """The drivers' clock: sleep advances monotonic()."""

    def __init__(self) -> None:
        self.now, self.sleeps = 1000.0, []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def fake_time(monkeypatch):
    clock = FakeTime()
    monkeypatch.setattr(keysight33500, "time", types.SimpleNamespace(monotonic=clock.monotonic, sleep=clock.sleep))
    return clock


@pytest.mark.parametrize("driver", DRIVERS)
def test_trigger_is_one_query_when_the_burst_is_over_by_its_end_and_shutdown_turns_outputs_off_first(driver):
    """*ESR? clears a stale Operation Complete bit, *TRG fires, *OPC sets the bit once the burst has
    played, *ESR? reads it; shutdown: both outputs off, then ABORt, in one message, no query."""
    plus = "+" if driver is Keysight33500 else ""
    with expected_protocol(driver, [
        ("*ESR?;*TRG;*OPC;*ESR?", f"{plus}129;{plus}1"),      # power-on and OPC bits: OPC is what counts
        (OFF[driver], None),
    ], connection_attributes=CONNECTION) as generator:
        generator.trigger()
        generator.shutdown()


def test_trigger_polls_without_blocking_so_a_burst_may_outlast_the_visa_timeout(fake_time):
    """2 pulses every 30 s (60 s) under a 10 s VISA timeout: no read waits for the burst. The
    driver sleeps in 50 ms steps until the burst should be over, then polls at 1, 1, 2, 4 ...
    ms, at most 50 ms, until *ESR? shows Operation Complete."""
    level = ":SOUR1:VOLT:OFFS 0;:SOUR1:VOLT:HIGH 0.002;:SOUR1:VOLT:LOW -0.002;:OUTP1:POL NORM;:SOUR1:VOLT:HIGH 1.0;" \
            ":SOUR1:VOLT:LOW 0"
    with expected_protocol(Keysight33500, [
        (f":OUTP1 OFF;{keysight_burst(count=2, period='30.0', edge='8.4e-09')};{level}", None),
        KEYSIGHT_OK,
        ("*ESR?;*TRG;*OPC;*ESR?", "+1;+0"),     # OPC left by an interrupted burst: read, cleared, ignored
        *[("*ESR?", "+0")] * 8,
        ("*ESR?", "+1"),
    ], connection_attributes=CONNECTION) as generator:
        generator.configure_burst(1.0, 100e-6, 30.0, 2, 8.4e-9)
        started = fake_time.now
        generator.trigger()
    assert max(fake_time.sleeps) <= 0.05
    assert fake_time.sleeps[-9:] == pytest.approx([1e-3, 1e-3, 2e-3, 4e-3, 8e-3, 16e-3, 32e-3, 50e-3, 50e-3])
    assert fake_time.now - started == pytest.approx(60.0 + 0.164)


def test_trigger_raises_when_the_burst_is_not_over_by_its_duration_plus_the_visa_timeout(fake_time):
    with expected_protocol(Keysight33500, [], connection_attributes=CONNECTION) as generator:
        asked = []
        generator.ask = lambda command: (asked.append(command), "+0;+0" if len(asked) == 1 else "+0")[1]
        with pytest.raises(InstrumentError, match="not complete 10 s after \\*TRG"):
            generator.trigger()
    assert asked[0] == "*ESR?;*TRG;*OPC;*ESR?" and set(asked[1:]) == {"*ESR?"}
    assert fake_time.now - 1000.0 == pytest.approx(10.0, abs=0.06)


@pytest.mark.parametrize("driver", DRIVERS)
def test_ctrl_c_between_polls_leaves_no_reply_pending(driver, fake_time):
    """A KeyboardInterrupt while trigger() waits between polls: every query has had its reply,
    so shutdown is its one message and nothing stale is left for the next query."""
    def interrupted(seconds):
        raise KeyboardInterrupt
    keysight33500.time.sleep = interrupted
    zero = "+0" if driver is Keysight33500 else "0"
    with expected_protocol(driver, [
        ("*ESR?;*TRG;*OPC;*ESR?", f"{zero};{zero}"),
        (OFF[driver], None),
        ("*IDN?", "ID"),
    ], connection_attributes=CONNECTION) as generator:
        with pytest.raises(KeyboardInterrupt):
            generator.trigger()
        generator.shutdown()
        assert generator.identify() == "ID"


# --- Tektronix AFG31000 ---------------------------------------------------------------------
def test_afg_burst_selects_the_external_source_and_sets_everything_in_one_message():
    """No BUS source on the AFG31000: EXTernal waits (nothing on Trigger Input) and *TRG fires it.
    Load INFinity, levels through ±2 mV, polarity, levels; with the output on, no OUTP and no
    offset."""
    levels = (":SOUR1:VOLT:LEV:IMM:HIGH 0.002;:SOUR1:VOLT:LEV:IMM:LOW -0.002;:OUTP1:POL NORM;"
              ":SOUR1:VOLT:LEV:IMM:HIGH {};:SOUR1:VOLT:LEV:IMM:LOW 0")
    with expected_protocol(TektronixAFG31000, [
        (f":OUTP1:STAT OFF;{afg_burst()};:SOUR1:VOLT:LEV:IMM:OFFS 0;" + levels.format("2.0"), None),
        AFG_OK,
        ("OUTP1:STAT 1", None),
        (f"{afg_burst()};" + levels.format("2.5"), None),
        AFG_OK,
    ]) as generator:
        generator.configure_burst(2.0, 100e-6, 1e-3, 10, 50e-9)
        generator.set_output(True)
        generator.configure_burst(2.5, 100e-6, 1e-3, 10, 50e-9)


def test_afg_negative_pulses_use_the_inverted_polarity():
    with expected_protocol(TektronixAFG31000, [
        (f":OUTP1:STAT OFF;{afg_burst()};:SOUR1:VOLT:LEV:IMM:OFFS 0;:SOUR1:VOLT:LEV:IMM:HIGH 0.002;"
         ":SOUR1:VOLT:LEV:IMM:LOW -0.002;:OUTP1:POL INV;:SOUR1:VOLT:LEV:IMM:LOW -3.0;:SOUR1:VOLT:LEV:IMM:HIGH 0", None),
        AFG_OK,
    ]) as generator:
        generator.configure_burst(-3.0, 100e-6, 1e-3, 10, 50e-9)


@pytest.mark.parametrize("kwargs, field", [
    ({"level": -10.5}, "level"),
    ({"level": -0.001}, "level"),                  # under the 1 mVpp-into-50-Ω minimum amplitude
    ({"width": 20e-9}, "width"),                   # 30 ns minimum
    ({"width": 60e-9, "edge": 50e-9}, "width"),    # both edges need 1.25 × 50 ns
    ({"edge": 10e-9}, "edge"),                     # 18 ns minimum
    ({"period": 50e-9}, "period"),                 # 12.5 MHz at most
    ({"period": 1200.0}, "period"),                # 1 mHz at the least
    ({"count": 1_000_001}, "count"),
])
def test_afg_limits_are_checked_before_anything_is_sent(kwargs, field):
    burst = {"level": 1.0, "width": 100e-6, "period": 1e-3, "count": 10, "edge": 50e-9, **kwargs}
    with expected_protocol(TektronixAFG31000, []) as generator:
        for method in (generator.check_burst, generator.configure_burst):
            with pytest.raises(RangeError) as refused:
                method(**burst)
            assert refused.value.field == field and "allowed" in str(refused.value)


# --- on the simulated bench -----------------------------------------------------------------
@pytest.fixture(params=registry.names("pulse_generator"))
def bench(request):
    """(station, driver of its simulated generator over the in-process pyvisa backend)."""
    station = SimulatedStation(seed=9, pulse_generator=request.param)
    library = station.visa_library()
    driver = registry.INSTRUMENTS[request.param].open(station.resources["pulse_generator"], visa_library=library)
    yield station, driver
    driver.adapter.close()
    library.close_library()


def drives(station) -> list[float | None]:
    """Record every level (EMF, V; None: output off) the generator puts on channel 1's port."""
    port, seen = station.instruments["pulse_generator"].ports[1], []
    drive = port.drive
    port.drive = lambda volts, limit: (seen.append(volts), drive(volts, limit))
    return seen


def test_driver_implements_the_interface_and_matches_its_own_idn(bench):
    station, generator = bench
    assert isinstance(generator, PulseGenerator)
    assert callable(generator.check_burst) and callable(generator.raise_errors)
    assert registry.match(generator.identify()).driver is type(generator)


def test_driver_burst_on_the_simulator_potentiates_and_reads_back(bench):
    """A 10-pulse 1.4 V burst: 10 periods of bench time, a potentiated device, settings as set;
    one query fires it and finds it over."""
    station, generator = bench
    g0 = station.model.conductance()[0]
    generator.configure_burst(level=1.4, width=100e-6, period=1e-3, count=10, edge=50e-9)
    generator.set_output(True)
    sent = []
    write = generator.adapter._write
    generator.adapter._write = lambda command, **kw: (sent.append(command), write(command, **kw))
    t0 = station.clock.now()
    generator.trigger()
    assert sent == ["*ESR?;*TRG;*OPC;*ESR?"]
    assert station.clock.now() - t0 == pytest.approx(10e-3)
    assert station.model.conductance()[0] > 1.5 * g0
    ch1 = generator.settings()["ch1"]
    assert [ch1["period_s"], ch1["width_s"], ch1["high_V"], ch1["low_V"]] == pytest.approx([1e-3, 100e-6, 1.4, 0.0])
    assert ch1["load_ohm"] == pytest.approx(9.9e37)                # high impedance: open-circuit levels
    assert (ch1["burst"], ch1["burst_cycles"], ch1["output"]) == (True, 10, True)


def test_driver_negative_burst_depresses_and_idles_at_zero(bench):
    station, generator = bench
    generator.configure_burst(1.4, 100e-6, 1e-3, 5, 50e-9)
    generator.set_output(True)
    generator.trigger()
    potentiated = station.model.conductance()[0]
    generator.configure_burst(-1.4, 100e-6, 1e-3, 5, 50e-9)
    assert station.instruments["pulse_generator"].ports[1].voltage == 0.0    # still on, idle at 0 V
    generator.trigger()
    assert station.model.conductance()[0] < potentiated
    assert generator.settings()["ch1"]["polarity"] == "INV"


@pytest.mark.parametrize("output_on", [True, False], ids=["output-left-on", "output-turned-off"])
@pytest.mark.parametrize("lost", ["*RST", "power"], ids=["front-panel-reset", "power-cycle"])
def test_settings_lost_between_bursts_are_set_again_so_the_pulses_stay_as_programmed(bench, lost, output_on):
    """The generator reset from the front panel (or by another program) or power cycled after a
    burst: load setting 50 Ω, sine, levels ±100 mV. The next configure_burst sets it all again,
    so the device sees 1.4 V pulses (not 2.8 V: the EMF behind 50 Ω at the 50 Ω load setting)
    and idles at 0 V, whatever the driver believes of the output."""
    station, generator = bench
    generator.configure_burst(1.4, 100e-6, 1e-3, 2, 50e-9)
    generator.set_output(True)
    generator.trigger()
    simulated = station.instruments["pulse_generator"]
    simulated.process("*RST") if lost == "*RST" else simulated.power_loss()
    if not output_on:
        generator.set_output(False)        # what the Runner does before the first burst of a run
    generator.configure_burst(1.4, 100e-6, 1e-3, 2, 50e-9)
    generator.set_output(True)
    seen = drives(station)
    generator.trigger()
    assert sorted(set(seen)) == pytest.approx([0.0, 1.4])        # pulses to 1.4 V, idle at 0 V
    assert seen[-1] == 0.0
    ch1 = generator.settings()["ch1"]
    assert (ch1["load_ohm"], ch1["polarity"], ch1["high_V"], ch1["low_V"]) == pytest.approx((9.9e37, "NORM", 1.4, 0.0))


def test_an_output_another_program_left_on_is_turned_off_before_the_channel_is_set_up(bench):
    """A new driver (it has not turned the output on) finds the generator sourcing 2.5 V DC with
    levels of one sign: the output goes off first, then the burst is set up without an error."""
    station, generator = bench
    simulated = station.instruments["pulse_generator"]
    afg = isinstance(generator, TektronixAFG31000)
    simulated.process(":SOUR1:FUNC:SHAP DC;:SOUR1:VOLT:LEV:IMM:OFFS 2.5;:OUTP1:STAT ON" if afg else
                      ":SOUR1:FUNC DC;:SOUR1:VOLT:OFFS 2.5;:OUTP1 ON")
    assert simulated.ports[1].voltage == pytest.approx(5.0)          # 2.5 V at the 50 Ω load setting
    seen = drives(station)
    generator.configure_burst(-1.0, 100e-6, 1e-3, 3, 50e-9)
    assert seen[0] is None and simulated.ports[1].voltage is None
    ch1 = generator.settings()["ch1"]
    assert (ch1["polarity"], ch1["high_V"], ch1["low_V"], ch1["output"]) == pytest.approx(("INV", 0.0, -1.0, False))


def test_reconfiguring_a_channel_whose_output_is_on_keeps_it_idle_within_2_mV(bench):
    """Same sign and polarity flips, the output on all along: after every command of every
    configure_burst message the channel idles within 2 mV (open circuit) of 0 V, and no command
    is refused."""
    station, generator = bench
    simulated = station.instruments["pulse_generator"]
    process, idle = simulated.process, []

    def one_at_a_time(message: str):
        replies = []
        for unit in message.split(";"):
            assert ";" not in message or unit.startswith((":", "*"))   # each command carries its whole path
            replies.append(process(unit))
            channel = simulated.channels[1]
            idle.append(channel.levels()[0] if channel.output else None)
        return ";".join(r for r in replies if r is not None) or None
    generator.configure_burst(1.4, 100e-6, 1e-3, 2, 50e-9)
    generator.set_output(True)
    simulated.process = one_at_a_time
    for level in (1.0, 2.0, -1.4, -0.5, 3.0, 0.002, -0.002, -10.0, 10.0):
        idle.clear()
        generator.configure_burst(level, 100e-6, 1e-3, 2, 50e-9)      # raises on any error
        assert len(idle) > 15 and max(abs(v) for v in idle) <= 2e-3 + 1e-12, level
        assert idle[-1] == 0.0
        generator.trigger()


@pytest.mark.parametrize("name, bursts", [
    ("keysight33500", [
        (2e-3, 16e-9, 1 / 30e6, 1, 8.4e-9), (-2e-3, 100e-6, 1e-3, 100_000_000, 8.4e-9),
        (10.0, 1e6 - 16e-9, 1e6, 1, 8.4e-9), (-10.0, 100e-6, 1e-3, 10, 1e-6),
        (1.0, 1.6e-6, 1e-3, 10, 1e-6), (1.0, 20e-9, 1e-3, 10, 12.5e-9), (1.0, 1e-3 - 16e-9, 1e-3, 3, 8.4e-9)]),
    ("tektronixafg31000", [
        (2e-3, 30e-9, 80e-9, 1, 18e-9), (-2e-3, 100e-6, 1e-3, 1_000_000, 18e-9),
        (10.0, 999.99, 1000.0, 1, 18e-9), (-10.0, 400e-6, 1e-3, 10, 300e-6), (1.0, 1e-3 - 28.8e-9, 1e-3, 3, 18e-9)]),
])
def test_every_burst_check_burst_accepts_is_taken_without_an_error(name, bursts):
    """At the edges of what check_burst allows, the simulated generator takes the burst as sent
    (configure_burst raises on any error the instrument queues)."""
    station = SimulatedStation(seed=9, pulse_generator=name)
    library = station.visa_library()
    generator = registry.INSTRUMENTS[name].open(station.resources["pulse_generator"], visa_library=library)
    try:
        for level, width, period, count, edge in bursts:
            generator.check_burst(level, width, period, count, edge)
            generator.configure_burst(level, width, period, count, edge)
            ch1 = generator.settings()["ch1"]
            assert [ch1["width_s"], ch1["period_s"]] == pytest.approx([width, period], rel=1e-9)
    finally:
        generator.adapter.close()
        library.close_library()


def test_shutdown_leaves_every_output_off_and_the_device_untouched(bench):
    station, generator = bench
    generator.configure_burst(1.4, 100e-6, 1e-3, 5, 50e-9)
    generator.set_output(True)
    generator.shutdown()
    assert station.instruments["pulse_generator"].ports[1].voltage is None
    before = station.model.state()
    generator.trigger()
    assert station.model.state() == pytest.approx(before)
    assert not generator.settings()["ch1"]["output"] and not generator.settings()["ch2"]["output"]


@pytest.mark.parametrize("transport", ["inprocess", "tcp"])
@pytest.mark.parametrize("name", registry.names("pulse_generator"))
def test_shutdown_after_a_query_interrupted_mid_read_leaves_nothing_stale(name, transport):
    """Ctrl-C while a reply is awaited: the next query drops that reply first (device clear), so
    it gets its own. Shutdown turns the outputs off at once, then drops the reply and clears the
    -410 the off message provoked in-process; the next query gets its own reply, the error queue
    is empty and the next burst is taken."""
    station = SimulatedStation(seed=9, pulse_generator=name)
    server = library = None
    if transport == "tcp":
        server = InstrumentServer({"pulse_generator": station.instruments["pulse_generator"]}).start()
        generator = registry.INSTRUMENTS[name].open(server.endpoints[0].resource, "@py")
    else:
        library = station.visa_library()
        generator = registry.INSTRUMENTS[name].open(station.resources["pulse_generator"], visa_library=library)
    try:
        generator.configure_burst(1.4, 100e-6, 1e-3, 2, 50e-9)
        generator.set_output(True)
        connection = generator.adapter.connection

        def interrupted(**kwargs):
            del connection.read                          # back to the class's read
            raise KeyboardInterrupt
        connection.read = interrupted
        with pytest.raises(KeyboardInterrupt):
            generator.settings()                         # its *IDN? reply is never read
        assert generator.ask("*OPC?") == "1"             # the next query drops it first
        generator.raise_errors()                         # (device clear: no -410 either)
        connection.read = interrupted
        with pytest.raises(KeyboardInterrupt):
            generator.settings()
        generator.shutdown()
        # the reply comes after the server has executed shutdown's messages (one connection, in order);
        # over TCP the port cannot be read before that round trip
        assert generator.ask(":OUTP1?" if name == "keysight33500" else ":OUTP1:STAT?") == "0"
        assert station.instruments["pulse_generator"].ports[1].voltage is None
        generator.raise_errors()
        generator.configure_burst(1.4, 100e-6, 1e-3, 2, 50e-9)
        t0 = station.clock.now()
        generator.trigger()
        assert station.clock.now() - t0 == pytest.approx(2e-3)
    finally:
        generator.adapter.close()
        if server is not None:
            server.close()
        if library is not None:
            library.close_library()


@pytest.mark.parametrize("driver", DRIVERS)
def test_hardware_burst_settings_read_back_trigger_waits_for_the_burst_and_shutdown(device_address, driver):
    """Opt-in: on a real generator of this model, a 0.1 V burst is set up as sent, trigger()
    returns no sooner than the burst's 3 × 100 ms (so *OPC waits for the burst on this model),
    and the outputs end off."""
    generator = driver(device_address)
    entry = registry.match(generator.identify())
    if entry is None or entry.driver is not driver:
        generator.adapter.close()
        pytest.skip(f"{device_address} is not a {driver.__name__}")
    try:
        generator.reset()
        generator.configure_burst(level=0.1, width=1e-6, period=0.1, count=3, edge=50e-9)
        ch1 = generator.settings()["ch1"]
        assert [ch1["width_s"], ch1["period_s"], ch1["high_V"]] == pytest.approx([1e-6, 0.1, 0.1], rel=1e-3)
        t0 = time.monotonic()
        generator.trigger()
        assert time.monotonic() - t0 >= 0.3 * 0.98
    finally:
        generator.shutdown()
        assert not generator.settings()["ch1"]["output"]
        generator.adapter.close()
