"""What one checkpoint hands the store: the state at its end, not the steps to it."""

from __future__ import annotations

from routilux.engine.checkpoint import Checkpoint, CheckpointLog


def test_a_delivery_made_and_taken_within_one_checkpoint_is_in_neither_list() -> None:
    written: list[Checkpoint] = []
    log = CheckpointLog("job", written.append)
    first = log.deliver("a", "input", {"n": 1})
    log.commit({})
    assert [d.seq for d in written[0].added] == [first.seq]

    log.batching = True  # one drain slice: its steps share one checkpoint
    passing = log.deliver("b", "input", {"n": 2})
    kept = log.deliver("c", "input", {"n": 3})
    log.took((first.seq,))  # stored by the first checkpoint: taken for the store to drop
    log.took((passing.seq,))  # made since: the store never needs to see it
    log.commit({})
    assert len(written) == 1 and log.due
    log.batching = False
    log.commit({})

    last = written[1]
    assert [d.seq for d in last.added] == [kept.seq]
    assert last.taken == [first.seq]
    assert last.seq == kept.seq  # the job's last sequence number still counts every delivery
