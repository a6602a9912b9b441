"""The Runner's safety contract, checked on the simulated bench."""
import h5py
import pytest

from labsuite import Bench, Limits, run_protocol
from labsuite.core.errors import InvalidParameter, LimitError
from labsuite.core.events import RunObserver, RunState
from labsuite.core.program import PulseProgram, Segment, Train
from labsuite.link import LinkError
from labsuite.runner import Runner
from labsuite.traffic import TrafficLog


@pytest.fixture
def bench():
    with Bench.simulated(seed=2, limits=Limits(max_voltage=5.0, max_compliance=5e-3)) as b:
        yield b


def sim_output_on(bench) -> bool:
    """Ask the simulated instrument itself (not the driver) whether its output is on."""
    return bench.smu.ask(":OUTP?") == "1"


def potentiation(amplitude=1.5, pulses=200, compliance=1e-3):
    pattern = (Segment(amplitude, 100e-6, "write"), Segment(0.1, 1e-3, "read", True), Segment(0.0, 8.9e-3))
    return PulseProgram((Train(pattern, pulses),), compliance)


def test_over_limit_amplitude_is_refused_before_anything_is_sent(bench):
    traffic = TrafficLog.attach(bench.smu)
    with pytest.raises(LimitError, match=r"\|level\| = 6 V .* at most 5 V \(bench limit max_voltage\)"):
        Runner(bench, potentiation(amplitude=6.0)).run()
    assert traffic.entries == []


def test_over_limit_protocol_parameter_names_the_parameter_and_writes_no_file(bench, tmp_path):
    traffic = TrafficLog.attach(bench.smu)
    with pytest.raises(LimitError) as exc:
        run_protocol("potentiation", bench, {"amplitude": "7 V"}, out_dir=tmp_path)
    assert exc.value.field == "amplitude" and exc.value.high == 5.0
    assert traffic.entries == [] and list(tmp_path.iterdir()) == []


def test_over_limit_compliance_is_refused(bench):
    traffic = TrafficLog.attach(bench.smu)
    with pytest.raises(LimitError, match="compliance"):
        Runner(bench, potentiation(compliance=20e-3)).run()
    assert traffic.entries == []


def test_segment_shorter_than_the_instrument_can_time_is_refused(bench):
    program = PulseProgram((Train((Segment(1.0, 10e-6, "write"), Segment(0.1, 1e-3, "read", True))),), 1e-3)
    with pytest.raises(LimitError, match="write duration = 10 µs .* at least 50 µs"):
        Runner(bench, program).run()


def test_compliance_is_set_before_the_output_first_turns_on(bench):
    traffic = TrafficLog.attach(bench.smu)
    Runner(bench, potentiation(pulses=3)).run()
    sent = ";".join(traffic.sent())
    assert sent.index(":SOUR:VOLT:ILIM 0.001") < sent.index("SOUR:STAT 3,ON")


@pytest.mark.parametrize("exc, state", [(RuntimeError("instrument fault"), RunState.FAILED),
                                        (KeyboardInterrupt(), RunState.ABORTED)])
def test_outputs_are_off_after_an_error_mid_train(bench, exc, state, fail_on_second_chunk):
    """An exception (or Ctrl-C, a user's stop) raised mid-run: the output is off and the samples so far are kept."""
    runner = Runner(bench, potentiation(pulses=200), chunk_duration=0.5, observers=[fail_on_second_chunk(exc)])
    with pytest.raises(type(exc)):
        runner.run()
    assert runner.state is state
    assert not sim_output_on(bench)
    assert runner.samples.size == 100          # two chunks of 50 pulses (0.5 s / 10 ms)


def simulated_2450(bench):
    return next(iter(bench.smu.adapter.manager.visalib.instruments.values())).instrument


@pytest.mark.parametrize("timing", ["hardware", "software"])
@pytest.mark.parametrize("fault", [OSError("connection lost"), KeyboardInterrupt()])
def test_output_is_off_when_a_fault_strikes_with_the_output_on(bench, monkeypatch, timing, fault):
    """The fault happens inside a measurement, output on (Ctrl-C included): it ends up off."""
    instrument = simulated_2450(bench)
    original = instrument._store_reading
    calls = {"n": 0}

    def flaky(*args):
        calls["n"] += 1
        if calls["n"] == 30:
            assert instrument.source.output            # the fault strikes with the output on
            raise fault
        return original(*args)

    monkeypatch.setattr(instrument, "_store_reading", flaky)
    # a link failure reaches the caller as a one-line LinkError, the original chained as its cause
    with pytest.raises(LinkError if isinstance(fault, OSError) else type(fault)):
        Runner(bench, potentiation(pulses=50), timing=timing).run()
    monkeypatch.setattr(instrument, "_store_reading", original)
    assert not sim_output_on(bench)


@pytest.mark.parametrize("timing", ["hardware", "software"])
def test_no_voltage_reaches_the_device_except_under_the_programs_compliance(bench, timing, watch_device):
    """Checked where the simulated source drives the device: every non-zero hold is limited to 200 µA."""
    limits_when_driven = []

    def watched(v_source, compliance, duration, driving):
        if v_source != 0:
            limits_when_driven.append(compliance)

    watch_device(simulated_2450(bench).port.node, watched)
    Runner(bench, potentiation(pulses=5, compliance=2e-4), timing=timing).run()
    assert limits_when_driven and set(limits_when_driven) == {2e-4}


def test_software_timing_holds_long_reads_for_their_whole_duration(bench):
    """A 1 s read is longer than the SMU's 10-PLC integration: the wait makes up the rest."""
    program = PulseProgram((Train((Segment(0.1, 1.0, "read", True),), 3),), 1e-3)
    t0 = bench.clock.now()
    Runner(bench, program, timing="software").run()
    assert bench.clock.now() - t0 == pytest.approx(3.0, rel=1e-9)


def test_reads_shorter_than_the_shortest_integration_are_refused_on_either_line_frequency(bench):
    """0.01 PLC is 167 µs at 60 Hz but 200 µs at 50 Hz: a 180 µs read is refused before sending."""
    program = PulseProgram((Train((Segment(0.1, 180e-6, "read", True),)),), 1e-3)
    with pytest.raises(LimitError, match="read duration = 180 µs .* at least 200 µs"):
        Runner(bench, program).run()


def test_pause_after_abort_does_not_hang(bench):
    runner = Runner(bench, potentiation(pulses=20), chunk_duration=0.05)
    runner.abort()
    runner.pause()
    runner.run()
    assert runner.state is RunState.ABORTED and not sim_output_on(bench)


@pytest.mark.parametrize("limits", [dict(max_voltage=float("nan")), dict(max_compliance=-1e-3),
                                    dict(max_voltage=float("inf"))])
def test_limits_must_be_positive_and_finite(limits):
    from labsuite.core.errors import InvalidParameter
    with pytest.raises(InvalidParameter, match="limits.max_"):
        Limits(**limits)


def test_a_failure_before_the_run_starts_still_closes_and_marks_the_file(bench, tmp_path):
    def broken_hook(runner):
        raise RuntimeError("GUI went away")
    with pytest.raises(RuntimeError):
        run_protocol("potentiation", bench, out_dir=tmp_path, runner_hook=broken_hook)
    (path,) = tmp_path.glob("*.h5")
    with h5py.File(path, "r") as f:
        assert f.attrs["status"] == "failed" and "GUI went away" in f.attrs["error"]


def test_abort_stops_within_one_chunk_and_keeps_a_readable_file(bench, tmp_path):
    class AbortAfterFirst(RunObserver):
        def on_start(self, runner):
            self.runner = runner

        def on_samples(self, samples, progress):
            self.runner.abort()

    hook = AbortAfterFirst()
    result = run_protocol("potentiation", bench, {"pulses": 500, "period": "10 ms", "read_delay": "2 ms"},
                          out_dir=tmp_path, observers=[hook])
    assert result.state is RunState.ABORTED
    assert not sim_output_on(bench)
    with h5py.File(result.path, "r") as f:
        assert f.attrs["status"] == "aborted"
        assert f["samples"].shape[0] == result.samples.size > 0
        assert "aborted by the user" in f.attrs["error"]
    assert result.figures["pulses"] < 500


def test_pause_holds_and_resume_finishes(bench):
    import threading

    program = potentiation(pulses=30)
    runner = Runner(bench, program, chunk_duration=0.1)
    runner.pause()
    thread = threading.Thread(target=runner.run)
    thread.start()
    thread.join(0.3)
    assert thread.is_alive() and runner.state is RunState.PAUSED and runner.samples.size == 0
    runner.resume()
    thread.join(10)
    assert runner.state is RunState.COMPLETED and runner.samples.size == 30


@pytest.mark.parametrize("timing", ["hardware", "software"])
def test_each_segment_is_driven_under_its_own_compliance(bench, timing, watch_device):
    """A SET pulse limited to 50 µA and a read under the program's 1 mA, on the device itself."""
    seen = {}

    def watched(v_source, compliance, duration, driving):
        if v_source != 0:
            seen.setdefault(round(v_source, 6), set()).add(compliance)

    watch_device(simulated_2450(bench).port.node, watched)
    pattern = (Segment(1.5, 100e-6, "write", compliance=50e-6), Segment(0.1, 1e-3, "read", True),
               Segment(-1.2, 100e-6, "write", compliance=2e-4), Segment(0.0, 5e-3))
    Runner(bench, PulseProgram((Train(pattern, 3),), 1e-3), timing=timing).run()
    assert seen == {1.5: {50e-6}, 0.1: {1e-3}, -1.2: {2e-4}}


def test_a_segment_compliance_over_the_bench_limit_is_refused(bench):
    traffic = TrafficLog.attach(bench.smu)
    pattern = (Segment(1.0, 1e-3, "write", compliance=20e-3), Segment(0.1, 1e-3, "read", True))
    with pytest.raises(LimitError, match="compliance = 20 mA .* at most 5 mA"):
        Runner(bench, PulseProgram((Train(pattern),), 1e-3)).run()
    assert traffic.entries == []


def test_visa_round_trips_grow_with_the_list_length_not_the_pulse_count(bench):
    """6000 pulses in 2500-repeat chunks: 3 trains, a constant handful of queries each (not 6000)."""
    pattern = (Segment(1.0, 100e-6, "write"), Segment(0.1, 200e-6, "read", True), Segment(0.0, 700e-6))
    for pulses in (600, 6000):
        traffic = TrafficLog.attach(bench.smu)
        samples = Runner(bench, PulseProgram((Train(pattern, pulses),), 1e-3), chunk_duration=None).run()
        assert samples.size == pulses
        chunks = -(-pulses // bench.smu.capabilities.max_repeats)
        # per chunk: message, error check, :INIT, state poll, error check, buffer read (queries write too);
        # once: configure, its error check, the line frequency, shutdown
        assert traffic.reads <= 4 * chunks + 2
        assert traffic.writes <= 6 * chunks + 4


def test_parameters_exactly_at_their_limits_make_programs_that_run(bench):
    """A period filled exactly, and PPF's documented shortest interval, pass the Runner's check."""
    from labsuite.protocols import PairedPulse, Potentiation

    for proto in (Potentiation(period="21.1 ms", read_delay="20 ms", read_time="1 ms", width="100 us"),
                  PairedPulse(interval_min="1.05 ms", read_time="1 ms")):
        Runner(bench, proto.program()).check()


def test_auto_timing_plays_what_the_smu_cannot_time_from_the_computer(bench, monkeypatch):
    """A train the SMU's sequencer refuses is stepped in software when its segments last ≥ 5 ms,
    refused (nothing sent) when they are shorter; an ordinary train still plays on the instrument."""
    monkeypatch.setattr(type(bench.smu), "hardware_timing_limit",
                        lambda self, train, compliance: "the sequencer is busy" if len(train.pattern) == 2 else None)
    slow = PulseProgram((Train((Segment(1.0, 10e-3, "write"), Segment(0.1, 10e-3, "read", True)), 4),), 1e-3)
    traffic = TrafficLog.attach(bench.smu)
    samples = Runner(bench, slow, timing="auto").run()
    assert samples.size == 4 and ":INIT" not in traffic.sent()
    assert sum(":OUTP ON" in m for m in traffic.sent()) == 1        # stepped: one output-on for the chunk
    fast = PulseProgram((Train((Segment(1.0, 100e-6, "write"), Segment(0.1, 1e-3, "read", True)), 4),), 1e-3)
    traffic.clear()
    with pytest.raises(InvalidParameter, match="the sequencer is busy, and a computer cannot time segments under 5 ms"):
        Runner(bench, fast, timing="auto").run()
    assert traffic.sent() == []
    Runner(bench, potentiation(pulses=4), timing="auto").run()
    assert ":INIT" in traffic.sent()
