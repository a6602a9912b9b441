"""Real-time pacing (`labsuite sim serve --pace`): a sequence plays against the wall clock, and an
abort lands in the middle of it as on the instrument.

Each test plays a 10 s hardware-timed train (1000 repeats of a 1 V, 5 ms write and a measured
0.1 V, 5 ms read) through labsuite's driver on a station paced at 10× real time, sends the
driver's abort path (its ``shutdown``, the Runner's switch-off) from a second client once 1 s of
the train has played, and reads back what the instrument holds. Nothing is timed on the wall
clock: the abort waits for the virtual clock, and the counts are checked against it.
"""
import threading
import time

import numpy as np
import pytest

from labsuite import Bench
from labsuite.core.clock import VirtualClock
from labsuite.core.program import Segment, Train
from labsuite.simulator.server import InstrumentServer
from labsuite.simulator.station import SimulatedStation

SPEED = 10.0                 # virtual s per wall s
PERIOD = 10e-3               # s, one write and one read
REPEATS = 1000               # 10 s of train
ABORT_AFTER = 1.0            # s of virtual time into the train
COMPLIANCE = 1e-3            # A
TRAIN = Train((Segment(1.0, 5e-3, "write"), Segment(0.1, 5e-3, "read", measure=True)), REPEATS)

# how a second client reads the readings taken so far: (count query, data query of k readings)
READINGS = {
    "keithley2450": (':TRAC:ACT? "defbuffer1"', ':TRAC:DATA? 1,{k},"defbuffer1",READ'),
}


def _abort_one_second_in(smu: str, tcp_session) -> tuple[np.ndarray, float, bool, str]:
    """Start TRAIN on a paced served ``smu``, abort it 1 s in; return (currents read so far, the
    train's virtual time at the abort, whether the output is on afterwards, the last state poll)."""
    station = SimulatedStation(seed=1, smu=smu, clock=VirtualClock(follow_wall=True, speed=SPEED), paced=True)
    clock = station.clock
    count_query, data_query = READINGS[smu]
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

            start = clock.now()
            worker = threading.Thread(target=play, daemon=True)
            worker.start()
            deadline = time.monotonic() + 60
            while clock.now() - start < ABORT_AFTER and time.monotonic() < deadline:
                time.sleep(0.005)
            second.write(_shutdown(bench.smu))
            aborted_at = clock.now() - start
            k = int(float(second.query(count_query)))
            currents = np.array(second.query(data_query.format(k=k)).split(","), dtype=float) if k else np.empty(0)
            on = second.query(":OUTP?").strip() in ("1", "ON")
            worker.join(30)
            assert not worker.is_alive(), "the driver kept waiting for an aborted train"
    return currents, aborted_at, on, repr(outcome)


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


@pytest.mark.parametrize("smu", sorted(READINGS))
def test_an_abort_one_second_into_a_paced_train_stops_it_with_the_output_off(smu, tcp_session):
    currents, aborted_at, on, outcome = _abort_one_second_in(smu, tcp_session)
    k = currents.size
    assert 0 < k < REPEATS, outcome
    # the train ran ≥ 1 s before the abort: about 100 readings, no more than the time allows
    assert 0.5 * ABORT_AFTER / PERIOD <= k <= aborted_at / PERIOD + 1
    assert not on
    assert "aborted" in outcome   # the driver playing the train reports the abort, not a short train
    # pacing changes when the readings come, not what they are
    assert currents == pytest.approx(_virtual_readings(smu)[:k], rel=1e-6)
