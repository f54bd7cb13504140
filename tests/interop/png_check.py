#!/usr/bin/python3
"""tests/interop/png_check.py PNG — fails unless the screenshot shows a page.

Decodes the PNG (8-bit RGB or RGBA, non-interlaced, as Chromium writes
them) with zlib alone and prints "pixels=N nonwhite=F colours=C". Exit 0 when
at least 2% of the pixels are not the page background and there are at
least 8 distinct colours: a blank, white or single-colour page fails.
"""
import struct
import sys
import zlib


def rows(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, width = 8, b"", None
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
        pos += 12 + n
        if kind == b"IHDR":
            width, height, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or ctype not in (2, 6) or interlace != 0:
                raise ValueError("unsupported PNG: depth %d type %d interlace %d" % (depth, ctype, interlace))
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
    raw = zlib.decompress(idat)
    stride = width * bpp
    prev = bytearray(stride)
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):  # PNG filters (RFC 2083 §6)
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        prev = line
        yield [tuple(line[x * bpp:x * bpp + 3]) for x in range(width)]


def main():
    counts = {}
    total = 0
    for r in rows(sys.argv[1]):
        for px in r[::2]:  # every other pixel: enough, and twice as fast
            counts[px] = counts.get(px, 0) + 1
            total += 1
    background = max(counts.values())
    nonwhite = 1 - background / total
    print("pixels=%d nonwhite=%.3f colours=%d" % (total, nonwhite, len(counts)))
    sys.exit(0 if nonwhite >= 0.02 and len(counts) >= 8 else 1)


if __name__ == "__main__":
    main()
