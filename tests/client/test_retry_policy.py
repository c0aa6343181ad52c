"""The written retry policy (retry.py) and the error mapping, without a network: the numbers the policy
promises, Retry-After in both of its forms, and the exception names the other packages import."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from shopdesk.client import errors
from shopdesk.client.api import is_transient, parse_retry_after
from shopdesk.client.retry import Backoff


def test_backoff_starts_at_half_a_second_grows_with_jitter_and_is_capped():
    random.seed(7)
    b = Backoff()
    delays = [b.next_delay() for _ in range(20)]
    steps = [min(30.0, 0.5 * 1.6**n) for n in range(20)]
    for d, step in zip(delays, steps, strict=True):
        assert step / 2 <= d <= step
    assert delays[0] <= 0.5 and max(delays) <= 30.0
    assert delays[-1] >= 15.0  # capped, not stuck at the start
    assert len({round(d, 6) for d in delays[-8:]}) == 8  # jitter: counters that lost the server together spread
    b.reset()
    assert b.next_delay() <= 0.5


def test_retry_after_replaces_a_shorter_step_but_not_a_longer_one():
    b = Backoff(initial=0.5)
    assert b.next_delay(retry_after=7) == 7
    b = Backoff(initial=100, cap=100)
    assert b.next_delay(retry_after=1) >= 50
    assert Backoff().next_delay(retry_after=10_000) == 300.0  # a silly header cannot park a counter for hours


def test_retry_after_is_read_as_seconds_or_as_an_http_date():
    now = datetime(2026, 11, 22, 10, 30, tzinfo=UTC)
    assert parse_retry_after("12") == 12.0
    assert parse_retry_after(format_datetime(now + timedelta(seconds=45), usegmt=True), now=now) == 45.0
    assert parse_retry_after(format_datetime(now - timedelta(seconds=45), usegmt=True), now=now) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


@pytest.mark.parametrize(("status", "cls", "transient"), [
    (400, errors.ValidationError, False),
    (401, errors.UnauthorizedError, False),
    (403, errors.ForbiddenError, False),
    (404, errors.NotFoundError, False),
    (409, errors.ConflictError, False),
    (413, errors.ValidationError, False),
    (408, errors.StalledError, True),
    (429, errors.RateLimitedError, True),
    (500, errors.ServerError, True),
    (503, errors.ServerError, True),
])
def test_statuses_map_to_typed_errors_and_only_server_trouble_is_worth_retrying(status, cls, transient):
    err = errors.from_response(status, "the server's words", 3.0)
    assert type(err) is cls and err.status == status and isinstance(err, errors.ApiError)
    assert "the server's words" in str(err) and err.message == str(err)
    assert is_transient(err) is transient
    if cls is errors.RateLimitedError:
        assert err.retry_after == 3.0


def test_server_trouble_and_offline_read_as_actions_for_a_shopkeeper():
    assert "try again in a moment" in str(errors.from_response(502, ""))
    off = errors.OfflineError("Cannot reach the shop server")
    assert off.status == 0 and is_transient(off)
    assert not is_transient(errors.ChecksumError("damaged"))


def test_the_error_module_holds_exactly_the_contracted_names():
    contracted = {"ApiError", "UnauthorizedError", "ForbiddenError", "NotFoundError", "ConflictError",
                  "RateLimitedError", "ValidationError", "OfflineError", "ServerError", "ChecksumError",
                  "StalledError"}
    defined = {n for n, v in vars(errors).items() if isinstance(v, type) and issubclass(v, Exception)}
    assert defined == contracted


def test_each_purpose_has_one_named_policy_and_the_clients_use_them():
    from shopdesk.client import retry

    assert [(p.name, p.initial, p.factor, p.cap) for p in retry.POLICIES] == [
        ("request", 0.5, 1.6, 30.0), ("queue watch", 0.5, 1.6, 15.0), ("outbox", 1.0, 1.6, 60.0),
        ("login", 0.5, 1.6, 15.0)]
    b = retry.OUTBOX.backoff()
    assert (b.initial, b.factor, b.cap, b.attempt) == (1.0, 1.6, 60.0, 0)
    assert 0.5 <= b.next_delay() <= 1.0  # equal jitter: between half and all of the step
