"""Tests for benchmarks/ (generator, naive reference loop, spreadsheet way, measuring)."""
from __future__ import annotations

import csv
import datetime as dt
import sys
from fractions import Fraction
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import measure, naive_loop, sheet_way  # noqa: E402
from benchmarks.generate import HEADER, generate_book, write_csv  # noqa: E402
from benchmarks.naive_loop import invoices, naive_schedules, parse_rows, round_half_away  # noqa: E402

D = dt.datetime
d = dt.date
H = ["Contract ID", "Customer", "Line ID", "Product", "Booking Date", "Start Date", "End Date",
     "Amount", "Recognition", "Billing", "Billing Timing", "Billing Start"]


def row(start, end, amount, rec=None, bill=None, timing=None, booking=None, bstart=None,
        cid="C1", lid="L1"):
    return [cid, "Cust", lid, "Prod", booking, start, end, amount, rec, bill, timing, bstart]


def sched(rows, first, n):
    return naive_schedules([H] + rows, first, n)


def inv(*args, **kw):
    return invoices(parse_rows([H, row(*args, **kw)])[0])


# ----------------------------------------------------------------------------- recognition
def test_round_half_away_from_zero():
    assert [round_half_away(Fraction(x, 2)) for x in (-5, -3, -1, 1, 3, 5)] == [-3, -2, -1, 1, 2, 3]
    assert round_half_away(Fraction(-149, 100)) == -1 and round_half_away(Fraction(251, 100)) == 3


def test_monthly_12000_over_2025():
    r = sched([row(D(2025, 1, 1), D(2025, 12, 31), 12000.0, "monthly")], "2025-01-01", 12)
    assert r["revenue"] == [100000] * 12


def test_monthly_300_partial_months():
    r = sched([row(D(2026, 1, 20), D(2026, 3, 2), 300.0)], "2026-01-01", 4)   # blank = monthly
    assert r["revenue"] == [8000, 20667, 1333, 0]


def test_daily_100_over_2026():
    r = sched([row(D(2026, 1, 1), D(2026, 12, 31), 100.0, "daily")], "2026-01-01", 12)
    assert r["revenue"][:2] == [849, 767]
    assert sum(r["revenue"]) == 10000


def test_negative_amounts_round_half_away_from_zero():
    pos = sched([row(D(2026, 1, 31), D(2026, 2, 1), 0.03, "daily")], "2026-01-01", 2)
    neg = sched([row(D(2026, 1, 31), D(2026, 2, 1), -0.03, "daily")], "2026-01-01", 2)
    assert pos["revenue"] == [2, 1]          # 1.5 cents -> 2
    assert neg["revenue"] == [-2, -1]        # -1.5 cents -> -2


def test_point_in_time_and_booking_catch_up():
    r = sched([row(D(2025, 2, 10), D(2025, 2, 10), 500.0, "point in time")], "2025-01-01", 3)
    assert r["revenue"] == [0, 50000, 0]
    r = sched([row(D(2025, 2, 10), D(2025, 2, 10), 500.0, "point in time", booking=D(2025, 3, 5))],
              "2025-01-01", 3)
    assert r["revenue"] == [0, 0, 50000]


def test_booking_after_start_catches_up_and_moves_invoices():
    r = sched([row(D(2025, 1, 1), D(2025, 12, 31), 12000.0, "monthly", "quarterly",
                   booking=D(2025, 3, 10))], "2025-01-01", 5)
    assert r["revenue"] == [0, 0, 300000, 100000, 100000]
    assert r["billings"] == [0, 0, 300000, 300000, 0]    # Q1 invoice 01-01 dated 03-10
    assert r["bookings"] == [0, 0, 1200000, 0, 0]
    assert r["backlog"] == [0, 0, 900000, 800000, 700000]
    assert r["deferred"] == [0, 0, 0, 200000, 100000]
    assert r["unbilled"] == [0] * 5


def test_window_starting_mid_contract():
    r = sched([row(D(2025, 1, 1), D(2025, 12, 31), 12000.0)], "2025-06-01", 3)
    assert r["revenue"] == [100000] * 3 and r["billings"] == [0] * 3
    assert r["deferred"] == [600000, 500000, 400000]
    assert r["backlog"] == [600000, 500000, 400000]
    assert r["month_ends"] == [d(2025, 6, 30), d(2025, 7, 31), d(2025, 8, 31)]


def test_parse_defaults():
    ln = parse_rows([H, row(D(2025, 1, 5), D(2025, 2, 4), 10.0)])[0]
    assert (ln.recognition, ln.billing, ln.timing) == ("monthly", "upfront", "advance")
    assert ln.booking == ln.billing_start == d(2025, 1, 5) and ln.amount == 1000


# ----------------------------------------------------------------------------- billing
def test_quarterly_advance_and_arrears():
    a = inv(D(2025, 1, 15), D(2026, 1, 14), 1200.0, bill="quarterly")
    assert a == [(d(2025, 1, 15), 30000), (d(2025, 4, 15), 30000),
                 (d(2025, 7, 15), 30000), (d(2025, 10, 15), 30000)]
    b = inv(D(2025, 1, 15), D(2026, 1, 14), 1200.0, bill="quarterly", timing="arrears")
    assert [x[0] for x in b] == [d(2025, 4, 14), d(2025, 7, 14), d(2025, 10, 14), d(2026, 1, 14)]


def test_monthly_billing_from_month_end_anchor():
    # boundaries from the anchor 01-31: 02-28, 03-31, 04-30, 05-31 -> periods
    # [01-31..02-27] [02-28..03-30] [03-31..04-29] full, [04-30..04-30] cut = 1/31
    ln = parse_rows([H, row(D(2025, 1, 31), D(2025, 4, 30), 1000.0, bill="monthly")])[0]
    assert naive_loop.billing_periods(ln) == [
        (d(2025, 1, 31), d(2025, 2, 27), 1), (d(2025, 2, 28), d(2025, 3, 30), 1),
        (d(2025, 3, 31), d(2025, 4, 29), 1), (d(2025, 4, 30), d(2025, 4, 30), Fraction(1, 31))]
    # cumulative over W = 94/31: 32978.72->32979, 65957.45->65957, 98936.17->98936, 100000
    assert invoices(ln) == [(d(2025, 1, 31), 32979), (d(2025, 2, 28), 32978),
                            (d(2025, 3, 31), 32979), (d(2025, 4, 30), 1064)]


def test_semiannual_cut_last_period_whole_months_plus_days():
    # [01-01..06-30] weighs 6; [07-01..08-15] = 1 whole month + 15/31 -> W = 232/31
    a = inv(D(2025, 1, 1), D(2025, 8, 15), 1000.0, bill="semiannual")
    assert a == [(d(2025, 1, 1), 80172), (d(2025, 7, 1), 19828)]      # 100000*186/232
    b = inv(D(2025, 1, 1), D(2025, 8, 15), 1000.0, bill="semiannual", timing="arrears")
    assert b == [(d(2025, 6, 30), 80172), (d(2025, 8, 15), 19828)]


def test_upfront_and_billing_start():
    assert inv(D(2025, 1, 1), D(2025, 12, 31), 99.99) == [(d(2025, 1, 1), 9999)]
    assert inv(D(2025, 1, 1), D(2025, 12, 31), 99.99, timing="arrears") == [(d(2025, 12, 31), 9999)]
    assert inv(D(2025, 1, 1), D(2025, 12, 31), 99.99, bstart=D(2025, 2, 1)) == [(d(2025, 2, 1), 9999)]
    # annual billing starting 2025-03-01 on a 2025 contract: 10 months = one cut period
    assert inv(D(2025, 1, 1), D(2025, 12, 31), 100.0, bill="annual", bstart=D(2025, 3, 1)) \
        == [(d(2025, 3, 1), 10000)]
    # monthly billing 3 invoices, 1/3 each: cumulative rounding 33.33, 66.67, 100
    assert [c for _, c in inv(D(2025, 1, 1), D(2025, 3, 31), 100.0, bill="monthly")] == [3333, 3334, 3333]


def test_deferred_unbilled_net_per_contract():
    rows = [row(D(2025, 1, 1), D(2025, 12, 31), 1200.0, cid="A", lid="A1"),          # upfront adv
            row(D(2025, 1, 1), D(2025, 12, 31), 2400.0, timing="arrears", cid="A", lid="A2"),
            row(D(2025, 1, 1), D(2025, 12, 31), 600.0, bill="quarterly", timing="arrears",
                cid="B", lid="B1")]
    r = sched(rows, "2025-01-01", 3)
    # A nets line 1 (billed 1200, recognized 100/month) against line 2 (billed 0 until
    # 12-31, recognized 200/month): +1100-200, +1000-400, +900-600 -> deferred 900, 600, 300
    # (not deferred 1100 + unbilled 200); B (quarterly arrears): unbilled 50, 100, 0
    assert r["deferred"] == [90000, 60000, 30000]
    assert r["unbilled"] == [5000, 10000, 0]
    assert r["billings"] == [120000, 0, 15000]
    assert r["backlog"] == [385000, 350000, 315000]          # 4200 - 350 per month


# ----------------------------------------------------------------------------- generator
def test_generator_is_seeded_and_well_formed():
    a, b, c = generate_book(3000, seed=7), generate_book(3000, seed=7), generate_book(3000, seed=8)
    assert a == b and a != c
    assert a[0] == HEADER and len(a) == 3001
    lo, hi = D(2024, 1, 1), D(2026, 12, 31)
    col = {h: i for i, h in enumerate(HEADER)}
    per_contract = {}
    for r in a[1:]:
        s, e, amt = r[col["Start Date"]], r[col["End Date"]], r[col["Amount"]]
        bk = r[col["Booking Date"]] or s
        bs = r[col["Billing Start"]] or s
        assert isinstance(amt, float) and round(amt * 100) / 100 == amt and amt != 0
        assert lo <= bk <= e and lo <= s <= e <= hi and s <= bs <= e
        assert all(isinstance(v, (str, float, D)) or v is None for v in r)
        per_contract[r[0]] = per_contract.get(r[0], 0) + 1
    assert set(per_contract.values()) == {1, 2, 3, 4}
    vals = {h: {r[col[h]] for r in a[1:]} for h in ("Recognition", "Billing", "Billing Timing")}
    assert {"monthly", "daily", "point in time", None} <= vals["Recognition"]
    assert {"upfront", "monthly", "quarterly", "semiannual", "annual", None} <= vals["Billing"]
    assert "arrears" in vals["Billing Timing"]
    assert any(r[col["Amount"]] < 0 for r in a[1:])
    bk_vs_start = {(r[col["Booking Date"]] > r[col["Start Date"]]) - (r[col["Booking Date"]] < r[col["Start Date"]])
                   for r in a[1:] if r[col["Booking Date"]]}
    assert bk_vs_start == {-1, 0, 1}       # booked before, on and after Start
    terms = {(r[col["End Date"]] - r[col["Start Date"]]).days for r in a[1:]}
    assert min(terms) == 0 and max(terms) > 1000


def test_generator_window_and_naive_invariants():
    rows = generate_book(1500, months=24, seed=3, start="2025-01-01")
    assert all(D(2025, 1, 1) <= r[5] and r[6] <= D(2026, 12, 31) for r in rows[1:])
    r = naive_schedules(rows, "2025-01-01", 24)
    total = sum(round(x[7] * 100) for x in rows[1:])
    assert sum(r["revenue"]) == sum(r["billings"]) == sum(r["bookings"]) == total
    assert r["backlog"][-1] == r["deferred"][-1] == r["unbilled"][-1] == 0
    cum_b = cum_r = 0
    for i in range(24):
        cum_b += r["billings"][i]
        cum_r += r["revenue"][i]
        assert r["deferred"][i] - r["unbilled"][i] == cum_b - cum_r
        assert r["deferred"][i] >= 0 and r["unbilled"][i] >= 0
    assert min(r["unbilled"]) >= 0 and max(r["unbilled"]) > 0 and max(r["deferred"]) > 0


def test_write_csv(tmp_path):
    rows = generate_book(50, seed=1)
    p = tmp_path / "book.csv"
    write_csv(rows, p)
    back = list(csv.reader(open(p, newline="", encoding="utf-8")))
    assert back[0] == HEADER and len(back) == 51
    r = rows[1]
    assert back[1][5] == r[5].date().isoformat() and back[1][7] == f"{r[7]:.2f}"
    assert naive_schedules(back, "2024-01-01", 36)["revenue"] == \
        naive_schedules(rows, "2024-01-01", 36)["revenue"]


# ----------------------------------------------------------------------------- sheet way
def test_write_sheet_formulas(tmp_path):
    import openpyxl
    p = tmp_path / "w.xlsx"
    info = sheet_way.write_sheet([H, row(D(2026, 1, 20), D(2026, 3, 2), 300.0),
                                  row(D(2026, 2, 1), D(2026, 2, 1), 5.0)], "2026-01-01", 2, p)
    assert info["n_formulas"] == 9 and info["totals_row"] == 5
    ws = openpyxl.load_workbook(p)["Waterfall"]
    assert ws["D3"].value == "=IF($B3<$A3,0,$C3*MAX(0,MIN($B3,D$2)-MAX($A3,D$1)+1)/($B3-$A3+1))"
    assert ws["F4"].value == "=SUM(D4:E4)" and ws["E5"].value == "=SUM(E3:E4)"
    assert ws["D1"].value == D(2026, 1, 1) and ws["E2"].value == D(2026, 2, 28)
    cached = openpyxl.load_workbook(p, data_only=True)["Waterfall"]
    assert cached["D3"].value == sheet_way.SENTINEL


def test_exact_daily():
    ex = sheet_way.exact_daily([H, row(D(2026, 1, 1), D(2026, 12, 31), 100.0, "monthly")],
                               "2026-01-01", 2)
    assert ex == [[Fraction(100 * 31, 365), Fraction(100 * 28, 365)]]


@pytest.mark.libreoffice
@pytest.mark.skipif(sheet_way.soffice_path() is None, reason="LibreOffice (soffice) not installed")
def test_sheet_way_libreoffice_recalc(tmp_path):
    rows = [H, row(D(2026, 1, 1), D(2026, 12, 31), 100.0, "daily"),
            row(D(2026, 1, 20), D(2026, 3, 2), 300.0),
            row(D(2026, 2, 14), D(2026, 2, 14), 42.5, "point in time"),
            row(D(2025, 11, 15), D(2026, 2, 14), -90.0)] + generate_book(30, seed=5)[1:]
    res = sheet_way.run_sheet_way(rows, "2026-01-01", 4, tmp_path / "sw", check_cells=True)
    assert res["recalculated"] and res["n_lines"] == 34 and res["n_formulas"] == 35 * 5
    assert res["max_cell_err"] < 1e-6 and res["max_total_err"] < 1e-6
    exact = sheet_way.exact_daily(rows, "2026-01-01", 4)
    assert exact[0][0] == Fraction(3100, 365)                       # 8.4931...
    assert abs(res["month_totals"][1] - float(res["exact_month_totals"][1])) < 0.005
    assert res["recalc_s"] > 0 and res["startup_s"] > 0
    # without the forced-recalc profile setting the sentinels survive: the check is real
    out, _ = sheet_way.recalc(res["xlsx_path"], tmp_path / "norecalc", tmp_path / "prof1",
                              recalc_mode=1)
    assert sheet_way.read_results(out, 34, 4)["sentinels_left"] == 35 * 5


# ----------------------------------------------------------------------------- measure
def test_timeit():
    calls = []
    med, runs = measure.timeit(lambda: calls.append(1), repeat=5, warmup=1)
    assert len(runs) == 5 and len(calls) == 6 and min(runs) <= med <= max(runs)


def test_peak_rss_sees_allocation():
    r = measure.peak_rss(measure.allocate_mib, 150, return_result=True)
    assert r["result"] == 150 * 2**20
    assert 145 * 2**20 <= r["delta_bytes"] < 200 * 2**20
    assert r["baseline_rss_bytes"] < 100 * 2**20
    # a big parent must not leak into the child's figure (ru_maxrss would: fork+exec)
    ballast = bytearray(300 * 2**20)
    for i in range(0, len(ballast), 4096):
        ballast[i] = 1
    r = measure.peak_rss(measure.allocate_mib, 20)
    del ballast
    assert 19 * 2**20 <= r["delta_bytes"] and r["peak_rss_bytes"] < 150 * 2**20
    with pytest.raises(ValueError):
        measure.peak_rss(lambda: None)


def test_markdown_table():
    t = measure.markdown_table(["method", "lines", "s"], [["naive", 10000, 3.8], ["sheet", 2000, 12.345]])
    assert t == ("| method |  lines |    s |\n"
                 "| :----- | -----: | ---: |\n"
                 "| naive  | 10,000 |  3.8 |\n"
                 "| sheet  |  2,000 | 12.3 |\n")


def test_loglog_chart(tmp_path):
    p = measure.loglog_chart({"naive": [(1000, 0.4), (10000, 3.9)], "sheet": [(1000, 5), (2000, 9)]},
                             tmp_path / "c.png")
    assert open(p, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
