"""Closed-loop protocols: forming and write-verify decide each next step from the last read."""
import h5py
import numpy as np
import pytest

from labsuite import Bench, Limits, run_protocol
from labsuite.core.errors import LimitError
from labsuite.core.events import RunObserver, RunState
from labsuite.protocols import Forming, WriteVerify


def test_forming_stops_at_the_models_forming_voltage_under_compliance(tmp_path):
    """Stanford-PKU pristine cell (1 ms pulses, 2 mA limit) forms at 1.75 V; the ramp stops there."""
    with Bench.simulated(model="stanford-pku", seed=0) as bench:
        result = run_protocol(Forming(start_amplitude="1.5 V", stop_amplitude="2.5 V", amplitude_step="10 mV", compliance="2 mA"), bench,
                              out_dir=tmp_path)
    f = result.figures
    assert f["formed"] == 1.0 and f["forming_voltage"] == pytest.approx(1.75, abs=0.011)
    assert f["resistance_initial"] > 10 * 50e3 > f["resistance_final"]
    assert f["steps"] == 26                                       # 1.50 V … 1.75 V, then no more pulses
    assert np.all(np.abs(result.samples["current"]) <= 2e-3 * (1 + 1e-6))
    with h5py.File(result.path, "r") as h5:
        assert h5["program"].attrs["stages"] == 27 and h5.attrs["status"] == "completed"
        assert h5["samples"][-1]["train"] == 26                      # train numbers run on across stages


def test_forming_that_never_reaches_the_target_says_so():
    """A 100 µA limit holds the pristine cell below its forming threshold (see docs/models/stanford_pku.md)."""
    with Bench.simulated(model="stanford-pku", seed=0) as bench:
        result = run_protocol(Forming(start_amplitude="1.5 V", stop_amplitude="1.7 V", amplitude_step="50 mV", compliance="100 uA"),
                              bench, out_dir=None)
    assert result.figures["formed"] == 0.0 and "forming_voltage" not in result.figures
    assert result.figures["steps"] == 5


@pytest.mark.parametrize("target", [60e-6, 150e-6])
def test_write_verify_converges_to_the_target_within_tolerance(target):
    with Bench.simulated(seed=3, model_params={"w_initial": 0.4}) as bench:
        result = run_protocol(WriteVerify(target=target, tolerance=0.02), bench, out_dir=None)
    f = result.figures
    assert f["converged"] == 1.0 and abs(f["relative_error"]) <= 0.02
    assert f["final_conductance"] == pytest.approx(target, rel=0.02)
    g = result.samples["current"] / result.samples["voltage"]
    assert np.all(np.abs(g[:-1] / target - 1) > 0.02)               # it stopped at the first read inside


def test_write_verify_amplitudes_step_up_and_restart_on_a_direction_change():
    wv = WriteVerify(set_amplitude=1.0, reset_amplitude=-0.9, amplitude_step=0.1, max_amplitude=1.25)
    assert [wv.amplitude([1] * k) for k in (1, 2, 3, 4)] == pytest.approx([1.0, 1.1, 1.2, 1.25])
    assert wv.amplitude([1, 1, -1]) == pytest.approx(-0.9)
    assert wv.amplitude([1, 1, -1, -1]) == pytest.approx(-1.0)


def test_a_ramp_whose_end_passes_the_bench_limit_is_refused_before_anything_is_sent(tmp_path):
    """stop_amplitude = 3 V on a 2 V bench: refused naming stop_amplitude, with no file and no byte sent."""
    from labsuite.traffic import TrafficLog

    with Bench.simulated(seed=0, limits=Limits(max_voltage=2.0)) as bench:
        traffic = TrafficLog.attach(bench.smu)
        with pytest.raises(LimitError, match=r"stop_amplitude = 3 V .* -2 V to 2 V"):
            run_protocol(Forming(start_amplitude="1.9 V", stop_amplitude="3 V", amplitude_step="0.3 V"), bench, out_dir=tmp_path)
        assert traffic.entries == [] and list(tmp_path.iterdir()) == []


def test_a_stage_refused_mid_run_leaves_the_file_marked_failed(tmp_path):
    """The bench limit tightens while forming runs: the next stage is refused before it is sent,
    and the file keeps the stages already measured, marked failed."""
    import h5py

    class Tighten(RunObserver):
        def on_finish(self, state, error):
            bench.limits = Limits(max_voltage=1.55)

    with Bench.simulated(model="stanford-pku", seed=0) as bench:
        with pytest.raises(LimitError, match=r"\|level\| = 1.6 V"):
            run_protocol(Forming(start_amplitude="1.5 V", stop_amplitude="2 V", amplitude_step="0.1 V", compliance="2 mA"), bench,
                         out_dir=tmp_path, observers=[Tighten()])
    (path,) = tmp_path.glob("*.h5")
    with h5py.File(path, "r") as f:
        assert f.attrs["status"] == "failed" and "max_voltage" in f.attrs["error"]
        assert f["samples"].shape[0] >= 2


def test_a_closed_loop_run_stays_running_between_stages(tmp_path):
    """Each stage's Runner finishes, but the run does not: a reader (or a crash) between stages
    sees "running"; only after the last stage does the file say "completed"."""
    seen = []

    class StatusBetweenStages(RunObserver):
        def on_start(self, runner):
            for path in tmp_path.glob("*.h5"):
                with h5py.File(path, "r", swmr=True) as f:
                    seen.append(f.attrs["status"])
    with Bench.simulated(model="stanford-pku", seed=0) as bench:
        result = run_protocol(Forming(start_amplitude="1.5 V", stop_amplitude="1.6 V", amplitude_step="50 mV", compliance="2 mA"), bench,
                              out_dir=tmp_path, observers=[StatusBetweenStages()])
    assert len(seen) >= 2 and set(seen) == {"running"}
    with h5py.File(result.path, "r") as f:
        assert f.attrs["status"] == "completed"


@pytest.mark.parametrize("protocol", [Forming(), WriteVerify()])
@pytest.mark.parametrize("reads", [0, 1, 2, 3])
def test_closed_loop_plots_draw_with_no_read_one_read_or_one_pulse(protocol, reads):
    """The live plot is drawn before the first read and after each: every series has as many x as y."""
    from labsuite.core.program import SAMPLE_DTYPE
    samples = np.zeros(reads, SAMPLE_DTYPE)
    samples["voltage"], samples["current"] = 0.1, np.linspace(1e-6, 1e-4, reads)
    spec = protocol.plot(samples, {})
    for series in spec.series:
        assert np.asarray(series.x).size == np.asarray(series.y).size
    assert np.asarray(spec.series[0].x).size == max(reads - (protocol.name == "forming"), 0)
