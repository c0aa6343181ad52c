"""Synthetic camera pictures and videos of job-code QR codes, for the scanning tests, the UI's scan tests
and bench/scan.py: a code on a white label over a cluttered counter, at a chosen size, angle,
perspective tilt, blur, noise and lighting — and frames with no code at all.

Everything is deterministic for a given seed, so a benchmark set is the same set on every run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
import qrcode
import qrcode.constants


def qr_modules(text: str, *, border: int = 4) -> np.ndarray:
    """The QR code of `text` as a boolean module matrix (True = dark), with a quiet zone of `border`."""
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=border)
    qr.add_data(text)
    qr.make(fit=True)
    return np.array(qr.get_matrix(), dtype=bool)


def qr_image(text: str, module_px: int = 8, *, border: int = 4) -> np.ndarray:
    """A clean grayscale picture of the QR code of `text` (white quiet zone included)."""
    m = qr_modules(text, border=border)
    img = np.where(m, 0, 255).astype(np.uint8)
    return np.kron(img, np.ones((module_px, module_px), dtype=np.uint8))


@dataclass(frozen=True)
class Scene:
    """How one frame looks. `text` None means a frame without any code."""

    width: int = 640
    height: int = 480
    text: str | None = None
    size: float = 0.4          # side of the label (QR + quiet zone) as a fraction of the frame height
    cx: float = 0.5            # label centre, as fractions of width/height (may be off-frame)
    cy: float = 0.5
    angle: float = 0.0         # rotation in the image plane, degrees
    tilt: float = 0.0          # perspective: 0 flat, 0.3 strongly tilted away
    blur: float = 0.0          # Gaussian sigma in pixels of a 640-wide frame (scaled with the width)
    noise: float = 0.0         # sensor noise sigma, grey levels
    light: float = 1.0         # overall brightness
    seed: int = 0              # background clutter
    inverted: bool = False     # light modules on a dark label (a phone in dark mode, a negative print)


@lru_cache(maxsize=8)
def _background_cached(w: int, h: int, seed: int) -> np.ndarray:
    img = _background(w, h, seed).astype(np.float32)
    img.flags.writeable = False
    return img


def _background(w: int, h: int, seed: int) -> np.ndarray:
    """A counter top: smooth colour gradient, papers, dark objects, lines of 'print' — things a
    decoder must not mistake for a code."""
    rng = np.random.default_rng(seed)
    small = rng.integers(60, 200, size=(6, 8, 3), dtype=np.uint8)
    img = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    s = w / 640
    for _ in range(rng.integers(3, 8)):
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        bw, bh = int(rng.integers(40, 200) * s), int(rng.integers(30, 160) * s)
        colour = tuple(int(c) for c in rng.integers(0, 255, 3))
        cv2.rectangle(img, (x, y), (x + bw, y + bh), colour, -1)
        if rng.random() < 0.5:  # text-like lines on the paper
            for k in range(4):
                yy = y + int((10 + 12 * k) * s)
                cv2.line(img, (x + int(6 * s), yy), (x + bw - int(6 * s), yy), (30, 30, 30), max(1, int(2 * s)))
    return img


def render(scene: Scene) -> tuple[np.ndarray, np.ndarray | None]:
    """The BGR frame of `scene`, and the code's true outline (4×2 corners, in frame pixels) or None."""
    w, h = scene.width, scene.height
    frame = _background_cached(w, h, scene.seed)
    outline = None
    if scene.text is not None:
        label = qr_image(scene.text, module_px=10)
        if scene.inverted:
            label = np.where(label > 127, 30, 235).astype(np.uint8)
        lh, lw = label.shape
        side = scene.size * h
        cx, cy = scene.cx * w, scene.cy * h
        a = math.radians(scene.angle)
        ca, sa = math.cos(a), math.sin(a)
        # the square's corners, shrunk on one side for a perspective tilt
        half = side / 2
        t = scene.tilt
        local = [(-half * (1 - t), -half), (half * (1 - t), -half), (half, half), (-half, half)]
        dst = np.array([(cx + x * ca - y * sa, cy + x * sa + y * ca) for x, y in local], dtype=np.float32)
        src = np.array([(0, 0), (lw, 0), (lw, lh), (0, lh)], dtype=np.float32)
        m = cv2.getPerspectiveTransform(src, dst)
        warped = cv2.warpPerspective(label, m, (w, h), flags=cv2.INTER_AREA, borderValue=0)
        mask = cv2.warpPerspective(np.full_like(label, 255), m, (w, h), flags=cv2.INTER_LINEAR, borderValue=0)
        alpha = (mask.astype(np.float32) / 255.0)[..., None]
        paper = np.repeat(warped[..., None], 3, axis=2).astype(np.float32) * np.array([0.97, 0.99, 1.0], np.float32)
        frame = frame * (1 - alpha) + paper * alpha
        # the code's outline is the QR symbol without its quiet zone (4 modules of 10 px)
        q = 40.0
        sym = np.array([[(q, q), (lw - q, q), (lw - q, lh - q), (q, lh - q)]], dtype=np.float32)
        outline = cv2.perspectiveTransform(sym, m)[0]
    # lighting: brightness and a soft side-to-side gradient
    grad = np.linspace(0.85, 1.1, w, dtype=np.float32)[None, :, None]
    frame = frame * grad * scene.light
    if scene.blur > 0:
        sigma = scene.blur * w / 640
        frame = cv2.GaussianBlur(frame, (0, 0), sigma)
    if scene.noise > 0:
        rng = np.random.default_rng(scene.seed + 7919)
        frame = frame + rng.normal(0, scene.noise, frame.shape).astype(np.float32)
    return np.clip(frame, 0, 255).astype(np.uint8), outline


RESOLUTIONS = {"640x480": (640, 480), "1280x720": (1280, 720), "1920x1080": (1920, 1080)}


def benchmark_scenes(width: int, height: int, count: int = 80, *, empty: int = 10, seed: int = 1,
                     inverted: bool = False) -> list[Scene]:
    """A fixed, varied set: `count` frames with a readable code (sizes, angles, tilt, blur, noise, light,
    bare codes and URLs) plus `empty` frames without any code; `inverted`: every code light-on-dark.
    Same arguments → same set.

    "Readable" is what a phone's camera app would read: a module at least 3 px on its short (tilted)
    side, and blur no wider than 40% of a module — the code shows as the same share of the frame at every
    resolution, as from a camera held at the same distance."""
    rng = np.random.default_rng(seed)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    scenes = []
    for i in range(count):
        code = "".join(rng.choice(list(alphabet), 6))
        text = code if i % 3 else f"https://print.example.shop/j/{code}"
        modules = qr_modules(text).shape[0]
        tilt = float(rng.uniform(0, 0.25))
        smallest = 3.0 * modules / (480 * (1 - tilt))  # 3 px modules at 640x480 (more at higher resolutions)
        size = float(rng.uniform(max(0.15, smallest), 0.6))
        pitch = size * height * (1 - tilt) / modules
        blur_px = float(rng.choice([0, 0, 0.2, 0.3, 0.4])) * pitch
        # keep the label's centre far enough in that the symbol stays in the frame at any angle
        hy = size * 0.6
        hx = hy * height / width
        scenes.append(Scene(
            width=width, height=height, text=text, size=size,
            cx=float(rng.uniform(hx, 1 - hx)), cy=float(rng.uniform(hy, 1 - hy)),
            angle=float(rng.uniform(-180, 180)), tilt=tilt,
            blur=blur_px * 640 / width, noise=float(rng.choice([0, 3, 6, 10])),
            light=float(rng.uniform(0.6, 1.15)), seed=int(rng.integers(0, 2**31)), inverted=inverted,
        ))
    for _ in range(empty):
        scenes.append(Scene(width=width, height=height, text=None, seed=int(rng.integers(0, 2**31)),
                            noise=float(rng.choice([0, 6]))))
    return scenes


# --- videos -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Segment:
    """A stretch of video: `text` shown (None: no code) for `seconds`; `enter` slides it in from the left."""

    text: str | None
    seconds: float
    enter: bool = False


def write_video(path: str | Path, segments: list[Segment], *, size: tuple[int, int] = (640, 480),
                fps: float = 15.0, base: Scene | None = None, fourcc: str = "MJPG") -> Path:
    """Writes the segments as a video file (MJPG in .avi works with every OpenCV build here)."""
    path = Path(path)
    w, h = size
    base = replace(base or Scene(size=0.45, angle=8, tilt=0.05, noise=3, seed=3), width=w, height=h)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (w, h))
    if not writer.isOpened():
        raise RuntimeError(f"OpenCV cannot write {fourcc} video to {path} — try an .avi file name")
    try:
        for seg in segments:
            n = max(1, round(seg.seconds * fps))
            for i in range(n):
                scene = replace(base, text=seg.text)
                if seg.enter and seg.text is not None:
                    # from fully off the left edge to the centre over the first 60% of the segment
                    k = min(1.0, i / max(1, 0.6 * n))
                    scene = replace(scene, cx=-0.4 + k * (base.cx + 0.4))
                frame, _ = render(scene)
                writer.write(frame)
    finally:
        writer.release()
    return path


def make_code_video(path: str | Path, code: str, *, size: tuple[int, int] = (640, 480), fps: float = 15.0,
                    times: int = 1, hold: float = 1.2, pause: float = 0.8, lead_in: float = 0.4,
                    text: str | None = None, base: Scene | None = None) -> Path:
    """A video of a counter where the job `code` (or `text`, e.g. a URL ending in the code) slides into
    view, stays `hold` seconds and leaves; `times` showings separated by `pause` seconds without it.
    Starts with `lead_in` seconds of frames without any code. Returns `path` (use an .avi name)."""
    shown = text or code
    segments = [Segment(None, lead_in)] if lead_in > 0 else []
    for k in range(times):
        if k:
            segments.append(Segment(None, pause))
        segments.append(Segment(shown, hold, enter=True))
    segments.append(Segment(None, 0.3))
    return write_video(path, segments, size=size, fps=fps, base=base)
