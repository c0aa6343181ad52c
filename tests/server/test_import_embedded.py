"""`shopdesk-server import-embedded`: a one-counter shop moves from the app's embedded server (SQLite and
its files folder) onto a PostgreSQL server that already serves another shop — every row arrives."""

from __future__ import annotations

import requests
from sqlalchemy import create_engine, select

from shopdesk.server.config import to_sync_url
from shopdesk.server.models import (
    AuditEntry,
    Job,
    LedgerEntry,
    Order,
    Payout,
    Shop,
    ShopEvent,
    ShopPrice,
    User,
)
from tests.helpers.pdfs import pdf_bytes
from tests.helpers.server import ServerProcess, login, make_shop, make_user


def _snapshot(url: str, shop_name: str) -> dict:
    """Everything of one shop, keyed by what survives a move (names, codes), without database ids."""
    engine = create_engine(to_sync_url(url))
    try:
        with engine.connect() as c:
            shop = c.execute(select(Shop).where(Shop.name == shop_name)).mappings().one()
            sid = shop["id"]
            users = {u["id"]: u["username"] for u in c.execute(select(User).where(User.shop_id == sid)).mappings()}
            jobs = {j["id"]: j for j in c.execute(select(Job).where(Job.shop_id == sid)).mappings()}
            orders = {o["id"]: o for o in c.execute(select(Order).where(Order.shop_id == sid)).mappings()}
            payouts = {p["id"]: p for p in c.execute(select(Payout).where(Payout.shop_id == sid)).mappings()}

            def strip(row, *drop):
                return {k: v for k, v in row.items() if k not in ("id", "shop_id", *drop)}

            return {
                "shop": strip(shop),
                "prices": sorted(tuple(strip(p).values()) for p in c.execute(
                    select(ShopPrice).where(ShopPrice.shop_id == sid)).mappings()),
                "users": sorted((u["username"], u["password_hash"], u["role"], u["active"]) for u in c.execute(
                    select(User).where(User.shop_id == sid)).mappings()),
                "jobs": {j["code"]: (strip(j, "order_id"), strip(orders[j["order_id"]], "customer_id"))
                         for j in jobs.values()},
                # the audit's order id has no foreign key: it must still point at the job's own order
                "audit": sorted(((jobs[a["file_id"]]["code"], a["move"], a["from_status"], a["to_status"], a["actor"],
                                  a["counter"], a["reason"], str(a["at"]),
                                  a["order_id"] == jobs[a["file_id"]]["order_id"])
                                 for a in c.execute(select(AuditEntry).where(AuditEntry.shop_id == sid)).mappings()),
                                key=repr),
                "ledger": sorted(((jobs[e["file_id"]]["code"] if e["file_id"] else None, e["kind"], e["amount_cents"],
                                  str(payouts[e["payout_id"]]["period_end"]) if e["payout_id"] else None)
                                 for e in c.execute(select(LedgerEntry).where(LedgerEntry.shop_id == sid)).mappings()),
                                key=repr),
                "payouts": sorted((str(p["period_end"]), p["amount_cents"], p["status"]) for p in payouts.values()),
                "events": sorted((e["action"], e["target"], e["actor"]) for e in c.execute(
                    select(ShopEvent).where(ShopEvent.shop_id == sid)).mappings()),
                "user_ids": users,
            }
    finally:
        engine.dispose()


def test_a_shop_moves_from_the_embedded_server_to_postgresql_with_every_row(tmp_path, postgres):
    embedded = ServerProcess(tmp_path / "embedded").start()
    try:
        shop = make_shop(embedded, name="Corner Copy")
        waiting = [shop.upload(pdf_bytes(n), name=f"w{n}.pdf", customer_name="Asha") for n in (1, 2, 3)]
        printed = shop.upload(pdf_bytes(4), name="printed.pdf", copies=2)["files"][0]
        failed_then_printed = shop.upload(pdf_bytes(2), name="retry.pdf")["files"][0]
        cancelled = shop.upload(pdf_bytes(1), name="cancel.pdf")["files"][0]
        assert shop.post(f"/queue/{printed['file_id']}/print-started", json={"counter": "C1"}).status_code == 200
        assert shop.post(f"/queue/{printed['file_id']}/confirm").status_code == 200
        fid = failed_then_printed["file_id"]
        shop.post(f"/queue/{fid}/print-started", json={"counter": "C1"})
        shop.post(f"/queue/{fid}/print-failed", json={"reason": "paper jam"})
        shop.post(f"/queue/{fid}/print-started", json={"counter": "C1"})
        shop.post(f"/queue/{fid}/confirm")
        shop.post(f"/queue/{cancelled['file_id']}/cancel", json={"reason": "customer asked"})
        assert shop.put("/shop/prices", who="owner", json={"prices": [
            {"color_mode": c, "paper_size": p, "price": 3} for c in ("bw", "color")
            for p in ("A4", "A3", "Letter", "Legal")]}).status_code == 200
        make_user(embedded, "platform-admin", "admin-password-1", "admin")
        admin = {"Authorization": f"Bearer {login(embedded.url, 'platform-admin', 'admin-password-1')}"}


        r = requests.post(embedded.url + "/admin/payouts/settle", json={"shop_id": shop.shop_id}, headers=admin,
                          timeout=10)
        assert r.status_code == 200, r.text
        before = _snapshot(embedded.db_url(), "Corner Copy")
    finally:
        embedded.stop()

    target = ServerProcess(tmp_path / "central", database_url=postgres.create_database("central")).start()
    try:
        other = make_shop(target, name="Another branch")  # ids in the target are taken already
        other.upload(pdf_bytes(1), name="theirs.pdf")
        target.stop()
        out = target.cli("import-embedded", "--from", str(tmp_path / "embedded"))
        assert "Imported the shop" in out.stdout, out.stdout + out.stderr
        after = _snapshot(target.db_url(), "Corner Copy")
        for part in ("shop", "prices", "users", "jobs", "audit", "ledger", "payouts", "events"):
            assert after[part] == before[part], part
        assert len(after["jobs"]) == 6 and len(after["ledger"]) >= 3 and after["payouts"]

        # the moved shop works on its new server: logins, queue, files
        target.start()
        token = login(target.url, *shop.owner)
        queue = requests.get(target.url + "/queue", headers={"Authorization": f"Bearer {token}"}, timeout=10).json()
        codes = {f["code"] for o in queue for f in o["files"]}
        assert codes == {w["files"][0]["code"] for w in waiting}
        fid = queue[0]["files"][0]["file_id"]
        r = requests.get(target.url + f"/queue/download/{fid}", headers={"Authorization": f"Bearer {token}"},
                         timeout=10)
        assert r.status_code == 200 and r.content.startswith(b"%PDF")

        # a second import finds every username taken and writes nothing
        target.stop()
        again = target.cli("import-embedded", "--from", str(tmp_path / "embedded"), check=False)
        assert again.returncode == 1 and "already exists" in again.stderr
        assert _snapshot(target.db_url(), "Corner Copy")["jobs"] == after["jobs"]
        missing = target.cli("import-embedded", "--from", str(tmp_path / "nowhere"), check=False)
        assert missing.returncode == 1 and "No embedded shop database" in missing.stderr
    finally:
        target.stop()
