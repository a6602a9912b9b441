"""Issue #20, CLI: every name a user types (protocol, recipe, model, SMU, generator, parameter) is
found regardless of letter case, the field's aliases work, and a near miss is answered with the
closest name; recipes are found by name; a resistance takes a bare SI prefix (2k).

The CLI is called in process (``labsuite.cli.main``) from an empty folder, as in
tests/test_input_validation.py.
"""
from __future__ import annotations

import json
import re

import pytest

from labsuite.core.names import aliases, did_you_mean, find
from labsuite.core.units import parse_quantity
from labsuite.protocols import PROTOCOLS
from labsuite.recipe import SHIPPED_RECIPES, find_recipe, load_recipe
from labsuite.store import read_run


def summary(result: tuple[int, str, str]) -> dict:
    code, out, err = result
    assert code == 0, err
    return json.loads(out)


@pytest.mark.parametrize("typed, protocol", [("Potentiation", "potentiation"), ("LTP", "potentiation"),
                                             ("ltd", "depression"), ("Paired-Pulse", "ppf")])
def test_protocol_names_ignore_case_and_take_the_fields_aliases(cli, typed, protocol):
    sets = ("--set", "pulses=2") if protocol != "ppf" else ()
    run = summary(cli("run", typed, "--sim", "--json", "--no-progress", *sets))
    assert run["protocol"] == protocol


def test_a_mistyped_protocol_is_answered_with_the_closest_name(cli):
    code, _, err = cli("run", "potentation", "--sim")
    assert code == 2 and "did you mean 'potentiation'?" in err and err.count("\n") == 1


@pytest.mark.parametrize("argv, suggestion", [
    (("--set", "pulsez=3"), "'pulses'"),
    (("--device-param", "w_initail=0.5"), "'w_initial'"),
    (("--model", "synaptic-memristr"), "'synaptic-memristor'"),
    (("--smu", "keithly2450"), "'keithley2450'"),
    (("--pulse-generator", "keysight3350"), "'keysight33500'"),
])
def test_every_mistyped_name_is_answered_with_the_closest_one(cli, argv, suggestion):
    code, _, err = cli("run", "potentiation", "--sim", *argv)
    assert code == 2 and f"did you mean {suggestion}?" in err and err.count("\n") == 1, err


def stored_bench(run: dict) -> dict:
    """The bench a run file records (drivers, simulator settings)."""
    return json.loads(read_run(run["run_file"]).attrs["bench"])


def test_instrument_and_model_names_ignore_case(cli):
    run = summary(cli("run", "potentiation", "--sim", "--json", "--no-progress", "--set", "pulses=2",
                      "--smu", "Keithley2600", "--model", "Synaptic-Memristor"))
    bench = stored_bench(run)
    assert bench["instruments"]["smu"]["driver"] == "keithley2600"
    assert bench["simulator"]["model"]["model"] == "synaptic-memristor"


def test_a_mistyped_parameter_in_a_recipe_names_the_closest_one(tmp_path):
    recipe = tmp_path / "r.toml"
    recipe.write_text('protocol = "LTP"\n[parameters]\namplitdue = "1 V"\n', encoding="utf-8")
    with pytest.raises(Exception, match="did you mean 'amplitude'"):
        load_recipe(recipe)


def commented_command(recipe: str) -> list[str]:
    """The first `labsuite ...` command a shipped recipe's comment gives, as arguments."""
    text = (SHIPPED_RECIPES / recipe).read_text(encoding="utf-8")
    command = re.search(r"`labsuite ([^`]+)`", text).group(1)
    return command.split()


@pytest.mark.parametrize("recipe", ["synapse-characterization.sequence.toml", "ppf.toml"])
def test_the_command_in_a_shipped_recipes_comment_runs_it_from_any_folder(cli, recipe):
    """The comment's command, typed in an empty folder, ended with 'no such recipe file'."""
    argv = commented_command(recipe)
    code, out, err = cli(*argv, "--no-progress")
    assert code == 0, err
    assert out.count("run file:") == load_recipe(SHIPPED_RECIPES / recipe).total_runs
    code, out, err = cli("run", recipe.upper(), "--sim", "--no-progress")   # its file name, any letter case
    assert code == 0 and out.count("run file:") == load_recipe(SHIPPED_RECIPES / recipe).total_runs, err


def test_a_user_recipe_is_found_by_name_before_a_shipped_one(cli, user_recipes):
    (user_recipes / "ppf.toml").write_text('protocol = "potentiation"\n[parameters]\npulses = 3\n',
                                                     encoding="utf-8")
    (user_recipes / "short-ltp.toml").write_text('protocol = "ltp"\n[parameters]\npulses = 2\n',
                                                           encoding="utf-8")
    assert find_recipe("ppf.toml") == user_recipes / "ppf.toml"
    run = summary(cli("run", "short-ltp", "--sim", "--json", "--no-progress"))
    assert run["protocol"] == "potentiation" and run["parameters"]["pulses"] == 2
    code, _, err = cli("run", "short-lpt", "--sim")
    assert code == 2 and "did you mean 'short-ltp'?" in err


def test_a_repeated_set_is_refused_naming_both_values(cli):
    code, _, err = cli("run", "potentiation", "--sim", "--set", "pulses=3", "--set", "pulses=4")
    assert code == 2 and "pulses is already set to '3'" in err


@pytest.mark.parametrize("text, ohm", [("2k", 2e3), ("2 k", 2e3), ("1.5M", 1.5e6), ("2kohm", 2e3), ("470", 470.0)])
def test_a_bare_si_prefix_is_that_multiple_of_the_fields_unit(text, ohm):
    assert parse_quantity(text, "ohm", "pulse_series_resistance") == ohm


def test_a_series_resistance_option_takes_a_bare_prefix(cli):
    run = summary(cli("run", "potentiation", "--sim", "--json", "--no-progress", "--set", "pulses=2",
                      "--smu", "keithley2600", "--pulse-generator", "keysight33500",
                      "--pulse-series-resistance", "2k"))
    assert stored_bench(run)["simulator"]["pulse_series_resistance"] == 2000.0


def test_a_bare_prefix_is_no_count():
    with pytest.raises(Exception, match="plain number"):
        parse_quantity("2k", "", "pulses")


def test_names_helpers():
    assert find("LTP", PROTOCOLS, aliases(PROTOCOLS)) == "potentiation"
    assert find("nothing", PROTOCOLS, aliases(PROTOCOLS)) is None
    assert did_you_mean("zzzzzz", PROTOCOLS) == ""


@pytest.mark.parametrize("argv, suggestion", [
    (("rn",), "'run'"),
    (("run", "ltp", "--sim", "--timing", "hardwre"), "'hardware'"),
    (("run", "ltp", "--sim", "--transport", "tpc"), "'tcp'"),
    (("runs", "--protocol", "ltpp"), "'ltp'"),
    (("gui", "--sim", "--run", "potentation"), "'potentiation'"),
])
def test_every_mistyped_choice_is_answered_with_the_closest_one(cli, argv, suggestion):
    code, _, err = cli(*argv)
    assert code == 2 and f"did you mean {suggestion}?" in err and err.count("\n") == 1, err
    assert "--transport: --transport" not in err


def test_a_run_filter_takes_the_protocols_alias(cli):
    summary(cli("run", "potentiation", "--sim", "--json", "--no-progress", "--set", "pulses=2"))
    code, out, err = cli("runs", "--protocol", "LTP", "--json")
    assert code == 0 and [r["protocol"] for r in json.loads(out)] == ["potentiation"], err


def test_labsuite_protocols_lists_each_protocols_other_names(cli):
    code, out, err = cli("protocols")
    assert code == 0, err
    assert "potentiation (also ltp, long-term-potentiation): Potentiation (LTP)\n" in out
    assert "\nretention: Retention\n" in out   # a protocol without other names
