"""A minimal WebSocket client for the fan-out benchmark's subscribers.

The ``websockets`` library spends tens of microseconds of Python per frame; ten subscribers of a
busy flow then need most of a core, and the load generator, not the server, decides the measured
delay. This client reads whatever the socket has and cuts it into frames in one loop (RFC 6455,
text frames from the server, unmasked), so one read often yields many frames. It sends only
masked text frames (``ping`` messages), answers the server's pings and closes politely.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import time
from urllib.parse import urlsplit

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
TEXT, CLOSE, PING, PONG = 0x1, 0x8, 0x9, 0xA


class Closed(Exception):
    pass


class RawWebSocket:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._buffer = b""
        self._message = b""  # a fragmented message, until its last frame
        self.closed = False

    @classmethod
    async def connect(cls, url: str) -> RawWebSocket:
        parts = urlsplit(url)
        host, port = parts.hostname or "127.0.0.1", parts.port or 80
        reader, writer = await asyncio.open_connection(host, port)
        key = base64.b64encode(os.urandom(16))
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        writer.write(
            f"GET {target} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key.decode()}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        head = await reader.readuntil(b"\r\n\r\n")
        accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
        if not head.startswith(b"HTTP/1.1 101") or accept not in head:
            writer.close()
            raise ConnectionError(f"handshake refused: {head[:200]!r}")
        return cls(reader, writer)

    async def receive_many(self) -> tuple[float, list[str]]:
        """The text messages that arrived with the next read, and when it returned."""
        while True:
            data = await self._reader.read(1 << 16)
            now = time.time()
            if not data:
                raise Closed("connection lost")
            self._buffer += data
            messages = self._parse()
            if messages:
                return now, messages

    def _parse(self) -> list[str]:
        messages: list[str] = []
        buffer = self._buffer
        at = 0
        while len(buffer) - at >= 2:
            first, second = buffer[at], buffer[at + 1]
            length = second & 0x7F
            header = 2
            if length == 126:
                header = 4
                if len(buffer) - at < header:
                    break
                length = int.from_bytes(buffer[at + 2 : at + 4], "big")
            elif length == 127:
                header = 10
                if len(buffer) - at < header:
                    break
                length = int.from_bytes(buffer[at + 2 : at + 10], "big")
            mask = b""
            if second & 0x80:
                mask = buffer[at + header : at + header + 4]
                header += 4
            if len(buffer) - at < header + length:
                break
            payload = buffer[at + header : at + header + length]
            if mask:
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            at += header + length
            opcode = first & 0x0F
            if opcode == CLOSE:
                self.closed = True
                raise Closed(payload[2:].decode(errors="replace"))
            if opcode == PING:
                self._send(PONG, payload)
            elif opcode in (TEXT, 0x0):
                self._message += payload
                if first & 0x80:  # the last frame of the message
                    messages.append(self._message.decode())
                    self._message = b""
        self._buffer = buffer[at:]
        return messages

    def _send(self, opcode: int, payload: bytes) -> None:
        mask = os.urandom(4)
        length = len(payload)
        if length < 126:
            head = bytes([0x80 | opcode, 0x80 | length])
        elif length < 1 << 16:
            head = bytes([0x80 | opcode, 0x80 | 126]) + length.to_bytes(2, "big")
        else:
            head = bytes([0x80 | opcode, 0x80 | 127]) + length.to_bytes(8, "big")
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self._writer.write(head + mask + masked)

    async def send_text(self, text: str) -> None:
        self._send(TEXT, text.encode())
        await self._writer.drain()

    async def close(self) -> None:
        if not self._writer.is_closing():
            self._send(CLOSE, (1000).to_bytes(2, "big"))
            self._writer.close()
        try:
            await self._writer.wait_closed()
        except OSError:
            pass
