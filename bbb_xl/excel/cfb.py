"""Compound File Binary (MS-CFB) version 3, read strictly and written back in the same layout.

Used to derive the ribbon add-in's vbaProject.bin from the Excel-saved one shipped in the xlwings wheel: one
stream is replaced and everything else is carried over record for record. `read_cfb` refuses anything it does not
fully understand (bad signature, broken or shared sector chains, sizes beyond their chains), so it doubles as the
structural validator of what `write_cfb` produces.

Layout written (the base's own, so that reading and writing an unchanged file reproduces it byte for byte):
streams of 4,096 bytes and more in directory order from sector 0, then the mini stream (small streams in
directory order, each padded to 64 bytes), the mini FAT, the directory, and the FAT last.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

SIGNATURE = bytes.fromhex("d0cf11e0a1b11ae1")
SECTOR = 512
MINI = 64
CUTOFF = 4096
FREESECT, ENDOFCHAIN, FATSECT, DIFSECT = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFC
NOSTREAM = 0xFFFFFFFF
STORAGE, STREAM, ROOT = 1, 2, 5


class CfbError(ValueError):
    """A compound file that is not well formed."""


@dataclass(frozen=True)
class Entry:
    """One directory entry: its raw 128-byte record (start sector and size are rewritten on write)."""

    raw: bytes

    @property
    def name(self) -> str:
        n = struct.unpack_from("<H", self.raw, 64)[0]
        return self.raw[: max(n - 2, 0)].decode("utf-16-le")

    @property
    def kind(self) -> int:
        return self.raw[66]

    @property
    def left(self) -> int:
        return struct.unpack_from("<I", self.raw, 68)[0]

    @property
    def right(self) -> int:
        return struct.unpack_from("<I", self.raw, 72)[0]

    @property
    def child(self) -> int:
        return struct.unpack_from("<I", self.raw, 76)[0]

    @property
    def start(self) -> int:
        return struct.unpack_from("<I", self.raw, 116)[0]

    @property
    def size(self) -> int:
        return struct.unpack_from("<Q", self.raw, 120)[0]

    def with_place(self, start: int, size: int) -> "Entry":
        return Entry(self.raw[:116] + struct.pack("<IQ", start, size))


@dataclass(frozen=True)
class CompoundFile:
    header: bytes  # the 512-byte header as read (fixed fields are kept on write)
    entries: tuple  # Entry per directory slot, unused slots included
    streams: dict  # slot -> bytes, for every stream entry

    def paths(self) -> dict:
        """'VBA/dir'-style path -> slot, for every stream and storage below the root."""
        out: dict[str, int] = {}

        def walk(slot: int, prefix: str, seen: set):
            if slot == NOSTREAM:
                return
            if slot in seen or slot >= len(self.entries):
                raise CfbError(f"directory tree revisits or leaves the directory at entry {slot}")
            seen.add(slot)
            e = self.entries[slot]
            path = prefix + e.name
            out[path] = slot
            walk(e.left, prefix, seen)
            walk(e.right, prefix, seen)
            if e.kind == STORAGE:
                walk(e.child, path + "/", seen)
        walk(self.entries[0].child, "", set())
        return out

    def stream(self, path: str) -> bytes:
        return self.streams[self.paths()[path]]

    def replace(self, path: str, data: bytes) -> "CompoundFile":
        slot = self.paths()[path]
        if self.entries[slot].kind != STREAM:
            raise CfbError(f"{path} is not a stream")
        return CompoundFile(self.header, self.entries, {**self.streams, slot: bytes(data)})

    def with_streams(self, storage: str, changes: dict, like: str) -> "CompoundFile":
        """Add, replace (bytes) or remove (None) streams directly inside `storage` ('VBA').

        A new stream's directory entry is a copy of the entry of stream `like` (CLSID, state bits and times as
        the base has them) under the new name. When the set of names changes, the storage's children are re-linked
        as a balanced red-black tree in MS-CFB order (2.6.4: shorter names first, then by upper-case); removed
        entries become free entries and new ones take free slots first, the directory growing by whole sectors.
        """
        paths = self.paths()
        parent = paths[storage]
        template = self.entries[paths[f"{storage}/{like}"]]
        entries, streams = list(self.entries), dict(self.streams)
        children = {n[len(storage) + 1:]: s for n, s in paths.items()
                    if n.startswith(storage + "/") and "/" not in n[len(storage) + 1:]}
        renamed = False
        for name, data in changes.items():
            slot = children.get(name)
            if data is None:
                if slot is None:
                    raise CfbError(f"no stream {storage}/{name} to remove")
                entries[slot] = FREE_ENTRY
                del streams[slot], children[name]
                renamed = True
                continue
            if slot is None:
                if not 0 < len(name) < 32:
                    raise CfbError(f"stream name {name!r} must have 1 to 31 characters")
                slot = next((i for i, e in enumerate(entries) if e.kind == 0), len(entries))
                if slot == len(entries):
                    entries.extend([FREE_ENTRY] * 4)  # one more directory sector
                raw = name.encode("utf-16-le")
                entries[slot] = Entry(raw.ljust(64, b"\0") + struct.pack("<H", len(raw) + 2) + template.raw[66:])
                children[name] = slot
                renamed = True
            elif entries[slot].kind != STREAM:
                raise CfbError(f"{storage}/{name} is not a stream")
            streams[slot] = bytes(data)
        if renamed:
            order = sorted(children, key=lambda n: (len(n), n.upper()))
            root = _link_red_black(entries, [children[n] for n in order])
            p = entries[parent]
            entries[parent] = Entry(p.raw[:76] + struct.pack("<I", root) + p.raw[80:])
        return CompoundFile(self.header, tuple(entries), streams)


# an unallocated directory entry (MS-CFB 2.6.3): all zero but the three links, which are NOSTREAM
FREE_ENTRY = Entry(b"\0" * 68 + struct.pack("<III", NOSTREAM, NOSTREAM, NOSTREAM) + b"\0" * 48)


def _link_red_black(entries: list, slots: list) -> int:
    """Link `slots` (already in directory order) as a balanced binary search tree and colour it as a valid
    red-black tree: halving keeps every empty link on the last two levels, so nodes on the deepest level of an
    incomplete tree are red and all others black (equal black height on every path, no red node with a red
    child). Returns the root slot (NOSTREAM when empty)."""
    if not slots:
        return NOSTREAM
    depth = {}

    def build(lo: int, hi: int, d: int) -> int:
        if lo >= hi:
            return NOSTREAM
        mid = (lo + hi) // 2
        depth[slots[mid]] = d
        left, right = build(lo, mid, d + 1), build(mid + 1, hi, d + 1)
        e = entries[slots[mid]]
        entries[slots[mid]] = Entry(e.raw[:67] + b"\1" + struct.pack("<III", left, right, e.child) + e.raw[80:])
        return slots[mid]
    root = build(0, len(slots), 0)
    deepest = max(depth.values())
    if len(slots) != 2 ** (deepest + 1) - 1:  # not a perfect tree: the deepest level is red
        for slot, d in depth.items():
            if d == deepest:
                e = entries[slot]
                entries[slot] = Entry(e.raw[:67] + b"\0" + e.raw[68:])
    return root


def _chain(table: list, start: int, limit: int, what: str, used: set | None = None) -> list:
    out = []
    s = start
    while s != ENDOFCHAIN:
        if s >= limit or s in (FREESECT, FATSECT, DIFSECT):
            raise CfbError(f"{what}: sector chain reaches invalid sector {s:#x}")
        if used is not None:
            if s in used:
                raise CfbError(f"{what}: sector {s} belongs to two chains")
            used.add(s)
        out.append(s)
        if len(out) > limit:
            raise CfbError(f"{what}: sector chain loops")
        s = table[s]
    return out


def read_cfb(data: bytes) -> CompoundFile:
    """Parse a version-3 compound file strictly (every chain checked, no sector shared)."""
    if len(data) < SECTOR or data[:8] != SIGNATURE:
        raise CfbError("not a compound file (bad signature)")
    (minor, major, order, sshift, mshift, _res, ndir, nfat, first_dir, _tx, cutoff, first_mfat, nmfat,
     first_difat, ndifat) = struct.unpack_from("<HHHHH6sIIIIIIIII", data, 24)
    if major != 3 or order != 0xFFFE or sshift != 9 or mshift != 6 or cutoff != CUTOFF or ndir != 0:
        raise CfbError(f"unsupported header (version {major}, sector shift {sshift}, cutoff {cutoff})")
    if ndifat or first_difat != ENDOFCHAIN:
        raise CfbError("DIFAT sectors are not supported (file too large for a VBA project)")
    if (len(data) - SECTOR) % SECTOR:
        raise CfbError(f"file size {len(data)} is not a whole number of sectors")
    nsect = (len(data) - SECTOR) // SECTOR
    difat = struct.unpack_from("<109I", data, 76)
    fat_sectors = [s for s in difat if s != FREESECT]
    if len(fat_sectors) != nfat or any(s >= nsect for s in fat_sectors):
        raise CfbError("header FAT sector list does not match its count")

    def sector(i):
        return data[SECTOR * (i + 1): SECTOR * (i + 2)]
    fat = []
    for s in fat_sectors:
        fat.extend(struct.unpack("<128I", sector(s)))
    for s in fat_sectors:
        if fat[s] != FATSECT:
            raise CfbError(f"FAT sector {s} is not marked FATSECT in the FAT")
    used: set = set(fat_sectors)
    dir_chain = _chain(fat, first_dir, nsect, "directory", used)
    raw_dir = b"".join(sector(s) for s in dir_chain)
    entries = tuple(Entry(raw_dir[i: i + 128]) for i in range(0, len(raw_dir), 128))
    root = entries[0]
    if root.kind != ROOT:
        raise CfbError("first directory entry is not the root")
    mini_chain = _chain(fat, root.start, nsect, "mini stream", used) if root.size else []
    mini_stream = b"".join(sector(s) for s in mini_chain)
    if root.size > len(mini_stream):
        raise CfbError("mini stream size exceeds its chain")
    mfat_chain = _chain(fat, first_mfat, nsect, "mini FAT", used) if nmfat else []
    if len(mfat_chain) != nmfat:
        raise CfbError("mini FAT sector count does not match its chain")
    mfat = []
    for s in mfat_chain:
        mfat.extend(struct.unpack("<128I", sector(s)))
    n_mini = root.size // MINI
    mini_used: set = set()
    streams = {}
    for slot, e in enumerate(entries):
        if e.kind != STREAM:
            continue
        if e.size < CUTOFF:
            chain = _chain(mfat, e.start, n_mini, f"stream {e.name!r} (mini)", mini_used) if e.size else []
            body = b"".join(mini_stream[MINI * s: MINI * (s + 1)] for s in chain)
            if len(chain) != -(-e.size // MINI):
                raise CfbError(f"stream {e.name!r}: {len(chain)} mini sectors for {e.size} bytes")
        else:
            chain = _chain(fat, e.start, nsect, f"stream {e.name!r}", used)
            body = b"".join(sector(s) for s in chain)
            if len(chain) != -(-e.size // SECTOR):
                raise CfbError(f"stream {e.name!r}: {len(chain)} sectors for {e.size} bytes")
        streams[slot] = body[: e.size]
    cf = CompoundFile(data[:SECTOR], entries, streams)
    cf.paths()  # the tree must be walkable
    return cf


def write_cfb(cf: CompoundFile) -> bytes:
    """The compound file in the layout described in the module docstring (deterministic)."""
    entries = list(cf.entries)
    big, small = [], []
    for slot, e in enumerate(entries):
        if e.kind == STREAM:
            (big if len(cf.streams[slot]) >= CUTOFF else small).append(slot)
    sectors: list[bytes] = []
    fat: list[int] = []

    def put(blob: bytes) -> int:
        """Append a chain of sectors holding blob (zero-padded); return its first sector."""
        n = -(-len(blob) // SECTOR)
        if n == 0:
            return ENDOFCHAIN
        first = len(sectors)
        padded = blob + b"\0" * (n * SECTOR - len(blob))
        for k in range(n):
            sectors.append(padded[SECTOR * k: SECTOR * (k + 1)])
            fat.append(first + k + 1 if k < n - 1 else ENDOFCHAIN)
        return first

    for slot in big:
        body = cf.streams[slot]
        entries[slot] = entries[slot].with_place(put(body), len(body))
    mini, mfat = bytearray(), []
    for slot in small:
        body = cf.streams[slot]
        n = -(-len(body) // MINI)
        first = len(mini) // MINI if n else 0
        mini += body + b"\0" * (n * MINI - len(body))
        mfat.extend(first + k + 1 if k < n - 1 else ENDOFCHAIN for k in range(n))
        entries[slot] = entries[slot].with_place(first if n else 0, len(body))
    root_start = put(bytes(mini)) if mini else ENDOFCHAIN
    entries[0] = entries[0].with_place(root_start, len(mini))
    nmfat = -(-len(mfat) // 128)
    # entries past the mini stream's end are never read; the base (and this writer) leave them zero
    mfat_first = put(struct.pack(f"<{len(mfat)}I", *mfat)) if mfat else ENDOFCHAIN
    dir_first = put(b"".join(e.raw for e in entries))
    nfat = 1
    while len(sectors) + nfat > nfat * 128:
        nfat += 1
    fat_first = len(sectors)
    fat.extend([FATSECT] * nfat)
    fat.extend([FREESECT] * (nfat * 128 - len(fat)))
    fat_blob = struct.pack(f"<{len(fat)}I", *fat)
    for k in range(nfat):
        sectors.append(fat_blob[SECTOR * k: SECTOR * (k + 1)])
    if nfat > 109:
        raise CfbError("too large for a header-only DIFAT")
    difat = [fat_first + k for k in range(nfat)] + [FREESECT] * (109 - nfat)
    h = bytearray(cf.header)
    struct.pack_into("<IIIIIIIII", h, 40, 0, nfat, dir_first, 0, CUTOFF, mfat_first, nmfat, ENDOFCHAIN, 0)
    struct.pack_into("<109I", h, 76, *difat)
    return bytes(h) + b"".join(sectors)


__all__ = ["read_cfb", "write_cfb", "CompoundFile", "Entry", "CfbError"]
