"""Pulses shorter than an SMU can time, played by the pulse generator and started by the SMU's
trigger output (digital I/O line 1 of a Keithley 2450 or 2600B wired to the generator's trigger
input), between reads the SMU takes: the simulated trigger line and the concurrent play on the shared
node, the drivers' commands, the Runner's choice of this path, the physics it measures and the
round trips it costs, and the generator's output off however the run ends."""
import json

import numpy as np
import pytest

from labsuite import Bench, read_run, run_protocol
from labsuite.core.clock import VirtualClock
from labsuite.core.errors import LimitError
from labsuite.core.events import RunObserver, RunState
from labsuite.core.program import PulseProgram, Segment, Train
from labsuite.drivers.keithley.keithley2600 import TRAIN_SCRIPT
from labsuite.protocols.ppf import PairedPulse
from labsuite.runner import Runner
from labsuite.simulator.circuit import DeviceNode
from labsuite.simulator.models import make_model
from labsuite.simulator.station import SimulatedStation
from labsuite.traffic import TrafficLog

TAU = (20e-3, 300e-3)   # the multi-timescale model's time constants
# 1 µs pulses (the 2450 times 50 µs at least): 2.5 V through 2 kΩ gives the device about the
# volatile drive of the default 100 µs, 1.5 V pulses; a 300 µs read leaves 250 µs of integration
# after the SMU's 50 µs open window around each pulse; 3 mA so that a short behind 2 kΩ stays under it
SHORT_PULSES = {"intervals": 16, "interval_min": 500e-6, "repeats": 8, "width": 1e-6, "amplitude": 2.5,
                "read_time": 300e-6, "compliance": 3e-3}
GENERATORS = ("keysight33500", "tektronixafg31000")
# one 1 µs pulse 0.1 V → 2.5 V per rising edge at Trig In, output on
ARMED = {
    "keysight33500": ":OUTP1 OFF;:SOUR1:BURS:MODE TRIG;:SOUR1:BURS:NCYC 1;:TRIG1:SOUR EXT;:TRIG1:SLOP POS;"
                     ":SOUR1:BURS:STAT ON;:SOUR1:FUNC PULS;:SOUR1:FUNC:PULS:TRAN:BOTH MIN;:SOUR1:FUNC:PULS:WIDT MIN;"
                     ":SOUR1:FUNC:PULS:PER 5e-05;:SOUR1:FUNC:PULS:WIDT 1e-06;:OUTP1:LOAD INF;:SOUR1:VOLT:HIGH 2.5;"
                     ":SOUR1:VOLT:LOW 0.1;:OUTP1 ON",
    "tektronixafg31000": ":OUTP1 OFF;:SOUR1:BURS:MODE TRIG;:SOUR1:BURS:NCYC 1;:TRIG:SEQ:SOUR EXT;:TRIG:SEQ:SLOP POS;"
                         ":SOUR1:BURS:STAT ON;:SOUR1:FUNC:SHAP PULS;:SOUR1:PULS:WIDT MIN;:SOUR1:PULS:PER 5e-05;"
                         ":SOUR1:PULS:WIDT 1e-06;:OUTP1:IMP INF;:SOUR1:VOLT:LEV:IMM:HIGH 2.5;"
                         ":SOUR1:VOLT:LEV:IMM:LOW 0.1;:OUTP1:STAT ON",
}


def quiet_model(seed: int = 0):
    return make_model("synaptic-memristor", np.random.default_rng(seed), params={"c2c_sigma": 0.0})


def test_a_scheduled_pulse_plays_at_its_time_while_another_port_holds():
    """A generator's burst scheduled on its port while the SMU's port holds (open): the device
    ends where the same pulse played by the generator itself puts it, and the SMU's stretch is
    one result over the whole hold."""
    played, scheduled = quiet_model(), quiet_model()
    direct = DeviceNode(played, VirtualClock())
    generator = direct.port("pulse_generator", 2050.0)
    for duration, level in ((10e-6, 0.1), (1e-6, 2.5), (89e-6, 0.1)):
        generator.drive(level)
        generator.hold(duration)
    node = DeviceNode(scheduled, VirtualClock())
    smu, generator = node.port("smu"), node.port("pulse_generator", 2050.0)
    generator.drive(0.1)
    generator.schedule([(10e-6, 0.1), (1e-6, 2.5), (89e-6, 0.1)])
    assert generator.busy_until == pytest.approx(11e-6)
    seen = smu.hold(100e-6)
    assert node.clock.now() == pytest.approx(100e-6) and seen.current == 0.0
    assert scheduled.x == pytest.approx(played.x, rel=1e-9) and scheduled.x[0, 0] > 1e-4
    assert generator.voltage == 0.1 and not generator.scheduled


def test_a_port_that_changes_its_output_drops_what_it_had_scheduled():
    node = DeviceNode(quiet_model(), VirtualClock())
    generator = node.port("pulse_generator", 2050.0)
    generator.schedule([(10e-6, 0.1), (1e-6, 2.5)])
    generator.drive(0.0)
    assert not generator.scheduled and generator.busy_until == node.clock.now()


@pytest.mark.parametrize("generator", GENERATORS)
def test_the_2450s_notify_block_starts_the_generators_burst_over_the_wired_line(generator):
    """2450 Reference Manual: a NOTify block asserts a digital I/O line whose stimulus is its event
    (:TRIG:DIG1:OUT:STIM NOT1, the line in trigger-output mode); the generator, on its external
    trigger with a rising slope, plays its burst then, while the trigger model holds."""
    def run(line_commands: str) -> float:
        station = SimulatedStation(smu="keithley2450", pulse_generator=generator, pulse_series_resistance=2e3,
                                   model_params={"c2c_sigma": 0.0})
        smu, pg = station.instruments["smu"], station.instruments["pulse_generator"]
        pg.process(ARMED[generator])
        assert pg.process("SYST:ERR?").startswith(("+0", "0"))
        smu.process(":OUTP:SMOD HIMP;" + line_commands + ':TRIG:LOAD "Empty";:TRIG:BLOC:SOUR:STAT 1,OFF;'
                    ":TRIG:BLOC:NOT 2,1;:TRIG:BLOC:DEL:CONS 3,0.0001")
        assert smu.process(":SYST:ERR?").startswith("0,")
        started = station.clock.now()
        smu.process(":INIT")
        assert station.clock.now() - started == pytest.approx(100e-6)   # the trigger model's time alone
        return float(station.model.x[0, 0])

    pulsed = run(":DIG:LINE1:MODE TRIG, OUT;:TRIG:DIG1:OUT:LOG POS;:TRIG:DIG1:OUT:STIM NOT1;")
    assert pulsed > 1e-4                                                       # the pulse reached the device
    assert run(":DIG:LINE1:MODE TRIG, OUT;:TRIG:DIG1:OUT:LOG POS;") == 0.0     # no stimulus: no edge
    assert run(":TRIG:DIG1:OUT:STIM NOT1;:TRIG:DIG1:OUT:LOG POS;") == 0.0      # line not a trigger output
    assert run(":DIG:LINE1:MODE TRIG, OUT;:TRIG:DIG1:OUT:STIM NOT1;") == 0.0   # NEG logic: a falling edge


@pytest.mark.parametrize("generator", GENERATORS)
def test_the_2600bs_digio_assert_starts_the_generators_burst_over_the_wired_line(generator):
    """2600B Reference Manual, digio.trigger[N].mode and .assert(): TRIG_RISINGM asserts a TTL-high
    pulse (a rising edge, which the generator armed for a rising slope plays on), the TTL-low modes
    a falling edge first, TRIG_BYPASS none; line 2 is not the one wired."""
    def run(lua: str, then: str = "") -> float:
        station = SimulatedStation(smu="keithley2600", pulse_generator=generator, pulse_series_resistance=2e3,
                                   model_params={"c2c_sigma": 0.0})
        pg = station.instruments["pulse_generator"]
        pg.process(ARMED[generator])
        assert pg.process("SYST:ERR?").startswith(("+0", "0"))
        smu = station.instruments["smu"]
        smu.process("smua.source.offmode = smua.OUTPUT_HIGH_Z " + lua)   # the output open, as a run leaves it
        if then:
            smu.process(then)
        smu.process("delay(0.0001)")
        assert smu.process("print(errorqueue.count)") == "0.00000e+00"
        return float(station.model.x[0, 0])

    assert run("digio.trigger[1].mode = digio.TRIG_RISINGM digio.trigger[1].assert()") > 1e-4
    assert run("digio.trigger[1].mode = digio.TRIG_FALLING digio.trigger[1].assert()") == 0.0
    assert run("digio.trigger[1].assert()") == 0.0                                  # TRIG_BYPASS after reset
    assert run("digio.trigger[2].mode = digio.TRIG_RISINGM digio.trigger[2].assert()") == 0.0
    assert run("digio.trigger[1].mode = digio.TRIG_RISINGM digio.trigger[1].stimulus = trigger.EVENT_ID",
               "*TRG") > 1e-4                                                     # an event as its stimulus
    station = SimulatedStation(smu="keithley2600")
    reply = station.instruments["smu"].process("digio.trigger[1].pulsewidth = 2e-5 digio.trigger[1].pulsewidth = -1 "
                                               "print(digio.trigger[1].pulsewidth, errorqueue.next())")
    assert reply.startswith("2.00000e-05\t1.10200e+03\tParameter too small")   # s; below 0 refused, not kept


def test_a_station_says_whether_the_line_is_wired():
    assert SimulatedStation(smu="keithley2450", pulse_generator="keysight33500").trigger_line
    assert SimulatedStation(smu="keithley2600", pulse_generator="keysight33500").trigger_line
    assert not SimulatedStation(smu="keysightb2900", pulse_generator="keysight33500").trigger_line
    assert not SimulatedStation(smu="keithley2450", pulse_generator="keysight33500", trigger_line=False).trigger_line
    assert not SimulatedStation(smu="keithley2450").trigger_line


@pytest.mark.parametrize("generator, message", [
    ("keysight33500", ":OUTP1 OFF;:SOUR1:BURS:MODE TRIG;:SOUR1:BURS:NCYC 1;:TRIG1:SOUR EXT;:TRIG1:SLOP POS;"
     ":TRIG1:DEL 0;:SOUR1:BURS:STAT ON;:SOUR1:FUNC PULS;:SOUR1:FUNC:PULS:TRAN:BOTH MIN;:SOUR1:FUNC:PULS:WIDT MIN;"
     ":SOUR1:FUNC:PULS:PER 5e-05;:SOUR1:FUNC:PULS:WIDT 1e-06;:SOUR1:FUNC:PULS:TRAN:BOTH 8.4e-09;:OUTP1:LOAD INF;"
     ":SOUR1:VOLT:OFFS 0;:SOUR1:VOLT:HIGH 0.002;:SOUR1:VOLT:LOW -0.002;:OUTP1:POL NORM;:SOUR1:VOLT:HIGH 2.5;"
     ":SOUR1:VOLT:LOW 0.1"),
    ("tektronixafg31000", ":OUTP1:STAT OFF;:SOUR1:BURS:MODE TRIG;:SOUR1:BURS:NCYC 1;:TRIG:SEQ:SOUR EXT;"
     ":TRIG:SEQ:SLOP POS;:SOUR1:BURS:STAT ON;:SOUR1:FUNC:SHAP PULS;:SOUR1:PULS:DEL 0;:SOUR1:PULS:TRAN:LEAD MIN;"
     ":SOUR1:PULS:TRAN:TRA MIN;:SOUR1:PULS:WIDT MIN;:SOUR1:PULS:PER 5e-05;:SOUR1:PULS:WIDT 1e-06;"
     ":SOUR1:PULS:TRAN:LEAD 1.8e-08;:SOUR1:PULS:TRAN:TRA 1.8e-08;:OUTP1:IMP INF;:SOUR1:VOLT:LEV:IMM:OFFS 0;"
     ":SOUR1:VOLT:LEV:IMM:HIGH 0.002;:SOUR1:VOLT:LEV:IMM:LOW -0.002;:OUTP1:POL NORM;:SOUR1:VOLT:LEV:IMM:HIGH 2.5;"
     ":SOUR1:VOLT:LEV:IMM:LOW 0.1"),
])
def test_arming_for_the_trigger_input_is_one_message_idling_at_the_read_level(generator, message):
    """33500 guide, TRIGger:SOURce EXT, :SLOPe, :DELay; AFG31000 manual, TRIGger[:SEQuence]:SOURce
    EXTernal, :SLOPe: one message with the output off first, then one error check."""
    with Bench.simulated(smu="keithley2450", pulse_generator=generator, pulse_series_resistance=2e3) as bench:
        traffic = TrafficLog.attach(bench.pulse_generator)
        bench.pulse_generator.arm_external_burst(2.5, 1e-6, 50e-6, 1, bench.pulse_generator.capabilities.min_edge,
                                                 0.1)
        assert traffic.sent() == [message, "SYST:ERR?"]
        with pytest.raises(Exception, match="idle level"):   # a pulse must leave its idle level towards its sign
            bench.pulse_generator.arm_external_burst(0.05, 1e-6, 50e-6, 1, bench.pulse_generator.capabilities.min_edge,
                                                     0.1)


def test_the_2450_opens_its_output_and_notifies_at_each_triggered_segment():
    """2450 manual: :DIG:LINE1:MODE TRIG, OUT; :TRIG:DIG1:OUT:LOG POS; :TRIG:DIG1:OUT:STIM NOT1; a
    triggered segment is SOUR:STAT OFF, NOT 1, DEL:CONS (no configuration list of its own)."""
    with Bench.simulated(smu="keithley2450") as bench:
        train = Train((Segment(0.1, 300e-6, "read", measure=True), Segment(2.5, 50e-6, "write"),
                       Segment(0.1, 250e-6, "read", measure=True), Segment(0.0, 1e-3)), 3)
        message = bench.smu.train_message(train, 1e-3, frozenset({1})).split(";")
    assert message[2:5] == [":DIG:LINE1:MODE TRIG, OUT", ":TRIG:DIG1:OUT:LOG POS", ":TRIG:DIG1:OUT:STIM NOT1"]
    assert ':SOUR:CONF:LIST:CRE "labsuite2"' not in message
    blocks = [m for m in message if m.startswith(":TRIG:BLOC")]
    assert blocks[4:9] == [":TRIG:BLOC:MEAS 5,\"defbuffer1\"", ":TRIG:BLOC:SOUR:STAT 6,OFF", ":TRIG:BLOC:NOT 7,1",
                           ":TRIG:BLOC:DEL:CONS 8,5e-05", ':TRIG:BLOC:CONF:NEXT 9,"labsuite3"']


def test_the_2600b_steps_a_train_with_triggered_segments_in_its_one_script():
    """2600B manual, digio.trigger[N].mode (TRIG_RISINGM: a TTL-high pulse) and .assert(): the
    labsuite_train script's segment table flags the triggered segments (a last table), whose limit
    goes as a table so that the script steps them: output off, line 1 asserted. Stepped, only the
    measured segments hold an integration, not the 100 µs window around the pulse."""
    with Bench.simulated(smu="keithley2600") as bench:
        train = Train((Segment(0.1, 300e-6, "read", measure=True), Segment(2.5, 100e-6, "write"),
                       Segment(0.1, 250e-6, "read", measure=True), Segment(0.0, 1e-3)), 3)
        message = bench.smu.train_message(train, 1e-3, triggered=frozenset({1}))
    # stepped, only the reads integrate: 250 µs less the 60 µs margin and the 1 µs offset, 189 µs (0.01134 PLC)
    assert message == ("labsuite_setup(3, {0.1, 2.5, 0.1, 0}, {0.0003, 0.0001, 0.00025, 0.001}, "
                       "{5.1e-05, 1e-06, 1e-06, 0.000751}, {1, 0, 1, 0}, {0.001, 0.001, 0.001, 0.001}, 2.5, "
                       "0.01134, 0, {0, 1, 0, 0})")
    assert ("if labsuite_triggered ~= nil and labsuite_triggered[s] == 1 then\n"
            "      smua.source.output = smua.OUTPUT_OFF\n      digio.trigger[1].assert()") in TRAIN_SCRIPT
    assert "digio.trigger[1].mode = digio.TRIG_RISINGM" in TRAIN_SCRIPT


@pytest.mark.parametrize("smu, generator", [("keithley2450", g) for g in GENERATORS]
                         + [("keithley2600", "keysight33500"), ("keithley2612b", "tektronixafg31000")])
def test_ppf_with_pulses_shorter_than_the_smu_times_plays_on_the_generator_and_recovers_both_taus(smu, generator,
                                                                                                   tmp_path):
    with Bench.simulated(model="multi-timescale", seed=1, smu=smu, pulse_generator=generator,
                         pulse_series_resistance=2e3) as bench:
        program = PairedPulse(**SHORT_PULSES).program()
        assert {Runner(bench, program).sequencing(t) for t in program.trains} == {"triggered"}
        traffic = TrafficLog.attach(bench.pulse_generator)
        result = run_protocol(PairedPulse(**SHORT_PULSES), bench, out_dir=tmp_path)
    assert result.state is RunState.COMPLETED and result.pulses_played_by == "generator, triggered by the SMU"
    assert json.loads(read_run(result.path).attrs["provenance"])["pulses_played_by"] == result.pulses_played_by
    assert not any("*TRG" in m for m in traffic.sent())             # no bus trigger: the SMU's line starts them
    figures = result.figures
    assert figures["ppf_terms"] == 2 and figures["ppf_max"] > 1.5
    assert figures["tau1"] == pytest.approx(TAU[0], rel=0.10)
    assert figures["tau2"] == pytest.approx(TAU[1], rel=0.10)


def test_the_same_pulses_without_the_line_are_refused_naming_what_plays():
    with Bench.simulated(model="multi-timescale", seed=1, smu="keithley2450", pulse_generator="keysight33500",
                         pulse_series_resistance=2e3, trigger_line=False) as bench:
        with pytest.raises(Exception, match=r"^interval_min = 500 µs .*use --set interval_min="):
            run_protocol(PairedPulse(**SHORT_PULSES), bench, out_dir=None)


@pytest.mark.parametrize("smu, name", [("keysightb2900", "Keysight B2900 Precision Source/Measure Unit"),
                                       ("keithley2400", "Keithley 2400 SourceMeter")])
def test_smus_that_cannot_open_their_output_at_chosen_points_of_a_sequence_refuse_the_short_pulses(smu, name):
    """No trigger line on these benches, so PPF's 1 µs pulses stay refused, as with the line unwired.

    The triggered path needs the SMU's output open through each pulse and closed for the reads
    around it, within one hardware-timed sequence, and a trigger out at the pulses alone:
    - B2900 (SCPI Command Reference B2910-90030): the list sweep (``[:SOURce]:LIST:VOLTage``)
      holds levels only; the output state has no list or per-trigger setting, and
      ``:OUTPut:OFF:AUTO`` opens it only when the channel goes idle after the run. Its trigger
      output (``:TRIGger:TRANsient:TOUTput:SIGNal EXT<n>``, ``:ARM:...``) fires at every transient
      trigger or arm event, not at chosen points. Each pulse would need its own run: round trips
      growing with the pulses.
    - 2400 (Reference Manual 2400S-900-01 Rev. K, section 11 "Triggering", section 6
      "Source-delay-measure cycle", section 18 ``:TRIGger:OUTPut``, ``:SOURce:CLEar:AUTO``): the
      Trigger Link output pulses after the chosen action (SOURce, DELay, SENSe) of every cycle,
      and auto clear opens the output after every measurement, so a pulse would follow every
      point, not the writes alone; its cycle (735 µs here) is longer than the 300 µs read besides.
    """
    with Bench.simulated(model="multi-timescale", seed=1, smu=smu, pulse_generator="keysight33500",
                         pulse_series_resistance=2e3) as bench:
        assert not bench.trigger_line and not bench.smu.capabilities.trigger_output
        with pytest.raises(Exception, match=rf"^interval_min = 500 µs .*and the {name} cannot play the pulses "
                                            r"itself: use --set interval_min=10ms"):
            run_protocol(PairedPulse(**SHORT_PULSES), bench, out_dir=None)


def potentiation_program(pulses: int) -> PulseProgram:
    """N 1 µs, 2.5 V writes, each followed by a 300 µs read and 700 µs at 0 V."""
    pattern = (Segment(2.5, 1e-6, "write"), Segment(0.1, 300e-6, "read", measure=True), Segment(0.0, 700e-6))
    return PulseProgram((Train(pattern, pulses),), 3e-3)


def test_round_trips_per_train_do_not_grow_with_its_pulses():
    """O(N/L + c): one trigger model, one arming and the generator's output on and off per train,
    whatever N (here within one list of the 2450)."""
    counts, grown = [], []
    for pulses in (50, 400):
        with Bench.simulated(seed=1, smu="keithley2450", pulse_generator="keysight33500",
                             pulse_series_resistance=2e3) as bench:
            traffic = [TrafficLog.attach(i) for i in (bench.smu, bench.pulse_generator)]
            runner = Runner(bench, potentiation_program(pulses), chunk_duration=None)
            assert runner.sequencing(runner.program.trains[0]) == "triggered"
            samples = runner.run()
            counts.append(sum(len(t.entries) for t in traffic))
            grown.append(float(np.ptp(samples["current"] / samples["voltage"])))
        assert samples.size == pulses
    assert counts[0] == counts[1]
    assert grown[1] > grown[0] > 0   # the pulses reached the device: more of them, more change


class AfterFirstChunk(RunObserver):
    """Stops the run after its first chunk: an abort, or an exception."""

    def __init__(self, how: str) -> None:
        self.how = how

    def on_start(self, runner: Runner) -> None:
        self.runner = runner

    def on_samples(self, samples, progress) -> None:
        if self.how == "abort":
            self.runner.abort()
        else:
            raise RuntimeError("observer failed")


@pytest.mark.parametrize("how", ["exception", "abort"])
@pytest.mark.parametrize("smu", ["keithley2450", "keithley2600"])
def test_the_generator_output_is_off_however_a_triggered_run_ends(how, smu):
    with Bench.simulated(seed=1, smu=smu, pulse_generator="keysight33500",
                         pulse_series_resistance=2e3) as bench:
        runner = Runner(bench, potentiation_program(100), chunk_duration=0.02, observers=[AfterFirstChunk(how)])
        generator = bench.station.instruments["pulse_generator"]
        if how == "exception":
            with pytest.raises(RuntimeError):
                runner.run()
        else:
            runner.run()
        assert runner.state is (RunState.FAILED if how == "exception" else RunState.ABORTED)
        assert 0 < runner.samples.size < 100
        assert not generator.channels[1].output and bench.station.node.ports[1].voltage is None
        assert not bench.smu.output_enabled()


def test_a_read_too_short_after_a_triggered_pulse_is_refused_naming_read_time_and_values_that_play():
    """The 2450's output stays open for its 50 µs shortest segment from each pulse, so the read
    after it must hold that and a 200 µs integration."""
    with Bench.simulated(model="multi-timescale", seed=1, smu="keithley2450", pulse_generator="keysight33500",
                         pulse_series_resistance=2e3) as bench:
        traffic = TrafficLog.attach(bench.smu)
        with pytest.raises(LimitError) as refused:
            run_protocol(PairedPulse(**{**SHORT_PULSES, "read_time": 200e-6}), bench, out_dir=None)
        assert traffic.entries == []
    assert str(refused.value) == (
        "read_time = 200 µs is shorter than the Keithley 2450 SourceMeter needs to read after a pulse the generator "
        "plays on its trigger (249 µs: its output stays open for its shortest segment): "
        "use --set interval_min=1ms --set read_time=500us")
