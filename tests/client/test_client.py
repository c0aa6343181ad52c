"""ShopClient against a real server: typed errors, retries (never on 4xx), Retry-After, downloads."""

from __future__ import annotations

import hashlib
import io
import os
import time

import pytest
import requests

from shopdesk.client.api import ShopClient, is_transient
from shopdesk.client.downloads import DownloadCache
from shopdesk.client.errors import (
    ChecksumError,
    ConflictError,
    NotFoundError,
    OfflineError,
    RateLimitedError,
    UnauthorizedError,
    ValidationError,
    from_response,
)
from tests.helpers.pdfs import pdf_bytes
from tests.helpers.server import ServerProcess, free_port, make_shop
from tests.helpers.wait import wait_until


def _client(shop, who="staff", **kw) -> ShopClient:
    c = ShopClient(shop.url, **kw)
    c.login(*getattr(shop, who))
    return c


def test_login_queue_and_moves_with_typed_errors(shop):
    c = _client(shop)
    up = shop.upload(pdf_bytes(2))
    orders, etag = c.queue()
    assert orders[0]["files"][0]["code"] == up["files"][0]["code"]
    assert c.queue(etag) == (None, etag)
    fid = up["files"][0]["file_id"]
    c.print_started(fid, printer="Front", counter="Counter 1")
    other = _client(shop, "staff2")
    with pytest.raises(ConflictError, match="already printing at Counter 1"):
        other.print_started(fid, printer="Back", counter="Counter 2")
    with pytest.raises(NotFoundError):
        c.job_by_code("QQQQQQ")
    with pytest.raises(ValidationError):
        c.history(limit=0)


def test_client_errors_are_not_retried_but_offline_is(shop):
    sleeps: list[float] = []
    c = _client(shop, sleep=sleeps.append)
    with pytest.raises(NotFoundError):
        c.confirm(99999999)
    job = shop.upload(pdf_bytes(1))["files"][0]
    c.confirm(job["file_id"])
    with pytest.raises(ConflictError):
        c.print_started(job["file_id"], printer="Front", counter="Counter 1")  # already printed: 409
    with pytest.raises(UnauthorizedError):
        ShopClient(shop.url, token="not-a-token", sleep=sleeps.append).shop()
    assert sleeps == []  # a 4xx is an answer, not a glitch: never retried
    dead = ShopClient(f"http://127.0.0.1:{free_port()}", retries=3, sleep=sleeps.append)
    with pytest.raises(OfflineError, match="Cannot reach the shop server"):
        dead.healthz()  # healthz does not retry
    with pytest.raises(OfflineError):
        dead.shop()
    assert len(sleeps) == 3 and all(0.2 <= s <= 2.0 for s in sleeps)


@pytest.mark.slow  # its own server with a 1 s header timeout, and a 2.5 s network stall
def test_a_request_stalled_on_the_way_is_sent_again_not_taken_as_a_refusal(tmp_path):
    """A stalled network makes the server answer 408 (the headers did not arrive in time). That is not
    the server refusing the report: the outbox lost confirms when it took it as one (seen in the soak)."""
    from tests.helpers.proxy import FaultProxy

    server = ServerProcess(tmp_path / "srv", env={"SHOPDESK_HEADER_TIMEOUT_SECONDS": "1"}).start()
    try:
        shop = make_shop(server)
        job = shop.upload(pdf_bytes(1))["files"][0]
        proxy = FaultProxy(server.port).start()
        try:
            sleeps: list[float] = []
            c = ShopClient(proxy.url, retries=2, sleep=sleeps.append)
            c.login(*shop.staff)
            c.session.close()  # a new connection: its first bytes wait in the proxy
            proxy.stall(2.5)  # while the server times the headers out
            c.confirm(job["file_id"], idempotency_key="stalled-confirm")
            assert len(sleeps) == 1, sleeps  # one 408, then sent again
            assert c.job_by_code(job["code"])["status"] == "downloaded"
        finally:
            proxy.close()
    finally:
        server.stop()
    assert is_transient(from_response(408, "The request headers did not arrive in time."))


def test_429_retry_after_is_honoured(tmp_path):
    server = ServerProcess(tmp_path / "s", env={"SHOPDESK_AUTH_RATE_PER_MIN": "3"}).start()
    try:
        shop = make_shop(server)
        sleeps: list[float] = []
        c = _client(shop, sleep=sleeps.append, retries=1)
        for _ in range(3):
            c.shop()
        with pytest.raises(RateLimitedError) as exc:
            c.shop()
        assert exc.value.retry_after >= 1
        # it waited once, as long as the first 429 said (a second 429 may name another wait: the limit's
        # window slides, so this compares with the bounds of any Retry-After, not the last one's value)
        assert len(sleeps) == 1 and 1 <= sleeps[0] <= 61
        # a caller that cannot wait that long (a UI worker) gets the 429 at once, with the wait in it
        impatient = ShopClient(shop.url, token=c.token, sleep=sleeps.append, max_retry_after=0.5)
        with pytest.raises(RateLimitedError) as exc:
            impatient.shop()
        assert len(sleeps) == 1 and exc.value.retry_after >= 1
    finally:
        server.stop()


def test_unauthorized_calls_the_log_in_again_hook(shop):
    seen = []
    c = ShopClient(shop.url, token="expired-or-bogus", on_unauthorized=seen.append)
    with pytest.raises(UnauthorizedError):
        c.shop()
    assert len(seen) == 1 and "log in" in str(seen[0]).lower()


def test_an_expired_token_is_a_signal_to_log_in_again_and_no_report_is_lost(tmp_path):
    from shopdesk.client.outbox import Outbox

    server = ServerProcess(tmp_path / "s", env={"SHOPDESK_TOKEN_TTL_SECONDS": "2"}).start()
    try:
        shop = make_shop(server)
        seen = []
        c = ShopClient(shop.url, on_unauthorized=seen.append, retries=0)
        c.login(*shop.staff)
        job = shop.upload(pdf_bytes(1))["files"][0]
        c.print_started(job["file_id"], printer="Front", counter="Counter 1")
        outbox = Outbox(tmp_path / "o.db", c)
        wait_until(lambda: requests.get(shop.url + "/queue", headers={"Authorization": f"Bearer {c.token}"},
                                        timeout=10).status_code == 401, timeout=10, interval=0.1,
                   what="the token to expire")
        outbox.add("confirm", job["file_id"], {"counter": "Counter 1"})
        assert outbox.deliver() == 1  # kept, not rejected
        st = outbox.state()
        assert st["needs_login"] and st["rejected"] == 0 and "Log in again" in st["last_error"]
        with pytest.raises(UnauthorizedError, match="expired"):
            c.shop()
        assert len(seen) == 2 and "log in again" in str(seen[-1])
        c.login(*shop.staff)  # the UI asks for the password again
        assert outbox.deliver() == 0 and not outbox.state()["needs_login"]
        assert [a["move"] for a in shop.get(f"/file/{job['code']}/audit").json()] == ["print-started", "confirm"]
        outbox.close()
    finally:
        server.stop()


def test_download_cache_verifies_checksum_and_never_keeps_partial_files(shop, tmp_path):
    data = pdf_bytes(3)
    up = shop.upload(data)
    job = shop.get(f"/file/{up['files'][0]['code']}").json()
    c = _client(shop)
    cache = DownloadCache(tmp_path / "cache", c)
    progress = []
    path = cache.fetch(job["file_id"], job["sha256"], lambda done, total: progress.append((done, total)))
    assert path.read_bytes() == data and progress[-1] == (len(data), len(data))
    # corrupt the server's stored copy: the client must refuse it and keep nothing
    stored = shop.server.data_dir / "files" / job["sha256"][:2] / job["sha256"]
    stored.write_bytes(data[:-10] + b"corrupted!")
    path.unlink()
    with pytest.raises(ChecksumError, match="damaged"):
        cache.fetch(job["file_id"], job["sha256"])
    assert list((tmp_path / "cache").iterdir()) == []
    stored.write_bytes(data)
    assert hashlib.sha256(cache.fetch(job["file_id"], job["sha256"]).read_bytes()).hexdigest() == job["sha256"]


def test_download_cache_feeds_a_sink_as_the_bytes_come_downloaded_or_cached(shop, tmp_path):
    """A print streams the file on (into a held CUPS job) while it downloads: the sink gets every byte,
    in order, from the download and from the cached copy alike."""
    data = pdf_bytes(4, text="streamed on")
    up = shop.upload(data)
    job = shop.get(f"/file/{up['files'][0]['code']}").json()
    cache = DownloadCache(tmp_path / "cache", _client(shop))
    for where in ("downloaded", "cached"):
        got = bytearray()
        path = cache.fetch(job["file_id"], job["sha256"], sink=got.extend)
        assert bytes(got) == data == path.read_bytes(), where


def test_a_download_torn_by_the_server_dying_leaves_nothing_in_the_cache(tmp_path):
    from PIL import Image

    buf = io.BytesIO()  # an uncompressed 18 MB image: too big to sit whole in the socket buffers
    Image.new("RGB", (3000, 2000), (250, 250, 250)).save(buf, "PNG", compress_level=0)
    data = buf.getvalue()
    server = ServerProcess(tmp_path / "s").start()
    try:
        shop = make_shop(server)
        up = shop.upload(data, name="poster.png")["files"][0]
        sha = shop.get(f"/file/{up['code']}").json()["sha256"]
        cache = DownloadCache(tmp_path / "cache", _client(shop, retries=0))
        seen = []

        def progress(done, total):
            if not seen:
                server.kill()  # the power goes while the file is on the wire
            seen.append((done, total))

        with pytest.raises((OfflineError, ChecksumError), match="interrupted|stopped early|damaged"):
            cache.fetch(up["file_id"], sha, progress)
        assert seen[0][1] == len(data) and seen[-1][0] < len(data)
        assert list((tmp_path / "cache").iterdir()) == []
        server.start()
        assert cache.fetch(up["file_id"], sha).read_bytes() == data
    finally:
        server.stop()


def test_cache_cleaning_removes_old_and_partial_files(shop, tmp_path):
    cache = DownloadCache(tmp_path / "c", _client(shop), max_bytes=10, max_age_seconds=100)
    old = tmp_path / "c" / ("a" * 64)
    old.write_bytes(b"x")
    os.utime(old, (time.time() - 1000, time.time() - 1000))
    part = tmp_path / "c" / ("b" * 64 + ".1.part")
    part.write_bytes(b"y")
    os.utime(part, (time.time() - 7200, time.time() - 7200))
    big = tmp_path / "c" / ("c" * 64)
    big.write_bytes(b"z" * 50)
    assert cache.clean() == 3
    assert list((tmp_path / "c").iterdir()) == []
