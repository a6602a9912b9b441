"""Second-order devices behave as their stated equations and sources say.

IontronicMemristor: chemical-inductor branch (Bisquert and co-workers) — inverted hysteresis in
its documented range, closed loops outside it, a relaxation time that depends on voltage.
ThermalSecondOrderMemristor: Kim et al., Nano Lett. 15, 2203 (2015) — heating memory that
fades with the thermal time constant, and spike-timing-dependent plasticity from it.
"""
import numpy as np
import pytest
from scipy.optimize import curve_fit

from labsuite.simulator.models.iontronic import IontronicMemristor, IontronicMemristorParams
from labsuite.simulator.models.thermal import ThermalSecondOrderMemristor, ThermalSecondOrderParams

ION = IontronicMemristorParams(read_noise=0.0)
THERMAL = ThermalSecondOrderParams(c2c_sigma=0.0, read_noise=0.0)
SEGMENTS = 150           # piecewise-constant segments per sweep period


def triangular_loop(model, period, v_max, segments=SEGMENTS):
    """Sweep 0 → v_max → 0 in ``segments`` equal holds; (levels, forward I, return I), A.

    The return branch visits the same levels as the forward branch, in reverse, so the two
    branches compare at identical voltages.
    """
    half = segments // 2
    levels = v_max * (np.arange(half) + 0.5) / half
    dt = period / segments
    i = np.array([model.evolve(v, dt).current[0] for v in np.concatenate([levels, levels[::-1]])])
    return levels, i[:half], i[half:][::-1]


def relative_loop_area(period, v_max=1.0):
    """A = ∫(I_return − I_forward) dV over the sweep, over v_max·I_ss(v_max). A > 0: inverted
    (the return branch carries more current)."""
    model = IontronicMemristor(ION)
    levels, fwd, ret = triangular_loop(model, period, v_max)
    area = np.sum(ret - fwd) * abs(v_max) / levels.size
    return area / abs(v_max * model.steady_state_current(np.array([v_max]))[0])


def exp_fit_tau(t, i):
    """τ of a least-squares fit I(t) = a + b·e^(−t/τ)."""
    guess = (i[-1], i[0] - i[-1], t[-1] / 5)
    (a, b, tau), _ = curve_fit(lambda t, a, b, tau: a + b * np.exp(-t / tau), t, i, p0=guess, maxfev=20000)
    return tau


class TestIontronic:
    def test_settled_current_is_the_fast_branch_plus_the_activated_inductive_branch(self):
        """After a long hold, I = V/R_b + (V/R_a)/(1 + e^(−(V−V_m)/V_w)), to 1e-12."""
        p = ION
        for v in (-1.0, 0.2, 0.5, 0.8, 1.5):
            model = IontronicMemristor(ION)
            model.evolve(v, 1e4 * p.tau_k0 * np.exp(abs(v) / p.v_tau))
            expected = v / p.r_b + v / p.r_a / (1 + np.exp(-(v - p.v_m) / p.v_w))
            assert model.current(np.array([v]), model.x)[0] == pytest.approx(expected, rel=1e-12)

    @pytest.mark.parametrize("period", [0.1, 1.0, 10.0])
    def test_inverted_hysteresis_in_the_documented_range(self, period):
        """V_max = 1 V, sweep periods 0.1–10 s (scan rates 0.2–20 V/s): the return branch carries
        more current than the forward branch at every voltage, and the signed loop area is
        positive and large (measured 0.125, 0.467, 0.115 of V_max·I_ss)."""
        model = IontronicMemristor(ION)
        levels, fwd, ret = triangular_loop(model, period, 1.0)
        assert np.all(ret - fwd > 0)
        active = levels > ION.v_m
        assert np.min((ret - fwd)[active] / ret[active]) > 1e-3
        assert relative_loop_area(period) > 0.1

    def test_hysteresis_peaks_where_the_sweep_time_matches_tau(self):
        """Area vs period rises, peaks near a period of ~1 s (τ_k ≈ 0.14–0.37 s over the active
        range 0.5–1 V), then falls: the inductive branch follows partly only at matching speeds."""
        periods = [1e-3, 1e-2, 0.1, 1.0, 10.0, 100.0]
        areas = [relative_loop_area(p) for p in periods]
        assert int(np.argmax(areas)) == 3
        assert all(a < b for a, b in zip(areas[:4], areas[1:4]))
        assert all(a > b for a, b in zip(areas[3:], areas[4:]))

    @pytest.mark.parametrize("period", [1e-4, 1e4])
    def test_loop_closes_outside_the_range(self, period):
        """Sweeping 1e4× faster than τ_k, I_L cannot follow; 1e4× slower, it stays at I_L,eq. Either
        way the loop closes: |area| < 1e-3 of V_max·I_ss (measured 1.4e-4 and 1.1e-4)."""
        assert abs(relative_loop_area(period)) < 1e-3

    def test_no_hysteresis_under_reverse_bias_where_the_branch_is_inactive(self):
        """0 → −1 V → 0 at the period of largest forward hysteresis: f(V) ≤ e^(−10), the loop
        area is below 1e-5 of V_max·|I_ss| (vs 0.47 at forward bias)."""
        assert abs(relative_loop_area(1.0, v_max=-1.0)) < 1e-5

    def test_relaxation_time_depends_on_voltage(self):
        """After a step 0 → V, I(t) relaxes as a single exponential with τ_k(V) = τ_k0·e^(−V/V_τ):
        fits at 0.8 V and 1.2 V recover τ_k(V) = 0.202 s and 0.0907 s within 2 %, on the exact
        path and on the Radau path alike."""
        p = ION
        taus = {}
        for v in (0.8, 1.2):
            expected = p.tau_k0 * np.exp(-v / p.v_tau)
            t = np.linspace(0.0, 5 * expected, 60)
            model = IontronicMemristor(ION)
            exact = model.evolve(v, t[-1], sample_times=t).samples[:, 0]
            numeric = IontronicMemristor(ION)
            radau = numeric._evolve_numerically(np.array([v]), t[-1], 0.0, np.inf, t, numeric.x.copy()).samples[:, 0]
            for trace in (exact, radau):
                assert exp_fit_tau(t, trace) == pytest.approx(expected, rel=0.02)
            taus[v] = exp_fit_tau(t, exact)
            assert model.tau(np.array([v]))[0] == pytest.approx(expected, rel=1e-12)
        assert taus[0.8] / taus[1.2] == pytest.approx(np.exp(0.4 / p.v_tau), rel=0.02)

    def test_step_response_rises_late_like_an_inductor(self):
        """Right after a step the current is the fast branch alone (V/R_b); it then rises to the
        settled value: the delayed, inductive response of Hernández-Balaguera & Bisquert (2022)."""
        model = IontronicMemristor(ION)
        t = np.array([0.0, 1e-3, 0.1, 1.0, 5.0])
        samples = model.evolve(1.0, 5.0, sample_times=t).samples[:, 0]
        assert samples[0] == pytest.approx(1.0 / ION.r_b, rel=1e-12)
        assert np.all(np.diff(samples) > 0)
        assert samples[-1] == pytest.approx(model.steady_state_current(np.array([1.0]))[0], rel=1e-9)

    def test_numerical_path_agrees_with_the_closed_form(self):
        exact, numeric = IontronicMemristor(ION), IontronicMemristor(ION)
        a = exact.evolve(0.9, 0.3)
        b = numeric._evolve_numerically(np.array([0.9]), 0.3, 0.0, np.inf, None, numeric.x.copy())
        assert numeric.x[0, 0] == pytest.approx(exact.x[0, 0], rel=1e-5)
        assert b.current[0] == pytest.approx(a.current[0], rel=1e-5)

    def test_tightening_the_tolerance_changes_results_below_it(self):
        """A step up and back down behind a 1 kΩ series resistance (Radau path), rtol 1e-6 vs 1e-8:
        I_L and the segment currents agree to 1e-5 of the branch current scale (1/R_a at 1 V)."""
        def run(rtol):
            model = IontronicMemristor(ION)
            model.rtol = rtol
            currents = [model.evolve(v, 0.1, series_resistance=1e3).current[0] for v in (1.2, 0.6)]
            return model.x[0, 0], np.array(currents)
        (x1, i1), (x2, i2) = run(1e-6), run(1e-8)
        scale = 1.0 / ION.r_a
        assert abs(x1 - x2) < 1e-5 * scale
        assert np.max(np.abs(i1 - i2)) < 1e-5 * scale

    def test_device_to_device_spread(self):
        model = IontronicMemristor(IontronicMemristorParams(read_noise=0.0, d2d_sigma=0.1), n=2000,
                                   rng=np.random.default_rng(5))
        assert np.std(np.log(model.p.r_b)) == pytest.approx(0.1, rel=0.1)
        model.evolve(1.0, 0.2)
        assert np.std(np.log(model.x[0])) > 0.05


# --- thermal second-order memristor ----------------------------------------------------------
TAU_T = THERMAL.tau_thermal
PROGRAM, HEAT = (1.0, 50e-9), (0.6, 500e-9)       # (V, s): the spike elements of the STDP protocol


def after(model, segments):
    for v, d in segments:
        model.evolve(v, d)
    return model


class TestThermal:
    def test_temperature_relaxes_with_the_thermal_time_constant(self):
        """At zero bias T − T_0 decays as e^(−t/τ_T) exactly, and w holds."""
        model = after(ThermalSecondOrderMemristor(THERMAL), [(1.2, 50e-9)])
        w, t0 = model.x[:, 0]
        assert t0 - THERMAL.t_ambient > 20
        for t in (100e-9, 500e-9, 2e-6):
            probe = ThermalSecondOrderMemristor(THERMAL)
            probe.set_state(model.state())
            probe.evolve(0.0, t)
            assert probe.x[1, 0] - THERMAL.t_ambient == pytest.approx((t0 - THERMAL.t_ambient) * np.exp(-t / TAU_T),
                                                                      rel=1e-12)
            assert probe.x[0, 0] == w

    def test_a_long_low_pulse_heats_to_r_th_times_joule_power(self):
        """Steady state of C_th·dT/dt = P − (T − T_0)/R_th: T = T_0 + R_th·G·V², to 1e-4."""
        model = after(ThermalSecondOrderMemristor(THERMAL), [(0.3, 20 * TAU_T)])
        rise = THERMAL.r_thermal * model.conductance()[0] * 0.3 ** 2
        assert model.x[1, 0] - THERMAL.t_ambient == pytest.approx(rise, rel=1e-4)

    def test_close_pulses_change_the_conductance_more_than_distant_ones(self):
        """Two 1.2 V, 50 ns pulses 50 ns apart (0.1 τ_T) change G more than 5× as much as the same
        two pulses 10 µs apart (20 τ_T) (measured 11.4×)."""
        def pair(gap):
            model = ThermalSecondOrderMemristor(THERMAL)
            g0 = model.conductance()[0]
            after(model, [(1.2, 50e-9), (0.0, gap), (1.2, 50e-9)])
            return model.conductance()[0] - g0
        close, far = pair(0.1 * TAU_T), pair(20 * TAU_T)
        assert far > 0
        assert close > 5 * far

    def test_heating_memory_fades_with_the_thermal_time_constant(self):
        """The second pulse's update Δw₂(gap) is Arrhenius in the residual temperature, so its
        log-enhancement ln(Δw₂(gap)/Δw₂(∞)) ≈ (E_a/k_B T²)·ΔT₁·e^(−gap/τ_T): an exponential fit of
        it over gaps 1–8 τ_T gives τ_T within 5 % (measured 0.17 %). Where the residual heat is
        small (gaps 4–8 τ_T) the enhancement Δw₂(gap) − Δw₂(∞) itself decays as e^(−gap/τ_T):
        fitted τ within 5 % (measured 0.26 %)."""
        params = ThermalSecondOrderParams(c2c_sigma=0.0, read_noise=0.0, w_initial=0.0)
        first = after(ThermalSecondOrderMemristor(params), [(1.2, 50e-9)])
        w1 = first.x[0, 0]

        def second_update(gap):
            model = ThermalSecondOrderMemristor(params)
            model.set_state(first.state())
            after(model, [(0.0, gap), (1.2, 50e-9)])
            return model.x[0, 0] - w1
        reference = second_update(30 * TAU_T)
        gaps = np.array([1, 2, 3, 4, 6, 8]) * TAU_T
        log_enhancement = np.log([second_update(g) / reference for g in gaps])
        assert np.all(np.diff(log_enhancement) < 0)
        slope = np.polyfit(gaps, np.log(log_enhancement), 1)[0]
        assert -1 / slope == pytest.approx(TAU_T, rel=0.05)
        tail = gaps >= 4 * TAU_T
        enhancement = np.array([second_update(g) - reference for g in gaps[tail]])
        slope = np.polyfit(gaps[tail], np.log(enhancement), 1)[0]
        assert -1 / slope == pytest.approx(TAU_T, rel=0.05)

    def test_stdp_sign_follows_spike_order_and_fades_with_the_interval(self):
        """Kim et al. (2015) protocol: each spike is a short programming pulse followed by a long,
        lower heating pulse; the pre spike appears across the device negative, the post spike
        positive. Neither spike alone does much on a cold device; the second spike's programming
        pulse acts on the heat the first left behind. Pre before post (Δt > 0) potentiates, post
        before pre depresses, and |ΔG| falls with |Δt| (measured +49 % / −28 % at |Δt| = 0.55 µs,
        below 0.03 % of G at 20 µs)."""
        params = ThermalSecondOrderParams(c2c_sigma=0.0, read_noise=0.0, w_initial=0.5)
        spike_length = PROGRAM[1] + HEAT[1]

        def spike(sign):
            return [(sign * PROGRAM[0], PROGRAM[1]), (sign * HEAT[0], HEAT[1])]
        starts = {}
        for order in (+1, -1):             # +1: pre (negative) first; -1: post (positive) first
            starts[order] = after(ThermalSecondOrderMemristor(params), spike(-order))

        def delta_g(dt):
            order = 1 if dt > 0 else -1
            model = ThermalSecondOrderMemristor(params)
            g0 = model.conductance()[0]
            model.set_state(starts[order].state())
            gap = abs(dt) - spike_length
            after(model, ([(0.0, gap)] if gap > 0 else []) + spike(order) + [(0.0, 20 * TAU_T)])
            return (model.conductance()[0] - g0) / g0
        intervals = np.array([0.55, 0.6, 0.8, 1.0, 1.5, 2.0]) * 1e-6
        ltp = np.array([delta_g(dt) for dt in intervals])
        ltd = np.array([delta_g(-dt) for dt in intervals])
        assert np.all(ltp > 0) and np.all(ltd < 0)
        assert np.all(np.diff(ltp) < 0) and np.all(np.diff(np.abs(ltd)) < 0)
        assert ltp[0] > 0.2 and ltd[0] < -0.1
        for order in (+1, -1):
            assert abs(delta_g(order * 20e-6)) < 0.01 * min(ltp[0], -ltd[0])

    def test_tightening_the_tolerance_changes_results_below_it(self):
        """Heating pulse then programming pulse, rtol 1e-6 vs 1e-8: w within 1e-5, T within 1e-5 relative."""
        def run(rtol):
            model = ThermalSecondOrderMemristor(THERMAL)
            model.rtol = rtol
            after(model, [HEAT, PROGRAM])
            return model.x.copy()
        coarse, fine = run(1e-6), run(1e-8)
        assert abs(coarse[0, 0] - fine[0, 0]) < 1e-5
        assert coarse[1, 0] == pytest.approx(fine[1, 0], rel=1e-5)

    def test_series_resistance_and_limit_are_respected_on_a_heating_pulse(self):
        model = ThermalSecondOrderMemristor(THERMAL)
        result = model.evolve(1.5, 200e-9, series_resistance=2e3, compliance=60e-6, sample_times=np.linspace(0, 200e-9, 5))
        assert np.all(np.abs(result.samples[:, 0]) <= 60e-6 * (1 + 1e-9))
        assert np.all(result.device_voltage < 1.5)

    def test_cycle_to_cycle_spread_matches_sigma(self):
        model = ThermalSecondOrderMemristor(ThermalSecondOrderParams(read_noise=0.0, c2c_sigma=0.02), n=500,
                                            rng=np.random.default_rng(2))
        w0 = model.x[0].copy()
        model.evolve(1.2, 50e-9)
        steps = model.x[0] - w0
        assert np.std(steps) / np.mean(steps) == pytest.approx(0.02, rel=0.1)
