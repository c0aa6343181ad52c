"""Word and PowerPoint uploads: converted to PDF by a real LibreOffice in the real server process, counted,
priced, stored and printed as the PDF; everything LibreOffice must not be given is refused in words."""

from __future__ import annotations

import hashlib
import io
import os
import re
import time
from decimal import Decimal
from pathlib import Path

import pytest
import requests
from pypdf import PdfReader

from shopdesk.server import convert
from shopdesk.server.convert import ConversionRefused, Converter, Limits
from tests.helpers.documents import (
    bomb_docx,
    damaged_docx,
    docx_bytes,
    locked_docx,
    pptx_bytes,
    soffice_convert,
)
from tests.helpers.pdfs import pdf_bytes
from tests.helpers.server import ServerProcess, make_shop

pytestmark = pytest.mark.slow  # LibreOffice starts in seconds

WORD_REFUSAL = "This Word file could not be opened; please save it as PDF and upload again"


def _pages(data: bytes) -> int:
    return len(PdfReader(io.BytesIO(data)).pages)


@pytest.fixture(scope="session")
def office_docs(tmp_path_factory) -> dict[str, bytes]:
    """Each kind once, and LibreOffice's own PDF export of each (one soffice run per step)."""
    d = tmp_path_factory.mktemp("office")
    (d / "breaks.docx").write_bytes(docx_bytes(5))
    (d / "slides.pptx").write_bytes(pptx_bytes(3))
    soffice_convert([d / "breaks.docx"], "doc", d / "old")
    soffice_convert([d / "slides.pptx"], "ppt", d / "old")
    files = {p.name: p for p in [d / "breaks.docx", d / "slides.pptx", d / "old/breaks.doc", d / "old/slides.ppt"]}
    ref = {}
    for name, p in files.items():
        (d / "ref" / p.suffix[1:]).mkdir(parents=True, exist_ok=True)
        [pdf] = soffice_convert([p], "pdf", d / "ref" / p.suffix[1:])
        ref[name] = _pages(pdf.read_bytes())
    docs = {name: p.read_bytes() for name, p in files.items()}
    docs["reference"] = ref
    return docs


def _log_count(server: ServerProcess, text: str) -> int:
    return server.log_path.read_text("utf-8", "replace").count(text)


def test_quote_and_upload_count_word_and_powerpoint_as_libreoffice_exports_them(shop, office_docs):
    names = ["breaks.docx", "breaks.doc", "slides.pptx", "slides.ppt"]
    ref = office_docs["reference"]
    assert ref == {"breaks.docx": 5, "breaks.doc": 5, "slides.pptx": 3, "slides.ppt": 3}  # a page per break
    cache = shop.server.data_dir / "files" / "converted"
    new = sum(not (cache / f"{hashlib.sha256(office_docs[n]).hexdigest()}.pdf").exists() for n in names)
    converted_before = _log_count(shop.server, "converted a ")
    files = [(n, office_docs[n]) for n in names]
    parts = [("files[]", (n, io.BytesIO(b), "application/octet-stream")) for n, b in files]
    quote = requests.post(shop.url + "/calculate-cost", data={"shop_id": str(shop.shop_id), "copies": "2"},
                          files=parts, timeout=120)
    assert quote.status_code == 200, quote.text
    q = quote.json(parse_float=Decimal)["files"]
    assert [f["num_pages"] for f in q] == [ref[n] for n in names]
    assert [f["source_type"] for f in q] == ["word", "word", "powerpoint", "powerpoint"]
    assert [f["cost"] for f in q] == [Decimal("10.00"), Decimal("10.00"), Decimal("6.00"), Decimal("6.00")]
    # the customer may check the pages before sending: the converted PDF, by the original's hash
    preview = requests.get(shop.url + q[0]["preview_url"], timeout=10)
    assert preview.status_code == 200 and preview.headers["content-type"] == "application/pdf"
    assert _pages(preview.content) == 5
    assert q[0]["preview_url"] == f"/converted/{hashlib.sha256(office_docs['breaks.docx']).hexdigest()}.pdf"
    assert _log_count(shop.server, "converted a ") - converted_before == new  # each file not seen before, once
    converted_before = _log_count(shop.server, "converted a ")

    r = shop.upload_response(*files, copies=2)
    assert r.status_code == 200, r.text
    up = r.json(parse_float=Decimal)
    assert [f["num_pages"] for f in up["files"]] == [f["num_pages"] for f in q]  # the quote is the print
    assert [f["original_name"] for f in up["files"]] == names
    assert up["total_cost"] == Decimal("32.00")
    # the upload reused the quote's conversions
    assert _log_count(shop.server, "converted a ") == converted_before

    queued = {f["code"]: f for o in shop.get("/queue").json() for f in o["files"]}
    for sent in up["files"]:
        job = queued[sent["code"]]
        assert job["content_type"] == "application/pdf" and job["original_name"] == sent["original_name"]
        assert job["source_type"] == ("word" if ".doc" in sent["original_name"] else "powerpoint")
        data = shop.get(f"/queue/download/{job['file_id']}").content
        assert data.startswith(b"%PDF-") and hashlib.sha256(data).hexdigest() == job["sha256"]
        assert job["size_bytes"] == len(data) and _pages(data) == job["num_pages"]


def test_a_converted_job_keeps_its_source_type_on_each_database(api_shop, office_docs):
    f = api_shop.upload(office_docs["breaks.docx"], name="report.docx")["files"][0]
    assert f["source_type"] == "word" and f["num_pages"] == 5
    job = api_shop.get(f"/file/{f['code']}").json()
    assert job["source_type"] == "word" and job["content_type"] == "application/pdf"
    assert job["original_name"] == "report.docx"
    pdf = api_shop.upload(pdf_bytes(2), name="plain.pdf")["files"][0]
    assert api_shop.get(f"/file/{pdf['code']}").json()["source_type"] is None
    # the customer's status page says what happened to the file
    page = requests.get(f"{api_shop.url}/j/{f['code']}", timeout=10).text
    assert "report.docx (converted from Word)" in page


def test_the_front_door_offers_word_and_powerpoint(shop):
    page = requests.get(f"{shop.url}/s/{shop.shop_id}", timeout=10).text
    accept = re.search(r'accept="([^"]+)"', page).group(1)
    for ext in (".pdf", ".docx", ".doc", ".pptx", ".ppt"):
        assert ext in accept.split(",")
    assert "Word or PowerPoint" in page


def _refused(shop, name: str, data: bytes) -> str:
    before = sum(len(o["files"]) for o in shop.get("/queue").json())
    t0 = time.monotonic()
    r = shop.upload_response((name, data))
    took = time.monotonic() - t0
    assert r.status_code == 400, r.text
    assert sum(len(o["files"]) for o in shop.get("/queue").json()) == before  # nothing half-stored
    assert took < 120  # never the client's own timeout: refused, not hung
    return r.json()["error"]


def test_damaged_word_file_is_refused_in_words(shop, office_docs):
    err = _refused(shop, "damaged.docx", damaged_docx(office_docs["breaks.docx"]))
    assert err == f"'damaged.docx': {WORD_REFUSAL}"


def test_password_protected_word_file_is_refused_before_libreoffice(shop, office_docs):
    started = _log_count(shop.server, "LibreOffice could not convert") + _log_count(shop.server, "converted a ")
    err = _refused(shop, "locked.docx", locked_docx(office_docs["breaks.docx"]))
    assert "'locked.docx': This file is protected by a password and could not be opened" in err
    assert "save it as PDF" in err
    assert _log_count(shop.server, "LibreOffice could not convert") + _log_count(shop.server, "converted a ") == started


def test_zip_bomb_dressed_as_docx_is_refused_before_libreoffice(shop):
    bomb = bomb_docx(400)
    assert len(bomb) < 2 * 2**20  # 400 MB unpacked
    started = _log_count(shop.server, "LibreOffice could not convert") + _log_count(shop.server, "converted a ")
    err = _refused(shop, "thesis.docx", bomb)
    assert err.startswith(f"'thesis.docx': {WORD_REFUSAL}") and "unpacks to more than 300 MB" in err
    assert _log_count(shop.server, "LibreOffice could not convert") + _log_count(shop.server, "converted a ") == started
    # the same file again: the refusal is remembered, not worked out again
    assert _refused(shop, "thesis.docx", bomb) == err


def test_a_docx_by_any_other_name_is_still_word_and_a_pdf_named_docx_is_a_pdf(shop, office_docs):
    f = shop.upload(office_docs["breaks.docx"], name="notes.pdf")["files"][0]
    assert f["num_pages"] == 5 and f["source_type"] == "word"
    g = shop.upload(pdf_bytes(2), name="notes.docx")["files"][0]
    assert g["num_pages"] == 2 and "source_type" not in g


def test_a_server_without_libreoffice_refuses_word_in_words(tmp_path, office_docs):
    server = ServerProcess(tmp_path / "srv", env={"SHOPDESK_SOFFICE": str(tmp_path / "no-such-soffice")}).start()
    try:
        shop = make_shop(server)
        err = _refused(shop, "report.docx", office_docs["breaks.docx"])
        assert err == f"'report.docx': {WORD_REFUSAL}"
        assert "PowerPoint file could not be opened" in _refused(shop, "talk.pptx", office_docs["slides.pptx"])
        assert list((tmp_path / "srv").glob("files/converted/*.refused")) == []  # installing it fixes this
        assert shop.upload(pdf_bytes(1), name="fine.pdf")["files"][0]["num_pages"] == 1  # PDFs still work
    finally:
        server.stop()


def test_a_converted_word_file_prints_through_cups(shop, cupsd, office_docs, tmp_path):
    import subprocess
    import sys

    from tests.helpers.cupsd import pdf_pages

    out = cupsd.out / "Front.pdf"
    out.unlink(missing_ok=True)
    f = shop.upload(office_docs["breaks.doc"], name="essay.doc")["files"][0]
    env = {**os.environ, **cupsd.env, "SHOPDESK_PASSWORD": shop.staff[1]}
    r = subprocess.run([sys.executable, "-m", "shopdesk.cli", "agent", "--server", shop.url,
                        "--username", shop.staff[0], "--printer", "Front", "--once",
                        "--data-dir", str(tmp_path / "agent")], capture_output=True, text=True, env=env, timeout=180)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().startswith(f"{f['code']} printed 'Front'"), r.stdout
    assert pdf_pages(out) == 5
    assert shop.get(f"/file/{f['code']}").json()["status"] == "downloaded"


# --- the converter's own limits, with stand-ins that misbehave the ways LibreOffice could ---------------

def _fake_soffice(tmp_path: Path, body: str) -> str:
    p = tmp_path / "soffice"
    p.write_text("#!/bin/sh\n" + body + "\n")
    p.chmod(0o755)
    return str(p)


def _running(pid: int) -> bool:
    """Alive and not a zombie waiting for whoever inherited it to reap it."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def test_a_converter_that_hangs_is_killed_with_everything_it_started(tmp_path):
    pids = tmp_path / "pids"
    fake = _fake_soffice(tmp_path, f"sleep 300 & echo $! > {pids}\nsleep 300")
    conv = Converter(tmp_path / "work", Limits(timeout_seconds=2), soffice=fake)
    (tmp_path / "work").mkdir()
    src = tmp_path / "a.docx"
    src.write_bytes(docx_bytes(1))
    with pytest.raises(ConversionRefused, match="took too long"):
        conv.to_pdf(src, convert.WORD, "docx")
    child = int(pids.read_text())
    assert not _running(child)  # the converter's own children went with it
    assert list((tmp_path / "work").glob("conv-*")) == []  # nothing left on disk


@pytest.mark.parametrize("body,limits", [
    ("exec python3 -c 'while True: pass'", Limits(cpu_seconds=1, timeout_seconds=60)),
    ("exec python3 -c 'b = bytearray(3 * 2**30)'", Limits(memory_mb=512)),
], ids=["cpu", "memory"])
def test_a_converter_over_its_cpu_or_memory_limit_is_refused(tmp_path, body, limits):
    conv = Converter(tmp_path / "work", limits, soffice=_fake_soffice(tmp_path, body))
    (tmp_path / "work").mkdir()
    src = tmp_path / "a.pptx"
    src.write_bytes(b"x")
    t0 = time.monotonic()
    with pytest.raises(ConversionRefused, match="This PowerPoint file could not be opened"):
        conv.to_pdf(src, convert.POWERPOINT, "pptx")
    assert time.monotonic() - t0 < 30  # ended by its limit, not by the 60 s wall clock


def test_macros_never_run_and_links_are_never_updated_in_the_private_profile(tmp_path):
    """A document whose Basic macro, bound to "open document", would write a file: converted by the
    real LibreOffice with the server's profile, the file never appears; the profile says why."""
    marker = tmp_path / "the-macro-ran.txt"
    odt = tmp_path / "macro.odt"
    odt.write_bytes(_odt_with_open_macro(marker))
    (tmp_path / "work").mkdir()
    conv = Converter(tmp_path / "work", Limits())
    pdf = conv.to_pdf(odt, convert.WORD, "odt")
    assert _pages(pdf.read_bytes()) == 1
    assert not marker.exists()
    xcu = next((tmp_path / "work").glob("profile-*/user/registrymodifications.xcu")).read_text()
    for setting in ('"DisableMacrosExecution" oor:op="fuse"><value>true', '"MacroSecurityLevel" oor:op="fuse"><value>3',
                    '"BlockUntrustedRefererLinks" oor:op="fuse"><value>true'):
        assert setting in xcu  # LibreOffice rewrote the file on exit and kept them


def _odt_with_open_macro(marker: Path) -> bytes:
    import zipfile

    ns = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
          'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
          'xmlns:script="urn:oasis:names:tc:opendocument:xmlns:script:1.0" xmlns:xlink="http://www.w3.org/1999/xlink" '
          'xmlns:dom="http://www.w3.org/2001/xml-events"')
    content = (f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {ns} office:version="1.3">'
               '<office:scripts><office:event-listeners><script:event-listener script:language="ooo:script" '
               'script:event-name="dom:load" xlink:type="simple" xlink:href="vnd.sun.star.script:Standard.Module1.Main'
               '?language=Basic&amp;location=document"/></office:event-listeners></office:scripts>'
               '<office:body><office:text><text:p>Opening this writes a file.</text:p></office:text></office:body>'
               '</office:document-content>')
    module = ('<?xml version="1.0" encoding="UTF-8"?><script:module xmlns:script="http://openoffice.org/2000/script" '
              'script:name="Module1" script:language="StarBasic">Sub Main\n  n = FreeFile()\n'
              f'  Open "{marker}" For Output As #n\n  Print #n, "ran"\n  Close #n\nEnd Sub\n</script:module>')
    lb = ('<?xml version="1.0" encoding="UTF-8"?><library:library xmlns:library="http://openoffice.org/2000/library" '
          'library:name="Standard" library:readonly="false" library:passwordprotected="false">'
          '<library:element library:name="Module1"/></library:library>')
    lc = ('<?xml version="1.0" encoding="UTF-8"?><library:libraries xmlns:library="http://openoffice.org/2000/library" '
          'xmlns:xlink="http://www.w3.org/1999/xlink"><library:library library:name="Standard" library:link="false"/>'
          '</library:libraries>')
    parts = {"content.xml": content, "Basic/script-lc.xml": lc, "Basic/Standard/script-lb.xml": lb,
             "Basic/Standard/Module1.xml": module}
    manifest = ('<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
                'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.3">'
                '<manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.text"/>'
                + "".join(f'<manifest:file-entry manifest:full-path="{n}" manifest:media-type="text/xml"/>' for n in parts)
                + '</manifest:manifest>')
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.text")
        for n, text in {**parts, "META-INF/manifest.xml": manifest}.items():
            z.writestr(n, text)
    return buf.getvalue()


def test_the_sweeper_trims_the_conversion_cache(tmp_path):
    cache = tmp_path / "converted"
    cache.mkdir()
    now = time.time()
    for i in range(5):
        p = cache / f"{i:064x}.pdf"
        p.write_bytes(b"%PDF-")
        os.utime(p, (now - i * 60, now - i * 60))
    old = cache / f"{9:064x}.refused"
    old.write_text("no")
    os.utime(old, (now - 2 * 86400, now - 2 * 86400))
    work = cache / "work"
    gone, mine = work / "profile-999999999-0", work / f"profile-{os.getpid()}-0"
    for d in (gone, mine):
        (d / "user").mkdir(parents=True)
    assert convert.trim_cache(cache, max_age_seconds=86400, max_entries=3) == 3
    assert sorted(p.name[-6:] for p in cache.iterdir() if p.is_file()) == ["00.pdf", "01.pdf", "02.pdf"]
    assert not gone.exists() and mine.exists()  # a profile of a server process that is gone
