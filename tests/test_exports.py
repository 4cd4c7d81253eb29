"""`bbb-xl journal`: the journal of a workbook as the import file of NetSuite, QuickBooks Online, Xero or the plain
CSV. Each file is read back with csv: every entry balances (Xero: its amounts sum to zero) and every entry equals
the Journal Entries tab (compute_reports on the same inputs), account by account; money is a number, never
neutralised; free text (memo, customer names) is. Worked examples of issue 11 / 14 (ASC 606-10-45-1..4):
  A: 18,000 billed annually in arrears, 2025-11-01..2026-10-31, recognized monthly (1,500 a month): in 2026-10
     Dr AR 18,000 / Cr Contract Asset 16,500 / Cr Revenue 1,500 (the contract asset relieved against AR);
  U: 12,000 billed annually in advance on 2026-01-01, recognized monthly (1,000 a month): in 2026-01 the
     period entry with A is Dr AR 12,000, Dr Contract Asset 1,500 / Cr Deferred Revenue 11,000, Cr Revenue 2,500."""
import csv
import datetime as dt
import io
from decimal import Decimal as D

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from bbb_xl import api
from bbb_xl.cli import cli
from bbb_xl.excel.headless import read_inputs
from bbb_xl.excel.workflow import compute_reports
from bbb_xl.engine.journal import MODES, journal_lines
from bbb_xl.exports import FORMATS, ExportOptions, format_date
from bbb_xl.files import csv_text
from test_properties_events import SETTINGS as HYPOTHESIS_SETTINGS, books, make_events, make_rows

HEADER = ["Contract ID", "Customer", "Line ID", "Start Date", "End Date", "Amount", "Recognition", "Billing",
          "Billing Timing", "Product"]
ARREARS = ["A", "Acme", "1", "2025-11-01", "2026-10-31", 18000, "monthly", "annual", "arrears", "Support"]
UPFRONT = ["U", "Beta", "1", "2026-01-01", "2026-12-31", 12000, "monthly", "annual", "advance", "Cloud"]
HOSTILE = ["H", '=HYPERLINK("http://x","y")', "1", "2026-01-01", "2026-03-31", 3000, "monthly", "upfront",
           "advance", "Cloud"]
SETTINGS = {"As-of date": dt.datetime(2026, 10, 31), "Report start": "2025-11", "Report end": "2026-12"}
NAMES = {"Accounts Receivable": "1200", "Contract Asset (unbilled receivable)": "1250", "Deferred Revenue": "2400",
         "Revenue": "4000"}


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    from bbb_xl.excel.template import build_workbook
    path = tmp_path_factory.mktemp("exports") / "book.xlsm"
    build_workbook(path, [HEADER, ARREARS, UPFRONT, HOSTILE], SETTINGS, keep_csv=False)
    return path


def tab(path, detail, start="2025-11", end="2026-12"):
    """The Journal Entries tab of the workbook's inputs with Journal detail = detail, for start..end:
    {entry: [(account code, debit cents, credit cents), ...]}."""
    contracts, settings, events, fx, accounts = read_inputs(path, with_fx=True)
    settings = [r for r in settings if r and r[0] not in ("Journal detail", "Report start", "Report end")]
    settings += [["Journal detail", detail], ["Report start", start], ["Report end", end]]
    reports = compute_reports(contracts, settings, events, fx_rows=fx, accounts_rows=accounts)
    out = {}
    for r in reports.sheets["Journal Entries"].rows()[4:-1]:  # header on row 4, the Total row last
        out.setdefault(r[0], []).append((r[3], r[5] or 0, r[6] or 0))
    return out


def cents(text) -> int:
    return int(D(text or "0") * 100)


def read_back(fmt, text):
    """The written file -> {entry: [(account code, debit cents, credit cents), ...]}, as each vendor reads it."""
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    out = {}
    for r in rows:
        if fmt == "csv":
            key, line = r["Entry"], (r["Account Code"], cents(r["Debit"]), cents(r["Credit"]))
        elif fmt == "netsuite":
            key, line = r["External ID"], (r["Account"].split(" ", 1)[0], cents(r["Debit"]), cents(r["Credit"]))
        elif fmt == "quickbooks":
            key, line = r["Journal No."], (NAMES[r["Account Name"]], cents(r["Debits"]), cents(r["Credits"]))
        else:  # xero: one journal per Narration + Date; a positive Amount is a debit
            amount = cents(r["*Amount"])
            key, line = r["*Narration"].split(" ", 1)[0], (r["*AccountCode"], max(amount, 0), max(-amount, 0))
        out.setdefault(key, []).append(line)
    return out


def export(path, tmp_path, fmt, detail="period", start="2025-11", end="2026-12", **options):
    out = tmp_path / f"journal-{fmt}-{detail}.csv"
    result = api.export_journal(path, start, end, fmt, detail, out, **options)
    return result, out.read_text(encoding="utf-8")


# --- each format round-trips: balanced per entry, equal to the Journal Entries tab --------------------------

@pytest.mark.parametrize("detail", ["period", "contract"])
@pytest.mark.parametrize("fmt", list(FORMATS))
def test_each_format_balances_per_entry_and_equals_the_journal_entries_tab(book, tmp_path, fmt, detail):
    result, text = export(book, tmp_path, fmt, detail)
    back = read_back(fmt, text)
    for entry, lines in back.items():
        assert sum(d for _, d, _ in lines) == sum(c for _, _, c in lines) > 0, entry
    assert back == tab(book, detail)
    assert (result.entries, result.lines) == (len(back), sum(map(len, back.values())))
    # 14 months; by contract: A in 12 of them, U in 12 (2026-01..2026-12), H in 3
    assert result.entries == (14 if detail == "period" else 12 + 12 + 3)


def test_arrears_contract_in_its_last_month_in_every_layout(book, tmp_path):
    """A in 2026-10 (with U's 1,000 of revenue and its deferred release in the same period entry)."""
    _, text = export(book, tmp_path, "csv", "contract")
    oct_a = [r for r in csv.reader(io.StringIO(text)) if r[0] == "JE-2026-10-0001"]
    assert oct_a == [
        ["JE-2026-10-0001", "2026-10-31", "2026-10", "1200", "Accounts Receivable", "18000.00", "", "USD",
         "Invoices issued in 2026-10", "A", "Acme"],
        ["JE-2026-10-0001", "2026-10-31", "2026-10", "1250", "Contract Asset (unbilled receivable)", "", "16500.00",
         "USD", "Contract asset relieved by billing", "A", "Acme"],
        ["JE-2026-10-0001", "2026-10-31", "2026-10", "4000", "Revenue", "", "1500.00", "USD",
         "Revenue recognized in 2026-10", "A", "Acme"]]
    _, text = export(book, tmp_path, "xero", "contract")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["*Narration", "*Date", "Description", "*AccountCode", "*TaxRate", "*Amount", "TrackingName1",
                       "TrackingOption1", "TrackingName2", "TrackingOption2"]
    assert [r[1:6] for r in rows if r[0].startswith("JE-2026-10-0001 ")] == [
        ["31/10/2026", "Invoices issued in 2026-10", "1200", "Tax Exempt", "18000.00"],
        ["31/10/2026", "Contract asset relieved by billing", "1250", "Tax Exempt", "-16500.00"],
        ["31/10/2026", "Revenue recognized in 2026-10", "4000", "Tax Exempt", "-1500.00"]]
    assert {r[0] for r in rows if r[0].startswith("JE-2026-10-0001 ")} == {
        "JE-2026-10-0001 bbb_xl revenue journal 2026-10: A Acme"}
    _, text = export(book, tmp_path, "quickbooks", "contract")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["Journal No.", "Journal Date", "Currency", "Memo", "Account Name", "Debits", "Credits",
                       "Description", "Name"]
    assert [r[1:] for r in rows if r[0] == "JE-2026-10-0001"][0] == [
        "10/31/2026", "USD", "bbb_xl revenue journal 2026-10: A Acme", "Accounts Receivable", "18000.00", "",
        "Invoices issued in 2026-10", "Acme"]
    _, text = export(book, tmp_path, "netsuite", "contract", subsidiary="Parent Co")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["External ID", "Date", "Subsidiary", "Currency", "Memo", "Account", "Debit", "Credit",
                       "Line Memo", "Name"]
    assert [r[1:] for r in rows if r[0] == "JE-2026-10-0001"][1] == [
        "10/31/2026", "Parent Co", "USD", "bbb_xl revenue journal 2026-10: A Acme",
        "1250 Contract Asset (unbilled receivable)", "", "16500.00", "Contract asset relieved by billing", "Acme"]


def test_upfront_contract_in_its_first_month_period_entry(book, tmp_path):
    """2026-01, one entry for the period: U billed 12,000 in advance (11,000 deferred), A's contract asset grows by
    its 1,500 of unbilled revenue, H billed 3,000 upfront (2,000 deferred): Dr AR 15,000, Dr CA 1,500 /
    Cr Deferred 13,000, Cr Revenue 3,500 (1,500 + 1,000 + 1,000)."""
    result, text = export(book, tmp_path, "netsuite", "period", "2026-01", "2026-01")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["External ID", "Date", "Currency", "Memo", "Account", "Debit", "Credit", "Line Memo", "Name"]
    assert [r[:3] + r[4:7] for r in rows[1:]] == [
        ["JE-2026-01", "01/31/2026", "USD", "1200 Accounts Receivable", "15000.00", ""],
        ["JE-2026-01", "01/31/2026", "USD", "1250 Contract Asset (unbilled receivable)", "1500.00", ""],
        ["JE-2026-01", "01/31/2026", "USD", "2400 Deferred Revenue", "", "13000.00"],
        ["JE-2026-01", "01/31/2026", "USD", "4000 Revenue", "", "3500.00"]]
    assert (result.entries, result.lines, result.debits) == (1, 4, 1650000)


def test_injection_text_is_neutralised_in_free_text_and_money_stays_a_number(book, tmp_path):
    for fmt, name_column in (("csv", "Customer"), ("netsuite", "Name"), ("quickbooks", "Name")):
        _, text = export(book, tmp_path, fmt, "contract", "2026-01", "2026-01")
        rows = list(csv.DictReader(io.StringIO(text)))
        hostile = [r for r in rows if "HYPERLINK" in r[name_column]]
        assert hostile and all(r[name_column] == '\'=HYPERLINK("http://x","y")' for r in hostile), fmt
    _, text = export(book, tmp_path, "xero", "contract", "2026-01", "2026-01")
    rows = list(csv.reader(io.StringIO(text)))
    # the narration starts with the entry number: the customer inside it cannot start a formula
    assert [r[0] for r in rows if "HYPERLINK" in r[0]][0] == \
        'JE-2026-01-0003 bbb_xl revenue journal 2026-01: H =HYPERLINK("http://x","y")'
    assert [r[5] for r in rows if "HYPERLINK" in r[0]] == ["3000.00", "-2000.00", "-1000.00"]  # numbers, signed
    assert not any(c.startswith("'") for r in rows for c in r[1:])


def test_options_date_format_tax_rate_and_month_names_in_english(book, tmp_path):
    _, text = export(book, tmp_path, "xero", "period", "2026-02", "2026-02", date_format="%d %b %Y",
                     tax_rate="BAS Excluded")
    rows = list(csv.reader(io.StringIO(text)))[1:]
    assert {(r[1], r[4]) for r in rows} == {("28 Feb 2026", "BAS Excluded")}  # Xero NZ's other format
    assert sum(D(r[5]) for r in rows) == 0
    from bbb_xl.core.dates import day_number
    assert format_date(day_number(dt.date(2026, 5, 31)), "%d %b %Y") == "31 May 2026"
    assert FORMATS["quickbooks"]([], ExportOptions()) == [["Journal No.", "Journal Date", "Currency", "Memo",
                                                           "Account Name", "Debits", "Credits", "Description", "Name"]]


# --- the command: exit codes, nothing written on an error ---------------------------------------------------

def test_cli_writes_the_file_and_exits_0(book, tmp_path):
    out = tmp_path / "qbo.csv"
    result = CliRunner().invoke(cli, ["journal", str(book), "--from", "2026-10", "--to", "2026-10", "--format",
                                      "quickbooks", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "1 entries, 4 lines" in result.output and "debits = credits = 19,000.00" in result.output
    assert "warning: QuickBooks Online asks for a customer in Name" in result.output  # AR lines by period
    rows = list(csv.reader(io.StringIO(out.read_text())))
    # 2026-10 by period: Dr AR 18,000, Dr Deferred 1,000 (U's release) / Cr CA 16,500, Cr Revenue 2,500
    result = CliRunner().invoke(cli, ["journal", str(book), "--from", "2026-10", "--to", "2026-10", "--format",
                                      "quickbooks", "--detail", "contract", "--out", str(out)])
    assert result.exit_code == 0 and "warning" not in result.output  # every AR line names its customer
    assert [(r[4], r[5], r[6]) for r in rows[1:]] == [
        ("Accounts Receivable", "18000.00", ""), ("Deferred Revenue", "1000.00", ""),
        ("Contract Asset (unbilled receivable)", "", "16500.00"), ("Revenue", "", "2500.00")]


def test_cli_errors_exit_1_and_write_nothing(book, tmp_path):
    from bbb_xl.excel.template import build_workbook
    bad = tmp_path / "bad.xlsm"
    build_workbook(bad, [HEADER, ARREARS, ["B", "Bad", "1", "2026-02-01", "2026-01-01", 100, "monthly", "upfront",
                                           "advance", "Cloud"]], SETTINGS, keep_csv=False)
    out = tmp_path / "out.csv"
    out.write_text("before")
    runner = CliRunner()
    result = runner.invoke(cli, ["journal", str(bad), "--from", "2026-01", "--to", "2026-12", "--out", str(out)])
    assert result.exit_code == 1 and "never leaves contracts out" in result.output
    assert out.read_text() == "before"
    # --skip-bad: the journal of the good contracts, as the Journal Entries tab has it, exit 3
    result = runner.invoke(cli, ["journal", str(bad), "--from", "2026-10", "--to", "2026-10", "--out", str(out),
                                 "--skip-bad"])
    assert result.exit_code == 3 and "1 contract(s) with input errors left out" in result.output
    assert read_back("csv", out.read_text()) == {"JE-2026-10": [("1200", 1800000, 0), ("1250", 0, 1650000),
                                                                 ("4000", 0, 150000)]}
    out.write_text("before")
    no_code = tmp_path / "nocode.xlsm"
    build_workbook(no_code, [HEADER, ARREARS], dict(SETTINGS, **{"Revenue account": "Revenue"}), keep_csv=False)
    result = runner.invoke(cli, ["journal", str(no_code), "--from", "2026-01", "--to", "2026-12", "--format", "xero",
                                 "--out", str(out)])
    assert result.exit_code == 1 and "account code" in result.output and out.read_text() == "before"
    for args in (["--from", "2026-13", "--to", "2026-12", "--out", str(out)],  # no such month
                 ["--from", "2026-01", "--to", "2026-12", "--out", str(tmp_path / "missing" / "x.csv")],
                 ["--from", "2026-01", "--to", "2026-12", "--out", str(book)],  # the workbook itself
                 ["--from", "2026-01", "--to", "2026-12", "--out", str(out), "--date-format", "%"]):
        result = runner.invoke(cli, ["journal", str(book)] + args)
        assert result.exit_code == 1 and "error:" in result.output, (args, result.output)
    unusable = tmp_path / "settings.xlsm"  # a Settings error is refused even with --skip-bad
    build_workbook(unusable, [HEADER, ARREARS], dict(SETTINGS, **{"Journal detail": "per line"}), keep_csv=False)
    result = runner.invoke(cli, ["journal", str(unusable), "--from", "2026-01", "--to", "2026-12", "--out", str(out),
                                 "--skip-bad"])
    assert result.exit_code == 1 and "Journal detail" in result.output and out.read_text() == "before"
    result = runner.invoke(cli, ["journal", str(tmp_path / "none.xlsm"), "--from", "2026-01", "--to", "2026-12",
                                 "--out", str(out)])
    assert result.exit_code == 1 and "no such file" in result.output
    assert out.read_text() == "before"
    result = runner.invoke(cli, ["journal", str(book), "--from", "2026-01", "--to", "2026-12", "--format", "sap",
                                 "--out", str(out)])
    assert result.exit_code == 2 and out.read_text() == "before"


def test_sample_book_every_format_equals_its_journal_entries_tab(tmp_path):
    """The built-in sample book (events, several products) for a year, by contract: every format's file reads back
    to the tab's entries, each balanced."""
    from bbb_xl.excel.template import build_workbook
    from bbb_xl.sample import SAMPLE_SETTINGS, sample_contracts, sample_events
    rows = [r for r in sample_contracts() if r[0] != "C-9999"]
    path = tmp_path / "sample.xlsm"
    build_workbook(path, rows, SAMPLE_SETTINGS, sample_events(rows), keep_csv=False)
    expected = tab(path, "contract", "2025-01", "2025-12")
    assert len(expected) > 100
    for fmt in FORMATS:
        if fmt == "quickbooks":
            continue  # read back by account name below
        result, text = export(path, tmp_path, fmt, "contract", "2025-01", "2025-12")
        back = read_back(fmt, text)
        assert back == expected, fmt
        assert all(sum(d - c for _, d, c in lines) == 0 for lines in back.values())
    _, text = export(path, tmp_path, "quickbooks", "contract", "2025-01", "2025-12")
    qbo = list(csv.DictReader(io.StringIO(text)))
    assert sum(cents(r["Debits"]) for r in qbo) == sum(d for lines in expected.values() for _, d, _ in lines)
    assert sum(cents(r["Credits"]) for r in qbo) == sum(c for lines in expected.values() for _, _, c in lines)


@HYPOTHESIS_SETTINGS
@given(books, st.sampled_from(["month", "quarter"]), st.sampled_from(["period", "contract"]),
       st.sampled_from(MODES))
def test_every_layout_reads_back_to_the_engine_journal_for_random_books(book_spec, period, detail, mode):
    """For any book with events, in every "Invoices posted by" mode: each layout, written as CSV and read back,
    holds exactly the engine's entries (account, debit, credit, in order), each balanced."""
    from bbb_xl import load_book
    from bbb_xl.core.dates import day_number
    specs, allocated, raw_events = book_spec
    rows = make_rows(specs, allocated)
    book = load_book(rows, make_events(rows, raw_events))
    lines, _ = journal_lines(book, day_number(dt.date(2023, 10, 1)), day_number(dt.date(2030, 6, 30)), period,
                             detail, mode)
    expected = {}
    for x in lines:
        expected.setdefault(x.entry, []).append((x.account_code, x.debit, x.credit))
    for fmt, layout in FORMATS.items():
        back = read_back(fmt, csv_text(layout(lines, ExportOptions())))
        assert back == expected, fmt
        assert all(sum(d - c for _, d, c in entry) == 0 for entry in back.values())


# --- each vendor's documented headings, date format and signs (sources: docs/exports.md) -----------------------

VENDOR = {  # format: (headings the vendor's import documents, the date format it reads)
    "netsuite": (["External ID", "Date", "Subsidiary", "Account", "Debit", "Credit", "Memo", "Name"], "%m/%d/%Y"),
    "quickbooks": (["Journal No.", "Journal Date", "Account Name", "Debits", "Credits", "Description", "Name"],
                   "%m/%d/%Y"),
    "xero": (["*Narration", "*Date", "Description", "*AccountCode", "*TaxRate", "*Amount", "TrackingName1",
              "TrackingOption1", "TrackingName2", "TrackingOption2"], "%d/%m/%Y"),
    "csv": (["Entry", "Posting Date", "Account Code", "Debit", "Credit"], "%Y-%m-%d"),
}
DATE_COLUMN = {"netsuite": "Date", "quickbooks": "Journal Date", "xero": "*Date", "csv": "Posting Date"}
ENTRY_COLUMN = {"netsuite": "External ID", "quickbooks": "Journal No.", "xero": "*Narration", "csv": "Entry"}


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_each_format_has_the_vendor_headings_dates_and_signs(book, tmp_path, fmt):
    _, text = export(book, tmp_path, fmt, "contract", subsidiary="Parent Co")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    headings, date_format = VENDOR[fmt]
    assert set(headings) <= set(rows[0]), set(headings) - set(rows[0])
    # every posting date reads back with the vendor's format as its period's last day (Journal Entries tab)
    contracts, settings, events, fx, accounts = read_inputs(book, with_fx=True)
    settings = [r for r in settings if r and r[0] not in ("Journal detail", "Report start", "Report end")]
    settings += [["Journal detail", "contract"], ["Report start", "2025-11"], ["Report end", "2026-12"]]
    tab_rows = compute_reports(contracts, settings, events, fx_rows=fx,
                               accounts_rows=accounts).sheets["Journal Entries"].rows()[4:-1]
    posted = {r[0]: r[1] for r in tab_rows}
    for r in rows:
        day = dt.datetime.strptime(r[DATE_COLUMN[fmt]], date_format).date()
        entry = r[ENTRY_COLUMN[fmt]].split(" ", 1)[0]
        expected = posted[entry]
        expected = expected.date() if isinstance(expected, dt.datetime) else expected
        if isinstance(expected, str):
            expected = dt.date.fromisoformat(expected)
        assert day == expected, (fmt, entry)
        assert (day + dt.timedelta(days=1)).day == 1  # a period's last day
    if fmt == "xero":  # signed: a debit positive, a credit negative, never zero; each journal sums to zero
        amounts = [D(r["*Amount"]) for r in rows]
        assert all(a != 0 for a in amounts) and any(a < 0 for a in amounts)
        by_journal = {}
        for r in rows:
            key = (r["*Narration"], r["*Date"])
            by_journal[key] = by_journal.get(key, 0) + D(r["*Amount"])
        assert set(by_journal.values()) == {0}
    else:  # two columns, both positive, exactly one filled on each line
        debit, credit = {"netsuite": ("Debit", "Credit"), "quickbooks": ("Debits", "Credits"),
                         "csv": ("Debit", "Credit")}[fmt]
        for r in rows:
            assert (r[debit] == "") != (r[credit] == ""), r
            assert D(r[debit] or r[credit]) > 0 and "," not in (r[debit] + r[credit])
