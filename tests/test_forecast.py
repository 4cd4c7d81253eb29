"""Forecast (issue 16 section 2; docs/forecast.md): Contracted, Renewals and Pipeline layers by period after an
as-of date, with literal figures worked by hand in the comments. Renewals follow the issue's rule: a recurring line
ending in (as-of, horizon] renews from End + 1 for the same term at round(ARR at End x term / 12 x rate x
(1 + uplift)); pipeline deals count at round(Amount x Probability), booked on Expected Close."""
from decimal import Decimal as D

import pytest

from bbb_xl import load_book
from bbb_xl.core.errors import BBBError, errors_only
from bbb_xl.engine.forecast import parse_assumptions, parse_pipeline, renewal_term
from bbb_xl.core.dates import day_number, iso
import datetime as dt

H = ["Contract ID", "Customer", "Product", "Segment", "Booking Date", "Start Date", "End Date", "Amount",
     "Recognition", "Billing"]
EV = ["Contract ID", "Line ID", "Date", "Event", "Amount"]
PH = ["Deal", "Customer", "Product", "Expected Close", "Start Date", "End Date", "Amount", "Probability", "Billing",
      "Recognition", "Type"]
ACME = ["C-1", "Acme", "Core", "Enterprise", "2025-01-01", "2025-01-01", "2025-12-31", 12000, "monthly", "annual"]
RATES = [["Renewal Rate", "Uplift"], [0.9, 0.05]]
AS_OF = "2025-09-30"


def book(*rows, events=None):
    b = load_book([H] + [list(r) for r in rows], events=None if events is None else [EV] + events)
    assert b.ok, b.problems
    return b


def table(rows):
    """{row name: [figures]} of a spilled forecast (header row dropped), and the period labels."""
    return {r[0]: r[1:] for r in rows[1:]}


def test_renewal_at_90_percent_with_5_percent_uplift():
    # 12,000 over 2025 (ARR 12,000 at 2025-12-31) renews 2026-01-01..2026-12-31 at
    # 12,000 x 12/12 x 0.9 x 1.05 = 11,340.00: revenue 945.00 a month, billed (annual, in advance) and booked on
    # 2026-01-01, ARR 11,340.00 at each 2026 month end.
    b = book(ACME)
    rev = b.forecast("revenue", "2025-10", "2026-09", AS_OF, assumptions=RATES)
    assert rev[0] == ["Revenue"] + [f"2025-{m}" for m in ("10", "11", "12")] + [f"2026-{m:02d}" for m in range(1, 10)]
    t = table(rev)
    assert t["Contracted"] == [D("1000.00")] * 3 + [D("0.00")] * 9
    assert t["Renewals"] == [D("0.00")] * 3 + [D("945.00")] * 9
    assert t["Pipeline"] == [D("0.00")] * 12
    assert t["Total"] == [D("1000.00")] * 3 + [D("945.00")] * 9
    for metric in ("billings", "bookings"):
        t = table(b.forecast(metric, "2025-10", "2026-09", AS_OF, assumptions=RATES))
        assert t["Renewals"] == [D("0.00")] * 3 + [D("11340.00")] + [D("0.00")] * 8
        assert t["Contracted"] == [D("0.00")] * 12  # billed and booked in 2025-01
    t = table(b.forecast("arr", "2025-10", "2026-09", AS_OF, assumptions=RATES))
    assert t["Contracted"] == [D("12000.00")] * 3 + [D("0.00")] * 9
    assert t["Renewals"] == [D("0.00")] * 3 + [D("11340.00")] * 9
    assert t["Total"] == [D("12000.00")] * 3 + [D("11340.00")] * 9


def test_no_assumptions_no_renewals_and_contracted_equals_the_ordinary_schedule():
    other = ["C-2", "Beta", "Core", "SMB", "2025-03-15", "2025-04-01", "2026-03-31", 6000, "daily", "quarterly"]
    b = book(ACME, other)
    for metric in ("revenue", "billings", "bookings", "arr"):
        t = table(b.forecast(metric, "2025-10", "2026-09", AS_OF))
        ordinary = b.schedule_for(metric, "2025-10", "2026-09").to_rows()[1][1:]
        assert t["Contracted"] == ordinary
        assert t["Renewals"] == t["Pipeline"] == [D("0.00")] * 12
        assert t["Total"] == ordinary


def test_pipeline_deal_at_40_percent():
    # 24,000 over 2025-12-01..2026-11-30 at 40%: a 9,600.00 line booked on 2025-11-15, monthly recognition 800.00
    # from 2025-12, billed monthly in advance 800.00, ARR 9,600.00 from 2025-12.
    deal = ["D-1", "Beta", "Core", "2025-11-15", "2025-12-01", "2026-11-30", 24000, 0.4, "monthly", "monthly", "new"]
    b = book(ACME)
    pipe = [PH, deal]
    got = {m: table(b.forecast(m, "2025-10", "2026-03", AS_OF, pipeline=pipe))
           for m in ("revenue", "billings", "bookings", "arr")}
    z = D("0.00")
    assert got["bookings"]["Pipeline"] == [z, D("9600.00"), z, z, z, z]
    assert got["revenue"]["Pipeline"] == [z, z] + [D("800.00")] * 4
    assert got["billings"]["Pipeline"] == [z, z] + [D("800.00")] * 4
    assert got["arr"]["Pipeline"] == [z, z] + [D("9600.00")] * 4
    assert got["revenue"]["Renewals"] == [z] * 6  # no assumptions: no renewals
    # Total = the sum of the layers in every period
    for t in got.values():
        assert t["Total"] == [a + b + c for a, b, c in zip(t["Contracted"], t["Renewals"], t["Pipeline"])]


def test_renewal_deal_replaces_the_assumption_for_the_line_it_renews():
    # Acme Core would renew at 11,340.00 by assumption; a renewal deal of 15,000 at 50% for Acme Core from
    # 2026-01-01 replaces it: Renewals 0, Pipeline 7,500.00 over 2026 = 625.00 a month.
    deal = ["R-1", "Acme", "Core", "2025-12-15", "2026-01-01", "2026-12-31", 15000, "50%", "annual", "monthly",
            "renewal"]
    b = book(ACME)
    t = table(b.forecast("revenue", "2026-01", "2026-03", AS_OF, assumptions=RATES, pipeline=[PH, deal]))
    assert t["Renewals"] == [D("0.00")] * 3
    assert t["Pipeline"] == [D("625.00")] * 3
    # the same deal typed `new` adds to the assumed renewal instead of replacing it
    deal[-1] = "new"
    t = table(b.forecast("revenue", "2026-01", "2026-03", AS_OF, assumptions=RATES, pipeline=[PH, deal]))
    assert t["Renewals"] == [D("945.00")] * 3
    assert t["Pipeline"] == [D("625.00")] * 3
    # a renewal deal for another product of the same customer replaces nothing
    deal[-1], deal[2] = "renewal", "Add-on"
    t = table(b.forecast("revenue", "2026-01", "2026-03", AS_OF, assumptions=RATES, pipeline=[PH, deal]))
    assert t["Renewals"] == [D("945.00")] * 3


def test_line_ending_outside_the_horizon_does_not_renew():
    # 24,000 over 2025-07-01..2027-06-30 ends after the horizon (2026-09-30): no renewal in the forecast
    long = ["C-3", "Gamma", "Core", "SMB", "2025-07-01", "2025-07-01", "2027-06-30", 24000, "monthly", "annual"]
    b = book(long)
    t = table(b.forecast("revenue", "2025-10", "2026-09", AS_OF, assumptions=RATES))
    assert t["Renewals"] == [D("0.00")] * 12
    assert t["Contracted"] == [D("1000.00")] * 12
    # a line that ended on or before the as-of date does not renew either
    done = ["C-4", "Delta", "Core", "SMB", "2024-10-01", "2024-10-01", "2025-09-30", 12000, "monthly", "annual"]
    t = table(book(done).forecast("revenue", "2025-10", "2026-09", AS_OF, assumptions=RATES))
    assert t["Renewals"] == [D("0.00")] * 12


def test_line_already_followed_by_a_renewal_line_is_not_counted_twice():
    # Acme Core's renewal is already booked (C-2 from 2026-01-01, within 31 days after 2025-12-31): it is in
    # Contracted (1,100.00 a month) and no assumed renewal is added
    renewal = ["C-2", "Acme", "Core", "Enterprise", "2025-12-15", "2026-01-01", "2026-12-31", 13200, "monthly",
               "annual"]
    b = book(ACME, renewal)
    t = table(b.forecast("revenue", "2025-10", "2026-03", AS_OF, assumptions=RATES))
    assert t["Renewals"] == [D("0.00")] * 6
    assert t["Contracted"] == [D("1000.00")] * 3 + [D("1100.00")] * 3
    # starting 32 days after the end it is not a renewal of C-1: C-1 renews by assumption (and C-2 ends in 2027)
    late = renewal[:5] + ["2026-02-01", "2027-01-31"] + renewal[7:]
    t = table(book(ACME, late).forecast("revenue", "2025-10", "2026-03", AS_OF, assumptions=RATES))
    assert t["Renewals"] == [D("0.00")] * 3 + [D("945.00")] * 3


def test_renewal_of_a_renewal_inside_a_24_month_horizon_compounds():
    # 2026: 11,340.00 (as above). 2027: ARR 11,340 x 12/12 x 0.9 x 1.05 = 10,716.30, recognized monthly by
    # cumulative rounding: 10,716.30 x k / 12 -> 893.025 rounds half away to 893.03, then 893.02, 893.03, ...
    b = book(ACME)
    t = table(b.forecast("revenue", "2025-10", "2027-09", AS_OF, assumptions=RATES))
    assert t["Renewals"][3:15] == [D("945.00")] * 12
    assert t["Renewals"][15:] == [D("893.03"), D("893.02")] * 4 + [D("893.03")]
    t = table(b.forecast("arr", "2026-12", "2027-01", AS_OF, assumptions=RATES))
    assert t["Renewals"] == [D("11340.00"), D("10716.30")]
    t = table(b.forecast("billings", "2027-01", "2027-01", AS_OF, assumptions=RATES))
    assert t["Renewals"] == [D("10716.30")]


def test_rates_by_dimension_with_a_default_row():
    # Enterprise renews at 95% with no uplift: 11,400.00; SMB falls to the default 80% + 10%: 6,000 x 0.88 = 5,280
    smb = ["C-5", "Echo", "Core", "SMB", "2025-01-01", "2025-01-01", "2025-12-31", 6000, "monthly", "annual"]
    rates = [["Segment", "Renewal Rate", "Uplift"], ["Enterprise", "95%", None], [None, 0.8, "10%"]]
    t = table(book(ACME, smb).forecast("bookings", "2026-01", "2026-01", AS_OF, assumptions=rates))
    assert t["Renewals"] == [D("16680.00")]  # 11,400.00 + 5,280.00
    t = table(book(ACME, smb).forecast("bookings", "2026-01", "2026-01", AS_OF, assumptions=rates,
                                       filter="Segment=SMB"))
    assert t["Renewals"] == [D("5280.00")]
    # no default row: a line whose value has no row does not renew
    t = table(book(smb).forecast("bookings", "2026-01", "2026-01", AS_OF, assumptions=rates[:2]))
    assert t["Renewals"] == [D("0.00")]


def test_events_after_the_as_of_date_are_unknown_and_a_known_cancel_stops_the_renewal():
    # cancelled on 2025-11-01: at as-of 2025-09-30 the cancel is unknown (Contracted revenue 1,000 in 2025-11 and
    # 2025-12, and it renews); at as-of 2025-11-15 it is known: the ordinary schedule, where the cancel (no refund)
    # recognizes the 2,000.00 left of the prepaid year on 2025-11-01, and no renewal
    b = book(ACME, events=[["C-1", None, "2025-11-01", "cancel", None]])
    t = table(b.forecast("revenue", "2025-11", "2026-01", AS_OF, assumptions=RATES))
    assert t["Contracted"] == [D("1000.00"), D("1000.00"), D("0.00")]
    assert t["Renewals"] == [D("0.00"), D("0.00"), D("945.00")]
    t = table(b.forecast("revenue", "2025-11", "2026-01", "2025-11-15", assumptions=RATES))
    assert t["Contracted"] == [D("2000.00"), D("0.00"), D("0.00")]
    assert t["Contracted"] == b.schedule_for("revenue", "2025-11", "2026-01").to_rows()[1][1:]
    assert t["Renewals"] == [D("0.00")] * 3


def test_renewal_term_keeps_whole_months_and_days():
    def term(a, b):
        s, e = renewal_term(day_number(dt.date.fromisoformat(a)), day_number(dt.date.fromisoformat(b)))
        return iso(s), iso(e)
    assert term("2025-01-01", "2025-12-31") == ("2026-01-01", "2026-12-31")
    assert term("2025-03-15", "2025-06-14") == ("2025-06-15", "2025-09-14")  # 3 months
    assert term("2025-01-01", "2025-01-10") == ("2025-01-11", "2025-01-20")  # 10 days
    assert term("2024-03-01", "2025-02-28") == ("2025-03-01", "2026-02-28")


def test_bad_pipeline_and_assumption_rows_are_located():
    deal = ["D-1", "Beta", "Core", "2025-11-15", "2025-12-01", "2026-11-30", 24000, 1.5, "monthly", "monthly",
            "upsell"]
    with pytest.raises(BBBError) as exc:
        parse_pipeline([PH, deal], origin=(3, 1))
    problems = {p.column: p for p in exc.value.problems}
    p = problems["Probability"]
    assert (p.sheet, p.row, p.cell, p.value) == ("Pipeline", 2, "H4", 1.5)
    assert "Probability 1.5 is not from 0% to 100%" in p.message
    assert problems["Type"].cell == "K4" and "new, renewal, expansion" in problems["Type"].message
    # a bad date is located by the contracts parser under the Pipeline's own column name
    deal = ["D-1", "Beta", "Core", "soon", "2025-12-01", "2026-11-30", 24000, 0.4, "monthly", "monthly", "new"]
    with pytest.raises(BBBError) as exc:
        parse_pipeline([PH, deal], origin=(3, 1))
    p = exc.value.problems[0]
    assert (p.sheet, p.column, p.cell, p.value) == ("Pipeline", "Expected Close", "D4", "soon")
    with pytest.raises(BBBError) as exc:
        parse_assumptions([["Segment", "Renewal Rate", "Uplift"], ["SMB", "lots", 0]], origin=(1, 1))
    p = exc.value.problems[0]
    assert (p.sheet, p.row, p.column, p.cell, p.value) == ("Forecast Assumptions", 2, "Renewal Rate", "B2", "lots")
    with pytest.raises(BBBError, match="row 3: a second row for 'smb': also on row 2"):
        parse_assumptions([["Segment", "Renewal Rate"], ["SMB", 0.9], ["smb", 0.8]])
    with pytest.raises(BBBError, match="no Currency column: deal amounts are in the reporting currency"):
        parse_pipeline([PH + ["Currency"], ["D-1", "Beta", "Core", "2025-11-15", "2025-12-01", "2026-11-30", 24000,
                                            0.4, "monthly", "monthly", "new", "EUR"]])
    with pytest.raises(BBBError, match="'Renewal Rate' is missing"):
        parse_assumptions([["Rate", "Uplift"], [0.9, 0]])
    # through the book: the formula's message names the cell
    with pytest.raises(BBBError, match="Probability"):
        book(ACME).forecast("revenue", "2026-01", "2026-03", AS_OF, pipeline=[PH, ["D-1", "Beta", "Core",
                            "2025-11-15", "2025-12-01", "2026-11-30", 24000, "x", "monthly", "monthly", "new"]])


def test_unknown_metric_is_refused():
    with pytest.raises(BBBError, match="not one of revenue, billings, bookings, arr"):
        book(ACME).forecast("backlog", "2026-01", "2026-03", AS_OF)


def test_reproducible_to_the_cent():
    b = book(ACME)
    deal = ["D-1", "Beta", "Core", "2025-11-15", "2025-12-01", "2026-11-30", 1000, 0.333, "monthly", "daily", "new"]
    first = b.forecast("revenue", "2025-10", "2027-09", AS_OF, assumptions=RATES, pipeline=[PH, deal])
    again = book(ACME).forecast("revenue", "2025-10", "2027-09", AS_OF, assumptions=RATES, pipeline=[PH, deal])
    assert first == again
    assert sum(table(first)["Pipeline"]) == D("333.00")  # 1,000 x 0.333 recognized in full inside the horizon


def test_bbb_forecast_spills_through_the_xlwings_call_path():
    import xlwings_replay as xr
    udfs = xr.load_udf_module("bbb_xl.udfs")
    rng = xr.excel_range([H, ACME])
    deal = ["D-1", "Beta", "Core", "2025-11-15", "2025-12-01", "2026-11-30", 24000, 0.4, "monthly", "monthly", "new"]
    out = xr.call(udfs.BBB_FORECAST, rng, "revenue", "2025-Q4", "2026-Q1", "2025-09-30", "quarter",
                  xr.excel_range(RATES), xr.excel_range([PH, deal]))
    # Q4 2025: 3,000 contracted + 800 pipeline (December); Q1 2026: renewal 3 x 945 + pipeline 3 x 800
    assert out == [["Revenue", "2025-Q4", "2026-Q1"], ["Contracted", 3000.0, 0.0], ["Renewals", 0.0, 2835.0],
                   ["Pipeline", 800.0, 2400.0], ["Total", 3800.0, 5235.0]]
    deal[7] = 2
    bad = xr.call(udfs.BBB_FORECAST, rng, "revenue", "2025-Q4", "2026-Q1", "2025-09-30", "quarter", None,
                  xr.excel_range([PH, deal]))
    assert bad == "#BBB! Pipeline row 2: Probability 2 is not from 0% to 100%"


def test_worked_example_of_docs_forecast_md():
    # docs/forecast.md: Acme 12,000 over 2025 renewing at 90% + 5%, deal D-1 (24,000 at 40% from 2025-12-01)
    deal = ["D-1", "Beta", "Core", "2025-11-15", "2025-12-01", "2026-11-30", 24000, 0.4, "monthly", "monthly", "new"]
    t = table(book(ACME).forecast("revenue", "2025-10", "2027-09", AS_OF, assumptions=RATES, pipeline=[PH, deal]))
    assert t["Total"][:4] == [D("1000.00"), D("1000.00"), D("1800.00"), D("1745.00")]
    assert t["Total"] == [a + b + c for a, b, c in zip(t["Contracted"], t["Renewals"], t["Pipeline"])]
    # over the 24 months: 3,000 contracted + 11,340 + 9 months of 10,716.30 + 9,600 of pipeline
    assert sum(t["Total"]) == D("3000.00") + D("11340.00") + D("8037.23") + D("9600.00")


def test_forecast_tab_from_the_settings_horizon_and_input_tabs():
    from bbb_xl.excel.workflow import compute_reports
    from bbb_xl.reports.forecast import FORECAST_BLOCKS
    deal = ["D-1", "Beta", "Core", "2025-11-15", "2025-12-01", "2026-11-30", 24000, 0.4, "monthly", "monthly", "new"]
    settings = [["Setting", "Value"], ["As-of date", "2025-11-30"], ["Report start", "2025-01"],
                ["Report end", "2025-12"], ["Forecast horizon (months)", 6]]
    reports = compute_reports([H, ACME], settings, pipeline_rows=[PH, deal], assumptions_rows=RATES)
    tab = reports.sheets["Forecast"]
    revenue_row = dict(FORECAST_BLOCKS)["revenue"]
    # 6 months after 2025-11-30: 2025-12 to 2026-05
    assert tab.rows()[revenue_row - 1] == ["Revenue", "2025-12", "2026-01", "2026-02", "2026-03", "2026-04",
                                           "2026-05", "Total"]
    # money in cents: contracted 1,000.00 in December, renewal 945.00 a month from January, pipeline 800.00 a
    # month from December; ARR at period ends, no Total column
    assert tab.rows()[revenue_row][1:] == [100000] + [0] * 5 + [100000]
    assert tab.rows()[revenue_row + 1][1:] == [0] + [94500] * 5 + [472500]
    assert tab.rows()[revenue_row + 2][1:] == [80000] * 6 + [480000]
    assert tab.rows()[revenue_row + 3][1:] == [180000] + [174500] * 5 + [1052500]
    arr_row = dict(FORECAST_BLOCKS)["arr"]
    assert tab.rows()[arr_row + 3][1:] == [1200000 + 960000] + [1134000 + 960000] * 5 + [""]
    # a bad Probability: located on Exceptions, the pipeline left out and said so on the tab
    deal[7] = "maybe"
    reports = compute_reports([H, ACME], settings, pipeline_rows=[PH, deal], assumptions_rows=RATES)
    assert any(p.location == "Pipeline!H2" and "Probability 'maybe' is not a number" in p.message
               for p in reports.problems)
    assert "Pipeline has errors (see Exceptions)" in reports.sheets["Forecast"].rows()[2][0]
    assert reports.sheets["Forecast"].rows()[revenue_row + 2][1:] == [0] * 7
    # rates by a column the contracts do not have: located on the header, no renewals assumed
    reports = compute_reports([H, ACME], settings, assumptions_rows=[["Region", "Renewal Rate"], ["EMEA", 0.95],
                                                                     [None, 0.9]])
    assert any(p.location == "Forecast Assumptions!A1" and "rates vary by 'Region'" in p.message
               for p in reports.problems)
    # the header over a default row alone is not used: the default applies, no problem
    reports = compute_reports([H, ACME], settings, assumptions_rows=[["Region", "Renewal Rate"], [None, 0.9]])
    assert not errors_only(reports.problems)
    # a tab with its header only is as good as absent
    reports = compute_reports([H, ACME], settings, pipeline_rows=[PH], assumptions_rows=[["Region", "Renewal Rate"]])
    assert not errors_only(reports.problems)
    # a Settings horizon that is not a whole number of months is refused like any setting
    bad = compute_reports([H, ACME], settings[:-1] + [["Forecast horizon (months)", "a year"]])
    assert any("'a year' is not a whole number from 1 to 120" in p.message for p in bad.problems)


from hypothesis import given, settings as hyp_settings, strategies as st  # noqa: E402


@hyp_settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 10_000_000), st.integers(0, 11), st.sampled_from([1, 3, 6, 12, 24]),
                          st.sampled_from(["monthly", "daily"])), min_size=1, max_size=6))
def test_renewal_at_100_percent_without_uplift_renews_whole_month_terms_at_their_price(lines):
    # a term of whole calendar months renews for the same months: ARR x months / 12 = the price, exactly; so with
    # rate 100% and no uplift every renewal books exactly the line's Amount, and Contracted = the schedule
    rows = []
    for k, (cents, month, months, rec) in enumerate(lines):
        start = dt.date(2025, 1 + month, 1)
        end_month = month + months  # months after 2025-01
        end = dt.date(2025 + end_month // 12, end_month % 12 + 1, 1) - dt.timedelta(days=1)
        rows.append([f"C-{k}", f"Cust {k}", "Core", "SMB", start.isoformat(), start.isoformat(), end.isoformat(),
                     D(cents) / 100, rec, "annual"])
    b = book(*rows)
    horizon_end = "2027-12"  # every line ends by 2027-12-31 (latest: 2025-12 + 24 months)
    t = table(b.forecast("bookings", "2025-01", horizon_end, "2024-12-31",
                         assumptions=[["Renewal Rate", "Uplift"], [1, 0]]))
    # renewal j of a line starting in month s (0 = 2025-01) for m months starts in month s + j x m; it is booked
    # inside the grid when that is month 35 (2027-12) or before, each at the line's Amount
    expected = sum(D(c) / 100 * len(range(s + m, 36, m)) for c, s, m, _ in lines)
    assert sum(t["Renewals"]) == expected
    t1 = table(b.forecast("bookings", "2025-01", horizon_end, "2024-12-31",
                          assumptions=[["Renewal Rate", "Uplift"], [0, 0]]))
    assert sum(t1["Renewals"]) == 0  # rate 0: renewals of nothing
    for metric in ("revenue", "billings"):
        t = table(b.forecast(metric, "2025-01", horizon_end, "2024-12-31"))
        assert t["Contracted"] == b.schedule_for(metric, "2025-01", horizon_end).to_rows()[1][1:]
