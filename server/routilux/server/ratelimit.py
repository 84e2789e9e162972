"""Rate limits, kept by the ``limits`` library in process memory.

Every limit is keyed on an identity the server has verified, never on what a client merely
claims: the index of the API key that matched, or, with auth off (and for callers whose key did
not match), the client's address (an IPv6 address by its /64, which one host usually holds
whole). So the state holds at most one entry per configured key and per address seen within a
window, each expiring with its window, whatever the requests carry.
"""

from __future__ import annotations

import ipaddress
import math
import time
from functools import lru_cache

from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter, SlidingWindowCounterRateLimiter

from routilux.server.refusals import ProblemAnswer


def key_identity(index: int) -> str:
    """The identity of a caller whose key matched the configured key at ``index``."""
    return f"key:{index}"


@lru_cache(maxsize=4096)
def address_identity(host: str | None) -> str:
    """The identity of a caller known only by its address (the last 4096 addresses' kept:
    parsing one took longer than the rest of the gate's work for a request)."""
    if not host:
        return "addr:unknown"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return "addr:unknown"
    if address.version == 6:
        mapped = address.ipv4_mapped
        if mapped is not None:
            return f"addr:{mapped}"
        network = ipaddress.ip_network(f"{address}/64", strict=False)
        return f"addr:{network}"
    return f"addr:{address}"


class RateLimit:
    """``per_second`` requests a second on average, ``burst`` at once, per identity.

    A sliding-window counter over ``burst / per_second`` seconds (at least one): ``burst``
    requests within any such window, which averages ``per_second``. Two counters per identity.
    """

    def __init__(self, per_second: float, burst: int) -> None:
        self.per_second = per_second
        self.burst = burst
        seconds = max(1, math.ceil(burst / per_second))
        self.item = RateLimitItemPerSecond(burst, seconds, namespace="routilux")
        self.storage = MemoryStorage()
        self.limiter = SlidingWindowCounterRateLimiter(self.storage)

    def take(self, identity: str) -> float:
        """Count one request; 0 if allowed, else the seconds until one would be."""
        if self.limiter.hit(self.item, identity):
            return 0.0
        reset, _ = self.limiter.get_window_stats(self.item, identity)
        return max(0.001, reset - time.time())

    def entries(self) -> int:
        """Counters held now (each expires with its window): the state's size."""
        return len(self.storage.storage)


def rate_limit_refusal(rate_limit: RateLimit, identity: str) -> ProblemAnswer | None:
    """Step 5 of ``Gate``: 429 with ``Retry-After`` once the caller has used its burst.

    Before auth: a caller without a valid key is limited by its address, so guessing keys
    (or sending a new one each time) is limited like anything else."""
    wait = rate_limit.take(identity)
    if wait <= 0:
        return None
    retry = str(max(1, int(wait + 0.999)))
    return ProblemAnswer(
        429, "rate_limited", "too many requests; slow down", {"Retry-After": retry}
    )


class MessageRate:
    """At most ``per_second`` messages within any second, per connection (a moving window)."""

    def __init__(self, per_second: int) -> None:
        self.per_second = per_second
        self.item = RateLimitItemPerSecond(per_second, 1, namespace="routilux-ws")
        self.storage = MemoryStorage()
        self.limiter = MovingWindowRateLimiter(self.storage)

    def take(self, connection: str) -> bool:
        return self.limiter.hit(self.item, connection)

    def forget(self, connection: str) -> None:
        self.limiter.clear(self.item, connection)
