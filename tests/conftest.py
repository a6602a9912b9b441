"""Shared fixtures: a simulated station (its SMU the registered name a test module sets as
``SMU``, else the Keithley 2450), the simulated SMU, a plain pyvisa resource on it, and that
SMU's labsuite driver talking to it in-process; a folder that plugin distributions are installed
into; the command line called in process from an empty folder."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from labsuite.protocols import PROTOCOLS  # noqa: E402
from labsuite.registry import INSTRUMENTS  # noqa: E402
from labsuite.simulator.models import MODELS  # noqa: E402
from labsuite.simulator.station import TWINS, SimulatedStation  # noqa: E402


@pytest.fixture
def user_recipes(tmp_path_factory, monkeypatch) -> Path:
    """An empty user recipe folder (``$LABSUITE_RECIPES``), so no recipe of the user's own is found."""
    folder = tmp_path_factory.mktemp("user-recipes")
    monkeypatch.setenv("LABSUITE_RECIPES", str(folder))
    return folder


@pytest.fixture
def cli(tmp_path, monkeypatch, capsys, user_recipes):
    """Run ``labsuite ARGS`` in process (``labsuite.cli.main``) in an empty folder, with an empty
    user recipe folder: (exit status, stdout, stderr)."""
    from labsuite.cli import main

    monkeypatch.chdir(tmp_path)

    def run(*argv: str) -> tuple[int, str, str]:
        try:
            code = main(list(argv))
        except SystemExit as exc:
            code = exc.code
        out = capsys.readouterr()
        return code, out.out, out.err
    return run


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
def smu_name(request) -> str:
    """The registered name of the station's SMU: the test module's ``SMU``, else the 2450."""
    return getattr(request.module, "SMU", "keithley2450")


@pytest.fixture
def station(smu_name) -> SimulatedStation:
    return SimulatedStation(seed=7, smu=smu_name)


@pytest.fixture
def sim(station):
    """The simulated SMU itself (to inspect its state)."""
    return station.instruments["smu"]


@pytest.fixture
def sim2450(sim):
    """The simulated 2450 itself (to inspect its state)."""
    return sim


@pytest.fixture
def smu_driver(smu_name) -> type:
    """The labsuite driver class of the station's SMU."""
    return INSTRUMENTS[smu_name].driver


@pytest.fixture
def smu(station, smu_driver):
    """The labsuite driver, connected through the in-process pyvisa backend."""
    library = station.visa_library()
    driver = smu_driver(station.resources["smu"], visa_library=library)
    yield driver
    driver.adapter.close()
    library.close_library()


@pytest.fixture
def visa(station):
    """A plain pyvisa resource on the simulated SMU (no labsuite driver in between)."""
    import pyvisa

    library = station.visa_library()
    rm = pyvisa.ResourceManager(library)
    resource = rm.open_resource(station.resources["smu"], read_termination="\n", write_termination="\n")
    yield resource
    resource.close()
    library.close_library()


@pytest.fixture
def figures_on():
    """``figures_on(protocol, figure, smus)``: ``{smu: figure}``, the protocol's ``figure`` run at
    its defaults on each simulated SMU of ``smus`` (seed 1), every run completed."""
    from labsuite import Bench, run_protocol
    from labsuite.core.events import RunState

    def figures(protocol: str, figure: str, smus: tuple[str, ...]) -> dict[str, float]:
        found = {}
        for smu in smus:
            with Bench.simulated(seed=1, smu=smu) as bench:
                result = run_protocol(protocol, bench, out_dir=None)
            assert result.state is RunState.COMPLETED
            found[smu] = result.figures[figure]
        return found
    return figures


@pytest.fixture
def tcp_session():
    """Opens a bare pyvisa-py session on a served resource (LF both ways, 5 s timeout) in a
    ``with`` block, closed with its resource manager at the block's end."""
    import pyvisa

    @contextmanager
    def session(resource: str):
        rm = pyvisa.ResourceManager("@py")
        inst = rm.open_resource(resource, read_termination="\n", write_termination="\n", timeout=5000)
        try:
            yield inst
        finally:
            inst.close()
            rm.close()
    return session


@pytest.fixture
def drive_log(station):
    """Start recording on the SMU's port: the returned list gets (bench time s, V) each time the
    port changes the voltage it sources."""
    def start() -> list[tuple[float, float]]:
        port = station.node.ports[0]
        log, drive = [], port.drive

        def recording(voltage, current_limit=np.inf):
            if voltage != port.voltage:
                log.append((station.clock.now(), voltage))
            drive(voltage, current_limit)
        port.drive = recording
        return log
    return start


@pytest.fixture
def watch_device(monkeypatch):
    """Start calling ``each(v_source V, compliance A, duration s, roles of the ports driving)`` for
    every hold the device on ``node`` goes through, held one segment at a time (``DeviceNode.apply``)
    or within a train evaluated as a whole (``DeviceModel.evolve_train``: the SMU's port alone, the
    generators drive through their 50 Ω); ``each`` may raise, to strike a fault there."""
    def start(node, each) -> None:
        apply, evolve_train = node.apply, node.model.evolve_train

        def applying(v_source, series_resistance, compliance, duration):
            each(v_source, compliance, duration, {p.role for p in node.ports if p.voltage is not None})
            return apply(v_source, series_resistance, compliance, duration)

        def evolving(v, compliance, durations, *args):
            evolution = evolve_train(v, compliance, durations, *args)
            rows = list(zip(v.tolist(), compliance.tolist(), durations.tolist()))
            for v_source, limit, duration in rows[:evolution.done if evolution else 0]:
                each(v_source, limit, duration, {"smu"} if limit < np.inf else set())
            return evolution
        monkeypatch.setattr(node, "apply", applying)
        monkeypatch.setattr(node.model, "evolve_train", evolving)
    return start


@pytest.fixture
def device_holds(watch_device):
    """``device_holds(node)``: a list that fills with (level V, current limit A, duration s) of every
    hold the device on ``node`` goes through from now on."""
    def start(node) -> list[tuple[float, float, float]]:
        held: list[tuple[float, float, float]] = []
        watch_device(node, lambda v_source, limit, duration, _roles: held.append((v_source, limit, duration)))
        return held
    return start


@pytest.fixture
def fail_on_second_chunk():
    """A run observer raising ``exc`` when the second chunk of samples arrives."""
    from labsuite.core.events import RunObserver

    class FailOnSecondChunk(RunObserver):
        def __init__(self, exc: BaseException) -> None:
            self.exc, self.chunks = exc, 0

        def on_samples(self, samples, progress) -> None:
            self.chunks += 1
            if self.chunks == 2:
                raise self.exc
    return FailOnSecondChunk


@pytest.fixture
def killed_run(tmp_path):
    """Run a script (Python source) as its own process in ``tmp_path``, read the first ``lines``
    sample counts it prints, then SIGKILL it; gives (its return code, the counts read)."""
    def run(script: str, lines: int) -> tuple[int, list[int]]:
        (tmp_path / "long_run.py").write_text(script)
        proc = subprocess.Popen([sys.executable, "long_run.py"], stdout=subprocess.PIPE, text=True, cwd=tmp_path)
        reported = [int(next(proc.stdout)) for _ in range(lines)]
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        proc.stdout.close()
        return proc.returncode, reported
    return run


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


@pytest.fixture
def hardware_reading(device_address):
    """Opt-in hardware: ``with hardware_reading(Driver) as (smu, V, A)`` opens the driver on the
    ``--device-address`` instrument, checks its *IDN? matches the driver, sources 0.1 V under a
    1 mA limit and reads once (20 ms); on leaving, the driver shuts down and closes."""
    @contextmanager
    def reading(driver: type):
        smu = driver(device_address)
        try:
            assert re.search(driver.idn_pattern, smu.identify())
            smu.configure(compliance=1e-3, max_level=0.1)
            smu.set_level(0.1)
            smu.set_output(True)
            voltage, current = smu.measure(20e-3)
            yield smu, voltage, current
        finally:
            smu.shutdown()
            smu.adapter.close()
    return reading


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
