"""What each server process keeps in memory (live.py) stays true across processes: a logout, a disabled
login or a password reset in one process refuses the token at once in another; a queue change in one
changes the ETag and wakes the long-polls of another (PostgreSQL LISTEN/NOTIFY); per-token rate limits
are counted in memory, each process allowing its share; a read writes no rate-limit row."""

from __future__ import annotations

import threading

import pytest
import requests

from tests.helpers.pdfs import pdf_bytes
from tests.helpers.server import ServerProcess, login, make_shop, run_db, sqlite_pair


@pytest.fixture(scope="module")
def pg_pair(postgres, tmp_path_factory):
    """Two server processes on one PostgreSQL database (as `--workers 2` or two hosts would be)."""
    url = postgres.create_database("live")
    a = ServerProcess(tmp_path_factory.mktemp("live-a"), database_url=url).start()
    b = ServerProcess(tmp_path_factory.mktemp("live-b"), database_url=url).start()
    yield a, b
    a.stop()
    b.stop()


def _get(url: str, token: str, path: str = "/queue", **headers) -> requests.Response:
    return requests.get(url + path, headers={"Authorization": f"Bearer {token}", **headers}, timeout=30)


def _uid(shop, username: str) -> int:
    return next(u["id"] for u in shop.get("/shop/staff", who="owner").json() if u["username"] == username)


@pytest.mark.slow
def test_logout_in_one_process_refuses_the_token_at_once_in_another(pg_pair):
    a, b = pg_pair
    shop = make_shop(a)
    for _ in range(5):  # a race would show as a 200 now and then
        token = login(a.url, *shop.staff)
        assert _get(b.url, token).status_code == 200  # b now knows the token
        assert _get(b.url, token).status_code == 200
        assert requests.post(a.url + "/logout", headers={"Authorization": f"Bearer {token}"},
                             timeout=10).status_code == 200
        r = _get(b.url, token)
        assert r.status_code == 401 and "revoked" in r.json()["error"]


@pytest.mark.slow
def test_disabling_a_login_or_resetting_its_password_in_one_process_refuses_it_in_another(pg_pair):
    a, b = pg_pair
    shop = make_shop(a)
    uid = _uid(shop, shop.staff2[0])
    token = login(a.url, *shop.staff2)
    assert _get(b.url, token).status_code == 200
    assert shop.put(f"/shop/staff/{uid}", who="owner", json={"active": False}).status_code == 200
    assert _get(b.url, token).status_code == 401
    assert shop.put(f"/shop/staff/{uid}", who="owner", json={"active": True}).status_code == 200

    token = login(b.url, *shop.staff2)
    assert _get(b.url, token).status_code == 200
    assert shop.put(f"/shop/staff/{uid}", who="owner", json={"password": "a-new-password-2"}).status_code == 200
    assert _get(b.url, token).status_code == 401
    assert _get(b.url, login(b.url, shop.staff2[0], "a-new-password-2")).status_code == 200

    # a new role is known at once too: staff made owner may read the owner's routes in b
    token = login(a.url, shop.staff2[0], "a-new-password-2")
    assert _get(b.url, token, "/shop/staff").status_code == 403
    assert shop.put(f"/shop/staff/{uid}", who="owner", json={"role": "owner"}).status_code == 200
    assert _get(b.url, token, "/shop/staff").status_code == 200


@pytest.mark.slow
def test_a_queue_change_in_one_process_changes_the_etag_in_another_at_once(pg_pair):
    a, b = pg_pair
    shop = make_shop(a)
    token = shop.token()
    for _ in range(3):
        etag = _get(b.url, token).headers["etag"]
        assert _get(b.url, token, **{"If-None-Match": etag}).status_code == 304  # answered from memory
        shop.upload(pdf_bytes(1))  # through a
        r = _get(b.url, token, **{"If-None-Match": etag})
        assert r.status_code == 200 and r.headers["etag"] != etag


@pytest.mark.slow
def test_a_long_poll_in_another_process_wakes_for_an_upload(pg_pair):
    a, b = pg_pair
    shop = make_shop(a)
    token = shop.token()
    etag = _get(b.url, token).headers["etag"]
    got = {}

    def poll():
        r = _get(b.url, token, "/queue?wait=20", **{"If-None-Match": etag})
        got["status"], got["n"] = r.status_code, len(r.json()) if r.status_code == 200 else None

    th = threading.Thread(target=poll)
    th.start()
    _get(b.url, token, "/queue?wait=1", **{"If-None-Match": etag})  # b is holding polls by now
    shop.upload(pdf_bytes(1))
    th.join(25)
    assert got == {"status": 200, "n": 1}  # without the notification b would answer 304 after 20 s


@pytest.mark.slow
def test_what_was_known_before_the_listener_was_lost_is_read_again(pg_pair, postgres):
    """Both listening connections are cut and a change is made while they are gone (its NOTIFY reaches
    nobody): once they are back, b does not answer from what it knew before, it reads again."""
    import psycopg

    from tests.helpers.wait import wait_until

    a, b = pg_pair
    shop = make_shop(a)
    token = shop.token()
    etag = _get(b.url, token).headers["etag"]
    assert _get(b.url, token, **{"If-None-Match": etag}).status_code == 304
    # this database's listeners only: the cluster is shared by the session's other servers
    listeners = ("SELECT pid FROM pg_stat_activity WHERE application_name = 'shopdesk-listener' "
                 "AND datname = current_database()")
    with psycopg.connect(postgres.url("live"), autocommit=True) as conn:
        before = {r[0] for r in conn.execute(listeners)}
        assert len(before) == 2  # one per server process
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                     "WHERE application_name = 'shopdesk-listener' AND datname = current_database()")
        shop.upload(pdf_bytes(1))  # reconnecting takes a second: nobody listens now
        wait_until(lambda: len({r[0] for r in conn.execute(listeners)} - before) == 2, timeout=20,
                   what="both listeners back")
    r = _get(b.url, token, **{"If-None-Match": etag})
    assert r.status_code == 200 and r.headers["etag"] != etag
    token2 = login(a.url, *shop.staff)
    assert _get(b.url, token2).status_code == 200
    requests.post(a.url + "/logout", headers={"Authorization": f"Bearer {token2}"}, timeout=10)
    assert _get(b.url, token2).status_code == 401


def test_an_authenticated_read_writes_no_rate_limit_row(api_server, api_shop):
    from sqlalchemy import func, select

    from shopdesk.server.models import RateCounter

    for _ in range(5):
        assert api_shop.get("/queue").status_code == 200

    async def count(s):
        return (await s.execute(select(func.count()).select_from(RateCounter)
                                .where(RateCounter.bucket.like("tok:%")))).scalar_one()

    assert run_db(api_server.db_url(), count) == 0


@pytest.mark.slow
def test_per_token_limits_with_two_workers_allow_each_its_share(tmp_path):
    """8 a minute over 2 worker processes: each allows 4, so the first 4 always pass, never more than 8
    do, and a 9th request is refused, whichever process each connection reached."""
    server = ServerProcess(tmp_path / "s", env={"SHOPDESK_AUTH_RATE_PER_MIN": "8"}, workers=2).start()
    try:
        shop = make_shop(server)
        token = shop.token()
        answers = [_get(server.url, token) for _ in range(9)]  # a new connection each
        statuses = [r.status_code for r in answers]
        assert statuses[:4] == [200] * 4
        assert statuses.count(200) <= 8 and 429 in statuses
        refused = next(r for r in answers if r.status_code == 429)
        assert 1 <= int(refused.headers["retry-after"]) <= 61
        assert "at most 8 per minute" in refused.json()["error"]
    finally:
        server.stop()


def test_the_in_memory_window_does_not_double_its_allowance_across_a_minute_boundary():
    from shopdesk.server.errors import RateLimited
    from shopdesk.server.ratelimit import LocalLimiter

    limiter = LocalLimiter(workers=1)
    minute = 29_000_000 * 60
    for t in (minute - 0.3, minute - 0.2, minute - 0.1):
        limiter.hit("tok:x", 3, "requests", now=t)
    limiter.hit("tok:other", 3, "requests", now=minute + 0.1)  # another bucket is its own
    with pytest.raises(RateLimited) as caught:
        limiter.hit("tok:x", 3, "requests", now=minute + 0.1)
    assert 1 <= caught.value.retry_after <= 61
    assert LocalLimiter(workers=3).per_process(8) == 3 and LocalLimiter(workers=3).per_process(0) == 0


@pytest.mark.slow
def test_sqlite_a_second_process_on_the_same_file_sees_changes_at_its_next_request(tmp_path):
    """SQLite: no NOTIFY, but `PRAGMA data_version` tells a process that another one committed."""
    with sqlite_pair(tmp_path) as (a, b):
        shop = make_shop(a)
        token = shop.token()
        etag = _get(b.url, token).headers["etag"]
        assert _get(b.url, token, **{"If-None-Match": etag}).status_code == 304
        shop.upload(pdf_bytes(1))  # through a
        r = _get(b.url, token, **{"If-None-Match": etag})
        assert r.status_code == 200 and r.headers["etag"] != etag
        assert requests.post(a.url + "/logout", headers={"Authorization": f"Bearer {token}"},
                             timeout=10).status_code == 200
        assert _get(b.url, token).status_code == 401


def test_sqlite_own_commits_keep_what_is_known_and_another_process_commits_do_not(tmp_path):
    """SQLite: a process's own write transactions leave what it knows trusted (it applied their marks);
    a commit by another connection that is not its own — before, between or after its own — is noticed
    at the next look. Two `Database`s on one file stand for two server processes."""
    import asyncio

    from sqlalchemy import text

    from shopdesk.server.db import Database, migrate
    from shopdesk.server.live import Live

    path = tmp_path / "shop.db"
    url = f"sqlite+aiosqlite:///{path}"
    migrate(url)

    class Quiet:
        def poke(self, shop_id):
            pass

    async def scenario():
        mine, other = Database(url), Database(url)
        live = Live(postgresql=False, notifier=Quiet())
        mine.on_commit = live.committed
        live.watch_sqlite(str(path))

        async def write(db):
            async with db.write() as s:
                await s.execute(text("UPDATE shops SET name = name WHERE 0"))

        def looked() -> int:
            live.refresh()
            return live.generation

        try:
            start = looked()
            await write(mine)
            await write(mine)
            assert looked() == start, "this process's own commits must not throw away what it knows"
            await write(other)
            after_other = looked()
            assert after_other > start, "another process's commit must be noticed"
            await write(other)  # another commit first, then ours, before any look: the count's gap tells
            await write(mine)
            assert looked() > after_other
            settled = looked()
            await write(mine)
            assert looked() == settled
        finally:
            live.close()
            await mine.dispose()
            await other.dispose()

    asyncio.run(scenario())
