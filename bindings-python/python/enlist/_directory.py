"""The directory source protocol of the directory assistant (seed 000)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Protocol, Sequence, Union, runtime_checkable

if TYPE_CHECKING:
    from ._enlist import DirectoryCompany, DirectoryEmployee


@runtime_checkable
class DirectorySource(Protocol):
    """The HR system the directory assistant reads (``Enlist.directory_start``).

    Any object with these two methods will do; ``MemoryDirectory`` and
    ``CsvDirectory`` ship with enlist. Items are ``DirectoryCompany`` /
    ``DirectoryEmployee`` values or dicts of their fields. What a source
    returns is bounded (1,000 companies, 10,000 employees per company,
    every field one line of bounded length) before the engine uses it, and
    an exception it raises comes out of the engine's call as it is.
    """

    def companies(self) -> Sequence[Union["DirectoryCompany", Dict[str, Any]]]: ...

    def employees(self, company_id: str, /) -> Sequence[Union["DirectoryEmployee", Dict[str, Any]]]: ...
