"""`bbb-xl journal` of a book held as Parquet / CSV partitions (issue 19, section 3): computed per partition of
whole customers, in process and on a Dask LocalCluster the test starts, it writes byte for byte the file that
api.export_journal writes for the same lines in one workbook (the files by name, then their rows) with the same
Settings, Accounts, Events and FX Rates, in every format (csv, netsuite, quickbooks, xero) and detail."""
from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

pytest.importorskip("dask.dataframe")
pytest.importorskip("distributed")
pd = pytest.importorskip("pandas")
pytest.importorskip("pyarrow")
openpyxl = pytest.importorskip("openpyxl")

from click.testing import CliRunner  # noqa: E402

from benchmarks.generate import generate_book  # noqa: E402
from bbb_xl import api  # noqa: E402
from bbb_xl.cli import cli  # noqa: E402
from bbb_xl.core.errors import BBBError  # noqa: E402
from bbb_xl.scale import file_journal  # noqa: E402

START, END = "2024-01", "2026-12"
FORMATS = ("csv", "netsuite", "quickbooks", "xero")
MONTHS = [f"{y}-{m:02d}" for y in range(2023, 2030) for m in range(1, 13)]
# EUR average rates rising 0.003 a month, closing rates 0.005 above (IFRIC 22 remeasures the contract asset)
FX = [["Currency", "Month", "Rate", "Rate Type"]] + \
    [["EUR", m, round(1.05 + 0.003 * i, 4), "average"] for i, m in enumerate(MONTHS)] + \
    [["EUR", m, round(1.055 + 0.003 * i, 4), "closing"] for i, m in enumerate(MONTHS)]
# Widgets (no line has it) maps to 4200 before Support does to 4100: the engine orders the revenue accounts by
# the products the book has (4100 then 4200), which only all partitions together know
ACCOUNTS = [["Product", "Revenue Account"], ["Widgets", "4200 Services"], ["Support", "4100 Support Revenue"],
            ["Training", "4200 Services"], ["Professional Services", "4200 Services"]]


def workbook(path, contracts, settings: dict, events=None, fx=None, accounts=None):
    """A workbook with the tabs api.export_journal reads (header on row 1 of each)."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    tabs = [("Contracts", contracts), ("Settings", [["Setting", "Value"]] + [list(kv) for kv in settings.items()]),
            ("Events", events), ("FX Rates", fx), ("Accounts", accounts)]
    for name, rows in tabs:
        if rows is not None:
            ws = wb.create_sheet(name)
            for r in rows:
                ws.append(list(r))
    wb.save(path)
    return path


def write_csv(path, rows):
    path.write_text("\n".join(",".join("" if v is None else str(v) for v in r) for r in rows) + "\n")
    return path


@pytest.fixture(scope="module")
def cluster():
    from distributed import LocalCluster
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0") as c:
        yield c.scheduler_address


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    """A seeded book of 240 lines, a third of its customers billed in EUR, as 3 Parquet files and 1 CSV (a
    customer's lines spread over files), its rows in file order, invoice events of 30 contracts, FX rates."""
    rows = generate_book(240, months=36, seed=19)
    header = rows[0] + ["Currency"]
    body = [r + ["EUR" if int(r[1].split()[-1]) % 3 == 0 else None] for r in rows[1:]]
    folder = tmp_path_factory.mktemp("journal_parts")
    parts = folder / "parts"
    parts.mkdir()
    for k in range(3):
        pd.DataFrame(body[k::4], columns=header).to_parquet(parts / f"part{k}.parquet")
    last = [[v.date().isoformat() if isinstance(v, dt.datetime) else v for v in r] for r in body[3::4]]
    write_csv(parts / "part3.csv", [header] + last)
    ordered = [header] + [r for k in range(4) for r in body[k::4]]  # the files' rows in file order
    starts = {}
    for r in ordered[1:]:
        starts.setdefault(r[0], r[5])
    events = [["Contract ID", "Line ID", "Date", "Event", "Amount", "Percent"]] + \
        [[cid, None, s.date().isoformat(), "invoice", 100.25, None] for cid, s in list(starts.items())[:30]]
    return parts, ordered, events


SETTINGS = {"As-of date": dt.datetime(2026, 12, 31), "Currency": "USD", "FX method": "IFRIC 22"}


def reference(tmp_path, book, settings: dict, fmt: str, detail=None) -> bytes:
    """api.export_journal's file for the book's lines in one workbook, and that workbook (its Settings, Accounts,
    Events and FX Rates tabs are the partitioned run's --settings, --events and --fx)."""
    _, rows, events = book
    path = tmp_path / "one.xlsx"
    if not path.exists():  # one workbook per test (each test has its own tmp_path)
        workbook(path, rows, settings, events, FX, ACCOUNTS)
    api.export_journal(path, START, END, fmt, detail, tmp_path / "one.csv")
    return (tmp_path / "one.csv").read_bytes(), path


def partitioned(tmp_path, folder, whole, fmt, detail=None, **kw) -> tuple:
    """(the file, the JournalExport) of the partitioned run."""
    out = tmp_path / f"parts-{fmt}.csv"
    result = file_journal(folder, START, END, fmt, detail, out, settings=whole, events=whole, fx=whole, **kw)
    return out.read_bytes(), result


@pytest.mark.parametrize("detail", ["period", "contract"])
def test_every_format_equals_the_workbook_journal_byte_for_byte_in_process_and_on_dask(cluster, book, tmp_path,
                                                                                      detail):
    folder = book[0]
    for fmt in FORMATS:
        expected, whole = reference(tmp_path, book, SETTINGS, fmt, detail)
        assert partitioned(tmp_path, folder, whole, fmt, detail)[0] == expected, fmt
        # on Dask: csv has every field of every journal line (the other layouts are functions of them), xero
        # the entry numbers in its narration
        if fmt in ("csv", "xero"):
            got, result = partitioned(tmp_path, folder, whole, fmt, detail, engine="dask", scheduler=cluster,
                                      partitions=5)
            assert got == expected, fmt
    expected, _ = reference(tmp_path, book, SETTINGS, "csv", detail)
    rows = list(csv.reader(io.StringIO(expected.decode())))  # a real journal, not two empty files
    codes = {r[3] for r in rows[1:]}
    assert {"1200", "1250", "2400", "4000", "4100", "4200", "7100"} <= codes  # FX gain/loss: IFRIC 22 on EUR
    debits, credits = (sum(float(r[k] or 0) for r in rows[1:]) for k in (5, 6))
    assert debits == pytest.approx(credits) and debits > 1_000_000
    if detail == "contract":
        assert len({r[0] for r in rows[1:]}) > 500  # entries of contracts from every partition, numbered
    # a product mapping no partition's lines have warns once (Support, in some partitions only, does not)
    mapped = [str(p) for p in result.problems if "is not in the Contracts" in p.message]
    assert mapped == ["Accounts!A2: Product 'Widgets' is not in the Contracts: its mapping is not used"]


@pytest.mark.parametrize("mode,period,detail", [("billing system to deferred revenue", "month", "contract"),
                                                ("billing system to revenue", "quarter", "period")])
def test_invoices_posted_by_and_quarters_match_too(cluster, book, tmp_path, mode, period, detail):
    settings = dict(SETTINGS, **{"Invoices posted by": mode, "Period": period, "FX method": "booking rate"})
    expected, whole = reference(tmp_path, book, settings, "csv", detail)
    assert partitioned(tmp_path, book[0], whole, "csv", detail, engine="dask", scheduler=cluster,
                       partitions=3)[0] == expected
    assert (b"2026-Q4" if period == "quarter" else b"2026-12,") in expected


def test_the_events_were_applied_once_each(book, tmp_path):
    expected, whole = reference(tmp_path, book, SETTINGS, "csv")
    without = tmp_path / "none.csv"
    file_journal(book[0], START, END, "csv", None, without, settings=whole, fx=whole)
    assert without.read_bytes() != expected  # the 30 invoices moved AR, deferred revenue and the contract asset


def test_hand_computed_entries_across_two_files_are_in_the_books_order(cluster, tmp_path):
    # Ratable revenue (ASC 606-10-55-18), billed upfront in advance. 2025-01: Beta's 3,600.00 over 3 months:
    # Dr AR 3,600.00 / Cr Deferred 2,400.00, Cr Revenue 1,200.00; Acme's 2 x 6,000.00 over 12 months: Dr AR
    # 12,000.00 / Cr Deferred 11,000.00, Cr Revenue 1,000.00. Beta's line is first in the book (a.parquet row 2),
    # so its entry is JE-2025-01-0001 whichever partition each customer lands in.
    header = ["Contract ID", "Customer", "Line ID", "Start Date", "End Date", "Amount", "Recognition", "Billing"]
    a = [["B1", "Beta", "1", dt.datetime(2025, 1, 1), dt.datetime(2025, 3, 31), 3600.0, "monthly", "upfront"],
         ["A1", "Acme", "1", dt.datetime(2025, 1, 1), dt.datetime(2025, 12, 31), 6000.0, "monthly", "upfront"]]
    b = [["A1", "Acme", "2", dt.datetime(2025, 1, 1), dt.datetime(2025, 12, 31), 6000.0, "monthly", "upfront"]]
    folder = tmp_path / "two"
    folder.mkdir()
    pd.DataFrame(a, columns=header).to_parquet(folder / "a.parquet")
    pd.DataFrame(b, columns=header).to_parquet(folder / "b.parquet")
    settings = workbook(tmp_path / "s.xlsx", [header], {"As-of date": dt.datetime(2025, 12, 31)})
    out = tmp_path / "je.csv"
    for engine in ("local", "dask"):
        result = file_journal(folder, "2025-01", "2025-01", "csv", "contract", out, settings=settings, engine=engine,
                              scheduler=cluster, partitions=4)
        got = [(r[0], r[3], r[5], r[6], r[9]) for r in csv.reader(io.StringIO(out.read_text()))][1:]
        assert got == [("JE-2025-01-0001", "1200", "3600.00", "", "B1"), ("JE-2025-01-0001", "2400", "", "2400.00", "B1"),
                       ("JE-2025-01-0001", "4000", "", "1200.00", "B1"),
                       ("JE-2025-01-0002", "1200", "12000.00", "", "A1"), ("JE-2025-01-0002", "2400", "", "11000.00", "A1"),
                       ("JE-2025-01-0002", "4000", "", "1000.00", "A1")], engine
        assert (result.entries, result.lines, result.debits) == (2, 6, 1560000)
    file_journal(folder, "2025-01", "2025-01", "csv", "period", out, settings=settings, engine="dask",
                 scheduler=cluster, partitions=4)
    assert [(r[0], r[3], r[5], r[6]) for r in csv.reader(io.StringIO(out.read_text()))][1:] == [
        ("JE-2025-01", "1200", "15600.00", ""), ("JE-2025-01", "2400", "", "13400.00"),
        ("JE-2025-01", "4000", "", "2200.00")]


def test_errors_name_their_file_and_row_and_nothing_is_written(cluster, tmp_path):
    header = ["Contract ID", "Customer", "Start Date", "End Date", "Amount", "Currency"]
    good = [["A1", "Acme", dt.datetime(2025, 1, 1), dt.datetime(2025, 12, 31), 12000.0, "EUR"]]
    bad = [["B1", "Beta", dt.datetime(2025, 1, 1), dt.datetime(2025, 3, 31), "3600.00", None],
           ["B2", "Beta", dt.datetime(2025, 1, 1), dt.datetime(2025, 3, 31), "lots", None]]
    folder = tmp_path / "bad"
    folder.mkdir()
    pd.DataFrame(good, columns=header).to_parquet(folder / "a.parquet")
    pd.DataFrame(bad, columns=header).to_parquet(folder / "b.parquet")
    fx = write_csv(tmp_path / "fx.csv", [["Currency", "Month", "Rate"], ["EUR", "2024-12", 1.1],
                                         ["EUR", "2025-01", "lots"]])
    events = write_csv(tmp_path / "events.csv", [["Contract ID", "Date", "Event", "Amount"],
                                                 ["A1", "2025-01-01", "invoice", 10], ["NOPE", "2025-02-01", "invoice", 5]])
    out = tmp_path / "out.csv"
    out.write_text("before")
    for engine in ("local", "dask"):
        with pytest.raises(BBBError) as exc:
            file_journal(folder, "2025-01", "2025-03", "csv", None, out, events=events, fx=fx, engine=engine,
                         scheduler=cluster)
        where = {(p.sheet, p.row, p.column) for p in exc.value.problems if p.is_error}
        assert ("b.parquet", 3, "Amount") in where  # row 1 is the header
        assert ("events.csv", 3, "Contract ID") in where or ("events.csv", 3, None) in where, where
        assert any(s == "fx.csv" and r == 3 for s, r, _ in where), where
        assert "never leaves contracts out" in exc.value.problems[-1].message
        assert out.read_text() == "before"


def test_skip_bad_writes_the_good_contracts_and_exits_3(tmp_path):
    header = ["Contract ID", "Customer", "Start Date", "End Date", "Amount"]
    folder = tmp_path / "p"
    folder.mkdir()
    pd.DataFrame([["A1", "Acme", dt.datetime(2025, 1, 1), dt.datetime(2025, 12, 31), "12000.00"],
                  ["B1", "Beta", dt.datetime(2025, 1, 1), dt.datetime(2025, 3, 31), "lots"]],
                 columns=header).to_parquet(folder / "a.parquet")
    out = tmp_path / "out.csv"
    args = ["journal", str(folder), "--from", "2025-01", "--to", "2025-01", "--out", str(out)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1 and "a.parquet row 3" in result.output and not out.exists()
    result = CliRunner().invoke(cli, args + ["--skip-bad"])
    assert result.exit_code == 3, result.output
    assert "1 contract(s) with input errors left out" in result.output
    # Acme alone, billed upfront by default: Dr AR 12,000.00 / Cr Deferred 11,000.00, Cr Revenue 1,000.00
    assert [(r[3], r[5], r[6]) for r in csv.reader(io.StringIO(out.read_text()))][1:] == [
        ("1200", "12000.00", ""), ("2400", "", "11000.00"), ("4000", "", "1000.00")]


def test_the_command_line_on_a_folder_on_dask_equals_the_workbook_command(cluster, book, tmp_path):
    expected, whole = reference(tmp_path, book, SETTINGS, "xero", "contract")
    out = tmp_path / "cli.csv"
    result = CliRunner().invoke(cli, ["journal", str(book[0]), "--from", START, "--to", END, "--format", "xero",
                                      "--detail", "contract", "--out", str(out), "--settings", str(whole),
                                      "--events", str(whole), "--fx", str(whole), "--engine", "dask",
                                      "--scheduler", cluster])
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == expected
    one = CliRunner().invoke(cli, ["journal", str(whole), "--from", START, "--to", END, "--format", "xero",
                                   "--detail", "contract", "--out", str(tmp_path / "one.csv")])
    assert one.output.splitlines()[-1].replace(str(tmp_path / "one.csv"), "X") == \
        result.output.splitlines()[-1].replace(str(out), "X")  # entries, lines, debits = credits
    # the workbook itself on Dask reads its own Settings, Accounts, Events and FX Rates tabs
    on_dask = tmp_path / "wb-dask.csv"
    result = CliRunner().invoke(cli, ["journal", str(whole), "--from", START, "--to", END, "--format", "xero",
                                      "--detail", "contract", "--out", str(on_dask), "--engine", "dask",
                                      "--scheduler", cluster])
    assert result.exit_code == 0, result.output
    assert on_dask.read_bytes() == expected


def test_options_that_do_not_apply_are_refused_not_ignored(book, tmp_path):
    _, whole = reference(tmp_path, book, SETTINGS, "csv")
    out = tmp_path / "x.csv"
    result = CliRunner().invoke(cli, ["journal", str(whole), "--from", START, "--to", END, "--out", str(out),
                                      "--events", str(whole)])
    assert result.exit_code == 1 and "--events: for Parquet / CSV input only" in result.output
    bad = workbook(tmp_path / "bad.xlsx", [["Contract ID"]], dict(SETTINGS, **{"Journal detail": "per line"}))
    result = CliRunner().invoke(cli, ["journal", str(book[0]), "--from", START, "--to", END, "--out", str(out),
                                      "--settings", str(bad)])
    assert result.exit_code == 1 and "Journal detail" in result.output and not out.exists()
    no_settings = tmp_path / "plain.xlsx"
    openpyxl.Workbook().save(no_settings)
    result = CliRunner().invoke(cli, ["journal", str(book[0]), "--from", START, "--to", END, "--out", str(out),
                                      "--settings", str(no_settings)])
    assert result.exit_code == 1 and "no sheet 'Settings'" in result.output and not out.exists()


def test_a_single_csv_or_parquet_file_is_a_book_too(tmp_path):
    # Acme 12,000.00 over 2025, billed upfront (the default) on 2025-01-01: in 2025-02 only the release of
    # deferred revenue, Dr Deferred Revenue 1,000.00 / Cr Revenue 1,000.00 (ASC 606-10-45-2)
    header = ["Contract ID", "Customer", "Start Date", "End Date", "Amount"]
    rows = [header, ["A1", "Acme", "2025-01-01", "2025-12-31", 12000]]
    files = [write_csv(tmp_path / "lines.csv", rows), tmp_path / "lines.parquet"]
    pd.DataFrame(rows[1:], columns=header).to_parquet(files[1])
    for path in files:
        out = tmp_path / f"{path.suffix[1:]}.csv"
        result = CliRunner().invoke(cli, ["journal", str(path), "--from", "2025-02", "--to", "2025-02", "--out",
                                          str(out)])
        assert result.exit_code == 0, result.output
        assert [(r[0], r[3], r[5], r[6]) for r in csv.reader(io.StringIO(out.read_text()))][1:] == [
            ("JE-2025-02", "2400", "1000.00", ""), ("JE-2025-02", "4000", "", "1000.00")]


# --- the identity behind it: any split of any book into files and customer partitions ---------------------------

from hypothesis import given, settings as hsettings, strategies as st  # noqa: E402

from bbb_xl.engine.journal import MODES  # noqa: E402
from test_properties_events import books, make_events, make_rows  # noqa: E402


@hsettings(max_examples=25, deadline=None)
@given(books, st.lists(st.integers(0, 2), min_size=10, max_size=10), st.lists(st.integers(0, 2), min_size=4,
                                                                                max_size=4),
       st.sampled_from(["period", "contract"]), st.sampled_from(MODES), st.sampled_from(["month", "quarter"]))
def test_partitions_combine_to_the_engine_journal_for_random_books_and_splits(book_spec, file_of, part_of, detail,
                                                                            mode, period):
    """For any book with events (allocation, progress, invoices), its lines spread over 3 files and its customers
    over 3 partitions: the partitions' journals combined are the engine's journal of the whole book, line for line
    (every field: entry number, account, debit, credit, memo, contract, customer)."""
    from bbb_xl.core.periods import period_grid, schedule_window
    from bbb_xl.engine.book import Book
    from bbb_xl.engine.journal import Accounts, journal_lines
    from bbb_xl.engine.table import parse_contracts
    from bbb_xl.scale.journal import combine_journal, partial_journal
    from bbb_xl.scale.partitioned import FILE_COL, ROW_COL, _text_key, split_events
    from bbb_xl.settings import parse_settings
    specs, allocated, raw_events = book_spec
    rows = make_rows(specs, allocated)
    events = make_events(rows, raw_events)
    header, body = rows[0], rows[1:]
    order = sorted(range(len(body)), key=lambda i: (file_of[i], i))  # the book: files by name, then their rows
    row_in_file = {i: 2 + sum(1 for k in order[:n] if file_of[k] == file_of[i]) for n, i in enumerate(order)}
    settings, _ = parse_settings([["As-of date", "2026-12-31"], ["Journal detail", detail],
                                  ["Invoices posted by", mode], ["Period", period]])
    first, last = schedule_window("2023-10", "2030-06", settings.calendar)
    whole = Book(parse_contracts([header] + [body[i] for i in order], options=settings.parse_options),
                 settings.calendar, events=events if len(events) > 1 else None, reporting_currency="USD",
                 as_of=settings.as_of)
    expected, _ = journal_lines(whole, first, last, period, detail, mode, Accounts(), "USD")
    ev = (events[0], events[1:], [("events.csv", 2 + k) for k in range(len(events) - 1)])
    spec = dict(settings=settings, accounts=Accounts(), first=first, last=last, skip_bad=True,
                file_index={f"f{k}.parquet": k for k in range(3)}, files=[f"f{k}.parquet" for k in range(3)],
                labels=[p.label for p in period_grid(first, last, period, settings.calendar)])
    part_of_contract = {_text_key(r[0]): part_of[int(r[1][4:]) - 1] for r in body}  # Cust1..Cust4
    ev_parts = [part_of_contract.get(_text_key(r[0]), 0) for r in events[1:]]  # no contract: partition 0
    partials = []
    for p, ev_p in enumerate(split_events(ev, ev_parts, 3)):
        mine = [i for i in order if part_of[int(body[i][1][4:]) - 1] == p]
        frame = pd.DataFrame({**{h: pd.Series([body[i][j] for i in mine], dtype=object) for j, h in enumerate(header)},
                              FILE_COL: pd.Series([file_of[i] for i in mine], dtype="int32"),
                              ROW_COL: pd.Series([row_in_file[i] for i in mine], dtype="int64")})
        partials.append(partial_journal(frame, header, ev_p, None, spec))
    lines, _, _, excluded = combine_journal(partials, spec)
    assert lines == expected
    assert sorted(excluded) == sorted(whole.parsed.excluded_contracts)


def test_a_folders_price_tiers_file_prices_usage_in_the_journal(cluster, tmp_path):
    """Usage billed monthly in arrears (ASC 606-10-55-18): 12,000 calls on 2026-01-15 at U1's graduated tiers,
    10,000 x 0.10 + 2,000 x 0.08 = 1,160.00, invoiced 2026-01-31: Dr AR 1,160.00 / Cr Revenue 1,160.00 (the
    `Price Tiers.csv` beside the partitions is the tiers range, not a partition of contract lines)."""
    header = ["Contract ID", "Customer", "Line ID", "Product", "Start Date", "End Date", "Amount", "Recognition",
              "Billing", "Billing Timing", "Unit Price"]
    folder = tmp_path / "usage"
    folder.mkdir()
    pd.DataFrame([["U1", "Acme", "u", "API", "2026-01-01", "2026-12-31", 0.0, "usage", "monthly", "arrears", None]],
                 columns=header).to_parquet(folder / "a.parquet")
    write_csv(folder / "Price Tiers.csv", [["Contract ID", "Product", "From Quantity", "Unit Price", "Mode"],
                                           ["U1", None, 0, 0.10, "graduated"], ["U1", None, 10001, 0.08, "graduated"]])
    events = write_csv(tmp_path / "events.csv", [["Contract ID", "Line ID", "Date", "Event", "Quantity"],
                                                 ["U1", "u", "2026-01-15", "usage", 12000]])
    settings = workbook(tmp_path / "s.xlsx", [header], {"As-of date": dt.datetime(2026, 12, 31)})
    out = tmp_path / "je.csv"
    for engine in ("local", "dask"):
        file_journal(folder, "2026-01", "2026-01", "csv", "period", out, settings=settings, events=events,
                     engine=engine, scheduler=cluster, partitions=3)
        assert [(r[0], r[3], r[5], r[6]) for r in csv.reader(io.StringIO(out.read_text()))][1:] == [
            ("JE-2026-01", "1200", "1160.00", ""), ("JE-2026-01", "4000", "", "1160.00")], engine
