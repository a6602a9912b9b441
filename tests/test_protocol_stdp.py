"""STDP: the window fit, the spike waveforms, and the protocol on a simulated synaptic memristor.

The physics of test 2 (``synaptic-memristor``, docs/models.md). Spikes: a peak of −a for t_p,
then a tail +r·a·e^(−(t − t_p)/τ_s) (``exponential`` with amplitude = −a). The device sees
V_pre(t) − V_post(t − Δt). For Δt > 0 the post spike's peak (+a across the device) lands on the
pre spike's tail, so during that one cell (t_p = one time step h) the device holds

    V = a + m·e^(−x/τ_s),   x = Δt − t_p,   m = r·a·(τ_s/h)(1 − e^(−h/τ_s))  (tail's mean over the cell)

and for Δt < 0 the mirror image, −V. With a = V_set = V_reset = 0.8 V a single spike reaches
the threshold but does not cross it (k(V_set) = 0: no change), every other part of the pair
stays below it, and only the overlap switches:

    Δw = ±(1 − w or w)·(1 − e^(−k·h)),   k = ν·(e^((V − V_set)/V₀) − 1) = ν·(e^y − 1),   y = m·e^(−x/τ_s)/V₀

so ΔG/G = (G_max − G_min)·Δw/G(w). To first order in y and k·h this is A·e^(−Δt/τ_s) with
A = (G_max − G_min)(1 − w)·ν·h·(m/V₀)·e^(t_p/τ_s)/G(w): the protocol should recover τ± = τ_s.
With m/V₀ = 0.18 and k·h ≤ 0.11 the second-order terms (e^y − 1 > y sharpens the window,
1 − e^(−kh) < kh flattens it) nearly cancel: the exact window above, fitted like the data, gives
τ = 0.98·τ_s, and the test checks that the protocol recovers τ± = τ_s within 10 % and A± within
10 % of the exact window's fit.
"""
from pathlib import Path

import numpy as np
import pytest

from labsuite import Bench, read_run, run_protocol
from labsuite.analysis.stdp import fit_stdp, stdp_window
from labsuite.core.errors import InvalidParameter, LimitError, ParameterError
from labsuite.core.program import PulseProgram
from labsuite.protocols.stdp import SpikeTiming
from labsuite.protocols.waveforms import (Biphasic, ExponentialTail, Rectangular, Tabulated, Triangular,
                                          discretize)
from labsuite.simulator.models import make_model
from labsuite.simulator.playback import play

# --- test 2's device and spikes -----------------------------------------------------------
TAU_S, STEP, PEAK, A, R = 250e-6, 50e-6, 50e-6, 0.8, 0.05
DEVICE = {"w_initial": 0.5, "rate_set": 1e4, "rate_reset": 1e4, "read_noise": 5e-4}
SPIKES = {"amplitude": -A, "width": PEAK + 4 * TAU_S, "peak_width": PEAK, "tail_ratio": R,
          "tail_tau": TAU_S, "dt_min": 100e-6, "dt_max": 1e-3, "points": 10, "time_step": STEP, "read_delay": 50e-3}


def expected_window(dt: np.ndarray) -> np.ndarray:
    """ΔG/G of one pair from w = 0.5, from the model's equations (module docstring)."""
    g_min, g_max, v0, nu, w = 20e-6, 200e-6, 0.2, DEVICE["rate_set"], DEVICE["w_initial"]
    m = R * A * TAU_S / STEP * -np.expm1(-STEP / TAU_S)
    y = m * np.exp(-(np.abs(dt) - PEAK) / TAU_S) / v0
    dw = -np.expm1(-nu * np.expm1(y) * STEP) * np.where(dt > 0, 1 - w, -w)
    return (g_max - g_min) * dw / (g_min + (g_max - g_min) * w)


def play_stdp(seed: int, device: dict | None = None, **params) -> tuple[SpikeTiming, np.ndarray]:
    proto = SpikeTiming(**{**SPIKES, **params})
    model = make_model("synaptic-memristor", np.random.default_rng(seed), params={**DEVICE, **(device or {})})
    return proto, play(proto.program(), model)


# --- 1. the analysis ------------------------------------------------------------------------
@pytest.mark.parametrize("a_plus, tau_plus, a_minus, tau_minus", [
    (0.80, 17e-3, 0.35, 34e-3),          # Bi & Poo 1998-like: strong, short LTP; weaker, longer LTD
    (0.05, 250e-6, 0.08, 400e-6),        # a device window, µs scale
])
def test_fit_recovers_window_from_noisy_synthetic_data_within_5_percent(a_plus, tau_plus, a_minus, tau_minus):
    rng = np.random.default_rng(3)
    scale = max(tau_plus, tau_minus)
    lags = np.linspace(0.05, 4, 16) * scale
    dt = np.tile(np.concatenate([lags, -lags]), 2)
    clean = stdp_window(dt, a_plus, tau_plus, a_minus, tau_minus)
    noisy = clean + 0.01 * max(a_plus, a_minus) * rng.standard_normal(dt.size)
    fit = fit_stdp(dt, noisy)
    for got, err, want in [(fit.a_plus, fit.a_plus_err, a_plus), (fit.tau_plus, fit.tau_plus_err, tau_plus),
                           (fit.a_minus, fit.a_minus_err, a_minus), (fit.tau_minus, fit.tau_minus_err, tau_minus)]:
        assert got == pytest.approx(want, rel=0.05)
        assert abs(got - want) < 4 * err               # the quoted uncertainty is honest
    assert fit.rms == pytest.approx(0.01 * max(a_plus, a_minus), rel=0.3)
    assert np.array_equal(fit.predict(dt), stdp_window(dt, fit.a_plus, fit.tau_plus, fit.a_minus, fit.tau_minus))


def test_fit_needs_both_branches():
    dt = np.array([1e-3, 2e-3, 3e-3, -1e-3, -2e-3])
    with pytest.raises(ValueError, match="at least 3 pairs"):
        fit_stdp(dt, stdp_window(dt, 0.1, 1e-3, 0.1, 1e-3))


# --- 2. the protocol on a simulated synaptic memristor (playback) --------------------------
def test_derived_window_is_exponential_in_tau_s():
    """The exact window of the module docstring, fitted like the data, has τ = τ_s within 3 %."""
    dt = np.concatenate([SpikeTiming(**SPIKES).delays(), -SpikeTiming(**SPIKES).delays()])
    fit = fit_stdp(dt, expected_window(dt))
    assert fit.tau_plus == pytest.approx(TAU_S, rel=0.03) and fit.tau_minus == pytest.approx(TAU_S, rel=0.03)
    assert fit.a_plus == pytest.approx(fit.a_minus, rel=1e-9)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_overlapping_spikes_give_hebbian_window_with_tau_of_the_spike_tail(seed):
    """Potentiation for Δt > 0, depression for Δt < 0, decaying with |Δt|; τ± = τ_s = 250 µs within
    10 % (measured over 12 seeds: within 5.7 %); A± within 10 % of the derived window."""
    proto, samples = play_stdp(seed, repeats=2)
    dt, g0, g1 = proto.pairs(samples)
    change = (g1 - g0) / g0
    assert dt.size == 2 * 2 * 10
    # sign: every pair whose expected change is above the noise (0.07 %) has that sign
    big = np.abs(expected_window(dt)) > 0.005
    assert np.all(np.sign(change[big]) == np.sign(dt[big])) and big.sum() >= 16
    # decay: the change at the three shortest |Δt| is > 5× that at the three longest
    lags = np.unique(np.abs(dt))
    for side in (1, -1):
        near = np.mean(change[np.isin(side * dt, lags[:3])])
        far = np.mean(change[np.isin(side * dt, lags[-3:])])
        assert side * near > 5 * abs(far)
    figures = proto.analyze(samples)
    derived = fit_stdp(dt, expected_window(dt))
    assert figures["tau_plus"] == pytest.approx(TAU_S, rel=0.10)
    assert figures["tau_minus"] == pytest.approx(TAU_S, rel=0.10)
    assert figures["a_plus"] == pytest.approx(derived.a_plus, rel=0.10)
    assert figures["a_minus"] == pytest.approx(derived.a_minus, rel=0.10)
    assert figures["potentiation_max"] > 0.05 and figures["depression_max"] < -0.05     # expected 6.3 %


def test_spikes_that_do_not_overlap_change_nothing():
    """Each spike alone stays at or below threshold: pairs 1.1–2 ms apart (spikes 1.05 ms long) leave G."""
    proto, samples = play_stdp(0, device={"c2c_sigma": 0.0, "read_noise": 0.0}, dt_min=1.1e-3, dt_max=2e-3)
    dt, g0, g1 = proto.pairs(samples)
    assert np.max(np.abs(g1 / g0 - 1)) < 1e-9
    assert proto.analyze(samples)["pairs"] == 20


def test_heating_memory_gives_stdp_on_the_thermal_model_in_playback():
    """thermal-second-order (Kim et al. 2015): a −1.0 V, 50 ns programming pulse and a −0.6 V, 500 ns
    heating pulse per spike (pre negative, post positive across the device, as in the paper).
    The pair's second spike acts on the first's heat, so its polarity sets the sign. At 50 ns steps
    the bench cannot time this (50 µs minimum); playback can. docs/models/iontronic_thermal.md:
    ±0.55 µs from w = 0.5 gives +48.9 % / −27.6 %."""
    proto = SpikeTiming(waveform="biphasic", amplitude=-1.0, peak_width=50e-9, width=550e-9,
                        tail_ratio=-0.6, time_step=50e-9, dt_min=550e-9, dt_max=600e-9, points=2, read_delay=20e-6)
    changes = []
    for train in proto.program().trains[:2]:                    # +0.55 µs, −0.55 µs, each on a fresh device
        model = make_model("thermal-second-order", np.random.default_rng(0), params={"w_initial": 0.5})
        g = play(PulseProgram((train,), proto.compliance), model)
        changes.append(g["current"][1] / g["current"][0] - 1)   # same read voltage: G ratio = I ratio
    assert proto.train_delays()[:2] == pytest.approx([550e-9, -550e-9])
    assert changes == pytest.approx([0.489, -0.276], abs=0.05)


# --- 3. end to end on the simulated bench -----------------------------------------------------
def test_bench_run_writes_a_run_file_that_analyzes_the_same(tmp_path):
    params = {**SPIKES, "points": 5, "dt_max": 500e-6}
    with Bench.simulated(seed=4, model_params=DEVICE) as bench:
        result = run_protocol(SpikeTiming(**params), bench, out_dir=tmp_path, device_id="S1")
    assert result.state.value == "completed" and result.samples.size == 2 * 2 * 5
    assert result.figures["a_plus"] > 0.04 and result.figures["a_minus"] > 0.04   # Hebbian
    assert result.figures["tau_plus"] == pytest.approx(TAU_S, rel=0.10)          # measured 0.94·τ_s
    # the hardware-timed bench and direct playback see the same device (same seed, same noise)
    proto = SpikeTiming(**params)
    model = make_model("synaptic-memristor", np.random.default_rng(4), params=DEVICE)
    played = proto.analyze(play(proto.program(), model))
    for name in ("a_plus", "tau_plus", "a_minus", "tau_minus", "potentiation_max", "depression_max"):
        assert played[name] == pytest.approx(result.figures[name], rel=1e-3)
    run = read_run(result.path)
    assert run.status == "completed" and run.attrs["protocol"] == "stdp"
    again = SpikeTiming(**run.parameters).analyze(run.samples)
    assert again == pytest.approx(result.figures)
    assert run.analysis["tau_plus"] == pytest.approx(result.figures["tau_plus"])
    spec = SpikeTiming(**params).plot(run.samples, again)
    assert spec.y_label == "ΔG/G (%)" and spec.x_unit == "s"
    assert np.max(spec.series[0].y) == pytest.approx(100 * result.figures["potentiation_max"])


def test_bench_refuses_a_time_step_it_cannot_time():
    proto = SpikeTiming(**{**SPIKES, "time_step": 10e-6, "peak_width": 10e-6, "dt_min": 20e-6, "dt_max": 100e-6,
                           "width": 200e-6, "points": 3})
    with Bench.simulated(seed=0) as bench, pytest.raises(
            LimitError, match=r"time_step = 10 µs is shorter than the Keithley 2450 SourceMeter can time \(50 µs\)"):
        run_protocol(proto, bench, out_dir=None)


# --- 4. waveforms and a user-defined spike from a file -------------------------------------
def write_csv(path: Path, t: np.ndarray, v: np.ndarray, header: str = "t [s], V [V]") -> Path:
    lines = ["# a spike", header] + [f"{a:.9g}, {b:.9g}" for a, b in zip(t, v)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_spike_from_a_csv_file_plays_like_the_built_in_shape(tmp_path):
    """The exponential spike written to a file (1 µs points, a vertical edge at t_p) gives pair
    levels within 1 mV of the built-in shape and the same window."""
    t = np.concatenate([[0.0], np.arange(0, 1001) * 1e-6 + PEAK])
    built_in = ExponentialTail(-A, PEAK + 4 * TAU_S, PEAK, R, TAU_S)
    v = np.concatenate([[-A], built_in.sample(t[1:-1] + 1e-12), [built_in.sample(t[-1] - 1e-12)]])
    v[1] = -A            # the edge: last point of the peak, then the tail at the same time
    t = np.insert(t, 1, PEAK)
    v = np.insert(v, 2, R * A)
    path = write_csv(tmp_path / "spike.csv", t, v)
    from_file = SpikeTiming(waveform=str(path), **SPIKES)
    builtin = SpikeTiming(**SPIKES)
    for dt in (100e-6, -400e-6, 1e-3):
        a, b = from_file.pair_segments(dt), builtin.pair_segments(dt)
        assert [s.duration for s in a] == pytest.approx([s.duration for s in b])
        assert np.max(np.abs(np.array([s.level for s in a]) - [s.level for s in b])) < 1e-3
    model = make_model("synaptic-memristor", np.random.default_rng(0), params=DEVICE)
    figures = from_file.analyze(play(from_file.program(), model))
    assert figures["tau_plus"] == pytest.approx(TAU_S, rel=0.10) and figures["a_plus"] > 0.07   # derived 9.4 %


def test_csv_rectangle_with_vertical_edges_matches_rectangular(tmp_path):
    path = write_csv(tmp_path / "rect.csv", np.array([0, 0, 200e-6, 200e-6]), np.array([0, 0.5, 0.5, 0]))
    spike = Tabulated.from_csv(path)
    assert discretize(spike, 50e-6) == discretize(Rectangular(0.5, 200e-6), 50e-6)
    assert len(discretize(spike, 50e-6)) == 1
    bad = write_csv(tmp_path / "bad.csv", np.array([0, 2e-4, 1e-4]), np.array([0, 1, 0]))
    with pytest.raises(InvalidParameter, match="times must not decrease"):
        Tabulated.from_csv(bad)
    with pytest.raises(InvalidParameter, match="is not a file"):
        SpikeTiming(waveform=str(tmp_path / "missing.csv"))


def test_a_csv_waveform_that_is_not_text_is_refused_naming_the_file(tmp_path):
    """A binary or non-UTF-8 file given as the waveform is the user's mistake, said in one line,
    not an unexpected error."""
    path = tmp_path / "scope.csv"
    path.write_bytes(b"\xff\xfe\x00t,V\n")
    with pytest.raises(InvalidParameter, match=r"waveform: scope.csv: cannot be read as text \(UTF-8\)"):
        SpikeTiming(waveform=str(path))


def test_shapes_and_discretization():
    t = np.array([0, 25e-6, 50e-6, 100e-6, 150e-6, 199e-6, 200e-6])
    assert Rectangular(1, 200e-6).sample(t) == pytest.approx([1, 1, 1, 1, 1, 1, 0])
    assert Triangular(1, 200e-6).sample(t) == pytest.approx([0, 0.25, 0.5, 1, 0.5, 0.01, 0])
    assert Biphasic(1, 200e-6, 50e-6, 0.5).sample(t) == pytest.approx([1, 1, -0.5, -0.5, -0.5, -0.5, 0])
    tail = ExponentialTail(-0.8, 1.05e-3, 50e-6, 0.5, 250e-6)
    segments = discretize(tail, 50e-6)
    assert len(segments) == 21 and all(s.duration == pytest.approx(50e-6) for s in segments)
    # each cell holds the mean: volt-seconds kept; ∫V dt = −0.8·50 µs + 0.4·τ(1 − e^(−4))
    area = sum(s.level * s.duration for s in segments)
    assert area == pytest.approx(-0.8 * 50e-6 + 0.4 * 250e-6 * -np.expm1(-4), rel=1e-5)
    # a pair: equal neighbours merge (the 0 V gap between spikes is one segment)
    pair = discretize(Rectangular(1, 100e-6) - Rectangular(-1, 100e-6).shifted(400e-6), 50e-6)
    assert [(s.level, round(s.duration * 1e6)) for s in pair] == [(1, 100), (0, 300), (1, 100)]
    assert [s.label for s in pair] == ["spike", "idle", "spike"]


def test_opposite_unipolar_spikes_add_where_they_overlap():
    proto = SpikeTiming(waveform="rectangular", post_waveform=Rectangular(-0.5, 300e-6), amplitude=0.5,
                        width=300e-6, time_step=50e-6, dt_min=100e-6, dt_max=200e-6, points=2)
    levels = [(round(s.level, 9), round(s.duration * 1e6)) for s in proto.pair_segments(100e-6)]
    assert levels == [(0.5, 100), (1.0, 200), (0.5, 100)]


def test_program_sweeps_both_signs_alternately_and_fits_the_pattern():
    proto = SpikeTiming(**{**SPIKES, "repeats": 2})
    assert proto.train_delays()[:4] == pytest.approx([100e-6, -100e-6, 200e-6, -200e-6])
    program = proto.program()
    assert len(program.trains) == 40
    assert max(len(t.pattern) for t in program.trains) <= 63
    assert all(t.pattern[0].measure and t.pattern[-1].measure and t.pattern[-2].level == 0 for t in program.trains)
    assert min(s.duration for t in program.trains for s in t.pattern) == pytest.approx(50e-6)


@pytest.mark.parametrize("params, message", [
    ({"width": 3e-3, "dt_max": 3e-3, "time_step": 50e-6}, r"time_step = 50 µs .* needs \d+ segments"),
    ({"dt_min": 100e-6, "dt_max": 300e-6, "points": 8, "time_step": 100e-6}, "points = 8 is out of range"),
    ({"dt_max": 100e-6, "dt_min": 200e-6}, "dt_max = 100 µs is out of range: allowed at least 200 µs"),
    ({"read_voltage": 0}, "read_voltage"),
    ({"peak_width": 3e-3}, "peak_width: .* must be shorter than width"),
])
def test_parameters_that_cannot_work_are_refused(params, message):
    with pytest.raises((ParameterError, InvalidParameter), match=message):
        SpikeTiming(**params)


def test_unknown_waveform_name_lists_the_choices():
    with pytest.raises(InvalidParameter, match="waveform: .gaussian. is not a choice: choose rectangular, triangular, biphasic or exponential, or a .csv file"):
        SpikeTiming(waveform="gaussian")


def test_a_window_buried_in_noise_is_reported_as_not_determined():
    """Pure noise has no τ: the fit refuses instead of returning a bound as a figure of merit."""
    from labsuite.analysis.stdp import fit_stdp

    rng = np.random.default_rng(4)
    dt = np.concatenate([-np.geomspace(1e-4, 1e-3, 10), np.geomspace(1e-4, 1e-3, 10)])
    with pytest.raises(ValueError, match="not determined"):
        fit_stdp(dt, 1e-3 * rng.standard_normal(dt.size))


def test_a_tiny_time_step_is_refused_at_once_not_after_gigabytes():
    """Checked from the pair's span before any sampling (the review measured 7.8 GB before the
    old refusal at time_step = 1 ns)."""
    with pytest.raises(ParameterError, match=r"time_step = 1 ns .* at least 60 ns .* 6e\+06 cells"):
        SpikeTiming(time_step="1 ns")
