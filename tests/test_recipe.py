"""Recipes: one protocol or a sequence in TOML, validated before any instrument is touched."""
import json
import subprocess
import sys
from importlib import resources

import h5py
import pytest

from labsuite.core.errors import InvalidParameter
from labsuite.protocols import PROTOCOLS
from labsuite.recipe import load_recipe

SEQUENCE = '''
name = "ltp-ltd"
[[step]]
protocol = "potentiation"
repeat = 2
parameters = { pulses = 10, amplitude = "1.4 V" }
[[step]]
protocol = "depression"
parameters = { pulses = 10 }
'''


@pytest.mark.parametrize("name", sorted(PROTOCOLS))
def test_every_protocol_ships_a_recipe_with_its_defaults(name):
    recipe_file = resources.files("labsuite.protocols") / "recipes" / f"{name}.toml"
    recipe = load_recipe(recipe_file)
    (step,) = recipe.steps
    assert step.protocol == name
    built, default = step.build(), PROTOCOLS[name]()
    assert built.values == default.values and built.options == default.options
    text = recipe_file.read_text(encoding="utf-8")   # every parameter written, an unset choice as a comment
    assert [p.name for p in default.parameters if p.name not in step.parameters
            and f"# {p.name} =" not in text] == []


def test_a_sequence_is_validated_step_by_step(tmp_path):
    path = tmp_path / "seq.toml"
    path.write_text(SEQUENCE)
    recipe = load_recipe(path)
    assert recipe.name == "ltp-ltd" and recipe.total_runs == 3
    assert [p.name for _, _, p in recipe.runs()] == ["potentiation", "potentiation", "depression"]
    path.write_text(SEQUENCE.replace('"1.4 V"', '"300 V"'))
    with pytest.raises(InvalidParameter, match=r"seq.toml, step 1 \(potentiation\): amplitude = 300 V .* 0 V to 210 V"):
        load_recipe(path)
    path.write_text("[[step]]\nprotocol = 'ppf-typo'\n")
    with pytest.raises(InvalidParameter, match="step 1"):
        load_recipe(path)


def test_cli_runs_a_sequence_one_file_per_run_with_provenance(tmp_path):
    (tmp_path / "seq.toml").write_text(SEQUENCE)
    out = subprocess.run([sys.executable, "-m", "labsuite", "run", "seq.toml", "--sim", "--json", "--no-progress",
                          "--out", "runs"], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert out.returncode == 0, out.stderr
    summaries = json.loads(out.stdout)
    assert [s["protocol"] for s in summaries] == ["potentiation", "potentiation", "depression"]
    assert summaries[0]["figures"]["delta_g"] > 0 > summaries[2]["figures"]["delta_g"]
    with h5py.File(tmp_path / summaries[1]["run_file"], "r") as f:
        assert json.loads(f.attrs["provenance"]) == {"recipe": "ltp-ltd", "recipe_file": "seq.toml", "step": 1,
                                                     "repeat": 2, "defaults": ["width", "period", "read_voltage",
                                                                               "read_delay", "read_time", "compliance"]}


def test_the_shipped_sequence_recipe_is_valid():
    path = resources.files("labsuite.protocols") / "recipes" / "synapse-characterization.sequence.toml"
    recipe = load_recipe(path)
    assert [s.protocol for s in recipe.steps] == ["ltp-ltd", "ppf", "retention"] and recipe.total_runs == 7


@pytest.mark.parametrize("text, message", [
    ('protocol = "potentiation"\n[paramters]\namplitude = "1 V"\n', "unknown key 'paramters'"),
    ('[[step]]\nprotocol = "potentiation"\nrepeats = 3\n', "step 1: unknown key 'repeats'"),
    ('[[step]]\nprotocol = "potentiation"\nrepeat = true\n', "repeat"),
    ('[[step]]\nprotocol = "potentiation"\nparameters = "x"\n', "parameters"),
    ("step = 5\n", "step"),
    ('protocol = "ppf"\n[[step]]\nprotocol = "ppf"\n', "not both"),
])
def test_recipe_mistakes_are_refused_not_ignored(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(InvalidParameter, match=message):
        load_recipe(path)


def test_a_waveform_file_is_found_next_to_the_recipe(tmp_path, monkeypatch):
    (tmp_path / "spike.csv").write_text("t,V\n0,0\n5e-5,-0.8\n1e-4,0\n")
    (tmp_path / "stdp.toml").write_text('protocol = "stdp"\n[parameters]\nwaveform = "spike.csv"\n')
    monkeypatch.chdir(tmp_path.parent)                     # not the recipe's folder
    (step,) = load_recipe(tmp_path / "stdp.toml").steps
    assert step.parameters["waveform"] == str(tmp_path / "spike.csv")
