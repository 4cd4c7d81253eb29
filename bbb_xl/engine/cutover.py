"""Opening balances at a cutover day, for books moving from another system (docs/cutover.md).

History is not recomputed. A line with an opening row (Contract ID, Line ID, Recognized to Date, Billed to Date)
is read as an equivalent line in two parts:

* a lump on the cutover day c: the legacy recognized R and billed B, so the balances at the end of c are the
  legacy balances exactly (deferred and contract asset netted per contract as for every line);
* from c + 1 an ordinary line: the remaining price (allocated Amount - R) is recognized over c + 1 .. End Date
  by the line's method (a point in time line delivered after c takes it on delivery; a line whose window ends
  on or before c takes it on c + 1, with a warning); the remaining billing (Amount - B) is shared by the
  invoices scheduled after c in proportion to their schedule weights (cumulative rounding, so they sum to it
  exactly), or billed on c + 1 when no scheduled invoice is left.

Periods ending on or before c are legacy (Book.is_legacy): their figures are the lump, not history.
"""
from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np

from ..core.dates import iso, parse_date
from ..core.errors import ERROR, WARNING, Problem
from ..core.money import mul_div_round, parse_amount
from .billing import Invoices, billing_periods
from .recognition import POINT_IN_TIME, recognition_basis, recognized_to_date
from .table import _Collector, _trim, display_text, is_blank, key_of, normalize_header

OPENING_SHEET = "Opening Balances"
OPENING_COLUMNS = ("Contract ID", "Line ID", "Recognized to Date", "Billed to Date")
SETTINGS_SHEET = "Settings"
CUTOVER_SETTING = "Cutover Date"


@dataclass(frozen=True)
class Cutover:
    """Per line of a book: whether it has an opening row and its legacy recognized / billed cents."""

    day: int
    has_opening: np.ndarray  # bool per line
    recognized: np.ndarray  # cents per line (0 without an opening row)
    billed: np.ndarray

    @property
    def lines(self) -> np.ndarray:
        return np.flatnonzero(self.has_opening)

    def recognized_to_date(self, lines, idx: np.ndarray, days: np.ndarray, pit_start=None) -> np.ndarray:
        """(idx, days) cents recognized by the end of each day for lines idx (all with an opening row): R from
        the cutover day on, plus the remaining price over the window from c + 1."""
        c = self.day
        days = np.asarray(days, dtype=np.int64)
        start = lines.start[idx] if pit_start is None else pit_start[idx]
        pit = lines.recognition[idx] == POINT_IN_TIME
        first = np.maximum(start, c + 1)
        last = np.where(pit, first, np.maximum(lines.end[idx], c + 1))
        basis = recognition_basis(SimpleNamespace(recognition=lines.recognition[idx], start=first, end=last))
        remaining = lines.allocated[idx] - self.recognized[idx]
        after = recognized_to_date(SimpleNamespace(amount=remaining, booking=lines.booking[idx]), basis, days)
        return after + np.where(days[None, :] >= c, self.recognized[idx][:, None], 0)

    def invoices(self, lines) -> Invoices:
        """The invoices of the lines with an opening row: B on the cutover day, then Amount - B over the invoices
        scheduled after it by their weights, or on c + 1 when none is left. Zero invoices are left out."""
        c = self.day
        cut = self.lines
        sub = lines.take(cut)
        line, date, weight, p_first, p_last, _, _ = billing_periods(sub)
        later = date > c
        line, date, weight, p_first, p_last = line[later], date[later], weight[later], p_first[later], p_last[later]
        remaining = sub.amount - self.billed[cut]
        none_left = np.ones(len(cut), dtype=bool)
        none_left[line] = False
        parts_line = [np.arange(len(cut)), np.flatnonzero(none_left)]
        parts_date = [np.full(len(cut), c), np.full(int(none_left.sum()), c + 1)]
        parts_amount = [self.billed[cut], remaining[none_left]]
        parts_first, parts_last = [np.full(len(cut), c)] + [parts_date[1]], [np.full(len(cut), c), parts_date[1]]
        if len(line):
            order = np.lexsort((date, line))
            line, date, weight, p_first, p_last = line[order], date[order], weight[order], p_first[order], \
                p_last[order]
            starts = np.flatnonzero(np.r_[True, line[1:] != line[:-1]])
            count = np.diff(np.r_[starts, len(line)])
            cum = np.cumsum(weight)
            cum -= np.repeat(cum[starts] - weight[starts], count)  # cumulative within each line
            total = np.repeat(cum[starts + count - 1], count)
            billed = mul_div_round(remaining[line], cum, total)
            amount = billed.copy()
            amount[1:] -= billed[:-1]
            amount[starts] = billed[starts]
            parts_line.append(line)
            parts_date.append(date)
            parts_amount.append(amount)
            parts_first.append(p_first)
            parts_last.append(p_last)
        line, date, amount, first, last = (np.concatenate(p).astype(np.int64) for p in
                                           (parts_line, parts_date, parts_amount, parts_first, parts_last))
        keep = amount != 0
        line, date, amount, first, last = cut[line[keep]], date[keep], amount[keep], first[keep], last[keep]
        order = np.lexsort((date, line))
        return Invoices(line[order], date[order], amount[order], first[order], last[order])


def parse_cutover_day(value, options=None, sheet: str | None = SETTINGS_SHEET, cell: str | None = None):
    """(day or None, problems) for a Cutover Date cell (a date, an Excel serial or text): blank is none; a value
    that is not a date is a located error."""
    if value is None or is_blank(value):
        return None, []
    try:
        return parse_date(value, options), []
    except ValueError as exc:
        return None, [Problem(None, CUTOVER_SETTING, value, f"Cutover Date: {exc}", ERROR, sheet, cell)]


def apply_opening(lines, opening, cutover: int | None, blocked: np.ndarray | None = None,
                  sheet: str | None = OPENING_SHEET, origin=None, options=None):
    """(Cutover or None, problems) for a book's lines and an opening-balances range (rows with a header row).
    blocked: bool per line, lines whose opening row is refused (they have events: not supported yet)."""
    rows = _trim([list(r) for r in _rows(opening)])
    if not rows or all(is_blank(v) for v in rows[0]):
        return None, []
    header = [display_text(v) for v in rows[0]]
    out = _Collector(sheet, origin, header, table="opening")
    col_of = {}
    for j, name in enumerate(header):
        norm = normalize_header(name)
        for want in OPENING_COLUMNS:
            if norm == normalize_header(want):
                col_of[want] = j
    missing = [w for w in OPENING_COLUMNS if w not in col_of]
    if missing:
        out.add(0, None, ", ".join(header), f"Opening Balances: missing column{'s' if len(missing) > 1 else ''} "
                f"{', '.join(missing)} (columns: {', '.join(OPENING_COLUMNS)})")
        return None, out.problems
    body = [(r, row) for r, row in enumerate(rows) if r and not all(is_blank(v) for v in row)]
    if body and cutover is None:
        out.add(body[0][0], None, None, "Opening Balances has rows but there is no Cutover Date (Settings): "
                "the opening figures are balances at the end of the cutover day")
        return None, out.problems
    if cutover is None:
        return None, out.problems
    n = len(lines)
    index: dict = {}
    for i in range(n):
        index.setdefault((key_of(lines.contract[i]), key_of(lines.line_id[i])), []).append(i)
    has = np.zeros(n, dtype=bool)
    rec = np.zeros(n, dtype=np.int64)
    bil = np.zeros(n, dtype=np.int64)
    seen: dict = {}
    for r, row in body:
        cell = {k: (row[j] if j < len(row) else None) for k, j in col_of.items()}
        contract, line_id = display_text(cell["Contract ID"]), display_text(cell["Line ID"])
        found = index.get((key_of(contract), key_of(line_id)), [])
        if not found:
            what = f"Contract ID '{contract}' Line ID '{line_id}'" if line_id else f"Contract ID '{contract}'"
            out.add(r, col_of["Contract ID"], contract, f"{what} is not a line of the contracts")
            continue
        if len(found) > 1:
            out.add(r, col_of["Line ID"], line_id, f"Contract ID '{contract}' Line ID '{line_id}' matches "
                    f"{len(found)} lines: give each line its own Line ID")
            continue
        i = found[0]
        if (i in seen):
            out.add(r, col_of["Line ID"], line_id, f"a second opening row for this line (first on row "
                    f"{seen[i] + 1})")
            continue
        seen[i] = r
        money = {}
        for name in ("Recognized to Date", "Billed to Date"):
            v = cell[name]
            try:
                cents = 0 if is_blank(v) else parse_amount(v, options)
            except ValueError as exc:
                out.add(r, col_of[name], v, f"{name}: {exc}")
                continue
            if cents < 0:
                out.add(r, col_of[name], v, f"{name} is negative: opening figures are cumulative amounts >= 0")
                continue
            money[name] = cents
        if len(money) < 2:
            continue
        r_c, b_c = money["Recognized to Date"], money["Billed to Date"]
        price, amount = int(lines.allocated[i]), int(lines.amount[i])
        if r_c > price:
            out.add(r, col_of["Recognized to Date"], cell["Recognized to Date"],
                    f"Recognized to Date {_money(r_c)} is more than the line's price {_money(price)}")
            continue
        if b_c > amount:
            out.add(r, col_of["Billed to Date"], cell["Billed to Date"],
                    f"Billed to Date {_money(b_c)} is more than the line's Amount {_money(amount)}")
            continue
        if int(lines.booking[i]) > cutover:
            out.add(r, col_of["Contract ID"], contract, f"the line is booked on {iso(int(lines.booking[i]))}, "
                    f"after the cutover {iso(cutover)}: leave it out of Opening Balances")
            continue
        if blocked is not None and blocked[i]:
            out.add(r, col_of["Contract ID"], contract, "the line has events (invoices, milestones, percent "
                    "complete, modify or cancel): opening balances for such lines are not supported yet")
            continue
        if int(lines.end[i]) <= cutover and r_c < price:
            out.add(r, col_of["Recognized to Date"], cell["Recognized to Date"],
                    f"the line ends on {iso(int(lines.end[i]))}, on or before the cutover, with "
                    f"{_money(price - r_c)} not recognized: it is recognized on {iso(cutover + 1)}", WARNING)
        has[i], rec[i], bil[i] = True, r_c, b_c
    if not has.any():
        return None, out.problems
    return Cutover(int(cutover), has, rec, bil), out.problems


def _rows(data):
    if hasattr(data, "columns") and hasattr(data, "itertuples"):
        from .table import _as_rows
        return _as_rows(data)
    if data is None:
        return []
    if isinstance(data, (list, tuple)) and data and not isinstance(data[0], (list, tuple)):
        return [list(data)]
    return list(data)


def _money(cents: int) -> str:
    from ..core.money import format_money
    return format_money(cents)
