"""Instrument traffic: every message a driver writes and reads, with timestamps.

``log = TrafficLog.attach(smu, clock)`` records from then on, until ``log.detach()``. Each entry
is (bench-clock time in s, "write" | "read", text). ``log.writes`` and ``log.reads`` count
transfers (a query is one write and one read: one round trip). Run files keep the transcript.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class TrafficLog:
    """Messages exchanged with one instrument, oldest first."""

    entries: list[tuple[float, str, str]] = field(default_factory=list)
    _restore: Any = field(default=None, repr=False)

    @classmethod
    def attach(cls, instrument: Any, clock: Any = None) -> TrafficLog:
        """Record the traffic of a pymeasure ``instrument`` (wraps its adapter).

        Times come from ``clock.now()`` (the bench clock) or, without one, the monotonic clock.
        """
        log = cls()
        adapter = instrument.adapter
        write, read = adapter._write, adapter._read
        now = clock.now if clock is not None else time.monotonic

        def logged_write(command: str, **kwargs: Any) -> None:
            log.entries.append((now(), "write", command))
            write(command, **kwargs)

        def logged_read(**kwargs: Any) -> str:
            reply = read(**kwargs)
            log.entries.append((now(), "read", reply))
            return reply

        adapter._write, adapter._read = logged_write, logged_read

        def restore() -> None:
            adapter._write, adapter._read = write, read
        log._restore = restore
        return log

    def detach(self) -> None:
        """Stop recording (the adapter works as before)."""
        if self._restore is not None:
            self._restore()
            self._restore = None

    @property
    def writes(self) -> int:
        return sum(1 for _, d, _ in self.entries if d == "write")

    @property
    def reads(self) -> int:
        return sum(1 for _, d, _ in self.entries if d == "read")

    def sent(self) -> list[str]:
        """Every command written, in order."""
        return [text for _, d, text in self.entries if d == "write"]

    def clear(self) -> None:
        self.entries.clear()
