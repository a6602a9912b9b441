"""Spike-rate-dependent plasticity: the conductance change a pulse train leaves, vs its rate.

``rates`` rates f, log-spaced from ``rate_min`` to ``rate_max``, are played in ascending order on
the same device. For each, ``pulses`` identical write pulses at period 1/f, a ``read_delay`` wait, a
read, a ``rest`` and the read that serves as the next train's baseline::

    |read|            baseline read (train 0), G_before of the first rate
    |0 V: 1/f − width|write| × pulses                   one train per rate
    |0 V: settle|read|0 V: rest|read|                   one train per rate (the last one ends at its first read)
                 G_after         G_before of the next rate

Every segment but the writes and the reads is at 0 V. ΔG(f) = G_after − G_before (S), G = I/V_read,
each read integrating the current over read_time.

``read_delay`` is the time from the end of the last pulse to the read of G_after. Choose it long
against the device's volatile relaxation (several τ) to measure the lasting change only; a short
read_delay includes the short-term (volatile) part. On hardware the pulse train and the read are
separate trains, so the few VISA round trips between them add to ``read_delay`` (ms, not timed).
The trains act on the same device one after another, so a train starts where the previous one
left the non-volatile state (each ΔG is read against its own baseline, but a soft-bounded device
has less room left for later trains).

Figures (see :mod:`labsuite.analysis.srdp`): delta_g_slowest and delta_g_fastest (ΔG at rate_min
and rate_max), delta_g_max (the ΔG of largest magnitude) and rate_at_max, half_max_rate (f½: the
rate at which ΔG reaches half of delta_g_max, log-f interpolated; absent when not bracketed),
g_initial (the first baseline).
"""
from __future__ import annotations

from typing import ClassVar

import numpy as np

from labsuite.analysis.srdp import conductance_change, rate_response
from labsuite.core.errors import ParameterError
from labsuite.core.parameters import Declaration, Number
from labsuite.core.plotspec import PlotSpec, Series
from labsuite.core.program import PulseProgram, Segment, Train
from labsuite.core.units import format_quantity
from labsuite.protocols.protocol import Protocol
from labsuite.protocols.timing import MIN_MEASURED, MIN_SEGMENT, write_pulse


# where the reads are: train 0 segment 0 (first baseline); tail train 2 + 2k: segment 1 (G_after
# of rate k) and segment 3 (G_before of rate k + 1)
AFTER, NEXT_BEFORE = 1, 3


class SpikeRate(Protocol):
    """ΔG left by a train of N pulses vs the train's rate."""

    name = "srdp"
    aliases = ("spike-rate", "spike-rate-dependent-plasticity")
    title = "Spike-rate-dependent plasticity"
    parameters: ClassVar[tuple[Declaration, ...]] = (
        *write_pulse(),
        Number("pulses", "", 10, 1, 2500, "pulses per train", integer=True),
        Number("rate_min", "Hz", 1.0, 1e-4, 10e3, "lowest train rate (1/period)"),
        Number("rate_max", "Hz", 100.0, 1e-4, 10e3, "highest train rate"),
        Number("rates", "", 5, 1, 30, "number of rates, log-spaced, played in ascending order", integer=True),
        Number("read_delay", "s", 3.0, MIN_SEGMENT, 3600.0,
                  "wait at 0 V from the last pulse to the read of G_after (volatile parts decay)"),
        Number("rest", "s", 1.0, MIN_SEGMENT, 3600.0, "wait at 0 V from that read to the next baseline read"),
        Number("read_voltage", "V", 0.1, -10.0, 10.0, "read level, below the switching threshold"),
        Number("read_time", "s", 1e-3, MIN_MEASURED, 0.1, "read duration (the current is integrated over it)"),
        Number("compliance", "A", 1e-3, 1e-9, 1.0, "current limit during the whole run"),
    )
    figure_units: ClassVar[dict[str, str]] = {
        "delta_g_slowest": "S", "delta_g_fastest": "S", "delta_g_max": "S", "rate_at_max": "Hz",
        "half_max_rate": "Hz", "g_initial": "S",
    }

    def validate(self) -> None:
        fastest = 1.0 / (self.width + MIN_SEGMENT)
        if self.rate_max > fastest:
            raise ParameterError("rate_max", self.rate_max, None, fastest, "Hz",
                                 "the period must hold the pulse width and 50 µs at 0 V")
        self.check_span("rate_min", "rate_max", "rates")

    def rate_values(self) -> np.ndarray:
        """The train rates (Hz) in the order they are played."""
        return self.log_span("rate_min", "rate_max", "rates")

    def program(self) -> PulseProgram:
        read = Segment(self.read_voltage, self.read_time, "read", measure=True)
        write = Segment(self.amplitude, self.width, "write")
        settle = Segment(0.0, self.read_delay, "settle")
        trains = [Train((read,))]
        rates = self.rate_values()
        for k, f in enumerate(rates):
            trains.append(Train((Segment(0.0, 1.0 / float(f) - self.width, "idle"), write), self.pulses))
            last = k == rates.size - 1
            trains.append(Train((settle, read) if last else (settle, read, Segment(0.0, self.rest, "rest"), read)))
        return PulseProgram(tuple(trains), self.compliance)

    def changes(self, samples: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(rate in Hz, G_before, G_after in S) of every train that was read after."""
        g = samples["current"] / samples["voltage"]
        train, seg = samples["train"], samples["segment"]

        def reading(index: int, segment: int) -> float | None:
            found = g[(train == index) & (seg == segment)]
            return float(found[0]) if found.size else None

        rows = []
        g_before = reading(0, 0)
        for k, f in enumerate(self.rate_values()):
            g_after = reading(2 + 2 * k, AFTER)
            if g_before is None or g_after is None:
                break                                   # an aborted run: keep the trains read so far
            rows.append((f, g_before, g_after))
            g_before = reading(2 + 2 * k, NEXT_BEFORE)
        if not rows:
            return np.empty(0), np.empty(0), np.empty(0)
        rate, before, after = (np.array(c, float) for c in zip(*rows))
        return rate, before, after

    def analyze(self, samples: np.ndarray) -> dict[str, float]:
        rate, before, after = self.changes(samples)
        if rate.size == 0:
            return {}
        resp = rate_response(rate, conductance_change(before, after))
        figures = {"delta_g_slowest": float(resp.delta_g[0]), "delta_g_fastest": float(resp.delta_g[-1]),
                   "delta_g_max": resp.delta_g_max, "rate_at_max": resp.rate_at_max, "g_initial": float(before[0])}
        if np.isfinite(resp.half_max_rate):
            figures["half_max_rate"] = resp.half_max_rate
        return figures

    def plot(self, samples: np.ndarray, figures: dict[str, float]) -> PlotSpec:
        """ΔG vs train rate on a log rate axis."""
        rate, before, after = self.changes(samples)
        series = [Series(f"ΔG after {self.pulses} pulses, {format_quantity(self.read_delay, 's')} after",
                         rate, conductance_change(before, after))]
        notes = []
        if "delta_g_max" in figures:
            notes.append(f"ΔG_max {format_quantity(figures['delta_g_max'], 'S')} at "
                         f"{format_quantity(figures['rate_at_max'], 'Hz')}")
        if "half_max_rate" in figures:
            notes.append(f"f½ {format_quantity(figures['half_max_rate'], 'Hz')}")
        return PlotSpec(self.title, "train rate", "Hz", "ΔG = G_after − G_before", "S", tuple(series),
                        log_x=True, notes=tuple(notes))
