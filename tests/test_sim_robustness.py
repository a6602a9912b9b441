"""Served simulated instruments are bounded and never crash on bad input.

A runaway script or trigger model is stopped by an abort from another connection or by the
simulator's budget; an overlong line costs little memory; an HTTP request executes nothing; a
bad argument or a bug of the simulator queues an error and keeps the connection.
"""
import logging
import socket
import threading
import time
import tracemalloc

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labsuite import registry
from labsuite.simulator.faults import Fault, FaultInjector
from labsuite.simulator.instruments.tsp import TspInstrument
from labsuite.simulator.server import InstrumentServer
from labsuite.simulator.station import TWINS, SimulatedStation

TSP_EMPTY = "0.00000e+00\tQueue Is Empty\t0.00000e+00\t1.00000e+00"
IDN = {"keithley2450": "KEITHLEY INSTRUMENTS,MODEL 2450", "keithley2400": "KEITHLEY INSTRUMENTS INC.,MODEL 2400",
       "keysightb2900": "Keysight Technologies,B29", "keithley2600": "Keithley Instruments, Model 2602B",
       "keysight33500": "Keysight Technologies,33522B", "tektronixafg31000": "TEKTRONIX,AFG31"}


class Client:
    """A raw socket client of one served port (lines in, lines out)."""

    def __init__(self, endpoint, timeout: float = 5.0) -> None:
        self.sock = socket.create_connection(("127.0.0.1", endpoint.port), timeout=timeout)
        self.buffer = b""

    def write(self, line: str | bytes) -> None:
        self.sock.sendall((line.encode("latin-1") if isinstance(line, str) else line) + b"\n")

    def read(self) -> str:
        while b"\n" not in self.buffer:
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("closed by the server")
            self.buffer += data
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line.decode("latin-1")

    def query(self, line: str) -> str:
        self.write(line)
        return self.read()

    def closed(self) -> bool:
        """True if the server closed this connection (without sending anything)."""
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True

    def close(self) -> None:
        self.sock.close()


def serve(smu: str = "keithley2450", pulse_generator: str | None = None, seconds: float = 5.0):
    station = SimulatedStation(seed=3, smu=smu, pulse_generator=pulse_generator)
    for injector in station.faults.values():
        injector.instrument.run_control.seconds = seconds
    return station, InstrumentServer(station.served(with_control=False))


def endpoint(server, role="smu"):
    return next(e for e in server.endpoints if e.role == role)


def error_query(smu: str) -> str:
    return "print(errorqueue.next())" if smu == "keithley2600" else ":SYST:ERR?"


# --- a runaway stopped from another connection, or by the budget ----------------------------
@pytest.mark.parametrize("smu, runaway, abort", [
    ("keithley2600", "while true do end", "abort"),
    ("keithley2600", "smua.trigger.count = 1 smua.trigger.arm.stimulus = display.trigger.EVENT_ID "
                     "smua.trigger.initiate() while true do x = 1 end", "abort"),
    ("keithley2450", ":TRIG:LOAD \"Empty\";:TRIG:BLOC:DEL:CONS 1, 1e-3;:TRIG:BLOC:BRAN:ALW 2, 1;:INIT", ":ABOR"),
    ("keithley2450", ":TRIG:LOAD \"Empty\";:TRIG:BLOC:BRAN:ALW 1, 1;:INIT", ":ABORt"),
])
def test_a_runaway_is_stopped_by_an_abort_from_another_connection(smu, runaway, abort):
    station, server = serve(smu, seconds=60)
    with server:
        runner, other, bystander = (Client(endpoint(server)) for _ in range(3))
        runner.write(runaway)
        time.sleep(0.3)      # it runs
        start = time.monotonic()
        other.write(abort)
        assert other.query("*IDN?").startswith(IDN[smu])
        assert time.monotonic() - start < 2
        assert bystander.query(error_query(smu)) in (TSP_EMPTY, '0,"No error;0;0 0"')   # an abort is no error
        assert runner.query("*IDN?").startswith(IDN[smu])
        for client in (runner, other, bystander):
            client.close()


def test_the_2450s_branch_always_model_ends_at_its_budget_with_an_error():
    station, server = serve("keithley2450", seconds=0.5)
    with server:
        client = Client(endpoint(server))
        start = time.monotonic()
        client.write(':TRIG:LOAD "Empty";:TRIG:BLOC:BRAN:ALW 1, 1;:INIT')
        assert client.query(":SYST:ERR?").startswith('-200,"Execution error; the message ran past the '
                                                     "simulator's budget of 0.5 s")
        assert time.monotonic() - start < 3
        client.close()


def test_a_runaway_script_ends_at_its_instruction_budget_and_others_are_served_meanwhile():
    station, server = serve("keithley2600", pulse_generator="keysight33500", seconds=60)
    station.instruments["smu"].run_control.instructions = 20_000_000
    with server:
        runner = Client(endpoint(server))
        generator = Client(endpoint(server, "pulse_generator"))
        runner.write("local n = 0 while true do n = n + 1 end")
        assert generator.query("*IDN?").startswith(IDN["keysight33500"])
        assert runner.query("print(errorqueue.next())") == (
            "-2.86000e+02\tTSP Runtime error at line 1: the script ran past the simulator's budget of "
            "20000000 Lua instructions\t2.00000e+01\t1.00000e+00")
        runner.close()
        generator.close()


def test_a_huge_string_rep_ends_in_not_enough_memory():
    station, server = serve("keithley2600")
    with server:
        client = Client(endpoint(server))
        start = time.monotonic()
        client.write('s = string.rep("x", 1e9) print(s ~= nil)')
        assert client.query("print(errorqueue.next())") == (
            "-2.86000e+02\tTSP Runtime error at line 0: not enough memory\t2.00000e+01\t1.00000e+00")
        assert time.monotonic() - start < 5
        assert station.instruments["smu"].lua.get_memory_used() < 8 << 20
        assert client.query("print(1 + 1)") == "2.00000e+00"
        client.close()


def test_device_clear_in_process_stops_a_runaway():
    station = SimulatedStation(seed=3, smu="keithley2450")
    injector = station.faults["smu"]
    injector.instrument.run_control.seconds = 60
    done = threading.Event()
    worker = threading.Thread(target=lambda: (injector.process(':TRIG:BLOC:BRAN:ALW 1, 1;:INIT'), done.set()))
    worker.start()
    time.sleep(0.2)
    assert not done.is_set()
    injector.interrupt()     # what SimulatedVisaLibrary.clear() does
    assert done.wait(2)
    worker.join()


# --- line length and foreign protocols --------------------------------------------------------
def test_a_200_mb_unterminated_line_is_discarded_cheaply_and_the_server_goes_on():
    station, server = serve("keithley2450")
    with server:
        flood, other = Client(endpoint(server)), Client(endpoint(server))
        chunk = b"A" * (1 << 20)
        tracemalloc.start()
        start = time.monotonic()
        for _ in range(200):
            flood.sock.sendall(chunk)
        assert other.query("*IDN?").startswith(IDN["keithley2450"])   # served meanwhile
        flood.write(b"")      # the end of the overlong line
        assert flood.query(":SYST:ERR?").startswith('-363,"Input buffer overrun')
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        elapsed = time.monotonic() - start
        assert peak < 16 << 20, f"peak {peak / 1e6:.1f} MB"
        assert elapsed < 30
        assert flood.query("*IDN?").startswith(IDN["keithley2450"])
        flood.close()
        other.close()


@pytest.mark.parametrize("smu, body, probe, expected", [
    ("keithley2600", 'smua.source.levelv = 1 os.execute("touch {marker}")', "print(smua.source.levelv)",
     "0.00000e+00"),
    ("keithley2450", ":SOUR:VOLT 1", ":SOUR:VOLT?", "+0.000000E+00"),
])
@pytest.mark.parametrize("method", ["POST / HTTP/1.1", "GET /?x=1 HTTP/1.0", "PUT /x HTTP/1.1"])
def test_an_http_request_executes_nothing_and_is_closed(tmp_path, smu, body, probe, expected, method):
    marker = tmp_path / "created"
    body = body.replace("{marker}", str(marker))
    station, server = serve(smu)
    with server:
        browser = Client(endpoint(server))
        browser.sock.sendall(f"{method}\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\n"
                             f"Content-Length: {len(body) + 1}\r\n\r\n{body}\n".encode())
        assert browser.closed()
        client = Client(endpoint(server))
        value = client.query(probe)
        assert value == expected or float(value) == 0.0
        assert client.query(error_query(smu)) in (TSP_EMPTY, '0,"No error;0;0 0"')
        assert not marker.exists()
        client.close()


def test_servers_bind_to_loopback_unless_asked_otherwise():
    station, server = serve("keithley2450")
    with server:
        assert {s.getsockname()[0] for s in server._sockets} == {"127.0.0.1"}
        assert endpoint(server).resource.startswith("TCPIP0::127.0.0.1::")
    other = InstrumentServer(station.served(with_control=False), host="127.0.0.2")
    with other:
        assert {s.getsockname()[0] for s in other._sockets} == {"127.0.0.2"}
        assert endpoint(other).resource.startswith("TCPIP0::127.0.0.2::")


# --- bad arguments: the instrument's error, the link stays ------------------------------------
BAD_SCPI = {
    "keithley2450": [(":TRAC:POIN 1e999", -222), (":TRAC:POIN -5", -222), (':TRAC:MAKE "b", 1e12', -222),
                     (":TRIG:BLOC:BRAN:ALW 1, 1e999", -222), (":SOUR:VOLT 1e999", -222), (":SOUR:VOLT µ", -104),
                     (":SOUR:VOLT 1, 2, 3", -108)],
    "keithley2400": [("*ESE 1e999", -222), ("*ESE 300", -222), ("*SRE -1", -222), (":SOUR:VOLT 1e999", -222),
                     (":TRIG:COUN 1e999", -222), (":STAT:MEAS:ENAB 1e9", -222)],
    "keysightb2900": [("*ESE 1e999", -222), (":TRIG:COUN 1e999", -222), (":SOUR:VOLT 1e999", -222)],
    "keysight33500": [(":FREQ 1e999", -222), (":BURS:NCYC 1e999", -222), (":VOLT 1e999", -222)],
    "tektronixafg31000": [(":SOUR1:FREQ 1e999", -222), (":SOUR1:BURS:NCYC 1e999", -222)],
}


@pytest.mark.parametrize("role, name, line, code", [
    (role, name, line, code)
    for name, cases in BAD_SCPI.items()
    for role in (("pulse_generator",) if registry.INSTRUMENTS[name].kind == "pulse_generator" else ("smu",))
    for line, code in cases])
def test_bad_scpi_arguments_queue_the_instruments_error(role, name, line, code, capfd):
    station, server = serve(**({"pulse_generator": name} if role == "pulse_generator" else {"smu": name}))
    with server:
        client = Client(endpoint(server, role))
        client.write(line)
        error = client.query(":SYST:ERR?")
        assert int(error.split(",")[0]) == code, error
        assert client.query("*IDN?").startswith(IDN[name])
        client.close()
    assert "Traceback" not in capfd.readouterr().err


@pytest.mark.parametrize("line, message", [
    ("delay()", "bad argument #1 to `delay' (value expected)"),
    ("smua.measure.i(smua.nvbuffer1, 2, 3)", "wrong number of arguments to `i'"),
    ("smua.source.levelv = 1e999", "Parameter too big"),
    ("trigger.timer[1e999].count = 1", "attempt to index field `?' (a nil value)"),
    ("smua.measure.count = -1e999", "Parameter too small"),
    ("*ESE 1e999", "Parameter data out of range"),
    ("*SRE 3.5.1", "Data type error"),
])
def test_bad_tsp_calls_queue_the_firmwares_error(line, message, capfd):
    station, server = serve("keithley2600")
    with server:
        client = Client(endpoint(server))
        client.write(line)
        error = client.query("print(errorqueue.next())")
        assert message in error, error
        assert client.query("print(1)") == "1.00000e+00"
        client.close()
    assert "Traceback" not in capfd.readouterr().err


def test_tsp_passes_any_byte_through_and_reads_far_indices_as_nil():
    station, server = serve("keithley2600")
    with server:
        client = Client(endpoint(server))
        assert client.query("print('\xe9\xff', smua.nvbuffer1[1e999], smua.nvbuffer1[-1e999])") == "\xe9\xff\tnil\tnil"
        assert client.query("print(errorqueue.next())") == TSP_EMPTY
        client.close()


def test_a_simulator_bug_is_queued_logged_once_and_the_link_stays(caplog, capfd, monkeypatch):
    station, server = serve("keithley2450")
    smu = station.instruments["smu"]

    def broken(*args):
        raise KeyError("boom")
    monkeypatch.setattr(smu, "_measure", broken)
    with server, caplog.at_level(logging.WARNING, logger="labsuite.simulator"):
        client = Client(endpoint(server))
        client.write(":READ?")
        client.write(":READ?")
        assert client.query(":SYST:ERR?").startswith('-200,"Execution error; simulator fault: KeyError')
        assert client.query("*IDN?").startswith(IDN["keithley2450"])
        client.close()
    assert len([r for r in caplog.records if "internal error" in r.message]) == 1
    assert "Traceback" not in capfd.readouterr().err


# --- POWER against a running command ----------------------------------------------------------
def test_a_power_fault_waits_for_the_running_command():
    station = SimulatedStation(seed=3, smu="keithley2450")
    injector: FaultInjector = station.faults["smu"]
    smu = station.instruments["smu"]
    inside, release, order = threading.Event(), threading.Event(), []
    original = smu.process

    def slow(message):
        reply = original(message)
        order.append("command")
        inside.set()
        release.wait(2)
        order.append(("output after command", smu.source.output))
        return reply
    smu.process = slow
    worker = threading.Thread(target=injector.process, args=(":OUTP ON",))
    worker.start()
    assert inside.wait(2)
    power = threading.Thread(target=injector.arm, args=(Fault.POWER,))
    power.start()
    time.sleep(0.2)
    order.append("released")
    release.set()
    worker.join(2)
    power.join(2)
    order.append(("output after power", smu.source.output))
    assert order == ["command", "released", ("output after command", True), ("output after power", False)]


# --- property: random input never closes the link ---------------------------------------------
SCPI_WORDS = st.sampled_from([":SOUR", ":VOLT", ":CURR", ":TRAC", ":POIN", ":TRIG", ":BLOC", ":BRAN", ":MEAS",
                              ":OUTP", ":FUNC", ":FREQ", ":BURS", ":NCYC", ":ARM", ":COUN", ":LIST", "*ESE",
                              "*SRE", "*CLS", ":SENS", ":NPLC", ":DATA", ":FORM", ":ELEM", "SOUR2", ":ABOR2"])
SCPI_ARGS = st.sampled_from(["1", "-5", "1e999", "-1e999", "0", "MAX", "MIN", "DEF", '"defbuffer1"', "'x'", "ON",
                             "µ", "\xff", "1,2,3", "", "nan", "inf", "1e-999", "(@1)", "(@3)", "#H1F", "9" * 400])
SCPI_LINES = st.builds(lambda words, query, args: "".join(words) + ("?" if query else "") + " " + ",".join(args),
                       st.lists(SCPI_WORDS, min_size=1, max_size=4), st.booleans(),
                       st.lists(SCPI_ARGS, max_size=3))
TSP_LINES = st.builds(lambda target, value: target.format(value),
                      st.sampled_from(["smua.source.levelv = {}", "print(smua.measure.i({}))", "delay({})",
                                       "smua.trigger.count = {}", "trigger.timer[{}].delay = 1", "print({})",
                                       "smua.source.output = {}", "format.asciiprecision = {}",
                                       "printbuffer({}, 2, smua.nvbuffer1)", "smua.trigger.source.listv({})"]),
                      st.sampled_from(["1", "-5", "1e999", "-1e999", "0/0", "nil", "'x'", "{}", "{1, 'a'}",
                                       "smua", "print", "true", "\xff", "\x00", "(", "smua.nvbuffer1"]))
RANDOM_BYTES = st.binary(max_size=200).map(lambda b: b.replace(b"\n", b" "))


@pytest.fixture(scope="module")
def every_instrument():
    stations = [SimulatedStation(seed=3, smu=smu) for smu in registry.names("smu")]
    stations += [SimulatedStation(seed=3, pulse_generator=pg) for pg in registry.names("pulse_generator")]
    served = {}
    for station in stations:
        for role, injector in station.faults.items():
            injector.instrument.run_control.seconds = 2.0
            name = station.smu if role == "smu" else station.pulse_generator
            if name not in served:
                served[name] = injector
    with InstrumentServer(served) as server:
        clients = {e.role: Client(e, timeout=10) for e in server.endpoints}
        yield clients
        for client in clients.values():
            client.close()


def check_alive(client: Client, name: str) -> None:
    probe = "print('alive')" if issubclass(TWINS[name].cls, TspInstrument) else "*IDN?"
    client.write("")   # ends an unfinished loadscript of nothing: harmless otherwise
    answer = client.query(probe)
    while answer != "alive" and not registry.INSTRUMENTS[name].matches(answer):   # replies of queries in the input
        answer = client.read()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(st.one_of(SCPI_LINES, TSP_LINES, RANDOM_BYTES), min_size=1, max_size=5))
def test_random_input_never_closes_the_connection(every_instrument, lines):
    for name, client in every_instrument.items():
        for line in lines:
            data = line if isinstance(line, bytes) else line.encode("latin-1")
            if data.lstrip().lower().startswith((b"loadscript", b"loadandrunscript")):
                continue
            client.write(data)
        check_alive(client, name)


def test_a_port_serves_a_bounded_number_of_connections():
    from labsuite.simulator.server import MAX_CONNECTIONS
    station, server = serve("keithley2450")
    with server:
        clients = [Client(endpoint(server)) for _ in range(MAX_CONNECTIONS)]
        assert clients[-1].query("*IDN?").startswith(IDN["keithley2450"])
        extra = Client(endpoint(server))
        assert extra.closed()
        clients.pop().close()
        time.sleep(0.1)
        again = Client(endpoint(server))
        assert again.query("*IDN?").startswith(IDN["keithley2450"])
        for client in clients + [extra, again]:
            client.close()


def test_an_http_request_line_after_a_utf8_bom_is_recognised_too():
    """A BOM is no instrument command: with one before it, the request line still closes the link."""
    from labsuite.simulator.server import looks_like_http

    assert looks_like_http(b"\xef\xbb\xbfPOST / HTTP/1.1")
    assert not looks_like_http(b"\xef\xbb\xbf*IDN?")


def test_a_2450_configuration_list_stops_growing_at_its_capacity():
    """A client storing points without end gets -225 at 2500 points, not an ever-growing list."""
    from labsuite.simulator.instruments.keithley2450 import MAX_LIST_POINTS
    from labsuite.simulator.station import SimulatedStation

    smu = SimulatedStation(seed=1).instruments["smu"]
    smu.process(':SOUR:CONF:LIST:CRE "L"')
    for _ in range(MAX_LIST_POINTS + 5):
        smu.process(':SOUR:CONF:LIST:STOR "L"')
    assert smu.process(':SOUR:CONF:LIST:SIZE? "L"') == str(MAX_LIST_POINTS)
    assert smu.process(":SYST:ERR?").startswith("-225,")
