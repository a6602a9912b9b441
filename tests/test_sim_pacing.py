"""Real-time pacing (`labsuite sim serve --pace`): a sequence plays against the wall clock, and an
abort lands in the middle of it as on the instrument.

Each test plays a 10 s hardware-timed train (1000 repeats of a 1 V, 5 ms write and a measured
0.1 V, 5 ms read) through labsuite's driver on a station paced at 10× real time, sends the
driver's abort path (its ``shutdown``, the Runner's switch-off) from a second client once 1 s of
the train has played, and reads back what the instrument holds. Nothing is timed on the wall
clock: the abort waits for the virtual clock, and the counts are checked against it.
"""
import signal
import threading
import time
import types

import numpy as np
import pytest
import pyvisa

from labsuite import Bench, read_run, run_protocol
from labsuite.core.clock import VirtualClock
from labsuite.core.errors import InstrumentError
from labsuite.core.events import RunObserver
from labsuite.core.program import Segment, Train
from labsuite.simulator.faults import Fault
from labsuite.interrupts import Interrupted
from labsuite.simulator.server import InstrumentServer
from labsuite.simulator.station import SimulatedStation

SPEED = 10.0                 # virtual s per wall s
PERIOD = 10e-3               # s, one write and one read
REPEATS = 1000               # 10 s of train
ABORT_AFTER = 1.0            # s of virtual time into the train
COMPLIANCE = 1e-3            # A
TRAIN = Train((Segment(1.0, 5e-3, "write"), Segment(0.1, 5e-3, "read", measure=True)), REPEATS)


def _wait_for(condition, what: str) -> None:
    """Poll ``condition()`` until it holds (a minute at most, for a stalled machine)."""
    deadline = time.monotonic() + 60
    while not condition():
        assert time.monotonic() < deadline, f"never saw {what}"
        time.sleep(0.002)


def _keithley2450(session) -> tuple[np.ndarray, bool]:
    """Readings so far (2450 §6 ``:TRACe:ACTual?``, ``:TRACe:DATA?``) and the output state."""
    k = int(session.query(':TRAC:ACT? "defbuffer1"'))
    currents = session.query(f':TRAC:DATA? 1,{k},"defbuffer1",READ').split(",") if k else []
    return np.array(currents, dtype=float), session.query(":OUTP?").strip() == "1"


def _keithley2600(session) -> tuple[np.ndarray, bool]:
    """Readings so far (2600B §7 ``smua.nvbuffer1``: one per segment, the read is the 2nd) and the output."""
    n = int(float(session.query("print(smua.nvbuffer1.n)")))
    readings = session.query(f"format.data = format.ASCII printbuffer(1, {n}, smua.nvbuffer1.readings)")
    currents = np.array(readings.split(","), dtype=float) if n else np.empty(0)
    return currents[1::2], float(session.query("print(smua.source.output)")) != 0


def _keithley2400(session) -> tuple[np.ndarray, bool]:
    """Readings so far (2400 §18 ``:FETCh?`` with the driver's ``:FORMat:ELEMents``: the read is
    the 2nd list point of a repeat) and the output state."""
    elements = session.query(":FORM:ELEM?").strip().split(",")
    fields = [f for f in session.query(":FETC?").split(",") if f]
    rows = np.array(fields, dtype=float).reshape(-1, len(elements))
    return rows[1::2, elements.index("CURR")], session.query(":OUTP?").strip() == "1"


def _keysightb2900(session) -> tuple[np.ndarray, bool]:
    """Readings so far (B2900 ch. 4 ``:FETCh:ARRay:CURRent?``, in ASCII) and channel 1's output."""
    currents = session.query(":FORM ASC;:FETC:ARR:CURR? (@1)").split(",")
    return np.array([c for c in currents if c], dtype=float), session.query(":OUTP1?").strip() == "1"


READ_BACK = {"keithley2400": _keithley2400, "keithley2450": _keithley2450, "keithley2600": _keithley2600,
             "keithley2612b": _keithley2600, "keysightb2900": _keysightb2900}


def _abort_one_second_in(smu: str, tcp_session) -> tuple[np.ndarray, float, bool, BaseException | None]:
    """Start TRAIN on a paced served ``smu``, abort it 1 s in; return (currents read so far, the
    longest the train can have played (s, virtual), whether the output is on afterwards, what the
    driver's ``run_train`` raised)."""
    station = SimulatedStation(seed=1, smu=smu, clock=VirtualClock(follow_wall=True, speed=SPEED), paced=True)
    clock = station.clock
    with InstrumentServer(station.served()) as server:
        resource = next(e.resource for e in server.endpoints if e.role == "smu")
        with tcp_session(resource) as second, Bench.connect(resource, smu) as bench:   # the bench closes first
            bench.smu.configure(COMPLIANCE, 1.0)
            outcome: list[BaseException | None] = []

            def play() -> None:
                try:
                    bench.smu.run_train(TRAIN, COMPLIANCE)
                    outcome.append(None)
                except Exception as exc:   # noqa: BLE001 (what the driver makes of the abort is reported)
                    outcome.append(exc)

            before = clock.now()     # the train starts after this
            worker = threading.Thread(target=play, daemon=True)
            worker.start()
            sequencer = station.faults["smu"].sequencer
            _wait_for(lambda: sequencer.running or outcome, "the train start")
            started = clock.now()    # the train started at or before this (the clock holds while it plays)
            _wait_for(lambda: clock.now() - started >= ABORT_AFTER or outcome, "1 s of train")
            second.write(_shutdown(bench.smu))
            currents, on = READ_BACK[smu](second)   # after the abort has run (replies come in order)
            played = clock.now() - before            # the train played at most this long
            worker.join(30)
            assert not worker.is_alive(), "the driver kept waiting for an aborted train"
    return currents, played, on, outcome[0]


def _shutdown(driver) -> str:
    """The message the driver's ``shutdown`` writes (the Runner's switch-off), captured."""
    sent = []
    write = driver.write
    driver.write = sent.append
    try:
        driver.shutdown()
    finally:
        driver.write = write
    return ";".join(sent)


def _virtual_readings(smu: str) -> np.ndarray:
    """The whole train's currents in virtual time on an identical (unpaced, in-process) bench."""
    with Bench.simulated(seed=1, smu=smu) as bench:
        bench.smu.configure(COMPLIANCE, 1.0)
        return bench.smu.run_train(TRAIN, COMPLIANCE).current


@pytest.mark.parametrize("smu", sorted(READ_BACK))
def test_an_abort_one_second_into_a_paced_train_stops_it_with_the_output_off(smu, tcp_session):
    """Issue #14: the abort stops the sequence, the output is off, the readings so far remain."""
    currents, played, on, outcome = _abort_one_second_in(smu, tcp_session)
    k = currents.size
    assert 0 < k < REPEATS, repr(outcome)
    # the train ran ≥ 1 s before the abort (a reading at the end of each period), and no more
    # readings came than the time it had allows
    assert ABORT_AFTER / PERIOD - 1 <= k <= played / PERIOD + 1
    assert not on
    # the driver playing the train reports the abort rather than returning a short train
    assert isinstance(outcome, InstrumentError), repr(outcome)
    # pacing changes when the readings come, not what they are
    assert currents == pytest.approx(_virtual_readings(smu)[:k], rel=1e-5)   # to the 6 digits printed


# a 2450 trigger model of READS readings 10 ms apart (0.2 ms aperture, 9.8 ms delay; 2450 §6
# :TRIGger:BLOCk): 100 s of virtual time
READS = 10_000
MODEL_2450 = (':SOUR:VOLT 0.1;:SENS:CURR:NPLC 0.012;:OUTP ON;:TRIG:LOAD "Empty";:TRIG:BLOC:BUFF:CLE 1,"defbuffer1";'
              ':TRIG:BLOC:MEAS 2,"defbuffer1";:TRIG:BLOC:DEL:CONS 3,0.0098;'
              f':TRIG:BLOC:BRAN:COUN 4,{READS},2')


def _paced_station() -> SimulatedStation:
    return SimulatedStation(seed=1, clock=VirtualClock(follow_wall=True, speed=SPEED), paced=True)


def _count(session) -> int:
    return int(session.query(':TRAC:ACT? "defbuffer1"'))


def test_status_queries_see_a_paced_trigger_model_running_and_its_readings_as_taken(tcp_session):
    """2450 §6 ``:TRIGger:STATe?`` (RUNNING while the model runs, ABORTED after ``:ABORt``) and
    ``:TRACe:ACTual?`` growing as readings are taken, from the connection that started it."""
    station = _paced_station()
    with InstrumentServer(station.served()) as server, tcp_session(server.endpoints[0].resource) as smu:
        smu.write(MODEL_2450)
        smu.write(":INIT")
        assert smu.query(":TRIG:STAT?").startswith("RUNNING;RUNNING;")
        first = _count(smu)
        _wait_for(lambda: _count(smu) > first, "a reading arrive")
        assert 0 < _count(smu) < READS
        smu.write(":ABOR")
        assert smu.query(":TRIG:STAT?").startswith("ABORTED;ABORTED;")
        taken = _count(smu)
        assert 0 < taken < READS and _count(smu) == taken   # nothing more comes
        # readings 10 ms apart on the bench clock, however the wall clock went
        stamps = np.array(smu.query(f':TRAC:DATA? 1,{taken},"defbuffer1",REL').split(","), dtype=float)
        assert np.diff(stamps) == pytest.approx(np.full(taken - 1, 10e-3), abs=1e-9)


def test_a_device_clear_stops_a_paced_trigger_model_in_process():
    """IEEE 488.2 device clear (pyvisa ``clear()``, in-process transport) stops the model mid-way."""
    station = _paced_station()
    rm = pyvisa.ResourceManager(station.visa_library())
    smu = rm.open_resource(station.resources["smu"], read_termination="\n", write_termination="\n")
    try:
        smu.write(MODEL_2450)
        smu.write(":INIT")
        _wait_for(lambda: _count(smu) > 10, "ten readings")
        smu.clear()
        assert smu.query(":TRIG:STAT?").startswith("ABORTED")
        taken = _count(smu)
        assert 10 < taken < READS and _count(smu) == taken
    finally:
        smu.close()
        rm.close()


def test_a_power_loss_mid_sequence_stops_it_and_drops_the_output(tcp_session):
    """``FAULT smu,POWER`` lands while the model runs: the sequence ends, the output is off, the
    buffers are gone (power-on state) and the link drops; a new connection finds the SMU idle."""
    station = _paced_station()
    with InstrumentServer(station.served()) as server:
        smu_resource, control_resource = (e.resource for e in server.endpoints)
        with tcp_session(smu_resource) as smu, tcp_session(control_resource) as control:
            smu.write(MODEL_2450)
            smu.write(":INIT")
            _wait_for(lambda: _count(smu) > 10, "ten readings")
            control.write("FAULT smu,POWER")
            assert control.query("SYST:ERR?") == '0,"No error"'
            assert not station.faults["smu"].sequencer.running
            assert station.node.ports[0].voltage == 0.0   # output off in the normal off state: 0 V
            with pytest.raises(pyvisa.errors.VisaIOError):
                smu.query(":TRIG:STAT?")                  # the link went down with the mains
        with tcp_session(smu_resource) as smu:
            assert smu.query(":TRIG:STAT?").startswith("IDLE")
            assert smu.query(":OUTP?") == "0" and _count(smu) == 0


def test_waits_of_a_paced_sequence_are_not_charged_to_its_budget(tcp_session):
    """A sequence longer on the wall clock than the 30 s message budget is not stopped by it: its
    budget counts computing, not waiting (here a budget of 1 s and 3 s of waiting)."""
    station = _paced_station()
    station.instruments["smu"].run_control.seconds = 1.0
    with InstrumentServer(station.served()) as server, tcp_session(server.endpoints[0].resource) as smu:
        smu.write(':SOUR:VOLT 0.1;:OUTP ON;:TRIG:LOAD "Empty";:TRIG:BLOC:DEL:CONS 1,30;:TRIG:BLOC:MEAS 2')
        smu.write(":INIT")
        assert smu.query("*OPC?") == "1"      # waits for the model's end
        assert smu.query(":TRIG:STAT?").startswith("IDLE") and _count(smu) == 1
        assert smu.query(":SYST:ERR?").startswith("0,")


def test_sim_serve_paces_with_the_pace_option(tmp_path, tcp_session):
    """``labsuite sim serve --pace 10``: an :INIT returns with the trigger model RUNNING."""
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "labsuite", "sim", "serve", "--pace", "10"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        line = proc.stdout.readline()
        assert line, proc.stderr.read()
        with tcp_session(line.split("\t")[1]) as smu:
            smu.write(MODEL_2450)
            smu.write(":INIT")
            assert smu.query(":TRIG:STAT?").startswith("RUNNING")
            smu.write(":ABOR;:OUTP OFF")
            assert smu.query(":TRIG:STAT?").startswith("ABORTED") and smu.query(":OUTP?") == "0"
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.mark.parametrize("generator", ["keysight33500", "tektronixafg31000"])
def test_a_paced_burst_plays_in_the_background_and_an_abort_ends_it(generator, tcp_session):
    """A 10 s burst (1000 pulses of 1 ms every 10 ms) on a bus trigger, through labsuite's driver:
    ``*OPC`` sets Operation Complete only once the burst is over (IEEE 488.2 §12.5.2), so the
    driver's ``trigger`` waits for it; its ``outputs_off`` message 1 s in ends the burst there."""
    from labsuite.drivers.keysight.keysight33500 import Keysight33500
    from labsuite.drivers.tektronix.tektronixafg31000 import TektronixAFG31000

    station = SimulatedStation(seed=1, pulse_generator=generator, paced=True,
                               clock=VirtualClock(follow_wall=True, speed=SPEED))
    clock, sequencer = station.clock, station.faults["pulse_generator"].sequencer
    with InstrumentServer(station.served()) as server:
        resource = next(e.resource for e in server.endpoints if e.role == "pulse_generator")
        driver = {"keysight33500": Keysight33500, "tektronixafg31000": TektronixAFG31000}[generator]
        with tcp_session(resource) as second:
            gen = driver(resource)
            try:
                gen.configure_burst(1.0, 1e-3, PERIOD, REPEATS, gen.capabilities.min_edge)
                gen.set_output(True)
                outcome: list[BaseException | None] = []

                def fire() -> None:
                    try:
                        gen.trigger()
                        outcome.append(None)
                    except Exception as exc:   # noqa: BLE001
                        outcome.append(exc)

                worker = threading.Thread(target=fire, daemon=True)
                worker.start()
                _wait_for(lambda: sequencer.running or outcome, "the burst start")
                started = clock.now()
                assert not outcome                   # trigger() waits while the burst plays
                _wait_for(lambda: clock.now() - started >= ABORT_AFTER, "1 s of burst")
                second.write(gen.outputs_off)
                assert second.query("*OPC?") == "1" and not sequencer.running
                ended = clock.now() - started
                worker.join(30)
                assert outcome == [None]             # the burst is over, cut short
                assert ABORT_AFTER <= ended < 0.5 * REPEATS * PERIOD
                assert station.node.ports[1].voltage is None   # output relay open
            finally:
                gen.adapter.close()


def test_an_abort_before_the_sequence_thread_starts_still_leaves_it_aborted(tcp_session):
    """``:INIT;:ABOR`` in one message: the model is stopped before its thread has run a block."""
    station = _paced_station()
    with InstrumentServer(station.served()) as server, tcp_session(server.endpoints[0].resource) as smu:
        smu.write(MODEL_2450)
        smu.write(":INIT;:ABOR")
        assert smu.query(":TRIG:STAT?").startswith("ABORTED") and _count(smu) == 0



STOP_AFTER = 0.5       # s (virtual) into a pulse chunk after the first: half of it has played
PULSES_PER_CHUNK = 20   # the Runner's 1 s chunks of 50 ms pulse periods
POTENTIATION = {"pulses": 200, "width": "1 ms", "period": "50 ms"}   # 10 s of pulses
DRIVER_TIME = {"keithley2400": "labsuite.drivers.keithley.keithley2400.time",
               "keithley2450": "labsuite.drivers.keithley.keithley2450.time",
               "keithley2600": "labsuite.drivers.keithley.keithley2600.time",
               "keysightb2900": "labsuite.drivers.keysight.keysightb2900.time"}


class _StopMidChunk(RunObserver):
    """Ctrl-C lands in one of the driver's polls of its sequencer STOP_AFTER s (virtual) after the
    first poll of a pulse chunk that follows a kept one (so the chunk has played that long)."""

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self.kept: float | None = None      # bench s when the last pulse chunk before the stop was kept
        self.pulses = 0                     # readings of those chunks
        self.polled: float | None = None    # bench s of the first poll of the chunk after it
        self.stopped: float | None = None   # bench s when the stop landed

    def on_samples(self, samples: np.ndarray, progress) -> None:
        if self.stopped is None and np.any(samples["train"] == 1):
            self.kept, self.polled = self.clock.now(), None
            self.pulses += samples.size

    def sleep(self, seconds: float) -> None:
        """``time.sleep``, interrupted by the stop once its time has come."""
        if self.kept is not None and self.polled is None:
            self.polled = self.clock.now()
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if self.polled is not None and self.clock.now() - self.polled >= STOP_AFTER:
                self.stopped = self.clock.now()
                raise Interrupted(signal.SIGINT)
            time.sleep(min(1e-3, seconds))


def _stopped_potentiation(smu: str, out_dir, monkeypatch, fault: Fault | None = None):
    """Run POTENTIATION hardware-timed on a paced served ``smu`` through its driver, stopped in a
    pulse chunk after the first (``_StopMidChunk``), ``fault`` armed on the stop's first message;
    return the run file, whether the SMU's output is on afterwards, and the stop."""
    station = SimulatedStation(seed=1, smu=smu, clock=VirtualClock(follow_wall=True, speed=SPEED), paced=True)
    stop = _StopMidChunk(station.clock)
    monkeypatch.setattr(DRIVER_TIME[smu], types.SimpleNamespace(monotonic=time.monotonic, sleep=stop.sleep))
    injector = station.faults["smu"]
    process = injector.process
    struck: list[str] = []

    def armed(message: str) -> str | None:
        if fault is not None and stop.stopped is not None and not struck:
            struck.append(message)
            injector.arm(fault)
        return process(message)

    injector.process = armed
    with InstrumentServer(station.served()) as server:
        resource = next(e.resource for e in server.endpoints if e.role == "smu")
        with Bench.connect(resource, smu) as bench, pytest.raises(Interrupted):
            bench.smu.adapter.connection.timeout = 2000   # ms: a dropped link shows within this
            run_protocol("potentiation", bench, POTENTIATION, out_dir=out_dir, timing="hardware", observers=[stop])
        injector.process = process
        on = station.instruments["smu"].process(":OUTP?") == "1"
    return read_run(next(out_dir.glob("*.h5"))), on, stop


@pytest.mark.parametrize("smu", sorted(DRIVER_TIME))
def test_a_stop_during_a_hardware_timed_chunk_keeps_the_readings_it_took(smu, tmp_path, monkeypatch):
    """Ctrl-C 0.5 s into a later chunk of a 10 s hardware-timed potentiation on a paced bench:
    the run ends aborted with the output off, and the file holds the chunks before it and the k
    readings it took, equal to an unstopped virtual-time run's, none beyond what its time allowed."""
    run, on, stop = _stopped_potentiation(smu, tmp_path / "stopped", monkeypatch)
    assert run.status == "aborted" and not on
    with Bench.simulated(seed=1, smu=smu) as bench:
        whole = read_run(run_protocol("potentiation", bench, POTENTIATION, out_dir=tmp_path / "whole",
                                      timing="hardware").path).samples
    pulses = run.samples[run.samples["train"] == 1]
    k = pulses.size - stop.pulses
    # some of the stopped chunk, no more readings than the time from its start to the stop allows
    assert stop.pulses % PULSES_PER_CHUNK == 0
    assert STOP_AFTER / 50e-3 - 1 <= k <= (stop.stopped - stop.kept) / 50e-3 + 1 and k < PULSES_PER_CHUNK
    expected = whole[whole["train"] == 1][:pulses.size]
    assert np.array_equal(pulses["repeat"], expected["repeat"])
    assert np.array_equal(pulses["segment"], expected["segment"])
    assert pulses["current"] == pytest.approx(expected["current"], rel=1e-5)


@pytest.mark.parametrize("smu", sorted(DRIVER_TIME))
def test_a_link_dropped_while_fetching_a_stopped_chunk_still_ends_with_the_output_off(smu, tmp_path, monkeypatch,
                                                                                      caplog):
    """The link drops on the stop's first message: the readings of the stopped chunk are lost (a log
    line says so), the output is switched off over a new connection, the earlier chunks are kept."""
    run, on, stop = _stopped_potentiation(smu, tmp_path, monkeypatch, Fault.DROP)
    assert run.status == "aborted" and not on
    assert np.count_nonzero(run.samples["train"] == 1) == stop.pulses > 0
    assert "readings of the stopped hardware-timed chunk were not fetched" in caplog.text


def test_a_second_stop_while_fetching_a_stopped_chunk_still_ends_with_the_output_off(tmp_path, monkeypatch, caplog):
    """A second Ctrl-C lands while the driver fetches the stopped chunk's readings: they are lost (a
    log line says so), the output goes off, the earlier chunks are kept."""
    from labsuite.drivers.keithley.keithley2450 import Keithley2450

    fetch, stop_train = Keithley2450.buffer_readings, Keithley2450.stop_train
    stopping: list[bool] = []

    def second_stop(self, n: int) -> np.ndarray:
        if stopping:
            raise Interrupted(signal.SIGINT)
        return fetch(self, n)

    def stopped(self):
        stopping.append(True)
        return stop_train(self)

    monkeypatch.setattr(Keithley2450, "buffer_readings", second_stop)
    monkeypatch.setattr(Keithley2450, "stop_train", stopped)
    run, on, stop = _stopped_potentiation("keithley2450", tmp_path, monkeypatch)
    assert run.status == "aborted" and not on
    assert np.count_nonzero(run.samples["train"] == 1) == stop.pulses > 0
    assert "readings of the stopped hardware-timed chunk were not fetched: Interrupted" in caplog.text
