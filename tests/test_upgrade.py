"""`bbb-xl upgrade BOOK` and the refresh's upgrade step: missing tabs and Settings rows come from the current
template, existing rows are never touched, a user's tab with a reserved name is refused (nothing written), and
Run Info records the template version and says when an engine change altered the figures."""
import datetime as dt
import shutil
import zipfile
from pathlib import Path

import openpyxl
import pytest

import libreoffice as lo
from click.testing import CliRunner

from bbb_xl.cli import cli
from bbb_xl.excel import headless, template, upgrade
from bbb_xl.reports.run_info import figures_changed
from bbb_xl.xlsx_reader import read_sheets

OLD_TEMPLATE = Path(__file__).with_name("data") / "bbb_template_383fa50.xlsm"  # git show 383fa50:workbook_templates/..


@pytest.fixture(scope="module")
def current(tmp_path_factory):
    path = tmp_path_factory.mktemp("upgrade") / "current.xlsm"
    template.build_template(path)
    return path


def _older(current, tmp_path, drop=("Events", "Changes"), drop_setting_row="Detail line limit"):
    """The current template as an older layout: tabs and a Settings row deleted (openpyxl, on a copy)."""
    path = tmp_path / "older.xlsm"
    wb = openpyxl.load_workbook(current, keep_vba=True)
    for name in drop:
        del wb[name]
    if drop_setting_row:
        settings = wb["Settings"]
        row = next(c.row for c in settings["A"] if c.value == drop_setting_row)
        settings.delete_rows(row)
    wb.save(path)
    return path


def _run(*args):
    return CliRunner().invoke(cli, [*map(str, args)])


def test_upgrade_adds_missing_tabs_and_settings_rows_without_touching_inputs(current, tmp_path):
    path = _older(current, tmp_path)
    before = read_sheets(path, ["Contracts", "Settings"])
    result = _run("upgrade", path)
    assert result.exit_code == 0, result.output
    assert "tabs added: Events, Changes" in result.output
    assert "Settings rows added: Detail line limit" in result.output
    wb = openpyxl.load_workbook(path, keep_vba=True)
    assert wb.sheetnames == upgrade.TEMPLATE_SHEETS + ["Audit Trail", "_Snapshot"]  # the template's order
    events = wb["Events"]
    assert [c.value for c in events[1]] == ["Contract ID", "Line ID", "Date", "Event", "Amount", "Percent",
                                            "End Date", "Treatment", "Bill", "Memo", "Quantity", "Source ID", "Term"]
    assert events.max_row == 1 and dict(events.tables.items()) == {"Events": "A1:M2"}
    assert [dv.formula1 for dv in events.data_validations.dataValidation] == [
        '"invoice,milestone,percent complete,cancel,modify,adjust,usage"', '"prospective,catch-up,specific"', '"yes,no"',
        "0", "1"]  # Quantity >= 0, Term from 1 (to 120)
    assert events["C1"].font.b is not True and events.column_dimensions["C"].number_format == "yyyy-mm-dd"
    after = read_sheets(path, ["Contracts", "Settings"])
    assert after["Contracts"] == before["Contracts"]  # input rows untouched
    n = len(upgrade.SETTING_ROWS)  # the header + every setting but the deleted one
    assert after["Settings"][:n] == before["Settings"][:n]
    assert after["Settings"][n][:2] == ["Detail line limit", 20000]  # right below the last row, no gap
    assert after["Settings"][n][2].startswith("Most contract lines")
    assert zipfile.ZipFile(path).testzip() is None
    # a refresh of the upgraded book fills the new report tab and records the version
    refreshed = headless.refresh_file(path)
    assert refreshed.upgrade is None
    # the milestone line lost its events with the deleted tab: a warning, located, not a failure
    assert [p.cell for p in refreshed.reports.problems] == ["J9"]  # the template example's milestone line (C-1022 line 2)
    wb = openpyxl.load_workbook(path)
    assert wb["Changes"]["A1"].value.endswith("contract modifications and cancellations (USD)")
    assert [wb["Run Info"]["A15"].value, wb["Run Info"]["B15"].value] == ["Template version", upgrade.TEMPLATE_VERSION]
    # upgrading again does nothing and writes nothing
    again_before = path.read_bytes()
    again = _run("upgrade", path)
    assert again.exit_code == 0 and "nothing to do" in again.output
    assert path.read_bytes() == again_before


def test_refresh_upgrades_an_older_layout_first_and_says_so(current, tmp_path):
    path = _older(current, tmp_path, drop=("Allocation",), drop_setting_row=None)
    result = _run("refresh", path)
    assert result.exit_code == 0, result.output
    version = upgrade.TEMPLATE_VERSION
    assert f"from template version {version} to {version}" in result.output
    assert "tabs added: Allocation" in result.output
    wb = openpyxl.load_workbook(path)
    assert "Allocation" in wb.sheetnames and wb["Allocation"]["A1"].value


def test_the_template_from_git_history_upgrades_and_refreshes(tmp_path):
    path = tmp_path / "old.xlsm"
    shutil.copyfile(OLD_TEMPLATE, path)
    before = read_sheets(path, ["Contracts", "Settings", "Events"])
    result = _run("upgrade", path)
    assert result.exit_code == 0, result.output
    assert f"from template version 1 to {upgrade.TEMPLATE_VERSION}" in result.output
    with zipfile.ZipFile(path) as z:
        assert f'<definedName name="bbbxl.TemplateVersion">{upgrade.TEMPLATE_VERSION}</definedName>' \
            in z.read("xl/workbook.xml").decode()
    after = read_sheets(path, ["Contracts", "Settings", "Events"])
    assert after["Contracts"] == before["Contracts"] and after["Events"] == before["Events"]
    assert after["Settings"][:13] == before["Settings"]  # existing rows untouched, new ones below
    # its "Unbilled receivable account" row is the Contract asset account under its older name: not added again
    assert [r[:2] for r in after["Settings"][13:19]] == [["Invoices posted by", "bbb_xl"],
                                                         ["Journal detail", "period"], ["Decimal separator", "."],
                                                         ["Date order", "ISO"], ["Time zone", "UTC"],
                                                         ["Dimensions", None]]
    assert [r[:2] for r in after["Settings"][19:]][:3] == [["Alert: bookings drop", "30%"],
                                                           ["Alert: billings drop", "30%"],
                                                           ["Alert: revenue drop", "30%"]]
    # the fourteen alert thresholds, the forecast horizon, Plan version, Delivery load by, ARR basis, Renewal grace
    # days, the cutover date, the refund liability account
    # ... and the FX method with its FX gain/loss account (IFRIC 22)
    assert len(after["Settings"]) == 13 + 6 + 14 + 6 + 1 + 2 and after["Settings"][-1][0] == "FX gain/loss account"
    assert "Settings rows added: Invoices posted by, Journal detail, Decimal separator, Date order, Time zone, " \
        "Dimensions, Alert: bookings drop" in result.output
    assert "tabs added: Accounts, Plan, Pipeline, Forecast Assumptions, Opening Balances, Mapping, Price Tiers, " \
        "Alerts, By Dimension" \
        in result.output and "Actual vs Plan, Metrics" in result.output
    refreshed = _run("refresh", path)
    assert refreshed.exit_code == 0, refreshed.output
    run_info = openpyxl.load_workbook(path)["Run Info"]
    assert run_info["B15"].value == upgrade.TEMPLATE_VERSION


def _unmarked(current, tmp_path, user_tab=None):
    """The current template as a book made before versions were recorded (no defined name), without By
    Dimension (it came with template version 2) or with a tab of the user's of that name."""
    path = tmp_path / "unmarked.xlsm"
    wb = openpyxl.load_workbook(current, keep_vba=True)
    del wb.defined_names[upgrade.VERSION_NAME]
    if user_tab is not None:
        del wb["By Dimension"]
        wb.create_sheet("By Dimension")["A1"] = user_tab
    wb.save(path)
    return path


def test_a_users_tab_with_a_reserved_name_is_refused(current, tmp_path):
    path = _unmarked(current, tmp_path, user_tab="my pivot of revenue by region")
    before = path.read_bytes()
    for command in ("upgrade", "refresh"):
        result = _run(command, path)
        assert result.exit_code == 1, result.output
        assert "your tab 'By Dimension' has a name that template version " \
            f"{upgrade.TEMPLATE_VERSION} needs for its own tab: rename it" \
            in result.output
        assert path.read_bytes() == before  # nothing written
    assert sorted(p.name for p in tmp_path.iterdir()) == ["unmarked.xlsm"]


def test_our_own_tab_in_a_book_without_version_is_recognised_by_its_title(current, tmp_path):
    path = _unmarked(current, tmp_path)  # By Dimension as the refresh wrote it: "Sample SaaS Inc. — ..."
    result = _run("upgrade", path)
    assert result.exit_code == 0, result.output
    assert f"from template version 1 to {upgrade.TEMPLATE_VERSION}" in result.output
    assert "tabs added" not in result.output


def test_a_tab_of_a_future_template_version_is_refused(current, tmp_path, monkeypatch):
    path = _older(current, tmp_path, drop=("Changes",), drop_setting_row=None)
    wb = openpyxl.load_workbook(path, keep_vba=True)
    wb.create_sheet("Changes")["A1"] = "my notes on contract changes"
    wb.save(path)
    future = upgrade.TEMPLATE_VERSION + 1
    monkeypatch.setattr(upgrade, "TEMPLATE_VERSION", future)  # as if the next version brought "Changes"
    monkeypatch.setitem(upgrade.TAB_SINCE, "Changes", future)
    before = path.read_bytes()
    result = _run("upgrade", path)
    assert result.exit_code == 1
    assert f"your tab 'Changes' has a name that template version {future} needs" in result.output
    assert path.read_bytes() == before


def test_a_tab_differing_only_in_case_is_refused(current, tmp_path):
    path = _older(current, tmp_path, drop=("Changes",), drop_setting_row=None)
    wb = openpyxl.load_workbook(path, keep_vba=True)
    wb.create_sheet("CHANGES")
    wb.save(path)
    before = path.read_bytes()
    result = _run("upgrade", path)
    assert result.exit_code == 1 and "your tab 'CHANGES'" in result.output
    assert path.read_bytes() == before


def test_figures_changed_note():
    note = figures_changed("0.1.0", "0.2.0")
    assert note.startswith("figures changed by bbb_xl 0.2: see changelog")
    assert "journal entries by the book" in note
    assert figures_changed("0.2.0", "0.2.0") is None  # refreshed by this engine already
    assert figures_changed("0.2.0", "0.2.3") is None
    assert figures_changed(None, "0.2.0") is None  # never refreshed: nothing to compare
    assert figures_changed("0.1.9", "0.1.10") is None
    note = figures_changed("0.2.0", "0.3.0")
    assert note.startswith("figures changed by bbb_xl 0.3: see changelog") and "25-13(a)" in note
    assert figures_changed("0.1.0", "0.3.0").startswith("figures changed by bbb_xl 0.2, 0.3: see changelog")


def test_run_info_says_when_the_engine_changed_the_figures(tmp_path):
    import bbb_xl
    assert bbb_xl.__version__ == "0.3.0"
    path = tmp_path / "book.xlsm"
    shutil.copyfile(OLD_TEMPLATE, path)  # last refreshed by bbb_xl 0.1.0
    headless.refresh_file(path)
    run_info = openpyxl.load_workbook(path)["Run Info"]
    assert run_info["B16"].value.startswith("figures changed by bbb_xl 0.2, 0.3: see changelog")
    headless.refresh_file(path)  # refreshed by 0.3.0 now: nothing more to say
    assert openpyxl.load_workbook(path)["Run Info"]["B16"].value is None


def test_the_button_refresh_records_the_template_version_and_the_figures_note(current, tmp_path, monkeypatch):
    """The xlwings shell on a stand-in Book: the version from the defined name, the last version from Run Info."""
    import bbb_xl
    import bbb_xl.excel as shell
    from bbb_xl.excel.workflow import GENERATED_SHEETS
    from test_workbook import _FakeRange, _FakeSheet

    class RunInfo(_FakeSheet):
        def range(self, a, b=None):
            rng = _FakeRange(self, a, b)
            if (a, b) == ((3, 1), (3, 2)):  # what the last refresh wrote there
                return type("R", (), {"value": ["bbb_xl version", "0.1.0"]})()
            return rng

    contracts, settings, events = headless.read_inputs(current)
    book = type("Book", (), {})()
    book.fullname = str(tmp_path / "book.xlsm")
    book.names = {upgrade.VERSION_NAME: type("Name", (), {"refers_to": "=2"})()}
    book.sheets = {"Contracts": _FakeSheet(tuple(map(tuple, contracts))),
                   "Settings": _FakeSheet(tuple(map(tuple, settings))),
                   "Events": _FakeSheet(tuple(map(tuple, events)))}
    for name in GENERATED_SHEETS:
        book.sheets[name] = RunInfo() if name == "Run Info" else _FakeSheet()
    monkeypatch.setattr(bbb_xl, "__version__", "0.2.0")
    shell.refresh(book)
    cells = book.sheets["Run Info"].cells_
    assert (cells[(15, 1)], cells[(15, 2)]) == ("Template version", 2)
    assert cells[(16, 2)].startswith("figures changed by bbb_xl 0.2: see changelog")
    del book.names  # a book made before versions were recorded
    shell.refresh(book)
    assert book.sheets["Run Info"].cells_[(15, 2)] == 1


@pytest.mark.libreoffice
@lo.requires_soffice
def test_libreoffice_opens_an_upgraded_workbook(current, tmp_path):
    path = _older(current, tmp_path, drop=("FX Rates", "Changes"))
    assert _run("upgrade", path).exit_code == 0
    assert _run("refresh", path).exit_code == 0
    out = lo.recalculate(path, tmp_path / "recalculated.xlsx")
    wb = openpyxl.load_workbook(out, data_only=True)
    assert wb.sheetnames == upgrade.TEMPLATE_SHEETS + ["Audit Trail", "_Snapshot"]  # record tabs: at the end
    assert [c.value for c in wb["FX Rates"][1]] == ["Currency", "Month", "Rate", "Rate Type"]
    assert wb["Changes"]["A1"].value.endswith("contract modifications and cancellations (USD)")
    last = len(upgrade.SETTING_ROWS) + 1
    assert wb["Settings"][f"A{last}"].value == "Detail line limit" and wb["Settings"][f"B{last}"].value == 20000
    assert wb["Run Info"]["B13"].value == "Up to date"  # the native STALE formula, computed by LibreOffice


def test_upgrade_refuses_an_open_workbook(current, tmp_path):
    path = _older(current, tmp_path)
    (tmp_path / "~$older.xlsm").write_text("x")  # Excel's lock file
    before = path.read_bytes()
    result = _run("upgrade", path)
    assert result.exit_code == 1 and "is open in another program" in result.output
    assert path.read_bytes() == before


def test_a_users_accounts_tab_in_an_older_book_is_refused_ours_is_kept(current, tmp_path):
    """Accounts came with template version 2: in an older (unversioned) book a tab of that name is the user's own
    (a chart of accounts, say) unless it is our Product | Revenue Account table."""
    path = tmp_path / "unmarked.xlsm"
    wb = openpyxl.load_workbook(current, keep_vba=True)
    del wb.defined_names[upgrade.VERSION_NAME]
    del wb["Accounts"]
    wb.create_sheet("Accounts")["A1"] = "Account number"
    wb.save(path)
    before = path.read_bytes()
    result = _run("upgrade", path)
    assert result.exit_code == 1 and "your tab 'Accounts' has a name that template version " \
        f"{upgrade.TEMPLATE_VERSION} needs" in result.output
    assert path.read_bytes() == before
    ours = _unmarked(current, tmp_path / "x") if (tmp_path / "x").mkdir() is None else None
    assert _run("upgrade", ours).exit_code == 0  # the template's own Accounts tab (A1 "Product") is recognised


def _at_version(path, version: int) -> None:
    from bbb_xl.excel import package as pk
    pkg = pk.Package(path)
    upgrade._set_version(pkg, version)
    pkg.save_atomic(path)


def test_upgrade_adds_an_empty_mapping_tab_and_keeps_a_users_own(current, tmp_path):
    """Template version 4 brings the Mapping tab: an older book gets it empty (its header, Table, validation and
    notes: the sample rows are the template's, not the book's), every input untouched; a Mapping tab the user made
    in that shape (Field in A1, as docs/imports.md said before version 4) is kept as it is."""
    from bbb_xl import api
    from bbb_xl.core.errors import BBBError
    inputs = ["Contracts", "Events", "Settings", "Plan", "Pipeline", "Forecast Assumptions"]
    path = _older(current, tmp_path, drop=("Mapping",), drop_setting_row=None)
    _at_version(path, 3)
    before = read_sheets(path, inputs)
    result = upgrade.upgrade_workbook(path)
    assert (result.from_version, result.to_version, result.tabs_added, result.settings_added) == (3, 4, ["Mapping"], [])
    assert read_sheets(path, inputs) == before
    wb = openpyxl.load_workbook(path, keep_vba=True)
    assert wb.sheetnames.index("Mapping") == wb.sheetnames.index("Opening Balances") + 1
    ws = wb["Mapping"]
    assert [c.value for c in ws[1]][:4] == ["Field", "Source", "Kind", "Value"] and ws["A2"].value is None
    assert dict(ws.tables.items()) == {"Mapping": "A1:D2"}
    assert ws["F8"].value == "term end" and ws["A1"].comment is not None
    assert any(dv.formula1.startswith('"column,constant') for dv in ws.data_validations.dataValidation)
    sf = Path(__file__).with_name("data") / "imports" / "salesforce_opportunity_products.csv"
    with pytest.raises(BBBError, match="or fill the Mapping tab"):  # empty: no default mapping
        api.import_file(sf, path)

    own = tmp_path / "own.xlsm"
    wb = openpyxl.load_workbook(_older(current, tmp_path, drop=("Mapping",), drop_setting_row=None), keep_vba=True)
    mine = wb.create_sheet("Mapping")
    for row in [["Field", "Source", "Kind", "Value"], ["Contract ID", "Opportunity ID"], ["Customer", "Account Name"],
                ["Line ID", "Product Code"], ["Start Date", "Close Date"], ["End Date", "Close Date", "add months", "12"],
                ["Amount", "Total Price"], ["Date Order", None, None, "MDY"]]:
        mine.append(row)
    wb.save(own)
    _at_version(own, 3)
    before = read_sheets(own, ["Mapping"])["Mapping"]
    result = upgrade.upgrade_workbook(own)
    assert result.tabs_added == [] and result.to_version == 4
    assert read_sheets(own, ["Mapping"])["Mapping"] == before
    used = api.import_file(sf, own, dry_run=True)
    assert used.how.startswith("mapping: the Mapping tab of own.xlsm")
    assert (used.applied.kept, used.applied.filtered) == (5, 0)  # no Keep row: Closed Lost kept too
    assert used.applied.rows[0][:4] == ["0065g00000AbCdE1", "Acme Corp", "PLAT-ANN", dt.date(2025, 1, 15)]


def test_a_version_3_book_gets_the_price_tiers_tab(current, tmp_path):
    # template version 4 brought the Price Tiers tab (usage lines' tiered prices, engine.usage)
    path = _older(current, tmp_path, drop=("Price Tiers",), drop_setting_row=None)
    wb = openpyxl.load_workbook(path, keep_vba=True)
    wb.defined_names["bbbxl.TemplateVersion"].attr_text = "3"
    wb.save(path)
    result = _run("upgrade", path)
    assert result.exit_code == 0, result.output
    assert "from template version 3 to 4" in result.output and "tabs added: Price Tiers" in result.output
    upgraded = openpyxl.load_workbook(path)
    tiers = upgraded["Price Tiers"]
    assert [c.value for c in tiers[1]] == ["Contract ID", "Product", "From Quantity", "Unit Price", "Mode"]
    # with the input tabs (after Mapping), before the report tabs, as in the template
    names = upgraded.sheetnames
    assert names[names.index("Mapping") + 1:names.index("Mapping") + 3] == ["Price Tiers", "Summary"]
    assert upgrade.TAB_SINCE["Price Tiers"] == 4
