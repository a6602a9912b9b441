"""The measurement circuit: one device of a model array, driven by one or more source ports.

    V_smu ──[R_smu]──┐
                     ├── device ── ground
    V_pg  ──[R_pg]───┘

Each instrument output reaches the device terminal through a :class:`SourcePort` with its own
series resistance (a pulse generator's 50 Ω, a cable, a protection resistor). An output that is
off is open: it carries no current (the 2450's HIMPedance off state, a generator's output relay).
With one port driving, the source regulates V unless |I| would exceed its limit I_lim; it then
becomes a current source at ±I_lim (compliance) and the device voltage drops to what that current
needs, as on a real SMU. The model solves this together with its state (see ``models/base.py``).
With several ports driving at once, the node sees their Thévenin equivalent
(V_th = Σ(V/R)/Σ(1/R), R_th = 1/Σ(1/R)); a current limit then applies only when its port drives
alone (an SMU's limit is on its own branch, which the simulator does not separate). The other
devices of the array sit at 0 V.

Time: the node belongs to the bench clock. Before an instrument changes its output it calls
:meth:`SourcePort.drive`, which first carries the device from the last change to "now" under the
outputs as they were; a running instrument sequence holds through :meth:`SourcePort.hold`, which
also advances the clock.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from labsuite.simulator.models.base import DeviceModel


@dataclass(frozen=True)
class SegmentResult:
    """What a source port saw over one held segment."""

    current: float          # A, mean current out of the port into the device node
    source_voltage: float   # V, mean voltage at the source terminals (the readback)
    device_voltage: float   # V, mean voltage across the device
    energy: float           # J, ∫ V_dev·I dt delivered to the device
    in_compliance: bool     # the current limit was reached during the segment


class SourceCircuit:
    """Device ``device`` of ``model`` on one source channel, behind ``series_resistance`` Ω (no clock)."""

    def __init__(self, model: DeviceModel, series_resistance: float = 0.0, device: int = 0) -> None:
        self.model = model
        self.series_resistance = float(series_resistance)
        self.device = device

    def hold(self, v_source: float, compliance: float, duration: float) -> SegmentResult:
        """Hold the source at ``v_source`` (V) under ``compliance`` (A) for ``duration`` (s)."""
        return hold_device(self.model, self.device, v_source, self.series_resistance, compliance, duration)


def hold_device(model: DeviceModel, device: int, v_source: float, series_resistance: float, compliance: float,
                duration: float) -> SegmentResult:
    """Evolve ``model`` with ``device`` driven at ``v_source`` V through ``series_resistance`` Ω under
    ``compliance`` A."""
    v = np.zeros(model.n)
    v[device] = v_source
    r = model.evolve(v, duration, series_resistance=series_resistance, compliance=compliance)
    return SegmentResult(float(r.current[device]), float(r.source_voltage[device]), float(r.device_voltage[device]),
                         float(r.energy[device]), bool(r.limited[device]))


class DeviceNode:
    """The device terminal shared by every port wired to it, on the bench ``clock``."""

    def __init__(self, model: DeviceModel, clock, device: int = 0) -> None:
        self.model = model
        self.clock = clock
        self.device = device
        self.ports: list[SourcePort] = []
        self.short_resistance: float | None = None   # Ω, set by a breakdown: the device is a short
        self.pacer = None   # a paced station's simulator.pacing.Pacer: holds wait for the wall clock
        self._synced = clock.now()
        model.cycles_by_drive = True   # one c2c draw per stretch of constant drive, however it is sliced

    def port(self, role: str, series_resistance: float = 0.0) -> SourcePort:
        """Wire a new source port (instrument output ``role``) to the device through ``series_resistance`` Ω."""
        port = SourcePort(self, role, float(series_resistance))
        self.ports.append(port)
        return port

    def breakdown(self, resistance: float = 10.0) -> None:
        """The device fails short: from now on it is a ``resistance`` Ω resistor (fault injection)."""
        self.sync()
        self.short_resistance = float(resistance)

    def sync(self) -> None:
        """Carry the device from the last change to now under the present outputs."""
        now = self.clock.now()
        if now > self._synced:
            self._apply_drive(now - self._synced)
        self._synced = max(now, self._synced)

    def hold(self, port: SourcePort, duration: float) -> SegmentResult:
        """Hold every output as it is for ``duration`` s of bench time; return what ``port`` saw.
        Paced, the hold first waits for the wall clock, and an abort meanwhile ends it there."""
        self.sync()
        played = duration if self.pacer is None else self.pacer.wait(duration)
        result = self._apply_drive(played, port)
        self.clock.advance(played)
        self._synced = self.clock.now()
        if self.pacer is not None:
            self.pacer.check()
        return result

    def _apply_drive(self, duration: float, seen_by: SourcePort | None = None) -> SegmentResult:
        driving = [p for p in self.ports if p.voltage is not None]
        if not driving:
            result = self.apply(0.0, 0.0, math.inf, duration)
            return _open(result) if seen_by is not None else result
        if len(driving) == 1:
            (p,) = driving
            result = self.apply(p.voltage, p.series_resistance, p.compliance, duration)
            return result if seen_by in (None, p) else _open(result)
        v_th, r_th = thevenin([(p.voltage, p.series_resistance) for p in driving])
        result = self.apply(v_th, r_th, math.inf, duration)
        if seen_by is None or seen_by.voltage is None:
            return _open(result)
        if seen_by.series_resistance == 0:
            # the stiff source supplies the device less what the other branches push into the node
            current = result.current - sum((p.voltage - seen_by.voltage) / p.series_resistance
                                           for p in driving if p is not seen_by and p.series_resistance > 0)
        else:
            current = (seen_by.voltage - result.device_voltage) / seen_by.series_resistance
        return SegmentResult(current, seen_by.voltage, result.device_voltage, result.energy, False)

    def apply(self, v_source: float, series_resistance: float, compliance: float, duration: float) -> SegmentResult:
        """The one place a voltage reaches the device: ``v_source`` V through ``series_resistance`` Ω under
        ``compliance`` A for ``duration`` s."""
        if self.short_resistance is None:
            return hold_device(self.model, self.device, v_source, series_resistance, compliance, duration)
        r = series_resistance + self.short_resistance
        current = v_source / r if r else math.inf
        limited = abs(current) > compliance
        if limited:
            current = math.copysign(compliance, current)
        v_device = current * self.short_resistance
        return SegmentResult(current, v_device + current * series_resistance if limited else v_source, v_device,
                             v_device * current * duration, limited)


class SourcePort:
    """One instrument output wired to a :class:`DeviceNode`: its level, current limit and on/off."""

    def __init__(self, node: DeviceNode, role: str, series_resistance: float) -> None:
        self.node = node
        self.role = role
        self.series_resistance = series_resistance
        self.voltage: float | None = None     # V, None while the output is off (open)
        self.compliance = math.inf         # A

    @property
    def model(self) -> DeviceModel:
        return self.node.model

    @property
    def clock(self):
        return self.node.clock

    def drive(self, voltage: float | None, compliance: float = math.inf) -> None:
        """From now on, source ``voltage`` V (None: output off) under ``compliance`` A."""
        if voltage != self.voltage or compliance != self.compliance:
            self.node.sync()
            self.voltage, self.compliance = voltage, compliance
            self.node.model.new_cycle()

    def hold(self, duration: float) -> SegmentResult:
        """Keep every output as it is for ``duration`` s of bench time; return what this port saw."""
        return self.node.hold(self, duration)

    def sync(self) -> None:
        """Carry the device to now (call before reading the device's state or changing an output)."""
        self.node.sync()


def thevenin(sources: list[tuple[float, float]]) -> tuple[float, float]:
    """(V_th, R_th) of parallel sources [(V, R_series Ω)]; a 0 Ω source sets the node alone."""
    stiff = [v for v, r in sources if r == 0]
    if stiff:
        return stiff[0], 0.0
    conductance = sum(1 / r for _, r in sources)
    return sum(v / r for v, r in sources) / conductance, 1 / conductance


def _open(result: SegmentResult) -> SegmentResult:
    """What an output that is off sees: no current, its terminal at the device voltage."""
    return SegmentResult(0.0, result.device_voltage, result.device_voltage, result.energy, False)
