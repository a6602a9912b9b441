"""Plugins: protocols, device models and instruments that another distribution declares as entry
points appear wherever the built-in ones do; a broken or clashing plugin is one warning line."""
from __future__ import annotations

import json
import logging
import re
import textwrap
from pathlib import Path

import numpy as np
import pytest

from labsuite import registry
from labsuite.cli import main
from labsuite.protocols import PROTOCOLS, Potentiation
from labsuite.simulator.models import MODELS, make_model
from labsuite.simulator.station import TWINS
from labsuite.store import read_run

PROTOCOL = '''
from labsuite.protocols import Potentiation

class LabPotentiation(Potentiation):
    """Potentiation under another name: a protocol a lab adds."""

    name = "lab-potentiation"
    title = "Lab potentiation"
'''
MODEL = '''
from dataclasses import dataclass

from labsuite.simulator.models import SynapticMemristor, SynapticMemristorParams, param

@dataclass(frozen=True)
class LabMemristorParams(SynapticMemristorParams):
    g_min: float = param(50e-6, "S", d2d=True, above=0)

class LabMemristor(SynapticMemristor):
    """The synaptic memristor with a 50 µS floor: a device model a lab adds."""

    name = "lab-memristor"
    params_type = LabMemristorParams
'''
DRIVER = '''
from labsuite.core.instruments import Registration
from labsuite.drivers.keithley.keithley2450 import Keithley2450

class Acme2450(Keithley2450):
    """A 2450 sold under another name: an instrument variant a lab adds."""

    registrations = (Registration("acme2450", "smu", r"ACME,MODEL 2450,", Keithley2450.capabilities),)
'''
TWIN = '''
from labsuite.simulator.instruments.keithley2450 import Keithley2450

class Acme2450(Keithley2450):
    """The simulated 2450 answering as the Acme variant."""

    simulates = {"acme2450": None}
    idn = "ACME,MODEL 2450,1,1.0"
'''


def install(site: Path, distribution: str, modules: dict[str, str], entry_points: dict[str, dict[str, str]]) -> None:
    """``distribution`` as an installer leaves it in ``site``: its modules and a ``.dist-info`` holding
    METADATA and entry_points.txt."""
    for module, text in modules.items():
        (site / f"{module}.py").write_text(textwrap.dedent(text), encoding="utf-8")
    info = site / f"{distribution.replace('-', '_')}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {distribution}\nVersion: 0.1\n", encoding="utf-8")
    (info / "entry_points.txt").write_text("".join(
        f"[{group}]\n" + "".join(f"{name} = {value}\n" for name, value in found.items()) + "\n"
        for group, found in entry_points.items()), encoding="utf-8")


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_a_plugin_protocol_is_listed_and_runs_from_the_command_line(site, tmp_path, capsys):
    install(site, "lab-protocols", {"lab_protocols": PROTOCOL},
            {"labsuite.protocols": {"lab-potentiation": "lab_protocols:LabPotentiation"}})
    assert PROTOCOLS["lab-potentiation"].title == "Lab potentiation" and "potentiation" in PROTOCOLS
    status, out, _ = cli(capsys, "protocols")
    assert status == 0 and "lab-potentiation: Lab potentiation\n    pulses = 50 (1 to 100000)" in out
    status, out, err = cli(capsys, "run", "lab-potentiation", "--sim", "--set", "pulses=5", "--json",
                           "--no-progress", "--out", str(tmp_path / "runs"))
    assert status == 0, err
    summary = json.loads(out)
    assert summary["protocol"] == "lab-potentiation" and summary["figures"]["delta_g"] > 0   # the pulses potentiate
    assert read_run(tmp_path / "runs" / summary["run_file"]).status == "completed"


def test_a_plugin_device_model_is_chosen_with_model_and_reads_its_own_g_min(site, tmp_path, capsys):
    install(site, "lab-models", {"lab_models": MODEL},
            {"labsuite.models": {"lab-memristor": "lab_models:LabMemristor"}})
    assert "lab-memristor" in MODELS and "synaptic-memristor" in MODELS
    g = {}
    for model in ("synaptic-memristor", "lab-memristor"):
        status, out, err = cli(capsys, "run", "potentiation", "--sim", "--model", model, "--set", "pulses=3",
                               "--json", "--no-progress", "--out", str(tmp_path / "runs"))
        assert status == 0, err
        g[model] = json.loads(out)["figures"]["g_min"]
    assert g["synaptic-memristor"] == pytest.approx(20e-6, rel=0.02)   # G_min of each model, read at w = 0
    assert g["lab-memristor"] == pytest.approx(50e-6, rel=0.02)


def test_a_plugin_instrument_and_its_twin_join_the_registry_and_play_a_run(site, tmp_path, capsys):
    install(site, "acme-instruments", {"acme_driver": DRIVER, "acme_twin": TWIN},
            {"labsuite.instruments": {"acme2450": "acme_driver:Acme2450", "acme2450-twin": "acme_twin:Acme2450"}})
    assert registry.INSTRUMENTS["acme2450"].driver.__module__ == "acme_driver"
    assert registry.match("ACME,MODEL 2450,1,1.0").name == "acme2450"
    assert TWINS["acme2450"].cls.__module__ == "acme_twin" and "acme2450" not in [
        name for name, entry in registry.INSTRUMENTS.items() if entry.driver.__module__ == "acme_twin"]
    status, out, _ = cli(capsys, "instruments", "--simulated")
    assert "smu\tacme2450" in out.splitlines()
    status, out, err = cli(capsys, "run", "potentiation", "--sim", "--smu", "acme2450", "--set", "pulses=3",
                           "--json", "--no-progress", "--out", str(tmp_path / "runs"))
    assert status == 0, err
    assert json.loads(out)["figures"]["delta_g"] > 0


BROKEN = {
    "missing": ("missing_module:Thing", "ModuleNotFoundError: No module named 'missing_module'"),
    "not-a-protocol": ("lab_broken:NotAProtocol", "is not a concrete Protocol subclass"),
    "potentiation": ("lab_broken:Clash", "'potentiation' is the name of a built-in protocol; give the plugin "
                                         "another name"),
    "lab-ltp": ("lab_broken:Misnamed", "Misnamed.name is 'lab-ltp-2', not the entry point's name 'lab-ltp'; "
                                       "give both the same name"),
    "lab-potentiation": ("lab_protocols:LabPotentiation", "'lab-potentiation' is already the name of a protocol "
                                                          "from entry point lab-potentiation = "
                                                          "lab_protocols:LabPotentiation (labsuite.protocols) of "
                                                          "lab-protocols 0.1"),
}


def test_a_broken_or_clashing_plugin_is_one_line_naming_it_and_the_rest_still_works(site, tmp_path, capsys, caplog):
    install(site, "lab-protocols", {"lab_protocols": PROTOCOL},
            {"labsuite.protocols": {"lab-potentiation": "lab_protocols:LabPotentiation"}})
    install(site, "other-lab", {"lab_broken": '''
        from labsuite.protocols import Potentiation

        class NotAProtocol:
            name = "not-a-protocol"

        class Clash(Potentiation):
            name = "potentiation"

        class Misnamed(Potentiation):
            name = "lab-ltp-2"
        '''}, {"labsuite.protocols": {name: value for name, (value, _) in BROKEN.items()}})
    with caplog.at_level(logging.WARNING, logger="labsuite.core.plugins"):
        status, out, _ = cli(capsys, "protocols")
    assert status == 0
    lines = [r.getMessage() for r in caplog.records if r.name == "labsuite.core.plugins"]
    assert len(lines) == len(BROKEN) and all("\n" not in line for line in lines)
    for name, (value, reason) in BROKEN.items():
        assert [line for line in lines if line.startswith(f"plugin entry point {name} = {value} "
                                                          f"(labsuite.protocols) of other-lab 0.1 left out: ")
                and reason in line], (name, lines)
    assert PROTOCOLS["potentiation"] is Potentiation and PROTOCOLS["lab-potentiation"].__module__ == "lab_protocols"
    assert not {"not-a-protocol", "lab-ltp", "lab-ltp-2"} & set(PROTOCOLS) and "missing" not in out
    status, _, err = cli(capsys, "run", "potentiation", "--sim", "--set", "pulses=3", "--no-progress",
                         "--out", str(tmp_path / "runs"))
    assert status == 0, err


def test_a_model_plugin_of_the_wrong_kind_is_left_out_and_a_model_is_still_built(site, caplog):
    install(site, "lab-bad-model", {"lab_bad_model": PROTOCOL},
            {"labsuite.models": {"lab-potentiation": "lab_bad_model:LabPotentiation"}})
    with caplog.at_level(logging.WARNING, logger="labsuite.core.plugins"):
        assert "lab-potentiation" not in MODELS
    assert "is not a concrete DeviceModel subclass" in caplog.text and "lab-bad-model 0.1" in caplog.text
    assert make_model("synaptic-memristor", np.random.default_rng(0)).name == "synaptic-memristor"


def test_the_gui_lists_plugin_protocols_and_models_and_shows_the_form(site, qtbot):
    from labsuite.gui.bench_panel import BenchPanel
    from labsuite.gui.protocol_panel import ProtocolPanel

    install(site, "lab-protocols", {"lab_protocols": PROTOCOL},
            {"labsuite.protocols": {"lab-potentiation": "lab_protocols:LabPotentiation"}})
    install(site, "lab-models", {"lab_models": MODEL},
            {"labsuite.models": {"lab-memristor": "lab_models:LabMemristor"}})
    panel, bench = ProtocolPanel(), BenchPanel()
    qtbot.addWidget(panel)
    qtbot.addWidget(bench)
    assert bench.model.findText("lab-memristor") >= 0
    panel.picker.setCurrentIndex(panel.picker.findData("lab-potentiation"))
    assert panel.picker.currentText() == "Lab potentiation  [lab-potentiation]"
    assert list(panel.form.fields) == [p.name for p in Potentiation.parameters]
    assert panel.form.validate(bench.limits, None) == ""
    assert panel.form.protocol.name == "lab-potentiation"


def test_a_plugin_that_exits_while_it_is_imported_is_left_out_not_labsuite_ended(site, tmp_path, capsys, caplog):
    """A plugin module that calls sys.exit at import (a script with its own argument parsing, say)
    is a broken plugin like any other: one line naming it, and the command still runs."""
    install(site, "lab-script", {"lab_script": "import sys\nsys.exit(3)\n"},
            {"labsuite.protocols": {"lab-script": "lab_script:Script"}})
    with caplog.at_level(logging.WARNING, logger="labsuite.core.plugins"):
        status, out, _ = cli(capsys, "protocols")
    assert status == 0 and re.search(r"^potentiation\b.*: Potentiation \(LTP\)$", out, re.M)
    assert ("plugin entry point lab-script = lab_script:Script (labsuite.protocols) of lab-script 0.1 left out: "
            "SystemExit: 3") in caplog.text
