"""Real-time pacing: a served bench whose instruments take their time on the wall clock.

In virtual time (the default) an instrument plays a whole trigger model, list sweep or burst
inside the command that starts it, and a measurement or a script's ``delay`` costs no wall time.
On a paced station (``labsuite sim serve --pace``) every hold of an output waits until the wall
clock, times the clock's ``speed``, has caught up with it:

- a **message's own holds** (a reading's aperture, a TSP script stepping with ``delay``) keep
  the instrument busy meanwhile, as on hardware: other connections' messages queue;
- a **sequence** (what ``:INIT``, ``smuX.trigger.initiate()`` or a bus trigger starts) plays in a
  background thread (:class:`Sequencer`): the message that starts it returns at once, other
  messages run between two of its holds and see its state as of "now" (status registers report
  it running, its readings are in the buffer as they are taken), and ``:ABOR``/``abort``, a
  device clear or an injected power loss stop it at the present time.

A hold that an abort cuts short is played up to the moment of the abort, so the device sees the
part of the segment that went out. The sequence's timeline stays the instrument's own: each hold
lasts exactly its duration in virtual time however long computing it took; a slow computer only
makes the sequence late on the wall clock.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any

from labsuite.core.clock import VirtualClock
from labsuite.simulator.run_control import Interrupted, RunControl

_log = logging.getLogger("labsuite.simulator")


@dataclass
class _Pace:
    """What the holds of one thread wait for: its start on both clocks, its abort flag, and the
    instrument lock it frees while it waits (a background sequence) or keeps (a message)."""

    virtual: float             # s on the bench clock when it started
    wall: float                # s, time.monotonic() when it started
    control: RunControl
    lock: threading.Lock | None = None


class Pacer:
    """The pacing of one station: holds wait for the wall clock at ``clock.speed`` virtual s per s."""

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self._local = threading.local()

    @contextmanager
    def pacing(self, control: RunControl, lock: threading.Lock | None = None,
               origin: tuple[float, float] | None = None) -> Iterator[None]:
        """Pace the holds this thread makes from now on (``control``: the instrument's abort flag;
        ``lock``: released while waiting, for a background sequence; ``origin``: (bench time, wall
        time) it started at, if not now)."""
        outer = getattr(self._local, "pace", None)
        virtual, wall = origin or (self.clock.now(), time.monotonic())
        self._local.pace = _Pace(virtual, wall, control, lock)
        try:
            yield
        finally:
            self._local.pace = outer

    def wait(self, duration: float) -> float:
        """Wait until the wall clock reaches the end of a ``duration`` s hold starting now; return
        how much of it was played: all of it, or the part before an abort."""
        pace: _Pace | None = getattr(self._local, "pace", None)
        if pace is None or duration <= 0:
            return duration
        start = self.clock.now()
        if pace.lock is not None:
            pace.lock.release()
        try:
            stopped = pace.control.wait_until(pace.wall + (start + duration - pace.virtual) / self.clock.speed)
            woke = time.monotonic()
        finally:
            if pace.lock is not None:
                pace.lock.acquire()
        if not stopped:
            return duration
        return min(duration, max(0.0, pace.virtual + (woke - pace.wall) * self.clock.speed - start))

    def check(self) -> None:
        """Raise :class:`Interrupted` if what this thread paces was stopped."""
        pace: _Pace | None = getattr(self._local, "pace", None)
        if pace is not None:
            pace.control.check()


class Sequencer:
    """Plays an instrument's sequences in a background thread on a paced station.

    ``lock`` is the instrument's message lock (its ``FaultInjector``'s): the sequence holds it
    while it computes and frees it while it waits for the wall clock. The instrument reports a
    sequence stopped by its budget (``report_stop``) or failed (``internal_error``) as it would a
    message.
    """

    def __init__(self, pacer: Pacer, lock: threading.Lock, instrument: Any) -> None:
        self.pacer = pacer
        self.lock = lock
        self.instrument = instrument
        self.running = False           # a sequence plays (set and cleared under the lock)
        self._thread: threading.Thread | None = None

    def start(self, sequence: Callable[[], None]) -> None:
        """Play ``sequence`` in the background; called under the lock by the message starting it.
        A sequence still running is stopped first."""
        self.stop()
        control: RunControl = self.instrument.run_control
        control.begin()    # from now until it ends, an abort or a device clear reaches it
        # the sequence starts now, on both clocks, however late its thread gets going
        frozen = self.pacer.clock.executing()
        frozen.__enter__()
        origin = (self.pacer.clock.now(), time.monotonic())
        self.running = True
        self._thread = threading.Thread(target=self._play, args=(sequence, control, frozen, origin), daemon=True,
                                        name="sim-sequence")
        self._thread.start()

    def stop(self) -> None:
        """Stop the running sequence at the present time; return once it has ended (under the lock).
        The message asking for it goes on."""
        if self.running:
            self.instrument.run_control.interrupt()
            self.join()
            self.instrument.run_control.resume()

    def join(self, holding_lock: bool = True) -> None:
        """Return once the running sequence has ended; a caller ``holding_lock`` frees it meanwhile."""
        thread = self._thread
        if thread is None or thread is threading.current_thread():
            return
        if not holding_lock:
            thread.join()
            return
        self.lock.release()
        try:
            thread.join()
        finally:
            self.lock.acquire()

    def _play(self, sequence: Callable[[], None], control: RunControl, frozen: AbstractContextManager,
              origin: tuple[float, float]) -> None:
        """The thread: ``sequence`` under the lock, timed from ``origin`` (bench s, wall s); the clock
        was ``frozen`` from following the wall then (entered by :meth:`start`, left here)."""
        with self.lock:
            try:
                with self.pacer.pacing(control, self.lock, origin):
                    sequence()   # stopped before it began, it stops at its first check or hold
            except Interrupted as stop:
                self.instrument.report_stop(stop)
            except Exception as exc:   # noqa: BLE001 (a simulator bug ends the sequence, not the server)
                _log.warning("simulated %r: sequence failed: %s: %s", self.instrument.idn, type(exc).__name__, exc)
                self.instrument.internal_error(f"{type(exc).__name__}: {exc}"[:200])
            finally:
                frozen.__exit__(None, None, None)
                self.running = False
                self._thread = None
                control.end()


class Sequenced:
    """What an instrument needs to play its sequences in virtual time or, paced, in the background."""

    sequencer: Sequencer | None = None   # set by the FaultInjector of a paced station

    @property
    def sequence_running(self) -> bool:
        """A paced sequence is playing now (never true in virtual time)."""
        return self.sequencer is not None and self.sequencer.running

    def play(self, sequence: Callable[[], None]) -> None:
        """Play ``sequence``: inside this command in virtual time, in the background when paced."""
        if self.sequencer is None:
            sequence()
        else:
            self.sequencer.start(sequence)

    def stop_sequence(self) -> None:
        """``:ABOR``/``abort`` inside a message: stop a paced sequence at the present time."""
        if self.sequencer is not None:
            self.sequencer.stop()
