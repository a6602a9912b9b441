"""Clocks: where time comes from. Real time on hardware, virtual time in simulation.

Nothing in the core calls ``time.sleep`` directly: waiting goes through a clock, so that on a
simulated bench an hour of retention costs nothing.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol


class Clock(Protocol):
    """Seconds since the clock started, and a way to wait."""

    def now(self) -> float:
        """Return the time in s since the clock started."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` s."""
        ...


class RealClock:
    """Wall-clock time (monotonic), for real instruments."""

    def __init__(self) -> None:
        self._start = time.monotonic()

    def now(self) -> float:
        return time.monotonic() - self._start

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class VirtualClock:
    """Simulated time that only moves when something waits or a simulated instrument runs.

    With ``follow_wall=True`` it also advances with the wall clock (for a simulator served to an
    outside client that waits in real time), ``speed`` virtual seconds per wall second;
    ``sleep`` and ``advance`` then add on top of that.
    It does not follow the wall while an instrument executes a command (:meth:`executing`): the
    time a computer takes to simulate a train is not time the train takes.
    Thread-safe: a served bench's instruments share one clock.
    """

    def __init__(self, follow_wall: bool = False, speed: float = 1.0) -> None:
        if not speed > 0:
            raise ValueError(f"speed must be > 0 virtual s per wall s, not {speed}")
        self._offset = 0.0
        self._follow_wall = follow_wall
        self.speed = speed
        self._wall_start = time.monotonic()
        self._executing = 0           # commands being executed now (on any instrument)
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            wall = time.monotonic() - self._wall_start if self._follow_wall and not self._executing else 0.0
            return self._offset + wall * self.speed

    @contextmanager
    def executing(self) -> Iterator[None]:
        """While a simulated instrument executes a command: time moves only by ``advance``, not
        with the wall clock, so that its sequencer times pulses and readings exactly however
        long the computing takes. Nests across instruments and threads."""
        with self._lock:
            if self._follow_wall and not self._executing:
                now = time.monotonic()
                self._offset += (now - self._wall_start) * self.speed
            self._executing += 1
        try:
            yield
        finally:
            with self._lock:
                self._executing -= 1
                if not self._executing:
                    self._wall_start = time.monotonic()

    def sleep(self, seconds: float) -> None:
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        """Move virtual time forward by ``seconds`` s without waiting."""
        if seconds < 0:
            raise ValueError(f"time cannot go backwards (advance by {seconds} s)")
        with self._lock:
            self._offset += seconds
