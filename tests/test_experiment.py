"""End to end: protocol → program → runner → driver → pyvisa → simulated 2450 → device → run file."""
import json
import subprocess
import sys

import h5py
import numpy as np
import pytest

from labsuite import Bench, read_run, run_protocol
from labsuite.core.errors import InvalidParameter, ParameterError
from labsuite.protocols import Potentiation


def run_cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "labsuite", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=120)


def test_run_file_holds_samples_and_metadata(tmp_path):
    with Bench.simulated(seed=1) as bench:
        result = run_protocol("potentiation", bench, {"pulses": 20}, out_dir=tmp_path, device_id="D7")
    with h5py.File(result.path, "r") as f:
        assert f.attrs["schema"] == "labsuite-run" and f.attrs["schema_version"] == 3
        assert f.attrs["protocol"] == "potentiation" and f.attrs["device_id"] == "D7"
        assert f.attrs["status"] == "completed" and f.attrs["seed"] == 1
        assert json.loads(f.attrs["parameters"])["pulses"] == 20
        bench_info = json.loads(f.attrs["bench"])
        assert bench_info["instruments"]["smu"]["settings"]["idn"].startswith("KEITHLEY INSTRUMENTS,MODEL 2450")
        assert bench_info["simulator"]["model"]["model"] == "synaptic-memristor"
        assert f.attrs["labsuite_version"] and f.attrs["start_time"] and f.attrs["end_time"]
        assert f["samples"].shape == (21,) and f["samples"].dtype.names == ("t", "voltage", "current", "train",
                                                                         "repeat", "segment")
        assert json.loads(f["samples"].attrs["units"]) == {"t": "s", "voltage": "V", "current": "A", "train": "",
                                                           "repeat": "", "segment": ""}
        assert list(f["program/train1/label"].asstr()[:]) == ["write", "idle", "read", "idle"]
        assert f["analysis"].attrs["nonlinearity_a"] == pytest.approx(result.figures["nonlinearity_a"])
    back = read_run(result.path)
    assert np.array_equal(back.samples, result.samples)


def test_samples_are_timed_on_the_program_schedule(tmp_path):
    with Bench.simulated(seed=1) as bench:
        result = run_protocol("potentiation", bench, {"pulses": 5, "period": "10 ms", "read_delay": "2 ms"},
                              out_dir=None)
    t = result.samples["t"]
    # baseline: read (1 ms) + rest (10 − 0.1 − 2 − 1 = 6.9 ms); each read ends 0.1 + 2 + 1 ms into its period
    assert t == pytest.approx([1e-3] + [7.9e-3 + 3.1e-3 + 10e-3 * i for i in range(5)])


def test_same_seed_same_data_other_seed_other_noise():
    def samples(seed):
        with Bench.simulated(seed=seed) as bench:
            return run_protocol("potentiation", bench, {"pulses": 30}, out_dir=None).samples
    a, b, c = samples(4), samples(4), samples(5)
    assert np.array_equal(a, b)
    assert not np.array_equal(a["current"], c["current"])
    assert np.array_equal(a["t"], c["t"])


def test_hardware_and_software_timing_measure_the_same_device():
    """The per-segment loop and the trigger-model train see the same physics (noise-free device)."""
    quiet = {"c2c_sigma": 0, "read_noise": 0}
    results = {}
    for timing in ("hardware", "software"):
        with Bench.simulated(seed=0, model_params=quiet) as bench:
            results[timing] = run_protocol("potentiation", bench, {"pulses": 10}, out_dir=None, timing=timing)
    hw, sw = results["hardware"].samples, results["software"].samples
    assert sw["current"] == pytest.approx(hw["current"], rel=1e-6)
    assert sw["t"] == pytest.approx(hw["t"], abs=1e-9)


def test_parameters_accept_units_and_reject_bad_values():
    proto = Potentiation(amplitude="1.2 V", width="200us", period="0.1 s")
    assert (proto.amplitude, proto.width, proto.period) == (1.2, 2e-4, 0.1)
    with pytest.raises(ParameterError, match=r"width = 20 s is out of range: allowed 1 µs to 10 s"):
        Potentiation(width="20 s")
    with pytest.raises(ParameterError, match="period = 1 ms .* at least 21.1 ms"):
        Potentiation(period="1 ms")
    with pytest.raises(InvalidParameter, match="pulses: '2.5' must be a whole number"):
        Potentiation(pulses="2.5")
    with pytest.raises(InvalidParameter, match="amplitdue: potentiation has no such parameter"):
        Potentiation(amplitdue=1.0)


def test_cli_json_summary_and_seed(tmp_path):
    first = run_cli("run", "potentiation", "--sim", "--json", "--seed", "1", "--out", str(tmp_path), cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout)
    assert summary["protocol"] == "potentiation" and summary["status"] == "completed"
    assert summary["parameters"]["amplitude"] == 1.5 and summary["parameter_units"]["width"] == "s"
    assert {"g_min", "g_max", "dynamic_range", "nonlinearity_a"} <= set(summary["figures"])
    with h5py.File(summary["run_file"], "r") as f:
        first_current = f["samples"]["current"]
    again = json.loads(run_cli("run", "potentiation", "--sim", "--json", "--seed", "1", "--out", str(tmp_path),
                               cwd=tmp_path).stdout)
    other = json.loads(run_cli("run", "potentiation", "--sim", "--json", "--seed", "2", "--out", str(tmp_path),
                               cwd=tmp_path).stdout)
    with h5py.File(again["run_file"], "r") as f1, h5py.File(other["run_file"], "r") as f2:
        assert np.array_equal(f1["samples"]["current"], first_current)
        assert not np.array_equal(f2["samples"]["current"], first_current)


def test_cli_sets_parameters_with_units_and_plots(tmp_path):
    out = run_cli("run", "potentiation", "--sim", "--set", "amplitude=1.2V", "--set", "width=200us",
                  "--set", "pulses=30", "--plot", "g.png", "--out", "runs", "--no-progress", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "nonlinearity_a" in out.stdout and "run file:" in out.stdout
    assert (tmp_path / "g.png").read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize("args, message", [
    (["--set", "amplitude=12V"], "amplitude = 12 V is out of range: allowed -10 V to 10 V (bench limit max_voltage)"),
    (["--set", "width=3V"], "width: '3V' is not a quantity in s"),
    (["--set", "amplitude"], "--set 'amplitude': write name=value"),
    (["--device-param", "tau=1"], "tau: synaptic-memristor has no such parameter"),
])
def test_cli_errors_say_what_to_change(tmp_path, args, message):
    out = run_cli("run", "potentiation", "--sim", *args, cwd=tmp_path)
    assert out.returncode == 2
    assert message in out.stderr
    assert not (tmp_path / "runs").exists()


def test_the_run_file_keeps_the_instrument_transcript(tmp_path):
    """Every VISA message of the run, in order, with bench-clock times; the adapter is left as found."""
    with Bench.simulated(seed=1) as bench:
        adapter_write = bench.smu.adapter._write
        result = run_protocol("potentiation", bench, {"pulses": 5}, out_dir=tmp_path)
        assert bench.smu.adapter._write == adapter_write
    with h5py.File(result.path, "r") as f:
        t = f["transcript/t"][:]
        direction = list(f["transcript/direction"].asstr()[:])
        message = list(f["transcript/message"].asstr()[:])
    assert np.all(np.diff(t) >= 0)
    assert direction.count("read") == sum(1 for m in message if "?" in m.split(";")[-1]) > 0
    train = next(m for m in message if "TRIG:BLOC" in m)
    assert train.index(":SOUR:VOLT:ILIM 0.001") < train.index("SOUR:STAT 3,ON")
    assert message[-1] == ":ABOR;:OUTP OFF"
