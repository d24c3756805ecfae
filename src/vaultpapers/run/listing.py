"""The list step: which files of the vault are notes, listed anew or from what the last run
left, and what was set aside (symlinks, temp files of a stopped run)."""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Collection, Mapping
from pathlib import Path
from stat import S_ISREG

from vaultpapers.config import Settings
from vaultpapers.model import Problem, StatKey
from vaultpapers.vaultfs.files import is_excluded
from vaultpapers.vaultfs.state import stat_key

log = logging.getLogger("vaultpapers")


TEMP_MAX_AGE = 3600  # seconds; a younger temp file may belong to a run going on right now


def report_set_aside(
    vault: Path, aside: list[tuple[str, str]], *, remove_temps: bool
) -> list[Problem]:
    """Symlinks skipped, as problems; our own stale temp files (a killed run's), removed."""
    problems = []
    for path, why in aside:
        if why == "symlink":
            message = "skipped: a symbolic link (never followed, it could lead out of the vault)"
            problems.append(Problem(path, None, message, "symlink"))
        elif why == "temp" and remove_temps:
            with contextlib.suppress(OSError):
                if time.time() - os.stat(vault / path).st_mtime > TEMP_MAX_AGE:
                    os.unlink(vault / path)
                    log.info("%s: removed a temp file a stopped run left behind", path)
    return problems


def relisted(
    vault: Path, settings: Settings, known: Mapping[str, StatKey], changed: Collection[str]
) -> dict[str, StatKey]:
    """The listing the last run left, with the `changed` paths looked at again."""
    listing = dict(known)
    for relative in changed:
        listing.pop(relative, None)
        parts = relative.split("/")
        if not relative.endswith(".md") or any(part.startswith(".") for part in parts):
            continue
        if is_excluded(relative, settings.exclude):
            continue
        try:
            stat = os.lstat(vault / relative)
        except OSError:
            continue
        if S_ISREG(stat.st_mode):
            listing[relative] = stat_key(stat)
    return listing
