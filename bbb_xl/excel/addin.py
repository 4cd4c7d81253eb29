"""The bbb_xl ribbon add-in (`bbb_xl.xlam`), derived from the Excel-saved ribbon add-in in the pinned xlwings wheel.

Why derive rather than generate: a VBA project written from nothing is a format Office may open without ever
running its macro (see docs/excel.md); xlwings' own shipped add-ins are Excel-saved projects that xlwings itself
edits for its releases. `quickstart_addin_ribbon.xlam` (xlwings 0.37.8, BSD-3-Clause; its VBA includes Tim Hall's
VBA-Dictionary, MIT) is what `xlwings quickstart --addin --ribbon` copies under a project's name, so that its
`RunMain` runs `import <file name>; <file name>.main()`. Named `bbb_xl.xlam` it runs `bbb_xl.main()`.

Exactly two parts change:
- `customUI/customUI.xml`: a "bbb_xl" ribbon tab; its Reports buttons call the base's `RibbonMyAddin.RunMain`,
  its Close buttons the two procedures below;
- in `xl/vbaProject.bin`, the source of module `RibbonMyAddin`: `RunMain(control)` ignores `control` in the
  base, so one line passes `control.Id` to Python (`bbb_xl.main('bbb_refresh')`); and the procedures of
  `vba/RibbonClose.bas` are appended (`CloseMonth` and `ReopenMonths`: an InputBox for the month, checked in VBA,
  then RunPython of `bbb_xl.excel.close_through` / `reopen_from`; docs/excel.md). Only the module's
  compressed source (MS-OVBA 2.4.1) after its MODULEOFFSET is rewritten; its performance cache, every other
  stream, the dir stream, PROJECT and PROJECTwm are carried over byte for byte. The base's `_VBA_PROJECT` stream
  already has version 0xFFFF, which makes Office discard caches and compile from source (MS-OVBA 2.3.4.1), as
  xlwings relies on for its own edited releases.
Every other zip member is copied with identical content. The build is deterministic (fixed zip timestamps).
"""
from __future__ import annotations

import hashlib
import io
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import BBBError
from .cfb import read_cfb, write_cfb
from .ovba import compress, decompress

BASE_NAME = "quickstart_addin_ribbon.xlam"
# sha256 of the base in the pinned xlwings 0.37.8 wheel: a different base is a different review
BASE_SHA256 = "43010e1abd6e7a48b4693367f062196654a21c256683dccbaec810df7a6f4dbb"
ADDIN_NAME = "bbb_xl.xlam"
MODULE_STREAM = "VBA/RibbonMyAddin"
OLD_CALL = 'RunPython "import " & mymodule & ";" & mymodule & ".main()"'
NEW_CALL = 'RunPython "import " & mymodule & ";" & mymodule & ".main(\'" & control.Id & "\')"'
# ribbon button id -> (label, imageMso); the ids are what bbb_xl.main receives
BUTTONS = {
    "bbb_refresh": ("Refresh reports", "RefreshAll"),
    "bbb_clear_sample": ("Clear sample data", "MacroPlay"),
}
# the Close group: button id -> (label, imageMso, the RibbonMyAddin procedure it runs, from vba/RibbonClose.bas)
CLOSE_BUTTONS = {
    "bbb_close": ("Close month\u2026", "ReviewProtectWorkbook", "CloseMonth"),
    "bbb_reopen": ("Reopen\u2026", "Undo", "ReopenMonths"),
}
CLOSE_SOURCE = Path(__file__).with_name("vba") / "RibbonClose.bas"
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class AddinBuild:
    path: Path
    base_sha256: str
    module_source: str


def base_path() -> Path:
    import xlwings
    return Path(xlwings.__file__).with_name(BASE_NAME)


def custom_ui() -> bytes:
    buttons = "".join(
        f'<button id="{bid}" label="{label}" size="large" onAction="RibbonMyAddin.RunMain" imageMso="{image}" />'
        for bid, (label, image) in BUTTONS.items())
    closing = "".join(
        f'<button id="{bid}" label="{label}" size="large" onAction="RibbonMyAddin.{macro}" imageMso="{image}" />'
        for bid, (label, image, macro) in CLOSE_BUTTONS.items())
    return ('<customUI xmlns="http://schemas.microsoft.com/office/2006/01/customui"><ribbon><tabs>'
            '<tab id="bbbXlTab" label="bbb_xl"><group id="bbbXlReports" label="Reports">'
            f'{buttons}</group><group id="bbbXlClose" label="Close">{closing}</group></tab></tabs></ribbon>'
            '</customUI>').encode("utf-8")


def close_source() -> str:
    """The procedures appended to RibbonMyAddin (CRLF line ends, as VBA stores its source)."""
    text = CLOSE_SOURCE.read_text(encoding="ascii")
    return "\r\n".join(text.replace("\r\n", "\n").rstrip("\n").split("\n")) + "\r\n"


def dir_records(dir_stream: bytes) -> list[tuple[int, bytes]]:
    """(record id, body) of a decompressed dir stream (MS-OVBA 2.3.4.2), strictly: every record's size must fit
    and the stream must end with the dir Terminator (0x0010)."""
    out, pos = [], 0
    while pos < len(dir_stream):
        if pos + 6 > len(dir_stream):
            raise BBBError(f"dir stream: truncated record header at byte {pos}")
        rid, size = struct.unpack_from("<HI", dir_stream, pos)
        if rid == 0x0009:  # PROJECTVERSION: its Reserved field holds 4, then 6 bytes of version follow
            size = 6
        if pos + 6 + size > len(dir_stream):
            raise BBBError(f"dir stream: record {rid:#06x} at byte {pos} runs past the end")
        out.append((rid, dir_stream[pos + 6: pos + 6 + size]))
        pos += 6 + size
        if rid == 0x0010:
            break
    if not out or out[-1][0] != 0x0010 or pos != len(dir_stream):
        raise BBBError("dir stream does not end with its Terminator record")
    return out


def module_offset(dir_stream: bytes, module: str) -> int:
    """MODULEOFFSET of `module` (MS-OVBA 2.3.4.2.3.2.5) from a decompressed dir stream."""
    name, found = None, {}
    for rid, body in dir_records(dir_stream):
        if rid == 0x0019:  # MODULENAME
            name = body.decode("latin-1")
        elif rid == 0x0031 and name is not None:  # MODULEOFFSET
            found[name] = struct.unpack("<I", body)[0]
    if module not in found:
        raise BBBError(f"the base add-in has no module {module}")
    return found[module]


def derived_vba_project(base_bin: bytes) -> tuple[bytes, str]:
    """(vbaProject.bin with RunMain passing control.Id, the module's new source)."""
    cf = read_cfb(base_bin)
    offset = module_offset(decompress(cf.stream("VBA/dir")), "RibbonMyAddin")
    stream = cf.stream(MODULE_STREAM)
    source = decompress(stream[offset:]).decode("latin-1")
    if source.count(OLD_CALL) != 1:
        raise BBBError(f"the base add-in's RunMain is not the expected one ({OLD_CALL!r} not found once)")
    new_source = source.replace(OLD_CALL, NEW_CALL)
    new_source = new_source.rstrip("\r\n") + "\r\n\r\n" + close_source()
    new_stream = stream[:offset] + compress(new_source.encode("latin-1"))
    return write_cfb(cf.replace(MODULE_STREAM, new_stream)), new_source


def build_addin(path: str | Path = ADDIN_NAME, base: str | Path | None = None) -> AddinBuild:
    """Write the bbb_xl ribbon add-in to `path` (named bbb_xl.xlam: RunMain imports the file's name)."""
    path = Path(path)
    if path.name != ADDIN_NAME:
        raise BBBError(f"the add-in must be named {ADDIN_NAME} (its RunMain imports the Python module named like "
                       f"the file), not {path.name}")
    base = Path(base) if base is not None else base_path()
    raw = base.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != BASE_SHA256:
        raise BBBError(f"{base} is not the xlwings 0.37.8 ribbon add-in this build was reviewed against "
                       f"(sha256 {digest})")
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        source = None
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "customUI/customUI.xml":
                data = custom_ui()
            elif info.filename == "xl/vbaProject.bin":
                data, source = derived_vba_project(data)
            member = zipfile.ZipInfo(info.filename, _ZIP_DATE)
            member.compress_type = zipfile.ZIP_DEFLATED
            member.external_attr = 0o644 << 16
            zout.writestr(member, data)
    tmp = path.with_name(f".~{path.name}.tmp")
    tmp.write_bytes(out.getvalue())
    tmp.replace(path)
    return AddinBuild(path, digest, source)


def ribbon_action(control_id: str, book=None) -> str:
    """What a bbb_xl ribbon button does, on the active workbook (in an add-in, Book.caller() is the add-in)."""
    from . import refresh
    if control_id not in BUTTONS:
        raise BBBError(f"unknown bbb_xl ribbon button '{control_id}'")
    if book is None:
        import xlwings as xw
        book = xw.books.active
    if control_id == "bbb_refresh":
        return refresh(book)
    from . import clear_sample  # the clear-sample shell of the first-use work
    return clear_sample(book)


__all__ = ["build_addin", "ribbon_action", "custom_ui", "derived_vba_project", "dir_records", "module_offset", "BUTTONS",
           "ADDIN_NAME", "BASE_SHA256", "CLOSE_BUTTONS", "close_source"]


if __name__ == "__main__":  # python -m bbb_xl.excel.addin [PATH]: rebuild the shipped add-in
    import sys
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else \
        Path(__file__).resolve().parents[2] / "workbook_templates" / ADDIN_NAME
    print(build_addin(target).path)
