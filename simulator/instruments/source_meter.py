"""What the simulated SCPI source-measure units (Keithley 2400 and 2450, Keysight B2900) share:
an output that drives the device through one source port on the bench clock, mains on and off
as IEEE 488.2 defines them, the moving averaging filter (2400, 2450) and the trace buffer
(2400, B2900)."""
from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from labsuite.simulator.circuit import SourcePort
from labsuite.simulator.instruments.scpi import Ieee488Instrument, command


def moving_average(stack: deque[float], count: int, value: float) -> float:
    """A moving averaging filter's reading: the mean of the last ``count`` conversions once
    ``value`` joins ``stack`` (the first conversion fills an empty stack, as the 2400 and 2450
    manuals describe ``:AVERage:TCONtrol MOVing``)."""
    if not stack:
        stack.extend([value] * count)
    stack.append(value)
    while len(stack) > count:
        stack.popleft()
    return float(np.mean(stack))


@dataclass
class TraceBuffer:
    """The reading buffer of the 2400 and the B2900 (``:TRACe``): it stores readings while its
    feed control is ``NEXT`` and turns the control to ``NEV`` (no error) once ``capacity`` are in."""

    capacity: int
    control: str = "NEV"
    readings: list[Any] = field(default_factory=list)

    def feed(self, reading: Any) -> bool:
        """Store ``reading`` while the control is ``NEXT``; True if it filled the buffer."""
        if self.control != "NEXT":
            return False
        self.readings.append(reading)
        if len(self.readings) >= self.capacity:
            self.control = "NEV"
            return True
        return False


class SimulatedSourceMeter(Ieee488Instrument):
    """An SMU whose output drives the device through ``port``: each message runs with the port
    brought up to bench time and leaves the output state on it (``_drive``)."""

    _drive: Callable[[], None]

    def __init__(self, port: SourcePort) -> None:
        super().__init__()
        self.port = port
        self.clock = port.clock

    def power_on(self) -> None:
        """The state after mains on: power-on status (§11.5.1.1), then the *RST settings."""
        self.power_on_status()
        self.reset()

    def power_loss(self) -> None:
        """Mains lost and back: the output drops and every setting returns to its power-on state."""
        self.power_on()
        self._drive()

    def process(self, message: str) -> str | None:
        self.port.sync()
        try:
            return super().process(message)
        finally:
            self._drive()

    @command(":SYSTem:ERRor:COUNt?")
    def _error_count(self) -> str:
        return str(len(self.errors))
