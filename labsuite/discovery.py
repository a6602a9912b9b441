"""Instrument discovery: the VISA resources a computer sees, what each says it is, and its driver.

A VISA backend that cannot search some interfaces (pyvisa-py without zeroconf for HiSLIP, without
PyUSB for USB) is told in one warning line per interface on the ``labsuite.discovery`` logger
(``skipped: ...``), not as the backend's own warning.
"""
from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from typing import Any

import pyvisa
from pyvisa import rname

from labsuite import registry
from labsuite.core.errors import InvalidParameter

log = logging.getLogger(__name__)

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
    most ``timeout`` s each, and match the reply to a driver. Interfaces the backend skips are
    logged (module docstring)."""
    manager = pyvisa.ResourceManager(visa_library)
    if resources is None:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", UserWarning)
            resources = list(manager.list_resources(query))
        skipped = [" ".join(str(w.message).split()) for w in caught if issubclass(w.category, UserWarning)]
        skipped += _unavailable(manager)
        for note in dict.fromkeys(skipped):
            log.warning("skipped: %s", note)
    found = []
    for resource in resources:
        try:
            with manager.open_resource(resource, timeout=timeout * 1000, read_termination="\n",
                                       write_termination="\n") as inst:
                idn = inst.query("*IDN?").strip()
        except (pyvisa.Error, OSError, ValueError) as exc:
            found.append(FoundInstrument(resource, "", None, _reason(exc, resource, timeout)))
            continue
        entry = registry.match(idn)
        found.append(FoundInstrument(resource, idn, entry.name if entry else None))
    return found


def _reason(exc: BaseException, resource: str, timeout: float) -> str:
    """Why ``resource`` gave no ``*IDN?`` reply, in one line."""
    if isinstance(exc, pyvisa.VisaIOError) and exc.error_code == pyvisa.constants.StatusCode.error_timeout:
        serial = " (a serial port: nothing attached, or another baud rate)" if resource.startswith("ASRL") else ""
        return f"Timeout: no reply to *IDN? within {timeout:g} s{serial}"
    return f"{type(exc).__name__}: {exc}"


def _unavailable(manager: pyvisa.ResourceManager) -> list[str]:
    """``USB INSTR, USB RAW: Please install PyUSB ...``: the interfaces a backend's debug information
    (pyvisa-py's, as ``pyvisa-info`` shows it) reports unusable, one line per reason."""
    try:
        info = manager.visalib.get_debug_info()
    except Exception:   # noqa: BLE001 - a backend without debug information skips nothing it says
        return []
    reasons: dict[str, list[str]] = {}
    for interface, status in (info.items() if isinstance(info, dict) else ()):
        if isinstance(status, list) and status:
            reasons.setdefault(" ".join(str(status[0]).split()), []).append(interface)
    return [f"{', '.join(interfaces)}: {reason}" for reason, interfaces in reasons.items()]
