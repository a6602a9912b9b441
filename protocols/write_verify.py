"""Write-verify: drive the device to a target conductance within a tolerance.

Read; while G is outside target·(1 ± tolerance), apply one pulse in the direction that closes
the gap and read again after ``read_delay`` (so a volatile part has relaxed before verifying).
Amplitudes step up while pulses keep the same direction (incremental step pulse programming)
and restart from ``set_amplitude`` / ``reset_amplitude`` when the direction flips::

    |read| → |pulse ±(start + k·amplitude_step), width|0 V: read_delay|read| → … until within tolerance

Figures: converged (1 or 0), pulses used, final conductance and its relative error.
"""
from __future__ import annotations

from typing import ClassVar

import numpy as np

from labsuite.core.errors import ParameterError
from labsuite.core.parameters import Declaration, Number
from labsuite.core.plotspec import PlotSpec, Series
from labsuite.core.program import PulseProgram, Segment, Train
from labsuite.protocols.protocol import AdaptiveProtocol
from labsuite.protocols.timing import MIN_MEASURED, MIN_SEGMENT


class WriteVerify(AdaptiveProtocol):
    """Closed-loop programming to a conductance."""

    name = "write-verify"
    aliases = ("program-verify", "write-and-verify")
    title = "Write-verify"
    parameters: ClassVar[tuple[Declaration, ...]] = (
        Number("target", "S", 100e-6, 1e-12, 1.0, "conductance to reach"),
        Number("tolerance", "", 0.02, 1e-4, 0.5, "allowed relative error"),
        Number("set_amplitude", "V", 1.0, 0.0, 210.0, "first potentiating amplitude"),
        Number("reset_amplitude", "V", -1.0, -210.0, 0.0, "first depressing amplitude"),
        Number("amplitude_step", "V", 0.05, 0.0, 10.0, "amplitude increment while the direction holds"),
        Number("max_amplitude", "V", 2.0, 0.0, 210.0, "largest |amplitude|"),
        Number("width", "s", 100e-6, MIN_SEGMENT, 10.0, "pulse width"),
        Number("read_voltage", "V", 0.1, -10.0, 10.0, "read level"),
        Number("read_delay", "s", 20e-3, 0.0, 3600.0, "wait at 0 V before each verify read"),
        Number("read_time", "s", 1e-3, MIN_MEASURED, 10.0, "read duration"),
        Number("max_pulses", "", 200, 1, 100_000, "give up after this many pulses", integer=True),
        Number("compliance", "A", 1e-3, 1e-9, 1.0, "current limit"),
    )
    figure_units: ClassVar[dict[str, str]] = {"converged": "", "pulses": "", "final_conductance": "S",
                                              "relative_error": ""}

    def validate(self) -> None:
        for name in ("set_amplitude", "reset_amplitude"):
            if abs(self.values[name]) > self.max_amplitude:
                raise ParameterError(name, self.values[name], -self.max_amplitude, self.max_amplitude, "V",
                                     "must not exceed max_amplitude")

    def _read(self) -> Segment:
        return Segment(self.read_voltage, self.read_time, "read", measure=True)

    def program(self) -> PulseProgram:
        return PulseProgram((Train((self._read(),)),), self.compliance)

    def amplitude(self, directions: list[int]) -> float:
        """Amplitude of the next pulse after the past directions (+1 set, −1 reset, last is next)."""
        run = 1
        while run < len(directions) and directions[-run - 1] == directions[-1]:
            run += 1
        start = self.set_amplitude if directions[-1] > 0 else self.reset_amplitude
        return float(np.sign(start or directions[-1])
                     * min(abs(start) + (run - 1) * self.amplitude_step, self.max_amplitude))

    def next_program(self, samples: np.ndarray) -> PulseProgram | None:
        g = self.conductances(samples)
        error = g[-1] / self.target - 1
        pulses = samples.size - 1
        if abs(error) <= self.tolerance or pulses >= self.max_pulses:
            return None
        directions = [int(np.sign(self.target - gi)) for gi in g]
        pattern = [Segment(self.amplitude(directions), self.width, "write")]
        if self.read_delay > 0:
            pattern.append(Segment(0.0, self.read_delay, "idle"))
        pattern.append(self._read())
        return PulseProgram((Train(tuple(pattern)),), self.compliance)

    def analyze(self, samples: np.ndarray) -> dict[str, float]:
        g = samples["current"] / samples["voltage"]
        error = float(g[-1] / self.target - 1)
        return {"converged": float(abs(error) <= self.tolerance), "pulses": int(samples.size - 1),
                "final_conductance": float(g[-1]), "relative_error": error}

    def plot(self, samples: np.ndarray, figures: dict[str, float]) -> PlotSpec:
        g = samples["current"] / samples["voltage"]
        n = np.arange(g.size, dtype=float)
        ends = n[[0, -1]] if n.size else n          # the band spans the reads so far (none before the first)
        band = [(f"target ± {self.tolerance:.0%}", self.target * (1 + s * self.tolerance)) for s in (-1, 1)]
        return PlotSpec(self.title, "pulse number", "", "conductance", "S",
                        (Series("verify reads", n, g),
                         *(Series(name if s > 0 else "", ends, np.full(ends.size, level), "fit")
                           for (name, level), s in zip(band, (-1, 1)))))
