"""Actual vs plan (issue "Monitor and plan", section 3): the Plan range (located errors, duplicates), flows adding
up their months and balances taking the last one, variance and variance %, version choice, the Actual vs Plan tab
(ties to Summary, forecast marking) and BBB_VARIANCE. Figures worked by hand in the comments."""
import datetime as dt
from fractions import Fraction

import numpy as np
import pytest

import libreoffice as lo

from bbb_xl import load_book
from bbb_xl.core.errors import BBBError, WARNING
from bbb_xl.core.periods import parse_when, period_grid
from bbb_xl.engine.plan import FORECAST, actual_vs_plan, parse_plan, plan_from_range

D = dt.datetime
PH = ["Version", "Month", "Metric", "Dimension", "Value", "Amount"]
H = ["Contract ID", "Customer", "Start Date", "End Date", "Amount", "Region"]
# C1: 12,000.00 over calendar 2025, monthly: 1,000.00 a month (booked 2025-01-01, billed upfront that day).
# C2: 3,000.00 over 2025-04..06: 1,000.00 a month.
LINES = [H, ["C1", "Acme", D(2025, 1, 1), D(2025, 12, 31), 12000.0, "EMEA"],
         ["C2", "Globex", D(2025, 4, 1), D(2025, 6, 30), 3000.0, "AMER"]]


def grid(start, end, kind="month"):
    return period_grid(parse_when(start).first, parse_when(end).last, kind)


def plan(*rows):
    return plan_from_range([PH] + [list(r) for r in rows], sheet="Plan", origin=(1, 1))


def test_a_quarter_flow_plan_adds_up_its_months():
    p = plan(["Budget", "2025-01", "revenue", None, None, 100],
             ["Budget", D(2025, 2, 14), "Revenue", None, None, "200.00"],  # any date in the month; case ignored
             ["Budget", "2025-03", "revenue", None, None, 300.25],
             ["Budget", "2025-04", "revenue", None, None, 50])
    # Q1 = 100 + 200 + 300.25 = 600.25; Q2 has April only: 50; Q3 has no planned month: no plan (None, not 0)
    assert p.figures("Budget", "revenue", grid("2025-Q1", "2025-Q3", "quarter")) == [60025, 5000, None]
    assert p.figures("Budget", "revenue", grid("2025", "2025", "year")) == [65025]


def test_a_balance_plan_takes_its_last_month():
    p = plan(["Budget", "2025-01", "backlog", None, None, 1000],
             ["Budget", "2025-02", "backlog", None, None, 2000],
             ["Budget", "2025-03", "backlog", None, None, 3000],
             ["Budget", "2025-04", "arr", None, None, 12000],
             ["Budget", "2025-05", "backlog", None, None, 5000])
    # Q1 backlog = March's 3,000 (never 1,000 + 2,000 + 3,000); Q2's last month (June) has none: no plan
    assert p.figures("Budget", "backlog", grid("2025-Q1", "2025-Q2", "quarter")) == [300000, None]
    assert p.figures("Budget", "arr", grid("2025-Q2", "2025-Q2", "quarter")) == [None]  # April is not Q2's last


def test_plan_problems_are_located_at_their_cells():
    rows = [PH,
            ["Budget", "2025-01", "revenue", None, None, 100],
            ["Budget", "2025-Q1", "revenue", None, None, 100],  # a quarter is not a month
            ["Budget", "2025-02", "profit", None, None, 100],
            ["", "2025-02", "revenue", None, None, 100],
            ["Budget", "2025-03", "revenue", None, None, "lots"],
            ["Budget", "2025-01", "REVENUE", None, None, 120],  # a second row for Budget revenue 2025-01
            ["Budget", "2025-03", "revenue", "Region", None, 10],
            ["Budget", "#N/A", "revenue", None, None, 10]]
    parsed, problems = parse_plan(rows, "Plan", (1, 1))
    found = {p.cell: p.message for p in problems}
    assert found["B3"] == "Month: '2025-Q1' is a quarter, not a month: one row per month (2025-03)"
    assert found["C4"] == "Metric 'profit' is not one of revenue, billings, bookings, arr, backlog, deferred"
    assert found["A5"] == "Version is blank"
    assert found["F6"].startswith("Amount: ")
    assert found["F7"] == ("a second plan row for Budget revenue 2025-01 (also row 2): one row per version, month, "
                           "metric and dimension value")
    assert found["E8"] == "Value is blank: a row by Dimension 'Region' needs the value it plans (EMEA)"
    assert found["B9"] == "Month is the Excel error #N/A"
    assert {p.sheet for p in problems} == {"Plan"} and len(problems) == 7
    assert parsed.figures("Budget", "revenue", grid("2025-01", "2025-01")) == [10000]  # the first row kept
    with pytest.raises(BBBError, match="no 'Amount' column"):
        plan_from_range([["Version", "Month", "Metric"]])


def test_variance_and_variance_percent_with_a_zero_plan():
    book = load_book(LINES)
    p = plan(["Budget", "2025-01", "revenue", None, None, 800],
             ["Budget", "2025-02", "revenue", None, None, 0],
             ["Budget", "2025-04", "revenue", None, None, 2500])
    rows = actual_vs_plan(book, p, "Budget", "revenue", grid("2025-01", "2025-04"), parse_when("2025-12-31").last)
    # January: actual 1,000, plan 800: variance 200, 200 / 800 = 25%
    assert (rows[0].actual, rows[0].plan, rows[0].variance, rows[0].percent) == (100000, 80000, 20000,
                                                                                   Fraction(1, 4))
    # February: plan 0: variance 1,000, no variance % (division by zero), said in the note
    assert (rows[1].variance, rows[1].percent, rows[1].note) == (100000, None, "plan is 0: no variance %")
    # March: no plan row: no plan, no variance
    assert (rows[2].plan, rows[2].variance, rows[2].note) == (None, None, "no plan for this period")
    # April: C1 1,000 + C2 1,000 = 2,000 against 2,500: -500, -20%
    assert (rows[3].actual, rows[3].variance, rows[3].percent) == (200000, -50000, Fraction(-1, 5))
    # year to date in April: actual 1,000 x 3 + 2,000 = 5,000, plan 800 + 0 + 2,500 = 3,300 (March has none),
    # variance 1,700, 1,700 / 3,300 = 17/33
    assert (rows[3].ytd_actual, rows[3].ytd_plan, rows[3].ytd_variance, rows[3].ytd_percent) == \
        (500000, 330000, 170000, Fraction(17, 33))


def test_balances_and_a_dimension_slice():
    book = load_book(LINES)
    p = plan(["Budget", "2025-03", "backlog", None, None, 10000],
             ["Budget", "2025-06", "backlog", None, None, 6000],
             ["Budget", "2025-03", "revenue", "Region", "EMEA", 900])
    rows = actual_vs_plan(book, p, "Budget", "backlog", grid("2025-Q1", "2025-Q2", "quarter"),
                          parse_when("2025-12-31").last)
    # backlog at 2025-03-31: C1 12,000 - 3,000 recognized = 9,000 (C2 booked 2025-04-01): -1,000 vs 10,000
    # at 2025-06-30: C1 6,000 left, C2 fully recognized: 6,000 = plan
    assert [(r.actual, r.plan, r.variance) for r in rows] == [(900000, 1000000, -100000), (600000, 600000, 0)]
    assert rows[0].ytd_actual is None  # balances have no year to date
    # EMEA revenue in March: C1's 1,000 against the EMEA row's 900; the whole-book revenue plan is the EMEA rows
    sel = book.select("Region=EMEA")
    emea = actual_vs_plan(book, p, "Budget", "revenue", grid("2025-03", "2025-03"), parse_when("2025-12-31").last,
                          sel, "region", "emea")
    assert (emea[0].actual, emea[0].plan, emea[0].variance) == (100000, 90000, 10000)


def test_version_is_required_when_the_plan_holds_several():
    p = plan(["Budget", "2025-01", "revenue", None, None, 1], ["Forecast Q2", "2025-01", "revenue", None, None, 2])
    with pytest.raises(BBBError, match=r"the plan holds 2 versions \(Budget, Forecast Q2\): choose one"):
        p.version(None)
    assert p.version("forecast q2") == "Forecast Q2"
    with pytest.raises(BBBError, match=r"plan version 'Q3' is not in the plan \(its versions: Budget, Forecast Q2\)"):
        p.version("Q3")
    assert plan(["Budget", "2025-01", "revenue", None, None, 1]).version(None) == "Budget"


def test_periods_after_the_as_of_date_show_the_contracted_forecast_marked():
    # C1 is cancelled from 2025-08-01, an event after the as-of date 2025-06-30: at the as-of date it is not known,
    # so July..September show C1's contracted 1,000 a month as "Forecast (contracted)"; the actual book has 0 in
    # August and September
    events = [["Contract ID", "Line ID", "Date", "Event"], ["C1", None, D(2025, 8, 1), "cancel"]]
    book = load_book(LINES, events=events)
    p = plan(*[["Budget", f"2025-{m:02d}", "revenue", None, None, 1000] for m in range(5, 10)])
    rows = actual_vs_plan(book, p, "Budget", "revenue", grid("2025-05", "2025-09"), parse_when("2025-06-30").last)
    assert [r.basis for r in rows] == ["Actual", "Actual", FORECAST, FORECAST, FORECAST]
    assert [r.actual for r in rows] == [200000, 200000, 100000, 100000, 100000]
    assert book.flow("revenue", "2025-09") == 0  # what the refresh after the cancellation shows as actual


def settings_rows(**extra):
    rows = [["Setting", "Value"], ["As-of date", D(2025, 12, 31)], ["Report start", "2025-01"],
            ["Report end", "2025-12"]]
    return rows + [[k.replace("_", " ").capitalize(), v] for k, v in extra.items()]


def test_actual_vs_plan_tab_ties_to_summary_and_the_flow_tabs():
    from bbb_xl.excel.workflow import compute_reports
    from bbb_xl.reports.actual_vs_plan import block_row
    from bbb_xl.sample import sample_contracts, sample_events, sample_plan
    rows = sample_contracts()
    reports = compute_reports(rows, settings_rows(), sample_events(rows), plan_rows=sample_plan())
    tab = reports.sheets["Actual vs Plan"]
    summary = reports.sheets["Summary"]
    assert tab.cell(5, 2) == "Budget 2025"
    # Summary's chart data (row 40: periods; 41 Bookings, 42 Billings, 43 Revenue, 44 Backlog, 45 Deferred revenue)
    # per period; the Actual vs Plan tab's Actual row of each metric (PLAN_METRICS order) must be the same cents
    for k, series_row in ((0, 43), (1, 42), (2, 41), (4, 44), (5, 45)):
        top = block_row(k)
        assert [tab.cell(top + 1, 2 + j) for j in range(12)] == [summary.cell(40, 2 + j) for j in range(12)]
        assert [tab.cell(top + 2, 2 + j) for j in range(12)] == [summary.cell(series_row, 2 + j) for j in range(12)]
    # year to date at 2025-12: Summary's "Year to date" column (D) for bookings (row 7), billings (8), revenue (9)
    for k, summary_row in ((0, 9), (1, 8), (2, 7)):
        assert tab.cell(block_row(k) + 7, 13) == summary.cell(summary_row, 4)
    assert tab.cell(block_row(0) + 7, 13) == 492350534  # 4,923,505.34 USD revenue in 2025 (the demo's Summary):
    # 4,914,255.34 before the usage line C-1201 was added + its 9,250.00 (6,000.00 minimum, 2,000.00 and 1,250.00 usage)
    # Revenue tab and the Backlog tab: the same revenue by period and closing backlog
    backlog_tab = reports.sheets["Backlog"]
    assert [backlog_tab.cell(5 + j, 6) for j in range(12)] == [tab.cell(block_row(0) + 2, 2 + j) for j in range(12)]
    assert [backlog_tab.cell(5 + j, 7) for j in range(12)] == [tab.cell(block_row(4) + 2, 2 + j) for j in range(12)]
    # the engine's own actuals (computed without the report's matrices) are the same cents
    book = load_book(rows, events=sample_events(rows))
    from bbb_xl.engine.plan import PLAN_METRICS, actual_figures
    every = np.arange(len(book.lines))
    for k, metric in enumerate(PLAN_METRICS):
        assert actual_figures(book, metric, grid("2025-01", "2025-12"), every) == \
            [tab.cell(block_row(k) + 2, 2 + j) for j in range(12)], metric
    # ARR against the book's own figure at each month end
    assert tab.cell(block_row(3) + 2, 13) == int(book.arr("2025-12-31") * 100)
    # the plan: January revenue 370,000 (sample_plan), variance = actual - plan, variance % = variance / plan
    a, p = tab.cell(block_row(0) + 2, 2), tab.cell(block_row(0) + 4, 2)
    assert p == 37000000 and tab.cell(block_row(0) + 5, 2) == a - p
    assert tab.cell(block_row(0) + 6, 2) == pytest.approx((a - p) / p, rel=1e-15)
    assert not [x for x in reports.problems if x.sheet == "Plan"]


def test_plan_version_setting_several_versions_and_none_chosen_is_a_located_warning():
    from bbb_xl.excel.workflow import compute_reports
    from bbb_xl.reports.actual_vs_plan import block_row
    plan_rows = [PH, ["Budget", "2025-01", "revenue", None, None, 1], ["Reforecast", "2025-01", "revenue", None,
                                                                        None, 2]]
    settings = settings_rows(plan_version=None)
    reports = compute_reports(LINES, settings, plan_rows=plan_rows)
    warning = [p for p in reports.problems if p.message.startswith("Plan version")]
    assert len(warning) == 1 and warning[0].severity == WARNING and warning[0].location == "Settings!B5"
    assert "the plan holds 2 versions (Budget, Reforecast): choose one" in warning[0].message
    assert "Actual vs Plan not computed" in reports.sheets["Actual vs Plan"].cell(4, 1)
    settings[-1][1] = "reforecast"
    reports = compute_reports(LINES, settings, plan_rows=plan_rows)
    tab = reports.sheets["Actual vs Plan"]
    top = block_row(0)  # revenue: January actual 1,000.00 (C1) against Reforecast's 2.00
    assert tab.cell(5, 2) == "Reforecast" and tab.cell(top + 2, 2) == 100000 and tab.cell(top + 4, 2) == 200
    assert not [p for p in reports.problems if p.message.startswith("Plan version")]


def test_bad_plan_rows_are_errors_on_exceptions_and_a_banner():
    from bbb_xl.excel.workflow import compute_reports
    plan_rows = [PH, ["Budget", "2025-01", "revenue", None, None, 1], ["Budget", "2025-13", "revenue", None,
                                                                        None, 2]]
    reports = compute_reports(LINES, settings_rows(), plan_rows=plan_rows)
    bad = [p for p in reports.problems if p.sheet == "Plan"]
    assert [p.location for p in bad] == ["Plan!B3"] and bad[0].is_error
    assert reports.sheets["Actual vs Plan"].cell(4, 1) == ("1 Plan row with input errors left out of the plan "
                                                           "\u2014 see Exceptions")


def test_bbb_variance_spills_header_actual_plan_variance_percent():
    from bbb_xl import udfs
    plan_rows = [PH] + [["Budget", f"2025-{m:02d}", "revenue", None, None, 1500.0] for m in range(1, 13)]
    out = udfs.BBB_VARIANCE(LINES, "revenue", "2025-01", "2025-12", plan_rows, "quarter")
    # Q1: 3,000 vs 4,500; Q2: C1 3,000 + C2 3,000 = 6,000 vs 4,500
    assert out == [["Revenue", "2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4"],
                   ["Actual", 3000.0, 6000.0, 3000.0, 3000.0],
                   ["Plan", 4500.0, 4500.0, 4500.0, 4500.0],
                   ["Variance", -1500.0, 1500.0, -1500.0, -1500.0],
                   ["Variance %", -1 / 3, 1 / 3, -1 / 3, -1 / 3]]
    two = plan_rows + [["Stretch", "2025-01", "revenue", None, None, 1.0]]
    assert udfs.BBB_VARIANCE(LINES, "revenue", "2025-01", "2025-12", two, "quarter") == (
        "#BBB! the plan holds 2 versions (Budget, Stretch): choose one (the version argument, or the Settings row "
        "'Plan version')")
    assert udfs.BBB_VARIANCE(LINES, "revenue", "2025-01", "2025-01", two, None, "stretch") == [
        ["Revenue", "2025-01"], ["Actual", 1000.0], ["Plan", 1.0], ["Variance", 999.0], ["Variance %", 999.0]]
    zero = [PH, ["Budget", "2025-01", "revenue", None, None, 0]]
    # February has no plan, January's plan is 0: empty cells (what Excel shows for a blank in a spilled array)
    assert udfs.BBB_VARIANCE(LINES, "revenue", "2025-01", "2025-02", zero)[2:] == [["Plan", 0.0, ""],
                                                                               ["Variance", 1000.0, ""],
                                                                               ["Variance %", "", ""]]
    assert udfs.BBB_VARIANCE(LINES, "profit", "2025-01", "2025-02", zero).startswith("#BBB! metric 'profit'")
    assert udfs.BBB_VARIANCE(LINES, "revenue", "2025-01", "2025-02", zero, None, None, "Region!=EMEA") == (
        "#BBB! filter 'Region!=EMEA': a plan is compared by one dimension value at a time: write Column=Value "
        "(Region=EMEA), matching the plan rows' Dimension and Value")
    bad = [PH, ["Budget", "2025-01", "revenue", None, None, "x"]]
    assert udfs.BBB_VARIANCE(LINES, "revenue", "2025-01", "2025-02", bad).startswith("#BBB! plan range row 2: Amount")


def test_the_template_has_the_plan_tab_with_the_sample_budget(tmp_path):
    from bbb_xl.engine.plan import PLAN_METRICS
    from bbb_xl.excel.template import build_demo
    from bbb_xl.sample import sample_plan
    from bbb_xl.xlsx_reader import read_sheets
    path = tmp_path / "demo.xlsm"
    build_demo(path)
    sheets = read_sheets(path, ["Plan", "Actual vs Plan"])
    assert sheets["Plan"][0] == PH and len(sheets["Plan"]) == 1 + 6 * 12
    parsed, problems = parse_plan(sheets["Plan"], "Plan", (1, 1))
    assert problems == [] and parsed.versions == ("Budget 2025",)
    assert parse_plan(sample_plan())[0].amounts == parsed.amounts
    import zipfile
    with zipfile.ZipFile(path) as zf:
        charts = [n for n in zf.namelist() if n.startswith("xl/charts/chart")]
        text = "".join(zf.read(n).decode() for n in charts)
        sheet_xml = next(zf.read(n).decode() for n in zf.namelist() if n.startswith("xl/worksheets/sheet")
                         and "Metric is one of" in zf.read(n).decode())
    assert len(charts) == 2 + 4 + len(PLAN_METRICS) + 1  # Summary: 2; Forecast: 4; one per plan metric; Metrics: 1
    # every chart reads the 12 report periods (B..M) of its own block
    assert text.count("'Actual vs Plan'!$B$8:$M$8") == 3  # revenue: actual, forecast, plan share the labels
    assert 'type="list"' in sheet_xml and "revenue,billings,bookings,arr,backlog,deferred" in sheet_xml


def test_clear_sample_clears_the_sample_budget_but_never_a_plan_of_your_own(tmp_path):
    import openpyxl
    from bbb_xl.excel.inputs import clear_sample_file
    from bbb_xl.excel.template import build_demo
    from bbb_xl.xlsx_reader import read_sheets
    path = tmp_path / "demo.xlsm"
    build_demo(path)
    result = clear_sample_file(path)
    assert result.rows_removed["Plan"] == 72 and read_sheets(path, ["Plan"])["Plan"] == [PH]
    # a plan of your own (one amount changed) stays when the sample contracts are cleared
    build_demo(path)
    wb = openpyxl.load_workbook(path, keep_vba=True)
    wb["Plan"]["F2"] = 371000
    wb.save(path)
    result = clear_sample_file(path)
    assert "Plan" not in result.rows_removed and len(read_sheets(path, ["Plan"])["Plan"]) == 73


@pytest.mark.libreoffice
@lo.requires_soffice
def test_an_edit_of_the_plan_tab_flips_stale_and_undo_flips_back(tmp_path):
    from test_stale import _EDIT_SCRIPT, small_book
    from bbb_xl.excel import headless, template
    from bbb_xl.sample import SAMPLE_SETTINGS, sample_plan
    rows, events, fx = small_book()
    path = tmp_path / "stale.xlsm"
    template._layout(path, rows, SAMPLE_SETTINGS, events, fx, plan_rows=sample_plan())
    headless.refresh_file(path)
    edits = [["Plan", "F2", 371000.0, "number"], ["Plan", "C2", "billings", "text"],
             ["Plan", "B3", "2025-03-01", "date"], ["Plan", "A5", "Budget 2026", "text"]]
    result = lo.run_uno_script(_EDIT_SCRIPT, str(path), edits, timeout=120)
    assert result["fresh"] == "Up to date"
    for edit, (before, edited, undone) in zip(edits, result["edits"]):
        assert edited == "STALE: Plan changed since the last refresh", (edit, before, edited)
        assert undone == "Up to date", (edit, undone)


def test_a_plan_by_one_dimension_adds_up_to_the_whole_book_two_dimensions_are_refused():
    p = plan(["Budget", "2025-01", "revenue", "Region", "EMEA", 100], ["Budget", "2025-01", "revenue", "region",
                                                                       "AMER", 50.5],
             ["Budget", "2025-02", "bookings", "Region", "EMEA", 1], ["Budget", "2025-02", "bookings", "Segment",
                                                                      "SMB", 1])
    # no whole-book revenue rows: EMEA 100 + AMER 50.50 = 150.50 is the whole book's January
    assert p.figures("Budget", "revenue", grid("2025-01", "2025-01")) == [15050]
    assert p.figures("Budget", "revenue", grid("2025-01", "2025-01"), "REGION", "amer") == [5050]
    with pytest.raises(BBBError, match=r"the plan's bookings for 'Budget' is by Region, Segment with no whole-book "
                                       r"rows"):
        p.figures("Budget", "bookings", grid("2025-02", "2025-02"))


def test_periods_after_the_as_of_date_show_the_forecast_total_with_renewals_and_pipeline():
    # as of 2025-06-30, C1 (12,000.00 over 2025) ends inside the horizon and renews at 90% with 5% uplift:
    # 12,000 x 12/12 x 0.9 x 1.05 = 11,340.00 over 2026, 945.00 a month; a 40% pipeline deal of 6,000.00 over
    # 2025-10..2026-03 counts 2,400.00, 400.00 a month. October 2025: contracted 1,000 + pipeline 400 = 1,400.00;
    # January 2026: renewal 945 + pipeline 400 = 1,345.00. Backlog keeps the contracted figure.
    from bbb_xl.engine.forecast import forecast, forecast_books, parse_assumptions, parse_pipeline
    book = load_book(LINES)
    as_of = parse_when("2025-06-30").last
    assumptions = parse_assumptions([["Renewal Rate", "Uplift"], [0.9, 0.05]])
    pipeline = parse_pipeline([["Deal", "Customer", "Expected Close", "Start Date", "End Date", "Amount",
                                "Probability", "Billing", "Recognition", "Type"],
                               ["P-1", "Initech", D(2025, 9, 15), D(2025, 10, 1), D(2026, 3, 31), 6000.0, 0.4,
                                "upfront", "monthly", "new"]])
    periods = grid("2025-05", "2026-01")
    books = forecast_books(book, as_of, periods[-1].last, np.arange(len(book.lines)), assumptions, pipeline)
    p = plan(*[["Budget", f"2025-{m:02d}", "revenue", None, None, 1000] for m in range(5, 13)])
    rows = actual_vs_plan(book, p, "Budget", "revenue", periods, as_of, forecast_books=books)
    assert [r.basis for r in rows] == ["Actual"] * 2 + [FORECAST] * 7
    assert [r.actual for r in rows] == [200000, 200000, 100000, 100000, 100000, 140000, 140000, 140000, 134500]
    future = [p_ for p_ in periods if p_.last > as_of]
    assert [r.actual for r in rows[2:]] == forecast(books, "revenue", future).layer("Total")
    backlog = actual_vs_plan(book, p, "Budget", "backlog", periods, as_of, forecast_books=books)
    assert backlog[-1].actual == 0  # C1's backlog at 2026-01-31 as contracted: no renewal in a balance
