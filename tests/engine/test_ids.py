"""Ids from reserved blocks: increasing, the next block reserved before the current one runs out,
and counted by the clock, past this process's own ids, only while no block can be had."""

from __future__ import annotations

import threading

from routilux.engine.ids import IdBlocks
from tests.poll import wait_until


class Counter:
    """A database counter handing out blocks, as ``id_blocks`` does."""

    def __init__(self, start: int = 1000) -> None:
        self.next = start
        self.calls = 0
        self.fail = False
        self.lock = threading.Lock()

    def __call__(self, count: int, at_least: int = 0) -> int:
        with self.lock:
            if self.fail:
                raise ConnectionError("the database is away")
            self.calls += 1
            first = max(self.next, at_least)
            self.next = first + count
            return first


def test_ids_come_from_blocks_in_increasing_order() -> None:
    counter = Counter()
    ids = IdBlocks(counter, size=10)
    ids.prime()
    taken = [ids() for _ in range(6)]
    assert taken == list(range(1000, 1006))
    # Past half of the block, the next one is reserved in the background.
    wait_until(lambda: counter.calls == 2, timeout=5, what="the spare block")
    other = counter(5)  # another process's block, between this one's two
    taken += [ids() for _ in range(10)]
    assert taken == sorted(taken) and len(set(taken)) == len(taken)
    assert not set(range(other, other + 5)) & set(taken)
    assert ids.waited == 0
    ids.close()


def test_ids_go_on_by_the_clock_while_no_block_can_be_reserved() -> None:
    counter = Counter()
    ids = IdBlocks(counter, size=4)
    ids.prime()
    counter.fail = True  # the spare block cannot be reserved
    taken = [ids() for _ in range(6)]
    assert taken[:4] == [1000, 1001, 1002, 1003]
    assert taken[4] > taken[3]  # counted by the clock past the block, without failing
    counter.fail = False
    later = [ids() for _ in range(12)]
    assert later == sorted(later) and later[0] > taken[-1]
    ids.close()
