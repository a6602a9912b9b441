"""The main window, and :func:`launch` behind ``labsuite gui``.

Left: the Protocol, Bench and Device panels. Right: the run controls, the live plots and figures
of merit, and below them the run browser and the log. One run (or replay) plays at a time, in a
:class:`~labsuite.gui.worker.RunWorker`; the window reacts to its signals on the GUI thread.
"""
from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from PyQt6.QtCore import QEventLoop, Qt, QTimer, pyqtBoundSignal, pyqtSignal
from PyQt6.QtGui import QCloseEvent
from PyQt6.QtWidgets import QApplication, QLabel, QMainWindow, QSplitter, QTabWidget, QVBoxLayout, QWidget

from labsuite.core.errors import LabsuiteError
from labsuite.core.events import Progress, RunState
from labsuite.core.program import PulseProgram
from labsuite.core.units import format_quantity
from labsuite.core.version import __version__
from labsuite.experiment import make_protocol
from labsuite.gui.bench_panel import BenchPanel
from labsuite.gui.controls import RunControls
from labsuite.gui.device_panel import DevicePanel
from labsuite.gui.live_plots import LivePlots
from labsuite.gui.log_panel import LogPanel
from labsuite.gui.protocol_panel import ProtocolPanel
from labsuite.gui.run_browser import RunBrowser, stored_protocol
from labsuite.gui.worker import Outcome, RunWorker, protocol_job, replay_job
from labsuite.interrupts import STOP_SIGNALS
from labsuite.protocols import Protocol
from labsuite.store import read_run

log = logging.getLogger(__name__)

WINDOW_SIZE = (1400, 900)      # px
STATE_POLL_MS = 200            # ms between looks at the Runner's state (output lamps) during a run
SIGNAL_POLL_MS = 200           # ms: how soon a stop signal (SIGTERM, …) closes the window
CHECK_DELAY_MS = 250           # ms after the last edit of the form before it is checked (a check may be slow)


class MainWindow(QMainWindow):
    """labsuite's window: set up a bench and a protocol, run, watch, browse past runs."""

    run_finished = pyqtSignal(object)      # Outcome of each run or replay, once the window has shown it

    def __init__(self, data_dir: str | Path = "runs", visa_library: Any = "") -> None:
        super().__init__()
        self.setWindowTitle(f"labsuite {__version__}")
        self.log_panel = LogPanel()
        self.bench_panel = BenchPanel(visa_library)
        self.device_panel = DevicePanel()
        self.protocol_panel = ProtocolPanel()
        self.controls = RunControls()
        self.plots = LivePlots()
        self.browser = RunBrowser(data_dir)
        self.worker: RunWorker | None = None
        self.replaying = False
        self.queue_running = False
        self._queue_waits_for_bench = False
        self._shown_state: RunState | None = None

        self.panels = QTabWidget()
        self.panels.addTab(self.protocol_panel, "Protocol")
        self.panels.addTab(self.bench_panel, "Bench")
        self.panels.addTab(self.device_panel, "Device")
        self.panels.setMinimumWidth(400)
        self.bottom = QTabWidget()
        self.bottom.addTab(self.browser, "Runs")
        self.bottom.addTab(self.log_panel, "Log")
        right_split = QSplitter(Qt.Orientation.Vertical)
        right_split.addWidget(self.plots)
        right_split.addWidget(self.bottom)
        right_split.setSizes([640, 220])
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(4, 4, 4, 4)
        right_layout.addWidget(self.controls)
        right_layout.addWidget(right_split, 1)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.panels)
        split.addWidget(right)
        split.setStretchFactor(1, 1)
        split.setSizes([420, 980])
        self.setCentralWidget(split)
        self.bench_status = QLabel("Not connected")
        self.statusBar().addPermanentWidget(self.bench_status)

        self._state_timer = QTimer(self)
        self._state_timer.setInterval(STATE_POLL_MS)
        self._state_timer.timeout.connect(self._poll_state)
        self._check_timer = QTimer(self)       # the form is checked once the user pauses typing
        self._check_timer.setSingleShot(True)
        self._check_timer.setInterval(CHECK_DELAY_MS)
        self._check_timer.timeout.connect(self.revalidate)

        self.bench_panel.connected.connect(self._on_connected)
        self.bench_panel.disconnected.connect(self._on_disconnected)
        self.bench_panel.busy_changed.connect(self._on_bench_busy)
        self.bench_panel.outputs_changed.connect(self.controls.show_outputs)
        self.device_panel.limits_changed.connect(self._on_limits)
        self.protocol_panel.changed.connect(self.schedule_check)
        self.protocol_panel.queue_changed.connect(self.revalidate)
        self.controls.run_clicked.connect(self.run_form)
        self.controls.queue_clicked.connect(self.run_queue)
        self.controls.pause_toggled.connect(self._pause)
        self.controls.abort_clicked.connect(self.abort)
        self.browser.open_requested.connect(self.plots.show_run)
        self.browser.overlay_requested.connect(self.plots.show_overlay)
        self.browser.replay_requested.connect(self.replay)
        self.plots.plot_failed.connect(self._on_plot_failed)
        self.revalidate()

    # --- what may run -------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.worker is not None

    @property
    def check_pending(self) -> bool:
        """Whether the form changed and has not been checked since (Run stays disabled meanwhile)."""
        return self._check_timer.isActive()

    def schedule_check(self) -> None:
        """The form changed: disable Run (and queueing the form) now, check it once typing pauses."""
        form = self.protocol_panel.form
        form.protocol = None                  # what was checked is no longer what the form says
        self.controls.set_startable(False, self.controls.queue_button.isEnabled(), "checking the form…")
        self.protocol_panel.save_button.setEnabled(False)
        self.protocol_panel.add_button.setEnabled(False)
        self._check_timer.start()

    def revalidate(self) -> None:
        """Check the form against the limits and the bench; enable Run or say why not."""
        self._check_timer.stop()
        bench = self.bench_panel.bench
        reason = self.protocol_panel.form.validate(self.device_panel.limits, bench,
                                                   self.protocol_panel.timing.currentText())
        blocked = reason or ("connect a bench to run (Bench tab)" if bench is None else
                             "a run is playing" if self.running else
                             "waiting for the instruments" if self.bench_panel.busy else "")
        self.protocol_panel.show_reason(blocked)
        idle = bench is not None and not self.running and not self.bench_panel.busy
        self.controls.set_startable(not blocked, idle and bool(self.protocol_panel.queue), blocked)

    def _on_limits(self, limits) -> None:
        if limits is not None:
            self.bench_panel.set_limits(limits)
        self.revalidate()

    def _on_connected(self, bench) -> None:
        self.device_panel.show_limits(bench.limits)
        self.log_panel.follow(self.bench_panel.traffic)
        self.bench_status.setText(self.bench_panel.status.text())
        self.revalidate()

    def _on_disconnected(self) -> None:
        self.log_panel.follow(None)
        self.bench_status.setText("Not connected")
        self.revalidate()

    def _on_bench_busy(self, busy: bool) -> None:
        self.revalidate()
        if not busy and self._queue_waits_for_bench:
            self._queue_waits_for_bench = False
            self._next_in_queue()


    # --- runs ---------------------------------------------------------------------------
    def run_form(self) -> None:
        """Run the protocol in the form (Run is enabled only when the form and the bench allow it)."""
        protocol = self.protocol_panel.form.protocol
        if protocol is not None and self.controls.run_button.isEnabled():
            self._start_run(protocol, self.protocol_panel.form.provenance())

    def run_queue(self) -> None:
        """Play the queued runs in order; stop at the first that does not complete."""
        if self.bench_panel.bench is not None and not self.running:
            self.queue_running = True
            self._next_in_queue()

    def _next_in_queue(self) -> None:
        queued = self.protocol_panel.take_next()
        if queued is None or self.bench_panel.bench is None:
            self.queue_running = False
            return
        try:
            protocol = make_protocol(queued.protocol, queued.values)
        except LabsuiteError as exc:
            log.error("queue stopped: %s: %s", queued.label, exc)
            self.queue_running = False
            return
        self._start_run(protocol, queued.provenance)

    def _start_run(self, protocol: Protocol, provenance: dict[str, Any]) -> None:
        bench = self.bench_panel.bench
        job = protocol_job(protocol, bench, self.browser.folder, self.device_panel.device_id,
                           {**self.device_panel.provenance(), **provenance}, self.protocol_panel.timing.currentText())
        self.plots.begin(protocol)
        log.info("run %s on %s (device %s)", protocol.name, bench.name, self.device_panel.device_id)
        self._start_worker(job, pausable=True)

    def replay(self, path: Path, speed: float) -> None:
        """Re-emit a stored run through the live plots (labsuite.replay) at ``speed`` × its pace."""
        if self.running:
            log.warning("replay refused: a run is playing")
            return
        protocol = stored_protocol(read_run(path))
        self.plots.begin(protocol)
        log.info("replay %s at %s× its pace", Path(path).name, speed)
        self.replaying = True
        self._start_worker(replay_job(Path(path), speed), pausable=False)

    def _start_worker(self, job, pausable: bool) -> None:
        worker = RunWorker(job)
        worker.started_run.connect(self._on_started)
        worker.samples.connect(self._on_samples)
        worker.done.connect(self._on_done)
        self.worker = worker
        self.controls.set_running(True)
        self.controls.pause_button.setEnabled(pausable)
        self.controls.show_message("starting…", 0.0)
        self.bench_panel.set_running(True)
        self._shown_state = None
        if pausable:
            self._state_timer.start()
            self._poll_state()
        self.revalidate()
        worker.start()

    def _poll_state(self) -> None:
        if self.worker is not None and self.worker.state != self._shown_state:
            self._shown_state = self.worker.state
            self.bench_panel.show_run_state(self._shown_state)

    def _on_started(self, program: PulseProgram) -> None:
        self.controls.show_message(f"playing {format_quantity(program.duration, 's', 3)} of program…", 0.0)

    def _on_samples(self, chunk: np.ndarray, progress: Progress) -> None:
        self.plots.add(chunk)
        self.controls.show_progress(progress)

    def _pause(self, paused: bool) -> None:
        if self.worker is not None:
            (self.worker.pause if paused else self.worker.resume)()
            log.info("run %s", "paused (holds before the next chunk, output off)" if paused else "resumed")

    def abort(self) -> None:
        """Stop the run at the end of the present chunk: outputs off, samples kept, file marked aborted."""
        if self.worker is not None:
            self.worker.abort()
            self.queue_running = False
            log.warning("abort requested: stopping at the end of the present chunk")

    def _on_done(self, outcome: Outcome) -> None:
        worker, self.worker = self.worker, None
        if worker is not None:
            worker.wait()
            worker.deleteLater()
        self._state_timer.stop()
        replayed, self.replaying = self.replaying, False
        try:
            # the window's bookkeeping first: nothing below (a plot, a log line) may leave it half done
            self.controls.set_running(False)
            self.bench_panel.set_running(False)
            title = outcome.protocol.title if outcome.protocol is not None else "run"
            what = "replay" if replayed else "run"
            message = f"{title}: {what} {outcome.state.value}, {outcome.samples.size} readings"
            if outcome.error is not None:
                message += f" ({outcome.error})"
            (log.info if outcome.state is RunState.COMPLETED else log.warning)(
                "%s%s", message, f"; run file {outcome.path}" if outcome.path is not None and not replayed else "")
            for note in getattr(outcome.error, "__notes__", []):   # how the outputs were switched off
                log.warning("%s", note)
                message += f"; {note}"
            if outcome.warning:
                log.warning("%s: %s", title, outcome.warning)
                message += f"; WARNING: {outcome.warning}"
            self.controls.show_message(f"{what} {outcome.state.value}, {outcome.samples.size} readings",
                                       1.0 if outcome.state is RunState.COMPLETED else None)
            self.statusBar().showMessage(message)
            if not replayed:
                self.browser.refresh()
                if outcome.path is not None:
                    self.browser.select(outcome.path)
            if outcome.protocol is not None:
                name = f" · {outcome.path.name}" if outcome.path is not None else ""
                self.plots.finish(outcome.figures, f"{title} ({what} {outcome.state.value}){name}")
        except Exception:       # shown in the Log tab; the run's end is still recorded below
            log.exception("showing the end of the run failed")
        finally:
            self._queue_waits_for_bench = self.queue_running and outcome.state is RunState.COMPLETED
            self.queue_running = self._queue_waits_for_bench
            try:
                if not replayed and self.bench_panel.bench is not None:
                    self.bench_panel.refresh_outputs()     # the next queued run starts once this answer is in
                elif self._queue_waits_for_bench:
                    self._on_bench_busy(False)
                self.revalidate()
            finally:
                self.run_finished.emit(outcome)

    def _on_plot_failed(self, message: str) -> None:
        self.statusBar().showMessage(f"{message} (the run goes on; details in the Log tab)")

    # --- closing ------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:
        """Stop a run (outputs off within a chunk), release the bench, detach the log handler."""
        if self.worker is not None:
            self.worker.abort()
            self.worker.wait()
        self.bench_panel.release()
        self.log_panel.close_handler()
        super().closeEvent(event)


def install_excepthook(window: MainWindow | None = None) -> None:
    """Report exceptions that escape a Qt slot in the log (the Log tab) and the status bar.

    PyQt6 aborts the application on an exception in a slot when ``sys.excepthook`` is the
    default one; this hook logs it and lets the event loop go on.
    """
    def hook(kind, value, traceback) -> None:
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, value, traceback)
            return
        log.error("unexpected error: %s: %s", kind.__name__, value, exc_info=(kind, value, traceback))
        if window is not None:
            try:
                window.statusBar().showMessage(f"unexpected error: {kind.__name__}: {value} (see the Log tab)")
            except RuntimeError:        # the window is already gone
                pass
    sys.excepthook = hook


def wait_for(signal: pyqtBoundSignal, timeout: float) -> bool:
    """Run the event loop until ``signal`` fires or ``timeout`` s pass; True if it fired."""
    loop = QEventLoop()
    fired = []

    def stop(*_: object) -> None:
        fired.append(True)
        loop.quit()
    signal.connect(stop)
    QTimer.singleShot(int(timeout * 1000), loop.quit)
    loop.exec()
    signal.disconnect(stop)
    return bool(fired)


@contextlib.contextmanager
def closing_on_stop_signals(window: MainWindow) -> Iterator[list[int]]:
    """While inside, SIGINT, SIGTERM and SIGHUP close ``window`` as its close button does (a run
    stops, outputs off, the bench released) instead of killing the process with an output on.
    Yields the list the signal's number is appended to. The previous handlers come back on exit."""
    received: list[int] = []

    def handler(signum: int, frame: object) -> None:
        received.append(signum)
        QTimer.singleShot(0, window.close)

    previous = {signum: signal.signal(signum, handler) for signum in STOP_SIGNALS}
    heartbeat = QTimer(window)   # Python runs signal handlers between bytecodes: the Qt loop must call in
    heartbeat.timeout.connect(lambda: None)
    heartbeat.start(SIGNAL_POLL_MS)
    try:
        yield received
    finally:
        heartbeat.stop()
        for signum, old in previous.items():
            signal.signal(signum, signal.SIG_DFL if old is None else old)


def launch(*, sim: bool = False, seed: int = 0, model: str | None = None, data_dir: str | Path = "runs",
           protocol: str | None = None, parameters: dict[str, str] | None = None,
           screenshot: str | Path | None = None, timeout: float = 120.0) -> int:
    """Open the window (``sim``: with the simulated bench connected) and run the event loop.

    ``protocol`` and ``parameters`` fill the form. With ``screenshot``, the window is drawn
    offscreen instead: the bench is connected, ``protocol`` run (with ``sim``), the window saved
    as a PNG at ``screenshot`` and the application quits. Returns the exit status.
    """
    if protocol is not None:
        make_protocol(protocol, parameters)      # an unknown protocol or parameter is refused here
    if screenshot is not None:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    app = QApplication.instance() or QApplication(sys.argv[:1])
    window = MainWindow(data_dir)
    install_excepthook(window)
    window.resize(*WINDOW_SIZE)
    window.show()
    if protocol is not None:
        window.protocol_panel.select(protocol, parameters)
    if sim:
        window.bench_panel.connect_simulated(model or window.bench_panel.model.currentText(), seed)
    if screenshot is None:
        with closing_on_stop_signals(window) as stopped:
            status = app.exec()
        return 128 + stopped[0] if stopped else status
    status = 0
    if sim and not wait_for(window.bench_panel.connected, timeout):
        print(f"labsuite gui: the simulated bench did not connect: {window.bench_panel.status.text()}",
              file=sys.stderr)
        status = 2
    elif sim and protocol is not None:
        if window.bench_panel.busy:              # the connection's task is still winding up
            wait_for(window.bench_panel.busy_changed, timeout)
        window.revalidate()                      # the form's check, without waiting for its debounce
        if not window.controls.run_button.isEnabled():
            print(f"labsuite gui: cannot run {protocol}: {window.protocol_panel.reason.text()}", file=sys.stderr)
            status = 2
        else:
            window.run_form()
            finished = wait_for(window.run_finished, timeout)
            status = 0 if finished and window.plots.buffer.size else 3
            if window.bench_panel.busy:          # the output query after the run
                wait_for(window.bench_panel.busy_changed, 5.0)
    app.processEvents()
    window.grab().save(str(screenshot))
    print(f"screenshot: {screenshot}")
    window.close()
    return status
