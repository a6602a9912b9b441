"""TOML files a user gives (recipes, bench descriptions): read, or refused with one clear error."""
from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from labsuite.core.errors import InvalidParameter

MAX_BYTES = 1 << 20   # a recipe or bench description is a few kB; anything past 1 MiB is not one


def load_toml(path: str | Path, what: str) -> dict[str, Any]:
    """The table in ``path``, a ``what`` ("recipe", "bench description"); every way the file can
    be missing, unreadable, not UTF-8 or not TOML is an :class:`InvalidParameter` naming it."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise InvalidParameter(str(path), f"no such {what} file; check the name and folder") from None
    except IsADirectoryError:
        raise InvalidParameter(str(path), f"is a folder; give a {what} file (.toml)") from None
    except OSError as exc:
        raise InvalidParameter(str(path), f"cannot read the {what} ({exc.strerror or exc})") from None
    except ValueError:   # a NUL byte in the name
        raise InvalidParameter(repr(str(path)), f"is not a usable file name; give the {what} file's name") from None
    if len(raw) > MAX_BYTES:
        raise InvalidParameter(str(path), f"is larger than {MAX_BYTES >> 10} kB: not a {what}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidParameter(str(path), f"is not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}); "
                                          f"save the {what} as UTF-8") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidParameter(str(path), f"not valid TOML: {exc}") from None
    except RecursionError:
        raise InvalidParameter(str(path), f"arrays or tables nested too deeply; a {what} needs at most a few "
                                          f"levels") from None
