"""The columnar reading of a contracts range (whole columns at once, the per-cell path only for the cells it cannot
read) gives exactly what reading every cell one by one gives: the same lines and the same problems, message and
location (issue 19, part 1)."""
import datetime as dt
from decimal import Decimal

import numpy as np
from hypothesis import HealthCheck, given, settings, strategies as st

from bbb_xl.core.options import ParseOptions
from bbb_xl.engine.table import parse_contracts

HEADER = ["Contract ID", "Customer", "Line ID", "Product", "Booking Date", "Start Date", "End Date", "Amount",
          "Recognition", "Billing", "Billing Timing", "Billing Start", "SSP", "Currency", "Renewal", "Term",
          "Region"]

ERRORS = st.sampled_from(["#N/A", "#VALUE!", "#REF!", "#DIV/0!", -2146826246, -2146826281])
BLANKS = st.sampled_from([None, "", "  ", float("nan")])
JUNK = st.sampled_from(["n/a", "tbd", "2025-02-30", "2025-13-01", "1899-12-31", "15/03/2025",
                        " 2025-03-15 ", "2025-3-5", "２０２５-０３-１５", "12,000.50", "$1,200", "(300.00)",
                        "1.500,25", "abc#1",
                        "1e3", "USD", "usd", "EURO", "€", "auto", "none", "AUTO", "12 months", "0", "121", "3.5"])
DATETIMES = st.datetimes(min_value=dt.datetime(1899, 6, 1), max_value=dt.datetime(9999, 12, 31))
DATES = st.dates(min_value=dt.date(1899, 6, 1), max_value=dt.date(9999, 12, 31))
ISO = DATES.map(lambda d: d.isoformat())
ISO_MAYBE = st.from_regex(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")  # mostly days that do not exist, or years < 1900
SERIALS = st.one_of(st.integers(-5, 3_000_000), st.floats(-10, 3_000_000),
                    st.sampled_from([float("inf"), float("-inf")]),
                    st.sampled_from([59, 60, 60.5, 61, 2958465, 2958466, 45672.43]))
CENTS = st.integers(-10**9, 10**9).map(lambda c: c / 100)
AMOUNTS = st.one_of(CENTS, st.integers(-10**14, 10**14), st.decimals(-10**6, 10**6, places=3, allow_nan=False),
                    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0.125, 1e9 + 0.01, 1.000001,
                                                                                      1.0000011, 2**70, 10**13]),
                    # text and Decimal amounts, plain (the vectorised path) or not quite
                    CENTS.map(lambda c: f"{c:.2f}"), CENTS.map(lambda c: f"{c:.1f}"),
                    st.integers(-10**10, 10**10).map(str),
                    st.sampled_from(["-0", "007.5", "999999999.99", "1000000000.00", "1.5.5", "-", "1 000", "١٢"]),
                    CENTS.map(lambda c: Decimal(str(c))), st.sampled_from([Decimal("sNaN"), Decimal("-0.00"),
                                                                           Decimal("1E+400"), Decimal("1.0000001")]))


def cell(*specific):
    """Any cell a column may hold: mostly its own kind, then blanks, errors, junk, booleans and the other kinds."""
    return st.one_of(*specific, BLANKS, ERRORS, JUNK, st.booleans(), DATETIMES, ISO, SERIALS, AMOUNTS)


COLUMN_CELLS = {
    "Contract ID": st.one_of(st.sampled_from(["C1", "c1", "C2", "C3", 1001, 1001.0]), cell()),
    "Customer": st.one_of(st.sampled_from(["Acme", "ACME", "Globex", " Initech "]), cell()),
    "Line ID": st.one_of(st.sampled_from(["1", "2", "L1", "l1"]), cell()),
    "Product": cell(st.sampled_from(["Subscription", "Support"])),
    "Booking Date": cell(DATETIMES, DATES, ISO, ISO_MAYBE, SERIALS),
    "Start Date": cell(DATETIMES, DATES, ISO, ISO_MAYBE, SERIALS),
    "End Date": cell(DATETIMES, DATES, ISO, ISO_MAYBE, SERIALS),
    "Amount": cell(AMOUNTS, CENTS),
    "Recognition": cell(st.sampled_from(["monthly", "Daily", "point in time", "ratable", "monthy", "milestone"])),
    "Billing": cell(st.sampled_from(["upfront", "monthly", "Quarterly", "annual", "anual"])),
    "Billing Timing": cell(st.sampled_from(["advance", "arrears", "in arrears"])),
    "Billing Start": cell(DATETIMES, ISO, SERIALS),
    "SSP": cell(AMOUNTS, CENTS),
    "Currency": cell(st.sampled_from(["USD", "eur", "JPY", "US$"])),
    "Renewal": cell(st.sampled_from(["auto", "none", "evergreen", "sometimes"])),
    "Term": cell(st.sampled_from([1, 3, 12, "12 months", 0, 121, 2.5])),
    "Region": cell(st.sampled_from(["EMEA", "APAC"])),
}

LINE_FIELDS = ("row", "contract", "contract_code", "customer", "line_id", "booking", "start", "end", "amount",
               "recognition", "billing_months", "arrears", "billing_start", "ssp", "has_ssp", "allocated",
               "currency", "term_months", "term_no", "renews")


def assert_same(a, b):
    for name in LINE_FIELDS:
        x, y = getattr(a.lines, name), getattr(b.lines, name)
        assert (x is None) == (y is None), name
        if x is not None:
            assert x.dtype == y.dtype and x.tolist() == y.tolist(), name
    assert a.lines.dims.keys() == b.lines.dims.keys()
    for k in a.lines.dims:
        assert a.lines.dims[k].tolist() == b.lines.dims[k].tolist(), k
    assert [repr(p) for p in a.problems] == [repr(p) for p in b.problems]
    assert (a.rows_read, a.excluded_contracts, a.excluded_amount, a.columns) == \
           (b.rows_read, b.excluded_contracts, b.excluded_amount, b.columns)


@st.composite
def books(draw):
    columns = draw(st.lists(st.sampled_from(HEADER), min_size=1, unique=True).map(
        lambda extra: [h for h in HEADER if h in {"Contract ID", "Customer", "Start Date", "Amount"} or h in extra]))
    n = draw(st.integers(1, 12))
    # each column is homogeneous (the fast path) or mixed (the fallback), at random
    body = []
    for h in columns:
        if draw(st.booleans()):
            one = {"Booking Date": DATETIMES, "Start Date": st.one_of(DATETIMES, ISO), "End Date": ISO,
                   "Billing Start": SERIALS, "Amount": CENTS, "SSP": AMOUNTS}.get(h, COLUMN_CELLS[h])
            body.append(draw(st.lists(one, min_size=n, max_size=n)))
        else:
            body.append(draw(st.lists(COLUMN_CELLS[h], min_size=n, max_size=n)))
    return [columns] + [list(r) for r in zip(*body)]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(books(), st.sampled_from([None, ParseOptions(date_order="DMY"), ParseOptions(decimal_comma=True),
                                  ParseOptions(comma_ambiguous=True)]))
def test_columnar_parse_equals_per_cell(rows, options):
    a = parse_contracts(rows, sheet="Contracts", origin=(1, 1), options=options)
    b = parse_contracts(rows, sheet="Contracts", origin=(1, 1), options=options, columnar=False)
    assert_same(a, b)


def test_homogeneous_columns_read_vectorised_give_the_per_cell_values():
    """A clean book in each shape a column arrives in (dates as datetimes, ISO text, Excel serials; amounts as
    floats, ints, Decimals): every line kept, the same figures whichever way it is read."""
    header = ["Contract ID", "Customer", "Start Date", "End Date", "Amount"]
    shapes = {
        "datetime": (dt.datetime(2025, 1, 31), dt.datetime(2026, 1, 30), 1200.5),
        "iso": ("2025-01-31", "2026-01-30", 1200),
        "serial": (45688, 46052.75, Decimal("1200.50")),
    }
    for name, (start, end, amount) in shapes.items():
        rows = [header] + [[f"C{i}", "Acme", start, end, amount] for i in range(50)]
        a, b = parse_contracts(rows), parse_contracts(rows, columnar=False)
        assert_same(a, b)
        assert not [p for p in a.problems if p.is_error], name
        # 2025-01-31 is day 20,119 since 1970-01-01; Excel serial 45688 is that day; 46052.75 is 2026-01-30
        assert a.lines.start.tolist() == [20119] * 50, name
        assert a.lines.end.tolist() == [20483] * 50, name
        assert a.lines.amount.tolist() == [120050 if name != "iso" else 120000] * 50, name


def test_a_bad_cell_in_a_clean_column_keeps_its_message_and_cell():
    rows = [["Contract ID", "Customer", "Start Date", "End Date", "Amount"]] + \
        [[f"C{i}", "Acme", "2025-01-01", "2025-12-31", 100.0] for i in range(5)]
    rows[3][2] = "2025-02-30"
    rows[4][4] = 0.125
    rows[5][3] = 60
    problems = parse_contracts(rows, sheet="Contracts", origin=(1, 1)).problems
    got = [(p.cell, p.message) for p in problems if p.is_error]
    assert got == [("C4", "Start Date: '2025-02-30' is not a date that exists"),
                   ("E5", "Amount 0.125 has more decimals than cents"),
                   ("D6", "End Date: Excel serial 60 is 1900-02-29, a day that does not exist (Excel's 1900 "
                          "leap-year bug)")]
    assert parse_contracts(rows).lines.row.tolist() == [2, 3]  # C3, C4, C5 left out


# --- the fast paths for what Excel hands xlwings (dates and blanks only; contiguous contracts; unique Line IDs)

DATE_OR_BLANK = st.one_of(st.none(), DATETIMES, DATES)


@st.composite
def excel_books(draw):
    """Columns as xlwings hands them: dates as datetime/date (some before 1900) or None, text, floats; Contract IDs
    contiguous or shuffled, Customers and Line IDs that may differ only by case."""
    n = draw(st.integers(1, 15))
    ids = draw(st.lists(st.sampled_from(["C1", "c1", "C2", "C3", "C4", " "]), min_size=n, max_size=n))
    if draw(st.booleans()):
        ids = sorted(ids)  # contiguous contracts
    col = lambda s: draw(st.lists(s, min_size=n, max_size=n))  # noqa: E731
    customers = col(st.sampled_from(["Acme", "ACME", "Globex", ""]))
    line_ids = col(st.one_of(st.sampled_from(["1", "2", "L1", "l1", ""]), st.uuids().map(str)))
    body = [ids, customers, line_ids, col(DATE_OR_BLANK), col(DATE_OR_BLANK), col(DATE_OR_BLANK),
            col(st.one_of(CENTS, st.none())), col(DATE_OR_BLANK)]
    return [["Contract ID", "Customer", "Line ID", "Booking Date", "Start Date", "End Date", "Amount",
             "Billing Start"]] + [list(r) for r in zip(*body)]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(excel_books())
def test_date_only_columns_and_cross_row_gates_equal_per_cell(rows):
    a = parse_contracts(rows, sheet="Contracts", origin=(1, 1))
    b = parse_contracts(rows, sheet="Contracts", origin=(1, 1), columnar=False)
    assert_same(a, b)


def _conflicts_by_hand(contract_keys, customers, line_ids) -> bool:
    """The rule itself, row by row: two Customers (case-insensitively) for one contract, or one (Contract ID,
    Line ID) twice, among non-blank cells."""
    seen_customer, seen_line = {}, set()
    for ck, cust, li in zip(contract_keys, customers, line_ids):
        if not ck:
            continue
        if cust and seen_customer.setdefault(ck, cust.casefold()) != cust.casefold():
            return True
        if li:
            if (ck, li.casefold()) in seen_line:
                return True
            seen_line.add((ck, li.casefold()))
    return False


@settings(max_examples=500, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["", "c1", "c2", "c3"]), st.sampled_from(["", "Acme", "ACME", "Globex"]),
                          st.sampled_from(["", "1", "2", "L1", "l1", "x"])), max_size=12), st.booleans())
def test_cross_row_gate_finds_every_conflict(cells, contiguous_order):
    from bbb_xl.engine.table import _contract_codes, _cross_row_conflicts
    if contiguous_order:
        cells = sorted(cells, key=lambda c: c[0])
    keys, customers, line_ids = (list(x) for x in zip(*cells)) if cells else ([], [], [])
    codes, contiguous, same = _contract_codes(keys)
    assert codes.tolist() == [list(dict.fromkeys(keys)).index(k) for k in keys]  # order of first row
    assert contiguous == (len(dict.fromkeys(keys)) == len([k for i, k in enumerate(keys)
                                                              if i == 0 or keys[i - 1] != k]))
    assert _cross_row_conflicts(keys, customers, line_ids, contiguous, same) == \
        _conflicts_by_hand(keys, customers, line_ids)
