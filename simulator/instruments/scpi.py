"""SCPI grammar for simulated instruments (IEEE 488.2 / SCPI-99).

Headers are declared as in programming manuals — ``[:SOURce[1]]:VOLTage[:LEVel]`` — where
capitals are the short form, the whole word the long form, brackets optional nodes. Matching is
case-insensitive and accepts only the short or the long form of each mnemonic, as a real parser
does. A message holds several commands separated by ``;``; a command that does not start with
``:`` continues from the previous command's path, the header less its last node
(``:SOUR:VOLT:LEV 1;ILIM 0.1`` sets ``:SOUR:VOLT:ILIM``; ``:SOUR:VOLT 1;ILIM 0.1`` would mean
the undefined ``:SOUR:ILIM``).
"""
from __future__ import annotations

import math
import re
from collections import deque
from dataclasses import dataclass
from typing import Callable

from labsuite.simulator.run_control import Interrupted, RunControl

ERROR_MESSAGES = {
    0: "No error",
    -100: "Command error",
    -102: "Syntax error",
    -104: "Data type error",
    -108: "Parameter not allowed",
    -109: "Missing parameter",
    -113: "Undefined header",
    -200: "Execution error",
    -221: "Settings conflict",
    -222: "Parameter data out of range",
    -224: "Illegal parameter value",
    -225: "Out of memory",
    -350: "Queue overflow",
    -363: "Input buffer overrun",
    -410: "Query INTERRUPTED",
    -420: "Query UNTERMINATED",
}


class ScpiError(Exception):
    """An error the instrument puts in its error queue."""

    def __init__(self, code: int, detail: str = "") -> None:
        self.code = code
        self.message = ERROR_MESSAGES.get(code, "Error") if not detail else detail
        super().__init__(f"{code},{self.message}")


def compile_header(pattern: str) -> re.Pattern[str]:
    """Regular expression matching every spelling of a manual-style SCPI header."""
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if c == "[":
            out.append("(?:")
        elif c == "]":
            out.append(")?")
        elif c in ":*?":
            out.append(re.escape(c))
        elif c.isalpha():
            j = i
            while j < len(pattern) and pattern[j].isalpha():
                j += 1
            word = pattern[i:j]
            short = "".join(ch for ch in word if ch.isupper())
            long = word.upper()
            out.append(f"(?:{long}|{short})" if long != short else long)
            i = j
            continue
        elif c.isdigit():
            out.append(c)
        else:
            raise ValueError(f"bad SCPI header pattern {pattern!r} at {c!r}")
        i += 1
    return re.compile("^" + "".join(out) + "$", re.IGNORECASE)


@dataclass
class _Command:
    pattern: str
    regex: re.Pattern[str]
    query: bool
    handler: Callable[..., str | None]


def command(pattern: str) -> Callable[[Callable[..., str | None]], Callable[..., str | None]]:
    """Register a method as the handler of ``pattern`` (a query if it ends with ``?``).

    The handler receives the parsed arguments as strings (quotes kept; see :func:`unquote`).
    """
    def register(func: Callable[..., str | None]) -> Callable[..., str | None]:
        func.__dict__.setdefault("_scpi", []).append(pattern)
        return func
    return register


def split_outside_quotes(text: str, sep: str) -> list[str]:
    """Split ``text`` on ``sep`` where it is not inside a quoted string."""
    parts, buf, quote = [], [], ""
    for ch in text:
        if quote:
            buf.append(ch)
            if ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
            buf.append(ch)
        elif ch == sep:
            parts.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
    parts.append("".join(buf))
    return parts


def unquote(arg: str) -> str:
    """The text of a quoted string parameter (``"defbuffer1"`` → ``defbuffer1``)."""
    arg = arg.strip()
    if len(arg) >= 2 and arg[0] == arg[-1] and arg[0] in "\"'":
        return arg[1:-1]
    raise ScpiError(-104, "Data type error; expected a quoted string")


def parse_bool(arg: str) -> bool:
    """ON|OFF|1|0 → bool."""
    token = arg.strip().upper()
    if token in ("ON", "1"):
        return True
    if token in ("OFF", "0"):
        return False
    raise ScpiError(-224)


_UNITS = {"V": 1.0, "MV": 1e-3, "UV": 1e-6, "A": 1.0, "MA": 1e-3, "UA": 1e-6, "NA": 1e-9,
          "S": 1.0, "MS": 1e-3, "US": 1e-6, "NS": 1e-9}
_NUMBER = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*([A-Za-z]*)$")


def parse_number(arg: str, *, minimum: float | None = None, maximum: float | None = None,
                 default: float | None = None) -> float:
    """A numeric parameter: a decimal number (optionally with a unit) or MIN/MAX/DEF."""
    token = arg.strip().upper()
    special = {"MIN": minimum, "MINIMUM": minimum, "MAX": maximum, "MAXIMUM": maximum,
               "DEF": default, "DEFAULT": default}
    if token in special:
        value = special[token]
        if value is None:
            raise ScpiError(-224)
        return value
    match = _NUMBER.match(token)
    if not match:
        raise ScpiError(-104)
    value = float(match.group(1))
    if match.group(2):
        if match.group(2) not in _UNITS:
            raise ScpiError(-104, "Data type error; unknown unit suffix")
        value *= _UNITS[match.group(2)]
    if not math.isfinite(value):
        raise ScpiError(-222, "Parameter data out of range; the number overflows")
    return value


def parse_int(arg: str, minimum: int, maximum: int) -> int:
    """An integer parameter in ``minimum..maximum`` (a decimal number rounds); else -222."""
    value = parse_number(arg, minimum=minimum, maximum=maximum)
    if not minimum <= value <= maximum:
        raise ScpiError(-222, f"Parameter data out of range; {minimum} to {maximum}")
    return round(value)


class ErrorQueue:
    """The instrument's first-in first-out error queue; overflows as the standard says."""

    def __init__(self, size: int = 32, formatter: Callable[[int, str], str] | None = None) -> None:
        self._queue: deque[tuple[int, str]] = deque()
        self._size = size
        self._format = formatter or (lambda code, msg: f'{code},"{msg}"')

    def push(self, code: int, message: str) -> None:
        if len(self._queue) >= self._size:
            self._queue[-1] = (-350, ERROR_MESSAGES[-350])
            return
        self._queue.append((code, message))

    def pop(self) -> str:
        code, msg = self._queue.popleft() if self._queue else (0, ERROR_MESSAGES[0])
        return self._format(code, msg)

    def clear(self) -> None:
        self._queue.clear()

    def __len__(self) -> int:
        return len(self._queue)


class ScpiInstrument:
    """Base class: dispatches SCPI messages to methods decorated with :func:`command`; answers
    ``*IDN?`` with the subclass's ``idn``."""

    _commands: list[_Command]
    idn: str

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        cls._commands = []
        for klass in reversed(cls.__mro__):
            for func in vars(klass).values():
                for pattern in getattr(func, "__dict__", {}).get("_scpi", []):
                    query = pattern.endswith("?")
                    header = pattern[:-1] if query else pattern
                    if not header.startswith(("*", ":", "[")):
                        header = ":" + header
                    cls._commands.append(_Command(pattern, compile_header(header), query, func))

    def __init__(self) -> None:
        self.errors = ErrorQueue(formatter=self.format_error)
        self.run_control = RunControl()

    @command("*IDN?")
    def _idn(self) -> str:
        return self.idn

    def format_error(self, code: int, message: str) -> str:
        """How this instrument spells an error-queue entry."""
        return f'{code},"{message}"'

    def query_interrupted(self) -> None:
        """A new command arrived before the last reply was read (IEEE 488.2 §6.3.2.3)."""
        self.errors.push(-410, ERROR_MESSAGES[-410])

    def query_unterminated(self) -> None:
        """The controller read with no reply pending (IEEE 488.2 §6.3.2.2)."""
        self.errors.push(-420, ERROR_MESSAGES[-420])

    def interrupts(self, message: str) -> bool:
        """True for ``:ABORt``: the interface stops what runs when it sees it."""
        return message.strip().lstrip(":").upper().startswith("ABOR")

    def internal_error(self, detail: str) -> None:
        """A fault of the simulator itself met while executing a message."""
        self.errors.push(-200, f"Execution error; simulator fault: {detail}")

    def input_overflow(self) -> None:
        """The client sent a message longer than the input buffer; it was discarded."""
        self.errors.push(-363, ERROR_MESSAGES[-363])

    def process(self, message: str) -> str | None:
        """Execute one program message; return the response message (None if no query).

        A message stopped by an abort from another connection ends there; one stopped by the
        simulator's budget also queues -200."""
        self.run_control.begin()
        try:
            return self._process(message)
        except Interrupted as stop:
            if stop.budget and not stop.reported:
                stop.reported = True
                self.errors.push(-200, f"Execution error; {stop.reason}")
            return None
        finally:
            self.run_control.end()

    def _process(self, message: str) -> str | None:
        responses: list[str] = []
        path = ""
        for unit in split_outside_quotes(message.strip(), ";"):
            unit = unit.strip()
            if not unit:
                continue
            header, _, rest = unit.partition(" ")
            header, rest = header.strip(), rest.strip()
            query = header.endswith("?")
            bare = header[:-1] if query else header
            if bare.startswith(":*"):   # `:*RST`: real 2400s accept it (QCoDeS sends it); a common command
                bare = bare[1:]
            if bare.startswith("*"):
                full = bare
            elif bare.startswith(":"):
                full = bare
            else:
                full = path + ":" + bare
            try:
                cmd = self._find(full, query)
                args = [a.strip() for a in split_outside_quotes(rest, ",")] if rest else []
                reply = cmd.handler(self, *args)
            except ScpiError as exc:
                self.errors.push(exc.code, exc.message)
                continue
            except TypeError:
                self.errors.push(-109 if not rest else -108, ERROR_MESSAGES[-109 if not rest else -108])
                continue
            except (ValueError, OverflowError, IndexError):   # an argument the handler could not take
                self.errors.push(-224, ERROR_MESSAGES[-224])
                continue
            if not bare.startswith("*"):
                path = full.rsplit(":", 1)[0]
            if query and reply is not None:
                responses.append(reply)
        return ";".join(responses) if responses else None

    def _find(self, header: str, query: bool) -> _Command:
        for cmd in self._commands:
            if cmd.query == query and cmd.regex.match(header):
                return cmd
        raise ScpiError(-113)


def definite_block(data: bytes) -> str:
    """IEEE 488.2 §8.7.9 definite-length arbitrary block ``#<n><length><bytes>``, as text with one
    latin-1 character per byte (the transports send replies latin-1 encoded)."""
    length = str(len(data))
    return f"#{len(length)}{length}" + data.decode("latin-1")
