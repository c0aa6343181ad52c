"""The sync API inside the app: uvicorn in a background thread on 127.0.0.1 and a free port.
The app reaches it over HTTP exactly as it reaches a remote server."""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import uvicorn

from .app import create_app
from .config import Settings


class EmbeddedServer:
    def __init__(self, settings: Settings | None = None, host: str = "127.0.0.1", port: int = 0):
        self.settings = settings or Settings.from_env()
        self.host = host
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self.port = self._sock.getsockname()[1]
        config = uvicorn.Config(create_app(self.settings), log_level="warning", lifespan="on")
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 30.0) -> str:
        """Starts serving and returns the URL once the server answers."""
        def run():
            try:
                asyncio.run(self._server.serve(sockets=[self._sock]))
            except BaseException as exc:  # reported by start()
                self._error = exc

        self._thread = threading.Thread(target=run, name="shopdesk-embedded-api", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if self._error or not self._thread.is_alive():
                raise RuntimeError(f"the embedded server did not start: {self._error!r}")
            if time.monotonic() > deadline:
                raise TimeoutError("the embedded server did not start in time")
            time.sleep(0.02)
        return self.url

    def stop(self, timeout: float = 10.0) -> None:
        self._server.should_exit = True
        if self._thread:
            self._thread.join(timeout)
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
