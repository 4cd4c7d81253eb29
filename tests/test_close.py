"""Closing months (issue 17 §1): closed figures never change; input changes post as out-of-period adjustments.

The worked example, by hand. C-1: 12,000.00 booked and invoiced upfront 2025-01-01, ratable monthly 2025-01-01 to
2025-12-31 (1,000.00 a month, ASC 606-10-55-18 straight-line over the term). C-2: 2,400.00, 2025-07-01 to
2026-06-30, invoiced monthly in advance (200.00 a month). As-of date 2026-03-31.

Close through 2025-12, then edit C-1: Amount 15,000.00, End Date 2026-06-30 (18 months). Today's inputs give C-1
revenue of 15,000 x 12/18 = 10,000.00 in 2025 (cumulative rounding: 833.33 / 833.34 by month), billings and
bookings of 15,000.00 in 2025-01. Not restated: 2025 keeps 12,000.00 of revenue. The differences post in 2026-03
(the as-of month, ASC 250-10-45-27 treatment of an immaterial prior-period error through the current period):
revenue -2,000.00, billings +3,000.00, bookings +3,000.00. Jan and Feb 2026 show today's flows (833.33, 833.34) on
the closed opening balances, so C-1 is a contract asset of 833.33 / 1,666.67 at their ends; at 2026-03-31 the
balances are the recomputed ones: C-1 deferred 15,000 - 15,000 x 15/18 = 2,500.00.
"""
import datetime as dt
import os
import random
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import numpy as np
import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bbb_xl import udfs
from bbb_xl.api import closed_figures
from bbb_xl.core.dates import iso, parse_date
from bbb_xl.core.errors import BBBError
from bbb_xl.engine.book import load_book
from bbb_xl.engine.close import (ClosedFigures, close_months, closed_view, month_end, parse_month,
                                 reopen_months)
from bbb_xl.excel import headless
from bbb_xl.excel.close import close_file, read_closed_rows, reopen_file
from bbb_xl.excel.record_tabs import RECORD_TABS, is_record_tab
from bbb_xl.excel.template import build_workbook
from bbb_xl.xlsx_reader import read_sheets

d = dt.datetime
HEADER = ["Contract ID", "Customer", "Line ID", "Product", "Booking Date", "Start Date", "End Date", "Amount",
          "Recognition", "Billing", "Billing Timing"]
AS_OF = parse_date("2026-03-31")
SETTINGS = {"Company name": "T", "Currency": "USD", "As-of date": d(2026, 3, 31), "Report start": "2025-10",
            "Report end": "2026-06", "Period": "month", "Fiscal year start month": 1}
AT = "2026-04-01T09:00:00+00:00"
NEW_TIME = d(2030, 6, 1, 12, 0, 0)


def rows(amount=12000, end=d(2025, 12, 31)):
    return [HEADER, ["C-1", "Acme", "1", "Platform", d(2025, 1, 1), d(2025, 1, 1), end, amount, "monthly", "upfront",
                     "advance"],
            ["C-2", "Beta", "1", "Support", d(2025, 7, 1), d(2025, 7, 1), d(2026, 6, 30), 2400, "monthly", "monthly",
             "advance"]]


def ends(*months):
    return np.array([month_end(parse_month(m)) for m in months], dtype=np.int64)


# --- the engine ----------------------------------------------------------------------------------------------------

def test_worked_example_engine():
    closed = close_months(load_book(rows()), None, parse_month("2025-12"), AS_OF, AT, "tester", "f")
    assert closed.through == parse_month("2025-12")
    c1 = [r for r in closed.records if r.contract == "C-1"]
    assert [r.revenue for r in c1] == [100000] * 12 and c1[0].billings == c1[0].bookings == 1200000
    assert c1[0].deferred == 1100000 and c1[-1].deferred == 0 and c1[0].amount == 1200000
    edited = load_book(rows(15000, d(2026, 6, 30)))
    view, adjustments = closed_view(edited, closed, AS_OF)
    days = ends("2025-12", "2026-01", "2026-02", "2026-03")
    all_lines = np.arange(2)
    # C-1 (row 0): closed 12,000.00 through 2025-12, today's flows after, the adjustment in 2026-03
    assert view.cumulative("revenue", all_lines, days)[0].tolist() == [1200000, 1283333, 1366667, 1250000]
    assert view.cumulative("billings", all_lines, days)[0].tolist() == [1200000, 1200000, 1200000, 1500000]
    assert view.posted("revenue").tolist() == [-200000, 0]
    assert view.posted("billings").tolist() == [300000, 0] and view.posted("bookings").tolist() == [300000, 0]
    by_metric = {}
    for a in adjustments:
        assert a.contract == "C-1"
        by_metric[a.metric] = by_metric.get(a.metric, 0) + a.difference
    assert by_metric == {"revenue": -200000, "billings": 300000, "bookings": 300000}
    first = adjustments[0]
    assert (first.metric, first.month, first.closed, first.recomputed) == ("revenue", parse_month("2025-01"),
                                                                            100000, 83333)
    assert first.cause == "Amount 12,000.00 \u2192 15,000.00; End Date 2025-12-31 \u2192 2026-06-30 since close"
    figures = ClosedFigures(edited, closed, AS_OF)
    assert figures.flow("revenue", "2025") == Decimal("13200.00")  # 12,000 + C-2's 6 x 200: as closed
    assert edited.flow("revenue", "2025") == Decimal("11200.00")  # recomputed
    assert figures.flow("revenue", "2026-03") == Decimal("-966.67")  # 833.33 + 200 - 2,000 adjustment
    assert figures.balance("unbilled", "2026-02") == Decimal("1666.67")
    assert figures.balance("deferred", "2026-03-31") == edited.balance("deferred", "2026-03-31") == Decimal("2500.00")


def test_forward_only_and_whole_months_before_the_as_of_month():
    book = load_book(rows())
    closed = close_months(book, None, parse_month("2025-12"), AS_OF)
    with pytest.raises(BBBError, match="closed through 2025-12 already: closing is forward only"):
        close_months(book, closed, parse_month("2025-10"), AS_OF)
    with pytest.raises(BBBError, match="2026-03 cannot be closed: the as-of date 2026-03-30 is in it"):
        close_months(book, closed, parse_month("2026-03"), parse_date("2026-03-30"))  # a partial month
    with pytest.raises(BBBError, match="2026-05 cannot be closed"):
        close_months(book, closed, parse_month("2026-05"), AS_OF)
    with pytest.raises(BBBError, match="2026-01 is not closed"):
        reopen_months(closed, parse_month("2026-01"))


def test_reopen_and_close_again_reproduce_the_same_figures():
    book = load_book(rows())
    closed = close_months(book, None, parse_month("2025-12"), AS_OF, AT, "u", "f")
    reopened = reopen_months(closed, parse_month("2025-11"))
    assert reopened.through == parse_month("2025-10") and all(r.month < parse_month("2025-11")
                                                              for r in reopened.records)
    again = close_months(book, reopened, parse_month("2025-12"), AS_OF, AT, "u", "f")
    assert again == closed


def test_pending_adjustments_are_recorded_once_by_the_next_close():
    """Closing 2026-01 after the edit posts the pending difference in 2026-01; it is then closed, not posted
    again: the next view has no adjustment left."""
    closed = close_months(load_book(rows()), None, parse_month("2025-12"), AS_OF)
    edited = load_book(rows(15000, d(2026, 6, 30)))
    later = close_months(edited, closed, parse_month("2026-01"), AS_OF)
    jan = [r for r in later.records if r.month == parse_month("2026-01") and r.contract == "C-1"][0]
    assert (jan.revenue, jan.billings, jan.bookings) == (83333 - 200000, 300000, 300000)
    view, adjustments = closed_view(edited, later, AS_OF)
    assert not view.posted("revenue").any() and not view.posted("billings").any()
    assert sum(a.difference for a in adjustments if a.metric == "revenue") == 0  # 2025 -2,000 and 2026-01 +2,000


# --- property: whatever is edited after a close, the as-of period ends on the recomputed balances ----------------

@st.composite
def books(draw):
    n = draw(st.integers(1, 4))
    out = [HEADER]
    for i in range(n):
        start = d(2024, draw(st.integers(1, 12)), draw(st.integers(1, 28)))
        months = draw(st.integers(1, 30))
        end = start + dt.timedelta(days=30 * months)
        out.append([f"C-{i}", f"Cust {i}", "1", "P", start, start, end, draw(st.integers(1, 500000)) / 100,
                    draw(st.sampled_from(["monthly", "daily"])), draw(st.sampled_from(["upfront", "monthly",
                                                                                       "quarterly"])),
                    draw(st.sampled_from(["advance", "arrears"]))])
    return out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(books(), st.data())
def test_property_as_of_period_ends_on_recomputed_balances(original, data):
    through = parse_month("2025-06")
    as_of = month_end(parse_month(data.draw(st.sampled_from(["2025-07", "2025-09", "2026-02"]))))
    closed = close_months(load_book(original), None, through, as_of)
    edited = [list(r) for r in original]
    for r in edited[1:]:
        if data.draw(st.booleans()):
            r[7] = data.draw(st.integers(1, 500000)) / 100
        if data.draw(st.booleans()):
            r[6] = r[5] + dt.timedelta(days=data.draw(st.integers(0, 900)))
    book = load_book(edited)
    view, adjustments = closed_view(book, closed, as_of)
    figures = ClosedFigures(book, closed, as_of)
    day = month_end(view.post_month)
    for metric in ("deferred", "unbilled", "backlog"):
        assert figures.balance(metric, day) == book.balance(metric, day), metric
    everything = np.arange(len(book.lines))
    for t in (month_end(through), day):  # the splits add up to the view's backlog and deferred revenue
        at = iso(t)  # a day number would be read as an Excel serial date
        assert sum(figures.rpo_cents(t, everything)) == int(figures.balance("backlog", at) * 100)
        assert sum(figures.deferred_split_cents(t, everything)) == int(figures.balance("deferred", at) * 100)
    assert figures.rpo_cents(day, everything) == book.rpo_cents(day, everything)  # no difference left at P
    sel = np.arange(len(book.lines))
    for metric in ("revenue", "billings", "bookings"):
        cum = view.cumulative(metric, sel, np.array([month_end(through), day], dtype=np.int64))
        recomputed = book.cumulative(metric, sel, np.array([month_end(through), day], dtype=np.int64))
        closed_total = sum(getattr(r, metric) for r in closed.records)
        assert int(cum[:, 0].sum()) == closed_total  # closed months: the closed figures
        # view total = closed + adjustments (+ today's flows of the open months)
        posted = sum(a.difference for a in adjustments if a.metric == metric)
        assert int(view.posted(metric).sum()) == posted
        assert int(cum[:, 1].sum()) == closed_total + posted + int((recomputed[:, 1] - recomputed[:, 0]).sum())


# --- the workbook ----------------------------------------------------------------------------------------------------

@pytest.fixture
def workbook(tmp_path):
    path = tmp_path / "book.xlsx"
    build_workbook(path, rows(), SETTINGS)
    return path


def _edit_c1(path):
    wb = openpyxl.load_workbook(path)
    ws = wb["Contracts"]
    assert ws["A2"].value == "C-1"
    ws["H2"], ws["G2"] = 15000, d(2026, 6, 30)
    wb.save(path)


def _tab(path, name):
    return read_sheets(path, [], optional=[name]).get(name)


def _rollforward(path):
    sheet = _tab(path, "Deferred Revenue")
    header = sheet[3]
    body = {r[0]: dict(zip(header, r)) for r in sheet[4:14] if r[0]}
    return header, body


def test_worked_example_workbook(workbook):
    before = _rollforward(workbook)[1]
    result = close_file(workbook, "2025-12", user="tester", at=AT)
    assert result.records == 12 + 6 and result.entry.action == "close" and result.entry.months == "2025-01..2025-12"
    tab = read_closed_rows(_tab(workbook, "Closed Periods"))
    assert tab.closed.through == parse_month("2025-12") and tab.log[0][:4] == ["close", "2025-01..2025-12", AT,
                                                                                 "tester"]
    assert {r.closed_by for r in tab.closed.records} == {"tester"} and {r.closed_at for r in tab.closed.records} == {AT}
    assert openpyxl.load_workbook(workbook)["Closed Periods"].protection.sheet  # a record tab: protected
    assert {r.fingerprint for r in tab.closed.records} == {tab.log[0][5]} and len(tab.log[0][5]) == 64
    run_info = {r[0]: r[1] for r in _tab(workbook, "Run Info") if r and len(r) > 1}
    assert run_info["Input fingerprint (sha256)"] == tab.log[0][5]  # the fingerprint Run Info shows
    _edit_c1(workbook)
    headless.refresh_file(workbook)
    header, body = _rollforward(workbook)
    assert header[4] == "\u00b1 Out-of-period adjustments"
    for month in ("2025-10", "2025-11", "2025-12"):  # 2025 unchanged
        assert body[month]["\u2212 Revenue"] == before[month]["\u2212 Revenue"] == 1200.0
        assert body[month]["Closing deferred"] == before[month]["Closing deferred"]
    mar = body["2026-03"]
    assert (mar["Opening deferred"], mar["+ Billings"], mar["\u2212 Revenue"], mar["\u00b1 Out-of-period adjustments"],
            mar["\u00b1 Reclass with unbilled"], mar["Closing deferred"]) == (0.0, 200.0, 1033.33, 5000.0, -1666.67,
                                                                              2500.0)
    for row in body.values():  # every period ties: opening + billings - revenue +- adjustments +- reclass = closing
        total = (Decimal(repr(row["Opening deferred"])) + Decimal(repr(row["+ Billings"]))
                 - Decimal(repr(row["\u2212 Revenue"])) + Decimal(repr(row["\u00b1 Out-of-period adjustments"]))
                 + Decimal(repr(row["\u00b1 Reclass with unbilled"])))
        assert total == Decimal(repr(row["Closing deferred"])), row
    journal = _tab(workbook, "Journal Entries")
    adj = [r for r in journal if r[0] and str(r[0]).startswith("JE-2026-03-ADJ")]
    assert [(r[4], r[5], r[6], r[8]) for r in adj] == [
        ("Accounts Receivable", 3000.0, None, "Out-of-period adjustment: C-1 2025-01..2025-12"),
        ("Revenue", 2000.0, None, "Out-of-period adjustment: C-1 2025-01..2025-12"),
        ("Contract Asset (unbilled receivable)", None, 2500.0, "Out-of-period adjustment: C-1 2025-01..2025-12"),
        ("Deferred Revenue", None, 2500.0, "Out-of-period adjustment: C-1 2025-01..2025-12")]
    dr = _tab(workbook, "Deferred Revenue")
    at = next(i for i, r in enumerate(dr) if r[0] and str(r[0]).startswith("Out-of-period adjustments"))
    note = dr[at + 1][0]
    assert "Assess materiality (ASC 250); if material, reopen and restate" in note and "Events" in note
    assert dr[at + 3][:6] == ["C-1", "revenue", "2025-01", 1000.0, 833.33, -166.67]
    assert dr[at + 3][6].startswith("Amount 12,000.00 \u2192 15,000.00; End Date")
    # the journal entries of the closed months are as closed
    dec = [r for r in journal if r[0] == "JE-2025-12"]
    assert [(r[4], r[5], r[6]) for r in dec] == [("Accounts Receivable", 200.0, None),
                                                 ("Deferred Revenue", 1000.0, None), ("Revenue", None, 1200.0)]


def test_refresh_never_rewrites_the_record_tab(workbook):
    close_file(workbook, "2025-12", user="tester", at=AT)
    import zipfile
    from bbb_xl.excel.package import Package
    part = Package(workbook).sheet_parts()["Closed Periods"]
    with zipfile.ZipFile(workbook) as zf:
        before = zf.read(part)
    _edit_c1(workbook)  # openpyxl rewrites the file: compare the cells, then bytes across a refresh
    cells = _tab(workbook, "Closed Periods")
    with zipfile.ZipFile(workbook) as zf:
        saved = zf.read(Package(workbook).sheet_parts()["Closed Periods"])
    headless.refresh_file(workbook)
    with zipfile.ZipFile(workbook) as zf:
        assert zf.read(Package(workbook).sheet_parts()["Closed Periods"]) == saved
    assert _tab(workbook, "Closed Periods") == cells and before
    assert RECORD_TABS[0] == "Closed Periods" and is_record_tab("closed periods") and not is_record_tab("Summary")


def test_reopen_logs_the_reason_and_restates(workbook):
    close_file(workbook, "2025-12", user="tester", at=AT)
    _edit_c1(workbook)
    with pytest.raises(BBBError, match="needs a --reason"):
        reopen_file(workbook, "2025-01", " ")
    result = reopen_file(workbook, "2025-01", "Amount was wrong since signing", user="cfo", at=AT)
    assert result.closed_through is None and result.entry.reason == "Amount was wrong since signing"
    tab = read_closed_rows(_tab(workbook, "Closed Periods"))
    assert tab.closed.records == () and [r[0] for r in tab.log] == ["close", "reopen"]
    assert tab.log[1][:5] == ["reopen", "from 2025-01", AT, "cfo", "Amount was wrong since signing"]
    header, body = _rollforward(workbook)
    assert "\u00b1 Out-of-period adjustments" not in header  # nothing closed: restated, no adjustment
    assert body["2025-12"]["\u2212 Revenue"] == 1033.33  # 833.33 + 200: today's inputs


def test_close_errors_write_nothing(workbook):
    close_file(workbook, "2025-12", user="tester", at=AT)
    data = workbook.read_bytes()
    with pytest.raises(BBBError, match="forward only"):
        close_file(workbook, "2025-10")
    with pytest.raises(BBBError, match="2026-04 cannot be closed: the as-of date 2026-03-31 is in an earlier month"):
        close_file(workbook, "2026-04")
    with pytest.raises(BBBError, match="not a month like 2025-12"):
        close_file(workbook, "December")
    assert workbook.read_bytes() == data


def test_schedule_closed_by_default_recomputed_on_request(workbook):
    from bbb_xl.api import file_schedule
    close_file(workbook, "2025-12", user="tester", at=AT)
    _edit_c1(workbook)
    closed = file_schedule(workbook, "revenue", "2025-12", "2026-03").rows
    recomputed = file_schedule(workbook, "revenue", "2025-12", "2026-03", recomputed=True).rows
    assert closed[1][1:] == [Decimal("1200.00"), Decimal("1033.33"), Decimal("1033.34"), Decimal("-966.67")]
    assert recomputed[1][1:] == [Decimal("1033.33"), Decimal("1033.33"), Decimal("1033.34"), Decimal("1033.33")]


def test_closed_argument_of_the_formulas(workbook):
    close_file(workbook, "2025-12", user="tester", at=AT)
    tab = _tab(workbook, "Closed Periods")
    edited = rows(15000, d(2026, 6, 30))
    assert udfs.BBB_REVENUE(edited, "2025") == 11200.0
    assert udfs.BBB_REVENUE(edited, "2025", None, None, None, None, tab) == 13200.0
    assert udfs.BBB_DEFERRED(edited, "2025-12", None, None, None, tab) == 0.0
    assert udfs.BBB_BOOKINGS(edited, "2025-01", None, None, None, None, tab) == 12000.0
    table = udfs.BBB_SCHEDULE(edited, "revenue", "2025-11", "2025-12", None, None, None, None, None, tab)
    assert table == [["Total", "2025-11", "2025-12"], ["Total", 1200.0, 1200.0]]
    # the adjustment lands in the month of `today` (formulas have no Settings as-of)
    figures = closed_figures(load_book(edited), tab, today=dt.date(2026, 2, 10))
    assert figures.flow("revenue", "2026-02") == Decimal("833.34") + Decimal("200") - Decimal("2000")
    for bad in ([["Closed through", "soon"]], [["nothing"]], "text"):
        out = udfs.BBB_REVENUE(edited, "2025", None, None, None, None, bad)
        assert isinstance(out, str) and out.startswith("#BBB!") and "unexpected" not in out, out


# --- SIGKILL during close: the old or the new complete workbook ------------------------------------------------------

CHILD = """
import sys, datetime as dt
from bbb_xl.excel.close import close_file
path = sys.argv[1]
print("ready", flush=True)
close_file(path, "2025-12", user="tester", at="2026-04-01T09:00:00+00:00",
           refreshed_at=dt.datetime(2030, 6, 1, 12, 0, 0))
print("done", flush=True)
"""


def test_sigkill_during_close_leaves_the_old_or_the_new_workbook(tmp_path):
    path = tmp_path / "book.xlsx"
    build_workbook(path, rows(), SETTINGS)
    old = path.read_bytes()
    ref = tmp_path / "ref.xlsx"
    ref.write_bytes(old)
    t0 = time.perf_counter()
    close_file(ref, "2025-12", user="tester", at=AT, refreshed_at=NEW_TIME)
    cycle = time.perf_counter() - t0
    new = ref.read_bytes()
    assert new != old
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    rng = random.Random(17)
    olds = news = 0
    for kill in range(16):
        path.write_bytes(old)
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(path)], stdout=subprocess.PIPE, env=env)
        assert child.stdout.readline().strip() == b"ready"
        time.sleep(rng.uniform(0, cycle * 2.5))
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        data = path.read_bytes()
        assert data in (old, new), f"kill {kill}: neither the old nor the new complete workbook"
        olds += data == old
        news += data == new
    assert olds and news, (olds, news)


def test_reopen_and_close_again_in_the_workbook_reproduce_the_records_and_reports(workbook):
    close_file(workbook, "2025-12", user="tester", at=AT, refreshed_at=NEW_TIME)
    first = read_closed_rows(_tab(workbook, "Closed Periods")).closed
    reports = {name: _tab(workbook, name) for name in ("Summary", "Deferred Revenue", "Journal Entries")}
    reopen_file(workbook, "2025-12", "check the December cut-off", user="tester", at=AT, refreshed_at=NEW_TIME)
    assert read_closed_rows(_tab(workbook, "Closed Periods")).closed.through == parse_month("2025-11")
    close_file(workbook, "2025-12", user="tester", at=AT, refreshed_at=NEW_TIME)
    again = read_closed_rows(_tab(workbook, "Closed Periods"))
    assert again.closed == first and [r[0] for r in again.log] == ["close", "reopen", "close"]
    assert {name: _tab(workbook, name) for name in reports} == reports


def test_a_typed_over_record_is_a_located_error_and_nothing_is_written(workbook):
    close_file(workbook, "2025-12", user="tester", at=AT)
    wb = openpyxl.load_workbook(workbook)
    ws = wb["Closed Periods"]
    assert ws["A8"].value == "2025-01" and ws["C8"].value == 1000
    ws["C8"] = "about 1000"
    wb.save(workbook)
    data = workbook.read_bytes()
    with pytest.raises(BBBError) as err:
        headless.refresh_file(workbook)
    assert err.value.problems[0].location == "'Closed Periods'!C8" and "was edited" in err.value.problems[0].message
    assert workbook.read_bytes() == data


def test_close_refuses_a_book_with_input_errors():
    bad = rows() + [["C-3", "Gamma", "1", "P", d(2025, 3, 1), d(2025, 3, 1), d(2025, 2, 1), 100, "monthly",
                     "upfront", "advance"]]
    with pytest.raises(BBBError) as err:
        close_months(load_book(bad), None, parse_month("2025-12"), AS_OF)
    assert "End Date 2025-02-01 is before Start Date" in err.value.problems[0].message
    assert err.value.problems[-1].message.startswith("close refused: fix the input errors first")


def test_a_tab_of_yours_named_closed_periods_is_never_overwritten(workbook):
    wb = openpyxl.load_workbook(workbook)
    wb.create_sheet("Closed Periods")["A1"] = "my notes on closing"
    wb.save(workbook)
    headless.refresh_file(workbook)  # read as nothing closed
    data = workbook.read_bytes()
    with pytest.raises(BBBError, match="did not write .* rename it"):
        close_file(workbook, "2025-12")
    assert workbook.read_bytes() == data and _tab(workbook, "Closed Periods") == [["my notes on closing"]]


def test_close_and_reopen_append_their_own_audit_trail_entries(workbook):
    from bbb_xl.engine import audit
    close_file(workbook, "2025-12", user="tester", at=AT)
    reopen_file(workbook, "2025-12", "late credit note", user="cfo", at=AT)
    trail = _tab(workbook, audit.TRAIL_SHEET)
    text = [" | ".join(str(c) for c in r if c is not None) for r in trail]
    assert any("close --through 2025-12" in t for t in text)
    assert any("reopen --from 2025-12" in t and "late credit note" in t for t in text)
    assert audit_problems(workbook) == []  # the chain still verifies after both entries


def audit_problems(path):
    from bbb_xl.excel.audit_trail import trail_problems
    return [p for p in trail_problems(path) if p.severity == "error"]


# --- the as-of month closes on its last day (December closed on 2025-12-31) ----------------------------------------

YEAR_END = parse_date("2025-12-31")


def test_the_as_of_month_closes_when_the_as_of_date_is_its_last_day():
    """As-of 2025-12-31: December is over, so it closes; an edit of C-1 afterwards posts in 2026-01, the first
    open month (ASC 250-10-45-27: an immaterial prior-period difference goes through the current period)."""
    book = load_book(rows())
    closed = close_months(book, None, parse_month("2025-12"), YEAR_END, AT, "controller", "f")
    assert closed.through == parse_month("2025-12") and len(closed.records) == 12 + 6
    with pytest.raises(BBBError, match="2025-12 cannot be closed: the as-of date 2025-12-30 is in it"):
        close_months(book, None, parse_month("2025-12"), parse_date("2025-12-30"))
    with pytest.raises(BBBError, match="2026-01 cannot be closed: the as-of date 2025-12-31 is in an earlier"):
        close_months(book, closed, parse_month("2026-01"), YEAR_END)
    edited = load_book(rows(15000, d(2026, 6, 30)))
    view, _ = closed_view(edited, closed, YEAR_END)
    assert view.post_month == parse_month("2026-01")
    assert view.posted("revenue").tolist() == [-200000, 0]  # C-1: 10,000.00 recomputed - 12,000.00 closed
    assert view.posted("billings").tolist() == view.posted("bookings").tolist() == [300000, 0]
    figures = ClosedFigures(edited, closed, YEAR_END)
    assert figures.flow("revenue", "2025") == Decimal("13200.00")  # as closed: 12,000 + C-2's 6 x 200
    # 2026-01: C-1 833.33 (15,000 x 13/18 - 10,000.00) - 2,000.00 adjustment, C-2 200.00
    assert figures.flow("revenue", "2026-01") == Decimal("-966.67")
    assert figures.flow("billings", "2026-01") == Decimal("3200.00")  # 3,000.00 adjustment + C-2 200.00
    # at the end of 2026-01 the recomputed balance: 15,000 - 15,000 x 13/18 = 4,166.67
    assert figures.balance("deferred", "2026-01-31") == edited.balance("deferred", "2026-01-31") == \
        Decimal("4166.67")
    assert figures.balance("deferred", "2025-12-31") == Decimal("0.00")  # as closed


def test_year_end_close_in_the_workbook_posts_in_the_first_open_month_and_ties(tmp_path):
    path = tmp_path / "book.xlsx"
    build_workbook(path, rows(), dict(SETTINGS, **{"As-of date": d(2025, 12, 31), "Report end": "2026-03"}))
    result = close_file(path, "2025-12", user="controller", at=AT)
    assert result.records == 18 and result.closed_through == "2025-12"
    _edit_c1(path)
    headless.refresh_file(path)
    header, body = _rollforward(path)
    dec, jan = body["2025-12"], body["2026-01"]
    assert dec["\u2212 Revenue"] == 1200.0 and dec["Closing deferred"] == 0.0  # December as closed
    assert dec["\u00b1 Out-of-period adjustments"] == 0.0
    # 2026-01: opening 0 + billings 200.00 - revenue 1,033.33 (833.33 + 200) + adjustments 5,000.00 (billings
    # +3,000.00 less revenue -2,000.00) = closing 4,166.67, the recomputed balance
    assert (jan["Opening deferred"], jan["+ Billings"], jan["\u2212 Revenue"], jan["\u00b1 Out-of-period adjustments"],
            jan["\u00b1 Reclass with unbilled"], jan["Closing deferred"]) == (0.0, 200.0, 1033.33, 5000.0, 0.0,
                                                                              4166.67)
    for row in (body[m] for m in ("2025-10", "2025-11", "2025-12", "2026-01", "2026-02", "2026-03")):
        total = (Decimal(repr(row["Opening deferred"])) + Decimal(repr(row["+ Billings"]))
                 - Decimal(repr(row["\u2212 Revenue"])) + Decimal(repr(row["\u00b1 Out-of-period adjustments"]))
                 + Decimal(repr(row["\u00b1 Reclass with unbilled"])))
        assert total == Decimal(repr(row["Closing deferred"])), row
    journal = _tab(path, "Journal Entries")
    adj = [r for r in journal if r[0] and str(r[0]).startswith("JE-2026-01-ADJ")]
    assert [(r[4], r[5], r[6]) for r in adj] == [
        ("Accounts Receivable", 3000.0, None), ("Revenue", 2000.0, None),
        ("Contract Asset (unbilled receivable)", None, 833.33), ("Deferred Revenue", None, 4166.67)]
    assert not [r for r in journal if r[0] and str(r[0]).startswith("JE-2025-12-ADJ")]


def test_closed_argument_of_the_rpo_and_deferred_split_formulas(workbook):
    """C-1 edited to 15,000.00 over 18 months after the close through 2025-12. At 2025-03-31, today's inputs give
    C-1 2,500.00 recognized (15,000 x 3/18), 12,500.00 left of which 10,000.00 (15,000 x 12/18) in the next 12
    months; the close recorded 3,000.00 recognized and a backlog of 9,000.00 (billed 12,000.00 upfront). With
    `closed`, the closed backlog and liability of 9,000.00 are shown, current up to the 10,000.00 scheduled within
    12 months (ASC 606-10-50-13 / ASC 210-10-45: a year), so all 9,000.00 within / current. C-2 is booked 2025-07."""
    close_file(workbook, "2025-12", user="tester", at=AT)
    tab = _tab(workbook, "Closed Periods")
    edited = rows(15000, d(2026, 6, 30))
    assert udfs.BBB_RPO(edited, "2025-03-31") == [["Within 12 months", 10000.0], ["After 12 months", 2500.0],
                                                  ["Total", 12500.0]]
    assert udfs.BBB_RPO(edited, "2025-03-31", None, None, None, tab) == [
        ["Within 12 months", 9000.0], ["After 12 months", 0.0], ["Total", 9000.0]]
    assert udfs.BBB_BACKLOG(edited, "2025-03-31", None, None, None, tab) == 9000.0  # the same closed backlog
    assert udfs.BBB_DEFERRED_SPLIT(edited, "2025-03-31") == [["Current", 10000.0], ["Non-current", 2500.0],
                                                             ["Total", 12500.0]]
    assert udfs.BBB_DEFERRED_SPLIT(edited, "2025-03-31", None, None, None, tab) == [
        ["Current", 9000.0], ["Non-current", 0.0], ["Total", 9000.0]]
    assert udfs.BBB_DEFERRED(edited, "2025-03-31", None, None, None, tab) == 9000.0
    # 2025-12-31: C-1 closed at 0 backlog (recomputed 5,000.00 left); C-2's 1,200.00 (6 x 200) is unchanged
    assert udfs.BBB_RPO(edited, "2025-12-31", None, None, None, tab) == [
        ["Within 12 months", 1200.0], ["After 12 months", 0.0], ["Total", 1200.0]]
    assert udfs.BBB_RPO(edited, "2025-12-31")[2] == ["Total", 6200.0]
    # C-1 with a filter that leaves out its line: no difference carried, C-2 alone
    assert udfs.BBB_RPO(edited, "2025-12-31", "Customer=Beta", None, None, tab)[2] == ["Total", 1200.0]
    # inputs unchanged since close: the closed view is today's split, to the cent
    for day in ("2025-03-31", "2025-09-30", "2026-02-28"):
        assert udfs.BBB_RPO(rows(), day, None, None, None, tab) == udfs.BBB_RPO(rows(), day)
        assert udfs.BBB_DEFERRED_SPLIT(rows(), day, None, None, None, tab) == udfs.BBB_DEFERRED_SPLIT(rows(), day)
    out = udfs.BBB_RPO(edited, "2025-12-31", None, None, None, [["nothing"]])
    assert isinstance(out, str) and out.startswith("#BBB!") and "unexpected" not in out


# --- the ribbon's Close month... and Reopen... buttons (bbb_xl.xlam -> bbb_xl.excel.close_through / reopen_from) -----
# No Excel runs here: the workbook open in Excel is a stand-in that keeps what xlwings writes, cell by cell, and
# reads it back as xlwings' raw_value does, so the refresh after the close sees the new Closed Periods tab.

class _Cells:
    def __init__(self, sheet):
        self.sheet = sheet

    def clear(self):
        self.sheet.grid.clear()


class _Range:
    def __init__(self, sheet, a, b=None):
        self.sheet, self.font = sheet, type("Font", (), {})()
        if isinstance(a, str):  # "A1:H1" (merges)
            a = (1, 1)
        self.top, self.left = a
        self.bottom, self.right = b if b is not None else a

    @property
    def raw_value(self):
        return [[self.sheet.grid.get((r, c)) for c in range(self.left, self.right + 1)]
                for r in range(self.top, self.bottom + 1)]

    @property
    def value(self):
        return self.raw_value

    @value.setter
    def value(self, rows):
        rows = rows if isinstance(rows, list) else [[rows]]
        for i, row in enumerate(rows):
            for j, v in enumerate(row if isinstance(row, list) else [row]):
                if v is None:
                    self.sheet.grid.pop((self.top + i, self.left + j), None)
                else:
                    self.sheet.grid[(self.top + i, self.left + j)] = v

    @property
    def last_cell(self):
        cells = self.sheet.grid or {(1, 1): None}
        return type("Cell", (), {"row": max(r for r, _ in cells), "column": max(c for _, c in cells)})()

    def merge(self):
        pass

    def add_hyperlink(self, address, text_to_display=None, screen_tip=None):
        self.sheet.links[(self.top, self.left)] = address  # the refresh's line-to-input links (test_workbook checks them)


class _Sheet:
    def __init__(self, name, rows=None):
        self.name, self.grid, self.charts, self.links = name, {}, [], {}
        for r, row in enumerate(rows or [], start=1):
            for c, v in enumerate(row, start=1):
                if v not in (None, ""):
                    self.grid[(r, c)] = v
        self.cells = _Cells(self)

    @property
    def used_range(self):
        return _Range(self, (1, 1))

    def range(self, a, b=None):
        return _Range(self, a, b)

    def rows(self):
        last = self.used_range.last_cell
        return _Range(self, (1, 1), (last.row, last.column)).raw_value


class _Sheets(dict):
    def add(self, name, after=None):
        self[name] = _Sheet(name)
        return self[name]


def _open_in_excel(path):
    """The stand-in of `xw.books.active` for the workbook at path, with every tab's cells."""
    sheets = read_sheets(path, [], optional=openpyxl.load_workbook(path, read_only=True).sheetnames)
    book = type("Book", (), {})()
    book.fullname = str(path)
    book.sheets = _Sheets({name: _Sheet(name, rows) for name, rows in sheets.items()})
    book.alerts = []
    book.app = type("App", (), {"alert": lambda _, message, title=None: book.alerts.append(message)})()
    return book


def test_ribbon_close_and_reopen_on_the_open_workbook_match_the_cli(workbook, tmp_path):
    """close_through / reopen_from (what the add-in's CloseMonth / ReopenMonths run) call the same close_months /
    reopen_months as `bbb-xl close` / `reopen`: the same 18 records, the same reports after an edit."""
    import bbb_xl.excel as shell
    from bbb_xl.engine import audit
    cli = tmp_path / "cli.xlsx"
    cli.write_bytes(workbook.read_bytes())
    close_file(cli, "2025-12", user="tester", at=AT)
    book = _open_in_excel(workbook)
    assert "Closed Periods" not in book.sheets
    message = shell.close_through("2025-12", book)
    assert message.startswith("Closed through 2025-12: 18 closed record(s) added") and book.alerts == [message]
    in_excel = read_closed_rows(book.sheets["Closed Periods"].rows())
    from_cli = read_closed_rows(_tab(cli, "Closed Periods"))

    def figures(tab):
        return [(r.month, r.contract, r.revenue, r.billings, r.bookings, r.deferred, r.asset, r.backlog, r.amount,
                 r.end, r.inputs) for r in tab.closed.records]
    assert figures(in_excel) == figures(from_cli) and len(figures(in_excel)) == 18
    assert in_excel.closed.through == parse_month("2025-12") and in_excel.log[0][:2] == ["close", "2025-01..2025-12"]
    # edit C-1 in the open workbook (Amount 15,000.00, End Date 2026-06-30), then the Refresh button
    contracts = book.sheets["Contracts"].grid
    assert contracts[(2, 1)] == "C-1"
    contracts[(2, 8)], contracts[(2, 7)] = 15000, d(2026, 6, 30)
    shell.refresh(book)
    deferred = book.sheets["Deferred Revenue"].rows()
    header = deferred[3]  # row 4, as _rollforward reads it
    mar = dict(zip(header, next(r for r in deferred if r[0] == "2026-03")))
    assert (mar["\u00b1 Out-of-period adjustments"], mar["Closing deferred"]) == (5000.0, 2500.0)  # as headless
    # the audit trail: the close's own entry, then the refreshes
    trail = audit.read_trail(book.sheets[audit.TRAIL_SHEET].rows()).entries
    assert [e.command for e in trail][-3:] == ["close --through 2025-12 (Excel)", "refresh (Excel)", "refresh (Excel)"]
    # Reopen...: the reason typed in the InputBox arrives hex-encoded and is kept as text, quotes and all
    reason = "Amount keyed wrong'); import os; os.remove('book') # \u00e9\U0001F600"
    code = reason.encode("utf-16-be").hex().upper()  # what HexText builds: 4 hex digits per UTF-16 unit
    assert set(code) <= set("0123456789ABCDEF")
    message = shell.reopen_from("2025-12", code, book)
    assert message.startswith("Reopened from 2025-12: 2 closed record(s) removed; closed through 2025-11 now")
    tab = read_closed_rows(book.sheets["Closed Periods"].rows())
    assert tab.log[1][:2] == ["reopen", "from 2025-12"] and tab.log[1][4] == reason
    trail = audit.read_trail(book.sheets[audit.TRAIL_SHEET].rows()).entries
    assert trail[-2].command == "reopen --from 2025-12 (Excel)" and reason in trail[-2].cells()


def test_ribbon_close_refusals_write_nothing_and_say_why(workbook):
    import bbb_xl.excel as shell
    book = _open_in_excel(workbook)
    shell.close_through("2025-12", book)
    before = {name: dict(sheet.grid) for name, sheet in book.sheets.items()}
    assert shell.close_through("2025-10", book).startswith("Nothing was written. closed through 2025-12 already")
    assert "2026-04 cannot be closed" in shell.close_through("2026-04", book)
    assert "not a month like 2025-12" in shell.close_through("2025-13", book)
    assert "did not arrive as the add-in's VBA encodes it" in shell.reopen_from("2025-12", "41'); x('", book)
    assert "did not arrive" in shell.reopen_from("2025-12", "414", book)  # not whole code units
    assert "needs a --reason" in shell.reopen_from("2025-12", "", book)
    assert "2026-01 is not closed" in shell.reopen_from("2026-01", "0041", book)  # reason "A"
    assert {name: dict(sheet.grid) for name, sheet in book.sheets.items()} == before
    assert len(book.alerts) == 8


def _hex_text(typed: str) -> str:
    """What the add-in's VBA HexText builds: Right$("000" & Hex$(AscW(ch)), 4) per UTF-16 code unit (AscW is
    the unit as a signed Integer; Hex$ of a negative Integer is its 16-bit two's complement)."""
    data = typed.encode("utf-16-be")
    signed = [u - 0x10000 if u >= 0x8000 else u for u in (int.from_bytes(data[k:k + 2], "big")
                                                            for k in range(0, len(data), 2))]
    return "".join(("000" + format(u & 0xFFFF, "X"))[-4:] for u in signed)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=120))
def test_reopen_reason_round_trips_through_the_hex_the_vba_builds(typed):
    from bbb_xl.excel.close import reason_from_hex
    code = _hex_text(typed)
    assert set(code) <= set("0123456789ABCDEF") and len(code) == 2 * len(typed.encode("utf-16-be"))
    assert reason_from_hex(code) == typed
