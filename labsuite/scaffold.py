"""``labsuite new protocol NAME``: the skeleton of a protocol plugin, ready to install and run.

It writes one folder: the protocol module (a working protocol in the style of ``protocols/*.py``),
its recipe, a pytest test that runs it on the simulated bench, and a ``pyproject.toml`` declaring
the ``labsuite.protocols`` entry point, so ``pip install -e FOLDER`` makes ``labsuite protocols``,
``labsuite run NAME --sim`` and the GUI show it (labsuite.core.plugins). The text comes from
``labsuite/templates/protocol/*.tmpl`` (``string.Template``); the recipe is written from the
protocol's own parameter declarations, so it holds the defaults the module declares.
"""
from __future__ import annotations

import importlib.util
import keyword
import re
from importlib import resources
from pathlib import Path
from string import Template

from labsuite.core.errors import InvalidParameter
from labsuite.protocols import PROTOCOLS
from labsuite.recipe import recipe_text

NAME = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")


def new_protocol(name: str, folder: Path) -> list[Path]:
    """Write the skeleton of protocol ``name`` (lowercase words joined by hyphens) into ``folder``,
    which must be new or empty; return the files written."""
    if not NAME.fullmatch(name):
        raise InvalidParameter("NAME", f"{name!r}: write lowercase words joined by hyphens, e.g. ramp-read")
    if name in PROTOCOLS:
        raise InvalidParameter("NAME", f"{name!r} is already a protocol ({PROTOCOLS[name].__module__}); "
                                       f"choose another name")
    module = name.replace("-", "_")
    if keyword.iskeyword(module):
        raise InvalidParameter("NAME", f"{name!r} makes the module name {module}, a Python keyword: `from "
                                       f"{module} import {_class_name(name)}` cannot be written; choose another name")
    if importlib.util.find_spec(module) is not None:
        raise InvalidParameter("NAME", f"{name!r} makes the module name {module}, which is taken (the module "
                                       f"{module}): its entry point would load that one; choose another name")
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise InvalidParameter("--dir", f"{str(folder)!r} already exists and is not an empty folder; give a new one")
    fields = {"name": name, "module": module, "class_name": _class_name(name),
              "title": name.replace("-", " ").capitalize(), "recipe": f"{name}.toml",
              "distribution": f"labsuite-{name}"}
    templates = resources.files("labsuite") / "templates" / "protocol"
    files = {folder / "pyproject.toml": "pyproject.toml.tmpl", folder / f"{module}.py": "protocol.py.tmpl",
             folder / "tests" / f"test_{module}.py": "test.py.tmpl"}
    for path, template in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(Template((templates / template).read_text(encoding="utf-8")).substitute(fields),
                        encoding="utf-8")
    recipe = folder / fields["recipe"]
    protocol = _protocol_class(folder / f"{module}.py", fields["class_name"])()
    recipe.write_text(recipe_text(protocol, f"{protocol.title}: defaults of every parameter; edit and run with "
                                            f"`labsuite run {fields['recipe']}`"), encoding="utf-8")
    return [*files, recipe]


def _class_name(name: str) -> str:
    """The protocol's class name: ``ramp-read`` → ``RampRead``."""
    return name.title().replace("-", "")


def _protocol_class(path: Path, class_name: str) -> type:
    """The protocol class ``class_name`` defined in the module file ``path`` (loaded, not installed)."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, class_name)
