"""The faster python-calamine path of xlsx_reader (issue 19 §2, the read phase of a refresh) gives exactly the
streaming reader's rows (`Workbook.rows`: same values, same types, same grid) on generated workbooks with awkward
cells, and reads by calamine at least every sheet the old path (tests/xlsx_reader_reference.py) read by calamine."""
import datetime as dt
import zipfile
from xml.sax.saxutils import escape

from hypothesis import HealthCheck, given, settings, strategies as st

import xlsx_reader_reference as reference
from bbb_xl.excel import headless
from bbb_xl.xlsx_reader import Workbook, calamine_rows, read_sheets

_NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_STYLES = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<styleSheet {_NS}>'
           '<numFmts count="1"><numFmt numFmtId="164" formatCode="d/m/yyyy"/></numFmts>'
           '<cellXfs count="4"><xf numFmtId="0"/><xf numFmtId="14" applyNumberFormat="1"/>'
           '<xf numFmtId="164" applyNumberFormat="1"/><xf numFmtId="2" applyNumberFormat="1"/></cellXfs>'
           '</styleSheet>')


def _text_xml(text: str, preserve: bool) -> str:
    return f'<t xml:space="preserve">{escape(text)}</t>' if preserve else f"<t>{escape(text)}</t>"


def write_book(path, grid, strings, sheet="S"):
    """A minimal package: one sheet whose cells are (kind, payload, style) or None, a shared-strings part holding
    (text, preserve) items, a styles part whose xf 1 and 2 are date formats (builtin 14, custom d/m/yyyy)."""
    rows = []
    for r, cells in enumerate(grid, 1):
        out = []
        for c, cell in enumerate(cells):
            if cell is None:
                continue
            kind, payload, style = cell
            ref = f'r="{chr(65 + c)}{r}"' + (f' s="{style}"' if style else "")
            if kind == "blank":
                out.append(f"<c {ref}/>")
            elif kind == "s":
                out.append(f'<c {ref} t="s"><v>{payload}</v></c>')
            elif kind == "inline":
                out.append(f'<c {ref} t="inlineStr"><is>{_text_xml(*payload)}</is></c>')
            elif kind == "n":
                out.append(f"<c {ref}><v>{payload}</v></c>")
            elif kind == "b":
                out.append(f'<c {ref} t="b"><v>{payload}</v></c>')
            elif kind == "e":
                out.append(f'<c {ref} t="e"><v>{escape(payload)}</v></c>')
            elif kind == "str":  # a formula with its cached text
                out.append(f'<c {ref} t="str"><f>A1&amp;"x"</f><v>{escape(payload)}</v></c>')
            elif kind == "fn":  # a formula with its cached number
                out.append(f"<c {ref}><f>1+1</f><v>{payload}</v></c>")
        rows.append(f'<row r="{r}">{"".join(out)}</row>')
    sheet_xml = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet {_NS} xmlns:r="{_R}">'
                 f'<sheetData>{"".join(rows)}</sheetData></worksheet>')
    sst = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst {_NS} count="{len(strings)}" '
           f'uniqueCount="{len(strings)}">' + "".join(f"<si>{_text_xml(*s)}</si>" for s in strings) + "</sst>")
    parts = {
        "[Content_Types].xml": '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.'
        'org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-'
        'package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName='
        '"/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+'
        'xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-office'
        'document.spreadsheetml.worksheet+xml"/><Override PartName="/xl/styles.xml" ContentType="application/vnd.'
        'openxmlformats-officedocument.spreadsheetml.styles+xml"/><Override PartName="/xl/sharedStrings.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
        "_rels/.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.'
        f'org/package/2006/relationships"><Relationship Id="rId1" Type="{_R}/officeDocument" '
        'Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<?xml version="1.0" encoding="UTF-8"?><workbook {_NS} xmlns:r="{_R}"><sheets>'
        f'<sheet name="{sheet}" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas'
        f'.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="{_R}/worksheet" '
        f'Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="{_R}/styles" Target="styles.xml"/>'
        f'<Relationship Id="rId3" Type="{_R}/sharedStrings" Target="sharedStrings.xml"/></Relationships>',
        "xl/styles.xml": _STYLES,
        "xl/sharedStrings.xml": sst,
        "xl/worksheets/sheet1.xml": sheet_xml,
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in parts.items():
            zf.writestr(name, text.encode("utf-8"))
    return path


def typed(rows):
    return None if rows is None else [[(type(v).__name__, v) for v in r] for r in rows]


def read_three_ways(path, sheet="S"):
    """(streaming reader, the new calamine path, the old calamine path)."""
    wb = Workbook(path)
    try:
        streamed = wb.rows(sheet)
        fast = calamine_rows(wb, sheet)
    finally:
        wb.close()
    wb = Workbook(path)
    try:
        old = reference.calamine_rows(wb, sheet)
    finally:
        wb.close()
    return streamed, fast, old


# awkward text: spaces at either end, XML specials, escapes calamine decodes, line breaks, a no-break space
_TEXT = st.one_of(st.sampled_from(["", " ", "a ", " a", "a b", "Acme & Co <ltd>", "a_x000D_b", "line\nbreak",
                                   "tab\t", "\u00a0nbsp", "#N/A", "1E3", "C0000001-1", "e"]),
                  st.text(st.sampled_from("ab &<>\"' \t\nE1_x0"), max_size=6))
_NUMBER = st.one_of(st.sampled_from(["1E3", "1.0", "1.5", "-0", "0", "7", "-12", "2.5E-3", "1000000", " 5",
                                     "3000000", "0.1", "106657.99", "5.", "-3.25", "12345678901"]),
                    st.integers(-10**6, 10**7).map(str),
                    st.decimals(-10**6, 10**6, places=2, allow_nan=False).map(str))
_SERIAL = st.one_of(st.sampled_from(["45292", "45292.5", "60", "59", "61", "1", "2958465", "2958466", "45292.0",
                                     "-5", "0"]),
                    st.integers(61, 80000).map(str))


_PLAIN_STRINGS = ["Contract ID", "Acme & Co", "EMEA", "C0000001-1", "a b", "monthly"]


def _plain_kinds(n_strings):
    """What a built book holds: shared and inline text without edge spaces, amounts, whole numbers, dates."""
    return st.one_of(
        st.tuples(st.just("s"), st.integers(0, n_strings - 1).map(str), st.just(0)),
        st.tuples(st.just("inline"), st.tuples(st.sampled_from(["Contracts", "C1 / C1-1", "added"]),
                                               st.just(False)), st.just(0)),
        st.tuples(st.just("n"), st.sampled_from(["7", "-12", "106657.99", "0.5", "45292"]), st.sampled_from([0, 3])),
        st.tuples(st.just("n"), st.integers(61, 80000).map(str), st.sampled_from([1, 2])),
        st.tuples(st.just("blank"), st.none(), st.sampled_from([0, 1])),
        st.none())


def _awkward_kinds(n_strings):
    return st.one_of(
        st.tuples(st.just("s"), st.integers(0, n_strings - 1).map(str), st.sampled_from([0, 3])),
        st.tuples(st.just("inline"), st.tuples(_TEXT, st.booleans()), st.just(0)),
        st.tuples(st.just("n"), _NUMBER, st.sampled_from([0, 3])),
        st.tuples(st.just("n"), _SERIAL, st.sampled_from([1, 2])),
        st.tuples(st.just("b"), st.sampled_from(["0", "1", " 1"]), st.just(0)),
        st.tuples(st.just("e"), st.sampled_from(["#N/A", "#DIV/0!", "#VALUE!"]), st.just(0)),
        st.tuples(st.just("str"), _TEXT, st.just(0)),
        st.tuples(st.just("fn"), _NUMBER, st.sampled_from([0, 1])),
        st.tuples(st.just("blank"), st.none(), st.sampled_from([0, 1])))


@st.composite
def books(draw, plain=False):
    """A grid of plain cells with (unless plain) one or two awkward cells, and shared strings of which (unless
    plain) one may be awkward: few enough that the calamine path is often taken, so each check is exercised."""
    strings = draw(st.lists(st.tuples(st.sampled_from(_PLAIN_STRINGS), st.just(False)), min_size=1, max_size=5,
                            unique_by=lambda s: s[0]))
    if not plain and draw(st.booleans()):
        awkward = draw(st.tuples(_TEXT, st.booleans()))
        if awkward[0] not in {t for t, _ in strings}:
            strings.append(awkward)
    width = draw(st.integers(1, 5))
    grid = draw(st.lists(st.lists(_plain_kinds(len(strings)), min_size=0, max_size=width), min_size=0, max_size=6))
    if not plain:
        for _ in range(draw(st.integers(1, 2))):
            r, c = draw(st.integers(0, 6)), draw(st.integers(0, width - 1))
            while len(grid) <= r:
                grid.append([])
            while len(grid[r]) <= c:
                grid[r].append(None)
            grid[r][c] = draw(_awkward_kinds(len(strings)))
    return grid, strings


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(book=books())
def test_the_calamine_path_reads_awkward_cells_as_the_streaming_reader(tmp_path, book):
    path = write_book(tmp_path / "awkward.xlsx", *book)
    streamed, fast, old = read_three_ways(path)
    if fast is not None:
        assert typed(fast) == typed(streamed)
    if old is not None:  # every sheet the old path read by calamine, the new one reads alike
        assert typed(fast) == typed(old)
    assert typed(read_sheets(path, ["S"], calamine=True)["S"]) == typed(streamed)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(book=books())
def test_the_regular_cell_reader_reads_awkward_cells_as_the_streaming_reader(tmp_path, book):
    path = write_book(tmp_path / "awkward.xlsx", *book)
    wb = Workbook(path)
    try:
        regular, streamed = wb.regular_rows("S"), wb.rows("S")
    finally:
        wb.close()
    cells = [c for row in book[0] for c in row if c is not None]
    if not any(kind in ("inline", "str") and (payload[0] if kind == "inline" else payload) == ""
               for kind, payload, _ in cells):  # empty <t></t>, <v></v>: left to the streaming reader
        assert regular is not None  # every other cell write_book writes has the regular shape
    if regular is not None:
        assert typed(regular) == typed(streamed)  # and reads as the streaming reader reads it


def test_irregular_cells_are_left_to_the_streaming_reader(tmp_path):
    src = write_book(tmp_path / "r.xlsx", [[("s", "0", 0), ("n", "7", 0), ("inline", ("x", False), 0)]],
                     [("Contract ID", False)])
    for old, new in ((b'<c r="B1">', b'<c s="0" r="B1">'), (b'<c r="B1">', b'<c\nr="B1">'),
                     (b"<v>7</v>", b"<v></v>"), (b"<t>x</t>", b"<t></t>"), (b'<c r="B1">', b'<c r="B1" cm="1">'),
                     (b"<v>7</v>", b"<v>7</v> "), (b'<c r="B1"><v>7</v></c>', b'<c><v>7</v></c>')):
        dst = tmp_path / "irregular.xlsx"
        with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
            for info in zin.infolist():
                data = zin.read(info.filename)
                if info.filename == "xl/worksheets/sheet1.xml":
                    assert old in data
                    data = data.replace(old, new)
                zout.writestr(info, data)
        wb = Workbook(dst)
        try:
            assert wb.regular_rows("S") is None, new
            assert typed(read_sheets(dst, ["S"], calamine=True)["S"]) == typed(wb.rows("S"))
        finally:
            wb.close()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(book=books(plain=True))
def test_plain_books_are_read_by_calamine_as_the_streaming_reader(tmp_path, book):
    path = write_book(tmp_path / "plain.xlsx", *book)
    streamed, fast, old = read_three_ways(path)
    assert fast is not None  # the fast path is taken: the property above is not vacuous
    assert typed(fast) == typed(streamed) == typed(old)


def test_awkward_cells_each_read_as_the_streaming_reader(tmp_path):
    """One sheet per awkward cell, by hand: the value the streaming reader gives (a literal), and the calamine
    path either gives it too or leaves the sheet to the streaming reader."""
    strings = [("Contract ID", False), (" spaced ", True), ("trail ", False), ("", False)]
    cases = [
        (("inline", ("a ", True), 0), "a "), (("inline", (" a", False), 0), " a"),
        (("s", "1", 0), " spaced "), (("s", "2", 0), "trail "), (("s", "3", 0), ""),
        (("n", "1E3", 0), 1000.0), (("n", "1.0", 0), 1.0), (("n", "1000", 0), 1000), (("n", "-0", 0), 0),
        (("n", "45292", 1), dt.datetime(2024, 1, 1)), (("n", "45292.5", 1), dt.datetime(2024, 1, 1, 12)),
        (("n", "60", 1), 60.0), (("n", "59", 2), dt.datetime(1900, 2, 28)), (("n", "2958466", 1), 2958466.0),
        (("n", "3000000", 0), 3_000_000), (("b", "1", 0), True), (("b", "0", 0), False),
        (("e", "#N/A", 0), "#N/A"), (("str", "x", 0), "x"), (("fn", "2", 0), 2), (("fn", "2.0", 0), 2.0),
    ]
    for i, (cell, expected) in enumerate(cases):
        path = write_book(tmp_path / f"c{i}.xlsx", [[("s", "0", 0), None, cell]],
                          strings if cell[0] == "s" else strings[:1])  # one awkward string spoils the whole book
        streamed, fast, _ = read_three_ways(path)
        assert streamed == [["Contract ID", None, expected]] and type(streamed[0][2]) is type(expected), cell
        assert fast is None or typed(fast) == typed(streamed), cell
    # empty cells between values and blank rows at the end are trimmed alike
    path = write_book(tmp_path / "gaps.xlsx", [[("s", "0", 0), ("blank", None, 1), None, ("n", "7", 0)],
                                               [None, ("blank", None, 0)], [("blank", None, 1)]],
                      [("Contract ID", False)])
    streamed, fast, old = read_three_ways(path)
    assert streamed == [["Contract ID", None, None, 7]] and typed(fast) == typed(streamed) == typed(old)


def test_read_tabs_reads_every_tab_the_refresh_reads_as_the_streaming_reader():
    from tests.test_calamine_reader import TEMPLATE
    tabs = headless.read_tabs(TEMPLATE, also=["Run Info", "Plan", "Pipeline", "Audit Trail", "_Snapshot"])
    wb = Workbook(TEMPLATE)
    try:
        for name, rows in tabs.items():
            assert typed(rows) == typed(wb.rows(name)), name
    finally:
        wb.close()
