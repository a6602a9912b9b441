"""The architecture's import rules (docs/architecture.md), checked on the source tree.

import-linter cannot see this layout (four folders mapped into one ``labsuite`` package), so the
contracts are read straight from the import statements.
"""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {"labsuite": "labsuite", "drivers": "labsuite.drivers", "protocols": "labsuite.protocols",
           "simulator": "labsuite.simulator"}


def modules() -> dict[str, set[str]]:
    """{module: the labsuite modules it imports}."""
    found = {}
    for folder, package in FOLDERS.items():
        for path in (ROOT / folder).rglob("*.py"):
            parts = path.relative_to(ROOT / folder).with_suffix("").parts
            name = ".".join((package, *parts)).removesuffix(".__init__")
            imports = set()
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    imports |= {a.name for a in node.names}
                elif isinstance(node, ast.ImportFrom) and node.module:
                    imports.add(node.module)
            found[name] = {i for i in imports if i.startswith("labsuite")}
    return found


def imports_of(prefix: str) -> list[tuple[str, str]]:
    return [(m, i) for m, deps in modules().items() if m == prefix or m.startswith(prefix + ".") for i in deps]


def under(module: str, *packages: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


def test_tree_is_found():
    assert {"labsuite.runner", "labsuite.drivers.keithley.keithley2450", "labsuite.protocols.potentiation",
            "labsuite.simulator.instruments.keithley2450"} <= set(modules())


@pytest.mark.parametrize("source, forbidden", [
    ("labsuite.protocols", ("labsuite.drivers", "labsuite.simulator", "labsuite.runner", "labsuite.bench")),
    ("labsuite.drivers", ("labsuite.simulator",)),
    ("labsuite.simulator", ("labsuite.drivers", "labsuite.runner", "labsuite.bench", "labsuite.protocols")),
    ("labsuite.analysis", ("labsuite.drivers", "labsuite.simulator", "labsuite.runner", "labsuite.bench",
                           "labsuite.store")),
    ("labsuite.runner", ("labsuite.simulator",)),
    ("labsuite.store", ("labsuite.simulator", "labsuite.drivers")),
    ("labsuite.plugins", ("labsuite",)),   # protocols, models, registry and twins all read plugins through it
])
def test_layer_does_not_import(source, forbidden):
    bad = [(m, i) for m, i in imports_of(source) if under(i, *forbidden)]
    assert not bad, f"{source} must not import {forbidden}: {bad}"


def test_only_the_entry_points_that_build_simulated_devices_reach_into_the_simulator():
    """The bench factory (simulated, replayed), `labsuite sim serve`, the sweep runner's direct mode, the twin (resim), and the
    GUI's bench panel, which lists the simulated device models to choose from (it builds the bench
    through Bench.simulated)."""
    core = [m for m in modules() if not under(m, "labsuite.simulator", "labsuite.drivers", "labsuite.protocols")]
    reaching = sorted({m for m in core for i in modules()[m] if under(i, "labsuite.simulator")})
    assert reaching == ["labsuite.bench_factory", "labsuite.cli", "labsuite.gui.bench_panel", "labsuite.sweep",
                        "labsuite.twin"]


def test_core_never_imports_a_gui():
    """Only the GUI itself, and the command line whose `labsuite gui` starts it (lazily, in that command)."""
    assert not [(m, i) for m, deps in modules().items() for i in deps
                if "gui" in i and "gui" not in m and m != "labsuite.cli"]
