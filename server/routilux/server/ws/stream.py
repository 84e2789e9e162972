"""One WebSocket client of the event stream.

Three tasks per connection: a sender that replays stored events and then forwards live ones,
a receiver that answers the client's messages, and a wait for a stop request (overflow, too much
garbage, shutdown). The first of them to end decides how the connection closes. The engine never
waits on any of this: it only offers events to the connection's bounded feed, and a feed that
overflows stops the connection from outside the sender, which may be stuck on a client that
does not read.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from routilux.engine.events import Event, EventBus, EventFilter, Subscription
from routilux.jsonutil import dumps_str
from routilux.server.ws import protocol as p
from routilux.server.ws.hub import ConnectionHub
from routilux.server.ws.subscriptions import Subscriptions
from routilux.store import SqlStore

log = logging.getLogger("routilux.server")

REPLAY_PAGE = 500
# How long a close frame may wait behind data that a client is not reading.
CLOSE_GRACE = 30.0


class EventStream:
    def __init__(
        self,
        websocket: WebSocket,
        *,
        bus: EventBus,
        store: SqlStore,
        hub: ConnectionHub,
        buffer_size: int,
        identity: str = "",
        subprotocol: str | None = None,
        sync: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        """``sync``: brings ``bus`` up to every event published so far, when it is fed from
        the store (the deployment's stream) rather than by this process's publishers."""
        self._ws = websocket
        self._sync = sync
        self._identity = identity
        self._subprotocol = subprotocol
        # This connection's name in the hub's message-rate counters.
        self._rate_key = f"{identity}/{id(self)}"
        self._bus = bus
        self._store = store
        self._hub = hub
        self._buffer_size = buffer_size
        self.finished = asyncio.Event()
        self._stopping = asyncio.Event()
        self._abandoned = asyncio.Event()
        self._close: tuple[int, str | None] | None = None
        self._disconnected = False
        # Held for each frame sent, and while subscriptions change: a frame goes out only if it
        # matches the subscriptions at that moment, and replies come in the order of requests.
        self._lock = asyncio.Lock()
        self._subscriptions = Subscriptions(None, everything=False)
        self._feed: Subscription | None = None
        self._last_sent = 0
        self._replayed_to = 0
        # Every event of the feed with an id up to this one has been sent (or skipped); and
        # whether the sender waits on an empty feed, having sent all it was given.
        self._through = 0
        self._idle = False
        self._progress = asyncio.Event()

    def stop(self, code: int, reason: str | None = None) -> None:
        """Close the connection with ``code`` soon; the first request wins."""
        if self._close is None:
            self._close = (code, reason)
        self._stopping.set()

    def abandon(self) -> None:
        """Stop waiting for a close frame to get through (the server is going away)."""
        self._abandoned.set()

    async def run(self, params: Sequence[tuple[str, str]]) -> None:
        refusal = self._hub.admit(self, self._identity)
        try:
            if refusal is not None:
                await self._ws.accept(subprotocol=self._subprotocol)
                await self._ws.close(*refusal)
                return
            await self._run(params)
        except (WebSocketDisconnect, OSError):
            pass  # the client went away: there is nobody left to tell anything
        finally:
            if self._feed is not None:
                self._feed.close()
            self._hub.release(self)
            self._hub.messages.forget(self._rate_key)
            self.finished.set()

    async def _run(self, params: Sequence[tuple[str, str]]) -> None:
        try:
            request = p.parse_query(params)
        except p.ProtocolError as exc:
            await self._ws.accept(subprotocol=self._subprotocol)
            await self._ws.send_text(_json(p.error(exc)))
            await self._ws.close(p.CLOSE_POLICY_VIOLATION, p.close_reason(str(exc)))
            return
        self._subscriptions = Subscriptions.from_request(request)
        if self._sync is not None and request.since is None:
            await self._sync()  # a stream read from the store: "from now on" starts here
        # Subscribe before the handshake completes and before any replay: a connected client
        # misses nothing published from now on, and the replay covers everything before.
        feed = self._bus.subscribe(buffer_size=self._buffer_size)
        feed.set_filters(self._subscriptions.bus_filters())
        feed.on_overflow = self._overflowed
        self._feed = feed
        self._last_sent = self._bus.last_id if request.since is None else request.since
        self._replayed_to = request.since or 0
        await self._ws.accept(subprotocol=self._subprotocol)
        replay = None if request.since is None else (request.since, request.filter)
        await self._serve(feed, replay)

    def _overflowed(self) -> None:
        # Runs inside EventBus.publish: only flag it; the closing happens in this stream's task.
        # Lost: what is still queued (one was dropped for the end marker) and the one offered.
        if self._feed is not None:
            self._hub.dropped_events += self._feed.pending() + 1
        self.stop(p.CLOSE_TRY_AGAIN_LATER)

    async def _serve(
        self, feed: Subscription, replay: tuple[int, EventFilter | None] | None
    ) -> None:
        tasks = [
            asyncio.create_task(self._send_events(feed, replay)),
            asyncio.create_task(self._receive_messages()),
            asyncio.create_task(self._stopping.wait()),
        ]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.wait(tasks)
        for task in done:
            error = None if task.cancelled() else task.exception()
            if isinstance(error, (WebSocketDisconnect, OSError)):
                self._disconnected = True
            elif error is not None:
                log.error("event stream failed", exc_info=error)
                self.stop(p.CLOSE_INTERNAL_ERROR, "internal error")
        if self._disconnected or self._close is None:
            return
        code, reason = self._close
        if reason is None:  # only an overflow leaves it to be filled in now
            reason = f"too slow, events dropped; resume with since={self._last_sent}"
        await self._close_frame(code, p.close_reason(reason))

    async def _close_frame(self, code: int, reason: str) -> None:
        """Send the close frame: it may wait behind data the client does not read, not forever."""
        closing = asyncio.create_task(self._ws.close(code, reason))
        abandoned = asyncio.create_task(self._abandoned.wait())
        done, _ = await asyncio.wait(
            {closing, abandoned}, timeout=CLOSE_GRACE, return_when=asyncio.FIRST_COMPLETED
        )
        closing.cancel()
        abandoned.cancel()
        await asyncio.wait({closing, abandoned})
        if closing in done:
            closing.result()  # a client that went away meanwhile raises here, as for any send
        else:
            log.warning("event stream: gave up closing a client that does not read")

    # -- sending -------------------------------------------------------------------------------

    async def _send_events(
        self, feed: Subscription, replay: tuple[int, EventFilter | None] | None
    ) -> None:
        if replay is not None:
            await self._replay(*replay)
        while True:
            if feed.pending() == 0:
                self._idle = True
                self._progress.set()
            event = await feed.get()
            self._idle = False
            if event is None:
                return
            if event.id > self._replayed_to:
                await self._send_event(event)
            self._through = event.id
            self._progress.set()

    async def _caught_up(self, feed: Subscription) -> None:
        """Wait until every event published so far that this connection wants has been sent."""
        target = self._bus.last_id
        while self._through < target and not (self._idle and feed.pending() == 0):
            self._progress.clear()
            await self._progress.wait()

    async def _replay(self, since: int, selection: EventFilter | None) -> None:
        """Send stored events after ``since``; the live feed then skips what was sent here."""
        # Every event published before the feed opened is committed once this returns.
        await self._store.flush()
        filters = [selection] if selection is not None else []
        after = since
        while True:
            page = await self._store.list_events(after=after, filters=filters, limit=REPLAY_PAGE)
            for event in page:
                await self._send_event(event)
            if page:
                after = page[-1].id
            if len(page) < REPLAY_PAGE:
                break
        self._replayed_to = after

    async def _send_event(self, event: Event) -> None:
        async with self._lock:
            # Once stopping, send nothing more: an overflowing feed has dropped an event, and
            # what was sent must stay a prefix of the stream for a resume with `since`.
            if self._stopping.is_set():
                return
            if self._subscriptions.wants(event):
                await self._ws.send_text(self._hub.frame(event))
                self._last_sent = event.id

    # -- receiving -----------------------------------------------------------------------------

    async def _receive_messages(self) -> None:
        strikes = 0
        while True:
            message = await self._ws.receive()
            if message["type"] == "websocket.disconnect":
                self._disconnected = True
                return
            if not self._hub.messages.take(self._rate_key):
                # A flood of pings or subscriptions costs the server work for each: refused.
                limit = self._hub.messages.per_second
                self.stop(p.CLOSE_POLICY_VIOLATION, f"too many messages: at most {limit} a second")
                return
            try:
                await self._answer(p.parse_message(message))
            except p.ProtocolError as exc:
                strikes += 1
                async with self._lock:
                    await self._ws.send_text(_json(p.error(exc)))
                if strikes >= p.MAX_BAD_MESSAGES:
                    self.stop(p.CLOSE_POLICY_VIOLATION, "too many invalid messages")
                    return
            else:
                strikes = 0

    async def _answer(self, request: p.ClientMessage) -> None:
        # A reply follows every event published before the request: a ping is a barrier, and a
        # subscription change splits the stream cleanly into before and after.
        if self._feed is not None:
            if self._sync is not None:
                await self._sync()
            await self._caught_up(self._feed)
        async with self._lock:
            if isinstance(request, p.Ping):
                reply = p.PONG
            elif isinstance(request, p.Subscribe):
                reply = p.subscribed(self._subscriptions.add(request.filter), request.filter)
            else:
                self._subscriptions.remove(request.subscription_id)
                reply = p.unsubscribed(request.subscription_id)
            if self._feed is not None:
                self._feed.set_filters(self._subscriptions.bus_filters())
            await self._ws.send_text(_json(reply))


def _json(frame: dict[str, Any]) -> str:
    return dumps_str(frame)
