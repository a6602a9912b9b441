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
   would be refused with 1101), then ``labsuite_print()`` prints the count, time, voltage and
   current of the measured segments with ``printbuffer`` as one ``#0`` block of little-endian
   doubles (section 9 ``format.data``, ``format.byteorder``): the exact length of the reply
   follows from the count, and no value loses digits to ASCII.

The sweep has one point per segment. A 2600B sweep measures at every point (the measure action is
one setting for the whole sweep), so every segment is measured over the last ``aperture`` s of it,
ending :data:`MEASURE_MARGIN` before the next source event, and the driver keeps the readings of
the segments marked ``measure``; the aperture is therefore at most the shortest segment less the
margin, and short enough that timer 2's delay list averages ≥ 50 µs (``trigger.timer[N].delaylist``:
"if the array contains more than one element, the average of the delay intervals in the list must
be ≥ 50 µs"). A pattern may have any length: the point table is a Lua table, and a train whose
points outgrow a reading buffer plays as several sweeps whose readings share one clock
(``smuX.nvbufferY.basetimestamp``). One limit (``smua.trigger.source.limiti``) applies to every
point of a sweep; a train whose segments carry different limits (endurance: SET and RESET) is
stepped by the script itself, limit before level, each segment ending on ``timer.measure.t()``
(``delay()`` waits out the rest), so command time delays an edge by the instrument's command
latency but never accumulates; the driver then waits for the script's reply with the read timeout
grown by the train's duration. Stepped, only the measured segments are integrated, so only they
must hold the aperture and the margin. A train with segments another instrument plays
(``run_train``'s ``triggered``: a pulse generator whose trigger input is wired to digital I/O
line 1) is stepped too: through each, the output is off and ``digio.trigger[1].assert()`` pulses
the line TTL-high (``digio.TRIG_RISINGM``; section 9 ``digio.trigger[N].mode``, ``.assert()``). The shortest programmable pulse is 100 µs (data sheet):
:meth:`Keithley2600.hardware_timing_limit` names a train that cannot be played as programmed. The
TSP is written in the Lua 5.0 of the firmware (``table.getn``, no ``#``).
"""
from __future__ import annotations

import time
import warnings
from dataclasses import replace

import numpy as np
from pymeasure.instruments.keithley.keithley2600 import Keithley2600 as _PymeasureKeithley2600
from pymeasure.instruments.validators import strict_range

from labsuite.core.errors import InstrumentError, InvalidParameter
from labsuite.core.datasheets import KEITHLEY_2600B, Keithley2600BModel, variants
from labsuite.core.instruments import Registration, SourceMeterCapabilities, TrainReadings
from labsuite.core.program import Train
from labsuite.core.units import format_quantity
from labsuite.drivers.scpi_common import SteppedSourceMixin, link_settings

NPLC_MIN, NPLC_MAX = 0.001, 25.0        # smuX.measure.nplc (section 9)
MEASURE_MARGIN = 60e-6                  # s between the end of an integration and the next source
                                        # event, as Keithley's KE26XXB pulsed-sweep example leaves
MIN_TIMER_DELAY = 1e-6                  # s, shortest measure offset the driver programs
MIN_MEAN_DELAY = 50e-6                  # s, a delaylist of several delays must average at least this
                                        # (trigger.timer[N].delaylist, TSP command reference)
LINE_VALUES = 100                       # levels per labsuite_column line
SWEEPING_SMUA = 2                       # status.operation.sweeping.SMUA (bit B1)
BUFFER_CAPACITY = 60_000                # readings per dedicated buffer (not confirmed in the manual)

TRAIN_SCRIPT = """\
-- labsuite_train: plays one labsuite Train on smua from a segment table (Lua tables of any
-- length: the instrument's memory is the only bound). Lua 5.0 syntax (table.getn, no length
-- operator); only standard TSP: the SMU trigger model, trigger.timer, timer, delay.
--
-- A train is a pattern of K segments played R times. With one current limit for every
-- segment it runs on the SMU trigger model (Series 2600B Reference Manual 2600BS-901-01,
-- "Triggering" and "Using timers to perform pulse mode sweeps"; smuX.trigger.*,
-- trigger.timer[N].* in the TSP command reference), a sweep point per segment and a closing
-- point at 0 V:
--   timer 1, the source stimulus: passthrough, delays = the K segment durations in turn, so an
--     event starts every segment and one more ends the last;
--   timer 2, the measure stimulus: started by every timer 1 event, delays = the K measure start
--     offsets, so each point is measured over the last aperture of its segment, ending a margin
--     before the next source event;
--   end pulse: bypassed, SOURCE_HOLD: a level holds until the next point's source action;
--   end sweep: SOURCE_IDLE: back to smua.source.levelv = 0 V.
-- With a limit per segment (smuX.trigger.source.limitY holds one limit for a whole sweep) the
-- script itself steps the table: limit, then level, then a reading over the segment's last
-- aperture, each segment ending on the instrument's elapsed-time timer (timer.measure.t(),
-- delay()), so the time the commands take delays an edge but never adds up. A segment another
-- instrument plays (triggered: a pulse generator whose trigger input is wired to digital I/O
-- line 1) is stepped so too: the output goes off (the off state the caller chose: high-Z) and
-- digio.trigger[1].assert() pulses line 1 TTL-high (digio.TRIG_RISINGM), whose rising edge
-- starts the generator; the next segment turns the output on again.

labsuite_columns = {}

-- levels (V) of pattern segment k for repeats first, first + 1, ...
function labsuite_column(k, first, values)
  if labsuite_columns[k] == nil then labsuite_columns[k] = {} end
  for i = 1, table.getn(values) do
    labsuite_columns[k][first + i - 1] = values[i]
  end
end

-- levels: the pattern's levels (V), replaced by labsuite_column values where given;
-- durations, offsets: s per segment; measured: 1 or 0 per segment; limit: the current limit (A),
-- or a table of one per segment; range: largest |level| (V); nplc: integration (power line
-- cycles); continued: 1 when this sweep goes on with the train the last one played; triggered:
-- 1 or 0 per segment, 1 for those digital I/O line 1 starts another instrument on (nil: none)
function labsuite_setup(repeats, levels, durations, offsets, measured, limit, range, nplc, continued, triggered)
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
  labsuite_points, labsuite_durations, labsuite_offsets = points, durations, offsets
  labsuite_limits, labsuite_triggered = nil, triggered
  if triggered ~= nil then
    digio.trigger[1].mode = digio.TRIG_RISINGM
    digio.trigger[1].stimulus = 0
  end
  if type(limit) == "table" then
    labsuite_limits = limit
    limit = limit[1]
    for s = 1, k do
      if labsuite_limits[s] < limit then limit = labsuite_limits[s] end
    end
  end
  if continued ~= 1 then labsuite_origin = nil end
  local measuring = false
  local largest = limit
  for s = 1, k do
    if measured[s] == 1 then measuring = true end
    if labsuite_limits ~= nil and labsuite_limits[s] > largest then largest = labsuite_limits[s] end
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
  smua.measure.rangei = largest
  smua.measure.autozero = smua.AUTOZERO_ONCE
  smua.measure.nplc = nplc
  smua.measure.delay = 0
  smua.measure.count = 1
  smua.nvbuffer1.clear()
  smua.nvbuffer1.appendmode = 0
  smua.nvbuffer1.collecttimestamps = 1
  smua.nvbuffer2.clear()
  smua.nvbuffer2.appendmode = 0
  if labsuite_limits ~= nil then
    smua.nvbuffer1.appendmode = 1
    smua.nvbuffer2.appendmode = 1
    return
  end

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

-- hold what the output does until t s on the elapsed-time timer
function labsuite_until(t)
  local left = t - timer.measure.t()
  if left > 0 then delay(left) end
end

-- a limit per segment, or triggered segments: the script steps the table, then the output
-- returns to 0 V
function labsuite_step()
  local k = labsuite_k
  local t = 0
  timer.reset()
  for p = 1, labsuite_repeats * k do
    local s = p - math.floor((p - 1) / k) * k
    if labsuite_triggered ~= nil and labsuite_triggered[s] == 1 then
      smua.source.output = smua.OUTPUT_OFF
      digio.trigger[1].assert()
    else
      smua.source.limiti = labsuite_limits[s]
      smua.source.levelv = labsuite_points[p]
      if smua.source.output == smua.OUTPUT_OFF then smua.source.output = smua.OUTPUT_ON end
      if labsuite_measured[s] == 1 then
        labsuite_until(t + labsuite_offsets[s])
        smua.measure.iv(smua.nvbuffer1, smua.nvbuffer2)
      end
    end
    t = t + labsuite_durations[s]
    labsuite_until(t)
  end
  smua.source.levelv = 0
end

-- output on at 0 V under the limit, then the sweep, which runs on its own until
-- status.operation.sweeping.condition clears (a limit per segment: the table, stepped here)
function labsuite_start()
  smua.source.output = smua.OUTPUT_ON
  if labsuite_limits ~= nil then
    labsuite_step()
  else
    smua.trigger.initiate()
  end
end

-- the count n, then time (s, from the first reading of the train), voltage (V) and current (A)
-- of the measured segments, as one binary block of little-endian doubles (format.data p. 9-102)
function labsuite_print()
  local t, v, i, n = {}, {}, {}, 0
  local stamps, volts, amps = smua.nvbuffer1.timestamps, smua.nvbuffer2.readings, smua.nvbuffer1.readings
  local last = smua.nvbuffer1.n
  if labsuite_limits == nil and labsuite_repeats * labsuite_k < last then last = labsuite_repeats * labsuite_k end
  if labsuite_origin == nil then labsuite_origin = smua.nvbuffer1.basetimestamp end
  local offset = smua.nvbuffer1.basetimestamp - labsuite_origin
  for p = 1, last do
    if labsuite_limits ~= nil or labsuite_measured[p - math.floor((p - 1) / labsuite_k) * labsuite_k] == 1 then
      n = n + 1
      t[n], v[n], i[n] = stamps[p] + offset, volts[p], amps[p]
    end
  end
  local flat = {n}
  for k = 1, n do flat[3 * k - 1], flat[3 * k], flat[3 * k + 1] = t[k], v[k], i[k] end
  local data, order = format.data, format.byteorder
  format.data, format.byteorder = format.REAL64, format.LITTLEENDIAN
  printbuffer(1, 3 * n + 1, flat)
  format.data, format.byteorder = data, order
end
"""

LOAD_MESSAGE = f"loadscript labsuite_train\n{TRAIN_SCRIPT}endscript\nlabsuite_train()"


def model_capabilities(model: Keithley2600BModel) -> SourceMeterCapabilities:
    """The capabilities of one 2600B model, from its data sheet (``labsuite.core.datasheets``)."""
    return SourceMeterCapabilities(
        max_voltage=model.voltage_ranges[-1],
        max_current_limit=model.limit_i[1],
        min_current_limit=model.limit_i[0],
        min_segment=100e-6,          # shortest programmable pulse width (data sheet; not confirmed in the manual)
        trigger_output=True,         # digital I/O line 1, pulsed by digio.trigger[1].assert()
        min_aperture=NPLC_MIN / 50.0,   # 0.001 PLC, on either line frequency
        max_aperture=NPLC_MAX / 60.0,   # 25 PLC, on either line frequency
        max_repeats=2500,            # repeats per train the Runner sends; longer sweeps are split by run_train
        max_pattern=BUFFER_CAPACITY - 1,   # a sweep point per segment and the closing one fill a reading buffer
        max_readings=50_000,
    )


MODEL_CAPABILITIES = {name: model_capabilities(model) for name, model in KEITHLEY_2600B.items()}
FAMILY = replace(   # what every 2600B model meets
    MODEL_CAPABILITIES["2602B"],
    max_voltage=min(c.max_voltage for c in MODEL_CAPABILITIES.values()),
    max_current_limit=min(c.max_current_limit for c in MODEL_CAPABILITIES.values()),
    min_current_limit=max(c.min_current_limit for c in MODEL_CAPABILITIES.values()),
)
IDN_PATTERN = r"Keithley Instruments[^,]*, ?Model {model},"


class Keithley2600(SteppedSourceMixin, _PymeasureKeithley2600):
    """Keithley 2600B on pymeasure, implementing labsuite's :class:`~labsuite.core.instruments.SourceMeter`
    on channel A. ``model`` ("2602B", ...) selects that model's limits; without it the limits
    every 2600B meets apply."""

    capabilities = FAMILY
    # the family, then each model the data sheets offer on its own (labsuite.core.datasheets.variants)
    registrations = (Registration("keithley2600", "smu", IDN_PATTERN.format(model=r"26(0[124]|1[124]|3[456])B"),
                                  FAMILY),
                     *(Registration(name, "smu", IDN_PATTERN.format(model=model), MODEL_CAPABILITIES[model], model)
                       for name, model in variants(KEITHLEY_2600B).items()))
    line_frequency_query = "print(localnode.linefreq)"
    level_message = "smua.source.levelv = {volts:.6g}"
    compliance_message = "smua.source.limiti = {amps:g}"
    nplc_range = (NPLC_MIN, NPLC_MAX)

    def __init__(self, adapter, name: str = "Keithley 2600B System SourceMeter", model: str | None = None,
                 **kwargs) -> None:
        with warnings.catch_warnings():
            # pymeasure flags the 2600 as "not known to support SCPI"; the 2600B takes the IEEE 488.2
            # common commands (*IDN?, *RST, *CLS, *OPC?) on its TSP interface (manual section 11),
            # which is all pymeasure sends on that account
            warnings.filterwarnings("ignore", "It is not known whether this device support SCPI",
                                    FutureWarning)
            super().__init__(adapter, name, **link_settings(kwargs))
        if model is not None:
            self.capabilities = MODEL_CAPABILITIES[model]
        self._script_loaded = False
        self._loading = False   # between the start and the end of a script load (see shutdown)
        self._source_range: float | None = None   # V, the range configure() chose (None until configured)
        self._played: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []   # (t, V, I) of the train's sweeps so far
        self._sweeping: int | None = None   # readings of the sweep the trigger model plays, None if none plays

    # --- SourceMeter interface ----------------------------------------------------------
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
        """None if the instrument plays ``train`` as programmed, else the limit it runs into.
        Segments without their own limit use ``compliance`` (A) when it is given. Any pattern
        length the buffers hold plays; a limit per segment is stepped by the script (see
        :data:`TRAIN_SCRIPT`). Trains longer than ``capabilities.max_repeats`` are for the caller
        to cut."""
        caps = self.capabilities
        pattern = train.pattern
        if len(pattern) > caps.max_pattern:
            return (f"the pattern has {len(pattern)} segments; a 2600B sweep takes at most {caps.max_pattern} "
                    f"(a reading each, and a closing one, in a {BUFFER_CAPACITY}-reading buffer)")
        for k, segment in enumerate(pattern, 1):
            if segment.duration < caps.min_segment * (1 - 1e-9):
                return (f"segment {k} ({segment.label}) lasts {format_quantity(segment.duration, 's')}; "
                        f"the 2600B's shortest programmable pulse is {format_quantity(caps.min_segment, 's')}")
        if len(pattern) > 1 and len(self._limits(train, compliance)) == 1:
            # the line frequency is not asked here (nothing is sent): 50 Hz gives the longest aperture
            offsets = self._offsets(train, _aperture(train, self._line_frequency or 50.0))
            if sum(offsets) / len(offsets) < MIN_MEAN_DELAY * (1 - 1e-9):
                return (f"its measure offsets average {format_quantity(sum(offsets) / len(offsets), 's')}; a "
                        f"2600B timer's delay list must average ≥ {format_quantity(MIN_MEAN_DELAY, 's')}")
        return None

    def run_train(self, train: Train, compliance: float, triggered: frozenset[int] = frozenset()) -> TrainReadings:
        """Play ``train`` on the instrument; return its readings. Under one limit (the segments'
        own, else ``compliance``, A) it runs on the trigger model, in as many sweeps as the
        reading buffer needs (a reading per segment), on one clock; with a limit per segment, or
        segments ``triggered`` (pattern indices another instrument plays, started by digital I/O
        line 1 with the output off through them), the script steps it. Afterwards the output is
        off and the source range is the one :meth:`configure` chose, so that software-timed levels
        up to the program's largest apply."""
        self._played = []
        reason = self.hardware_timing_limit(train, compliance)
        if reason is not None:
            raise InvalidParameter("train", f"cannot be played by the 2600B: {reason}")
        limits = self._limits(train, compliance)
        for limit in limits:
            self.check_compliance(limit)
        stepped = len(limits) > 1 or bool(triggered)
        if stepped:
            sweeps = [train]
        else:
            sweeps = train.split(max(1, (BUFFER_CAPACITY - 1) // len(train.pattern)))
        for k, sweep in enumerate(sweeps):
            self._played.append(self._play(sweep, compliance, continued=k > 0, last=k == len(sweeps) - 1,
                                           stepped=stepped, triggered=triggered))
        return TrainReadings.joined(self._played)

    def stop_train(self) -> TrainReadings:
        """Abort the sweep (section 9 ``smuX.abort()``) and return the readings the train took: its
        sweeps played so far and, from the reading buffer (``smuX.nvbufferY.n``), the measured
        segments of the one stopped (``labsuite_print``). A train the script steps (a limit per
        segment) keeps the instrument busy until its end, so only its finished sweeps count."""
        sweeping, self._sweeping = self._sweeping, None
        if sweeping is None:
            self.write("smua.abort()")
        else:
            self._played.append(self._read_block("smua.abort() labsuite_print()", sweeping))
        return TrainReadings.joined(self._played)

    def _play(self, train: Train, compliance: float, continued: bool, last: bool, stepped: bool,
              triggered: frozenset[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Set up, check, start and read one sweep (or stepped table); return (t, V, I)."""
        message = self.train_message(train, compliance, continued, triggered)
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
        self._sweeping = None if stepped else train.measurements_per_repeat * train.repeats
        self.wait_for_sweep(train.duration, busy=stepped)
        self._sweeping = None
        self.raise_errors()
        off = "smua.source.output = smua.OUTPUT_OFF"
        if last and self._source_range is not None:     # labsuite_setup set the train's own range
            off += f" smua.source.rangev = {self._source_range:g}"
        n = train.measurements_per_repeat * train.repeats
        if n == 0:
            self.write(off)
            return np.empty(0), np.empty(0), np.empty(0)
        times, voltage, current = self._read_block(f"{off} labsuite_print()", n)
        if times.size != n:
            raise InstrumentError(self.name, f"expected {n} readings of the train, got {times.size}")
        return times, voltage, current

    def _read_block(self, message: str, most: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Send ``message``, which ends with ``labsuite_print()``; return the (t, V, I) of its block
        of at most ``most`` readings."""
        self.write(message)
        head = self.read_bytes(10)                   # "#0" and the count, a double
        if head[:2] != b"#0":
            raise InstrumentError(self.name, f"expected a #0 block of the train's readings, got {head!r}")
        value = float(np.frombuffer(head[2:], dtype="<f8")[0])
        if not 0 <= value <= most or not value.is_integer():   # no count of this train's readings: its
            raise InstrumentError(self.name, f"expected {most} readings of the train, got {value:g}")   # length is unknown
        count = int(value)
        body = self.read_bytes(24 * count + 1)       # 3 doubles a reading and the "\n" terminator
        times, voltage, current = np.frombuffer(body[:-1], dtype="<f8").reshape(count, 3).T
        return times, voltage, current

    def load_script(self) -> None:
        """Load :data:`TRAIN_SCRIPT` as the named script ``labsuite_train`` and run it once."""
        self._loading = True    # until the write returns, the instrument may be recording, not running
        self.write(LOAD_MESSAGE)
        self._loading = False
        self._script_loaded = True

    def train_message(self, train: Train, compliance: float, continued: bool = False,
                      triggered: frozenset[int] = frozenset()) -> str:
        """The lines that set ``train`` up (output off, limit first); Lua table arguments. One
        limit goes as a number, a limit per segment as a table (and so it goes with segments
        ``triggered``, which the script steps, flagged in a last table); ``continued``: a later
        sweep of the same train, on the same clock."""
        aperture = self.aperture_for(train, stepped=len(self._limits(train, compliance)) > 1 or bool(triggered))
        pattern = train.pattern
        lines = []
        for k in range(len(pattern)):
            column = train.levels[:, k]
            if np.any(column != column[0]):
                for first in range(0, train.repeats, LINE_VALUES):
                    lines.append(f"labsuite_column({k + 1}, {first + 1}, "
                                 f"{_lua_table(column[first:first + LINE_VALUES], '.6g')})")
        offsets = self._offsets(train, aperture)
        nplc = aperture * self.line_frequency if aperture else 1.0
        limits = [compliance if s.compliance is None else s.compliance for s in pattern]
        limit = f"{limits[0]:g}" if len(set(limits)) == 1 and not triggered else _lua_table(limits, "g")
        tail = ", 1" if continued else ""
        if triggered:
            tail = f", {int(continued)}, {_lua_table([int(k in triggered) for k in range(len(pattern))], 'd')}"
        lines.append(f"labsuite_setup({train.repeats}, {_lua_table(train.levels[0], '.6g')}, "
                     f"{_lua_table([s.duration for s in pattern], '.9g')}, {_lua_table(offsets, '.9g')}, "
                     f"{_lua_table([int(s.measure) for s in pattern], 'd')}, {limit}, "
                     f"{np.abs(train.levels).max():.6g}, {nplc:.6g}{tail})")
        return "\n".join(lines)

    @staticmethod
    def _limits(train: Train, compliance: float | None) -> set[float | None]:
        """The current limits (A) the segments of ``train`` run under (None: the program's, unknown)."""
        return {compliance if s.compliance is None else s.compliance for s in train.pattern}

    def _offsets(self, train: Train, aperture: float) -> list[float]:
        """s from each segment's start to the start of its measurement (timer 2's delay list)."""
        return [max(s.duration - aperture - MEASURE_MARGIN, MIN_TIMER_DELAY) for s in train.pattern]

    def aperture_for(self, train: Train, stepped: bool = False) -> float:
        """Integration time, s: the shortest measured segment, but every segment must hold one
        integration and the margin, and the measure offsets must average ≥ 50 µs (a sweep measures
        every point); ``stepped`` by the script, only the measured segments must hold it; within
        the NPLC limits. 0 if nothing is measured."""
        return _aperture(train, self.line_frequency, stepped)

    def wait_for_sweep(self, duration: float, poll: float = 0.05, busy: bool = False) -> None:
        """Poll ``status.operation.sweeping.condition`` until smua stops sweeping. ``busy``: the
        script steps the train itself, so the first reply comes only after ``duration`` s (the
        read timeout grows by that much meanwhile)."""
        deadline = time.monotonic() + duration + self.adapter.connection.timeout / 1000
        timeout = self.adapter.connection.timeout
        if busy:
            self.adapter.connection.timeout = timeout + duration * 1000
        try:
            while True:
                condition = int(float(self.ask("print(status.operation.sweeping.condition)")))
                if not condition & SWEEPING_SMUA:
                    return
                if time.monotonic() > deadline:
                    raise InstrumentError(self.name, f"smua still sweeping after {duration:g} s")
                time.sleep(poll)
        finally:
            self.adapter.connection.timeout = timeout

    def set_output(self, on: bool) -> None:
        """Turn the output on or off."""
        self.write("smua.source.output = smua.OUTPUT_ON" if on else "smua.source.output = smua.OUTPUT_OFF")

    def output_enabled(self) -> bool:
        """Ask whether channel A's output is on (smua.source.output)."""
        return self.ChA.source_output == "ON"

    def set_off_state(self, high_impedance: bool) -> None:
        """Output-off mode: OUTPUT_HIGH_Z (relay open) or OUTPUT_NORMAL (0 V) (Reference Manual,
        smuX.source.offmode)."""
        self.write("smua.source.offmode = smua.OUTPUT_HIGH_Z" if high_impedance
                   else "smua.source.offmode = smua.OUTPUT_NORMAL")

    def measure(self, aperture: float) -> tuple[float, float]:
        """Take one reading integrating ``aperture`` s; return (V readback, I in A)."""
        current, voltage = self.ask(f"smua.measure.nplc = {self.nplc(aperture):.6g} "
                                    "print(smua.measure.iv())").split("\t")
        return float(voltage), float(current)

    def reconnected(self) -> None:
        """On a new session after a dropped link: end a script load the lost session may have cut
        short (the instrument would record, not run, what comes next), drain the errors that
        leaves, and load the script again before the next train."""
        self.write("endscript")
        self.check_errors()
        self._script_loaded = False

    def shutdown(self) -> None:
        """Stop any sweep and turn every channel's output off at once (no ramp, no sleep). After a
        script load that was cut short, ``endscript`` comes first: the instrument would otherwise
        record the shutdown into the script instead of running it."""
        if self._loading:
            self.write("endscript")
            self._loading = self._script_loaded = False
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


def _aperture(train: Train, line_frequency: float, stepped: bool = False) -> float:
    """:meth:`Keithley2600.aperture_for` at ``line_frequency`` (Hz)."""
    measured = [s.duration for s in train.pattern if s.measure]
    if not measured:
        return 0.0
    plc = 1.0 / line_frequency
    durations = measured if stepped else [s.duration for s in train.pattern]
    room = min(durations) - MEASURE_MARGIN - MIN_TIMER_DELAY
    if len(durations) > 1 and not stepped:      # timer 2's delay list (the measure offsets) must average ≥ 50 µs
        room = min(room, sum(durations) / len(durations) - MEASURE_MARGIN - MIN_MEAN_DELAY)
    return float(np.clip(min(min(measured), room), NPLC_MIN * plc, NPLC_MAX * plc))


def _lua_table(values, spec: str) -> str:
    """A Lua table constructor of ``values`` formatted with ``spec``."""
    return "{" + ", ".join(format(v, spec) for v in values) + "}"
