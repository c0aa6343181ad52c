"""Rate limits: per IP on unauthenticated routes, per token otherwise, shared by server processes."""

from __future__ import annotations

import requests

from tests.helpers.pdfs import pdf_bytes
from tests.helpers.server import ServerProcess, make_shop, sqlite_pair

DEFAULTS = {"SHOPDESK_UPLOAD_RATE_PER_MIN": "5", "SHOPDESK_LOGIN_RATE_PER_MIN": "10",
            "SHOPDESK_ANON_RATE_PER_MIN": "60", "SHOPDESK_AUTH_RATE_PER_MIN": "8"}


def test_sixth_upload_in_a_minute_is_429_with_retry_after_across_two_processes(tmp_path):
    with sqlite_pair(tmp_path, env=DEFAULTS) as (a, b):
        shop = make_shop(a)
        other = shop.through(b)
        codes = [(shop if i % 2 else other).upload_response(("a.pdf", pdf_bytes(1))).status_code for i in range(5)]
        assert codes == [200] * 5
        r = shop.upload_response(("a.pdf", pdf_bytes(1)))
        assert r.status_code == 429
        assert 1 <= int(r.headers["retry-after"]) <= 61
        assert "at most 5 per minute" in r.json()["error"]
        # per-token limit on authenticated routes (8/min here): login counts against the login bucket
        token = shop.token()
        statuses = [requests.get(b.url + "/queue", headers={"Authorization": f"Bearer {token}"}, timeout=10).status_code
                    for _ in range(9)]
        assert statuses[:8] == [200] * 8 and statuses[8] == 429


def test_login_limit_is_per_ip(tmp_path):
    server = ServerProcess(tmp_path / "s", env={**DEFAULTS, "SHOPDESK_LOGIN_RATE_PER_MIN": "3"}).start()
    try:
        codes = [requests.post(server.url + "/login", json={"username": "x", "password": "y"}, timeout=10).status_code
                 for _ in range(4)]
        assert codes == [401, 401, 401, 429]
    finally:
        server.stop()


def test_a_burst_straddling_a_minute_boundary_does_not_double_its_allowance(tmp_path):
    import asyncio

    from shopdesk.server import ratelimit
    from shopdesk.server.db import Database, migrate
    from shopdesk.server.errors import RateLimited

    url = f"sqlite+aiosqlite:///{tmp_path / 'rl.db'}"
    migrate(url)

    async def go():
        db = Database(url)
        try:
            minute = 29_000_000 * 60
            for t in (minute - 0.3, minute - 0.2, minute - 0.1):  # 3 at the end of one minute
                await ratelimit.hit(db, "login:1.2.3.4", 3, "logins", now=t)
            try:
                await ratelimit.hit(db, "login:1.2.3.4", 3, "logins", now=minute + 0.1)  # and 1 just after
            except RateLimited as exc:
                return exc.retry_after
            return None
        finally:
            await db.dispose()

    retry_after = asyncio.run(go())
    assert retry_after is not None and 1 <= retry_after <= 61
