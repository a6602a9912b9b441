"""The SCPI grammar every simulated instrument shares."""
import pytest

from labsuite.simulator.instruments.scpi import (ErrorQueue, Ieee488Instrument, ScpiError, ScpiInstrument, Setting,
                                                 bounded, command, compile_header, numeric, parse_number,
                                                 split_outside_quotes)
from labsuite.simulator.station import SimulatedStation


@pytest.mark.parametrize("header, matches", [
    (":SOUR:VOLT", True), (":source1:voltage:level", True), (":VOLT", True), (":sour:volt:lev:imm:ampl", True),
    (":SOURCE:VOLTAGE:LEVEL:IMMEDIATE:AMPLITUDE", True), (":SOURC:VOLT", False), (":SOUR:VOLTA", False),
    (":SOUR2:VOLT", False), (":SOUR:VOLT:ILIM", False),
])
def test_headers_accept_short_and_long_forms_only(header, matches):
    regex = compile_header("[:SOURce[1]]:VOLTage[:LEVel][:IMMediate][:AMPLitude]")
    assert bool(regex.match(header)) is matches


class Toy(ScpiInstrument):
    def __init__(self):
        super().__init__()
        self.level, self.limit = 0.0, 1.0

    @command("[:SOURce]:VOLTage[:LEVel]")
    def _set_level(self, arg):
        self.level = parse_number(arg, minimum=-10, maximum=10, default=0)

    @command("[:SOURce]:VOLTage[:LEVel]?")
    def _get_level(self):
        return f"{self.level:g}"

    @command("[:SOURce]:VOLTage:ILIMit")
    def _set_limit(self, arg):
        self.limit = parse_number(arg)

    @command(":SYSTem:ERRor?")
    def _err(self):
        return self.errors.pop()


def test_path_rule_continues_from_previous_header():
    toy = Toy()
    assert toy.process(":SOUR:VOLT:LEV 1.5;:SOUR:VOLT:ILIM 0.2") is None
    assert (toy.level, toy.limit) == (1.5, 0.2)
    toy.process(":SOUR:VOLT:LEV 2;ILIM 0.3")            # ILIM continues from :SOUR:VOLT:
    assert (toy.level, toy.limit) == (2.0, 0.3)
    toy.process(":SOUR:VOLT 1;ILIM 0.4")                # from :SOUR: → :SOUR:ILIM is undefined
    assert toy.limit == 0.3
    assert toy.process(":SYST:ERR?") == '-113,"Undefined header"'


def test_several_queries_answer_in_one_message():
    toy = Toy()
    assert toy.process(":VOLT 3;:VOLT?;*IDN_BOGUS;:volt?") == "3;3"
    assert toy.process(":SYST:ERR?") == '-113,"Undefined header"'
    assert toy.process(":SYST:ERR?") == '0,"No error"'


def test_numbers_take_units_and_min_max_def():
    assert parse_number("100us") == pytest.approx(1e-4)
    assert parse_number("1.5E-3") == 1.5e-3
    assert parse_number("MAX", maximum=10) == 10
    assert parse_number("def", default=0.5) == 0.5
    with pytest.raises(ScpiError) as exc:
        parse_number("1.2.3")
    assert exc.value.code == -104


def test_missing_parameter_is_an_error():
    toy = Toy()
    toy.process(":VOLT")
    assert toy.process(":SYST:ERR?") == '-109,"Missing parameter"'


class Ranged(ScpiInstrument):
    """A setting clipped to its range, one checked by the instrument before it is taken."""

    _width = Setting(":PULSe:WIDTh", "width", numeric(1e-6, 1.0, 1e-3), clip=(1e-6, 1.0))
    _level = Setting(":VOLTage", "level", bounded(-10.0, 10.0, 0.0), apply="_take_level")

    def __init__(self):
        super().__init__()
        self.width, self.level, self.taken = 1e-3, 0.0, []

    def _take_level(self, level):
        if level and self.width > 0.5:
            raise ScpiError(-221)
        self.taken.append(level)
        self.level = level

    @command(":SYSTem:ERRor?")
    def _err(self):
        return self.errors.pop()


def test_a_clipped_setting_takes_the_nearer_limit_and_queues_222():
    ranged = Ranged()
    ranged.process(":PULS:WIDT 5")
    assert ranged.width == 1.0
    assert ranged.process(":SYST:ERR?") == '-222,"Parameter data out of range"'
    ranged.process(":PULS:WIDT MIN;:PULS:WIDT 2e-3")
    assert (ranged.width, ranged.process(":SYST:ERR?")) == (2e-3, '0,"No error"')


def test_a_setting_with_apply_goes_through_the_instruments_check():
    ranged = Ranged()
    ranged.process(":VOLT 2;:VOLT?")
    assert (ranged.level, ranged.taken) == (2.0, [2.0])
    ranged.process(":PULS:WIDT 0.8;:VOLT 3")             # the instrument refuses: the level stays
    assert (ranged.level, ranged.process(":SYST:ERR?")) == (2.0, '-221,"Settings conflict"')
    assert ranged.process(":VOLT?") == "2.0"


def test_quoted_separators_are_data():
    assert split_outside_quotes('"a;b",c;d', ";") == ['"a;b",c', "d"]
    assert split_outside_quotes("1,'x,y',2", ",") == ["1", "'x,y'", "2"]


def test_error_queue_overflow_replaces_last_entry():
    queue = ErrorQueue(size=3)
    for code in (-113, -222, -224, -104):
        queue.push(code, "x")
    assert [queue.pop() for _ in range(4)] == ['-113,"x"', '-222,"x"', '-350,"Queue overflow"', '0,"No error"']


SCPI_TWINS = [("smu", "keithley2400"), ("smu", "keithley2450"), ("smu", "keysightb2900"),
              ("pulse_generator", "keysight33500"), ("pulse_generator", "tektronixafg31000")]


def _twin(role: str, name: str) -> Ieee488Instrument:
    station = SimulatedStation(seed=7, **({"smu": name} if role == "smu" else {"pulse_generator": name}))
    return station.instruments[role]


@pytest.mark.parametrize("role, name", SCPI_TWINS)
def test_every_scpi_twin_keeps_the_ieee_488_2_status_registers_as_the_standard_says(role, name):
    """§11.5.1: PON set at power-on, *ESR? reads and clears; an undefined header sets CME (bit 5)
    and queues its error (EAV, bit 2 of *STB?); *ESE 32 makes it the event summary (ESB, bit 5),
    *SRE 32 the service request (MSS, bit 6; *SRE cannot enable bit 6 itself); *CLS empties the
    queue and the register; *OPC sets bit 0; *TST? passes; *RST keeps the registers."""
    twin = _twin(role, name)
    number = int   # the 33500 signs its integers: +128
    assert number(twin.process("*ESR?")) == 128 and number(twin.process("*ESR?")) == 0
    twin.process(":NO:SUCH:HEADER")
    assert number(twin.process("*STB?")) == 4
    twin.process("*ESE 32;*SRE 96")
    assert number(twin.process("*ESE?")) == 32 and number(twin.process("*SRE?")) == 32
    assert number(twin.process("*STB?")) == 4 | 32 | 64
    assert twin.process(":SYST:ERR?").lstrip("+").startswith("-113,")
    assert number(twin.process("*STB?")) == 32 | 64
    twin.process("*RST")
    assert number(twin.process("*ESE?")) == 32 and number(twin.process("*SRE?")) == 32
    twin.process("*CLS")
    assert number(twin.process("*STB?")) == 0 and number(twin.process("*ESR?")) == 0
    twin.process("*OPC")
    assert number(twin.process("*ESR?")) == 1
    assert twin.process("*OPC?") == "1" and number(twin.process("*TST?")) == 0
    twin.process("*ESE 256")
    assert twin.process(":SYST:ERR?").lstrip("+").startswith("-222,")
