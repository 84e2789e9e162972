from __future__ import annotations

import pytest

from routilux.engine import JobStatus
from routilux.routines import Mapper, RoutineFailure, Splitter

from .support import activate, build, error_locs, run_flow

USER = {"user": {"name": "Ada", "id": 7}, "items": [{"id": "a"}, {"id": "b"}]}


async def test_mapper_maps_paths_to_fields() -> None:
    mapper = build(Mapper, {"mappings": {"name": "user.name", "first": "items.0.id"}})
    assert await activate(mapper, USER) == [("output", {"name": "Ada", "first": "a"})]


async def test_mapper_gives_null_for_missing_path() -> None:
    mapper = build(Mapper, {"mappings": {"age": "user.age", "third": "items.2.id"}})
    assert await activate(mapper, USER) == [("output", {"age": None, "third": None})]


async def test_mapper_keep_unmapped_copies_input_then_overrides() -> None:
    mapper = build(Mapper, {"mappings": {"user": "user.name"}, "keep_unmapped": True})
    [(event, payload)] = await activate(mapper, USER)
    assert event == "output"
    assert payload == {"user": "Ada", "items": USER["items"]}
    assert USER["user"] == {"name": "Ada", "id": 7}  # the input is not modified


def test_mapper_answers_to_its_alias() -> None:
    assert "DataTransformer" in Mapper.aliases


async def test_splitter_emits_one_item_per_element() -> None:
    splitter = build(Splitter, {})
    assert await activate(splitter, {"items": ["x", "y"]}) == [
        ("item", {"item": "x", "index": 0, "count": 2}),
        ("item", {"item": "y", "index": 1, "count": 2}),
    ]


async def test_splitter_reads_field_and_names_item_field() -> None:
    splitter = build(Splitter, {"field": "order.lines", "item_field": "line"})
    emitted = await activate(splitter, {"order": {"lines": [{"sku": 1}]}})
    assert emitted == [("item", {"line": {"sku": 1}, "index": 0, "count": 1})]


async def test_splitter_of_empty_list_emits_nothing() -> None:
    assert await activate(build(Splitter, {}), {"items": []}) == []


@pytest.mark.parametrize(
    ("payload", "message"),
    [({}, "no field 'items'"), ({"items": {"a": 1}}, "holds a dict, not a list")],
)
async def test_splitter_fails_without_a_list(payload: dict[str, object], message: str) -> None:
    with pytest.raises(RoutineFailure, match=message):
        await activate(build(Splitter, {}), payload)


def test_splitter_item_field_cannot_shadow_index() -> None:
    document = """
routines:
  split: {class: Splitter, config: {item_field: index}}
"""
    assert error_locs(document) == [("routines", "split", "config", "item_field")]


def test_mapper_bad_paths_are_located() -> None:
    document = """
routines:
  map: {class: Mapper, config: {mappings: {a: "user..name"}}}
  empty: {class: Mapper, config: {mappings: {}}}
"""
    assert error_locs(document) == [
        ("routines", "map", "config", "mappings", "a"),
        ("routines", "empty", "config", "mappings"),
    ]


async def test_split_map_aggregate_flow() -> None:
    document = """
routines:
  split: {class: Splitter, config: {field: order.lines, item_field: line}}
  pick: {class: Mapper, config: {mappings: {sku: line.sku, position: index}}}
  collect: {class: Aggregator, config: {count: 3}}
connections:
  - {from: split.item, to: pick.input}
  - {from: pick.output, to: collect.input}
"""
    lines = [{"sku": "a"}, {"sku": "b"}, {"sku": "c"}]
    job = await run_flow(document, {"order": {"lines": lines}})
    assert job.status is JobStatus.COMPLETED
    assert job.output == {
        "collect.aggregated": [
            {
                "items": [
                    {"sku": "a", "position": 0},
                    {"sku": "b", "position": 1},
                    {"sku": "c", "position": 2},
                ],
                "count": 3,
            }
        ]
    }
