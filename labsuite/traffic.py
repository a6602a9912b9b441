"""Instrument traffic: every message a driver writes and reads, with wall-clock (monotonic) timestamps.

``log = TrafficLog.attach(smu)`` records from then on; ``log.writes`` and ``log.reads`` count
transfers (a query is one write and one read: one round trip).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class TrafficLog:
    """Messages exchanged with one instrument, oldest first: (time s, "write"|"read", text)."""

    entries: list[tuple[float, str, str]] = field(default_factory=list)

    @classmethod
    def attach(cls, instrument: Any) -> TrafficLog:
        """Record the traffic of a pymeasure ``instrument`` (wraps its adapter)."""
        log = cls()
        adapter = instrument.adapter
        write, read = adapter._write, adapter._read

        def logged_write(command: str, **kwargs: Any) -> None:
            log.entries.append((time.monotonic(), "write", command))
            write(command, **kwargs)

        def logged_read(**kwargs: Any) -> str:
            reply = read(**kwargs)
            log.entries.append((time.monotonic(), "read", reply))
            return reply

        adapter._write, adapter._read = logged_write, logged_read
        return log

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
