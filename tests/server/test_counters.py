"""Each counter heartbeats as itself (#14): its row, the counters list, and the per-counter sweep — a job
printing at a counter that stopped answering goes back to the queue while other counters' jobs stay.
Auto-pause by capability (#18): uploads and quotes refused in words for settings no ready printer can do,
and the shop paused (not closed) while none is ready. Every test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import requests

from shopdesk.domain.availability import COLOUR_UNAVAILABLE, DUPLEX_UNAVAILABLE, PAUSED_WORDS
from tests.helpers.pdfs import pdf_bytes
from tests.helpers.server import run_db, run_server_step


def printer(name: str, ready: bool = True, *, color: bool = False, duplex: bool = False,
            paper_sizes=("A4",), reason: str = "") -> dict:
    return {"name": name, "ready": ready, "reason": reason, "color": color, "duplex": duplex,
            "paper_sizes": list(paper_sizes)}


def beat(shop, counter: str, printers: list[dict] | None, who: str = "staff", version: str = "0.1.0"):
    body = {"counter": counter, "version": version}
    if printers is not None:
        body["printers"] = printers
    r = shop.post("/shop/heartbeat", who=who, json=body)
    assert r.status_code == 200, r.text
    return r.json()


def upload_status(shop, **settings) -> requests.Response:
    return shop.upload_response(("doc.pdf", pdf_bytes(1)), **settings)


def quote(shop, **settings) -> requests.Response:
    form = {"shop_id": str(shop.shop_id), **{k: str(v) for k, v in settings.items()}}
    return requests.post(shop.url + "/calculate-cost", data=form, timeout=30,
                         files=[("files[]", ("doc.pdf", pdf_bytes(1), "application/pdf"))])


def age_counter(shop, counter: str, seconds: int) -> None:
    """The counter was last heard from `seconds` ago (as if it had stopped then)."""
    from sqlalchemy import update

    from shopdesk.server.models import Counter

    async def go(s):
        await s.execute(update(Counter).where(Counter.shop_id == shop.shop_id, Counter.name == counter)
                        .values(last_seen_at=datetime.now(UTC) - timedelta(seconds=seconds)))

    run_db(shop.server.db_url(), go)


def test_an_empty_heartbeat_works_as_before_and_names_no_counter(api_shop):
    r = api_shop.post("/shop/heartbeat")
    assert r.status_code == 200 and r.json()["is_open"] is True
    assert r.json()["paused"] is False and r.json()["unavailable"] == []
    listed = api_shop.get("/shop/counters").json()
    assert listed == {"counters": [], "paused": False, "unavailable": []}
    assert upload_status(api_shop, color_mode="color", print_mode="double", paper_size="A3").status_code == 200


def test_each_counter_heartbeats_as_itself_and_is_listed(api_shop):
    beat(api_shop, "Front", [printer("Mono", duplex=True), printer("Colour", False, color=True, reason="out of toner")])
    beat(api_shop, "Back", None, who="staff2", version="0.0.9")
    shop = beat(api_shop, "Front", [printer("Mono", duplex=True)], version="0.1.1")  # an update, not a second row
    assert shop["is_open"] is True
    listed = api_shop.get("/shop/counters", who="owner").json()
    by_name = {c["counter"]: c for c in listed["counters"]}
    assert set(by_name) == {"Front", "Back"}
    front, back = by_name["Front"], by_name["Back"]
    assert front["version"] == "0.1.1" and front["state"] == "live" and front["last_seen_at"].endswith("Z")
    assert front["printers"] == [printer("Mono", duplex=True)]
    assert back["printers"] is None and back["version"] == "0.0.9"
    # a heartbeat that names no counter is the login's own
    assert api_shop.post("/shop/heartbeat", json={"printers": []}).status_code == 200
    assert api_shop.staff[0] in {c["counter"] for c in api_shop.get("/shop/counters").json()["counters"]}
    # staff and owner may look; a customer may not
    assert requests.get(api_shop.url + "/shop/counters", timeout=10).status_code == 401


def test_a_bad_heartbeat_is_refused_in_words_and_changes_nothing(api_shop):
    beat(api_shop, "Front", [printer("Mono")])
    for body in ({"counter": "Front", "printers": [{"name": "Mono", "ready": "yes"}]},
                 {"counter": "Front", "printers": [printer("Mono", paper_sizes=["A5"])]},
                 {"counter": "x" * 121},
                 {"counter": "Front", "printers": [{"ready": True}]}):
        r = api_shop.post("/shop/heartbeat", json=body)
        assert r.status_code == 400 and r.json()["error"], body
    assert api_shop.get("/shop/counters").json()["counters"][0]["printers"] == [printer("Mono")]


def test_settings_no_ready_printer_can_do_are_refused_in_words(api_shop):
    beat(api_shop, "Front", [printer("Mono", paper_sizes=["A4", "Letter"]),
                             printer("Colour", False, color=True, duplex=True, paper_sizes=["A4", "A3"])])
    shop = api_shop.get("/shop").json()
    assert shop["paused"] is False
    assert COLOUR_UNAVAILABLE in shop["unavailable"] and DUPLEX_UNAVAILABLE in shop["unavailable"]
    assert "A3 paper is unavailable right now" in shop["unavailable"]
    assert "A4 paper is unavailable right now" not in shop["unavailable"]
    for settings, words in (({"color_mode": "color"}, COLOUR_UNAVAILABLE),
                            ({"print_mode": "double"}, DUPLEX_UNAVAILABLE),
                            ({"paper_size": "A3"}, "A3 paper is unavailable right now")):
        r = upload_status(api_shop, **settings)
        assert r.status_code == 409 and r.json()["error"].startswith(words), r.text
        q = quote(api_shop, **settings)
        assert q.status_code == 409 and q.json()["error"] == r.json()["error"]
    assert upload_status(api_shop, paper_size="Letter").status_code == 200
    assert quote(api_shop).status_code == 200
    # the colour printer is back: colour is taken again
    beat(api_shop, "Front", [printer("Mono", paper_sizes=["A4", "Letter"]),
                             printer("Colour", True, color=True, duplex=True, paper_sizes=["A4", "A3"])])
    assert upload_status(api_shop, color_mode="color", print_mode="double", paper_size="A3").status_code == 200
    assert api_shop.get("/shop").json()["unavailable"] == ["Legal paper is unavailable right now"]


def test_settings_one_printer_cannot_do_together_are_refused(api_shop):
    beat(api_shop, "Front", [printer("Colour", color=True), printer("Duplex", duplex=True)])
    r = upload_status(api_shop, color_mode="color", print_mode="double")
    assert r.status_code == 409 and "Colour double-sided printing on A4 is unavailable right now" in r.json()["error"]
    assert upload_status(api_shop, color_mode="color").status_code == 200


def test_capabilities_come_from_every_live_counter_and_silent_ones_do_not_count(api_shop):
    beat(api_shop, "Front", [printer("Mono")])
    beat(api_shop, "Back", [printer("Colour", color=True)], who="staff2")
    assert upload_status(api_shop, color_mode="color").status_code == 200  # Back's printer does it
    age_counter(api_shop, "Back", 3600)
    listed = {c["counter"]: c["state"] for c in api_shop.get("/shop/counters").json()["counters"]}
    assert listed == {"Front": "live", "Back": "silent"}
    r = upload_status(api_shop, color_mode="color")
    assert r.status_code == 409 and COLOUR_UNAVAILABLE in r.json()["error"]


def test_no_ready_printer_pauses_the_shop_and_jobs_already_waiting_stay(api_shop):
    waiting = api_shop.upload(pdf_bytes(1))["files"][0]
    beat(api_shop, "Front", [printer("Mono", False, reason="out of paper")])
    shop = api_shop.get("/shop").json()
    assert shop["is_open"] is True and shop["paused"] is True
    r = upload_status(api_shop)
    assert r.status_code == 409 and r.json()["error"].startswith(PAUSED_WORDS)
    assert quote(api_shop).status_code == 409
    assert api_shop.get(f"/file/{waiting['code']}").json()["status"] == "uploaded"
    assert waiting["file_id"] in [f["file_id"] for o in api_shop.get("/queue").json() for f in o["files"]]
    page = requests.get(f"{api_shop.url}/s/{api_shop.shop_id}", timeout=10).text
    assert "Paused right now" in page and 'class="badge paused"' in page and 'id="send"' not in page
    job_page = requests.get(f"{api_shop.url}/j/{waiting['code']}", timeout=10).text  # the waiting job's page too
    assert 'class="badge paused"' in job_page and 'class="badge open"' not in job_page
    sent = requests.post(f"{api_shop.url}/s/{api_shop.shop_id}", data={"shop_id": str(api_shop.shop_id)},
                         files=[("files[]", ("a.pdf", pdf_bytes(1), "application/pdf"))], timeout=30)
    assert sent.status_code == 409 and PAUSED_WORDS in sent.text
    # a printer is back: unpaused, the form is there again
    beat(api_shop, "Front", [printer("Mono")])
    assert api_shop.get("/shop").json()["paused"] is False
    page = requests.get(f"{api_shop.url}/s/{api_shop.shop_id}", timeout=10).text
    assert "Paused" not in page and 'id="send"' in page and 'class="badge open"' in page
    assert 'class="badge open"' in requests.get(f"{api_shop.url}/j/{waiting['code']}", timeout=10).text
    assert upload_status(api_shop).status_code == 200


def test_a_closed_shop_is_closed_not_paused(api_shop):
    beat(api_shop, "Front", [])
    assert api_shop.get("/shop").json()["paused"] is True
    assert api_shop.post("/shop/status", who="owner", json={"is_open": False}).json()["paused"] is False
    page = requests.get(f"{api_shop.url}/s/{api_shop.shop_id}", timeout=10).text
    assert "Closed right now" in page and "Paused" not in page


def test_the_upload_page_says_which_settings_are_unavailable(api_shop):
    beat(api_shop, "Front", [printer("Mono", duplex=True, paper_sizes=["A4", "A3", "Letter", "Legal"])])
    page = requests.get(f"{api_shop.url}/s/{api_shop.shop_id}", timeout=10).text
    assert COLOUR_UNAVAILABLE in page and 'id="send"' in page and DUPLEX_UNAVAILABLE not in page


def _sweep(server) -> None:
    """One run of the per-counter sweep, in this process, against the server's own database."""
    from shopdesk.server import sweeper

    run_server_step(server, sweeper.requeue_at_silent_counters)


def test_a_job_printing_at_a_counter_that_stopped_answering_goes_back_and_others_stay(api_shop):
    dead, alive, old = (api_shop.upload(pdf_bytes(1))["files"][0] for _ in range(3))
    beat(api_shop, "Dead", [printer("Mono")])
    beat(api_shop, "Alive", [printer("Mono")], who="staff2")
    for job, counter in ((dead, "Dead"), (alive, "Alive"), (old, "Old")):  # "Old" never heartbeats as itself
        r = api_shop.post(f"/queue/{job['file_id']}/print-started", json={"counter": counter, "printer": "Mono"})
        assert r.status_code == 200, r.text

    from sqlalchemy import update

    from shopdesk.server.models import Job

    async def long_ago(s):  # the three jobs have not moved for an hour
        await s.execute(update(Job).where(Job.id.in_([dead["file_id"], alive["file_id"], old["file_id"]]))
                        .values(updated_at=datetime.now(UTC) - timedelta(hours=1)))

    run_db(api_shop.server.db_url(), long_ago)
    age_counter(api_shop, "Dead", 600)  # over the shop's 180 s limit
    _sweep(api_shop.server)

    status = {k: api_shop.get(f"/file/{j['code']}").json() for k, j in (("dead", dead), ("alive", alive), ("old", old))}
    assert status["dead"]["status"] == "uploaded"
    assert "counter 'Dead' stopped answering" in status["dead"]["last_failure"]
    assert status["alive"]["status"] == "printing"  # its counter heartbeats
    assert status["old"]["status"] == "printing"  # never heartbeated as itself: the shop-level rule, and the shop lives
    audit = api_shop.get(f"/file/{dead['code']}/audit").json()[-1]
    assert audit["move"] == "requeue" and audit["actor"] == "system" and audit["counter"] == "Dead"
    assert "counter 'Dead' stopped answering" in audit["reason"]
    # another counter prints it now
    assert api_shop.post(f"/queue/{dead['file_id']}/print-started", who="staff2",
                         json={"counter": "Alive"}).status_code == 200


def test_a_counter_that_just_started_a_job_keeps_it_though_its_heartbeat_is_old(api_shop):
    job = api_shop.upload(pdf_bytes(1))["files"][0]
    beat(api_shop, "Slow", [printer("Mono")])
    age_counter(api_shop, "Slow", 600)
    assert api_shop.post(f"/queue/{job['file_id']}/print-started", json={"counter": "Slow"}).status_code == 200
    _sweep(api_shop.server)  # the job moved just now: the print-started is a sign of life
    assert api_shop.get(f"/file/{job['code']}").json()["status"] == "printing"


def test_a_sweep_that_looked_before_the_job_moved_again_leaves_it(api_shop):
    # The sweeper reads the printing jobs, then moves them one by one: a job given back and started again
    # by another counter in between (still "printing", a new holder) must not be put back in the queue.
    from sqlalchemy import select

    from shopdesk.domain.jobs import Move
    from shopdesk.server.errors import ApiError
    from shopdesk.server.models import Job
    from shopdesk.server.services import jobs as job_service

    job = api_shop.upload(pdf_bytes(1))["files"][0]
    fid = job["file_id"]
    assert api_shop.post(f"/queue/{fid}/print-started", json={"counter": "Dead"}).status_code == 200
    seen = run_db(api_shop.server.db_url(), lambda s: s.scalar(select(Job.updated_at).where(Job.id == fid)))
    assert api_shop.post(f"/queue/{fid}/print-failed", json={"reason": "jam"}).status_code == 200
    assert api_shop.post(f"/queue/{fid}/print-started", who="staff2", json={"counter": "Alive"}).status_code == 200

    async def late_requeue(s):
        stale = await s.get(Job, fid)
        try:
            await job_service.move(s, job=stale, move=Move.REQUEUE, actor="system", unmoved_since=seen,
                                   reason="no word from Dead")
        except ApiError as exc:
            return exc.status
        return None

    assert run_db(api_shop.server.db_url(), late_requeue) == 409
    now = api_shop.get(f"/file/{job['code']}").json()
    assert now["status"] == "printing"
    assert [a["move"] for a in api_shop.get(f"/file/{job['code']}/audit").json()][-1] == "print-started"

    async def timely_requeue(s):  # the same move with what is true now does happen
        current = await s.get(Job, fid)
        await job_service.move(s, job=current, move=Move.REQUEUE, actor="system", unmoved_since=current.updated_at,
                               reason="no word from Alive")

    run_db(api_shop.server.db_url(), timely_requeue)
    assert api_shop.get(f"/file/{job['code']}").json()["status"] == "uploaded"
