"""QR decoding of camera frames: the one small function in front of the decoder libraries (zxing-cpp,
pyzbar), and the tuned per-frame path the capture worker uses (grayscale, downscale, region of interest,
every other frame when idle).

Why zxing-cpp is the default: on bench/scan.py's fixed set it decodes more of the readable frames than
pyzbar at a fraction of the time (720p: ~0.5 ms on a 640-wide copy and ~1.5 ms at full size, against
pyzbar's ~7 ms and ~34 ms). pyzbar stays as the fallback when zxing-cpp cannot be imported, and either
can be forced with SHOPDESK_QR_DECODER=zxing|pyzbar.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from shopdesk.domain.codes import extract_job_code

PREFERENCE = ("zxing", "pyzbar")  # measured order, best first (bench/scan.py)

Point = tuple[int, int]


@dataclass(frozen=True)
class Decoded:
    """One QR code read in a frame: its text and its outline (corner points in the frame's pixels)."""

    text: str
    polygon: tuple[Point, ...]

    @property
    def code(self) -> str | None:
        """The job code it carries (a bare code or a URL ending in one), or None for a foreign QR code."""
        return extract_job_code(self.text)


def _cv2():
    """OpenCV, imported on first use: the app process that only shows what a camera process decoded
    (process.py) unpickles Decoded, Scan and CaptureStatus from these modules without loading it."""
    import cv2

    if not getattr(_cv2, "quiet", False):
        try:  # OpenCV prints its own warnings for a missing camera; we say it better
            cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
        except Exception:  # pragma: no cover - older builds
            pass
        _cv2.quiet = True
    return cv2


class _LazyCv2:
    """`cv2` in this module: OpenCV imported at the first attribute used (code merged from elsewhere that
    writes `cv2.x` keeps working)."""

    def __getattr__(self, name):
        return getattr(_cv2(), name)


cv2 = _LazyCv2()


class DecoderUnavailable(RuntimeError):
    pass


def _load_zxing():
    import zxingcpp

    fmt = zxingcpp.BarcodeFormat.QRCode

    def read(gray: np.ndarray, thorough: bool) -> list[Decoded]:
        # try_rotate costs time and never matters; inverted (light-on-dark) codes are FrameDecoder's
        # business, on alternate frames only (zxing's try_invert would double the cost of every miss);
        # zxing's own downscaling only helps on the full-size pass, where a code can be far larger than needed
        found = zxingcpp.read_barcodes(gray, formats=fmt, try_rotate=False, try_invert=False,
                                       try_downscale=thorough)
        out = []
        for r in found:
            p = r.position
            poly = tuple((int(q.x), int(q.y)) for q in (p.top_left, p.top_right, p.bottom_right, p.bottom_left))
            out.append(Decoded(r.text, poly))
        return out

    return read


def _load_pyzbar():
    from pyzbar import pyzbar  # raises ImportError when the zbar shared library is missing
    from pyzbar.pyzbar import ZBarSymbol

    def read(gray: np.ndarray, thorough: bool) -> list[Decoded]:
        h, w = gray.shape
        out = []
        for r in pyzbar.decode((gray.tobytes(), w, h), symbols=[ZBarSymbol.QRCODE]):
            try:
                text = r.data.decode("utf-8")
            except UnicodeDecodeError:
                text = r.data.decode("latin-1")
            out.append(Decoded(text, tuple((int(p.x), int(p.y)) for p in r.polygon)))
        return out

    return read


_LOADERS = {"zxing": _load_zxing, "pyzbar": _load_pyzbar}
_loaded: dict[str, object] = {}
_failed: dict[str, str] = {}


def _reader(name: str):
    if name not in _LOADERS:
        raise ValueError(f"Unknown QR decoder {name!r} — use one of {', '.join(_LOADERS)}")
    if name in _loaded:
        return _loaded[name]
    if name in _failed:
        raise DecoderUnavailable(_failed[name])
    try:
        _loaded[name] = _LOADERS[name]()
    except Exception as exc:  # ImportError, or OSError from a missing shared library
        _failed[name] = f"The {name} QR decoder cannot be loaded ({exc})"
        raise DecoderUnavailable(_failed[name]) from exc
    return _loaded[name]


def available_backends() -> list[str]:
    out = []
    for name in PREFERENCE:
        try:
            _reader(name)
            out.append(name)
        except DecoderUnavailable:
            pass
    return out


def default_backend() -> str:
    """The decoder to use: SHOPDESK_QR_DECODER if set and loadable, else the best one that loads."""
    wanted = os.environ.get("SHOPDESK_QR_DECODER", "").strip().lower()
    order = ([wanted] if wanted in _LOADERS else []) + [n for n in PREFERENCE if n != wanted]
    for name in order:
        try:
            _reader(name)
            return name
        except DecoderUnavailable:
            continue
    raise DecoderUnavailable(
        "No QR decoder is installed — reinstall shopdesk (it needs zxing-cpp, or pyzbar with the zbar "
        "library: apt install libzbar0)")


def to_gray(frame: np.ndarray) -> np.ndarray:
    if frame.ndim == 2:
        return frame
    if frame.shape[2] == 4:
        return cv2.cvtColor(frame, cv2.COLOR_BGRA2GRAY)
    return cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)


def decode_image(image: np.ndarray, backend: str | None = None, *, thorough: bool = True) -> list[Decoded]:
    """All QR codes in one picture (grayscale or BGR), at the picture's own size: the one function in
    front of the decoder libraries."""
    read = _reader(backend or default_backend())
    gray = np.ascontiguousarray(to_gray(image))
    return read(gray, thorough)


def _scaled(decoded: list[Decoded], scale: float, dx: int = 0, dy: int = 0) -> list[Decoded]:
    if scale == 1 and dx == 0 and dy == 0:
        return decoded
    return [Decoded(d.text, tuple((round(x * scale) + dx, round(y * scale) + dy) for x, y in d.polygon))
            for d in decoded]


def _shrink(gray: np.ndarray, max_width: int) -> tuple[np.ndarray, float]:
    h, w = gray.shape
    if w <= max_width:
        return gray, 1.0
    nh = max(1, round(h * max_width / w))
    # INTER_LINEAR: as good as INTER_AREA for decoding here (bench/scan.py) and 5x faster on 1080p
    return cv2.resize(gray, (max_width, nh), interpolation=cv2.INTER_LINEAR), w / max_width


class FrameDecoder:
    """The shipped decode path for a stream of frames.

    Per frame: (1) if the last code needed full detail (small or far in a big frame), the region
    around it at full size; (2) the frame scaled down to `max_width`; (3) if still nothing, the
    full-size frame, lightly smoothed (small or far codes, noisy sensors). When nothing has been seen for `idle_after` frames, only every other frame is decoded
    (`decode` returns None for a skipped frame: "not looked at", unlike [] "looked, nothing there").
    A fresh FrameDecoder (or `idle_every=1`) decodes every frame.

    Inverted (light-on-dark) codes — a phone in dark mode, a negative print: when the downscaled pass
    finds nothing, every other such frame (the first one included) also reads the downscaled frame
    inverted, before the full-size pass. Once a code was read inverted, the inverted image comes first
    (region, downscaled and full-size passes) until a dark-on-light code is read again, so a held
    light-on-dark ticket costs one pass per frame. `invert=False` turns this off.
    """

    def __init__(self, backend: str | None = None, *, max_width: int = 640, full_pass: bool = True,
                 roi: bool = True, idle_after: int = 15, idle_every: int = 2, invert: bool = True):
        self.backend = backend or default_backend()
        _reader(self.backend)
        self.max_width = max_width
        self.full_pass = full_pass
        self.roi = roi
        self.idle_after = idle_after
        self.idle_every = max(1, idle_every)
        self._last_box: tuple[int, int, int, int] | None = None
        self._box_age = 0
        self._misses = 0
        self._frame_no = 0
        self._needs_detail = False
        self._found_by_roi = False
        self.invert = invert
        self.inverted = False  # the last code read was light-on-dark: look for that first
        self._small_misses = 0

    @property
    def idle(self) -> bool:
        return self._misses >= self.idle_after

    def decode(self, frame: np.ndarray) -> list[Decoded] | None:
        self._frame_no += 1
        if self.idle and self._frame_no % self.idle_every:
            return None
        found = self._decode(to_gray(frame))
        if found:
            self._misses = 0
            self._remember(found, frame.shape[1], frame.shape[0])
        else:
            self._misses += 1
            self._box_age += 1
            if self._box_age > 5:
                self._last_box = None
        return found

    def _decode(self, gray: np.ndarray) -> list[Decoded]:
        read = _reader(self.backend)
        first = self.inverted  # the polarity tried first: the last code's

        def look(img: np.ndarray, inverted: bool, thorough: bool) -> list[Decoded]:
            return read(cv2.bitwise_not(img) if inverted else np.ascontiguousarray(img), thorough)

        if self.roi and self._last_box is not None:
            # the last code needed full detail (small or far): look there first at full size, a small
            # crop instead of the whole frame
            x0, y0, x1, y1 = self._last_box
            found = look(gray[y0:y1, x0:x1], first, False)
            if found:
                self._found_by_roi = True
                return _scaled(found, 1.0, x0, y0)
        self._found_by_roi = False
        small, s = _shrink(gray, self.max_width)
        found = look(small, first, False)
        if not found and self.invert and (first or self._small_misses % 2 == 0):
            # the other polarity, on alternate misses (always while the last code was inverted: a
            # dark-on-light ticket shown next must not wait)
            found = look(small, not first, False)
            if found:
                self.inverted = not first
        if found:
            self._small_misses = 0
            self._needs_detail = False
            return _scaled(found, s)
        self._small_misses += 1
        if self.full_pass:
            # full size for small or far codes, lightly smoothed: sensor noise is what defeats the
            # binarizer once the scaling no longer averages it away
            found = look(cv2.GaussianBlur(gray, (0, 0), 0.8), first, True)
            self._needs_detail = bool(found) and s > 1
            return found
        return []

    def _remember(self, found: Sequence[Decoded], w: int, h: int) -> None:
        if not (self._needs_detail or self._found_by_roi):
            self._last_box = None  # the cheap downscaled pass reads it: no region needed
            return
        xs = [x for d in found for x, _ in d.polygon]
        ys = [y for d in found for _, y in d.polygon]
        bw, bh = max(xs) - min(xs), max(ys) - min(ys)
        # generous margin: a hand-held ticket moves between frames
        mx, my = max(16, bw // 2), max(16, bh // 2)
        self._last_box = (max(0, min(xs) - mx), max(0, min(ys) - my), min(w, max(xs) + mx), min(h, max(ys) + my))
        self._box_age = 0
