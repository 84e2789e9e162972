"""Every item of a paged list, across cursors."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from typing import ParamSpec, Protocol, TypeVar

from routilux_client.helpers.problems import unwrap
from routilux_client.models.problem import Problem

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)
P = ParamSpec("P")


class Page(Protocol[T_co]):
    """A page of a list operation: ``FlowPage``, ``JobPage``, ``WorkerPage`` ..."""

    @property
    def items(self) -> Sequence[T_co]: ...

    @property
    def next_cursor(self) -> str | None: ...


def iterate(
    fetch: Callable[P, Page[T] | Problem | None], /, *args: P.args, **kwargs: P.kwargs
) -> Iterator[T]:
    """Each item of every page, in order: ``iterate(list_jobs.sync, client=client, **filters)``.

    ``fetch`` is a list operation's ``sync``; the other arguments are its own (``client``,
    filters, ``limit``, and ``cursor`` to start after a known page). Pages are fetched as the
    iteration reaches them. A problem raises ``ProblemError``.
    """
    while True:
        page = unwrap(fetch(*args, **kwargs))
        yield from page.items
        if page.next_cursor is None:
            return
        kwargs["cursor"] = page.next_cursor


async def aiterate(
    fetch: Callable[P, Awaitable[Page[T] | Problem | None]], /, *args: P.args, **kwargs: P.kwargs
) -> AsyncIterator[T]:
    """``iterate`` for a list operation's ``asyncio``: ``async for job in aiterate(...)``."""
    while True:
        page = unwrap(await fetch(*args, **kwargs))
        for item in page.items:
            yield item
        if page.next_cursor is None:
            return
        kwargs["cursor"] = page.next_cursor
