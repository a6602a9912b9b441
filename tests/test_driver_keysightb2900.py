"""The B2900 driver sends the SCPI of the Agilent B2900 SCPI Command Reference (B2910-90030,
Edition 2, chapter 4) and plays trains on the list sweep of the User's Guide (Edition 5, section 6
"Pulse Output" and "Trigger System"), in a few transfers however many pulses."""
import base64
import math

import numpy as np
import pytest
from pymeasure.test import expected_protocol

from labsuite import Bench, Limits, registry, run_protocol
from labsuite.drivers.keysight.keysightb2900 import KeysightB2900, source_range, tail_message
from labsuite.core.errors import InstrumentError, InvalidParameter
from labsuite.link import LinkError
from labsuite.core.events import RunState
from labsuite.core.program import PulseProgram, Segment, Train
from labsuite.runner import Runner
from labsuite.simulator import station as simulated_station
from labsuite.simulator.instruments.keysightb2900 import KeysightB2900 as SimulatedB2900
from labsuite.traffic import TrafficLog

SMU = "keysightb2900"                # the station's SMU (tests/conftest.py)

NO_ERROR = '+0,"No error"'
WRITE = Segment(1.5, 100e-6, "write")
READ = Segment(0.1, 200e-6, "read", measure=True)
IDLE = Segment(0.0, 200e-6, "idle")
TIMEOUT = {"timeout": 10_000}
IDLE_BITS = "+1170"           # :STAT:OPER:COND?: transition and acquire idle on channels 1 and 2
TIMER = ":SYST:TIME:TIM:COUN:RES:AUTO OFF;:SYST:TIME:TIM:COUN:RES"   # one clock for every run of a train


def block(*values: float) -> bytes:
    """A reply under ``:FORM REAL,64;:FORM:BORD NORM``: an IEEE 488.2 definite-length block of
    big-endian float64 and the terminator (the driver's reading transfers)."""
    data = np.array(values, dtype=">f8").tobytes()
    return f"#{len(str(len(data)))}{len(data)}".encode() + data + b"\n"


def test_configure_sets_the_compliance_before_anything_turns_on():
    """:SENS:CURR:PROT with the output off; *CLS first drops errors a past session left."""
    with expected_protocol(KeysightB2900, [
        ('*CLS;:OUTP1 OFF;:SOUR1:FUNC:MODE VOLT;:SOUR1:FUNC:SHAP DC;:SOUR1:VOLT:MODE FIX;:SOUR1:VOLT:RANG 2;'
         ':SENS1:CURR:PROT 0.001;:SOUR1:VOLT 0;:SENS1:FUNC "CURR","VOLT"', None),
        ("SYST:ERR?", NO_ERROR),
    ]) as smu:
        smu.configure(compliance=1e-3, max_level=1.5)


def test_dc_list_train_is_one_message_an_error_check_one_init_a_tail_and_one_fetch():
    """Same levels every repeat: the list holds one repeat up to its last 0 V wait (3 points of
    100 µs and a closing 0 V point), the transient ARM layer replays it every 500 µs, so the wait
    is held between arm events; the acquire ARM layer takes one 200 µs reading per repeat ending
    with the read segment (:ARM:ACQ:DEL); the last 200 µs, after the instrument's last action, are
    held at 0 V by a second run (:TRIG:TRAN:DEL). Each run is polled until channel 1 is idle."""
    message = (':OUTP1 OFF;:SOUR1:FUNC:MODE VOLT;:SOUR1:FUNC:SHAP DC;:SOUR1:VOLT:RANG 2;:SENS1:CURR:PROT 0.001;'
               ':SOUR1:VOLT 0;:SOUR1:WAIT OFF;:SENS1:WAIT OFF;:SOUR1:VOLT:MODE LIST;:SOUR1:LIST:VOLT 1.5,0.1,0.1,0;'
               ':ARM1:TRAN:SOUR TIM;:ARM1:TRAN:TIM 0.0005;:ARM1:TRAN:COUN 3;:ARM1:TRAN:DEL 0;'
               ':TRIG1:TRAN:SOUR TIM;:TRIG1:TRAN:TIM 0.0001;:TRIG1:TRAN:COUN 4;:TRIG1:TRAN:DEL 0;'
               ':SENS1:FUNC "CURR","VOLT";:SENS1:CURR:APER 0.0002;:FORM:ELEM:SENS VOLT,CURR,TIME;:FORM REAL,64;:FORM:BORD NORM;'
               ':ARM1:ACQ:SOUR TIM;:ARM1:ACQ:TIM 0.0005;:ARM1:ACQ:COUN 3;:ARM1:ACQ:DEL 0.0001;'
               ':TRIG1:ACQ:SOUR TIM;:TRIG1:ACQ:TIM 0.0005;:TRIG1:ACQ:COUN 1;:TRIG1:ACQ:DEL 0;' + TIMER)
    with expected_protocol(KeysightB2900, [
        (message, None),
        ("SYST:ERR?", NO_ERROR),                               # every setting taken before anything runs
        (":OUTP1 ON;:INIT (@1)", None),
        (":STAT:OPER:COND?", IDLE_BITS),
        (":SOUR1:FUNC:SHAP DC;:SOUR1:VOLT:MODE FIX;:SOUR1:VOLT:TRIG 0;:ARM1:TRAN:SOUR AINT;:ARM1:TRAN:COUN 1;"
         ":ARM1:TRAN:DEL 0;:TRIG1:TRAN:SOUR AINT;:TRIG1:TRAN:COUN 1;:TRIG1:TRAN:DEL 0.0002;:INIT:TRAN (@1)", None),
        (":STAT:OPER:COND?", IDLE_BITS),
        (":OUTP1 OFF;:SOUR1:FUNC:SHAP DC;:SOUR1:VOLT:MODE FIX;:SOUR1:VOLT 0", None),
        ("SYST:ERR?", NO_ERROR),
        (":FETC:ARR? (@1)", block(0.1, 2e-6, 1e-4, 0.1, 2.5e-6, 6e-4, 0.1, 3e-6, 1.1e-3)),
    ], connection_attributes=TIMEOUT) as smu:
        readings = smu.run_train(Train((WRITE, READ, IDLE), repeats=3), compliance=1e-3)
    assert readings.time == pytest.approx([0, 5e-4, 1e-3])
    assert list(readings.current) == [2e-6, 2.5e-6, 3e-6] and list(readings.voltage) == [0.1] * 3


def test_a_stopped_run_is_aborted_and_the_readings_it_acquired_fetched(monkeypatch):
    """A stop while channel 1's list sweep runs: ``:ABOR``, then ``:FETC:ARR?``, which returns the
    readings acquired so far (here 2 of the 3)."""
    train = Train((WRITE, READ, IDLE), repeats=3)
    with expected_protocol(KeysightB2900, []) as smu:
        message = smu.sweep_message(train, smu.plan(train, 1e-3), 1e-3, reset_time=True)

    def ctrl_c(duration: float, poll: float = 0.05) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(KeysightB2900, "wait_for_idle", ctrl_c)
    with expected_protocol(KeysightB2900, [
        (message, None),
        ("SYST:ERR?", NO_ERROR),
        (":OUTP1 ON;:INIT (@1)", None),
        (":ABOR (@1)", None),
        (":FETC:ARR? (@1)", block(0.1, 2e-6, 1e-4, 0.1, 2.5e-6, 6e-4)),
    ], connection_attributes=TIMEOUT) as smu:
        with pytest.raises(KeyboardInterrupt):
            smu.run_train(train, compliance=1e-3)
        readings = smu.stop_train()
    assert readings.time == pytest.approx([0, 5e-4]) and list(readings.current) == [2e-6, 2.5e-6]


def test_pulse_shape_train_puts_the_peaks_in_the_list():
    """Every segment but one at 0 V: pulse shape, base 0 V (:SOUR:VOLT), delay and width of the pulse
    segment, one peak per repeat from the list (User's Guide "Pulse Output"); no reading: INIT:TRAN;
    0.9 ms of 0 V after the last pulse are held by the second run."""
    levels = np.array([[1.0, 0.0], [1.2, 0.0]])
    train = Train((Segment(1.0, 100e-6, "write"), Segment(0.0, 900e-6)), 2, levels)
    with expected_protocol(KeysightB2900, [
        (":OUTP1 OFF;:SOUR1:FUNC:MODE VOLT;:SOUR1:FUNC:SHAP PULS;:SOUR1:VOLT:RANG 2;:SENS1:CURR:PROT 0.0002;"
         ":SOUR1:VOLT 0;:SOUR1:WAIT OFF;:SENS1:WAIT OFF;:SOUR1:PULS:DEL 0;:SOUR1:PULS:WIDT 0.0001;"
         ":SOUR1:VOLT:MODE LIST;:SOUR1:LIST:VOLT 1,1.2;:ARM1:TRAN:SOUR AINT;:ARM1:TRAN:COUN 1;:ARM1:TRAN:DEL 0;"
         ":TRIG1:TRAN:SOUR TIM;:TRIG1:TRAN:TIM 0.001;:TRIG1:TRAN:COUN 2;:TRIG1:TRAN:DEL 0;" + TIMER, None),
        ("SYST:ERR?", NO_ERROR),
        (":OUTP1 ON;:INIT:TRAN (@1)", None),
        (":STAT:OPER:COND?", IDLE_BITS),
        (tail_message(900e-6), None),
        (":STAT:OPER:COND?", IDLE_BITS),
        (":OUTP1 OFF;:SOUR1:FUNC:SHAP DC;:SOUR1:VOLT:MODE FIX;:SOUR1:VOLT 0", None),
        ("SYST:ERR?", NO_ERROR),
    ], connection_attributes=TIMEOUT) as smu:
        readings = smu.run_train(train, compliance=2e-4)
    assert readings.current.size == 0


def test_shutdown_turns_channel_1_off_first_then_aborts():
    """:OUTP1 OFF alone first; channel 2 only on a model identified as having one (a B2901A refuses
    its suffix and channel lists naming it)."""
    with expected_protocol(KeysightB2900, [(":OUTP1 OFF", None), (":ABOR (@1)", None)]) as smu:
        smu.shutdown()
        assert smu.isShutdown
    with expected_protocol(KeysightB2900, [("*IDN?", "Agilent Technologies,B2901A,MY1,2.0"),
                                           (":OUTP1 OFF", None), (":ABOR (@1)", None)]) as smu:
        smu.identify()
        smu.shutdown()
    with expected_protocol(KeysightB2900, [("*IDN?", "Keysight Technologies,B2912A,MY5,4.0"),
                                           (":OUTP1 OFF", None), (":OUTP2 OFF;:ABOR (@1,2)", None)]) as smu:
        smu.identify()
        smu.shutdown()


def test_a_run_on_a_one_channel_model_leaves_no_error(monkeypatch):
    """The Runner never calls identify(): on a B2901A its shutdown must not name channel 2."""
    monkeypatch.setattr(simulated_station, "TWINS", {**simulated_station.TWINS,
                                                     "keysightb2900": simulated_station.Twin(SimulatedB2900, "B2901A")})
    with Bench.simulated(smu="keysightb2900", seed=1) as bench:
        assert Runner(bench, PulseProgram((Train((WRITE, READ, IDLE), 3),), 1e-3)).run().size == 3
        assert bench.smu.channel_count is None
        assert bench.smu.check_errors() == [] and bench.smu.ask(":OUTP1?") == "0"


def test_a_run_is_polled_until_channel_1_is_idle():
    """:STAT:OPER:COND? bit 1 (Ch1 Transition Idle) and bit 4 (Ch1 Acquire Idle); while running the
    channel waits for its timers' triggers (bits 2 and 5). No blocking *OPC? for an abort to queue
    behind; a channel that never comes back to idle is reported after the run and the timeout."""
    with expected_protocol(KeysightB2900, [
        (":STAT:OPER:COND?", "+1188"), (":STAT:OPER:COND?", "+1172"), (":STAT:OPER:COND?", IDLE_BITS),
    ], connection_attributes=TIMEOUT) as smu:
        smu.wait_for_idle(duration=1.0, poll=0.001)
    with expected_protocol(KeysightB2900, [(":STAT:OPER:COND?", "+1188")], connection_attributes={"timeout": 0}) as smu:
        with pytest.raises(InstrumentError, match="still running"):
            smu.wait_for_idle(duration=0.0, poll=0.001)


def test_the_last_run_ends_on_the_source_range_configure_chose():
    """The run of a 0.1 V train fixes the 200 mV range; after it, output off, the 2 V range that
    configure() chose for the program comes back, so a later software-timed 1.5 V applies."""
    train = Train((Segment(0.1, 200e-6, "read", True), IDLE), 2)
    with expected_protocol(KeysightB2900, []) as smu:
        message = smu.sweep_message(train, smu.plan(train), 1e-3, reset_time=True)
    assert ":SOUR1:VOLT:RANG 0.2;" in message
    with expected_protocol(KeysightB2900, [
        ('*CLS;:OUTP1 OFF;:SOUR1:FUNC:MODE VOLT;:SOUR1:FUNC:SHAP DC;:SOUR1:VOLT:MODE FIX;:SOUR1:VOLT:RANG 2;'
         ':SENS1:CURR:PROT 0.001;:SOUR1:VOLT 0;:SENS1:FUNC "CURR","VOLT"', None),
        ("SYST:ERR?", NO_ERROR),
        (message, None),
        ("SYST:ERR?", NO_ERROR),
        (":OUTP1 ON;:INIT (@1)", None),
        (":STAT:OPER:COND?", IDLE_BITS),
        (tail_message(200e-6), None),
        (":STAT:OPER:COND?", IDLE_BITS),
        (":OUTP1 OFF;:SOUR1:FUNC:SHAP DC;:SOUR1:VOLT:MODE FIX;:SOUR1:VOLT 0;:SOUR1:VOLT:RANG 2", None),
        ("SYST:ERR?", NO_ERROR),
        (":FETC:ARR? (@1)", block(0.1, 2e-6, 0.0, 0.1, 2e-6, 4e-4)),
    ], connection_attributes=TIMEOUT) as smu:
        smu.configure(compliance=1e-3, max_level=1.5)
        assert smu.run_train(train, compliance=1e-3).time == pytest.approx([0, 4e-4])


def test_spot_reading_sets_the_aperture_and_returns_voltage_and_current():
    with expected_protocol(KeysightB2900, [
        (":FORM REAL,64;:FORM:BORD NORM;:FORM:ELEM:SENS VOLT,CURR;:SENS1:CURR:APER 0.001;:MEAS? (@1)",
         block(0.1, 2e-6)),
        (":FORM REAL,64;:FORM:BORD NORM;:FORM:ELEM:SENS VOLT,CURR;:SENS1:CURR:APER 8e-06;:MEAS? (@1)",
         block(0.1, 2e-6)),
    ]) as smu:
        assert smu.measure(1e-3) == (0.1, 2e-6)
        assert smu.measure(1e-6) == (0.1, 2e-6)                      # clipped to the 8 µs minimum


def test_channel_properties_send_the_channel_suffix_and_validate_first():
    """SCPI reference ch. 1 "Numeric Suffix": ch_2 commands carry the 2; limits refuse before sending."""
    with expected_protocol(KeysightB2900, [
        (":SOUR2:VOLT 0.5", None), (":SENS1:CURR:PROT 0.0001", None), (":OUTP2 1", None),
        (":SOUR1:PULS:WIDT 0.001", None), (":SOUR2:FUNC:SHAP PULS", None), (":SOUR1:LIST:VOLT:POIN?", "2500"),
        (":SENS1:CURR:PROT:TRIP?", "1"), (":OUTP1?", "0"),
    ]) as smu:
        smu.ch_2.source_voltage = 0.5
        smu.set_compliance(1e-4)
        smu.ch_2.output_enabled = True
        smu.ch_1.pulse_width = 1e-3
        smu.ch_2.source_shape = "pulse"
        assert smu.ch_1.list_points == 2500
        assert smu.ch_1.current_limit_tripped is True
        assert smu.ch_1.output_enabled is False
        for bad in (lambda: smu.set_level(250), lambda: smu.set_compliance(5.0),
                    lambda: setattr(smu.ch_1, "pulse_width", 20e-6)):
            with pytest.raises(ValueError):
                bad()


def test_identify_match_and_source_range():
    with expected_protocol(KeysightB2900, [("*IDN?", "Keysight Technologies,B2912A,MY5,4.0")]) as smu:
        assert smu.identify() == "Keysight Technologies,B2912A,MY5,4.0" and smu.channel_count == 2
    assert registry.match("Agilent Technologies,B2902A,MY51140123,1.1.1144.2244").name == "keysightb2900"
    assert registry.match("Keysight Technologies,B2961A,MY1,1.0") is None
    assert [source_range(v) for v in (0.01, 0.21, 1.5, -15, 205)] == [0.2, 0.2, 2, 20, 200]
    with pytest.raises(ValueError):
        source_range(250)


@pytest.mark.parametrize("pattern, levels, reason", [
    ((Segment(1.5, 100e-6, "write", compliance=50e-6), READ), None, "different current limits"),
    ((Segment(1.5, 0.4e-6, "write"), READ), None, "segment 1 lasts 400 ns; the B2900 times in steps of 1 µs"),
    ((Segment(1.5, 30e-6, "write"), Segment(0.1, 100e-6, "read", True)), None,
     "share a 10 µs time step; the B2900's trigger timer needs ≥ 20 µs"),
    ((WRITE, READ, Segment(0.05, 300e-3), WRITE), None, "one repeat needs 3005 list points of 100 µs"),   # with a 0 V end marker
    ((Segment(0.1, 2e5, "read", True),), None, "one repeat lasts 200 ks; the B2900's timers reach 100000 s"),
])
def test_hardware_timing_limit_names_the_limit(pattern, levels, reason):
    train = Train(pattern, 2, levels)
    with expected_protocol(KeysightB2900, []) as smu:
        assert reason in smu.hardware_timing_limit(train)
        with pytest.raises(InvalidParameter, match="cannot be timed by the B2900"):
            smu.run_train(train, 1e-3)


def test_plans_pick_pulse_shape_arm_replay_or_a_full_list():
    with expected_protocol(KeysightB2900, []) as smu:
        assert smu.hardware_timing_limit(Train((WRITE, READ, IDLE), 3)) is None
        read_pulse = smu.plan(Train((READ, Segment(0.0, 9.8e-3)), 10))
        assert read_pulse.pulsed and read_pulse.pulse_width == 200e-6 and read_pulse.acquire_delay == 0
        replay = smu.plan(Train((WRITE, READ, IDLE), 3))
        assert not replay.pulsed and replay.per_arm and replay.points == (0, 1, 1, 2)   # the last wait: one point
        ending_high = smu.plan(Train((READ, WRITE), 3))                  # last level not 0 V: end marker
        assert not ending_high.per_arm and ending_high.marker and ending_high.repeats_per_run == 2499 // 3
        changing = Train((WRITE, READ, IDLE), 3, np.array([[1.0, 0.1, 0], [1.1, 0.1, 0], [1.2, 0.1, 0]]))
        full = smu.plan(changing)                                        # every repeat's points, 0 V marker
        assert not full.per_arm and full.marker and full.repeats_per_run == 2499 // 5


def test_driver_runs_a_train_on_the_simulated_instrument(smu, station):
    """Integration: exact timing on the bench clock, rising conductance, output off afterwards."""
    train = Train((WRITE, READ, Segment(0.0, 9.7e-3)), repeats=20)
    smu.configure(1e-3, 1.5)
    t0 = station.clock.now()
    readings = smu.run_train(train, compliance=1e-3)
    assert station.clock.now() - t0 == pytest.approx(train.duration)
    assert readings.time == pytest.approx(np.arange(20) * 10e-3)
    assert readings.voltage == pytest.approx([0.1] * 20)
    assert np.all(np.diff(readings.current / readings.voltage) > 0)
    assert smu.ch_1.output_enabled is False and station.node.ports[0].voltage is None


def test_readings_of_several_runs_keep_the_time_between_runs(smu, station, monkeypatch):
    """On hardware each new run starts after a few bus round trips; here 20 ms of bench time pass
    before the second of two runs (499 + 101 repeats). The timer counts on through INIT, so the
    readings show the gap where the device saw it."""
    levels = np.column_stack([np.linspace(1.0, 1.6, 600), [0.1] * 600, [0.0] * 600])
    load, loaded = smu.sweep_message, []

    def after_a_pause(*args, **kwargs):
        if loaded:
            station.clock.advance(20e-3)
        loaded.append(True)
        return load(*args, **kwargs)
    monkeypatch.setattr(smu, "sweep_message", after_a_pause)
    smu.configure(1e-3, 1.6)
    readings = smu.run_train(Train((WRITE, READ, IDLE), 600, levels), compliance=1e-3)
    steps = np.diff(readings.time)
    assert steps[498] == pytest.approx(500e-6 + 20e-3, abs=1e-6)
    assert np.delete(steps, 498) == pytest.approx(500e-6, abs=1e-6)


def test_a_software_timed_level_after_a_hardware_train_applies(smu, station, monkeypatch):
    """timing="auto": a 0.2 V train on the list sweep (200 mV range), then a train with its own limit
    stepped from the computer: its 1.5 V write reaches the device for its 10 ms, no -222 is left."""
    held, apply = [], station.node.apply

    def recording(v_source, series_resistance, compliance, duration):
        held.append((v_source, duration))
        return apply(v_source, series_resistance, compliance, duration)
    monkeypatch.setattr(station.node, "apply", recording)
    low = Train((Segment(0.2, 1e-3, "read", True), Segment(0.0, 1e-3)), 3)
    limited = Train((Segment(1.5, 5e-3, "write", compliance=1e-4), Segment(0.1, 5e-3, "read", True),
                     Segment(0.0, 10e-3)), 2)
    runner = Runner(Bench(smu, clock=station.clock), PulseProgram((low, limited), 1e-3), timing="auto")
    runner.run()
    assert runner.state is RunState.COMPLETED
    assert sum(d for v, d in held if v == 1.5) == pytest.approx(10e-3)
    assert smu.check_errors() == []


def test_changing_levels_run_as_several_lists_back_to_back(smu, station):
    """Incremental pulses: 600 repeats of 5 list points do not fit one 2500-point list (499 repeats
    and a 0 V end point do); the runs
    follow each other without a gap on the bench clock and the readings keep the program's times."""
    amplitudes = np.linspace(1.0, 1.6, 600)
    levels = np.column_stack([amplitudes, [0.1] * 600, [0.0] * 600])
    train = Train((WRITE, READ, IDLE), 600, levels)
    smu.configure(1e-3, 1.6)
    t0 = station.clock.now()
    readings = smu.run_train(train, compliance=1e-3)
    assert station.clock.now() - t0 == pytest.approx(train.duration)
    assert readings.time == pytest.approx(np.arange(600) * 500e-6)
    assert readings.current.size == 600 and np.all(np.diff(readings.current[:50]) > 0)


@pytest.mark.parametrize("timing", ["hardware", "software"])
def test_potentiation_end_to_end_gives_conductance_rising_with_pulse_number(timing):
    with Bench.simulated(smu="keysightb2900", seed=1) as bench:
        result = run_protocol("potentiation", bench, {"pulses": 15, "period": "5 ms", "read_delay": "1 ms"},
                              out_dir=None, timing=timing)
    g = result.samples["current"] / result.samples["voltage"]
    assert result.samples.size == 16 and np.all(np.diff(g) > 0)
    # baseline: read 1 ms + 2.9 ms at 0 V; each read ends 0.1 + 1 + 1 ms into its 5 ms period
    assert result.samples["t"] == pytest.approx([1e-3] + [3.9e-3 + 2.1e-3 + 5e-3 * i for i in range(15)])


def test_hardware_and_software_timing_measure_the_same_device():
    """The list sweep and the per-segment loop see the same physics (noise-free device)."""
    quiet = {"c2c_sigma": 0, "read_noise": 0}
    samples = {}
    for timing in ("hardware", "software"):
        with Bench.simulated(smu="keysightb2900", seed=0, model_params=quiet) as bench:
            samples[timing] = run_protocol("potentiation", bench, {"pulses": 10}, out_dir=None,
                                           timing=timing).samples
    assert samples["software"]["current"] == pytest.approx(samples["hardware"]["current"], rel=1e-6)
    assert samples["software"]["t"] == pytest.approx(samples["hardware"]["t"], abs=1e-9)


def test_loopback_tcp_gives_the_readings_of_the_in_process_bench():
    pattern = (WRITE, READ, IDLE)
    results = []
    for transport in ("tcp", "inprocess"):
        with Bench.simulated(smu="keysightb2900", seed=3, transport=transport) as bench:
            results.append(Runner(bench, PulseProgram((Train(pattern, 50),), 1e-3)).run())
    assert results[0]["current"] == pytest.approx(results[1]["current"], rel=1e-6)


def test_visa_round_trips_grow_with_the_lists_not_the_pulse_count():
    """Changing levels, 5 list points a repeat and a 0 V end marker: 499 repeats per list. 600 and
    3000 pulses cost a constant handful of transfers per list, never one per pulse."""
    pattern = (WRITE, READ, IDLE)
    with Bench.simulated(smu="keysightb2900", seed=2, transport="tcp") as bench:
        for pulses in (600, 3000):
            levels = np.column_stack([np.linspace(1.0, 1.5, pulses), [0.1] * pulses, [0.0] * pulses])
            traffic = TrafficLog.attach(bench.smu)
            samples = Runner(bench, PulseProgram((Train(pattern, pulses, levels),), 1e-3), chunk_duration=None).run()
            traffic.detach()
            assert samples.size == pulses
            lists = math.ceil(pulses / 499) + math.ceil(pulses / 2500)      # Runner chunks of 2500, lists of 499
            # per list: message, error check, INIT, idle poll, tail, idle poll, output off, error check,
            # fetch; once: configure, its error check, shutdown (output off, abort)
            assert traffic.reads <= 5 * lists + 1
            assert traffic.writes <= 9 * lists + 4


def test_binary_readings_decode_to_the_ascii_readings(smu):
    """The driver's float64 blocks (:FORM REAL,64;:FORM:BORD NORM) carry the readings the ASCII
    format prints to 7 digits (SCPI reference ch. 4 FORMat), and the traffic log counts each as
    one read."""
    smu.configure(compliance=1e-3, max_level=1.5)
    traffic = TrafficLog.attach(smu)
    readings = smu.run_train(Train((WRITE, READ, IDLE), repeats=4), compliance=1e-3)
    fetch = traffic.entries[-1]
    assert fetch[1] == "read" and base64.b64decode(fetch[2].removeprefix("base64:"))[:4] == b"#296"   # 4 × 3 × 8 bytes
    traffic.detach()
    smu.write(":FORM ASC")
    voltage, current, stamp = np.array(smu.values(":FETC:ARR? (@1)"), dtype=float).reshape(4, 3).T
    assert readings.current == pytest.approx(current, rel=1e-6)
    assert readings.voltage == pytest.approx(voltage, rel=1e-6)
    assert readings.time == pytest.approx(stamp - stamp[0], rel=1e-6, abs=1e-9)


def test_a_thousand_pulses_hardware_timed_against_per_pulse():
    pattern = (WRITE, READ, IDLE)
    counts = {}
    for timing in ("hardware", "software"):
        with Bench.simulated(smu="keysightb2900", seed=2, transport="tcp") as bench:
            traffic = TrafficLog.attach(bench.smu)
            Runner(bench, PulseProgram((Train(pattern, 1000),), 1e-3), timing=timing).run()
            counts[timing] = (traffic.writes, traffic.reads)
    assert counts["hardware"] == (13, 6)          # configure + one list run + shutdown
    assert counts["software"][1] >= 1000          # one query per reading at least


def test_compliance_is_set_before_the_output_turns_on_and_the_output_ends_off():
    with Bench.simulated(smu="keysightb2900", seed=2, limits=Limits(5.0, 5e-3)) as bench:
        traffic = TrafficLog.attach(bench.smu)
        Runner(bench, PulseProgram((Train((WRITE, READ, IDLE), 3),), 2e-4)).run()
        sent = ";".join(traffic.sent())
        assert sent.index(":SENS1:CURR:PROT 0.0002") < sent.index(":OUTP1 ON")
        assert bench.smu.ask(":OUTP1?") == "0"


@pytest.mark.parametrize("timing", ["hardware", "software"])
@pytest.mark.parametrize("fault", [OSError("connection lost"), KeyboardInterrupt()])
def test_output_is_off_after_a_fault_with_the_output_on(station, smu, monkeypatch, timing, fault):
    """The fault strikes inside a reading, output on: the Runner's shutdown turns it off."""
    instrument = station.instruments["smu"]
    original = instrument._store
    calls = {"n": 0}

    def flaky(*args):
        calls["n"] += 1
        if calls["n"] == 30:
            assert instrument.channels[0].output
            raise fault
        return original(*args)

    monkeypatch.setattr(instrument, "_store", flaky)
    bench = Bench(smu, clock=station.clock)
    with pytest.raises(LinkError if isinstance(fault, OSError) else type(fault)):   # a link failure: one line
        Runner(bench, PulseProgram((Train((WRITE, READ, IDLE), 50),), 1e-3), timing=timing).run()
    monkeypatch.setattr(instrument, "_store", original)
    assert smu.ask(":OUTP1?") == "0" and station.node.ports[0].voltage is None


def test_an_observer_error_mid_run_leaves_the_output_off_and_keeps_the_samples(station, smu, fail_on_second_chunk):
    bench = Bench(smu, clock=station.clock)
    runner = Runner(bench, PulseProgram((Train((WRITE, READ, IDLE), 200),), 1e-3), chunk_duration=0.05,
                    observers=[fail_on_second_chunk(RuntimeError("observer failed"))])
    with pytest.raises(RuntimeError):
        runner.run()
    assert runner.state is RunState.FAILED and runner.samples.size == 200
    assert smu.ask(":OUTP1?") == "0"


def test_on_a_real_b2900(hardware_reading):
    """Opt-in (``--device-address``): identify, 0.1 V under 1 mA, one reading, output off."""
    with hardware_reading(KeysightB2900) as (smu, voltage, current):
        assert voltage == pytest.approx(0.1, abs=5e-3) and abs(current) <= 1.05e-3
        smu.set_output(False)
        assert smu.ch_1.output_enabled is False


@pytest.mark.parametrize("protocol", ["iv", "pulsed-iv"])
def test_iv_sweeps_at_defaults_run_on_the_b2900(protocol):
    """Back-to-back readings (1 ms apart, 1 ms aperture): a reading's start and the previous one's
    end are one instant, which rounding once put in the wrong order (KeyError: 0 in the simulator).
    Without cycle-to-cycle noise: the B2900 slices a sweep into other drive stretches than the 2450,
    and each stretch draws its own c2c perturbation, so noisy runs are different realizations."""
    quiet = {"c2c_sigma": 0.0}
    with Bench.simulated(seed=2, smu="keysightb2900", model_params=quiet) as bench:
        result = run_protocol(protocol, bench, out_dir=None)
    assert result.state is RunState.COMPLETED
    with Bench.simulated(seed=2, model_params=quiet) as bench:
        expected = run_protocol(protocol, bench, out_dir=None)
    assert result.samples.size == expected.samples.size
    assert result.figures.keys() == expected.figures.keys()
    for name in ("r_on", "r_off", "v_reset"):      # the same device, timed by another instrument
        assert result.figures[name] == pytest.approx(expected.figures[name], rel=0.01)


def test_durations_go_on_the_1_us_grid_and_waits_onto_the_list_step():
    """srdp's 316.127766 ms wait is not a whole number of µs: its end is rounded to the nearest µs
    (it was refused). A PPF pair 629.925 µs apart: the 100 µs write and the 200 µs reads set a
    20 µs list step, the 0 V wait's end goes to the nearest step (each edge within 10 µs of its
    programmed time), and three unevenly spaced readings are taken on a 20 µs acquire grid."""
    read, write = Segment(0.1, 200e-6, "read", True), Segment(1.5, 100e-6, "write")
    with expected_protocol(KeysightB2900, []) as smu:
        srdp = smu.plan(Train((Segment(0.0, 316.12776601683797e-3, "idle"), Segment(1.5, 100e-6, "write")), 10))
        assert srdp.pulsed and srdp.period == pytest.approx(316.228e-3, abs=1e-12)
        pair = Train((read, write, read, Segment(0.0, 629.925e-6, "idle"), write, read, Segment(0.0, 2.0, "rest")), 8)
        plan = smu.plan(pair)
        assert plan.per_arm and plan.step == pytest.approx(20e-6)
        edges = np.cumsum([0] + [plan.points.count(k) for k in range(6)]) * plan.step
        programmed = np.cumsum([0, 200e-6, 100e-6, 200e-6, 629.925e-6, 100e-6, 200e-6])
        assert np.max(np.abs(edges - programmed)) <= 10e-6 + 1e-12
        assert plan.acquire_interval == pytest.approx(20e-6) and plan.kept == (0, 15, 61)
        assert plan.period == pytest.approx(2.00143, abs=1e-12)      # 2 001 429.925 µs to the µs; the rest between arm events


def test_a_repeat_is_cut_at_a_long_wait_the_list_cannot_hold(smu, station):
    """A pair 500 ms apart: 100 µs pulses and a 500 ms wait do not share a step the 2500-point list
    holds, so each repeat runs as two pieces; the instrument holds the wait (the tail run) and the
    readings keep their programmed times."""
    read, write = Segment(0.1, 200e-6, "read", True), Segment(1.5, 100e-6, "write")
    pair = Train((read, write, read, Segment(0.0, 0.5, "idle"), write, read, Segment(0.0, 1.0, "rest")), 2)
    plan = smu.plan(pair)
    assert [(a, b) for a, b, _ in plan.groups] == [(0, 4), (4, 7)]
    smu.configure(1e-3, 1.5)
    readings = smu.run_train(pair, compliance=1e-3)
    ends = np.array([200e-6, 500e-6, 500e-6 + 0.5 + 300e-6])
    expected = np.concatenate([ends, ends + pair.period]) - 200e-6
    assert readings.time == pytest.approx(expected, abs=1e-6)
    assert readings.voltage == pytest.approx(0.1)


@pytest.mark.parametrize("protocol, figure, rel", [
    ("srdp", "delta_g_fastest", 0.02),  # a wait of 316.127766 ms: refused in 1 µs steps
    ("retention", "tau", 0.05),         # 50 µs waits and uneven readings: refused
])
def test_protocols_once_refused_run_at_defaults_on_the_b2900(protocol, figure, rel, figures_on):
    figures = figures_on(protocol, figure, ("keithley2450", "keysightb2900"))
    assert figures["keysightb2900"] == pytest.approx(figures["keithley2450"], rel=rel)


def test_ppf_on_the_b2900_recovers_both_time_constants_within_10_percent():
    """The multi-timescale device (τ₁ = 20 ms, τ₂ = 300 ms), 16 intervals × 8 pairs, as on the 2450
    (tests/test_protocol_ppf.py): pairs up to 50 ms apart on one list, longer ones cut at the wait."""
    from labsuite.protocols.ppf import PairedPulse

    with Bench.simulated(model="multi-timescale", seed=1, smu="keysightb2900") as bench:
        figures = run_protocol(PairedPulse(intervals=16, interval_min=500e-6, repeats=8), bench,
                               out_dir=None).figures
    assert figures["ppf_terms"] == 2
    assert figures["tau1"] == pytest.approx(20e-3, rel=0.10)
    assert figures["tau2"] == pytest.approx(300e-3, rel=0.10)
