"""Benchmark of Word/PowerPoint conversion, with PDF uploads beside it in the same run.

  .venv/bin/python bench/convert.py [--rounds 3] [--upload-rounds 5] [--parallel 2]

1. The converter alone (shopdesk.server.convert.Converter: the LibreOffice child process with the server's
   limits and private profile): .docx of 1, 5 and 20 pages, .pptx of 1, 5 and 20 slides, each with fresh
   content per round; seconds per conversion and per page (median, p95). The first conversion on a fresh
   profile (LibreOffice creating it) is reported on its own. Memory peak: the largest resident set of any
   LibreOffice process of the run (getrusage of the waited-for children).
2. Upload → queue on a real server process (SQLite): `POST /upload` of a fresh 20-page .docx until the job
   is in `GET /queue`, beside a 20-page PDF, rounds alternating; and the .docx upload that follows its
   quote (`POST /calculate-cost` first: the upload reuses the quote's conversion).
"""

from __future__ import annotations

import argparse
import io
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench._util import pct  # noqa: E402


def _docx(pages: int, salt: str) -> bytes:
    import docx
    from docx.enum.text import WD_BREAK

    d = docx.Document()
    for i in range(pages):
        d.add_heading(f"Chapter {i + 1} ({salt})", level=1)
        for _ in range(4):
            d.add_paragraph("The quick brown fox jumps over the lazy dog. " * 8)
        if i < pages - 1:
            d.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def _pptx(slides: int, salt: str) -> bytes:
    import pptx

    p = pptx.Presentation()
    for i in range(slides):
        s = p.slides.add_slide(p.slide_layouts[1])
        s.shapes.title.text = f"Slide {i + 1} ({salt})"
        s.placeholders[1].text = "A point\nAnother point\nA third point"
    buf = io.BytesIO()
    p.save(buf)
    return buf.getvalue()


def stats(xs: list[float]) -> str:
    return f"median {statistics.median(xs):6.3f}  p95 {pct(xs, 95):6.3f}  (n={len(xs)})"


def bench_converter(rounds: int, parallel: int) -> None:
    from pypdf import PdfReader

    from shopdesk.server.convert import POWERPOINT, WORD, Converter, Limits

    work = Path(tempfile.mkdtemp(prefix="bench-convert-"))
    conv = Converter(work, Limits(max_parallel=parallel))
    src = work / "src"
    src.mkdir()
    print(f"1. converter alone (LibreOffice {conv.soffice}), {rounds} rounds per size")
    first = True
    for kind, make, ext in ((WORD, _docx, "docx"), (POWERPOINT, _pptx, "pptx")):
        per_page: list[float] = []
        for n in (1, 5, 20):
            per_file: list[float] = []
            for r in range(rounds):
                f = src / f"{kind}-{n}-{r}.{ext}"
                f.write_bytes(make(n, f"round {r}"))
                t0 = time.perf_counter()
                pdf = conv.to_pdf(f, kind, ext)
                took = time.perf_counter() - t0
                pages = len(PdfReader(str(pdf)).pages)
                assert pages == n, (kind, n, pages)
                if first:
                    print(f"   first conversion on a fresh profile ({kind}, {n} page): {took:.2f} s")
                    first = False
                    continue
                per_file.append(took)
                per_page.append(took / n)
            print(f"   {kind:10s} {n:2d} pages  s/file  {stats(per_file)}   s/page  {stats([x / n for x in per_file])}")
        print(f"   {kind:10s} all sizes s/page  {stats(per_page)}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"   memory peak (largest LibreOffice process, resident): {peak:.0f} MB")


def bench_upload(rounds: int) -> None:
    import requests

    from tests.helpers.pdfs import pdf_bytes
    from tests.helpers.server import ServerProcess, make_shop

    server = ServerProcess(Path(tempfile.mkdtemp(prefix="bench-convert-srv-"))).start()
    try:
        shop = make_shop(server)

        def to_queue(name: str, data: bytes, quote_first: bool = False) -> float:
            if quote_first:
                r = requests.post(shop.url + "/calculate-cost", data={"shop_id": str(shop.shop_id)},
                                  files=[("files[]", (name, io.BytesIO(data)))], timeout=300)
                assert r.status_code == 200, r.text
            t0 = time.perf_counter()
            code = shop.upload(data, name=name)["files"][0]["code"]
            codes = {f["code"] for o in shop.get("/queue").json() for f in o["files"]}
            took = time.perf_counter() - t0
            assert code in codes
            return took

        to_queue("warm.docx", _docx(1, "warm-up"))  # the server's converter profile, once
        times: dict[str, list[float]] = {"20-page PDF": [], "20-page .docx": [], "20-page .docx after its quote": []}
        for r in range(rounds):
            times["20-page PDF"].append(to_queue("a.pdf", pdf_bytes(20)))
            times["20-page .docx"].append(to_queue("a.docx", _docx(20, f"upload {r}")))
            times["20-page .docx after its quote"].append(to_queue("b.docx", _docx(20, f"quoted {r}"), True))
        print(f"2. upload → in the queue, real server (SQLite), {rounds} rounds alternating, seconds")
        for k, xs in times.items():
            print(f"   {k:32s} {stats(xs)}")
    finally:
        server.stop()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--upload-rounds", type=int, default=5)
    ap.add_argument("--parallel", type=int, default=2)
    a = ap.parse_args()
    bench_converter(a.rounds, a.parallel)
    bench_upload(a.upload_rounds)


if __name__ == "__main__":
    main()
