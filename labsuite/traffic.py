"""Instrument traffic: every message a driver writes and reads, with timestamps.

``log = TrafficLog.attach(smu, clock)`` records from then on, until ``log.detach()``. Each entry
is (bench-clock time in s, "write" | "read", text). ``log.writes`` and ``log.reads`` count
transfers (a query is one write and one read: one round trip). A binary reply read in pieces
(``read_bytes``: a block's header, then its data) is one read, logged as ``base64:`` and its
bytes, terminator included, in base64 (shorter than the readings in ASCII). Run files keep the
transcript.
"""
from __future__ import annotations

import base64
import time
from dataclasses import dataclass, field
from typing import Any


BINARY_PREFIX = "base64:"   # a logged binary reply


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
        write, read, read_bytes = adapter._write, adapter._read, adapter._read_bytes
        now = clock.now if clock is not None else time.monotonic
        state = {"in_read": False, "binary": False}   # inside a text read; a binary reply being read
        block = bytearray()                            # the binary reply read so far

        def logged_write(command: str, **kwargs: Any) -> None:
            state["binary"] = False
            log.entries.append((now(), "write", command))
            write(command, **kwargs)

        def logged_read(**kwargs: Any) -> str:
            state["in_read"], state["binary"] = True, False
            try:
                reply = read(**kwargs)
            finally:
                state["in_read"] = False
            log.entries.append((now(), "read", reply))
            return reply

        def logged_read_bytes(count: int, *args: Any, **kwargs: Any) -> bytes:
            data = read_bytes(count, *args, **kwargs)
            if state["in_read"]:      # an adapter whose text read reads bytes: logged as that read
                return data
            if not state["binary"]:
                block.clear()
                log.entries.append((now(), "read", ""))
                state["binary"] = True
            block.extend(data)
            t, direction, _ = log.entries[-1]
            log.entries[-1] = (t, direction, BINARY_PREFIX + base64.b64encode(block).decode("ascii"))
            return data

        adapter._write, adapter._read, adapter._read_bytes = logged_write, logged_read, logged_read_bytes

        def restore() -> None:
            adapter._write, adapter._read, adapter._read_bytes = write, read, read_bytes
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
