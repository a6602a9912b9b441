"""I–V hysteresis: a bipolar DC staircase (``iv``) and a pulsed sweep (``pulsed-iv``).

One cycle with ``start_polarity`` = +1 (−1 swaps the two halves: 0 → V_min → 0 → V_max → 0)::

    V_max ┤        ┌┐
          │      ┌┘└┐               each step holds its level for ``dwell`` and is measured
          │    ┌┘    └┐             (the reading integrates the step: up to 10 PLC on a 2450)
        0 ┼──┌┘────────└┐──────┐┌──
          │             └┐   ┌┘
          │              └┐┌┘
    V_min ┤               └┘
           |  positive half  | negative half |
           under positive_compliance / negative_compliance

Each half has N = ceil(|V_extreme|/step) equal steps out (|V| = extreme·k/N, k = 1 … N, so that
the sweep lands exactly on V_max and V_min; the step actually used is extreme/N ≤ ``step``) and
N steps back (k = N−1 … 0, ending on 0 V). Every step of a half carries that polarity's current
limit (``Segment.compliance``), so the SET (positive) and RESET (negative) branches are limited
separately, as a 1T1R gate or an SMU's per-branch compliance would be.

Program: a train of one measured segment whose level changes every repeat (a ``levels`` table),
one train per run of consecutive halves with the same current limit — a single train for the
whole run when both limits are equal, otherwise one per half (2 per cycle). A pattern never has
more than 4 segments, far below the 63 of a hardware-timed train.

``pulsed-iv``: the same staircase of levels, but each step is a pulse of ``width`` at the
level followed by a read at ``read_voltage``, so that the read records the state each pulse left
(its remnant conductance) free of the I–V nonlinearity and of heating during the sweep::

    |pulse: level, width|0 V: read_delay|read: read_voltage, read_time|  (next level ...)

The pulse current is measured too when ``width`` ≥ 200 µs (the 2450's shortest
measurement), giving the pulsed I–V loop; shorter pulses are applied unmeasured.

Figures of merit (definitions in :mod:`labsuite.analysis.iv`): ``v_set``, ``v_reset`` (mean over
cycles) and their cycle-to-cycle standard deviations ``v_set_std``, ``v_reset_std``;
``on_off_ratio`` (median over cycles), ``r_on``, ``r_off`` at ``read_voltage``; ``loop_area``
(enclosed area |A₊| + |A₋|, mean over cycles, W = V·A), the signed lobe areas ``area_positive``,
``area_negative``; for the DC sweep also ``v_reset_peak`` and ``i_reset`` (largest |I| on the
RESET leg). ``iv`` reads ON/OFF from the DC I–V itself at ±|read_voltage| (outgoing vs returning
leg of that polarity); ``pulsed-iv`` from the reads after the last pulse of each half. A figure
that is not defined by the run (no abrupt SET, a negative half that did not RESET, ...) is left
out of the dict rather than reported as NaN.
"""
from __future__ import annotations

from typing import ClassVar

import numpy as np

from labsuite.analysis.iv import analyze_loops, split_cycle
from labsuite.core.errors import ParameterError
from labsuite.core.parameters import Choice, Declaration, Number
from labsuite.core.plotspec import PlotSpec, Series
from labsuite.core.program import PulseProgram, Segment, Train
from labsuite.core.units import format_quantity
from labsuite.protocols.protocol import ProgramSize, Protocol
from labsuite.protocols.timing import MIN_MEASURED, MIN_SEGMENT


_SWEEP_PARAMETERS = (
    Number("v_max", "V", 1.5, 0.0, 210.0, "positive extreme of the sweep"),
    Number("v_min", "V", -1.5, -210.0, 0.0, "negative extreme of the sweep"),
    Number("step", "V", 10e-3, 1e-4, 10.0, "largest voltage step (each half is cut into equal steps ≤ this)"),
    Number("cycles", "", 3, 1, 10_000, "full cycles 0 → V_max → 0 → V_min → 0", integer=True),
    Choice("start_polarity", (1, -1), 1,
           "+1: positive half first (0 → V_max → 0 → V_min → 0); −1: negative half first "
           "(0 → V_min → 0 → V_max → 0)"),
    Number("positive_compliance", "A", 1e-3, 1e-9, 1.0, "current limit on the positive half"),
    Number("negative_compliance", "A", 1e-3, 1e-9, 1.0, "current limit on the negative half"),
)
_FIGURE_UNITS = {
    "v_set": "V", "v_set_std": "V", "v_reset": "V", "v_reset_std": "V", "on_off_ratio": "", "r_on": "Ω",
    "r_off": "Ω", "loop_area": "W", "loop_area_std": "W", "area_positive": "W", "area_negative": "W", "cycles": "",
}


class _BipolarSweep(Protocol):
    """What the DC and the pulsed sweep share: the levels, the halves and their compliances."""

    def _validate_sweep(self) -> None:
        if self.v_max <= 0:
            raise ParameterError("v_max", self.v_max, 0.0, None, "V", "must be positive: the sweep is bipolar")
        if self.v_min >= 0:
            raise ParameterError("v_min", self.v_min, None, 0.0, "V", "must be negative: the sweep is bipolar")
        if self.steps_per_half(self.v_max) > 2500 or self.steps_per_half(self.v_min) > 2500:
            raise ParameterError("step", self.step, max(self.v_max, -self.v_min) / 2500, None, "V",
                                 "at most 2500 steps each way per half")

    def levels_per_cycle(self) -> int:
        """Levels (steps or pulses) of one full cycle: 2N out and back on each half."""
        return 2 * (self.steps_per_half(self.v_max) + self.steps_per_half(self.v_min))

    def steps_per_half(self, extreme: float) -> int:
        """N: steps out (and back) in the half that reaches ``extreme``."""
        return max(1, int(np.ceil(abs(extreme) / self.step - 1e-9)))

    def half_levels(self, extreme: float) -> np.ndarray:
        """Levels of one half, V: extreme·k/N for k = 1 … N, then N−1 … 0."""
        n = self.steps_per_half(extreme)
        k = np.concatenate([np.arange(1, n + 1), np.arange(n - 1, -1, -1)])
        return extreme * k / n

    def halves(self) -> list[tuple[int, np.ndarray, float]]:
        """(cycle, levels, compliance) of every half of the run, in time order."""
        positive = (self.half_levels(self.v_max), self.positive_compliance)
        negative = (self.half_levels(self.v_min), self.negative_compliance)
        order = (positive, negative) if self.start_polarity > 0 else (negative, positive)
        return [(c, levels, limit) for c in range(self.cycles) for levels, limit in order]

    def _groups(self) -> list[tuple[np.ndarray, np.ndarray, float]]:
        """Consecutive halves with the same compliance merged: (cycle of each step, levels, compliance)."""
        groups: list[tuple[list, list, float]] = []
        for cycle, levels, limit in self.halves():
            if groups and groups[-1][2] == limit:
                groups[-1][0].append(np.full(levels.size, cycle))
                groups[-1][1].append(levels)
            else:
                groups.append(([np.full(levels.size, cycle)], [levels], limit))
        return [(np.concatenate(c), np.concatenate(lv), limit) for c, lv, limit in groups]

    def step_table(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(train, cycle, level) of every step in time order; a train's repeat r is its r-th step."""
        trains, cycles, levels = [], [], []
        for index, (cycle, lv, _) in enumerate(self._groups()):
            trains.append(np.full(lv.size, index))
            cycles.append(cycle)
            levels.append(lv)
        return np.concatenate(trains), np.concatenate(cycles), np.concatenate(levels)

    def _step_of(self, samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(cycle, programmed level) of each sample, from its train and repeat."""
        train, cycle, level = self.step_table()
        first = np.searchsorted(train, np.arange(train.max() + 1))        # first step of every train
        index = first[samples["train"]] + samples["repeat"]
        return cycle[index], level[index]


class IVSweep(_BipolarSweep):
    """Bipolar DC staircase I–V: hysteresis loop, SET/RESET, ON/OFF, loop area."""

    name = "iv"
    aliases = ("i-v", "iv-sweep")
    title = "I–V sweep"
    parameters: ClassVar[tuple[Declaration, ...]] = _SWEEP_PARAMETERS + (
        Number("dwell", "s", 1e-3, MIN_MEASURED, 10.0, "time at each step (the current is integrated over it)"),
        Number("read_voltage", "V", 0.1, -10.0, 10.0, "|V| at which ON/OFF is read from the loop (sign: polarity)"),
    )
    figure_units: ClassVar[dict[str, str]] = {**_FIGURE_UNITS, "v_reset_peak": "V", "i_reset": "A"}

    def planned_size(self) -> ProgramSize:
        levels = self.cycles * self.levels_per_cycle()
        return ProgramSize(levels, levels, ("cycles", "step"), "fewer cycles or a larger step")

    def validate(self) -> None:
        self._validate_sweep()
        extreme = self.v_max if self.read_voltage > 0 else self.v_min
        smallest = abs(extreme) / self.steps_per_half(extreme)
        if not smallest - 1e-12 <= abs(self.read_voltage) <= abs(extreme):
            raise ParameterError("read_voltage", self.read_voltage, smallest * np.sign(self.read_voltage),
                                 extreme, "V", "ON/OFF is interpolated on the loop: it must lie within the sweep")

    def program(self) -> PulseProgram:
        trains = []
        for _, levels, limit in self._groups():
            label = "sweep+" if np.all(levels >= 0) else "sweep-" if np.all(levels <= 0) else "sweep"
            step = Segment(float(levels[0]), self.dwell, label, measure=True, compliance=limit)
            trains.append(Train((step,), levels.size, levels[:, None]))
        return PulseProgram(tuple(trains), self._groups()[0][2])

    def loops(self, samples: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(cycle, programmed level V, measured V, I A) of every reading."""
        cycle, level = self._step_of(samples)
        return cycle, level, samples["voltage"], samples["current"]

    def analyze(self, samples: np.ndarray) -> dict[str, float]:
        cycle, level, voltage, current = self.loops(samples)
        result = analyze_loops(cycle, level, voltage, current, self.read_voltage)
        return _defined(_summary(result) | {"v_reset_peak": result.mean("v_reset_peak"),
                                            "i_reset": result.mean("i_reset")})

    def plot(self, samples: np.ndarray, figures: dict[str, float], *, log_current: bool = False) -> PlotSpec:
        """I–V loops, one line per cycle; ``log_current``: |I| on a log axis."""
        cycle, _, voltage, current = self.loops(samples)
        return _loop_plot(self.title, cycle, voltage, current, figures, log_current)


class PulsedIV(_BipolarSweep):
    """Bipolar pulsed I–V: a pulse at each level, then a read of the state it left."""

    name = "pulsed-iv"
    aliases = ("pulsed-i-v",)
    title = "Pulsed I–V sweep"
    parameters: ClassVar[tuple[Declaration, ...]] = _SWEEP_PARAMETERS + (
        Number("width", "s", 1e-3, MIN_SEGMENT, 10.0,
                  "pulse at each level (its current is measured if ≥ 200 µs)"),
        Number("read_delay", "s", 0.0, 0.0, 3600.0, "wait at 0 V between a pulse and its read (0 or ≥ 50 µs)"),
        Number("read_voltage", "V", 0.1, -10.0, 10.0, "read level after each pulse, below the switching threshold"),
        Number("read_time", "s", 1e-3, MIN_MEASURED, 10.0, "read duration (the current is integrated over it)"),
    )
    figure_units: ClassVar[dict[str, str]] = dict(_FIGURE_UNITS)

    def planned_size(self) -> ProgramSize:
        levels = self.cycles * self.levels_per_cycle()
        segments = 2 + (self.read_delay > 0)
        return ProgramSize(levels * segments, levels * (1 + self.measures_pulse), ("cycles", "step"),
                           "fewer cycles or a larger step")

    def validate(self) -> None:
        self._validate_sweep()
        if 0 < self.read_delay < MIN_SEGMENT:
            raise ParameterError("read_delay", self.read_delay, MIN_SEGMENT, None, "s", "0, or the SMU's 50 µs floor")

    @property
    def measures_pulse(self) -> bool:
        return self.width >= MIN_MEASURED

    def program(self) -> PulseProgram:
        trains = []
        for _, levels, limit in self._groups():
            pattern = [Segment(float(levels[0]), self.width, "write", measure=self.measures_pulse,
                               compliance=limit)]
            if self.read_delay > 0:
                pattern.append(Segment(0.0, self.read_delay, "idle", compliance=limit))
            pattern.append(Segment(self.read_voltage, self.read_time, "read", measure=True, compliance=limit))
            table = np.tile([s.level for s in pattern], (levels.size, 1))
            table[:, 0] = levels
            trains.append(Train(tuple(pattern), levels.size, table))
        return PulseProgram(tuple(trains), self._groups()[0][2])

    def steps(self, samples: np.ndarray) -> dict[str, np.ndarray]:
        """Per step: cycle, level (V), pulse V and I (NaN when unmeasured), read G (S)."""
        read_segment = len(self.program().trains[0].pattern) - 1
        reads = samples[samples["segment"] == read_segment]
        cycle, level = self._step_of(reads)
        pulse_v = np.full(reads.size, np.nan)
        pulse_i = np.full(reads.size, np.nan)
        if self.measures_pulse:
            pulses = samples[samples["segment"] == 0][:reads.size]
            pulse_v[:pulses.size], pulse_i[:pulses.size] = pulses["voltage"], pulses["current"]
        return {"cycle": cycle, "level": level, "pulse_voltage": pulse_v, "pulse_current": pulse_i,
                "g_read": reads["current"] / reads["voltage"]}

    def analyze(self, samples: np.ndarray) -> dict[str, float]:
        s = self.steps(samples)
        voltage = s["pulse_voltage"] if self.measures_pulse else s["level"]
        current = s["pulse_current"] if self.measures_pulse else np.full(s["level"].size, np.nan)
        result = analyze_loops(s["cycle"], s["level"], voltage, current, float("nan"), conductance=s["g_read"])
        figures = _summary(result)
        # ON/OFF from the read after the last step of each half (the state each polarity leaves)
        ratios, r_on, r_off = [], [], []
        for c in np.unique(s["cycle"]):
            sel = s["cycle"] == c
            legs, g = split_cycle(s["level"][sel]), s["g_read"][sel]
            ends = [np.concatenate([legs.positive_out, legs.positive_back]),
                    np.concatenate([legs.negative_out, legs.negative_back])]
            if all(e.size for e in ends):
                g_on, g_off = max(g[ends[0][-1]], g[ends[1][-1]]), min(g[ends[0][-1]], g[ends[1][-1]])
                if g_off > 0:
                    ratios.append(g_on / g_off)
                    r_on.append(1 / g_on)
                    r_off.append(1 / g_off)
        if ratios:
            figures.update(on_off_ratio=float(np.median(ratios)), r_on=float(np.median(r_on)),
                           r_off=float(np.median(r_off)))
        if not self.measures_pulse:
            for key in ("loop_area", "loop_area_std", "area_positive", "area_negative"):
                figures.pop(key, None)
        return _defined(figures)

    def plot(self, samples: np.ndarray, figures: dict[str, float], *, log_current: bool = False) -> PlotSpec:
        """Pulsed I–V loops (pulse current vs pulse voltage) when the pulses are measured, else the
        read conductance vs pulse level."""
        s = self.steps(samples)
        if self.measures_pulse:
            return _loop_plot(self.title, s["cycle"], s["pulse_voltage"], s["pulse_current"], figures, log_current)
        series = tuple(Series(f"cycle {c + 1}", s["level"][s["cycle"] == c], s["g_read"][s["cycle"] == c], "line")
                       for c in np.unique(s["cycle"]))
        return PlotSpec(self.title, "pulse level", "V", f"G read at {format_quantity(self.read_voltage, 'V')}", "S",
                        series, log_y=log_current, notes=_notes(figures))


def _summary(result) -> dict[str, float]:
    return {"v_set": result.mean("v_set"), "v_set_std": result.std("v_set"),
            "v_reset": result.mean("v_reset"), "v_reset_std": result.std("v_reset"),
            "on_off_ratio": result.median("on_off"), "r_on": result.median("r_on"), "r_off": result.median("r_off"),
            "loop_area": result.mean("area"), "loop_area_std": result.std("area"),
            "area_positive": result.mean("area_positive"), "area_negative": result.mean("area_negative"),
            "cycles": len(result.cycles)}


def _defined(figures: dict[str, float]) -> dict[str, float]:
    """The figures that are defined: a NaN (no SET found, no RESET, ...) is left out."""
    return {k: v for k, v in figures.items() if np.isfinite(v)}


def _notes(figures: dict[str, float]) -> tuple[str, ...]:
    notes = []
    for key, label, unit in (("v_set", "V_SET", "V"), ("v_reset", "V_RESET", "V"), ("on_off_ratio", "ON/OFF", ""),
                             ("loop_area", "loop area", "W")):
        value = figures.get(key, float("nan"))
        if np.isfinite(value):
            notes.append(f"{label} {format_quantity(value, unit) if unit else f'{value:.3g}'}")
    return tuple(notes)


def _loop_plot(title: str, cycle: np.ndarray, voltage: np.ndarray, current: np.ndarray, figures: dict[str, float],
               log_current: bool) -> PlotSpec:
    series = []
    for c in np.unique(cycle):
        sel = cycle == c
        y = np.abs(current[sel]) if log_current else current[sel]
        series.append(Series(f"cycle {c + 1}", voltage[sel], y, "line"))
    return PlotSpec(title, "voltage", "V", "|current|" if log_current else "current", "A", tuple(series),
                    log_y=log_current, notes=_notes(figures))
