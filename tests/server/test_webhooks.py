"""Signed webhooks against a real receiver on loopback: registration and its refusals, signatures, order
per job, retries (500, redirect, slow, down — across a server restart) with the same event id, the API
never held up by a receiver, and two server processes on one database sending each delivery once."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
import requests

from tests.helpers.pdfs import pdf_bytes
from tests.helpers.receiver import Receiver, verify
from tests.helpers.server import ServerProcess, make_shop, sqlite_pair
from tests.helpers.wait import wait_until

ALL = ["job.uploaded", "job.printing", "job.printed", "job.failed", "job.cancelled", "job.withdrawn",
       "shop.opened", "shop.closed"]


@pytest.fixture
def receiver():
    r = Receiver().start()
    yield r
    r.release.set()
    r.stop()


def _register(shop, url, events=ALL):
    r = shop.post("/shop/webhooks", who="owner", json={"url": url, "events": events})
    assert r.status_code == 201, r.text
    return r.json()


def _deliveries(shop, hook_id):
    r = shop.get(f"/shop/webhooks/{hook_id}/deliveries", who="owner")
    assert r.status_code == 200, r.text
    return r.json()


def test_register_list_delete_and_what_is_refused(api_shop, receiver):
    shop = api_shop
    for bad, words in (("ftp://example.com/x", "http"), ("not a url", "http"),
                       (shop.url + "/shop", "this server itself"),
                       (shop.url.replace("127.0.0.1", "localhost") + "/x", "this server itself"),
                       ("http://169.254.169.254/latest/meta-data", "cannot receive"),
                       ("http://user:pw@example.com/x", "password")):
        r = shop.post("/shop/webhooks", who="owner", json={"url": bad, "events": ["job.printed"]})
        assert r.status_code == 400 and words in r.json()["error"], (bad, r.text)
    r = shop.post("/shop/webhooks", who="owner", json={"url": receiver.url, "events": ["job.sent"]})
    assert r.status_code == 400, r.text
    assert shop.post("/shop/webhooks", who="staff", json={"url": receiver.url, "events": ALL}).status_code == 403

    made = _register(shop, receiver.url, ["job.printed", "job.uploaded"])
    assert made["secret"].startswith("whsec_") and len(made["secret"]) > 40
    assert made["events"] == ["job.uploaded", "job.printed"]
    # shown once: neither the list nor a replay of the same request shows it again
    listed = shop.get("/shop/webhooks", who="owner").json()
    assert [h["id"] for h in listed] == [made["id"]] and "secret" not in listed[0]
    key = {"Idempotency-Key": "hook-1"}
    first = shop.post("/shop/webhooks", who="owner", headers=key, json={"url": receiver.url, "events": ALL})
    again = shop.post("/shop/webhooks", who="owner", headers=key, json={"url": receiver.url, "events": ALL})
    assert first.json()["secret"] and again.json()["secret"] is None and again.json()["id"] == first.json()["id"]

    other = make_shop(shop.server)
    assert other.get(f"/shop/webhooks/{made['id']}/deliveries", who="owner").status_code == 403
    assert requests.delete(f"{shop.url}/shop/webhooks/{made['id']}", headers=other.headers("owner"),
                           timeout=10).status_code == 403
    r = requests.delete(f"{shop.url}/shop/webhooks/{made['id']}", headers=shop.headers("owner"), timeout=10)
    assert r.status_code == 204
    assert shop.get(f"/shop/webhooks/{made['id']}/deliveries", who="owner").status_code == 404
    assert [h["id"] for h in shop.get("/shop/webhooks", who="owner").json()] == [first.json()["id"]]


def test_events_are_signed_and_in_order_per_job(api_shop, receiver):
    shop = api_shop
    hook = _register(shop, receiver.url)
    a = shop.upload(pdf_bytes(2), name="a.pdf", copies=2)["files"][0]
    b = shop.upload(pdf_bytes(1), name="b.pdf")["files"][0]
    fa, fb = a["file_id"], b["file_id"]
    assert shop.post(f"/queue/{fa}/print-started", json={"printer": "Front", "counter": "C1"}).status_code == 200
    assert shop.post(f"/queue/{fa}/print-failed", json={"reason": "paper jam"}).status_code == 200
    assert shop.post(f"/queue/{fa}/print-started", json={"printer": "Front", "counter": "C1"}).status_code == 200
    assert shop.post(f"/file/{a['code']}/confirm", json={"impressions": 4, "sheets": 4}).status_code == 200
    assert shop.post(f"/queue/{fb}/cancel", json={"reason": "customer left"}).status_code == 200
    assert shop.post("/shop/status", who="owner", json={"is_open": False}).status_code == 200
    assert shop.post("/shop/status", who="owner", json={"is_open": False}).status_code == 200  # no change, no event
    assert shop.post("/shop/status", who="owner", json={"is_open": True}).status_code == 200

    wait_until(lambda: len(receiver.events()) >= 9, timeout=20, what="nine events delivered")
    for req in receiver.requests:
        assert verify(hook["secret"], req["headers"]["Shopdesk-Signature"], req["body"]), req["headers"]
        assert not verify("whsec_wrong", req["headers"]["Shopdesk-Signature"], req["body"])
        assert req["headers"]["Shopdesk-Event-Id"] == req["json"]["id"]
    got = receiver.events()
    per_job = lambda fid: [e["type"] for e in got if e["type"].startswith("job.") and e["data"]["file_id"] == fid]  # noqa: E731
    assert per_job(fa) == ["job.uploaded", "job.printing", "job.failed", "job.printing", "job.printed"]
    assert per_job(fb) == ["job.uploaded", "job.cancelled"]
    printed = next(e for e in got if e["type"] == "job.printed")
    assert printed["data"]["code"] == a["code"] and printed["data"]["impressions"] == 4
    assert printed["data"]["order"]["files"][0]["code"] == a["code"]  # as GET /file/{code} shows it
    failed = next(e for e in got if e["type"] == "job.failed")
    assert failed["data"]["last_failure"] == "paper jam"
    assert [e["type"] for e in got if e["type"].startswith("shop.")] == ["shop.closed", "shop.opened"]
    assert len({e["id"] for e in got}) == len(got) == 9
    # the receiver has the last event a moment before its sender records it as delivered
    wait_until(lambda: all(d["status"] == "delivered" for d in _deliveries(shop, hook["id"])), timeout=10,
               what="every delivery recorded as delivered")
    listed = _deliveries(shop, hook["id"])
    assert len(listed) == 9 and all(d["status"] == "delivered" and d["attempts"] == 1 for d in listed)
    assert shop.get("/shop/webhooks", who="owner").json()[0]["last_delivery"]["status"] == "delivered"


@pytest.mark.slow
def test_a_failing_receiver_is_retried_with_the_same_event_id_and_never_holds_up_the_api(api_shop, receiver):
    """500, then a redirect, then an answer slower than the timeout, then 200: four tries of one event,
    one id; while the receiver holds a request, the API answers as usual."""
    shop = api_shop
    answers = {0: (500, {}, 0), 1: (302, {"Location": receiver.url + "/elsewhere"}, 0), 2: (200, {}, 3.0)}
    receiver.answer = lambda n: answers.get(n, (200, {}, 0))
    hook = _register(shop, receiver.url, ["job.uploaded", "job.printed"])
    f = shop.upload(pdf_bytes(1))["files"][0]
    wait_until(lambda: len(receiver.events()) == 1, timeout=30, what="the fourth try answered 200")
    ids = [e["id"] for e in receiver.events(None)]
    assert len(ids) == 4 and len(set(ids)) == 1 and receiver.events()[0]["data"]["code"] == f["code"]
    assert all(r["json"]["id"] == ids[0] for r in receiver.requests)
    d = wait_until(lambda: [x for x in _deliveries(shop, hook["id"]) if x["status"] == "delivered"], timeout=10)[0]
    assert d["attempts"] == 4 and d["id"] == ids[0] and d["last_status_code"] == 200

    # a receiver that holds every request: the API's own answers do not wait for it
    receiver.release.clear()
    uploads = [shop.upload(pdf_bytes(1))["files"][0] for _ in range(3)]
    wait_until(lambda: len(receiver.requests) >= 5, timeout=10, what="a held request")
    for u in uploads:
        r = requests.post(f"{shop.url}/queue/{u['file_id']}/confirm", headers=shop.headers(), timeout=5)
        assert r.status_code == 200, r.text
    assert shop.get("/queue").status_code == 200
    receiver.release.set()
    wanted = {(t, u["code"]) for u in uploads for t in ("job.uploaded", "job.printed")}
    wait_until(lambda: wanted <= {(e["type"], e["data"]["code"]) for e in receiver.events()},
               timeout=40, what="the held events delivered once released")
    # a request held past the sender's timeout is tried again: the receiver may see one event twice, but
    # only ever under its one id (what it de-duplicates on), never as two events
    ids_per_event: dict = {}
    for e in receiver.events(None):
        ids_per_event.setdefault((e["type"], e["data"]["code"]), set()).add(e["id"])
    assert all(len(ids) == 1 for ids in ids_per_event.values()), ids_per_event
    assert len(ids_per_event) == 1 + 2 * len(uploads)  # the first upload, then uploaded + printed of each


@pytest.mark.slow
def test_a_receiver_down_gets_its_events_after_a_server_restart(tmp_path):
    server = ServerProcess(tmp_path / "srv").start()
    receiver = Receiver()
    receiver.start()
    port = receiver.port
    receiver.stop()  # down: its port refuses connections
    try:
        shop = make_shop(server)
        hook = _register(shop, f"http://127.0.0.1:{port}/hook", ["job.uploaded"])
        f = shop.upload(pdf_bytes(1))["files"][0]
        tried = wait_until(lambda: [d for d in _deliveries(shop, hook["id"]) if d["attempts"] >= 2], timeout=15)[0]
        assert tried["status"] == "pending" and "connect" in tried["last_error"]
        server.stop()
        receiver = Receiver(port).start()
        server.start()
        wait_until(lambda: receiver.events(), timeout=30, what="the event after the restart")
        got = receiver.events()
        assert len(got) == 1 and got[0]["id"] == tried["id"] and got[0]["data"]["code"] == f["code"]
        wait_until(lambda: _deliveries(shop, hook["id"])[0]["status"] == "delivered", timeout=10,
                   what="the delivery recorded as delivered")  # a moment after the receiver has it
    finally:
        receiver.stop()
        server.stop()


@pytest.mark.slow
def test_two_server_processes_on_one_database_send_each_delivery_once(postgres, tmp_path, receiver):
    url = postgres.create_database("hooks2")
    shared = {"SHOPDESK_WEBHOOK_KEY": "one key for every host of this database"}
    one = ServerProcess(tmp_path / "one", database_url=url, env=shared).start()
    two = ServerProcess(tmp_path / "two", database_url=url, env=shared).start()
    try:
        shop = make_shop(one)
        hook = _register(shop, receiver.url, ["job.uploaded", "job.printing", "job.printed"])
        files = []

        def work(server_url, n):
            for _ in range(n):
                r = requests.post(server_url + "/upload", data={"shop_id": str(shop.shop_id)},
                                  files=[("files[]", ("x.pdf", pdf_bytes(1), "application/pdf"))], timeout=30)
                files.append(r.json()["files"][0])

        threads = [threading.Thread(target=work, args=(s.url, 6)) for s in (one, two)]
        [t.start() for t in threads]
        [t.join() for t in threads]
        for f in files:
            assert requests.post(f"{two.url}/queue/{f['file_id']}/confirm", headers=shop.headers(),
                                 timeout=10).status_code == 200
        wait_until(lambda: len(receiver.events()) >= 24, timeout=30, what="24 events")
        ids = Counter(e["id"] for e in receiver.events(None))
        assert len(ids) == 24 and set(ids.values()) == {1}, ids.most_common(3)
        for req in receiver.requests:
            assert verify(hook["secret"], req["headers"]["Shopdesk-Signature"], req["body"])
    finally:
        one.stop()
        two.stop()


@pytest.mark.slow
def test_the_sweeper_closing_a_silent_shop_tells_the_receiver(tmp_path, receiver):
    from sqlalchemy import update

    from shopdesk.server.models import Shop
    from tests.helpers.server import run_db

    server = ServerProcess(tmp_path / "srv", env={"SHOPDESK_SWEEP_INTERVAL_SECONDS": "1"}).start()
    try:
        shop = make_shop(server)
        hook = _register(shop, receiver.url, ["shop.closed", "shop.opened"])

        async def silent(s):
            await s.execute(update(Shop).where(Shop.id == shop.shop_id).values(heartbeat_limit_seconds=1))

        run_db(server.db_url(), silent)
        wait_until(lambda: receiver.events(), timeout=15, what="shop.closed from the sweeper")
        got = receiver.events()
        assert [e["type"] for e in got] == ["shop.closed"] and got[0]["data"]["shop_id"] == shop.shop_id
        assert got[0]["data"]["is_open"] is False
        assert verify(hook["secret"], receiver.requests[0]["headers"]["Shopdesk-Signature"], receiver.requests[0]["body"])
        assert shop.get("/shop").json()["is_open"] is False
    finally:
        server.stop()


def test_the_sweeper_forgets_deliveries_after_a_month_and_keeps_what_is_still_to_send(api_shop, receiver):
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import update

    from shopdesk.server import sweeper
    from shopdesk.server.models import WebhookDelivery
    from tests.helpers.server import run_db, run_server_step

    shop = api_shop
    hook = _register(shop, receiver.url, ["job.uploaded"])
    for _ in range(3):
        shop.upload(pdf_bytes(1))
    wait_until(lambda: len(receiver.events()) == 3, timeout=20, what="three deliveries")
    old, pending, recent = (d["id"] for d in reversed(_deliveries(shop, hook["id"])))  # event ids, oldest first

    async def age(s):  # two sent long ago, one of them still to be sent again (a retry not given up)
        long_ago = datetime.now(UTC) - timedelta(days=40)
        await s.execute(update(WebhookDelivery).where(WebhookDelivery.event_id.in_([old, pending]))
                        .values(created_at=long_ago))
        await s.execute(update(WebhookDelivery).where(WebhookDelivery.event_id == pending)
                        .values(status="pending", next_attempt_at=datetime.now(UTC) + timedelta(hours=1)))

    run_db(shop.server.db_url(), age)

    run_server_step(shop.server, sweeper.forget_expired)
    assert sorted(d["id"] for d in _deliveries(shop, hook["id"])) == sorted([pending, recent])


@pytest.mark.parametrize("db", ["sqlite", "postgresql"])
def test_a_new_event_wakes_the_senders_at_once_not_at_their_next_poll(db, tmp_path, receiver, request):
    # The senders poll only for retries (here once a minute): a stored delivery wakes them — on PostgreSQL
    # through NOTIFY, also the sender of a server process that did not store it.
    env = {"SHOPDESK_WEBHOOK_POLL_SECONDS": "60", "SHOPDESK_WEBHOOK_KEY": "one key for both"}
    if db == "postgresql":
        url = request.getfixturevalue("postgres").create_database("hookwake")
        servers = [ServerProcess(tmp_path / n, database_url=url, env=env).start() for n in ("one", "two")]
    else:
        servers = [ServerProcess(tmp_path / "one", env=env).start()]
    try:
        shop = make_shop(servers[0])
        _register(shop, receiver.url, ["job.uploaded", "job.printing"])
        time.sleep(1.5)  # every sender has had its first look and now waits out its minute
        f = shop.upload(pdf_bytes(1))["files"][0]
        t0 = time.monotonic()
        wait_until(lambda: len(receiver.events()) == 1, timeout=10, what="job.uploaded well before the poll")
        last = servers[-1]  # on PostgreSQL the other process: its sender heard the NOTIFY
        r = requests.post(f"{last.url}/queue/{f['file_id']}/print-started", headers=shop.headers(),
                          json={"printer": "Front"}, timeout=10)
        assert r.status_code == 200, r.text
        wait_until(lambda: len(receiver.events()) == 2, timeout=10, what="job.printing well before the poll")
        assert time.monotonic() - t0 < 20
        assert [e["type"] for e in receiver.events()] == ["job.uploaded", "job.printing"]
    finally:
        for s in servers:
            s.stop()


@pytest.mark.slow
def test_sqlite_a_webhook_added_or_removed_anywhere_takes_the_next_event(tmp_path, receiver):
    """On SQLite a server process keeps the shop's webhooks in memory between moves: a webhook added or
    removed through another process on the same file (or through this one) decides the very next event."""
    with sqlite_pair(tmp_path) as (a, b):
        shop = make_shop(a)
        via_b = shop.through(b)

        def print_started(fid):
            assert shop.post(f"/queue/{fid}/print-started", json={"printer": "P"}).status_code == 200

        first = shop.upload(pdf_bytes(1))["files"][0]
        print_started(first["file_id"])  # a moves once with no webhook: it knows "none"
        hook = _register(via_b, receiver.url, ["job.printing"])  # added through b
        second = shop.upload(pdf_bytes(1))["files"][0]
        print_started(second["file_id"])  # through a, at once
        assert [d["type"] for d in _deliveries(shop, hook["id"])] == ["job.printing"]
        assert requests.delete(f"{b.url}/shop/webhooks/{hook['id']}", headers=shop.headers("owner"),
                               timeout=10).status_code == 204
        mine = _register(shop, receiver.url, ["job.printing"])  # added through a itself
        third = shop.upload(pdf_bytes(1))["files"][0]
        print_started(third["file_id"])
        assert [d["type"] for d in _deliveries(shop, mine["id"])] == ["job.printing"]
