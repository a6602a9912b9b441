"""A train evaluated as a whole (DeviceNode.hold_train) against the same segments held one by one."""
from __future__ import annotations

import math

import numpy as np
import pytest

from labsuite.core.clock import VirtualClock
from labsuite.simulator.circuit import DeviceNode
from labsuite.simulator.models import make_model

# a potentiation period: write, gap, a read sliced in two at one drive, rest; then off (open), a depression
PATTERN = [(1.5, 1e-3, 1e-3, 0), (0.0, 1e-3, 2e-3, 0), (0.1, 1e-3, 5e-4, 0), (0.1, 1e-3, 5e-4, 2),
           (0.0, 1e-3, 6e-3, 0)]
TAIL = [(None, 1e-3, 1e-3, 0), (-1.4, 1e-3, 1e-3, 0), (0.1, 1e-3, 1e-3, 1)]


def table(repeats: int) -> list[tuple[float | None, float, float, int]]:
    return PATTERN * repeats + TAIL


def bench(params: dict[str, float], seed: int = 3):
    node = DeviceNode(make_model("synaptic-memristor", np.random.default_rng(seed), params=params), VirtualClock())
    return node, node.port("smu")


def per_segment(node: DeviceNode, port, rows) -> dict[str, np.ndarray]:
    seen = {"current": [], "source_voltage": [], "energy": [], "reading": [], "time": []}
    for voltage, limit, duration, reads in rows:
        port.drive(voltage, limit)
        result = port.hold(duration)
        for name in ("current", "source_voltage", "energy"):
            seen[name].append(getattr(result, name))
        seen["reading"].append(float(np.mean(node.model.add_read_noise(np.full(reads, result.current))))
                               if reads else math.nan)
        seen["time"].append(node.clock.now())
    return {name: np.array(values) for name, values in seen.items()}


def whole(port, rows):
    voltages, limits, durations, reads = (list(column) for column in zip(*rows))
    return port.hold_train(voltages, limits, durations, reads)


@pytest.mark.parametrize("params", [{}, {"c2c_sigma": 0.0, "read_noise": 0.0}, {"c2c_sigma": 0.3, "w_initial": 0.9}],
                         ids=["default", "noiseless", "large-c2c-near-bound"])
def test_whole_train_matches_per_segment(params):
    rows = table(40)
    node_a, port_a = bench(params)
    node_b, port_b = bench(params)
    expected = per_segment(node_a, port_a, rows)
    got = whole(port_b, rows)
    for name, values in expected.items():
        np.testing.assert_allclose(getattr(got, name), values, rtol=1e-9, atol=0, err_msg=name)
    np.testing.assert_allclose(node_b.model.x, node_a.model.x, rtol=1e-9, atol=0)
    # the same draws were taken: both generators are at the same point
    assert node_a.model.rng.standard_normal() == node_b.model.rng.standard_normal()
    # and a hold after the train goes on with the open cycle as the per-segment path does
    for node, port in ((node_a, port_a), (node_b, port_b)):
        port.drive(0.1, 1e-3)
        port.hold(1e-3)
    np.testing.assert_allclose(node_b.model.x, node_a.model.x, rtol=1e-9, atol=0)


def test_train_that_reaches_the_limit_finishes_segment_by_segment():
    """Once the limit could bind, the rest of the train is held per segment: same figures, limited flagged."""
    rows = [(1.5, 2e-4, 1e-3, 0), (0.1, 2e-4, 1e-3, 1)] * 30
    node_a, port_a = bench({})
    node_b, port_b = bench({})
    expected = per_segment(node_a, port_a, rows)
    got = whole(port_b, rows)
    np.testing.assert_allclose(got.current, expected["current"], rtol=1e-9)
    np.testing.assert_allclose(got.reading, expected["reading"], rtol=1e-9)
    assert got.in_compliance.any()
    assert abs(got.current).max() <= 2e-4 * (1 + 1e-9)


def test_train_beside_a_driving_port_or_behind_a_resistor_is_held_per_segment():
    rows = table(3)
    for wire in ("generator", "resistor"):
        node_a, port_a = bench({})
        node_b, port_b = bench({})
        for node in (node_a, node_b):
            other = node.port("pg", 50.0)
            if wire == "generator":
                other.drive(0.0)
        if wire == "resistor":
            port_a, port_b = node_a.port("smu2", 100.0), node_b.port("smu2", 100.0)
        expected = per_segment(node_a, port_a, rows)
        got = whole(port_b, rows)
        np.testing.assert_allclose(got.current, expected["current"], rtol=1e-9)


def test_train_conserves_the_drive_and_time():
    """The train advances the bench clock by its length and leaves the output at its last drive."""
    rows = table(5)
    node, port = bench({})
    got = whole(port, rows)
    assert node.clock.now() == pytest.approx(sum(d for _, _, d, _ in rows), rel=1e-12)
    assert got.time[-1] == pytest.approx(node.clock.now(), rel=1e-12)
    assert (port.voltage, port.compliance) == rows[-1][:2]
    # the write pulses raised the conductance; the open segment carried no current
    assert got.current[len(rows) - 3] == 0.0
    assert got.reading[3] < got.reading[3 + len(PATTERN) * 4]


def test_deferred_holds_match_holds_evaluated_at_once():
    """hold_later: the drive changes between holds, results arrive at the next sync in order, and
    the device, the clock and the draws end where the per-segment path leaves them."""
    rows = table(10)
    node_a, port_a = bench({})
    node_b, port_b = bench({})
    expected = per_segment(node_a, port_a, rows)
    seen, readings = [], []
    for k, (voltage, limit, duration, reads) in enumerate(rows):
        port_b.drive(voltage, limit)
        port_b.hold_later(duration, seen.append)
        if reads:   # a reading needs the device now: everything deferred so far is evaluated
            assert node_b.deferring(port_b)
            port_b.sync()
            assert not node_b.deferring(port_b) and len(seen) == k + 1
            readings.append(float(np.mean(node_b.model.add_read_noise(np.full(reads, seen[-1].current)))))
    port_b.sync()
    np.testing.assert_allclose([s.current for s in seen], expected["current"], rtol=1e-9)
    np.testing.assert_allclose(readings, expected["reading"][~np.isnan(expected["reading"])], rtol=1e-9)
    assert node_b.clock.now() == pytest.approx(node_a.clock.now(), rel=1e-12)
    np.testing.assert_allclose(node_b.model.x, node_a.model.x, rtol=1e-9)
    assert node_a.model.rng.standard_normal() == node_b.model.rng.standard_normal()


def test_another_port_driving_evaluates_the_deferred_holds_first():
    node, smu = bench({"c2c_sigma": 0.0})
    generator = node.port("pg", 50.0)
    smu.drive(1.5, 1e-3)
    got = []
    smu.hold_later(1e-3, got.append)
    generator.drive(0.0)   # the generator's output changes: the device catches up first
    assert len(got) == 1 and got[0].current > 0
    assert not node.deferring(smu)


@pytest.mark.parametrize("smu", ["keithley2450", "keithley2400", "keithley2600", "keysightb2900"])
def test_a_hardware_timed_potentiation_reads_the_same_as_segment_by_segment(smu):
    """End to end on each SMU's sequencer: the whole-train path and the per-segment path (the model's
    whole-train form switched off) give the same readings, times and sources."""
    from labsuite import Bench, make_protocol
    from labsuite.runner import Runner

    program = make_protocol("potentiation", {"pulses": 30, "width": "1 ms", "period": "10 ms", "read_delay": "2 ms",
                                             "read_time": "1 ms"}).program()
    runs = []
    for whole in (True, False):
        with Bench.simulated(seed=4, smu=smu) as simulated:
            if not whole:
                simulated.station.model.evolve_train = lambda *args: None
            runs.append(Runner(simulated, program, timing="hardware").run())
    got, expected = runs
    for name in expected.dtype.names:
        np.testing.assert_allclose(got[name], expected[name], rtol=1e-9, atol=0, err_msg=name)
    assert got["current"][-1] > got["current"][0]   # the pulses moved the device: a real comparison


@pytest.mark.parametrize("smu, module, bound", [("keithley2450", "labsuite.simulator.instruments.keithley2450", "TRAIN_CHUNK"),
                                                ("keithley2600", "labsuite.simulator.circuit", "MAX_DEFERRED")])
def test_a_train_evaluated_in_bounded_pieces_reads_the_same(smu, module, bound, monkeypatch):
    """Memory stays bounded: a long model evolves the device every few holds; the readings do not change."""
    import importlib

    from labsuite import Bench, make_protocol
    from labsuite.runner import Runner

    program = make_protocol("potentiation", {"pulses": 12}).program()
    runs = []
    for limit in (None, 5):
        if limit is not None:
            monkeypatch.setattr(importlib.import_module(module), bound, limit)
        with Bench.simulated(seed=5, smu=smu) as simulated:
            runs.append(Runner(simulated, program, timing="hardware").run())
    for name in runs[0].dtype.names:
        np.testing.assert_allclose(runs[1][name], runs[0][name], rtol=1e-9, atol=0, err_msg=name)
