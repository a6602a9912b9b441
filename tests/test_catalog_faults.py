"""The catalog survives a damaged index, an index of an older layout, and damaged run files."""
import logging
import sqlite3

import pytest

from labsuite import Bench, run_protocol
from labsuite.catalog import INDEX, Catalog


@pytest.fixture
def folder(tmp_path):
    with Bench.simulated(seed=1) as bench:
        for device in ("D1", "D2"):
            run_protocol("potentiation", bench, {"pulses": 4}, out_dir=tmp_path, device_id=device)
    return tmp_path


def test_a_corrupt_index_is_rebuilt_from_the_run_files(folder, caplog):
    before = [(e.path, e.device_id, e.figures) for e in Catalog(folder).query()]
    (folder / INDEX).write_bytes(b"\x00garbage, not SQLite" * 200)
    with caplog.at_level(logging.WARNING):
        after = [(e.path, e.device_id, e.figures) for e in Catalog(folder).query()]
    assert after == before and len(after) == 2
    (warning,) = [r.getMessage() for r in caplog.records]
    assert INDEX in warning and "damaged" in warning and "rebuilding" in warning


def test_an_index_with_the_old_layout_is_rebuilt(folder, caplog):
    """Indexes written before seeds became text (an INTEGER column turns a 20-digit seed into a float)."""
    (folder / INDEX).unlink()
    with sqlite3.connect(folder / INDEX) as db:
        db.execute("CREATE TABLE runs (path TEXT PRIMARY KEY, mtime REAL, protocol TEXT, device_id TEXT, "
                   "start_time TEXT, status TEXT, seed INTEGER, samples INTEGER, tags TEXT, figures TEXT)")
    db.close()
    with caplog.at_level(logging.WARNING):
        assert [e.device_id for e in Catalog(folder).query()] == ["D1", "D2"]
    assert any("older labsuite" in r.getMessage() for r in caplog.records)


def test_a_damaged_run_file_is_named_once_per_listing_and_the_rest_listed(folder, caplog):
    (folder / "cut.h5").write_bytes(next(folder.glob("*_D1.h5")).read_bytes()[:1024])
    with caplog.at_level(logging.WARNING):
        assert [e.device_id for e in Catalog(folder).query()] == ["D1", "D2"]
    (warning,) = [r.getMessage() for r in caplog.records]
    assert warning.startswith(f"skipped {folder / 'cut.h5'}: truncated")


def test_a_locked_index_still_lists_the_folder_from_the_files(folder, monkeypatch, caplog):
    monkeypatch.setattr(Catalog, "lock_timeout", 0.1)
    Catalog(folder).query()
    holder = sqlite3.connect(folder / INDEX)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with caplog.at_level(logging.WARNING):
            assert [e.device_id for e in Catalog(folder).query()] == ["D1", "D2"]
    finally:
        holder.rollback()
        holder.close()
    (warning,) = [r.getMessage() for r in caplog.records]
    assert "locked by another program" in warning and "listing from the run files directly" in warning


def test_a_run_being_written_by_this_process_is_listed_as_running(tmp_path, caplog):
    """The GUI lists its folder while it runs: the live file is read as a SWMR reader, not skipped."""
    from labsuite.core.events import RunObserver

    seen = []

    class ListMidRun(RunObserver):
        def on_samples(self, samples, progress):
            seen.append([(e.status, e.samples) for e in Catalog(tmp_path).query()])

    with Bench.simulated(seed=1) as bench, caplog.at_level(logging.WARNING):
        run_protocol("potentiation", bench, {"pulses": 150, "period": "10 ms", "read_delay": "2 ms"},
                     out_dir=tmp_path, observers=[ListMidRun()])
    assert seen[1] == [("running", 101)] and caplog.records == []
