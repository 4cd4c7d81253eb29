"""Charts and column widths follow the report: for 12, 24 and 60 months, 8 quarters and 3 years the Summary charts
span exactly the report's periods, line series are straight, and LibreOffice renders every tab without `###`
(a figure wider than its column). Column widths come from each column's content (reports.layout)."""
from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess

import numpy as np
import pytest

import libreoffice as lo
from bbb_xl.core.errors import column_letter
from bbb_xl.excel import headless, package as pk, template
from bbb_xl.reports import MONEY, SheetReport
from bbb_xl.reports.layout import PADDING, TEXT_CAP, cell_width, money_width, sheet_layout
from bbb_xl.sample import SAMPLE_SETTINGS, sample_contracts, sample_events

MATRIX = {  # name: (Report start, Report end, Period, periods)
    "m12": ("2025-01", "2025-12", "month", 12),
    "m24": ("2025-01", "2026-12", "month", 24),
    "m60": ("2023-01", "2027-12", "month", 60),
    "q8": ("2025-Q1", "2026-Q4", "quarter", 8),
    "y3": ("FY2024", "FY2026", "year", 3),
}


def build(path, start, end, period):
    rows = sample_contracts()
    settings = dict(SAMPLE_SETTINGS, **{"Report start": start, "Report end": end, "Period": period})
    return template.build_workbook(path, rows, settings, sample_events(rows), keep_csv=False)


@pytest.fixture(scope="module")
def books(tmp_path_factory):
    folder = tmp_path_factory.mktemp("matrix")
    return {name: (folder / f"{name}.xlsm", build(folder / f"{name}.xlsm", *spec[:3]))
            for name, spec in MATRIX.items()}


def chart_parts(path):
    pkg = pk.Package(path)
    summary = pkg.sheet_parts()["Summary"]
    return [pkg.text(c) for d in pkg.related(summary, "drawing") for c in pkg.related(d, "chart")]


def test_money_width_counts_separators_and_parentheses():
    assert money_width(123456789) == len("1,234,567.89") + 2  # the trailing space of _) or the two parentheses
    assert money_width(-100) == len("1.00") + 2  # (1.00)
    assert money_width(0) == 6


def test_layout_fits_every_figure_and_wraps_long_text():
    s = SheetReport("T")
    s.add(1, 1, [["A title far longer than any column, running over the empty cells to its right " * 2]], "title")
    s.add(3, 1, [["Contract", "Revenue from opening deferred (ASC 606-10-50-8)", "Memo"]], "header")
    s.add(4, 1, [["C1", None, "x" * 150], ["C2", None, "short"]], "text")
    s.add(4, 2, np.array([[123456789012], [-5]], dtype=np.int64), MONEY)
    layout = sheet_layout(s)
    # the title does not widen column A; the money column fits 1,234,567,890.12 and its parenthesised negative
    assert layout.widths[1] == max(6.0, len("Contract") * 1.05 + PADDING)
    assert layout.widths[2] >= len("1,234,567,890.12 ") + PADDING
    # a long header wraps onto up to three lines (its row gets the height) instead of widening its column to 48
    assert layout.widths[2] < 30 and layout.heights[3] >= 30
    # text is capped and wraps, its row as high as its lines
    assert layout.widths[3] == TEXT_CAP + PADDING and (4, 3) in layout.wrapped and layout.heights[4] >= 45
    assert (5, 3) not in layout.wrapped and 5 not in layout.heights


def test_every_figure_of_every_tab_fits_its_column(books):
    """60 months: every money, date and number cell of every report tab is narrower than its column."""
    _, result = books["m60"]
    for name, report in result.reports.sheets.items():
        layout = sheet_layout(report)
        for b in report.blocks:
            values = b.values.tolist() if isinstance(b.values, np.ndarray) else b.values
            for i, row in enumerate(values):
                for j, v in enumerate(row):
                    style = b.style_of(j)
                    if style in (MONEY, "money_total", "int", "ratio", "date", "stamp") and v is not None:
                        assert cell_width(v, style) + 1 <= layout.widths[b.col + j], (name, b.row + i, b.col + j)


@pytest.mark.parametrize("name", list(MATRIX))
def test_summary_charts_span_exactly_the_report_periods(books, name):
    path, result = books[name]
    periods = MATRIX[name][3]
    last = column_letter(1 + periods)
    column, line = chart_parts(path)
    for xml in (column, line):
        refs = re.findall(r"<c:f>Summary!\$([A-Z]+)\$(\d+):\$([A-Z]+)\$\d+</c:f>", xml)
        assert refs and all(a == "B" and z == last for a, _, z in refs), refs
        assert all(f'<c:ptCount val="{periods}"/>' in ser for ser in re.findall(r"<c:cat>.*?</c:cat>", xml, re.S))
    assert len(re.findall(r"<c:ser>", line)) == 2 == line.count('<c:smooth val="0"/>')  # straight lines
    assert "<c:smooth" not in column
    summary = result.reports.sheets["Summary"]
    headers = [summary.cell(6, c) for c in range(2, 5)]
    expected = {"month": ["Month to date (2025-12)", "Quarter to date (2025-Q4)", "Year to date (2025)"],
                "quarter": ["Quarter to date (2025-Q4)", "Year to date (2025)", None],
                "year": ["Quarter to date (2025-Q4)", "Year to date (2025)", None]}[MATRIX[name][2]]
    assert headers == expected


def test_charts_follow_a_change_in_the_number_of_periods(books, tmp_path):
    """A refresh after Settings went from 24 months to 8 quarters: the charts span B:I, not the old B:Y."""
    m24, _ = books["m24"]
    _, q8 = books["q8"]
    column = chart_parts(m24)[0]
    patched = pk.patch_chart(column, "Summary", q8.reports.chart, q8.reports.sheets["Summary"])
    refs = set(re.findall(r"<c:f>(Summary!\$B\$\d+:\$[A-Z]+\$\d+)</c:f>", patched))
    assert refs == {"Summary!$B$40:$I$40", "Summary!$B$41:$I$41", "Summary!$B$42:$I$42", "Summary!$B$43:$I$43"}
    assert pk.patch_chart(patched, "Summary", q8.reports.chart, q8.reports.sheets["Summary"]) == patched


def chart_extents(path):
    """(left, right) in pixels of each chart on Summary, on the sheet's column widths."""
    pkg = pk.Package(path)
    part = pkg.sheet_parts()["Summary"]
    widths = pk.column_widths(pkg.text(part))

    def x(col, off):
        return sum(pk._column_pixels(widths.get(c)) for c in range(1, col + 1)) + off / 9525
    out = []
    for drawing in pkg.related(part, "drawing"):
        for anchor in re.findall(r"<xdr:twoCellAnchor\b.*?</xdr:twoCellAnchor>", pkg.text(drawing), re.S):
            cols = [int(v) for v in re.findall(r"<xdr:col>(\d+)</xdr:col>", anchor)]
            offs = [int(v) for v in re.findall(r"<xdr:colOff>(\d+)</xdr:colOff>", anchor)]
            out.append((x(cols[0], offs[0]), x(cols[1], offs[1])))
    return out


def test_charts_keep_their_size_whatever_the_column_widths(books):
    """Columns under the charts are as wide as the figures need (3 years: narrow, 60 months: wide); the charts
    keep the template's size (600 pixels: 1.25 x 480) and never overlap."""
    extents = {name: chart_extents(path) for name, (path, _) in books.items()}
    for name, ((l1, r1), (l2, r2)) in extents.items():
        assert abs((r1 - l1) - 600) <= 1 and abs((r2 - l2) - 600) <= 1, (name, extents[name])
        assert l2 >= r1, name


def test_report_sheets_get_the_layout_widths(books):
    path, result = books["m24"]
    pkg = pk.Package(path)
    xml = pkg.text(pkg.sheet_parts()["Revenue"])
    widths = sheet_layout(result.reports.sheets["Revenue"]).widths
    cols = {int(a): float(w) for a, w in re.findall(r'<col min="(\d+)" max="\d+" width="([\d.]+)"', xml)}
    assert cols[1] == widths[1] and len(re.findall(r"<cols>", xml)) == 1
    assert xml.index("<cols>") < xml.index("<sheetData>")


@pytest.mark.libreoffice
@pytest.mark.slow
@lo.requires_soffice
def test_libreoffice_renders_every_tab_without_hashes(books, tmp_path):
    """One soffice run converts the five workbooks (every sheet one page); pdftotext finds no ### anywhere."""
    files = [str(path) for path, _ in books.values()]
    res = lo.run_soffice("--convert-to", lo.PDF_FILTER_SINGLE_PAGE_SHEETS, "--outdir", str(tmp_path), *files,
                         timeout=300)
    for name, (path, result) in books.items():
        pdf = tmp_path / f"{name}.pdf"
        assert pdf.exists(), res.stderr
        text = subprocess.run([shutil.which("pdftotext"), "-layout", str(pdf), "-"], capture_output=True,
                              text=True, check=True).stdout
        assert "###" not in text, (name, [ln for ln in text.splitlines() if "###" in ln][:5])
        # the figures are there: Summary's year-to-date revenue of the sample book, as rendered
        summary = result.reports.sheets["Summary"]
        revenue = next(r for r in summary.rows() if r and r[0] == "Revenue")
        ytd = [v for v in revenue[1:] if isinstance(v, int)][-1]
        assert f"{ytd // 100:,}.{ytd % 100:02d}" in text, ytd
        assert lo.pdf_page_count(pdf) == len(pk.Package(path).sheet_parts())
