"""Run files: one HDF5 file per run, written as the samples arrive.

Layout (schema ``labsuite-run`` version 3; open with plain h5py)::

    /                     attrs: schema, schema_version, labsuite_version, protocol,
                                 parameters (JSON, SI), parameter_units (JSON), device_id,
                                 seed, bench (JSON: limits, instruments, *IDN?, settings,
                                 simulator), start_time, end_time (ISO 8601, UTC),
                                 status (running|completed|aborted|failed), error,
                                 provenance (JSON: recipe, step, repeat when a recipe ran it),
                                 tags (JSON list); a continuation also: continues,
                                 continues_samples, resumed_at (JSON), time_offset [s]
    /samples              one row per reading, a compound dataset with the fields t [s],
                          voltage [V], current [A], train, repeat, segment; 1-D, chunked,
                          resizable; attr ``units`` (JSON: unit of each field). Versions 1
                          and 2 kept one dataset per field, /samples/<field>; still read.
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

A run never fills its disk: before each chunk the writer checks the free space and the
file-size limit and, short of room for the chunk and the final status, stops the run with a
:class:`RunFileError` (the Runner turns the outputs off; the file keeps every earlier chunk and
says ``failed``). The check can be outrun (another program fills the disk), so the writer then
allocates the disk blocks HDF5 will write next (``posix_fallocate`` past the file's end, sized
like the check) before it hands HDF5 the chunk: a full disk or a file-size limit refuses the
allocation, never an HDF5 write, which HDF5 cannot take back (a failed flush leaves its metadata
cache unusable: every later flush fails, and closing the file crashed the process). The file
is cut back to HDF5's end of file when it is closed. The writer also holds
:data:`DISK_RESERVE` bytes in a hidden ``.<run>.h5.reserve`` file: freed when the disk is full,
they leave room for the final status. A write refused anyway (an I/O error) drops the chunk.
Readers check the superblock before HDF5 opens a file: a truncated or damaged file raises
:class:`RunFileError` naming it, instead of hanging a SWMR reader (which retries damaged
metadata with backoff for hours, taking it for a write in progress). A continuation file
(``continues``, see ``labsuite/resume.py``) reads as the whole run.
"""
from __future__ import annotations

import ctypes
import errno
import functools
import json
import os
import re
import shutil
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, BinaryIO

import h5py
import numpy as np

from labsuite.core.errors import LabsuiteError
from labsuite.core.events import Progress, RunObserver, RunState
from labsuite.core.program import SAMPLE_DTYPE, SAMPLE_UNITS, PulseProgram, Segment, Train
from labsuite.core.version import __version__
from labsuite.core.renames import upgrade_run_attributes
from labsuite.traffic import TrafficLog

SCHEMA = "labsuite-run"
SCHEMA_VERSION = 3   # 3: /samples one compound dataset; 2: the names of docs/glossary.md (1 is read under them)
DISK_RESERVE = 1 << 20         # bytes left free for the final status, the analysis and HDF5 metadata
CHUNK_OVERHEAD = 256 << 10     # bytes HDF5 may allocate for new dataset chunks and their index per append
STORAGE_CHUNK = 4096          # rows per HDF5 chunk of /samples (147 KiB)
_INT64 = (-(1 << 63), (1 << 63) - 1)


class RunFileError(LabsuiteError):
    """A run file that cannot be written (disk full, write refused) or read (truncated, damaged)."""

    def __init__(self, path: str | Path, message: str) -> None:
        self.path = Path(path)
        super().__init__(f"{self.path}: {message}")


class RunStopped(RunFileError):
    """The run file could take no more readings (disk full, a write refused): the run stopped partway,
    with every reading stored before kept."""

    exit_status = 3   # `labsuite run`: a run that did not complete


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def run_filename(protocol: str, device_id: str) -> str:
    """``20261129T093000Z_potentiation_D1.h5`` (UTC start time first, so names sort by date)."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in device_id)
    return f"{stamp}_{protocol}_{safe}.h5"


def reserve_path(path: Path) -> Path:
    """The hidden file that holds a writer's disk reserve, ``.<run>.h5.reserve``."""
    return path.with_name(f".{path.name}.reserve")


def writer_alive(path: Path) -> bool:
    """Whether a program is writing the run file ``path`` now: its reserve file is locked. A reserve
    left by a killed writer (the lock went with the process) is removed."""
    reserve = reserve_path(path)
    if not reserve.exists():
        return False
    if sys.platform != "win32":
        import fcntl

        with open(reserve, "rb") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
    try:
        reserve.unlink(missing_ok=True)
    except PermissionError:          # Windows: a file another process holds open cannot be deleted
        return True
    return False


def resumed_filename(source: Path) -> str:
    """``<first run's stem>_resumed<n>.h5``, the first such name not taken next to ``source``."""
    stem = re.sub(r"_resumed\d+$", "", source.stem)
    n = 1
    while source.with_name(f"{stem}_resumed{n}.h5").exists():
        n += 1
    return f"{stem}_resumed{n}.h5"


class RunWriter(RunObserver):
    """Write a run to ``path`` while it happens."""

    def __init__(self, path: str | Path, *, protocol: str, parameters: dict[str, float],
                 parameter_units: dict[str, str], program: PulseProgram, bench: dict[str, Any],
                 device_id: str = "", seed: int | None = None, provenance: dict[str, Any] | None = None,
                 tags: tuple[str, ...] | list[str] = (), transcript: TrafficLog | None = None,
                 continues: Continuation | None = None, time_offset: float = 0.0) -> None:
        self.path = Path(path)
        self.continues = continues
        self.time_offset = time_offset   # s added to every sample time (a continuation's times run on)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.refused = False  # a write was refused; what follows is a best effort
        self.broken = False   # and recovering from it failed: the file holds what the last good flush wrote
        self.ended = False    # mark() has recorded how the run ended
        # disk space held back in a file of its own: freed when a write fails, it lets HDF5 finish its
        # flush, so the earlier chunks stay readable and the status is written
        self.reserve = reserve_path(self.path)
        self._reserve: BinaryIO | None = None
        self.stored = 0   # rows of /samples on disk
        self.created = False   # the file holds its groups and datasets: from here on it is kept
        self._ensure_space(0)
        self._reserve = self._hold_reserve()
        # the rows stored in the last HDF5 chunk of /samples (its first stored % STORAGE_CHUNK), to
        # rewrite after a failed flush
        self._tail = np.empty(STORAGE_CHUNK, SAMPLE_DTYPE)
        try:
            self.file = h5py.File(self.path, "w", libver="latest")
        except BaseException as exc:
            self._release_reserve()
            if isinstance(exc, (OSError, RuntimeError)):       # h5py's errors for a refused write
                self.path.unlink(missing_ok=True)
                raise RunFileError(self.path, f"cannot be created ({_reason(exc)}); no run file was made") from exc
            raise
        try:
            self._claim(len(json.dumps(bench, default=str)) + CHUNK_OVERHEAD)
            self._create(protocol, parameters, parameter_units, program, bench, device_id, seed, provenance, tags,
                         transcript)
        except BaseException as exc:
            self.refused = True          # the error that brought us here is the one to report
            try:
                self.close()
            finally:                     # a stub without samples would only confuse readers: remove it
                self.path.unlink(missing_ok=True)
            if isinstance(exc, (OSError, RuntimeError)):
                raise RunFileError(self.path, f"cannot be created ({_reason(exc)}); no run file was made") from exc
            raise
        self.created = True

    def _create(self, protocol: str, parameters: dict[str, float], parameter_units: dict[str, str],
                program: PulseProgram, bench: dict[str, Any], device_id: str, seed: int | None,
                provenance: dict[str, Any] | None, tags: tuple[str, ...] | list[str],
                transcript: TrafficLog | None) -> None:
        attrs = self.file.attrs
        if seed is not None and not _INT64[0] <= seed <= _INT64[1]:
            seed = str(seed)            # HDF5 integers hold 64 bits; keep a larger seed exactly, as text
        attrs.update({
            "schema": SCHEMA, "schema_version": SCHEMA_VERSION, "labsuite_version": __version__,
            "protocol": protocol, "parameters": json.dumps(parameters),
            "parameter_units": json.dumps(parameter_units), "device_id": device_id,
            "seed": -1 if seed is None else seed, "bench": json.dumps(bench, default=str),
            "start_time": _now(), "end_time": "", "status": RunState.RUNNING.value, "error": "",
            "provenance": json.dumps(provenance or {}, default=str), "tags": json.dumps(list(tags)),
        })
        if self.continues is not None:
            attrs.update({"continues": self.continues.source.name, "continues_samples": self.continues.kept,
                          "resumed_at": json.dumps({"train": self.continues.start[0],
                                                    "repeat": self.continues.start[1]}),
                          "time_offset": self.time_offset})
        self.samples = self.file.create_dataset("samples", shape=(0,), maxshape=(None,), dtype=SAMPLE_DTYPE,
                                                chunks=(STORAGE_CHUNK,))
        self.samples.attrs["units"] = json.dumps(SAMPLE_UNITS)
        self._write_program(program)
        self.transcript, self._transcribed = transcript, 0
        self.stages_to_come = False   # set while a closed-loop protocol may add stages
        traffic = self.file.create_group("transcript")
        self._traffic = [traffic.create_dataset(name, shape=(0,), maxshape=(None,), dtype=dtype, chunks=(1024,))
                         for name, dtype in (("t", "f8"), ("direction", h5py.string_dtype()),
                                             ("message", h5py.string_dtype()))]
        self._traffic[0].attrs["units"] = "s"
        self.file.flush()
        self.file.swmr_mode = True   # from here on readers in other processes may follow the run

    def _write_program(self, program: PulseProgram) -> None:
        group = self.file.create_group("program")
        group.attrs.update({"compliance": program.compliance, "duration": 0.0, "stages": 0})
        self.add_program(program)

    def add_program(self, program: PulseProgram) -> None:
        """Record a (further) stage's program; its trains are numbered after those before it."""
        self._claim(program_bytes(program) + CHUNK_OVERHEAD)
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

    def _hold_reserve(self) -> BinaryIO:
        """Write the reserve file and keep it open and locked: the lock says this run is alive (the
        system drops it if the process dies), see :func:`writer_alive`."""
        handle = open(self.reserve, "wb", buffering=0)   # unbuffered: a refused write is not tried again on close
        try:
            rest = memoryview(bytes(DISK_RESERVE))
            while rest:                                   # a write may stop short: the next one says why
                rest = rest[handle.write(rest):]
        except OSError as exc:
            handle.close()
            self.reserve.unlink(missing_ok=True)
            raise RunFileError(self.path, f"cannot hold {DISK_RESERVE} bytes of disk in reserve ({exc.strerror}); "
                                          "no run file was made") from exc
        if sys.platform != "win32":
            import fcntl

            fcntl.flock(handle, fcntl.LOCK_EX)
        return handle

    def _release_reserve(self) -> None:
        """Give the reserve's space back (the disk frees it once the file is closed and unlinked)."""
        if self._reserve is not None:
            self._reserve.close()
        self.reserve.unlink(missing_ok=True)

    def _ensure_space(self, chunk_bytes: int) -> None:
        """Raise :class:`RunFileError` unless the disk, and the process's file-size limit (``ulimit -f``),
        leave room for ``chunk_bytes`` more (twice, plus :data:`CHUNK_OVERHEAD` for HDF5's own
        allocations and the final status), besides the reserve file's :data:`DISK_RESERVE`."""
        free = shutil.disk_usage(self.path.parent).free
        where = "disk nearly full"
        if sys.platform != "win32":
            import resource

            limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
            size = self.path.stat().st_size if self.path.exists() else 0
            if limit != resource.RLIM_INFINITY and limit - size < free:
                free, where = limit - size, "file-size limit (ulimit -f) nearly reached"
        held = self._reserve is not None and not self._reserve.closed
        need = 2 * chunk_bytes + CHUNK_OVERHEAD + (0 if held else DISK_RESERVE)
        if free < need:
            raise (RunStopped if self.created else RunFileError)(
                self.path, f"{where} ({free / 1e6:.3g} MB left, {need / 1e6:.3g} MB needed to store "
                                          "the next readings safely); the run stopped before a write could fail, "
                                          "every reading stored so far is kept")

    def _claim(self, nbytes: int) -> None:
        """Allocate the disk blocks of the next ``nbytes`` past HDF5's end of file before HDF5 writes
        them, so that a full disk or a file-size limit refuses this allocation and never an HDF5
        write. Refused: free the reserve (room for the final status) and raise :class:`RunFileError`.
        Where the system cannot allocate ahead (no ``posix_fallocate``, or a file system that refuses
        it as unsupported) the free-space check stands alone."""
        if not hasattr(os, "posix_fallocate"):
            return
        try:
            os.posix_fallocate(self.file.id.get_vfd_handle(), self.file.id.get_filesize(), nbytes)
        except OSError as exc:
            if exc.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
                if exc.errno in (errno.EINVAL, errno.EOPNOTSUPP, errno.ENODEV):
                    return
                raise
            self.refused = True
            self._release_reserve()
            where = "file-size limit reached" if exc.errno == errno.EFBIG else "disk full"
            consequence = (f"the run stopped before a write could fail, its {self.stored} readings stored so far "
                           "are kept in this file") if self.created else "no run file was made"
            raise (RunStopped if self.created else RunFileError)(
                self.path, f"{where} ({exc.strerror}): no room for {nbytes / 1e6:.3g} MB more; {consequence}") from exc

    def on_samples(self, samples: np.ndarray, progress: Progress) -> None:
        new = self._new_transcript()
        payload = samples.nbytes + transcript_bytes(new)
        self._ensure_space(payload)
        self._claim(payload + CHUNK_OVERHEAD)
        rows = samples.astype(SAMPLE_DTYPE, copy=False)
        if self.time_offset:             # a continuation: its times run on after the stored run's
            rows = rows.copy()
            rows["t"] += self.time_offset
        n, transcribed = self.stored, self._transcribed
        try:
            self.samples.resize((n + rows.size,))
            self.samples[n:] = rows
            self._append_transcript()
            self.file.flush()
        except (OSError, RuntimeError) as exc:       # h5py's errors for a refused write (ENOSPC, EFBIG, EIO)
            self._recover(n, transcribed)
            kept = ("the file may be damaged past its last complete chunk: nothing could be written any more"
                    if self.broken else "every chunk stored before is kept")
            raise RunStopped(self.path, f"writing the readings failed ({_reason(exc)}); the run stopped, "
                                        f"{kept}") from exc
        self.stored = total = n + rows.size
        last_chunk = total - total % STORAGE_CHUNK
        first = max(n, last_chunk)
        self._tail[first - last_chunk:total - last_chunk] = rows[first - n:]

    def _recover(self, n: int, transcribed: int) -> None:
        """After a refused write: free the reserve so HDF5 can finish, drop the chunk that failed,
        rewrite the rows of the last HDF5 chunk (the failed flush may have lost them) and flush.
        If even that fails the file is ``broken``: it holds what the last good flush wrote."""
        self.refused = True
        self._release_reserve()
        try:
            self.samples.resize((n,))
            if n % STORAGE_CHUNK:
                self.samples[n - n % STORAGE_CHUNK:n] = self._tail[:n % STORAGE_CHUNK]
            for ds in self._traffic:
                ds.resize((transcribed,))
            self._transcribed = transcribed
            self.file.flush()
        except (OSError, RuntimeError):
            self.broken = True

    def _new_transcript(self) -> list[tuple[float, str, str]]:
        return [] if self.transcript is None else self.transcript.entries[self._transcribed:]

    def _append_transcript(self) -> None:
        """Append the instrument messages exchanged since the last flush."""
        new = self._new_transcript()
        if not new:
            return
        n = self._transcribed
        for ds, column in zip(self._traffic, zip(*new)):
            ds.resize((n + len(new),))
            ds[n:] = list(column)
        self._transcribed += len(new)

    def on_finish(self, state: RunState, error: BaseException | None) -> None:
        if state is RunState.COMPLETED and self.stages_to_come:
            self._append_transcript()
            self.file.flush()    # a closed-loop protocol may play another stage: still running
            return
        self.mark(state, error)

    def mark(self, state: RunState, error: BaseException | None = None) -> None:
        """Record how the run ended. After a failed write, a best effort: the metadata are small and
        may still fit; if they do not, the file keeps its earlier chunks and says ``running``. A disk
        too full for the rest of the transcript: the status is written without it, then the
        :class:`RunFileError` is raised (unless ``error`` already ends the run)."""
        self.ended = True
        full = None
        if not self.refused:
            try:
                self._claim(transcript_bytes(self._new_transcript()) + CHUNK_OVERHEAD)
                self._append_transcript()
            except RunFileError as exc:
                full = exc
        try:
            self.file.attrs["status"] = state.value
            self.file.attrs["end_time"] = _now()
            if error is not None:
                self.file.attrs["error"] = f"{type(error).__name__}: {error}"
            self.file.flush()
        except (OSError, RuntimeError):
            if not self.refused:
                raise
        if full is not None and error is None:
            raise full

    def write_analysis(self, figures: dict[str, float], units: dict[str, str]) -> None:
        """Store figures of merit under ``/analysis``."""
        self._claim(CHUNK_OVERHEAD)
        group = self.file.require_group("analysis")
        group.attrs.update({k: v for k, v in figures.items()})
        group.attrs["units"] = json.dumps(units)
        self.file.flush()

    def close(self) -> None:
        self._release_reserve()
        if not self.file.id.valid:
            return
        if self.refused:
            try:
                self.file.flush()
            except (OSError, RuntimeError):
                self._abandon()
                self.broken = True
        try:
            self.file.close()
        except (OSError, RuntimeError):
            if not self.refused:
                raise
            return
        if not self.broken:                     # a file HDF5 finished: give back the blocks claimed ahead
            end = _superblock(self.path)[1]
            if self.path.stat().st_size > end:
                os.truncate(self.path, end)

    def _abandon(self) -> None:
        """Point a file whose writes keep failing at the null device. HDF5 would keep it open and
        try again when the process exits, where it crashed (SIGSEGV); now its last writes are
        discarded and the file keeps what reached the disk."""
        if sys.platform == "win32":
            return
        null = os.open(os.devnull, os.O_RDWR)
        try:
            os.dup2(null, self.file.id.get_vfd_handle())
        finally:
            os.close(null)


def transcript_bytes(entries: list[tuple[float, str, str]]) -> int:
    """Bytes the transcript ``entries`` take in the file, at most: per message its text, its time, its
    direction, two variable-length string references (16 bytes each) and two global-heap object
    headers with their padding (24 bytes each)."""
    return sum(len(message) + len(direction) + 8 + 2 * (16 + 24) for _, direction, message in entries)


def program_bytes(program: PulseProgram) -> int:
    """Bytes the program's tables take in the file, at most (levels and one row per pattern segment)."""
    return sum(train.levels.nbytes + len(train.pattern) * (8 + 8 + 1 + 64) for train in program.trains)


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


def _reason(exc: BaseException) -> str:
    """The system's words from an HDF5 error (``No space left on device``), else the error itself."""
    text = str(exc)
    marker = "error message = '"
    if marker in text:
        return text.split(marker, 1)[1].split("'", 1)[0]
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return text.splitlines()[0] if text else type(exc).__name__


_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_WRITING, _SWMR_WRITING = 0x1, 0x4      # superblock status flags


def _superblock(path: Path) -> tuple[int, int]:
    """(status flags, end-of-file address) from the HDF5 superblock; raise
    :class:`RunFileError` if there is none. HDF5 looks for it at 0, 512, 1024, 2048 … bytes."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        offset = 0
        while offset + 64 <= size or offset == 0:
            f.seek(offset)
            head = f.read(96)
            if head[:8] == _SIGNATURE:
                break
            offset = 512 if offset == 0 else offset * 2
        else:
            head = b""
    if head[:8] != _SIGNATURE or len(head) < 64:
        raise RunFileError(path, f"not an HDF5 run file ({size} bytes, no HDF5 superblock)")
    version, width = head[8], head[9]
    if version >= 2:
        flags, at = head[11], 12
    else:
        flags, at = int.from_bytes(head[20:24], "little"), 24 + (4 if version == 1 else 0)
    base = int.from_bytes(head[at:at + width], "little")
    eof = int.from_bytes(head[at + 2 * width:at + 3 * width], "little")
    return flags, base + eof


def open_run(path: str | Path) -> h5py.File:
    """Open a run file for reading: finished, still being written, or left by a crash.

    Raise :class:`RunFileError` naming the file if it is not HDF5, truncated or damaged. A file
    in SWMR writing (live, or left so by a crash) is opened as a SWMR reader, any other plainly.
    """
    path = Path(path)
    try:
        flags, eof = _superblock(path)
        swmr = bool(flags & _SWMR_WRITING)
        for wait in (0.05, 0.2, None):     # a live writer may be extending the file right now
            size = path.stat().st_size
            if size >= eof or not swmr or wait is None:
                break
            time.sleep(wait)
    except OSError as exc:
        raise RunFileError(path, f"cannot be read ({exc.strerror or exc})") from exc
    if size < eof:
        raise RunFileError(path, f"truncated: {size} of its {eof} bytes are on disk")
    if flags & _WRITING and not swmr:
        raise RunFileError(path, "left open for writing before its first sample (not in SWMR mode); "
                                 "`h5clear -s` clears the flag")
    try:
        if swmr:
            return h5py.File(h5py.h5f.open(str(path).encode(), h5py.h5f.ACC_RDONLY | h5py.h5f.ACC_SWMR_READ,
                                           fapl=_swmr_access()))
        return h5py.File(path, "r")
    except (OSError, RuntimeError) as exc:
        raise RunFileError(path, f"damaged, HDF5 cannot open it ({_reason(exc)})") from exc


SWMR_READ_ATTEMPTS = 28   # a damaged checksum is retried with doubling waits from 1 ns: ≈ 0.3 s in all


@functools.cache
def _hdf5_library() -> ctypes.CDLL | None:
    """The HDF5 library h5py runs on (its property lists are only valid there), or None if not found."""
    maps = Path("/proc/self/maps")
    candidates = [line.split()[-1] for line in maps.read_text().splitlines() if "/libhdf5" in line
                  and "libhdf5_hl" not in line] if maps.exists() else []
    package = Path(h5py.__file__).parent
    for pattern in ("libhdf5-*.so*", "libhdf5.*.dylib", "hdf5.dll"):
        candidates += [str(p) for where in (package, package.parent / "h5py.libs", package / ".dylibs")
                       for p in where.glob(pattern)]
    return ctypes.CDLL(candidates[0]) if candidates else None


def _swmr_access() -> h5py.h5p.PropFAID:
    """File access for a SWMR reader that gives up on damaged metadata: HDF5 retries a failed
    checksum up to 100 times with doubling waits (hours), taking it for a write in progress."""
    fapl = h5py.h5p.create(h5py.h5p.FILE_ACCESS)
    library = _hdf5_library()
    if library is not None:
        library.H5Pset_metadata_read_attempts(ctypes.c_int64(fapl.id), ctypes.c_uint(SWMR_READ_ATTEMPTS))
    return fapl


_JSON_ATTRIBUTES = {"parameters": dict, "parameter_units": dict, "provenance": dict, "bench": dict, "tags": list}


def _check_attributes(path: Path, attrs: dict[str, Any]) -> None:
    """Refuse (ValueError) run attributes of the wrong kind: JSON ones that do not hold the object
    or list labsuite writes, and a ``continues`` that is not a file name next to ``path``."""
    for name, kind in _JSON_ATTRIBUTES.items():
        if name in attrs and not isinstance(json.loads(attrs[name]), kind):
            raise ValueError(f"attribute {name!r} is not a JSON {'object' if kind is dict else 'array'}")
    if not isinstance(json.loads(attrs.get("provenance", "{}")).get("options", {}), dict):
        raise ValueError("provenance 'options' is not a JSON object")
    simulator = json.loads(attrs.get("bench", "{}")).get("simulator") or {}
    if not isinstance(simulator, dict) or not isinstance(simulator.get("model", {}), dict):
        raise ValueError("bench 'simulator' is not a JSON object holding a 'model' object")
    if attrs.get("continues"):
        if Path(str(attrs["continues"])).name != attrs["continues"]:
            raise ValueError(f"'continues' = {attrs['continues']!r} is not a file name in the run's folder")
        if int(attrs.get("continues_samples", "")) < 0:
            raise ValueError("'continues_samples' is negative")


def stored_samples(f: h5py.File) -> int:
    """How many samples the open run file ``f`` holds (any schema version)."""
    stored = f["samples"]
    return stored.shape[0] if isinstance(stored, h5py.Dataset) else stored["t"].shape[0]


def read_samples(f: h5py.File) -> np.ndarray:
    """The samples of the open run file ``f``: one compound dataset from version 3 on, one dataset
    per field in versions 1 and 2."""
    stored = f["samples"]
    if isinstance(stored, h5py.Dataset):
        return stored[:].astype(SAMPLE_DTYPE, copy=False)
    samples = np.empty(stored["t"].shape[0], SAMPLE_DTYPE)
    for name in SAMPLE_DTYPE.names:
        samples[name] = stored[name][:]
    return samples


def read_run(path: str | Path) -> RunData:
    """Read a run file into memory; :class:`RunFileError` names a file that is damaged or no run."""
    path = Path(path)
    with open_run(path) as f:
        try:
            attrs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
            if attrs.get("schema") != SCHEMA:
                raise RunFileError(path, "not a labsuite run file (no 'labsuite-run' schema attribute)")
            samples = read_samples(f)
            analysis = dict(f["analysis"].attrs) if "analysis" in f else {}
            _check_attributes(path, attrs)
            if int(attrs.get("schema_version", SCHEMA_VERSION)) < 2:
                attrs = upgrade_run_attributes(attrs)
        except (OSError, RuntimeError, KeyError, ValueError) as exc:
            raise RunFileError(path, f"damaged, its data cannot be read ({_reason(exc)})") from exc
    if attrs.get("continues"):      # a resumed run: the samples its first file kept come first
        earlier = read_run(path.parent / attrs["continues"])
        samples = np.concatenate([earlier.samples[:int(attrs["continues_samples"])], samples])
    return RunData(path, attrs, samples, analysis)


def read_program(path: str | Path) -> PulseProgram:
    """The program stored in a run file (all stages of a closed-loop protocol, in order)."""
    with open_run(path) as f:
        group = f["program"]
        trains = []
        for i in range(sum(1 for name in group if name.startswith("train"))):
            g = group[f"train{i}"]
            pattern = tuple(Segment(float(level), float(d), str(label), bool(m), float(c))
                            for level, d, label, m, c in zip(g["levels"][0], g["duration"][:], g["label"].asstr()[:],
                                                            g["measure"][:], g["compliance"][:]))
            trains.append(Train(pattern, int(g.attrs["repeats"]), g["levels"][:]))
        return PulseProgram(tuple(trains), float(group.attrs["compliance"]))


@dataclass(frozen=True)
class Continuation:
    """Where a resumed run picks up: ``source`` keeps its first ``kept`` samples, which cover the
    program up to (train, repeat) ``start``; the last of them was taken at ``t_end`` s."""

    source: Path
    kept: int
    start: tuple[int, int]
    t_end: float


def continuation(run: RunData, program: PulseProgram) -> Continuation:
    """The first train and repeat of ``program`` that ``run`` did not store in full.

    Chunks are stored whole, so the samples end with a complete repeat; should the last repeat be
    incomplete, it is played again and its partial readings are left out of the continued run.
    """
    samples = run.samples
    if not samples.size:
        return Continuation(run.path, 0, (0, 0), 0.0)
    train, repeat = int(samples["train"][-1]), int(samples["repeat"][-1])
    if train >= len(program.trains):
        raise RunFileError(run.path, f"holds train {train}, but its program has {len(program.trains)} trains")
    of_last = (samples["train"] == train) & (samples["repeat"] == repeat)
    if np.count_nonzero(of_last) == program.trains[train].measurements_per_repeat:
        kept, start = samples.size, (train, repeat + 1)
    else:
        kept, start = int(np.flatnonzero(of_last)[0]), (train, repeat)
    if start[1] == program.trains[train].repeats:
        start = (train + 1, 0)
    return Continuation(run.path, kept, start, float(samples["t"][kept - 1]) if kept else 0.0)
