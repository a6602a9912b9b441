"""Buffered pulse train vs per-pulse loop, on every simulated SMU: VISA transfers and wall time.

A 1000-pulse potentiation (1 ms pulses every 10 ms, each read for 1 ms 2 ms later: a train every
SMU's sequencer can play) runs on each simulated SMU served on 127.0.0.1 and reached with plain
pyvisa-py, once as hardware-timed trains (the instrument's own sequencer: 2450 trigger model,
2400 source list, 2600B TSP script, B2900 list sweep; one buffer read per chunk) and once as a
software-timed loop (a command per segment, a query per read). Both share one virtual clock
with the server, so neither waits for the program's source time: the wall time is
communication and simulation only. On hardware a LAN round trip costs about 1 ms more.

    python benchmarks/train_roundtrips.py [--pulses 1000] [--smu NAME ...]
"""
from __future__ import annotations

import argparse
import time

from labsuite import Bench, make_protocol
from labsuite.core.errors import LabsuiteError
from labsuite.runner import Runner
from labsuite import registry
from labsuite.traffic import TrafficLog

TRAIN = {"width": "1 ms", "period": "10 ms", "read_delay": "2 ms", "read_time": "1 ms"}


def measure(smu: str, timing: str, pulses: int) -> tuple[int, int, float]:
    """(writes, reads, wall s) of a ``pulses``-pulse potentiation on ``smu`` with ``timing``."""
    with Bench.simulated(seed=1, smu=smu, transport="tcp", name="benchmark") as bench:
        program = make_protocol("potentiation", {**TRAIN, "pulses": pulses}).program()
        traffic = TrafficLog.attach(bench.smu)
        start = time.perf_counter()
        samples = Runner(bench, program, timing=timing).run()
        wall = time.perf_counter() - start
        assert samples.size == pulses + 1
    return traffic.writes, traffic.reads, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pulses", type=int, default=1000)
    parser.add_argument("--smu", nargs="*", default=registry.names("smu"), help="SMUs to measure (default: all)")
    args = parser.parse_args()
    print(f"{args.pulses}-pulse potentiation over loopback TCP (pyvisa-py), virtual time")
    print(f"{'SMU':<16}{'path':<12}{'writes':>8}{'reads':>8}{'round trips':>13}{'wall s':>9}"
          f"{'trips ratio':>13}{'wall ratio':>12}")
    for smu in args.smu:
        rows = {}
        for timing in ("hardware", "software"):
            try:
                rows[timing] = measure(smu, timing, args.pulses)
            except LabsuiteError as exc:
                print(f"{smu:<16}{timing:<12}refused: {exc}")
        for timing in rows:
            writes, reads, wall = rows[timing]
            ratio = ""
            if timing == "software" and "hardware" in rows:
                hw_reads, hw_wall = rows["hardware"][1], rows["hardware"][2]
                ratio = f"{reads / hw_reads:>12.0f}x{wall / hw_wall:>11.1f}x"
            print(f"{smu:<16}{timing:<12}{writes:>8}{reads:>8}{reads:>13}{wall:>9.2f}{ratio}")


if __name__ == "__main__":
    main()
