"""The link to an instrument: its failures told in one line naming the resource, and outputs
switched off after it fails (reconnecting once if it dropped).

A failure on the link (timeout, refused or dropped connection, a reply that does not parse)
reaches the user as :class:`LinkError`: ``TCPIP0::127.0.0.1::5025::SOCKET: connection
refused``. The exception it replaces stays chained as ``__cause__``.
"""
from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from typing import Any

from pyvisa import constants
from pyvisa.errors import InvalidSession, VisaIOError

from labsuite.core.errors import InstrumentError, LabsuiteError

log = logging.getLogger("labsuite")

#: VISA status codes of a link that is gone (a new connection may work again)
_LINK_LOST = {constants.StatusCode.error_connection_lost, constants.StatusCode.error_closing_failed,
              constants.StatusCode.error_invalid_object, constants.StatusCode.error_resource_not_found,
              constants.StatusCode.error_resource_busy}
_ALWAYS = (VisaIOError, InvalidSession, OSError, EOFError)   # failures of the link itself, whoever raised them
_PARSING = (ValueError, IndexError, UnicodeDecodeError)   # a reply the driver could not read


class LinkError(InstrumentError):
    """The link to an instrument failed (timeout, refused, dropped) or its reply made no sense."""

    def __init__(self, resource: str, message: str) -> None:
        super().__init__(resource, message)
        self.resource = resource


def resource_of(instrument: Any) -> str:
    """The VISA resource name a driver is connected to ("" if it has none)."""
    return _name_of(getattr(getattr(instrument, "adapter", None), "connection", None))


def _name_of(resource: Any) -> str:
    """A pyvisa resource's name ("" if ``resource`` is none, or closed)."""
    try:
        name = getattr(resource, "resource_name", "")
    except Exception:   # noqa: BLE001 - a closed session refuses every attribute
        name = ""
    if not (isinstance(name, str) and name):   # ... but keeps the name it was opened with
        name = getattr(resource, "_resource_name", "")
    return name if isinstance(name, str) else ""


def describe(exc: BaseException) -> str:
    """What went wrong on the link, in a few words (``connection refused``, ``no reply within 10 s``)."""
    if isinstance(exc, InvalidSession):
        return "connection closed"
    if isinstance(exc, VisaIOError):
        if exc.error_code == constants.StatusCode.error_timeout:
            return "no reply before the VISA timeout (instrument busy, off, or a reply lost)"
        if exc.error_code in _LINK_LOST:
            return "connection lost"
        return f"VISA error {exc.abbreviation}: {exc.description}"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, EOFError)):
        return "connection lost"
    if isinstance(exc, TimeoutError):
        return "no reply before the timeout"
    if isinstance(exc, OSError):
        return f"cannot reach it: {exc.strerror or exc}"
    if isinstance(exc, _PARSING):
        return f"unreadable reply ({exc}); the link may be noisy or the instrument in an unexpected state"
    return f"{type(exc).__name__}: {exc}"


def translate(exc: BaseException, resource: str) -> BaseException:
    """``exc`` as a :class:`LinkError` on ``resource`` if it is a link failure or a reply a driver
    could not parse; anything else (labsuite's own errors, interrupts, bugs) unchanged."""
    if isinstance(exc, (LabsuiteError, KeyboardInterrupt)) or not isinstance(exc, _ALWAYS + _PARSING):
        return exc
    if isinstance(exc, _PARSING) and not _raised_by_driver(exc):
        return exc
    error = LinkError(resource_in(exc) or resource, describe(exc))
    error.__cause__ = exc
    return error


def translate_opening(exc: BaseException, resource: str) -> BaseException:
    """A failure to open ``resource`` (any exception a VISA backend raises) as a :class:`LinkError`."""
    if isinstance(exc, (LabsuiteError, KeyboardInterrupt)):
        return exc
    message = describe(exc) if isinstance(exc, _ALWAYS) else str(exc).splitlines()[0]
    if "linux-gpib" in str(exc) or "gpib-ctypes" in str(exc):
        message = "no GPIB library: install linux-gpib (Linux) or gpib-ctypes, or a vendor VISA (NI-VISA)"
    error = LinkError(resource, message)
    error.__cause__ = exc
    return error


def _raised_by_driver(exc: BaseException) -> bool:
    """Whether ``exc`` came out of a driver or pymeasure (a reply it parsed), not labsuite's own code."""
    tb, modules = exc.__traceback__, []
    while tb is not None:
        modules.append(tb.tb_frame.f_globals.get("__name__", ""))
        tb = tb.tb_next
    return any(m.startswith(("labsuite.drivers", "pymeasure", "pyvisa")) for m in modules)


def resource_in(exc: BaseException) -> str:
    """The VISA resource of the innermost driver or pyvisa resource ``exc`` passed through ("" if none)."""
    tb, found = exc.__traceback__, ""
    while tb is not None:
        owner = tb.tb_frame.f_locals.get("self")
        found = _name_of(owner) or resource_of(owner) or found
        tb = tb.tb_next
    return found


@dataclass(frozen=True)
class SwitchOff:
    """How switching an instrument's outputs off went."""

    resource: str
    off: bool            # the shutdown command was delivered
    note: str = ""       # one line for the user when something was not plain ("" otherwise)


def switch_off(instrument: Any, confirm: bool = False) -> SwitchOff:
    """Shut ``instrument`` down (outputs off); with ``confirm`` (the link failed: a late reply may
    still be owed, and the shutdown would wait behind it) wait for ``*OPC?`` too. If the link
    dropped or the confirmation does not come, reconnect to the same resource once, shut it down
    on the new connection and wait for ``*OPC?`` (the reply comes once the shutdown has run).
    Never raises (except an interrupt)."""
    resource = resource_of(instrument)
    try:
        instrument.shutdown()
        if confirm:
            instrument.ask("*OPC?")
        return SwitchOff(resource, True)
    except Exception as exc:   # noqa: BLE001 - reported below; the caller's own error comes first
        first = exc
    if not isinstance(first, _ALWAYS):
        return SwitchOff(resource, False, f"could not switch the output of {resource} off ({describe(first)}): "
                                          "the output may still be ON; switch it off by hand")
    try:
        reconnect(instrument)
        instrument.shutdown()
        instrument.ask("*OPC?")   # replies once the shutdown has run: a new link may be as fragile
    except Exception as exc:   # noqa: BLE001
        log.debug("reconnecting to %s failed", resource, exc_info=True)
        return SwitchOff(resource, False, f"the link to {resource} failed ({describe(first)}) and reconnecting "
                                          f"failed ({describe(exc)}): the output may still be ON; switch it "
                                          "off by hand")
    return SwitchOff(resource, True, f"the link to {resource} failed ({describe(first)}); reconnected and "
                                     "switched the output off")


def reconnect(instrument: Any) -> None:
    """Replace a driver's VISA session by a new one to the same resource, with the same settings;
    then call the driver's ``reconnected()``, if it has one."""
    adapter = instrument.adapter
    old = adapter.connection
    name = resource_of(instrument)
    settings = {"read_termination": old.read_termination, "write_termination": old.write_termination,
                "timeout": old.timeout}
    with contextlib.suppress(Exception):   # a session on a dropped link may refuse to close
        old.close()
    adapter.connection = adapter.manager.open_resource(name, **settings)
    recover = getattr(instrument, "reconnected", None)   # a driver's clean-up of what the lost session left
    if recover is not None:
        recover()
