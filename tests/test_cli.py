"""The bbb-xl command, driven through click's runner on real files."""
import csv

from click.testing import CliRunner

from bbb_xl.cli import cli
from conftest import HEADER


def write(tmp_path, rows, name="contracts.csv"):
    path = tmp_path / name
    with open(path, "w", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path


ROWS = [HEADER,
        ["C1", "Acme", "", "", "2025-01-01", "2025-12-31", "12,000.00", "monthly", "quarterly", "", "", "EMEA"],
        ["C2", "=HYPERLINK(\"x\")", "", "", "2025-01-01", "2025-06-30", "600", "daily", "", "", "", "-AMER"]]


def test_schedule_table_and_csv(tmp_path):
    path = write(tmp_path, ROWS)
    result = CliRunner().invoke(cli, ["schedule", str(path), "--from", "2025-Q1", "--to", "2025-Q2", "--period",
                                      "quarter", "--by", "Region"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["Region", "2025-Q1", "2025-Q2"]
    assert lines[1].split() == ["-AMER", "298.34", "301.66"]
    assert lines[3].split() == ["Total", "3,298.34", "3,301.66"]
    result = CliRunner().invoke(cli, ["schedule", str(path), "--metric", "billings", "--from", "2025-01", "--to",
                                      "2025-04", "--by", "Customer", "--format", "csv"])
    assert result.exit_code == 0, result.output
    # text that would run as a formula in a spreadsheet is neutralised in CSV output
    assert result.output.splitlines() == [
        "Customer,2025-01,2025-02,2025-03,2025-04", '"\'=HYPERLINK(""x"")",600.00,0.00,0.00,0.00',
        "Acme,3000.00,0.00,0.00,3000.00", "Total,3600.00,0.00,0.00,3000.00"]


def test_check_lists_cells_and_exits_1(tmp_path):
    rows = [list(r) for r in ROWS]
    rows[2][5] = "2024-06-30"
    path = write(tmp_path, rows)
    result = CliRunner().invoke(cli, ["check", str(path)])
    assert result.exit_code == 1
    assert "contracts.csv!F3" in result.output and "End Date 2024-06-30 is before Start Date 2025-01-01" \
        in result.output
    ok = CliRunner().invoke(cli, ["check", str(write(tmp_path, ROWS, "ok.csv"))])
    assert ok.exit_code == 0 and "2 lines, no problems" in ok.output


def test_schedule_refuses_bad_input_with_located_errors(tmp_path):
    rows = [list(r) for r in ROWS]
    rows[1][6] = "lots"
    result = CliRunner().invoke(cli, ["schedule", str(write(tmp_path, rows)), "--from", "2025-01", "--to",
                                      "2025-02"])
    assert result.exit_code == 1
    assert "contracts.csv!G2: Amount 'lots' is not an amount" in result.output


def test_help_is_the_docstring():
    result = CliRunner().invoke(cli, ["schedule", "--help"])
    assert "Print a schedule (revenue, billings, ... by period)" in result.output


def test_workbook_events_and_fx_tabs_are_read_with_contracts(tmp_path):
    import datetime as dt

    from bbb_xl.excel.template import build_workbook
    from bbb_xl.sample import sample_contracts, sample_events
    from bbb_xl.udfs import BBB_BILLINGS
    rows = [r for r in sample_contracts() if r[0] != "C-9999"]
    events = sample_events(rows)
    path = tmp_path / "book.xlsm"
    build_workbook(path, rows, {"As-of date": dt.datetime(2025, 12, 31)}, events, keep_csv=False)
    result = CliRunner().invoke(cli, ["schedule", str(path), "--metric", "billings", "--from", "2025-01", "--to",
                                      "2025-12", "--period", "year", "--format", "csv"])
    assert result.exit_code == 0, result.output
    # the invoice events replace some contracts' schedules: the CLI total is the formula's with events
    expected = BBB_BILLINGS(rows, "2025", None, None, events)
    assert expected != BBB_BILLINGS(rows, "2025")
    assert result.output.splitlines()[1] == f"Total,{expected:.2f}"
