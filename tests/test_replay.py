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
