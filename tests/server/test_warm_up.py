"""The server's warm-up (app.py `_warm_up`) makes ready what only later requests need. Its route step:
FastAPI prepares an included router's routes when a request first passes through it (~60 ms each on
this machine, the customer's first page and upload included); the warm-up asks every route once."""

from __future__ import annotations

import pytest

from shopdesk.server.app import _prepare_routes, create_app
from shopdesk.server.config import Settings


def _prepared(app) -> list[bool]:
    # FastAPI's own record of having prepared an included router (version of the routes it prepared)
    return [r._effective_candidates_version is not None for r in app.router.routes
            if hasattr(r, "_effective_candidates_version")]


def test_the_warm_up_prepares_every_router_a_request_would(tmp_path):
    app = create_app(Settings.from_env(data_dir=tmp_path), run_migrations=False, sweep=False)
    before = _prepared(app)
    if not before:
        pytest.skip("this FastAPI keeps no record of preparing included routers (checked with 0.165)")
    assert not any(before)
    _prepare_routes(app)
    assert all(_prepared(app))
