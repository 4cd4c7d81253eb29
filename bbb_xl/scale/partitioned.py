"""The schedule of a book held as Parquet / CSV partitions, computed per partition of whole customers.

Why whole customers: netting is per contract and every contract has one customer, so a partition that holds
every line of its customers' contracts computes exactly what the single-machine engine computes for them;
per-customer figures (ARR rounded per customer, customer counts) then add up across partitions to the cent.

The steps (engine="dask": Dask tasks, typed columns between processes; engine="local": one partition here):
1. pass 1, per file: only its Contract ID and Customer columns are read; the distinct (contract, customer) key
   pairs (64-bit hashes of the keys the engine compares: text stripped and case folded, 1001.0 is '1001') go to
   the client, which finds the contracts whose lines name different customers (the smallest customer hash takes
   the whole contract, where the engine reports it as it does today) and each event's contract;
2. pass 2, per file: the file is read as typed columns (a Parquet file's Arrow columns, or a CSV read as
   `bbb-xl schedule` reads one), every line keeps its file and row (a problem names them), and its lines are
   split by customer hash modulo n: a partition's pieces from every file are numpy / Arrow buffers, never a
   Python object per cell;
3. each partition turns its columns into the cells Excel hands over (one Python object per distinct value),
   with its events (an event of no contract of the book: partition 0, where the engine reports it), the FX
   range and the Price Tiers range (both whole, in every partition), and the unchanged engine computes its
   schedule in integer cents; the partials are summed (exact);
4. "a filter value no line has" is decided on the values of all partitions, after the sum.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import numpy as np

from ..core.errors import BBBError, Problem
from ..core.money import cents_to_decimal
from ..engine.table import display_text, is_blank, key_of, normalize_header

SOURCE_SUFFIXES = (".parquet", ".pq", ".csv")
FILE_COL, ROW_COL = "_bbb_file", "_bbb_row"
CUSTOMER, CONTRACT = normalize_header("Customer"), normalize_header("Contract ID")


# --- sources ------------------------------------------------------------------------------------------------------

SIDE_TABS = ("Price Tiers",)  # a folder's file named like one of these tabs is that range, not contract lines


def source_files(path) -> list[Path]:
    """A Parquet or CSV file, or the Parquet / CSV files of a directory (sorted by name) but those named like a
    side tab (`Price Tiers.csv`: side_file)."""
    path = Path(path)
    if path.is_dir():
        sides = {normalize_header(t) for t in SIDE_TABS}
        files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in SOURCE_SUFFIXES
                       and normalize_header(p.stem) not in sides)
        if not files:
            raise BBBError(f"{path}: no .parquet or .csv file in this folder")
        return files
    if not path.is_file():
        raise BBBError(f"{path}: no such file or folder")
    return [path]


def side_file(path, tab: str):
    """The file of a folder named like `tab` (`Price Tiers.csv`, `price_tiers.parquet`), or None."""
    path = Path(path)
    if not path.is_dir():
        return None
    found = [p for p in sorted(path.iterdir()) if p.is_file() and p.suffix.lower() in SOURCE_SUFFIXES
             and normalize_header(p.stem) == normalize_header(tab)]
    if len(found) > 1:
        raise BBBError(f"{path}: {len(found)} files are the {tab} range ({', '.join(p.name for p in found)}): "
                       f"keep one")
    return found[0] if found else None


def is_partitioned(path) -> bool:
    """A folder or a Parquet file: the inputs only this package reads."""
    path = Path(path)
    return path.is_dir() or path.suffix.lower() in (".parquet", ".pq")


def read_sources(path, index: int | None = None) -> tuple[list, list, list]:
    """(header, rows, [(file name, row number)] per row) of one source file; row numbers as a spreadsheet shows
    them (the header is row 1 of a Parquet file; a CSV's own rows, report-title rows counted)."""
    path = Path(path)
    if path.suffix.lower() in (".parquet", ".pq"):
        with _parquet_errors(path):
            import pyarrow.parquet as pq
            header = _parquet_names(path)
            frame = pq.read_table(path, columns=header).to_pandas(ignore_metadata=True)
        columns = [_python_cells(frame[c]) for c in frame.columns]
        rows = [list(r) for r in zip(*columns)] if columns else []
        first = 2
    else:
        from ..files import read_table_file
        table = read_table_file(path)
        header, rows = list(table.rows[0]) if table.rows else [], [list(r) for r in table.rows[1:]]
        first = table.origin[0] + 1
    return header, rows, [(path.name, first + i) for i in range(len(rows))]


@contextmanager
def _parquet_errors(path):
    """A Parquet read whose failure is said as a BBBError naming the file: pyarrow missing (the extra), a damaged
    or foreign file."""
    try:
        yield
    except BBBError:
        raise
    except ImportError:  # pragma: no cover - the extra is missing
        raise BBBError("reading Parquet needs pyarrow: pip install bbb_xl[scale]") from None
    except Exception as exc:  # noqa: BLE001 - whatever pyarrow raises on a file it cannot read
        raise BBBError(f"{Path(path).name}: not a readable Parquet file ({exc})") from None


def _parquet_names(path) -> list:
    """A Parquet file's columns (a pandas index saved with the frame is a column too; its unnamed one is not)."""
    import pyarrow.parquet as pq
    return [str(c) for c in pq.read_schema(path).names if not str(c).startswith("__index_level_")]


def source_header(path) -> list:
    """The header of a source file; a Parquet file's from its schema, no line read."""
    if Path(path).suffix.lower() in (".parquet", ".pq"):
        with _parquet_errors(path):
            return _parquet_names(path)
    return read_sources(path)[0]


def _python_cells(series) -> list:
    """Cells as Excel hands them: datetime, float, int, str, bool, None (never NaN / NaT / pd.NA / numpy
    scalars). Typed columns (text, dates) are converted once per distinct value, so equal cells share one
    object: C speed, and a partition of a million lines does not hold a million copies of 'EMEA'."""
    import pandas as pd
    dtype = series.dtype
    if pd.api.types.is_datetime64_any_dtype(dtype):
        if getattr(series.dt, "tz", None) is not None:
            series = series.dt.tz_localize(None)
        codes, uniques = pd.factorize(series)
        return _take(codes, list(uniques.to_pydatetime()))
    if isinstance(dtype, pd.StringDtype) or isinstance(dtype, pd.CategoricalDtype):
        codes, uniques = pd.factorize(series)
        return _take(codes, np.asarray(uniques, dtype=object).tolist())
    if dtype == np.float64:
        values = series.to_numpy()
        cells = values.astype(object)
        cells[np.isnan(values)] = None
        return cells.tolist()
    if dtype in (np.int64, np.int32, np.bool_):
        return series.to_numpy().tolist()
    return [None if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and v != v) else
            (v.to_pydatetime() if isinstance(v, pd.Timestamp) else v.item() if isinstance(v, np.generic) else v)
            for v in series.astype(object).tolist()]


def _take(codes: np.ndarray, values: list) -> list:
    """values[code] per cell, None for code -1 (a missing cell)."""
    table = np.empty(len(values) + 1, dtype=object)
    table[:-1] = values
    table[-1] = None
    return table[codes].tolist()


def _read_typed(path, header: list, file_index: int, columns: list | None = None):
    """One source file as a pandas frame in header's column order (Parquet: its typed columns, never a Python
    object per cell; CSV: read as `bbb-xl schedule` reads one), plus its file index and row; columns: only
    these of the header (the others are not read)."""
    import pandas as pd
    path = Path(path)
    wanted = header if columns is None else [h for h in header if h in columns]
    if path.suffix.lower() in (".parquet", ".pq"):
        with _parquet_errors(path):
            import pyarrow.parquet as pq
            own = _parquet_names(path)
            positions = _positions(path, own, header)
            table = pq.read_table(path, columns=[own[positions[normalize_header(h)]] for h in wanted])
            frame = table.to_pandas(ignore_metadata=True)
        frame.columns = wanted
        first = 2
    else:
        own, rows, where = read_sources(path)
        positions = _positions(path, own, header)
        take = [positions[normalize_header(h)] for h in wanted]
        frame = pd.DataFrame({h: pd.Series([r[j] if j < len(r) else None for r in rows], dtype=object)
                              for h, j in zip(wanted, take)}, index=pd.RangeIndex(len(rows)))
        first = where[0][1] if where else 2
    n = len(frame)
    frame[FILE_COL] = np.full(n, file_index, dtype=np.int32)
    frame[ROW_COL] = np.arange(first, first + n, dtype=np.int64)
    return frame


def _positions(path, own: list, header: list) -> dict:
    positions = {normalize_header(h): j for j, h in enumerate(own)}
    missing = [h for h in header if normalize_header(h) not in positions]
    if missing or len(own) != len(header):
        raise BBBError(f"{Path(path).name}: its columns ({', '.join(map(str, own))}) are not the first "
                       f"partition's ({', '.join(map(str, header))})")
    return positions


def _column(header: list, norm: str):
    return next((h for h in header if normalize_header(h) == norm), None)


def _text_key(value) -> str:
    """A Customer's or Contract ID's key as the engine compares them (text stripped, case folded, 1001.0 is
    '1001'); a blank cell is ''."""
    return "" if is_blank(value) else key_of(display_text(value))


_HASH_KEYS = ("bbb_xl.customer1", "bbb_xl.contract2")  # 16 characters each: pandas' hash key


def _key_hashes(series, hash_keys: tuple = _HASH_KEYS[:1]) -> list:
    """Stable 64-bit hashes (the same in every process), one array per hash key, of each cell's _text_key; typed
    columns key and hash each distinct value once."""
    import pandas as pd
    if series.dtype == object:  # cells of any type (CSV): 1 and True must not be one value
        codes, keys = None, np.array([_text_key(v) for v in series.tolist()] + [""], dtype=object)
    else:
        codes, uniques = pd.factorize(series)
        if isinstance(series.dtype, pd.StringDtype):  # text: _text_key at C speed (a blank text is '' too)
            keys = list(map(str.casefold, map(str.strip, np.asarray(uniques, dtype=object).tolist())))
        else:
            keys = [_text_key(v) for v in _python_cells(pd.Series(uniques))]
        keys = np.array(keys + [""], dtype=object)
    out = []
    for hash_key in hash_keys:
        hashed = pd.util.hash_array(keys, hash_key=hash_key, categorize=False).view(np.int64)
        out.append(hashed[:-1] if codes is None else hashed[codes])  # code -1 (a missing cell): the last, ''
    return out


def customer_parts(frame, header: list) -> np.ndarray:
    """Each line's shuffle key from its customer: a stable 64-bit hash (the same in every process); a partition
    takes the keys equal modulo n and, the keys being many, customers spread evenly."""
    col = _column(header, CUSTOMER)
    if col is None or not len(frame):
        return np.zeros(len(frame), dtype=np.int64)
    return _key_hashes(frame[col])[0]


def contract_hashes(frame, header: list) -> tuple[np.ndarray, np.ndarray]:
    """Two independent 64-bit hashes of each line's contract key (128 bits: two contracts never share both)."""
    col = _column(header, CONTRACT)
    if col is None or not len(frame):
        zero = np.zeros(len(frame), dtype=np.int64)
        return zero, zero
    return tuple(_key_hashes(frame[col], _HASH_KEYS))


# --- the shuffle: whole customers to a partition, typed columns between processes -----------------------------------

def contract_customers(path, header: list, file_index: int = 0):
    """Pass 1, per file: the distinct (contract hash, customer hash) pairs, reading only those two columns."""
    import pandas as pd
    cols = [c for c in (_column(header, CONTRACT), _column(header, CUSTOMER)) if c is not None]
    frame = _read_typed(path, header, file_index, cols)
    ck1, ck2 = contract_hashes(frame, header)
    return pd.DataFrame({"ck1": ck1, "ck2": ck2, "cp": customer_parts(frame, header)}).drop_duplicates()


def contract_routes(pairs: list):
    """(the distinct pairs of all files, {(ck1, ck2): customer hash} for the contracts whose lines name
    different customers: the smallest hash takes the whole contract, where the engine reports it)."""
    import pandas as pd
    pairs = pd.concat(pairs, ignore_index=True).drop_duplicates() if pairs else \
        pd.DataFrame({"ck1": [], "ck2": [], "cp": []}, dtype=np.int64)
    split = pairs[pairs.duplicated(["ck1", "ck2"], keep=False)]
    overrides = split.groupby(["ck1", "ck2"])["cp"].min().to_dict() if len(split) else {}
    return pairs, overrides


def line_parts(frame, header: list, n: int, overrides: dict) -> np.ndarray:
    """Each line's partition: its customer's hash modulo n (its contract's override if it has one)."""
    cp = customer_parts(frame, header)
    if overrides:
        ck1, ck2 = contract_hashes(frame, header)
        cp = np.array([overrides.get(k, c) for k, c in zip(zip(ck1.tolist(), ck2.tolist()), cp.tolist())],
                      dtype=np.int64)
    return (cp.view(np.uint64) % np.uint64(n)).astype(np.int64)


def route(path, header: list, file_index: int, n: int, overrides: dict) -> tuple:
    """Pass 2, per file: its lines split into the n customer partitions (typed columns, no Python object per
    cell: what moves between processes is Arrow / numpy buffers)."""
    frame = _read_typed(path, header, file_index)
    part = line_parts(frame, header, n, overrides)
    order = np.argsort(part, kind="stable")
    bounds = np.searchsorted(part[order], np.arange(n + 1))
    return tuple(frame.iloc[order[bounds[k]:bounds[k + 1]]].reset_index(drop=True) for k in range(n))


def event_parts(ev, pairs, overrides: dict, n: int) -> list:
    """Each event's partition: its contract's (an event of no contract of the book: partition 0, where the
    engine reports it)."""
    import pandas as pd
    if ev is None or not ev[1]:
        return []
    col = next((j for j, h in enumerate(ev[0]) if normalize_header(h) == CONTRACT), None)
    cells = pd.Series([r[col] if col is not None and col < len(r) else None for r in ev[1]], dtype=object)
    e1, e2 = _key_hashes(cells, _HASH_KEYS)
    wanted = set(zip(e1.tolist(), e2.tolist()))
    mine = pairs[pairs["ck1"].isin(e1)]
    known = {}
    for k1, k2, cp in zip(mine["ck1"].tolist(), mine["ck2"].tolist(), mine["cp"].tolist()):
        if (k1, k2) in wanted:
            known.setdefault((k1, k2), overrides.get((k1, k2), cp))
    out = []
    for k in zip(e1.tolist(), e2.tolist()):
        cp = known.get(k)
        out.append(0 if cp is None else int(np.int64(cp).view(np.uint64) % np.uint64(n)))
    return out


def split_events(ev, parts: list, n: int) -> list:
    """The events (header, rows, [(file, row)]) of each partition, None for a partition without events."""
    out = []
    for k in range(n):
        own = [i for i, p in enumerate(parts) if p == k]
        out.append((ev[0], [ev[1][i] for i in own], [ev[2][i] for i in own]) if own else None)
    return out


class Where:
    """(file name, row) of a partition's i-th line, from its file-index and row columns (no tuple per line)."""

    def __init__(self, files: list, file_index: np.ndarray, rows: np.ndarray):
        self.files, self.file_index, self.rows = files, file_index, rows

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> tuple:
        return self.files[int(self.file_index[i])], int(self.rows[i])


# --- one partition ------------------------------------------------------------------------------------------------

def partial_schedule(frame, header: list, events, fx, spec: dict) -> dict:
    """The engine on one partition: {"figures": (header, [(label, [cents...])...]), "values": {filter column:
    distinct texts}, "problems": [...]} or {"problems": [...errors]} (located on the source file and row)."""
    from .. import api
    from ..engine import filters
    from ..engine.book import load_book
    if frame is None or len(frame) == 0:
        if events is None:
            return {"empty": True, "problems": []}
        frame = _empty_frame(header)  # still the partition that reports events of unknown contracts
    rows, where, event_rows, event_where = partition_inputs(frame, header, events, spec)
    if event_rows is not None and spec.get("as_of_day") is not None:
        event_rows = api.events_until(event_rows, spec["as_of_day"])
    tiers = spec.get("tiers")  # the Price Tiers range, whole in every partition (keyed by contract or product)
    book = load_book(rows, events=event_rows if event_rows and len(event_rows) > 1 else None, fx=fx,
                     options=spec.get("options"), as_of=spec.get("as_of_day"),
                     reporting_currency=spec.get("reporting_currency"),
                     tiers=None if tiers is None else [list(tiers[0])] + list(tiers[1]),
                     tiers_sheet=None if tiers is None else tiers[3])
    problems = [_located(p, where, event_where, tiers[2] if tiers else ()) for p in book.problems]
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
    """(contract rows with the header first, Where (file, row) per line, event rows (None: no events), [(file,
    row)] per event) of one partition, its lines in file and row order (the book's order); events: (header,
    rows, [(file, row)]) of this partition's contracts (and, on one partition, of no contract of the book)."""
    files = frame[FILE_COL].to_numpy()
    lines = frame[ROW_COL].to_numpy()
    order = np.lexsort((lines, files))
    if len(order) and not (np.diff(order) > 0).all():
        frame, files, lines = frame.iloc[order], files[order], lines[order]
    columns = [_python_cells(frame[h]) for h in header]
    rows = [list(header)] + list(zip(*columns))
    where = Where(spec["files"], files, lines)
    event_rows, event_where = None, []
    if events is not None:
        ev_header, ev_rows, event_where = events
        event_rows = [list(ev_header)] + list(ev_rows)
    return rows, where, event_rows, event_where


def _empty_frame(header: list):
    import pandas as pd
    return pd.DataFrame({**{h: pd.Series(dtype=object) for h in header}, FILE_COL: pd.Series(dtype=np.int32),
                         ROW_COL: pd.Series(dtype=np.int64)})


def _cents(value) -> int:
    cents = Decimal(value) * 100
    if cents != cents.to_integral_value():  # never: the engine's figures are whole cents
        raise ValueError(f"{value} is not a whole number of cents")
    return int(cents)


def _located(p: Problem, where: list, event_where: list, tiers_where: list = ()) -> Problem:
    """A partition's problem at its source file and row (row 1 of a partition's range is its header)."""
    table = where if p.table is None else event_where if p.table == "events" else \
        tiers_where if p.table == "tiers" else None
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
                  sheet=None, skip_bad: bool = False, recomputed: bool = False, tiers=None):
    """`bbb-xl schedule` of a Parquet / CSV file or a folder of them: the same figures as the single-machine
    engine. engine "local": in this process; "dask": on a Dask cluster (scheduler: the address of an existing
    one, else a LocalCluster of `workers` processes); partitions: how many customer partitions (default: 2 per
    worker, at least the number of files). tiers: the Price Tiers range of usage lines (a CSV, Parquet file or
    workbook tab; default: a folder's file named `Price Tiers`, or a workbook's own tab), in every partition."""
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
    header = source_header(files[0])
    ev = _side(events, "Events")
    fx_rows = _side(fx, "FX Rates")
    spec.update(tiers=price_tiers(path, tiers))
    fx_rows = fx_rows[0] and [fx_rows[0]] + fx_rows[1] if fx_rows else None
    engine = str(engine or "local").strip().lower()
    spec.update(files=[f.name for f in files])
    if engine == "local":
        partials = [partial_schedule(_whole_book(files, header), header, ev, fx_rows, spec)]
    elif engine == "dask":
        partials = _dask_partials(files, header, ev, fx_rows, spec, workers, scheduler, partitions)
    else:
        raise BBBError(f"engine '{engine}' is not local or dask")
    rows = combine(partials, spec)
    notes = tuple(_unique(sorted((p for part in partials for p in part["problems"] if p.severity != "info"),
                                 key=lambda p: (p.table or "", p.sheet or "", p.row or 0))))
    return api.FileSchedule(rows, notes, ())


def price_tiers(path, tiers=None):
    """(header, rows, [(file, row)], name) of the Price Tiers range for usage lines (engine.usage): the file
    `tiers` (CSV, Parquet or a workbook's tab), else the folder's file named `Price Tiers`, else a workbook's own
    Price Tiers tab (as `bbb-xl schedule` reads a workbook); None when there is none."""
    if tiers is None:
        tiers = side_file(path, "Price Tiers")
        if tiers is None and Path(path).suffix.lower() in (".xlsx", ".xlsm") and Path(path).is_file():
            tiers = path if "Price Tiers" in _sheet_names(path) else None
    side = _side(tiers, "Price Tiers")
    if side is None or not side[1]:
        return None
    return (*side, side[2][0][0] if Path(tiers).suffix.lower() in (".xlsx", ".xlsm") else Path(tiers).name)


def _sheet_names(path) -> list:
    from ..files import check_xlsx_archive
    from ..xlsx_reader import Workbook
    check_xlsx_archive(path)
    wb = Workbook(path)
    try:
        return list(wb.sheets)
    finally:
        wb.close()


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


def _whole_book(files, header):
    """Every file's lines in one frame (the in-process path: one partition)."""
    import pandas as pd
    frames = [_read_typed(f, header, i) for i, f in enumerate(files)]
    return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)


def _dask_partials(files, header, ev, fx_rows, spec, workers, scheduler, partitions, task=None,
                   memory_limit="auto") -> list:
    """task(frame, header, events, fx, spec) on each customer partition (default: its schedule). Two passes
    over the files: the (contract, customer) pairs of every file (two columns read), to send a contract whose
    lines name different customers whole to one partition and each event to its contract's partition; then
    each file's lines routed to their partitions (typed columns), which each run the engine once."""
    try:
        import dask
        from dask import delayed
        from distributed import Client, LocalCluster
    except ImportError:
        raise BBBError("--engine dask needs Dask: pip install bbb_xl[scale]") from None
    cluster = None
    if scheduler:
        client = Client(scheduler)
    else:
        cluster = LocalCluster(n_workers=max(1, int(workers or 2)), threads_per_worker=1, processes=True,
                               dashboard_address=":0", memory_limit=memory_limit)
        client = Client(cluster)
    try:
        n_workers = max(1, len(client.scheduler_info().get("workers", {})) or int(workers or 1))
        n = int(partitions or max(2 * n_workers, len(files)))
        spec = dict(spec, files=[f.name for f in files])
        pairs = dask.compute(*[delayed(contract_customers)(str(f), header, i) for i, f in enumerate(files)])
        pairs, overrides = contract_routes(list(pairs))
        events = split_events(ev, event_parts(ev, pairs, overrides, n), n) if ev is not None else [None] * n
        del pairs
        routed = [delayed(route, nout=n)(str(f), header, i, n, overrides) for i, f in enumerate(files)]
        fx_future = client.scatter(fx_rows, broadcast=True) if fx_rows else None
        tasks = [delayed(_run_partition)([r[k] for r in routed], header, events[k], fx_future, spec,
                                         task or partial_schedule) for k in range(n)]
        return list(dask.compute(*tasks))
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _run_partition(pieces, header, events, fx, spec, task):
    import pandas as pd
    pieces = [p for p in pieces if len(p)]
    frame = pieces[0] if len(pieces) == 1 else pd.concat(pieces, ignore_index=True) if pieces else None
    return task(frame, header, events, fx, spec)


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
