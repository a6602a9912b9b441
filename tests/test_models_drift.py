"""Drift-type memristor models behave as their papers state (simulator/models/drift.py)."""
import numpy as np
import pytest

from labsuite.simulator.models.drift import (DRIFT_MODELS, VTEAM, BiolekParams, JoglekarParams, LinearIonDrift,
                                             LinearIonDriftBiolek, LinearIonDriftJoglekar,
                                             LinearIonDriftProdromakis, ProdromakisParams, VTEAMParams, Yakopcic,
                                             YakopcicParams)

# Drive of each model for the hysteresis loops: amplitude (V) and three frequencies (Hz) in the regime
# where the state does not saturate within a half period.
LOOP_DRIVE = {
    "linear-ion-drift": (1.2, (1.0, 10.0, 100.0)),          # Biolek et al. 2009, Fig. 5(a): 1.2 V, 1 Hz
    "linear-ion-drift-joglekar": (1.2, (1.0, 10.0, 100.0)),
    "linear-ion-drift-biolek": (1.2, (1.0, 10.0, 100.0)),
    "linear-ion-drift-prodromakis": (1.2, (1.0, 10.0, 100.0)),
    "vteam": (1.0, (1e7, 1e8, 1e9)),
    "yakopcic": (0.5, (1e3, 1e4, 1e5)),
}
PULSE = {"vteam": (1.0, 2e-8), "yakopcic": (0.5, 3e-4)}   # others: 1.2 V, 0.3 s


def sine_loop(model, amplitude, frequency, n=150):
    """(V, I) of the second period of a piecewise-constant sine, n segments per period.

    Segment k holds V = A·sin(2πk/n), so k = 0 and k = n/2 sit exactly at V = 0 (rising and falling).
    """
    v = amplitude * np.sin(2 * np.pi * np.arange(n) / n)
    v[n // 2] = 0.0
    current = np.empty(n)
    for period in range(2):
        for k in range(n):
            result = model.evolve(v[k], 1.0 / (frequency * n))
            current[k] = result.current[0]
    return v, current


def lobe_area(v, i):
    """|area| of the positive lobe + |area| of the negative lobe (shoelace, each closed through 0)."""
    h = len(v) // 2
    total = 0.0
    for sl in (slice(0, h + 1), slice(h, len(v))):
        vv, ii = np.append(v[sl], 0.0), np.append(i[sl], 0.0)
        total += 0.5 * abs(np.sum(vv[:-1] * ii[1:] - vv[1:] * ii[:-1]))
    return total


# ------------------------------------------------------------------------------- window functions
class TestWindows:
    x = np.linspace(0, 1, 2001)

    def test_joglekar_vanishes_at_both_edges_and_is_one_in_the_middle(self):
        for p in (1.0, 2.0, 10.0):
            model = LinearIonDriftJoglekar(JoglekarParams(p=p))
            f = model.window(np.array([0.0, 0.5, 1.0]), np.ones(3))
            assert f == pytest.approx([0.0, 1.0, 0.0], abs=1e-15)
            full = model.window(self.x, np.ones_like(self.x))
            assert full == pytest.approx(full[::-1], abs=1e-14)              # symmetric about 0.5

    @pytest.mark.parametrize("p, j", [(1.0, 1.0), (2.5, 1.0), (10.0, 1.0), (7.0, 0.5)])
    def test_prodromakis_peaks_at_half_with_j_times_one_minus_075_to_the_p(self, p, j):
        model = LinearIonDriftProdromakis(ProdromakisParams(p=p, j=j))
        f = model.window(self.x, np.ones_like(self.x))
        assert f[1000] == pytest.approx(j * (1 - 0.75 ** p), rel=1e-14)    # x = 0.5
        assert np.argmax(f) == 1000
        assert f[0] == pytest.approx(0.0, abs=1e-14) and f[-1] == pytest.approx(0.0, abs=1e-14)

    def test_biolek_window_depends_on_the_current_direction(self):
        """f = 1 − (x − stp(−i))^(2p): zero only at the edge the current drives towards."""
        model = LinearIonDriftBiolek(BiolekParams(p=2.0))
        ends = np.array([0.0, 1.0])
        assert model.window(ends, np.array([1e-3, 1e-3])) == pytest.approx([1.0, 0.0], abs=1e-15)
        assert model.window(ends, np.array([-1e-3, -1e-3])) == pytest.approx([0.0, 1.0], abs=1e-15)
        x = np.array([0.3])
        assert model.window(x, np.array([1.0])) == pytest.approx(1 - 0.3 ** 4, rel=1e-14)
        assert model.window(x, np.array([-1.0])) == pytest.approx(1 - 0.7 ** 4, rel=1e-14)

    def test_biolek_leaves_the_edge_where_joglekar_is_stuck(self):
        """Biolek et al. 2009, Sec. 5: with Joglekar's window a device at R_on never comes back."""
        biolek, joglekar = LinearIonDriftBiolek(), LinearIonDriftJoglekar()
        for model in (biolek, joglekar):
            model.set_state(np.array([[1.0]]))
            model.evolve(-1.2, 0.1)
        assert joglekar.x[0, 0] == 1.0
        assert biolek.x[0, 0] < 0.95


# ----------------------------------------------------------------- linear drift, analytic solutions
class TestLinearDriftAnalytic:
    """Without a window dx/dt = k·V/M and dM/dt = −ΔR·dx/dt, so M(t)² = M₀² − 2·ΔR·k·V·t while
    0 < x < 1, and the charge is q = (x − x₀)/k."""

    @staticmethod
    def expected(model, v, t):
        p = model.params
        dr, k = p.r_off - p.r_on, model.k[0]
        m0 = model.memristance()[0]
        m = np.sqrt(m0 ** 2 - 2 * dr * k * v * t)
        return (p.r_off - m) / dr, (((p.r_off - m) / dr) - model.x[0, 0]) / k

    @pytest.mark.parametrize("v", [1.2, -0.8])
    def test_constant_voltage_closed_form(self, v):
        model = LinearIonDrift()
        x_expected, q_expected = self.expected(model, v, 0.2)
        result = model.evolve(v, 0.2)
        assert model.x[0, 0] == pytest.approx(x_expected, rel=1e-12)
        assert result.current[0] * 0.2 == pytest.approx(q_expected, rel=1e-10)

    def test_constant_voltage_radau_path(self):
        model = LinearIonDrift()
        x_expected, q_expected = self.expected(model, 1.2, 0.2)
        model.rtol = 1e-8
        result = model._evolve_numerically(np.array([1.2]), 0.2, 0.0, np.inf, None, model.x.copy())
        assert model.x[0, 0] == pytest.approx(x_expected, rel=1e-8)
        assert result.current[0] * 0.2 == pytest.approx(q_expected, rel=1e-7)

    def test_boundary_is_reached_at_the_predicted_time_then_the_current_is_v_over_r_on(self):
        """x reaches 1 at t* = (M₀² − R_on²)/(2·ΔR·k·V); after that I = V/R_on."""
        model = LinearIonDrift()
        p, k, v = model.params, model.k[0], 1.2
        m0, x0 = model.memristance()[0], model.x[0, 0]
        t_star = (m0 ** 2 - p.r_on ** 2) / (2 * (p.r_off - p.r_on) * k * v)
        duration = 2 * t_star
        result = model.evolve(v, duration)
        assert model.x[0, 0] == pytest.approx(1.0, abs=1e-15)
        charge = (1 - x0) / k + v / p.r_on * (duration - t_star)
        assert result.current[0] * duration == pytest.approx(charge, rel=1e-10)

    def test_constant_current_moves_x_linearly_with_charge(self):
        """Under a binding current limit the device carries I_lim: x(T) = x₀ + k·I_lim·T (Radau path)."""
        model = LinearIonDrift()
        x0, k = model.x[0, 0], model.k[0]
        result = model.evolve(10.0, 0.1, compliance=1e-4)
        assert result.limited[0]
        assert model.x[0, 0] == pytest.approx(x0 + k * 1e-4 * 0.1, rel=1e-9)


# -------------------------------------------------------------------------- pinched hysteresis
@pytest.mark.parametrize("name", list(DRIFT_MODELS))
def test_sine_drive_gives_a_pinched_loop_that_shrinks_with_frequency(name):
    """Each loop passes through the origin (I = 0 at V = 0 on both branches); the lobe area falls
    strictly as the frequency rises, and at the highest frequency the loop is nearly a line
    (lobe area < 2 % of V_max·I_max)."""
    amplitude, frequencies = LOOP_DRIVE[name]
    normalized = []
    for f in frequencies:
        model = DRIFT_MODELS[name]()
        v, i = sine_loop(model, amplitude, f)
        assert abs(i[0]) < 1e-18 and abs(i[len(v) // 2]) < 1e-18          # both branches through 0
        normalized.append(lobe_area(v, i) / (amplitude * np.max(np.abs(i))))
    assert normalized[0] > 0.1                                              # a real loop at low f
    assert normalized[0] > normalized[1] > normalized[2]
    assert normalized[2] < 0.02


# ---------------------------------------------------------------------------------- thresholds
class TestThresholds:
    def test_vteam_does_not_move_between_its_thresholds(self):
        p = VTEAMParams()
        model = VTEAM(VTEAMParams(x_initial=0.5))
        for v in (0.999 * p.v_off, 0.999 * p.v_on, 0.0):
            model.evolve(v, 1.0)
            assert model.x[0, 0] == 0.5
        model.evolve(1.01 * p.v_off, 1e-6)
        assert model.x[0, 0] > 0.5

    def test_yakopcic_does_not_move_between_its_thresholds(self):
        p = YakopcicParams()
        model = Yakopcic()
        x0 = model.x[0, 0]
        for v in (0.999 * p.v_p, -0.999 * p.v_n, 0.0):
            model.evolve(v, 1.0)
            assert model.x[0, 0] == x0
        v, i = sine_loop(model, 0.99 * p.v_n, 1e3)                          # sub-threshold sine
        assert model.x[0, 0] == x0 and lobe_area(v, i) < 1e-15
        model.evolve(1.01 * p.v_p, 1e-3)
        assert model.x[0, 0] > x0

    def test_yakopcic_moves_linearly_below_xp(self):
        """For x < x_p, f = 1: x(T) = x₀ + η·g(V)·T with g = A_p(e^V − e^V_p)."""
        model = Yakopcic()
        p = model.params
        g = p.a_p * (np.exp(0.3) - np.exp(p.v_p))
        model.evolve(0.3, 1e-4)
        assert model.x[0, 0] == pytest.approx(p.x_initial + g * 1e-4, rel=1e-12)


# ---------------------------------------------------------------------------- numerical integration
@pytest.mark.parametrize("name", list(DRIFT_MODELS))
def test_radau_converges_and_agrees_with_the_closed_form(name):
    """rtol 1e-6 and 1e-8 agree on a write pulse to < 1e-5 in x; the quadrature closed form agrees
    with the rtol 1e-8 run to 1e-9 in x and 1e-8 in the mean current."""
    amplitude, width = PULSE.get(name, (1.2, 0.3))
    runs = []
    for rtol in (1e-6, 1e-8):
        model = DRIFT_MODELS[name]()
        model.rtol = rtol
        result = model._evolve_numerically(np.array([amplitude]), width, 0.0, np.inf, None, model.x.copy())
        runs.append((model.x[0, 0], result.current[0]))
    assert abs(runs[0][0] - runs[1][0]) < 1e-5
    exact = DRIFT_MODELS[name]()
    result = exact.evolve(amplitude, width)
    assert abs(exact.x[0, 0] - exact.clip_state(np.array([[runs[1][0]]]))[0, 0]) < 1e-9
    assert result.current[0] == pytest.approx(runs[1][1], rel=1e-8)
    assert abs(exact.x[0, 0] - DRIFT_MODELS[name]().x[0, 0]) > 0.05         # the pulse did write


def test_device_to_device_spread_draws_from_the_generator():
    a = LinearIonDrift(LinearIonDrift.params_type(d2d_sigma=0.1), n=500, rng=np.random.default_rng(5))
    b = LinearIonDrift(LinearIonDrift.params_type(d2d_sigma=0.1), n=500, rng=np.random.default_rng(5))
    assert np.array_equal(a.p.r_on, b.p.r_on)
    assert np.std(np.log(a.p.r_off)) == pytest.approx(0.1, rel=0.2)
    a.evolve(1.2, 0.05)                                                      # vectorized closed form
    assert np.all(a.x[0] > a.params.x_initial) and np.unique(a.x[0]).size > 400
