"""Toy UDF module for tests/test_xlwings_replay_harness.py (decorated like bbb_xl.udfs
should be; load it with ``xlwings_replay.load_udf_module("replay_toy_udfs")``)."""

import datetime as dt

import xlwings as xw


def _cell_kind(v):
    if v is None:
        return "blank"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, dt.datetime):
        return "datetime-aware" if v.tzinfo is not None else "datetime"
    if isinstance(v, float):
        return "float"
    if isinstance(v, int):
        return "int"
    if isinstance(v, str):
        return "text"
    return type(v).__name__


@xw.func(category="bbb_xl")
@xw.arg("lines", "raw", doc="Contract lines table incl. header, e.g. Contracts[#All]")
@xw.arg("column", doc="1-based column to sum")
@xw.arg("factor", doc="Multiplier (default 1)")
def TOY_SUM(lines, column, factor=1.0):
    """Sum of the numeric cells of one column, times factor."""
    if not isinstance(lines, tuple):  # single cell -> COM gives a scalar
        lines = ((lines,),)
    col = int(column) - 1
    total = sum(r[col] for r in lines[1:] if isinstance(r[col], float))
    return total * factor


@xw.func(category="bbb_xl")
@xw.arg("lines", "raw", doc="Contract lines table incl. header")
@xw.arg("label", doc="Text placed in the header row (optional)")
def TOY_KINDS(lines, label="kind"):
    """Spills a 2-D table: each data row's first cell and its Python type."""
    if not isinstance(lines, tuple):
        lines = ((lines,),)
    return [[label, "type"]] + [[r[0], _cell_kind(r[0])] for r in lines[1:]]


@xw.func(category="bbb_xl")
@xw.arg("lines", "raw", doc="Contract lines table incl. header")
@xw.arg("as_of", doc="As-of date")
def TOY_CHECK(lines, as_of=None):
    """Returns an error string when a date is missing, else the count of data rows."""
    if as_of is None:
        return "#BBB! as_of is required"
    return float(len(lines) - 1)


@xw.func(category="bbb_xl")
@xw.arg("lines", doc="Default converter (no 'raw')")
def TOY_DEFAULT_KINDS(lines):
    """Same as TOY_KINDS but through xlwings' default converter."""
    if not isinstance(lines, list):
        lines = [[lines]]
    elif lines and not isinstance(lines[0], list):
        lines = [[v] for v in lines]
    return [[_cell_kind(v) for v in row] for row in lines]


def _helper_not_exported(x):
    return x
