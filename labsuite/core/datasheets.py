"""Data-sheet figures of instrument models, read by a driver and by its simulated twin alike.

A family driver (``labsuite.drivers``) derives each model's capabilities from these, and the
simulated twin (``labsuite.simulator.instruments``) enforces the same ranges and limits, so the
two never disagree on what a model can do. Figures in SI units.
"""
from __future__ import annotations

from dataclasses import dataclass


# Keithley 2400 (Series 2400 data sheet, source specifications: 22 W envelope, ±21 V at 1.05 A,
# ±210 V at 105 mA): the largest current limit on the 200 V range, on which |level| > 21 V is sourced
KEITHLEY_2400_200V_RANGE_CURRENT = 0.105    # A


@dataclass(frozen=True)
class Keithley2600BModel:
    """One Series 2600B System SourceMeter model (Reference Manual 2600BS-901-01, table "Source and
    measurement ranges" and ``smuX.source.limitY``)."""

    channels: int
    voltage_ranges: tuple[float, ...]   # V, source ranges
    current_ranges: tuple[float, ...]   # A, DC source and measure ranges
    limit_i: tuple[float, float]        # A, current compliance
    limit_v: tuple[float, float]        # V, voltage compliance
    default_limit_i: float              # A, after reset()
    default_limit_v: float              # V, after reset()
    max_voltage: float                  # V, largest |levelv| (top range + 1 %)
    pulse_current: float                # A, largest sweep (pulse) current limit
    serial: str                         # the simulated twin's serial number

    def overrange(self, voltage_range: float) -> float:
        """Largest |level| on a voltage range: 5 % over range, 1 % on the top one (section 5)."""
        return self.max_voltage if voltage_range == self.voltage_ranges[-1] else 1.05 * voltage_range

    def voltage_range_for(self, level: float) -> float:
        """The smallest source range whose over-range holds ``level`` V."""
        return next(r for r in self.voltage_ranges if abs(level) <= self.overrange(r))


_CURRENT_RANGES_2602B = (100e-9, 1e-6, 10e-6, 100e-6, 1e-3, 10e-3, 100e-3, 1.0, 3.0)
_CURRENT_RANGES_2612B = (100e-9, 1e-6, 10e-6, 100e-6, 1e-3, 10e-3, 100e-3, 1.0, 1.5)   # and 10 A, pulse mode only
KEITHLEY_2600B = {
    "2601B": Keithley2600BModel(1, (0.1, 1.0, 6.0, 40.0), _CURRENT_RANGES_2602B, (10e-9, 3.0), (10e-3, 40.0),
                                1.0, 40.0, 40.4, 10.0, "4381101"),
    "2602B": Keithley2600BModel(2, (0.1, 1.0, 6.0, 40.0), _CURRENT_RANGES_2602B, (10e-9, 3.0), (10e-3, 40.0),
                                1.0, 40.0, 40.4, 10.0, "4381102"),
    "2612B": Keithley2600BModel(2, (0.2, 2.0, 20.0, 200.0), _CURRENT_RANGES_2612B, (10e-9, 1.5), (20e-3, 200.0),
                                100e-3, 20.0, 202.0, 10.0, "4381112"),
    "2636B": Keithley2600BModel(2, (0.2, 2.0, 20.0, 200.0),
                                (100e-12, 1e-9, 10e-9, 100e-9, 1e-6, 10e-6, 100e-6, 1e-3, 10e-3, 100e-3, 1.0, 1.5),
                                (100e-12, 1.5), (20e-3, 200.0), 100e-3, 20.0, 202.0, 10.0, "4381136"),
}


@dataclass(frozen=True)
class KeysightB2900Model:
    """What differs between the models of the B2900 series (B2900 User's Guide, Source/Measure Unit)."""

    channels: int
    min_pulse_width: float    # s
    min_interval: float       # s, shortest arm/trigger timer interval
    min_current_range: float = 100e-9   # A, smallest source and measurement current range


KEYSIGHT_B2900 = {
    "B2901A": KeysightB2900Model(1, 50e-6, 20e-6),
    "B2902A": KeysightB2900Model(2, 50e-6, 20e-6),
    "B2911A": KeysightB2900Model(1, 10e-6, 10e-6, 10e-9),   # 10 µs pulse width not confirmed in the manuals consulted
    "B2912A": KeysightB2900Model(2, 10e-6, 10e-6, 10e-9),
}
