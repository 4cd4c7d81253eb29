"""The benchmark runner's core on a tiny book: every method runs, every equality check passes, the table has a
row per method. Nothing here depends on timings."""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import run  # noqa: E402

needs_soffice = pytest.mark.skipif(shutil.which("soffice") is None and shutil.which("libreoffice") is None,
                                   reason="LibreOffice not installed")


@needs_soffice
def test_runner_core_on_a_tiny_book(tmp_path):
    cells = {m: {} for m in run.METHODS}
    cells["bbb_cold"][(300, 24)] = cells["bbb_warm"][(300, 24)] = 1
    cells["bbb_cold"][(50, 24)] = 1
    cells["loop"][(300, 24)] = 1          # runs == 1: timed in the memory child
    cells["sheet"][(50, 24)] = 1
    cells["formula"][(300, 24)] = 2
    cells["refresh"][(300, 24)] = 1
    cfg = run.Config(cells, grid=[(300, 24), (600, 24)], memory={"bbb_cold", "bbb_warm", "loop"}, formula_calls=30,
                     workdir=str(tmp_path / "work"), log=lambda msg: None)
    result = run.run_benchmarks(cfg)
    records = result["records"]
    done = [r for r in records if not r["skipped"]]
    assert {r["method"] for r in done} == set(run.METHODS)
    for r in done:
        assert r["check_ok"] in (None, True), (r["method"], r["check"])
        assert r["median_s"] is not None and r["median_s"] >= 0
    assert all(r["check_ok"] for r in done if r["method"] in ("loop", "sheet", "formula", "refresh", "bbb_warm"))
    assert find_one(records, "bbb_cold", 300)["extra"]["loop_equal"] is True
    assert find_one(records, "bbb_cold", 300)["peak_rss_bytes"] > 0
    assert find_one(records, "loop", 300)["peak_rss_bytes"] > 0
    assert find_one(records, "loop", 300)["extra"]["timed_in_child"] is True
    sheet = find_one(records, "sheet", 50)
    assert sheet["extra"]["max_err_vs_sheet"] <= sheet["extra"]["tolerance"]
    formula = find_one(records, "formula", 300)
    assert formula["extra"]["calls"] == 30
    assert formula["extra"]["path"].startswith(("replay:", "direct:")), formula["extra"]["path"]
    assert set(find_one(records, "refresh", 300)["extra"]["split"]) == {"read", "compute", "write"}
    # the unplanned grid cells are shown as skipped, with an estimate where a smaller size ran
    skipped = [r for r in records if r["skipped"]]
    assert {r["method"] for r in skipped if r["lines"] == 600} == set(run.METHODS)
    assert any("est." in r["skipped"] for r in skipped)

    table = run.render_table(records)
    for method in run.METHODS:
        assert run.LABELS[method].split(":")[0] in table
    for state in run.STATES.values():
        assert state in table
    assert "skipped: too slow" in table and "FAILED" not in table

    result["summary"] = run.summary(records)
    result["targets"] = run.targets(records)
    paths = run.write_outputs(result, tmp_path / "out", quick=True)
    assert paths["md"].read_text().count("\n|") >= len(done) + 2
    assert paths["png"].stat().st_size > 0 and paths["json"].exists()


def test_formula_periods_start_with_single_months():
    p = run.formula_periods(36, 500)
    assert len(p) == len(set(p)) == 500
    assert p[:3] == [("2024-01", "2024-01"), ("2024-02", "2024-02"), ("2024-03", "2024-03")]
    assert run.window(60) == ("2024-01", "2028-12")


def find_one(records, method, n):
    return next(r for r in records if r["method"] == method and r["lines"] == n and not r["skipped"])
