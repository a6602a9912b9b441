"""Run-file append throughput: RunWriter (six columns, flushed per chunk, transcript) vs raw h5py.

Both write the same number of samples in the same chunk size to a fresh file in the same run;
the raw path appends one compound dataset and flushes per chunk too. Prints samples/s and the
ratio.

    python benchmarks/store_append.py [--samples 1000000] [--chunk 1000]
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np

from labsuite.core.events import Progress, RunState
from labsuite.core.program import SAMPLE_DTYPE, PulseProgram, Segment, Train
from labsuite.store import RunWriter


def chunks(total: int, size: int) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    out = []
    for start in range(0, total, size):
        block = np.zeros(min(size, total - start), SAMPLE_DTYPE)
        block["t"] = np.arange(start, start + block.size) * 1e-3
        block["voltage"], block["current"] = 0.1, rng.normal(2e-6, 1e-8, block.size)
        block["repeat"] = np.arange(start, start + block.size)
        out.append(block)
    return out


def run_writer(path: Path, data: list[np.ndarray]) -> float:
    program = PulseProgram((Train((Segment(0.1, 1e-3, "read", True),)),), 1e-3)
    start = time.perf_counter()
    writer = RunWriter(path, protocol="benchmark", parameters={}, parameter_units={}, program=program, bench={})
    for block in data:
        writer.on_samples(block, Progress(0, 1, 0, 0))
    writer.on_finish(RunState.COMPLETED, None)
    writer.close()
    return time.perf_counter() - start


def raw_h5py(path: Path, data: list[np.ndarray]) -> float:
    start = time.perf_counter()
    with h5py.File(path, "w") as f:
        ds = f.create_dataset("samples", shape=(0,), maxshape=(None,), dtype=SAMPLE_DTYPE, chunks=(4096,))
        for block in data:
            n = ds.shape[0]
            ds.resize((n + block.size,))
            ds[n:] = block
            f.flush()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=1_000_000)
    parser.add_argument("--chunk", type=int, default=1000)
    args = parser.parse_args()
    data = chunks(args.samples, args.chunk)
    with tempfile.TemporaryDirectory() as folder:
        t_writer = run_writer(Path(folder) / "writer.h5", data)
        t_raw = raw_h5py(Path(folder) / "raw.h5", data)
    print(f"{args.samples} samples in chunks of {args.chunk}, flushed per chunk")
    print(f"RunWriter (6 columns + transcript): {args.samples / t_writer:12.3g} samples/s")
    print(f"raw h5py (one compound dataset):   {args.samples / t_raw:12.3g} samples/s")
    print(f"ratio raw / RunWriter: {t_writer / t_raw:.2f}x")


if __name__ == "__main__":
    main()
