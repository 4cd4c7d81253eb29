"""The compute functions as they were before the issue 19 §2 compute pass replaced them, kept as the reference the
new paths are tested against (tests/test_compute_series.py). Not used by the product."""
import numpy as np

from bbb_xl.core.dates import iso
from bbb_xl.core.errors import WARNING
from bbb_xl.engine.alerts import Alert, _money
from bbb_xl.engine.sums import sum_by_code


def asset_age(out, rules, book, sel, as_of):
    """engine.alerts._asset_age as it was: the window read for every contract."""
    days = rules.get("contract asset age")
    if days is None or not len(sel):
        return
    window = np.arange(as_of - days, as_of + 1, dtype=np.int64)
    codes = book.lines.contract_code[sel]
    uniq, local = np.unique(codes, return_inverse=True)
    net = np.zeros((len(uniq), len(window)), dtype=np.int64)
    for idx, _ in book._chunks(sel):
        part = book.cumulative("billings", idx, window) - book.cumulative("revenue", idx, window)
        pos = np.searchsorted(sel, idx)
        net += sum_by_code(part, local[pos], len(uniq))
    for k in np.flatnonzero((net < 0).all(axis=1)):
        i = int(sel[np.flatnonzero(codes == uniq[k])[0]])
        out.append(Alert(WARNING, "contract asset age", iso(as_of),
                         f"{book.lines.contract[i]} ({book.lines.customer[i]}): contract asset "
                         f"{_money(-int(net[k, -1]))}", f"more than {days} days",
                         f"Contract {book.lines.contract[i]} has had revenue ahead of billing for more than {days} "
                         f"days: invoice it, or check its billing terms.", as_of))


def groups(book, group_by, sel):
    """Book._groups as it was: each line's text keyed one by one."""
    from bbb_xl.engine.table import key_of
    if not group_by:
        return [], None
    _, values = book.column_text(group_by)
    display = {}
    for v in values[sel]:
        display.setdefault(key_of(v), v if v else "(blank)")
    ordered = sorted(display, key=lambda k: (k == "", k))
    code_of = {k: i for i, k in enumerate(ordered)}
    codes = np.fromiter((code_of.get(key_of(v), -1) for v in values), dtype=np.int64, count=len(values))
    return [display[k] for k in ordered], codes


def renewals_due(out, book, sel, as_of, days):
    """The renewals-due part of engine.alerts._arr_rules as it was: every line of sel looked at in Python."""
    from bbb_xl.core.errors import INFO
    from bbb_xl.core.money import round_half_away
    from bbb_xl.engine.alerts import FOLLOW_DAYS
    from bbb_xl.engine.metrics import _change_records, line_mrr, recurring_mask
    known = book.as_of(as_of)
    lines, recurring, records = known.lines, recurring_mask(known), _change_records(known)
    changes = known.events.changes
    key = [(str(c).casefold(), str(p).casefold()) for c, p in
           zip(lines.customer, lines.dims.get("Product", np.full(len(lines), "", dtype=object)))]
    booked_starts = {}
    for k in np.flatnonzero(lines.booking <= as_of).tolist():
        booked_starts.setdefault(key[k], []).append((k, int(lines.start[k])))
    for i in sel.tolist():
        if not recurring[i] or (lines.renews is not None and lines.renews[i]):
            continue
        state = changes.lines.get(i) if changes is not None else None
        if state is not None and state.cancelled is not None and state.cancelled <= as_of:
            continue
        end = int(state.end) if state is not None else int(lines.end[i])
        if not as_of < end <= as_of + days:
            continue
        if any(k != i and end < start <= end + FOLLOW_DAYS for k, start in booked_starts.get(key[i], ())):
            continue
        mrr = line_mrr(known, i, as_of, records.get(i))
        arr = round_half_away(12 * mrr.numerator, mrr.denominator)
        if arr <= 0:
            continue
        product = key[i][1] and f", {lines.dims['Product'][i]}"
        line_id = f" line {lines.line_id[i]}" if lines.line_id[i] else ""
        out.append(Alert(INFO, "renewals due", iso(end), f"{lines.contract[i]}{line_id} ({lines.customer[i]}"
                         f"{product}): ARR {_money(arr)}", f"within {days} days",
                         f"{lines.contract[i]}{line_id} ends on {iso(end)} with no renewal booked yet.", as_of, -arr))


def bookings_rows(book, boo_p, dim):
    """reports.bookings_sheet's rows of one column as they were: a mask per value (case ignored)."""
    _, values = book.column_text(dim)
    keys = np.array([v.casefold() for v in values], dtype=object)
    uniq = sorted(set(keys.tolist()), key=lambda k: (k == "", k))
    body, mat = [], []
    for key in uniq:
        mask = keys == key
        body.append([next(v for v in values[mask]) or "(blank)"])
        vals = boo_p[mask].sum(axis=0)
        mat.append(list(vals) + [int(vals.sum())])
    return body, np.array(mat, dtype=np.int64).reshape(len(body), boo_p.shape[1] + 1)
