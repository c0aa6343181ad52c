"""Word and PowerPoint files → PDF, with LibreOffice as a limited child process.

What a file is comes from its content, never its name: OOXML is a zip whose parts live under `word/` or
`ppt/`; .doc and .ppt are OLE2 compound files told apart by their streams ("WordDocument" vs "PowerPoint
Document"); an OLE2 file holding "EncryptedPackage" is a password-protected .docx/.pptx.

Before LibreOffice sees a zip, its entry count and total uncompressed size are checked (a zip bomb is
refused in milliseconds). LibreOffice then runs:
- as its own process group with RLIMIT_CPU, RLIMIT_AS, RLIMIT_FSIZE and no core files, killed as a
  whole group after `convert_timeout_seconds` of wall-clock time;
- with a private profile per converter slot (`-env:UserInstallation`), so several conversions run at
  once (`convert_max_parallel`, a semaphore) without sharing one; a slot whose conversion was killed
  gets a fresh profile;
- with that profile's registrymodifications.xcu saying: macros disabled (DisableMacrosExecution, and
  MacroSecurityLevel 3 = "very high": only signed macros from trusted locations, of which there are
  none), Writer links never updated (Writer/Content/Update/Link = 0), Calc links never updated,
  images from untrusted referers blocked (BlockUntrustedRefererLinks).

`prepare_document` is the one seam the upload path calls (blocking: run it off the event loop). Its
result is cached by the original's SHA-256 in `{files}/converted/`, so the quote (`POST
/calculate-cost`) and the upload that follows use one conversion and give the same page count.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("shopdesk.server.convert")

WORD = "word"
POWERPOINT = "powerpoint"
KIND_WORDS = {WORD: "Word", POWERPOINT: "PowerPoint"}
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
MAX_ZIP_ENTRIES = 5000

_PROFILE_XCU = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema" \
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="DisableMacrosExecution" \
oor:op="fuse"><value>true</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="MacroSecurityLevel" \
oor:op="fuse"><value>3</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="BlockUntrustedRefererLinks" \
oor:op="fuse"><value>true</value></prop></item>
<item oor:path="/org.openoffice.Office.Writer/Content/Update"><prop oor:name="Link" oor:op="fuse">\
<value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Content/Update"><prop oor:name="Link" oor:op="fuse">\
<value>1</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Misc"><prop oor:name="UseLocking" oor:op="fuse">\
<value>false</value></prop></item>
</oor:items>
"""


class ConversionRefused(Exception):
    """The refusal in words, for the customer. `lasting`: the same file would be refused again (cached);
    not so when LibreOffice is missing, which installing it fixes."""

    def __init__(self, message: str, lasting: bool = True):
        super().__init__(message)
        self.lasting = lasting


def refusal(kind: str) -> str:
    return f"This {KIND_WORDS.get(kind, 'Word')} file could not be opened; please save it as PDF and upload again"


# --- what the file is -------------------------------------------------------------------------------

def office_kind(path: Path, head: bytes) -> str | None:
    """WORD, POWERPOINT, or None (not an office file we take). Reads the zip directory or the OLE2
    directory only. Raises ConversionRefused for a damaged or password-protected office file."""
    if head.startswith(ZIP_MAGIC):
        try:
            with zipfile.ZipFile(path) as z:
                names = z.namelist()
        except (zipfile.BadZipFile, OSError, ValueError, EOFError):
            return _damaged_ooxml_kind(path)
        if "[Content_Types].xml" not in names:
            return None
        if any(n.startswith("word/") for n in names):
            return WORD
        if any(n.startswith("ppt/") for n in names):
            return POWERPOINT
        return None
    if head.startswith(OLE_MAGIC):
        import olefile

        try:
            with olefile.OleFileIO(str(path)) as ole:
                streams = {"/".join(s) for s in ole.listdir(streams=True, storages=True)}
        except Exception:  # olefile's own errors on a damaged compound file
            return None
        if "EncryptedPackage" in streams or "EncryptionInfo" in streams:
            raise ConversionRefused("This file is protected by a password and could not be opened; please save "
                                    "it as PDF without the password and upload again")
        if "WordDocument" in streams:
            return WORD
        if "PowerPoint Document" in streams:
            return POWERPOINT
    return None


def _damaged_ooxml_kind(path: Path) -> str | None:
    """A zip whose directory is gone (cut short, damaged): the local headers at its start still name
    its parts, so a damaged .docx is refused as a Word file, not as an unknown one."""
    with open(path, "rb") as f:
        start = f.read(256 * 1024)
    if b"[Content_Types].xml" not in start:
        return None
    if b"word/" in start:
        raise ConversionRefused(refusal(WORD))
    if b"ppt/" in start:
        raise ConversionRefused(refusal(POWERPOINT))
    return None


def check_zip(path: Path, kind: str, max_unzipped: int) -> None:
    """A zip bomb never reaches LibreOffice: entry count and declared sizes, checked from the directory."""
    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
            if len(infos) > MAX_ZIP_ENTRIES:
                raise ConversionRefused(refusal(kind) + f" (it holds more than {MAX_ZIP_ENTRIES} parts)")
            total = sum(i.file_size for i in infos)
            if total > max_unzipped:
                raise ConversionRefused(refusal(kind) + f" (it unpacks to more than {max_unzipped // 2**20} MB)")
            bad = z.testzip() if total <= 64 * 2**20 else None
    except ConversionRefused:
        raise
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
        raise ConversionRefused(refusal(kind)) from exc
    if bad is not None:
        raise ConversionRefused(refusal(kind))


# --- running LibreOffice ----------------------------------------------------------------------------

@dataclass
class Limits:
    timeout_seconds: int = 60
    cpu_seconds: int = 60
    memory_mb: int = 2048  # address space; LibreOffice maps ~1 GB before it reads anything
    output_mb: int = 200
    max_parallel: int = 2
    max_unzipped_mb: int = 300


def find_soffice(configured: str = "") -> str | None:
    if configured:
        return configured if os.access(configured, os.X_OK) else None
    return shutil.which("soffice") or shutil.which("libreoffice")


class Converter:
    """LibreOffice slots: one private profile each, at most `max_parallel` conversions at once."""

    def __init__(self, work_dir: Path, limits: Limits | None = None, soffice: str = ""):
        self.work_dir = Path(work_dir)
        self.limits = limits or Limits()
        self.soffice = find_soffice(soffice)
        self._slots = list(range(max(1, self.limits.max_parallel)))
        self._lock = threading.Lock()
        self._sem = threading.BoundedSemaphore(len(self._slots))

    def _take_slot(self) -> int:
        self._sem.acquire()
        with self._lock:
            return self._slots.pop()

    def _give_slot(self, slot: int) -> None:
        with self._lock:
            self._slots.append(slot)
        self._sem.release()

    def profile_dir(self, slot: int) -> Path:
        return self.work_dir / f"profile-{os.getpid()}-{slot}"

    def _prepare_profile(self, slot: int) -> Path:
        prof = self.profile_dir(slot)
        user = prof / "user"
        user.mkdir(parents=True, exist_ok=True)
        xcu = user / "registrymodifications.xcu"
        if not xcu.exists() or _PROFILE_XCU.splitlines()[2] not in xcu.read_text("utf-8", "replace"):
            xcu.write_text(_PROFILE_XCU, "utf-8")
        return prof

    def to_pdf(self, src: Path, kind: str, ext: str) -> Path:
        """Converts `src` (detected as `kind`) to a PDF in a fresh temp dir; returns the PDF's path (the
        caller removes its directory). Raises ConversionRefused with the refusal in words."""
        if self.soffice is None:
            log.warning("LibreOffice (soffice) is not installed: a %s file was refused", kind)
            raise ConversionRefused(refusal(kind), lasting=False)
        slot = self._take_slot()
        job = Path(tempfile.mkdtemp(prefix="conv-", dir=self.work_dir))
        killed = False
        try:
            prof = self._prepare_profile(slot)
            inp = job / f"document.{ext}"
            os.link(src, inp) if _same_fs(src, job) else shutil.copyfile(src, inp)
            out = job / "out"
            out.mkdir()
            cmd = [self.soffice, f"-env:UserInstallation={prof.as_uri()}", "--headless", "--invisible",
                   "--nologo", "--norestore", "--nodefault", "--nolockcheck", "--nofirststartwizard",
                   "--convert-to", "pdf", "--outdir", str(out), str(inp)]
            env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(job), "LANG": "C.UTF-8",
                   "SAL_USE_VCLPLUGIN": "svp", "TMPDIR": str(job)}
            lim = self.limits
            t0 = time.monotonic()
            cmd, preexec = _with_limits(cmd, lim)
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, env=env, cwd=job, start_new_session=True,
                                    preexec_fn=preexec)
            try:
                output, _ = proc.communicate(timeout=lim.timeout_seconds)
            except subprocess.TimeoutExpired:
                killed = True
                _kill_group(proc)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.communicate(timeout=5)  # reaps it and closes its pipe
                log.warning("conversion of a %s file took over %s s: killed", kind, lim.timeout_seconds)
                raise ConversionRefused(refusal(kind) + " (it took too long)") from None
            finally:
                _kill_group(proc)  # whatever LibreOffice left behind in its group
            pdf = out / "document.pdf"
            if proc.returncode != 0 or not pdf.is_file() or pdf.stat().st_size == 0:
                killed = proc.returncode != 0
                log.info("LibreOffice could not convert a %s file (exit %s, %.1f s): %s", kind,
                         proc.returncode, time.monotonic() - t0,
                         output.decode("utf-8", "replace").strip()[-300:])
                raise ConversionRefused(refusal(kind))
            log.info("converted a %s file in %.2f s", kind, time.monotonic() - t0)
            inp.unlink(missing_ok=True)
            return pdf
        except BaseException:
            shutil.rmtree(job, ignore_errors=True)
            raise
        finally:
            if killed:  # a killed LibreOffice may leave its profile half-written: start the slot afresh
                shutil.rmtree(self.profile_dir(slot), ignore_errors=True)
            self._give_slot(slot)


def _same_fs(a: Path, b: Path) -> bool:
    try:
        return os.stat(a).st_dev == os.stat(b).st_dev
    except OSError:
        return False


def _with_limits(cmd: list[str], lim: Limits):
    """The command with its limits. util-linux's prlimit sets them for the program it executes, so
    nothing of Python runs between fork and exec in this threaded server (a preexec_fn can deadlock
    there); without prlimit (not Linux), setrlimit in preexec_fn."""
    prlimit = shutil.which("prlimit")
    if prlimit:
        cpu, mem, out = lim.cpu_seconds, lim.memory_mb * 2**20, lim.output_mb * 2**20
        return [prlimit, f"--cpu={cpu}:{cpu + 5}", f"--as={mem}", f"--fsize={out}", "--core=0", "--", *cmd], None
    return cmd, _child_limits(lim)


def _child_limits(lim: Limits):
    cpu, mem, out = lim.cpu_seconds, lim.memory_mb * 2**20, lim.output_mb * 2**20

    def apply() -> None:  # runs in the child between fork and exec: only setrlimit calls
        import resource

        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
        resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
        resource.setrlimit(resource.RLIMIT_FSIZE, (out, out))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    return apply


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass


# --- the seam: original file → cached PDF ------------------------------------------------------------

@dataclass
class Prepared:
    kind: str  # WORD or POWERPOINT
    pdf_path: Path  # in the conversion cache; link it before use, the sweeper may trim it
    pdf_sha256: str
    pdf_size: int


_converters: dict[tuple, Converter] = {}
_converters_lock = threading.Lock()


def converter_for(cache_dir: Path, limits: Limits, soffice: str = "") -> Converter:
    key = (str(cache_dir), limits.max_parallel, limits.timeout_seconds, limits.memory_mb, soffice)
    with _converters_lock:
        conv = _converters.get(key)
        if conv is None:
            (cache_dir / "work").mkdir(parents=True, exist_ok=True)
            conv = _converters[key] = Converter(cache_dir / "work", limits, soffice)
        return conv


def prepare_document(path: Path, head: bytes, sha256: str, cache_dir: Path, limits: Limits,
                     soffice: str = "") -> Prepared | None:
    """Blocking. None when the file is not a Word or PowerPoint file; a Prepared (the converted PDF)
    when it is; ConversionRefused (in words) when it is one that cannot be converted. Both outcomes
    are cached under the original's SHA-256, so the quote and the upload agree."""
    kind = office_kind(path, head)
    if kind is None:
        return None
    cache_dir.mkdir(parents=True, exist_ok=True)
    cached_pdf = cache_dir / f"{sha256}.pdf"
    cached_fail = cache_dir / f"{sha256}.refused"
    if cached_fail.exists():
        raise ConversionRefused(cached_fail.read_text("utf-8"))
    if not cached_pdf.exists():
        try:
            if head.startswith(ZIP_MAGIC):
                check_zip(path, kind, limits.max_unzipped_mb * 2**20)
            ext = {(WORD, True): "docx", (WORD, False): "doc", (POWERPOINT, True): "pptx",
                   (POWERPOINT, False): "ppt"}[(kind, head.startswith(ZIP_MAGIC))]
            pdf = converter_for(cache_dir, limits, soffice).to_pdf(path, kind, ext)
        except ConversionRefused as exc:
            if exc.lasting:
                _write_atomic(cached_fail, str(exc).encode("utf-8"))
            raise
        try:
            part = cached_pdf.with_name(cached_pdf.name + f".{os.getpid()}.{threading.get_ident()}.part")
            os.replace(pdf, part)
            os.replace(part, cached_pdf)
        finally:
            shutil.rmtree(pdf.parent.parent, ignore_errors=True)
    os.utime(cached_pdf)  # recently used: the trim keeps it
    h = hashlib.sha256()
    with open(cached_pdf, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return Prepared(kind, cached_pdf, h.hexdigest(), cached_pdf.stat().st_size)


def _write_atomic(path: Path, data: bytes) -> None:
    part = path.with_name(path.name + f".{os.getpid()}.{threading.get_ident()}.part")
    part.write_bytes(data)
    os.replace(part, path)


def trim_cache(cache_dir: Path, max_age_seconds: int, max_entries: int) -> int:
    """Drops cached conversions older than `max_age_seconds` and all but the newest `max_entries`;
    also old conversion work dirs left by a crash. Returns how many entries went."""
    if not cache_dir.is_dir():
        return 0
    now = time.time()
    entries = []
    for p in cache_dir.iterdir():
        if p.is_file() and (p.suffix in (".pdf", ".refused") or p.name.endswith(".part")):
            try:
                entries.append((p.stat().st_mtime, p))
            except FileNotFoundError:
                continue
    entries.sort(reverse=True)
    gone = 0
    for i, (mtime, p) in enumerate(entries):
        stale_part = p.name.endswith(".part") and now - mtime > 3600
        if stale_part or now - mtime > max_age_seconds or i >= max_entries:
            p.unlink(missing_ok=True)
            gone += 1
    work = cache_dir / "work"
    if work.is_dir():
        for d in work.glob("conv-*"):
            try:
                if now - d.stat().st_mtime > 3600:
                    shutil.rmtree(d, ignore_errors=True)
            except FileNotFoundError:
                pass
        for d in work.glob("profile-*-*"):  # profiles of server processes that are gone
            pid = d.name.split("-")[1]
            if pid.isdigit() and not _alive(int(pid)):
                shutil.rmtree(d, ignore_errors=True)
    return gone


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def limits_from(settings) -> Limits:
    return Limits(timeout_seconds=settings.convert_timeout_seconds, cpu_seconds=settings.convert_timeout_seconds,
                  memory_mb=settings.convert_memory_mb, max_parallel=settings.convert_max_parallel,
                  max_unzipped_mb=settings.convert_max_unzipped_mb)


def convert_upload(path: Path, head: bytes, sha256: str, settings, temp_dir: Path) -> Prepared | None:
    """THE SEAM the upload path calls (blocking; today in a worker thread, later in the limited worker
    processes of the hostile-input pool). Like `prepare_document`, but the returned `pdf_path` is a
    private hard link in `temp_dir` (the upload's temp area), so trimming the cache cannot take it away
    before the upload keeps it; the caller discards that link like any other temp file."""
    prepared = prepare_document(path, head, sha256, settings.conversions_dir, limits_from(settings),
                                settings.soffice)
    if prepared is None:
        return None
    link = Path(tempfile.mktemp(prefix="conv-", suffix=".pdf", dir=temp_dir))
    try:
        os.link(prepared.pdf_path, link)
    except OSError:
        shutil.copyfile(prepared.pdf_path, link)
    prepared.pdf_path = link
    return prepared
