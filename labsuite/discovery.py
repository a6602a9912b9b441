"""Instrument discovery: the VISA resources a computer sees, what each says it is, and its driver."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyvisa

from labsuite.drivers import match_driver


@dataclass(frozen=True)
class FoundInstrument:
    resource: str          # VISA resource name
    idn: str               # *IDN? reply ("" if it did not answer)
    driver: str | None     # labsuite driver name matching the reply, if any
    error: str = ""        # why it did not answer


def discover(visa_library: Any = "", query: str = "?*::INSTR", timeout: float = 2.0,
             resources: list[str] | None = None) -> list[FoundInstrument]:
    """Ask every resource matching ``query`` (or the given ``resources``) for ``*IDN?``, waiting at
    most ``timeout`` s each, and match the reply to a driver."""
    manager = pyvisa.ResourceManager(visa_library)
    found = []
    for resource in resources if resources is not None else manager.list_resources(query):
        try:
            with manager.open_resource(resource, timeout=timeout * 1000, read_termination="\n",
                                       write_termination="\n") as inst:
                idn = inst.query("*IDN?").strip()
        except (pyvisa.Error, OSError, ValueError) as exc:
            found.append(FoundInstrument(resource, "", None, f"{type(exc).__name__}: {exc}"))
            continue
        found.append(FoundInstrument(resource, idn, match_driver(idn)))
    return found
