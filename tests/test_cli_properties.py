"""Property tests of the command line's contract (issue #12), whatever a user types or feeds it:

- no traceback: ``labsuite.cli.main(argv)`` returns or exits, it never lets an exception out;
- exit status 0, or 2 with exactly one line ``labsuite: error: ...`` on stderr;
- no file is created outside the ``--out`` folder (and the ``--plot`` file asked for).

Inputs: ``run PROTOCOL --sim`` with random ``--set`` names, values, units and garbage, ``--plot``,
``--out``, ``--seed`` and ``--device-param``; recipe and bench files (valid TOML mutated, wrong
types, other encodings, random bytes); run files given to ``export`` and ``replay`` (truncated,
bytes flipped). Runs that are accepted really run, so every base program is short (3 pulses).
Derandomized, so CI sees the same examples every time.
"""
from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, assume, event, example, given, settings
from hypothesis import strategies as st

from labsuite.cli import main
from labsuite.protocols import PROTOCOLS

FAST = settings(derandomize=True, database=None, deadline=20_000, max_examples=50,
                suppress_health_check=[HealthCheck.too_slow], phases=(Phase.explicit, Phase.generate, Phase.shrink))
PER_EXAMPLE_SECONDS = 60   # a hang is a failure, not a stuck CI job


def invoke(argv: list[str], cwd: Path) -> tuple[int, str, str]:
    """Run ``labsuite argv`` in process from ``cwd``: (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    here = os.getcwd()

    def hung(*_):
        raise TimeoutError(f"labsuite {argv} did not return within {PER_EXAMPLE_SECONDS} s")
    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(PER_EXAMPLE_SECONDS)
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(argv)
            except SystemExit as exc:
                code = exc.code
    finally:
        os.chdir(here)
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    return code, out.getvalue(), err.getvalue()


def listing(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def holds_contract(argv: list[str], files: dict[str, bytes] | None = None, out: str | None = None,
                   plot: str | None = None) -> int:
    """Run ``argv`` in a fresh folder holding ``files``; assert the contract; return the exit status."""
    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp)
        for name, body in (files or {}).items():
            (cwd / name).write_bytes(body)
        before = listing(cwd)
        code, _, err = invoke(argv, cwd)
        event(f"exit status {code}")
        assert code in (0, 2), (argv, code, err)
        if code == 2:   # one line as a terminal shows it: a single newline, at the end, and no carriage return
            assert err.startswith("labsuite: error: ") and err.count("\n") == 1 and err.endswith("\n"), (argv, err)
            assert "\r" not in err, (argv, err)
        new = listing(cwd) - before
        allowed = {p for p in new if out is not None and _inside(cwd, cwd / p, cwd / out)}
        if plot is not None:
            allowed |= {p for p in new if (cwd / p).resolve() == (cwd / plot).resolve()}
            allowed |= {p for p in new if (cwd / p).resolve() in (cwd / plot).resolve().parents}
        assert new <= allowed, (argv, sorted(new - allowed))
        return code


def _inside(cwd: Path, path: Path, folder: Path) -> bool:
    """``path`` is the folder or within it, or one of the folders made to hold it."""
    path, folder = path.resolve(), folder.resolve()
    return path == folder or folder in path.parents or path in folder.parents and cwd.resolve() in path.parents


# --- values a user might type ---------------------------------------------------------------------------
UNITS = ["", "V", "mV", "kV", "uV", "µV", "s", "ms", "us", "ns", "A", "mA", "uA", "nA", "ohm", "kohm", "S", "uS",
         "Hz", "%", "ppm", "percent", "V/V", "V**2", "V**999999999", "1/s", "m", "eV", "K", "degC", "furlong", "V V",
         "e", "E", ")", "(", "**", "V^-1e9", "inf", "nan"]
NUMBERS = st.one_of(st.integers(-10**25, 10**25).map(str), st.floats(allow_nan=True, allow_infinity=True).map(repr),
                    st.sampled_from(["1.5", "-1.5", "0", "3", "1e-3", "1e308", "-0", ".5", "5.", "1,5", "1_0",
                                     "0x10", "1e", "--1", "+2", "1/0", "1 5", ""]))
PLAUSIBLE = st.sampled_from(["1.2 V", "0.9V", "50 mV", "-0.1 V", "200 us", "60 ms", "1 ms", "20ms", "500 uA", "2 mA",
                             "0 s", "0.1", "0.5", "5 %"])
VALUES = st.one_of(PLAUSIBLE, st.builds(lambda n, sep, u: f"{n}{sep}{u}", NUMBERS, st.sampled_from(["", " ", "  "]),
                             st.sampled_from(UNITS)),
                   st.text(max_size=12))
POTENTIATION = [p.name for p in PROTOCOLS["potentiation"].parameters if p.name != "pulses"]
SET_NAMES = st.one_of(st.sampled_from(POTENTIATION), st.sampled_from(["pulse", "Amplitude", "", " ", "amplitude "]),
                      st.text(max_size=6))
DEVICE_NAMES = st.sampled_from(["w_initial", "g_min", "g_max", "tau_volatile", "read_noise", "c2c_sigma", "v_set",
                                "rate_set", "volatile_gain", "d2d_sigma", "tau", ""])


def settings_of(pairs: list[tuple[str, str]], option: str) -> list[str]:
    argv = []
    for name, value in pairs:
        argv += [option, f"{name}={value}"]
    return argv


@settings(FAST, max_examples=40)
@given(st.lists(st.tuples(SET_NAMES, VALUES), min_size=1, max_size=3), st.sampled_from(["potentiation", "depression"]))
@example([("read_voltage", "50 mV"), ("width", "200us")], "depression")
def test_run_with_random_parameters(pairs, protocol):
    argv = ["run", protocol, "--sim", "--no-progress", "--out", "runs", "--set", "pulses=3", *settings_of(pairs, "--set")]
    holds_contract(argv, out="runs")


PLOTS = st.one_of(st.sampled_from(["g.png", "g.svg", "missing/g.png", "g.xyz", "g", ".png", "runs", "g.PNG", "",
                                   "g.png/x.png", "\x00.png", "out.h5"]), st.text(max_size=10))
OUTS = st.one_of(st.sampled_from(["runs", "a/b/c", "file.txt", "file.txt/runs", "", ".", "..", "\x00",
                                  "/proc/labsuite"]), st.text(min_size=1, max_size=10))
SEEDS = st.one_of(st.integers(-2**70, 2**70).map(str), st.sampled_from(["1.5", "", "x", "0x10", "1e3", " 7 "]))


@settings(FAST, max_examples=30)
@given(st.one_of(st.none(), PLOTS), OUTS, SEEDS, st.lists(st.tuples(DEVICE_NAMES, VALUES), max_size=2),
       st.one_of(st.sampled_from(["D1", "../../up", "a/b", "\x00", ""]), st.text(max_size=8)))
@example("g.svg", "a/b/c", "7", [("w_initial", "50 %")], "D1")
def test_run_with_random_plot_out_seed_and_device(plot, out, seed, device, label):
    argv = ["run", "potentiation", "--sim", "--no-progress", "--set", "pulses=3", "--out", out, "--seed", seed,
            "--device-id", label, "--tag", label, *settings_of(device, "--device-param")]
    if plot is not None:
        argv += ["--plot", plot]
    holds_contract(argv, files={"file.txt": b"taken"}, out=out, plot=plot)


# --- files --------------------------------------------------------------------------------------------
RECIPE = 'name = "r"\n[[step]]\nprotocol = "potentiation"\nrepeat = 2\nparameters = { pulses = 3, amplitude = "1.2 V" }\n'
BENCH = ('[bench]\nname = "b"\n[limits]\nmax_voltage = "5 V"\nmax_compliance = "1 mA"\n[simulator]\nseed = 3\n'
         'model = "synaptic-memristor"\nseries_resistance = "1 kohm"\n[simulator.device]\nw_initial = 0.2\n')
TOML_VALUES = st.sampled_from(['[1, 2]', '{ a = 1 }', '1979-05-27', 'true', '"x"', '1e999', '-3', '99999999999999999999',
                               '"5 %"', '"1 V**999999999"', '[[[[[[1]]]]]]', '"1.2 V"', 'nan', '""', "'''\n'''"])
NOT_DIGITS = st.characters(blacklist_categories=("Nd",))


@st.composite
def mutated(draw, text: str) -> bytes:
    """``text`` with one mutation: a cut, an insertion, a value swapped, another encoding, or noise."""
    kind = draw(st.sampled_from(["cut", "insert", "value", "encoding", "noise", "none"]))
    if kind == "cut":
        i = draw(st.integers(0, len(text)))
        return (text[:i] + text[i + draw(st.integers(1, 20)):]).encode()
    if kind == "insert":
        i = draw(st.integers(0, len(text)))
        return (text[:i] + draw(st.text(NOT_DIGITS, min_size=1, max_size=5)) + text[i:]).encode()
    if kind == "value":
        lines = text.splitlines()
        which = [k for k, line in enumerate(lines) if " = " in line]
        k = draw(st.sampled_from(which))
        lines[k] = lines[k].split(" = ")[0] + " = " + draw(TOML_VALUES)
        return "\n".join(lines).encode()
    if kind == "encoding":
        return text.replace('"r"', '"Büro"').replace('"b"', '"Büro"').encode(draw(st.sampled_from(
            ["utf-16", "latin-1", "utf-32"])))
    if kind == "noise":
        return draw(st.binary(max_size=200))
    return text.encode()


@settings(FAST, max_examples=40)
@given(mutated(RECIPE))
def test_recipe_files(body):
    holds_contract(["run", "recipe.toml", "--sim", "--no-progress", "--out", "runs"], {"recipe.toml": body},
                   out="runs")


@settings(FAST, max_examples=30)
@given(mutated(BENCH))
def test_bench_files(body):
    holds_contract(["run", "potentiation", "--bench", "bench.toml", "--set", "pulses=3", "--no-progress", "--out",
                    "runs"], {"bench.toml": body}, out="runs")


@pytest.fixture(scope="module")
def run_file() -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        code, out, err = invoke(["run", "potentiation", "--sim", "--no-progress", "--set", "pulses=3", "--out", "runs"],
                                Path(tmp))
        assert code == 0, err
        return next((Path(tmp) / "runs").glob("*.h5")).read_bytes()


def test_damaged_run_files_given_to_export_and_replay(run_file):
    """In a subprocess each (a damaged file can hang h5py below Python), without shrinking."""
    @settings(FAST, max_examples=8, phases=(Phase.explicit, Phase.generate))
    @given(st.sampled_from(["truncate", "flip"]), st.integers(8, len(run_file) - 1), st.integers(1, 255),
           st.sampled_from(["export", "replay"]))
    def check(damage, at, xor, command):
        body = bytearray(run_file)
        if damage == "truncate":
            body = body[:at]
        else:
            body[at] ^= xor
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "run.h5").write_bytes(bytes(body))
            argv = [command, "run.h5"] + (["--no-progress"] if command == "replay" else ["--out", "csv"])
            done = subprocess.run([sys.executable, "-m", "labsuite", *argv], cwd=tmp, capture_output=True, text=True,
                                  timeout=PER_EXAMPLE_SECONDS)
            assert done.returncode in (0, 2), done.stderr
            if done.returncode == 2:
                assert done.stderr.startswith("labsuite: error: ") and done.stderr.count("\n") == 1, done.stderr
            assert listing(Path(tmp)) - {"run.h5"} <= {"csv"} | {f"csv/{p.name}" for p in (Path(tmp) / "csv").glob("*")}
    check()


@FAST
@given(st.binary(max_size=64), st.sampled_from(["export", "replay"]))
def test_files_that_are_not_run_files(body, command):
    assume(not body.startswith(b"\x89HDF\r\n\x1a\n"))   # those are damaged run files, above
    argv = [command, "run.h5"] + (["--no-progress"] if command == "replay" else [])
    assert holds_contract(argv, {"run.h5": body}) == 2


@FAST
@given(st.lists(st.one_of(st.sampled_from(["runs", "--since", "--dir", "--status", "sim", "serve", "--port",
                                           "export", "replay", "--speed", "instruments", "--timeout", "--smu",
                                           "protocols", "--json", "-h"]), VALUES), min_size=1, max_size=4))
def test_other_commands_with_random_arguments(argv):
    if "sim" in argv and "serve" in argv or "instruments" in argv or "gui" in argv or "-h" in argv:
        return   # serve runs until interrupted; instruments scans the VISA bus; -h prints help and exits 0
    holds_contract(argv, out="runs")


@pytest.mark.parametrize("argv", [["run", "potentiation", "--sim", "--set", "amplitude=5%"],
                                  ["run", "missing.toml", "--sim"], ["runs", "--since", "yesterday"]])
def test_the_installed_entry_point_keeps_the_contract(tmp_path, argv):
    """The same contract through ``python -m labsuite``, as a shell runs it."""
    done = subprocess.run([sys.executable, "-m", "labsuite", *argv], cwd=tmp_path, capture_output=True, text=True,
                          timeout=PER_EXAMPLE_SECONDS)
    assert done.returncode == 2 and done.stderr.startswith("labsuite: error: ") and done.stderr.count("\n") == 1
    assert list(tmp_path.iterdir()) == []
