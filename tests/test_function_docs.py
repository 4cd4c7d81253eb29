"""docs/functions.md is complete and current: every public BBB_ function, every argument documented.

Regenerate with: /work/venv/bin/python -m bbb_xl.docgen > docs/functions.md
"""
import os
import subprocess
import sys
import textwrap

import pytest

import bbb_xl.udfs
from bbb_xl import docgen

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = os.path.join(ROOT, "docs", "functions.md")
REGENERATE = "run: python -m bbb_xl.docgen > docs/functions.md"


@pytest.fixture(scope="module")
def docs_text():
    assert os.path.exists(DOCS), f"docs/functions.md is missing; {REGENERATE}"
    with open(DOCS, encoding="utf-8") as f:
        return f.read()


def test_every_public_function_is_in_the_docs(docs_text):
    missing = [n for n in bbb_xl.udfs.PUBLIC_FUNCTIONS if f"\n## {n}\n" not in docs_text]
    assert not missing, f"not in docs/functions.md: {missing}; {REGENERATE}"
    assert [d.name for d in docgen.collect()] == list(bbb_xl.udfs.PUBLIC_FUNCTIONS)


def test_docs_are_not_stale(docs_text):
    assert docs_text == docgen.function_reference(), f"docs/functions.md is stale; {REGENERATE}"


def test_nothing_is_undocumented():
    assert docgen.problems() == []


@pytest.mark.parametrize("name", bbb_xl.udfs.PUBLIC_FUNCTIONS)
def test_docstring_fits_the_function_wizard(name):
    doc = getattr(bbb_xl.udfs, name).__doc__  # what xlwings hands to MacroOptions(Description=...)
    assert doc and len(doc) <= 255, f"{name}: {len(doc or '')} characters"
    assert "Example:" in doc and f"={name}(" in doc.split("Example:", 1)[1]


@pytest.mark.parametrize("name", bbb_xl.udfs.PUBLIC_FUNCTIONS)
def test_each_function_section(name, docs_text):
    (d,) = [d for d in docgen.collect() if d.name == name]
    section = docs_text.split(f"\n## {name}\n", 1)[1].split("\n## ", 1)[0]
    assert f"={d.signature}" in section
    assert d.description in section and d.returns in section and f"\n{d.example}\n" in section
    for a in d.arguments:
        assert f"| `{a.name}` | {'optional' if a.optional else 'required'} | " in section
        assert "(undocumented)" not in section


def test_signature_reads_optional_arguments():
    (rev,) = [d for d in docgen.collect() if d.name == "BBB_REVENUE"]
    assert rev.signature == ("BBB_REVENUE(lines, start, [end_period], [filter], [events], [fx], [closed], [as_of], "
                             "[opening], [cutover], [tiers], [fx_method])")
    assert [a.doc for a in rev.arguments] == [bbb_xl.udfs.LINES_DOC, bbb_xl.udfs.START_DOC,
                                              bbb_xl.udfs.END_DOC, bbb_xl.udfs.FILTER_DOC,
                                              bbb_xl.udfs.EVENTS_DOC, bbb_xl.udfs.FX_DOC, bbb_xl.udfs.CLOSED_DOC,
                                              bbb_xl.udfs.EVERGREEN_AS_OF_DOC, bbb_xl.udfs.OPENING_DOC,
                                              bbb_xl.udfs.CUTOVER_DOC, bbb_xl.udfs.TIERS_DOC,
                                              bbb_xl.udfs.FX_METHOD_DOC]
    assert rev.arguments[0].convert == "raw" and rev.category == "bbb_xl"
    assert rev.example == '=BBB_REVENUE(Contracts[#All], "2025-Q1")'


def test_docgen_matches_what_the_real_decorators_record():
    """The ast reading equals the metadata the real xlwings decorators leave (replayed, as on Windows)."""
    import xlwings_replay as xr

    mod = xr.load_udf_module("bbb_xl.udfs")
    for d in docgen.collect():
        info = getattr(mod, d.name).__xlfunc__
        assert info["category"] == d.category
        assert info["ret"]["doc"] == d.docstring
        assert [(a["name"], "optional" in a, a["doc"]) for a in info["args"]] == [
            (a.name, a.optional, a.doc) for a in d.arguments]


def test_docgen_is_pure_and_runs_as_a_module(docs_text):
    code = ("import sys, bbb_xl.docgen as g; g.function_reference(); "
            "print(sorted(m for m in ('click', 'xlwings', 'bbb_xl.udfs', 'bbb_xl.cli') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]"
    out = subprocess.run([sys.executable, "-m", "bbb_xl.docgen"], capture_output=True, text=True, cwd=ROOT,
                         check=True)
    assert out.stdout == docs_text


FAKE = '''
import xlwings as xw

DOC = "The contracts range"


def _args(fn):
    fn = xw.arg("lines", "raw", doc=DOC)(fn)
    return xw.func(category="bbb_xl")(fn)


@_args
def BBB_GOOD(lines, start=None):
    """Good. Example: =BBB_GOOD(A1:B2)"""


@xw.func(category="bbb_xl")
@xw.arg("lines", doc="x")
def BBB_NO_EXAMPLE(lines, other):
    """No example here."""


def BBB_NO_DOC(lines):
    pass


PUBLIC_FUNCTIONS = ["BBB_GOOD", "BBB_NO_EXAMPLE", "BBB_NO_DOC", "BBB_GONE"]
'''


def test_problems_catch_undocumented_things(tmp_path, monkeypatch):
    (tmp_path / "fake_udfs_for_docgen.py").write_text(textwrap.dedent(FAKE))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(docgen.RETURNS, "BBB_GOOD", "A number.")
    docs = docgen.collect("fake_udfs_for_docgen")
    good = docs[0]
    assert good.signature == "BBB_GOOD(lines, [start])" and good.arguments[0].doc == "The contracts range"
    assert docgen.problems(docs) == [
        "BBB_GOOD: argument 'start' has no @xw.arg(..., doc=...)",
        "BBB_NO_EXAMPLE: docstring has no 'Example:'",
        "BBB_NO_EXAMPLE: no return description in bbb_xl.docgen.RETURNS",
        "BBB_NO_EXAMPLE: argument 'other' has no @xw.arg(..., doc=...)",
        "BBB_NO_DOC: no docstring (or no such function)",
        "BBB_GONE: no docstring (or no such function)",
    ]
    text = docgen.function_reference("fake_udfs_for_docgen")
    assert "\n## BBB_GOOD\n" in text and "(undocumented)" in text


def test_rpo_and_deferred_split_take_closed_after_fx():
    """Like the other balance formulas: the Closed Periods range right after fx (issue 17, docs/close.md)."""
    for name in ("BBB_RPO", "BBB_DEFERRED_SPLIT"):
        (d,) = [d for d in docgen.collect() if d.name == name]
        tiers = ", [tiers]" if name == "BBB_RPO" else ""  # usage lines' Price Tiers (engine.usage)
        assert d.signature == f"{name}(lines, as_of, [filter], [events], [fx], [closed]{tiers}, [fx_method])"
        assert d.arguments[5].doc == bbb_xl.udfs.CLOSED_DOC and d.arguments[5].optional
