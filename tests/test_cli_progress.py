"""Issue #20, CLI: one progress display per run, closed-loop stages included, ending at 100 %;
progress with the time left for resim's fit and its twin's run. The CLI is called in process."""
from __future__ import annotations

import json

import numpy as np

from labsuite.cli import ProgressBar
from labsuite.core.events import Progress, RunState


def frames(err: str, label: str) -> list[str]:
    """The frames a progress bar called ``label`` drew, in order (each redraw starts with a CR)."""
    return [f for f in err.replace("\n", "\r").split("\r") if f.startswith(label)]


def test_a_closed_loop_run_is_one_display_with_its_stages_ending_at_100_percent(cli):
    code, _, err = cli("run", "forming", "--sim")
    assert code == 0, err
    drawn = frames(err, "run")
    assert err.count("\n") == 1, err   # one line: every stage redraws the same bar
    assert any("stage 2" in f for f in drawn), drawn
    assert drawn[-1].split(":", 1)[1].lstrip().startswith("100%"), drawn[-1]


def test_replay_ends_at_100_percent(cli):
    code, out, err = cli("run", "potentiation", "--sim", "--json", "--no-progress", "--set", "pulses=5")
    assert code == 0, err
    code, _, err = cli("replay", json.loads(out)["run_file"])
    assert code == 0, err
    assert " 100%|" in frames(err, "replay")[-1], err


class _Program:
    duration = 2.0


class _Runner:
    program = _Program()
    state = RunState.RUNNING


def test_progress_past_the_programs_end_stays_at_its_end(capsys):
    """A reading stamped after the program's nominal end made tqdm warn "clamping frac" (an error here)."""
    bar = ProgressBar("run")
    bar.on_start(_Runner())
    bar.on_samples(np.empty(0), Progress(done=2.5, total=2.0, elapsed=1.0, samples=3))
    assert bar.bar.n == bar.bar.total == 2.0
    bar.close()


def test_resim_fit_shows_the_fit_and_the_twin_run_with_the_time_left(cli):
    code, out, err = cli("run", "potentiation", "--sim", "--json", "--no-progress", "--set", "pulses=5")
    assert code == 0, err
    code, _, err = cli("resim", json.loads(out)["run_file"], "--fit")
    assert code == 0, err
    fit, twin = frames(err, "fit"), frames(err, "twin")
    assert "at most" in fit[0] and "<" in fit[0], fit[0]   # the wall time the fit may still take
    assert " 100%|" in fit[-1] and " 100%|" in twin[-1], (fit[-1], twin[-1])
    assert err.index(fit[-1]) < err.index(twin[0])   # the fit's display has ended when the twin's starts

