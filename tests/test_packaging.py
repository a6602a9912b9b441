"""One import name, four folders: a built wheel carries and imports all of them."""
import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ["labsuite", "labsuite.drivers", "labsuite.protocols", "labsuite.simulator"]


def test_wheel_contains_and_imports_all_four_packages(tmp_path):
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                            "-w", str(tmp_path), str(ROOT)], capture_output=True, text=True)
    assert build.returncode == 0, build.stderr[-2000:]
    wheel = next(tmp_path.glob("labsuite-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for path in ["labsuite/runner.py", "labsuite/drivers/keithley/keithley2450.py",
                 "labsuite/protocols/potentiation.py", "labsuite/simulator/instruments/keithley2450.py",
                 "labsuite/simulator/models/synaptic_memristor.py", "labsuite/protocols/recipes/potentiation.toml"]:
        assert path in names
    assert any(n.endswith("entry_points.txt") for n in names)
    unpacked = tmp_path / "unpacked"
    zipfile.ZipFile(wheel).extractall(unpacked)
    code = ("import importlib, pathlib, sys; "
            f"mods = [importlib.import_module(m) for m in {PACKAGES!r}]; "
            f"assert all(pathlib.Path(m.__file__).is_relative_to({str(unpacked)!r}) for m in mods), "
            "[m.__file__ for m in mods]")
    env = dict(os.environ, PYTHONPATH=str(unpacked))
    check = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert check.returncode == 0, check.stderr
