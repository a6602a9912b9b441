"""A hardware-timed train evaluated as a whole, against the same train held segment by segment.

(a) an in-process potentiation on the simulated 2450 (1 ms pulses every 10 ms, each read for 1 ms
    2 ms later), played by its trigger model: wall time per pulse beyond startup (the slope between
    a short and a long run) with the device evolved over each train in one call
    (``DeviceNode.hold_train`` → ``DeviceModel.evolve_train``), against the baseline measured in the
    same run with the whole-train form switched off (one model call per segment, as before); the
    two runs' figures (time, V, A of every reading) must agree to 1e-9 relative;
(b) on every simulated SMU, a potentiation played hardware-timed (the instrument's sequencer)
    against the same potentiation played per pulse (software-timed, a command per segment) in
    the same run: hardware-timed speed as a multiple of per-pulse speed (≥ 1 is the target).

Each figure is the fastest of ``--repeats`` runs (the machine may be shared).

    python benchmarks/train_evaluation.py [--pulses 10000] [--short 200] [--repeats 3] [--smu-pulses 300]
                                          [--smu NAME ...]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from labsuite import Bench, make_protocol, registry
from labsuite.runner import Runner

TRAIN = {"width": "1 ms", "period": "10 ms", "read_delay": "2 ms", "read_time": "1 ms"}


def potentiation(smu: str, pulses: int, timing: str, whole: bool = True) -> tuple[float, np.ndarray]:
    """(wall s, samples) of a ``pulses``-pulse potentiation on a simulated ``smu``, in-process."""
    with Bench.simulated(seed=1, smu=smu) as bench:
        if not whole:   # the baseline: no whole-train form, so the node holds one segment per model call
            bench.station.model.evolve_train = lambda *args: None
        program = make_protocol("potentiation", {**TRAIN, "pulses": pulses}).program()
        start = time.perf_counter()
        samples = Runner(bench, program, timing=timing).run()
        return time.perf_counter() - start, samples


def per_pulse(smu: str, short: int, long: int, timing: str, repeats: int,
              whole: bool = True) -> tuple[float, np.ndarray]:
    """(s per pulse beyond startup, samples of the long run); each run's best of ``repeats``."""
    t_short = min(potentiation(smu, short, timing, whole)[0] for _ in range(repeats))
    runs = [potentiation(smu, long, timing, whole) for _ in range(repeats)]
    return (min(wall for wall, _ in runs) - t_short) / (long - short), runs[0][1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pulses", type=int, default=10_000)
    parser.add_argument("--short", type=int, default=200, help="pulses of the short run the slope starts from")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each, the fastest counts")
    parser.add_argument("--smu-pulses", type=int, default=300)
    parser.add_argument("--smu", nargs="*", default=registry.names("smu"), help="SMUs for (b) (default: all)")
    args = parser.parse_args()

    whole, got = per_pulse("keithley2450", args.short, args.pulses, "hardware", args.repeats)
    base, expected = per_pulse("keithley2450", args.short, args.pulses, "hardware", args.repeats, whole=False)
    worst = max(float(np.max(np.abs(got[name] - expected[name]) / np.maximum(np.abs(expected[name]), 1e-300)))
                for name in expected.dtype.names if expected.dtype[name].kind == "f")
    print(f"(a) in-process potentiation on the 2450, {args.pulses} pulses, wall time per pulse beyond startup")
    print(f"    per segment (baseline) {base * 1e6:8.1f} us")
    print(f"    whole train            {whole * 1e6:8.1f} us   {base / whole:5.1f}x faster; "
          f"figures agree to {worst:.1e} relative (bar: 1e-9)")
    print(f"\n(b) {args.smu_pulses}-pulse potentiation, in-process: hardware-timed speed / per-pulse speed")
    print(f"{'SMU':<16}{'hardware s':>12}{'per pulse s':>13}{'ratio':>8}")
    for smu in args.smu:
        hardware = min(potentiation(smu, args.smu_pulses, "hardware")[0] for _ in range(args.repeats))
        software = min(potentiation(smu, args.smu_pulses, "software")[0] for _ in range(args.repeats))
        print(f"{smu:<16}{hardware:>12.3f}{software:>13.3f}{software / hardware:>7.1f}x")


if __name__ == "__main__":
    main()
