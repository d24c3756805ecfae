"""Where each paper's note is, or will be, decided before anything is rendered so that links
point at final names: the notes vaultpapers keeps, the user's own notes it adopts, pending
stubs renamed once their metadata came, and every paper note's citekey."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from vaultpapers.arxiv.papers import Paper
from vaultpapers.markdown.notelinks import linkable
from vaultpapers.notes.citekeys import assign_citekeys, citekey_problem
from vaultpapers.notes.paper_note import paper_file_stem
from vaultpapers.plan.context import PlanContext
from vaultpapers.plan.lazy import OnFirstUse
from vaultpapers.plan.names import LinkNames
from vaultpapers.scan.catalog import stem_of
from vaultpapers.scan.note import UNUSABLE_CITEKEY, NoteScan


@dataclass
class PaperNotes:
    """Every paper with a note, or one to be made, and the notes citing it."""

    names: LinkNames
    adopted: dict[str, NoteScan]  # paper key -> the user's own note on it
    paper_notes: Mapping[str, list[NoteScan]]  # paper key -> its notes (the first one counts)
    citations: Mapping[str, list[NoteScan]]  # paper key -> the notes citing it
    note_path: dict[str, str] = field(default_factory=dict)  # where its note is or will be
    renames: dict[str, str] = field(default_factory=dict)  # key -> the pending note it completes
    note_citekeys: dict[str, str] = field(default_factory=dict)  # what each paper note shows
    key_of_citekey: dict[str, str] = field(default_factory=dict)
    _key_of_target: Mapping[str, str] | None = None

    def link_target(self, key: str) -> str:
        return self.names.target(self.note_path[key])

    def names_of_paper_note(self, key: str) -> set[str]:
        """Every lowercase name a paper's note goes by: a link to any of them is a link to it."""
        names = {self.link_target(key).lower()}
        for scan in self.paper_notes.get(key, ()):
            names |= {scan.note.path.removesuffix(".md").lower(), scan.note.stem.lower()}
        return names

    def key_of_target(self) -> Mapping[str, str]:
        """Lowercase link target (file name, path, or a paper note's name before a rename)
        -> the paper key, to read which papers the user's links name. Worked out on first
        use: most plans read no link of the user's."""
        if self._key_of_target is None:
            self._key_of_target = OnFirstUse(self._keys_of_targets)
        return self._key_of_target

    def _keys_of_targets(self) -> dict[str, str]:
        key_of_target: dict[str, str] = {}
        for key, path in sorted(self.note_path.items()):  # a name two papers share: the later
            key_of_target[stem_of(path).lower()] = key
            key_of_target[path.removesuffix(".md").lower()] = key
        for key, scans in sorted(self.paper_notes.items()):
            key_of_target.setdefault(scans[0].note.stem.lower(), key)
        return key_of_target


def place_paper_notes(ctx: PlanContext, defer_papers: Collection[str]) -> PaperNotes:
    """Decide every paper note's path before rendering, so links point at final names.
    A paper's note stays where it is, but a pending stub whose metadata came: it is
    completed under the paper's name. In key order, so that two machines name alike.
    Papers in `defer_papers` without metadata get no new note yet."""
    _report_duplicates(ctx)
    notes = _with_adopted(ctx, _adopt(ctx))
    papers = ctx.resolution.papers
    not_found = ctx.resolution.not_found
    notes.note_path = {key: scans[0].note.path for key, scans in notes.paper_notes.items()}
    placed = [
        key
        for key, path in notes.note_path.items()
        if "arXiv " in path
        and key not in notes.adopted
        and stem_of(path) == paper_file_stem(key, None, "")
    ]
    placed += notes.citations.keys() - notes.paper_notes.keys()
    for key in sorted(placed):
        paper = papers.get(key)
        if key in notes.paper_notes:
            if paper is not None:
                notes.renames[key] = notes.note_path[key]
                notes.note_path[key] = _new_paper_path(ctx, key, paper)
        elif key in not_found or (key in defer_papers and paper is None):
            continue
        else:
            notes.note_path[key] = _new_paper_path(ctx, key, paper)
    for key in sorted(not_found):
        paper = papers.get(key)
        if key in notes.paper_notes:
            if paper is None:
                _report_not_found(ctx, key)
        elif key in notes.citations and not (key in defer_papers and paper is None):
            _report_not_found(ctx, key)
    return notes


def _report_duplicates(ctx: PlanContext) -> None:
    for what, claimants in ctx.catalog.claimed_twice():
        others = ", ".join(c.note.path for c in claimants[1:])
        ctx.problem(
            claimants[0].note.path,
            f"{len(claimants)} notes claim {what} (also {others}); using this one "
            "and leaving the others untouched: merge them by hand",
            "duplicate-claim",
        )


def _adopt(ctx: PlanContext) -> dict[str, NoteScan]:
    """The papers whose note is one of the user's own: the only note naming the paper in
    its properties, when vaultpapers keeps no note of its own for it. A paper note made
    before stays the paper's note (notes link to it); the user is told how to switch."""
    if ctx.settings.adopt_notes == "off":
        return {}
    adopted: dict[str, NoteScan] = {}
    for key, naming in sorted(ctx.catalog.naming.items()):
        if len(naming) > 1:
            continue  # which of them is the paper's note is the user's call, not ours
        own = naming[0]
        if not linkable(ctx.names.target(own.note.path)):
            continue  # no link could reach it: the paper gets a note of its own
        ours = ctx.catalog.paper_notes.get(key)
        if ours is None:
            adopted[key] = own
            continue
        ctx.problem(
            own.note.path,
            f"names arXiv {key} in its properties, but {ours[0].note.path} is that "
            "paper's note: links go there. To make yours the paper's note, delete "
            "that one (links to it stay as they are)",
            "own-note-not-used",
        )
    return adopted


def _with_adopted(ctx: PlanContext, adopted: dict[str, NoteScan]) -> PaperNotes:
    """The catalog's paper notes and citations, the adopted notes counted as paper notes."""
    catalog = ctx.catalog
    if not adopted:
        return PaperNotes(ctx.names, adopted, catalog.paper_notes, catalog.citations)
    paper_notes = {**catalog.paper_notes, **{k: [s] for k, s in adopted.items()}}
    citations = dict(catalog.citations)
    for key, own in adopted.items():  # a note does not mention itself
        others = [scan for scan in citations.get(key, ()) if scan is not own]
        if others:
            citations[key] = others
        else:
            citations.pop(key, None)
    return PaperNotes(ctx.names, adopted, paper_notes, citations)


def _new_paper_path(ctx: PlanContext, key: str, paper: Paper | None) -> str:
    stem = paper_file_stem(key, paper, ctx.settings.filename_pattern)
    return ctx.names.free_path(ctx.settings.papers_folder, stem)


def _report_not_found(ctx: PlanContext, key: str) -> None:
    for scan in ctx.catalog.citations.get(key, ()):
        for ref in scan.references:
            if ref.arxiv_id.key == key:
                message = f"arXiv has no paper {key}"
                ctx.problem(scan.note.path, message, "paper-not-found", ref.line)


def assign_paper_citekeys(ctx: PlanContext, notes: PaperNotes) -> None:
    """Every paper note's citekey: the one it holds, or one made for it (`citekeys`); then
    the user's notes citing a paper by citekey in Pandoc's syntax count as citing it."""
    papers = ctx.resolution.papers
    kept: dict[str, str] = {}
    unusable: set[str] = set()  # notes holding a list or a mapping: reported by the scan
    for key, scans in notes.paper_notes.items():
        if (citekey := scans[0].citekey) is not None and key in notes.note_path:
            if citekey == UNUSABLE_CITEKEY:
                unusable.add(key)
            else:
                kept[key] = citekey
    with_notes = {
        key: papers[key] for key in notes.note_path if key in papers and key not in unusable
    }
    citekeys, collisions = assign_citekeys(with_notes, kept, ctx.settings.citekey_pattern)
    # The note shows the citekey it holds, whatever it is; a bibliography lists only the
    # papers Pandoc can cite by theirs (a `.bib` entry `@misc{smith 2020,` breaks the file).
    notes.note_citekeys = citekeys
    ctx.plan.citekeys = dict(citekeys)
    for key in sorted(kept):
        if (problem := citekey_problem(kept[key])) is not None:
            del ctx.plan.citekeys[key]
            ctx.problem(notes.paper_notes[key][0].note.path, problem, "citekey-unusable")
    for collision in collisions:
        paths = [notes.paper_notes[key][0].note.path for key in collision.keys]
        for path in paths:
            others = ", ".join(other for other in paths if other != path)
            ctx.problem(
                path,
                f"citekey {collision.citekey!r} is also the citekey of {others}; "
                "vaultpapers changes neither: give one of them another citekey",
                "citekey-collision",
            )
    notes.key_of_citekey = {}
    for key in sorted(citekeys):
        notes.key_of_citekey.setdefault(citekeys[key], key)
    _count_citekey_citations(ctx, notes)


def _count_citekey_citations(ctx: PlanContext, notes: PaperNotes) -> None:
    """The user's notes citing a paper as `[@citekey]` count as citing it."""
    citing = ctx.catalog.citing_citekey
    if not citing:
        return
    citations = dict(notes.citations)
    for citekey, scans in citing.items():
        cited = notes.key_of_citekey.get(citekey)
        if cited is None:
            continue
        own = notes.paper_notes.get(cited, [None])[0]
        added = [scan for scan in scans if scan is not own]
        if not added:
            continue
        ctx.plan.cited.add(cited)
        merged = {scan.note.path: scan for scan in (*citations.get(cited, ()), *added)}
        citations[cited] = [merged[path] for path in sorted(merged)]
    notes.citations = citations
