"""Instrument drivers: pymeasure Instruments that also implement labsuite's SourceMeter and
PulseGenerator interfaces.

Each driver class declares the names it is offered under in ``registrations``
(:class:`~labsuite.core.instruments.Registration`); :mod:`labsuite.registry` collects them.
"""
