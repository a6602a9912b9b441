"""Every way a run can end: outputs off, the original error shown in one line, the right status in
the run file, never exit 0 after a failure; connection and identity checks; compliance reported."""
from __future__ import annotations

import functools
import json
import logging
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import pyvisa

from labsuite import Bench, Limits, link, run_protocol
from labsuite.cli import main
from labsuite.core.errors import InstrumentError, InvalidParameter
from labsuite.core.events import RunObserver, RunState
from labsuite.core.program import PulseProgram, Segment, Train
from labsuite.interrupts import Interrupted
from labsuite.link import LinkError
from labsuite.runner import Runner
from labsuite.simulator.faults import Fault
from labsuite.simulator.server import InstrumentServer
from labsuite.simulator.station import SimulatedStation
from labsuite.store import read_run


def output_on(station: SimulatedStation) -> bool:
    """The simulated SMU itself (no driver, no fault in between) says whether its output is on."""
    return station.instruments["smu"].process(":OUTP?") == "1"


@pytest.fixture
def served(tmp_path):
    """A simulated 2450 on loopback TCP in this process, and a bench.toml naming it."""
    station = SimulatedStation(seed=1)
    with InstrumentServer(station.served()) as server:
        resource = next(e.resource for e in server.endpoints if e.role == "smu")
        toml = tmp_path / "bench.toml"
        toml.write_text(f'[smu]\ndriver = "keithley2450"\nresource = "{resource}"\n')
        yield station, resource, toml


def arm_after(station: SimulatedStation, fault: Fault, messages: int, value: float | None = None,
              starting: str = "") -> list[str]:
    """Arm ``fault`` on the SMU just before its first message from the ``messages``-th on that starts
    with ``starting``; returns every message it received."""
    injector, received, armed = station.faults["smu"], [], []
    process = injector.process

    def counted(message: str):
        received.append(message)
        if len(received) >= messages and message.startswith(starting) and not armed:
            armed.append(message)
            injector.arm(fault, value)
        return process(message)
    injector.process = counted
    return received


SOFTWARE_RUN = ["--set", "pulses=20", "--set", "width=10ms", "--timing", "software", "--no-progress"]


# --- a dropped link -------------------------------------------------------------------------

def test_a_dropped_link_exits_non_zero_names_the_resource_and_switches_off_over_a_new_connection(
        served, tmp_path, capsys):
    station, resource, toml = served
    arm_after(station, Fault.DROP, 30, starting=":SOUR:VOLT")   # mid-run, while a write pulse is on
    code = main(["run", "potentiation", "--bench", str(toml), "--out", str(tmp_path / "runs"), *SOFTWARE_RUN])
    err = capsys.readouterr().err.splitlines()
    assert code == 3
    # the next write fails at once, or (TCP: the peer's reset not in yet) the read waits out the timeout
    seen = "(connection lost|no reply before the VISA timeout .*)"
    assert len(err) == 2 and re.fullmatch(f"labsuite: error: {re.escape(resource)}: {seen}", err[0])
    assert err[1] == (f"labsuite: the link to {resource} failed (connection lost); reconnected and switched the "
                      "output off")
    assert not output_on(station)
    (path,) = (tmp_path / "runs").glob("*.h5")
    stored = read_run(path)
    assert stored.status == "failed" and re.fullmatch(f"LinkError: {re.escape(resource)}: {seen}",
                                                      stored.attrs["error"])
    # the readings taken before the drop in the (software-timed) chunk it cut short are kept
    assert np.count_nonzero(stored.samples["train"] == 1) >= 2


def test_where_it_cannot_reconnect_it_says_the_output_may_still_be_on(served, tmp_path, capsys, monkeypatch):
    station, resource, toml = served

    def refuse(*args, **kwargs):
        raise ConnectionRefusedError(111, "Connection refused")
    bench = Bench.from_toml(toml)
    monkeypatch.setattr(bench.smu.adapter.manager, "open_resource", refuse)   # the instrument is gone now
    arm_after(station, Fault.DROP, 30, starting=":SOUR:VOLT")
    with pytest.raises(LinkError, match="(connection lost|no reply)") as failure:
        with bench:
            run_protocol("potentiation", bench, {"pulses": 20, "width": "10 ms"}, out_dir=tmp_path, timing="software")
    notes = failure.value.__notes__
    assert notes and all("the output may still be ON; switch it off by hand" in n for n in notes)
    assert "reconnecting failed (connection refused)" in notes[0] and resource in notes[0]
    assert output_on(station)   # the simulated instrument indeed still has it on: the warning is true


def test_a_dropped_link_from_the_python_api_raises_the_link_error_not_a_shutdown_error(served, tmp_path):
    station, resource, toml = served
    arm_after(station, Fault.DROP, 30, starting=":SOUR:VOLT")
    with pytest.raises(LinkError, match=f"^{re.escape(resource)}: (connection lost|no reply)") as failure:
        with Bench.from_toml(toml) as bench:
            run_protocol("potentiation", bench, {"pulses": 20, "width": "10 ms"}, out_dir=tmp_path, timing="software")
    assert isinstance(failure.value.__cause__, (OSError, pyvisa.VisaIOError))   # the original, chained
    assert not output_on(station)


def test_an_error_while_switching_off_is_added_to_the_original_error_never_replaces_it(monkeypatch):
    with Bench.simulated(seed=1) as bench:
        program = PulseProgram((Train((Segment(1.0, 100e-6, "write"), Segment(0.1, 1e-3, "read", True)), 5),), 1e-3)
        monkeypatch.setattr(bench.smu, "run_train", lambda *a: (_ for _ in ()).throw(RuntimeError("original")))
        monkeypatch.setattr(bench.smu, "shutdown", lambda: (_ for _ in ()).throw(RuntimeError("shutdown broke")))
        runner = Runner(bench, program, timing="hardware")
        with pytest.raises(RuntimeError, match="^original") as failure:
            runner.run()
        assert runner.state is RunState.FAILED
        assert str(failure.value) == "original"
        assert failure.value.__notes__ == ["could not switch the output of TCPIP0::sim.labsuite::keithley2450::INSTR "
                                           "off (RuntimeError: shutdown broke): the output may still be ON; switch it "
                                           "off by hand"]
        monkeypatch.undo()


def test_an_output_that_could_not_be_switched_off_fails_an_otherwise_complete_run(monkeypatch):
    with Bench.simulated(seed=1) as bench:
        program = PulseProgram((Train((Segment(1.0, 100e-6, "write"), Segment(0.1, 1e-3, "read", True)), 5),), 1e-3)
        monkeypatch.setattr(bench.smu, "shutdown", lambda: (_ for _ in ()).throw(RuntimeError("no reply")))
        runner = Runner(bench, program)
        with pytest.raises(LinkError, match="could not switch the output off"):
            runner.run()
        assert runner.state is RunState.FAILED
        monkeypatch.undo()


def test_a_broken_pipe_to_an_instrument_is_a_failure_not_a_closed_stdout(monkeypatch, tmp_path, capsys):
    def broken(self, aperture):
        raise BrokenPipeError(32, "Broken pipe")
    monkeypatch.setattr("labsuite.drivers.keithley.keithley2450.Keithley2450.measure", broken)
    code = main(["run", "potentiation", "--sim", "--out", str(tmp_path), *SOFTWARE_RUN])
    err = capsys.readouterr().err.splitlines()
    assert code == 3 and len(err) == 1 and err[0].endswith(": connection lost")
    assert read_run(next(tmp_path.glob("*.h5"))).status == "failed"


def test_stdout_closed_by_head_still_exits_0_quietly(tmp_path):
    out = subprocess.run(f"{sys.executable} -m labsuite protocols | head -n 1", shell=True, capture_output=True,
                         text=True, cwd=tmp_path)
    assert out.returncode == 0 and out.stdout.startswith("potentiation") and out.stderr == ""


# --- connection and identity ----------------------------------------------------------------

def unused_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("resource, code, message", [
    ("TCPIP0::127.0.0.1::{port}::SOCKET", 3, "TCPIP0::127.0.0.1::{port}::SOCKET: connection refused"),
    ("TCPIP::127.0.0.1::{port}", 2, "smu.resource: 'TCPIP::127.0.0.1::{port}' names port {port} as a LAN device; a "
                                    "raw socket ends in ::SOCKET: write 'TCPIP0::127.0.0.1::{port}::SOCKET'"),
    ("GPIB0::22::INSTR", 3, "GPIB0::22::INSTR: no GPIB library: install linux-gpib (Linux) or gpib-ctypes, or a "
                            "vendor VISA (NI-VISA)"),
])
def test_a_connection_that_fails_is_one_line_naming_the_resource(tmp_path, capsys, resource, code, message):
    port = unused_port()
    toml = tmp_path / "bench.toml"
    toml.write_text(f'[smu]\ndriver = "keithley2450"\nresource = "{resource.format(port=port)}"\n')
    assert main(["run", "potentiation", "--bench", str(toml), "--no-progress", "--out", str(tmp_path)]) == code
    assert capsys.readouterr().err.splitlines() == [f"labsuite: error: {message.format(port=port)}"]
    assert not list(tmp_path.glob("*.h5"))


def test_a_driver_that_does_not_match_the_instrument_is_refused_after_idn_alone(served, tmp_path, capsys):
    station, resource, toml = served
    toml.write_text(f'[smu]\ndriver = "keithley2400"\nresource = "{resource}"\n')
    received = arm_after(station, Fault.BREAKDOWN, 10**9)   # only counts
    assert main(["run", "potentiation", "--bench", str(toml), "--no-progress", "--out", str(tmp_path)]) == 3
    assert capsys.readouterr().err.splitlines() == [
        f"labsuite: error: {resource}: *IDN? answered 'KEITHLEY INSTRUMENTS,MODEL 2450,04096218,1.7.12b', not a "
        'keithley2400 (driver "keithley2450" matches it)']
    assert received == ["*IDN?"]


def test_stale_errors_in_the_queue_are_drained_and_logged_at_connection(served, caplog):
    station, resource, _ = served
    station.instruments["smu"].process(":SOUR:VOLT:FROB 3")   # an earlier session's mistake
    with caplog.at_level(logging.WARNING, logger="labsuite"):
        with Bench.connect(resource, visa_library="@py") as bench:
            bench.smu.raise_errors()            # nothing left: the run would not trip over it
    assert any(resource in r.getMessage() and "-113" in r.getMessage() for r in caplog.records)


# --- stop signals, from the Python API --------------------------------------------------------

class SignalOnChunk(RunObserver):
    def __init__(self, signum: int, chunk: int = 2) -> None:
        self.signum, self.chunk, self.seen = signum, chunk, 0

    def on_samples(self, samples, progress) -> None:
        self.seen += 1
        if self.seen == self.chunk:
            os.kill(os.getpid(), self.signum)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT],
                         ids=lambda s: signal.Signals(s).name)
def test_a_stop_signal_during_a_python_api_run_switches_off_and_marks_the_run_aborted(tmp_path, signum):
    before = signal.getsignal(signum)
    with Bench.simulated(seed=1) as bench:
        smu = bench.station.instruments["smu"]
        with pytest.raises(Interrupted) as stopped:
            run_protocol("potentiation", bench, {"pulses": 200}, out_dir=tmp_path, observers=[SignalOnChunk(signum)],
                         runner_hook=lambda r: setattr(r, "chunk_duration", 1.0))
        assert stopped.value.signum == signum
        assert smu.process(":OUTP?") == "0"
    stored = read_run(next(tmp_path.glob("*.h5")))
    assert stored.status == "aborted"
    assert stored.attrs["error"] == f"RunAborted: interrupted by {signal.Signals(signum).name}"
    assert stored.samples.size == 21   # the initial read, then one chunk of 20 pulses (1 s / 50 ms)
    assert signal.getsignal(signum) is before   # the handlers of the caller are back


def test_ctrl_c_in_a_software_timed_chunk_keeps_its_readings_and_ends_aborted(tmp_path, monkeypatch):
    calls = {"n": 0}
    with Bench.simulated(seed=1) as bench:
        measure = bench.smu.measure

        def interrupted(aperture):
            calls["n"] += 1
            if calls["n"] == 8:
                raise KeyboardInterrupt
            return measure(aperture)
        monkeypatch.setattr(bench.smu, "measure", interrupted)
        with pytest.raises(KeyboardInterrupt):
            run_protocol("potentiation", bench, {"pulses": 20, "width": "10 ms"}, out_dir=tmp_path, timing="software")
        assert bench.station.instruments["smu"].process(":OUTP?") == "0"
    stored = read_run(next(tmp_path.glob("*.h5")))
    assert stored.status == "aborted" and stored.attrs["error"] == "RunAborted: interrupted by SIGINT"
    assert stored.samples.size == 7   # the 7 readings of the one (software-timed) chunk before Ctrl-C


# --- compliance and breakdown -----------------------------------------------------------------

def test_a_breakdown_mid_run_is_reported_in_the_run_file_the_summary_the_plot_and_one_warning(tmp_path, capsys,
                                                                                            monkeypatch):
    original = Bench.simulated

    def breaking(*args, **kwargs):
        bench = original(*args, **kwargs)
        arm_after(bench.station, Fault.BREAKDOWN, 12)
        return bench
    monkeypatch.setattr(Bench, "simulated", breaking)
    plot = tmp_path / "run.png"
    code = main(["run", "potentiation", "--sim", "--out", str(tmp_path), "--json", "--no-progress",
                 "--plot", str(plot), "--set", "pulses=20"])
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert code == 0 and summary["status"] == "completed"
    hits = summary["compliance_hits"]
    assert 10 <= hits <= 21 and summary["warning"].startswith(f"{hits} of 21 readings at the current compliance")
    assert captured.err.splitlines() == [f"labsuite: warning: {summary['warning']}"]
    stored = read_run(summary["run_file"])
    assert stored.attrs["compliance_hits"] == hits and stored.attrs["warning"] == summary["warning"]
    assert np.count_nonzero(np.abs(stored.samples["current"]) >= 0.99e-3) == hits
    assert plot.stat().st_size > 10_000


def test_a_clean_run_has_no_compliance_warning(tmp_path):
    with Bench.simulated(seed=1) as bench:
        result = run_protocol("potentiation", bench, out_dir=tmp_path)
    assert result.compliance_hits == 0 and result.warning == ""
    stored = read_run(result.path)
    assert stored.attrs["compliance_hits"] == 0 and stored.attrs["warning"] == ""


# --- the GUI ----------------------------------------------------------------------------------

def connected_window(qtbot, tmp_path: Path):
    """The main window, shown, with the simulated bench connected through its Connect button."""
    from PyQt6.QtCore import Qt

    from labsuite.gui.app import MainWindow

    window = MainWindow(tmp_path / "runs")
    qtbot.addWidget(window)
    window.show()
    panel = window.bench_panel
    with qtbot.waitSignal(panel.connected, timeout=30_000):
        qtbot.mouseClick(panel.connect_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not panel.busy, timeout=10_000)
    return window


@pytest.mark.parametrize("how", ["close", "SIGTERM", "SIGHUP"])
def test_closing_the_window_or_a_stop_signal_mid_run_switches_the_output_off(qtbot, tmp_path, monkeypatch, how):
    import threading

    from PyQt6.QtCore import Qt

    from labsuite.gui.app import closing_on_stop_signals

    window = connected_window(qtbot, tmp_path)
    panel = window.bench_panel
    bench = panel.bench
    smu = bench.station.instruments["smu"]
    reached, release = threading.Event(), threading.Event()
    measure = bench.smu.measure

    def held(aperture):   # software timing: hold a reading while the output is on
        reached.set()
        release.wait(30)
        return measure(aperture)
    monkeypatch.setattr(bench.smu, "measure", held)
    window.protocol_panel.select("potentiation", {"pulses": "20", "width": "10 ms"})
    window.protocol_panel.timing.setCurrentText("software")
    qtbot.waitUntil(lambda: not window.check_pending, timeout=10_000)
    window.revalidate()
    qtbot.mouseClick(window.controls.run_button, Qt.MouseButton.LeftButton)
    assert reached.wait(30)
    assert smu.process(":OUTP?") == "1"              # mid-run, output on
    threading.Timer(0.3, release.set).start()
    if how == "close":
        window.close()
    else:
        with closing_on_stop_signals(window) as stopped:
            os.kill(os.getpid(), getattr(signal, how))
            qtbot.waitUntil(lambda: not window.isVisible(), timeout=30_000)
        assert stopped == [getattr(signal, how)]
    assert smu.process(":OUTP?") == "0"
    (path,) = (tmp_path / "runs").glob("*.h5")
    assert read_run(path).status == "aborted"


def test_the_exit_statuses_are_documented_in_the_run_help(capsys):
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "130 Ctrl-C, 143 SIGTERM, 129 SIGHUP" in text and "3 a run aborted or failed" in text


def test_invalid_resource_is_refused_before_opening_anything():
    with pytest.raises(InvalidParameter, match="TCPIP0::h::5025::SOCKET"):
        Bench.connect("TCPIP::h::5025")
    with pytest.raises(InstrumentError):
        Bench.connect("TCPIP0::127.0.0.1::%d::SOCKET" % unused_port(), visa_library="@py", limits=Limits())


def test_an_instrument_that_crashes_mid_run_exits_non_zero_with_one_line_and_the_output_off(tmp_path, capsys,
                                                                                           monkeypatch):
    """A simulated instrument raising inside a command (as the served B2900 did on `iv`): exit 1, not 0."""
    original, stations = Bench.simulated, []

    def crashing(*args, **kwargs):
        bench = original(*args, **kwargs)
        stations.append(bench.station)
        injector, seen = bench.station.faults["smu"], []
        process = injector.process

        def crash(message: str):
            seen.append(message)
            if len(seen) == 12:
                raise KeyError(0)
            return process(message)
        injector.process = crash
        return bench
    monkeypatch.setattr(Bench, "simulated", crashing)
    code = main(["run", "potentiation", "--sim", "--smu", "keysightb2900", "--out", str(tmp_path), "--no-progress"])
    err = capsys.readouterr().err.splitlines()
    assert code == 1
    assert err == ["labsuite: error: unexpected KeyError: 0 (a bug: please report it; LABSUITE_DEBUG=1 shows the "
                   "traceback)"]
    stored = read_run(next(tmp_path.glob("*.h5")))
    assert stored.status == "failed" and stored.attrs["error"] == "KeyError: 0"
    assert stations[0].instruments["smu"].process(":OUTP1?") == "0"


def test_a_run_at_compliance_is_reported_in_the_gui_status_bar_and_log(qtbot, tmp_path, caplog):
    from PyQt6.QtCore import Qt

    window = connected_window(qtbot, tmp_path)
    panel = window.bench_panel
    panel.bench.station.faults["smu"].arm(Fault.BREAKDOWN)   # the device is a short from the start
    window.protocol_panel.select("potentiation", {"pulses": "10"})
    qtbot.waitUntil(lambda: not window.check_pending, timeout=10_000)
    window.revalidate()
    with caplog.at_level(logging.WARNING, logger="labsuite"):
        with qtbot.waitSignal(window.run_finished, timeout=30_000) as finished:
            qtbot.mouseClick(window.controls.run_button, Qt.MouseButton.LeftButton)
    outcome = finished.args[0]
    assert outcome.state is RunState.COMPLETED and outcome.warning.startswith("11 of 11 readings at the current")
    assert f"WARNING: {outcome.warning}" in window.statusBar().currentMessage()
    assert any(outcome.warning in r.getMessage() for r in caplog.records)
    qtbot.waitUntil(lambda: not panel.busy, timeout=10_000)


def test_a_2600b_shutdown_after_a_script_load_cut_short_runs_instead_of_being_recorded():
    """A load interrupted on the same session (Ctrl-C mid-write) leaves the 2600B recording lines
    into the script: the shutdown must end the load first, or it would be recorded, not run."""
    with Bench.simulated(seed=1, smu="keithley2600") as bench:
        smu, twin = bench.smu, bench.station.instruments["smu"]
        smu.write("smua.source.levelv = 0.1 smua.source.output = smua.OUTPUT_ON")
        smu._loading = True                      # what load_script() leaves when its write is cut short
        smu.write("loadscript labsuite_train\nfunction labsuite_setup()")
        smu.shutdown()
        assert twin.process("print(smua.source.output)") in ("0", "0.00000e+00")


def test_after_a_timeout_the_switch_off_is_confirmed_not_left_behind_a_late_reply(served, tmp_path, capsys,
                                                                                   monkeypatch):
    """A reply late past the VISA timeout: the output-off written on the same connection waited behind
    it, so labsuite exited with the output still ON and said nothing. Now ``*OPC?`` confirms the
    switch-off, and when it does not come the output is switched off over a new connection."""
    station, resource, toml = served
    bench = Bench.from_toml(toml)
    bench.smu.adapter.connection.timeout = 1000   # ms: a short VISA timeout keeps this test fast
    monkeypatch.setattr(link, "reconnect", functools.partial(_reconnect_fast, link.reconnect))
    arm_after(station, Fault.LATE, 30, 5.0)
    with pytest.raises(LinkError, match="no reply before the VISA timeout"):
        with bench:
            run_protocol("potentiation", bench, {"pulses": 20, "width": "10 ms"}, out_dir=tmp_path, timing="software")
    assert not output_on(station)


def _reconnect_fast(reconnect, instrument) -> None:
    reconnect(instrument)
    instrument.adapter.connection.timeout = 1000
