"""Session fixtures that start real things: API server processes (SQLite and PostgreSQL) and shops."""

from __future__ import annotations

import os

import pytest

from tests.helpers.server import ServerProcess, make_shop

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(scope="session")
def postgres():
    from tests.helpers.postgres import PostgresCluster

    cluster = PostgresCluster()
    cluster.start()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    """A real `shopdesk-server serve` on SQLite (the embedded default)."""
    server = ServerProcess(tmp_path_factory.mktemp("server-sqlite"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def api_server(request, tmp_path_factory):
    """The server on each supported database: tests using it run once per database."""
    if request.param == "sqlite":
        yield request.getfixturevalue("live_server")
        return
    cluster = request.getfixturevalue("postgres")
    server = ServerProcess(tmp_path_factory.mktemp("server-pg"), database_url=cluster.create_database("api"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def cupsd():
    """A private cupsd with virtual printers: Front (PDF to a file), Color, Wide (A3), Broken (its device
    fails), Paused (disabled). CUPS_SERVER points at it for the whole session."""
    from tests.helpers.cupsd import PrivateCupsd

    daemon = PrivateCupsd().start()
    old = os.environ.get("CUPS_SERVER")
    os.environ["CUPS_SERVER"] = daemon.server
    daemon.add_file_printer("Front")
    daemon.add_file_printer("Color", color=True)
    daemon.lpadmin("-p", "Wide", "-E", "-v", f"file://{daemon.out}/wide.out", "-m", "lsb/usr/cups-pdf/CUPS-PDF_opt.ppd")
    daemon.add_failing_printer("Broken")
    daemon.add_file_printer("Paused")
    daemon.disable("Paused", "Out of paper")
    yield daemon
    daemon.stop()
    if old is None:
        os.environ.pop("CUPS_SERVER", None)
    else:
        os.environ["CUPS_SERVER"] = old


@pytest.fixture
def shop(live_server):
    """A fresh, open shop with a staff member, a second counter's staff member and an owner."""
    return make_shop(live_server)


@pytest.fixture
def api_shop(api_server):
    """A fresh, open shop on each database."""
    return make_shop(api_server)


@pytest.fixture(scope="session")
def browser():
    """One headless chromium for the session (system chromium + chromedriver; nothing downloaded)."""
    from tests.helpers.browser import Browser, available

    why = available()
    if why:
        pytest.skip(why)
    b = Browser()
    yield b
    b.quit()
