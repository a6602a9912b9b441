"""Device physics: state variables, their equations, noise. Vectorized over arrays of devices.

``MODELS`` maps each model's name to its class (the built-in ones, then those that installed
distributions add through the ``labsuite.models`` entry point, see labsuite.core.plugins);
``make_model(name, rng, params=...)`` builds one.
See docs/models.md for the equations, parameters and sources of every model.
"""
from __future__ import annotations

import numpy as np

from labsuite.core.errors import InvalidParameter
from labsuite.core.names import did_you_mean, resolve
from labsuite.core.parameters import Choice, Number, declared
from labsuite.core.units import parse_quantity
from labsuite.core.plugins import Catalog, subclasses
from labsuite.simulator.models.base import DeviceModel, Evolution, check_params, param
from labsuite.simulator.models.diffusive import DiffusiveMemristor
from labsuite.simulator.models.drift import DRIFT_MODELS
from labsuite.simulator.models.iontronic import IontronicMemristor
from labsuite.simulator.models.multi_timescale import MultiTimescaleSynapse, MultiTimescaleSynapse3
from labsuite.simulator.models.pulsed import PULSED_MODELS
from labsuite.simulator.models.stanford_pku import StanfordPKU
from labsuite.simulator.models.synaptic_memristor import SynapticMemristor, SynapticMemristorParams
from labsuite.simulator.models.thermal import ThermalSecondOrderMemristor

MODELS: Catalog[type[DeviceModel]] = Catalog("labsuite.models", "device model", {
    SynapticMemristor.name: SynapticMemristor,
    **DRIFT_MODELS,
    **PULSED_MODELS,
    MultiTimescaleSynapse.name: MultiTimescaleSynapse,
    MultiTimescaleSynapse3.name: MultiTimescaleSynapse3,
    DiffusiveMemristor.name: DiffusiveMemristor,
    IontronicMemristor.name: IontronicMemristor,
    ThermalSecondOrderMemristor.name: ThermalSecondOrderMemristor,
    StanfordPKU.name: StanfordPKU,
}, subclasses(DeviceModel))
DEFAULT_MODEL = SynapticMemristor.name


def make_model(name: str, rng: np.random.Generator, n: int = 1,
               params: dict[str, str | float] | None = None) -> DeviceModel:
    """Build the device model called ``name`` (see ``MODELS``) for ``n`` devices.

    ``params`` overrides parameters by name; values are SI numbers or strings with units
    (``{"g_max": "300 uS", "tau_volatile": "20 ms"}``).
    """
    name = resolve(MODELS, name, "model")
    cls = MODELS[name]
    params_cls = cls.params_type
    declarations = {p.name: p for p in declared(params_cls)}
    unknown = set(params or {}) - set(declarations)
    if unknown:
        first = sorted(unknown)[0]
        raise InvalidParameter(first, f"{name} has no such parameter{did_you_mean(first, declarations)}; it takes "
                                      f"{', '.join(declarations)}")
    values = {k: _value(declarations[k], v) for k, v in (params or {}).items()}
    chosen = params_cls(**values)
    check_params(chosen, name)
    return cls(chosen, n=n, rng=rng)


def _value(declaration: Number | Choice, value: str | float) -> float:
    """``value`` in SI units (a choice matched to its number); the range is checked with the others."""
    if isinstance(declaration, Choice):
        return declaration.parse(value)
    return parse_quantity(value, declaration.unit, declaration.name)


__all__ = ["MODELS", "DEFAULT_MODEL", "make_model", "DeviceModel", "Evolution", "param", "SynapticMemristor",
           "SynapticMemristorParams"]
