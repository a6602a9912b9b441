"""The meta-test: every registered instrument keeps the Runner's safety contract on its simulated
twin, so an instrument is tested the moment it is registered (pymeasure's test_all_instruments).

Parametrized over ``labsuite.registry``: every SMU alone, and every pulse generator on a bench with
one SMU (rotating through the SMUs). Checked through the contracts only (``SourceMeter``,
``PulseGenerator``, the traffic log, the device node), never a command language:

- limits are checked before anything is sent (the traffic log stays empty on a refusal);
- the Runner configures the compliance before an output first goes on, and no voltage reaches the
  device except under the program's compliance;
- every output is off however the run ends: completion, an exception or an abort between chunks,
  a link dropped by the simulator's FaultInjector, Ctrl-C or a failing link while the SMU drives;
- connecting asks ``*IDN?`` before anything else and refuses an instrument the name is not for;
- the run file's bench snapshot names the registered instrument, its *IDN?, resource and limits.
"""
from __future__ import annotations

from dataclasses import asdict

import numpy as np
import pytest

from labsuite import Bench, Limits, registry, run_protocol
from labsuite.bench_factory import open_instrument
from labsuite.core.errors import InstrumentError, LimitError
from labsuite.experiment import make_protocol
from labsuite.core.instruments import PulseGenerator, PulseGeneratorCapabilities, SourceMeter, SourceMeterCapabilities
from labsuite.link import LinkError
from labsuite.core.events import RunObserver, RunState
from labsuite.runner import Runner
from labsuite.simulator.faults import Fault
from labsuite.simulator.station import TWINS, SimulatedStation
from labsuite.simulator.visa import SimulatedVisaLibrary
from labsuite.store import read_run
from labsuite.traffic import TrafficLog

SMUS = registry.names("smu")
GENERATORS = registry.names("pulse_generator")
#: every SMU alone, and each generator with one SMU (rotating), so the file stays short
BENCHES = [(smu, None) for smu in SMUS] + [(SMUS[i % len(SMUS)], gen) for i, gen in enumerate(GENERATORS)]
LIMITS = Limits(max_voltage=5.0, max_compliance=5e-3)
RUN = {"pulses": 30, "width": "1 ms"}   # 30 × 50 ms: two chunks of the Runner's 1 s; a width every SMU times
COMPLIANCE = 1e-3      # A, potentiation's default
PULSE_PATH = 2e3       # Ω in the generator's path: a short draws under the compliance at 1.5 V


def bench_id(bench: tuple[str, str | None]) -> str:
    smu, generator = bench
    return smu if generator is None else f"{smu}+{generator}"


@pytest.fixture(params=BENCHES, ids=bench_id)
def bench(request):
    smu, generator = request.param
    with Bench.simulated(seed=2, limits=LIMITS, smu=smu, pulse_generator=generator,
                         pulse_series_resistance=PULSE_PATH) as b:
        yield b


def outputs_on(bench: Bench) -> list[str]:
    """The outputs the simulated instruments say are on, asked through their own registered
    driver's ``output_enabled()`` on a new session that bypasses the fault injectors."""
    station, on = bench.station, []
    for role, name in (("smu", station.smu), ("pulse_generator", station.pulse_generator)):
        if name is None:
            continue
        resource = station.resources[role]
        library = SimulatedVisaLibrary({resource: station.instruments[role]})
        driver = registry.INSTRUMENTS[name].open(resource, library)
        try:
            if role == "smu":
                on += [name] if driver.output_enabled() else []
            else:
                on += [f"{name} channel {c}" for c in range(1, driver.capabilities.channels + 1)
                       if driver.output_enabled(c)]
        finally:
            driver.adapter.close()
            library.close_library()
    return on


class OnChunk(RunObserver):
    """Does ``act(runner)`` after the first chunk's samples arrive."""

    def __init__(self, act) -> None:
        self.act = act

    def on_start(self, runner: Runner) -> None:
        self.runner = runner

    def on_samples(self, samples, progress) -> None:
        self.act(self.runner)


def raise_(exc: BaseException):
    def act(runner: Runner) -> None:
        raise exc
    return act


# --- the registry itself -------------------------------------------------------------------------

@pytest.mark.parametrize("name", list(registry.INSTRUMENTS))
def test_every_registered_instrument_has_a_twin_whose_idn_names_it(name):
    entry = registry.INSTRUMENTS[name]
    station = SimulatedStation(**{entry.kind: name})
    idn = station.instruments[entry.kind].process("*IDN?")
    assert entry.matches(idn) and registry.match(idn) is entry
    contract, capabilities = ((SourceMeter, SourceMeterCapabilities) if entry.kind == "smu"
                              else (PulseGenerator, PulseGeneratorCapabilities))
    assert isinstance(entry.capabilities, capabilities)
    methods = [m for m, value in vars(contract).items() if callable(value) and not m.startswith("_")]
    assert methods and all(callable(getattr(entry.driver, m, None)) for m in methods)


def test_every_twin_simulates_a_registered_instrument():
    assert set(TWINS) == set(registry.INSTRUMENTS)


# --- limits before a byte is sent --------------------------------------------------------------

def test_a_program_over_the_limits_is_refused_before_anything_is_sent(bench, tmp_path):
    traffic = [TrafficLog.attach(i) for i in (bench.smu, bench.pulse_generator) if i is not None]
    with pytest.raises(LimitError) as refused:
        run_protocol("potentiation", bench, {**RUN, "amplitude": "6 V"}, out_dir=tmp_path)
    assert refused.value.field == "amplitude" and refused.value.high == 5.0
    program = make_protocol("potentiation", {**RUN, "compliance": "20 mA"}).program()
    with pytest.raises(LimitError, match="compliance"):
        Runner(bench, program).run()
    assert [log.entries for log in traffic] == [[] for _ in traffic] and list(tmp_path.iterdir()) == []


# --- compliance before output on ---------------------------------------------------------------

def test_the_compliance_is_set_before_an_output_goes_on_and_every_drive_is_under_it(bench, tmp_path, monkeypatch,
                                                                                     watch_device):
    calls = []
    for method in ("configure", "set_compliance", "set_output", "run_train"):
        original = getattr(bench.smu, method)
        monkeypatch.setattr(bench.smu, method, lambda *a, _m=method, _f=original, **k: (calls.append((_m, a)),
                                                                                         _f(*a, **k))[1])
    limits_driven = []

    def watched(v_source, compliance, duration, driving):
        if "smu" in driving and v_source and duration > 0:
            limits_driven.append(compliance)

    watch_device(bench.station.node, watched)
    result = run_protocol("potentiation", bench, RUN, out_dir=tmp_path)
    assert result.state is RunState.COMPLETED and result.samples.size == 1 + RUN["pulses"]   # a baseline read first
    first_on = next(i for i, (m, a) in enumerate(calls) if m == "run_train" or (m == "set_output" and a[0]))
    assert first_on > 0 and calls[0][0] == "configure" and calls[0][1][0] == COMPLIANCE
    assert limits_driven and set(limits_driven) == {COMPLIANCE}
    assert outputs_on(bench) == []


# --- outputs off on every exit -----------------------------------------------------------------

@pytest.mark.parametrize("how, raised, state", [
    ("exception", RuntimeError, "failed"),
    ("abort", None, "aborted"),
    ("dropped link", LinkError, "failed"),
])
def test_every_output_is_off_however_the_run_ends_between_chunks(bench, tmp_path, how, raised, state):
    act = {"exception": raise_(RuntimeError("observer failed")), "abort": lambda runner: runner.abort(),
           "dropped link": lambda runner: bench.station.faults["smu"].arm(Fault.DROP)}[how]
    if raised is None:
        result = run_protocol("potentiation", bench, RUN, out_dir=tmp_path, observers=[OnChunk(act)])
        assert result.state is RunState.ABORTED and 0 < result.samples.size < 1 + RUN["pulses"]
    else:
        with pytest.raises(raised):
            run_protocol("potentiation", bench, RUN, out_dir=tmp_path, observers=[OnChunk(act)])
    assert outputs_on(bench) == []
    (path,) = tmp_path.glob("*.h5")
    stored = read_run(path)
    assert stored.status == state and stored.samples.size > 0


@pytest.mark.parametrize("fault, raised, state", [
    (KeyboardInterrupt, KeyboardInterrupt, "aborted"),           # Ctrl-C
    (ConnectionResetError, LinkError, "failed"),                 # the link fails inside a message
])
def test_every_output_is_off_when_a_run_is_struck_while_the_smu_drives_the_device(bench, tmp_path, watch_device,
                                                                                   fault, raised, state):
    """The fault strikes in the middle of a hold in which the SMU's output is on and at a level: the
    instrument is left mid-sequence, so only the Runner's switch-off turns it off."""
    holds = []

    def strike(v_source, compliance, duration, driving):
        if "smu" in driving and v_source and duration > 0:
            holds.append(duration)
            if len(holds) == 3:
                raise fault()

    watch_device(bench.station.node, strike)
    with pytest.raises(raised):
        run_protocol("potentiation", bench, RUN, out_dir=tmp_path)
    assert len(holds) == 3 and outputs_on(bench) == []
    (path,) = tmp_path.glob("*.h5")
    assert read_run(path).status == state


# --- connection and snapshot -------------------------------------------------------------------

@pytest.mark.parametrize("name", list(registry.INSTRUMENTS))
def test_connecting_asks_idn_first_and_refuses_another_instrument_after_idn_alone(name):
    entry = registry.INSTRUMENTS[name]
    station = SimulatedStation(**{entry.kind: name})
    injector, received = station.faults[entry.kind], []
    process = injector.process
    injector.process = lambda message: (received.append(message), process(message))[1]
    library = station.visa_library()
    resource = station.resources[entry.kind]
    try:
        open_instrument(entry.kind, name, resource, library).adapter.close()
        assert received[0] == "*IDN?"
        idn = station.instruments[entry.kind].process("*IDN?")
        other = next(n for n in registry.names(entry.kind) if not registry.INSTRUMENTS[n].matches(idn))
        received.clear()
        with pytest.raises(InstrumentError, match=f'not a {other} \\(driver "{name}" matches it\\)'):
            open_instrument(entry.kind, other, resource, library)
        assert received == ["*IDN?"]
    finally:
        library.close_library()


def test_the_snapshot_names_the_registered_instruments_their_idn_resource_and_limits(bench):
    snapshot = bench.snapshot()
    assert snapshot["limits"] == asdict(LIMITS) and snapshot["simulator"]["seed"] == 2
    for role, instrument in (("smu", bench.smu), ("pulse_generator", bench.pulse_generator)):
        if instrument is None:
            assert role not in snapshot["instruments"]
            continue
        stored = snapshot["instruments"][role]
        name = getattr(bench.station, role)
        assert stored["driver"] == name and stored["resource"] == bench.resources[role]
        assert registry.INSTRUMENTS[name].matches(stored["settings"]["idn"])


# --- the physics through every SMU, however it is timed -------------------------------------------

POTENTIATION = {"pulses": 10, "width": "1 ms", "period": "10 ms", "read_delay": "2 ms", "read_time": "1 ms"}


@pytest.mark.parametrize("timing", ["hardware", "software"])
@pytest.mark.parametrize("smu", SMUS)
def test_potentiation_raises_the_conductance_pulse_by_pulse(smu, timing):
    """Hardware-timed, the reads follow each other exactly one period apart; stepped from the computer,
    a step may stretch by the time its messages take."""
    with Bench.simulated(smu=smu, seed=1) as bench:
        result = run_protocol("potentiation", bench, POTENTIATION, out_dir=None, timing=timing)
        assert outputs_on(bench) == []
    g = result.samples["current"] / result.samples["voltage"]
    assert g.size == 1 + POTENTIATION["pulses"] and np.all(np.diff(g) > 0)
    assert result.figures["g_max"] > 1.5 * result.figures["g_min"]
    if timing == "hardware":
        assert np.diff(result.samples["t"][1:]) == pytest.approx(10e-3, abs=2e-6)
