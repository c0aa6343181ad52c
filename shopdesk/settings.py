"""The counter app's user settings: every option declared once (type, default, description), kept as
JSON in the user config dir, versioned. Window state is Qt's business and lives apart (QSettings).
No secrets here: the token and password live in the OS keyring."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import platformdirs

log = logging.getLogger("shopdesk.settings")
VERSION = 2


def config_dir() -> Path:
    return Path(os.environ.get("SHOPDESK_CONFIG_DIR") or platformdirs.user_config_dir("shopdesk", appauthor=False))


def data_dir() -> Path:
    return Path(os.environ.get("SHOPDESK_APP_DATA_DIR") or platformdirs.user_data_dir("shopdesk", appauthor=False))


def shop_dir(args) -> Path:
    """The built-in server's folder of this computer's own shop (its SQLite database and files)."""
    return Path(args.data_dir) if getattr(args, "data_dir", None) else data_dir() / "shop"


def demo_dir(args) -> Path:
    """The demo shop's built-in server's folder."""
    return Path(args.data_dir) if getattr(args, "data_dir", None) else data_dir() / "demo"


def log_dir() -> Path:
    return Path(os.environ.get("SHOPDESK_LOG_DIR") or platformdirs.user_log_dir("shopdesk", appauthor=False))


@dataclass
class RoutingRule:
    """When a job matches (colour / paper / duplex), send it to `printer`."""

    printer: str
    color_mode: str | None = None  # "color" | "bw" | None (any)
    paper_size: str | None = None  # "A4" | "A3" | "Letter" | "Legal" | None
    print_mode: str | None = None  # "double" | "single" | None


@dataclass
class AppSettings:
    # where the shop is: "" → not chosen yet (first run: the setup screen), "embedded" → this computer is
    # the shop (the built-in server, data in the user data dir), "remote" → a shop server at server_url
    shop_mode: str = ""
    server_url: str = ""  # the shop server, with shop_mode "remote"
    username: str = ""  # last login name (the token is in the keyring)
    counter_name: str = "Counter 1"  # shown to other counters ("already printing at Counter 1")
    default_printer: str = ""  # "" → CUPS's default, else the first printer
    routing: list[RoutingRule] = field(default_factory=list)
    auto_confirm: bool = True  # confirm when CUPS says completed; False → ask "Did it print?"
    print_ticket_first: bool = False  # a claim ticket with the job's QR before each job
    camera_source: str = "0"  # device index, file or stream URL
    sounds: bool = True
    notifications: bool = True
    hot_folder: str = ""  # where the "Hot folder" printer writes ("" → no such printer)
    hot_folder_takes: str = "A4"  # what its device takes: paper sizes, "colour", "duplex" (e.g. "A4 A3 colour")
    # the embedded server also listens for customers on the shop's Wi-Fi (Shop → Customer uploads…)
    customer_uploads: bool = False
    customer_port: int = 8765  # fixed, so the poster's address stays the same across restarts
    poster_printer: str = ""  # where the last poster was printed
    version: int = VERSION

    @classmethod
    def path(cls) -> Path:
        return config_dir() / "settings.json"

    @classmethod
    def load(cls, path: Path | None = None) -> AppSettings:
        path = path or cls.path()
        try:
            raw = json.loads(path.read_text("utf-8"))
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError) as exc:
            log.warning("settings file %s unreadable (%s); using defaults and keeping a copy", path, exc)
            try:
                path.replace(path.with_suffix(".broken.json"))
            except OSError:
                pass
            return cls()
        raw = _upgrade(raw)
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in raw.items() if k in known}
        values["routing"] = [RoutingRule(**r) for r in values.get("routing", []) if isinstance(r, dict) and r.get("printer")]
        return cls(**values)

    def save(self, path: Path | None = None) -> None:
        path = path or self.path()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2), "utf-8")
        tmp.replace(path)


def _upgrade(raw: dict) -> dict:
    """Versioned migrations of the settings file."""
    raw = dict(raw)
    raw.setdefault("version", 1)
    if raw["version"] < 2:  # v1 had no shop_mode: a server URL meant a remote shop, none meant the demo
        raw["shop_mode"] = "remote" if raw.get("server_url") else ""
    if raw.get("shop_mode") not in ("", "embedded", "remote"):
        raw["shop_mode"] = ""
    raw["version"] = VERSION
    return raw
