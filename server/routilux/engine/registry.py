"""The routine type registry: the only way a flow document reaches code.

A flow names a type by its registered name. The caller chooses the types: the server gives the
built-ins (see :func:`routilux.routines.default_registry`), then the routines of installed
distributions that declare the entry-point group ``routilux.routines``, then those of modules the
operator lists in settings. Nothing is ever imported because a flow or a request named it.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Iterable, Iterator
from importlib.metadata import entry_points
from typing import Any, TypeGuard

from routilux.engine.errors import RoutiluxError
from routilux.engine.routine import Routine

ENTRY_POINT_GROUP = "routilux.routines"

RoutineType = type[Routine[Any]]


class RegistryError(RoutiluxError):
    code = "registry_error"


class RoutineRegistry:
    """Maps type names (and aliases) to routine classes."""

    def __init__(self, types: Iterable[RoutineType] = ()) -> None:
        self._types: dict[str, RoutineType] = {}
        self._aliases: dict[str, str] = {}
        for routine_type in types:
            self.register(routine_type)

    @classmethod
    def with_plugins(
        cls,
        types: Iterable[RoutineType],
        modules: Iterable[str] = (),
        *,
        entry_points_enabled: bool = True,
    ) -> RoutineRegistry:
        """``types``, then entry points, then the operator's modules (later names win)."""
        registry = cls(types)
        if entry_points_enabled:
            for point in entry_points(group=ENTRY_POINT_GROUP):
                registry.register_object(point.load(), origin=f"entry point {point.name!r}")
        for module_name in modules:
            module = importlib.import_module(module_name)
            for _, value in inspect.getmembers(module, inspect.isclass):
                if _is_routine_type(value) and value.__module__ == module.__name__:
                    registry.register(value, replace=True)
        return registry

    def register_object(self, obj: object, *, origin: str) -> None:
        """Register a routine class, or every routine class in an iterable."""
        candidates = obj if isinstance(obj, Iterable) else [obj]
        for candidate in candidates:
            if not _is_routine_type(candidate):
                raise RegistryError(f"{origin} provides {candidate!r}, which is not a Routine type")
            self.register(candidate, replace=True)

    def register(self, routine_type: RoutineType, *, replace: bool = False) -> None:
        name = routine_type.type_name or routine_type.__name__
        names = (name, *routine_type.aliases)
        if not replace:
            for each in names:
                if each in self._types or each in self._aliases:
                    raise RegistryError(f"routine type {each!r} is already registered")
        self._types[name] = routine_type
        for alias in routine_type.aliases:
            self._aliases[alias] = name

    def get(self, name: str) -> RoutineType | None:
        return self._types.get(self._aliases.get(name, name))

    def canonical_name(self, name: str) -> str:
        return self._aliases.get(name, name)

    def names(self) -> list[str]:
        return sorted(self._types)

    def __iter__(self) -> Iterator[tuple[str, RoutineType]]:
        return iter(sorted(self._types.items()))

    def aliases_of(self, name: str) -> list[str]:
        return sorted(alias for alias, target in self._aliases.items() if target == name)


def _is_routine_type(value: object) -> TypeGuard[RoutineType]:
    return (
        inspect.isclass(value)
        and issubclass(value, Routine)
        and value is not Routine
        and not inspect.isabstract(value)
    )
