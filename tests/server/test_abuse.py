"""Hostile uploads and abuse cannot hurt the shop: crafted files are refused in words in bounded time,
idempotency keys belong to their caller, proxies are believed only when configured, guessing a password
locks out only the guesser, inputs that could overflow are refused, slow and oversized requests are cut
off, and a job's file is gone for its shop once the job is finished."""

from __future__ import annotations

import socket
import time

import pytest
import requests

from tests.helpers.hostile import corpus, lying_count, many_pages, page_tree_bomb, png_claiming
from tests.helpers.pdfs import pdf_bytes
from tests.helpers.server import ServerProcess, make_shop, run_db

NOT_COUNTABLE = "Page count not available for this file. Please convert to PDF and upload."
CORPUS = corpus()

# Two client addresses on one loopback: the server believes X-Forwarded-For from 127.0.0.1 only because
# it is told to (SHOPDESK_TRUSTED_PROXIES), as behind a TLS proxy on the same host.
GUARDED_ENV = {"SHOPDESK_TRUSTED_PROXIES": "127.0.0.1", "SHOPDESK_MAX_FAILED_LOGINS": "4",
               "SHOPDESK_LOCKOUT_SECONDS": "120", "SHOPDESK_HEADER_TIMEOUT_SECONDS": "1",
               "SHOPDESK_BODY_TIMEOUT_SECONDS": "1", "SHOPDESK_MAX_JSON_KB": "64"}
A = {"X-Forwarded-For": "203.0.113.7"}
B = {"X-Forwarded-For": "198.51.100.23"}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def guarded(request, tmp_path_factory):
    """A server behind a (pretend) trusted proxy on loopback, with short timeouts and a small lock."""
    url = None
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres").create_database("abuse")
    server = ServerProcess(tmp_path_factory.mktemp(f"guarded-{request.param}"), database_url=url,
                           env=GUARDED_ENV).start()
    yield server
    server.stop()


def _form(shop_id: int, files: list[tuple[str, bytes]]) -> tuple[dict, list]:
    return {"shop_id": str(shop_id)}, [("files[]", (n, d, "application/octet-stream")) for n, d in files]


# --- hostile files -------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(CORPUS))
def test_each_hostile_file_is_refused_in_words_on_both_routes(api_shop, name):
    data, words = CORPUS[name]
    for route in ("/calculate-cost", "/upload"):
        form, files = _form(api_shop.shop_id, [(name, data)])
        started = time.monotonic()
        r = requests.post(api_shop.url + route, data=form, files=files, timeout=60)
        took = time.monotonic() - started
        assert r.status_code == 400, (route, r.status_code, r.text)
        err = r.json()["error"]
        assert name in err and words in err and NOT_COUNTABLE in err, err
        assert took < 20, f"{route} took {took:.1f} s"  # bounded: the wall-clock limit is 15 s
    assert api_shop.get("/queue").json() == []


def test_the_page_tree_bomb_is_refused_as_unusual_and_logins_still_answer(api_shop):
    r = api_shop.upload_response(("bomb.pdf", page_tree_bomb()))
    assert r.status_code == 400
    assert "built in an unusual way and could not be checked; please re-save it" in r.json()["error"]
    assert requests.post(api_shop.url + "/login", json={"username": api_shop.staff[0], "password": api_shop.staff[1]},
                         timeout=10).status_code == 200


@pytest.mark.slow  # starts its own server, or waits out a timeout or a delay
def test_page_cap_is_a_setting_and_a_file_at_the_cap_is_accepted(tmp_path):
    server = ServerProcess(tmp_path / "s", env={"SHOPDESK_MAX_PAGES_PER_FILE": "50",
                                                "SHOPDESK_MAX_IMAGE_MEGAPIXELS": "1"}).start()
    try:
        shop = make_shop(server)
        ok = shop.upload_response(("fifty.pdf", many_pages(50)))
        assert ok.status_code == 200 and ok.json()["files"][0]["num_pages"] == 50
        r = shop.upload_response(("more.pdf", many_pages(51)))
        assert r.status_code == 400 and "more than 50 pages; at most 50 pages per file" in r.json()["error"]
        r = shop.upload_response(("big.png", png_claiming(1001, 1000)))
        assert r.status_code == 400 and "1001×1000 pixels; at most 1 megapixels" in r.json()["error"]
    finally:
        server.stop()


def test_a_lying_page_count_is_not_believed(api_shop):
    r = api_shop.upload_response(("lying.pdf", lying_count()))
    assert r.status_code == 200 and r.json()["files"][0]["num_pages"] == 1


def test_every_hostile_file_in_one_upload_gets_every_reason(api_shop):
    form, files = _form(api_shop.shop_id, [(n, d) for n, (d, _) in CORPUS.items()])
    r = requests.post(api_shop.url + "/upload", data=form, files=files, timeout=120)
    assert r.status_code == 400
    err = r.json()["error"]
    for name, (_, words) in CORPUS.items():
        assert f"'{name}' " in err and words in err


# --- idempotency ---------------------------------------------------------------------------------------

def test_another_customers_key_replays_nothing_of_theirs(guarded):
    shop = make_shop(guarded)
    key = {"Idempotency-Key": f"walk-in-{shop.shop_id}"}
    data = pdf_bytes(1)
    first = shop.upload_response(("a.pdf", data), headers={**key, **A})
    assert first.status_code == 200
    codes = {f["code"] for f in first.json()["files"]}
    # the same key from another address is another caller's key: its own upload, not the first answer
    other = shop.upload_response(("b.pdf", pdf_bytes(2)), headers={**key, **B})
    assert other.status_code == 200 and "idempotent-replayed" not in other.headers
    assert not codes & {f["code"] for f in other.json()["files"]}
    # the same caller, same key, another body: 422 naming nothing
    again = shop.upload_response(("c.pdf", pdf_bytes(3)), headers={**key, **A})
    assert again.status_code == 422
    assert "different request" in again.json()["error"]
    assert not any(c in again.text for c in codes) and "a.pdf" not in again.text
    # the very same request again is a replay (a new multipart boundary does not make it another request)
    same = shop.upload_response(("a.pdf", data), headers={**key, **A})
    assert same.status_code == 200 and same.headers["idempotent-replayed"] == "true"
    assert same.json() == first.json()
    assert len(shop.get("/queue").json()) == 2


def test_withdraw_keys_are_per_caller_and_per_request(guarded):
    shop = make_shop(guarded)
    code_a = shop.upload(pdf_bytes(1))["files"][0]["code"]
    code_b = shop.upload(pdf_bytes(1))["files"][0]["code"]
    key = {"Idempotency-Key": f"w-{shop.shop_id}"}
    assert requests.post(f"{shop.url}/withdraw/{code_a}", headers={**key, **A}, timeout=10).status_code == 200
    r = requests.post(f"{shop.url}/withdraw/{code_b}", headers={**key, **A}, timeout=10)
    assert r.status_code == 422 and code_a not in r.text
    assert requests.get(f"{shop.url}/file/{code_b}/status", timeout=10).json()["status"] == "uploaded"


def test_staff_key_with_another_body_is_422(api_shop):
    f = api_shop.upload(pdf_bytes(1))["files"][0]
    h = {"Idempotency-Key": f"start-{f['file_id']}"}
    ok = api_shop.post(f"/queue/{f['file_id']}/print-started", json={"counter": "C1", "printer": "P"}, headers=h)
    assert ok.status_code == 200
    # key order and spacing do not make another request
    same = api_shop.post(f"/queue/{f['file_id']}/print-started", data='{ "printer": "P", "counter": "C1" }',
                         headers={**h, "Content-Type": "application/json"})
    assert same.status_code == 200 and same.headers["idempotent-replayed"] == "true"
    other = api_shop.post(f"/queue/{f['file_id']}/print-started", json={"counter": "C2", "printer": "P"}, headers=h)
    assert other.status_code == 422 and set(other.json()) == {"error"}


# --- proxies -------------------------------------------------------------------------------------------

@pytest.mark.slow  # starts its own server, or waits out a timeout or a delay
def test_forwarded_for_is_ignored_unless_the_proxy_is_trusted(tmp_path, guarded):
    plain = ServerProcess(tmp_path / "plain", env={"SHOPDESK_LOGIN_RATE_PER_MIN": "3"}).start()
    try:
        codes = [requests.post(plain.url + "/login", json={"username": "x", "password": "y"}, timeout=10,
                               headers={"X-Forwarded-For": f"10.0.0.{i}"}).status_code for i in range(4)]
        assert codes == [401, 401, 401, 429]  # a new X-Forwarded-For each time does not make a new client
    finally:
        plain.stop()
    # behind a trusted proxy, the forwarded address is the client's: a locked-out address does not lock B
    shop = make_shop(guarded)
    for _ in range(2):
        requests.post(guarded.url + "/login", json={"username": shop.owner[0], "password": "nope"}, headers=A,
                      timeout=10)
    assert requests.post(guarded.url + "/login", json={"username": shop.owner[0], "password": shop.owner[1]},
                         headers=B, timeout=10).status_code == 200


@pytest.mark.slow  # starts its own server, or waits out a timeout or a delay
def test_the_embedded_server_never_believes_forwarded_for(tmp_path):
    from shopdesk.server.config import Settings
    from shopdesk.server.embedded import EmbeddedServer

    settings = Settings(data_dir=tmp_path / "emb", login_rate_per_min=2, trusted_proxies="127.0.0.1")
    with EmbeddedServer(settings) as server:
        codes = [requests.post(server.url + "/login", json={"username": "x", "password": "y"}, timeout=10,
                               headers={"X-Forwarded-For": f"10.0.0.{i}"}).status_code for i in range(3)]
    assert codes == [401, 401, 429]


# --- login guessing ------------------------------------------------------------------------------------

def _login(server, username, password, headers):
    return requests.post(server.url + "/login", json={"username": username, "password": password},
                         headers=headers, timeout=10)


@pytest.mark.slow  # starts its own server, or waits out a timeout or a delay
def test_guessing_locks_only_the_guessing_address_and_tells_the_shop(guarded):
    shop = make_shop(guarded)
    owner, pw = shop.owner
    ghost = f"nobody-{shop.shop_id}"
    for name in (owner, ghost):  # a real and an unknown username get the very same answers
        answers = []
        for attempt in range(5):
            r = _login(guarded, name, "wrong-guess", A)
            if r.status_code == 429 and attempt == 3:  # the third wrong password made the next one wait 1 s
                assert r.headers["retry-after"] in ("1", "2")
                time.sleep(int(r.headers["retry-after"]) + 0.1)
                r = _login(guarded, name, "wrong-guess", A)
            answers.append((r.status_code, r.json()["error"].split(" Try again")[0]))
        assert answers[:4] == [(401, "Wrong username or password.")] * 4, answers
        assert answers[4] == (429, "Too many wrong passwords for this username from your address."), answers
        assert "min" in _login(guarded, name, "wrong-guess", A).json()["error"]
    # the right password from the guessing address is refused too (the lock is for that pair) …
    assert _login(guarded, owner, pw, A).status_code == 429
    # … and the owner at the counter (another address) logs in as usual
    assert _login(guarded, owner, pw, B).status_code == 200
    from sqlalchemy import select

    from shopdesk.server.models import ShopEvent

    async def events(s):
        return (await s.scalars(select(ShopEvent).where(ShopEvent.shop_id == shop.shop_id))).all()

    notices = [e for e in run_db(guarded.db_url(), events) if e.action == "login.guessing"]
    assert len(notices) == 1
    assert notices[0].actor == "system" and notices[0].target == owner
    assert "203.0.113.7" in notices[0].detail and "wrong-guess" not in notices[0].detail


def test_a_disabled_login_gets_the_wrong_password_answer_unless_the_password_is_right(guarded):
    from sqlalchemy import update

    from shopdesk.server.models import User

    shop = make_shop(guarded)

    async def disable(s):
        await s.execute(update(User).where(User.username == shop.staff2[0]).values(active=False))

    run_db(guarded.db_url(), disable)
    r = _login(guarded, shop.staff2[0], "not-the-password", B)
    assert r.status_code == 401 and r.json()["error"] == "Wrong username or password."
    r = _login(guarded, shop.staff2[0], shop.staff2[1], B)  # whoever knows the password may learn why
    assert r.status_code == 403 and "disabled" in r.json()["error"]


# --- inputs that could overflow ------------------------------------------------------------------------

def test_dates_and_ids_that_could_overflow_are_clamped_or_400(api_server, api_shop):
    for q in ("from=0001-01-01T00:00:00%2B14:00", "to=9999-12-31T23:59:59-14:00",
              "from=0001-01-01T00:00:00Z&to=9999-12-31T23:59:59Z"):
        r = api_shop.get(f"/shop/history?{q}")
        assert r.status_code == 200, (q, r.text)
    assert api_shop.get("/shop/history?from=2026-01-01T00:00:00").status_code == 400
    from tests.helpers.server import login, make_user

    name = f"admin-{api_shop.shop_id}"
    make_user(api_server, name, "admin-password-1", "admin")
    h = {"Authorization": f"Bearer {login(api_server.url, name, 'admin-password-1')}"}
    r = requests.post(api_server.url + "/admin/payouts/settle", json={"shop_id": 2**70}, headers=h, timeout=10)
    assert r.status_code == 400 and "shop_id" in r.json()["error"]
    assert api_shop.get(f"/queue/download/{2**70}").status_code == 400


# --- slow and oversized requests -----------------------------------------------------------------------

def test_a_json_body_over_the_cap_is_413(guarded):
    r = requests.post(guarded.url + "/login", data=b'{"username": "' + b"x" * 70_000 + b'"}',
                      headers={"Content-Type": "application/json"}, timeout=10)
    assert r.status_code == 413 and "64 KB" in r.json()["error"]

    def chunks():  # no Content-Length: the cap is counted as the body arrives
        yield b'{"username": "'
        for _ in range(80):
            yield b"y" * 1000
        yield b'"}'

    r = requests.post(guarded.url + "/login", data=chunks(), headers={"Content-Type": "application/json"}, timeout=10)
    assert r.status_code == 413
    # only the upload routes stream multipart bodies; elsewhere the cap holds whatever the Content-Type
    r = requests.post(guarded.url + "/login", files={"f": ("x.pdf", b"x" * 70_000)}, timeout=10)
    assert r.status_code == 413


def _raw(server, data: bytes, wait: float) -> tuple[bytes, float]:
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(data)
        reply = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            reply += chunk
    return reply, time.monotonic() - started


@pytest.mark.slow  # starts its own server, or waits out a timeout or a delay
def test_slow_headers_and_a_stalled_body_are_cut_off(guarded):
    reply, took = _raw(guarded, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ", 1)
    assert reply.startswith(b"HTTP/1.1 408") and took < 5, (reply[:80], took)
    reply, took = _raw(guarded, b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                b"Content-Length: 50\r\n\r\n{\"username\"", 1)
    assert b" 408 " in reply.split(b"\r\n")[0] and b"stopped arriving" in reply and took < 5, (reply[:200], took)
    reply, took = _raw(guarded, b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=Q\r\n"
                                b"Content-Length: 5000\r\n\r\n--Q\r\n", 1)
    assert b" 408 " in reply.split(b"\r\n")[0] and took < 5, (reply[:200], took)


# --- stored files belong to their job ------------------------------------------------------------------

def test_a_printed_jobs_file_is_gone_even_while_another_shop_holds_the_same_bytes(api_server):
    a, b = make_shop(api_server), make_shop(api_server)
    data = pdf_bytes(2, text=f"shared {a.shop_id}")
    fa = a.upload(data)["files"][0]
    fb = b.upload(data)["files"][0]
    assert a.post(f"/queue/{fa['file_id']}/confirm").status_code == 200
    for path in (f"/queue/download/{fa['file_id']}", f"/file/{fa['code']}/content"):
        r = a.get(path)
        assert r.status_code == 404 and "no longer stored" in r.json()["error"]
    r = b.get(f"/queue/download/{fb['file_id']}")
    assert r.status_code == 200 and r.content == data
    assert r.headers["x-content-type-options"] == "nosniff"
