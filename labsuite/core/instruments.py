"""The hardware contract: what the Runner needs from a source-measure unit and a pulse generator.

Drivers (``labsuite.drivers``) implement these; the Runner programs against them only, so a
protocol runs the same on any supported instrument, real or simulated.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

import numpy as np

from labsuite.core.errors import LimitError
from labsuite.core.program import Train


@dataclass(frozen=True)
class RangeCurrentLimit:
    """A voltage source range on which the largest current limit is lower than the instrument's
    (its power envelope): a level beyond ``above`` needs this range."""

    voltage_range: float          # V, the range's nominal value
    above: float                  # V, |level| beyond which the source is on this range (the range below's top)
    max_current_limit: float      # A, largest compliance on this range


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
    trigger_output: bool = False  # its sequencer can start another instrument (run_train's ``triggered``)
    range_current_limits: tuple[RangeCurrentLimit, ...] = ()   # ranges with a lower largest compliance

    def reduced_range(self, level: float) -> RangeCurrentLimit | None:
        """The reduced-current range a source holding ``level`` V (its largest |level|) is on, or None."""
        return next((r for r in reversed(self.range_current_limits) if abs(level) > r.above), None)

    def check_compliance(self, compliance: float, level: float, instrument: str = "SMU") -> None:
        """Raise :class:`LimitError` unless ``compliance`` (A) is a current limit ``instrument`` can set
        while its source range holds ``level`` (V, the largest |level|)."""
        reduced = self.reduced_range(level)
        high = self.max_current_limit if reduced is None else reduced.max_current_limit
        if not self.min_current_limit <= compliance <= high:
            from labsuite.core.units import format_quantity

            why = f"{instrument} current-limit range" if reduced is None else (
                f"{instrument} current limit on its {reduced.voltage_range:g} V range, which |level| = "
                f"{format_quantity(abs(level), 'V')} needs")
            raise LimitError("compliance", compliance, self.min_current_limit, high, "A", why)


@dataclass(frozen=True)
class TrainReadings:
    """Readings of one hardware-timed train, one per measured segment, in time order."""

    time: np.ndarray      # s, since the first reading of the train
    voltage: np.ndarray   # V, source readback
    current: np.ndarray   # A

    @classmethod
    def joined(cls, parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> TrainReadings:
        """One train's readings from the (instrument time, V, I) of the sweeps it was played as,
        all timed on one instrument clock; times counted from the first reading (no parts: none)."""
        none = np.empty(0)
        times = np.concatenate([none, *(t for t, _, _ in parts)])
        return cls(times - times[0] if times.size else times, np.concatenate([none, *(v for _, v, _ in parts)]),
                   np.concatenate([none, *(i for _, _, i in parts)]))


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

    def hardware_timing_limit(self, train: Train, compliance: float | None = None) -> str | None:
        """None if the instrument's sequencer plays ``train`` faithfully (segments without their own
        limit under ``compliance``, A), else why not, naming the limit."""
        ...

    def run_train(self, train: Train, compliance: float) -> TrainReadings:
        """Play ``train`` timed by the instrument (segments without their own limit use
        ``compliance``, A); return its readings. Output is off afterwards. A driver whose
        capabilities have ``trigger_output`` also takes ``triggered``, the pattern indices of
        segments another instrument plays: its output is open through them, and its trigger output
        is asserted at the start of each."""
        ...

    def stop_train(self) -> TrainReadings:
        """Stop the train ``run_train`` was playing when a stop interrupted it; return the readings
        it took, the first k of the train (k may be 0: none taken, or the train had not started)."""
        ...

    def set_output(self, on: bool) -> None:
        """Turn the output on or off."""
        ...

    def output_enabled(self) -> bool:
        """Ask the instrument whether its output is on."""
        ...

    def set_off_state(self, high_impedance: bool) -> None:
        """What the output does while off: open (output relay open, so another instrument wired to
        the device can drive it) or normal (holds 0 V)."""
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

    def raise_errors(self) -> None:
        """Raise :class:`~labsuite.core.errors.InstrumentError` if the instrument has reported an error."""
        ...

    def shutdown(self) -> None:
        """Turn the output off and stop anything running. Safe to call at any time."""
        ...


@dataclass(frozen=True)
class PulseGeneratorCapabilities:
    """Data-sheet limits of a pulse/function generator channel (SI units)."""

    max_voltage: float          # V, largest |level| into a high-impedance load
    min_width: float            # s, shortest pulse width
    max_width: float            # s, longest pulse width
    width_resolution: float     # s, pulse width and period resolution
    min_edge: float             # s, fastest programmable edge (10–90 %)
    min_period: float           # s, shortest pulse period (highest pulse rate)
    max_burst: int              # cycles per burst
    output_impedance: float     # Ω, source impedance of the output
    channels: int               # independent outputs


@runtime_checkable
class PulseGenerator(Protocol):
    """A generator that plays bursts of rectangular pulses on a bus trigger, or on an edge at its
    trigger input (``arm_external_burst``).

    Levels are open-circuit voltages: drivers set the output load to high impedance, so a
    device sees ``level`` divided between it and the generator's output impedance.
    """

    capabilities: PulseGeneratorCapabilities

    def identify(self) -> str:
        """Return the *IDN? reply."""
        ...

    def settings(self) -> dict[str, object]:
        """Return the settings worth storing with a run."""
        ...

    def configure_burst(self, level: float, width: float, period: float, count: int, edge: float,
                        channel: int = 1) -> None:
        """Pulses from 0 V to ``level`` V, ``width`` s wide (50 % points), every ``period`` s,
        ``count`` per bus trigger, ``edge`` s rise and fall; output stays as it is."""
        ...

    def arm_external_burst(self, level: float, width: float, period: float, count: int, edge: float,
                           idle: float, channel: int = 1) -> None:
        """Pulses from ``idle`` V to ``level`` V as ``configure_burst`` plays them, ``count`` per
        rising edge at the trigger input (another instrument starts them); the output is off after."""
        ...

    def check_burst(self, level: float, width: float, period: float, count: int, edge: float,
                    channel: int = 1) -> None:
        """Raise :class:`~labsuite.core.errors.RangeError` naming the setting ``configure_burst`` would
        refuse; sends nothing."""
        ...

    def raise_errors(self) -> None:
        """Raise :class:`~labsuite.core.errors.InstrumentError` if the instrument has reported an error."""
        ...

    def trigger(self) -> None:
        """Fire one burst on every channel armed for the bus trigger (``*TRG``); return once it has
        played (count × period later)."""
        ...

    def set_output(self, on: bool, channel: int = 1) -> None:
        """Turn a channel's output on or off."""
        ...

    def output_enabled(self, channel: int = 1) -> bool:
        """Ask the instrument whether a channel's output is on."""
        ...

    def shutdown(self) -> None:
        """Turn every output off and stop anything running. Safe to call at any time."""
        ...


Kind = Literal["smu", "pulse_generator"]   # the bench role an instrument fills


@dataclass(frozen=True)
class Registration:
    """One instrument as users name it, declared once by its driver class (``registrations``).

    ``labsuite.registry`` collects these; the simulated twin declares the same ``name`` in its
    ``simulates``. ``model`` is passed to the driver's constructor as ``model=`` (and to the twin's),
    for a driver that serves several models of a family.
    """

    name: str                 # bench.toml ``driver = ...``, ``--smu``/``--pulse-generator``
    kind: Kind
    idn_pattern: str          # regular expression the *IDN? reply matches (case-insensitive)
    capabilities: SourceMeterCapabilities | PulseGeneratorCapabilities   # this model's data-sheet limits
    model: str | None = None
