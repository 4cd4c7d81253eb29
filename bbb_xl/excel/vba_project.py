"""The template's VBA project (vbaProject.bin) and its "Refresh reports" buttons, derived from the Excel-saved
VBA project of xlwings' `quickstart.xlsm` in the pinned xlwings wheel (0.37.8, BSD-3-Clause).

Why derive rather than generate: a VBA project written from nothing is a format Office may open without ever
running its macro (see docs/excel.md "Where the VBA comes from"). `quickstart.xlsm` is the workbook
`xlwings quickstart` copies for every user: document modules ThisWorkbook, Sheet1, Sheet2, a standard module
Module1 whose `SampleCall` calls `RunPython`, and a project reference "xlwings" to the xlwings add-in.

What changes, and nothing else (tests/test_vba_button.py lists every changed record against the base):
- the source of Module1 becomes `vba/Module1.bas` (`RefreshReports`, `ClearSample`); the module stream holds the
  compressed source only (MODULEOFFSET 0), as xlwings' release build (Aspose.Cells) writes every module it edits;
- `_VBA_PROJECT` becomes the 7 bytes MS-OVBA 2.3.4.1 prescribes on write (version 0xFFFF, no performance cache),
  the bytes xlwings' own edited files carry, so Office discards the caches and compiles the source;
- one worksheet document module per sheet code name beyond the base's Sheet1 and Sheet2, synthesized from the
  base's Sheet2: its dir records under the new name (MODULEOFFSET 0, MODULECOOKIE 0xFFFF as the spec writes),
  its stream (Sheet2's source with the new VB_Name, compressed), its PROJECT `Document=` and `[Workspace]` lines,
  its PROJECTwm entry and a directory entry cloned from Sheet2's (the VBA storage's tree re-linked); a base sheet
  module without a sheet is removed the same way;
- the dir stream's module count.
Kept byte for byte: PROJECT's ID, protection (CMG/DPB/GC) and every other line, every reference record (the xlwings
reference keeps the base's paths, `*\\CC:\\Users\\felix\\...\\addin\\xlwings.xlam` and relative `*\\Caddin\\xlwings.xlam`:
VBA binds it to the loaded add-in's project, which is how quickstart.xlsm works on every user's machine), and
ThisWorkbook's, Sheet1's and Sheet2's streams (source and cache). Same input, same bytes.
"""
from __future__ import annotations

import hashlib
import io
import re
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from ..core.errors import BBBError
from .addin import dir_records
from .cfb import read_cfb, write_cfb
from .ovba import compress, decompress

VBA_DIR = Path(__file__).with_name("vba")
BASE_NAME = "quickstart.xlsm"
# sha256 of the base in the pinned xlwings 0.37.8 wheel: a different base is a different review
BASE_SHA256 = "e76e0f5b84b968c57dd233cda5bfacc1b0fc46d8c37dee40fd0ecea7bc1f4773"

MACRO_NAME = "RefreshReports"
MODULE_NAME = "Module1"  # the base's standard module, kept under its name (only its source changes)
BUTTON_CAPTION = "Refresh reports"
RUN_PYTHON_COMMAND = "import bbb_xl.excel; bbb_xl.excel.refresh()"
CLEAR_MACRO_NAME = "ClearSample"  # the "Clear sample data" button on "Start here"
CLEAR_BUTTON_CAPTION = "Clear sample data"
CLEAR_RUN_PYTHON_COMMAND = "import bbb_xl.excel; bbb_xl.excel.clear_sample()"
WORKBOOK_CODENAME = "ThisWorkbook"
DEFAULT_SHEET_CODENAMES: tuple[str, ...] = ("Sheet1", "Sheet2")
SHEET_MODEL = "Sheet2"  # the base's worksheet document module that synthesized ones copy
# _VBA_PROJECT on write (MS-OVBA 2.3.4.1 and its example 3.1.1): Reserved1 0x61CC, Version 0xFFFF, Reserved2 0,
# Reserved3 0x0001, no PerformanceCache; byte for byte what xlwings' released add-ins carry
VBA_PROJECT_STREAM = bytes.fromhex("cc61ffff000100")

_CODEPAGE = "cp1252"  # the base's PROJECTCODEPAGE (1252)
_CODENAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,30}$")
_MODULE_LINE = re.compile(r"^(Document|Module|Class|BaseClass)=([^/\r\n]+)")


@dataclass(frozen=True)
class DirStream:
    """A decompressed dir stream split as MS-OVBA 2.3.4.2 lays it out."""

    head: list  # PROJECTINFORMATION and PROJECTREFERENCES records
    cookie: tuple  # PROJECTCOOKIE (0x0013)
    modules: list  # per module: its records from MODULENAME (0x0019) to the module Terminator (0x002B)

    @classmethod
    def parse(cls, data: bytes) -> "DirStream":
        records = dir_records(data)
        at = [r for r, _ in records].index(0x000F)  # PROJECTMODULES: Count, then PROJECTCOOKIE
        if records[at + 1][0] != 0x0013:
            raise BBBError("dir stream: PROJECTCOOKIE does not follow PROJECTMODULES")
        modules, current = [], None
        for rid, body in records[at + 2:-1]:
            if rid == 0x0019:
                current = []
                modules.append(current)
            if current is None:
                raise BBBError(f"dir stream: record {rid:#06x} outside a module")
            current.append((rid, body))
            if rid == 0x002B:
                current = None
        if current is not None or struct.unpack("<H", records[at][1])[0] != len(modules):
            raise BBBError("dir stream: module records do not match PROJECTMODULES Count")
        return cls(records[:at], records[at + 1], modules)

    def encode(self) -> bytes:
        records = [*self.head, (0x000F, struct.pack("<H", len(self.modules))), self.cookie]
        for module in self.modules:
            records += module
        out = bytearray()
        for rid, body in [*records, (0x0010, b"")]:
            # PROJECTVERSION's size field is its Reserved 4 (6 bytes follow); the Terminator's is Reserved 0
            out += struct.pack("<HI", rid, 4 if rid == 0x0009 else len(body)) + body
        return bytes(out)


def module_name(records: list) -> str:
    return records[0][1].decode(_CODEPAGE)


def module_field(records: list, rid: int) -> bytes:
    (body,) = [b for r, b in records if r == rid]
    return body


def _renamed(records: list, name: str) -> list:
    """A document module's records under a new name: no performance cache, MODULECOOKIE 0xFFFF (2.3.4.2.3.2.7)."""
    new = {0x0019: name.encode(_CODEPAGE), 0x0047: name.encode("utf-16-le"), 0x001A: name.encode(_CODEPAGE),
           0x0032: name.encode("utf-16-le"), 0x0031: struct.pack("<I", 0), 0x002C: struct.pack("<H", 0xFFFF)}
    return [(rid, new.get(rid, body)) for rid, body in records]


def _with_offset_zero(records: list) -> list:
    return [(rid, struct.pack("<I", 0) if rid == 0x0031 else body) for rid, body in records]


def base_path() -> Path:
    import xlwings
    return Path(xlwings.__file__).with_name(BASE_NAME)


def base_vba_project(base: str | Path | None = None) -> bytes:
    """xl/vbaProject.bin of xlwings' quickstart.xlsm, after checking that it is the reviewed file."""
    base = Path(base) if base is not None else base_path()
    raw = base.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != BASE_SHA256:
        raise BBBError(f"{base} is not the xlwings 0.37.8 quickstart.xlsm this build was reviewed against "
                       f"(sha256 {digest})")
    with zipfile.ZipFile(io.BytesIO(raw)) as z:
        return z.read("xl/vbaProject.bin")


def module_source() -> str:
    """The source of Module1 as stored: vba/Module1.bas with CRLF line ends."""
    text = (VBA_DIR / "Module1.bas").read_text(encoding="utf-8")
    lines = text.replace("\r\n", "\n").rstrip("\n").split("\n")
    if lines[0] != f'Attribute VB_Name = "{MODULE_NAME}"':
        raise BBBError(f"vba/Module1.bas must start with Attribute VB_Name = \"{MODULE_NAME}\"")
    return "".join(line + "\r\n" for line in lines)


def _project_text(text: str, keep: list, added: list) -> str:
    """The PROJECT stream with the lines of removed modules dropped and a Document line and a [Workspace] line per
    added document module, each after the last line of its kind (2.3.1.5, 2.3.1.18)."""
    lines = text.split("\r\n")
    workspace_at = lines.index("[Workspace]") if "[Workspace]" in lines else len(lines)
    model = next((line for line in lines[workspace_at:] if line.startswith(f"{SHEET_MODEL}=")), None)
    out, workspace = [], False
    for line in lines:
        if line.startswith("["):
            workspace = line == "[Workspace]"
        name = line.split("=", 1)[0] if workspace and "=" in line else None
        m = _MODULE_LINE.match(line)
        if (m and m.group(2) not in keep) or (name is not None and name not in keep):
            continue
        out.append(line)
    last_module = max(i for i, line in enumerate(out) if _MODULE_LINE.match(line))
    out[last_module + 1:last_module + 1] = [f"Document={n}/&H00000000" for n in added]
    if model is not None and "[Workspace]" in out:
        end = len(out)
        while end > 0 and out[end - 1] == "":
            end -= 1
        out[end:end] = [n + model[len(SHEET_MODEL):] for n in added]
    return "\r\n".join(out)


def _projectwm(names: list) -> bytes:
    """PROJECTwm (2.3.3): per module its MBCS name NUL and UTF-16 name NUL NUL, then a NUL NUL terminator."""
    return b"".join(n.encode(_CODEPAGE) + b"\0" + n.encode("utf-16-le") + b"\0\0" for n in names) + b"\0\0"


def build_vba_project(
    sheet_codenames: Sequence[str] = DEFAULT_SHEET_CODENAMES,
    *,
    workbook_codename: str = WORKBOOK_CODENAME,
    base: str | Path | None = None,
) -> bytes:
    """The template's vbaProject.bin: quickstart.xlsm's project with Module1's source replaced, recompilation
    requested, and one worksheet document module per entry of `sheet_codenames` (the worksheets' code names in
    workbook.xml, xlsxwriter's `vba_codename`). Same input, same bytes."""
    if workbook_codename != WORKBOOK_CODENAME:
        raise BBBError(f"the workbook's code name must be {WORKBOOK_CODENAME} (the base's workbook module), "
                       f"not {workbook_codename!r}")
    for name in sheet_codenames:
        if not _CODENAME_RE.match(name):
            raise BBBError(f"invalid VBA code name: {name!r}")
    taken = [n.lower() for n in [WORKBOOK_CODENAME, MODULE_NAME, *sheet_codenames]]
    if len(set(taken)) != len(taken):
        raise BBBError(f"duplicate VBA module names: {[WORKBOOK_CODENAME, MODULE_NAME, *sheet_codenames]}")

    cf = read_cfb(base_vba_project(base))
    dir_stream = DirStream.parse(decompress(cf.stream("VBA/dir")))
    by_name = {module_name(m): m for m in dir_stream.modules}
    model = by_name[SHEET_MODEL]
    model_source = decompress(cf.stream(f"VBA/{SHEET_MODEL}")[struct.unpack("<I", module_field(model, 0x31))[0]:])
    model_source = model_source.decode(_CODEPAGE)
    if model_source.count(f'Attribute VB_Name = "{SHEET_MODEL}"\r\n') != 1:
        raise BBBError(f"the base's {SHEET_MODEL} module does not start as expected")

    wanted = [WORKBOOK_CODENAME, MODULE_NAME, *sheet_codenames]
    kept = [m for m in dir_stream.modules if module_name(m) in wanted]
    added = [n for n in sheet_codenames if n not in by_name]
    removed = [n for n in by_name if n not in wanted]
    modules = [_with_offset_zero(m) if module_name(m) == MODULE_NAME else m for m in kept]
    modules += [_renamed(model, n) for n in added]
    new_dir = DirStream(dir_stream.head, dir_stream.cookie, modules)

    vba = {"_VBA_PROJECT": VBA_PROJECT_STREAM, "dir": compress(new_dir.encode()),
           MODULE_NAME: compress(module_source().encode(_CODEPAGE))}
    for n in added:
        source = model_source.replace(f'Attribute VB_Name = "{SHEET_MODEL}"', f'Attribute VB_Name = "{n}"')
        vba[n] = compress(source.encode(_CODEPAGE))
    for n in removed:
        vba[n] = None
    names = [module_name(m) for m in modules]
    project = _project_text(cf.stream("PROJECT").decode(_CODEPAGE), names, added).encode(_CODEPAGE)
    out = cf.with_streams("VBA", vba, like=SHEET_MODEL)
    out = out.replace("PROJECT", project).replace("PROJECTwm", _projectwm(names))
    return write_cfb(out)


def attach_vba_project(workbook) -> bytes:
    """Give an xlsxwriter ``workbook`` the template's vbaProject.bin.

    Sets the workbook codename (``ThisWorkbook``) and every worksheet's
    codename (xlsxwriter default ``Sheet<n>``, unless already set), builds a
    project whose document modules match those codenames and adds it with
    ``add_vba_project(..., is_stream=True)``. Call it again after adding
    worksheets (``add_refresh_button`` calls it); the last call wins.
    The file name must end in ``.xlsm``. Returns the bin's bytes.
    """
    if workbook.vba_codename is None:
        workbook.set_vba_name(WORKBOOK_CODENAME)
    codenames = []
    for sheet in workbook.worksheets():
        if sheet.vba_codename is None:
            sheet.set_vba_name()
        codenames.append(sheet.vba_codename)
    data = build_vba_project(codenames, workbook_codename=workbook.vba_codename)
    workbook.add_vba_project(io.BytesIO(data), is_stream=True)
    return data


def add_refresh_button(
    workbook,
    worksheet,
    cell: str | tuple[int, int],
    *,
    caption: str = BUTTON_CAPTION,
    macro: str = MACRO_NAME,
    width: int = 128,
    height: int = 30,
    x_offset: int = 2,
    y_offset: int = 2,
) -> bytes:
    """Insert a form button bound to ``RefreshReports`` at ``cell``.

    ``cell`` is "B2" or a zero-based (row, col). Also (re)attaches the VBA
    project via ``attach_vba_project`` so the sheet codenames declared in the
    bin match the workbook's worksheets. Returns the vbaProject.bin bytes.
    """
    options = {"macro": macro, "caption": caption, "width": width,
               "height": height, "x_offset": x_offset, "y_offset": y_offset}
    if isinstance(cell, str):
        rc = worksheet.insert_button(cell, options)
    else:
        rc = worksheet.insert_button(cell[0], cell[1], options)
    if rc not in (None, 0):
        raise ValueError(f"xlsxwriter insert_button failed for {cell!r}: {rc}")
    return attach_vba_project(workbook)
