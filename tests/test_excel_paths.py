"""What users meet in real Excel, replayed on the xlwings COM call path (tests/xlwings_replay.py): a table's Total
Row inside Contracts[#All], and currency-formatted cells, which COM hands over as 4-decimal currency values
(VT_CY: pywin32 gives a Decimal) where a float was expected. Issue "Excel for real", section 4."""
import datetime as dt
from decimal import Decimal

import pytest

import xlwings_replay as xr  # noqa: E402  (tests/ is on sys.path via conftest)
from bbb_xl import load_book

HEADER = ("Contract ID", "Customer", "Start Date", "End Date", "Amount", "Recognition", "Billing", "Currency")
UTC = dt.timezone.utc


def _date(y, m, d):
    return xr.PyTime(y, m, d, tzinfo=UTC)


@pytest.fixture(scope="module")
def udfs():
    return xr.load_udf_module("bbb_xl.udfs")


def test_a_table_total_row_is_left_out_with_a_warning(udfs):
    # =BBB_REVENUE(Contracts[#All], "2025") on a table whose Total Row is on: 12,000 + 1,200, not 26,400
    rows = (HEADER,
            ("C1", "Acme", _date(2025, 1, 1), _date(2025, 12, 31), 12000.0, "monthly", "upfront", None),
            ("C2", "Beta", _date(2025, 1, 1), _date(2025, 12, 31), 1200.0, "monthly", "upfront", None),
            ("Total", None, None, None, 13200.0, None, None, None))
    rng = xr.XlRange(rows)
    assert xr.call(udfs.BBB_REVENUE, rng, "2025") == 13200.0
    check = xr.call(udfs.BBB_CHECK, rng)
    warning = [r for r in check[1:] if r[3] == "warning"]
    assert warning == [[4, "Contract ID", "Total", "warning", "the last row is a table Total Row: left out (pass "
                        "Contracts[[#Headers],[#Data]] to leave it out yourself)"]]


def test_currency_formatted_amounts_and_rates_arrive_as_decimals(udfs):
    # COM currency values (Decimal with 4 places) for Amount and for the FX Rate: the same cents as floats.
    # EUR 1,000.0000 booked in 2026-02 at 1.0843 USD: 1,084.30 USD; USD 1,200.0000 over 2026: 100.00 a month
    body = [("U1", "Acme", _date(2026, 1, 1), _date(2026, 12, 31), Decimal("1200.0000"), "monthly", "monthly",
             "USD"),
            ("E1", "Euro AG", _date(2026, 2, 1), _date(2026, 2, 28), Decimal("1000.0000"), "monthly", "upfront",
             "EUR")]
    fx = (("Currency", "Month", "Rate"), ("EUR", _date(2026, 2, 1), Decimal("1.0843")))
    as_decimals = xr.call(udfs.BBB_REVENUE, xr.XlRange((HEADER, *body)), "2026-02", None, None, None,
                          xr.XlRange(fx))
    assert as_decimals == 1184.30  # 100.00 + 1,084.30
    floats = [tuple(float(v) if isinstance(v, Decimal) else v for v in r) for r in body]
    fx_floats = (fx[0], ("EUR", _date(2026, 2, 1), 1.0843))
    assert xr.call(udfs.BBB_REVENUE, xr.XlRange((HEADER, *floats)), "2026-02", None, None, None,
                   xr.XlRange(fx_floats)) == as_decimals
    # and a currency value with digits beyond the cent is refused where it is, not rounded silently
    odd = [body[0][:4] + (Decimal("1200.0050"),) + body[0][5:]]
    out = xr.call(udfs.BBB_REVENUE, xr.XlRange((HEADER, *odd)), "2026-02")
    assert isinstance(out, str) and out.startswith("#BBB! row 2: Amount")


def test_the_engine_ignores_only_a_last_row_named_total():
    rows = [list(HEADER[:5]), ["Total", "Acme", "2025-01-01", "2025-12-31", 1200],
            ["C2", "Beta", "2025-01-01", "2025-12-31", 1200]]
    book = load_book(rows)
    assert book.ok and sorted(book.lines.contract) == ["C2", "Total"]  # a contract called Total is a contract
