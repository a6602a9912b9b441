"""The simulated 2450 answers a plain pyvisa client as the manual says the real one does."""
import numpy as np
import pytest


def test_error_queue_reports_undefined_header_in_2450_format(visa):
    assert visa.query(":SYST:ERR?") == '0,"No error;0;0 0"'
    visa.write(":SOUR:VOLTAGE:BOGUS 1")
    code, rest = visa.query(":SYST:ERR?").split(",", 1)
    assert code == "-113" and rest.startswith('"Undefined header;1;')
    assert visa.query(":SYST:ERR?") == '0,"No error;0;0 0"'


def test_out_of_range_values_are_refused_with_an_error(visa):
    visa.write(":SOUR:VOLT:ILIM 2")
    assert visa.query(":SYST:ERR?").startswith("-222,")
    assert float(visa.query(":SOUR:VOLT:ILIM?")) == pytest.approx(105e-6)
    visa.write(":SOUR:VOLT 250")
    assert visa.query(":SYST:ERR?").startswith("-222,")


def test_reads_current_of_the_device_model(visa, station):
    """Read at 0.1 V on a fresh device: I = G_min·V = 2 µA, within read noise."""
    visa.write(":SOUR:VOLT 0.1;:SOUR:VOLT:ILIM 1e-3;:OUTP ON")
    current = float(visa.query(":READ?"))
    assert current == pytest.approx(station.model.params.g_min * 0.1, rel=0.02)
    visa.write(":OUTP OFF")
    assert visa.query(":OUTP?") == "0"


def test_compliance_clamps_the_current_and_sets_the_trip_flag(visa):
    visa.write(":SOUR:VOLT:ILIM 1e-6;:SOUR:VOLT 0.5;:OUTP ON")   # 0.5 V × 20 µS = 10 µA wanted
    assert abs(float(visa.query(":READ?"))) <= 1e-6
    assert visa.query(":SOUR:VOLT:ILIM:TRIP?") == "1"


def test_measurement_integrates_nplc_on_the_virtual_clock(visa, station):
    t0 = station.clock.now()
    visa.write(":SENS:CURR:NPLC 6")
    visa.query(":READ?")
    assert station.clock.now() - t0 == pytest.approx(0.1)           # 6 PLC at 60 Hz


def test_trigger_model_runs_a_config_list_train(visa, station):
    """Three write/read repeats: the clock advances by the program and three readings come back."""
    visa.write(":SOUR:VOLT:ILIM 1e-3;:SENS:CURR:NPLC 0.06")        # 1 ms aperture
    visa.write(':SOUR:CONF:LIST:CRE "w";:SOUR:VOLT 1.5;:SOUR:CONF:LIST:STOR "w"')
    visa.write(':SOUR:CONF:LIST:CRE "r";:SOUR:VOLT 0.1;:SOUR:CONF:LIST:STOR "r"')
    visa.write(':TRIG:LOAD "Empty";:TRIG:BLOC:BUFF:CLE 1,"defbuffer1"')
    visa.write(':TRIG:BLOC:CONF:NEXT 2,"w";:TRIG:BLOC:SOUR:STAT 3,ON;:TRIG:BLOC:DEL:CONS 4,100e-6')
    visa.write(':TRIG:BLOC:CONF:NEXT 5,"r";:TRIG:BLOC:SOUR:STAT 6,ON;:TRIG:BLOC:DEL:CONS 7,4e-3')
    visa.write(':TRIG:BLOC:MEAS 8,"defbuffer1";:TRIG:BLOC:BRAN:COUN 9,3,2;:TRIG:BLOC:SOUR:STAT 10,OFF')
    t0 = station.clock.now()
    assert visa.query(":INIT;*OPC?") == "1"
    assert station.clock.now() - t0 == pytest.approx(3 * (100e-6 + 5e-3))
    assert visa.query(":TRAC:ACT?") == "3"
    values = [float(x) for x in visa.query(':TRAC:DATA? 1,3,"defbuffer1",REL,SOUR,READ').split(",")]
    rel, source, current = values[0::3], values[1::3], values[2::3]
    assert rel == pytest.approx([0, 5.1e-3, 10.2e-3])
    assert source == pytest.approx([0.1] * 3)
    assert current[0] < current[1] < current[2]                        # each write potentiates
    assert visa.query(":OUTP?") == "0"
    assert visa.query(":TRIG:STAT?") == "IDLE;IDLE;10"
    assert visa.query(":SYST:ERR?") == '0,"No error;0;0 0"'


def test_config_next_wraps_around_the_list(visa):
    visa.write(':SOUR:CONF:LIST:CRE "L";:SOUR:VOLT 0.1;:SOUR:CONF:LIST:STOR "L";:SOUR:VOLT 0.2;:SOUR:CONF:LIST:STOR "L"')
    visa.write(':TRIG:LOAD "Empty";:TRIG:BLOC:CONF:NEXT 1,"L";:TRIG:BLOC:BRAN:COUN 2,3,1')
    visa.write(":INIT")
    assert float(visa.query(":SOUR:VOLT?")) == pytest.approx(0.1)      # indexes 1, 2, 1
    assert visa.query(':SOUR:CONF:LIST:SIZE? "L"') == "2"


def test_unread_reply_is_interrupted_by_the_next_command(visa):
    visa.write("*IDN?")
    visa.write(":SOUR:VOLT 0.1")
    assert visa.query(":SYST:ERR?").startswith("-410,")


def test_output_off_state_normal_holds_0_V_high_impedance_opens(visa, station):
    """Reference Manual, :OUTPut[1]:SMODe: NORMal after *RST; HIMPedance opens the output relay."""
    assert visa.query(":OUTP:SMOD?") == "NORM"
    port = station.instruments["smu"].port
    assert port.voltage == 0.0
    visa.write(":OUTPut:SMODe HIMPedance")
    assert visa.query(":outp:smod?") == "HIMP" and port.voltage is None
    visa.write(":OUTP:SMOD SIDEWAYS")
    assert visa.query(":SYST:ERR?").startswith("-224,")


ALL_ELEMENTS = "READ,SOUR,REL,SEC,FRAC,DATE,TIME,TST,STAT,SOURSTAT,UNIT,SOURUNIT,FORM,SOURFORM"


def test_trace_data_gives_every_buffer_element_the_manual_lists(visa):
    """2450-901-01 §6 ``:TRACe:DATA?`` (p. 6-109) element table, shapes from the 2461 manual's
    examples (same tree): DATE ``03/21/2013``, FORMatted ``-00.0024 mV``; STATus bit 0x08 front
    terminal; SOURSTATus 0x08 readback, 0x20 limited, 0x80 output on (pyHegel's 2450 notes)."""
    visa.write(":SOUR:VOLT 0.01;:OUTP ON")
    visa.query(":READ?")
    visa.query(":READ?")
    fields = visa.query(f':TRAC:DATA? 1,2,"defbuffer1",{ALL_ELEMENTS}').split(",")
    assert len(fields) == 28
    read, sour, rel, sec, frac, date, time, tstamp, stat, sourstat, unit, sourunit, form, sourform = fields[14:]
    assert float(read) == pytest.approx(2e-7, rel=0.05) and sour == "1.000000E-02"
    assert float(rel) == pytest.approx(1 / 60) and fields[2] == "0.000000000"
    assert int(sec) == 1767225600 and frac == "0.033333333"        # 2026-01-01 UTC, 2 PLC in
    assert date == "01/01/2026" and time == "00:00:00" and tstamp == "01/01/2026 00:00:00.033333333"
    assert stat == "8" and sourstat == str(0x08 | 0x80)
    assert unit == "Amp DC" and sourunit == "Volt DC"
    assert form == "+000.200 uA" and sourform == "+10.0000 mV"    # 100 µA and 20 mV ranges


def test_ascii_precision_sets_the_significant_digits_of_readings(visa):
    """2461 manual §6 ``:FORMat:ASCii:PRECision`` (p. 6-44): 0 = automatic (7 digits here, as the
    recorded ``1.050000E-04``), 10 gives ``-6.999999881E-01``-style replies; *RST sets 0."""
    visa.write(":SOUR:VOLT 0.1;:OUTP ON")
    assert visa.query(":FORM:ASC:PREC?") == "0"
    assert len(visa.query(":READ?").split("E")[0].lstrip("-")) == 8
    visa.write(":FORM:ASC:PREC 10")
    assert len(visa.query(":READ?").split("E")[0].lstrip("-")) == 11
    visa.write("*RST")
    assert visa.query(":FORM:ASC:PREC?") == "0"


@pytest.mark.parametrize("data_format, datatype, order, big_endian",
                         [("REAL", "d", "NORM", True), ("SREAL", "f", "SWAP", False)])
def test_binary_formats_send_a_hash_zero_block_in_the_byte_order(visa, data_format, datatype, order, big_endian):
    """2461 manual §6 ``:FORMat[:DATA]`` (p. 6-46): REAL doubles, SREal singles, the reply "starts
    with #0 and ends with a new line"; ``:FORMat:BORDer`` (p. 6-45) NORMal or SWAPped (default);
    only READing, RELative and SOURce, else event 1133."""
    visa.write(":SOUR:VOLT 0.1;:OUTP ON")
    for _ in range(3):
        visa.query(":READ?")
    ascii_values = [float(x) for x in visa.query(':TRAC:DATA? 1,3,"defbuffer1",READ,REL,SOUR').split(",")]
    assert visa.query(":FORM?;:FORM:BORD?") == "ASC;SWAP"
    visa.write(f":FORM {data_format};:FORM:BORD {order}")
    visa.write(':TRAC:DATA? 1,3,"defbuffer1",READ,REL,SOUR')
    size = {"d": 8, "f": 4}[datatype] * 9
    raw = visa.read_bytes(2 + size + 1)
    assert raw[:2] == b"#0" and raw[-1:] == b"\n"
    values = np.frombuffer(raw[2:-1], dtype=(">" if big_endian else "<") + datatype)
    assert values == pytest.approx(ascii_values, rel=1e-6, abs=1e-9)
    visa.write(':TRAC:DATA? 1,3,"defbuffer1",READ,UNIT')
    assert visa.query(":SYST:ERR?").startswith('1133,"Parameter 4, Syntax error, expected valid name parameters;')
    assert visa.query(":SOUR:VOLT?") == "1.000000E-01"              # settings still answer in ASCII


def test_display_light_is_kept_through_reset(visa):
    """2461 manual §6 ``:DISPlay:LIGHt:STATe`` (p. 6-41): ON50 at power-on, not affected by *RST."""
    assert visa.query(":DISP:LIGH:STAT?") == "ON50"
    visa.write(":DISP:LIGH:STAT BLACkout;*RST")
    assert visa.query(":DISP:LIGH:STAT?") == "BLAC"
