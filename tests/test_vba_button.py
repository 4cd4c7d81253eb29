"""The template's VBA project and its "Refresh reports" buttons (issue "Excel for real", §1, route (a)).

* vbaProject.bin is derived from the Excel-saved project of xlwings' quickstart.xlsm: deterministic, compared
  with the base record by record with every difference listed, and passing the strict validators of
  tests/vba_checks.py (compound file and red-black trees, compressed containers, dir records and counts, PROJECT /
  PROJECTwm, module offsets, document modules against workbook.xml's code names);
* olevba reads back exactly the RunPython commands; the xlwings reference is the base's record, byte for byte;
* LibreOffice sees a form button captioned "Refresh reports" on "Start here" and "Summary", bound (script event)
  to the macro RefreshReports; pressing it (accessibility "press" action on the live control) runs the macro,
  which calls a stub RunPython with exactly the command;
* openpyxl ``keep_vba=True`` round trip keeps vbaProject.bin and the buttons.
"""

from __future__ import annotations

import hashlib
import io
import re
import shutil
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter
from oletools.olevba import VBA_Parser

import libreoffice as lo
from bbb_xl.core.errors import BBBError
from bbb_xl.excel import vba_project as vp
from bbb_xl.excel.cfb import read_cfb
from bbb_xl.excel.ovba import decompress
from vba_checks import check_vba_project, check_workbook, project_differences, workbook_code_names

REPO = Path(__file__).resolve().parents[1]
SHIPPED_TEMPLATE = REPO / "workbook_templates" / "bbb_template.xlsm"
COMMAND = "import bbb_xl.excel; bbb_xl.excel.refresh()"
BUTTON_SHEETS = ("Start here", "Summary")
MACRO_URL = ("vnd.sun.star.script:VBAProject.Module1.RefreshReports"
             "?language=Basic&location=document")
CLEAR_COMMAND = "import bbb_xl.excel; bbb_xl.excel.clear_sample()"
CLEAR_URL = ("vnd.sun.star.script:VBAProject.Module1.ClearSample"
             "?language=Basic&location=document")
# the records MS-OVBA names in a module's dir entry that a synthesized document module renames or resets
RENAMED_RECORDS = {0x0019: "MODULENAME", 0x0047: "MODULENAMEUNICODE", 0x001A: "MODULESTREAMNAME",
                   0x0032: "MODULESTREAMNAME unicode", 0x0031: "MODULEOFFSET", 0x002C: "MODULECOOKIE"}


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------

def _make_xlsm(path: Path, comment: bool = False) -> Path:
    wb = xlsxwriter.Workbook(str(path))
    start = wb.add_worksheet("Start here")
    summary = wb.add_worksheet("Summary")
    data = wb.add_worksheet("Data")
    start.write("A1", "Start here")
    if comment:  # comments share the sheet's VML part with the button
        start.write_comment("A1", "a note")
    summary.write_formula("A1", "=1+2")
    vp.add_refresh_button(wb, start, "B3")
    vp.add_refresh_button(wb, start, "E3", caption=vp.CLEAR_BUTTON_CAPTION, macro=vp.CLEAR_MACRO_NAME)
    vp.add_refresh_button(wb, summary, (2, 1))
    # Negative control: LibreOffice must drop the binding of a button whose
    # macro does not exist in the VBA project.
    vp.add_refresh_button(wb, data, "B3", macro="NoSuchMacro", caption="Broken")
    wb.close()
    return path


@pytest.fixture(scope="module")
def xlsm(tmp_path_factory) -> Path:
    return _make_xlsm(tmp_path_factory.mktemp("vba") / "buttons.xlsm")


def _openpyxl_roundtrip(src: Path, out: Path) -> Path:
    wb = openpyxl.load_workbook(src, keep_vba=True)
    wb.save(out)
    return out


@pytest.fixture(scope="module")
def roundtripped(xlsm, tmp_path_factory) -> Path:
    return _openpyxl_roundtrip(xlsm, tmp_path_factory.mktemp("vba_rt") / "roundtrip.xlsm")


@pytest.fixture(scope="module")
def roundtripped_with_comment(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("vba_rt_comment")
    return _openpyxl_roundtrip(_make_xlsm(d / "comment.xlsm", comment=True),
                               d / "comment_roundtrip.xlsm")


@pytest.fixture(scope="module")
def base_bin() -> bytes:
    return vp.base_vba_project()


def _dir(vba_bin: bytes) -> vp.DirStream:
    return vp.DirStream.parse(decompress(read_cfb(vba_bin).stream("VBA/dir")))


def _macro_body(code: str, name: str) -> list[str]:
    m = re.search(rf"^\s*(?:Public\s+)?Sub\s+{name}\s*\(\s*\)\s*$(.*?)^\s*End Sub",
                  code, re.MULTILINE | re.DOTALL | re.IGNORECASE)
    assert m, f"Sub {name} not found in:\n{code}"
    lines = [ln.strip() for ln in m.group(1).splitlines()]
    return [ln for ln in lines if ln and not ln.startswith("'")]


# --------------------------------------------------------------------------
# vbaProject.bin: the base, determinism, every difference from the base
# --------------------------------------------------------------------------

def test_base_is_the_pinned_excel_saved_quickstart(tmp_path):
    assert hashlib.sha256(vp.base_path().read_bytes()).hexdigest() == vp.BASE_SHA256
    # Excel wrote it: a compiled project (VBA version 0x00B5, performance caches in every module stream)
    stream = read_cfb(vp.base_vba_project()).stream("VBA/_VBA_PROJECT")
    assert struct.unpack_from("<HH", stream) == (0x61CC, 0x00B5) and len(stream) == 3390
    other = tmp_path / "quickstart.xlsm"
    other.write_bytes(b"PK\x05\x06" + bytes(18))
    with pytest.raises(BBBError, match="not the xlwings 0.37.8 quickstart.xlsm"):
        vp.build_vba_project(base=other)


def test_build_is_deterministic_and_independent_of_the_process():
    a = vp.build_vba_project()
    assert vp.build_vba_project() == a
    other = subprocess.run(
        [sys.executable, "-c", "import sys; from bbb_xl.excel.vba_project import "
         "build_vba_project as b; sys.stdout.buffer.write(b())"],
        capture_output=True, timeout=60, check=True, cwd=REPO)
    assert other.stdout == a
    assert a[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # OLE compound file
    assert vp.build_vba_project(["Sheet1", "Sheet2", "Sheet3"]) != a
    for bad in (["Sheet 1"], ["Sheet1", "Module1"], ["Sheet1", "thisworkbook"], ["Sheet1", "Sheet1"]):
        with pytest.raises(BBBError):
            vp.build_vba_project(bad)
    with pytest.raises(BBBError, match="must be ThisWorkbook"):
        vp.build_vba_project(workbook_codename="DieseArbeitsmappe")


def test_with_the_base_sheets_only_three_streams_and_one_record_change(base_bin):
    """Sheet1 and Sheet2 only: nothing synthesized. Changed: Module1's source (MODULEOFFSET 1135 -> 0, the
    performance cache dropped), _VBA_PROJECT (recompile), the dir stream (that one record); directory entries move
    only by start sector and size."""
    new = vp.build_vba_project()
    assert project_differences(base_bin, new) == [
        ("stream", "VBA/Module1", "changed"),
        ("stream", "VBA/dir", "changed"),
        ("stream", "VBA/_VBA_PROJECT", "changed"),
        ("dir", "Module1", "0x31", "changed"),
        ("entry", "Root Entry", "start"), ("entry", "Root Entry", "size"),  # the mini stream
        ("entry", "Module1", "size"),
        ("entry", "Sheet2", "start"),
        ("entry", "_VBA_PROJECT", "start"), ("entry", "_VBA_PROJECT", "size"),
        ("entry", "dir", "start"), ("entry", "dir", "size"),
        ("entry", "PROJECTwm", "start"),
        ("entry", "PROJECT", "start")]
    (module1,) = [m for m in _dir(base_bin).modules if vp.module_name(m) == "Module1"]
    assert vp.module_field(module1, 0x31) == struct.pack("<I", 1135)
    check_vba_project(new, ["ThisWorkbook", "Sheet1", "Sheet2"])


def test_a_third_sheet_adds_exactly_one_synthesized_document_module(base_bin):
    new = vp.build_vba_project(["Sheet1", "Sheet2", "Sheet3"])
    assert project_differences(base_bin, new) == [
        ("stream", "PROJECT", "changed"),
        ("stream", "VBA/Module1", "changed"),
        ("stream", "VBA/dir", "changed"),
        ("stream", "VBA/_VBA_PROJECT", "changed"),
        ("stream", "PROJECTwm", "changed"),
        ("stream", "VBA/Sheet3", "added"),
        ("dir", "project", "0xf", "changed"),  # PROJECTMODULES Count 4 -> 5
        ("dir", "Module1", "0x31", "changed"),
        ("dir", "Sheet3", "module", "added"),
        ("PROJECT", "Document=Sheet3/&H00000000", "added"),
        ("PROJECT", "Sheet3=0, 0, 0, 0, C", "added"),
        ("PROJECTwm", "Sheet3", "added"),
        ("entry", "Root Entry", "start"), ("entry", "Root Entry", "size"),
        # the VBA storage's children re-linked as one balanced red-black tree (Sheet1 keeps its place and colour)
        ("entry", "VBA", "links and colour"),
        ("entry", "ThisWorkbook", "links and colour"),
        ("entry", "Module1", "links and colour"), ("entry", "Module1", "size"),
        ("entry", "Sheet2", "links and colour"), ("entry", "Sheet2", "start"),
        ("entry", "_VBA_PROJECT", "links and colour"), ("entry", "_VBA_PROJECT", "start"),
        ("entry", "_VBA_PROJECT", "size"),
        ("entry", "dir", "links and colour"), ("entry", "dir", "start"), ("entry", "dir", "size"),
        ("entry", "PROJECTwm", "start"), ("entry", "PROJECTwm", "size"),
        ("entry", "PROJECT", "start"), ("entry", "PROJECT", "size"),
        ("entry", "Sheet3", "added")]
    check_vba_project(new, ["ThisWorkbook", "Sheet1", "Sheet2", "Sheet3"])


def test_a_synthesized_module_is_the_base_sheet2_renamed(base_bin):
    """Its dir records are Sheet2's but for the six listed; its directory entry is Sheet2's but for name, links and
    place; its source is Sheet2's with the new VB_Name; its PROJECT lines copy Sheet2's."""
    new = vp.build_vba_project(["Sheet1", "Sheet2", "Sheet3"])
    sheet2 = {vp.module_name(m): m for m in _dir(base_bin).modules}["Sheet2"]
    sheet3 = {vp.module_name(m): m for m in _dir(new).modules}["Sheet3"]
    assert [r for r, _ in sheet2] == [r for r, _ in sheet3]
    changed = {RENAMED_RECORDS[r]: b for (r, a), (_, b) in zip(sheet2, sheet3) if a != b}
    assert changed == {"MODULENAME": b"Sheet3", "MODULENAMEUNICODE": "Sheet3".encode("utf-16-le"),
                       "MODULESTREAMNAME": b"Sheet3", "MODULESTREAMNAME unicode": "Sheet3".encode("utf-16-le"),
                       "MODULEOFFSET": bytes(4), "MODULECOOKIE": b"\xff\xff"}
    a, b = read_cfb(base_bin), read_cfb(new)
    e2, e3 = a.entries[a.paths()["VBA/Sheet2"]].raw, b.entries[b.paths()["VBA/Sheet3"]].raw
    assert e3[:66] == "Sheet3".encode("utf-16-le").ljust(64, b"\0") + struct.pack("<H", 14)
    assert e3[66] == e2[66] == 2 and e3[80:116] == e2[80:116]  # stream; CLSID, state bits, times: Sheet2's
    src2 = decompress(a.stream("VBA/Sheet2")[819:]).decode("cp1252")
    assert decompress(b.stream("VBA/Sheet3")) == src2.replace('"Sheet2"', '"Sheet3"').encode("cp1252")
    assert src2.splitlines()[:2] == ['Attribute VB_Name = "Sheet2"',
                                     'Attribute VB_Base = "0{00020820-0000-0000-C000-000000000046}"']


def test_module1_source_and_recompilation(base_bin):
    new = read_cfb(vp.build_vba_project())
    assert decompress(new.stream("VBA/Module1")) == vp.module_source().encode("cp1252")  # MODULEOFFSET 0
    # MS-OVBA 2.3.4.1 on write (and 3.1.1's example): 0x61CC, version 0xFFFF, 0x00, 0x0001, no cache; the same
    # 7 bytes as the _VBA_PROJECT of xlwings' released quickstart_addin_ribbon.xlam and quickstart_standalone.xlsm
    assert new.stream("VBA/_VBA_PROJECT") == bytes.fromhex("cc61ffff000100")
    import xlwings
    for shipped in ("quickstart_addin_ribbon.xlam", "quickstart_standalone.xlsm"):
        with zipfile.ZipFile(Path(xlwings.__file__).with_name(shipped)) as z:
            assert read_cfb(z.read("xl/vbaProject.bin")).stream("VBA/_VBA_PROJECT") == vp.VBA_PROJECT_STREAM
    base = read_cfb(base_bin)
    for doc in ("ThisWorkbook", "Sheet1", "Sheet2"):  # source and cache as Excel saved them
        assert new.stream(f"VBA/{doc}") == base.stream(f"VBA/{doc}")


@pytest.mark.parametrize("n_sheets", [1, 2, 3, 4, 6, 7, 8, 14, 15, 16, 40])
def test_any_number_of_sheets_validates(n_sheets):
    """Red-black trees of every size (perfect or not), a base sheet module removed (1 sheet) or many added; the
    directory grows by whole sectors of four entries."""
    names = [f"Sheet{i}" for i in range(1, n_sheets + 1)]
    new = vp.build_vba_project(names)
    sources = check_vba_project(new, ["ThisWorkbook", *names])
    assert sorted(sources) == sorted(["ThisWorkbook", "Module1", *names])
    assert len(read_cfb(new).entries) % 4 == 0


def test_references_are_the_bases_byte_for_byte(base_bin):
    """MSForms (and its extended control record), Office and the project reference xlwings with the base's
    developer-machine absolute path and relative path `addin\\xlwings.xlam`."""
    new = _dir(vp.build_vba_project(["Sheet1", "Sheet2", "Sheet3"]))
    base = _dir(base_bin)
    assert new.head == base.head
    names = [b.decode("cp1252") for r, b in new.head if r == 0x0016]
    assert names == ["MSForms", "MSForms", "Office", "xlwings"]
    (xlwings_ref,) = [b for r, b in new.head if r == 0x000E]  # REFERENCEPROJECT
    (n_abs,) = struct.unpack_from("<I", xlwings_ref, 0)
    assert xlwings_ref[4:4 + n_abs] == b"*\\CC:\\Users\\felix\\dev\\xlwings\\xlwings\\addin\\xlwings.xlam"
    (n_rel,) = struct.unpack_from("<I", xlwings_ref, 4 + n_abs)
    assert xlwings_ref[8 + n_abs: 8 + n_abs + n_rel] == b"*\\Caddin\\xlwings.xlam"


# --------------------------------------------------------------------------
# the workbooks: validators, olevba, code names
# --------------------------------------------------------------------------

def test_validators_pass_on_the_test_workbook_and_the_shipped_template(xlsm):
    assert list(check_workbook(xlsm.read_bytes())) == ["ThisWorkbook", "Sheet1", "Module1", "Sheet2", "Sheet3"]
    template = SHIPPED_TEMPLATE.read_bytes()
    names = workbook_code_names(template)
    assert names == ["ThisWorkbook"] + [f"Sheet{i}" for i in range(1, len(names))] and len(names) > 3
    sources = check_workbook(template)
    assert list(sources) == ["ThisWorkbook", "Sheet1", "Module1", *names[2:]]
    with zipfile.ZipFile(SHIPPED_TEMPLATE) as z:
        assert z.read("xl/vbaProject.bin") == vp.build_vba_project(names[1:])


def test_shipped_template_differs_from_the_base_only_by_listed_records(base_bin):
    with zipfile.ZipFile(SHIPPED_TEMPLATE) as z:
        new = z.read("xl/vbaProject.bin")
    synthesized = workbook_code_names(SHIPPED_TEMPLATE.read_bytes())[3:]  # beyond ThisWorkbook, Sheet1, Sheet2
    diff = project_differences(base_bin, new)
    expected_synthesized = [("stream", f"VBA/{n}", "added") for n in synthesized] + [
        ("dir", n, "module", "added") for n in synthesized] + [
        ("PROJECT", f"Document={n}/&H00000000", "added") for n in synthesized] + [
        ("PROJECT", f"{n}=0, 0, 0, 0, C", "added") for n in synthesized] + [
        ("PROJECTwm", n, "added") for n in synthesized] + [("entry", n, "added") for n in synthesized]
    assert sorted(d for d in diff if d in expected_synthesized) == sorted(expected_synthesized)
    rest = [d for d in diff if d not in expected_synthesized]
    assert [d for d in rest if d[0] != "entry"] == [("stream", s, "changed") for s in (
        "PROJECT", "VBA/Module1", "VBA/dir", "VBA/_VBA_PROJECT", "PROJECTwm")] + [
        ("dir", "project", "0xf", "changed"), ("dir", "Module1", "0x31", "changed")]
    # directory entries of base streams: only links, colour, start and size
    assert {d[2] for d in rest if d[0] == "entry"} <= {"links and colour", "start", "size"}


def test_template_build_is_byte_identical_and_the_shipped_one_is_current(tmp_path):
    """`bbb-xl template --in-repo` runs build_template: two builds give the same bytes, and those of the shipped file."""
    from bbb_xl.excel.template import build_template
    a, b = tmp_path / "a" / "bbb_template.xlsm", tmp_path / "b" / "bbb_template.xlsm"
    for path in (a, b):
        path.parent.mkdir()
        build_template(path)
    assert a.read_bytes() == b.read_bytes()
    assert SHIPPED_TEMPLATE.read_bytes() == a.read_bytes(), "rebuild it: bbb-xl template --in-repo"


def test_olevba_reads_back_exact_sources(xlsm):
    parser = VBA_Parser(str(xlsm))
    try:
        assert parser.detect_vba_macros()
        modules = {Path(fname).stem: code for _, _, fname, code in parser.extract_macros()}
    finally:
        parser.close()
    assert set(modules) == {"ThisWorkbook", "Sheet1", "Sheet2", "Sheet3", "Module1"}
    # The standard module is stored verbatim (CRLF), i.e. compression round-trips.
    bas = (vp.VBA_DIR / "Module1.bas").read_text(encoding="utf-8")
    assert modules["Module1"].replace("\r\n", "\n").rstrip("\n") == bas.rstrip("\n")
    assert _macro_body(modules["Module1"], "RefreshReports") == [f'RunPython "{COMMAND}"']
    assert _macro_body(modules["Module1"], "ClearSample") == [f'RunPython "{CLEAR_COMMAND}"']
    code_lines = [ln for ln in modules["Module1"].splitlines() if not ln.lstrip().startswith("'")]
    assert sum("RunPython" in ln for ln in code_lines) == 2
    for doc in ("Sheet1", "Sheet2", "Sheet3"):
        assert f'Attribute VB_Name = "{doc}"' in modules[doc]
        assert 'Attribute VB_Base = "0{00020820-0000-0000-C000-000000000046}"' in modules[doc]
    assert ('Attribute VB_Base = "0{00020819-0000-0000-C000-000000000046}"'
            in modules["ThisWorkbook"])


def test_olevba_command_line_reads_the_shipped_template():
    out = subprocess.run([sys.executable, "-m", "oletools.olevba", str(SHIPPED_TEMPLATE)], capture_output=True,
                         text=True, timeout=120).stdout
    assert "VBA MACRO Module1.bas" in out
    assert f'RunPython "{COMMAND}"' in out and f'RunPython "{CLEAR_COMMAND}"' in out


def test_licence_notice_of_the_base_ships_with_the_package():
    folder = vp.VBA_DIR.with_name("licenses")
    assert "BSD 3-clause" in (folder / "xlwings-LICENSE.txt").read_text()
    assert "xlwings-LICENSE.txt" in vp.module_source()  # the VBA itself points to it


# --------------------------------------------------------------------------
# buttons
# --------------------------------------------------------------------------

def test_buttons_in_vml(xlsm):
    with zipfile.ZipFile(xlsm) as z:
        names = z.namelist()
        vml = {n: z.read(n).decode() for n in names if n.endswith(".vml")}
    assert len(vml) == 3
    macros = sorted(m for text in vml.values()
                    for m in re.findall(r"<x:FmlaMacro>(.*?)</x:FmlaMacro>", text))
    assert macros == ["[0]!ClearSample", "[0]!NoSuchMacro", "[0]!RefreshReports", "[0]!RefreshReports"]
    assert sum(text.count("Refresh reports") for text in vml.values()) == 2
    assert sum(text.count("Clear sample data") for text in vml.values()) == 1


# --------------------------------------------------------------------------
# LibreOffice: binding and firing
# --------------------------------------------------------------------------

_INSPECT_AND_FIRE = r'''
import time
doc = load_document(ARGS[0], hidden=False)
out = {"sheets": {}}
try:
    lib = doc.BasicLibraries.getByName("VBAProject")
    out["modules"] = sorted(lib.ElementNames)
    # Stub for xlwings' RunPython: records every argument it is called with.
    lib.insertByName("XlwingsStub", (
        "Option VBASupport 1\n"
        "Public RunPythonCalls As String\n"
        "Public Function RunPython(PythonCommand As String)\n"
        "    RunPythonCalls = RunPythonCalls & PythonCommand & Chr(10)\n"
        "End Function\n"
        "Public Function TakeRunPythonCalls() As String\n"
        "    TakeRunPythonCalls = RunPythonCalls\n"
        "    RunPythonCalls = \"\"\n"
        "End Function\n"))
    provider = doc.getScriptProvider()
    take = provider.getScript("vnd.sun.star.script:VBAProject.XlwingsStub."
                              "TakeRunPythonCalls?language=Basic&location=document")
    out["before"] = take.invoke((), (), ())[0]
    controller = doc.CurrentController
    for sheet in doc.Sheets:
        controls = []
        forms = sheet.DrawPage.Forms
        controller.setActiveSheet(sheet)
        for fi in range(forms.Count):
            form = forms.getByIndex(fi)
            for ci in range(form.Count):
                model = form.getByIndex(ci)
                events = [[e.ListenerType, e.EventMethod, e.ScriptType, e.ScriptCode]
                          for e in form.getScriptEvents(ci)]
                info = {"label": getattr(model, "Label", None),
                        "class_id": model.ClassId, "events": events}
                # 1) press the live button (accessibility action "press")
                acc = controller.getControl(model).getPeer().getAccessibleContext()
                info["action"] = acc.getAccessibleActionDescription(0)
                info["pressed"] = bool(acc.doAccessibleAction(0))
                time.sleep(0.2)
                info["calls_after_press"] = take.invoke((), (), ())[0]
                # 2) invoke the bound script URL from the event descriptor
                info["calls_after_invoke"] = None
                for _, method, _, url in events:
                    if method == "actionPerformed":
                        provider.getScript(url).invoke((), (), ())
                        info["calls_after_invoke"] = take.invoke((), (), ())[0]
                controls.append(info)
        out["sheets"][sheet.Name] = controls
finally:
    doc.close(True)
emit(out)
'''


def _inspect(path: Path) -> dict:
    return lo.run_uno_script(_INSPECT_AND_FIRE, str(path), timeout=60)


def _assert_bound_and_fires(result: dict) -> None:
    assert result["before"] == ""
    assert "Module1" in result["modules"]
    sheets = result["sheets"]
    assert list(sheets) == ["Start here", "Summary", "Data"]
    clear, = [b for b in sheets["Start here"] if b["label"] == "Clear sample data"]
    assert clear["events"] == [["XActionListener", "actionPerformed", "Script", CLEAR_URL]]
    assert clear["pressed"] is True
    assert clear["calls_after_press"] == CLEAR_COMMAND + "\n"
    assert clear["calls_after_invoke"] == CLEAR_COMMAND + "\n"
    for name in BUTTON_SHEETS:
        (button,) = [b for b in sheets[name] if b["label"] != "Clear sample data"]
        assert button["label"] == "Refresh reports"
        assert button["class_id"] == 2  # com.sun.star.form.FormComponentType.COMMANDBUTTON
        assert button["events"] == [
            ["XActionListener", "actionPerformed", "Script", MACRO_URL]]
        assert button["action"] == "press"
        assert button["pressed"] is True
        assert button["calls_after_press"] == COMMAND + "\n"
        assert button["calls_after_invoke"] == COMMAND + "\n"
    # Negative control: a button bound to a missing macro loses its binding.
    (broken,) = sheets["Data"]
    assert broken["label"] == "Broken"
    assert broken["events"] == []
    assert broken["calls_after_press"] == ""


@pytest.mark.libreoffice
@lo.requires_soffice
def test_libreoffice_button_bound_and_fires_runpython(xlsm):
    _assert_bound_and_fires(_inspect(xlsm))


@pytest.mark.libreoffice
@lo.requires_soffice
def test_libreoffice_button_survives_openpyxl_roundtrip(roundtripped):
    _assert_bound_and_fires(_inspect(roundtripped))


@pytest.mark.libreoffice
@lo.requires_soffice
def test_libreoffice_button_survives_openpyxl_roundtrip_with_comment(
        roundtripped_with_comment):
    _assert_bound_and_fires(_inspect(roundtripped_with_comment))


# --------------------------------------------------------------------------
# openpyxl keep_vba round trip
# --------------------------------------------------------------------------

def test_openpyxl_keep_vba_roundtrip_preserves_vba_and_buttons(xlsm, roundtripped):
    with zipfile.ZipFile(xlsm) as a, zipfile.ZipFile(roundtripped) as b:
        assert b.read("xl/vbaProject.bin") == a.read("xl/vbaProject.bin")
        a_vml = sorted(n for n in a.namelist() if n.endswith(".vml"))
        b_vml = sorted(n for n in b.namelist() if n.endswith(".vml"))
        assert b_vml == a_vml
        for n in a_vml:
            assert b.read(n) == a.read(n), n
        assert not [n for n in a.namelist() if "ctrlProps" in n]  # xlsxwriter: VML only
        ct = b.read("[Content_Types].xml").decode()
        assert ('<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"'
                in ct)
        assert "vbaProject.bin" in b.read("xl/_rels/workbook.xml.rels").decode()
        assert "application/vnd.ms-excel.sheet.macroEnabled.main+xml" in ct
        wb_xml = b.read("xl/workbook.xml").decode()
        assert 'codeName="ThisWorkbook"' in wb_xml
        for i in (1, 2, 3):
            sheet = b.read(f"xl/worksheets/sheet{i}.xml").decode()
            assert f'codeName="Sheet{i}"' in sheet
            rid = re.search(r'<legacyDrawing [^>]*r:id="([^"]+)"', sheet).group(1)
            rels = b.read(f"xl/worksheets/_rels/sheet{i}.xml.rels").decode()
            target = re.search(rf'<Relationship [^>]*Target="([^"]+)"[^>]*Id="{rid}"'
                               rf'|<Relationship [^>]*Id="{rid}"[^>]*Target="([^"]+)"', rels)
            assert target and "vmlDrawing" in (target.group(1) or target.group(2))


def test_openpyxl_roundtrip_with_comment_rewrites_vml_but_keeps_button(
        roundtripped_with_comment):
    """With a comment on the sheet openpyxl re-serialises the VML part
    (ns0:/ns1:/ns2: prefixes instead of o:/v:/x:) but keeps the button shape."""
    import xml.etree.ElementTree as ET
    x = "{urn:schemas-microsoft-com:office:excel}"
    with zipfile.ZipFile(roundtripped_with_comment) as z:
        assert z.read("xl/vbaProject.bin") == vp.build_vba_project(["Sheet1", "Sheet2", "Sheet3"])
        sheet1 = z.read("xl/worksheets/sheet1.xml").decode()
        rid = re.search(r'<legacyDrawing [^>]*r:id="([^"]+)"', sheet1).group(1)
        rels = z.read("xl/worksheets/_rels/sheet1.xml.rels").decode()
        target = re.search(rf'Target="([^"]+)"[^>]*Id="{rid}"', rels).group(1)
        root = ET.fromstring(z.read(target.lstrip("/")))
    kinds = {}
    for cd in root.iter(f"{x}ClientData"):
        kinds.setdefault(cd.get("ObjectType"), []).append(
            cd.findtext(f"{x}FmlaMacro"))
    assert kinds == {"Button": ["[0]!RefreshReports", "[0]!ClearSample"], "Note": [None]}


# --------------------------------------------------------------------------
# the LibreOffice toolkit itself
# --------------------------------------------------------------------------

@pytest.mark.libreoffice
@lo.requires_soffice
def test_toolkit_recalculate(tmp_path):
    src = tmp_path / "calc.xlsx"
    wb = xlsxwriter.Workbook(str(src))
    ws = wb.add_worksheet("Calc")
    ws.write("A1", 20)
    ws.write("A2", 22)
    ws.write_formula("A3", "=A1+A2")  # xlsxwriter caches 0
    wb.close()
    assert openpyxl.load_workbook(src, data_only=True)["Calc"]["A3"].value == 0
    out = lo.recalculate(src, tmp_path / "calc_recalc.xlsx")
    book = openpyxl.load_workbook(out, data_only=True)
    assert book["Calc"]["A3"].value == 42
    assert openpyxl.load_workbook(out)["Calc"]["A3"].value == "=A1+A2"


@pytest.mark.libreoffice
@lo.requires_soffice
def test_toolkit_pdf_and_png(tmp_path):
    src = tmp_path / "three.xlsx"
    wb = xlsxwriter.Workbook(str(src))
    for name in ("One", "Two", "Three"):
        ws = wb.add_worksheet(name)
        for r in range(80):  # > one printed page without SinglePageSheets
            ws.write(r, 0, f"{name} row {r}")
    wb.close()
    pdf = lo.convert_to_pdf(src, tmp_path)
    assert pdf == tmp_path / "three.pdf"
    pngs = lo.pdf_to_png(pdf, tmp_path / "all")
    assert len(pngs) == 3
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)
    one = lo.convert_to_pdf(src, tmp_path / "single", sheet="Two")
    assert one.name == "three.Two.pdf"
    assert lo.pdf_page_count(one) == 1
    assert len(lo.pdf_to_png(one, tmp_path / "single" / "two")) == 1
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", str(one), "-"], capture_output=True,
                              text=True, timeout=60).stdout
        assert "Two row 0" in text and "One row" not in text and "Three row" not in text


def test_office_compression_differs_from_ours_but_decompresses_the_same(base_bin):
    """Why differences are compared decompressed: Excel's compressor chooses other matches than the specification's
    longest-match algorithm (ours), e.g. 180 bytes where ours writes 175 for ThisWorkbook's source."""
    from bbb_xl.excel.ovba import compress
    cf = read_cfb(base_bin)
    excel = cf.stream("VBA/ThisWorkbook")[819:]
    ours = compress(decompress(excel))
    assert (len(excel), len(ours)) == (180, 175)
    assert decompress(ours) == decompress(excel)
