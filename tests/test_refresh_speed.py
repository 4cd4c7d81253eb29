"""The fast headless refresh (issue 19, section 2): each speedup that replaces an algorithm is checked here against
the path it replaced or an independent oracle, and a refresh's cost is shown not to grow with the Audit Trail."""
from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bbb_xl.engine import audit
from bbb_xl.excel import audit_trail, headless, template
from bbb_xl.sample import EVENT_COLUMNS, SAMPLE_SETTINGS
from bbb_xl.xlsx_reader import read_sheets

D = dt.datetime
HEADER = ["Contract ID", "Customer", "Line ID", "Product", "Booking Date", "Start Date", "End Date", "Amount",
          "Recognition", "Billing"]
CONTRACTS = [HEADER,
             ["C1", "Acme", "a", "Platform", None, D(2025, 1, 1), D(2025, 12, 31), 12000.0, "monthly", "monthly"],
             ["C1", "Acme", "b", "Support", None, D(2025, 1, 1), D(2025, 12, 31), 2400.0, "monthly", "monthly"],
             ["C2", "Globex", "a", "Platform", None, D(2025, 3, 1), D(2026, 2, 28), 6000.0, "daily", "upfront"]]


# --- replaying the _Snapshot in place ------------------------------------------------------------------------------

def _old_apply(old: dict, changes) -> dict:
    """audit.apply as it was before apply_in_place (a copy of every tab per entry): the oracle."""
    snap = {tab: dict(rows) for tab, rows in old.items()}
    for change in changes:
        tab, key, action, *pairs = change
        rows = snap.setdefault(tab, {})
        if action == audit.ADDED:
            if key in rows:
                raise ValueError(f"{tab} {key}: added twice")
            rows[key] = {f: v for f, v in zip(pairs[0::2], pairs[1::2]) if v != ""}
        elif action == audit.REMOVED:
            if rows.pop(key, None) is None:
                raise ValueError(f"{tab} {key}: removed but not there")
        elif action == audit.CHANGED:
            if key not in rows:
                raise ValueError(f"{tab} {key}: changed but not there")
            fields = dict(rows[key])
            for f, v in zip(pairs[0::2], pairs[1::2]):
                if v == "":
                    fields.pop(f, None)
                else:
                    fields[f] = v
            rows[key] = fields
        else:
            raise ValueError(f"{tab} {key}: unknown action {action!r}")
    return snap


_record = st.tuples(st.sampled_from(["Contracts", "Events"]), st.sampled_from(["C1 / a", "C1 / b", "C2 / a"]),
                    st.sampled_from([audit.ADDED, audit.REMOVED, audit.CHANGED, "renamed"]),
                    st.lists(st.sampled_from(["Amount", "12000", "", "End Date", "2025-12-31"]), max_size=4)
                    ).map(lambda t: [t[0], t[1], t[2], *t[3][:len(t[3]) // 2 * 2]])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(_record, max_size=5), max_size=6))
def test_replay_in_place_gives_what_the_copying_replay_gave_and_a_bad_entry_changes_nothing(entries):
    old_snap: dict = {}
    new_snap: dict = {}
    for records in entries:
        try:
            expected = _old_apply(old_snap, records)
        except ValueError as exc:
            before = {tab: {k: dict(v) for k, v in rows.items()} for tab, rows in new_snap.items()}
            with pytest.raises(ValueError, match=str(exc).split(":")[-1].strip()):
                audit.apply_in_place(new_snap, records)
            assert new_snap == before  # rolled back: the next entry replays on the snapshot before this one
            continue
        audit.apply_in_place(new_snap, records)
        old_snap = expected
        assert new_snap == old_snap
        assert audit.apply(old_snap, []) == old_snap


# --- the book hashed once: verify_trail with the current snapshot gives what it gives without ---------------------

@pytest.fixture
def book(tmp_path):
    path = tmp_path / "book.xlsx"
    template.build_workbook(path, [list(r) for r in CONTRACTS], SAMPLE_SETTINGS, [list(EVENT_COLUMNS)])
    headless.refresh_file(path, refreshed_at=D(2026, 1, 5))
    return path


def _record_tabs(path):
    tabs = read_sheets(path, [], optional=list(audit_trail.AUDIT_TABS))
    return tabs[audit.TRAIL_SHEET], tabs[audit.SNAPSHOT_SHEET]


def test_verify_trail_with_the_current_snapshot_finds_exactly_what_it_finds_without(book):
    trail, snap_rows = _record_tabs(book)
    inputs = audit_trail.read_input_tabs(book)
    current = audit.snapshot_of(inputs)
    known = (current, audit.fingerprint(current))
    assert audit.verify_trail(trail, snap_rows, current=known) == audit.verify_trail(trail, snap_rows)
    assert audit.verify_trail(trail, snap_rows)[0] == []
    # the snapshot recorded and the inputs differ (an edit since): the replayed one is hashed on its own
    edited = {**current, audit.CONTRACTS: {**current[audit.CONTRACTS], "C9 / a": {"Amount": "1"}}}
    assert audit.verify_trail(trail, snap_rows, current=(edited, audit.fingerprint(edited)))[0] == []
    assert known[1] == audit.read_trail(trail).entries[-1].fingerprint
    # a _Snapshot record edited: the digest check still fails with or without the current snapshot
    row = next(i for i, r in enumerate(snap_rows) if r[3] == audit.ADDED)
    tampered = [list(r) for r in snap_rows]
    tampered[row][4] = tampered[row][4].replace("12000", "99999")
    with_known = audit.verify_trail(trail, tampered, current=known)[0]
    assert with_known == audit.verify_trail(trail, tampered)[0]
    assert any("no longer match its Changes digest" in p.message for p in with_known)


def test_prepare_appends_the_same_entry_whether_or_not_every_tab_was_read(book):
    trail, snap_rows = _record_tabs(book)
    inputs = audit_trail.read_input_tabs(book)
    now = D(2026, 1, 6)
    every = audit_trail.prepare(trail, snap_rows, inputs, "refresh", user="u", now=now)
    some = audit_trail.prepare(trail, snap_rows, {t: inputs[t] for t in (audit.CONTRACTS, audit.SETTINGS)},
                               "refresh", user="u", now=now)
    assert every.changes == some.changes == [] and every.problems == some.problems == []
    assert every.entry.fingerprint == some.entry.fingerprint and every.entry.summary == "no changes"
    assert every.entry.fingerprint == audit.fingerprint(audit.snapshot_of(inputs))


def test_a_tab_named_like_a_record_tab_is_still_refused_and_ours_still_pass():
    assert audit_trail._looks_ours(audit.SNAPSHOT_SHEET, None)
    assert audit_trail._looks_ours(audit.SNAPSHOT_SHEET, [[None], [""]])
    assert audit_trail._looks_ours(audit.SNAPSHOT_SHEET, [audit_trail.SNAPSHOT_HEADER, [1, "Contracts"]])
    assert not audit_trail._looks_ours(audit.SNAPSHOT_SHEET, [["my notes"], [1, "x"]])
    assert not audit_trail._looks_ours(audit.SNAPSHOT_SHEET, [[None], ["my notes"]])
    grid = [[audit_trail.TRAIL_TITLE], [], [], audit.ENTRY_COLUMNS]
    assert audit_trail._looks_ours(audit.TRAIL_SHEET, grid)
    assert audit_trail._looks_ours(audit.TRAIL_SHEET, [["x"], [], [], audit.ENTRY_COLUMNS])
    assert not audit_trail._looks_ours(audit.TRAIL_SHEET, [["budget 2026"], [], [], ["Q1"]])
    assert not audit_trail._looks_ours(audit.TRAIL_SHEET, [["budget 2026"]])
