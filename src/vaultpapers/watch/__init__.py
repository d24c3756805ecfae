"""`vaultpapers watch`: keep a vault linked while its owner writes in it.

- `scheduler`: when to run the pipeline and what to hold back (pure; takes `now`);
- `events`: watchdog's events, turned into changed notes, our own writes left out;
- `papers`: which papers the changed notes cite that the fetcher should ask arXiv about;
- `observer`: the watchdog observer, kept alive, polling when inotify runs out;
- `lock`, `status`: one watcher per vault; the status file and the log;
- `watcher`: `VaultWatcher`, the threads wiring these to the pipeline.
"""

from typing import TYPE_CHECKING

from vaultpapers.watch.lock import WatcherAlreadyRunning, running_watcher_pid
from vaultpapers.watch.status import describe_status, log_file_path, read_status, watch_logging

if TYPE_CHECKING:
    from vaultpapers.watch.watcher import VaultWatcher


def __getattr__(name: str) -> object:
    # `VaultWatcher` brings watchdog and the pipeline: imported when asked for, so that
    # `vaultpapers status` (which reads the status module) does not pay for them.
    if name == "VaultWatcher":
        from vaultpapers.watch.watcher import VaultWatcher

        return VaultWatcher
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "VaultWatcher",
    "WatcherAlreadyRunning",
    "describe_status",
    "log_file_path",
    "read_status",
    "running_watcher_pid",
    "watch_logging",
]
