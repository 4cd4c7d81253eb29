"""Commands tell scripts the truth: exit codes 0 / 1 / 2 / 3 (documented in --help), problems labelled by severity,
progress only on a terminal, and the demo / template commands never write what Excel refuses or what is not theirs.

Figures are hand-computed: a 12,000.00 line recognized monthly over 2025 is 1,000.00 a month (ASC 606-10-55-18,
output measured by time elapsed); RPO within / after 12 months is the ASC 606-10-50-13(b) time-band split."""
import csv
import datetime as dt
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from bbb_xl import cli as cli_module
from bbb_xl.cli import cli
from bbb_xl.core.errors import BBBError
from bbb_xl.engine.book import load_book
from conftest import HEADER, book_rows, line

ROOT = Path(__file__).resolve().parents[1]
BBB_XL = ROOT / ".venv" / "bin" / "bbb-xl"
COMMANDS = ["schedule", "check", "refresh", "template", "demo"]


def write(path, rows):
    with open(path, "w", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path


def run(*args, cwd=None):
    """The installed command in a real process: exit code, stdout, stderr."""
    exe = str(BBB_XL) if BBB_XL.exists() else None
    cmd = [exe, *args] if exe else [sys.executable, "-m", "bbb_xl.cli", *args]
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env, timeout=300)


GOOD = line("C1", amount=12000)  # 2025-01-01..2025-12-31, monthly: 1,000.00 a month
BAD = line("C2", start="2025-06-01", end="2025-01-31", amount=600)  # End Date before Start Date
LATE_BOOKING = line("C3", start="2025-01-01", end="2025-01-31", booking="2025-02-15", amount=310)  # a warning


# --- help: -h everywhere, exit codes documented ---------------------------------------------------------------------

def test_dash_h_is_help_everywhere_and_documents_exit_codes():
    top = CliRunner().invoke(cli, ["-h"])
    assert top.exit_code == 0
    for code in ("0  success (warnings allowed)", "1  error: nothing written", "2  usage error",
                 "3  written, but contracts with input errors are left out of the reports"):
        assert code in top.output
    assert "`demo` exits 0" in top.output
    for name in COMMANDS:
        result = CliRunner().invoke(cli, [name, "-h"])
        assert result.exit_code == 0, (name, result.output)
        assert "Exit codes:" in result.output and "-h, --help" in result.output, name


def test_exit_2_is_clicks_usage_error_in_a_real_process(tmp_path):
    result = run("schedule", str(tmp_path / "x.csv"), "--nonsense")
    assert result.returncode == 2 and "No such option '--nonsense'" in result.stderr


# --- schedule: 1 on bad rows, 3 with --skip-bad ----------------------------------------------------------------------

def test_schedule_with_bad_rows_exits_1_and_labels_warnings(tmp_path):
    path = write(tmp_path / "c.csv", book_rows(GOOD, BAD, LATE_BOOKING))
    result = CliRunner().invoke(cli, ["schedule", str(path), "--from", "2025-01", "--to", "2025-03"])
    assert result.exit_code == 1 and result.stdout == ""
    assert "error: c.csv!F3: End Date 2025-01-31 is before Start Date 2025-06-01" in result.stderr
    assert "warning: c.csv!D4: Booking Date 2025-02-15 is after End Date 2025-01-31" in result.stderr
    assert "error: c.csv!D4" not in result.stderr


def test_skip_bad_computes_the_good_contracts_and_exits_3_in_a_real_process(tmp_path):
    path = write(tmp_path / "c.csv", book_rows(GOOD, BAD))
    result = run("schedule", str(path), "--from", "2025-Q1", "--to", "2025-Q2", "--period", "quarter",
                 "--skip-bad", "--format", "csv")
    assert result.returncode == 3, result.stderr
    # C1 only: 3 x 1,000.00 a quarter; C2 left out whole
    assert result.stdout.splitlines() == ["Total,2025-Q1,2025-Q2", "Total,3000.00,3000.00"]
    assert "error: c.csv!F3: End Date 2025-01-31 is before Start Date 2025-06-01" in result.stderr
    assert "skipped: 1 contract(s) with input errors left out (1 error(s))" in result.stderr
    ok = run("schedule", str(write(tmp_path / "ok.csv", book_rows(GOOD))), "--from", "2025-01", "--to", "2025-01",
             "--skip-bad")
    assert ok.returncode == 0 and ok.stdout.split()[-1] == "1,000.00" and ok.stderr == ""


def test_after_50_problems_and_n_more(tmp_path):
    rows = book_rows(*[line(f"C{i}", amount="lots") for i in range(60)])
    result = CliRunner().invoke(cli, ["schedule", str(write(tmp_path / "c.csv", rows)), "--from", "2025-01",
                                      "--to", "2025-01"])
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 51 and all(x.startswith("error: c.csv!G") for x in lines[:50])
    assert lines[50] == "and 10 more (bbb-xl check lists them all)"


# --- schedule: --as-of, --events, --fx, rpo_within / rpo_after ------------------------------------------------------

EVENT_HEADER = ["Contract ID", "Line ID", "Date", "Event", "Amount", "Percent"]


def test_events_file_and_as_of_ignore_later_events(tmp_path):
    contracts = write(tmp_path / "c.csv", book_rows(GOOD))
    events = write(tmp_path / "e.csv", [EVENT_HEADER, ["C1", "", "2025-01-10", "invoice", "5000", ""],
                                        ["C1", "", "2025-07-10", "invoice", "7000", ""]])
    args = ["schedule", str(contracts), "--metric", "billings", "--from", "2025", "--to", "2025", "--period", "year",
            "--format", "csv", "--events", str(events)]
    every = CliRunner().invoke(cli, args)
    assert every.exit_code == 0, every.output
    assert every.stdout.splitlines()[1] == "Total,12000.00"  # exactly its two invoices
    early = CliRunner().invoke(cli, args + ["--as-of", "2025-06-30"])
    assert early.exit_code == 0, early.output
    assert early.stdout.splitlines()[1] == "Total,5000.00"  # the July invoice is after the as-of date
    quarter = CliRunner().invoke(cli, args + ["--as-of", "2025-Q1"])  # a period means its last day
    assert quarter.stdout.splitlines()[1] == "Total,5000.00"
    # a bad later event is ignored too; an event row keeps its row number in messages
    bad = write(tmp_path / "bad.csv", [EVENT_HEADER, ["C1", "", "2025-01-10", "invoice", "5000", ""],
                                       ["C1", "", "2025-08-01", "refund", "1", ""],
                                       ["C1", "", "2025-03-01", "invoice", "x", ""]])
    refused = CliRunner().invoke(cli, args[:-1] + [str(bad), "--as-of", "2025-06-30"])
    assert refused.exit_code == 1 and "bad.csv!E4" in refused.stderr and "refund" not in refused.stderr


def test_fx_file_csv_and_workbook_tab(tmp_path):
    import openpyxl
    header = HEADER + ["Currency"]
    contracts = write(tmp_path / "c.csv", [header, GOOD + ["USD"],
                                           line("C2", amount=1200, region="APAC") + ["EUR"]])
    rates = [["Currency", "Month", "Rate"], ["EUR", "2025-01", "1.1"]]
    fx_csv = write(tmp_path / "fx.csv", rates)
    wb = openpyxl.Workbook()
    wb.active.title = "Notes"
    ws = wb.create_sheet("FX Rates")
    for r in rates:
        ws.append(r)
    wb.save(tmp_path / "fx.xlsx")
    for fx in (fx_csv, tmp_path / "fx.xlsx"):
        result = CliRunner().invoke(cli, ["schedule", str(contracts), "--metric", "bookings", "--from", "2025",
                                          "--to", "2025", "--period", "year", "--format", "csv", "--fx", str(fx)])
        assert result.exit_code == 0, result.output
        assert result.stdout.splitlines()[1] == "Total,13320.00"  # 12,000 USD + 1,200 EUR x 1.1


def test_rpo_within_and_after_at_each_period_end(tmp_path):
    two_years = line("C2", customer="Beta", start="2025-01-01", end="2026-12-31", amount=24000, region="AMER")
    path = write(tmp_path / "c.csv", book_rows(GOOD, two_years))
    args = ["schedule", str(path), "--from", "2025-Q1", "--to", "2025-Q2", "--period", "quarter", "--format", "csv"]
    within = CliRunner().invoke(cli, args + ["--metric", "rpo_within", "--by", "Customer"])
    assert within.exit_code == 0, within.output
    # at 2025-03-31: C1 9,000 left, all within 12 months; C2 21,000 left, 12,000 of it by 2026-03-31
    # at 2025-06-30: C1 6,000; C2 18,000 left, 12,000 within
    assert within.stdout.splitlines() == ["Customer,2025-Q1,2025-Q2", "Acme,9000.00,6000.00",
                                          "Beta,12000.00,12000.00", "Total,21000.00,18000.00"]
    after = CliRunner().invoke(cli, args + ["--metric", "rpo_after"])
    assert after.stdout.splitlines() == ["Total,2025-Q1,2025-Q2", "Total,9000.00,6000.00"]
    backlog = CliRunner().invoke(cli, args + ["--metric", "backlog"])
    assert backlog.stdout.splitlines()[1] == "Total,30000.00,24000.00"  # within + after = backlog


def test_deferred_current_and_noncurrent_at_each_period_end(tmp_path):
    # 36,000 for 2025-2027 billed upfront on 2025-01-01, 1,000.00 a month: at 2025-03-31 deferred 33,000, of which
    # the next 12 months' revenue (12,000) is current; at 2025-06-30 deferred 30,000 = 12,000 + 18,000
    three_years = line("C1", start="2025-01-01", end="2027-12-31", amount=36000)
    path = write(tmp_path / "c.csv", book_rows(three_years))
    args = ["schedule", str(path), "--from", "2025-Q1", "--to", "2025-Q2", "--period", "quarter", "--format", "csv"]
    current = CliRunner().invoke(cli, args + ["--metric", "deferred_current"])
    noncurrent = CliRunner().invoke(cli, args + ["--metric", "deferred_noncurrent"])
    deferred = CliRunner().invoke(cli, args + ["--metric", "deferred"])
    assert current.exit_code == noncurrent.exit_code == 0, current.output + noncurrent.output
    assert current.stdout.splitlines()[1] == "Total,12000.00,12000.00"
    assert noncurrent.stdout.splitlines()[1] == "Total,21000.00,18000.00"
    assert deferred.stdout.splitlines()[1] == "Total,33000.00,30000.00"


def test_a_metric_is_one_line_in_the_dispatch():
    from bbb_xl import api
    assert list(api.SCHEDULE_METRICS)[-5:] == ["rpo_within", "rpo_after", "deferred_current", "deferred_noncurrent",
                                               "refund_liability"]
    assert set(api.SCHEDULE_METRICS) >= {"bookings", "billings", "revenue", "backlog", "deferred", "unbilled"}


# --- the Python API refuses unknown names ---------------------------------------------------------------------------

def test_api_refuses_unknown_metric_names():
    book = load_book(book_rows(GOOD))
    sel, days = np.arange(1), np.array([20089], dtype=np.int64)
    with pytest.raises(BBBError, match="'nonsense' is not a balance metric: use one of backlog, deferred, unbilled"):
        book.balance("nonsense", "2026-06-30")
    with pytest.raises(BBBError, match="'nonsense' is not a flow metric: use one of bookings, billings, revenue"):
        book.flow("nonsense", "2025")
    with pytest.raises(BBBError, match="a balance: use balance"):
        book.flow("backlog", "2025")
    for call in (lambda: book.flow_cents("nonsense", 20089, 20089, sel),
                 lambda: book.balance_cents("revenue", 20089, sel),
                 lambda: book.cumulative("deferred", sel, days)):
        with pytest.raises(BBBError, match="metric"):
            call()
    assert book.balance("backlog", "2025-06-30") == Decimal("6000.00")  # the valid names still answer


# --- refresh: 1 on unusable Settings (nothing written), 3 on bad contract rows --------------------------------------

@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    """`bbb-xl demo` in a real process, from a folder outside the repository: exit 0 despite its bad row."""
    folder = tmp_path_factory.mktemp("demo")
    result = run("demo", cwd=folder)
    assert result.returncode == 0, result.stderr
    assert "status: 1 error" in result.stdout
    return folder


def test_refresh_of_bad_contract_rows_writes_and_exits_3(demo_dir, tmp_path):
    import shutil
    path = tmp_path / "book.xlsm"
    shutil.copy(demo_dir / "bbb_demo.xlsm", path)
    before = os.stat(path).st_ino
    result = run("refresh", str(path))
    assert result.returncode == 3, result.stderr
    assert "error: Contracts!G404: End Date 2024-02-28 is before Start Date 2025-03-01" in result.stderr
    assert os.stat(path).st_ino != before  # written: a new file renamed over the old one
    assert "status: 1 error" in result.stdout


def test_refresh_with_unusable_settings_exits_1_and_keeps_the_reports(demo_dir, tmp_path):
    import openpyxl

    from bbb_xl.excel import template
    path = tmp_path / "book.xlsm"
    template.build_workbook(path, book_rows(GOOD), {"As-of date": dt.datetime(2025, 6, 30)}, keep_csv=False)
    wb = openpyxl.load_workbook(path, keep_vba=True)
    settings = wb["Settings"]
    row = next(r for r in range(1, 20) if settings.cell(r, 1).value == "As-of date")
    settings.cell(row, 2).value = "yesterday"
    wb.save(path)
    before = path.read_bytes()
    result = run("refresh", str(path))
    assert result.returncode == 1
    assert f"error: Settings!B{row}: As-of date: 'yesterday' is not a date" in result.stderr
    assert "nothing written, the report tabs are as they were" in result.stderr
    assert path.read_bytes() == before
    assert not list(tmp_path.glob("*.csv"))


def test_refresh_prints_progress_only_on_a_terminal(demo_dir, tmp_path, monkeypatch):
    import shutil
    path = tmp_path / "book.xlsm"
    shutil.copy(demo_dir / "bbb_demo.xlsm", path)
    monkeypatch.setattr(cli_module, "PROGRESS_AFTER", 0.0)  # as if the run took longer than 2 s
    piped = CliRunner().invoke(cli, ["refresh", str(path)])
    assert piped.exit_code == 3 and "compute:" not in piped.stderr
    monkeypatch.setattr(cli_module, "_stderr_is_terminal", lambda: True)
    shown = CliRunner().invoke(cli, ["refresh", str(path)])
    assert shown.exit_code == 3
    stages = [x for x in shown.stderr.splitlines() if x.split(":")[0] in ("read", "compute", "write")]
    from bbb_xl.excel.workflow import GENERATED_SHEETS  # Start here and every report tab
    assert stages == ["read: book.xlsm", "compute: 404 contract rows", f"write: {len(GENERATED_SHEETS)} report tabs"]


def test_progress_waits_for_a_slow_run(monkeypatch):
    import time
    monkeypatch.setattr(cli_module, "_stderr_is_terminal", lambda: True)
    monkeypatch.setattr(cli_module, "PROGRESS_AFTER", 0.2)
    lines = []
    monkeypatch.setattr(cli_module.click, "echo", lambda text, err=False: lines.append(text))
    with cli_module._Progress() as progress:
        progress("read", "a.csv")
        assert lines == []  # a quick run says nothing
        time.sleep(0.5)
        assert lines == ["read: a.csv"]  # a slow one shows where it is
        progress("compute", "3 contract lines")
    assert lines == ["read: a.csv", "compute: 3 contract lines"]


def test_stderr_is_a_terminal_only_with_a_tty_and_outside_ci(monkeypatch):
    class Fake:
        def __init__(self, tty):
            self.tty = tty

        def isatty(self):
            return self.tty
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr(sys, "stderr", Fake(True))
    assert cli_module._stderr_is_terminal()
    monkeypatch.setenv("CI", "true")
    assert not cli_module._stderr_is_terminal()
    monkeypatch.delenv("CI")
    monkeypatch.setattr(sys, "stderr", Fake(False))
    assert not cli_module._stderr_is_terminal()


# --- demo and template: names Excel accepts, files that are theirs ---------------------------------------------------

def test_demo_never_writes_a_macro_workbook_under_a_name_excel_refuses_in_a_real_process(tmp_path):
    # .xlsx is the macro-free workbook (no VBA part: tests/test_macro_free.py); any other name is refused
    result = run("demo", str(tmp_path / "out.xls"))
    assert result.returncode == 1
    assert "error: out.xls: the demo workbook is a .xlsm" in result.stderr
    assert "out.xlsm" in result.stderr and not (tmp_path / "out.xls").exists()
    shared = run("demo", str(tmp_path / "out.xlsx"))
    assert shared.returncode == 0, shared.stderr
    with __import__("zipfile").ZipFile(tmp_path / "out.xlsx") as z:
        assert not [n for n in z.namelist() if "vba" in n.lower()]


def test_demo_replaces_its_own_output_but_no_other_file(demo_dir, tmp_path):
    import shutil
    own = tmp_path / "mine.xlsm"
    shutil.copy(demo_dir / "bbb_demo.xlsm", own)
    assert CliRunner().invoke(cli, ["demo", str(own)]).exit_code == 0  # an earlier demo: replaced
    other = tmp_path / "budget.xlsm"
    other.write_bytes(b"my own work")
    refused = CliRunner().invoke(cli, ["demo", str(other)])
    assert refused.exit_code == 1 and "budget.xlsm exists and is not an earlier bbb_xl demo" in refused.stderr
    assert "--force" in refused.stderr and other.read_bytes() == b"my own work"
    forced = CliRunner().invoke(cli, ["demo", str(other), "--force"])
    assert forced.exit_code == 0 and other.read_bytes()[:2] == b"PK"


def test_template_writes_to_the_current_folder_from_anywhere(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["template"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "template written: bbb_template.xlsm"
    assert (tmp_path / "bbb_template.xlsm").read_bytes()[:2] == b"PK"
    refused = CliRunner().invoke(cli, ["template", "t.xls"])
    assert refused.exit_code == 1 and "use a name ending in one of them" in refused.stderr


def test_template_in_repo(tmp_path, monkeypatch):
    from bbb_xl.excel import template
    target = tmp_path / "workbook_templates" / "bbb_template.xlsm"
    monkeypatch.setattr(template, "TEMPLATE_PATH", target)
    missing = CliRunner().invoke(cli, ["template", "--in-repo"])
    assert missing.exit_code == 1 and "this installation has none" in missing.stderr
    target.parent.mkdir()
    result = CliRunner().invoke(cli, ["template", "--in-repo"])
    assert result.exit_code == 0, result.output
    assert target.read_bytes()[:2] == b"PK"
