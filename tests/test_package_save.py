"""Package (excel/package.py): parts read lazily from the file's bytes, unchanged parts copied as their stored
deflate bytes, changed parts deflated (big ones in a thread) and written by package.write_zip. The zip written is
checked against the zipfile writer the package used before (kept here as the reference): every part's bytes the
same, and byte for byte the same file when every part is deflated anew."""
from __future__ import annotations

import datetime as dt
import os
import tempfile
import zipfile
import zlib
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from bbb_xl.excel import package as pk
from bbb_xl.excel.headless import refresh_file
from bbb_xl.excel.template import build_workbook
from bbb_xl.sample import SAMPLE_SETTINGS, sample_contracts


def reference_save(infos, parts: dict, changed: dict, target: Path) -> None:
    """Package.save_atomic before lazy parts (the zip part of it): every part inflated and deflated anew."""
    with open(target, "wb") as fh:
        with zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
            for info in infos:
                data = changed.get(info.filename, parts[info.filename])
                zi = zipfile.ZipInfo(info.filename, date_time=info.date_time if info.filename not in
                                     changed else pk._ZIP_DATE)
                zi.compress_type = zipfile.ZIP_DEFLATED
                zi.external_attr = info.external_attr
                zf.writestr(zi, data, compresslevel=1)


def contents(path) -> list:
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None  # every CRC checked
        return [(i.filename, i.date_time, i.external_attr, zf.read(i.filename)) for i in zf.infolist()]


def stored(path) -> dict:
    """Part -> its deflate bytes as stored in the file."""
    with open(path, "rb") as fh:
        data = fh.read()
    with zipfile.ZipFile(path) as zf:
        out = {}
        for i in zf.infolist():
            n, m = int.from_bytes(data[i.header_offset + 26: i.header_offset + 28], "little"), \
                int.from_bytes(data[i.header_offset + 28: i.header_offset + 30], "little")
            start = i.header_offset + 30 + n + m
            out[i.filename] = data[start: start + i.compress_size]
        return out


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    path = tmp_path_factory.mktemp("pkg") / "book.xlsm"
    build_workbook(path, sample_contracts(), SAMPLE_SETTINGS, keep_csv=False)
    return path


def test_same_file_as_zipfile_when_every_part_is_deflated_anew(book, tmp_path):
    pkg = pk.Package(book)
    changed = {i.filename: pkg.parts[i.filename] + b" " for i in pkg.infos[::3]}
    for name, data in changed.items():
        pkg.set(name, data)
    ours = tmp_path / "ours.xlsm"
    with open(ours, "wb") as fh:  # every part deflated anew: write_zip must give zipfile's bytes exactly
        entries = []
        for zi, _ in pkg.entries():
            data = changed.get(zi.filename) or pkg.parts[zi.filename]
            zi.compress_size = len(raw := pk.deflate(data))
            entries.append((zi, raw))
        pk.write_zip(fh, entries)
    ref = tmp_path / "ref.xlsm"
    reference_save(pk.Package(book).infos, {n: pkg.parts[n] for n in pkg.parts}, changed, ref)
    assert ours.read_bytes() == ref.read_bytes()


def test_unchanged_parts_are_copied_as_stored_and_changed_ones_rewritten(book, tmp_path):
    pkg = pk.Package(book)
    sheets = pkg.sheet_parts()
    summary = sheets["Summary"]
    pkg.set(summary, pkg.text(summary).replace("<sheetData", "<sheetData", 1))  # same text: changed anyway
    pkg.set("xl/styles.xml", pkg.parts["xl/styles.xml"] + b"\n")
    out = tmp_path / "saved.xlsm"
    pkg.save_atomic(out)
    ref = tmp_path / "ref.xlsm"
    reference_save(pk.Package(book).infos, dict(pk.Package(book).parts), pkg.changed, ref)
    assert contents(out) == contents(ref)
    before, after = stored(book), stored(out)
    for name in before:
        if name in (summary, "xl/styles.xml"):
            assert zlib.decompress(after[name], -15) == pkg.changed[name]
        else:
            assert after[name] == before[name], name  # not inflated, not deflated again
    wb = openpyxl.load_workbook(out)
    assert wb["Contracts"]["A1"].value == "Contract ID"


def test_parts_are_read_only_when_asked_and_survive_the_file(book, tmp_path):
    copy = tmp_path / "gone.xlsm"
    copy.write_bytes(book.read_bytes())
    pkg = pk.Package(copy)
    os.unlink(copy)  # upgrade's template package reads a temporary file that is gone by then
    assert not pkg.parts._read
    assert pkg.text("xl/workbook.xml").startswith("<?xml")
    assert list(pkg.parts._read) == ["xl/workbook.xml"]
    assert list(pkg.parts) == [i.filename for i in pkg.infos] and len(pkg.parts) == len(pkg.infos)
    assert "xl/nothing.xml" not in pkg.parts
    with pytest.raises(KeyError):
        pkg.parts["xl/nothing.xml"]
    pkg.save_atomic(tmp_path / "again.xlsm")
    assert contents(tmp_path / "again.xlsm") == contents(book)


def test_a_big_part_is_deflated_ahead_and_set_again_deflated_at_save(book, tmp_path):
    pkg = pk.Package(book)
    part = pkg.sheet_parts()["Revenue"]
    first = b"x" * (pk._DEFLATE_AHEAD + 5)
    pkg.set(part, first)
    assert pkg._deflating[part][0] is first
    last = pkg.text(part).replace("x", "y", 3)  # set again (a drawing is patched twice): its own bytes are written
    pkg.set(part, last)
    out = tmp_path / "big.xlsm"
    pkg.save_atomic(out)
    with zipfile.ZipFile(out) as zf:
        assert zf.read(part) == last.encode() and zf.testzip() is None
    assert pkg._pool is None  # the deflate threads end with the save


def test_zip64_sizes_go_through_zipfile(book, tmp_path, monkeypatch):
    pkg = pk.Package(book)
    pkg.set("xl/styles.xml", pkg.parts["xl/styles.xml"] + b" ")
    normal = tmp_path / "normal.xlsm"
    pkg.save_atomic(normal)
    monkeypatch.setattr(pk, "_ZIP32", 1000)  # every package "too big": zipfile writes it
    big = tmp_path / "big.xlsm"
    pkg.save_atomic(big)
    assert contents(big) == contents(normal)


def test_a_stored_part_of_another_writer_is_deflated(tmp_path):
    """Only deflated parts are copied as stored; a part the file stores uncompressed is deflated (as before)."""
    src = tmp_path / "stored.zip"
    with zipfile.ZipFile(src, "w") as zf:
        zf.writestr(zipfile.ZipInfo("a.xml", (2020, 5, 6, 7, 8, 10)), b"<a/>" * 100, zipfile.ZIP_STORED)
        zf.writestr(zipfile.ZipInfo("b.xml", (2021, 1, 1, 0, 0, 0)), b"<b/>" * 100, zipfile.ZIP_DEFLATED)
        zf.writestr(zipfile.ZipInfo("c/\u00e9.xml", (2021, 1, 1, 0, 0, 0)), b"<c/>", zipfile.ZIP_DEFLATED)
    pkg = pk.Package(src)
    out = tmp_path / "out.zip"
    pkg.save_atomic(out)
    assert contents(out) == contents(src)
    with zipfile.ZipFile(out) as zf:
        assert {i.compress_type for i in zf.infolist()} == {zipfile.ZIP_DEFLATED}


NAMES = st.sampled_from(["[Content_Types].xml", "xl/workbook.xml", "xl/a.xml", "xl/worksheets/sheet1.xml",
                         "docProps/app.xml", "xl/media/img.png", "xl/\u00fcber.xml"])


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(NAMES, st.binary(max_size=300), st.integers(0, 9)), min_size=1, max_size=6,
                unique_by=lambda t: t[0]),
       st.lists(st.tuples(st.integers(0, 5), st.binary(max_size=300)), max_size=4))
def test_any_package_saves_the_parts_it_holds(tmp_path, parts, edits):
    """Parts of any bytes (levels 0-9 of another writer), some changed: the saved file holds exactly the parts the
    old writer wrote, with the same dates and attributes."""
    d = Path(tempfile.mkdtemp(dir=tmp_path))
    src = d / "src.zip"
    with zipfile.ZipFile(src, "w") as zf:
        for name, data, level in parts:
            zi = zipfile.ZipInfo(name, (2019, 2, 3, 4, 5, 6))
            zi.external_attr = 0o644 << 16
            zf.writestr(zi, data, zipfile.ZIP_DEFLATED, compresslevel=level)
    pkg = pk.Package(src)
    for k, data in edits:
        pkg.set(parts[k % len(parts)][0], data)
    out = d / "out.zip"
    pkg.save_atomic(out)
    ref = d / "ref.zip"
    reference_save(pk.Package(src).infos, dict(pk.Package(src).parts), pkg.changed, ref)
    assert contents(out) == contents(ref)


def test_refresh_then_refresh_again_is_deterministic(book, tmp_path):
    """Two refreshes of the same file at the same time give the same bytes (the kill test relies on it)."""
    a, b = tmp_path / "a.xlsm", tmp_path / "b.xlsm"
    a.write_bytes(book.read_bytes())
    b.write_bytes(book.read_bytes())
    at = dt.datetime(2030, 1, 2, 3, 4, 5)
    refresh_file(a, refreshed_at=at, audit=False)
    refresh_file(b, refreshed_at=at, audit=False)
    assert a.read_bytes() == b.read_bytes()


def test_prefetched_parts_are_the_parts(book, tmp_path, monkeypatch):
    monkeypatch.setattr(pk, "_DEFLATE_AHEAD", 1)  # every part big enough to be inflated in a thread
    pkg = pk.Package(book)
    names = list(pkg.parts)
    pkg.prefetch(names)
    assert set(pkg.parts._pending) == {i.filename for i in pkg.infos if i.file_size >= 1}
    plain = pk.Package(book)
    assert all(pkg.parts[n] == plain.parts[n] for n in names) and not pkg.parts._pending
    pkg.prefetch(names[:3])
    pkg.set(names[0], b"<new/>")
    pkg.save_atomic(tmp_path / "pre.xlsm")  # the pending reads end with the threads
    assert not pkg.parts._pending and pkg.parts[names[1]] == plain.parts[names[1]]


def test_a_damaged_part_read_in_a_thread_says_so(book):
    pkg = pk.Package(book)
    info = pkg._zip.getinfo("xl/workbook.xml")
    raw = pkg._stored_deflate(info)
    assert pk.inflate(raw, info) == pkg.parts["xl/workbook.xml"]
    info_lie = zipfile.ZipInfo(info.filename)
    info_lie.file_size, info_lie.CRC = info.file_size, info.CRC ^ 1
    with pytest.raises(zipfile.BadZipFile, match="Bad CRC-32"):
        pk.inflate(raw, info_lie)
    info_lie.CRC, info_lie.file_size = info.CRC, info.file_size - 10  # a size that lies: never inflated past it
    with pytest.raises(zipfile.BadZipFile):
        pk.inflate(raw, info_lie)


@pytest.mark.parametrize("xml", [
    '<worksheet><dimension ref="A1"/><sheetData><row r="1"><c r="A1"><v>1</v></c></row></sheetData>'
    '<mergeCells count="1"><mergeCell ref="A1:B1"/></mergeCells></worksheet>',
    "<worksheet><cols/><sheetData/><pageMargins/></worksheet>",
    '<worksheet><sheetData xmlns:x="y"></sheetData><drawing r:id="rId1"/>\u00e9</worksheet>',
])
def test_sheet_shell_from_bytes_is_the_shell(xml):
    assert pk.sheet_shell_of(xml.encode()) == pk.sheet_shell(xml)


def test_a_sheet_without_cells_is_refused_from_bytes():
    with pytest.raises(pk.BBBError, match="no <sheetData>"):
        pk.sheet_shell_of(b"<worksheet><cols/></worksheet>")
    with pytest.raises(pk.BBBError, match="no <sheetData>"):
        pk.sheet_shell_of(b"<worksheet><sheetData><row/></worksheet>")


@pytest.mark.libreoffice
def test_libreoffice_opens_a_refresh_of_another_writers_file(book, tmp_path):
    """Parts deflated by another writer (level 9 here) are copied as they are stored, next to the refreshed
    report parts (level 1): LibreOffice opens the file and reads both."""
    import libreoffice as lo
    if lo.find_soffice() is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    path = tmp_path / "other.xlsm"
    with zipfile.ZipFile(book) as src, zipfile.ZipFile(path, "w") as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info.filename), zipfile.ZIP_DEFLATED, compresslevel=9)
    before = stored(path)
    result = refresh_file(path, refreshed_at=dt.datetime(2030, 1, 2, 3, 4, 5))
    after = stored(path)
    copied = [n for n in before if after[n] == before[n]]
    assert "xl/worksheets/sheet2.xml" in copied and "xl/sharedStrings.xml" in copied  # Contracts and its strings
    out = tmp_path / "lo.xlsx"
    lo.recalculate(path, out)
    wb = openpyxl.load_workbook(out, data_only=True)
    mine = openpyxl.load_workbook(path, data_only=True)
    assert [[c.value for c in r] for r in wb["Contracts"].iter_rows(max_row=6)] == \
        [[c.value for c in r] for r in mine["Contracts"].iter_rows(max_row=6)]
    assert wb["Summary"]["A1"].value == result.reports.sheets["Summary"].cell(1, 1)
    report = result.reports.sheets["Revenue"]
    matrix = next(b for b in report.blocks if hasattr(b.values, "shape") and b.values.size)
    for i, j in ((0, 0), (matrix.values.shape[0] - 1, matrix.values.shape[1] - 1)):
        shown = wb["Revenue"].cell(matrix.row + i, matrix.col + j).value
        assert round(Decimal(repr(shown)) * 100) == int(matrix.values[i, j])  # exact to the cent
