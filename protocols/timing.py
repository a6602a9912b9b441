"""The timing floor protocols design for: what the strictest supported SMU can time; and the
write pulse declaration the pulse protocols share.

Protocols validate their parameters against these so that a refusal names the parameter the user
set; the Runner still checks every program against the connected instrument's own capabilities
before sending anything. Values: Keithley 2450 trigger model (drivers/keithley/keithley2450.py).
"""
from labsuite.core.parameters import Number

MIN_SEGMENT = 50e-6     # s, shortest segment of a hardware-timed train
MIN_PULSE = 1e-6        # s, shortest write pulse: a pulse generator's, started by the SMU's trigger where the
                        # SMU cannot time it (the Runner checks each bench's own floor)
MIN_MEASURED = 200e-6   # s, shortest measured segment (0.01 PLC at 50 Hz)
MAX_PATTERN = 63        # segments in one train's pattern
MIN_GAP = 100e-6        # s, shortest 0 V wait between two reads that every SMU sequencer plays: the
                        # Keithley 2600B's 100 µs minimum programmable pulse width (data sheet), since a
                        # shorter dip from the read level is a pulse it does not shape


def write_pulse(height: str = "write pulse height") -> tuple[Number, Number]:
    """The ``amplitude`` (V, either polarity) and ``width`` (s, from the shortest pulse)
    declarations of a write pulse; ``height`` is the amplitude's help text."""
    return (Number("amplitude", "V", 1.5, -210.0, 210.0, height),
            Number("width", "s", 100e-6, MIN_PULSE, 10.0, "write pulse width"))
