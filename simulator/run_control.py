"""Stopping a command that runs too long: an abort from another connection, or the budget.

A simulated instrument executes each message inside one call. What loops (a TSP script, a
trigger model that branches back for ever) checks :meth:`RunControl.check` as it goes: an
``abort``/``:ABOR`` or a device clear from another connection (:meth:`RunControl.interrupt`,
thread safe), or a message that has used up its wall-time budget, stops it with
:class:`Interrupted`. The instrument then queues its own error (a budget) or nothing (an abort). A paced sequence
(:mod:`labsuite.simulator.pacing`) sleeps on :meth:`RunControl.wait_until`, which an interrupt
wakes, and the time it sleeps is not charged to its budget.
"""
from __future__ import annotations

import threading
import time

MESSAGE_SECONDS = 30.0        # s of wall time one message may run before it is stopped
LUA_INSTRUCTIONS = 200_000_000  # Lua VM instructions one TSP message may run
LUA_MEMORY = 64 << 20         # bytes of Lua memory an instrument's scripts and globals may hold


class Interrupted(Exception):
    """The running message is stopped; ``budget`` tells a budget overrun from an abort."""

    def __init__(self, reason: str, budget: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.budget = budget
        self.reported = False   # the instrument has queued its error for it


class RunControl:
    """Budget and abort flag of the message an instrument is executing."""

    def __init__(self, seconds: float = MESSAGE_SECONDS, instructions: int = LUA_INSTRUCTIONS) -> None:
        self.seconds = seconds
        self.instructions = instructions
        self._lock = threading.Condition()
        self._depth = 0   # nested begin() calls (a subclass's process() around its base class's)
        self._deadline = 0.0
        self.stopped: Interrupted | None = None   # why the running message was stopped

    def begin(self) -> None:
        """A message starts executing (under the instrument's lock); nested calls count once."""
        with self._lock:
            self._depth += 1
            if self._depth == 1:
                self._deadline = time.monotonic() + self.seconds
                self.stopped = None

    def end(self) -> None:
        """The message is done; a later interrupt no longer concerns it."""
        with self._lock:
            self._depth -= 1

    @property
    def _running(self) -> bool:
        return self._depth > 0

    def interrupt(self, reason: str = "aborted") -> None:
        """Stop the message being executed, if any (from any thread)."""
        with self._lock:
            if self._running and self.stopped is None:
                self.stopped = Interrupted(reason, budget=False)
                self._lock.notify_all()

    def resume(self) -> None:
        """An interrupt has stopped what it was meant for (a paced sequence): the message that
        asked for it goes on."""
        with self._lock:
            if self.stopped is not None and not self.stopped.budget:
                self.stopped = None

    def exceed(self, reason: str) -> Interrupted:
        """Record that the running message overran its budget; the exception to raise."""
        with self._lock:
            if self.stopped is None:
                self.stopped = Interrupted(reason, budget=True)
            return self.stopped

    def wait_until(self, wall: float) -> bool:
        """Sleep until ``time.monotonic()`` reaches ``wall`` or the message is stopped (a paced
        sequence waiting for the wall clock); the time slept is not charged to the budget.
        True if it was stopped."""
        with self._lock:
            start = time.monotonic()
            self._lock.wait_for(lambda: self.stopped is not None, max(0.0, wall - start))
            self._deadline += time.monotonic() - start
            return self.stopped is not None

    def poll(self) -> bool:
        """True if the running message must stop now (interrupted or out of time)."""
        if self.stopped is None and self._running and time.monotonic() > self._deadline:
            self.exceed(f"the message ran past the simulator's budget of {self.seconds:g} s")
        return self.stopped is not None

    def check(self) -> None:
        """Raise :class:`Interrupted` if the running message must stop now."""
        if self.poll():
            raise self.stopped  # type: ignore[misc]
