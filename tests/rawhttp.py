"""A lean HTTP/1.1 client over kept-alive connections, for tests that send thousands of requests.

httpx spends about 2.7 ms of its caller's CPU on a request, more than the server spends on a small
job: on two cores, a test that submits 20,000 jobs through it waits on its own client as much as
on the server. This one writes the request and reads the answer by its ``Content-Length`` (or its
chunks), over connections it keeps open; nothing else (no TLS, no redirects, no cookies).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]  # names in lower case
    body: bytes

    @property
    def status_code(self) -> int:  # httpx's name, so that assertions read the same
        return self.status

    @property
    def text(self) -> str:
        return self.body.decode(errors="replace")

    def json(self) -> Any:
        return json.loads(self.body)


# A connection idle this long is closed rather than used again: the server closes idle ones after
# its keep-alive timeout (15 s), and a request sent just as it does so would be lost. A client
# cannot resend a POST on a fresh connection without perhaps sending it twice.
IDLE_EXPIRY = 5.0


class Connection:
    """One connection, one request at a time; reopened if the server closed it, or if it was
    idle for ``IDLE_EXPIRY`` s."""

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        assert parts.scheme == "http" and parts.hostname and parts.port, base_url
        self.host = parts.hostname
        self.port = parts.port
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self._last_used = 0.0

    async def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: dict[str, Any] | None = None,
        timeout: float = 30,
    ) -> Answer:
        if params:
            path = f"{path}?{urlencode(params)}"
        body = b"" if json_body is None else json.dumps(json_body).encode()
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
        if json_body is not None:
            head += "Content-Type: application/json\r\n"
        if body or method in ("POST", "PUT", "PATCH"):
            head += f"Content-Length: {len(body)}\r\n"
        if self._streams is not None and time.monotonic() - self._last_used > IDLE_EXPIRY:
            await self.close()
        async with asyncio.timeout(timeout):
            if self._streams is None:
                self._streams = await asyncio.open_connection(self.host, self.port)
            reader, writer = self._streams
            writer.write(head.encode("latin-1") + b"\r\n" + body)
            await writer.drain()
            answer = await _read_answer(reader)
        self._last_used = time.monotonic()
        if answer.headers.get("connection", "").lower() == "close":
            await self.close()
        return answer

    async def get(self, path: str, **kwargs: Any) -> Answer:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> Answer:
        return await self.request("POST", path, **kwargs)

    async def close(self) -> None:
        if self._streams is not None:
            writer = self._streams[1]
            self._streams = None
            writer.close()
            try:
                await writer.wait_closed()
            except OSError:
                pass


async def _read_answer(reader: asyncio.StreamReader) -> Answer:
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
    status_line, *lines = head[:-4].split("\r\n")
    status = int(status_line.split(" ", 2)[1])
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size = int((await reader.readuntil(b"\r\n"))[:-2].split(b";")[0], 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                break
            chunks.append(chunk[:-2])
        body = b"".join(chunks)
    else:
        body = await reader.readexactly(int(headers.get("content-length", "0")))
    return Answer(status, headers, body)


@asynccontextmanager
async def connections(base_url: str, count: int) -> AsyncIterator[list[Connection]]:
    """``count`` connections to the server, closed on exit."""
    opened = [Connection(base_url) for _ in range(count)]
    try:
        yield opened
    finally:
        await asyncio.gather(*(c.close() for c in opened))
