"""One parameter system: the same declarations check protocols, device models and bench limits,
feed `labsuite protocols`, `--set`, recipes and the GUI form, and errors name the field and what
is allowed."""
from __future__ import annotations

import pytest

from labsuite.bench import Bench, Limits
from labsuite.cli import main
from labsuite.errors import InvalidParameter, ParameterError
from labsuite.parameters import Choice, Number, declared
from labsuite.protocols import PROTOCOLS, PairedPulse
from labsuite.recipe import load_recipe, recipe_text
from labsuite.simulator.models import make_model


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
