"""Potentiation and depression: N identical write pulses, each followed by a read.

Timeline of one pulse period (every segment but the write and the read is at 0 V)::

    |write: amplitude, width|0 V: read_delay|read: read_voltage, read_time|0 V ... period|

One read before the first pulse gives P = 0. Conductance G = I_read / V_read.
Figures of merit: G_min, G_max, dynamic range G_max/G_min, ΔG = G(P_max) − G(0), and the
NeuroSim nonlinearity fit G(P) = G₀ + B(1 − e^(−P/A)) (see labsuite.analysis.nonlinearity).
"""
from __future__ import annotations

from typing import ClassVar

import numpy as np

from labsuite.analysis.nonlinearity import conductance_model, fit_nonlinearity
from labsuite.core.errors import ParameterError
from labsuite.core.parameters import Declaration, Number
from labsuite.core.plotspec import PlotSpec, Series
from labsuite.core.program import PulseProgram, Segment, Train
from labsuite.core.units import format_quantity
from labsuite.protocols.protocol import Protocol


POSITIVE = "potentiation pulses are positive; give e.g. amplitude=1.5V, or run depression for negative pulses"
NEGATIVE = "depression pulses are negative; give e.g. amplitude=-1.5V, or run potentiation for positive pulses"


#: the timing of a train with a read after each write pulse, the parameters :func:`pulse_and_read` reads
PULSE_AND_READ = (
    Number("width", "s", 100e-6, 1e-6, 10.0, "write pulse width"),
    Number("period", "s", 50e-3, 10e-6, 3600.0, "time from one write pulse to the next"),
    Number("read_voltage", "V", 0.1, -10.0, 10.0, "read level, below the switching threshold"),
    Number("read_delay", "s", 20e-3, 0.0, 3600.0, "wait at 0 V between a write pulse and its read"),
    Number("read_time", "s", 1e-3, 10e-6, 10.0, "read duration (the current is integrated over it)"),
)


def check_pulse_and_read(p: Protocol) -> None:
    """Refuse a ``period`` of ``p`` that cannot hold its write pulse, the wait and the read."""
    busy = p.width + p.read_delay + p.read_time
    if busy > p.period:
        raise ParameterError("period", p.period, busy, None, "s", "must hold width + read_delay + read_time")


def pulse_and_read(p: Protocol, amplitude: float) -> tuple[tuple[Segment, ...], tuple[Segment, ...]]:
    """(baseline, pattern) of a pulse train with a read after each pulse, from ``p``'s width,
    period, read_delay, read_voltage and read_time: the baseline is one read and the rest of a
    period; the pattern is write, 0 V for read_delay, read, 0 V to the end of the period."""
    read = Segment(p.read_voltage, p.read_time, "read", measure=True)
    rest = p.period - p.width - p.read_delay - p.read_time
    pattern = [Segment(amplitude, p.width, "write")]
    if p.read_delay > 0:
        pattern.append(Segment(0.0, p.read_delay, "idle"))
    pattern.append(read)
    baseline = [read]
    if rest > 1e-9 * p.period:    # a period filled exactly leaves rounding dust, not a segment
        pattern.append(Segment(0.0, rest, "idle"))
        baseline.append(Segment(0.0, rest, "idle"))
    return tuple(baseline), tuple(pattern)


class Potentiation(Protocol):
    """Conductance vs pulse number under identical positive write pulses."""

    name = "potentiation"
    aliases = ("ltp", "long-term-potentiation")
    title = "Potentiation (LTP)"
    parameters: ClassVar[tuple[Declaration, ...]] = (
        Number("pulses", "", 50, 1, 100_000, "number of write pulses", integer=True),
        Number("amplitude", "V", 1.5, 0.0, 210.0, "write pulse height (positive: the potentiating polarity)",
                  why=POSITIVE),
        *PULSE_AND_READ,
        Number("compliance", "A", 1e-3, 1e-9, 1.0, "current limit during the whole run"),
    )
    figure_units: ClassVar[dict[str, str]] = {
        "g_min": "S", "g_max": "S", "dynamic_range": "", "delta_g": "S", "nonlinearity_a": "",
        "nonlinearity_a_err": "", "nonlinearity_a_normalized": "", "fit_g0": "S", "fit_b": "S", "fit_rms": "S",
        "pulses": "",
    }

    def validate(self) -> None:
        amplitude = self.parameter("amplitude")
        if self.amplitude == 0:
            raise ParameterError("amplitude", 0.0, None, None, "V", amplitude.why)
        check_pulse_and_read(self)

    def program(self) -> PulseProgram:
        baseline, pattern = pulse_and_read(self, self.amplitude)
        return PulseProgram((Train(baseline), Train(pattern, self.pulses)), self.compliance)

    @staticmethod
    def conductance_vs_pulse(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(pulse number, G in S) from the read samples; pulse 0 is the baseline read."""
        pulses = np.where(samples["train"] == 0, 0, samples["repeat"] + 1)
        return pulses.astype(float), samples["current"] / samples["voltage"]

    def analyze(self, samples: np.ndarray) -> dict[str, float]:
        pulses, g = self.conductance_vs_pulse(samples)
        figures = {"g_min": float(g.min()), "g_max": float(g.max()),
                   "dynamic_range": float(g.max() / g.min()), "delta_g": float(g[-1] - g[0]),
                   "pulses": int(pulses.max())}
        if g.size >= 4 and (fit := fit_nonlinearity(pulses, g)).determined:
            figures.update(nonlinearity_a=fit.a, nonlinearity_a_err=fit.a_err,
                           nonlinearity_a_normalized=fit.a_normalized, fit_g0=fit.g0, fit_b=fit.b,
                           fit_rms=fit.rms)
        return figures


    def plot(self, samples: np.ndarray, figures: dict[str, float]) -> PlotSpec:
        """G vs pulse number with the NeuroSim fit."""
        pulses, g = self.conductance_vs_pulse(samples)
        series = [Series("measured", pulses, g)]
        if "nonlinearity_a" in figures:
            p = np.linspace(0, pulses.max(), 400)
            a = figures["nonlinearity_a"]
            series.append(Series(f"fit: A = {a:.3g} pulses (A/P_max = {figures['nonlinearity_a_normalized']:.3g})",
                                 p, conductance_model(p, a, figures["fit_b"], figures["fit_g0"]), "fit"))
        notes = (f"G_min {format_quantity(figures['g_min'], 'S')}", f"G_max {format_quantity(figures['g_max'], 'S')}",
                 f"G_max/G_min {figures['dynamic_range']:.3g}") if figures else ()
        return PlotSpec(self.title, "pulse number", "", "conductance", "S", tuple(series), notes=notes)


class Depression(Potentiation):
    """Conductance vs pulse number under identical negative write pulses."""

    name = "depression"
    aliases = ("ltd", "long-term-depression")
    title = "Depression (LTD)"
    parameters = tuple(Number(p.name, p.unit, -1.5, -p.maximum, 0.0,
                                 "write pulse height (negative: the depressing polarity)", why=NEGATIVE)
                       if p.name == "amplitude" else p for p in Potentiation.parameters)
