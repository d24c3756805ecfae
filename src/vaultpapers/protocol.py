"""The `--json` machine interface (docs/protocol.md): events as plain dicts, made by pure
functions from what the core returns (`RunReport`, problems, the watcher's state, the status
file), and an `Emitter` that writes them to stdout as newline-delimited JSON.

Imported only under `--json`: the plain commands never pay for it.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from vaultpapers.model import Outcome, Problem, Write

if TYPE_CHECKING:
    from vaultpapers.run.explain import RelatedExplained
    from vaultpapers.run.options import RunOptions
    from vaultpapers.run.report import RunReport
    from vaultpapers.watch.listener import WatcherState
    from vaultpapers.watch.status import WatchStatus

VERSION = 1
Event = dict[str, Any]


def now() -> str:
    """UTC, ISO 8601, milliseconds: `2026-12-05T21:00:00.123Z`."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def event(name: str, **fields: Any) -> Event:
    return {"v": VERSION, "event": name, "time": now(), **fields}


# -- a run ---------------------------------------------------------------------------------


def run_started(command: str, vault: Path, options: RunOptions, reason: str | None = None) -> Event:
    return event(
        "run_started",
        command=command,
        vault=str(vault.resolve()),
        offline=options.offline,
        dry_run=options.dry_run,
        reason=reason,
    )


def progress(done: int, total: int) -> Event:
    return event("progress", stage="fetch", done=done, total=total)


def exit_code(report: RunReport) -> int:
    """What `link` exits with after this run (cli._link decides the same way)."""
    return 0 if report.complete or report.dry_run else 1


def run_events(report: RunReport) -> list[Event]:
    """Everything a finished run has to tell, `run_finished` last (docs/protocol.md)."""
    events: list[Event] = []
    if report.rechecked or report.not_rechecked or report.refreshed:
        events.append(
            event(
                "refreshed",
                asked=report.rechecked,
                changes=list(report.refreshed),
                failed=report.not_rechecked,
            )
        )
    if report.dry_run:
        for write in report.planned:
            events += _written(report, write, planned=True)
    else:
        for result in report.results:
            if result.outcome is Outcome.WRITTEN:
                events += _written(report, result.write, planned=False)
        for result in report.conflicts:
            events.append(
                event(
                    "write_skipped",
                    path=result.write.path,
                    kind=result.write.kind,
                    outcome=result.outcome.value,
                    message=result.message,
                )
            )
    if report.pending:
        papers = [{"id": key, "reason": why} for key, why in sorted(report.pending.items())]
        events.append(event("pending", papers=papers))
    events += [problem(p) for p in report.problems]
    events.append(run_finished(report))
    return events


def _written(report: RunReport, write: Write, *, planned: bool) -> list[Event]:
    if write.delete:
        action = "removed"
    elif write.replaces is not None:
        action = "moved"
    elif write.expected is None:
        action = "created"
    else:
        action = "updated"
    events = [
        event(
            "note_written",
            path=write.path,
            kind=write.kind,
            action=action,
            reason=write.reason,
            planned=planned,
            **{"from": write.replaces},
        )
    ]
    papers = [] if write.delete else report.links_in(write)
    if papers:
        events.append(
            event(
                "link_inserted", path=write.path, count=len(papers), papers=papers, planned=planned
            )
        )
    return events


def run_finished(report: RunReport) -> Event:
    return event(
        "run_finished",
        exit_code=exit_code(report),
        complete=report.complete,
        dry_run=report.dry_run,
        cancelled=report.cancelled,
        counts=counts(report),
    )


def counts(report: RunReport) -> dict[str, int | None]:
    """The run's numbers; each adds up from its events (the table in docs/protocol.md)."""
    return {
        "notes": report.notes,
        "user_notes": report.user_notes,
        "plugin_files": report.plugin_files,
        "papers": report.papers,
        "paper_notes_created": report.written("paper", new=True),
        "paper_notes_updated": report.written("paper", new=False),
        "own_notes_updated": report.written("own"),
        "notes_linked": report.written("note"),
        "links_inserted": 0 if report.dry_run else report.links_inserted,
        "index_notes": report.written("index"),
        "bibliographies": report.written("bibliography"),
        "removed": report.removed,
        "planned": len(report.planned) if report.dry_run else 0,
        "skipped": len(report.conflicts),
        "requests": report.requests,
        "rechecked": report.rechecked,
        "problems": len(report.problems),
        "pending": len(report.pending),
    }


def problem(p: Problem) -> Event:
    return event("problem", file=p.path or None, line=p.line, message=p.message, code=p.code)


def error(message: str, exit_code: int) -> Event:
    return event("error", message=message, exit_code=exit_code)


# -- the watcher and the one-shot commands ---------------------------------------------------


def watcher_state(state: WatcherState) -> Event:
    return event(
        "watcher_state",
        state=state.state,
        pending=state.pending,
        settling=state.settling,
        message=state.message,
    )


def status(found: WatchStatus) -> Event:
    """`status --json`: the lock's word on whether a watcher runs, and its status file."""
    record = found.record
    fields: dict[str, Any] = {
        "vault": str(found.vault),
        "running": found.running,
        "pid": found.running_pid or (record.pid if record else None),
        "state": None,
        "message": None,
        "since": None,
        "stopped": None,
        "observer": "",
        "last_activity": None,
        "runs": 0,
        "notes": 0,
        "papers": 0,
        "notes_created": 0,
        "notes_updated": 0,
        "notes_removed": 0,
        "links_inserted": 0,
        "requests": 0,
        "pending": [],
        "settling": [],
        "problems": [],
        "errors": [],
    }
    if record is not None:
        for name in (
            *("state", "message", "since", "stopped", "observer", "last_activity", "runs"),
            *("notes", "papers", "notes_created", "notes_updated", "notes_removed"),
            *("links_inserted", "requests", "settling", "problems", "errors"),
        ):
            fields[name] = getattr(record, name)
        fields["pending"] = [
            {"id": key, "reason": why} for key, why in sorted(record.pending.items())
        ]
        if not found.running:  # a watcher killed without stopping left its last state
            fields["state"], fields["message"] = "stopped", None
    return event("status", **fields)


def related(found: RelatedExplained) -> Event:
    explained = found.explanation
    titles = found.titles
    series = explained.series
    return event(
        "related",
        id=explained.key,
        title=explained.title,
        short_name=explained.name,
        name_reason=explained.name_reason,
        also_known_as=[{"name": name, "where": where} for name, where in explained.also_known_as],
        set_aside=[{"name": name, "why": why} for name, why in explained.set_aside],
        series=None
        if series is None
        else {
            "name": series.name,
            "members": [
                {"id": key, "name": name, "evidence": evidence}
                for key, name, evidence in zip(
                    series.members, series.names, series.evidence, strict=True
                )
            ],
        },
        relations=[
            {
                "id": relation.target,
                "title": titles.get(relation.target),
                "kind": relation.kind,
                "reason": relation.reason,
            }
            for relation in explained.relations
        ],
        declined=[{"id": key, "why": why} for key, why in explained.declined],
        added_by_you=list(found.added_by_you),
        removed_by_you=list(found.removed_by_you),
        lines=found.lines,
    )


def exported(
    format: str, papers: int, missing: Iterable[str], text: str | None, path: Path | None
) -> Event:
    return event(
        "exported",
        format=format,
        papers=papers,
        missing=list(missing),
        path=str(path) if path is not None else None,
        written=path is not None,
        text=text,
    )


# -- writing them ------------------------------------------------------------------------------


class Emitter:
    """Writes events to a stream (stdout) as JSON lines, each flushed at once, from any
    thread. UTF-8 whatever the locale says: a reader decodes every line the same way.

    Once the stream is closed under it (the reading program went away), nothing more is
    written and `on_closed` is called, once: a watcher nobody listens to stops."""

    def __init__(self, stream: IO[str], on_closed: Callable[[], None] | None = None) -> None:
        self._stream = stream
        self._lock = threading.Lock()
        self._on_closed = on_closed
        self.closed = False

    def emit(self, item: Mapping[str, Any]) -> None:
        line = json.dumps(item, ensure_ascii=False, separators=(",", ":")) + "\n"
        with self._lock:
            if self.closed:
                return
            try:
                binary = getattr(self._stream, "buffer", None)
                if binary is not None:
                    self._stream.flush()
                    binary.write(line.encode("utf-8"))
                    binary.flush()
                else:
                    self._stream.write(line)
                    self._stream.flush()
            except (OSError, ValueError):  # a broken pipe; ValueError: a closed file
                self.closed = True
                # What is left in the stream's buffer must not fail the exit too (Python's
                # advice for a broken pipe: point the descriptor at /dev/null).
                with contextlib.suppress(Exception):
                    devnull = os.open(os.devnull, os.O_WRONLY)
                    os.dup2(devnull, self._stream.fileno())
                    os.close(devnull)
        if self.closed and self._on_closed is not None:
            on_closed, self._on_closed = self._on_closed, None
            on_closed()

    def emit_all(self, items: Iterable[Mapping[str, Any]]) -> None:
        for item in items:
            self.emit(item)

    def progress(self, done: int, total: int) -> None:
        """A `Progress` callback for `run_link`."""
        self.emit(progress(done, total))


class WatchEvents:
    """A `watch.listener.WatchListener` that emits the watcher's states and runs."""

    def __init__(self, emitter: Emitter, vault: Path) -> None:
        self._emitter = emitter
        self._vault = vault

    def state_changed(self, state: WatcherState) -> None:
        self._emitter.emit(watcher_state(state))

    def run_started(self, reason: str, options: RunOptions) -> None:
        self._emitter.emit(run_started("watch", self._vault, options, reason))

    def run_finished(self, reason: str, report: RunReport) -> None:
        self._emitter.emit_all(run_events(report))
