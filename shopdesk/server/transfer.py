"""Moving a one-counter shop from the app's embedded server (SQLite and a files folder in the app's data
dir) onto a `shopdesk-server` database, PostgreSQL or SQLite, which may already serve other shops.

Every row of the shop's tables is copied in one transaction of the target: the shops, prices, logins,
orders, jobs, their audit trail, payouts, the ledger and the shop's events. Ids are given anew by the
target and every reference is mapped to them, so nothing collides with what the target already holds.
Not copied: login tokens (everyone logs in again on the new server), idempotency records and rate
counters and counters' heartbeats (short-lived by design). Usernames and job codes are unique across a server: when one is
taken in the target, nothing is written and the conflicts are listed. Stored files (by SHA-256) are
copied and verified before the transaction commits."""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Table, create_engine, event, func, insert, or_, select
from sqlalchemy.engine import Connection

from .config import Settings, to_sync_url
from .db import COUNT_COMMIT, _sqlite_pragmas, migrate
from .models import Base, Job, User
from .storage import FileStore, sha256_of

# Tables that are not the shop's lasting data.
# counters: liveness, re-sent every minute. webhooks: their secrets derive from the embedded server's own
# key, which does not move (the owner adds the connections again, with new secrets); their deliveries
# belong to them. commit_count: each database's own count of its write transactions.
SKIP = {"tokens", "idempotency_keys", "rate_counters", "counters", "webhooks", "webhook_deliveries",
        "commit_count"}
# Columns that hold another table's id without a foreign key constraint.
LOOSE_REFS = {("audit", "order_id"): "orders", ("audit", "shop_id"): "shops"}


class ImportRefused(Exception):
    """Nothing was written; the message says why and what to do."""


@dataclass
class ImportReport:
    rows: dict[str, int] = field(default_factory=dict)  # table → rows copied
    files: int = 0
    id_maps: dict[str, dict[int, int]] = field(default_factory=dict)  # table → {old id: new id}

    def summary(self) -> str:
        parts = ", ".join(f"{n} {t}" for t, n in self.rows.items() if n)
        return f"copied {parts}; {self.files} stored files"


def _snapshot(source_dir: Path, into: Path) -> Path:
    """A consistent copy of the embedded database (SQLite's backup API: safe even while the app runs),
    brought to the newest schema there, so the source is never changed."""
    src = source_dir / "shopdesk.db"
    if not src.is_file():
        raise ImportRefused(f"No embedded shop database in {source_dir} (expected {src.name}). Give the "
                            "app's server folder, e.g. ~/.local/share/shopdesk/shop.")
    copy = into / "shopdesk.db"
    with sqlite3.connect(f"file:{src}?mode=ro", uri=True) as a, sqlite3.connect(copy) as b:
        a.backup(b)
    migrate(f"sqlite+aiosqlite:///{copy}")
    return copy


def _tables() -> list[Table]:
    return [t for t in Base.metadata.sorted_tables if t.name not in SKIP]


def _refs(table: Table) -> dict[str, str]:
    """column → the table whose ids it holds."""
    refs = {fk.parent.name: fk.column.table.name for fk in table.foreign_keys}
    refs.update({col: target for (t, col), target in LOOSE_REFS.items() if t == table.name})
    return refs


def _conflicts(src: Connection, dst: Connection) -> list[str]:
    problems = []
    names = [r[0] for r in src.execute(select(User.username))]
    for chunk in range(0, len(names), 500):
        part = names[chunk:chunk + 500]
        same = or_(User.username.in_(part), func.lower(User.username).in_([n.lower() for n in part]))
        for (taken,) in dst.execute(select(User.username).where(same)):
            problems.append(f"the username '{taken}' already exists on the target server")
    codes = [r[0] for r in src.execute(select(Job.code))]
    for chunk in range(0, len(codes), 500):
        for (taken,) in dst.execute(select(Job.code).where(Job.code.in_(codes[chunk:chunk + 500]))):
            problems.append(f"the job code {taken} already exists on the target server")
    return problems


def import_embedded(source_dir: Path, target: Settings) -> ImportReport:
    source_dir = Path(source_dir).expanduser().resolve()
    report = ImportReport()
    with tempfile.TemporaryDirectory(prefix="shopdesk-import-") as tmp:
        snapshot = _snapshot(source_dir, Path(tmp))
        migrate(target.effective_database_url)
        src_engine = create_engine(f"sqlite:///{snapshot}")
        dst_url = to_sync_url(target.effective_database_url)
        dst_engine = create_engine(dst_url)
        if dst_url.startswith("sqlite"):
            event.listen(dst_engine, "connect", _sqlite_pragmas)
        source_files = FileStore(source_dir / "files")
        target_files = FileStore(target.files_dir)
        try:
            with src_engine.connect() as src, dst_engine.begin() as dst:
                problems = _conflicts(src, dst)
                if problems:
                    raise ImportRefused("Nothing was imported: " + "; ".join(problems[:20])
                                        + ("; …" if len(problems) > 20 else "")
                                        + ". Rename them on one side first.")
                for table in _tables():
                    _copy_table(table, src, dst, report)
                report.files = _copy_files(src, source_files, target_files)
                if dst_url.startswith("sqlite"):
                    dst.execute(COUNT_COMMIT)  # a server running on the target sees another process wrote
        finally:
            src_engine.dispose()
            dst_engine.dispose()
    return report


def _copy_table(table: Table, src: Connection, dst: Connection, report: ImportReport) -> None:
    refs = _refs(table)
    pk = [c.name for c in table.primary_key.columns]
    own_id = pk == ["id"]
    ids: dict[int, int] = {}
    rows = src.execute(select(table).order_by(*table.primary_key.columns)).mappings().all()
    plain = []
    for row in rows:
        values = dict(row)
        for col, other in refs.items():
            if values.get(col) is not None:
                values[col] = report.id_maps[other][values[col]]
        if own_id:
            old = values.pop("id")
            ids[old] = dst.execute(insert(table).values(**values).returning(table.c.id)).scalar_one()
        else:
            plain.append(values)
    if plain:
        dst.execute(insert(table), plain)
    report.id_maps[table.name] = ids
    report.rows[table.name] = len(rows)


def _copy_files(src: Connection, source: FileStore, target: FileStore) -> int:
    """Files of jobs still waiting (printed and cancelled jobs' files are deleted by design)."""
    copied = 0
    for (sha,) in src.execute(select(Job.sha256).distinct()):
        path = source.path_for(sha)
        if not path.is_file():
            continue
        final = target.path_for(sha)
        if final.is_file() and sha256_of(final) == sha:
            copied += 1
            continue
        final.parent.mkdir(parents=True, exist_ok=True)
        part = final.with_name(final.name + ".import.part")
        shutil.copyfile(path, part)
        if sha256_of(part) != sha:
            part.unlink(missing_ok=True)
            raise ImportRefused(f"The stored file {sha[:12]}… changed while it was copied; nothing was imported.")
        part.replace(final)
        copied += 1
    return copied
