"""The fault campaign: every injectable fault, every protocol, every registered bench, through the
CLI; and SIGINT, SIGTERM and SIGHUP sent to a real `labsuite run` while a pulse plays on a bench
served by `labsuite sim serve`.

Each fault run is the same command as a clean run with one fault armed halfway through the
clean run's messages to one instrument. Afterwards the simulated instruments themselves are
asked whether an output is on, the run file's status and samples are read, and stderr must hold
one ``labsuite: error:`` line (a warning line for a breakdown) and no traceback.

The benches are every registered SMU, alone and with every registered generator. By default a
deterministic sample runs (every fault with one protocol on every bench whose SMU is a family's
entry, every protocol once per fault on a bench that rotates through all of them, a model's own
entry included); ``LABSUITE_FULL_CAMPAIGN=1`` runs the full cross product. A protocol that a bench refuses at its defaults counts as a pass when it is
refused before any byte of the run is sent.
"""
from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import pyvisa

from labsuite import Bench
from labsuite.cli import main
from labsuite.protocols import PROTOCOLS
from labsuite.registry import INSTRUMENTS, names
from labsuite.simulator.faults import Fault
from labsuite.simulator.station import TWINS
from labsuite.store import read_run

FULL = os.environ.get("LABSUITE_FULL_CAMPAIGN") == "1"
SMUS = tuple(names("smu"))
GENERATORS = (None, *names("pulse_generator"))
BENCHES = tuple((smu, gen) for smu in SMUS for gen in GENERATORS)
LATE_S = 30.0   # s: past the drivers' 10 s VISA timeout
SEED = 1

#: how each simulated instrument class says whether an output is on ("0": off), asked bypassing faults
OUTPUT_QUERIES = {
    "Keithley2450": (":OUTP?",), "Keithley2400": (":OUTP?",),
    "Keithley2600": ("print(smua.source.output)", "print(smub.source.output)"),
    "KeysightB2900": (":OUTP1?", ":OUTP2?"),
    "Keysight33500": ("OUTP1?", "OUTP2?"), "TektronixAFG31000": ("OUTP1:STAT?", "OUTP2:STAT?"),
}


def queries(name: str, table: dict[str, object]):
    """The entry of ``table`` for the simulated class that stands in for registered instrument ``name``."""
    return table[TWINS[name].cls.__name__]


def outputs_on(station) -> list[str]:
    """The outputs a simulated station's instruments say are on (queried on the instruments themselves)."""
    registered = {"smu": station.smu, "pulse_generator": station.pulse_generator}
    on = []
    for role, instrument in station.instruments.items():
        for query in queries(registered[role], OUTPUT_QUERIES):
            if float(instrument.process(query)) != 0:
                on.append(f"{registered[role]} {query}")
    return on


@dataclass
class Outcome:
    """What one `labsuite run` did, seen from outside."""

    code: int
    stderr: str
    station: object
    messages: int                      # messages the target instrument received once connected
    run_messages: int                  # ... of which before the bench was closed (its shutdown)
    progress: list[tuple[int, int]]    # (messages so far, samples so far) after each chunk
    runs: list[Path] = field(default_factory=list)

    @property
    def errors(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.startswith("labsuite: error:")]


def run_cli(tmp_path: Path, monkeypatch, capsys, protocol: str, smu: str, gen: str | None, role: str,
            transport: str, fault: Fault | None = None, at: int = 0) -> Outcome:
    """`labsuite run PROTOCOL --sim` on the bench, with ``fault`` armed on ``role`` just before its
    ``at``-th message; counts that instrument's messages."""
    seen = {"bench": None, "messages": 0, "run_messages": 0}
    progress: list[tuple[int, int]] = []
    original = Bench.simulated

    def simulated(*args, **kwargs):
        bench = original(*args, **kwargs)
        injector = bench.station.faults[role]
        process = injector.process

        def counted(message: str):
            seen["messages"] += 1
            if fault is not None and seen["messages"] == at:
                injector.arm(fault, LATE_S if fault is Fault.LATE else None)
            return process(message)
        monkeypatch.setattr(injector, "process", counted)
        seen["bench"] = bench
        return bench



    from labsuite import experiment
    writer_samples = experiment.RunWriter.on_samples

    def on_samples(self, samples, prog):
        writer_samples(self, samples, prog)
        progress.append((seen["messages"], self.stored))

    close = Bench.close

    def closing(self, error=None):
        seen["run_messages"] = seen["messages"]
        close(self, error)

    monkeypatch.setattr(Bench, "simulated", simulated)
    monkeypatch.setattr(Bench, "close", closing)
    monkeypatch.setattr(experiment.RunWriter, "on_samples", on_samples)
    out = tmp_path / ("clean" if fault is None else fault.value)
    argv = ["run", protocol, "--sim", "--smu", smu, "--seed", str(SEED), "--out", str(out), "--no-progress",
            "--transport", transport]
    if gen is not None:
        argv += ["--pulse-generator", gen]
    capsys.readouterr()
    code = main(argv)
    stderr = capsys.readouterr().err
    monkeypatch.undo()
    return Outcome(code, stderr, seen["bench"].station, seen["messages"], seen["run_messages"], progress,
                   sorted(out.glob("*.h5")) if out.exists() else [])


@functools.cache
def _sample() -> tuple[tuple[Fault, str, str, str | None, str], ...]:
    """(fault, protocol, smu, generator, role) of the sample or of the full product."""
    protocols = sorted(PROTOCOLS)
    cases = set()
    for f, fault in enumerate(Fault):
        for b, (smu, gen) in enumerate(BENCHES):
            family = INSTRUMENTS[smu].model is None
            for p, protocol in enumerate(protocols):
                wanted = FULL or (protocol == "potentiation" and family) or b == (5 * f + p) % len(BENCHES)
                if wanted:   # on a bench with a generator, the fault strikes one or the other, alternately
                    role = "pulse_generator" if gen is not None and (f + p + b) % 2 else "smu"
                    cases.add((fault, protocol, smu, gen, role))
    return tuple(sorted(cases, key=lambda c: (c[0].value, c[1], c[2], c[3] or "", c[4])))


def _id(case) -> str:
    fault, protocol, smu, gen, role = case
    return f"{fault.value}-{protocol}-{smu}{'+' + gen if gen else ''}-{role}"


_clean_runs: dict[tuple[str, str, str | None, str, str], tuple[Outcome, np.ndarray | None]] = {}


def transport_for(fault: Fault, protocol: str) -> str:
    """Link faults over loopback TCP, where a dropped link is really gone (the in-process session
    survives a drop), so that switching the outputs off must reconnect: on every bench, with every
    protocol in the full campaign, with one in the sample. The rest in process (faster)."""
    link = fault in (Fault.DROP, Fault.POWER)
    return "tcp" if link and (FULL or protocol == "potentiation") else "inprocess"


def clean_run(tmp_path_factory, monkeypatch, capsys, protocol, smu, gen, role, transport):
    """The run without a fault (once per protocol, bench, role and transport): its message count and samples."""
    key = (protocol, smu, gen, role, transport)
    if key not in _clean_runs:
        outcome = run_cli(tmp_path_factory.mktemp("clean"), monkeypatch, capsys, protocol, smu, gen, role, transport)
        samples = read_run(outcome.runs[0]).samples if outcome.runs else None
        _clean_runs[key] = (outcome, samples)
    return _clean_runs[key]


# an instrument served over TCP that crashes (a simulator bug) closes its connection: that is one of
# the failures the client must survive, not an error of this test
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
@pytest.mark.parametrize("case", _sample(), ids=_id)
def test_a_fault_mid_run_ends_with_outputs_off_samples_kept_and_one_clear_line(
        case, tmp_path, tmp_path_factory, monkeypatch, capsys):
    fault, protocol, smu, gen, role = case
    transport = transport_for(fault, protocol)
    clean, clean_samples = clean_run(tmp_path_factory, monkeypatch, capsys, protocol, smu, gen, role, transport)
    assert outputs_on(clean.station) == []
    if clean.code == 2:   # refused at defaults on this bench, before any byte of the run (or stage) was sent
        assert len(clean.errors) == 1 and "Traceback" not in clean.stderr
        if clean.runs:   # a closed loop whose next stage is refused: the stages before it are kept
            stored = read_run(clean.runs[0])
            assert stored.status == "failed" and stored.attrs["error"].startswith(("LimitError", "InvalidParameter"))
        else:
            assert clean.run_messages == 0
        return
    if clean.code != 0:   # fails by itself at defaults: still outputs off, non-zero, its file says failed
        assert read_run(clean.runs[0]).status == "failed" and clean.errors, clean.stderr
        pytest.skip(f"fails without a fault: {clean.errors[-1]}")
    at = max(3, clean.messages // 2)   # past the connection's checks
    got = run_cli(tmp_path, monkeypatch, capsys, protocol, smu, gen, role, transport, fault, at)

    assert outputs_on(got.station) == [], got.stderr
    assert "Traceback" not in got.stderr
    if not got.runs:   # struck before the run file was made (reading the settings it records)
        assert got.code == 3 and len(got.errors) == 1 and fault is not Fault.BREAKDOWN, got.stderr
        return
    assert len(got.runs) == 1
    stored = read_run(got.runs[0])
    if fault is Fault.BREAKDOWN:
        assert got.code == 0 and stored.status == "completed" and got.errors == [], got.stderr
        if stored.attrs["compliance_hits"]:
            assert [line for line in got.stderr.splitlines() if line.startswith("labsuite: warning:")] == [
                f"labsuite: warning: {stored.attrs['warning']}"]
        else:   # the device shorted, but no reading after it reached the compliance
            assert stored.attrs["warning"] == ""
        return
    if got.code == 0:   # the driver rode it out (a garbled status poll is asked again): a clean run's data
        assert stored.status == "completed" and got.stderr == ""
        assert np.array_equal(stored.samples["current"], clean_samples["current"])
        return
    assert stored.status == "failed", got.stderr
    assert len(got.errors) == 1 and stored.attrs["error"], got.stderr
    if transport == "tcp":   # the link is gone: the outputs went off over a new connection, and it says so
        assert "reconnected and switched the output off" in got.stderr
    taken_before = max((n for m, n in clean.progress if m < at), default=0)
    kept = stored.samples
    assert kept.size >= taken_before   # every chunk finished before the fault is in the file
    # ... and they are the readings the clean run took up to there (same seed, same device)
    assert np.array_equal(kept["current"], clean_samples["current"][:kept.size])


# --- stop signals, sent to a real `labsuite run` while a pulse plays -------------------------

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
SIGNAL_BENCHES = SMUS if FULL else ("keithley2450",)
#: software-timed writes of 1.5 V for 1 s; the test waits until one plays
LEVEL_QUERIES = {"Keithley2450": ":SOUR:VOLT?", "Keithley2400": ":SOUR:VOLT?",
                 "Keithley2600": "print(smua.source.levelv)", "KeysightB2900": ":SOUR1:VOLT?"}
LONG_PULSES = ["--set", "pulses=4", "--set", "width=1s", "--set", "period=1.5s", "--set", "read_delay=0.1s",
               "--timing", "software"]


@pytest.fixture
def served(request, tmp_path):
    """`labsuite sim serve --smu NAME` in a subprocess: {role: resource}."""
    proc = subprocess.Popen([sys.executable, "-m", "labsuite", "sim", "serve", "--smu", request.param],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        roles = {}
        for _ in range(2):   # the SMU and the simulator control role
            line = proc.stdout.readline()
            assert line, proc.stderr.read()
            role, resource, _idn = line.rstrip("\n").split("\t")
            roles[role] = resource
        yield request.param, roles
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.mark.parametrize("served", SIGNAL_BENCHES, indirect=True)
@pytest.mark.parametrize("signum", SIGNALS, ids=lambda s: signal.Signals(s).name)
def test_a_stop_signal_mid_pulse_switches_the_output_off_and_ends_the_run_aborted(served, signum, tmp_path):
    smu, roles = served
    (tmp_path / "bench.toml").write_text(f'[smu]\ndriver = "{smu}"\nresource = "{roles["smu"]}"\n')
    run = subprocess.Popen([sys.executable, "-m", "labsuite", "run", "potentiation", "--bench", "bench.toml",
                            "--out", "runs", "--no-progress", *LONG_PULSES],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    rm = pyvisa.ResourceManager("@py")
    watch = rm.open_resource(roles["smu"], read_termination="\n", write_termination="\n", timeout=10_000)
    query = queries(smu, OUTPUT_QUERIES)[0]
    try:
        deadline = time.monotonic() + 60
        while float(watch.query(query)) == 0 or float(watch.query(queries(smu, LEVEL_QUERIES))) < 1.0:   # a write pulse
            assert run.poll() is None and time.monotonic() < deadline, run.communicate()
            time.sleep(0.05)
        run.send_signal(signum)
        _, stderr = run.communicate(timeout=60)
        assert float(watch.query(query)) == 0, stderr   # the instrument itself: output off
    finally:
        if run.poll() is None:
            run.kill()
        watch.close()
        rm.close()
    assert run.returncode == 128 + signum
    assert stderr.strip().splitlines() == [f"labsuite: stopped by {signal.Signals(signum).name}; the run file is "
                                           "kept, marked aborted"]
    (path,) = (tmp_path / "runs").glob("*.h5")
    stored = read_run(path)
    assert stored.status == "aborted" and stored.attrs["error"] == (
        f"RunAborted: interrupted by {signal.Signals(signum).name}")
    assert stored.samples.size >= 1   # at least the reading before the first pulse
