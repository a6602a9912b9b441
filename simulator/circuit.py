"""The measurement circuit seen by one source channel: one device of a model array.

    V_source ──[R_s]──┬── device ── ground

The source regulates V_source unless |I| would exceed its limit I_lim; it then becomes a current
source at ±I_lim (compliance) and the device voltage drops to what that current needs, as on a
real SMU. The model solves this together with its state (see ``models/base.py``); the other
devices of the array sit at 0 V.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labsuite.simulator.models.base import DeviceModel


@dataclass(frozen=True)
class SegmentResult:
    """What the source saw over one held segment."""

    current: float          # A, mean current through the device
    source_voltage: float   # V, mean voltage at the source terminals (the readback)
    device_voltage: float   # V, mean voltage across the device
    energy: float           # J, ∫ V_dev·I dt delivered to the device
    in_compliance: bool     # the current limit was reached during the segment


class SourceCircuit:
    """Device ``device`` of ``model`` on one source channel, behind ``series_resistance`` Ω."""

    def __init__(self, model: DeviceModel, series_resistance: float = 0.0, device: int = 0) -> None:
        self.model = model
        self.series_resistance = float(series_resistance)
        self.device = device

    def hold(self, v_source: float, i_limit: float, duration: float) -> SegmentResult:
        """Hold the source at ``v_source`` (V) under ``i_limit`` (A) for ``duration`` (s)."""
        v = np.zeros(self.model.n)
        v[self.device] = v_source
        r = self.model.evolve(v, duration, r_series=self.series_resistance, i_limit=i_limit)
        d = self.device
        return SegmentResult(float(r.current[d]), float(r.source_voltage[d]), float(r.device_voltage[d]),
                             float(r.energy[d]), bool(r.limited[d]))
