"""Files as people really have them (issue 12, section 2): CSV encodings and delimiters, a report title above the
header row, files that are not tables, decimal commas, and dates with a time, a zone or a day/month order.

The contracts below recognize monthly (ASC 606-10-55-18: equal months over the service period), so the expected
figures are whole months of each Amount: C1 12,000.00 over 2025 is 1,000.00 a month; C2 600.00 over January-June
2025 is 100.00 a month; C3 2,400.00 over 2025-2026 is 100.00 a month.
"""
import codecs
import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from hypothesis import assume, HealthCheck, given, settings
from hypothesis import strategies as st
from click.testing import CliRunner

from bbb_xl.api import load_file
from bbb_xl.cli import cli
from bbb_xl.core.dates import iso, parse_date
from bbb_xl.core.errors import BBBError
from bbb_xl.core.money import parse_amount
from bbb_xl.core.options import ParseOptions
from bbb_xl.engine.book import load_book
from bbb_xl.settings import SETTING_NAMES, parse_settings, read_parse_options

HEADER = ["Contract ID", "Customer", "Start Date", "End Date", "Amount", "Recognition", "Billing"]
ROWS = [HEADER,
        ["C1", "Société Générale", "2025-01-01", "2025-12-31", "12000.00", "monthly", "quarterly"],
        ["C2", "Müller & Söhne", "2025-01-01", "2025-06-30", "€600.00", "monthly", "upfront"],
        ["C3", "Acme, Inc.", "2025-01-01", "2026-12-31", "2400.00", "monthly", "annual"]]
CUSTOMERS = ["Société Générale", "Müller & Söhne", "Acme, Inc."]


def write(path, rows, encoding="utf-8", delimiter=",", bom=b""):
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    path.write_bytes(bom + buf.getvalue().encode(encoding))
    return path


def notes(book):
    return [p.message for p in book.problems if p.severity == "info"]


FORMATS = {  # name: (encoding, delimiter, BOM, what the reader says)
    "utf-8": ("utf-8", ",", b"", "read as UTF-8, columns separated by commas"),
    "utf-8-bom": ("utf-8", ",", codecs.BOM_UTF8, "read as UTF-8 with BOM, columns separated by commas"),
    "utf-16-le-tab": ("utf-16-le", "\t", codecs.BOM_UTF16_LE,
                      "read as UTF-16 LE with BOM (Excel's Unicode text), columns separated by tabs"),
    "utf-16-be-tab": ("utf-16-be", "\t", codecs.BOM_UTF16_BE, "read as UTF-16 BE with BOM, columns separated by tabs"),
    "utf-16-le-no-bom": ("utf-16-le", "\t", b"", "read as UTF-16 LE without BOM, columns separated by tabs"),
    "cp1252": ("cp1252", ",", b"", "read as Windows-1252 (it is not UTF-8: Excel's CSV on Windows), columns "
                                  "separated by commas"),
    "semicolon": ("utf-8", ";", b"", "read as UTF-8, columns separated by semicolons"),
    "tab": ("utf-8", "\t", b"", "read as UTF-8, columns separated by tabs"),
}


@pytest.mark.parametrize("name", FORMATS)
def test_same_table_in_every_encoding_and_delimiter_gives_the_same_cents(tmp_path, name):
    encoding, delimiter, bom, said = FORMATS[name]
    path = write(tmp_path / "contracts.csv", ROWS, encoding, delimiter, bom)
    book = load_file(path)
    assert book.ok, book.problems
    assert notes(book) == [said]
    assert list(book.lines.customer) == CUSTOMERS
    assert list(book.lines.amount) == [1_200_000, 60_000, 240_000]  # cents; "€600.00" is 600.00
    assert book.flow("revenue", "2025-01") == Decimal("1200.00")  # 1,000 + 100 + 100
    assert book.flow("revenue", "2025-Q3") == Decimal("3300.00")  # C2 ended in June: 3 x (1,000 + 100)
    assert book.flow("revenue", "2025") == Decimal("13800.00")  # 12,000 + 600 + 12 x 100
    assert book.flow("bookings", "2025") == Decimal("15000.00")
    assert book.balance("backlog", "2025-12-31") == Decimal("1200.00")  # C3's 2026


def test_cp1252_file_bytes_are_what_excel_on_windows_writes(tmp_path):
    path = write(tmp_path / "c.csv", ROWS, "cp1252")
    raw = path.read_bytes()
    assert b"Soci\xe9t\xe9 G\xe9n\xe9rale" in raw and b"M\xfcller & S\xf6hne" in raw and b"\x80600.00" in raw
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")  # the case that used to be a traceback


def test_cli_check_says_how_the_file_was_read(tmp_path):
    encoding, delimiter, bom, said = FORMATS["utf-16-le-tab"]
    path = write(tmp_path / "unicode.txt", ROWS, encoding, delimiter, bom)
    result = CliRunner().invoke(cli, ["check", str(path)])
    assert result.exit_code == 0, result.output
    assert said in result.output and "3 lines, no problems" in result.output
    result = CliRunner().invoke(cli, ["schedule", str(path), "--from", "2025-01", "--to", "2025-03",
                                      "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["Total,2025-01,2025-02,2025-03", "Total,1200.00,1200.00,1200.00"]


SALESFORCE = [["Opportunity Product Report"], ["As of 11/30/2026"], [],
              ["Contract ID", "Customer", "Start Date", "End Date", "Amount"],
              ["006A1", "Société Générale", "2025-01-01", "2025-12-31", "12,000.00"],
              ["006A2", "Acme, Inc.", "2025-01-01", "2025-06-30", "600.00"]]


def test_report_title_rows_above_the_header_are_skipped_and_said(tmp_path):
    path = write(tmp_path / "report.csv", SALESFORCE)
    book = load_file(path)
    assert book.ok, book.problems
    assert notes(book) == ["read as UTF-8, columns separated by commas",
                           "the header row is row 4: the 3 rows above it ('Opportunity Product Report') are a "
                           "report title, skipped"]
    assert list(book.lines.contract) == ["006A1", "006A2"]
    assert list(book.lines.row) == [2, 3]  # rows of the table (1 = its header row)
    assert book.flow("revenue", "2025-06") == Decimal("1100.00")  # 1,000 + 600 / 6


def test_problems_below_a_report_title_name_the_file_row(tmp_path):
    rows = [list(r) for r in SALESFORCE]
    rows[5][4] = "lots"
    result = CliRunner().invoke(cli, ["check", str(write(tmp_path / "report.csv", rows))])
    assert result.exit_code == 1
    assert "report.csv!E6" in result.output and "Amount 'lots' is not an amount" in result.output


def test_report_title_above_the_header_of_an_xlsx_sheet(tmp_path):
    import openpyxl
    path = tmp_path / "export.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Report"
    for r in SALESFORCE:
        ws.append(r)
    ws["E6"] = "lots"
    wb.save(path)
    book = load_file(path)
    assert notes(book) == ["the header row is row 4: the 3 rows above it ('Opportunity Product Report') are a "
                           "report title, skipped"]
    assert [p.location for p in book.errors] == ["Report!E6"]


def test_quickbooks_style_title_with_a_blank_first_column(tmp_path):
    rows = [["Example Co"], ["Sales by Customer Detail"], ["January - December 2025"], [],
            ["", "Contract ID", "Customer", "Start Date", "End Date", "Amount"],
            ["", "Q1", "Acme", "2025-01-01", "2025-12-31", "1,200.00"]]
    book = load_file(write(tmp_path / "qb.csv", rows))
    assert book.ok, book.problems
    assert "the header row is row 5: the 4 rows above it ('Example Co') are a report title, skipped" in notes(book)
    assert book.flow("revenue", "2025-03") == Decimal("100.00")


PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4"
       b"\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")


@pytest.mark.parametrize("content,message", [
    (PNG, "photo.csv is not a table of text (CSV): it is a PNG image"),
    (b"", "photo.csv is empty: a contracts file needs a header row"),
    (b" \r\n\r\n", "photo.csv is empty"),
    ("Dear customer\nThank you for your order\nBest regards\n".encode(), "photo.csv is not a table: none of its "
     "first lines has columns separated by a comma, a semicolon or a tab"),
    ("Dear customer, thank you for your order.\nWe ship on Monday, as agreed.\n".encode(),
     "photo.csv is not a contracts table: none of its first 30 rows has the column headers Contract ID, Customer"),
    (bytes(range(256)) * 8, "photo.csv is not a table of text (CSV): it holds binary data"),
    (b"PK\x03\x04\x14\x00\x00\x00", "it is a zip archive (an .xlsx workbook renamed?"),
])
def test_a_file_that_is_not_a_table_gets_one_clear_message(tmp_path, content, message):
    path = tmp_path / "photo.csv"
    path.write_bytes(content)
    with pytest.raises(BBBError) as info:
        load_file(path)
    assert len(info.value.problems) == 1 and message in info.value.problems[0].message
    result = CliRunner().invoke(cli, ["check", str(path)])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert result.output.count("error:") == 1 and message in result.output and "Traceback" not in result.output


# --- decimal commas ------------------------------------------------------------------------------------------

EURO = [["Contract ID", "Customer", "Start Date", "End Date", "Amount"],
        ["E1", "Müller & Söhne", "2025-01-01", "2025-12-31", "1.500,25"],
        ["E2", "Société Générale", "2025-01-01", "2025-12-31", "1,500"]]


def test_a_comma_in_an_amount_of_a_semicolon_file_names_the_decimal_separator_option(tmp_path):
    path = write(tmp_path / "eu.csv", EURO, "cp1252", ";")
    book = load_file(path)
    assert [p.location for p in book.errors] == ["eu.csv!E2", "eu.csv!E3"]
    for p in book.errors:
        assert "Decimal separator ',' in Settings or --decimal-comma" in p.message, p.message
    result = CliRunner().invoke(cli, ["schedule", str(path), "--from", "2025-01", "--to", "2025-01"])
    assert result.exit_code == 1 and "--decimal-comma" in result.output
    assert result.output.count("error:") == 2 and "read as" not in result.output  # no notes among the errors


def test_with_the_decimal_comma_option_1_500_25_is_1500_25(tmp_path):
    path = write(tmp_path / "eu.csv", EURO, "cp1252", ";")
    book = load_file(path, decimal_comma=True)
    assert book.ok, book.problems
    assert list(book.lines.amount) == [150_025, 150]  # 1.500,25 and 1,500: with a decimal comma, 1.50
    assert book.flow("bookings", "2025") == Decimal("1501.75")
    result = CliRunner().invoke(cli, ["schedule", str(path), "--metric", "bookings", "--from", "2025", "--to",
                                      "2025", "--period", "year", "--decimal-comma", "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[1] == "Total,1501.75"
    assert "no problems" in CliRunner().invoke(cli, ["check", str(path), "--decimal-comma"]).output


def test_decimal_comma_amounts_in_a_comma_file_are_quoted_text(tmp_path):
    rows = [EURO[0], ["E1", "Acme", "2025-01-01", "2025-12-31", "1.200,00 €"]]
    book = load_file(write(tmp_path / "c.csv", rows), decimal_comma=True)
    assert list(book.lines.amount) == [120_000]
    # without the option the same text is refused, never read as 1.2
    assert "is not an amount" in load_file(tmp_path / "c.csv").errors[0].message


@pytest.mark.parametrize("text,options,cents", [
    ("1.500,25", ParseOptions(decimal_comma=True), 150_025),
    ("1500,25", ParseOptions(decimal_comma=True), 150_025),
    ("(1.234.567,89)", ParseOptions(decimal_comma=True), -123_456_789),
    ("1 500,25 €", ParseOptions(decimal_comma=True), 150_025),
    ("1500.25", ParseOptions(comma_ambiguous=True), 150_025),  # a dot and two decimals: not ambiguous
    ("1,500.25", None, 150_025),
])
def test_parse_amount_with_options(text, options, cents):
    assert parse_amount(text, options) == cents


@pytest.mark.parametrize("text,options,message", [
    ("1,500", ParseOptions(comma_ambiguous=True), "Decimal separator"),
    ("1.500", ParseOptions(comma_ambiguous=True), "Decimal separator"),  # 1.5 or 1500?
    ("1.5", ParseOptions(decimal_comma=True), "not an amount with a decimal comma"),
    ("1,500.25", ParseOptions(decimal_comma=True), "not an amount with a decimal comma"),
])
def test_parse_amount_refuses_what_the_options_make_ambiguous(text, options, message):
    with pytest.raises(ValueError, match=message):
        parse_amount(text, options)


# --- dates ---------------------------------------------------------------------------------------------------

NEW_YORK = ParseOptions(time_zone="America/New_York")


@pytest.mark.parametrize("value,options,date", [
    ("2025-01-15 10:32", None, "2025-01-15"),
    ("2025-01-15T10:32:00", None, "2025-01-15"),
    ("2025-01-15T23:59:59.999", None, "2025-01-15"),
    (45672.43, None, "2025-01-15"),  # Excel serial with a time fraction: 2025-01-15 10:19
    (dt.datetime(2025, 1, 15, 23, 30), None, "2025-01-15"),
    (dt.datetime(2025, 1, 15, tzinfo=dt.timezone.utc), NEW_YORK, "2025-01-15"),  # a cell's date, not a moment
    ("2025-01-16T02:00:00Z", None, "2025-01-16"),
    ("2025-01-16T02:00:00Z", NEW_YORK, "2025-01-15"),  # 21:00 the day before in New York (EST, UTC-5)
    ("2025-07-01T03:30:00+00:00", NEW_YORK, "2025-06-30"),  # EDT, UTC-4: 23:30 on 30 June
    ("2025-01-15T23:30:00-05:00", None, "2025-01-16"),  # 04:30 UTC
    ("2025-01-15T23:30:00-05:00", NEW_YORK, "2025-01-15"),
    ("2025-01-15T08:00:00+0900", ParseOptions(time_zone="Europe/Paris"), "2025-01-15"),  # 00:00 in Paris
    ("2025-01-15T07:59:00+09:00", ParseOptions(time_zone="Europe/Paris"), "2025-01-14"),
    ("03/04/2025", ParseOptions(date_order="MDY"), "2025-03-04"),
    ("03/04/2025", ParseOptions(date_order="DMY"), "2025-04-03"),
    ("1/15/2025 10:32 AM", ParseOptions(date_order="MDY"), "2025-01-15"),
    ("15.01.2025", ParseOptions(date_order="DMY"), "2025-01-15"),
    ("2025-01-15", ParseOptions(date_order="DMY"), "2025-01-15"),  # ISO is read in every order
])
def test_parse_date_with_times_zones_and_orders(value, options, date):
    assert iso(parse_date(value, options)) == date


@pytest.mark.parametrize("value,options,message", [
    ("03/04/2025", None, "'03/04/2025' is not a date in ISO form (yyyy-mm-dd): set Date order (MDY or DMY) in "
                         "Settings or --date-order"),
    ("15/01/2025", ParseOptions(date_order="MDY"), "is not a date that exists in the Date order MDY"),
    ("2025-01-15 24:30", None, "is not a time that exists"),
    ("2025-01-15Z", None, "has a time zone but no time"),
])
def test_parse_date_refusals_name_the_fix(value, options, message):
    with pytest.raises(ValueError) as info:
        parse_date(value, options)
    assert message in str(info.value)


US_EXPORT = [["Contract ID", "Customer", "Start Date", "End Date", "Amount"],
             ["C1", "Acme", "1/1/2025", "12/31/2025", "1,200.00"],
             ["C2", "Globex", "03/04/2025", "03/04/2025", "500.00", ]]


def test_a_non_iso_text_date_without_the_option_names_it(tmp_path):
    path = write(tmp_path / "us.csv", US_EXPORT)
    book = load_file(path)
    assert [str(p) for p in book.errors][:2] == [
        "us.csv!C2: Start Date: '1/1/2025' is not a date in ISO form (yyyy-mm-dd): set Date order (MDY or DMY) in "
        "Settings or --date-order",
        "us.csv!D2: End Date: '12/31/2025' is not a date in ISO form (yyyy-mm-dd): set Date order (MDY or DMY) in "
        "Settings or --date-order"]
    result = CliRunner().invoke(cli, ["check", str(path)])
    assert result.exit_code == 1 and "set Date order (MDY or DMY) in Settings or --date-order" in result.output


def test_date_order_option_reads_us_and_european_dates(tmp_path):
    path = write(tmp_path / "us.csv", [r + ["point in time" if i == 2 else "monthly"] if i else r + ["Recognition"]
                                       for i, r in enumerate(US_EXPORT)])
    mdy = load_file(path, date_order="MDY")
    assert mdy.ok, mdy.problems
    assert mdy.flow("revenue", "2025-03") == Decimal("600.00")  # 100 of C1 + C2 on 4 March
    dmy = load_file(path, date_order="dmy")
    assert [p.location for p in dmy.errors] == ["us.csv!D2"]  # 12/31/2025: there is no month 31
    result = CliRunner().invoke(cli, ["schedule", str(path), "--date-order", "MDY", "--from", "2025-03", "--to",
                                      "2025-04", "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[1] == "Total,600.00,100.00"


def test_events_are_read_with_the_same_options():
    rows = [["Contract ID", "Customer", "Start Date", "End Date", "Amount"],
            ["C1", "Acme", "01/01/2025", "31/12/2025", "1.200,00"]]
    events = [["Contract ID", "Date", "Event", "Amount"], ["C1", "15/02/2025", "invoice", "1.200,00"]]
    book = load_book(rows, events=events, options=ParseOptions(decimal_comma=True, date_order="DMY"))
    assert book.ok, book.problems
    assert book.flow("billings", "2025-02") == Decimal("1200.00")
    assert book.flow("billings", "2025-01") == Decimal("0.00")


# --- the Settings rows -----------------------------------------------------------------------------------------

def test_settings_rows_exist_and_are_validated_with_their_cells():
    assert {"Decimal separator", "Date order", "Time zone"} <= set(SETTING_NAMES)
    rows = [["Setting", "Value"], ["Decimal separator", ";"], ["Date order", "sometimes"],
            ["Time zone", "Mars/Olympus_Mons"]]
    options, problems = read_parse_options(rows)
    assert options == ParseOptions()
    assert [(p.location, p.message) for p in problems] == [
        ("Settings!B2", "Decimal separator: ';' is not . (1,500.25) or , (1.500,25)"),
        ("Settings!B3", "Date order: 'sometimes' is not ISO, MDY or DMY"),
        ("Settings!B4", "Time zone: 'Mars/Olympus_Mons' is not an IANA time zone (UTC, America/New_York, "
                        "Europe/Paris, Asia/Tokyo...)")]
    good = [["Setting", "Value"], ["Decimal separator", ","], ["Date order", "dd/mm/yyyy"],
            ["Time zone", "Europe/Berlin"], ["As-of date", "30/11/2026"]]
    settings, problems = parse_settings(good)
    assert problems == [] and settings.parse_options == ParseOptions(True, "DMY", "Europe/Berlin")
    assert iso(settings.as_of) == "2026-11-30"  # the As-of date is read in the Date order too


def test_workbook_settings_reach_the_refresh_and_load_file(tmp_path):
    """A workbook whose Settings say decimal comma, DMY and New York: the refresh and `bbb-xl check` read the
    Contracts tab's text amounts and dates that way."""
    from bbb_xl.excel.template import build_workbook
    rows = [["Contract ID", "Customer", "Start Date", "End Date", "Amount", "Recognition"],
            ["C1", "Acme", "01/02/2025", "31/01/2026", "1.200,00", "monthly"],
            ["C2", "Globex", "2025-01-01T02:00:00Z", None, "500,00", "point in time"]]
    path = tmp_path / "eu.xlsm"
    result = build_workbook(path, rows, {"As-of date": dt.datetime(2025, 12, 31), "Decimal separator": ",",
                                         "Date order": "DMY", "Time zone": "America/New_York"}, keep_csv=False)
    assert [p for p in result.reports.problems if p.is_error] == []
    book = load_file(path)
    assert book.ok, book.problems
    assert [iso(d) for d in book.lines.start] == ["2025-02-01", "2024-12-31"]  # 02:00 UTC is 21:00 in New York
    assert book.flow("revenue", "2024-12") == Decimal("500.00")  # C2, point in time, on 31 December 2024
    assert book.flow("revenue", "2025-02") == Decimal("100.00")
    # the command-line option wins over the workbook's setting
    assert load_file(path, date_order="MDY").errors


def test_a_byte_order_mark_that_lies_is_one_message(tmp_path):
    path = tmp_path / "c.csv"
    path.write_bytes(codecs.BOM_UTF8 + b"Contract ID,Customer\n\xe9\n")
    with pytest.raises(BBBError, match="starts with the byte-order mark of UTF-8 but is not UTF-8 text"):
        load_file(path)


# --- property: the encoding and the delimiter never change a figure --------------------------------------------

_CP1252_TEXT = "".join(ch for ch in map(chr, range(32, 256)) if ch not in '#\x7f' and not 0x80 <= ord(ch) < 0xa0) \
    + "€\t\n\";,"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.text(alphabet=_CP1252_TEXT, min_size=1, max_size=12).filter(lambda t: t.strip()),
                          st.integers(0, 10**11), st.integers(0, 23)), min_size=1, max_size=6))
def test_property_every_encoding_and_delimiter_reads_the_same_book(tmp_path, lines):
    """Customers with commas, semicolons, tabs, quotes, line breaks, accents and €, in each encoding and with each
    delimiter: the same names, the same cents, the same revenue as the UTF-8 comma file."""
    # a cp1252 text whose bytes are also valid UTF-8 ("Â¡" is C2 A1, UTF-8 for "¡") reads as UTF-8: detection
    # cannot tell them apart, and such mojibake-shaped names do not occur in real exports
    def utf8_too(text):
        try:
            text.encode("cp1252").decode("utf-8")
            return not text.isascii()
        except UnicodeDecodeError:
            return False
    assume(not any(utf8_too(c) for c, _, _ in lines))
    rows = [["Contract ID", "Customer", "Start Date", "End Date", "Amount"]]
    for i, (customer, cents, months) in enumerate(lines):
        end = f"{2025 + (months + 1) // 12}-{(months % 12) + 1:02d}-28"
        rows.append([f"C{i}", customer, "2025-01-01", end, f"{cents // 100}.{cents % 100:02d}"])
    seen = None
    for name, (encoding, delimiter, bom, _) in FORMATS.items():
        if name == "utf-16-le-no-bom":
            continue  # detected by its zero bytes: a property of ASCII-heavy text, tested above
        book = load_file(write(tmp_path / f"{name}.csv", rows, encoding, delimiter, bom))
        assert book.ok, (name, book.problems)
        got = (list(book.lines.customer), list(book.lines.amount), book.flow("revenue", "2025"),
               book.balance("backlog", "2025-12-31"))
        assert got[0] == [c.strip() for c, _, _ in lines] and got[1] == [c for _, c, _ in lines], name
        assert seen is None or got == seen, name
        seen = got
