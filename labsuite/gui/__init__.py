"""The desktop GUI (PyQt6 + pyqtgraph): ``labsuite gui``, ``labsuite gui --sim``.

It drives the same code path as the CLI and scripts: ``run_protocol`` on a :class:`~labsuite.bench.Bench`,
with the live plots as one more :class:`~labsuite.core.events.RunObserver`. Runs play in a worker
thread and report through Qt signals; the GUI thread only draws. See docs/gui.md.
"""
