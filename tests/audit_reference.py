"""The reference: the audit trail's and Run Info's hashing as they were before issue 19 §2 (cell by cell), unchanged
but for the imports. tests/test_audit_speed.py checks the column-wise code against it."""
from __future__ import annotations

import hashlib
import json

import numpy as np

from bbb_xl.core.errors import column_letter, excel_error
from bbb_xl.engine.audit import (ADDED, CHANGED, MORE, REMOVED, SEAL, SNAPSHOT_SHEET, Change, Trail, _problem, _whole,
                                 canonical, cell_text, changes_from_records, detail_rows, read_trail, verify_chain)
from bbb_xl.engine.audit import fingerprint as snapshot_fingerprint
from bbb_xl.engine.table import normalize_header
from bbb_xl.excel.workflow import (_CHOICES, _CODE_TEXT, _LIMIT, _ROW_W, STALE_MARGIN, _column_cells, _decimals_of,
                                   _normalized_choice, _round_scaled, _sheet_ref, _utf16)


def fingerprint(rows) -> str:
    """reports.model.fingerprint before issue 19: one update per cell."""
    h = hashlib.sha256()
    for row in rows or []:
        for v in row:
            h.update(f"{type(v).__name__}:{v!r}\x1f".encode("utf-8", "surrogatepass"))
        h.update(b"\x1e")
    return h.hexdigest()


# excel.workflow._column_checksums before issue 19 §2 (a list per column, a Python loop per text cell)
def _column_texts(values) -> dict:
    return {i: v for i, v in enumerate(values) if type(v) is str and excel_error(v) is None}


def column_checksums(sheet: str, rows) -> list[tuple[str, int]]:
    """(formula, value at refresh) of each column's checksum of one input tab: one cell per column, so an edit
    recalculates only its own column's checksum (LibreOffice evaluates these arrays slowly)."""
    rows = rows or []
    ncols = max((len(r) for r in rows), default=0)
    if ncols == 0:
        rows, ncols = [[None]], 1
    n = len(rows)
    last = n + STALE_MARGIN
    q = _sheet_ref(sheet)
    row_w = np.arange(1, n + 1, dtype=np.int64) % _ROW_W + 1
    header = [normalize_header(str(h)) if h is not None else "" for h in rows[0]]
    choices = {header.index(k): v for k, v in _CHOICES.get(sheet, {}).items() if k in header}
    codes = {header.index(k): v for k, v in _CODE_TEXT.get(sheet, {}).items() if k in header}
    out = []
    for j in range(ncols):
        values = [r[j] if j < len(r) else None for r in rows]
        idx, nums, tidx, tlen = _column_cells(values)
        rng = f"{q}!${column_letter(j + 1)}$1:${column_letter(j + 1)}${last}"
        w = f"(MOD(ROW({rng}),{_ROW_W})+1)"
        # numbers and dates to the column's decimals (lowered while the sum could leave exact integers); text: LEN
        d = _decimals_of(nums) if nums.size else 0
        while d and float(np.abs(nums).sum()) * _ROW_W * 10 ** d > _LIMIT:
            d -= 1
        total = int((row_w[idx] * _round_scaled(nums, d)).sum()) if nums.size else 0
        total += int((row_w[tidx] * tlen).sum())
        terms = [f"SUMPRODUCT({w}*IF(ISNUMBER({rng}),ROUND({rng}*{10 ** d},0),IF(ISTEXT({rng}),LEN({rng}),0)))"]
        texts = _column_texts(values) if j in choices or j in codes else {}
        if j in choices:  # the position of the spelling among the accepted ones (0: none of them)
            spellings = choices[j]
            position = {s: k for k, s in enumerate(spellings, start=1)}
            memo: dict = {}
            for i, t in texts.items():
                if t not in memo:
                    memo[t] = position.get(_normalized_choice(t), 0)
                total += int(row_w[i]) * memo[t]
            listed = "{" + ",".join(f'"{s}"' for s in spellings) + "}"
            terms.append(f'SUMPRODUCT({w}*IFERROR(MATCH(SUBSTITUTE(SUBSTITUTE(SUBSTITUTE(LOWER({rng})," ",""),'
                         f'"-",""),"_",""),{listed},0),0))')
        if j in codes:  # short codes and settings: every character counts (Period, Report start, Currency)
            width = codes[j]
            memo = {}
            for i, t in texts.items():
                if t not in memo:
                    memo[t] = sum(k * u for k, u in enumerate(_utf16(t)[:width], start=1))
                total += int(row_w[i]) * memo[t]
            pos = "{" + ",".join(str(k) for k in range(1, width + 1)) + "}"
            terms.append(f"SUMPRODUCT({w}*IF(ISTEXT({rng}),IFERROR(UNICODE(MID({rng},{pos},1)),0)*{pos},0))")
        out.append(("+".join(terms), total))
    return out


# --- engine.audit's cell-by-cell replay before it and the refresh's column-wise path became one verify_trail -------
# (every record parsed from its JSON, every row a dict); unchanged but for the names it imports from engine.audit.
_ABSENT = object()


def apply_in_place(snap: dict, changes) -> None:
    """`apply`, changing `snap` itself (no copy of the rows the changes leave alone: replaying a long trail costs
    its changes, not its entries times the book). On a change that does not fit, `snap` is put back as it was
    and ValueError raised."""
    undo = []  # (rows, key, the row before) in the order changed
    try:
        for change in changes:
            tab, key, action, *pairs = change.record() if isinstance(change, Change) else change
            rows = snap.get(tab)
            if rows is None:
                rows = snap[tab] = {}
                undo.append((snap, tab, _ABSENT))
            if action == ADDED:
                if key in rows:
                    raise ValueError(f"{tab} {key}: added twice")
                undo.append((rows, key, _ABSENT))
                rows[key] = {f: v for f, v in zip(pairs[0::2], pairs[1::2]) if v != ""}
            elif action == REMOVED:
                if key not in rows:
                    raise ValueError(f"{tab} {key}: removed but not there")
                undo.append((rows, key, rows.pop(key)))
            elif action == CHANGED:
                if key not in rows:
                    raise ValueError(f"{tab} {key}: changed but not there")
                fields = dict(rows[key])
                for f, v in zip(pairs[0::2], pairs[1::2]):
                    if v == "":
                        fields.pop(f, None)
                    else:
                        fields[f] = v
                undo.append((rows, key, rows[key]))
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


def changes_digest(records) -> str:
    """sha256 of the changes as the _Snapshot keeps them (Change.record())."""
    return hashlib.sha256(canonical([list(r) for r in records]).encode("utf-8", "surrogatepass")).hexdigest()


def read_snapshot(rows) -> tuple[dict, dict, list]:
    """The _Snapshot rows (row 1 the header) as {entry number: [change records]}, {entry number: (row, hash)}
    and problems of unreadable rows."""
    records, seals, problems = {}, {}, []
    for r, row in enumerate(rows or [], start=1):
        if r == 1:
            continue
        texts = ["" if v is None else v if isinstance(v, str) else cell_text(v) for v in row]
        if not any(texts):
            continue
        number = _whole(row[0] if row else None)
        texts += [""] * (5 - len(texts))
        if number is None:
            problems.append(_problem(r, "an unreadable _Snapshot row: the snapshot was edited", "A",
                                     row[0] if row else None, SNAPSHOT_SHEET))
            continue
        if texts[3] == SEAL:
            seals[number] = (r, texts[4])
            continue
        try:
            pairs = json.loads("".join(texts[4:])) if texts[3] != REMOVED else []
            if not isinstance(pairs, list) or len(pairs) % 2:
                raise ValueError
        except ValueError:
            problems.append(_problem(r, "an unreadable _Snapshot row: the snapshot was edited", "E", None,
                                     SNAPSHOT_SHEET))
            continue
        records.setdefault(number, []).append([texts[1], texts[2], texts[3], *pairs])
    return records, seals, problems


def verify_trail(trail_rows, snapshot_rows_, current: tuple | None = None) -> tuple[list, Trail, dict]:
    """Every problem of the Audit Trail and its _Snapshot: the chain (verify_chain), each entry against its
    _Snapshot seal (an entry deleted from the end shows here), its changes (digest) and the snapshot they give
    (fingerprint, of the last entry), and the change rows shown against the changes recorded. Returns (problems,
    trail, the snapshot after the last entry). current: (snapshot, its fingerprint) of the inputs now, when the
    caller has them (a replayed snapshot equal to it has its fingerprint: an unchanged book is hashed once, not
    twice)."""
    trail = read_trail(trail_rows)
    records, seals, problems = read_snapshot(snapshot_rows_)
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
        # the shown rows' old values come from the snapshot before this entry: taken before it is replayed in place
        expected = detail_rows(changes_from_records(snap, recs[:len(shown)])) if shown else []  # >= 1 row each
        try:
            apply_in_place(snap, recs)
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
        if number == trail.entries[-1].number and _fingerprint_of(snap, current) != e.fingerprint:  # the last
            problems.append(_problem(e.row, f"the inputs replayed to entry {number} no longer give its Input "
                                            f"fingerprint", "F", e.fingerprint))
        for k, (row, cells) in enumerate(shown):
            if cells[0] == MORE and k == len(trail.shown[number]) - 1:
                break
            if k >= len(expected) or cells != [cell_text(v) for v in expected[k]]:
                problems.append(_problem(row, f"this change row of entry {number} differs from the change "
                                              f"recorded in the _Snapshot: it was edited", "B", cells[0]))
    return problems, trail, snap


def _fingerprint_of(snap: dict, current: tuple | None) -> str:
    """fingerprint(snap), or the known fingerprint of `current` = (snapshot, fingerprint) when the two snapshots are
    equal (blank tabs do not count, as in fingerprint)."""
    if current is not None:
        other, known = current
        if {t: v for t, v in snap.items() if v} == {t: v for t, v in other.items() if v}:
            return known
    return snapshot_fingerprint(snap)
