"""Flow documents from text: decoding JSON or YAML, and parsing into a
:class:`~routilux.engine.spec.FlowSpec` with every problem located in the document.

Decoding refuses what a flow file should never contain: duplicate keys (a duplicate routine id is
an error, not "the last one wins") and YAML aliases. Parsing reports, next to the fields that fail
to parse, what compilation finds in the parts that do.
"""

from __future__ import annotations

from typing import Any, Literal

import yaml
from pydantic import ValidationError

from routilux import jsonutil
from routilux.engine.errors import FlowValidationError, SpecError
from routilux.engine.registry import RoutineRegistry
from routilux.engine.spec import FlowSpec, compile_flow, split_reference


def validate_spec(document: Any, registry: RoutineRegistry | None = None) -> FlowSpec:
    """Parse a decoded document into a FlowSpec, turning pydantic errors into located SpecErrors.

    With a ``registry``, a document that fails to parse is also checked for what compilation
    would find (unknown types, events, slots...) in its valid parts, so that one answer reports
    every problem: a missing ``to`` does not hide an unknown event in another connection.
    """
    try:
        return FlowSpec.model_validate(document)
    except ValidationError as exc:
        errors = [
            SpecError(tuple(err["loc"]), err["msg"], err["type"])
            for err in exc.errors(include_url=False)
        ]
        if registry is not None:
            errors += _errors_in_valid_parts(document, errors, registry)
        raise FlowValidationError(errors) from None


def _errors_in_valid_parts(
    document: Any, errors: list[SpecError], registry: RoutineRegistry
) -> list[SpecError]:
    """Compile ``document`` without the parts that failed to parse; report what else is wrong."""
    if not isinstance(document, dict):
        return []
    bad_routines: set[str] = set()
    bad_connections: set[int] = set()
    bad_fields: set[str] = set()
    for error in errors:
        loc = error.loc
        if not loc:
            return []
        if loc[0] == "routines" and len(loc) > 1 and isinstance(loc[1], str):
            bad_routines.add(loc[1])
        elif loc[0] == "connections" and len(loc) > 1 and isinstance(loc[1], int):
            bad_connections.add(loc[1])
        elif loc[0] in ("routines", "connections"):
            return []  # the whole list or mapping is unusable
        else:
            bad_fields.add(str(loc[0]))
    routines = document.get("routines")
    connections = document.get("connections", [])
    if not isinstance(routines, dict) or not isinstance(connections, list):
        return []
    kept = [i for i in range(len(connections)) if i not in bad_connections]
    pruned = {key: value for key, value in document.items() if key not in bad_fields}
    pruned["routines"] = {k: v for k, v in routines.items() if k not in bad_routines}
    pruned["connections"] = [connections[i] for i in kept]
    try:
        spec = FlowSpec.model_validate(pruned)
        compile_flow(spec, registry, flow_id="flow")
    except (ValidationError, FlowValidationError) as exc:
        if not isinstance(exc, FlowValidationError):
            return []
        found = exc.errors
    else:
        return []
    more: list[SpecError] = []
    for error in found:
        loc = error.loc
        if loc and loc[0] == "entry" and (bad_connections or bad_routines):
            continue  # which routines start the flow depends on the parts left out
        if loc[:1] == ("connections",) and len(loc) > 1 and isinstance(loc[1], int):
            connection = spec.connections[loc[1]]
            side = connection.to if loc[2:3] == ("to",) else connection.from_
            if error.kind == "unknown_routine" and split_reference(side)[0] in bad_routines:
                continue  # that routine's own problems are already reported
            loc = ("connections", kept[loc[1]], *loc[2:])
        more.append(SpecError(loc, error.message, error.kind))
    return more


class _Refused(Exception):
    """A document construct that is refused; the message says which and where."""


class _DuplicateKey(_Refused):
    def __init__(self, key: str) -> None:
        super().__init__(f"duplicate key {key}")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys instead of keeping the last one, and aliases,
    which let a small document expand into an enormous one ("billion laughs")."""

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            line = self.peek_event().start_mark.line + 1  # type: ignore[no-untyped-call]
            raise _Refused(f"YAML aliases are not accepted (line {line})")
        return super().compose_node(parent, index)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        keys: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in keys:
                line = key_node.start_mark.line + 1
                raise _DuplicateKey(f"{key} (line {line})")
            keys.add(key)
        return super().construct_mapping(node, deep=deep)


def load_document(text: str | bytes, media_type: Literal["json", "yaml"]) -> Any:
    """Decode a flow document, refusing duplicate keys (a duplicate routine id is an error)."""
    try:
        if media_type == "json":
            return jsonutil.loads(text, object_pairs_hook=_no_duplicates)
        if isinstance(text, bytes) and text.isascii():
            text = text.decode()  # the same messages as for a file read as text: "<unicode string>"
        return yaml.load(text, Loader=_StrictLoader)
    except _Refused as exc:
        kind = "duplicate_key" if isinstance(exc, _DuplicateKey) else "refused"
        raise FlowValidationError([SpecError((), str(exc), kind)]) from None
    except RecursionError:
        raise FlowValidationError(
            [SpecError((), "the document is nested too deeply", "too_deep")]
        ) from None
    except (ValueError, yaml.YAMLError) as exc:
        raise FlowValidationError(
            [SpecError((), f"not valid {media_type.upper()}: {exc}", f"{media_type}_invalid")]
        ) from None


def load_flow(
    text: str | bytes,
    media_type: Literal["json", "yaml"] = "yaml",
    registry: RoutineRegistry | None = None,
) -> FlowSpec:
    """Decode and parse a flow document (see :func:`load_document` and :func:`validate_spec`)."""
    return validate_spec(load_document(text, media_type), registry)
