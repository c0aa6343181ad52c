"""Credentials through real keyring backends, and the queue watcher against a server that goes away."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import keyring
import pytest
from keyring.backends.chainer import ChainerBackend
from keyring.backends.fail import Keyring as FailKeyring
from keyrings.alt.file import PlaintextKeyring

from shopdesk.client.api import ShopClient
from shopdesk.client.credentials import Credentials, NoKeyringError
from shopdesk.client.watcher import QueueWatcher
from tests.helpers.pdfs import pdf_bytes
from tests.helpers.server import ROOT, ServerProcess, make_shop
from tests.helpers.wait import wait_until


def _file_backend(tmp_path) -> PlaintextKeyring:
    backend = PlaintextKeyring()
    backend.file_path = str(tmp_path / "keyring.cfg")
    return backend


@pytest.fixture
def file_keyring(tmp_path):
    """A real file-based keyring (keyrings.alt) as the process's keyring, put back afterwards."""
    previous = keyring.get_keyring()
    backend = _file_backend(tmp_path)
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


def test_token_and_password_round_trip_through_a_real_keyring_backend(tmp_path, shop, file_keyring):
    creds = Credentials(allow_insecure=True)  # the test's backend is a plain file: the app refuses that unasked
    assert creds.backend is file_keyring and creds.available
    c = ShopClient(shop.url)
    token = c.login(*shop.staff)["token"]
    creds.save_token(shop.url, shop.staff[0], token)
    creds.save_password(shop.url, shop.staff[0], shop.staff[1])
    assert "[shopdesk]" in (tmp_path / "keyring.cfg").read_text()  # it really went through the backend
    again = Credentials(_file_backend(tmp_path), allow_insecure=True)  # a new backend object reads it back
    assert again.token(shop.url, shop.staff[0]) == token
    assert again.password(shop.url, shop.staff[0]) == shop.staff[1]
    assert again.token(shop.url, shop.owner[0]) is None  # per user and server
    assert ShopClient(shop.url, token=again.token(shop.url, shop.staff[0])).shop()["shop_id"] == shop.shop_id
    again.forget(shop.url, shop.staff[0])
    fresh = Credentials(_file_backend(tmp_path), allow_insecure=True)
    assert fresh.token(shop.url, shop.staff[0]) is None and fresh.password(shop.url, shop.staff[0]) is None


_IN_A_NEW_PROCESS = """
import sys
from shopdesk.client.credentials import Credentials
creds = Credentials()
print(creds.available, creds.backend_name())
if sys.argv[1] == "save":
    creds.save_token(sys.argv[2], "staff", sys.argv[3])
else:
    print(creds.token(sys.argv[2], "staff"))
"""


@pytest.mark.parametrize("named_by", ["env", "keyringrc"])
def test_a_backend_the_user_named_is_used_across_app_restarts(tmp_path, shop, named_by):
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path / "config")}
    env.pop("PYTHON_KEYRING_BACKEND", None)
    if named_by == "env":
        env["PYTHON_KEYRING_BACKEND"] = "keyrings.alt.file.PlaintextKeyring"
    else:
        rc = tmp_path / "config" / "python_keyring" / "keyringrc.cfg"
        rc.parent.mkdir(parents=True)
        rc.write_text("[backend]\ndefault-keyring=keyrings.alt.file.PlaintextKeyring\n")
    token = ShopClient(shop.url).login(*shop.staff)["token"]

    def app(*args):
        out = subprocess.run([sys.executable, "-c", _IN_A_NEW_PROCESS, *args], env=env, cwd=ROOT,
                             capture_output=True, text=True, timeout=60, check=True).stdout.split("\n")
        assert out[0] == "True keyrings.alt.file.PlaintextKeyring"
        return out[1]

    app("save", shop.url, token)
    assert app("load", shop.url) == token
    assert ShopClient(shop.url, token=token).profile()["username"] == shop.staff[0]
    assert (tmp_path / "data" / "python_keyring" / "keyring_pass.cfg").exists()


def test_a_chained_keyring_never_falls_through_to_a_plain_file(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    chain = ChainerBackend()
    assert [type(b).__name__ for b in chain.backends] == ["PlaintextKeyring"]  # all this machine has
    creds = Credentials(chain)
    assert not creds.available
    with pytest.raises(NoKeyringError) as exc:
        creds.save_token("http://x", "u", "secret-token")
    assert exc.value.choices == (NoKeyringError.INSTALL, NoKeyringError.SESSION_ONLY)
    assert creds.token("http://x", "u") is None
    assert not any(tmp_path.rglob("*.cfg"))


def test_no_keyring_is_a_clear_choice_never_a_silent_plaintext_file(tmp_path):
    for backend in (FailKeyring(), _file_backend(tmp_path)):
        creds = Credentials(backend)
        assert not creds.available
        with pytest.raises(NoKeyringError, match="Keep me logged in only until shopdesk closes"):
            creds.save_token("http://x", "u", "secret-token")
    assert not (tmp_path / "keyring.cfg").exists()
    creds = Credentials(FailKeyring())
    creds.use_session_only()
    creds.save_token("http://x", "u", "secret-token")
    assert creds.token("http://x", "u") == "secret-token"
    assert not any(tmp_path.iterdir())


def test_watcher_hands_over_changes_and_reconnects_after_the_server_comes_back(tmp_path):
    server = ServerProcess(tmp_path / "srv").start()
    try:
        shop = make_shop(server)
        c = ShopClient(shop.url, read_timeout=5)
        c.login(*shop.staff)
        changes, states = [], []
        got = threading.Event()

        def on_change(ch):
            changes.append(ch)
            got.set()

        w = QueueWatcher(c, on_change, lambda ok, text: states.append((ok, text)), wait=5)
        w.start()
        assert got.wait(10)  # the first, empty queue
        got.clear()
        up = shop.upload(pdf_bytes(1))
        assert got.wait(5)
        assert [j["code"] for j in changes[-1].added] == [up["files"][0]["code"]]
        server.kill()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any(not ok for ok, _ in states):
            time.sleep(0.05)
        assert any(not ok and "Cannot reach" in text for ok, text in states)
        server.start()
        got.clear()
        shop.post(f"/queue/{up['files'][0]['file_id']}/print-started")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if changes[-1].changed and changes[-1].changed[0]["status"] == "printing":
                break
            got.wait(1)
            got.clear()
        assert changes[-1].changed[0]["status"] == "printing"
        assert states[-1][0] is True
        wait_until(lambda: w._run_state.holding)  # the watcher is back in a held long-poll
        seen = len(changes)
        stopper = threading.Thread(target=w.stop)
        stopper.start()
        stopper.join(1)
        assert not stopper.is_alive()  # quitting the app does not wait for the server's hold (5 s)
        shop.upload(pdf_bytes(1))  # ends the held poll: the stopped watcher must not hand it over
        w._thread.join(10)
        assert not w._thread.is_alive() and len(changes) == seen
    finally:
        server.stop()
