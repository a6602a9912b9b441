"""Log panel: Python logging in a text view, and optionally the instrument traffic (TrafficLog)."""
from __future__ import annotations

import logging

from PyQt6.QtCore import QObject, QTimer, pyqtSignal
from PyQt6.QtGui import QFontDatabase
from PyQt6.QtWidgets import QCheckBox, QPlainTextEdit, QSplitter, QVBoxLayout, QWidget

from labsuite.traffic import TrafficLog

MAX_LINES = 5000          # lines kept in each view
MESSAGE_CHARS = 240       # characters of one instrument message shown (a train is one long message)
TRAFFIC_POLL_MS = 250


class _Emitter(QObject):
    record = pyqtSignal(str)


class QtLogHandler(logging.Handler):
    """A logging handler that hands formatted records to the GUI thread through a signal."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.emitter = _Emitter()
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S"))

    def emit(self, record: logging.LogRecord) -> None:
        self.emitter.record.emit(self.format(record))


def traffic_line(entry: tuple[float, str, str]) -> str:
    """``12.345678 s  → :OUTP OFF`` (write) or ``←`` (read); long messages cut with their length."""
    t, direction, message = entry
    shown = message if len(message) <= MESSAGE_CHARS else f"{message[:MESSAGE_CHARS]}… ({len(message)} chars)"
    return f"{t:12.6f} s  {'→' if direction == 'write' else '←'} {shown}"


class LogPanel(QWidget):
    """The ``labsuite`` loggers' records; below them, on request, every message exchanged with the SMU."""

    def __init__(self, logger: logging.Logger | None = None) -> None:
        super().__init__()
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setMaximumBlockCount(MAX_LINES)
        self.text.setFont(mono)
        self.traffic_text = QPlainTextEdit()
        self.traffic_text.setReadOnly(True)
        self.traffic_text.setMaximumBlockCount(MAX_LINES)
        self.traffic_text.setFont(mono)
        self.traffic_text.hide()
        self.show_traffic = QCheckBox("Show instrument traffic (every SCPI message, bench-clock time)")
        self.show_traffic.toggled.connect(self._toggle_traffic)
        splitter = QSplitter()
        splitter.addWidget(self.text)
        splitter.addWidget(self.traffic_text)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.show_traffic)
        layout.addWidget(splitter)

        self.logger = logger or logging.getLogger("labsuite")
        if self.logger.level == logging.NOTSET or self.logger.level > logging.INFO:
            self.logger.setLevel(logging.INFO)
        self.handler = QtLogHandler()
        self.handler.emitter.record.connect(self.text.appendPlainText)
        self.logger.addHandler(self.handler)

        self.traffic: TrafficLog | None = None
        self._shown = 0
        self._timer = QTimer(self)
        self._timer.setInterval(TRAFFIC_POLL_MS)
        self._timer.timeout.connect(self.poll_traffic)

    def follow(self, traffic: TrafficLog | None) -> None:
        """Show ``traffic`` (the connected bench's) from now on; None when disconnected."""
        self.traffic = traffic
        self._shown = len(traffic.entries) if traffic is not None else 0

    def _toggle_traffic(self, on: bool) -> None:
        self.traffic_text.setVisible(on)
        if on:
            self._timer.start()
        else:
            self._timer.stop()

    def poll_traffic(self) -> None:
        """Append the messages recorded since the last poll (the list only grows, from the run's thread)."""
        if self.traffic is None:
            return
        new = self.traffic.entries[self._shown:]
        self._shown += len(new)
        if new:
            self.traffic_text.appendPlainText("\n".join(traffic_line(e) for e in new[-MAX_LINES:]))

    def close_handler(self) -> None:
        """Detach from logging (before the widget goes)."""
        self.logger.removeHandler(self.handler)
