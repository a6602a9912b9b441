"""Tektronix drivers."""
