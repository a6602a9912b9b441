"""Instrument discovery: the VISA resources a computer sees, what each says it is, and its driver."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyvisa
from pyvisa import rname

from labsuite import registry
from labsuite.core.errors import InvalidParameter

_EXAMPLES = ("TCPIP0::192.168.1.20::inst0::INSTR (LAN, VXI-11), TCPIP0::192.168.1.20::5025::SOCKET (raw socket), "
             "GPIB0::24::INSTR, USB0::0x05E6::0x2450::04096331::INSTR")


def check_resource(resource: object, field: str) -> str:
    """``resource`` if it is a VISA resource name pyvisa can parse (``pyvisa.rname``); otherwise an
    :class:`InvalidParameter` naming ``field``, saying what is wrong and what a resource looks like.
    A LAN ``INSTR`` whose device name is a number is refused: it is a socket port missing ``::SOCKET``."""
    if not isinstance(resource, str):
        raise InvalidParameter(field, f"{resource!r} must be a VISA resource name in quotes, e.g. {_EXAMPLES}")
    try:
        parsed = rname.parse_resource_name(resource)
    except rname.InvalidResourceName as exc:
        raise InvalidParameter(field, f"{resource!r} is not a VISA resource name ({exc}); write e.g. "
                                      f"{_EXAMPLES}") from None
    if isinstance(parsed, rname.TCPIPInstr) and parsed.lan_device_name.isdigit():
        raise InvalidParameter(field, f"{resource!r} names port {parsed.lan_device_name} as a LAN device; a raw "
                                      f"socket ends in ::SOCKET: write 'TCPIP{parsed.board}::{parsed.host_address}::"
                                      f"{parsed.lan_device_name}::SOCKET'")
    if isinstance(parsed, rname.TCPIPSocket) and not (parsed.port.isdigit() and 1 <= int(parsed.port) <= 65535):
        raise InvalidParameter(field, f"{resource!r}: the socket port {parsed.port!r} must be a number from 1 "
                                      f"to 65535, e.g. TCPIP0::{parsed.host_address}::5025::SOCKET")
    return resource


@dataclass(frozen=True)
class FoundInstrument:
    resource: str          # VISA resource name
    idn: str               # *IDN? reply ("" if it did not answer)
    driver: str | None     # registered name (labsuite.registry) matching the reply, if any
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
        entry = registry.match(idn)
        found.append(FoundInstrument(resource, idn, entry.name if entry else None))
    return found
