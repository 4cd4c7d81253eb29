"""MS-OVBA 2.4.1 compression: the container format of VBA source and the dir stream in a vbaProject.bin.

`compress` follows the specification's own algorithm (2.4.1.3.6 to 2.4.1.3.19: longest match in the chunk
window, the nearest candidate on ties, a raw chunk when compression would not fit in 4,096 bytes). Office's own
compressor picks other, often shorter matches (recompressing the containers of xlwings' Excel-saved files gives
different, equally valid bytes), so what is compared with a base is always the decompressed content;
`decompress` is strict and raises on any malformed chunk.
"""
from __future__ import annotations

import struct


class OvbaError(ValueError):
    """A compressed container that is not well formed."""


def _help(difference: int) -> tuple[int, int]:
    """CopyToken Help (2.4.1.3.19.1): (bit count of the offset part, maximum length) at a chunk position."""
    bit_count = max((difference - 1).bit_length(), 4)
    return bit_count, (0xFFFF >> bit_count) + 3


def decompress(data: bytes) -> bytes:
    if not data or data[0] != 0x01:
        raise OvbaError("compressed container does not start with the signature byte 0x01")
    out = bytearray()
    pos = 1
    while pos < len(data):
        if pos + 2 > len(data):
            raise OvbaError(f"truncated chunk header at byte {pos}")
        header = struct.unpack_from("<H", data, pos)[0]
        size = (header & 0x0FFF) + 3
        if (header >> 12) & 0x7 != 0b011:
            raise OvbaError(f"chunk header at byte {pos} has signature {(header >> 12) & 7:#b}, not 0b011")
        end = pos + size
        if end > len(data):
            raise OvbaError(f"chunk at byte {pos} claims {size} bytes, {len(data) - pos} remain")
        chunk_start = len(out)
        p = pos + 2
        if not header & 0x8000:  # raw chunk
            if size != 4098:
                raise OvbaError(f"raw chunk at byte {pos} has size {size}, not 4098")
            out += data[p:end]
        else:
            while p < end:
                flags = data[p]
                p += 1
                for bit in range(8):
                    if p >= end:
                        break
                    if not flags >> bit & 1:
                        out.append(data[p])
                        p += 1
                        continue
                    if p + 2 > end:
                        raise OvbaError(f"truncated copy token at byte {p}")
                    token = struct.unpack_from("<H", data, p)[0]
                    p += 2
                    bit_count, _ = _help(len(out) - chunk_start)
                    length = (token & (0xFFFF >> bit_count)) + 3
                    offset = (token >> (16 - bit_count)) + 1
                    src = len(out) - offset
                    if src < chunk_start:
                        raise OvbaError(f"copy token at byte {p - 2} reaches before its chunk")
                    for k in range(length):
                        out.append(out[src + k])
            if len(out) - chunk_start > 4096:
                raise OvbaError(f"chunk at byte {pos} decompresses to more than 4096 bytes")
        pos = end
    return bytes(out)


def _compress_chunk(data: bytes, start: int, end: int) -> bytes:
    out = bytearray()
    cur = start
    while cur < end:
        flag_at = len(out)
        out.append(0)
        flags = 0
        for bit in range(8):
            if cur >= end:
                break
            best_len, best_cand = 0, 0
            cand = cur - 1
            while cand >= start:  # 2.4.1.3.19.4 Matching
                n = 0
                while cur + n < end and data[cand + n] == data[cur + n]:
                    n += 1
                if n > best_len:
                    best_len, best_cand = n, cand
                cand -= 1
            bit_count, max_len = _help(cur - start)
            if best_len >= 3:
                length = min(best_len, max_len)
                offset = cur - best_cand
                out += struct.pack("<H", ((offset - 1) << (16 - bit_count)) | (length - 3))
                flags |= 1 << bit
                cur += length
            else:
                out.append(data[cur])
                cur += 1
        out[flag_at] = flags
    return bytes(out)


def compress(data: bytes) -> bytes:
    out = bytearray(b"\x01")
    for start in range(0, len(data), 4096):
        end = min(start + 4096, len(data))
        body = _compress_chunk(data, start, end)
        if len(body) + 2 > 4098 or len(body) > 4096:
            raw = data[start:end] + b"\0" * (4096 - (end - start))
            out += struct.pack("<H", 0x3000 | 4095) + raw
        else:
            out += struct.pack("<H", 0xB000 | (len(body) + 2 - 3)) + body
    return bytes(out)


__all__ = ["compress", "decompress", "OvbaError"]
