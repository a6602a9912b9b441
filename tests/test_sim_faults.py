"""Fault injection: what a client sees when the link, the instrument or the device fails."""
import pytest
import pyvisa
from pyvisa.constants import StatusCode

from labsuite.simulator.faults import Fault
from labsuite.simulator.server import InstrumentServer
from labsuite.simulator.station import SimulatedStation


@pytest.fixture
def served():
    """A station on loopback TCP and a plain pyvisa-py client on its SMU (timeout 300 ms)."""
    station = SimulatedStation(seed=2)
    with InstrumentServer(station.served()) as server:
        resources = {e.role: e.resource for e in server.endpoints}
        rm = pyvisa.ResourceManager("@py")
        smu = rm.open_resource(resources["smu"], read_termination="\n", write_termination="\n", timeout=300)
        yield station, smu, rm, resources
        smu.close()
        rm.close()


def test_dropped_connection_closes_the_socket_and_a_new_one_works(served):
    station, smu, rm, resources = served
    station.faults["smu"].arm(Fault.DROP)
    with pytest.raises(pyvisa.VisaIOError):
        smu.query("*IDN?")
    again = rm.open_resource(resources["smu"], read_termination="\n", write_termination="\n", timeout=1000)
    assert again.query("*IDN?").startswith("KEITHLEY INSTRUMENTS,MODEL 2450")
    again.close()


def test_a_late_reply_times_the_client_out_and_arrives_on_the_next_read(served):
    station, smu, _, _ = served
    station.faults["smu"].arm(Fault.LATE, 0.6)
    with pytest.raises(pyvisa.VisaIOError) as info:
        smu.query(":SOUR:VOLT:ILIM?")
    assert info.value.error_code == StatusCode.error_timeout
    smu.timeout = 2000
    assert float(smu.query("*OPC?")) == pytest.approx(105e-6)   # the stale reply comes first
    assert smu.read() == "1"                                     # shifted by one until drained


def test_a_garbled_reply_is_malformed_but_terminated(served):
    station, smu, _, _ = served
    station.faults["smu"].arm(Fault.GARBLE)
    reply = smu.query(":SOUR:VOLT:ILIM?")
    with pytest.raises(ValueError):
        float(reply)
    assert float(smu.query(":SOUR:VOLT:ILIM?")) == pytest.approx(105e-6)   # one reply only


def test_power_loss_drops_the_output_resets_settings_and_the_link(served):
    station, smu, rm, resources = served
    assert smu.query(":SOUR:VOLT:ILIM 1e-3;:SOUR:VOLT 0.5;:OUTP ON;*OPC?") == "1"
    assert station.instruments["smu"].source.output
    station.faults["smu"].arm(Fault.POWER)
    assert not station.instruments["smu"].source.output
    assert station.node.ports[0].voltage == 0.0           # off in the NORMal state: 0 V, no more 0.5 V
    with pytest.raises(pyvisa.VisaIOError):
        smu.query("*IDN?")
    again = rm.open_resource(resources["smu"], read_termination="\n", write_termination="\n", timeout=1000)
    assert again.query(":OUTP?") == "0" and float(again.query(":SOUR:VOLT:ILIM?")) == pytest.approx(105e-6)
    again.close()


def test_device_breakdown_is_a_short_that_only_compliance_limits(served):
    station, smu, _, _ = served
    smu.write(':SOUR:VOLT:ILIM 1e-3;:SOUR:VOLT 0.5;:OUTP ON;:SENS:FUNC "CURR"')
    before = float(smu.query(":READ?"))
    assert before < 1e-4                                   # the healthy device: tens of µS at 0.5 V
    station.faults["smu"].arm(Fault.BREAKDOWN, 10.0)
    after = float(smu.query(":READ?"))
    assert after == pytest.approx(1e-3, rel=0.01)          # 0.5 V / 10 Ω, clamped at the limit
    assert smu.query(":SOUR:VOLT:ILIM:TRIP?") == "1"
    smu.write(":OUTP OFF")


def test_faults_and_virtual_time_are_reachable_through_the_simulator_role(served):
    station, smu, rm, resources = served
    control = rm.open_resource(resources["simulator"], read_termination="\n", write_termination="\n")
    t0 = float(control.query("TIME?"))
    control.write("WAIT 3600")
    assert float(control.query("TIME?")) == pytest.approx(t0 + 3600, abs=1.0)
    control.write("FAULT smu,GARBLE")
    assert control.query(":SYST:ERR?") == '0,"No error"'   # also: the fault is armed before the SMU is asked
    with pytest.raises(ValueError):
        float(smu.query(":SOUR:VOLT:ILIM?"))
    control.write("FAULT nosuch,DROP")
    assert control.query(":SYST:ERR?").startswith('-224,"Illegal parameter value; no such role')
    control.close()


def test_in_process_transport_shows_the_same_faults():
    station = SimulatedStation(seed=2)
    library = station.visa_library()
    rm = pyvisa.ResourceManager(library)
    smu = rm.open_resource(station.resources["smu"], read_termination="\n", write_termination="\n", timeout=300)
    station.faults["smu"].arm(Fault.LATE, 1.0)
    with pytest.raises(pyvisa.VisaIOError) as info:
        smu.query(":OUTP?")
    assert info.value.error_code == StatusCode.error_timeout
    assert smu.query("*IDN?") == "0"            # the stale reply first, as over a socket
    assert smu.read().startswith("KEITHLEY")   # replies stay shifted until the client drains them
    station.faults["smu"].arm(Fault.DROP)
    with pytest.raises(pyvisa.VisaIOError) as info:
        smu.write("*CLS")
    assert info.value.error_code == StatusCode.error_connection_lost
    smu.close()
    library.close_library()
