"""The live event stream: ``WS /api/v1/ws/events`` (the protocol is in docs/events.md)."""

from __future__ import annotations

from fastapi import APIRouter, WebSocket

from routilux.engine.event_tail import EventTail
from routilux.server.ws import ConnectionHub, EventStream
from routilux.server.ws.protocol import choose_subprotocol

router = APIRouter(prefix="/api/v1/ws")


@router.websocket("/events")
async def stream_events(websocket: WebSocket) -> None:
    """Stream events as they happen, filtered by flow, job and type, replaying from `since`."""
    state = websocket.app.state
    hub: ConnectionHub = state.ws_hub
    tail: EventTail | None = state.event_tail
    sync = None
    if tail is not None:  # processes share the database: the deployment's stream

        async def sync() -> None:
            await state.store.flush()
            await tail.catch_up()

    stream = EventStream(
        websocket,
        bus=state.runtime.bus if tail is None else tail.bus,
        sync=sync,
        store=state.store,
        hub=hub,
        buffer_size=state.settings.ws_send_buffer,
        # Who the gate found the caller to be: the slots per key are counted by it.
        identity=websocket.scope.get("state", {}).get("identity", ""),
        subprotocol=choose_subprotocol(websocket.scope.get("subprotocols", [])),
    )
    await stream.run(websocket.query_params.multi_items())
