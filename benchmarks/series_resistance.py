"""Per-pulse cost of a potentiation through a series resistance, as a ratio to the plain path.

Three simulated benches run the same N-pulse potentiation in-process, in virtual time:

- plain: the SMU straight on the device (no series resistance) — the baseline;
- series: the SMU through 1 kΩ (``series_resistance``);
- generator: a Keysight 33500 writes through its 50 Ω plus 2 kΩ, the SMU reads.

Each is run with N and 2N pulses so that the fixed cost of opening the bench cancels; the
per-pulse cost is (t(2N) − t(N))/N, each t the minimum of ``--repeats`` runs. t is the CPU time of
this (single-threaded) process, which equals its wall time on an idle machine; on a shared one the
wall time mostly measures the other processes' load. The NeuroSim nonlinearity A of each run is
printed too.

    python benchmarks/series_resistance.py [--pulses 200] [--repeats 3]
"""
from __future__ import annotations

import argparse
import time

from labsuite import Bench, run_protocol

BENCHES = {
    "plain": {},
    "series 1 kOhm": {"series_resistance": 1e3},
    "33500 + 2 kOhm": {"pulse_generator": "keysight33500", "pulse_series_resistance": 2e3},
}


def run(wiring: dict, pulses: int) -> tuple[float, float]:
    """(CPU s, nonlinearity A) of a ``pulses``-pulse potentiation on a bench wired as ``wiring``."""
    with Bench.simulated(seed=1, name="benchmark", **wiring) as bench:
        start = time.process_time()
        result = run_protocol("potentiation", bench, {"pulses": pulses}, out_dir=None)
        spent = time.process_time() - start
    return spent, result.figures["nonlinearity_a"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pulses", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3, help="runs of each length; the minimum is kept")
    args = parser.parse_args()
    n = args.pulses
    cost = {}
    for name, wiring in BENCHES.items():
        short = min(run(wiring, n)[0] for _ in range(args.repeats))
        long, a = min(run(wiring, 2 * n) for _ in range(args.repeats))
        cost[name] = max(long - short, 0.0) / n
        print(f"{name:16s} {cost[name] * 1e3:8.3f} ms/pulse  {cost[name] / cost['plain']:6.1f}x plain  "
              f"A({2 * n} pulses) = {a:.9g}")


if __name__ == "__main__":
    main()
