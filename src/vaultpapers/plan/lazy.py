"""Mappings worked out only as far as they are read: a plan that looks at a few papers
should not pay for the whole library's."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping
from typing import TypeVar

T = TypeVar("T")


class OnFirstUse(Mapping[str, T]):
    """A mapping built by `build` the first time it is read."""

    def __init__(self, build: Callable[[], dict[str, T]]) -> None:
        self.build = build
        self.built: dict[str, T] | None = None

    def _mapping(self) -> dict[str, T]:
        if self.built is None:
            self.built = self.build()
        return self.built

    def __getitem__(self, key: str) -> T:
        return self._mapping()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._mapping())

    def __len__(self) -> int:
        return len(self._mapping())


class Lazy(Mapping[str, T]):
    """A mapping over `keys` whose values are worked out as they are asked for: a plan
    that looks at a few papers needs a few of them, not the whole library's."""

    def __init__(self, domain: Collection[str], value: Callable[[str], T]) -> None:
        self.domain = domain
        self.value = value
        self.known: dict[str, T] = {}

    def __getitem__(self, key: str) -> T:
        if key not in self.known:
            if key not in self.domain:
                raise KeyError(key)
            self.known[key] = self.value(key)
        return self.known[key]

    def __contains__(self, key: object) -> bool:
        return key in self.domain

    def __iter__(self) -> Iterator[str]:
        return iter(self.domain)

    def __len__(self) -> int:
        return len(self.domain)
