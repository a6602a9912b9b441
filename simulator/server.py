"""Loopback TCP server: each simulated instrument listens like a LAN instrument's raw socket.

A VISA client reaches it at ``TCPIP::127.0.0.1::<port>::SOCKET`` (termination ``\\n``). Bound to
127.0.0.1 unless told otherwise. Commands from all connections to one instrument are executed one
at a time; an ``abort`` (TSP) or ``:ABOR`` (SCPI) from another connection stops the one running.

What a port takes: lines of the instrument's language. A connection whose line looks like an
HTTP request (a web page can make a browser send one to 127.0.0.1) is closed before anything
runs. A line longer than ``visa.MAX_LINE`` bytes is discarded as it arrives (the instrument
queues -363 "Input buffer overrun"), so a connection holds at most that much memory, and a port
serves at most :data:`MAX_CONNECTIONS` connections at once.
The bench clock is held from following the wall clock while a command executes, so a served train
is timed by the simulated instrument, not by how fast this computer simulates it. On a paced
station (:mod:`labsuite.simulator.pacing`) a sequence plays in the background instead, and the
messages of every connection run between its holds.

pyvisa-py leaves Nagle's algorithm on for SOCKET sessions; a write followed by a query then
stalls ~40 ms on the server's delayed ACK. The server sets TCP_NODELAY and re-arms TCP_QUICKACK
before every ``recv`` so that any client runs at full speed (measured: ~90 µs per write+query).
"""
from __future__ import annotations

import contextlib
import logging
import re
import socket
import threading
from dataclasses import dataclass

from labsuite.simulator.faults import ConnectionDropped, FaultInjector
from labsuite.simulator.visa import MAX_LINE, MessageInstrument

_QUICKACK = getattr(socket, "TCP_QUICKACK", None)
_log = logging.getLogger("labsuite.simulator")
_CHUNK = 65536          # bytes read at a time
MAX_CONNECTIONS = 16    # connections one port serves at once; more are closed as they come
_HTTP = re.compile(rb"^\s*(GET|POST|PUT|DELETE|HEAD|OPTIONS|PATCH|CONNECT|TRACE|PRI) \S*( HTTP/|$)", re.IGNORECASE)


def looks_like_http(line: bytes) -> bool:
    """True for an HTTP request line (``POST / HTTP/1.1``): no instrument command starts so."""
    return _HTTP.match(line[:4096].removeprefix(b"\xef\xbb\xbf")) is not None   # a UTF-8 BOM before it too


@dataclass
class Endpoint:
    role: str
    instrument: FaultInjector
    port: int
    executed: int = 0     # bytes of complete messages executed, from every connection
    host: str = "127.0.0.1"

    @property
    def resource(self) -> str:
        return f"TCPIP0::{self.host}::{self.port}::SOCKET"


class InstrumentServer:
    """Serve ``{role: instrument}`` on consecutive ports from ``base_port`` (0: any free ports),
    on the interface ``host`` (loopback unless asked otherwise).

    Instruments not already behind a :class:`FaultInjector` get one without a device.
    """

    def __init__(self, instruments: dict[str, MessageInstrument], base_port: int = 0,
                 host: str = "127.0.0.1") -> None:
        self.endpoints: list[Endpoint] = []
        self._sockets: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()
        for i, (role, instrument) in enumerate(instruments.items()):
            listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((host, base_port + i if base_port else 0))
            listener.listen()
            self._sockets.append(listener)
            served = instrument if isinstance(instrument, FaultInjector) else FaultInjector(instrument)
            self.endpoints.append(Endpoint(role, served, listener.getsockname()[1], host=host))
        # the bench clock, paused from following the wall while a command executes
        clocks = [e.instrument.node.clock for e in self.endpoints if e.instrument.node is not None]
        self._clock = clocks[0] if clocks else None
        self._executed = threading.Condition()

    def start(self) -> InstrumentServer:
        """Accept connections in background threads; return self."""
        for listener, endpoint in zip(self._sockets, self.endpoints):
            thread = threading.Thread(target=self._accept, args=(listener, endpoint), daemon=True,
                                      name=f"sim-{endpoint.role}")
            thread.start()
            self._threads.append(thread)
        return self

    def close(self) -> None:
        self._stop.set()
        for listener in self._sockets:
            try:
                listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            listener.close()

    def __enter__(self) -> InstrumentServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def wait_executed(self, endpoint: Endpoint, count: int, timeout: float = 10.0) -> None:
        """Block until ``count`` bytes of messages to ``endpoint`` have been executed."""
        with self._executed:
            if not self._executed.wait_for(lambda: endpoint.executed >= count, timeout):
                raise TimeoutError(f"the simulated {endpoint.role} executed {endpoint.executed} of {count} bytes "
                                   f"in {timeout:g} s")

    def _accept(self, listener: socket.socket, endpoint: Endpoint) -> None:
        slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        while not self._stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            if not slots.acquire(blocking=False):   # as many sessions as the port takes: refused
                conn.close()
                continue
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self._serve, args=(conn, endpoint, slots), daemon=True).start()

    def _executing(self) -> contextlib.AbstractContextManager:
        """The clock's :meth:`~labsuite.core.clock.VirtualClock.executing` (nothing without a clock)."""
        return self._clock.executing() if self._clock is not None else contextlib.nullcontext()

    def _serve(self, conn: socket.socket, endpoint: Endpoint, slots: threading.BoundedSemaphore) -> None:
        with conn:
            try:
                self._converse(conn, endpoint)
            except (OSError, ConnectionDropped):
                return
            except Exception as exc:   # noqa: BLE001 (a bug here closes this connection, quietly)
                _log.warning("simulated %s: connection closed on %s: %s", endpoint.role, type(exc).__name__, exc)
            finally:
                slots.release()

    def _converse(self, conn: socket.socket, endpoint: Endpoint) -> None:
        """Read lines and execute them until the client or a fault closes the connection."""
        pending = bytearray()
        discarding = False    # inside a line longer than MAX_LINE: drop it up to its end
        while not self._stop.is_set():
            if _QUICKACK is not None:
                conn.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)
            data = conn.recv(_CHUNK)
            if not data:
                return
            scanned = len(pending)
            pending += data
            while (end := pending.find(b"\n", scanned)) >= 0:
                line = bytes(pending[:end])
                del pending[:end + 1]
                scanned = 0
                if discarding:
                    discarding = False
                    endpoint.instrument.overflow()
                    continue
                if looks_like_http(line):
                    return
                self._execute(conn, endpoint, line)
            if len(pending) > MAX_LINE:
                if not discarding and looks_like_http(bytes(pending[:4096])):
                    return
                discarding = True
                pending.clear()

    def _execute(self, conn: socket.socket, endpoint: Endpoint, line: bytes) -> None:
        try:
            with self._executing():
                reply = endpoint.instrument.process(line.decode("latin-1").rstrip("\r"))
        finally:
            with self._executed:
                endpoint.executed += len(line) + 1
                self._executed.notify_all()
        if reply is not None:
            endpoint.instrument.wait_late()
            conn.sendall(reply.encode("latin-1", errors="replace") + b"\n")


class ServedClock:
    """The station's virtual clock as a client of this server must use it.

    Writes over TCP are asynchronous: a client that lets virtual time pass right after a write
    could advance the clock before the instrument has executed the write, and the device would
    spend that time under the old output. Before time passes, this clock waits until every
    message its watched sessions sent has been executed, as a real instrument would have done
    within the time it was given.
    """

    def __init__(self, clock, server: InstrumentServer) -> None:
        self.clock = clock
        self.server = server
        self._sent: dict[str, int] = {}

    def watch(self, resource, role: str) -> None:
        """Count the bytes a pyvisa ``resource`` writes to the instrument serving ``role`` from now
        on. A ``*OPC?`` first makes sure whatever it wrote before (a driver's own set-up) has run."""
        resource.query("*OPC?")
        endpoint = next(e for e in self.server.endpoints if e.role == role)
        self._sent[role] = endpoint.executed   # bytes executed so far, all of them already sent
        write_raw = resource.write_raw

        def counted(message: bytes) -> tuple[int, object]:
            result = write_raw(message)
            self._sent[role] += len(message)
            return result
        resource.write_raw = counted

    def now(self) -> float:
        return self.clock.now()

    def sleep(self, seconds: float) -> None:
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        for endpoint in self.server.endpoints:
            if endpoint.role in self._sent:
                self.server.wait_executed(endpoint, self._sent[endpoint.role])
        self.clock.advance(seconds)
