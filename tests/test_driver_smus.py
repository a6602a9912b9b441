"""What every SMU driver sends for the SourceMeter calls that all of them make alike, each in its
instrument's own command language (pymeasure's ``expected_protocol``: the exact bytes): a single
reading, shutdown, ``raise_errors`` reading the queue to its end and raising the first error, and
a train whose loading fails stopped before the output turns on. What a driver does its own way
(configure, trains) is pinned in its ``tests/test_driver_<name>.py``."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from pymeasure.test import expected_protocol

from labsuite.core.errors import InstrumentError
from labsuite.core.program import Segment, Train
from labsuite.drivers.keithley.keithley2400 import Keithley2400
from labsuite.drivers.keithley.keithley2450 import Keithley2450
from labsuite.drivers.keithley.keithley2600 import Keithley2600
from labsuite.drivers.keysight.keysightb2900 import KeysightB2900
from labsuite.registry import INSTRUMENTS, names

SCPI_QUERY = "SYST:ERR?"
TSP_QUERY = "print(errorqueue.next())"
TSP_EMPTY = "0.00000e+00\tQueue Is Empty\t0.00000e+00\t1.00000e+00"
WRITE = Segment(1.5, 1e-3, "write")
READ = Segment(0.1, 1e-3, "read", measure=True)


class Keithley2400At60Hz(Keithley2400):
    """A 2400 whose line frequency, 60 Hz, has been read already."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._mains_frequency = 60.0


class Keithley2450At60Hz(Keithley2450):
    line_frequency = 60.0


class Keithley2600At60Hz(Keithley2600):
    line_frequency = 60.0


@dataclass(frozen=True)
class Queue:
    """A driver's error queue: the query, its empty reply, two errors and how the first one is raised."""

    driver: type
    query: str
    empty: str
    errors: tuple[str, str]
    raised: str


QUEUES = {
    "keithley2400": Queue(Keithley2400At60Hz, SCPI_QUERY, '0,"No error"',
                          ('-222,"Parameter data out of range"', '-113,"Undefined header"'),
                          "-222, Parameter data out of range"),
    "keithley2450": Queue(Keithley2450At60Hz, SCPI_QUERY, '0,"No error;0;0 0"',
                          ('-222,"Parameter data out of range;1;2026/01/01 00:00:00.000"',
                           '-113,"Undefined header;1;2026/01/01 00:00:00.001"'),
                          "-222, Parameter data out of range"),
    "keithley2600": Queue(Keithley2600At60Hz, TSP_QUERY, TSP_EMPTY,
                          ("1.10100e+03\tParameter too big\t2.00000e+01\t1.00000e+00",
                           "-2.85000e+02\tTSP Syntax error\t2.00000e+01\t1.00000e+00"),
                          "1101, Parameter too big"),
    "keysightb2900": Queue(KeysightB2900, SCPI_QUERY, '+0,"No error"',
                           ('-222,"Data out of range"', '-114,"Header suffix out of range"'),
                           "-222, Data out of range"),
}

#: how each driver that loads a train in one message builds that message
TRAIN_MESSAGES: dict[str, Callable[[object, Train], str]] = {
    "keithley2400": lambda smu, train: smu.sweep_message(train, smu.list_plan(train), 1e-3, reset_time=True),
    "keithley2450": lambda smu, train: smu.train_message(train, 1e-3),
    "keysightb2900": lambda smu, train: smu.sweep_message(train, smu.plan(train), 1e-3, reset_time=True),
}


#: a single reading integrating 1 ms at 60 Hz (0.06 PLC): the message and a reply of 0.1 V, 2 µA
READINGS = {
    # 2400 section 17 :READ?: the first two of the five data elements are V and I
    "keithley2400": (":SENS:CURR:NPLC 0.06;:READ?",
                     "+1.000000E-01,+2.000000E-06,+9.910000E+37,+1.234000E+00,+2.048400E+04"),
    "keithley2450": (':FORM ASC;:SENS:CURR:NPLC 0.06;:READ? "defbuffer1",SOUR,READ', "0.1,2e-6"),
    "keithley2600": ("smua.measure.nplc = 0.06 print(smua.measure.iv())", "2.00000e-06\t1.00000e-01"),
}
#: shutdown as one message: abort, then the output off at once (no ramp, no sleep)
SHUTDOWNS = {"keithley2400": ":ABOR;:OUTP OFF", "keithley2450": ":ABOR;:OUTP OFF"}


@pytest.mark.parametrize("name", READINGS)
def test_a_single_reading_sets_the_integration_and_returns_voltage_and_current(name):
    message, reply = READINGS[name]
    with expected_protocol(QUEUES[name].driver, [(message, reply)]) as smu:
        assert smu.measure(1e-3) == (0.1, 2e-6)


#: a train stopped before it started (``stop_train``): the abort alone
ABORTS = {"keithley2400": ":ABOR", "keithley2450": ":ABOR", "keithley2600": "smua.abort()",
          "keysightb2900": ":ABOR (@1)"}


@pytest.mark.parametrize("name", ABORTS)
def test_a_train_stopped_before_it_started_sends_the_abort_alone_and_gives_no_readings(name):
    """Before the train starts the buffer holds an earlier train's readings: none is returned."""
    with expected_protocol(QUEUES[name].driver, [(ABORTS[name], None)]) as smu:
        assert smu.stop_train().current.size == 0


@pytest.mark.parametrize("name", SHUTDOWNS)
def test_shutdown_aborts_and_turns_the_output_off_without_ramping(name):
    with expected_protocol(QUEUES[name].driver, [(SHUTDOWNS[name], None)]) as smu:
        smu.shutdown()
        assert smu.isShutdown


@pytest.mark.parametrize("name", QUEUES)
def test_raise_errors_raises_the_first_error_and_reads_the_queue_to_its_end(name):
    queue = QUEUES[name]
    with expected_protocol(queue.driver, [
        (queue.query, queue.empty),
        (queue.query, queue.errors[0]),
        (queue.query, queue.errors[1]),
        (queue.query, queue.empty),
    ]) as smu:
        smu.raise_errors()
        with pytest.raises(InstrumentError, match=queue.raised):
            smu.raise_errors()


@pytest.mark.parametrize("name", TRAIN_MESSAGES)
def test_an_error_while_loading_stops_before_the_output_turns_on(name):
    """A refused setting in the train's message must not be followed by :OUTP ON or :INIT."""
    queue, train = QUEUES[name], Train((WRITE, READ), 1)
    with expected_protocol(queue.driver, []) as smu:
        message = TRAIN_MESSAGES[name](smu, train)
    with expected_protocol(queue.driver, [
        (message, None),
        (queue.query, queue.errors[0]),
        (queue.query, queue.empty),
    ], connection_attributes={"timeout": 10_000}) as smu:
        with pytest.raises(InstrumentError, match=queue.raised):
            smu.run_train(train, compliance=1e-3)


def test_every_registered_smu_driver_has_its_queue_here():
    for name in names("smu"):
        assert any(issubclass(queue.driver, INSTRUMENTS[name].driver) for queue in QUEUES.values()), name
