"""Start-up time of the command line, as a ratio to importing numpy measured in the same run.

Each command runs in a fresh interpreter (this one's), ``--repeats`` times, interleaved with the
baseline ``python -c "import numpy"`` so that the load of a shared machine weighs on both alike; the
minimum wall time of each is kept. Printed: each command's time (s) and its ratio to the baseline.
The targets (issue #16) are ``labsuite --help`` ≤ 0.3 s and ``labsuite protocols`` ≤ 0.5 s.

    python benchmarks/startup.py [--repeats 7]
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time

BASELINE = ("python -c 'import numpy'", ["-c", "import numpy"])
COMMANDS = {
    "labsuite --help": ["-m", "labsuite", "--help"],
    "labsuite protocols": ["-m", "labsuite", "protocols"],
}


def wall_time(arguments: list[str]) -> float:
    """Seconds for a fresh interpreter to run ``arguments`` (its output discarded; it must succeed)."""
    start = time.perf_counter()
    subprocess.run([sys.executable, *arguments], stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="runs of each command; the minimum is kept")
    repeats = parser.parse_args().repeats
    runs = {BASELINE[0]: BASELINE[1], **COMMANDS}
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(repeats):
        for label, arguments in runs.items():
            best[label] = min(best[label], wall_time(arguments))
    baseline = best[BASELINE[0]]
    print(f"{'command':28s} {'time (s)':>9s} {'ratio':>7s}   (min of {repeats} runs)")
    for label, seconds in best.items():
        print(f"{label:28s} {seconds:9.3f} {seconds / baseline:7.2f}")


if __name__ == "__main__":
    main()
