r"""Spike waveforms for timing protocols, and their discretization into bench segments.

A :class:`Waveform` is a voltage V(t) (V) of the time t (s) from the spike's reference instant
t = 0 (its onset for the built-in shapes); it is 0 V outside ``[start, end)``. Every waveform has
``sample(times) -> V``. Waveforms combine: ``pre - post.shifted(dt)`` is the waveform a
two-terminal device sees when the pre-synaptic spike drives one terminal and the post-synaptic
spike, ``dt`` later, the other (see :mod:`labsuite.protocols.stdp`).

Built-in shapes (A = ``amplitude``, w = ``width``, t_p = ``peak_width``, r = ``tail_ratio``)::

    Rectangular     A                                   for 0 ≤ t < w
    Triangular      A·(1 − |2t/w − 1|)                  for 0 ≤ t < w     (isosceles, peak A at w/2)
    Biphasic        A                                   for 0 ≤ t < t_p
                    −r·A                                for t_p ≤ t < w
    ExponentialTail A                                   for 0 ≤ t < t_p
                    −r·A·exp(−(t − t_p)/τ_s)            for t_p ≤ t < w   (tail truncated at w)
    Tabulated       straight lines between (t, V) points read from a CSV file; 0 V outside

ExponentialTail is the spike of Zamarreño-Ramos et al., "On spike-timing-dependent plasticity,
memristive devices, and building a self-learning visual cortex", Front. Neurosci. 5, 26 (2011)
(a short peak and a long, opposite, exponentially decaying tail); STDP in a memristive synapse
was first shown by Jo et al. (Nano Lett. 10, 1297, 2010, Ag:a-Si). Biphasic is its rectangular
simplification; with tail_ratio < 0 it is a two-level, one-polarity spike (a programming pulse
then a heating pulse, as Kim et al., Nano Lett. 15, 2203, 2015, use on second-order devices).

Discretization (:func:`discretize`): the bench applies piecewise-constant levels, so a waveform
is cut on a uniform time grid of step ``step`` (≥ 50 µs on a Keithley 2450, the shortest segment
its trigger model can time) anchored at t = 0; each cell holds the waveform's *mean* over the
cell (midpoint rule, 64 points per cell), which keeps the volt-seconds of every cell. Adjacent
cells whose levels agree within ``tolerance`` (1 µV by default) are merged into one segment, so a
rectangular spike whose edges fall on the grid is one segment, and the 0 V gap between two
spikes is one segment. The time resolution of everything a timing protocol applies is therefore
``step``: edges, Δt and the shape of a tail are all known to one step.
"""
from __future__ import annotations

import csv
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from labsuite.core.errors import InvalidParameter
from labsuite.core.program import Segment

SUBSAMPLES = 64      # midpoint-rule points per cell when averaging a waveform over a cell


class Waveform(ABC):
    """V(t) in volts, t in s from the spike's reference instant; 0 V outside [start, end)."""

    @property
    @abstractmethod
    def start(self) -> float:
        """First instant of the support, s."""

    @property
    @abstractmethod
    def end(self) -> float:
        """End of the support, s (V = 0 from here on)."""

    @abstractmethod
    def _values(self, t: np.ndarray) -> np.ndarray:
        """V at times inside the support (values outside are masked to 0 by :meth:`sample`)."""

    def sample(self, times: np.ndarray | float) -> np.ndarray:
        """V (V) at ``times`` (s); 0 V outside [start, end)."""
        t = np.asarray(times, dtype=float)
        inside = (t >= self.start) & (t < self.end)
        out = np.zeros(t.shape)
        if np.any(inside):
            out[inside] = self._values(t[inside])
        return out

    def cell_means(self, edges: np.ndarray) -> np.ndarray:
        """Mean V over each cell [edges[i], edges[i+1]) (midpoint rule, SUBSAMPLES points)."""
        edges = np.asarray(edges, dtype=float)
        width = np.diff(edges)
        frac = (np.arange(SUBSAMPLES) + 0.5) / SUBSAMPLES
        t = edges[:-1, None] + width[:, None] * frac[None, :]
        return self.sample(t).mean(axis=1)

    @property
    def peak(self) -> float:
        """Largest |V| of the waveform, V (sampled on 10⁴ points of its support)."""
        t = np.linspace(self.start, self.end, 10_001)[:-1]
        return float(np.abs(self.sample(t)).max())

    # --- combination ---------------------------------------------------------------------
    def shifted(self, delay: float) -> Waveform:
        """This waveform ``delay`` s later: V'(t) = V(t − delay)."""
        return Superposition(((1.0, self, float(delay)),))

    def __neg__(self) -> Waveform:
        return Superposition(((-1.0, self, 0.0),))

    def __add__(self, other: Waveform) -> Waveform:
        return Superposition(_terms(self) + _terms(other))

    def __sub__(self, other: Waveform) -> Waveform:
        return self + (-other)

    def segments(self, step: float, *, start: float | None = None, end: float | None = None,
                 label: str = "spike", tolerance: float = 1e-6) -> tuple[Segment, ...]:
        """This waveform as bench segments; see :func:`discretize`."""
        return discretize(self, step, start=start, end=end, label=label, tolerance=tolerance)


def _terms(w: Waveform) -> tuple[tuple[float, Waveform, float], ...]:
    return w.terms if isinstance(w, Superposition) else ((1.0, w, 0.0),)


@dataclass(frozen=True)
class Superposition(Waveform):
    """Σ cᵢ·Vᵢ(t − dᵢ): terms (coefficient, waveform, delay in s)."""

    terms: tuple[tuple[float, Waveform, float], ...]

    @property
    def start(self) -> float:
        return min(w.start + d for _, w, d in self.terms)

    @property
    def end(self) -> float:
        return max(w.end + d for _, w, d in self.terms)

    def _values(self, t: np.ndarray) -> np.ndarray:
        return sum(c * w.sample(t - d) for c, w, d in self.terms)

    def shifted(self, delay: float) -> Waveform:
        return Superposition(tuple((c, w, d + delay) for c, w, d in self.terms))

    def __neg__(self) -> Waveform:
        return Superposition(tuple((-c, w, d) for c, w, d in self.terms))


def _positive(name: str, value: float) -> float:
    if not (value > 0 and np.isfinite(value)):
        raise InvalidParameter(name, f"{value!r} s must be a positive time")
    return float(value)


@dataclass(frozen=True)
class Spike(Waveform):
    """A spike of height ``amplitude`` (V) on 0 ≤ t < ``width`` (s); subclasses give its shape."""

    amplitude: float
    width: float

    def __post_init__(self) -> None:
        _positive("width", self.width)

    start = property(lambda self: 0.0)
    end = property(lambda self: self.width)


@dataclass(frozen=True)
class Rectangular(Spike):
    """A for 0 ≤ t < width."""

    def _values(self, t: np.ndarray) -> np.ndarray:
        return np.full(t.shape, float(self.amplitude))


@dataclass(frozen=True)
class Triangular(Spike):
    """Isosceles triangle: 0 at t = 0, A at width/2, 0 at width."""

    def _values(self, t: np.ndarray) -> np.ndarray:
        return self.amplitude * (1.0 - np.abs(2.0 * t / self.width - 1.0))


@dataclass(frozen=True)
class Biphasic(Spike):
    """A for 0 ≤ t < peak_width, then −tail_ratio·A until width."""

    peak_width: float
    tail_ratio: float = 1.0

    def __post_init__(self) -> None:
        super().__post_init__()
        _positive("peak_width", self.peak_width)
        if self.peak_width >= self.width:
            raise InvalidParameter("peak_width", f"{self.peak_width!r} s must be shorter than width "
                                                 f"{self.width!r} s (the tail follows the peak)")

    def _values(self, t: np.ndarray) -> np.ndarray:
        return np.where(t < self.peak_width, self.amplitude, -self.tail_ratio * self.amplitude)


@dataclass(frozen=True)
class ExponentialTail(Biphasic):
    """A for 0 ≤ t < peak_width, then −tail_ratio·A·exp(−(t − peak_width)/tail_tau) until width."""

    tail_tau: float = 1e-3

    def __post_init__(self) -> None:
        super().__post_init__()
        _positive("tail_tau", self.tail_tau)

    def _values(self, t: np.ndarray) -> np.ndarray:
        tail = -self.tail_ratio * self.amplitude * np.exp(-(t - self.peak_width) / self.tail_tau)
        return np.where(t < self.peak_width, self.amplitude, tail)


@dataclass(frozen=True, eq=False)
class Tabulated(Waveform):
    """Straight lines between points (times s, volts V); 0 V outside [times[0], times[-1]).

    Repeat a time to draw a vertical edge: ``(0, 0), (0, 1), (1e-4, 1), (1e-4, 0)`` is a 1 V,
    100 µs rectangle.
    """

    times: np.ndarray
    volts: np.ndarray
    source: str = ""

    def __post_init__(self) -> None:
        t = np.asarray(self.times, dtype=float)
        v = np.asarray(self.volts, dtype=float)
        where = self.source or "waveform"
        if t.ndim != 1 or t.shape != v.shape or t.size < 2:
            raise InvalidParameter(where, "needs at least two (t, V) points")
        if not (np.all(np.isfinite(t)) and np.all(np.isfinite(v))):
            raise InvalidParameter(where, "every time and voltage must be a finite number")
        if np.any(np.diff(t) < 0):
            raise InvalidParameter(where, "times must not decrease (repeat a time for a vertical edge)")
        if t[-1] <= t[0]:
            raise InvalidParameter(where, "the last time must be later than the first")
        object.__setattr__(self, "times", t)
        object.__setattr__(self, "volts", v)

    start = property(lambda self: float(self.times[0]))
    end = property(lambda self: float(self.times[-1]))

    def __str__(self) -> str:
        """The file it was read from (how a run file records the choice), else its repr."""
        return self.source or repr(self)

    def _values(self, t: np.ndarray) -> np.ndarray:
        return np.interp(t, self.times, self.volts)

    @classmethod
    def from_csv(cls, path: str | Path) -> Tabulated:
        """Read a CSV file of ``t [s], V [V]`` rows; lines starting with ``#`` and a header row of
        non-numbers are skipped."""
        path = Path(path)
        if not path.is_file():
            raise InvalidParameter("waveform", f"{str(path)!r} is not a file")
        try:
            text = path.read_text(encoding="utf-8-sig")   # a spreadsheet's byte-order mark is no cell
        except UnicodeDecodeError:
            raise InvalidParameter("waveform", f"{path.name}: cannot be read as text (UTF-8); give a CSV file "
                                               f"of t [s], V [V] rows") from None
        rows = []
        for n, row in enumerate(csv.reader(text.splitlines()), start=1):
            cells = [c.strip() for c in row]
            if not cells or not any(cells) or cells[0].startswith("#"):
                continue
            try:
                rows.append((float(cells[0]), float(cells[1])))
            except (ValueError, IndexError):
                if rows:   # only a header may be non-numeric
                    raise InvalidParameter("waveform", f"{path.name} line {n}: {row!r} is not 't, V'") from None
        data = np.array(rows, dtype=float).reshape(-1, 2)
        return cls(data[:, 0], data[:, 1], source=path.name)


def discretize(waveform: Waveform, step: float, *, start: float | None = None, end: float | None = None,
               label: str = "spike", tolerance: float = 1e-6) -> tuple[Segment, ...]:
    """Piecewise-constant segments of ``waveform`` on a grid of ``step`` s anchored at t = 0.

    The cells cover [start, end) (default: the support, widened to whole cells). Each cell holds
    the waveform's mean over it; neighbours within ``tolerance`` V are merged, and the merged
    segment holds their duration-weighted mean. Segments at 0 V are labelled ``idle``.
    """
    step = _positive("time_step", step)
    first = np.floor((waveform.start if start is None else start) / step + 1e-9)
    last = np.ceil((waveform.end if end is None else end) / step - 1e-9)
    n = int(max(last - first, 1))
    edges = (first + np.arange(n + 1)) * step
    levels = waveform.cell_means(edges)
    groups: list[list[float]] = []          # [sum of levels, cells]
    for level in levels:
        if groups and abs(level - groups[-1][0] / groups[-1][1]) <= tolerance:
            groups[-1][0] += level
            groups[-1][1] += 1
        else:
            groups.append([level, 1])
    segments = []
    for total, cells in groups:
        level = total / cells
        level = 0.0 if abs(level) <= tolerance else float(level)
        segments.append(Segment(level, cells * step, label if level else "idle"))
    return tuple(segments)


SHAPES = ("rectangular", "triangular", "biphasic", "exponential")
