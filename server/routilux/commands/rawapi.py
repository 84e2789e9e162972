"""Operations that the generated client may not have yet, through its own HTTP connection.

They answer JSON (or raise ``ProblemError`` for a problem, like ``unwrap``), so the commands that
use them handle errors, keys and exit codes exactly as the others do.
"""

from __future__ import annotations

from typing import Any


def call(client: Any, method: str, path: str, **request: Any) -> Any:
    """``method path`` on the client's connection; the JSON answer, or ``ProblemError``."""
    from routilux_client.errors import UnexpectedStatus
    from routilux_client.helpers import ProblemError
    from routilux_client.helpers.problems import parse_problem

    response = client.get_httpx_client().request(method, path, **request)
    if response.status_code >= 400:
        problem = parse_problem(response.status_code, response.headers, response.content)
        if problem is not None:
            raise ProblemError(problem)
        raise UnexpectedStatus(response.status_code, response.content)
    return response.json() if response.content else None
