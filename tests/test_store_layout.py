"""The run file's layout (schema 3: /samples one compound dataset) and the reading of files written
in the layout before (schema 2: one dataset per field), as labsuite wrote them until December 2026."""
import json
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest

from labsuite import read_run
from labsuite.catalog import Catalog
from labsuite.core.events import Progress, RunState
from labsuite.core.program import SAMPLE_DTYPE, PulseProgram, Segment, Train
from labsuite.export import to_csv, to_dataframe
from labsuite.store import STORAGE_CHUNK, Continuation, RunFileError, RunWriter, read_program

SCHEMA_2 = Path(__file__).parent / "data" / "run_schema2_potentiation.h5"   # 250 pulses, 3 chunks, seed 5
PROGRAM = PulseProgram((Train((Segment(0.1, 1e-3, "read", True),), repeats=10_000),), 1e-3)


def block(start: int, size: int) -> np.ndarray:
    rows = np.zeros(size, SAMPLE_DTYPE)
    rows["t"] = np.arange(start, start + size) * 1e-3
    rows["voltage"], rows["current"] = 0.1, 1e-6 * (1 + np.arange(start, start + size))
    rows["repeat"] = np.arange(start, start + size)
    return rows


def writer(path, **kwargs) -> RunWriter:
    return RunWriter(path, protocol="potentiation", parameters={}, parameter_units={}, program=PROGRAM, bench={},
                     **kwargs)


def test_samples_are_one_compound_dataset_with_units_readable_by_plain_h5py_and_pandas(tmp_path):
    w = writer(tmp_path / "run.h5")
    for start in range(0, 250, 100):
        w.on_samples(block(start, min(100, 250 - start)), Progress(0, 1, 0, 0))
    w.mark(RunState.COMPLETED)
    w.close()
    with h5py.File(tmp_path / "run.h5", "r") as f:
        assert f.attrs["schema_version"] == 3
        samples = f["samples"]
        assert isinstance(samples, h5py.Dataset) and samples.dtype == SAMPLE_DTYPE and samples.shape == (250,)
        assert samples.maxshape == (None,) and samples.chunks == (STORAGE_CHUNK,)
        assert json.loads(samples.attrs["units"])["current"] == "A"
        assert np.array_equal(samples[:], block(0, 250))
    frame = to_dataframe(tmp_path / "run.h5")
    assert list(frame["current (A)"]) == list(block(0, 250)["current"])


def test_a_refused_flush_keeps_the_rows_of_a_last_hdf5_chunk_filled_by_several_appends(tmp_path):
    """Appends of 3000 rows: the third one's flush fails; the file keeps the first 6000 rows, those
    of the HDF5 chunk the failed append shared (4096 to 6000) rewritten from memory."""
    w = writer(tmp_path / "run.h5")
    for start in (0, 3000):
        w.on_samples(block(start, 3000), Progress(0, 1, 0, 0))

    def fail_once():
        del w.file.flush
        raise OSError(5, "Input/output error")

    w.file.flush = fail_once
    with pytest.raises(RunFileError, match="Input/output error"):
        w.on_samples(block(6000, 3000), Progress(0, 1, 0, 0))
    w.mark(RunState.FAILED)
    w.close()
    run = read_run(tmp_path / "run.h5")
    assert run.status == "failed" and np.array_equal(run.samples, block(0, 6000))


def test_a_schema_2_file_is_read_by_every_reader(tmp_path):
    """The file labsuite wrote before schema 3 (a potentiation of 250 pulses, one dataset per field)."""
    folder = tmp_path / "runs"
    folder.mkdir()
    path = Path(shutil.copy(SCHEMA_2, folder))
    with h5py.File(path, "r") as f:
        assert f.attrs["schema_version"] == 2 and isinstance(f["samples"], h5py.Group)
        current = f["samples/current"][:]
        repeat = f["samples/repeat"][:]
    run = read_run(path)
    assert run.status == "completed" and run.samples.dtype == SAMPLE_DTYPE and run.samples.size == 251
    assert np.array_equal(run.samples["current"], current) and np.array_equal(run.samples["repeat"], repeat)
    assert (run.samples["repeat"][1:] == range(250)).all() and np.all(np.diff(run.samples["t"]) > 0)
    assert run.analysis["pulses"] == 250
    assert np.array_equal(to_dataframe(path)["current (A)"], current)
    assert len(to_csv(path, tmp_path / "run.csv").read_text().splitlines()) > 251
    assert read_program(path).trains[1].repeats == 250
    (entry,) = Catalog(folder).query()
    assert entry.samples == 251 and entry.status == "completed"


def test_a_schema_3_continuation_of_a_schema_2_file_reads_as_the_whole_run(tmp_path):
    first = Path(shutil.copy(SCHEMA_2, tmp_path))
    stored = read_run(first)
    kept = 101
    w = writer(tmp_path / "run_resumed1.h5", continues=Continuation(first, kept, (1, 100), stored.samples["t"][100]),
               time_offset=10.0)
    w.on_samples(block(0, 5), Progress(0, 1, 0, 0))
    w.mark(RunState.COMPLETED)
    w.close()
    whole = read_run(tmp_path / "run_resumed1.h5")
    assert np.array_equal(whole.samples[:kept], stored.samples[:kept])
    assert np.array_equal(whole.samples["t"][kept:], block(0, 5)["t"] + 10.0)
