"""Server settings: every option declared once, with its default and the environment variable that sets it."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from urllib.parse import urlsplit

import platformdirs


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("shopdesk-server", appauthor=False))


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SystemExit(f"{name} must be a whole number (got {raw!r})") from exc

# On shutdown, requests still open after this long are cancelled: a long-poll (`GET /queue?wait=`) holds
# its connection for up to 30 s, and without a bound the server — and the app quitting with its embedded
# one — waited for it. Counters simply poll again.
SHUTDOWN_GRACE_SECONDS = 2


@dataclass
class Settings:
    """Defaults here; `Settings.from_env()` overlays SHOPDESK_* environment variables."""

    data_dir: Path = field(default_factory=default_data_dir)
    database_url: str | None = None  # None: SQLite file in data_dir
    token_ttl_seconds: int = 12 * 3600  # SHOPDESK_TOKEN_TTL_SECONDS
    login_rate_per_min: int = 10  # SHOPDESK_LOGIN_RATE_PER_MIN (per client IP)
    upload_rate_per_min: int = 5  # SHOPDESK_UPLOAD_RATE_PER_MIN (per client IP)
    anon_rate_per_min: int = 60  # SHOPDESK_ANON_RATE_PER_MIN (other unauthenticated routes, per IP)
    auth_rate_per_min: int = 600  # SHOPDESK_AUTH_RATE_PER_MIN (per token)
    # Wrong passwords in a row for one username from one client address before that pair is locked out
    # (logins.py: the 3rd and later first wait 1, 2, 4 … s); other addresses are never locked by them.
    max_failed_logins: int = 5  # SHOPDESK_MAX_FAILED_LOGINS
    lockout_seconds: int = 15 * 60  # SHOPDESK_LOCKOUT_SECONDS (how long the pair stays locked)
    max_file_mb: int = 20  # SHOPDESK_MAX_FILE_MB
    max_request_mb: int = 100  # SHOPDESK_MAX_REQUEST_MB
    max_files_per_upload: int = 20  # SHOPDESK_MAX_FILES_PER_UPLOAD
    heartbeat_limit_seconds: int = 180  # SHOPDESK_HEARTBEAT_LIMIT_SECONDS (default for new shops)
    requeue_after_seconds: int = 600  # SHOPDESK_REQUEUE_AFTER_SECONDS (printing jobs of a silent shop)
    sweep_interval_seconds: int = 30  # SHOPDESK_SWEEP_INTERVAL_SECONDS
    idempotency_ttl_seconds: int = 24 * 3600  # SHOPDESK_IDEMPOTENCY_TTL_SECONDS
    # SHOPDESK_SETUP_KEY: with it, `POST /setup` (header `Setup-Key`) creates the first shop and its owner
    # while the server has none. The app's embedded server gets a random one per start; unset, first-run
    # setup over the API is off (use `shopdesk-server create-shop` / `create-user`).
    setup_key: str | None = None
    # SHOPDESK_PUBLIC_URL: how customers reach this server (`https://print.example.shop`); job QR codes
    # carry `{public_url}/j/{code}`. "" → the address each request came in on.
    public_url: str = ""
    # Untrusted files are checked in worker processes with these limits (sandbox.py); see README.
    file_check_workers: int = field(default_factory=lambda: max(1, min(4, os.cpu_count() or 1)))  # SHOPDESK_FILE_CHECK_WORKERS
    file_check_cpu_seconds: int = 5  # SHOPDESK_FILE_CHECK_CPU_SECONDS (per file)
    file_check_wall_seconds: int = 15  # SHOPDESK_FILE_CHECK_WALL_SECONDS (per file)
    file_check_memory_mb: int = 1024  # SHOPDESK_FILE_CHECK_MEMORY_MB (per worker, Linux)
    max_pages_per_file: int = 2000  # SHOPDESK_MAX_PAGES_PER_FILE
    max_image_megapixels: int = 100  # SHOPDESK_MAX_IMAGE_MEGAPIXELS
    password_hash_threads: int = field(default_factory=lambda: max(1, min(4, os.cpu_count() or 1)))  # SHOPDESK_PASSWORD_HASH_THREADS
    # Slow clients: the request line and headers must arrive within header_timeout, and a body may pause
    # at most body_timeout between two reads.
    header_timeout_seconds: int = 10  # SHOPDESK_HEADER_TIMEOUT_SECONDS
    body_timeout_seconds: int = 30  # SHOPDESK_BODY_TIMEOUT_SECONDS
    max_json_kb: int = 256  # SHOPDESK_MAX_JSON_KB (any request body that is not an upload)
    # Addresses whose X-Forwarded-For / X-Forwarded-Proto are believed (comma-separated IPs or networks,
    # "*" for all); empty: none, the client address is the connection's.
    trusted_proxies: str = ""  # SHOPDESK_TRUSTED_PROXIES
    # Word and PowerPoint → PDF with LibreOffice (shopdesk/server/convert.py)
    convert_timeout_seconds: int = 60  # SHOPDESK_CONVERT_TIMEOUT_SECONDS (wall clock; also the CPU limit)
    convert_memory_mb: int = 2048  # SHOPDESK_CONVERT_MEMORY_MB (address space of the LibreOffice process)
    convert_max_parallel: int = 2  # SHOPDESK_CONVERT_MAX_PARALLEL (conversions at once, per server process)
    convert_max_unzipped_mb: int = 300  # SHOPDESK_CONVERT_MAX_UNZIPPED_MB (a .docx/.pptx unpacked, checked first)
    convert_cache_hours: int = 24  # SHOPDESK_CONVERT_CACHE_HOURS (converted PDFs kept for the upload after a quote)
    convert_cache_entries: int = 500  # SHOPDESK_CONVERT_CACHE_ENTRIES
    soffice: str = ""  # SHOPDESK_SOFFICE: LibreOffice's soffice; "" → found on PATH
    # Signed webhooks (services/webhooks.py, webhook_sender.py)
    webhook_key: str = ""  # SHOPDESK_WEBHOOK_KEY: derives the signing secrets; "" → data_dir/webhook.key
    webhook_backoff_seconds: float = 10.0  # SHOPDESK_WEBHOOK_BACKOFF_SECONDS: first retry; doubles, ≤ 24 h
    webhook_max_attempts: int = 20  # SHOPDESK_WEBHOOK_MAX_ATTEMPTS (then the delivery is marked failed)
    webhook_timeout_seconds: int = 5  # SHOPDESK_WEBHOOK_TIMEOUT_SECONDS (a whole try: connect, send, status line)
    webhook_concurrency: int = 4  # SHOPDESK_WEBHOOK_CONCURRENCY (deliveries in flight, per process)
    webhook_poll_seconds: float = 5.0  # SHOPDESK_WEBHOOK_POLL_SECONDS (how often the sender looks for retries come due)
    webhook_allow_private: int = 1  # SHOPDESK_WEBHOOK_ALLOW_PRIVATE: 0 → loopback/LAN receivers refused
    # Server processes serving this database (`serve --workers N`): each counts per-token rate limits in
    # memory and allows its share, ceil(limit / workers).
    workers: int = 1  # SHOPDESK_WORKERS
    longpoll_check_seconds: float = 0.25  # how often a held /queue?wait= checks the database
    max_wait_seconds: int = 30

    _ENV = {
        "token_ttl_seconds": "SHOPDESK_TOKEN_TTL_SECONDS",
        "login_rate_per_min": "SHOPDESK_LOGIN_RATE_PER_MIN",
        "upload_rate_per_min": "SHOPDESK_UPLOAD_RATE_PER_MIN",
        "anon_rate_per_min": "SHOPDESK_ANON_RATE_PER_MIN",
        "auth_rate_per_min": "SHOPDESK_AUTH_RATE_PER_MIN",
        "max_failed_logins": "SHOPDESK_MAX_FAILED_LOGINS",
        "lockout_seconds": "SHOPDESK_LOCKOUT_SECONDS",
        "max_file_mb": "SHOPDESK_MAX_FILE_MB",
        "max_request_mb": "SHOPDESK_MAX_REQUEST_MB",
        "max_files_per_upload": "SHOPDESK_MAX_FILES_PER_UPLOAD",
        "heartbeat_limit_seconds": "SHOPDESK_HEARTBEAT_LIMIT_SECONDS",
        "requeue_after_seconds": "SHOPDESK_REQUEUE_AFTER_SECONDS",
        "sweep_interval_seconds": "SHOPDESK_SWEEP_INTERVAL_SECONDS",
        "idempotency_ttl_seconds": "SHOPDESK_IDEMPOTENCY_TTL_SECONDS",
        "file_check_workers": "SHOPDESK_FILE_CHECK_WORKERS",
        "file_check_cpu_seconds": "SHOPDESK_FILE_CHECK_CPU_SECONDS",
        "file_check_wall_seconds": "SHOPDESK_FILE_CHECK_WALL_SECONDS",
        "file_check_memory_mb": "SHOPDESK_FILE_CHECK_MEMORY_MB",
        "max_pages_per_file": "SHOPDESK_MAX_PAGES_PER_FILE",
        "max_image_megapixels": "SHOPDESK_MAX_IMAGE_MEGAPIXELS",
        "password_hash_threads": "SHOPDESK_PASSWORD_HASH_THREADS",
        "header_timeout_seconds": "SHOPDESK_HEADER_TIMEOUT_SECONDS",
        "body_timeout_seconds": "SHOPDESK_BODY_TIMEOUT_SECONDS",
        "max_json_kb": "SHOPDESK_MAX_JSON_KB",
        "convert_timeout_seconds": "SHOPDESK_CONVERT_TIMEOUT_SECONDS",
        "convert_memory_mb": "SHOPDESK_CONVERT_MEMORY_MB",
        "convert_max_parallel": "SHOPDESK_CONVERT_MAX_PARALLEL",
        "convert_max_unzipped_mb": "SHOPDESK_CONVERT_MAX_UNZIPPED_MB",
        "convert_cache_hours": "SHOPDESK_CONVERT_CACHE_HOURS",
        "convert_cache_entries": "SHOPDESK_CONVERT_CACHE_ENTRIES",
        "webhook_max_attempts": "SHOPDESK_WEBHOOK_MAX_ATTEMPTS",
        "webhook_timeout_seconds": "SHOPDESK_WEBHOOK_TIMEOUT_SECONDS",
        "webhook_concurrency": "SHOPDESK_WEBHOOK_CONCURRENCY",
        "webhook_allow_private": "SHOPDESK_WEBHOOK_ALLOW_PRIVATE",
        "workers": "SHOPDESK_WORKERS",
    }

    @classmethod
    def from_env(cls, **overrides) -> Settings:
        values: dict = {}
        for f in fields(cls):
            env = cls._ENV.get(f.name)
            if env and os.environ.get(env):
                values[f.name] = _env_int(env, 0)
        if os.environ.get("SHOPDESK_DATA_DIR"):
            values["data_dir"] = Path(os.environ["SHOPDESK_DATA_DIR"])
        if os.environ.get("SHOPDESK_SETUP_KEY"):
            values["setup_key"] = os.environ["SHOPDESK_SETUP_KEY"]
        if os.environ.get("SHOPDESK_TRUSTED_PROXIES"):
            values["trusted_proxies"] = os.environ["SHOPDESK_TRUSTED_PROXIES"].strip()
        if os.environ.get("SHOPDESK_DATABASE_URL"):
            values["database_url"] = os.environ["SHOPDESK_DATABASE_URL"]
        if os.environ.get("SHOPDESK_SOFFICE", "").strip():
            values["soffice"] = os.environ["SHOPDESK_SOFFICE"].strip()
        for name, env in (("webhook_backoff_seconds", "SHOPDESK_WEBHOOK_BACKOFF_SECONDS"),
                          ("webhook_poll_seconds", "SHOPDESK_WEBHOOK_POLL_SECONDS")):
            raw = os.environ.get(env, "").strip()
            if raw:
                try:
                    values[name] = float(raw)
                except ValueError as exc:
                    raise SystemExit(f"{env} must be a number of seconds (got {raw!r})") from exc
        if os.environ.get("SHOPDESK_WEBHOOK_KEY", "").strip():
            values["webhook_key"] = os.environ["SHOPDESK_WEBHOOK_KEY"].strip()
        if os.environ.get("SHOPDESK_PUBLIC_URL", "").strip():
            values["public_url"] = os.environ["SHOPDESK_PUBLIC_URL"]
        values.update({k: v for k, v in overrides.items() if v is not None})
        settings = cls(**values)
        settings.data_dir = Path(settings.data_dir).expanduser().resolve()
        try:
            settings.public_url = clean_public_url(settings.public_url)
        except ValueError as exc:
            raise SystemExit(f"SHOPDESK_PUBLIC_URL: {exc}") from exc
        return settings

    @property
    def forwarded_allow_ips(self) -> list[str] | None:
        """For uvicorn: None when no proxy is trusted (then X-Forwarded-* headers are ignored)."""
        ips = [p.strip() for p in self.trusted_proxies.split(",") if p.strip()]
        return ips or None

    @property
    def files_dir(self) -> Path:
        return self.data_dir / "files"

    @property
    def conversions_dir(self) -> Path:
        return self.files_dir / "converted"

    @property
    def sync_database_url(self) -> str:
        """The URL for synchronous tools (Alembic, CLI)."""
        return to_sync_url(self.effective_database_url)

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return to_async_url(self.database_url)
        return f"sqlite+aiosqlite:///{self.data_dir / 'shopdesk.db'}"


def clean_public_url(url: str) -> str:
    """`http(s)://host[:port]` without a trailing slash, or "" — a job's QR code is this plus
    `/j/{code}`, and the counter's scanner takes only URLs whose path is exactly that, so no path here."""
    url = (url or "").strip().rstrip("/")
    if not url:
        return ""
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018 — ValueError for a port that is not a number
    except ValueError as exc:
        raise ValueError(f"{url!r} has an invalid port") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{url!r} must look like https://print.example.shop or http://192.168.1.20:8765")
    if parts.path or parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(f"{url!r} must be only scheme, host and port (no path): the pages live at /s/… and /j/…")
    return url


def to_async_url(url: str) -> str:
    if url.startswith("sqlite:///") or url.startswith("sqlite+pysqlite:///"):
        return "sqlite+aiosqlite:///" + url.split(":///", 1)[1]
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def to_sync_url(url: str) -> str:
    if url.startswith("sqlite+aiosqlite:///"):
        return "sqlite:///" + url.split(":///", 1)[1]
    return url  # postgresql+psycopg works both ways
