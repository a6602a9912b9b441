"""Names users type (a protocol, a device model, an instrument, a parameter, a recipe): found
regardless of case and through aliases, and a "did you mean" for a near miss."""
from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping

from labsuite.core.errors import InvalidParameter


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'potentiation'?)`` for the choice closest to ``name`` (case ignored), or ``""``
    when none is close."""
    by_key = {choice.casefold(): choice for choice in choices}
    close = difflib.get_close_matches(str(name).casefold(), list(by_key), n=1, cutoff=0.6)
    return f" (did you mean {by_key[close[0]]!r}?)" if close else ""


def find(name: str, choices: Iterable[str], aliases: Mapping[str, str] | None = None) -> str | None:
    """The choice ``name`` means: itself, the same name in other letter case, or the choice an alias
    (case ignored) stands for; None if none."""
    choices = list(choices)
    if name in choices:
        return name
    key = name.casefold()
    for choice in choices:
        if choice.casefold() == key:
            return choice
    return {alias.casefold(): target for alias, target in (aliases or {}).items()}.get(key)


def aliases(table: Mapping[str, object]) -> dict[str, str]:
    """{alias: name} for the other names the classes of ``table`` declare in their own ``aliases``
    (``ltp`` for potentiation); a name of the table itself is never an alias."""
    return {alias: name for name, entry in table.items() if isinstance(entry, type)
            for alias in vars(entry).get("aliases", ()) if alias not in table}


def resolve(table: Mapping[str, object], name: object, field: str) -> str:
    """The name of ``table`` that ``name`` means (itself, in any letter case, or an alias); otherwise
    :class:`~labsuite.core.errors.InvalidParameter` naming ``field``, the closest name and the choices."""
    others = aliases(table)
    found = find(name, table, others) if isinstance(name, str) else None
    if found is None:
        near = did_you_mean(name, [*table, *others]) if isinstance(name, str) else ""
        raise InvalidParameter(field, f"{name!r} is unknown{near}; choose one of {', '.join(table)}")
    return found
