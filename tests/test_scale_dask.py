"""bbb_xl.scale: a book held as Parquet partitions, computed per partition of whole customers on a Dask
LocalCluster the test starts, gives the single-machine engine's figures to the cent (issue 19, section 3)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

pytest.importorskip("dask.dataframe")
pytest.importorskip("distributed")
pd = pytest.importorskip("pandas")
pytest.importorskip("pyarrow")

from click.testing import CliRunner  # noqa: E402

from benchmarks.generate import generate_book  # noqa: E402
from bbb_xl import api  # noqa: E402
from bbb_xl.cli import cli  # noqa: E402
from bbb_xl.core.errors import BBBError  # noqa: E402
from bbb_xl.engine.book import load_book  # noqa: E402
from bbb_xl.scale import file_schedule, schedule_rows  # noqa: E402

FILES = 4
START, END = "2024-01", "2026-12"


@pytest.fixture(scope="module")
def cluster():
    # worker processes: the partitions cross process boundaries as they do on a real cluster (typed columns pickled)
    from distributed import LocalCluster
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as c:
        yield c.scheduler_address


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    """A seeded book of 1,200 lines written as 4 Parquet files (the lines of a customer spread over files:
    the partitions on disk are not the customer partitions), its rows, and invoice events of 40 contracts."""
    rows = generate_book(1200, months=36, seed=19)
    folder = tmp_path_factory.mktemp("parts")
    body = rows[1:]
    for k in range(FILES):
        pd.DataFrame(body[k::FILES], columns=rows[0]).to_parquet(folder / f"part{k}.parquet")
    ordered = [rows[0]] + [r for k in range(FILES) for r in body[k::FILES]]  # the files' rows in file order
    contracts = {}
    for r in ordered[1:]:
        contracts.setdefault(r[0], r[5])  # Contract ID -> its first line's Start Date
    events = [["Contract ID", "Line ID", "Date", "Event", "Amount", "Percent"]] + \
        [[cid, None, start.date().isoformat(), "invoice", 100.25, None] for cid, start in list(contracts.items())[:40]]
    ev_path = folder.parent / "events.csv"
    ev_path.write_text("\n".join(",".join("" if v is None else str(v) for v in r) for r in events) + "\n")
    return folder, ordered, events, ev_path


@pytest.mark.parametrize("metric", list(api.SCHEDULE_METRICS))
def test_every_metric_by_region_matches_the_engine_to_the_cent(cluster, book, metric):
    folder, rows, _, _ = book
    expected = schedule_rows(rows, metric, START, END, group_by="Region")
    got = file_schedule(folder, metric, START, END, group_by="Region", engine="dask", scheduler=cluster,
                        partitions=5).rows
    assert got == expected
    if metric != "refund_liability":  # 0 without adjust events: test_refund_liability_across_partitions
        assert any(v != 0 for v in got[-1][1:])  # a real schedule, not zeros on both sides


def test_quarterly_totals_and_the_in_process_path_match(cluster, book):
    folder, rows, _, _ = book
    for metric in ("revenue", "deferred", "customers"):
        expected = schedule_rows(rows, metric, START, END, period="quarter")
        assert file_schedule(folder, metric, START, END, period="quarter").rows == expected
        assert file_schedule(folder, metric, START, END, period="quarter", engine="dask",
                             scheduler=cluster).rows == expected


def test_events_go_to_their_contracts_partition(cluster, book):
    folder, rows, events, ev_path = book
    reference = load_book(rows, events=events)
    reference.require_ok()
    for metric in ("billings", "unbilled", "deferred"):
        expected = reference.schedule(metric, *_window(reference)).to_rows()
        got = file_schedule(folder, metric, START, END, events=ev_path, engine="dask", scheduler=cluster,
                            partitions=5).rows
        assert got == expected
    without = file_schedule(folder, "billings", START, END, engine="dask", scheduler=cluster).rows
    assert without != got  # the invoices changed billings: the events were applied, once each


def test_refund_liability_across_partitions(cluster, book, tmp_path):
    """Adjust events lowering single-line contracts' prices with no credit note (ASC 606-10-32-10) go to their
    contracts' partitions: the refund liability matches the engine on one machine, and is not all zeros."""
    folder, rows, _, _ = book
    lines_of: dict = {}
    for r in rows[1:]:
        lines_of.setdefault(r[0], []).append(r)
    header = ["Contract ID", "Line ID", "Date", "Event", "Amount", "Percent", "Bill"]
    adjusts = [[cid, None, ls[0][6].date().isoformat(), "adjust", -50.25, None, "no"]  # on the End Date: all billed
               for cid, ls in list(lines_of.items()) if len(ls) == 1][:30]
    events = [header] + adjusts
    ev_path = tmp_path / "adjusts.csv"
    ev_path.write_text("\n".join(",".join("" if v is None else str(v) for v in r) for r in events) + "\n")
    reference = load_book(rows, events=events)
    reference.require_ok()
    first, last = _window(reference)
    expected = api.SCHEDULE_METRICS["refund_liability"](reference, first, last, "month", None,
                                                        reference.select(None, strict=True))
    got = file_schedule(folder, "refund_liability", START, END, events=ev_path, engine="dask", scheduler=cluster,
                        partitions=5).rows
    assert got == expected
    assert any(v != 0 for v in got[-1][1:])


def _window(book):
    from bbb_xl.core.periods import schedule_window
    return schedule_window(START, END, book.calendar)


def test_a_filter_value_in_one_partition_only_still_selects(cluster, book):
    folder, rows, _, _ = book
    customer = rows[1][1]  # one customer: it lives in one customer partition
    expected = schedule_rows(rows, "revenue", START, END, filter=f"Customer={customer}")
    got = file_schedule(folder, "revenue", START, END, filter=f"Customer={customer}", engine="dask",
                        scheduler=cluster, partitions=5).rows
    assert got == expected
    assert sum(got[-1][1:]) > 0


def test_a_filter_value_no_partition_has_is_refused_as_on_one_machine(cluster, book):
    folder, rows, _, _ = book
    with pytest.raises(BBBError) as local:
        schedule_rows(rows, "revenue", START, END, filter="Region=Atlantis")
    with pytest.raises(BBBError) as dask:
        file_schedule(folder, "revenue", START, END, filter="Region=Atlantis", engine="dask", scheduler=cluster)
    assert "no line has Region 'Atlantis'" in str(dask.value)
    assert str(dask.value).split(".")[0] == str(local.value).split(".")[0]


def test_a_bad_row_names_its_file_and_row(cluster, tmp_path):
    header = ["Contract ID", "Customer", "Start Date", "End Date", "Amount"]
    good = [["A1", "Acme", dt.datetime(2025, 1, 1), dt.datetime(2025, 12, 31), 12000.0]]
    bad = [["B1", "Beta", dt.datetime(2025, 1, 1), dt.datetime(2025, 3, 31), "3600.00"],  # a text column
           ["B2", "Beta", dt.datetime(2025, 1, 1), dt.datetime(2025, 3, 31), "lots"]]
    pd.DataFrame(good, columns=header).to_parquet(tmp_path / "a.parquet")
    pd.DataFrame(bad, columns=header).to_parquet(tmp_path / "b.parquet")
    for engine in ("local", "dask"):
        with pytest.raises(BBBError) as exc:
            file_schedule(tmp_path, "revenue", "2025-01", "2025-03", engine=engine, scheduler=cluster)
        (problem,) = exc.value.problems
        assert (problem.sheet, problem.row, problem.column) == ("b.parquet", 3, "Amount")  # row 1: header
        assert problem.value == "lots"


def test_hand_computed_figures_across_two_files(cluster, tmp_path):
    # Ratable revenue (ASC 606-10-55-18, monthly): 12,000.00 over 12 months = 1,000.00 a month; 3,600.00 over
    # 3 months = 1,200.00 a month. Acme's two lines sit in different files, Beta's in one.
    header = ["Contract ID", "Customer", "Line ID", "Start Date", "End Date", "Amount", "Region"]
    a = [["A1", "Acme", "1", dt.datetime(2025, 1, 1), dt.datetime(2025, 12, 31), 6000.0, "EMEA"],
         ["B1", "Beta", "1", dt.datetime(2025, 1, 1), dt.datetime(2025, 3, 31), 3600.0, "AMER"]]
    b = [["A1", "Acme", "2", dt.datetime(2025, 1, 1), dt.datetime(2025, 12, 31), 6000.0, "EMEA"]]
    pd.DataFrame(a, columns=header).to_parquet(tmp_path / "a.parquet")
    pd.DataFrame(b, columns=header).to_parquet(tmp_path / "b.parquet")
    got = file_schedule(tmp_path, "revenue", "2025-03", "2025-04", group_by="Region", engine="dask",
                        scheduler=cluster, partitions=3).rows
    assert got == [["Region", "2025-03", "2025-04"],
                   ["AMER", Decimal("1200.00"), Decimal("0.00")],
                   ["EMEA", Decimal("1000.00"), Decimal("1000.00")],
                   ["Total", Decimal("2200.00"), Decimal("1000.00")]]


def test_the_command_line_on_a_folder(cluster, book):
    folder, rows, _, _ = book
    args = ["schedule", str(folder), "--metric", "backlog", "--from", START, "--to", END, "--format", "csv"]
    local = CliRunner().invoke(cli, args)
    dask = CliRunner().invoke(cli, args + ["--engine", "dask", "--scheduler", cluster])
    assert local.exit_code == 0, local.output
    assert dask.exit_code == 0, dask.output
    assert dask.output == local.output
    assert local.output.splitlines()[0].startswith("Total,2024-01,")


def test_options_the_partitioned_path_lacks_are_refused_not_ignored(book):
    folder, _, _, _ = book
    result = CliRunner().invoke(cli, ["schedule", str(folder), "--from", START, "--to", END, "--skip-bad"])
    assert result.exit_code == 1
    assert "--skip-bad: not available for Parquet / partitioned input or --engine dask" in result.output


def test_an_event_of_an_unknown_contract_is_reported_on_its_events_row(cluster, book, tmp_path):
    folder, rows, events, _ = book
    ev_path = tmp_path / "events.csv"
    bad = events[:3] + [["NOPE-1", None, "2024-06-01", "invoice", 10, None]]
    ev_path.write_text("\n".join(",".join("" if v is None else str(v) for v in r) for r in bad) + "\n")
    with pytest.raises(BBBError) as local:
        load_book(rows, events=bad).require_ok()
    with pytest.raises(BBBError) as dask:
        file_schedule(folder, "billings", START, END, events=ev_path, engine="dask", scheduler=cluster)
    (problem,) = [p for p in dask.value.problems if p.is_error]
    assert (problem.sheet, problem.row) == ("events.csv", 4)  # the file's 4th row: header, 2 events, this one
    assert [problem.message] == [p.message for p in local.value.problems if p.is_error]
    assert problem.message == "Contract ID NOPE-1 is not in the contracts range"


def test_a_customer_written_differently_in_two_files_stays_in_one_partition(cluster, tmp_path):
    """The engine reads Customer 1001.0 (a Parquet number column) and ' 1001 ' (text) as one customer: both go to
    one partition, so the customer count is the engine's (4: 1001, 2002, ACME, Acme; 5 if 1001 were split).
    'ACME ' and 'Acme' (a CSV), two customers for the metrics, share a partition key (case folded, as the
    one-Customer-per-contract rule compares them), which keeps either reading exact."""
    header = ["Contract ID", "Customer", "Start Date", "End Date", "Amount"]
    a = [["N1", 1001.0, "2025-01-01", "2025-12-31", 1200.0], ["N3", 2002.0, "2025-01-01", "2025-12-31", 1200.0]]
    b = [["N2", " 1001 ", "2025-01-01", "2025-12-31", 600.0], ["A2", "ACME ", "2025-01-01", "2025-12-31", 600.0]]
    c = [["A1", "Acme", "2025-01-01", "2025-12-31", 2400.0]]
    pd.DataFrame(a, columns=header).to_parquet(tmp_path / "a.parquet")
    pd.DataFrame(b, columns=header).to_parquet(tmp_path / "b.parquet")
    (tmp_path / "c.csv").write_text(",".join(header) + "\n" + ",".join(map(str, c[0])) + "\n")
    expected = schedule_rows([header] + a + b + c, "customers", "2025-01", "2025-02")
    assert expected[-1][1:] == [4, 4]
    for partitions in (3, 7, 16):
        got = file_schedule(tmp_path, "customers", "2025-01", "2025-02", engine="dask", scheduler=cluster,
                            partitions=partitions).rows
        assert got == expected


def test_a_contract_whose_lines_name_two_customers_is_reported_as_on_one_machine(cluster, tmp_path):
    """Contract C1 names Acme in one file and Beta in the other: both lines go to one partition (never one per
    customer, where each would look right), and the engine's error is raised on the second file's row."""
    header = ["Contract ID", "Customer", "Line ID", "Start Date", "End Date", "Amount"]
    pd.DataFrame([["C1", "Acme", "1", "2025-01-01", "2025-12-31", 1200.0],
                  ["D1", "Acme", "1", "2025-01-01", "2025-12-31", 1200.0]], columns=header).to_parquet(
        tmp_path / "a.parquet")
    pd.DataFrame([["C1", "Beta", "2", "2025-01-01", "2025-12-31", 1200.0],
                  ["E1", "Beta", "1", "2025-01-01", "2025-12-31", 1200.0]], columns=header).to_parquet(
        tmp_path / "b.parquet")
    for partitions in (2, 5, 11):
        with pytest.raises(BBBError) as exc:
            file_schedule(tmp_path, "revenue", "2025-01", "2025-02", engine="dask", scheduler=cluster,
                          partitions=partitions)
        (problem,) = exc.value.problems
        assert (problem.sheet, problem.row, problem.column, problem.value) == ("b.parquet", 2, "Customer", "Beta")
        assert "one Customer per Contract ID" in problem.message


def test_typed_parquet_columns_become_the_cells_excel_hands_over():
    """What the engine is given from each column type: dates (time zone dropped), text, numbers, True/False,
    and None for every kind of missing cell (NaT, NaN, pd.NA, None); never a numpy or pandas scalar."""
    from bbb_xl.scale.partitioned import _python_cells
    day = dt.datetime(2025, 3, 31)
    cases = [
        (pd.Series([day, None, day], dtype="datetime64[us]"), [day, None, day]),
        (pd.Series([day, None]).dt.tz_localize("Europe/Paris"), [day, None]),
        (pd.Series(["EMEA", None, "EMEA"], dtype="str"), ["EMEA", None, "EMEA"]),
        (pd.Series(["x", None], dtype="category"), ["x", None]),
        (pd.Series([1.5, float("nan")]), [1.5, None]),
        (pd.Series([7, None], dtype="Int64"), [7, None]),
        (pd.Series([3, 4], dtype="int64"), [3, 4]),
        (pd.Series([True, False]), [True, False]),
        (pd.Series([1, True, "x", float("nan"), None, pd.NA], dtype=object), [1, True, "x", None, None, None]),
    ]
    for series, expected in cases:
        got = _python_cells(series)
        assert got == expected
        assert [type(v) for v in got] == [type(v) for v in expected]


def test_price_tiers_in_the_folder_price_usage_lines_in_every_partition(cluster, tmp_path):
    """A folder's `Price Tiers.csv` is the Price Tiers range (not contract lines), in every partition. By hand
    (ASC 606-10-55-18, usage billed monthly in arrears is revenue when used; tiers as engine.usage): U1's own
    graduated tiers, 12,000 calls in January: 10,000 x 0.10 + 2,000 x 0.08 = 1,160.00 (its contract tiers win
    over the product's); U2, the API product's volume tiers: 12,000 x 0.08 = 960.00; U3 5,000 calls in
    February: 5,000 x 0.10 = 500.00."""
    header = ["Contract ID", "Customer", "Line ID", "Product", "Start Date", "End Date", "Amount", "Recognition",
              "Billing", "Billing Timing", "Unit Price"]

    def usage_line(cid, customer):
        return [cid, customer, "u", "API", "2026-01-01", "2026-12-31", 0.0, "usage", "monthly", "arrears", None]
    a, b = [usage_line("U1", "Acme"), usage_line("U2", "Beta")], [usage_line("U3", "Gamma")]
    pd.DataFrame(a, columns=header).to_parquet(tmp_path / "a.parquet")
    pd.DataFrame(b, columns=header).to_parquet(tmp_path / "b.parquet")
    tiers = [["Contract ID", "Product", "From Quantity", "Unit Price", "Mode"],
             ["U1", None, 0, 0.10, "graduated"], ["U1", None, 10001, 0.08, "graduated"],
             [None, "API", 1, 0.10, "volume"], [None, "API", 10001, 0.08, "volume"]]
    events = [["Contract ID", "Line ID", "Date", "Event", "Quantity"], ["U1", "u", "2026-01-15", "usage", 12000],
              ["U2", "u", "2026-01-20", "usage", 12000], ["U3", "u", "2026-02-10", "usage", 5000]]
    csv = "\n".join(",".join("" if v is None else str(v) for v in r) for r in tiers) + "\n"
    (tmp_path / "Price Tiers.csv").write_text(csv)
    ev_path = tmp_path.parent / f"{tmp_path.name}-events.csv"
    ev_path.write_text("\n".join(",".join(str(v) for v in r) for r in events) + "\n")
    reference = load_book([header] + a + b, events=events, tiers=tiers)
    reference.require_ok()
    for metric in ("revenue", "billings"):
        expected = api.SCHEDULE_METRICS[metric](reference, *_window_of("2026-01", "2026-02", reference), "month",
                                                "Customer", reference.select(None, strict=True))
        got = file_schedule(tmp_path, metric, "2026-01", "2026-02", group_by="Customer", events=ev_path,
                            engine="dask", scheduler=cluster, partitions=3).rows
        assert got == expected
    assert got == [["Customer", "2026-01", "2026-02"], ["Acme", Decimal("1160.00"), Decimal("0.00")],
                   ["Beta", Decimal("960.00"), Decimal("0.00")], ["Gamma", Decimal("0.00"), Decimal("500.00")],
                   ["Total", Decimal("2120.00"), Decimal("500.00")]]
    # a bad tier row is named on its file and row, as a contract row is
    (tmp_path / "Price Tiers.csv").write_text(csv.replace("10001,0.08,volume", "10001,-0.08,volume"))
    with pytest.raises(BBBError) as exc:
        file_schedule(tmp_path, "revenue", "2026-01", "2026-02", events=ev_path, engine="dask", scheduler=cluster)
    (problem,) = {(p.sheet, p.row, p.column) for p in exc.value.problems if p.is_error}
    assert problem == ("Price Tiers.csv", 5, "Unit Price")


def _window_of(start, end, book):
    from bbb_xl.core.periods import schedule_window
    return schedule_window(start, end, book.calendar)


def test_a_frame_saved_with_its_index_reads_as_its_columns(tmp_path):
    """pandas saves a frame's index in the Parquet file: a named one (Contract ID) is a column of the book, an
    unnamed one is not; a file saved either way reads as the same lines. By hand (ASC 606-10-55-18, monthly):
    1,200.00 over 12 months is 100.00 a month, two contracts 200.00."""
    header = ["Contract ID", "Customer", "Start Date", "End Date", "Amount"]
    lines = [["A1", "Acme", "2025-01-01", "2025-12-31", 1200.0], ["B1", "Beta", "2025-01-01", "2025-12-31", 1200.0]]
    frame = pd.DataFrame(lines, columns=header)
    frame.iloc[:1].set_index("Contract ID").to_parquet(tmp_path / "a.parquet")
    frame.iloc[1:].to_parquet(tmp_path / "b.parquet", index=True)  # a RangeIndex starting at 1: kept as a column
    got = file_schedule(tmp_path, "revenue", "2025-01", "2025-02").rows
    assert got[-1] == ["Total", Decimal("200.00"), Decimal("200.00")]


def test_a_damaged_parquet_file_is_named_in_the_error_not_a_traceback(tmp_path):
    """A file that says .parquet but is not one (a truncated download): every read names it, whichever read
    meets it first (the header from the schema, the rows, or the typed columns of the second pass)."""
    from bbb_xl.scale import partitioned
    good = pd.DataFrame([["A1", "Acme", "2025-01-01", "2025-12-31", 1200.0]],
                        columns=["Contract ID", "Customer", "Start Date", "End Date", "Amount"])
    good.to_parquet(tmp_path / "a.parquet")
    bad = tmp_path / "b.parquet"
    bad.write_bytes((tmp_path / "a.parquet").read_bytes()[:40])
    for read in (partitioned.source_header, partitioned.read_sources,
                 lambda p: partitioned._read_typed(p, list(good.columns), 1)):
        with pytest.raises(BBBError, match=r"b\.parquet: not a readable Parquet file \(Parquet magic bytes"):
            read(bad)
    with pytest.raises(BBBError, match=r"b\.parquet: not a readable Parquet file"):
        file_schedule(tmp_path, "revenue", "2025-01", "2025-02")
