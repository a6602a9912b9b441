"""One parameter system: the same declarations check protocols, device models and bench limits,
feed `labsuite protocols`, `--set`, recipes and the GUI form, and errors name the field and what
is allowed."""
from __future__ import annotations

import json
import logging

import h5py
import pytest

from labsuite.bench import Bench, Limits
from labsuite.cli import main
from labsuite.core.errors import InvalidParameter, ParameterError
from labsuite.experiment import make_protocol, run_protocol
from labsuite.core.parameters import Choice, Number, declared
from labsuite.protocols import PROTOCOLS, PairedPulse
from labsuite.recipe import load_recipe, recipe_text
from labsuite.replay import replayed_protocol
from labsuite.simulator.models import make_model
from labsuite.store import read_run


def test_a_number_takes_units_and_refuses_a_value_out_of_range_naming_it():
    width = Number("width", "s", 100e-6, 1e-6, 10.0, "write pulse width")
    assert width.parse("250 us") == pytest.approx(250e-6)
    with pytest.raises(ParameterError, match=r"^width = 20 s is out of range: allowed 1 µs to 10 s$"):
        width.parse("20 s")
    positive = Number("tau", "s", 1.0, 0.0, None, "relaxation time", open_minimum=True)
    with pytest.raises(InvalidParameter, match=r"^tau: 0 s is out of range: allowed > 0 s$"):
        positive.parse(0)


def test_a_choice_parameter_is_refused_with_the_choices_listed():
    with pytest.raises(InvalidParameter, match=r"^order: 'random' is not a choice: choose ascending or interleaved$"):
        PairedPulse(order="random")
    assert PairedPulse(order=" Interleaved ").order == "interleaved"


def test_set_refuses_an_unknown_choice_naming_the_field_and_the_choices(capsys, tmp_path):
    status = main(["run", "ppf", "--sim", "--set", "order=random", "--out", str(tmp_path / "runs")])
    assert status == 2
    assert capsys.readouterr().err.strip() == ("labsuite: error: order: 'random' is not a choice: choose ascending "
                                               "or interleaved")


def test_labsuite_protocols_shows_the_choices(capsys):
    assert main(["protocols"]) == 0
    listing = capsys.readouterr().out
    assert "    order = ascending (ascending or interleaved): " in listing
    assert ("    waveform = exponential (rectangular, triangular, biphasic or exponential, or a .csv file): "
            in listing)
    assert "    start_polarity = 1 (+1 or -1): " in listing


def test_a_recipe_sets_a_choice_and_the_recipe_written_from_a_protocol_reads_back(tmp_path):
    protocol = PairedPulse(order="interleaved", intervals=4)
    path = tmp_path / "ppf.toml"
    path.write_text(recipe_text(protocol, "test"), encoding="utf-8")
    assert 'order = "interleaved"' in path.read_text(encoding="utf-8")
    again = load_recipe(path).steps[0].build()
    assert again.values == protocol.values and again.options == {"order": "interleaved"}


def test_a_recipe_with_a_bad_choice_names_the_step_the_field_and_the_choices(tmp_path):
    path = tmp_path / "stdp.toml"
    path.write_text('protocol = "stdp"\n[parameters]\nwaveform = "sine"\n', encoding="utf-8")
    with pytest.raises(InvalidParameter, match=r"stdp.toml, step 1 \(stdp\): waveform: 'sine' is not a choice: "
                                               r"choose rectangular, triangular, biphasic or exponential, or a "
                                               r"\.csv file"):
        load_recipe(path)


def test_every_protocol_declares_only_numbers_and_choices_with_help():
    for cls in PROTOCOLS.values():
        for p in cls.parameters:
            assert isinstance(p, (Number, Choice)) and p.help, (cls.name, p.name)
            assert p.parse(p.default) == p.default or p.default is None


def test_model_parameters_are_checked_by_their_declarations():
    with pytest.raises(InvalidParameter, match=r"^tau_volatile: -1 s is out of range for the synaptic-memristor "
                                               r"model: allowed > 0 s; the default is 0.005$"):
        make_model("synaptic-memristor", None, params={"tau_volatile": "-1 s"})
    with pytest.raises(InvalidParameter, match=r"^eta: 0 is not a choice: choose -1 or \+1$"):
        make_model("yakopcic", None, params={"eta": 0})


def test_bench_limits_are_declared_and_recorded_from_their_declarations():
    assert [(p.name, p.unit) for p in declared(Limits)] == [("max_voltage", "V"), ("max_compliance", "A")]
    with pytest.raises(InvalidParameter, match=r"^limits.max_voltage: 0 V must be a positive, finite limit$"):
        Limits(max_voltage=0)
    with Bench.simulated(limits=Limits(5.0, 2e-3)) as bench:
        assert bench.snapshot()["limits"] == {"max_voltage": 5.0, "max_compliance": 2e-3}


def test_an_old_recipe_key_is_read_under_its_new_name_with_a_warning_naming_it(tmp_path, caplog):
    path = tmp_path / "old.toml"
    path.write_text('protocol = "stdp"\n[parameters]\nspike_amplitude = "-0.6 V"\nrest = "40 ms"\n', encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="labsuite"):
        step = load_recipe(path).steps[0]
    assert step.build().amplitude == -0.6 and step.build().read_delay == 0.04
    assert "amplitude" not in step.defaults and "read_delay" not in step.defaults
    assert [r.getMessage() for r in caplog.records] == [
        "old.toml, step 1: stdp: spike_amplitude is renamed amplitude; write amplitude = ... (the old name is "
        "accepted until labsuite 0.3)",
        "old.toml, step 1: stdp: rest is renamed read_delay; write read_delay = ... (the old name is accepted "
        "until labsuite 0.3)"]


def test_an_old_set_name_runs_and_warns_on_stderr_naming_the_new_one(capsys, tmp_path):
    status = main(["run", "write-verify", "--sim", "--set", "v_max=1.5V", "--set", "target=30uS", "--out",
                   str(tmp_path / "runs"), "--no-progress"])
    err = capsys.readouterr().err
    assert status == 0, err
    assert ("labsuite: warning: write-verify: v_max is renamed max_amplitude; write max_amplitude = ... (the old "
            "name is accepted until labsuite 0.3)") in err.splitlines()


def test_python_keywords_take_the_new_names_only_and_the_error_names_it():
    with pytest.raises(InvalidParameter, match=r"^spike_amplitude: is renamed amplitude; write amplitude="):
        PROTOCOLS["stdp"](spike_amplitude=-0.6)
    with pytest.raises(InvalidParameter, match=r"^rest: is the old name of read_delay, which is given too"):
        make_protocol("stdp", {"rest": 0.05, "read_delay": 0.05})


def test_a_run_file_of_schema_1_is_read_under_the_new_names(tmp_path):
    """A file as schema 1 wrote it (old parameter and bench names, schema_version 1) is read, and its
    protocol rebuilt, under the new names."""
    with Bench.simulated(seed=3, series_resistance=500.0) as bench:
        new = run_protocol("retention", bench, {"points": 6, "duration": "50 ms", "read_delay": "2 ms"},
                           out_dir=tmp_path).path
    with h5py.File(new, "r+") as f:    # the names schema 1 wrote
        f.attrs["schema_version"] = 1
        for key in ("parameters", "parameter_units"):
            table = json.loads(f.attrs[key])
            table["first_read"], table["pulse_period"] = table.pop("read_delay"), table.pop("period")
            f.attrs[key] = json.dumps(table)
        snapshot = json.loads(f.attrs["bench"])
        snapshot["simulator"]["series_resistance_ohm"] = snapshot["simulator"].pop("series_resistance")
        f.attrs["bench"] = json.dumps(snapshot)
    old = read_run(new)
    assert old.parameters["read_delay"] == 2e-3 and "first_read" not in old.parameters
    assert json.loads(old.attrs["bench"])["simulator"]["series_resistance"] == 500.0
    assert replayed_protocol(old).values == make_protocol("retention", {"points": 6, "duration": "50 ms",
                                                                        "read_delay": "2 ms"}).values
