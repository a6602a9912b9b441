"""The instrument registry: every instrument labsuite drives, as its driver class declares it.

A driver class lists its :class:`~labsuite.core.instruments.Registration` s in ``registrations`` (one
per model it is offered for); this module collects them from every module of
``labsuite.drivers``, then from the driver classes installed distributions add through the
``labsuite.instruments`` entry point (labsuite.core.plugins). Its simulated twin declares the same
names in ``simulates`` (``labsuite.simulator.station.TWINS``). Discovery, the bench, the command
line and the GUI all read this one table, so a new instrument needs its driver and its twin and
nothing else.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from labsuite import drivers
from labsuite.core.errors import InvalidParameter
from labsuite.core.instruments import Kind, PulseGeneratorCapabilities, SourceMeterCapabilities
from labsuite.core.names import did_you_mean, find
from labsuite.core.plugins import Catalog, PluginError, built_in

KIND_NAMES = {"smu": "SMU", "pulse_generator": "pulse generator"}
DEFAULT_SMU = "keithley2450"


@dataclass(frozen=True)
class RegisteredInstrument:
    """A driver class offered under one name, for one model (or a whole family)."""

    name: str
    kind: Kind
    driver: type
    idn_pattern: str
    capabilities: SourceMeterCapabilities | PulseGeneratorCapabilities
    model: str | None

    def open(self, resource: str, visa_library: Any = "") -> Any:
        """The driver on VISA ``resource`` (it builds its own adapter); sends nothing yet."""
        extra = {} if self.model is None else {"model": self.model}
        return self.driver(resource, visa_library=visa_library, **extra)

    def matches(self, idn: str) -> bool:
        """Whether the ``*IDN?`` reply ``idn`` names an instrument this entry is for."""
        return re.search(self.idn_pattern, idn, re.IGNORECASE) is not None


def registered(cls: type) -> dict[str, RegisteredInstrument]:
    """The instruments driver class ``cls`` declares in its own ``registrations`` (none for another class)."""
    return {r.name: RegisteredInstrument(r.name, r.kind, cls, r.idn_pattern, r.capabilities, r.model)
            for r in vars(cls).get("registrations", ())}


def _plugin(entry_point: str, obj: object) -> dict[str, RegisteredInstrument]:
    """The instruments a ``labsuite.instruments`` entry point adds: a driver's registrations; none
    for a simulated twin (``labsuite.simulator.station.TWINS`` takes those)."""
    if not (isinstance(obj, type) and ("registrations" in vars(obj) or "simulates" in vars(obj))):
        raise PluginError(f"{obj!r} is neither a driver class declaring registrations nor a simulated twin "
                          f"declaring simulates")
    return registered(obj)


INSTRUMENTS: Catalog[RegisteredInstrument] = Catalog("labsuite.instruments", "instrument",
                                                     lambda: built_in(drivers, registered, "registered"), _plugin)


def names(kind: Kind) -> list[str]:
    """The registered names of one kind, the default SMU first."""
    found = [name for name, entry in INSTRUMENTS.items() if entry.kind == kind]
    return sorted(found, key=lambda name: name != DEFAULT_SMU)


def lookup(kind: Kind, name: object, field: str = "driver") -> RegisteredInstrument:
    """The instrument of ``kind`` registered as ``name`` (letter case ignored), or an error naming
    ``field``, the closest name and the choices."""
    choices = names(kind)
    found = find(name, choices) if isinstance(name, str) else None
    if found is None:
        near = did_you_mean(name, choices) if isinstance(name, str) else ""
        raise InvalidParameter(field, f"{name!r} is not a supported {KIND_NAMES[kind]}{near}; choose one of "
                                      f"{', '.join(choices)}")
    return INSTRUMENTS[found]


def match(idn: str) -> RegisteredInstrument | None:
    """The registered instrument an ``*IDN?`` reply names: a model's own entry before its family's."""
    for entry in sorted(INSTRUMENTS.values(), key=lambda e: e.model is None):
        if entry.matches(idn):
            return entry
    return None


def recorded(driver: str) -> str:
    """The registered name a run file's ``driver`` means: files written before registered names
    were recorded hold the driver's class name (``Keithley2450``)."""
    by_class = {e.driver.__name__: e.name for e in INSTRUMENTS.values() if e.model is None}
    return by_class.get(driver, driver)


def name_of(instrument: object) -> str:
    """The registered name of a connected driver: its class's entry for the model whose
    capabilities it has (the class name for a driver that is not registered)."""
    entries = [e for e in INSTRUMENTS.values() if e.driver is type(instrument)]
    for entry in entries:
        if entry.capabilities == getattr(instrument, "capabilities", None):
            return entry.name
    return entries[0].name if entries else type(instrument).__name__
