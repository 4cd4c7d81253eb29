"""bbb-xl import: mappings, the built-in profiles' sample exports, upsert / replace / dry run into a workbook.

Each profile's sample (tests/data/imports) is imported into an emptied copy of the template; its schedules must
equal those of the same contracts and invoices typed by hand into a plain contracts CSV (and events CSV)."""
from __future__ import annotations

import datetime as dt
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from bbb_xl import api
from bbb_xl.cli import cli
from bbb_xl.core.errors import BBBError
from bbb_xl.excel.inputs import clear_sample_file
from bbb_xl.imports import apply_mapping, mapping_from_rows, read_source, resolve
from bbb_xl.xlsx_reader import read_sheets

DATA = Path(__file__).parent / "data" / "imports"
TEMPLATE = Path(__file__).parents[1] / "workbook_templates" / "bbb_template.xlsm"
SF, STRIPE, QBO, XERO = (DATA / n for n in ("salesforce_opportunity_products.csv", "stripe_subscriptions.csv",
                                            "quickbooks_invoices.csv", "xero_invoices.csv"))

# The Closed Won lines of the Salesforce sample, typed by hand (End Date = Service Date + Term months - 1 day)
HAND_CONTRACTS = """Contract ID,Customer,Line ID,Product,Booking Date,Start Date,End Date,Amount,Recognition,Billing
0065g00000AbCdE1,Acme Corp,PLAT-ANN,Platform Subscription,2025-01-15,2025-02-01,2026-01-31,12000.00,daily,upfront
0065g00000AbCdE1,Acme Corp,ONB-FIX,Onboarding Services,2025-01-15,2025-02-01,2025-04-30,3000.00,daily,upfront
0065g00000XyZaB2,Globex,PLAT-ANN,Platform Subscription,2025-03-31,2025-04-01,2027-03-31,6000.00,daily,upfront
"""


@pytest.fixture
def book(tmp_path):
    path = tmp_path / "book.xlsm"
    shutil.copyfile(TEMPLATE, path)
    clear_sample_file(path)
    return path


def _hand(tmp_path, contracts: str, events: str | None = None):
    c = tmp_path / "hand.csv"
    c.write_text(contracts)
    e = None
    if events:
        e = tmp_path / "hand_events.csv"
        e.write_text(events)
    return c, e


def _schedule(path, metric, events=None, start="2025-01", end="2027-03"):
    return api.file_schedule(path, metric, start, end, events=events).rows


def _by_month(rows):
    return dict(zip(rows[0][1:], rows[1][1:]))


def test_salesforce_sample_equals_hand_entry(book, tmp_path):
    result = api.import_file(SF, book, "auto")
    assert result.how.startswith("profile: salesforce (recognised")
    assert (result.applied.kept, result.applied.filtered, result.applied.rejected) == (3, 2, [])  # Closed Lost, open
    assert result.written and len(result.diff.added) == 3
    hand, _ = _hand(tmp_path, HAND_CONTRACTS)
    for metric in ("bookings", "revenue", "billings", "backlog", "deferred"):
        assert _schedule(book, metric) == _schedule(hand, metric), metric
    bookings = _by_month(_schedule(book, "bookings"))
    assert bookings["2025-01"] == Decimal("15000.00") and bookings["2025-03"] == Decimal("6000.00")
    # ONB-FIX: 3,000 over 2025-02-01..04-30 (89 days) daily: February 28/89 x 3000 = 943.82;
    # PLAT-ANN: 12,000 x 28/365 = 920.55 (ASC 606-10-55-18 ratable over the service period)
    assert _by_month(_schedule(book, "revenue"))["2025-02"] == Decimal("1864.37")
    contracts = read_sheets(book, ["Contracts"])["Contracts"]
    assert contracts[0][-2:] == ["Product Code", "Opportunity Owner"]  # named dimensions only; Quantity dropped
    assert "Quantity" not in contracts[0] and "Stage" not in contracts[0]
    assert contracts[1][4] == dt.datetime(2025, 1, 15)  # a date cell, not text
    assert contracts[1][7] == 12000  # a number


def test_refresh_after_import(book):
    from bbb_xl.excel.headless import refresh_file
    api.import_file(SF, book, "salesforce")
    api.import_file(QBO, book, "quickbooks")
    result = refresh_file(book)
    assert result.lines == 3 and not result.partial


def test_quickbooks_invoices_are_billings_net_of_tax_and_reimport_is_noop(book, tmp_path):
    api.import_file(SF, book, "salesforce")
    result = api.import_file(QBO, book, "auto")
    assert result.how.startswith("profile: quickbooks")
    assert [k for k, _ in result.diff.added] == ["1001/1", "1001/2", "1002"]
    hand, events = _hand(tmp_path, HAND_CONTRACTS, "Contract ID,Date,Event,Amount\n"
                         "0065g00000AbCdE1,2025-02-01,invoice,15000.00\n0065g00000XyZaB2,2025-04-01,invoice,6000.00\n")
    assert _schedule(book, "billings") == _schedule(hand, "billings", events)
    billings = _by_month(_schedule(book, "billings"))
    # ItemAmount only: the 960 + 240 + 480 of ItemTaxAmount are not billings of the contract
    assert billings["2025-02"] == Decimal("15000.00") and billings["2025-04"] == Decimal("6000.00")
    assert billings["2026-04"] == Decimal("0.00")  # Globex is billed its invoices only, not a second year upfront
    before = book.read_bytes()
    again = api.import_file(QBO, book, "quickbooks")
    assert (len(again.diff.added), len(again.diff.changed), again.diff.unchanged, again.written) == (0, 0, 3, False)
    assert book.read_bytes() == before


def test_xero_invoices_reference_holds_the_contract(book, tmp_path):
    api.import_file(SF, book, "salesforce")
    result = api.import_file(XERO, book, "auto")
    assert result.how.startswith("profile: xero")
    assert [k for k, _ in result.diff.added] == ["INV-0101/1", "INV-0101/2", "INV-0102", "INV-0103"]
    hand, events = _hand(tmp_path, HAND_CONTRACTS, "Contract ID,Date,Event,Amount\n"
                         "0065g00000AbCdE1,2025-02-01,invoice,15000.00\n0065g00000XyZaB2,2025-04-01,invoice,3000.00\n"
                         "0065g00000XyZaB2,2025-10-01,invoice,3000.00\n")
    assert _schedule(book, "billings") == _schedule(hand, "billings", events)
    billings = _by_month(_schedule(book, "billings"))
    assert (billings["2025-04"], billings["2025-10"]) == (Decimal("3000.00"), Decimal("3000.00"))  # dd/mm/yyyy


def test_stripe_subscriptions_are_evergreen_lines(book, tmp_path):
    """Each subscription renews every Interval from its anchor (Trial End, else Start): Stripe's exclusive
    Current Period End is the next term's first day, so consecutive terms never share a day (engine.evergreen)."""
    result = api.import_file(STRIPE, book, "auto")
    assert result.how.startswith("profile: stripe")
    assert (result.applied.kept, result.applied.filtered) == (3, 2)  # incomplete_expired and canceled left out
    hand, _ = _hand(tmp_path, "Contract ID,Customer,Line ID,Product,Booking Date,Start Date,End Date,Amount,"
                              "Recognition,Billing,Currency,Renewal\n"
                    "sub_1QaBcD2eFgHiJkLm,Acme Corp,price_1QaPro001,Pro plan,2025-01-15,2025-01-15,,99.00,"
                    "daily,monthly,USD,auto\n"
                    "sub_1QbCdE3fGhIjKlMn,ops@globex.example,price_1QbTeam002,Team plan,2025-02-01,2025-02-01,,"
                    "2400.00,daily,annual,USD,auto\n"
                    "sub_1QdEfG5hIjKlMnOp,Umbrella,price_1QaPro001,Pro plan,2025-01-17,2025-01-31,,99.00,"
                    "daily,monthly,USD,auto\n")

    def schedule(path, metric):
        return api.file_schedule(path, metric, "2025-01", "2026-02", as_of="2025-04-20").rows

    for metric in ("bookings", "revenue", "billings", "backlog"):
        assert schedule(book, metric) == schedule(hand, metric), metric
    revenue, bookings = _by_month(schedule(book, "revenue")), _by_month(schedule(book, "bookings"))
    # March 2025: Acme 99 x 14/28 (Feb 15 - Mar 14) + 99 x 17/31 (Mar 15 - Apr 14) = 49.50 + 54.29; Globex
    # 2400 x 31/365 = 203.84; Umbrella (anchor Jan 31: Feb 28 - Mar 30, Mar 31 - Apr 29) 95.81 + 3.30
    assert revenue["2025-03"] == Decimal("406.74")
    # booked: Jan 15 and Jan 17 (the trial's start: signed), Mar 15 and Mar 31, Apr 15; May's terms not yet
    assert [bookings[m] for m in ("2025-01", "2025-03", "2025-04", "2025-05")] == \
        [Decimal("198.00"), Decimal("198.00"), Decimal("99.00"), Decimal("0.00")]


def test_dry_run_diff_is_exact_and_writes_nothing(book, tmp_path):
    api.import_file(SF, book, "salesforce")
    changed = tmp_path / "sf2.csv"
    changed.write_text(SF.read_text().replace('"6,000.00",4/1/2025,24', '"6,500.00",4/1/2025,24'))
    before = book.read_bytes()
    result = api.import_file(changed, book, "salesforce", dry_run=True)
    assert (len(result.diff.added), result.diff.unchanged, result.diff.removed) == (0, 2, [])
    assert result.diff.changed == [("0065g00000XyZaB2 / PLAT-ANN", [("Amount", 6000, Decimal("6500.00"))])]
    assert "  ~ 0065g00000XyZaB2 / PLAT-ANN: Amount: 6000.00 -> 6500.00" in result.diff.lines()
    assert book.read_bytes() == before and not result.written
    written = api.import_file(changed, book, "salesforce")
    assert written.written and _by_month(_schedule(book, "bookings"))["2025-03"] == Decimal("6500.00")


def test_replace_removes_rows_not_imported(tmp_path):
    path = tmp_path / "t.xlsm"
    shutil.copyfile(TEMPLATE, path)  # the template's 10 example lines (9 + the usage line C-1201)
    result = api.import_file(SF, path, "salesforce", mode="replace", dry_run=True)
    assert len(result.diff.added) == 3 and len(result.diff.removed) == 10
    api.import_file(SF, path, "salesforce", mode="replace")
    rows = [r for r in read_sheets(path, ["Contracts"])["Contracts"][1:] if any(v is not None for v in r)]
    assert [r[0] for r in rows] == ["0065g00000AbCdE1", "0065g00000AbCdE1", "0065g00000XyZaB2"]


def test_rejected_row_aborts_with_its_source_row(book, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(SF.read_text().replace("3/31/2025", "31/3/2025"))  # row 4: day 31 as a month
    before = book.read_bytes()
    with pytest.raises(BBBError, match=r"row 4: Close Date: '31/3/2025' is not a date"):
        api.import_file(bad, book, "salesforce")
    assert book.read_bytes() == before
    out = CliRunner().invoke(cli, ["import", str(bad), "--into", str(book), "--profile", "salesforce"])
    assert out.exit_code == 1 and "row 4" in out.output and book.read_bytes() == before


def test_salesforce_without_end_date_or_term_says_so(book, tmp_path):
    plain = tmp_path / "plain.csv"
    plain.write_text(SF.read_text().replace("Term (Months)", "Probability"))  # no End Date, no Term
    with pytest.raises(BBBError, match="no End Date or Term column"):
        api.import_file(plain, book, "salesforce")


def test_auto_refuses_an_unknown_header(book, tmp_path):
    other = tmp_path / "other.csv"
    other.write_text("Foo,Bar,Baz\n1,2,3\n")
    with pytest.raises(BBBError, match="not one of the built-in profiles"):
        api.import_file(other, book, "auto")


def test_mapping_file_expressions(tmp_path):
    rows = [["Field", "Source", "Kind", "Value"], ["Target", "", "", "contracts"], ["Date Order", "", "", "DMY"],
            ["Contract ID", "Deal", "", ""], ["Customer", "Client", "", ""],
            ["Line ID", "SKU | Item", "first", ""], ["Start Date", "Signed", "add days", "1"],
            ["End Date", "Signed | Months", "term end", ""], ["Amount", "Licence + Support", "sum", ""],
            ["Billing", "", "constant", "annual"], ["Keep", "Status", "not", "Lost | Void"],
            ["Dimension", "Region", "", ""]]
    m = mapping_from_rows(rows, "mine")
    src = [["Deal", "Client", "SKU", "Item", "Signed", "Months", "Licence", "Support", "Status", "Region", "Rep"],
           ["D1", "Acme", "", "Widget", "31/12/2024", "12", "1,000.50", "99.50", "Won", "EMEA", "Ann"],
           ["D2", "Globex", "S-2", "Gadget", "15/01/2025", "6", "500", "", "Lost", "US", "Bob"],
           ["D3", "Initech", "S-3", "", "32/01/2025", "6", "500", "", "Won", "US", "Bob"]]
    a = apply_mapping(src, m)
    assert a.columns == ("Contract ID", "Customer", "Line ID", "Start Date", "End Date", "Amount", "Billing", "Region")
    assert a.rows == [["D1", "Acme", "Widget", dt.date(2025, 1, 1), dt.date(2025, 12, 30), Decimal("1100.00"),
                       "annual", "EMEA"]]
    assert a.filtered == 1 and [str(r) for r in a.rejected] == [
        "row 4: Signed: '32/01/2025' is not a date that exists in the Date order DMY (day/month/year)"]
    csv = tmp_path / "map.csv"
    csv.write_text("\n".join(",".join(r) for r in rows))
    m2, how = resolve(src[0], None, csv)
    assert m2 == m.__class__(**{**m.__dict__, "name": "map.csv"}) and how == "mapping: map.csv"


def test_mapping_refuses_a_missing_column_and_an_unknown_field():
    m = mapping_from_rows([["Field", "Source"], ["Contract ID", "Deal"], ["Customer", "Client"],
                           ["Start Date", "Signed"], ["Amount", "Total"]])
    with pytest.raises(BBBError, match=r"Total \(for Amount, mapping row 5\)"):  # the rule's row
        apply_mapping([["Deal", "Client", "Signed"], ["D1", "A", "2025-01-01"]], m)
    with pytest.raises(BBBError, match="'Colour' is not a field of contracts"):
        mapping_from_rows([["Field", "Source"], ["Colour", "X"]])


def test_currency_column_common_names_several_currencies_stay_an_error():
    for heading in ("Currency Code", "CurrencyIsoCode", "Opportunity Currency"):
        rows = [["Contract ID", "Customer", "Start Date", "End Date", "Amount", heading],
                ["C1", "A", dt.date(2025, 1, 1), dt.date(2025, 12, 31), 1200, "USD"],
                ["C2", "B", dt.date(2025, 1, 1), dt.date(2025, 12, 31), 1200, "EUR"]]
        book = api.book_from_range(rows)
        assert any("USD and EUR without an FX range" in p.message and p.is_error for p in book.problems), heading
        assert not any(heading in str(p) and "did you mean" in str(p) for p in book.problems)


def test_cli_dry_run_prints_counts(book):
    out = CliRunner().invoke(cli, ["import", str(SF), "--into", str(book), "--profile", "auto", "--dry-run"])
    assert out.exit_code == 0, out.output
    assert "source rows: 3 kept, 2 filtered out, 0 rejected" in out.output
    assert "Contracts: added 3, changed 0, unchanged 0, removed 0" in out.output
    assert "dry run: nothing written" in out.output


HUBSPOT, CHARGEBEE = DATA / "hubspot_deal_line_items.csv", DATA / "chargebee_subscriptions.csv"


def test_hubspot_term_is_an_iso_period_and_amount_the_total_contract_value(book, tmp_path):
    result = api.import_file(HUBSPOT, book, "auto")
    assert result.how.startswith("profile: hubspot") and (result.applied.kept, result.applied.filtered) == (2, 1)
    hand, _ = _hand(tmp_path, "Contract ID,Customer,Line ID,Product,Booking Date,Start Date,End Date,Amount,"
                              "Recognition,Billing\n"
                    "9876500001,Acme Corp,18123400001,Analytics Suite,2025-01-20,2025-02-01,2026-01-31,12000.00,daily,"
                    "quarterly\n"
                    "9876500001,Acme Corp,18123400002,Premium Support,2025-01-20,2025-02-01,2026-01-31,500.00,daily,"
                    "annual\n")
    for metric in ("bookings", "revenue", "billings"):
        assert _schedule(book, metric, end="2026-01") == _schedule(hand, metric, end="2026-01"), metric
    billings = _by_month(_schedule(book, "billings", end="2026-01"))
    # quarterly in advance: 12,000 / 4 = 3,000 on Feb 1 plus the annual 500; then 3,000 in May, Aug, Nov
    assert [billings[m] for m in ("2025-02", "2025-05", "2025-08", "2025-11")] == \
        [Decimal("3500.00"), Decimal("3000.00"), Decimal("3000.00"), Decimal("3000.00")]


def test_hubspot_line_without_term_is_rejected_with_its_row(book, tmp_path):
    one_time = tmp_path / "hs.csv"
    one_time.write_text(HUBSPOT.read_text().replace(",P1Y,", ",,"))
    with pytest.raises(BBBError, match=r"row 3: no End Date: Billing start date / Term blank"):
        api.import_file(one_time, book, "hubspot")


def test_chargebee_current_term(book, tmp_path):
    result = api.import_file(CHARGEBEE, book, "auto")
    assert result.how.startswith("profile: chargebee") and (result.applied.kept, result.applied.filtered) == (2, 1)
    hand, _ = _hand(tmp_path, "Contract ID,Customer,Line ID,Booking Date,Start Date,End Date,Amount,Recognition,"
                              "Billing,Currency\n"
                    "AzZlGZUQ1a2b3c,Acme Corp,pro-annual,2025-01-10,2025-01-10,2026-01-09,1200.00,daily,upfront,USD\n"
                    "AzZlGZUQ4d5e6f,Globex,basic-monthly,2025-05-05,2025-05-05,2025-06-04,49.00,daily,upfront,USD\n")
    for metric in ("bookings", "revenue", "billings"):
        assert _schedule(book, metric, end="2026-01") == _schedule(hand, metric, end="2026-01"), metric
    # 49 over 2025-05-05..06-04 (31 days): May 27/31 x 49 = 42.68; 1,200 x 31/365 = 101.92
    assert _by_month(_schedule(book, "revenue", end="2026-01"))["2025-05"] == Decimal("144.60")


def test_mapping_tab_of_a_workbook(book, tmp_path):
    import openpyxl
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Mapping"
    for row in [["Field", "Source", "Kind", "Value"], ["Target", "", "", "events"],
                ["Contract ID", "Memo", "", ""], ["Date", "InvoiceDate", "", ""], ["Date Order", "", "", "MDY"],
                ["Event", "", "constant", "invoice"], ["Amount", "ItemAmount + ItemTaxAmount", "sum", ""],
                ["Source ID", "InvoiceNo", "", ""]]:
        ws.append(row)
    path = tmp_path / "mapping.xlsx"
    wb.save(path)
    api.import_file(SF, book, "salesforce")
    result = api.import_file(QBO, book, mapping=path, dry_run=True)
    assert result.how == "mapping: the Mapping tab of mapping.xlsx"
    assert [v["Amount"] for _, v in result.diff.added] == [Decimal("12960.00"), Decimal("3240.00"),
                                                          Decimal("6480.00")]  # gross, as this mapping says
    csv = tmp_path / "mapping.csv"  # the same rows as a CSV file: the same rows imported
    csv.write_text("\n".join(",".join(str(v) for v in r) for r in ws.iter_rows(values_only=True)) + "\n")
    from_csv = api.import_file(QBO, book, mapping=csv, dry_run=True)
    assert from_csv.how == "mapping: mapping.csv"
    assert from_csv.applied.rows == result.applied.rows and from_csv.diff.added == result.diff.added


def test_footer_rows_of_a_report_export_are_not_rows():
    rows, header_row = read_source(SF)
    assert header_row == 1 and len(rows) == 6 and rows[-1][0] == "Jane Doe"  # Copyright / Generated By dropped


from hypothesis import HealthCheck, Phase, given, settings, strategies as st  # noqa: E402

_INVOICE = st.tuples(st.sampled_from(["0065g00000AbCdE1", "0065g00000XyZaB2"]),
                     st.dates(dt.date(2025, 4, 1), dt.date(2025, 12, 31)),
                     st.decimals(Decimal("0.01"), Decimal("99999.99"), places=2))


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture],
          phases=[Phase.explicit, Phase.generate])  # each example writes a workbook: no slow shrinking
@given(st.lists(_INVOICE, min_size=1, max_size=6))
def test_importing_invoices_is_idempotent_and_billings_equal_their_sum(tmp_path_factory, invoices):
    """Upsert by Source ID: a second import of the same file changes nothing, and the invoices billed equal the
    file's ItemAmounts, whatever the file holds (invoice events bill exactly themselves, issue 8)."""
    tmp = tmp_path_factory.mktemp("prop")
    path = tmp / "book.xlsm"
    shutil.copyfile(TEMPLATE, path)
    clear_sample_file(path)
    api.import_file(SF, path, "salesforce")
    src = tmp / "qbo.csv"
    lines = [QBO.read_text().splitlines()[0]]
    for n, (cid, day, amount) in enumerate(invoices):
        lines.append(f"{2000 + n},X,{day:%m/%d/%Y},,,,{cid},Item,,1,{amount},{amount},,0,USD,")
    src.write_text("\n".join(lines) + "\n")
    api.import_file(src, path, "quickbooks")
    before = path.read_bytes()
    again = api.import_file(src, path, "quickbooks")
    assert again.diff.unchanged == len(invoices) and not again.written and path.read_bytes() == before
    billed = sum(_schedule(path, "billings", start="2025-04", end="2025-12")[1][1:], Decimal(0))
    # a contract without invoice events keeps its own schedule: Globex is billed 6,000 upfront on 2025-04-01
    # (Acme's upfront 15,000 falls on 2025-02-01, before the window)
    globex_invoiced = any(cid == "0065g00000XyZaB2" for cid, _, _ in invoices)
    expected = sum((a for _, _, a in invoices), Decimal(0)) + (0 if globex_invoiced else Decimal("6000.00"))
    assert billed == expected


def test_a_profile_written_out_as_mapping_rows_reads_back_to_the_same_rules():
    from bbb_xl.imports import mapping_rows
    from bbb_xl.imports.profiles import stripe
    rows, _ = read_source(STRIPE)
    m = stripe.mapping(rows[0])
    back = mapping_from_rows(mapping_rows(m), "stripe")
    assert [(r.field, r.kind, r.sources, r.value) for r in back.rules] == \
        [(r.field, r.kind, r.sources, r.value) for r in m.rules]
    assert (back.keep, back.dimensions, back.date_order, back.target) == (m.keep, m.dimensions, "ISO", "contracts")


# --- Stripe: Cancel At Period End (issue 14 §2) -----------------------------------------------------------------

STRIPE_CANCELLING = DATA / "stripe_subscriptions_cancel_at_period_end.csv"


def test_stripe_cancel_at_period_end_stops_renewing_after_the_current_period(book, tmp_path):
    """Cancel At Period End = true: End Date = Current Period End (UTC) - 1 day (Stripe's period end is exclusive),
    the last day of the current term, so the evergreen line does not renew after it. Canceled At is the day the
    cancellation was asked for, not the end. The same book typed by hand: evergreen lines and a cancel event dated
    in the last term (without End Date it ends the line with that term)."""
    result = api.import_file(STRIPE_CANCELLING, book, "auto")
    assert result.how.startswith("profile: stripe")
    assert (result.applied.kept, result.applied.filtered) == (3, 1)  # the canceled (ended) one is left out
    rows = {r[0]: dict(zip(result.applied.columns, r)) for r in result.applied.rows}
    assert rows["sub_1RfAbC7dEfGhIjKl"]["End Date"] == dt.date(2025, 5, 9)  # period end 2025-05-10 09:00 - 1 day
    assert rows["sub_1RgBcD8eFgHiJkLm"]["End Date"] == dt.date(2026, 5, 31)
    assert rows["sub_1RhCdE9fGhIjKlMn"]["End Date"] is None  # renews
    hand, events = _hand(tmp_path, "Contract ID,Customer,Line ID,Product,Booking Date,Start Date,End Date,Amount,"
                                   "Recognition,Billing,Currency,Renewal\n"
                         "sub_1RfAbC7dEfGhIjKl,Stark Industries,price_1QaPro001,Pro plan,2025-01-10,2025-01-10,,"
                         "49.00,daily,monthly,USD,auto\n"
                         "sub_1RgBcD8eFgHiJkLm,Wayne Enterprises,price_1QbTeam002,Team plan,2024-06-01,2024-06-01,,"
                         "1200.00,daily,annual,USD,auto\n"
                         "sub_1RhCdE9fGhIjKlMn,Cyberdyne,price_1QaPro001,Pro plan,2025-03-05,2025-03-05,,49.00,"
                         "daily,monthly,USD,auto\n",
                         "Contract ID,Line ID,Date,Event\n"
                         "sub_1RfAbC7dEfGhIjKl,price_1QaPro001,2025-04-22,cancel\n"
                         "sub_1RgBcD8eFgHiJkLm,price_1QbTeam002,2025-09-03,cancel\n")

    def schedule(path, metric, as_of, ev=None):
        return api.file_schedule(path, metric, "2024-06", "2026-07", events=ev, as_of=as_of).rows

    for as_of in ("2025-06-20", "2026-07-01"):
        for metric in ("bookings", "revenue", "billings", "backlog"):
            assert schedule(book, metric, as_of) == schedule(hand, metric, as_of, events), (metric, as_of)
    bookings = _by_month(schedule(book, "bookings", "2026-07-01"))
    # Stark: 4 monthly terms of 49 (Jan 10 ... the Apr 10 - May 9 term), none from May 10
    # Wayne: 1,200 on 2024-06-01 and 2025-06-01, none on 2026-06-01; Cyberdyne renews: 49 a month from Mar 5
    assert [bookings[m] for m in ("2025-04", "2025-05", "2025-06", "2026-06")] == \
        [Decimal("98.00"), Decimal("49.00"), Decimal("1249.00"), Decimal("49.00")]


# --- the template's Mapping tab -------------------------------------------------------------------------------------

def test_template_mapping_tab_is_the_salesforce_profile_and_the_default(book, tmp_path):
    """The template ships the salesforce profile as rows of its Mapping tab: importing without --profile or
    --mapping uses them (and says so), and gives the rows --profile salesforce gives."""
    by_profile = api.import_file(SF, book, "salesforce", dry_run=True)
    by_tab = api.import_file(SF, book, dry_run=True)
    assert by_tab.how == "mapping: the Mapping tab of book.xlsm (neither --profile nor --mapping given)"
    assert by_tab.applied.columns == by_profile.applied.columns
    assert by_tab.applied.rows == by_profile.applied.rows and by_tab.diff.added == by_profile.diff.added
    assert (by_tab.applied.kept, by_tab.applied.filtered) == (3, 2)
    other = tmp_path / "other.xlsm"  # --mapping BOOK: a workbook's Mapping tab read for another book
    shutil.copyfile(book, other)
    assert api.import_file(SF, other, mapping=book, dry_run=True).applied.rows == by_profile.applied.rows
    out = CliRunner().invoke(cli, ["import", str(SF), "--into", str(book)])
    assert out.exit_code == 0, out.output
    assert out.output.startswith("mapping: the Mapping tab of book.xlsm (neither --profile nor --mapping given)\n")
    assert "Contracts: added 3, changed 0, unchanged 0, removed 0" in out.output


def _set_cells(path, tab, cells: dict) -> None:
    import openpyxl
    wb = openpyxl.load_workbook(path, keep_vba=path.suffix == ".xlsm")
    for ref, value in cells.items():
        wb[tab][ref] = value
    wb.save(path)


def test_a_bad_mapping_tab_row_is_located_and_nothing_is_written(book, tmp_path):
    _set_cells(book, "Mapping", {"C7": "sums"})  # row 7: Product | Product Name | column
    before = book.read_bytes()
    with pytest.raises(BBBError) as exc:
        api.import_file(SF, book)
    assert str(exc.value).startswith("#BBB! Mapping!C7: unknown kind 'sums' (Kind is one of: column, constant, sum")
    assert exc.value.problems[0].cell == "C7" and exc.value.problems[0].value == "sums"
    assert book.read_bytes() == before
    out = CliRunner().invoke(cli, ["import", str(SF), "--into", str(book)])
    assert out.exit_code == 1 and "error: Mapping!C7: unknown kind 'sums'" in out.output
    assert book.read_bytes() == before
    _set_cells(book, "Mapping", {"C7": "column", "B11": "Net Price"})  # a heading the file lacks: the rule's cell
    before = book.read_bytes()
    with pytest.raises(BBBError, match=r"needs: Net Price \(for Amount, Mapping!B11\); nothing was written"):
        api.import_file(SF, book)
    assert book.read_bytes() == before
    # --profile ignores the tab; --mapping names the other workbook in the location
    assert api.import_file(SF, book, "salesforce", dry_run=True).applied.kept == 3
    other = tmp_path / "map.xlsx"
    import openpyxl
    wb = openpyxl.Workbook()
    wb.active.title = "Mapping"
    for row in [["Field", "Source", "Kind", "Value"], ["Contract ID", "Opportunity ID"], [],
                ["Colour", "Stage"]]:
        wb.active.append(row)
    wb.save(other)
    with pytest.raises(BBBError, match=r"\[map.xlsx\]Mapping!A4: 'Colour' is not a field of contracts"):
        api.import_file(SF, book, mapping=other)
    csv = tmp_path / "map.csv"  # a CSV: the file row (blank rows counted)
    csv.write_text("Field,Source,Kind,Value\nContract ID,Opportunity ID,,\n\nAmount,Total Price,sums,\n")
    with pytest.raises(BBBError, match=r"mapping map.csv row 4: unknown kind 'sums'"):
        api.import_file(SF, book, mapping=csv)
    assert book.read_bytes() == before


def test_an_empty_mapping_tab_is_no_default(book):
    import openpyxl
    wb = openpyxl.load_workbook(book, keep_vba=True)
    ws = wb["Mapping"]
    for row in ws.iter_rows(min_row=2, max_col=4):
        for c in row:
            c.value = None
    wb.save(book)
    with pytest.raises(BBBError, match="--profile NAME \\(or auto\\), --mapping FILE, or fill the Mapping tab"):
        api.import_file(SF, book)


# --- imported into the template, refreshed: the report tabs equal those of the same rows typed by hand ------------

HAND_SF_TYPED = """Contract ID,Customer,Line ID,Product,Booking Date,Start Date,End Date,Amount,Recognition,Billing,Currency,Product Code,Opportunity Owner
0065g00000AbCdE1,Acme Corp,PLAT-ANN,Platform Subscription,2025-01-15,2025-02-01,2026-01-31,12000.00,daily,upfront,USD,PLAT-ANN,Jane Doe
0065g00000AbCdE1,Acme Corp,ONB-FIX,Onboarding Services,2025-01-15,2025-02-01,2025-04-30,3000.00,daily,upfront,USD,ONB-FIX,Jane Doe
0065g00000XyZaB2,Globex,PLAT-ANN,Platform Subscription,2025-03-31,2025-04-01,2027-03-31,6000.00,daily,upfront,USD,PLAT-ANN,Raj Patel
"""
HAND_HUBSPOT_TYPED = """Contract ID,Customer,Line ID,Product,Booking Date,Start Date,End Date,Amount,Recognition,Billing,Currency,SKU,Deal owner
9876500001,Acme Corp,18123400001,Analytics Suite,2025-01-20,2025-02-01,2026-01-31,12000.00,daily,quarterly,USD,AN-01,Jane Doe
9876500001,Acme Corp,18123400002,Premium Support,2025-01-20,2025-02-01,2026-01-31,500.00,daily,annual,USD,SUP-01,Jane Doe
"""
HAND_CHARGEBEE_TYPED = """Contract ID,Customer,Line ID,Booking Date,Start Date,End Date,Amount,Recognition,Billing,Currency
AzZlGZUQ1a2b3c,Acme Corp,pro-annual,2025-01-10,2025-01-10,2026-01-09,1200.00,daily,upfront,USD
AzZlGZUQ4d5e6f,Globex,basic-monthly,2025-05-05,2025-05-05,2025-06-04,49.00,daily,upfront,USD
"""
HAND_QBO_TYPED = """Contract ID,Date,Event,Amount,Source ID
0065g00000AbCdE1,2025-02-01,invoice,12000.00,1001/1
0065g00000AbCdE1,2025-02-01,invoice,3000.00,1001/2
0065g00000XyZaB2,2025-04-01,invoice,6000.00,1002
"""
HAND_XERO_TYPED = """Contract ID,Date,Event,Amount,Source ID
0065g00000AbCdE1,2025-02-01,invoice,12000.00,INV-0101/1
0065g00000AbCdE1,2025-02-01,invoice,3000.00,INV-0101/2
0065g00000XyZaB2,2025-04-01,invoice,3000.00,INV-0102
0065g00000XyZaB2,2025-10-01,invoice,3000.00,INV-0103
"""
COMPARED_TABS = ("Summary", "Revenue", "Billings", "Bookings", "By Dimension", "Backlog", "Deferred Revenue",
                 "Journal Entries", "Exceptions")


def _type_by_hand(path, tab: str, csv_text: str) -> None:
    """Type rows into a tab as a person would: under the existing headings (new ones in the next columns), dates
    as dates, amounts as numbers."""
    import csv as csv_module
    import io
    import re

    import openpyxl
    wb = openpyxl.load_workbook(path, keep_vba=True)
    ws = wb[tab]
    header = [c.value for c in ws[1] if c.value is not None]
    rows = list(csv_module.reader(io.StringIO(csv_text)))
    cols = []
    for name in rows[0]:
        if name not in header:
            header.append(name)
            ws.cell(1, len(header), name)
        cols.append(header.index(name) + 1)
    for i, row in enumerate(rows[1:], start=2):
        for j, text in zip(cols, row):
            value = dt.datetime.strptime(text, "%Y-%m-%d") if re.fullmatch(r"\d{4}-\d\d-\d\d", text) else \
                float(text) if re.fullmatch(r"-?\d+\.\d+", text) else text or None
            ws.cell(i, j, value)
    wb.save(path)


@pytest.mark.parametrize("imports, contracts, events", [
    ([(SF, None)], HAND_SF_TYPED, None),  # the template's Mapping tab (no --profile): the salesforce rows
    ([(SF, "salesforce"), (QBO, "auto")], HAND_SF_TYPED, HAND_QBO_TYPED),
    ([(SF, "salesforce"), (XERO, "xero")], HAND_SF_TYPED, HAND_XERO_TYPED),
    ([(HUBSPOT, "hubspot")], HAND_HUBSPOT_TYPED, None),
    ([(CHARGEBEE, "chargebee")], HAND_CHARGEBEE_TYPED, None),
], ids=["salesforce-mapping-tab", "quickbooks", "xero", "hubspot", "chargebee"])
def test_refreshed_reports_of_an_import_equal_those_typed_by_hand(tmp_path, imports, contracts, events):
    """Each profile's sample imported into a copy of the freshly built template (emptied) and refreshed gives the
    report tabs of the same rows typed into another copy (Stripe's evergreen samples: test_stripe_* above)."""
    from bbb_xl.excel.headless import refresh_file
    books = {}
    for how in ("imported", "typed"):
        path = tmp_path / how / "book.xlsm"
        path.parent.mkdir()
        shutil.copyfile(TEMPLATE, path)
        clear_sample_file(path)
        books[how] = path
    for source, profile in imports:
        assert api.import_file(source, books["imported"], profile).written
    _type_by_hand(books["typed"], "Contracts", contracts)
    if events:
        _type_by_hand(books["typed"], "Events", events)
    for path in books.values():
        result = refresh_file(path)
        assert not result.partial
    def serial(v):  # openpyxl's save renumbers the styles: a date cell may read back as its serial number
        return (v - dt.datetime(1899, 12, 30)).days if isinstance(v, dt.datetime) else v

    imported, typed = ({tab: [[serial(v) for v in r] for r in rows]
                        for tab, rows in read_sheets(books[h], list(COMPARED_TABS)).items()}
                       for h in ("imported", "typed"))
    for tab in COMPARED_TABS:
        assert imported[tab] == typed[tab], tab
    total = next(r for r in imported["Revenue"] if r and r[0] == "Total")
    assert sum(Decimal(str(v)) for v in total[1:] if isinstance(v, (int, float))) > 0
    if contracts is HAND_SF_TYPED:  # February 2025: 943.82 + 920.55 (see test_salesforce_sample_equals_hand_entry)
        assert 1864.37 in total


def test_numbers_typed_in_a_mapping_tab_read_as_shown():
    """Excel hands a typed 1 or 2025 over as 1.0 / 2025.0: read as the cell shows it, not refused as '1.0'."""
    m = mapping_from_rows([["Field", "Source", "Kind", "Value"], ["Contract ID", "Deal"], ["Customer", "Client"],
                           ["Start Date", "Signed", "add days", 1.0], ["Amount", "Total"],
                           ["Keep", "Fiscal Year", None, 2025.0]], "tab", sheet="Mapping")
    a = apply_mapping([["Deal", "Client", "Signed", "Total", "Fiscal Year"],
                       ["D1", "Acme", "2024-12-31", "100", 2025], ["D2", "Acme", "2024-12-31", "100", 2024]], m)
    assert a.rows == [["D1", "Acme", dt.date(2025, 1, 1), Decimal("100.00")]] and a.filtered == 1
