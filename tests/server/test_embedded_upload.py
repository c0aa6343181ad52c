"""The app's built-in server (a daemon child of the app) takes uploads: its file checker starts worker
processes of its own, which multiprocessing refuses in a daemon unless the child says it is not one for
them (every upload to this computer's own shop was a 500). They go when the server stops."""

from __future__ import annotations

import os
import time

from shopdesk.client.api import ShopClient
from shopdesk.server.config import Settings
from shopdesk.server.embedded import EmbeddedServer
from tests.helpers.pdfs import pdf_bytes
from tests.helpers.server import TEST_ENV


def _children(pid: int) -> set[int]:
    out, todo = set(), [pid]
    while todo:
        p = todo.pop()
        for tid in os.listdir(f"/proc/{p}/task") if os.path.isdir(f"/proc/{p}/task") else ():
            try:
                with open(f"/proc/{p}/task/{tid}/children") as f:
                    kids = {int(c) for c in f.read().split()}
            except OSError:
                kids = set()
            out |= kids
            todo += list(kids)
    return out


def test_an_upload_to_the_built_in_server_is_checked_and_queued(tmp_path, monkeypatch):
    for k, v in TEST_ENV.items():
        monkeypatch.setenv(k, v)
    key = "bench-setup-key-0123456789"
    server = EmbeddedServer(Settings.from_env(data_dir=tmp_path / "shop", setup_key=key))
    server.start()
    try:
        client = ShopClient(server.url)
        client.setup({"shop": {"name": "Own Copy", "address": "", "phone": ""},
                      "owner": {"username": "owner", "password": "owner-pass-123", "full_name": "Owner"}}, key)
        client.set_open(True)
        r = client.session.post(f"{server.url}/upload", data={"shop_id": str(client.profile()["shop_id"])},
                                files=[("files[]", ("menu.pdf", pdf_bytes(2), "application/octet-stream"))], timeout=60)
        assert r.status_code == 200, r.text
        assert r.json()["files"][0]["num_pages"] == 2
        orders, _etag = client.queue()
        assert [f["original_name"] for o in orders for f in o["files"]] == ["menu.pdf"]
        kids = _children(server.pid) | {server.pid}
    finally:
        server.stop()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(os.path.exists(f"/proc/{p}") for p in kids):
        time.sleep(0.1)
    assert not [p for p in kids if os.path.exists(f"/proc/{p}")]  # the server and its workers are gone
