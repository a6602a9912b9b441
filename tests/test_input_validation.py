"""Issue #12: every input checked with its field's units and range; bad input is one line, exit 2.

Each case here was a traceback, a hang, or a silently wrong run before; the CLI is called in
process (``labsuite.cli.main``) from an empty folder, so the test also sees what it leaves behind.
"""
from __future__ import annotations

import time
from dataclasses import fields, replace

import numpy as np
import pytest

from labsuite.bench import Bench
from labsuite.cli import main
from labsuite.core.errors import InvalidParameter, LabsuiteError, ParameterError
from labsuite.core.units import parse_quantity
from labsuite.discovery import check_resource
from labsuite.protocols import PROTOCOLS
from labsuite.protocols.protocol import MAX_READINGS, MAX_SEGMENTS
from labsuite.recipe import load_recipe
from labsuite.simulator.models import MODELS, make_model
from labsuite.simulator.models.base import check_params


def refused(result: tuple[int, str, str], *words: str) -> None:
    """Exit status 2, one line ``labsuite: error: ...`` holding every word."""
    code, _, err = result
    assert code == 2, err
    assert err.startswith("labsuite: error: ") and err.count("\n") == 1, err
    for word in words:
        assert word in err, (word, err)


# --- units -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text", ["5%", "5 ppm", "5 percent", "2 V/V"])
def test_a_ratio_is_not_a_voltage(text):
    with pytest.raises(InvalidParameter, match=r"amplitude: .* not a quantity in V.*write the value in V"):
        parse_quantity(text, "V", "amplitude")


def test_a_ratio_is_fine_where_the_field_is_dimensionless():
    assert parse_quantity("5%", "", "tolerance") == 0.05
    assert parse_quantity("20 ppm", "", "tolerance") == pytest.approx(2e-5)


@pytest.mark.parametrize("text", ["1 V**999999999", "1 V^1e9", "2 V**99999999999999999999"])
def test_absurd_exponents_are_refused_not_raised(text):
    with pytest.raises(InvalidParameter, match="amplitude"):
        parse_quantity(text, "V", "amplitude")


@pytest.mark.parametrize("setting", ["amplitude=5%", "read_voltage=5 ppm"])
def test_cli_refuses_a_ratio_for_a_voltage_and_runs_nothing(cli, tmp_path, setting):
    refused(cli("run", "potentiation", "--sim", "--set", setting), setting.split("=")[0], "not a quantity in V")
    assert list(tmp_path.iterdir()) == []


# --- command-line arguments ---------------------------------------------------------------------------
@pytest.mark.parametrize("argv, words", [
    (["run", "potentiation", "--sim", "--seed", "12345678901234567890"], ["--seed", "0 to 9223372036854775807"]),
    (["run", "potentiation", "--sim", "--seed", "-1"], ["--seed", "0 to"]),
    (["sim", "serve", "--port", "70000"], ["--port", "0 to 65535"]),
    (["sim", "serve", "--port", "65535"], ["--port 65535", "≤ 65534"]),
    (["sim", "serve", "--smu", "foo"], ["--smu", "'foo'", "keithley2450"]),
    (["runs", "--since", "yesterday"], ["--since", "'yesterday'", "2026-12-07"]),
    (["replay", "missing.h5"], ["missing.h5", "no such run file"]),
    (["run", "potentiation", "--simm"], ["--simm", "labsuite --help"]),
])
def test_bad_arguments_are_one_line_naming_the_option_and_what_is_allowed(cli, tmp_path, argv, words):
    refused(cli(*argv), *words)
    assert list(tmp_path.iterdir()) == []


def test_a_file_that_is_not_hdf5_is_refused_by_export(cli, tmp_path):
    (tmp_path / "run.h5").write_bytes(b"not a run file at all")
    refused(cli("export", "run.h5"), "run.h5", "not an HDF5 run file")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.h5"]


@pytest.mark.parametrize("plot, words", [
    ("missing/g.png", ["--plot", "'missing'", "does not exist"]),
    ("g.xyz", ["--plot", "'.xyz'", ".png"]),
])
def test_a_plot_that_cannot_be_written_is_refused_before_the_run(cli, tmp_path, plot, words):
    refused(cli("run", "potentiation", "--sim", "--set", "pulses=3", "--no-progress", "--plot", plot), *words)
    assert list(tmp_path.iterdir()) == []   # no run was made, so no run file either


def test_an_out_folder_that_is_a_file_is_refused_before_the_run(cli, tmp_path):
    (tmp_path / "taken").write_text("")
    refused(cli("run", "potentiation", "--sim", "--set", "pulses=3", "--out", "taken/runs"), "--out", "not a folder")
    assert [p.name for p in tmp_path.iterdir()] == ["taken"]


# --- device-model parameters ----------------------------------------------------------------------------
@pytest.mark.parametrize("setting, words", [
    ("w_initial=2", ["w_initial", "2", "0 to 1", "synaptic-memristor"]),
    ("g_min=-1uS", ["g_min", "> 0 S", "synaptic-memristor"]),
    ("g_min=300uS", ["g_min", "must be less than g_max", "lower g_min or raise g_max"]),
    ("tau_volatile=0", ["tau_volatile", "> 0 s"]),
    ("tau_volatile=5%", ["tau_volatile", "not a quantity in s"]),
])
def test_out_of_range_device_parameters_are_refused(cli, tmp_path, setting, words):
    refused(cli("run", "potentiation", "--sim", "--set", "pulses=3", "--device-param", setting), *words)
    assert list(tmp_path.iterdir()) == []


def test_a_model_that_refused_in_its_constructor_now_refuses_by_name():
    with pytest.raises(InvalidParameter, match=r"w_min: .* soft-bounds model: allowed < 0"):
        make_model("soft-bounds", np.random.default_rng(0), params={"w_min": 0.5})
    with pytest.raises(InvalidParameter, match=r"a_ltp: .* neurosim model: allowed > 0"):
        make_model("neurosim", np.random.default_rng(0), params={"a_ltp": 0})


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_model_parameter_declares_a_range_its_default_meets(name):
    params = MODELS[name].params_type()
    check_params(params, name)
    with pytest.raises(InvalidParameter, match=name):
        check_params(replace(params, **{fields(params)[0].name: float("nan")}), name)


# --- protocol parameters: sign and size ------------------------------------------------------------------
def test_a_depression_amplitude_must_depress(cli, tmp_path):
    refused(cli("run", "depression", "--sim", "--set", "amplitude=1.5V"),
            "amplitude = 1.5 V", "-210 V to 0 V", "amplitude=-1.5V", "potentiation")
    with pytest.raises(ParameterError, match="run depression for negative pulses"):
        PROTOCOLS["potentiation"](amplitude="-1 V")
    with pytest.raises(ParameterError, match="amplitude = 0 V is not allowed"):
        PROTOCOLS["depression"](amplitude=0)


@pytest.mark.parametrize("protocol, values, names", [
    ("ltp-ltd", {"cycles": 10_000, "pulses": 10_000}, "cycles, pulses"),
    ("iv", {"cycles": 10_000, "step": "1 mV"}, "cycles, step"),
    ("pulsed-iv", {"cycles": 10_000, "step": "1 mV"}, "cycles, step"),
])
def test_a_program_too_big_for_memory_is_refused_before_it_is_built(protocol, values, names):
    start = time.perf_counter()
    with pytest.raises(InvalidParameter, match=rf"^{names}: .* GiB.*at most {MAX_SEGMENTS:,} segments"):
        PROTOCOLS[protocol](**values)
    assert time.perf_counter() - start < 0.5   # nothing was allocated


def test_endurance_cycles_are_bounded_by_the_reading_limit():
    assert PROTOCOLS["endurance"].parameter("cycles").maximum * 2 <= MAX_READINGS
    with pytest.raises(ParameterError, match="cycles = .* out of range"):
        PROTOCOLS["endurance"](cycles=10_000_000)


@pytest.mark.parametrize("protocol, values", [
    ("ltp-ltd", {"cycles": 2, "pulses": 4}), ("ltp-ltd", {"cycles": 1, "pulses": 5, "read_delay": 0}),
    ("endurance", {"cycles": 3}), ("iv", {"cycles": 2, "step": "0.3 V", "read_voltage": "0.3 V"}),
    ("pulsed-iv", {"cycles": 1, "step": "0.5 V"}), ("pulsed-iv", {"step": "0.5 V", "read_delay": "1 ms"}),
    ("pulsed-iv", {"step": "0.5 V", "width": "60 us", "read_delay": 0}),
])
def test_the_planned_size_is_the_size_of_the_program(protocol, values):
    p = PROTOCOLS[protocol](**values)
    program, size = p.program(), p.planned_size()
    assert size.segments == sum(len(t.pattern) * t.repeats for t in program.trains)
    assert size.readings == program.n_measurements


# --- recipe files ----------------------------------------------------------------------------------
RECIPES = {
    "utf16.toml": ('protocol = "potentiation"\n'.encode("utf-16"), "not UTF-8"),
    "deep.toml": (b'protocol = "potentiation"\n[parameters]\npulses = ' + b"[" * 5000 + b"]" * 5000, "nested too deeply"),
    "repeat.toml": (b'[[step]]\nprotocol = "potentiation"\nrepeat = 1000000000\n', "repeat"),
    "huge.toml": (b'protocol = "ltp-ltd"\n[parameters]\ncycles = 10000\npulses = 10000\n', "cycles, pulses"),
    "listed.toml": (b'protocol = ["stdp"]\n', "protocol"),
    "table.toml": (b'protocol = "potentiation"\n[parameters]\namplitude = { value = 1 }\n', "amplitude"),
    "named.toml": (b'protocol = "potentiation"\nname = 3\n', "name"),
}


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_broken_recipes_are_one_line(cli, tmp_path, name):
    body, word = RECIPES[name]
    (tmp_path / name).write_bytes(body)
    start = time.perf_counter()
    refused(cli("run", name, "--sim", "--no-progress"), name, word)
    assert time.perf_counter() - start < 5
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


def test_a_missing_recipe_or_a_folder_is_one_line(cli, tmp_path):
    refused(cli("run", "nowhere.toml", "--sim"), "nowhere.toml", "no such recipe file")
    (tmp_path / "folder.toml").mkdir()
    refused(cli("run", "folder.toml", "--sim"), "folder.toml", "is a folder")


def test_a_recipe_step_lists_the_parameters_it_leaves_at_their_default(tmp_path):
    path = tmp_path / "r.toml"
    path.write_text('protocol = "potentiation"\n[parameters]\npulses = 3\namplitude = "1 V"\n')
    (step,) = load_recipe(path).steps
    assert step.defaults == ("width", "period", "read_voltage", "read_delay", "read_time", "compliance")


# --- bench files -------------------------------------------------------------------------------------
BENCHES = {
    "socket.toml": ('[smu]\ndriver = "keithley2450"\nresource = "TCPIP::127.0.0.1::5025"\n',
                    "smu.resource", "::SOCKET"),
    "garbled.toml": ('[smu]\ndriver = "keithley2450"\nresource = "not a resource"\n', "smu.resource",
                     "GPIB0::24::INSTR"),
    "typo.toml": ('[limits]\nmax_voltag = "2 V"\n[simulator]\n', "limits.max_voltag", "max_voltage"),
    "seed.toml": ('[simulator]\nseed = "one"\n', "simulator.seed", "whole number"),
    "limits.toml": ('limits = [1, 2]\n[simulator]\n', "limits", "must be a table"),
    "device.toml": ('[simulator]\n[simulator.device]\nw_initial = 2\n', "w_initial", "0 to 1"),
    "negative.toml": ('[simulator]\nseries_resistance = "-1 kohm"\n', "simulator.series_resistance", "at least 0 ohm"),
    "bool-seed.toml": ('[simulator]\nseed = true\n', "simulator.seed", "whole number"),
    "big-seed.toml": ('[simulator]\nseed = 9223372036854775808\n', "simulator.seed", "0 to 9223372036854775807"),
    "transport.toml": ('[simulator]\ntransport = "udp"\n', "simulator.transport", "inprocess or tcp"),
    "path.toml": ('[smu]\nresource = "GPIB0::1::INSTR"\n[pulse_generator]\ndriver = "keysight33500"\n'
                  'resource = "GPIB0::2::INSTR"\nseries_resistance = "2 V"\n', "pulse_generator.series_resistance",
                  "not a quantity in ohm"),
    "both.toml": ('[simulator]\n[smu]\nresource = "GPIB0::1::INSTR"\n', "both.toml", "not both"),
}


@pytest.mark.parametrize("name", sorted(BENCHES))
def test_bench_files_are_checked_before_any_instrument_is_opened(cli, tmp_path, name):
    body, *words = BENCHES[name]
    (tmp_path / name).write_text(body)
    with pytest.raises(LabsuiteError) as exc:
        Bench.from_toml(tmp_path / name)
    assert all(w in str(exc.value) for w in words), str(exc.value)
    refused(cli("run", "potentiation", "--bench", name, "--set", "pulses=3"), *words)
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


def test_unreadable_bench_files_are_one_line(cli, tmp_path):
    (tmp_path / "latin1.toml").write_bytes('[bench]\nname = "Büro"\n'.encode("latin-1"))
    refused(cli("run", "potentiation", "--bench", "latin1.toml"), "latin1.toml", "not UTF-8", "0xfc")
    refused(cli("run", "potentiation", "--bench", "absent.toml"), "absent.toml", "no such bench description")


@pytest.mark.parametrize("resource", ["TCPIP0::10.0.0.2::inst0::INSTR", "TCPIP0::10.0.0.2::5025::SOCKET",
                                      "GPIB0::24::INSTR", "USB0::0x05E6::0x2450::04096331::INSTR"])
def test_valid_resource_names_pass(resource):
    assert check_resource(resource, "smu.resource") == resource


@pytest.mark.parametrize("resource, words", [
    ("TCPIP::host::5025", ["port 5025", "'TCPIP0::host::5025::SOCKET'"]),
    ("TCPIP0::host::http::SOCKET", ["socket port 'http'", "1 to 65535"]),
    ("COM3", ["not a VISA resource name"]),
    (17, ["in quotes"]),
])
def test_malformed_resource_names_say_what_to_write(resource, words):
    with pytest.raises(LabsuiteError) as exc:
        check_resource(resource, "smu.resource")
    assert str(exc.value).startswith("smu.resource: ") and all(w in str(exc.value) for w in words)


def test_control_characters_in_names_are_refused_before_anything_is_written(cli, tmp_path):
    refused(cli("run", "a\x00.toml", "--sim"), "not a usable file name")
    refused(cli("run", "potentiation", "--sim", "--set", "pulses=3", "--device-id", "D\x001"), "--device-id", "printable")
    refused(cli("run", "potentiation", "--sim", "--set", "0\x1e0=1"), "not a parameter name")
    assert list(tmp_path.iterdir()) == []


def test_listing_runs_of_a_missing_folder_is_refused_and_creates_nothing(cli, tmp_path):
    refused(cli("runs", "--dir", "nowhere"), "--dir 'nowhere'", "no such folder")
    (tmp_path / "file").write_text("")
    refused(cli("runs", "--dir", "file"), "--dir 'file'", "no such folder")
    assert [p.name for p in tmp_path.iterdir()] == ["file"]


def test_a_parameter_set_twice_is_refused_not_silently_overwritten(tmp_path, capsys, monkeypatch):
    """`--set amplitude=1.5 --set amplitude=2` is ambiguous: refused, naming the value given first."""
    monkeypatch.chdir(tmp_path)
    code = main(["run", "potentiation", "--sim", "--no-progress", "--set", "amplitude=1.5V", "--set", "amplitude=2V"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "amplitude is already set to '1.5V'" in err
    assert list(tmp_path.iterdir()) == []


# --- bench settings: one declaration for the bench file, the CLI and the GUI ---------------------------
SETTING_CASES = [("seed", "-1", "0 to 9223372036854775807"), ("seed", "1.5", "whole number"),
                 ("series_resistance", "-1 kohm", "at least 0 ohm"), ("transport", "udp", "inprocess or tcp"),
                 ("pulse_series_resistance", "2 V", "not a quantity in ohm")]


@pytest.mark.parametrize("name, value, words", SETTING_CASES)
def test_a_bench_setting_is_refused_alike_as_an_option_and_as_a_bench_file_key(cli, tmp_path, name, value, words):
    refused(cli("run", "potentiation", "--sim", f"--{name.replace('_', '-')}={value}"), f"--{name.replace('_', '-')}",
            words)
    (tmp_path / "bench.toml").write_text(f'[simulator]\n{name} = "{value}"\n')
    refused(cli("run", "potentiation", "--bench", "bench.toml"), f"simulator.{name}", words)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bench.toml"]


def test_the_largest_seed_is_taken_exactly_by_option_and_bench_file(tmp_path):
    (tmp_path / "bench.toml").write_text('[simulator]\nseed = "9223372036854775807"\n')
    with Bench.from_toml(tmp_path / "bench.toml") as bench:
        assert bench.simulator["seed"] == 2**63 - 1


@pytest.mark.parametrize("text, seed", [("9007199254740993e0", 9007199254740993), ("1.5e1", 15),
                                        ("9223372036854775807e0", 2**63 - 1)])
def test_a_seed_with_an_exponent_is_taken_exactly_not_through_a_float(text, seed):
    """A float would round 9007199254740993 (2**53 + 1) to ...992: the seed must be the one written."""
    from labsuite.bench_settings import BenchSettings
    from labsuite.core.parameters import declaration

    assert declaration(BenchSettings, "seed").parse(text) == seed


@pytest.mark.parametrize("text, words", [("1e-1", "whole number"), ("1e400", "1.000e+400 is out of range"),
                                         ("1e99999999", "whole number")])
def test_a_seed_that_is_not_a_whole_number_in_range_is_refused_without_computing_it(cli, text, words):
    refused(cli("run", "potentiation", "--sim", f"--seed={text}"), "--seed", words)
