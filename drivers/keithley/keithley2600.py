"""Keithley Series 2600B System SourceMeter (TSP): pymeasure's driver, plus hardware-timed trains.

Pulse trains run on the instrument's own sequencer: the SMU trigger model paced by two timers
(Series 2600B Reference Manual 2600BS-901-01: "Triggering" and "Using timers to perform pulse
mode sweeps", section 3 of Rev. B; section 9 of Rev. F: ``smuX.trigger.*``, ``trigger.timer[N].*``). The TSP program
that does it, :data:`TRAIN_SCRIPT`, is loaded once per session as the named script
``labsuite_train`` (``loadscript`` … ``endscript``, then run once to define its functions), and
again if the instrument lost it. A train then costs, whatever its length:

1. one write: ``labsuite_column(...)`` lines for the segments whose level changes from repeat to
   repeat (100 values a line) and ``labsuite_setup(...)`` with the pattern as Lua tables: levels,
   durations, measure offsets, measured flags, limit, range, NPLC. The output goes off and the
   current limit is set before anything else;
2. an error check (``print(errorqueue.next())``): nothing runs unless every setting was taken;
3. ``labsuite_start()``: output on at 0 V under the limit, ``smua.trigger.initiate()``;
4. ``print(status.operation.sweeping.condition)`` polls until smua stops sweeping (one poll on a
   simulated bench; on hardware one per 50 ms of train, so an abort reaches ``smua.abort()`` at
   once instead of queueing behind a blocking wait);
5. an error check and one read: output off, the source range back to the one ``configure`` chose
   (the train's own is only as large as its largest level, and a software-timed level beyond it
   would be refused with 1101), then ``labsuite_print()`` prints time, voltage and current of the
   measured segments with ``printbuffer``.

The sweep has one point per segment. A 2600B sweep measures at every point (the measure action is
one setting for the whole sweep), so every segment is measured over the last ``aperture`` s of it,
ending :data:`MEASURE_MARGIN` before the next source event, and the driver keeps the readings of
the segments marked ``measure``; the aperture is therefore at most the shortest segment less the
margin. One limit (``smua.trigger.source.limiti``) applies to every point (the segments' own
limit when they all carry the same one, else the program's compliance), and the shortest
programmable pulse is 100 µs: :meth:`Keithley2600.hardware_timing_limit` names a train that
cannot be played as programmed. The TSP is written in the Lua 5.0 of the firmware
(``table.getn``, no ``#``).
"""
from __future__ import annotations

import time
import warnings
from dataclasses import replace

import numpy as np
from pymeasure.instruments.keithley.keithley2600 import Keithley2600 as _PymeasureKeithley2600
from pymeasure.instruments.validators import strict_range

from labsuite.errors import InstrumentError, InvalidParameter
from labsuite.instruments import SourceMeterCapabilities, TrainReadings
from labsuite.program import Train
from labsuite.units import format_quantity

NPLC_MIN, NPLC_MAX = 0.001, 25.0        # smuX.measure.nplc (section 9)
MEASURE_MARGIN = 60e-6                  # s between the end of an integration and the next source
                                        # event, as Keithley's KE26XXB pulsed-sweep example leaves
MIN_TIMER_DELAY = 1e-6                  # s, shortest measure offset the driver programs
LINE_VALUES = 100                       # levels per labsuite_column line
SWEEPING_SMUA = 2                       # status.operation.sweeping.SMUA (bit B1)
BUFFER_CAPACITY = 60_000                # readings per dedicated buffer (not confirmed in the manual)

TRAIN_SCRIPT = """\
-- labsuite_train: plays one labsuite Train on smua with the SMU trigger model and two timers
-- (Series 2600B Reference Manual 2600BS-901-01: "Triggering", "Using timers to perform pulse
-- mode sweeps"; smuX.trigger.*, trigger.timer[N].* in the TSP command reference). Lua 5.0 syntax.
--
-- A train is a pattern of K segments played R times. The sweep has a point per segment and a
-- closing point at 0 V:
--   timer 1, the source stimulus: passthrough, delays = the K segment durations in turn, so an
--     event starts every segment and one more ends the last;
--   timer 2, the measure stimulus: started by every timer 1 event, delays = the K measure start
--     offsets, so each point is measured over the last aperture of its segment, ending a margin
--     before the next source event;
--   end pulse: bypassed, SOURCE_HOLD: a level holds until the next point's source action;
--   end sweep: SOURCE_IDLE: back to smua.source.levelv = 0 V.

labsuite_columns = {}

-- levels (V) of pattern segment k for repeats first, first + 1, ...
function labsuite_column(k, first, values)
  if labsuite_columns[k] == nil then labsuite_columns[k] = {} end
  for i = 1, table.getn(values) do
    labsuite_columns[k][first + i - 1] = values[i]
  end
end

-- levels: the pattern's levels (V), replaced by labsuite_column values where given;
-- durations, offsets: s per segment; measured: 1 or 0 per segment;
-- limit: current limit (A); range: largest |level| (V); nplc: integration (power line cycles)
function labsuite_setup(repeats, levels, durations, offsets, measured, limit, range, nplc)
  local k = table.getn(levels)
  local points = {}
  for r = 1, repeats do
    for s = 1, k do
      local level = levels[s]
      if labsuite_columns[s] ~= nil then level = labsuite_columns[s][r] end
      points[(r - 1) * k + s] = level
    end
  end
  points[repeats * k + 1] = 0
  labsuite_columns = {}
  labsuite_k, labsuite_repeats, labsuite_measured = k, repeats, measured
  local measuring = false
  for s = 1, k do
    if measured[s] == 1 then measuring = true end
  end

  -- source: output off, voltage function, fixed range, the limit before anything turns on
  smua.abort()
  smua.source.output = smua.OUTPUT_OFF
  smua.source.func = smua.OUTPUT_DCVOLTS
  smua.source.autorangev = smua.AUTORANGE_OFF
  smua.source.rangev = range
  smua.source.levelv = 0
  smua.source.limiti = limit
  smua.source.delay = 0
  -- measurement: fixed range, no settling delay, autozero once: readings keep the timing
  smua.measure.autorangei = smua.AUTORANGE_OFF
  smua.measure.rangei = limit
  smua.measure.autozero = smua.AUTOZERO_ONCE
  smua.measure.nplc = nplc
  smua.measure.delay = 0
  smua.measure.count = 1
  smua.nvbuffer1.clear()
  smua.nvbuffer1.appendmode = 0
  smua.nvbuffer1.collecttimestamps = 1
  smua.nvbuffer2.clear()
  smua.nvbuffer2.appendmode = 0

  trigger.timer[1].reset()
  trigger.timer[1].delaylist = durations
  trigger.timer[1].count = repeats * k
  trigger.timer[1].passthrough = true
  trigger.timer[1].stimulus = smua.trigger.ARMED_EVENT_ID
  trigger.timer[2].reset()
  trigger.timer[2].delaylist = offsets
  trigger.timer[2].count = 1
  trigger.timer[2].passthrough = false
  trigger.timer[2].stimulus = trigger.timer[1].EVENT_ID

  smua.trigger.arm.count = 1
  smua.trigger.arm.stimulus = 0
  smua.trigger.count = repeats * k + 1
  smua.trigger.source.listv(points)
  smua.trigger.source.limiti = limit
  smua.trigger.source.action = smua.ENABLE
  smua.trigger.source.stimulus = trigger.timer[1].EVENT_ID
  if measuring then
    smua.trigger.measure.iv(smua.nvbuffer1, smua.nvbuffer2)
    smua.trigger.measure.action = smua.ENABLE
    smua.trigger.measure.stimulus = trigger.timer[2].EVENT_ID
  else
    smua.trigger.measure.action = smua.DISABLE
    smua.trigger.measure.stimulus = 0
  end
  smua.trigger.endpulse.action = smua.SOURCE_HOLD
  smua.trigger.endpulse.stimulus = 0
  smua.trigger.endsweep.action = smua.SOURCE_IDLE
end

-- output on at 0 V under the limit, then the sweep; it runs on its own until
-- status.operation.sweeping.condition clears
function labsuite_start()
  smua.source.output = smua.OUTPUT_ON
  smua.trigger.initiate()
end

-- time (s, from the first reading), voltage (V) and current (A) of the measured segments
function labsuite_print()
  local t, v, i, n = {}, {}, {}, 0
  local stamps, volts, amps = smua.nvbuffer1.timestamps, smua.nvbuffer2.readings, smua.nvbuffer1.readings
  local last = labsuite_repeats * labsuite_k
  if smua.nvbuffer1.n < last then last = smua.nvbuffer1.n end
  for p = 1, last do
    if labsuite_measured[p - math.floor((p - 1) / labsuite_k) * labsuite_k] == 1 then
      n = n + 1
      t[n], v[n], i[n] = stamps[p], volts[p], amps[p]
    end
  end
  printbuffer(1, n, t, v, i)
end
"""

LOAD_MESSAGE = f"loadscript labsuite_train\n{TRAIN_SCRIPT}endscript\nlabsuite_train()"

FAMILY = SourceMeterCapabilities(
    max_voltage=40.0,            # 2601B/2602B 40 V range (the 2636B has 200 V)
    max_current_limit=1.5,       # 2636B current compliance (the 2601B/2602B: 3 A)
    min_current_limit=10e-9,     # 2601B/2602B current compliance (the 2636B: 100 pA)
    min_segment=100e-6,          # shortest programmable pulse width (data sheet; not confirmed in the manual)
    min_aperture=NPLC_MIN / 50.0,   # 0.001 PLC, on either line frequency
    max_aperture=NPLC_MAX / 60.0,   # 25 PLC, on either line frequency
    max_repeats=2500,            # repeats per sweep, so that repeats × max_pattern + 1 points fit a buffer
    max_pattern=20,
    max_readings=50_000,         # every point is measured: max_repeats × max_pattern readings
)
MODEL_CAPABILITIES = {
    "2601B": replace(FAMILY, max_current_limit=3.0),
    "2602B": replace(FAMILY, max_current_limit=3.0),
    "2636B": replace(FAMILY, max_voltage=200.0, min_current_limit=100e-12),
}


class Keithley2600(_PymeasureKeithley2600):
    """Keithley 2600B on pymeasure, implementing labsuite's :class:`~labsuite.instruments.SourceMeter`
    on channel A. ``model`` ("2602B", ...) selects that model's limits; without it the limits
    every 2600B meets apply."""

    idn_pattern = r"Keithley Instruments[^,]*, ?Model 26(0[124]|1[124]|3[456])B,"
    capabilities = FAMILY

    def __init__(self, adapter, name: str = "Keithley 2600B System SourceMeter", model: str | None = None,
                 **kwargs) -> None:
        kwargs.setdefault("read_termination", "\n")
        kwargs.setdefault("write_termination", "\n")
        kwargs.setdefault("timeout", 10_000)
        with warnings.catch_warnings():
            # pymeasure flags the 2600 as "not known to support SCPI"; the 2600B takes the IEEE 488.2
            # common commands (*IDN?, *RST, *CLS, *OPC?) on its TSP interface (manual section 11),
            # which is all pymeasure sends on that account
            warnings.filterwarnings("ignore", "It is not known whether this device support SCPI",
                                    FutureWarning)
            super().__init__(adapter, name, **kwargs)
        if model is not None:
            self.capabilities = MODEL_CAPABILITIES[model]
        self._line_frequency: float | None = None
        self._script_loaded = False
        self._source_range: float | None = None   # V, the range configure() chose (None until configured)

    # --- SourceMeter interface ----------------------------------------------------------
    def identify(self) -> str:
        """Get the *IDN? reply."""
        return self.id

    @property
    def line_frequency(self) -> float:
        """Get the power line frequency in Hz (read once)."""
        if self._line_frequency is None:
            self._line_frequency = float(self.ask("print(localnode.linefreq)"))
        return self._line_frequency

    def settings(self) -> dict[str, object]:
        """Get the settings stored with a run."""
        model, limit, nplc = self.ask("print(localnode.model, smua.source.limiti, smua.measure.nplc)").split("\t")
        return {"idn": self.identify(), "model": model, "line_frequency_Hz": self.line_frequency,
                "current_limit_A": float(limit), "nplc": float(nplc)}

    def configure(self, compliance: float, max_level: float) -> None:
        """Set up a voltage source of range ≥ ``max_level`` (V) under ``compliance`` (A), output off."""
        self._source_range = abs(max_level)
        self.write("smua.abort() smua.source.output = smua.OUTPUT_OFF smua.source.func = smua.OUTPUT_DCVOLTS "
                   f"smua.source.autorangev = smua.AUTORANGE_OFF smua.source.rangev = {self._source_range:g} "
                   f"smua.source.levelv = 0 smua.source.limiti = {compliance:g} "
                   "smua.measure.autorangei = smua.AUTORANGE_ON")
        self.raise_errors()

    def hardware_timing_limit(self, train: Train, compliance: float | None = None) -> str | None:
        """None if the sweep plays ``train`` as programmed, else the limit it runs into. Segments
        without their own limit use ``compliance`` (A) when it is given; without it, such segments
        next to ones with their own limit are taken to differ. Trains longer than
        ``capabilities.max_repeats`` are for the caller to cut."""
        caps = self.capabilities
        pattern = train.pattern
        if len(pattern) > caps.max_pattern:
            return f"the pattern has {len(pattern)} segments; a 2600B train takes at most {caps.max_pattern}"
        for k, segment in enumerate(pattern, 1):
            if segment.duration < caps.min_segment * (1 - 1e-9):
                return (f"segment {k} ({segment.label}) lasts {format_quantity(segment.duration, 's')}; "
                        f"the 2600B's shortest programmable pulse is {format_quantity(caps.min_segment, 's')}")
        limits = [segment.compliance if segment.compliance is not None else compliance for segment in pattern]
        if len(set(limits)) > 1:
            shown = ", ".join("the program's" if a is None else format_quantity(a, "A") for a in dict.fromkeys(limits))
            return f"segments use current limits {shown}; a 2600B sweep applies one limit to every point"
        return None

    def run_train(self, train: Train, compliance: float) -> TrainReadings:
        """Play ``train`` on the instrument's trigger model; return its readings. The sweep runs
        under the one limit its segments share (their own, else ``compliance``, A); afterwards the
        output is off and the source range is the one :meth:`configure` chose, so that software-timed
        levels up to the program's largest apply."""
        reason = self.hardware_timing_limit(train, compliance)
        points = train.repeats * len(train.pattern) + 1
        if reason is None and points > BUFFER_CAPACITY:
            reason = f"{points} sweep points overflow a {BUFFER_CAPACITY}-reading buffer (cut the train)"
        if reason is not None:
            raise InvalidParameter("train", f"cannot be played by the 2600B's sweep: {reason}")
        limit = next((s.compliance for s in train.pattern if s.compliance is not None), compliance)
        self.check_compliance(limit)
        message = self.train_message(train, limit)
        if not self._script_loaded:
            self.load_script()
        self.write(message)
        errors = self.check_errors()
        if any(int(code) == -286 and "labsuite_" in str(text) for code, text in errors):
            self.load_script()   # the instrument lost it: a power cycle clears the run-time environment
            self.write(message)
            errors = self.check_errors()
        if errors:                # nothing runs unless every setting was taken
            code, text = errors[0]
            raise InstrumentError(self.name, str(text), int(code))
        self.write("labsuite_start()")
        self.wait_for_sweep(train.duration)
        self.raise_errors()
        off = "smua.source.output = smua.OUTPUT_OFF"
        if self._source_range is not None:     # labsuite_setup set the train's own range
            off += f" smua.source.rangev = {self._source_range:g}"
        n = train.measurements_per_repeat * train.repeats
        if n == 0:
            self.write(off)
            return TrainReadings(np.empty(0), np.empty(0), np.empty(0))
        reply = self.ask(f"{off} labsuite_print()")
        data = np.array([float(x) for x in reply.split(",")])
        if data.size != 3 * n:
            raise InstrumentError(self.name, f"expected {n} readings of the train, got {data.size / 3:g}")
        times, voltage, current = data.reshape(n, 3).T
        return TrainReadings(times - times[0], voltage, current)

    def load_script(self) -> None:
        """Load :data:`TRAIN_SCRIPT` as the named script ``labsuite_train`` and run it once."""
        self.write(LOAD_MESSAGE)
        self._script_loaded = True

    def train_message(self, train: Train, compliance: float) -> str:
        """The lines that set ``train`` up (output off, limit first); Lua table arguments."""
        aperture = self.aperture_for(train)
        pattern = train.pattern
        lines = []
        for k in range(len(pattern)):
            column = train.levels[:, k]
            if np.any(column != column[0]):
                for first in range(0, train.repeats, LINE_VALUES):
                    lines.append(f"labsuite_column({k + 1}, {first + 1}, "
                                 f"{_lua_table(column[first:first + LINE_VALUES], '.6g')})")
        offsets = [max(s.duration - aperture - MEASURE_MARGIN, MIN_TIMER_DELAY) for s in pattern]
        nplc = aperture * self.line_frequency if aperture else 1.0
        lines.append(f"labsuite_setup({train.repeats}, {_lua_table(train.levels[0], '.6g')}, "
                     f"{_lua_table([s.duration for s in pattern], '.9g')}, {_lua_table(offsets, '.9g')}, "
                     f"{_lua_table([int(s.measure) for s in pattern], 'd')}, {compliance:g}, "
                     f"{np.abs(train.levels).max():.6g}, {nplc:.6g})")
        return "\n".join(lines)

    def aperture_for(self, train: Train) -> float:
        """Integration time, s: the shortest measured segment, but every segment must hold one
        integration and the margin; within the NPLC limits. 0 if nothing is measured."""
        measured = [s.duration for s in train.pattern if s.measure]
        if not measured:
            return 0.0
        plc = 1.0 / self.line_frequency
        room = min(s.duration for s in train.pattern) - MEASURE_MARGIN - MIN_TIMER_DELAY
        return float(np.clip(min(min(measured), room), NPLC_MIN * plc, NPLC_MAX * plc))

    def wait_for_sweep(self, duration: float, poll: float = 0.05) -> None:
        """Poll ``status.operation.sweeping.condition`` until smua stops sweeping."""
        deadline = time.monotonic() + duration + self.adapter.connection.timeout / 1000
        while True:
            condition = int(float(self.ask("print(status.operation.sweeping.condition)")))
            if not condition & SWEEPING_SMUA:
                return
            if time.monotonic() > deadline:
                raise InstrumentError(self.name, f"smua still sweeping after {duration:g} s")
            time.sleep(poll)

    def set_output(self, on: bool) -> None:
        """Turn the output on or off."""
        self.write("smua.source.output = smua.OUTPUT_ON" if on else "smua.source.output = smua.OUTPUT_OFF")

    def set_off_state(self, high_impedance: bool) -> None:
        """Output-off mode: OUTPUT_HIGH_Z (relay open) or OUTPUT_NORMAL (0 V) (Reference Manual,
        smuX.source.offmode)."""
        self.write("smua.source.offmode = smua.OUTPUT_HIGH_Z" if high_impedance
                   else "smua.source.offmode = smua.OUTPUT_NORMAL")

    def set_level(self, volts: float) -> None:
        """Set the source level, V."""
        self.write(f"smua.source.levelv = {volts:.6g}")

    def set_compliance(self, amps: float) -> None:
        """Set the current limit, A."""
        self.write(f"smua.source.limiti = {amps:g}")

    def measure(self, aperture: float) -> tuple[float, float]:
        """Take one reading integrating ``aperture`` s; return (V readback, I in A)."""
        nplc = float(np.clip(aperture * self.line_frequency, NPLC_MIN, NPLC_MAX))
        current, voltage = self.ask(f"smua.measure.nplc = {nplc:.6g} print(smua.measure.iv())").split("\t")
        return float(voltage), float(current)

    def reconnected(self) -> None:
        """On a new session after a dropped link: end a script load the lost session may have cut
        short (the instrument would record, not run, what comes next), drain the errors that
        leaves, and load the script again before the next train."""
        self.write("endscript")
        self.check_errors()
        self._script_loaded = False

    def shutdown(self) -> None:
        """Stop any sweep and turn every channel's output off at once (no ramp, no sleep)."""
        self.write("smua.abort() smua.source.output = smua.OUTPUT_OFF "
                   "if smub ~= nil then smub.abort() smub.source.output = smub.OUTPUT_OFF end")
        self.isShutdown = True

    def raise_errors(self) -> None:
        """Read the error queue to its end; raise :class:`InstrumentError` with the first error, if any."""
        errors = self.check_errors()
        if errors:
            code, text = errors[0]
            raise InstrumentError(self.name, str(text), int(code))

    # --- helpers ------------------------------------------------------------------------
    def check_compliance(self, amps: float) -> None:
        """Raise ValueError unless ``amps`` is a current limit this model can set."""
        strict_range(amps, (self.capabilities.min_current_limit, self.capabilities.max_current_limit))


def _lua_table(values, spec: str) -> str:
    """A Lua table constructor of ``values`` formatted with ``spec``."""
    return "{" + ", ".join(format(v, spec) for v in values) + "}"
