"""The first five minutes: the demo's deliberate bad contract is explained, money in messages reads
`12,000.00 USD`, Settings accept obvious spellings and list the valid values, no message repeats its label, the
README's demo command installs only what the demo needs, and the Clear sample data shell refuses a user's rows."""
import re
from pathlib import Path

import pytest

from bbb_xl.core.money import format_money
from bbb_xl.excel.workflow import START_TEXT, compute_reports
from bbb_xl.sample import SAMPLE_SETTINGS, sample_contracts, sample_events
from bbb_xl.settings import parse_settings

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def _settings(**values):
    return [["Setting", "Value"]] + [[k, v] for k, v in {**SAMPLE_SETTINGS, **values}.items()]


def test_format_money():
    assert format_money(1_200_000, "USD") == "12,000.00 USD"
    assert format_money(-123_456_789, "eur") == "-1,234,567.89 EUR"
    assert format_money(5, "USD") == "0.05 USD"
    assert format_money(150_000, "JPY") == "1,500 JPY"  # no decimals in yen (ISO 4217)
    assert format_money(1_200_000, None) == "12,000.00"  # currency unknown: no code rather than a wrong one


def test_the_demo_banner_shows_money_with_separators_and_currency():
    rows = sample_contracts()
    reports = compute_reports(rows, _settings(), sample_events(rows))
    banner = reports.sheets["Summary"].cell(3, 1)
    assert banner == ("1 contract (12,000.00 USD) left out of every report because of input errors \u2014 see "
                      "Exceptions")  # C-9999: 12000.0 on the sample's deliberate bad row
    subtitle = reports.sheets["Deferred Revenue"].cell(3, 1)
    assert re.search(r"list Amount total [\d,]+\.\d\d USD, Allocated total [\d,]+\.\d\d USD", subtitle)


def test_invoice_warning_names_the_contract_currency():
    from bbb_xl import load_book
    header = ["Contract ID", "Customer", "Start Date", "End Date", "Amount", "Currency"]
    book = load_book([header, ["C1", "Acme", "2025-01-01", "2025-12-31", 1800, "EUR"]],
                     [["Contract ID", "Date", "Event", "Amount"], ["C1", "2025-01-10", "invoice", 1000]],
                     fx=[["Currency", "Month", "Rate"], ["EUR", "2025-01", 1.1]], reporting_currency="USD")
    [w] = [p for p in book.problems if "invoices" in p.message]
    assert w.message.endswith("total 1,000.00 EUR, its Amount is 1,800.00 EUR (800.00 EUR not invoiced)")


@pytest.mark.parametrize("typed, period", [("monthly", "month"), ("Month", "month"), ("M", "month"),
                                           ("Quarterly", "quarter"), ("q", "quarter"), ("annual", "year"),
                                           ("Yearly", "year"), (" year ", "year")])
def test_period_synonyms(typed, period):
    settings, problems = parse_settings(_settings(Period=typed))
    assert problems == [] and settings.period == period


def test_refusals_list_the_valid_values_and_never_repeat_their_label():
    _, problems = parse_settings(_settings(Period="weekly", **{"Report start": "Jan 2025"}))
    messages = [str(p) for p in problems]
    assert "Settings!B7: Period: 'weekly' is not one of: month, quarter, year (monthly, quarterly, yearly and " \
           "annual are read the same)" in messages
    assert "Settings!B5: Report start 'Jan 2025' is not a period (write 2025-03, 2025-Q1, 2025 or 2025-03-15)" \
        in messages
    for p in problems:  # "Report start: Report start ..." said the label twice
        label = p.message.split(":")[0].split(" '")[0]
        assert p.message.count(label) == 1, p.message


def test_start_here_and_readme_explain_the_bad_sample_contract_and_clear_sample():
    text = " ".join(START_TEXT)
    assert "one deliberately bad contract, C-9999" in text and "Clear sample data" in text
    assert "one deliberately bad contract (`C-9999`" in README
    assert "bbb-xl clear-sample" in README and "bbb-xl upgrade" in README
    assert "`refresh` never changes a row of Contracts" in README


def test_readme_demo_installs_only_what_the_demo_needs():
    demo = README.split("Run the main job on the built-in sample data", 1)[1]
    command = re.search(r"```\w*\n(.*?)```", demo, re.S).group(1).strip()
    assert command == "python3 -m venv .venv && .venv/bin/pip install -q -e . && .venv/bin/bbb-xl demo"
    tests = README.split("Run the tests", 1)[1]
    assert '.[test,scale]' in re.search(r"```\w*\n(.*?)```", tests, re.S).group(1)  # scale: the Dask tests
    # the demo imports nothing from the test extras
    import subprocess
    import sys
    code = ("import sys, builtins; real = builtins.__import__\n"
            "def guard(name, *a, **k):\n"
            "    if name.split('.')[0] in ('pytest', 'hypothesis', 'oletools', 'matplotlib', 'psutil', 'PIL', 'dask',\n"
            "                              'distributed', 'pyarrow'):\n"
            "        raise ImportError('test extra imported: ' + name)\n"
            "    return real(name, *a, **k)\n"
            "builtins.__import__ = guard\n"
            "from bbb_xl.cli import main; main(['demo', sys.argv[1]])\n")
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run([sys.executable, "-c", code, str(Path(tmp) / "bbb_demo.xlsm")], capture_output=True,
                             text=True, timeout=300)
        assert out.returncode == 0, out.stderr
        assert "status: 1 error" in out.stdout


def test_clear_sample_button_refuses_a_users_rows_and_clears_the_sample(monkeypatch):
    """The xlwings shell on a stand-in Book (no Excel on Linux)."""
    import bbb_xl.excel as shell
    from bbb_xl.sample import template_examples
    from test_workbook import _FakeRange, _FakeSheet
    deleted = []

    class Range(_FakeRange):
        def delete(self, shift=None):
            deleted.append((self.sheet.name, self.a, self.b, shift))

    class Sheet(_FakeSheet):
        def __init__(self, name, source=None):
            super().__init__(source)
            self.name = name

        def range(self, a, b=None):
            return Range(self, a, b)

    def book(contracts, events):
        from bbb_xl.excel.workflow import GENERATED_SHEETS
        b = type("Book", (), {})()
        b.fullname = "/nonexistent/book.xlsm"
        alerts = []
        b.app = type("App", (), {"alert": lambda self, msg, title=None: alerts.append(msg)})()
        b.sheets = {"Contracts": Sheet("Contracts", tuple(map(tuple, contracts))),
                    "Events": Sheet("Events", tuple(map(tuple, events))),
                    "FX Rates": Sheet("FX Rates", (("Currency", "Month", "Rate"),)),
                    "Settings": Sheet("Settings", tuple(map(tuple, _settings())))}
        for name in GENERATED_SHEETS:
            b.sheets[name] = Sheet(name)
        return b, alerts

    rows, events = template_examples()
    mine = [list(r) for r in rows]
    mine[1][7] = 999.0
    b, alerts = book(mine, events)
    message = shell.clear_sample(b)
    assert "look like your own data, so nothing was cleared" in message and alerts == [message]
    assert deleted == [] and b.sheets["Settings"].cells_ == {}

    b, alerts = book(rows, events)
    monkeypatch.setattr(shell, "refresh", lambda bk: "refreshed")  # the refresh itself is tested elsewhere
    assert shell.clear_sample(b) == "refreshed"
    assert deleted == [("Contracts", (2, 1), (len(rows), 16), "up"), ("Events", (2, 1), (len(events), 11), "up")]
    assert b.sheets["Settings"].cells_ == {(2, 2): "Example Co"}


def test_blank_and_error_settings_read_as_one_sentence():
    _, problems = parse_settings([["Setting", "Value"], ["As-of date", None], ["Currency", "#N/A"]])
    assert [str(p) for p in problems] == [
        "Settings!B3: Currency is the Excel error #N/A",
        "Settings!B2: As-of date is blank: write the last day to report on, e.g. 2025-12-31"]


def test_the_demo_prints_money_with_its_currency(tmp_path):
    from click.testing import CliRunner
    from bbb_xl.cli import cli
    out = CliRunner().invoke(cli, ["demo", str(tmp_path / "d.xlsm")]).output
    assert re.search(r"Revenue \(year to date\) +[\d,]+\.\d\d USD\n", out), out
