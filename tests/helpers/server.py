"""A real `shopdesk-server serve` process on loopback for tests, and shops with users in it.

Shops and users are created straight in the server's database through the server's own services (as
the `create-shop`/`create-user` CLI does, minus a process start per call), so each test gets a fresh
shop in milliseconds while every request still goes over HTTP to the real server process."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
SERVER_BIN = [sys.executable, "-m", "shopdesk.server.cli"]

# Generous limits for the shared test server; the rate-limit tests start their own server.
TEST_ENV = {
    "SHOPDESK_UPLOAD_RATE_PER_MIN": "100000",
    "SHOPDESK_LOGIN_RATE_PER_MIN": "100000",
    "SHOPDESK_ANON_RATE_PER_MIN": "100000",
    "SHOPDESK_AUTH_RATE_PER_MIN": "100000",
    # webhooks: retries within a test's patience (production: 10 s, ×2), a short wait per try
    "SHOPDESK_WEBHOOK_BACKOFF_SECONDS": "0.3",
    "SHOPDESK_WEBHOOK_POLL_SECONDS": "0.2",
    "SHOPDESK_WEBHOOK_TIMEOUT_SECONDS": "1",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    def __init__(self, data_dir: Path, database_url: str | None = None, env: dict[str, str] | None = None,
                 port: int | None = None, workers: int = 1):
        self.workers = workers
        self.data_dir = Path(data_dir)
        self.database_url = database_url
        self.env = {**TEST_ENV, **(env or {})}
        self.port = port or free_port()
        self.proc: subprocess.Popen | None = None
        self.log_path = self.data_dir / "server.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _args(self) -> list[str]:
        args = ["--data-dir", str(self.data_dir)]
        if self.database_url:
            args += ["--database-url", self.database_url]
        return args

    def start(self, timeout: float = 30.0) -> ServerProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **self.env}
        # setpriv: the server dies with the test run, even when the run is killed (no orphans on a CI box)
        guard = ["setpriv", "--pdeathsig", "TERM", "--"] if shutil.which("setpriv") else []
        with open(self.log_path, "ab") as log:  # the child keeps its own copy of the file
            self.proc = subprocess.Popen(
                guard + SERVER_BIN + ["serve", "--host", "127.0.0.1", "--port", str(self.port),
                                      "--workers", str(self.workers)] + self._args(),
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                if requests.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"server did not answer in {timeout}s:\n{self.log_tail()}")

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def kill(self) -> None:
        """SIGKILL: no clean shutdown, as when the power goes."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def restart(self) -> ServerProcess:
        self.stop()
        return self.start()

    def cli(self, *args: str, input: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
        """Runs `shopdesk-server <command> --data-dir ... [--database-url ...] args` against this server's data."""
        cmd = SERVER_BIN + [args[0]] + self._args() + list(args[1:])
        return subprocess.run(cmd, cwd=ROOT, input=input, capture_output=True, text=True, check=check,
                              env={**os.environ, **self.env}, timeout=120)

    def db_url(self) -> str:
        from shopdesk.server.config import Settings

        return Settings.from_env(data_dir=self.data_dir, database_url=self.database_url).effective_database_url


@contextlib.contextmanager
def sqlite_pair(tmp_path: Path, env: dict[str, str] | None = None):
    """Two server processes on one SQLite file (two `serve` on the same data directory)."""
    a = ServerProcess(tmp_path / "d", env=env)
    b = ServerProcess(tmp_path / "d", env=env)
    b.log_path = tmp_path / "b.log"
    try:
        a.start()
        b.start()
        yield a, b
    finally:
        a.stop()
        b.stop()


def run_db(url: str, fn):
    """Runs `await fn(session)` in one write transaction against the server's database."""
    from shopdesk.server.db import Database

    async def go():
        db = Database(url)
        try:
            async with db.write() as s:
                return await fn(s)
        finally:
            await db.dispose()

    return asyncio.run(go())


_counter = 0


@dataclass
class ShopAccount:
    server: ServerProcess
    shop_id: int
    name: str
    staff: tuple[str, str]
    owner: tuple[str, str]
    staff2: tuple[str, str]
    _tokens: dict = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.server.url

    def through(self, server: ServerProcess) -> ShopAccount:
        """The same shop and logins, reached through another server process on the same database."""
        return ShopAccount(server, self.shop_id, self.name, self.staff, self.owner, self.staff2)

    def token(self, who: str = "staff") -> str:
        if who not in self._tokens:
            username, password = getattr(self, who)
            r = requests.post(self.url + "/login", json={"username": username, "password": password}, timeout=10)
            r.raise_for_status()
            self._tokens[who] = r.json()["token"]
        return self._tokens[who]

    def headers(self, who: str = "staff", **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(who)}", **extra}

    def get(self, path: str, who: str = "staff", **kw) -> requests.Response:
        return requests.get(self.url + path, headers={**self.headers(who), **kw.pop("headers", {})}, timeout=30, **kw)

    def post(self, path: str, who: str = "staff", **kw) -> requests.Response:
        return requests.post(self.url + path, headers={**self.headers(who), **kw.pop("headers", {})}, timeout=30, **kw)

    def put(self, path: str, who: str = "staff", **kw) -> requests.Response:
        return requests.put(self.url + path, headers={**self.headers(who), **kw.pop("headers", {})}, timeout=30, **kw)

    def upload_response(self, *files, shop_id: int | None = None, headers: dict | None = None,
                        **settings) -> requests.Response:
        """files: paths, bytes, or (name, bytes|path) pairs. settings: copies, print_mode, ..."""
        parts = []
        for f in files:
            name, data = (f if isinstance(f, tuple) else (None, f))
            if isinstance(data, (str, Path)):
                name = name or Path(data).name
                data = Path(data).read_bytes()
            parts.append(("files[]", (name or "file.pdf", io.BytesIO(data), "application/octet-stream")))
        form = {"shop_id": str(shop_id or self.shop_id), **{k: str(v) for k, v in settings.items()}}
        return requests.post(self.url + "/upload", data=form, files=parts, headers=headers or {}, timeout=60)

    def upload(self, data, name: str = "document.pdf", **settings) -> dict:
        """Uploads one file as a walk-in customer; returns the server's JSON (asserting success)."""
        r = self.upload_response((name, data), **settings)
        assert r.status_code == 200, r.text
        return r.json()


def make_shop(server: ServerProcess, name: str | None = None, *, open_shop: bool = True,
              commission_bp: int = 0) -> ShopAccount:
    from shopdesk.server.services.shops import create_shop, set_open
    from shopdesk.server.services.users import create_user

    global _counter
    _counter += 1
    tag = f"{os.getpid()}x{_counter}x{int(time.time() * 1000) % 100000}"
    name = name or f"Test Shop {tag}"
    staff = (f"staff{tag}", "staff-password-1")
    staff2 = (f"counter2{tag}", "staff-password-2")
    owner = (f"owner{tag}", "owner-password-1")

    async def go(s):
        shop = await create_shop(s, name=name, commission_bp=commission_bp)
        await create_user(s, username=staff[0], password=staff[1], role="staff", shop_id=shop.id)
        await create_user(s, username=staff2[0], password=staff2[1], role="staff", shop_id=shop.id)
        await create_user(s, username=owner[0], password=owner[1], role="owner", shop_id=shop.id)
        if open_shop:
            await set_open(s, shop_id=shop.id, is_open=True)
        return shop.id

    shop_id = run_db(server.db_url(), go)
    return ShopAccount(server, shop_id, name, staff, owner, staff2)


def make_user(server: ServerProcess, username: str, password: str, role: str, shop_id: int | None = None) -> None:
    from shopdesk.server.services.users import create_user

    async def go(s):
        await create_user(s, username=username, password=password, role=role, shop_id=shop_id)

    run_db(server.db_url(), go)


def login(url: str, username: str, password: str) -> str:
    r = requests.post(url + "/login", json={"username": username, "password": password}, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()["token"]


def run_server_step(server, step) -> None:
    """Runs `await step(ctx)` once, in this process, with a ServerContext on `server`'s own database and
    files (a sweeper step, say), as a server process would."""
    from shopdesk.server.config import Settings
    from shopdesk.server.context import ServerContext
    from shopdesk.server.db import Database
    from shopdesk.server.storage import FileStore

    async def go():
        settings = Settings.from_env(data_dir=server.data_dir, database_url=server.database_url)
        ctx = ServerContext(settings, Database(settings.effective_database_url), FileStore(settings.files_dir))
        try:
            await step(ctx)
        finally:
            await ctx.db.dispose()

    asyncio.run(go())
