"""A bench that cannot play a protocol refuses in the protocol's own parameters: the parameter the
user set, the bench's limit, and ``--set`` values (checked to play) or why none does; before a file
is made or a byte is sent, and never naming an internal segment."""
import re

import pytest

from labsuite import Bench, run_protocol
from labsuite.core.errors import LimitError
from labsuite.core.events import RunState
from labsuite.refusal import BenchRefusal
from labsuite.traffic import TrafficLog

SEGMENT_LABELS = re.compile(r"\b(write|read|idle|spike|rest|set|reset|settle|sweep) duration\b|segment \d")


def refusal(protocol, smu, tmp_path, **parameters):
    with Bench.simulated(seed=1, smu=smu) as bench:
        traffic = TrafficLog.attach(bench.smu)
        with pytest.raises(BenchRefusal) as exc:
            run_protocol(protocol, bench, parameters, out_dir=tmp_path)
        assert traffic.entries == [] and list(tmp_path.iterdir()) == []      # nothing sent, no file
    assert not SEGMENT_LABELS.search(str(exc.value))
    return exc.value


def test_a_write_too_short_for_the_2400_names_width_its_limit_and_a_value_that_plays(tmp_path):
    """Keithley 2400: each list point is one source-measure cycle, ≥ 735 µs (it was "write duration
    = 100 µs is out of range")."""
    error = refusal("potentiation", "keithley2400", tmp_path)
    assert str(error) == ("width = 100 µs is shorter than the Keithley 2400 SourceMeter can time (735 µs): "
                          "use --set width=1ms, or add a pulse generator")
    assert isinstance(error, LimitError) and error.field == "width"
    with Bench.simulated(seed=1, smu="keithley2400") as bench:
        assert run_protocol("potentiation", bench, {"width": "1ms"}, out_dir=None).state is RunState.COMPLETED


def test_every_parameter_the_fix_needs_is_given(tmp_path):
    """Endurance on the 2400: both pulses are too short, and the list holds one compliance."""
    error = refusal("endurance", "keithley2400", tmp_path)
    assert str(error).startswith("set_width = 100 µs is shorter than the Keithley 2400 SourceMeter can time (735 µs): "
                                 "use --set set_width=1ms --set reset_width=1ms --set reset_compliance=2mA")
    with Bench.simulated(seed=1, smu="keithley2400") as bench:
        result = run_protocol("endurance", bench, {"set_width": "1ms", "reset_width": "1ms",
                                                   "reset_compliance": "2mA"}, out_dir=None)
    assert result.state is RunState.COMPLETED


def test_a_limit_per_segment_on_the_b2900_names_the_compliance_to_change(tmp_path):
    """A B2900 channel has one compliance for a whole list sweep (SCPI reference, :SENS:CURR:PROT)."""
    error = refusal("endurance", "keysightb2900", tmp_path)
    assert str(error).startswith("reset_compliance = 10 mA differs from the 2 mA limit of the other segments")
    assert str(error).endswith(": use --set reset_compliance=2mA")


def test_when_no_longer_duration_plays_the_refusal_says_why_in_the_benchs_terms(tmp_path):
    """PPF on the 2400: its intervals never share the source list's one step."""
    error = refusal("ppf", "keithley2400", tmp_path)
    assert str(error).startswith("read_time = 200 µs is shorter than the Keithley 2400 SourceMeter can time (735 µs); "
                                 "no longer duration makes ppf play on this bench: ")
    assert "no common step" in str(error)


def test_a_closed_loop_protocol_is_refused_before_its_first_stage(tmp_path):
    """write-verify reads first and writes later: its write stage is checked before anything runs (it
    used to fail after the first read had been taken)."""
    error = refusal("write-verify", "keithley2400", tmp_path)
    assert str(error).startswith("width = 100 µs is shorter than the Keithley 2400 SourceMeter can time (735 µs): "
                                 "use --set width=1ms")
