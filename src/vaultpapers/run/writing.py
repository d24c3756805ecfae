"""The write step: the planned writes applied through the one writer, paper notes first,
new ones rendered a batch at a time."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from vaultpapers.model import Outcome, Write, WriteResult
from vaultpapers.vaultfs.writer import VaultWriter

# New notes rendered, written and let go of at a time: a first run makes one per paper.
RENDER_BATCH = 1000

# Told of each batch of new notes rendered, before they are written: (write, the properties
# its front matter holds) for each.
OnRendered = Callable[[Sequence[tuple[Write, Mapping[str, Any] | None]]], None]


def apply_writes(
    writer: VaultWriter,
    writes: list[Write],
    cancel: threading.Event | None,
    on_rendered: OnRendered | None = None,
) -> list[WriteResult]:
    """Every write, in two batches: paper notes first, then the rest. `cancel` stops the
    ones not started yet (left out of the results); a write that links to a paper note which
    could not be written, or to a new note held back for that, is held back, as a conflict.
    The results hold a rendered note's write as planned, without its text."""
    if not writes:
        return []
    # Paper notes first: a note must not gain a link to a paper note that could not be made.
    papers = [w for w in writes if w.kind == "paper"]
    others = [w for w in writes if w.kind != "paper"]
    results = _rendered_and_applied(writer, papers, cancel, on_rendered)
    missing = [
        _link_start(r.write) for r in results if r.outcome in (Outcome.CONFLICT, Outcome.FAILED)
    ]
    held: list[Write] = []
    held_ids: set[int] = set()
    while missing:
        # A new note held back is missing too: a parent tag's index links to its nested
        # tags' indexes, which may be held back for the paper note they list.
        more = [w for w in others if id(w) not in held_ids and _links_to_any(w, missing)]
        held += more
        held_ids.update(id(w) for w in more)
        missing = [_link_start(w) for w in more if w.expected is None and not w.delete]
    kept = [w for w in others if id(w) not in held_ids]
    results += _rendered_and_applied(writer, kept, cancel, on_rendered)
    writer.sync_folders()
    results += [
        WriteResult(w, Outcome.CONFLICT, "held back: it links to a note not written") for w in held
    ]
    return results


def _rendered_and_applied(
    writer: VaultWriter,
    writes: list[Write],
    cancel: threading.Event | None,
    on_rendered: OnRendered | None,
) -> list[WriteResult]:
    """`writes` applied, those to render a batch at a time: each batch's texts are let go of
    once written. One that fails to render is not written (a bug costs one note)."""
    results: list[WriteResult] = []
    start = 0
    while start < len(writes) and not (cancel is not None and cancel.is_set()):
        batch: list[Write] = []
        rendered: list[tuple[Write, Mapping[str, Any] | None]] = []
        planned: dict[str, Write] = {}
        # Writes with their text take no time to ready: a batch is of RENDER_BATCH renders.
        while start < len(writes) and len(rendered) < RENDER_BATCH:
            write = writes[start]
            start += 1
            if write.render is None:
                batch.append(write)
                continue
            try:
                ready = write.rendered()
            except Exception as exc:  # a bug must cost one note, never the whole vault
                message = f"not written: vaultpapers failed on it ({type(exc).__name__}: {exc})"
                results.append(WriteResult(write, Outcome.FAILED, f"{message}; please report this"))
                continue
            rendered.append(ready)
            batch.append(ready[0])
            planned[write.path] = write
        if rendered and on_rendered is not None:
            on_rendered(rendered)
        for result in writer.apply_many(batch, cancel=cancel):
            as_planned = planned.get(result.write.path)
            results.append(result if as_planned is None else replace(result, write=as_planned))
    return results


def _link_start(write: Write) -> str:
    """How a wikilink to the note a write makes starts, casefolded."""
    return f"[[{write.path.rsplit('/', 1)[-1].removesuffix('.md')}".casefold()


def _links_to_any(write: Write, starts: list[str]) -> bool:
    """Whether a write links to a note one of these `_link_start`s begins: in the links a
    note gains, or in the text of a note we write whole."""
    links = "".join(link for _, link in write.insertions)
    folded = (links if write.insertions else write.new_text("")).casefold()
    return any(start in folded for start in starts)
