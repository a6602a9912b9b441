"""Issue #14: QCoDeS's own drivers, unchanged, against the simulated instruments over pyvisa-py and
loopback TCP. Each test walks one driver through connect, reset, source and limit, output on,
measurement (the reading follows the device model: I = G·V), buffered readings where the driver
offers them, output off; then asks the simulated instrument itself that the output is off and that
its error queue is empty (QCoDeS drivers never read it, so a refused command would go unseen)."""
import pytest
from qcodes.instrument import Instrument

from labsuite.simulator.server import InstrumentServer
from labsuite.simulator.station import SimulatedStation

SEED = 7


@pytest.fixture(autouse=True)
def close_qcodes_instruments():
    yield
    Instrument.close_all()


def settled(instrument) -> bool:
    """A round trip through the driver's own connection: every write it sent before has been
    executed, so the simulated instrument can be asked directly."""
    return instrument.visa_handle.query("*OPC?") == "1"   # raw: QCoDeS's 2600 ask() wraps it in print()


def serve(smu: str, pulse_generator: str | None = None):
    """A station and a running server for it: ``(station, server, {role: resource})``."""
    station = SimulatedStation(seed=SEED, smu=smu, pulse_generator=pulse_generator)
    server = InstrumentServer(station.instruments).start()
    return station, server, {e.role: e.resource for e in server.endpoints}


def test_qcodes_keithley2450(request):
    """2450-901-01 Rev. B App. B ``*LANG?`` (the driver's connect check), §6 SOURce/SENSe/TRACe/
    FETCh/ROUTe queries a snapshot reads, the defbuffer1 elements incl. UNIT, voltage and
    resistance measurement, a linear sweep, and the current source with its voltage limit."""
    from qcodes.instrument_drivers.Keithley import Keithley2450
    station, server, res = serve("keithley2450")
    request.addfinalizer(server.close)
    sim = station.instruments["smu"]
    k = Keithley2450("k2450", res["smu"], visalib="@py", timeout=5)
    g = station.model.params.g_min
    k.source.voltage  # the driver builds its source/sense submodules for the present functions
    k.reset()
    assert k.submodules["_source_current"].limit() == 21.0          # *RST voltage limit
    k.source_function("voltage")
    k.sense_function("current")
    k.terminals("front")
    k.source.limit(1e-3)
    k.source.voltage(0.1)
    k.sense.nplc(1)
    assert k.source.limit() == pytest.approx(1e-3)
    k.output_enabled(True)
    assert k.sense.current() == pytest.approx(g * 0.1, rel=0.03)
    buffer = k.buffer("defbuffer1")
    buffer.elements(["measurement", "source_value", "measurement_unit", "measurement_status"])
    reading, source, unit, status = buffer.get_last_reading().split(",")
    assert (float(reading), float(source), unit) == (pytest.approx(g * 0.1, rel=0.03), pytest.approx(0.1), "Amp DC")
    buffer.elements([])
    mine = k.buffer("mine", size=100)             # `:TRACe:MAKE 'mine', 100, ` (empty style)
    k.sense.count(3)
    mine.trigger_start()                          # :SENS:COUN readings into the buffer
    assert mine.number_of_readings() == 3
    assert [float(x) for x in mine.get_data(1, 3)] == pytest.approx([g * 0.1] * 3, rel=0.03)
    mine.delete()
    k.sense.count(1)
    k.buffer_name("defbuffer1")
    k.sense_function("voltage")
    assert k.sense.voltage() == pytest.approx(0.1, rel=1e-3)     # V source held at 0.1 V, read back
    k.sense_function("resistance")
    assert k.sense.resistance() == pytest.approx(1 / g, rel=0.03)
    k.sense_function("current")
    k.source.sweep_setup(0.0, 0.2, 5)
    swept = k.sense.sweep()
    assert swept == pytest.approx([g * v for v in (0.0, 0.05, 0.1, 0.15, 0.2)], rel=0.03, abs=1e-8)
    k.source_function("current")                 # source 1 µA under a 2 V limit, measure V = I/G
    k.source.limit(2)
    k.source.current(1e-6)
    k.sense_function("voltage")
    assert k.sense.voltage() == pytest.approx(1e-6 / g, rel=0.03)
    assert k.source.limit_tripped() is False
    k.source.current(1e-3)                       # more than g_max · 2 V: the source stops at its 2 V limit
    assert k.sense.voltage() == pytest.approx(2.0, rel=1e-3)
    assert k.source.limit_tripped() is True
    k.source.current(0)
    k.sense_function("current")
    k.source_function("voltage")
    # the driver asks `…:DELay:USERNone?` of a submodule whose user_number was never set (a
    # header no 2450 knows): choose one for each before a snapshot reads them all
    for name, module in k.submodules.items():
        if name.startswith(("_source_", "_sense_")):
            module.user_number(1)
    snapshot = k.snapshot(update=True)
    assert snapshot["submodules"]["_sense_current"]["parameters"]["auto_zero_enabled"]["value"] is True
    assert snapshot["submodules"]["_source_current"]["parameters"]["limit"]["value"] == 2.0
    k.output_enabled(False)
    assert settled(k)
    assert sim.process(":OUTP?") == "0"
    assert sim.process(":SYST:ERR?") == '0,"No error;0;0 0"'


def test_qcodes_keithley2400(request):
    """2400S-900-01 §18: ``:*RST`` as the driver sends it really resets; V source / I measure,
    then the current source (``mode("CURR")``) under a voltage compliance."""
    from qcodes.instrument_drivers.Keithley import Keithley2400
    station, server, res = serve("keithley2400")
    request.addfinalizer(server.close)
    sim = station.instruments["smu"]
    k = Keithley2400("k2400", res["smu"], visalib="@py", timeout=5)
    g = station.model.params.g_min
    k.nplci(0.1)
    k.reset()
    assert k.nplci() == pytest.approx(1.0)       # the *RST default: the reset happened
    k.mode("VOLT")
    k.rangev(2)
    k.compliancei(1e-3)
    k.volt(0.1)
    k.output(1)
    assert k.curr() == pytest.approx(g * 0.1, rel=0.03)
    assert k.resistance() == pytest.approx(1 / g, rel=0.03)
    k.output(0)
    k.mode("CURR")                               # source 1 µA under a 2 V compliance: V = I/G
    k.compliancev(2)
    k.curr(1e-6)
    k.output(1)
    assert k.volt() == pytest.approx(1e-6 / g, rel=0.03)
    assert k.curr() == pytest.approx(1e-6, rel=0.03)
    k.output(0)
    assert len(str(k.snapshot(update=True))) > 0
    assert settled(k)
    assert sim.process(":OUTP?") == "0"
    assert sim.process(":SYST:ERR?") == '+0,"No error"'


@pytest.mark.parametrize("driver", ["Keithley2602B", "Keithley2636B"])
def test_qcodes_keithley2600(request, driver):
    """2600BS-901-01 §9: ``status.measurement.instrument.smuX.condition`` beside every reading,
    ``display.screen``, and the REAL32 ``#0`` printbuffer QCoDeS's timetrace and fastsweep read."""
    import qcodes.instrument_drivers.Keithley as drivers
    from qcodes.dataset import LinSweep
    station, server, res = serve("keithley2600")
    request.addfinalizer(server.close)
    sim = station.instruments["smu"]
    k = getattr(drivers, driver)("k2600", res["smu"], visalib="@py", timeout=5)
    g = station.model.params.g_min
    a = k.smua
    k.reset()
    a.mode("voltage")
    a.limiti(1e-3)
    a.volt(0.1)
    a.output("on")
    assert a.curr() == pytest.approx(g * 0.1, rel=0.03)
    assert a.curr.measurement_status is not None and a.curr.measurement_status.name == "NORMAL"
    assert a.res() == pytest.approx(1 / g, rel=0.03)
    a.nplc(0.1)
    a.timetrace_npts(10)
    a.timetrace_dt(0.01)
    trace = a.timetrace()
    assert len(trace) == 10 and trace == pytest.approx([g * 0.1] * 10, rel=0.03)
    a.setup_fastsweep(LinSweep(a.volt, 0.0, 0.2, 5, 0.001), mode="IV")
    assert a.fastsweep() == pytest.approx([g * v for v in (0.0, 0.05, 0.1, 0.15, 0.2)], rel=0.03, abs=1e-8)
    a.output("off")
    k.display_normal()
    assert len(str(k.snapshot(update=True))) > 0
    assert settled(k)
    assert sim.process("print(smua.source.output)") == "0.00000e+00"
    assert sim.process("print(errorqueue.count)") == "0.00000e+00"


def test_qcodes_keysight_b2962a(request):
    """B2900 SCPI Command Reference ch. 4: SENSe VOLTage protection, REMote, MEASure RESistance,
    SOURce CURRent, as QCoDeS's B2962A driver reads them; the DC current source (V = I/G)."""
    from qcodes.instrument_drivers.Keysight import KeysightB2962A
    station, server, res = serve("keysightb2900")
    request.addfinalizer(server.close)
    sim = station.instruments["smu"]
    k = KeysightB2962A("b2962", res["smu"], visalib="@py", timeout=5)
    g = station.model.params.g_min
    c = k.ch1
    k.write("*RST")
    c.source_mode("voltage")
    c.current_limit(1e-3)
    c.voltage_limit(2)
    c.source_voltage(0.1)
    assert c.source_voltage() == pytest.approx(0.1)
    assert c.voltage_limit() == pytest.approx(2)
    c.enable("on")
    assert c.current() == pytest.approx(g * 0.1, rel=0.03)
    assert c.resistance() == pytest.approx(1 / g, rel=0.03)
    c.source_current(1e-6)                      # source 1 µA under the 2 V limit: V = I/G
    c.source_mode("current")
    assert c.voltage() == pytest.approx(1e-6 / g, rel=0.03)
    assert c.source_current() == pytest.approx(1e-6)
    c.source_mode("voltage")
    assert len(str(k.snapshot(update=True))) > 0
    c.enable("off")
    assert settled(k)
    assert sim.process(":OUTP1?") == "0"
    assert sim.process(":SYST:ERR?") == '+0,"No error"'


def test_qcodes_keysight_33522b(request):
    """33500 Operating and Service Guide: every query a QCoDeS snapshot reads, then a pulse burst."""
    from qcodes.instrument_drivers.Keysight import Keysight33522B
    station, server, res = serve("keithley2450", pulse_generator="keysight33500")
    request.addfinalizer(server.close)
    sim = station.instruments["pulse_generator"]
    k = Keysight33522B("awg", res["pulse_generator"], visalib="@py", timeout=5)
    c = k.ch1
    k.write("*RST")
    assert len(str(k.snapshot(update=True))) > 0
    assert c.trigger_slope() == "POS" and c.phase() == 0 and c.frequency_mode() == "CW"
    c.function_type("PULS")
    c.frequency(1e3)
    c.amplitude(1.0)
    c.offset(0.5)
    c.pulse_width(1e-5)
    c.trigger_source("BUS")
    c.burst_ncycles(3)
    c.burst_mode("N Cycle")
    c.burst_state("ON")
    assert (c.frequency(), c.amplitude(), c.pulse_width()) == (pytest.approx(1e3), pytest.approx(1.0),
                                                               pytest.approx(1e-5))
    c.output("ON")
    k.force_trigger()
    c.output("OFF")
    k.sync_channel_phases()
    assert settled(k)
    assert sim.process("OUTP1?") == "0"
    assert sim.process("SYST:ERR?") == '+0,"No error"'
