"""Strict validators of a vbaProject.bin and of the workbook that carries it (issue "Excel for real", §1).

`check_vba_project` checks, and fails with the reason: the compound file (every sector chain, read_cfb), every
storage's red-black tree (MS-CFB 2.6.4: search order, black root, no red node with a red child, one black height),
every compressed container (MS-OVBA 2.4.1, strict), the dir stream's records and byte counts (sizes, Terminator,
PROJECTMODULES Count), the module offsets and sources, PROJECT / PROJECTwm against the dir stream, and the document
modules against the code names of workbook.xml and the sheets.
"""
from __future__ import annotations

import io
import re
import struct
import zipfile

from bbb_xl.excel.addin import dir_records
from bbb_xl.excel.cfb import NOSTREAM, STORAGE, read_cfb
from bbb_xl.excel.ovba import decompress


def modules(dir_stream: bytes) -> list[dict]:
    """name, stream, offset and type ('procedural' / 'document or class', 2.3.4.2.3.2.8) of every module."""
    mods, cur = [], None
    for rid, body in dir_records(dir_stream):
        if rid == 0x0019:
            cur = {"name": body.decode("latin-1")}
            mods.append(cur)
        elif cur is not None and rid == 0x001A:
            cur["stream"] = body.decode("latin-1")
        elif cur is not None and rid == 0x0031:
            cur["offset"] = struct.unpack("<I", body)[0]
        elif cur is not None and rid in (0x0021, 0x0022):
            cur["type"] = "procedural" if rid == 0x0021 else "document or class"
    return mods


def projectwm_names(wm: bytes) -> list[str]:
    """Module names of a PROJECTwm stream (MS-OVBA 2.3.3): MBCS name NUL, the same name in UTF-16 NUL NUL, per
    module, then NUL NUL; asserts that layout and that both spellings agree."""
    names, pos = [], 0
    while wm[pos: pos + 2] != b"\0\0":
        end = wm.index(b"\0", pos)
        mbcs = wm[pos:end].decode("cp1252")
        uend = end + 1
        while wm[uend: uend + 2] != b"\0\0":
            uend += 2
        assert wm[end + 1: uend].decode("utf-16-le") == mbcs
        names.append(mbcs)
        pos = uend + 2
    assert pos + 2 == len(wm)
    return names


def _check_tree(cf, slot: int, red_black: bool) -> int:
    """Black height of the subtree at `slot`; asserts the binary-search order and (red_black) the red-black
    rules. xlwings' Aspose-written add-ins link every storage as an all-black list, which Office reads: order is
    what readers rely on, so the colour rules are checked only where this project links a tree."""
    def key(s):
        name = cf.entries[s].name
        return len(name), name.upper()

    def walk(s, lo, hi, parent_red) -> int:
        if s == NOSTREAM:
            return 1
        e = cf.entries[s]
        red = e.raw[67] == 0
        assert not (red_black and red and parent_red), f"red entry {e.name!r} under a red parent"
        assert (lo is None or key(lo) < key(s)) and (hi is None or key(s) < key(hi)), f"{e.name!r} out of order"
        left, right = walk(e.left, lo, s, red), walk(e.right, s, hi, red)
        assert left == right or not red_black, f"unequal black heights below {e.name!r}"
        if e.kind == STORAGE:
            _check_tree(cf, e.child, red_black)
        return left + (0 if red else 1)
    if slot != NOSTREAM and red_black:
        assert cf.entries[slot].raw[67] == 1, "a tree's root must be black"
    return walk(slot, None, None, False)


def check_vba_project(vba_bin: bytes, document_modules: list[str] | None = None, red_black: bool = True) -> dict:
    """Validate vba_bin; returns {module name: source}. document_modules: the code names the host declares."""
    cf = read_cfb(vba_bin)
    _check_tree(cf, cf.entries[0].child, red_black)
    for e in cf.entries:
        if e.kind == 0:  # unallocated (MS-CFB 2.6.3): zero but for three NOSTREAM links (Aspose colours it black)
            assert e.raw[:67] == bytes(67) and e.raw[68:] == b"\xff" * 12 + bytes(48)
    dir_stream = decompress(cf.stream("VBA/dir"))
    records = dir_records(dir_stream)  # sizes fit, Terminator last
    mods = modules(dir_stream)
    assert [struct.unpack("<H", b)[0] for r, b in records if r == 0x000F] == [len(mods)]
    vba_project = cf.stream("VBA/_VBA_PROJECT")
    assert struct.unpack_from("<H", vba_project)[0] == 0x61CC
    sources = {}
    for m in mods:
        stream = cf.stream(f"VBA/{m['stream']}")
        assert m["offset"] < len(stream)
        source = decompress(stream[m["offset"]:]).decode("cp1252")
        # Excel stores CRLF; xlwings' release build stored its own module with LF, which Office accepts
        assert re.match(rf'Attribute VB_Name = "{m["name"]}"\r?\n', source), m["name"]
        sources[m["name"]] = source
    project = cf.stream("PROJECT").decode("cp1252")
    assert project.endswith("\r\n") and "\n" not in project.replace("\r\n", "")
    listed = {}
    for line in project.split("\r\n"):
        if line.startswith("["):
            break
        hit = re.match(r"^(Document|Module|Class)=([^/]+)(/&H[0-9A-F]{8})?$", line)
        if hit:
            listed[hit.group(2)] = hit.group(1)
            assert (hit.group(1) == "Document") == bool(hit.group(3)), line
    assert {m["name"]: m["type"] for m in mods} == {
        n: ("procedural" if k == "Module" else "document or class") for n, k in listed.items()}
    workspace = project.split("[Workspace]\r\n", 1)[1].split("\r\n") if "[Workspace]" in project else []
    assert {line.split("=")[0] for line in workspace if line} <= set(listed)
    assert sorted(projectwm_names(cf.stream("PROJECTwm"))) == sorted(listed)
    if document_modules is not None:
        assert sorted(n for n, k in listed.items() if k == "Document") == sorted(document_modules)
        for n in document_modules:  # the host class: Excel's Workbook or Worksheet
            host = "00020819" if n == "ThisWorkbook" else "00020820"
            assert f'Attribute VB_Base = "0{{{host}-0000-0000-C000-000000000046}}"\r\n' in sources[n], n
    return sources


def workbook_code_names(xlsm: bytes) -> list[str]:
    """The workbook's code name and every worksheet's, from workbook.xml and the sheet parts (in sheet order)."""
    with zipfile.ZipFile(io.BytesIO(xlsm)) as z:
        workbook = z.read("xl/workbook.xml").decode()
        rels = z.read("xl/_rels/workbook.xml.rels").decode()
        names = [re.search(r'<workbookPr[^>]*codeName="([^"]+)"', workbook).group(1)]
        for rid in re.findall(r'<sheet [^>]*r:id="([^"]+)"', workbook):
            target = re.search(rf'<Relationship [^>]*Id="{rid}"[^>]*Target="([^"]+)"'
                               rf'|<Relationship [^>]*Target="([^"]+)"[^>]*Id="{rid}"', rels)
            part = "xl/" + (target.group(1) or target.group(2)).lstrip("/").removeprefix("xl/")
            names.append(re.search(r'<sheetPr[^>]*codeName="([^"]+)"', z.read(part).decode()).group(1))
    return names


def check_workbook(xlsm: bytes, red_black: bool = True) -> dict:
    with zipfile.ZipFile(io.BytesIO(xlsm)) as z:
        vba_bin = z.read("xl/vbaProject.bin")
    return check_vba_project(vba_bin, workbook_code_names(xlsm), red_black)


def project_differences(base_bin: bytes, new_bin: bytes) -> list[tuple]:
    """Every difference between two VBA projects, record by record:
    ("stream", path, "added" | "removed" | "changed"), ("dir", module or "project", record id, "changed" | "added"
    | "removed"), ("PROJECT", line, "added" | "removed"), ("PROJECTwm", module, "added" | "removed"), and
    ("entry", name, field) for directory entries matched by name (field: "links and colour", "start", "size",
    "added", "removed", or "other" for any other byte)."""
    from bbb_xl.excel.vba_project import DirStream, module_name
    a, b = read_cfb(base_bin), read_cfb(new_bin)
    out: list[tuple] = []
    pa, pb = a.paths(), b.paths()
    for path in [*pa, *(p for p in pb if p not in pa)]:
        if path not in pb:
            out.append(("stream", path, "removed"))
        elif path not in pa:
            out.append(("stream", path, "added"))
        elif a.entries[pa[path]].kind == 2 and a.stream(path) != b.stream(path):
            out.append(("stream", path, "changed"))
    da = DirStream.parse(decompress(a.stream("VBA/dir")))
    db = DirStream.parse(decompress(b.stream("VBA/dir")))
    head_a = [*da.head, da.cookie]
    head_b = [*db.head, db.cookie]
    assert len(head_a) == len(head_b), "project information or references added or removed"
    out += [("dir", "project", hex(ra), "changed") for (ra, xa), (rb, xb) in zip(head_a, head_b) if (ra, xa) != (rb, xb)]
    if len(da.modules) != len(db.modules):
        out.append(("dir", "project", hex(0x000F), "changed"))
    ma = {module_name(m): m for m in da.modules}
    mb = {module_name(m): m for m in db.modules}
    for name in [*ma, *(n for n in mb if n not in ma)]:
        if name not in mb:
            out.append(("dir", name, "module", "removed"))
        elif name not in ma:
            out.append(("dir", name, "module", "added"))
        else:
            assert [r for r, _ in ma[name]] == [r for r, _ in mb[name]], name
            out += [("dir", name, hex(ra), "changed") for (ra, xa), (_, xb) in zip(ma[name], mb[name]) if xa != xb]
    la, lb = a.stream("PROJECT").decode("cp1252").split("\r\n"), b.stream("PROJECT").decode("cp1252").split("\r\n")
    out += [("PROJECT", line, "removed") for line in la if line not in lb]
    out += [("PROJECT", line, "added") for line in lb if line not in la]
    wa, wb = projectwm_names(a.stream("PROJECTwm")), projectwm_names(b.stream("PROJECTwm"))
    out += [("PROJECTwm", n, "removed") for n in wa if n not in wb]
    out += [("PROJECTwm", n, "added") for n in wb if n not in wa]
    ea = {e.name: e for e in a.entries if e.kind}
    eb = {e.name: e for e in b.entries if e.kind}
    for name in [*ea, *(n for n in eb if n not in ea)]:
        if name not in eb or name not in ea:
            out.append(("entry", name, "removed" if name not in eb else "added"))
            continue
        x, y = ea[name].raw, eb[name].raw
        if x[67:80] != y[67:80]:
            out.append(("entry", name, "links and colour"))
        if x[116:120] != y[116:120]:
            out.append(("entry", name, "start"))
        if x[120:] != y[120:]:
            out.append(("entry", name, "size"))
        if x[:67] + x[80:116] != y[:67] + y[80:116]:
            out.append(("entry", name, "other"))
    return out
