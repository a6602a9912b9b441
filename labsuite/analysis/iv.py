r"""I–V hysteresis loops: branches, SET/RESET voltages, ON/OFF ratio, loop area.

A bipolar sweep cycle is four legs: positive outgoing (0 → V_max), positive returning
(V_max → 0), negative outgoing (0 → V_min), negative returning (V_min → 0), in either order of
polarity. The legs are found from the *programmed* levels (:func:`split_cycle`): a level's
polarity is its sign (a 0 V level belongs to the leg it ends); within one polarity the outgoing
leg runs up to the first level of largest |V|.

Definitions (all per cycle; conductances G are chord conductances I/V, or, in a pulsed sweep, the
conductance read at a small voltage after each pulse):

- **SET voltage**: on the positive outgoing leg, the programmed level of the step across which G
  rises by the largest factor, G_k/G_{k−1}; reported only if that factor is ≥ ``min_jump``
  (default 2), else NaN (no abrupt SET). Abrupt filamentary SET makes G jump by orders of
  magnitude in one step, whereas the smooth sinh/ohmic rise of an unswitched I–V changes G by a
  few per cent per step.
- **RESET voltage**: on the negative outgoing leg, the level of the step across which G falls by
  the largest factor G_{k−1}/G_k, reported only if the negative half left the device at least
  ``min_jump`` times less conductive: G at the half's first step over G at its last non-zero step
  (in a DC sweep both are at the same |V| = one step, so the I–V nonlinearity cancels), else NaN.
  In a gradual (field-driven) RESET the first moving step is the largest in log G, so this is
  the onset of the RESET; the maximum |I|
  on the leg (the other common definition) is reported as ``i_reset`` with its level.
- **ON/OFF ratio at V_read**: |I| at V_read interpolated (in level) on the outgoing and on the
  returning leg of the polarity of V_read; ON = the larger, OFF = the smaller; ratio = ON/OFF,
  R_on = V_read/I_on, R_off = V_read/I_off.
- **Loop area**: ∮ I dV over each polarity's lobe (trapezoid rule on the measured voltage, closed
  at V = 0 where each lobe starts and ends), signed: by Green's theorem ∮ I dV = −(enclosed area)
  for a lobe traversed counter-clockwise in the (V, I) plane (V across, I up) and + for a
  clockwise one. A bipolar memristor that SETs at positive V (low G going out, high G coming
  back) runs its positive lobe counter-clockwise (A₊ < 0); the point reflection (V, I) → (−V, −I)
  maps it onto the negative lobe traversed in reverse, so that lobe runs clockwise, A₋ > 0; the two nearly
  cancel in the signed total, so the enclosed area is |A₊| + |A₋| (W, i.e. V·A). An inverted
  (clockwise) positive lobe gives A₊ > 0. For a memristor driven periodically it shrinks
  towards zero as the drive gets faster (Chua, Appl. Phys. A 102, 765, 2011; Adhikari et al.,
  IEEE TCAS-I 60, 3008, 2013).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CycleLegs:
    """Index arrays (into the cycle's samples) of the four legs, in time order."""

    positive_out: np.ndarray
    positive_back: np.ndarray
    negative_out: np.ndarray
    negative_back: np.ndarray


@dataclass(frozen=True)
class LoopFigures:
    """Figures of one cycle (NaN where not defined)."""

    v_set: float          # V
    v_reset: float        # V
    v_reset_peak: float   # V, level of the largest |I| on the negative outgoing leg
    i_reset: float        # A, that largest |I|
    on_off: float         # –
    r_on: float           # Ω
    r_off: float          # Ω
    area_positive: float  # W, signed ∮ I dV of the positive lobe
    area_negative: float  # W, signed ∮ I dV of the negative lobe

    @property
    def area(self) -> float:
        """Enclosed loop area |A₊| + |A₋|, W."""
        return float(np.nansum([abs(self.area_positive), abs(self.area_negative)]))


@dataclass(frozen=True)
class IVLoopAnalysis:
    """Per-cycle figures and their summaries (mean and cycle-to-cycle standard deviation)."""

    cycles: tuple[LoopFigures, ...]

    def _values(self, name: str) -> np.ndarray:
        return np.array([getattr(c, name) for c in self.cycles], float)

    def mean(self, name: str) -> float:
        v = self._values(name)
        return float(np.nanmean(v)) if np.any(np.isfinite(v)) else float("nan")

    def std(self, name: str) -> float:
        """Cycle-to-cycle spread (sample standard deviation; NaN, so left out, for fewer than two cycles)."""
        v = self._values(name)
        v = v[np.isfinite(v)]
        return float(np.std(v, ddof=1)) if v.size > 1 else float("nan")   # one value has no spread

    def median(self, name: str) -> float:
        v = self._values(name)
        return float(np.nanmedian(v)) if np.any(np.isfinite(v)) else float("nan")


def split_cycle(levels: np.ndarray) -> CycleLegs:
    """The four legs of one cycle from its programmed levels (V), see the module docstring."""
    levels = np.asarray(levels, float)
    polarity = np.sign(levels)
    for k in range(levels.size):             # a 0 V level belongs to the leg it ends
        if polarity[k] == 0:
            polarity[k] = polarity[k - 1] if k > 0 else 0
    legs = {}
    for sign, name in ((1, "positive"), (-1, "negative")):
        idx = np.nonzero(polarity == sign)[0]
        if idx.size == 0:
            legs[f"{name}_out"] = legs[f"{name}_back"] = idx
            continue
        turn = int(np.argmax(np.abs(levels[idx])))
        legs[f"{name}_out"], legs[f"{name}_back"] = idx[:turn + 1], idx[turn + 1:]
    return CycleLegs(**legs)


def largest_step_ratio(levels: np.ndarray, conductance: np.ndarray, rising: bool) -> tuple[float, float]:
    """(level, factor) of the step with the largest G_k/G_{k−1} (``rising``) or G_{k−1}/G_k.

    Steps where either G is not positive and finite are skipped; (NaN, NaN) if none is left.
    """
    g = np.asarray(conductance, float)
    if g.size < 2:
        return float("nan"), float("nan")
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = g[1:] / g[:-1] if rising else g[:-1] / g[1:]
    ok = np.isfinite(ratio) & (g[1:] > 0) & (g[:-1] > 0)
    if not np.any(ok):
        return float("nan"), float("nan")
    k = int(np.argmax(np.where(ok, ratio, -np.inf)))
    return float(np.asarray(levels, float)[k + 1]), float(ratio[k])


def on_off_at(levels_out: np.ndarray, current_out: np.ndarray, levels_back: np.ndarray,
              current_back: np.ndarray, v_read: float) -> tuple[float, float, float]:
    """(ON/OFF, R_on, R_off) from |I| interpolated at ``v_read`` on an outgoing and a returning leg."""
    def at(levels, current):
        lv, cur = np.abs(np.asarray(levels, float)), np.abs(np.asarray(current, float))
        order = np.argsort(lv, kind="stable")
        lv, cur = lv[order], cur[order]
        if lv.size == 0 or not lv[0] <= abs(v_read) <= lv[-1]:
            return float("nan")
        return float(np.interp(abs(v_read), lv, cur))
    i_a, i_b = at(levels_out, current_out), at(levels_back, current_back)
    if not (np.isfinite(i_a) and np.isfinite(i_b)) or min(i_a, i_b) <= 0:
        return float("nan"), float("nan"), float("nan")
    i_on, i_off = max(i_a, i_b), min(i_a, i_b)
    return i_on / i_off, abs(v_read) / i_on, abs(v_read) / i_off


def loop_area(voltage: np.ndarray, current: np.ndarray) -> float:
    """Signed ∮ I dV (W) of a lobe given in time order, closed from its last point to its first."""
    v = np.asarray(voltage, float)
    i = np.asarray(current, float)
    if v.size < 2:
        return float("nan")
    v, i = np.append(v, v[0]), np.append(i, i[0])
    return float(np.sum(0.5 * (i[1:] + i[:-1]) * np.diff(v)))


def analyze_cycle(levels: np.ndarray, voltage: np.ndarray, current: np.ndarray, v_read: float, *,
                  conductance: np.ndarray | None = None, min_jump: float = 2.0) -> LoopFigures:
    """Figures of one cycle.

    ``levels`` (V) are the programmed source levels, ``voltage`` (V) and ``current`` (A) what was
    measured at them. ``conductance`` (S): the conductance that tells the state at each step; by
    default the chord conductance |I/V| (a DC sweep); for a pulsed sweep, the read after each
    pulse. ON/OFF uses ``current`` at ``v_read`` (DC) — for a pulsed sweep pass ``v_read`` = NaN
    and compute it from the reads instead.
    """
    levels = np.asarray(levels, float)
    voltage = np.asarray(voltage, float)
    current = np.asarray(current, float)
    if conductance is None:
        with np.errstate(divide="ignore", invalid="ignore"):
            conductance = np.where(np.abs(voltage) > 0, np.abs(current / voltage), np.nan)
    g = np.asarray(conductance, float)
    legs = split_cycle(levels)
    pos, neg = legs.positive_out, legs.negative_out
    v_set, jump = largest_step_ratio(levels[pos], g[pos], rising=True)
    if not jump >= min_jump:
        v_set = float("nan")
    v_reset, _ = largest_step_ratio(levels[neg], g[neg], rising=False)
    negative = np.concatenate([neg, legs.negative_back])
    g_neg = g[negative][np.isfinite(g[negative]) & (g[negative] > 0)]
    if g_neg.size < 2 or not g_neg[0] >= min_jump * g_neg[-1]:
        v_reset = float("nan")          # the negative half did not leave the device less conductive
    if neg.size:
        k = int(np.argmax(np.abs(current[neg])))
        v_reset_peak, i_reset = float(levels[neg][k]), float(abs(current[neg][k]))
    else:
        v_reset_peak = i_reset = float("nan")
    on_off = r_on = r_off = float("nan")
    if np.isfinite(v_read):
        out, back = (legs.positive_out, legs.positive_back) if v_read > 0 else (legs.negative_out, legs.negative_back)
        on_off, r_on, r_off = on_off_at(levels[out], current[out], levels[back], current[back], v_read)
    areas = []
    for lobe in (np.concatenate([legs.positive_out, legs.positive_back]),
                 np.concatenate([legs.negative_out, legs.negative_back])):
        # each lobe starts at V = 0 (the end of the previous leg): prepend that point
        areas.append(loop_area(np.concatenate([[0.0], voltage[lobe]]), np.concatenate([[0.0], current[lobe]]))
                     if lobe.size else float("nan"))
    return LoopFigures(v_set=v_set, v_reset=v_reset, v_reset_peak=v_reset_peak, i_reset=i_reset, on_off=on_off,
                       r_on=r_on, r_off=r_off, area_positive=areas[0], area_negative=areas[1])


def analyze_loops(cycle: np.ndarray, levels: np.ndarray, voltage: np.ndarray, current: np.ndarray, v_read: float,
                  *, conductance: np.ndarray | None = None, min_jump: float = 2.0) -> IVLoopAnalysis:
    """:func:`analyze_cycle` on every cycle (``cycle`` numbers each sample's cycle)."""
    cycle = np.asarray(cycle)
    out = []
    for c in np.unique(cycle):
        sel = cycle == c
        out.append(analyze_cycle(np.asarray(levels)[sel], np.asarray(voltage)[sel], np.asarray(current)[sel], v_read,
                                 conductance=None if conductance is None else np.asarray(conductance)[sel],
                                 min_jump=min_jump))
    return IVLoopAnalysis(tuple(out))
