"""Passwords (argon2id) and bearer tokens (random, stored only as their SHA-256)."""

from __future__ import annotations

import functools
import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """A real hash to verify against when the user does not exist, so timing does not reveal usernames.
    Made at the first such login, not at import: an argon2 hash is ~0.25 s of every server start."""
    return _hasher.hash(secrets.token_urlsafe(16))


def warm() -> None:
    """Makes the dummy hash now (the server does, a moment after it started)."""
    _dummy_hash()


def hash_password(password: str) -> str:
    if len(password) < 8:
        raise ValueError("a password must have at least 8 characters")
    return _hasher.hash(password)


async def hash_off_loop(password: str, limiter=None) -> str:
    """hash_password in a worker thread (argon2 takes ~0.1 s of CPU: never on the event loop)."""
    import anyio

    return await anyio.to_thread.run_sync(hash_password, password, limiter=limiter)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
