"""Retention / volatility: a write, then reads on a logarithmic time grid up to ``duration``.

Timeline (every segment but the writes and the reads is at 0 V; t = 0 is the end of the last
write pulse)::

    |read (baseline)|write|0 V …|write| … |write|0 V: read_delay|read|0 V|read|0 V …      |read|
                     \\___ ``pulses``, period apart __/ t = 0 → t₀ = read_delay … t_end = duration

Read k starts at t_k = read_delay·(duration/read_delay)^(k/(points − 1)), k = 0 … points − 1 (a
geometric grid: as many reads per decade early as late; where that grid would put reads closer
than read_time + 100 µs, they follow back to back and the rest are spread geometrically over the
remaining time, see :meth:`Retention.read_starts`), and its conductance G = I_read/V_read
is assigned to the read's midpoint t_k + read_time/2. The stimulus — ``pulses`` pulses of
``amplitude`` and ``width``, ``period`` apart — is what moves a device from short-term to
long-term memory: repeated more times, or faster, it leaves more behind (Ohno et al., Nat. Mater.
10, 591, 2011; Chang, Jo & Lu, ACS Nano 5, 7669, 2011).

Program: the baseline read is one train; pulses 1 … N−1 one train (pattern [write, 0 V]); the
last write pulse opens the first read train, so the early reads are timed by the instrument from
the very pulse they follow (on real hardware the few milliseconds between two trains lengthen the
last pulse interval, not the retention time axis). The reads are idle/read pairs of varying length, so they go as the
pattern of single-repeat trains, at most 31 reads per train (63-segment pattern limit). On a
simulated bench the waits cost nothing: an hour of retention runs in well under a second.

Figures of merit (see :mod:`labsuite.analysis.retention`): stretched exponential
G(t) = G_∞ + ΔG·exp(−(t/τ)^β) → ``tau``, ``beta``, ``g_inf``, ``delta_g`` (with ``*_err``, one
sigma); power law G(t) = G₁·(t/t₁)^(−ν) → ``nu``; ``retained_fraction`` =
(G(t_end) − G_base)/(G(t₀) − G_base); ``g_base``, ``g_first``, ``g_end``.
"""
from __future__ import annotations

from typing import ClassVar

import numpy as np

from labsuite.analysis.retention import (fit_power_law, fit_stretched_exponential, power_law, retained_fraction,
                                         stretched_exponential)
from labsuite.core.errors import ParameterError
from labsuite.core.parameters import Declaration, Number
from labsuite.core.plotspec import PlotSpec, Series
from labsuite.core.program import PulseProgram, Segment, Train
from labsuite.core.units import format_quantity
from labsuite.protocols.protocol import Protocol
from labsuite.protocols.timing import MIN_GAP, MIN_MEASURED, MIN_SEGMENT, write_pulse

READS_PER_TRAIN = 31     # [idle, read] pairs in one ≤ 63-segment pattern (the first train also holds the write)


class Retention(Protocol):
    """Conductance vs time after a write: volatility, retention, STM → LTM."""

    name = "retention"
    title = "Retention"
    parameters: ClassVar[tuple[Declaration, ...]] = (
        *write_pulse(),
        Number("pulses", "", 1, 1, 100_000, "write pulses in the stimulus (more: towards long-term memory)",
                  integer=True),
        Number("period", "s", 10e-3, 2 * MIN_SEGMENT, 3600.0,
                  "time from one write pulse to the next (shorter: towards long-term memory)"),
        Number("read_voltage", "V", 0.1, -10.0, 10.0, "read level, below the switching threshold"),
        Number("read_time", "s", 1e-3, MIN_MEASURED, 10.0, "read duration (the current is integrated over it)"),
        Number("read_delay", "s", 1e-3, MIN_SEGMENT, 3600.0,
                  "wait at 0 V from the end of the last write pulse to the start of the first read"),
        Number("duration", "s", 10.0, 1e-3, 1e6, "start of the last read, from the end of the last write pulse"),
        Number("points", "", 40, 5, 10_000, "reads on the logarithmic time grid", integer=True),
        Number("compliance", "A", 1e-3, 1e-9, 1.0, "current limit during the whole run"),
    )
    figure_units: ClassVar[dict[str, str]] = {
        "tau": "s", "tau_err": "s", "beta": "", "beta_err": "", "g_inf": "S", "g_inf_err": "S",
        "delta_g": "S", "delta_g_err": "S", "fit_rms": "S", "nu": "", "nu_err": "", "g_1": "S", "t_1": "s",
        "retained_fraction": "", "g_base": "S", "g_first": "S", "g_end": "S", "points": "",
    }

    def validate(self) -> None:
        if self.pulses > 1 and self.period - self.width < MIN_SEGMENT:
            raise ParameterError("period", self.period, self.width + MIN_SEGMENT, None, "s",
                                 "must hold the write pulse and 50 µs at 0 V")
        if self.duration <= self.read_delay:
            raise ParameterError("duration", self.duration, self.read_delay, None, "s",
                                 "must be longer than read_delay")
        starts = self.read_starts()
        if starts[-1] > self.duration * (1 + 1e-9):
            spacing = self.read_time + MIN_GAP
            most = 1 + int((self.duration - self.read_delay) // spacing)
            raise ParameterError("points", self.points, 5, max(most, 5), "",
                                 f"reads of {format_quantity(self.read_time, 's')} with "
                                 f"{format_quantity(MIN_GAP, 's')} between them do not fit between read_delay "
                                 f"and duration")

    # --- program -------------------------------------------------------------------------------
    def read_starts(self) -> np.ndarray:
        """Start of every read, s after the end of the last write pulse.

        A geometric grid from ``read_delay`` to ``duration``, except that reads never come closer
        than read_time + 100 µs (``MIN_GAP``, which every SMU's sequencer plays): where the log
        spacing is shorter (the first reads), reads follow one another back to back and the
        remaining ones are spread geometrically over what is left.
        """
        n = self.points
        starts = np.empty(n)
        starts[0] = self.read_delay
        closest = self.read_time + MIN_GAP + 1e-9      # 1 ns: no rounding below the 100 µs floor
        for k in range(1, n):
            geometric = starts[k - 1] * (self.duration / starts[k - 1]) ** (1.0 / (n - k))
            starts[k] = max(geometric, starts[k - 1] + closest)
        return starts

    def read_times(self) -> np.ndarray:
        """Midpoint of every read, s after the end of the last write pulse: the time G is assigned to."""
        return self.read_starts() + self.read_time / 2

    def program(self) -> PulseProgram:
        read = Segment(self.read_voltage, self.read_time, "read", measure=True)
        write = Segment(self.amplitude, self.width, "write")
        trains = [Train((read,))]
        if self.pulses > 1:
            trains.append(Train((write, Segment(0.0, self.period - self.width, "idle")), self.pulses - 1))
        starts = self.read_starts()
        waits = np.diff(np.concatenate([[0.0], starts])) - np.concatenate([[0.0], np.full(starts.size - 1,
                                                                                         self.read_time)])
        for first in range(0, starts.size, READS_PER_TRAIN):
            pattern = [write] if first == 0 else []
            for wait in waits[first:first + READS_PER_TRAIN]:
                pattern += [Segment(0.0, float(wait), "idle"), read]
            trains.append(Train(tuple(pattern)))
        return PulseProgram(tuple(trains), self.compliance)

    # --- analysis ------------------------------------------------------------------------------
    def conductance_vs_time(self, samples: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """(baseline G, t since the end of the last write, G) in (S, s, S) from the samples.

        Times come from the samples' own clock, anchored at the last write pulse through the first
        read train (which holds that pulse), so delays between trains on a real bench are kept.
        """
        g_all = samples["current"] / samples["voltage"]
        baseline = samples["train"] == 0
        g_base = float(g_all[baseline][0]) if np.any(baseline) else float("nan")
        first_read_train = 2 if self.pulses > 1 else 1
        reads = samples["train"] >= first_read_train
        t, g = samples["t"][reads], g_all[reads]
        if t.size == 0:
            return g_base, t, g
        # sample t is the end of a read; the first read ends read_delay + read_time after the write's end
        t_write_end = t[0] - (self.read_delay + self.read_time)
        return g_base, t - t_write_end - self.read_time / 2, g

    def analyze(self, samples: np.ndarray) -> dict[str, float]:
        g_base, t, g = self.conductance_vs_time(samples)
        if g.size == 0:
            return {"g_base": g_base}
        figures = {"g_base": g_base, "g_first": float(g[0]), "g_end": float(g[-1]),
                   "retained_fraction": retained_fraction(g_base, float(g[0]), float(g[-1])), "points": int(g.size)}
        if g.size >= 5:
            try:
                fit = fit_stretched_exponential(t, g)
                figures.update(tau=fit.tau, tau_err=fit.tau_err, beta=fit.beta, beta_err=fit.beta_err,
                               g_inf=fit.g_inf, g_inf_err=fit.g_inf_err, delta_g=fit.delta_g,
                               delta_g_err=fit.delta_g_err, fit_rms=fit.rms)
            except (RuntimeError, ValueError):
                pass
        if g.size >= 3 and np.all(g > 0):
            drift = fit_power_law(t, g)
            figures.update(nu=drift.nu, nu_err=drift.nu_err, g_1=drift.g1, t_1=drift.t1)
        return {k: v for k, v in figures.items() if np.isfinite(v)}      # an undefined figure is left out

    def plot(self, samples: np.ndarray, figures: dict[str, float]) -> PlotSpec:
        """G vs time since the write (log time), with the stretched-exponential and power-law fits."""
        g_base, t, g = self.conductance_vs_time(samples)
        series = [Series("measured", t, g)]
        if t.size:
            tt = np.geomspace(t.min(), t.max(), 400)
            if "tau" in figures:
                series.append(Series(f"G∞ + ΔG·exp(−(t/τ)^β): τ = {format_quantity(figures['tau'], 's')}, "
                                     f"β = {figures['beta']:.3g}", tt,
                                     stretched_exponential(tt, figures["tau"], figures["beta"], figures["g_inf"],
                                                           figures["delta_g"]), "fit"))
            if "nu" in figures:
                series.append(Series(f"G₁·(t/t₁)^(−ν): ν = {figures['nu']:.3g}", tt,
                                     power_law(tt, figures["nu"], figures["g_1"], figures["t_1"]), "fit"))
            if np.isfinite(g_base):
                series.append(Series("before the write", tt[[0, -1]], np.full(2, g_base), "line"))
        notes = ()
        if "retained_fraction" in figures:
            notes = (f"retained at {format_quantity(self.duration, 's')}: {figures['retained_fraction']:.3g}",)
            if "g_inf" in figures:
                notes += (f"G∞ {format_quantity(figures['g_inf'], 'S')}",)
        return PlotSpec(self.title, "time since write", "s", "conductance", "S", tuple(series), log_x=True,
                        notes=notes)
