"""A real webhook receiver on loopback: records every request (headers, raw body) and answers as the
test says — 200, 500, a redirect, slowly, or not at all (stopped, its port closed)."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def verify(secret: str, header: str, body: bytes, tolerance: float = 300) -> bool:
    """The receiver's side of `Shopdesk-Signature: t=<unix>,v1=<hex>` (as the README shows it)."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    t, sig = parts.get("t", ""), parts.get("v1", "")
    if not t.isdigit() or abs(time.time() - int(t)) > tolerance:
        return False
    expected = hmac.new(secret.encode(), t.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, sig)


class Receiver:
    def __init__(self, port: int = 0):
        self.requests: list[dict] = []  # {"headers", "body", "json", "answered"}
        self.answer = lambda n: (200, {}, 0.0)  # request number → (status, headers, delay before answering)
        self.release = threading.Event()
        self.release.set()
        self._lock = threading.Lock()
        self.port = port
        self._srv: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> Receiver:
        me = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 — http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with me._lock:
                    n = len(me.requests)
                    rec = {"headers": dict(self.headers), "body": body, "json": json.loads(body), "answered": None}
                    me.requests.append(rec)
                status, headers, delay = me.answer(n)
                me.release.wait(30)
                if delay:  # slower than the sender waits: it has hung up by then
                    time.sleep(delay)
                    rec["answered"] = "too late"
                    return
                try:
                    self.send_response(status)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    return
                rec["answered"] = status

            def log_message(self, *a):
                pass

        self._srv = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._srv.daemon_threads = True
        self.port = self._srv.server_address[1]
        threading.Thread(target=self._srv.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._srv:
            self._srv.shutdown()
            self._srv.server_close()
            self._srv = None

    def events(self, answered: int | None = 200) -> list[dict]:
        """The events received (their JSON), those answered with `answered` (None: all)."""
        with self._lock:
            return [r["json"] for r in self.requests if answered is None or r["answered"] == answered]
