"""Every registered protocol runs from the CLI on the simulated bench, writes a run file, and its
JSON summary lists its figures of merit, each with a unit."""
import json

import h5py
import pytest

from labsuite.cli import main
from labsuite.protocols import PROTOCOLS

# the simulated device each protocol is meant for, and settings that keep the run short
SETUP = {
    "potentiation": ["--set", "pulses=20"],
    "depression": ["--set", "pulses=20", "--device-param", "w_initial=0.9"],
    "ltp-ltd": ["--set", "cycles=2", "--set", "pulses=20"],
    "ppf": ["--model", "multi-timescale", "--set", "intervals=8", "--set", "repeats=2"],
    "stdp": ["--device-param", "w_initial=0.5", "--set", "points=4"],
    "srdp": ["--model", "multi-timescale", "--set", "rates=3"],
    "retention": ["--model", "multi-timescale", "--set", "duration=10s"],
    "iv": ["--model", "stanford-pku", "--device-param", "g_initial=1.7nm", "--set", "positive_compliance=2mA"],
    "pulsed-iv": ["--model", "stanford-pku", "--device-param", "g_initial=1.7nm",
                  "--set", "positive_compliance=2mA"],
    "endurance": ["--model", "stanford-pku", "--device-param", "g_initial=1.7nm", "--set", "cycles=5"],
    "forming": ["--model", "stanford-pku", "--set", "compliance=2mA", "--set", "start_amplitude=1.6V"],
    "write-verify": ["--device-param", "w_initial=0.3"],
}


def test_every_protocol_has_a_setup_here():
    assert set(SETUP) == set(PROTOCOLS)


@pytest.mark.parametrize("name", sorted(PROTOCOLS))
def test_protocol_runs_from_the_cli_with_figures_and_units(name, tmp_path, capsys):
    code = main(["run", name, "--sim", "--json", "--no-progress", "--seed", "1", "--out", str(tmp_path),
                 *SETUP[name]])
    out = capsys.readouterr().out
    assert code == 0, out
    summary = json.loads(out, parse_constant=lambda name: pytest.fail(f"{name} in the JSON output"))
    assert summary["status"] == "completed" and summary["protocol"] == name
    assert summary["figures"], "a protocol must report figures of merit"
    assert set(summary["figures"]) <= set(summary["figure_units"])
    assert set(summary["parameters"]) == set(summary["parameter_units"])
    with h5py.File(summary["run_file"], "r") as f:
        assert f.attrs["protocol"] == name and f["samples"].shape[0] == summary["samples"] > 0


@pytest.mark.parametrize("name", sorted(n for n, p in PROTOCOLS.items()
                                        if any(q.name == "read_voltage" for q in p.parameters)))
def test_a_read_at_zero_volts_is_refused_by_every_protocol_that_reads(name):
    from labsuite.core.errors import ParameterError

    with pytest.raises(ParameterError, match=r"read_voltage = 0 V is not allowed \(must be non-zero"):
        PROTOCOLS[name](read_voltage=0)
