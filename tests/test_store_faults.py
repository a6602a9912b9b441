"""No data lost: a full disk or a refused write stops the run with every earlier chunk readable;
a truncated or damaged run file is named, never hangs a reader; every run ends with a final status."""
import logging
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from labsuite import Bench, read_run, run_protocol
from labsuite.core.errors import InstrumentError, RunAborted
from labsuite.core.events import RunObserver, RunState
from labsuite.protocols import WriteVerify
from labsuite.store import RunFileError, RunWriter

def long_run(pulses: int) -> list[str]:
    """1 ms pulses, each read: ``pulses`` readings of 48 bytes in 1 s chunks of 1000."""
    return ["--set", f"pulses={pulses}", "--set", "period=1ms", "--set", "width=100us", "--set", "read_delay=200us",
            "--set", "read_time=200us"]


def labsuite(*args, cwd, timeout=120, preexec_fn=None):
    return subprocess.run([sys.executable, "-m", "labsuite", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=timeout, preexec_fn=preexec_fn)


def assert_earlier_chunks_kept(folder: Path, error: str) -> None:
    """One run file, marked failed with ``error``, holding an unbroken run of chunks from the start."""
    (path,) = folder.glob("*.h5")
    run = read_run(path)
    assert run.status == "failed" and error in run.attrs["error"]
    samples = run.samples
    assert samples.size > 1000                                # several 1 s chunks of 1 ms pulses made it
    assert (samples["repeat"][1:] == np.arange(samples.size - 1)).all() and np.all(np.diff(samples["t"]) > 0)
    assert np.all(samples["current"][1:] > 0)


@pytest.fixture
def small_disk(tmp_path):
    """A real 2.2 MB disk: a tmpfs mounted for the test (skipped where mounting needs root)."""
    mount = tmp_path / "small-disk"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2200k", "tmpfs", str(mount)], capture_output=True,
                          text=True)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {made.stderr.strip()}")
    yield mount
    subprocess.run(["umount", str(mount)], check=True)


def test_a_full_disk_stops_the_run_before_hdf5_hits_enospc(tmp_path, small_disk):
    """A real full disk: a 2.2 MB tmpfs. The run stops with a one-line error (no segfault), every
    chunk before is readable and the file says failed."""
    mount = small_disk
    out = labsuite("run", "potentiation", "--sim", "--no-progress", "--out", mount, *long_run(8000), cwd=tmp_path)
    assert out.returncode == 3, out.stderr
    assert out.stderr.startswith("labsuite: error: ") and "disk nearly full" in out.stderr
    assert_earlier_chunks_kept(mount, "disk nearly full")


def _file_size_limit():
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)       # a refused write returns EFBIG instead of killing us
    resource.setrlimit(resource.RLIMIT_FSIZE, (1_600_000, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))


def test_a_file_size_limit_stops_the_run_safely_with_earlier_chunks_readable(tmp_path):
    """Always available: ``ulimit -f`` of 1.6 MB. Before the fix HDF5 hit EFBIG mid-flush, recorded an
    end of file past the data (the whole file unreadable) and the process died with SIGSEGV."""
    out = labsuite("run", "potentiation", "--sim", "--no-progress", "--out", "runs", *long_run(20000), cwd=tmp_path,
                   preexec_fn=_file_size_limit)
    assert out.returncode == 3, out.stderr
    assert "file-size limit" in out.stderr
    assert_earlier_chunks_kept(tmp_path / "runs", "file-size limit")


def test_low_disk_space_fails_the_run_with_outputs_off(tmp_path, monkeypatch):
    """The free-space check before each chunk: the run stops, outputs off, status failed."""
    import shutil

    import labsuite.store as store

    calls, real = [], shutil.disk_usage

    def filling(path):
        calls.append(path)
        usage = real(path)
        return usage._replace(free=usage.free if len(calls) < 4 else store.CHUNK_OVERHEAD)

    monkeypatch.setattr(store.shutil, "disk_usage", filling)
    with Bench.simulated(seed=1) as bench:
        with pytest.raises(RunFileError, match="disk nearly full"):
            run_protocol("potentiation", bench, {"pulses": 300, "period": "10 ms", "read_delay": "2 ms"},
                         out_dir=tmp_path)
        assert bench.smu.ask(":OUTP?") == "0"
    (path,) = tmp_path.glob("*.h5")
    run = read_run(path)
    assert run.status == "failed" and run.samples.size == 1 + 100    # the baseline read, one 1 s chunk of pulses


def test_a_disk_full_claim_stops_the_run_with_outputs_off_and_earlier_chunks_kept(tmp_path, monkeypatch):
    """The disk fills behind the free-space check: claiming the third chunk's blocks fails with
    ENOSPC before HDF5 writes. One line names the disk and the file, the outputs are off, the file
    says failed and holds the baseline and the first chunk."""
    import errno
    import os

    import labsuite.store as store

    claims, real = [], os.posix_fallocate

    def filling(fd, offset, length):
        claims.append(length)
        if len(claims) >= 5:     # the file, its program, the baseline read, chunk 1; chunk 2 finds the disk full
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(fd, offset, length)

    monkeypatch.setattr(store.os, "posix_fallocate", filling)
    with Bench.simulated(seed=1) as bench:
        with pytest.raises(RunFileError) as raised:
            run_protocol("potentiation", bench, {"pulses": 300, "period": "10 ms", "read_delay": "2 ms"},
                         out_dir=tmp_path)
        assert bench.smu.ask(":OUTP?") == "0"
    (path,) = tmp_path.glob("*.h5")
    assert str(raised.value) == (f"{path}: disk full (No space left on device): no room for "
                                 f"{claims[-1] / 1e6:.3g} MB more; the run stopped before a write could fail, its "
                                 "101 readings stored so far are kept in this file")
    run = read_run(path)
    assert run.status == "failed" and run.samples.size == 1 + 100 and "disk full" in run.attrs["error"]
    assert not store.reserve_path(path).exists()


def test_a_refused_write_in_the_writer_fails_the_run_through_the_runners_finally(tmp_path):
    """A write error in the writer (here one EIO on the 3rd chunk's flush) becomes a RunFileError;
    the Runner's finally turns the outputs off; the earlier chunks and the status reach the file."""
    writers = []

    class FlakyDisk(RunObserver):
        chunks = 0

        def on_samples(self, samples, progress):
            self.chunks += 1
            if self.chunks == 2:        # the next flush fails once, as a disk's transient I/O error would
                writer = writers[0]

                def fail_once():
                    del writer.file.flush
                    raise OSError(5, "Input/output error")
                writer.file.flush = fail_once

    with Bench.simulated(seed=1) as bench:
        with pytest.raises(RunFileError, match="writing the readings failed"):
            run_protocol("potentiation", bench, {"pulses": 300, "period": "10 ms", "read_delay": "2 ms"},
                         out_dir=tmp_path, observers=[FlakyDisk()],
                         runner_hook=lambda runner: writers.append(runner.observers[0]))
        assert bench.smu.ask(":OUTP?") == "0"
    (path,) = tmp_path.glob("*.h5")
    run = read_run(path)
    assert run.samples.size == 1 + 100 and (run.samples["repeat"][1:] == np.arange(100)).all()
    assert run.status == "failed" and "Input/output error" in run.attrs["error"]


def test_a_failed_creation_leaves_no_stub_file(tmp_path, monkeypatch):
    def refuse(self, program):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(RunWriter, "_write_program", refuse)
    with Bench.simulated(seed=1) as bench:
        with pytest.raises(RunFileError, match=r"\.h5: cannot be created \(No space left on device\); no run file "
                                               "was made$"):
            run_protocol("potentiation", bench, {"pulses": 3}, out_dir=tmp_path)
        assert bench.smu.ask(":OUTP?") == "0"
    assert list(tmp_path.iterdir()) == []


def test_a_twenty_digit_seed_is_stored_exactly_and_the_catalog_lists_it(tmp_path):
    """HDF5 integers hold 64 bits: the seed was refused half-way through creating the file."""
    from labsuite.catalog import Catalog

    seed = 12345678901234567890
    with Bench.simulated(seed=seed) as bench:
        result = run_protocol("potentiation", bench, {"pulses": 3}, out_dir=tmp_path)
    assert result.state is RunState.COMPLETED and int(read_run(result.path).attrs["seed"]) == seed
    (entry,) = Catalog(tmp_path).query()
    assert entry.seed == seed and entry.status == "completed"


# --- files that cannot be read ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def good_run(tmp_path_factory):
    with Bench.simulated(seed=1) as bench:
        return run_protocol("potentiation", bench, {"pulses": 20}, out_dir=tmp_path_factory.mktemp("good")).path


def damaged_copies(good: Path, folder: Path) -> dict[str, Path]:
    """A 1 KB truncation, a half-written file, garbage, and a stub that never got its datasets."""
    folder.mkdir(exist_ok=True)
    data = good.read_bytes()
    files = {"cut1k": data[:1024], "cut_half": data[:len(data) // 2], "garbage": b"not hdf5 at all" * 100}
    paths = {name: folder / f"{name}.h5" for name in (*files, "stub")}
    for name, content in files.items():
        paths[name].write_bytes(content)
    with h5py.File(paths["stub"], "w") as f:
        f.attrs["schema"] = "labsuite-run"
    return paths


@pytest.mark.parametrize("name", ["cut1k", "cut_half", "garbage", "stub"])
def test_read_run_names_a_damaged_file_at_once(good_run, tmp_path, name):
    path = damaged_copies(good_run, tmp_path)[name]
    started = time.monotonic()
    with pytest.raises(RunFileError, match=f"{name}.h5: "):
        read_run(path)
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("attribute, value", [
    ("parameters", "[]"), ("provenance", "[1, 2]"), ("provenance", '{"options": [1]}'), ("bench", '"x"'),
    ("parameters", "[" * 100000 + "]" * 100000), ("continues", "/etc/passwd"), ("continues", "../other.h5"),
    ("bench", '{"simulator": {"model": "x"}}'), ("bench", '{"simulator": [1]}'),
])
def test_attributes_of_the_wrong_kind_name_the_file(good_run, tmp_path, attribute, value):
    """A crafted file's metadata ended in 'unexpected TypeError ... (a bug)' and exit 1 in replay,
    export and resim, and ``continues`` read any file on disk into the run."""
    path = tmp_path / "crafted.h5"
    path.write_bytes(good_run.read_bytes())
    with h5py.File(path, "r+") as f:
        f.attrs[attribute] = value
        f.attrs["continues_samples"] = 5
    with pytest.raises(RunFileError, match="crafted.h5: damaged"):
        read_run(path)


def test_runs_lists_the_folder_and_names_each_damaged_file_once(good_run, tmp_path):
    """A 1 KB-truncated file hung ``labsuite runs`` (a SWMR reader retries checksums for hours)."""
    folder = tmp_path / "data"
    damaged = damaged_copies(good_run, folder)
    (folder / good_run.name).write_bytes(good_run.read_bytes())
    out = labsuite("runs", "--dir", folder, "--json", cwd=tmp_path, timeout=60)
    assert out.returncode == 0, out.stderr
    import json
    assert [Path(r["run_file"]).name for r in json.loads(out.stdout)] == [good_run.name]
    lines = out.stderr.strip().splitlines()
    assert len(lines) == len(damaged) and all(line.startswith("skipped ") for line in lines)
    assert {name for name in damaged if any(f"{name}.h5" in line for line in lines)} == set(damaged)


def test_export_of_several_files_exports_the_good_ones_and_names_the_bad(good_run, tmp_path):
    damaged = damaged_copies(good_run, tmp_path / "data")
    out = labsuite("export", good_run, damaged["cut1k"], damaged["stub"], "--out", tmp_path / "csv", cwd=tmp_path,
                   timeout=60)
    assert out.returncode == 2
    assert (tmp_path / "csv" / good_run.with_suffix(".csv").name).exists()
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 2 and "cut1k.h5: truncated" in lines[0] and "stub.h5" in lines[1]


def test_replay_of_a_damaged_file_is_one_clear_error(good_run, tmp_path):
    path = damaged_copies(good_run, tmp_path)["cut1k"]
    out = labsuite("replay", path, "--no-progress", cwd=tmp_path, timeout=60)
    assert out.returncode == 2
    assert out.stderr.strip() == f"labsuite: error: {path}: truncated: 1024 of its {good_run.stat().st_size} " \
                                 "bytes are on disk"


# --- final statuses ------------------------------------------------------------------------------------

def test_a_failure_between_closed_loop_stages_marks_the_file_failed(tmp_path):
    """write-verify read 0 V (a dead output): G = 0/0 became int(NaN) after a completed stage, and
    the file stayed 'running' with no error."""
    class DeadOutput(RunObserver):
        def on_samples(self, samples, progress):
            samples["voltage"] = 0.0         # the stage's own samples, as the loop will see them
            samples["current"] = 0.0

    with Bench.simulated(seed=3) as bench:
        with pytest.raises(InstrumentError, match=r"read 0 measured 0 V, 0 A"):
            run_protocol(WriteVerify(), bench, out_dir=tmp_path, observers=[DeadOutput()])
    (path,) = tmp_path.glob("*.h5")
    run = read_run(path)
    assert run.status == "failed" and "InstrumentError" in run.attrs["error"] and run.attrs["end_time"]


def test_a_user_stop_between_stages_marks_the_file_aborted(tmp_path):
    class StopAfterFirstStage(WriteVerify):
        def next_program(self, samples):
            raise RunAborted("aborted by the user")

    with Bench.simulated(seed=3) as bench, pytest.raises(RunAborted):
        run_protocol(StopAfterFirstStage(), bench, out_dir=tmp_path)
    (path,) = tmp_path.glob("*.h5")
    assert read_run(path).status == "aborted"


def test_a_locked_catalog_never_fails_a_completed_run(tmp_path, monkeypatch, caplog, capsys):
    """Another program holds the index for longer than the lock timeout: the run completes, prints
    its figures, and one warning says the index will catch up (it does at the next listing)."""
    import sqlite3

    from labsuite.catalog import INDEX, Catalog
    from labsuite.cli import main

    monkeypatch.setattr(Catalog, "lock_timeout", 0.2)
    Catalog(tmp_path).query()
    holder = sqlite3.connect(tmp_path / INDEX)
    holder.execute("BEGIN EXCLUSIVE")
    with caplog.at_level(logging.WARNING):
        status = main(["run", "potentiation", "--sim", "--no-progress", "--out", str(tmp_path),
                       "--set", "pulses=5"])
    holder.rollback()
    holder.close()
    assert status == 0
    assert "g_max" in capsys.readouterr().out
    (warning,) = [r.getMessage() for r in caplog.records]
    assert "locked" in warning and "the index will catch up" in warning
    assert [e.status for e in Catalog(tmp_path).query()] == ["completed"]


RACE = '''
import sys
import labsuite.store as store
from labsuite.cli import main

real = store.shutil.disk_usage
store.shutil.disk_usage = lambda path: real(path)._replace(free=10**12)   # the free-space check always passes
sys.exit(main(sys.argv[1:]))
'''


def test_a_disk_filled_behind_the_checks_back_keeps_every_earlier_sample(tmp_path, small_disk):
    """Another program fills the disk between the free-space check and the write: HDF5 hits a real
    ENOSPC. The writer frees its reserve, drops the refused chunk, rewrites the last HDF5 chunk and
    records the status; the process exits 2 with one line (it segfaulted, the file unreadable)."""
    mount = small_disk
    (tmp_path / "race.py").write_text(RACE)
    out = subprocess.run([sys.executable, "race.py", "run", "potentiation", "--sim", "--no-progress", "--out",
                          str(mount), *long_run(20000)], capture_output=True, text=True, cwd=tmp_path,
                         timeout=120)
    assert out.returncode == 3, out.stderr
    assert out.stderr.startswith("labsuite: error: ") and "No space left on device" in out.stderr
    assert_earlier_chunks_kept(mount, "No space left on device")
    assert [p.name for p in mount.iterdir() if p.name.endswith(".reserve")] == []


@pytest.mark.parametrize("smu", ["keithley2450", "keysightb2900"])
def test_readings_reach_the_file_at_least_once_per_second_of_program_time(tmp_path, smu):
    """By default a chunk holds at most 1 s of program time (it was 30 s: a crash lost up to 30 s)."""
    done = []

    class Chunks(RunObserver):
        def on_samples(self, samples, progress):
            with h5py.File(next(tmp_path.glob("*.h5")), "r", swmr=True) as f:
                assert f["samples"].shape[0] == progress.samples       # already flushed
            done.append(progress.done)

    with Bench.simulated(seed=1, smu=smu) as bench:
        run_protocol("potentiation", bench, {"pulses": 350, "period": "10 ms", "read_delay": "2 ms"},
                     out_dir=tmp_path, observers=[Chunks()], timing="hardware")
    steps = np.diff([0.0, *done])
    assert steps.max() <= 1.0 + 1e-9 and len(done) == 1 + 4          # the baseline read, then 1+1+1+0.5 s


CRASH = '''
import os
from labsuite import Bench, run_protocol
from labsuite.core.events import RunObserver

class Die(RunObserver):
    seen = 0
    def on_samples(self, samples, progress):
        self.seen += 1
        if self.seen == 2:
            os._exit(0)              # killed: the file keeps its "open for SWMR writing" flag

with Bench.simulated(seed=1) as bench:
    run_protocol("potentiation", bench, {"pulses": 300, "period": "10 ms", "read_delay": "2 ms"}, out_dir="runs",
                 observers=[Die()])
'''

READ = '''
import sys, time
from labsuite.store import RunFileError, read_run
started = time.monotonic()
try:
    read_run(sys.argv[1])
except RunFileError as exc:
    print(f"{time.monotonic() - started:.2f} {exc}")
'''


def test_a_crashed_file_with_damaged_metadata_is_named_within_a_second(tmp_path):
    """A file left open for SWMR writing is read as a SWMR reader, which retried a bad checksum 100
    times with doubling waits (hours); now it gives up after ≈ 0.3 s and names the file."""
    (tmp_path / "crash.py").write_text(CRASH)
    (tmp_path / "read.py").write_text(READ)
    subprocess.run([sys.executable, "crash.py"], cwd=tmp_path, timeout=60, check=True)
    (path,) = (tmp_path / "runs").glob("*.h5")
    data = bytearray(path.read_bytes())
    assert data[11] & 0x4                                       # superblock: open for SWMR writing
    width = data[9]
    root = int.from_bytes(data[12 + 3 * width:12 + 4 * width], "little")
    data[root + 8:root + 24] = b"\xff" * 16                     # the root group's object header
    path.write_bytes(bytes(data))
    out = subprocess.run([sys.executable, "read.py", str(path)], capture_output=True, text=True, cwd=tmp_path,
                         timeout=60)
    seconds, message = out.stdout.split(" ", 1)
    assert float(seconds) < 2 and message.startswith(f"{path}: damaged") and "checksum" in message


BLIND = '''
import resource, signal, sys
from labsuite.cli import main

signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
limit = int(sys.argv.pop(1))
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
unlimited = (resource.RLIM_INFINITY, resource.RLIM_INFINITY)
resource.getrlimit = lambda which: unlimited     # the writer's checks cannot see the limit
sys.exit(main(sys.argv[1:]))
'''


def test_a_file_size_limit_the_checks_cannot_see_refuses_the_claim_not_a_write(tmp_path):
    """The blocks of each chunk are claimed before HDF5 writes: a file-size limit the free-space check
    cannot see refuses the claim, and the run stops with every earlier chunk readable."""
    (tmp_path / "blind.py").write_text(BLIND)
    out = subprocess.run([sys.executable, "blind.py", "1600000", "run", "potentiation", "--sim", "--no-progress",
                          "--out", "runs", *long_run(20000)], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert out.returncode == 3, out.stderr[-2000:]
    (error,) = out.stderr.strip().splitlines()
    assert error.startswith("labsuite: error: runs/") and ": file-size limit reached (File too large)" in error
    assert error.endswith("readings stored so far are kept in this file")
    assert_earlier_chunks_kept(tmp_path / "runs", "file-size limit reached")


def test_a_file_that_cannot_be_written_at_all_ends_the_process_cleanly(tmp_path):
    """Where blocks cannot be claimed ahead (no ``posix_fallocate``), nothing helps a file-size limit the
    checks cannot see: every write fails, the recovery too. The run stops with one line and exit 3;
    HDF5 no longer crashes at exit (SIGSEGV, exit 139)."""
    (tmp_path / "blind.py").write_text(BLIND.replace("import resource, signal, sys", "import os, resource, signal, sys\n"
                                                     "del os.posix_fallocate"))
    out = subprocess.run([sys.executable, "blind.py", "1600000", "run", "potentiation", "--sim", "--no-progress",
                          "--out", "runs", *long_run(20000)], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert out.returncode == 3, out.stderr[-2000:]
    error = out.stderr.strip().splitlines()[-1]
    assert error.startswith("labsuite: error: ") and "writing the readings failed (File too large)" in error
    assert error.endswith("the file may be damaged past its last complete chunk: nothing could be written any more")


def test_a_reserve_that_cannot_be_held_refuses_the_run_and_leaves_no_file(tmp_path):
    (tmp_path / "blind.py").write_text(BLIND)
    out = subprocess.run([sys.executable, "blind.py", "600000", "run", "potentiation", "--sim", "--no-progress",
                          "--out", "runs", "--set", "pulses=10"], capture_output=True, text=True, cwd=tmp_path,
                         timeout=120)
    assert out.returncode == 2
    assert out.stderr.strip().endswith("cannot hold 1048576 bytes of disk in reserve (File too large); no run file "
                                       "was made")
    assert list((tmp_path / "runs").iterdir()) == []


# --- the disk fills at every point of a run file's life ------------------------------------------------

FILL = '''
import json, os, signal, sys
from pathlib import Path

import h5py
import numpy as np

import labsuite.store as store
from labsuite import read_run
from labsuite.core.events import Progress, RunState
from labsuite.core.program import SAMPLE_DTYPE, PulseProgram, Segment, Train
from labsuite.store import RunFileError, RunWriter
from labsuite.traffic import BINARY_PREFIX, TrafficLog

real = store.shutil.disk_usage
store.shutil.disk_usage = lambda path: real(path)._replace(free=10**12)   # the disk fills behind the checks

CHUNKS, ROWS = 8, 500
PROGRAM = PulseProgram((Train((Segment(1.0, 1e-4, "write"), Segment(0.1, 9e-4, "read", True)), CHUNKS * ROWS,
                              np.column_stack([np.linspace(0.5, 1.5, CHUNKS * ROWS), np.full(CHUNKS * ROWS, 0.1)])),),
                       1e-3)


def rows(chunk):
    """Chunk ``chunk`` of readings: known values, so that what is read back can be compared."""
    out = np.zeros(ROWS, SAMPLE_DTYPE)
    out["repeat"] = np.arange(chunk * ROWS, (chunk + 1) * ROWS)
    out["t"], out["voltage"], out["current"] = out["repeat"] * 1e-3, 0.1, 1e-6 * (1 + out["repeat"])
    return out


def write_run(path, report):
    """A run file's whole life: created with its program, a large first transcript (a train loaded in one
    message), chunks whose transcript holds a binary reply (base64, as a binary fetch logs it), the
    status, the analysis, closed; stopped as the Runner stops it when the writer raises."""
    log = TrafficLog()
    log.entries += [(0.0, "write", ':SOUR:VOLT 1;:SOUR:CONF:LIST:STOR "labsuite1";' * 1500), (0.0, "read", "0")]
    try:
        writer = RunWriter(path, protocol="potentiation", parameters={"pulses": 4000.0},
                           parameter_units={"pulses": ""}, program=PROGRAM, bench={"smu": "simulated"}, transcript=log)
    except RunFileError as exc:
        report(f"error {exc}")
        return
    try:
        for chunk in range(CHUNKS):
            data = rows(chunk)
            log.entries += [(chunk, "write", ":TRAC:DATA? 1,500"),
                            (chunk, "read", BINARY_PREFIX + "QUJD" * (1000 * (1 + chunk % 3)))]
            writer.on_samples(data, Progress(chunk + 1.0, CHUNKS, 0.0, (chunk + 1) * ROWS))
            report(f"flushed {writer.stored}")
        writer.on_finish(RunState.COMPLETED, None)
        writer.write_analysis({"g_max": 1e-6}, {"g_max": "S"})
    except RunFileError as exc:
        report(f"error {exc}")
        if not writer.ended:
            writer.on_finish(RunState.FAILED, exc)
    finally:
        writer.close()


def check(path):
    """What a reader finds: read_run and plain h5py."""
    found = {}
    if not path.exists():
        return found
    run = read_run(path)
    found.update(status=run.status, error=run.attrs["error"], stored=int(run.samples.size),
                 intact=bool(all((run.samples[c * ROWS:(c + 1) * ROWS] == rows(c)).all()
                                 for c in range(run.samples.size // ROWS))))
    with h5py.File(path, "r", swmr=True) as f:
        found["transcript"] = [f["transcript"][name].shape[0] for name in ("t", "direction", "message")]
        found["size_vs_end"] = path.stat().st_size - store._superblock(path)[1]
    return found


disk, frees = Path(sys.argv[1]), [int(v) for v in sys.argv[2:]]
for free in frees:
    filler = disk / "filler"
    with open(filler, "wb") as f:
        f.write(bytes(real(disk).free - free))
    path = disk / "run.h5"
    read_end, write_end = os.pipe()
    sys.stdout.flush()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        signal.alarm(120)       # a hang ends as SIGALRM
        write_run(path, lambda line: os.write(write_end, (line + "\\n").encode()))
        sys.exit(0)             # an exit through HDF5's own clean-up, where it crashed
    os.close(write_end)
    with os.fdopen(read_end) as lines:
        said = lines.read().splitlines()
    _, status = os.waitpid(pid, 0)
    filler.unlink()
    result = {"free": free, "exit": os.waitstatus_to_exitcode(status), "said": said, **check(path),
              "left": sorted(p.name for p in disk.iterdir() if p != path)}
    path.unlink(missing_ok=True)
    print(json.dumps(result), flush=True)
'''


def test_the_disk_filling_at_any_point_of_a_run_keeps_every_flushed_reading(tmp_path, small_disk):
    """Another program fills the disk at every 4 KiB page of a run file's life, from its creation to
    its close (program tables, the first chunk with a 100 kB transcript, chunk appends and resizes,
    binary replies in the transcript, the status, the analysis): the writer never crashes inside HDF5
    or at exit, never hangs, says in one line that the disk is full and where the readings are, and
    the file holds every reading flushed before, readable with h5py and ``read_run``. It crashed
    (SIGSEGV, SIGBUS), printed HDF5's traceback as an 'unexpected error', or lost the whole file."""
    (tmp_path / "fill.py").write_text(FILL)
    reserve = 1 << 20
    frees = list(range(reserve - 4096, reserve + 760 * 1024, 4096))
    out = subprocess.run([sys.executable, "fill.py", str(small_disk), *map(str, frees)], capture_output=True,
                         text=True, cwd=tmp_path, timeout=1800)
    assert out.returncode == 0, out.stderr[-3000:]
    import json
    results = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["free"] for r in results] == frees
    completed = 0
    for r in results:
        assert r["exit"] == 0, r
        flushed = [int(line.split()[1]) for line in r["said"] if line.startswith("flushed ")]
        errors = [line[len("error "):] for line in r["said"] if line.startswith("error ")]
        assert r["left"] == [], r                               # no reserve file, no stub
        if "status" not in r:                                   # refused before the first reading
            (error,) = errors
            assert "No space left on device" in error and error.endswith("no run file was made"), r
            assert flushed == [], r
            continue
        assert r["intact"] and r["transcript"][0] == r["transcript"][1] == r["transcript"][2], r
        assert r["size_vs_end"] == 0, r                         # the blocks claimed ahead are given back
        if r["status"] == "completed":
            completed += 1
            assert errors == [] and r["stored"] == 8 * 500, r
            continue
        (error,) = errors
        assert r["status"] == "failed" and r["error"] == f"RunStopped: {error}", r
        assert error.startswith(f"{small_disk / 'run.h5'}: disk full (No space left on device)"), r
        assert error.endswith(f"its {r['stored']} readings stored so far are kept in this file"), r
        assert r["stored"] == (flushed[-1] if flushed else 0), r
    assert completed >= 5 and any(r.get("status") == "failed" for r in results)
