"""Several instrument outputs on one device node: Thévenin sums, branch currents, open outputs."""
import numpy as np
import pytest

from labsuite.core.clock import VirtualClock
from labsuite.simulator.circuit import DeviceNode, SourceCircuit, thevenin
from labsuite.simulator.models import make_model


def node(seed: int = 0) -> DeviceNode:
    return DeviceNode(make_model("synaptic-memristor", np.random.default_rng(seed)), VirtualClock())


def test_thevenin_of_parallel_sources():
    assert thevenin([(1.0, 1e3), (0.0, 1e3)]) == pytest.approx((0.5, 500.0))
    assert thevenin([(0.1, 0.0), (2.0, 50.0)]) == (0.1, 0.0)      # a stiff source sets the node alone


def test_one_port_is_the_single_source_circuit():
    a, b = node(), node()
    port = a.port("smu", 1e3)
    port.drive(0.2, 1e-3)
    got = port.hold(1e-3)
    want = SourceCircuit(b.model, 1e3).hold(0.2, 1e-3, 1e-3)
    assert got == want
    assert a.clock.now() == pytest.approx(1e-3)


def test_branch_currents_add_up_to_the_device_current():
    n = node()
    smu, pg = n.port("smu", 1e3), n.port("pulse_generator", 1e3)
    smu.drive(0.2)
    pg.drive(0.0)
    seen = smu.hold(1e-3)
    v_dev = seen.device_voltage
    assert 0 < v_dev < 0.1                                       # divided by the other branch
    i_device = v_dev * n.model.conductance()[0]
    i_pg = (0.0 - v_dev) / 1e3
    assert seen.current == pytest.approx((0.2 - v_dev) / 1e3)
    assert seen.current + i_pg == pytest.approx(i_device, rel=1e-2)


def test_a_generator_left_on_at_0_V_loads_a_stiff_smu_read():
    """0.1 V from the SMU with the generator's 50 Ω to 0 V on the node: 2 mA more flow."""
    n = node()
    smu, pg = n.port("smu", 0.0), n.port("pulse_generator", 50.0)
    smu.drive(0.1)
    alone = smu.hold(1e-3).current
    pg.drive(0.0)
    loaded = smu.hold(1e-3).current
    assert loaded - alone == pytest.approx(0.1 / 50, rel=1e-3)


def test_an_output_that_is_off_is_open():
    n = node()
    smu, pg = n.port("smu", 0.0), n.port("pulse_generator", 50.0)
    smu.drive(0.1)
    pg.drive(None)
    assert pg.hold(1e-3).current == 0.0
    assert smu.hold(1e-3).current == pytest.approx(0.1 * n.model.conductance()[0], rel=0.05)


def test_a_change_of_output_first_carries_the_device_to_now():
    n = node()
    smu = n.port("smu")
    smu.drive(1.5, 1e-3)
    n.clock.advance(1e-3)             # 1 ms of SET pulse passes with nobody looking
    g_before = n.model.conductance()[0]
    smu.drive(None)                   # turning off applies the 1 ms first
    assert n.model.conductance()[0] > g_before


def test_cycle_to_cycle_variation_does_not_depend_on_how_an_instrument_slices_a_pulse():
    """One c2c draw per stretch of constant drive, applied to the change along the noiseless
    path: a 1 ms SET held at once or in 10 slices changes the conductance alike (seeded,
    σ_c2c = 30 %, soft bounds)."""
    def pulse(slices: int) -> float:
        model = make_model("synaptic-memristor", np.random.default_rng(5), params={"c2c_sigma": 0.3})
        n = DeviceNode(model, VirtualClock())
        port = n.port("smu")
        g0 = model.conductance()[0]
        port.drive(1.5, 1e-2)
        for _ in range(slices):
            port.hold(1e-3 / slices)
        port.drive(None)
        return model.conductance()[0] - g0
    once, sliced = pulse(1), pulse(10)
    deterministic = make_model("synaptic-memristor", np.random.default_rng(5), params={"c2c_sigma": 0.0})
    g0 = deterministic.conductance()[0]
    SourceCircuit(deterministic).hold(1.5, 1e-2, 1e-3)
    mean = deterministic.conductance()[0] - g0
    assert abs(once / mean - 1) > 0.05                          # the draw did vary the pulse
    assert sliced == pytest.approx(once, rel=1e-9)



@pytest.mark.parametrize("level, duration", [(1.5, 1e-3), (2.0, 5e-3)])   # mid-range, near saturation
def test_the_spread_of_a_pulse_does_not_depend_on_slicing(level, duration):
    """Over 40 seeds, ΔG after a SET has the same spread (σ_c2c = 30 %) held at once or in 10 slices."""
    def changes(slices: int) -> np.ndarray:
        out = []
        for seed in range(40):
            m = make_model("synaptic-memristor", np.random.default_rng(seed), params={"c2c_sigma": 0.3})
            port = DeviceNode(m, VirtualClock()).port("smu")
            g0 = m.conductance()[0]
            port.drive(level, 1e-3)
            for _ in range(slices):
                port.hold(duration / slices)
            port.drive(None)
            out.append(m.conductance()[0] - g0)
        return np.array(out)
    once, sliced = changes(1), changes(10)
    assert np.std(once) > 0.1 * np.mean(once)
    assert np.std(sliced) == pytest.approx(np.std(once), rel=1e-6)
