"""Usage-based and metered pricing (issue 18, section 1): worked examples computed by hand.

- ASC 606-10-32-39..41 and 25-14(b): variable consideration that relates entirely to one distinct period of a
  series (the usage of that period) is allocated to that period: revenue in the period the usage occurs;
- ASC 606-10-55-18 (right to invoice): usage priced per unit and billed in arrears, revenue = the amount the entity
  has a right to invoice for the usage so far;
- ASC 606-10-55-216..220 (Example 24, volume discount): a volume tier reached later in a billing period reprices the
  period's earlier units, a cumulative catch-up (32-42..45);
- ASC 606-10-55-46..49 (breakage): prepaid credits left unused lapse at the End Date, recognized then (55-48).
"""
from decimal import Decimal as D

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings as hsettings
from hypothesis import strategies as st

from bbb_xl import load_book
from bbb_xl.core.dates import parse_date as day_number
from bbb_xl.udfs import BBB_BACKLOG, BBB_BILLINGS, BBB_CHECK, BBB_REVENUE, BBB_RPO, BBB_SCHEDULE

HEADER = ["Contract ID", "Customer", "Line ID", "Product", "Start Date", "End Date", "Amount", "Recognition",
          "Billing", "Billing Timing", "Unit Price", "Included Quantity", "Minimum Type"]
EVENTS = ["Contract ID", "Line ID", "Date", "Event", "Quantity"]
TIERS = ["Contract ID", "Product", "From Quantity", "Unit Price", "Mode"]


def line(cid="U", amount=0, unit_price=0.10, included=None, minimum=None, billing="monthly", timing="arrears",
         start="2026-01-01", end="2026-12-31", product="API", recognition="usage", line_id="u"):
    return [cid, "Acme", line_id, product, start, end, amount, recognition, billing, timing, unit_price, included,
            minimum]


def rows(*body):
    return [list(HEADER)] + [list(r) for r in body]


def events(*body):
    return [list(EVENTS)] + [list(r) for r in body]


def use(date, qty, cid="U", line_id="u"):
    return [cid, line_id, date, "usage", qty]


def tiers(*body):
    return [list(TIERS)] + [list(r) for r in body]


def sched(book, metric, start="2026-01", end="2026-12", filter=None):
    return [D(x) for x in book.schedule_for(metric, start, end, "month", filter=filter).to_rows()[1][1:]]


def money(*values):
    return [D(v).quantize(D("0.01")) for v in values]


def ok(book):
    assert book.errors == [], book.errors
    return book


# --- pay as you go -------------------------------------------------------------------------------------------------

def test_usage_billed_monthly_in_arrears_is_revenue_when_used():
    # $0.10 per API call, billed monthly in arrears, 12,000 calls on Jan 15: 12,000 x 0.10 = 1,200.00 of revenue in
    # January (55-18: the amount the entity has a right to invoice), one invoice of 1,200.00 on Jan 31
    book = ok(load_book(rows(line()), events(use("2026-01-15", 12000))))
    assert sched(book, "revenue")[:2] == money(1200, 0)
    assert book.flow("billings", "2026-01-31", "2026-01-31") == D("1200.00")
    assert book.flow("billings", "2026-01-01", "2026-01-30") == D("0.00")
    # between the usage and the invoice the right to consideration is a contract asset: 1,200.00 on Jan 30
    assert book.balance("unbilled", "2026-01-30") == D("1200.00")
    assert book.balance("unbilled", "2026-01-31") == book.balance("deferred", "2026-01-31") == D("0.00")
    # pay as you go has no committed minimum: no backlog, no RPO (usage is never backlog); bookings = usage
    assert book.balance("backlog", "2026-01-31") == D("0.00")
    assert book.rpo("2026-01-31") == (D("0.00"), D("0.00"))
    assert book.flow("bookings", "2026-01") == D("1200.00")


def test_sub_cent_prices_round_cumulatively_per_billing_period():
    # $0.0015 per call: 333 calls on Jan 3 = 0.4995 -> 0.50; 333 more on Jan 9: 666 x 0.0015 = 0.999 -> 1.00 for the
    # month to date, so Jan 4..9 recognizes 0.50 (cumulative rounding); the invoice on Jan 31 is 1.00 = January's revenue
    book = ok(load_book(rows(line(unit_price="0.0015")), events(use("2026-01-03", 333), use("2026-01-09", 333))))
    assert book.flow("revenue", "2026-01-01", "2026-01-03") == D("0.50")
    assert book.flow("revenue", "2026-01-04", "2026-01-09") == D("0.50")
    assert book.flow("billings", "2026-01") == book.flow("revenue", "2026-01") == D("1.00")


def test_quarterly_billing_and_included_quantity_per_quarter():
    # quarterly in arrears anchored on the Start Date: Q1 = Jan..Mar, invoiced Mar 31. Included Quantity 1,000 per
    # billing period: Q1 uses 600 (Jan) + 900 (Feb) = 1,500 -> 500 billable x 0.10 = 50.00, recognized as used:
    # Jan 0.00 (600 within the 1,000), Feb 50.00; Q2 uses 800 <= 1,000: nothing
    book = ok(load_book(rows(line(billing="quarterly", included=1000)),
                        events(use("2026-01-20", 600), use("2026-02-10", 900), use("2026-04-10", 800))))
    assert sched(book, "revenue")[:6] == money(0, 50, 0, 0, 0, 0)
    assert sched(book, "billings")[:6] == money(0, 0, 50, 0, 0, 0)


# --- tiers ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("mode, expected", [
    # graduated: units 1..10,000 at 0.10 = 1,000.00, units 10,001..12,000 at 0.08 = 160.00: 1,160.00
    ("graduated", "1160.00"),
    # volume: all 12,000 units at the price of the tier the month's quantity reaches, 0.08: 960.00
    ("volume", "960.00"),
])
def test_price_tiers_graduated_and_volume(mode, expected):
    book = ok(load_book(rows(line(unit_price=None)), events(use("2026-01-15", 12000)),
                        tiers=tiers(["U", None, 0, 0.10, mode], ["U", None, 10001, 0.08, mode])))
    assert book.flow("revenue", "2026-01") == book.flow("billings", "2026-01") == D(expected)


def test_volume_tier_reached_later_reprices_the_month_cumulative_catch_up():
    # Example 24 (55-216..220): 10,000 calls on Jan 10 are 1,000.00 (tier 1, 0.10); 2,000 more on Jan 20 take the
    # month to 12,000, all at 0.08 = 960.00: Jan 11..20 recognizes 960.00 - 1,000.00 = -40.00
    book = ok(load_book(rows(line(unit_price=None)), events(use("2026-01-10", 10000), use("2026-01-20", 2000)),
                        tiers=tiers([None, "API", 1, 0.10, "volume"], [None, "API", 10001, 0.08, "volume"])))
    assert book.flow("revenue", "2026-01-01", "2026-01-10") == D("1000.00")
    assert book.flow("revenue", "2026-01-11", "2026-01-20") == D("-40.00")
    assert book.flow("billings", "2026-01") == D("960.00")


def test_tiers_apply_per_billing_period_and_contract_tiers_win_over_product_tiers():
    # graduated per month: January 12,000 (1,160.00), February 5,000 starts at tier 1 again: 500.00. The product
    # row (0.50 flat) is not used: the contract's own tiers come first
    book = ok(load_book(rows(line(unit_price=None)), events(use("2026-01-15", 12000), use("2026-02-15", 5000)),
                        tiers=tiers([None, "API", 0, 0.50, None], ["U", None, 0, 0.10, None],
                                    ["U", None, 10001, 0.08, None])))
    assert sched(book, "revenue")[:2] == money(1160, 500)


# --- committed minimums --------------------------------------------------------------------------------------------

def stand_ready_book(*usage):
    # $1,200 a year committed (stand-ready), 10,000 calls a month included, $0.10 per call above; minimum billed
    # monthly in advance (100.00 on the 1st), overage invoiced in arrears at each month end
    return ok(load_book(rows(line(amount=1200, included=10000, minimum="stand-ready", timing="advance")),
                        events(*usage)))


def test_stand_ready_minimum_is_ratable_and_overage_is_recognized_as_used():
    # 25-18(b) stand-ready: 1,200 / 12 = 100.00 a month. January 12,000 calls: 2,000 above the 10,000 included x 0.10
    # = 200.00 overage, January revenue 300.00; February 8,000 calls: no overage, 100.00
    book = stand_ready_book(use("2026-01-20", 12000), use("2026-02-10", 8000))
    assert sched(book, "revenue")[:3] == money(300, 100, 100)
    # billings: 100.00 minimum on Jan 1 + 200.00 overage on Jan 31; then 100.00 a month
    assert book.flow("billings", "2026-01-01", "2026-01-01") == D("100.00")
    assert book.flow("billings", "2026-01-31", "2026-01-31") == D("200.00")
    assert sched(book, "billings")[:3] == money(300, 100, 100)
    # backlog and RPO hold only the unrecognized minimum: 1,200 - 100 = 1,100.00 at Jan 31, all within 12 months
    assert book.balance("backlog", "2026-01-31") == D("1100.00")
    assert book.rpo("2026-01-31") == (D("1100.00"), D("0.00"))
    # the overage is booked as it is recognized, never backlog: January bookings 1,200 + 200 = 1,400.00
    assert book.flow("bookings", "2026-01") == D("1400.00")
    # revenue + remaining committed = minimum + overage billed: at Dec 31, revenue 1,400.00, backlog 0
    assert book.flow("revenue", "2026-01", "2026-12") == D("1400.00")
    assert book.balance("backlog", "2026-12-31") == D("0.00")


def drawdown_book(*usage, billing="upfront"):
    # 10,000 prepaid credits at $1.00 (Amount 10,000.00), January to June, billed upfront
    return ok(load_book(rows(line(amount=10000, unit_price=1, minimum="drawdown", billing=billing,
                                  timing="advance", end="2026-06-30")), events(*usage)))


def test_drawdown_credits_are_recognized_as_consumed_and_breakage_at_end_date():
    # 3,000 credits used in February and 4,500 in April: revenue 3,000.00 and 4,500.00 as consumed; the 2,500
    # unused lapse on the End Date, Jun 30: breakage 2,500.00 recognized in June (55-48)
    book = drawdown_book(use("2026-02-10", 3000), use("2026-04-10", 4500))
    assert sched(book, "revenue", end="2026-07") == money(0, 3000, 0, 4500, 0, 2500, 0)
    assert sched(book, "billings", end="2026-07") == money(10000, 0, 0, 0, 0, 0, 0)
    # the prepaid 10,000.00 is deferred revenue until drawn: 2,500.00 left at Apr 30 (deferred and backlog)
    assert book.balance("deferred", "2026-04-30") == book.balance("backlog", "2026-04-30") == D("2500.00")
    assert book.balance("deferred", "2026-06-29") == D("2500.00")
    assert book.balance("deferred", "2026-06-30") == book.balance("backlog", "2026-06-30") == D("0.00")
    # RPO at Apr 30: the 2,500.00 left, within 12 months (the End Date is Jun 30)
    assert book.rpo("2026-04-30") == (D("2500.00"), D("0.00"))


def test_drawdown_beyond_the_credits_is_overage_billed_in_arrears():
    # 7,000 in February and 4,000 in May: 11,000 credits used, 1,000 above the 10,000 prepaid. Revenue 7,000.00 and
    # 4,000.00 as used, no breakage; the 1,000.00 overage is invoiced at the end of the billing period (upfront:
    # the whole term, Jun 30) and booked when it occurs (May); backlog never goes below 0
    book = drawdown_book(use("2026-02-10", 7000), use("2026-05-10", 4000))
    assert sched(book, "revenue", end="2026-06") == money(0, 7000, 0, 0, 4000, 0)
    assert sched(book, "billings", end="2026-06") == money(10000, 0, 0, 0, 0, 1000)
    assert sched(book, "bookings", end="2026-06") == money(10000, 0, 0, 0, 1000, 0)
    assert sched(book, "backlog", end="2026-06") == money(10000, 3000, 3000, 3000, 0, 0)
    assert sched(book, "unbilled", end="2026-06") == money(0, 0, 0, 0, 1000, 0)


# --- properties ----------------------------------------------------------------------------------------------------

DAYS = [f"2026-{m:02d}-{d:02d}" for m in range(1, 13) for d in (1, 9, 15, 28)]


@st.composite
def usage_books(draw):
    kind = draw(st.sampled_from(["payg", "stand-ready", "drawdown"]))
    amount = 0 if kind == "payg" else draw(st.integers(1, 5000))
    billing = draw(st.sampled_from(["monthly", "quarterly", "annual", "upfront"]))
    included = draw(st.sampled_from([None, 0, 100, 2500]))
    use_tiers = draw(st.booleans())
    price = draw(st.sampled_from([0.1, "0.0015", 1, "2.35"]))
    contract = rows(line(amount=amount, unit_price=None if use_tiers else price, included=included,
                         minimum=None if kind == "payg" else kind, billing=billing,
                         timing=draw(st.sampled_from(["advance", "arrears"]))))
    body = [use(draw(st.sampled_from(DAYS)), draw(st.integers(0, 9000))) for _ in range(draw(st.integers(0, 8)))]
    if draw(st.booleans()):  # a subscription line in the same contract: balances net per contract
        contract.append(line(amount=draw(st.integers(0, 3000)), recognition="monthly", unit_price=None,
                             billing=draw(st.sampled_from(["monthly", "upfront"])), line_id="m", product="Seats"))
    tier_rows = tiers(["U", None, 0, 0.12, None], ["U", None, 1001, 0.05, None]) if use_tiers else None
    if use_tiers and draw(st.booleans()):
        tier_rows = tiers(["U", None, 1, 0.12, "volume"], ["U", None, 2001, 0.05, "volume"])
    return contract, events(*body), tier_rows


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(usage_books(), st.sampled_from(DAYS))
def test_usage_identities(case, at):
    contract, ev, tier_rows = case
    book = ok(load_book(contract, ev, tiers=tier_rows))
    t = day_number(at)
    sel = np.arange(len(book.lines))
    first = day_number("2025-12-31")
    revenue = book.flow_cents("revenue", first + 1, t, sel)
    billed = book.flow_cents("billings", first + 1, t, sel)
    booked = book.flow_cents("bookings", first + 1, t, sel)
    backlog, deferred, unbilled = (book.balance_cents(m, t, sel) for m in ("backlog", "deferred", "unbilled"))
    amount = int(book.lines.amount.sum())
    # bookings = the committed minimum + overage to date; revenue + remaining committed = minimum + overage
    assert revenue + backlog == booked >= amount
    assert 0 <= backlog <= amount
    # backlog of the usage line: only its unrecognized committed minimum
    usage_line = np.array([0])
    assert 0 <= book.balance_cents("backlog", t, usage_line) <= int(book.lines.amount[0])
    # billings = revenue + deferred - contract asset (one contract)
    assert billed == revenue + deferred - unbilled
    # a balance at t never depends on usage after t
    known = [ev[0]] + [r for r in ev[1:] if day_number(r[2]) <= t]
    before = load_book(contract, known, tiers=tier_rows)
    for m in ("backlog", "deferred", "unbilled"):
        assert before.balance_cents(m, t, sel) == book.balance_cents(m, t, sel)
    assert before.flow_cents("revenue", first + 1, t, sel) == revenue
    # after the End Date everything is billed and recognized: revenue = the minimum + overage billed
    end = day_number("2026-12-31")
    total_rev = book.flow_cents("revenue", first + 1, end, sel)
    assert total_rev == book.flow_cents("billings", first + 1, end, sel)
    assert book.balance_cents("backlog", end, sel) == 0


# --- misuse: located errors ----------------------------------------------------------------------------------------

def test_usage_event_on_a_non_usage_line_is_located():
    book = load_book(rows(line(recognition="monthly", amount=1200)), events(use("2026-01-15", 10)),
                     events_sheet="Events", events_origin=(1, 1))
    [p] = book.errors
    assert (p.sheet, p.cell, p.table) == ("Events", "D2", "events")
    assert "recognized monthly: a usage event needs a line with Recognition usage" in p.message


def test_negative_quantity_is_located():
    book = load_book(rows(line()), events(use("2026-01-15", -5)), events_sheet="Events", events_origin=(1, 1))
    [p] = book.errors
    assert (p.cell, p.value) == ("E2", -5) and "Quantity -5 is negative" in p.message


def test_usage_outside_the_term_is_located():
    book = load_book(rows(line(end="2026-06-30")), events(use("2026-07-01", 5)), events_sheet="Events",
                     events_origin=(1, 1))
    [p] = book.errors
    assert p.cell == "C2" and "after the End Date 2026-06-30" in p.message


def test_missing_unit_price_is_located_on_the_contracts_range():
    book = load_book(rows(line(unit_price=None)), events(use("2026-01-15", 5)), sheet="Contracts", origin=(1, 1))
    [p] = book.errors
    assert (p.sheet, p.cell, p.column) == ("Contracts", "K2", "Unit Price")
    assert "no Unit Price and no Price Tiers row" in p.message
    assert BBB_REVENUE(rows(line(unit_price=None)), "2026-01").startswith("#BBB!")


def test_tiers_not_ascending_are_located():
    book = load_book(rows(line(unit_price=None)), tiers=tiers(["U", None, 0, 0.1, None], ["U", None, 10001, 0.08, None],
                                                              ["U", None, 5000, 0.05, None]),
                     tiers_sheet="Price Tiers", tiers_origin=(1, 1))
    errors = book.errors
    assert any(p.cell == "C4" and p.table == "tiers" and "not above 10001 on row 3" in p.message for p in errors), \
        errors


@pytest.mark.parametrize("cells, column, message", [
    (dict(unit_price="ten cents"), "K2", "Unit Price: 'ten cents' is not a number"),
    (dict(unit_price=-0.1), "K2", "Unit Price -0.1 is negative"),
    (dict(included=-1), "L2", "Included Quantity -1 is negative"),
    (dict(minimum="drawdwn", amount=100), "M2", "did you mean 'drawdown'"),
    (dict(amount=-100), "G2", "committed minimum"),
])
def test_bad_usage_terms_are_located(cells, column, message):
    book = load_book(rows(line(**cells)), sheet="Contracts", origin=(1, 1))
    assert any(p.cell == column and message in p.message for p in book.errors), book.errors


def test_other_events_on_a_usage_line_are_refused():
    # invoice events bill a usage contract exactly (tests/test_gaps18.py); modify and adjust are refused
    for event in (["U", "u", "2026-02-01", "modify", 100], ["U", "u", "2026-02-01", "adjust", 100]):
        ev = [["Contract ID", "Line ID", "Date", "Event", "Amount"], event]
        book = load_book(rows(line()), ev)
        assert any("usage line" in p.message for p in book.errors), book.errors


def test_books_without_usage_lines_keep_the_headers_as_dimensions():
    # no line is usage: Unit Price, Included Quantity and Minimum Type are dimensions, nothing is read from them
    book = ok(load_book(rows(line(recognition="monthly", amount=1200, unit_price="gold", minimum="whatever"))))
    assert book.lines.usage is None
    assert book.schedule_for("revenue", "2026-01", "2026-01", group_by="Unit Price").to_rows()[1] == \
        ["gold", D("100.00")]


# --- formulas ------------------------------------------------------------------------------------------------------

def test_formulas_take_the_price_tiers_range_last():
    contract = rows(line(unit_price=None, amount=1200, included=10000, minimum="stand-ready", timing="advance"))
    ev = events(use("2026-01-15", 22000))
    t = tiers(["U", None, 0, 0.10, "graduated"], ["U", None, 10001, 0.08, "graduated"])
    # 22,000 calls, 10,000 included: 12,000 billable, graduated 1,000.00 + 160.00 = 1,160.00 overage + 100.00 minimum
    assert BBB_REVENUE(contract, "2026-01", None, None, ev, None, None, None, None, None, t) == 1260.0
    assert BBB_BILLINGS(contract, "2026-01", None, None, ev, tiers=t) == 1260.0
    assert BBB_BACKLOG(contract, "2026-01-31", None, ev, tiers=t) == 1100.0
    assert BBB_RPO(contract, "2026-01-31", None, ev, tiers=t)[2] == ["Total", 1100.0]
    assert BBB_SCHEDULE(contract, "revenue", "2026-01", "2026-02", events=ev, tiers=t)[1] == ["Total", 1260.0, 100.0]
    check = BBB_CHECK(contract, ev, None, None, tiers(["U", None, 5, 0.1, None]))
    assert check[1][:2] == ["Price Tiers 2", "From Quantity"] and "starts at From Quantity 5" in check[1][4]


# --- the workbook: the Price Tiers tab feeds the reports -----------------------------------------------------------

def _settings():
    import datetime as dt
    from bbb_xl.settings import SETTINGS
    return [["Setting", "Value", "Meaning"]] + [
        [n, {"As-of date": dt.date(2026, 3, 31), "Currency": "USD"}.get(n, v), ""] for n, v, _ in SETTINGS]


def test_reports_read_the_price_tiers_tab():
    from bbb_xl.excel.workflow import compute_reports
    contract = rows(line(unit_price=None, amount=1200, included=10000, minimum="stand-ready", timing="advance"))
    ev = events(use("2026-01-15", 22000))
    good = tiers(["U", None, 0, 0.10, "graduated"], ["U", None, 10001, 0.08, "graduated"])
    reports = compute_reports(contract, _settings(), ev, tiers_rows=good)
    assert not [p for p in reports.problems if p.is_error], reports.problems
    revenue = reports.sheets["Revenue"]
    # the line's row, in cents: Amount = the 1,200.00 minimum + the 1,160.00 graduated overage; January the 100.00
    # minimum + 1,160.00; then 100.00 a month; After 2026-12: nothing left (Before + periods + After = Amount)
    row = [[int(v) for v in b.values[0]] for b in revenue.blocks if isinstance(b.values, np.ndarray)][0]
    assert row == [236000, 0, 126000] + [10000] * 11 + [0, 236000]
    bad = compute_reports(contract, _settings(), ev, tiers_rows=tiers(["U", None, 0, 0.10, None],
                                                                       ["U", None, 0, 0.08, None]))
    [p] = [p for p in bad.problems if p.is_error]
    assert (p.sheet, p.cell) == ("Price Tiers", "C3") and "ascending" in p.message


def test_explain_a_usage_line():
    from bbb_xl.udfs import BBB_EXPLAIN
    contract = rows(line(amount=1200, included=10000, minimum="stand-ready", timing="advance"))
    out = dict((r[0], r[1]) for r in BBB_EXPLAIN(contract, "U", "2026-01", None, None, events(use("2026-01-15", 22000))))
    # 100.00 of the minimum + (22,000 - 10,000) x 0.10 = 1,200.00 of overage
    assert (out["Recognition"], out["Unit Price"], out["Minimum Type"], out["Days with usage"]) == \
        ("usage", 0.1, "stand-ready", 1)
    assert out["Result"] == 1300.0


def test_a_workbook_file_is_read_with_its_price_tiers_tab(tmp_path):
    import openpyxl
    from bbb_xl.api import load_file
    path = tmp_path / "usage.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Contracts"
    for r in rows(line(unit_price=None)):
        ws.append(r)
    for name, body in (("Events", events(use("2026-01-15", 12000))),
                       ("Price Tiers", tiers(["U", None, 0, 0.10, "volume"], ["U", None, 10001, 0.08, "volume"]))):
        sheet = wb.create_sheet(name)
        for r in body:
            sheet.append(r)
    wb.save(path)
    book = ok(load_file(path))
    assert book.flow("revenue", "2026-01") == D("960.00")  # 12,000 x 0.08 (volume)
