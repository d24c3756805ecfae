"""What a running watcher tells its owner: `.vaultpapers/status.json` (replaced atomically; what
`vaultpapers status` prints), the faults it keeps, and its log (`watch.log_file`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vaultpapers.config import STATE_DIR, Settings
from vaultpapers.model import Outcome
from vaultpapers.watch.listener import STOPPED
from vaultpapers.watch.lock import running_watcher_pid

if TYPE_CHECKING:  # `vaultpapers status` reads the file without importing the pipeline
    from vaultpapers.run.report import RunReport

log = logging.getLogger("vaultpapers.watch")

STATUS_FILE = "status.json"
_MAX_LISTED = 200  # problems kept in the status file; a broken vault must not make it huge
_MAX_ERRORS = 50  # faults kept in memory, most recent last
_REPEAT_QUIET = 60.0  # seconds in which the same fault is logged once


@dataclass
class StatusRecord:
    """The content of status.json. Only what changes when the vault changes is in here (no
    "last checked" time), so a watcher with nothing to do never rewrites the file."""

    pid: int
    vault: str
    since: str
    # The watcher's state between runs (`watch.listener`: catching_up, watching, offline,
    # failed, stopped; never linking, which would rewrite the file at every run) and why.
    state: str | None = None
    message: str | None = None
    observer: str = ""
    stopped: str | None = None
    last_activity: str | None = None  # the last run caused by an edit, a fetch or a fault
    runs: int = 0
    notes: int = 0
    papers: int = 0
    notes_created: int = 0
    notes_updated: int = 0
    notes_removed: int = 0  # index notes no longer needed; paper and user notes never are
    links_inserted: int = 0
    requests: int = 0
    pending: dict[str, str] = field(default_factory=dict)  # arXiv key -> why
    settling: list[str] = field(default_factory=list)  # notes waiting to be quiet for links
    # From the last run: {file, line, message, code}, as `problem` events have them.
    problems: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # the watcher's own faults, most recent last

    def to_json(self) -> str:
        data = asdict(self)
        data["problems"] = data["problems"][:_MAX_LISTED]
        data["errors"] = data["errors"][-_MAX_LISTED:]
        return json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True) + "\n"

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> StatusRecord:
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        # A file an older watcher wrote holds its problems as lines of text.
        known["problems"] = [
            p if isinstance(p, dict) else problem_entry(None, None, str(p), "unknown")
            for p in known.get("problems", [])
        ]
        return cls(**known)


def problem_entry(file: str | None, line: int | None, message: str, code: str) -> dict[str, Any]:
    """A problem as the status file keeps it (and `problem` events show it)."""
    return {"file": file, "line": line, "message": message, "code": code}


def problem_line(problem: Mapping[str, Any]) -> str:
    """`path:line: message`, as `link` prints a problem."""
    file, line = problem.get("file"), problem.get("line")
    where = f"{file}:{line}" if file and line else file
    return f"{where}: {problem.get('message')}" if where else str(problem.get("message"))


def status_path(vault: Path) -> Path:
    return vault / STATE_DIR / STATUS_FILE


def write_status(vault: Path, record: StatusRecord) -> None:
    """Replace status.json atomically: `status` never reads half a file."""
    path = status_path(vault)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temp.write_text(record.to_json(), encoding="utf-8")
    os.replace(temp, path)


def read_status_record(vault: Path) -> StatusRecord | None:
    try:
        data = json.loads(status_path(vault).read_text(encoding="utf-8"))
        return StatusRecord.from_mapping(data)
    except (OSError, ValueError, TypeError):
        return None


@dataclass(frozen=True)
class WatchStatus:
    """What `vaultpapers status` reports: the lock says whether a watcher is alive, the status
    file what it last saw."""

    vault: Path
    running_pid: int | None
    record: StatusRecord | None

    @property
    def running(self) -> bool:
        return self.running_pid is not None


def read_status(vault: Path) -> WatchStatus:
    return WatchStatus(vault, running_watcher_pid(vault), read_status_record(vault))


def describe_status(status: WatchStatus) -> list[str]:
    """The lines `vaultpapers status` prints."""
    record = status.record
    lines: list[str] = []
    if status.running:
        pid = status.running_pid or (record.pid if record else None)
        since = f", since {_local(record.since)}" if record and record.pid == pid else ""
        how = f"; {record.observer}" if record and record.observer and record.pid == pid else ""
        lines.append(f"A watcher is running on {status.vault} (pid {pid}{since}{how}).")
    else:
        lines.append(f"No watcher is running on {status.vault}.")
        if record is not None:
            ended = f", stopped {_local(record.stopped)}" if record.stopped else ""
            lines.append(f"The last one was pid {record.pid}{ended}.")
    if record is None:
        return lines
    if record.last_activity:
        lines.append(
            f"Last activity {_local(record.last_activity)}: {record.notes} notes, "
            f"{record.papers} papers cited. So far {record.runs} runs created "
            f"{record.notes_created} notes, updated {record.notes_updated}, removed "
            f"{record.notes_removed}, inserted {record.links_inserted} links; "
            f"{record.requests} arXiv requests."
        )
    if record.settling:
        lines.append(f"{len(record.settling)} note(s) waiting to be quiet before links go in:")
        lines.extend(f"  {path}" for path in record.settling)
    if record.pending:
        lines.append(f"{len(record.pending)} paper(s) pending:")
        lines.extend(f"  {key}: {reason}" for key, reason in sorted(record.pending.items()))
    if record.problems:
        lines.append(f"{len(record.problems)} problem(s):")
        lines.extend(f"  {problem_line(problem)}" for problem in record.problems)
    if record.errors:
        lines.append(f"{len(record.errors)} watcher fault(s), most recent last:")
        lines.extend(f"  {error}" for error in record.errors)
    if not (record.settling or record.pending or record.problems or record.errors):
        lines.append("Nothing pending, no problems.")
    return lines


def now_iso() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


def _local(moment: str | None) -> str:
    if not moment:
        return "?"
    with contextlib.suppress(ValueError):
        return datetime.fromisoformat(moment).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    return moment


def log_file_path(vault: Path, settings: Settings) -> Path | None:
    """`watch.log_file`, relative to the vault unless absolute."""
    if not settings.watch.log_file:
        return None
    return (vault / Path(settings.watch.log_file).expanduser()).resolve()


@contextlib.contextmanager
def watch_logging(vault: Path, settings: Settings) -> Iterator[Path | None]:
    """Show the watcher's INFO lines (what it did) and copy the log to `watch.log_file`."""
    watch_logger = logging.getLogger("vaultpapers.watch")
    previous_level = watch_logger.level
    if watch_logger.getEffectiveLevel() > logging.INFO:
        watch_logger.setLevel(logging.INFO)
    path = log_file_path(vault, settings)
    handler: logging.Handler | None = None
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(path, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logging.getLogger("vaultpapers").addHandler(handler)
    try:
        yield path
    finally:
        if handler is not None:
            logging.getLogger("vaultpapers").removeHandler(handler)
            handler.close()
        watch_logger.setLevel(previous_level)


def count_writes(report: RunReport) -> tuple[int, int, int]:
    """Files created, changed in place, and removed by a run (renames count as changes)."""
    created = updated = removed = 0
    for result in report.results:
        if result.outcome is not Outcome.WRITTEN:
            continue
        write = result.write
        if write.delete:
            removed += 1
        elif write.expected is None and write.replaces is None:
            created += 1
        else:
            updated += 1
    return created, updated, removed


class Faults:
    """The watcher's own faults: logged (the same one at most once a minute) and kept, most
    recent last, for the status file."""

    def __init__(self) -> None:
        self._kept: deque[str] = deque(maxlen=_MAX_ERRORS)
        self._last: tuple[str, float] = ("", 0.0)

    def report(self, message: str, exc: BaseException | None, now: float) -> None:
        last, when = self._last
        if message == last and now - when < _REPEAT_QUIET:
            log.debug("%s", message)
            return
        self._last = (message, now)
        log.error("%s", message, exc_info=exc)
        self._kept.append(f"{now_iso()}: {message}")

    def listed(self) -> list[str]:
        return list(self._kept)


class StatusBoard:
    """The status file as the watcher keeps it up to date, and the log lines of its runs."""

    def __init__(self, vault: Path) -> None:
        self.vault = vault
        self.record = StatusRecord(pid=os.getpid(), vault=str(vault), since=now_iso())
        self._written = ""
        self._logged_problems: set[str] = set()
        # As the vault is after the last run's writes, so that the next run does not see a
        # change.
        self._notes_in_vault = 0

    def ran(self, reason: str, report: RunReport, elapsed: float) -> None:
        """Count one finished run and log what it did. A rescan that found nothing to do is
        no activity: an idle watcher must not rewrite its status."""
        created, updated, removed = counts = count_writes(report)
        self._notes_in_vault = report.notes + created - removed
        self._log_run(reason, report, counts, elapsed)
        if reason != "rescan" or any(counts):
            record = self.record
            record.last_activity = now_iso()
            record.runs += 1
            record.notes_created += created
            record.notes_updated += updated
            record.notes_removed += removed
            record.links_inserted += report.links_inserted

    def _log_run(
        self, reason: str, report: RunReport, counts: tuple[int, int, int], elapsed: float
    ) -> None:
        created, updated, removed = counts
        log.log(
            logging.INFO if any(counts) else logging.DEBUG,
            "%s: %d notes created, %d updated, %d removed; %d links inserted (%d notes, %.2f s)",
            reason,
            created,
            updated,
            removed,
            report.links_inserted,
            report.notes,
            elapsed,
        )
        problems = {str(p) for p in report.problems}
        for problem in sorted(problems - self._logged_problems):
            log.warning("%s", problem)
        self._logged_problems = problems

    def publish(
        self,
        *,
        state: str | None = None,
        message: str | None = None,
        observer: str,
        report: RunReport | None,
        pending: dict[str, str],
        settling: list[str],
        errors: list[str],
        requests: int | None,
    ) -> None:
        """Write the status file if anything in it changed. `state`: the watcher's state
        now (None: as it was)."""
        record = self.record
        record.observer = observer
        if record.stopped:
            record.state, record.message = STOPPED, None
        elif state is not None:
            record.state, record.message = state, message
        if report is not None:
            record.notes = self._notes_in_vault
            record.papers = report.papers
            record.problems = [
                problem_entry(p.path, p.line, p.message, p.code) for p in report.problems
            ]
            record.problems += [
                problem_entry(r.write.path, None, f"not written: {r.message}", "write-failed")
                for r in report.results
                if r.outcome is Outcome.FAILED
            ]
        record.pending = pending
        # A stopped watcher holds nothing back: no note is waiting for it to insert links.
        record.settling = [] if record.stopped else settling
        record.errors = errors
        if requests is not None:
            record.requests = requests
        text = record.to_json()
        if text == self._written:
            return  # an idle watcher writes nothing, not even its status
        try:
            write_status(self.vault, record)
            self._written = text
        except OSError as exc:
            log.warning("cannot write %s/%s: %s", STATE_DIR, STATUS_FILE, exc)

    def stopped(self) -> None:
        self.record.stopped = now_iso()
