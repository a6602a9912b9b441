"""The GUI driven as a user would: connect the simulated bench, fill the form, run, watch, abort, browse.

Qt runs offscreen (tests/conftest.py sets QT_QPA_PLATFORM before Qt is imported). Runs play on
the simulated bench in virtual time, so they take milliseconds; where a test must act in the
middle of a run, a gate holds the SMU's next train in the worker thread until the test has
acted, which also shows the window staying responsive while the worker waits on an instrument.
Each test saves a screenshot under its tmp path.
"""
from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest
import pyvisa
from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QApplication

from labsuite import Bench, registry, run_protocol
from labsuite.gui.app import MainWindow
from labsuite.discovery import discover
from labsuite.gui.bench_panel import role_of
from labsuite.core.events import RunState
from labsuite.store import read_run
from labsuite.traffic import TrafficLog

RUN_TIMEOUT_MS = 30_000      # generous: a loaded 2-core machine; the runs themselves take milliseconds
WAIT_MS = 10_000


@pytest.fixture
def window(qtbot, tmp_path):
    win = MainWindow(tmp_path / "runs")
    qtbot.addWidget(win)
    win.resize(1400, 900)
    win.show()
    qtbot.waitExposed(win)
    return win


@pytest.fixture
def connected(window, qtbot):
    """The window with the simulated bench (seed 1) connected from the Bench panel, as a user does it."""
    panel = window.bench_panel
    window.panels.setCurrentWidget(panel)
    panel.seed.setText("1")
    with qtbot.waitSignal(panel.connected, timeout=RUN_TIMEOUT_MS):
        qtbot.mouseClick(panel.connect_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not panel.busy, timeout=WAIT_MS)
    window.panels.setCurrentWidget(window.protocol_panel)
    return window


def shoot(widget, tmp_path: Path, name: str) -> Path:
    """Save a screenshot artifact of ``widget`` (laid out first)."""
    QApplication.processEvents()
    folder = tmp_path / "screenshots"
    folder.mkdir(exist_ok=True)
    path = folder / f"{name}.png"
    assert widget.grab().save(str(path))
    assert path.stat().st_size > 10_000
    return path


def fill(qtbot, window, protocol: str, values: dict[str, str]) -> None:
    """Pick ``protocol`` and type ``values`` into its fields."""
    panel = window.protocol_panel
    panel.picker.setCurrentIndex(panel.picker.findData(protocol))
    for name, text in values.items():
        field = panel.form.fields[name]
        field.clear()
        qtbot.keyClicks(field, text)
    qtbot.waitUntil(lambda: not window.check_pending, timeout=WAIT_MS)    # the form is checked once typing pauses


def run(qtbot, window):
    """Click Run; wait for the run and for the output query after it; return its Outcome."""
    assert window.controls.run_button.isEnabled(), window.protocol_panel.reason.text()
    with qtbot.waitSignal(window.run_finished, timeout=RUN_TIMEOUT_MS) as finished:
        qtbot.mouseClick(window.controls.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.bench_panel.busy, timeout=WAIT_MS)
    return finished.args[0]


class TrainGate:
    """Holds the SMU's ``hold_at``-th train in the worker thread until :meth:`release`; counts trains."""

    def __init__(self, smu, monkeypatch, hold_at: int) -> None:
        self.calls, self.hold_at = 0, hold_at
        self.reached, self.released = threading.Event(), threading.Event()
        play = smu.run_train

        def gated(train, compliance):
            self.calls += 1
            if self.calls == self.hold_at:
                self.reached.set()
                assert self.released.wait(RUN_TIMEOUT_MS / 1000), "the test never released the gate"
            return play(train, compliance)
        monkeypatch.setattr(smu, "run_train", gated)

    def release(self) -> None:
        self.released.set()


@pytest.fixture
def gate(monkeypatch):
    """``gate(smu, hold_at)`` makes a TrainGate; every gate opens when the test ends, pass or fail."""
    gates = []

    def make(smu, hold_at: int) -> TrainGate:
        gates.append(TrainGate(smu, monkeypatch, hold_at))
        return gates[-1]
    yield make
    for g in gates:
        g.release()


def measured(plot) -> tuple[np.ndarray, np.ndarray]:
    """The first (measured) series a SpecPlot holds (pyqtgraph keeps None for no data)."""
    curve = plot.curves[0]
    empty = np.empty(0)
    return (empty, empty) if curve.xData is None else (curve.xData, curve.yData)


def test_the_simulated_bench_connects_with_its_smu_and_output_off(connected, tmp_path):
    panel = connected.bench_panel
    assert panel.bench is not None and panel.bench.simulator["seed"] == 1
    assert panel.instruments.rowCount() == 1
    assert panel.instruments.item(0, 0).text() == "SMU"
    assert "MODEL 2450" in panel.instruments.item(0, 2).text()
    assert panel.lamps["smu"].on is False and "OFF" in panel.lamps["smu"].text()
    assert connected.controls.lamps["smu"].on is False
    assert "synaptic-memristor" in panel.status.text() and "seed 1" in panel.status.text()
    assert connected.controls.run_button.isEnabled()
    shoot(connected, tmp_path, "connected")


@pytest.mark.parametrize("smu", registry.names("smu"))
def test_each_simulated_smu_connects_with_its_output_read_back_off(window, qtbot, smu):
    panel = window.bench_panel
    with qtbot.waitSignal(panel.connected, timeout=RUN_TIMEOUT_MS):
        panel.connect_simulated(seed=2, smu=smu)
    qtbot.waitUntil(lambda: not panel.busy, timeout=WAIT_MS)
    assert panel.lamps["smu"].on is False and "queried" in panel.lamps["smu"].text()
    assert window.controls.lamps["smu"].on is False


def test_a_bench_with_a_pulse_generator_has_a_lamp_for_each_output(window, qtbot, tmp_path):
    panel = window.bench_panel
    generator = registry.names("pulse_generator")[0]
    with qtbot.waitSignal(panel.connected, timeout=RUN_TIMEOUT_MS):   # 2 kΩ: a short stays under 1 mA at 1.5 V
        panel.connect_simulated(seed=2, pulse_generator=generator, pulse_series_resistance=2e3)
    qtbot.waitUntil(lambda: not panel.busy, timeout=WAIT_MS)
    assert list(window.controls.lamps) == ["smu", "pulse_generator"] and panel.instruments.rowCount() == 2
    fill(qtbot, window, "potentiation", {"pulses": "8"})
    outcome = run(qtbot, window)
    assert outcome.state is RunState.COMPLETED and np.diff(measured(window.plots.main)[1]).mean() > 0
    assert all(lamp.on is False for lamp in window.controls.lamps.values())
    assert window.controls.lamps["pulse_generator"].text() == "pulse generator output OFF"
    assert window.controls.lamps["pulse_generator"].toolTip().endswith("queried")
    shoot(window, tmp_path, "pulse-generator")


def test_a_potentiation_fills_the_plot_live_and_conductance_rises(connected, qtbot, gate, tmp_path):
    """A 5 s period puts 6 pulses in each 30 s chunk: the plot shows the first chunk while the
    second is held, then all 18 pulses, the NeuroSim fit and the figures of merit."""
    fill(qtbot, connected, "potentiation", {"pulses": "18", "period": "5 s", "amplitude": "1.5 V"})
    held = gate(connected.bench_panel.bench.smu, hold_at=3)
    assert connected.controls.run_button.isEnabled(), connected.protocol_panel.reason.text()
    qtbot.mouseClick(connected.controls.run_button, Qt.MouseButton.LeftButton)
    assert held.reached.wait(RUN_TIMEOUT_MS / 1000)
    plots = connected.plots
    qtbot.waitUntil(lambda: plots.main.curves and measured(plots.main)[0].size == plots.buffer.size > 1,
                    timeout=WAIT_MS)
    live_points = plots.buffer.size
    assert connected.worker is not None and connected.controls.abort_button.isEnabled()
    assert connected.controls.lamps["smu"].on is True                 # the run's output lamp while trains play
    assert "program" in connected.controls.progress.format() and "left" in connected.controls.progress.format()
    shoot(connected, tmp_path, "potentiation-live")
    with qtbot.waitSignal(connected.run_finished, timeout=RUN_TIMEOUT_MS) as finished:
        held.release()
    qtbot.waitUntil(lambda: not connected.bench_panel.busy, timeout=WAIT_MS)
    outcome = finished.args[0]

    assert outcome.state is RunState.COMPLETED
    pulses, g = measured(plots.main)
    assert 1 < live_points < pulses.size == 19                  # the read before the first pulse, then 18
    assert np.all((g > 1e-6) & (g < 1e-3))                      # S: a memristor's conductance, not noise
    assert g[-1] > 3 * g[0] and np.mean(np.diff(g) > 0) > 0.9   # it rises under identical SET pulses
    names = [name for name in plots.main._names if name]
    assert any(name.startswith("fit: A =") for name in names)
    figures = {plots.figures_table.item(r, 0).text(): plots.figures_table.item(r, 1).text()
               for r in range(plots.figures_table.rowCount())}
    assert {"g_min", "g_max", "nonlinearity_a"} <= set(figures) and figures["g_max"].endswith("µS")
    assert plots.voltage.curves[0].xData.size > 0 and plots.current.curves[0].yData.max() > 0
    stored = read_run(outcome.path)
    assert stored.status == "completed" and stored.samples.size == plots.buffer.size == 19
    assert connected.browser.table.rowCount() == 1 and connected.browser.selected() == [outcome.path]
    assert connected.controls.lamps["smu"].on is False                   # queried after the run
    shoot(connected, tmp_path, "potentiation")


def test_a_ppf_sweep_plots_the_index_on_a_log_axis_with_its_fit(connected, qtbot, tmp_path):
    fill(qtbot, connected, "ppf", {"intervals": "6", "repeats": "2", "interval_min": "1 ms",
                                   "interval_max": "50 ms", "rest": "100 ms"})
    outcome = run(qtbot, connected)
    assert outcome.state is RunState.COMPLETED
    main = connected.plots.main
    assert main.spec.log_x and main.getPlotItem().getAxis("bottom").logMode
    dt, ppf = measured(main)
    assert dt.size == 6 and dt.min() == pytest.approx(1e-3) and dt.max() == pytest.approx(50e-3)
    assert np.all(ppf > 100) and ppf[np.argmin(dt)] > ppf[np.argmax(dt)]   # facilitation, fading with Δt
    fit = main.curves[1]
    assert main.spec.series[1].style == "fit" and fit.xData.size == 400
    figures = [connected.plots.figures_table.item(r, 0).text() for r in range(connected.plots.figures_table.rowCount())]
    assert "tau1" in figures and "c1" in figures
    shoot(connected, tmp_path, "ppf")


def test_an_iv_sweep_shows_linear_loops_and_log_current(connected, qtbot, tmp_path):
    fill(qtbot, connected, "iv", {"cycles": "2", "step": "50 mV"})
    outcome = run(qtbot, connected)
    assert outcome.state is RunState.COMPLETED
    linear, log_plot = connected.plots.main, connected.plots.log_plot
    assert log_plot.isVisible() and log_plot.spec.log_y and not linear.spec.log_y
    assert [s.name for s in linear.spec.series] == ["cycle 1", "cycle 2"]
    v, i = measured(linear)
    assert v.min() == pytest.approx(-1.5, abs=0.01) and v.max() == pytest.approx(1.5, abs=0.01)
    assert np.all(np.sign(i[np.abs(v) > 0.2]) == np.sign(v[np.abs(v) > 0.2]))   # current follows the voltage
    magnitude = measured(log_plot)[1]
    assert np.all(magnitude >= 0) and np.mean(magnitude > 0) > 0.9               # |I| (0 A only at 0 V)
    shoot(connected, tmp_path, "iv")


def test_a_long_series_is_drawn_decimated_and_in_detail_when_zoomed(qtbot):
    from labsuite.gui.live_plots import SpecPlot, peak_decimate
    from labsuite.core.plotspec import PlotSpec, Series

    x, y = np.arange(10.0), np.array([1, 5, 2, np.nan, 3, 9, 0, 4, 4, 4.0])
    assert [a.tolist() for a in peak_decimate(x, y, 3)] == [[0, 3, 4, 7, 8, 9], [1, 5, 0, 9, 4, 4]]

    plot = SpecPlot()
    qtbot.addWidget(plot)
    plot.resize(800, 500)
    plot.show()
    qtbot.waitExposed(plot)
    pulses = np.arange(200_000.0)
    g = 1e-5 + 1e-9 * pulses
    g[123_456] = 1e-3                                          # one spike must survive decimation
    plot.show_spec(PlotSpec("long", "pulse number", "", "conductance", "S", (Series("G", pulses, g),)))
    drawn = plot.curves[0]
    assert plot.point_count() == pulses.size and drawn.xData.size <= 2 * 800
    assert drawn.yData.max() == 1e-3 and drawn.xData[[0, -1]].tolist() == [0, pulses[-1]]
    plot.getPlotItem().getViewBox().setXRange(1000, 1100, padding=0)
    qtbot.waitUntil(lambda: drawn.xData.size < 2 * 800 and drawn.xData.min() >= 999, timeout=WAIT_MS)
    assert np.array_equal(drawn.xData, pulses[999:1102])       # every point of the zoomed range


def test_abort_midway_turns_the_output_off_and_keeps_a_readable_file(connected, qtbot, gate, tmp_path):
    fill(qtbot, connected, "potentiation", {"pulses": "24", "period": "5 s"})
    smu = connected.bench_panel.bench.smu
    held = gate(smu, hold_at=3)
    assert connected.controls.run_button.isEnabled(), connected.protocol_panel.reason.text()
    qtbot.mouseClick(connected.controls.run_button, Qt.MouseButton.LeftButton)
    assert held.reached.wait(RUN_TIMEOUT_MS / 1000)
    qtbot.waitUntil(lambda: connected.plots.buffer.size > 1, timeout=WAIT_MS)
    qtbot.mouseClick(connected.controls.abort_button, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(connected.run_finished, timeout=RUN_TIMEOUT_MS) as finished:
        held.release()
    qtbot.waitUntil(lambda: not connected.bench_panel.busy, timeout=WAIT_MS)
    outcome = finished.args[0]

    assert outcome.state is RunState.ABORTED
    assert held.calls == 3                                       # the held train was the last one sent
    assert smu.ask(":OUTP?").strip() == "0"                      # the instrument itself says: output off
    assert connected.bench_panel.lamps["smu"].on is False and connected.controls.lamps["smu"].on is False
    stored = read_run(outcome.path)
    assert stored.status == "aborted" and "aborted" in stored.attrs["error"]
    assert 1 < stored.samples.size == connected.plots.buffer.size < 25
    assert np.array_equal(stored.samples["current"], connected.plots.buffer.samples["current"])
    assert connected.browser.table.item(0, 3).text() == "aborted"
    assert connected.controls.run_button.isEnabled() and not connected.controls.abort_button.isEnabled()
    shoot(connected, tmp_path, "aborted")


def test_invalid_input_disables_run_names_the_field_and_reaches_no_instrument(connected, qtbot, tmp_path):
    traffic = TrafficLog.attach(connected.bench_panel.bench.smu)
    form, reason = connected.protocol_panel.form, connected.protocol_panel.reason
    run_button = connected.controls.run_button
    fill(qtbot, connected, "potentiation", {"amplitude": "12 V"})
    assert not run_button.isEnabled()
    assert reason.text() == "amplitude = 12 V is out of range: allowed -10 V to 10 V (bench limit max_voltage)"
    assert run_button.toolTip() == reason.text()
    assert "d62728" in form.fields["amplitude"].styleSheet()
    shoot(connected, tmp_path, "invalid-amplitude")

    fill(qtbot, connected, "potentiation", {"amplitude": "300 V"})
    assert reason.text() == ("amplitude = 300 V is out of range: allowed 0 V to 210 V (potentiation pulses are "
                             "positive; give e.g. amplitude=1.5V, or run depression for negative pulses)")
    fill(qtbot, connected, "potentiation", {"amplitude": "1.2 parsec"})
    assert reason.text().startswith("amplitude: '1.2 parsec' is not a quantity in V")
    fill(qtbot, connected, "potentiation", {"amplitude": "1.5 V", "width": "20 us"})    # shorter than the SMU can time
    assert not run_button.isEnabled()
    assert reason.text().startswith("width = 20 µs is shorter than the Keithley 2450 SourceMeter can time (50 µs)")
    assert "d62728" in form.fields["width"].styleSheet()                 # the field to change is marked

    qtbot.mouseClick(run_button, Qt.MouseButton.LeftButton)
    connected.run_form()
    assert connected.worker is None
    assert traffic.entries == []                                 # not a byte reached the SMU
    assert not (tmp_path / "runs").exists() or not list((tmp_path / "runs").glob("*.h5"))

    device = connected.device_panel
    device.limit_fields["max_voltage"].clear()
    qtbot.keyClicks(device.limit_fields["max_voltage"], "1 V")
    fill(qtbot, connected, "potentiation", {"width": "100 us"})
    assert reason.text() == "amplitude = 1.5 V is out of range: allowed -1 V to 1 V (bench limit max_voltage)"
    assert connected.bench_panel.bench.limits.max_voltage == 1.0
    fill(qtbot, connected, "potentiation", {"amplitude": "0.9 V"})
    assert run_button.isEnabled() and reason.text() == ""
    traffic.detach()


def test_past_runs_open_overlay_export_and_replay_through_the_live_plots(window, qtbot, tmp_path):
    folder = tmp_path / "runs"
    paths = []
    for seed in (2, 3):
        with Bench.simulated(seed=seed) as bench:
            paths.append(run_protocol("potentiation", bench, {"pulses": 15, "period": "10 ms", "read_delay": "2 ms"},
                                      out_dir=folder, device_id=f"D{seed}").path)
    browser, plots = window.browser, window.plots
    browser.refresh()
    assert browser.table.rowCount() == 2

    browser.select(paths[0])
    qtbot.mouseClick(browser.open_button, Qt.MouseButton.LeftButton)
    stored = read_run(paths[0])
    g = stored.samples["current"] / stored.samples["voltage"]
    assert np.allclose(measured(plots.main)[1], g)
    assert plots.figures_table.rowCount() == len([k for k in stored.analysis if k != "units"])

    browser.select(*paths)
    qtbot.mouseClick(browser.overlay_button, Qt.MouseButton.LeftButton)
    names = [n for n in plots.main._names if n.endswith("measured")]
    assert len(names) == 2 and any(n.startswith("D2") for n in names) and any(n.startswith("D3") for n in names)
    assert plots.main.point_count() >= 2 * g.size
    headers = [plots.figures_table.horizontalHeaderItem(c).text() for c in range(plots.figures_table.columnCount())]
    assert headers[0] == "figure of merit" and sorted(h.split()[0] for h in headers[1:]) == ["D2", "D3"]
    shoot(window, tmp_path, "overlay")

    csvs = browser.export_csv(tmp_path / "export")
    assert sorted(p.name for p in csvs) == sorted(p.with_suffix(".csv").name for p in paths)
    assert csvs[0].read_text(encoding="utf-8").startswith("# labsuite run:")
    png = browser.export_png(tmp_path / "export")
    assert png.stat().st_size > 10_000

    browser.select(paths[1])
    with qtbot.waitSignal(window.run_finished, timeout=RUN_TIMEOUT_MS) as finished:
        qtbot.mouseClick(browser.replay_button, Qt.MouseButton.LeftButton)
    outcome = finished.args[0]
    replayed = read_run(paths[1])
    assert outcome.state is RunState.COMPLETED and outcome.path == paths[1]
    assert np.array_equal(plots.buffer.samples, replayed.samples)
    assert np.allclose(measured(plots.main)[1], replayed.samples["current"] / replayed.samples["voltage"])
    assert outcome.figures["nonlinearity_a"] == pytest.approx(replayed.analysis["nonlinearity_a"])
    assert browser.table.rowCount() == 2                          # a replay writes no run file
    shoot(window, tmp_path, "replay")


def test_recipes_save_and_load_and_the_queue_plays_in_order(connected, qtbot, tmp_path):
    from labsuite.recipe import load_recipe

    panel = connected.protocol_panel
    fill(qtbot, connected, "ppf", {"intervals": "4", "interval_max": "20 ms"})
    panel.form.choice_fields["order"].setCurrentText("interleaved")
    qtbot.waitUntil(lambda: not connected.check_pending, timeout=WAIT_MS)
    saved = panel.save_recipe(tmp_path / "ppf.toml")
    recipe = load_recipe(saved)
    assert recipe.steps[0].build().values == panel.form.protocol.values
    assert recipe.steps[0].build().options == {"order": "interleaved"}

    fill(qtbot, connected, "potentiation", {})
    panel.load_recipe(saved)
    assert panel.protocol_name == "ppf" and panel.form.fields["intervals"].text() == "4"
    assert panel.form.choice_fields["order"].currentText() == "interleaved"

    sequence = tmp_path / "sequence.toml"
    sequence.write_text('name = "short"\n[[step]]\nprotocol = "potentiation"\nrepeat = 2\n'
                        'parameters = { pulses = 5, period = "10 ms", read_delay = "2 ms" }\n'
                        '[[step]]\nprotocol = "depression"\nparameters = { pulses = 5, period = "10 ms", '
                        'read_delay = "2 ms" }\n', encoding="utf-8")
    panel.load_recipe(sequence)
    assert [q.protocol for q in panel.queue] == ["potentiation", "potentiation", "depression"]
    assert connected.controls.queue_button.isEnabled()
    outcomes = []
    connected.run_finished.connect(outcomes.append)
    qtbot.mouseClick(connected.controls.queue_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(outcomes) == 3 and not connected.bench_panel.busy, timeout=RUN_TIMEOUT_MS)
    assert [o.protocol.name for o in outcomes] == ["potentiation", "potentiation", "depression"]
    assert all(o.state is RunState.COMPLETED for o in outcomes) and panel.queue == []
    steps = [read_run(o.path).attrs["provenance"] for o in outcomes]
    assert '"step": 2' in steps[2] and '"recipe": "short"' in steps[0]
    assert connected.browser.table.rowCount() == 3


def test_discovery_finds_the_simulated_2450_and_its_driver_connects(qtbot, tmp_path, station):
    library = station.visa_library()
    found = discover(library)
    assert [(f.resource, f.driver) for f in found] == [(station.resources["smu"], "keithley2450")]
    assert found[0].idn.startswith("KEITHLEY INSTRUMENTS,MODEL 2450") and role_of(found[0]) == "smu"

    win = MainWindow(tmp_path / "runs", visa_library=library)
    qtbot.addWidget(win)
    panel = win.bench_panel
    panel.source.setCurrentIndex(1)
    with qtbot.waitSignal(panel.busy_changed, check_params_cb=lambda busy: not busy, timeout=WAIT_MS):
        qtbot.mouseClick(panel.discover_button, Qt.MouseButton.LeftButton)
    assert panel.found.rowCount() == 1 and panel.found.item(0, 2).text() == "keithley2450"
    assert panel.connect_button.isEnabled()                        # the row with a driver is selected
    with qtbot.waitSignal(panel.connected, timeout=WAIT_MS):
        qtbot.mouseClick(panel.connect_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not panel.busy, timeout=WAIT_MS)
    assert panel.bench.simulator is None and panel.bench.resources["smu"] == station.resources["smu"]
    assert panel.lamps["smu"].on is False
    with qtbot.waitSignal(panel.disconnected, timeout=WAIT_MS):
        qtbot.mouseClick(panel.disconnect_button, Qt.MouseButton.LeftButton)
    assert panel.bench is None and panel.instruments.rowCount() == 0
    smu = pyvisa.ResourceManager(library).open_resource(station.resources["smu"], read_termination="\n",
                                                         write_termination="\n")
    assert smu.query(":OUTP?").strip() == "0"                     # Disconnect left the output off
    smu.close()
    library.close_library()


def test_the_log_panel_shows_records_and_the_instrument_traffic(connected, qtbot):
    import logging

    log_panel = connected.log_panel
    logging.getLogger("labsuite.test").info("a note for the log panel")
    qtbot.waitUntil(lambda: "a note for the log panel" in log_panel.text.toPlainText(), timeout=WAIT_MS)
    log_panel.show_traffic.setChecked(True)
    fill(qtbot, connected, "potentiation", {"pulses": "3"})
    run(qtbot, connected)
    qtbot.waitUntil(lambda: ":INIT" in log_panel.traffic_text.toPlainText(), timeout=WAIT_MS)
    assert "Potentiation (LTP): run completed" in log_panel.text.toPlainText()


def test_labsuite_gui_screenshot_runs_a_protocol_and_saves_the_window(qapp, tmp_path):
    from labsuite.cli import main

    shot = tmp_path / "gui.png"
    status = main(["gui", "--sim", "--seed", "1", "--run", "potentiation", "--set", "pulses=10",
                   "--screenshot", str(shot), "--out", str(tmp_path / "runs")])
    assert status == 0 and shot.stat().st_size > 50_000
    assert [read_run(p).status for p in (tmp_path / "runs").glob("*.h5")] == ["completed"]
    assert main(["gui", "--run", "potentiation"]) == 2            # --run needs the simulated bench


def test_forming_that_forms_at_once_and_a_failing_plot_still_end_the_run_properly(connected, qtbot, monkeypatch,
                                                                                  tmp_path):
    """Seed 1 forms at the first pulse (a single point to plot); a protocol whose plot() raises shows
    the error in the status bar and the Log tab, and the run's end is still recorded: lamps, browser, Run."""
    fill(qtbot, connected, "forming", {})
    outcome = run(qtbot, connected)
    assert outcome.state is RunState.COMPLETED and connected.browser.table.rowCount() == 1
    assert connected.plots.error == "" and connected.plots.main.point_count() >= 1

    from labsuite.protocols.potentiation import Potentiation

    def broken(self, samples, figures):
        raise IndexError("index 0 is out of bounds")
    monkeypatch.setattr(Potentiation, "plot", broken)
    fill(qtbot, connected, "potentiation", {"pulses": "5"})
    outcome = run(qtbot, connected)
    assert outcome.state is RunState.COMPLETED and connected.browser.table.rowCount() == 2
    assert "plot error" in connected.log_panel.text.toPlainText()
    assert not connected.running and connected.controls.run_button.isEnabled()
    assert "OFF" in connected.controls.lamps["smu"].text()
    shoot(connected, tmp_path, "plot_error")


def test_an_exception_in_a_slot_is_logged_in_the_log_tab(window, monkeypatch):
    import sys

    from labsuite.gui.app import install_excepthook
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    install_excepthook(window)
    try:
        raise ValueError("slot went wrong")
    except ValueError:
        sys.excepthook(*sys.exc_info())
    assert "slot went wrong" in window.log_panel.text.toPlainText()
    assert "slot went wrong" in window.statusBar().currentMessage()


def test_the_form_is_checked_once_typing_pauses_and_run_waits_for_the_check(connected, qtbot, monkeypatch):
    form = connected.protocol_panel.form
    fill(qtbot, connected, "potentiation", {})
    checks = []
    validate = form.validate
    monkeypatch.setattr(form, "validate", lambda *a: checks.append(a) or validate(*a))
    field = form.fields["pulses"]
    field.clear()
    qtbot.keyClicks(field, "12345")
    assert not connected.controls.run_button.isEnabled() and connected.check_pending and form.protocol is None
    qtbot.waitUntil(lambda: not connected.check_pending, timeout=WAIT_MS)
    assert len(checks) == 1 and connected.controls.run_button.isEnabled()


def test_log_axes_label_only_the_decades(qapp):
    from labsuite.gui.live_plots import DecadeAxis

    axis = DecadeAxis("bottom")
    axis.setLogMode(True)
    levels = axis.tickValues(-3.5, -1.0, 600)              # log mode: majors at decades, minors (spacing None)
    shown = [(v, text) for spacing, values in levels for v, text in zip(values, axis.tickStrings(values, 1.0, spacing))
             if text]
    assert len(shown) >= 2 and {round(v) for v, _ in shown} <= {-3, -2, -1} and all(abs(v - round(v)) < 1e-9 for v, _ in shown)
    narrow = axis.tickValues(-2.9, -2.6, 600)                 # within one decade: the minor labels stay
    assert any(axis.tickStrings(narrow[-1][1], 1.0, None))


def test_a_run_that_fails_in_the_worker_keeps_its_protocol_and_samples(qtbot):
    from labsuite.gui.worker import RunWorker
    from labsuite.core.program import SAMPLE_DTYPE
    from labsuite.protocols import PROTOCOLS
    from labsuite.core.events import Progress

    protocol = PROTOCOLS["potentiation"]()

    def job(observers, hook):
        observers[0].on_samples(np.zeros(7, SAMPLE_DTYPE), Progress(0.0, 1.0, 0.0, 7))
        raise OSError("instrument went away")
    job.protocol = protocol
    worker = RunWorker(job)
    with qtbot.waitSignal(worker.done, timeout=WAIT_MS) as done:
        worker.start()
    worker.wait()
    outcome = done.args[0]
    assert outcome.protocol is protocol and outcome.samples.size == 7 and outcome.state is RunState.FAILED


def test_a_default_the_bench_cannot_play_is_shown_at_the_value_it_can_and_stored_as_adjusted(window, qtbot):
    panel = window.bench_panel
    window.panels.setCurrentWidget(panel)
    panel.seed.setText("1")
    panel.smu_driver.setCurrentText("keithley2400")
    with qtbot.waitSignal(panel.connected, timeout=RUN_TIMEOUT_MS):
        qtbot.mouseClick(panel.connect_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not panel.busy, timeout=WAIT_MS)
    window.panels.setCurrentWidget(window.protocol_panel)
    fill(qtbot, window, "potentiation", {"pulses": "5"})
    form = window.protocol_panel.form
    assert form.bench_note.isVisible() and "width 100 µs → 1 ms" in form.bench_note.text()
    assert "#e0ecfa" in form.fields["width"].styleSheet() and form.protocol.values["width"] == 1e-3
    window.protocol_panel.add_current()   # queued as it plays, with the same record
    queued = window.protocol_panel.take_next()
    assert queued.values["width"] == "1 ms" and queued.label == "Potentiation (LTP): pulses = 5, width = 1 ms"
    assert queued.provenance == form.provenance()
    outcome = run(qtbot, window)
    assert outcome.state is RunState.COMPLETED
    provenance = json.loads(read_run(outcome.path).attrs["provenance"])
    assert provenance["adjusted_defaults"] == {"width": {"default": 1e-4, "bench": 1e-3, "unit": "s"}}
    fill(qtbot, window, "potentiation", {"width": "200 us"})   # a value the user typed is refused, not changed
    assert not form.bench_note.isVisible() and form.protocol is None
    assert "use --set width=1ms" in window.protocol_panel.reason.text()


def test_the_form_builds_a_drop_down_list_for_each_choice_and_marks_a_bad_file(connected, qtbot, tmp_path):
    """PPF's order is a fixed list; STDP's waveform is a list that also takes a .csv file."""
    from PyQt6.QtWidgets import QComboBox

    form = connected.protocol_panel.form
    fill(qtbot, connected, "ppf", {})
    order = form.choice_fields["order"]
    assert isinstance(order, QComboBox) and not order.isEditable()
    assert [order.itemText(i) for i in range(order.count())] == ["ascending", "interleaved"]
    order.setCurrentText("interleaved")
    qtbot.waitUntil(lambda: not connected.check_pending, timeout=WAIT_MS)
    assert form.protocol is not None and form.protocol.order == "interleaved"

    fill(qtbot, connected, "stdp", {})
    waveform = form.choice_fields["waveform"]
    assert waveform.isEditable() and waveform.currentText() == "exponential"
    assert [waveform.itemText(i) for i in range(waveform.count())] == ["rectangular", "triangular", "biphasic",
                                                                       "exponential"]
    waveform.setEditText("sine")
    qtbot.waitUntil(lambda: not connected.check_pending, timeout=WAIT_MS)
    assert form.protocol is None
    assert connected.protocol_panel.reason.text() == ("waveform: 'sine' is not a choice: choose rectangular, "
                                                      "triangular, biphasic or exponential, or a .csv file")
    assert "d62728" in waveform.styleSheet()
    shoot(connected.protocol_panel, tmp_path, "choices")


@pytest.mark.parametrize("field, value, words", [("seed", "1.5", "seed: '1.5' must be a whole number"),
                                                 ("generator_path", "-2 kohm", "pulse series resistance = -2 kΩ")])
def test_a_bad_bench_setting_is_refused_in_the_panel_with_its_range_and_nothing_connects(window, qtbot, field,
                                                                                          value, words):
    panel = window.bench_panel
    window.panels.setCurrentWidget(panel)
    getattr(panel, field).setText(value)
    qtbot.mouseClick(panel.connect_button, Qt.MouseButton.LeftButton)
    assert panel.bench is None and not panel.busy
    assert "connect failed" in panel.status.text() and words in panel.status.text(), panel.status.text()
    assert "ohm" in panel.generator_path.toolTip() and "0 to 9223372036854775807" in panel.seed.toolTip()
