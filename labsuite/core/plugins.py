"""Plugins: protocols, device models and instruments that other distributions add through entry points.

A distribution declares them in its ``pyproject.toml`` (``labsuite new protocol`` writes one)::

    [project.entry-points."labsuite.protocols"]
    ramp-read = "ramp_read:RampRead"

Groups and what an entry point names:

- ``labsuite.protocols``: a :class:`~labsuite.protocols.Protocol` subclass whose ``name`` is the
  entry point's name;
- ``labsuite.models``: a :class:`~labsuite.simulator.models.DeviceModel` subclass, named likewise;
- ``labsuite.instruments``: a driver class declaring ``registrations``, or a simulated twin
  declaring ``simulates`` (one entry point each).

Every table labsuite looks names up in (``labsuite.protocols.PROTOCOLS``,
``labsuite.simulator.models.MODELS``, ``labsuite.registry.INSTRUMENTS``,
``labsuite.simulator.station.TWINS``) is a :class:`Catalog`: the built-in entries, then those of
the installed plugins, loaded the first time the table is read. A plugin that fails to load (or exits while it loads), is
not what its group takes, or takes a name already in the table is left out, and said so in one
warning line of the ``labsuite.core.plugins`` logger (on stderr when nothing else handles it) naming its
entry point and distribution; everything else keeps working.
"""
from __future__ import annotations

import importlib
import inspect
import logging
import pkgutil
from collections.abc import Callable, Iterator, Mapping
from importlib.metadata import EntryPoint, entry_points
from types import ModuleType
from typing import TypeVar

log = logging.getLogger(__name__)
_reported: set[str] = set()   # a broken entry point read by two catalogs (instruments, twins) is told once

V = TypeVar("V")


class PluginError(Exception):
    """A plugin refused: the message says what its group takes, or whose name it repeats."""


def built_in(package: ModuleType, entries: Callable[[type], dict[str, V]], role: str) -> dict[str, V]:
    """The entries ``entries`` finds on each class defined in a module of ``package`` (modules in
    name order); two classes claiming one name raise RuntimeError saying they are both ``role``
    ("registered", "simulated") under it."""
    found: dict[str, V] = {}
    owners: dict[str, type] = {}
    for info in sorted(pkgutil.walk_packages(package.__path__, package.__name__ + "."), key=lambda i: i.name):
        module = importlib.import_module(info.name)
        for cls in vars(module).values():
            if isinstance(cls, type) and cls.__module__ == module.__name__:
                for name, entry in entries(cls).items():
                    if name in owners:
                        raise RuntimeError(f"instrument {name!r} is {role} by {owners[name]} and {cls}")
                    found[name], owners[name] = entry, cls
    return found


def origin(ep: EntryPoint) -> str:
    """``entry point ramp-read = ramp_read:RampRead (labsuite.protocols) of labsuite-ramp-read 0.1.0``."""
    dist = f"{ep.dist.name} {ep.dist.version}" if ep.dist is not None else "an unnamed distribution"
    return f"entry point {ep.name} = {ep.value} ({ep.group}) of {dist}"


def subclasses(base: type) -> Callable[[str, object], dict[str, type]]:
    """The entries of a plugin that must be a concrete subclass of ``base`` whose own ``name`` is
    its entry point's name (the name users type is the one its pyproject shows): ``{name: it}``."""
    def entries(entry_point: str, obj: object) -> dict[str, type]:
        if not (isinstance(obj, type) and issubclass(obj, base)) or inspect.isabstract(obj):
            raise PluginError(f"{obj!r} is not a concrete {base.__name__} subclass (it must implement every "
                              f"abstract method of {base.__module__}.{base.__name__})")
        name = vars(obj).get("name")
        if name != entry_point:
            raise PluginError(f"{obj.__name__}.name is {name!r}, not the entry point's name {entry_point!r}; "
                              f"give both the same name")
        return {name: obj}
    return entries


class Catalog(Mapping[str, V]):
    """A read-only name → entry table: ``builtin``, then every plugin of entry-point ``group``.

    ``builtin`` may be a function returning the table, called on first use (the instrument registry's
    built-ins import every driver). ``entries(entry_point_name, obj)`` turns the object an entry point names into the entries it
    adds (``{}`` for an object this catalog does not take, raising :class:`PluginError` for one no
    catalog takes);
    ``kind`` names an entry in messages ("protocol"). Plugins load in order of distribution name,
    then entry-point name; a name already taken (by a built-in, or an earlier plugin) is refused.
    """

    def __init__(self, group: str, kind: str, builtin: Mapping[str, V] | Callable[[], Mapping[str, V]],
                 entries: Callable[[str, object], Mapping[str, V]]) -> None:
        self.group, self.kind, self.builtin, self.entries = group, kind, builtin, entries
        self._table: dict[str, V] | None = None

    def _loaded(self) -> dict[str, V]:
        if self._table is None:
            self._table = self._load()
        return self._table

    def _load(self) -> dict[str, V]:
        builtin = dict(self.builtin() if callable(self.builtin) else self.builtin)
        table, taken_by = dict(builtin), {}
        for ep in sorted(entry_points(group=self.group), key=lambda e: (e.dist.name if e.dist else "", e.name)):
            try:
                found = dict(self.entries(ep.name, ep.load()))
                for name in found:
                    if name in builtin:
                        raise PluginError(f"{name!r} is the name of a built-in {self.kind}; give the plugin "
                                          f"another name")
                    if name in taken_by:
                        raise PluginError(f"{name!r} is already the name of a {self.kind} from {taken_by[name]}")
            except (Exception, SystemExit) as exc:   # a plugin's bug or exit must not stop labsuite: told, left out
                reason = str(exc) if isinstance(exc, PluginError) else f"{type(exc).__name__}: {exc}"
                message = f"plugin {origin(ep)} left out: {' '.join(reason.split())}"
                if message not in _reported:
                    _reported.add(message)
                    log.warning(message)
                continue
            table.update(found)
            taken_by.update(dict.fromkeys(found, origin(ep)))
        return table

    def __getitem__(self, name: str) -> V:
        return self._loaded()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._loaded())

    def __len__(self) -> int:
        return len(self._loaded())
