"""The sync API for a one-counter shop: uvicorn in a child process of the app, on 127.0.0.1 and a free
port. The app reaches it over HTTP exactly as it reaches a remote server.

A child process, not a thread: in the app's own process the server's Python work (a 1000-job queue
answer is ~50–150 ms of SQLAlchemy rows, schemas and JSON) shares the app's GIL, and bench/ui.py
--embedded measured the counter window's main thread blocked for 170–190 ms at a time while it ran.
The child is started with the "spawn" method everywhere (a frozen bundle calls freeze_support()),
is handed the already-bound listening socket, stops when told, and stops by itself when the app's
process goes away, so a crashed app never leaves a server holding the port and the database. As with
any spawned child, the program that starts it must guard its main module (`if __name__ == "__main__":`),
which every shopdesk entry point does: the child imports that module again.

Customers on the shop's Wi-Fi (`customer_port`): the server then also listens on every address at that
fixed port, and its public URL — what job QR codes and the poster carry — is `http://<LAN address>:<port>`.
The counter keeps using its own loopback socket, which the server keeps across restarts: switching
customer access on or off, or following a new LAN address (DHCP), restarts only the child process."""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import secrets
import signal
import socket
import threading
import time

from .config import SHUTDOWN_GRACE_SECONDS, Settings

log = logging.getLogger("shopdesk.server.embedded")

DEMO_START_SECONDS = 180  # the very first demo generates its files (seconds on a slow PC)


def lan_address() -> str | None:
    """This machine's address on the local network (the one its default route leaves from), or None
    when it has none. A UDP "connect" sends no packet; it only asks the kernel which source it would use."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # TEST-NET-1: never routed anywhere, only the route is looked up
            addr = s.getsockname()[0]
        except OSError:
            return None
    return None if addr.startswith("127.") or addr == "0.0.0.0" else addr


def customer_url(address: str | None, port: int) -> str:
    return f"http://{address or '127.0.0.1'}:{port}"


def _serve(settings: Settings, socks: list[socket.socket], ready, stop, parent_pid: int,
           demo: bool = False) -> None:  # the child
    import asyncio

    # A daemon (it goes with the app), but this process starts the file checker's worker processes for
    # uploads, and multiprocessing refuses to start children of a daemon (every upload was a 500): for its
    # own children it is not one. They stop with the server (its lifespan closes the pool).
    multiprocessing.current_process().daemon = False

    import uvicorn

    from .app import create_app
    from .guards import http_protocol

    if demo:  # here, not in the app: the window's process never imports the database layer
        from .demo import seed

        asyncio.run(seed(settings))

    # warnings and errors to the app's stderr, as `shopdesk-server serve` logs; the app's rotating log
    # file keeps one writer
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # The app decides when its server stops (the stop event): Ctrl+C in a terminal reaches the whole
    # process group, and the app quits first, then stops the server.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    app = create_app(settings)
    # proxy_headers=False: the embedded server never believes X-Forwarded-For (a tunnel or another program
    # on this computer must not choose its client address)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on", proxy_headers=False,
                                           http=http_protocol(settings),
                                           timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS))
    server.capture_signals = contextlib.nullcontext

    def watch() -> None:
        while not stop.wait(0.5 if ready.is_set() else 0.02):
            if server.started and not ready.is_set():
                ready.set()
            if os.getppid() != parent_pid:  # the app is gone (crashed, killed): so is its server
                break
        ctx = getattr(app.state, "ctx", None)
        if ctx is not None:
            ctx.closing = True  # held long-polls answer now instead of holding the stop up
        server.should_exit = True

    threading.Thread(target=watch, name="embedded-api-watch", daemon=True).start()
    asyncio.run(server.serve(sockets=socks))


class EmbeddedServer:
    def __init__(self, settings: Settings | None = None, host: str = "127.0.0.1", port: int = 0, *,
                 customer_port: int | None = None, public_url: str | None = None, demo: bool = False):
        """`customer_port`: also listen on every address at this port for customers on the LAN, with the
        public URL `public_url` (default: http://<LAN address>:<customer_port>). If that port cannot be
        had, the server still starts for the counter and `customer_error` says why. `demo`: the child
        seeds the demo shop (once; later starts find it) before it serves."""
        self.settings = settings or Settings.from_env()
        self.demo = demo
        self.host = host
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self.port = self._sock.getsockname()[1]
        self._ctx = multiprocessing.get_context("spawn")
        self._ready = self._ctx.Event()
        self._stop = self._ctx.Event()
        self._process: multiprocessing.process.BaseProcess | None = None
        self._lan: socket.socket | None = None
        self.customer_port: int | None = None
        self.customer_error = ""
        self._lock = threading.Lock()
        if customer_port:
            self._open_customer_socket(customer_port, public_url)

    @classmethod
    def for_shop(cls, folder, customer_port: int | None = None) -> EmbeddedServer:
        """This computer's own shop in `folder`. Its setup key lets the first-run screen create the shop;
        it lives only in this process and the server's."""
        return cls(Settings.from_env(data_dir=folder, setup_key=secrets.token_urlsafe(24)),
                   customer_port=customer_port)

    @classmethod
    def for_demo(cls, folder) -> EmbeddedServer:
        """The demo shop in `folder`, seeded in the server's own process the first time."""
        return cls(Settings.from_env(data_dir=folder), demo=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def public_url(self) -> str:
        """What job QR codes carry ("" → the address each request came in on: loopback for the counter)."""
        return self.settings.public_url

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.is_alive()

    def _open_customer_socket(self, port: int, public_url: str | None) -> None:
        lan = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        lan.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            lan.bind(("0.0.0.0", port))
        except OSError as exc:
            lan.close()
            self.customer_port, self.settings.public_url = None, ""
            self.customer_error = (f"Port {port} is in use by another program ({exc.strerror}); customers "
                                   "cannot reach this shop. Choose another port.")
            return
        self._lan, self.customer_port, self.customer_error = lan, port, ""
        self.settings.public_url = public_url or customer_url(lan_address(), port)

    def _close_customer_socket(self) -> None:
        if self._lan is not None:
            self._lan.close()
        self._lan, self.customer_port, self.settings.public_url = None, None, ""

    def start(self, timeout: float = 30.0) -> str:
        """Starts serving and returns the URL once the server answers."""
        self._sock.listen(128)
        socks = [self._sock]
        if self._lan is not None:
            self._lan.listen(128)
            socks.append(self._lan)
        self._ready = self._ctx.Event()
        self._stop = self._ctx.Event()
        self._process = self._ctx.Process(target=_serve, name="shopdesk-embedded-api", daemon=True,
                                          args=(self.settings, socks, self._ready, self._stop, os.getpid(),
                                                self.demo))
        self._process.start()
        deadline = time.monotonic() + timeout
        while not self._ready.wait(0.05):
            if not self._process.is_alive():
                raise RuntimeError(f"the embedded server did not start (exit code {self._process.exitcode}; "
                                   "its reason is on stderr)")
            if time.monotonic() > deadline:
                self.stop(timeout=2)
                raise TimeoutError("the embedded server did not start in time")
        return self.url

    def set_customer_access(self, port: int | None, public_url: str | None = None, timeout: float = 30.0) -> str:
        """Customers on the LAN on (`port`) or off (None): restarts the child with the sockets that asks
        for; the counter's loopback URL stays the same (its requests meanwhile are retried). Returns the
        public URL now in force ("" when off). Blocking (seconds): call it off the GUI thread."""
        with self._lock:
            self._halt(timeout=10)
            self._close_customer_socket()
            if port:
                self._open_customer_socket(port, public_url)
            else:
                self.customer_error = ""
            try:
                self.start(timeout)
            except (RuntimeError, TimeoutError) as exc:
                if self._lan is None:
                    raise
                # whatever went wrong with customer access, the counter keeps its server
                self._halt(timeout=5)
                self._close_customer_socket()
                self.customer_error = f"Customers cannot reach this shop: the server did not start with port {port} ({exc})."
                self.start(timeout)
            return self.public_url

    def _halt(self, timeout: float) -> None:
        self._stop.set()
        if self._process is not None:
            self._process.join(timeout)
            if self._process.is_alive():
                log.warning("the embedded server did not stop in %.0f s; terminating it", timeout)
                self._process.terminate()
                self._process.join(5)

    def stop(self, timeout: float = 10.0) -> None:
        self._halt(timeout)
        self._sock.close()
        if self._lan is not None:
            self._lan.close()

    def __enter__(self) -> EmbeddedServer:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start_embedded(settings: Settings | None = None) -> EmbeddedServer:
    server = EmbeddedServer(settings)
    server.start()
    return server
