"""`labsuite sim serve`: a plain pyvisa + pyvisa-py client talks to the simulated 2450 over loopback TCP."""
import subprocess
import sys

import pytest


@pytest.fixture
def served(tmp_path):
    # run outside the checkout: `python -m` puts the working folder first on sys.path
    proc = subprocess.Popen([sys.executable, "-m", "labsuite", "sim", "serve", "--seed", "3"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        line = proc.stdout.readline()
        assert line, proc.stderr.read()
        yield line.rstrip("\n").split("\t")
    finally:
        proc.terminate()
        proc.wait(10)


def test_serve_prints_role_resource_and_idn(served):
    role, resource, idn = served
    assert role == "smu"
    assert resource.startswith("TCPIP0::127.0.0.1::") and resource.endswith("::SOCKET")
    assert idn == "KEITHLEY INSTRUMENTS,MODEL 2450,04096218,1.7.12b"


def test_plain_pyvisa_client_sources_reads_and_sees_errors(served, tcp_session):
    _, resource, _ = served
    with tcp_session(resource) as inst:
        assert inst.query("*IDN?").startswith("KEITHLEY INSTRUMENTS,MODEL 2450")
        inst.write(":SOUR:FUNC VOLT")
        inst.write(":SOUR:VOLT:ILIM 1e-3")
        inst.write(":SOUR:VOLT 0.1")
        inst.write(":OUTP ON")
        current = float(inst.query(":READ?"))
        assert current == pytest.approx(20e-6 * 0.1, rel=0.02)        # G_min = 20 µS at 0.1 V
        inst.write(":OUTP OFF")
        assert inst.query(":OUTP?") == "0"
        inst.write(":SOUR:VOLT:FROB 3")
        assert inst.query(":SYST:ERR?").startswith('-113,"Undefined header')
        assert inst.query(":SYST:ERR?") == '0,"No error;0;0 0"'


@pytest.mark.parametrize("smu", ["keithley2450", "keithley2600", "keysightb2900", "keithley2400"])
def test_bench_over_tcp_runs_the_same_train_bit_for_bit(smu):
    """Over TCP the bench's virtual clock waits for every message to execute before time passes,
    so one seed gives the in-process run exactly: every sample column and every figure."""
    from labsuite import Bench, run_protocol
    parameters = {"pulses": 10, "width": 1e-3}   # a width the 2400 can time too
    with Bench.simulated(seed=3, smu=smu, transport="tcp") as bench:
        tcp = run_protocol("potentiation", bench, parameters, out_dir=None)
    with Bench.simulated(seed=3, smu=smu) as bench:
        local = run_protocol("potentiation", bench, parameters, out_dir=None)
    assert all(tcp.samples[name].tobytes() == local.samples[name].tobytes() for name in local.samples.dtype.names)
    assert tcp.figures == local.figures


@pytest.fixture
def slow_device(monkeypatch):
    """A loaded computer: every stretch of device time costs 0.5 ms of wall time to compute."""
    import time

    from labsuite.simulator.circuit import DeviceNode

    hold = DeviceNode.hold

    def slow_hold(self, port, duration):
        time.sleep(0.5e-3)
        return hold(self, port, duration)

    monkeypatch.setattr(DeviceNode, "hold", slow_hold)


@pytest.mark.parametrize("smu", ["keithley2600", "keysightb2900"])
def test_a_served_instrument_times_trains_by_its_own_clock_however_slow_the_computer(smu, slow_device):
    """`labsuite sim serve` follows the wall clock between commands, not while an instrument
    executes one: computing time never stretches a pulse, a read or a gap (it once made the served
    2600B's timers overrun and leave smua sweeping). Readings stay 50 ms apart to 1 µs."""
    import numpy as np

    from labsuite import Bench, run_protocol
    from labsuite.core.clock import VirtualClock
    from labsuite.simulator.server import InstrumentServer
    from labsuite.simulator.station import SimulatedStation

    station = SimulatedStation(seed=1, smu=smu, clock=VirtualClock(follow_wall=True))
    with InstrumentServer(station.served()) as server:
        resource = next(e.resource for e in server.endpoints if e.role == "smu")
        with Bench.connect(resource, smu) as bench:
            samples = run_protocol("potentiation", bench, {"pulses": 20}, out_dir=None).samples
    assert samples.size == 21
    pulses = samples[samples["train"] == 1]
    assert np.diff(pulses["t"]) == pytest.approx(np.full(19, 50e-3), abs=1e-6)


def test_a_thousand_pulse_potentiation_runs_on_the_served_b2900():
    """500 list points a repeat: each run replays at most 200 repeats, so that arm count × trigger
    count stays within 100 000 (it was -221, Settings conflict, at 1000 pulses)."""
    from labsuite import Bench, run_protocol

    with Bench.simulated(seed=3, smu="keysightb2900", transport="tcp") as bench:
        result = run_protocol("potentiation", bench, {"pulses": 1000}, out_dir=None)
    assert result.samples.size == 1001
    assert result.figures["pulses"] == 1000 and result.figures["g_max"] > 2 * result.figures["g_min"]


def served_potentiation(tmp_path, seed: int):
    """A 20-pulse potentiation by the real 2450 driver over pyvisa-py TCP on `labsuite sim serve --seed`."""
    from labsuite import Bench, run_protocol

    proc = subprocess.Popen([sys.executable, "-m", "labsuite", "sim", "serve", "--seed", str(seed)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        line = proc.stdout.readline()
        assert line, proc.stderr.read()
        _, resource, _ = line.rstrip("\n").split("\t")
        with Bench.connect(resource, "keithley2450") as bench:
            return run_protocol("potentiation", bench, {"pulses": 20}, out_dir=None)
    finally:
        proc.terminate()
        proc.wait(10)


def test_a_served_bench_gives_bit_identical_runs_for_one_seed_and_the_in_process_figures(tmp_path):
    """Virtual time stands still while a message executes, so a train played in one message reads the
    same device whatever the wall clock did: three runs on `labsuite sim serve` with one seed agree bit
    for bit, with each other and with the in-process bench. Only the start of each train (the client's
    wall clock) moves; the readings inside a train keep the in-process spacing."""
    import numpy as np

    from labsuite import Bench, run_protocol

    runs = [served_potentiation(tmp_path, seed=5) for _ in range(3)]
    with Bench.simulated(seed=5) as bench:
        local = run_protocol("potentiation", bench, {"pulses": 20}, out_dir=None)
    measured = [n for n in local.samples.dtype.names if n != "t"]
    for run in runs:
        assert all(run.samples[name].tobytes() == local.samples[name].tobytes() for name in measured)
        assert run.figures == local.figures
        in_train = run.samples["train"] == 1
        assert np.diff(run.samples["t"][in_train]) == pytest.approx(np.diff(local.samples["t"][in_train]), abs=1e-9)
