"""The sheet writer's whole-row pass (excel/sheet_writer.py): blocks over the same rows written side by side as
one byte grid with their <row> tags, and number cells as fixed-width records. Checked against the cell-by-cell
reference writer (package.sheet_data_xml_per_cell) on hypothesis-made sheets with tall rows (wrapped text), extra
cells (the STALE formulas) inside a band's rows, empty and zero-width blocks, and chunks of a few rows."""
from __future__ import annotations

import contextlib

import numpy as np
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from bbb_xl.excel import package as pk
from bbb_xl.excel import sheet_writer
from bbb_xl.reports import MONEY, SheetReport
from bbb_xl.reports.layout import sheet_layout

XF = {"text": 0, "title": 1, "subtitle": 2, "header": 3, MONEY: 4, "money_total": 5, "date": 6, "stamp": 7,
      "ratio": 8, "percent": 9, "int": 10, "status_ok": 11, "status_bad": 12, "banner": 13, "wrap": 14}

INTS = st.one_of(st.integers(0, 2 ** 63 - 1), st.sampled_from(
    [0, 9, 10, 99, 100, 999_999, 1_000_000, 2 ** 32 - 1, 2 ** 32, 10 ** 15 - 1, 10 ** 15, 10 ** 18 - 1,
     10 ** 18, 2 ** 53 + 1, 2 ** 63 - 1]))


def digits_reference(values: np.ndarray, width: int) -> np.ndarray:
    """The writer's digits before the table of pairs (one division per digit): the reference of _digit_grid."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    v = values[..., None]
    out = (v // powers % 10 + 48).astype(np.uint8)
    out[(v < powers) & (powers > 1)] = 0
    return out


@given(st.lists(INTS, min_size=1, max_size=40))
def test_digit_grid_is_the_digits(values):
    a = np.array(values, dtype=np.int64)
    width = len(str(max(values)))
    assert sheet_writer._digit_grid(a, width).tolist() == digits_reference(a, width).tolist()
    assert sheet_writer._digit_grid(a.reshape(-1, 1), width).tolist() == digits_reference(a.reshape(-1, 1),
                                                                                          width).tolist()
    for v, row in zip(values, sheet_writer._digit_grid(a, width)):
        assert bytes(row).replace(b"\0", b"").decode() == str(v)


@contextlib.contextmanager
def chunks(size: int, small: int):
    saved = sheet_writer._SMALL, sheet_writer._CHUNK
    sheet_writer._SMALL, sheet_writer._CHUNK = small, size
    try:
        yield
    finally:
        sheet_writer._SMALL, sheet_writer._CHUNK = saved


CENTS = st.one_of(st.integers(-10 ** 15, 10 ** 15), st.sampled_from([0, -1, 99, -100, 2 ** 63 - 1, -(2 ** 63) + 1]))
TEXT = st.one_of(st.sampled_from(["", "=1+1", "a & b", " x", "<t>", "naïve", "x" * 90, "word " * 30, "\x01bad"]),
                 st.text(max_size=8), st.none())


@st.composite
def banded(draw):
    s = SheetReport("Bands")
    s.add(1, 1, [["Title"]], "title")
    row = 3
    for _ in range(draw(st.integers(1, 3))):
        h = draw(st.integers(0, 12))
        w = draw(st.integers(0, 4))
        texts = draw(st.lists(st.lists(TEXT, min_size=2, max_size=2), min_size=h, max_size=h))
        money = np.array(draw(st.lists(st.lists(CENTS, min_size=w, max_size=w), min_size=h, max_size=h)) or
                         np.zeros((h, w)), dtype=np.int64).reshape(h, w)
        if h:
            s.add(row, 1, texts, draw(st.sampled_from(["text", ["text", "wrap"], ["header", "text"]])))
            styles = draw(st.lists(st.sampled_from([MONEY, "money_total", "int"]), min_size=w, max_size=w))
            s.add(row, 3, money, styles or MONEY)
            if draw(st.booleans()):  # a third block in the same rows, further right
                s.add(row, 4 + w, [[draw(st.integers(-5, 5))] for _ in range(h)], "int")
        row += h + draw(st.integers(0, 2))
    return s


@hsettings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(banded(), st.sampled_from([(4096, 256), (3, 0), (1, 0), (5, 8)]), st.lists(st.integers(1, 30), max_size=3))
def test_bands_same_bytes_as_the_per_cell_writer(report, sizes, stale_rows):
    extra = {(r, 60): f'<c r="BH{r}" t="str"><f>1</f><v></v></c>' for r in stale_rows}
    layout = sheet_layout(report)
    with chunks(*sizes):
        new = pk.sheet_data_xml(report, XF, extra or None, layout)
    assert new == pk.sheet_data_xml_per_cell(report, XF, extra or None, layout)


def test_a_tall_row_inside_a_band_keeps_its_height():
    s = SheetReport("Tall")
    texts = [["short", "n"]] * 300
    texts[7] = ["a long customer name that is far wider than the capped column " * 3, "n"]
    s.add(2, 1, texts, "text")
    s.add(2, 3, np.arange(600, dtype=np.int64).reshape(300, 2), MONEY)
    layout = sheet_layout(s)
    assert 9 in layout.heights
    data, _ = pk.sheet_data_xml(s, XF, None, layout)
    assert data == pk.sheet_data_xml_per_cell(s, XF, None, layout)[0]
    assert f'<row r="9" ht="{layout.heights[9]:g}" customHeight="1">' in data


@given(st.lists(st.text(max_size=6), max_size=8))
def test_utf8_is_encode(texts):
    a = np.array(texts, dtype=str)
    assert sheet_writer._utf8(a).tolist() == np.strings.encode(a, "utf-8").tolist()
    assert sheet_writer._utf8(a).dtype.kind == "S"


@hsettings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(banded())
def test_layout_from_column_extremes_is_the_layout_from_each_column(report):
    """reports.layout sizes a number matrix from its columns' max and min taken at once: the same widths as
    column by column."""
    from bbb_xl.reports import layout as lay
    fast = lay.sheet_layout(report)
    saved = lay._column_extremes
    lay._column_extremes = lambda values: None
    try:
        slow = lay.sheet_layout(report)
    finally:
        lay._column_extremes = saved
    assert (fast.widths, fast.heights, fast.wrapped) == (slow.widths, slow.heights, slow.wrapped)


@hsettings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(banded())
def test_pieces_fill_the_shell_as_the_bytes_do(report):
    layout = sheet_layout(report)
    data, dim = pk.sheet_data_xml(report, XF, None, layout, as_bytes=True)
    pieces, dim2 = pk.sheet_data_xml(report, XF, None, layout, pieces=True)
    shell = pk.sheet_shell('<worksheet><dimension ref="A1"/><sheetData/><pageMargins/></worksheet>')
    assert dim == dim2 and pk.fill_shell(shell, pieces) == pk.fill_shell(shell, data)
    assert pk.fill_shell(shell, data) == pk.fill_shell(shell, data.decode())
    reference, dim3 = pk.sheet_data_xml_per_cell(report, XF, None, layout, pieces=True)
    assert dim3 == dim and pk.fill_shell(shell, reference) == pk.fill_shell(shell, data)
