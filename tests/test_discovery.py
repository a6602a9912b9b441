"""`labsuite instruments`: VISA resources, their *IDN? and the matching labsuite driver."""
import warnings

import pyvisa

from labsuite.cli import main
from labsuite.discovery import discover
from labsuite import registry
from labsuite.simulator.faults import Fault
from labsuite.simulator.station import SimulatedStation


def test_each_driver_matches_its_own_instruments_reply_and_no_other():
    assert registry.match("KEITHLEY INSTRUMENTS,MODEL 2450,04096218,1.7.12b").name == "keithley2450"
    assert registry.match("KEITHLEY INSTRUMENTS INC.,MODEL 2000,1,A") is None


def test_discovery_asks_every_resource_and_names_its_driver():
    station = SimulatedStation(seed=1)
    library = station.visa_library(with_control=True)
    found = {item.resource: item for item in discover(library)}
    smu = found[station.resources["smu"]]
    assert smu.idn.startswith("KEITHLEY INSTRUMENTS,MODEL 2450") and smu.driver == "keithley2450"
    assert found[station.resources["simulator"]].driver is None
    library.close_library()


def test_a_resource_that_does_not_answer_is_listed_with_the_reason():
    station = SimulatedStation(seed=1)
    library = station.visa_library()
    station.faults["smu"].arm(Fault.LATE, 10.0)
    (item,) = discover(library, timeout=0.2)
    assert item.idn == "" and item.driver is None and item.error == "Timeout: no reply to *IDN? within 0.2 s"
    library.close_library()


def test_cli_lists_the_simulated_station(capsys):
    assert main(["instruments", "--sim"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any(line.startswith("TCPIP0::sim.labsuite::keithley2450::INSTR\tKEITHLEY INSTRUMENTS,MODEL 2450")
               and line.endswith("keithley2450 (labsuite.drivers.keithley.keithley2450)") for line in lines)


def test_cli_lists_what_the_simulator_has(capsys):
    assert main(["instruments", "--simulated"]) == 0
    assert "smu\tkeithley2450" in capsys.readouterr().out.splitlines()


def test_interfaces_a_backend_skips_are_one_warning_line_each(capsys, monkeypatch):
    """pyvisa-py without zeroconf or PyUSB: its raw UserWarning and its debug report became one
    `labsuite: warning: skipped: ...` line per interface; the resources are listed as before."""
    listed = pyvisa.ResourceManager.list_resources

    def list_resources(self, query="?*::INSTR"):
        warnings.warn("TCPIP::hislip resource discovery requires the zeroconf package to be installed... "
                      "try 'pip install zeroconf'", UserWarning)
        return listed(self, query)

    def debug_info(self):
        return {"Version": "0.8", "TCPIP INSTR": "Available", "USB INSTR": ["Please install PyUSB.", "no usb"],
                "USB RAW": ["Please install PyUSB.", "no usb"]}

    monkeypatch.setattr(pyvisa.ResourceManager, "list_resources", list_resources)
    monkeypatch.setattr("labsuite.simulator.visa.SimulatedVisaLibrary.get_debug_info", debug_info)
    assert main(["instruments", "--sim"]) == 0
    out, err = capsys.readouterr()
    assert err.splitlines() == [
        "labsuite: warning: skipped: TCPIP::hislip resource discovery requires the zeroconf package to be "
        "installed... try 'pip install zeroconf'",
        "labsuite: warning: skipped: USB INSTR, USB RAW: Please install PyUSB."]
    assert "keithley2450::INSTR\tKEITHLEY" in out
