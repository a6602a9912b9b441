"""Every registered model keeps the DeviceModel contract and runs on the simulated bench."""
import numpy as np
import pytest

from labsuite import Bench, run_protocol
from labsuite.core.units import parse_quantity
from labsuite.simulator.models import MODELS, make_model


@pytest.mark.parametrize("name", sorted(MODELS))
def test_model_contract(name):
    """Seeded, vectorized, documented: state (k, n), units that parse, same seed → same run."""
    cls = MODELS[name]
    assert cls.__doc__ and cls.name == name
    for f in cls.params_type.__dataclass_fields__.values():
        parse_quantity(f"1 {f.metadata.get('unit', '')}".strip(), f.metadata.get("unit", ""), f.name)

    def run(seed):
        model = make_model(name, np.random.default_rng(seed), n=3)
        assert model.x.shape == (len(cls.state_names), 3)
        currents = [model.evolve(v, 1e-4, i_limit=1e-3).current for v in (0.1, 1.0, 0.0, -1.0, 0.1)]
        return np.array(currents), model.state()
    (c1, x1), (c2, x2) = run(5), run(5)
    assert np.array_equal(c1, c2) and np.array_equal(x1, x2)
    assert np.all(np.isfinite(c1))
    assert np.all(np.abs(c1) <= 1e-3 * (1 + 1e-9))                     # the current limit holds


@pytest.mark.parametrize("name", ["linear-ion-drift-joglekar", "soft-bounds", "multi-timescale", "iontronic"])
def test_models_run_a_protocol_on_the_simulated_bench(name):
    with Bench.simulated(model=name, seed=1) as bench:
        result = run_protocol("potentiation", bench, {"pulses": 5}, out_dir=None)
    assert result.samples.size == 6 and np.all(np.isfinite(result.samples["current"]))
    assert bench.simulator["model"]["model"] == name
