"""Record tabs: tabs that only their own commands write (close and reopen; the audit trail, appended by every
refresh, import, close and reopen), never rewritten by refresh, upgrade or clear-sample. Every face asks `is_record_tab` before rewriting a tab."""
from __future__ import annotations

from ..engine.audit import SNAPSHOT_SHEET, TRAIL_SHEET

CLOSED_PERIODS = "Closed Periods"
RECORD_TABS = (CLOSED_PERIODS, TRAIL_SHEET, SNAPSHOT_SHEET)


def is_record_tab(name: str) -> bool:
    """True for a tab refresh never rewrites (names compared as Excel does: case-insensitively)."""
    return str(name or "").casefold() in {t.casefold() for t in RECORD_TABS}


__all__ = ["RECORD_TABS", "CLOSED_PERIODS", "is_record_tab"]
