"""The ribbon add-in bbb_xl.xlam, derived from the Excel-saved xlwings ribbon add-in (issue "Excel for real", §1).

Strict validators: the compound file (every chain), every compressed container (MS-OVBA 2.4.1), the dir stream's
records, PROJECT / PROJECTwm against the dir stream, module offsets, code names against workbook.xml; olevba reads
the macro back; and the derived project is compared with the base record by record, every difference listed.
"""
from __future__ import annotations

import hashlib
import io
import re
import struct
import subprocess
import sys
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from hypothesis import given, settings, strategies as st

import bbb_xl
from bbb_xl.core.errors import BBBError
from bbb_xl.excel import addin
from bbb_xl.excel.cfb import CfbError, read_cfb, write_cfb
from bbb_xl.excel.ovba import OvbaError, compress, decompress

REPO = Path(__file__).resolve().parents[1]
SHIPPED = REPO / "workbook_templates" / addin.ADDIN_NAME


@pytest.fixture(scope="module")
def base_zip():
    return addin.base_path().read_bytes()


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    path = tmp_path_factory.mktemp("addin") / addin.ADDIN_NAME
    result = addin.build_addin(path)
    return path.read_bytes(), result


def _member(zip_bytes: bytes, name: str) -> bytes:
    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as z:
        return z.read(name)


# --- the compound file ----------------------------------------------------------------------------------------
def test_writer_reproduces_the_excel_saved_project_byte_for_byte(base_zip):
    base_bin = _member(base_zip, "xl/vbaProject.bin")
    assert write_cfb(read_cfb(base_bin)) == base_bin


def test_reader_refuses_broken_compound_files(base_zip):
    base_bin = bytearray(_member(base_zip, "xl/vbaProject.bin"))
    with pytest.raises(CfbError, match="signature"):
        read_cfb(b"PK" + bytes(base_bin[2:]))
    cut = bytes(base_bin[:-512])  # the FAT sector (the last one) is gone
    with pytest.raises(CfbError):
        read_cfb(cut)
    looped = bytearray(base_bin)
    fat_sector = struct.unpack_from("<I", looped, 76)[0]
    fat_at = 512 * (fat_sector + 1)
    struct.pack_into("<I", looped, fat_at + 4 * 1, 0)  # sector 1 -> sector 0: a loop in the first big stream
    with pytest.raises(CfbError, match="two chains|loops"):
        read_cfb(bytes(looped))


def test_derived_project_differs_from_the_base_only_where_listed(base_zip, built):
    """Record by record: every stream identical but the edited module; directory entries identical but the start
    sector and size fields that the new module length moves."""
    base = read_cfb(_member(base_zip, "xl/vbaProject.bin"))
    new = read_cfb(_member(built[0], "xl/vbaProject.bin"))
    assert sorted(base.paths()) == sorted(new.paths()) == [
        "PROJECT", "PROJECTwm", "VBA", "VBA/Dictionary", "VBA/RibbonMyAddin", "VBA/Sheet2", "VBA/ThisWorkbook",
        "VBA/_VBA_PROJECT", "VBA/dir", "VBA/xlwings"]
    changed_streams = [p for p, slot in base.paths().items()
                       if base.entries[slot].kind == 2 and base.stream(p) != new.stream(p)]
    assert changed_streams == ["VBA/RibbonMyAddin"]
    assert base.header[:40] == new.header[:40]  # signature, CLSID, versions, byte order, sector shifts
    differences = []
    for slot, (a, b) in enumerate(zip(base.entries, new.entries)):
        if a.raw[:116] != b.raw[:116]:
            differences.append((a.name, "name/links/CLSID/state/times"))
        if a.start != b.start:
            differences.append((a.name, "start sector"))
        if a.size != b.size:
            differences.append((a.name, "size"))
    # the expectation: the edited module grows (1,194 -> 2,294 bytes: 19 -> 36 mini sectors), so the mini stream
    # (the root entry's stream) grows by those 17 x 64 bytes and the two small streams after the module in directory
    # order, PROJECT and PROJECTwm, start 17 mini sectors later; nothing else moves
    assert differences == [("Root Entry", "size"), ("RibbonMyAddin", "size"), ("PROJECT", "start sector"),
                           ("PROJECTwm", "start sector")]
    assert (base.entries[8].size, new.entries[8].size) == (1194, 2294)
    assert new.entries[0].size - base.entries[0].size == 17 * 64
    assert [new.entries[k].start - base.entries[k].start for k in (9, 10)] == [17, 17]


def test_the_edit_is_one_line_of_run_main_and_the_close_procedures_appended(base_zip, built):
    base = read_cfb(_member(base_zip, "xl/vbaProject.bin"))
    new = read_cfb(_member(built[0], "xl/vbaProject.bin"))
    off = addin.module_offset(decompress(base.stream("VBA/dir")), "RibbonMyAddin")
    assert off == 978
    assert new.stream(addin.MODULE_STREAM)[:off] == base.stream(addin.MODULE_STREAM)[:off]  # cache kept
    old_src = decompress(base.stream(addin.MODULE_STREAM)[off:]).decode("latin-1").splitlines()
    new_src = decompress(new.stream(addin.MODULE_STREAM)[off:]).decode("latin-1").splitlines()
    changed = [(a, b) for a, b in zip(old_src, new_src) if a != b]
    assert changed == [
        ('    RunPython "import " & mymodule & ";" & mymodule & ".main()"',
         '    RunPython "import " & mymodule & ";" & mymodule & ".main(\'" & control.Id & "\')"')]
    # after RunMain (and the base's blank line): exactly vba/RibbonClose.bas
    assert old_src == ['Attribute VB_Name = "RibbonMyAddin"', "Sub RunMain(control As IRibbonControl)",
                       old_src[2], old_src[3], "End Sub", ""]
    assert new_src[6:] == addin.CLOSE_SOURCE.read_text().splitlines()
    assert built[1].module_source.replace("\r\n", "\n").splitlines() == new_src
    assert "\n" not in built[1].module_source.replace("\r\n", "")  # CRLF throughout, as VBA stores source


def _procedures(source: str) -> dict:
    """name -> body lines of each Sub / Function of a VBA source."""
    out, name = {}, None
    for line in source.replace("\r\n", "\n").split("\n"):
        m = re.match(r"^(?:Private |Public )?(?:Sub|Function) (\w+)\(", line)
        if m:
            name = m.group(1)
            out[name] = []
        elif re.match(r"^End (Sub|Function)$", line):
            name = None
        elif name:
            out[name].append(line.strip())
    return out


def test_close_procedures_check_the_month_and_never_pass_typed_text_to_python(built):
    """The month reaches RunPython only after `Like "####-##"` and 1 <= month <= 12; the reason only through
    HexText (hexadecimal code units). Every RunPython command is built from literals, the checked month and
    HexText(...) alone, and calls the Python entry points that exist."""
    procs = _procedures(built[1].module_source)
    assert set(procs) == {"RunMain", "CloseMonth", "ReopenMonths", "AskMonth", "HexText"}
    for _, _, macro in addin.CLOSE_BUTTONS.values():  # each button's onAction procedure exists
        assert macro in procs
    ask = procs["AskMonth"]
    assert 'If Not answer Like "####-##" Then' in ask and "number = CInt(Mid$(answer, 6, 2))" in ask
    assert "If number < 1 Or number > 12 Then" in ask and ask[-1] == "AskMonth = answer"
    # every path that does not reach the last line leaves AskMonth empty (Exit Function before it is set)
    assert [line for line in ask if line.startswith("AskMonth =")] == ["AskMonth = answer"]
    assert procs["CloseMonth"][-1] == \
        'RunPython "import bbb_xl.excel; bbb_xl.excel.close_through(\'" & period & "\')"'
    assert procs["ReopenMonths"][-1] == ('RunPython "import bbb_xl.excel; bbb_xl.excel.reopen_from(\'" & period & '
                                         '"\', \'" & HexText(reason) & "\')"')
    for name in ("CloseMonth", "ReopenMonths"):
        assert 'If period = "" Then Exit Sub' in procs[name]
        assert procs[name].index('If period = "" Then Exit Sub') < len(procs[name]) - 1
        assert sum("RunPython" in line for line in procs[name]) == 1
    assert "out = out & Right$(\"000\" & Hex$(AscW(Mid$(typed, i, 1))), 4)" in procs["HexText"]
    import bbb_xl.excel as shell
    assert callable(shell.close_through) and callable(shell.reopen_from)


def test_vba_project_version_forces_recompilation(built):
    """_VBA_PROJECT (MS-OVBA 2.3.4.1): Reserved1 0x61CC, Version 0xFFFF (caches ignored, source compiled)."""
    stream = read_cfb(_member(built[0], "xl/vbaProject.bin")).stream("VBA/_VBA_PROJECT")
    reserved1, version = struct.unpack_from("<HH", stream)
    assert (reserved1, version, stream[4:]) == (0x61CC, 0xFFFF, b"\x00\x01\x00")


# --- compressed containers, the dir stream, PROJECT ---------------------------------------------------------------
def _modules(dir_stream: bytes) -> list[dict]:
    mods, cur = [], None
    for rid, body in addin.dir_records(dir_stream):
        if rid == 0x0019:
            cur = {"name": body.decode("latin-1")}
            mods.append(cur)
        elif cur is not None and rid == 0x001A:
            cur["stream"] = body.decode("latin-1")
        elif cur is not None and rid == 0x0031:
            cur["offset"] = struct.unpack("<I", body)[0]
        elif cur is not None and rid in (0x0021, 0x0022):
            cur["type"] = "procedural" if rid == 0x0021 else "document or class"  # 2.3.4.2.3.2.8
    return mods


def test_every_container_decompresses_strictly_and_offsets_fit(built):
    cf = read_cfb(_member(built[0], "xl/vbaProject.bin"))
    dir_stream = decompress(cf.stream("VBA/dir"))
    mods = _modules(dir_stream)
    assert [m["name"] for m in mods] == ["ThisWorkbook", "Dictionary", "RibbonMyAddin", "Sheet2", "xlwings"]
    count = [struct.unpack("<H", b)[0] for r, b in addin.dir_records(dir_stream) if r == 0x000F]
    assert count == [len(mods)]  # PROJECTMODULES Count
    for m in mods:
        stream = cf.stream(f"VBA/{m['stream']}")
        assert m["offset"] < len(stream)
        source = decompress(stream[m["offset"]:]).decode("latin-1")
        assert source.startswith(f'Attribute VB_Name = "{m["name"]}"')


def test_project_and_projectwm_agree_with_the_dir_stream_and_workbook(built):
    cf = read_cfb(_member(built[0], "xl/vbaProject.bin"))
    mods = _modules(decompress(cf.stream("VBA/dir")))
    project = cf.stream("PROJECT").decode("latin-1").split("\r\n")
    listed = {}
    for line in project:
        m = re.match(r"^(Document|Module|Class)=([^/]+)", line)
        if m:
            listed[m.group(2)] = m.group(1)
    assert listed == {"ThisWorkbook": "Document", "Dictionary": "Class", "RibbonMyAddin": "Module",
                      "Sheet2": "Document", "xlwings": "Module"}
    assert {m["name"]: m["type"] for m in mods} == {
        n: ("procedural" if k == "Module" else "document or class") for n, k in listed.items()}
    # PROJECTwm: MBCS name NUL, UTF-16 name NUL NUL per module, then a terminating NUL NUL
    wm = cf.stream("PROJECTwm")
    names, pos = [], 0
    while wm[pos: pos + 2] != b"\0\0":
        end = wm.index(b"\0", pos)
        mbcs = wm[pos:end].decode("latin-1")
        uend = end + 1
        while wm[uend: uend + 2] != b"\0\0":
            uend += 2
        assert wm[end + 1: uend].decode("utf-16-le") == mbcs
        names.append(mbcs)
        pos = uend + 2
    assert pos + 2 == len(wm) and sorted(names) == sorted(listed)
    # document modules are the workbook's and its sheets' code names
    workbook = _member(built[0], "xl/workbook.xml").decode()
    sheet = _member(built[0], "xl/worksheets/sheet1.xml").decode()
    assert 'codeName="ThisWorkbook"' in workbook and 'codeName="Sheet2"' in sheet
    assert sorted(n for n, k in listed.items() if k == "Document") == ["Sheet2", "ThisWorkbook"]


def test_shared_validators_pass_on_the_base_and_the_add_in(base_zip, built):
    """tests/vba_checks.py, as for the template; the trees are checked for order only: the base's (written by
    Aspose.Cells in xlwings' release build) link every storage as an all-black list, which Office reads."""
    from vba_checks import check_workbook
    for zip_bytes in (base_zip, built[0]):
        assert list(check_workbook(zip_bytes, red_black=False)) == [
            "ThisWorkbook", "Dictionary", "RibbonMyAddin", "Sheet2", "xlwings"]


def test_olevba_reads_the_macro_back(built, tmp_path):
    path = tmp_path / addin.ADDIN_NAME
    path.write_bytes(built[0])
    out = subprocess.run([sys.executable, "-m", "oletools.olevba", "--decode", str(path)], capture_output=True,
                         text=True, timeout=120).stdout
    assert "VBA MACRO RibbonMyAddin.bas" in out
    assert ".main('\" & control.Id & \"')\"" in out
    assert "Public Function RunPython(PythonCommand As String)" in out  # the xlwings module, untouched
    assert "Sub CloseMonth(control As IRibbonControl)" in out and "Sub ReopenMonths(control As IRibbonControl)" in out
    assert "bbb_xl.excel.reopen_from('\" & period & \"', '\" & HexText(reason) & \"')\"" in out


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=9000) | st.text(alphabet="ab \r\n&\"'", max_size=9000).map(str.encode))
def test_compression_round_trips(data):
    packed = compress(data)
    assert decompress(packed) == data
    assert packed[0] == 1


def test_base_containers_round_trip_through_our_compressor(base_zip):
    cf = read_cfb(_member(base_zip, "xl/vbaProject.bin"))
    dir_stream = decompress(cf.stream("VBA/dir"))
    assert decompress(compress(dir_stream)) == dir_stream
    for m in _modules(dir_stream):
        src = decompress(cf.stream(f"VBA/{m['stream']}")[m["offset"]:])
        assert decompress(compress(src)) == src


def test_decompressor_refuses_malformed_containers():
    good = compress(b"Attribute VB_Name = \"X\"\r\n" * 20)
    with pytest.raises(OvbaError, match="signature byte"):
        decompress(b"\x02" + good[1:])
    with pytest.raises(OvbaError, match="signature"):
        decompress(good[:1] + bytes([good[1], good[2] & 0x8F]) + good[3:])
    with pytest.raises(OvbaError):
        decompress(good[:-3] + b"\xff\xff\xff" + good[-3:])[:0] or decompress(good[:5])


# --- the package ------------------------------------------------------------------------------------------------
def test_zip_members_identical_but_the_two_edited_parts(base_zip, built):
    with zipfile.ZipFile(io.BytesIO(base_zip)) as a, zipfile.ZipFile(io.BytesIO(built[0])) as b:
        assert a.namelist() == b.namelist()
        changed = [n for n in a.namelist() if a.read(n) != b.read(n)]
    assert changed == ["xl/vbaProject.bin", "customUI/customUI.xml"]


def test_ribbon_buttons_call_run_main_or_the_close_procedures(built):
    ui = ET.fromstring(_member(built[0], "customUI/customUI.xml"))
    ns = {"c": "http://schemas.microsoft.com/office/2006/01/customui"}
    tab = ui.find(".//c:tab", ns)
    assert tab.get("label") == "bbb_xl"
    buttons = ui.findall(".//c:button", ns)
    assert [(b.get("id"), b.get("label"), b.get("onAction")) for b in buttons] == [
        ("bbb_refresh", "Refresh reports", "RibbonMyAddin.RunMain"),
        ("bbb_clear_sample", "Clear sample data", "RibbonMyAddin.RunMain"),
        ("bbb_close", "Close month\u2026", "RibbonMyAddin.CloseMonth"),
        ("bbb_reopen", "Reopen\u2026", "RibbonMyAddin.ReopenMonths")]
    assert [g.get("label") for g in ui.findall(".//c:group", ns)] == ["Reports", "Close"]
    for b in buttons:  # the id becomes part of a Python command: identifiers only
        assert re.fullmatch(r"[a-z_]+", b.get("id"))


def test_build_is_deterministic_and_the_shipped_add_in_is_current(built, tmp_path):
    again = tmp_path / addin.ADDIN_NAME
    addin.build_addin(again)
    assert again.read_bytes() == built[0]
    assert SHIPPED.read_bytes() == built[0], "run `python -m bbb_xl.excel.addin` to rebuild the shipped add-in"


def test_build_refuses_another_name_or_base(tmp_path):
    with pytest.raises(BBBError, match="must be named bbb_xl.xlam"):
        addin.build_addin(tmp_path / "ribbon.xlam")
    other = tmp_path / "other.xlam"
    other.write_bytes(b"PK\x05\x06" + b"\0" * 18)
    with pytest.raises(BBBError, match="not the xlwings 0.37.8 ribbon add-in"):
        addin.build_addin(tmp_path / addin.ADDIN_NAME, base=other)
    assert hashlib.sha256(addin.base_path().read_bytes()).hexdigest() == addin.BASE_SHA256


def test_licence_notices_ship_with_the_package():
    folder = Path(addin.__file__).with_name("licenses")
    assert "BSD 3-clause" in (folder / "xlwings-LICENSE.txt").read_text()
    assert "MIT" in (folder / "VBA-Dictionary-LICENSE.txt").read_text()


def test_ribbon_buttons_reach_python(monkeypatch):
    """What RunMain's RunPython runs: `import bbb_xl; bbb_xl.main('<id>')` on the active workbook."""
    import bbb_xl.excel as shell
    calls = []
    monkeypatch.setattr(shell, "refresh", lambda book=None: calls.append(("refresh", book)) or "Inputs OK")
    monkeypatch.setattr(shell, "clear_sample", lambda book=None: calls.append(("clear", book)) or "cleared",
                        raising=False)
    book = object()
    assert addin.ribbon_action("bbb_refresh", book) == "Inputs OK"
    assert addin.ribbon_action("bbb_clear_sample", book) == "cleared"
    assert calls == [("refresh", book), ("clear", book)]
    with pytest.raises(BBBError, match="unknown bbb_xl ribbon button"):
        addin.ribbon_action("nonsense", book)
    assert callable(bbb_xl.main)
