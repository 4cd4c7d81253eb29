"""Data problems as records with a source location, collected and reported all at once."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

ERROR = "error"
WARNING = "warning"


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
