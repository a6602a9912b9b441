"""Bytes on disk after a crash, and a run file followed while it is written (SWMR)."""
import signal
import subprocess
import sys

import h5py

from labsuite import read_run
from labsuite.store import open_run

SCRIPT = '''
import time
from labsuite import Bench, run_protocol
from labsuite.core.events import RunObserver

class Announce(RunObserver):
    def on_samples(self, samples, progress):
        print(progress.samples, flush=True)      # the writer, first in line, has flushed by now
        time.sleep(0.2)

with Bench.simulated(seed=1) as bench:
    run_protocol("potentiation", bench, {"pulses": 5000, "period": "10 ms", "read_delay": "2 ms"},
                 out_dir="runs", observers=[Announce()])     # default chunks: at most 1 s of program time
'''


def test_sigkill_mid_run_leaves_a_readable_file_with_every_flushed_sample(tmp_path, killed_run):
    returncode, reported = killed_run(SCRIPT, 4)
    assert returncode == -signal.SIGKILL
    (path,) = (tmp_path / "runs").glob("*.h5")
    with h5py.File(path, "r", swmr=True) as f:          # plain h5py opens it, as a SWMR reader
        assert f["samples"].shape[0] >= reported[-1]
        assert f.attrs["status"] == "running" and f.attrs["end_time"] == ""   # interrupted, never finished
    run = read_run(path)
    assert run.samples.size >= reported[-1] == 1 + 3 * 100     # the baseline read, then 100 pulses a chunk
    assert (run.samples["repeat"][1:] == range(run.samples.size - 1)).all()


def test_another_process_follows_the_run_while_it_is_written(tmp_path):
    """SWMR: a reader opened mid-run sees each newly flushed chunk after a refresh."""
    (tmp_path / "long_run.py").write_text(SCRIPT)
    proc = subprocess.Popen([sys.executable, "long_run.py"], stdout=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        first = int(next(proc.stdout))
        (path,) = (tmp_path / "runs").glob("*.h5")
        with open_run(path) as f:
            samples = f["samples"]
            seen_first = samples.shape[0]
            later = [int(next(proc.stdout)) for _ in range(2)][-1]
            samples.refresh()
            seen_later = samples.shape[0]
            assert f.attrs["status"] == "running"
            assert (samples[:seen_later, "current"] > 0).all()
            assert (samples[1:seen_later, "repeat"] == range(seen_later - 1)).all()    # every chunk, in order
    finally:
        proc.kill()
        proc.wait(30)
    assert seen_first >= first and seen_later >= later > first
