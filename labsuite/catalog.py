"""Catalog: a data folder's runs indexed in SQLite by device, protocol, date, status, tags and figures.

The index (``<folder>/.labsuite-index.sqlite``) is a cache of the run files' own metadata: every
query first syncs it with the folder (new or changed files are read, deleted ones dropped), so
it is never stale and rebuilds itself when lost or damaged. A run file that cannot be read
(truncated, damaged, a stub) is left out and named in one warning (logger ``labsuite.catalog``)
per sync; the rest of the folder is listed. An index locked by another program for longer than
``lock_timeout`` (or on a full or read-only disk) raises :class:`CatalogUnavailable`;
``run_protocol`` then only warns, and the next listing indexes the run.
"""
from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from labsuite.core.errors import LabsuiteError
from labsuite.store import RunFileError, open_run, stored_samples

log = logging.getLogger(__name__)

INDEX = ".labsuite-index.sqlite"
INDEX_VERSION = 2    # PRAGMA user_version of the index layout; an index of another version is rebuilt
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS runs (
    path TEXT PRIMARY KEY, mtime REAL, protocol TEXT, device_id TEXT, start_time TEXT,
    status TEXT, seed TEXT, samples INTEGER, tags TEXT, figures TEXT);
CREATE TABLE IF NOT EXISTS figures (path TEXT, name TEXT, value REAL);
CREATE INDEX IF NOT EXISTS runs_by_device ON runs (device_id, start_time);
CREATE INDEX IF NOT EXISTS runs_by_protocol ON runs (protocol, start_time);
PRAGMA user_version = {INDEX_VERSION};
"""


@dataclass(frozen=True)
class CatalogEntry:
    path: Path
    protocol: str
    device_id: str
    start_time: str
    status: str
    seed: int
    samples: int
    tags: tuple[str, ...]
    figures: dict[str, float]


class CatalogUnavailable(LabsuiteError):
    """The index cannot be used now: locked by another program, or its disk full or read-only."""


class Catalog:
    """The runs under ``folder`` (searched recursively)."""

    lock_timeout = 5.0    # s to wait for another program's lock on the index

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    @contextmanager
    def _connect(self, listing: bool = False) -> Iterator[sqlite3.Connection]:
        """The index, committed and closed on leaving; rebuilt from scratch if it is damaged. For a
        ``listing``, an index that cannot be used (locked, read-only or full disk) is replaced by
        one in memory, built from the files, with one warning."""
        self.folder.mkdir(parents=True, exist_ok=True)
        index = self.folder / INDEX
        try:
            db = self._open(index)
        except CatalogUnavailable as exc:
            if not listing:
                raise
            log.warning("%s; listing from the run files directly", exc)
            db = sqlite3.connect(":memory:")
            db.executescript(_SCHEMA)
        try:
            with db:
                yield db
        except sqlite3.OperationalError as exc:
            raise _unavailable(index, exc) from exc
        finally:
            db.close()

    def _open(self, index: Path) -> sqlite3.Connection:
        try:
            db = sqlite3.connect(index, timeout=self.lock_timeout)
        except sqlite3.OperationalError as exc:
            raise _unavailable(index, exc) from exc
        try:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            tables = db.execute("SELECT count(*) FROM sqlite_master WHERE name = 'runs'").fetchone()[0]
            if version == INDEX_VERSION or not tables:
                db.executescript(_SCHEMA)
                return db
            problem = f"written by an older labsuite (layout {version}, now {INDEX_VERSION})"
        except sqlite3.OperationalError as exc:   # locked, disk full, read-only: the index itself is fine
            db.close()
            raise _unavailable(index, exc) from exc
        except sqlite3.DatabaseError as exc:      # "file is not a database", a malformed image
            db.close()
            problem = f"damaged ({exc})"
        db.close()
        log.warning("%s: the run index is %s; rebuilding it from the run files", index, problem)
        for suffix in ("", "-journal", "-wal", "-shm"):
            Path(f"{index}{suffix}").unlink(missing_ok=True)
        db = sqlite3.connect(index, timeout=self.lock_timeout)
        db.executescript(_SCHEMA)
        return db

    def sync(self) -> int:
        """Bring the index up to date with the files; return how many files were (re)read."""
        with self._connect(listing=True) as db:
            return self._sync(db)

    def _sync(self, db: sqlite3.Connection) -> int:
        known = dict(db.execute("SELECT path, mtime FROM runs"))
        present = {str(p.relative_to(self.folder)): p for p in self.folder.rglob("*.h5")}
        for gone in set(known) - set(present):
            db.execute("DELETE FROM runs WHERE path = ?", (gone,))
            db.execute("DELETE FROM figures WHERE path = ?", (gone,))
        read = 0
        for rel, path in present.items():
            if known.get(rel) != path.stat().st_mtime:
                read += self._index(db, rel, path)
        return read

    def index(self, path: str | Path) -> None:
        """Add or refresh one run file (under the folder)."""
        path = Path(path)
        with self._connect() as db:
            self._index(db, str(path.resolve().relative_to(self.folder.resolve())), path)

    def _index(self, db: sqlite3.Connection, rel: str, path: Path) -> int:
        try:
            with open_run(path) as f:
                if f.attrs.get("schema") != "labsuite-run":
                    return 0
                attrs = dict(f.attrs)
                analysis = f["analysis"].attrs if "analysis" in f else {}
                figures = {k: float(v) for k, v in analysis.items() if k != "units"}
                samples = stored_samples(f) + int(attrs.get("continues_samples", 0))   # the whole run
                json.loads(attrs.get("tags", "[]"))
        except RunFileError as exc:
            log.warning("skipped %s", exc)
            return 0
        except (OSError, RuntimeError, KeyError, ValueError, TypeError) as exc:   # a stub or damaged metadata
            log.warning("skipped %s: damaged, its metadata cannot be read (%s)", path, exc)
            return 0
        db.execute("DELETE FROM figures WHERE path = ?", (rel,))
        db.execute("INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   (rel, path.stat().st_mtime, str(attrs.get("protocol", "")), str(attrs.get("device_id", "")),
                    str(attrs.get("start_time", "")), str(attrs.get("status", "")),
                    str(int(attrs.get("seed", -1))),   # as text: a seed may pass 64 bits
                    samples, str(attrs.get("tags", "[]")), json.dumps(figures)))
        db.executemany("INSERT INTO figures VALUES (?, ?, ?)", [(rel, k, v) for k, v in figures.items()])
        return 1

    def query(self, *, device: str | None = None, protocol: str | None = None, since: str | None = None,
              status: str | None = None, tag: str | None = None) -> list[CatalogEntry]:
        """Runs matching every given filter, oldest first. ``since``: an ISO date or date-time (UTC)."""
        where, args = [], []
        for column, value in (("device_id", device), ("protocol", protocol), ("status", status)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        if since is not None:
            where.append("start_time >= ?")
            args.append(_iso(since))
        sql = "SELECT path, protocol, device_id, start_time, status, seed, samples, tags, figures FROM runs"
        sql += (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY start_time, path"
        with self._connect(listing=True) as db:
            self._sync(db)
            rows = db.execute(sql, args).fetchall()
        entries = [CatalogEntry(self.folder / r[0], r[1], r[2], r[3], r[4], int(r[5]), r[6], tuple(json.loads(r[7])),
                                json.loads(r[8])) for r in rows]
        return [e for e in entries if tag is None or tag in e.tags]

    def where_figure(self, name: str, low: float = float("-inf"), high: float = float("inf")) -> list[Path]:
        """Run files whose figure ``name`` lies in [low, high]."""
        with self._connect(listing=True) as db:
            self._sync(db)
            rows = db.execute("SELECT path FROM figures WHERE name = ? AND value BETWEEN ? AND ? ORDER BY path",
                              (name, low, high)).fetchall()
        return [self.folder / r[0] for r in rows]


def _unavailable(index: Path, exc: sqlite3.OperationalError) -> CatalogUnavailable:
    if "locked" in str(exc) or "busy" in str(exc):
        return CatalogUnavailable(f"{index}: the run index is locked by another program ({exc})")
    return CatalogUnavailable(f"{index}: the run index cannot be updated ({exc})")


def _iso(text: str) -> str:
    """Normalize a date or date-time to the run files' ISO 8601 UTC form."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")


def describe(entry: CatalogEntry) -> dict[str, Any]:
    return {"run_file": str(entry.path), "protocol": entry.protocol, "device_id": entry.device_id,
            "start_time": entry.start_time, "status": entry.status, "samples": entry.samples,
            "tags": list(entry.tags), "figures": entry.figures}
