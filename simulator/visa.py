"""In-process VISA: a pyvisa backend whose resources are simulated instruments.

``pyvisa.ResourceManager(SimulatedVisaLibrary(instruments))`` opens the simulated instruments
by resource name, exactly as pyvisa-py opens real ones; drivers cannot tell the difference.
Messages are terminated by ``\\n`` both ways. Reading with nothing to read times out, as on a
real bus, and the instrument logs -420 "Query UNTERMINATED". A line longer than ``MAX_LINE`` is
discarded (-363 "Input buffer overrun"); ``clear()`` (device clear) stops what the instrument runs.
"""
from __future__ import annotations

import itertools
import threading
from typing import Any, Protocol

from pyvisa import constants, highlevel, rname
from pyvisa.constants import StatusCode
from pyvisa.typing import VISARMSession, VISASession

from labsuite.simulator.faults import ConnectionDropped, FaultInjector

MAX_LINE = 1 << 20      # bytes of one message line a session may send


class MessageInstrument(Protocol):
    """What a transport needs from a simulated instrument."""

    idn: str

    def process(self, message: str) -> str | None: ...

    def query_interrupted(self) -> None: ...

    def query_unterminated(self) -> None: ...

    def power_loss(self) -> None: ...


class _Session:
    def __init__(self, instrument: FaultInjector) -> None:
        self.instrument = instrument
        self.output = bytearray()
        self.late = bytearray()      # a reply held back past the client's timeout (fault injection)
        self.arrived = bytearray()   # ... which then sits on the client's side, like bytes in a socket
        self.attrs: dict[int, Any] = {
            constants.VI_ATTR_TMO_VALUE: 2000,
            constants.VI_ATTR_TERMCHAR: ord("\n"),
            constants.VI_ATTR_TERMCHAR_EN: constants.VI_FALSE,
            constants.VI_ATTR_SEND_END_EN: constants.VI_TRUE,
            constants.VI_ATTR_SUPPRESS_END_EN: constants.VI_FALSE,
        }
        self.input = bytearray()
        self.discarding = False      # inside a line longer than MAX_LINE
        self.dropped = False         # the link went down (DROP, POWER): as a closed socket, for good


_library_ids = itertools.count()


class SimulatedVisaLibrary(highlevel.VisaLibraryBase):
    """A VISA library serving ``{resource name: instrument}``."""

    instruments: dict[str, FaultInjector]

    def __new__(cls, instruments: dict[str, MessageInstrument]) -> SimulatedVisaLibrary:
        # VisaLibraryBase caches one object per library path; each bench gets its own path.
        obj = super().__new__(cls, f"labsuite-simulator-{next(_library_ids)}")
        obj.instruments = {_canonical(name): inst if isinstance(inst, FaultInjector) else FaultInjector(inst)
                           for name, inst in instruments.items()}
        return obj  # type: ignore[return-value]

    def __init__(self, instruments: dict[str, MessageInstrument]) -> None:
        pass

    def _init(self) -> None:
        self.sessions: dict[int, Any] = {}
        self._lock = threading.Lock()

    def close_library(self) -> None:
        """Forget this library in pyvisa's registry (each simulated bench makes its own)."""
        highlevel.VisaLibraryBase._registry.pop((type(self), self.library_path), None)

    @staticmethod
    def get_debug_info() -> list[str]:
        return ["labsuite simulated instruments"]

    def open_default_resource_manager(self) -> tuple[VISARMSession, StatusCode]:
        session = self._register(self)
        return session, self.handle_return_value(session, StatusCode.success)  # type: ignore[return-value]

    def list_resources(self, session: VISARMSession, query: str = "?*::INSTR") -> tuple[str, ...]:
        return tuple(self.instruments)

    def open(self, session: VISARMSession, resource_name: str,
             access_mode: constants.AccessModes = constants.AccessModes.no_lock,
             open_timeout: int = constants.VI_TMO_IMMEDIATE) -> tuple[VISASession, StatusCode]:
        instrument = self.instruments.get(_canonical(resource_name))
        if instrument is None:
            return VISASession(0), self.handle_return_value(None, StatusCode.error_resource_not_found)
        sess = self._register(_Session(instrument))
        return VISASession(sess), self.handle_return_value(sess, StatusCode.success)

    def close(self, session) -> StatusCode:  # type: ignore[override]
        with self._lock:
            self.sessions.pop(session, None)
        return self.handle_return_value(None, StatusCode.success)

    def parse_resource(self, session, resource_name):  # type: ignore[override]
        return self.parse_resource_extended(session, resource_name)

    def parse_resource_extended(self, session, resource_name):  # type: ignore[override]
        parsed = rname.parse_resource_name(resource_name)
        return (highlevel.ResourceInfo(parsed.interface_type_const, parsed.board, parsed.resource_class,
                                       str(parsed), None), StatusCode.success)

    def get_attribute(self, session, attribute):  # type: ignore[override]
        sess = self.sessions[session]
        if sess is self:
            return 0, StatusCode.success
        return sess.attrs.get(attribute, 0), StatusCode.success

    def set_attribute(self, session, attribute, attribute_state):  # type: ignore[override]
        sess = self.sessions[session]
        if sess is not self:
            sess.attrs[attribute] = attribute_state
        return StatusCode.success

    def write(self, session, data: bytes) -> tuple[int, StatusCode]:  # type: ignore[override]
        sess: _Session = self.sessions[session]
        if sess.dropped:
            return 0, self.handle_return_value(session, StatusCode.error_connection_lost)
        scanned = len(sess.input)
        sess.input += data
        while (end := sess.input.find(b"\n", scanned)) >= 0:
            line = bytes(sess.input[:end])
            del sess.input[:end + 1]
            scanned = 0
            if sess.discarding:   # the end of a line longer than MAX_LINE
                sess.discarding = False
                sess.instrument.overflow()
                continue
            if sess.output:  # a new command discards an unread reply, as IEEE 488.2 says
                sess.output.clear()
                sess.instrument.query_interrupted()
            try:
                reply = sess.instrument.process(line.decode("latin-1").rstrip("\r"))
            except ConnectionDropped:   # the rest of this write, and anything later, is lost with the link
                sess.dropped = True
                sess.input.clear()
                sess.output.clear()
                return 0, self.handle_return_value(session, StatusCode.error_connection_lost)
            if reply is not None:
                late = sess.instrument.take_late_delay() * 1000 > sess.attrs[constants.VI_ATTR_TMO_VALUE]
                (sess.late if late else sess.output).extend(reply.encode("latin-1", errors="replace") + b"\n")
        if len(sess.input) > MAX_LINE:
            sess.input.clear()
            sess.discarding = True
        return len(data), self.handle_return_value(session, StatusCode.success)

    def read(self, session, count: int) -> tuple[bytes, StatusCode]:  # type: ignore[override]
        sess: _Session = self.sessions[session]
        if sess.dropped:
            return b"", self.handle_return_value(session, StatusCode.error_connection_lost)
        if sess.late:   # the reply comes after this read has timed out
            sess.arrived.extend(sess.late)
            sess.late.clear()
            return b"", self.handle_return_value(session, StatusCode.error_timeout)
        if sess.arrived:   # a late reply the client never drained comes first, as on a socket
            chunk = bytes(sess.arrived[:count])
            del sess.arrived[:count]
            ends = chunk.endswith(b"\n")
            return chunk, self.handle_return_value(
                session, StatusCode.success_termination_character_read if ends else StatusCode.success_max_count_read)
        if not sess.output:
            sess.instrument.query_unterminated()
            return b"", self.handle_return_value(session, StatusCode.error_timeout)
        chunk = bytes(sess.output[:count])
        del sess.output[:count]
        if chunk.endswith(b"\n") and not sess.output:
            return chunk, self.handle_return_value(session, StatusCode.success_termination_character_read)
        return chunk, self.handle_return_value(session, StatusCode.success_max_count_read)

    def clear(self, session) -> StatusCode:  # type: ignore[override]
        """Device clear: stop what the instrument runs, drop unread input and output."""
        sess = self.sessions[session]
        sess.instrument.interrupt()
        sess.output.clear()
        sess.input.clear()
        sess.discarding = False
        return StatusCode.success

    def flush(self, session, mask) -> StatusCode:  # type: ignore[override]
        return StatusCode.success

    def disable_event(self, session, event_type, mechanism) -> StatusCode:  # type: ignore[override]
        return StatusCode.success

    def discard_events(self, session, event_type, mechanism) -> StatusCode:  # type: ignore[override]
        return StatusCode.success

    def read_stb(self, session) -> tuple[int, StatusCode]:  # type: ignore[override]
        reply = self.sessions[session].instrument.process("*STB?") or "0"
        return int(reply), StatusCode.success

    def _register(self, obj: object) -> int:  # type: ignore[override]
        with self._lock:
            session = next(_session_ids)
            self.sessions[session] = obj
            return session


_session_ids = itertools.count(1)


def _canonical(resource_name: str) -> str:
    return str(rname.parse_resource_name(resource_name))
