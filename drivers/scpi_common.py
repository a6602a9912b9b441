"""What the SCPI drivers share: the link settings, the error queue read to its end, the output
switch of a single-channel SMU, the identity and line frequency, the level, limit and integration
time of a software-timed step, the source range a level needs, and numbers as they are sent."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from labsuite.core.errors import InstrumentError

RANGE_HEADROOM = 1.05   # a source range reaches 105 % of its nominal value
LINK_DEFAULTS = {"read_termination": "\n", "write_termination": "\n", "timeout": 10_000}   # timeout in ms


def link_settings(kwargs: dict[str, object]) -> dict[str, object]:
    """The pymeasure adapter settings ``kwargs`` gives, and for the rest the drivers' defaults:
    messages ended by LF both ways, a 10 s timeout."""
    return {**LINK_DEFAULTS, **kwargs}


class ErrorQueueMixin:
    """``raise_errors`` for a pymeasure SCPI instrument whose ``check_errors`` reads
    ``:SYST:ERR?`` entries (``-222,"Data out of range"``) until the queue is empty."""

    name: str

    def raise_errors(self) -> None:
        """Read the error queue to its end; raise :class:`InstrumentError` with the first error, if any."""
        errors = self.check_errors()
        if errors:
            code, message = errors[0][0], ",".join(str(e) for e in errors[0][1:])
            raise InstrumentError(self.name, message.strip('"'), int(code))


class LineFrequencyMixin:
    """``identify`` and the power line frequency read once, for a pymeasure SMU whose
    ``line_frequency_query`` asks it."""

    line_frequency_query: str
    id: str
    _line_frequency: float | None = None

    def identify(self) -> str:
        """Get the *IDN? reply."""
        return self.id

    @property
    def line_frequency(self) -> float:
        """Get the power line frequency in Hz (read once)."""
        if self._line_frequency is None:
            self._line_frequency = float(self.ask(self.line_frequency_query))
        return self._line_frequency


class SteppedSourceMixin(LineFrequencyMixin):
    """The level, current limit and integration time of a software-timed step, for a pymeasure SMU
    that sets each with one message: ``level_message`` and ``compliance_message`` are formatted
    with ``volts`` and ``amps``; ``nplc_range`` bounds the integration time in power line cycles."""

    level_message: str
    compliance_message: str
    nplc_range: tuple[float, float]

    def set_level(self, volts: float) -> None:
        """Set the source level, V."""
        self.write(self.level_message.format(volts=volts))

    def set_compliance(self, amps: float) -> None:
        """Set the current limit, A."""
        self.write(self.compliance_message.format(amps=amps))

    def nplc(self, aperture: float) -> float:
        """The integration time in power line cycles nearest ``aperture`` s, within ``nplc_range``."""
        return float(np.clip(aperture * self.line_frequency, *self.nplc_range))


class OutputMixin:
    """The output switch and output-off state of a pymeasure SCPI SMU with one output
    (``:OUTPut``, ``:OUTPut:SMODe``) and a ``source_enabled`` property."""

    source_enabled: bool

    def set_output(self, on: bool) -> None:
        """Turn the output on or off."""
        self.write(":OUTP ON" if on else ":OUTP OFF")

    def output_enabled(self) -> bool:
        """Ask whether the output is on (:OUTPut?)."""
        return self.source_enabled

    def set_off_state(self, high_impedance: bool) -> None:
        """Output-off state: HIMPedance (relay open) or NORMal (0 V) (:OUTPut:SMODe)."""
        self.write(":OUTP:SMOD HIMP" if high_impedance else ":OUTP:SMOD NORM")


def smallest_range(level: float, ranges: Sequence[float], beyond: str) -> float:
    """Smallest of the nominal ``ranges`` (ascending, V or A) holding ``level`` within its 105 %;
    beyond the last, ValueError saying ``level`` is beyond ``beyond`` (e.g. "the 2400's 200 V range")."""
    for r in ranges:
        if abs(level) <= r * RANGE_HEADROOM:
            return r
    raise ValueError(f"{level} V is beyond {beyond}")


def number(value: float) -> str:
    """A setting as sent: the shortest decimal that reads back as the same float."""
    return repr(float(value))
