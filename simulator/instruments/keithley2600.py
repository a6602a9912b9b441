"""Simulated Keithley Series 2600B System SourceMeter (the models of ``labsuite.core.datasheets``), TSP command set.

Follows the Series 2600B Reference Manual (2600BS-901-01 Rev. F, 2021): section 2 "Output-off
states", section 3 "Reading buffers", section 5 "Theory of operation" (limits, operating
boundaries), section 9 "TSP command reference", section 11 "Common commands"; and "Sweep
operation", "Triggering" (SMU event detectors, timers) and "Using timers to perform pulse mode
sweeps" (section 3 of Rev. B). The Lua side (print, error queue, scripts, common commands) is
:mod:`.tsp`. What is simulated, per SMU channel (``smua``; ``smub`` on the
two-channel models):

- ``smuX.source``: ``func`` (voltage sourcing; the current source is not simulated and turning
  the output on with ``OUTPUT_DCAMPS`` is refused with -221), ``levelv``, ``limiti``/``limitv``
  (compliance ranges and ``reset()`` defaults of section 9 ``smuX.source.limitY``, per model in
  ``labsuite.core.datasheets``: 2601B/2602B 10 nA–3 A, default 1 A; 2636B 100 pA–1.5 A, default
  100 mA), ``rangev``/``autorangev``,
  ``output``, ``compliance``, ``offmode`` (normal: 0 V under ``offlimiti``, 1 mA by default;
  high-Z: the output relay opens; zero), ``delay``;
- ``smuX.measure``: ``i()``, ``v()``, ``iv()``, ``r()``, ``p()`` (optionally into reading
  buffers), ``nplc`` (0.001–25 PLC, integration of 1 PLC = 1/``localnode.linefreq`` s on the
  bench clock), ``count`` (readings back to back: ``interval`` is accepted, not applied),
  ``delay``, ranges and ``autozero`` (accepted; they do not change the timing here);
- ``smuX.nvbuffer1``/``nvbuffer2`` and ``smuX.makebuffer(n)``: ``readings``, ``sourcevalues``,
  ``timestamps`` (s from the first reading), ``statuses`` (0x40: in compliance), ``n``,
  ``capacity``, ``appendmode``, ``collectsourcevalues``, ``collecttimestamps``, ``clear()``;
- the SMU trigger model ("Triggering"): arm layer (``arm.count``, ``arm.stimulus``,
  ``arm.set()``), then ``trigger.count`` times the source (``source.listv``/``linearv``,
  ``source.limiti``: the sweep limit, 0 = the normal limit), measure (``measure.i/v/iv(buf)``) and
  end pulse (``SOURCE_IDLE``/``SOURCE_HOLD``) actions, each behind an event detector that latches
  its ``stimulus`` event (0 bypasses it), then the end sweep action; the ``*_EVENT_ID`` events it
  generates; ``trigger.initiate()``, ``smuX.abort()``;
- ``trigger.timer[1..8]``: ``delay``/``delaylist`` (a list of several delays must average ≥ 50 µs,
  else 1102), ``count``, ``passthrough``, ``stimulus``,
  ``EVENT_ID``, ``reset()``; a timer triggered while it is still counting latches the trigger
  and starts again when it is done (a second one sets ``overrun``);
- ``digio.trigger[1..14]``: ``mode`` (the ``digio.TRIG_*`` constants), ``pulsewidth``,
  ``stimulus``, ``assert()``, ``clear()``, ``reset()``: line 1's asserting edge (rising with
  ``TRIG_RISINGM``, falling in the TTL-low modes) reaches what the station wired to it
  (``trigger_out``: a pulse generator's Trig In), at that moment of the script or sweep;
- ``delay()``, ``waitcomplete()``, ``reset()``, ``status.operation.sweeping.condition``,
  ``status.measurement.instrument.smuX.condition`` (VLMT, ILMT, ROF, BAV: QCoDeS reads it beside
  every reading), ``localnode`` (``model``, ``serialno``, ``linefreq``), ``display.trigger``,
  ``display.screen``, ``timer``, ``node[1]``.

Time is the bench's clock. The trigger model and timers are a discrete-event simulation run in
virtual time inside the command that starts them (``trigger.initiate()``, ``*TRG``, ``arm.set()``):
when it returns, the sweep is over, unless it waits for an event only the outside world can give
(the front-panel TRIG key, a bus trigger); then it continues when that comes. Between events the
outputs are held through the :class:`SourcePort`, so pulse widths and integrations are exact.
``smua`` drives the port; ``smub`` is unwired: it sources into an open circuit (no current).

Figures not found in the manual pages available and chosen here: nvbuffer capacity (60 000
readings), timer default delay (10 µs), the 1101/1102 codes for out-of-range settings, the
numeric values of constants other than ``OUTPUT_*``, ``AUTORANGE_*`` and ``OUTPUT_DC*``, the
2636B's largest level (202 V, by analogy with the 40.4 V of the 2602B's 40 V range), and a
reading's timestamp taken at the start of its integration. Infinite counts (``count = 0``) are
refused with -221: an endless sweep cannot finish inside a command in virtual time.
"""
from __future__ import annotations

import heapq
import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from labsuite.core.datasheets import KEITHLEY_2600B, Keithley2600BModel, variants
from labsuite.simulator.circuit import SegmentResult, SourcePort
from labsuite.simulator.instruments.tsp import (TspInstrument, TspObject, TspRuntimeError, attribute, integer, number,
                                                ranged)
from labsuite.simulator.run_control import Interrupted

LINE_FREQUENCY = 60.0          # Hz, localnode.linefreq at power-on
NOT_A_NUMBER = 9.91e37   # a resistance with no current: what the firmware prints for overflow
                         # (9.91000e+37 in a recorded 2600B session; no manual page seen)
NPLC_RANGE = (0.001, 25.0)     # smuX.measure.nplc
LIMIT_AUTO = 0                 # smuX.LIMIT_AUTO: a limit the instrument chooses
DELAY_AUTO = -1                # smuX.DELAY_AUTO: a delay the instrument chooses for the range
BUFFER_CAPACITY = 60_000       # readings per dedicated buffer (not confirmed, see the module docstring)
TIMER_DEFAULT_DELAY = 10e-6    # s (not confirmed)
DELAYLIST_MEAN_MIN = 50e-6     # s, a delay list of several delays averages at least this (trigger.timer[N].delaylist)
TIMERS = 8
DIGIO_LINES = 14               # digital I/O lines, each with an output trigger generator
DIGIO_PULSE_WIDTH = 10e-6      # s, digio.trigger[N].pulsewidth after a reset

# event IDs (the manual names them; their numbers are the instrument's own)
BUS_EVENT_ID = 1               # trigger.EVENT_ID: *TRG
DISPLAY_EVENT_ID = 2           # display.trigger.EVENT_ID: the front-panel TRIG key, never pressed here
TIMER_EVENT_BASE = 10          # trigger.timer[N].EVENT_ID = 10 + N
SMU_EVENT_BASE = {"a": 100, "b": 200}
SMU_EVENTS = ("ARMED", "SWEEPING", "SOURCE_COMPLETE", "MEASURE_COMPLETE", "PULSE_COMPLETE",
              "SWEEP_COMPLETE", "IDLE")


@dataclass
class Reading:
    value: float
    source: float        # V, the programmed level when the reading was taken
    time: float          # s on the bench clock, start of the integration
    status: int          # 0x40: the source was in compliance


def _flag(value: Any, what: str) -> bool:
    if isinstance(value, bool):
        return value
    return number(value, what) != 0


def _choice(instrument: Keithley2600, value: Any, allowed: tuple[int, ...], what: str) -> int | None:
    """An enumerated attribute value, or None after queueing 1102 (below the choices) or 1101."""
    code = number(value, what)
    if code in allowed:
        return int(code)
    if code < min(allowed):
        instrument.error(1102, "Parameter too small")
    else:
        instrument.error(1101, "Parameter too big")
    return None


def _flag_attribute(name: str, field: str, reply: Callable[[bool], Any] = int) -> property:
    """A 0/1 (or boolean) attribute held as a bool in ``field``; reads back as ``reply`` gives it."""
    return attribute(field, lambda obj, value: _flag(value, name), reply)


def _choice_attribute(name: str, *allowed: str, then: Callable[[Any], None] | None = None) -> property:
    """An enumerated attribute of an SMU's object, one of the :class:`Smu` constants named
    ``allowed``; another value queues 1101/1102 and is not kept."""
    def take(obj: Any, value: Any) -> int | None:
        return _choice(obj._instrument, value, tuple(getattr(Smu, c) for c in allowed), name)
    return attribute(f"_{name}", take, then=then)


def _limited_attribute(name: str, limits: Callable[[Keithley2600BModel], tuple[float, float]], *,
                       auto: float | None = None, keep: Callable[[float], Any] = float,
                       then: Callable[[Any], None] | None = None) -> property:
    """A number attribute of an SMU's object held in ``_<name>``, within ``limits(spec)`` or
    ``auto`` (:func:`tsp.ranged`); outside, the error is queued and the value not kept."""
    return ranged(f"_{name}", name, lambda obj: limits(obj._smu._spec), auto=auto, keep=keep, then=then)


def _refused_flag(name: str, refusal: str) -> property:
    """A 0/1 attribute that reads 0: setting it to 1 queues -221 with ``refusal`` (what is not
    simulated)."""
    def refuse(obj: Any, value: Any) -> None:
        if _flag(value, name):
            obj._instrument.error(-221, f"Settings conflict; {refusal}")
    return property(lambda obj: 0, refuse)


def _count_attribute(what: str) -> property:
    """A ``count`` held in ``_count``: a whole number from 1 to 2³¹ − 1 (0, endless, is refused);
    ``what`` names it in the errors."""
    return attribute("_count", lambda obj, value: obj._smu._counted(value, what, obj._count))


def _range_attribute(name: str, ranges: Callable[[Keithley2600BModel], tuple[float, ...]], autorange: str,
                     manual: Any) -> property:
    """A range attribute of an SMU's object: the smallest of ``ranges(spec)`` holding |value|,
    which sets the object's ``autorange`` field to ``manual`` (autoranging off)."""
    def take(obj: Any, value: Any) -> float | None:
        wanted, held = abs(number(value, name)), ranges(obj._smu._spec)
        return next(r for r in held if wanted <= r) if obj._smu._instrument.within(wanted, 0.0, held[-1]) else None
    return attribute(f"_{name}", take, then=lambda obj: setattr(obj, autorange, manual))


# --- reading buffers ----------------------------------------------------------------------
class BufferColumn(TspObject):
    """``bufferVar.readings`` / ``.sourcevalues`` / ``.timestamps`` / ``.statuses``."""

    def __init__(self, buffer: ReadingBuffer, field: str) -> None:
        self._buffer, self._field = buffer, field

    def _tsp_values(self) -> list[Any]:
        return [self._buffer._value(r, self._field) for r in self._buffer._readings]

    def _tsp_item(self, index: int) -> Any:
        readings = self._buffer._readings
        return self._buffer._value(readings[index - 1], self._field) if 1 <= index <= len(readings) else None

    @property
    def n(self) -> int:
        return len(self._buffer._readings)


class ReadingBuffer(TspObject):
    """A dedicated (``smuX.nvbufferY``) or dynamic (``smuX.makebuffer(n)``) reading buffer."""

    def __init__(self, instrument: Keithley2600, capacity: int) -> None:
        self._instrument = instrument
        self._capacity = capacity
        self._readings: list[Reading] = []
        self.readings = BufferColumn(self, "value")
        self.sourcevalues = BufferColumn(self, "source")
        self.timestamps = BufferColumn(self, "time")
        self.statuses = BufferColumn(self, "status")
        self.reset()

    def reset(self) -> None:
        self._appendmode = 0
        self._collect_sources = False
        self._collect_times = True

    def _value(self, reading: Reading, field: str) -> Any:
        if field == "time":
            return reading.time - self._readings[0].time if self._collect_times else None
        if field == "source":
            return reading.source if self._collect_sources else None
        return getattr(reading, field)

    def _tsp_item(self, index: int) -> Any:
        return self.readings._tsp_item(index)

    def _tsp_values(self) -> list[Any]:
        return self.readings._tsp_values()

    def _start(self) -> None:
        """A measurement operation begins: without append mode, old readings go."""
        if not self._appendmode:
            self._readings.clear()

    def _append(self, reading: Reading) -> None:
        if len(self._readings) < self._capacity:   # fill once: a full buffer keeps its readings
            self._readings.append(reading)

    @property
    def n(self) -> int:
        return len(self._readings)

    @property
    def capacity(self) -> int:
        return self._capacity

    @property
    def basetimestamp(self) -> float:
        return self._readings[0].time if self._readings else 0.0

    appendmode = _flag_attribute("appendmode", "_appendmode")

    collectsourcevalues = _flag_attribute("collectsourcevalues", "_collect_sources")

    collecttimestamps = _flag_attribute("collecttimestamps", "_collect_times")

    def clear(self) -> None:
        self._readings.clear()


# --- timers -------------------------------------------------------------------------------
class Timer(TspObject):
    """``trigger.timer[N]``: delays started by a stimulus event, each ending in an event."""

    def __init__(self, instrument: Keithley2600, index: int) -> None:
        self._instrument = instrument
        self._event = TIMER_EVENT_BASE + index
        self._generation = 0
        self.reset()

    def reset(self) -> None:
        self._count = 1
        self._delays = [TIMER_DEFAULT_DELAY]
        self._passthrough = False
        self._stimulus = 0
        self._cancel()

    def _cancel(self) -> None:
        self._position = 0         # next delay of the delay list
        self._remaining = 0        # events still to generate in this run
        self._busy = self._latched = self._overrun = False
        self._generation += 1   # firings scheduled by an older run are void

    @property
    def EVENT_ID(self) -> int:   # noqa: N802 (the manual's name)
        return self._event

    def _take_count(self, value: Any) -> int | None:
        """Events per stimulus: 1 to 1 048 575 (0, endless, is not simulated)."""
        count = number(value, "count")
        if count == 0:
            self._instrument.error(-221, "Settings conflict; an endless timer is not simulated")
            return None
        return int(count) if self._instrument.within(count, 1, 1_048_575) else None

    def _take_delay(self, value: Any) -> list[float] | None:
        """One delay, 1 ns to 100 000 s."""
        delay = number(value, "delay")
        return [delay] if self._instrument.within(delay, 1e-9, 100_000) else None

    def _take_delaylist(self, value: Any) -> list[float] | None:
        """Delays each 1 ns to 100 000 s; several must average at least ``DELAYLIST_MEAN_MIN``."""
        delays = [number(d, "delaylist") for d in self._instrument.values(value, "delaylist")]
        if not delays or (len(delays) > 1 and sum(delays) / len(delays) < DELAYLIST_MEAN_MIN * (1 - 1e-9)):
            self._instrument.error(1102, "Parameter too small")
            return None
        return delays if all(self._instrument.within(d, 1e-9, 100_000) for d in delays) else None

    def _rewind(self) -> None:
        """New delays: the next event takes the first."""
        self._position = 0

    count = attribute("_count", _take_count)

    delay = attribute("_delays", _take_delay, lambda delays: delays[0], then=_rewind)

    delaylist = attribute("_delays", _take_delaylist, list, then=_rewind)

    passthrough = _flag_attribute("passthrough", "_passthrough", bool)

    stimulus = integer("_stimulus", "stimulus")

    @property
    def overrun(self) -> bool:
        return self._overrun

    def clear(self) -> None:
        self._latched = self._overrun = False

    def wait(self, timeout: Any) -> bool:
        """Wait up to ``timeout`` s for this timer's event; True if it came."""
        seen = []
        self._instrument._watchers.append((self._event, seen))
        try:
            self._instrument.run_events(until=self._instrument.clock.now() + number(timeout, "timeout"),
                                        stop=lambda: bool(seen))
        finally:
            self._instrument._watchers.remove((self._event, seen))
        return bool(seen)

    # the timer at work
    def _trigger(self) -> None:
        if self._busy:
            self._overrun = self._overrun or self._latched
            self._latched = True
            return
        self._start()

    def _start(self) -> None:
        self._busy = True
        self._remaining = self._count
        generation = self._generation
        if self._passthrough:
            self._instrument.emit(self._event)
        if generation == self._generation:
            self._next()

    def _next(self) -> None:
        delay = self._delays[self._position % len(self._delays)]
        self._position += 1
        generation = self._generation
        self._instrument.schedule(self._instrument.clock.now() + delay,
                                  lambda: self._fire() if generation == self._generation else None)

    def _fire(self) -> None:
        self._remaining -= 1
        if self._remaining > 0:
            self._next()
        else:
            self._busy = False
        self._instrument.emit(self._event)
        if not self._busy and self._latched:
            self._latched = False
            self._start()


class TimerArray(TspObject):
    """``trigger.timer``: ``trigger.timer[1]`` … ``trigger.timer[8]``."""

    def __init__(self, timers: list[Timer]) -> None:
        self._timers = timers

    def _tsp_item(self, index: int) -> Timer | None:
        return self._timers[index - 1] if 1 <= index <= len(self._timers) else None


class TriggerSystem(TspObject):
    """``trigger``: the timers and the command interface (``*TRG``) trigger."""

    def __init__(self, instrument: Keithley2600) -> None:
        self._instrument = instrument
        self.timer = TimerArray(instrument.timers)
        self._bus = False

    @property
    def EVENT_ID(self) -> int:   # noqa: N802
        return BUS_EVENT_ID

    def clear(self) -> None:
        self._bus = False

    def wait(self, timeout: Any) -> bool:
        """Wait up to ``timeout`` s for a ``*TRG``; True if one was received."""
        if not self._bus:
            self._instrument.run_events(until=self._instrument.clock.now() + number(timeout, "timeout"))
        seen, self._bus = self._bus, False
        return seen


# --- digital I/O trigger lines ---------------------------------------------------------------
class DigioTrigger(TspObject):
    """``digio.trigger[N]``: a digital I/O line's output trigger generator. ``assert()`` (or its
    ``stimulus`` event) pulses the line as ``mode`` says: a TTL-high pulse with ``TRIG_RISINGM``
    (a rising edge first), a TTL-low one with the falling, either, rising-A and synchronous modes
    (and with ``TRIG_RISING``: the line's programmed state is high after a reset), none with
    ``TRIG_BYPASS`` or ``TRIG_SYNCHRONOUSA``. The asserting edge goes to whatever is wired to the
    line (``receivers``); the release after ``pulsewidth`` s is not passed on. Input detection is
    not simulated."""

    def __init__(self, instrument: Keithley2600) -> None:
        self._instrument = instrument
        self.receivers: list[Callable[[str], None]] = []   # f(edge): "POS" rising, "NEG" falling
        self.reset()

    def reset(self) -> None:
        self._mode = Digio.TRIG_BYPASS
        self._pulsewidth = DIGIO_PULSE_WIDTH
        self._stimulus = 0

    mode = attribute("_mode", lambda obj, value: _choice(obj._instrument, value, DIGIO_MODES, "mode"))
    def _take_width(self, value: Any) -> float | None:
        width = number(value, "pulsewidth")
        return width if self._instrument.within(width, 0.0, 100_000) else None

    pulsewidth = attribute("_pulsewidth", _take_width)   # s
    stimulus = attribute("_stimulus", lambda obj, value: int(number(value, "stimulus")))

    def clear(self) -> None:
        return None

    def _assert(self) -> None:
        """Pulse the line (``assert()``: a Python keyword, so the TSP name is set below)."""
        edge = DIGIO_EDGES.get(self._mode)
        if edge is not None:
            for receiver in self.receivers:
                receiver(edge)


setattr(DigioTrigger, "assert", DigioTrigger._assert)


class Digio(TspObject):
    """``digio``: the trigger lines ``digio.trigger[1]`` … ``[14]`` and their mode constants
    (numbers as Tektronix's TSP definitions give them)."""

    TRIG_BYPASS, TRIG_FALLING, TRIG_RISING, TRIG_EITHER = 0, 1, 2, 3
    TRIG_SYNCHRONOUSA, TRIG_SYNCHRONOUS, TRIG_SYNCHRONOUSM, TRIG_RISINGA, TRIG_RISINGM = 4, 5, 6, 7, 8

    def __init__(self, lines: list[DigioTrigger]) -> None:
        self._lines = lines
        self.trigger = DigioLines(lines)


class DigioLines(TspObject):
    """``digio.trigger``: indexed by line number."""

    def __init__(self, lines: list[DigioTrigger]) -> None:
        self._lines = lines

    def _tsp_item(self, index: int) -> DigioTrigger | None:
        return self._lines[index - 1] if 1 <= index <= len(self._lines) else None


DIGIO_MODES = tuple(range(9))
DIGIO_EDGES = {Digio.TRIG_RISINGM: "POS", Digio.TRIG_RISING: "NEG", Digio.TRIG_FALLING: "NEG",
               Digio.TRIG_EITHER: "NEG", Digio.TRIG_RISINGA: "NEG", Digio.TRIG_SYNCHRONOUS: "NEG",
               Digio.TRIG_SYNCHRONOUSM: "NEG"}


# --- SMU trigger model ----------------------------------------------------------------------
class Detector:
    """An event detector: latches its stimulus event; stimulus 0 bypasses it."""

    def __init__(self) -> None:
        self.stimulus = 0
        self.latched = self.overrun = False

    def latch(self, event: int) -> None:
        if self.stimulus and event == self.stimulus:
            self.overrun = self.overrun or self.latched
            self.latched = True

    def detect(self) -> bool:
        if not self.stimulus:
            return True
        if self.latched:
            self.latched = False
            return True
        return False


class SmuPart(TspObject):
    """An object of an SMU channel (``smuX.source``, ``smuX.measure``, ``smuX.trigger.*``): it
    reaches its channel as ``_smu`` and the instrument, which queues its errors, as ``_instrument``."""

    def __init__(self, smu: Smu) -> None:
        self._smu = smu
        self._instrument = smu._instrument


class _Layer(SmuPart):
    """Common parts of ``smuX.trigger.arm/source/measure/endpulse``: stimulus and ``set()``."""

    def __init__(self, smu: Smu) -> None:
        super().__init__(smu)
        self._detector = Detector()

    @property
    def stimulus(self) -> int:
        return self._detector.stimulus

    @stimulus.setter
    def stimulus(self, value: Any) -> None:
        self._detector.stimulus = int(number(value, "stimulus"))
        self._detector.latched = False

    def set(self) -> None:
        """Set the event detector to the detected state (a software trigger)."""
        self._detector.latched = True
        self._smu._instrument.let_run()


class TriggerArm(_Layer):
    def __init__(self, smu: Smu) -> None:
        super().__init__(smu)
        self._count = 1

    count = _count_attribute("arm.count")


class TriggerSource(_Layer):
    def __init__(self, smu: Smu) -> None:
        super().__init__(smu)
        self._action = 0
        self._points: list[float] = []
        self._function = Smu.OUTPUT_DCVOLTS
        self._limiti = 0.0
        self._limitv = 0.0

    action = _choice_attribute("action", "DISABLE", "ENABLE")

    limiti = _limited_attribute("limiti", lambda spec: (spec.limit_i[0], spec.pulse_current), auto=LIMIT_AUTO)

    limitv = _limited_attribute("limitv", lambda spec: spec.limit_v, auto=LIMIT_AUTO)

    def listv(self, values: Any) -> None:
        points = [number(v, "listv") for v in self._smu._instrument.values(values, "listv")]
        if self._smu._levels_allowed(points):
            self._points, self._function = points, Smu.OUTPUT_DCVOLTS

    def linearv(self, start: Any, stop: Any, points: Any) -> None:
        n = int(number(points, "points"))
        if self._smu._instrument.within(n, 2, BUFFER_CAPACITY):
            values = list(np.linspace(number(start, "start"), number(stop, "stop"), n))
            if self._smu._levels_allowed(values):
                self._points, self._function = values, Smu.OUTPUT_DCVOLTS

    def listi(self, values: Any) -> None:
        self._points = [number(v, "listi") for v in self._smu._instrument.values(values, "listi")]
        self._function = Smu.OUTPUT_DCAMPS


class TriggerMeasure(_Layer):
    def __init__(self, smu: Smu) -> None:
        super().__init__(smu)
        self._action = 0
        self._kinds: tuple[str, ...] = ("i",)
        self._buffers: tuple[ReadingBuffer, ...] = ()

    action = _choice_attribute("action", "DISABLE", "ENABLE")

    def _configure(self, kinds: tuple[str, ...], buffers: tuple[Any, ...]) -> None:
        self._kinds, self._buffers = kinds, tuple(self._smu._buffer(b) for b in buffers)

    def i(self, buffer: Any) -> None:
        self._configure(("i",), (buffer,))

    def v(self, buffer: Any) -> None:
        self._configure(("v",), (buffer,))

    def iv(self, ibuffer: Any, vbuffer: Any) -> None:
        self._configure(("i", "v"), (ibuffer, vbuffer))


class TriggerEndPulse(_Layer):
    def __init__(self, smu: Smu) -> None:
        super().__init__(smu)
        self._action = Smu.SOURCE_HOLD

    action = _choice_attribute("action", "SOURCE_IDLE", "SOURCE_HOLD")


class TriggerEndSweep(SmuPart):
    def __init__(self, smu: Smu) -> None:
        super().__init__(smu)
        self._action = Smu.SOURCE_IDLE

    action = _choice_attribute("action", "SOURCE_IDLE", "SOURCE_HOLD")


class SmuTrigger(TspObject):
    """``smuX.trigger``: the SMU's trigger model."""

    IDLE, ARM, SOURCE, MEASURE, MEASURING, ENDPULSE = range(6)

    def __init__(self, smu: Smu) -> None:
        self._smu = smu
        base = SMU_EVENT_BASE[smu._letter]
        self._events = {name: base + k for k, name in enumerate(SMU_EVENTS)}
        self.reset()

    def reset(self) -> None:
        self.arm = TriggerArm(self._smu)
        self.source = TriggerSource(self._smu)
        self.measure = TriggerMeasure(self._smu)
        self.endpulse = TriggerEndPulse(self._smu)
        self.endsweep = TriggerEndSweep(self._smu)
        self._count = 1
        self._state = self.IDLE
        self._arms = self._done = self._point = 0

    def __getattr__(self, name: str) -> int:
        # ARMED_EVENT_ID, SWEEPING_EVENT_ID, SOURCE_COMPLETE_EVENT_ID, ... IDLE_EVENT_ID
        if name.endswith("_EVENT_ID") and name[:-9] in SMU_EVENTS:
            return self._events[name[:-9]]
        raise AttributeError(name)

    count = _count_attribute("trigger.count")

    def _detectors(self) -> tuple[Detector, ...]:
        return (self.arm._detector, self.source._detector, self.measure._detector, self.endpulse._detector)

    def initiate(self) -> None:
        """Start the trigger model; in virtual time it runs to its end before this returns."""
        smu, instrument = self._smu, self._smu._instrument
        if self._state != self.IDLE:
            instrument.error(-221, "Settings conflict; the trigger model is already running")
            return
        if self.source._action == Smu.ENABLE:
            if not self.source._points:
                instrument.error(-221, "Settings conflict; no sweep source values configured")
                return
            if self.source._function != Smu.OUTPUT_DCVOLTS:
                instrument.error(-221, "Settings conflict; current sweeps are not simulated")
                return
            if not smu._levels_allowed(self.source._points):
                return
        for detector in self._detectors():
            detector.latched = detector.overrun = False
        if self.measure._action == Smu.ENABLE:
            for buffer in self.measure._buffers:
                buffer._start()
        self._arms = self._point = 0
        self._state = self.ARM
        instrument.emit(self._events["SWEEPING"])
        instrument.let_run()

    def _abort(self) -> None:
        self._state = self.IDLE

    @property
    def running(self) -> bool:
        """The model has left idle (it may be waiting for an event)."""
        return self._state != self.IDLE

    def _step(self) -> bool:
        """Go as far as the event detectors let the model go now; True if anything happened."""
        smu, instrument = self._smu, self._smu._instrument
        state = self._state
        if state == self.ARM and self.arm._detector.detect():
            self._arms += 1
            self._done = 0
            self._state = self.SOURCE
            instrument.emit(self._events["ARMED"])
        elif state == self.SOURCE and self.source._detector.detect():
            if self.source._action == Smu.ENABLE:
                points = self.source._points
                level = points[self._point % len(points)]
                self._point += 1
                limit = self.source._limiti if self.source._limiti != Smu.LIMIT_AUTO else smu.source._limiti
                smu._apply(level, limit)
            self._state = self.MEASURE
            delay = smu.source._delay
            if delay > 0:
                self._state = self.MEASURING
                instrument.schedule(instrument.clock.now() + delay, self._source_settled)
            else:
                instrument.emit(self._events["SOURCE_COMPLETE"])
        elif state == self.MEASURE and self.measure._detector.detect():
            if self.measure._action == Smu.ENABLE:
                self._state = self.MEASURING
                smu._start_measurement(self.measure._kinds, self.measure._buffers, self._measured)
            else:
                self._state = self.ENDPULSE
        elif state == self.ENDPULSE and self.endpulse._detector.detect():
            if self.endpulse._action == Smu.SOURCE_IDLE:
                smu._apply(None, None)
            instrument.emit(self._events["PULSE_COMPLETE"])
            self._done += 1
            if self._done < self._count:
                self._state = self.SOURCE
            else:
                self._end_sweep()
        else:
            return False
        return True

    def _source_settled(self) -> None:
        self._state = self.MEASURE
        self._smu._instrument.emit(self._events["SOURCE_COMPLETE"])

    def _measured(self, _values: tuple[float, ...]) -> None:
        self._state = self.ENDPULSE
        self._smu._instrument.emit(self._events["MEASURE_COMPLETE"])

    def _end_sweep(self) -> None:
        instrument = self._smu._instrument
        if self.endsweep._action == Smu.SOURCE_IDLE:
            self._smu._apply(None, None)
        instrument.emit(self._events["SWEEP_COMPLETE"])
        if self._arms < self.arm._count:
            self._state = self.ARM
        else:
            self._state = self.IDLE
            instrument.emit(self._events["IDLE"])


# --- source and measure -------------------------------------------------------------------
class SmuSource(SmuPart):
    """``smuX.source``."""

    def __init__(self, smu: Smu) -> None:
        super().__init__(smu)
        spec = smu._spec
        self._func = Smu.OUTPUT_DCVOLTS
        self._levelv = self._leveli = 0.0
        self._limiti, self._limitv, self._limitp = spec.default_limit_i, spec.default_limit_v, 0.0
        self._rangev, self._autorangev = spec.voltage_ranges[0], True
        self._rangei, self._autorangei = spec.current_ranges[0], True
        self._output = Smu.OUTPUT_OFF
        self._offmode, self._offfunc = Smu.OUTPUT_NORMAL, Smu.OUTPUT_DCVOLTS
        self._offlimiti, self._offlimitv = 1e-3, spec.default_limit_v
        self._delay = 0.0

    @property
    def func(self) -> int:
        return self._func

    @func.setter
    def func(self, value: Any) -> None:
        func = _choice(self._smu._instrument, value, (Smu.OUTPUT_DCAMPS, Smu.OUTPUT_DCVOLTS), "func")
        if func == Smu.OUTPUT_DCAMPS and self._output == Smu.OUTPUT_ON:
            self._smu._instrument.error(-221, "Settings conflict; current source not simulated")
        elif func is not None:
            self._func = func

    def _take_levelv(self, value: Any) -> float | None:
        """A voltage level the channel allows; with autorange the range follows it."""
        level = number(value, "levelv")
        if not self._smu._levels_allowed([level]):
            return None
        if self._autorangev:
            self._rangev = self._smu._spec.voltage_range_for(level)
        return level

    def _take_leveli(self, value: Any) -> float | None:
        """A current level of at most the largest current limit in magnitude."""
        level = number(value, "leveli")
        return level if self._instrument.within(abs(level), 0.0, self._smu._spec.limit_i[1]) else None

    levelv = attribute("_levelv", _take_levelv, then=lambda source: source._smu._apply(None, None))

    leveli = attribute("_leveli", _take_leveli)

    limiti = _limited_attribute("limiti", lambda spec: spec.limit_i, then=lambda source: source._smu._apply(None, None))

    limitv = _limited_attribute("limitv", lambda spec: spec.limit_v)

    limitp = _limited_attribute("limitp", lambda spec: (0.0, spec.max_voltage * spec.limit_i[1]))   # 0: off

    rangev = _range_attribute("rangev", lambda spec: spec.voltage_ranges, "_autorangev", False)

    autorangev = _flag_attribute("autorangev", "_autorangev")

    rangei = _range_attribute("rangei", lambda spec: spec.current_ranges, "_autorangei", False)

    autorangei = _flag_attribute("autorangei", "_autorangei")

    @property
    def output(self) -> int:
        return self._output

    @output.setter
    def output(self, value: Any) -> None:
        state = _choice(self._smu._instrument, value, (Smu.OUTPUT_OFF, Smu.OUTPUT_ON, Smu.OUTPUT_HIGH_Z), "output")
        if state == Smu.OUTPUT_ON and self._func != Smu.OUTPUT_DCVOLTS:
            self._smu._instrument.error(-221, "Settings conflict; current source not simulated")
        elif state is not None:
            if state == Smu.OUTPUT_HIGH_Z:   # off, with the output relay open
                state, self._offmode = Smu.OUTPUT_OFF, Smu.OUTPUT_HIGH_Z
            self._output = state
            self._smu._compliance = False
            self._smu._active = None
            self._smu._drive()

    @property
    def compliance(self) -> bool:
        return self._smu._compliance

    offmode = _choice_attribute("offmode", "OUTPUT_NORMAL", "OUTPUT_ZERO", "OUTPUT_HIGH_Z",
                                then=lambda source: source._smu._drive())

    offfunc = _choice_attribute("offfunc", "OUTPUT_DCAMPS", "OUTPUT_DCVOLTS", then=lambda source: source._smu._drive())

    offlimiti = _limited_attribute("offlimiti", lambda spec: spec.limit_i, then=lambda source: source._smu._drive())

    offlimitv = _limited_attribute("offlimitv", lambda spec: spec.limit_v)

    # DELAY_AUTO is kept as 0 s: the auto delay's settling table is not simulated
    delay = _limited_attribute("delay", lambda spec: (0.0, 10_000.0), auto=DELAY_AUTO, keep=lambda s: max(s, 0.0))


class SmuMeasure(SmuPart):
    """``smuX.measure``."""

    def __init__(self, smu: Smu) -> None:
        super().__init__(smu)
        spec = smu._spec
        self._nplc = 1.0
        self._count = 1
        self._delay = float(Smu.DELAY_AUTO)
        self._interval = 0.0
        self._autozero = Smu.AUTOZERO_AUTO
        self._rangei, self._autorangei = spec.current_ranges[0], Smu.AUTORANGE_ON
        self._rangev, self._autorangev = spec.voltage_ranges[0], Smu.AUTORANGE_ON

    nplc = _limited_attribute("nplc", lambda spec: NPLC_RANGE)

    count = _limited_attribute("count", lambda spec: (1, BUFFER_CAPACITY), keep=int)

    # DELAY_AUTO is kept, and taken as 0 s: the range-dependent settling is not simulated
    delay = _limited_attribute("delay", lambda spec: (0.0, 10_000.0), auto=DELAY_AUTO)

    interval = _limited_attribute("interval", lambda spec: (0.0, 1.0))

    @property
    def autozero(self) -> int:
        return self._autozero

    @autozero.setter
    def autozero(self, value: Any) -> None:
        modes = (Smu.AUTOZERO_OFF, Smu.AUTOZERO_ONCE, Smu.AUTOZERO_AUTO)
        mode = _choice(self._smu._instrument, value, modes, "autozero")
        if mode is not None:
            self._autozero = Smu.AUTOZERO_OFF if mode == Smu.AUTOZERO_ONCE else mode

    rangei = _range_attribute("rangei", lambda spec: spec.current_ranges, "_autorangei", 0)   # AUTORANGE_OFF

    autorangei = _choice_attribute("autorangei", "AUTORANGE_OFF", "AUTORANGE_ON", "AUTORANGE_FOLLOW_LIMIT")

    rangev = _range_attribute("rangev", lambda spec: spec.voltage_ranges, "_autorangev", 0)   # AUTORANGE_OFF

    autorangev = _choice_attribute("autorangev", "AUTORANGE_OFF", "AUTORANGE_ON", "AUTORANGE_FOLLOW_LIMIT")

    def i(self, buffer: Any = None) -> float:
        return self._smu._measure_now(("i",), (buffer,))[0]

    def v(self, buffer: Any = None) -> float:
        return self._smu._measure_now(("v",), (buffer,))[0]

    def iv(self, ibuffer: Any = None, vbuffer: Any = None) -> tuple[float, float]:
        current, voltage = self._smu._measure_now(("i", "v"), (ibuffer, vbuffer))
        return current, voltage

    def r(self, buffer: Any = None) -> float:
        return self._smu._measure_now(("r",), (buffer,))[0]

    def p(self, buffer: Any = None) -> float:
        return self._smu._measure_now(("p",), (buffer,))[0]


class Smu(TspObject):
    """``smua`` / ``smub``: one source-measure unit channel."""

    OUTPUT_OFF, OUTPUT_ON, OUTPUT_HIGH_Z = 0, 1, 2
    OUTPUT_DCAMPS, OUTPUT_DCVOLTS = 0, 1
    OUTPUT_NORMAL, OUTPUT_ZERO = 0, 1
    AUTORANGE_OFF, AUTORANGE_ON, AUTORANGE_FOLLOW_LIMIT = 0, 1, 2
    AUTOZERO_OFF, AUTOZERO_ONCE, AUTOZERO_AUTO = 0, 1, 2
    DISABLE, ENABLE = 0, 1
    SOURCE_IDLE, SOURCE_HOLD = 0, 1
    DELAY_OFF = 0
    DELAY_AUTO, LIMIT_AUTO = DELAY_AUTO, LIMIT_AUTO   # the module's constants, under their TSP names
    SENSE_LOCAL, SENSE_REMOTE, SENSE_CALA = 0, 1, 3

    def __init__(self, instrument: Keithley2600, letter: str, port: SourcePort | None,
                 spec: Keithley2600BModel) -> None:
        self._instrument, self._letter, self._port, self._spec = instrument, letter, port, spec
        self.nvbuffer1 = ReadingBuffer(instrument, BUFFER_CAPACITY)
        self.nvbuffer2 = ReadingBuffer(instrument, BUFFER_CAPACITY)
        self._integration: dict[str, Any] | None = None
        self.reset()

    # --- TSP functions and attributes --------------------------------------------------
    def reset(self) -> None:
        """``smuX.reset()``: output off, source, measure and trigger settings to their defaults."""
        self._integration = None
        self.source = SmuSource(self)
        self.measure = SmuMeasure(self)
        if hasattr(self, "trigger"):
            self.trigger.reset()
        else:
            self.trigger = SmuTrigger(self)
        for buffer in (self.nvbuffer1, self.nvbuffer2):
            buffer.reset()
        self._sense = self.SENSE_LOCAL
        self._active: tuple[float, float] | None = None   # level and limit a sweep applied
        self._compliance = False
        self._drive()

    def abort(self) -> None:
        """``smuX.abort()``: stop the trigger model and any measurement; the source goes idle."""
        self._instrument.stop_sequence()
        self.trigger._abort()
        self._integration = None
        self._active = None
        self._drive()

    def makebuffer(self, size: Any) -> ReadingBuffer | None:
        capacity = number(size, "makebuffer")
        if self._instrument.within(capacity, 1, BUFFER_CAPACITY):
            return ReadingBuffer(self._instrument, int(capacity))
        return None

    @property
    def sense(self) -> int:
        return self._sense

    @sense.setter
    def sense(self, value: Any) -> None:
        sense = _choice(self._instrument, value, (self.SENSE_LOCAL, self.SENSE_REMOTE, self.SENSE_CALA), "sense")
        if sense is not None:
            self._sense = sense

    # --- the output ------------------------------------------------------------------------
    def _levels_allowed(self, levels: list[float]) -> bool:
        """Every level on the present (or, with autorange, some) voltage range; else queue 1101."""
        largest = max((abs(v) for v in levels), default=0.0)
        source = self.source
        ceiling = self._spec.max_voltage if source._autorangev else self._spec.overrange(source._rangev)
        return self._instrument.within(largest, 0.0, ceiling)

    def _counted(self, value: Any, what: str, present: int) -> int:
        count = number(value, what)
        if count == 0:
            self._instrument.error(-221, f"Settings conflict; an endless {what} is not simulated")
            return present
        return int(count) if self._instrument.within(count, 1, 2**31 - 1) else present

    def _apply(self, level: float | None, limit: float | None) -> None:
        """Source ``level`` V under ``limit`` A (a sweep point), or the idle settings (None)."""
        self._active = None if level is None else (level, limit)
        self._drive()

    def _present(self) -> tuple[float, float]:
        """(level V, limit A) the source is programmed to while the output is on."""
        if self._active is not None:
            return self._active
        return self.source._levelv, self.source._limiti

    def _terminal(self) -> tuple[float | None, float]:
        """What the output terminal does: (V, current limit A), None for an open circuit."""
        source = self.source
        if source._output == self.OUTPUT_ON:
            return self._present()
        if source._offmode == self.OUTPUT_HIGH_Z:
            return None, math.inf
        if source._offmode == self.OUTPUT_ZERO:
            return 0.0, source._limiti
        if source._offfunc == self.OUTPUT_DCVOLTS:
            return 0.0, source._offlimiti
        return None, math.inf   # 0 A source: no current flows

    def _drive(self) -> None:
        if self._port is not None:
            self._port.drive(*self._terminal())

    def _open_result(self) -> SegmentResult:
        """What an unwired channel sees: no current; its own level at the terminal."""
        voltage = self._terminal()[0]
        return SegmentResult(0.0, voltage or 0.0, 0.0, 0.0, False)

    def _account(self, result: SegmentResult, duration: float) -> None:
        """The output held ``result`` for ``duration`` s."""
        self._accountant(duration)(result)

    def _accountant(self, duration: float) -> Callable[[SegmentResult], None]:
        """What the output does with the result of a hold of ``duration`` s that starts now, once
        that result is known: the compliance flag (output on) and the running integration."""
        on = self.source._output == self.OUTPUT_ON
        integration = self._integration
        if integration is not None and not integration["started"]:
            integration = None

        def account(result: SegmentResult) -> None:
            if on:
                self._compliance = result.in_compliance
            if integration is not None:
                integration["charge"] += result.current * duration
                integration["volt_seconds"] += result.source_voltage * duration
                integration["limited"] = integration["limited"] or result.in_compliance
        return account

    # --- measuring -------------------------------------------------------------------------
    def _buffer(self, value: Any) -> ReadingBuffer:
        buffer = self._instrument.unwrap(value)
        if not isinstance(buffer, ReadingBuffer):
            raise TspRuntimeError("bad argument: reading buffer expected")
        return buffer

    def _aperture(self) -> float:
        return self.measure._nplc / self._instrument.line_frequency

    def _start_measurement(self, kinds: tuple[str, ...], buffers: tuple[ReadingBuffer | None, ...],
                           done: Callable[[tuple[float, ...]], None]) -> None:
        """Integrate ``measure.count`` readings after ``measure.delay``; then call ``done``."""
        instrument = self._instrument
        self._integration = {"kinds": kinds, "buffers": buffers, "done": done, "left": self.measure._count,
                             "started": False}
        settle = max(self.measure._delay, 0.0)
        instrument.schedule(instrument.clock.now() + settle, self._integrate)

    def _integrate(self) -> None:
        integration = self._integration
        if integration is None:
            return
        instrument = self._instrument
        integration.update(started=True, start=instrument.clock.now(), charge=0.0, volt_seconds=0.0,
                           limited=False, level=self._present()[0])
        instrument.schedule(instrument.clock.now() + self._aperture(), self._integrated)

    def _integrated(self) -> None:
        integration = self._integration
        if integration is None:
            return
        self._instrument.port.sync()   # the holds of the aperture evaluated, their charge counted
        aperture = self._aperture()
        current = integration["charge"] / aperture
        voltage = integration["volt_seconds"] / aperture
        on = self.source._output == self.OUTPUT_ON
        limited = integration["limited"] and on
        model = self._instrument.port.model
        current = float(model.add_read_noise(np.array([current]))[0])
        if limited:
            limit = self._present()[1]
            current = float(np.clip(current, -limit, limit))
        values = {"i": current, "v": voltage,
                  "r": voltage / current if current else NOT_A_NUMBER, "p": voltage * current}
        readings = tuple(values[k] for k in integration["kinds"])
        for value, buffer in zip(readings, integration["buffers"]):
            if buffer is not None:
                buffer._append(Reading(value, integration["level"], integration["start"], 0x40 if limited else 0))
        integration["left"] -= 1
        if integration["left"] > 0:
            integration["started"] = False
            self._integrate()
            return
        self._integration = None
        integration["done"](readings)

    def _measure_now(self, kinds: tuple[str, ...], buffers: tuple[Any, ...]) -> tuple[float, ...]:
        """A synchronous measurement (``smuX.measure.i()`` …): returns the last reading(s)."""
        targets = tuple(None if b is None else self._buffer(b) for b in buffers)
        for buffer in targets:
            if buffer is not None:
                buffer._start()
        result: list[tuple[float, ...]] = []
        self._start_measurement(kinds, targets, result.append)
        self._instrument.run_events(stop=lambda: bool(result))
        return result[0]


# --- the rest of the instrument -------------------------------------------------------------
class StatusSweeping(TspObject):
    """``status.operation.sweeping``: bit 1 (2) while smua sweeps, bit 2 (4) for smub."""

    SMUA, SMUB = 2, 4

    def __init__(self, instrument: Keithley2600) -> None:
        self._instrument = instrument

    @property
    def condition(self) -> int:
        bits = {"a": self.SMUA, "b": self.SMUB}
        return sum(bits[ch._letter] for ch in self._instrument.channels if ch.trigger._state != SmuTrigger.IDLE)


class StatusOperation(TspObject):
    def __init__(self, instrument: Keithley2600) -> None:
        self.sweeping = StatusSweeping(instrument)


class StatusMeasurementSmu(TspObject):
    """``status.measurement.instrument.smuX``: its condition register (Rev. C §7 p. 7-285, Rev. F
    §9 p. 9-283): B0 VLMT (1) voltage limit, B1 ILMT (2) current limit — "updated only when a
    measurement is taken or smuX.source.compliance is invoked" —, B7 ROF (128) reading overflow
    (readings here never overflow), B8 BAV (256) a reading is in a dedicated buffer."""

    VLMT, ILMT, ROF, BAV = 1, 2, 128, 256

    def __init__(self, smu: Smu) -> None:
        self._smu = smu

    @property
    def condition(self) -> int:
        smu = self._smu
        limited = self.ILMT if smu.source._func == Smu.OUTPUT_DCVOLTS else self.VLMT
        stored = smu.nvbuffer1.n + smu.nvbuffer2.n > 0
        return (limited if smu._compliance else 0) | (self.BAV if stored else 0)


class StatusMeasurementInstrument(TspObject):
    """``status.measurement.instrument``: one register per SMU channel."""

    def __init__(self, instrument: Keithley2600) -> None:
        for smu in instrument.channels:
            setattr(self, f"smu{smu._letter}", StatusMeasurementSmu(smu))


class StatusMeasurement(TspObject):
    """``status.measurement`` (the per-channel instrument registers)."""

    def __init__(self, instrument: Keithley2600) -> None:
        self.instrument = StatusMeasurementInstrument(instrument)


class Status(TspObject):
    """``status`` (the part a program polls for the end of a sweep, and the measurement
    condition QCoDeS reads beside every reading)."""

    def __init__(self, instrument: Keithley2600) -> None:
        self._instrument = instrument
        self.operation = StatusOperation(instrument)
        self.measurement = StatusMeasurement(instrument)

    @property
    def condition(self) -> int:
        return self._instrument.status_byte()

    def reset(self) -> None:
        self._instrument.esr = self._instrument.ese = self._instrument.sre = 0


class LocalNode(TspObject):
    """``localnode``."""

    def __init__(self, instrument: Keithley2600) -> None:
        self._instrument = instrument
        self._description = ""

    @property
    def model(self) -> str:
        return self._instrument.model

    @property
    def serialno(self) -> str:
        return self._instrument.spec.serial

    @property
    def revision(self) -> str:
        return self._instrument.firmware

    @property
    def description(self) -> str:
        return self._description

    @description.setter
    def description(self, value: Any) -> None:
        self._description = str(value)

    @property
    def linefreq(self) -> float:
        return self._instrument.line_frequency

    @linefreq.setter
    def linefreq(self, value: Any) -> None:
        frequency = number(value, "linefreq")
        if frequency in (50, 60):
            self._instrument.line_frequency = frequency
        elif frequency < 50:
            self._instrument.error(1102, "Parameter too small")
        else:
            self._instrument.error(1101, "Parameter too big")

    prompts = _refused_flag("prompts", "TSP prompts are not simulated")

    showerrors = _refused_flag("showerrors", "automatic error printing is not simulated")

    def reset(self) -> None:
        self._instrument.reset()


class DisplayTrigger(TspObject):
    """``display.trigger``: the front-panel TRIG key (nobody presses it here)."""

    def __init__(self, instrument: Keithley2600) -> None:
        self._instrument = instrument

    @property
    def EVENT_ID(self) -> int:   # noqa: N802
        return DISPLAY_EVENT_ID

    def clear(self) -> None:
        return None

    def wait(self, timeout: Any) -> bool:
        self._instrument.run_events(until=self._instrument.clock.now() + number(timeout, "timeout"))
        return False


class Display(TspObject):
    """``display``: text functions accepted, nothing shown; ``screen`` (read-write) selects what
    it shows: ``SMUA`` 0, ``SMUB`` 1, ``SMUA_SMUB`` 2, ``USER`` 3 (Tektronix tsp-toolkit 2636B
    command definitions; the two-channel models show both channels by default)."""

    SMUA, SMUB, SMUA_SMUB, USER = 0, 1, 2, 3

    def __init__(self, instrument: Keithley2600) -> None:
        self._instrument = instrument
        self.trigger = DisplayTrigger(instrument)
        self._screen = self.SMUA_SMUB if len(instrument.channels) > 1 else self.SMUA

    @property
    def screen(self) -> int:
        return self._screen

    @screen.setter
    def screen(self, value: Any) -> None:
        choices = (self.SMUA, self.SMUB, self.SMUA_SMUB, self.USER) if len(self._instrument.channels) > 1 \
            else (self.SMUA, self.USER)
        screen = _choice(self._instrument, value, choices, "display.screen")
        if screen is not None:
            self._screen = screen

    def clear(self) -> None:
        return None

    def settext(self, text: Any) -> None:
        return None

    def setcursor(self, row: Any, column: Any, style: Any = None) -> None:
        return None


class ElapsedMeasure(TspObject):
    def __init__(self, instrument: Keithley2600) -> None:
        self._instrument = instrument

    def t(self) -> float:
        """Seconds since ``timer.reset()``, on the bench clock."""
        return self._instrument.clock.now() - self._instrument.timer_origin


class ElapsedTimer(TspObject):
    """``timer``: elapsed time (``timer.reset()``, ``timer.measure.t()``)."""

    def __init__(self, instrument: Keithley2600) -> None:
        self._instrument = instrument
        self.measure = ElapsedMeasure(instrument)

    def reset(self) -> float:
        elapsed = self.measure.t()
        self._instrument.timer_origin = self._instrument.clock.now()
        return elapsed


class Keithley2600(TspInstrument):
    """A 2600B whose ``smua`` drives the device through ``port``; ``smub`` (two-channel models) is unwired."""

    # registry name (labsuite.registry) → model: the family as a 2602B, then the models the data sheets
    # offer on their own (labsuite.core.datasheets.variants)
    simulates = {"keithley2600": "2602B", **variants(KEITHLEY_2600B)}

    firmware = "4.0.4"

    def __init__(self, port: SourcePort, model: str = "2602B") -> None:
        if model not in KEITHLEY_2600B:
            raise ValueError(f"no 2600B model {model!r}; choose one of {', '.join(KEITHLEY_2600B)}")
        self.model, self.spec = model, KEITHLEY_2600B[model]
        self.port = port
        self.clock = port.clock
        self.idn = f"Keithley Instruments, Model {model}, {self.spec.serial}, {self.firmware}"
        self.line_frequency = LINE_FREQUENCY
        self.timer_origin = self.clock.now()
        self._queue: list[tuple[float, int, Callable[[], None]]] = []
        self._sequence = 0
        self._watchers: list[tuple[int, list[int]]] = []
        self.timers = [Timer(self, n) for n in range(1, TIMERS + 1)]
        self.channels = [Smu(self, letter, port if letter == "a" else None, self.spec)
                         for letter in "ab"[:self.spec.channels]]
        self.trigger = TriggerSystem(self)
        self.digio_lines = [DigioTrigger(self) for _ in range(DIGIO_LINES)]
        self.trigger_out = self.digio_lines[0].receivers   # what digital I/O line 1 is wired to: f(edge)
        super().__init__()

    def new_environment(self) -> None:
        super().new_environment()
        names: dict[str, Any] = {f"smu{ch._letter}": ch for ch in self.channels}
        names.update(trigger=self.trigger, digio=Digio(self.digio_lines), status=Status(self),
                     localnode=LocalNode(self), display=Display(self),
                     timer=ElapsedTimer(self), reset=self.reset, delay=self.delay, waitcomplete=self.complete)
        self.install(names)
        self.lua.execute("node = {[1] = setmetatable({}, {__index = _G})}")

    # --- messages and power ------------------------------------------------------------
    def process(self, message: str) -> str | None:
        self.port.sync()
        self.run_control.begin()
        try:
            reply = super().process(message)
            self.let_run()
            return reply
        except Interrupted as stop:
            self._stopped(stop, "?:0: ")
            return None
        finally:
            self.run_control.end()
            for channel in self.channels:
                channel._drive()

    def abort(self) -> None:
        """``abort``: every trigger model stops and its source goes idle; pending timers are void."""
        for channel in self.channels:
            channel.abort()
        for timer in self.timers:
            timer._cancel()
        self._queue.clear()

    def power_loss(self) -> None:
        """Mains lost and back: outputs drop, settings, buffers, scripts and errors are gone."""
        self._queue.clear()
        self.line_frequency = LINE_FREQUENCY
        for channel in self.channels:
            channel.nvbuffer1.clear()
            channel.nvbuffer2.clear()
        self.reset()
        self.errors.clear()
        self.esr = self.ese = self.sre = 0
        self.new_environment()

    def reset(self) -> None:
        """``reset()`` / ``*RST``: every channel, timer and the print format to defaults."""
        super().reset()
        for part in (*self.channels, *self.timers, *self.digio_lines):
            part.reset()
        self.trigger.clear()

    def complete(self) -> None:
        """``waitcomplete()``: pending operations run to their end (or to a wait for the outside)."""
        self.let_run()
        if self.sequencer is not None:
            self.sequencer.join()

    def bus_trigger(self) -> None:
        self.trigger._bus = True
        self.emit(BUS_EVENT_ID)
        self.let_run()

    def let_run(self) -> None:
        """Let the trigger models and timers run: here, in virtual time; on a paced station in the
        background (the message returns at once), unless they already run there."""
        if self.sequencer is None:
            self.run_events()
        elif not self.sequence_running and (self._queue or any(ch.trigger.running for ch in self.channels)):
            self.play(self.run_events)

    def delay(self, seconds: Any) -> None:
        """``delay(s)``: the outputs hold for ``s`` seconds of bench time."""
        duration = number(seconds, "delay")
        if self.within(duration, 0.0, 1e6):
            self.run_events(until=self.clock.now() + duration)

    # --- the event simulation ----------------------------------------------------------
    def schedule(self, time: float, action: Callable[[], None]) -> None:
        self._sequence += 1
        heapq.heappush(self._queue, (time, self._sequence, action))

    def emit(self, event: int) -> None:
        """``event`` happened now: latch the detectors and trigger the timers it stimulates."""
        for watched, seen in self._watchers:
            if watched == event:
                seen.append(event)
        for channel in self.channels:
            for detector in channel.trigger._detectors():
                detector.latch(event)
        for timer in self.timers:
            if timer._stimulus and timer._stimulus == event:
                timer._trigger()
        for line in self.digio_lines:
            if line.stimulus and line.stimulus == event:
                line._assert()

    def run_events(self, until: float | None = None, stop: Callable[[], bool] | None = None) -> None:
        """Let the trigger models and timers run: until nothing is left to happen, until bench
        time ``until`` (the outputs hold to it), or until ``stop()`` is true. The device evolves over
        the holds between two readings in one call (:meth:`SourcePort.hold_later`), and is evaluated
        to the end before this returns."""
        try:
            while True:
                progressed = True
                while progressed:
                    self.run_control.check()
                    progressed = any([channel.trigger._step() for channel in self.channels])
                if stop is not None and stop():
                    return
                if not self._queue or (until is not None and self._queue[0][0] > until):
                    break
                time, _, action = heapq.heappop(self._queue)
                self._hold(time - self.clock.now())
                action()
            if until is not None:
                self._hold(until - self.clock.now())
        finally:
            self.port.sync()

    def _hold(self, duration: float) -> None:
        """Hold every output for ``duration`` s of bench time (the wired channel's share accounted
        when the device is evaluated)."""
        if duration <= 0:
            return
        for channel in self.channels:
            channel._drive()
        for channel in self.channels:
            if channel._port is self.port:
                self.port.hold_later(duration, channel._accountant(duration))
            else:
                channel._account(channel._open_result(), duration)
