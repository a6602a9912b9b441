"""An instrument that answers from a recorded transcript: drivers and protocols re-run offline
exactly as they ran on the hardware (regression tests from real sessions).

Each written message must be the next recorded one; the recorded reply, if one followed, is
returned. The bench clock is moved to the recorded time of every message, so timestamps derived
from it come out as they did. A message that differs from the recording raises
:class:`ReplayDiverged` naming the position and both messages; after that, or after the end of
the recording, commands (a closing shutdown) are accepted without effect and queries raise.
A binary reply (an IEEE 488.2 block) is recorded as ``base64:`` and its bytes, terminator
included (``TrafficLog``); it is played back as those bytes.
"""
from __future__ import annotations

import base64
from collections.abc import Sequence


class ReplayDiverged(AssertionError):
    """The replayed client sent something other than what was recorded."""


class TranscriptInstrument:
    """Plays back ``entries`` = [(t, "write" | "read", text), ...] in order."""

    def __init__(self, entries: Sequence[tuple[float, str, str]], clock, idn: str = "") -> None:
        self.entries = list(entries)
        self.clock = clock
        self.position = 0
        self.diverged = False
        self.idn = idn

    def _move_clock(self, t: float) -> None:
        if t > self.clock.now():
            self.clock.advance(t - self.clock.now())

    def process(self, message: str) -> str | None:
        if self.diverged or self.position >= len(self.entries):
            # after the recording (or a divergence) a client may still turn its outputs off:
            # commands are accepted without effect, queries have nothing to answer with
            if "?" in message:
                raise ReplayDiverged(f"nothing recorded answers {message!r} (message {self.position})")
            return None
        t, direction, text = self.entries[self.position]
        if direction != "write" or text != message:
            self.diverged = True
            raise ReplayDiverged(f"message {self.position}: recorded {direction} {text!r}, the client sent {message!r}")
        self.position += 1
        self._move_clock(t)
        if self.position < len(self.entries) and self.entries[self.position][1] == "read":
            t, _, reply = self.entries[self.position]
            self.position += 1
            self._move_clock(t)
            return recorded_reply(reply)
        return None

    def query_interrupted(self) -> None:
        raise ReplayDiverged(f"message {self.position}: a reply was left unread")

    def query_unterminated(self) -> None:
        raise ReplayDiverged(f"message {self.position}: the client read with no reply recorded")

    @property
    def finished(self) -> bool:
        return self.position == len(self.entries)


def recorded_reply(text: str) -> str:
    """The reply a recorded read stands for, as the transports send it (latin-1 text, the
    terminator added by the transport): a binary reply's bytes, its terminator off."""
    if text.startswith("base64:"):
        return base64.b64decode(text.removeprefix("base64:")).decode("latin-1").removesuffix("\n")
    return text
