"""Instrument drivers: pymeasure Instruments that also implement labsuite's SourceMeter and
PulseGenerator interfaces.

``SOURCE_METERS`` and ``PULSE_GENERATORS`` map the name used in a ``bench.toml``
(``driver = "keithley2450"``) to the class. Each class declares ``idn_pattern``, a regular
expression its ``*IDN?`` reply matches; :func:`match_driver` finds the driver for a reply.
"""
from __future__ import annotations

import re

from labsuite.drivers.keithley.keithley2400 import Keithley2400
from labsuite.drivers.keithley.keithley2450 import Keithley2450
from labsuite.drivers.keithley.keithley2600 import Keithley2600
from labsuite.drivers.keysight.b2900 import KeysightB2900
from labsuite.drivers.keysight.keysight33500 import Keysight33500
from labsuite.drivers.tektronix.afg31000 import TektronixAFG31000

SOURCE_METERS = {"keithley2450": Keithley2450, "keithley2400": Keithley2400, "keysightb2900": KeysightB2900,
                 "keithley2600": Keithley2600}
PULSE_GENERATORS: dict[str, type] = {"keysight33500": Keysight33500, "tektronixafg31000": TektronixAFG31000}


def match_driver(idn: str) -> str | None:
    """The registry name of the driver whose ``idn_pattern`` matches the ``*IDN?`` reply ``idn``."""
    for name, cls in {**SOURCE_METERS, **PULSE_GENERATORS}.items():
        if re.search(cls.idn_pattern, idn, re.IGNORECASE):
            return name
    return None


__all__ = ["PULSE_GENERATORS", "SOURCE_METERS", "Keithley2400", "Keithley2450", "Keithley2600", "Keysight33500",
           "KeysightB2900", "TektronixAFG31000", "match_driver"]
