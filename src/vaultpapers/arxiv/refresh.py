"""Metadata that stays current: when to ask arXiv again about a paper it answered for before,
and what changed when it answers.

Pure. A paper changes most in its first year (new versions, then a venue: `journal_ref`, a
DOI); later, rarely. So a paper younger than `refresh.young_days` (365) is asked about again
`refresh.young_every_days` (7) after it was last asked, an older one after
`refresh.old_every_days` (90). A run asks about the papers most overdue first, at most
`refresh.max_requests` requests' worth of them (one request holds `arxiv.batch_size` ids), so
that a run never waits long; the rest wait for the next run.
"""

from __future__ import annotations

from collections.abc import Mapping

from vaultpapers.arxiv.papers import Paper
from vaultpapers.config import RefreshSettings
from vaultpapers.notes.paper_note import citation_label

DAY = 86_400.0


def interval(paper: Paper, now: float, settings: RefreshSettings) -> float:
    """Seconds between two askings about `paper`, by its age at `now`."""
    age = now - paper.published.timestamp()
    young = age < settings.young_days * DAY
    return (settings.young_every_days if young else settings.old_every_days) * DAY


def due_at(paper: Paper, fetched_at: float, now: float, settings: RefreshSettings) -> float:
    return fetched_at + interval(paper, now, settings)


def due(
    papers: Mapping[str, Paper],
    fetched: Mapping[str, float],
    now: float,
    settings: RefreshSettings,
) -> list[str]:
    """The papers due to be asked about again, most overdue first (ties: by key)."""
    overdue = [
        (due_at(papers[key], fetched[key], now, settings), key)
        for key in papers.keys() & fetched.keys()
    ]
    return [key for when, key in sorted(overdue) if when <= now]


# A paper arXiv could not be asked about is asked again after this, not at the very next run:
# an unreachable arXiv must not make every run wait.
RETRY_AFTER = DAY


def postponed(
    papers: Mapping[str, Paper], keys: list[str], now: float, settings: RefreshSettings
) -> dict[str, float]:
    """The `fetched_at` that makes each of `keys` fall due `RETRY_AFTER` from `now`."""
    return {key: now + RETRY_AFTER - interval(papers[key], now, settings) for key in keys}


def next_due(
    papers: Mapping[str, Paper],
    fetched: Mapping[str, float],
    now: float,
    settings: RefreshSettings,
) -> float | None:
    """When the next paper falls due (None: no paper to ask about)."""
    times = [
        due_at(papers[key], fetched[key], now, settings) for key in papers.keys() & fetched.keys()
    ]
    return min(times) if times else None


def what_changed(old: Paper, new: Paper) -> list[str]:
    """What a user would want to hear of a paper's new metadata, in a few words each."""
    said: list[str] = []
    if new.version != old.version:
        said.append(f"v{old.version} → v{new.version}")
    if new.title != old.title:
        said.append(f"retitled '{new.title}'")
    if new.journal_ref and new.journal_ref != old.journal_ref:
        said.append(f"now {new.journal_ref}")
    if new.doi and new.doi != old.doi:
        said.append(f"DOI {new.doi}")
    if new.comment != old.comment and new.comment and "withdrawn" in new.comment.lower():
        said.append("withdrawn")
    elif new.comment != old.comment and not said:
        said.append("comment changed")
    if not said and new.updated != old.updated:
        said.append(f"updated {new.updated.date().isoformat()}")
    return said


def describe(old: Paper, new: Paper) -> str:
    """'Perceiver IO: v2 → v3, now ICLR 2022'."""
    return f"{citation_label(old)}: {', '.join(what_changed(old, new))}"
