"""How text in a file is read: decimal separator, date order and time zone (Settings rows or CLI options).

One small frozen value passed from the faces (Settings, `--decimal-comma`, `--date-order`) through the parsers to
core.money.parse_amount and core.dates.parse_date. The default reads what a spreadsheet writes in an ISO locale:
1,200.50 and 2025-03-15.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

DATE_ORDERS = ("ISO", "MDY", "DMY")


@dataclass(frozen=True)
class ParseOptions:
    decimal_comma: bool = False  # amounts are written 1.500,25 (a comma before the cents)
    date_order: str = "ISO"  # ISO: only 2025-03-15; MDY: 03/15/2025 too; DMY: 15/03/2025 too
    time_zone: str = "UTC"  # IANA name: a date-time with Z or an offset is converted to it before its date is taken
    comma_ambiguous: bool = False  # set by the reader of a ;-delimited file: 1,500 may be 1.5 or 1500

    def __post_init__(self):
        if self.date_order not in DATE_ORDERS:
            raise ValueError(f"date order '{self.date_order}' is not one of {', '.join(DATE_ORDERS)}")

    @property
    def zone(self):
        return time_zone(self.time_zone)


DEFAULT = ParseOptions()


@lru_cache(maxsize=32)
def time_zone(name: str):
    """The zoneinfo zone of an IANA name (ValueError naming it when unknown)."""
    from zoneinfo import ZoneInfo
    try:
        return ZoneInfo(str(name).strip())
    except Exception:  # noqa: BLE001 - ZoneInfoNotFoundError, ValueError for odd keys, OSError for directories
        raise ValueError(f"'{name}' is not an IANA time zone (UTC, America/New_York, Europe/Paris, Asia/Tokyo...)") \
            from None


def normalize_date_order(value: object) -> str | None:
    """ISO / MDY / DMY from the spellings people use (mdy, M/D/Y, mm/dd/yyyy, yyyy-mm-dd), or None."""
    letters = "".join(ch for ch in str(value).casefold() if ch.isalpha())
    if letters in ("iso", "ymd", "yyyymmdd", "iso8601"):
        return "ISO"
    collapsed = "".join(ch for i, ch in enumerate(letters) if i == 0 or ch != letters[i - 1])
    return {"mdy": "MDY", "dmy": "DMY", "us": "MDY"}.get(collapsed)
