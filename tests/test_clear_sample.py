"""`bbb-xl clear-sample BOOK`: empties the shipped sample rows of Contracts, Events and FX Rates (headers, Tables,
validation and formats kept), resets the Company name, atomically; refuses a user's own rows unless --force,
which keeps a byte copy BOOK.before-clear.xlsm."""
import shutil

import openpyxl
import pytest
from click.testing import CliRunner

from bbb_xl.cli import cli
from bbb_xl.excel import template
from bbb_xl.excel.headless import refresh_file
from bbb_xl.excel.inputs import inputs_fingerprint, shipped_fingerprints
from bbb_xl.sample import sample_contracts, sample_events


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    path = tmp_path_factory.mktemp("clear") / "demo.xlsm"
    template.build_demo(path)
    return path


def _copy(src, tmp_path, name="book.xlsm"):
    dst = tmp_path / name
    shutil.copyfile(src, dst)
    return dst


def _run(*args):
    return CliRunner().invoke(cli, ["clear-sample", *map(str, args)])


def _assert_cleared(path):
    wb = openpyxl.load_workbook(path, keep_vba=True)
    expect = {"Contracts": ("Contracts", "A1:R2", 5), "Events": ("Events", "A1:M2", 5), "FX Rates": ("FX", "A1:D2", 1)}
    for sheet, (table, ref, validations) in expect.items():
        ws = wb[sheet]
        assert ws.max_row == 1, sheet  # the header only
        assert ws["A1"].value in ("Contract ID", "Currency")
        assert dict(ws.tables.items()) == {table: ref}  # Excel's empty table
        assert len(ws.data_validations.dataValidation) == validations
        for dv in ws.data_validations.dataValidation:  # the whole column, from the first data row
            assert str(dv.sqref).endswith("1048576") and str(dv.sqref)[1:].startswith("2:")
    assert wb["Contracts"].column_dimensions["H"].width > 15  # column layout kept
    assert wb["Settings"]["A2"].value == "Company name" and wb["Settings"]["B2"].value == "Example Co"
    assert wb["Settings"]["B4"].value is not None  # other settings untouched


def test_the_demo_book_read_back_is_the_shipped_sample(demo):
    from bbb_xl.xlsx_reader import read_sheets
    rows = sample_contracts()
    sheets = read_sheets(demo, ["Contracts"], optional=["Events", "FX Rates"])
    assert inputs_fingerprint(sheets["Contracts"], sheets["Events"], sheets["FX Rates"]) == \
        inputs_fingerprint(rows, sample_events(rows), None)
    assert inputs_fingerprint(sheets["Contracts"], sheets["Events"], None) in shipped_fingerprints()
    edited = [list(r) for r in rows]
    edited[5][7] = edited[5][7] + 0.01  # one cent on one Amount is not the sample any more
    assert inputs_fingerprint(edited, sample_events(rows), None) not in shipped_fingerprints()


def test_clear_the_demo_then_refresh_an_empty_book(demo, tmp_path):
    path = _copy(demo, tmp_path)
    result = _run(path)
    assert result.exit_code == 0, result.output
    assert "rows removed: Contracts 404, Events 55, FX Rates 0, Pipeline 3, Forecast Assumptions 4" in result.output
    _assert_cleared(path)
    assert not list(tmp_path.glob("*.before-clear*"))  # the sample needs no copy
    assert not list(tmp_path.glob(".~bbb_*"))
    refreshed = refresh_file(path)
    assert refreshed.status == "Inputs OK" and refreshed.lines == 0
    wb = openpyxl.load_workbook(path, data_only=True)
    assert wb["Summary"]["A1"].value.startswith("Example Co \u2014")
    assert wb["Exceptions"].max_row <= 4
    again = _run(path)  # an empty book is cleared again without --force (nothing of yours to lose)
    assert again.exit_code == 0, again.output


def test_the_template_examples_are_a_shipped_sample_too(tmp_path):
    path = _copy(template.TEMPLATE_PATH, tmp_path, "t.xlsm")
    result = _run(path)
    assert result.exit_code == 0, result.output
    _assert_cleared(path)


def _edit_one_amount(path):
    wb = openpyxl.load_workbook(path, keep_vba=True)
    wb["Contracts"]["H3"] = (wb["Contracts"]["H3"].value or 0) + 100
    wb.save(path)


def test_refuses_a_users_rows_without_force(demo, tmp_path):
    path = _copy(demo, tmp_path)
    _edit_one_amount(path)
    before = path.read_bytes()
    result = _run(path)
    assert result.exit_code == 1
    assert "no longer hold the shipped sample" in result.output and "--force" in result.output
    assert "book.before-clear.xlsm" in result.output
    assert path.read_bytes() == before  # nothing written
    assert sorted(p.name for p in tmp_path.iterdir()) == ["book.xlsm"]


def test_force_clears_and_keeps_a_byte_copy(demo, tmp_path):
    path = _copy(demo, tmp_path)
    _edit_one_amount(path)
    before = path.read_bytes()
    result = _run(path, "--force")
    assert result.exit_code == 0, result.output
    backup = tmp_path / "book.before-clear.xlsm"
    assert backup.read_bytes() == before
    _assert_cleared(path)
    # a second forced clear never overwrites the first copy
    _edit_one_amount(path)
    second = path.read_bytes()
    assert _run(path, "--force").exit_code == 0
    assert backup.read_bytes() == before
    assert (tmp_path / "book.before-clear-2.xlsm").read_bytes() == second


def test_refuses_an_open_workbook_and_writes_nothing(demo, tmp_path):
    path = _copy(demo, tmp_path)
    (tmp_path / ".~lock.book.xlsm#").write_text("x")
    before = path.read_bytes()
    result = _run(path, "--force")
    assert result.exit_code == 1 and "is open in another program" in result.output
    assert path.read_bytes() == before
    assert not list(tmp_path.glob("*.before-clear*"))


def test_not_a_workbook_is_one_clear_error(tmp_path):
    path = tmp_path / "notes.xlsm"
    path.write_text("hello")
    result = _run(path)
    assert result.exit_code == 1 and "Traceback" not in result.output


def test_only_the_cleared_tabs_and_their_tables_change(demo, tmp_path):
    import zipfile
    path = _copy(demo, tmp_path)
    with zipfile.ZipFile(path) as z:
        before = {n: z.read(n) for n in z.namelist()}
    assert _run(path).exit_code == 0
    with zipfile.ZipFile(path) as z:
        after = {n: z.read(n) for n in z.namelist()}
    assert list(after) == list(before)  # same parts, same order
    changed = sorted(n for n in before if before[n] != after[n])
    # Contracts, Events, FX Rates, Settings, the sample Plan, Pipeline and Forecast Assumptions and their five Tables
    # (the demo's FX table is empty already); styles, strings, VBA, report tabs: byte for byte
    assert changed == ["xl/tables/table1.xml", "xl/tables/table2.xml", "xl/tables/table5.xml", "xl/tables/table6.xml",
                       "xl/tables/table7.xml",
                       "xl/worksheets/sheet2.xml", "xl/worksheets/sheet3.xml", "xl/worksheets/sheet4.xml",
                       "xl/worksheets/sheet5.xml", "xl/worksheets/sheet7.xml", "xl/worksheets/sheet8.xml",
                       "xl/worksheets/sheet9.xml"]
