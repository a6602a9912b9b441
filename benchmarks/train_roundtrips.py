"""Buffered pulse train vs per-pulse loop: VISA transfers and wall time over loopback TCP.

A 1000-pulse potentiation runs on the simulated Keithley 2450 served on 127.0.0.1 and reached
with plain pyvisa-py, once as hardware-timed trains (trigger model + config lists + one buffer
read per chunk) and once as a software-timed loop (a command per segment, a query per read).
Both share one virtual clock with the server, so neither waits for the program's 50 s of source
time: the wall time is communication and simulation only.

    python benchmarks/train_roundtrips.py [--pulses 1000]
"""
from __future__ import annotations

import argparse
import time

from labsuite import Bench, make_protocol
from labsuite.clock import VirtualClock
from labsuite.drivers import SOURCE_METERS
from labsuite.runner import Runner
from labsuite.simulator.server import InstrumentServer
from labsuite.simulator.station import SimulatedStation
from labsuite.traffic import TrafficLog


def measure(timing: str, pulses: int) -> tuple[int, int, float]:
    station = SimulatedStation(seed=1, clock=VirtualClock())
    with InstrumentServer(station.instruments) as server:
        smu = SOURCE_METERS["keithley2450"](server.endpoints[0].resource, visa_library="@py")
        bench = Bench(smu, clock=station.clock, name="benchmark")
        program = make_protocol("potentiation", {"pulses": pulses}).program()
        traffic = TrafficLog.attach(smu)
        start = time.perf_counter()
        samples = Runner(bench, program, timing=timing).run()
        wall = time.perf_counter() - start
        assert samples.size == pulses + 1
        smu.adapter.close()
    return traffic.writes, traffic.reads, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pulses", type=int, default=1000)
    args = parser.parse_args()
    rows = {t: measure(t, args.pulses) for t in ("hardware", "software")}
    print(f"{args.pulses}-pulse potentiation, simulated Keithley 2450 over loopback TCP (pyvisa-py)")
    print(f"{'path':<28}{'writes':>8}{'reads':>8}{'round trips':>13}{'wall s':>10}")
    for timing, label in (("hardware", "buffered (trigger model)"), ("software", "per-pulse loop")):
        writes, reads, wall = rows[timing]
        print(f"{label:<28}{writes:>8}{reads:>8}{reads:>13}{wall:>10.3f}")
    (hw_w, hw_r, hw_t), (sw_w, sw_r, sw_t) = rows["hardware"], rows["software"]
    print(f"ratio per-pulse / buffered: round trips {sw_r / hw_r:.0f}x, "
          f"transfers {(sw_w + sw_r) / (hw_w + hw_r):.0f}x, wall time {sw_t / hw_t:.1f}x")


if __name__ == "__main__":
    main()
