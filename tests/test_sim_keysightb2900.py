"""The simulated B2900 answers a plain pyvisa client as its manuals say the real one does.

Manuals: Agilent B2900 SCPI Command Reference B2910-90030 Edition 2 ("SCPI reference" below, with
its chapter), Keysight B2900 User's Guide Edition 5 ("User's Guide"), and the B2961A/B2962A SCPI
Command Reference Edition 6 (same command tree) for the figures marked so.
"""
import numpy as np
import pytest

from labsuite.simulator.instruments.keysightb2900 import KeysightB2900
from labsuite.simulator.server import InstrumentServer
from labsuite.simulator.station import SimulatedStation

SMU = "keysightb2900"                # the station's SMU (tests/conftest.py)

NO_ERROR = '+0,"No error"'
NAN = 9.91e37


def numbers(reply: str) -> list[float]:
    return [float(x) for x in reply.split(",")]


def g_min(station) -> float:
    return station.model.params.g_min


def test_identifies_and_resets_to_the_reset_settings(visa):
    """SCPI reference ch. 2 reset settings (0 V, DC, fixed, 0.1 PLC, AINT, counts 1, trace 100000),
    B2961A reference: compliance 100 µA; ch. 5: *RST keeps the error queue."""
    assert visa.query("*IDN?") == "Keysight Technologies,B2902A,MY00000001,4.0.2011.5100"
    visa.write(":SOUR:VOLT 1.2;:SENS:CURR:PROT 2e-3;:OUTP ON;:TRIG:COUN 7;:SOUR:VOLT:BOGUS")
    visa.write("*RST")
    assert visa.query(":SOUR:FUNC:MODE?") == "VOLT"
    assert visa.query(":SOUR:FUNC:SHAP?") == "DC"
    assert visa.query(":SOUR:VOLT:MODE?") == "FIX"
    assert float(visa.query(":SOUR:VOLT?")) == 0.0
    assert float(visa.query(":SENS:CURR:PROT?")) == pytest.approx(100e-6)
    assert float(visa.query(":SENS:CURR:APER?")) == pytest.approx(0.1 / 60)
    assert float(visa.query(":SENS:CURR:NPLC?")) == pytest.approx(0.1)
    assert visa.query(":OUTP?") == "0"
    assert visa.query(":TRIG:TRAN:SOUR?") == "AINT" and visa.query(":ARM:ACQ:SOUR?") == "AINT"
    assert visa.query(":TRIG:ACQ:COUN?") == "1"
    assert visa.query(":SOUR:LIST:VOLT:POIN?") == "1"
    assert visa.query(":TRAC:POIN?") == "100000" and visa.query(":TRAC:FEED:CONT?") == "NEV"
    assert visa.query(":FORM:ELEM:SENS?") == "VOLT,CURR,RES,TIME,STAT,SOUR"
    assert visa.query("*OPC?") == "1"
    assert visa.query(":SYST:ERR?") == '-113,"Undefined header"'      # sent before *RST, still there


def test_channel_suffix_picks_the_channel_and_a_missing_one_is_refused(visa, station):
    """SCPI reference ch. 1 "Numeric Suffix": no suffix means 1; channel 2 exists on two-channel models."""
    visa.write(":SOUR2:VOLT 0.5;:SENS2:CURR:PROT 3e-4")
    assert float(visa.query(":SOUR2:VOLT?")) == 0.5 and float(visa.query(":SOUR1:VOLT?")) == 0.0
    assert float(visa.query(":VOLT?")) == 0.0                             # [:SOURce[c]] left out
    assert float(visa.query(":SENS2:CURR:PROT?")) == pytest.approx(3e-4)
    visa.write(":SOUR3:VOLT 1")
    assert visa.query(":SYST:ERR?") == '-114,"Header suffix out of range"'
    one = KeysightB2900(SimulatedStation(seed=1).node.port("b2901"), model="B2901A")
    one.process(":OUTP2 ON")
    assert one.process(":SYST:ERR?") == '-114,"Header suffix out of range"'
    assert one.process("*IDN?").split(",")[1] == "B2901A"


def test_long_short_lower_case_forms_path_continuation_and_min_max(visa):
    """SCPI reference ch. 1 "SCPI Messages"; ch. 4 :SENSe:CURRent:APERture: MIN/MAX/DEF, and values
    beyond MIN or MAX are set to MIN or MAX."""
    visa.write(":SOURCE1:VOLTAGE:LEVEL:IMMEDIATE:AMPLITUDE 0.5")
    assert float(visa.query(":sour:volt?")) == 0.5
    visa.write(":SOUR:VOLT:LEV 0.2;TRIG 0.7")                             # continues as :SOUR:VOLT:TRIG
    assert float(visa.query(":SOUR:VOLT:LEV:TRIG:AMPL?")) == pytest.approx(0.7)
    visa.write(":sense:current:dc:protection:level 2e-4")
    assert float(visa.query(":SENS:CURR:PROT?")) == pytest.approx(2e-4)
    visa.write(":SENS:CURR:APER MIN")
    assert float(visa.query(":SENS:CURR:APER?")) == pytest.approx(8e-6)
    assert float(visa.query(":SENS:CURR:APER? MAX")) == 2.0
    visa.write(":SENS:CURR:APER 5")
    assert float(visa.query(":SENS:CURR:APER?")) == 2.0                   # clamped, no error
    visa.write(":SENS:CURR:APER 2MS")
    assert float(visa.query(":SENS:CURR:APER?")) == pytest.approx(2e-3)
    assert visa.query(":SYST:ERR?") == NO_ERROR


def test_error_queue_and_status_bytes_in_the_b2900_format(visa):
    """SCPI reference ch. 5: '+0,"No error"', negative standard codes, bits of the Standard Event
    Status Register per error class (command error: bit 5); *CLS empties both."""
    assert visa.query("*ESR?") == "128"                                   # power on
    assert visa.query(":SYST:ERR?") == NO_ERROR
    visa.write(":SOUR:VOLT:FROB 1")
    assert visa.query("*STB?") == "4"                                     # error queue not empty
    assert visa.query("*ESR?") == "32" and visa.query("*ESR?") == "0"
    visa.write(":SOUR:VOLT 300")
    assert visa.query("*ESR?") == "16"                                    # execution error
    assert visa.query(":SYST:ERR?") == '-113,"Undefined header"'
    assert visa.query(":SYST:ERR?") == '-222,"Data out of range"'
    assert visa.query(":SYST:ERR?") == NO_ERROR
    visa.write(":SOUR:FUNC:SHAP TRIANGLE;*CLS")
    assert visa.query(":SYST:ERR?") == NO_ERROR


def test_out_of_range_settings_are_refused_and_leave_the_setting(visa, station):
    """Data sheet limits: 210 V, 3.03 A DC compliance, pulse width ≥ 50 µs (B2901A/02A, User's Guide
    pulse characteristics) or 10 µs (B2911A/12A), trigger interval ≥ 20 µs, counts ≤ 100 000."""
    for command, query, kept in [(":SOUR:VOLT 250", ":SOUR:VOLT?", 0.0),
                                 (":SENS:CURR:PROT 5", ":SENS:CURR:PROT?", 100e-6),
                                 (":SOUR:PULS:WIDT 10e-6", ":SOUR:PULS:WIDT?", 50e-6),
                                 (":TRIG:TIM 10e-6", ":TRIG:TRAN:TIM?", 20e-6),
                                 (":TRIG:COUN 100001", ":TRIG:ACQ:COUN?", 1)]:
        visa.write(command)
        assert visa.query(":SYST:ERR?") == '-222,"Data out of range"', command
        assert float(visa.query(query)) == pytest.approx(kept), command
    visa.write(":SOUR:VOLT:RANG 2;:SOUR:VOLT 5")                          # fixed 2 V range holds 2.1 V
    assert visa.query(":SYST:ERR?") == '-222,"Data out of range"'
    fast = KeysightB2900(station.node.port("b2912a"), model="B2912A")
    fast.process(":SOUR:PULS:WIDT 10e-6")
    assert fast.process(":SYST:ERR?") == NO_ERROR
    assert float(fast.process(":SOUR:PULS:WIDT?")) == pytest.approx(10e-6)


def test_the_list_holds_2500_points(visa):
    """SCPI reference ch. 4 [:SOURce]:LIST:VOLTage: "Maximum of 2500 data", :APPend, :POINts?."""
    visa.write(":SOUR:LIST:VOLT " + ",".join(["0.1"] * 2000))
    visa.write(":SOUR:LIST:VOLT:APP " + ",".join(["0.2"] * 500))
    assert visa.query(":SOUR:LIST:VOLT:POIN?") == "2500"
    visa.write(":SOUR:LIST:VOLT:APP 0.3")
    assert visa.query(":SYST:ERR?") == '-223,"Too much data"'
    assert visa.query(":SOUR:LIST:VOLT:POIN?") == "2500"
    assert numbers(visa.query(":SOUR:LIST:VOLT?"))[-1] == pytest.approx(0.2)


def test_spot_reading_follows_the_device_model(visa, station):
    """:MEASure? (SCPI reference ch. 4): at 0.1 V on a fresh device I = G_min·V within read noise."""
    visa.write(":SOUR:VOLT 0.1;:SENS:CURR:PROT 1e-3;:OUTP ON")
    voltage, current, resistance, time, status, source = numbers(visa.query(":MEAS? (@1)"))
    assert current == pytest.approx(g_min(station) * 0.1, rel=0.02)
    assert voltage == pytest.approx(0.1) and source == pytest.approx(0.1)
    assert resistance == NAN and status == 0                                # resistance not measured
    assert float(visa.query(":MEAS:CURR? (@1)")) == pytest.approx(g_min(station) * 0.1, rel=0.02)
    assert visa.query(":SENS:CURR:PROT:TRIP?") == "0"
    visa.write(":OUTP OFF")
    assert visa.query(":OUTP?") == "0" and station.node.ports[0].voltage is None


def test_compliance_clamps_the_current_and_sets_trip_flag_and_status_bit(visa):
    """B2961A reference :SENSe:CURRent:PROTection:TRIPped?; SCPI reference Table 1-2 (status bits 1-2)."""
    visa.write(":SENS:CURR:PROT 1e-6;:SOUR:VOLT 0.5;:OUTP ON")             # 0.5 V × 20 µS = 10 µA wanted
    assert abs(float(visa.query(":MEAS:CURR?"))) <= 1e-6
    assert visa.query(":SENS:CURR:PROT:TRIP?") == "1"
    assert float(visa.query(":FETC:STAT?")) == 2


def test_aperture_and_nplc_set_the_reading_time_on_the_virtual_clock(visa, station):
    """SCPI reference ch. 4 :SENSe:CURRent:APERture / :NPLCycles, time = nplc / line frequency."""
    visa.write(":SENS:CURR:NPLC 6;:OUTP ON")
    t0 = station.clock.now()
    visa.query(":MEAS:CURR?")
    assert station.clock.now() - t0 == pytest.approx(0.1)               # 6 PLC at 60 Hz
    visa.write(":SYST:LFR 50;:SENS:CURR:NPLC 5")
    assert float(visa.query(":SENS:CURR:APER?")) == pytest.approx(0.1)
    visa.write(":SENS:CURR:APER 2e-3")
    t0 = station.clock.now()
    visa.query(":MEAS:CURR?")
    assert station.clock.now() - t0 == pytest.approx(2e-3)


PULSED_LIST_SWEEP = [
    # one command at a time as the SCPI reference's examples write them (ch. 4); the pulse timing
    # parameters are those of the User's Guide, "Pulse Output"
    ":SOUR:FUNC:MODE VOLT", ":SOUR:FUNC:SHAP PULS", ":SOUR:VOLT 0", ":SOUR:VOLT:MODE LIST",
    ":SOUR:LIST:VOLT 1.5,1.5,1.5,1.5,1.5", ":SOUR:PULS:DEL 1e-3", ":SOUR:PULS:WIDT 1e-3",
    ':SENS:FUNC "CURR"', ":SENS:CURR:APER 5e-4", ":SENS:CURR:PROT 0.01",
    ":TRIG:SOUR TIM", ":TRIG:TIM 10e-3", ":TRIG:COUN 5", ":TRIG:ACQ:DEL 1.4e-3",
    ":FORM:ELEM:SENS VOLT,CURR,TIME", ":OUTP ON", ":INIT (@1)",
]


def test_pulsed_list_sweep_runs_in_virtual_time_and_buffers_its_readings(visa, station):
    """User's Guide "Pulse Output": base 0 V, peak = list point after the pulse delay for the pulse
    width; each reading at the acquire delay integrates its aperture inside the pulse."""
    t0 = station.clock.now()
    for command in PULSED_LIST_SWEEP:
        visa.write(command)
    assert visa.query("*OPC?") == "1"
    assert station.clock.now() - t0 == pytest.approx(4 * 10e-3 + 2e-3)   # last pulse ends 2 ms after its trigger
    values = np.array(numbers(visa.query(":FETC:ARR? (@1)"))).reshape(5, 3)
    voltage, current, time = values.T
    assert voltage == pytest.approx([1.5] * 5)
    assert time == pytest.approx(1.4e-3 + 10e-3 * np.arange(5))
    assert np.all(np.diff(current) > 0)                                    # each 1.5 V pulse potentiates
    assert current[0] > 1.5 * g_min(station)
    assert numbers(visa.query(":FETC:ARR:CURR? (@1)")) == pytest.approx(current, rel=1e-6)
    assert visa.query(":SYST:ERR?") == NO_ERROR
    assert station.node.ports[0].voltage == 0.0                           # back at the base, output on


@pytest.mark.parametrize("data_format, datatype, order, big_endian",
                         [("REAL,64", "d", "NORM", True), ("REAL,32", "f", "SWAP", False)])
def test_binary_formats_send_the_ascii_readings_as_one_definite_length_block(visa, data_format, datatype,
                                                                              order, big_endian):
    """SCPI reference ch. 4 ``:FORMat[:DATA] ASCii|REAL,32|REAL,64`` and ``:FORMat:BORDer
    NORMal|SWAPped``; IEEE 488.2 §8.7.9 definite-length block ``#<n><length><bytes>``: the same
    readings as in ASCII, NR3 to 7 digits there, IEEE-754 here."""
    for command in PULSED_LIST_SWEEP:
        visa.write(command)
    assert visa.query("*OPC?") == "1"
    ascii_values = numbers(visa.query(":FETC:ARR? (@1)"))
    visa.write(f":FORM {data_format};:FORM:BORD {order}")
    assert visa.query(":FORM?") == data_format and visa.query(":FORM:BORD?") == order
    visa.write(":FETC:ARR? (@1)")
    raw = visa.read_raw()
    size = {"d": 8, "f": 4}[datatype] * len(ascii_values)
    assert raw[:2 + len(str(size))] == f"#{len(str(size))}{size}".encode() and raw.endswith(b"\n")
    binary = visa.query_binary_values(":FETC:ARR? (@1)", datatype=datatype, is_big_endian=big_endian)
    assert binary == pytest.approx(ascii_values, rel=1e-6)
    assert visa.query(":SOUR:VOLT?") == "+0.000000E+00"        # settings still answer in ASCII
    visa.write("*RST")
    assert visa.query(":FORM?;:FORM:BORD?") == "ASC;NORM"


def test_current_ranges_of_source_and_measurement_with_autorange(visa):
    """SCPI reference ch. 4 ``[:SENSe]:CURRent[:DC]:RANGe[:UPPer]``, ``…:RANGe:AUTO`` and
    ``[:SOURce]:CURRent:RANGe[:AUTO]``: a value picks the smallest range holding it and turns
    autorange off; the B2901A/02A ranges run 100 nA to 3 A DC (data sheet)."""
    assert visa.query(":SENS:CURR:RANG:AUTO?;:SOUR:CURR:RANG:AUTO?") == "1;1"
    visa.write(":SENS:CURR:RANG 2e-6;:SOUR:CURR:RANG 0.5")
    assert visa.query(":SENS:CURR:RANG?;:SENS:CURR:RANG:AUTO?") == "+1.000000E-05;0"
    assert visa.query(":SOUR:CURR:RANG?;:SOUR:CURR:RANG:AUTO?") == "+1.000000E+00;0"
    visa.write(":SENS:CURR:RANG MIN")
    assert visa.query(":SENS:CURR:RANG?") == "+1.000000E-07"
    visa.write(":SENS:CURR:RANG 5")
    assert visa.query(":SYST:ERR?") == '-222,"Data out of range"'


def test_dc_list_sweep_steps_the_output_and_readings_follow_the_model(visa, station):
    """SCPI reference ch. 4 :SOURce:VOLTage:MODE LIST; a reading every step at I = G·V."""
    for command in [":SOUR:VOLT:MODE LIST", ":SOUR:LIST:VOLT 0.05,0.1,0.15", ":SENS:CURR:PROT 1e-3",
                    ":SENS:CURR:APER 1e-4", ":TRIG:SOUR TIM", ":TRIG:TIM 1e-3", ":TRIG:COUN 3",
                    ":TRIG:ACQ:DEL 5e-4", ":FORM:ELEM:SENS VOLT,CURR", ":OUTP ON", ":INIT (@1)"]:
        visa.write(command)
    voltage, current = np.array(numbers(visa.query(":FETC:ARR? (@1)"))).reshape(3, 2).T
    assert voltage == pytest.approx([0.05, 0.1, 0.15])
    assert current == pytest.approx(g_min(station) * voltage, rel=0.03)
    assert float(visa.query(":SOUR:VOLT?")) == 0.0 and station.node.ports[0].voltage == 0.0   # back at DC level


def test_linear_sweep_steps_from_start_to_stop(visa):
    """SCPI reference ch. 4 [:SOURce]:VOLTage:MODE SWEep, :STARt, :STOP, :POINts."""
    for command in [":SOUR:VOLT:MODE SWE", ":SOUR:VOLT:STAR 0", ":SOUR:VOLT:STOP 0.2", ":SOUR:VOLT:POIN 3",
                    ":TRIG:SOUR TIM", ":TRIG:TIM 1e-3", ":TRIG:COUN 3", ":SENS:CURR:APER 1e-4",
                    ":FORM:ELEM:SENS VOLT", ":OUTP ON", ":INIT (@1)"]:
        visa.write(command)
    assert numbers(visa.query(":FETC:ARR? (@1)")) == pytest.approx([0.0, 0.1, 0.2], abs=1e-9)


def test_arm_layer_replays_the_list_on_its_timer(visa, station):
    """User's Guide "Trigger System": the ARM layer repeats the TRIGger loop ARM count times."""
    for command in [":SOUR:VOLT:MODE LIST", ":SOUR:LIST:VOLT 0.1,0", ":ARM:SOUR TIM", ":ARM:TIM 5e-3",
                    ":ARM:COUN 3", ":TRIG:SOUR TIM", ":TRIG:TIM 1e-3", ":TRIG:COUN 2", ":TRIG:ACQ:COUN 1",
                    ":SENS:CURR:APER 1e-4", ":FORM:ELEM:SENS VOLT,TIME", ":OUTP ON"]:
        visa.write(command)
    t0 = station.clock.now()
    visa.write(":INIT (@1)")
    assert station.clock.now() - t0 == pytest.approx(2 * 5e-3 + 1e-3)    # last transient at 11 ms
    voltage, time = np.array(numbers(visa.query(":FETC:ARR? (@1)"))).reshape(-1, 2).T
    assert time == pytest.approx([0, 5e-3, 10e-3]) and voltage == pytest.approx([0.1] * 3)


def test_bus_trigger_waits_for_trg(visa, station):
    """User's Guide "Trigger Source": BUS waits for *TRG; each one fires the next trigger."""
    visa.write(":TRIG:SOUR BUS;:TRIG:COUN 2;:SOUR:VOLT 0.1;:SENS:CURR:APER 1e-3;:FORM:ELEM:SENS CURR")
    t0 = station.clock.now()
    visa.write(":INIT (@1)")
    assert station.clock.now() == t0 and float(visa.query(":FETC:ARR? (@1)")) == NAN
    assert visa.query(":OUTP?") == "1"                                     # :OUTP:ON:AUTO (default ON)
    visa.write("*TRG")
    assert station.clock.now() - t0 == pytest.approx(1e-3)
    visa.write("*TRG")
    assert numbers(visa.query(":FETC:ARR? (@1)")) == pytest.approx([0.1 * g_min(station)] * 2, rel=0.03)
    visa.write("*TRG")                                                     # nothing waits any more
    assert station.clock.now() - t0 == pytest.approx(2e-3)
    visa.write(":INIT (@1);:ABOR (@1);*TRG")                               # aborted: the trigger finds no one
    assert station.clock.now() - t0 == pytest.approx(2e-3)


def test_operation_condition_shows_idle_and_waiting_for_a_bus_trigger(visa):
    """SCPI reference ch. 4 :STATus:OPERation:CONDition?: transition idle (bit 1 for channel 1, 7 for
    channel 2), waiting for the transition trigger (2, 8), acquire idle (4, 10), waiting for the
    acquire trigger (5, 11). A TIMer model has run to its end inside INIT; a BUS one waits for *TRG."""
    idle = 2 | 16 | 128 | 1024
    assert int(visa.query(":STAT:OPER:COND?")) == idle
    visa.write(":TRIG:SOUR TIM;:TRIG:TIM 1e-3;:TRIG:COUN 3;:INIT (@1)")
    assert int(visa.query(":STATUS:OPERATION:CONDITION?")) == idle
    visa.write(":TRIG:SOUR BUS;:TRIG:COUN 2;:INIT (@1)")
    assert int(visa.query(":STAT:OPER:COND?")) == 4 | 32 | 128 | 1024
    visa.write("*TRG;*TRG")
    assert int(visa.query(":STAT:OPER:COND?")) == idle
    one = KeysightB2900(SimulatedStation(seed=1).node.port("b2901"), model="B2901A")
    assert one.process(":STAT:OPER:COND?") == "18"


def test_trace_buffer_fills_to_its_size_then_stops(visa):
    """SCPI reference ch. 4 :TRACe:FEED:CONTrol NEXT ("buffer full changes mode to NEV, no error"),
    :TRACe:POINts only while NEV, :TRACe:FREE?, :TRACe:DATA?."""
    visa.write(":TRAC:FEED:CONT NEXT;:TRAC:POIN 2")
    assert visa.query(":SYST:ERR?") == '-221,"Settings conflict"'
    visa.write(":TRAC:FEED:CONT NEV;:TRAC:POIN 2;:TRAC:FEED:CONT NEXT;:FORM:ELEM:SENS VOLT;:SOUR:VOLT 0.1;:OUTP ON")
    for _ in range(3):
        visa.query(":MEAS? (@1)")
    assert visa.query(":TRAC:POIN:ACT?") == "2" and visa.query(":TRAC:FEED:CONT?") == "NEV"
    assert visa.query(":TRAC:FREE?") == "0,2"
    assert numbers(visa.query(":TRAC:DATA?")) == pytest.approx([0.1, 0.1])
    visa.write(":TRAC:CLE")
    assert visa.query(":TRAC:POIN:ACT?") == "0"


def test_unwired_channel_2_sources_into_an_open_circuit(visa, station):
    """A B2902A's channel 2 with nothing on it: its voltage is sourced, no current flows; channel lists
    (SCPI reference ch. 1) return channel 1's data, then channel 2's."""
    visa.write(":SOUR1:VOLT 0.1;:SOUR2:VOLT 0.5;:OUTP1 ON;:OUTP2 ON;:FORM:ELEM:SENS VOLT,CURR")
    v1, i1, v2, i2 = numbers(visa.query(":MEAS? (@1,2)"))
    assert (v2, i2) == (0.5, 0.0)
    assert v1 == pytest.approx(0.1) and i1 == pytest.approx(0.1 * g_min(station), rel=0.02)
    assert station.node.ports[0].voltage == pytest.approx(0.1)


def test_current_source_drives_the_device_up_to_its_voltage_limit(visa, station):
    """Reference ch. 4 SOURce CURRent, SENSe VOLTage PROTection: the device takes a DC current
    level at the voltage it needs (V = I/G); a level that needs more than the limit leaves the
    output at the limit, tripped. Current pulses are not simulated: refused at output on."""
    g = station.model.params.g_min
    visa.write(":SOUR:FUNC:MODE CURR;:SOUR:CURR 1e-6;:SENS:VOLT:PROT 2;:OUTP ON")
    assert float(visa.query(":MEAS:VOLT? (@1)")) == pytest.approx(1e-6 / g, rel=0.03)
    assert visa.query(":SENS:VOLT:PROT:TRIP?") == "0"
    visa.write(":SOUR:CURR 1e-3")                  # more than g_max · 2 V
    assert float(visa.query(":MEAS:VOLT? (@1)")) == pytest.approx(2.0, rel=1e-3)
    assert visa.query(":SENS:VOLT:PROT:TRIP?") == "1"
    visa.write(":OUTP OFF;:SOUR:FUNC PULS;:OUTP ON")
    assert visa.query(":SYST:ERR?") == '-221,"Settings conflict"' and visa.query(":OUTP?") == "0"


def test_power_loss_returns_to_the_power_on_state(visa, sim, station):
    """Mains lost: output drops, settings back to reset values, error queue empty (ch. 5: cleared at
    power-on), PON set in the Standard Event Status Register."""
    visa.write(":SOUR:VOLT 1;:SENS:CURR:PROT 1e-3;:OUTP ON;:BOGUS")
    assert station.node.ports[0].voltage == 1.0
    sim.power_loss()
    assert station.node.ports[0].voltage is None
    assert visa.query(":OUTP?") == "0" and float(visa.query(":SOUR:VOLT?")) == 0.0
    assert float(visa.query(":SENS:CURR:PROT?")) == pytest.approx(100e-6)
    assert visa.query(":SYST:ERR?") == NO_ERROR and visa.query("*ESR?") == "128"


def test_unread_reply_is_interrupted_by_the_next_command(visa):
    visa.write("*IDN?")
    visa.write(":SOUR:VOLT 0.1")
    assert visa.query(":SYST:ERR?") == '-410,"Query INTERRUPTED"'


def test_plain_pyvisa_py_client_over_tcp_runs_a_pulsed_list_sweep(station, tcp_session):
    """The third-party client of issue #4 (pymeasure has no B2900 class): pyvisa-py over loopback TCP,
    only commands from the SCPI reference — identify, configure source and compliance, output on,
    readings that follow the device model, the pulsed list sweep's buffered readings, output off."""
    with InstrumentServer(station.instruments) as server:
        with tcp_session(server.endpoints[0].resource) as inst:
            assert inst.query("*IDN?").startswith("Keysight Technologies,B2902A,")
            inst.write(":SOUR1:FUNC:MODE VOLT")
            inst.write(":SENS1:CURR:PROT 1e-3")
            inst.write(":SOUR1:VOLT 0.1")
            inst.write(":OUTP1 ON")
            assert float(inst.query(":MEAS:CURR? (@1)")) == pytest.approx(0.1 * g_min(station), rel=0.02)
            for command in PULSED_LIST_SWEEP:
                inst.write(command)
            assert inst.query("*OPC?") == "1"
            assert len(numbers(inst.query(":FETC:ARR? (@1)"))) == 15
            inst.write(":OUTP1 OFF")
            assert inst.query(":OUTP1?") == "0"
            inst.write(":SOUR1:VOLT:FROB 3")
            assert inst.query(":SYST:ERR?") == '-113,"Undefined header"'
            assert inst.query(":SYST:ERR?") == NO_ERROR
