"""Ledger, payouts, earnings series, admin settle/update/export — exact arithmetic."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from tests.helpers.pdfs import pdf_bytes
from tests.helpers.server import login, make_shop, make_user

D = Decimal


def _admin_headers(server) -> dict:
    name = f"admin{id(server)}"
    try:
        make_user(server, name, "admin-password-1", "admin")
    except ValueError:
        pass
    return {"Authorization": f"Bearer {login(server.url, name, 'admin-password-1')}"}


def test_commission_settle_pay_and_export(api_server):
    import requests

    shop = make_shop(api_server, commission_bp=1250)  # 12.5 %
    jobs = [shop.upload(pdf_bytes(p), copies=c, color_mode=m)["files"][0]
            for p, c, m in ((3, 1, "bw"), (1, 3, "color"), (7, 1, "bw"))]
    for j in jobs[:2]:
        assert shop.post(f"/queue/{j['file_id']}/confirm").status_code == 200
    # commission rounds half up: 3.00 − 0.38 = 2.62; 30.00 − 3.75 = 26.25
    totals = shop.get("/shopkeeper/payouts", who="owner").json(parse_float=D)["totals"]
    assert totals == {"unsettled": D("28.87"), "pending": D("0.00"), "paid": D("0.00")}
    series = shop.get("/shopkeeper/earnings?group_by=day", who="owner").json(parse_float=D)
    assert len(series) == 1 and series[0]["jobs"] == 2 and series[0]["pages"] == 6
    assert series[0]["amount"] == D("28.87")
    week = shop.get("/shopkeeper/earnings?group_by=week", who="owner").json()
    assert "-W" in week[0]["period"]

    admin = _admin_headers(api_server)
    r = requests.post(api_server.url + "/admin/payouts/settle", json={"shop_id": shop.shop_id}, headers=admin, timeout=10)
    assert r.status_code == 200
    [payout] = r.json(parse_float=D)["payouts"]
    assert payout["amount"] == D("28.87") and payout["status"] == "pending"
    # settling again finds nothing new
    again = requests.post(api_server.url + "/admin/payouts/settle", json={"shop_id": shop.shop_id}, headers=admin,
                          timeout=10)
    assert again.json()["payouts"] == []
    totals = shop.get("/shopkeeper/payouts", who="owner").json(parse_float=D)["totals"]
    assert totals == {"unsettled": D("0.00"), "pending": D("28.87"), "paid": D("0.00")}
    # a third job confirmed later is unsettled again
    shop.post(f"/queue/{jobs[2]['file_id']}/confirm")
    r = requests.put(f"{api_server.url}/admin/payouts/{payout['id']}", json={"status": "paid"}, headers=admin, timeout=10)
    assert r.status_code == 200 and r.json()["paid_at"]
    assert requests.put(f"{api_server.url}/admin/payouts/{payout['id']}", json={"status": "processing"},
                        headers=admin, timeout=10).status_code == 409
    assert requests.put(f"{api_server.url}/admin/payouts/999999", json={"status": "paid"},
                        headers=admin, timeout=10).status_code == 404
    totals = shop.get("/shopkeeper/payouts", who="owner").json(parse_float=D)["totals"]
    assert totals == {"unsettled": D("6.12"), "pending": D("0.00"), "paid": D("28.87")}
    csv_text = requests.get(api_server.url + "/admin/payouts/export", headers=admin, timeout=10).text
    rows = [r for r in csv.DictReader(io.StringIO(csv_text)) if r["payout_id"] == str(payout["id"])]
    assert rows[0]["amount"] == "28.87" and rows[0]["status"] == "paid" and rows[0]["shop_name"] == shop.name


def test_refunds_are_ledger_rows_once_per_file(api_server):
    from sqlalchemy import select

    from shopdesk.server.models import LedgerEntry
    from tests.helpers.server import run_db

    shop = make_shop(api_server)
    up = shop.upload(pdf_bytes(2), copies=2)
    f = up["files"][0]
    shop.post(f"/queue/{f['file_id']}/cancel", json={"reason": "no toner"})
    shop.post(f"/queue/{f['file_id']}/cancel", json={"reason": "no toner"})

    async def rows(s):
        return (await s.execute(select(LedgerEntry.kind, LedgerEntry.amount_cents)
                                .where(LedgerEntry.file_id == f["file_id"]))).all()

    assert [tuple(r) for r in run_db(api_server.db_url(), rows)] == [("refund", 400)]
    assert shop.get("/shopkeeper/payouts", who="owner").json()["totals"]["unsettled"] == 0
