"""The architecture's import rules (docs/architecture.md), checked on the source tree and at import time.

import-linter cannot see this layout (four folders mapped into one ``labsuite`` package), so the
contracts are read straight from the import statements; what a fresh interpreter loads is checked too,
since a package's ``__init__`` runs whenever anything under it is imported.
"""
import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {"labsuite": "labsuite", "drivers": "labsuite.drivers", "protocols": "labsuite.protocols",
           "simulator": "labsuite.simulator"}
KERNEL_THIRD_PARTY = {"numpy", "pint"}
CORE, ANALYSIS, PROTOCOLS = "labsuite.core", "labsuite.analysis", "labsuite.protocols"
DRIVERS, SIMULATOR, APPLICATION, GUI, CLI = ("labsuite.drivers", "labsuite.simulator", "labsuite", "labsuite.gui",
                                             "labsuite.cli")
# package: the packages it may import. The application is every other module of labsuite/ (bench, runner,
# store, experiment, ...); the command line sits on top because `labsuite gui` starts the GUI.
LAYERS = {
    CORE: set(),
    ANALYSIS: {CORE},
    PROTOCOLS: {CORE, ANALYSIS},
    DRIVERS: {CORE},
    SIMULATOR: {CORE},
    APPLICATION: {CORE, ANALYSIS, PROTOCOLS, DRIVERS, SIMULATOR},
    GUI: {CORE, ANALYSIS, PROTOCOLS, DRIVERS, SIMULATOR, APPLICATION},
    CLI: {CORE, ANALYSIS, PROTOCOLS, DRIVERS, SIMULATOR, APPLICATION, GUI},
}


def parsed() -> dict[str, ast.Module]:
    """{module: its syntax tree}, for every module of the four folders."""
    found = {}
    for folder, package in FOLDERS.items():
        for path in (ROOT / folder).rglob("*.py"):
            parts = path.relative_to(ROOT / folder).with_suffix("").parts
            found[".".join((package, *parts)).removesuffix(".__init__")] = ast.parse(path.read_text(encoding="utf-8"))
    return found


def imported(tree: ast.Module) -> set[str]:
    """Every module a syntax tree imports (``from X import y`` counts as X), at any depth."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def modules() -> dict[str, set[str]]:
    """{module: the labsuite modules it imports}."""
    return {m: {i for i in imported(tree) if under(i, "labsuite")} for m, tree in parsed().items()}


def imports_of(prefix: str) -> list[tuple[str, str]]:
    return [(m, i) for m, deps in modules().items() if m == prefix or m.startswith(prefix + ".") for i in deps]


def under(module: str, *packages: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


def package_of(module: str) -> str:
    """The layer a module belongs to (``labsuite.__main__`` runs the command line)."""
    if module == "labsuite.__main__":
        return CLI
    return next((p for p in LAYERS if p != APPLICATION and under(module, p)), APPLICATION)


def package_graph() -> dict[str, dict[str, list[tuple[str, str]]]]:
    """{package: {package it imports: the (module, import) pairs that make the edge}}."""
    graph = {p: {} for p in LAYERS}
    for m, deps in modules().items():
        for i in deps:
            if package_of(m) != package_of(i):
                graph[package_of(m)].setdefault(package_of(i), []).append((m, i))
    return graph


def find_cycle(graph: dict[str, dict]) -> list[str]:
    """A cycle of ``graph`` as [a, b, ..., a], or [] if it has none (depth-first search)."""
    state: dict[str, str] = {}
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = "open"
        path.append(node)
        for nxt in graph[node]:
            if state.get(nxt) == "open":
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = "done"
        path.pop()
        return []

    return next((c for node in graph if node not in state and (c := visit(node))), [])


def loaded_by(statement: str, tmp_path: Path) -> set[str]:
    """The modules a fresh interpreter holds after ``statement`` (run outside the source tree)."""
    code = f"import sys\n{statement}\nprint('\\n'.join(sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return set(done.stdout.split())


def import_all(package: str) -> str:
    """A statement importing ``package`` and every module under it."""
    return (f"import importlib, pkgutil, {package} as p\n"
            f"for m in pkgutil.walk_packages(p.__path__, '{package}.'):\n    importlib.import_module(m.name)")


def test_tree_is_found():
    assert {"labsuite.runner", "labsuite.core.program", "labsuite.drivers.keithley.keithley2450",
            "labsuite.protocols.potentiation", "labsuite.simulator.instruments.keithley2450"} <= set(modules())


def test_package_graph_has_no_cycle():
    graph = package_graph()
    cycle = find_cycle(graph)
    assert not cycle, " -> ".join(cycle) + ": " + "; ".join(
        f"{a} -> {b} via {graph[a][b][:3]}" for a, b in zip(cycle, cycle[1:]))


def test_packages_import_only_the_layers_below():
    """core at the bottom; analysis; protocols (may use analysis), drivers, simulator; the application;
    the GUI; the command line."""
    bad = {(a, b): edge[:3] for a, edges in package_graph().items() for b, edge in edges.items()
           if b not in LAYERS[a]}
    assert not bad, bad


def test_kernel_imports_nothing_above_it():
    """The standard library, numpy and pint: nothing from labsuite outside labsuite.core."""
    bad = {(m, i) for m, tree in parsed().items() if under(m, CORE) for i in imported(tree)
           if not (under(i, CORE) or i.split(".")[0] in sys.stdlib_module_names | KERNEL_THIRD_PARTY)}
    assert not bad, bad


@pytest.mark.parametrize("source, forbidden", [
    ("labsuite.runner", ("labsuite.simulator",)),
    ("labsuite.store", ("labsuite.simulator", "labsuite.drivers", "labsuite.runner", "labsuite.bench")),
    ("labsuite.core.plugins", ("labsuite",)),   # protocols, models, registry and twins all read plugins through it
])
def test_module_does_not_import(source, forbidden):
    bad = [(m, i) for m, i in imports_of(source) if under(i, *forbidden)]
    assert not bad, f"{source} must not import {forbidden}: {bad}"


def test_only_the_entry_points_that_build_simulated_devices_reach_into_the_simulator():
    """The bench factory (simulated, replayed), `sim serve`, the sweep runner's direct mode, the twin (resim), and the
    GUI's bench panel, which lists the simulated device models to choose from (it builds the bench
    through Bench.simulated)."""
    found = modules()   # parsed once: every module's imports
    above = [m for m in found if package_of(m) in (APPLICATION, GUI, CLI)]
    reaching = sorted({m for m in above for i in found[m] if under(i, SIMULATOR)})
    assert reaching == ["labsuite.bench_factory", "labsuite.cli", "labsuite.gui.bench_panel", "labsuite.sweep",
                        "labsuite.twin"]


HEAVY = ("pymeasure", "pyvisa", "h5py", "PyQt6", "pyqtgraph", "matplotlib", "pandas")  # pint loads scipy if present


@pytest.mark.parametrize("package, third_party", [
    (CORE, HEAVY),
    (ANALYSIS, ("pymeasure", "pyvisa", "h5py", "PyQt6", "pyqtgraph")),
    (PROTOCOLS, ("pymeasure", "pyvisa", "h5py", "PyQt6", "pyqtgraph")),
    (DRIVERS, ("h5py", "PyQt6", "pyqtgraph")),
    (SIMULATOR, ("pymeasure", "h5py", "PyQt6", "pyqtgraph")),
])
def test_importing_a_package_loads_only_the_layers_below(package, third_party, tmp_path):
    """In a fresh interpreter, the package and all its modules load labsuite's ``__init__`` and the
    packages below them, and none of the named libraries: protocols run without pymeasure or h5py, the
    drivers without the simulator, the simulator without the drivers."""
    loaded = loaded_by(import_all(package), tmp_path)
    allowed = {package, *LAYERS[package]}
    above = sorted(m for m in loaded if under(m, "labsuite") and m != "labsuite" and package_of(m) not in allowed)
    assert not above, above
    assert not [m for m in third_party if m in loaded]


def test_importing_labsuite_loads_nothing_else(tmp_path):
    """The public names (Bench, run_protocol, ...) load on first use; the version is at hand."""
    loaded = loaded_by("import labsuite\nassert labsuite.__version__", tmp_path)
    assert sorted(m for m in loaded if under(m, "labsuite")) == ["labsuite", "labsuite.core", "labsuite.core.version"]
    assert not [m for m in (*HEAVY, "numpy", "scipy", "pint") if m in loaded]


def test_public_names_load_on_first_use():
    import labsuite
    from labsuite.bench import Bench
    from labsuite.core.events import RunState

    assert (labsuite.Bench, labsuite.RunState) == (Bench, RunState)
    assert all(getattr(labsuite, name) is not None for name in labsuite.__all__)
    assert set(labsuite.__all__) <= set(dir(labsuite))
    with pytest.raises(AttributeError, match="no attribute 'Bnech'"):
        labsuite.Bnech


HELP = ("import contextlib, os\nfrom labsuite.cli import main\n"
        "with contextlib.redirect_stdout(open(os.devnull, 'w')):\n"
        "    try:\n        main(['--help'])\n    except SystemExit as done:\n        assert done.code == 0")
PROTOCOLS_COMMAND = ("import contextlib, os\nfrom labsuite.cli import main\n"
                     "with contextlib.redirect_stdout(open(os.devnull, 'w')):\n    assert main(['protocols']) == 0")


@pytest.mark.parametrize("statement, third_party", [
    ("import labsuite.protocols", ("PyQt6", "matplotlib", "pandas", "dask", "scipy", "pint")),
    (HELP, ("PyQt6", "matplotlib", "pandas", "dask", "h5py", "pymeasure", "pyvisa", "scipy", "pint")),
    (PROTOCOLS_COMMAND, ("PyQt6", "matplotlib", "pandas", "dask", "h5py", "pymeasure", "pyvisa", "scipy", "pint")),
], ids=["import labsuite.protocols", "labsuite --help", "labsuite protocols"])
def test_start_up_loads_no_heavy_library(statement, third_party, tmp_path):
    """The command line starts without what its commands run: the drivers (pymeasure, and pandas through
    it), the run store (h5py), plots and the GUI load in the command that uses them, scipy in the fits,
    pint (which loads dask and scipy where installed) when a quantity is first read, or shown in a unit
    other than the declared ones: `labsuite protocols` lists every parameter without building its registry."""
    loaded = loaded_by(statement, tmp_path)
    assert not [m for m in third_party if m in loaded]
