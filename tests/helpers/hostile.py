"""Hostile files made on the spot, as an attacker would make them: page-tree bombs, huge page counts,
decompression bombs, polyglots, truncated and encrypted files. Used by the tests and bench/abuse.py."""

from __future__ import annotations

import struct
import zlib

from tests.helpers.pdfs import pdf_bytes


def raw_pdf(objects: list[bytes], root: int = 1) -> bytes:
    """A PDF from numbered object bodies (object n is objects[n-1]) with a correct xref table."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, root, xref)
    return bytes(out)


def page_tree_bomb(fanout: int = 1000, levels: int = 3) -> bytes:
    """Each level's /Kids lists the next level's one node `fanout` times: fanout**levels pages to a naive
    walker (10**9 by default) from ~18 KB."""
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>"]
    for level in range(levels):
        me, child = 2 + level, 3 + level
        parent = b"" if level == 0 else b" /Parent %d 0 R" % (me - 1)
        kids = b" ".join([b"%d 0 R" % child] * fanout)
        objs.append(b"<< /Type /Pages /Kids [ " + kids + b" ] /Count %d%s >>" % (fanout ** (levels - level), parent))
    objs.append(b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 595 842] >>" % (1 + levels))
    return raw_pdf(objs)


def page_loop() -> bytes:
    """A page tree whose node lists its own parent: a cycle."""
    return raw_pdf([b"<< /Type /Catalog /Pages 2 0 R >>",
                    b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                    b"<< /Type /Pages /Kids [2 0 R] /Count 1 /Parent 2 0 R >>"])


def deep_page_tree(depth: int = 5000) -> bytes:
    """A chain of /Pages nodes thousands deep with one page at the bottom."""
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>"]
    for i in range(depth):
        objs.append(b"<< /Type /Pages /Kids [%d 0 R] /Count 1 >>" % (3 + i))
    objs.append(b"<< /Type /Page /MediaBox [0 0 595 842] >>")
    return raw_pdf(objs)


def many_pages(n: int) -> bytes:
    """n real, distinct (empty) pages in one flat tree: small, valid, and far too long."""
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [ " + b" ".join(b"%d 0 R" % (3 + i) for i in range(n)) + b" ] /Count %d >>" % n]
    objs += [b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>"] * n
    return raw_pdf(objs)


def lying_count() -> bytes:
    """One page, but /Count claims a million (a counter that believes /Count would price a million)."""
    return raw_pdf([b"<< /Type /Catalog /Pages 2 0 R >>",
                    b"<< /Type /Pages /Kids [3 0 R] /Count 1000000 >>",
                    b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>"])


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_claiming(width: int = 40000, height: int = 40000) -> bytes:
    """A ~69-byte PNG whose header claims width × height pixels."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", zlib.compress(b"\x00"))
            + _png_chunk(b"IEND", b""))


def jpeg_claiming(width: int = 60000, height: int = 60000) -> bytes:
    """A JPEG header (SOF0) claiming a huge image, with no image data behind it."""
    sof = struct.pack(">BHHB", 8, height, width, 3) + b"\x01\x22\x00\x02\x11\x01\x03\x11\x01"
    return (b"\xff\xd8" + b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
            + b"\xff\xc0" + struct.pack(">H", len(sof) + 2) + sof + b"\xff\xd9")


def html_pdf_polyglot() -> bytes:
    """An HTML page with a PDF after it: a browser would run its script; it is no PDF to us."""
    return b"<html><script>alert(document.cookie)</script><!--\n" + pdf_bytes(1) + b"\n-->"


def png_pdf_polyglot() -> bytes:
    """A PNG signature followed by a PDF: neither a whole image nor a PDF that starts where it should."""
    return b"\x89PNG\r\n\x1a\n" + pdf_bytes(1)


def flate_bomb_pdf(mb: int = 200) -> bytes:
    """A page whose content stream inflates to `mb` MB of zeros (a small file; the check never
    decompresses content streams, so this one is simply counted)."""
    data = zlib.compress(b"\x00" * (mb * 2**20), 9)
    return raw_pdf([b"<< /Type /Catalog /Pages 2 0 R >>",
                    b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                    b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
                    b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(data) + data + b"\nendstream"])


def corpus() -> dict[str, tuple[bytes, str]]:
    """name → (bytes, words the refusal must contain)."""
    unusual = "built in an unusual way"
    return {
        "bomb.pdf": (page_tree_bomb(), unusual),
        "loop.pdf": (page_loop(), unusual),
        "deep.pdf": (deep_page_tree(), unusual),
        "huge-count.pdf": (many_pages(5000), "more than 2000 pages"),
        "bomb.png": (png_claiming(), "40000×40000 pixels"),
        "bomb.jpg": (jpeg_claiming(), "60000×60000 pixels"),
        "page.html.pdf": (html_pdf_polyglot(), "not a PDF, PNG, JPEG, Word or PowerPoint file"),
        "png-pdf.png": (png_pdf_polyglot(), "damaged image"),
        "truncated.pdf": (pdf_bytes(3)[:-300], "incomplete"),
        "locked.pdf": (pdf_bytes(2, password="s3cret"), "password"),
        "headless.pdf": (b"%PDF-1.7\n" + b"1 0 obj\n<< /Type /Catalog >>\nendobj\n%%EOF\n", "damaged"),
    }
