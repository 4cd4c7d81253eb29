"""The BBB_ formula surface called as Python functions with the values Excel hands over."""
import datetime as dt

import pytest

from bbb_xl import api
from bbb_xl.udfs import (BBB_BACKLOG, BBB_BILLINGS, BBB_BOOKINGS, BBB_CHECK, BBB_DEFERRED, BBB_REVENUE, BBB_RPO,
                         BBB_SCHEDULE, BBB_UNBILLED)
from conftest import book_rows, line

ROWS = book_rows(
    line("C1", "Acme", start=dt.datetime(2025, 1, 1), end=dt.datetime(2025, 12, 31), amount=12000.0,
         billing="quarterly", region="EMEA"),
    line("C2", "Beta", start=45672.0, end=46036.0, amount=2400.0, billing="annual", timing="arrears",
         region="AMER"),  # serials: 2025-01-15 .. 2026-01-14
    line("C3", "Gamma", start="2025-03-01", end=None, amount=500.0, recognition="point in time",
         region="emea"),
)


def test_flows():
    # C2: 2,400 over 2025-01-15..2026-01-14 monthly: Q1 = round(2400 * (17/31 + 2) / 12) = 509.68
    assert BBB_REVENUE(ROWS, "2025-Q1", None, "Customer=beta") == 509.68
    assert BBB_REVENUE(ROWS, "2025-Q1") == 3000.0 + 500.0 + 509.68
    assert BBB_BILLINGS(ROWS, "2025-01") == 3000.0
    assert BBB_BILLINGS(ROWS, "2026-01-14", "2026-01-14") == 2400.0
    assert BBB_BOOKINGS(ROWS, "2025") == 14900.0
    assert BBB_BOOKINGS(ROWS, "2025", None, "Region=EMEA") == 12500.0
    assert BBB_REVENUE(ROWS, dt.datetime(2025, 3, 31)) == 1000.0 + 500.0 + 200.0  # a date alone: its month


def test_balances_and_rpo():
    assert BBB_BACKLOG(ROWS, "2025-06") == 6000.0 + BBB_BACKLOG(ROWS, "2025-06", "Customer=Beta")
    assert BBB_DEFERRED(ROWS, "2025-02") == 1000.0
    assert BBB_UNBILLED(ROWS, "2025-12") == BBB_REVENUE(ROWS, "2025-01", "2025-12", "Contract ID=C2")
    rpo = BBB_RPO(ROWS, "2025-06-30")
    assert rpo[0][0] == "Within 12 months" and rpo[2] == ["Total", rpo[0][1] + rpo[1][1]]
    assert rpo[2][1] == BBB_BACKLOG(ROWS, "2025-06-30")


def test_schedule_shape_and_groups():
    table = BBB_SCHEDULE(ROWS, "revenue", "2025-01", "2025-06", "quarter", "Region")
    assert table[0] == ["Region", "2025-Q1", "2025-Q2"]
    assert [r[0] for r in table[1:]] == ["AMER", "EMEA", "Total"]  # EMEA and emea are one group
    assert table[2][1:] == [3500.0, 3000.0]
    assert table[-1][1:] == [table[1][1] + table[2][1], table[1][2] + table[2][2]]
    plain = BBB_SCHEDULE(ROWS, "bookings", "2025-01", "2025-03", None, None, None)
    assert plain == [["Total", "2025-01", "2025-02", "2025-03"], ["Total", 14400.0, 0.0, 500.0]]
    assert BBB_SCHEDULE(ROWS, "profit", "2025-01", "2025-03").startswith("#BBB! metric 'profit'")


def test_argument_errors_are_messages():
    assert BBB_REVENUE(ROWS, "2025-13") == "#BBB! start '2025-13': month 13 is not 1 to 12"
    assert BBB_REVENUE(ROWS, "2025", None, "Regon=EMEA").startswith("#BBB! no column 'Regon'")
    assert "did you mean 'Region'" in BBB_REVENUE(ROWS, "2025", None, "Regon=EMEA")
    assert BBB_BACKLOG(ROWS, None) == "#BBB! as_of is missing"
    assert BBB_SCHEDULE(ROWS, "revenue", "2025-01", "2025-03", "week").startswith("#BBB! period 'week'")


def test_check_ok_and_problems():
    assert BBB_CHECK(ROWS) == [["OK", "3 lines, no problems"]]


def test_parsed_books_are_cached_by_content():
    api.clear_cache()
    frozen = tuple(tuple(r) for r in ROWS)
    first = api.book_from_range(frozen)
    assert api.book_from_range(tuple(tuple(r) for r in ROWS)) is first  # same content, new object
    assert api.book_from_range([list(r) for r in ROWS]) is first
    changed = [list(r) for r in ROWS]
    changed[1][6] = 13000.0
    assert api.book_from_range(changed) is not first
    for i in range(api.CACHE_SIZE + 1):
        other = [list(r) for r in ROWS]
        other[1][6] = 1000.0 + i
        api.book_from_range(other)
    assert len(api._cache) == api.CACHE_SIZE
