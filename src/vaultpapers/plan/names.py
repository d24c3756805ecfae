"""What a plan calls notes and papers: wikilink targets as Obsidian resolves them, free file
names for new notes, and citation labels."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping

from vaultpapers.arxiv.papers import Paper
from vaultpapers.markdown.notelinks import linkable
from vaultpapers.notes.paper_note import citation_label
from vaultpapers.relations.series import NameFinding
from vaultpapers.scan.catalog import stem_of


class LinkNames:
    """Wikilink targets as Obsidian resolves them: by file name, case-insensitively; the
    vault-relative path (without .md) where two notes share a name.

    `stems` counts the notes of the vault by lowercase name; the notes this plan adds are
    counted apart, leaving it as it was."""

    def __init__(self, stems: Mapping[str, int]) -> None:
        self.stems = stems
        self.added: dict[str, int] = defaultdict(int)
        self.targets: dict[str, str] = {}

    def add(self, path: str) -> None:
        self.added[stem_of(path).lower()] += 1
        self.targets.clear()

    def count(self, stem: str) -> int:
        """How many notes are named `stem` (lowercase)."""
        return self.stems.get(stem, 0) + self.added.get(stem, 0)

    def taken(self, stem: str) -> bool:
        return self.count(stem.lower()) > 0

    def target(self, path: str) -> str:
        if path not in self.targets:
            stem = stem_of(path)
            unique = self.count(stem.lower()) <= 1
            # A name no link reaches alone ('http:x [1]') may still be reached by its path.
            by_name = unique and linkable(stem)
            self.targets[path] = stem if by_name else path.removesuffix(".md")
        return self.targets[path]

    def free_path(self, folder: str, stem: str) -> str:
        candidate, number = stem, 1
        while self.taken(candidate):
            number += 1
            candidate = f"{stem} {number}"
        path = f"{folder.strip('/')}/{candidate}.md" if folder.strip("/") else f"{candidate}.md"
        self.add(path)
        return path


class Labels(dict[str, str]):
    """Citation labels, worked out only for the papers actually shown (it costs a title parse)."""

    def __init__(self, papers: Mapping[str, Paper]) -> None:
        super().__init__()
        self.papers = papers
        self.names: Mapping[str, NameFinding] = {}  # found already, while relating papers

    def __missing__(self, key: str) -> str:
        label = self[key] = citation_label(self.papers[key], self.names.get(key))
        return label

    def __contains__(self, key: object) -> bool:
        return key in self.papers

    def get(self, key: str, default: str | None = None) -> str | None:  # type: ignore[override]
        return self[key] if key in self.papers else default
