"""What every remote command shares: where the server is, the key, the output mode, exit codes.

Exit codes: 0 success, 1 the job failed (or was cancelled), 2 usage error, 3 the server refused
or failed the request, or could not be reached.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Annotated, Any, NoReturn, Protocol, TypeAlias, TypeVar

import httpx
import typer
from rich.console import Console
from rich.table import Table
from websockets.exceptions import InvalidStatus

from routilux.jsonutil import dumps_str, loads
from routilux_client.errors import UnexpectedStatus
from routilux_client.helpers import ProblemError, RoutiluxClient, StreamError, connect
from routilux_client.types import Unset

ID_LISTS = {"waiting"}  # table columns that list ids (those of one id end in _id)
EXIT_JOB_FAILED = 1
EXIT_SERVER = 3


class Model(Protocol):
    """What every model of the client has: its JSON form."""

    def to_dict(self) -> dict[str, Any]: ...


M = TypeVar("M", bound=Model)
Column: TypeAlias = tuple[str, Callable[[M], object]]
"""A table column: its header, and what it shows of each row's model."""


@dataclass
class Remote:
    url: str
    api_key: str | None
    as_json: bool

    def connect(self) -> RoutiluxClient:
        return connect(self.url, self.api_key)

    @contextmanager
    def client(self) -> Iterator[RoutiluxClient]:
        """A connected client; failures become a message and exit code 3."""
        with self.errors(), self.connect() as client:
            yield client

    @contextmanager
    def errors(self) -> Iterator[None]:
        try:
            yield
        except StreamError as error:
            status = _handshake_status(error)
            if status == 401 or (status == 403 and error.problem is None):
                # A refused handshake: 401 with a problem, or the bare 403 of a closed one.
                detail = error.problem.detail if error.problem else "the server refused the key"
                fail(f"{detail} [unauthorized]{KEY_HINT}")
            if error.problem is None and error.frame is None and _unreachable_cause(error):
                fail(self.unreachable(error.__cause__))
            fail(f"event stream: {error}")
        except ProblemError as problem:
            fail(describe_problem(problem))
        except UnexpectedStatus as error:
            fail(f"unexpected answer {error.status_code} from {self.url}")
        except httpx.TransportError as error:
            fail(self.unreachable(error))

    def unreachable(self, error: BaseException | None) -> str:
        """The one wording, in every command, for a server that cannot be reached."""
        reason = f" ({error})" if error is not None and str(error) else ""
        return (
            f"cannot reach the server at {self.url}{reason}; is it running? "
            "--url or ROUTILUX_URL says where it is"
        )


KEY_HINT = "; pass the key with --api-key or ROUTILUX_API_KEY"


def _handshake_status(error: StreamError) -> int | None:
    """The HTTP status of a refused WebSocket handshake, if that is what ``error`` is."""
    if error.problem is not None:
        return error.problem.status
    cause = error.__cause__
    return cause.response.status_code if isinstance(cause, InvalidStatus) else None


def _unreachable_cause(error: BaseException) -> bool:
    return isinstance(error.__cause__, (OSError, httpx.TransportError))


def describe_problem(problem: ProblemError) -> str:
    """A problem answer as one line: detail, code, each located error; hints where they help."""
    where = "; ".join(f"{location(e.loc)}: {e.msg}" for e in problem.errors)
    message = f"{problem.detail} [{problem.code}]" + (f" ({where})" if where else "")
    if problem.status == 401:
        message += KEY_HINT
    # The API's words for its query parameters are not the command's options.
    return message.replace("use force", "use --force")


def location(loc: Sequence[str | int]) -> str:
    """``body.routines.a.class`` as ``routines.a.class``; an empty location as ``(document)``."""
    parts = [str(part) for part in loc]
    if parts[:1] == ["body"]:
        parts = parts[1:]
    return ".".join(parts) or "(document)"


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def stamp(value: datetime) -> str:
    """A date-time as the API writes it: RFC 3339 in UTC with ``Z``."""
    text = value.astimezone(UTC).isoformat() if value.tzinfo else value.isoformat()
    return text.removesuffix("+00:00") + "Z" if text.endswith("+00:00") else text


_OFFSET_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?\+00:00$")


def _zulu(value: Any) -> Any:
    """The client's ``to_dict`` writes ``+00:00``; the API writes ``Z``: print what the API does."""
    if isinstance(value, str) and _OFFSET_UTC.match(value):
        return value[: -len("+00:00")] + "Z"
    if isinstance(value, dict):
        return {key: _zulu(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_zulu(item) for item in value]
    return value


def fail(message: str, code: int = EXIT_SERVER) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def connection_options(
    ctx: typer.Context,
    url: Annotated[
        str, typer.Option(envvar="ROUTILUX_URL", help="The server's base URL.")
    ] = "http://127.0.0.1:8000",
    api_key: Annotated[
        str | None, typer.Option(envvar="ROUTILUX_API_KEY", help="Sent as X-API-Key.")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON instead of tables (for scripts).")
    ] = False,
) -> None:
    """Run event-driven workflows, and talk to a Routilux server."""
    ctx.obj = Remote(url.rstrip("/"), api_key, as_json)


def remote(ctx: typer.Context) -> Remote:
    obj = ctx.find_root().obj
    assert isinstance(obj, Remote)
    return obj


def to_data(value: Model | Sequence[Model]) -> Any:
    """A model (or a list of them) as the API writes it in JSON."""
    if isinstance(value, Sequence):
        return [to_data(item) for item in value]
    return _zulu(value.to_dict())


def _print_json(value: Model | Sequence[Model]) -> None:
    sys.stdout.write(dumps_str(to_data(value), indent=True) + "\n")


def show(ctx: typer.Context, value: Model) -> None:
    """Print one model: its fields, one a line, or JSON with --json."""
    if remote(ctx).as_json:
        _print_json(value)
        return
    console = Console(soft_wrap=True)
    for key, field in to_data(value).items():
        rendered = field if isinstance(field, str) else dumps_str(field)
        console.print(f"[bold]{key}[/bold]: {rendered}", highlight=False)


def show_list(
    ctx: typer.Context,
    items: Sequence[M],
    columns: Sequence[Column[M]],
    *,
    title: str | None = None,
) -> None:
    """Print models as a table of ``columns``, or a JSON list with --json."""
    if remote(ctx).as_json:
        _print_json(items)
        return
    table = Table(title=title, box=None, padding=(0, 1), header_style="bold underline")
    rows = [[_cell(get(item)) for _, get in columns] for item in items]
    for index, (name, _) in enumerate(columns):
        if name.endswith("_id"):
            # Ids are what the next command needs: never cut; the other columns give way.
            widest = max([len(name), *(len(row[index]) for row in rows)])
            table.add_column(name, no_wrap=True, min_width=widest, overflow="fold")
        elif name in ID_LISTS:  # wraps between ids, never inside one
            longest = max([len(name), *(len(w) for row in rows for w in row[index].split())])
            table.add_column(name, min_width=longest, overflow="fold")
        else:
            table.add_column(name, overflow="fold", max_width=60)
    for row in rows:
        table.add_row(*row)
    Console(soft_wrap=True).print(table)


def _cell(value: object) -> str:
    if value is None or isinstance(value, Unset):
        return ""
    if isinstance(value, datetime):  # to the second in tables; --json gives every digit
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, Enum):
        return str(value.value)
    return str(value)


def parse_json_argument(value: str, what: str) -> Any:
    """A JSON value given inline, or ``@path`` to read it from a file."""
    text = value
    if value.startswith("@"):
        try:
            with open(value[1:], encoding="utf-8") as handle:
                text = handle.read()
        except OSError as error:
            raise typer.BadParameter(f"cannot read {value[1:]}: {error.strerror}") from None
    try:
        return loads(text)
    except ValueError as error:
        raise typer.BadParameter(f"{what} is not valid JSON: {error}") from None
