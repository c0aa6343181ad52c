"""The error envelope: every failure leaves the API as {"error": "..."} with the right status."""

from __future__ import annotations

import logging
from typing import Any

import simplejson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse as StarletteJSONResponse

log = logging.getLogger("shopdesk.server")


class JSONResponse(StarletteJSONResponse):
    """JSON with Decimal amounts written as numbers with their two decimals (25.00, not 25.0). A subclass of
    Starlette's, so FastAPI documents each route's response model as its JSON schema."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return simplejson.dumps(content, use_decimal=True, ensure_ascii=False, separators=(",", ":")).encode()


class ApiError(Exception):
    status = 400

    def __init__(self, message: str, status: int | None = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        self.headers = headers or {}

    def response(self) -> JSONResponse:
        return JSONResponse({"error": self.message}, status_code=self.status, headers=self.headers)


class BadRequest(ApiError):
    status = 400


class Unauthorized(ApiError):
    status = 401

    def __init__(self, message: str = "Please log in: no valid token was given, or it has expired."):
        super().__init__(message, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(ApiError):
    status = 403


class NotFound(ApiError):
    status = 404


class Conflict(ApiError):
    status = 409


class TooLarge(ApiError):
    status = 413


class RateLimited(ApiError):
    status = 429

    def __init__(self, message: str, retry_after: int):
        super().__init__(message, headers={"Retry-After": str(max(1, int(retry_after)))})
        self.retry_after = retry_after


class Unprocessable(ApiError):
    status = 422


class RequestTimeout(ApiError):
    status = 408

    def __init__(self, message: str):
        super().__init__(message, headers={"Connection": "close"})  # the rest of the body is not awaited


class Unavailable(ApiError):
    status = 503

    def __init__(self, message: str, retry_after: int):
        super().__init__(message, headers={"Retry-After": str(max(1, int(retry_after)))})


def _field(loc: tuple) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "form")]
    return ".".join(parts) or "request"


def _allowed_methods(request: Request) -> list[str]:
    from starlette.routing import Match

    scope = {**request.scope, "method": "GET"}
    methods: set[str] = set()
    for route in request.app.routes:
        match, _ = route.matches({**scope, "method": next(iter(getattr(route, "methods", None) or {"GET"}))})
        if match is Match.FULL:
            methods |= set(getattr(route, "methods", None) or ())
    return sorted(methods)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError):
        return exc.response()

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError):
        problems = []
        for err in exc.errors():
            msg = err.get("msg", "is invalid")
            if err.get("type") == "missing":
                msg = "is required"
            elif err.get("type") == "json_invalid":
                problems.append("the request body is not valid JSON")
                continue
            problems.append(f"{_field(tuple(err.get('loc', ())))}: {msg}")
        return JSONResponse({"error": "; ".join(problems) or "invalid request"}, status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        messages = {404: "Not found.", 405: "Method not allowed."}
        detail = exc.detail if isinstance(exc.detail, str) and exc.detail not in ("Not Found",) else None
        message = detail or messages.get(exc.status_code, "Request failed.")
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:  # every method the path has, across routers (GET /shop and PUT /shop)
            headers["Allow"] = ", ".join(_allowed_methods(request))
        return JSONResponse({"error": message}, status_code=exc.status_code, headers=headers or None)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return JSONResponse({"error": "Internal server error; it has been logged."}, status_code=500)
