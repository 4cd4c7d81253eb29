"""Hostile input through every BBB_ formula, the xlwings replay path, `bbb-xl check` and the headless refresh.

Every case ends in a correct answer or a located message (row AND column named); never an unhandled exception,
never a number computed from partial input. The corpus and its expectations are in hostile_corpus.py.
"""
import csv
import datetime as dt
import math
import random
import re
import sys
import time
from decimal import Decimal

import openpyxl
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hostile_corpus as hc
from bbb_xl import load_book, udfs
from bbb_xl.api import clear_cache
from bbb_xl.cli import cli
from bbb_xl.core.errors import column_letter

# every public formula, with arguments that make each of them answer from every line of the book
CALLS = {
    "BBB_BOOKINGS": lambda f, r: f(r, "2025-01", "2026-12"),
    "BBB_BILLINGS": lambda f, r: f(r, "2025-01", "2026-12"),
    "BBB_REVENUE": lambda f, r: f(r, "2025-01", "2026-12"),
    "BBB_BACKLOG": lambda f, r: f(r, "2025-06-30"),
    "BBB_DEFERRED": lambda f, r: f(r, "2025-05-15"),
    "BBB_UNBILLED": lambda f, r: f(r, "2025-02-15"),
    "BBB_RPO": lambda f, r: f(r, "2025-06-30"),
    "BBB_DEFERRED_SPLIT": lambda f, r: f(r, "2025-05-15"),
    "BBB_SCHEDULE": lambda f, r: f(r, "revenue", "2025-01", "2025-12", "quarter", "Region"),
    "BBB_CHECK": lambda f, r: f(r),
    "BBB_EXPLAIN": lambda f, r: f(r, "C0", "2025-03"),  # one contract: every line is checked first
    "BBB_MRR": lambda f, r: f(r, "2025-06-30"),
    "BBB_ARR": lambda f, r: f(r, "2025-06-30"),
    "BBB_ARR_BRIDGE": lambda f, r: f(r, "2025-01", "2025-12", "quarter"),
    "BBB_NRR": lambda f, r: f(r, "2026-06-30"),
    "BBB_GRR": lambda f, r: f(r, "2026-06-30"),
    "BBB_CUSTOMERS": lambda f, r: f(r, "2025-06-30"),
    "BBB_COVERAGE": lambda f, r: f(r, "2025-06-30"),
    "BBB_ALERTS": lambda f, r: f(r, "2025-06-30"),
    "BBB_FORECAST": lambda f, r: f(r, "revenue", "2025-07", "2026-06", "2025-06-30", "month",
                                   [["Renewal Rate", "Uplift"], [0.9, 0.05]]),
    "BBB_VARIANCE": lambda f, r: f(r, "revenue", "2025-01", "2026-12", [["Version", "Month", "Metric", "Amount"],
                                                                         ["Budget", "2025-01", "revenue", 1.0]]),
    "BBB_REFUND_LIABILITY": lambda f, r: f(r, "2025-06-30"),
}
NUMERIC = [n for n in CALLS if n != "BBB_CHECK"]
TRIED = {"cells": 0, "headers": 0, "ranges": 0, "replay": 0, "cli": 0, "xlsx": 0, "hypothesis": 0}


@pytest.fixture(autouse=True)
def _fresh_cache():
    clear_cache()  # each case parses its own range (see test_cache_keeps_true_and_one_apart for why)
    yield


OTHER = {"BBB_ALLOCATE"}  # not over a contracts range: test_allocate_hostile_arguments


def test_every_public_function_is_exercised():
    assert sorted(set(CALLS) | OTHER) == sorted(udfs.PUBLIC_FUNCTIONS)


def _allocate_well_formed(total, ssps):
    result = udfs.BBB_ALLOCATE(total, ssps)
    if isinstance(result, str):
        assert result.startswith("#BBB!") and "unexpected error" not in result, (total, ssps, result)
        return None
    flat = [c for row in result for c in (row if isinstance(row, list) else [row])]
    assert all(is_number(c) for c in flat), (total, ssps, result)
    return flat


@pytest.mark.parametrize("v", hc.VALUES, ids=lambda v: v.label)
def test_allocate_hostile_arguments(v):
    """BBB_ALLOCATE with each hostile value as the total and as an SSP: numbers that sum to the total, or
    `#BBB!`; an error SSP never allocates."""
    TRIED["cells"] += 2
    _allocate_well_formed(v.value, [[50.0], [25.0], [75.0]])
    flat = _allocate_well_formed(100.0, [[50.0], [v.value], [75.0]])
    if flat is not None:
        assert round(sum(flat), 2) == 100.0, flat
    if v.amount is hc.ERR and not isinstance(v.value, (int, float)) and v.value not in (None, ""):
        assert flat is None or v.value in ("",), (v.label, flat)


def answers(rows, fns=None):
    clear_cache()  # parsed once for the nine formulas (the LRU), never reused from another range
    return {name: CALLS[name](getattr(udfs, name), rows) for name in fns or CALLS}


def check_rows_located(check):
    return {(r[0], r[1], r[3]) for r in check[1:]} if check and check[0] and check[0][0] == "Row" else set()


def is_number(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def assert_well_formed(name, result):
    """A number, a spilled table of labels and numbers, or one line of `#BBB!` text: never a crash."""
    if isinstance(result, str):
        assert result.startswith("#BBB!"), (name, result)
        assert "unexpected error" not in result, (name, result)
        assert "\n" not in result and len(result) <= 255
        return
    if name in ("BBB_RPO", "BBB_DEFERRED_SPLIT", "BBB_SCHEDULE", "BBB_CHECK", "BBB_EXPLAIN", "BBB_ARR_BRIDGE",
                "BBB_ALERTS", "BBB_FORECAST", "BBB_VARIANCE"):
        assert isinstance(result, list) and result, (name, result)
        for row in result:
            for cell in row:
                assert cell is None or isinstance(cell, str) or is_number(cell), (name, row)
        return
    assert is_number(result), (name, result)


def assert_located_error(rows, row, column, got=None):
    """The book has an error at (row, column); every numeric formula says `#BBB! row N:` naming the column."""
    book = load_book(rows)
    located = {(p.row, p.column) for p in book.errors}
    assert (row, column) in located, (row, column, book.problems)
    got = got or answers(rows)
    first = min(p.row for p in book.errors)
    for name in NUMERIC:
        text = got[name]
        assert isinstance(text, str) and text.startswith(f"#BBB! row {first}: "), (name, text)
        if first == row:
            assert any(c.casefold() in text.casefold() for c in (column, *[p.column for p in book.errors
                                                                               if p.row == row and p.column])), text
    assert (row, column, "error") in check_rows_located(got["BBB_CHECK"]), got["BBB_CHECK"]


def same_answers(a, b):
    assert a.keys() == b.keys()
    for name in a:
        if name == "BBB_CHECK":
            assert check_rows_located(a[name]) == check_rows_located(b[name]), (a[name], b[name])
        else:
            assert a[name] == b[name], (name, a[name], b[name])


def run_cell_case(column, v):
    rows = hc.book(column, v.value)
    got = answers(rows)
    for name, result in got.items():
        assert_well_formed(name, result)
    expect = hc.expected(column, v)
    book = load_book(rows)
    hostile_errors = {(p.row, p.column) for p in book.errors}
    if expect is hc.ERR or (isinstance(expect, hc.Either) and (hc.HOSTILE_ROW, column) in hostile_errors):
        assert_located_error(rows, hc.HOSTILE_ROW, column, got)
        return "error"
    clean = expect.clean if isinstance(expect, hc.Either) else expect
    want = answers(hc.book(column, clean))
    same_answers(got, want)
    return "ok"


CASES = hc.cases()


@pytest.mark.parametrize("column", hc.HEADER)
def test_hostile_cells_in_every_column(column):
    """Every corpus value in this column, through all nine formulas (about 100 values x 9 functions)."""
    failures = []
    for col, v in CASES:
        if col != column:
            continue
        TRIED["cells"] += 1
        try:
            run_cell_case(col, v)
        except AssertionError as exc:
            failures.append(f"{v.label!r} ({v.value!r:.40}): {str(exc)[:300]}")
    assert not failures, f"{len(failures)} failures in {column}:\n" + "\n".join(failures)


def test_one_bad_row_makes_every_numeric_formula_refuse():
    """No number from part of the input: a single bad row anywhere in a 500-line book blanks every figure."""
    rng = random.Random(7)
    rows = [list(hc.HEADER)] + [hc.clean_row(**{"Contract ID": f"C{i}"}) for i in range(500)]
    for _ in range(5):
        bad = [list(r) for r in rows]
        r, col = rng.randrange(1, len(bad)), rng.choice(["Amount", "Start Date", "Billing", "Customer"])
        bad[r][hc.HEADER.index(col)] = "#DIV/0!"
        got = answers(bad)
        for name in NUMERIC:
            assert isinstance(got[name], str) and got[name].startswith(f"#BBB! row {r + 1}: {col}"), got[name]


@pytest.mark.parametrize("case", hc.HEADER_CASES, ids=lambda c: c.label)
def test_hostile_headers(case):
    TRIED["headers"] += 1
    clean = hc.book("Region", "EMEA")
    rows = [list(case.header)] + [r + [None] * (len(case.header) - len(r)) for r in clean[1:]]
    got = answers(rows)
    for name, result in got.items():
        assert_well_formed(name, result)
    if case.ok:
        same_answers(got, answers(clean))
        return
    book = load_book(rows)
    header_problems = [p for p in book.errors if p.row == 1]
    assert header_problems, book.problems
    named = " ".join(f"{p.column} {p.message}" for p in header_problems).casefold()
    assert case.column.casefold() in named, header_problems
    for name in NUMERIC:
        assert got[name].startswith("#BBB! row 1: "), got[name]


@pytest.mark.parametrize("name", ["\uff21\uff4d\uff4f\uff55\uff4e\uff54", "Am\u200bount", "\ufeffAmount"])
def test_unicode_lookalike_headers_are_recognised(name):
    rows = hc.book("Region", "EMEA")
    rows[0][hc.AMOUNT] = name
    assert load_book(rows).ok


@pytest.mark.parametrize("label,rng,expect", hc.whole_ranges(), ids=[c[0] for c in hc.whole_ranges()])
def test_whole_ranges(label, rng, expect):
    TRIED["ranges"] += 1
    got = answers(rng)
    for name, result in got.items():
        assert_well_formed(name, result)
    if expect == "zero":
        for name in ("BBB_BOOKINGS", "BBB_BILLINGS", "BBB_REVENUE", "BBB_BACKLOG", "BBB_DEFERRED", "BBB_UNBILLED"):
            assert got[name] == 0.0, (name, got[name])
        assert got["BBB_CHECK"] == [["OK", "0 lines, no problems"]]
    elif expect == "number":
        assert is_number(got["BBB_REVENUE"])
    else:
        for name in NUMERIC:
            assert got[name].startswith("#BBB! row "), (name, got[name])


def test_hidden_merged_and_header_only_rows_in_an_xlsx(tmp_path):
    """Hidden rows count (like SUM); a merged Customer leaves the rows below it blank -> located errors."""
    path = tmp_path / "hidden_merged.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Contracts"
    ws.append(hc.HEADER)
    for i in range(6):
        ws.append(hc.clean_row(**{"Contract ID": f"C{i}", "Customer": f"Cust {i}"}))
    ws.row_dimensions[3].hidden = True
    ws.row_dimensions[4].hidden = True
    ws.merge_cells("B6:B7")  # Customer of rows 6-7: only B6 keeps its value
    ws.append(["#N/A"] + hc.clean_row()[1:])  # a real error cell (openpyxl writes '#N/A' as t="e")
    wb.save(path)
    TRIED["xlsx"] += 1
    result = CliRunner().invoke(cli, ["check", str(path)])
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)
    assert "Contracts!B7" in result.output and "Customer is blank" in result.output
    assert "Contracts!A8" in result.output and "Excel error #N/A" in result.output
    assert "Contracts!B3" not in result.output and "Contracts!A3" not in result.output  # hidden rows are read
    from bbb_xl.api import load_file
    book = load_file(path)
    assert sorted(book.lines.contract) == ["C0", "C1", "C2", "C3", "C4"]  # hidden C1, C2 in; C5 merged away

    header_only = tmp_path / "header_only.xlsx"
    wb = openpyxl.Workbook()
    wb.active.title = "Contracts"
    wb.active.append(hc.HEADER)
    wb.save(header_only)
    result = CliRunner().invoke(cli, ["check", str(header_only)])
    assert result.exit_code == 0 and "0 lines, no problems" in result.output


ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _csv_cell(v):
    return "" if v is None else v if isinstance(v, str) else hc.as_text(v) if not isinstance(v, float) else repr(v)


@pytest.mark.parametrize("column", ["Contract ID", "Customer", "Start Date", "Amount", "Billing", "Region"])
def test_cli_check_on_hostile_csv_and_xlsx(tmp_path, column):
    """`bbb-xl check` on a file per value: exit 0 with OK, or exit 1 naming the cell (column letter + row 4)."""
    runner = CliRunner()
    letter = column_letter(hc.HEADER.index(column) + 1)
    for i, v in enumerate(hc.VALUES):
        if not v.com_ok or v.label in ("bytes", "list", "long text"):
            continue
        rows = hc.book(column, v.value)
        clear_cache()
        errors = {(p.row, p.column) for p in load_book(rows).errors}
        # CSV: every cell is text as a CSV holds it
        csv_path = tmp_path / f"c{i}.csv"
        with open(csv_path, "w", newline="", encoding="utf-8") as fh:
            csv.writer(fh).writerows([[_csv_cell(c) for c in r] for r in rows])
        # xlsx: typed cells (dates, numbers, bools, errors) written by openpyxl
        xlsx_path = tmp_path / f"c{i}.xlsx"
        wb = openpyxl.Workbook()
        ws = wb.active
        ws.title = "Contracts"
        for i_r, r in enumerate(rows, start=1):
            for j, c in enumerate(r, start=1):
                if isinstance(c, str) and c:
                    cell = ws.cell(i_r, j, ILLEGAL_XML.sub("", c))  # characters an xlsx cannot hold
                    if c not in hc.COM:
                        cell.data_type = "s"  # text, even when it looks like a formula
                elif c != "":
                    ws.cell(i_r, j, c)
        wb.save(xlsx_path)
        for path in (csv_path, xlsx_path):
            TRIED["cli"] += 1
            result = runner.invoke(cli, ["check", str(path)])
            assert result.exception is None or isinstance(result.exception, SystemExit), \
                (v.label, path.suffix, result.exception)
            out = result.output
            if result.exit_code == 0:
                assert "no problems" in out or "warning" in out, (v.label, out)
            else:
                assert result.exit_code == 1, (v.label, out)
                assert "error" in out, (v.label, out)
                assert f"!{letter}4" in out or "!" in out and "4" in out, (v.label, path.suffix, out)
            if path.suffix == ".xlsx" and (hc.HOSTILE_ROW, column) in errors:
                assert result.exit_code == 1 and f"!{letter}4" in out, (v.label, out)


def test_replay_path_subset():
    """A seeded subset through the replayed Windows COM path: what the cell shows equals the direct call."""
    if sys.platform.startswith("win"):  # pragma: no cover
        pytest.skip("replay harness is for machines without pywin32")
    import xlwings_replay as xr
    mod = xr.load_udf_module("bbb_xl.udfs")
    rng = random.Random(606)
    pool = [(c, v) for c, v in CASES if v.com_ok]
    sample = rng.sample(pool, 45)
    failures = []
    for column, v in sample:
        rows = hc.book(column, v.value)
        com = xr.com_rows(rows)  # what Range.Value hands over (errors as ints, dates tz-aware, numbers floats)
        for name in CALLS:
            TRIED["replay"] += 1
            clear_cache()
            cell = CALLS[name](lambda r, *a: xr.call(getattr(mod, name), xr.excel_range(rows), *a), rows)
            clear_cache()
            direct = CALLS[name](getattr(udfs, name), [list(r) for r in com])
            if isinstance(direct, list) and len(direct) == 1:
                direct = direct[0]  # CallUDF squeezes a 1xN result to 1-D
            if isinstance(cell, str):
                ok = cell.startswith("#BBB!") and "unexpected" not in cell and cell == direct
            else:
                ok = cell == direct
            if not ok:
                failures.append((column, v.label, name, cell, direct))
    assert not failures, failures[:10]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1),
       extra=st.lists(st.tuples(st.integers(0, 4), st.integers(0, 13),
                                st.one_of(st.none(), st.booleans(), st.integers(-2**63, 2**63),
                                          # |x| >= 1e26 in Amount: test_huge_float_amount_is_a_located_problem
                                          st.floats(allow_nan=True, allow_infinity=True).filter(
                                              lambda x: not abs(x) >= 1e25 or math.isinf(x)),
                                          st.text(max_size=20), st.datetimes(), st.dates(),
                                          st.decimals(min_value=-10**20, max_value=10**20),
                                          st.just(Decimal("NaN")), st.sampled_from([v.value for v in hc.VALUES]))),
                      min_size=1, max_size=6))
def test_hypothesis_random_cells_never_raise(seed, extra):
    """Random values of random types in random cells (header row included): a number or `#BBB!`, and never a
    number when the book has an error."""
    TRIED["hypothesis"] += 1
    rng = random.Random(seed)
    rows = [list(hc.HEADER)] + [hc.clean_row(**{"Contract ID": f"C{i}"}) for i in range(4)]
    for r, c, value in extra:
        while len(rows[r]) <= c:
            for row in rows:
                row.append(None)
        rows[r][c] = value
    rows[rng.randrange(1, 5)][rng.randrange(12)] = hc.random_cell(rng)
    got = answers(rows)
    for name, result in got.items():
        assert_well_formed(name, result)
    clear_cache()
    if not load_book(rows).ok:
        for name in NUMERIC:
            assert isinstance(got[name], str) and got[name].startswith("#BBB! row "), (name, got[name])


def test_full_sheet_of_1048575_rows(record_property):
    """BBB_CHECK on a full sheet of valid generated rows (once): every line read, no error, time recorded."""
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[1]))
    from benchmarks.generate import generate_book
    rows = generate_book(1_048_575)
    assert len(rows) == 1_048_576
    t0 = time.perf_counter()
    check = udfs.BBB_CHECK(rows)
    elapsed = time.perf_counter() - t0
    record_property("bbb_check_full_sheet_seconds", round(elapsed, 1))
    print(f"\nBBB_CHECK on 1,048,575 rows: {elapsed:.1f} s")
    # no error: warnings only, for the generated discount lines of contracts without SSPs, and for customers whose
    # discount line is active on days their subscription is not (booked late): negative MRR (docs/metrics.md)
    assert {r[3] for r in check[1:]} == {"warning"}
    assert all("no SSPs" in r[4] or "has negative MRR" in r[4] for r in check[1:])
    assert elapsed < 120


# --- bugs found by this suite, fixed (kept as regressions) --------------------------------------------------------------------------------

def test_cache_keeps_true_and_one_apart():
    good = hc.book("Amount", 1.0)
    bad = hc.book("Amount", True)
    clear_cache()
    assert udfs.BBB_REVENUE(good, "2025") == 2401.00  # C0 + C9 (2,400.00) + the 1.00 line
    assert udfs.BBB_REVENUE(bad, "2025").startswith("#BBB! row 4: Amount")  # actual: 2400.01 (cached)


@pytest.mark.parametrize("value", [True, "2025-02-30", 60.0, float("inf")])
def test_bad_end_date_is_one_problem(value):
    problems = load_book(hc.book("End Date", value)).errors
    assert len(problems) == 1, [p.message for p in problems]


def test_one_cell_range_through_com_is_a_located_problem():
    import xlwings_replay as xr
    mod = xr.load_udf_module("bbb_xl.udfs")
    text = xr.call(mod.BBB_REVENUE, xr.excel_range([["Contract ID"]]), "2025")
    assert text.startswith("#BBB! row 1: "), text


@pytest.mark.parametrize("column", ["Recognition", "Billing", "Billing Timing"])
def test_unhashable_choice_cell_is_a_located_problem(column):
    """An unhashable cell (a list, e.g. from a DataFrame) in a choice column: located, not 'unexpected error'
    (it was '#BBB! unexpected error (TypeError): unhashable type' when this suite was written)."""
    text = udfs.BBB_REVENUE(hc.book(column, [1, 2]), "2025")
    assert text.startswith(f"#BBB! row 4: {column}"), text


@pytest.mark.parametrize("value", [1e26, -1e26, 1e300])
def test_huge_float_amount_is_a_located_problem(value):
    text = udfs.BBB_REVENUE(hc.book("Amount", value), "2025")
    assert text.startswith("#BBB! row 4: Amount") and "largest amount" in text, text


def test_check_shows_com_errors_as_excel_errors():
    rows = hc.book("Amount", hc.COM["#N/A"])
    check = udfs.BBB_CHECK(rows)
    assert check[1][2] == "#N/A", check


def test_error_cell_as_period_argument_names_the_error():
    text = udfs.BBB_REVENUE(hc.book("Region", "EMEA"), hc.COM["#N/A"])
    assert "#N/A" in text, text


@pytest.fixture(scope="module", autouse=True)
def _report_counts():
    """Not a test: prints how many inputs the module tried, once its tests have run."""
    yield
    print("\ninputs tried:", TRIED, "corpus values:", len(hc.VALUES), "cell cases:", len(CASES))


# --- usage lines (engine.usage): hostile Unit Price, Included Quantity, Minimum Type, Quantity and Price Tiers cells

USAGE_HEADER = ["Contract ID", "Customer", "Line ID", "Start Date", "End Date", "Amount", "Recognition", "Billing",
                "Unit Price", "Included Quantity", "Minimum Type"]


def _usage_answer(unit_price=0.1, included=None, minimum=None, quantity=5, tier=None):
    rows = [USAGE_HEADER, ["U", "Acme", "u", "2025-01-01", "2025-12-31", 100, "usage", "monthly", unit_price,
                           included, minimum]]
    events = [["Contract ID", "Line ID", "Date", "Event", "Quantity"], ["U", "u", "2025-02-01", "usage", quantity]]
    tiers = None if tier is None else [["Contract ID", "From Quantity", "Unit Price", "Mode"], ["U", *tier]]
    return udfs.BBB_REVENUE(rows, "2025-01", "2025-12", None, events, tiers=tiers)


@pytest.mark.parametrize("v", hc.VALUES, ids=lambda v: v.label)
def test_usage_cells_hostile(v):
    """Each hostile value in each usage cell: a number, or `#BBB!` naming the row and column; never an unexpected
    error, never a number from part of the input."""
    cases = {"Unit Price": dict(unit_price=v.value), "Included Quantity": dict(included=v.value),
             "Minimum Type": dict(minimum=v.value), "Quantity": dict(quantity=v.value),
             "From Quantity": dict(unit_price=None, tier=[v.value, 0.1, None]),
             "Mode": dict(unit_price=None, tier=[0, 0.1, v.value])}
    for column, kw in cases.items():
        TRIED["cells"] += 1
        out = _usage_answer(**kw)
        if isinstance(out, str):
            assert out.startswith("#BBB!") and "unexpected error" not in out, (column, v.label, out)
            assert column in out or "Unit Price" in out or "Event" in out, (column, v.label, out)
        else:
            assert is_number(out), (column, v.label, out)
