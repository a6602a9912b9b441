"""The catalog finds exactly the matching runs and rebuilds itself when its index is lost."""
import json
import subprocess
import sys

import pytest

from labsuite import Bench, run_protocol
from labsuite.catalog import INDEX, Catalog


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("data")
    with Bench.simulated(seed=1) as bench:
        for device, protocol, tags in (("D1", "potentiation", ["wafer3"]), ("D1", "depression", []),
                                       ("D2", "potentiation", ["wafer3", "anneal"])):
            run_protocol(protocol, bench, {"pulses": 5}, out_dir=out, device_id=device, tags=tags)
    return out


def test_queries_return_exactly_the_matching_runs(folder):
    catalog = Catalog(folder)
    assert len(catalog.query()) == 3
    assert [(e.device_id, e.protocol) for e in catalog.query(device="D1")] == [("D1", "potentiation"),
                                                                               ("D1", "depression")]
    assert [e.device_id for e in catalog.query(protocol="potentiation")] == ["D1", "D2"]
    assert [e.device_id for e in catalog.query(tag="anneal")] == ["D2"]
    assert catalog.query(device="D2", protocol="depression") == []
    assert catalog.query(since="2000-01-01") == catalog.query()
    assert catalog.query(since="2999-01-01") == []
    assert all(e.status == "completed" and e.samples == 6 for e in catalog.query())
    g_max = catalog.query(device="D2")[0].figures["g_max"]
    assert catalog.where_figure("g_max", g_max, g_max) == [catalog.query(device="D2")[0].path]


def test_deleting_the_index_and_listing_again_rebuilds_it(folder):
    catalog = Catalog(folder)
    before = [(e.path, e.figures) for e in catalog.query()]
    (folder / INDEX).unlink()
    assert [(e.path, e.figures) for e in catalog.query()] == before
    assert (folder / INDEX).exists()


def test_a_deleted_run_file_drops_out(tmp_path):
    with Bench.simulated(seed=1) as bench:
        paths = [run_protocol("potentiation", bench, {"pulses": 3}, out_dir=tmp_path).path for _ in range(2)]
    paths[0].unlink()
    assert [e.path for e in Catalog(tmp_path).query()] == [paths[1]]


def test_cli_lists_runs_with_filters(folder):
    out = subprocess.run([sys.executable, "-m", "labsuite", "runs", "--dir", str(folder), "--device", "D1",
                          "--json"], capture_output=True, text=True, cwd=folder, timeout=60)
    assert out.returncode == 0, out.stderr
    assert [r["protocol"] for r in json.loads(out.stdout)] == ["potentiation", "depression"]
