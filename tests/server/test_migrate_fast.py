"""migrate() leaves a database already at the newest revision alone without loading Alembic (it is ~0.3 s
of every server start, bench/start.py); anything else still goes through Alembic."""

from __future__ import annotations

import subprocess
import sys

from sqlalchemy import create_engine, inspect, text

from shopdesk.server.db import MIGRATIONS, head_revision, migrate


def _alembic_head() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(cfg).get_current_head()


def _version(path) -> set[str]:
    engine = create_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as c:
            return {r[0] for r in c.execute(text("SELECT version_num FROM alembic_version"))}
    finally:
        engine.dispose()


def test_the_head_read_from_the_files_is_alembics():
    assert head_revision() == _alembic_head()


def test_an_older_database_is_still_upgraded_and_a_new_one_created(tmp_path):
    from alembic import command
    from alembic.config import Config

    old = tmp_path / "old.db"
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", f"sqlite:///{old}")
    command.upgrade(cfg, "0005")
    assert _version(old) == {"0005"}
    migrate(f"sqlite+aiosqlite:///{old}")
    assert _version(old) == {_alembic_head()}
    new = tmp_path / "new.db"
    migrate(f"sqlite+aiosqlite:///{new}")
    assert _version(new) == {_alembic_head()}
    engine = create_engine(f"sqlite:///{new}")
    try:
        assert "files" in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_a_database_at_the_head_is_left_alone_without_importing_alembic(tmp_path):
    db = tmp_path / "shop.db"
    migrate(f"sqlite+aiosqlite:///{db}")
    code = ("import sys; from shopdesk.server.db import migrate; "
            f"migrate({f'sqlite+aiosqlite:///{db}'!r}); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'alembic'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    assert _version(db) == {_alembic_head()}
