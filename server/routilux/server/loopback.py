"""Loopback only, without keys (step 4 of ``Gate``): with ``ROUTILUX_API_KEYS`` unset, the server
serves connections that arrived on a loopback address, named by a loopback host name, and not
sent by a web page of another origin.

The local address protects a server started on ``0.0.0.0`` by mistake; the ``Host`` check
protects against DNS rebinding (421), the ``Origin`` check against cross-site requests (403).
``ROUTILUX_ALLOWED_HOSTS`` adds names to the loopback ones.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.types import Scope

from routilux.server.refusals import ProblemAnswer
from routilux.server.settings import is_loopback

log = logging.getLogger("routilux.server")

#: Host names accepted with keys unset, besides ROUTILUX_ALLOWED_HOSTS (any port; and any
#: loopback address).
LOOPBACK_NAMES = frozenset({"localhost"})


class LoopbackRule:
    """Judges a connection's local address, then its ``Host`` and ``Origin`` names. Remembers the
    last address and host it served: nearly every request repeats them, and is judged at once."""

    def __init__(self, allowed_hosts: Iterable[str] = ()) -> None:
        self.allowed_hosts = frozenset(_bare(host.strip().lower()) for host in allowed_hosts)
        self.local_names = LOOPBACK_NAMES | self.allowed_hosts
        self._served_host: str | None = None
        self._served_address: str | None = None
        self._warned_address = False

    def address_refusal(self, scope: Scope) -> ProblemAnswer | None:
        """With keys unset, only connections that arrived on a loopback address are served,
        whatever started the app (``uvicorn ... --host 0.0.0.0`` too): the ASGI server puts the
        local address a connection arrived on in ``scope["server"]``."""
        server = scope.get("server")
        if not server:
            return None  # a Unix socket (or no socket at all): local by construction
        address = str(server[0])
        if address == self._served_address:
            return None
        # In process, transports put a name there (httpx's `test`): judged as the Host check
        # judges names. A real socket always gives an address, so names never widen the rule.
        if not is_loopback(address, self.local_names):
            if not self._warned_address:
                self._warned_address = True
                log.warning(
                    "refusing requests arriving on %s: without API keys this server serves "
                    "loopback only. Set ROUTILUX_API_KEYS, or listen on 127.0.0.1",
                    address,
                )
            return ProblemAnswer(
                403,
                "api_keys_required",
                f"this server has no API keys, so it serves only connections to a loopback "
                f"address; this one arrived on {address} (the operator must set "
                "ROUTILUX_API_KEYS, or listen on 127.0.0.1)",
            )
        self._served_address = address  # nearly every request arrives on the same address
        return None

    def host_refusal(self, headers: dict[str, str]) -> ProblemAnswer | None:
        """With keys unset, a web page must not reach the server through a name of its own
        (DNS rebinding: 421) nor from its own origin (cross-site requests: 403)."""
        raw = headers.get("host", "")
        if raw != self._served_host and not self._allowed(_bare(_host_name(raw))):
            return ProblemAnswer(
                421,
                "host_not_allowed",
                "this server answers to localhost and loopback addresses only, without API "
                "keys (add the name to ROUTILUX_ALLOWED_HOSTS)",
            )
        self._served_host = raw  # nearly every request names the same host: parse it once
        origin = headers.get("origin")
        if origin is not None and not self._allowed(_origin_host(origin)):
            return ProblemAnswer(
                403,
                "origin_not_allowed",
                "requests from web pages of other origins are refused without API keys "
                "(add the name to ROUTILUX_ALLOWED_HOSTS)",
            )
        return None

    def _allowed(self, host: str | None) -> bool:
        return bool(host) and is_loopback(host or "", self.local_names)


def _host_name(host: str) -> str:
    """The name in a Host header, without its port: ``[::1]:8000`` -> ``[::1]``."""
    host = host.strip().lower()
    if host.startswith("["):
        end = host.find("]")
        return host[: end + 1] if end > 0 else ""
    name, _, port = host.rpartition(":")
    return name if name and port.isdigit() else host


def _bare(host: str) -> str:
    """An IPv6 literal without its brackets, as ipaddress and urlsplit have it."""
    return host[1:-1] if host.startswith("[") and host.endswith("]") else host


def _origin_host(origin: str) -> str | None:
    try:
        return urlsplit(origin.strip()).hostname
    except ValueError:
        return None
