"""The template workbook and its refresh: reproducible build, reports that tie out and match the formulas,
input tabs untouched, atomic and refused writes, the Excel shell's content, and LibreOffice rendering."""
import datetime as dt
import os
import re
import shutil
import stat
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pytest

import libreoffice as lo
from bbb_xl.excel import headless, template
from bbb_xl.excel.audit_trail import AUDIT_TABS
from bbb_xl.excel.package import Package
from bbb_xl.xlsx_reader import read_sheets
from bbb_xl.excel.workflow import GENERATED_SHEETS
from bbb_xl.sample import sample_contracts, sample_events
from bbb_xl.udfs import BBB_BACKLOG, BBB_BILLINGS, BBB_BOOKINGS, BBB_DEFERRED, BBB_REVENUE, BBB_UNBILLED

REPO_TEMPLATE = Path(__file__).resolve().parents[1] / "workbook_templates" / "bbb_template.xlsm"
MONTHS = [f"2025-{m:02d}" for m in range(1, 13)]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    path = tmp_path_factory.mktemp("demo") / "demo.xlsm"
    result = template.build_demo(path)
    return path, result


def parts(path):
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def sheet_part_names(path):
    return Package(path).sheet_parts()


def valid_rows():
    """The sample book without the contract that has an input error (the reports leave it out whole)."""
    rows = sample_contracts()
    return [rows[0]] + [r for r in rows[1:] if r[0] != "C-9999"]


def test_committed_template_is_what_the_sources_build(tmp_path):
    rebuilt = tmp_path / "t.xlsm"
    template.build_template(rebuilt)
    old, new = parts(REPO_TEMPLATE), parts(rebuilt)
    assert list(old) == list(new)
    changed = [n for n in old if old[n] != new[n]]
    assert changed == [], f"rebuild the template: bbb-xl template --in-repo ({changed})"


def test_template_has_every_tab_button_vba_and_validation():
    p = parts(REPO_TEMPLATE)
    assert "xl/vbaProject.bin" in p
    names = list(sheet_part_names(REPO_TEMPLATE))
    assert names == ["Start here", "Contracts", "Events", "FX Rates", "Settings", "Accounts", "Plan", "Pipeline",
                     "Forecast Assumptions", "Opening Balances", "Mapping", "Price Tiers"] + GENERATED_SHEETS[1:] + \
        list(AUDIT_TABS)  # record tabs
    wb = openpyxl.load_workbook(REPO_TEMPLATE, keep_vba=True)
    ws = wb["Contracts"]
    assert "Contracts" in ws.tables
    assert ws.freeze_panes == "A2"
    assert ws["A1"].comment is not None and "Contract ID" in ws["A1"].comment.text
    lists = {str(dv.sqref).split(":")[0][0]: dv.formula1 for dv in ws.data_validations.dataValidation}
    assert lists["J"] == '"monthly,daily,point in time,milestone,percent complete,usage"'
    assert lists["K"] == '"upfront,monthly,quarterly,semiannual,annual"'
    # the sample's Unit Price (usage line C-1201), then the optional evergreen columns (blank in the examples)
    assert [ws.cell(1, c).value for c in (16, 17, 18)] == ["Unit Price", "Renewal", "Term"]
    assert "usage lines only" in ws["P1"].comment.text
    assert lists["Q"] == '"auto,none"'
    term = next(dv for dv in ws.data_validations.dataValidation if str(dv.sqref).startswith("R"))
    assert (term.type, term.formula1, term.formula2) == ("whole", "1", "120")  # between (the default)
    assert "evergreen" in ws["Q1"].comment.text and "months per term" in ws["R1"].comment.text
    assert ws.column_dimensions["Q"].width >= 10 and ws.column_dimensions["R"].width >= 8
    events = wb["Events"]
    assert "Events" in events.tables
    assert [events.cell(1, c).value for c in range(1, 14)] == ["Contract ID", "Line ID", "Date", "Event", "Amount",
                                                               "Percent", "End Date", "Treatment", "Bill", "Memo",
                                                               "Quantity", "Source ID", "Term"]
    assert "Source ID" in events["L1"].comment.text and events.tables["Events"].ref.startswith("A1:M")
    assert "usage only" in events["K1"].comment.text and "evergreen" in events["M1"].comment.text
    dv, treatment, bill, quantity, term = events.data_validations.dataValidation
    assert dv.formula1 == '"invoice,milestone,percent complete,cancel,modify,adjust,usage"'
    assert treatment.formula1 == '"prospective,catch-up,specific"'
    assert bill.formula1 == '"yes,no"'
    assert (str(quantity.sqref), quantity.type, quantity.operator, quantity.formula1) == \
        ("K2:K1048576", "decimal", "greaterThanOrEqual", "0")
    assert (str(term.sqref), term.type, term.formula1, term.formula2) == ("M2:M1048576", "whole", "1", "120")
    # the sample usage events (C-1201's API calls) in the Quantity column
    usage = [[events.cell(r, c).value for c in (1, 4, 11)] for r in range(2, events.max_row + 1)
             if events.cell(r, 4).value == "usage"]
    assert usage == [["C-1201", "usage", 40000], ["C-1201", "usage", 25000]]
    fx = wb["FX Rates"]
    assert "FX" in fx.tables and [fx.cell(1, c).value for c in range(1, 4)] == ["Currency", "Month", "Rate"]
    mapping = wb["Mapping"]  # the import mapping: an input Table, documented beside it
    assert mapping.tables["Mapping"].ref == "A1:D17" and mapping.freeze_panes == "A2"
    assert [mapping.cell(1, c).value for c in range(1, 5)] == ["Field", "Source", "Kind", "Value"]
    assert [mapping.cell(r, 1).value for r in (2, 3, 4, 17)] == ["Target", "Date Order", "Contract ID", "Dimension"]
    checks = {str(dv.sqref).split(":")[0]: dv for dv in mapping.data_validations.dataValidation}
    assert checks["C2"].formula1 == '"column,constant,sum,first,add days,add months,term end,not"'
    assert checks["A2"].formula1 == "$I$2:$I$26" and checks["A2"].errorStyle == "warning"
    assert [mapping.cell(r, 9).value for r in (2, 26)] == ["Contract ID", "Dimension"]  # 16 + 5 + 4 names
    assert [mapping.cell(r, 6).value for r in range(2, 10)] == ["column", "constant", "sum", "first", "add days",
                                                               "add months", "term end", "not"]
    assert all(mapping.cell(1, c).comment is not None for c in range(1, 5))
    settings = wb["Settings"]
    assert [settings.cell(r, 1).value for r in range(2, 5)] == ["Company name", "Currency", "As-of date"]
    assert settings["C4"].value.startswith("Summary figures are for the period")


def total_row_of(sheet):
    return next(r for r in range(1, sheet.last_row + 1) if sheet.cell(r, 1) == "Total")


def test_reports_match_the_formulas_over_valid_contracts(demo):
    _, result = demo
    rows = valid_rows()
    ev = sample_events(sample_contracts())
    sheets = result.reports.sheets
    revenue, billings = sheets["Revenue"], sheets["Billings"]
    total_row = total_row_of(revenue)  # sections follow the Total row (timing of transfer, reconciliation)
    rev_header, bil_header = revenue.rows()[3], billings.rows()[3]
    assert "Allocated" in rev_header and "Allocated" not in bil_header  # revenue follows SSP allocation
    for j, month in enumerate(MONTHS):
        col = rev_header.index(month) + 1
        assert revenue.cell(total_row, col) == round(BBB_REVENUE(rows, month, None, None, ev) * 100)
        col = bil_header.index(month) + 1
        assert billings.cell(total_row_of(billings), col) == round(BBB_BILLINGS(rows, month, None, None, ev) * 100)
    summary = sheets["Summary"]
    assert summary.cell(7, 4) == round(BBB_BOOKINGS(rows, "2025", None, None, ev) * 100)
    assert summary.cell(9, 4) == round(BBB_REVENUE(rows, "2025", None, None, ev) * 100)
    assert summary.cell(9, 3) == round(BBB_REVENUE(rows, "2025-Q4", None, None, ev) * 100)
    assert summary.cell(13, 2) == round(BBB_BACKLOG(rows, "2025-12-31", None, ev) * 100)
    assert summary.cell(16, 2) == round(BBB_DEFERRED(rows, "2025-12-31", None, ev) * 100)
    assert summary.cell(17, 2) == round(BBB_UNBILLED(rows, "2025-12-31", None, ev) * 100)
    backlog = sheets["Backlog"]
    for j, month in enumerate(MONTHS):
        assert backlog.cell(5 + j, 7) == round(BBB_BACKLOG(rows, month, None, ev) * 100)
    # the excluded contract is announced, with its amount
    assert "1 contract (12,000.00 USD) left out" in summary.cell(3, 1)


def test_every_rollforward_ties(demo):
    _, result = demo
    sheets = result.reports.sheets
    backlog = sheets["Backlog"].rows()[4:16]
    for i, row in enumerate(backlog):  # (the delivery load below is wider: the rollforward's 9 columns)
        label, _, opening, bookings, changes, revenue, closing, within, after = row[:9]
        assert opening + bookings + changes - revenue == closing, label
        assert within + after == closing
        if i:
            assert opening == backlog[i - 1][6]
    # the sample's cancellation and catch-up renewal are listed with their effects (the Changes tab)
    changes = sheets["Changes"].rows()
    assert changes[3][:5] == ["Date", "Contract ID", "Line ID", "Event", "Treatment"]
    kinds = [(r[1], r[3], r[4]) for r in changes[4:-1]]
    assert ("C-1002", "cancel", "") in kinds and ("C-1004", "modify", "catch-up") in kinds
    for r in changes[4:-1]:
        assert r[9] - r[10] == r[11]
    deferred = sheets["Deferred Revenue"].rows()[4:16]
    for i, (label, opening, billings, revenue, reclass, closing, u_open, u_close, from_opening) in \
            enumerate(deferred):
        assert opening + billings - revenue + reclass == closing, label
        assert reclass == u_close - u_open
        assert 0 <= from_opening <= opening  # per contract it is at most that contract's opening deferred
        if i:
            assert opening == deferred[i - 1][5] and u_open == deferred[i - 1][7]
    # each waterfall row: Before + periods + After = Amount; totals row = sum of the rows
    rev = sheets["Revenue"]
    block = next(b for b in rev.blocks if isinstance(b.values, np.ndarray))
    m = block.values  # Amount, Allocated, Before, periods..., After, Total in periods
    assert (m[:, 2] + m[:, 3:-2].sum(axis=1) + m[:, -2] == m[:, 1]).all()  # ties to the allocated amount
    assert (m[:, -1] == m[:, 3:-2].sum(axis=1)).all()
    assert m[:, 0].sum() == m[:, 1].sum() and (m[:, 0] != m[:, 1]).any()  # allocation moves, never creates
    totals = next(b for b in rev.blocks if b.styles == "money_total").values[0]
    assert totals == [int(v) for v in m.sum(axis=0)]
    bil = next(b for b in sheets["Billings"].blocks if isinstance(b.values, np.ndarray)).values
    assert (bil[:, 1] + bil[:, 2:-2].sum(axis=1) + bil[:, -2] == bil[:, 0]).all()  # invoices tie to Amount
    # journal: every entry balances, and revenue credited equals the Revenue tab
    journal = sheets["Journal Entries"].rows()[4:-1]
    by_entry = {}
    for entry, day, period, code, name, debit, credit, currency, memo in journal:
        d, c = by_entry.get(entry, (0, 0))
        by_entry[entry] = (d + (debit or 0), c + (credit or 0))
    assert by_entry and all(d == c for d, c in by_entry.values())
    revenue_credit = sum((r[6] or 0) - (r[5] or 0) for r in journal if (r[3], r[4]) == ("4000", "Revenue"))
    assert revenue_credit == sum(totals[3:-2])


def test_input_tabs_and_other_parts_survive_refresh_byte_for_byte(demo, tmp_path):
    src, _ = demo
    path = tmp_path / "book.xlsm"
    shutil.copy(src, path)
    # a user adds a tab with formulas and edits Contracts (openpyxl stands in for the user's Excel here)
    wb = openpyxl.load_workbook(path, keep_vba=True)
    notes = wb.create_sheet("My notes")
    notes["A1"] = "Amount check"
    notes["B1"] = "=SUM(Contracts!H:H)"
    wb["Contracts"]["N5"] = '="Ent"&"erprise"'
    wb.defined_names["MyTotal"] = openpyxl.workbook.defined_name.DefinedName("MyTotal", attr_text="'My notes'!$B$1")
    wb.save(path)
    before = parts(path)
    sheets = sheet_part_names(path)
    headless.refresh_file(path)
    after = parts(path)
    assert list(before) == list(after)
    generated = {sheets[n] for n in GENERATED_SHEETS}
    records = {sheets[n] for n in AUDIT_TABS}  # record tabs: appended to (test_audit_trail)
    generated |= records
    untouched = [n for n in before if n not in generated and not n.startswith("xl/charts/")
                 and n != "xl/styles.xml"]
    assert [n for n in untouched if before[n] != after[n]] == []
    for name in ("Contracts", "Settings", "My notes"):
        assert before[sheets[name]] == after[sheets[name]]
    assert before["xl/vbaProject.bin"] == after["xl/vbaProject.bin"]
    # styles only grow by appending: the xf indices the input tabs use keep their meaning
    old_xfs = re.search(r"<cellXfs.*?</cellXfs>", before["xl/styles.xml"].decode(), re.S).group(0)
    new_xfs = re.search(r"<cellXfs.*?</cellXfs>", after["xl/styles.xml"].decode(), re.S).group(0)
    old_items = re.findall(r"<xf\b.*?(?:/>|</xf>)", old_xfs, re.S)
    assert re.findall(r"<xf\b.*?(?:/>|</xf>)", new_xfs, re.S)[: len(old_items)] == old_items


def test_refresh_twice_gives_the_same_reports(demo, tmp_path):
    src, _ = demo
    path = tmp_path / "again.xlsm"
    shutil.copy(src, path)
    first = parts(path)
    headless.refresh_file(path, refreshed_at=dt.datetime(2030, 1, 1))
    second = parts(path)
    run_info_second = read_sheets(path, ["Run Info"])["Run Info"]
    headless.refresh_file(path, refreshed_at=dt.datetime(2030, 1, 1))
    third = parts(path)
    names = sheet_part_names(path)
    run_info, records = names["Run Info"], [names[n] for n in AUDIT_TABS]  # each refresh appends an entry
    assert {n: v for n, v in second.items() if n not in records + [run_info]} == {
        n: v for n, v in third.items() if n not in records + [run_info]}
    run_info_third = read_sheets(path, ["Run Info"])["Run Info"]
    assert run_info_second[13][1].startswith("intact: 2 entries") and run_info_third[13][1].startswith("intact: 3")
    assert run_info_second[:13] + run_info_second[14:] == run_info_third[:13] + run_info_third[14:]
    assert [n for n in first if first[n] != second[n]] == [run_info] + records


def test_report_text_is_never_a_formula(tmp_path):
    rows = sample_contracts()[:6]
    rows[1][1] = '=HYPERLINK("http://example.com","x")'
    rows[2][12] = "+cmd|' /C calc'!A0"
    path = tmp_path / "inj.xlsm"
    result = template.build_workbook(path, rows, {"As-of date": dt.datetime(2025, 12, 31),
                                                  "Report start": "2025-01", "Report end": "2025-12"})
    xml = parts(path)[sheet_part_names(path)["Revenue"]].decode()
    assert "<f>" not in xml
    assert '<is><t>=HYPERLINK("http://example.com","x")</t></is>' in xml.replace("&quot;", '"')
    journal_csv = [p for p in result.csv_files if "Journal" in p.name][0].read_text()
    assert "=HYPERLINK" not in journal_csv or "'=HYPERLINK" in journal_csv


def test_refused_writes_change_nothing(demo, tmp_path):
    src, _ = demo
    path = tmp_path / "locked.xlsm"
    shutil.copy(src, path)
    original = path.read_bytes()
    for lock in (tmp_path / "~$locked.xlsm", tmp_path / ".~lock.locked.xlsm#"):
        lock.write_text("x")
        with pytest.raises(Exception, match="open in another program"):
            headless.refresh_file(path)
        lock.unlink()
        assert path.read_bytes() == original
    os.chmod(path, stat.S_IRUSR)
    try:
        with pytest.raises(Exception, match="read-only"):
            headless.refresh_file(path)
    finally:
        os.chmod(path, 0o644)
    assert path.read_bytes() == original
    assert not list(tmp_path.glob(".~bbb_*"))


def test_settings_problems_are_located_and_no_figures_are_computed(demo, tmp_path):
    src, _ = demo
    path = tmp_path / "bad_settings.xlsm"
    rows = sample_contracts()[:5]
    template.build_workbook(path, rows, {"As-of date": "yesterday", "Period": "weekly", "Currency": "Dollars"},
                            keep_csv=False)
    result = headless.refresh_file(path)
    problems = [str(p) for p in result.reports.problems]
    assert "Settings!B4: As-of date: 'yesterday' is not a date (write it as 2025-03-15, or use a date cell)" \
        in problems
    assert any(p.startswith("Settings!B7: Period: 'weekly'") for p in problems)
    assert any(p.startswith("Settings!B3: Currency") for p in problems)
    assert result.status == "3 errors \u2014 see Exceptions"
    assert "not refreshed" in result.reports.sheets["Revenue"].cell(1, 1)


class _FakeRange:
    def __init__(self, sheet, a, b=None):
        self.sheet, self.a, self.b = sheet, a, b
        self.font = type("F", (), {})()

    @property
    def raw_value(self):
        return self.sheet.source

    @property
    def value(self):
        return None

    @value.setter
    def value(self, rows):
        r0, c0 = self.a
        for i, row in enumerate(rows if isinstance(rows, list) else [[rows]]):
            for j, v in enumerate(row if isinstance(row, list) else [row]):
                self.sheet.cells_[(r0 + i, c0 + j)] = v

    def merge(self):
        self.sheet.merged.append(self.a)

    def add_hyperlink(self, address, text_to_display=None, screen_tip=None):
        """xlwings' own Range.add_hyperlink (its defaults) over a recorder of what reaches Excel."""
        import types
        import xlwings.main
        record = lambda *args: self.sheet.links_.__setitem__(self.a, args)  # noqa: E731
        xlwings.main.Range.add_hyperlink(types.SimpleNamespace(impl=types.SimpleNamespace(add_hyperlink=record)),
                                         address, text_to_display, screen_tip)

    @property
    def last_cell(self):
        return type("C", (), {"row": len(self.sheet.source), "column": len(self.sheet.source[0])})()


class _FakeSheet:
    """Records what the xlwings shell writes. No Excel runs on Linux: this is the one stand-in."""

    def __init__(self, source=None):
        self.source, self.cells_, self.charts, self.merged, self.links_ = source, {}, [], [], {}
        self.cells = type("Cells", (), {"clear": lambda _: self.cells_.clear()})()

    @property
    def used_range(self):
        return _FakeRange(self, (1, 1))

    def range(self, a, b=None):
        return _FakeRange(self, a if isinstance(a, tuple) else a, b)


def test_excel_button_shell_writes_the_same_content_as_headless(demo, tmp_path):
    import bbb_xl.excel as shell
    src, result = demo
    contracts, settings, events = headless.read_inputs(src)
    book = type("Book", (), {})()
    book.fullname = str(tmp_path / "from_excel.xlsm")
    book.sheets = {"Contracts": _FakeSheet(tuple(map(tuple, contracts))),
                   "Settings": _FakeSheet(tuple(map(tuple, settings))),
                   "Events": _FakeSheet(tuple(map(tuple, events)))}
    for name in GENERATED_SHEETS:
        book.sheets[name] = _FakeSheet()
    assert shell.refresh(book) == result.status
    for name in ("Summary", "Revenue", "Deferred Revenue", "Journal Entries", "Exceptions"):
        expected = result.reports.sheets[name].rows()
        written = book.sheets[name].cells_
        for r, row in enumerate(expected, start=1):
            for c, v in enumerate(row, start=1):
                got = written.get((r, c))
                if isinstance(v, (int, np.integer)) and not isinstance(v, bool) and isinstance(got, float):
                    assert round(got * 100) == v, (name, r, c)
                elif isinstance(v, dt.date):
                    assert got.date() == v if isinstance(got, dt.datetime) else got == v
                elif isinstance(v, str) and v.startswith(("=", "+", "-", "@")):
                    assert got == "'" + v  # Excel's text prefix: shown as v, never run as a formula
                else:
                    assert got == v or (v is None and got is None), (name, r, c, v, got)
    assert (tmp_path / "from_excel - Journal Entries.csv").exists()
    assert book.sheets["Summary"].merged == ["A3:F3"]  # the banner spans the row in Excel too


@pytest.mark.libreoffice
@lo.requires_soffice
def test_libreoffice_renders_summary_with_charts(demo, tmp_path):
    src, _ = demo
    pdf = lo.convert_to_pdf(src, tmp_path, sheet="Summary")
    (png,) = lo.pdf_to_png(pdf, tmp_path / "summary", dpi=60)
    from PIL import Image
    img = np.asarray(Image.open(png).convert("RGB")).astype(int)
    r, g, b = img[..., 0], img[..., 1], img[..., 2]
    bars = ((b - r) > 60) & ((b - g) > 30) & (b > 120)  # the blue of the first series: only in the charts
    assert bars.sum() > 300, f"chart area looks blank ({bars.sum()} series pixels)"


@pytest.mark.libreoffice
@lo.requires_soffice
def test_libreoffice_opens_template_with_buttons_bound(tmp_path):
    from test_vba_button import CLEAR_COMMAND, CLEAR_URL, COMMAND, MACRO_URL, _inspect
    result = _inspect(REPO_TEMPLATE)
    (clear,) = [b for b in result["sheets"]["Start here"] if b["label"] == "Clear sample data"]
    assert clear["events"] == [["XActionListener", "actionPerformed", "Script", CLEAR_URL]]
    assert clear["calls_after_press"] == CLEAR_COMMAND + "\n"
    for name in ("Start here", "Summary"):
        (button,) = [b for b in result["sheets"][name] if b["label"] != "Clear sample data"]
        assert button["label"] == "Refresh reports"
        assert button["events"] == [["XActionListener", "actionPerformed", "Script", MACRO_URL]]
        assert button["calls_after_press"] == COMMAND + "\n"
