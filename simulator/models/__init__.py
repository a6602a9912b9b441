"""Device physics: state variables, their equations, noise. Vectorized over arrays of devices."""
from __future__ import annotations

from dataclasses import fields

import numpy as np

from labsuite.errors import InvalidParameter
from labsuite.units import parse_quantity

from labsuite.simulator.models.base import DeviceModel, Evolution, param
from labsuite.simulator.models.synaptic_memristor import SynapticMemristor, SynapticMemristorParams

MODELS = {SynapticMemristor.name: SynapticMemristor}
DEFAULT_MODEL = SynapticMemristor.name


def make_model(name: str, rng: np.random.Generator, n: int = 1,
               params: dict[str, str | float] | None = None) -> DeviceModel:
    """Build the device model called ``name`` (see ``MODELS``) for ``n`` devices.

    ``params`` overrides parameters by name; values are SI numbers or strings with units
    (``{"g_max": "300 uS", "tau_volatile": "20 ms"}``).
    """
    try:
        cls = MODELS[name]
    except KeyError:
        raise ValueError(f"unknown device model {name!r}; choose one of {', '.join(MODELS)}") from None
    params_cls = cls.params_type
    units = {f.name: f.metadata.get("unit", "") for f in fields(params_cls)}
    unknown = set(params or {}) - set(units)
    if unknown:
        raise InvalidParameter(sorted(unknown)[0], f"{name} has no such parameter; it takes {', '.join(units)}")
    values = {k: parse_quantity(v, units[k], k) for k, v in (params or {}).items()}
    return cls(params_cls(**values), n=n, rng=rng)


__all__ = ["MODELS", "DEFAULT_MODEL", "make_model", "DeviceModel", "Evolution", "param", "SynapticMemristor",
           "SynapticMemristorParams"]
