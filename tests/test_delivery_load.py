"""The backlog's delivery load (issue "Monitor and plan", section 4): the revenue still to recognize after the as-of
date by month ahead, by Product and by a chosen column; the months plus Later tie to the backlog (RPO) at the
as-of date. Figures worked by hand in the comments."""
import datetime as dt

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from bbb_xl import load_book
from bbb_xl.core.dates import parse_date
from bbb_xl.reports.backlog import delivery_load

D = dt.datetime
H = ["Contract ID", "Customer", "Product", "Booking Date", "Start Date", "End Date", "Amount", "Recognition",
     "Region"]
LINES = [H,
         # 12,000.00 over calendar 2025, monthly: 1,000.00 a month
         ["C1", "Acme", "Platform", D(2025, 1, 1), D(2025, 1, 1), D(2025, 12, 31), 12000.0, "monthly", "EMEA"],
         # 24,000.00 over 2025-07..2027-06: 1,000.00 a month, booked 2025-03-15 before it starts
         ["C2", "Globex", "Platform", D(2025, 3, 15), D(2025, 7, 1), D(2027, 6, 30), 24000.0, "monthly", "AMER"],
         # services delivered on 2025-05-20 (point in time), booked in March
         ["C3", "Globex", "Services", D(2025, 3, 20), D(2025, 5, 20), None, 5000.0, "point in time", "AMER"],
         # booked after the as-of date: not in the backlog at 2025-03-31
         ["C4", "Initech", "Services", D(2025, 4, 2), D(2025, 4, 2), None, 700.0, "point in time", "EMEA"]]
AS_OF = parse_date("2025-03-31")


def test_months_ahead_by_product_tie_to_the_backlog():
    book = load_book(LINES)
    load = delivery_load(book, AS_OF, "Product")
    assert load.columns[:3] == ("2025-04", "2025-05", "2025-06") and load.columns[11:] == ("2026-03", "Later",
                                                                                          "Total")
    rows = dict(load.rows)
    # Platform: C1 1,000 a month April..December (9,000 left), C2 1,000 a month from July: 2025-07..2026-03 in the
    # 12 months (9 x 1,000), the other 15,000 Later. April..June 1,000; July..December 2,000; 2026-01..03 1,000.
    assert rows["Platform"] == [100000] * 3 + [200000] * 6 + [100000] * 3 + [1500000, 3300000]
    # Services: C3's 5,000 in May; C4 (booked 2025-04-02) is not in the backlog at 2025-03-31
    assert rows["Services"] == [0, 500000] + [0] * 11 + [500000]
    total = load.total()
    assert total[-1] == 3800000  # 9,000 + 24,000 + 5,000
    within, after = book.rpo_cents(AS_OF, np.arange(len(book.lines)))
    assert sum(total[:12]) == within and total[12] == after and total[-1] == within + after


def test_by_a_chosen_column_and_without_product():
    book = load_book(LINES)
    rows = dict(delivery_load(book, AS_OF, "region").rows)
    assert rows["EMEA"][-1] == 900000 and rows["AMER"][-1] == 2900000  # C1 9,000; C2 24,000 + C3 5,000
    single = delivery_load(book, AS_OF, None)
    assert single.rows[0][0] == "All lines" and single.total()[-1] == 3800000


def test_events_after_the_as_of_date_are_not_known_yet():
    # C1 cancelled from 2025-06-01: at 2025-03-31 nobody knows, so its 9,000 is still to deliver
    events = [["Contract ID", "Line ID", "Date", "Event"], ["C1", None, D(2025, 6, 1), "cancel"]]
    book = load_book(LINES, events=events)
    assert dict(delivery_load(book, AS_OF, "Product").rows)["Platform"][-1] == 3300000
    # at 2025-06-30 it is known: C1 has nothing left (the cancel ends it), C2 24,000 from July
    after = dict(delivery_load(book, parse_date("2025-06-30"), "Product").rows)
    assert after["Platform"][-1] == 2400000 and after["Platform"][0] == 100000


def test_milestone_backlog_is_spread_like_the_rpo_window():
    # a 10,000 milestone line over 2025-03-01..2025-06-29 (120 days), 30% done by 2025-03-20: 7,000 left at
    # 2025-03-31, spread by day to 2025-06-29 (90 days): April 30 days 2,333.33, May 31 days 2,411.11,
    # June 29 days 2,255.56 (cumulative rounding: 2,333.33; 4,744.44; 7,000.00)
    rows = [H, ["M1", "Acme", "Implementation", D(2025, 3, 1), D(2025, 3, 1), D(2025, 6, 29), 10000.0, "milestone",
                "EMEA"]]
    events = [["Contract ID", "Line ID", "Date", "Event", "Percent"], ["M1", None, D(2025, 3, 20), "milestone", 0.3]]
    book = load_book(rows, events=events)
    load = delivery_load(book, AS_OF, "Product")
    assert load.rows[0][1][:4] == [233333, 241111, 225556, 0] and load.total()[-1] == 700000
    assert sum(load.total()[:12]) == book.rpo_cents(AS_OF, np.arange(1))[0]


@pytest.mark.parametrize("day", ["2024-06-30", "2025-01-31", "2025-06-30", "2025-09-30", "2025-12-31"])
def test_sample_book_months_and_later_are_the_rpo_split_at_month_ends(day):
    from bbb_xl.sample import sample_contracts, sample_events
    rows = sample_contracts()
    book = load_book(rows, events=sample_events(rows))
    t = parse_date(day)
    total = delivery_load(book, t, "Product").total()
    within, after = book.rpo_cents(t, np.arange(len(book.lines)))
    assert (sum(total[:12]), total[12], total[13]) == (within, after, within + after)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 700), st.integers(0, 900), st.integers(-50_000, 5_000_000),
                          st.sampled_from(["monthly", "daily", "point in time"]), st.integers(0, 400)),
                min_size=1, max_size=6),
       st.integers(0, 1200))
def test_months_plus_later_always_equal_the_backlog(lines, as_of_offset):
    base = dt.date(2024, 1, 1)
    rows = [H]
    for k, (start, length, cents, rec, lead) in enumerate(lines):
        s = base + dt.timedelta(days=start)
        rows.append([f"C{k}", "Acme", f"P{k % 2}", D(*(s - dt.timedelta(days=lead)).timetuple()[:3]),
                     D(*s.timetuple()[:3]), D(*(s + dt.timedelta(days=length)).timetuple()[:3]), cents / 100, rec,
                     "EMEA"])
    book = load_book(rows)
    t = parse_date(base) + as_of_offset
    load = delivery_load(book, t, "Product")
    within, after = book.rpo_cents(t, np.arange(len(book.lines)))
    for _, values in load.rows:
        assert sum(values[:13]) == values[13]  # each row: the months + Later = its backlog
    assert load.total()[-1] == within + after


def test_backlog_tab_shows_the_delivery_load_and_the_chosen_column():
    from bbb_xl.excel.workflow import compute_reports
    settings = [["Setting", "Value"], ["As-of date", D(2025, 3, 31)], ["Report start", "2025-01"],
                ["Report end", "2025-03"], ["Delivery load by", "Region"]]
    reports = compute_reports(LINES, settings)
    tab = reports.sheets["Backlog"].rows()
    headers = [r for r in tab if r and r[0] in ("Product", "Region")]
    assert [h[0] for h in headers] == ["Product", "Region"] and headers[0][1] == "2025-04"
    totals = [r for r in tab if r and r[0] == "Total" and len(r) > 14 and r[13] is not None]
    assert [r[14] for r in totals] == [3800000, 3800000]
    closing = reports.sheets["Backlog"].cell(7, 7)  # the rollforward's closing backlog at 2025-03-31
    assert closing == 3800000
    settings[-1][1] = "Regoin"
    reports = compute_reports(LINES, settings)
    warning = [p for p in reports.problems if p.message.startswith("Delivery load by")]
    assert warning and warning[0].location == "Settings!B5" and "did you mean 'Region'" in warning[0].message
