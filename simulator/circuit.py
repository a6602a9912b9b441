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
also advances the clock. An instrument started by a trigger line while another one's sequence
runs (a generator's burst started by an SMU's trigger out) schedules its levels on its port
(:meth:`SourcePort.schedule`): whoever carries the node in time applies them at their times, so
the two play concurrently on the one clock.

A sequence whose drive does not depend on what it measures (a hardware-timed train) hands
the node its whole segment table instead (:meth:`SourcePort.hold_train`): when the port drives the
device alone and directly, with nothing scheduled, the model evolves over the whole train in one call
(:meth:`DeviceModel.evolve_train`), else segment by segment as above, with the same result.
"""
from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from labsuite.simulator.models.base import DeviceModel


MAX_DEFERRED = 100_000   # holds deferred before the node evaluates them unasked (bounds memory)


@dataclass(frozen=True)
class SegmentResult:
    """What a source port saw over one held segment."""

    current: float          # A, mean current out of the port into the device node
    source_voltage: float   # V, mean voltage at the source terminals (the readback)
    device_voltage: float   # V, mean voltage across the device
    energy: float           # J, ∫ V_dev·I dt delivered to the device
    in_compliance: bool     # the current limit was reached during the segment


@dataclass(frozen=True)
class TrainResult:
    """What a source port saw over each segment of a train (arrays of shape (segments,))."""

    current: np.ndarray          # A, mean current out of the port into the device node
    source_voltage: np.ndarray   # V, mean voltage at the source terminals
    device_voltage: np.ndarray   # V, mean voltage across the device
    energy: np.ndarray           # J, ∫ V_dev·I dt delivered to the device
    in_compliance: np.ndarray    # bool, the current limit was reached during the segment
    reading: np.ndarray          # A, mean of a read segment's noisy conversions (NaN where not read)
    time: np.ndarray             # s, bench time at the end of each segment


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
        self._deferred: list[tuple[float | None, float, float, Callable[[SegmentResult], None]]] = []
        self._deferred_port: SourcePort | None = None
        self._deferred_start = 0.0   # s, bench time of the first deferred hold
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
        """Carry the device from the last change to now under the present outputs (holds deferred
        by :meth:`hold_later` first)."""
        self.flush()
        now = self.clock.now()
        if now > self._synced:
            self._carry(now - self._synced)
        self._synced = max(now, self._synced)

    def hold(self, port: SourcePort, duration: float) -> SegmentResult:
        """Hold every output as it is (scheduled levels at their times) for ``duration`` s of bench
        time; return what ``port`` saw. Paced, the hold first waits for the wall clock, and an abort
        meanwhile ends it there."""
        self.sync()
        played = duration if self.pacer is None else self.pacer.wait(duration)
        result = self._carry(played, port)
        self.clock.advance(played)
        self._synced = self.clock.now()
        if self.pacer is not None:
            self.pacer.check()
        return result

    def _carry(self, duration: float, seen_by: SourcePort | None = None) -> SegmentResult:
        """Evolve the device for ``duration`` s from the last sync, applying each port's scheduled
        levels at their times; what ``seen_by`` saw over the whole stretch (time-weighted means)."""
        start, done, pieces = self._synced, 0.0, []
        while True:
            due = [(p.scheduled[0][0], i, p) for i, p in enumerate(self.ports)
                   if p.scheduled and p.scheduled[0][0] < start + duration]
            if not due:
                break
            at, _, port = min(due)
            if at > start + done:
                pieces.append((at - start - done, self._apply_drive(at - start - done, seen_by)))
                done = at - start
            port.voltage = port.scheduled.popleft()[1]
            self.model.new_cycle()
        if duration > done or not pieces:
            pieces.append((duration - done, self._apply_drive(duration - done, seen_by)))
        return _combined(pieces)

    def hold_later(self, port: SourcePort, duration: float, then: Callable[[SegmentResult], None]) -> None:
        """Hold every output as it is for ``duration`` s of bench time, and call ``then`` with what
        ``port`` saw once the device is evaluated: at the next :meth:`flush`, which any :meth:`sync`
        does (a reading, an output change of another port) and ``MAX_DEFERRED`` holds do, over all
        the holds deferred since in one call (:meth:`hold_train`). Meanwhile ``port`` may change its
        drive (:meth:`SourcePort.drive`). On a paced station, or while levels are scheduled, the hold
        is played at once (scheduling flushes what was deferred, so a deferred stretch never holds a
        scheduled change)."""
        if self.pacer is not None or any(p.scheduled for p in self.ports):
            then(self.hold(port, duration))
            return
        if self._deferred and self._deferred_port is not port:
            self.flush()
        if not self._deferred:
            self.sync()
            self._deferred_port, self._deferred_start = port, self.clock.now()
        self._deferred.append((port.voltage, port.compliance, duration, then))
        self.clock.advance(duration)
        self._synced = self.clock.now()
        if len(self._deferred) == MAX_DEFERRED:
            self.flush()

    def deferring(self, port: SourcePort) -> bool:
        """``port`` has holds waiting for :meth:`flush`."""
        return bool(self._deferred) and self._deferred_port is port

    def flush(self) -> None:
        """Evaluate the holds deferred by :meth:`hold_later` and hand each its result, in order."""
        if not self._deferred:
            return
        deferred, port = self._deferred, self._deferred_port
        self._deferred, self._deferred_port = [], None
        voltages, compliances, durations, thens = zip(*deferred)
        latest = port.voltage, port.compliance
        port.voltage, port.compliance = voltages[0], compliances[0]   # the drive the device has seen so far
        seen = self._evaluate(port, voltages, compliances, durations, [0] * len(durations), self._deferred_start)
        port.drive(*latest)
        for then, *result in zip(thens, seen.current.tolist(), seen.source_voltage.tolist(),
                                 seen.device_voltage.tolist(), seen.energy.tolist(), seen.in_compliance.tolist()):
            then(SegmentResult(*result))

    def hold_train(self, port: SourcePort, voltages: list[float | None], compliances: list[float],
                   durations: list[float], reads: list[int], check: Callable[[], None] | None = None) -> TrainResult:
        """Drive ``port`` at ``voltages[k]`` V (None: off) under ``compliances[k]`` A for ``durations[k]`` s,
        segment after segment, the other outputs as they are; take ``reads[k]`` noisy conversions of the
        current at the end of segment k. The same as :meth:`SourcePort.drive` and :meth:`hold` per
        segment; evaluated in one model call while ``port`` drives the device alone through 0 Ω, off
        a paced station.
        ``check`` is called before each segment held one by one (a budget, an abort)."""
        if len(durations):
            port.drive(voltages[0], compliances[0])
        self.sync()
        return self._evaluate(port, voltages, compliances, durations, reads, self.clock.now(), check, advance=True)

    def _evaluate(self, port: SourcePort, voltages, compliances, durations, reads, start: float,
                  check: Callable[[], None] | None = None, advance: bool = False) -> TrainResult:
        """The device over a segment table from bench time ``start`` (s), ``port`` at the first segment's
        drive already; ``advance``: the clock follows the segments (else it is past them already)."""
        m = len(durations)
        out = {name: np.empty(m) for name in ("current", "source_voltage", "device_voltage", "energy")}
        limited, reading = np.zeros(m, dtype=bool), np.full(m, np.nan)
        times = np.cumsum([start, *durations])[1:]
        done = 0
        if m and self.pacer is None and self._alone(port):
            levels = np.array(voltages, dtype=float)   # an open output (None) is NaN
            off = np.isnan(levels)
            v = np.where(off, 0.0, levels)
            set_limits = np.asarray(compliances, dtype=float)
            # a new cycle wherever the output's drive changes (port.drive), the first goes on as it is
            cycle_starts = np.concatenate([[False], (off[1:] != off[:-1]) | (v[1:] != v[:-1])
                                           | (set_limits[1:] != set_limits[:-1])])
            evolution = self.model.evolve_train(v, np.where(off, math.inf, set_limits),
                                                np.asarray(durations, dtype=float), np.asarray(reads), cycle_starts)
            if evolution is not None and evolution.done:
                done = evolution.done
                out["current"][:done] = np.where(off[:done], 0.0, evolution.current)
                out["source_voltage"][:done] = out["device_voltage"][:done] = v[:done]
                out["energy"][:done] = v[:done] * evolution.current * durations[:done]
                reading[:done] = evolution.reading
                port.voltage, port.compliance = voltages[done - 1], compliances[done - 1]
                if advance:
                    self.clock.advance(times[done - 1] - start)
                    self._synced = self.clock.now()
        for k in range(done, m):
            if check is not None:
                check()
            port.drive(voltages[k], compliances[k])
            # a train's hold: scheduled levels at their times, and paced, the wall clock waited for
            result = self.hold(port, durations[k]) if advance else self._apply_drive(durations[k], port)
            for name in ("current", "source_voltage", "device_voltage", "energy"):
                out[name][k] = getattr(result, name)
            limited[k] = result.in_compliance
            if reads[k]:
                reading[k] = float(np.mean(self.model.add_read_noise(np.full(reads[k], result.current))))
        return TrainResult(**out, in_compliance=limited, reading=reading, time=times)

    def _alone(self, port: SourcePort) -> bool:
        """``port`` is the only output that can drive the device, through 0 Ω, nothing is scheduled to
        drive it, and the device is intact."""
        return (port.series_resistance == 0 and self.short_resistance is None
                and all(p.voltage is None and not p.scheduled for p in self.ports if p is not port))

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
        self.scheduled: deque[tuple[float, float | None]] = deque()   # (bench time s, V) changes to come

    @property
    def model(self) -> DeviceModel:
        return self.node.model

    @property
    def clock(self):
        return self.node.clock

    def drive(self, voltage: float | None, compliance: float = math.inf) -> None:
        """From now on, source ``voltage`` V (None: output off) under ``compliance`` A; a change
        ends what the port had scheduled."""
        if self.node.deferring(self):   # the deferred holds keep each its own drive
            self.voltage, self.compliance = voltage, compliance
        elif voltage != self.voltage or compliance != self.compliance:
            self.node.sync()
            self.voltage, self.compliance = voltage, compliance
            self.scheduled.clear()
            self.node.model.new_cycle()

    def schedule(self, segments: Iterable[tuple[float, float | None]]) -> None:
        """From now on, play ``segments`` (duration s, V; None: off) without current limit, at their
        times as the node is carried through them (by any port's hold); the last level stays."""
        self.node.sync()
        t = self.clock.now()
        for duration, level in segments:
            self.scheduled.append((t, level))
            t += duration

    @property
    def busy_until(self) -> float:
        """Bench time (s) of the last level change this port has scheduled (now if none)."""
        return self.scheduled[-1][0] if self.scheduled else self.clock.now()

    def hold(self, duration: float) -> SegmentResult:
        """Keep every output as it is for ``duration`` s of bench time; return what this port saw."""
        return self.node.hold(self, duration)

    def hold_later(self, duration: float, then: Callable[[SegmentResult], None]) -> None:
        """Hold as :meth:`hold` does; ``then`` gets the result when the node evaluates it (see
        :meth:`DeviceNode.hold_later`)."""
        self.node.hold_later(self, duration, then)

    def hold_train(self, voltages: list[float | None], compliances: list[float], durations: list[float],
                   reads: list[int], check: Callable[[], None] | None = None) -> TrainResult:
        """Play a segment table on this output (see :meth:`DeviceNode.hold_train`)."""
        return self.node.hold_train(self, voltages, compliances, durations, reads, check)

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


def _combined(pieces: list[tuple[float, SegmentResult]]) -> SegmentResult:
    """One result for consecutive stretches [(duration s, result)]: time-weighted means, energy
    summed, in compliance if any stretch was."""
    if len(pieces) == 1:
        return pieces[0][1]
    total = sum(d for d, _ in pieces) or 1.0

    def mean(field: str) -> float:
        return sum(d * getattr(r, field) for d, r in pieces) / total
    return SegmentResult(mean("current"), mean("source_voltage"), mean("device_voltage"),
                         sum(r.energy for _, r in pieces), any(r.in_compliance for _, r in pieces))


def _open(result: SegmentResult) -> SegmentResult:
    """What an output that is off sees: no current, its terminal at the device voltage."""
    return SegmentResult(0.0, result.device_voltage, result.device_voltage, result.energy, False)
