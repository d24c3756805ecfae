"""The write step: the planned writes applied through the one writer, paper notes first."""

from __future__ import annotations

import threading

from vaultpapers.model import Outcome, Write, WriteResult
from vaultpapers.vaultfs.writer import VaultWriter


def apply_writes(
    writer: VaultWriter, writes: list[Write], cancel: threading.Event | None
) -> list[WriteResult]:
    """Every write, in two batches: paper notes first, then the rest. `cancel` stops the
    ones not started yet (left out of the results); a write that links to a paper note which
    could not be written, or to a new note held back for that, is held back, as a conflict."""
    if not writes:
        return []
    # Paper notes first: a note must not gain a link to a paper note that could not be made.
    papers = [w for w in writes if w.kind == "paper"]
    others = [w for w in writes if w.kind != "paper"]
    results = writer.apply_many(papers, cancel=cancel)
    missing = [
        _link_start(r.write) for r in results if r.outcome in (Outcome.CONFLICT, Outcome.FAILED)
    ]
    held: list[Write] = []
    held_ids: set[int] = set()
    while missing:
        # A new note held back is missing too: a parent tag's index links to its nested
        # tags' indexes, which may be held back for the paper note they list.
        more = [
            w for w in others if id(w) not in held_ids and any(m in _links_of(w) for m in missing)
        ]
        held += more
        held_ids.update(id(w) for w in more)
        missing = [_link_start(w) for w in more if w.expected is None and not w.delete]
    kept = [w for w in others if id(w) not in held_ids]
    results += writer.apply_many(kept, cancel=cancel)
    writer.sync_folders()
    results += [
        WriteResult(w, Outcome.CONFLICT, "held back: it links to a note not written") for w in held
    ]
    return results


def _link_start(write: Write) -> str:
    """How a wikilink to the note a write makes starts, casefolded."""
    return f"[[{write.path.rsplit('/', 1)[-1].removesuffix('.md')}".casefold()


def _links_of(write: Write) -> str:
    """What of a write can link to a note, casefolded: the links a note gains, or the text
    of a note we write whole."""
    text = "".join(link for _, link in write.insertions) if write.insertions else write.text
    return text.casefold()
