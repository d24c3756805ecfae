"""What a watcher tells whoever listens while it runs: each change of its state, and each run
it makes. The watcher calls a `WatchListener`; what the listener does with it (print events,
show a status bar) is its own business, so the watcher knows nothing of output formats.

Light on purpose: `vaultpapers status` reads the states from here without the pipeline.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from vaultpapers.run.options import RunOptions
    from vaultpapers.run.report import RunReport

# The watcher's states, in the order a session meets them (docs/protocol.md says what each
# means). "linking" lasts one run; the status file never shows it (see `StatusBoard`).
STARTING = "starting"
CATCHING_UP = "catching_up"
WATCHING = "watching"
LINKING = "linking"
OFFLINE = "offline"  # idle, but arXiv cannot be reached: papers wait, retried with backoff
FAILED = "failed"  # the last run failed; retried with backoff
STOPPED = "stopped"
STATES = (STARTING, CATCHING_UP, WATCHING, LINKING, OFFLINE, FAILED, STOPPED)


@dataclass(frozen=True)
class WatcherState:
    """The watcher's state, with what it is waiting for."""

    state: str
    pending: int = 0  # papers waiting for metadata
    settling: int = 0  # notes waiting to be quiet before links go in
    message: str | None = None  # the outage or fault, in words


class WatchListener(Protocol):
    """Called from the watcher's threads; each call must return quickly."""

    def state_changed(self, state: WatcherState) -> None:
        """The state, or what it waits for, changed."""

    def run_started(self, reason: str, options: RunOptions) -> None:
        """A run begins (`reason`: catch-up, changes, rescan, ...)."""

    def run_finished(self, reason: str, report: RunReport) -> None:
        """The run begun last finished (a run that fails is followed by the state `failed`
        instead)."""
