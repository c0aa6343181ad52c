"""Receiving uploads: a streaming multipart reader (files go to disk chunk by chunk, hashed on the way,
size limits enforced while reading), file type from magic bytes, page counting and safe names."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from struct import error as struct_error

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from .errors import ApiError, BadRequest, TooLarge
from .sandbox import Refusal
from .storage import FileStore

NOT_COUNTABLE = "Page count not available for this file. Please convert to PDF and upload."
MAX_FIELD_BYTES = 64 * 1024
MAX_FIELDS = 50
FILE_FIELDS = {"file", "files", "files[]"}


@dataclass
class ReceivedFile:
    field: str
    name: str  # already made safe
    temp_path: Path
    size: int = 0
    sha256: str = ""
    head: bytes = b""
    too_large: bool = False


@dataclass
class ReceivedForm:
    fields: dict[str, str] = field(default_factory=dict)
    files: list[ReceivedFile] = field(default_factory=list)
    temps: list[Path] = field(default_factory=list)  # more temp files of this upload (converted PDFs)

    def digest(self) -> bytes:
        """What the form says, independent of how it was framed (multipart boundaries differ per send)."""
        h = hashlib.sha256()
        for name in sorted(self.fields):
            h.update(f"{len(name)}:{name}={len(self.fields[name])}:{self.fields[name]}\n".encode())
        for f in self.files:
            h.update(f"{f.field}\x00{f.name}\x00{f.size}\x00{f.sha256}\n".encode())
        return h.hexdigest().encode()

    def discard(self) -> None:
        for f in self.files:
            f.temp_path.unlink(missing_ok=True)
        for p in self.temps:
            p.unlink(missing_ok=True)


def safe_name(raw: str | None) -> str:
    """A display name that cannot hurt: no directories, no control characters, at most 200 characters.
    The stored file is named by its hash, so this name never touches the file system."""
    name = unicodedata.normalize("NFC", raw or "")
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip().lstrip(".")
    name = re.sub(r"\s+", " ", name)
    if len(name) > 200:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: 190] + dot + ext[:9]) if dot and len(ext) <= 9 else name[:200]
    return name or "upload"


async def read_multipart(request: Request, store: FileStore, *, max_file: int, max_request: int,
                         max_files: int) -> ReceivedForm:
    """Streams a multipart/form-data body to temp files. Raises TooLarge (413) or BadRequest (400)."""
    ctype, params = parse_options_header(request.headers.get("content-type", ""))
    if ctype != b"multipart/form-data" or b"boundary" not in params:
        raise BadRequest("send the files as multipart/form-data")
    length = request.headers.get("content-length")
    if length is not None:
        try:
            if int(length) > max_request:
                raise TooLarge(f"The upload is larger than {max_request // 2**20} MB in total.")
        except ValueError as exc:
            raise BadRequest("invalid Content-Length") from exc

    form = ReceivedForm()
    state: dict = {"headers": {}, "hname": b"", "hvalue": b"", "current": None, "fname": None,
                   "fvalue": bytearray(), "hasher": None, "out": None}

    def on_part_begin():
        state["headers"] = {}

    def on_header_field(data, start, end):
        state["hname"] += data[start:end]

    def on_header_value(data, start, end):
        state["hvalue"] += data[start:end]

    def on_header_end():
        state["headers"][state["hname"].lower()] = state["hvalue"]
        state["hname"], state["hvalue"] = b"", b""

    def on_headers_finished():
        disp, opts = parse_options_header(state["headers"].get(b"content-disposition", b""))
        name = opts.get(b"name", b"").decode("utf-8", "replace")
        if b"filename" in opts:
            if len(form.files) >= max_files:
                raise BadRequest(f"at most {max_files} files per upload")
            raw = opts[b"filename"].decode("utf-8", "replace")
            tmp = store.new_temp()
            rf = ReceivedFile(field=name, name=safe_name(raw), temp_path=Path(tmp.name))
            form.files.append(rf)
            state.update(current=rf, fname=None, hasher=hashlib.sha256(), out=tmp)
        else:
            if len(form.fields) >= MAX_FIELDS:
                raise BadRequest("too many form fields")
            state.update(current=None, fname=name, fvalue=bytearray())

    def on_part_data(data, start, end):
        chunk = data[start:end]
        rf: ReceivedFile | None = state["current"]
        if rf is not None:
            rf.size += len(chunk)
            if rf.size > max_file:
                rf.too_large = True
                return
            if len(rf.head) < 2048:
                rf.head += chunk[: 2048 - len(rf.head)]
            state["hasher"].update(chunk)
            state["out"].write(chunk)
        else:
            state["fvalue"] += chunk
            if len(state["fvalue"]) > MAX_FIELD_BYTES:
                raise BadRequest(f"form field {state['fname']!r} is too long")

    def on_part_end():
        rf = state["current"]
        if rf is not None:
            state["out"].close()
            rf.sha256 = state["hasher"].hexdigest()
            state["current"] = None
        elif state["fname"] is not None:
            form.fields[state["fname"]] = state["fvalue"].decode("utf-8", "replace")

    parser = MultipartParser(params[b"boundary"], {
        "on_part_begin": on_part_begin, "on_part_data": on_part_data, "on_part_end": on_part_end,
        "on_header_field": on_header_field, "on_header_value": on_header_value,
        "on_header_end": on_header_end, "on_headers_finished": on_headers_finished,
    })
    total = 0
    try:
        async for chunk in request.stream():
            total += len(chunk)
            if total > max_request:
                raise TooLarge(f"The upload is larger than {max_request // 2**20} MB in total.")
            parser.write(chunk)
        parser.finalize()
    except ApiError:  # our own refusals (size, fields) and a client too slow to send
        _close(state)
        form.discard()
        raise
    except Exception as exc:  # the multipart parser's own errors: a broken body
        _close(state)
        form.discard()
        raise BadRequest(f"the upload could not be read ({type(exc).__name__}); please try again") from exc
    big = [f for f in form.files if f.too_large]
    if big:
        form.discard()
        names = ", ".join(f"'{f.name}'" for f in big)
        raise TooLarge(f"{names} {'is' if len(big) == 1 else 'are'} larger than {max_file // 2**20} MB per file.")
    return form


def _close(state: dict) -> None:
    out = state.get("out")
    if out is not None and not out.closed:
        out.close()


# --- what a file is, and how many pages it has ------------------------------------------------------
# These run in a sandbox worker process (`sandbox.WorkerPool`), never in the server's own process: a
# crafted file may make a parser work for minutes or ask for gigabytes, and the worker's limits stop it.

UNUSUAL = ("is built in an unusual way and could not be checked; please re-save it (for example \"Print to "
           "PDF\") and upload again")
# A real page tree is a few levels deep; thousands of levels or nodes without pages are built to hurt.
MAX_TREE_DEPTH = 64
MAX_TREE_NODES_PER_PAGE = 4


def sniff_type(head: bytes) -> str | None:
    """The type from the first bytes. A PDF must start with its header (no HTML or script before it that
    a browser could take for a page)."""
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    return None


class Unreadable(Refusal):
    """The file's problem in words, for the 400 message."""


def count_pages(path: Path, content_type: str, max_pages: int = 2000, max_pixels: int = 100_000_000) -> int:
    """A sandbox task. Raises Unreadable (a Refusal) with what is wrong."""
    if content_type == "application/pdf":
        return _count_pdf_pages(Path(path), max_pages)
    return _check_image(Path(path), max_pixels)


def _count_pdf_pages(path: Path, max_pages: int) -> int:
    import logging

    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # its warnings about broken files are ours to word

    with open(path, "rb") as f:
        f.seek(0, 2)
        size = f.tell()
        f.seek(max(0, size - 2048))
        if b"%%EOF" not in f.read():
            raise Unreadable("is incomplete or damaged (the end of the PDF is missing)")
    try:
        reader = PdfReader(str(path), strict=False)
        if reader.is_encrypted:
            try:
                ok = reader.decrypt("")
            except Exception as exc:
                raise Unreadable("is encrypted in a way that cannot be opened") from exc
            if not ok:
                raise Unreadable("is protected by a password; please upload it without the password")
        pages = _walk_page_tree(reader, max_pages)
    except Unreadable:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, OSError, AssertionError,
            ZeroDivisionError) as exc:
        raise Unreadable("is damaged and could not be read as a PDF") from exc
    if pages < 1:
        raise Unreadable("has no pages")
    return pages


def _walk_page_tree(reader, max_pages: int) -> int:
    """Counts the leaves of the page tree, visiting every node once. A node reached twice (one child
    listed a thousand times, or a loop), a tree deeper than any real one, or more pages than the cap is
    refused at once, before anything walks the tree a billion times."""
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

    pages_ref = reader.trailer["/Root"].get_object().get("/Pages")
    if pages_ref is None:
        raise Unreadable("has no pages")
    seen: set[tuple[int, int]] = set()
    stack = [(pages_ref, 0)]
    count = nodes = 0
    while stack:
        ref, depth = stack.pop()
        if isinstance(ref, IndirectObject):
            key = (ref.idnum, ref.generation)
            if key in seen:
                raise Unreadable(UNUSUAL)
            seen.add(key)
            node = ref.get_object()
        else:
            node = ref
        nodes += 1
        if depth > MAX_TREE_DEPTH or nodes > MAX_TREE_NODES_PER_PAGE * max_pages + 100:
            raise Unreadable(UNUSUAL)
        if not isinstance(node, DictionaryObject):
            raise Unreadable("is damaged and could not be read as a PDF")
        kind = node.get("/Type")
        kids = node.get("/Kids")
        if kind == "/Pages" or (kind != "/Page" and kids is not None):
            kids = kids.get_object() if kids is not None else []
            if not isinstance(kids, ArrayObject | list):
                raise Unreadable("is damaged and could not be read as a PDF")
            if len(kids) > max_pages + 1 - count:
                raise Unreadable(_too_many_pages(max_pages))
            stack.extend((k, depth + 1) for k in reversed(kids))
        else:
            count += 1
            if count > max_pages:
                raise Unreadable(_too_many_pages(max_pages))
    return count


def _too_many_pages(max_pages: int) -> str:
    return f"has more than {max_pages} pages; at most {max_pages} pages per file, please split it"


def _check_image(path: Path, max_pixels: int) -> int:
    from PIL import Image, UnidentifiedImageError

    Image.MAX_IMAGE_PIXELS = None  # the cap below is ours, checked from the header before any decoding
    try:
        with Image.open(path) as im:
            w, h = im.size
            if w * h > max_pixels:
                raise Unreadable(f"is {w}×{h} pixels; at most {max_pixels // 1_000_000} megapixels per image, "
                                 "please scale it down")
            im.verify()
    except Unreadable:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError,
            struct_error, EOFError, IndexError, TypeError) as exc:
        raise Unreadable("is a damaged image") from exc
    return 1
