"""Paired-pulse facilitation/depression: PPF index A₂/A₁ vs the inter-pulse interval Δt.

For each interval Δt of a log grid (``intervals`` values from ``interval_min`` to
``interval_max``), ``repeats`` identical pairs are applied, each preceded by a resting baseline
read and followed by a rest. One train per interval; one repeat of its pattern is one pair::

    |read|write|read|0 V: Δt − read_time|write|read|0 V: rest|
     base  P1    G1                      P2    G2
               |<------------ Δt ------------>|

Every segment but the writes and the reads is at 0 V. Δt is the gap from the *end* of pulse 1 to
the *start* of pulse 2, and the read after pulse 1 sits inside that gap, so the shortest interval
is read_time + 50 µs (the 2450's shortest hardware-timed segment at 0 V): shorter ``interval_min``
values are refused by :meth:`PairedPulse.validate`. Each read directly follows its pulse and
integrates the current over read_time (G = I/V_read is the mean over the read).

Definitions (see :mod:`labsuite.analysis.ppf`): A₁ = G₁ − G_base, A₂ = G₂ − G_base, averaged over
the repeats, and PPF(Δt) = ⟨A₂⟩/⟨A₁⟩ (quoted in % on the plot). The decay is fitted by
PPF = 1 + C₁e^(−Δt/τ₁) + C₂e^(−Δt/τ₂), by one term when a second is not supported by the data, or
by P∞ + C₁e^(−Δt/τ₁) when the pulses leave a lasting step (a plateau P∞ ≠ 1). A decay the
intervals do not determine is not reported.

Relaxation between pairs: ``rest`` must be ≥ ``interval_max``; a device whose facilitation lasts
out to interval_max has not relaxed after less. The baseline read of every pair removes what is
left of the previous pair's non-volatile and slow change; what is left of its volatile part still
decays during the pair and biases A₂ low by about that fraction of A₁ (default multi-timescale
device, rest = 2 s ≈ 6.7 τ₂: 0.05 %, which moves the fitted τ₂ by −0.5 %).

Because the reads average over read_time while the volatile state decays, C_i and τ_i carry a
relative bias of order read_time/τ_i (≈ 0.5 % for a 200 µs read and τ = 20 ms).
Figures: ppf_max (PPF at the shortest Δt), c1, tau1, c2, tau2 with errors, ppf_terms (1 or 2),
ppf_baseline (when a plateau is fitted), a1 (mean first response, S), fit_rms.
"""
from __future__ import annotations

from typing import ClassVar

import numpy as np

from labsuite.analysis.ppf import fit_double_exponential, ppf_index, ppf_standard_error
from labsuite.core.errors import ParameterError
from labsuite.core.parameters import Choice, Declaration, Number
from labsuite.core.plotspec import PlotSpec, Series
from labsuite.core.program import PulseProgram, Segment, Train
from labsuite.core.units import format_quantity
from labsuite.protocols.protocol import Protocol
from labsuite.protocols.timing import MIN_MEASURED, MIN_SEGMENT, write_pulse


# segment indices of the pattern
BASE, G1, G2 = 0, 2, 5


class PairedPulse(Protocol):
    """PPF index A₂/A₁ vs inter-pulse interval, with a double-exponential fit."""

    name = "ppf"
    aliases = ("paired-pulse", "paired-pulse-facilitation")
    title = "Paired-pulse facilitation"
    parameters: ClassVar[tuple[Declaration, ...]] = (
        *write_pulse("write pulse height (both pulses)"),
        Number("interval_min", "s", 500e-6, MIN_SEGMENT + MIN_MEASURED, 3600.0,
                  "shortest gap Δt, end of pulse 1 to start of pulse 2 (holds the read after pulse 1)"),
        Number("interval_max", "s", 1.0, MIN_SEGMENT + MIN_MEASURED, 3600.0, "longest gap Δt"),
        Number("intervals", "", 16, 1, 60, "number of intervals, log-spaced (one train each)", integer=True),
        Number("repeats", "", 8, 1, 1000, "pairs per interval (responses averaged)", integer=True),
        Number("rest", "s", 2.0, MIN_SEGMENT, 3600.0,
                  "wait at 0 V after each pair, for the volatile state to relax (≥ interval_max)"),
        Number("read_voltage", "V", 0.1, -10.0, 10.0, "read level, below the switching threshold"),
        Number("read_time", "s", 200e-6, MIN_MEASURED, 0.1, "read duration (the current is integrated over it)"),
        Number("compliance", "A", 1e-3, 1e-9, 1.0, "current limit during the whole run"),
        Choice("order", ("ascending", "interleaved"), "ascending",
               "order the intervals are played in: shortest first, or interleaved against slow drift"),
    )
    figure_units: ClassVar[dict[str, str]] = {
        "ppf_max": "", "c1": "", "c1_err": "", "tau1": "s", "tau1_err": "s", "c2": "", "c2_err": "",
        "tau2": "s", "tau2_err": "s", "ppf_terms": "", "a1": "S", "fit_rms": "", "ppf_baseline": "",
        "ppf_baseline_err": "",
    }

    def validate(self) -> None:
        shortest = self.read_time + MIN_SEGMENT
        if self.interval_min < shortest:
            raise ParameterError("interval_min", self.interval_min, shortest, None, "s",
                                 "Δt must hold the read after pulse 1 (read_time) and 50 µs at 0 V before pulse 2")
        self.check_span("interval_min", "interval_max", "intervals")
        if self.rest < self.interval_max:
            raise ParameterError("rest", self.rest, self.interval_max, None, "s",
                                 "the volatile state must relax between pairs: rest ≥ interval_max")

    def interval_values(self) -> np.ndarray:
        """The gaps Δt (s), one per train, shortest first."""
        return self.log_span("interval_min", "interval_max", "intervals")

    def play_order(self) -> np.ndarray:
        """The intervals in the order they are played.

        ``ascending`` (default): shortest first. ``interleaved``: van der Corput (bit-reversed)
        order, so that a slow drift of the device over the sweep (pulses that leave a lasting
        step walk it towards a bound) spreads evenly over short and long Δt instead of posing as
        a slow decay with Δt. Choose interleaved for such devices (a fitted ``ppf_baseline``
        hints at one); on a device without drift ascending order is more precise (12 seeds of the
        multi-timescale model: τ₂ within 6 % ascending, 16 % interleaved).
        """
        if self.order == "ascending":
            return self.interval_values()
        n = self.intervals
        bits = max(1, int(np.ceil(np.log2(n))))
        reversed_index = [int(format(i, f"0{bits}b")[::-1], 2) for i in range(n)]
        return self.interval_values()[np.argsort(reversed_index, kind="stable")]

    def program(self) -> PulseProgram:
        read = Segment(self.read_voltage, self.read_time, "read", measure=True)
        write = Segment(self.amplitude, self.width, "write")
        trains = []
        for dt in self.play_order():
            gap = Segment(0.0, float(dt) - self.read_time, "idle")
            pattern = (read, write, read, gap, write, read, Segment(0.0, self.rest, "rest"))
            trains.append(Train(pattern, self.repeats))
        return PulseProgram(tuple(trains), self.compliance)

    def responses(self, samples: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(Δt in s, base, G₁, G₂ in S) of every complete pair; arrays of one row per pair."""
        g = samples["current"] / samples["voltage"]
        key = samples["train"].astype(np.int64) * 1_000_000 + samples["repeat"]
        dts = self.play_order()
        rows = []
        for k in np.unique(key):
            sel = key == k
            seg = samples["segment"][sel]
            if not {BASE, G1, G2} <= set(seg.tolist()):
                continue                                         # an aborted run's incomplete pair
            gk = g[sel]
            rows.append((dts[int(k // 1_000_000)], gk[seg == BASE][0], gk[seg == G1][0], gk[seg == G2][0]))
        if not rows:
            return tuple(np.empty(0) for _ in range(4))          # type: ignore[return-value]
        return tuple(np.array(c, float) for c in zip(*rows))     # type: ignore[return-value]

    def ppf_curve(self, samples: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(Δt in s, PPF = ⟨A₂⟩/⟨A₁⟩, its one-sigma error, NaN for a single repeat) per interval."""
        dt, base, g1, g2 = self.responses(samples)
        intervals = np.unique(dt)
        ppf = np.array([ppf_index(base[dt == d], g1[dt == d], g2[dt == d], axis=0) for d in intervals])
        err = np.array([ppf_standard_error(base[dt == d], g1[dt == d], g2[dt == d], axis=0) for d in intervals])
        return intervals, ppf, err

    def analyze(self, samples: np.ndarray) -> dict[str, float]:
        dt, base, g1, g2 = self.responses(samples)
        if dt.size == 0:
            return {}
        intervals, ppf, _ = self.ppf_curve(samples)
        figures: dict[str, float] = {"ppf_max": float(ppf[0]), "a1": float(np.mean(g1 - base))}
        if intervals.size >= 3:
            try:
                fit = fit_double_exponential(intervals, ppf)
            except (ValueError, RuntimeError):    # no response to fit, or a decay the grid does not fix
                return figures
            figures.update(c1=fit.c1, c1_err=fit.c1_err, tau1=fit.tau1, tau1_err=fit.tau1_err,
                           ppf_terms=fit.terms, fit_rms=fit.rms)
            if fit.terms == 2:
                figures.update(c2=fit.c2, c2_err=fit.c2_err, tau2=fit.tau2, tau2_err=fit.tau2_err)
            if fit.baseline != 1.0:    # a plateau: pulses also leave a lasting step
                figures.update(ppf_baseline=fit.baseline, ppf_baseline_err=fit.baseline_err)
        return figures

    def plot(self, samples: np.ndarray, figures: dict[str, float]) -> PlotSpec:
        """PPF index (%) vs Δt, log Δt axis, with the fit."""
        intervals, ppf, _ = self.ppf_curve(samples)
        series = [Series("measured A₂/A₁", intervals, 100 * ppf)]
        notes: list[str] = []
        if "tau1" in figures:
            t = np.geomspace(intervals.min(), intervals.max(), 400)
            c2, tau2 = figures.get("c2", 0.0), figures.get("tau2", 1.0)
            fit = figures.get("ppf_baseline", 1.0) + figures["c1"] * np.exp(-t / figures["tau1"]) \
                + c2 * np.exp(-t / tau2)
            terms = ", ".join(f"τ{i} = {format_quantity(figures[f'tau{i}'], 's')} ± "
                              f"{100 * figures[f'tau{i}_err'] / figures[f'tau{i}']:.2g} %"
                              for i in (1, 2) if f"tau{i}" in figures)
            series.append(Series(f"fit: {terms}", t, 100 * fit, "fit"))
            notes += [f"C{i} = {figures[f'c{i}']:.3g} ± {figures[f'c{i}_err']:.2g}"
                      for i in (1, 2) if f"tau{i}" in figures]
        if "ppf_baseline" in figures:
            notes.append(f"plateau {100 * figures['ppf_baseline']:.4g} % (lasting step)")
        if "ppf_max" in figures:
            notes.insert(0, f"PPF(Δt_min) = {100 * figures['ppf_max']:.4g} %")
        return PlotSpec(self.title, "interval Δt (end of pulse 1 to start of pulse 2)", "s", "PPF index A₂/A₁",
                        "%", tuple(series), log_x=True, notes=tuple(notes))
