"""Run files: one HDF5 file per run, written as the samples arrive.

Layout (schema ``labsuite-run`` version 1; open with plain h5py)::

    /                     attrs: schema, schema_version, labsuite_version, protocol,
                                 parameters (JSON, SI), parameter_units (JSON), device_id,
                                 seed, bench (JSON: limits, instruments, *IDN?, settings,
                                 simulator), start_time, end_time (ISO 8601, UTC),
                                 status (running|completed|aborted|failed), error,
                                 provenance (JSON: recipe, step, repeat when a recipe ran it),
                                 tags (JSON list)
    /samples/<column>     t [s], voltage [V], current [A], train, repeat, segment;
                          1-D, chunked, resizable; attr ``units``
    /program              attrs: compliance [A], duration [s], stages (closed-loop protocols
                          play several programs; their trains are numbered on)
    /program/train<i>     attrs: repeats; datasets: levels (repeats × segments) [V],
                          duration [s], label, measure, compliance [A] (one entry per
                          pattern segment)
    /analysis             attrs: figures of merit; attr ``units`` (JSON)
    /transcript/<column>  t [s, bench clock], direction ("write" | "read"), message: every VISA
                          message exchanged with the SMU during the run, appended per chunk

The file is written in HDF5's single-writer/multiple-reader mode (SWMR, ``libver="latest"``):
every group and dataset exists before the first sample, and each chunk is appended and flushed
before the next one is taken, so another process can follow a run as it is written and, after
a crash, the file holds every sample up to the last flushed chunk and says ``status =
"running"``. Open run files with :func:`open_run` (``h5py.File(path, "r", swmr=True)``): a
file whose writer was killed keeps HDF5's "open for writing" flag, which a plain read refuses
(``h5clear -s FILE`` from the HDF5 tools clears it for other programs).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from labsuite import __version__
from labsuite.program import SAMPLE_DTYPE, SAMPLE_UNITS, PulseProgram
from labsuite.runner import Progress, RunObserver, RunState
from labsuite.traffic import TrafficLog

SCHEMA = "labsuite-run"
SCHEMA_VERSION = 1


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def run_filename(protocol: str, device_id: str) -> str:
    """``20261129T093000Z_potentiation_D1.h5`` (UTC start time first, so names sort by date)."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in device_id)
    return f"{stamp}_{protocol}_{safe}.h5"


class RunWriter(RunObserver):
    """Write a run to ``path`` while it happens."""

    def __init__(self, path: str | Path, *, protocol: str, parameters: dict[str, float],
                 parameter_units: dict[str, str], program: PulseProgram, bench: dict[str, Any],
                 device_id: str = "", seed: int | None = None, provenance: dict[str, Any] | None = None,
                 tags: tuple[str, ...] | list[str] = (), transcript: TrafficLog | None = None) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.file = h5py.File(self.path, "w", libver="latest")
        attrs = self.file.attrs
        attrs.update({
            "schema": SCHEMA, "schema_version": SCHEMA_VERSION, "labsuite_version": __version__,
            "protocol": protocol, "parameters": json.dumps(parameters),
            "parameter_units": json.dumps(parameter_units), "device_id": device_id,
            "seed": -1 if seed is None else seed, "bench": json.dumps(bench, default=str),
            "start_time": _now(), "end_time": "", "status": RunState.RUNNING.value, "error": "",
            "provenance": json.dumps(provenance or {}, default=str), "tags": json.dumps(list(tags)),
        })
        group = self.file.create_group("samples")
        for name in SAMPLE_DTYPE.names:
            ds = group.create_dataset(name, shape=(0,), maxshape=(None,), dtype=SAMPLE_DTYPE[name],
                                      chunks=(4096,))
            ds.attrs["units"] = SAMPLE_UNITS[name]
        self._write_program(program)
        self.transcript, self._transcribed = transcript, 0
        self.stages_to_come = False   # set while a closed-loop protocol may add stages
        traffic = self.file.create_group("transcript")
        for name, dtype in (("t", "f8"), ("direction", h5py.string_dtype()), ("message", h5py.string_dtype())):
            traffic.create_dataset(name, shape=(0,), maxshape=(None,), dtype=dtype, chunks=(1024,))
        traffic["t"].attrs["units"] = "s"
        self.file.flush()
        self.file.swmr_mode = True   # from here on readers in other processes may follow the run

    def _write_program(self, program: PulseProgram) -> None:
        group = self.file.create_group("program")
        group.attrs.update({"compliance": program.compliance, "duration": 0.0, "stages": 0})
        self.add_program(program)

    def add_program(self, program: PulseProgram) -> None:
        """Record a (further) stage's program; its trains are numbered after those before it."""
        group = self.file["program"]
        offset = sum(1 for name in group if name.startswith("train"))
        group.attrs["duration"] = group.attrs["duration"] + program.duration
        group.attrs["stages"] = group.attrs["stages"] + 1
        for i, train in enumerate(program.trains, start=offset):
            g = group.create_group(f"train{i}")
            g.attrs["repeats"] = train.repeats
            g.create_dataset("levels", data=train.levels).attrs["units"] = "V"
            g.create_dataset("duration", data=[s.duration for s in train.pattern]).attrs["units"] = "s"
            g.create_dataset("label", data=[s.label for s in train.pattern], dtype=h5py.string_dtype())
            g.create_dataset("measure", data=[s.measure for s in train.pattern])
            g.create_dataset("compliance", data=[program.compliance_of(s) for s in train.pattern]).attrs["units"] = "A"

    def on_samples(self, samples: np.ndarray, progress: Progress) -> None:
        group = self.file["samples"]
        n = group["t"].shape[0]
        for name in SAMPLE_DTYPE.names:
            ds = group[name]
            ds.resize((n + samples.size,))
            ds[n:] = samples[name]
        self._append_transcript()
        self.file.flush()

    def _append_transcript(self) -> None:
        """Append the instrument messages exchanged since the last flush."""
        if self.transcript is None:
            return
        new = self.transcript.entries[self._transcribed:]
        if not new:
            return
        group = self.file["transcript"]
        n = group["t"].shape[0]
        for name, column in zip(("t", "direction", "message"), zip(*new)):
            group[name].resize((n + len(new),))
            group[name][n:] = list(column)
        self._transcribed += len(new)

    def on_finish(self, state: RunState, error: BaseException | None) -> None:
        self._append_transcript()
        if state is RunState.COMPLETED and self.stages_to_come:
            self.file.flush()    # a closed-loop protocol may play another stage: still running
            return
        self.mark(state, error)

    def mark(self, state: RunState, error: BaseException | None = None) -> None:
        """Record how the run ended."""
        self.file.attrs["status"] = state.value
        self.file.attrs["end_time"] = _now()
        if error is not None:
            self.file.attrs["error"] = f"{type(error).__name__}: {error}"
        self.file.flush()

    def write_analysis(self, figures: dict[str, float], units: dict[str, str]) -> None:
        """Store figures of merit under ``/analysis``."""
        group = self.file.require_group("analysis")
        group.attrs.update({k: v for k, v in figures.items()})
        group.attrs["units"] = json.dumps(units)
        self.file.flush()

    def close(self) -> None:
        if self.file.id.valid:
            self.file.close()


@dataclass
class RunData:
    """A run read back from its file."""

    path: Path
    attrs: dict[str, Any]
    samples: np.ndarray
    analysis: dict[str, Any]

    @property
    def parameters(self) -> dict[str, float]:
        return json.loads(self.attrs["parameters"])

    @property
    def status(self) -> str:
        return self.attrs["status"]


def open_run(path: str | Path) -> h5py.File:
    """Open a run file for reading: finished, still being written, or left by a crash."""
    return h5py.File(path, "r", swmr=True)


def read_run(path: str | Path) -> RunData:
    """Read a run file into memory."""
    with open_run(path) as f:
        attrs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
        group = f["samples"]
        samples = np.empty(group["t"].shape[0], SAMPLE_DTYPE)
        for name in SAMPLE_DTYPE.names:
            samples[name] = group[name][:]
        analysis = dict(f["analysis"].attrs) if "analysis" in f else {}
    return RunData(Path(path), attrs, samples, analysis)
