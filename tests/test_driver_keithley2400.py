"""The 2400 driver sends exactly the commands of the Series 2400 SourceMeter User's Manual
(2400S-900-01 Rev. K: section 10 "Custom sweep", section 11 "Triggering", section 15 "Status
structure", section 18 "SCPI command reference", Appendix A "SDM cycle timing"), and plays trains
on the simulated 2400 in-process and over TCP."""
import math

import numpy as np
import pytest
from pymeasure.test import expected_protocol

from labsuite import Bench, Limits, registry, run_protocol
from labsuite.drivers.keithley.keithley2400 import CYCLE_OVERHEAD, Keithley2400, ListPlan, source_range
from labsuite.core.errors import InstrumentError, LimitError
from labsuite.link import LinkError
from labsuite.core.program import PulseProgram, Segment, Train
from labsuite.core.events import RunState
from labsuite.runner import Runner
from labsuite.simulator.instruments import keithley2400 as simulated
from labsuite.traffic import TrafficLog

FORMAT = ":FORMAT:ELEMENTS VOLTAGE, CURRENT, RESISTANCE, TIME, STATUS"   # pymeasure's; sent by configure()
NO_ERROR = '+0,"No error"'
WRITE = Segment(1.2, 1e-3, "write")
READ = Segment(0.1, 1e-3, "read", measure=True)
IDLE = Segment(0.0, 3e-3, "idle")


class At60Hz(Keithley2400):
    """A 2400 whose line frequency, 60 Hz, has been read already."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._mains_frequency = 60.0


def fetch_reply(rows) -> str:
    """A :FETC? reply of (V, I, t) rows, with the RES and STAT elements the 2400 adds."""
    return ",".join(f"{v:+.6E},{i:+.6E},+9.910000E+37,{t:+.6E},+2.048400E+04" for v, i, t in rows)


CONFIGURE = (':OUTP OFF;:SOUR:FUNC VOLT;:SOUR:VOLT:MODE FIX;:SOUR:VOLT 0;:SOUR:VOLT:RANG 2;:SENS:CURR:RANG:AUTO ON;'
             ':SENS:CURR:PROT 0.001;:SENS:FUNC:CONC ON;:SENS:FUNC:OFF:ALL;:SENS:FUNC "CURR";:SOUR:DEL:AUTO OFF;'
             ':SOUR:DEL 0;:SOUR:CLE:AUTO OFF;:ARM:SOUR IMM;:ARM:COUN 1;:TRIG:SOUR IMM;:TRIG:COUN 1;:TRIG:DEL 0;'
             ':SYST:AZER ONCE;:SYST:AZER OFF')


def test_configure_sets_the_limit_before_anything_turns_on():
    """Section 18: output off first, V source at 0 V, range, compliance, current only, no source
    delay, auto output-off disabled, single immediate triggers, one autozero and then none (each
    software-timed :READ? keeps to its integration)."""
    with expected_protocol(Keithley2400, [(FORMAT, None), (CONFIGURE, None), ("SYST:ERR?", NO_ERROR)]) as smu:
        smu.configure(compliance=1e-3, max_level=1.5)


def test_train_is_one_message_an_error_check_init_a_status_poll_and_one_fetch():
    """Sections 10, 11, 15, 18: the list (1 ms steps: write 1, read 1, idle 3 points per repeat),
    compliance before the list and before :OUTP ON, buffer full seen in *STB? (65), one :FETC?;
    the kept readings are those of the read points (rows 1 and 6)."""
    train = Train((WRITE, READ, IDLE), repeats=2)
    message = ('*CLS;:SOUR:FUNC VOLT;:SOUR:VOLT:MODE FIX;:SOUR:VOLT 0;:SOUR:VOLT:RANG 2;:SENS:CURR:RANG:AUTO ON;'
               ':SENS:CURR:PROT 0.001;:SENS:FUNC:CONC ON;:SENS:FUNC:OFF:ALL;:SENS:FUNC "CURR";'
               ':SENS:CURR:NPLC 0.0279;:SYST:AZER ONCE;:SYST:AZER OFF;:SOUR:DEL:AUTO OFF;:SOUR:DEL 0;'
               ':SOUR:CLE:AUTO OFF;:ARM:SOUR IMM;:ARM:COUN 1;:TRIG:SOUR IMM;:TRIG:DEL 0;:TRIG:COUN 10;'
               ':FORM:ELEM VOLT,CURR,RES,TIME,STAT;:TRAC:FEED:CONT NEV;:TRAC:CLE;:TRAC:POIN 10;:TRAC:FEED SENS;'
               ':TRAC:FEED:CONT NEXT;:STAT:MEAS:ENAB 512;*SRE 1;:SYST:TIME:RES;'
               ':SOUR:LIST:VOLT 1.2,0.1,0,0,0,1.2,0.1,0,0,0;:SOUR:VOLT:MODE LIST')
    rows = [(v, 1e-6 * k, 0.5 + 1e-3 * k) for k, v in enumerate([1.2, 0.1, 0, 0, 0] * 2)]
    with expected_protocol(Keithley2400, [
        (":SYSTEM:LFREQUENCY?", "60"),
        (message, None),
        ("SYST:ERR?", NO_ERROR),                 # the whole list was taken, before anything runs
        (":OUTP ON;:INIT", None),
        ("*STB?", "65"),
        (":FETC?", fetch_reply(rows)),
        ("SYST:ERR?", NO_ERROR),
        (":OUTP OFF;:SOUR:VOLT:MODE FIX;:TRIG:COUN 1", None),     # autozero stays off
    ], connection_attributes={"timeout": 10_000}) as smu:
        readings = smu.run_train(train, compliance=1e-3)
    assert readings.time == pytest.approx([0.0, 5e-3])
    assert list(readings.voltage) == [0.1, 0.1]
    assert list(readings.current) == [1e-6, 6e-6]


def test_a_stopped_sweep_is_aborted_and_the_kept_points_it_took_fetched(monkeypatch):
    """A stop while the list sweep runs: ``:ABOR``, the trace buffer's count (section 18
    ``:TRACe:POINts:ACTual?``), then ``:FETCh?``: of its 7 points, the read of the first repeat."""
    train = Train((WRITE, READ, IDLE), repeats=2)
    with expected_protocol(At60Hz, []) as smu:
        message = smu.sweep_message(train, smu.list_plan(train), 1e-3, reset_time=True)

    def ctrl_c(duration: float, poll: float = 0.05) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(Keithley2400, "wait_for_sweep", ctrl_c)
    rows = [(v, 1e-6 * k, 0.5 + 1e-3 * k) for k, v in enumerate([1.2, 0.1, 0, 0, 0, 1.2, 0.1])]
    with expected_protocol(At60Hz, [
        (message, None),
        ("SYST:ERR?", NO_ERROR),
        (":OUTP ON;:INIT", None),
        (":ABOR", None),
        (":TRAC:POIN:ACT?", "7"),
        (":FETC?", fetch_reply(rows)),
    ], connection_attributes={"timeout": 10_000}) as smu:
        with pytest.raises(KeyboardInterrupt):
            smu.run_train(train, compliance=1e-3)
        readings = smu.stop_train()
    assert readings.time == pytest.approx([0.0, 5e-3]) and list(readings.current) == [1e-6, 6e-6]


def test_a_sweep_that_ends_between_two_polls_is_complete_not_aborted():
    """``*STB?`` while the sweep runs, then the operation condition after it ended: Idle (1024)
    with the buffer full is a finished sweep."""
    with expected_protocol(At60Hz, [
        ("*STB?", "0"), (":STAT:OPER:COND?", "1024"), ("*STB?", "65"),
    ], connection_attributes={"timeout": 10_000}) as smu:
        smu.wait_for_sweep(duration=1.0, poll=0.001)


def test_a_train_ends_on_the_source_range_configure_chose():
    """The sweep of a 0.1 V train fixes the 200 mV range; with the output off the 2 V range that
    configure() chose for the program comes back, so a later software-timed 1.5 V applies."""
    train = Train((Segment(0.1, 1e-3, "read", True), Segment(0.0, 1e-3)), repeats=2)
    with expected_protocol(At60Hz, []) as smu:
        message = smu.sweep_message(train, smu.list_plan(train), 1e-3, reset_time=True)
    assert ":SOUR:VOLT:RANG 0.2;" in message
    rows = [(v, 1e-6, 1e-3 * k) for k, v in enumerate([0.1, 0] * 2)]
    with expected_protocol(At60Hz, [
        (FORMAT, None), (CONFIGURE, None),
        ("SYST:ERR?", NO_ERROR),
        (message, None),
        ("SYST:ERR?", NO_ERROR),
        (":OUTP ON;:INIT", None),
        ("*STB?", "65"),
        (":FETC?", fetch_reply(rows)),
        ("SYST:ERR?", NO_ERROR),
        (":OUTP OFF;:SOUR:VOLT:MODE FIX;:TRIG:COUN 1;:SOUR:VOLT:RANG 2", None),
    ], connection_attributes={"timeout": 10_000}) as smu:
        smu.configure(compliance=1e-3, max_level=1.5)
        assert smu.run_train(train, compliance=1e-3).current.size == 2


def test_long_lists_go_in_commands_of_100_values():
    """Section 18 :SOURce:LIST:VOLTage takes up to 100 values; :APPend adds up to 100 more each."""
    train = Train((WRITE, READ), repeats=120, levels=np.column_stack([np.linspace(1.0, 1.5, 120), [0.1] * 120]))
    with expected_protocol(At60Hz, []) as smu:
        message = smu.sweep_message(train, smu.list_plan(train), 1e-3)
    lists = [c for c in message.split(";") if c.startswith(":SOUR:LIST:VOLT")]
    assert [c.split(" ")[0] for c in lists] == [":SOUR:LIST:VOLT", ":SOUR:LIST:VOLT:APP", ":SOUR:LIST:VOLT:APP"]
    assert [len(c.split(" ")[1].split(",")) for c in lists] == [100, 100, 40]
    values = [float(v) for c in lists for v in c.split(" ")[1].split(",")]
    assert values[:4] == pytest.approx([1.0, 0.1, 1.0 + 0.5 / 119, 0.1], abs=1e-5)   # 6 significant digits
    assert message.index(":SENS:CURR:PROT 0.001") < message.index(":SOUR:LIST:VOLT ")
    assert message.endswith(":SOUR:VOLT:MODE LIST")


def test_an_error_during_the_sweep_is_raised_not_waited_out():
    """*STB? bit 2 (error available, section 15) while the buffer is not full: read the queue."""
    with expected_protocol(At60Hz, [
        ("*STB?", "4"),
        ("SYST:ERR?", '+803,"Not permitted with OUTPUT off"'),
        ("SYST:ERR?", NO_ERROR),
    ], connection_attributes={"timeout": 10_000}) as smu:
        with pytest.raises(InstrumentError, match="803, Not permitted with OUTPUT off"):
            smu.wait_for_sweep(duration=1.0, poll=0.001)


def test_the_sweep_is_polled_until_the_buffer_is_full():
    """While the buffer fills, the operation condition says Swp (8), not Idle (section 15)."""
    with expected_protocol(At60Hz, [
        ("*STB?", "0"), (":STAT:OPER:COND?", "8"), ("*STB?", "0"), (":STAT:OPER:COND?", "8"), ("*STB?", "65"),
    ], connection_attributes={"timeout": 10_000}) as smu:
        smu.wait_for_sweep(duration=1.0, poll=0.001)


def test_a_sweep_that_goes_idle_before_the_buffer_is_full_was_aborted():
    """An :ABOR from elsewhere (another client, the front panel) ends the sweep short: the driver
    says so at once instead of polling until its deadline."""
    with expected_protocol(At60Hz, [
        ("*STB?", "0"), (":STAT:OPER:COND?", "8"), ("*STB?", "0"), (":STAT:OPER:COND?", "1024"), ("*STB?", "0"),
    ], connection_attributes={"timeout": 10_000}) as smu:
        with pytest.raises(InstrumentError, match="aborted"):
            smu.wait_for_sweep(duration=1.0, poll=0.001)


def test_list_plan_cuts_segments_into_equal_sdm_cycles():
    """Appendix A, case III: cycle = 50 µs + source delay + NPLC/f + 185 µs + 300 µs; the integration
    takes what the step leaves (at most 10 PLC), the source delay the rest."""
    with expected_protocol(At60Hz, []) as smu:
        plan = smu.list_plan(Train((Segment(1.2, 2e-3, "write"), READ, Segment(0.0, 7e-3))))
        assert plan == ListPlan(1e-3, (2, 1, 7), 0.0279, 0.0)
        assert list(plan.kept([False, True, False])) == [2]
        plan = smu.list_plan(Train((Segment(1.2, 1.0, "write"), Segment(0.1, 2.0, "read", True))))
        assert (plan.step, plan.points, plan.nplc) == (1.0, (1, 2), 10.0)
        assert plan.source_delay == pytest.approx(1.0 - 535e-6 - 10 / 60, abs=1e-9)

    class At50Hz(Keithley2400):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._mains_frequency = 50.0
    with expected_protocol(At50Hz, []) as smu:
        assert smu.list_plan(Train((WRITE, READ))).nplc == pytest.approx(0.02325)


def test_hardware_timing_limit_names_what_the_2400_cannot_play():
    with expected_protocol(At60Hz, []) as smu:
        assert smu.hardware_timing_limit(Train((WRITE, READ, IDLE), 5)) is None
        assert smu.hardware_timing_limit(Train((Segment(1.5, 100e-6, "write"), READ))) == (
            "segment 1 (write) lasts 100 µs; the 2400's source-measure cycle needs ≥ 701.7 µs")
        assert smu.hardware_timing_limit(Train((WRITE, Segment(0.1, 1.5e-3, "read", True)))) == (
            "segment durations 1 ms, 1.5 ms have no common step ≥ 701.7 µs: each point of a 2400 source "
            "list lasts one source-measure cycle")
        assert smu.hardware_timing_limit(Train((WRITE, Segment(0.0, 3.0, "idle")))) == (
            "one repeat needs 3001 source-list points of 1 ms; a 2400 sweep holds 2500")
        set_limited = Train((Segment(1.5, 1e-3, "write", compliance=50e-6), READ))
        assert smu.hardware_timing_limit(set_limited, 1e-3) == (
            "segment 1 (write) has its own current limit (50 µA); the 2400 applies one compliance to a "
            "whole source list")
        assert smu.hardware_timing_limit(set_limited, 50e-6) is None
        assert smu.hardware_timing_limit(set_limited) is not None     # the program's limit is unknown


def test_a_train_the_list_cannot_play_is_refused_before_anything_is_sent():
    with expected_protocol(At60Hz, []) as smu:
        with pytest.raises(InstrumentError, match="needs ≥ 701.7 µs"):
            smu.run_train(Train((Segment(1.5, 100e-6, "write"), READ)), 1e-3)


def test_limits_are_validated_before_sending():
    with expected_protocol(At60Hz, []) as smu:
        with pytest.raises(ValueError):
            smu.configure(compliance=2.0, max_level=1.0)
        with pytest.raises(ValueError):
            smu.set_compliance(1e-10)
        with pytest.raises(ValueError):
            smu.set_level(250.0)


def test_the_200_v_range_refuses_a_current_limit_above_105_ma_before_a_byte_is_sent():
    """Series 2400 data sheet, 22 W envelope: ±21 V at 1.05 A, ±210 V at 105 mA. A level beyond the
    20 V range's 21 V needs the 200 V range; a limit above 105 mA there is refused naming the field,
    the range and the allowed value, with nothing sent (the simulated 2400 stops at 105 mA there)."""
    with expected_protocol(At60Hz, []) as smu:
        with pytest.raises(LimitError) as refused:
            smu.configure(compliance=1.05, max_level=60.0)
        assert str(refused.value) == ("compliance = 1.05 A is out of range: allowed 1.05 nA to 105 mA (Keithley 2400 "
                                      "SourceMeter current limit on its 200 V range, which |level| = 60 V needs)")
        with pytest.raises(LimitError, match="200 V range"):
            smu.run_train(Train((Segment(60.0, 1e-3, "write"), READ)), 0.5)
        smu._source_range = 200.0                  # as configure(…, 60 V) leaves it
        with pytest.raises(LimitError, match="allowed 1.05 nA to 105 mA"):
            smu.set_compliance(0.2)
    with expected_protocol(At60Hz, [(":SENS:CURR:PROT 0.105", None)]) as smu:
        smu._source_range = 200.0
        smu.set_compliance(0.105)                   # the limit itself is allowed
    with expected_protocol(At60Hz, [(":SENS:CURR:PROT 1.05", None)]) as smu:
        smu._source_range = 20.0
        smu.set_compliance(1.05)                    # the 20 V range holds 1.05 A


def test_a_protocol_asking_1_a_at_60_v_is_refused_in_its_parameters_with_zero_bytes_sent():
    """The Runner's check and the CLI's refusal say the same as the driver, before any traffic."""
    wide = Limits(max_voltage=210.0, max_compliance=1.05)
    with Bench.simulated(seed=1, smu="keithley2400", limits=wide) as bench:
        traffic = TrafficLog.attach(bench.smu)
        with pytest.raises(LimitError) as refused:
            run_protocol("potentiation", bench, {"amplitude": "60 V", "compliance": "1 A", "pulses": 3}, out_dir=None)
        traffic.detach()
        assert traffic.entries == []
        assert bench.station.instruments["smu"].process(":OUTP?") == "0"
    assert str(refused.value) == ("compliance = 1 A is out of range: allowed 1.05 nA to 105 mA (SMU current limit "
                                  "on its 200 V range, which |level| = 60 V needs)")
    with Bench.simulated(seed=1, smu="keithley2400", limits=wide) as bench:
        traffic = TrafficLog.attach(bench.smu)
        run_protocol("potentiation", bench, {"amplitude": "20 V", "compliance": "1 A", "pulses": 3, "width": "1 ms"},
                     out_dir=None)
        assert traffic.entries                     # 20 V stays on the 20 V range, where 1 A is allowed


def test_identify_registry_and_source_range():
    idn = simulated.Keithley2400.idn
    assert registry.INSTRUMENTS["keithley2400"].driver is Keithley2400
    assert registry.match(idn).name == "keithley2400"
    assert registry.match("KEITHLEY INSTRUMENTS,MODEL 2450,04096218,1.7.12b").name == "keithley2450"
    with expected_protocol(Keithley2400, [("*IDN?", idn)]) as smu:
        assert smu.identify() == idn
    assert [source_range(v) for v in (0.1, 0.21, 0.22, -21, 150)] == [0.2, 0.2, 2, 20, 200]   # ranges to 105 %
    with pytest.raises(ValueError):
        source_range(300)


def test_capabilities_agree_with_the_simulated_sdm_cycle():
    """The driver's cycle model and the simulator's are the same Appendix A figures: a train at the
    shortest step runs on the simulator in exactly its programmed time."""
    overhead = simulated.SOURCE_CONFIGURATION + simulated.AD_OVERHEAD + simulated.FIRMWARE_OVERHEAD
    assert Keithley2400.capabilities.min_segment == pytest.approx(overhead + 0.01 / 50)
    step = overhead + 0.01 / 60
    train = Train((Segment(1.0, step, "write"), Segment(0.1, step, "read", True), Segment(0.0, 2 * step)), 50)
    with Bench.simulated(smu="keithley2400", seed=3) as bench:
        bench.smu.configure(1e-3, 1.0)
        t0 = bench.clock.now()
        readings = bench.smu.run_train(train, 1e-3)
        assert bench.clock.now() - t0 == pytest.approx(train.duration, rel=1e-9)
    assert readings.time == pytest.approx(np.arange(50) * 4 * step, abs=2e-6)


def test_driver_runs_a_train_on_the_simulated_instrument(station_2400_bench):
    """Integration, in-process: exact timing, rising conductance, output off afterwards."""
    bench = station_2400_bench("inprocess")
    train = Train((WRITE, READ, Segment(0.0, 8e-3)), repeats=20)
    bench.smu.configure(1e-3, 1.2)
    t0 = bench.clock.now()
    readings = bench.smu.run_train(train, compliance=1e-3)
    assert bench.clock.now() - t0 == pytest.approx(train.duration)
    assert readings.time == pytest.approx(np.arange(20) * 10e-3, abs=2e-6)
    assert np.all(np.diff(readings.current / readings.voltage) > 0)
    assert bench.smu.ask(":OUTP?") == "0"


def test_driver_over_tcp_gives_the_same_readings_as_in_process(station_2400_bench):
    train = Train((WRITE, READ, Segment(0.0, 8e-3)), repeats=20)
    results = []
    for transport in ("tcp", "inprocess"):
        bench = station_2400_bench(transport)
        bench.smu.configure(1e-3, 1.2)
        results.append(bench.smu.run_train(train, compliance=1e-3))
    assert results[0].current == pytest.approx(results[1].current, rel=1e-6)
    assert results[0].time == pytest.approx(results[1].time, abs=2e-6)


def test_a_train_over_2500_points_is_several_sweeps_on_one_time_base(station_2400_bench):
    """1300 repeats of 2 points: two sweeps (1250 + 50 repeats); the time the second load takes shows
    in the timestamps (reset once per train, section 18 :SYST:TIME:RES)."""
    bench = station_2400_bench("inprocess")
    train = Train((Segment(0.5, 1e-3, "write"), READ), repeats=1300)
    bench.smu.configure(1e-3, 0.5)
    traffic = TrafficLog.attach(bench.smu)
    t0 = bench.clock.now()
    readings = bench.smu.run_train(train, compliance=1e-3)
    elapsed = bench.clock.now() - t0
    assert sum(":INIT" in m for m in traffic.sent()) == 2
    steps = np.diff(readings.time)
    assert np.delete(steps, 1249) == pytest.approx(2e-3, abs=2e-6)
    assert readings.time[-1] == pytest.approx(1299 * 2e-3 + elapsed - train.duration, abs=2e-6)
    assert steps[1249] > 2e-3


def test_round_trips_grow_with_sweeps_not_with_pulses():
    """Over TCP: a hardware-timed train costs 4 queries per sweep of ≤ 2500 points and ≤ 1 s of
    program time (the Runner's default chunk, so a crash loses at most 1 s), plus a constant; the
    same train stepped from the computer costs a query per pulse."""
    pattern = (WRITE, READ, Segment(0.0, 1e-3))
    reads = {}
    for timing, pulses in (("hardware", 100), ("hardware", 1000), ("software", 100)):
        with Bench.simulated(smu="keithley2400", seed=2, transport="tcp") as bench:
            traffic = TrafficLog.attach(bench.smu)
            Runner(bench, PulseProgram((Train(pattern, pulses),), 1e-3), timing=timing).run()
            reads[timing, pulses] = traffic.reads
    period = sum(s.duration for s in pattern)
    sweeps = math.ceil(1000 / min(2500 // 3, int(1.0 / period * (1 + 1e-9))))   # 4: 333 pulses fill 1 s
    assert reads["hardware", 1000] - reads["hardware", 100] == 4 * (sweeps - 1)
    assert reads["hardware", 1000] <= 4 * sweeps + 3
    assert reads["software", 100] >= 100


@pytest.mark.parametrize("timing", ["hardware", "software"])
def test_output_is_off_after_a_fault_with_the_output_on(station_2400_bench, monkeypatch, timing):
    bench = station_2400_bench("inprocess")
    instrument = next(iter(bench.smu.adapter.manager.visalib.instruments.values())).instrument
    original = instrument.sdm_cycle
    calls = {"n": 0}

    def flaky(level, hold):
        calls["n"] += 1
        if calls["n"] == 10:                   # mid-train: the 10th reading of either timing
            assert instrument.output
            raise OSError("connection lost")
        return original(level, hold)

    monkeypatch.setattr(instrument, "sdm_cycle", flaky)
    with pytest.raises(LinkError, match="connection lost"):
        Runner(bench, PulseProgram((Train((WRITE, READ, IDLE), 20),), 1e-3), timing=timing).run()
    monkeypatch.setattr(instrument, "sdm_cycle", original)
    assert bench.smu.ask(":OUTP?") == "0"


def level_holds(held, level: float) -> list[float]:
    """Durations, s, of the uninterrupted holds at ``level``."""
    spans, last = [], None
    for v, _, d in held:
        if d <= 0:
            continue
        if v == level and last == level:
            spans[-1] += d
        elif v == level:
            spans.append(d)
        last = v
    return spans


def test_software_timed_reads_hold_their_level_one_sdm_cycle(station_2400_bench, device_holds):
    """Autozero off after configure(): a 2 ms read holds its level 2 ms and one cycle's overhead
    (source configuration, A/D and firmware: 535 µs, Appendix A case III), not the ~8.4 ms of
    three conversions and the 1.8 ms firmware overhead of autozero (case I)."""
    bench = station_2400_bench("inprocess")
    held = device_holds(bench.station.node)
    pattern = (Segment(1.5, 1e-3, "write"), Segment(0.1, 2e-3, "read", True), Segment(0.0, 7e-3))
    Runner(bench, PulseProgram((Train(pattern, 3),), 1e-3), timing="software").run()
    reads = level_holds(held, 0.1)
    assert len(reads) == 3 and reads == pytest.approx([2e-3 + CYCLE_OVERHEAD] * 3, abs=1e-9)
    assert bench.smu.ask(":SYST:AZER?") == "0"


def test_a_software_timed_level_after_a_hardware_train_applies(station_2400_bench, device_holds):
    """timing="auto": a 0.2 V train runs on the list sweep (200 mV range), then a train with its own
    limit is stepped from the computer; its 1.5 V write reaches the device for its 10 ms and no
    error is left (the 200 mV range would refuse 1.5 V)."""
    bench = station_2400_bench("inprocess")
    held = device_holds(bench.station.node)
    low = Train((Segment(0.2, 1e-3, "read", True), Segment(0.0, 1e-3)), 3)
    limited = Train((Segment(1.5, 5e-3, "write", compliance=1e-4), Segment(0.1, 5e-3, "read", True),
                     Segment(0.0, 10e-3)), 2)
    runner = Runner(bench, PulseProgram((low, limited), 1e-3), timing="auto")
    runner.run()
    assert runner.state is RunState.COMPLETED
    assert sum(level_holds(held, 1.5)) == pytest.approx(10e-3)
    assert bench.smu.check_errors() == []


def test_compliance_is_set_before_the_output_first_turns_on(station_2400_bench):
    bench = station_2400_bench("inprocess")
    traffic = TrafficLog.attach(bench.smu)
    Runner(bench, PulseProgram((Train((WRITE, READ, IDLE), 3),), 2e-4)).run()
    sent = ";".join(traffic.sent())
    assert sent.index(":SENS:CURR:PROT 0.0002") < sent.index(":OUTP ON")


def test_on_hardware_identifies_sources_reads_and_turns_off(hardware_reading):
    """Opt-in (--device-address): 0.1 V under 1 mA, one reading, output off."""
    with hardware_reading(Keithley2400) as (smu, voltage, current):
        assert voltage == pytest.approx(0.1, abs=1e-3) and abs(current) <= 1.05e-3
        smu.set_output(False)
        assert smu.ask(":OUTP?").strip() == "0"


@pytest.fixture
def station_2400_bench():
    """Simulated benches on the 2400 (seed 5), closed at the end of the test."""
    benches = []

    def make(transport: str) -> Bench:
        bench = Bench.simulated(smu="keithley2400", seed=5, transport=transport)
        benches.append(bench)
        return bench
    yield make
    for bench in benches:
        bench.close()


def test_checking_a_train_sends_nothing_even_before_the_line_frequency_is_known():
    """The Runner's check promises no byte: until it has been read, the check assumes 50 Hz (the
    longer shortest cycle, 735 µs); a run reads it first and plans at the real one."""
    with expected_protocol(Keithley2400, []) as smu:
        assert smu.hardware_timing_limit(Train((Segment(1.5, 720e-6, "write"), Segment(0.1, 720e-6, "r", True)))) \
            == "segment 1 (write) lasts 720 µs; the 2400's source-measure cycle needs ≥ 735 µs"
