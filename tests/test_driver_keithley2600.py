"""The 2600B driver sends the TSP of the Series 2600B Reference Manual (2600BS-901-01): "Triggering"
and "Using timers to perform pulse mode sweeps" (Rev. B section 3), the TSP command reference
(Rev. F section 9: smuX.source, smuX.measure, smuX.trigger, trigger.timer, errorqueue,
status.operation.sweeping), and plays trains hardware-timed on the simulated instrument."""
from dataclasses import replace

import numpy as np
import pytest
from pymeasure.test import expected_protocol

from labsuite import Bench, registry
from labsuite.drivers.keithley.keithley2600 import LOAD_MESSAGE, TRAIN_SCRIPT, Keithley2600, _aperture
from labsuite.core.errors import InstrumentError, InvalidParameter
from labsuite.core.program import PulseProgram, Segment, Train
from labsuite.core.events import RunState
from labsuite.runner import Runner
from labsuite.traffic import TrafficLog

SMU = "keithley2600"                # the station's SMU (tests/conftest.py)

EMPTY = "0.00000e+00\tQueue Is Empty\t0.00000e+00\t1.00000e+00"
WRITE = Segment(1.5, 100e-6, "write")
READ = Segment(0.1, 1e-3, "read", measure=True)
IDLE = Segment(0.0, 8.9e-3, "idle")
# 100 µs write: every point is measured, so the aperture is 100 − 60 − 1 = 39 µs
SETUP = ("labsuite_setup(2, {1.5, 0.1, 0}, {0.0001, 0.001, 0.0089}, {1e-06, 0.000901, 0.008801}, {0, 1, 0}, "
         "0.001, 1.5, 0.00234)")


def printed(*values: float) -> bytes:
    """What ``labsuite_print()`` prints for readings (time, V, I, ...): ``#0``, the count and the
    values as little-endian doubles, then the terminator (2600B section 9 ``format.data``)."""
    return b"#0" + np.array((len(values) // 3, *values), dtype="<f8").tobytes() + b"\n"


# after the setup: its error check, the start, one poll (done), the error check, output off and the readings
RUN_TWO_READINGS = [
    ("print(errorqueue.next())", EMPTY),
    ("labsuite_start()", None),
    ("print(status.operation.sweeping.condition)", "0.00000e+00"),
    ("print(errorqueue.next())", EMPTY),
    ("smua.source.output = smua.OUTPUT_OFF labsuite_print()", printed(0, 0.1, 2e-6, 0.01, 0.1, 2e-6)),
]


class FixedLine(Keithley2600):
    line_frequency = 60.0


class Loaded(FixedLine):
    """A session that has loaded labsuite_train already."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._script_loaded = True


def test_configure_sets_the_limit_with_the_output_off():
    with expected_protocol(Keithley2600, [
        ("smua.abort() smua.source.output = smua.OUTPUT_OFF smua.source.func = smua.OUTPUT_DCVOLTS "
         "smua.source.autorangev = smua.AUTORANGE_OFF smua.source.rangev = 1.5 smua.source.levelv = 0 "
         "smua.source.limiti = 0.001 smua.measure.autorangei = smua.AUTORANGE_ON", None),
        ("print(errorqueue.next())", EMPTY),
    ]) as smu:
        smu.configure(compliance=1e-3, max_level=1.5)


def test_train_is_a_setup_write_an_error_check_start_a_poll_and_one_read():
    """The script is loaded once; then a constant number of transfers however long the train."""
    with expected_protocol(Keithley2600, [
        ("print(localnode.linefreq)", "6.00000e+01"),
        (LOAD_MESSAGE, None),
        (SETUP, None),
        ("print(errorqueue.next())", EMPTY),     # every setting taken, before anything runs
        ("labsuite_start()", None),
        ("print(status.operation.sweeping.condition)", "0.00000e+00"),
        ("print(errorqueue.next())", EMPTY),
        ("smua.source.output = smua.OUTPUT_OFF labsuite_print()",
         printed(3.4e-3, 0.1, 2e-6, 1.34e-2, 0.1, 2.5e-6)),
    ], connection_attributes={"timeout": 10_000}) as smu:
        readings = smu.run_train(Train((WRITE, READ, IDLE), repeats=2), compliance=1e-3)
    assert list(readings.time) == pytest.approx([0, 0.01])
    assert list(readings.current) == [2e-6, 2.5e-6]
    assert list(readings.voltage) == [0.1, 0.1]


def test_a_stopped_sweep_is_aborted_and_the_readings_it_took_printed(monkeypatch):
    """A stop while smua sweeps: ``smua.abort()`` and ``labsuite_print()`` in one message, which
    prints the measured segments of the buffer so far (``smua.nvbuffer1.n`` of them at most)."""
    train = Train((READ, IDLE), repeats=5)
    with expected_protocol(Loaded, []) as smu:
        setup = smu.train_message(train, 1e-3)

    def ctrl_c(duration: float, poll: float = 0.05, busy: bool = False) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(Keithley2600, "wait_for_sweep", ctrl_c)
    with expected_protocol(Loaded, [
        (setup, None), *RUN_TWO_READINGS[:2],
        ("smua.abort() labsuite_print()", printed(0, 0.1, 2e-6, 0.01, 0.1, 2.5e-6)),
    ]) as smu:
        with pytest.raises(KeyboardInterrupt):
            smu.run_train(train, compliance=1e-3)
        readings = smu.stop_train()
    assert list(readings.time) == [0, 0.01] and list(readings.current) == [2e-6, 2.5e-6]


def test_segments_that_share_their_own_limit_run_under_it():
    """Every segment limited to 100 µA, the program to 1 mA: the sweep's one limit is the segments'
    (smua.source.limiti and smua.trigger.source.limiti), never the program's; checked against the
    model's range before anything is sent."""
    own = tuple(Segment(s.level, s.duration, s.label, s.measure, compliance=1e-4) for s in (WRITE, READ, IDLE))
    with expected_protocol(Loaded, [
        (SETUP.replace("0.001, 1.5, 0.00234)", "0.0001, 1.5, 0.00234)"), None),
        *RUN_TWO_READINGS,
    ], connection_attributes={"timeout": 10_000}) as smu:
        assert smu.run_train(Train(own, repeats=2), compliance=1e-3).current.size == 2
    too_high = tuple(Segment(s.level, s.duration, s.label, s.measure, compliance=2.0) for s in (WRITE, READ, IDLE))
    with expected_protocol(Loaded, [], model="2636B") as smu:
        with pytest.raises(ValueError):
            smu.run_train(Train(too_high, repeats=2), compliance=1e-3)


def test_a_train_ends_on_the_source_range_configure_chose():
    """labsuite_setup fixes the range to the train's largest level (0.1 V); with the output off the
    range configure() chose (1.5 V) comes back, before the readings are printed."""
    train = Train((READ, IDLE), repeats=2)
    with expected_protocol(Loaded, []) as smu:
        setup = smu.train_message(train, 1e-3)
    with expected_protocol(Loaded, [
        ("smua.abort() smua.source.output = smua.OUTPUT_OFF smua.source.func = smua.OUTPUT_DCVOLTS "
         "smua.source.autorangev = smua.AUTORANGE_OFF smua.source.rangev = 1.5 smua.source.levelv = 0 "
         "smua.source.limiti = 0.001 smua.measure.autorangei = smua.AUTORANGE_ON", None),
        ("print(errorqueue.next())", EMPTY),
        (setup, None),
        ("print(errorqueue.next())", EMPTY),
        ("labsuite_start()", None),
        ("print(status.operation.sweeping.condition)", "0.00000e+00"),
        ("print(errorqueue.next())", EMPTY),
        ("smua.source.output = smua.OUTPUT_OFF smua.source.rangev = 1.5 labsuite_print()",
         printed(0, 0.1, 2e-6, 0.01, 0.1, 2e-6)),
    ], connection_attributes={"timeout": 10_000}) as smu:
        smu.configure(compliance=1e-3, max_level=1.5)
        assert smu.run_train(train, compliance=1e-3).current.size == 2


def test_levels_that_change_per_repeat_go_as_column_lines_of_100():
    levels = np.column_stack([np.linspace(1.0, 1.5, 250), [0.1] * 250, [0.0] * 250])
    with expected_protocol(FixedLine, []) as smu:
        message = smu.train_message(Train((WRITE, READ, IDLE), 250, levels), compliance=1e-3)
    lines = message.split("\n")
    assert [line.split(",")[:2] for line in lines[:-1]] == [["labsuite_column(1", " 1"], ["labsuite_column(1", " 101"],
                                                            ["labsuite_column(1", " 201"]]
    assert lines[0].count(",") == 101 and lines[2].count(",") == 51
    assert lines[-1].startswith("labsuite_setup(250, {1, 0.1, 0}, ")


def test_an_error_while_setting_up_stops_before_start():
    with expected_protocol(Loaded, [
        (SETUP, None),
        ("print(errorqueue.next())", "1.10100e+03\tParameter too big\t2.00000e+01\t1.00000e+00"),
        ("print(errorqueue.next())", EMPTY),
    ]) as smu:
        with pytest.raises(InstrumentError, match="1101, Parameter too big"):
            smu.run_train(Train((WRITE, READ, IDLE), 2), compliance=1e-3)


def test_a_script_the_instrument_lost_is_loaded_again():
    missing = "-2.86000e+02\tTSP Runtime error at line 1: attempt to call global `labsuite_setup' (a nil value)"
    with expected_protocol(Loaded, [
        (SETUP, None),
        ("print(errorqueue.next())", missing + "\t2.00000e+01\t1.00000e+00"),
        ("print(errorqueue.next())", EMPTY),
        (LOAD_MESSAGE, None),
        (SETUP, None),
        *RUN_TWO_READINGS,
    ], connection_attributes={"timeout": 10_000}) as smu:
        assert smu.run_train(Train((WRITE, READ, IDLE), 2), compliance=1e-3).current.size == 2


def test_the_sweep_is_polled_until_smua_stops():
    with expected_protocol(Keithley2600, [
        ("print(status.operation.sweeping.condition)", "2.00000e+00"),
        ("print(status.operation.sweeping.condition)", "6.00000e+00"),
        ("print(status.operation.sweeping.condition)", "4.00000e+00"),   # smub may go on
    ], connection_attributes={"timeout": 10_000}) as smu:
        smu.wait_for_sweep(duration=1.0, poll=0.001)


def test_the_script_sets_the_limit_before_the_output_goes_on():
    setup = TRAIN_SCRIPT.index("function labsuite_setup")
    assert TRAIN_SCRIPT.index("smua.source.output = smua.OUTPUT_OFF", setup) < \
        TRAIN_SCRIPT.index("smua.source.limiti = limit", setup) < \
        TRAIN_SCRIPT.index("smua.source.output = smua.OUTPUT_ON") < TRAIN_SCRIPT.index("smua.trigger.initiate()")
    assert "#" not in TRAIN_SCRIPT.replace("-- ", "")   # Lua 5.0: table.getn, no length operator


def test_hardware_timing_limit_names_what_the_sweep_cannot_do():
    with expected_protocol(Keithley2600, []) as smu:
        assert smu.hardware_timing_limit(Train((WRITE, READ, IDLE), 100)) is None
        short = Train((Segment(1.5, 20e-6, "write"), READ))
        assert smu.hardware_timing_limit(short) == \
            "segment 1 (write) lasts 20 µs; the 2600B's shortest programmable pulse is 100 µs"
        mixed = Train((Segment(1.5, 1e-3, "set", compliance=1e-4), READ))
        assert smu.hardware_timing_limit(mixed, 1e-3) is None          # the script steps a limit per segment
        assert smu.hardware_timing_limit(Train((Segment(1.5, 1e-3, "set", compliance=1e-3), READ)), 1e-3) is None
        assert smu.hardware_timing_limit(Train((READ,) * 63)) is None  # no pattern cap below the buffer
        assert "at most 59999" in smu.hardware_timing_limit(Train((READ,) * 60_000))
        # two 1 ms segments: an 890 µs aperture leaves the measure timer 50 µs offsets
        two = Train((Segment(1.5, 1e-3, "write", True), READ))
        assert smu._offsets(two, _aperture(two, 50.0)) == pytest.approx([50e-6, 50e-6])
        # 100 µs segments need 50 µs offsets: the aperture would fall under 0.001 PLC
        assert "must average ≥ 50 µs" in smu.hardware_timing_limit(Train((WRITE, Segment(0.1, 100e-6, "r", True))))
        with pytest.raises(InvalidParameter, match="shortest programmable pulse"):
            smu.run_train(short, compliance=1e-3)   # refused before anything is sent


def test_shutdown_turns_both_channels_off_at_once(station, sim):
    with expected_protocol(Keithley2600, [
        ("smua.abort() smua.source.output = smua.OUTPUT_OFF "
         "if smub ~= nil then smub.abort() smub.source.output = smub.OUTPUT_OFF end", None),
    ]) as smu:
        smu.shutdown()
        assert smu.isShutdown
    sim.process("smua.source.output = smua.OUTPUT_ON smub.source.output = smub.OUTPUT_ON")
    library = station.visa_library()
    driver = Keithley2600(station.resources["smu"], visa_library=library)
    driver.shutdown()
    assert sim.process("print(smua.source.output, smub.source.output, errorqueue.count)") == \
        "0.00000e+00\t0.00000e+00\t0.00000e+00"
    driver.adapter.close()
    library.close_library()


def test_identify_and_driver_matching():
    idn = "Keithley Instruments, Model 2636B, 4381136, 4.0.4"
    with expected_protocol(Keithley2600, [("*IDN?", idn)]) as smu:
        assert smu.identify() == idn
    assert registry.match(idn).name == "keithley2600"
    assert registry.match("Keithley Instruments Inc., Model 2602B, 4120301, 3.2.2").name == "keithley2600"
    assert registry.match("KEITHLEY INSTRUMENTS,MODEL 2450,04096218,1.7.12b").name == "keithley2450"
    with expected_protocol(Keithley2600, [], model="2636B") as smu:
        assert smu.capabilities.max_voltage == 200.0 and smu.capabilities.min_current_limit == 100e-12


def test_driver_runs_a_train_on_the_simulated_instrument(smu, station, sim, drive_log):
    """Integration: each level holds exactly its duration, readings every period, rising G, output off."""
    train = Train((WRITE, READ, IDLE), repeats=20)
    smu.configure(1e-3, 1.5)
    changes = drive_log()
    t0 = station.clock.now()
    readings = smu.run_train(train, compliance=1e-3)
    aperture = smu.aperture_for(train)
    # the sweep ends after its closing 0 V point is measured: first offset + aperture after the train
    assert station.clock.now() - t0 == pytest.approx(train.duration + (100e-6 - aperture - 60e-6) + aperture)
    assert readings.time == pytest.approx(np.arange(20) * 10e-3)
    assert np.all(np.diff(readings.current / readings.voltage) > 0)
    assert readings.voltage == pytest.approx(0.1)
    held = [(round(t1 - t0, 9), v) for (t0, v), (t1, _) in zip(changes, changes[1:])]
    assert held[:3] == [(100e-6, 1.5), (1e-3, 0.1), (8.9e-3, 0.0)]
    assert set(held[:60]) == {(100e-6, 1.5), (1e-3, 0.1), (8.9e-3, 0.0)}
    assert sim.process("print(smua.source.output)") == "0.00000e+00"


def test_the_device_sees_the_segments_own_limit_on_the_sweep(smu, station, device_holds):
    """Safety: segments all limited to 100 µA in a 1 mA program; while the device is driven, the
    limit in force is 100 µA."""
    held = device_holds(station.node)
    own = (Segment(1.5, 1e-3, "write", compliance=1e-4), Segment(0.1, 2e-3, "read", True, compliance=1e-4),
           Segment(0.0, 7e-3, compliance=1e-4))
    runner = Runner(Bench(smu, clock=station.clock), PulseProgram((Train(own, 3),), 1e-3), timing="hardware")
    assert runner.run().size == 3
    assert {limit for v, limit, d in held if v != 0 and d > 0} == {1e-4}


def test_a_software_timed_level_after_a_hardware_train_applies(smu, station, device_holds):
    """timing="auto": a 1 V train on the sweep (its range 1 V), then a train with its own limit
    stepped from the computer: its 1.2 V write reaches the device for its 10 ms, no error (1101)
    is left behind."""
    held = device_holds(station.node)
    swept = Train((Segment(1.0, 1e-3, "write"), Segment(0.1, 1e-3, "read", True), Segment(0.0, 2e-3)), 3)
    limited = Train((Segment(1.2, 5e-3, "write", compliance=1e-4), Segment(0.1, 5e-3, "read", True),
                     Segment(0.0, 10e-3)), 2)
    runner = Runner(Bench(smu, clock=station.clock), PulseProgram((swept, limited), 1e-3), timing="auto")
    runner.run()
    assert runner.state is RunState.COMPLETED
    assert sum(d for v, _, d in held if v == 1.2) == pytest.approx(10e-3)
    assert smu.check_errors() == []


def test_after_a_power_loss_the_driver_loads_its_script_again(smu, sim):
    train = Train((WRITE, READ, IDLE), repeats=3)
    smu.configure(1e-3, 1.5)
    assert smu.run_train(train, compliance=1e-3).current.size == 3
    sim.power_loss()                            # the run-time environment, and labsuite_train with it, is gone
    assert sim.process("print(labsuite_setup)") == "nil"
    assert smu.run_train(train, compliance=1e-3).current.size == 3
    assert sim.process("print(errorqueue.count, smua.source.output)") == "0.00000e+00\t0.00000e+00"


def test_bench_over_tcp_runs_the_same_train_as_in_process():
    pattern = (WRITE, READ, IDLE)
    samples = {}
    for transport in ("tcp", "inprocess"):
        with Bench.simulated(seed=3, smu="keithley2600", transport=transport) as bench:
            samples[transport] = Runner(bench, PulseProgram((Train(pattern, 10),), 1e-3)).run()
    assert samples["tcp"]["current"] == pytest.approx(samples["inprocess"]["current"], rel=1e-9)


def test_round_trips_grow_with_the_number_of_chunks_not_pulses():
    """Transfers per train are a constant: N pulses cost N / list length + a constant round trips."""
    pattern = (Segment(1.0, 100e-6, "write"), Segment(0.1, 200e-6, "read", True), Segment(0.0, 700e-6))
    counts = {}
    for pulses in (50, 500):
        with Bench.simulated(seed=2, smu="keithley2600") as bench:
            bench.smu.capabilities = replace(bench.smu.capabilities, max_repeats=50)
            traffic = TrafficLog.attach(bench.smu)
            samples = Runner(bench, PulseProgram((Train(pattern, pulses),), 1e-3), chunk_duration=None).run()
            assert samples.size == pulses
            counts[pulses] = traffic.reads, traffic.writes
    chunks = {50: 1, 500: 10}
    # queries per chunk: error check, sweep poll, error check, readings; once: configure's error check and
    # the line frequency. Writes: those, and per chunk the setup and the start; once configure, the script
    # and shutdown
    for pulses, (reads, writes) in counts.items():
        assert reads == 4 * chunks[pulses] + 2
        assert writes == 6 * chunks[pulses] + 5


def test_on_real_hardware_identify_configure_read_and_turn_off(hardware_reading):
    """Opt-in (``--device-address``): 0.1 V under 1 mA, one reading, output off."""
    with hardware_reading(Keithley2600) as (smu, voltage, current):
        assert voltage == pytest.approx(0.1, abs=5e-3)
        assert abs(current) <= 1e-3 * 1.01
    assert smu.isShutdown


@pytest.mark.parametrize("protocol, figure, rel", [
    ("stdp", "potentiation_max", 0.15),     # 25 segments (was refused: at most 20)
    ("retention", "tau", 0.02),             # 63 segments; reads 100 µs apart at first
    ("endurance", "g_on_median", 0.03),     # SET and RESET under their own limits
])
def test_long_patterns_and_a_limit_per_segment_run_at_defaults(protocol, figure, rel, figures_on):
    """The same device on the 2450 and the 2600B gives the same figure; the 2600B reads over the
    last 39 µs of each read (every point is measured with one aperture), the 2450 over all of it."""
    figures = figures_on(protocol, figure, ("keithley2450", "keithley2600"))
    assert figures["keithley2600"] == pytest.approx(figures["keithley2450"], rel=rel)


def test_a_limit_per_segment_is_stepped_by_the_script_with_exact_timing(smu, station, device_holds):
    """Endurance's cycle: SET 100 µs under 2 mA, read, RESET 100 µs under 10 mA, read. The device sees
    each level for its duration under its own limit; one write, one start, one read however many cycles."""
    held = device_holds(station.node)
    read = Segment(0.1, 1e-3, "read", measure=True)
    cycle = (Segment(1.6, 100e-6, "set", compliance=2e-3), read, Segment(-1.4, 100e-6, "reset", compliance=10e-3),
             read)
    smu.configure(2e-3, 1.6)
    traffic = TrafficLog.attach(smu)
    readings = smu.run_train(Train(cycle, 5), compliance=2e-3)
    assert np.diff(readings.time) == pytest.approx(np.full(9, 1.1e-3), abs=1e-9)
    driven = {(v, limit): 0.0 for v, limit, _ in held}
    for v, limit, d in held:
        driven[v, limit] += d
    assert driven[1.6, 2e-3] == pytest.approx(5 * 100e-6) and driven[-1.4, 10e-3] == pytest.approx(5 * 100e-6)
    assert driven[0.1, 2e-3] == pytest.approx(10 * 1e-3)
    assert {limit for v, limit, d in held if v == 1.6} == {2e-3}
    # line frequency, script, setup, error check, start, poll, error check, readings
    assert (traffic.writes, traffic.reads) == (8, 5)
    assert station.instruments["smu"].process("print(smua.source.output)") == "0.00000e+00"


def test_a_train_longer_than_the_buffer_plays_as_several_sweeps_on_one_clock(smu, monkeypatch):
    """A reading per segment: with room for 31 points, 10 repeats of 7 segments go as 3 sweeps; the
    readings come back on one clock, one period apart within each sweep."""
    from labsuite.drivers.keithley import keithley2600 as driver

    monkeypatch.setattr(driver, "BUFFER_CAPACITY", 31)
    pattern = (WRITE, READ) + (Segment(0.0, 200e-6, "idle"),) * 4 + (READ,)
    smu.configure(1e-3, 1.5)
    traffic = TrafficLog.attach(smu)
    readings = smu.run_train(Train(pattern, 10), compliance=1e-3)
    assert readings.time.size == 20 and np.all(np.diff(readings.time) > 0)
    steps = np.diff(readings.time)
    assert steps[[0, 2, 4, 6, 8, 10, 12, 14, 16, 18]] == pytest.approx(np.full(10, 1e-3 + 800e-6), abs=1e-9)
    assert sum(1 for _, kind, text in traffic.entries if kind == "write" and text == "labsuite_start()") == 3


def test_binary_train_readings_decode_to_the_ascii_readings(station):
    """labsuite_print()'s REAL64 block carries the readings an ASCII printbuffer of the same
    buffers prints (section 9 format.data), and leaves format.data ASCII."""
    library = station.visa_library()
    smu = Keithley2600(station.resources["smu"], visa_library=library)
    try:
        smu.configure(compliance=1e-3, max_level=1.5)
        readings = smu.run_train(Train((WRITE, READ, IDLE), repeats=3), compliance=1e-3)
        assert smu.ask("print(format.data)").strip() == "1.00000e+00"
        smu.write("format.asciiprecision = 16")
        printed_ascii = smu.ask("printbuffer(1, smua.nvbuffer1.n, smua.nvbuffer1.readings)")
        current = np.array([float(x) for x in printed_ascii.split(",")])[1::3]   # the READ segment of each repeat
        assert readings.current == pytest.approx(current, rel=1e-12)
    finally:
        smu.adapter.close()
        library.close_library()


@pytest.mark.parametrize("count", [float("inf"), float("nan"), -1.0])
def test_a_block_whose_count_is_no_count_of_readings_is_the_instruments_error(count):
    """A faulty instrument's ``#0`` block whose count is no whole number of readings is named as the
    instrument's error, not left to fail as a conversion (the exit status of a bug)."""
    train = Train((READ, IDLE), repeats=2)
    with expected_protocol(Loaded, []) as smu:
        setup = smu.train_message(train, 1e-3)
    with expected_protocol(Loaded, [
        (setup, None), *RUN_TWO_READINGS[:-1],
        (RUN_TWO_READINGS[-1][0], b"#0" + np.array([count], dtype="<f8").tobytes()),   # what follows is unknown
    ], connection_attributes={"timeout": 10_000}) as smu:
        with pytest.raises(InstrumentError, match="expected 2 readings of the train, got"):
            smu.run_train(train, compliance=1e-3)
