"""Fault injection: what a client sees when an instrument, its link or the device misbehaves.

Each served instrument sits behind a :class:`FaultInjector`. Arm a fault from Python
(``station.faults["smu"].arm(Fault.LATE, 5.0)``) or, for a served bench, through the
``simulator`` pseudo-instrument (``FAULT smu,LATE,5``). What the client then sees:

==========  ==================================================================================
DROP        the next message closes the connection (TCP: the socket is closed; in-process:
            VI_ERROR_CONN_LOST); later connections work again
LATE        the next reply comes ``value`` s late (default 5 s): past a client timeout the
            client times out, and the late reply is what its next read gets
GARBLE      the next reply arrives with its bytes scrambled (still newline-terminated)
POWER       mains lost: outputs drop at once, every setting returns to its power-on state,
            the error queue is empty, and the connection drops as with DROP
BREAKDOWN   the device fails short (``value`` Ω, default 10 Ω): from now on the current is
            whatever that resistance and the compliance allow
==========  ==================================================================================

Faults other than BREAKDOWN fire once and disarm.

The injector is also where every transport meets the instrument, so it executes one message at a
time (its gate, which an armed POWER fault takes too; a paced sequence shares only its state
lock), lets an ``abort``/``:ABOR`` from another connection stop the message running, and turns
an unexpected exception of the simulator into an error in the instrument's queue, logged once,
instead of a dropped connection.
"""
from __future__ import annotations

import enum
import logging
import threading
import time
from typing import TYPE_CHECKING

from labsuite.simulator.circuit import DeviceNode
from labsuite.simulator.pacing import Sequencer

if TYPE_CHECKING:   # the transports import this module
    from labsuite.simulator.visa import MessageInstrument


class Fault(enum.Enum):
    DROP = "DROP"
    LATE = "LATE"
    GARBLE = "GARBLE"
    POWER = "POWER"
    BREAKDOWN = "BREAKDOWN"


class ConnectionDropped(ConnectionError):
    """The instrument's link went down; the transport closes the session."""


_log = logging.getLogger("labsuite.simulator")
_RETRY = 0.05   # s between two interrupts while an abort waits for the running message


class FaultInjector:
    """A simulated instrument as a transport serves it, with faults that can be armed."""

    def __init__(self, instrument: MessageInstrument, node: DeviceNode | None = None) -> None:
        self.instrument = instrument
        self.node = node
        self.armed: dict[Fault, float] = {}
        self._late = 0.0   # s the reply just returned by process() must be held back (LATE)
        self.gate = threading.Lock()   # one message (or power loss) at a time, from every connection
        # the instrument's state: the message in the gate's, or a paced sequence's between two of
        # its holds (a message waiting for the sequence frees it, never the gate: no other message,
        # hence no other Lua call on a TSP instrument's runtime, comes in meanwhile)
        self.lock = threading.Lock()
        self._logged: set[tuple[str, str]] = set()
        self.pacer = node.pacer if node is not None else None
        self.sequencer = None if self.pacer is None else Sequencer(self.pacer, self.lock, instrument)
        if self.sequencer is not None:
            instrument.sequencer = self.sequencer

    @property
    def idn(self) -> str:
        return self.instrument.idn

    def arm(self, fault: Fault, value: float | None = None) -> None:
        """Arm ``fault``; ``value`` is the delay of LATE (s) or the short's resistance of BREAKDOWN (Ω)."""
        if fault is Fault.BREAKDOWN:
            if self.node is None:
                raise ValueError("this instrument is not wired to a device that could break down")
            self.node.breakdown(10.0 if value is None else value)
        elif fault is Fault.POWER:   # mains go: whatever runs stops, then the instrument is reset
            self._acquire(abortive=True)
            try:
                self._stop_sequence()
                self.instrument.power_loss()
                self.armed[Fault.DROP] = 0.0
            finally:
                self._release()
        else:
            self.armed[fault] = 5.0 if value is None and fault is Fault.LATE else (value or 0.0)

    def process(self, message: str) -> str | None:
        """Execute ``message`` once the instrument is free; an abort first stops what runs."""
        abortive = self.interrupts(message)
        self._acquire(abortive)
        try:
            if self.armed.pop(Fault.DROP, None) is not None:
                raise ConnectionDropped("connection dropped by fault injection")
            if abortive:
                self._stop_sequence()
            try:
                reply = self._execute(message)
            except (OSError, AssertionError):   # the link failed; a replayed transcript's verdict
                raise
            except Exception as exc:   # noqa: BLE001 (a simulator bug must not cost the client its link)
                self._internal_error(message, exc)
                return None
            if reply is None:
                return None
            if Fault.LATE in self.armed:
                self._late = self.armed.pop(Fault.LATE)
            if self.armed.pop(Fault.GARBLE, None) is not None:
                reply = garble(reply)
            return reply
        finally:
            self._release()

    def _execute(self, message: str) -> str | None:
        """The instrument's reply to ``message``; on a paced station its holds take wall time."""
        if self.pacer is None:
            return self.instrument.process(message)
        with self.pacer.clock.executing(), self.pacer.pacing(self.instrument.run_control):
            return self.instrument.process(message)

    def _stop_sequence(self) -> None:
        """Stop a paced sequence running in the background (under the lock)."""
        if self.sequencer is not None:
            self.sequencer.stop()

    def interrupts(self, message: str) -> bool:
        """True if ``message`` aborts what the instrument runs (TSP ``abort``, SCPI ``:ABOR``)."""
        check = getattr(self.instrument, "interrupts", None)
        return bool(check and check(message))

    def interrupt(self) -> None:
        """Stop the message the instrument executes, if any, and a paced sequence (an abort or a
        device clear); return once that sequence has ended (never called under the lock)."""
        control = getattr(self.instrument, "run_control", None)
        if control is not None:
            control.interrupt()
        if self.sequencer is not None:
            self.sequencer.join(holding_lock=False)

    def overflow(self) -> None:
        """The client sent a line longer than the transport takes: the instrument's error."""
        with self.gate, self.lock:
            report = getattr(self.instrument, "input_overflow", None)
            if report is not None:
                report()

    def _acquire(self, abortive: bool) -> None:
        if abortive:
            self.interrupt()
        for lock in (self.gate, self.lock):
            while not lock.acquire(timeout=_RETRY):
                if abortive:
                    self.interrupt()   # the message running may have started after the last try

    def _release(self) -> None:
        self.lock.release()
        self.gate.release()

    def _internal_error(self, message: str, exc: Exception) -> None:
        key = (type(exc).__name__, str(exc))
        if key not in self._logged:
            self._logged.add(key)
            _log.warning("simulated instrument %r: internal error on %r: %s: %s",
                         self.idn, message[:80], key[0], key[1])
        report = getattr(self.instrument, "internal_error", None)
        if report is not None:
            report(f"{key[0]}: {key[1]}"[:200])

    def take_late_delay(self) -> float:
        """The delay (s) the transport must hold the reply just returned by :meth:`process`."""
        delay, self._late = self._late, 0.0
        return delay

    def wait_late(self) -> None:
        """Hold the reply just returned for its LATE delay, in wall time (a TCP transport)."""
        delay = self.take_late_delay()
        if delay:
            time.sleep(delay)

    def query_interrupted(self) -> None:
        self.instrument.query_interrupted()

    def query_unterminated(self) -> None:
        self.instrument.query_unterminated()


def garble(reply: str) -> str:
    """A reply as line noise leaves it: bytes reversed and flipped out of printable ASCII order."""
    return "".join(chr(0x21 + (ord(c) * 7 + 13) % 94) for c in reversed(reply))
