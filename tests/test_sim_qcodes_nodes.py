"""Issue #14: the nodes added for QCoDeS's drivers, checked on the simulated instruments directly
(reply shapes, *RST values and what each does to the device); each test names its manual section."""
import struct

import pytest

from labsuite.simulator.station import SimulatedStation


def smu(kind: str):
    station = SimulatedStation(seed=7, smu=kind)
    return station, station.instruments["smu"]


def test_2600_binary_printbuffer_and_printnumber():
    """2600BS-901-01 Rev. F §9 ``format.data`` (p. 9-102): binary data starts with ``#0`` and is
    the IEEE-754 values in ``format.byteorder`` (p. 9-101: 0 NORMAL = big-endian, 1 SWAPPED);
    print() stays text."""
    _, tsp = smu("keithley2600")
    tsp.process("format.data = format.REAL64 format.byteorder = format.NORMAL")
    reply = tsp.process("printnumber(1.5, -2)")
    assert reply.encode("latin-1") == b"#0" + struct.pack(">2d", 1.5, -2.0)
    tsp.process("format.data = format.REAL32 format.byteorder = format.SWAPPED")
    tsp.process("t = {0.25, 3} ")
    assert tsp.process("printbuffer(1, 2, t)").encode("latin-1") == b"#0" + struct.pack("<2f", 0.25, 3.0)
    assert tsp.process("print(2)") == "2.00000e+00"
    tsp.process("format.data = 7")
    assert tsp.process("print(format.data, errorqueue.next())").split("\t")[:2] == ["2.00000e+00", "1.10100e+03"]


def test_2600_measurement_condition_follows_compliance_and_buffers():
    """Rev. C §7 ``status.measurement.instrument.smuX`` (p. 7-285): ILMT (2) while the voltage
    source is at its current limit, BAV (256) once a dedicated buffer holds a reading."""
    station, tsp = smu("keithley2600")
    tsp.process("smua.source.levelv = 0.1 smua.source.limiti = 1e-3 smua.source.output = 1")
    assert tsp.process("print(smua.measure.i(), status.measurement.instrument.smua.condition)").split("\t")[1] \
        == "0.00000e+00"
    tsp.process("smua.source.limiti = 1e-6 smua.measure.i(smua.nvbuffer1)")     # 2 µA wanted
    assert tsp.process("print(status.measurement.instrument.smua.condition)") == f"{2 + 256:.5e}"
    assert tsp.process("print(status.measurement.instrument.smua.ILMT, display.screen, display.SMUA_SMUB)") \
        == "2.00000e+00\t2.00000e+00\t2.00000e+00"
    tsp.process("display.screen = display.USER smua.source.output = 0")
    assert tsp.process("print(display.screen, errorqueue.count)") == "3.00000e+00\t0.00000e+00"


def test_2450_language_count_fetch_and_buffers():
    """2450-901-01 Rev. B App. B ``*LANG`` (only the SCPI set is simulated), §6
    ``[:SENSe[1]]:COUNt``, ``:FETCh?`` (an empty buffer has no latest reading), ``:TRACe:MAKE``
    with an empty style (as QCoDeS sends it), ``:TRACe:DELete``."""
    _, sim = smu("keithley2450")
    sim.process("*LANG SCPI")
    assert sim.process("*LANG?") == "SCPI" and sim.process(":SYST:ERR?").startswith("0,")
    sim.process("*LANG TSP")
    assert sim.process(":SYST:ERR?").startswith("-221,") and sim.process("*LANG?") == "SCPI"
    assert sim.process(":FETC?") is None and sim.process(":SYST:ERR?").startswith("-230,")
    sim.process(":TRAC:MAKE 'mine', 100, ;:SENS:COUN 3;:SOUR:VOLT 0.1;:OUTP ON")
    sim.process(":MEAS? 'mine'")
    assert sim.process(":TRAC:ACT? 'mine';:SENS:COUN?") == "3;3"
    sim.process(":TRAC:DEL 'mine';:TRAC:DEL 'defbuffer1'")
    assert sim.process(":SYST:ERR?").startswith("-221,")
    assert sim.process(":TRAC:ACT? 'mine'") is None and sim.process(":SYST:ERR?").startswith("-224,")
    sim.process(":OUTP OFF")


def test_b2900_resistance_is_not_a_number_without_current():
    """B2900 SCPI Command Reference ch. 1 data output format: ``+9.910000E+37`` for a value that
    cannot be computed — the resistance with no current through the open output."""
    _, sim = smu("keysightb2900")
    sim.process(":OUTP:ON:AUTO OFF")
    assert sim.process(":MEAS:RES? (@1)") == "+9.910000E+37"
    assert sim.process(":SYST:ERR?") == '+0,"No error"'


def test_33500_trigger_delay_plays_before_the_burst_and_phase_other_than_0_is_refused():
    """33500 Operating and Service Guide, ``TRIGger:DELay`` (from the trigger to the burst) and
    ``[SOURce]:PHASe``: a burst here starts at phase 0, so another phase is refused with -221."""
    station = SimulatedStation(seed=7, pulse_generator="keysight33500")
    gen = station.instruments["pulse_generator"]
    gen.process(":SOUR1:FUNC PULS;:SOUR1:FREQ 1000;:SOUR1:FUNC:PULS:WIDT 1e-4;:SOUR1:BURS:MODE TRIG;"
                ":SOUR1:BURS:NCYC 2;:SOUR1:BURS:STAT ON;:TRIG1:SOUR BUS;:TRIG1:DEL 0.01;:OUTP1 ON")
    t0 = gen.clock.now()
    gen.process("*TRG")
    assert gen.clock.now() - t0 == pytest.approx(0.01 + 2e-3)
    gen.process(":SOUR1:PHAS 90")
    assert gen.process(":SYST:ERR?").startswith("-221,") and float(gen.process(":SOUR1:PHAS?")) == 0.0
    gen.process(":OUTP1 OFF")
