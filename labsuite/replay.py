"""Replay a stored run through the live pipeline: the same observers (CLI progress, GUI plots)
receive its samples chunk by chunk, paced by the run's own timestamps, as if it were running.

``speed`` = 1 plays at the recorded pace, 10 ten times faster; ``speed=inf`` as fast as possible.
The pace counts from the run's first sample (a run's timestamps start where the bench clock was,
not at 0). Time passes through a clock (a ``RealClock`` by default), as everywhere in labsuite;
waits are cut into slices of at most ``STOP_POLL`` s, so a ``stop`` request ends a replay promptly.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from labsuite.core.clock import Clock, RealClock
from labsuite.core.errors import RunAborted
from labsuite.core.events import Progress, RunObserver, RunState
from labsuite.core.program import PulseProgram
from labsuite.experiment import make_protocol
from labsuite.protocols import Protocol
from labsuite.store import read_program, read_run

STOP_POLL = 0.05      # s, the longest a replay sleeps before looking at its stop request again


def replayed_protocol(run) -> Protocol:
    """The protocol of a stored run (``read_run``'s result), with the options it ran with."""
    options = json.loads(run.attrs.get("provenance", "{}")).get("options", {})
    return make_protocol(run.attrs["protocol"], {**run.parameters, **options})


@dataclass
class _Replaying:
    """What observers see as the running thing (they read ``program``)."""

    program: PulseProgram
    state: RunState = RunState.RUNNING


def replay(path: str | Path, observers: list[RunObserver] | tuple = (), *, speed: float = float("inf"),
           chunk: int = 100, clock: Clock | None = None, stop: Callable[[], bool] | None = None,
           ) -> tuple[Protocol, np.ndarray, dict[str, float]]:
    """Re-emit ``path``'s samples to ``observers``; return (protocol, samples, figures of merit).

    ``stop()`` true ends the replay within ``STOP_POLL`` s: observers get ``on_finish(ABORTED)``
    and :class:`~labsuite.core.errors.RunAborted` is raised.
    """
    run = read_run(path)
    protocol = replayed_protocol(run)
    program = read_program(path)
    clock = clock or RealClock()
    replaying = _Replaying(program)
    for obs in observers:
        obs.on_start(replaying)
    samples = run.samples
    t0 = float(samples["t"][0]) if samples.size else 0.0
    start = clock.now()
    for first in range(0, samples.size, chunk):
        block = samples[first:first + chunk]
        due = (float(block["t"][-1]) - t0) / speed if np.isfinite(speed) and speed > 0 else 0.0
        while True:
            if stop is not None and stop():
                for obs in observers:
                    obs.on_finish(RunState.ABORTED, None)
                raise RunAborted(f"replay stopped by the user after {first} readings")
            wait = due - (clock.now() - start)
            if wait <= 0:
                break
            clock.sleep(min(wait, STOP_POLL))
        progress = Progress(float(block["t"][-1]) - t0, program.duration, clock.now() - start, first + block.size)
        for obs in observers:
            obs.on_samples(block, progress)
    state = RunState(run.status) if run.status in {s.value for s in RunState} else RunState.FAILED
    for obs in observers:
        obs.on_finish(state, None)
    figures = protocol.analyze(samples) if samples.size else {}
    return protocol, samples, {k: v for k, v in figures.items() if np.isfinite(v)}
