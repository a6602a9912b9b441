"""One import name, four folders: a built wheel carries and imports all of them."""
import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ["labsuite", "labsuite.drivers", "labsuite.protocols", "labsuite.simulator"]
FOLDERS = {"labsuite": "labsuite", "drivers": "labsuite/drivers", "protocols": "labsuite/protocols",
           "simulator": "labsuite/simulator"}


def source_files() -> list[str]:
    """Every module of the four folders, as its path inside the wheel."""
    return [f"{wheel_dir}/{path.relative_to(ROOT / folder).as_posix()}"
            for folder, wheel_dir in FOLDERS.items() for path in (ROOT / folder).rglob("*.py")
            if (path.parent / "__init__.py").exists() and "__pycache__" not in path.parts]


def test_wheel_contains_and_imports_all_four_packages(tmp_path):
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                            "-w", str(tmp_path), str(ROOT)], capture_output=True, text=True)
    assert build.returncode == 0, build.stderr[-2000:]
    wheel = next(tmp_path.glob("labsuite-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = sorted(set(source_files()) - names)
    assert not missing, f"not in the wheel (list their packages in pyproject.toml): {missing}"
    assert "labsuite/protocols/recipes/potentiation.toml" in names
    assert "labsuite/templates/protocol/protocol.py.tmpl" in names   # for labsuite new protocol
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
