"""Forming: a feedback ramp of pulse amplitude, under compliance, until the device has formed.

Each step is one pulse of the next amplitude followed by a read::

    |pulse: start_amplitude + k·amplitude_step, width|0 V: read_delay|read: read_voltage, read_time|   → R = V_read / I_read

After every ``steps_per_stage`` steps the read resistance is compared with ``target_resistance``;
the ramp stops after the first stage in which a step reached it (with one step per stage, the
default, at that very step; with more, the rest of that stage's pulses are still applied), or
after the step at ``stop_amplitude``. The current
limit ``compliance`` holds throughout: it is what keeps the new filament from running away.
Figures: formed (1 or 0), forming_voltage (the amplitude of the step that formed it), initial
and final read resistance, steps used.
"""
from __future__ import annotations

from typing import ClassVar

import numpy as np

from labsuite.core.errors import ParameterError
from labsuite.core.parameters import Declaration, Number
from labsuite.core.plotspec import PlotSpec, Series
from labsuite.core.program import PulseProgram, Segment, Train
from labsuite.core.units import format_quantity
from labsuite.protocols.protocol import AdaptiveProtocol
from labsuite.protocols.timing import MIN_MEASURED, MIN_SEGMENT


class Forming(AdaptiveProtocol):
    """Ramp pulse amplitude until the read resistance falls to the target."""

    name = "forming"
    aliases = ("electroforming",)
    title = "Forming"
    parameters: ClassVar[tuple[Declaration, ...]] = (
        Number("start_amplitude", "V", 0.5, -210.0, 210.0, "amplitude of the first pulse"),
        Number("stop_amplitude", "V", 3.0, -210.0, 210.0, "amplitude not to pass"),
        Number("amplitude_step", "V", 0.05, 1e-4, 10.0, "amplitude increment per step (magnitude)"),
        Number("width", "s", 1e-3, MIN_SEGMENT, 10.0, "pulse width"),
        Number("read_delay", "s", 1e-3, MIN_SEGMENT, 10.0, "wait at 0 V between the pulse and its read"),
        Number("read_voltage", "V", 0.1, -10.0, 10.0, "read level"),
        Number("read_time", "s", 1e-3, MIN_MEASURED, 10.0, "read duration"),
        Number("target_resistance", "ohm", 50e3, 1.0, 1e12, "formed when the read resistance is at most this"),
        Number("compliance", "A", 1e-3, 1e-9, 1.0, "current limit during the whole ramp"),
        Number("steps_per_stage", "", 1, 1, 1000, "steps between two checks of the resistance", integer=True),
    )
    figure_units: ClassVar[dict[str, str]] = {
        "formed": "", "forming_voltage": "V", "resistance_initial": "ohm", "resistance_final": "ohm", "steps": ""}

    def validate(self) -> None:
        if self.start_amplitude == self.stop_amplitude:
            raise ParameterError("stop_amplitude", self.stop_amplitude, None, None, "V",
                                 "must differ from start_amplitude")

    @property
    def amplitudes(self) -> np.ndarray:
        """Every amplitude of the ramp, V (towards stop_amplitude, which is the last)."""
        sign = np.sign(self.stop_amplitude - self.start_amplitude)
        n = int(np.floor(abs(self.stop_amplitude - self.start_amplitude) / self.amplitude_step + 1e-9)) + 1
        ramp = self.start_amplitude + sign * self.amplitude_step * np.arange(n)
        return ramp if np.isclose(ramp[-1], self.stop_amplitude) else np.append(ramp, self.stop_amplitude)

    def _stage(self, first_step: int) -> PulseProgram:
        levels = self.amplitudes[first_step:first_step + self.steps_per_stage]
        pattern = (Segment(levels[0], self.width, "write"), Segment(0.0, self.read_delay, "idle"),
                   Segment(self.read_voltage, self.read_time, "read", measure=True))
        table = np.column_stack([levels, np.zeros_like(levels), np.full_like(levels, self.read_voltage)])
        return PulseProgram((Train(pattern, levels.size, table),), self.compliance)

    def program(self) -> PulseProgram:
        read = Segment(self.read_voltage, self.read_time, "read", measure=True)
        return PulseProgram((Train((read,)),), self.compliance)   # the pristine resistance first

    def next_program(self, samples: np.ndarray) -> PulseProgram | None:
        self.conductances(samples)                       # refuses a 0 V or non-finite read
        with np.errstate(divide="ignore"):
            resistance = samples["voltage"] / samples["current"]    # an open device reads 0 A: infinite
        steps = samples.size - 1
        if steps > 0 and resistance[-1] <= self.target_resistance or steps >= self.amplitudes.size:
            return None
        return self._stage(steps)

    def analyze(self, samples: np.ndarray) -> dict[str, float]:
        resistance = samples["voltage"] / samples["current"]
        formed = np.flatnonzero(resistance[1:] <= self.target_resistance)
        return {"formed": float(formed.size > 0),
                "forming_voltage": float(self.amplitudes[formed[0]]) if formed.size else float("nan"),
                "resistance_initial": float(resistance[0]), "resistance_final": float(resistance[-1]),
                "steps": int(samples.size - 1)}

    def plot(self, samples: np.ndarray, figures: dict[str, float]) -> PlotSpec:
        resistance = samples["voltage"] / samples["current"]
        amplitude = self.amplitudes[:max(samples.size - 1, 0)]     # one pulse before each read after the first
        target_x = amplitude[[0, -1]] if amplitude.size else amplitude
        notes = ()
        if figures.get("formed"):
            notes = (f"formed at {format_quantity(figures['forming_voltage'], 'V')}",)
        return PlotSpec(self.title, "pulse amplitude", "V", "read resistance", "ohm",
                        (Series("after each pulse", amplitude, resistance[1:]),
                         Series("target", target_x, np.full(target_x.size, self.target_resistance), "fit")),
                        log_y=True, notes=notes)
