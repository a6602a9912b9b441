r"""The measurement circuit: a voltage source with a current limit, a series resistance, the device.

    V_source ──[R_s]──┬── device ── ground          I = I_dev(V_dev),  V_dev = V_source − I·R_s

The source regulates V_source unless |I| would exceed the limit I_lim; then it becomes a current
source at ±I_lim (compliance) and the device voltage drops to what that current needs, as on a
real SMU. While the state changes within a segment (a SET pulse under compliance, a write
through R_s) the operating point is re-solved on ``substeps`` sub-intervals; without R_s and out
of compliance the segment is integrated in one exact step.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq


@dataclass(frozen=True)
class SegmentResult:
    """What the source saw over one held segment."""

    current: float          # A, mean current through the device
    source_voltage: float   # V, mean voltage at the source terminals (the readback)
    device_voltage: float   # V, mean voltage across the device
    energy: float           # J, ∫ V_dev·I dt delivered to the device
    in_compliance: bool     # the current limit was reached during the segment


class SourceCircuit:
    """One device (index ``device`` of a vectorized model) on one source channel."""

    def __init__(self, model, series_resistance: float = 0.0, device: int = 0, substeps: int = 32) -> None:
        self.model = model
        self.series_resistance = float(series_resistance)
        self.device = device
        self.substeps = substeps

    def operating_point(self, v_source: float, i_limit: float) -> tuple[float, float, bool]:
        """(V_dev, I, in compliance) for the present device state."""
        def current(v_dev: float) -> float:
            return float(self.model.current(v_dev)[self.device])

        if self.series_resistance > 0 and v_source != 0:
            v_dev = brentq(lambda v: v + current(v) * self.series_resistance - v_source,
                           min(0.0, v_source), max(0.0, v_source), xtol=1e-12)
        else:
            v_dev = v_source
        i = current(v_dev)
        if abs(i) <= i_limit:
            return v_dev, i, False
        target = np.sign(i) * i_limit
        v_dev = brentq(lambda v: current(v) - target, min(0.0, v_dev), max(0.0, v_dev), xtol=1e-12)
        return v_dev, target, True

    def hold(self, v_source: float, i_limit: float, duration: float) -> SegmentResult:
        """Hold the source at ``v_source`` (V) under ``i_limit`` (A) for ``duration`` (s)."""
        if duration <= 0:
            v_dev, i, comp = self.operating_point(v_source, i_limit)
            return SegmentResult(i, v_source if not comp else v_dev + i * self.series_resistance, v_dev, 0.0, comp)
        v_dev, i0, comp = self.operating_point(v_source, i_limit)
        if self.series_resistance == 0 and not comp:
            saved = self.model.state()
            i_mean = float(self.model.evolve(self._voltages(v_dev), duration)[self.device])
            _, i_end, comp_end = self.operating_point(v_source, i_limit)
            if abs(i_mean) <= i_limit and not comp_end:
                return SegmentResult(i_mean, v_source, v_dev, v_dev * i_mean * duration, False)
            self.model.set_state(saved)  # the limit was reached inside the segment: re-solve finely
        dt = duration / self.substeps
        charge = energy = v_src_sum = v_dev_sum = 0.0
        any_comp = False
        for _ in range(self.substeps):
            v_dev, _, comp = self.operating_point(v_source, i_limit)
            i_step = float(self.model.evolve(self._voltages(v_dev), dt)[self.device])
            if comp:
                i_step = float(np.sign(i_step) * min(abs(i_step), i_limit))
            any_comp |= comp
            charge += i_step * dt
            energy += v_dev * i_step * dt
            v_dev_sum += v_dev * dt
            v_src_sum += (v_dev + i_step * self.series_resistance if comp else v_source) * dt
        return SegmentResult(charge / duration, v_src_sum / duration, v_dev_sum / duration, energy, any_comp)

    def _voltages(self, v_dev: float) -> np.ndarray:
        """Device voltages for the whole model array: ``v_dev`` on our device, 0 V elsewhere."""
        v = np.zeros(self.model.n)
        v[self.device] = v_dev
        return v
