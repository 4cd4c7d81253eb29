"""The filter grammar of every `filter` argument and `--filter` option, and its matching against a book's columns.

    Region=EMEA                  lines whose Region is EMEA (names and values ignore case)
    Region=EMEA|AMER             any of the values
    Region!=APAC                 all but these values (blank Region included)
    Customer="Acme | Co"         a value holding | ; = or " is quoted ("" is a quote inside quotes)
    Customer=Acme, Inc.          a comma is part of the value
    Region=EMEA; Segment=SMB     clauses separated by ; must all hold

A value that matches no line never passes silently as a table of zeros: `strict` (the command line) refuses it
with the existing values; otherwise (the formulas) a value close to an existing one is a typo and refused with the
suggestion, and any other is allowed (a region without lines yet gives 0) and reported as a `Miss`.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..core.errors import BBBError

SHOWN_VALUES = 10  # existing values listed in a refusal


@dataclass(frozen=True)
class Clause:
    """One `Column=V1|V2` (or `Column!=...`) clause: the values as written, unquoted."""

    column: str
    values: tuple[str, ...]
    exclude: bool
    text: str  # the clause as written, for messages


@dataclass(frozen=True)
class ColumnKeys:
    """A column's distinct values: case-folded keys (sorted), the text shown for each, and each line's key."""

    name: str  # display name
    keys: dict  # distinct case-folded value -> its code
    shown: tuple[str, ...]  # a display text per key
    inverse: np.ndarray  # per line: index into keys
    typos: dict = field(default_factory=dict, compare=False, repr=False)  # value -> typo_of (a formula's recalcs)


@dataclass(frozen=True)
class Miss:
    """A filter value no line has (allowed in formulas: it gives 0)."""

    clause: str
    column: str
    value: str
    existing: tuple[str, ...]


@dataclass(frozen=True)
class Selection:
    indices: np.ndarray
    misses: tuple[Miss, ...]


def column_keys(name: str, values: np.ndarray) -> ColumnKeys:
    """Distinct values of a column (text per line), compared case-insensitively; the first spelling met in the
    range is the one shown. np.unique on fixed-width text (C speed: 200,000 Contract IDs in ~0.1 s)."""
    if not len(values):
        return ColumnKeys(name, {}, (), np.zeros(0, dtype=np.int64))
    texts = np.asarray(["" if v is None else v for v in values.tolist()], dtype=str)
    uniq, first, inverse = np.unique(texts, return_index=True, return_inverse=True)
    raw = uniq.tolist()
    folded = [t.casefold() for t in raw]
    keys = dict(zip(folded, range(len(folded))))
    if len(keys) == len(folded):  # no two spellings of one value: the distinct texts are the keys
        return ColumnKeys(name, keys, tuple(raw), inverse.ravel().astype(np.int64))
    keys, shown = {}, []
    remap = np.empty(len(raw), dtype=np.int64)
    for j in np.argsort(first, kind="stable").tolist():  # in order of first appearance
        k = keys.setdefault(folded[j], len(keys))
        if k == len(shown):
            shown.append(raw[j])
        remap[j] = k
    return ColumnKeys(name, keys, tuple(shown), remap[inverse.ravel()])


# --- parsing ------------------------------------------------------------------------------------------------------

def parse(text) -> tuple[Clause, ...]:
    """The clauses of a filter text (empty for a blank filter); BBBError for text that is not the grammar."""
    if text is None or not str(text).strip():
        return ()
    text = str(text)
    clauses = []
    for raw in _split(text, ";", text):
        if not _unquoted_text(raw).strip():
            continue
        clauses.append(_clause(raw, text))
    return tuple(clauses)


def _split(text: str, sep: str, whole: str) -> list[str]:
    """Split on sep outside double quotes (quotes kept in the parts)."""
    parts, current, quoted = [], [], False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        if ch == sep and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    if quoted:
        raise BBBError(f"filter '{whole.strip()}' has an unclosed quote (\")")
    parts.append("".join(current))
    return parts


def _unquoted_text(part: str) -> str:
    return part.replace('"', "")


def _clause(raw: str, whole: str) -> Clause:
    shown = raw.strip()
    eq = _first_unquoted(raw, "=")
    if eq < 0:
        raise BBBError(f"filter '{shown}' is not Column=Value")
    exclude = eq > 0 and raw[eq - 1] == "!"
    column = _value(raw[: eq - 1 if exclude else eq])
    rest = raw[eq + 1:]
    if not column:
        raise BBBError(f"filter '{shown}' has no column name before '{'!=' if exclude else '='}'")
    if rest.lstrip().startswith("="):
        right = f"{column}={rest.lstrip()[1:].strip()}"
        raise BBBError(f"filter '{shown}': write one '=' ({right}); '|' separates values, '!=' excludes")
    values = []
    for part in _split(rest, "|", whole):
        if _first_unquoted(part, "=") >= 0:
            bad = _value(part)
            raise BBBError(f"filter '{shown}': quote a value that contains '=' ({column}=\"{bad}\")")
        values.append(_value(part))
    return Clause(column, tuple(values), exclude, shown)


def _first_unquoted(text: str, ch: str) -> int:
    quoted = False
    for i, c in enumerate(text):
        if c == '"':
            quoted = not quoted
        elif c == ch and not quoted:
            return i
    return -1


def _value(part: str) -> str:
    """A value as written: unquoted spaces at either end dropped, quoted text kept as is, "" inside quotes = "."""
    chars: list[tuple[str, bool]] = []
    quoted, i = False, 0
    while i < len(part):
        c = part[i]
        if c == '"':
            if quoted and i + 1 < len(part) and part[i + 1] == '"':
                chars.append(('"', True))
                i += 2
                continue
            quoted = not quoted
        else:
            chars.append((c, quoted))
        i += 1
    while chars and not chars[0][1] and chars[0][0].isspace():
        chars.pop(0)
    while chars and not chars[-1][1] and chars[-1][0].isspace():
        chars.pop()
    return "".join(c for c, _ in chars)


# --- matching -----------------------------------------------------------------------------------------------------

def select(text, n_lines: int, column: Callable[[str], ColumnKeys], strict: bool = False) -> Selection:
    """The lines a filter keeps (all clauses must hold), and the values that matched no line.

    strict: an unmatched value is an error listing existing values (the command line). Otherwise only an
    unmatched value that looks like a typo of an existing one is an error; the others are returned as misses."""
    clauses = parse(text)
    if not clauses:
        return Selection(np.arange(n_lines), ())
    mask = np.ones(n_lines, dtype=bool)
    misses = []
    for clause in clauses:
        col = column(clause.column)
        _refuse_unquoted_bar(clause, col)
        wanted = np.zeros(len(col.keys), dtype=bool)
        for value in clause.values:
            k = col.keys.get(value.casefold())
            if k is not None:
                wanted[k] = True
                continue
            _refuse_if_needed(clause, col, value, strict)
            misses.append(Miss(clause.text, col.name, value, col.shown))
        hit = wanted[col.inverse] if len(col.keys) else np.zeros(n_lines, dtype=bool)
        mask &= ~hit if clause.exclude else hit
    return Selection(np.flatnonzero(mask), tuple(misses))


def _refuse_unquoted_bar(clause: Clause, col: ColumnKeys) -> None:
    """Customer=Acme | Co where a customer is named "Acme | Co": the | was meant as part of the value."""
    if len(clause.values) < 2:
        return
    joined = "".join("|".join(clause.values).casefold().split())
    for shown in col.shown:
        if "|" in shown and "".join(shown.casefold().split()) == joined:
            op = "!=" if clause.exclude else "="
            raise BBBError(f"filter '{clause.text}': '|' separates values; quote a value that contains it "
                           f"({col.name}{op}{_quoted(shown)})")


def _refuse_if_needed(clause: Clause, col: ColumnKeys, value: str, strict: bool) -> None:
    """Raise for a value no line has when it must not pass as a silent zero (see the module docstring)."""
    op = "!=" if clause.exclude else "="
    parts = [p.strip().casefold() for p in value.split(",")]
    if len(parts) > 1 and all(p in col.keys for p in parts):  # Region=EMEA,AMER: a list written the spreadsheet way
        listed = "|".join(col.shown[col.keys[p]] for p in parts)
        raise BBBError(f"filter '{clause.text}': no line has {col.name} '{value}' (a comma is part of a value); "
                       f"for any of several values write {col.name}{op}{listed}")
    if value not in col.typos:
        col.typos[value] = typo_of(value, col.shown)
    close = col.typos[value]
    if strict:
        mean = close or next(iter(_similar(value, col.shown, cutoff=0.6)), None)
        hint = f" (did you mean {col.name}{op}{_quoted(mean)}?)" if mean else ""
        raise BBBError(f"filter '{clause.text}': no line has {col.name} '{value}'{hint}. {_existing(value, col)}")
    if close is not None:
        raise BBBError(f"filter '{clause.text}': no line has {col.name} '{value}' (did you mean "
                       f"{col.name}{op}{_quoted(close)}?)")


def _similar(value: str, existing, cutoff: float = 0.0) -> list[str]:
    """Non-blank existing values, most similar to value first (case ignored): fewest edits, then difflib's
    ratio; with cutoff, only those whose ratio reaches it. Edits are counted for all values at once (numpy), the
    ratio only for the nearest few, so a column of 200,000 IDs answers in a fraction of a second."""
    candidates = [s for s in dict.fromkeys(existing) if s]
    if not candidates:
        return []
    distance = edit_distances(value.casefold(), [s.casefold() for s in candidates])
    nearest = np.argsort(distance, kind="stable")[:50].tolist()
    folded = value.casefold()
    ratio = {j: difflib.SequenceMatcher(None, folded, candidates[j].casefold()).ratio() for j in nearest}
    ranked = sorted(nearest, key=lambda j: (int(distance[j]), -ratio[j], candidates[j].casefold()))
    rest = [candidates[j] for j in np.argsort(distance, kind="stable")[50:].tolist()] if not cutoff else []
    return [candidates[j] for j in ranked if ratio[j] >= cutoff] + rest


def _existing(value: str, col: ColumnKeys) -> str:
    """Up to SHOWN_VALUES existing values, the most similar first."""
    if not any(col.shown):
        return f"No line has a {col.name}."
    ordered = _similar(value, col.shown)
    if len(ordered) <= SHOWN_VALUES:
        ordered.sort(key=str.casefold)
    listed = ", ".join(_quoted(s) for s in ordered[:SHOWN_VALUES])
    more = len(ordered) - SHOWN_VALUES
    return f"{col.name} values{' (most similar first)' if more > 0 else ''}: {listed}" + \
        (f" and {more} more" if more > 0 else "")


def _quoted(value: str) -> str:
    return f'"{value}"' if any(c in value for c in '|;="') or value != value.strip() else value


def typo_of(value: str, existing) -> str | None:
    """The existing value `value` is most likely a typo of: the same letters ignoring case and spaces, or at most
    2 edits (insert, delete, replace a character, case ignored) away. None when none is that close; a blank is
    never a typo of a value, nor a value of a blank."""
    folded = value.casefold()
    squeezed = "".join(folded.split())
    if not squeezed:
        return None
    candidates = [s for s in existing if s]
    for candidate in candidates:
        if "".join(candidate.casefold().split()) == squeezed:
            return candidate
    near = [s for s in candidates if abs(len(s.casefold()) - len(folded)) <= 2]
    if not near:
        return None
    distance = edit_distances(folded, [s.casefold() for s in near])
    best = int(np.argmin(distance))
    return near[best] if distance[best] <= 2 else None


def edit_distances(a: str, others: list[str]) -> np.ndarray:
    """Levenshtein distance from a to each of others, computed for all others of one length at once (numpy rows:
    len(a) x length vector steps per length instead of a Python loop per string)."""
    out = np.zeros(len(others), dtype=np.int64)
    lengths = np.fromiter(map(len, others), dtype=np.int64, count=len(others))
    target = np.fromiter(map(ord, a), dtype=np.int64, count=len(a))
    for m in np.unique(lengths).tolist():
        idx = np.flatnonzero(lengths == m)
        if m == 0:
            out[idx] = len(a)
            continue
        chars = np.frombuffer("".join(others[i] for i in idx.tolist()).encode("utf-32-le"),
                              dtype=np.uint32).reshape(len(idx), m).astype(np.int64)
        previous = np.broadcast_to(np.arange(m + 1), (len(idx), m + 1)).copy()
        for i, ca in enumerate(target.tolist(), start=1):
            best = np.minimum(previous[:, :-1] + (chars != ca), previous[:, 1:] + 1)  # replace / delete
            current = np.empty_like(previous)
            current[:, 0] = i
            for j in range(1, m + 1):  # insert: along the row
                current[:, j] = np.minimum(best[:, j - 1], current[:, j - 1] + 1)
            previous = current
        out[idx] = previous[:, m]
    return out
