"""The reference: the line-level CSV path as it was before issue 19 §2 (csv19), unchanged but for the imports.
tests/test_line_csv.py checks core.decimal_text, reports.model.money_texts, reports.waterfall.LineRows and
files.csv_text against it: the same text, byte for byte.

reports/model.py money_texts, reports/waterfall.py csv_money and LineRows (a list of rows), files.py write_csv and
csv_text (neutralize and _one_cell are shared: they did not change)."""
from __future__ import annotations

import csv
import io
from decimal import Decimal

import numpy as np

from bbb_xl.files import _one_cell, neutralize


def money_texts(cents: np.ndarray) -> list[list[str]]:
    """money_text of every cell of an int cents matrix, vectorised where it matters (line-level CSVs)."""
    v = np.asarray(cents, dtype=np.int64)
    a = np.abs(v)
    whole = (a // 100).astype(str)
    frac = np.char.zfill((a % 100).astype(str), 2)
    text = np.char.add(np.char.add(np.where(v < 0, "-", ""), whole), np.char.add(".", frac))
    return text.tolist()


def csv_money(cents: np.ndarray) -> list[list]:
    """Rows of money cells for a CSV: every cell a number. Negative amounts are Decimal, since CSV writing
    neutralises text starting with '-' against formula injection ('-300.00 would read back as text); the
    others stay exact text (cheaper for line-level files of a million lines, and never neutralised)."""
    out = money_texts(cents)
    for i, j in np.argwhere(np.asarray(cents) < 0):
        out[i][j] = Decimal(out[i][j])
    return out


class LineRows(list):
    """A line-level CSV's rows: the header, then per line its text cells and, from column `numbers_from` (0-based)
    on, its money as csv_money gives it (texts of digits or negative Decimals: numbers, which CSV neutralising
    leaves alone). files.write_csv then neutralises the few text columns only, not four million figures."""

    def __init__(self, rows, numbers_from: int):
        super().__init__(rows)
        self.numbers_from = numbers_from


def line_rows(header, line_text, cents) -> LineRows:
    """What waterfall_sheet appended to csv_out above the Detail line limit (line_text: lists of cells)."""
    money = csv_money(cents)
    n = len(money)
    return LineRows([header] + [[t[i] for t in line_text] + money[i] for i in range(n)], len(line_text))


def write_csv(rows, out) -> None:
    writer = csv.writer(out, lineterminator="\n")
    k = getattr(rows, "numbers_from", None)
    if k is None:
        for row in rows:
            writer.writerow([_one_cell(neutralize(v)) for v in row])
        return
    it = iter(rows)
    for row in it:  # the header, as any row
        writer.writerow([_one_cell(neutralize(v)) for v in row])
        break
    writer.writerows([_one_cell(neutralize(v)) for v in row[:k]] + row[k:] for row in it)


def csv_text(rows) -> str:
    buf = io.StringIO()
    write_csv(rows, buf)
    return buf.getvalue()
