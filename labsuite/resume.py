"""Resume a run that a fault stopped: play the rest of its program, without repeating what is stored.

The stored file is never written again (a file left by a crash may hold half-flushed HDF5
metadata past its last complete chunk; reopening it for writing could damage what it holds).
The rest of the program goes into a continuation file next to it, ``<stem>_resumed<n>.h5``,
whose ``continues`` attribute names the first file and ``continues_samples`` how many of its
samples the run keeps; ``read_run`` of the continuation returns the whole run, times running on
(the time between the fault and the resume counts as wall time). See docs/run-file.md.
"""
from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from labsuite import registry
from labsuite.bench import Bench
from labsuite.core.errors import LabsuiteError
from labsuite.core.events import RunObserver
from labsuite.core.program import PulseProgram, Train
from labsuite.experiment import RunResult, run_protocol
from labsuite.protocols import AdaptiveProtocol
from labsuite.replay import replayed_protocol
from labsuite.store import continuation, read_program, read_run, writer_alive

RESUMABLE = ("failed", "aborted", "running")   # running: its writer was killed (one still writing is refused)


class ResumeRefused(LabsuiteError):
    """A run that cannot be resumed: completed, a closed-loop protocol, another bench or program."""

    def __init__(self, path: Path, message: str) -> None:
        super().__init__(f"cannot resume {path}: {message}")


def bench_identity(snapshot: dict[str, Any]) -> dict[str, Any]:
    """What must match for a run to go on: limits, each instrument's driver and *IDN?, the pulse
    generator's series resistance, and a simulated bench's device model, parameters and seed."""
    identity: dict[str, Any] = {f"limits.{k}": v for k, v in snapshot.get("limits", {}).items()}
    for role, instrument in snapshot.get("instruments", {}).items():
        identity[f"{role}.driver"] = registry.recorded(instrument.get("driver", ""))
        identity[f"{role}.idn"] = instrument.get("settings", {}).get("idn")
        if "series_resistance" in instrument:
            identity[f"{role}.series_resistance"] = instrument["series_resistance"]
    for key, value in (snapshot.get("simulator") or {}).items():
        if key != "transport":
            identity[f"simulator.{key}"] = value
    return json.loads(json.dumps(identity, default=str))


def same_program(a: PulseProgram, b: PulseProgram) -> bool:
    """Whether two programs play the same trains: patterns, levels, repeats and compliances."""
    def train(p: PulseProgram, t: Train) -> tuple:
        return (t.repeats, tuple((s.duration, s.label, s.measure, p.compliance_of(s)) for s in t.pattern))

    return (a.compliance == b.compliance and len(a.trains) == len(b.trains)
            and all(train(a, x) == train(b, y) and np.array_equal(x.levels, y.levels)
                    for x, y in zip(a.trains, b.trains)))


def resume_run(path: str | Path, bench: Bench, *, timing: str = "auto", observers: list[RunObserver] | tuple = (),
               runner_hook=None) -> RunResult:
    """Play the rest of ``path``'s program on ``bench`` into a continuation file next to it.

    Refused (:class:`ResumeRefused`) if the run completed, is closed-loop (its next stage depends on
    a device state the fault may have changed: run it again), or if ``bench`` or the protocol's
    program differ from the stored ones.
    """
    path = Path(path)
    stored = read_run(path)
    if stored.status not in RESUMABLE:
        raise ResumeRefused(path, f"its status is {stored.status!r}; only a failed, aborted or interrupted run "
                                  "can be resumed")
    if writer_alive(path):
        raise ResumeRefused(path, "a program is still writing it; stop that run first")
    protocol = replayed_protocol(stored)
    if isinstance(protocol, AdaptiveProtocol):
        raise ResumeRefused(path, f"{protocol.name} is closed-loop: each stage depends on the device's state, "
                                  "which the fault may have changed; run it again")
    mine, theirs = bench_identity(bench.snapshot()), bench_identity(json.loads(stored.attrs["bench"]))
    for key in sorted(set(mine) | set(theirs)):
        if mine.get(key) != theirs.get(key):
            raise ResumeRefused(path, f"the bench differs: {key} is {mine.get(key)!r}, the run had "
                                      f"{theirs.get(key)!r}; connect the run's bench")
    program = protocol.program()
    if not same_program(program, read_program(path)):
        raise ResumeRefused(path, "its stored program differs from the one its protocol and parameters give "
                                  "now (another labsuite version?)")
    plan = continuation(stored, program)
    if plan.start[0] >= len(program.trains):
        raise ResumeRefused(path, f"every reading of its program is stored ({plan.kept}); nothing is left to play")
    gap = max(0.0, time.time() - path.stat().st_mtime)     # from the last flush to now
    plan = replace(plan, t_end=plan.t_end + gap)
    provenance = {**json.loads(stored.attrs.get("provenance", "{}")),
                  "resumed_from": path.name}
    return run_protocol(protocol, bench, out_dir=path.parent, device_id=str(stored.attrs.get("device_id", "")),
                        timing=timing, observers=observers, runner_hook=runner_hook, provenance=provenance,
                        tags=json.loads(stored.attrs.get("tags", "[]")), continues=plan)
