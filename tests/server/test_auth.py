"""Login, tokens, roles, lockout."""

from __future__ import annotations

import requests

from tests.helpers.server import ServerProcess, login, make_shop, make_user


def test_login_returns_a_token_that_opens_the_profile(api_shop):
    r = requests.post(api_shop.url + "/login", json={"username": api_shop.staff[0], "password": api_shop.staff[1]},
                      timeout=10)
    assert r.status_code == 200
    body = r.json()
    assert body["role"] == "staff" and body["shop_id"] == api_shop.shop_id and body["expires_at"].endswith("Z")
    prof = requests.get(api_shop.url + "/profile", headers={"Authorization": f"Bearer {body['token']}"}, timeout=10)
    assert prof.json()["shop_name"] == api_shop.name and prof.json()["username"] == api_shop.staff[0]


def test_tokens_are_stored_hashed_and_passwords_with_argon2(api_server, api_shop):
    token = api_shop.token()
    from sqlalchemy import select

    from shopdesk.server.models import Token, User
    from tests.helpers.server import run_db

    async def read(s):
        hashes = (await s.scalars(select(Token.token_hash))).all()
        pw = (await s.scalars(select(User.password_hash).where(User.username == api_shop.staff[0]))).one()
        return hashes, pw

    hashes, pw = run_db(api_server.db_url(), read)
    assert token not in hashes and all(len(h) == 64 for h in hashes)
    assert pw.startswith("$argon2id$") and api_shop.staff[1] not in pw


def test_wrong_password_and_unknown_user_get_the_same_401(api_server):
    """(Delays and the per-address lock: tests/server/test_abuse.py.)"""
    shop = make_shop(api_server)
    r = requests.post(api_server.url + "/login", json={"username": shop.staff[0], "password": "wrong-one"}, timeout=10)
    assert r.status_code == 401 and r.json()["error"] == "Wrong username or password."
    r = requests.post(api_server.url + "/login", json={"username": "nobody-here", "password": "x"}, timeout=10)
    assert r.status_code == 401 and r.json()["error"] == "Wrong username or password."


def test_logout_revokes_the_token(api_shop):
    token = login(api_shop.url, *api_shop.staff)
    h = {"Authorization": f"Bearer {token}"}
    assert requests.post(api_shop.url + "/logout", headers=h, timeout=10).status_code == 200
    r = requests.get(api_shop.url + "/queue", headers=h, timeout=10)
    assert r.status_code == 401 and "revoked" in r.json()["error"]


def test_missing_and_garbage_tokens_are_401(api_shop):
    assert requests.get(api_shop.url + "/queue", timeout=10).status_code == 401
    r = requests.get(api_shop.url + "/queue", headers={"Authorization": "Bearer not-a-token"}, timeout=10)
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"


def test_expired_token_is_401_with_log_in_again(tmp_path):
    server = ServerProcess(tmp_path / "srv", env={"SHOPDESK_TOKEN_TTL_SECONDS": "1"}).start()
    try:
        shop = make_shop(server)
        token = shop.token()
        from tests.helpers.wait import wait_until

        def answer():  # good until its 1 s have passed, then 401 for good
            return requests.get(server.url + "/queue", headers={"Authorization": f"Bearer {token}"}, timeout=10)

        assert answer().status_code == 200
        # (a list: a 401 Response is falsy)
        [r] = wait_until(lambda: [a] if (a := answer()).status_code != 200 else None, timeout=10, interval=0.1,
                         what="the token to expire")
        assert r.status_code == 401 and "expired" in r.json()["error"]
    finally:
        server.stop()


def test_roles_are_enforced(api_server, api_shop):
    # staff cannot open/close the shop or see payouts; owner can
    assert api_shop.post("/shop/status", json={"is_open": True}).status_code == 403
    assert api_shop.get("/shopkeeper/payouts").status_code == 403
    assert api_shop.post("/shop/status", who="owner", json={"is_open": True}).status_code == 200
    assert api_shop.get("/shopkeeper/payouts", who="owner").status_code == 200
    assert api_shop.post("/admin/payouts/settle", who="owner").status_code == 403
    # a customer can upload but not see the queue
    name = f"cust{api_shop.shop_id}"
    make_user(api_server, name, "customer-pass-1", "customer")
    ctoken = login(api_server.url, name, "customer-pass-1")
    ch = {"Authorization": f"Bearer {ctoken}"}
    assert requests.get(api_server.url + "/queue", headers=ch, timeout=10).status_code == 403
    r = api_shop.upload_response(("c.pdf", b"%PDF-1.4\n"), headers=ch)
    assert r.status_code == 400  # allowed to upload; this file is just broken
    from tests.helpers.pdfs import pdf_bytes

    ok = api_shop.upload_response(("c.pdf", pdf_bytes(1)), headers=ch)
    assert ok.status_code == 200
    order = api_shop.get("/queue").json()[0]
    assert order["customer_name"] == name
    # staff may not upload as a customer
    assert api_shop.upload_response(("c.pdf", pdf_bytes(1)), headers=api_shop.headers()).status_code == 403
