"""A run's transcript replays it offline: the same protocol gives the same samples bit for bit."""
import json

import h5py
import numpy as np
import pytest

from labsuite import Bench, read_run, registry, run_protocol
from labsuite.simulator.instruments.transcript import ReplayDiverged


@pytest.fixture
def recorded(tmp_path):
    params = {"pulses": 12, "period": "10 ms", "read_delay": "2 ms"}
    with Bench.simulated(seed=4) as bench:
        result = run_protocol("potentiation", bench, params, out_dir=tmp_path / "original")
    return result.path, params


def test_replaying_a_transcript_reproduces_the_samples_bit_for_bit(recorded, tmp_path):
    path, params = recorded
    with Bench.replayed(path) as bench:
        replay = run_protocol("potentiation", bench, params, out_dir=tmp_path / "replay")
    original = read_run(path)
    assert np.array_equal(replay.samples, original.samples)          # t, V, I, indices: every bit
    assert replay.figures == pytest.approx({k: v for k, v in original.analysis.items() if k != "units"})
    with h5py.File(path, "r") as a, h5py.File(replay.path, "r") as b:
        assert list(a["transcript/message"].asstr()[:]) == list(b["transcript/message"].asstr()[:])


def test_a_run_file_names_the_registered_model_not_only_its_driver_class(tmp_path):
    """A 2612B's run file names the 2612B's entry (200 V, 10 nA–1.5 A), which a replay opens, not
    the 2600B family's that its driver class also serves."""
    with Bench.simulated(seed=4, smu="keithley2612b") as bench:
        result = run_protocol("potentiation", bench, {"pulses": 2}, out_dir=tmp_path)
    recorded = json.loads(read_run(result.path).attrs["bench"])["instruments"]["smu"]["driver"]
    entry = registry.INSTRUMENTS[registry.recorded(recorded)]
    assert entry.name == "keithley2612b" and entry.model == "2612B"
    assert (entry.capabilities.max_voltage, entry.capabilities.max_current_limit) == (200.0, 1.5)


def test_a_run_file_that_names_the_driver_class_still_replays(recorded, tmp_path):
    """Files written before registered names were recorded hold the class name (``Keithley2450``)."""
    path, params = recorded
    with h5py.File(path, "r+") as f:
        snapshot = json.loads(f.attrs["bench"])
        snapshot["instruments"]["smu"]["driver"] = "Keithley2450"
        f.attrs["bench"] = json.dumps(snapshot)
    with Bench.replayed(path) as bench:
        replay = run_protocol("potentiation", bench, params, out_dir=tmp_path / "replay")
    assert np.array_equal(replay.samples, read_run(path).samples)


def test_a_different_program_stops_at_the_first_differing_message(recorded, tmp_path):
    """Same protocol, one parameter changed: the replay stops at the train whose level differs."""
    path, params = recorded
    with Bench.replayed(path) as bench:
        with pytest.raises(ReplayDiverged, match=r"recorded write .*:SOUR:VOLT 1.5;.*the client sent .*:SOUR:VOLT 1.4;"):
            run_protocol("potentiation", bench, {**params, "amplitude": "1.4 V"}, out_dir=tmp_path)


def test_a_stored_run_replays_through_observers_at_its_recorded_pace(recorded):
    """Observers get every sample in order; at speed 2 a 0.131 s run takes 0.0655 s of (virtual) time;
    the replayed analysis equals the stored one."""
    from labsuite.core.clock import VirtualClock
    from labsuite.core.events import RunObserver
    from labsuite.replay import read_program, replay

    path, params = recorded

    class Collect(RunObserver):
        def __init__(self):
            self.chunks, self.finished = [], None

        def on_start(self, runner):
            self.duration = runner.program.duration

        def on_samples(self, samples, progress):
            self.chunks.append(samples)

        def on_finish(self, state, error):
            self.finished = state

    collect, clock = Collect(), VirtualClock()
    protocol, samples, figures = replay(path, [collect], speed=2.0, chunk=5, clock=clock)
    original = read_run(path)
    assert np.array_equal(np.concatenate(collect.chunks), original.samples) and len(collect.chunks) == 3
    assert clock.now() == pytest.approx((original.samples["t"][-1] - original.samples["t"][0]) / 2)
    assert collect.finished.value == "completed" and collect.duration == pytest.approx(read_program(path).duration)
    assert figures == pytest.approx({k: v for k, v in original.analysis.items() if k != "units"})


def test_a_replay_paces_from_its_first_sample_sleeps_in_short_slices_and_stops_on_request(tmp_path):
    """The second run on a bench starts where the bench clock was (t[0] > 0): its replay shows the
    first samples at once, not after t[0]; waits are sliced so that a stop request ends it promptly."""
    from labsuite.core.clock import VirtualClock
    from labsuite.core.errors import RunAborted
    from labsuite.core.events import RunObserver
    from labsuite.replay import STOP_POLL, replay

    params = {"pulses": 12, "period": "10 ms", "read_delay": "2 ms"}
    with Bench.simulated(seed=4) as bench:
        run_protocol("retention", bench, {"duration": "2 s"}, out_dir=tmp_path)
        path = run_protocol("potentiation", bench, params, out_dir=tmp_path).path
    t = read_run(path).samples["t"]
    assert t[0] > 1.0 > t[-1] - t[0]

    class Slices(VirtualClock):
        def __init__(self):
            super().__init__()
            self.sleeps = []

        def sleep(self, seconds):
            self.sleeps.append(seconds)
            super().sleep(seconds)

    class Collect(RunObserver):
        def __init__(self):
            self.shown, self.finished = 0, None

        def on_start(self, runner):
            pass

        def on_samples(self, samples, progress):
            self.shown += samples.size
            self.first_at = getattr(self, "first_at", clock.now())

        def on_finish(self, state, error):
            self.finished = state

    clock, collect = Slices(), Collect()
    replay(path, [collect], speed=1.0, chunk=4, clock=clock)
    assert collect.first_at <= t[3] - t[0] + 1e-9 and clock.now() == pytest.approx(t[-1] - t[0])
    assert clock.sleeps and max(clock.sleeps) <= STOP_POLL
    clock, collect = Slices(), Collect()
    with pytest.raises(RunAborted):
        replay(path, [collect], speed=1.0, chunk=4, clock=clock, stop=lambda: collect.shown >= 4)
    assert collect.shown == 4 and collect.finished.value == "aborted"
