"""Records for tests: papers with defaults a test overrides by keyword, saying only what matters
to it."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from vaultpapers.arxiv.papers import Paper


def make_paper(
    arxiv_id: str,
    title: str | None = None,
    summary: str = "We study a problem and report what we found.",
    *,
    version: int = 1,
    published: str | datetime = "2021-03-04",
    updated: str | datetime | None = None,
    authors: tuple[str, ...] | None = None,
    categories: tuple[str, ...] = ("cs.LG",),
    primary_category: str | None = None,
    doi: str | None = None,
    journal_ref: str | None = None,
    comment: str | None = None,
) -> Paper:
    """A paper at `version` 1, published and updated on one day, in `cs.LG`.

    Dates may be written `"2021-03-04"` (see `moment`). Papers share no author unless a test
    says so: shared authors relate papers. The primary category is the first of `categories`.
    """
    return Paper(
        arxiv_id=arxiv_id,
        version=version,
        title=title if title is not None else f"On {arxiv_id}",
        authors=authors if authors is not None else (f"Author of {arxiv_id}",),
        summary=summary,
        published=moment(published),
        updated=moment(updated if updated is not None else published),
        primary_category=(
            primary_category if primary_category is not None else next(iter(categories), "")
        ),
        categories=categories,
        doi=doi,
        journal_ref=journal_ref,
        comment=comment,
    )


def feed_paper(arxiv_id: str, **fields: Any) -> Paper:
    """A paper as an arXiv feed entry carries it: two authors, two categories, an update after
    publication, times to the second. For tests of what is stored, served and parsed back,
    where a default left empty or equal to another would hide a field that was lost."""
    full: dict[str, Any] = {
        "authors": ("Ada Lovelace", "Alan Turing"),
        "summary": f"Abstract of {arxiv_id}.",
        "published": datetime(2021, 1, 2, 3, 4, 5, tzinfo=timezone.utc),
        "updated": datetime(2021, 2, 3, 4, 5, 6, tzinfo=timezone.utc),
        "categories": ("cs.LG", "stat.ML"),
    }
    return make_paper(arxiv_id, **{**full, **fields})


def moment(when: str | datetime) -> datetime:
    """A datetime as is; an ISO text in UTC unless it names a zone, and a date alone at 17:00
    UTC that day (the hour the vault tests have always used: any fixed hour keeps papers made
    from the same date equal)."""
    if isinstance(when, datetime):
        return when
    parsed = datetime.fromisoformat(when)
    if len(when) == len("2021-03-04"):
        parsed = parsed.replace(hour=17)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=timezone.utc)
