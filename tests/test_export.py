"""Run data opens elsewhere: CSV with units round-trips exactly; pandas and pymeasure read it."""
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from labsuite import Bench, read_run, run_protocol
from labsuite.export import to_csv, to_dataframe, to_pymeasure_csv


@pytest.fixture(scope="module")
def run_file(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    with Bench.simulated(seed=2) as bench:
        return run_protocol("potentiation", bench, {"pulses": 15}, out_dir=out, device_id="D3").path


def test_csv_round_trips_every_value_exactly_with_units(run_file, tmp_path):
    path = to_csv(run_file, tmp_path / "run.csv")
    text = path.read_text()
    assert "# protocol: potentiation" in text and "# parameter width: 0.0001 s" in text
    frame = pd.read_csv(path, comment="#")
    assert list(frame.columns) == ["t (s)", "voltage (V)", "current (A)", "train", "repeat", "segment"]
    samples = read_run(run_file).samples
    assert np.array_equal(frame["current (A)"].to_numpy(), samples["current"])
    assert np.array_equal(frame["t (s)"].to_numpy(), samples["t"])
    assert np.array_equal(frame["repeat"].to_numpy(), samples["repeat"])


def test_csv_values_are_the_shortest_text_that_reads_back_and_figures_carry_their_units(run_file, tmp_path):
    """Issue #20: 0.10000000000000001 for a 0.1 V read, and figures of merit without their unit."""
    text = to_csv(run_file, tmp_path / "run.csv").read_text()
    run = read_run(run_file)
    rows = [line.split(",") for line in text.splitlines() if line[:1].isdigit()]
    assert {row[1] for row in rows} >= {"0.1"}   # the read voltage
    assert all(text == repr(float(text)).removesuffix(".0") for row in rows for text in row[:3])
    assert "# parameter pulses: 15\n" in text and "# parameter read_voltage: 0.1 V\n" in text
    assert f"# figure g_min: {float(run.analysis['g_min'])!r} S\n" in text
    assert f"# figure dynamic_range: {float(run.analysis['dynamic_range'])!r}\n" in text


def test_dataframe_carries_the_metadata(run_file):
    frame = to_dataframe(run_file)
    assert frame.attrs["protocol"] == "potentiation" and frame.attrs["device_id"] == "D3"
    assert frame.attrs["parameters"]["pulses"] == 15 and len(frame) == 16


def test_pymeasure_loads_the_pymeasure_csv(run_file, tmp_path):
    from pymeasure.experiment import Results

    path = to_pymeasure_csv(run_file, tmp_path / "run.pymeasure.csv")
    results = Results.load(str(path))
    assert list(results.data.columns) == ["t (s)", "voltage (V)", "current (A)", "train", "repeat", "segment"]
    assert np.array_equal(results.data["current (A)"].to_numpy(), read_run(run_file).samples["current"])
    assert type(results.procedure).__name__ == "PotentiationProcedure"
    assert results.procedure.width == pytest.approx(1e-4) and results.procedure.pulses == 15
    assert results.procedure.device_id == "D3"


def test_cli_export(run_file, tmp_path):
    out = subprocess.run([sys.executable, "-m", "labsuite", "export", str(run_file), "--out", str(tmp_path)],
                         capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert out.returncode == 0, out.stderr
    assert pd.read_csv(out.stdout.strip(), comment="#").shape == (16, 6)


def test_terminal_summaries_give_each_figure_with_its_unit(run_file, capsys):
    """`labsuite replay` (like `run`) prints a figure in S as µS, a ratio as a bare number."""
    from labsuite.cli import main

    assert main(["replay", str(run_file), "--no-progress"]) == 0
    lines = {line.split()[0]: line.split()[1:] for line in capsys.readouterr().out.splitlines()[1:]}
    assert lines["g_min"][1] == "µS" and len(lines["dynamic_range"]) == 1
