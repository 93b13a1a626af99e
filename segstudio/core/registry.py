"""Plain-dict registries filled by decorators; plugins add entries via the ``segstudio.plugins`` group."""
from __future__ import annotations

from importlib import metadata
from typing import Callable, Dict, Generic, Iterator, TypeVar

from segstudio.core.errors import UnknownNameError

T = TypeVar("T")


class Registry(Generic[T]):
    """A named mapping ``name -> object`` with a ``register`` decorator.

    ``get`` raises :class:`UnknownNameError` listing the known names.
    """

    def __init__(self, kind: str):
        self.kind = kind
        self.entries: Dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        def deco(obj: T) -> T:
            if name in self.entries and self.entries[name] is not obj:
                raise ValueError(f"{self.kind} {name!r} is already registered")
            self.entries[name] = obj
            return obj

        return deco

    def get(self, name: str) -> T:
        load_plugins()
        try:
            return self.entries[name]
        except KeyError:
            raise UnknownNameError(self.kind, name, self.entries) from None

    def names(self) -> list[str]:
        load_plugins()
        return sorted(self.entries)

    def __contains__(self, name: object) -> bool:
        load_plugins()
        return name in self.entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())


_plugins_loaded = False
plugin_errors: list[str] = []


def load_plugins() -> None:
    """Import every entry point of the ``segstudio.plugins`` group once.

    A plugin that fails to import is recorded in ``plugin_errors`` (shown by ``segstudio plugins``) and never
    stops the app.
    """
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    try:
        eps = metadata.entry_points(group="segstudio.plugins")
    except Exception as exc:  # pragma: no cover - broken metadata
        plugin_errors.append(f"entry points unreadable: {exc}")
        return
    for ep in eps:
        try:
            obj = ep.load()
            if callable(obj):
                obj()
        except Exception as exc:
            plugin_errors.append(f"{ep.name}: {type(exc).__name__}: {exc}")
