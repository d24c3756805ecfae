"""`vaultpapers export`: a bibliography of the vault or of one note, and where it may go."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from vaultpapers.arxiv.papers import Paper, Resolution
from vaultpapers.config import Settings
from vaultpapers.model import FileState, Write, WriteResult
from vaultpapers.notes import bibliography
from vaultpapers.notes.bibliography import BIBLIOGRAPHY_KIND
from vaultpapers.plan.planner import plan_link
from vaultpapers.run.sources import cache_path, open_cache
from vaultpapers.scan.note import NoteScan, scan_or_report
from vaultpapers.vaultfs.files import read_vault
from vaultpapers.vaultfs.writer import VaultWriter


@dataclass
class Export:
    """A bibliography made by `export`: its text, how many papers it lists, and the papers
    left out (cited by the note, but without metadata or a citekey yet: `link` first)."""

    text: str
    papers: int
    missing: list[str] = field(default_factory=list)


def export_bibliography(
    vault: Path, settings: Settings, format: str, note: str | None = None
) -> Export:
    """The vault's bibliography (every paper with a note), or only the papers `note` cites
    (by arXiv reference or Pandoc citekey), in `format`. Offline and read-only: the cached
    metadata and the citekeys `link` gives, as a `link --offline` would plan them.

    Raises LookupError when `note` names no note of the vault."""
    notes, _ = read_vault(vault, settings)
    scans = [scan_or_report(n) for n in notes]
    papers: dict[str, Paper] = {}
    keys = {k for scan in scans for k in (*scan.cited, scan.paper_key, scan.names_paper) if k}
    if cache_path(vault).is_file():  # read-only: no cache is made to find out there is none
        with open_cache(vault) as cache:
            papers = cache.get_many(keys)
    plan = plan_link(scans, Resolution(papers), settings)
    citekeys: Mapping[str, str] = plan.citekeys
    missing: list[str] = []
    if note is not None:
        scan = _find_note(scans, note)
        key_of_citekey = {c: k for k, c in sorted(plan.citekeys.items(), reverse=True)}
        cited = list(scan.cited)
        for citekey in scan.cites:
            if citekey in key_of_citekey:
                cited.append(key_of_citekey[citekey])
        wanted = list(dict.fromkeys(cited))
        missing = [key for key in wanted if key not in papers or key not in plan.citekeys]
        citekeys = {key: plan.citekeys[key] for key in wanted if key in plan.citekeys}
    items = bibliography.entries(papers, citekeys)
    return Export(bibliography.render(format, items), len(items), missing)


class ExportRefused(ValueError):
    """`export -o` names a file it must not replace; the message says why and what to do."""


# A note, in any of the names Markdown goes by: an export never replaces one, --force or not.
MARKDOWN_SUFFIXES = frozenset((".md", ".markdown", ".mdown", ".mkd", ".mkdn", ".mdx", ".qmd"))


def write_export(target: Path, text: str, force: bool = False) -> WriteResult:
    """Put an exported bibliography at `target` (anywhere), replaced atomically. A file there
    is replaced only if it is a bibliography vaultpapers wrote (a `.bib` whose header's
    digest holds, or already this text) or with `force`; a Markdown file never: `-o` naming
    a note (`-o vault/Draft.md`) must not cost the note. Raises ExportRefused."""
    if target.suffix.lower() in MARKDOWN_SUFFIXES:
        raise ExportRefused(
            f"{target}: a Markdown file; export writes a bibliography (name a .bib or .json "
            "file), never a note"
        )
    expected: FileState | None = None
    try:
        data = target.read_bytes()
        expected = FileState.of(data, target.stat())
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise ExportRefused(f"{target}: not readable ({exc}): left alone") from exc
    if expected is not None and not force:
        current = data.decode("utf-8", errors="replace")
        if not (bibliography.written_by_us(current) or bibliography.same_text(current, text)):
            raise ExportRefused(
                f"{target} exists and is not a bibliography vaultpapers wrote (or was edited "
                "since): left alone. Name another file, or use --force to replace it"
            )
    write = Write(target.name, text, expected, reason="export", kind=BIBLIOGRAPHY_KIND)
    return VaultWriter(target.parent).apply(write)


def _find_note(scans: list[NoteScan], name: str) -> NoteScan:
    """A note by its path in the vault (with or without `.md`) or, if unique, its name."""
    wanted = name.replace("\\", "/").removeprefix("./")
    wanted_md = wanted if wanted.endswith(".md") else f"{wanted}.md"
    for scan in scans:
        if scan.note.path == wanted_md:
            return scan
    by_name = [s for s in scans if s.note.stem.casefold() == wanted.removesuffix(".md").casefold()]
    if len(by_name) == 1:
        return by_name[0]
    if by_name:
        paths = ", ".join(s.note.path for s in by_name)
        raise LookupError(f"several notes are called {name!r} ({paths}): give its path")
    raise LookupError(f"no note {name!r} in the vault")
