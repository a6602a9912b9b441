"""TSP (Test Script Processor) command interface for simulated Keithley instruments.

TSP instruments are programmed in Lua: every message line is a Lua chunk run on the instrument,
``print()`` puts a reply in the output queue, and instrument settings are attributes of tables
(``smua.source.levelv = 1``). This module runs real Lua (``lupa``'s Lua 5.1, the release closest
to the Lua 5.0 of TSP firmware: ``table.getn`` and the ``x = y`` / ``f()`` syntax are the same)
and gives a simulated instrument what the Series 2600B Reference Manual (2600BS-901-01 Rev. F,
"Instrument programming" and section 9 "TSP command reference") describes:

- ``print()`` (arguments separated by tabs), ``printnumber()`` and ``printbuffer()`` (values
  separated by ``", "``), numbers as ``%e`` with ``format.asciiprecision`` digits (default 6:
  ``0.00000e+00``); with ``format.data`` REAL32/REAL64, ``printnumber()`` and ``printbuffer()``
  write ``#0`` and the IEEE-754 values in ``format.byteorder`` instead (section 9 ``format.data``:
  "the response message starts with #0 and ends with a new line"); the reply's characters are
  its bytes (Latin-1), as the transports send them;
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

TSP objects are Python classes deriving :class:`TspObject`: Lua sees each as a userdata proxy
whose fields read and write the object's public attributes (properties with setters are
writable, plain methods are TSP functions, child objects are nested proxies, ``_tsp_item``
answers numeric indices). A setting refused by the instrument queues an error and leaves the
value unchanged, without stopping the script; a :class:`TspRuntimeError` stops the chunk as a
Lua error does. The error queue holds 32 entries here; the manual's capacity was not found.

The interpreter is a sandbox (see "Security and bounds" in docs/simulator.md): a proxy names
its object by an integer handle, so no Python object ever reaches Lua, and lupa's attribute
handlers refuse every Python attribute besides; host, bytecode and environment functions are
gone; the instrument's globals are read-only; a count hook stops a script on ``abort`` or past
its instruction or time budget (:mod:`labsuite.simulator.run_control`); Lua memory is capped.
"""
from __future__ import annotations

import functools
import inspect
import math
import numbers
import re
import struct
from collections import deque
from typing import Any, Callable

import lupa.lua51 as lua

from labsuite.simulator.pacing import Sequenced
from labsuite.simulator.run_control import LUA_MEMORY, Interrupted, RunControl

QUEUE_EMPTY = (0, "Queue Is Empty", 0)
SEVERITY_RECOVERABLE = 20             # errorqueue.next() severity of a user error
ERROR_QUEUE_SIZE = 32
MAX_OUTPUT = 16 << 20                 # bytes one message may print (simulator bound)
MAX_SCRIPT = 16 << 20                 # bytes of script text, one being loaded or all stored (simulator bound)
ESR_OPC, ESR_QYE, ESR_DDE, ESR_EXE, ESR_CME = 1, 4, 8, 16, 32   # standard event status bits
STB_EAV, STB_ESB = 4, 32                                         # status byte: error available, event summary

# Lua side of the sandbox. Lua never holds a Python object: an instrument object is a userdata
# proxy that names it by an integer handle; its fields and functions go through ``get``/``set``/
# ``call``, which answer a status (OK, ERR, EXITED, STOPPED, METHOD) and plain values. The count
# hook stops a script that was aborted or is over its budget. Everything here is local: the
# chunk returns the functions Python needs, and user code cannot reach them.
_SANDBOX = "=[sandbox]"
_OK, _ERR, _EXITED, _STOPPED, _METHOD, _RAISE = range(6)
SWEEP_OBJECTS = 1024             # objects known to Lua before the ones it dropped are forgotten
HOOK_INSTRUCTIONS = 10_000        # Lua instructions between two checks of the abort flag and budget
PATTERN_STEPS = 100_000_000       # bound on (length + 1)^(quantifiers + 1) of string.find/match/gmatch/gsub

_BOOTSTRAP = r"""
local get, set, call, poll, SANDBOX, hook_count, pattern_steps = ...
local OK, ERR, EXITED, STOPPED, METHOD, RAISE = 0, 1, 2, 3, 4, 5
local type, tostring, error, rawequal, select = type, tostring, error, rawequal, select
local setmetatable, getmetatable, newproxy, loadstring, xpcall = setmetatable, getmetatable, newproxy, loadstring, xpcall
local getinfo, sethook = debug.getinfo, debug.sethook
local byte, strlen, strfind, strrep, concat = string.byte, string.len, string.find, string.rep, table.concat
local floor, rawset, G = math.floor, rawset, _G

local STOP, EXIT = {}, {}
local stopped = false

local function where(first)
  for level = first, 60 do
    local info = getinfo(level, "Sl")
    if info == nil then break end
    if info.what ~= "C" and info.source ~= SANDBOX and info.currentline > 0 then
      return info.short_src .. ":" .. info.currentline .. ": "
    end
  end
  return "?:0: "
end

local stop_where = "?:0: "
local hook
hook = function()
  if not stopped then
    if not poll() then return end
    stopped = true
    stop_where = where(2)
    sethook(hook, "", 1)
  end
  local info = getinfo(2, "S")
  if info == nil or info.source ~= SANDBOX then error(STOP, 0) end
end

local function stop()
  if not stopped then stopped = true; stop_where = where(3) end
  sethook(hook, "", 1)
  error(STOP, 0)
end

local function result(status, ...)
  if status == OK then return ... end
  if status == ERR then error(where(3) .. tostring((...)), 0) end
  if status == RAISE then error(tostring((...)), 0) end
  if status == EXITED then error(EXIT, 0) end
  stop()
end

-- instrument objects: a userdata per handle, its metatable out of reach
local handles = setmetatable({}, {__mode = "k"})
local proxies = setmetatable({}, {__mode = "v"})

local function wrap(h, callable)
  local p = newproxy(true)
  local mt = getmetatable(p)
  local methods = {}
  local function index(_, k)
    local kind, v = get(h, k)
    if kind == OK then return v end
    if kind == METHOD then
      local f = methods[k]
      if f == nil then
        f = function(...) return result(call(h, k, ...)) end
        methods[k] = f
      end
      return f
    end
    return result(kind, v)
  end
  mt.__index = index
  mt.__newindex = function(_, k, v) result(set(h, k, v)) end
  if callable then mt.__call = function(self, ...) return index(self, "run")(...) end end
  mt.__metatable = "TSP object"
  handles[p] = h
  proxies[h] = p
  return p
end

local function proxy(h) return proxies[h] end
local function live()
  local t, n = {}, 0
  for h in pairs(proxies) do n = n + 1; t[n] = h end
  return t
end
local function handle(v) if type(v) == "userdata" then return handles[v] end return nil end
local function func(h) return function(...) return result(call(h, nil, ...)) end end

-- scripts are text: no precompiled (binary) chunks, and no chunk may pose as this one
local function text_only(chunk, name)
  if type(chunk) == "string" and byte(chunk, 1) == 27 then return nil, "binary chunks are not loaded" end
  if rawequal(name, SANDBOX) then name = "=?" end
  return loadstring(chunk, name)
end
local function load(reader, name)
  if type(reader) == "string" then return text_only(reader, name) end
  local parts, n = {}, 0
  while true do
    local piece = reader()
    if piece == nil or piece == "" then break end
    if type(piece) ~= "string" then return nil, "reader function must return a string" end
    n = n + 1
    parts[n] = piece
  end
  return text_only(concat(parts), name)
end
local function compile(source, name)
  local f, e = text_only(source, "=" .. name)
  return f, e
end

-- the C pattern matcher cannot be interrupted: refuse what could backtrack for too long
local function guarded(f, plain_arg)
  return function(s, pattern, ...)
    if (type(s) == "string" or type(s) == "number") and (type(pattern) == "string" or type(pattern) == "number")
       and not (plain_arg and select(plain_arg, ...)) then
      local p, q, i = tostring(pattern), 0, 1
      while true do
        local at = strfind(p, "[%*%+%-%?]", i)
        if at == nil then break end
        q, i = q + 1, at + 1
      end
      if q > 0 and (strlen(tostring(s)) + 1) ^ (q + 1) > pattern_steps then
        error(where(2) .. "pattern too complex for a subject of " .. strlen(tostring(s)) ..
              " characters (simulator bound)", 0)
      end
    end
    return f(s, pattern, ...)
  end
end
local function rep(s, n, ...)
  if type(s) == "string" and strlen(s) == 0 and type(n) == "number" then return "" end
  return strrep(s, n, ...)
end

local function handler(e)
  if rawequal(e, STOP) or rawequal(e, EXIT) or type(e) == "string" then return e end
  if type(e) == "number" then return tostring(e) end
  return "(error object is a " .. type(e) .. " value)"
end

local function run(f)
  local ok, e = xpcall(f, handler)
  if ok then return OK, nil end
  if stopped or rawequal(e, STOP) then return STOPPED, stop_where end
  if rawequal(e, EXIT) then return EXITED, nil end
  return ERR, handler(e)
end

local function rearm()
  stopped = false
  sethook(hook, "", hook_count)
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

-- the instrument's names are read-only globals
local protected = {}
local function protect(name, value)
  rawset(G, name, nil)
  protected[name] = value
end
setmetatable(G, {
  __index = protected,
  __newindex = function(t, k, v)
    if protected[k] ~= nil then error(where(3) .. "attempt to assign to read-only variable `" .. tostring(k) .. "'", 0) end
    rawset(t, k, v)
  end,
  __metatable = "TSP globals"})

-- what instrument scripts may use: no host access, no bytecode, no environments, no userdata
string.dump = nil
string.find, string.match = guarded(string.find, 2), guarded(string.match)
string.gmatch, string.gsub = guarded(string.gmatch), guarded(string.gsub)
string.gfind = string.gmatch   -- Lua 5.0's name for gmatch: the same guard
string.rep = rep
G.loadstring, G.load = text_only, load
-- Lua 5.1 keeps a hook function per thread: a coroutine's body first sets it for itself
local cocreate, coresume = coroutine.create, coroutine.resume
local function create(f)
  if type(f) ~= "function" then return cocreate(f) end
  return cocreate(function(...)
    sethook(hook, "", stopped and 1 or hook_count)
    return f(...)
  end)
end
local function resumed(ok, ...)
  if ok then return ... end
  error((...), 0)
end
coroutine.create = create
coroutine.wrap = function(f)
  local co = create(f)
  return function(...) return resumed(coresume(co, ...)) end
end
-- an error raised by the hook runs the message handler with hooks off: a stopped script's
-- handler is skipped, or it could loop unchecked
G.xpcall = function(f, h)
  return xpcall(f, function(e)
    if stopped or rawequal(e, STOP) then return e end
    return h(e)
  end)
end
for _, name in ipairs({"io", "dofile", "loadfile", "require", "package", "module", "debug", "python",
                       "getfenv", "setfenv", "newproxy"}) do
  rawset(G, name, nil)
end
os = {time = os.time, date = os.date, clock = os.clock, difftime = os.difftime}
sethook(hook, "", hook_count)
return {wrap = wrap, proxy = proxy, handle = handle, func = func, compile = compile, run = run,
        rearm = rearm, protect = protect, show = tostring, live = live}
"""

_LOCATION = re.compile(r"^(?P<chunk>[^:\n]*):(?P<line>\d+): (?P<message>.*)$", re.DOTALL)
_LUA_QUOTE = re.compile(r"'([^'\n]*)'")
_PUBLIC = re.compile(r"[A-Za-z][A-Za-z0-9_]*")   # the names Lua may read on an instrument object


def _text(text: str) -> str:
    """``text`` as the sandbox's Lua strings hold it: bytes, here Latin-1 (others become ?)."""
    return text.encode("latin-1", errors="replace").decode("latin-1")


def _no_attribute(obj: Any, name: Any, value: Any = None) -> None:
    """lupa's attribute handlers: no Python attribute is reachable from Lua."""
    raise AttributeError("not reachable from TSP")


@functools.lru_cache(maxsize=None)
def _parameters(function: Callable[..., Any]) -> tuple[int, int | None]:
    """(fewest, most) positional arguments of ``function``; most is None with ``*args``."""
    fewest, most = 0, 0
    for parameter in inspect.signature(function).parameters.values():
        if parameter.kind is parameter.VAR_POSITIONAL:
            most = None
        elif parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD):
            most = None if most is None else most + 1
            fewest += parameter.default is parameter.empty
    return fewest, most


def _arity(function: Callable[..., Any], label: str, count: int) -> str | None:
    """Lua's message for a call of ``function`` with ``count`` arguments it does not take, or None."""
    underlying = getattr(function, "__func__", None)
    fewest, most = _parameters(underlying or function)
    if underlying is not None:   # a bound method: self is given
        fewest, most = fewest - 1, None if most is None else most - 1
    if count < fewest:
        return f"bad argument #{count + 1} to `{label}' (value expected)"
    if most is not None and count > most:
        return f"wrong number of arguments to `{label}'"
    return None


class TspRuntimeError(Exception):
    """An instrument function refuses to go on: the running chunk stops with error -286."""


class TspExit(Exception):
    """``exit()``: the running script stops here, without an error."""


class TspObject:
    """A TSP object; Lua sees a proxy whose fields are this object's public attributes."""

    _tsp_callable = False

    def _tsp_item(self, index: int) -> Any:
        """The value at a numeric index (``obj[3]``); None (nil) by default."""
        return None


def attribute(field: str, take: Callable[[Any, Any], Any], reply: Callable[[Any], Any] | None = None,
              then: Callable[[Any], None] | None = None) -> property:
    """A TSP attribute declared once, held in the object's ``field``: assigning runs
    ``take(obj, value)``, which gives the value to keep, or None to keep the old one (having
    queued the error); ``then(obj)`` runs after a value is kept. Reading gives ``reply(value)``
    (the value itself without ``reply``)."""
    def get(obj: Any) -> Any:
        value = getattr(obj, field)
        return reply(value) if reply else value

    def assign(obj: Any, value: Any) -> None:
        kept = take(obj, value)
        if kept is not None:
            setattr(obj, field, kept)
            if then:
                then(obj)
    return property(get, assign)


def ranged(field: str, what: str, limits: Callable[[Any], tuple[float, float]], *, auto: float | None = None,
           keep: Callable[[float], Any] = float, then: Callable[[Any], None] | None = None) -> property:
    """A number attribute held in ``field``: a value within ``limits(obj)``, or ``auto`` (a value
    the manual gives a meaning of its own, such as ``LIMIT_AUTO``), is kept as ``keep`` gives it;
    outside, the object's ``_instrument`` queues the error (:meth:`TspInstrument.within`) and it
    is not kept. ``what`` names the attribute in a type error; ``then`` as for :func:`attribute`."""
    def take(obj: Any, value: Any) -> Any:
        x = number(value, what)
        return keep(x) if x == auto or obj._instrument.within(x, *limits(obj)) else None
    return attribute(field, take, then=then)


def integer(field: str, what: str) -> property:
    """A number attribute held as an integer in ``field`` (an event ID, a byte order)."""
    return attribute(field, lambda obj, value: int(number(value, what)))


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
    return lua.lua_type(value) or "userdata"   # table, function, userdata (a TSP object), thread


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
    """``format``: how print(), printnumber() and printbuffer() write numbers."""

    ASCII, REAL32, REAL64, REAL = 1, 2, 3, 3
    NORMAL, SWAPPED, BIGENDIAN, LITTLEENDIAN, NETWORK = 0, 1, 0, 1, 0

    def __init__(self, instrument: TspInstrument) -> None:
        self._instrument = instrument
        self.reset()

    def reset(self) -> None:
        self._precision = 6
        self._byteorder = self.LITTLEENDIAN
        self._data = self.ASCII

    asciiprecision = ranged("_precision", "format.asciiprecision", lambda fmt: (1, 16), keep=int)

    data = ranged("_data", "format.data", lambda fmt: (fmt.ASCII, fmt.REAL64), keep=int)

    def values(self, values: list[Any], what: str) -> str:
        """Values as printnumber() and printbuffer() write them: ``", "``-separated text, or
        ``#0`` and the binary numbers (as Latin-1 characters) in the binary formats."""
        if self._data == self.ASCII:
            return ", ".join(self.text(v) for v in values)
        order = ">" if self._byteorder == self.NORMAL else "<"
        code = "f" if self._data == self.REAL32 else "d"
        packed = struct.pack(f"{order}{len(values)}{code}", *(number(v, what) for v in values))
        return "#0" + packed.decode("latin-1")

    byteorder = integer("_byteorder", "format.byteorder")

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
        return self._instrument._sandbox.show(value)   # Lua's tostring: "table: 0x...", "userdata: 0x..."


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


class TspInstrument(Sequenced):
    """A simulated instrument programmed in TSP: one Lua chunk per message line."""

    idn: str

    def __init__(self) -> None:
        self.errors = TspErrorQueue()
        self.esr = self.ese = self.sre = 0
        self.scripts: dict[str, Script] = {}
        self.anonymous: Script | None = None
        self._collecting: tuple[str, str, list[str]] | None = None   # (keyword, name, lines)
        self._output: list[str] = []
        self.run_control = RunControl()
        self.format = Format(self)
        self.new_environment()

    # --- the Lua sandbox ---------------------------------------------------------------
    def new_environment(self) -> None:
        """A fresh Lua state (power-on): no scripts, no user globals."""
        self.lua = lua.LuaRuntime(unpack_returned_tuples=True, register_eval=False, register_builtins=False,
                                  encoding="latin-1", max_memory=LUA_MEMORY,
                                  attribute_handlers=(_no_attribute, _no_attribute))
        self._objects: dict[int, Any] = {}        # handle -> TSP object or function
        self._handles: dict[int, int] = {}        # id(object) -> its handle
        self._names: dict[int, str] = {}          # handle of a global function -> its name
        self._next_handle = 0
        self._instructions = 0
        self._fault: BaseException | None = None   # a simulator bug met while a chunk ran
        self._protected: set[str] = set()         # read-only global names
        self._output_size = self._collected = 0
        self.scripts.clear()
        self.anonymous = None
        self._collecting = None
        bootstrap = self.lua.globals().loadstring(_BOOTSTRAP, _SANDBOX)   # named so the hook knows its frames
        self._sandbox = bootstrap(self._get, self._set, self._call, self._poll,
                                  _SANDBOX, HOOK_INSTRUCTIONS, PATTERN_STEPS)
        self._sweep_at = SWEEP_OBJECTS
        self.install({"print": self.tsp_print, "printnumber": self.tsp_printnumber,
                      "printbuffer": self.tsp_printbuffer, "format": self.format,
                      "errorqueue": ErrorQueueObject(self), "script": ScriptObject(self),
                      "opc": self.opc, "exit": self.tsp_exit})

    def install(self, names: dict[str, Any]) -> None:
        """Make ``names`` read-only globals in Lua (TSP objects become proxies, callables functions)."""
        for name, value in names.items():
            if callable(value) and not isinstance(value, TspObject):
                handle = self._register(value)
                self._names[handle] = name
                self._sandbox.protect(name, self._sandbox.func(handle))
            else:
                self._sandbox.protect(name, self.to_lua(value))
            self._protected.add(name)

    def _register(self, value: Any) -> int:
        if len(self._objects) >= self._sweep_at:
            self._sweep()
        self._next_handle += 1
        self._objects[self._next_handle] = value
        self._handles[id(value)] = self._next_handle
        return self._next_handle

    def to_lua(self, value: Any) -> Any:
        """A Python value as Lua may see it: TSP objects as proxies, dicts and lists as tables,
        numbers, strings, booleans and Lua's own values; anything else is nil."""
        if value is None or isinstance(value, (bool, int, float)):
            return value
        if isinstance(value, str):
            return _text(value)
        if isinstance(value, TspObject):
            handle = self._handles.get(id(value))
            proxy = None if handle is None else self._sandbox.proxy(handle)
            if proxy is None:
                proxy = self._sandbox.wrap(self._register(value), value._tsp_callable)
            return proxy
        if isinstance(value, numbers.Integral):
            return int(value)
        if isinstance(value, numbers.Real):
            return float(value)
        if isinstance(value, dict):
            return self.lua.table_from({k: self.to_lua(v) for k, v in value.items() if isinstance(k, (str, int))})
        if isinstance(value, (list, tuple)):
            return self.lua.table_from([self.to_lua(v) for v in value])
        if lua.lua_type(value) is not None:   # a Lua table or function (a script's chunk)
            return value
        return None

    # the four functions the sandbox calls
    def _get(self, handle: int, key: Any) -> tuple[int, Any]:
        obj = self._objects.get(handle)
        try:
            if isinstance(key, str):
                if obj is None or not _PUBLIC.fullmatch(key):
                    return _OK, None
                value = getattr(obj, key, None)
                if callable(value) and not isinstance(value, TspObject) and lua.lua_type(value) is None:
                    return _METHOD, None
                return _OK, self.to_lua(value)
            if isinstance(key, (int, float)) and not isinstance(key, bool) and math.isfinite(key) and obj is not None:
                return _OK, self.to_lua(obj._tsp_item(int(key)))
            return _OK, None
        except BaseException as exc:   # noqa: BLE001 (every failure becomes a Lua error)
            return self._failure(exc)

    def _set(self, handle: int, key: Any, value: Any) -> tuple[int, Any]:
        obj = self._objects.get(handle)
        public = isinstance(key, str) and _PUBLIC.fullmatch(key) is not None
        attribute = inspect.getattr_static(type(obj), key, None) if public else None
        if not isinstance(attribute, property) or attribute.fset is None:
            return _ERR, f"attempt to assign to read-only field `{key if public else '?'}'"
        try:
            attribute.fset(obj, value)
            return _OK, None
        except BaseException as exc:   # noqa: BLE001
            return self._failure(exc)

    def _call(self, handle: int, name: str | None, *args: Any) -> tuple[Any, ...]:
        target = self._objects.get(handle)
        public = name is None or (isinstance(name, str) and _PUBLIC.fullmatch(name) is not None)
        function = target if name is None else getattr(target, name, None) if public else None
        label = self._names.get(handle, "?") if name is None else name
        if not callable(function):
            return _ERR, f"attempt to call field `{label}' (a nil value)"
        problem = _arity(function, label, len(args))
        if problem:
            return _ERR, problem
        try:
            returned = function(*args)
        except BaseException as exc:   # noqa: BLE001
            return self._failure(exc)
        if isinstance(returned, tuple):
            return (_OK, *(self.to_lua(v) for v in returned))
        if returned is None:   # a function that returns nothing gives Lua no value: print(f()) prints ""
            return (_OK,)
        return _OK, self.to_lua(returned)

    def _poll(self) -> bool:
        """The count hook: True if the running chunk must stop (abort, budget)."""
        self._instructions += HOOK_INSTRUCTIONS
        if self._instructions > self.run_control.instructions:
            self.run_control.exceed(f"the script ran past the simulator's budget of "
                                    f"{self.run_control.instructions} Lua instructions")
        return self.run_control.poll()

    def _sweep(self) -> None:
        """Forget the objects whose proxies Lua has collected (the global functions stay)."""
        self.lua.gccollect()
        live = set(self._sandbox.live().values()) | set(self._names)
        for handle in [h for h in self._objects if h not in live]:
            obj = self._objects.pop(handle)
            if self._handles.get(id(obj)) == handle:
                del self._handles[id(obj)]
        self._sweep_at = max(SWEEP_OBJECTS, 2 * len(self._objects))

    def _failure(self, exc: BaseException) -> tuple[int, Any]:
        """What Lua sees of an exception raised by the instrument: a TSP error, exit(), a stop."""
        if isinstance(exc, TspRuntimeError):
            return _ERR, _text(str(exc))
        if isinstance(exc, TspExit):
            return _EXITED, None
        if isinstance(exc, Interrupted) or self.run_control.stopped is not None:
            return _STOPPED, None
        if isinstance(exc, lua.LuaError):   # Lua code the instrument ran (a metamethod) failed
            return _RAISE, _text(str(exc).split("\nstack traceback:", 1)[0]) or "not enough memory"
        if isinstance(exc, RecursionError):
            return _ERR, "stack overflow"
        if isinstance(exc, MemoryError):
            return _RAISE, "not enough memory"
        if self._fault is None:
            self._fault = exc
        return _STOPPED, None

    def unwrap(self, value: Any) -> Any:
        """The TSP object behind a proxy (or ``value`` itself)."""
        if value is not None and not isinstance(value, (bool, int, float, str)) and lua.lua_type(value) == "userdata":
            handle = self._sandbox.handle(value)
            if handle is not None:
                return self._objects.get(int(handle), value)
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
        """Execute one message line; return what it printed (lines joined), or None.

        A bug of the simulator met on the way is raised once the chunk has unwound."""
        self._output = []
        self._output_size = 0
        self._instructions = 0
        self.run_control.begin()
        try:
            self._sandbox.rearm()
            line = message.strip()
            if self._collecting is not None:
                self._collect(line)
            elif line.startswith("*"):
                self._common(line)
            elif line in ("abort", "abort()"):
                self.abort()
            else:
                words = line.split()
                if words and words[0] in ("loadscript", "loadandrunscript"):
                    self._collecting = (words[0], words[1] if len(words) > 1 else "", [])
                    self._collected = 0
                elif words:
                    self.execute(line, "tsp")
        except Interrupted as stop:   # stopped in Python code outside any chunk (*OPC?, *TRG ...)
            self._stopped(stop, "?:0: ")
        finally:
            self.run_control.end()
        fault, self._fault = self._fault, None
        if fault is not None:
            raise fault
        return "\n".join(self._output) if self._output else None

    def interrupts(self, message: str) -> bool:
        """True for ``abort``: the command interface stops a running script when it sees it."""
        return message.strip() in ("abort", "abort()")

    def abort(self) -> None:
        """``abort``: stop whatever runs (scripts stop at the interface; a subclass stops more)."""

    def internal_error(self, detail: str) -> None:
        """A fault of the simulator itself met while executing a message."""
        self.error(-286, f"TSP Runtime error at line 0: simulator fault: {detail}")

    def input_overflow(self) -> None:
        """The client sent a line longer than the input buffer; it was discarded."""
        self.error(-363, "Input buffer overrun")

    def execute(self, source: str, name: str) -> None:
        """Compile and run ``source`` as one chunk; Lua failures go to the error queue."""
        function, problem = self._sandbox.compile(source, name)
        if function is None:
            self.error(-285, "TSP Syntax error at " + _where(problem))
            return
        self.call(function)

    def call(self, function: Any) -> None:
        """Run a Lua function; a run-time error goes to the error queue as -286, a script
        stopped by its budget queues -286 too, one stopped by ``abort`` nothing."""
        status, detail = self._sandbox.run(function)
        if status == _STOPPED and self.run_control.stopped is not None:
            self._stopped(self.run_control.stopped, detail)
        elif status == _ERR:
            if "not enough memory" in detail:
                self.lua.gccollect()
            self.error(-286, "TSP Runtime error at " + _where(detail))

    def report_stop(self, stop: Interrupted) -> None:
        """A paced sequence stopped: by the budget, -286 (an abort queues nothing)."""
        self._stopped(stop, "?:0: ")

    def _stopped(self, stop: Interrupted, where: str) -> None:
        if stop.budget and not stop.reported:
            stop.reported = True
            self.error(-286, "TSP Runtime error at " + _where(where + stop.reason, lua_quotes=False))

    def _collect(self, line: str) -> None:
        keyword, name, lines = self._collecting
        if line != "endscript":
            self._collected += len(line) + 1
            if self._collected <= MAX_SCRIPT:
                lines.append(line)
            return
        self._collecting = None
        source = "\n".join(lines)
        if self._collected > MAX_SCRIPT:
            self.error(-285, f"TSP Syntax error at line 0: script longer than the simulator's {MAX_SCRIPT} bytes")
            return
        if name and (not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) or name in self._protected):
            self.error(-285, f"TSP Syntax error at line 1: invalid script name `{name}'")
            return
        function, problem = self._sandbox.compile(source, name or "anonymous")
        if function is None:
            self.error(-285, "TSP Syntax error at " + _where(problem))
            return
        stored = sum(len(s.source) for n, s in self.scripts.items() if n != name)
        if stored + len(source) > MAX_SCRIPT:
            self.error(-285, f"TSP Syntax error at line 0: script memory full (the simulator keeps {MAX_SCRIPT} bytes)")
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
                   "*STB?": lambda: str(self.status_byte()),
                   "*TST?": lambda: "0"}   # self-test passed (2600B App. D: the script equivalent prints 0)
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
        elif header in ("*ESE", "*SRE"):
            self._register_mask(header, argument.strip())
        else:
            self.execute(line, "tsp")   # not a common command: Lua makes it a syntax error

    def _register_mask(self, header: str, argument: str) -> None:
        """``*ESE n`` / ``*SRE n``: 0 to 255; -109 without, -104 for text, -222 out of range."""
        if not argument:
            self.error(-109, "Missing parameter")
        elif not re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", argument):
            self.error(-104, "Data type error")
        elif not 0 <= float(argument) <= 255:
            self.error(-222, "Parameter data out of range")
        else:
            setattr(self, header[1:].lower(), round(float(argument)))

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
    def output(self, line: str) -> None:
        """Put ``line`` in the output queue; past the simulator's bound the chunk stops."""
        self._output_size += len(line) + 1
        if self._output_size > MAX_OUTPUT:
            raise TspRuntimeError(f"output queue full (the simulator keeps {MAX_OUTPUT} bytes per message)")
        self._output.append(line)

    def tsp_print(self, *values: Any) -> None:
        self.output("\t".join(self.format.text(v) for v in values))

    def tsp_printnumber(self, *values: Any) -> None:
        self.output(self.format.values([number(v, "printnumber") for v in values], "printnumber"))

    def tsp_printbuffer(self, start: Any, end: Any, *tables: Any) -> None:
        if not tables:
            raise TspRuntimeError("bad argument (printbuffer): table or reading buffer expected")
        columns = [self.column(t) for t in tables]
        first = max(1, int(number(start, "printbuffer start")))
        last = min([int(number(end, "printbuffer end"))] + [len(c) for c in columns])
        if last < first:
            return
        self.output(self.format.values([c[i - 1] for i in range(first, last + 1) for c in columns], "printbuffer"))

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
