"""Journal entries by the book (engine.journal): revenue moves by exactly the revenue recognized, AR by the
billings, deferred revenue and the contract asset by the change of their per-contract balances (ASC 606-10-45-1..4:
a contract's net position billed - recognized is a contract liability when positive, a contract asset when
negative). Each "Invoices posted by" mode, added to what the billing system posted, gives the same balances."""
import csv
import datetime as dt
import io
from decimal import Decimal as D

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bbb_xl import load_book
from bbb_xl.core.dates import day_number
from bbb_xl.engine.journal import MODES, Account, Accounts, journal_lines, parse_accounts
from bbb_xl.excel.workflow import compute_reports
from bbb_xl.files import csv_text
from bbb_xl.settings import parse_settings
from test_properties_changes import build as build_with_changes, change_strategy, line_strategy as changed_lines
from test_properties_events import SETTINGS, books, make_events, make_rows

HEADER = ["Contract ID", "Customer", "Line ID", "Start Date", "End Date", "Amount", "Recognition", "Billing",
          "Billing Timing", "Product"]
ARREARS = ["A", "Acme", "1", "2025-11-01", "2026-10-31", 18000, "monthly", "annual", "arrears", "Support"]
UPFRONT = ["U", "Beta", "1", "2026-01-01", "2026-12-31", 12000, "monthly", "annual", "advance", "Cloud"]
AR, CA, DEF, REV = "1200", "1250", "2400", "4000"
DEFAULT = Accounts()


def day(text):
    return day_number(dt.date.fromisoformat(text))


def entries(book, first, last, mode="bbb_xl", detail="period", accounts=None, period="month"):
    """{period label: [(account code, debit, credit), ...]} in cents."""
    lines, _ = journal_lines(book, day(first), day(last), period, detail, mode, accounts)
    out = {}
    for x in lines:
        out.setdefault(x.period, []).append((x.account_code, x.debit, x.credit))
    return out


def movements(lines):
    """{(period, account code): debit - credit} in cents."""
    out = {}
    for x in lines:
        key = (x.period, x.account_code)
        out[key] = out.get(key, 0) + x.debit - x.credit
    return out


MONTHS_BEFORE_OCT = ["2025-11", "2025-12"] + [f"2026-{m:02d}" for m in range(1, 10)]


# --- the worked examples, by hand ------------------------------------------------------------------

def test_contract_billed_in_arrears_relieves_its_contract_asset_against_ar_never_revenue():
    """18,000 billed annually in arrears for 2025-11-01..2026-10-31: 1,500 of revenue a month (ASC 606-10-45-3:
    a contract asset while revenue runs ahead of billing). October's invoice relieves the 16,500 asset against AR;
    revenue moves by 1,500 only (the old journal credited 18,000 and debited 16,500 to revenue)."""
    got = entries(load_book([HEADER, ARREARS]), "2025-11-01", "2026-10-31")
    assert list(got) == MONTHS_BEFORE_OCT + ["2026-10"]
    for label in MONTHS_BEFORE_OCT:
        assert got[label] == [(CA, 150000, 0), (REV, 0, 150000)]
    assert got["2026-10"] == [(AR, 1800000, 0), (CA, 0, 1650000), (REV, 0, 150000)]


def test_contract_billed_upfront_defers_then_releases():
    """12,000 billed in advance on 2026-01-01 for the calendar year: a contract liability (ASC 606-10-45-2)."""
    got = entries(load_book([HEADER, UPFRONT]), "2026-01-01", "2026-02-28")
    assert got["2026-01"] == [(AR, 1200000, 0), (DEF, 0, 1100000), (REV, 0, 100000)]
    assert got["2026-02"] == [(DEF, 100000, 0), (REV, 0, 100000)]


def test_billing_system_to_deferred_revenue_mode():
    """The ERP posted Dr AR / Cr Deferred 18,000 (and 12,000): the journal has no AR line; it releases deferred
    revenue to revenue and reclasses the contract asset."""
    arrears = entries(load_book([HEADER, ARREARS]), "2025-11-01", "2026-10-31", MODES[1])
    for label in MONTHS_BEFORE_OCT:
        assert arrears[label] == [(CA, 150000, 0), (REV, 0, 150000)]
    assert arrears["2026-10"] == [(DEF, 1800000, 0), (CA, 0, 1650000), (REV, 0, 150000)]
    upfront = entries(load_book([HEADER, UPFRONT]), "2026-01-01", "2026-02-28", MODES[1])
    assert upfront == {"2026-01": [(DEF, 100000, 0), (REV, 0, 100000)],
                       "2026-02": [(DEF, 100000, 0), (REV, 0, 100000)]}


def test_billing_system_to_revenue_mode():
    """The ERP credited revenue 18,000 in October: the journal debits revenue 16,500 back against the contract
    asset, so revenue for October is 18,000 - 16,500 = 1,500. Upfront: 12,000 to revenue in January, 11,000 of it
    moved to deferred revenue."""
    arrears = entries(load_book([HEADER, ARREARS]), "2025-11-01", "2026-10-31", MODES[2])
    for label in MONTHS_BEFORE_OCT:
        assert arrears[label] == [(CA, 150000, 0), (REV, 0, 150000)]
    assert arrears["2026-10"] == [(REV, 1650000, 0), (CA, 0, 1650000)]
    upfront = entries(load_book([HEADER, UPFRONT]), "2026-01-01", "2026-02-28", MODES[2])
    assert upfront == {"2026-01": [(REV, 1100000, 0), (DEF, 0, 1100000)],
                       "2026-02": [(DEF, 100000, 0), (REV, 0, 100000)]}


def test_revenue_account_per_product_and_contract_detail():
    accounts = Accounts.from_texts(by_product={"cloud": "4100 Cloud Revenue"})
    book = load_book([HEADER, ARREARS, UPFRONT])
    got = entries(book, "2026-01-01", "2026-01-31", accounts=accounts)
    # Support (unmapped) -> 4000, Cloud -> 4100; the asset grows 1,500 while deferred grows 11,000
    assert got["2026-01"] == [(AR, 1200000, 0), (CA, 150000, 0), (DEF, 0, 1100000), (REV, 0, 150000),
                              ("4100", 0, 100000)]
    lines, _ = journal_lines(book, day("2026-01-01"), day("2026-01-31"), "month", "contract", "bbb_xl", accounts)
    assert [(x.entry, x.contract, x.customer, x.account_code, x.account_name, x.debit, x.credit) for x in lines] == [
        ("JE-2026-01-0001", "A", "Acme", CA, "Contract Asset (unbilled receivable)", 150000, 0),
        ("JE-2026-01-0001", "A", "Acme", REV, "Revenue", 0, 150000),
        ("JE-2026-01-0002", "U", "Beta", AR, "Accounts Receivable", 1200000, 0),
        ("JE-2026-01-0002", "U", "Beta", DEF, "Deferred Revenue", 0, 1100000),
        ("JE-2026-01-0002", "U", "Beta", "4100", "Cloud Revenue", 0, 100000)]
    # the billing system credited each product's revenue account with that product's invoices
    system = {("2026-01", AR): 1200000, ("2026-01", "4100"): -1200000}
    mode3 = movements(journal_lines(book, day("2026-01-01"), day("2026-01-31"), "month", "period", MODES[2],
                                    accounts)[0])
    full = movements(lines)
    assert {k: mode3.get(k, 0) + system.get(k, 0) for k in full} == full
    assert mode3[("2026-01", "4100")] == 1100000  # Dr 12,000 billed - 1,000 recognized


def test_posting_date_entry_number_currency_and_memos():
    book = load_book([HEADER, ARREARS], reporting_currency="EUR")
    lines, _ = journal_lines(book, day("2026-09-01"), day("2026-10-31"))
    oct_ = [x for x in lines if x.period == "2026-10"]
    assert {(x.entry, x.posting_date, x.currency) for x in oct_} == {("JE-2026-10", day("2026-10-31"), "EUR")}
    assert [x.memo for x in oct_] == ["Invoices issued in 2026-10", "Contract asset relieved by billing",
                                      "Revenue recognized in 2026-10"]
    assert [x.memo for x in lines if x.period == "2026-09"] == [
        "Increase in contract asset (revenue recognized ahead of billing)", "Revenue recognized in 2026-09"]


def test_credit_note_and_revenue_reversal_swap_sides():
    """A negative line (a credit, billed upfront) credits AR and debits revenue."""
    credit = ["N", "Gamma", "1", "2026-03-01", "2026-03-31", -300, "monthly", "upfront", "advance", "Support"]
    got = entries(load_book([HEADER, credit]), "2026-03-01", "2026-03-31")
    assert got["2026-03"] == [(REV, 30000, 0), (AR, 0, 30000)]


def test_book_journal_api_rows():
    rows = load_book([HEADER, UPFRONT]).journal("2026-01", "2026-02")
    assert rows[0] == ["Entry", "Posting Date", "Period", "Account Code", "Account Name", "Debit", "Credit",
                       "Currency", "Memo"]
    assert rows[1] == ["JE-2026-01", dt.date(2026, 1, 31), "2026-01", AR, "Accounts Receivable", D("12000.00"),
                       D("0.00"), "", "Invoices issued in 2026-01"]
    assert [r[5] - r[6] for r in rows[1:]] == [D("12000"), D("-11000"), D("-1000"), D("1000"), D("-1000")]
    by_contract = load_book([HEADER, UPFRONT]).journal("2026-02", "2026-02", detail="contract", mode=MODES[1],
                                                       accounts={"revenue": "Sales", "by_product": {"Cloud": "4100"}})
    assert by_contract[0][-2:] == ["Contract ID", "Customer"]
    assert [r[3:7] + r[-2:] for r in by_contract[1:]] == [
        [DEF, "Deferred Revenue", D("1000.00"), D("0.00"), "U", "Beta"],
        ["4100", "", D("0.00"), D("1000.00"), "U", "Beta"]]
    from bbb_xl.core.errors import BBBError
    with pytest.raises(BBBError, match="bbb_xl, billing system to deferred revenue, billing system to revenue"):
        load_book([HEADER, UPFRONT]).journal("2026-01", "2026-02", mode="erp")


def test_account_text_splits_into_code_and_name():
    assert Account.parse("4000 Revenue") == Account("4000", "Revenue")
    assert Account.parse(" 4000-10  Subscription  revenue ") == Account("4000-10", "Subscription revenue")
    assert Account.parse("Revenue") == Account("", "Revenue")
    assert Account.parse("4000") == Account("4000", "")


# --- Settings and the Accounts tab -------------------------------------------------------------------------

def settings_rows(**values):
    base = {"As-of date": dt.datetime(2026, 10, 31), "Report start": "2025-11", "Report end": "2026-10"}
    base.update(values)
    return [["Setting", "Value"]] + [[k, v] for k, v in base.items()]


def test_settings_invoices_posted_by_and_journal_detail():
    s, problems = parse_settings(settings_rows(**{"Invoices posted by": "Billing System to Revenue",
                                                 "Journal detail": "contract"}))
    assert not problems and s.invoices_posted_by == MODES[2] and s.journal_detail == "contract"
    s, problems = parse_settings(settings_rows())
    assert (s.invoices_posted_by, s.journal_detail, s.unbilled_account) == (
        "bbb_xl", "period", "1250 Contract Asset (unbilled receivable)")
    s, problems = parse_settings(settings_rows(**{"Invoices posted by": "ERP"}))
    assert s is None and problems[0].cell == "B5" and problems[0].message == (
        "Invoices posted by: 'erp' is not one of: bbb_xl, billing system to deferred revenue, billing system to "
        "revenue")
    # a workbook made before the rename keeps its unbilled receivable account
    s, problems = parse_settings(settings_rows(**{"Unbilled receivable account": "1300 Unbilled AR"}))
    assert not problems and s.unbilled_account == "1300 Unbilled AR"


def test_accounts_tab_mapping_and_located_warnings():
    rows = [["Product", "Revenue Account"], ["Cloud", "4100 Cloud Revenue"], ["Hardware", "4200 Hardware"],
            ["cloud", "4300 Other"], [None, "4400 X"]]
    mapping, unknown, problems = parse_accounts(rows, origin=(1, 1))
    assert mapping == {"Cloud": "4100 Cloud Revenue", "Hardware": "4200 Hardware"}
    assert [(p.location, p.severity) for p in problems] == [("Accounts!B4", "warning"), ("Accounts!A5", "warning")]
    assert "already mapped to '4100 Cloud Revenue' (row 2)" in problems[0].message
    reports = compute_reports([HEADER, ARREARS, UPFRONT], settings_rows(), accounts_rows=rows)
    warnings = [(p.location, p.message) for p in reports.problems]
    assert ("Accounts!A3", "Product 'Hardware' is not in the Contracts: its mapping is not used") in warnings
    journal = reports.sheets["Journal Entries"].rows()
    assert journal[3] == ["Entry", "Posting Date", "Period", "Account Code", "Account Name", "Debit", "Credit",
                          "Currency", "Memo"]
    cloud = [r for r in journal[4:-1] if r[3] == "4100"]
    assert [(r[2], r[6]) for r in cloud] == [(f"2026-{m:02d}", 100000) for m in range(1, 11)]
    # an older workbook without an Accounts tab: everything to the Settings revenue account
    older = compute_reports([HEADER, ARREARS, UPFRONT], settings_rows(), accounts_rows=None)
    assert not [p for p in older.problems if p.severity != "info"] and {r[3] for r in older.sheets["Journal Entries"].rows()[4:-1]} == {AR, CA, DEF, REV}


def test_journal_tab_and_csv_by_contract_with_money_as_numbers():
    reports = compute_reports([HEADER, ARREARS], settings_rows(**{"Journal detail": "contract", "Currency": "EUR"}))
    sheet = reports.sheets["Journal Entries"].rows()
    assert sheet[3][-2:] == ["Contract ID", "Customer"]
    assert sheet[-2] == ["JE-2026-10-0001", dt.date(2026, 10, 31), "2026-10", REV, "Revenue", None, 150000, "EUR",
                         "Revenue recognized in 2026-10", "A", "Acme"]
    assert sheet[-1][5:7] == [1800000 + 11 * 150000, 1800000 + 11 * 150000]  # debits = credits
    name, rows = reports.csv_files[-1]
    assert name == "Journal Entries"
    back = list(csv.reader(io.StringIO(csv_text(rows), newline="")))
    assert back[-3] == ["JE-2026-10-0001", "2026-10-31", "2026-10", AR, "Accounts Receivable", "18000.00", "",
                        "EUR", "Invoices issued in 2026-10", "A", "Acme"]


def test_line_level_csv_money_is_a_number_and_text_is_still_neutralised():
    """Above the Detail line limit the waterfalls go to a CSV: a negative amount reads back as -300.00, never as
    the text '-300.00; free text starting with = + - @ is still neutralised (OWASP CSV injection)."""
    rows = [HEADER, ["C1", '=HYPERLINK("http://x","y")', "1", "2026-01-01", "2026-01-31", -300, "monthly", "upfront",
                     "advance", "-2+3"],
            ["C2", "-2+3", "1", "2026-01-01", "2026-01-31", 100, "monthly", "upfront", "advance", "@SUM(1)"]]
    reports = compute_reports(rows, settings_rows(**{"Detail line limit": 1, "Report start": "2026-01",
                                                     "Report end": "2026-01"}))
    files = dict(reports.csv_files)
    back = list(csv.reader(io.StringIO(csv_text(files["Revenue by line"]), newline="")))
    assert back[0][:5] == ["Contract ID", "Customer", "Line ID", "Product", "Amount"]
    assert back[1] == ["C1", '\'=HYPERLINK("http://x","y")', "1", "'-2+3", "-300.00", "0.00", "-300.00", "0.00"]
    assert back[2] == ["C2", "'-2+3", "1", "'@SUM(1)", "100.00", "0.00", "100.00", "0.00"]
    billed = list(csv.reader(io.StringIO(csv_text(files["Billings by line"]), newline="")))
    assert billed[1][4:] == ["-300.00", "0.00", "-300.00", "0.00"]


# --- identities for random books with events ----------------------------------------------------------------

def billing_system(book, first, last, period, mode, accounts):
    """What the billing system posted: mode 2 Dr AR / Cr Deferred B, mode 3 Dr AR / Cr Revenue B."""
    from bbb_xl.core.periods import period_grid
    out = {}
    for p in period_grid(first, last, period, book.calendar):
        b = book.flow_cents("billings", p.first, p.last, np.arange(len(book.lines)))
        if mode == MODES[0] or not b:
            continue
        out[(p.label, accounts.receivable.code)] = b
        out[(p.label, (accounts.deferred if mode == MODES[1] else accounts.revenue).code)] = -b
    return out


@SETTINGS
@given(books, st.sampled_from(["month", "quarter", "year"]), st.sampled_from(["period", "contract"]))
def test_journal_moves_each_account_by_the_rollforward_in_every_mode(book_spec, period, detail):
    specs, allocated, raw_events = book_spec
    rows = make_rows(specs, allocated)
    book = load_book(rows, make_events(rows, raw_events))
    assert book.ok, book.errors
    check_journal(book, period, detail)


@SETTINGS
@given(st.lists(changed_lines, min_size=1, max_size=4), st.lists(change_strategy, max_size=5), st.booleans(),
       st.sampled_from(["month", "quarter"]), st.sampled_from(["period", "contract"]))
def test_journal_ties_to_the_rollforward_with_modifications_and_cancellations(specs, changes, with_ssp, period,
                                                                              detail):
    rows, ev_rows = build_with_changes(specs, changes, with_ssp)
    book = load_book(rows, ev_rows)
    if not book.ok:
        return  # rejected books are not the subject (all-0 SSPs; the strategy can date a cancel before a modify)

    check_journal(book, period, detail)


def check_journal(book, period, detail):
    """Each entry balances; revenue, AR, deferred revenue and the contract asset move by exactly the revenue,
    the billings and the change of the per-contract balances; every mode + the billing system = bbb_xl."""
    first, last = day("2023-10-01"), day("2030-06-30")
    full, _ = journal_lines(book, first, last, period, detail, MODES[0])
    by_entry = {}
    for x in full:
        assert (x.debit > 0) != (x.credit > 0)  # one side per line, zero lines left out
        by_entry[x.entry] = by_entry.get(x.entry, 0) + x.debit - x.credit
    assert all(v == 0 for v in by_entry.values())
    moved = movements(full)
    from bbb_xl.core.periods import period_grid
    periods = period_grid(first, last, period, book.calendar)
    bounds = np.array([periods[0].first - 1] + [p.last for p in periods], dtype=np.int64)
    sel = np.arange(len(book.lines))
    deferred = book._balances("deferred", bounds, sel, None)[1][0]
    asset = book._balances("unbilled", bounds, sel, None)[1][0]
    for j, p in enumerate(periods):
        assert -moved.get((p.label, REV), 0) == book.flow_cents("revenue", p.first, p.last, sel)
        assert moved.get((p.label, AR), 0) == book.flow_cents("billings", p.first, p.last, sel)
        assert -moved.get((p.label, DEF), 0) == deferred[j + 1] - deferred[j]
        assert moved.get((p.label, CA), 0) == asset[j + 1] - asset[j]
    # billing system + journal = the bbb_xl journal, account by account, period by period, in every mode
    for mode in MODES[1:]:
        ours = movements(journal_lines(book, first, last, period, detail, mode)[0])
        system = billing_system(book, first, last, period, mode, DEFAULT)
        keys = set(ours) | set(system) | set(moved)
        assert {k: ours.get(k, 0) + system.get(k, 0) for k in keys} == {k: moved.get(k, 0) for k in keys}
        assert not any(code == AR for _, code in ours)  # the billing system posted AR


# --- the Accounts tab in a workbook ----------------------------------------------------------------------------

def test_refresh_reads_the_accounts_tab_and_older_workbooks_without_it_still_refresh(tmp_path):
    import openpyxl

    from bbb_xl.excel import headless, template
    path = tmp_path / "book.xlsm"
    template.build_workbook(path, [HEADER, ARREARS, UPFRONT], {"As-of date": dt.datetime(2026, 10, 31),
                                                              "Report start": "2026-01", "Report end": "2026-03"})
    wb = openpyxl.load_workbook(path, keep_vba=True)  # the user fills the Accounts table
    wb["Accounts"]["A2"], wb["Accounts"]["B2"] = "Cloud", "4100 Cloud Revenue"
    wb.save(path)
    result = headless.refresh_file(path)
    assert result.problems == 0
    text = (tmp_path / "book - Journal Entries.csv").read_text()
    assert "JE-2026-02,2026-02-28,2026-02,4100,Cloud Revenue,,1000.00,USD,Revenue recognized in 2026-02" in text
    wb = openpyxl.load_workbook(path, keep_vba=True)  # a workbook made before the Accounts tab existed
    del wb["Accounts"]
    wb.save(path)
    result = headless.refresh_file(path)
    assert result.problems == 0
    text = (tmp_path / "book - Journal Entries.csv").read_text()
    assert "4100" not in text and "JE-2026-02,2026-02-28,2026-02,4000,Revenue,,2500.00,USD" in text
