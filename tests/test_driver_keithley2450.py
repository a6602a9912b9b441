"""The 2450 driver sends exactly the commands of the Reference Manual (2450-901-01, sections 3 and 6)."""
import numpy as np
import pytest
from pymeasure.test import expected_protocol

from labsuite.core.program import Segment, Train
from labsuite.drivers.keithley.keithley2450 import Keithley2450, source_range

NO_ERROR = '0,"No error;0;0 0"'
WRITE = Segment(1.5, 100e-6, "write")
READ = Segment(0.1, 1e-3, "read", measure=True)
IDLE = Segment(0.0, 8.9e-3, "idle")


def test_configure_sets_the_limit_before_anything_turns_on():
    with expected_protocol(Keithley2450, [
        (':OUTP OFF;:SOUR:FUNC VOLT;:SOUR:VOLT:RANG 2;:SOUR:VOLT:ILIM 0.001;:SOUR:VOLT 0;:SENS:FUNC "CURR"', None),
        ("SYST:ERR?", NO_ERROR),
    ]) as smu:
        smu.configure(compliance=1e-3, max_level=1.5)


def test_train_is_one_message_an_error_check_init_a_state_poll_and_one_buffer_read():
    train = Train((WRITE, READ, IDLE), repeats=2)
    message = (':OUTP OFF;:TRIG:LOAD "Empty";'
               ':SOUR:CONF:LIST:DEL "labsuite1";:SOUR:CONF:LIST:DEL "labsuite2";:SOUR:CONF:LIST:DEL "labsuite3";*CLS;'
               ':SOUR:FUNC VOLT;:SOUR:VOLT:RANG 2;:SOUR:VOLT:ILIM 0.001;'
               ':SOUR:VOLT:DEL 0;:SENS:FUNC "CURR";:SENS:CURR:AZER OFF;:SENS:AZER:ONCE;:SENS:CURR:NPLC 0.06;'
               ':SOUR:CONF:LIST:CRE "labsuite1";:SOUR:VOLT 1.5;:SOUR:CONF:LIST:STOR "labsuite1";'
               ':SOUR:CONF:LIST:CRE "labsuite2";:SOUR:VOLT 0.1;:SOUR:CONF:LIST:STOR "labsuite2";'
               ':SOUR:CONF:LIST:CRE "labsuite3";:SOUR:VOLT 0;:SOUR:CONF:LIST:STOR "labsuite3";'
               ':SOUR:VOLT 0;:TRIG:BLOC:BUFF:CLE 1,"defbuffer1";'
               ':TRIG:BLOC:CONF:NEXT 2,"labsuite1";:TRIG:BLOC:SOUR:STAT 3,ON;:TRIG:BLOC:DEL:CONS 4,0.0001;'
               ':TRIG:BLOC:CONF:NEXT 5,"labsuite2";:TRIG:BLOC:SOUR:STAT 6,ON;:TRIG:BLOC:MEAS 7,"defbuffer1";'
               ':TRIG:BLOC:CONF:NEXT 8,"labsuite3";:TRIG:BLOC:SOUR:STAT 9,ON;:TRIG:BLOC:DEL:CONS 10,0.0089;'
               ':TRIG:BLOC:BRAN:COUN 11,2,2;:TRIG:BLOC:SOUR:STAT 12,OFF')
    with expected_protocol(Keithley2450, [
        (":SYST:LFR?", "60"),
        (message, None),
        ("SYST:ERR?", NO_ERROR),                 # every point stored as sent, before anything runs
        (":INIT", None),
        (":TRIG:STAT?", "IDLE;IDLE;12"),
        ("SYST:ERR?", NO_ERROR),
        (':TRAC:DATA? 1,2,"defbuffer1",REL,SOUR,READ', "0,0.1,2e-6,0.01,0.1,2.5e-6"),
    ], connection_attributes={"timeout": 10_000}) as smu:
        readings = smu.run_train(train, compliance=1e-3)
    assert list(readings.time) == [0, 0.01]
    assert list(readings.current) == [2e-6, 2.5e-6]


def test_an_error_while_loading_stops_before_init():
    """A refused point (here: a level beyond the range) must not be followed by :INIT."""
    from labsuite.core.errors import InstrumentError

    class FixedLine(Keithley2450):
        line_frequency = 60.0
    train = Train((WRITE, READ), 1)
    with expected_protocol(FixedLine, []) as smu:
        message = smu.train_message(train, 1e-3)
    with expected_protocol(FixedLine, [
        (message, None),
        ("SYST:ERR?", '-222,"Parameter data out of range;1;2026/01/01 00:00:00.000"'),
        ("SYST:ERR?", NO_ERROR),
    ], connection_attributes={"timeout": 10_000}) as smu:
        with pytest.raises(InstrumentError, match="-222"):
            smu.run_train(train, compliance=1e-3)


def test_trigger_model_is_polled_until_idle():
    with expected_protocol(Keithley2450, [
        (":TRIG:STAT?", "RUNNING;RUNNING;5"),
        (":TRIG:STAT?", "RUNNING;RUNNING;9"),
        (":TRIG:STAT?", "IDLE;IDLE;12"),
    ], connection_attributes={"timeout": 10_000}) as smu:
        smu.wait_for_trigger_model(duration=1.0, poll=0.001)


def test_compliance_precedes_every_output_on():
    """In the train message the current limit is set before the first SOURce:STATe ON block."""
    class FixedLine(Keithley2450):
        line_frequency = 60.0
    with expected_protocol(FixedLine, []) as smu:
        message = smu.train_message(Train((WRITE, READ, IDLE), 5), compliance=2e-4)
    assert message.index(":SOUR:VOLT:ILIM 0.0002") < message.index("SOUR:STAT 3,ON")
    assert message.startswith(":OUTP OFF")


def test_changing_levels_become_one_config_point_per_repeat():
    class FixedLine(Keithley2450):
        line_frequency = 50.0
    levels = np.column_stack([[1.0, 1.1, 1.2], [0.1] * 3, [0.0] * 3])
    with expected_protocol(FixedLine, []) as smu:
        message = smu.train_message(Train((WRITE, READ, IDLE), 3, levels), compliance=1e-3)
    assert message.count('STOR "labsuite1"') == 3 and message.count('STOR "labsuite2"') == 1
    assert ":SENS:CURR:NPLC 0.05" in message                          # 1 ms at 50 Hz


def test_a_list_left_by_another_session_is_replaced_not_extended(station, sim2450):
    """A second driver (a new session) reuses the list names: the old 3 V points must be gone."""
    from labsuite.drivers.keithley.keithley2450 import Keithley2450 as Driver

    def session():
        return Driver(station.resources["smu"], visa_library=station.visa_library())
    first = session()
    first.configure(1e-3, 3.0)
    first.run_train(Train((Segment(3.0, 100e-6, "write"), READ)), 1e-3)
    applied = []
    original = sim2450.port.hold_train

    def record(voltages, *args, **kwargs):
        applied.extend(v for v in voltages if v is not None)
        return original(voltages, *args, **kwargs)
    sim2450.port.hold_train = record
    second = session()
    second.configure(1e-3, 0.5)
    second.run_train(Train((Segment(0.5, 100e-6, "write"), READ), 3), 1e-3)
    assert max(applied) == 0.5
    assert len(sim2450.config_lists["labsuite1"]) == 1


def test_shutdown_aborts_and_turns_output_off_without_ramping():
    with expected_protocol(Keithley2450, [(":ABOR;:OUTP OFF", None)]) as smu:
        smu.shutdown()
        assert smu.isShutdown


def test_single_reading_sets_aperture_and_reads_source_and_current():
    class FixedLine(Keithley2450):
        line_frequency = 60.0
    with expected_protocol(FixedLine, [(':SENS:CURR:NPLC 0.06;:READ? "defbuffer1",SOUR,READ', "0.1,2e-6")]) as smu:
        assert smu.measure(1e-3) == (0.1, 2e-6)


def test_identify_and_source_range():
    with expected_protocol(Keithley2450, [("*IDN?", "KEITHLEY INSTRUMENTS,MODEL 2450,1,1")]) as smu:
        assert smu.identify() == "KEITHLEY INSTRUMENTS,MODEL 2450,1,1"
    assert [source_range(v) for v in (0.01, 0.1, 1.5, -15, 100)] == [0.02, 0.2, 2, 20, 200]
    with pytest.raises(ValueError):
        source_range(300)


def test_driver_runs_a_train_on_the_simulated_instrument(smu, station):
    """Integration: the same driver against the simulated 2450 gives rising G and exact timing."""
    train = Train((WRITE, READ, IDLE), repeats=20)
    smu.configure(1e-3, 1.5)
    t0 = station.clock.now()
    readings = smu.run_train(train, compliance=1e-3)
    assert station.clock.now() - t0 == pytest.approx(train.duration)
    assert readings.time == pytest.approx(np.arange(20) * 10e-3)
    g = readings.current / readings.voltage
    assert np.all(np.diff(g) > 0)
    assert station.instruments["smu"].source.output is False


def test_raise_errors_raises_the_first_error_and_reads_the_queue_to_its_end():
    from labsuite.core.errors import InstrumentError

    with expected_protocol(Keithley2450, [
        ("SYST:ERR?", NO_ERROR),
        ("SYST:ERR?", '-222,"Parameter data out of range;1;1 2"'),
        ("SYST:ERR?", NO_ERROR),
    ]) as smu:
        smu.raise_errors()
        with pytest.raises(InstrumentError, match="-222, Parameter data out of range"):
            smu.raise_errors()
