"""Keithley Instruments (Tektronix) drivers."""
