"""The SCPI grammar every simulated instrument shares."""
import pytest

from labsuite.simulator.instruments.scpi import (ErrorQueue, ScpiError, ScpiInstrument, command,
                                                 compile_header, parse_number, split_outside_quotes)


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


def test_quoted_separators_are_data():
    assert split_outside_quotes('"a;b",c;d', ";") == ['"a;b",c', "d"]
    assert split_outside_quotes("1,'x,y',2", ",") == ["1", "'x,y'", "2"]


def test_error_queue_overflow_replaces_last_entry():
    queue = ErrorQueue(size=3)
    for code in (-113, -222, -224, -104):
        queue.push(code, "x")
    assert [queue.pop() for _ in range(4)] == ['-113,"x"', '-222,"x"', '-350,"Queue overflow"', '0,"No error"']
