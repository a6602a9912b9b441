"""Bench descriptions: from code, from bench.toml, simulated."""
import re

import numpy as np
import pytest

from labsuite import Bench, Limits, run_protocol
from labsuite.core.errors import InvalidParameter, LimitError


def test_simulated_bench_from_toml_with_units(tmp_path):
    spec = tmp_path / "bench.toml"
    spec.write_text('''
[bench]
name = "sim station"
[limits]
max_voltage = "2 V"
max_compliance = "500 uA"
[simulator]
model = "synaptic-memristor"
seed = 9
series_resistance = "1 kohm"
[simulator.device]
tau_volatile = "20 ms"
''')
    with Bench.from_toml(spec) as bench:
        assert bench.name == "sim station"
        assert bench.limits == Limits(max_voltage=2.0, max_compliance=500e-6)
        assert bench.simulator["seed"] == 9 and bench.simulator["series_resistance"] == 1e3
        assert bench.simulator["model"]["tau_volatile"] == pytest.approx(0.02)
        with pytest.raises(LimitError, match="amplitude = 3 V .* allowed -2 V to 2 V"):
            run_protocol("potentiation", bench, {"amplitude": 3.0}, out_dir=None)
        result = run_protocol("potentiation", bench, {"pulses": 10, "compliance": "400 uA"}, out_dir=None)
        assert result.samples.size == 11


def test_series_resistance_lowers_the_read_current(tmp_path):
    def read_delay(ohms):
        with Bench.simulated(seed=0, series_resistance=ohms, model_params={"read_noise": 0}) as bench:
            return run_protocol("potentiation", bench, {"pulses": 1}, out_dir=None).samples["current"][0]
    # 20 µS device (50 kΩ) behind 50 kΩ: half the current at the same source voltage
    assert read_delay(50e3) == pytest.approx(read_delay(0.0) / 2, rel=1e-6)


@pytest.mark.parametrize("body, field", [
    ("[limits]\nmax_voltage = \"3 A\"\n[simulator]\n", "limits.max_voltage"),
    ("[bench]\nname = \"x\"\n", "needs an [smu] table"),
    ("[smu]\ndriver = \"keithley2450\"\n", "smu.resource"),
    ("[smu]\ndriver = \"keithley9999\"\nresource = \"GPIB0::1::INSTR\"\n", "driver"),
])
def test_bad_bench_files_say_what_to_fix(tmp_path, body, field):
    spec = tmp_path / "bench.toml"
    spec.write_text(body)
    with pytest.raises(InvalidParameter, match=re.escape(field)):
        Bench.from_toml(spec)


@pytest.mark.parametrize("smu", ["keithley2450", "keithley2400"])
def test_software_timing_over_tcp_is_as_deterministic_as_in_process(smu):
    """Writes over TCP are asynchronous; virtual time passes only once the instrument has executed
    them (including what a driver wrote while it was built: pymeasure's 2400 sets its format), so
    a seeded run gives the same samples on either transport."""

    def currents(transport: str) -> np.ndarray:
        with Bench.simulated(seed=4, transport=transport, smu=smu) as bench:
            result = run_protocol("potentiation", bench, {"pulses": 8, "width": "10 ms", "period": "50 ms",
                                                          "read_delay": "10 ms"},
                                  out_dir=None, timing="software")
        return result.samples["current"]

    reference = currents("inprocess")
    assert reference[-1] > 2 * reference[0]                 # the pulses did potentiate
    for _ in range(3):
        np.testing.assert_array_equal(currents("tcp"), reference)


def test_a_bench_file_says_whether_the_smus_trigger_output_is_wired_to_the_generator(tmp_path):
    spec = tmp_path / "bench.toml"
    for line, wired in (("", True), ("trigger_line = false\n", False)):
        spec.write_text('[simulator]\nsmu = "keithley2450"\npulse_generator = "keysight33500"\n'
                        'pulse_series_resistance = "2 kohm"\n' + line, encoding="utf-8")
        with Bench.from_toml(spec) as bench:
            assert bench.trigger_line is wired and bench.simulator["trigger_line"] is wired
            assert bench.snapshot()["instruments"]["pulse_generator"]["trigger_line"] is wired
    spec.write_text('[simulator]\nsmu = "keysightb2900"\npulse_generator = "keysight33500"\n', encoding="utf-8")
    with Bench.from_toml(spec) as bench:   # a twin without a trigger output has no line to wire
        assert not bench.trigger_line
    spec.write_text('[smu]\nresource = "TCPIP0::192.0.2.1::inst0::INSTR"\n[pulse_generator]\ndriver = "keysight33500"\n'
                    'resource = "TCPIP0::192.0.2.2::inst0::INSTR"\ntrigger_line = "yes"\n', encoding="utf-8")
    with pytest.raises(InvalidParameter, match=r"pulse_generator.trigger_line: 'yes' must be true or false"):
        Bench.from_toml(spec)
