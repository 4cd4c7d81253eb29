"""Every BBB_ formula through the replayed xlwings Windows COM call path (tests/xlwings_replay.py).

What the cell shows in Excel: ranges arrive as COM hands them (tz-aware datetimes, float numbers, error
ints, None for blanks), omitted optional arguments arrive as the COM missing marker, results come back
as numbers to the cent, spilled 2-D lists or one-line `#BBB!` messages.

Every expected number is computed by hand in the comment next to it (never copied from a run):
monthly recognition weighs each day 1/(days in its month), daily recognition weighs each day 1,
cumulative amounts are rounded half away from zero to the cent and a period's figure is the difference
of two cumulative amounts.
"""
import datetime as dt
import sys

import pytest

if sys.platform.startswith("win"):  # pragma: no cover
    pytest.skip("replay harness is for machines without pywin32", allow_module_level=True)

import xlwings_replay as xr  # noqa: E402  (tests/ is on sys.path via conftest)
from conftest import HEADER, book_rows, line  # noqa: E402

D = dt.datetime
NA = xr.XL_ERRORS["#N/A"]


def serial(text: str) -> float:
    return xr.excel_serial(dt.date.fromisoformat(text))


@pytest.fixture(scope="module")
def udfs():
    # the real @xw.func/@xw.arg applied, registered the way Excel's first call does
    return xr.load_udf_module("bbb_xl.udfs")


# The book. Dates as COM hands date cells (datetimes), as Excel serials (number-formatted cells) and as
# ISO text; blanks exercise the defaults (Recognition -> monthly, Billing -> upfront, Timing -> advance,
# Booking Date -> Start Date, Billing Start -> Start Date).
#
# C1 Acme    12,000.00 monthly 2025-01-01..2025-12-31, quarterly in advance   -> 1,000.00 revenue a month;
#            invoices of 3,000.00 on 2025-01-01, 04-01, 07-01, 10-01.                          Region EMEA
# C2 Beta       300.00 monthly 2026-01-20..2026-03-02 (serials), upfront (blank)               Region AMER
#            W = 12/31 + 1 + 2/31 = 45/31 months. Jan: 300*(12/31)/(45/31) = 300*12/45 = 80.00;
#            to Feb 28: 300*43/45 = 286.666.. -> 286.67, so Feb 206.67; Mar 300 - 286.67 = 13.33.
#            One invoice of 300.00 on 2026-01-20.
# C3 Gamma      100.00 daily 2026-01-01..2026-12-31 (ISO text), monthly billing in arrears     Region APAC
#            365 days. To Jan 31: 100*31/365 = 8.4931 -> 8.49; to Feb 28: 100*59/365 = 16.164 -> 16.16
#            (Feb 7.67); to Mar 31: 100*90/365 = 24.657 -> 24.66 (Mar 8.50).
#            Invoices: 12 equal monthly periods, cumulative rounding: 100*1/12 = 8.33, 100*2/12 = 16.67
#            (8.34), 100*3/12 = 25.00 (8.33), dated at each period end (arrears) 01-31, 02-28, 03-31.
# C4 Delta      500.00 point in time on 2025-03-10 (End blank), booked 2025-02-20, upfront     Region emea
#            Revenue 500.00 on 2025-03-10, booking 500.00 on 2025-02-20, invoice 500.00 on 2025-03-10.
# C5 Epsilon  2,400.00 monthly 2025-07-01..2027-06-30 (24 months: 100.00 a month), booked 2025-06-15,
#            annual in advance: invoices 1,200.00 on 2025-07-01 and 2026-07-01.            Region AMER
BOOK = book_rows(
    line("C1", "Acme", start=D(2025, 1, 1), end=D(2025, 12, 31), amount=12000.0, billing="quarterly",
         region="EMEA"),
    line("C2", "Beta", start=serial("2026-01-20"), end=serial("2026-03-02"), amount=300.0, recognition=None,
         billing=None, timing=None, region="AMER"),
    line("C3", "Gamma", start="2026-01-01", end="2026-12-31", amount=100.0, recognition="daily",
         billing="monthly", timing="arrears", region="APAC"),
    line("C4", "Delta", start=D(2025, 3, 10), end=None, amount=500.0, recognition="point in time",
         booking=D(2025, 2, 20), region="emea"),
    line("C5", "Epsilon", start=D(2025, 7, 1), end=D(2027, 6, 30), amount=2400.0, billing="annual",
         booking=D(2025, 6, 15), region="AMER"),
    [None] * len(HEADER),  # trailing blank rows of a table/range are ignored
)


@pytest.fixture(scope="module")
def book():
    return xr.excel_range(BOOK)


def cell(udfs, name, *args):
    """What the cell holding =name(args...) shows (args not given: omitted in the formula)."""
    return xr.call(getattr(udfs, name), *args)


def test_com_values_are_what_excel_hands_over(book):
    raw = xr.read_arg(book, {"convert": "raw"})
    start = raw[1][HEADER.index("Start Date")]
    assert isinstance(start, dt.datetime) and start.tzinfo is not None  # pywintypes: aware
    assert raw[1][HEADER.index("Amount")] == 12000.0 and raw[2][HEADER.index("Booking Date")] is None


# ---- BBB_REVENUE ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("args, expected", [
    (("2025-01",), 1000.00),                      # C1: 12,000 / 12
    (("2025-01", xr.MISSING, xr.MISSING), 1000.00),  # the missing marker itself
    (("2025-Q1",), 3500.00),                      # C1 3 x 1,000 + C4 500 on 03-10
    (("2025",), 13100.00),                        # C1 12,000 + C4 500 + C5 Jul-Dec 6 x 100
    ((2025.0,), 13100.00),                        # a cell holding 2025 means the year
    (("2026-02",), 314.34),                       # C2 206.67 + C3 7.67 + C5 100
    (("2026-02", ""), 314.34),                    # "" end_period = omitted
    (("2026-01", "2026-03", "Contract ID=C2"), 300.00),  # 80.00 + 206.67 + 13.33
    (("2026-01", xr.MISSING, "Contract ID=C2"), 80.00),
    (("2026-02", None, "Contract ID=C2"), 206.67),
    (("2026-03", None, "contract id=c2"), 13.33),  # filter names and values ignore case
    (("2026-01", None, "Region=APAC"), 8.49),     # C3: 100 x 31/365
    (("2026-02", None, "Region=APAC"), 7.67),     # C3: 16.16 - 8.49
    (("2026-03", None, "Region=APAC"), 8.50),     # C3: 24.66 - 16.16
    (("2026-01-01", "2026-01-10", "Region=APAC"), 2.74),  # C3: 100 x 10/365 = 2.7397
    (("2026-02", None, "Customer=beta; Region=amer"), 206.67),
    (("2026", None, "Region=LATAM"), 0.00),       # nothing matches: 0, not an error
    (("2025", None, "Region=EMEA"), 12500.00),    # C1 12,000 + C4 ("emea") 500
    ((serial("2026-02-15"),), 314.34),           # =DATE(2026,2,15): a date alone means its month
    ((serial("2026-01-01"), serial("2026-01-31"), "Region=APAC"), 8.49),
])
def test_revenue(udfs, book, args, expected):
    assert cell(udfs, "BBB_REVENUE", book, *args) == expected


def test_revenue_with_date_cells_as_arguments(udfs, book):
    # =BBB_REVENUE(Contracts[#All], A1) with A1 a date cell: a one-cell range whose .Value is a COM date
    feb15 = xr.excel_range([[D(2026, 2, 15)]])
    assert cell(udfs, "BBB_REVENUE", book, feb15) == 314.34  # its month, as above
    jan31 = xr.excel_range([[D(2026, 1, 31)]])
    jan01 = xr.excel_range([[D(2026, 1, 1)]])
    assert cell(udfs, "BBB_REVENUE", book, jan01, jan31, xr.excel_range([["Region=APAC"]])) == 8.49


# ---- BBB_BOOKINGS / BBB_BILLINGS --------------------------------------------------------------------------------

@pytest.mark.parametrize("args, expected", [
    (("2025-Q1",), 12500.00),                     # C1 12,000 (booked = Start 01-01) + C4 500 (02-20)
    (("2025-02",), 500.00),                       # C4 only: booked before its Start
    (("2025-06",), 2400.00),                      # C5 booked 06-15
    (("2025",), 14900.00),                        # 12,000 + 500 + 2,400
    (("2026",), 400.00),                          # C2 300 + C3 100
    (("2025", "2026", "Region=AMER"), 2700.00),   # C5 2,400 + C2 300
    (("2025", xr.MISSING, "Region=AMER"), 2400.00),
])
def test_bookings(udfs, book, args, expected):
    assert cell(udfs, "BBB_BOOKINGS", book, *args) == expected


@pytest.mark.parametrize("args, expected", [
    (("2025-01",), 3000.00),                      # C1's first quarterly invoice
    (("2025-03",), 500.00),                       # C4 upfront on 03-10
    (("2025-Q3",), 4200.00),                      # C1 3,000 + C5 1,200, both 07-01
    (("2026-01",), 308.33),                       # C2 300 upfront + C3 8.33 in arrears on 01-31
    (("2026-02",), 8.34),                         # C3: 16.67 - 8.33
    (("2026-01", "2026-03", "Contract ID=C3"), 25.00),  # 8.33 + 8.34 + 8.33
    (("2025-01", "2025-12", "Region=EMEA"), 12500.00),  # C1 4 x 3,000 + C4 500
])
def test_billings(udfs, book, args, expected):
    assert cell(udfs, "BBB_BILLINGS", book, *args) == expected


# ---- balances ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("args, expected", [
    (("2025-02-28",), 10500.00),  # C1 12,000 - 2,000 + C4 500 (booked 02-20, recognized 03-10)
    (("2025-06",), 8400.00),      # C1 12,000 - 6,000 + C5 2,400 (booked 06-15, nothing recognized)
    (("2026-01",), 2011.51),      # C2 300-80 + C3 100-8.49 + C5 2,400-700 (Jul-Jan = 7 months)
    (("2026-01", "Region=APAC"), 91.51),
    ((serial("2025-02-28"),), 10500.00),
    ((xr.excel_range([[D(2025, 2, 28)]]),), 10500.00),  # a date cell
])
def test_backlog(udfs, book, args, expected):
    assert cell(udfs, "BBB_BACKLOG", book, *args) == expected


@pytest.mark.parametrize("args, expected", [
    (("2025-02",), 1000.00),      # C1 billed 3,000, recognized 2,000
    (("2025-04-01",), 2966.67),   # C1 billed 6,000; recognized 12,000 x (3 + 1/30)/12 = 3,033.333 -> 3,033.33
    (("2026-01",), 720.00),       # C2 300-80 = 220 + C5 1,200-700 = 500 (C3 is unbilled: 8.33 < 8.49)
    (("2026-02",), 413.84),       # C2 300-286.67 = 13.33 + C3 16.67-16.16 = 0.51 + C5 1,200-800 = 400
    (("2026-02", "Customer=Gamma"), 0.51),
])
def test_deferred(udfs, book, args, expected):
    assert cell(udfs, "BBB_DEFERRED", book, *args) == expected


@pytest.mark.parametrize("args, expected", [
    (("2026-01",), 0.16),              # C3: recognized 8.49 - billed 8.33
    ((serial("2026-01-15"),), 4.11),   # C3: 100 x 15/365 = 4.1096, nothing billed yet (arrears)
    (("2026-02",), 0.00),              # C3 billed 16.67 > recognized 16.16: deferred, not unbilled
    (("2025-12", "Region=EMEA"), 0.00),
])
def test_unbilled(udfs, book, args, expected):
    assert cell(udfs, "BBB_UNBILLED", book, *args) == expected


def test_rpo_spills_3x2(udfs, book):
    # at 2025-06-30: C1 6,000 left, all within 12 months; C5 (booked 06-15) 1,200 up to 2026-06-30 and 1,200
    # after; total = backlog at that day (8,400).
    assert cell(udfs, "BBB_RPO", book, "2025-06-30") == [
        ["Within 12 months", 7200.00], ["After 12 months", 1200.00], ["Total", 8400.00]]
    # at 2026-01-31 (label: last day): C2 220 + C3 91.51 + C5 (1,900 - 700) within; C5 2,400 - 1,900 after
    assert cell(udfs, "BBB_RPO", book, "2026-01") == [
        ["Within 12 months", 1511.51], ["After 12 months", 500.00], ["Total", 2011.51]]
    assert cell(udfs, "BBB_RPO", book, "2025-06-30", "Region=AMER") == [
        ["Within 12 months", 1200.00], ["After 12 months", 1200.00], ["Total", 2400.00]]
    # before anything is booked (C1's Booking Date = Start 2025-01-01)
    assert cell(udfs, "BBB_RPO", book, "2024-12-31") == [
        ["Within 12 months", 0.0], ["After 12 months", 0.0], ["Total", 0.0]]


def test_deferred_split_spills_3x2(udfs, book):
    # at 2025-07-31: C1 billed 9,000 (quarterly, 07-01 invoice), recognized 7,000 -> deferred 2,000, its revenue in
    # the next 12 months is 5,000 -> all current; C5 billed 1,200 on 07-01, recognized 100 -> 1,100, revenue to
    # 2026-07-31 is 1,200 -> all current. Total = BBB_DEFERRED (3,100).
    assert cell(udfs, "BBB_DEFERRED_SPLIT", book, "2025-07-31") == [
        ["Current", 3100.00], ["Non-current", 0.0], ["Total", 3100.00]]
    assert cell(udfs, "BBB_DEFERRED_SPLIT", book, "2025-07", "Region=AMER") == [
        ["Current", 1100.00], ["Non-current", 0.0], ["Total", 1100.00]]
    # 36,000 billed upfront for 2026-2028, 1,000 a month: at 2026-01-31 deferred 35,000, of which the 12 months to
    # 2027-01-31 (12,000) are current and 23,000 non-current
    three_years = xr.excel_range(book_rows(line("L1", start=D(2026, 1, 1), end=D(2028, 12, 31), amount=36000.0)))
    assert cell(udfs, "BBB_DEFERRED_SPLIT", three_years, "2026-01") == [
        ["Current", 12000.00], ["Non-current", 23000.00], ["Total", 35000.00]]


# ---- BBB_SCHEDULE -----------------------------------------------------------------------------------------------

def test_schedule_defaults_omitted(udfs, book):
    # period omitted -> month; no group_by -> one Total row. March: C1 1,000 + C4 500.
    assert cell(udfs, "BBB_SCHEDULE", book, "revenue", "2025-01", "2025-03") == [
        ["Total", "2025-01", "2025-02", "2025-03"], ["Total", 1000.00, 1000.00, 1500.00]]
    assert cell(udfs, "BBB_SCHEDULE", book, "revenue", "2025-01", "2025-03", xr.MISSING, xr.MISSING,
                xr.MISSING) == [["Total", "2025-01", "2025-02", "2025-03"], ["Total", 1000.00, 1000.00, 1500.00]]


def test_schedule_quarters_by_region(udfs, book):
    # groups sorted case-insensitively, EMEA/emea one group (first spelling shown), APAC listed with zeros.
    # AMER: C5 100/month from July -> Q3 300, Q4 300. EMEA: C1 3,000 a quarter + C4 500 in Q1.
    assert cell(udfs, "BBB_SCHEDULE", book, "Revenue", "2025-01", "2025-12", "quarter", "Region") == [
        ["Region", "2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4"],
        ["AMER", 0.00, 0.00, 300.00, 300.00],
        ["APAC", 0.00, 0.00, 0.00, 0.00],
        ["EMEA", 3500.00, 3000.00, 3000.00, 3000.00],
        ["Total", 3500.00, 3000.00, 3300.00, 3300.00],
    ]


def test_schedule_billings_filter_and_balances_by_year(udfs, book):
    assert cell(udfs, "BBB_SCHEDULE", book, "billings", "2026-01", "2026-03", "month", "",
                "Contract ID=C3") == [["Total", "2026-01", "2026-02", "2026-03"], ["Total", 8.33, 8.34, 8.33]]
    # backlog at 2025-12-31: C5 2,400 - 600; at 2026-12-31: C5 2,400 - 1,800 (C2, C3 fully recognized)
    assert cell(udfs, "BBB_SCHEDULE", book, "backlog", "2025", "2026", "year") == [
        ["Total", "2025", "2026"], ["Total", 1800.00, 600.00]]
    # C3 per month: unbilled 8.49 - 8.33 at 01-31, then deferred (16.67 > 16.16) at 02-28
    assert cell(udfs, "BBB_SCHEDULE", book, "unbilled", "2026-01", "2026-02", None, "Customer",
                "Contract ID=C3") == [["Customer", "2026-01", "2026-02"], ["Gamma", 0.16, 0.00], ["Total", 0.16, 0.00]]


def test_schedule_date_start_clips_first_period(udfs, book):
    # =DATE(2026,1,20): January is 01-20..01-31 -> C3 8.49 - round(100 x 19/365 = 5.2055) = 8.49 - 5.21 = 3.28
    assert cell(udfs, "BBB_SCHEDULE", book, "revenue", serial("2026-01-20"), "2026-02", None, None,
                "Region=APAC") == [["Total", "2026-01", "2026-02"], ["Total", 3.28, 7.67]]


@pytest.mark.parametrize("args, message", [
    (("profit", "2025-01", "2025-03"),
     "#BBB! metric 'profit' is not one of bookings, billings, revenue, backlog, deferred, unbilled, arr, mrr, customers"),
    (("revenue", "2025-01", "2025-03", "week"), "#BBB! period 'week' is not one of month, quarter, year"),
    (("revenue", "2025-01", "2025-03", "month", "Regon"),
     "#BBB! no column 'Regon' to filter or group by (did you mean 'Region'?)"),
    (("revenue", "2025-06", "2025-01"), "#BBB! end 2025-01-31 is before start 2025-06-01"),
])
def test_schedule_argument_errors(udfs, book, args, message):
    assert cell(udfs, "BBB_SCHEDULE", book, *args) == message


# ---- BBB_CHECK --------------------------------------------------------------------------------------------------

def test_check_ok_is_one_row(udfs, book):
    # a 1x2 result: VBA gets a 1-D array, which spills across two cells of one row
    assert cell(udfs, "BBB_CHECK", book) == ["OK", "5 lines, no problems"]


def test_check_lists_every_problem_with_row_and_column(udfs):
    rows = book_rows(
        line("C1", start=D(2025, 1, 1), end=D(2025, 12, 31), amount=12000.0),
        line("C2", start="soon", end=D(2025, 12, 31)),
        [None] * len(HEADER),                                  # a blank row inside the range: row 4
        line("C3", start=D(2025, 5, 1), end=D(2025, 4, 1), amount=None),
    )
    out = cell(udfs, "BBB_CHECK", xr.excel_range(rows))
    assert out[0] == ["Row", "Column", "Value", "Severity", "Problem"]
    assert out[1] == [3, "Start Date", "soon", "error",
                      "Start Date: 'soon' is not a date (write it as 2025-03-15, or use a date cell)"]
    assert [r[0] for r in out[1:]] == [3, 5, 5]  # by row; within a row in the order the checks run
    assert sorted(out[2:]) == [
        [5, "Amount", "", "error", "Amount is blank"],
        [5, "End Date", "2025-04-01", "error", "End Date 2025-04-01 is before Start Date 2025-05-01"],
    ]


# ---- data errors: a located #BBB! message from every formula, never a blank or 0 ----------------------------------

OK_LINE = line("C1", start=D(2025, 1, 1), end=D(2025, 12, 31), amount=12000.0)

CALLS = [  # every formula that reads the lines and answers a question, with its required arguments
    ("BBB_REVENUE", ("2025",)),
    ("BBB_BOOKINGS", ("2025",)),
    ("BBB_BILLINGS", ("2025",)),
    ("BBB_BACKLOG", ("2025-06",)),
    ("BBB_DEFERRED", ("2025-06",)),
    ("BBB_UNBILLED", ("2025-06",)),
    ("BBB_RPO", ("2025-06",)),
    ("BBB_DEFERRED_SPLIT", ("2025-06",)),
    ("BBB_SCHEDULE", ("revenue", "2025-01", "2025-12")),
    ("BBB_MRR", ("2025-06",)),
    ("BBB_ARR", ("2025-06",)),
    ("BBB_ARR_BRIDGE", ("2025-01", "2025-12")),
    ("BBB_CUSTOMERS", ("2025-06",)),
    ("BBB_NRR", ("2025-06",)),
    ("BBB_GRR", ("2025-06",)),
    ("BBB_COVERAGE", ("2025-06",)),
    ("BBB_ALERTS", ("2025-06",)),
    ("BBB_FORECAST", ("revenue", "2025-07", "2026-06", "2025-06-30")),
    ("BBB_VARIANCE", ("revenue", "2025-01", "2025-12", [["Version", "Month", "Metric", "Amount"],
                                                        ["Budget", "2025-01", "revenue", 1000.0]])),
    ("BBB_REFUND_LIABILITY", ("2025-06",)),
]


@pytest.mark.parametrize("name, args", CALLS)
@pytest.mark.parametrize("error", sorted(xr.XL_ERRORS))
def test_excel_error_in_amount_is_a_located_message(udfs, name, args, error):
    rows = book_rows(OK_LINE, line("C2", start=D(2025, 5, 1), end=D(2025, 6, 30), amount=error))
    assert cell(udfs, name, xr.excel_range(rows), *args) == f"#BBB! row 3: Amount is the Excel error {error}"


@pytest.mark.parametrize("name, args", CALLS)
@pytest.mark.parametrize("bad, message", [
    (line("C2", start="soon", end=D(2025, 12, 31)),
     "#BBB! row 3: Start Date: 'soon' is not a date (write it as 2025-03-15, or use a date cell)"),
    (line("C2", start="#VALUE!", end=D(2025, 12, 31)), "#BBB! row 3: Start Date is the Excel error #VALUE!"),
    (line("C2", start=D(2025, 5, 1), end=D(2025, 4, 1)),
     "#BBB! row 3: End Date 2025-04-01 is before Start Date 2025-05-01"),
    (line("C2", start=D(2025, 5, 1), end=None), "#BBB! row 3: End Date is blank (needed unless Recognition is "
                                                "point in time)"),
    (line("C2", start=D(2025, 5, 1), end=D(2025, 6, 1), amount=None), "#BBB! row 3: Amount is blank"),
    (line("C2", start=D(2025, 5, 1), end=D(2025, 6, 1), amount="12,00x"),
     "#BBB! row 3: Amount '12,00x' is not an amount (write 1200.50, 1,200.50 or (300.00))"),
    (line("C2", start=D(2025, 5, 1), end=D(2025, 6, 1), amount=12.345),
     "#BBB! row 3: Amount 12.345 has more decimals than cents"),
    (line("C2", start=D(2025, 5, 1), end=D(2025, 6, 1), recognition="ratabl"),
     "#BBB! row 3: Recognition 'ratabl' is not one of monthly, daily, point in time..."),  # (+ newer methods)
    (line("", start=D(2025, 5, 1), end=D(2025, 6, 1)), "#BBB! row 3: Contract ID is blank"),
    (line("C2", start=D(2025, 5, 1), end=D(2025, 6, 1), region="#N/A"),
     "#BBB! row 3: Region is the Excel error #N/A"),
])
def test_bad_cells_are_located_messages(udfs, name, args, bad, message):
    out = cell(udfs, name, xr.excel_range(book_rows(OK_LINE, bad)), *args)
    if message.endswith("..."):  # a prefix
        assert out.startswith(message[:-3])
    else:
        assert out == message


def test_more_problems_point_to_bbb_check(udfs):
    rows = book_rows(OK_LINE,
                     line("C2", start=D(2025, 5, 1), end=D(2025, 6, 1), amount="#DIV/0!"),
                     line("C3", customer="#REF!", start=D(2025, 5, 1), end=D(2025, 6, 1)))
    assert cell(udfs, "BBB_REVENUE", xr.excel_range(rows), "2025") == (
        "#BBB! row 3: Amount is the Excel error #DIV/0! (and 1 more problem: see BBB_CHECK)")


def test_header_problems(udfs):
    rows = [list(r) for r in book_rows(OK_LINE)]
    rows[0][HEADER.index("Amount")] = "Amnt"
    assert cell(udfs, "BBB_REVENUE", xr.excel_range(rows), "2025") == (
        "#BBB! row 1: unknown column 'Amnt' (did you mean 'Amount'?)")
    rows[0][HEADER.index("Amount")] = "#N/A"
    assert cell(udfs, "BBB_BACKLOG", xr.excel_range(rows), "2025") == (
        "#BBB! row 1: header is the Excel error #N/A (and 1 more problem: see BBB_CHECK)")


def test_text_cells_are_read_like_excel_shows_them(udfs):
    # amounts typed as text with a currency sign and thousands separator; dates as ISO text
    rows = book_rows(line("C1", start="2025-01-01", end="2025-12-31", amount="$1,200.50"))
    # 1,200.50 over 12 months: January 100.04 (1,200.50/12 = 100.0417), the year 1,200.50
    assert cell(udfs, "BBB_REVENUE", xr.excel_range(rows), "2025-01") == 100.04
    assert cell(udfs, "BBB_REVENUE", xr.excel_range(rows), "2025") == 1200.50


def test_float_noise_in_amounts_is_absorbed(udfs):
    rows = book_rows(line("C1", start=D(2025, 1, 1), end=D(2025, 1, 31), amount=0.1 + 0.2))  # 0.30000000000000004
    assert cell(udfs, "BBB_REVENUE", xr.excel_range(rows), "2025-01") == 0.30


def test_header_only_range_answers_zero(udfs):
    assert cell(udfs, "BBB_REVENUE", xr.excel_range([HEADER]), "2025") == 0.0
    assert cell(udfs, "BBB_CHECK", xr.excel_range([HEADER])) == ["OK", "0 lines, no problems"]


# ---- argument errors --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, args, message", [
    ("BBB_REVENUE", ("2025-13",), "#BBB! start '2025-13': month 13 is not 1 to 12"),
    ("BBB_REVENUE", ("2025-Q5",), "#BBB! start '2025-Q5' is not a period (write 2025-03, 2025-Q1, 2025 or "
                                  "2025-03-15)"),
    ("BBB_REVENUE", ("2025-06", "2025-01"), "#BBB! end 2025-01-31 is before start 2025-06-01"),
    ("BBB_REVENUE", ("2025", None, "Region"), "#BBB! filter 'Region' is not Column=Value"),
    ("BBB_BILLINGS", ("2025", None, "Regon=EMEA"),
     "#BBB! no column 'Regon' to filter or group by (did you mean 'Region'?)"),
    ("BBB_BOOKINGS", (True,), "#BBB! start True is not a date or period"),
    ("BBB_REVENUE", (60.0,), "#BBB! Excel serial 60 is 1900-02-29, a day that does not exist (Excel's 1900 "
                             "leap-year bug)"),
    ("BBB_BACKLOG", ("",), "#BBB! as_of is missing"),
    ("BBB_DEFERRED", (xr.excel_range([[None]]),), "#BBB! as_of is missing"),  # a blank cell
    ("BBB_UNBILLED", ("2025-02-30",), "#BBB! as_of '2025-02-30' is not a date that exists"),
    ("BBB_RPO", ("soon",), "#BBB! as_of 'soon' is not a period (write 2025-03, 2025-Q1, 2025 or 2025-03-15)"),
    ("BBB_SCHEDULE", ("", "2025-01", "2025-02"),
     "#BBB! metric '' is not one of bookings, billings, revenue, backlog, deferred, unbilled, arr, mrr, customers"),
])
def test_argument_errors_are_messages(udfs, book, name, args, message):
    assert cell(udfs, name, book, *args) == message


def test_error_value_as_start_is_an_error_not_a_number(udfs, book):
    # =BBB_REVENUE(Contracts[#All], NA()): still a #BBB! text (the message says "missing")
    assert cell(udfs, "BBB_REVENUE", book, NA).startswith("#BBB! ")
    assert cell(udfs, "BBB_BACKLOG", book, xr.excel_range([["#N/A"]])).startswith("#BBB! ")


# ---- events (optional range) and BBB_ALLOCATE -----------------------------------------------------------------

EVENTS_HEADER = ["Contract ID", "Line ID", "Date", "Event", "Amount", "Percent"]


def test_events_omitted_empty_and_given(udfs):
    book = xr.excel_range(book_rows(OK_LINE))  # C1 12,000 over 2025, upfront: invoice 12,000 on 2025-01-01
    empty = xr.excel_range([EVENTS_HEADER])
    invoice = xr.excel_range([EVENTS_HEADER, ["C1", None, D(2025, 1, 15), "invoice", 500.0, None]])
    assert cell(udfs, "BBB_BILLINGS", book, "2025-01") == 12000.00
    assert cell(udfs, "BBB_BILLINGS", book, "2025-01", None, None, xr.MISSING) == 12000.00
    assert cell(udfs, "BBB_BILLINGS", book, "2025-01", None, None, empty) == 12000.00  # no events: as omitted
    # a contract with invoice events is billed exactly those: one invoice of 500.00 on 01-15
    assert cell(udfs, "BBB_BILLINGS", book, "2025-01", None, None, invoice) == 500.00
    assert cell(udfs, "BBB_REVENUE", book, "2025-01", None, None, invoice) == 1000.00  # revenue unchanged
    bad = xr.excel_range([EVENTS_HEADER, ["C1", None, D(2025, 1, 15), "invoice", "#N/A", None]])
    assert cell(udfs, "BBB_BILLINGS", book, "2025-01", None, None, bad) == (
        "#BBB! Events row 2: Amount is the Excel error #N/A")
    assert cell(udfs, "BBB_CHECK", book, empty) == ["OK", "1 line, no problems"]


@pytest.mark.parametrize("ssps, expected", [
    # 100 x 50/150 = 33.333, 100 x 25/150 = 16.667, 100 x 75/150 = 50: cents 3333 + 1666 + 5000 = 9999, the
    # last cent goes to the largest remainder (.667): 33.33, 16.67, 50.00
    (((50.0,), (25.0,), (75.0,)), [[33.33], [16.67], [50.00]]),       # array constant {50;25;75}
    (xr.excel_range([[50.0], [25.0], [75.0]]), [[33.33], [16.67], [50.00]]),  # a column: spills down
    (xr.excel_range([[50.0, 25.0, 75.0]]), [33.33, 16.67, 50.00]),    # a row: spills across (1-D to VBA)
])
def test_allocate(udfs, ssps, expected):
    assert cell(udfs, "BBB_ALLOCATE", 100.0, ssps) == expected


def test_allocate_errors(udfs):
    assert cell(udfs, "BBB_ALLOCATE", 100.0, xr.excel_range([[0.0], [0.0]])) == (
        "#BBB! the SSPs are all 0: the total cannot be allocated in proportion to them")
    assert cell(udfs, "BBB_ALLOCATE", "", xr.excel_range([[1.0], [2.0]])) == "#BBB! total is missing"


def test_bug_allocate_error_cell_read_as_negative_number(udfs):
    out = cell(udfs, "BBB_ALLOCATE", 100.0, xr.excel_range([[50.0], ["#N/A"], [75.0]]))
    assert out.startswith("#BBB! ") and "#N/A" in out and "negative" not in out


# ---- bugs found by this suite, fixed (kept as regressions) ------------------------------

@pytest.mark.parametrize("name, args", [
    ("BBB_REVENUE", ("2025-01", NA)),                               # shows 1,000.00 (January only)
    ("BBB_REVENUE", ("2025", None, NA)),                            # shows 13,100.00 (no filter)
    ("BBB_BOOKINGS", ("2025", None, xr.excel_range([["#N/A"]]))),   # shows 14,900.00 (no filter)
    ("BBB_BACKLOG", ("2025-06", NA)),                               # shows 8,400.00 (no filter)
    ("BBB_SCHEDULE", ("revenue", "2025-01", "2025-03", NA)),        # monthly schedule
    ("BBB_SCHEDULE", ("revenue", "2025-01", "2025-03", None, NA)),  # ungrouped schedule
    ("BBB_ALLOCATE", ()),                                           # total: "#BBB! total is missing"
])
def test_bug_error_value_in_optional_argument_is_ignored(udfs, book, name, args):
    if name == "BBB_ALLOCATE":  # =BBB_ALLOCATE(NA(), {1;2})
        out = cell(udfs, name, NA, ((1.0,), (2.0,)))
    else:
        out = cell(udfs, name, book, *args)
    assert isinstance(out, str) and out.startswith("#BBB! ") and "#N/A" in out


def test_bug_check_shows_error_code_instead_of_error_name(udfs):
    rows = book_rows(OK_LINE, line("C2", start=D(2025, 5, 1), end=D(2025, 6, 30), amount="#N/A"))
    assert cell(udfs, "BBB_CHECK", xr.excel_range(rows)) == [
        ["Row", "Column", "Value", "Severity", "Problem"],
        [3, "Amount", "#N/A", "error", "Amount is the Excel error #N/A"]]


def test_bug_date_in_amount_message_shows_python_repr(udfs):
    rows = book_rows(OK_LINE, line("C2", start=D(2025, 5, 1), end=D(2025, 6, 30), amount=D(2025, 1, 1)))
    assert cell(udfs, "BBB_REVENUE", xr.excel_range(rows), "2025") == (
        "#BBB! row 3: Amount 2025-01-01 is not an amount")


def test_bug_single_cell_lines_range_is_unexpected_error(udfs):
    out = cell(udfs, "BBB_REVENUE", xr.excel_range([["Contract ID"]]), "2025")
    assert out.startswith("#BBB! ") and "unexpected error" not in out


# ---- what Import Functions generates ----------------------------------------------------------------------------

SIGNATURES = {
    "BBB_BOOKINGS": "lines, start, Optional end_period, Optional filter, Optional events, Optional fx, "
                    "Optional closed, Optional as_of, Optional tiers",
    "BBB_BILLINGS": "lines, start, Optional end_period, Optional filter, Optional events, Optional fx, "
                    "Optional closed, Optional as_of, Optional opening, Optional cutover, Optional tiers",
    "BBB_REVENUE": "lines, start, Optional end_period, Optional filter, Optional events, Optional fx, "
                    "Optional closed, Optional as_of, Optional opening, Optional cutover, Optional tiers",
    "BBB_BACKLOG": "lines, as_of, Optional filter, Optional events, Optional fx, Optional closed, Optional tiers",
    "BBB_DEFERRED": "lines, as_of, Optional filter, Optional events, Optional fx, Optional closed, Optional opening, "
                    "Optional cutover, Optional tiers",
    "BBB_UNBILLED": "lines, as_of, Optional filter, Optional events, Optional fx, Optional closed, Optional tiers",
    "BBB_RPO": "lines, as_of, Optional filter, Optional events, Optional fx, Optional closed, Optional tiers",
    "BBB_DEFERRED_SPLIT": "lines, as_of, Optional filter, Optional events, Optional fx, Optional closed",
    "BBB_SCHEDULE": "lines, metric, start, end_period, Optional period, Optional group_by, Optional filter, "
                    "Optional events, Optional fx, Optional closed, Optional as_of, Optional opening, Optional cutover, "
                    "Optional tiers",
    "BBB_CHECK": "lines, Optional events, Optional fx, Optional filter, Optional tiers",
    "BBB_ALLOCATE": "total, ssps",
    "BBB_EXPLAIN": "lines, contract, period, Optional line, Optional metric, Optional events, Optional fx",
    "BBB_MRR": "lines, as_of, Optional filter, Optional events, Optional fx",
    "BBB_ARR": "lines, as_of, Optional filter, Optional events, Optional fx",
    "BBB_ARR_BRIDGE": "lines, start, end_period, Optional period, Optional filter, Optional events, Optional fx",
    "BBB_NRR": "lines, as_of, Optional filter, Optional events, Optional fx",
    "BBB_GRR": "lines, as_of, Optional filter, Optional events, Optional fx",
    "BBB_CUSTOMERS": "lines, as_of, Optional filter, Optional events, Optional fx",
    "BBB_COVERAGE": "lines, as_of, Optional filter, Optional events, Optional fx",
    "BBB_ALERTS": "lines, as_of, Optional rules, Optional filter, Optional events, Optional fx",
    "BBB_FORECAST": "lines, metric, start, end_period, as_of, Optional period, Optional assumptions, "
                    "Optional pipeline, Optional filter, Optional events, Optional fx",
    "BBB_VARIANCE": "lines, metric, start, end_period, plan, Optional period, Optional version, Optional filter, "
                    "Optional events, Optional fx",
    "BBB_REFUND_LIABILITY": "lines, as_of, Optional filter, Optional events, Optional fx",
}
# FX method (issue 18 section 6): the last optional argument of the flow, balance and schedule formulas
for _name in ("BBB_BOOKINGS", "BBB_BILLINGS", "BBB_REVENUE", "BBB_BACKLOG", "BBB_DEFERRED", "BBB_UNBILLED",
              "BBB_RPO", "BBB_DEFERRED_SPLIT", "BBB_SCHEDULE"):
    SIGNATURES[_name] += ", Optional fx_method"


def test_every_public_function_is_a_udf(udfs):
    assert set(udfs.PUBLIC_FUNCTIONS) == set(SIGNATURES) == set(xr.udf_functions(udfs))
    for name in udfs.PUBLIC_FUNCTIONS:
        info = getattr(udfs, name).__xlfunc__
        assert info["category"] == "bbb_xl" and info["ret"]["options"] == {}  # native dynamic arrays
        for raw in ("lines", "events", "ssps"):  # ranges keep error cells and COM dates: raw converter
            if raw in info["argmap"]:
                assert info["argmap"][raw]["options"] == {"convert": "raw"}, (name, raw)


def test_vba_wrapper(udfs):
    vba = xr.vba_wrapper(udfs)
    for name, params in SIGNATURES.items():
        assert f"Function {name}({params})" in vba, name
        plain = params.replace("Optional ", "")
        assert (f'{name} = XLPy.CallUDF("bbb_xl.udfs", "{name}", Array({plain}), ThisWorkbook, '
                f'Application.Caller)') in vba, name
    assert vba.count("End Function") == len(SIGNATURES)
    assert "Application.Volatile" not in vba
    # call_in_wizard=False: while the Function Wizard is open (the Standard command bar is disabled) the wrapper
    # returns at once instead of running a whole computation per keystroke
    wizard_exit = 'If (Not Application.CommandBars("Standard").Controls(1).Enabled) Then Exit Function'
    assert vba.count(wizard_exit) == len(SIGNATURES)
    assert xr.vba_name_problems(udfs) == []


def test_import_functions_descriptions(udfs):
    res = xr.import_udfs_replay("bbb_xl.udfs")
    assert res["vba"].startswith('Attribute VB_Name = "xlwings_udfs"')
    opts = dict(res["macro_options"])
    assert set(opts) == {f"'Book1.xlsm'!{n}" for n in SIGNATURES}
    flow = [udfs.LINES_DOC, udfs.START_DOC, udfs.END_DOC, udfs.FILTER_DOC, udfs.EVENTS_DOC, udfs.FX_DOC]
    balance = [udfs.LINES_DOC, udfs.AS_OF_DOC, udfs.FILTER_DOC, udfs.EVENTS_DOC, udfs.FX_DOC]
    for name in SIGNATURES:
        o = opts[f"'Book1.xlsm'!{name}"]
        doc = getattr(udfs, name).__doc__
        assert o["Category"] == "bbb_xl"
        assert len(doc) <= 255 and o["Description"] == doc  # not truncated by xlwings' [:255]
        assert "Example: =" + name + "(" in o["Description"]
        args = o["ArgumentDescriptions"]
        assert len(args) == len(SIGNATURES[name].split(", "))
        assert all(a and not a.startswith("Positional argument") and len(a) <= 255 for a in args), name
        if SIGNATURES[name].endswith("fx_method"):  # the FX method, last (engine.fx_ifric22)
            assert args[-1] == udfs.FX_METHOD_DOC
            args = args[:-1]
        opening = [udfs.OPENING_DOC, udfs.CUTOVER_DOC] if name in ("BBB_BILLINGS", "BBB_REVENUE",
                                                                  "BBB_DEFERRED") else []
        if name in ("BBB_BOOKINGS", "BBB_BILLINGS", "BBB_REVENUE"):
            assert args == flow + [udfs.CLOSED_DOC, udfs.EVERGREEN_AS_OF_DOC] + (
                opening if name != "BBB_BOOKINGS" else []) + [udfs.TIERS_DOC]
        elif name in ("BBB_BACKLOG", "BBB_UNBILLED", "BBB_RPO"):
            assert args == balance + [udfs.CLOSED_DOC, udfs.TIERS_DOC]
        elif name == "BBB_DEFERRED":
            assert args == balance + [udfs.CLOSED_DOC] + opening + [udfs.TIERS_DOC]
        elif name == "BBB_DEFERRED_SPLIT":
            assert args == balance + [udfs.CLOSED_DOC]
        elif name in ("BBB_MRR",
                      "BBB_ARR", "BBB_NRR", "BBB_GRR", "BBB_CUSTOMERS", "BBB_COVERAGE"):
            assert args == balance + opening
    assert opts["'Book1.xlsm'!BBB_CHECK"]["ArgumentDescriptions"] == [udfs.LINES_DOC, udfs.EVENTS_DOC, udfs.FX_DOC,
                                                                     udfs.CHECK_FILTER_DOC, udfs.TIERS_DOC]
    schedule = opts["'Book1.xlsm'!BBB_SCHEDULE"]["ArgumentDescriptions"]
    assert schedule[-1] == udfs.FX_METHOD_DOC
    schedule = schedule[:-1]
    assert schedule[0] == udfs.LINES_DOC and schedule[-8:] == [udfs.FILTER_DOC, udfs.EVENTS_DOC, udfs.FX_DOC,
                                                               udfs.CLOSED_DOC, udfs.EVERGREEN_AS_OF_DOC,
                                                               udfs.OPENING_DOC, udfs.CUTOVER_DOC, udfs.TIERS_DOC]
    assert schedule[1].startswith("bookings, billings, revenue") and schedule[4].startswith("Optional: month")


# ---- SaaS metrics (docs/metrics.md) on the book above -----------------------------------------------------------
# Recurring lines: C1 (MRR 12,000 / 12 = 1,000.00), C2 (300 / (45/31) = 206.666.. -> 206.67, ARR 12 x 300 x 31/45 =
# 2,480.00), C3 daily (100 / 12 months = 8.333.. -> 8.33, ARR 100.00), C5 (2,400 / 24 = 100.00, ARR 1,200.00).
# C4 is point in time: never recurring.

def test_mrr_arr_customers(udfs, book):
    assert cell(udfs, "BBB_MRR", book, "2025-06-30") == 1000.0  # C1 only (C5 starts 2025-07-01)
    assert cell(udfs, "BBB_ARR", book, "2025-06-30") == 12000.0
    # 2026-02-15: C2 206.67 + C3 8.33 + C5 100.00 = 315.00; ARR 2,480 + 100 + 1,200 = 3,780.00
    assert cell(udfs, "BBB_MRR", book, "2026-02-15") == 315.0
    assert cell(udfs, "BBB_ARR", book, "2026-02-15") == 3780.0
    assert cell(udfs, "BBB_ARR", book, "2026-02-15", "Region=AMER") == 3680.0
    assert cell(udfs, "BBB_CUSTOMERS", book, "2026-02-15") == 3


def test_arr_bridge_formula(udfs, book):
    # opening 2025-03-31: C1 12,000; Q3 C5 new 1,200; Q1 2026: C1 churns (-12,000), C3 new (100); C2 starts and
    # ends inside Q1 2026 (0 at both ends: no movement)
    assert cell(udfs, "BBB_ARR_BRIDGE", book, "2025-Q2", "2026-Q1", "quarter") == [
        ["ARR", "2025-Q2", "2025-Q3", "2025-Q4", "2026-Q1"],
        ["Opening ARR", 12000.0, 12000.0, 13200.0, 13200.0],
        ["New", 0.0, 1200.0, 0.0, 100.0],
        ["Reactivation", 0.0, 0.0, 0.0, 0.0],
        ["Expansion", 0.0, 0.0, 0.0, 0.0],
        ["Contraction", 0.0, 0.0, 0.0, 0.0],
        ["Churn", 0.0, 0.0, 0.0, -12000.0],
        ["Closing ARR", 12000.0, 13200.0, 13200.0, 1300.0]]


def test_retention_and_coverage_formulas(udfs, book):
    # base 2025-07-31: C1 12,000 + C5 1,200 = 13,200; at 2026-07-31 C1 0, C5 1,200 (C3 not in the base)
    assert cell(udfs, "BBB_NRR", book, "2026-07-31") == 1 / 11
    assert cell(udfs, "BBB_GRR", book, "2026-07-31") == 1 / 11
    assert cell(udfs, "BBB_NRR", book, "2025-06-30") == (
        "#BBB! no customer had ARR on 2024-06-30 (12 months before 2025-06-30): retention has no base")
    # RPO within 12 months at 2025-12-31: C5 1,200 (C2, C3 not booked yet); revenue of 2025: C1 12,000 + C4 500 +
    # C5 600 = 13,100 -> 1,200 / 13,100 = 12/131
    assert cell(udfs, "BBB_COVERAGE", book, "2025-12-31") == 12 / 131


def test_schedule_arr_and_customers_by_region(udfs, book):
    assert cell(udfs, "BBB_SCHEDULE", book, "arr", "2026-01", "2026-02", None, "Region") == [
        ["Region", "2026-01", "2026-02"], ["AMER", 3680.0, 3680.0], ["APAC", 100.0, 100.0], ["EMEA", 0.0, 0.0],
        ["Total", 3780.0, 3780.0]]
    assert cell(udfs, "BBB_SCHEDULE", book, "customers", "2025-12", "2026-01", None, "Region") == [
        ["Region", "2025-12", "2026-01"], ["AMER", 1, 2], ["APAC", 0, 1], ["EMEA", 1, 0], ["Total", 2, 3]]


def _closed_periods_cells(closed):
    """The Closed Periods tab as the Refresh button writes it into Excel (excel.write_sheet: money as doubles)."""
    from bbb_xl.excel import excel_value
    from bbb_xl.excel.close import ClosedTab, closed_tab_report
    grid = {}
    for block in closed_tab_report(ClosedTab(closed)).blocks:
        for i, row in enumerate(block.values):
            for j, v in enumerate(row):
                grid[(block.row + i, block.col + j)] = excel_value(v, block.style_of(j))
    rows, cols = max(r for r, _ in grid), max(c for _, c in grid)
    return [[grid.get((r, c)) for c in range(1, cols + 1)] for r in range(1, rows + 1)]


def test_rpo_and_deferred_split_with_closed_through_the_com_path(udfs, book):
    """Close BOOK through 2025-06 (as-of 2025-06-30, its last day), then C1's Amount is edited to 15,000.00.
    At 2025-06-30 today's inputs give C1 7,500.00 left, all within 12 months; C5 (2,400.00 over 24 months from
    2025-07) 1,200.00 within, 1,200.00 after. The close recorded C1 with 6,000.00 left: with closed, C1 shows
    6,000.00 within. At 2025-04-30: C1 billed 7,500.00 (two quarterly invoices of 3,750.00) less 5,000.00
    recognized = 2,500.00 deferred today; closed: 6,000.00 - 4,000.00 = 2,000.00, all current."""
    from bbb_xl.core.dates import parse_date
    from bbb_xl.engine.book import load_book
    from bbb_xl.engine.close import close_months, parse_month
    closed = close_months(load_book(BOOK), None, parse_month("2025-06"), parse_date("2025-06-30"))
    tab = xr.excel_range(_closed_periods_cells(closed))
    edited = [list(r) for r in BOOK]
    edited[1][HEADER.index("Amount")] = 15000.0
    lines = xr.excel_range(edited)
    assert cell(udfs, "BBB_RPO", lines, "2025-06-30") == [["Within 12 months", 8700.0], ["After 12 months", 1200.0],
                                                          ["Total", 9900.0]]
    assert cell(udfs, "BBB_RPO", lines, "2025-06-30", xr.MISSING, xr.MISSING, xr.MISSING, tab) == [
        ["Within 12 months", 7200.0], ["After 12 months", 1200.0], ["Total", 8400.0]]
    assert cell(udfs, "BBB_DEFERRED_SPLIT", lines, "2025-04-30") == [["Current", 2500.0], ["Non-current", 0.0],
                                                                     ["Total", 2500.0]]
    assert cell(udfs, "BBB_DEFERRED_SPLIT", lines, "2025-04-30", xr.MISSING, xr.MISSING, xr.MISSING, tab) == [
        ["Current", 2000.0], ["Non-current", 0.0], ["Total", 2000.0]]
    assert cell(udfs, "BBB_RPO", book, "2025-06-30", xr.MISSING, xr.MISSING, xr.MISSING, tab) == \
        cell(udfs, "BBB_RPO", book, "2025-06-30")  # inputs as closed: the same split
