"""Real Word and PowerPoint files for the conversion tests and bench/convert.py: .docx/.pptx written
with python-docx/python-pptx, .doc/.ppt made from them by LibreOffice itself, a password-protected
.docx (msoffcrypto-tool), a zip bomb dressed as a .docx, and LibreOffice's own PDF export to compare with."""

from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path


def docx_bytes(pages: int, *, words_per_page: int = 60) -> bytes:
    """A Word file of exactly `pages` pages: one explicit page break between pages."""
    import docx
    from docx.enum.text import WD_BREAK

    d = docx.Document()
    for i in range(pages):
        d.add_heading(f"Chapter {i + 1}", level=1)
        d.add_paragraph(" ".join(f"word{j}" for j in range(words_per_page)))
        if i < pages - 1:
            d.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def pptx_bytes(slides: int) -> bytes:
    import pptx

    p = pptx.Presentation()
    for i in range(slides):
        s = p.slides.add_slide(p.slide_layouts[1])
        s.shapes.title.text = f"Slide {i + 1}"
        s.placeholders[1].text = f"Point {i + 1}"
    buf = io.BytesIO()
    p.save(buf)
    return buf.getvalue()


def locked_docx(plain: bytes, password: str = "s3cret-pass") -> bytes:
    from msoffcrypto.format.ooxml import OOXMLFile

    out = io.BytesIO()
    OOXMLFile(io.BytesIO(plain)).encrypt(password, out)
    return out.getvalue()


def bomb_docx(unpacked_mb: int = 400) -> bytes:
    """A .docx whose one extra part unpacks to `unpacked_mb` MB of zeros (about 1/1000 of that packed)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(docx_bytes(1))) as src, zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            z.writestr(info.filename, src.read(info.filename))
        with z.open("word/media/image1.bin", "w", force_zip64=True) as f:
            chunk = b"\0" * (1 << 20)
            for _ in range(unpacked_mb):
                f.write(chunk)
    return buf.getvalue()


def damaged_docx(good: bytes) -> bytes:
    """Cut short: the zip's directory at the end is gone."""
    return good[: len(good) // 2]


def soffice_convert(files: list[Path], fmt: str, outdir: Path) -> list[Path]:
    """LibreOffice's own conversion (`soffice --convert-to FMT`), with a throwaway profile."""
    outdir.mkdir(parents=True, exist_ok=True)
    profile = Path(tempfile.mkdtemp(prefix="lo-profile-"))
    try:
        subprocess.run([shutil.which("soffice") or "soffice", f"-env:UserInstallation={profile.as_uri()}",
                        "--headless", "--norestore", "--convert-to", fmt, "--outdir", str(outdir),
                        *map(str, files)], check=True, capture_output=True, timeout=300)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    ext = fmt.split(":")[0]
    return [outdir / f"{p.stem}.{ext}" for p in files]
