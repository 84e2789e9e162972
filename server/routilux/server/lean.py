"""Lean routes: a read operation declared as any other FastAPI route, served with less machinery.

An operation opts in with :func:`lean`, under its router's decorator::

    @router.get("/{job_id}", response_model=Job, responses=problems(404, 422))
    @lean
    async def get_job(job_id: JobId, request: Request, wait: Wait = 0) -> Response: ...

The declaration stays the one source: its path, parameters and response model make the OpenAPI
schema, and with ``Settings.lean_routes`` off FastAPI serves it as it serves any route.
:func:`install` adds, ahead of the app's routes, a :class:`LeanRoute` for each such operation,
made from its declaration (its path, methods and function; the dependencies of the app, router
and route): what it skips, and why that is safe,

* FastAPI's routing through included routers (two passes, and per-inclusion route contexts):
  the lean route is a plain Starlette route, one regular expression. It is matched first, so
  :func:`install` refuses a lean path that another operation with the same method could answer.
* FastAPI's request handler, which reads a body, solves a dependency graph (with a cache and an
  exit stack for ``yield`` dependencies), offers background tasks and a sub-response, then
  validates and serializes what the function returns: a lean operation has no body and no
  ``yield`` dependency, and returns a response whose JSON is already encoded (``JSONBytes``, by
  :mod:`routilux.jsonutil`). :func:`lean_handler` runs the dependencies, each of which takes only
  the request (the app-wide ``strictquery`` and ``bodies`` checks, ``RuntimeDep`` & co.), parses
  the path and query parameters with :class:`Parameters` (FastAPI's own per-parameter
  validation: the same values, and the same 422 at the same locations) and calls the function.
  Anything else is refused when the app is built, not at request time.

Everything around the handler is the same as for every route: the gate (auth, request id, rate
limit, metrics and log line, which read the declared route from the scope), HEAD, the exception
handlers (so every error is the same problem document) and the response classes. An equivalence
test sends generated requests to an app with lean routes and one without, and compares answers.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any, TypeVar

from fastapi import FastAPI, params
from fastapi._compat import ModelField, field_annotation_is_sequence
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import (
    get_dependant,
    get_parameterless_sub_dependant,
    request_params_to_args,
)
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute, APIRouter
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match
from starlette.routing import Route as StarletteRoute
from starlette.types import ASGIApp, Receive, Scope, Send

F = TypeVar("F", bound=Callable[..., Awaitable[Response]])
Handler = Callable[[Request], Coroutine[Any, Any, Response]]

_MARK = "__routilux_lean__"
_IMMUTABLE = (type(None), bool, int, float, str, bytes, tuple, frozenset)


def lean(endpoint: F) -> F:
    """Mark an operation to be served by a :class:`LeanRoute` (see :func:`install`)."""
    setattr(endpoint, _MARK, True)
    return endpoint


def is_lean(endpoint: object) -> bool:
    return bool(getattr(endpoint, _MARK, False))


class LeanRoute(StarletteRoute):
    """One lean operation: its declared route's path and methods, served by :func:`lean_handler`.

    The scope's ``route`` is the declared ``APIRoute``, as when FastAPI serves it: the gate's
    metrics and log line label by its template, and ``strictquery`` reads its parameters.
    """

    def __init__(self, declared: APIRoute, dependencies: Sequence[params.Depends]) -> None:
        super().__init__(declared.path, declared.endpoint, methods=declared.methods)
        # The declared methods, without the HEAD Starlette adds: HeadAsGet serves HEAD as GET.
        self.methods = set(declared.methods or ())
        self.declared = declared
        dependant = get_dependant(path=declared.path_format, call=declared.endpoint)
        for depends in reversed(dependencies):
            sub = get_parameterless_sub_dependant(depends=depends, path=declared.path_format)
            dependant.dependencies.insert(0, sub)
        self.app = _serve(lean_handler(dependant, declared.path_format))

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child_scope = super().matches(scope)
        if match is not Match.NONE:
            child_scope["route"] = self.declared
        return match, child_scope


def _serve(handler: Handler) -> ASGIApp:
    """The handler as an ASGI app: Starlette's ``request_response`` without its own exception
    wrapper. An error goes on to the app's ``ExceptionMiddleware``, which holds the same exception
    handlers (the app's) and answers with the same problem document; FastAPI's copy of
    ``request_response`` adds exit stacks for ``yield`` dependencies, which a lean operation does
    not have."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        response = await handler(Request(scope, receive, send))
        await response(scope, receive, send)

    return app


def install(app: FastAPI, routers: Sequence[APIRouter]) -> list[LeanRoute]:
    """Put a :class:`LeanRoute` ahead of the app's routes for each lean operation of ``routers``
    (included in ``app`` as they are, without a prefix or dependencies of their own)."""
    declared = [r for router in routers for r in router.routes if isinstance(r, APIRoute)]
    others = [r for r in app.router.routes if isinstance(r, StarletteRoute)]
    made: list[LeanRoute] = []
    for router in routers:
        for route in router.routes:
            if isinstance(route, APIRoute) and is_lean(route.endpoint):
                _check_alone(route, [*declared, *others])
                # As FastAPI includes it: the app's dependencies, then the router's and the
                # route's own (which the router merged into the route's).
                dependencies = [*app.router.dependencies, *route.dependencies]
                made.append(LeanRoute(route, dependencies))
    app.router.routes[0:0] = made
    return made


def _check_alone(route: APIRoute, declared: Sequence[StarletteRoute]) -> None:
    """Being matched first must change nothing: no other operation with one of its methods may
    answer one of its paths. Checked on each path with its parameters filled in."""

    def sample(path: StarletteRoute) -> str:
        return path.path_format.replace("{", "").replace("}", "")

    for other in declared:
        if other is route or not ((other.methods or set()) & (route.methods or set())):
            continue
        if route.path_regex.match(sample(other)) or other.path_regex.match(sample(route)):
            raise ValueError(f"lean route {route.path} overlaps {other.path}")


class _Field:
    """One parameter, and what FastAPI works out about it on every request, worked out once."""

    def __init__(self, field: ModelField) -> None:
        info = field.field_info
        assert isinstance(info, params.Param)
        self.field = field
        self.name = field.name
        self.alias = field.alias
        self.loc = (info.in_.value, field.alias)
        self.many = field_annotation_is_sequence(info.annotation)
        self.default = field.default
        # Set aside (FastAPI does the whole group): a value is required, the default is validated
        # or mutable, or another name may carry it.
        self.simple = (
            not info.is_required()
            and not info.validate_default
            and isinstance(field.default, _IMMUTABLE)
            and info.validation_alias is None
            and not _is_model(info.annotation)
        )


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


class Parameters:
    """A lean operation's path and query parameters, parsed and validated as FastAPI does (its
    ``request_params_to_args``: the same values, and the same errors at the same locations).

    A value sent is validated by its field, as FastAPI validates it; one not sent takes its
    default. Whatever else may happen (an error, a required value missing) is left to
    ``request_params_to_args`` itself, for the group (path, or query) where it happened.
    """

    def __init__(self, dependant: Dependant) -> None:
        self.path = dependant.path_params
        self.query = dependant.query_params
        self.path_fields = [_Field(f) for f in self.path]
        self.query_fields = [_Field(f) for f in self.query]
        self.fast = all(f.simple for f in self.query_fields)
        self.defaults = {f.name: f.default for f in self.query_fields}

    def parse(self, request: Request) -> dict[str, Any]:
        """The parameters' values by name; raises ``RequestValidationError`` with every error
        (path parameters first, then the query's, as FastAPI orders them)."""
        values: dict[str, Any] = {}
        errors: list[Any] = []
        path_params = request.path_params
        for field in self.path_fields:
            value, found = field.field.validate(path_params[field.alias], values, loc=field.loc)
            if found:  # FastAPI's own pass, for its exact errors
                values, errors = request_params_to_args(self.path, path_params)
                break
            values[field.name] = value
        if not request.scope["query_string"] and self.fast:
            values.update(self.defaults)
        else:
            query, query_errors = self._query(request)
            values.update(query)
            errors += query_errors
        if errors:
            raise RequestValidationError(errors)
        return values

    def _query(self, request: Request) -> tuple[dict[str, Any], list[Any]]:
        received = request.query_params
        if not self.fast:
            return request_params_to_args(self.query, received)
        values: dict[str, Any] = {}
        for field in self.query_fields:
            raw: Any = received.getlist(field.alias) if field.many else received.get(field.alias)
            if raw is None or (field.many and not raw):
                values[field.name] = field.default
                continue
            value, found = field.field.validate(raw, values, loc=field.loc)
            if found:
                return request_params_to_args(self.query, received)
            values[field.name] = value
        return values, []


def _takes_request_only(dependency: Dependant) -> str | None:
    """The request parameter's name of a dependency that takes nothing but the request (None:
    it takes nothing); ``TypeError`` for any other."""
    others = (
        dependency.dependencies,
        dependency.path_params,
        dependency.query_params,
        dependency.header_params,
        dependency.cookie_params,
        dependency.body_params,
    )
    if any(others) or not inspect.iscoroutinefunction(dependency.call):
        raise TypeError(
            f"{dependency.call!r}: a lean operation's dependencies are async "
            "functions of the request"
        )
    return dependency.request_param_name or dependency.http_connection_param_name


def lean_handler(dependant: Dependant, path: str) -> Handler:
    """The request handler of a lean operation (see the module's docstring)."""
    call = dependant.call
    if call is None or not inspect.iscoroutinefunction(call):
        raise TypeError(f"{path}: a lean operation is an async function")
    if any(
        (
            dependant.header_params,
            dependant.cookie_params,
            dependant.body_params,
            dependant.background_tasks_param_name,
            dependant.response_param_name,
            dependant.websocket_param_name,
            dependant.security_scopes_param_name,
        )
    ):
        raise TypeError(f"{path}: a lean operation takes path and query parameters only")
    dependencies = [(d.name, d.call, _takes_request_only(d)) for d in dependant.dependencies]
    parameters = Parameters(dependant)
    request_name = dependant.request_param_name or dependant.http_connection_param_name

    async def handler(request: Request) -> Response:
        values: dict[str, Any] = {}
        for name, dependency, connection in dependencies:
            assert dependency is not None
            solved = await (dependency(**{connection: request}) if connection else dependency())
            if name is not None:
                values[name] = solved
        values.update(parameters.parse(request))
        if request_name is not None:
            values[request_name] = request
        response = await call(**values)
        if not isinstance(response, Response):
            raise TypeError(f"{path}: a lean operation returns a response, not {response!r}")
        return response

    return handler
