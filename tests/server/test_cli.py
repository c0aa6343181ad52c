"""The `shopdesk-server` command line as people and scripts use it, and the embedded server."""

from __future__ import annotations

import pytest
import requests

from tests.helpers.server import ServerProcess, login


def test_create_shop_and_user_then_log_in(tmp_path):
    server = ServerProcess(tmp_path / "cli")
    out = server.cli("create-shop", "--name", "Corner Copy")
    shop_id = int(out.stdout.strip().splitlines()[-1])
    server.cli("create-user", "--username", "meena", "--password-stdin", "--role", "owner", "--shop", str(shop_id),
               input="a-long-password\n")
    bad = server.cli("create-user", "--username", "x", "--password-stdin", "--role", "staff",
                     input="another-password\n", check=False)
    assert bad.returncode != 0 and "--shop" in bad.stderr
    dup = server.cli("create-user", "--username", "MEENA", "--password-stdin", "--role", "admin",
                     input="another-password\n", check=False)
    assert dup.returncode != 0 and "taken" in dup.stderr
    server.start()
    try:
        token = login(server.url, "meena", "a-long-password")
        shop = requests.get(server.url + "/shop", headers={"Authorization": f"Bearer {token}"}, timeout=10).json()
        assert shop["shop_id"] == shop_id and shop["name"] == "Corner Copy"
        assert "a-long-password" not in server.log_tail(500)
    finally:
        server.stop()


def test_demo_seeds_a_queue_that_a_counter_can_log_into(tmp_path):
    server = ServerProcess(tmp_path / "demo")
    out = server.cli("demo").stdout
    assert "counter" in out and "password" in out
    again = server.cli("demo").stdout
    assert "already exists" in again
    server.start()
    try:
        token = login(server.url, "counter", "demo-counter-pass")
        q = requests.get(server.url + "/queue", headers={"Authorization": f"Bearer {token}"}, timeout=10).json()
        files = [f for o in q for f in o["files"]]
        assert len(q) >= 6 and len(files) >= 7
        assert {"application/pdf", "image/jpeg"} <= {f["content_type"] for f in files}
        assert len({f["num_pages"] for f in files}) >= 4  # several sizes
    finally:
        server.stop()


def test_embedded_server_starts_on_a_free_port_serves_and_stops(tmp_path):
    from shopdesk.server.config import Settings
    from shopdesk.server.embedded import EmbeddedServer

    with EmbeddedServer(Settings.from_env(data_dir=tmp_path / "emb")) as emb:
        assert emb.url.startswith("http://127.0.0.1:")
        assert requests.get(emb.url + "/healthz", timeout=10).json()["status"] == "ok"
        url = emb.url
    try:
        requests.get(url + "/healthz", timeout=2)
        raise AssertionError("server still answering after stop")
    except requests.ConnectionError:
        pass


def test_embedded_server_stops_at_once_while_a_counter_long_polls(tmp_path):
    """Quitting the app stops its server: a held `GET /queue?wait=30` (the app's own watcher) answers
    304 at once instead of holding the stop up (it used to take the 10 s stop timeout, then a kill)."""
    import threading
    import time

    from shopdesk.server.cli import main as server_cli
    from shopdesk.server.config import Settings
    from shopdesk.server.embedded import EmbeddedServer

    data = tmp_path / "emb"
    assert server_cli(["demo", "--data-dir", str(data)]) == 0
    emb = EmbeddedServer(Settings.from_env(data_dir=data))
    emb.start()
    token = login(emb.url, "counter", "demo-counter-pass")
    auth = {"Authorization": f"Bearer {token}"}
    etag = requests.get(emb.url + "/queue", headers=auth, timeout=10).headers["ETag"]
    answers = []
    held = threading.Thread(target=lambda: answers.append(requests.get(
        emb.url + "/queue", params={"wait": 30}, headers={**auth, "If-None-Match": etag}, timeout=40)))
    held.start()
    time.sleep(1.0)  # the request is being held
    stopper = threading.Thread(target=emb.stop)
    stopper.start()
    stopper.join(3)
    assert not stopper.is_alive()  # it does not wait out the held request's 30 s
    held.join(5)
    assert [a.status_code for a in answers] == [304]


def test_embedded_server_runs_in_its_own_process_off_the_apps_gil(tmp_path):
    """The app's process only talks HTTP to it: the server's Python work never holds the window's GIL."""
    import os

    from shopdesk.server.config import Settings
    from shopdesk.server.embedded import EmbeddedServer

    emb = EmbeddedServer(Settings.from_env(data_dir=tmp_path / "emb"))
    try:
        emb.start()
        assert emb.pid is not None and emb.pid != os.getpid() and emb.running
        assert requests.get(emb.url + "/healthz", timeout=10).json()["database"] == "ok"
    finally:
        emb.stop()
    assert not emb.running


def test_embedded_server_stops_when_the_app_dies(tmp_path):
    """A crashed or killed app must not leave its server holding the port and the database."""
    import subprocess
    import sys
    import time

    app = ("import os, sys\n"
           "from pathlib import Path\n"
           "from shopdesk.server.config import Settings\n"
           "from shopdesk.server.embedded import EmbeddedServer\n"
           f"url = EmbeddedServer(Settings.from_env(data_dir=Path({str(tmp_path / 'emb')!r}))).start()\n"
           "print(url, flush=True)\n"
           "os._exit(3)  # no stop(), no atexit: as a crash\n")
    out = subprocess.run([sys.executable, "-c", app], capture_output=True, text=True, timeout=60)
    assert out.returncode == 3, out.stderr
    url = out.stdout.strip().splitlines()[-1]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            requests.get(url + "/healthz", timeout=1)
        except requests.ConnectionError:
            return
        time.sleep(0.1)
    raise AssertionError("the embedded server outlived its app")


def test_postgres_database_url_via_cli(postgres, tmp_path):
    url = postgres.create_database("clitest")
    server = ServerProcess(tmp_path / "pg", database_url=url)
    shop_id = int(server.cli("create-shop", "--name", "PG Shop").stdout.split()[-1])
    server.cli("create-user", "--username", "pgstaff", "--password-stdin", "--role", "staff", "--shop", str(shop_id),
               input="pg-password-1\n")
    server.start()
    try:
        token = login(server.url, "pgstaff", "pg-password-1")
        assert requests.get(server.url + "/queue", headers={"Authorization": f"Bearer {token}"}, timeout=10).json() == []
        assert not (tmp_path / "pg" / "shopdesk.db").exists()  # nothing went to SQLite
    finally:
        server.stop()


class _EmbeddedAsServer:
    """make_shop() needs `url` and `db_url()`; an embedded server has both."""

    def __init__(self, emb, data_dir):
        self.url, self._data = emb.url, data_dir

    def db_url(self):
        from shopdesk.server.config import Settings

        return Settings.from_env(data_dir=self._data).effective_database_url


def test_embedded_server_lets_customers_in_on_a_fixed_port_and_out_again(tmp_path):
    """Customer uploads on: the server also listens on every address at the chosen port and job QR codes
    carry http://<LAN address>:<port>; the counter's loopback URL never changes. Off: that port is shut."""
    from shopdesk.server.config import Settings
    from shopdesk.server.embedded import EmbeddedServer, lan_address
    from tests.helpers.server import free_port, make_shop

    data = tmp_path / "emb"
    port = free_port()
    with EmbeddedServer(Settings.from_env(data_dir=data)) as emb:
        counter_url = emb.url
        shop = make_shop(_EmbeddedAsServer(emb, data))
        assert shop.get("/shop").json()["public_url"] == counter_url  # loopback only: the counter's own address
        with pytest.raises(requests.ConnectionError):
            requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2)

        lan = lan_address()
        public = emb.set_customer_access(port)
        assert public == f"http://{lan or '127.0.0.1'}:{port}" and emb.customer_port == port
        assert emb.url == counter_url
        assert shop.get("/shop").json()["public_url"] == public  # the token survived the restart
        host = lan or "127.0.0.1"
        page = requests.get(f"http://{host}:{port}/s/{shop.shop_id}", timeout=10)
        assert page.status_code == 200 and shop.name in page.text

        assert emb.set_customer_access(None) == ""
        with pytest.raises(requests.ConnectionError):
            requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
        assert shop.get("/shop").json()["public_url"] == counter_url


def test_embedded_server_starts_for_the_counter_when_the_customer_port_is_taken(tmp_path):
    import socket

    from shopdesk.server.config import Settings
    from shopdesk.server.embedded import EmbeddedServer

    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        with EmbeddedServer(Settings.from_env(data_dir=tmp_path / "emb"), customer_port=port) as emb:
            assert emb.customer_port is None and f"Port {port} is in use" in emb.customer_error
            assert emb.public_url == ""
            assert requests.get(emb.url + "/healthz", timeout=10).status_code == 200
