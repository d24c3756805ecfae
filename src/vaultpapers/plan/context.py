"""What every step of a plan shares: its inputs, the plan being built, and the texts of the
notes links go into. Each step is a function given this context and the results of the
steps before it."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from vaultpapers import __version__
from vaultpapers.arxiv.papers import Resolution
from vaultpapers.config import Settings
from vaultpapers.model import Insertion, Note, Problem, StatKey, with_insertions
from vaultpapers.plan.names import Labels, LinkNames
from vaultpapers.scan.catalog import Catalog
from vaultpapers.scan.note import NoteScan

if TYPE_CHECKING:  # the plan module imports this one
    from vaultpapers.plan.planner import Plan

T = TypeVar("T")

# Prefix of a paper note's inputs digest rendered without metadata: `scope.affected_by`
# looks at that note again once the metadata came.
PENDING = "pending:"


def digest(*parts: str) -> str:
    return hashlib.blake2b("\x00".join(parts).encode("utf-8"), digest_size=16).hexdigest()


@dataclass
class PlanContext:
    catalog: Catalog
    resolution: Resolution
    settings: Settings
    # Reads a note's text when its scan came without it; None if it changed since the scan.
    read_text: Callable[[Note], Note | None]
    # The last plan's outputs: a generated note with the same stat and inputs is left alone.
    previous_outputs: Mapping[str, tuple[StatKey, str]]
    plan: Plan
    names: LinkNames = field(init=False)
    labels: Labels = field(init=False)
    settings_digest: str = field(init=False)
    # path -> the links to insert into it, (offset, link) in the order of the text
    linked: dict[str, tuple[Insertion, ...]] = field(default_factory=dict)
    summaries: dict[str, str] = field(default_factory=dict)  # path -> its line, once planned

    def __post_init__(self) -> None:
        self.names = LinkNames(self.catalog.stems)
        self.labels = Labels(self.resolution.papers)
        self.settings_digest = digest(self.settings.for_notes, __version__)

    @property
    def scan_at(self) -> Mapping[str, NoteScan]:
        return self.catalog.scan_at

    def problem(self, path: str, message: str, code: str, line: int | None = None) -> None:
        self.plan.problems.append(Problem(path, line, message, code))

    def text_of(self, scan: NoteScan) -> Note | None:
        """The note with its text, read now if the scan came without it."""
        if scan.note.text is not None:
            return scan.note
        note = self.read_text(scan.note)
        if note is None:
            self.problem(
                scan.note.path,
                "changed while vaultpapers was running; left for the next run",
                "changed-during-run",
            )
            self.plan.skipped.add(scan.note.path)
        return note

    def guarded(self, path: str, step: Callable[[], T]) -> T | None:
        """One note's step; if it fails, that note is left unchanged and the run goes on."""
        try:
            return step()
        except Exception as exc:  # a bug must cost one note, never the whole vault
            self.problem(
                path,
                f"left unchanged: vaultpapers failed on it ({type(exc).__name__}: {exc}); "
                "please report this",
                "plan-failed",
            )
            return None

    def unchanged_output(self, scan: NoteScan, inputs: str) -> bool:
        """Whether a generated note is as we left it, from the same inputs: nothing to do."""
        if scan.note.path in self.linked:
            return False
        previous = self.previous_outputs.get(scan.note.path)
        if previous == (scan.note.stat, inputs):
            self.plan.outputs[scan.note.path] = previous
            return True
        return False

    def summary(self, path: str) -> str:
        # The note as this run leaves it, or the next run would see a new line: a note that
        # gains links or sections has its line set when they are planned.
        summary = self.summaries.get(path)
        return self.scan_at[path].summary if summary is None else summary

    def with_links(self, note: Note) -> tuple[str, tuple[Insertion, ...]]:
        """A note's text (read) with the links planned for it, which it no longer owes: the
        caller writes that text. Also the links, to give back should it not."""
        assert note.text is not None
        linked = self.linked.pop(note.path, ())
        return with_insertions(note.text, linked), linked
