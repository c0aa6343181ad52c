"""Slow and oversized requests, stopped before they reach a route: the request line and headers must
arrive within `header_timeout_seconds` (an HTTP protocol class for uvicorn), a body may pause at most
`body_timeout_seconds` between reads, and any body that is not an upload is capped at `max_json_kb`
(413) — an ASGI middleware. Uploads stream through (their own limits are in uploads.py)."""

from __future__ import annotations

import asyncio
import os

import simplejson

from .config import Settings
from .errors import RequestTimeout

try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # pragma: no cover - uvicorn without httptools: no header timeout
    HttpToolsProtocol = None  # type: ignore[assignment,misc]

# Only the upload routes stream their (multipart) bodies; everywhere else a body is small and capped,
# whatever its Content-Type says.
STREAMED_PATHS = ("/upload", "/calculate-cost")


def _json_bytes(status: int, message: str) -> tuple[dict, dict]:
    body = simplejson.dumps({"error": message}).encode()
    start = {"type": "http.response.start", "status": status,
             "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                         (b"connection", b"close")]}
    return start, {"type": "http.response.body", "body": body}


class RequestGuard:
    def __init__(self, app, settings: Settings) -> None:
        self.app = app
        self.idle = float(settings.body_timeout_seconds)
        self.cap = settings.max_json_kb * 1024

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        if (scope.get("method") in ("GET", "HEAD") and b"content-length" not in headers
                and b"transfer-encoding" not in headers):
            # no body to wait for or cap: the request goes straight through (the queue's hot path)
            return await self.app(scope, receive, send)
        ctype = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        idle = self.idle

        async def patient_receive():
            try:
                return await asyncio.wait_for(receive(), timeout=idle)
            except TimeoutError as exc:
                raise RequestTimeout(f"The request body stopped arriving for {idle:.0f} s; please send it "
                                     "again.") from exc

        if scope.get("path") in STREAMED_PATHS and ctype == b"multipart/form-data":
            return await self.app(scope, patient_receive, send)
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.cap:
            return await self._refuse(send, 413, f"The request body is larger than {self.cap // 1024} KB.")
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            try:
                message = await asyncio.wait_for(receive(), timeout=idle)
            except TimeoutError:
                return await self._refuse(send, 408, f"The request body stopped arriving for {idle:.0f} s; "
                                                     "please send it again.")
            if message["type"] != "http.request":  # the client went away
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.cap:
                return await self._refuse(send, 413, f"The request body is larger than {self.cap // 1024} KB.")
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        delivered = False

        async def replay():
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: only the disconnect is left to hear

        return await self.app(scope, replay, send)

    @staticmethod
    async def _refuse(send, status: int, message: str) -> None:
        start, body = _json_bytes(status, message)
        await send(start)
        await send(body)


if HttpToolsProtocol is not None:
    class GuardedHttpProtocol(HttpToolsProtocol):  # type: ignore[misc,valid-type]
        """uvicorn's httptools protocol with a deadline for the request line and headers (slowloris):
        armed when a connection opens and when a request begins, disarmed when the headers are in."""

        header_timeout = float(os.environ.get("SHOPDESK_HEADER_TIMEOUT_SECONDS") or 10)
        _header_timer = None

        def _arm(self) -> None:
            self._disarm()
            self._header_timer = self.loop.call_later(self.header_timeout, self._headers_too_slow)

        def _disarm(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def connection_made(self, transport) -> None:
            super().connection_made(transport)
            self._arm()

        def on_message_begin(self) -> None:
            super().on_message_begin()
            if self._header_timer is None:
                self._arm()

        def on_headers_complete(self) -> None:
            self._disarm()
            super().on_headers_complete()

        def connection_lost(self, exc) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _headers_too_slow(self) -> None:
            self._header_timer = None
            if self.transport.is_closing():
                return
            body = b'{"error":"The request headers did not arrive in time."}'
            self.transport.write(b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
                                 b"content-length: " + str(len(body)).encode() + b"\r\nconnection: close\r\n\r\n"
                                 + body)
            self.transport.close()
else:  # pragma: no cover
    GuardedHttpProtocol = None  # type: ignore[assignment,misc]


def http_protocol(settings: Settings):
    """The protocol for uvicorn's `http=`: ours with the header deadline, or uvicorn's own choice."""
    if GuardedHttpProtocol is None:
        return "auto"
    GuardedHttpProtocol.header_timeout = float(settings.header_timeout_seconds)
    return GuardedHttpProtocol
