"""Retention (τ, β, drift, STM → LTM) and I–V hysteresis (SET/RESET, ON/OFF, compliance, loop area),
on the simulated devices whose parameters the protocols must recover (docs/models/*.md)."""
import time

import numpy as np
import pytest

from labsuite import Bench, run_protocol
from labsuite.analysis.iv import analyze_loops, loop_area, split_cycle
from labsuite.analysis.retention import (fit_power_law, fit_stretched_exponential, power_law,
                                         stretched_exponential)
from labsuite.core.errors import InvalidParameter, ParameterError
from labsuite.protocols.iv import IVSweep, PulsedIV
from labsuite.protocols.retention import Retention
from labsuite.simulator.models import make_model
from labsuite.simulator.models.stanford_pku import StanfordPKUParams
from labsuite.simulator.playback import play


def device(name, seed=1, **params):
    return make_model(name, np.random.default_rng(seed), params=params)


# ---------------------------------------------------------------------------------------------
# Retention
# ---------------------------------------------------------------------------------------------
def test_stretched_exponential_and_power_law_fits_recover_synthetic_parameters():
    """Noisy (0.2 %) synthetic decays: τ = 2 s, β = 0.6 to 3 %; ν = 0.05 to 2 %; errors honest (< 4σ)."""
    rng = np.random.default_rng(3)
    t = np.geomspace(1e-3, 1e3, 60)
    g = stretched_exponential(t, 2.0, 0.6, 50e-6, 30e-6) * (1 + 0.002 * rng.standard_normal(t.size))
    fit = fit_stretched_exponential(t, g)
    assert fit.tau == pytest.approx(2.0, rel=0.03) and abs(fit.tau - 2.0) < 4 * fit.tau_err
    assert fit.beta == pytest.approx(0.6, rel=0.03) and abs(fit.beta - 0.6) < 4 * fit.beta_err
    assert fit.g_inf == pytest.approx(50e-6, rel=0.01)
    drift = fit_power_law(t, power_law(t, 0.05, 80e-6, 1e-3) * (1 + 0.002 * rng.standard_normal(t.size)))
    assert drift.nu == pytest.approx(0.05, rel=0.02) and drift.g1 == pytest.approx(80e-6, rel=0.01)


@pytest.mark.parametrize("seed", range(3))
def test_one_volatile_component_gives_its_tau_and_beta_1(seed):
    """multi-timescale with G_2 = 0: a single exponential of τ_1 = 20 ms. One 1.5 V, 100 µs pulse
    (h_1 = 0.096 < θ, nothing consolidates): the fit finds τ = 20 ms within 10 %, β = 1 ± 0.1, and
    G_∞ = G_min = 20 µS within 1 %."""
    proto = Retention(duration=1.0, points=40)
    samples = play(proto.program(), device("multi-timescale", seed, g_vol_2=0.0))
    f = proto.analyze(samples)
    assert f["tau"] == pytest.approx(20e-3, rel=0.10)
    assert f["beta"] == pytest.approx(1.0, abs=0.1)
    assert f["g_inf"] == pytest.approx(20e-6, rel=0.01)
    assert f["delta_g"] == pytest.approx(30e-6 * 0.0961, rel=0.05)        # G_1·δ_1 (docs/models/volatile.md)


def test_two_volatile_components_stretch_the_decay():
    """Defaults (τ = 20 ms and 300 ms): a sum of two exponentials is a stretched one, β < 0.8
    (measured 0.41), with τ between τ_1 and τ_2."""
    proto = Retention(duration=10.0, points=40)
    f = proto.analyze(play(proto.program(), device("multi-timescale")))
    assert f["beta"] < 0.8
    assert 20e-3 < f["tau"] < 300e-3


def test_more_repetitions_consolidate_more():
    """STM → LTM: the same 1.5 V, 100 µs pulse, once or ten times 10 ms apart. Once: nothing is
    retained after 10 s (|fraction| < 0.05). Ten times: h_2 passes θ, w = 0.098, so ΔG = 17.7 µS
    stays (docs/models/volatile.md; within 10 %), a retained fraction > 0.5 (measured 0.79). The
    same ten pulses 1 s apart (slower) leave nothing."""
    fractions, kept = {}, {}
    for pulses, period in ((1, 10e-3), (10, 10e-3), (10, 1.0)):
        proto = Retention(pulses=pulses, period=period, duration=10.0, points=30)
        f = proto.analyze(play(proto.program(), device("multi-timescale", 4)))
        fractions[pulses, period], kept[pulses, period] = f["retained_fraction"], f["g_end"] - f["g_base"]
    assert abs(fractions[1, 10e-3]) < 0.05
    assert fractions[10, 10e-3] > 0.5
    assert kept[10, 10e-3] == pytest.approx(17.7e-6, rel=0.10)
    assert abs(fractions[10, 1.0]) < 0.05


def test_one_hour_retention_runs_end_to_end_on_the_simulated_bench():
    """An hour of virtual time, 60 reads, through the driver and the simulated 2450: the reads land
    on the programmed log grid (to 1 µs or 1e-8), the last an hour after the write, and the device (fully
    volatile) has returned to its baseline. Wall time is printed, not asserted."""
    proto = Retention(duration=3600.0, points=60)
    with Bench.simulated(model="multi-timescale", seed=1) as bench:
        started = time.perf_counter()
        result = run_protocol(proto, bench, out_dir=None)
        wall = time.perf_counter() - started
    print(f"\none hour of retention: {wall:.3f} s of wall time")
    assert result.state.value == "completed" and result.samples.size == 61
    _, t, _ = proto.conductance_vs_time(result.samples)
    assert t == pytest.approx(proto.read_times(), rel=1e-8, abs=1e-6)   # the SMU holds 9 digits
    assert t[-1] == pytest.approx(3600.0, rel=1e-6)
    assert abs(result.figures["retained_fraction"]) < 0.05
    assert result.figures["beta"] < 0.8


def test_retention_program_respects_the_train_limits():
    """Reads never closer than read_time + 100 µs (the 2600B's shortest pulse); ≤ 63 segments per pattern, ≤ 31 reads per train;
    the last write pulse opens the first read train."""
    proto = Retention(pulses=5, duration=100.0, points=70, read_delay=1e-3, read_time=1e-3)
    program = proto.program()
    assert all(len(t.pattern) <= 63 for t in program.trains)
    assert [t.measurements_per_repeat * t.repeats for t in program.trains] == [1, 0, 31, 31, 8]
    assert program.trains[2].pattern[0].label == "write" and program.trains[1].repeats == 4
    starts = proto.read_starts()
    assert np.min(np.diff(starts)) >= 1.1e-3 - 1e-12
    assert starts[0] == 1e-3 and starts[-1] == pytest.approx(100.0)
    assert all(s.duration >= 100e-6 for t in program.trains for s in t.pattern)


def test_retention_parameters_are_checked():
    with pytest.raises(ParameterError, match="points = 200 is out of range: allowed 5 to 90"):
        Retention(duration=0.1, points=200)
    with pytest.raises(ParameterError, match="period"):
        Retention(pulses=3, width=1e-3, period=1e-3)
    with pytest.raises(ParameterError, match="duration"):
        Retention(read_delay=1.0, duration=0.5)


# ---------------------------------------------------------------------------------------------
# I–V
# ---------------------------------------------------------------------------------------------
P = StanfordPKUParams()
F_T = P.f_min * P.t_ox                                                     # 16.8 V


def threshold(g_nm):
    """|V| at which the gap g (nm) starts to move: F_min·t_ox/γ(g), γ = γ₀ − β(g/g₁)³."""
    return F_T / (P.gamma0 - P.beta * (g_nm * 1e-9 / P.g1) ** 3)


def test_staircase_on_stanford_pku_bench_is_bipolar_with_the_analytic_set_voltage():
    """A formed device (g_initial = g_max = 1.7 nm, the RESET state), 2 cycles of ±1.5 V in 20 mV,
    1 ms steps, 2 mA positive / 5 mA negative limit, end to end on the simulated bench.

    - SET on the positive branch at the first step ≥ F_min·t_ox/γ(1.7 nm) = 1.392 V, every cycle:
      within [−0.05 V, +1 step] (c2c noise of 0.02 nm moves the reset gap, 0.8 V/nm);
    - RESET on the negative branch between its onset at the 2 mA post-SET gap (−1.07 V) and the
      threshold of g_max (−1.392 V);
    - bipolar: ∮ I dV < 0 on the positive lobe (SET going out: counter-clockwise), > 0 on the
      negative one (RESET going out);
    - ON/OFF at 0.1 V > 10 (model: ≈ 50 after a 2 mA SET);
    - no positive reading above 2 mA (and the SET reaches it), no negative one above 5 mA."""
    proto = IVSweep(step=0.02, cycles=2, positive_compliance=2e-3, negative_compliance=5e-3)
    with Bench.simulated(model="stanford-pku", seed=2, model_params={"g_initial": "1.7 nm"}) as bench:
        result = run_protocol(proto, bench, out_dir=None)
    f = result.figures
    cycle, level, voltage, current = proto.loops(result.samples)
    per_cycle = analyze_loops(cycle, level, voltage, current, proto.read_voltage).cycles
    v_th = threshold(1.7)
    assert v_th == pytest.approx(1.392, abs=1e-3)
    for c in per_cycle:
        assert -0.05 <= c.v_set - v_th <= 0.02 + 1e-9
        assert -v_th <= c.v_reset <= -1.06
        assert c.area_positive < 0 < c.area_negative
    assert f["on_off_ratio"] > 10
    assert f["on_off_ratio"] == pytest.approx(50, rel=0.3)
    positive, negative = level > 0, level < 0
    assert np.max(np.abs(current[positive])) <= 2e-3 * (1 + 1e-9)
    assert np.max(np.abs(current[positive])) == pytest.approx(2e-3, rel=1e-6)
    assert np.max(np.abs(current[negative])) <= 5e-3


def test_each_polarity_has_its_own_compliance():
    """2 mA positive, 1 mA negative (playback): the positive branch clamps at 2 mA, the negative at
    1 mA (to 1e-9) — a limit below the RESET current (≈ 2 mA at −1.07 V) holds the device under
    its RESET threshold, so it stays ON: no RESET is reported and the loop closes on the LRS."""
    proto = IVSweep(step=0.02, cycles=1, positive_compliance=2e-3, negative_compliance=1e-3)
    program = proto.program()
    assert [s.compliance for t in program.trains for s in t.pattern] == [2e-3, 1e-3]
    samples = play(program, device("stanford-pku", g_initial=1.7e-9))
    _, level, _, current = proto.loops(samples)
    assert np.max(np.abs(current[level > 0])) == pytest.approx(2e-3, rel=1e-9)
    assert np.max(np.abs(current[level < 0])) == pytest.approx(1e-3, rel=1e-9)
    f = proto.analyze(samples)
    assert "v_set" in f and "v_reset" not in f


def test_loop_area_shrinks_with_faster_sweeps():
    """linear-ion-drift-joglekar, ±1.2 V in 50 mV steps: the enclosed area falls as the dwell per
    step falls (10 ms > 1 ms > 0.2 ms), and in the fast limit it is proportional to the sweep
    period (the state moves ∝ the charge): A(1 ms)/A(0.2 ms) = 5 within 10 % (measured 5.24)."""
    areas = []
    for dwell in (10e-3, 1e-3, 0.2e-3):
        proto = IVSweep(v_max=1.2, v_min=-1.2, step=0.05, dwell=dwell, cycles=1,
                        positive_compliance=10e-3, negative_compliance=10e-3)
        areas.append(proto.analyze(play(proto.program(), device("linear-ion-drift-joglekar")))["loop_area"])
    assert areas[0] > areas[1] > areas[2] > 0
    assert areas[1] / areas[2] == pytest.approx(5.0, rel=0.10)


def test_pulsed_sweep_reads_the_state_each_pulse_leaves():
    """stanford-pku, one cycle of 1 ms pulses, each read at 0.1 V: SET at the same analytic
    threshold (within [0, 1 step]); ON/OFF from the reads > 10. With 100 µs pulses (too short to
    measure) the reads alone give the SET voltage and no loop area is reported."""
    for width in (1e-3, 100e-6):
        proto = PulsedIV(step=0.02, cycles=1, width=width, positive_compliance=2e-3,
                         negative_compliance=5e-3)
        f = proto.analyze(play(proto.program(), device("stanford-pku", g_initial=1.7e-9)))
        assert 0 <= f["v_set"] - threshold(1.7) <= 0.02 + 1e-9
        assert f["on_off_ratio"] > 10
        assert ("loop_area" in f) == (width >= 200e-6)


def test_iv_program_shapes():
    """Equal limits: the whole run is one train of one measured segment; different limits: one
    train per half. Levels 0 → V_max → 0 → V_min → 0, or negative first with start_polarity = −1."""
    same = IVSweep(v_max=1.0, v_min=-0.5, step=0.25, cycles=2, read_voltage=0.25).program()
    assert len(same.trains) == 1 and len(same.trains[0].pattern) == 1
    one_cycle = [0.25, 0.5, 0.75, 1.0, 0.75, 0.5, 0.25, 0.0, -0.25, -0.5, -0.25, 0.0]
    assert same.trains[0].levels[:, 0] == pytest.approx(one_cycle * 2)
    split = IVSweep(v_max=1.0, v_min=-0.5, step=0.25, cycles=2, start_polarity=-1, read_voltage=0.25,
                    negative_compliance=2e-3).program()
    assert len(split.trains) == 4
    assert split.trains[0].levels[:, 0] == pytest.approx([-0.25, -0.5, -0.25, 0.0])
    assert split.trains[0].pattern[0].compliance == 2e-3 and split.trains[1].pattern[0].compliance == 1e-3
    assert all(len(t.pattern) <= 63 for t in PulsedIV(read_delay=1e-3, negative_compliance=2e-3).program().trains)


def test_iv_analysis_on_a_synthetic_loop():
    """Legs from the levels; a circle traversed counter-clockwise has ∮ I dV = −π r² (Green)."""
    legs = split_cycle(np.array([0.5, 1.0, 0.5, 0.0, -0.5, -1.0, -0.5, 0.0]))
    assert [list(x) for x in (legs.positive_out, legs.positive_back, legs.negative_out, legs.negative_back)] == \
        [[0, 1], [2, 3], [4, 5], [6, 7]]
    phi = np.linspace(0, 2 * np.pi, 2001)[:-1]
    assert loop_area(np.cos(phi), 1e-3 * np.sin(phi)) == pytest.approx(-np.pi * 1e-3, rel=1e-3)
    assert loop_area(np.cos(phi), -1e-3 * np.sin(phi)) == pytest.approx(np.pi * 1e-3, rel=1e-3)


def test_iv_plot_log_current_shows_magnitudes():
    proto = IVSweep(step=0.05, cycles=1)
    samples = play(proto.program(), device("linear-ion-drift-joglekar"))
    spec = proto.plot(samples, proto.analyze(samples), log_current=True)
    assert spec.log_y and spec.y_unit == "A" and np.all(spec.series[0].y >= 0)
    assert not proto.plot(samples, {}).log_y


@pytest.mark.parametrize("values, message", [
    ({"v_max": 0.0}, "v_max = 0 V is out of range"),
    ({"v_min": 0.5}, "v_min = 500 mV is out of range: allowed -210 V to 0 V"),
    ({"read_voltage": 2.0}, "read_voltage = 2 V is out of range"),
])
def test_iv_parameters_are_checked(values, message):
    with pytest.raises(ParameterError, match=message):
        IVSweep(**values)


def test_start_polarity_is_a_choice_of_plus_or_minus_one():
    with pytest.raises(InvalidParameter, match=r"^start_polarity: 0 is not a choice: choose \+1 or -1$"):
        IVSweep(start_polarity=0)
    assert IVSweep(start_polarity="-1").start_polarity == -1


def test_a_device_that_does_not_relax_reports_no_time_constant():
    """soft-bounds devices hold their state: retention gives the retained fraction, not a τ of
    '1 ms ± 3350 s' as the review found."""
    with Bench.simulated(model="soft-bounds", seed=1) as bench:
        f = run_protocol("retention", bench, {"duration": "10 s", "points": 8}, out_dir=None).figures
    assert "retained_fraction" in f and "tau" not in f and "beta" not in f
