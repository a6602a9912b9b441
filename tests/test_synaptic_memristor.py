"""The default device model behaves like a synapse, by its stated equations."""
import numpy as np
import pytest

from labsuite.core.clock import VirtualClock
from labsuite.simulator.circuit import SourceCircuit
from labsuite.simulator.models import SynapticMemristor, SynapticMemristorParams, make_model

QUIET = SynapticMemristorParams(c2c_sigma=0.0, read_noise=0.0)


def pulse_train(model, amplitude, width, n, gap=10e-3):
    """G after each of n pulses, read once the volatile part has relaxed."""
    g = []
    for _ in range(n):
        model.evolve(amplitude, width)
        model.evolve(0.0, gap)
        g.append(model.conductance()[0])
    return np.array(g)


def test_potentiation_follows_the_soft_bound_closed_form():
    """G(P) = G_min + (G_max − G_min)(1 − e^(−P/A)) with A = 1/(k_set·t_p), to 1e-9 of the window."""
    model = SynapticMemristor(QUIET)
    p = model.params
    g = pulse_train(model, 1.5, 100e-6, 40, gap=1.0)      # 1 s gap: volatile part e^-200, gone
    a = model.pulses_constant(1.5, 100e-6)
    k_set = p.rate_set * np.expm1((1.5 - p.v_set) / p.v_slope)
    assert a == pytest.approx(1 / (k_set * 100e-6))
    expected = p.g_min + (p.g_max - p.g_min) * -np.expm1(-np.arange(1, 41) / a)
    assert np.max(np.abs(g - expected)) < 1e-9 * (p.g_max - p.g_min)


def test_depression_mirrors_potentiation_from_the_top():
    model = SynapticMemristor(SynapticMemristorParams(c2c_sigma=0.0, read_noise=0.0, w_initial=1.0))
    p = model.params
    g = pulse_train(model, -1.5, 100e-6, 30, gap=1.0)
    a = model.pulses_constant(-1.5, 100e-6)
    expected = p.g_min + (p.g_max - p.g_min) * np.exp(-np.arange(1, 31) / a)
    assert np.max(np.abs(g - expected)) < 1e-9 * (p.g_max - p.g_min)


def test_sub_threshold_reads_do_not_disturb_the_state():
    model = SynapticMemristor(QUIET)
    model.evolve(1.5, 1e-3)
    model.evolve(0.0, 1.0)
    g0 = model.conductance()[0]
    for _ in range(1000):
        model.evolve(0.1, 1e-3)    # 1000 reads at 0.1 V, below V_set = 0.8 V
    assert model.conductance()[0] == pytest.approx(g0, rel=1e-12)


def test_volatile_component_decays_with_its_time_constant():
    """After a pulse the excess conductance relaxes as e^(−t/τ_vol), τ_vol = 5 ms."""
    model = SynapticMemristor(QUIET)
    model.evolve(1.5, 100e-6)
    g_nv = model.params.g_min + (model.params.g_max - model.params.g_min) * model.x[0, 0]
    excess0 = model.conductance()[0] - g_nv
    assert excess0 > 1e-6
    for t in (1e-3, 5e-3, 20e-3):
        probe = SynapticMemristor(QUIET)
        probe.set_state(model.state())
        probe.evolve(0.0, t)
        assert probe.conductance()[0] - g_nv == pytest.approx(excess0 * np.exp(-t / 5e-3), rel=1e-9)


def test_paired_pulses_facilitate_and_the_facilitation_fades():
    """A2/A1 (each response read from the resting baseline) falls as Δt grows past τ_vol = 5 ms."""
    def ppf(dt):
        model = SynapticMemristor(QUIET)
        base = model.conductance()[0]
        model.evolve(1.5, 100e-6)
        a1 = model.conductance()[0] - base
        model.evolve(0.0, dt)
        model.evolve(1.5, 100e-6)
        return (model.conductance()[0] - base) / a1
    ratios = [ppf(dt) for dt in (1e-3, 5e-3, 20e-3, 100e-3, 1.0)]
    assert all(a > b for a, b in zip(ratios, ratios[1:]))
    assert ratios[0] > 1.4
    assert ratios[-2] == pytest.approx(ratios[-1], rel=1e-3)   # beyond 20 τ nothing volatile is left


def test_non_volatile_state_holds_for_an_hour_in_virtual_time():
    model = SynapticMemristor(QUIET)
    model.evolve(1.5, 2e-3)
    model.evolve(0.0, 1.0)
    g = model.conductance()[0]
    model.evolve(0.0, 3600.0)
    assert model.conductance()[0] == pytest.approx(g, rel=1e-12)


def test_same_seed_same_noise_other_seed_other_noise():
    def run(seed):
        model = make_model("synaptic-memristor", np.random.default_rng(seed))
        return pulse_train(model, 1.5, 100e-6, 20), model.add_read_noise(np.ones(5))
    (g1, r1), (g2, r2), (g3, r3) = run(3), run(3), run(4)
    assert np.array_equal(g1, g2) and np.array_equal(r1, r2)
    assert not np.array_equal(g1, g3) and not np.array_equal(r1, r3)


def test_cycle_to_cycle_spread_matches_sigma():
    """The relative spread of single-pulse updates across 4000 devices is σ_c2c = 2 %."""
    model = SynapticMemristor(SynapticMemristorParams(c2c_sigma=0.02, read_noise=0.0), n=4000,
                              rng=np.random.default_rng(1))
    model.evolve(1.5, 100e-6)
    steps = model.x[0]
    assert np.std(steps) / np.mean(steps) == pytest.approx(0.02, rel=0.05)


def test_model_parameters_accept_units():
    model = make_model("synaptic-memristor", np.random.default_rng(0), params={"g_max": "300 uS", "tau_volatile": "20 ms"})
    assert model.params.g_max == pytest.approx(300e-6)
    assert model.params.tau_volatile == pytest.approx(0.02)


class TestCircuit:
    def test_compliance_clamps_the_current_and_drops_the_device_voltage(self):
        model = SynapticMemristor(SynapticMemristorParams(c2c_sigma=0, read_noise=0, w_initial=1.0))
        circuit = SourceCircuit(model)
        result = circuit.hold(2.0, compliance=100e-6, duration=1e-3)     # 2 V × 200 µS = 400 µA wanted
        assert result.in_compliance
        assert result.current == pytest.approx(100e-6, rel=1e-6)
        assert result.device_voltage < 0.6

    @pytest.mark.parametrize("v", [2.0, -2.0])
    def test_limit_holds_through_a_set_and_a_reset_pulse(self, v):
        """A write under compliance: the current never passes the limit, whatever the state does."""
        model = SynapticMemristor(SynapticMemristorParams(c2c_sigma=0, read_noise=0, w_initial=0.5))
        result = model.evolve(v, 1e-3, compliance=50e-6, sample_times=np.linspace(0, 1e-3, 11))
        assert result.limited[0]
        assert np.all(np.abs(result.samples[:, 0]) <= 50e-6 * (1 + 1e-9))
        assert abs(result.current[0]) == pytest.approx(50e-6, rel=1e-6)

    def test_series_resistance_divides_the_voltage(self):
        model = SynapticMemristor(QUIET)                                 # 20 µS = 50 kΩ
        v_dev, i, limited = model.operating_point(np.array([0.2]), 50e3, 1e-3)
        assert v_dev[0] == pytest.approx(0.1, rel=1e-9)
        assert i[0] == pytest.approx(2e-6, rel=1e-9) and not limited[0]

    def test_energy_is_v_times_i_times_t(self):
        model = SynapticMemristor(QUIET)
        result = SourceCircuit(model).hold(0.1, 1e-3, 2e-3)
        assert result.energy == pytest.approx(0.1 * 20e-6 * 0.1 * 2e-3, rel=1e-9)

    def test_virtual_clock_costs_nothing_for_an_hour(self):
        clock = VirtualClock()
        clock.sleep(3600.0)
        assert clock.now() == 3600.0


class TestNumericalIntegration:
    """The Radau path used under compliance and series resistance agrees with the closed form."""

    def test_numerical_and_closed_form_agree_on_a_write_pulse(self):
        exact, numeric = SynapticMemristor(QUIET), SynapticMemristor(QUIET)
        a = exact.evolve(1.5, 100e-6)
        b = numeric._evolve_numerically(np.array([1.5]), 100e-6, 0.0, np.inf, None, numeric.x.copy())
        assert numeric.x == pytest.approx(exact.x, rel=1e-5, abs=1e-9)
        assert b.current == pytest.approx(a.current, rel=1e-5)
        assert b.energy == pytest.approx(a.energy, rel=1e-5)

    def test_tightening_the_tolerance_changes_results_below_it(self):
        """Halving the step (here: tolerance ÷ 100) moves the state by less than the stated 1e-6."""
        def run(rtol):
            model = SynapticMemristor(QUIET)
            model.rtol = rtol
            model.evolve(1.8, 2e-3, series_resistance=5e3, compliance=150e-6)
            return model.x.copy()
        coarse, fine = run(1e-6), run(1e-8)
        assert np.max(np.abs(coarse - fine)) < 1e-5

    def test_array_of_devices_with_device_to_device_spread(self):
        params = SynapticMemristorParams(c2c_sigma=0, read_noise=0, d2d_sigma=0.1)
        model = SynapticMemristor(params, n=2000, rng=np.random.default_rng(3))
        g0 = model.conductance()
        assert np.std(np.log(g0)) == pytest.approx(0.1, rel=0.1)          # log-normal G_min spread
        model.evolve(1.5, 100e-6, series_resistance=1e3, compliance=1e-3)              # numerical path, 2000 devices
        assert np.all(model.conductance() > g0)

    def test_sample_times_trace_the_current_inside_a_segment(self):
        model = SynapticMemristor(QUIET)
        t = np.linspace(0, 1e-3, 5)
        result = model.evolve(1.5, 1e-3, sample_times=t)
        assert np.all(np.diff(result.samples[:, 0]) > 0)                   # potentiating during the pulse
        assert result.samples[-1, 0] == pytest.approx(model.current(np.array([1.5]), model.x)[0], rel=1e-9)



@pytest.mark.parametrize("series_resistance", [1e3, 2050.0])   # an SMU through 1 kΩ; a generator's 50 Ω + 2 kΩ
def test_potentiation_through_a_series_resistance_matches_a_tight_reference_integration(series_resistance):
    """The NeuroSim A of 200 pulses written through R_s agrees within 1e-6 with the same run
    integrated at rtol 1e-10, and differs from the run without R_s (the resistor slows the writes)."""
    from labsuite import make_protocol
    from labsuite.simulator.playback import play

    proto = make_protocol("potentiation", {"pulses": 200})

    def nonlinearity(rtol: float, resistance: float) -> float:
        model = SynapticMemristor(rng=np.random.default_rng(3))
        model.rtol = rtol
        samples = play(proto.program(), model, series_resistance=resistance, read_noise=False)
        return proto.analyze(samples)["nonlinearity_a"]
    fast = nonlinearity(SynapticMemristor.rtol, series_resistance)
    assert fast == pytest.approx(nonlinearity(1e-10, series_resistance), rel=1e-6)
    assert fast > 1.05 * nonlinearity(SynapticMemristor.rtol, 0.0)
