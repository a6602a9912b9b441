"""The kernel: what every part of labsuite shares, and nothing above it.

A pulse program and its sample table (``program``), units (``units``), typed errors (``errors``),
clocks (``clock``), the instrument contracts drivers implement (``instruments``), figures as data
(``plotspec``), the run events observers receive (``events``) and the version (``version``). These
modules import the standard library, numpy and pint only; drivers, protocols, the simulator and
the application all build on them.
"""
