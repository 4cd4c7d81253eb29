"""python-calamine reads the input tabs only where it gives exactly the streaming reader's values (issue 19, part 1):
the same cells, types and grid, else the streaming reader reads the sheet (error values, empty text, whole numbers
written as 1.0 or 1E3, times of day, dates before 1900-03-01, escapes, locale date formats)."""
import datetime as dt
import shutil
import zipfile
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter

from bbb_xl.excel import headless
from bbb_xl.xlsx_reader import UnsafeXML, Workbook, calamine_rows, read_sheets

TEMPLATE = Path(__file__).resolve().parents[1] / "workbook_templates" / "bbb_template.xlsm"


def typed(rows):
    return [[(type(v).__name__, v) for v in r] for r in rows]


def both(path, sheet):
    wb = Workbook(path)
    try:
        return wb.rows(sheet), calamine_rows(wb, sheet)
    finally:
        wb.close()


def test_template_tabs_read_alike():
    wb = Workbook(TEMPLATE)
    names = list(wb.sheets)
    wb.close()
    read_by_calamine = 0
    for name in names:
        streamed, fast = both(TEMPLATE, name)
        if fast is not None:
            read_by_calamine += 1
            assert typed(fast) == typed(streamed), name
    assert read_by_calamine >= 10  # Contracts, Events, Settings, FX Rates, Accounts, Plan... (inputs)
    fast, slow = read_sheets(TEMPLATE, ["Contracts", "Settings"], calamine=True), read_sheets(
        TEMPLATE, ["Contracts", "Settings"])
    assert {k: typed(v) for k, v in fast.items()} == {k: typed(v) for k, v in slow.items()}


def _book(path, cells, date_format="yyyy-mm-dd"):
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("Contracts")
    date = wb.add_format({"num_format": date_format})
    for (r, c), v in cells.items():
        if isinstance(v, (dt.datetime, dt.date)):
            ws.write_datetime(r, c, v, date)
        elif v is not None:
            ws.write(r, c, v)
    wb.close()
    return path


def test_a_users_book_is_read_by_calamine_with_the_same_values(tmp_path):
    cells = {(0, 0): "Contract ID", (0, 1): "Customer", (0, 2): "Start Date", (0, 3): "Amount", (0, 5): "Region",
             (1, 0): "C1", (1, 1): "Acme", (1, 2): dt.datetime(2025, 1, 31), (1, 3): 1200.5, (1, 5): "EMEA",
             (2, 0): 1001, (2, 1): " Globex ", (2, 2): dt.date(2025, 3, 1), (2, 3): 12, (3, 3): -0.25,
             (4, 0): True, (4, 2): 45688, (6, 1): "x"}  # a blank row 6, a blank column E, a serial, a boolean
    path = _book(tmp_path / "b.xlsx", cells)
    streamed, fast = both(path, "Contracts")
    assert fast is not None
    assert typed(fast) == typed(streamed)
    assert fast[1][:4] == ["C1", "Acme", dt.datetime(2025, 1, 31), 1200.5] and fast[2][0] == 1001
    assert len(fast) == 7 and {len(r) for r in fast} == {6}


@pytest.mark.parametrize("value", [
    "#N/A",  # an error value: calamine reads it as blank
    "",  # empty text
    1e20,  # written 1E+20
    dt.datetime(2025, 1, 2, 12, 30, 15, 123456),  # a time of day: calamine keeps milliseconds
    dt.date(1900, 1, 15),  # before 1900-03-01: Excel's leap-year bug
    "a_x000D_b",  # an escape calamine decodes
    "   ",  # blank text
])
def test_cells_calamine_reads_differently_go_to_the_streaming_reader(tmp_path, value):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Contracts"
    ws["A1"], ws["B1"], ws["A2"] = "Contract ID", "Start Date", "C1"
    ws["B2"] = value
    if isinstance(value, (dt.datetime, dt.date)):
        ws["B2"].number_format = "yyyy-mm-dd hh:mm:ss"
    path = tmp_path / "edge.xlsx"
    wb.save(path)
    streamed, fast = both(path, "Contracts")
    assert fast is None or typed(fast) == typed(streamed)
    assert typed(read_sheets(path, ["Contracts"], calamine=True)["Contracts"]) == typed(streamed)


def _rewrite(src, dst, part, old, new):
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == part:
                assert old in data
                data = data.replace(old, new, 1)
            zout.writestr(info, data)
    return dst


@pytest.mark.parametrize("part, old, new", [
    ("xl/sharedStrings.xml", b"<t>EMPTYME</t>", b"<t></t>"),  # empty text: '' here, blank to calamine
    ("xl/sharedStrings.xml", b"<t>EMPTYME</t>", b'<t xml:space="preserve"/>'),
    ("xl/worksheets/sheet1.xml", b"<v>7</v>", b"<v>7.0</v>"),  # a whole number written 7.0: a float here
    ("xl/worksheets/sheet1.xml", b"<v>7</v>", b"<v>7E0</v>"),
    ("xl/sharedStrings.xml", b"<t>EMPTYME</t>", b"<t> EMPTYME</t>"),  # spaces without xml:space: calamine trims
    ("xl/sharedStrings.xml", b"<t>EMPTYME</t>", b"<t>EMPTYME </t>"),
])
def test_crafted_cells_calamine_reads_differently_go_to_the_streaming_reader(tmp_path, part, old, new):
    src = _book(tmp_path / "c.xlsx", {(0, 0): "Contract ID", (0, 1): "Amount", (1, 0): "EMPTYME", (1, 1): 7})
    dst = _rewrite(src, tmp_path / "crafted.xlsx", part, old, new)
    streamed, fast = both(dst, "Contracts")
    assert fast is None
    assert typed(read_sheets(dst, ["Contracts"], calamine=True)["Contracts"]) == typed(streamed)
    assert streamed[1] in (["", 7], ["EMPTYME", 7.0], [" EMPTYME", 7], ["EMPTYME ", 7])


def test_serial_60_and_a_time_format_stay_as_the_streaming_reader_reads_them(tmp_path):
    for serial, expected in ((60, 60.0), (45688.5, dt.datetime(2025, 1, 31, 12)), (-5, dt.datetime(1899, 12, 26)),
                             (3_000_000, 3_000_000.0), (2958466, 2958466.0)):  # the last two: past 9999-12-31
        path = tmp_path / f"s{serial}.xlsx"
        wb = xlsxwriter.Workbook(str(path))
        ws = wb.add_worksheet("Contracts")
        ws.write(0, 0, "Start Date")
        ws.write_number(1, 0, serial, wb.add_format({"num_format": "d/m/yyyy"}))
        wb.close()
        streamed, fast = both(path, "Contracts")
        assert fast is None
        assert streamed[1][0] == expected
        assert typed(read_sheets(path, ["Contracts"], calamine=True)["Contracts"]) == typed(streamed)


def test_a_calamine_failure_falls_back(tmp_path, monkeypatch):
    import python_calamine
    path = _book(tmp_path / "f.xlsx", {(0, 0): "Contract ID", (1, 0): "C1"})

    def broken(*_a, **_k):
        raise python_calamine.CalamineError("broken")
    monkeypatch.setattr(python_calamine.CalamineWorkbook, "from_path", broken)
    assert read_sheets(path, ["Contracts"], calamine=True)["Contracts"] == [["Contract ID"], ["C1"]]


def test_a_doctype_is_still_refused(tmp_path):
    src = _book(tmp_path / "d.xlsx", {(0, 0): "Contract ID", (1, 0): "C1"})
    dst = _rewrite(src, tmp_path / "doctype.xlsx", "xl/worksheets/sheet1.xml", b"?>",
                   b'?><!DOCTYPE x [<!ENTITY a "b">]>')
    with pytest.raises(UnsafeXML):
        read_sheets(dst, ["Contracts"], calamine=True)


def test_read_inputs_gives_what_the_streaming_reader_gives(tmp_path):
    path = tmp_path / "t.xlsm"
    shutil.copy(TEMPLATE, path)
    contracts, settings, events, fx, accounts = headless.read_inputs(path, with_fx=True)
    slow = read_sheets(path, ["Contracts", "Settings"], optional=["Events", "FX Rates", "Accounts"])
    assert typed(contracts) == typed(slow["Contracts"]) and typed(settings) == typed(slow["Settings"])
    assert typed(events) == typed(slow["Events"]) and typed(fx) == typed(slow["FX Rates"])


def test_whole_numbers_past_the_last_date_are_ints_without_a_date_format(tmp_path):
    cells = {(0, 0): "Start Date", (0, 1): "Amount", (1, 0): dt.datetime(2025, 1, 31), (1, 1): 3_000_000,
             (2, 0): dt.datetime(2025, 2, 1), (2, 1): 12_500_000.5}
    path = _book(tmp_path / "big.xlsx", cells)
    streamed, fast = both(path, "Contracts")
    assert fast is not None and typed(fast) == typed(streamed)
    assert fast[1][1] == 3_000_000 and type(fast[1][1]) is int


def test_a_built_workbooks_input_tabs_are_read_by_calamine_alike(tmp_path):
    """What `bbb-xl refresh` reads: the input tabs of a workbook the template builder wrote (datetime dates, float
    amounts, text, blanks) all go through calamine and give the streaming reader's cells."""
    from benchmarks.generate import generate_book
    from benchmarks.run import refresh_settings
    from bbb_xl.excel.template import build_workbook
    path = tmp_path / "built.xlsm"
    build_workbook(path, generate_book(60, 12, seed=3, start="2024-01-01"), refresh_settings(12), refreshed_at=None,
                   keep_csv=False)
    for name in ("Contracts", "Settings", "Events", "FX Rates", "Accounts"):
        streamed, fast = both(path, name)
        assert fast is not None, name
        assert typed(fast) == typed(streamed), name
    assert len(streamed) >= 1 and len(both(path, "Contracts")[1]) == 61
