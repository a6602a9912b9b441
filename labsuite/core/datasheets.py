"""Data-sheet figures of instrument models, read by a driver and by its simulated twin alike.

A family driver (``labsuite.drivers``) derives each model's capabilities from these, and the
simulated twin (``labsuite.simulator.instruments``) enforces the same ranges and limits, so the
two never disagree on what a model can do. Figures in SI units.

A model row that names a ``variant`` is offered under that registry name on its own (with its own
limits, beside its family's entry): the family driver's ``registrations`` and its twin's
``simulates`` are both built from :func:`variants`, so a variant of a family the drivers already
speak is this one row.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from labsuite.core.instruments import PulseGeneratorCapabilities


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
    variant: str | None = None          # registry name it is offered under on its own (None: family only)

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
                                100e-3, 20.0, 202.0, 10.0, "4381112", variant="keithley2612b"),
    # Reference Manual 2600BS-901-01 Rev. F: smuX.source.limitY p. 9-244 (20 mV-200 V, 100 pA-1.5 A,
    # reset 20 V / 100 mA); section 10, current ranges 1 nA-1.5 A ("100 pA (not available on 2634B)")
    "2634B": Keithley2600BModel(2, (0.2, 2.0, 20.0, 200.0),
                                (1e-9, 10e-9, 100e-9, 1e-6, 10e-6, 100e-6, 1e-3, 10e-3, 100e-3, 1.0, 1.5),
                                (100e-12, 1.5), (20e-3, 200.0), 100e-3, 20.0, 202.0, 10.0, "4381134",
                                variant="keithley2634b"),
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


# The pulse generators, by registry name; levels open circuit (into a high-impedance load).
#                                           max V, min width, max width, width step, min edge, min period,
#                                           max burst, output Ω, channels
PULSE_GENERATORS = {
    # 33500B/33600A two-channel models (33500 Series Operating and Service Guide 33500-90901,
    # specifications: 16 ns pulse, 8.4 ns edges, 30 MHz pulse rate, 100 ps width resolution)
    "keysight33500": PulseGeneratorCapabilities(10.0, 16e-9, 1e6, 100e-12, 8.4e-9, 1 / 30e6,
                                                100_000_000, 50.0, 2),
    # the AFG31022, slowest of the AFG31000 series (not confirmed here: see the driver's docstring)
    "tektronixafg31000": PulseGeneratorCapabilities(10.0, 30e-9, 999.99, 10e-12, 18e-9, 1 / 12.5e6,
                                                    1_000_000, 50.0, 2),
}


def variants(models: Mapping[str, Keithley2600BModel]) -> dict[str, str]:
    """``{registry name: model}`` of the rows of ``models`` offered under a name of their own."""
    return {row.variant: model for model, row in models.items() if row.variant is not None}
