"""Reading transfers as ASCII or binary blocks, on the simulated B2900 served over loopback TCP.

The simulated B2902A takes N readings on its acquire timer (one ``:INIT:ACQ``), then a plain
pyvisa-py client fetches them all with ``:FETC:ARR? (@1)`` (voltage, current, time) in each data
format of ``:FORMat[:DATA]``: ASCII NR3 (``+1.000000E-01,...``, parsed by pyvisa's
``query_ascii_values``) and IEEE 488.2 definite-length blocks of float64 and float32
(``query_binary_values``). Printed: bytes per fetch, wall time per fetch, and each format's
speed-up over ASCII. The labsuite B2900 driver fetches float64 blocks.

    python benchmarks/binary_transfer.py [--readings 20000] [--repeats 20]
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import pyvisa

from labsuite.simulator.server import InstrumentServer
from labsuite.simulator.station import SimulatedStation

FORMATS = {"ASC": None, "REAL,64": "d", "REAL,32": "f"}


def fetch(inst: pyvisa.resources.MessageBasedResource, data_format: str, repeats: int) -> tuple[int, float, np.ndarray]:
    """(bytes of one reply, wall s per fetch, the values) of ``repeats`` fetches in ``data_format``."""
    inst.write(f":FORM {data_format};:FORM:BORD NORM")
    start = time.perf_counter()
    for _ in range(repeats):
        if FORMATS[data_format] is None:
            values = np.array(inst.query_ascii_values(":FETC:ARR? (@1)"))
        else:
            values = inst.query_binary_values(":FETC:ARR? (@1)", datatype=FORMATS[data_format], is_big_endian=True,
                                              container=np.array)
    seconds = (time.perf_counter() - start) / repeats
    if FORMATS[data_format] is None:
        size = len(",".join(f"{v:+.6E}" for v in values)) + 1
    else:
        data = values.size * np.dtype(FORMATS[data_format]).itemsize
        size = 2 + len(str(data)) + data + 1           # "#", digit count, length, data, terminator
    return size, seconds, values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--readings", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    station = SimulatedStation(seed=1, smu="keysightb2900")
    with InstrumentServer(station.instruments) as server:
        rm = pyvisa.ResourceManager("@py")
        inst = rm.open_resource(server.endpoints[0].resource, read_termination="\n", write_termination="\n",
                                timeout=60_000)
        try:
            inst.write(':SOUR1:VOLT 0.1;:SENS1:CURR:PROT 1e-3;:SENS1:FUNC "CURR","VOLT";:SENS1:CURR:APER 1e-5;'
                       f":FORM:ELEM:SENS VOLT,CURR,TIME;:TRIG1:ACQ:SOUR TIM;:TRIG1:ACQ:TIM 2e-5;"
                       f":TRIG1:ACQ:COUN {args.readings};:OUTP1 ON;:INIT:ACQ (@1)")
            inst.query("*OPC?")
            print(f"{args.readings} readings × 3 values, :FETC:ARR? over loopback TCP (pyvisa-py), "
                  f"mean of {args.repeats} fetches")
            print(f"{'format':<10}{'bytes':>10}{'ms/fetch':>10}{'speed-up':>10}")
            rows = {name: fetch(inst, name, args.repeats) for name in FORMATS}
            ascii_time, ascii_values = rows["ASC"][1], rows["ASC"][2]
            for name, (size, seconds, values) in rows.items():
                assert np.allclose(values, ascii_values, rtol=1e-6), f"{name} readings differ from ASCII"
                print(f"{name:<10}{size:>10}{seconds * 1e3:>10.2f}{ascii_time / seconds:>9.1f}x")
            inst.write(":OUTP1 OFF")
        finally:
            inst.close()
            rm.close()


if __name__ == "__main__":
    main()
