"""Reading `--json` output in tests: every line parsed and validated against the schema the
protocol documents (docs/protocol.schema.json), and a run's events added up."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator

from paths import REPO

Event = dict[str, Any]
SCHEMA_PATH = REPO / "docs" / "protocol.schema.json"


@cache
def validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def valid(item: Event) -> Event:
    """The event, after checking it against the schema (the error names the event)."""
    errors = sorted(validator().iter_errors(item), key=lambda e: list(e.path))
    assert not errors, f"{item.get('event')}: {[e.message for e in errors][:3]} in {item}"
    return item


def parse(stdout: str) -> list[Event]:
    """Every line of a command's stdout: each one JSON, each one a valid event, nothing else."""
    assert stdout.endswith("\n") or not stdout, f"stdout does not end a line: {stdout[-200:]!r}"
    events = []
    for line in stdout.splitlines():
        item = json.loads(line)  # a line of human text or a traceback fails here
        events.append(valid(item))
    return events


def named(events: Iterable[Event], name: str) -> list[Event]:
    return [e for e in events if e["event"] == name]


def runs(events: list[Event]) -> list[list[Event]]:
    """The events of each run, from its run_started to its run_finished."""
    found: list[list[Event]] = []
    current: list[Event] | None = None
    for item in events:
        if item["event"] == "run_started":
            assert current is None, "a run started inside another"
            current = [item]
        elif current is not None and item["event"] not in ("watcher_state", "progress"):
            current.append(item)
            if item["event"] == "run_finished":
                found.append(current)
                current = None
    return found


def assert_adds_up(run: list[Event]) -> dict[str, Any]:
    """A run's events add up to its run_finished counts (the table in docs/protocol.md);
    returns the counts."""
    assert run[0]["event"] == "run_started" and run[-1]["event"] == "run_finished"
    finished = run[-1]
    counts = finished["counts"]
    written = [e for e in run if e["event"] == "note_written"]
    done = Counter((e["kind"], e["action"]) for e in written if not e["planned"])
    assert counts["paper_notes_created"] == done["paper", "created"]
    assert counts["paper_notes_updated"] == done["paper", "updated"] + done["paper", "moved"]
    assert counts["own_notes_updated"] == done["own", "updated"]
    assert counts["notes_linked"] == done["note", "updated"]
    assert counts["index_notes"] == done["index", "created"] + done["index", "updated"]
    assert counts["bibliographies"] == (
        done["bibliography", "created"] + done["bibliography", "updated"]
    )
    assert counts["removed"] == sum(n for (_, action), n in done.items() if action == "removed")
    assert counts["planned"] == sum(1 for e in written if e["planned"])
    links = [e for e in run if e["event"] == "link_inserted"]
    assert counts["links_inserted"] == sum(e["count"] for e in links if not e["planned"])
    for e in links:
        assert e["count"] == len(e["papers"])
        assert any(w["path"] == e["path"] for w in written), f"links in a note not written: {e}"
    assert counts["skipped"] == len(named(run, "write_skipped"))
    assert counts["problems"] == len(named(run, "problem"))
    pending = named(run, "pending")
    assert len(pending) <= 1
    assert counts["pending"] == (len(pending[0]["papers"]) if pending else 0)
    refreshed = named(run, "refreshed")
    assert counts["rechecked"] == (refreshed[0]["asked"] if refreshed else 0)
    assert finished["exit_code"] == (0 if finished["complete"] or finished["dry_run"] else 1)
    return counts
