"""The simulated 2400 answers as the Series 2400 SourceMeter User's Manual (2400S-900-01 Rev. K) says
the real one does; each test names the section it checks. The last test drives it with pymeasure's
own Keithley2400 class, unchanged, over pyvisa-py and loopback TCP."""
import numpy as np
import pytest

from labsuite.simulator.instruments.keithley2400 import (AD_OVERHEAD, FIRMWARE_OVERHEAD, FIRMWARE_OVERHEAD_AUTOZERO,
                                                        SOURCE_CONFIGURATION)
from labsuite.simulator.server import InstrumentServer

SMU = "keithley2400"                # the station's SMU (tests/conftest.py)

IDN = "KEITHLEY INSTRUMENTS INC.,MODEL 2400,1248014,C30   Mar 17 2006 09:29:29/A02  /K/J"
NO_ERROR = '+0,"No error"'


def readings(reply: str) -> np.ndarray:
    """(n, 5) array of VOLT, CURR, RES, TIME, STAT rows."""
    return np.array([float(x) for x in reply.split(",")]).reshape(-1, 5)


def test_identifies_and_resets_to_manual_defaults(visa):
    """*RST defaults of section 18's command summary tables (18-3 to 18-10)."""
    assert visa.query("*IDN?") == IDN
    visa.write(":SOUR:VOLT 1.2;:SENS:CURR:PROT 1e-2;:OUTP ON;:SOUR:VOLT:MODE LIST;:SENS:CURR:NPLC 0.1")
    visa.write(":SYST:AZER OFF;:TRIG:COUN 5;:FORM:ELEM CURR;:OUTP:SMOD HIMP;:SOUR:CLE:AUTO ON")
    visa.write("*RST")
    assert visa.query(":SOUR:FUNC?") == "VOLT"
    assert float(visa.query(":SOUR:VOLT?")) == 0.0
    assert visa.query(":SOUR:VOLT:MODE?") == "FIX"
    assert float(visa.query(":SENS:CURR:PROT?")) == pytest.approx(105e-6)
    assert visa.query(":OUTP?") == "0"
    assert visa.query(":OUTP:SMOD?") == "NORM"
    assert visa.query(":SOUR:CLE:AUTO?") == "0"
    assert visa.query(":SOUR:DEL:AUTO?") == "1"
    assert visa.query(":SENS:FUNC?") == '"CURR:DC"'
    assert float(visa.query(":SENS:CURR:NPLC?")) == 1.0
    assert float(visa.query(":SENS:CURR:RANG?")) == pytest.approx(1.05e-4)
    assert visa.query(":SYST:AZER?") == "1"
    assert visa.query(":TRIG:COUN?") == "1" and visa.query(":ARM:COUN?") == "1"
    assert visa.query(":FORM:ELEM?") == "VOLT,CURR,RES,TIME,STAT"
    assert visa.query("*OPC?") == "1"


def test_long_short_lower_case_optional_nodes_and_numeric_suffixes(visa):
    """Section 18 "SCPI command reference": short or long mnemonics, [optional] nodes, MIN/MAX/DEF, units."""
    visa.write(":SOURCE1:VOLTAGE:LEVEL:IMMEDIATE:AMPLITUDE 0.5")
    assert float(visa.query(":sour:volt?")) == 0.5
    visa.write("sens:curr:dc:prot:lev 2e-4")
    assert float(visa.query(":SENSe:CURRent:PROTection?")) == pytest.approx(2e-4)
    visa.write(":TRIGger:SEQuence1:COUNt 3;:ARM:LAY1:COUN 2")
    assert visa.query(":TRIG:COUN?") == "3" and visa.query(":ARM:SEQ:COUN?") == "2"
    visa.write(":SENS:CURR:NPLC MAX")
    assert float(visa.query(":SENS:VOLT:NPLC?")) == 10.0                # one integration rate for all functions
    assert float(visa.query(":SENS:CURR:NPLC? MIN")) == 0.01
    visa.write(":SOUR:DEL 5ms")
    assert float(visa.query(":SOUR:DEL?")) == pytest.approx(5e-3)
    assert visa.query(":SOUR:DEL:AUTO?") == "0"                          # a manual delay turns auto delay off
    visa.write(":SOURC:VOLT 1")                                           # neither the short nor the long form
    assert visa.query(":SYST:ERR?") == '-113,"Undefined header"'
    assert float(visa.query(":SOUR:VOLT?")) == 0.5


def test_error_queue_in_2400_format_sets_standard_event_bits(visa):
    """Appendix B error messages; section 15: *ESR? bits (PON 7, CME 5, EXE 4), *STB? EAV bit 2, overflow."""
    assert visa.query("*ESR?") == "128"                                   # power on
    assert visa.query(":SYST:ERR?") == NO_ERROR
    visa.write(":SOUR:VOLT:BOGUS 1")
    assert int(visa.query("*STB?")) & 4                                   # error available
    assert visa.query(":SYST:ERR?") == '-113,"Undefined header"'
    assert visa.query("*ESR?") == "32" and visa.query("*ESR?") == "0"     # read and cleared
    visa.write(":SOUR:VOLT 250")
    assert visa.query(":SYST:ERR?") == '-222,"Parameter data out of range"'
    assert visa.query("*ESR?") == "16"
    for _ in range(12):
        visa.write(":BOGUS")
    assert visa.query(":SYST:ERR:COUN?") == "10"
    errors = [visa.query(":SYST:ERR?") for _ in range(10)]
    assert errors[-1] == '-350,"Queue overflow"' and visa.query(":SYST:ERR?") == NO_ERROR


def test_out_of_range_values_are_refused_with_the_manuals_errors(visa):
    """Section 18: compliance ±1.05 A and ≥ 0.1 % of the measurement range (+822), V-source ±210 V,
    NPLC 0.01–10, line frequency 50|60."""
    visa.write(":SENS:CURR:PROT 2")
    assert visa.query(":SYST:ERR?") == '-222,"Parameter data out of range"'
    assert float(visa.query(":SENS:CURR:PROT?")) == pytest.approx(105e-6)
    visa.write(":SENS:CURR:RANG 1e-3;:SENS:CURR:PROT 1e-7")               # 0.1 % of 1.05 mA is 1.05 µA
    assert visa.query(":SYST:ERR?") == '+822,"Too small for sense range"'
    visa.write(":SENS:CURR:PROT 2e-6")
    assert visa.query(":SYST:ERR?") == NO_ERROR
    visa.write(":SENS:CURR:NPLC 20;:SYST:LFR 55")
    assert visa.query(":SYST:ERR?").startswith("-222,") and visa.query(":SYST:ERR?").startswith("-222,")


def test_read_needs_the_output_on(visa, station):
    """Section 18 :SOURce:CLEar:AUTO: with auto output-off disabled the output must be on for :READ?."""
    t0 = station.clock.now()
    visa.write(":READ?")
    assert visa.query(":SYST:ERR?") == '+803,"Not permitted with OUTPUT off"'
    assert station.clock.now() == t0


def test_reads_current_of_the_device_model(visa, station):
    """Read at 0.1 V on a fresh device: I = G_min·V = 2 µA within read noise; V is the programmed
    source (voltage not measured), status word: V source (bit 14), I measured (bit 12), front (bit 2)."""
    visa.write(":SOUR:VOLT 0.1;:SENS:CURR:PROT 1e-3;:OUTP ON")
    (v, i, r, _, status), = readings(visa.query(":READ?"))
    assert i == pytest.approx(station.model.params.g_min * 0.1, rel=0.02)
    assert v == 0.1 and r == 9.91e37
    assert int(status) == (1 << 14) | (1 << 12) | (1 << 2)
    visa.write(":OUTP OFF")
    assert visa.query(":OUTP?") == "0"


def test_compliance_clamps_the_current_and_sets_trip_flag_status_bit_and_event(visa):
    """Section 18 :SENS:CURR:PROT:TRIPped?, status word bit 3, measurement event bit 14 (section 15)."""
    visa.write(":SENS:CURR:PROT 1e-6;:SOUR:VOLT 0.5;:OUTP ON")            # 0.5 V × 20 µS = 10 µA wanted
    (_, i, _, _, status), = readings(visa.query(":READ?"))
    assert abs(i) <= 1e-6 and int(status) & 8
    assert visa.query(":SENS:CURR:PROT:TRIP?") == "1"
    assert int(visa.query(":STAT:MEAS?")) & (1 << 14)
    visa.write(":SOUR:VOLT 0.01")                                         # 0.2 µA: out of compliance
    (_, i, _, _, status), = readings(visa.query(":READ?"))
    assert abs(i) < 1e-6 and not int(status) & 8
    assert visa.query(":SENS:CURR:PROT:TRIP?") == "0"


def test_sdm_cycle_advances_virtual_time(visa, station):
    """Appendix A: source configuration 50 µs + source delay + A/D (NPLC/f + 185 µs; ×3 with autozero)
    + firmware overhead (1.8 ms autozero on, 300 µs off); case VI: an unchanged source skips
    configuration and delay; figure 6-1: auto delay 1 ms."""
    visa.write(":SOUR:VOLT 0.1;:OUTP ON")
    t0 = station.clock.now()
    visa.query(":READ?")                                                  # *RST: autozero, auto delay, 1 PLC
    plc = 1 / 60
    assert station.clock.now() - t0 == pytest.approx(
        SOURCE_CONFIGURATION + 1e-3 + 3 * (plc + AD_OVERHEAD) + FIRMWARE_OVERHEAD_AUTOZERO)
    visa.write(":SYST:AZER OFF;:SENS:CURR:NPLC 6;:SOUR:DEL 2e-3;:SOUR:VOLT 0.2")
    t0 = station.clock.now()
    visa.query(":READ?")
    assert station.clock.now() - t0 == pytest.approx(
        SOURCE_CONFIGURATION + 2e-3 + 0.1 + AD_OVERHEAD + FIRMWARE_OVERHEAD)
    t0 = station.clock.now()
    visa.query(":READ?")
    assert station.clock.now() - t0 == pytest.approx(0.1 + AD_OVERHEAD + FIRMWARE_OVERHEAD)
    visa.write(":SYST:LFR 50")
    t0 = station.clock.now()
    visa.query(":READ?")
    assert station.clock.now() - t0 == pytest.approx(0.12 + AD_OVERHEAD + FIRMWARE_OVERHEAD)


def test_list_sweep_sources_each_value_and_measures_every_point(visa, station, sim):
    """Sections 10 "Custom sweep" and 11 "Triggering": one SDM cycle per list value, the output
    stays on (auto output-off disabled) and returns to the bias level; :FETCh? returns every point."""
    visa.write(":SYST:AZER OFF;:SOUR:DEL 0;:SENS:CURR:NPLC 0.03;:SENS:CURR:PROT 1e-3")
    visa.write(":SOUR:VOLT:MODE LIST;:SOUR:LIST:VOLT 1.2,0.1,0,1.2,0.1,0,1.2,0.1,0;:TRIG:COUN 9;:OUTP ON")
    assert visa.query(":SOUR:LIST:VOLT:POIN?") == "9"
    t0 = station.clock.now()
    visa.write(":INIT")
    cycle = SOURCE_CONFIGURATION + 0.03 / 60 + AD_OVERHEAD + FIRMWARE_OVERHEAD
    assert station.clock.now() - t0 == pytest.approx(9 * cycle)
    data = readings(visa.query(":FETC?"))
    assert list(data[:, 0]) == [1.2, 0.1, 0.0] * 3
    assert np.diff(data[:, 3]) == pytest.approx([cycle] * 8, rel=1e-5)
    reads = data[1::3, 1]
    assert reads[0] < reads[1] < reads[2]                                 # each 1.2 V point potentiates
    assert visa.query(":OUTP?") == "1" and sim.port.voltage == 0.0       # on, at the 0 V bias
    assert visa.query(":SYST:ERR?") == NO_ERROR


def test_staircase_sweep_steps_from_start_to_stop(visa):
    """Section 10 "Linear staircase sweep": points = span / step + 1."""
    visa.write(":SOUR:VOLT:STAR 0;:SOUR:VOLT:STOP 0.4;:SOUR:VOLT:STEP 0.1;:SOUR:VOLT:MODE SWE")
    assert visa.query(":SOUR:SWE:POIN?") == "5"
    visa.write(":TRIG:COUN 5;:SENS:CURR:PROT 1e-3;:OUTP ON")
    assert readings(visa.query(":READ?"))[:, 0] == pytest.approx([0, 0.1, 0.2, 0.3, 0.4])


def test_list_length_and_count_limits(visa):
    """Section 18 :SOURce:LIST: up to 100 values per command, :APPend to 2500; section 11 "Counters":
    arm count × trigger count ≤ 2500."""
    visa.write(":SOUR:LIST:VOLT " + ",".join(["0.1"] * 101))
    assert visa.query(":SYST:ERR?") == '-223,"Too much data"'
    assert visa.query(":SOUR:LIST:VOLT:POIN?") == "0"
    visa.write(":SOUR:LIST:VOLT " + ",".join(["0.1"] * 100))
    for _ in range(24):
        visa.write(":SOUR:LIST:VOLT:APP " + ",".join(["0.2"] * 100))
    assert visa.query(":SOUR:LIST:VOLT:POIN?") == "2500"
    visa.write(":SOUR:LIST:VOLT:APP 0.3")
    assert visa.query(":SYST:ERR?") == '-223,"Too much data"'
    visa.write(":SOUR:LIST:VOLT 0.1,250")
    assert visa.query(":SYST:ERR?").startswith("-222,")
    visa.write(":TRIG:COUN 2500;:ARM:COUN 2")
    assert visa.query(":SYST:ERR?").startswith("-221,") and visa.query(":ARM:COUN?") == "1"
    visa.write(":TRIG:COUN 2501")
    assert visa.query(":SYST:ERR?").startswith("-222,")


def test_trace_buffer_fills_and_raises_the_buffer_full_status(visa):
    """Sections 9 and 18 :TRACe (1–2500 readings, feed control NEXT then NEVer, +800 while storing)
    and 15 (measurement event bit 9 "buffer full" summarized in the status byte)."""
    visa.write(":STAT:PRES;*CLS;*SRE 1;:STAT:MEAS:ENAB 512")
    visa.write(":TRAC:POIN 3;:TRIG:COUN 3;:TRAC:FEED SENS;:TRAC:FEED:CONT NEXT;:SENS:CURR:PROT 1e-3;:SOUR:VOLT 0.1")
    visa.write(":TRAC:CLE")
    assert visa.query(":SYST:ERR?") == '+800,"Illegal with storage active"'
    visa.write(":OUTP ON")
    assert visa.query("*STB?") == "0"
    visa.write(":INIT")
    assert visa.query("*STB?") == "65"
    assert visa.query(":TRAC:POIN:ACT?") == "3" and visa.query(":TRAC:FEED:CONT?") == "NEV"
    stored = readings(visa.query(":TRAC:DATA?"))
    assert stored[0, 3] == 0.0 and np.all(np.diff(stored[:, 3]) > 0)    # timestamps from the first reading
    visa.write(":TRAC:POIN 2501")
    assert visa.query(":SYST:ERR?").startswith("-222,")


def test_output_off_states_drive_the_device(visa, sim):
    """Section 13 "Output-off states": NORMal holds 0 V under 0.5 % of the present current range,
    ZERO 0 V under the compliance, HIMPedance opens the output."""
    visa.write(":SENS:CURR:PROT 1e-3;:SOUR:VOLT 0.3")
    assert (sim.port.voltage, sim.port.compliance) == (0.0, pytest.approx(0.005 * 1.05e-3))
    visa.write(":OUTP:SMOD ZERO")
    assert (sim.port.voltage, sim.port.compliance) == (0.0, pytest.approx(1e-3))
    visa.write(":OUTP:SMOD HIMP")
    assert sim.port.voltage is None
    visa.write(":OUTP ON")
    assert (sim.port.voltage, sim.port.compliance) == (0.3, pytest.approx(1e-3))


def test_auto_output_off_turns_the_source_on_for_each_cycle_only(visa, station):
    """Section 18 :SOURce:CLEar:AUTO ON: :INITiate starts with the output off; off again after."""
    visa.write(":SOUR:CLE:AUTO ON;:SOUR:VOLT 0.1;:SENS:CURR:PROT 1e-3;:TRIG:COUN 2")
    data = readings(visa.query(":READ?"))
    assert data[:, 1] == pytest.approx([station.model.params.g_min * 0.1] * 2, rel=0.02)
    assert visa.query(":OUTP?") == "0"


def test_bus_arm_event_waits_for_a_trigger(visa, station):
    """Section 11 arm layer: with ARM:SOUR BUS, :INIT waits; *TRG runs the trigger layer."""
    visa.write(":ARM:SOUR BUS;:SOUR:VOLT 0.1;:SENS:CURR:PROT 1e-3;:OUTP ON")
    t0 = station.clock.now()
    visa.write(":INIT")
    assert station.clock.now() == t0
    visa.write("*TRG")
    assert station.clock.now() > t0
    assert readings(visa.query(":FETC?")).shape == (1, 5)


def test_power_loss_returns_to_the_power_on_state(visa, sim):
    """Output drops, settings back to *RST, error queue cleared, *ESR? shows power-on."""
    visa.write(":SOUR:VOLT 1.0;:SENS:CURR:PROT 1e-2;:OUTP ON;:BOGUS")
    sim.power_loss()
    assert visa.query(":OUTP?") == "0" and sim.port.voltage == 0.0
    assert float(visa.query(":SOUR:VOLT?")) == 0.0
    assert float(visa.query(":SENS:CURR:PROT?")) == pytest.approx(105e-6)
    assert visa.query(":SYST:ERR?") == NO_ERROR and visa.query("*ESR?") == "128"


def test_unread_reply_is_interrupted_by_the_next_command(visa):
    visa.write("*IDN?")
    visa.write(":SOUR:VOLT 0.1")
    assert visa.query(":SYST:ERR?").startswith("-410,")


def test_pymeasure_keithley2400_works_unchanged_over_tcp(station):
    """Issue #4, done when: pymeasure's own Keithley2400, written from the manual, identifies,
    configures source and compliance, turns the output on, reads the device model (direct and
    buffered) and turns the output off, over pyvisa-py and loopback TCP."""
    from pymeasure.instruments.keithley import Keithley2400

    expected = station.model.params.g_min * 0.1
    with InstrumentServer(station.instruments) as server:
        smu = Keithley2400(server.endpoints[0].resource, visa_library="@py", read_termination="\n",
                           write_termination="\n", timeout=5000)
        try:
            assert smu.id == IDN
            smu.reset()
            smu.source_mode = "voltage"
            smu.source_voltage_range = 2
            smu.compliance_current = 1e-3
            smu.source_voltage = 0.1
            smu.current_nplc = 1
            smu.source_enabled = True
            assert smu.source_enabled is True
            assert smu.voltage == pytest.approx(0.1, rel=1e-6)             # :MEAS:VOLT? measures V only
            assert smu.current == pytest.approx(expected, rel=0.02)        # :MEAS:CURR? measures I only
            assert smu.compliance_current == pytest.approx(1e-3)
            smu.config_buffer(points=5)
            smu.start_buffer()
            smu.wait_for_buffer(timeout=5, interval=0.01)
            assert smu.buffer_data.size == 25
            assert smu.mean_current == pytest.approx(expected, rel=0.02)
            assert smu.check_errors() == []
            smu.shutdown()                                                # ramps to 0 V, output off
            assert smu.source_enabled is False
        finally:
            smu.adapter.close()
    assert station.instruments["smu"].output is False


def test_plain_pyvisa_py_client_over_tcp(station, tcp_session):
    """The same instrument through a bare pyvisa-py socket session."""
    with InstrumentServer(station.instruments) as server:
        with tcp_session(server.endpoints[0].resource) as inst:
            assert inst.query("*IDN?") == IDN
            inst.write(":SOUR:FROB 3")
            assert inst.query(":SYST:ERR?") == '-113,"Undefined header"'


def test_colon_before_a_common_command_is_the_common_command(visa):
    """``:*RST`` (QCoDeS's Keithley2400.reset() sends it) resets as ``*RST`` does."""
    visa.write(":SOUR:VOLT 1.2")
    visa.write(":*RST")
    assert float(visa.query(":SOUR:VOLT?")) == 0.0
    assert visa.query(":SYST:ERR?") == NO_ERROR


def test_current_source_takes_the_level_up_to_its_voltage_compliance(visa, station):
    """§18 SOURce ``:CURR``, SENSe ``:VOLT:PROT``: the device takes the current at V = I/G (status
    bit 15, I source); a level that needs more than the compliance leaves the output there, with
    the compliance bit (3). Current sweeps are refused."""
    g = station.model.params.g_min
    visa.write(':SOUR:FUNC CURR;:SOUR:CURR 1e-6;:SENS:VOLT:PROT 2;:SENS:FUNC "VOLT";:OUTP ON')
    volt, curr, _, _, status = readings(visa.query(":READ?"))[0]
    assert volt == pytest.approx(1e-6 / g, rel=0.03) and curr == pytest.approx(1e-6, rel=0.03)
    assert int(status) & (1 << 15) and not int(status) & (1 << 14) and not int(status) & (1 << 3)
    visa.write(":SOUR:CURR 1e-3")                       # more than g_max · 2 V
    volt, _, _, _, status = readings(visa.query(":READ?"))[0]
    assert volt == pytest.approx(2.0, rel=1e-3) and int(status) & (1 << 3)
    visa.write(":OUTP OFF;:SOUR:VOLT:MODE LIST;:OUTP ON")
    assert visa.query(":SYST:ERR?").startswith("-221,") and visa.query(":OUTP?") == "0"


def test_the_status_word_says_whether_the_averaging_filter_is_on(visa):
    """Section 18 ``[:SENSe[1]]:AVERage[:STATe]``: the status word's bit 1 says the filter is on
    (recorded 2400 readings with the filter on: ``+2.151000E+04``); the filter itself, shared with
    the 2450, is tested in test_sim_source_meter.py."""
    visa.write(":SOUR:VOLT 0.1;:OUTP ON")
    plain = readings(visa.query(":READ?"))[0]
    visa.write(":SENS:AVER:COUN 4;:SENS:AVER ON")
    filtered = readings(visa.query(":READ?"))[0]
    assert int(plain[4]) & 2 == 0 and int(filtered[4]) & 2 == 2


def test_display_enable_is_kept_through_reset(visa):
    """Section 18 ``:DISPlay:ENABle`` (pymeasure's ``display_enabled``): on at power-on, *RST keeps it."""
    assert visa.query(":DISP:ENAB?") == "1"
    visa.write(":DISP:ENAB 0;*RST")
    assert visa.query(":DISP:ENAB?") == "0"


def test_the_200_V_range_sources_at_most_105_mA(visa, station):
    """Data sheet (2400: 22 W, ±21 V at 1.05 A, ±210 V at 105 mA): with a 1 A compliance the
    output limits at 105 mA on the 200 V range and at the compliance on the 20 V range."""
    visa.write(":SENS:CURR:PROT 1;:SOUR:VOLT:RANG 20;:SOUR:VOLT 10;:OUTP ON")
    assert station.node.ports[0].compliance == 1.0
    visa.write(":SOUR:VOLT:RANG 200")
    assert station.node.ports[0].compliance == pytest.approx(0.105)
    assert visa.query(":SENS:CURR:PROT?") == "+1.000000E+00"
    visa.write(":OUTP OFF")
