"""Run-file append throughput: RunWriter against raw h5py writing the same data, in the same run.

Two cases, each chunk appended and flushed before the next (as a run does):

- ``potentiation``: 10 000 pulses at the default 50 ms period in 1 s chunks: 500 chunks of 20
  readings, each with the ten SMU messages (≈ 2 kB) a simulated 2450 exchanges per chunk;
- ``rows``: 100 000 readings of 1 ms pulses in 1 s chunks: 100 chunks of 1000, no transcript.

Raw h5py appends the readings to one compound dataset and the messages to three (t, direction,
message), the plainest h5py can do, without SWMR or disk checks. Each case is timed ``--repeats``
times, writer and raw interleaved; the medians are printed and the ratio of the appends alone
(the files already made) and of the whole file (made, appended, closed).

    python benchmarks/store_append.py [--repeats 5]
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np

from labsuite.core.events import Progress, RunState
from labsuite.core.program import SAMPLE_DTYPE, PulseProgram, Segment, Train
from labsuite.store import RunWriter
from labsuite.traffic import TrafficLog

Messages = list[tuple[float, str, str]]


def chunk_messages(t: float, readings: int) -> Messages:
    """What a hardware-timed chunk of ``readings`` exchanges with a simulated 2450 (lengths as recorded)."""
    data = ",".join(["0.000000000,1.000000E-01,2.006523E-05"] * readings)
    return [(t, "write", ":OUTP OFF;:TRIG:LOAD \"Empty\";" + "x" * 1065), (t, "write", "SYST:ERR?"),
            (t, "read", '0,"No error;0;0 0"'), (t, "write", ":INIT"), (t, "write", ":TRIG:STAT?"),
            (t, "read", "IDLE;IDLE;15"), (t, "write", "SYST:ERR?"), (t, "read", '0,"No error;0;0 0"'),
            (t, "write", f':TRAC:DATA? 1,{readings},"defbuffer1",REL,SOUR,READ'), (t, "read", data)]


def chunks(total: int, size: int, period: float, transcript: bool) -> list[tuple[np.ndarray, Messages]]:
    rng = np.random.default_rng(0)
    out = []
    for start in range(0, total, size):
        block = np.zeros(min(size, total - start), SAMPLE_DTYPE)
        block["t"] = np.arange(start, start + block.size) * period
        block["voltage"], block["current"] = 0.1, rng.normal(2e-6, 1e-8, block.size)
        block["repeat"] = np.arange(start, start + block.size)
        out.append((block, chunk_messages(float(block["t"][-1]), block.size) if transcript else []))
    return out


def run_writer(path: Path, data: list[tuple[np.ndarray, Messages]]) -> tuple[float, float]:
    """(append s, whole file s) of a RunWriter."""
    program = PulseProgram((Train((Segment(0.1, 1e-3, "read", True),)),), 1e-3)
    log = TrafficLog()
    start = time.perf_counter()
    writer = RunWriter(path, protocol="benchmark", parameters={}, parameter_units={}, program=program, bench={},
                       transcript=log)
    appending = time.perf_counter()
    for block, messages in data:
        log.entries.extend(messages)
        writer.on_samples(block, Progress(0, 1, 0, 0))
    appended = time.perf_counter()
    writer.on_finish(RunState.COMPLETED, None)
    writer.close()
    return appended - appending, time.perf_counter() - start


def raw_h5py(path: Path, data: list[tuple[np.ndarray, Messages]]) -> tuple[float, float]:
    """(append s, whole file s) of plain h5py writing the same readings and messages."""
    start = time.perf_counter()
    with h5py.File(path, "w") as f:
        samples = f.create_dataset("samples", shape=(0,), maxshape=(None,), dtype=SAMPLE_DTYPE, chunks=(4096,))
        traffic = [f.create_dataset(name, shape=(0,), maxshape=(None,), dtype=dtype, chunks=(1024,))
                   for name, dtype in (("t", "f8"), ("direction", h5py.string_dtype()),
                                       ("message", h5py.string_dtype()))]
        appending = time.perf_counter()
        for block, messages in data:
            n = samples.shape[0]
            samples.resize((n + block.size,))
            samples[n:] = block
            if messages:
                m = traffic[0].shape[0]
                for ds, column in zip(traffic, zip(*messages)):
                    ds.resize((m + len(messages),))
                    ds[m:] = list(column)
            f.flush()
        appended = time.perf_counter()
    return appended - appending, time.perf_counter() - start


CASES = {
    "potentiation: 10 000 pulses, 1 s chunks of 20 readings + 10 messages": (10_000, 20, 0.05, True),
    "rows: 100 000 readings, 1 s chunks of 1000": (100_000, 1000, 1e-3, False),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    for title, (total, size, period, transcript) in CASES.items():
        data = chunks(total, size, period, transcript)
        times: dict[str, list[tuple[float, float]]] = {"writer": [], "raw": []}
        with tempfile.TemporaryDirectory() as folder:
            for i in range(args.repeats):
                times["writer"].append(run_writer(Path(folder) / f"writer{i}.h5", data))
                times["raw"].append(raw_h5py(Path(folder) / f"raw{i}.h5", data))
        append = {k: statistics.median(a for a, _ in v) for k, v in times.items()}
        whole = {k: statistics.median(w for _, w in v) for k, v in times.items()}
        print(title)
        print(f"  RunWriter: {total / append['writer']:10.3g} readings/s appended, whole file {whole['writer']:.3f} s")
        print(f"  raw h5py:  {total / append['raw']:10.3g} readings/s appended, whole file {whole['raw']:.3f} s")
        print(f"  ratio RunWriter / raw: appends {append['writer'] / append['raw']:.2f}x, "
              f"whole file {whole['writer'] / whole['raw']:.2f}x")


if __name__ == "__main__":
    main()
