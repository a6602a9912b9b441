"""Volatile memory: a multi-timescale synapse with consolidation, and a diffusive memristor.

Each test states a physical claim and checks it against the closed form in the model's docstring
or against published behaviour, with the tolerance stated.
"""
import numpy as np
import pytest
from scipy.optimize import curve_fit

from labsuite.simulator.models.diffusive import DiffusiveMemristor, DiffusiveMemristorParams
from labsuite.simulator.models.multi_timescale import (MultiTimescaleSynapse, MultiTimescaleSynapse3,
                                                       MultiTimescaleSynapse3Params, MultiTimescaleSynapseParams)

QUIET = MultiTimescaleSynapseParams(c2c_sigma=0.0, read_noise=0.0)
PULSE = (1.5, 100e-6)                       # V, s: the standard write pulse
INTERVALS = np.geomspace(1e-3, 3.0, 15)     # s, gap between the two pulses of a pair


def paired_pulse_ratio(model_type, params, dt, pulse=PULSE):
    """A2/A1, each the conductance increase over the resting baseline right after its pulse;
    also returns the model for inspection."""
    model = model_type(params)
    base = model.conductance()[0]
    model.evolve(*pulse)
    a1 = model.conductance()[0] - base
    model.evolve(0.0, dt)
    model.evolve(*pulse)
    return (model.conductance()[0] - base) / a1, model


def double_exponential(dt, c1, tau1, c2, tau2):
    return 1 + c1 * np.exp(-dt / tau1) + c2 * np.exp(-dt / tau2)


def train(gap, pulses, rest=10.0):
    """Non-volatile conductance gained by ``pulses`` standard pulses ``gap`` apart, read after ``rest``."""
    model = MultiTimescaleSynapse(QUIET)
    g0 = model.conductance()[0]
    for _ in range(pulses):
        model.evolve(*PULSE)
        model.evolve(0.0, gap)
    model.evolve(0.0, rest)
    return model.conductance()[0] - g0, model


class TestMultiTimescale:
    def test_paired_pulse_ratio_is_the_documented_double_exponential(self):
        """PPF(Δt) = 1 + C1·e^(−Δt/τ1) + C2·e^(−Δt/τ2) at 15 intervals from 1 ms to 3 s, to 1e-9,
        with C_i = G_i·δ_i·e^(−t_p/τ_i)/Σ G_j·δ_j; no pair writes the non-volatile state."""
        probe = MultiTimescaleSynapse(QUIET)
        c = probe.paired_pulse_coefficients(*PULSE)
        delta = probe.pulse_increments(*PULSE)
        p = QUIET
        g, tau = np.array([p.g_vol_1, p.g_vol_2]), np.array([p.tau_1, p.tau_2])
        assert c == pytest.approx(g * delta * np.exp(-PULSE[1] / tau) / np.sum(g * delta), rel=1e-12)
        assert c == pytest.approx([0.6628, 0.3337], abs=1e-4)
        ratios = []
        for dt in INTERVALS:
            ratio, model = paired_pulse_ratio(MultiTimescaleSynapse, QUIET, dt)
            assert model.x[0, 0] == 0.0
            ratios.append(ratio)
        ratios = np.array(ratios)
        assert ratios == pytest.approx(double_exponential(INTERVALS, c[0], p.tau_1, c[1], p.tau_2), rel=1e-9)

    def test_double_exponential_fit_recovers_the_configured_constants(self):
        """scipy curve_fit of the simulated PPF curve returns C1, τ1, C2, τ2 within 2 %."""
        ratios = np.array([paired_pulse_ratio(MultiTimescaleSynapse, QUIET, dt)[0] for dt in INTERVALS])
        fit, _ = curve_fit(double_exponential, INTERVALS, ratios, p0=(0.5, 10e-3, 0.5, 1.0))
        c = MultiTimescaleSynapse(QUIET).paired_pulse_coefficients(*PULSE)
        expected = np.array([c[0], QUIET.tau_1, c[1], QUIET.tau_2])
        assert np.max(np.abs(fit / expected - 1)) < 0.02

    def test_volatile_components_decay_exactly(self):
        """After a pulse, h_i(t) = h_i(0)·e^(−t/τ_i): the closed form to 1e-12 and the Radau
        integration to 1e-6 relative (while h_i > 1e-4, i.e. well above Radau's 1e-9 atol)."""
        model = MultiTimescaleSynapse(QUIET)
        model.evolve(*PULSE)
        x0 = model.state()
        tau = np.array([QUIET.tau_1, QUIET.tau_2])
        for t in (2e-3, 10e-3, 40e-3, 300e-3, 1.0):
            exact = MultiTimescaleSynapse(QUIET)
            exact.set_state(x0)
            exact.evolve(0.0, t)
            expected = x0[1:, 0] * np.exp(-t / tau)
            assert exact.x[1:, 0] == pytest.approx(expected, rel=1e-12)
            numeric = MultiTimescaleSynapse(QUIET)
            numeric._evolve_numerically(np.zeros(1), t, 0.0, np.inf, None, x0.copy())
            above = expected > 1e-4
            assert numeric.x[1:, 0][above] == pytest.approx(expected[above], rel=1e-6)
            assert numeric.x[0, 0] == 0.0 and exact.x[0, 0] == 0.0

    def test_fast_pulses_consolidate_slow_pulses_and_single_pulse_do_not(self):
        """STM → LTM: 10 pulses 10 ms apart leave non-volatile conductance after 10 s of rest;
        the same 10 pulses 1 s apart, or one pulse, leave none (Ohno et al. 2011)."""
        fast, fast_model = train(10e-3, 10)
        slow, _ = train(1.0, 10)
        single, _ = train(1.0, 1)
        a1 = MultiTimescaleSynapse(QUIET).pulse_increments(*PULSE) @ np.array([QUIET.g_vol_1, QUIET.g_vol_2])
        assert fast > 3 * a1                 # more than three single-pulse responses, made permanent
        assert slow == pytest.approx(0.0, abs=1e-15)
        assert single == pytest.approx(0.0, abs=1e-15)
        assert fast_model.x[1:, 0].max() < 1e-12          # nothing volatile left after 10 s
        g = fast_model.conductance()[0]
        fast_model.evolve(0.0, 3600.0)                      # and the consolidated part holds
        assert fast_model.conductance()[0] == pytest.approx(g, rel=1e-12)

    def test_consolidation_grows_with_rate(self):
        """At fixed pulse count, the consolidated conductance falls as the interval grows."""
        gains = [train(gap, 10, rest=5.0)[0] for gap in (2e-3, 10e-3, 50e-3, 200e-3)]
        assert all(a > b for a, b in zip(gains, gains[1:]))

    def test_consolidation_closed_form_agrees_with_radau(self):
        """While consolidating, the closed form — state and mean current — agrees with Radau
        (rtol 1e-10, atol 1e-9) to 1e-7: a read at 0.1 V and a rest while h falls through θ, a
        write pulse on top, and a long 1 V hold from rest during which h rises through θ."""
        _, model = train(10e-3, 10, rest=0.0)
        trained = model.state()
        assert trained[2, 0] > QUIET.consolidation_threshold
        for x0, v, t in ((trained, 0.1, 0.3), (trained, 1.5, 1e-3), (trained, 0.0, 2.0),
                         (np.zeros_like(trained), 1.0, 0.05)):
            exact = MultiTimescaleSynapse(QUIET)
            exact.set_state(x0)
            a = exact.evolve(v, t)
            numeric = MultiTimescaleSynapse(QUIET)
            numeric.rtol = 1e-10
            b = numeric._evolve_numerically(np.array([v]), t, 0.0, np.inf, None, x0.copy())
            assert exact.x[0, 0] > x0[0, 0]
            assert np.max(np.abs(exact.x - numeric.x) / np.maximum(np.abs(exact.x), 1e-3)) < 1e-7
            assert a.current == pytest.approx(b.current, rel=1e-7, abs=1e-20)

    def test_reset_while_consolidating_is_integrated_numerically_and_converges(self):
        """A reset pulse while h > θ has no closed form; the Radau result moves by < 1e-6 when the
        tolerance is tightened 1000×, and the pulse depresses w and erases the volatile parts."""
        _, model = train(10e-3, 10, rest=0.0)
        x0 = model.state()
        assert model.closed_form(np.array([-1.5]), 1e-3, x0) is None

        def run(rtol):
            m = MultiTimescaleSynapse(QUIET)
            m.set_state(x0)
            m.rtol = rtol
            m.evolve(-1.5, 1e-3)
            return m.state()
        coarse, fine = run(1e-6), run(1e-9)
        assert np.max(np.abs(coarse - fine)) < 1e-6
        assert np.all(fine[1:] < x0[1:])

    def test_sub_threshold_reads_leave_the_non_volatile_state(self):
        model = MultiTimescaleSynapse(QUIET)
        model.evolve(*PULSE)
        for _ in range(100):
            model.evolve(0.1, 1e-3)
        assert model.x[0, 0] == 0.0

    def test_three_components_give_a_triple_exponential(self):
        """The m = 3 variant: PPF = 1 + Σ₁³ C_i·e^(−Δt/τ_i) to 1e-9 (τ3 = 5 s)."""
        params = MultiTimescaleSynapse3Params(c2c_sigma=0.0, read_noise=0.0)
        c = MultiTimescaleSynapse3(params).paired_pulse_coefficients(*PULSE)
        tau = np.array([params.tau_1, params.tau_2, params.tau_3])
        for dt in (1e-3, 0.1, 2.0):
            ratio, _ = paired_pulse_ratio(MultiTimescaleSynapse3, params, dt)
            assert ratio == pytest.approx(1 + np.sum(c * np.exp(-dt / tau)), rel=1e-9)

    def test_array_with_device_to_device_spread(self):
        params = MultiTimescaleSynapseParams(c2c_sigma=0.0, read_noise=0.0, d2d_sigma=0.1)
        model = MultiTimescaleSynapse(params, n=500, rng=np.random.default_rng(5))
        g0 = model.conductance()
        assert np.std(np.log(model.p.tau_1)) == pytest.approx(0.1, rel=0.15)
        for _ in range(10):
            model.evolve(*PULSE)
            model.evolve(0.0, 10e-3)
        model.evolve(0.0, 10.0)
        assert np.all(model.conductance() > g0)


D_QUIET = DiffusiveMemristorParams(read_noise=0.0)
D_PULSE = (1.0, 5e-6)        # V, s: shorter than the switching delay at 1 V


class TestDiffusive:
    def test_switches_on_after_a_delay_and_relaxes_off(self):
        """Held at 1 V the device stays off for ~20 µs, then switches to ~G_on; with the voltage
        removed it returns to G_off within 100 ms (10 τ_r)."""
        model = DiffusiveMemristor(D_QUIET)
        p = D_QUIET
        t = np.linspace(0, 100e-6, 41)
        current = model.evolve(1.0, 100e-6, sample_times=t).samples[:, 0]
        on = p.g_on * 1.0
        assert current[t <= 5e-6].max() < 0.01 * on
        assert current[-1] > 0.95 * on
        delay = t[np.argmax(current > on / 2)]
        assert 10e-6 < delay < 40e-6
        model.evolve(0.0, 0.1)
        assert model.conductance()[0] == pytest.approx(p.g_off, rel=0.01)

    def test_delay_shortens_exponentially_with_voltage(self):
        """The switching delay falls by more than 3× per 0.1 V (thermally activated hopping)."""
        volts = np.array([0.9, 1.0, 1.1])
        t = np.geomspace(1e-8, 1e-3, 300)
        current = DiffusiveMemristor(D_QUIET, n=3).evolve(volts, 1e-3, sample_times=t).samples
        delays = [t[np.argmax(current[:, j] > D_QUIET.g_on * v / 2)] for j, v in enumerate(volts)]
        assert all(a > 3 * b for a, b in zip(delays, delays[1:]))

    def test_paired_pulse_facilitation_fades_and_vanishes(self):
        """A2/A1 > 5 at 10 µs, decreasing with Δt, and 1 within 1 % from 100 ms on."""
        intervals = (10e-6, 1e-3, 3e-3, 10e-3, 30e-3, 100e-3, 1.0)
        ratios = np.array([paired_pulse_ratio(DiffusiveMemristor, D_QUIET, dt, D_PULSE)[0] for dt in intervals])
        assert ratios[0] > 5
        assert np.all(np.diff(ratios) < 1e-9)
        assert np.all(np.diff(ratios[:5]) < 0)
        assert ratios[-2:] == pytest.approx(1.0, abs=0.01)

    def test_nothing_is_left_after_a_long_rest(self):
        """After three switching pulses and 10 s of rest the device is as new: r, dT < 1e-9, the
        same conductance and the same response to a pulse (to 1e-6)."""
        model = DiffusiveMemristor(D_QUIET)
        for _ in range(3):
            model.evolve(1.0, 50e-6)
            model.evolve(0.0, 1e-3)
        model.evolve(0.0, 10.0)
        assert np.all(np.abs(model.x) < 1e-9)
        fresh = DiffusiveMemristor(D_QUIET)
        assert model.conductance()[0] == pytest.approx(fresh.conductance()[0], rel=1e-6)
        model.evolve(*D_PULSE)
        fresh.evolve(*D_PULSE)
        assert model.conductance()[0] == pytest.approx(fresh.conductance()[0], rel=1e-6)

    def test_reads_below_threshold_do_not_switch(self):
        """10 ms at 0.1 V moves G by less than 5 % of G_off."""
        model = DiffusiveMemristor(D_QUIET)
        model.evolve(0.1, 10e-3)
        assert model.conductance()[0] == pytest.approx(D_QUIET.g_off, rel=0.05)

    def test_compliance_caps_the_switched_current(self):
        model = DiffusiveMemristor(D_QUIET)
        result = model.evolve(1.0, 40e-6, compliance=10e-6, sample_times=np.linspace(0, 40e-6, 9))
        assert result.limited[0]
        assert np.all(np.abs(result.samples[:, 0]) <= 10e-6 * (1 + 1e-9))

    def test_numerical_convergence(self):
        """Tightening the tolerance 100× moves the state after a switching pulse and after the
        relaxation by < 1e-5 (r) and < 1e-3 K (dT), and the mean current by < 1e-5 relative."""
        def run(rtol):
            model = DiffusiveMemristor(D_QUIET)
            model.rtol = rtol
            during = model.evolve(1.0, 30e-6)
            switched = model.state()
            model.evolve(0.0, 5e-3)
            return switched, model.state(), during.current[0]
        (s1, r1, i1), (s2, r2, i2) = run(1e-6), run(1e-8)
        assert abs(s1[0, 0] - s2[0, 0]) < 1e-5 and abs(s1[1, 0] - s2[1, 0]) < 1e-3
        assert abs(r1[0, 0] - r2[0, 0]) < 1e-5
        assert i1 == pytest.approx(i2, rel=1e-5)
