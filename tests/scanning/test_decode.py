"""Decoding generated camera frames through the shipped path and through each decoder library."""

from __future__ import annotations

import numpy as np
import pytest

from shopdesk.scanning import decode as dec
from shopdesk.scanning.testdata import Scene, benchmark_scenes, qr_image, render


def _inside(point, polygon, slack):
    import cv2

    return cv2.pointPolygonTest(np.array(polygon, np.float32), tuple(map(float, point)), True) >= -slack


@pytest.mark.parametrize("backend", dec.available_backends())
def test_each_decoder_reads_a_clean_code_and_a_url(backend):
    img = np.pad(qr_image("aB3xY9", 6), 20, constant_values=255)
    [found] = dec.decode_image(img, backend)
    assert found.text == "aB3xY9" and found.code == "aB3xY9"
    [url] = dec.decode_image(qr_image("https://print.example.shop/j/Zz9999", 5), backend)
    assert url.code == "Zz9999"


def test_zxing_is_the_default_and_the_environment_can_force_pyzbar(monkeypatch):
    have = dec.available_backends()
    assert have, "no QR decoder can be loaded"
    assert dec.default_backend() == have[0]
    assert dec.PREFERENCE[0] == "zxing"
    if "pyzbar" in have:
        monkeypatch.setenv("SHOPDESK_QR_DECODER", "pyzbar")
        assert dec.default_backend() == "pyzbar"
        assert dec.FrameDecoder().backend == "pyzbar"


def test_a_missing_decoder_falls_back_to_the_other(monkeypatch):
    monkeypatch.setitem(dec._failed, "zxing", "The zxing QR decoder cannot be loaded (test)")
    monkeypatch.delitem(dec._loaded, "zxing", raising=False)
    if "pyzbar" not in dec.available_backends():
        pytest.skip("pyzbar is not loadable here")
    assert dec.default_backend() == "pyzbar"
    frame, _ = render(Scene(text="Fb4kQ2", size=0.5, angle=20, seed=9))
    assert [d.code for d in dec.FrameDecoder().decode(frame)] == ["Fb4kQ2"]


def test_no_decoder_at_all_says_what_to_install(monkeypatch):
    for name in dec.PREFERENCE:
        monkeypatch.setitem(dec._failed, name, f"The {name} QR decoder cannot be loaded (test)")
        monkeypatch.delitem(dec._loaded, name, raising=False)
    with pytest.raises(dec.DecoderUnavailable, match="reinstall shopdesk"):
        dec.default_backend()


def test_an_unknown_decoder_name_is_refused():
    with pytest.raises(ValueError, match="Unknown QR decoder"):
        dec.decode_image(np.zeros((10, 10), np.uint8), "quirc")


@pytest.mark.parametrize("res,count", [((640, 480), 14), ((1280, 720), 10), ((1920, 1080), 6)])
def test_the_shipped_path_reads_varied_frames_and_outlines_the_code(res, count):
    """Sizes, angles, tilt, blur, noise and light from the benchmark's generator (a different seed)."""
    scenes = benchmark_scenes(*res, count=count, empty=3, seed=42)
    misses = []
    for scene in scenes:
        frame, outline = render(scene)
        found = dec.FrameDecoder().decode(frame)
        if scene.text is None:
            assert found == [], f"read {found} on a frame without a code"
            continue
        texts = [d.text for d in found]
        if scene.text not in texts:
            misses.append(scene)
            continue
        poly = found[texts.index(scene.text)].polygon
        # the outline found is the code's: each true corner lies on or near it
        slack = 0.08 * scene.size * scene.height
        assert all(_inside(p, poly, slack) for p in outline), (poly, outline)
    assert len(misses) <= 1, misses


def test_downscaled_and_full_size_passes_both_map_back_to_frame_pixels():
    # a small code in a big frame is only found by the full-size pass; a big one by the 640-wide pass
    for size in (0.12, 0.6):
        scene = Scene(width=1920, height=1080, text="Sm4llC", size=size, cx=0.7, cy=0.3, seed=4)
        frame, outline = render(scene)
        [d] = dec.FrameDecoder().decode(frame)
        cx, cy = np.mean(d.polygon, axis=0)
        tx, ty = outline.mean(axis=0)
        assert abs(cx - tx) < 10 and abs(cy - ty) < 10, (size, (cx, cy), (tx, ty))


def test_idle_decoder_looks_at_every_other_frame_and_wakes_up_on_a_code():
    fd = dec.FrameDecoder(idle_after=3, idle_every=2)
    empty, _ = render(Scene(text=None, seed=1))
    code, _ = render(Scene(text="Wake42", size=0.5, seed=1))
    results = [fd.decode(empty) for _ in range(10)]
    assert results[:3] == [[], [], []]
    idle = results[3:]
    assert idle.count(None) == 3 and idle.count([]) == 4  # every other frame once idle
    assert all((a is None) != (b is None) for a, b in zip(idle, idle[1:], strict=False))
    seen = [fd.decode(code) for _ in range(2)]
    hit = [r for r in seen if r]
    assert hit and hit[0][0].text == "Wake42"
    assert not fd.idle and all(fd.decode(code) for _ in range(5))  # awake: every frame decoded


def test_a_far_code_is_followed_in_its_region_instead_of_the_whole_frame():
    fd = dec.FrameDecoder(idle_every=1)
    by_region = []
    for k in range(6):
        scene = Scene(width=1920, height=1080, text="M0ving", size=0.12, cx=0.3 + 0.02 * k, cy=0.5, angle=12,
                      tilt=0.08, noise=4, seed=6)
        frame, outline = render(scene)
        [d] = fd.decode(frame)
        assert abs(np.mean(d.polygon, axis=0)[0] - outline.mean(axis=0)[0]) < 8
        by_region.append(fd._found_by_roi)
    # the first sighting needs the full-size pass; from then on the region around it suffices
    assert by_region == [False] + [True] * 5


def test_a_near_code_needs_no_region():
    fd = dec.FrameDecoder(idle_every=1)
    frame, _ = render(Scene(width=1920, height=1080, text="N3arby", size=0.5, seed=6))
    assert fd.decode(frame) and fd.decode(frame)
    assert fd._last_box is None and not fd._found_by_roi
