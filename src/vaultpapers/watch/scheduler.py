"""When the watcher runs the pipeline, and what each run holds back: rules over plain data.

Every decision takes `now` (seconds on a monotonic clock) as an argument and nothing here reads
a clock, a file or a thread, so that the rules can be specified with explicit times. The caller
(`watch.watcher.VaultWatcher`) reads the clock and the files and passes what it saw.

The words used here:
- *dirty*: a path with changes not yet handed to a run;
- *settling*: a note that cites papers and changed less than `settle` seconds ago; it gets no
  links yet, because its owner may still be typing in it;
- *follow-up*: the run that brings relations and index notes after a run for an edit left them
  out (`relations_stale`), once the user paused.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

Stat = tuple[int, int]  # (mtime_ns, size): cheap to compare on every event

# Runs that look at the whole vault and do all there is to do.
FULL_RUNS = ("catch-up", "rescan", "watcher restarted")
# Seconds without a run for an edit before the follow-up run (relations, index notes).
FOLLOW_UP_DELAY = 1.0
# After a complete save, only long enough for the events of the same operation to arrive.
COMPLETE_QUIET = 0.02
RUN_RETRY_BACKOFF = (2.0, 300.0)  # after a run failed for a reason no single note explains


@dataclass(frozen=True)
class Timing:
    """The watcher's delays, in seconds (`watch.quiet`, `watch.settle`,
    `watch.rescan_interval`; `follow_up` is not a setting, only tests shorten it)."""

    quiet: float
    settle: float
    rescan_interval: float
    follow_up: float = FOLLOW_UP_DELAY

    @property
    def max_batch_delay(self) -> float:
        # A vault that never falls quiet (a sync client, a log written every second) must
        # still be processed now and then.
        return max(2.0, 10 * self.quiet)


@dataclass
class Seen:
    """A path with unprocessed changes: when it last changed, and how it looked then.
    `complete`: its last event ended a save (moved into place, or closed after writing), so
    no more of that save is on its way."""

    at: float
    stat: Stat | None
    complete: bool = False


@dataclass(frozen=True)
class RunPlan:
    """What one run is asked to do.

    `changed`: the paths with events since the last run, None to list the whole folder (full
    runs exist to catch what events missed). `held`: notes that get no links yet.
    `defer_relations`: a run for an edit brings the new papers' notes first; relations and index
    notes, which can take a whole library to work out, follow in a run of their own.
    `yields_to_edits`: a follow-up run gives way to the user's next save."""

    reason: str
    held: frozenset[str]
    changed: frozenset[str] | None
    defer_relations: bool
    yields_to_edits: bool

    @property
    def full(self) -> bool:
        return self.reason in FULL_RUNS


class Scheduler:
    """The watcher's schedule: which paths wait, for how long, and which run is due.

    Not thread-safe: the watcher's worker owns it; other threads reach it only through the
    watcher's lock (`metadata_arrived`)."""

    def __init__(self, timing: Timing) -> None:
        self.timing = timing
        self.dirty: dict[str, Seen] = {}
        self.settling: dict[str, Seen] = {}
        self.follow_up_at: float | None = None
        self.retry_at: float | None = None
        self.retry_wait = RUN_RETRY_BACKOFF[0]
        self.next_rescan = 0.0
        self._metadata = False
        self._forced: str | None = None
        # Paths with events since the last run (None: unknown, list the whole folder).
        self._changed: set[str] | None = None

    # -- what happened ----------------------------------------------------------------------

    def note_changed(self, path: str, at: float, stat: Stat | None, *, complete: bool) -> None:
        """An event on a note that was not our own write (`stat` None: it is gone)."""
        self.dirty[path] = Seen(at, stat, complete)
        if self._changed is not None:
            self._changed.add(path)

    def folder_changed(self, path: str, at: float) -> None:
        """A folder moved or was deleted: its notes' own events may not all come, so the next
        run lists the whole vault."""
        self.dirty[path] = Seen(at, None)
        self._changed = None

    def note_settling(self, path: str, at: float, stat: Stat | None) -> None:
        """A note that cites papers changed at `at` (before the watcher started, say)."""
        self.settling[path] = Seen(at, stat)

    def metadata_arrived(self) -> None:
        self._metadata = True

    def force(self, reason: str) -> None:
        """Run a full pass at the next step (the observer was restarted: events were lost)."""
        self._forced = reason

    # -- what is due --------------------------------------------------------------------------

    def changes_due_at(self) -> float:
        """When the dirty paths are to be processed: once no event has come for `quiet`
        seconds (a save may still be writing), or at once when every save is complete; never
        later than `max_batch_delay` after the first."""
        seen = [s.at for s in self.dirty.values()]
        if all(s.complete for s in self.dirty.values()):
            return max(seen) + COMPLETE_QUIET
        return min(max(seen) + self.timing.quiet, min(seen) + self.timing.max_batch_delay)

    def next_due_at(self) -> float:
        """The earliest moment something may become due, if nothing else happens meanwhile."""
        duties = [self.next_rescan]
        if self.retry_at is not None:
            duties.append(self.retry_at)
        if self.dirty:
            duties.append(self.changes_due_at())
        if self.settling:
            duties.append(min(s.at for s in self.settling.values()) + self.timing.settle)
        if self.follow_up_at is not None:
            duties.append(self.follow_up_at)
        return min(duties)

    def due(self, now: float) -> str | None:
        """The reason for a run now, or None. Taking a one-off reason (metadata arrived, a
        forced pass, the follow-up) consumes it."""
        if self._metadata:
            self._metadata = False
            return "metadata fetched"
        if self._forced is not None:
            reason, self._forced = self._forced, None
            return reason
        if self.dirty and now >= self.changes_due_at():
            return "changes"
        if any(now - s.at >= self.timing.settle for s in self.settling.values()):
            return "notes settled"
        if self.follow_up_at is not None and now >= self.follow_up_at:
            self.follow_up_at = None
            return "relations"
        if now >= self.next_rescan:
            return "rescan"
        if self.retry_at is not None and now >= self.retry_at:
            return "retry"
        return None

    def busy(self) -> bool:
        """Whether anything is waiting to be done (the fetcher's own work aside)."""
        return bool(
            self.dirty
            or self.settling
            or self._forced
            or self._metadata
            or self.follow_up_at is not None
        )

    # -- taking changes into a run ------------------------------------------------------------

    def hold_if_moving(self, now: float, current: Mapping[str, Stat | None]) -> bool:
        """True when a dirty note no longer looks as its last event left it (`current`: its
        size and mtime now): an event may still be on its way, so the changes wait, unless they
        have waited `max_batch_delay` already."""
        oldest = min((s.at for s in self.dirty.values()), default=now)
        moving = {
            path: current[path]
            for path, seen in self.dirty.items()
            if seen.stat is not None and path in current and current[path] != seen.stat
        }
        if not moving or now - oldest >= self.timing.max_batch_delay:
            return False
        for path, stat in moving.items():
            self.dirty[path] = Seen(now, stat)
        return True

    def dirty_notes(self) -> list[str]:
        """The dirty paths that exist (the ones to read before a run), sorted."""
        return sorted(path for path, seen in self.dirty.items() if seen.stat is not None)

    def take_changes(self, with_references: Mapping[str, Stat | None]) -> None:
        """Hand the dirty paths to the next run. The notes among them that cite papers
        (`with_references`, with how they look now) settle from when they last changed."""
        for path in self.dirty:
            self.settling.pop(path, None)
        for path, seen in self.dirty.items():
            if seen.stat is not None and path in with_references:
                self.settling[path] = Seen(seen.at, with_references[path])
        self.dirty.clear()

    def held_back(self, now: float, current: Mapping[str, Stat | None]) -> set[str]:
        """Notes whose links wait: changed less than `settle` seconds ago, or changed again
        since last looked at (`current`: how each settling note looks now; None: it is gone)."""
        held = set()
        for path, seen in list(self.settling.items()):
            stat = current[path]  # the caller stats every settling note
            if stat is None:
                del self.settling[path]
            elif stat != seen.stat:
                self.settling[path] = Seen(now, stat)
                held.add(path)
            elif now - seen.at < self.timing.settle:
                held.add(path)
        return held

    def plan(self, reason: str, held: Collection[str]) -> RunPlan:
        """The run for `reason`, holding back `held` and anything still being written."""
        full = reason in FULL_RUNS
        changed = None if full or self._changed is None else frozenset(self._changed)
        self._changed = set()
        return RunPlan(
            reason=reason,
            held=frozenset(held) | frozenset(self.dirty),
            changed=changed,
            defer_relations=reason not in ("relations", *FULL_RUNS),
            yields_to_edits=reason == "relations",
        )

    # -- how a run ended ----------------------------------------------------------------------

    def run_failed(self, now: float) -> float:
        """A run failed as a whole (the cache, the disk): retry later, waiting longer each
        time. Returns the wait."""
        wait = self.retry_wait
        self.retry_at = now + wait
        self.retry_wait = min(RUN_RETRY_BACKOFF[1], wait * 2)
        self.next_rescan = now + self.timing.rescan_interval
        return wait

    def run_succeeded(self, now: float, plan: RunPlan, *, relations_stale: bool) -> None:
        self.retry_at = None
        self.retry_wait = RUN_RETRY_BACKOFF[0]
        self.next_rescan = now + self.timing.rescan_interval
        for path in list(self.settling):
            if path not in plan.held:
                del self.settling[path]
        if relations_stale:
            # Related papers and index notes follow once the user paused, so that the next
            # save is not kept waiting.
            self.follow_up_at = now + self.timing.follow_up
        elif not plan.defer_relations:
            self.follow_up_at = None
