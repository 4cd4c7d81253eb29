"""The Metrics tab, the Summary's KPI tiles, the ARR basis and Renewal grace days Settings rows and the negative
ARR warning of BBB_CHECK / `bbb-xl check` (issue 15, Reports). Figures computed by hand (docs/metrics.md); the
engine's own worked examples are in test_metrics.py."""
from decimal import Decimal as D
from fractions import Fraction

import numpy as np
import pytest

from bbb_xl.api import check_rows, book_from_range, file_check
from bbb_xl.engine.book import load_book
from bbb_xl.excel.workflow import compute_reports
from bbb_xl.reports import OPTIONAL_REPORT_SHEETS, REPORT_SHEETS
from bbb_xl.reports.metrics import CHART_LABEL_ROW, CHART_SERIES, SECTIONS_ROW

HEADER = ["Contract ID", "Customer", "Line ID", "Booking Date", "Start Date", "End Date", "Amount",
          "Recognition", "Billing"]
EVENTS = ["Contract ID", "Line ID", "Date", "Event", "Amount", "Percent", "End Date", "Treatment"]
# test_metrics.py's book with every movement, plus a customer signing in the second quarter (a second cohort)
BOOK = [HEADER,
        ["N1", "New Co", "a", "2025-03-01", "2025-03-01", "2026-02-28", 12000, "monthly", "monthly"],  # new in March
        ["U1", "Up Co", "a", "2025-01-01", "2025-01-01", "2025-12-31", 12000, "monthly", "monthly"],  # upsell 07-16
        ["D1", "Down Co", "a", "2025-01-01", "2025-01-01", "2025-12-31", 24000, "monthly", "monthly"],  # downgrade
        ["R1", "Back Co", "a", "2025-01-01", "2025-01-01", "2025-06-30", 6000, "monthly", "monthly"],  # churn...
        ["R2", "Back Co", "a", "2025-09-01", "2025-09-01", "2026-08-31", 12000, "monthly", "monthly"],  # ...return
        ["X1", "Gone Co", "a", "2025-01-01", "2025-01-01", "2025-12-31", 12000, "monthly", "monthly"],  # cancelled
        ["Y1", "Daily Co", "a", "2025-01-01", "2025-01-01", "2025-12-31", 3650, "daily", "upfront"],
        ["L1", "Late Co", "a", "2025-05-01", "2025-05-01", "2026-04-30", 12000, "monthly", "monthly"],  # new in May
        ["P1", "Day Co", "a", "2025-01-01", "2025-01-01", None, 5000, "point in time", "upfront"]]  # not recurring
BOOK_EVENTS = [EVENTS,
               ["U1", "a", "2025-07-16", "modify", 18000, None, None, "prospective"],
               ["D1", "a", "2025-04-01", "modify", 15000, None, None, "prospective"],
               ["X1", "a", "2025-10-01", "cancel", None, None, None, None]]
LABELS = ["2025-03", "2025-04", "2025-05", "2025-06", "2025-07", "2025-08", "2025-09", "2025-10"]
BRIDGE = ["Opening ARR (at the previous period end)", "New", "Reactivation", "Expansion", "Contraction", "Churn",
          "Closing ARR (at the period end)"]


def settings(**extra):
    rows = [["Setting", "Value"], ["Company name", "Test Co"], ["As-of date", "2025-10-31"],
            ["Report start", "2025-03"], ["Report end", "2025-10"], ["Period", "month"]]
    return rows + [[k, v] for k, v in extra.items()]


def cents(amount: str) -> int:
    return int(D(amount) * 100)


def section(tab, title_col_a: str, width: int) -> dict:
    """{label in column A: values of the next `width` columns} of the block whose header starts with title."""
    rows = tab.rows()
    top = next(i for i, r in enumerate(rows) if r and r[0] == title_col_a)
    out = {}
    for r in rows[top + 1:]:
        if not r or r[0] in (None, ""):
            break
        out[r[0]] = (r[1:1 + width] + [None] * width)[:width]
    return out


@pytest.fixture(scope="module")
def reports():
    return compute_reports(BOOK, settings(), BOOK_EVENTS)


@pytest.fixture(scope="module")
def tab(reports):
    return reports.sheets["Metrics"]


def test_bridge_rows_by_period_tie_on_the_tab(tab):
    assert tab.rows()[4][:9] == ["ARR bridge"] + LABELS
    bridge = section(tab, "ARR bridge", 8)
    assert list(bridge)[:7] == BRIDGE
    # opening 2025-02-28: Up 12,000 + Down 24,000 + Back 12,000 + Gone 12,000 + Daily 3,650 = 63,650.00
    assert bridge[BRIDGE[0]][0] == cents("63650.00")
    assert bridge["New"] == [cents("12000.00"), 0, cents("12000.00"), 0, 0, 0, 0, 0]  # New Co March, Late Co May
    assert bridge["Contraction"] == [0, cents("-12000.00"), 0, 0, 0, 0, 0, 0]  # Down Co 24,000 -> 12,000 in April
    # Up Co 12,000 -> 25,052.63 in July (18,000 - 6,483.87 recognized, over 171/31 months: test_metrics.py)
    assert bridge["Expansion"] == [0, 0, 0, 0, cents("13052.63"), 0, 0, 0]
    # Back Co's last day 2025-06-30 (churn in July), back 2025-09-01; Gone Co cancelled from 2025-10-01
    assert bridge["Churn"] == [0, 0, 0, 0, cents("-12000.00"), 0, 0, cents("-12000.00")]
    assert bridge["Reactivation"] == [0, 0, 0, 0, 0, 0, cents("12000.00"), 0]
    # closing October: New 12,000 + Up 25,052.63 + Down 12,000 + Back 12,000 + Daily 3,650 + Late 12,000
    assert bridge[BRIDGE[6]][7] == cents("76702.63")
    for k in range(8):
        assert bridge[BRIDGE[0]][k] + sum(bridge[n][k] for n in BRIDGE[1:6]) == bridge[BRIDGE[6]][k]
        if k:
            assert bridge[BRIDGE[0]][k] == bridge[BRIDGE[6]][k - 1]
    assert bridge["Difference (0.00: Opening + movements = Closing)"] == [0] * 8


def test_bridge_chart_data_floats_each_period_on_an_invisible_base(tab, reports):
    chart = tab.chart
    assert chart.label_row == CHART_LABEL_ROW and chart.first_col == 2 and chart.periods == 10
    assert tab.rows()[CHART_LABEL_ROW - 1][1:11] == ["Opening 2025-03"] + LABELS + ["Closing 2025-10"]
    series = {name: tab.rows()[row - 1][1:11] for name, row in chart.series_rows.items()}
    assert tuple(series) == CHART_SERIES
    closing = section(tab, "ARR bridge", 8)[BRIDGE[6]]
    levels = [cents("63650.00")] + closing
    assert series["ARR"] == [levels[0]] + [0] * 8 + [levels[-1]]
    for k in range(1, 9):  # each bar from the previous closing to this one
        a, b = levels[k - 1], levels[k]
        assert series["Base"][k] == min(a, b)
        assert series["Increase"][k] - series["Decrease"][k] == b - a
        assert series["Base"][k] + series["Increase"][k] + series["Decrease"][k] == max(a, b)
    # April: 75,650 -> 63,650: a 12,000 red bar floating from 63,650
    assert (series["Base"][2], series["Decrease"][2], series["Increase"][2]) == (cents("63650"), cents("12000"), 0)
    # the value axis starts below the lowest ARR level (63,650.00), at a round figure
    assert 0 < chart.axis_floor < cents("63650.00") and chart.axis_floor % 100_000 == 0


def test_arr_customers_retention_and_coverage_by_period(tab):
    ends = section(tab, "At period end", 8)
    assert ends["ARR at period end"] == section(tab, "ARR bridge", 8)[BRIDGE[6]]
    assert ends["Customers with ARR > 0 at period end"] == [6, 6, 7, 7, 6, 6, 7, 6]
    # MRR at 2025-10-31: New 1,000 + Up 2,087.72 + Down 1,000 + Back 1,000 + Daily 304.17 + Late 1,000
    assert ends["MRR at period end"][7] == cents("6391.89")
    retention = section(tab, "Retention", 8)
    labels = list(retention)
    # no ARR 12 months before any of these period ends: n/a
    assert retention[labels[0]] == ["n/a"] * 8 and retention[labels[1]] == ["n/a"] * 8
    # July: 7 customers at 2025-06-30, Back Co lost; October: 7 at 2025-09-30, Gone Co lost
    assert retention[labels[2]] == pytest.approx([0.0, 0.0, 0.0, 0.0, 1 / 7, 0.0, 0.0, 1 / 7])
    assert retention["Customers lost in the period"] == [0, 0, 0, 0, 1, 0, 0, 1]


def test_logo_churn_of_the_first_period_counts_the_customers_before_it(tab):
    # 5 customers at 2025-02-28, none lost in March
    assert section(tab, "Retention", 8)["Logo churn: lost \u00f7 customers at the previous period end (%)"][0] == 0.0


def test_top_customers_with_their_share(tab):
    rows = tab.rows()
    top = next(i for i, r in enumerate(rows) if r and r[0] == "Customer" and r[1] == "ARR at 2025-10-31")
    body = [r[:4] for r in rows[top + 1:top + 8]]
    total = cents("76702.63")
    assert [r[0] for r in body] == ["Up Co", "Back Co", "Down Co", "Late Co", "New Co", "Daily Co", "Total"]
    assert [r[1] for r in body] == [cents("25052.63")] + [cents("12000.00")] * 4 + [cents("3650.00"), total]
    assert body[0][2] == pytest.approx(2505263 / 7670263)  # 32.7%
    assert body[5][3] == pytest.approx(1.0) and body[6][2] == 1.0


def test_arr_by_signup_cohort(tab):
    rows = tab.rows()
    top = next(i for i, r in enumerate(rows) if r and r[0] == "Cohort")
    assert rows[top][:6] == ["Cohort", "Customers", "ARR +0 months", "ARR +3 months", "ARR +6 months",
                             "ARR +9 months"]
    # 2025-Q1: New, Up, Down, Back, Gone, Daily. At 03-31: 12,000 + 12,000 + 24,000 + 12,000 + 12,000 + 3,650;
    # 06-30: Down at 12,000; 09-30: Up at 25,052.63, Back back; last column at the report end 2025-10-31: Gone out
    assert rows[top + 1][:6] == ["2025-Q1", 6, cents("75650.00"), cents("63650.00"), cents("76702.63"),
                                 cents("64702.63")]
    # 2025-Q2: Late Co alone, 12,000 at 06-30, 09-30 and 10-31
    assert rows[top + 2][:6] == ["2025-Q2", 1, cents("12000.00"), cents("12000.00"), cents("12000.00"), None]


def test_renewal_grace_days_setting_holds_arr_across_a_short_gap():
    # Back Co: 0 from 2025-07-01 (its line ends 06-30) and back on 2025-09-01: 62 days after dropping to 0.
    # 62 grace days: treated as never dropped, its 12,000 held through July and August: no churn, no reactivation
    held = section(compute_reports(BOOK, settings(**{"Renewal grace days": 62}), BOOK_EVENTS).sheets["Metrics"],
                   "ARR bridge", 8)
    assert held["Churn"] == [0, 0, 0, 0, 0, 0, 0, cents("-12000.00")]  # Gone Co only
    assert held["Reactivation"] == [0] * 8
    assert held[BRIDGE[6]][4] == cents("88702.63")  # July: 76,702.63 + Back Co's 12,000
    # 61 days: the gap is longer than the grace
    short = section(compute_reports(BOOK, settings(**{"Renewal grace days": 61}), BOOK_EVENTS).sheets["Metrics"],
                    "ARR bridge", 8)
    assert short["Churn"][4] == cents("-12000.00") and short["Reactivation"][6] == cents("12000.00")


def test_renewal_grace_days_must_be_a_whole_number_of_days():
    bad = compute_reports(BOOK, settings(**{"Renewal grace days": "two weeks"}), BOOK_EVENTS)
    assert any(p.location == "Settings!B7" and "Renewal grace days: 'two weeks' is not a whole number from 0"
               in p.message for p in bad.problems)


BUNDLE = [HEADER + ["SSP"],
          # 12,000 for a subscription (SSP 9,000) with its set-up (point in time, SSP 3,000, price 0): the
          # subscription is allocated 12,000 x 9,000 / 12,000 = 9,000 (ASC 606-10-32-31)
          ["B1", "Bundle Co", "sub", "2025-01-01", "2025-01-01", "2025-12-31", 12000, "monthly", "monthly", 9000],
          ["B1", "Bundle Co", "setup", "2025-01-01", "2025-01-01", None, 0, "point in time", "upfront", 3000]]


def test_arr_basis_allocated_or_contract_price():
    rows = [["Setting", "Value"], ["As-of date", "2025-06-30"], ["Report start", "2025-06"],
            ["Report end", "2025-06"]]
    allocated = compute_reports(BUNDLE, rows).sheets["Metrics"]
    assert section(allocated, "At period end", 1)["ARR at period end"] == [cents("9000.00")]
    price = compute_reports(BUNDLE, rows + [["ARR basis", "contract price"]]).sheets["Metrics"]
    assert section(price, "At period end", 1)["ARR at period end"] == [cents("12000.00")]
    assert "ARR basis: contract price" in price.rows()[1][0]
    # the formulas stay on allocated
    assert load_book(BUNDLE).arr("2025-06-30") == D("9000.00")
    refused = compute_reports(BUNDLE, rows + [["ARR basis", "list price"]])
    assert any("ARR basis: 'list price' is not one of: allocated, contract price" in p.message
               for p in refused.problems)


def test_contract_price_basis_after_a_prospective_modify():
    # the bundle's subscription modified 2025-07-01 to 18,000 (Amount): recognized through 06-30 on Allocated
    # 4,500, i.e. 6,000 at the Amount / Allocated ratio 12,000 / 9,000; P = 18,000 - 6,000 = 12,000 over 6 months
    # -> MRR 2,000, ARR 24,000. Allocated basis: P = 9,000 + 6,000 - 4,500 = 10,500 -> ARR 21,000
    events = [EVENTS, ["B1", "sub", "2025-07-01", "modify", 18000, None, None, "prospective"]]
    rows = [["Setting", "Value"], ["As-of date", "2025-07-31"], ["Report start", "2025-07"],
            ["Report end", "2025-07"]]
    price = compute_reports(BUNDLE, rows + [["ARR basis", "contract price"]], events).sheets["Metrics"]
    assert section(price, "At period end", 1)["ARR at period end"] == [cents("24000.00")]
    allocated = compute_reports(BUNDLE, rows, events).sheets["Metrics"]
    assert section(allocated, "At period end", 1)["ARR at period end"] == [cents("21000.00")]
    assert load_book(BUNDLE, events=events).arr("2025-07-31") == D("21000.00")


RETENTION = [HEADER,
             ["G1", "Grow", "a", "2024-01-01", "2024-01-01", "2024-12-31", 12000, "monthly", "monthly"],
             ["G2", "Grow", "a", "2025-01-01", "2025-01-01", "2025-12-31", 18000, "monthly", "monthly"],
             ["H1", "Lost", "a", "2024-01-01", "2024-01-01", "2024-12-31", 12000, "monthly", "monthly"],
             ["K1", "Later", "a", "2025-01-01", "2025-01-01", "2025-12-31", 6000, "monthly", "monthly"],
             ["L1", "Long", "a", "2025-01-01", "2025-01-01", "2027-12-31", 36000, "monthly", "monthly"]]


def test_summary_tiles_at_the_as_of_date_the_prior_period_and_a_year_earlier():
    rows = [["Setting", "Value"], ["As-of date", "2025-06-30"], ["Report start", "2025-01"],
            ["Report end", "2025-06"]]
    reports = compute_reports(RETENTION, rows)
    summary = reports.sheets["Summary"]
    tiles = {r[5]: r[6:9] for r in summary.rows()[11:17] if len(r) > 8}
    assert tiles["SaaS metrics"] == ["At 2025-06-30", "Prior period end (2025-05)", "A year earlier (2024-06-30)"]
    # 2025-06-30: Grow 18,000 + Later 6,000 + Long 12,000 = 36,000; 2024-06-30: Grow 12,000 + Lost 12,000
    assert tiles["ARR"] == [cents("36000.00"), cents("36000.00"), cents("24000.00")]
    assert tiles["Customers (ARR > 0)"] == [3, 3, 2]
    # base at 2024-06-30: Grow 12,000 + Lost 12,000; NRR = 18,000 / 24,000, GRR = 12,000 / 24,000
    assert tiles["NRR, 12 months (%)"] == [0.75, 0.75, "n/a"]
    assert tiles["GRR, 12 months (%)"] == [0.5, 0.5, "n/a"]
    # coverage at 2025-06-30: RPO within 12 months (Grow 9,000 + Later 3,000 + Long 12,000 = 24,000) / revenue of
    # 2024-07-01..2025-06-30 (Grow 6,000 + 9,000, Lost 6,000, Later 3,000, Long 6,000 = 30,000) = 0.8
    assert tiles["Backlog coverage (\u00d7)"][0] == pytest.approx(0.8)
    # the same figures as the API
    book = load_book(RETENTION)
    for k, day in enumerate(["2025-06-30", "2025-05-31", "2024-06-30"]):
        assert D(tiles["ARR"][k]) / 100 == book.arr(day)
        assert tiles["Customers (ARR > 0)"][k] == book.customers(day)
        if k < 2:
            assert tiles["NRR, 12 months (%)"][k] == float(book.nrr(day))
            assert tiles["GRR, 12 months (%)"][k] == float(book.grr(day))
            assert tiles["Backlog coverage (\u00d7)"][k] == float(book.coverage(day))
    # the Summary rows other code reads are where they were
    assert summary.cell(4, 1) == "As of" and summary.cell(5, 1) == "Alerts" and summary.cell(12, 1) == "Balances"
    assert summary.cell(40, 1) == "Period"
    # retention on the Metrics tab: June 2025 by hand as above
    retention = section(reports.sheets["Metrics"], "Retention", 6)
    names = list(retention)
    assert retention[names[0]][5] == 0.75 and retention[names[1]][5] == 0.5
    coverage = section(reports.sheets["Metrics"], "Backlog coverage", 6)
    assert coverage["RPO within 12 months of the period end"][5] == cents("24000.00")
    assert coverage["Revenue recognized in the 12 months to the period end"][5] == cents("30000.00")


def test_the_tab_is_listed_and_optional():
    assert REPORT_SHEETS[-1] == "Metrics" and "Metrics" in OPTIONAL_REPORT_SHEETS


def test_check_warns_of_a_customer_with_negative_arr(tmp_path):
    rows = [HEADER,
            ["C1", "Acme", "a", "2025-01-01", "2025-01-01", "2025-12-31", 1200, "monthly", "monthly"],
            # a credit of 3,000 over March..December: -300 a month against +100: MRR -200 from 2025-03-01
            ["C2", "Acme", "a", "2025-03-01", "2025-03-01", "2025-12-31", -3000, "monthly", "monthly"],
            ["C3", "Beta", "a", "2025-01-01", "2025-01-01", "2025-12-31", 1200, "monthly", "monthly"]]
    table = check_rows(book_from_range(rows))
    warning = [r for r in table[1:] if "negative MRR" in r[4]]
    assert warning == [[3, "Amount", "-3000.00", "warning",
                        "customer 'Acme' has negative MRR (-200.00 a month) from 2025-03-01 (net credits): counted "
                        "as 0 in ARR, customers and the ARR bridge"]]
    assert load_book(rows).arr("2025-06-30", "Customer=Acme") == 0
    path = tmp_path / "credits.csv"
    path.write_text("\n".join(",".join("" if v is None else str(v) for v in r) for r in rows) + "\n")
    cli_rows = file_check(path)
    assert [r for r in cli_rows if "negative MRR" in str(r[3])][0][:3] == ["G3", "-3000.00", "warning"]
    # no credits: no warning
    assert not [r for r in check_rows(book_from_range(rows[:2] + rows[3:]))[1:] if "negative MRR" in str(r)]


def test_check_warns_when_a_modify_leaves_less_than_was_recognized():
    rows = [HEADER, ["C1", "Acme", "a", "2025-01-01", "2025-01-01", "2025-12-31", 12000, "monthly", "monthly"]]
    # modify on 2025-07-01 to 3,000: 6,000 recognized, P = -3,000 over 6 months: MRR -500
    events = [EVENTS, ["C1", "a", "2025-07-01", "modify", 3000, None, None, "prospective"]]
    table = check_rows(book_from_range(rows, events=events))
    assert [r[4] for r in table[1:] if "negative MRR" in r[4]] == [
        "customer 'Acme' has negative MRR (-500.00 a month) from 2025-07-01 (net credits): counted as 0 in ARR, "
        "customers and the ARR bridge"]


# --- the demo workbook ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from bbb_xl.excel import template
    path = tmp_path_factory.mktemp("demo") / "demo.xlsm"
    return path, template.build_demo(path)


def test_demo_refresh_writes_the_metrics_tab_and_its_bridge_chart(demo):
    import re

    from bbb_xl.excel import package as pk
    from bbb_xl.xlsx_reader import read_sheets
    path, result = demo
    pkg = pk.Package(path)
    part = pkg.sheet_parts()["Metrics"]
    charts = [pkg.text(c) for d in pkg.related(part, "drawing") for c in pkg.related(d, "chart")]
    assert len(charts) == 1
    xml = charts[0]
    assert '<c:grouping val="stacked"/>' in xml
    # 12 months + Opening + Closing: categories B16:O16, one series per chart data row
    assert re.findall(r"<c:val><c:numRef><c:f>([^<]+)</c:f>", xml) == [f"Metrics!$B${r}:$O${r}" for r in
                                                                       (17, 18, 19, 20)]
    base = re.findall(r"<c:ser>.*?</c:ser>", xml, re.S)[0]
    assert "<c:v>Base</c:v>" in base and "<a:noFill/><a:ln><a:noFill/></a:ln>" in base  # no fill, no line
    tab = result.reports.sheets["Metrics"]
    floor = tab.chart.axis_floor
    assert f'<c:min val="{floor // 100}.{floor % 100:02d}"/>' in xml
    # the tab as written: the bridge of the demo ties in every column
    cells = read_sheets(path, ["Metrics"])["Metrics"]
    assert cells[4][0] == "ARR bridge" and cells[4][1] == "2025-01" and cells[4][12] == "2025-12"
    for j in range(1, 13):
        opening, *moves, closing = [D(str(cells[r][j])) for r in range(5, 12)]
        assert opening + sum(moves) == closing
        assert cells[12][j] == 0


def test_demo_summary_tiles_equal_the_api(demo):
    from bbb_xl.sample import sample_contracts, sample_events
    _, result = demo
    summary = result.reports.sheets["Summary"]
    tiles = {r[5]: r[6:9] for r in summary.rows()[11:17] if len(r) > 8}
    rows = sample_contracts()
    book = load_book(rows, events=sample_events(rows))
    assert tiles["SaaS metrics"] == ["At 2025-12-31", "Prior period end (2025-11)", "A year earlier (2024-12-31)"]
    for k, day in enumerate(["2025-12-31", "2025-11-30", "2024-12-31"]):
        assert D(tiles["ARR"][k]) / 100 == book.arr(day)
        assert tiles["Customers (ARR > 0)"][k] == book.customers(day)
    for k, day in enumerate(["2025-12-31", "2025-11-30"]):
        assert tiles["NRR, 12 months (%)"][k] == float(book.nrr(day))
        assert tiles["GRR, 12 months (%)"][k] == float(book.grr(day))
        assert tiles["Backlog coverage (\u00d7)"][k] == float(book.coverage(day))
    # the demo's ARR at the as-of date, and its bridge's closing on the Metrics tab
    assert book.arr("2025-12-31") == D("5813843.32")
    assert section(result.reports.sheets["Metrics"], "ARR bridge", 12)[BRIDGE[6]][11] == 581384332


def test_negative_screen_finds_what_the_exact_path_finds_on_a_generated_book():
    """The float screen of first_negative_days against every customer with a credit line evaluated exactly."""
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from benchmarks.generate import generate_book
    from bbb_xl.engine import metrics
    book = load_book(generate_book(20000))
    lines, sel = book.lines, np.arange(len(book.lines))
    recurring = metrics.recurring_mask(book)
    credit = {str(lines.customer[i]) for i in sel if recurring[i] and lines.allocated[i] < 0}
    picked = np.array([i for i in sel if str(lines.customer[i]) in credit], dtype=np.int64)
    exact = {}
    for customer, (days, values) in metrics.customer_timelines(book, picked, 1 << 40, exact=True).items():
        for t, v in zip(days, values):
            if v < 0:
                exact[customer] = (t, v)
                break
    assert len(credit) > 100 and exact  # the book has credits, and a few customers below 0
    assert metrics.first_negative_days(book, sel) == exact


from hypothesis import assume, given, settings as hsettings, strategies as st  # noqa: E402

from tests.test_properties_changes import build, change_strategy, line_strategy  # noqa: E402


@hsettings(max_examples=40, deadline=None)
@given(st.lists(line_strategy, min_size=1, max_size=4), st.lists(change_strategy, max_size=3),
       st.lists(st.sampled_from(["Acme", "Beta"]), min_size=4, max_size=4),
       st.lists(st.booleans(), min_size=4, max_size=4))
def test_negative_mrr_days_equal_the_exact_evaluation_of_every_day(specs, changes, customers, credits):
    """Random books with credits, modifications and cancellations: the first day of negative MRR per customer is
    the first of its change days whose exact MRR is below 0 (every recurring line evaluated, no screen)."""
    from bbb_xl.engine import metrics
    rows, ev_rows = build(specs, changes, with_ssp=False)
    for k, row in enumerate(rows[1:]):
        row[1] = customers[k]
        if credits[k]:  # a credit line
            row[6] = -abs(row[6])
    book = load_book(rows, events=ev_rows)
    assume(book.ok)
    sel = np.arange(len(book.lines))
    expected = {}
    for customer, (days, values) in metrics.customer_timelines(book, sel, 1 << 40, exact=True).items():
        for t, v in zip(days, values):
            if v < 0:
                expected[customer] = (t, v)
                break
    assert metrics.first_negative_days(book, sel) == expected
