"""LTP/LTD cycling: n cycles of N potentiating then N depressing pulses, each pulse followed by a read.

Timeline (every segment but the writes and the reads is at 0 V)::

    baseline: |read|0 V ... period|
    then 2·N·cycles pulse periods, all alike but for the write level:
    |write: ±V, width|0 V: read_delay|read: read_voltage, read_time|0 V ... period|
     cycle 1: N × (+set_amplitude), N × (reset_amplitude), cycle 2: ...

The whole cycling is one train (its ``levels`` table holds +V for the first N repeats of every
2N and the depression amplitude for the next N), cut into chunks by the Runner; G = I_read/V_read.
Pulse number P counts from 0 (the read before the half's first pulse) to N within each half.

Figures of merit (SI units, see ``figure_units``):

- ``g_min``, ``g_max``, ``dynamic_range`` = G_max/G_min over every read;
- ``nonlinearity_a_ltp`` / ``_ltd``: NeuroSim A in pulses of G(P) = G₀ + B(1 − e^(−P/A)) fitted to
  every half of every cycle (:func:`labsuite.analysis.nonlinearity.fit_nonlinearity`), mean over
  cycles; ``_err`` its standard error (cycle-to-cycle std / √cycles, or the fit's one-sigma error
  for one cycle); ``_normalized`` = A / N (NeuroSim's normalized pulse axis);
- ``neurosim_label_ltp`` / ``_ltd``: NeuroSim's nonlinearity label of the normalized A, interpolated
  in NeuroSim's published table (:mod:`labsuite.analysis.neurosim`; negative for LTD);
- ``asymmetry`` = |A_LTP − A_LTD| / (A_LTP + A_LTD);
- ``c2c_ltp`` / ``c2c_ltd``: cycle-to-cycle variation of the step relative to the expected step;
  ``c2c_ltp_neurosim`` / ``c2c_ltd_neurosim``: σ of the step / (G_max − G_min), NeuroSim's
  definition (:mod:`labsuite.analysis.states`);
- ``distinguishable_states``: levels (the 2N read positions of a cycle) whose means are separated by
  k_sigma times their cycle-to-cycle spread (:func:`labsuite.analysis.states.distinguishable_states`;
  needs ≥ 2 cycles). Cycle 1 starts from the as-found state rather than from the end of a
  depression, so with ≥ 3 cycles it is treated as a conditioning cycle and left out of these level
  statistics (it is kept in every other figure);
- ``energy_per_pulse``: mean energy of a write pulse, J, and ``energy_is_estimate`` (1.0: estimated
  as V²·G_before·t_p from the read before each pulse, since the write current is not measured;
  0.0 if the samples hold readings taken during the write pulses; :mod:`labsuite.analysis.energy`).
"""
from __future__ import annotations

from typing import ClassVar

import numpy as np

from labsuite.analysis.energy import estimated_pulse_energy, pulse_energy
from labsuite.analysis.neurosim import nonlinearity_label
from labsuite.analysis.nonlinearity import conductance_model, fit_nonlinearity
from labsuite.analysis.states import asymmetry, cycle_to_cycle_variation, distinguishable_states
from labsuite.core.errors import ParameterError
from labsuite.core.parameters import Declaration, Number
from labsuite.core.plotspec import PlotSpec, Series
from labsuite.core.program import PulseProgram, Train
from labsuite.protocols.potentiation import PULSE_AND_READ, check_pulse_and_read, pulse_and_read
from labsuite.protocols.protocol import ProgramSize, Protocol

WRITE = 0          # index of the write segment in the pulse pattern


class PlasticityCycling(Protocol):
    """Potentiation, depression and LTP/LTD cycling: G vs pulse number over n cycles."""

    name = "ltp-ltd"
    aliases = ("ltp/ltd", "plasticity-cycling")
    title = "LTP/LTD cycling"
    parameters: ClassVar[tuple[Declaration, ...]] = (
        Number("cycles", "", 5, 1, 10_000, "number of LTP/LTD cycles", integer=True),
        Number("pulses", "", 50, 4, 10_000, "write pulses per half cycle (N potentiating, then N depressing)",
                  integer=True),
        Number("set_amplitude", "V", 1.5, 0.0, 210.0, "height of the potentiating pulses"),
        Number("reset_amplitude", "V", -1.5, -210.0, 0.0, "height of the depressing pulses"),
        *PULSE_AND_READ,
        Number("k_sigma", "", 3.0, 0.1, 100.0,
                  "state separation criterion: levels k·σ apart (σ: their cycle-to-cycle spread)"),
        Number("compliance", "A", 1e-3, 1e-9, 1.0, "current limit during the whole run"),
    )
    figure_units: ClassVar[dict[str, str]] = {
        "g_min": "S", "g_max": "S", "dynamic_range": "",
        "nonlinearity_a_ltp": "", "nonlinearity_a_ltp_err": "", "nonlinearity_a_ltp_normalized": "",
        "nonlinearity_a_ltd": "", "nonlinearity_a_ltd_err": "", "nonlinearity_a_ltd_normalized": "",
        "neurosim_label_ltp": "", "neurosim_label_ltd": "", "asymmetry": "",
        "c2c_ltp": "", "c2c_ltd": "", "c2c_ltp_neurosim": "", "c2c_ltd_neurosim": "",
        "distinguishable_states": "", "energy_per_pulse": "J", "energy_is_estimate": "",
        "cycles": "", "pulses": "",
    }

    def validate(self) -> None:
        if self.set_amplitude == 0:
            raise ParameterError("set_amplitude", 0.0, 0.0, None, "V", "must be positive")
        if self.reset_amplitude == 0:
            raise ParameterError("reset_amplitude", 0.0, None, 0.0, "V", "must be negative")
        check_pulse_and_read(self)

    # --- program ------------------------------------------------------------------------------
    def planned_size(self) -> ProgramSize:
        baseline, pattern = pulse_and_read(self, self.set_amplitude)
        return ProgramSize.of(((baseline, 1), (pattern, 2 * self.pulses * self.cycles)), ("cycles", "pulses"),
                              "fewer cycles or fewer pulses")

    def write_levels(self) -> np.ndarray:
        """Write level (V) of every pulse of the cycling train, in order."""
        n = self.pulses
        one_cycle = np.r_[np.full(n, self.set_amplitude), np.full(n, self.reset_amplitude)]
        return np.tile(one_cycle, self.cycles)

    def program(self) -> PulseProgram:
        baseline, pattern = pulse_and_read(self, self.set_amplitude)
        writes = self.write_levels()
        levels = np.tile([s.level for s in pattern], (writes.size, 1))
        levels[:, WRITE] = writes
        return PulseProgram((Train(baseline), Train(pattern, writes.size, levels)), self.compliance)

    # --- analysis -----------------------------------------------------------------------------
    def split_cycles(self, samples: np.ndarray) -> tuple[float, np.ndarray]:
        """(baseline G, G[cycle, k]) in S for the complete cycles; k < N is after LTP pulse k + 1,
        k ≥ N after LTD pulse k − N + 1."""
        reads = _reads(samples)
        g = reads["current"] / reads["voltage"]
        base = g[reads["train"] == 0]
        pulses = reads["train"] == 1
        order = np.argsort(reads["repeat"][pulses], kind="stable")
        train = g[pulses][order]
        per_cycle = 2 * self.pulses
        complete = train.size // per_cycle
        return (float(base[0]) if base.size else float("nan")), train[:complete * per_cycle].reshape(complete,
                                                                                                     per_cycle)

    def write_energy(self, samples: np.ndarray) -> tuple[float, bool]:
        """(mean energy per write pulse in J, whether it is an estimate)."""
        during = samples[(samples["train"] == 1) & (samples["segment"] == WRITE)]
        if during.size:
            return float(np.mean(pulse_energy(during["voltage"], during["current"], self.width))), False
        reads = _reads(samples)
        g = reads["current"] / reads["voltage"]
        order = np.lexsort((reads["repeat"], reads["train"]))
        g_before = g[order][:-1]                       # the read before each pulse
        writes = self.write_levels()[:g_before.size]
        if not writes.size:
            return float("nan"), True
        return float(np.mean(estimated_pulse_energy(writes, g_before[:writes.size], self.width))), True

    def half_fits(self, g0: float, g: np.ndarray) -> tuple[list, list]:
        """NeuroSim fits of every LTP half and every LTD half."""
        n = self.pulses
        p = np.arange(n + 1, dtype=float)
        ltp_start = np.r_[g0, g[:-1, -1]]
        fits_ltp = [fit_nonlinearity(p, np.r_[ltp_start[c], g[c, :n]]) for c in range(g.shape[0])]
        fits_ltd = [fit_nonlinearity(p, np.r_[g[c, n - 1], g[c, n:]]) for c in range(g.shape[0])]
        return fits_ltp, fits_ltd

    def analyze(self, samples: np.ndarray) -> dict[str, float]:
        reads = _reads(samples)
        g_all = reads["current"] / reads["voltage"]
        energy, estimate = self.write_energy(samples)
        figures: dict[str, float] = {"g_min": float(g_all.min()), "g_max": float(g_all.max()),
                                     "dynamic_range": float(g_all.max() / g_all.min()),
                                     "energy_per_pulse": energy, "energy_is_estimate": float(estimate),
                                     "pulses": int(self.pulses)}
        g0, g = self.split_cycles(samples)
        cycles = g.shape[0]
        figures["cycles"] = int(cycles)
        if cycles == 0 or not np.isfinite(g0):
            return figures
        n = self.pulses
        fits_ltp, fits_ltd = self.half_fits(g0, g)
        changed = {}
        for half, fits in (("ltp", fits_ltp), ("ltd", fits_ltd)):
            # only halves whose trace determines A count (a half that never switched has no A)
            a = np.array([f.a for f in fits if f.determined])
            changed[half] = a.size > 0
            if not a.size:
                continue
            err = float(a.std(ddof=1) / np.sqrt(a.size)) if a.size >= 2 else next(f.a_err for f in fits if f.determined)
            figures[f"nonlinearity_a_{half}"] = float(a.mean())
            figures[f"nonlinearity_a_{half}_err"] = err
            figures[f"nonlinearity_a_{half}_normalized"] = float(a.mean() / n)
            figures[f"neurosim_label_{half}"] = nonlinearity_label(a.mean() / n, depression=half == "ltd")
        if all(changed.values()):
            figures["asymmetry"] = asymmetry(figures["nonlinearity_a_ltp"], figures["nonlinearity_a_ltd"])
        ltp_start = np.r_[g0, g[:-1, -1]]
        for half, start, levels in (("ltp", ltp_start, g[:, :n]), ("ltd", g[:, n - 1], g[:, n:])):
            if changed[half]:
                c2c = cycle_to_cycle_variation(start, levels)
                figures[f"c2c_{half}"] = c2c.relative
                figures[f"c2c_{half}_neurosim"] = c2c.neurosim
        # cycle 1 starts from the as-found state, later cycles from the end of a depression: with
        # ≥ 3 cycles it is a conditioning cycle and stays out of the level statistics
        if any(changed.values()):
            figures["distinguishable_states"] = distinguishable_states(g[1:] if cycles >= 3 else g,
                                                                       self.k_sigma).count
        return figures

    def plot(self, samples: np.ndarray, figures: dict[str, float]) -> PlotSpec:
        """G vs cumulative pulse number, with the NeuroSim fit of every half (first 10 cycles)."""
        g0, g = self.split_cycles(samples)
        n = self.pulses
        reads = _reads(samples)
        measured = reads["current"] / reads["voltage"]
        x = np.where(reads["train"] == 0, 0, reads["repeat"] + 1).astype(float)
        series = [Series("measured", x, measured)]
        if g.shape[0] and np.isfinite(g0):
            fits_ltp, fits_ltd = self.half_fits(g0, g)
            p = np.linspace(0, n, 100)
            for c in range(min(g.shape[0], 10)):
                start = 2 * n * c
                for name, fit, offset in (("LTP", fits_ltp[c], 0), ("LTD", fits_ltd[c], n)):
                    if fit.determined:
                        series.append(Series(f"{name} fit, cycle {c + 1}" if c == 0 else "", start + offset + p,
                                             conductance_model(p, fit.a, fit.b, fit.g0), "fit"))
        notes: tuple[str, ...] = ()
        if "neurosim_label_ltp" in figures:
            f = figures
            notes = (f"A/N {f['nonlinearity_a_ltp_normalized']:.3g} / {f['nonlinearity_a_ltd_normalized']:.3g} "
                     f"(NeuroSim {f['neurosim_label_ltp']:.2f} / {f['neurosim_label_ltd']:.2f})",
                     f"c2c {f['c2c_ltp']:.2g} / {f['c2c_ltd']:.2g}",
                     f"{f['distinguishable_states']:.0f} states at {self.k_sigma:g}σ")
        return PlotSpec(self.title, "pulse number", "", "conductance", "S", tuple(series), notes=notes)


def _reads(samples: np.ndarray) -> np.ndarray:
    """The read samples (everything but readings taken during a write pulse of the pulse train)."""
    return samples[~((samples["train"] == 1) & (samples["segment"] == WRITE))]
