"""The owner's controls (profile, prices, logins, the shop's audit trail) and first-run setup, on SQLite
and PostgreSQL, over HTTP against the real server process."""

from __future__ import annotations

import uuid

import pytest
import requests

from tests.helpers.pdfs import pdf_bytes
from tests.helpers.server import ServerProcess, login, make_shop, make_user

ALL_PRICES = [{"color_mode": c, "paper_size": p, "price": price}
              for c, base in (("bw", 2), ("color", 15)) for p, price in
              (("A4", base), ("A3", base * 2), ("Letter", base), ("Legal", base + 0.5))]


def prices_of(shop_json: dict) -> dict:
    return {(p["color_mode"], p["paper_size"]): p["price"] for p in shop_json["prices"]}


def test_owner_updates_the_shop_profile_and_it_is_audited(api_shop):
    r = api_shop.put("/shop", who="owner", json={"name": "  Corner   Copy ", "address": "12 Main Road",
                                                 "phone": "+91 98450 00000", "hours": "Mon–Sat 9–19"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["name"], body["address"], body["phone"], body["hours"]) == (
        "Corner Copy", "12 Main Road", "+91 98450 00000", "Mon–Sat 9–19")
    assert api_shop.get("/shop").json()["address"] == "12 Main Road"  # staff see it too
    # only the fields given change
    assert api_shop.put("/shop", who="owner", json={"phone": "123"}).json()["name"] == "Corner Copy"
    events = api_shop.get("/shop/events", who="owner").json()
    assert events[0]["action"] == "profile.update" and "'123'" in events[0]["detail"]
    assert events[0]["actor"] == api_shop.owner[0]


def test_profile_refuses_an_empty_name_and_staff(api_shop):
    r = api_shop.put("/shop", who="owner", json={"name": "   "})
    assert r.status_code == 400 and r.json()["error"].startswith("name:")
    assert api_shop.put("/shop", who="staff", json={"name": "Mine now"}).status_code == 403
    assert api_shop.get("/shop").json()["name"] == api_shop.name


def test_new_prices_apply_to_new_uploads_and_quotes_but_not_to_waiting_jobs(api_shop):
    before = api_shop.upload(pdf_bytes(3))
    assert before["total_cost"] == 3.0
    r = api_shop.put("/shop/prices", who="owner", json={"prices": ALL_PRICES})
    assert r.status_code == 200, r.text
    assert {(p["color_mode"], p["paper_size"]): p["price"] for p in r.json()}[("bw", "Legal")] == 2.5
    assert prices_of(api_shop.get("/shop").json())[("color", "A3")] == 30.0
    after = api_shop.upload(pdf_bytes(3), copies=2)
    assert after["total_cost"] == 12.0
    quote = requests.post(api_shop.url + "/calculate-cost", data={"shop_id": api_shop.shop_id, "color_mode": "color"},
                          files=[("files[]", ("a.pdf", pdf_bytes(2)))], timeout=10).json()
    assert quote["total_cost"] == 30.0
    waiting = api_shop.get(f"/file/{before['files'][0]['code']}").json()
    assert waiting["cost"] == 3.0
    event = api_shop.get("/shop/events", who="owner").json()[0]
    assert event["action"] == "prices.update" and "bw A4 1.00 → 2.00" in event["detail"]


def test_price_table_validation_reports_every_problem(api_shop):
    partial = [p for p in ALL_PRICES if p["paper_size"] != "Legal"]
    r = api_shop.put("/shop/prices", who="owner", json={"prices": partial})
    assert r.status_code == 400 and r.json()["error"].startswith("prices:")  # the table has 8 prices
    eight_but_one_twice = partial + [partial[0], partial[1]]
    r = api_shop.put("/shop/prices", who="owner", json={"prices": eight_but_one_twice})
    assert r.status_code == 400
    assert "prices.bw.Legal: missing" in r.json()["error"] and "prices.color.Legal: missing" in r.json()["error"]
    assert "given twice" in r.json()["error"]
    bad = [dict(p) for p in ALL_PRICES]
    bad[0]["price"] = -1
    bad[1]["price"] = 10000.01
    bad[2]["price"] = 1.234
    r = api_shop.put("/shop/prices", who="owner", json={"prices": bad})
    assert r.status_code == 400
    assert r.json()["error"].count(";") >= 2, r.json()["error"]
    nine = ALL_PRICES + [ALL_PRICES[0]]
    assert api_shop.put("/shop/prices", who="owner", json={"prices": nine}).status_code == 400
    assert api_shop.put("/shop/prices", who="staff", json={"prices": ALL_PRICES}).status_code == 403
    assert prices_of(api_shop.get("/shop").json())[("bw", "A4")] == 1.0  # nothing changed


def test_owner_adds_a_staff_login_that_can_then_log_in(api_shop):
    name = f"ravi{uuid.uuid4().hex[:6]}"
    r = api_shop.post("/shop/staff", who="owner", json={"username": name, "password": "long-enough-1",
                                                         "full_name": "Ravi Kumar"})
    assert r.status_code == 201, r.text
    assert r.json()["role"] == "staff" and r.json()["active"] is True
    token = login(api_shop.url, name, "long-enough-1")
    me = requests.get(api_shop.url + "/profile", headers={"Authorization": f"Bearer {token}"}, timeout=10).json()
    assert me["shop_id"] == api_shop.shop_id and me["full_name"] == "Ravi Kumar"
    staff = api_shop.get("/shop/staff", who="owner").json()
    mine = next(u for u in staff if u["username"] == name)
    assert mine["last_login_at"] is not None
    assert {u["username"] for u in staff} >= {api_shop.owner[0], api_shop.staff[0], name}
    # taken (case-insensitively), weak, and staff may not add logins
    r = api_shop.post("/shop/staff", who="owner", json={"username": name.upper(), "password": "long-enough-1"})
    assert r.status_code == 409 and "taken" in r.json()["error"]
    r = api_shop.post("/shop/staff", who="owner", json={"username": "x y", "password": "short"})
    assert r.status_code == 400 and "password:" in r.json()["error"]  # the documented limits first
    r = api_shop.post("/shop/staff", who="owner", json={"username": "x y", "password": "x y"*4})
    assert r.status_code == 400 and "username:" in r.json()["error"]  # then the rules across fields
    assert api_shop.post("/shop/staff", who="staff", json={"username": "sneaky1", "password": "long-enough-1"}
                         ).status_code == 403
    assert api_shop.get("/shop/events", who="owner").json()[0]["action"] == "staff.add"


def test_a_name_with_letters_beyond_ascii_is_taken_once_and_can_log_in(api_shop):
    """SQLite's lower() folds only ASCII: 'Óscar' twice was a unique-constraint 500 (found by schemathesis)."""
    name = f"Óscar{uuid.uuid4().hex[:4]}"
    body = {"username": name, "password": "long-enough-1"}
    assert api_shop.post("/shop/staff", who="owner", json=body).status_code == 201
    again = api_shop.post("/shop/staff", who="owner", json=body)
    assert again.status_code == 409 and "taken" in again.json()["error"]
    login(api_shop.url, name, "long-enough-1")


def test_disabling_a_login_revokes_its_token_at_once(api_shop):
    token = api_shop.token("staff2")
    staff = api_shop.get("/shop/staff", who="owner").json()
    uid = next(u["id"] for u in staff if u["username"] == api_shop.staff2[0])
    r = api_shop.put(f"/shop/staff/{uid}", who="owner", json={"active": False})
    assert r.status_code == 200 and r.json()["active"] is False
    r = requests.get(api_shop.url + "/queue", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert r.status_code == 401
    r = requests.post(api_shop.url + "/login", json=dict(zip(("username", "password"), api_shop.staff2, strict=True)),
                      timeout=10)
    assert r.status_code == 403 and "disabled" in r.json()["error"]
    assert api_shop.put(f"/shop/staff/{uid}", who="owner", json={"active": True}).json()["active"] is True
    login(api_shop.url, *api_shop.staff2)


def test_password_reset_ends_old_sessions_and_the_new_password_works(api_shop):
    old_token = api_shop.token("staff")
    uid = next(u["id"] for u in api_shop.get("/shop/staff", who="owner").json() if u["username"] == api_shop.staff[0])
    assert api_shop.put(f"/shop/staff/{uid}", who="owner", json={"password": "short"}).status_code == 400
    assert api_shop.put(f"/shop/staff/{uid}", who="owner", json={"password": "a-brand-new-pass"}).status_code == 200
    assert requests.get(api_shop.url + "/queue", headers={"Authorization": f"Bearer {old_token}"},
                        timeout=10).status_code == 401
    login(api_shop.url, api_shop.staff[0], "a-brand-new-pass")
    actions = [e["action"] for e in api_shop.get("/shop/events", who="owner").json()]
    assert "staff.password" in actions


def test_a_password_is_kept_exactly_as_given(api_shop):
    """A NUL in a name becomes U+FFFD (PostgreSQL cannot store it); a password is only hashed, so it keeps
    every character it was set with and logs in only as set."""
    uid = next(u["id"] for u in api_shop.get("/shop/staff", who="owner").json() if u["username"] == api_shop.staff[0])
    odd = "pass\x00word-1"[:10]
    assert len(odd) == 10
    answer = api_shop.put(f"/shop/staff/{uid}", who="owner", json={"password": odd})
    assert answer.status_code == 200, answer.text
    login(api_shop.url, api_shop.staff[0], odd)
    assert requests.post(api_shop.url + "/login", json={"username": api_shop.staff[0],
                                                        "password": odd.replace("\x00", "")},
                         timeout=10).status_code == 401
    renamed = api_shop.put(f"/shop/staff/{uid}", who="owner", json={"full_name": "\x00"})
    assert renamed.status_code == 200 and renamed.json()["full_name"] == "\ufffd", renamed.text


def test_the_last_active_owner_can_be_neither_disabled_nor_demoted(api_shop):
    staff = api_shop.get("/shop/staff", who="owner").json()
    owner_id = next(u["id"] for u in staff if u["role"] == "owner")
    for change in ({"active": False}, {"role": "staff"}):
        r = api_shop.put(f"/shop/staff/{owner_id}", who="owner", json=change)
        assert r.status_code == 409 and "last active owner" in r.json()["error"]
    # with a second owner, the first may step down
    second = f"boss{uuid.uuid4().hex[:6]}"
    r = api_shop.post("/shop/staff", who="owner", json={"username": second, "password": "second-owner-pw",
                                                         "role": "owner"})
    assert r.status_code == 201
    assert api_shop.put(f"/shop/staff/{owner_id}", who="owner", json={"role": "staff"}).status_code == 200


def test_owners_cannot_touch_another_shops_logins_and_admins_act_with_shop_id(api_server, api_shop):
    other = make_shop(api_server)
    their_staff = next(u["id"] for u in other.get("/shop/staff", who="owner").json() if u["role"] == "staff")
    r = api_shop.put(f"/shop/staff/{their_staff}", who="owner", json={"active": False})
    assert r.status_code == 404
    assert api_shop.get(f"/shop/staff?shop_id={other.shop_id}", who="owner").status_code == 403
    assert api_shop.put(f"/shop?shop_id={other.shop_id}", who="owner", json={"name": "Taken"}).status_code == 403
    admin = f"admin{uuid.uuid4().hex[:6]}"
    make_user(api_server, admin, "admin-password-1", "admin")
    headers = {"Authorization": f"Bearer {login(api_server.url, admin, 'admin-password-1')}"}
    assert requests.get(api_server.url + "/shop/staff", headers=headers, timeout=10).status_code == 403
    r = requests.put(api_server.url + f"/shop?shop_id={other.shop_id}", json={"hours": "24/7"}, headers=headers,
                     timeout=10)
    assert r.status_code == 200 and r.json()["hours"] == "24/7"
    assert other.get("/shop/events", who="owner").json()[0]["actor"] == admin


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_server(request, tmp_path):
    """An empty server (no shop yet) that takes first-run setup with a known key."""
    url = None
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres").create_database(f"setup{uuid.uuid4().hex[:8]}")
    server = ServerProcess(tmp_path / "srv", database_url=url, env={"SHOPDESK_SETUP_KEY": "k3y-for-tests"}).start()
    yield server
    server.stop()


SETUP = {"shop": {"name": "Corner Copy", "address": "12 Main Road", "phone": "+91 98450 00000"},
         "owner": {"username": "meena", "full_name": "Meena R", "password": "owner-pass-123"},
         "prices": ALL_PRICES,
         "staff": {"username": "ravi", "full_name": "Ravi", "password": "staff-pass-123"}}


def test_first_run_setup_creates_the_shop_and_its_owner_once(fresh_server):
    url = fresh_server.url
    assert requests.get(url + "/setup", timeout=10).json() == {"needed": True, "allowed": True}
    assert requests.post(url + "/setup", json=SETUP, timeout=10).status_code == 403  # no key
    assert requests.post(url + "/setup", json=SETUP, headers={"Setup-Key": "guess"}, timeout=10).status_code == 403
    r = requests.post(url + "/setup", json=SETUP, headers={"Setup-Key": "k3y-for-tests"}, timeout=10)
    assert r.status_code == 200, r.text
    me = r.json()
    assert me["role"] == "owner" and me["username"] == "meena"
    auth = {"Authorization": f"Bearer {me['token']}"}
    shop = requests.get(url + "/shop", headers=auth, timeout=10).json()
    assert shop["name"] == "Corner Copy" and prices_of(shop)[("color", "A3")] == 30.0 and shop["is_open"] is False
    login(url, "ravi", "staff-pass-123")
    assert requests.get(url + "/setup", timeout=10).json()["needed"] is False
    again = requests.post(url + "/setup", json=SETUP, headers={"Setup-Key": "k3y-for-tests"}, timeout=10)
    assert again.status_code == 409
    events = requests.get(url + "/shop/events", headers=auth, timeout=10).json()
    assert {e["action"] for e in events} >= {"shop.setup", "staff.add"}


def test_setup_reports_every_problem_and_creates_nothing(fresh_server):
    def problems(body):
        r = requests.post(fresh_server.url + "/setup", json=body, headers={"Setup-Key": "k3y-for-tests"}, timeout=10)
        assert r.status_code == 400
        return r.json()["error"]

    # what the documented schema says, all at once
    error = problems({"shop": {"name": ""}, "owner": {"username": "meena", "password": "short"},
                      "prices": ALL_PRICES[:3]})
    for field in ("shop.name:", "owner.password:", "prices:"):
        assert field in error, error
    # then the rules across fields, all at once
    error = problems({"shop": {"name": " "}, "owner": {"username": "meenarao10", "password": "MeenaRao10"},
                      "prices": ALL_PRICES[:7] + [ALL_PRICES[0]],
                      "staff": {"username": "MEENARAO10", "password": "staff-pass-123"}})
    for field in ("shop.name:", "owner.password:", "prices.color.Legal:", "staff.username:"):
        assert field in error, error
    assert requests.get(fresh_server.url + "/setup", timeout=10).json()["needed"] is True
    r = requests.post(fresh_server.url + "/login", json={"username": "meenarao10", "password": "MeenaRao10"},
                      timeout=10)
    assert r.status_code == 401


def test_a_server_without_a_setup_key_refuses_setup(api_server):
    r = requests.post(api_server.url + "/setup", json=SETUP, headers={"Setup-Key": ""}, timeout=10)
    assert r.status_code == 403 and "create-shop" in r.json()["error"]
    assert requests.get(api_server.url + "/setup", timeout=10).json()["allowed"] is False
