"""Loopback TCP server: each simulated instrument listens like a LAN instrument's raw socket.

A VISA client reaches it at ``TCPIP::127.0.0.1::<port>::SOCKET`` (termination ``\\n``). Bound to
127.0.0.1 only. Commands from all connections to one instrument are executed one at a time, with
the bench clock held from following the wall clock meanwhile (a served train is timed by the
simulated instrument, not by how fast this computer simulates it).

pyvisa-py leaves Nagle's algorithm on for SOCKET sessions; a write followed by a query then
stalls ~40 ms on the server's delayed ACK. The server sets TCP_NODELAY and re-arms TCP_QUICKACK
before every ``recv`` so that any client runs at full speed (measured: ~90 µs per write+query).
"""
from __future__ import annotations

import contextlib
import socket
import threading
from dataclasses import dataclass

from labsuite.simulator.faults import ConnectionDropped, FaultInjector
from labsuite.simulator.visa import MessageInstrument

_QUICKACK = getattr(socket, "TCP_QUICKACK", None)


@dataclass
class Endpoint:
    role: str
    instrument: FaultInjector
    port: int
    executed: int = 0     # bytes of complete messages executed, from every connection

    @property
    def resource(self) -> str:
        return f"TCPIP0::127.0.0.1::{self.port}::SOCKET"


class InstrumentServer:
    """Serve ``{role: instrument}`` on consecutive ports from ``base_port`` (0: any free ports).

    Instruments not already behind a :class:`FaultInjector` get one without a device.
    """

    def __init__(self, instruments: dict[str, MessageInstrument], base_port: int = 0) -> None:
        self.endpoints: list[Endpoint] = []
        self._sockets: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()
        for i, (role, instrument) in enumerate(instruments.items()):
            listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(("127.0.0.1", base_port + i if base_port else 0))
            listener.listen()
            self._sockets.append(listener)
            served = instrument if isinstance(instrument, FaultInjector) else FaultInjector(instrument)
            self.endpoints.append(Endpoint(role, served, listener.getsockname()[1]))
        self._locks = {id(e.instrument): threading.Lock() for e in self.endpoints}
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
        while not self._stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self._serve, args=(conn, endpoint), daemon=True).start()

    def _executing(self) -> contextlib.AbstractContextManager:
        """The clock's :meth:`~labsuite.clock.VirtualClock.executing` (nothing without a clock)."""
        return self._clock.executing() if self._clock is not None else contextlib.nullcontext()

    def _serve(self, conn: socket.socket, endpoint: Endpoint) -> None:
        lock = self._locks[id(endpoint.instrument)]
        pending = b""
        with conn:
            while not self._stop.is_set():
                if _QUICKACK is not None:
                    conn.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)
                try:
                    data = conn.recv(65536)
                except OSError:
                    return
                if not data:
                    return
                pending += data
                while b"\n" in pending:
                    line, pending = pending.split(b"\n", 1)
                    try:
                        with lock, self._executing():
                            reply = endpoint.instrument.process(line.decode("ascii", errors="replace").rstrip("\r"))
                    except ConnectionDropped:
                        return
                    finally:
                        with self._executed:
                            endpoint.executed += len(line) + 1
                            self._executed.notify_all()
                    if reply is not None:
                        endpoint.instrument.wait_late()
                        conn.sendall(reply.encode("ascii") + b"\n")


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
