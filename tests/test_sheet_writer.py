"""The column writer (excel/sheet_writer.py) against the cell-by-cell writer it replaced
(package.sheet_data_xml_per_cell): the same <sheetData> bytes on every report tab of a generated book and on
hypothesis-made blocks of awkward values; the values read back are the report's (money exact to the cent, text
that looks like a formula stays text); LibreOffice opens a refreshed workbook and shows the same cells."""
from __future__ import annotations

import contextlib
import datetime as dt
import re
import sys
import xml.etree.ElementTree as ET
from decimal import Decimal
from pathlib import Path

import numpy as np
import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

import libreoffice as lo
from bbb_xl.excel import package as pk
from bbb_xl.excel import sheet_writer
from bbb_xl.excel.headless import refresh_file
from bbb_xl.excel.template import build_workbook
from bbb_xl.excel.workflow import compute_reports
from bbb_xl.reports import MONEY, SheetReport
from bbb_xl.reports.layout import sheet_layout

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.generate import generate_book  # noqa: E402
from benchmarks.run import refresh_settings  # noqa: E402

# cellXfs indices as a workbook's styles.xml gives them (0: text, unstyled)
XF = {"text": 0, "title": 1, "subtitle": 2, "header": 3, MONEY: 4, "money_total": 5, "date": 6, "stamp": 7,
      "ratio": 8, "percent": 9, "int": 10, "status_ok": 11, "status_bad": 12, "banner": 13, "wrap": 14}
NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


@contextlib.contextmanager
def column_pass_everywhere(chunk: int = 5):
    """Every block through the column pass (no small-block shortcut) in chunks of a few rows."""
    saved = sheet_writer._SMALL, sheet_writer._CHUNK
    sheet_writer._SMALL, sheet_writer._CHUNK = 0, chunk
    try:
        yield
    finally:
        sheet_writer._SMALL, sheet_writer._CHUNK = saved


def both(report, extra=None):
    layout = sheet_layout(report)
    return (pk.sheet_data_xml_per_cell(report, XF, extra, layout), pk.sheet_data_xml(report, XF, extra, layout))


def cells(data_xml: str) -> dict:
    """{ref: (type, style, text)} of a <sheetData>, parsed as XML (so it is well formed)."""
    root = ET.fromstring(f'<worksheet xmlns="{NS[1:-1]}">{data_xml}</worksheet>')
    out = {}
    for c in root.iter(f"{NS}c"):
        t = c.get("t", "n")
        if t == "inlineStr":
            text = "".join(x.text or "" for x in c.iter(f"{NS}t"))
        else:
            v = c.find(f"{NS}v")
            text = None if v is None else v.text
        out[c.get("r")] = (t, c.get("s"), text)
    return out


def rename_customer(rows, i, name):
    """Every line of row i's contract gets the customer `name` (a contract has one customer)."""
    for r in rows[1:]:
        if r[0] == rows[i][0]:
            r[1] = name


@pytest.fixture(scope="module")
def generated_reports():
    """Every report tab of a generated 400-line book, with the Detail line limit below and above its size."""
    rows = generate_book(400, 24, seed=7, start="2024-01-01")
    rename_customer(rows, 5, '=HYPERLINK("http://x")')  # customers that look like formulas or markup
    rename_customer(rows, 40, "+1 <Acme & Sons> \"quoted\"")
    rename_customer(rows, 80, "@pad  ded")
    out = []
    for limit in (1000, 100):
        values = dict(refresh_settings(24), **{"Detail line limit": limit})
        settings_rows = [["Setting", "Value"]] + [[k, v] for k, v in values.items()]
        out.append(compute_reports(rows, settings_rows, refreshed_at=dt.datetime(2026, 1, 2, 3, 4, 5)))
    return out


def test_every_report_tab_same_bytes_as_the_per_cell_writer(generated_reports):
    for reports in generated_reports:
        for name, report in reports.sheets.items():
            old, new = both(report)
            assert new == old, name
            with column_pass_everywhere(chunk=7):
                assert both(report)[1] == old, name


def test_line_level_revenue_values_read_back(generated_reports):
    reports = generated_reports[0]  # 400 lines <= limit 1000: one row per line
    report = reports.sheets["Revenue"]
    got = cells(pk.sheet_data_xml(report, XF, None, sheet_layout(report))[0])
    matrix = next(b for b in report.blocks if isinstance(b.values, np.ndarray) and b.values.shape[0] == 400)
    texts = next(b for b in report.blocks if isinstance(b.values, list) and len(b.values) == 400)
    for i in (0, 4, 8, 11, 399):
        r = matrix.row + i
        for j in range(matrix.values.shape[1]):
            ref = f"{pk.column_letter(matrix.col + j)}{r}"
            assert got[ref][0] == "n" and Decimal(got[ref][2]) == Decimal(int(matrix.values[i, j])) / 100
        for j, v in enumerate(texts.values[i]):
            assert got[f"{pk.column_letter(texts.col + j)}{r}"] == ("inlineStr", None, v)
    customers = {got[f"B{texts.row + i}"][2] for i in range(400)}
    assert {'=HYPERLINK("http://x")', "+1 <Acme & Sons> \"quoted\"", "@pad  ded"} <= customers


# --- awkward values -----------------------------------------------------------------------------------------------

CENTS = st.one_of(st.integers(-10 ** 17, 10 ** 17), st.sampled_from([0, -1, 1, -99, 99, -100, 100, -101, 10 ** 17,
                                                                     -(10 ** 17), 123456789012345,
                                                                     2 ** 63 - 1, -(2 ** 63) + 1]))
AWKWARD = st.one_of(
    st.sampled_from(["=1+1", "+A1", "-2", "@SUM(A1)", "=cmd|'/c calc'!A0", '<b>&amp;"</b>', " lead", "trail ",
                     "\tTab", "a\nb", "\u00a0nbsp", "x\u3000", "\x85next", "bad\x01char\x1f", "", "&lt;", ">",
                     "\ufffe", "naïve café", "日本語", "emoji \U0001F600"]),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12))
CELL = st.one_of(AWKWARD, st.none(), st.integers(-10 ** 12, 10 ** 12), st.booleans(),
                 st.dates(dt.date(1900, 3, 1), dt.date(2100, 1, 1)), st.floats(allow_nan=False, allow_infinity=False))


@st.composite
def reports(draw):
    s = SheetReport("Awkward")
    h = draw(st.integers(0, 9))
    w = draw(st.integers(1, 5))
    money = np.array(draw(st.lists(st.lists(CENTS, min_size=w, max_size=w), min_size=h, max_size=h)) or
                     np.zeros((0, w)), dtype=np.int64).reshape(h, w)
    styles = draw(st.lists(st.sampled_from([MONEY, "money_total", "int"]), min_size=w, max_size=w))
    texts = draw(st.lists(st.lists(AWKWARD, min_size=2, max_size=2), min_size=h, max_size=h))
    mixed = draw(st.lists(st.lists(CELL, min_size=0, max_size=3), min_size=1, max_size=6))
    top = draw(st.integers(1, 3))
    s.add(top, 1, [["Customer", "Note"] + ["x"] * w], "header")
    if h:
        s.add(top + 1, 1, texts, draw(st.sampled_from(["text", ["text", "subtitle"], ["wrap", "text"]])))
        s.add(top + 1, 3, money, styles if draw(st.booleans()) else MONEY)
    s.add(top + 2 + h, 2, mixed, draw(st.sampled_from(["text", "date", MONEY, "ratio"])))
    return s


@hsettings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(reports(), st.booleans())
def test_awkward_values_same_bytes_and_exact(report, everywhere):
    with column_pass_everywhere(chunk=3) if everywhere else contextlib.nullcontext():
        old, new = both(report)
    assert new == old
    got = cells(new[0])
    for b in report.blocks:
        for i in range(b.height):
            row = b.values[i]
            for j in range(len(row)):
                ref = f"{pk.column_letter(b.col + j)}{b.row + i}"
                v = row[j]
                if isinstance(b.values, np.ndarray):
                    if b.style_of(j) in (MONEY, "money_total"):  # exact decimal text of the cents
                        assert Decimal(got[ref][2]) == Decimal(int(v)) / 100
                        assert re.fullmatch(r"-?\d+\.\d\d", got[ref][2])
                    else:
                        assert int(got[ref][2]) == int(v)
                elif type(v) is str and v:
                    # text is an inline string: never a formula, whatever it starts with; forbidden characters out
                    assert got[ref][0] == "inlineStr"
                    # (a CR reads back as LF: XML parsers normalise line ends; the per-cell writer did the same)
                    kept = sheet_writer.BAD_XML.sub("", v).replace("\r\n", "\n").replace("\r", "\n")
                    assert got[ref][2] == kept


def test_money_column_is_money_text():
    from bbb_xl.reports import money_text
    cents = np.array([0, 1, -1, 99, -99, 100, -100, 12345, -12345, 10 ** 17, -(10 ** 17), 2 ** 62], dtype=np.int64)
    assert [x.decode() for x in sheet_writer.money_column(cents)] == [money_text(int(c)) for c in cents]
    assert sheet_writer.money_column(np.array([-5, 7])).tolist() == [b"-0.05", b"0.07"]


def test_interleaved_blocks_fall_back_to_the_per_cell_order():
    s = SheetReport("Interleaved")
    s.add(1, 1, [["a", None, "c"]], "text")
    s.add(1, 2, [["b"]], "header")  # inside the first block's columns, in the same row
    old, new = both(s)
    assert new == old
    assert re.findall(r'r="([A-C]1)"', new[0]) == ["A1", "B1", "C1"]


# --- the refreshed workbook in LibreOffice ------------------------------------------------------------------------

@pytest.mark.libreoffice
@lo.requires_soffice
def test_libreoffice_reads_the_refreshed_cells(tmp_path):
    rows = generate_book(60, 12, seed=3, start="2024-01-01")
    rename_customer(rows, 2, "=1+1")
    rename_customer(rows, 30, '-x <&> "q"')
    path = tmp_path / "book.xlsm"
    build_workbook(path, rows, refresh_settings(12), keep_csv=False)
    result = refresh_file(path, refreshed_at=dt.datetime(2026, 1, 2))
    report = result.reports.sheets["Revenue"]
    out = tmp_path / "lo.xlsx"
    lo.recalculate(path, out)
    ws = openpyxl.load_workbook(out, data_only=True)["Revenue"]
    matrix = next(b for b in report.blocks if isinstance(b.values, np.ndarray) and b.values.shape[0] == 60)
    texts = next(b for b in report.blocks if isinstance(b.values, list) and len(b.values) == 60)
    for i in range(60):
        for j, v in enumerate(texts.values[i]):
            assert ws.cell(texts.row + i, texts.col + j).value == v
        for j in range(matrix.values.shape[1]):
            shown = ws.cell(matrix.row + i, matrix.col + j).value
            assert round(Decimal(repr(shown)) * 100) == int(matrix.values[i, j])
    assert {ws.cell(texts.row + i, 2).value for i in range(60)} >= {"=1+1", '-x <&> "q"'}


# --- the refresh benchmark ------------------------------------------------------------------------------------

def test_refresh_benchmark_measures_every_phase(tmp_path):
    from benchmarks import bench_refresh
    path = bench_refresh.build(40, 12, tmp_path)
    column = bench_refresh.measure(path, 1)
    per_cell = bench_refresh.measure(path, 1, per_cell=True)
    for r in (column, per_cell):
        assert set(r["phases"]) == set(bench_refresh.PHASES) and r["problems"] == 0
        assert 0 < r["phases"]["sheet_xml"] < r["phases"]["write"] and r["phases"]["zip"] > 0
    assert "| 40 × 12 " in bench_refresh.table([dict(column, lines=40, months=12, writer="column")])
