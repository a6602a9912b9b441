"""The simulated 33522B and AFG31022 answer as their manuals say and drive the device through 50 Ω.

Keysight: 33500 Series Operating and Service Guide (33500-90901), "Output Termination", "Pulse
Waveforms", "Burst Mode" and the SCPI reference (FUNCtion, VOLTage, OUTPut, BURSt, TRIGger,
SYSTem:ERRor?). Tektronix: AFG31000 Series Programmer Manual (077-1643-xx) command syntax; the
AFG has no BUS trigger source, ``*TRG`` triggers whatever the source, so bursts wait on EXTernal.
pymeasure's own Agilent33500 and AFG3152C are run unchanged against the simulators over TCP.
"""
import math

import pytest
import pyvisa

from labsuite.simulator.faults import ConnectionDropped, Fault
from labsuite.simulator.server import InstrumentServer
from labsuite.simulator.station import SimulatedStation

KEYSIGHT_IDN = "Keysight Technologies,33522B,MY59001234,4.03-1.19-2.00-58-00"
AFG_IDN = "TEKTRONIX,AFG31022,C010203,SCPI:99.0 FV:1.6.2"
NO_ERROR = {"keysight33500": '+0,"No error"', "tektronixafg31000": '0,"No error"'}


def burst_setup(name: str, level: float, width: float, period: float, count: int, channel: int = 1) -> str:
    """One message arming ``channel`` for a bus-triggered burst of pulses 0 V → ``level`` (open circuit)."""
    n = channel
    if name == "keysight33500":
        return (f":OUTP{n}:LOAD INF;:SOUR{n}:BURS:MODE TRIG;:SOUR{n}:BURS:NCYC {count};:TRIG{n}:SOUR BUS;"
                f":SOUR{n}:BURS:STAT ON;:SOUR{n}:FUNC PULS;:SOUR{n}:FUNC:PULS:PER {period};"
                f":SOUR{n}:FUNC:PULS:WIDT {width};:SOUR{n}:VOLT:HIGH {level};:SOUR{n}:VOLT:LOW 0")
    return (f":OUTP{n}:IMP INF;:SOUR{n}:BURS:MODE TRIG;:SOUR{n}:BURS:NCYC {count};:TRIG:SEQ:SOUR EXT;"
            f":SOUR{n}:BURS:STAT ON;:SOUR{n}:FUNC:SHAP PULS;:SOUR{n}:PULS:PER {period};:SOUR{n}:PULS:WIDT {width};"
            f":SOUR{n}:VOLT:LEV:IMM:HIGH {level};:SOUR{n}:VOLT:LEV:IMM:LOW 0")


OUTPUT_ON = {"keysight33500": ":OUTP1 ON", "tektronixafg31000": ":OUTP1:STAT ON"}
GENERATORS = list(NO_ERROR)


@pytest.fixture
def keysight():
    station = SimulatedStation(seed=5, pulse_generator="keysight33500")
    return station.instruments["pulse_generator"]


@pytest.fixture
def afg():
    station = SimulatedStation(seed=5, pulse_generator="tektronixafg31000")
    return station.instruments["pulse_generator"]


def errors(instrument) -> list[str]:
    """Drain the error queue."""
    found = []
    while (entry := instrument.process(":SYST:ERR?")) not in NO_ERROR.values():
        found.append(entry)
    return found


# --- Keysight 33522B ------------------------------------------------------------------------
def test_keysight_identifies_and_resets_to_the_manual_defaults(keysight):
    """*RST: sine, 1 kHz, 100 mVpp into the 50 Ω load setting, outputs off, burst off with 1
    cycle, trigger source IMMediate; pulse width 100 µs at 10 % duty (guide, "Pulse Waveforms")."""
    assert keysight.process("*IDN?") == KEYSIGHT_IDN
    keysight.process(":SOUR1:FUNC PULS;:OUTP1:LOAD INF;:SOUR1:BURS:STAT ON")
    keysight.process("*RST")
    replies = keysight.process(":SOUR1:FUNC?;:SOUR1:FREQ?;:SOUR1:VOLT?;:SOUR1:VOLT:OFFS?;:OUTP1:LOAD?;:OUTP1?;"
                               ":SOUR1:BURS:STAT?;:SOUR1:BURS:NCYC?;:TRIG1:SOUR?;:SOUR1:FUNC:PULS:WIDT?;"
                               ":SOUR1:FUNC:PULS:PER?;:SOUR1:FUNC:PULS:DCYC?").split(";")
    assert replies[0] == "SIN"
    assert [float(r) for r in replies[1:6]] == pytest.approx([1e3, 0.1, 0.0, 50.0, 0.0])
    assert replies[6:9] == ["0", "+1.000000000000000E+00", "IMM"]
    assert [float(r) for r in replies[9:]] == pytest.approx([100e-6, 1e-3, 10.0])
    assert keysight.process("*OPC?") == "1"


def test_keysight_width_that_does_not_fit_the_period_is_decreased_with_a_settings_conflict(keysight):
    """Guide: the width must be less than the period less the 16 ns minimum width; the instrument
    adjusts it and reports -221."""
    keysight.process(":SOUR1:FUNC PULS;:SOUR1:FUNC:PULS:TRAN MIN;:SOUR1:FUNC:PULS:PER 1e-3;:SOUR1:FUNC:PULS:WIDT 2e-3")
    assert errors(keysight) == ['-221,"Settings conflict;pulse width decreased due to period"']
    assert float(keysight.process(":SOUR1:FUNC:PULS:WIDT?")) == pytest.approx(1e-3 - 16e-9)
    keysight.process(":SOUR1:FUNC:PULS:WIDT 400e-6;:SOUR1:FUNC:PULS:PER 200e-6")   # PULS:HOLD WIDTh
    assert errors(keysight) == ['-221,"Settings conflict;pulse width decreased due to period"']
    assert float(keysight.process(":SOUR1:FUNC:PULS:WIDT?")) == pytest.approx(200e-6 - 16e-9)


def test_keysight_values_out_of_range_are_clipped_with_data_out_of_range(keysight):
    """16 ns minimum width; below 20 ns only the 8.4 ns minimum edge fits (guide, "Pulse Width")."""
    keysight.process(":SOUR1:FUNC PULS;:SOUR1:FUNC:PULS:WIDT 5e-9")
    assert errors(keysight) == ['-222,"Data out of range;value clipped to lower limit"',
                                '-221,"Settings conflict;edge time decreased due to pulse width"']
    assert float(keysight.process(":SOUR1:FUNC:PULS:WIDT?")) == pytest.approx(16e-9)
    assert float(keysight.process(":SOUR1:FUNC:PULS:TRAN:LEAD?")) == pytest.approx(8.4e-9)
    keysight.process(":SOUR1:BURS:NCYC 200000000")
    assert errors(keysight) == ['-222,"Data out of range;value clipped to upper limit"']
    assert float(keysight.process(":SOUR1:BURS:NCYC?")) == 100_000_000


def test_keysight_load_setting_rescales_programmed_levels_and_their_limit(keysight):
    """Guide, "Output Termination": the levels assume the load setting; from 50 Ω to INFinity the
    queried amplitude doubles (no error); 10 Vpp is the most into 50 Ω, 20 Vpp open circuit."""
    keysight.process(":SOUR1:VOLT 1;:OUTP1:LOAD INF")
    assert float(keysight.process(":SOUR1:VOLT?")) == pytest.approx(2.0)
    keysight.process(":OUTP1:LOAD 50")
    assert float(keysight.process(":SOUR1:VOLT?")) == pytest.approx(1.0)
    keysight.process(":SOUR1:VOLT 12")
    assert errors(keysight) == ['-222,"Data out of range;value clipped to upper limit"']
    assert float(keysight.process(":SOUR1:VOLT?")) == pytest.approx(10.0)
    keysight.process(":OUTP1:LOAD INF;:SOUR1:VOLT 12")
    assert errors(keysight) == []
    assert float(keysight.process(":SOUR1:VOLT?")) == pytest.approx(12.0)


def test_keysight_output_cannot_run_free_in_the_simulator(keysight):
    """Continuous output is not simulated: OUTP ON is refused with -221 and the output stays off;
    an armed burst output that is on cannot be switched back to continuous."""
    keysight.process(":OUTP1 ON")
    assert errors(keysight) == ['-221,"Settings conflict;continuous output is not simulated with the output on"']
    assert keysight.process(":OUTP1?") == "0"
    keysight.process(burst_setup("keysight33500", 1.0, 1e-4, 1e-3, 2) + ";:OUTP1 ON")
    assert keysight.process(":OUTP1?") == "1"
    keysight.process(":SOUR1:BURS:STAT OFF;:TRIG1:SOUR IMM")
    assert errors(keysight) == [
        '-221,"Settings conflict;continuous output is not simulated with the output on"',
        '-221,"Settings conflict;free-running burst is not simulated with the output on"']
    assert keysight.process(":SOUR1:BURS:STAT?;:TRIG1:SOUR?;:OUTP1?") == "1;BUS;1"


def test_keysight_unwired_channel_2_plays_into_an_open_circuit(keysight):
    """Channel 2 of the station's generator is not wired: its burst takes time and touches nothing."""
    model = keysight.ports[1].model
    before = model.conductance().copy()
    keysight.process(burst_setup("keysight33500", 2.0, 1e-4, 1e-3, 5, channel=2) + ";:OUTP2 ON")
    assert errors(keysight) == []
    t0 = keysight.clock.now()
    keysight.process("*TRG")
    assert keysight.clock.now() - t0 == pytest.approx(5e-3)
    assert model.conductance() == pytest.approx(before)
    assert keysight.ports[1].voltage is None


@pytest.mark.parametrize("name, query", [
    ("keysight33500", ":OUTP1?;:SOUR1:FUNC?;:OUTP1:LOAD?"),
    ("tektronixafg31000", ":OUTP1:STAT?;:SOUR1:FUNC:SHAP?;:OUTP1:IMP?"),
])
def test_power_loss_drops_the_output_restores_power_on_settings_and_empties_the_queue(name, query):
    """The POWER fault: the output opens at once, settings return to *RST, the queue is empty
    and the connection drops."""
    station = SimulatedStation(seed=5, pulse_generator=name)
    generator, served = station.instruments["pulse_generator"], station.faults["pulse_generator"]
    served.process(burst_setup(name, 1.0, 1e-4, 1e-3, 2) + ";" + OUTPUT_ON[name] + ";:BOGUS")
    assert generator.ports[1].voltage == 0.0
    served.arm(Fault.POWER)
    assert generator.ports[1].voltage is None
    with pytest.raises(ConnectionDropped):
        served.process(":SYST:ERR?")
    output, shape, load = served.process(query).split(";")
    assert (output, shape, float(load)) == ("0", "SIN", 50.0)
    assert served.process(":SYST:ERR?") == NO_ERROR[name]


# --- Tektronix AFG31022 ---------------------------------------------------------------------
def test_afg_identifies_resets_and_answers_its_error_format(afg):
    assert afg.process("*IDN?") == AFG_IDN
    afg.process(":SOUR1:FUNC:SHAP PULS;:TRIG:SEQ:SOUR EXT;:SOUR1:BOGUS")
    afg.process("*RST")
    replies = afg.process(":SOUR1:FUNC:SHAP?;:SOUR1:FREQ?;:SOUR1:VOLT?;:OUTP1:IMP?;:OUTP1:STAT?;"
                          ":SOUR1:BURS:STAT?;:SOUR1:BURS:NCYC?;:TRIG:SEQ:SOUR?").split(";")
    assert replies[0] == "SIN"
    assert [float(r) for r in replies[1:4]] == pytest.approx([1e6, 1.0, 50.0])
    assert replies[4:] == ["0", "0", "5.000000E+00", "TIM"]
    assert afg.process(":SYST:ERR?") == '-113,"Undefined header"'
    assert afg.process(":SYST:ERR?") == '0,"No error"'


def test_afg_timer_triggered_bursts_run_free_so_only_external_ones_are_played(afg):
    """With TIMer the burst repeats at the timer interval: refused with the output on. With
    EXTernal it waits, and *TRG or TRIGger[:SEQuence][:IMMediate] fires it."""
    afg.process(burst_setup("tektronixafg31000", 1.0, 1e-4, 1e-3, 3).replace("EXT", "TIM") + ";:OUTP1:STAT ON")
    assert errors(afg) == ['-221,"Settings conflict;timer-triggered burst is not simulated with the output on"']
    afg.process(":TRIG:SEQ:SOUR EXT;:OUTP1:STAT ON")
    assert errors(afg) == []
    t0 = afg.clock.now()
    afg.process("*TRG")
    afg.process(":TRIG:SEQ:IMM")
    assert afg.clock.now() - t0 == pytest.approx(6e-3)


def test_afg_pulse_lead_delay_is_played_before_the_pulse(afg):
    """PULSe:DELay: each period starts at the idle level for the delay; the time stays one period."""
    afg.process(burst_setup("tektronixafg31000", 1.0, 1e-4, 1e-3, 1) + ";:SOUR1:PULS:DEL 300e-6;:OUTP1:STAT ON")
    port = afg.ports[1]
    seen = []
    drive = port.drive
    port.drive = lambda volts, limit: (seen.append((round(afg.clock.now(), 9), volts)), drive(volts, limit))
    afg.process("*TRG")
    assert [(t, v) for t, v in seen if v is not None] == [(0.0, 0.0), (300e-6, 1.0), (400e-6, 0.0), (1e-3, 0.0)]


def test_pymeasure_afg3152c_header_for_the_load_setting_is_not_an_afg31000_command(afg):
    """AFG3152C sends ``source1:output:impedance``; the AFG31000 has ``OUTPut1:IMPedance``."""
    afg.process("source1:output:impedance 50")
    assert errors(afg) == ['-113,"Undefined header"']


# --- both: the device sees what a 50 Ω source would put on it ---------------------------------
@pytest.mark.parametrize("name, dc", [
    ("keysight33500", ":OUTP1:LOAD {load};:SOUR1:FUNC DC;:SOUR1:VOLT:OFFS 0.3;:OUTP1 ON"),
    ("tektronixafg31000", ":OUTP1:IMP {load};:SOUR1:FUNC:SHAP DC;:SOUR1:VOLT:LEV:IMM:OFFS 0.3;:OUTP1:STAT ON"),
])
@pytest.mark.parametrize("load, emf", [("INF", 0.3), ("50", 0.6)])
def test_a_100_kohm_device_sees_the_emf_behind_50_ohm_as_the_load_setting_implies(name, dc, load, emf):
    """0.3 V programmed: with the load setting INFinity the EMF is 0.3 V, with 50 Ω it is 0.6 V;
    the device (G_min = 10 µS, below its 0.8 V threshold) sees the divider EMF·R/(R + 50 Ω)."""
    station = SimulatedStation(seed=2, pulse_generator=name, model_params={"g_min": "10 uS"})
    generator = station.instruments["pulse_generator"]
    generator.process(dc.format(load=load))
    assert errors(generator) == []
    seen = generator.ports[1].hold(1e-3)
    assert seen.device_voltage == pytest.approx(emf * 100e3 / (100e3 + 50.0), rel=1e-6)
    assert seen.current == pytest.approx(emf / (100e3 + 50.0), rel=1e-6)


@pytest.mark.parametrize("name", GENERATORS)
def test_a_bus_triggered_burst_changes_the_device_as_the_same_pulses_through_50_ohm(name):
    """10 pulses of 1.4 V (open circuit), 100 µs every 1 ms, on one *TRG: the clock moves 10 ms
    and the device ends where the same pulses put through 50 Ω by a bare source port leave it;
    a 2450 reading at 0.1 V afterwards is the same on both benches (same seed, same draws)."""
    station = SimulatedStation(seed=11, pulse_generator=name)
    generator, smu = station.instruments["pulse_generator"], station.instruments["smu"]
    reference = SimulatedStation(seed=11)
    port = reference.node.port("pulses", 50.0)
    g0 = station.model.conductance()[0]

    generator.process(burst_setup(name, 1.4, 100e-6, 1e-3, 10) + ";" + OUTPUT_ON[name])
    assert errors(generator) == []
    t0 = station.clock.now()
    assert generator.process("*TRG;*OPC?") == "1"
    assert station.clock.now() - t0 == pytest.approx(10e-3)
    port.drive(0.0)
    for _ in range(10):
        port.drive(1.4)
        port.hold(100e-6)
        port.drive(0.0)
        port.hold(900e-6)

    assert station.model.conductance() == pytest.approx(reference.model.conductance(), rel=1e-9)
    assert station.model.conductance()[0] > 1.5 * g0
    read = ":SOUR:VOLT 0.1;:SOUR:VOLT:ILIM 1e-3;:OUTP ON;:READ?"
    current = float(smu.process(read))
    assert current == pytest.approx(float(reference.instruments["smu"].process(read)), rel=1e-9)
    assert current > 1.5 * g0 * 0.1


@pytest.mark.parametrize("name", GENERATORS)
def test_the_device_sees_nothing_while_the_output_is_off(name):
    """A burst fired with the output off takes its time; the device is open all along."""
    station = SimulatedStation(seed=3, pulse_generator=name)
    generator = station.instruments["pulse_generator"]
    before = station.model.state()
    generator.process(burst_setup(name, 2.0, 100e-6, 1e-3, 10))
    t0 = station.clock.now()
    generator.process("*TRG")
    assert station.clock.now() - t0 == pytest.approx(10e-3)
    assert generator.ports[1].voltage is None
    assert station.model.state() == pytest.approx(before)
    seen = generator.ports[1].hold(1e-3)
    assert (seen.current, seen.device_voltage) == (0.0, 0.0)


@pytest.mark.parametrize("name", GENERATORS)
def test_opc_sets_operation_complete_once_the_burst_has_played_and_esr_reads_and_clears(name):
    """IEEE 488.2 §11.5.1: *ESR? answers the Standard Event Status Register and clears it. The
    33500 guide (TRIGger subsystem introduction): "*OPC sets the Operation Complete bit (bit 0)
    in the Standard Event register when the sweep or burst is complete"; the AFG3000-family
    manual ("Status and Events"): OPC "is set when all pending operations complete". Bursts play
    inside *TRG in bench time, so *ESR? after *TRG;*OPC finds the bit set with the clock 5 ms on.
    Power-on sets bit 7; errors set bit 5 (command), 4 (execution) or 2 (query); *RST keeps the
    register, *CLS clears it."""
    station = SimulatedStation(seed=3, pulse_generator=name)
    generator = station.instruments["pulse_generator"]
    plus = "+" if name == "keysight33500" else ""

    def esr() -> str:
        return generator.process("*ESR?")
    assert (esr(), esr()) == (f"{plus}128", f"{plus}0")
    generator.process(burst_setup(name, 1.0, 100e-6, 1e-3, 5) + ";" + OUTPUT_ON[name])
    t0 = station.clock.now()
    assert generator.process("*ESR?;*TRG;*OPC;*ESR?") == f"{plus}0;{plus}1"
    assert station.clock.now() - t0 == pytest.approx(5e-3)
    assert esr() == f"{plus}0"
    generator.process("*OPC;*RST")
    assert esr() == f"{plus}1"                                   # *RST leaves the register as it is
    generator.process(":BOGUS;:SOUR1:BURS:NCYC 0")               # -113, then -222 (clipped to 1)
    assert esr() == f"{plus}48"
    generator.process("*OPC;:BOGUS;*CLS")
    assert esr() == f"{plus}0" and errors(generator) == []
    generator.power_loss()
    assert esr() == f"{plus}128"


@pytest.mark.parametrize("name", GENERATORS)
def test_a_command_before_a_reply_is_read_is_query_interrupted_with_the_query_error_bit(name):
    """IEEE 488.2 §6.3.2.3: a new message discards an unread reply, queues -410 and sets QYE (bit
    2); a device clear (§5.8, viClear) empties the output queue without an error."""
    import pyvisa

    station = SimulatedStation(seed=3, pulse_generator=name)
    library = station.visa_library()
    rm = pyvisa.ResourceManager(library)
    visa = rm.open_resource(station.resources["pulse_generator"], read_termination="\n", write_termination="\n")
    try:
        visa.query("*ESR?")                                      # power-on bit read and cleared
        visa.write("*IDN?")
        visa.write("*OPC")
        assert int(visa.query("*ESR?")) == 4 + 1
        assert visa.query(":SYST:ERR?") == '-410,"Query INTERRUPTED"'
        visa.write("*IDN?")
        visa.clear()                                             # device clear drops the reply, no error
        assert visa.query(":SYST:ERR?") == NO_ERROR[name]
    finally:
        visa.close()
        library.close_library()


# --- pymeasure's own classes over pyvisa-py TCP ---------------------------------------------
@pytest.fixture
def served():
    def serve(name: str):
        station = SimulatedStation(seed=4, pulse_generator=name)
        server = InstrumentServer({"pulse_generator": station.instruments["pulse_generator"]}).start()
        servers.append(server)
        return station, server.endpoints[0].resource
    servers = []
    yield serve
    for server in servers:
        server.close()


def test_pymeasure_agilent33500_unchanged_reads_back_pulse_and_burst_settings_over_tcp(served):
    from pymeasure.instruments.agilent import Agilent33500

    station, resource = served("keysight33500")
    generator = Agilent33500(resource, visa_library="@py", read_termination="\n", write_termination="\n",
                             timeout=5000)
    try:
        ch = generator.ch_1
        ch.output_load = "INF"
        ch.shape = "PULS"
        ch.pulse_period = 1e-3
        ch.pulse_width = 100e-6
        ch.pulse_transition = 20e-9
        ch.amplitude = 3.0
        ch.offset = 1.5
        ch.burst_mode = "TRIG"
        ch.burst_ncycles = 7
        ch.burst_state = True
        generator.trigger_source = "BUS"
        ch.output = True
        assert (ch.shape, ch.burst_mode, generator.trigger_source) == ("PULS", "TRIG", "BUS")
        assert (ch.burst_state, ch.output) == (True, True)
        assert ch.output_load == pytest.approx(9.9e37)
        assert [ch.pulse_period, ch.pulse_width, ch.pulse_transition] == pytest.approx([1e-3, 100e-6, 20e-9])
        assert [ch.amplitude, ch.offset, ch.voltage_high, ch.voltage_low] == pytest.approx([3.0, 1.5, 3.0, 0.0])
        assert ch.burst_ncycles == 7
        ch.voltage_high = 2.0
        assert [ch.amplitude, ch.offset] == pytest.approx([2.0, 1.0])
        t0 = station.clock.now()
        generator.trigger()
        assert generator.complete == "1"
        assert station.clock.now() - t0 == pytest.approx(7e-3)
        assert generator.check_errors() == []
    finally:
        generator.adapter.close()


def test_pymeasure_afg3152c_and_plain_pyvisa_read_back_afg31000_settings_over_tcp(served):
    """AFG3152C's shape, amplitude, offset, frequency and duty cycle fit the AFG31000; pulse width,
    edges, burst, trigger and output state (its enable() reads a ``number`` attribute its channels
    do not have in pymeasure 0.16) go through plain pyvisa-py."""
    from pymeasure.instruments.tektronix import AFG3152C

    station, resource = served("tektronixafg31000")
    with pytest.warns(FutureWarning, match="SCPI"):
        generator = AFG3152C(resource, visa_library="@py", read_termination="\n", write_termination="\n",
                             timeout=5000)
    rm = pyvisa.ResourceManager("@py")
    visa = rm.open_resource(resource, read_termination="\n", write_termination="\n", timeout=5000)
    try:
        # two connections: *OPC? on one completes its messages before the other's next one
        visa.query(":SOUR1:BURS:MODE TRIG;:SOUR1:BURS:NCYC 4;:TRIG:SEQ:SOUR EXT;:SOUR1:BURS:STAT ON;*OPC?")
        generator.ch1.shape = "pulse"
        generator.ch1.frequency = 1e3
        generator.ch1.duty = 25.0
        generator.ch1.amp_vpp = 1.0
        generator.ch1.offset = 0.5
        assert generator.opc() == 1
        visa.query(":SOUR1:PULS:TRAN:LEAD 50e-9;:SOUR1:PULS:TRAN:TRA 60e-9;:SOUR1:PULS:DEL 1e-6;:OUTP1:STAT ON;*OPC?")
        assert generator.ch1.shape == "pulse"
        assert [generator.ch1.frequency, generator.ch1.duty] == pytest.approx([1e3, 25.0])
        assert [generator.ch1.amp_vpp, generator.ch1.offset] == pytest.approx([1.0, 0.5])
        replies = visa.query(":SOUR1:PULS:PER?;:SOUR1:PULS:WIDT?;:SOUR1:PULS:TRAN:LEAD?;:SOUR1:PULS:TRAN:TRA?;"
                             ":SOUR1:PULS:DEL?;:SOUR1:BURS:STAT?;:SOUR1:BURS:MODE?;:SOUR1:BURS:NCYC?;"
                             ":TRIG:SEQ:SOUR?;:OUTP1:STAT?;:OUTP1:IMP?").split(";")
        assert [float(r) for r in replies[:5]] == pytest.approx([1e-3, 250e-6, 50e-9, 60e-9, 1e-6])
        assert replies[5:7] == ["1", "TRIG"] and float(replies[7]) == 4 and replies[8:10] == ["EXT", "1"]
        assert float(replies[10]) == 50.0
        visa.query(":OUTP1:IMP INF;*OPC?")
        assert generator.ch1.amp_vpp == pytest.approx(2.0)          # the same EMF, now called 2 Vpp
        t0 = station.clock.now()
        assert visa.query("*TRG;*OPC?") == "1"
        assert station.clock.now() - t0 == pytest.approx(4e-3)
        assert visa.query(":SYST:ERR?") == '0,"No error"'
        assert math.isclose(float(visa.query(":SOUR1:PULS:WIDT?")), 250e-6)
    finally:
        visa.close()
        rm.close()
        generator.adapter.close()


def test_keysight_apply_query_arbitrary_waveform_and_reference_oscillator(keysight):
    """33500 guide ``[SOURce[1|2]:]APPLy?`` (a quoted "<function> <frequency>,<amplitude>,<offset>",
    the shape of the 33250A guide p. 152 in the 33500's number form), ``FUNCtion:ARBitrary?`` and
    ``DATA:VOLatile:CATalog?`` (quoted names), ``ROSCillator:SOURce`` (kept through *RST),
    ``VOLTage:LIMit:STATe`` (OFF)."""
    assert keysight.process("APPL?") == '"SIN +1.000000000000000E+03,+1.000000000000000E-01,+0.000000000000000E+00"'
    keysight.process(":SOUR2:FUNC PULS;:SOUR2:FREQ 2e3;:SOUR2:VOLT 1;:SOUR2:VOLT:OFFS 0.25")
    assert keysight.process(":SOUR2:APPL?") == \
        '"PULS +2.000000000000000E+03,+1.000000000000000E+00,+2.500000000000000E-01"'
    assert keysight.process("FUNC:ARB?") == keysight.process("DATA:VOL:CAT?") == r'"INT:\BUILTIN\EXP_RISE.ARB"'
    keysight.process('FUNC:ARB "NOT_LOADED.ARB"')
    assert errors(keysight) == ['-224,"Illegal parameter value;arbitrary waveform not in volatile memory"']
    assert keysight.process("ROSC:SOUR?") == "INT"
    keysight.process(":ROSC:SOUR EXT;*RST")
    assert keysight.process(":ROSC:SOUR?;:ROSC:SOUR:CURR?") == "EXT;INT"
    assert keysight.process("VOLT:LIM:STAT?") == "0"
    assert errors(keysight) == []


def test_afg_trigger_slope(afg):
    """AFG31000 programmer manual ``TRIGger[:SEQuence]:SLOPe POSitive|NEGative``: POS after *RST."""
    assert afg.process("TRIG:SEQ:SLOP?") == "POS"
    afg.process("TRIG:SLOP NEGative")
    assert afg.process("TRIGger:SEQuence:SLOPe?") == "NEG"
    afg.process("*RST")
    assert afg.process("TRIG:SLOP?") == "POS"
    afg.process("TRIG:SLOP UP")
    assert errors(afg) == ['-224,"Illegal parameter value"']
