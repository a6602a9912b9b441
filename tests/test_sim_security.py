"""The simulated 2600B's TSP interpreter is a sandbox: Lua reaches the instrument, nothing else.

Each test is one escape attempt. An attempt that worked would print ``ESCAPED`` or create the
marker file; every one must end as a TSP error in the instrument's queue (or a nil) instead.
"""
import time

import lupa.lua51 as lua
import pytest

from labsuite.simulator.instruments.tsp import TspObject
from labsuite.simulator.station import SimulatedStation

IMPORT_OS = '["__builtins__"]["__import__"]("os").system("touch {marker}")'


@pytest.fixture
def sim():
    return SimulatedStation(seed=1, smu="keithley2600").instruments["smu"]


@pytest.fixture
def marker(tmp_path):
    return tmp_path / "escaped"


def errors(sim) -> list[str]:
    found = []
    while (entry := sim.process("print(errorqueue.next())")) and not entry.startswith("0.00000e+00\tQueue"):
        found.append(entry)
    return found


def run(sim, marker, chunk: str) -> tuple[str | None, list[str]]:
    reply = sim.process(chunk.replace("{marker}", str(marker)))
    assert not marker.exists(), "Lua ran a host command"
    assert reply is None or "ESCAPED" not in reply
    return reply, errors(sim)


@pytest.mark.parametrize("chunk", [
    # the escape found on main: the proxy's hidden Python object and its function globals
    'local o = rawget(smua, "__tsp") print(o.__class__.__init__.__globals__' + IMPORT_OS + ')',
    'print(smua.__class__)',
    'print(smua.reset.__func__.__globals__' + IMPORT_OS + ')',
    'print(print.__globals__' + IMPORT_OS + ')',
    'print(delay.__self__)',
    'print(smua._instrument)',
    'print(smua.source._smu)',
    'print(smua.trigger.__getattr__)',
    'print(python.builtins.open)',
    'print(python.eval("1"))',
])
def test_no_python_attribute_is_reachable(sim, marker, chunk):
    reply, queued = run(sim, marker, chunk)
    assert reply in (None, "nil") and all(" -286" in e or "TSP" in e for e in queued)


def test_proxies_hide_their_metatable_and_refuse_raw_access(sim, marker):
    reply, queued = run(sim, marker, 'print(type(smua), getmetatable(smua), rawget(_G, "smua"))')
    assert reply == "userdata\tTSP object\tnil"
    for chunk in ('rawget(smua, "__tsp")', 'rawset(smua, "x", 1)', 'setmetatable(smua, {})',
                  'for k, v in pairs(smua) do print("ESCAPED") end', 'for k, v in pairs(smua.source) do end',
                  'getmetatable(smua).__index = nil'):
        reply, queued = run(sim, marker, chunk)
        assert reply is None and len(queued) == 1 and "TSP Runtime error at line 1" in queued[0], chunk


def test_the_debug_upvalues_of_the_bridge_are_out_of_reach(sim, marker):
    _, queued = run(sim, marker, 'local n, get = debug.getupvalue(getmetatable(smua).__index, 1) '
                    'print(get.__globals__' + IMPORT_OS + ')')
    assert len(queued) == 1 and "debug" in queued[0]


@pytest.mark.parametrize("name", ["io", "os.execute", "os.remove", "os.exit", "os.getenv", "debug", "package",
                                  "require", "dofile", "loadfile", "module", "getfenv", "setfenv", "newproxy",
                                  "python", "string.dump", "__tsp_wrap", "__tsp_run", "__tsp_compile"])
def test_host_and_environment_functions_are_gone(sim, marker, name):
    reply, _ = run(sim, marker, f"print({name} == nil)")
    assert reply == "true"


def test_precompiled_bytecode_is_refused(sim, marker):
    reply, _ = run(sim, marker, r'print(loadstring("\27LuaQ\0\1\4\8\4\8\0"))')
    assert reply.startswith("nil\tbinary chunks are not loaded")
    reply, _ = run(sim, marker, r'local sent = false '
                   r'print(load(function() if sent then return nil end sent = true return "\27LuaQ" end))')
    assert reply.startswith("nil\tbinary chunks are not loaded")
    reply, _ = run(sim, marker, 'print(loadstring("return 1 + 1")(), load(function() return nil end))')
    assert reply.startswith("2.00000e+00\tfunction")


def test_the_string_metatable_offers_no_dump(sim, marker):
    reply, _ = run(sim, marker, 'print(getmetatable("").__index.dump, ("x").dump)')
    assert reply == "nil\tnil"


def test_error_objects_are_strings(sim, marker):
    """A failing instrument call gives Lua a message, never the Python exception."""
    reply, _ = run(sim, marker, 'local ok, e = pcall(function() smua.source.levelv = "x" end) print(ok, type(e), e)')
    assert reply == "false\tstring\ttsp:1: bad argument (levelv): number expected, got string"
    reply, _ = run(sim, marker, 'local ok, e = pcall(delay) print(ok, type(e), e)')
    assert reply == "false\tstring\ttsp:1: bad argument #1 to `delay' (value expected)"
    reply, _ = run(sim, marker, 'local ok, e = pcall(smua.measure.i, 1, 2, 3) print(ok, type(e))')
    assert reply == "false\tstring"


def test_coroutines_gsub_callbacks_and_tostring_see_only_lua_values(sim, marker):
    reply, queued = run(sim, marker, 'print(coroutine.wrap(function() return rawget(smua, "__tsp") end)())')
    assert reply is None and "table expected, got userdata" in queued[0]
    reply, _ = run(sim, marker, 'print((string.gsub("a", "a", function() return tostring(smua) end)))')
    assert reply.startswith("userdata: 0x")
    reply, queued = run(sim, marker, 'print(string.format("%s", smua))')
    assert reply is None and "string expected, got userdata" in queued[0]
    reply, _ = run(sim, marker, 'print(smua)')
    assert reply.startswith("userdata: 0x") and "object at" not in reply


def test_a_gc_metamethod_runs_nothing_outside(sim, marker):
    run(sim, marker, 'setmetatable({}, {__gc = function() print("ESCAPED") end}) collectgarbage()')
    sim.lua.gccollect()
    assert sim.process("print(1)") == "1.00000e+00"


def test_the_instrument_tree_cannot_be_replaced(sim, marker):
    _, queued = run(sim, marker, "smua = nil")
    assert "read-only variable `smua'" in queued[0]
    _, queued = run(sim, marker, "smua.source = 5")
    assert "read-only field `source'" in queued[0]
    _, queued = run(sim, marker, "setmetatable(_G, nil)")
    assert "protected metatable" in queued[0]
    reply, _ = run(sim, marker, "print(smua.source.levelv)")
    assert reply == "0.00000e+00"


def test_no_python_object_is_reachable_by_walking_the_tree(sim):
    """Every value Lua can read from the globals and from every instrument object, recursively,
    is a Lua value: lupa hands a Python object back to Python as itself, so any would show."""
    read = sim.lua.eval("function(o, k) return o[k] end")
    seen: set[int] = set()

    def walk(value, depth):
        kind = lua.lua_type(value)
        assert value is None or isinstance(value, (bool, int, float, str)) or kind is not None, value
        if kind == "table" and id(value) not in seen and depth < 6:
            seen.add(id(value))
            for key in list(value.keys()):
                walk(value[key], depth + 1)
        if kind == "userdata" and depth < 8:
            inner = sim.unwrap(value)
            assert isinstance(inner, TspObject)
            if id(inner) in seen:
                return
            seen.add(id(inner))
            names = [n for n in dir(type(inner)) + list(vars(inner)) if not n.startswith("_")]
            for name in names:
                walk(read(value, name), depth + 1)
            for index in (1, 2):
                walk(read(value, index), depth + 1)

    sim.process("smua.nvbuffer1.clear() smua.measure.i(smua.nvbuffer1)")
    walk(sim.lua.globals(), 0)
    for name in ("smua", "smub", "trigger", "status", "localnode", "display", "timer", "format", "errorqueue",
                 "script", "print", "delay", "reset", "node"):
        walk(sim.lua.eval(name), 0)
    assert len(seen) > 40


def test_deep_recursion_ends_in_a_stack_overflow_error(sim, marker):
    _, queued = run(sim, marker, "local function f(n) return 1 + f(n + 1) end f(1)")
    assert "stack overflow" in queued[0]
    # Lua and Python calling each other through a metamethod
    _, queued = run(sim, marker, "local t t = setmetatable({}, {__index = function() "
                    "smua.trigger.source.listv(t) end}) rawset(t, 1, 0) t[2] = nil "
                    "setmetatable(t, {__index = function() smua.trigger.source.listv(t) return 1 end}) "
                    "smua.trigger.source.listv(setmetatable({1, 2}, {__index = function(_, i) "
                    "smua.trigger.source.listv(t) end}))")
    assert sim.process("print(1)") == "1.00000e+00"


def test_a_looping_error_handler_or_tostring_is_stopped_by_the_budget(sim, marker):
    sim.run_control.instructions = 2_000_000
    start = time.monotonic()
    _, queued = run(sim, marker, "xpcall(function() error('x') end, function() while true do end end)")
    _, queued2 = run(sim, marker, "print(setmetatable({}, {__tostring = function() while true do end end}))")
    _, queued3 = run(sim, marker, "while true do pcall(function() while true do end end) end")
    assert time.monotonic() - start < 10
    for q in (queued, queued2, queued3):
        assert len(q) == 1 and "budget of 2000000 Lua instructions" in q[0], q
    assert sim.process("print(1)") == "1.00000e+00"


def test_a_chunk_cannot_pose_as_the_sandbox_to_dodge_the_budget(sim, marker):
    sim.run_control.instructions = 1_000_000
    _, queued = run(sim, marker, 'loadstring("while true do end", "=[sandbox]")()')
    assert "budget" in queued[0]


@pytest.mark.parametrize("pathological, legitimate, reply", [
    # backtracking star patterns, in string.find and in a method call
    (('print(string.find(string.rep("a", 100000), "a*a*a*b"))',
      'local s = string.rep("a", 100000) print(s:match(".-.-.-b"))'),
     'print(string.find("abc", "b+"), string.find(string.rep("a", 1e5), "a*", 1, true))', "2.00000e+00\tnil"),
    # `?` backtracks too: a?^n a^n on a^n takes 2^n steps in the uninterruptible C matcher
    (('local s = string.rep("a", 40) print(string.find(s, string.rep("a?", 40) .. s))',),
     'print(string.find("color colour", "colou?r", 2))', "7.00000e+00\t1.20000e+01"),
    # string.gfind, the old name of gmatch, is guarded too
    (('for m in string.gfind(string.rep("a", 100000), "a*a*a*b") do end',),
     'for w in string.gfind("ab cd", "%a+") do print(w) end', "ab\ncd"),
], ids=["star", "optional", "gfind"])
def test_pathological_patterns_are_refused_and_plain_ones_still_match(sim, marker, pathological, legitimate, reply):
    start = time.monotonic()
    queued = [run(sim, marker, chunk)[1] for chunk in pathological]
    assert time.monotonic() - start < 5
    assert all("pattern too complex" in q[0] for q in queued)
    assert run(sim, marker, legitimate)[0] == reply


def test_string_rep_of_nothing_returns_at_once(sim, marker):
    start = time.monotonic()
    reply, _ = run(sim, marker, 'print(#string.rep("", 1e15))')
    assert reply == "0.00000e+00" and time.monotonic() - start < 1


def test_objects_lua_dropped_are_forgotten(sim, marker):
    """Dynamic buffers made in a loop do not pile up on the Python side."""
    run(sim, marker, "for i = 1, 5000 do local b = smua.makebuffer(10) b.appendmode = 1 end")
    assert len(sim._objects) < 2500
    reply, _ = run(sim, marker, "b = smua.makebuffer(5) smua.measure.i(b) print(b.n, smua.nvbuffer1.capacity)")
    assert reply == "1.00000e+00\t6.00000e+04"


def test_stored_scripts_are_bounded(sim, marker, monkeypatch):
    import labsuite.simulator.instruments.tsp as tsp
    monkeypatch.setattr(tsp, "MAX_SCRIPT", 1000)
    for name in ("a", "b"):
        sim.process(f"loadscript {name}")
        sim.process("x = '" + "y" * 600 + "'")
        sim.process("endscript")
    assert "script memory full" in errors(sim)[0]
    assert sim.process("print(a ~= nil, b == nil)") == "true\ttrue"


@pytest.mark.parametrize("chunk", [
    "coroutine.wrap(function() while true do end end)()",
    "while true do pcall(coroutine.wrap(function() while true do end end)) end",
    "local t = {} for i = 1, 100 do t[i] = i end table.sort(t, function(a, b) while true do end end)",
    'string.gsub("abc", ".", function() while true do end end)',
    "local t = {1} setmetatable(t, {__index = function(_, i) while true do end end}) "
    "smua.trigger.source.listv(setmetatable({}, {__index = function() while true do end end, "
    "__len = function() return 3 end}))",
    "for i = 1, math.huge do local s = tostring(i) end",
])
def test_every_way_of_looping_ends_at_the_budget(sim, marker, chunk):
    sim.run_control.instructions = 2_000_000
    start = time.monotonic()
    _, queued = run(sim, marker, chunk)
    assert time.monotonic() - start < 5
    assert len(queued) <= 1 and all("budget" in q or "table expected" in q for q in queued), queued
    assert sim.process("print(1)") == "1.00000e+00"


@pytest.mark.parametrize("chunk, message", [
    ("local t = setmetatable({}, {__index = function(t, k) return t[k] end}) local x = t.a", "stack overflow"),
    ('collectgarbage("stop") local t = {} for i = 1, 1e8 do t[i] = tostring(i) end', "not enough memory"),
    ('print(load(function() return "x = 1 " end))', "not enough memory"),
    ("error(setmetatable({}, {__tostring = function() while true do end end}))", "(error object is a table value)"),
])
def test_recursion_memory_and_odd_errors_end_as_tsp_errors(sim, marker, chunk, message):
    sim.run_control.instructions = 50_000_000
    _, queued = run(sim, marker, chunk)
    assert len(queued) == 1 and message in queued[0], queued
    sim.process("collectgarbage('restart')")
    assert sim.process("print(1)") == "1.00000e+00"


def test_odd_keys_and_texts_cross_the_bridge_as_lua_strings(sim, marker):
    _, queued = run(sim, marker, "smua[{}] = 1")
    assert "read-only field `?'" in queued[0] and "Lua table" not in queued[0]
    reply, _ = run(sim, marker, "localnode.description = '\\181\\255' print(localnode.description, smua[print])")
    assert reply == "\xb5\xff\tnil"
