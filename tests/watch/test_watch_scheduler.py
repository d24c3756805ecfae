"""When the watcher runs, specified with explicit times: `now` is an argument of every rule.

Times are seconds on the watcher's monotonic clock; the vault's delays are `quiet` 0.5 s,
`settle` 3 s and a rescan every 60 s unless a test says otherwise. A stat is (mtime_ns, size).
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vaultpapers.watch.scheduler import (
    COMPLETE_QUIET,
    FOLLOW_UP_DELAY,
    FULL_RUNS,
    RUN_RETRY_BACKOFF,
    Scheduler,
    Timing,
)

QUIET, SETTLE, RESCAN = 0.5, 3.0, 60.0
SAVED = (1_000, 40)  # how a note looks after the save the events are about
TYPED_ON = (2_000, 52)  # the same note after one more save


def watcher_started_at(now: float = 0.0, **timing: float) -> Scheduler:
    """A schedule whose catch-up run just ended at `now`, with nothing owed."""
    delays = {"quiet": QUIET, "settle": SETTLE, "rescan_interval": RESCAN, **timing}
    schedule = Scheduler(Timing(**delays))
    plan = schedule.plan(schedule.due(now) or "catch-up", held=())
    schedule.run_succeeded(now, plan, relations_stale=False)
    return schedule


def run(schedule: Scheduler, now: float, *, cites: dict[str, tuple[int, int]] | None = None):
    """What the watcher does when a run is due: hand the changes over, hold back what is still
    settling, run successfully. Returns the plan of the run."""
    reason = schedule.due(now)
    assert reason is not None, f"nothing due at {now}"
    if schedule.dirty:
        assert not schedule.hold_if_moving(now, {p: schedule.dirty[p].stat for p in schedule.dirty})
        schedule.take_changes(cites or {})
    held = schedule.held_back(now, {path: seen.stat for path, seen in schedule.settling.items()})
    plan = schedule.plan(reason, held)
    schedule.run_succeeded(now, plan, relations_stale=False)
    return plan


def first_due(schedule: Scheduler, start: float, end: float, step: float = 0.01):
    """The first time in [start, end] at which a run is due, and its reason."""
    ticks = round((end - start) / step)
    for tick in range(ticks + 1):
        now = start + tick * step
        reason = schedule.due(now)
        if reason is not None:
            return now, reason
    return None


# -- a save --------------------------------------------------------------------------------------


def test_a_save_still_being_written_waits_until_the_vault_is_quiet() -> None:
    schedule = watcher_started_at()
    schedule.note_changed("Draft.md", 10.0, SAVED, complete=False)
    assert schedule.due(10.0 + QUIET - 0.01) is None
    assert schedule.due(10.0 + QUIET) == "changes"


def test_a_complete_save_is_taken_at_once() -> None:
    """Moved into place or closed after writing: no more of the save is on its way."""
    schedule = watcher_started_at()
    schedule.note_changed("Saved.md", 10.0, SAVED, complete=True)
    assert schedule.changes_due_at() == pytest.approx(10.0 + COMPLETE_QUIET)
    assert COMPLETE_QUIET < QUIET / 10
    assert first_due(schedule, 10.0, 11.0) == (10.02, "changes")


def test_one_unfinished_save_among_complete_ones_makes_the_batch_wait_for_quiet() -> None:
    schedule = watcher_started_at()
    schedule.note_changed("Saved.md", 10.0, SAVED, complete=True)
    schedule.note_changed("Typing.md", 10.1, SAVED, complete=False)
    assert first_due(schedule, 10.0, 12.0) == (10.6, "changes")


def test_every_event_restarts_the_quiet_period() -> None:
    schedule = watcher_started_at()
    for at in (10.0, 10.3, 10.6):
        schedule.note_changed("Draft.md", at, SAVED, complete=False)
        assert schedule.due(at + QUIET - 0.01) is None or at == 10.6
    assert first_due(schedule, 10.6, 12.0) == (11.1, "changes")


def test_a_burst_that_never_falls_quiet_is_still_taken_after_the_longest_batch_delay() -> None:
    """A sync client writing a note every 0.2 s for a minute: the batch goes in after 10 quiet
    periods (at least 2 s), then the next one starts."""
    schedule = watcher_started_at()
    longest = schedule.timing.max_batch_delay
    assert longest == max(2.0, 10 * QUIET)
    at = 10.0
    while at < 10.0 + longest + 1:
        schedule.note_changed(f"Synced/{at:.1f}.md", at, SAVED, complete=False)
        if schedule.due(at) == "changes":
            break
        at = round(at + 0.2, 6)
    assert at == pytest.approx(10.0 + longest)


def test_the_longest_batch_delay_grows_with_quiet() -> None:
    assert Timing(quiet=0.1, settle=0, rescan_interval=RESCAN).max_batch_delay == 2.0
    assert Timing(quiet=1.5, settle=0, rescan_interval=RESCAN).max_batch_delay == 15.0


def test_a_note_that_changed_since_its_event_waits_for_the_rest_of_its_save() -> None:
    schedule = watcher_started_at()
    schedule.note_changed("Big.md", 10.0, SAVED, complete=False)
    assert schedule.due(10.5) == "changes"
    # By the time the watcher looks, the file is longer than the event said: still writing.
    assert schedule.hold_if_moving(10.5, {"Big.md": TYPED_ON})
    assert schedule.dirty["Big.md"].at == 10.5  # quiet is counted from when it was seen moving
    assert schedule.dirty["Big.md"].stat == TYPED_ON
    assert not schedule.hold_if_moving(11.0, {"Big.md": TYPED_ON})


def test_a_file_that_keeps_growing_waits_until_it_stops() -> None:
    """Each time it is seen moving, its quiet period starts again."""
    schedule = watcher_started_at()
    schedule.note_changed("Log.md", 10.0, SAVED, complete=False)
    size = 40
    for check in range(20):
        now = 10.5 + check * QUIET
        assert schedule.due(now) == "changes"
        size += 10
        assert schedule.hold_if_moving(now, {"Log.md": (1_000, size)})
    assert not schedule.hold_if_moving(now + QUIET, {"Log.md": (1_000, size)})


def test_a_growing_file_does_not_hold_back_changes_older_than_the_longest_batch_delay() -> None:
    schedule = watcher_started_at()
    schedule.note_changed("Saved.md", 10.0, SAVED, complete=False)
    schedule.note_changed("Log.md", 11.0, SAVED, complete=False)
    longest = schedule.timing.max_batch_delay
    assert schedule.hold_if_moving(10.0 + longest - 0.01, {"Saved.md": SAVED, "Log.md": TYPED_ON})
    assert not schedule.hold_if_moving(10.0 + longest, {"Saved.md": SAVED, "Log.md": (3_000, 60)})


def test_deleted_notes_are_not_read_and_a_deleted_folder_means_a_full_listing() -> None:
    schedule = watcher_started_at()
    schedule.note_changed("Gone.md", 10.0, None, complete=True)
    schedule.note_changed("Kept.md", 10.0, SAVED, complete=True)
    assert schedule.dirty_notes() == ["Kept.md"]
    assert run(schedule, 10.02).changed == {"Gone.md", "Kept.md"}

    schedule.folder_changed("Archive", 20.0)
    schedule.note_changed("Other.md", 20.0, SAVED, complete=True)
    assert run(schedule, 20.0 + QUIET).changed is None  # its notes' own events may not all come
    schedule.note_changed("Next.md", 30.0, SAVED, complete=True)
    assert run(schedule, 30.02).changed == {"Next.md"}


# -- settling: no links in a note being typed in -------------------------------------------------


def test_a_note_citing_papers_gets_its_links_once_it_has_settled() -> None:
    schedule = watcher_started_at()
    schedule.note_changed("Reading.md", 10.0, SAVED, complete=True)
    schedule.note_changed("Plain.md", 10.0, SAVED, complete=True)
    first = run(schedule, 10.02, cites={"Reading.md": SAVED})
    assert first.held == {"Reading.md"}  # its paper's note is made, its links wait
    assert first.reason == "changes"
    assert list(schedule.settling) == ["Reading.md"]  # a note citing nothing never settles
    assert first_due(schedule, 10.02, 20.0) == (10.0 + SETTLE, "notes settled")
    settled = run(schedule, 10.0 + SETTLE)
    assert settled.held == frozenset()
    assert not schedule.settling and not schedule.busy()


def test_a_note_saved_again_while_settling_starts_settling_anew() -> None:
    schedule = watcher_started_at()
    schedule.note_changed("Draft.md", 10.0, SAVED, complete=True)
    run(schedule, 10.02, cites={"Draft.md": SAVED})
    # Its event has not been handled yet, but the file is not as it was: the user is typing.
    assert schedule.held_back(13.0, {"Draft.md": TYPED_ON}) == {"Draft.md"}
    assert schedule.settling["Draft.md"].at == 13.0
    assert schedule.held_back(13.0 + SETTLE - 0.01, {"Draft.md": TYPED_ON}) == {"Draft.md"}
    assert schedule.held_back(13.0 + SETTLE, {"Draft.md": TYPED_ON}) == set()


def test_a_new_save_of_a_settling_note_counts_from_the_new_save() -> None:
    schedule = watcher_started_at()
    schedule.note_changed("Draft.md", 10.0, SAVED, complete=True)
    run(schedule, 10.02, cites={"Draft.md": SAVED})
    schedule.note_changed("Draft.md", 12.0, TYPED_ON, complete=True)
    assert run(schedule, 12.02, cites={"Draft.md": TYPED_ON}).held == {"Draft.md"}
    assert first_due(schedule, 12.02, 20.0) == (12.0 + SETTLE, "notes settled")


def test_a_settling_note_that_stops_citing_papers_or_is_deleted_settles_no_more() -> None:
    schedule = watcher_started_at()
    schedule.note_changed("A.md", 10.0, SAVED, complete=True)
    schedule.note_changed("B.md", 10.0, SAVED, complete=True)
    run(schedule, 10.02, cites={"A.md": SAVED, "B.md": SAVED})
    schedule.note_changed("A.md", 11.0, TYPED_ON, complete=True)
    run(schedule, 11.02, cites={})  # its references were removed
    assert list(schedule.settling) == ["B.md"]
    assert schedule.held_back(11.5, {"B.md": None}) == set()  # deleted meanwhile
    assert not schedule.settling


def test_notes_changed_just_before_the_start_settle_from_when_they_changed() -> None:
    schedule = Scheduler(Timing(quiet=QUIET, settle=SETTLE, rescan_interval=RESCAN))
    schedule.note_settling("Open in editor.md", -1.0, SAVED)  # saved a second before
    catch_up = schedule.plan("catch-up", schedule.held_back(0.0, {"Open in editor.md": SAVED}))
    assert catch_up.held == {"Open in editor.md"}
    assert catch_up.changed is None and catch_up.full and not catch_up.defer_relations
    schedule.run_succeeded(0.0, catch_up, relations_stale=False)
    assert first_due(schedule, 0.0, 5.0) == (2.0, "notes settled")


def test_a_file_still_being_written_when_another_run_is_due_gets_no_links_in_it() -> None:
    schedule = watcher_started_at()
    schedule.note_changed("Big.md", 10.0, SAVED, complete=False)
    schedule.metadata_arrived()
    assert schedule.due(10.1) == "metadata fetched"
    assert schedule.hold_if_moving(10.1, {"Big.md": TYPED_ON})
    plan = schedule.plan("metadata fetched", schedule.held_back(10.1, {}))
    assert plan.held == {"Big.md"}
    assert list(schedule.dirty) == ["Big.md"]  # taken by a later run, once it is whole


# -- follow-up runs: relations and index notes ----------------------------------------------------


def test_an_edit_brings_paper_notes_first_and_relations_in_a_follow_up_once_paused() -> None:
    schedule = watcher_started_at()
    schedule.note_changed("IO.md", 10.0, SAVED, complete=True)
    reason = schedule.due(10.02)
    schedule.take_changes({})
    edit = schedule.plan(reason or "", held=())
    assert edit.reason == "changes" and edit.defer_relations and not edit.yields_to_edits
    schedule.run_succeeded(10.05, edit, relations_stale=True)
    assert schedule.busy()
    assert first_due(schedule, 10.05, 20.0) == (10.05 + FOLLOW_UP_DELAY, "relations")
    follow_up = schedule.plan("relations", held=())
    assert not follow_up.defer_relations
    assert follow_up.yields_to_edits  # the user's next save goes first
    schedule.run_succeeded(11.1, follow_up, relations_stale=False)
    assert not schedule.busy()
    assert schedule.due(11.2) is None


def test_a_follow_up_that_gave_way_is_owed_again() -> None:
    schedule = watcher_started_at()
    schedule.run_succeeded(10.0, schedule.plan("changes", ()), relations_stale=True)
    assert schedule.due(11.0) == "relations"
    schedule.run_succeeded(11.0, schedule.plan("relations", ()), relations_stale=True)
    assert schedule.follow_up_at == 11.0 + FOLLOW_UP_DELAY


def test_a_second_edit_postpones_the_owed_follow_up() -> None:
    schedule = watcher_started_at()
    schedule.run_succeeded(10.0, schedule.plan("changes", ()), relations_stale=True)
    schedule.run_succeeded(10.8, schedule.plan("changes", ()), relations_stale=True)
    assert first_due(schedule, 10.8, 15.0) == (11.8, "relations")


def test_a_run_for_an_edit_that_owes_nothing_keeps_the_follow_up_already_owed() -> None:
    schedule = watcher_started_at()
    schedule.run_succeeded(10.0, schedule.plan("changes", ()), relations_stale=True)
    schedule.run_succeeded(10.5, schedule.plan("changes", ()), relations_stale=False)
    assert schedule.follow_up_at == 10.0 + FOLLOW_UP_DELAY


@pytest.mark.parametrize("reason", FULL_RUNS)
def test_a_full_run_does_everything_so_no_follow_up_is_owed(reason: str) -> None:
    schedule = watcher_started_at()
    schedule.run_succeeded(10.0, schedule.plan("changes", ()), relations_stale=True)
    full = schedule.plan(reason, ())
    assert full.full and full.changed is None and not full.defer_relations
    schedule.run_succeeded(10.5, full, relations_stale=False)
    assert schedule.follow_up_at is None


# -- metadata, forced passes, rescans, retries ----------------------------------------------------


def test_arrived_metadata_causes_one_run_before_anything_else() -> None:
    schedule = watcher_started_at()
    schedule.note_changed("Draft.md", 10.0, SAVED, complete=True)
    schedule.metadata_arrived()
    schedule.metadata_arrived()  # two batches before the worker looked: one run
    assert schedule.busy()
    assert schedule.due(10.5) == "metadata fetched"
    assert schedule.due(10.5) == "changes"


def test_a_restarted_observer_forces_a_full_pass_at_once() -> None:
    schedule = watcher_started_at()
    schedule.force("watcher restarted")
    assert schedule.busy()
    assert schedule.due(0.1) == "watcher restarted"
    assert schedule.plan("watcher restarted", ()).changed is None
    assert schedule.due(0.1) is None


def test_a_rescan_comes_every_rescan_interval_after_the_last_run() -> None:
    schedule = watcher_started_at(now=0.0)
    assert schedule.next_due_at() == RESCAN
    assert schedule.due(RESCAN - 0.01) is None
    rescan = run(schedule, RESCAN)
    assert rescan.reason == "rescan" and rescan.changed is None
    assert schedule.next_due_at() == 2 * RESCAN
    schedule.note_changed("Edited.md", 100.0, SAVED, complete=True)
    run(schedule, 100.02)
    assert schedule.next_due_at() == pytest.approx(100.02 + RESCAN)


def test_a_failed_run_is_retried_with_a_doubling_wait_up_to_five_minutes() -> None:
    schedule = watcher_started_at(rescan_interval=1e9)
    first, longest = RUN_RETRY_BACKOFF
    now, waits = 10.0, []
    for _ in range(10):
        wait = schedule.run_failed(now)
        waits.append(wait)
        assert schedule.due(now + wait - 0.01) is None
        now += wait
        assert schedule.due(now) == "retry"
    assert waits == [min(longest, first * 2**n) for n in range(10)]
    assert waits[-1] == longest

    schedule.run_succeeded(now, schedule.plan("retry", ()), relations_stale=False)
    assert schedule.retry_at is None
    assert schedule.run_failed(now + 1) == first  # a success resets the backoff


def test_a_failed_run_still_postpones_the_rescan() -> None:
    schedule = watcher_started_at()
    schedule.run_failed(50.0)
    assert schedule.next_rescan == 50.0 + RESCAN


def test_when_several_runs_are_due_the_most_urgent_goes_first() -> None:
    schedule = watcher_started_at(settle=1.0, rescan_interval=5.0)
    schedule.note_settling("Settling.md", 0.0, SAVED)
    schedule.note_changed("Saved.md", 0.0, SAVED, complete=True)
    schedule.run_failed(0.0)
    schedule.follow_up_at = 0.5
    schedule.force("watcher restarted")
    schedule.metadata_arrived()
    order = []
    while (reason := schedule.due(10.0)) is not None:
        order.append(reason)
        if reason == "changes":
            schedule.take_changes({})
        if reason == "notes settled":
            schedule.settling.clear()
        if reason == "rescan":
            schedule.next_rescan = 100.0
        if reason == "retry":
            schedule.retry_at = None
    assert order == [
        "metadata fetched",
        "watcher restarted",
        "changes",
        "notes settled",
        "relations",
        "rescan",
        "retry",
    ]


# -- waiting, idling, stopping ---------------------------------------------------------------------


def test_the_worker_sleeps_until_the_earliest_duty() -> None:
    schedule = watcher_started_at()
    assert schedule.next_due_at() == RESCAN  # idle: only the next rescan
    schedule.note_changed("Typing.md", 10.0, SAVED, complete=False)
    assert schedule.next_due_at() == 10.0 + QUIET
    schedule.note_settling("Settling.md", 9.0, SAVED)
    schedule.follow_up_at = 9.2
    assert schedule.next_due_at() == 9.2
    schedule.run_failed(6.0)
    assert schedule.next_due_at() == 6.0 + RUN_RETRY_BACKOFF[0]


def test_nothing_owed_means_idle_so_a_stop_abandons_nothing() -> None:
    """`wait_idle` and a clean stop rely on this: busy while anything is queued or owed."""
    schedule = watcher_started_at()
    assert not schedule.busy()
    schedule.note_changed("Draft.md", 10.0, SAVED, complete=True)
    assert schedule.busy()
    run(schedule, 10.02, cites={"Draft.md": SAVED})
    assert schedule.busy()  # settling
    run(schedule, 10.0 + SETTLE)
    assert not schedule.busy()
    assert schedule.due(20.0) is None


# -- properties ------------------------------------------------------------------------------------

event_times = st.lists(
    st.floats(min_value=0, max_value=30, allow_nan=False), min_size=1, max_size=30
).map(sorted)


@given(event_times, st.lists(st.booleans(), min_size=30, max_size=30))
def test_changes_are_never_taken_before_the_last_event_nor_kept_past_the_longest_delay(
    times: list[float], complete: list[bool]
) -> None:
    schedule = watcher_started_at(now=-100.0, rescan_interval=1e9)
    for n, at in enumerate(times):
        schedule.note_changed(f"{n}.md", at, SAVED, complete=complete[n])
    due = schedule.changes_due_at()
    assert due <= max(times[0] + schedule.timing.max_batch_delay, times[-1] + COMPLETE_QUIET)
    # Not before the burst is quiet, unless the oldest change has waited as long as any may.
    assert due >= min(times[-1] + COMPLETE_QUIET, times[0] + schedule.timing.max_batch_delay)
    if due > times[-1]:
        assert schedule.due(due - 1e-6) is None
    assert schedule.due(due) == "changes"


@given(st.lists(st.floats(min_value=0, max_value=1, allow_nan=False), min_size=1, max_size=20))
def test_links_are_never_inserted_less_than_settle_after_the_last_save(gaps: list[float]) -> None:
    schedule = watcher_started_at()
    now = 10.0
    for gap in gaps:
        now += gap
        schedule.note_changed("Draft.md", now, (int(now * 1e9), 10), complete=True)
        plan = run(schedule, now + COMPLETE_QUIET, cites={"Draft.md": (int(now * 1e9), 10)})
        assert "Draft.md" in plan.held
    last = now
    settled_at = first_due(schedule, last, last + SETTLE + 1, step=0.05)
    assert settled_at is not None and settled_at[1] == "notes settled"
    assert settled_at[0] >= last + SETTLE - 1e-9
    assert run(schedule, settled_at[0]).held == frozenset()
