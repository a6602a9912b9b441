"""Stop signals during a run: SIGINT (Ctrl-C), SIGTERM (kill, a job scheduler, a service stop)
and SIGHUP (the terminal closed) all raise :class:`Interrupted`, so that the run's ``finally``
turns the outputs off and the run file says ``aborted`` with the signal's name.

Python only lets the main thread install handlers; elsewhere (a GUI worker thread)
:func:`stop_on_signals` does nothing and the thread's owner stops the run.
"""
from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


class Interrupted(KeyboardInterrupt):
    """A stop signal arrived; ``signum`` says which. A KeyboardInterrupt, so that code that
    lets Ctrl-C through lets every stop signal through."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(f"interrupted by {signal.Signals(signum).name}")

    @property
    def exit_status(self) -> int:
        """The shell's convention for a process stopped by this signal: 128 + its number."""
        return 128 + self.signum


def stop_reason(exc: KeyboardInterrupt) -> str:
    """Why a run stopped, for the run file: ``interrupted by SIGTERM`` (plain Ctrl-C: SIGINT)."""
    return str(exc) if isinstance(exc, Interrupted) else "interrupted by SIGINT"


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """While inside, SIGINT, SIGTERM and SIGHUP raise :class:`Interrupted` (the first one; later
    ones are ignored while the run stops, so that switching the outputs off is not cut short).
    The previous handlers come back on exit."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    outermost = not _state.depth
    if outermost:
        _state.fired = 0
    _state.depth += 1
    previous = {}
    try:
        for signum in STOP_SIGNALS:
            previous[signum] = signal.signal(signum, _handler)
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, signal.SIG_DFL if old is None else old)
        _state.depth -= 1


class _State:
    depth = 0   # nested stop_on_signals blocks (the CLI's around the bench, the run's inside)
    fired = 0   # the signal that is stopping the run (0: none yet)


_state = _State()


def _handler(signum: int, frame: object) -> None:
    if not _state.fired:
        _state.fired = signum
        raise Interrupted(signum)
