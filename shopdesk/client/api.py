"""ShopClient: one requests.Session to the sync API, timeouts on every call, the REQUEST retry policy of
retry.py on connection errors, 5xx and 429 (honouring Retry-After) and never on other 4xx, the
server's {"error"} as typed exceptions. Every state-changing POST carries an Idempotency-Key, so a
retry after a lost answer cannot change anything twice."""

from __future__ import annotations

import hashlib
import json
import logging
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from pathlib import Path

import requests

from .errors import (
    ApiError,
    ChecksumError,
    OfflineError,
    RateLimitedError,
    ServerError,
    StalledError,
    UnauthorizedError,
    from_response,
)
from .retry import REQUEST

log = logging.getLogger("shopdesk.client")


def _decimal(text: str) -> Decimal:
    return Decimal(text)


def loads(content: bytes):
    # A Python-level hook (not the bare Decimal type) on purpose: json's C scanner holds the GIL for the
    # whole document, but each call of a Python function is a point where the UI thread can take it —
    # parsing a 1000-job queue off the main thread then no longer stalls the window (bench/ui.py).
    return json.loads(content, parse_float=_decimal)


# Failures of the connection itself (nothing or only part of an answer arrived): worth a retry, and
# harmless to retry because every state-changing POST carries an Idempotency-Key.
TRANSIENT_TRANSPORT = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)


class ShopClient:
    """The counter's connection to one shop server. `sleep` is passed in so tests can see the waits;
    `max_retry_after` bounds how long one call may block on a 429 (longer → RateLimitedError at once,
    so a UI worker is not held for minutes); `on_unauthorized` is the "log in again" signal."""

    def __init__(self, base_url: str, token: str | None = None, *, connect_timeout: float = 3.05,
                 read_timeout: float = 20.0, retries: int = 4, sleep: Callable[[float], None] = time.sleep,
                 on_unauthorized: Callable[[UnauthorizedError], None] | None = None,
                 max_retry_after: float = 60.0):
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.connect_timeout, self.read_timeout = connect_timeout, read_timeout
        self.retries = retries
        self.max_retry_after = max_retry_after
        self._sleep = sleep
        self.on_unauthorized = on_unauthorized
        self.session = requests.Session()
        self.session.headers["User-Agent"] = "shopdesk-counter"
        self.profile_cache: dict | None = None

    # --- transport -----------------------------------------------------------------------------------
    def request(self, method: str, path: str, *, json_body=None, params=None, headers=None, data=None, files=None,
                idempotency_key: str | None = None, retry: bool = True, read_timeout: float | None = None,
                stream: bool = False, auth: bool = True) -> requests.Response:
        """One call with the REQUEST retry policy (retry.py): connection errors, timeouts, 5xx and 429 are
        retried (`self.retries` times, 429 after at least its Retry-After); any other 4xx is an answer
        and raised at once as its typed error."""
        hdrs = dict(headers or {})
        if auth and self.token:
            hdrs["Authorization"] = f"Bearer {self.token}"
        if method == "POST" and idempotency_key is None and path != "/login":
            idempotency_key = str(uuid.uuid4())  # fixed for this call's retries
        if idempotency_key:
            hdrs["Idempotency-Key"] = idempotency_key
        backoff = REQUEST.backoff()
        attempts = 1 + (self.retries if retry else 0)
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                r = self.session.request(method, self.base_url + path, json=json_body, params=params, data=data,
                                         files=files, headers=hdrs, stream=stream,
                                         timeout=(self.connect_timeout, read_timeout or self.read_timeout))
            except TRANSIENT_TRANSPORT as exc:
                if last:
                    raise OfflineError(self._offline_words(exc)) from exc
                self._sleep(backoff.next_delay())
                continue
            if r.status_code in (408, 429) or r.status_code >= 500:
                err = self._error(r)
                r.close()
                retry_after = err.retry_after if isinstance(err, RateLimitedError) else None
                if last or (retry_after is not None and retry_after > self.max_retry_after):
                    raise err
                log.info("%s %s → %s; retrying", method, path, r.status_code)
                self._sleep(backoff.next_delay(retry_after))
                continue
            if r.status_code >= 400:
                err = self._error(r)
                r.close()
                if isinstance(err, UnauthorizedError) and self.on_unauthorized and auth:
                    self.on_unauthorized(err)
                raise err
            return r
        raise AssertionError("unreachable")

    def _offline_words(self, exc: Exception) -> str:
        if isinstance(exc, requests.Timeout):
            return f"The shop server at {self.base_url} did not answer in time. Check the network."
        return f"Cannot reach the shop server at {self.base_url}. Check the network or whether it is running."

    @staticmethod
    def _error(r: requests.Response) -> ApiError:
        try:
            message = r.json().get("error") or r.reason
        except (ValueError, AttributeError):
            message = r.reason or f"HTTP {r.status_code}"
        return from_response(r.status_code, message, parse_retry_after(r.headers.get("Retry-After")))

    def _json(self, method: str, path: str, **kw):
        return loads(self.request(method, path, **kw).content)

    # --- account -------------------------------------------------------------------------------------
    def login(self, username: str, password: str) -> dict:
        body = self._json("POST", "/login", json_body={"username": username, "password": password}, auth=False)
        self.token = body["token"]
        self.profile_cache = body
        return body

    def logout(self) -> None:
        try:
            self.request("POST", "/logout", retry=False)
        finally:
            self.token = None

    def profile(self) -> dict:
        return self._json("GET", "/profile")

    def healthz(self) -> dict:
        return self._json("GET", "/healthz", auth=False, retry=False)

    # --- shop ----------------------------------------------------------------------------------------
    def shop(self) -> dict:
        return self._json("GET", "/shop")

    def set_open(self, is_open: bool) -> dict:
        return self._json("POST", "/shop/status", json_body={"is_open": is_open})

    def heartbeat(self, report: dict | None = None) -> dict:
        """report: {counter, version, printers:[{name, ready, reason, color, duplex, paper_sizes}]} — the
        counter as itself; None sends the empty heartbeat of older counters."""
        return self._json("POST", "/shop/heartbeat", json_body=report, retry=False)

    # --- the owner's controls --------------------------------------------------------------------------
    def update_shop(self, **profile) -> dict:
        """name, address, phone, hours: the ones given change."""
        return self._json("PUT", "/shop", json_body=profile)

    def set_prices(self, prices: list[dict]) -> list:
        """[{color_mode, paper_size, price (Decimal or str)}] — the whole table at once."""
        # amounts as strings: exact on the wire, never through a float
        return self._json("PUT", "/shop/prices", json_body={"prices": [{**p, "price": str(p["price"])} for p in prices]})

    def staff(self) -> list:
        return self._json("GET", "/shop/staff")

    def add_staff(self, *, username: str, password: str, full_name: str = "", role: str = "staff") -> dict:
        return self._json("POST", "/shop/staff", json_body={"username": username, "password": password,
                                                            "full_name": full_name, "role": role})

    def update_staff(self, user_id: int, **change) -> dict:
        """active, password, full_name, role."""
        return self._json("PUT", f"/shop/staff/{user_id}", json_body=change)

    def shop_events(self) -> list:
        return self._json("GET", "/shop/events")

    def counters(self) -> dict:
        """{counters:[{counter, last_seen_at, version, state, printers}], paused, unavailable}"""
        return self._json("GET", "/shop/counters")

    # --- first run -------------------------------------------------------------------------------------
    def setup_status(self) -> dict:
        return self._json("GET", "/setup", auth=False)

    def setup(self, body: dict, setup_key: str) -> dict:
        """Creates the first shop with its owner (the embedded server's first run) and logs in as that owner."""
        prices = body.get("prices")
        if prices is not None:
            body = {**body, "prices": [{**p, "price": str(p["price"])} for p in prices]}
        answer = self._json("POST", "/setup", json_body=body, auth=False, headers={"Setup-Key": setup_key})
        self.token = answer["token"]
        return answer

    def history(self, **params) -> dict:
        return self._json("GET", "/shop/history", params=params)

    def payouts(self) -> dict:
        return self._json("GET", "/shopkeeper/payouts")

    def earnings(self, group_by: str = "day", days: int = 90) -> list:
        return self._json("GET", "/shopkeeper/earnings", params={"group_by": group_by, "days": days})

    # --- the owner's day and connections -------------------------------------------------------------
    def reconciliation(self, day: str, tz: str | None = None) -> dict:
        """The end-of-day report of `day` (YYYY-MM-DD) in zone `tz` (e.g. this computer's, Area/City)."""
        return self._json("GET", "/shop/reconciliation", params={"date": day, **({"tz": tz} if tz else {})})

    def reconciliation_csv(self, day: str, tz: str | None = None) -> str:
        r = self.request("GET", "/shop/reconciliation", params={"date": day, **({"tz": tz} if tz else {})},
                         headers={"Accept": "text/csv"})
        return r.content.decode("utf-8")

    def webhooks(self) -> list:
        return self._json("GET", "/shop/webhooks")

    def add_webhook(self, url: str, events: list[str]) -> dict:
        """The new webhook with its `secret` (shown this once)."""
        return self._json("POST", "/shop/webhooks", json_body={"url": url, "events": events})

    def delete_webhook(self, webhook_id: int) -> None:
        self.request("DELETE", f"/shop/webhooks/{webhook_id}").close()

    def webhook_deliveries(self, webhook_id: int) -> list:
        return self._json("GET", f"/shop/webhooks/{webhook_id}/deliveries")

    # --- queue ---------------------------------------------------------------------------------------
    def queue(self, etag: str | None = None, wait: int = 0) -> tuple[list | None, str | None]:
        """(orders, etag); orders is None when nothing changed (304)."""
        headers = {"If-None-Match": etag} if etag else {}
        params = {"wait": wait} if wait else None
        r = self.request("GET", "/queue", headers=headers, params=params, retry=False,
                         read_timeout=wait + self.read_timeout)
        if r.status_code == 304:
            return None, r.headers.get("ETag", etag)
        return loads(r.content), r.headers.get("ETag")

    def order_files(self, order_id: int) -> list:
        return self._json("GET", f"/queue/{order_id}/files")

    def job_by_code(self, code: str) -> dict:
        return self._json("GET", f"/file/{code}")

    def audit(self, code: str) -> list:
        return self._json("GET", f"/file/{code}/audit")

    def print_started(self, file_id: int, *, printer: str, counter: str, idempotency_key: str | None = None) -> dict:
        return self._json("POST", f"/queue/{file_id}/print-started", json_body={"printer": printer, "counter": counter},
                          idempotency_key=idempotency_key)

    def print_failed(self, file_id: int, reason: str, *, counter: str = "", idempotency_key: str | None = None) -> dict:
        body = {"reason": reason, **({"counter": counter} if counter else {})}
        return self._json("POST", f"/queue/{file_id}/print-failed", json_body=body, idempotency_key=idempotency_key)

    def confirm(self, file_id: int, *, printer: str = "", counter: str = "", impressions: int | None = None,
                sheets: int | None = None, idempotency_key: str | None = None) -> dict:
        """`impressions`/`sheets`: what the counter read from CUPS, for the reconciliation (sent when known)."""
        body: dict = {"printer": printer, "counter": counter}
        body.update({k: v for k, v in (("impressions", impressions), ("sheets", sheets)) if v is not None})
        return self._json("POST", f"/queue/{file_id}/confirm", json_body=body, idempotency_key=idempotency_key)

    def cancel(self, file_id: int, reason: str, idempotency_key: str | None = None) -> dict:
        return self._json("POST", f"/queue/{file_id}/cancel", json_body={"reason": reason},
                          idempotency_key=idempotency_key)

    # --- files ---------------------------------------------------------------------------------------
    def download_to(self, file_id: int, dest: Path, *, expected_sha256: str | None = None,
                    progress: Callable[[int, int], None] | None = None, chunk: int = 256 * 1024,
                    sink: Callable[[bytes], None] | None = None) -> str:
        """Streams the file into `dest` (a temp path the caller renames); returns its SHA-256 hex.
        Raises ChecksumError when it does not match `expected_sha256` (or the server's ETag). `sink` gets
        every block too, as it arrives (unverified until this returns)."""
        r = self.request("GET", f"/queue/download/{file_id}", stream=True, read_timeout=60)
        total = int(r.headers.get("Content-Length") or 0)
        announced = (r.headers.get("ETag") or "").strip('"') or None
        h = hashlib.sha256()
        done = 0
        try:
            with open(dest, "wb") as out:
                for block in r.iter_content(chunk):
                    out.write(block)
                    h.update(block)
                    if sink is not None:
                        sink(block)
                    done += len(block)
                    if progress:
                        progress(done, total)
        except TRANSIENT_TRANSPORT as exc:
            raise OfflineError("The download was interrupted (the network or the shop server went away); "
                               "nothing was kept — try again.") from exc
        finally:
            r.close()
        digest = h.hexdigest()
        want = expected_sha256 or announced
        if want and digest != want:
            raise ChecksumError(f"The downloaded file is damaged (checksum mismatch after {done} bytes); "
                                "it was discarded — try again.")
        if total and done != total:
            raise ChecksumError(f"The download stopped early ({done} of {total} bytes); try again.")
        return digest


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After is either seconds or an HTTP date (RFC 9110 §10.2.3); None when absent or unreadable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def is_transient(exc: BaseException) -> bool:
    """Errors worth retrying later (the server or network), as opposed to a refusal."""
    return isinstance(exc, (OfflineError, StalledError, ServerError, RateLimitedError))
