from __future__ import annotations

import pytest

from routilux.engine import AllSlotsReady, Batch, Debounce, Item, JobStatus
from routilux.routines import Aggregator, Batcher, Debouncer
from routilux.routines.grouping import AggregatorConfig, BatcherConfig, DebouncerConfig

from .support import activate, activate_items, build, error_locs, run_flow


def test_aggregator_with_slots_joins_them() -> None:
    config = AggregatorConfig(slots=["a", "b"], timeout=2)
    assert Aggregator.slot_names(config) == ("a", "b")
    assert Aggregator.policy(config) == AllSlotsReady(timeout=2)


def test_aggregator_with_count_batches_on_input() -> None:
    config = AggregatorConfig(count=3, timeout=1)
    assert Aggregator.slot_names(config) == ("input",)
    assert Aggregator.policy(config) == Batch(size=3, timeout=1)


def test_aggregator_with_slots_and_count_batches_across_slots() -> None:
    config = AggregatorConfig(slots=["a", "b"], count=4)
    assert Aggregator.slot_names(config) == ("a", "b")
    assert Aggregator.policy(config) == Batch(size=4)


async def test_aggregator_join_emits_payload_per_slot() -> None:
    aggregator = build(Aggregator, {"slots": ["a", "b"]})
    emitted = await activate_items(aggregator, [Item("a", {"x": 1}), Item("b", {"y": 2})])
    assert emitted == [("aggregated", {"a": {"x": 1}, "b": {"y": 2}})]


async def test_aggregator_count_emits_items_and_count() -> None:
    aggregator = build(Aggregator, {"count": 2})
    assert await activate(aggregator, {"x": 1}, {"x": 2}) == [
        ("aggregated", {"items": [{"x": 1}, {"x": 2}], "count": 2})
    ]


async def test_aggregator_field_picks_one_field() -> None:
    aggregator = build(Aggregator, {"count": 3, "field": "r.total"})
    emitted = await activate(aggregator, {"r": {"total": 1}}, {"r": {"total": 2}}, {"r": {}})
    assert emitted == [("aggregated", {"items": [1, 2, None], "count": 3})]


async def test_aggregator_join_field_picks_one_field() -> None:
    aggregator = build(Aggregator, {"slots": ["a", "b"], "field": "v"})
    emitted = await activate_items(aggregator, [Item("a", {"v": 1}), Item("b", {"v": 2})])
    assert emitted == [("aggregated", {"a": 1, "b": 2})]


def test_aggregator_config_errors_are_located() -> None:
    document = """
routines:
  neither: {class: Aggregator}
  dup: {class: Aggregator, config: {slots: [a, a]}}
  bad: {class: Aggregator, config: {slots: [a, "b.c"]}}
  zero: {class: Aggregator, config: {count: 0}}
"""
    assert error_locs(document) == [
        ("routines", "neither", "config"),
        ("routines", "dup", "config", "slots"),
        ("routines", "bad", "config", "slots", 1),
        ("routines", "zero", "config", "count"),
    ]


async def test_batcher_emits_items_and_size() -> None:
    assert BatcherConfig().batch_size == 10
    batcher = build(Batcher, {"batch_size": 2})
    assert Batcher.policy(batcher.config) == Batch(size=2)
    assert await activate(batcher, {"n": 1}, {"n": 2}) == [
        ("batch", {"items": [{"n": 1}, {"n": 2}], "size": 2})
    ]


def test_batcher_needs_size_or_timeout() -> None:
    document = """
routines:
  batch: {class: Batcher, config: {batch_size: null}}
"""
    assert error_locs(document) == [("routines", "batch", "config")]


async def test_debouncer_emits_last_payload() -> None:
    debouncer = build(Debouncer, {"wait": 0.5})
    assert Debouncer.policy(debouncer.config) == Debounce(wait=0.5)
    assert await activate(debouncer, {"n": 1}, {"n": 2}) == [("output", {"n": 2})]


@pytest.mark.parametrize("wait", [0, -1])
def test_debouncer_wait_must_be_positive(wait: float) -> None:
    with pytest.raises(ValueError):
        DebouncerConfig(wait=wait)


async def test_join_flow_combines_branches() -> None:
    document = """
routines:
  start: {class: Identity}
  name: {class: Mapper, config: {mappings: {value: user.name}}}
  id: {class: Mapper, config: {mappings: {value: user.id}}}
  join: {class: Aggregator, config: {slots: [name, id], field: value}}
connections:
  - {from: start.output, to: name.input}
  - {from: start.output, to: id.input}
  - {from: name.output, to: join.name}
  - {from: id.output, to: join.id}
"""
    job = await run_flow(document, {"user": {"name": "Ada", "id": 7}})
    assert job.status is JobStatus.COMPLETED
    assert job.output == {"join.aggregated": [{"name": "Ada", "id": 7}]}


async def test_join_timeout_releases_partial_set() -> None:
    document = """
entry: join.a
routines:
  join: {class: Aggregator, config: {slots: [a, b], timeout: 0.05}}
"""
    job = await run_flow(document, {"x": 1})
    assert job.status is JobStatus.COMPLETED
    assert job.output == {"join.aggregated": [{"a": {"x": 1}}]}


async def test_batcher_flushes_on_size_then_on_timeout() -> None:
    document = """
routines:
  split: {class: Splitter, config: {item_field: n}}
  batch: {class: Batcher, config: {batch_size: 2, batch_timeout: 0.1}}
  sizes: {class: Mapper, config: {mappings: {size: size, first: items.0.n}}}
connections:
  - {from: split.item, to: batch.input}
  - {from: batch.batch, to: sizes.input}
"""
    job = await run_flow(document, {"items": [0, 1, 2, 3, 4]})
    assert job.status is JobStatus.COMPLETED
    # Two full batches at once; the fifth item waits alone until the timeout ends the job.
    assert job.output == {
        "sizes.output": [
            {"size": 2, "first": 0},
            {"size": 2, "first": 2},
            {"size": 1, "first": 4},
        ]
    }


async def test_aggregator_count_timeout_emits_what_arrived() -> None:
    document = """
routines:
  split: {class: Splitter}
  collect: {class: Aggregator, config: {count: 5, timeout: 0.05, field: item}}
connections:
  - {from: split.item, to: collect.input}
"""
    job = await run_flow(document, {"items": ["a", "b"]})
    assert job.status is JobStatus.COMPLETED
    assert job.output == {"collect.aggregated": [{"items": ["a", "b"], "count": 2}]}


async def test_debouncer_emits_once_after_quiet() -> None:
    # Items reach the debouncer 20 ms apart, each within `wait` of the one before.
    document = """
routines:
  split: {class: Splitter}
  space: {class: Delay, config: {seconds: 0.02}}
  settle: {class: Debouncer, config: {wait: 0.1}}
connections:
  - {from: split.item, to: space.input}
  - {from: space.output, to: settle.input}
"""
    job = await run_flow(document, {"items": ["a", "b", "c"]})
    assert job.status is JobStatus.COMPLETED
    assert job.output == {"settle.output": [{"item": "c", "index": 2, "count": 3}]}
    assert job.progress["settle"].activations == 1


async def test_join_timeout_releases_every_partial_set() -> None:
    document = """
routines:
  split: {class: Splitter}
  join: {class: Aggregator, config: {slots: [a, b], timeout: 0.05, field: item}}
connections:
  - {from: split.item, to: join.a}
"""
    job = await run_flow(document, {"items": [1, 2]})
    assert job.status is JobStatus.COMPLETED
    assert job.output == {"join.aggregated": [{"a": 1}, {"a": 2}]}
