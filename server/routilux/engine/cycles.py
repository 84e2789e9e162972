"""Cycles that nothing can stop: a warning for a flow's author, found when the flow is created.

Loops are legal (a routine may feed an earlier one until a condition stops it), so a flow with a
cycle is never refused; each job is bounded by the server's work limits anyway. But a cycle made
only of routines that pass on everything they get (``Identity``, ``Mapper``, ``Delay``, the
grouping routines) runs until one of those limits fails the job, which is never what the author
meant. A cycle through anything else (a ``Filter``, a ``ConditionalRouter``, a ``Splitter`` of a
list that may be empty, a validator's separate events, any custom routine type) may stop, and is
not reported.
"""

from __future__ import annotations

from dataclasses import dataclass

from routilux.engine.spec import CompiledFlow

ALWAYS_EMITTING = frozenset({"Identity", "Mapper", "Delay", "Batcher", "Aggregator", "Debouncer"})
"""Built-in routine types whose every activation (or group of them) emits on to their event."""


@dataclass(frozen=True)
class FlowWarning:
    type: str
    message: str
    routines: tuple[str, ...]


def unstoppable_cycles(flow: CompiledFlow) -> list[FlowWarning]:
    """One warning per group of routines that feed each other in a cycle none of them stops."""
    passing = {
        routine_id
        for routine_id, routine in flow.routines.items()
        if type(routine.routine).type_name in ALWAYS_EMITTING
    }
    following: dict[str, list[str]] = {routine_id: [] for routine_id in passing}
    for (source, _), destinations in flow.targets.items():
        if source in passing:
            following[source].extend(t for t, _ in destinations if t in passing)
    warnings = []
    for group in _strongly_connected(following):
        if len(group) > 1 or group[0] in following[group[0]]:
            names = ", ".join(sorted(group))
            warnings.append(
                FlowWarning(
                    type="unbounded_cycle",
                    message=f"routines {names} feed each other in a cycle with nothing that can "
                    "stop it (no Filter, ConditionalRouter or other conditional routine): each "
                    "job will run until it hits the server's activation, backlog or time limit",
                    routines=tuple(sorted(group)),
                )
            )
    return warnings


def _strongly_connected(graph: dict[str, list[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iteratively (a flow has at most a few hundred routines)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, position = work.pop()
            if position == 0:
                index[node] = low[node] = len(index)
                stack.append(node)
                on_stack.add(node)
            following = graph[node]
            if position < len(following):
                work.append((node, position + 1))
                target = following[position]
                if target not in index:
                    work.append((target, 0))
                elif target in on_stack:
                    low[node] = min(low[node], index[target])
                continue
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                groups.append(group)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return groups
