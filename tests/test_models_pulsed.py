"""Pulsed-synapse models follow their published per-pulse update rules, pulse by pulse.

Each rule is checked against an independent evaluation of the published formula (aihwkit's
documented ``update_once`` rules; NeuroSim's G(P) curves), not against the model's own code.
"""
import numpy as np
import pytest

from labsuite.analysis.nonlinearity import fit_nonlinearity
from labsuite.simulator.models.pulsed import (ExpStepDevice, ExpStepParams, NeuroSimDevice, NeuroSimParams,
                                              PowStepDevice, PowStepParams, PULSED_MODELS, SoftBoundsDevice,
                                              SoftBoundsParams)

QUIET = dict(c2c_sigma=0.0, read_noise=0.0)
ALL = list(PULSED_MODELS.values())


def quiet(cls, **kw):
    return cls.params_type(**{**QUIET, **kw})


# --- the update rules ----------------------------------------------------------------------------
def test_soft_bounds_distance_to_the_bound_shrinks_by_a_constant_factor():
    """Up: b_max − w shrinks by 1 − α/b_max per pulse; down: w − b_min by 1 − α/|b_min| (to 1e-9)."""
    model = SoftBoundsDevice(quiet(SoftBoundsDevice, w_min=-0.8, w_max=1.2, dw_min=0.02))
    w = [model.x[0, 0]]
    for _ in range(80):
        model.evolve(1.5, 1e-6)
        w.append(model.x[0, 0])
    d = 1.2 - np.array(w)
    assert np.max(np.abs(d[1:] / d[:-1] - (1 - 0.02 / 1.2))) < 1e-9
    w = [model.x[0, 0]]
    for _ in range(80):
        model.evolve(-1.5, 1e-6)
        w.append(model.x[0, 0])
    d = np.array(w) + 0.8
    assert np.max(np.abs(d[1:] / d[:-1] - (1 - 0.02 / 0.8))) < 1e-9


def _exp_step_formula(w, up, p, lo, hi, dw):
    """aihwkit ExpStepDevice: z = 2a·w/(b_max − b_min) + b; w ± max(1 − A·e^(±γz), 0)·Δw, clipped."""
    z = 2 * p.a * w / (hi - lo) + p.b
    if up:
        w = w + max(1 - p.A_up * np.exp(p.gamma_up * z), 0) * dw * (1 + p.up_down)
    else:
        w = w - max(1 - p.A_down * np.exp(-p.gamma_down * z), 0) * dw * (1 - p.up_down)
    return min(max(w, lo), hi)


def _pow_step_formula(w, up, p, lo, hi, dw):
    """aihwkit PowStepDevice: ω = (b_max − w)/(b_max − b_min); up +Δw⁺ω^γ⁺, down −Δw⁻(1 − ω)^γ⁻."""
    omega = (hi - w) / (hi - lo)
    if up:
        w = w + dw * (1 + p.up_down) * omega ** (p.pow_gamma * (1 + p.pow_up_down))
    else:
        w = w - dw * (1 - p.up_down) * (1 - omega) ** (p.pow_gamma * (1 - p.pow_up_down))
    return min(max(w, lo), hi)


@pytest.mark.parametrize("cls, formula, extra", [
    (ExpStepDevice, _exp_step_formula, {}),
    (ExpStepDevice, _exp_step_formula, {"A_up": 0.05, "gamma_up": 3.0, "A_down": 0.2, "gamma_down": 4.0}),
    (PowStepDevice, _pow_step_formula, {"pow_gamma": 2.5, "pow_up_down": 0.2}),
    (PowStepDevice, _pow_step_formula, {"pow_gamma": 0.5}),
])
def test_step_follows_the_published_formula(cls, formula, extra):
    """300 up then 300 down pulses on a device with its own (d2d-drawn) bounds and step: every
    step equals the aihwkit formula evaluated directly, to 1e-12."""
    params = quiet(cls, d2d_sigma=0.15, dw_min=0.02, up_down=0.1, w_initial=-0.3, **extra)
    model = cls(params, rng=np.random.default_rng(7))
    lo, hi, dw = model.p.w_min[0], model.p.w_max[0], model.p.dw_min[0]
    assert dw != 0.02 and lo != -1.0                              # the device's own values are used
    w = model.x[0, 0]
    trace = [w]
    for v in [2.0] * 300 + [-2.0] * 300:
        model.evolve(v, 1e-6)
        w_expected = formula(w, v > 0, params, lo, hi, dw)
        assert model.x[0, 0] == pytest.approx(w_expected, abs=1e-12)
        w = model.x[0, 0]
        trace.append(w)
    assert np.all(np.diff(trace[:301]) >= 0) and np.all(np.diff(trace[300:]) <= 0)
    assert trace[300] > trace[0] + 0.5 and trace[-1] < trace[300] - 0.5


@pytest.mark.parametrize("a", [8.0, 25.0, 60.0])
def test_neurosim_reproduces_g_of_p_and_the_fit_recovers_a(a):
    """LTP: G(P) = B(1 − e^(−P/A)) + G_min; LTD: G(P) = −B(1 − e^((P − P_max)/A)) + G_max, to 1e-9 of
    the window; fit_nonlinearity recovers A (pulses) within 2 % on both."""
    p_max, g_min, g_max = 100, 20e-6, 200e-6
    model = NeuroSimDevice(quiet(NeuroSimDevice, a_ltp=a, a_ltd=a, p_max=p_max))
    pulses = np.arange(p_max + 1, dtype=float)
    b = (g_max - g_min) / (1 - np.exp(-p_max / a))
    g = [model.conductance()[0]]
    for _ in range(p_max):
        model.evolve(1.5, 1e-6)
        g.append(model.conductance()[0])
    assert np.max(np.abs(np.array(g) - (b * (1 - np.exp(-pulses / a)) + g_min))) < 1e-9 * (g_max - g_min)
    fit = fit_nonlinearity(pulses, np.array(g))
    assert fit.a == pytest.approx(a, rel=0.02)
    model.evolve(1.5, 1e-6)
    assert model.conductance()[0] == g_max                         # held at G_max past P_max

    g = [model.conductance()[0]]
    for _ in range(p_max):
        model.evolve(-1.5, 1e-6)
        g.append(model.conductance()[0])
    on_ltp_axis = p_max - pulses                                     # each depression pulse: P → P − 1
    expected = -b * (1 - np.exp((on_ltp_axis - p_max) / a)) + g_max
    assert np.max(np.abs(np.array(g) - expected)) < 1e-9 * (g_max - g_min)
    fit = fit_nonlinearity(pulses, np.array(g))
    assert fit.b < 0 and fit.a == pytest.approx(a, rel=0.02)


# --- noise ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("cls", ALL)
def test_cycle_to_cycle_spread_of_single_steps_matches_sigma(cls):
    """4000 identical devices, one pulse each way: std(Δw)/mean(Δw) = σ_c2c = 5 % within 10 %."""
    for v in (1.5, -1.5):
        mid = {"level_initial": 0.5} if cls is NeuroSimDevice else {}
        model = cls(cls.params_type(c2c_sigma=0.05, read_noise=0.0, **mid), n=4000, rng=np.random.default_rng(2))
        w0 = model.x[0].copy()
        model.evolve(v, 1e-6)
        steps = model.x[0] - w0
        assert np.std(steps) / abs(np.mean(steps)) == pytest.approx(0.05, rel=0.10)


def test_device_to_device_spread_of_the_step_matches_sigma():
    """First step from w = 0 of a soft-bounds device is its own α = Δw_min,i: std(ln α) = σ_d2d."""
    model = SoftBoundsDevice(quiet(SoftBoundsDevice, d2d_sigma=0.2), n=4000, rng=np.random.default_rng(4))
    model.apply_pulses(np.ones(4000, np.int8))
    assert np.std(np.log(model.x[0])) == pytest.approx(0.2, rel=0.10)
    assert np.exp(np.median(np.log(model.x[0]))) == pytest.approx(0.01, rel=0.02)


def test_device_to_device_spread_of_the_bounds_matches_sigma():
    """Constant steps (pow-step, γ = 0) drive every device to its own b_max: std(ln b_max) = σ_d2d."""
    model = PowStepDevice(quiet(PowStepDevice, pow_gamma=0.0, dw_min=0.1, d2d_sigma=0.2), n=4000,
                          rng=np.random.default_rng(5))
    for _ in range(150):
        model.apply_pulses(np.ones(4000, np.int8))
    assert np.std(np.log(model.x[0])) == pytest.approx(0.2, rel=0.10)


@pytest.mark.parametrize("cls", ALL)
def test_write_noise_is_redrawn_on_each_pulse_around_the_persistent_state(cls):
    """w_read − w has std σ_w·Δw_nom (σ_w = 0.5), fresh each pulse; w itself takes no write noise."""
    params = cls.params_type(c2c_sigma=0.0, read_noise=0.0, write_noise=0.5)
    noisy, clean = cls(params, n=4000, rng=np.random.default_rng(6)), cls(quiet(cls), n=4000)
    nominal = noisy._nominal_step()
    for _ in range(3):
        noisy.apply_pulses(np.ones(4000, np.int8))
        clean.apply_pulses(np.ones(4000, np.int8))
        assert np.array_equal(noisy.x[0], clean.x[0])
        assert np.std(noisy.x[1] - noisy.x[0]) == pytest.approx(0.5 * nominal, rel=0.10)


@pytest.mark.parametrize("cls", ALL)
def test_same_seed_same_noise_other_seed_other_noise(cls):
    def run(seed):
        params = cls.params_type(c2c_sigma=0.1, d2d_sigma=0.1, write_noise=0.2, read_noise=0.01)
        model = cls(params, n=20, rng=np.random.default_rng(seed))
        for v in [1.5] * 10 + [-1.5] * 5:
            model.evolve(v, 1e-6)
        return model.state(), model.add_read_noise(model.current(np.full(20, 0.1), model.x))
    (x1, r1), (x2, r2), (x3, r3) = run(3), run(3), run(4)
    assert np.array_equal(x1, x2) and np.array_equal(r1, r2)
    assert not np.array_equal(x1, x3) and not np.array_equal(r1, r3)


# --- the fast paths are the same model -----------------------------------------------------------
@pytest.mark.parametrize("cls", ALL)
def test_apply_pulses_equals_evolve_bit_for_bit(cls):
    """Same seed; evolve with device voltages around the threshold vs apply_pulses(sign·(|V| ≥ V_w))."""
    params = cls.params_type(c2c_sigma=0.1, d2d_sigma=0.1, write_noise=0.3)
    a, b = (cls(params, n=64, rng=np.random.default_rng(9)) for _ in range(2))
    levels = np.array([-2.0, -1.0, -0.99, 0.0, 0.2, 0.999, 1.0, 1.7])
    drive = np.random.default_rng(1).choice(levels, size=(40, 64))
    drive[5] = 0.1                                                   # a segment with no pulse at all
    for v in drive:
        a.evolve(v, 1e-6)
        b.apply_pulses((np.sign(v) * (np.abs(v) >= 1.0)).astype(np.int8))
        assert np.array_equal(a.x, b.x)
    assert np.array_equal(a.rng.standard_normal(3), b.rng.standard_normal(3))   # same draws consumed


@pytest.mark.parametrize("cls", ALL)
def test_pulse_train_on_one_device_equals_single_pulses_bit_for_bit(cls):
    params = cls.params_type(c2c_sigma=0.1, write_noise=0.3)
    a, b = (cls(params, rng=np.random.default_rng(12)) for _ in range(2))
    pols = np.random.default_rng(2).choice([-1, 0, 1, 1], size=3000)
    trace = a.apply_pulse_train(pols)
    expected = []
    for p in pols:
        b.apply_pulses(np.array([p]))
        expected.append(b.x[1, 0])
    assert np.array_equal(trace, expected) and np.array_equal(a.x, b.x)


# --- pulse semantics -----------------------------------------------------------------------------
@pytest.mark.parametrize("cls", ALL)
def test_a_pulse_is_one_step_whatever_its_width_and_amplitude(cls):
    steps = []
    for v, width in [(1.0, 1e-9), (1.2, 1e-6), (3.0, 1.0)]:
        model = cls(quiet(cls))
        model.evolve(v, width)
        steps.append(model.x[0, 0])
    assert steps[0] == steps[1] == steps[2] and steps[0] != cls(quiet(cls)).x[0, 0]


@pytest.mark.parametrize("cls", ALL)
def test_reads_below_threshold_hold_the_state_and_are_ohmic(cls):
    model = cls(quiet(cls))
    model.evolve(1.5, 1e-6)
    x = model.state()
    for v in (0.1, -0.5, 0.999, -0.999, 0.0):
        result = model.evolve(v, 1e-3)
        assert result.current[0] == v * model.conductance()[0]
    model.evolve(1.5, 0.0)                                           # zero duration: not a pulse
    assert np.array_equal(model.x, x)


@pytest.mark.parametrize("cls", ALL)
def test_conductance_window_is_g_min_to_g_max(cls):
    """Saturated by pulses, the device reads G_min (all down) and G_max (all up)."""
    model = cls(quiet(cls, **({"dw_min": 0.2} if cls is not NeuroSimDevice else {})))
    model.apply_pulse_train(-np.ones(2000))
    assert model.conductance()[0] == pytest.approx(20e-6, rel=1e-6)
    model.apply_pulse_train(np.ones(2000))
    assert model.conductance()[0] == pytest.approx(200e-6, rel=1e-6)


def test_compliance_writes_only_if_the_device_voltage_still_reaches_threshold():
    """At G = 20 µS, 1.5 V wants 30 µA. A 25 µA limit leaves 1.25 V (writes); 15 µA leaves 0.75 V (no write)."""
    for limit, writes in ((25e-6, True), (15e-6, False)):
        model = NeuroSimDevice(quiet(NeuroSimDevice))
        result = model.evolve(1.5, 1e-6, compliance=limit)
        assert result.limited[0] and result.current[0] == pytest.approx(limit, rel=1e-12)
        assert result.device_voltage[0] == pytest.approx(limit / 20e-6, rel=1e-12)
        assert bool(model.x[0, 0] > 20e-6) is writes


def test_series_resistance_divides_the_write_voltage():
    """20 µS behind 25 kΩ: V_dev = V_s/(1 + G·R_s) = V_s/1.5. 1.4 V does not write, 1.6 V does."""
    for v_s, writes in ((1.4, False), (1.6, True)):
        model = NeuroSimDevice(quiet(NeuroSimDevice))
        result = model.evolve(v_s, 1e-6, series_resistance=25e3)
        assert result.device_voltage[0] == pytest.approx(v_s / 1.5, rel=1e-12)
        assert result.energy[0] == pytest.approx(result.device_voltage[0] ** 2 * 20e-6 * 1e-6, rel=1e-12)
        assert bool(model.x[0, 0] > 20e-6) is writes


def test_closed_form_is_the_exact_segment_and_derivatives_are_zero():
    model = ExpStepDevice(quiet(ExpStepDevice))
    x0 = model.state()
    x1, i_mean = model.closed_form(np.array([1.5]), 1e-6, x0)
    assert np.array_equal(model.x, x0)                               # closed_form does not touch the model
    model.evolve(1.5, 1e-6)
    assert np.array_equal(model.x, x1)
    assert i_mean[0] == pytest.approx(1.5 * model.conductance(x0)[0])
    assert not np.any(model.derivatives(np.array([2.0]), model.x))


def test_soft_bounds_rejects_bounds_that_do_not_straddle_zero():
    with pytest.raises(ValueError):
        SoftBoundsDevice(SoftBoundsParams(w_min=0.0))
