"""A run's transcript replays it offline: the same protocol gives the same samples bit for bit."""
import h5py
import numpy as np
import pytest

from labsuite import Bench, read_run, run_protocol
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


def test_a_different_program_stops_at_the_first_differing_message(recorded, tmp_path):
    """Same protocol, one parameter changed: the replay stops at the train whose level differs."""
    path, params = recorded
    with Bench.replayed(path) as bench:
        with pytest.raises(ReplayDiverged, match=r"recorded write .*:SOUR:VOLT 1.5;.*the client sent .*:SOUR:VOLT 1.4;"):
            run_protocol("potentiation", bench, {**params, "amplitude": "1.4 V"}, out_dir=tmp_path)


def test_a_stored_run_replays_through_observers_at_its_recorded_pace(recorded):
    """Observers get every sample in order; at speed 2 a 0.131 s run takes 0.0655 s of (virtual) time;
    the replayed analysis equals the stored one."""
    from labsuite.clock import VirtualClock
    from labsuite.replay import read_program, replay
    from labsuite.runner import RunObserver

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
    assert clock.now() == pytest.approx(original.samples["t"][-1] / 2)
    assert collect.finished.value == "completed" and collect.duration == pytest.approx(read_program(path).duration)
    assert figures == pytest.approx({k: v for k, v in original.analysis.items() if k != "units"})
