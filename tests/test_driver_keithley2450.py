"""The 2450 driver sends exactly the commands of the Reference Manual (2450-901-01, sections 3 and 6)."""
import base64

import numpy as np
import pytest
from pymeasure.test import expected_protocol

from labsuite import Bench
from labsuite.core.errors import InstrumentError
from labsuite.core.events import RunState
from labsuite.core.program import PulseProgram, Segment, Train
from labsuite.drivers.keithley.keithley2450 import Keithley2450, source_range
from labsuite.link import LinkError
from labsuite.runner import Runner
from labsuite.simulator.faults import Fault
from labsuite.traffic import TrafficLog

NO_ERROR = '0,"No error;0;0 0"'
WRITE = Segment(1.5, 100e-6, "write")
READ = Segment(0.1, 1e-3, "read", measure=True)
IDLE = Segment(0.0, 8.9e-3, "idle")


def block(*values: float) -> bytes:
    """A reply under ``:FORM REAL;:FORM:BORD SWAP``: ``#0``, little-endian float64, a newline
    (2461-901-01 §6 :FORMat[:DATA] p. 6-46, :FORMat:BORDer p. 6-45)."""
    return b"#0" + np.array(values, dtype="<f8").tobytes() + b"\n"


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
        (':FORM REAL;:FORM:BORD SWAP;:TRAC:DATA? 1,2,"defbuffer1",REL,SOUR,READ',
         block(0, 0.1, 2e-6, 0.01, 0.1, 2.5e-6)),
    ], connection_attributes={"timeout": 10_000}) as smu:
        readings = smu.run_train(train, compliance=1e-3)
    assert list(readings.time) == [0, 0.01]
    assert list(readings.current) == [2e-6, 2.5e-6]


def test_a_stopped_train_is_aborted_and_the_readings_it_took_fetched(monkeypatch):
    """A stop while the trigger model runs: ``:ABOR``, the buffer's count (§6 ``:TRACe:ACTual?``)
    and those readings as one ``#0`` block, as ``run_train`` fetches them."""
    train = Train((WRITE, READ, IDLE), repeats=5)
    with expected_protocol(Keithley2450, [(":SYST:LFR?", "60")]) as probe:
        message = probe.train_message(train, 1e-3)

    def ctrl_c(duration: float, poll: float = 0.05) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(Keithley2450, "wait_for_trigger_model", ctrl_c)
    with expected_protocol(Keithley2450, [
        (":SYST:LFR?", "60"),
        (message, None),
        ("SYST:ERR?", NO_ERROR),
        (":INIT", None),
        (":ABOR", None),
        (':TRAC:ACT? "defbuffer1"', "2"),
        (':FORM REAL;:FORM:BORD SWAP;:TRAC:DATA? 1,2,"defbuffer1",REL,SOUR,READ',
         block(0, 0.1, 2e-6, 0.01, 0.1, 2.5e-6)),
    ]) as smu:
        with pytest.raises(KeyboardInterrupt):
            smu.run_train(train, compliance=1e-3)
        readings = smu.stop_train()
    assert list(readings.time) == [0, 0.01] and list(readings.current) == [2e-6, 2.5e-6]


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


def test_binary_readings_decode_to_the_ascii_readings(smu, sim2450):
    """The driver's ``#0`` block of doubles carries the readings the ASCII format prints (7 digits,
    relative time to the ns: 2450 §6 :TRACe:DATA?), a block is one read in the traffic log, and the
    instrument answers spot readings in ASCII afterwards."""
    smu.configure(compliance=1e-3, max_level=1.5)
    traffic = TrafficLog.attach(smu)
    readings = smu.run_train(Train((WRITE, READ, IDLE), repeats=5), compliance=1e-3)
    fetch = traffic.entries[-1]
    traffic.detach()
    assert fetch[1] == "read" and len(base64.b64decode(fetch[2].removeprefix("base64:"))) == 2 + 5 * 3 * 8 + 1
    sim2450.data_format = "ASC"
    time, voltage, current = np.array(smu.values(':TRAC:DATA? 1,5,"defbuffer1",REL,SOUR,READ'),
                                      dtype=float).reshape(5, 3).T
    assert readings.current == pytest.approx(current, rel=1e-6) and readings.voltage == pytest.approx(voltage, rel=1e-6)
    assert readings.time == pytest.approx(time, abs=1e-9)
    assert np.any(readings.current != current)           # the block holds more digits than the text
    voltage, current = smu.measure(1e-3)
    assert voltage == pytest.approx(0.0) and sim2450.data_format == "ASC"


def test_a_short_block_is_the_instruments_error():
    """A block that ends before ``n`` readings (or runs on past them) is named, never decoded."""
    class FixedLine(Keithley2450):
        line_frequency = 60.0
    with expected_protocol(FixedLine, [
        (':FORM REAL;:FORM:BORD SWAP;:TRAC:DATA? 1,2,"defbuffer1",REL,SOUR,READ',
         block(0, 0.1, 2e-6, 0.01, 0.1)[:-1] + b"\x00" * 8 + b"\x00"),
    ]) as smu, pytest.raises(InstrumentError, match="does not end where 2 readings end"):
        smu.buffer_readings(2)


@pytest.mark.parametrize("fault", [Fault.GARBLE, Fault.DROP, Fault.LATE])
def test_a_fault_on_the_block_ends_the_run_in_one_line_outputs_off_earlier_chunks_kept(fault):
    """The fault strikes the second train's ``:TRAC:DATA?``: a garbled block (its ``#0`` gone) is the
    instrument's error, a dropped link or a block that never comes in time is the link's, in one
    line; the outputs are off and the first train's readings are kept."""
    program = PulseProgram((Train((WRITE, READ, IDLE), 40), Train((WRITE, READ, IDLE), 40)), 1e-3)
    with Bench.simulated(seed=1, transport="tcp") as bench:
        injector = bench.station.faults["smu"]
        process = injector.process
        fetches = []

        def armed(message):
            if ":TRAC:DATA?" in message:
                fetches.append(message)
                if len(fetches) == 2:
                    injector.arm(fault, 30.0 if fault is Fault.LATE else None)
            return process(message)

        injector.process = armed
        bench.smu.adapter.connection.timeout = 2000
        runner = Runner(bench, program)
        with pytest.raises((InstrumentError, LinkError)) as raised:
            runner.run()
        injector.process = process
        assert "\n" not in str(raised.value)
        assert isinstance(raised.value, InstrumentError if fault is Fault.GARBLE else LinkError)
        assert runner.state is RunState.FAILED and runner.samples.size == 40
        assert bench.station.instruments["smu"].process(":OUTP?") == "0"
