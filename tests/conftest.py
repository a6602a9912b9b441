"""Shared fixtures: a simulated station and a Keithley 2450 driver talking to it in-process; a folder
that plugin distributions are installed into."""
from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from labsuite.drivers.keithley.keithley2450 import Keithley2450  # noqa: E402
from labsuite.protocols import PROTOCOLS  # noqa: E402
from labsuite.registry import INSTRUMENTS  # noqa: E402
from labsuite.simulator.models import MODELS  # noqa: E402
from labsuite.simulator.station import TWINS, SimulatedStation  # noqa: E402


@pytest.fixture
def site(tmp_path, monkeypatch) -> Path:
    """A folder on ``sys.path`` to install plugin distributions into (a wheel unpacked, or a hand-made
    ``.dist-info``); every plugin catalog reads the entry points afresh during the test."""
    folder = tmp_path / "site"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    for catalog in (PROTOCOLS, MODELS, INSTRUMENTS, TWINS):
        monkeypatch.setattr(catalog, "_table", None)
    yield folder
    for name, module in list(sys.modules.items()):   # the plugins' modules go with their folder
        if Path(getattr(module, "__file__", None) or "/").is_relative_to(folder):
            del sys.modules[name]


@pytest.fixture
def station() -> SimulatedStation:
    return SimulatedStation(seed=7)


@pytest.fixture
def sim2450(station):
    """The simulated 2450 itself (to inspect its state)."""
    return station.instruments["smu"]


@pytest.fixture
def smu(station):
    """The labsuite driver, connected through the in-process pyvisa backend."""
    library = station.visa_library()
    driver = Keithley2450(station.resources["smu"], visa_library=library)
    yield driver
    driver.adapter.close()
    library.close_library()


@pytest.fixture
def visa(station):
    """A plain pyvisa resource on the simulated 2450 (no labsuite driver in between)."""
    import pyvisa

    library = station.visa_library()
    rm = pyvisa.ResourceManager(library)
    resource = rm.open_resource(station.resources["smu"], read_termination="\n", write_termination="\n")
    yield resource
    resource.close()
    library.close_library()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--device-address", default=None,
                     help="VISA resource of a real instrument for the opt-in hardware tests")
    parser.addoption("--device-driver", default=None,
                     help="labsuite driver name for --device-address (default: matched from *IDN?)")


@pytest.fixture
def device_address(request) -> str:
    """The real instrument given with ``--device-address``; hardware tests skip without one."""
    address = request.config.getoption("--device-address")
    if not address:
        pytest.skip("hardware test: give --device-address RESOURCE to run it on a real instrument")
    return address


REFERENCE_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "reference-data"


@pytest.fixture
def reference_trace():
    """Load a measured trace from ../shared/reference-data: (first column, conductance in S)."""
    def load(name: str) -> tuple[np.ndarray, np.ndarray]:
        path = REFERENCE_DATA / name
        if not path.exists():
            pytest.skip(f"reference data not found at {path}")
        data = np.loadtxt(path, delimiter=",", comments="#", skiprows=3 if "ltp" in name else 4)
        return data[:, 0], data[:, 1]
    return load
