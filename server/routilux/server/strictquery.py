"""Unknown query parameters are refused: a typo (``?flow=greet`` for ``?flow_id=greet``) must never
widen a query silently. One mechanism for every operation: an app-wide dependency checks the
query string against the parameters the matched route declares (its dependencies' included)."""

from __future__ import annotations

from fastapi import Depends, params
from fastapi.dependencies.utils import get_flat_params
from fastapi.routing import APIRoute
from starlette.requests import HTTPConnection

from routilux.server.errors import ApiError, ProblemError


def accepted_query(route: APIRoute) -> frozenset[str]:
    """The query parameter names ``route`` declares."""
    return frozenset(
        field.alias
        for field in get_flat_params(route.dependant)
        if isinstance(field.field_info, params.Query)
    )


def refusal(unknown: list[str], accepted: frozenset[str]) -> ApiError:
    known = ", ".join(sorted(accepted)) or "none"
    plural = "s" if len(unknown) > 1 else ""
    return ApiError(
        422,
        "unknown_query_parameter",
        f"unknown query parameter{plural} {', '.join(unknown)}; this operation accepts: {known}",
        errors=[
            ProblemError(
                loc=["query", name],
                msg=f"unknown parameter (accepted: {known})",
                type="unknown_parameter",
            )
            for name in unknown
        ],
    )


_ACCEPTED = "_routilux_accepted_query"


async def reject_unknown_query(request: HTTPConnection) -> None:
    """An app-wide dependency: 422 when the query string names a parameter the route lacks."""
    query_string: bytes = request.scope["query_string"]
    if not query_string:
        return
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    accepted: frozenset[str] | None = getattr(route, _ACCEPTED, None)
    if accepted is None:
        accepted = accepted_query(route)
        setattr(route, _ACCEPTED, accepted)
    # The request's own parse, which FastAPI reads its parameters from too: parsed once.
    names = request.query_params.keys()
    if not accepted.issuperset(names):
        raise refusal(sorted(set(names) - accepted), accepted)


STRICT_QUERY = Depends(reject_unknown_query)
