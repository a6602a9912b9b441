"""Keysight Technologies (formerly Agilent) drivers."""
