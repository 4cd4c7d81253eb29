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
