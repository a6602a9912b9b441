"""The averaging filter the simulated 2400 and 2450 share (``simulator/instruments/source_meter.py``),
each through its own commands: 2400 manual section 18 ``[:SENSe[1]]:AVERage``, 2461 manual §6
``[:SENSe[1]]:<function>:AVERage`` (p. 6-53 to 6-56), the 2450's SCPI tree."""
from __future__ import annotations

import pyvisa
import pytest

from labsuite.simulator.station import SimulatedStation

LINE = 60.0   # Hz, the simulated mains
#: each twin's filter header
FILTERS = {"keithley2400": ":SENS:AVER", "keithley2450": ":SENS:CURR:AVER"}


@pytest.mark.parametrize("smu", FILTERS)
def test_a_repeat_filter_takes_count_conversions_a_moving_one_fills_its_stack_then_takes_one(smu):
    """REPeat makes COUNt A/D conversions per reading (COUNt − 1 more integrations of 1 PLC);
    a moving filter's first conversion fills its stack, so each reading takes one; COUNt is 1 to 100."""
    station = SimulatedStation(seed=7, smu=smu)
    library = station.visa_library()
    visa = pyvisa.ResourceManager(library).open_resource(station.resources["smu"], read_termination="\n",
                                                         write_termination="\n")
    header = FILTERS[smu]
    try:
        visa.write(":SOUR:VOLT 0.1;:OUTP ON")
        visa.query(":READ?")                                   # the source settles on the first
        t0 = station.clock.now()
        visa.query(":READ?")
        single = station.clock.now() - t0
        visa.write(f"{header}:COUN 4;{header}:TCON REP;{header} ON")
        t0 = station.clock.now()
        visa.query(":READ?")
        assert station.clock.now() - t0 == pytest.approx(single + 3 / LINE, rel=1e-3)
        visa.write(f"{header}:TCON MOV")
        t0 = station.clock.now()
        visa.query(":READ?")
        assert station.clock.now() - t0 == pytest.approx(single, rel=1e-3)
        assert visa.query(f"{header}:TCON?") == "MOV"
        visa.write(f"{header}:COUN 101")
        assert visa.query(":SYST:ERR?").startswith("-222,")
        assert visa.query(f"{header}:COUN?") == "4"
    finally:
        visa.close()
