"""Data problems as records with a source location, collected and reported all at once."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

# Excel error values, as text and as the COM error codes xlwings' raw converter hands over.
EXCEL_ERROR_TEXT = {"#N/A", "#REF!", "#DIV/0!", "#VALUE!", "#NAME?", "#NULL!", "#NUM!", "#GETTING_DATA",
                    "#SPILL!", "#CALC!", "#FIELD!", "#BLOCKED!", "#UNKNOWN!", "#BUSY!", "#CONNECT!"}
EXCEL_ERROR_CODES = {
    -2146826288: "#NULL!", -2146826281: "#DIV/0!", -2146826273: "#VALUE!", -2146826265: "#REF!",
    -2146826259: "#NAME?", -2146826252: "#NUM!", -2146826246: "#N/A",
}

ERROR = "error"  # the contract is left out of every figure
WARNING = "warning"  # figures computed, but probably not what was meant: check the input
INFO = "info"  # a notice: how the input was read (a defaulted column), nothing to fix


def excel_error(value: object) -> str | None:
    """The Excel error a cell holds (`#N/A`...), or None."""
    if type(value) is int and value in EXCEL_ERROR_CODES:
        return EXCEL_ERROR_CODES[value]
    if isinstance(value, str) and value.strip().upper() in EXCEL_ERROR_TEXT:
        return value.strip().upper()
    return None


def column_letter(index: int) -> str:
    """1 -> A, 27 -> AA."""
    letters = ""
    while index > 0:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def show_value(value: object) -> str:
    """A cell value as a user would recognise it in a message."""
    if value is None:
        return "(blank)"
    err = excel_error(value)
    if err:
        return err
    if hasattr(value, "isoformat"):
        if hasattr(value, "tzinfo") and value.tzinfo is not None:
            value = value.replace(tzinfo=None)  # COM hands Excel's (zone-less) dates as UTC-aware datetimes
        text = value.isoformat()
        return text[:10] if text.endswith("T00:00:00") or len(text) == 10 else text
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


@dataclass(frozen=True)
class Problem:
    """One problem in the input. `row` is 1-based within the range (row 1 is the header row)."""

    row: int | None
    column: str | None
    value: object
    message: str
    severity: str = ERROR
    sheet: str | None = None
    cell: str | None = None  # A1 address on the sheet when the range's origin is known
    table: str | None = None  # which input range: None = contracts (or settings), "events" = the events range

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    @property
    def location(self) -> str:
        if self.cell:
            return f"{self.sheet}!{self.cell}" if self.sheet else self.cell
        parts = []
        if self.sheet:
            parts.append(self.sheet)
        if self.row is not None:
            parts.append(f"row {self.row}")
        return " ".join(parts)

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message


class BBBError(Exception):
    """Raised by the library when a question cannot be answered; carries the problems."""

    def __init__(self, problems: Iterable[Problem] | str):
        if isinstance(problems, str):
            problems = [Problem(None, None, None, problems)]
        self.problems = tuple(problems)
        super().__init__(self.summary())

    def summary(self) -> str:
        """`#BBB! row 7: End Date ... (and 3 more problems: see BBB_CHECK)`."""
        errors = [p for p in self.problems if p.is_error] or list(self.problems)
        first = errors[0]
        text = f"#BBB! {first}"
        more = len(errors) - 1
        if more:
            text += f" (and {more} more problem{'s' if more > 1 else ''}: see BBB_CHECK)"
        return text


def errors_only(problems: Iterable[Problem]) -> list[Problem]:
    return [p for p in problems if p.is_error]


def warnings_only(problems: Iterable[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == WARNING]
