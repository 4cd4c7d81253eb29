"""FX method IFRIC 22 (engine.fx_ifric22): revenue at the rate of the invoice that paid for it in advance, else of
the month it is recognized; deferred revenue at historical rates; the contract asset remeasured at closing rates
with the difference posted to an FX gain/loss account.

Sources: IFRIC 22 paragraphs 8-9 and Illustrative Example 2 (IE5-IE8, multiple receipts for revenue recognised at
a single point in time: https://ifrs.org/content/dam/ifrs/publications/html-standards/english/2023/issued/
ifric22-ie.html); IAS 21.21-23; ASC 830-10-45-17 / 55-10 (an average rate for the period stands in for the daily
rates), ASC 830-10-45-18 (deferred income is nonmonetary: historical rates), ASC 830-20-35-1 (a balance to be
settled in a foreign currency is remeasured: transaction gain or loss)."""
import datetime as dt
from decimal import Decimal, Decimal as D
from fractions import Fraction

from hypothesis import given, settings as hsettings, strategies as st
import pytest

from bbb_xl import load_book
from bbb_xl.api import clear_cache
from bbb_xl.core.money import round_half_away
from bbb_xl.udfs import BBB_DEFERRED, BBB_REVENUE, BBB_SCHEDULE, BBB_UNBILLED

HEADER = ["Contract ID", "Customer", "Line ID", "Booking Date", "Start Date", "End Date", "Amount",
          "Recognition", "Billing", "Billing Timing", "Currency"]
FX = ["Currency", "Month", "Rate", "Rate Type"]
EVENTS = ["Contract ID", "Line ID", "Date", "Event", "Amount"]
MONTHS = [f"2026-{m:02d}" for m in range(1, 13)]
# average rates rise by 0.01 a month from 1.10 in January; closing rates sit 0.005 above that month's average
AVERAGE = {m: D("1.10") + D("0.01") * k for k, m in enumerate(MONTHS)}
CLOSING = {m: AVERAGE[m] + D("0.005") for m in MONTHS}
RATES = [FX] + [["EUR", m, float(r), "average"] for m, r in AVERAGE.items()] + \
    [["EUR", m, float(r), "closing"] for m, r in CLOSING.items()] + [["EUR", "2025-12", 1.05, "average"]]


def line(billing, timing="advance", booking="2026-01-01", amount=12000):
    return [HEADER, ["E1", "Euro AG", "a", booking, "2026-01-01", "2026-12-31", amount, "monthly", billing, timing,
                     "EUR"]]


def book_of(rows, rates=RATES, events=None, method="IFRIC 22", **kw):
    return load_book(rows, events, fx=rates, reporting_currency="USD", fx_method=method, **kw)


def row(book, metric, start="2026-01", end="2026-12"):
    return book.schedule_for(metric, start, end).to_rows()[1][1:]


# --- IFRIC 22 Illustrative Example 2 (IE5-IE8) -----------------------------------------------------------------
def test_ifric22_example_2_advance_receipt_fixes_the_rate_of_its_part_of_the_revenue():
    # Entity B: contract 1 June 20X2 (here 2022) to deliver goods on 1 September for FC100; FC40 received 1 August,
    # the balance receivable on 30 September. The example gives no rates: August 1.10, September 1.20 (June, the
    # Booking Date month, 1.05 only converts bookings). IE7-IE8: the FC40 of revenue at the 1 August rate, the
    # FC60 at the 1 September rate: 40 x 1.10 + 60 x 1.20 = 44.00 + 72.00 = 116.00.
    contracts = [HEADER, ["B1", "Customer", "goods", "2022-06-01", "2022-09-01", "2022-09-01", 100,
                          "point in time", "upfront", "advance", "EUR"]]
    events = [EVENTS, ["B1", "goods", "2022-08-01", "invoice", 40], ["B1", "goods", "2022-09-30", "invoice", 60]]
    rates = [FX, ["EUR", "2022-06", 1.05, "average"], ["EUR", "2022-08", 1.10, "average"],
             ["EUR", "2022-09", 1.20, "average"], ["EUR", "2022-08", 1.12, "closing"],
             ["EUR", "2022-09", 1.25, "closing"]]
    book = book_of(contracts, rates, events)
    assert book.ok, book.errors
    assert book.flow("revenue", "2022-09") == D("116.00")
    # IE6: the contract liability of FC40 at the 1 August rate, not updated at the August closing rate (1.12)
    assert book.balance("deferred", "2022-08-31") == D("44.00")
    assert book.balance("deferred", "2022-09-30") == 0 and book.balance("unbilled", "2022-09-30") == 0
    assert book.fx_gain_loss("2022-08", "2022-09") == 0  # the receivable of FC60 arises in the month it is billed
    # the booking-rate method: all FC100 at June's 1.05
    assert book_of(contracts, rates, events, method=None).flow("revenue", "2022-09") == D("105.00")
    # the same in a formula (fx_method, the last argument, after tiers)
    args = (contracts, "2022-09", None, None, events, rates, None, None, None, None, None)  # ..., tiers
    assert BBB_REVENUE(*args, "IFRIC 22") == pytest.approx(116.00)
    assert BBB_REVENUE(*args) == pytest.approx(105.00)


# --- billed annually in advance: the invoice's rate holds for the whole year --------------------------------------
def test_annual_invoice_in_advance_fixes_revenue_at_its_rate_and_deferred_stays_historical():
    # EUR 12,000 over 2026, invoiced 1 January (January average 1.10 -> 13,200.00 USD). Booked in December 2025
    # (1.05): the booking-rate method says 12,000 x 1.05 / 12 = 1,050.00 a month.
    rows = line("annual", booking="2025-12-15")
    book = book_of(rows)
    assert book.ok, book.errors
    # 1,000 EUR a month, every cent paid for by the January invoice: 1,000 x 1.10 = 1,100.00 whatever the month's
    # own average rate (December's is 1.21)
    assert row(book, "revenue") == [D("1100.00")] * 12
    assert row(book, "billings") == [D("13200.00")] + [D("0.00")] * 11
    # deferred at the invoice's rate: June 30, 6,000 EUR unrecognized x 1.10 = 6,600.00 (not x June closing 1.155)
    assert book.balance("deferred", "2026-06-30") == D("6600.00")
    assert row(book, "deferred")[:3] == [D("12100.00"), D("11000.00"), D("9900.00")]
    assert row(book, "unbilled") == [D("0.00")] * 12
    assert book.fx_gain_loss("2026-01", "2026-12") == 0
    assert book.flow("bookings", "2025-12") == D("12600.00")  # bookings keep the Booking Date month's rate
    assert book.balance("backlog", "2026-12-31") == 0
    old = book_of(rows, method="booking rate")
    assert row(old, "revenue") == [D("1050.00")] * 12
    # formulas take the method last
    assert BBB_DEFERRED(rows, "2026-06-30", None, None, RATES, None, None, None, None, "IFRIC 22") == 6600.0
    table = BBB_SCHEDULE(rows, "revenue", "2026-01", "2026-03", None, None, None, None, RATES, None, None, None,
                         None, None, "ifric 22")
    assert table[1][1:] == [1100.0, 1100.0, 1100.0]


# --- billed quarterly in arrears: revenue at each month's rate, the contract asset at closing rates ---------------
def test_quarterly_arrears_contract_asset_is_remeasured_and_the_fx_gain_posted():
    rows = line("quarterly", "arrears")
    book = book_of(rows)
    assert book.ok, book.errors
    # no invoice before the revenue: each month's 1,000 EUR at that month's average rate
    assert row(book, "revenue") == [D("1100.00"), D("1110.00"), D("1120.00"), D("1130.00"), D("1140.00"),
                                    D("1150.00"), D("1160.00"), D("1170.00"), D("1180.00"), D("1190.00"),
                                    D("1200.00"), D("1210.00")]
    # the quarter's invoice on its last day at that month's average: 3,000 x 1.12 = 3,360.00, 3,000 x 1.15 ...
    assert row(book, "billings")[2::3] == [D("3360.00"), D("3450.00"), D("3540.00"), D("3630.00")]
    # contract asset: Jan 31 1,000 x 1.105 = 1,105.00; Feb 28 2,000 x 1.115 = 2,230.00; Mar 31 billed: 0
    assert row(book, "unbilled")[:3] == [D("1105.00"), D("2230.00"), D("0.00")]
    assert row(book, "deferred") == [D("0.00")] * 12
    # FX gain = billings - revenue - deferred + contract asset, by month:
    # Jan: 0 - 1,100 + 1,105 = 5.00; Feb (to date): 0 - 2,210 + 2,230 = 20.00 -> 15.00;
    # Mar (to date): 3,360 - 3,330 = 30.00 -> 10.00 (= Jan's 1,000 x (1.12 - 1.10) + Feb's 1,000 x (1.12 - 1.11))
    assert [book.fx_gain_loss(m) for m in MONTHS[:3]] == [D("5.00"), D("15.00"), D("10.00")]
    assert book.fx_gain_loss("2026-01", "2026-12") == D("120.00")  # 4 quarters x 30.00
    assert BBB_UNBILLED(rows, "2026-02-28", None, None, RATES, None, None, "IFRIC 22") == 2230.0
    # the journal: Dr Contract Asset 1,105.00 / Cr Revenue 1,100.00 / Cr FX gain 5.00 in January
    journal = book.journal("2026-01", "2026-03")
    jan = [r for r in journal[1:] if r[0] == "JE-2026-01"]
    by_account = {r[3]: (r[5], r[6]) for r in jan}
    assert by_account == {"1250": (D("1105.00"), D("0")), "4000": (D("0"), D("1100.00")),
                          "7100": (D("0"), D("5.00"))}
    fx_memo = next(r[8] for r in jan if r[3] == "7100")
    assert fx_memo.startswith("FX gain: contract asset remeasured at closing rates")
    mar = {r[3]: (r[5], r[6]) for r in journal[1:] if r[0] == "JE-2026-03"}
    # March: Dr AR 3,360.00 / Cr Contract Asset 2,230.00 / Cr Revenue 1,120.00 / Cr FX gain 10.00
    assert mar == {"1200": (D("3360.00"), D("0")), "1250": (D("0"), D("2230.00")),
                   "4000": (D("0"), D("1120.00")), "7100": (D("0"), D("10.00"))}
    # the FX gain/loss account comes from the accounts given (Settings FX gain/loss account)
    named = book.journal("2026-01", "2026-01", accounts={"fx_gain_loss": "7200 Realised FX"})
    assert any(r[3] == "7200" and r[4] == "Realised FX" for r in named[1:])


def test_reporting_currency_lines_and_the_booking_rate_method_are_unchanged():
    rows = line("quarterly", "arrears") + [["U1", "Acme", "a", "2026-01-01", "2026-01-01", "2026-12-31", 1200,
                                            "monthly", "monthly", "advance", "USD"]]
    ifric, old = book_of(rows), book_of(rows, method="booking rate")
    sel = ifric.select("Currency=USD")
    assert ifric.flow_cents("revenue", 20454, 20818, sel) == old.flow_cents("revenue", 20454, 20818, sel) == 120000
    assert old.fx_gain_loss("2026") == 0 and old.journal("2026-01", "2026-01")[1:] and \
        not any(r[3] == "7100" for r in old.journal("2026-01", "2026-12")[1:])


# --- the FX range: Rate Type -------------------------------------------------------------------------------------
def test_a_range_without_rate_type_gives_average_rates_and_closing_ones_are_then_missing():
    rates = [["Currency", "Month", "Rate"]] + [["EUR", m, float(r)] for m, r in AVERAGE.items()]
    assert row(book_of(line("annual"), rates), "revenue") == [D("1100.00")] * 12  # no contract asset: enough
    book = book_of(line("quarterly", "arrears"), rates, sheet="Contracts", origin=(1, 1), fx_sheet="FX Rates",
                   fx_origin=(1, 1))
    (err,) = book.errors
    # the contract asset at January's end needs January's closing rate; the row to add goes below the range (13)
    assert err.cell == "K2" and err.column == "Currency"
    assert "no closing FX rate for EUR in 2026-01" in err.message and "FX Rates!A14" in err.message
    assert "EUR | 2026-01 | rate | closing" in err.message


def test_a_missing_average_rate_names_the_month():
    rates = [r for r in RATES if r[1] != "2026-05"]
    book = book_of(line("monthly"), rates, sheet="Contracts", origin=(1, 1))
    (err,) = book.errors
    assert "IFRIC 22: no average FX rate for EUR in 2026-05" in err.message and err.cell == "K2"
    text = BBB_REVENUE(line("monthly"), "2026", None, None, None, rates, None, None, None, None, None, "IFRIC 22")
    assert text.startswith("#BBB!") and "no average FX rate for EUR in 2026-05" in text
    # the booking-rate method needs only the Booking Date month
    assert BBB_REVENUE(line("monthly"), "2026", None, None, None, rates) == pytest.approx(13200.0)


@pytest.mark.parametrize("bad, message, column", [
    (["EUR", "2026-01", 1.1, "spot"], "Rate Type 'spot' is not one of: average, closing", "Rate Type"),
    (["EUR", "2026-01", 1.3, "closing"], "a second closing rate for EUR in 2026-01 (also row 2)", "Rate"),
])
def test_bad_rate_type_rows_are_located(bad, message, column):
    rates = [FX, ["EUR", "2026-01", 1.2, "closing"], ["EUR", "2026-01", 1.1, "average"], bad]
    book = book_of(line("annual"), rates)
    errors = [p for p in book.errors if p.table == "fx"]
    assert len(errors) == 1 and message in errors[0].message
    assert errors[0].row == 4 and errors[0].column == column


def test_an_unknown_method_is_refused():
    text = BBB_REVENUE(line("annual"), "2026", None, None, None, RATES, None, None, None, None, None, "spot rate")
    assert text.startswith("#BBB!") and "FX method 'spot rate' is not one of: booking rate, IFRIC 22" in text


# --- properties ----------------------------------------------------------------------------------------------------
RATE = st.integers(min_value=5000, max_value=20000).map(lambda n: n / 10000)


@hsettings(max_examples=40, deadline=None)
@given(amount=st.integers(min_value=1, max_value=5_000_000).map(lambda c: c / 100),
       months=st.integers(min_value=1, max_value=12),
       billing=st.sampled_from(["upfront", "monthly", "quarterly", "annual"]),
       timing=st.sampled_from(["advance", "arrears"]),
       average=st.lists(RATE, min_size=14, max_size=14), closing=st.lists(RATE, min_size=14, max_size=14))
def test_revenue_deferred_contract_asset_and_fx_tie_to_the_invoices_at_their_rates(amount, months, billing, timing,
                                                                                    average, closing):
    end = (dt.date(2026, 1, 1) + dt.timedelta(days=31 * months)).replace(day=1) - dt.timedelta(days=1)
    rows = [HEADER, ["E1", "Euro AG", "a", "2026-01-01", "2026-01-01", end.isoformat(), amount, "monthly", billing,
                     timing, "EUR"]]
    grid = [f"{2026 + k // 12}-{k % 12 + 1:02d}" for k in range(14)]
    rates = [FX] + [["EUR", m, a, "average"] for m, a in zip(grid, average)] + \
        [["EUR", m, c, "closing"] for m, c in zip(grid, closing)]
    book = book_of(rows, rates)
    assert book.ok, book.errors
    rev, bil = (book.schedule("revenue" if k == 0 else "billings", 20454, 20818).total() for k in range(2))
    deferred = book.schedule("deferred", 20454, 20818).total()
    asset = book.schedule("unbilled", 20454, 20818).total()
    for j, month in enumerate(grid[:12]):
        gain = book.fx_gain_loss_cents(20454, book.schedule("revenue", 20454, 20818).periods[j].last,
                                       book.select())
        # revenue + deferred - contract asset + FX gain to date = invoices at their rates to date
        assert int(rev[:j + 1].sum()) + int(deferred[j]) - int(asset[j]) + gain == int(bil[:j + 1].sum())
        if timing == "advance":  # every cent invoiced before it is recognized: no contract asset, no FX
            assert asset[j] == 0 and gain == 0
    # the line's reporting-currency revenue ties: the schedule sums to the revenue of the whole term
    assert int(rev.sum()) == int(book.flow_cents("revenue", 20454, 20818, book.select()))
    # ... and is, computed apart from the engine, each local cent at the rate IFRIC 22 gives it: in advance, every
    # cent paid for by an earlier (or same-month) invoice at the invoice month's rate; in arrears, no invoice
    # before the revenue, so the month it is recognized in
    periods = book.schedule("revenue", 20454, 20818).periods
    local = {m: [book.flow_cents(m, p.first, p.last, book.select(), convert=False) for p in periods]
             for m in ("revenue", "billings")}
    avg = [Fraction(Decimal(repr(a))) for a in average]
    basis = local["billings"] if timing == "advance" else local["revenue"]
    exact = sum(c * r for c, r in zip(basis, avg))
    assert int(rev.sum()) == round_half_away(exact.numerator, exact.denominator)
    if timing == "arrears":  # the contract asset at a month end: local recognized - billed at its closing rate
        for j in range(12):
            owed = sum(local["revenue"][:j + 1]) - sum(local["billings"][:j + 1])
            value = owed * Fraction(Decimal(repr(closing[j])))
            assert int(asset[j]) == round_half_away(value.numerator, value.denominator)
    # every journal entry balances
    entries: dict = {}
    for r in book.journal("2026-01", "2026-12")[1:]:
        entries.setdefault(r[0], [0, 0])
        entries[r[0]][0] += r[5]
        entries[r[0]][1] += r[6]
    assert all(d == c for d, c in entries.values())


def test_balances_at_a_day_ignore_events_dated_after_it():
    # a cancel on 2026-06-15 changes nothing the book said at 2026-05-31
    rows = line("quarterly", "arrears")
    events = [["Contract ID", "Line ID", "Date", "Event", "Amount"], ["E1", "a", "2026-06-15", "cancel", 6000]]
    before, after = book_of(rows), book_of(rows, events=events)
    assert after.ok, after.errors
    for metric in ("deferred", "unbilled"):
        assert after.balance(metric, "2026-05-31") == before.balance(metric, "2026-05-31")
    assert after.flow("revenue", "2026-01", "2026-12") == after.flow("billings", "2026-01", "2026-12") - \
        after.fx_gain_loss("2026-01", "2026-12") - after.balance("deferred", "2026-12-31") + \
        after.balance("unbilled", "2026-12-31")


# --- the workbook: Settings FX method and FX gain/loss account ---------------------------------------------------
def _settings(**values):
    from bbb_xl.settings import SETTINGS
    base = {"As-of date": dt.date(2026, 3, 31), "Currency": "USD", **values}
    return [["Setting", "Value", "Meaning"]] + [[n, base.get(n, v), ""] for n, v, _ in SETTINGS]


def test_workbook_refresh_reads_the_fx_method_from_settings():
    from bbb_xl.excel.workflow import compute_reports
    clear_cache()
    reports = compute_reports(line("quarterly", "arrears"), _settings(**{"FX method": "IFRIC 22",
                                                                          "FX gain/loss account": "7300 FX"}),
                              None, fx_rows=RATES)
    assert reports.status == "Inputs OK", reports.problems
    journal = reports.sheets["Journal Entries"].rows()
    fx_rows = [r for r in journal if r and r[3] == "7300"]
    assert fx_rows and fx_rows[0][4] == "FX" and fx_rows[0][6] == 500  # January's 5.00 gain, in cents
    default = compute_reports(line("quarterly", "arrears"), _settings(), None, fx_rows=RATES)
    assert not [r for r in default.sheets["Journal Entries"].rows() if r and r[3] in ("7100", "7300")]
    wrong = compute_reports(line("annual"), _settings(**{"FX method": "spot"}), None, fx_rows=RATES)
    assert any(p.sheet == "Settings" and "FX method 'spot' is not one of" in p.message for p in wrong.problems)


def test_deferred_revenue_tab_rolls_forward_with_the_fx_column():
    from bbb_xl.excel.workflow import compute_reports
    reports = compute_reports(line("quarterly", "arrears"), _settings(**{"FX method": "IFRIC 22"}), None,
                              fx_rows=RATES)
    rows = reports.sheets["Deferred Revenue"].rows()
    header = next(r for r in rows if r and r[0] == "Period")
    body = {r[0]: dict(zip(header, r)) for r in rows if r and r[0] in MONTHS}
    jan = body["2026-01"]
    # 0 + 0 - 1,100.00 + 1,105.00 - 5.00 (the gain) = 0
    assert (jan["\u2212 Revenue"], jan["\u00b1 Reclass with unbilled"], jan["\u2212 FX gain / + FX loss (IFRIC 22)"],
            jan["Closing unbilled"]) == (110000, 110500, 500, 110500)
    for x in body.values():
        assert x["Opening deferred"] + x["+ Billings"] - x["\u2212 Revenue"] + x["\u00b1 Reclass with unbilled"] \
            - x["\u2212 FX gain / + FX loss (IFRIC 22)"] == x["Closing deferred"]


def test_a_contract_asset_inside_a_month_needs_that_months_closing_rate():
    # billed on 31 March: no contract asset at March's end, but on 30 March EUR 3,000 is owed, and a balance asked
    # that day is remeasured at March's closing rate, so the range must have it
    rates = [r for r in RATES if not (r[1] == "2026-03" and r[3] == "closing")]
    book = book_of(line("quarterly", "arrears"), rates, sheet="Contracts", origin=(1, 1))
    (err,) = book.errors
    assert "no closing FX rate for EUR in 2026-03" in err.message and "contract asset in 2026-03" in err.message
    # recognized by 30 March: 2,000 + 1,000 x 30/31 = 2,967.74 EUR, none billed; x 1.125 = 3,338.7075 -> 3,338.71
    assert book_of(line("quarterly", "arrears")).balance("unbilled", "2026-03-30") == D("3338.71")


def test_a_workbook_file_is_read_with_its_settings_fx_method(tmp_path):
    import openpyxl
    from bbb_xl.api import load_file
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Contracts"
    for r in line("annual", booking="2025-12-15"):
        ws.append(r)
    fx_tab = wb.create_sheet("FX Rates")
    for r in RATES:
        fx_tab.append(r)
    settings = wb.create_sheet("Settings")
    for r in (["Setting", "Value"], ["Currency", "USD"], ["FX method", "IFRIC 22"]):
        settings.append(r)
    wb.save(tmp_path / "book.xlsx")
    book = load_file(tmp_path / "book.xlsx")
    assert book.fx_method == "IFRIC 22" and book.flow("revenue", "2026-02") == D("1100.00")
    settings["B3"] = "booking rate"
    wb.save(tmp_path / "book.xlsx")
    assert load_file(tmp_path / "book.xlsx").flow("revenue", "2026-02") == D("1050.00")


@hsettings(max_examples=30, deadline=None)
@given(billing=st.sampled_from(["monthly", "quarterly", "annual"]),
       timing=st.sampled_from(["advance", "arrears"]),
       event=st.sampled_from(["cancel", "modify", "adjust"]),
       day=st.integers(min_value=20, max_value=330),
       amount=st.integers(min_value=0, max_value=2_000_000).map(lambda c: c / 100),
       average=st.lists(RATE, min_size=13, max_size=13), closing=st.lists(RATE, min_size=13, max_size=13))
def test_journals_balance_and_figures_tie_after_a_change(billing, timing, event, day, amount, average, closing):
    date = (dt.date(2026, 1, 1) + dt.timedelta(days=day)).isoformat()
    events = [["Contract ID", "Line ID", "Date", "Event", "Amount", "Bill"],
              ["E1", "a", date, event, amount if event != "adjust" else amount - 5000,
               "yes" if event == "adjust" else None]]
    grid = MONTHS + ["2027-01"]
    rates = [FX] + [["EUR", m, a, "average"] for m, a in zip(grid, average)] + \
        [["EUR", m, c, "closing"] for m, c in zip(grid, closing)]
    book = book_of(line(billing, timing), rates, events)
    assert book.ok, book.errors
    sel = book.select()
    rev = book.schedule("revenue", 20454, 20848).total()
    bil = book.schedule("billings", 20454, 20848).total()
    deferred = book.schedule("deferred", 20454, 20848).total()
    asset = book.schedule("unbilled", 20454, 20848).total()
    refund = book.schedule_for("revenue", "2026-01", "2027-01").periods  # the same grid
    for j, p in enumerate(refund):
        gain = book.fx_gain_loss_cents(20454, p.last, sel)
        owed = book.refund_liability_cents(p.last, sel)
        assert int(rev[:j + 1].sum()) + int(deferred[j]) - int(asset[j]) + owed + gain == int(bil[:j + 1].sum())
        if not asset[:j + 1].any():  # no contract asset at a month end yet: every cent at one rate, no FX
            assert gain == 0
    assert int(rev.sum()) == book.flow_cents("revenue", 20454, 20848, sel)
    entries: dict = {}
    for r in book.journal("2026-01", "2027-01")[1:]:
        entries.setdefault(r[0], [0, 0])
        entries[r[0]][0] += r[5]
        entries[r[0]][1] += r[6]
    assert all(d == c for d, c in entries.values())
