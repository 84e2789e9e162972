from __future__ import annotations

import pytest

from routilux.engine import Inputs, Item, JobStatus
from routilux.engine.expressions import Condition, ExpressionTooCostly
from routilux.routines import ConditionalRouter, Filter
from routilux.routines.conditional import ConditionalRouterConfig

from .support import activate, build, error_locs, flow_errors, run_flow

ROUTES = [
    {"name": "high", "condition": "data.amount >= 1000"},
    {"name": "even", "condition": "data.amount % 2 == 0"},
]


async def test_filter_passes_matching_payload() -> None:
    keep = build(Filter, {"condition": "data.amount > 100"})
    assert await activate(keep, {"amount": 150}) == [("passed", {"amount": 150})]


async def test_filter_rejects_other_payload() -> None:
    keep = build(Filter, {"condition": "data.amount > 100"})
    assert await activate(keep, {"amount": 50}) == [("rejected", {"amount": 50})]


async def test_router_emits_on_first_matching_route() -> None:
    router = build(ConditionalRouter, {"routes": ROUTES})
    assert await activate(router, {"amount": 2000}) == [("high", {"amount": 2000})]
    assert await activate(router, {"amount": 4}) == [("even", {"amount": 4})]


async def test_router_emits_on_every_match_when_asked() -> None:
    router = build(ConditionalRouter, {"routes": ROUTES, "first_match_only": False})
    assert await activate(router, {"amount": 2000}) == [
        ("high", {"amount": 2000}),
        ("even", {"amount": 2000}),
    ]


async def test_router_uses_default_route_when_nothing_matches() -> None:
    router = build(ConditionalRouter, {"routes": ROUTES, "default_route": "other"})
    assert await activate(router, {"amount": 3}) == [("other", {"amount": 3})]


async def test_router_without_default_emits_nothing_when_nothing_matches() -> None:
    router = build(ConditionalRouter, {"routes": ROUTES})
    assert await activate(router, {"amount": 3}) == []


def test_router_events_are_route_names_and_default() -> None:
    config = ConditionalRouterConfig.model_validate({"routes": ROUTES, "default_route": "other"})
    assert ConditionalRouter.event_names(config) == ("high", "even", "other")
    same = ConditionalRouterConfig.model_validate({"routes": ROUTES, "default_route": "high"})
    assert ConditionalRouter.event_names(same) == ("high", "even")


async def test_filter_flow_routes_to_passed_and_rejected() -> None:
    document = """
routines:
  split: {class: Splitter}
  keep: {class: Filter, config: {condition: "data.item > 1"}}
connections:
  - {from: split.item, to: keep.input}
"""
    job = await run_flow(document, {"items": [1, 2, 3]})
    assert job.status is JobStatus.COMPLETED
    assert job.output == {
        "keep.rejected": [{"item": 1, "index": 0, "count": 3}],
        "keep.passed": [{"item": 2, "index": 1, "count": 3}, {"item": 3, "index": 2, "count": 3}],
    }


async def test_router_flow_routes_by_condition_and_default() -> None:
    document = """
routines:
  split: {class: Splitter, config: {item_field: amount}}
  route:
    class: ConditionalRouter
    config:
      routes:
        - {name: high, condition: "data.amount >= 1000"}
        - {name: low, condition: "data.amount < 10"}
      default_route: middle
  big: {class: Mapper, config: {mappings: {big: amount}}}
connections:
  - {from: split.item, to: route.input}
  - {from: route.high, to: big.input}
"""
    job = await run_flow(document, {"items": [5000, 50, 5]})
    assert job.status is JobStatus.COMPLETED
    assert job.output == {
        "big.output": [{"big": 5000}],
        "route.middle": [{"amount": 50, "index": 1, "count": 3}],
        "route.low": [{"amount": 5, "index": 2, "count": 3}],
    }


def test_bad_filter_condition_is_located() -> None:
    document = """
routines:
  keep: {class: Filter, config: {condition: "data.amount >"}}
"""
    [(loc, message)] = flow_errors(document)
    assert loc == ("routines", "keep", "config", "condition")
    assert message


def test_missing_filter_condition_is_located() -> None:
    document = """
routines:
  keep: {class: Filter}
"""
    assert error_locs(document) == [("routines", "keep", "config", "condition")]


def test_bad_route_condition_is_located() -> None:
    document = """
routines:
  route:
    class: ConditionalRouter
    config: {routes: [{name: a, condition: "true"}, {name: b, condition: "(("}]}
"""
    assert error_locs(document) == [("routines", "route", "config", "routes", 1, "condition")]


def test_duplicate_route_names_are_located() -> None:
    document = """
routines:
  route:
    class: ConditionalRouter
    config: {routes: [{name: a, condition: "true"}, {name: a, condition: "false"}]}
"""
    [(loc, message)] = flow_errors(document)
    assert loc == ("routines", "route", "config", "routes")
    assert "'a'" in message


def test_route_names_must_be_event_names() -> None:
    document = """
routines:
  route:
    class: ConditionalRouter
    config:
      routes: [{name: "not.valid", condition: "true"}]
      default_route: "also bad"
"""
    assert error_locs(document) == [
        ("routines", "route", "config", "routes", 0, "name"),
        ("routines", "route", "config", "default_route"),
    ]


def test_connection_to_unknown_route_is_located() -> None:
    document = """
routines:
  route: {class: ConditionalRouter, config: {routes: [{name: a, condition: "true"}]}}
  next: {class: Identity}
connections:
  - {from: route.b, to: next.input}
"""
    assert error_locs(document) == [("connections", 0, "from")]


def test_unknown_variable_in_condition_is_located() -> None:
    document = """
routines:
  keep: {class: Filter, config: {condition: "amount > 1"}}
"""
    [(loc, message)] = flow_errors(document)
    assert loc == ("routines", "keep", "config", "condition")
    assert "'amount'" in message


async def test_condition_that_cannot_evaluate_fails_the_routine() -> None:
    document = """
routines:
  keep: {class: Filter, config: {condition: "data.amount > 1"}}
"""
    job = await run_flow(document, {"total": 3})
    assert job.status is JobStatus.FAILED
    assert job.error is not None
    assert job.error.routine_id == "keep"
    assert job.error.type == "ExpressionError"
    assert "has()" in job.error.message


def test_conditions_run_inline_only_when_cheap_for_the_payload() -> None:
    keep = build(Filter, {"condition": "data.items.exists(x, x.matches('^a+$'))"})
    small = Inputs((Item("input", {"items": ["a", "b"]}),))
    large = Inputs((Item("input", {"items": ["b" * 50] * 2000}),))
    assert keep.runs_inline(small) and not keep.runs_inline(large)
    router = build(ConditionalRouter, {"routes": ROUTES})
    assert router.runs_inline(Inputs((Item("input", {"amount": 3, "blob": ["x"] * 9999}),)))
    assert not router.runs_inline(Inputs((Item("input", {"amount": ["x"] * 9999}),)))


async def test_router_routes_share_one_cost_budget() -> None:
    # Each route alone is within MAX_EVALUATION_COST; all of them together are not.
    condition = "data.l.exists(x, data.l.exists(y, x == y + 5000))"
    routes = [{"name": f"r{index}", "condition": condition} for index in range(30)]
    payload = {"l": list(range(100))}
    assert Condition.compile(condition).evaluate(payload) is False
    router = build(ConditionalRouter, {"routes": routes, "default_route": "none"})
    with pytest.raises(ExpressionTooCostly, match=r"left of MAX_EVALUATION_COST \(\d+\)"):
        await activate(router, payload)
