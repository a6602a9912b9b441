"""Simulated instruments: parse each model's own command language and drive a device model."""
