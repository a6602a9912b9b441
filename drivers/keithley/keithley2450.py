"""Keithley 2450 SourceMeter: pymeasure's driver, plus hardware-timed pulse trains.

Pulse trains use the 2450's own sequencer (Reference Manual 2450-901-01, section 3 "Trigger
model" and "Configuration lists"; SCPI in section 6 under ``:SOURce:CONFiguration:LIST`` and
``:TRIGger:BLOCk``). Each segment of the train's pattern gets a source configuration list with
one point per repeat (one point if its level never changes; ``CONFig:NEXT`` wraps), and the
trigger model walks the pattern::

    1      BUFFer:CLEar   defbuffer1
    per segment k:
           CONFig:NEXT    "labsuite<k>"      level, current limit, range, delay 0
           SOURce:STATe   ON                 a recalled point also carries the output state
           DELay:CONStant duration − aperture (or the whole duration if not measured)
           MEASure        defbuffer1         only for measured segments: integrates the aperture
           BRANch:COUNter repeats → first CONFig block
           SOURce:STATe   OFF

A segment another instrument plays (``triggered``: a pulse generator whose Trig In is wired to
digital I/O line 1) becomes, instead of a configuration point::

           SOURce:STATe   OFF                the output opens (high-impedance off state)
           NOTify         1                  line 1, a trigger output stimulated by NOTIFY1, is
                                             asserted: the generator's burst starts here
           DELay:CONStant duration

with ``:DIG:LINE1:MODE TRIG, OUT;:TRIG:DIG1:OUT:LOG POS;:TRIG:DIG1:OUT:STIM NOT1`` sent first
(manual section 6, ``:DIGital:LINE<n>:MODE``, ``:TRIGger:DIGital<n>:OUT:STIMulus`` and
``:LOGic``, ``:TRIGger:BLOCk:NOTify``; section 3, "Digital I/O port"): the line rises when
asserted, and the generator plays on its rising edge.

So a train is one write, an error check, ``:INIT``, ``:TRIG:STAT?`` polls until the model is idle
(one poll on a simulated bench; on hardware one per 50 ms of train, so that Ctrl-C or an abort
reaches ``:ABOR;:OUTP OFF`` at once instead of queueing behind a blocking ``*OPC?``), an error
check and one ``:TRAC:DATA?``, however many pulses it has. The readings come back as one binary
block of little-endian float64 (``:FORM REAL;:FORM:BORD SWAP``, 2461-901-01 §6 ``:FORMat[:DATA]``
p. 6-46: "starts with #0 and ends with a new line"; ``:FORMat:BORDer`` p. 6-45): 24 bytes a
reading instead of about 38, and no text to parse (4× faster in benchmarks/binary_transfer.py); a
spot reading asks for ASCII again (``:FORM ASC``). Points are stored with the output off
and the current limit set first: the output is on only while the trigger model runs, and always
under the compliance. List names are deleted before they are made again (a previous session may
have left points in them) and the error queue is checked before ``:INIT``, so nothing runs
unless every point was stored as sent. Autozero is off during a train (one autozero just before
it) so that readings keep the programmed timing.
"""
from __future__ import annotations

import time

import numpy as np
from pymeasure.instruments.keithley.keithley2450 import Keithley2450 as _PymeasureKeithley2450

from labsuite.core.errors import InstrumentError
from labsuite.core.instruments import Registration, SourceMeterCapabilities, TrainReadings
from labsuite.core.program import Train
from labsuite.drivers.scpi_common import (ErrorQueueMixin, OutputMixin, SteppedSourceMixin, link_settings,
                                          smallest_range)

BUFFER = "defbuffer1"
VOLTAGE_RANGES = (0.02, 0.2, 2.0, 20.0, 200.0)   # V, source ranges (Reference Manual, source range)
NPLC_MIN, NPLC_MAX = 0.01, 10.0
MAX_BLOCKS = 255


class Keithley2450(ErrorQueueMixin, SteppedSourceMixin, OutputMixin, _PymeasureKeithley2450):
    """Keithley 2450 on pymeasure, implementing labsuite's :class:`~labsuite.core.instruments.SourceMeter`."""

    capabilities = SourceMeterCapabilities(
        max_voltage=210.0,
        max_current_limit=1.05,
        min_current_limit=1e-9,
        min_segment=50e-6,          # sweep/trigger delay floor of the 2400-graphical family
        trigger_output=True,        # digital I/O line 1, asserted by a NOTify block
        min_aperture=NPLC_MIN / 50.0,   # 0.01 PLC, on either line frequency
        max_aperture=NPLC_MAX / 60.0,   # 10 PLC, on either line frequency
        max_repeats=2500,           # source lists hold 2500 points
        max_pattern=(MAX_BLOCKS - 2) // 4,
        max_readings=10_000,        # defbuffer1 capacity after *RST
    )
    registrations = (Registration("keithley2450", "smu", r"KEITHLEY INSTRUMENTS,MODEL 2450,", capabilities),)
    line_frequency_query = ":SYST:LFR?"
    level_message = ":SOUR:VOLT {volts:.6g}"
    compliance_message = ":SOUR:VOLT:ILIM {amps:g}"
    nplc_range = (NPLC_MIN, NPLC_MAX)

    def __init__(self, adapter, name: str = "Keithley 2450 SourceMeter", **kwargs) -> None:
        super().__init__(adapter, name, **link_settings(kwargs))
        self._playing = False   # a train's trigger model was started (its readings are in the buffer)

    # --- SourceMeter interface ----------------------------------------------------------
    def settings(self) -> dict[str, object]:
        """Get the settings stored with a run."""
        return {"idn": self.identify(), "line_frequency_Hz": self.line_frequency,
                "current_limit_A": float(self.ask(":SOUR:VOLT:ILIM?")),
                "nplc": float(self.ask(":SENS:CURR:NPLC?"))}

    def configure(self, compliance: float, max_level: float) -> None:
        """Set up a voltage source of range ≥ ``max_level`` (V) under ``compliance`` (A), output off."""
        self.write(f":OUTP OFF;:SOUR:FUNC VOLT;:SOUR:VOLT:RANG {source_range(max_level):g};"
                   f":SOUR:VOLT:ILIM {compliance:g};:SOUR:VOLT 0;:SENS:FUNC \"CURR\"")
        self.raise_errors()

    def hardware_timing_limit(self, train: Train, compliance: float | None = None) -> str | None:
        """None: within its capabilities (pattern length, segment duration) the trigger model plays any train."""
        return None

    def run_train(self, train: Train, compliance: float, triggered: frozenset[int] = frozenset()) -> TrainReadings:
        """Play ``train`` on the instrument's trigger model; return its readings. The segments
        ``triggered`` (pattern indices) are played by the instrument on digital I/O line 1: the
        output is open through each, whose start asserts the line."""
        self._playing = False         # until :INIT, the buffer holds an earlier train's readings
        self.write(self.train_message(train, compliance, triggered))
        self.raise_errors()          # nothing runs unless every point was stored as sent
        n = train.measurements_per_repeat * train.repeats
        self.write(":INIT")
        self._playing = True
        self.wait_for_trigger_model(train.duration)
        self.raise_errors()
        if n == 0:
            return TrainReadings(np.empty(0), np.empty(0), np.empty(0))
        time, voltage, current = self.buffer_readings(n).T
        return TrainReadings(time, voltage, current)

    def stop_train(self) -> TrainReadings:
        """Abort the trigger model (§6 ``:ABORt``) and return the readings the train took: the
        buffer's count (``:TRACe:ACTual?``), then those readings as ``run_train`` fetches them."""
        self.write(":ABOR")
        k = int(self.ask(f':TRAC:ACT? "{BUFFER}"')) if self._playing else 0
        if k == 0:
            return TrainReadings(np.empty(0), np.empty(0), np.empty(0))
        time, voltage, current = self.buffer_readings(k).T
        return TrainReadings(time, voltage, current)

    def buffer_readings(self, n: int) -> np.ndarray:
        """Readings 1 to ``n`` of the buffer as rows (relative time s, source V, reading A): one
        ``#0`` block of ``n`` × 3 little-endian float64 and the terminator, read by its length (a
        byte of the data may be a newline)."""
        self.write(f':FORM REAL;:FORM:BORD SWAP;:TRAC:DATA? 1,{n},"{BUFFER}",REL,SOUR,READ')
        head = self.read_bytes(2)
        if head != b"#0":
            raise InstrumentError(self.name, f"expected a #0 block of {n} readings from {BUFFER}, got {head!r}")
        body = self.read_bytes(24 * n + 1)
        if body[-1:] != b"\n":
            raise InstrumentError(self.name, f"the #0 block of {n} readings from {BUFFER} does not end where "
                                             f"{n} readings end (got {body[-8:]!r} there)")
        return np.frombuffer(body[:-1], dtype="<f8").reshape(n, 3)

    def wait_for_trigger_model(self, duration: float, poll: float = 0.05) -> None:
        """Poll ``:TRIG:STAT?`` until the trigger model stops; raise if it failed or was aborted
        (its readings are then fewer than the train's)."""
        deadline = time.monotonic() + duration + self.adapter.connection.timeout / 1000
        while True:
            state = self.ask(":TRIG:STAT?").split(";")[0].strip().upper()
            if state in ("IDLE", "EMPTY"):
                return
            if state in ("FAILED", "ABORTED"):   # ABORTED: stopped by an :ABOR from elsewhere
                raise InstrumentError(self.name, f"the trigger model {state.lower()}")
            if time.monotonic() > deadline:
                raise InstrumentError(self.name, f"trigger model still {state} after {duration:g} s")
            time.sleep(poll)

    def train_message(self, train: Train, compliance: float, triggered: frozenset[int] = frozenset()) -> str:
        """The one message that loads ``train`` into the instrument (output off, limit first); the
        segments ``triggered`` open the output and assert digital I/O line 1 (module docstring)."""
        aperture = self.aperture_for(train)
        names = [f"labsuite{k + 1}" for k in range(len(train.pattern)) if k not in triggered]
        commands = [":OUTP OFF", ':TRIG:LOAD "Empty"']
        if triggered:
            commands += [":DIG:LINE1:MODE TRIG, OUT", ":TRIG:DIG1:OUT:LOG POS", ":TRIG:DIG1:OUT:STIM NOT1"]
        # a list left by an earlier session would keep its old points: delete, then clear the
        # "does not exist" errors of lists that were not there
        commands += [f':SOUR:CONF:LIST:DEL "{name}"' for name in names] + ["*CLS"]
        commands += [":SOUR:FUNC VOLT", f":SOUR:VOLT:RANG {source_range(np.abs(train.levels).max()):g}",
                     f":SOUR:VOLT:ILIM {compliance:g}", ":SOUR:VOLT:DEL 0", ':SENS:FUNC "CURR"',
                     ":SENS:CURR:AZER OFF", ":SENS:AZER:ONCE"]
        if aperture:
            commands.append(f":SENS:CURR:NPLC {aperture * self.line_frequency:.6g}")
        limit = compliance
        stored = [(k, segment) for k, segment in enumerate(train.pattern) if k not in triggered]
        for name, (k, segment) in zip(names, stored):
            levels = train.levels[:, k]
            points = levels[:1] if np.all(levels == levels[0]) else levels
            commands.append(f':SOUR:CONF:LIST:CRE "{name}"')
            wanted = compliance if segment.compliance is None else segment.compliance
            if wanted != limit:   # each point stores the limit in force when it is stored
                commands.append(f":SOUR:VOLT:ILIM {wanted:g}")
                limit = wanted
            for level in points:
                commands += [f":SOUR:VOLT {level:.6g}", f':SOUR:CONF:LIST:STOR "{name}"']
        if limit != compliance:
            commands.append(f":SOUR:VOLT:ILIM {compliance:g}")
        commands.append(":SOUR:VOLT 0")
        commands.append(f':TRIG:BLOC:BUFF:CLE 1,"{BUFFER}"')
        block = 2
        lists = iter(names)
        for k, segment in enumerate(train.pattern):
            if k in triggered:
                commands += [f":TRIG:BLOC:SOUR:STAT {block},OFF", f":TRIG:BLOC:NOT {block + 1},1",
                             f":TRIG:BLOC:DEL:CONS {block + 2},{segment.duration:.9g}"]
                block += 3
                continue
            commands += [f':TRIG:BLOC:CONF:NEXT {block},"{next(lists)}"', f":TRIG:BLOC:SOUR:STAT {block + 1},ON"]
            block += 2
            hold = segment.duration - (aperture if segment.measure else 0.0)
            if hold > 0:
                commands.append(f":TRIG:BLOC:DEL:CONS {block},{hold:.9g}")
                block += 1
            if segment.measure:
                commands.append(f':TRIG:BLOC:MEAS {block},"{BUFFER}"')
                block += 1
        commands += [f":TRIG:BLOC:BRAN:COUN {block},{train.repeats},2", f":TRIG:BLOC:SOUR:STAT {block + 1},OFF"]
        return ";".join(commands)

    def aperture_for(self, train: Train) -> float:
        """Integration time, s, for the train's readings: the shortest measured segment, within NPLC limits."""
        measured = [s.duration for s in train.pattern if s.measure]
        if not measured:
            return 0.0
        plc = 1.0 / self.line_frequency
        return float(np.clip(min(measured), NPLC_MIN * plc, NPLC_MAX * plc))

    def measure(self, aperture: float) -> tuple[float, float]:
        """Take one reading integrating ``aperture`` s; return (V readback, I in A)."""
        voltage, current = self.values(f':FORM ASC;:SENS:CURR:NPLC {self.nplc(aperture):.6g};:READ? "{BUFFER}",SOUR,READ')
        return float(voltage), float(current)

    def shutdown(self) -> None:
        """Stop the trigger model and turn the output off at once (no ramp, no sleep)."""
        self.write(":ABOR;:OUTP OFF")
        self.isShutdown = True

    def reset(self) -> None:
        """Reset the instrument and clear its error queue."""
        self.write("*RST;*CLS")

def source_range(level: float) -> float:
    """Smallest 2450 voltage source range holding ``level`` (V)."""
    return smallest_range(level, VOLTAGE_RANGES, "the 2450's 200 V range")
