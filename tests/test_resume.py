"""Resume: a run stopped by a fault goes on from the first repeat its file does not hold, into a
continuation file; nothing is repeated, nothing is missing, times run on."""
import signal
import subprocess
import sys

import numpy as np
import pytest

from labsuite import Bench, read_run, run_protocol
from labsuite.catalog import Catalog
from labsuite.core.errors import InstrumentError
from labsuite.core.events import RunObserver, RunState
from labsuite.resume import ResumeRefused, resume_run

PARAMS = {"pulses": 500, "period": "10 ms", "read_delay": "2 ms"}     # 5 s: five 1 s chunks of 100 pulses


class FaultAfter(RunObserver):
    """The link fails after ``chunks`` chunks reached the file (as a dropped connection would)."""

    def __init__(self, chunks: int) -> None:
        self.chunks, self.seen = chunks, 0

    def on_samples(self, samples, progress):
        self.seen += 1
        if self.seen == self.chunks:
            raise InstrumentError("SMU", "connection lost")


def assert_whole_run(samples: np.ndarray, pulses: int) -> None:
    keys = list(zip(samples["train"], samples["repeat"], samples["segment"]))
    assert samples.size == pulses + 1 and len(set(keys)) == len(keys)          # full count, nothing twice
    assert (samples["repeat"][1:] == np.arange(pulses)).all()
    assert np.all(np.diff(samples["t"]) > 0)                                     # times run on


def test_a_failed_run_resumed_gives_every_reading_once_with_times_running_on(tmp_path):
    with Bench.simulated(seed=1) as bench:
        with pytest.raises(InstrumentError):
            run_protocol("potentiation", bench, PARAMS, out_dir=tmp_path, observers=[FaultAfter(3)])
    (first,) = tmp_path.glob("*.h5")
    stored = read_run(first)
    assert stored.status == "failed" and stored.samples.size == 1 + 2 * 100
    with Bench.simulated(seed=1) as bench:
        result = resume_run(first, bench)
    assert result.state is RunState.COMPLETED and result.path.name == f"{first.stem}_resumed1.h5"
    assert_whole_run(result.samples, 500)
    whole = read_run(result.path)
    assert_whole_run(whole.samples, 500)
    assert np.array_equal(whole.samples[:201], stored.samples)                  # the first file's readings kept
    assert whole.status == "completed" and whole.attrs["continues"] == first.name
    assert read_run(first).samples.size == 201                                  # the first file untouched
    assert [(e.status, e.samples) for e in Catalog(tmp_path).query()] == [("failed", 201), ("completed", 501)]
    assert result.figures["pulses"] == 500                                      # analyzed on the whole run


SCRIPT = '''
import time
from labsuite import Bench, run_protocol
from labsuite.core.events import RunObserver

class Announce(RunObserver):
    def on_samples(self, samples, progress):
        print(progress.samples, flush=True)
        time.sleep(0.2)

with Bench.simulated(seed=1) as bench:
    run_protocol("potentiation", bench, {PARAMS!r}, out_dir="runs", observers=[Announce()])
'''.replace("{PARAMS!r}", repr(PARAMS))


def test_a_killed_run_resumed_from_the_cli_completes_without_repeats(tmp_path, killed_run):
    _, reported = killed_run(SCRIPT, 3)
    (first,) = (tmp_path / "runs").glob("*.h5")
    assert read_run(first).status == "running" and read_run(first).samples.size >= reported[-1]
    out = subprocess.run([sys.executable, "-m", "labsuite", "run", "--resume", str(first), "--sim", "--seed", "1",
                          "--no-progress"], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "completed, 501 readings" in out.stdout
    (resumed,) = (tmp_path / "runs").glob("*_resumed1.h5")
    assert_whole_run(read_run(resumed).samples, 500)


def test_resume_is_refused_for_another_bench_a_completed_run_or_a_closed_loop(tmp_path):
    with Bench.simulated(seed=1) as bench:
        with pytest.raises(InstrumentError):
            run_protocol("potentiation", bench, PARAMS, out_dir=tmp_path / "a", observers=[FaultAfter(2)])
        done = run_protocol("potentiation", bench, {"pulses": 3}, out_dir=tmp_path / "b").path
    (failed,) = (tmp_path / "a").glob("*.h5")
    with Bench.simulated(seed=2) as other:
        with pytest.raises(ResumeRefused, match=r"the bench differs: simulator.seed is 2, the run had 1"):
            resume_run(failed, other)
    with Bench.simulated(seed=1) as bench:
        with pytest.raises(ResumeRefused, match=r"its status is 'completed'"):
            resume_run(done, bench)
        with pytest.raises(InstrumentError):
            run_protocol("forming", bench, {"stop_amplitude": "1 V", "amplitude_step": "0.1 V"}, out_dir=tmp_path / "c",
                         observers=[FaultAfter(2)])
        (forming,) = (tmp_path / "c").glob("*.h5")
        with pytest.raises(ResumeRefused, match="closed-loop"):
            resume_run(forming, bench)
    assert [p.name for p in (tmp_path / "a").glob("*.h5")] == [failed.name]     # nothing written when refused


def test_resuming_twice_chains_the_files(tmp_path):
    with Bench.simulated(seed=1) as bench:
        with pytest.raises(InstrumentError):
            run_protocol("potentiation", bench, PARAMS, out_dir=tmp_path, observers=[FaultAfter(2)])
    (first,) = tmp_path.glob("*.h5")
    with Bench.simulated(seed=1) as bench:
        with pytest.raises(InstrumentError):
            resume_run(first, bench, observers=[FaultAfter(2)])
        second = first.with_name(f"{first.stem}_resumed1.h5")
        assert read_run(second).samples.size == 1 + 100 + 2 * 100
        result = resume_run(second, bench)
    assert result.path.name == f"{first.stem}_resumed2.h5"
    assert_whole_run(read_run(result.path).samples, 500)


def test_a_run_still_being_written_is_not_resumed_and_a_killed_ones_reserve_is_cleaned(tmp_path):
    """The writer's reserve file is locked while it lives: resuming a live run is refused; after a
    kill the lock is gone, resume goes on and removes the stale reserve."""
    (tmp_path / "long_run.py").write_text(SCRIPT)
    proc = subprocess.Popen([sys.executable, "long_run.py"], stdout=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        next(proc.stdout)
        (first,) = (tmp_path / "runs").glob("*.h5")
        assert (tmp_path / "runs" / f".{first.name}.reserve").exists()
        with Bench.simulated(seed=1) as bench, pytest.raises(ResumeRefused, match="still writing it"):
            resume_run(first, bench)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    with Bench.simulated(seed=1) as bench:
        result = resume_run(first, bench)
    assert result.state is RunState.COMPLETED
    assert [p.name for p in (tmp_path / "runs").iterdir() if p.suffix == ".reserve"] == []
