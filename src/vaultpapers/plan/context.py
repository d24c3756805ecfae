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
from vaultpapers.model import Note, Problem, StatKey
from vaultpapers.notes.index_notes import note_summary
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
    linked_text: dict[str, str] = field(default_factory=dict)  # path -> text with new links
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
        if scan.note.path in self.linked_text:
            return False
        previous = self.previous_outputs.get(scan.note.path)
        if previous == (scan.note.stat, inputs):
            self.plan.outputs[scan.note.path] = previous
            return True
        return False

    def summary(self, path: str) -> str:
        # Summarise the note as this run leaves it, or the next run would see a new line.
        # Asked for once the links are planned, and again by every index note it is listed in.
        summary = self.summaries.get(path)
        if summary is None:
            scan = self.scan_at[path]
            linked = self.linked_text.get(path)
            summary = note_summary(linked, scan.properties) if linked is not None else scan.summary
            self.summaries[path] = summary
        return summary
