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
from typing import Any, Callable, Iterable

from labsuite.simulator.pacing import Sequenced
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


def commands(*patterns: str) -> Callable[[Callable[..., str | None]], Callable[..., str | None]]:
    """Register a method as the handler of each of ``patterns`` (one per function, channel
    layer or reading element the header names)."""
    def register(func: Callable[..., str | None]) -> Callable[..., str | None]:
        for pattern in patterns:
            command(pattern)(func)
        return func
    return register


def split_outside_quotes(text: str, sep: str) -> list[str]:
    """Split ``text`` on ``sep`` where it is not inside a quoted string (an unterminated quote runs
    to the end)."""
    pieces = text.split(sep)
    if '"' not in text and "'" not in text:
        return pieces
    parts: list[str] = []
    quote = ""   # the quote open at the end of the text so far
    for piece in pieces:
        if quote:
            parts[-1] += sep + piece
        else:
            parts.append(piece)
        i = 0
        while True:   # carry the quote state through this piece
            if quote:
                j = piece.find(quote, i)
                if j < 0:
                    break
                quote, i = "", j + 1
            else:
                j = min((k for k in (piece.find('"', i), piece.find("'", i)) if k >= 0), default=-1)
                if j < 0:
                    break
                quote, i = piece[j], j + 1
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


def keyword(arg: str, choices: Iterable[str]) -> str:
    """The short form (upper case) of the manual-style keyword ``arg`` names (``NORMal`` takes
    NORM or NORMAL), or -224."""
    token = arg.strip().upper()
    for choice in choices:
        short = "".join(c for c in choice if c.isupper() or c.isdigit())
        if token in (short, choice.upper()):
            return short
    raise ScpiError(-224)


def choice(*words: str) -> Callable[[str], str]:
    """Parser of a keyword parameter, one of the manual-style ``words``; gives the short form."""
    return lambda arg: keyword(arg, words)


def bounded(minimum: float, maximum: float, default: float) -> Callable[[str], float]:
    """Parser of a numeric parameter in [minimum, maximum] (MIN, MAX, DEF too); outside, -222."""
    def parse(arg: str) -> float:
        value = parse_number(arg, minimum=minimum, maximum=maximum, default=default)
        if not minimum <= value <= maximum:
            raise ScpiError(-222)
        return value
    return parse


def numeric(minimum: float, maximum: float, default: float) -> Callable[[str], float]:
    """Parser of a numeric parameter whose MIN, MAX and DEF are ``minimum``, ``maximum`` and
    ``default``; a number outside is left to the setting (``Setting.clip``)."""
    return lambda arg: parse_number(arg, minimum=minimum, maximum=maximum, default=default)


def on_off(value: bool) -> str:
    """A boolean as queries answer it: 1 or 0."""
    return "1" if value else "0"


@dataclass(frozen=True)
class Setting:
    """One setting as the manual defines it, declared once in the instrument class: ``header``
    (or each of a tuple of headers) sets the instrument's ``attribute`` to ``parse(argument)``
    and ``header?`` answers ``reply(value)``. A dotted attribute (``ch.polarity``) is held by an
    object the instrument gives (the addressed channel); a part ending in ``()`` is a method it
    calls for that object (``_ch().mode``). ``default`` is the *RST value
    :meth:`ScpiInstrument.reset_settings` restores (None: the instrument's reset sets it).
    ``apply`` names the instrument method that takes the parsed value, as the keyword the
    attribute's last part names, instead of a plain assignment: for a setting the instrument
    checks against its others first (``_change(output=True)``) or that others follow. ``clip``
    (low, high): a number outside is not refused but taken at the nearer limit, the instrument
    queueing -222 (:meth:`ScpiInstrument.clipped`)."""

    header: str | tuple[str, ...]
    attribute: str
    parse: Callable[[str], Any]
    reply: Callable[[Any], str] = str
    default: Any = None
    apply: str | None = None
    clip: tuple[float, float] | None = None

    def handlers(self) -> tuple[Callable[..., None], Callable[..., str]]:
        """(command handler, query handler) for the instrument's dispatcher."""
        path, _, name = self.attribute.rpartition(".")

        def holder(instrument: object) -> object:
            for part in path.split(".") if path else ():
                instrument = getattr(instrument, part.removesuffix("()"))
                if part.endswith("()"):
                    instrument = instrument()
            return instrument

        def set_value(instrument: ScpiInstrument, arg: str) -> None:
            value = self.parse(arg)
            if self.clip:
                value = instrument.clipped(value, *self.clip)
            if self.apply:
                getattr(instrument, self.apply)(**{name: value})
            else:
                setattr(holder(instrument), name, value)

        def get_value(instrument: object) -> str:
            return self.reply(getattr(holder(instrument), name))
        return set_value, get_value


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


class ScpiInstrument(Sequenced):
    """Base class: dispatches SCPI messages to methods decorated with :func:`command`; answers
    ``*IDN?`` with the subclass's ``idn``."""

    _commands: list[_Command]
    _found: dict[tuple[str, bool], _Command]   # (header as sent, query) → its command, once matched
    _settings: list[Setting]
    idn: str
    clip_messages = (ERROR_MESSAGES[-222], ERROR_MESSAGES[-222])   # a value clipped to the lower, the upper limit

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        handlers: dict[str, object] = {}     # a method a subclass overrides is its version only
        for klass in reversed(cls.__mro__):
            handlers.update(vars(klass))
        commands: dict[str, _Command] = {}   # a pattern a subclass declares again is its handler only
        cls._settings = [value for value in handlers.values() if isinstance(value, Setting)]
        for setting in cls._settings:
            set_value, get_value = setting.handlers()
            headers = (setting.header,) if isinstance(setting.header, str) else setting.header
            set_value.__dict__["_scpi"], get_value.__dict__["_scpi"] = list(headers), [h + "?" for h in headers]
            handlers[setting.attribute + " command"], handlers[setting.attribute + " query"] = set_value, get_value
        for func in handlers.values():
            for pattern in getattr(func, "__dict__", {}).get("_scpi", []):
                query = pattern.endswith("?")
                header = pattern[:-1] if query else pattern
                if not header.startswith(("*", ":", "[")):
                    header = ":" + header
                commands[pattern.upper()] = _Command(pattern, compile_header(header), query, func)
        cls._commands = list(commands.values())
        cls._found = {}

    def __init__(self) -> None:
        self.errors = ErrorQueue(formatter=self.format_error)
        self.run_control = RunControl()

    @command("*IDN?")
    def _idn(self) -> str:
        return self.idn

    def reset_settings(self) -> None:
        """Give every declared :class:`Setting` with a default its *RST value."""
        for setting in self._settings:
            if setting.default is not None:
                setattr(self, setting.attribute, setting.default)

    def clipped(self, value: float, low: float, high: float) -> float:
        """``value`` within [low, high]; outside, the nearer limit, with -222 queued (the
        instrument goes on)."""
        if value < low:
            self.errors.push(-222, self.clip_messages[0])
            return low
        if value > high:
            self.errors.push(-222, self.clip_messages[1])
            return high
        return value

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
            self.report_stop(stop)
            return None
        finally:
            self.run_control.end()

    def report_stop(self, stop: Interrupted) -> None:
        """A message or paced sequence stopped: by the budget, -200 (an abort queues nothing)."""
        if stop.budget and not stop.reported:
            stop.reported = True
            self.errors.push(-200, f"Execution error; {stop.reason}")

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
        found = self._found.get((header, query))
        if found is not None:
            return found
        for cmd in self._commands:
            if cmd.query == query and cmd.regex.match(header):
                self._found[header, query] = cmd
                return cmd
        raise ScpiError(-113)


# Standard Event Status Register bits (IEEE 488.2 §11.5.1.1)
ESR_OPC, ESR_QUERY, ESR_DEVICE, ESR_EXECUTION, ESR_COMMAND, ESR_POWER_ON = 1, 4, 8, 16, 32, 128
# Status Byte bits (IEEE 488.2 §11.2.1 and SCPI-99 §9.1): error/event queue, event summary, MSS
STB_EAV, STB_ESB, STB_MSS = 4, 32, 64


def event_bit(code: int) -> int:
    """The Standard Event Status Register bit an error of ``code`` sets (SCPI-99 §21.8)."""
    if -199 <= code <= -100:
        return ESR_COMMAND
    if -299 <= code <= -200:
        return ESR_EXECUTION
    if -499 <= code <= -400:
        return ESR_QUERY
    return ESR_DEVICE


class EventErrorQueue(ErrorQueue):
    """The error queue, setting each error's bit in the instrument's ``esr`` as it is queued."""

    def __init__(self, instrument: Ieee488Instrument, **kwargs) -> None:
        super().__init__(**kwargs)
        self._instrument = instrument

    def push(self, code: int, message: str) -> None:
        super().push(code, message)
        self._instrument.esr |= event_bit(code)


class Ieee488Instrument(ScpiInstrument):
    """A SCPI instrument with the IEEE 488.2 status registers and the common commands that read
    and write them (§10): *RST, *CLS, *OPC, *OPC?, *WAI, *ESR?, *ESE, *SRE, *STB?, *TST?; and
    the error query SCPI-99 makes mandatory, :SYSTem:ERRor[:NEXT]?.

    Subclasses give ``reset`` (the *RST state), may add summary bits of their own registers to
    the status byte (``status_summary``) and spell integer replies their way (``integer``)."""

    error_queue_size = 32
    reset: Callable[[], None]

    def __init__(self) -> None:
        super().__init__()
        self.errors = EventErrorQueue(self, size=self.error_queue_size, formatter=self.format_error)
        self.power_on_status()

    def power_on_status(self) -> None:
        """Status at mains on (§11.5.1.1): error queue empty, Power On bit set, enables cleared."""
        self.errors.clear()
        self.esr, self.ese, self.sre = ESR_POWER_ON, 0, 0
        self.opc_pending = False   # *OPC sent while a paced sequence plays (§12.5.2: OCAS)

    def clear_status(self) -> None:
        """*CLS (§10.3): empty the error queue and clear the event registers."""
        self.errors.clear()
        self.esr = 0
        self.opc_pending = False

    def settle_opc(self) -> None:
        """Set Operation Complete for a ``*OPC`` whose operations have ended since."""
        if self.opc_pending and not self.sequence_running:
            self.esr |= ESR_OPC
            self.opc_pending = False

    def status_summary(self) -> int:
        """Status byte bits summarising the instrument's own registers (none here)."""
        return 0

    def integer(self, value: int) -> str:
        """An integer (NR1) reply as this instrument spells it."""
        return str(value)

    @command("*RST")
    def _rst(self) -> None:
        self.reset()

    @command("*CLS")
    def _cls(self) -> None:
        self.clear_status()

    @command("*OPC?")
    def _opc_query(self) -> str:
        self._wai()
        return "1"   # whatever was started has finished in bench time

    @command("*OPC")
    def _opc(self) -> None:
        """Operation Complete once what was started is done: at once in virtual time, at the end
        of a paced sequence (seen by the next ``*ESR?`` or ``*STB?``)."""
        self.opc_pending = True
        self.settle_opc()

    @command("*WAI")
    def _wai(self) -> None:
        """Wait for a paced sequence to end (in virtual time none is left pending)."""
        if self.sequencer is not None:
            self.sequencer.join()

    @command("*ESR?")
    def _esr_query(self) -> str:
        self.settle_opc()
        value, self.esr = self.esr, 0
        return self.integer(value)

    @command("*ESE")
    def _ese(self, value: str) -> None:
        self.ese = parse_int(value, 0, 255)

    @command("*ESE?")
    def _ese_query(self) -> str:
        return self.integer(self.ese)

    @command("*SRE")
    def _sre(self, value: str) -> None:
        self.sre = parse_int(value, 0, 255) & ~STB_MSS   # bit 6 cannot be enabled (§11.3.2.3)

    @command("*SRE?")
    def _sre_query(self) -> str:
        return self.integer(self.sre)

    @command("*STB?")
    def _stb(self) -> str:
        self.settle_opc()
        stb = self.status_summary() | (STB_EAV if len(self.errors) else 0) | (STB_ESB if self.esr & self.ese else 0)
        return self.integer(stb | (STB_MSS if stb & self.sre else 0))

    @command("*TST?")
    def _tst(self) -> str:
        return self.integer(0)   # self-test passed

    @command(":SYSTem:ERRor[:NEXT]?")
    def _error_next(self) -> str:
        """The oldest error, removed from the queue (SCPI-99 §21.8.8)."""
        return self.errors.pop()


def definite_block(data: bytes) -> str:
    """IEEE 488.2 §8.7.9 definite-length arbitrary block ``#<n><length><bytes>``, as text with one
    latin-1 character per byte (the transports send replies latin-1 encoded)."""
    length = str(len(data))
    return f"#{len(length)}{length}" + data.decode("latin-1")
