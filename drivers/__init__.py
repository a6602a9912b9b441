"""Instrument drivers: pymeasure Instruments that also implement labsuite's SourceMeter and
PulseGenerator interfaces.

``SOURCE_METERS`` and ``PULSE_GENERATORS`` map the name used in a ``bench.toml``
(``driver = "keithley2450"``) to the class. Each class declares ``idn_pattern``, a regular
expression its ``*IDN?`` reply matches; :func:`match_driver` finds the driver for a reply.
"""
from __future__ import annotations

import re

from labsuite.drivers.keithley.keithley2450 import Keithley2450

SOURCE_METERS = {"keithley2450": Keithley2450}
PULSE_GENERATORS: dict[str, type] = {}


def match_driver(idn: str) -> str | None:
    """The registry name of the driver whose ``idn_pattern`` matches the ``*IDN?`` reply ``idn``."""
    for name, cls in {**SOURCE_METERS, **PULSE_GENERATORS}.items():
        if re.search(cls.idn_pattern, idn, re.IGNORECASE):
            return name
    return None


__all__ = ["PULSE_GENERATORS", "SOURCE_METERS", "Keithley2450", "match_driver"]
