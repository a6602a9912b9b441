"""Studies beyond one device: a protocol over many simulated devices or parameter sets.

Each point is one simulated device (its seed draws its device-to-device parameters and its
noise) with optional model and protocol parameters. Points run through a
``concurrent.futures.Executor``: local processes by default; a Dask ``Client.get_executor()``
(``pip install labsuite[dask]``) spreads them over a cluster. Results come back in point order
and do not depend on the executor.

    points = devices(100, model_params={"d2d_sigma": 0.1})
    results = sweep("potentiation", points)
    a = [r.figures["nonlinearity_a"] for r in results]

``direct=True`` plays each program straight on the device model instead of through the
simulated instruments: the same physics, much faster, for large Monte Carlo studies.
"""
from __future__ import annotations

import itertools
import os
from collections.abc import Iterable, Mapping
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from labsuite.bench import Bench
from labsuite.experiment import make_protocol, run_protocol


@dataclass(frozen=True)
class SweepPoint:
    """One simulated device and the parameters to run it with."""

    seed: int = 0
    model: str | None = None
    model_params: Mapping[str, Any] = field(default_factory=dict)
    protocol_params: Mapping[str, Any] = field(default_factory=dict)
    series_resistance: float = 0.0


@dataclass(frozen=True)
class SweepResult:
    point: SweepPoint
    status: str
    figures: dict[str, float]
    samples: np.ndarray | None = None


def devices(n: int, *, first_seed: int = 0, **common: Any) -> list[SweepPoint]:
    """``n`` devices that differ only by seed (so by their d2d draw and noise)."""
    return [SweepPoint(seed=first_seed + i, **common) for i in range(n)]


def grid(base: SweepPoint = SweepPoint(), **axes: Iterable[Any]) -> list[SweepPoint]:
    """Every combination of protocol parameter values, e.g. ``grid(amplitude=[1.2, 1.5], width=[1e-4, 2e-4])``."""
    names = list(axes)
    return [SweepPoint(base.seed, base.model, base.model_params, {**base.protocol_params, **dict(zip(names, values))},
                       base.series_resistance) for values in itertools.product(*(list(axes[n]) for n in names))]


def run_point(protocol: str, point: SweepPoint, direct: bool = False, keep_samples: bool = False) -> SweepResult:
    """Run ``protocol`` on the simulated device ``point`` describes (a module-level function, so it pickles)."""
    proto = make_protocol(protocol, dict(point.protocol_params))
    if direct:
        from labsuite.simulator.models import DEFAULT_MODEL, make_model
        from labsuite.simulator.playback import play

        model = make_model(point.model or DEFAULT_MODEL, np.random.default_rng(point.seed),
                           params=dict(point.model_params))
        samples = play(proto.program(), model, series_resistance=point.series_resistance)
        status = "completed"
    else:
        with Bench.simulated(point.model, point.seed, series_resistance=point.series_resistance,
                             model_params=dict(point.model_params)) as bench:
            result = run_protocol(proto, bench, out_dir=None)
        samples, status = result.samples, result.state.value
    return SweepResult(point, status, proto.analyze(samples) if samples.size else {},
                       samples if keep_samples else None)


def sweep(protocol: str, points: Iterable[SweepPoint], *, executor: Executor | None = None, direct: bool = False,
          keep_samples: bool = False) -> list[SweepResult]:
    """Run ``protocol`` at every point; return the results in point order."""
    points = list(points)
    if executor is None:
        with ProcessPoolExecutor(max_workers=max(1, min(os.cpu_count() or 1, len(points)))) as pool:
            return sweep(protocol, points, executor=pool, direct=direct, keep_samples=keep_samples)
    futures = [executor.submit(run_point, protocol, p, direct, keep_samples) for p in points]
    return [f.result() for f in futures]
