"""PulseProgram: the hardware-independent timeline."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from labsuite.core.errors import InvalidParameter
from labsuite.core.program import PulseProgram, Segment, Train
from labsuite.protocols import Potentiation

WRITE = Segment(1.5, 100e-6, "write")
READ = Segment(0.1, 1e-3, "read", measure=True)
IDLE = Segment(0.0, 8.9e-3, "idle")


def test_train_repeats_pattern_and_times_add_up():
    train = Train((WRITE, READ, IDLE), repeats=20)
    assert train.period == pytest.approx(10e-3)
    assert train.duration == pytest.approx(0.2)
    assert train.levels.shape == (20, 3)
    assert np.all(train.levels[:, 0] == 1.5)
    assert train.measurements_per_repeat == 1


def test_levels_can_change_per_repeat():
    steps = np.column_stack([np.linspace(1.0, 2.0, 5), np.full(5, 0.1), np.zeros(5)])
    train = Train((WRITE, READ, IDLE), 5, steps)
    assert list(train.levels[:, 0]) == [1.0, 1.25, 1.5, 1.75, 2.0]
    program = PulseProgram((train,), compliance=1e-3)
    assert program.max_abs_level == 2.0


def test_measurement_times_are_segment_ends():
    repeat, segment, ends = Train((WRITE, READ, IDLE), 3).measurements()
    assert list(repeat) == [0, 1, 2]
    assert list(segment) == [1, 1, 1]
    assert ends == pytest.approx([1.1e-3, 11.1e-3, 21.1e-3])


@given(repeats=st.integers(1, 500), chunk=st.integers(1, 600))
def test_split_keeps_the_timeline(repeats, chunk):
    levels = np.random.default_rng(repeats).uniform(-1, 1, (repeats, 3))
    train = Train((WRITE, READ, IDLE), repeats, levels)
    parts = train.split(chunk)
    assert sum(p.repeats for p in parts) == repeats
    assert all(p.repeats <= chunk for p in parts)
    assert np.array_equal(np.vstack([p.levels for p in parts]), levels)
    assert sum(p.duration for p in parts) == pytest.approx(train.duration)


def test_segments_walk_the_program_in_time_order():
    program = PulseProgram((Train((READ,)), Train((WRITE, READ, IDLE), 2)), compliance=1e-3)
    starts = [start for *_, start, _, _ in program.segments()]
    assert starts == sorted(starts)
    assert len(starts) == 7
    assert program.duration == pytest.approx(1e-3 + 20e-3)
    assert program.n_measurements == 3


@pytest.mark.parametrize("make, field", [
    (lambda: Segment(1.0, 0.0), "duration"),
    (lambda: Segment(float("inf"), 1e-3), "level"),
    (lambda: Train((WRITE,), repeats=0), "repeats"),
    (lambda: Train((WRITE, READ), 2, np.zeros((3, 2))), "levels"),
    (lambda: Train(()), "pattern"),
    (lambda: PulseProgram((Train((WRITE,)),), compliance=-1e-3), "compliance"),
])
def test_invalid_programs_name_the_field(make, field):
    with pytest.raises(InvalidParameter, match=field):
        make()


def test_potentiation_program_matches_its_parameters():
    proto = Potentiation(pulses=10, amplitude="1.2 V", width="200 us", period="10 ms",
                         read_voltage="0.1 V", read_delay="2 ms", read_time="1 ms")
    program = proto.program()
    baseline, pulses = program.trains
    assert baseline.repeats == 1 and pulses.repeats == 10
    assert [s.label for s in pulses.pattern] == ["write", "idle", "read", "idle"]
    assert [s.duration for s in pulses.pattern] == pytest.approx([200e-6, 2e-3, 1e-3, 6.8e-3])
    assert pulses.period == pytest.approx(10e-3)
    assert program.n_measurements == 11
    assert program.max_abs_level == 1.2
