"""`labsuite new protocol`: a skeleton that, built and installed as a user would, is listed by
`labsuite protocols`, runs from the command line and its recipe, shows its form in the GUI, and
passes its own tests."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from labsuite.cli import main
from labsuite.protocols import PROTOCOLS
from labsuite.store import read_run


def build_and_install(project: Path, site: Path) -> None:
    """Build ``project``'s wheel from its own pyproject (setuptools, no network, as
    ``pip install --no-build-isolation`` would) and unpack it into ``site`` as an installer does."""
    wheels = project.parent / "wheels"
    build = subprocess.run([sys.executable, "-c", "import sys, setuptools.build_meta as backend; "
                            "print(backend.build_wheel(sys.argv[1]))", str(wheels)],
                           cwd=project, capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr[-2000:]
    zipfile.ZipFile(wheels / build.stdout.split()[-1]).extractall(site)


def test_a_new_protocol_installs_lists_runs_shows_its_form_and_passes_its_tests(site, tmp_path, capsys, qtbot,
                                                                              monkeypatch):
    from labsuite.gui.bench_panel import BenchPanel
    from labsuite.gui.protocol_panel import ProtocolPanel

    project = tmp_path / "ramp-read"
    assert main(["new", "protocol", "ramp-read", "--dir", str(project)]) == 0
    written = capsys.readouterr().out.splitlines()[:-1]
    assert sorted(Path(p).relative_to(project).as_posix() for p in written) == [
        "pyproject.toml", "ramp-read.toml", "ramp_read.py", "tests/test_ramp_read.py"]
    build_and_install(project, site)
    monkeypatch.setattr(PROTOCOLS, "_table", None)   # read the entry points again, as the next command would

    assert main(["protocols"]) == 0
    assert "ramp-read: Ramp read\n    pulses = 10 (1 to 10000): number of write pulses" in capsys.readouterr().out
    summaries = []
    for target in ("ramp-read", str(project / "ramp-read.toml")):
        assert main(["run", target, "--sim", "--json", "--no-progress", "--out", str(tmp_path / "runs")]) == 0
        summaries.append(json.loads(capsys.readouterr().out))
    assert summaries[0]["figures"] == summaries[1]["figures"]   # the recipe holds the defaults
    assert summaries[0]["figures"]["g_last"] > 2 * summaries[0]["figures"]["g_first"]   # 1.5 V pulses potentiate
    assert read_run(tmp_path / "runs" / summaries[0]["run_file"]).status == "completed"

    panel, bench = ProtocolPanel(), BenchPanel()
    qtbot.addWidget(panel)
    qtbot.addWidget(bench)
    panel.picker.setCurrentIndex(panel.picker.findData("ramp-read"))
    assert list(panel.form.fields) == [p.name for p in PROTOCOLS["ramp-read"].parameters]
    assert panel.form.validate(bench.limits, None) == ""
    panel.form.fields["period"].setText("1 ms")      # no room for the write, the read and a rest
    assert panel.form.validate(bench.limits, None).startswith("period = 1 ms is out of range: allowed at least")

    env = dict(os.environ, PYTHONPATH=str(site))
    tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(project)],
                           cwd=project, capture_output=True, text=True, env=env, timeout=600)
    assert tests.returncode == 0 and "2 passed" in tests.stdout, tests.stdout[-3000:] + tests.stderr[-2000:]


@pytest.mark.parametrize("argv, message", [
    (["Ramp_Read"], "NAME: 'Ramp_Read': write lowercase words joined by hyphens, e.g. ramp-read"),
    (["potentiation"], "NAME: 'potentiation' is already a protocol (labsuite.protocols.potentiation); choose another "
                      "name"),
    (["ramp-read", "--dir", "."], "--dir: '.' already exists and is not an empty folder; give a new one"),
    (["class"], "NAME: 'class' makes the module name class, a Python keyword: `from class import Class` "
                "cannot be written; choose another name"),
    (["json"], "NAME: 'json' makes the module name json, which is taken (the module json): its entry point "
               "would load that one; choose another name"),
    (["labsuite"], "NAME: 'labsuite' makes the module name labsuite, which is taken (the module labsuite): its "
                   "entry point would load that one; choose another name"),
])
def test_a_bad_name_or_a_used_folder_is_refused_and_nothing_is_written(tmp_path, monkeypatch, capsys, argv, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("kept")
    assert main(["new", "protocol", *argv]) == 2
    assert capsys.readouterr().err == f"labsuite: error: {message}\n"
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]
