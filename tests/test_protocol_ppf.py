"""Paired-pulse facilitation: the index A₂/A₁, the double-exponential fit, and the protocol on the
``multi-timescale`` model, whose PPF is exactly 1 + C₁e^(−Δt/τ₁) + C₂e^(−Δt/τ₂) (τ₁ = 20 ms,
τ₂ = 300 ms, C from ``paired_pulse_coefficients``)."""
import numpy as np
import pytest

from labsuite import Bench, run_protocol
from labsuite.analysis.ppf import double_exponential, fit_double_exponential, ppf_index, single_exponential
from labsuite.core.errors import ParameterError
from labsuite.protocols.ppf import PairedPulse
from labsuite.simulator.models.multi_timescale import MultiTimescaleSynapse, MultiTimescaleSynapseParams
from labsuite.simulator.playback import play
from labsuite.traffic import TrafficLog

TAU = (20e-3, 300e-3)                                  # the model's defaults
QUIET = MultiTimescaleSynapseParams(c2c_sigma=0.0, read_noise=0.0)
# a finer grid than the defaults, as one would use to separate two time constants
DENSE = {"intervals": 16, "interval_min": 500e-6, "repeats": 8}


def coefficients(model=None):
    return (model or MultiTimescaleSynapse()).paired_pulse_coefficients(1.5, 100e-6)


def test_ppf_index_is_the_ratio_of_mean_responses_over_the_baseline():
    base = np.array([[10.0, 11.0], [10.0, 10.0]])
    g1, g2 = base + np.array([[1.0, 3.0], [2.0, 2.0]]), base + np.array([[3.0, 3.0], [2.0, 1.0]])
    assert ppf_index(base, g1, g2) == pytest.approx(np.array([[3.0, 1.0], [1.0, 0.5]]))
    # ⟨A₂⟩/⟨A₁⟩ over the repeats (ratio of means, not mean of ratios: 3/2 = 1.5, not (3 + 1)/2)
    assert ppf_index(base, g1, g2, axis=1) == pytest.approx([1.5, 0.75])


def test_fit_recovers_a_noisy_synthetic_double_exponential_and_honest_errors():
    rng = np.random.default_rng(3)
    dt = np.geomspace(1e-3, 2.0, 20)
    y = double_exponential(dt, 0.8, 15e-3, 0.4, 0.5) + 0.005 * rng.standard_normal(dt.size)
    fit = fit_double_exponential(dt, y)
    assert fit.terms == 2
    assert (fit.tau1, fit.tau2) == (pytest.approx(15e-3, rel=0.05), pytest.approx(0.5, rel=0.05))
    assert (fit.c1, fit.c2) == (pytest.approx(0.8, abs=0.02), pytest.approx(0.4, abs=0.02))
    assert abs(fit.tau1 - 15e-3) < 4 * fit.tau1_err and abs(fit.tau2 - 0.5) < 4 * fit.tau2_err


def test_fit_falls_back_to_one_exponential_when_one_suffices():
    rng = np.random.default_rng(4)
    dt = np.geomspace(1e-3, 1.0, 16)
    y = single_exponential(dt, 0.5, 40e-3) + 0.003 * rng.standard_normal(dt.size)
    fit = fit_double_exponential(dt, y)
    assert fit.terms == 1 and fit.c2 == 0 and np.isnan(fit.tau2)
    assert fit.tau1 == pytest.approx(40e-3, rel=0.05) and fit.c1 == pytest.approx(0.5, rel=0.05)


def test_noise_free_device_gives_its_exact_time_constants_and_coefficients():
    """τ within 1 % and C within 1 % of paired_pulse_coefficients (measured: τ₂ −0.5 %, from the
    0.1 % of the previous pair left after 2 s of rest; C biased ~0.3 % by the 200 µs read average)."""
    model = MultiTimescaleSynapse(QUIET)
    proto = PairedPulse(intervals=16, interval_min=500e-6, repeats=1)
    figures = proto.analyze(play(proto.program(), model))
    c = coefficients(model)
    assert figures["ppf_terms"] == 2
    assert figures["tau1"] == pytest.approx(TAU[0], rel=0.01)
    assert figures["tau2"] == pytest.approx(TAU[1], rel=0.01)
    assert (figures["c1"], figures["c2"]) == (pytest.approx(c[0], rel=0.01), pytest.approx(c[1], rel=0.01))
    # PPF at the shortest gap is the model's exact value 1 + Σ C_i e^(−Δt/τ_i)
    assert figures["ppf_max"] == pytest.approx(1 + c @ np.exp(-500e-6 / np.array(TAU)), rel=1e-3)
    # A₁ = Σ G_i δ_i
    assert figures["a1"] == pytest.approx(np.array([30e-6, 15e-6]) @ model.pulse_increments(1.5, 100e-6), rel=0.01)


@pytest.mark.parametrize("seed", [2, 3, 4])
def test_with_read_noise_and_c2c_repeats_recover_both_time_constants_within_10_percent(seed):
    """Default noise (0.2 % read, 2 % c2c); 16 intervals × 8 pairs: τ, C within 10 % and within
    4σ of their quoted errors (over 20 seeds the worst τ error was 6.6 %)."""
    model = MultiTimescaleSynapse(rng=np.random.default_rng(seed))
    proto = PairedPulse(**DENSE)
    figures = proto.analyze(play(proto.program(), model))
    c = coefficients(model)
    assert figures["ppf_terms"] == 2
    for i in (1, 2):
        tau, err = figures[f"tau{i}"], figures[f"tau{i}_err"]
        assert tau == pytest.approx(TAU[i - 1], rel=0.10)
        assert abs(tau - TAU[i - 1]) < 4 * err
        assert figures[f"c{i}"] == pytest.approx(c[i - 1], rel=0.10)


def test_end_to_end_on_the_simulated_bench(tmp_path):
    proto = PairedPulse(**DENSE)
    program = proto.program()
    # one train per interval; a pair per repeat; the gap holds the first read
    assert len(program.trains) == 16
    dts = proto.interval_values()
    for train, dt in zip(program.trains, dts):
        labels = [s.label for s in train.pattern]
        assert labels == ["read", "write", "read", "idle", "write", "read", "rest"]
        assert train.repeats == 8
        assert sum(s.duration for s in train.pattern[2:4]) == pytest.approx(dt)
    with Bench.simulated(model="multi-timescale", seed=1) as bench:
        result = run_protocol(proto, bench, out_dir=tmp_path)
    assert result.samples.size == 16 * 8 * 3 and result.path.exists()
    figures = result.figures
    c = coefficients()
    assert figures["tau1"] == pytest.approx(TAU[0], rel=0.10)
    assert figures["tau2"] == pytest.approx(TAU[1], rel=0.10)
    assert (figures["c1"], figures["c2"]) == (pytest.approx(c[0], rel=0.10), pytest.approx(c[1], rel=0.10))
    assert figures["ppf_max"] == pytest.approx(1.98, abs=0.03)            # facilitation near 2 at 0.5 ms
    spec = proto.plot(result.samples, figures)
    assert spec.log_x and spec.y_unit == "%" and spec.x_unit == "s"
    assert spec.series[0].y[0] == pytest.approx(100 * figures["ppf_max"])
    assert spec.series[1].style == "fit"
    assert set(figures) <= set(PairedPulse.figure_units)


@pytest.mark.parametrize("generator", ["keysight33500", "tektronixafg31000"])
@pytest.mark.parametrize("smu", ["keithley2450", "keysightb2900"])
def test_on_a_generator_bench_both_time_constants_within_10_percent(smu, generator):
    """Pairs 500 µs apart with a read between the pulses are beyond bus-triggered bursts: the
    SMU's sequencer (the 2450's trigger model, the B2900's list sweeps on its 1 µs grid) plays every
    pair of the run, so the facilitation is measured as on the SMU alone (same definition, same read
    after each pulse) and recovers τ₁, τ₂ and C."""
    with Bench.simulated(model="multi-timescale", seed=1, smu=smu, pulse_generator=generator,
                         pulse_series_resistance=2e3) as bench:
        traffic = TrafficLog.attach(bench.pulse_generator)
        figures = run_protocol(PairedPulse(**DENSE), bench, out_dir=None).figures
    assert not any("*TRG" in m for m in traffic.sent())
    c = coefficients()
    assert figures["ppf_terms"] == 2
    assert figures["tau1"] == pytest.approx(TAU[0], rel=0.10)
    assert figures["tau2"] == pytest.approx(TAU[1], rel=0.10)
    assert (figures["c1"], figures["c2"]) == (pytest.approx(c[0], rel=0.10), pytest.approx(c[1], rel=0.10))


def test_an_interval_shorter_than_the_read_is_refused_before_anything_is_sent(tmp_path):
    with Bench.simulated(model="multi-timescale", seed=0) as bench:
        traffic = TrafficLog.attach(bench.smu)
        # 1 ms read + 50 µs at 0 V must fit in the gap
        with pytest.raises(ParameterError, match=r"interval_min = 500 µs is out of range: allowed at least 1.05 ms"):
            run_protocol(PairedPulse(interval_min="500 us", read_time="1 ms"), bench, out_dir=tmp_path)
        # below any read the instrument can take (200 µs + 50 µs)
        with pytest.raises(ParameterError, match=r"interval_min = 100 µs is out of range: allowed 250 µs to"):
            PairedPulse(interval_min="100 us")
        assert traffic.entries == [] and list(tmp_path.iterdir()) == []
    assert PairedPulse(interval_min="1.05 ms", read_time="1 ms").program().trains[0].pattern[3].duration \
        == pytest.approx(50e-6)


@pytest.mark.parametrize("values, field", [
    ({"interval_max": "1 s", "rest": "0.5 s"}, "rest"),
    ({"interval_min": "10 ms", "interval_max": "5 ms"}, "interval_max"),
    ({"interval_min": "10 ms", "interval_max": "10 ms", "intervals": 4}, "interval_max"),   # four need a span
    ({"read_voltage": 0}, "read_voltage"),
])
def test_inconsistent_parameters_name_the_field(values, field):
    with pytest.raises(ParameterError) as exc:
        PairedPulse(**values)
    assert exc.value.field == field


def test_a_plateau_is_fitted_not_mistaken_for_a_slow_second_term():
    """PPF = 1.2 + 0.5·e^(−Δt/10 ms) (a lasting step per pulse), 0.5 % noise: the fit finds the
    plateau and τ, with no invented second exponential."""
    from labsuite.analysis.ppf import fit_double_exponential

    rng = np.random.default_rng(5)
    dt = np.geomspace(1e-3, 2.0, 14)
    ppf = (1.2 + 0.5 * np.exp(-dt / 0.01)) * (1 + 0.005 * rng.standard_normal(dt.size))
    fit = fit_double_exponential(dt, ppf)
    assert fit.terms == 1
    assert fit.baseline == pytest.approx(1.2, abs=0.01)
    assert fit.tau1 == pytest.approx(0.01, rel=0.05) and fit.c1 == pytest.approx(0.5, rel=0.05)


def test_relaxing_devices_keep_the_fixed_baseline():
    """Pure volatile facilitation (1 + C·e^(−Δt/τ), noise 0.5 %): no plateau is fitted."""
    from labsuite.analysis.ppf import fit_double_exponential

    rng = np.random.default_rng(2)
    dt = np.geomspace(1e-3, 2.0, 14)
    ppf = (1 + 0.8 * np.exp(-dt / 0.03)) * (1 + 0.005 * rng.standard_normal(dt.size))
    fit = fit_double_exponential(dt, ppf)
    assert fit.baseline == 1.0 and fit.terms == 1 and fit.tau1 == pytest.approx(0.03, rel=0.05)


def test_interleaved_order_keeps_a_drifting_device_from_posing_as_a_slow_decay():
    """synaptic-memristor (one volatile τ = 5 ms; each pulse also leaves a lasting step, so the device
    drifts over the sweep): ascending order fits a spurious slow second term; interleaved order
    plays short and long Δt alike through the drift and finds one term near 5 ms."""
    from labsuite import Bench, run_protocol

    params = {"interval_min": "2 ms", "interval_max": "1 s", "intervals": 12, "repeats": 4}
    figures = {}
    for order in ("ascending", "interleaved"):
        with Bench.simulated(seed=1, model_params={"c2c_sigma": 0}) as bench:
            figures[order] = run_protocol(PairedPulse(order=order, **params), bench, out_dir=None).figures
    assert figures["ascending"]["ppf_terms"] == 2 and figures["ascending"]["tau2"] > 0.1
    f = figures["interleaved"]
    assert f["ppf_terms"] == 1 and "tau2" not in f
    assert abs(f["tau1"] - 5e-3) < 2 * f["tau1_err"]
    assert PairedPulse(order="interleaved", intervals=8).play_order()[:3] == pytest.approx(
        PairedPulse(intervals=8).interval_values()[[0, 4, 2]])


def test_a_device_without_short_term_memory_reports_no_decay():
    """g_volatile = 0: the pulses only leave lasting steps. PPF is measured, but no τ is invented
    (the review found τ1 = 20 s ± 196 s reported for intervals up to 1 s)."""
    from labsuite import Bench, run_protocol

    with Bench.simulated(seed=1, model_params={"g_volatile": 0}) as bench:
        f = run_protocol("ppf", bench, {"intervals": 8, "repeats": 2}, out_dir=None).figures
    assert "ppf_max" in f and "tau1" not in f and "c1" not in f
