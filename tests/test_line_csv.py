"""The line-level CSV files (Revenue / Billings by line, above the Detail line limit) written from columns at once:
the same bytes as the row-by-row csv.writer path of tests/csv_reference.py (issue 19 §2), on awkward inputs."""
from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st
from hypothesis.extra import numpy as hnp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import csv_reference as ref
from benchmarks.generate import generate_book
from benchmarks.run import refresh_settings
from bbb_xl.excel.workflow import compute_reports
from bbb_xl import files
from bbb_xl.core import decimal_text
from bbb_xl.core.decimal_text import money_rows, money_strings
from bbb_xl.reports.model import money_text, money_texts
from bbb_xl.reports.waterfall import LineRows

INT64_MAX = 2 ** 63 - 1
EDGES = [0, 1, -1, 5, -5, 99, -99, 100, -100, 999, -999, 1000, -1000, 99999, 100000, 123456, -123456, 10 ** 17,
         -10 ** 17, 10 ** 17 - 1, INT64_MAX, -INT64_MAX]
cents_values = st.one_of(st.sampled_from(EDGES), st.integers(-10 ** 17, 10 ** 17), st.integers(-100000, 100000))
matrices = hnp.arrays(np.int64, st.tuples(st.integers(0, 7), st.integers(0, 6)), elements=cents_values)
HOSTILE = ["=1+1", '=HYPERLINK("http://x","y")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(1)", "\tA", "\rA", "a\r=c",
           "b\r\n@SUM(1)", "a,b", 'say "hi"', "line\nbreak", "", " ", " lead", "trail ", "é€", "😀", "a\x00b",
           "'quoted", "-", "=", "Acme, Inc.", "1", "-300.00", "\u2028x", "x\x1c", "lone \ud800", "x" * 600]
texts = st.one_of(st.sampled_from(HOSTILE), st.text(alphabet=st.sampled_from(list("ab1 =+-@\t\r\n,\"'é😀\x00.")),
                                                     max_size=8))
cells = st.one_of(texts, texts, texts, st.none(), st.integers(-5, 5), st.floats(allow_nan=False),
                  st.sampled_from([Decimal("-1.50"), dt.date(2026, 1, 31), True]))


def test_money_rows_are_the_exact_decimal_texts():
    cents = np.array([[0, -1, 5, 100, -100, 123456], [99, -99, 1000, 999999, 1000000, -100000000],
                      [10 ** 17, -10 ** 17, INT64_MAX, -INT64_MAX - 1, 7, 1234567890]], dtype=np.int64)
    assert money_rows(cents) == (b",0.00,-0.01,0.05,1.00,-1.00,1234.56\n"
                                 b",0.99,-0.99,10.00,9999.99,10000.00,-1000000.00\n"
                                 b",1000000000000000.00,-1000000000000000.00,92233720368547758.07,"
                                 b"-92233720368547758.08,0.07,12345678.90\n")
    assert money_rows(cents[:, :2], first_sep=False) == \
        b"0.00,-0.01\n0.99,-0.99\n1000000000000000.00,-1000000000000000.00\n"
    assert money_rows(np.zeros((2, 0), dtype=np.int64)) == b"\n\n" and money_rows(np.zeros((0, 3))) == b""
    assert money_strings(np.array([-5, 250])) == ["-0.05", "2.50"]
    assert money_rows(cents[:1, :2], header=b"A,B\n") == b"A,B\n,0.00,-0.01\n"


@hsettings(max_examples=400, deadline=None)
@given(matrices)
def test_money_strings_are_money_text_and_the_old_money_texts(cents):
    exact = [[money_text(c) for c in row] for row in cents.tolist()]
    assert money_strings(cents) == exact == money_texts(cents)
    if cents.size:  # (the old one failed on an empty matrix: np.char.zfill of nothing)
        assert exact == ref.money_texts(cents)
    assert money_rows(cents, b";", end=b"\r\n") == "".join("".join(";" + t for t in row) + "\r\n"
                                                           for row in exact).encode()


def test_money_texts_of_int64_min_is_exact():
    """The old money_texts wrote '--92233720368547758.08' for int64's most negative value (its abs overflows)."""
    assert money_texts(np.array([[-2 ** 63]])) == [["-92233720368547758.08"]]


@hsettings(max_examples=150, deadline=None)
@given(matrices, st.integers(1, 4))
def test_money_rows_in_chunks_of_rows(cents, rows):
    """The grid is made a few thousand rows at a time: any cut gives the same bytes."""
    whole = money_rows(cents)
    saved = decimal_text._ROWS
    decimal_text._ROWS = rows
    try:
        assert money_rows(cents) == whole
    finally:
        decimal_text._ROWS = saved


@hsettings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_line_level_csv_is_the_bytes_of_the_row_by_row_writer(data):
    """Customers with = + - @, quotes, commas, CR and LF, NUL, unicode; money 0, -1, +-10**17: the columns path
    gives the text (and, encoded, the bytes) of csv.writer over the old rows; read as rows it is the old rows."""
    cents = data.draw(matrices)
    n = len(cents)
    k = data.draw(st.integers(0, 4))
    plain = data.draw(st.booleans())  # whole columns of str (the usual case) or any cells
    column = st.lists(texts if plain else cells, min_size=n, max_size=n)
    line_text = [data.draw(column) for _ in range(k)]
    header = [data.draw(texts) for _ in range(k + cents.shape[1])]
    if not cents.size:  # the old money_texts failed on an empty matrix; never reached (the limit is >= 1 line)
        cents = np.zeros((n, 1), dtype=np.int64) if n else np.zeros((1, 1), dtype=np.int64)
        line_text = [t + [""] * (len(cents) - n) for t in line_text]
        header = header + ["Amount"]
    old = ref.line_rows(header, line_text, cents)
    table = LineRows.of_columns(header, [np.array(t + [None], dtype=object)[:-1] for t in line_text], cents)
    text = files.csv_text(table)
    assert text == ref.csv_text(old)
    saved, saved_rows = files.LEAD_PADDING_MAX, decimal_text._ROWS
    files.LEAD_PADDING_MAX = data.draw(st.sampled_from([saved, -(1 << 30)]))  # as if very long: joined as text
    decimal_text._ROWS = data.draw(st.sampled_from([saved_rows, 1, 2]))  # the grid made a few rows at a time
    try:
        try:
            expected = ref.csv_text(old).encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: no UTF-8 file, as before (it failed when written)
            with pytest.raises(UnicodeEncodeError):
                files.csv_text(table, as_bytes=True)
        else:
            assert files.csv_text(table, as_bytes=True) == expected
    finally:
        files.LEAD_PADDING_MAX, decimal_text._ROWS = saved, saved_rows
    assert len(table) == len(old) and list(table) == list(old) and table == old
    assert files.csv_text(list(table)) == text  # every cell through neutralize, as any rows


def test_plain_column_kept_and_hostile_column_neutralised_once_per_text():
    assert files.csv_column(np.array(["C1", "Acme", "", "é"], dtype=object)) == ["C1", "Acme", "", "é"]
    assert files.csv_column(["=1+1", "Acme", "=1+1", "a,b", "x\ry", 5, None, -2.5]) == \
        ["'=1+1", "Acme", "'=1+1", '"a,b"', '"x\ny"', "5", "", "-2.5"]
    assert files.csv_column(["-3", "a\nb", 'q"']) == ["'-3", '"a\nb"', '"q"""']


def test_line_rows_of_columns_compare_by_content():
    cents = np.array([[100, -5]], dtype=np.int64)
    a = LineRows.of_columns(["ID", "Amount", "After"], [np.array(["C1"], dtype=object)], cents)
    b = LineRows.of_columns(["ID", "Amount", "After"], [["C1"]], cents.copy())
    assert a == b and a == [["ID", "Amount", "After"], ["C1", "1.00", Decimal("-0.05")]]
    assert a != LineRows.of_columns(["ID", "Amount", "After"], [["C1"]], cents + 1)
    assert files.csv_text(a) == "ID,Amount,After\nC1,1.00,-0.05\n"
    assert files.csv_text(a, as_bytes=True) == b"ID,Amount,After\nC1,1.00,-0.05\n"
    empty = LineRows.of_columns(["ID", "=x"], [[]], np.zeros((0, 1), dtype=np.int64))
    assert files.csv_text(empty) == "ID,'=x\n" and files.csv_text(empty, as_bytes=True) == b"ID,'=x\n"
    assert list(empty) == [["ID", "=x"]] and len(empty) == 1
    no_money = LineRows.of_columns(["ID"], [["", "@a"]], np.zeros((2, 0), dtype=np.int64))
    assert files.csv_text(no_money) == 'ID\n""\n\'@a\n' and files.csv_text(no_money, as_bytes=True) == \
        b'ID\n""\n\'@a\n'  # a row of one empty cell: quoted, as csv.writer does


def test_tables_of_the_same_text_columns_share_their_csv_cells():
    ids, names = np.array(["C1", "C2"], dtype=object), np.array(["=Acme", "Globex, Inc."], dtype=object)
    revenue = LineRows.of_columns(["ID", "Customer", "Amount"], [ids, names], np.array([[100], [-250]]))
    files.csv_text(revenue, as_bytes=True)
    billings = LineRows.of_columns(["ID", "Customer", "Amount"], [ids, names], np.array([[7], [0]]), like=revenue)
    other = LineRows.of_columns(["ID", "Customer", "Amount"], [ids, names.copy()], np.array([[7], [0]]),
                                like=revenue)
    assert billings.text_cache is revenue.text_cache and other.text_cache is not revenue.text_cache
    assert files.csv_text(billings, as_bytes=True) == files.csv_text(other, as_bytes=True) == \
        b'ID,Customer,Amount\nC1,\'=Acme,0.07\nC2,"Globex, Inc.",0.00\n'


def test_computed_book_by_line_files_are_the_old_bytes():
    """A generated book above the Detail line limit, customers renamed to formulas and quoted text: both
    line-level files are the row-by-row writer's text, and their money reads back as the tab's figures."""
    import csv
    import io
    rows = generate_book(120, 12, seed=11, start="2025-01-01")
    for i, name in ((3, "=cmd|' /C calc'!A0"), (30, "-minus\rcr"), (60, '+1 "quoted", comma')):
        for r in rows[1:]:
            if r[0] == rows[i][0]:
                r[1] = name
    values = dict(refresh_settings(12), **{"Detail line limit": 10})
    reports = compute_reports(rows, [["Setting", "Value"]] + [[k, v] for k, v in values.items()],
                              refreshed_at=dt.datetime(2026, 1, 2))
    by_line = dict((name, t) for name, t in reports.csv_files if name.endswith("by line"))
    assert sorted(by_line) == ["Billings by line", "Revenue by line"]
    assert by_line["Billings by line"].text_cache is by_line["Revenue by line"].text_cache  # the same lines
    for name, table in by_line.items():
        old = ref.line_rows(table.header, table.texts, table.cents)
        text = files.csv_text(table)
        assert text == ref.csv_text(old), name
        assert files.csv_text(table, as_bytes=True) == text.encode("utf-8")
        back = list(csv.reader(io.StringIO(text, newline="")))
        assert len(back) == len(table.cents) + 1 and "'=cmd|' /C calc'!A0" in {r[1] for r in back}
        k = table.numbers_from
        assert [[round(Decimal(c) * 100) for c in r[k:]] for r in back[1:]] == table.cents.tolist()


def test_sample_book_with_ssp_allocation_by_line_files_are_the_old_bytes():
    """The sample book (bundles allocated by relative SSP: an Allocated column; events; dimensions) above the
    Detail line limit: the line-level files are the old writer's text, money as numbers read back."""
    from bbb_xl.sample import SAMPLE_SETTINGS, sample_contracts, sample_events
    contracts = sample_contracts()
    settings = [["Setting", "Value"]] + [[k, v] for k, v in dict(SAMPLE_SETTINGS, **{"Detail line limit": 3}).items()]
    reports = compute_reports(contracts, settings, sample_events(contracts), refreshed_at=dt.datetime(2026, 1, 2))
    by_line = dict((name, t) for name, t in reports.csv_files if name.endswith("by line"))
    assert "Allocated" in by_line["Revenue by line"].header and "Allocated" not in by_line["Billings by line"].header
    for name, table in by_line.items():
        old = ref.line_rows(table.header, table.texts, table.cents)
        assert files.csv_text(table, as_bytes=True) == ref.csv_text(old).encode("utf-8"), name
        assert list(table) == list(old)
