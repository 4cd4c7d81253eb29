"""The reference: the audit trail's and Run Info's hashing as they were before issue 19 §2 (cell by cell), unchanged
but for the imports. tests/test_audit_speed.py checks the column-wise code against it."""
from __future__ import annotations

import hashlib

import numpy as np

from bbb_xl.core.errors import column_letter, excel_error
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
