"""Records: the API's JSON objects with attribute access (`task.id`, `message.data.status`).

A Record keeps the server's dict as it came (new fields the server adds are reachable at once)
and offers each key as an attribute and an item. Typed subclasses (`models.py`, generated from
the OpenAPI document) only add annotations, so type checkers and editors know the fields
without the SDK refusing fields it has not heard of yet.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, ClassVar, Generic, TypeVar

T = TypeVar("T")


class NotGiven:
    """Marks a parameter left out (sent as nothing), unlike None (sent as JSON null)."""

    _instance: ClassVar[NotGiven | None] = None

    def __new__(cls) -> NotGiven:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN: Any = NotGiven()


def _wrap(value: Any, cls: type[Record] | None) -> Any:
    if isinstance(value, Record):
        return value
    if isinstance(value, Mapping):
        return (cls or Record)(value)
    if isinstance(value, list):
        return [_wrap(item, cls) for item in value]
    return value


def _unwrap(value: Any) -> Any:
    if isinstance(value, Record):
        return value.to_dict()
    if isinstance(value, list):
        return [_unwrap(item) for item in value]
    return value


class Record:
    """A read-only JSON object: `rec.field`, `rec["field"]`, `dict(rec)`, `rec.to_dict()`."""

    __slots__ = ("_data",)
    # field -> Record subclass for nested objects (or lists of them) of a typed model
    __refs__: ClassVar[dict[str, type[Record]]] = {}

    def __init__(self, data: Mapping[str, Any] | None = None, **fields: Any) -> None:
        raw = {**(data or {}), **fields}
        refs = type(self).__refs__
        object.__setattr__(self, "_data", {k: _wrap(v, refs.get(k)) for k, v in raw.items()})

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return self._data[name]
        except KeyError:
            raise AttributeError(f"{type(self).__name__} has no field {name!r}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is read-only")

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __len__(self) -> int:
        return len(self._data)

    def keys(self):  # dict's own view type
        return self._data.keys()

    def get(self, key: str, default: Any = None) -> Any:
        return self._data.get(key, default)

    def to_dict(self) -> dict[str, Any]:
        """The plain JSON object again (nested records included)."""
        return {k: _unwrap(v) for k, v in self._data.items()}

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Record):
            return self.to_dict() == other.to_dict()
        if isinstance(other, Mapping):
            return self.to_dict() == dict(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.to_dict()!r})"

    def __getstate__(self) -> dict[str, Any]:
        return self.to_dict()

    def __setstate__(self, state: dict[str, Any]) -> None:
        type(self).__init__(self, state)


class Page(Record, Generic[T]):
    """One page of a list: `items` plus `total`, `page`, `page_size`, `pages`, `has_next`,
    `has_previous` (and `links` where the server sends them). Iterating a page walks its items;
    the resource's `iter(...)` walks every page."""

    __slots__ = ("_items_key",)
    items: list[T]
    total: int
    page: int
    page_size: int
    pages: int
    has_next: bool
    has_previous: bool

    def __init__(self, data: Mapping[str, Any], item_cls: type[Record] | None = None,
                 items_key: str = "items") -> None:
        object.__setattr__(self, "_items_key", items_key)
        super().__init__(data)
        if item_cls is not None:
            self._data[items_key] = [_wrap(dict(i) if isinstance(i, Record) else i, item_cls)
                                     if not isinstance(i, item_cls) else i
                                     for i in self._data.get(items_key, [])]

    def __getattr__(self, name: str) -> Any:
        if name == "items":
            return self._data.get(self._items_key, [])
        return super().__getattr__(name)

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)


class OutputLine(Record):
    """One line of a run's output, as the live stream and the REST backlog give it."""

    seq: int
    stream: str
    kind: str
    content: str
    timestamp: str | None
    execution_id: str
    command_id: str


class WsMessage(Record):
    """A message of the `/ws/{session_id}` socket: `type`, `data`, `timestamp`."""

    type: str
    data: Record
    timestamp: Any
