"""The settings of a bench besides its limits, declared once for the bench file (``bench.toml``),
the CLI options and the GUI's bench panel: how the instruments reach the device and, on a
simulated bench, the noise seed and how the drivers reach the simulated instruments.

Kept apart from :mod:`labsuite.bench` so that building the CLI's options loads no VISA.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from labsuite.core.parameters import Choice, Number

SEED_MAX = 2**63 - 1   # a seed is stored as a 64-bit integer (run file, catalog)


@dataclass(frozen=True)
class BenchSettings:
    """How a bench's instruments reach the device, and what a simulated bench adds: the settings a
    bench file, the CLI options and the GUI's bench panel take, declared once."""

    series_resistance: float = field(default=0.0, metadata={"parameter": Number(
        "", "ohm", 0.0, 0.0, None, "resistance between the SMU and the simulated device (a cable, a protection "
                                   "resistor)")})
    pulse_series_resistance: float = field(default=0.0, metadata={"parameter": Number(
        "", "ohm", 0.0, 0.0, None, "resistance in the pulse generator's path to the device besides its 50 ohm "
                                   "output: it limits what a short could draw")})
    seed: int = field(default=0, metadata={"parameter": Number(
        "", "", 0, 0, SEED_MAX, "seed of the simulated device's noise: the same seed gives the same run",
        integer=True)})
    transport: str = field(default="inprocess", metadata={"parameter": Choice(
        "", ("inprocess", "tcp"), "inprocess", "how the drivers reach the simulated instruments: an in-process "
                                               "VISA backend, or loopback TCP as LAN instruments are reached")})
