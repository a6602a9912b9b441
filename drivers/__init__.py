"""Instrument drivers: pymeasure Instruments that also implement labsuite's SourceMeter interface.

``SOURCE_METERS`` maps the name used in a ``bench.toml`` (``driver = "keithley2450"``) to the class.
"""
from labsuite.drivers.keithley.keithley2450 import Keithley2450

SOURCE_METERS = {"keithley2450": Keithley2450}

__all__ = ["SOURCE_METERS", "Keithley2450"]
