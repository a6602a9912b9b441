"""TSP (Test Script Processor) command interface for simulated Keithley instruments.

TSP instruments are programmed in Lua: every message line is a Lua chunk run on the instrument,
``print()`` puts a reply in the output queue, and instrument settings are attributes of tables
(``smua.source.levelv = 1``). This module runs real Lua (``lupa``'s Lua 5.1, the release closest
to the Lua 5.0 of TSP firmware: ``table.getn`` and the ``x = y`` / ``f()`` syntax are the same)
and gives a simulated instrument what the Series 2600B Reference Manual (2600BS-901-01 Rev. F,
"Instrument programming" and section 9 "TSP command reference") describes:

- ``print()`` (arguments separated by tabs), ``printnumber()`` and ``printbuffer()`` (values
  separated by ``", "``), numbers as ``%e`` with ``format.asciiprecision`` digits (default 6:
  ``0.00000e+00``); only ``format.data = format.ASCII`` is simulated;
- ``errorqueue.count`` / ``next()`` / ``clear()``: ``errorCode, message, severity, errorNode``,
  ``0, "Queue Is Empty"`` when empty (section 9 ``errorqueue.next()``); a Lua syntax error is
  -285 ``TSP Syntax error at line N: ...`` and a Lua run-time error -286 ``TSP Runtime error at
  line N: ...`` ("Effects of errors on scripts", section 8 of Rev. B); quotes in Lua's messages are the
  firmware's `` `name' `` style;
- scripts: ``loadscript NAME`` ... ``endscript`` collects the lines between and compiles them as
  the named script (global ``NAME``: ``NAME()`` or ``NAME.run()`` runs it, ``NAME.source`` is its
  text, ``script.user.scripts.NAME`` lists it); without a name, or with ``loadandrunscript`` (run
  at ``endscript``), the anonymous script; ``script.delete(name)``;
- IEEE 488.2 common commands on the TSP interface (section 11 "Common commands"): ``*IDN?``,
  ``*RST``, ``*CLS``, ``*OPC``, ``*OPC?``, ``*WAI``, ``*TRG``, ``*ESR?``, ``*ESE``, ``*ESE?``,
  ``*SRE``, ``*SRE?``, ``*STB?``; the standard event status register takes the class of each
  queued error (command, execution, device-dependent, query);
- the ``bit`` library's ``bitand``, ``bitor``, ``bitxor``, ``test``, ``set``, ``clear``, ``get``.

TSP objects are Python classes deriving :class:`TspObject`: Lua sees each as a table whose
fields read and write the object's public attributes (properties with setters are writable,
plain methods are TSP functions, child objects are sub-tables, ``_tsp_item`` answers numeric
indices). A setting refused by the instrument queues an error and leaves the value unchanged,
without stopping the script; a :class:`TspRuntimeError` stops the chunk as a Lua error does.
The error queue holds 32 entries here; the manual's capacity was not found.
"""
from __future__ import annotations

import inspect
import math
import re
from collections import deque
from typing import Any

import lupa.lua51 as lua

QUEUE_EMPTY = (0, "Queue Is Empty", 0)
SEVERITY_RECOVERABLE = 20             # errorqueue.next() severity of a user error
ERROR_QUEUE_SIZE = 32
ESR_OPC, ESR_QYE, ESR_DDE, ESR_EXE, ESR_CME = 1, 4, 8, 16, 32   # standard event status bits
STB_EAV, STB_ESB = 4, 32                                         # status byte: error available, event summary

# Lua side of the bridge: TSP object proxies, running a chunk with the line of a failure, and
# the bit library. Captured locals keep working after the sandbox removes debug, io and os.
_BOOTSTRAP = r"""
local get, set = ...
local rawset, setmetatable, loadstring = rawset, setmetatable, loadstring
local xpcall, tostring, type = xpcall, tostring, type
local getinfo, floor = debug.getinfo, math.floor

function __tsp_wrap(obj, callable)
  local t = {}
  rawset(t, "__tsp", obj)
  local mt = {__index = function(_, k) return get(obj, k) end,
              __newindex = function(_, k, v) set(obj, k, v) end}
  if callable then
    mt.__call = function(_, ...) return get(obj, "run")(...) end
  end
  return setmetatable(t, mt)
end

function __tsp_compile(source, name)
  local f, err = loadstring(source, "=" .. name)
  return f, err
end

local function located(e)
  if type(e) == "string" then return e end
  -- an error raised by the instrument (a Python object): add the line of the Lua code that called it
  for level = 2, 20 do
    local info = getinfo(level, "Sl")
    if info == nil then break end
    if info.what ~= "C" and info.currentline > 0 then
      return info.short_src .. ":" .. info.currentline .. ": " .. tostring(e), e
    end
  end
  return "?:0: " .. tostring(e), e
end

local function handler(e)
  local message, original = located(e)
  return {message, original}
end

function __tsp_run(f)
  local ok, err = xpcall(f, handler)
  if ok then return nil, nil end
  return err[1], err[2]
end

local function bits(x)
  local t, i = {}, 1
  x = floor(x)
  while x > 0 do t[i] = x - floor(x / 2) * 2; x = floor(x / 2); i = i + 1 end
  return t
end
local function combine(a, b, f)
  local ta, tb, r, w = bits(a), bits(b), 0, 1
  for i = 1, math.max(table.getn(ta), table.getn(tb)) do
    r = r + f(ta[i] or 0, tb[i] or 0) * w
    w = w * 2
  end
  return r
end
bit = {}
function bit.bitand(a, b) return combine(a, b, function(x, y) if x == 1 and y == 1 then return 1 end return 0 end) end
function bit.bitor(a, b) return combine(a, b, function(x, y) if x == 1 or y == 1 then return 1 end return 0 end) end
function bit.bitxor(a, b) return combine(a, b, function(x, y) if x ~= y then return 1 end return 0 end) end
function bit.get(value, index) return bit.bitand(value, 2 ^ (index - 1)) end
function bit.test(value, index) return bit.get(value, index) ~= 0 end
function bit.set(value, index) return bit.bitor(value, 2 ^ (index - 1)) end
function bit.clear(value, index) return value - bit.get(value, index) end

-- no host access from instrument scripts
io, dofile, loadfile, require, package, module, debug, python = nil, nil, nil, nil, nil, nil, nil, nil
os = {time = os.time, date = os.date, clock = os.clock, difftime = os.difftime}
"""

_LOCATION = re.compile(r"^(?P<chunk>[^:\n]*):(?P<line>\d+): (?P<message>.*)$", re.DOTALL)
_LUA_QUOTE = re.compile(r"'([^'\n]*)'")


class TspRuntimeError(Exception):
    """An instrument function refuses to go on: the running chunk stops with error -286."""


class TspExit(Exception):
    """``exit()``: the running script stops here, without an error."""


class TspObject:
    """A TSP object; Lua sees a table whose fields are this object's public attributes."""

    _tsp_callable = False

    def _tsp_item(self, index: int) -> Any:
        """The value at a numeric index (``obj[3]``); None (nil) by default."""
        return None


def number(value: Any, what: str) -> float:
    """A Lua number argument as float; anything else stops the chunk."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TspRuntimeError(f"bad argument ({what}): number expected, got {lua_type(value)}")
    return float(value)


def lua_type(value: Any) -> str:
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "table" if lua.lua_type(value) == "table" else "userdata"


class TspErrorQueue:
    """First in, first out: (code, message, severity) entries; errors come from node 1."""

    def __init__(self, size: int = ERROR_QUEUE_SIZE) -> None:
        self._queue: deque[tuple[int, str, int]] = deque()
        self._size = size

    def push(self, code: int, message: str, severity: int = SEVERITY_RECOVERABLE) -> None:
        if len(self._queue) >= self._size:
            self._queue[-1] = (-350, "Queue overflow", SEVERITY_RECOVERABLE)
            return
        self._queue.append((code, message, severity))

    def pop(self) -> tuple[int, str, int]:
        return self._queue.popleft() if self._queue else QUEUE_EMPTY

    def clear(self) -> None:
        self._queue.clear()

    def __len__(self) -> int:
        return len(self._queue)


class Format(TspObject):
    """``format``: how print() and printbuffer() write numbers (only ASCII is simulated)."""

    ASCII, REAL32, REAL64, REAL = 1, 2, 3, 3
    NORMAL, SWAPPED, BIGENDIAN, LITTLEENDIAN, NETWORK = 0, 1, 0, 1, 0

    def __init__(self, instrument: TspInstrument) -> None:
        self._instrument = instrument
        self.reset()

    def reset(self) -> None:
        self._precision = 6
        self._byteorder = self.LITTLEENDIAN

    @property
    def asciiprecision(self) -> int:
        return self._precision

    @asciiprecision.setter
    def asciiprecision(self, value: Any) -> None:
        digits = number(value, "format.asciiprecision")
        if self._instrument.within(digits, 1, 16):
            self._precision = int(digits)

    @property
    def data(self) -> int:
        return self.ASCII

    @data.setter
    def data(self, value: Any) -> None:
        if number(value, "format.data") != self.ASCII:
            self._instrument.error(-221, "Settings conflict; only format.ASCII is simulated")

    @property
    def byteorder(self) -> int:
        return self._byteorder

    @byteorder.setter
    def byteorder(self, value: Any) -> None:
        self._byteorder = int(number(value, "format.byteorder"))

    def text(self, value: Any) -> str:
        """A value as print() writes it."""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (int, float)):
            return f"{float(value):.{self._precision - 1}e}"
        if value is None:
            return "nil"
        if isinstance(value, str):
            return value
        return f"{lua_type(value)}: 0x{id(value):08x}"


class ErrorQueueObject(TspObject):
    """``errorqueue``."""

    def __init__(self, instrument: TspInstrument) -> None:
        self._instrument = instrument

    @property
    def count(self) -> int:
        return len(self._instrument.errors)

    def next(self) -> tuple[int, str, int, int]:
        code, message, severity = self._instrument.errors.pop()
        return code, message, severity, 1

    def clear(self) -> None:
        self._instrument.errors.clear()


class Script(TspObject):
    """A loaded script: ``NAME()`` and ``NAME.run()`` run it."""

    _tsp_callable = True

    def __init__(self, name: str, source: str, function: Any) -> None:
        self._name, self._source, self._function = name, source, function

    @property
    def name(self) -> str:
        return self._name

    @property
    def source(self) -> str:
        return self._source

    @property
    def run(self) -> Any:
        return self._function


class ScriptUser(TspObject):
    """``script.user``: the named scripts in the run-time environment."""

    def __init__(self, scripts: dict[str, Script]) -> None:
        self._scripts = scripts

    @property
    def scripts(self) -> dict[str, Script]:
        return self._scripts


class ScriptObject(TspObject):
    """``script``."""

    def __init__(self, instrument: TspInstrument) -> None:
        self._instrument = instrument
        self.user = ScriptUser(instrument.scripts)

    @property
    def anonymous(self) -> Script | None:
        return self._instrument.anonymous

    def delete(self, name: Any) -> None:
        """Remove the named script (and its global, if it still names the script)."""
        if not isinstance(name, str) or name not in self._instrument.scripts:
            raise TspRuntimeError(f"script `{name}' does not exist")
        script = self._instrument.scripts.pop(name)
        globals_ = self._instrument.lua.globals()
        if self._instrument.unwrap(globals_[name]) is script:
            globals_[name] = None


class TspInstrument:
    """A simulated instrument programmed in TSP: one Lua chunk per message line."""

    idn: str

    def __init__(self) -> None:
        self.errors = TspErrorQueue()
        self.esr = self.ese = self.sre = 0
        self.scripts: dict[str, Script] = {}
        self.anonymous: Script | None = None
        self._collecting: tuple[str, str, list[str]] | None = None   # (keyword, name, lines)
        self._output: list[str] = []
        self._proxies: dict[int, Any] = {}
        self.format = Format(self)
        self.new_environment()

    # --- the Lua environment ---------------------------------------------------------
    def new_environment(self) -> None:
        """A fresh Lua state (power-on): no scripts, no user globals."""
        self.lua = lua.LuaRuntime(unpack_returned_tuples=True, register_eval=False, register_builtins=False)
        self._proxies.clear()
        self.scripts.clear()
        self.anonymous = None
        self._collecting = None
        self.lua.execute(_BOOTSTRAP, self._get, self._set)
        bridge = self.lua.globals()
        self._wrap, self._compile, self._run = bridge["__tsp_wrap"], bridge["__tsp_compile"], bridge["__tsp_run"]
        self.install({"print": self.tsp_print, "printnumber": self.tsp_printnumber,
                      "printbuffer": self.tsp_printbuffer, "format": self.format,
                      "errorqueue": ErrorQueueObject(self), "script": ScriptObject(self),
                      "opc": self.opc, "exit": self.tsp_exit})

    def install(self, names: dict[str, Any]) -> None:
        """Make ``names`` global in Lua (TSP objects become tables)."""
        globals_ = self.lua.globals()
        for name, value in names.items():
            globals_[name] = self.to_lua(value)

    def to_lua(self, value: Any) -> Any:
        """A Python value as Lua sees it: TSP objects as (cached) proxy tables, dicts as tables."""
        if isinstance(value, TspObject):
            proxy = self._proxies.get(id(value))
            if proxy is None or proxy["__tsp"] is not value:
                proxy = self._wrap(value, value._tsp_callable)
                self._proxies[id(value)] = proxy
            return proxy
        if isinstance(value, dict):
            return self.lua.table_from({k: self.to_lua(v) for k, v in value.items()})
        if isinstance(value, (list, tuple)):
            return self.lua.table_from([self.to_lua(v) for v in value])
        return value

    def _get(self, obj: TspObject, key: Any) -> Any:
        if isinstance(key, str):
            if key.startswith("_"):
                return None
            return self.to_lua(getattr(obj, key, None))
        if isinstance(key, (int, float)) and not isinstance(key, bool):
            return self.to_lua(obj._tsp_item(int(key)))
        return None

    def _set(self, obj: TspObject, key: Any, value: Any) -> None:
        public = isinstance(key, str) and not key.startswith("_")
        attribute = inspect.getattr_static(type(obj), key, None) if public else None
        if not isinstance(attribute, property) or attribute.fset is None:
            raise TspRuntimeError(f"attempt to assign to read-only field `{key}'")
        attribute.fset(obj, value)

    @staticmethod
    def unwrap(value: Any) -> Any:
        """The TSP object behind a proxy table (or ``value`` itself)."""
        if value is not None and not isinstance(value, (bool, int, float, str)) and lua.lua_type(value) == "table":
            inner = value["__tsp"]
            if inner is not None:
                return inner
        return value

    def values(self, table: Any, what: str) -> list[Any]:
        """A Lua array (table indexed 1..n) as a list."""
        if table is None or isinstance(table, (bool, int, float, str)) or lua.lua_type(table) != "table":
            raise TspRuntimeError(f"bad argument ({what}): table expected, got {lua_type(table)}")
        return [table[i] for i in range(1, len(table) + 1)]

    # --- errors ----------------------------------------------------------------------
    def error(self, code: int, message: str) -> None:
        """Queue an error and set its class bit in the standard event status register."""
        self.errors.push(code, message)
        if -199 <= code <= -100 or code == -285:
            self.esr |= ESR_CME
        elif -299 <= code <= -200:
            self.esr |= ESR_EXE
        elif -499 <= code <= -400:
            self.esr |= ESR_QYE
        elif code > 0:
            self.esr |= ESR_DDE

    def within(self, value: float, low: float, high: float) -> bool:
        """True if ``low ≤ value ≤ high``; else queue 1102 "Parameter too small" or 1101
        "Parameter too big" (codes of the 2600B error summary as the firmware reports them;
        not confirmed against the manual's list)."""
        if value < low:
            self.error(1102, "Parameter too small")
            return False
        if value > high or math.isnan(value):
            self.error(1101, "Parameter too big")
            return False
        return True

    def query_interrupted(self) -> None:
        """A new command arrived before the last reply was read (IEEE 488.2 §6.3.2.3)."""
        self.error(-410, "Query INTERRUPTED")

    def query_unterminated(self) -> None:
        """The controller read with no reply pending (IEEE 488.2 §6.3.2.2)."""
        self.error(-420, "Query UNTERMINATED")

    # --- messages --------------------------------------------------------------------
    def process(self, message: str) -> str | None:
        """Execute one message line; return what it printed (lines joined), or None."""
        self._output = []
        line = message.strip()
        if self._collecting is not None:
            self._collect(line)
        elif line.startswith("*"):
            self._common(line)
        else:
            words = line.split()
            if words and words[0] in ("loadscript", "loadandrunscript"):
                self._collecting = (words[0], words[1] if len(words) > 1 else "", [])
            elif words:
                self.execute(line, "tsp")
        return "\n".join(self._output) if self._output else None

    def execute(self, source: str, name: str) -> None:
        """Compile and run ``source`` as one chunk; Lua failures go to the error queue."""
        function, problem = self._compile(source, name)
        if function is None:
            self.error(-285, "TSP Syntax error at " + _where(problem))
            return
        self.call(function)

    def call(self, function: Any) -> None:
        """Run a Lua function; a run-time error goes to the error queue as -286."""
        message, original = self._run(function)
        if message is None:
            return
        if isinstance(original, TspExit):
            return
        raised = isinstance(original, BaseException)
        if raised and not isinstance(original, TspRuntimeError):
            raise original   # a fault in the simulator itself, not in the script
        self.error(-286, "TSP Runtime error at " + _where(message, lua_quotes=not raised))

    def _collect(self, line: str) -> None:
        keyword, name, lines = self._collecting
        if line != "endscript":
            lines.append(line)
            return
        self._collecting = None
        source = "\n".join(lines)
        if name and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            self.error(-285, f"TSP Syntax error at line 1: invalid script name `{name}'")
            return
        function, problem = self._compile(source, name or "anonymous")
        if function is None:
            self.error(-285, "TSP Syntax error at " + _where(problem))
            return
        script = Script(name, source, function)
        if name:
            self.scripts[name] = script
            self.lua.globals()[name] = self.to_lua(script)
        else:
            self.anonymous = script
        if keyword == "loadandrunscript":
            self.call(function)

    def _common(self, line: str) -> None:
        header, _, argument = line.partition(" ")
        header = header.upper()
        replies = {"*IDN?": lambda: self.idn, "*ESE?": lambda: str(self.ese), "*SRE?": lambda: str(self.sre),
                   "*STB?": lambda: str(self.status_byte())}
        if header in replies:
            self._output.append(replies[header]())
        elif header == "*OPC?":
            self.complete()
            self._output.append("1")
        elif header == "*ESR?":
            self._output.append(str(self.esr))
            self.esr = 0
        elif header == "*CLS":
            self.errors.clear()
            self.esr = 0
        elif header == "*RST":
            self.reset()
        elif header == "*OPC":
            self.opc()
        elif header == "*WAI":
            self.complete()
        elif header == "*TRG":
            self.bus_trigger()
        elif header in ("*ESE", "*SRE") and argument.strip().isdigit() and int(argument) < 256:
            setattr(self, header[1:].lower(), int(argument))
        else:
            self.execute(line, "tsp")   # not a common command: Lua makes it a syntax error

    # --- instrument hooks (a subclass overrides what it has) ---------------------------
    def reset(self) -> None:
        """``*RST`` / ``reset()``: settings back to their defaults."""
        self.format.reset()

    def complete(self) -> None:
        """Wait until overlapped operations finish (``*OPC?``, ``*WAI``, ``waitcomplete()``)."""

    def bus_trigger(self) -> None:
        """``*TRG``: the command interface trigger event."""

    def opc(self) -> None:
        """``opc()`` / ``*OPC``: set the operation complete bit once operations finish."""
        self.complete()
        self.esr |= ESR_OPC

    def status_byte(self) -> int:
        """``*STB?``: error available (bit 2) and event summary (bit 5)."""
        return (STB_EAV if len(self.errors) else 0) | (STB_ESB if self.esr & self.ese else 0)

    # --- output functions ------------------------------------------------------------
    def tsp_print(self, *values: Any) -> None:
        self._output.append("\t".join(self.format.text(v) for v in values))

    def tsp_printnumber(self, *values: Any) -> None:
        self._output.append(", ".join(self.format.text(number(v, "printnumber")) for v in values))

    def tsp_printbuffer(self, start: Any, end: Any, *tables: Any) -> None:
        if not tables:
            raise TspRuntimeError("bad argument (printbuffer): table or reading buffer expected")
        columns = [self.column(t) for t in tables]
        first = max(1, int(number(start, "printbuffer start")))
        last = min([int(number(end, "printbuffer end"))] + [len(c) for c in columns])
        if last < first:
            return
        self._output.append(", ".join(self.format.text(c[i - 1]) for i in range(first, last + 1) for c in columns))

    def column(self, table: Any) -> list[Any]:
        """The values printbuffer() prints for a Lua array or a reading buffer (sub)table."""
        inner = self.unwrap(table)
        if isinstance(inner, TspObject):
            values = getattr(inner, "_tsp_values", None)
            if values is None:
                raise TspRuntimeError("bad argument (printbuffer): not a reading buffer")
            return values()
        return self.values(inner, "printbuffer")

    def tsp_exit(self) -> None:
        raise TspExit()


def _where(message: str, lua_quotes: bool = True) -> str:
    """``chunk:N: text`` (Lua's form) → ``line N: text`` with the firmware's `` `x' `` quotes."""
    match = _LOCATION.match(message)
    text = match.group("message") if match else message
    if lua_quotes:
        text = _LUA_QUOTE.sub(r"`\1'", text)
    line = match.group("line") if match else "0"
    return f"line {line}: {text}"
