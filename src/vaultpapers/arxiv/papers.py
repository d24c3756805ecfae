"""Paper metadata as vaultpapers keeps it: small immutable records, independent of the client."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import date, datetime


@dataclass(frozen=True)
class Paper:
    """One arXiv paper at its latest known version.

    ``arxiv_id`` is the canonical key: unversioned, old-style ids without subject class
    (``hep-th/9711200``, ``2103.03206``).
    """

    arxiv_id: str
    version: int
    title: str
    authors: tuple[str, ...]
    summary: str
    published: datetime
    updated: datetime
    primary_category: str
    categories: tuple[str, ...] = field(default_factory=tuple)
    doi: str | None = None
    journal_ref: str | None = None
    comment: str | None = None

    @property
    def url(self) -> str:
        return f"https://arxiv.org/abs/{self.arxiv_id}"

    @property
    def pdf(self) -> str:
        return f"https://arxiv.org/pdf/{self.arxiv_id}v{self.version}"

    @property
    def published_date(self) -> date:
        return self.published.date()

    @property
    def updated_date(self) -> date:
        return self.updated.date()

    def to_json(self) -> str:
        # Field by field: dataclasses.asdict deep-copies every value, slowly.
        record = {name: getattr(self, name) for name in _FIELDS}
        record["authors"] = list(self.authors)
        record["categories"] = list(self.categories)
        record["published"] = self.published.isoformat()
        record["updated"] = self.updated.isoformat()
        return json.dumps(record, ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Paper:
        # Not memoised on the text: that would keep every record's JSON for the life of the
        # process (tens of MB in a watcher). A caller that reads the same records again and
        # again keeps the papers it decoded (`PaperCache.get_many(known=...)`).
        record = json.loads(text)
        record["authors"] = tuple(record["authors"])
        record["categories"] = tuple(record["categories"])
        record["published"] = datetime.fromisoformat(record["published"])
        record["updated"] = datetime.fromisoformat(record["updated"])
        if record.keys() != _FIELD_SET:
            return cls(**record)  # missing or unknown fields: as `__init__` says (TypeError)
        # Every field there: set at once. A frozen dataclass's `__init__` sets each one through
        # `object.__setattr__`, a large part of decoding a library's records.
        paper = object.__new__(cls)
        paper.__dict__.update(record)
        return paper


_FIELDS = tuple(f.name for f in fields(Paper))
_FIELD_SET = frozenset(_FIELDS)


@dataclass(frozen=True)
class Resolution:
    """What is known about each cited paper after the cache and the API were asked."""

    papers: Mapping[str, Paper]
    not_found: frozenset[str] = frozenset()
    pending: Mapping[str, str] = field(default_factory=dict)  # key -> why it is not known yet
    requests: int = 0  # HTTP requests made to arXiv for this resolution


@dataclass(frozen=True)
class FetchResult:
    """What one fetch from arXiv (or a helper that fetched ahead) came to."""

    papers: dict[str, Paper]
    """Requested key -> paper."""
    not_found: frozenset[str]
    """arXiv answered, and has no such paper (or rejected the id as malformed)."""
    failed: dict[str, str]
    """Key -> why it could not be fetched this time; these stay pending for a later run."""
    requests: int
    """HTTP requests made."""
