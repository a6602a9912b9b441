"""SMU + pulse-generator benches: the generator writes, the SMU reads, one source on the device at a time."""
import json
import subprocess
import sys

import numpy as np
import pytest
from pyvisa import rname

from labsuite import Bench, read_run, run_protocol
from labsuite.core.errors import InvalidParameter, LabsuiteError, LimitError, RangeError
from labsuite.core.program import PulseProgram, Segment, Train
from labsuite.link import LinkError
from labsuite.matrix import bench_matrix
from labsuite.runner import PULSES_ON_SMU, Runner
from labsuite.traffic import TrafficLog

GENERATORS = ["keysight33500", "tektronixafg31000"]
PROTECTION = 2e3   # Ω in the generator's path: 1.5 V into a short stays under the 1 mA compliance


def pg_bench(generator: str = "keysight33500", **kwargs) -> Bench:
    return Bench.simulated(seed=1, pulse_generator=generator, pulse_series_resistance=PROTECTION, **kwargs)


def simulated(bench: Bench, role: str):
    """The simulated instrument behind the bench's ``role`` (in-process transport)."""
    driver = bench.smu if role == "smu" else bench.pulse_generator
    return driver.adapter.manager.visalib.instruments[str(rname.parse_resource_name(bench.resources[role]))].instrument


@pytest.mark.parametrize("generator", GENERATORS)
def test_generator_writes_smu_reads_and_never_both_at_once(generator):
    with pg_bench(generator) as bench:
        node = simulated(bench, "smu").port.node
        driving, original = [], node.apply

        def apply(v_source, series_resistance, compliance, duration):
            driving.append(sum(p.voltage is not None for p in node.ports))
            return original(v_source, series_resistance, compliance, duration)
        node.apply = apply
        smu_traffic, pg_traffic = TrafficLog.attach(bench.smu), TrafficLog.attach(bench.pulse_generator)
        result = run_protocol("potentiation", bench, {"pulses": 10}, out_dir=None)
    g = result.samples["current"] / result.samples["voltage"]
    assert np.all(np.diff(g) > 0)                                   # ten write pulses potentiate
    assert max(driving) == 1                                        # one source on the device at a time
    assert sum("*TRG" in m for m in pg_traffic.sent()) == 10        # one bus trigger per pulse
    assert not any("1.5" in m for m in smu_traffic.sent())          # the SMU never sources the write level


@pytest.mark.parametrize("generator", GENERATORS)
def test_pulses_from_the_generator_match_the_smus_through_the_same_path(generator):
    """Through 50 Ω + 2 kΩ the device sees the open-circuit level divided as it would be behind
    2.05 kΩ from the SMU: the device's conductance after 10 pulses agrees with that SMU-only
    bench to 1 %, and is well below the SMU-only bench without the resistor."""
    def conductance(bench: Bench) -> float:
        run_protocol("potentiation", bench, {"pulses": 10}, out_dir=None)
        return float(simulated(bench, "smu").port.model.conductance()[0])
    with pg_bench(generator) as bench:
        g_pg = conductance(bench)
    with Bench.simulated(seed=1, series_resistance=PROTECTION + 50.0) as bench:
        g_same_path = conductance(bench)
    with Bench.simulated(seed=1) as bench:
        g_direct = conductance(bench)
    assert g_pg == pytest.approx(g_same_path, rel=0.01) and g_pg < 0.97 * g_direct


def test_a_write_with_its_own_compliance_stays_on_the_smu():
    pattern = (Segment(1.5, 1e-3, "set", compliance=50e-6), Segment(0.1, 1e-3, "read", True), Segment(0.0, 10e-3))
    with pg_bench() as bench:
        pg_traffic = TrafficLog.attach(bench.pulse_generator)
        samples = Runner(bench, PulseProgram((Train(pattern, 3),), 1e-3)).run()
    assert samples.size == 3 and not any("*TRG" in m for m in pg_traffic.sent())


def test_both_outputs_are_off_after_a_fault_mid_run(monkeypatch):
    with pg_bench() as bench:
        node = simulated(bench, "smu").port.node
        calls = {"n": 0}
        original = type(bench.smu).measure

        def failing(self, aperture):
            calls["n"] += 1
            if calls["n"] == 3:
                raise OSError("link lost")
            return original(self, aperture)
        monkeypatch.setattr(type(bench.smu), "measure", failing)
        with pytest.raises(LinkError, match="link lost") as failure:   # one line naming the resource
            run_protocol("potentiation", bench, {"pulses": 10}, out_dir=None)
        assert isinstance(failure.value.__cause__, OSError)
        assert [p.voltage for p in node.ports] == [None, None]       # SMU and generator outputs off


def test_pulses_beyond_the_generator_are_refused_before_anything_is_sent():
    short = PulseProgram((Train((Segment(1.0, 5e-9, "write"), Segment(0.1, 1e-3, "read", True)), 2),), 1e-3)
    with pg_bench() as bench:
        traffic = TrafficLog.attach(bench.pulse_generator)
        with pytest.raises(RangeError, match=r"width = 5 ns is out of range: allowed 16 ns"):
            Runner(bench, short).run()
        assert [m for m in traffic.sent() if "OUTP" not in m and "ABOR" not in m] == []


def test_bench_toml_wires_a_simulated_generator(tmp_path):
    path = tmp_path / "bench.toml"
    path.write_text('[simulator]\nseed = 2\nsmu = "keithley2450"\npulse_generator = "keysight33500"\n')
    with Bench.from_toml(path) as bench:
        snapshot = bench.snapshot()
    assert snapshot["instruments"]["pulse_generator"]["driver"] == "keysight33500"


def test_sim_serve_prints_every_role(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "labsuite", "sim", "serve", "--pulse-generator", "keysight33500"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        lines = [proc.stdout.readline().rstrip("\n").split("\t") for _ in range(3)]
    finally:
        proc.terminate()
        proc.wait(10)
    assert [line[0] for line in lines] == ["smu", "pulse_generator", "simulator"]
    assert all(line[1].startswith("TCPIP0::127.0.0.1::") for line in lines)
    assert lines[1][2].startswith("Agilent Technologies,33") or "33" in lines[1][2]


@pytest.mark.parametrize("smu", ["keithley2450", "keithley2400", "keithley2600", "keysightb2900"])
def test_every_smu_opens_its_output_while_the_generator_pulses(smu):
    """Off at 0 V (the NORMal off state after *RST) an SMU would short the generator's pulses: the
    Runner sets the high-impedance off state, so the pulses reach the device on any SMU."""
    with pg_bench(smu=smu) as bench:
        result = run_protocol("potentiation", bench, {"pulses": 5, "read_delay": "20 ms"}, out_dir=None)
        port = simulated(bench, "smu").port
        assert port.voltage is None                           # off, and open
    g = result.samples["current"] / result.samples["voltage"]
    assert g[-1] > 1.5 * g[0]


def test_an_smu_off_in_its_normal_state_holds_the_device_at_0_V():
    with Bench.simulated(seed=1) as bench:
        bench.smu.configure(1e-3, 1.0)
        bench.smu.set_off_state(high_impedance=False)
        bench.smu.identify()
        assert simulated(bench, "smu").port.voltage == 0.0


@pytest.mark.parametrize("driver, commands", [
    ("keithley2450", [":OUTP:SMOD HIMP"]),                       # 2450 Reference Manual, :OUTPut[1]:SMODe
    ("keithley2400", [":OUTP:SMOD HIMP"]),                       # 2400 User's Manual §13, output-off states
    ("keithley2600", ["smua.source.offmode = smua.OUTPUT_HIGH_Z"]),   # 2600B Reference Manual, smuX.source.offmode
    ("keysightb2900", [":OUTP1:OFF:MODE HIZ"]),                  # B2900 SCPI Command Reference, :OUTPut:OFF:MODE
])
def test_high_impedance_off_state_commands(driver, commands):
    from pymeasure.test import expected_protocol

    from labsuite import registry

    with expected_protocol(registry.INSTRUMENTS[driver].driver, [(c, None) for c in commands]) as smu:
        smu.set_off_state(high_impedance=True)



def test_a_write_a_short_could_drive_past_the_compliance_is_refused():
    """1.5 V through the generator's bare 50 Ω could push 30 mA into a shorted device: refused,
    nothing sent, with the resistance that would make it safe."""
    with Bench.simulated(seed=1, pulse_generator="keysight33500") as bench:
        traffic = TrafficLog.attach(bench.pulse_generator)
        with pytest.raises(LimitError, match=r"write level = 1\.5 V is out of range: allowed .* 50 mV .*"
                                             r"add series resistance"):
            run_protocol("potentiation", bench, {"pulses": 3}, out_dir=None)
        assert traffic.sent() == []


def test_hardware_timing_plays_the_writes_on_the_smus_sequencer():
    """Bursts are triggered from the computer: under timing "hardware" the SMU's own sequencer plays
    the writes (nothing is triggered on the generator), and where it cannot time them (a 2400's
    735 µs source-delay-measure cycle) the run is refused."""
    with pg_bench() as bench:
        traffic = TrafficLog.attach(bench.pulse_generator)
        result = run_protocol("potentiation", bench, {"pulses": 3}, out_dir=None, timing="hardware")
    assert result.samples.size == 4 and not any("*TRG" in m for m in traffic.sent())
    with pg_bench(smu="keithley2400") as bench, pytest.raises(LabsuiteError, match="2400"):
        run_protocol("potentiation", bench, {"pulses": 3}, out_dir=None, timing="hardware")


# two different pulses 1 ms apart: two bus triggers 1 ms apart on a generator
CLOSE = (Segment(1.0, 100e-6, "set"), Segment(0.0, 1e-3), Segment(1.2, 100e-6, "set 2"),
         Segment(0.0, 10e-3), Segment(0.1, 1e-3, "read", True), Segment(0.0, 10e-3))


def test_bursts_closer_than_a_computer_can_trigger_are_refused_where_the_smu_cannot_time_them():
    """On a 2400 (100 µs writes are shorter than its 735 µs source-delay-measure cycle) the train
    needs two bus triggers 1 ms apart: refused under auto timing, played when the user asks for
    software timing."""
    program = PulseProgram((Train(CLOSE, 2),), 1e-3)
    with pg_bench(smu="keithley2400") as bench:
        with pytest.raises(InvalidParameter, match="generator bursts follow each other 0 ms apart"):
            Runner(bench, program).run()      # the 1 ms gap ends the first burst; the next needs a trigger
        assert Runner(bench, program, timing="software").run().size == 2


@pytest.mark.parametrize("generator", GENERATORS)
def test_a_train_bursts_cannot_time_plays_on_the_smu_as_on_the_smu_alone(generator, watch_device):
    """The same train on a 2450 + generator bench: its sequencer plays it, writes included, with
    the generator's output off; readings equal the 2450-alone bench's (same seed, same device)."""
    program = PulseProgram((Train(CLOSE, 5),), 1e-3)
    with pg_bench(generator) as bench:
        drivers = set()
        watch_device(simulated(bench, "smu").port.node, lambda v, limit, duration, driving: drivers.update(driving))
        traffic = TrafficLog.attach(bench.pulse_generator)
        on_bench = Runner(bench, program).run()
    with Bench.simulated(seed=1) as bench:
        alone = Runner(bench, program).run()
    assert drivers == {"smu"} and not any("*TRG" in m for m in traffic.sent())
    np.testing.assert_allclose(on_bench["current"], alone["current"], rtol=1e-12)


@pytest.mark.parametrize("generator", GENERATORS)
def test_one_pulse_path_per_run(generator, caplog, tmp_path):
    """PPF's shortest intervals are beyond bus-triggered bursts, its longest are not: every pair of
    the run is then played by the SMU, so all intervals see the same pulse through the same path;
    one warning says so, and the run file, the JSON summary and the bench matrix record it."""
    with pg_bench(generator) as bench:
        traffic = TrafficLog.attach(bench.pulse_generator)
        result = run_protocol("ppf", bench, {"intervals": 4, "repeats": 1, "interval_max": "20 ms", "rest": "20 ms"},
                              out_dir=tmp_path)
        cell = next(c for c in bench_matrix(bench) if c.protocol == "ppf")
    assert not any("*TRG" in m for m in traffic.sent())
    assert [r.getMessage() for r in caplog.records if "SMU plays" in r.getMessage()] == [PULSES_ON_SMU]
    assert json.loads(read_run(result.path).attrs["provenance"])["pulses_played_by"] == "smu"
    assert result.summary()["pulses_played_by"] == "smu"
    assert cell.sequencing == ("smu_pulses",) and "the SMU plays the pulses (generator off)" in cell.describe()


@pytest.mark.parametrize("pulses", [600, 6000])
@pytest.mark.parametrize("generator", GENERATORS)
def test_round_trips_on_a_generator_bench_grow_with_the_list_length_not_the_pulse_count(generator, pulses):
    """Trains the SMU's sequencer plays on a generator bench: a constant handful of queries per
    2500-repeat chunk on the SMU, and none per pulse on the generator."""
    pattern = (Segment(1.0, 100e-6, "write"), Segment(0.1, 200e-6, "read", True), Segment(0.0, 700e-6))
    with pg_bench(generator) as bench:
        smu, pg = TrafficLog.attach(bench.smu), TrafficLog.attach(bench.pulse_generator)
        samples = Runner(bench, PulseProgram((Train(pattern, pulses),), 1e-3), chunk_duration=None).run()
        chunks = -(-pulses // bench.smu.capabilities.max_repeats)
    assert samples.size == pulses
    assert smu.reads <= 4 * chunks + 2 and smu.writes <= 6 * chunks + 6
    assert pg.reads <= 2 and pg.writes <= 3            # output off at the start, the switch-off at the end


def test_pg_bench_is_as_deterministic_over_tcp_as_in_process():
    """Hand-overs between SMU and generator are confirmed by a query, so over TCP the generator
    never plays while the SMU's output-off is still in flight."""
    def currents(transport: str) -> np.ndarray:
        with pg_bench(transport=transport) as bench:
            return run_protocol("potentiation", bench, {"pulses": 6}, out_dir=None).samples["current"]
    reference = currents("inprocess")
    for _ in range(2):
        np.testing.assert_array_equal(currents("tcp"), reference)


@pytest.mark.parametrize("wiring", [{"series_resistance": 1e3},
                                    {"pulse_generator": "keysight33500", "pulse_series_resistance": PROTECTION}],
                         ids=["smu through 1 kOhm", "33500 + 2 kOhm"])
def test_a_through_a_series_resistance_on_a_bench_matches_a_tight_reference_integration(wiring, monkeypatch):
    """200 pulses written through R_s on a simulated bench (the SMU's own sequencer, or the generator's
    bursts): the NeuroSim A agrees within 1e-6 with the same run integrated at rtol 1e-10, and the
    resistor is felt (A differs from the SMU straight on the device by more than 5 %)."""
    from labsuite.simulator.models.synaptic_memristor import SynapticMemristor

    def nonlinearity(rtol: float, **bench_wiring) -> float:
        monkeypatch.setattr(SynapticMemristor, "rtol", rtol)
        with Bench.simulated(seed=1, **bench_wiring) as bench:
            return run_protocol("potentiation", bench, {"pulses": 200}, out_dir=None).figures["nonlinearity_a"]

    rtol = SynapticMemristor.rtol
    fast = nonlinearity(rtol, **wiring)
    assert fast == pytest.approx(nonlinearity(1e-10, **wiring), rel=1e-6)
    assert abs(fast / nonlinearity(rtol) - 1) > 0.05
