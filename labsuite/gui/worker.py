"""Worker threads: runs and replays (:class:`RunWorker`) and one-off instrument calls (:class:`Task`).

Nothing here touches a widget. Each thread reports through Qt signals; since the thread objects
live in the GUI thread, the connected slots run there (queued connections), so every GUI update
happens on the GUI thread and the event loop never waits on an instrument.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PyQt6.QtCore import QThread, pyqtSignal

from labsuite.bench import Bench
from labsuite.core.errors import RunAborted
from labsuite.core.events import Progress, RunObserver, RunState
from labsuite.core.program import SAMPLE_DTYPE
from labsuite.experiment import run_protocol
from labsuite.protocols import Protocol
from labsuite.replay import replay, replayed_protocol
from labsuite.runner import Runner
from labsuite.store import read_run


@dataclass
class Outcome:
    """How a run or a replay ended."""

    protocol: Protocol | None
    state: RunState
    samples: np.ndarray = field(default_factory=lambda: np.empty(0, SAMPLE_DTYPE))
    figures: dict[str, float] = field(default_factory=dict)
    path: Path | None = None
    error: BaseException | None = None
    warning: str = ""    # e.g. readings at the current compliance (RunResult.warning)


#: a job receives the observers to pass on and a hook to call with each Runner it creates
Job = Callable[[list[RunObserver], Callable[[Runner], None]], Outcome]


class _Relay(RunObserver):
    """Forwards a run's events to the worker's signals (called on the worker thread)."""

    def __init__(self, worker: RunWorker) -> None:
        self.worker = worker
        self.chunks: list[np.ndarray] = []     # every sample relayed, for an outcome the job could not return

    @property
    def samples_so_far(self) -> np.ndarray:
        return np.concatenate(self.chunks) if self.chunks else np.empty(0, SAMPLE_DTYPE)

    def on_start(self, runner: Runner) -> None:
        self.worker.started_run.emit(runner.program)

    @property
    def stop_requested(self) -> bool:
        return self.worker.stop_requested

    def on_samples(self, samples: np.ndarray, progress: Progress) -> None:
        self.chunks.append(samples)
        self.worker.samples.emit(samples, progress)
        if self.worker.stop_requested and self.worker.runner is None:   # a replay: no Runner to abort
            raise RunAborted("replay stopped by the user")


class RunWorker(QThread):
    """Plays one job (``run_protocol`` or ``replay``) off the GUI thread.

    Pause, resume and abort are forwarded to the job's Runner (they are thread-safe there); an
    abort asked for between the stages of a closed-loop protocol reaches the next stage's Runner.
    """

    started_run = pyqtSignal(object)           # PulseProgram of the stage that starts
    samples = pyqtSignal(object, object)       # chunk (SAMPLE_DTYPE array), Progress
    done = pyqtSignal(object)                  # Outcome

    def __init__(self, job: Job) -> None:
        super().__init__()
        self.job = job
        self.runner: Runner | None = None
        self.stop_requested = False
        self._paused = False
        self._lock = threading.Lock()

    def _adopt(self, runner: Runner) -> None:
        with self._lock:
            self.runner = runner
            if self.stop_requested:
                runner.abort()
            elif self._paused:
                runner.pause()

    def run(self) -> None:
        relay = _Relay(self)
        protocol = getattr(self.job, "protocol", None)     # known before the job runs (a protocol_job)
        try:
            outcome = self.job([relay], self._adopt)
        except RunAborted as exc:
            outcome = Outcome(protocol, RunState.ABORTED, relay.samples_so_far, error=exc)
        except Exception as exc:    # reported in the GUI; the Runner has already turned the output off
            outcome = Outcome(protocol, RunState.FAILED, relay.samples_so_far, error=exc)
        self.done.emit(outcome)

    def pause(self) -> None:
        with self._lock:
            self._paused = True
            if self.runner is not None:
                self.runner.pause()

    def resume(self) -> None:
        with self._lock:
            self._paused = False
            if self.runner is not None:
                self.runner.resume()

    def abort(self) -> None:
        """Stop at the end of the present chunk; the Runner turns the outputs off."""
        with self._lock:
            self.stop_requested = True
            if self.runner is not None:
                self.runner.abort()

    @property
    def state(self) -> RunState:
        """The Runner's state (RUNNING before the first Runner exists)."""
        runner = self.runner
        return runner.state if runner is not None else RunState.RUNNING


class Task(QThread):
    """One call (discovery, connect, an instrument query) off the GUI thread."""

    succeeded = pyqtSignal(object)
    failed = pyqtSignal(object)

    def __init__(self, call: Callable[[], Any]) -> None:
        super().__init__()
        self.call = call

    def run(self) -> None:
        try:
            result = self.call()
        except Exception as exc:     # shown to the user by whoever started the task
            self.failed.emit(exc)
        else:
            self.succeeded.emit(result)


def protocol_job(protocol: Protocol, bench: Bench, out_dir: Path, device_id: str, provenance: dict[str, Any],
                 timing: str) -> Job:
    """A job that runs ``protocol`` on ``bench`` through ``run_protocol``, writing into ``out_dir``."""
    def job(observers: list[RunObserver], hook: Callable[[Runner], None]) -> Outcome:
        result = run_protocol(protocol, bench, out_dir=out_dir, device_id=device_id, timing=timing,
                              observers=observers, runner_hook=hook, provenance=provenance)
        return Outcome(result.protocol, result.state, result.samples, result.figures, result.path, result.error,
                       result.warning)
    job.protocol = protocol
    return job


def replay_job(path: Path, speed: float) -> Job:
    """A job that re-emits the stored run ``path`` at ``speed`` × its recorded pace (labsuite.replay)."""
    def job(observers: list[RunObserver], hook: Callable[[Runner], None]) -> Outcome:
        protocol, samples, figures = replay(
            path, observers, speed=speed, stop=lambda: any(getattr(o, "stop_requested", False) for o in observers))
        return Outcome(protocol, RunState.COMPLETED, samples, figures, Path(path))
    job.protocol = replayed_protocol(read_run(path))
    return job
