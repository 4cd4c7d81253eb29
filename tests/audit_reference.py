"""The reference: the audit trail's and Run Info's hashing as they were before issue 19 §2 (cell by cell), unchanged
but for the imports. tests/test_audit_speed.py checks the column-wise code against it."""
from __future__ import annotations

import hashlib


def fingerprint(rows) -> str:
    """reports.model.fingerprint before issue 19: one update per cell."""
    h = hashlib.sha256()
    for row in rows or []:
        for v in row:
            h.update(f"{type(v).__name__}:{v!r}\x1f".encode("utf-8", "surrogatepass"))
        h.update(b"\x1e")
    return h.hexdigest()
