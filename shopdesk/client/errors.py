"""Typed errors of the sync API, with messages a shopkeeper can read."""

from __future__ import annotations


class ApiError(Exception):
    """Base: `.status` is the HTTP status (0 when the server was not reached), `.message` the words."""

    status = 0

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status

    def __str__(self) -> str:
        return self.message


class ValidationError(ApiError):
    status = 400


class UnauthorizedError(ApiError):
    """No token, or it expired or was revoked: log in again."""

    status = 401


class ForbiddenError(ApiError):
    status = 403


class NotFoundError(ApiError):
    status = 404


class ConflictError(ApiError):
    """The job is not in a state that allows this (e.g. already printing at another counter)."""

    status = 409


class RateLimitedError(ApiError):
    status = 429

    def __init__(self, message: str, retry_after: float = 1.0):
        super().__init__(message)
        self.retry_after = retry_after


class ServerError(ApiError):
    status = 500


class StalledError(ApiError):
    """408: the request stopped arriving at the server on the way (a stalled network); the server did
    nothing with it, so it is sent again (with its Idempotency-Key)."""

    status = 408


class OfflineError(ApiError):
    """The server could not be reached (network down, server stopped, timeout)."""

    status = 0


class ChecksumError(ApiError):
    """A downloaded file does not match the SHA-256 the server announced."""


# 413 (too large) is a refusal of the request as sent, like a 400: the caller must change it.
BY_STATUS = {400: ValidationError, 401: UnauthorizedError, 403: ForbiddenError, 404: NotFoundError,
             409: ConflictError, 413: ValidationError}


def from_response(status: int, message: str, retry_after: float | None = None) -> ApiError:
    if status == 429:
        return RateLimitedError(message, retry_after or 1.0)
    if status == 408:
        return StalledError(f"The request did not reach the shop server whole ({message or 'HTTP 408'}); "
                            "it will be sent again.", status)
    if status >= 500:
        return ServerError(f"The shop server had a problem ({message or f'HTTP {status}'}); "
                           "try again in a moment.", status)
    cls = BY_STATUS.get(status, ApiError)
    return cls(message, status)
