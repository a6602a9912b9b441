"""Spike-rate-dependent plasticity on the ``multi-timescale`` model: only trains fast enough to drive a
volatile component over the consolidation threshold θ leave a lasting ΔG.

With the defaults (1.5 V, 100 µs: δ₁ ≈ δ₂ ≈ 0.096 per pulse, τ₁ = 20 ms, τ₂ = 300 ms, θ = 0.25),
h₂ peaks after N pulses at period T at δ₂(1 − aᴺ)/(1 − a), a = e^(−T/τ₂); for N = 10 that reaches θ
at f* = 6.92 Hz. Slower trains leave w = 0 exactly; faster ones consolidate.
"""
import numpy as np
import pytest
from scipy.optimize import brentq

from labsuite import Bench, run_protocol
from labsuite.analysis.srdp import half_max_rate, rate_response
from labsuite.core.errors import ParameterError
from labsuite.protocols.srdp import SpikeRate
from labsuite.simulator.models.multi_timescale import MultiTimescaleSynapse, MultiTimescaleSynapseParams
from labsuite.simulator.playback import play

RATES = {"rate_min": 1.0, "rate_max": 100.0, "rates": 7}        # 1, 2.15, 4.64 | 10, 21.5, 46.4, 100 Hz


def consolidation_onset(pulses: int = 10) -> float:
    """f* (Hz): the rate at which the larger volatile peak of an N-pulse train just reaches θ."""
    model = MultiTimescaleSynapse()
    delta = model.pulse_increments(1.5, 100e-6)
    tau, theta = np.array([model.params.tau_1, model.params.tau_2]), model.params.consolidation_threshold

    def peak(f):
        a = np.exp(-1.0 / (f * tau))
        return np.max(delta * (1 - a ** pulses) / (1 - a))
    return brentq(lambda f: peak(f) - theta, 0.1, 1000.0)


def test_half_max_rate_interpolates_on_a_log_rate_axis():
    f = np.array([1.0, 10.0, 100.0, 1000.0])
    dg = np.array([0.0, 2.0, 6.0, 8.0])            # half of 8 is 4: halfway (in log f) from 10 to 100 Hz
    assert half_max_rate(f, dg) == pytest.approx(np.sqrt(10 * 100))
    assert half_max_rate(f, -dg) == pytest.approx(np.sqrt(10 * 100))     # depression: same on |ΔG|
    assert np.isnan(half_max_rate(f, np.array([5.0, 6.0, 7.0, 8.0])))   # already above half: not bracketed
    resp = rate_response(f[::-1], dg[::-1])
    assert resp.delta_g_max == 8.0 and resp.rate_at_max == 1000.0 and list(resp.rate) == list(f)


def test_only_trains_faster_than_the_consolidation_onset_leave_a_lasting_change():
    onset = consolidation_onset()
    assert onset == pytest.approx(6.92, abs=0.01)
    model = MultiTimescaleSynapse(rng=np.random.default_rng(7))
    proto = SpikeRate(**RATES)
    rate, before, after = proto.changes(play(proto.program(), model))
    dg = after - before
    noise = 5 * np.sqrt(2) * 0.002 * 20e-6                          # 5σ of a difference of two reads at G_min
    assert np.all(np.abs(dg[rate < onset]) < noise)                 # measured: |ΔG| ≤ 0.025 µS
    assert np.all(dg[rate > onset] > 1e-6)                          # measured: 1.9 … 14.8 µS
    assert np.all(np.diff(dg) > -noise)                             # ΔG increases with rate
    figures = proto.analyze(play(proto.program(), MultiTimescaleSynapse(rng=np.random.default_rng(7))))
    assert onset < figures["half_max_rate"] < 30.0
    assert figures["rate_at_max"] == 100.0


def test_a_single_fast_train_leaves_the_documented_consolidation():
    """docs/models/volatile.md: ten pulses 10 ms apart leave ΔG ≈ 17.7 µS (w = 0.098) once the
    volatile parts have gone (noise-free device; measured 17.69 µS after the 3 s settle)."""
    proto = SpikeRate(rate_min=100.0, rate_max=100.0, rates=1)
    model = MultiTimescaleSynapse(MultiTimescaleSynapseParams(c2c_sigma=0.0, read_noise=0.0))
    figures = proto.analyze(play(proto.program(), model))
    assert figures["delta_g_max"] == pytest.approx(17.7e-6, rel=0.005)
    lasting = float(model.non_volatile_conductance()[0] - model.params.g_min)
    assert figures["delta_g_max"] == pytest.approx(lasting, rel=1e-4)      # the settle left no volatile part


def test_end_to_end_on_the_simulated_bench(tmp_path):
    proto = SpikeRate(**RATES)
    program = proto.program()
    assert len(program.trains) == 1 + 2 * 7
    assert program.trains[1].repeats == 10 and program.trains[1].period == pytest.approx(1.0)
    assert program.trains[-1].period == pytest.approx(proto.read_delay + proto.read_time)
    with Bench.simulated(model="multi-timescale", seed=3) as bench:
        result = run_protocol(proto, bench, out_dir=tmp_path)
    assert result.samples.size == 1 + 2 * 7 - 1 and result.path.exists()
    rate, before, after = proto.changes(result.samples)
    assert list(rate) == pytest.approx(list(np.geomspace(1, 100, 7)))
    dg = after - before
    assert np.all(np.diff(dg) > -0.3e-6) and dg[-1] > 10e-6 and abs(dg[0]) < 0.3e-6
    f = result.figures
    assert f["delta_g_fastest"] == pytest.approx(dg[-1]) and f["delta_g_slowest"] == pytest.approx(dg[0])
    assert f["g_initial"] == pytest.approx(20e-6, rel=0.01)
    spec = proto.plot(result.samples, f)
    assert spec.log_x and spec.x_unit == "Hz" and spec.y_unit == "S" and len(spec.series[0].x) == 7
    assert set(f) <= set(SpikeRate.figure_units)


@pytest.mark.parametrize("values, field", [
    ({"rate_max": "20 kHz"}, "rate_max"),                  # out of the declared range
    ({"width": "1 ms", "rate_max": "1 kHz"}, "rate_max"),  # the period cannot hold 1 ms + 50 µs
    ({"rate_min": 10, "rate_max": 5}, "rate_max"),
    ({"rate_min": 10, "rate_max": 10, "rates": 3}, "rate_max"),   # three rates need a span
    ({"read_voltage": 0}, "read_voltage"),
])
def test_inconsistent_parameters_name_the_field(values, field):
    with pytest.raises(ParameterError) as exc:
        SpikeRate(**values)
    assert exc.value.field == field
