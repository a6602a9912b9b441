"""labsuite resim: a stored run re-run on a simulated twin; fitted, the twin reproduces the run."""
import json
import shutil

import h5py
import pytest

from labsuite import Bench, run_protocol
from labsuite.cli import main
from labsuite.core.errors import InvalidParameter
from labsuite.twin import resimulate


@pytest.fixture(scope="module")
def run_file(tmp_path_factory):
    out = tmp_path_factory.mktemp("measured")
    with Bench.simulated(seed=3, model_params={"g_max": "150 uS", "rate_set": 25}) as bench:
        return run_protocol("potentiation", bench, {"pulses": 30}, out_dir=out).path


def test_a_fitted_twin_reproduces_the_runs_figures_an_unfitted_one_does_not(run_file):
    plain = resimulate(run_file, model="synaptic-memristor")
    fitted = resimulate(run_file, model="synaptic-memristor", fit=True)
    measured = plain.measured["delta_g"]
    assert abs(plain.simulated.figures["delta_g"] / measured - 1) > 0.05
    assert fitted.simulated.figures["delta_g"] == pytest.approx(measured, rel=0.02)
    assert fitted.model_params["g_max"] == pytest.approx(150e-6, rel=0.03)
    assert fitted.fit_relative_rms < 0.01


def test_a_simulated_run_resimulates_with_its_own_device_and_seed(run_file):
    """Without --model the twin is the run's own simulated device: the same figures exactly."""
    twin = resimulate(run_file)
    assert twin.simulated.figures == pytest.approx(twin.measured)


def test_cli_resim_json_and_plot(run_file, tmp_path, capsys):
    assert main(["resim", str(run_file), "--model", "synaptic-memristor", "--json", "--plot",
                 str(tmp_path / "cmp.png")]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["model"] == "synaptic-memristor" and "delta_g" in summary["figures"]
    assert summary["figure_units"]["delta_g"] == "S" and summary["figure_units"]["dynamic_range"] == ""
    assert (tmp_path / "cmp.png").read_bytes().startswith(b"\x89PNG")


def test_a_fit_to_an_unknown_stored_model_is_one_clear_error(run_file, tmp_path):
    """resim --fit of a file whose stored model is unknown ended in 'unexpected KeyError' (exit 1)."""
    path = tmp_path / "crafted.h5"
    shutil.copy(run_file, path)
    with h5py.File(path, "r+") as f:
        f.attrs["bench"] = json.dumps({"simulator": {"model": {"model": "zzz"}}})
    with pytest.raises(InvalidParameter, match="'zzz' is unknown"):
        resimulate(path, fit=True)
