"""Names changed with run-file schema 2 (see docs/glossary.md), and how the old ones are still read.

Recipes, ``--set`` and the parameter dict given to ``make_protocol`` / ``run_protocol`` accept an
old name until labsuite 0.3 (``ACCEPTED_UNTIL``): the value is used under its new name and one WARNING on
the ``labsuite.core.renames`` logger names the new key (``labsuite run`` prints it as ``labsuite: warning:``).
Python warnings are not used: they would stop a run under ``-W error``. A protocol class's keyword
arguments take the new names only; an old one is refused naming the new one. Run files written
with schema 1 are read with their parameters, options and bench snapshot under the new names.
"""
from __future__ import annotations

import json
import logging
from typing import Any

from labsuite.core.errors import InvalidParameter

log = logging.getLogger(__name__)

ACCEPTED_UNTIL = "0.3"   # the release that stops accepting the old names
RENAMED: dict[str, dict[str, str]] = {   # protocol → {old parameter name: new}
    "ltp-ltd": {"potentiation_amplitude": "set_amplitude", "depression_amplitude": "reset_amplitude"},
    "stdp": {"spike_amplitude": "amplitude", "spike_width": "width", "rest": "read_delay"},
    "srdp": {"settle": "read_delay"},
    "retention": {"pulse_period": "period", "first_read": "read_delay"},
    "iv": {"compliance_positive": "positive_compliance", "compliance_negative": "negative_compliance"},
    "pulsed-iv": {"compliance_positive": "positive_compliance", "compliance_negative": "negative_compliance",
                  "pulse_width": "width"},
    "endurance": {"compliance_set": "set_compliance", "compliance_reset": "reset_compliance"},
    "forming": {"v_start": "start_amplitude", "v_stop": "stop_amplitude", "v_step": "amplitude_step",
                "gap": "read_delay"},
    "write-verify": {"set_start": "set_amplitude", "reset_start": "reset_amplitude", "step": "amplitude_step",
                     "v_max": "max_amplitude"},
}
BENCH_RENAMED = {"series_resistance_ohm": "series_resistance",   # in a run file's bench snapshot
                 "pulse_series_resistance_ohm": "pulse_series_resistance"}


def new_name(protocol: str, name: str) -> str | None:
    """The name that replaced parameter ``name`` of ``protocol``, or None if it was not renamed."""
    return RENAMED.get(protocol, {}).get(name)


def renamed(protocol: str, values: dict[str, Any], where: str = "") -> dict[str, Any]:
    """``values`` with old parameter names of ``protocol`` replaced by the new ones, each old name
    logged once as deprecated (``where``: e.g. the recipe file and step). Both names at once are
    refused."""
    out: dict[str, Any] = {}
    for name, value in values.items():
        new = new_name(protocol, name)
        if new is None:
            out[name] = value
            continue
        if new in values:
            raise InvalidParameter(name, f"is the old name of {new}, which is given too; give {new} only")
        log.warning("%s%s: %s is renamed %s; write %s = ... (the old name is accepted until labsuite %s)",
                    f"{where}: " if where else "", protocol, name, new, new, ACCEPTED_UNTIL)
        out[new] = value
    return out


def upgrade_run_attributes(attrs: dict[str, Any]) -> dict[str, Any]:
    """The root attributes of a schema-1 run file under schema-2 names (JSON attributes rewritten)."""
    protocol = str(attrs.get("protocol", ""))

    def names(table: dict[str, Any]) -> dict[str, Any]:
        return {new_name(protocol, k) or k: v for k, v in table.items()}

    out = dict(attrs)
    for key in ("parameters", "parameter_units"):
        if key in attrs:
            out[key] = json.dumps(names(json.loads(attrs[key])))
    if "provenance" in attrs:
        provenance = json.loads(attrs["provenance"])
        if isinstance(provenance.get("options"), dict):
            provenance["options"] = names(provenance["options"])
        if isinstance(provenance.get("defaults"), list):
            provenance["defaults"] = [new_name(protocol, n) or n for n in provenance["defaults"]]
        out["provenance"] = json.dumps(provenance)
    if "bench" in attrs:
        bench = json.loads(attrs["bench"])
        for table in (bench.get("simulator"), *bench.get("instruments", {}).values()):
            if isinstance(table, dict):
                for old, new in BENCH_RENAMED.items():
                    if old in table:
                        table[new] = table.pop(old)
        out["bench"] = json.dumps(bench)
    return out
