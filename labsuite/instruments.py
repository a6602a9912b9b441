"""The hardware contract: what the Runner needs from a source-measure unit.

Drivers (``labsuite.drivers``) implement these; the Runner programs against them only, so a
protocol runs the same on any supported SMU, real or simulated.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from labsuite.program import Train


@dataclass(frozen=True)
class SourceMeterCapabilities:
    """Data-sheet limits that decide whether and how a program can run (SI units)."""

    max_voltage: float            # V, largest |level| the source can apply
    max_current_limit: float      # A, largest compliance
    min_current_limit: float      # A, smallest compliance
    min_segment: float            # s, shortest segment a hardware-timed train can hold
    min_aperture: float           # s, shortest current integration (measured segments must be longer)
    max_aperture: float           # s, longest current integration
    max_repeats: int              # repeats of a pattern per hardware-timed train (list length)
    max_pattern: int              # segments in one pattern of a hardware-timed train
    max_readings: int             # readings the instrument buffers per train


@dataclass(frozen=True)
class TrainReadings:
    """Readings of one hardware-timed train, one per measured segment, in time order."""

    time: np.ndarray      # s, since the first reading of the train
    voltage: np.ndarray   # V, source readback
    current: np.ndarray   # A


@runtime_checkable
class SourceMeter(Protocol):
    """A voltage source with a current limit and a current meter."""

    capabilities: SourceMeterCapabilities

    def identify(self) -> str:
        """Return the *IDN? reply."""
        ...

    def settings(self) -> dict[str, object]:
        """Return the settings worth storing with a run (ranges, limits, NPLC, ...)."""
        ...

    def configure(self, compliance: float, max_level: float) -> None:
        """Voltage source of range ≥ ``max_level`` (V), current limit ``compliance`` (A); output stays off."""
        ...

    def run_train(self, train: Train, compliance: float) -> TrainReadings:
        """Play ``train`` timed by the instrument (segments without their own limit use
        ``compliance``, A); return its readings. Output is off afterwards."""
        ...

    def set_output(self, on: bool) -> None:
        """Turn the output on or off."""
        ...

    def set_level(self, volts: float) -> None:
        """Set the source level, V."""
        ...

    def set_compliance(self, amps: float) -> None:
        """Set the current limit, A."""
        ...

    def measure(self, aperture: float) -> tuple[float, float]:
        """Take one reading integrating ``aperture`` s; return (V readback, I)."""
        ...

    def shutdown(self) -> None:
        """Turn the output off and stop anything running. Safe to call at any time."""
        ...
