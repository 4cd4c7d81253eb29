"""Same inputs, same reports: two refreshes in separate processes with different PYTHONHASHSEED and TZ give
byte-identical report sheet parts (and CSV exports, and every other part) except Run Info's refresh time."""
import datetime as dt
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from bbb_xl.engine import audit
from bbb_xl.excel.audit_trail import AUDIT_TABS
from bbb_xl.excel.package import Package
from bbb_xl.xlsx_reader import read_sheets
from bbb_xl.excel.template import build_workbook
from bbb_xl.excel.workflow import GENERATED_SHEETS, compute_reports
from bbb_xl.sample import SAMPLE_SETTINGS, sample_contracts

import hostile_corpus as hc

ROOT = Path(__file__).resolve().parents[1]
TIME_CELL = re.compile(r'<c r="B6"[^>]*>(<v>[^<]*</v>)</c>')  # Run Info: "Refreshed at (UTC)"
AUDIT_CELLS = re.compile(r'<c r="B14".*?</c>')  # Run Info: the audit trail's last entry (its time and hash)


def _rows():
    rows = sample_contracts()
    # a few hostile lines too: dimension text, set-like groupings, errors (ordering must not depend on hashing)
    for i, v in enumerate(hc.VALUES[:40]):
        rows.append([f"H-{i}", f"Cust {v.label}", "1", "Platform subscription", None, dt.datetime(2025, 2, 1),
                     dt.datetime(2026, 1, 31), 1000.0 + i, "monthly", "monthly", "advance", None,
                     v.value if isinstance(v.value, str) else v.label, v.label])
    return rows


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    path = tmp_path_factory.mktemp("det") / "det.xlsm"
    build_workbook(path, _rows(), SAMPLE_SETTINGS, keep_csv=False)
    return path


def _refresh_in_process(src, dst_dir, hashseed, tz):
    dst_dir.mkdir()
    target = dst_dir / "det.xlsm"
    target.write_bytes(src.read_bytes())
    env = dict(os.environ, PYTHONHASHSEED=str(hashseed), TZ=tz, PYTHONPATH=str(ROOT))
    r = subprocess.run([sys.executable, "-m", "bbb_xl.cli", "refresh", str(target)], env=env, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 3, r.stderr  # written; its hostile rows are left out (exit 3)
    with zipfile.ZipFile(target) as zf:
        parts = {n: zf.read(n) for n in zf.namelist()}
    csvs = {p.name: p.read_bytes() for p in dst_dir.glob("*.csv")}
    return target, parts, csvs


def test_two_processes_different_hashseed_and_tz_give_identical_reports(built, tmp_path):
    a_path, a, a_csv = _refresh_in_process(built, tmp_path / "a", 1, "Pacific/Kiritimati")
    b_path, b, b_csv = _refresh_in_process(built, tmp_path / "b", 4242, "America/St_Johns")
    assert list(a) == list(b)
    sheet_parts = Package(a_path).sheet_parts()
    run_info = sheet_parts["Run Info"]
    report_parts = {sheet_parts[n] for n in GENERATED_SHEETS}
    records = {sheet_parts[n] for n in AUDIT_TABS}  # the entry's time (and so its hash) differ: its content not
    entries = [audit.read_trail(read_sheets(p, [audit.TRAIL_SHEET])[audit.TRAIL_SHEET]).entries for p in
               (a_path, b_path)]
    (a_entry,), (b_entry,) = entries
    assert a_entry.content()[5:] == b_entry.content()[5:]  # fingerprint, counts, changes, changes digest
    for name in a:
        if name in records:
            continue
        if name == run_info:
            ta, tb = (TIME_CELL.search(x.decode()) for x in (a[name], b[name]))
            assert ta and tb, "Run Info has no refresh time cell B6"
            assert AUDIT_CELLS.sub("", TIME_CELL.sub("", a[name].decode())) == \
                AUDIT_CELLS.sub("", TIME_CELL.sub("", b[name].decode()))
        else:
            assert a[name] == b[name], f"{name} differs between runs" + (" (a report sheet)" if name in
                                                                             report_parts else "")
    assert a_csv == b_csv and a_csv


def test_same_inputs_same_report_cells_in_process():
    rows = _rows()
    settings = [["Setting", "Value"]] + [[k, v] for k, v in SAMPLE_SETTINGS.items()]
    at = dt.datetime(2026, 1, 1)
    r1 = compute_reports(rows, settings, refreshed_at=at)
    r2 = compute_reports([list(r) for r in rows], settings, refreshed_at=at)
    assert r1.sheets.keys() == r2.sheets.keys()
    for name in r1.sheets:
        b1, b2 = r1.sheets[name].blocks, r2.sheets[name].blocks
        assert len(b1) == len(b2)
        for x, y in zip(b1, b2):
            assert (x.row, x.col) == (y.row, y.col)
            assert repr(getattr(x.values, "tolist", lambda: x.values)()) == \
                repr(getattr(y.values, "tolist", lambda: y.values)()), name
    assert r1.csv_files == r2.csv_files
