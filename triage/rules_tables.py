"""A table of a rules file that knows where it is: a missing key, or a value of the
wrong kind, names the file, the table and the key, not a bare KeyError('x')."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .errors import RulesError


class Table:
    """One TOML table (or the whole file) of a rules file, read by key."""

    def __init__(self, file: str, data: dict[str, Any], path: str = "") -> None:
        self.file, self.path, self._data = file, path, data

    def __getitem__(self, key: str) -> Any:
        where = f"{self.path}.{key}" if self.path else key
        if key not in self._data:
            table = f"[{self.path}]" if self.path else "the top level"
            raise RulesError(f"{self.file}: the key {key!r} is missing from {table} (expected {where})")
        return self._wrap(self._data[key], where)

    def keys(self) -> Iterator[str]:
        return iter(self._data)

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def _wrap(self, value: Any, where: str) -> Any:
        if isinstance(value, dict):
            return Table(self.file, value, where)
        if isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
            return [Table(self.file, item, f"{where}[{index}]") for index, item in enumerate(value)]
        return value
