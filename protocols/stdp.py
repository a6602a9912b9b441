r"""Spike-timing-dependent plasticity (STDP): ΔG/G of one pre/post spike pair vs their timing.

One source, one two-terminal device: the pre-synaptic spike V_pre drives one terminal and the
post-synaptic spike V_post the other, so the device sees their difference. With the pre spike's
reference instant at t = 0,

    V_device(t) = V_pre(t) − V_post(t − Δt),      Δt = t_post − t_pre,

and Δt > 0 means the post spike comes after the pre spike (the causal, usually potentiating
order). Both spikes have the same shape unless ``post_waveform`` says otherwise (shapes and their
parameters: :mod:`labsuite.protocols.waveforms`). V_device > 0 is the bench's positive output.

**Which sign potentiates.** Where the two spikes overlap the device sees the pre spike minus the
post spike. For spikes made of a short peak A followed by an opposite tail (``biphasic``,
``exponential``), the post spike's peak lands on the pre spike's tail when Δt > 0:
V_device = −A·(1 + r·e^(−(Δt − t_p)/τ_s)), and for Δt < 0 the pre spike's peak lands on the post
spike's tail: V_device = +A·(1 + r·e^(−(|Δt| − t_p)/τ_s)). So with a *negative* ``amplitude``
(the default) causal pairs drive the device positive and anti-causal pairs negative, which is
Hebbian STDP on a device that potentiates under positive bias (this is the spike of Zamarreño-
Ramos et al. 2011, whose device voltage is V_post − V_pre, with this protocol's opposite sign
convention). Choose amplitudes so that one spike alone stays below the switching threshold and
only the overlap crosses it. Unipolar shapes (``rectangular``, ``triangular``) of the same
polarity cancel where they overlap and never exceed one spike; give the post spike the other
polarity (``post_waveform``) for a symmetric, overlap-driven window.

Timeline of one pair, which is one train (Δt > 0 shown)::

    |read: read_voltage, read_time|pre ⋯ pre−post ⋯ −post|0 V: read_delay|read: read_voltage, read_time|
       G_before                    (one Δt: min(0,Δt) … max)           G_after

The pair window runs from the first spike's start to the last spike's end, cut into
``time_step`` cells (each holds the mean of V_device over the cell, equal neighbours merged;
see :func:`~labsuite.protocols.waveforms.discretize`). The resolution of the spike shapes and of
Δt is ``time_step``: every Δt is rounded to a whole number of steps. A Keithley 2450 times
segments down to 50 µs, and a train's pattern holds at most 63 segments; the two reads and the
rest leave 60 for the pair, which :meth:`validate` checks for every Δt.

    ΔG/G = (G_after − G_before)/G_before,   G = I_read/V_read,

with G_after read ``read_delay`` after the pair so that volatile components have relaxed and only the
lasting change counts (choose ``read_delay`` ≥ 5× the device's volatile relaxation time). A soft-bound
device shows depression only away from its lower bound: start a simulated ``synaptic-memristor``
mid-range (``w_initial = 0.5``), not at its default w = 0.

Δt is swept over ``points`` values per sign, equally spaced from ``dt_min`` to ``dt_max``, one
pair per train (the pattern's durations change with Δt), in the order +Δt₁, −Δt₁, +Δt₂, −Δt₂, …,
and the whole sweep is played ``repeats`` times. Potentiation and depression alternate, so the
device's state stays near where it started: consecutive pairs of one sign would walk the state
towards a bound and, on a soft-bound device, shrink the later changes and distort the window
(measured: 2 pairs in a row at each Δt bias τ₊ by +6 % and τ₋ by −4 %). Each pair costs one
train (a few instrument round trips): 2·points·repeats trains in all.

Figures of merit: the fit ΔG/G = A₊e^(−Δt/τ₊) (Δt > 0), −A₋e^(Δt/τ₋) (Δt < 0) of
:mod:`labsuite.analysis.stdp` (Bi & Poo 1998; Song, Miller & Abbott 2000), with errors; A± as
fractions, τ± in s; the largest potentiation and depression measured.

**Choosing the shape.** The shape is a :class:`~labsuite.core.parameters.Choice` parameter (listed by
``labsuite protocols``, a drop-down list in the GUI form): ``waveform`` is ``"rectangular"``,
``"triangular"``, ``"biphasic"``, ``"exponential"`` (default), a path to a CSV file of
``t [s], V [V]`` rows, or any :class:`~labsuite.protocols.waveforms.Waveform`; ``post_waveform``
likewise (default: the same as ``waveform``). On the CLI: ``--set waveform=biphasic`` or
``--set waveform=spike.csv``. The numeric shape parameters (``peak_width``, ``tail_ratio``,
``tail_tau``) apply to the shapes that have them and are ignored by the others; a file's spike is
applied as written (``amplitude`` and ``width`` are ignored for it). The run file
records every segment of the program, hence the exact applied waveform, whatever the choice.
"""
from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np

from labsuite.analysis.stdp import fit_stdp, stdp_window
from labsuite.core.errors import ParameterError
from labsuite.core.parameters import Choice, Declaration, Number
from labsuite.core.plotspec import PlotSpec, Series
from labsuite.core.program import PulseProgram, Segment, Train
from labsuite.protocols.protocol import Protocol
from labsuite.protocols.waveforms import (SHAPES, Biphasic, ExponentialTail, Rectangular, Tabulated, Triangular,
                                          Waveform, discretize)
from labsuite.core.units import format_quantity
from labsuite.protocols.timing import MAX_PATTERN

MAX_CELLS = 100_000        # time_step cells of one pair that discretize() may sample
OTHER_SEGMENTS = 3   # read before, rest, read after


class SpikeTiming(Protocol):
    """ΔG/G of pre/post spike pairs swept over Δt = t_post − t_pre of both signs."""

    name = "stdp"
    aliases = ("spike-timing", "spike-timing-dependent-plasticity")
    title = "Spike-timing-dependent plasticity (STDP)"
    parameters: ClassVar[tuple[Declaration, ...]] = (
        Number("amplitude", "V", -0.75, -210.0, 210.0,
                  "peak level of each spike; negative makes causal pairs (Δt > 0) drive the device positive"),
        Number("width", "s", 2e-3, 1e-9, 10.0, "whole duration of one spike (peak and tail)"),
        Number("peak_width", "s", 100e-6, 1e-9, 10.0, "first phase of biphasic and exponential spikes"),
        Number("tail_ratio", "", 1.0, -100.0, 100.0,
                  "tail level at its start = −tail_ratio × amplitude (biphasic, exponential)"),
        Number("tail_tau", "s", 500e-6, 1e-9, 10.0, "decay time of the exponential tail"),
        Number("dt_min", "s", 200e-6, 1e-9, 100.0, "smallest |Δt| (Δt = t_post − t_pre)"),
        Number("dt_max", "s", 2e-3, 1e-9, 100.0, "largest |Δt|"),
        Number("points", "", 8, 2, 30, "Δt values per sign, equally spaced from dt_min to dt_max",
                  integer=True),
        Number("repeats", "", 1, 1, 100, "passes of the whole Δt sweep (pairs at each Δt)", integer=True),
        Number("time_step", "s", 100e-6, 1e-9, 1.0,
                  "resolution of the spike shapes and of Δt (≥ 50 µs on a Keithley 2450)"),
        Number("read_voltage", "V", 0.1, -10.0, 10.0, "read level, below the switching threshold"),
        Number("read_time", "s", 1e-3, 10e-6, 10.0, "read duration (the current is integrated over it)"),
        Number("read_delay", "s", 50e-3, 1e-9, 3600.0,
                  "wait at 0 V between a pair and its read, for volatile components to relax"),
        Number("compliance", "A", 1e-3, 1e-9, 1.0, "current limit during the whole run"),
        Choice("waveform", SHAPES, "exponential", "shape of the spikes (see labsuite.protocols.waveforms), "
               "or a CSV file of t [s], V [V] rows", file=".csv", instance_of=Waveform),
        Choice("post_waveform", SHAPES, None, "shape of the post-synaptic spike, if not the same as waveform",
               file=".csv", instance_of=Waveform),
    )
    figure_units: ClassVar[dict[str, str]] = {
        "a_plus": "", "a_plus_err": "", "tau_plus": "s", "tau_plus_err": "s",
        "a_minus": "", "a_minus_err": "", "tau_minus": "s", "tau_minus_err": "s",
        "fit_rms": "", "potentiation_max": "", "depression_max": "", "pairs": "",
    }

    # --- spikes -----------------------------------------------------------------------------
    def spike(self, choice: str | Path | Waveform) -> Waveform:
        """The spike a waveform choice stands for, with this protocol's shape parameters."""
        if isinstance(choice, Waveform):
            return choice
        text = str(choice).strip()
        a, w = self.amplitude, self.width
        shape = text.lower()
        if shape == "rectangular":
            return Rectangular(a, w)
        if shape == "triangular":
            return Triangular(a, w)
        if shape == "biphasic":
            return Biphasic(a, w, self.peak_width, self.tail_ratio)
        if shape == "exponential":
            return ExponentialTail(a, w, self.peak_width, self.tail_ratio, self.tail_tau)
        return Tabulated.from_csv(text)   # the declaration admits only the shapes and .csv files

    @property
    def pre_spike(self) -> Waveform:
        """The pre-synaptic spike (built once per validation)."""
        if "_pre" not in self.__dict__:
            self.__dict__["_pre"] = self.spike(self.waveform)
        return self.__dict__["_pre"]

    @property
    def post_spike(self) -> Waveform:
        """The post-synaptic spike, before its sign is applied (V_device = V_pre − V_post)."""
        if "_post" not in self.__dict__:
            self.__dict__["_post"] = self.spike(self.waveform if self.post_waveform is None else self.post_waveform)
        return self.__dict__["_post"]

    def pair(self, dt: float) -> Waveform:
        """V_device(t) = V_pre(t) − V_post(t − Δt), t from the pre spike's reference instant."""
        return self.pre_spike - self.post_spike.shifted(dt)

    def pair_segments(self, dt: float) -> tuple[Segment, ...]:
        """The pair at ``dt`` as bench segments (time_step cells, equal neighbours merged)."""
        cache = self.__dict__.setdefault("_pairs", {})
        key = round(dt / self.time_step)
        if key not in cache:
            cache[key] = discretize(self.pair(key * self.time_step), self.time_step, label="spike")
        return cache[key]

    # --- Δt sweep ---------------------------------------------------------------------------
    def delays(self) -> np.ndarray:
        """Positive Δt values (s), whole multiples of time_step, ascending."""
        steps = np.round(np.linspace(self.dt_min, self.dt_max, self.points) / self.time_step)
        return steps * self.time_step

    def train_delays(self) -> np.ndarray:
        """Δt (s) of each train (one pair each) in program order: +Δt₁, −Δt₁, +Δt₂, −Δt₂, …, the
        whole sweep ``repeats`` times."""
        d = self.delays()
        return np.tile(np.column_stack([d, -d]).ravel(), self.repeats)

    def validate(self) -> None:
        if self.dt_max <= self.dt_min:
            raise ParameterError("dt_max", self.dt_max, self.dt_min, None, "s", "must exceed dt_min")
        steps = np.round(np.linspace(self.dt_min, self.dt_max, self.points) / self.time_step)
        if steps[0] < 1:
            raise ParameterError("dt_min", self.dt_min, self.time_step / 2, None, "s",
                                 "Δt is rounded to whole time steps and must not round to 0")
        if np.unique(steps).size < steps.size:
            raise ParameterError("points", self.points, 2, int(steps[-1] - steps[0] + 1), "",
                                 "Δt values are whole time steps; dt_min to dt_max holds only so many")
        self.__dict__.pop("_pre", None)
        self.__dict__.pop("_post", None)
        self.__dict__.pop("_pairs", None)
        self.pre_spike, self.post_spike         # noqa: B018 - build (and check) both spikes now
        extent = max(s.end - s.start for s in (self.pre_spike, self.post_spike))
        cells = (self.dt_max + 2 * extent) / self.time_step
        if cells > MAX_CELLS:   # refuse before sampling the pair: that would cost memory in proportion
            raise ParameterError("time_step", self.time_step, (self.dt_max + 2 * extent) / MAX_CELLS, None, "s",
                                 f"the longest pair spans {format_quantity(self.dt_max + 2 * extent, 's')}, "
                                 f"which this step would cut into {cells:.3g} cells")
        room = MAX_PATTERN - OTHER_SEGMENTS
        for dt in self.train_delays()[:2 * self.points]:
            n = len(self.pair_segments(dt))
            if n > room:
                raise ParameterError("time_step", self.time_step, None, None, "s",
                                     f"the pair at Δt = {format_quantity(dt, 's')} needs {n} segments, more than "
                                     f"the {room} a {MAX_PATTERN}-segment pattern leaves beside the reads; "
                                     f"lengthen time_step or shorten width or dt_max")

    def program(self) -> PulseProgram:
        read = Segment(self.read_voltage, self.read_time, "read", measure=True)
        rest = Segment(0.0, self.read_delay, "rest")
        trains = tuple(Train((read, *self.pair_segments(dt), rest, read)) for dt in self.train_delays())
        return PulseProgram(trains, self.compliance)

    # --- analysis ---------------------------------------------------------------------------
    def pairs(self, samples: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(Δt in s, G_before in S, G_after in S) of every complete pair in ``samples``."""
        g = samples["current"] / samples["voltage"]
        before = samples["segment"] == 0
        key = samples["train"].astype(np.int64) * 1_000_000 + samples["repeat"]
        kb, ka = key[before], key[~before]
        _, ib, ia = np.intersect1d(kb, ka, return_indices=True)
        dts = self.train_delays()
        trains = samples["train"][before][ib]
        return dts[trains], g[before][ib], g[~before][ia]

    def analyze(self, samples: np.ndarray) -> dict[str, float]:
        dt, g0, g1 = self.pairs(samples)
        change = (g1 - g0) / g0
        figures: dict[str, float] = {"pairs": int(dt.size)}
        if dt.size:
            figures.update(potentiation_max=float(change.max()), depression_max=float(change.min()))
        try:
            fit = fit_stdp(dt, change)
        except (ValueError, RuntimeError):
            return figures
        figures.update(a_plus=fit.a_plus, a_plus_err=fit.a_plus_err, tau_plus=fit.tau_plus,
                       tau_plus_err=fit.tau_plus_err, a_minus=fit.a_minus, a_minus_err=fit.a_minus_err,
                       tau_minus=fit.tau_minus, tau_minus_err=fit.tau_minus_err, fit_rms=fit.rms)
        return figures

    def plot(self, samples: np.ndarray, figures: dict[str, float]) -> PlotSpec:
        """ΔG/G (%) vs Δt with the fitted window."""
        dt, g0, g1 = self.pairs(samples)
        series = [Series("measured", dt, 100 * (g1 - g0) / g0)]
        notes: tuple[str, ...] = ()
        if "tau_plus" in figures:
            a_p, t_p, a_m, t_m = (figures[k] for k in ("a_plus", "tau_plus", "a_minus", "tau_minus"))
            x = np.linspace(np.abs(dt).min(), np.abs(dt).max(), 200)
            x = np.concatenate([-x[::-1], [np.nan], x])       # one curve per branch, a gap at Δt = 0
            series.append(Series("fit: A±·e^(−|Δt|/τ±)", x, 100 * stdp_window(x, a_p, t_p, a_m, t_m), "fit"))
            notes = (f"A+ {100 * a_p:.3g} %, τ+ {format_quantity(t_p, 's')}",
                     f"A− {100 * a_m:.3g} %, τ− {format_quantity(t_m, 's')}")
        return PlotSpec(self.title, "Δt = t_post − t_pre", "s", "ΔG/G (%)", "", tuple(series), notes=notes)
