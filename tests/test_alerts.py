"""Alerts (issue "Monitor and plan", section 1): each rule fires on a book built to trigger it and stays silent on
one built not to; complete periods only; newest first. Figures worked by hand in the comments."""
import pytest

from bbb_xl import load_book
from bbb_xl.core.errors import BBBError
from bbb_xl.engine.alerts import DEFAULTS, parse_rules

H = ["Contract ID", "Customer", "Line ID", "Booking Date", "Start Date", "End Date", "Amount", "Recognition",
     "Billing", "Billing Timing"]
EV = ["Contract ID", "Line ID", "Date", "Event", "Amount"]


def book(*rows, events=None):
    b = load_book([H] + [list(r) for r in rows], events=None if events is None else [EV] + events)
    assert b.ok, b.problems
    return b


def only(*names, **thresholds):
    """Rules with only `names` on (the others off), as a 2-column range."""
    return [["Rule", "Threshold"]] + [[n, thresholds.get(n.replace(" ", "_").replace("-", "_"), DEFAULTS[n])
                                       if n in names else "off"]
                                      for n in DEFAULTS]


def rules_of(rows):
    return [(r[1], r[2]) for r in rows[1:]]


# Book A: three point-in-time sales, each booked, billed and recognized on its day: 2025-05 1,000; 2026-04 1,000;
# 2026-05 600. May 2026 is 40% below April (> 30%) and 40% below May 2025 (> 20%); June 2025 is 100% below May 2025.
DROPS = [["P1", "Acme", "1", None, "2025-05-10", None, 1000, "point in time", "upfront", None],
         ["P2", "Acme", "1", None, "2026-04-10", None, 1000, "point in time", "upfront", None],
         ["P3", "Acme", "1", None, "2026-05-10", None, 600, "point in time", "upfront", None]]


def test_drops_against_the_previous_period_and_a_year_earlier_newest_first():
    rows = book(*DROPS).alerts("2026-06-15")
    assert rows[0] == ["Severity", "Rule", "Period", "Figure", "Threshold", "Explanation"]
    assert rules_of(rows) == [
        ("billings drop", "2026-05"), ("billings drop vs a year earlier", "2026-05"), ("bookings drop", "2026-05"),
        ("bookings drop vs a year earlier", "2026-05"), ("revenue concentration", "2025-06-01 to 2026-05-31"),
        ("revenue drop", "2026-05"), ("revenue drop vs a year earlier", "2026-05"),
        ("billings drop", "2025-06"), ("bookings drop", "2025-06"), ("revenue drop", "2025-06")]
    revenue = next(r for r in rows[1:] if r[1] == "revenue drop" and r[2] == "2026-05")
    assert revenue == ["warning", "revenue drop", "2026-05", "600.00 vs 1,000.00 (-40%)", "down more than 30%",
                       "Revenue fell 40% against the previous period (2026-04)."]
    concentration = next(r for r in rows[1:] if r[1] == "revenue concentration")
    assert concentration[:5] == ["info", "revenue concentration", "2025-06-01 to 2026-05-31",
                                 "Acme: 1,600.00 of 1,600.00 (100%)", "above 10%"]


def test_the_partial_period_is_never_compared():
    # as of 2026-05-15 May is partial: its 40% drop is not reported; April (up from March's 0) has no base
    rows = book(*DROPS).alerts("2026-05-15", rules=only("revenue drop", "revenue drop vs a year earlier"))
    assert rules_of(rows) == [("revenue drop", "2025-06")]


def test_a_drop_below_the_threshold_stays_silent():
    milder = [r[:] for r in DROPS]
    milder[2][6] = 800  # 20% below April: not more than 30%; 20% below May 2025: not more than 20%
    rows = book(*milder).alerts("2026-06-15", rules=only("revenue drop", "revenue drop vs a year earlier"))
    assert rules_of(rows) == [("revenue drop", "2025-06")]


def test_streaks_book_to_bill_backlog_shrinking_and_contract_asset_age():
    # C1 12,000 for 2025 billed annually in arrears (one invoice 2025-12-31): a contract asset all year.
    # C2 6,000 for 2025 booked 2024-12-15, billed monthly in advance (500 a month).
    # Bookings: Dec 6,000, Jan 12,000, then 0; billings 500 a month from January -> book-to-bill 0 from February:
    # 3 in a row at April, May, June. Backlog at month ends: Dec 6,000, Jan 16,500, Feb 15,000, ... falling from
    # February: 3 in a row at April, May, June. Bookings drop 100% in February (12,000 -> 0).
    # As of 2025-07-15, C1 has been a contract asset since 2025-01-01 (> 90 days): recognized 6,000 + 1,000 x 15/31
    # = 6,483.87, billed 0.
    b = book(["C1", "Arrears Co", "1", None, "2025-01-01", "2025-12-31", 12000, "monthly", "annual", "arrears"],
             ["C2", "Monthly Co", "1", "2024-12-15", "2025-01-01", "2025-12-31", 6000, "monthly", "monthly",
              "advance"])
    rows = b.alerts("2025-07-15", rules=[["revenue concentration", "off"], ["ARR concentration", "off"]])
    assert rules_of(rows) == [
        ("contract asset age", "2025-07-15"),
        ("backlog shrinking", "2025-06"), ("book-to-bill below 1", "2025-06"),
        ("backlog shrinking", "2025-05"), ("book-to-bill below 1", "2025-05"),
        ("backlog shrinking", "2025-04"), ("book-to-bill below 1", "2025-04"),
        ("bookings drop", "2025-02")]
    asset = rows[1]
    assert asset[3] == "C1 (Arrears Co): contract asset 6,483.87" and asset[4] == "more than 90 days"
    btb = next(r for r in rows[1:] if r[1] == "book-to-bill below 1" and r[2] == "2025-04")
    assert btb[3] == "book-to-bill 0.00" and btb[4] == "3 periods in a row"
    # a shorter streak threshold fires earlier; a longer age limit stays silent
    rows = b.alerts("2025-07-15", rules=only("book-to-bill below 1", "contract asset age", book_to_bill_below_1=2,
                                             contract_asset_age=200))
    assert rules_of(rows) == [("book-to-bill below 1", p) for p in ("2025-06", "2025-05", "2025-04", "2025-03")]


def test_backlog_outgrowing_revenue_for_three_periods():
    # B0 12,000 for 2025 booked 2024-12-01 (1,000 revenue a month, revenue growth 0% from February); N1..N3 10,000
    # each for 2026, booked 2025-02-10, 03-10, 04-10. Backlog at month ends: Jan 11,000, Feb 20,000 (+81.8%),
    # Mar 29,000 (+45%), Apr 38,000 (+31%), May 37,000 (down): three in a row at April only.
    b = book(["B0", "Base", "1", "2024-12-01", "2025-01-01", "2025-12-31", 12000, "monthly", "upfront", None],
             ["N1", "New 1", "1", "2025-02-10", "2026-01-01", "2026-12-31", 10000, "monthly", "upfront", None],
             ["N2", "New 2", "1", "2025-03-10", "2026-01-01", "2026-12-31", 10000, "monthly", "upfront", None],
             ["N3", "New 3", "1", "2025-04-10", "2026-01-01", "2026-12-31", 10000, "monthly", "upfront", None])
    rows = b.alerts("2025-06-10", rules=only("backlog outgrows revenue", "backlog shrinking"))
    assert rules_of(rows) == [("backlog outgrows revenue", "2025-04")]
    assert rows[1][3] == "backlog 38,000.00, revenue 1,000.00"


def test_negative_revenue_in_a_period():
    # 12,000 for 2025, cancelled 2025-04-01 at a revised price of 2,000: recognized to March 3,000, so April
    # takes 2,000 - 3,000 = -1,000.00
    b = book(["X1", "Acme", "1", None, "2025-01-01", "2025-12-31", 12000, "monthly", "upfront", None],
             events=[["X1", "1", "2025-04-01", "cancel", 2000]])
    rows = b.alerts("2025-05-15", rules=only("negative revenue"))
    assert [r[:5] for r in rows[1:]] == [["warning", "negative revenue", "2025-04", "-1,000.00", "below 0"]]
    calm = book(["X1", "Acme", "1", None, "2025-01-01", "2025-12-31", 12000, "monthly", "upfront", None])
    assert calm.alerts("2025-05-15", rules=only("negative revenue")) == [rows[0]]


def test_rules_range_is_checked_and_names_its_row():
    assert parse_rules([["Rule", "Threshold"], ["Revenue drop", "25%"]])["revenue drop"] == parse_rules(
        [["revenue drop", 0.25]])["revenue drop"]
    with pytest.raises(BBBError, match="rules row 2: unknown rule 'revenue dorp' \\(did you mean 'revenue drop'"):
        parse_rules([["Rule", "Threshold"], ["revenue dorp", "30%"]])
    with pytest.raises(BBBError, match="rules row 1: threshold '1.5' of 'backlog shrinking' is not a whole number"):
        parse_rules([["backlog shrinking", "1.5"]])
    with pytest.raises(BBBError, match="is not a share like 30% or 0.3"):
        parse_rules([["revenue drop", "150%"]])


def test_quarters_compare_quarters():
    # by quarter: 2026-Q2 (April-May so far... as of 2026-07-15 Q2 is complete): 1,600 vs Q1 0 (no base);
    # vs 2025-Q2 1,000: up, no alert
    rows = book(*DROPS).alerts("2026-07-15", period="quarter", rules=only("revenue drop",
                                                                         "revenue drop vs a year earlier"))
    assert rules_of(rows) == [("revenue drop", "2025-Q3")]  # 2025-Q2 1,000 -> 2025-Q3 0


def test_alerts_tab_and_summary_line_follow_the_settings():
    from bbb_xl.excel.workflow import compute_reports
    rows = [H] + DROPS
    settings = [["Setting", "Value"], ["As-of date", "2026-06-15"], ["Report start", "2026-01"],
                ["Report end", "2026-06"], ["Alert: revenue concentration", "off"], ["Alert: bookings drop", "off"],
                ["Alert: billings drop", "off"], ["Alert: bookings drop vs a year earlier", "off"],
                ["Alert: billings drop vs a year earlier", "off"], ["Alert: revenue drop", "45%"]]
    reports = compute_reports(rows, settings)
    tab = reports.sheets["Alerts"].rows()
    assert tab[3] == ["Severity", "Rule", "Period", "Figure", "Threshold", "Explanation"]
    # revenue drop at 45%: May 2026 (-40%) stays silent, June 2025 (-100%) fires; a year earlier (20%) fires
    assert [(r[1], r[2]) for r in tab[4:]] == [("revenue drop vs a year earlier", "2026-05"),
                                              ("revenue drop", "2025-06")]
    assert reports.sheets["Summary"].cell(5, 2) == "2 alerts \u2014 see Alerts"
    settings.append(["Alert: revenue drop vs a year earlier", "sometimes"])
    refused = compute_reports(rows, settings)
    assert any(p.location == f"Settings!B{len(settings)}" and "is not a share like 30% or 0.3" in p.message
               for p in refused.problems)


def test_bbb_alerts_spills_through_the_xlwings_call_path():
    import xlwings_replay as xr
    udfs = xr.load_udf_module("bbb_xl.udfs")
    rng = xr.excel_range([H] + DROPS)
    out = xr.call(udfs.BBB_ALERTS, rng, "2026-06-15", xr.excel_range([["Rule", "Threshold"],
                                                                       ["revenue concentration", "off"]]))
    assert out[0] == ["Severity", "Rule", "Period", "Figure", "Threshold", "Explanation"]
    assert [r[1] for r in out[1:4]] == ["billings drop", "billings drop vs a year earlier", "bookings drop"]
    assert xr.call(udfs.BBB_ALERTS, rng, "2025-05-20") == "No alerts"  # nothing complete to compare yet
    bad = xr.call(udfs.BBB_ALERTS, rng, "2026-06-15", xr.excel_range([["revenue dorp", "30%"]]))
    assert bad.startswith("#BBB! rules row 1: unknown rule 'revenue dorp' (did you mean 'revenue drop'?)")



def test_renewals_due_largest_first_and_arr_concentration():
    # As of 2025-10-15, within 90 days (to 2026-01-13): R1 (ARR 24,000) and R2 (ARR 6,000) end 2025-12-31;
    # R3 ends 2025-12-31 too but Beta's renewal R3b (same product) starts 2026-01-01, booked 2025-10-01: renewed;
    # R4 ends 2026-06-30: not due yet; R5 was cancelled on 2025-09-01; R6 (free, ARR 0) has nothing to renew.
    # ARR at 2025-10-15: Acme 24,000 + 6,000,
    # Beta 12,000 (+ R3b not started), Delta 12,000 (R4) -> Acme 30,000 of 54,000 = 55.6%.
    h = H + ["Product"]
    rows = [h,
            ["R1", "Acme", "1", None, "2025-01-01", "2025-12-31", 24000, "monthly", "upfront", None, "Platform"],
            ["R2", "Acme", "1", None, "2025-01-01", "2025-12-31", 6000, "monthly", "upfront", None, "Support"],
            ["R3", "Beta", "1", None, "2025-01-01", "2025-12-31", 12000, "monthly", "upfront", None, "Platform"],
            ["R3b", "Beta", "1", "2025-10-01", "2026-01-01", "2026-12-31", 13000, "monthly", "upfront", None,
             "Platform"],
            ["R4", "Delta", "1", None, "2025-07-01", "2026-06-30", 12000, "monthly", "upfront", None, "Platform"],
            ["R5", "Gamma", "1", None, "2025-01-01", "2025-12-31", 12000, "monthly", "upfront", None, "Platform"],
            ["R6", "Omega", "1", None, "2025-01-01", "2025-12-31", 0, "monthly", "upfront", None, "Trial"]]
    b = load_book(rows, events=[EV, ["R5", "1", "2025-09-01", "cancel", 8000]])
    assert b.ok, b.problems
    found = b.alerts("2025-10-15", rules=only("renewals due", "ARR concentration"))
    renewals = [r for r in found[1:] if r[1] == "renewals due"]
    assert [(r[2], r[3]) for r in renewals] == [("2025-12-31", "R1 line 1 (Acme, Platform): ARR 24,000.00"),
                                                ("2025-12-31", "R2 line 1 (Acme, Support): ARR 6,000.00")]
    assert renewals[0][4] == "within 90 days"
    shares = [r[3] for r in found[1:] if r[1] == "ARR concentration"]
    assert shares == ["Acme: ARR 30,000.00 of 54,000.00 (55.6%)", "Beta: ARR 12,000.00 of 54,000.00 (22.2%)",
                      "Delta: ARR 12,000.00 of 54,000.00 (22.2%)"]
    # 60 days: nothing ends by 2025-12-14
    assert b.alerts("2025-10-15", rules=only("renewals due", renewals_due=60)) == [found[0]]
