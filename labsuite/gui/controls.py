"""Run controls: Run, Run queue, Pause/Resume, Abort, the progress bar with the time left, output lamps."""
from __future__ import annotations

import math

from PyQt6.QtCore import pyqtSignal
from PyQt6.QtWidgets import QHBoxLayout, QProgressBar, QPushButton, QWidget

from labsuite.core.events import Progress
from labsuite.core.units import format_quantity
from labsuite.gui.bench_panel import OutputLamp


def wall_time(seconds: float) -> str:
    """``12 s``, ``3 min 20 s``, ``1 h 05 min``; ``…`` while unknown."""
    if not math.isfinite(seconds):
        return "…"
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def progress_text(progress: Progress) -> str:
    """``42 % · 12.5 s of 30 s program · 3.1 s left``: program time played and the wall time to go."""
    return (f"{progress.fraction:.0%} · {format_quantity(progress.done, 's', 3)} of "
            f"{format_quantity(progress.total, 's', 3)} program · {wall_time(progress.remaining)} left")


class RunControls(QWidget):
    """The buttons that start and stop runs, and how far the present one is."""

    run_clicked = pyqtSignal()
    queue_clicked = pyqtSignal()
    pause_toggled = pyqtSignal(bool)
    abort_clicked = pyqtSignal()

    def __init__(self) -> None:
        super().__init__()
        self.run_button = QPushButton("▶ Run")
        self.queue_button = QPushButton("▶▶ Run queue")
        self.pause_button = QPushButton("❚❚ Pause")
        self.pause_button.setCheckable(True)
        self.abort_button = QPushButton("■ Abort")
        self.abort_button.setToolTip("stop at the end of the present chunk: outputs off, samples kept, "
                                     "run file marked aborted")
        self.abort_button.setStyleSheet("QPushButton:enabled { color: #b00000; font-weight: bold; }")
        self.run_button.setStyleSheet("QPushButton:enabled { font-weight: bold; }")
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(True)
        self.progress.setFormat("idle")
        self.progress.setMinimumWidth(240)
        self.lamps: dict[str, OutputLamp] = {}
        self.lamp_row = QHBoxLayout()
        self.run_button.clicked.connect(self.run_clicked)
        self.queue_button.clicked.connect(self.queue_clicked)
        self.pause_button.toggled.connect(self._paused)
        self.abort_button.clicked.connect(self.abort_clicked)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for button in (self.run_button, self.queue_button, self.pause_button, self.abort_button):
            layout.addWidget(button)
        layout.addWidget(self.progress, 1)
        layout.addLayout(self.lamp_row)
        self.show_outputs({})
        self.set_running(False)

    def show_outputs(self, shown: dict[str, tuple[bool | None, str]]) -> None:
        """One output lamp per instrument role: {role: (on, detail)}; {} when no bench is connected."""
        shown = shown or {"smu": (None, "not connected")}
        if list(shown) != list(self.lamps):
            for lamp in self.lamps.values():
                lamp.deleteLater()
            self.lamps = {role: OutputLamp(role) for role in shown}
            for lamp in self.lamps.values():
                self.lamp_row.addWidget(lamp)
        for role, (on, detail) in shown.items():
            self.lamps[role].show_state(on, detail)

    def _paused(self, paused: bool) -> None:
        self.pause_button.setText("▶ Resume" if paused else "❚❚ Pause")
        self.pause_toggled.emit(paused)

    def set_running(self, running: bool) -> None:
        self.pause_button.setEnabled(running)
        self.abort_button.setEnabled(running)
        if not running:
            self.pause_button.blockSignals(True)
            self.pause_button.setChecked(False)
            self.pause_button.setText("❚❚ Pause")
            self.pause_button.blockSignals(False)

    def set_startable(self, run: bool, queue: bool, reason: str) -> None:
        """Enable Run / Run queue; the reason Run is disabled shows as its tooltip."""
        self.run_button.setEnabled(run)
        self.queue_button.setEnabled(queue)
        self.run_button.setToolTip("run the protocol in the form" if run else reason)

    def show_progress(self, progress: Progress) -> None:
        self.progress.setValue(int(1000 * min(1.0, progress.fraction)))
        self.progress.setFormat(progress_text(progress))

    def show_message(self, text: str, fraction: float | None = None) -> None:
        if fraction is not None:
            self.progress.setValue(int(1000 * fraction))
        self.progress.setFormat(text)
