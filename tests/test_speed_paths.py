"""The faster paths of the cold run (issue 19, part 1, third pass) give exactly what the simple ones give: month
index by table, one division per cell, contract sums by row gathers, invoice periods stepped from the previous
one, the period table's summed matrices and its blocks, the cross-row gate on long contracts."""
import datetime as dt

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from bbb_xl import load_book
from bbb_xl.core.dates import _MONTH_STARTS, EPOCH, add_months, month_index
from bbb_xl.core.money import mul_div_round, mul_div_round_rows
from bbb_xl.core.periods import period_grid, schedule_window
from bbb_xl.engine import bulk
from bbb_xl.engine.billing import billing_periods, billing_schedule
from bbb_xl.engine.book import _sum_runs
from bbb_xl.engine.table import _contract_codes, _cross_row_conflicts
from bbb_xl.sample import sample_contracts, sample_events
from benchmarks.generate import generate_book

LO, HI = int(_MONTH_STARTS[0]), int(_MONTH_STARTS[-1])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(LO - 400, HI + 400), min_size=1, max_size=30))
def test_month_index_by_table_equals_the_datetime64_cast(days):
    days = np.array(days, dtype=np.int64)
    assert month_index(days).tolist() == days.astype("M8[D]").astype("M8[M]").astype(np.int64).tolist()


def test_month_index_at_known_days():
    # 2024-02-29 is month 649 since 1970-01 ((2024 - 1970) * 12 + 1); 1899-12-31 is month -841
    assert month_index(np.array([(dt.date(2024, 2, 29) - EPOCH).days, (dt.date(1899, 12, 31) - EPOCH).days])
                       ).tolist() == [649, -841]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(-10**14, 10**14), st.integers(1, 2**31)), min_size=1, max_size=6),
       st.data())
def test_one_division_per_cell_equals_mul_div_round(rows, data):
    amount = np.array([a for a, _ in rows], dtype=np.int64)
    total = np.array([t for _, t in rows], dtype=np.int64)
    row = np.array(data.draw(st.lists(st.integers(0, len(rows) - 1), max_size=20)), dtype=np.int64)
    weight = np.array([data.draw(st.integers(0, int(total[r]))) for r in row], dtype=np.int64)
    assert mul_div_round_rows(amount, total, row, weight).tolist() == \
        mul_div_round(amount[row], weight, total[row]).tolist()


def test_one_division_per_cell_rounds_half_away_from_zero():
    # 100.01 over 3 equal months: 33.34 after one month (33.336...), 66.67 after two (66.673...); -0.05 at a half
    # weight is -0.025 -> -0.03
    got = mul_div_round_rows(np.array([10001, -5]), np.array([3, 2]), np.array([0, 0, 0, 1]),
                             np.array([1, 2, 3, 1]))
    assert got.tolist() == [3334, 6667, 10001, -3]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(1, 20), min_size=1, max_size=12), st.booleans())
def test_contract_sums_by_row_gathers_equal_reduceat(lengths, as_object):
    rng = np.random.default_rng(len(lengths))
    values = rng.integers(-10**9, 10**9, size=(sum(lengths), 3))
    if as_object:
        values = values.astype(object) * 10**12  # beyond int64: exact Python ints
    starts = np.r_[0, np.cumsum(lengths)[:-1]]
    assert _sum_runs(values, starts).tolist() == np.add.reduceat(values, starts, axis=0).tolist()


def _periods_one_by_one(lines):
    """billing_periods' period boundaries by the definition: period k of a line is [anchor + k n months,
    anchor + (k + 1) n months - 1], the last one cut at the End Date; upfront: one period, Start to End."""
    line, _, _, _, _, offsets, count = billing_periods(lines)
    k = np.arange(len(line)) - np.repeat(offsets, count)
    m = lines.billing_months[line].astype(np.int64)
    a, e = lines.billing_start[line], lines.end[line]
    up = m == 0
    first = np.where(up, a, add_months(a, k * m))
    last = np.where(up, e, np.minimum(add_months(a, (k + 1) * m) - 1, e))
    return first, last


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_invoice_periods_stepped_from_the_previous_one_equal_the_definition(seed):
    book = load_book(generate_book(2000, months=60, seed=seed))
    _, date, _, p_first, p_last, _, _ = billing_periods(book.lines)
    first, last = _periods_one_by_one(book.lines)
    assert p_first.tolist() == first.tolist() and p_last.tolist() == last.tolist()
    inv = billing_schedule(book.lines)
    per_line = np.zeros(len(book.lines), dtype=np.int64)
    np.add.at(per_line, inv.line, inv.amount)
    assert per_line.tolist() == book.lines.amount.tolist()  # invoices sum to the Amount exactly


def test_invoice_periods_of_month_end_anchors():
    # anchored on Jan 31, monthly to Jun 29: periods end Feb 28 (29 in 2024), Mar 30, Apr 29, May 30, Jun 29
    rows = [["Contract ID", "Customer", "Start Date", "End Date", "Amount", "Billing", "Billing Timing"],
            ["C1", "Acme", dt.datetime(2024, 1, 31), dt.datetime(2024, 6, 29), 500.0, "monthly", "arrears"]]
    book = load_book(rows)
    inv = book.invoices
    iso = [str(EPOCH + dt.timedelta(days=int(d))) for d in inv.period_last]
    assert iso == ["2024-02-28", "2024-03-30", "2024-04-29", "2024-05-30", "2024-06-29"]
    assert [str(EPOCH + dt.timedelta(days=int(d))) for d in inv.period_first] == \
        ["2024-01-31", "2024-02-29", "2024-03-31", "2024-04-30", "2024-05-31"]
    assert inv.amount.tolist() == [10000] * 5  # five whole months of 100.00


def assert_table_equals_schedules(book, first, last, sel=None):
    periods = period_grid(*schedule_window(first, last), "month")
    bounds = np.array([periods[0].first - 1] + [p.last for p in periods])
    table = bulk.period_table(book, bounds, sel)
    chosen = np.arange(len(book.lines)) if sel is None else sel
    for metric in ("bookings", "billings", "revenue", "backlog", "deferred", "unbilled"):
        flow = metric in ("bookings", "billings", "revenue")
        got = [int(v) for v in (table[metric] if flow else table[metric][1:])]
        if sel is None:
            want = [int(v) for v in book.schedule_for(metric, first, last).total()]
            assert got == want, metric
        if not flow:
            assert int(table[metric][0]) == book.balance_cents(metric, int(bounds[0]), chosen)
    return table


def test_period_table_in_small_blocks_and_a_selection(monkeypatch):
    book = load_book(generate_book(3000, months=36, seed=7))
    whole = assert_table_equals_schedules(book, "2024-01", "2026-12")
    monkeypatch.setattr(bulk, "_CACHE_BLOCK", 257)  # many blocks, none splitting a contract
    assert {k: v.tolist() for k, v in assert_table_equals_schedules(book, "2024-01", "2026-12").items()} == \
        {k: v.tolist() for k, v in whole.items()}
    # a selection: the sum of the tables of two halves of the contracts is the whole book's table
    codes = book.lines.contract_code
    periods = period_grid(*schedule_window("2024-01", "2026-12"), "month")
    bounds = np.array([periods[0].first - 1] + [p.last for p in periods])
    even, odd = np.flatnonzero(codes % 2 == 0), np.flatnonzero(codes % 2 == 1)
    a, b = bulk.period_table(book, bounds, even), bulk.period_table(book, bounds, odd)
    for k in whole:
        assert (a[k] + b[k]).tolist() == whole[k].tolist(), k


def test_period_table_with_allocation_events_and_shuffled_rows():
    rows = sample_contracts()
    book = load_book(rows, events=sample_events(rows))
    table = assert_table_equals_schedules(book, "2024-01", "2026-12")
    rng = np.random.default_rng(3)
    body = [rows[0]] + [rows[1:][i] for i in rng.permutation(len(rows) - 1)]  # contracts no longer contiguous
    shuffled = assert_table_equals_schedules(load_book(body, events=sample_events(rows)), "2024-01", "2026-12")
    assert {k: v.tolist() for k, v in shuffled.items()} == {k: v.tolist() for k, v in table.items()}


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["c1", "c2"]), st.integers(15, 20), st.booleans(), st.booleans()),
                min_size=1, max_size=3))
def test_cross_row_gate_on_long_contracts(contracts):
    """Contracts of 15 to 20 lines (the gate compares rows up to 16 apart, then counts sets): a duplicate
    Line ID (differing only in case) anywhere in the contract, or a second Customer, is found."""
    keys, customers, line_ids = [], [], []
    for n, (key, size, dup, other) in enumerate(contracts):
        ids = [f"L{i}" for i in range(size)]
        if dup:
            ids[-1] = ids[0].lower()
        keys += [f"{key}-{n}"] * size
        customers += ["Acme"] * (size - 1) + (["Globex"] if other else ["ACME"])
        line_ids += ids
    want = any(dup for _, _, dup, _ in contracts) or any(other for _, _, _, other in contracts)
    codes, contiguous, same = _contract_codes(keys)
    assert contiguous
    assert _cross_row_conflicts(keys, customers, line_ids, contiguous, same) == want
    assert _cross_row_conflicts(keys, np.array(customers, dtype=object), np.array(line_ids, dtype=object),
                                contiguous, same) == want


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(-5000, 5000), max_size=8), st.lists(st.integers(-6000, 6000), max_size=30))
def test_days_up_to_by_table_equals_searchsorted(days, x):
    from bbb_xl.core.dates import days_up_to
    days, x = np.array(sorted(days), dtype=np.int64), np.array(x, dtype=np.int64)
    assert days_up_to(days, x).tolist() == np.searchsorted(days, x, side="right").tolist()
    assert days_up_to(days, x - 1).tolist() == np.searchsorted(days, x, side="left").tolist()


# --- the parse: text columns that repeat a few values are checked once per distinct value; small ranges always
# take that path, so the per-cell comparisons of tests/test_columnar_parse.py are run again without it

from unittest import mock  # noqa: E402

from hypothesis import HealthCheck  # noqa: E402

from bbb_xl.engine import table  # noqa: E402
from tests.test_columnar_parse import assert_same, books, excel_books  # noqa: E402


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.one_of(books(), excel_books()))
def test_columnar_parse_without_the_distinct_values_path_equals_per_cell(rows):
    with mock.patch.object(table, "_few_distinct", lambda vals, **kw: None):
        a = table.parse_contracts(rows, sheet="Contracts", origin=(1, 1))
    b = table.parse_contracts(rows, sheet="Contracts", origin=(1, 1), columnar=False)
    assert_same(a, b)


def test_few_distinct_values():
    assert table._few_distinct(("EMEA", "APAC", None) * 1000) == {"EMEA", "APAC", None}
    assert table._few_distinct(tuple(f"C{i}" for i in range(1000))) is None  # 512 distinct in the sample
    assert table._few_distinct(("a",) * 600 + tuple(f"C{i}" for i in range(5000))) is None  # too many in all


def test_repeated_text_with_spaces_errors_and_blanks_keeps_every_message():
    """A Region column of a few values, one with spaces around it, one an Excel error, one blank; a Product column
    of clean values (kept as they are): the same lines and problems as cell by cell."""
    rows = [["Contract ID", "Customer", "Start Date", "End Date", "Amount", "Product", "Region"]]
    for i in range(200):
        rows.append([f"C{i // 2}", "Acme", dt.datetime(2025, 1, 1), dt.datetime(2025, 12, 31), 1200.0,
                     "Subscription", ["EMEA", " APAC ", "#N/A", "", "EMEA"][i % 5]])
    a = table.parse_contracts(rows, sheet="Contracts", origin=(1, 1))
    assert_same(a, table.parse_contracts(rows, sheet="Contracts", origin=(1, 1), columnar=False))
    # rows 2-3 (C0: EMEA, " APAC ") and 6-7 (C2: EMEA, EMEA) kept; C1 has the #N/A on row 4
    assert a.lines.dims["Region"].tolist()[:4] == ["EMEA", "APAC", "EMEA", "EMEA"]
    errors = [(p.cell, p.message) for p in a.problems if p.is_error]
    assert errors[:2] == [("G4", "Region is the Excel error #N/A"), ("G9", "Region is the Excel error #N/A")]


@pytest.mark.parametrize("seed", [11, 12])
def test_period_table_per_contract_equals_the_line_matrices(seed, monkeypatch):
    book = load_book(generate_book(2500, months=48, seed=seed))
    periods = period_grid(*schedule_window("2024-01", "2027-12"), "month")
    bounds = np.array([periods[0].first - 1] + [p.last for p in periods])
    assert bulk._per_line_rules_only(book)
    by_contract = bulk.period_table(book, bounds)
    monkeypatch.setattr(bulk, "_per_line_rules_only", lambda book: False)
    by_line = bulk.period_table(book, bounds)
    assert {k: v.tolist() for k, v in by_contract.items()} == {k: v.tolist() for k, v in by_line.items()}


def test_recognized_and_billed_by_contract_are_the_sums_of_the_lines():
    from bbb_xl.engine.billing import billed_by_group, billed_to_date
    from bbb_xl.engine.book import _view
    from bbb_xl.engine.recognition import recognized_by_group, recognized_to_date
    from bbb_xl.engine.sums import sum_by_code
    book = load_book(generate_book(1500, months=36, seed=4))
    days = np.array([19722, 19800, 19900, 20000, 20200, 20500, 20800], dtype=np.int64)  # 2023-12-31 onwards
    idx = np.arange(len(book.lines))
    codes = book.lines.contract_code
    n = int(codes.max()) + 1
    lines, basis = _view(book.lines, idx), book.basis.take(idx)
    assert recognized_by_group(lines, basis, days, codes, n).tolist() == \
        sum_by_code(recognized_to_date(lines, basis, days), codes, n).tolist()
    inv = book.invoices
    assert billed_by_group(inv.line, inv.date, inv.amount, codes, n, days).tolist() == \
        sum_by_code(billed_to_date(inv, len(idx), days), codes, n).tolist()
