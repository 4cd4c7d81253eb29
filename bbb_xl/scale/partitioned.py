"""The schedule of a book held as Parquet / CSV partitions, computed per partition of whole customers.

Why whole customers: netting is per contract and every contract has one customer, so a partition that holds
every line of its customers' contracts computes exactly what the single-machine engine computes for them;
per-customer figures (ARR rounded per customer, customer counts) then add up across partitions to the cent.

The steps (engine="dask": each a Dask task; engine="local": the same in this process):
1. each source file is read as it is (a Parquet file, or a CSV read as `bbb-xl schedule` reads one); every line
   keeps its file and row, so a problem names them;
2. each contract gets a shuffle key: the hash of its customer, which the shuffle takes modulo n (a contract
   whose lines name different customers takes the smallest of their hashes and goes, whole, to one partition,
   where the engine reports it as it does today);
3. the lines are shuffled to their partitions; events go to their contract's partition (an event of an unknown
   contract to partition 0, where the engine reports it); the FX range goes to every partition;
4. the existing engine computes each partition's schedule in integer cents; the partials are summed (exact);
5. "a filter value no line has" is decided on the values of all partitions, after the sum.
"""
from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import numpy as np

from ..core.errors import BBBError, Problem
from ..core.money import cents_to_decimal
from ..engine.table import key_of, normalize_header

SOURCE_SUFFIXES = (".parquet", ".pq", ".csv")
FILE_COL, ROW_COL, PART_COL = "_bbb_file", "_bbb_row", "_bbb_part"
CUSTOMER, CONTRACT = normalize_header("Customer"), normalize_header("Contract ID")


# --- sources ------------------------------------------------------------------------------------------------------

def source_files(path) -> list[Path]:
    """A Parquet or CSV file, or the Parquet / CSV files of a directory (sorted by name)."""
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in SOURCE_SUFFIXES)
        if not files:
            raise BBBError(f"{path}: no .parquet or .csv file in this folder")
        return files
    if not path.is_file():
        raise BBBError(f"{path}: no such file or folder")
    return [path]


def is_partitioned(path) -> bool:
    """A folder or a Parquet file: the inputs only this package reads."""
    path = Path(path)
    return path.is_dir() or path.suffix.lower() in (".parquet", ".pq")


def read_sources(path, index: int | None = None) -> tuple[list, list, list]:
    """(header, rows, [(file name, row number)] per row) of one source file; row numbers as a spreadsheet shows
    them (the header is row 1 of a Parquet file; a CSV's own rows, report-title rows counted)."""
    path = Path(path)
    if path.suffix.lower() in (".parquet", ".pq"):
        try:
            import pyarrow.parquet as pq
        except ImportError:  # pragma: no cover - the extra is missing
            raise BBBError("reading Parquet needs pyarrow: pip install bbb_xl[scale]") from None
        try:
            frame = pq.read_table(path).to_pandas()
        except Exception as exc:  # a damaged or foreign file: say which
            raise BBBError(f"{path.name}: not a readable Parquet file ({exc})") from None
        header = [str(c) for c in frame.columns]
        columns = [_python_cells(frame[c]) for c in frame.columns]
        rows = [list(r) for r in zip(*columns)] if columns else []
        first = 2
    else:
        from ..files import read_table_file
        table = read_table_file(path)
        header, rows = list(table.rows[0]) if table.rows else [], [list(r) for r in table.rows[1:]]
        first = table.origin[0] + 1
    return header, rows, [(path.name, first + i) for i in range(len(rows))]


def _python_cells(series) -> list:
    """Cells as Excel hands them: datetime, float, int, str, bool, None (never NaN / NaT / numpy scalars)."""
    import pandas as pd
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        values = series.dt.tz_localize(None) if getattr(series.dt, "tz", None) is not None else series
        return [None if v is pd.NaT else v for v in values.dt.to_pydatetime().tolist()]
    out = series.astype(object).tolist()
    return [None if v is None or (isinstance(v, float) and v != v) or v is pd.NaT else
            (v.to_pydatetime() if isinstance(v, pd.Timestamp) else v) for v in out]


def _frame(path, header: list):
    """One source file as a pandas frame of object columns (header's order) plus its file and row."""
    import pandas as pd
    own, rows, where = read_sources(path)
    positions = {normalize_header(h): j for j, h in enumerate(own)}
    missing = [h for h in header if normalize_header(h) not in positions]
    if missing or len(own) != len(header):
        raise BBBError(f"{Path(path).name}: its columns ({', '.join(map(str, own))}) are not the first "
                       f"partition's ({', '.join(map(str, header))})")
    take = [positions[normalize_header(h)] for h in header]
    data = {h: pd.Series([r[j] if j < len(r) else None for r in rows], dtype=object) for h, j in zip(header, take)}
    data[FILE_COL] = pd.Series([w[0] for w in where], dtype=object)
    data[ROW_COL] = pd.Series([w[1] for w in where], dtype=np.int64)
    return pd.DataFrame(data)


def _column(header: list, norm: str):
    return next((h for h in header if normalize_header(h) == norm), None)


def _text_key(value) -> str:
    return "" if value is None else key_of(str(value).strip())


def customer_parts(frame, header: list) -> np.ndarray:
    """Each line's shuffle key from its customer: a stable 64-bit hash (the same in every process); the shuffle
    sends equal keys to one partition and, the keys being many, spreads customers evenly."""
    import pandas as pd
    col = _column(header, CUSTOMER)
    if col is None:
        return np.zeros(len(frame), dtype=np.int64)
    keys = pd.Series([_text_key(v) for v in frame[col]], dtype=object)
    return pd.util.hash_pandas_object(keys, index=False).to_numpy().view(np.int64)


def contract_keys(frame, header: list) -> list:
    col = _column(header, CONTRACT)
    return [""] * len(frame) if col is None else [_text_key(v) for v in frame[col]]


# --- one partition ------------------------------------------------------------------------------------------------

def partial_schedule(frame, header: list, events, fx, spec: dict) -> dict:
    """The engine on one partition: {"figures": (header, [(label, [cents...])...]), "values": {filter column:
    distinct texts}, "problems": [...]} or {"problems": [...errors]} (located on the source file and row)."""
    from .. import api
    from ..engine import filters
    from ..engine.book import load_book
    if frame is None or len(frame) == 0:
        if events is None or spec.get("known") is None:
            return {"empty": True, "problems": []}
        frame = _empty_frame(header)  # still the partition that reports events of unknown contracts
    rows, where, event_rows, event_where = partition_inputs(frame, header, events, spec)
    if event_rows is not None and spec.get("as_of_day") is not None:
        event_rows = api.events_until(event_rows, spec["as_of_day"])
    book = load_book(rows, events=event_rows if event_rows and len(event_rows) > 1 else None, fx=fx,
                     options=spec.get("options"), as_of=spec.get("as_of_day"),
                     reporting_currency=spec.get("reporting_currency"))
    problems = [_located(p, where, event_where) for p in book.problems]
    if book.errors:
        return {"problems": problems}
    if not len(book.lines):
        return {"empty": True, "problems": problems}
    text = spec.get("filter")
    values = {}
    if text:
        for clause in filters.parse(text):
            col = book._filter_column(clause.column)
            values[clause.column] = list(col.shown)
            for value in clause.values:  # misses are decided over all partitions, not here
                col.typos.setdefault(value, None)
        sel = filters.select(text, len(book.lines), book._filter_column, strict=False).indices
    else:
        sel = np.arange(len(book.lines))
    rows = api.SCHEDULE_METRICS[spec["metric"]](book, spec["first"], spec["last"], spec["kind"],
                                               spec.get("group_by"), sel)
    figures = (rows[0], [(r[0], [_cents(v) for v in r[1:]]) for r in rows[1:]])
    return {"figures": figures, "values": values, "problems": problems}


def partition_inputs(frame, header: list, events, spec: dict) -> tuple:
    """(contract rows with the header first, [(file, row)] per line, event rows (None: no events), [(file, row)]
    per event) of one partition, its lines in file and row order; its events: those of its contracts, and, for
    the partition given spec["known"] (the book's contracts), those of no contract (the engine reports them)."""
    frame = frame.sort_values([FILE_COL, ROW_COL], kind="stable")
    rows = [list(header)] + [[None if isinstance(v, float) and v != v else v for v in r]
                             for r in frame[header].itertuples(index=False, name=None)]
    where = list(zip(frame[FILE_COL].tolist(), frame[ROW_COL].tolist()))
    event_rows, event_where = None, []
    if events is not None:
        ev_header, ev_rows, ev_where, ev_keys = events
        mine = set(contract_keys(frame, header))
        known = spec.get("known")  # the book's contracts, given to partition 0 only: it takes the unknown ones
        own = range(len(ev_keys)) if spec.get("all_events") else \
            [i for i, k in enumerate(ev_keys) if k in mine or (known is not None and k not in known)]
        event_rows = [list(ev_header)] + [ev_rows[i] for i in own]
        event_where = [ev_where[i] for i in own]
    return rows, where, event_rows, event_where


def _empty_frame(header: list):
    import pandas as pd
    return pd.DataFrame({**{h: pd.Series(dtype=object) for h in header}, FILE_COL: pd.Series(dtype=object),
                         ROW_COL: pd.Series(dtype=np.int64)})


def _cents(value) -> int:
    cents = Decimal(value) * 100
    if cents != cents.to_integral_value():  # never: the engine's figures are whole cents
        raise ValueError(f"{value} is not a whole number of cents")
    return int(cents)


def _located(p: Problem, where: list, event_where: list) -> Problem:
    """A partition's problem at its source file and row (row 1 of a partition's range is its header)."""
    table = where if p.table is None else event_where if p.table == "events" else None
    if table is None or p.row is None or not 2 <= p.row <= len(table) + 1:
        return p
    name, row = table[p.row - 2]
    return replace(p, row=row, sheet=name, cell=None)


# --- the whole book -----------------------------------------------------------------------------------------------

def combine(partials: list, spec: dict) -> list[list]:
    """The partials summed (integer cents) into the schedule's rows (header, groups, Rounding, Total), after
    refusing a filter value that no partition has."""
    from ..engine import filters
    from ..engine.table import key_of as _key
    errors = [p for part in partials for p in part["problems"] if p.is_error]
    if errors:
        raise BBBError(_unique(sorted(errors, key=lambda p: (p.table or "", p.sheet or "", p.row or 0))))
    done = [part for part in partials if "figures" in part]
    if spec.get("filter"):
        seen: dict[str, dict] = {}
        for part in done:
            for column, shown in part["values"].items():
                for v in shown:
                    seen.setdefault(column, {}).setdefault(_key(v), v)
        if done:
            n = max((len(v) for v in seen.values()), default=0)

            def column(name):
                shown = list(seen.get(name, {}).values())
                return filters.column_keys(name, np.array(shown + [""] * (n - len(shown)), dtype=object))
            filters.select(spec["filter"], n, column, strict=True)  # raises as the single-machine path does
    if not done:
        raise BBBError("no contract line in the book")
    header = done[0]["figures"][0]
    totals: dict[str, list] = {}
    shown: dict[str, str] = {}
    for part in done:
        for label, cents in part["figures"][1]:
            k = "\0total" if label == "Total" else "\0rounding" if label == "Rounding" else \
                "" if label == "(blank)" else _key(str(label))
            shown.setdefault(k, label)
            acc = totals.setdefault(k, [0] * len(cents))
            totals[k] = [a + c for a, c in zip(acc, cents)]
    groups = sorted((k for k in totals if not k.startswith("\0")), key=lambda k: (k == "", k))
    order = groups + (["\0rounding"] if any(totals.get("\0rounding", [])) else []) + ["\0total"]
    return [header] + [[shown[k]] + [cents_to_decimal(c) for c in totals[k]] for k in order if k in totals]


def _unique(problems: list) -> list:
    seen, out = set(), []
    for p in problems:
        if str(p) not in seen:
            seen.add(str(p))
            out.append(p)
    return out


def file_schedule(path, metric: str, start, end, period=None, group_by=None, filter=None, *, events=None,
                  fx=None, as_of=None, engine: str = "local", workers: int | None = None, scheduler=None,
                  partitions: int | None = None, decimal_comma: bool | None = None, date_order: str | None = None,
                  sheet=None, skip_bad: bool = False, recomputed: bool = False):
    """`bbb-xl schedule` of a Parquet / CSV file or a folder of them: the same figures as the single-machine
    engine. engine "local": in this process; "dask": on a Dask cluster (scheduler: the address of an existing
    one, else a LocalCluster of `workers` processes); partitions: how many customer partitions (default: 2 per
    worker, at least the number of files)."""
    from .. import api
    from ..core.options import DEFAULT, normalize_date_order
    from ..core.periods import normalize_period_kind, schedule_window
    from ..engine.book import CALENDAR
    unsupported = [o for o, v in (("--sheet", sheet), ("--skip-bad", skip_bad), ("--recomputed", recomputed)) if v]
    if unsupported:  # never silently ignored
        raise BBBError(f"{', '.join(unsupported)}: not available for Parquet / partitioned input or --engine dask")
    name = str(metric or "").strip().lower()
    if name not in api.SCHEDULE_METRICS:
        raise BBBError(f"metric '{metric}' is not one of {', '.join(api.SCHEDULE_METRICS)}")
    try:
        kind = normalize_period_kind(period)
        first, last = schedule_window(start, end, CALENDAR)
    except ValueError as exc:
        raise BBBError(str(exc)) from None
    options = DEFAULT
    if decimal_comma is not None:
        options = replace(options, decimal_comma=bool(decimal_comma))
    if date_order is not None:
        order = normalize_date_order(date_order)
        if order is None:
            raise BBBError(f"date order '{date_order}' is not ISO, MDY or DMY")
        options = replace(options, date_order=order)
    spec = dict(metric=name, first=first, last=last, kind=kind, group_by=group_by or None, filter=filter or None,
                options=options, as_of_day=None if as_of is None else api._args_day(as_of, CALENDAR))
    files = source_files(path)
    header = read_sources(files[0])[0]
    ev = _side(events, "Events")
    fx_rows = _side(fx, "FX Rates")
    fx_rows = fx_rows[0] and [fx_rows[0]] + fx_rows[1] if fx_rows else None
    engine = str(engine or "local").strip().lower()
    if engine == "local":
        import pandas as pd
        frame = pd.concat([_frame(f, header) for f in files], ignore_index=True)
        spec.update(all_events=True)
        partials = [partial_schedule(frame, header, ev and (*ev, contract_keys_of(ev, ev[0])), fx_rows, spec)]
    elif engine == "dask":
        partials = _dask_partials(files, header, ev, fx_rows, spec, workers, scheduler, partitions)
    else:
        raise BBBError(f"engine '{engine}' is not local or dask")
    rows = combine(partials, spec)
    notes = tuple(_unique(sorted((p for part in partials for p in part["problems"] if p.severity != "info"),
                                 key=lambda p: (p.table or "", p.sheet or "", p.row or 0))))
    return api.FileSchedule(rows, notes, ())


def _side(path, tab: str):
    """(header, rows, [(file, row)]) of an events / FX file (CSV, Parquet, or a workbook's tab), or None."""
    if path is None:
        return None
    if Path(path).suffix.lower() in (".parquet", ".pq", ".csv"):
        return read_sources(path)
    from ..files import read_table
    rows, sheet, origin = read_table(path, tab)
    first = (origin[0] if origin else 1) + 1
    return list(rows[0]), [list(r) for r in rows[1:]], [(f"{sheet}", first + i) for i in range(len(rows) - 1)]


def contract_keys_of(side, header) -> list:
    col = next((j for j, h in enumerate(header) if normalize_header(h) == CONTRACT), None)
    return [""] * len(side[1]) if col is None else [_text_key(r[col] if col < len(r) else None) for r in side[1]]


def _dask_partials(files, header, ev, fx_rows, spec, workers, scheduler, partitions, task=None) -> list:
    """task(frame, header, events, fx, spec) on each customer partition (default: its schedule)."""
    import pandas as pd
    try:
        import dask
        import dask.dataframe as dd
        from dask import delayed
        from distributed import Client, LocalCluster
    except ImportError:
        raise BBBError("--engine dask needs Dask: pip install bbb_xl[scale]") from None

    with dask.config.set({"dataframe.convert-string": False, "dataframe.shuffle.method": "tasks"}):
        cluster = None
        if scheduler:
            client = Client(scheduler)
        else:
            cluster = LocalCluster(n_workers=max(1, int(workers or 2)), threads_per_worker=1, processes=True,
                                   dashboard_address=":0")
            client = Client(cluster)
        try:
            n_workers = max(1, len(client.scheduler_info().get("workers", {})) or int(workers or 1))
            n = int(partitions or max(2 * n_workers, len(files)))
            meta = pd.DataFrame({**{h: pd.Series(dtype=object) for h in header},
                                 FILE_COL: pd.Series(dtype=object), ROW_COL: pd.Series(dtype=np.int64)})
            lines = dd.from_delayed([delayed(_frame)(str(f), header) for f in files], meta=meta, verify_meta=False)
            lines = lines.map_partitions(_keyed, header, meta=meta.assign(_ck=pd.Series(dtype=object),
                                                                               _cp=pd.Series(dtype=np.int64)))
            # a contract's key: its customer's (all of a contract's lines together, even when they
            # name different customers: the engine then reports it as it does on one machine)
            pairs = lines[["_ck", "_cp"]].drop_duplicates().compute()
            contract_part = pairs.groupby("_ck")["_cp"].min()
            parts_meta = meta.assign(_ck=pd.Series(dtype=object), **{PART_COL: pd.Series(dtype=np.int64)})
            lines = lines.map_partitions(_assign_part, contract_part, meta=parts_meta)
            lines = lines.shuffle(on=PART_COL, npartitions=n)
            side = None
            if ev is not None:
                side = client.scatter((*ev, contract_keys_of(ev, ev[0])), broadcast=True)
            fx_future = client.scatter(fx_rows, broadcast=True) if fx_rows else None
            known = set(contract_part.index) if ev is not None else None
            tasks = []
            for k, part in enumerate(lines.to_delayed()):
                spec_k = dict(spec, known=known if k == 0 else None)
                tasks.append(delayed(task or _partition_task)(part, header, side, fx_future, spec_k))
            return list(dask.compute(*tasks))
        finally:
            client.close()
            if cluster is not None:
                cluster.close()


def _keyed(frame, header):
    return frame.assign(_ck=contract_keys(frame, header), _cp=customer_parts(frame, header))


def _assign_part(frame, contract_part):
    part = frame["_ck"].map(contract_part)
    part = part.where(part.notna() & (frame["_ck"] != ""), frame["_cp"]).astype(np.int64)
    return frame.drop(columns=["_cp"]).assign(**{PART_COL: part})


def _partition_task(frame, header, events, fx, spec):
    return partial_schedule(frame, header, events, fx, spec)


def schedule_rows(rows, metric: str, start, end, period=None, group_by=None, filter=None):
    """The in-process schedule of rows (header first), as `bbb-xl schedule` computes it: the reference the
    partitioned path must equal (tests)."""
    from .. import api
    from ..core.periods import normalize_period_kind, schedule_window
    from ..engine.book import load_book
    book = load_book(rows)
    book.require_ok()
    first, last = schedule_window(start, end, book.calendar)
    sel = book.select(filter, strict=True)
    return api.SCHEDULE_METRICS[metric](book, first, last, normalize_period_kind(period), group_by or None, sel)
