"""Endurance: SET/RESET cycles with a read after each switching pulse → ON/OFF window vs cycle.

Timeline of one cycle (one train repeats it ``cycles`` times; the Runner cuts it into chunks)::

    |set: set_amplitude, set_width, ≤ set_compliance|read|
     reset: reset_amplitude, reset_width, ≤ reset_compliance|read|

Each read holds read_voltage for read_time; G_on = I/V of the read after the SET, G_off of the read
after the RESET. Every segment carries its own current limit (``Segment.compliance``): the SET
one is what sets the ON state of a filamentary device; reads run under the SET limit.

Figures of merit (SI):

- ``on_off_median``, ``on_off_min``, ``on_off_first``, ``on_off_last``: ON/OFF = G_on/G_off of a cycle;
- ``g_on_median``, ``g_off_median`` (S);
- ``cycles_to_failure``: the first cycle (from 1) whose ON/OFF is below ``failure_ratio``
  (:func:`labsuite.analysis.states.cycles_to_failure`); absent, with ``failure_reached`` = 0, when the
  window held for every cycle run ("not reached": the endurance is then > ``cycles``);
- ``energy_set``, ``energy_reset`` (J, mean per pulse) and ``energy_per_pulse`` (their mean), with
  ``energy_is_estimate`` = 1.0: the current during the pulses is not measured, so each pulse is
  estimated as V²·G_before·t_p from the read before it (:mod:`labsuite.analysis.energy`; the first
  SET, which has no read before it, is left out). For an abrupt SET that estimate uses the OFF
  conductance and is a lower bound; ``energy_set_bound`` = |V_set|·I_compliance·t_p bounds it
  from above.
"""
from __future__ import annotations

from typing import ClassVar

import numpy as np

from labsuite.analysis.energy import estimated_pulse_energy
from labsuite.analysis.states import cycles_to_failure, on_off_ratio
from labsuite.core.errors import ParameterError
from labsuite.core.parameters import Declaration, Number
from labsuite.core.plotspec import PlotSpec, Series
from labsuite.core.program import PulseProgram, Segment, Train
from labsuite.protocols.protocol import ProgramSize, Protocol

READ_ON, READ_OFF = 1, 3       # pattern indices of the read after the SET and after the RESET


class Endurance(Protocol):
    """SET/RESET cycling with a read after each pulse: ON/OFF window vs cycle, cycles to failure."""

    name = "endurance"
    title = "Endurance"
    parameters: ClassVar[tuple[Declaration, ...]] = (
        Number("cycles", "", 100, 1, 5_000_000, "number of SET/RESET cycles", integer=True),
        Number("set_amplitude", "V", 1.6, 0.0, 210.0, "SET pulse height"),
        Number("set_width", "s", 100e-6, 1e-6, 10.0, "SET pulse width"),
        Number("reset_amplitude", "V", -1.4, -210.0, 0.0, "RESET pulse height"),
        Number("reset_width", "s", 100e-6, 1e-6, 10.0, "RESET pulse width"),
        Number("read_voltage", "V", 0.1, -10.0, 10.0, "read level, below the switching thresholds"),
        Number("read_time", "s", 1e-3, 10e-6, 10.0, "read duration (the current is integrated over it)"),
        Number("set_compliance", "A", 2e-3, 1e-9, 1.0, "current limit of the SET pulse (and the reads)"),
        Number("reset_compliance", "A", 10e-3, 1e-9, 1.0, "current limit of the RESET pulse"),
        Number("failure_ratio", "", 10.0, 1.0, 1e9, "ON/OFF below which the device counts as failed"),
    )
    figure_units: ClassVar[dict[str, str]] = {
        "cycles": "", "on_off_median": "", "on_off_min": "", "on_off_first": "", "on_off_last": "",
        "g_on_median": "S", "g_off_median": "S", "cycles_to_failure": "", "failure_reached": "",
        "energy_set": "J", "energy_reset": "J", "energy_set_bound": "J", "energy_per_pulse": "J",
        "energy_is_estimate": "",
    }

    def validate(self) -> None:
        if self.set_amplitude == 0:
            raise ParameterError("set_amplitude", 0.0, 0.0, None, "V", "must be positive")
        if self.reset_amplitude == 0:
            raise ParameterError("reset_amplitude", 0.0, None, 0.0, "V", "must be negative")
        if abs(self.read_voltage) >= min(self.set_amplitude, -self.reset_amplitude):
            bound = min(self.set_amplitude, -self.reset_amplitude)
            raise ParameterError("read_voltage", self.read_voltage, -bound, bound, "V",
                                 "|read_voltage| must stay below both switching amplitudes")

    def planned_size(self) -> ProgramSize:
        return ProgramSize(4 * self.cycles, 2 * self.cycles, ("cycles",), "fewer cycles")

    def program(self) -> PulseProgram:
        read = Segment(self.read_voltage, self.read_time, "read", measure=True)
        pattern = (Segment(self.set_amplitude, self.set_width, "set", compliance=self.set_compliance), read,
                   Segment(self.reset_amplitude, self.reset_width, "reset", compliance=self.reset_compliance), read)
        return PulseProgram((Train(pattern, self.cycles),), self.set_compliance)

    @staticmethod
    def on_off(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(G_on, G_off) in S of every complete cycle, in cycle order."""
        g = samples["current"] / samples["voltage"]
        on, off = samples["segment"] == READ_ON, samples["segment"] == READ_OFF
        g_on = g[on][np.argsort(samples["repeat"][on], kind="stable")]
        g_off = g[off][np.argsort(samples["repeat"][off], kind="stable")]
        n = min(g_on.size, g_off.size)
        return g_on[:n], g_off[:n]

    def analyze(self, samples: np.ndarray) -> dict[str, float]:
        g_on, g_off = self.on_off(samples)
        n = g_on.size
        figures: dict[str, float] = {"cycles": int(n)}
        if n == 0:
            return figures
        ratio = on_off_ratio(g_on, g_off)
        failed = cycles_to_failure(ratio, self.failure_ratio)
        e_set = estimated_pulse_energy(self.set_amplitude, g_off[:-1], self.set_width)      # read before SET k+1
        e_reset = estimated_pulse_energy(self.reset_amplitude, g_on, self.reset_width)
        energy_set = float(np.mean(e_set)) if e_set.size else float("nan")
        figures.update(
            on_off_median=float(np.nanmedian(ratio)), on_off_min=float(np.nanmin(ratio)),
            on_off_first=float(ratio[0]), on_off_last=float(ratio[-1]),
            g_on_median=float(np.median(g_on)), g_off_median=float(np.median(g_off)),
            cycles_to_failure=float("nan") if failed is None else float(failed),
            failure_reached=0.0 if failed is None else 1.0,
            energy_set=energy_set, energy_reset=float(np.mean(e_reset)),
            energy_set_bound=float(abs(self.set_amplitude) * self.set_compliance * self.set_width),
            energy_per_pulse=float(np.mean(np.r_[e_set, e_reset])), energy_is_estimate=1.0)
        return figures

    def plot(self, samples: np.ndarray, figures: dict[str, float]) -> PlotSpec:
        """G_on and G_off vs cycle (log conductance)."""
        g_on, g_off = self.on_off(samples)
        cycle = np.arange(1, g_on.size + 1, dtype=float)
        series = (Series("G_on (after SET)", cycle, g_on), Series("G_off (after RESET)", cycle, g_off))
        notes: tuple[str, ...] = ()
        if "on_off_median" in figures:
            fail = (f"failed at cycle {figures['cycles_to_failure']:.0f}" if figures["failure_reached"]
                    else f"failure (ON/OFF < {self.failure_ratio:g}): not reached")
            notes = (f"ON/OFF median {figures['on_off_median']:.3g} (min {figures['on_off_min']:.3g})", fail)
        return PlotSpec(self.title, "cycle", "", "conductance", "S", series, log_y=True, notes=notes)
