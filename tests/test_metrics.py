"""SaaS metrics (issue 15, docs/metrics.md): worked examples with literal dates and figures computed by hand,
the ARR bridge identity for random books with events (hypothesis), and `bbb-xl schedule --metric arr`. The formulas
through the xlwings replay harness are in test_udfs_replay.py."""
from decimal import Decimal as D
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import assume, given, settings, strategies as st

from bbb_xl.core.dates import parse_date, to_date
from bbb_xl.core.errors import BBBError
from bbb_xl.core.money import cents_to_decimal
from bbb_xl.engine.book import load_book
from bbb_xl.engine.metrics import customer_timelines, months_between, year_earlier

HEADER = ["Contract ID", "Customer", "Line ID", "Booking Date", "Start Date", "End Date", "Amount",
          "Recognition", "Billing"]
EVENTS = ["Contract ID", "Line ID", "Date", "Event", "Amount", "Percent", "End Date", "Treatment"]


def contracts(*body, header=HEADER):
    return [list(header)] + [list(r) for r in body]


def events(*body):
    return [list(EVENTS)] + [list(r) for r in body]


def ev(cid, line, day, kind, amount=None, end=None, treatment=None):
    return [cid, line, day, kind, amount, None, end, treatment]


def day(text):
    return parse_date(text)


# --- the two examples -------------------------------------------------------------------------------
def test_term_in_months_weighs_each_day_by_its_month():
    assert months_between(day("2025-01-01"), day("2025-12-31")) == 12
    # 12 days of January (31), all of February, 2 days of March (31)
    assert months_between(day("2026-01-20"), day("2026-03-02")) == Fraction(12, 31) + 1 + Fraction(2, 31)


def test_a_year_at_12000_is_mrr_1000_arr_12000():
    book = load_book(contracts(["C1", "Acme", "a", "2025-01-01", "2025-01-01", "2025-12-31", 12000, "monthly",
                                "monthly"]))
    assert book.mrr("2025-06-30") == D("1000.00") and book.arr("2025-06-30") == D("12000.00")
    assert book.customers("2025-06-30") == 1
    # inactive the day after its End Date and before its Start Date
    assert book.arr("2026-01-01") == 0 and book.arr("2024-12-31") == 0


def test_300_over_20_jan_to_2_mar_is_mrr_206_67():
    # M = 12/31 + 1 + 2/31 = 45/31; MRR = 300 x 31 / 45 = 206.666... -> 206.67; ARR = 12 x 300 x 31/45 = 2480 exactly
    book = load_book(contracts(["C1", "Beta", "a", "2026-01-20", "2026-01-20", "2026-03-02", 300, "monthly",
                                "upfront"]))
    assert book.mrr("2026-02-15") == D("206.67") and book.arr("2026-02-15") == D("2480.00")


def test_customer_mrr_is_the_rounded_exact_sum_and_grouped_tables_show_rounding():
    # two such lines of one customer: exact 413.333... -> 413.33 (not 206.67 + 206.67 = 413.34)
    header = HEADER + ["Region"]
    rows = contracts(["C1", "Beta", "a", "2026-01-20", "2026-01-20", "2026-03-02", 300, "monthly", "upfront", "EMEA"],
                     ["C1", "Beta", "b", "2026-01-20", "2026-01-20", "2026-03-02", 300, "monthly", "upfront", "AMER"],
                     header=header)
    book = load_book(rows)
    assert book.mrr("2026-02-28") == D("413.33")
    table = book.schedule_for("mrr", "2026-02", "2026-02", "month", "Region").to_rows()
    # per (customer, group): 206.67 each; Total ungrouped 413.33; Rounding row -0.01
    assert table == [["Region", "2026-02"], ["AMER", D("206.67")], ["EMEA", D("206.67")],
                     ["Rounding", D("-0.01")], ["Total", D("413.33")]]
    counts = book.schedule_for("customers", "2026-02", "2026-03", "month", "Region").to_rows()
    # one customer in each region in Feb, but one distinct customer in Total; none on 2026-03-31
    assert counts == [["Region", "2026-02", "2026-03"], ["AMER", 1, 0], ["EMEA", 1, 0], ["Total", 1, 0]]


# --- a book with every movement -------------------------------------------------------------------------------
BOOK = contracts(
    # new customer in March 2025
    ["N1", "New Co", "a", "2025-03-01", "2025-03-01", "2026-02-28", 12000, "monthly", "monthly"],
    # upsell mid-month: prospective modify dated 2025-07-16 to 18,000
    ["U1", "Up Co", "a", "2025-01-01", "2025-01-01", "2025-12-31", 12000, "monthly", "monthly"],
    # downgrade: modify dated 2025-04-01 from 24,000 to 15,000
    ["D1", "Down Co", "a", "2025-01-01", "2025-01-01", "2025-12-31", 24000, "monthly", "monthly"],
    # churn at the end of June and a return in September
    ["R1", "Back Co", "a", "2025-01-01", "2025-01-01", "2025-06-30", 6000, "monthly", "monthly"],
    ["R2", "Back Co", "a", "2025-09-01", "2025-09-01", "2026-08-31", 12000, "monthly", "monthly"],
    # cancelled by an event dated 2025-10-01: service ends 2025-09-30
    ["X1", "Gone Co", "a", "2025-01-01", "2025-01-01", "2025-12-31", 12000, "monthly", "monthly"],
    # daily line: 3,650 over 2025 -> M = 12, MRR 304.1666... -> 304.17, ARR 3,650.00
    ["Y1", "Daily Co", "a", "2025-01-01", "2025-01-01", "2025-12-31", 3650, "daily", "upfront"],
    # point in time: never recurring
    ["P1", "Day Co", "a", "2025-01-01", "2025-01-01", None, 5000, "point in time", "upfront"],
)
BOOK_EVENTS = events(ev("U1", "a", "2025-07-16", "modify", 18000, None, "prospective"),
                     ev("D1", "a", "2025-04-01", "modify", 15000, None, "prospective"),
                     ev("X1", "a", "2025-10-01", "cancel"))


@pytest.fixture(scope="module")
def book():
    b = load_book(BOOK, events=BOOK_EVENTS)
    assert b.ok, b.problems
    return b


def test_upsell_mid_month_prospective_modify(book):
    # before the modify (and as known then): 12,000 / 12 = 1,000.00 MRR
    assert book.mrr("2025-07-15", "Customer=Up Co") == D("1000.00")
    # recognized through 2025-07-15: 6,000 + 1,000 x 15/31 = 6,483.870.. -> 6,483.87 (rounded)
    # P = 18,000 - 6,483.87 = 11,516.13; M = 16/31 + 5 = 171/31
    # MRR = 11,516.13 x 31 / 171 = 2,087.719.. -> 2,087.72; ARR = 12 x that = 25,052.632.. -> 25,052.63
    assert book.mrr("2025-07-16", "Customer=Up Co") == D("2087.72")
    assert book.arr("2025-07-31", "Customer=Up Co") == D("25052.63")


def test_downgrade(book):
    # recognized through 2025-03-31: 24,000 x 3/12 = 6,000; P = 15,000 - 6,000 = 9,000 over 9 months: 1,000 MRR
    assert book.arr("2025-03-31", "Customer=Down Co") == D("24000.00")
    assert book.arr("2025-04-01", "Customer=Down Co") == D("12000.00")


def test_cancellation_ends_the_day_before_and_is_unknown_before_its_date(book):
    assert book.arr("2025-09-30", "Customer=Gone Co") == D("12000.00")
    assert book.arr("2025-10-01", "Customer=Gone Co") == 0


def test_daily_line_and_point_in_time(book):
    assert book.mrr("2025-05-10", "Customer=Daily Co") == D("304.17")
    assert book.arr("2025-05-10", "Customer=Daily Co") == D("3650.00")
    assert book.arr("2025-05-10", "Customer=Day Co") == 0


def test_arr_bridge_by_month(book):
    rows = book.arr_bridge("2025-03", "2025-10")
    assert rows[0] == ["ARR", "2025-03", "2025-04", "2025-05", "2025-06", "2025-07", "2025-08", "2025-09", "2025-10"]
    table = {r[0]: r[1:] for r in rows[1:]}
    # opening 2025-02-28: Up 12,000 + Down 24,000 + Back 12,000 + Gone 12,000 + Daily 3,650 = 63,650
    assert table["Opening ARR"][0] == D("63650.00")
    assert table["New"] == [D("12000.00")] + [0] * 7  # New Co in March
    assert table["Contraction"][1] == D("-12000.00")  # Down Co 24,000 -> 12,000 in April
    assert table["Expansion"][4] == D("13052.63")  # Up Co 12,000 -> 25,052.63 in July
    assert table["Churn"][4] == D("-12000.00")  # Back Co ends 2025-06-30: 0 at 2025-07-31
    assert table["Reactivation"][6] == D("12000.00")  # Back Co returns in September
    assert table["Churn"][7] == D("-12000.00")  # Gone Co cancelled 2025-10-01
    for k in range(8):
        opening = table["Opening ARR"][k]
        moves = sum(table[n][k] for n in ("New", "Reactivation", "Expansion", "Contraction", "Churn"))
        assert opening + moves == table["Closing ARR"][k]
        if k:
            assert table["Opening ARR"][k] == table["Closing ARR"][k - 1]
    # closing October: New 12,000 + Up 25,052.63 + Down 12,000 + Back 12,000 + Daily 3,650 = 64,702.63
    assert table["Closing ARR"][7] == D("64702.63") == book.arr("2025-10-31")
    churn = dict(book.logo_churn("2025-07", "2025-07"))
    # 6 customers with ARR at 2025-06-30, Back Co lost: 1/6
    assert churn["2025-07"] == Fraction(1, 6)


def test_renewal_grace_days(book):
    # Back Co: 0 from 2025-07-01, back on 2025-09-01: it returns 62 days after dropping to 0
    table = {r[0]: r[1:] for r in book.arr_bridge("2025-07", "2025-09", grace_days=62, filter="Customer=Back Co")[1:]}
    assert table["Closing ARR"] == [D("12000.00")] * 3  # treated as never dropped
    assert table["Churn"] == [0, 0, 0] and table["Reactivation"] == [0, 0, 0]
    table = {r[0]: r[1:] for r in book.arr_bridge("2025-07", "2025-09", grace_days=61, filter="Customer=Back Co")[1:]}
    assert table["Churn"] == [D("-12000.00"), 0, 0] and table["Reactivation"] == [0, 0, D("12000.00")]


def test_fx_line_converts_at_its_rate():
    rows = contracts(["E1", "Euro AG", "a", "2026-01-01", "2026-01-01", "2026-12-31", 1200, "monthly", "monthly",
                      "EUR"], header=HEADER + ["Currency"])
    book = load_book(rows, fx=[["Currency", "Month", "Rate"], ["EUR", "2026-01", 1.1]], reporting_currency="USD")
    # EUR 100 a month x 1.1 = USD 110.00; ARR 1,320.00
    assert book.mrr("2026-03-31") == D("110.00") and book.arr("2026-03-31") == D("1320.00")


def test_recurring_column_no_leaves_a_ratable_service_out():
    rows = contracts(["S1", "Svc", "a", "2025-01-01", "2025-01-01", "2025-12-31", 12000, "monthly", "monthly", "no"],
                     ["S1", "Svc", "b", "2025-01-01", "2025-01-01", "2025-12-31", 1200, "monthly", "monthly", "yes"],
                     header=HEADER + ["Recurring"])
    assert load_book(rows).arr("2025-06-30") == D("1200.00")


def test_inception_modify_is_the_whole_term():
    # modify dated on the Booking Date to 24,000: terms at inception, MRR 2,000 from the Start Date
    book = load_book(contracts(["I1", "Inc", "a", "2025-01-01", "2025-01-01", "2025-12-31", 12000, "monthly",
                                "monthly"]), events=events(ev("I1", "a", "2025-01-01", "modify", 24000)))
    assert book.mrr("2025-02-01") == D("2000.00")


# --- retention, coverage -----------------------------------------------------------------------------------
@pytest.mark.parametrize("t, earlier", [("2025-02-28", "2024-02-29"), ("2024-02-29", "2023-02-28"),
                                        ("2025-03-15", "2024-03-15"), ("2025-04-30", "2024-04-30"),
                                        ("2024-03-31", "2023-03-31")])
def test_twelve_months_earlier(t, earlier):
    assert year_earlier(day(t)) == day(earlier)


RETENTION = contracts(
    ["G1", "Grow", "a", "2024-01-01", "2024-01-01", "2024-12-31", 12000, "monthly", "monthly"],
    ["G2", "Grow", "a", "2025-01-01", "2025-01-01", "2025-12-31", 18000, "monthly", "monthly"],
    ["H1", "Lost", "a", "2024-01-01", "2024-01-01", "2024-12-31", 12000, "monthly", "monthly"],
    ["K1", "Later", "a", "2025-01-01", "2025-01-01", "2025-12-31", 6000, "monthly", "monthly"])


def test_nrr_and_grr():
    book = load_book(RETENTION)
    # base at 2024-06-30: Grow 12,000 + Lost 12,000 = 24,000 (Later had none: not in the base)
    # NRR = (18,000 + 0) / 24,000 = 0.75; GRR = (min(18,000, 12,000) + 0) / 24,000 = 0.5
    assert book.nrr("2025-06-30") == Fraction(3, 4) and book.grr("2025-06-30") == Fraction(1, 2)
    with pytest.raises(BBBError, match="12 months before"):
        book.nrr("2024-06-30")


def test_backlog_coverage():
    book = load_book(contracts(["L1", "Long", "a", "2025-01-01", "2025-01-01", "2027-12-31", 36000, "monthly",
                                "monthly"]))
    # at 2025-09-30: RPO within 12 months 12,000; revenue of 2024-10-01..2025-09-30 = 9,000 -> 4/3
    assert book.coverage("2025-09-30") == Fraction(4, 3)
    with pytest.raises(BBBError, match="no revenue"):
        book.coverage("2024-12-31")


# --- the bridge identity for random books with events ----------------------------------------------------------
from tests.test_properties_changes import build, change_strategy, line_strategy  # noqa: E402


@settings(max_examples=40, deadline=None)
@given(st.lists(line_strategy, min_size=1, max_size=4), st.lists(change_strategy, max_size=4),
       st.lists(st.sampled_from(["Acme", "Beta", "Gamma"]), min_size=4, max_size=4),
       st.sampled_from(["month", "quarter"]), st.sampled_from([0, 45]))
def test_bridge_identity_per_customer_and_in_total(specs, changes, customers, period, grace):
    rows, ev_rows = build(specs, changes, with_ssp=False)
    for k, row in enumerate(rows[1:]):
        row[1] = customers[k]
    book = load_book(rows, events=ev_rows)
    assume(book.ok)
    columns = book.arr_bridge_columns("2024-01", "2026-06", period, grace_days=grace)
    timelines = customer_timelines(book, np.arange(len(book.lines)), columns[-1].period.last + 1)
    previous = None
    for col in columns:
        for c, (a, new, react, exp, con, churn, b) in col.per_customer.items():
            assert a + new + react + exp + con + churn == b
            assert a >= 0 and b >= 0 and new >= 0 and react >= 0 and exp >= 0 and con <= 0 and churn <= 0
            assert not (new and react)
        opening, *moves, closing = col.totals
        assert opening + sum(moves) == closing
        if not grace:
            assert cents_to_decimal(closing) == book.arr(to_date(col.period.last))
            # the per-customer timelines (used for "ARR > 0 on an earlier day") agree with the ARR at the day
            t = col.period.last
            for c, (days, values) in timelines.items():
                k = int(np.searchsorted(days, t, side="right")) - 1
                assert (values[k] if k >= 0 else 0) == col.per_customer.get(c, (0,) * 7)[6]
        if previous is not None:
            assert opening == previous
        previous = closing


# --- the CLI: `bbb-xl schedule --metric arr | mrr | customers` ---------------------------------------------------
def test_cli_schedule_arr_mrr_customers(tmp_path):
    import csv

    from click.testing import CliRunner

    from bbb_xl.cli import cli
    path = tmp_path / "contracts.csv"
    with open(path, "w", newline="") as fh:
        csv.writer(fh).writerows(contracts(
            ["C1", "Acme", "a", "2025-01-01", "2025-01-01", "2025-12-31", "12000", "monthly", "monthly"],
            ["C2", "Beta", "a", "2025-02-01", "2025-02-01", "2026-01-31", "6000", "monthly", "monthly"]))
    runner = CliRunner()
    out = runner.invoke(cli, ["schedule", str(path), "--metric", "arr", "--from", "2025-01", "--to", "2025-02",
                              "--format", "csv"])
    assert out.exit_code == 0, out.output
    # Jan: Acme 12,000; Feb: + Beta 6,000
    assert out.output.splitlines() == ["Total,2025-01,2025-02", "Total,12000.00,18000.00"]
    out = runner.invoke(cli, ["schedule", str(path), "--metric", "mrr", "--from", "2025-02", "--to", "2025-02",
                              "--format", "csv"])
    assert out.output.splitlines() == ["Total,2025-02", "Total,1500.00"]
    out = runner.invoke(cli, ["schedule", str(path), "--metric", "customers", "--from", "2025-12", "--to", "2026-01",
                              "--by", "Customer", "--format", "csv"])
    assert out.exit_code == 0, out.output
    assert out.output.splitlines() == ["Customer,2025-12,2026-01", "Acme,1,0", "Beta,1,1", "Total,2,1"]


def test_negative_customer_counts_as_zero_with_a_warning():
    from bbb_xl.engine.metrics import negative_warnings
    # Credit Co: 12,000 and a credit line of -18,000 over 2025: exact MRR -500 -> ARR counted as 0
    book = load_book(contracts(
        ["Q1", "Credit Co", "a", "2025-01-01", "2025-01-01", "2025-12-31", 12000, "monthly", "monthly"],
        ["Q1", "Credit Co", "b", "2025-01-01", "2025-01-01", "2025-12-31", -18000, "monthly", "monthly"],
        ["Q2", "Fine Co", "a", "2025-01-01", "2025-01-01", "2025-12-31", 1200, "monthly", "monthly"]))
    assert book.arr("2025-06-30") == D("1200.00") and book.mrr("2025-06-30") == D("100.00")
    assert book.customers("2025-06-30") == 1
    assert negative_warnings(book, day("2025-06-30"), np.arange(3)) == [
        "customer 'Credit Co' has negative MRR on 2025-06-30 (net credits): counted as 0 in ARR"]


def test_catch_up_modify_has_the_same_mrr_as_prospective():
    # either treatment: P = new price - recognized through d - 1 (the old curve), as in test_upsell_mid_month
    book = load_book(contracts(["U1", "Up Co", "a", "2025-01-01", "2025-01-01", "2025-12-31", 12000, "monthly",
                                "monthly"]), events=events(ev("U1", "a", "2025-07-16", "modify", 18000, None,
                                                              "catch-up")))
    assert book.mrr("2025-07-16") == D("2087.72") and book.arr("2025-07-31") == D("25052.63")


def test_modify_with_a_new_end_date_uses_it_from_the_event():
    # 12,000 over 2025 extended on 2025-07-01 to 18,000 through 2026-06-30: recognized through 2025-06-30 = 6,000,
    # P = 12,000 over 2025-07-01..2026-06-30 (12 months): MRR 1,000.00
    book = load_book(contracts(["E1", "Ext Co", "a", "2025-01-01", "2025-01-01", "2025-12-31", 12000, "monthly",
                                "monthly"]), events=events(ev("E1", "a", "2025-07-01", "modify", 18000,
                                                              "2026-06-30", "prospective")))
    assert book.arr("2025-06-30") == D("12000.00")  # the extension is not known yet
    assert book.mrr("2025-08-15") == D("1000.00")
    assert book.arr("2026-03-31") == D("12000.00") and book.arr("2026-07-01") == 0
    # no churn at the old End Date
    table = {r[0]: r[1:] for r in book.arr_bridge("2026-01", "2026-01")[1:]}
    assert table["Churn"] == [0] and table["Closing ARR"] == [D("12000.00")]
