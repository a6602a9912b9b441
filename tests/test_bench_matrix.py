"""Every protocol at its defaults on every simulated bench (each SMU alone, and with a Keysight
33500 or a Tektronix AFG31000 behind 2 kΩ), bench-aware defaults allowed: it completes with its
figures of merit where the configured device puts them, or it is refused before a file is made or a
byte is sent, in the protocol's own parameters.

Sampled by default (one bench per protocol, turning, every refusal and the quick adjusted cells);
all 144 cells with LABSUITE_FULL_CAMPAIGN=1. Adjusted defaults (the bench plays the nearest round
value, ``run_protocol(..., adapt_defaults=True)``):

- Keithley 2400: a source-list point is one source-delay-measure cycle, ≥ 735 µs at 0.01 PLC on
  50 Hz (2400 User's Manual, "Source-delay-measure cycle", Appendix A case III; "Sweep
  operation"): 100 µs writes become 1 ms, which its list sweep times;
- Keithley 2400 with a generator: ppf's shortest interval becomes 10 ms, the waits labsuite's
  computer-sequenced bursts can time (the 2400 cannot play the pairs itself, above; on the other
  SMUs their trigger models play these trains, writes included).

Refusals expected, physically justified:

- Keithley 2400 alone: the points of one list share one SDM cycle, so every segment must be a whole
  number of equal cycles ≥ 735 µs (manual, "Sweep operation": one source delay and one
  integration per sweep): ppf's log-spaced intervals, srdp's log-spaced train periods, retention's
  log-spaced read times and stdp's 100 µs waveform steps have no such common step at any longer
  duration (srdp plays with rates on whole decades, ``--set width=1ms --set rates=3``: a coarser
  measurement, which is the user's choice, not a nearby default);
- Keithley 2400 and Keysight B2900 (alone or not): one compliance for a whole source list (2400
  :SENSe:CURRent:PROTection; B2900 :SENSe:CURRent:PROTection, the SCPI reference has no
  compliance list): endurance's SET and RESET limits differ. A bench-aware default changes
  durations only, never a current limit, so this is refused with the --set value that plays;
- Keithley 2400 with a generator: stdp and retention need waits under 5 ms between generator
  bursts, which labsuite triggers from the computer over the bus, and the 2400 cannot play them
  itself (above).
"""
import json
import math
import os
import re

import h5py
import numpy as np
import pytest

from labsuite import Bench, run_protocol
from labsuite.cli import main
from labsuite.core.errors import LimitError
from labsuite.matrix import END, README_SERIES_RESISTANCE, START, bench_matrix, readme_section, simulated_bench
from labsuite.simulator.instruments.generator import OUTPUT_IMPEDANCE
from labsuite.protocols import PROTOCOLS
from labsuite.core.events import RunState
from labsuite.simulator.models.synaptic_memristor import SynapticMemristorParams
from labsuite.traffic import TrafficLog

SMUS = ("keithley2450", "keithley2600", "keysightb2900", "keithley2400")
GENERATORS = (None, "keysight33500", "tektronixafg31000")
BENCHES = tuple((smu, generator) for generator in GENERATORS for smu in SMUS)
REFUSED = ({("keithley2400", None, p) for p in ("ppf", "stdp", "srdp", "retention")}
           | {("keithley2400", g, p) for g in GENERATORS[1:] for p in ("stdp", "retention")}
           | {(s, g, "endurance") for s in ("keithley2400", "keysightb2900") for g in GENERATORS})
ADJUSTED = ({("keithley2400", None, p): {"width"} for p in ("potentiation", "depression", "ltp-ltd", "write-verify")}
            | {("keithley2400", g, "ppf"): {"interval_min"} for g in GENERATORS[1:]})
FULL = os.environ.get("LABSUITE_FULL_CAMPAIGN") == "1"
SAMPLE = ({BENCHES[(7 * i) % len(BENCHES)] + (p,) for i, p in enumerate(PROTOCOLS)} | REFUSED
          | {("keithley2400", None, p) for p in ("potentiation", "write-verify")})
# left out of the sample: ~8 s for PPF's 16 intervals on 20 µs list steps, alone or beside a generator
# (PPF has its own B2900 test), 10 to 23 s for ltp-ltd's 200 bus-triggered bursts on a generator bench
# or 1 ms list points on a 2400, ~20 s for PPF's bus-triggered pairs beside a 2400
SLOW = ({("keysightb2900", g, "ppf") for g in GENERATORS} | {("keithley2400", None, "ltp-ltd")}
        | {(s, g, "ltp-ltd") for s in SMUS for g in GENERATORS[1:]} | {("keithley2400", g, "ppf") for g in GENERATORS[1:]})
INTERNAL = re.compile(r"\b(write|read|idle|spike|rest|set|reset|settle|sweep) duration\b|segment \d")
DEVICE = SynapticMemristorParams()   # the simulated benches' default device


def nonlinearity_a(amplitude: float, width: float) -> float:
    """NeuroSim A the device's configured parameters give: 1 / (k_set · t_p) pulses, with
    k_set = ν_set (e^((V − V_set)/V_0) − 1)."""
    return 1 / (DEVICE.rate_set * math.expm1((amplitude - DEVICE.v_set) / DEVICE.v_slope) * width)


def check_figures(protocol: str, figures: dict[str, float], values: dict[str, float], samples: np.ndarray,
                  series_resistance: float = 0.0) -> None:
    """The figures of merit where the configured device (``DEVICE``) puts them, within each
    protocol's own tolerance (``values``: the parameters it played, adjusted ones included;
    ``series_resistance``: Ω between the pulse generator and the device when the generator wrote)."""
    if protocol == "potentiation":
        read = samples[samples["segment"] == samples["segment"].max()]
        reads = read["current"] / read["voltage"]
        assert np.all(np.diff(reads) > -5 * DEVICE.read_noise * reads[1:])   # monotonic within read noise
        expected = nonlinearity_a(values["amplitude"], values["width"])
        assert figures["nonlinearity_a"] == pytest.approx(expected, rel=0.05)
        assert figures["g_min"] == pytest.approx(DEVICE.g_min, rel=0.02)
    elif protocol == "depression":   # the device starts at G_min: nothing left to depress
        assert figures["g_min"] == pytest.approx(DEVICE.g_min, rel=0.02)
        assert abs(figures["delta_g"]) < 0.01 * DEVICE.g_min
    elif protocol == "ltp-ltd" and series_resistance:
        # written by the generator through series_resistance Ω: the device never sees more than the
        # programmed height, so no curve is faster than at that height; potentiating from G_min, it
        # sees at least its share at G_max, V / (1 + R_s·G_max). (Depressing from G_max through R_s
        # bends the LTD curve so little that its fitted A is large and loosely bounded above.)
        set_height, reset_height = values["set_amplitude"], -values["reset_amplitude"]
        shared = set_height / (1 + series_resistance * DEVICE.g_max)
        assert 0.95 * nonlinearity_a(set_height, values["width"]) <= figures["nonlinearity_a_ltp"] \
            <= nonlinearity_a(shared, values["width"])
        assert figures["nonlinearity_a_ltd"] >= 0.95 * nonlinearity_a(reset_height, values["width"])
    elif protocol == "ltp-ltd":
        assert figures["nonlinearity_a_ltp"] == pytest.approx(
            nonlinearity_a(values["set_amplitude"], values["width"]), rel=0.05)
        assert figures["nonlinearity_a_ltd"] == pytest.approx(   # the same form: V_reset = V_set, ν_reset = ν_set
            nonlinearity_a(-values["reset_amplitude"], values["width"]), rel=0.05)
    elif protocol == "ppf":   # the volatile component facilitates the second pulse
        assert figures["ppf_max"] > 1.1
    elif protocol == "stdp":
        assert figures["potentiation_max"] > 0 > figures["depression_max"]
    elif protocol == "srdp":
        assert figures["delta_g_max"] > 0
        assert figures["g_initial"] == pytest.approx(DEVICE.g_min, rel=0.02)
    elif protocol == "retention":   # the volatile component relaxes with τ, a plain exponential
        assert figures["tau"] == pytest.approx(DEVICE.tau_volatile, rel=0.1)
        assert figures["beta"] == pytest.approx(1.0, abs=0.1)
    elif protocol in ("iv", "pulsed-iv"):   # hysteresis between the device's two bounds
        assert figures["r_on"] == pytest.approx(1 / DEVICE.g_max, rel=0.02)
        assert figures["r_off"] == pytest.approx(1 / DEVICE.g_min, rel=0.02)
        assert figures["loop_area"] > 0
    elif protocol == "endurance":
        assert figures["on_off_median"] > 1
        assert DEVICE.g_min * 0.98 <= figures["g_off_median"] < figures["g_on_median"] <= DEVICE.g_max * 1.02
    elif protocol == "forming":   # the model needs no forming: the first step reaches the target
        assert figures["formed"] == 1
    elif protocol == "write-verify":
        assert figures["converged"] == 1 and figures["relative_error"] <= values["tolerance"]


@pytest.mark.parametrize("smu, generator", BENCHES, ids=[f"{s}+{g}" if g else s for s, g in BENCHES])
@pytest.mark.parametrize("protocol", list(PROTOCOLS))
def test_each_protocol_at_defaults_completes_or_is_refused_in_its_own_terms(protocol, smu, generator, tmp_path):
    cell = (smu, generator, protocol)
    if not FULL and (cell not in SAMPLE or cell in SLOW):
        pytest.skip("sampled: LABSUITE_FULL_CAMPAIGN=1 runs every cell")
    with simulated_bench(smu, generator) as bench:
        traffic = [TrafficLog.attach(i) for i in (bench.smu, bench.pulse_generator) if i is not None]
        if cell in REFUSED:
            with pytest.raises(LimitError) as exc:
                run_protocol(protocol, bench, out_dir=tmp_path, adapt_defaults=True)
            assert all(t.entries == [] for t in traffic) and list(tmp_path.iterdir()) == []
            message = str(exc.value)
            assert exc.value.field in {p.name for p in PROTOCOLS[protocol].parameters}
            assert message.startswith(f"{exc.value.field} = ")
            # a working --set value, or (timing) why no longer duration plays
            assert "use --set " in message or f"no longer duration makes {protocol} play on this bench" in message
            assert not INTERNAL.search(message), message
            return
        result = run_protocol(protocol, bench, out_dir=tmp_path, adapt_defaults=True)
    assert result.state is RunState.COMPLETED and result.path.exists()
    assert set(result.adjusted) == ADJUSTED.get(cell, set())
    figures = result.figures
    assert figures and set(figures) <= set(PROTOCOLS[protocol].figure_units)
    assert all(math.isfinite(v) for v in figures.values())
    written_through = OUTPUT_IMPEDANCE + README_SERIES_RESISTANCE if generator and not result.pulses_on_smu else 0.0
    check_figures(protocol, figures, result.protocol.values, result.samples, written_through)


def test_the_matrix_is_the_expected_one_and_checking_it_sends_nothing():
    for smu, generator in BENCHES:
        with simulated_bench(smu, generator) as bench:
            traffic = [TrafficLog.attach(i) for i in (bench.smu, bench.pulse_generator) if i is not None]
            cells = bench_matrix(bench)
            assert all(t.entries == [] for t in traffic)
        assert {c.protocol for c in cells if c.refusal} == {p for s, g, p in REFUSED if (s, g) == (smu, generator)}
        assert {c.protocol: set(c.adjusted) for c in cells if c.adjusted} == {
            p: names for (s, g, p), names in ADJUSTED.items() if (s, g) == (smu, generator)}
        assert all(c.sequencing for c in cells if not c.refusal)
    assert {c.protocol: c.sequencing for c in cells} == {   # the 2400 with an AFG31000, the last bench
        **{p: ("software", "bursts") for p in ("potentiation", "depression", "ltp-ltd")},
        "ppf": ("bursts",), "srdp": ("hardware", "software", "bursts"), "stdp": (), "retention": (), "endurance": (),
        **{p: ("hardware",) for p in ("iv", "pulsed-iv")},
        **{p: ("hardware", "bursts") for p in ("forming", "write-verify")}}


def test_the_readme_shows_the_matrix_the_code_gives():
    """If this fails after a change of what a bench plays: `python -m labsuite.matrix README.md`."""
    readme = open(os.path.join(os.path.dirname(__file__), "..", "README.md"), encoding="utf-8").read()
    shown = readme[readme.index(START):readme.index(END) + len(END)]
    assert shown == readme_section()


def test_cli_plays_defaults_the_bench_adjusts_says_so_and_refuses_a_value_the_user_set(tmp_path, capsys):
    assert main(["run", "potentiation", "--sim", "--smu", "keithley2400", "--set", "pulses=5", "--out",
                 str(tmp_path), "--no-progress", "--json"]) == 0
    out, err = capsys.readouterr()
    assert err.strip() == ("labsuite: defaults adjusted to the Keithley 2400 SourceMeter: width 100 µs → 1 ms "
                           "(the defaults do not play on it)")
    summary = json.loads(out)
    assert summary["parameters"]["width"] == 1e-3 and summary["parameters"]["pulses"] == 5
    with h5py.File(summary["run_file"], "r") as f:
        provenance = json.loads(f.attrs["provenance"])
    assert provenance["adjusted_defaults"] == summary["adjusted_defaults"] == {
        "width": {"default": 1e-4, "bench": 1e-3, "unit": "s"}}
    assert main(["run", "potentiation", "--sim", "--smu", "keithley2400", "--set", "width=100us",
                 "--out", str(tmp_path / "set")]) == 2
    assert capsys.readouterr().err.strip() == (
        "labsuite: error: width = 100 µs is shorter than the Keithley 2400 SourceMeter can time (735 µs): "
        "use --set width=1ms, or add a pulse generator")
    assert not (tmp_path / "set").exists()


def test_python_api_adapts_only_when_asked(tmp_path):
    with Bench.simulated(seed=1, smu="keithley2400") as bench:
        with pytest.raises(LimitError, match="use --set width=1ms"):
            run_protocol("write-verify", bench, out_dir=None)
        result = run_protocol("write-verify", bench, {"set_amplitude": "0.9 V"}, out_dir=None, adapt_defaults=True)
        assert result.adjusted == {"width": (1e-4, 1e-3)} and result.protocol.values["set_amplitude"] == 0.9
        with pytest.raises(LimitError, match="use --set width=1ms"):
            run_protocol("write-verify", bench, {"width": "100 us"}, out_dir=None, adapt_defaults=True)


def test_protocols_with_a_bench_prints_how_each_plays(capsys):
    assert main(["protocols", "--sim", "--smu", "keithley2400"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == ("simulated bench (Keithley 2400 SourceMeter): the protocols at their defaults, "
                        "checked without sending anything")
    assert "potentiation  hardware-timed, with width 100 µs → 1 ms" in lines
    assert "iv            hardware-timed" in lines
    assert any(line.startswith("ppf           refused: read_time = 200 µs") for line in lines)
    assert main(["protocols", "--pulse-generator", "keysight33500"]) == 2


def test_a_recipe_adapts_the_defaults_it_leaves_out_and_is_refused_whole_for_a_value_it_sets(tmp_path, capsys):
    recipe = tmp_path / "two.sequence.toml"
    recipe.write_text('name = "two"\n[[step]]\nprotocol = "potentiation"\nparameters = { pulses = 3 }\n'
                      '[[step]]\nprotocol = "write-verify"\n', encoding="utf-8")
    assert main(["run", str(recipe), "--sim", "--smu", "keithley2400", "--out", str(tmp_path / "runs"),
                 "--no-progress"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err == [f"labsuite: two: step {n}, run 1: defaults adjusted to the Keithley 2400 SourceMeter: "
                   "width 100 µs → 1 ms (the defaults do not play on it)" for n in (1, 2)]
    recipe.write_text(recipe.read_text(encoding="utf-8") + 'parameters = { width = "100 us" }\n', encoding="utf-8")
    assert main(["run", str(recipe), "--sim", "--smu", "keithley2400", "--out", str(tmp_path / "refused")]) == 2
    last = capsys.readouterr().err.splitlines()[-1]
    assert last.startswith("labsuite: error: width = 100 µs is shorter than the Keithley 2400")
    assert not (tmp_path / "refused").exists()


def test_protocols_with_a_bench_file_checks_that_bench(tmp_path, capsys):
    bench = tmp_path / "bench.toml"
    bench.write_text('[bench]\nname = "station 2400"\n[simulator]\nsmu = "keysightb2900"\n'
                     'pulse_generator = "tektronixafg31000"\npulse_series_resistance = "2 kohm"\n', encoding="utf-8")
    assert main(["protocols", "--bench", str(bench)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("station 2400 (Keysight B2900 Precision Source/Measure Unit + Tektronix AFG31000")
    endurance = next(line for line in lines if line.startswith("endurance "))
    assert "refused: reset_compliance = 10 mA differs" in endurance and endurance.endswith("--set reset_compliance=2mA")
