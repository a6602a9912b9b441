"""Every registered model keeps the DeviceModel contract and runs on the simulated bench."""
from dataclasses import fields

import numpy as np
import pytest

from labsuite import Bench, run_protocol
from labsuite.core.parameters import Number, declared
from labsuite.core.units import parse_quantity
from labsuite.simulator.models import MODELS, make_model


@pytest.mark.parametrize("name", sorted(MODELS))
def test_model_contract(name):
    """Seeded, vectorized, documented: state (k, n), units that parse, same seed → same run."""
    cls = MODELS[name]
    assert cls.__doc__ and cls.name == name
    declarations = declared(cls.params_type)
    assert [d.name for d in declarations] == [f.name for f in fields(cls.params_type)]   # every field declared
    for d in declarations:
        if isinstance(d, Number):
            parse_quantity(f"1 {d.unit}".strip(), d.unit, d.name)

    def run(seed):
        model = make_model(name, np.random.default_rng(seed), n=3)
        assert model.x.shape == (len(cls.state_names), 3)
        currents = [model.evolve(v, 1e-4, compliance=1e-3).current for v in (0.1, 1.0, 0.0, -1.0, 0.1)]
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
