"""`shopdesk agent --once` as people run it: a real process, a real server, a private cupsd."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.helpers.cupsd import pdf_pages
from tests.helpers.pdfs import pdf_bytes


def _agent(shop, cupsd, tmp_path, *extra, password=None):
    env = {**os.environ, **cupsd.env, "SHOPDESK_PASSWORD": password or shop.staff[1]}
    return subprocess.run([sys.executable, "-m", "shopdesk.cli", "agent", "--server", shop.url,
                           "--username", shop.staff[0], "--printer", "Front", "--once",
                           "--data-dir", str(tmp_path / "agent"), *extra],
                          capture_output=True, text=True, env=env, timeout=180)


def test_agent_once_prints_every_waiting_job_and_exits_0(shop, cupsd, tmp_path):
    out = cupsd.out / "Front.pdf"
    a = shop.upload(pdf_bytes(2), name="a.pdf", customer_name="Asha")["files"][0]
    b = shop.upload(pdf_bytes(1), name="poster.pdf", paper_size="A3")["files"][0]  # Front has no A3
    c = shop.upload(pdf_bytes(3), name="c.pdf", copies=2, print_mode="double")["files"][0]
    shop.post(f"/queue/{c['file_id']}/print-started", who="staff2", json={"counter": "Counter 2"})
    r = _agent(shop, cupsd, tmp_path)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 2, r.stdout  # one line per waiting job (c is another counter's)
    assert lines[0].startswith(f"{a['code']} printed 'Front'")
    assert lines[1].startswith(f"{b['code']} not-printed: Printer 'Front' cannot print A3 paper. Use 'Wide'")
    assert [x["move"] for x in shop.get(f"/file/{a['code']}/audit").json()] == ["print-started", "confirm"]
    assert shop.get(f"/file/{b['code']}").json()["status"] == "uploaded"
    assert pdf_pages(out) == 2


def test_agent_with_a_wrong_password_says_so_and_exits_2(shop, cupsd, tmp_path):
    r = _agent(shop, cupsd, tmp_path, password="not-the-password")
    assert r.returncode == 2 and "Wrong username or password" in r.stderr


def test_agent_waits_for_an_unreachable_server_prints_and_stops_at_once_on_sigterm(shop, cupsd, tmp_path):
    """A back-room agent started while the network is down keeps trying instead of exiting; once in,
    it prints; SIGTERM while it waits for the queue to change stops it at once (not after the 25 s
    long-poll)."""
    import signal
    import time

    from tests.helpers.proxy import FaultProxy

    proxy = FaultProxy(shop.server.port).start()
    proxy.refuse(4)  # every connection reset for the first 4 s: the login cannot get through
    out = tmp_path / "agent.out"
    env = {**os.environ, **cupsd.env, "SHOPDESK_PASSWORD": shop.staff[1]}
    with open(out, "wb") as stdout:
        proc = subprocess.Popen([sys.executable, "-m", "shopdesk.cli", "agent", "--server", proxy.url,
                                 "--username", shop.staff[0], "--printer", "Front",
                                 "--data-dir", str(tmp_path / "agent")],
                                stdout=stdout, stderr=subprocess.PIPE, env=env)
    try:
        job = shop.upload(pdf_bytes(1), name="late.pdf")["files"][0]
        deadline = time.monotonic() + 60
        while f"{job['code']} printed" not in out.read_text() and time.monotonic() < deadline:
            assert proc.poll() is None, proc.stderr.read().decode()
            time.sleep(0.2)
        assert f"{job['code']} printed 'Front'" in out.read_text()
        assert proxy.counts["refused"] >= 1  # it did try while refused, and did not give up
        time.sleep(1.5)  # now idle in the long-poll
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(5) == 0  # at once, not at the end of its 25 s long-poll (TimeoutExpired)
        assert shop.get(f"/file/{job['code']}").json()["status"] == "downloaded"
    finally:
        if proc.poll() is None:
            proc.kill()
        proxy.close()


def test_a_second_agent_on_the_same_data_dir_exits_with_a_clear_message(shop, cupsd, tmp_path):
    from shopdesk.agent import DirLock

    (tmp_path / "agent").mkdir()
    held = DirLock(tmp_path / "agent")  # the first agent (this process) holds the dir
    try:
        r = _agent(shop, cupsd, tmp_path)
    finally:
        held.release()
    assert r.returncode == 2 and r.stdout == ""
    assert f"another shopdesk agent (process {os.getpid()}) is using {tmp_path / 'agent'}" in r.stderr
    assert "--data-dir" in r.stderr
    again = _agent(shop, cupsd, tmp_path)  # released: the next one runs
    assert again.returncode == 0, again.stderr


def test_the_default_data_dir_names_the_printer(monkeypatch, tmp_path):
    from shopdesk import agent

    monkeypatch.setattr(agent, "data_dir", lambda: tmp_path)
    assert agent.default_data_dir("asha", "Front desk/2") == tmp_path / "agent-asha-Front_desk_2"
    assert agent.default_data_dir("asha", "Back") != agent.default_data_dir("asha", "Front")


def test_the_agent_has_no_hot_folder_unless_given_one(shop, cupsd, tmp_path):
    job = shop.upload(pdf_bytes(1), name="a.pdf")["files"][0]
    r = _agent(shop, cupsd, tmp_path, "--printer", "Hot folder")
    assert f"{job['code']} not-printed: Printer 'Hot folder' is not available on this computer" in r.stdout
    hot = tmp_path / "hot"
    r = _agent(shop, cupsd, tmp_path, "--printer", "Hot folder", "--hot-folder", str(hot))
    assert r.stdout.startswith(f"{job['code']} printed 'Hot folder'"), r.stdout + r.stderr
    assert len(list(hot.glob(f"{job['code']}-*.json"))) == 1


def test_the_hot_folder_takes_what_it_is_told(shop, cupsd, tmp_path):
    job = shop.upload(pdf_bytes(1), name="a.pdf", paper_size="A3")["files"][0]
    hot = tmp_path / "hot"
    r = _agent(shop, cupsd, tmp_path, "--printer", "Hot folder", "--hot-folder", str(hot))
    assert f"{job['code']} not-printed: Printer 'Hot folder' cannot print A3 paper. Use " in r.stdout
    assert "'Wide'" in r.stdout
    r = _agent(shop, cupsd, tmp_path, "--printer", "Hot folder", "--hot-folder", str(hot),
               "--hot-folder-takes", "A4 A3 colour")
    assert r.stdout.startswith(f"{job['code']} printed 'Hot folder'"), r.stdout + r.stderr
    r = _agent(shop, cupsd, tmp_path, "--hot-folder", str(hot), "--hot-folder-takes", "A5")
    assert r.returncode == 2 and "the hot folder cannot take 'A5'" in r.stderr
