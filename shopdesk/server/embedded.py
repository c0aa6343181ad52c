"""The sync API for a one-counter shop: uvicorn in a child process of the app, on 127.0.0.1 and a free
port. The app reaches it over HTTP exactly as it reaches a remote server.

A child process, not a thread: in the app's own process the server's Python work (a 1000-job queue
answer is ~50–150 ms of SQLAlchemy rows, schemas and JSON) shares the app's GIL, and bench/ui.py
--embedded measured the counter window's main thread blocked for 170–190 ms at a time while it ran.
The child is started with the "spawn" method everywhere (a frozen bundle calls freeze_support()),
is handed the already-bound listening socket, stops when told, and stops by itself when the app's
process goes away, so a crashed app never leaves a server holding the port and the database. As with
any spawned child, the program that starts it must guard its main module (`if __name__ == "__main__":`),
which every shopdesk entry point does: the child imports that module again."""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import socket
import threading
import time

from .config import SHUTDOWN_GRACE_SECONDS, Settings

log = logging.getLogger("shopdesk.server.embedded")


def _serve(settings: Settings, sock: socket.socket, ready, stop, parent_pid: int) -> None:  # the child
    import asyncio

    import uvicorn

    from .app import create_app
    from .guards import http_protocol

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
    asyncio.run(server.serve(sockets=[sock]))


class EmbeddedServer:
    def __init__(self, settings: Settings | None = None, host: str = "127.0.0.1", port: int = 0):
        self.settings = settings or Settings.from_env()
        self.host = host
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self.port = self._sock.getsockname()[1]
        self._ctx = multiprocessing.get_context("spawn")
        self._ready = self._ctx.Event()
        self._stop = self._ctx.Event()
        self._process: multiprocessing.process.BaseProcess | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.is_alive()

    def start(self, timeout: float = 30.0) -> str:
        """Starts serving and returns the URL once the server answers."""
        self._sock.listen(128)
        self._process = self._ctx.Process(target=_serve, name="shopdesk-embedded-api", daemon=True,
                                          args=(self.settings, self._sock, self._ready, self._stop, os.getpid()))
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

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._process is not None:
            self._process.join(timeout)
            if self._process.is_alive():
                log.warning("the embedded server did not stop in %.0f s; terminating it", timeout)
                self._process.terminate()
                self._process.join(5)
        self._sock.close()

    def __enter__(self) -> EmbeddedServer:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start_embedded(settings: Settings | None = None) -> EmbeddedServer:
    server = EmbeddedServer(settings)
    server.start()
    return server
