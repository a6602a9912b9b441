"""Closed-loop protocols: forming and write-verify decide each next step from the last read."""
import h5py
import numpy as np
import pytest

from labsuite import Bench, Limits, run_protocol
from labsuite.errors import LimitError
from labsuite.protocols import Forming, WriteVerify
from labsuite.runner import RunState


def test_forming_stops_at_the_models_forming_voltage_under_compliance(tmp_path):
    """Stanford-PKU pristine cell (1 ms pulses, 2 mA limit) forms at 1.75 V; the ramp stops there."""
    with Bench.simulated(model="stanford-pku", seed=0) as bench:
        result = run_protocol(Forming(v_start="1.5 V", v_stop="2.5 V", v_step="10 mV", compliance="2 mA"), bench,
                              out_dir=tmp_path)
    f = result.figures
    assert f["formed"] == 1.0 and f["forming_voltage"] == pytest.approx(1.75, abs=0.011)
    assert f["resistance_initial"] > 10 * 50e3 > f["resistance_final"]
    assert f["steps"] == 26                                       # 1.50 V … 1.75 V, then no more pulses
    assert np.all(np.abs(result.samples["current"]) <= 2e-3 * (1 + 1e-6))
    with h5py.File(result.path, "r") as h5:
        assert h5["program"].attrs["stages"] == 27 and h5.attrs["status"] == "completed"
        assert h5["samples/train"][-1] == 26                      # train numbers run on across stages


def test_forming_that_never_reaches_the_target_says_so():
    """A 100 µA limit holds the pristine cell below its forming threshold (see docs/models/stanford_pku.md)."""
    with Bench.simulated(model="stanford-pku", seed=0) as bench:
        result = run_protocol(Forming(v_start="1.5 V", v_stop="1.7 V", v_step="50 mV", compliance="100 uA"),
                              bench, out_dir=None)
    assert result.figures["formed"] == 0.0 and np.isnan(result.figures["forming_voltage"])
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
    wv = WriteVerify(set_start=1.0, reset_start=-0.9, step=0.1, v_max=1.25)
    assert [wv.amplitude([1] * k) for k in (1, 2, 3, 4)] == pytest.approx([1.0, 1.1, 1.2, 1.25])
    assert wv.amplitude([1, 1, -1]) == pytest.approx(-0.9)
    assert wv.amplitude([1, 1, -1, -1]) == pytest.approx(-1.0)


def test_a_later_stage_over_the_bench_limit_is_refused_and_the_file_says_failed(tmp_path):
    """The ramp passes 2 V on its way to 3 V: that stage is refused before it is sent."""
    with Bench.simulated(seed=0, limits=Limits(max_voltage=10.0)) as bench:
        bench.limits = Limits(max_voltage=2.0)
        with pytest.raises(LimitError, match="2.5 V|v_stop"):
            run_protocol(Forming(v_start="1.9 V", v_stop="3 V", v_step="0.3 V", target_resistance=1.0),
                         bench, out_dir=tmp_path)
