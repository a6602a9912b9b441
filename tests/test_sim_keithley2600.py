"""The simulated 2600B answers TSP as the Series 2600B Reference Manual (2600BS-901-01) says.

Rev. F sections: 2 "Output-off states", 3 "Reading buffers", 5 "Theory of operation", 9 "TSP
command reference", 11 "Common commands"; "Instrument programming" (scripts); Rev. B section 3
"Sweep operation", "Triggering", "Using timers to perform pulse mode sweeps", and section 8
"Effects of errors on scripts".
"""
import numpy as np
import pytest
import pyvisa
from pymeasure.instruments.keithley.keithley2600 import Keithley2600 as PymeasureKeithley2600

from labsuite.simulator.instruments.keithley2600 import Keithley2600
from labsuite.simulator.server import InstrumentServer
from labsuite.simulator.station import SimulatedStation

SMU = "keithley2600"                # the station's SMU (tests/conftest.py)

EMPTY = "0.00000e+00\tQueue Is Empty\t0.00000e+00\t1.00000e+00"

# The manual's pulse mode sweep (section 4, "Using timers to perform pulse mode sweeps", as in
# Keithley's KE26XXB_Pulsed_Sweep_Single): timer 1 paces the period, timer 2 starts the
# measurement inside the pulse, timer 3 ends the pulse; here armed by the SMU's own ARMED event.
PULSE_SWEEP = """\
reset()
smua.source.func = smua.OUTPUT_DCVOLTS
smua.source.autorangev = smua.AUTORANGE_OFF
smua.source.rangev = 2
smua.source.levelv = 0
smua.source.limiti = 0.1
smua.measure.autozero = smua.AUTOZERO_ONCE
smua.measure.autorangei = smua.AUTORANGE_OFF
smua.measure.rangei = 0.01
smua.measure.nplc = 0.01
smua.measure.delay = 0
smua.nvbuffer1.clear()
smua.nvbuffer1.collecttimestamps = 1
smua.nvbuffer2.clear()
trigger.timer[1].count = 4
trigger.timer[1].delay = 5e-3
trigger.timer[1].passthrough = true
trigger.timer[1].stimulus = smua.trigger.ARMED_EVENT_ID
trigger.timer[2].count = 1
trigger.timer[2].delay = 1e-3 - (1 / localnode.linefreq) * 0.01 - 60e-6
trigger.timer[2].passthrough = false
trigger.timer[2].stimulus = trigger.timer[1].EVENT_ID
trigger.timer[3].count = 1
trigger.timer[3].delay = 1e-3
trigger.timer[3].passthrough = false
trigger.timer[3].stimulus = trigger.timer[1].EVENT_ID
smua.trigger.source.linearv(1.0, 1.8, 5)
smua.trigger.source.limiti = 0.1
smua.trigger.measure.action = smua.ENABLE
smua.trigger.measure.iv(smua.nvbuffer1, smua.nvbuffer2)
smua.trigger.endpulse.action = smua.SOURCE_IDLE
smua.trigger.endsweep.action = smua.SOURCE_IDLE
smua.trigger.count = 5
smua.trigger.arm.stimulus = 0
smua.trigger.source.stimulus = trigger.timer[1].EVENT_ID
smua.trigger.measure.stimulus = trigger.timer[2].EVENT_ID
smua.trigger.endpulse.stimulus = trigger.timer[3].EVENT_ID
smua.trigger.source.action = smua.ENABLE
smua.source.output = smua.OUTPUT_ON
smua.trigger.initiate()
waitcomplete()
smua.source.output = smua.OUTPUT_OFF"""


@pytest.fixture
def tsp(visa):
    """A plain pyvisa resource on the simulated 2602B (in-process backend)."""
    return visa


def other_model(model: str) -> Keithley2600:
    return Keithley2600(SimulatedStation(seed=7, smu="keithley2600").node.port(model), model=model)


def errors(sim) -> list[str]:
    """Every entry of the error queue, as print(errorqueue.next()) gives them."""
    out = []
    while (entry := sim.process("print(errorqueue.next())")) != EMPTY:
        out.append(entry)
    return out


def test_identifies_as_its_model_and_resets_to_the_manual_defaults(tsp):
    """Section 11 *IDN?; section 9 smuX.source.limitY (2602B: 40 V, 1 A), measure.nplc 1, output off."""
    assert tsp.query("*IDN?") == "Keithley Instruments, Model 2602B, 4381102, 4.0.4"
    tsp.write("smua.source.levelv = 1.2 smua.source.limiti = 1e-3 smua.source.output = smua.OUTPUT_ON")
    tsp.write("*RST")
    assert tsp.query("print(smua.source.func, smua.source.levelv, smua.source.output)") == \
        "1.00000e+00\t0.00000e+00\t0.00000e+00"
    assert tsp.query("print(smua.source.limiti, smua.source.limitv, smua.measure.nplc)") == \
        "1.00000e+00\t4.00000e+01\t1.00000e+00"
    assert tsp.query("print(localnode.model, localnode.linefreq)") == "2602B\t6.00000e+01"
    assert tsp.query("*OPC?") == "1"
    sim2636 = other_model("2636B")
    assert sim2636.process("*IDN?").startswith("Keithley Instruments, Model 2636B,")
    assert sim2636.process("print(smua.source.limiti, smua.source.limitv)") == "1.00000e-01\t2.00000e+01"


def test_print_follows_format_asciiprecision(sim):
    """Section 9 print(), printnumber(), format.asciiprecision (default 6; 10 → 2.540000000e+00)."""
    assert sim.process("print(2.54, true, 'text', nil)") == "2.54000e+00\ttrue\ttext\tnil"
    assert sim.process("format.asciiprecision = 10 printnumber(2.54)") == "2.540000000e+00"
    assert sim.process("format.asciiprecision = 3 printnumber(2.54, -1e-9)") == "2.54e+00, -1.00e-09"
    assert sim.process("print(format.asciiprecision)") == "3.00e+00"


def test_lua_errors_reach_the_error_queue_in_the_2600b_format(sim):
    """Manual, "Effects of errors on scripts" (Rev. B section 8): a syntax error is -285, a run-time
    error -286 and stops the chunk there; errorqueue.next() gives code, message, severity, node;
    *ESR? has CME and EXE (section 11)."""
    assert sim.process("x = = 1") is None
    assert sim.process("print('before') foo() print('after')") == "before"
    assert sim.process("print(errorqueue.count)") == "2.00000e+00"
    assert sim.process("*STB?") == "4"                      # error available
    assert errors(sim) == [
        "-2.85000e+02\tTSP Syntax error at line 1: unexpected symbol near `='\t2.00000e+01\t1.00000e+00",
        "-2.86000e+02\tTSP Runtime error at line 1: attempt to call global `foo' (a nil value)"
        "\t2.00000e+01\t1.00000e+00"]
    assert sim.process("*ESR?") == str(32 + 16)
    assert sim.process("*ESR?") == "0"
    sim.process("bogus()")
    sim.process("*CLS")
    assert sim.process("print(errorqueue.next())") == EMPTY


def test_out_of_range_settings_are_refused_and_the_chunk_goes_on(sim):
    """Section 9 smuX.source.limitY (2602B 10 nA–3 A; 2636B 100 pA–1.5 A), smuX.measure.nplc
    (0.001–25), levelv within the 40 V range: refused with an error, the rest of the line runs."""
    reply = sim.process("smua.source.limiti = 5 smua.measure.nplc = 30 smua.source.levelv = 45 "
                        "print(smua.source.limiti, smua.measure.nplc, smua.source.levelv)")
    assert reply == "1.00000e+00\t1.00000e+00\t0.00000e+00"
    assert [e.split("\t")[:2] for e in errors(sim)] == [["1.10100e+03", "Parameter too big"]] * 3
    sim.process("smua.source.limiti = 1e-10")
    assert [e.split("\t")[1] for e in errors(sim)] == ["Parameter too small"]
    sim2636 = other_model("2636B")
    assert sim2636.process("smua.source.limiti = 1e-10 smua.source.levelv = 150 print(smua.source.limiti)") == \
        "1.00000e-10"
    assert errors(sim2636) == []
    sim.process("smua.source.autorangev = 0 smua.source.rangev = 1 smua.source.levelv = 2")
    assert [e.split("\t")[1] for e in errors(sim)] == ["Parameter too big"]   # 2 V is beyond the 1 V range


def test_reads_the_current_of_the_device_model(sim, station):
    """smuX.measure.i() at 0.1 V on a fresh device: I = G_min·V within read noise; iv() also reads V."""
    sim.process("smua.source.levelv = 0.1 smua.source.limiti = 1e-3 smua.source.output = smua.OUTPUT_ON")
    current = float(sim.process("print(smua.measure.i())"))
    assert current == pytest.approx(station.model.params.g_min * 0.1, rel=0.02)
    current, voltage = map(float, sim.process("print(smua.measure.iv())").split("\t"))
    assert voltage == pytest.approx(0.1)
    assert current == pytest.approx(station.model.params.g_min * 0.1, rel=0.02)
    assert sim.process("print(smua.source.compliance)") == "false"


def test_compliance_clamps_the_current_and_sets_the_flag(sim):
    """Section 5 "Theory of operation", limits: past the limit the source becomes a current source at the limit;
    smuX.source.compliance is true and the buffer status has bit 0x40 (section 3 "Buffer status")."""
    sim.process("smua.source.limiti = 1e-6 smua.source.levelv = 0.5 smua.source.output = smua.OUTPUT_ON")
    current = float(sim.process("smua.nvbuffer1.clear() print(smua.measure.i(smua.nvbuffer1))"))
    assert abs(current) <= 1e-6
    assert sim.process("print(smua.source.compliance, smua.nvbuffer1.statuses[1])") == "true\t6.40000e+01"


def test_integration_time_is_nplc_over_the_line_frequency(sim, station):
    """Section 9 smuX.measure.nplc, smuX.measure.count, localnode.linefreq, delay()."""
    t0 = station.clock.now()
    sim.process("smua.measure.nplc = 6 smua.measure.i()")
    assert station.clock.now() - t0 == pytest.approx(0.1)            # 6 PLC at 60 Hz
    t0 = station.clock.now()
    sim.process("localnode.linefreq = 50 smua.measure.count = 3 smua.measure.i(smua.nvbuffer1)")
    assert station.clock.now() - t0 == pytest.approx(3 * 0.12)
    assert sim.process("print(smua.nvbuffer1.n)") == "3.00000e+00"
    t0 = station.clock.now()
    sim.process("delay(0.25)")
    assert station.clock.now() - t0 == pytest.approx(0.25)


def test_output_off_states(sim, station):
    """Section 2 "Output-off states": normal mode sources 0 V under offlimiti (1 mA); high-Z
    opens the output relay; on, the output sources levelv under limiti."""
    port = station.node.ports[0]
    assert (port.voltage, port.compliance) == (0.0, 1e-3)
    sim.process("smua.source.levelv = 0.3 smua.source.limiti = 2e-3 smua.source.output = smua.OUTPUT_ON")
    assert (port.voltage, port.compliance) == (0.3, 2e-3)
    sim.process("smua.source.offmode = smua.OUTPUT_HIGH_Z smua.source.output = smua.OUTPUT_OFF")
    assert port.voltage is None


def test_reading_buffers_overwrite_append_and_keep_source_values(sim):
    """Section 3: appendmode 0 overwrites, 1 appends; sourcevalues when collected; makebuffer(n)
    holds n readings (fill once); dedicated buffers' capacity."""
    sim.process("smua.source.levelv = 0.1 smua.source.output = smua.OUTPUT_ON smua.nvbuffer1.collectsourcevalues = 1")
    sim.process("smua.measure.i(smua.nvbuffer1) smua.measure.i(smua.nvbuffer1)")
    assert sim.process("print(smua.nvbuffer1.n)") == "1.00000e+00"
    sim.process("smua.nvbuffer1.appendmode = 1 smua.source.levelv = 0.2 smua.measure.i(smua.nvbuffer1)")
    assert sim.process("printbuffer(1, smua.nvbuffer1.n, smua.nvbuffer1.sourcevalues)") == "1.00000e-01, 2.00000e-01"
    assert sim.process("b = smua.makebuffer(2) smua.measure.count = 3 smua.measure.i(b) print(b.n, b.capacity)") == \
        "2.00000e+00\t2.00000e+00"
    assert sim.process("print(smua.nvbuffer2.capacity)") == "6.00000e+04"


def test_named_script_is_collected_compiled_run_and_deleted(sim):
    """Manual, "Instrument programming" (named scripts) and section 9 script.delete(): lines between loadscript and
    endscript are not run; NAME() and NAME.run() run the script; a syntax error names its line."""
    for line in ("loadscript hello", "greeting = 'hi'", "print(greeting)", "endscript"):
        assert sim.process(line) is None
    assert sim.process("hello()") == "hi"
    assert sim.process("hello.run()") == "hi"
    assert sim.process("print(hello.source)") == "greeting = 'hi'\nprint(greeting)"
    sim.process("script.delete('hello')")
    assert sim.process("print(hello)") == "nil"
    for line in ("loadscript broken", "x = 1", "y = = 2", "endscript"):
        sim.process(line)
    assert errors(sim) == ["-2.85000e+02\tTSP Syntax error at line 2: unexpected symbol near `='"
                           "\t2.00000e+01\t1.00000e+00"]
    for line in ("loadandrunscript", "print('ran at once')"):
        assert sim.process(line) is None
    assert sim.process("endscript") == "ran at once"


def test_pulse_mode_sweep_with_timers_runs_in_virtual_time(sim, station, drive_log):
    """Manual, "Using timers to perform pulse mode sweeps" (Rev. B section 3): 5 pulses of 1 ms every 5 ms, each
    measured 60 µs before its end; the output is at 0 V between pulses; the device potentiates."""
    log = drive_log()
    for line in ["loadscript pulses", *PULSE_SWEEP.splitlines(), "endscript"]:
        sim.process(line)
    t0 = station.clock.now()
    sim.process("pulses()")
    assert station.clock.now() - t0 == pytest.approx(4 * 5e-3 + 1e-3)
    assert errors(sim) == []
    values = sim.process("printbuffer(1, smua.nvbuffer1.n, smua.nvbuffer1.timestamps, smua.nvbuffer2, smua.nvbuffer1)")
    t, v, i = np.array([float(x) for x in values.split(",")]).reshape(5, 3).T
    assert t == pytest.approx(np.arange(5) * 5e-3)
    assert v == pytest.approx([1.0, 1.2, 1.4, 1.6, 1.8])
    assert np.all(np.diff(i / v) > 0)                                # the pulses potentiate
    pulses = [(t1 - t0, v0) for (t0, v0), (t1, _) in zip(log, log[1:]) if v0]
    assert [width for width, _ in pulses] == pytest.approx([1e-3] * 5)
    assert [level for _, level in pulses] == pytest.approx([1.0, 1.2, 1.4, 1.6, 1.8])
    assert sim.process("print(status.operation.sweeping.condition)") == "0.00000e+00"


def test_timer_delay_list_passthrough_and_bus_trigger(sim, station):
    """Manual, "Triggering" / "Timers": a passthrough timer fires at once and after each delay of its delay
    list in turn, count times; the arm layer waits for *TRG (trigger.EVENT_ID)."""
    script = ("smua.source.output = smua.OUTPUT_ON smua.measure.nplc = 0.001 "
              "trigger.timer[1].delaylist = {1e-3, 2e-3} trigger.timer[1].count = 4 "
              "trigger.timer[1].passthrough = true trigger.timer[1].stimulus = smua.trigger.ARMED_EVENT_ID "
              "smua.trigger.arm.stimulus = trigger.EVENT_ID smua.trigger.source.listv({0.1}) "
              "smua.trigger.source.action = smua.ENABLE smua.trigger.source.stimulus = trigger.timer[1].EVENT_ID "
              "smua.trigger.measure.i(smua.nvbuffer1) smua.trigger.measure.action = smua.ENABLE "
              "smua.trigger.count = 5 smua.trigger.initiate()")
    sim.process(script)
    assert sim.process("print(status.operation.sweeping.condition)") == "2.00000e+00"   # waits for *TRG
    t0 = station.clock.now()
    sim.process("*TRG")
    assert sim.process("print(status.operation.sweeping.condition)") == "0.00000e+00"
    stamps = sim.process("printbuffer(1, 5, smua.nvbuffer1.timestamps)")
    assert [float(x) for x in stamps.split(",")] == pytest.approx([0, 1e-3, 3e-3, 4e-3, 6e-3])
    assert station.clock.now() - t0 == pytest.approx(6e-3 + 0.001 / 60)


def test_sweep_limits_and_abort(sim):
    """An endless count cannot run in virtual time (-221); sweep points beyond the fixed source
    range are refused; a sweep waiting for the front-panel TRIG key stops with smua.abort()."""
    sim.process("smua.trigger.count = 0")
    assert errors(sim)[0].startswith("-2.21000e+02\tSettings conflict")
    sim.process("smua.source.autorangev = 0 smua.source.rangev = 1 smua.trigger.source.listv({0.5, 5})")
    assert [e.split("\t")[1] for e in errors(sim)] == ["Parameter too big"]
    sim.process("smua.trigger.source.listv({0.5}) smua.trigger.source.action = smua.ENABLE "
                "smua.trigger.arm.stimulus = display.trigger.EVENT_ID smua.trigger.initiate() waitcomplete()")
    assert sim.process("print(status.operation.sweeping.condition)") == "2.00000e+00"
    sim.process("smua.abort()")
    assert sim.process("print(status.operation.sweeping.condition)") == "0.00000e+00"


def test_smub_is_an_open_circuit_and_a_2601b_has_none(sim):
    """2602B: smub is unwired, so it reads no current and its own level; the 2601B has only smua."""
    sim.process("smub.source.levelv = 1 smub.source.output = smub.OUTPUT_ON")
    assert sim.process("print(smub.measure.iv())") == "0.00000e+00\t1.00000e+00"
    assert other_model("2601B").process("print(smub)") == "nil"


def test_power_loss_drops_the_output_and_forgets_everything(sim, station):
    """Mains lost and back: output off, settings at power-on values, scripts and errors gone."""
    for line in ("loadscript kept", "print(1)", "endscript",
                 "localnode.linefreq = 50 smua.source.levelv = 1 smua.source.output = smua.OUTPUT_ON", "bad("):
        sim.process(line)
    assert station.node.ports[0].voltage == 1.0
    sim.power_loss()
    assert station.node.ports[0].voltage == 0.0                     # normal output-off: 0 V
    assert sim.process("print(kept, smua.source.output, smua.source.levelv, localnode.linefreq)") == \
        "nil\t0.00000e+00\t0.00000e+00\t6.00000e+01"
    assert sim.process("print(errorqueue.next())") == EMPTY


def test_unread_reply_is_interrupted_by_the_next_command(tsp):
    """IEEE 488.2 §6.3.2.3 on the TSP interface: an unread reply is discarded, -410 queued."""
    tsp.write("print(1)")
    tsp.write("print(errorqueue.next())")
    code, message = tsp.read().split("\t")[:2]
    assert (float(code), message) == (-410, "Query INTERRUPTED")


@pytest.fixture
def served(station):
    server = InstrumentServer({"smu": station.instruments["smu"]}).start()
    rm = pyvisa.ResourceManager("@py")
    yield server.endpoints[0].resource
    rm.close()
    server.close()


def test_pymeasure_keithley2600_works_unchanged_over_tcp(served, station):
    """Issue #4: pymeasure's own Keithley2600 over pyvisa-py TCP: identify, voltage source with a
    current limit, output on, readings that follow the device model, output off."""
    with pytest.warns(FutureWarning, match="SCPI"):
        smu = PymeasureKeithley2600(served, visa_library="@py", read_termination="\n", write_termination="\n",
                                    timeout=5000)
    try:
        assert smu.id == "Keithley Instruments, Model 2602B, 4381102, 4.0.4"
        smu.ChA.apply_voltage(compliance_current=1e-3)
        smu.ChA.measure_current(nplc=1)
        smu.ChA.source_voltage = 0.1
        smu.ChA.source_output = "ON"
        assert smu.ChA.source_mode == "voltage" and smu.ChA.source_output == "ON"
        assert smu.ChA.compliance_current == pytest.approx(1e-3)
        assert smu.ChA.current == pytest.approx(station.model.params.g_min * 0.1, rel=0.02)
        assert smu.ChA.voltage == pytest.approx(0.1)
        assert smu.check_errors() == []
        smu.ChA.source_output = "OFF"
        assert smu.ChA.source_output == "OFF"
        assert station.node.ports[0].voltage == 0.0
    finally:
        smu.adapter.close()


def test_pulse_train_script_loaded_over_tcp_returns_its_buffered_readings(served, station):
    """Issue #5: the manual's pulse-sweep script, sent line by line inside loadscript/endscript by
    a plain pyvisa client over TCP, runs on the simulated 2602B and returns its buffered readings."""
    rm = pyvisa.ResourceManager("@py")
    inst = rm.open_resource(served, read_termination="\n", write_termination="\n", timeout=5000)
    try:
        inst.write("loadscript pulsetrain")
        for line in PULSE_SWEEP.splitlines():
            inst.write(line)
        inst.write("endscript")
        inst.write("pulsetrain()")
        assert inst.query("print(smua.nvbuffer1.n)") == "5.00000e+00"
        values = [float(x) for x in inst.query("printbuffer(1, 5, smua.nvbuffer2, smua.nvbuffer1)").split(",")]
        volts, amps = np.array(values).reshape(5, 2).T
        assert volts == pytest.approx([1.0, 1.2, 1.4, 1.6, 1.8])
        assert np.all(np.diff(amps / volts) > 0)
        assert inst.query("print(errorqueue.next())") == EMPTY
    finally:
        inst.close()
        rm.close()


def test_a_delay_list_of_several_delays_must_average_50_us(sim):
    """trigger.timer[N].delaylist (TSP command reference): with more than one element, the average
    of the delays must be ≥ 50 µs; one short delay among long ones is fine."""
    sim.process("trigger.timer[2].delaylist = {1e-6, 1e-6, 1e-6}")
    assert errors(sim) == ["1.10200e+03\tParameter too small\t2.00000e+01\t1.00000e+00"]
    assert sim.process("print(table.getn(trigger.timer[2].delaylist))") == "1.00000e+00"
    sim.process("trigger.timer[2].delaylist = {1e-6, 99e-6} trigger.timer[3].delaylist = {1e-6}")
    assert errors(sim) == []


def test_a_function_returning_nothing_prints_an_empty_line_and_nil_stays_nil(sim):
    """Lua 5.0 print() writes its arguments, none for a call that returns nothing (issue #14's
    recorded traffic: an empty line, not ``nil``); an explicit nil prints ``nil``."""
    assert sim.process("print(smua.reset())") == ""
    assert sim.process("print(smua.nvbuffer1.clear())") == ""
    assert sim.process('print(select("#", smua.reset()))') == "0.00000e+00"
    assert sim.process("print(nil)") == "nil"
    assert sim.process("x = smua.reset() print(x)") == "nil"


def test_resistance_without_current_is_the_overflow_value_and_self_test_passes(sim):
    """``smuX.measure.r()`` with no current prints ``9.91000e+37`` (recorded 2600B reply; Lua's
    ``inf`` is never printed by the firmware); ``*TST?`` answers ``0`` (App. D script equivalent)."""
    assert sim.process("print(smua.measure.r())") == "9.91000e+37"
    assert sim.process("*TST?") == "0"
