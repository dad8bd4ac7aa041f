"""Values that stand where a layer's array would be: switched off, or shared by name."""

from __future__ import annotations


class _NoArray:
    """An array switched off (``"Biases" -> None``)."""

    def __repr__(self) -> str:
        return "None"


NO_ARRAY = _NoArray()


class SharedRef:
    """``NetSharedArray["name"]`` standing in for an array."""

    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SharedRef) and other.name == self.name

    def __hash__(self) -> int:
        return hash(("SharedRef", self.name))

    def __repr__(self) -> str:
        return f'NetSharedArray["{self.name}"]'
