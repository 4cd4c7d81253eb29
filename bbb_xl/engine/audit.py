"""The audit trail of a book's inputs (issue 17, section 2), pure: no workbook, no file.

A *snapshot* is the input tabs (INPUT_TABS: every tab a refresh reads) as normalised text:
{tab: {key: {column: text}}}. Contract lines and opening balances are keyed by (Contract ID, Line ID), FX rates by
(Currency, Month), Settings by their name, Accounts by Product, Plan rows by (Version, Month, Metric, Dimension,
Value), Pipeline deals by Deal, Forecast Assumptions by their dimension value ("(default)" for the row without one);
events have no natural key and are keyed by their whole row (an edited event is one removed and one added). Blank
cells are left out, so a snapshot holds no "".
`diff(old, new)` lists what changed, `apply(old, changes)` rebuilds `new` from it: the workbook keeps only the
changes (the `_Snapshot` tab, append-only) and replays them to find the last snapshot.

An *entry* records one command (refresh, import, close, reopen): time (UTC), user, command, reason, the sha256 of
the snapshot, counts, a summary of the changes and the sha256 of the changes themselves. Entries form a hash
chain: each one stores the previous entry's hash and sha256(previous hash + canonical text of this entry), so an
edited, deleted, inserted or reordered entry breaks the chain at a row `verify_chain` names.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from dataclasses import dataclass, field, replace
from decimal import Decimal
from operator import add, itemgetter
from itertools import repeat

import numpy as np

from ..core.errors import Problem, column_letter
from .table import normalize_header

CONTRACTS, EVENTS, FX, SETTINGS = "Contracts", "Events", "FX Rates", "Settings"
ACCOUNTS, PLAN, PIPELINE, ASSUMPTIONS, OPENING = ("Accounts", "Plan", "Pipeline", "Forecast Assumptions",
                                                  "Opening Balances")
TIERS = "Price Tiers"  # usage lines' tiered unit prices (engine.usage)
# Every input tab a refresh reads, in the order the trail lists them: the one list the audit trail, Run Info's
# input fingerprint and its STALE check share (excel.workflow.INPUT_SHEETS is this tuple).
INPUT_TABS = (CONTRACTS, EVENTS, FX, SETTINGS, ACCOUNTS, PLAN, PIPELINE, ASSUMPTIONS, OPENING, TIERS)
TABS = INPUT_TABS
TRAIL_SHEET, SNAPSHOT_SHEET = "Audit Trail", "_Snapshot"
GENESIS = "0" * 64  # the "previous hash" of the first entry
# key columns per tab (normalised headers; those present are used). Events: None, the whole row is the key;
# Settings: the first column (the setting's name); Forecast Assumptions: every column but the rates (its dimension)
KEY_COLUMNS = {CONTRACTS: ("contractid", "lineid"), EVENTS: None, FX: ("currency", "month"), SETTINGS: None,
               ACCOUNTS: ("product",), PLAN: ("version", "month", "metric", "dimension", "value"),
               PIPELINE: ("deal",), OPENING: ("contractid", "lineid"),
               TIERS: ("contractid", "product", "fromquantity")}
_RATE_COLUMNS = ("renewalrate", "uplift")  # Forecast Assumptions' values; its other column is the key
_TRIMMED_KEYS = (PLAN, ASSUMPTIONS)  # blank trailing key parts dropped (a plan of the whole book has no Dimension)
ADDED, REMOVED, CHANGED = "added", "removed", "changed"
NOUNS = {CONTRACTS: ("line", "lines"), EVENTS: ("event", "events"), FX: ("FX rate", "FX rates"),
         SETTINGS: ("setting", "settings"), ACCOUNTS: ("account", "accounts"), PLAN: ("plan row", "plan rows"),
         PIPELINE: ("deal", "deals"), ASSUMPTIONS: ("assumption", "assumptions"),
         OPENING: ("opening balance", "opening balances"), TIERS: ("price tier", "price tiers")}


# --- snapshots --------------------------------------------------------------------------------------------------

def cell_text(value) -> str:
    """A cell as canonical text: dates ISO, whole numbers without decimals, other numbers as their shortest
    exact decimal (repr), booleans TRUE / FALSE, text stripped, blanks ""."""
    kind = type(value)
    if kind is str:  # the common cases first: this runs once per input cell
        return value.strip()
    if kind is float and math.isfinite(value):
        return str(int(value)) if value == int(value) and abs(value) < 1e15 else repr(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.datetime):
        if (value.hour, value.minute, value.second, value.microsecond) == (0, 0, 0, 0):
            return value.date().isoformat()
        return value.replace(tzinfo=None).isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value.is_finite() else str(value)
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int) or (hasattr(value, "dtype") and getattr(value.dtype, "kind", "") in "iu"):
        return str(int(value))
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value).strip()
    if math.isfinite(number) and number == int(number) and abs(number) < 1e15:
        return str(int(number))
    return repr(number)


def tab_snapshot(tab: str, rows) -> dict:
    """{key: {column: text}} of one input tab's rows (row 1 the header; blank rows skipped). A key met twice
    (an input error the engine reports) gets " #2", " #3" so no row is lost."""
    rows = list(rows or [])
    if not rows:
        return {}
    header = [cell_text(h) or f"({column_letter(j + 1)})" for j, h in enumerate(rows[0])]
    key_at = _key_columns(tab, header)
    out: dict = {}
    for row in rows[1:]:
        texts = [cell_text(v) for v in row]
        if not any(texts):
            continue
        fields = {}
        for j, text in enumerate(texts):
            if text:
                name = header[j] if j < len(header) else f"({column_letter(j + 1)})"
                fields[name] = text
        parts = [texts[j] if j < len(texts) else "" for j in (key_at if key_at is not None else range(len(texts)))]
        if key_at is None or tab in _TRIMMED_KEYS:
            while parts and not parts[-1]:
                parts.pop()
        key = " / ".join(parts)
        if tab == ASSUMPTIONS and not key:
            key = "(default)"  # the rates of every line the dimension does not name
        if key in out:
            n = 2
            while f"{key} #{n}" in out:
                n += 1
            key = f"{key} #{n}"
        out[key] = fields
    return out


def _key_columns(tab: str, header: list) -> list | None:
    """The columns whose texts, joined by " / ", key a row of the tab (None: every column)."""
    keys = KEY_COLUMNS.get(tab)
    norm = [normalize_header(h) for h in header]
    if tab == SETTINGS:
        return [0]
    if tab == ASSUMPTIONS:
        return [j for j, n in enumerate(norm) if n not in _RATE_COLUMNS and not n.startswith("(")]
    if keys is None:
        return None
    return [norm.index(k) for k in keys if k in norm] or [0]


def snapshot(contracts=None, events=None, fx=None, settings=None) -> dict:
    """The input tabs (rows as read, header first; None: the tab is absent) as a snapshot."""
    return snapshot_of({CONTRACTS: contracts, EVENTS: events, FX: fx, SETTINGS: settings})


def snapshot_of(inputs: dict) -> dict:
    """{tab: rows} of the input tabs (rows as read, header first; None: the tab is absent) as a snapshot, in
    INPUT_TABS order."""
    order = [t for t in INPUT_TABS if t in inputs] + [t for t in inputs if t not in INPUT_TABS]
    return {tab: tab_snapshot(tab, inputs[tab]) for tab in order if inputs[tab] is not None}


def canonical(data) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


_encode = json.encoder.encode_basestring  # json.dumps(text, ensure_ascii=False) of a str, in C


def fingerprint(snap: dict) -> str:
    """sha256 of a snapshot's canonical text (key order and column order do not matter; blank tabs do not count)."""
    return hashlib.sha256(canonical({t: v for t, v in snap.items() if v}).encode("utf-8", "surrogatepass")
                          ).hexdigest()


def counts_text(snap: dict) -> str:
    return "; ".join(f"{tab} {len(snap.get(tab) or {}):,}" for tab in TABS if tab in snap)


# --- differences --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Change:
    """One row of one tab added, removed or changed. fields: (column, old, new) — every column of an added or
    removed row, only the differing ones of a changed row ("" for blank)."""

    tab: str
    key: str
    action: str
    fields: tuple

    def record(self) -> list:
        """The change as the _Snapshot keeps it: tab, key, action, then column, new value pairs (a removed row:
        none; old values are found by replaying the earlier changes)."""
        pairs = [] if self.action == REMOVED else [x for f, _, new in self.fields for x in (f, new)]
        return [self.tab, self.key, self.action, *pairs]


def diff(old: dict, new: dict) -> list[Change]:
    """What turns `old` into `new`, tab by tab (in TABS order): rows changed and added in the new order, then rows
    removed in the old order."""
    out = []
    for tab in [t for t in TABS if t in old or t in new] + sorted((set(old) | set(new)) - set(TABS)):
        before, after = old.get(tab) or {}, new.get(tab) or {}
        for key, fields in after.items():
            prior = before.get(key)
            if prior is None:
                out.append(Change(tab, key, ADDED, tuple((f, "", v) for f, v in fields.items())))
            elif prior != fields:
                names = list(prior) + [f for f in fields if f not in prior]
                out.append(Change(tab, key, CHANGED, tuple((f, prior.get(f, ""), fields.get(f, "")) for f in names
                                                          if prior.get(f, "") != fields.get(f, ""))))
        for key, fields in before.items():
            if key not in after:
                out.append(Change(tab, key, REMOVED, tuple((f, v, "") for f, v in fields.items())))
    return out


def apply(old: dict, changes) -> dict:
    """`old` with the changes made (records or Change objects); raises ValueError on a change that does not fit
    (a row added twice, a missing row changed or removed)."""
    snap = {tab: dict(rows) for tab, rows in old.items()}
    apply_in_place(snap, changes)
    return snap


_ABSENT = object()


class _Added(tuple):
    """An added-row record (tab, key, "added", packed, row) whose column, value pairs are exactly those of the current
    row under its key: `packed` is its (canonical) text, `row` that row's index in the tab's TabRows. A tuple: made
    in C, 100,000 of them for a big book's first entry."""

    __slots__ = ()

    @property
    def packed(self) -> str:
        return self[3]

    @property
    def row(self) -> int:
        return self[4]

    def full(self) -> list:
        return [self[0], self[1], ADDED, *json.loads(self[3])]


def _full(record) -> list:
    return record.full() if type(record) is _Added else record


def apply_in_place(snap: dict, changes, current: dict | None = None) -> None:
    """`apply`, changing `snap` itself (no copy of the rows the changes leave alone: replaying a long trail costs
    its changes, not its entries times the book). On a change that does not fit, `snap` is put back as it was
    and ValueError raised. changes: records, Change objects or _Added records (whose row is the current row of
    that index in `current`, {tab: TabRows}: the snapshot then holds that index, not a dict)."""
    changes = changes if isinstance(changes, list) else list(changes)
    undo = []  # (rows, key, the row before) in the order changed
    try:
        if changes and all(type(c) is _Added for c in changes):  # an entry of added rows only (the first)
            for tab, group in _by_tab(changes):
                rows = snap.get(tab)
                if rows is None:
                    rows = snap[tab] = {}
                    undo.append((snap, tab, _ABSENT))
                keys = [c[1] for c in group]
                if not rows.keys().isdisjoint(keys) or len(set(keys)) != len(keys):
                    raise ValueError(next(f"{tab} {k}: added twice" for k in _twice(rows, keys)))
                undo.extend((rows, k, _ABSENT) for k in keys)
                rows.update(zip(keys, map(itemgetter(4), group)))
            return
        for change in changes:
            if type(change) is _Added:
                tab, key, action, pairs = change[0], change[1], ADDED, None
            else:
                tab, key, action, *pairs = change.record() if isinstance(change, Change) else change
            rows = snap.get(tab)
            if rows is None:
                rows = snap[tab] = {}
                undo.append((snap, tab, _ABSENT))
            if action == ADDED:
                if key in rows:
                    raise ValueError(f"{tab} {key}: added twice")
                undo.append((rows, key, _ABSENT))
                rows[key] = change[4] if pairs is None else {f: v for f, v in zip(pairs[0::2], pairs[1::2])
                                                               if v != ""}
            elif action == REMOVED:
                if key not in rows:
                    raise ValueError(f"{tab} {key}: removed but not there")
                undo.append((rows, key, rows.pop(key)))
            elif action == CHANGED:
                if key not in rows:
                    raise ValueError(f"{tab} {key}: changed but not there")
                prior = rows[key]
                fields = current[tab].fields(prior) if type(prior) is int else dict(prior)
                for f, v in zip(pairs[0::2], pairs[1::2]):
                    if v == "":
                        fields.pop(f, None)
                    else:
                        fields[f] = v
                undo.append((rows, key, prior))
                rows[key] = fields
            else:
                raise ValueError(f"{tab} {key}: unknown action {action!r}")
    except ValueError:
        for rows, key, before in reversed(undo):
            if before is _ABSENT:
                del rows[key]
            else:
                rows[key] = before
        raise


def _by_tab(changes):
    """Runs of consecutive changes of one tab: (tab, [changes])."""
    out = []
    for c in changes:
        if out and out[-1][0] == c[0]:
            out[-1][1].append(c)
        else:
            out.append((c[0], [c]))
    return out


def _twice(rows: dict, keys: list):
    """The keys added where a row is already there (in the snapshot or earlier in keys), in order."""
    seen = set(rows)
    for k in keys:
        if k in seen:
            yield k
        seen.add(k)


def changes_from_records(before: dict, records) -> list[Change]:
    """The Change objects of _Snapshot records, their old values taken from the snapshot they apply to."""
    out = []
    for tab, key, action, *pairs in records:
        prior = (before.get(tab) or {}).get(key) or {}
        if action == REMOVED:
            out.append(Change(tab, key, action, tuple((f, v, "") for f, v in prior.items())))
        else:
            out.append(Change(tab, key, action, tuple((f, prior.get(f, "") if action == CHANGED else "", v)
                                                      for f, v in zip(pairs[0::2], pairs[1::2]))))
    return out


def _record_json(record) -> str:
    if type(record) is _Added:
        inner = record[3][1:-1]
        return ("[" + _encode(record[0]) + "," + _encode(record[1]) + ',"added"' + ("," + inner if inner else "")
                + "]")
    return canonical(list(record))


def changes_digest(records) -> str:
    """sha256 of the changes as the _Snapshot keeps them (Change.record(); an _Added record from its text)."""
    return hashlib.sha256(("[" + ",".join(map(_record_json, records)) + "]").encode("utf-8", "surrogatepass")
                          ).hexdigest()


def changes_summary(changes) -> str:
    """"Contracts: 1 line added, 2 lines changed (3 fields); Events: 1 event added" or "no changes"."""
    parts = []
    for tab in dict.fromkeys(c.tab for c in changes):
        one, many = NOUNS.get(tab, ("row", "rows"))
        of_tab = [c for c in changes if c.tab == tab]
        bits = []
        for action in (ADDED, REMOVED, CHANGED):
            n = sum(c.action == action for c in of_tab)
            if n:
                fields = sum(len(c.fields) for c in of_tab if c.action == action)
                extra = f" ({fields} field{'s' if fields != 1 else ''})" if action == CHANGED else ""
                bits.append(f"{n:,} {one if n == 1 else many} {action}{extra}")
        parts.append(f"{tab}: " + ", ".join(bits))
    return "; ".join(parts) or "no changes"


MAX_CELL = 32000  # Excel holds 32,767 characters in a cell


def detail_rows(changes) -> list[list]:
    """The Audit Trail's change rows: Tab, Key, Change, Column, Old, New — one per changed column; an added or
    removed row in one line with its values."""
    out = []
    for c in changes:
        if c.action == CHANGED:
            out += [[c.tab, c.key, CHANGED, f, old, new] for f, old, new in c.fields]
        else:
            values = "; ".join(f"{f}={v if c.action == ADDED else old}" for f, old, v in c.fields)
            values = values if len(values) <= MAX_CELL else values[:MAX_CELL] + "\u2026"
            out.append([c.tab, c.key, c.action, "", values if c.action == REMOVED else "",
                        values if c.action == ADDED else ""])
    return out


# --- entries and the hash chain ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Entry:
    number: int
    time: str  # UTC, ISO 8601 to the second with Z
    user: str
    command: str
    reason: str
    fingerprint: str  # sha256 of the snapshot after the command
    counts: str
    summary: str
    digest: str  # changes_digest of this entry's changes
    previous: str  # the previous entry's hash (GENESIS for the first)
    hash: str = ""
    row: int | None = None  # the Audit Trail row it was read from

    def content(self) -> list:
        return [str(self.number), self.time, self.user, self.command, self.reason, self.fingerprint, self.counts,
                self.summary, self.digest]

    def cells(self) -> list:
        """The entry row: Entry, Time (UTC), User, Command, Reason, Input fingerprint, Counts, Changes, Changes
        digest, Previous hash, Hash."""
        return [self.number, *self.content()[1:], self.previous, self.hash]


ENTRY_COLUMNS = ["Entry", "Time (UTC)", "User", "Command", "Reason", "Input fingerprint (sha256)", "Counts",
                 "Changes", "Changes digest (sha256)", "Previous hash", "Hash"]
DETAIL_COLUMNS = ["", "Tab", "Key", "Change", "Column", "Old", "New"]


def entry_hash(previous: str, entry: Entry) -> str:
    """sha256(previous entry's hash + canonical serialisation of this entry)."""
    return hashlib.sha256((previous + canonical(entry.content())).encode("utf-8", "surrogatepass")).hexdigest()


def new_entry(previous: Entry | None, command: str, snap: dict, changes, *, user: str, time: dt.datetime | str,
              reason: str = "", counts: str | None = None, snap_fingerprint: str | None = None) -> Entry:
    """The next entry of the chain after `previous` (None: the first). time: a datetime (naive = UTC) or the
    caller's own UTC ISO text (close and reopen stamp their record with it). snap_fingerprint: fingerprint(snap)
    when the caller has it already."""
    prev_hash = previous.hash if previous else GENESIS
    if isinstance(time, str):
        stamp = time
    else:
        stamp = (time.astimezone(dt.timezone.utc) if time.tzinfo else time).strftime("%Y-%m-%dT%H:%M:%SZ")
    entry = Entry((previous.number + 1) if previous else 1, stamp, user, command,
                  reason, snap_fingerprint or fingerprint(snap), counts if counts is not None else counts_text(snap),
                  changes_summary(changes), changes_digest(c.record() for c in changes), prev_hash)
    return replace(entry, hash=entry_hash(prev_hash, entry))


def _problem(row, message, column=None, value=None, sheet=TRAIL_SHEET) -> Problem:
    col = column or "A"
    return Problem(row, column, value, message, sheet=sheet, cell=f"{col}{row}" if row else None)


def verify_chain(entries) -> list[Problem]:
    """Problems of the chain, each located at its Audit Trail row: an entry whose cells were edited (its hash no
    longer matches), an entry deleted, inserted or moved (its Previous hash is not the hash of the entry above it,
    or the numbers do not run 1, 2, 3...)."""
    out = []
    previous = GENESIS
    for i, e in enumerate(entries):
        if e.number != i + 1:
            out.append(_problem(e.row, f"entry {e.number} where entry {i + 1} belongs: an entry was deleted, "
                                       f"inserted or moved", "A", e.number))
        if e.previous != previous:
            out.append(_problem(e.row, f"entry {e.number}'s Previous hash is not the hash of the entry above it: "
                                       f"an entry was deleted, inserted or moved", "J", e.previous))
        if entry_hash(e.previous, e) != e.hash:
            out.append(_problem(e.row, f"entry {e.number} was edited: its cells no longer give its hash", "K",
                                e.hash))
        previous = e.hash
    return out


# --- reading the trail back, and checking it against the _Snapshot --------------------------------------------------

TRAIL_HEADER_ROW = 4  # entries and their change rows start below it
MORE = "\u2026"  # column B of the row that says how many more changes an entry has


@dataclass
class Trail:
    """The Audit Trail as read: entries, the change rows shown under each (by entry number), and problems of rows
    that are neither."""

    entries: list
    shown: dict  # entry number -> [(row, cells)] of its change rows (and the "more" row)
    problems: list
    records: dict = field(default_factory=dict)  # entry number -> its _Snapshot change records (verify_trail)


def read_trail(rows) -> Trail:
    entries, shown, problems = [], {}, []
    current = None
    for r, row in enumerate(rows or [], start=1):
        if r <= TRAIL_HEADER_ROW:
            continue
        texts = [cell_text(v) for v in row]
        if not any(texts):
            continue
        first = row[0] if row else None
        number = _whole(first)
        if number is not None:
            cells = (texts + [""] * len(ENTRY_COLUMNS))[:len(ENTRY_COLUMNS)]
            current = Entry(number, *cells[1:], row=r)
            entries.append(current)
            shown[number] = []
        elif not texts[0] and current is not None:
            shown[current.number].append((r, (texts[1:] + [""] * 6)[:6]))
        else:
            problems.append(_problem(r, "a row that is neither an entry nor one of its changes: the trail was "
                                        "edited", "A", first))
    return Trail(entries, shown, problems)


def _whole(value):
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)) and math.isfinite(value) and value == int(value) and value >= 1:
        return int(value)
    return None


SEAL = "entry"  # action of the _Snapshot row that closes an entry's changes and holds its hash


def read_snapshot(rows, current: dict | None = None) -> tuple[dict, dict, list]:
    """The _Snapshot rows (row 1 the header) as {entry number: [change records]}, {entry number: (row, hash)}
    and problems of unreadable rows. current: the inputs now, {tab: TabRows}; an added row whose text is the
    current row's under its key is kept unparsed (_Added)."""
    current = current or {}
    records, seals, problems = {}, {}, []
    for r, number, tab_name, key, action, packed in _snapshot_records(rows or [], problems):
        if action == SEAL:
            seals[number] = (r, packed)
            continue
        if action == ADDED:
            tab = current.get(tab_name)
            i = tab.index.get(key) if tab is not None else None
            if i is not None and tab.packed[i] == packed:
                got = records.get(number)
                if got is None:
                    got = records[number] = []
                got.append(_Added((tab_name, key, ADDED, packed, i)))
                continue
        try:
            pairs = json.loads(packed) if action != REMOVED else []
            if not isinstance(pairs, list) or len(pairs) % 2:
                raise ValueError
        except ValueError:
            problems.append(_problem(r, "an unreadable _Snapshot row: the snapshot was edited", "E", None,
                                     SNAPSHOT_SHEET))
            continue
        records.setdefault(number, []).append([tab_name, key, action, *pairs])
    return records, seals, problems


def _snapshot_records(rows: list, problems: list):
    """(row, entry number, tab, key, action, text: the JSON, a seal's hash) of each _Snapshot row below the header,
    in order; a row without a whole entry number is a problem, appended to `problems` in its row's turn."""
    columns = _plain_records(rows)
    if columns is not None:  # the usual _Snapshot: a column at a time
        yield from zip(range(2, len(rows) + 1), *columns)
        return
    for r, row in enumerate(rows[1:], start=2):
        texts = ["" if v is None else v if isinstance(v, str) else cell_text(v) for v in row]
        if not any(texts):
            continue
        number = _whole(row[0] if row else None)
        texts += [""] * (5 - len(texts))
        if number is None:
            problems.append(_problem(r, "an unreadable _Snapshot row: the snapshot was edited", "A",
                                     row[0] if row else None, SNAPSHOT_SHEET))
            continue
        action = texts[3]  # a change's JSON may go on in further cells past Excel's cell size; a seal is one cell
        yield r, number, texts[1], texts[2], action, texts[4] if action == SEAL or len(texts) == 5 else \
            "".join(texts[4:])


def _plain_records(rows) -> list | None:
    """The columns (Entry, Tab, Key, Action, JSON; blanks "") below the header of rows of five cells: a whole number
    >= 1, then text or blanks (read_snapshot's rows with no blank or unreadable Entry and no change split over
    further cells); None for other rows."""
    if len(rows) < 2 or any(len(row) != 5 for row in rows):
        return None
    body = rows[1:]
    columns = [list(map(itemgetter(j), body)) for j in range(5)]
    if set(map(type, columns[0])) != {int} or min(columns[0]) < 1:
        return None
    if not all(set(map(type, c)) <= {str, type(None)} for c in columns[1:]):
        return None
    return [columns[0]] + [[v if v is not None else "" for v in c] if None in c else c for c in columns[1:]]


def snapshot_rows(number: int, changes, entry_hash_: str) -> list[list]:
    """The rows one entry appends to the _Snapshot: Entry, Tab, Key, Action, then the row's columns and new
    values as one JSON list (split over further cells past Excel's cell size); last the entry's seal with its
    hash. One text cell per change keeps a book of 100,000 lines quick to read back."""
    out = []
    for c in changes:
        tab, key, action, *pairs = c.record()
        packed = canonical(pairs) if action != REMOVED else ""
        out.append([number, tab, key, action] + ([packed[i:i + MAX_CELL] for i in range(0, len(packed), MAX_CELL)]
                                                 or [""]))
    return out + [[number, "", "", SEAL, entry_hash_]]


def replay(records: dict) -> dict:
    """The snapshot after every entry's changes (records by entry number, in order)."""
    snap: dict = {}
    for number in sorted(records):
        apply_in_place(snap, records[number])
    return snap


# --- the inputs now, each tab canonicalised once, column by column ------------------------------------------------
# A refresh hashes, diffs and replays the same input tabs every time, and most refreshes change nothing or a few rows.
# Here each tab's cells become canonical text once, column by column (TabRows: the keys, each row's canonical JSON
# in column order and in sorted order), and verify_trail, given them, keeps an added row recorded with exactly the
# canonical text of the current row under its key as that row (an int), never parsing its JSON nor building its dict.
# Everything else (a change, a removal, an edited or unreadable record) goes through the same rules, so problems,
# changes, counts and fingerprints are those of the cell-by-cell path (tests/audit_reference.py keeps it;
# tests/test_audit_speed.py compares).

_MEMO_KINDS = {str, float, int, type(None), dt.datetime, dt.date}  # no two of these kinds compare equal but int/float


def column_texts(column) -> list[str]:
    """cell_text of each cell of a column: text stripped in one pass, other kinds once per distinct value."""
    kinds = set(map(type, column))
    if kinds <= {str}:
        return [v.strip() for v in column]
    if kinds <= {str, type(None)}:
        return [v.strip() if v is not None else "" for v in column]
    if kinds == {float}:  # amounts: repr, whole numbers below 1e15 as integers (cell_text)
        numbers = np.fromiter(column, dtype=np.float64, count=len(column))
        out = list(map(repr, column))
        for i in np.flatnonzero((numbers == np.trunc(numbers)) & (np.abs(numbers) < 1e15)).tolist():
            out[i] = str(int(column[i]))
        return out
    if kinds <= _MEMO_KINDS and not {int, float} <= kinds:  # equal values of these kinds have equal texts
        memo = {v: cell_text(v) for v in set(column)}  # (nan: each nan object is its own key, found by identity)
        if dt.datetime not in kinds or all(v.tzinfo is None for v in memo if type(v) is dt.datetime):
            return list(map(memo.__getitem__, column))
    return [cell_text(v) for v in column]


class TabRows:
    """One input tab as its snapshot ({key: {column: text}}, tab_snapshot) without building it: keys (in row
    order), index (key -> row), and per row `packed` (canonical JSON of its column, value pairs in column order: the
    text the _Snapshot records for an added row) and `ordered` (canonical JSON of its fields dict: what the snapshot
    fingerprint hashes). fields(i) builds a row's dict when it is needed."""

    def __init__(self, tab: str, rows):
        self.tab = tab
        self._dicts = None
        rows = rows if isinstance(rows, list) else list(rows or [])
        width = max(map(len, rows), default=0)
        if not width:
            self._from_snapshot({})
            return
        if any(len(r) != width for r in rows):
            rows = [list(r) + [None] * (width - len(r)) for r in rows]
        header = [cell_text(h) or f"({column_letter(j + 1)})" for j, h in enumerate(rows[0])]
        if len(set(header)) != len(header):  # two columns of one name: one field, as tab_snapshot keeps it
            self._from_snapshot(tab_snapshot(tab, rows))
            return
        self.names = header
        cols = [column_texts(c) for c in zip(*rows[1:])] if len(rows) > 1 else [[] for _ in header]
        packed = self._joined(cols, [_encode(n) + "," for n in header], range(width))
        order = sorted(range(width), key=header.__getitem__)
        ordered = self._joined(cols, [_encode(n) + ":" for n in header], order)
        kept = [i for i, p in enumerate(packed) if p]  # blank rows are left out
        if len(kept) != len(packed):
            cols = [[c[i] for i in kept] for c in cols]
            packed, ordered = [packed[i] for i in kept], [ordered[i] for i in kept]
        self.cols = cols
        self.packed = ["[" + p[:-1] + "]" for p in packed]
        self.ordered = ["{" + p[:-1] + "}" for p in ordered]
        self.keys = self._keys(tab, header, cols, len(kept))
        self.index = dict(zip(self.keys, range(len(self.keys))))

    @staticmethod
    def _joined(cols, names, order) -> list[str]:
        """Per row: the "name","value", (or "name":"value",) pieces of its non-blank cells in `order`, joined."""
        pieces = []
        for j in order:
            name = names[j]
            col = cols[j]
            distinct = set(col)
            if len(distinct) * 2 < len(col):  # codes, dates, blanks: each distinct text encoded once
                memo = {t: name + _encode(t) + "," if t else "" for t in distinct}
                pieces.append(list(map(memo.__getitem__, col)))
            elif "" not in distinct:  # every cell filled (ids, amounts): C-level maps
                pieces.append(list(map(add, map(add, repeat(name), map(_encode, col)), repeat(","))))
            else:
                pieces.append([name + e + "," if t else "" for t, e in zip(col, map(_encode, col))])
        return list(map("".join, zip(*pieces))) if pieces else []

    @staticmethod
    def _keys(tab, header, cols, n) -> list[str]:
        key_at = _key_columns(tab, header)
        parts = [cols[j] for j in (key_at if key_at is not None else range(len(cols)))]
        if not parts:
            joined = [""] * n
        elif key_at is None or tab in _TRIMMED_KEYS:  # blank trailing parts dropped
            joined = [" / ".join(_trimmed(list(p))) for p in zip(*parts)]
        elif len(parts) == 1:
            joined = list(parts[0])
        else:
            joined = list(map(" / ".join, zip(*parts)))
        if tab == ASSUMPTIONS:
            joined = [k or "(default)" for k in joined]
        if len(set(joined)) != len(joined):  # a key met twice: " #2", " #3" as tab_snapshot numbers them
            seen: set = set()
            for i, key in enumerate(joined):
                if key in seen:
                    n2 = 2
                    while f"{key} #{n2}" in seen:
                        n2 += 1
                    key = joined[i] = f"{key} #{n2}"
                seen.add(key)
        return joined

    def _from_snapshot(self, snap: dict) -> None:
        """The tab from its snapshot dict (the cell-by-cell rules: a tab with two columns of one name)."""
        self.keys = list(snap)
        self.index = {k: i for i, k in enumerate(self.keys)}
        self._dicts = list(snap.values())
        self.packed = [canonical([x for f, v in d.items() for x in (f, v)]) for d in self._dicts]
        self.ordered = [canonical(d) for d in self._dicts]

    def fields(self, i: int) -> dict:
        if self._dicts is not None:
            return dict(self._dicts[i])
        return {n: c[i] for n, c in zip(self.names, self.cols) if c[i]}

    def snapshot(self) -> dict:
        """The tab's snapshot dict (tab_snapshot of its rows)."""
        return {k: self.fields(i) for i, k in enumerate(self.keys)}

    def __len__(self) -> int:
        return len(self.keys)


def _trimmed(parts: list) -> list:
    while parts and not parts[-1]:
        parts.pop()
    return parts


def tabs_rows(inputs: dict) -> dict:
    """snapshot_of as {tab: TabRows}, in the same order (a tab absent, None, left out)."""
    order = [t for t in INPUT_TABS if t in inputs] + [t for t in inputs if t not in INPUT_TABS]
    return {tab: TabRows(tab, inputs[tab]) for tab in order if inputs[tab] is not None}


def _fingerprint_text(tabs: dict) -> str:
    """fingerprint of a snapshot given as {tab: (keys, ordered JSON of each row's fields)}: canonical() of the dict
    (tabs and keys sorted), built with C-level maps."""
    out = []
    for tab in sorted(t for t, (keys, _) in tabs.items() if keys):
        keys, ordered = tabs[tab]
        pieces = map(add, map(add, map(_encode, keys), repeat(":")), ordered)
        if any(map(str.__gt__, keys, keys[1:])):  # not in order yet
            pieces = map(itemgetter(1), sorted(zip(keys, pieces)))
        out.append(_encode(tab) + ":{" + ",".join(pieces) + "}")
    return hashlib.sha256(("{" + ",".join(out) + "}").encode("utf-8", "surrogatepass")).hexdigest()


def tabs_fingerprint(current: dict) -> str:
    """fingerprint(snapshot) of {tab: TabRows}."""
    return _fingerprint_text({tab: (t.keys, t.ordered) for tab, t in current.items()})


def _row_fields(value, tab: str, current: dict) -> dict:
    return current[tab].fields(value) if type(value) is int else value


def _materialized(snap: dict, records, current: dict) -> dict:
    """The rows of `snap` the records name, as dicts (for changes_from_records)."""
    out: dict = {}
    for r in records:
        rows = snap.get(r[0])
        if rows is not None and r[1] in rows:
            out.setdefault(r[0], {})[r[1]] = _row_fields(rows[r[1]], r[0], current)
    return out


def lazy_snapshot(snap: dict, current: dict) -> dict:
    """A replayed snapshot (rows dicts or ints) as a plain one."""
    return {tab: {k: _row_fields(v, tab, current) for k, v in rows.items()} for tab, rows in snap.items()}


def _lazy_fingerprint(snap: dict, current: dict, known: str | None) -> str:
    """fingerprint of a replayed snapshot: `known` (the current inputs' fingerprint) when it equals them."""
    mine = {t for t, rows in snap.items() if rows}
    if known is not None and mine == {t for t, rows in current.items() if len(rows)}:
        for tab in mine:
            rows, cur = snap[tab], current[tab]
            if len(rows) != len(cur) or not all(type(v) is int or (k in cur.index and v == cur.fields(cur.index[k]))
                                                for k, v in rows.items()):
                break
        else:
            return known
    return _fingerprint_text({tab: (list(rows), [current[tab].ordered[v] if type(v) is int else canonical(v)
                                                 for v in rows.values()]) for tab, rows in snap.items()})


def verify_trail(trail_rows, snapshot_rows_, current: dict | None = None, known: str | None = None) \
        -> tuple[list, Trail, dict]:
    """Every problem of the Audit Trail and its _Snapshot: the chain (verify_chain), each entry against its
    _Snapshot seal (an entry deleted from the end shows here), its changes (digest) and the snapshot they give
    (fingerprint, of the last entry), and the change rows shown against the changes recorded. Returns (problems,
    trail, the snapshot after the last entry). current, known: the inputs now as {tab: TabRows} (tabs_rows) and
    their fingerprint, when the caller has them: rows the _Snapshot holds as they are now are then never parsed
    (the snapshot returned holds such a row as its index in `current`; lazy_snapshot makes it plain), and a
    replayed snapshot equal to the inputs takes `known` instead of a second hash."""
    current = current or {}
    trail = read_trail(trail_rows)
    records, seals, problems = read_snapshot(snapshot_rows_, current)
    trail.records = records
    problems = trail.problems + verify_chain(trail.entries) + problems
    by_number = {e.number: e for e in trail.entries}
    for number, (row, sealed) in sorted(seals.items()):
        e = by_number.get(number)
        if e is None:
            problems.append(_problem(row, f"entry {number} is recorded in the _Snapshot but missing from the Audit "
                                          f"Trail: it was deleted", "A", number, SNAPSHOT_SHEET))
        elif e.hash != sealed:
            problems.append(_problem(e.row, f"entry {number}'s hash differs from the one sealed in the _Snapshot "
                                            f"(row {row}): the entry was edited", "K", e.hash))
    snap: dict = {}
    for number in sorted(set(records) | set(by_number)):
        recs = records.get(number, [])
        e = by_number.get(number)
        shown = trail.shown.get(number, []) if e is not None else []
        if shown:
            head = [_full(r) for r in recs[:len(shown)]]
            expected = detail_rows(changes_from_records(_materialized(snap, head, current), head))
        else:
            expected = []
        try:
            apply_in_place(snap, recs, current)
        except ValueError as exc:
            problems.append(_problem(None, f"the _Snapshot changes of entry {number} do not replay ({exc}): the "
                                           f"snapshot was edited", sheet=SNAPSHOT_SHEET))
            continue
        if e is None:
            continue
        if number not in seals:
            problems.append(_problem(e.row, f"entry {number} has no seal in the _Snapshot: the snapshot was "
                                            f"edited", "A", number))
        if changes_digest(recs) != e.digest:
            problems.append(_problem(e.row, f"the _Snapshot changes of entry {number} no longer match its Changes "
                                            f"digest", "I", e.digest))
            continue
        if number == trail.entries[-1].number and _lazy_fingerprint(snap, current, known) != e.fingerprint:
            problems.append(_problem(e.row, f"the inputs replayed to entry {number} no longer give its Input "
                                            f"fingerprint", "F", e.fingerprint))
        for k, (row, cells) in enumerate(shown):
            if cells[0] == MORE and k == len(trail.shown[number]) - 1:
                break
            if k >= len(expected) or cells != [cell_text(v) for v in expected[k]]:
                problems.append(_problem(row, f"this change row of entry {number} differs from the change "
                                              f"recorded in the _Snapshot: it was edited", "B", cells[0]))
    return problems, trail, snap


def diff_against(old: dict, current: dict) -> list[Change]:
    """diff(old, snapshot of current) for a replayed snapshot `old` (verify_trail with current) and {tab: TabRows}."""
    out = []
    for tab in [t for t in TABS if t in old or t in current] + sorted((set(old) | set(current)) - set(TABS)):
        before = old.get(tab) or {}
        cur = current.get(tab)
        if cur is not None:
            for i, key in enumerate(cur.keys):
                prior = before.get(key)
                if prior is None:
                    out.append(Change(tab, key, ADDED, tuple((f, "", v) for f, v in cur.fields(i).items())))
                elif type(prior) is int:  # recorded as exactly this row
                    continue
                else:
                    fields = cur.fields(i)
                    if prior != fields:
                        names = list(prior) + [f for f in fields if f not in prior]
                        out.append(Change(tab, key, CHANGED, tuple((f, prior.get(f, ""), fields.get(f, ""))
                                                                  for f in names
                                                                  if prior.get(f, "") != fields.get(f, ""))))
        index = cur.index if cur is not None else {}
        for key, fields in before.items():
            if key not in index:
                fields = _row_fields(fields, tab, current)
                out.append(Change(tab, key, REMOVED, tuple((f, v, "") for f, v in fields.items())))
    return out
