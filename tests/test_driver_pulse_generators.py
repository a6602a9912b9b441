"""The 33500B/33600A and AFG31000 drivers send exactly the manuals' commands, validate first, and
play bursts on the simulated bench.

Keysight: 33500 Series Operating and Service Guide (33500-90901), SCPI reference: FUNCtion
(PULSe, :PULSe:PERiod|WIDTh|TRANsition), VOLTage, OUTPut (:LOAD, :POLarity), BURSt, TRIGger
(:SOURce BUS), *TRG and *OPC? ("answers when the burst is complete"). Tektronix: AFG31000 Series
Programmer Manual (077-1643-xx): SOURce<n>:FUNCtion:SHAPe, :PULSe, :VOLTage:LEVel:IMMediate,
OUTPut<n>:IMPedance|POLarity|STATe, :BURSt, TRIGger:SEQuence:SOURce EXTernal, *TRG.
"""
import pytest
from pymeasure.test import expected_protocol

from labsuite.drivers import PULSE_GENERATORS, match_driver
from labsuite.drivers.keysight.keysight33500 import Keysight33500
from labsuite.drivers.tektronix.afg31000 import TektronixAFG31000
from labsuite.errors import InstrumentError, InvalidParameter, RangeError
from labsuite.instruments import PulseGenerator
from labsuite.simulator.station import SimulatedStation

KEYSIGHT_OK = ("SYST:ERR?", '+0,"No error"')
AFG_OK = ("SYST:ERR?", '0,"No error"')


def keysight_timing(n: int = 1) -> list[tuple[str, None]]:
    """Channel ``n``'s burst and pulse-timing commands for 10 pulses, 100 µs every 1 ms, 10 ns edges."""
    return [(command, None) for command in (
        f"SOUR{n}:BURS:MODE TRIG", f"SOUR{n}:BURS:NCYC 10", f"TRIG{n}:SOUR BUS", f"SOUR{n}:BURS:STAT 1",
        f"SOUR{n}:FUNC PULS", f"SOUR{n}:FUNC:PULS:TRAN:BOTH MIN", f"SOUR{n}:FUNC:PULS:WIDT MIN",
        f"SOUR{n}:FUNC:PULS:PER 1.000000e-03", f"SOUR{n}:FUNC:PULS:WIDT 1.000000e-04",
        f"SOUR{n}:FUNC:PULS:TRAN:BOTH 1.000000e-08")]


AFG_TIMING = [
    ("SOUR1:BURS:MODE TRIG", None),
    ("SOUR1:BURS:NCYC 10", None),
    ("TRIG:SEQ:SOUR EXT", None),
    ("SOUR1:BURS:STAT 1", None),
    ("SOUR1:FUNC:SHAP PULS", None),
    ("SOUR1:PULS:DEL 0.000000e+00", None),
    ("SOUR1:PULS:TRAN:LEAD MIN", None),
    ("SOUR1:PULS:TRAN:TRA MIN", None),
    ("SOUR1:PULS:WIDT MIN", None),
    ("SOUR1:PULS:PER 1.000000e-03", None),
    ("SOUR1:PULS:WIDT 1.000000e-04", None),
    ("SOUR1:PULS:TRAN:LEAD 5.000000e-08", None),
    ("SOUR1:PULS:TRAN:TRA 5.000000e-08", None),
]


# --- Keysight 33500B/33600A -----------------------------------------------------------------
def test_keysight_first_burst_arms_the_bus_trigger_then_sets_timing_then_open_circuit_levels():
    """Output off first (its polarity is not known yet); armed burst before FUNC PULS; minimum
    edge and width before the period; load INFinity before the levels; offset 0, amplitude,
    offset L/2 so that no intermediate level exceeds the limit; one error check."""
    with expected_protocol(Keysight33500, [
        ("OUTP1 0", None),
        *keysight_timing(),
        ("OUTP1:LOAD INF", None),
        ("OUTP1:POL NORM", None),
        ("SOUR1:VOLT:OFFS 0.000000", None),
        ("SOUR1:VOLT 1.500000", None),
        ("SOUR1:VOLT:OFFS 0.750000", None),
        KEYSIGHT_OK,
    ]) as generator:
        generator.configure_burst(level=1.5, width=100e-6, period=1e-3, count=10, edge=10e-9)


def test_keysight_same_sign_level_changes_only_the_high_level_and_keeps_the_output():
    with expected_protocol(Keysight33500, [
        ("OUTP1 0", None), *keysight_timing(), ("OUTP1:LOAD INF", None), ("OUTP1:POL NORM", None),
        ("SOUR1:VOLT:OFFS 0.000000", None), ("SOUR1:VOLT 1.500000", None), ("SOUR1:VOLT:OFFS 0.750000", None),
        KEYSIGHT_OK,
        ("OUTP1 1", None),
        *keysight_timing(),
        ("SOUR1:VOLT:HIGH 1.200000", None),
        KEYSIGHT_OK,
    ]) as generator:
        generator.configure_burst(1.5, 100e-6, 1e-3, 10, 10e-9)
        generator.set_output(True)
        generator.configure_burst(1.2, 100e-6, 1e-3, 10, 10e-9)


def test_keysight_negative_pulses_invert_about_a_zero_high_level_with_the_output_off_meanwhile():
    """0 V → −1 V: low level −1 V, high 0 V, polarity inverted, so the channel idles at 0 V; the
    output that was on is off while the polarity flips and back on after."""
    with expected_protocol(Keysight33500, [
        ("OUTP1 1", None),
        ("OUTP1 0", None),
        *keysight_timing(),
        ("OUTP1:LOAD INF", None),
        ("OUTP1:POL INV", None),
        ("SOUR1:VOLT:OFFS 0.000000", None),
        ("SOUR1:VOLT 1.000000", None),
        ("SOUR1:VOLT:OFFS -0.500000", None),
        ("OUTP1 1", None),
        KEYSIGHT_OK,
    ]) as generator:
        generator.set_output(True)
        generator.configure_burst(-1.0, 100e-6, 1e-3, 10, 10e-9)


def test_keysight_trigger_waits_for_the_burst_and_shutdown_turns_both_outputs_off_in_one_message():
    with expected_protocol(Keysight33500, [
        ("*TRG;*OPC?", "1"),
        (":ABOR;:OUTP1 OFF;:OUTP2 OFF", None),
    ]) as generator:
        generator.trigger()
        generator.shutdown()


def test_keysight_error_after_configuring_raises_with_the_instrument_message():
    with expected_protocol(Keysight33500, [
        ("OUTP2 0", None),
        *keysight_timing(2),
        ("OUTP2:LOAD INF", None), ("OUTP2:POL NORM", None), ("SOUR2:VOLT:OFFS 0.000000", None),
        ("SOUR2:VOLT 1.500000", None), ("SOUR2:VOLT:OFFS 0.750000", None),
        ("SYST:ERR?", '-221,"Settings conflict;pulse width decreased due to period"'),
        KEYSIGHT_OK,
    ]) as generator:
        with pytest.raises(InstrumentError, match="-221, Settings conflict;pulse width decreased"):
            generator.configure_burst(1.5, 100e-6, 1e-3, 10, 10e-9, channel=2)


@pytest.mark.parametrize("kwargs, field", [
    ({"level": 12.0}, "level"),
    ({"level": 0.001}, "level"),
    ({"period": 1e-9}, "period"),
    ({"width": 10e-9}, "width"),
    ({"width": 1e-3 - 10e-9}, "width"),           # no room for the 16 ns minimum low time
    ({"edge": 5e-9}, "edge"),
    ({"edge": 70e-6}, "edge"),                     # more than 0.625 × the 100 µs width
    ({"width": 18e-9, "edge": 9e-9}, "edge"),      # edges above 8.4 ns need 20 ns widths
    ({"count": 0}, "count"),
    ({"count": 100_000_001}, "count"),
])
def test_keysight_limits_are_checked_before_anything_is_sent(kwargs, field):
    burst = {"level": 1.0, "width": 100e-6, "period": 1e-3, "count": 10, "edge": 10e-9, **kwargs}
    with expected_protocol(Keysight33500, []) as generator:
        with pytest.raises(RangeError) as refused:
            generator.configure_burst(**burst)
    assert refused.value.field == field and field in str(refused.value) and "allowed" in str(refused.value)


@pytest.mark.parametrize("driver", [Keysight33500, TektronixAFG31000])
def test_channel_and_count_must_be_a_channel_and_a_whole_number(driver):
    with expected_protocol(driver, []) as generator:
        with pytest.raises(InvalidParameter, match="channel"):
            generator.configure_burst(1.0, 100e-6, 1e-3, 10, 50e-9, channel=3)
        with pytest.raises(InvalidParameter, match="count"):
            generator.configure_burst(1.0, 100e-6, 1e-3, 2.5, 50e-9)
        with pytest.raises(InvalidParameter, match="channel"):
            generator.set_output(True, channel=0)


# --- Tektronix AFG31000 ---------------------------------------------------------------------
def test_afg_first_burst_selects_the_external_source_and_fires_on_trg():
    """No BUS source on the AFG31000: EXTernal waits (nothing on Trigger Input) and *TRG fires it."""
    with expected_protocol(TektronixAFG31000, [
        ("OUTP1:STAT 0", None),
        *AFG_TIMING,
        ("OUTP1:IMP INF", None),
        ("OUTP1:POL NORM", None),
        ("SOUR1:VOLT:LEV:IMM:OFFS 0.000000", None),
        ("SOUR1:VOLT:LEV:IMM:AMPL 2.000000", None),
        ("SOUR1:VOLT:LEV:IMM:OFFS 1.000000", None),
        AFG_OK,
        ("OUTP1:STAT 1", None),
        *AFG_TIMING,
        ("SOUR1:VOLT:LEV:IMM:HIGH 2.500000", None),
        AFG_OK,
        ("*TRG;*OPC?", "1"),
        (":ABOR;:OUTP1:STAT OFF;:OUTP2:STAT OFF", None),
    ]) as generator:
        generator.configure_burst(2.0, 100e-6, 1e-3, 10, 50e-9)
        generator.set_output(True)
        generator.configure_burst(2.5, 100e-6, 1e-3, 10, 50e-9)
        generator.trigger()
        generator.shutdown()


def test_afg_negative_pulses_use_the_inverted_polarity():
    with expected_protocol(TektronixAFG31000, [
        ("OUTP1:STAT 0", None), *AFG_TIMING, ("OUTP1:IMP INF", None), ("OUTP1:POL INV", None),
        ("SOUR1:VOLT:LEV:IMM:OFFS 0.000000", None), ("SOUR1:VOLT:LEV:IMM:AMPL 3.000000", None),
        ("SOUR1:VOLT:LEV:IMM:OFFS -1.500000", None),
        AFG_OK,
    ]) as generator:
        generator.configure_burst(-3.0, 100e-6, 1e-3, 10, 50e-9)


@pytest.mark.parametrize("kwargs, field", [
    ({"level": -10.5}, "level"),
    ({"width": 20e-9}, "width"),                   # 30 ns minimum
    ({"width": 60e-9, "edge": 50e-9}, "width"),    # both edges need 1.25 × 50 ns
    ({"edge": 10e-9}, "edge"),                     # 18 ns minimum
    ({"period": 50e-9}, "period"),                 # 12.5 MHz at most
    ({"count": 1_000_001}, "count"),
])
def test_afg_limits_are_checked_before_anything_is_sent(kwargs, field):
    burst = {"level": 1.0, "width": 100e-6, "period": 1e-3, "count": 10, "edge": 50e-9, **kwargs}
    with expected_protocol(TektronixAFG31000, []) as generator:
        with pytest.raises(RangeError) as refused:
            generator.configure_burst(**burst)
    assert refused.value.field == field


# --- on the simulated bench -----------------------------------------------------------------
@pytest.fixture(params=list(PULSE_GENERATORS))
def bench(request):
    """(station, driver of its simulated generator over the in-process pyvisa backend)."""
    station = SimulatedStation(seed=9, pulse_generator=request.param)
    library = station.visa_library()
    driver = PULSE_GENERATORS[request.param](station.resources["pulse_generator"], visa_library=library)
    yield station, driver
    driver.adapter.close()
    library.close_library()


def test_driver_implements_the_interface_and_matches_its_own_idn(bench):
    station, generator = bench
    assert isinstance(generator, PulseGenerator)
    assert PULSE_GENERATORS[match_driver(generator.identify())] is type(generator)


def test_driver_burst_on_the_simulator_potentiates_and_reads_back(bench):
    """A 10-pulse 1.4 V burst: 10 periods of bench time, a potentiated device, settings as set."""
    station, generator = bench
    g0 = station.model.conductance()[0]
    generator.configure_burst(level=1.4, width=100e-6, period=1e-3, count=10, edge=50e-9)
    generator.set_output(True)
    t0 = station.clock.now()
    generator.trigger()
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
    assert station.instruments["pulse_generator"].ports[1].voltage == 0.0    # back on, idle at 0 V
    generator.trigger()
    assert station.model.conductance()[0] < potentiated
    assert generator.settings()["ch1"]["polarity"] == "INV"


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


@pytest.mark.parametrize("driver", [Keysight33500, TektronixAFG31000])
def test_hardware_burst_settings_read_back_and_shutdown(device_address, driver):
    """Opt-in: on a real generator of this model, a 0.1 V burst is set up as sent; outputs end off."""
    generator = driver(device_address)
    if PULSE_GENERATORS.get(match_driver(generator.identify()) or "") is not driver:
        generator.adapter.close()
        pytest.skip(f"{device_address} is not a {driver.__name__}")
    try:
        generator.reset()
        generator.configure_burst(level=0.1, width=1e-6, period=1e-3, count=3, edge=50e-9)
        ch1 = generator.settings()["ch1"]
        assert [ch1["width_s"], ch1["period_s"], ch1["high_V"]] == pytest.approx([1e-6, 1e-3, 0.1], rel=1e-3)
    finally:
        generator.shutdown()
        assert not generator.settings()["ch1"]["output"]
        generator.adapter.close()
