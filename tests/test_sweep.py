"""Many devices, many parameter sets: the sweep runner on local processes and on Dask."""
import numpy as np
import pytest

from labsuite.simulator.models import SynapticMemristor
from labsuite.sweep import SweepPoint, devices, grid, run_point, sweep

SPREAD = {"d2d_sigma": 0.1}


def test_device_to_device_spread_shows_in_the_figures():
    """Eight devices with 10 % log-normal spread: G_min spreads by about 10 %; results follow seeds."""
    points = devices(8, model_params=SPREAD, protocol_params={"pulses": 20})
    results = sweep("potentiation", points)
    assert [r.point.seed for r in results] == list(range(8))
    g_min = np.array([r.figures["g_min"] for r in results])
    assert 0.03 < np.std(np.log(g_min)) < 0.25
    again = run_point("potentiation", points[3])           # serial, in this process
    assert again.figures == results[3].figures


def test_direct_playback_matches_the_instrument_path():
    point = SweepPoint(seed=4, model_params=SPREAD, protocol_params={"pulses": 15})
    via_bench = run_point("potentiation", point)
    direct = run_point("potentiation", point, direct=True)
    assert direct.figures["g_max"] == pytest.approx(via_bench.figures["g_max"], rel=1e-5)
    assert direct.figures["nonlinearity_a"] == pytest.approx(via_bench.figures["nonlinearity_a"], rel=1e-4)


def test_parameter_grid_covers_every_combination_and_a_follows_width():
    points = grid(SweepPoint(model_params={"c2c_sigma": 0, "read_noise": 0}, protocol_params={"pulses": 40}),
                  width=[100e-6, 200e-6])
    results = sweep("potentiation", points, direct=True)
    a = [r.figures["nonlinearity_a"] for r in results]
    expected = [SynapticMemristor().pulses_constant(1.5, w) for w in (100e-6, 200e-6)]
    assert a == pytest.approx(expected, rel=0.03)                 # A = 1/(k·t_p): doubling t_p halves A


def test_dask_client_works_as_the_executor():
    distributed = pytest.importorskip("distributed")
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=2, dashboard_address=None) as client:
        results = sweep("potentiation", devices(4, model_params=SPREAD, protocol_params={"pulses": 10}),
                        executor=client.get_executor(), direct=True)
    local = sweep("potentiation", devices(4, model_params=SPREAD, protocol_params={"pulses": 10}), direct=True)
    assert [r.figures for r in results] == [r.figures for r in local]
