"""Recipes: protocols and their parameters in a TOML file, alone or chained into a sequence.

One protocol::

    protocol = "potentiation"
    [parameters]
    amplitude = "1.2 V"
    width = "200 us"

A sequence, each step run ``repeat`` times, one run file per run::

    name = "synapse characterization"

    [[step]]
    protocol = "potentiation"
    repeat = 5
    parameters = { pulses = 100 }

    [[step]]
    protocol = "depression"
    repeat = 5

Every step is validated when the recipe is loaded, before any instrument is touched: an invalid
value is refused with the step, the field, the value and the allowed range. A parameter the recipe
leaves out takes the protocol's default (``labsuite protocols`` lists them); each run file records
which ones did, under ``provenance["defaults"]``, next to the values used.

A recipe is given by its path, or by its name (``ltp-ltd``, ``synapse-characterization.sequence``,
with or without ``.toml``, letter case ignored): first in the user's recipe folders, then among those
labsuite ships (``protocols/recipes``). The user's folders are ``$LABSUITE_RECIPES`` (folders
separated by ``os.pathsep``), by default ``recipes`` in the user's labsuite configuration folder
(``~/.config/labsuite/recipes`` on Linux; platformdirs' convention elsewhere).
"""
from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labsuite import protocols
from labsuite.core.errors import InvalidParameter, RangeError
from labsuite.core.names import find, resolve
from labsuite.core.parameters import Choice
from labsuite.core.units import format_quantity
from labsuite.experiment import make_protocol
from labsuite.protocols import PROTOCOLS, Protocol
from labsuite.core.renames import renamed
from labsuite.tomlfile import load_toml

MAX_REPEAT = 10_000   # runs of one step
MAX_RUNS = 10_000     # runs of a whole recipe (one run file each)
SHIPPED_RECIPES = Path(protocols.__file__).parent / "recipes"


@dataclass(frozen=True)
class RecipeStep:
    protocol: str
    parameters: dict[str, Any] = field(default_factory=dict)
    repeat: int = 1

    def build(self) -> Protocol:
        return make_protocol(self.protocol, dict(self.parameters))

    @property
    def defaults(self) -> tuple[str, ...]:
        """The protocol's parameters this step leaves at their default."""
        return tuple(p.name for p in PROTOCOLS[self.protocol].parameters if p.name not in self.parameters)


@dataclass(frozen=True)
class Recipe:
    name: str
    steps: tuple[RecipeStep, ...]

    def runs(self) -> Iterator[tuple[int, int, Protocol]]:
        """(step index, repeat index, protocol) for every run, in order."""
        for i, step in enumerate(self.steps):
            for r in range(step.repeat):
                yield i, r, step.build()

    @property
    def total_runs(self) -> int:
        return sum(s.repeat for s in self.steps)


def load_recipe(path: str | Path) -> Recipe:
    """Read and validate a recipe file."""
    path = Path(path)
    spec = load_toml(path, "recipe")
    _only(spec, {"name", "protocol", "parameters", "step"}, path.name)
    name = spec.get("name", path.stem)
    if not isinstance(name, str):
        raise InvalidParameter(f"{path.name}: name", f"{name!r} must be text, e.g. name = \"synapse run\"")
    if "step" in spec and "protocol" in spec:
        raise InvalidParameter(path.name, "give either `protocol = ...` or [[step]] tables, not both")
    raw_steps = spec.get("step") if "step" in spec else (
        [{"protocol": spec["protocol"], "parameters": spec.get("parameters", {})}] if "protocol" in spec else [])
    if not isinstance(raw_steps, list) or not all(isinstance(r, dict) for r in raw_steps):
        raise InvalidParameter(f"{path.name}: step", "must be [[step]] tables")
    if not raw_steps:
        raise InvalidParameter(str(path), "needs `protocol = ...` or one or more [[step]] tables")
    steps = []
    for i, raw in enumerate(raw_steps, start=1):
        where = f"{path.name}, step {i}"
        _only(raw, {"protocol", "parameters", "repeat"}, where)
        if "protocol" not in raw:
            raise InvalidParameter(where, "needs protocol = \"<name>\"")
        protocol = resolve(PROTOCOLS, raw["protocol"], f"{where}: protocol")
        repeat = raw.get("repeat", 1)
        if isinstance(repeat, bool) or not isinstance(repeat, int) or not 1 <= repeat <= MAX_REPEAT:
            raise InvalidParameter(f"{where}: repeat", f"{repeat!r} must be a whole number from 1 to {MAX_REPEAT}")
        parameters = raw.get("parameters", {})
        if not isinstance(parameters, dict):
            raise InvalidParameter(f"{where}: parameters", "must be a table of name = value")
        for key, value in parameters.items():
            if isinstance(value, bool) or not isinstance(value, (int, float, str)):
                raise InvalidParameter(f"{where}: {key}", f"{value!r} is a {type(value).__name__}; give one number "
                                                          f"or a quantity in quotes, e.g. {key} = \"1.5 V\"")
        parameters = renamed(protocol, parameters, where)
        step = RecipeStep(protocol, _relative_files(parameters, path.parent), repeat)
        try:
            step.build()
        except (InvalidParameter, RangeError) as exc:
            raise InvalidParameter(f"{where} ({step.protocol})", str(exc)) from None
        steps.append(step)
    total = sum(s.repeat for s in steps)
    if total > MAX_RUNS:
        raise InvalidParameter(f"{path.name}: repeat", f"the steps make {total:,} runs; a recipe may make at most "
                                                       f"{MAX_RUNS:,}: lower the repeats or split the recipe")
    return Recipe(name, tuple(steps))


def recipe_folders() -> list[Path]:
    """Where recipes are found by name, in order: the user's recipe folders, then the shipped ones."""
    from platformdirs import user_config_path

    user = os.environ.get("LABSUITE_RECIPES")
    folders = [Path(f) for f in user.split(os.pathsep) if f] if user is not None \
        else [user_config_path("labsuite") / "recipes"]
    return [*folders, SHIPPED_RECIPES]


def recipe_names() -> dict[str, Path]:
    """{name: file} of every recipe found by name (a user's recipe hides a shipped one of its name)."""
    found: dict[str, Path] = {}
    for folder in reversed(recipe_folders()):
        if folder.is_dir():
            found.update({path.stem: path for path in sorted(folder.glob("*.toml"))})
    return found


def find_recipe(name: str) -> Path | None:
    """The recipe file ``name`` means: a path (a name with a folder in it, or of something that
    exists; :func:`load_recipe` says what is wrong with it), else the recipe of that name (``.toml``
    optional, letter case ignored) in :func:`recipe_folders`; None if none."""
    path = Path(name)
    if path.exists() or path.name != name or "\0" in name:
        return path
    names = recipe_names()
    found = find(recipe_name(name), names)
    return names[found] if found is not None else None


def recipe_name(text: str) -> str:
    """``text`` without a final ``.toml`` (any letter case): the name a recipe is found by."""
    return text[:-len(".toml")] if text.casefold().endswith(".toml") else text


def recipe_text(protocol: Protocol, comment: str) -> str:
    """A one-protocol recipe holding ``protocol``'s values with units, each parameter's help and a
    choice's allowed values, under the first line ``# comment``."""
    lines = [f"# {comment}", f"protocol = {json.dumps(protocol.name)}", "", "[parameters]"]
    for p in protocol.parameters:
        if isinstance(p, Choice):
            value = protocol.choices[p.name]
            line = f"{p.name} = {json.dumps(protocol.options[p.name], ensure_ascii=False)}" if value is not None \
                else f"# {p.name} ="
            lines.append(f"{line:<28}# {p.help}; choose {p.allowed()}")
        else:
            value = format_quantity(protocol.values[p.name], p.unit, digits=12)
            shown = json.dumps(value, ensure_ascii=False) if p.unit else value
            lines.append(f"{p.name} = {shown:<18}# {p.help}")
    return "\n".join(lines) + "\n"


def _only(table: dict[str, Any], allowed: set[str], where: str) -> None:
    """Refuse keys a recipe does not know (a typo would otherwise run with defaults)."""
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise InvalidParameter(where, f"unknown key {unknown[0]!r}; allowed: {', '.join(sorted(allowed))}")


def _relative_files(parameters: dict[str, Any], folder: Path) -> dict[str, Any]:
    """String values naming a file next to the recipe (e.g. an STDP waveform CSV) become full paths."""
    return {k: str(folder / v) if isinstance(v, str) and (folder / v).is_file() else v
            for k, v in parameters.items()}
