"""Every error becomes an RFC 9457 problem: one table maps domain errors to statuses and codes."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from routilux.engine import errors as engine
from routilux.engine.expressions import ExpressionError
from routilux.jsonutil import dumps

log = logging.getLogger("routilux.server")

PROBLEM_MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:routilux:problem:"


class ProblemError(BaseModel):
    """One located problem in a request."""

    loc: list[str | int] = Field(
        description="Path to the value: body, query, path or header first."
    )
    msg: str
    type: str


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    type: str = Field(description="A stable URI per kind of problem.")
    title: str
    status: int = Field(ge=400, le=599)
    detail: str
    instance: str = Field(description="The request path.")
    code: str = Field(description="Stable snake_case code, e.g. flow_not_found.")
    request_id: str
    errors: list[ProblemError] | None = Field(None, description="Each invalid value (422).")


TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    412: "Precondition failed",
    413: "Content too large",
    415: "Unsupported media type",
    421: "Misdirected request",
    422: "Unprocessable content",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}

# Domain error class -> HTTP status. Subclasses inherit their parent's row.
STATUS_BY_ERROR: dict[type[engine.RoutiluxError], int] = {
    engine.NotFound: 404,
    engine.Conflict: 409,
    engine.QueueFull: 429,
    engine.StoreUnavailable: 503,
    engine.InvalidInput: 422,
    engine.FlowValidationError: 422,
    ExpressionError: 422,
}


class ApiError(Exception):
    """An HTTP-level error raised by the server layer itself (412, 415, 401 ...)."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        errors: Sequence[ProblemError] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.errors = list(errors) if errors is not None else None
        self.headers = headers or {}


def problem_response(
    request: Request | None,
    status: int,
    code: str,
    detail: str,
    *,
    errors: Sequence[ProblemError] | None = None,
    headers: dict[str, str] | None = None,
    path: str | None = None,
    request_id: str | None = None,
) -> Response:
    if request is not None:
        path = request.url.path
        request_id = getattr(request.state, "request_id", None)
    body: dict[str, Any] = {
        "type": TYPE_PREFIX + code,
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "instance": path or "/",
        "code": code,
        "request_id": request_id or "",
    }
    if errors is not None:
        body["errors"] = [e.model_dump() for e in errors]
    return Response(dumps(body), status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def status_for(exc: engine.RoutiluxError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 500


def _domain_errors(exc: engine.RoutiluxError) -> list[ProblemError] | None:
    if isinstance(exc, engine.FlowValidationError):
        return [ProblemError(loc=["body", *e.loc], msg=e.message, type=e.kind) for e in exc.errors]
    if isinstance(exc, engine.InvalidInput):
        return [ProblemError(loc=["body", *exc.loc], msg=exc.message, type=exc.code)]
    if isinstance(exc, ExpressionError):
        return [ProblemError(loc=["body"], msg=exc.message, type="invalid_expression")]
    return None


def allowed_methods(request: Request) -> list[str]:
    """Every method some route accepts at this path (Starlette names only the first route's)."""
    path = request.url.path
    methods = {
        m
        for regex, route_methods in request.app.state.routes
        for m in route_methods
        if regex.match(path)
    }
    return sorted(methods)


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into a problem response."""

    async def on_api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return problem_response(
            request, exc.status, exc.code, exc.detail, errors=exc.errors, headers=exc.headers
        )

    async def on_domain_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, engine.RoutiluxError)
        status = status_for(exc)
        if status == 500:
            raise exc  # the gate turns it into an opaque 500 and logs it
        headers = {}
        if isinstance(exc, engine.QueueFull | engine.StoreUnavailable):
            headers["Retry-After"] = str(exc.retry_after)
        return problem_response(
            request, status, exc.code, exc.message, errors=_domain_errors(exc), headers=headers
        )

    async def on_validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errors = [
            ProblemError(loc=list(err["loc"]), msg=err["msg"], type=err["type"])
            for err in exc.errors()
        ]
        first = errors[0] if errors else None
        detail = f"{'.'.join(map(str, first.loc))}: {first.msg}" if first else "invalid request"
        if len(errors) > 1:
            detail += f" (and {len(errors) - 1} more)"
        return problem_response(request, 422, "validation_error", detail, errors=errors)

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 400:
            # Only FastAPI's body parsing raises this (a JSON body that is not UTF-8): answer as
            # it answers any other undecodable JSON body, so one kind of mistake has one status.
            msg, kind = "the body is not valid JSON", "json_invalid"
            if isinstance(exc.__cause__, RecursionError):  # deeper than the decoder goes
                msg, kind = "values are nested too deeply", "too_deep"
            error = ProblemError(loc=["body"], msg=msg, type=kind)
            return problem_response(
                request, 422, "validation_error", f"body: {msg}", errors=[error]
            )
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        detail = exc.detail if isinstance(exc.detail, str) else TITLES.get(exc.status_code, "")
        if exc.status_code == 404:
            detail = f"no resource at {request.url.path}"
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            detail = f"{request.method} is not allowed on {request.url.path}"
            headers["Allow"] = ", ".join(allowed_methods(request))
        return problem_response(request, exc.status_code, code, detail, headers=headers)

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(engine.RoutiluxError, on_domain_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
