"""Device-pulse updates per second of the pulsed-synapse models, against a numpy yardstick.

(a) one device × 10^5 pulses: a Python loop of ``apply_pulses`` on n = 1 (numpy per-call overhead
    dominates), and ``apply_pulse_train``, the same updates in one call (bit-identical result);
(b) 10^4 devices × 10^3 pulses through ``apply_pulses`` (random ±1 polarity per device per call).

The yardstick is the smallest read-modify-write pass over the same arrays, timed in the same run:
``w += dw; np.clip(w, lo, hi, out=w)`` per element, repeated as many times as there are calls.
Every model draws one normal per device per call for its cycle-to-cycle noise; the time of that
draw alone (``rng.standard_normal(out=buf)``) is printed as well, and (b) is repeated with
c2c_sigma = 0 to show the cost of the update arithmetic alone.

    python benchmarks/pulsed_throughput.py [--pulses-single 100000] [--devices 10000] [--pulses-array 1000]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from labsuite.simulator.models.pulsed import PULSED_MODELS


def best_of(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def yardstick(model, calls: int, repeats: int = 3) -> float:
    """Seconds for ``calls`` passes of w += dw; clip(w, lo, hi) over arrays shaped like the model's."""
    w = model.x[0].copy()
    dw = np.full(model.n, 1e-12)
    lo, hi = model._lo, model._hi

    def run():
        for _ in range(calls):
            w.__iadd__(dw)
            np.clip(w, lo, hi, out=w)
    return best_of(run, repeats)


def normal_floor(n: int, calls: int, repeats: int = 3) -> float:
    rng, buf = np.random.default_rng(0), np.empty(n)

    def run():
        for _ in range(calls):
            rng.standard_normal(out=buf)
    return best_of(run, repeats)


def make(cls, n: int, c2c: float = 0.1):
    params = cls.params_type(c2c_sigma=c2c, d2d_sigma=0.1, **({"level_initial": 0.5} if cls.name == "neurosim" else {}))
    return cls(params, n=n, rng=np.random.default_rng(1))


def single(cls, pulses: int) -> tuple[float, float, float]:
    pols = np.random.default_rng(2).choice(np.array([-1, 1], np.int8), size=pulses)
    model = make(cls, 1)
    singles = [pols[k:k + 1] for k in range(pulses)]
    start = time.perf_counter()
    for p in singles:
        model.apply_pulses(p)
    loop = time.perf_counter() - start
    x_loop = model.state()
    model = make(cls, 1)
    start = time.perf_counter()
    model.apply_pulse_train(pols)
    train = time.perf_counter() - start
    assert np.array_equal(model.x, x_loop), "apply_pulse_train and apply_pulses disagree"
    return loop, train, yardstick(model, pulses, repeats=1)


def array(cls, n: int, pulses: int, c2c: float) -> tuple[float, float]:
    pols = np.random.default_rng(3).choice(np.array([-1, 1], np.int8), size=(pulses, n))
    model = make(cls, n, c2c)

    def run():
        for p in pols:
            model.apply_pulses(p)
    return best_of(run, 3), yardstick(model, pulses)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pulses-single", type=int, default=100_000)
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--pulses-array", type=int, default=1000)
    args = parser.parse_args()
    ps, n, pa = args.pulses_single, args.devices, args.pulses_array

    print(f"(a) 1 device x {ps} pulses (updates/s; yardstick = w += dw; np.clip(w, lo, hi, out=w) on n = 1)")
    print(f"{'model':<13}{'apply_pulses loop':>19}{'apply_pulse_train':>19}{'yardstick':>12}{'loop/yard':>11}"
          f"{'train/yard':>12}")
    for cls in PULSED_MODELS.values():
        loop, train, yard = single(cls, ps)
        print(f"{cls.name:<13}{ps / loop:>19.3g}{ps / train:>19.3g}{ps / yard:>12.3g}{loop / yard:>10.2f}x"
              f"{train / yard:>11.2f}x")

    updates = n * pa
    floor = normal_floor(n, pa)
    print(f"\n(b) {n} devices x {pa} pulses via apply_pulses (updates/s; time ratio to the yardstick)")
    print(f"    one c2c normal per device per call alone: {updates / floor:.3g} draws/s")
    print(f"{'model':<13}{'c2c 0.1':>12}{'ratio':>8}{'c2c 0':>12}{'ratio':>8}{'yardstick':>12}")
    for cls in PULSED_MODELS.values():
        noisy, yard = array(cls, n, pa, 0.1)
        quiet, yard2 = array(cls, n, pa, 0.0)
        yard = min(yard, yard2)
        print(f"{cls.name:<13}{updates / noisy:>12.3g}{noisy / yard:>7.1f}x{updates / quiet:>12.3g}"
              f"{quiet / yard:>7.1f}x{updates / yard:>12.3g}")


if __name__ == "__main__":
    main()
