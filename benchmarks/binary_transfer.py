"""Buffered readings fetched as ASCII or as binary blocks, from each simulated SMU served over
loopback TCP (pyvisa-py), the ways a driver can fetch a train's readings (the labsuite B2900,
2600B and 2450 drivers fetch float64 blocks).

Each SMU first takes N current readings into its buffer, then a plain pyvisa client fetches
them all, repeatedly, in each format:

- Keysight B2900: ``:FETC:ARR? (@1)`` (voltage, current, time) as ASCII NR3, and as IEEE 488.2
  definite-length blocks of float64 and float32 (``:FORM REAL,64|32``);
- Keithley 2450: ``:TRAC:DATA? 1,N,"defbuffer1",REL,SOUR,READ`` as ASCII, and as a ``#0`` block
  of doubles (``:FORM REAL``, ``:FORM:BORD SWAP``), read by its exact length;
- Keithley 2600B: ``printbuffer`` of the readings with ``format.asciiprecision = 10`` (what the
  driver printed before), and as a ``#0`` block of doubles (``format.data = format.REAL64``).

Printed: bytes per fetch, wall time per fetch, and the speed-up over ASCII.

    python benchmarks/binary_transfer.py [--readings 20000] [--repeats 10]
"""
from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
import pyvisa

from labsuite.simulator.server import InstrumentServer
from labsuite.simulator.station import SimulatedStation

Fetch = Callable[[pyvisa.resources.MessageBasedResource], tuple[np.ndarray, int]]   # values, reply bytes


def b2900(n: int) -> tuple[str, dict[str, Fetch]]:
    setup = (':SOUR1:VOLT 0.1;:SENS1:CURR:PROT 1e-3;:SENS1:FUNC "CURR","VOLT";:SENS1:CURR:APER 1e-5;'
             f":FORM:ELEM:SENS VOLT,CURR,TIME;:TRIG1:ACQ:SOUR TIM;:TRIG1:ACQ:TIM 2e-5;:TRIG1:ACQ:COUN {n};"
             ":OUTP1 ON;:INIT:ACQ (@1);*OPC?")

    def binary(data_format: str, datatype: str) -> Fetch:
        def fetch(inst):
            inst.write(f":FORM {data_format};:FORM:BORD NORM")
            values = inst.query_binary_values(":FETC:ARR? (@1)", datatype=datatype, is_big_endian=True,
                                              container=np.array)
            data = values.size * values.itemsize
            return values, 2 + len(str(data)) + data + 1
        return fetch

    return setup, {"ASCII": text_fetch(":FORM ASC;:FETC:ARR? (@1)"), "REAL,64": binary("REAL,64", "d"), "REAL,32": binary("REAL,32", "f")}


def text_fetch(message: str) -> Fetch:
    """Send ``message``, parse its comma-separated ASCII reply."""
    def fetch(inst):
        reply = inst.query(message)
        return np.array(reply.split(","), dtype=float), len(reply) + 1
    return fetch


def hash_zero_fetch(message: str, values: int) -> Fetch:
    """Send ``message``, read its ``#0`` block of ``values`` little-endian doubles by its length."""
    def fetch(inst):
        inst.write(message)
        block = inst.read_bytes(2 + 8 * values + 1)
        return np.frombuffer(block[2:-1], dtype="<f8"), len(block)
    return fetch


def keithley2450(n: int) -> tuple[str, dict[str, Fetch]]:
    setup = (f':TRAC:POIN {n},"defbuffer1";:SOUR:VOLT 0.1;:OUTP ON;:SENS:CURR:NPLC 0.01;:SENS:COUN {n};'
             ":TRAC:TRIG;*OPC?")
    query = f':TRAC:DATA? 1,{n},"defbuffer1",REL,SOUR,READ'

    return setup, {"ASCII": text_fetch(f":FORM ASC;{query}"),
                   "REAL": hash_zero_fetch(f":FORM:BORD SWAP;:FORM REAL;{query};:FORM ASC", 3 * n)}


def keithley2600(n: int) -> tuple[str, dict[str, Fetch]]:
    setup = ("smua.nvbuffer1.clear() smua.nvbuffer1.collecttimestamps = 1 smua.nvbuffer1.collectsourcevalues = 1 "
             f"smua.source.levelv = 0.1 smua.source.output = 1 smua.measure.nplc = 0.01 "
             f"smua.measure.count = {n} smua.measure.i(smua.nvbuffer1) print(1)")
    query = f"printbuffer(1, {n}, smua.nvbuffer1.timestamps, smua.nvbuffer1.sourcevalues, smua.nvbuffer1.readings)"

    return setup, {"ASCII": text_fetch(f"format.data = format.ASCII format.asciiprecision = 10 {query}"),
                   "REAL64": hash_zero_fetch(f"format.data = format.REAL64 format.byteorder = format.LITTLEENDIAN "
                                             f"{query}", 3 * n)}


SMUS = {"keysightb2900": b2900, "keithley2450": keithley2450, "keithley2600": keithley2600}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--readings", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    print(f"{args.readings} readings × 3 values over loopback TCP (pyvisa-py), mean of {args.repeats} fetches")
    print(f"{'SMU':<16}{'format':<10}{'bytes':>10}{'ms/fetch':>10}{'speed-up':>10}")
    for name, make in SMUS.items():
        station = SimulatedStation(seed=1, smu=name)
        setup, fetches = make(args.readings)
        with InstrumentServer({"smu": station.instruments["smu"]}) as server:
            rm = pyvisa.ResourceManager("@py")
            inst = rm.open_resource(server.endpoints[0].resource, read_termination="\n", write_termination="\n",
                                    timeout=120_000)
            try:
                inst.query(setup)
                rows = {}
                for label, fetch in fetches.items():
                    fetch(inst)
                    start = time.perf_counter()
                    for _ in range(args.repeats):
                        values, size = fetch(inst)
                    rows[label] = ((time.perf_counter() - start) / args.repeats, values, size)
                ascii_time, ascii_values, _ = rows["ASCII"]
                for label, (seconds, values, size) in rows.items():
                    assert np.allclose(values, ascii_values, rtol=1e-6, atol=1e-9), f"{name} {label} differs from ASCII"
                    print(f"{name:<16}{label:<10}{size:>10}{seconds * 1e3:>10.1f}{ascii_time / seconds:>9.1f}x")
            finally:
                inst.close()
                rm.close()


if __name__ == "__main__":
    main()
