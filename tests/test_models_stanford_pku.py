"""The Stanford/PKU filamentary RRAM model behaves like a formed-and-cycled oxide RRAM cell, by its
published equations (Guan, Yu & Wong, IEEE TED 59, 1172, 2012; Jiang et al., IEEE TED 63, 1884,
2016; Stanford RRAM Verilog-A model v1.0.0 defaults).

Threshold arithmetic used below, from the defaults: F_min·t_ox = 16.8 V, γ(g) = 16 − 0.8·(g/nm)³,
so a pristine gap of 2.0 nm starts to move at 16.8/9.6 = 1.75 V and a fully reset one (1.7 nm)
at 16.8/12.07 = 1.392 V.
"""
import numpy as np
import pytest
from scipy.optimize import brentq

from labsuite.core.units import parse_quantity
from labsuite.simulator.models.base import DeviceModel
from labsuite.simulator.models.stanford_pku import StanfordPKU, StanfordPKUParams

QUIET = StanfordPKUParams(c2c_sigma=0.0)
STEP, DWELL = 0.005, 1e-3         # a 5 mV, 1 ms staircase
COMPLIANCE = 2e-3                 # A


def threshold(p, g_nm):
    """|V| at which the enhanced field γ(g)·|V|/t_ox reaches F_min, from the published equations."""
    return p.f_min * p.t_ox / (p.gamma0 - p.beta * (g_nm * 1e-9 / p.g1) ** 3)


def post_set_gap(p, compliance, series_resistance=0.0, v_source=None):
    """The gap (nm) where a SET under a current limit (or behind R_s) stops: the device voltage
    that carries the current, V₀·asinh(I/(I₀e^(−g/g₀))), has fallen to the threshold of the gap."""
    def v_dev(g):
        return p.v0 * np.arcsinh(compliance / (p.i0 * np.exp(-g * 1e-9 / p.g0)))
    if series_resistance:
        def v_dev(g):      # noqa: F811 - series resistor: V_s = V_dev + R_s·I(V_dev, g)
            v = threshold(p, g)
            return v_source - series_resistance * p.i0 * np.exp(-g * 1e-9 / p.g0) * np.sinh(v / p.v0)
    return brentq(lambda g: v_dev(g) - threshold(p, g), p.g_min * 1e9, p.g_max * 1e9, xtol=1e-13)


def staircase(model, v_end, compliance=np.inf):
    """Drive a 5 mV / 1 ms staircase from 0 to ``v_end``; per step: (source V, mean I, gap after,
    peak |I| of the samples at the start, middle and end of the step)."""
    rows = []
    for v in np.sign(v_end) * STEP * np.arange(1, round(abs(v_end) / STEP) + 1):
        r = model.evolve(v, DWELL, compliance=compliance, sample_times=np.array([0.0, DWELL / 2, DWELL]))
        rows.append((v, r.current[0], model.x[0, 0], np.max(np.abs(r.samples[:, 0]))))
    return np.array(rows)


def first_move(trace, g_before):
    """Index of the first step at which the gap changed."""
    moved = np.nonzero(np.abs(trace[:, 2] - g_before) > 1e-6)[0]
    return int(moved[0])


@pytest.fixture(scope="module")
def cycle():
    """Form a pristine device (0 → 1.8 V under 2 mA), RESET it (0 → −1.5 V), SET it (0 → 1.45 V)."""
    model = StanfordPKU(QUIET)
    g_pristine = model.x[0, 0]
    forming = staircase(model, 1.80, COMPLIANCE)
    model.evolve(0.0, DWELL)
    g_formed = model.x[0, 0]
    reset = staircase(model, -1.50)
    g_reset = model.x[0, 0]
    r_off = 0.1 / model.current(np.array([0.1]), model.x)[0]
    set_ = staircase(model, 1.45, COMPLIANCE)
    r_on = 0.1 / model.current(np.array([0.1]), model.x)[0]
    return dict(model=model, forming=forming, reset=reset, set=set_, g_pristine=g_pristine,
                g_formed=g_formed, g_reset=g_reset, r_off=r_off, r_on=r_on)


class TestFormingAndSwitching:
    def test_forming_happens_at_the_pristine_threshold_above_the_set_voltage(self, cycle):
        """The pristine 2.0 nm gap forms at the first step ≥ 1.75 V (within one 5 mV step); the
        formed and reset device SETs at the first step ≥ 1.392 V; V_form − V_set ≈ 0.35 V."""
        p = QUIET
        v_form = cycle["forming"][first_move(cycle["forming"], cycle["g_pristine"]), 0]
        v_set = cycle["set"][first_move(cycle["set"], cycle["g_reset"]), 0]
        assert -1e-9 <= v_form - threshold(p, 2.0) < STEP + 1e-9
        assert cycle["g_reset"] == pytest.approx(1.7, abs=1e-12)            # RESET ends at g_max
        assert -1e-9 <= v_set - threshold(p, 1.7) < STEP + 1e-9
        assert v_form - v_set > 0.3
        assert cycle["g_formed"] < 1.7                                       # formed: inside the window

    @pytest.mark.parametrize("phase", ["forming", "set"])
    def test_set_is_abrupt_and_clamped_at_the_compliance(self, phase, cycle):
        """The current jumps by > 10× in one 5 mV step, to the 2 mA limit, and no sample of any
        step exceeds the limit (relative 1e-9)."""
        trace = cycle[phase]
        k = first_move(trace, cycle["g_pristine"] if phase == "forming" else cycle["g_reset"])
        assert trace[k, 1] / trace[k - 1, 1] > 10
        assert np.all(trace[:, 3] <= COMPLIANCE * (1 + 1e-9))
        assert np.all(trace[k + 1:, 1] == pytest.approx(COMPLIANCE, rel=1e-9))

    def test_reset_is_gradual(self, cycle):
        """Under the same 5 mV staircase, negative, the current falls over many steps (where the
        SET took one): the gap follows g_F(V) = ((γ₀ − F_min·t_ox/|V|)/β)^(1/3) nm up to g_max,
        and no step carries more than 30 % of the total drop."""
        trace = cycle["reset"]
        i = np.abs(trace[:, 1])
        k0, k1 = int(np.argmax(i)), first_move(trace[::-1], 1.7)     # peak current; last moving step
        k1 = len(trace) - 1 - k1
        drops = -np.diff(i[k0:k1 + 1])
        assert k1 - k0 >= 40                                           # ≥ 40 steps of 5 mV, ≥ 0.2 V
        assert np.max(drops) < 0.30 * (i[k0] - i[k1])
        p = QUIET
        inside = (trace[:, 2] > cycle["g_formed"] + 1e-3) & (trace[:, 2] < 1.7 - 1e-6)
        v = np.abs(trace[inside, 0])
        g_f = np.cbrt((p.gamma0 - p.f_min * p.t_ox / v) / p.beta)
        assert np.max(np.abs(trace[inside, 2] - g_f)) < 1e-9

    def test_loop_is_bipolar_with_on_off_above_10(self, cycle):
        """Positive bias only shrinks the gap, negative only grows it; R_off/R_on at 0.1 V > 10."""
        for phase in ("forming", "set"):
            assert np.all(np.diff(cycle[phase][:, 2]) <= 0)
        assert np.all(np.diff(cycle["reset"][:, 2]) >= 0)
        assert cycle["r_off"] / cycle["r_on"] > 10
        assert cycle["r_off"] == pytest.approx(0.1 / (1e-3 * np.exp(-6.8) * np.sinh(0.4)), rel=1e-9)


    def test_a_compliance_below_the_pristine_current_prevents_forming(self):
        """At 100 µA the pristine device reaches the limit at 1.598 V, below its 1.75 V forming
        threshold: the source holds the device there and the gap never moves, up to 3.5 V."""
        model = StanfordPKU(QUIET)
        for v in (1.5, 1.7, 2.5, 3.5):
            r = model.evolve(v, DWELL, compliance=100e-6)
        assert r.limited[0] and model.x[0, 0] == 2.0
        assert r.device_voltage[0] == pytest.approx(0.25 * np.arcsinh(0.1 / np.exp(-8.0)), rel=1e-9)
        assert r.device_voltage[0] < threshold(QUIET, 2.0)


class TestCompliance:
    @pytest.mark.parametrize("v_pulse", [1.5, 2.5])
    def test_higher_compliance_gives_a_lower_on_resistance(self, v_pulse):
        """A 1 ms SET pulse under I_c leaves the gap at g*(I_c), where V₀·asinh(I_c/(I₀e^(−g/g₀)))
        = F_min·t_ox/γ(g), to 1e-4 nm whatever the pulse amplitude; R_on falls as I_c rises."""
        r_on = []
        for i_c in (0.5e-3, 1e-3, 2e-3):
            model = StanfordPKU(QUIET)
            model.set_state([[1.7]])
            model.evolve(v_pulse, 1e-3, compliance=i_c)
            assert model.x[0, 0] == pytest.approx(post_set_gap(QUIET, i_c), abs=1e-4)
            r_on.append(0.1 / model.current(np.array([0.1]), model.x)[0])
        assert r_on[0] > r_on[1] > r_on[2]
        assert r_on[0] / r_on[2] > 4

    def test_series_resistor_also_ends_the_set(self):
        """Without a current limit, 1 kΩ in series stops a 2 V SET where V_dev = threshold of the
        gap and V_s = V_dev + R_s·I (to 1e-4 nm)."""
        model = StanfordPKU(QUIET)
        model.set_state([[1.7]])
        model.evolve(2.0, 1e-3, series_resistance=1e3)
        assert model.x[0, 0] == pytest.approx(post_set_gap(QUIET, None, 1e3, 2.0), abs=1e-4)
        assert model.x[0, 0] > QUIET.g_min * 1e9 + 0.1

    def test_operating_point_matches_the_base_bisection(self):
        """The exact inverse used by the model agrees with the generic bisection of the base class."""
        model = StanfordPKU(QUIET, n=6)
        model.set_state([[0.2, 0.5, 0.9, 1.3, 1.7, 2.0]])
        v_s = np.array([0.1, -0.3, 1.0, -1.5, 2.0, 3.0])
        for r_s in (0.0, 100.0, 5e3):
            for i_lim in (np.inf, 1e-3, 1e-5):
                mine = model.operating_point(v_s, r_s, i_lim)
                generic = DeviceModel.operating_point(model, v_s, r_s, i_lim)
                assert np.array_equal(mine[2], generic[2])
                assert mine[0] == pytest.approx(generic[0], abs=1e-9)
                assert mine[1] == pytest.approx(generic[1], rel=1e-9)


class TestIntegration:
    def test_tightening_the_tolerance_moves_the_post_set_gap_below_1e_4_nm(self):
        """rtol 1e-6 vs 1e-8 on a 1.5 V, 1 ms SET pulse under 2 mA: Δg < 1e-4 nm."""
        def run(rtol):
            model = StanfordPKU(QUIET)
            model.set_state([[1.7]])
            model.rtol = rtol
            model.evolve(1.5, 1e-3, compliance=2e-3)
            return model.x[0, 0]
        assert abs(run(1e-6) - run(1e-8)) < 1e-4

    @pytest.mark.parametrize("v, duration", [(-1.2, 1e-3), (-1.2, 1e-7), (1.45, 2e-7)])
    def test_closed_form_matches_the_numerical_integration(self, v, duration):
        """Quadrature solution vs Radau at rtol 1e-10: gap to 1e-8 nm, mean current to 1e-7
        (full RESET step; a RESET and a SET cut short inside the segment)."""
        start = 0.9 if v < 0 else 1.7
        exact, numeric = StanfordPKU(QUIET), StanfordPKU(QUIET)
        exact.set_state([[start]])
        numeric.set_state([[start]])
        numeric.rtol = 1e-10
        a = exact.evolve(v, duration)
        b = numeric._evolve_numerically(np.array([v]), duration, 0.0, np.inf, None, numeric.x.copy())
        assert abs(exact.x[0, 0] - start) > 0.03                           # it did switch
        assert exact.x[0, 0] == pytest.approx(numeric.x[0, 0], abs=1e-8)
        assert a.current[0] == pytest.approx(b.current[0], rel=1e-7)

    def test_reads_do_not_disturb_the_state(self):
        """1000 reads of ±0.1 V leave the gap bit-identical (below the F_min field) and draw
        I₀e^(−g/g₀)·sinh(V/V₀)."""
        model = StanfordPKU(QUIET)
        model.set_state([[1.1]])
        for k in range(1000):
            r = model.evolve(0.1 if k % 2 else -0.1, 1e-3)
        assert model.x[0, 0] == 1.1
        assert r.current[0] == pytest.approx(1e-3 * np.exp(-4.4) * np.sinh(0.4), rel=1e-12)


class TestVariability:
    def test_same_seed_same_run_other_seed_other_run(self):
        def run(seed):
            model = StanfordPKU(StanfordPKUParams(c2c_sigma=0.02e-9, d2d_sigma=0.03), n=2,
                                rng=np.random.default_rng(seed))
            model.set_state([[0.9, 0.9]])
            gaps = []
            for v in -1.0 - STEP * np.arange(80):          # RESET staircase −1.0 → −1.4 V
                model.evolve(v, DWELL)
                gaps.append(model.x[0].copy())
            model.evolve(1.6, 1e-3, compliance=1e-3)          # SET pulse under compliance
            gaps.append(model.x[0].copy())
            return np.concatenate(gaps)
        a, b, c = run(5), run(5), run(6)
        assert np.array_equal(a, b)
        assert not np.array_equal(a, c)

    def test_cycle_to_cycle_spread_is_sigma_in_nm(self):
        """One RESET step on 2000 identical devices: the gaps spread with σ_c2c = 0.02 nm (±5 %);
        a read that moves nothing adds no spread."""
        model = StanfordPKU(StanfordPKUParams(c2c_sigma=0.02e-9), n=2000, rng=np.random.default_rng(1))
        model.set_state(np.full((1, 2000), 0.9))
        model.evolve(-1.2, 1e-3)
        assert np.std(model.x[0]) == pytest.approx(0.02, rel=0.05)
        assert np.mean(model.x[0]) == pytest.approx(np.cbrt((16 - 16.8 / 1.2) / 0.8), abs=2e-3)
        before = model.state()
        model.evolve(0.1, 1e-3)
        assert np.array_equal(model.x, before)

    def test_device_to_device_spread_of_forming_voltage(self):
        """With d2d spread on g_initial and F_min, each of 100 devices forms at its own threshold
        F_min,i·t_ox/γ(g_initial,i), within one 10 mV step, and the forming voltages spread."""
        model = StanfordPKU(StanfordPKUParams(c2c_sigma=0.0, d2d_sigma=0.03), n=100, rng=np.random.default_rng(2))
        v_th = model.threshold_voltage()
        g_pristine = model.x[0].copy()
        v_form = np.full(100, np.nan)
        for v in 1.30 + 0.01 * np.arange(110):
            model.evolve(v, DWELL)               # no limit: the gap collapses to g_min (hard forming)
            newly = np.isnan(v_form) & (model.x[0] < g_pristine - 1e-6)
            v_form[newly] = v
        assert not np.any(np.isnan(v_form))
        assert np.all((v_form - v_th >= -1e-9) & (v_form - v_th < 0.01 + 1e-9))
        assert np.std(v_form) > 0.05
        assert np.allclose(model.x[0], model.p.g_min * 1e9)


def test_parameters_take_units():
    assert parse_quantity("0.05 nm", "m", "c2c_sigma") == pytest.approx(5e-11)
    assert parse_quantity("0.6 eV", "eV", "e_a") == pytest.approx(0.6)
    assert parse_quantity("1.4 GV/m", "V/m", "f_min") == pytest.approx(1.4e9)
    model = StanfordPKU(StanfordPKUParams(g_initial=2.2e-9))
    assert model.x[0, 0] == pytest.approx(2.2)                           # state in nm
    assert model.describe()["model"] == "stanford-pku"
