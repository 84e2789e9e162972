"""What every remote command shares: where the server is, the key, the output mode, exit codes.

Exit codes: 0 success, 1 the job failed (or was cancelled), 2 usage error, 3 the server refused
or failed the request, or could not be reached.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated, Any, NoReturn, TypeVar

import httpx
import typer
from rich.console import Console
from rich.table import Table

EXIT_JOB_FAILED = 1
EXIT_SERVER = 3

T = TypeVar("T")


@dataclass
class Remote:
    url: str
    api_key: str | None
    as_json: bool

    def connect(self) -> Any:
        from routilux_client.helpers import connect

        return connect(self.url, self.api_key)

    @contextmanager
    def client(self) -> Iterator[Any]:
        """A connected client; failures become a message and exit code 3."""
        with self.errors(), self.connect() as client:
            yield client

    @contextmanager
    def errors(self) -> Iterator[None]:
        from routilux_client.errors import UnexpectedStatus
        from routilux_client.helpers import ProblemError, StreamError

        try:
            yield
        except StreamError as error:
            fail(f"event stream: {error}")
        except ProblemError as problem:
            where = "; ".join(f"{'.'.join(map(str, e.loc))}: {e.msg}" for e in problem.errors)
            fail(f"{problem.detail} [{problem.code}]" + (f" ({where})" if where else ""))
        except UnexpectedStatus as error:
            fail(f"unexpected answer {error.status_code} from {self.url}")
        except httpx.TransportError as error:
            fail(f"cannot reach {self.url}: {error}")


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


def to_data(value: Any) -> Any:
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, list):
        return [to_data(v) for v in value]
    return value


def show(
    ctx: typer.Context,
    value: Any,
    *,
    columns: Sequence[tuple[str, Callable[[Any], Any]]] | None = None,
    title: str | None = None,
) -> None:
    """Print ``value`` (a model or a list of them): JSON with --json, else a table or fields."""
    if remote(ctx).as_json:
        sys.stdout.write(json.dumps(to_data(value), indent=2, default=str) + "\n")
        return
    console = Console(soft_wrap=True)
    if isinstance(value, list):
        assert columns is not None
        table = Table(title=title, show_lines=False)
        for name, _ in columns:
            table.add_column(name)
        for item in value:
            table.add_row(*(_cell(get(item)) for _, get in columns))
        console.print(table)
        return
    for key, field in to_data(value).items():
        rendered = field if isinstance(field, str) else json.dumps(field, default=str)
        console.print(f"[bold]{key}[/bold]: {rendered}", highlight=False)


def _cell(value: Any) -> str:
    if value is None or type(value).__name__ == "Unset":
        return ""
    if hasattr(value, "value"):
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
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise typer.BadParameter(f"{what} is not valid JSON: {error}") from None
