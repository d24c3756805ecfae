"""Settings: `.vaultpapers/config.yaml` in the vault, then environment overrides, validated."""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import yaml

from vaultpapers.markdown.tags import is_valid_tag, tag_with_parents
from vaultpapers.notes.citekeys import DEFAULT_PATTERN as DEFAULT_CITEKEY_PATTERN
from vaultpapers.notes.citekeys import check_pattern

STATE_DIR = ".vaultpapers"
CONFIG_FILE = "config.yaml"
DEFAULT_API_URL = "https://export.arxiv.org/api/query"
INLINE_LINK_MODES = ("each", "first", "off")
# A user's note naming one paper in its properties is that paper's note: vaultpapers inserts
# what it knows of the paper (`insert`), only links to it (`link`), or ignores it (`off`).
ADOPT_MODES = ("insert", "link", "off")
# Papers named by their title (see `titles`): the titles of papers the vault knows, and the
# lines written like titles looked up on arXiv (`search`); known titles only (`known`); or
# none (`off`).
TITLE_MODES = ("search", "known", "off")


class ConfigError(Exception):
    """A settings problem the user must fix; the message names the file and the key."""


@dataclass(frozen=True)
class ArxivSettings:
    api_url: str = DEFAULT_API_URL
    delay: float = 3.0
    timeout: float = 30.0
    batch_size: int = 100
    max_retries: int = 4


@dataclass(frozen=True)
class WatchSettings:
    settle: float = 5.0  # quiet seconds before links go into a note (Obsidian saves every ~2 s)
    quiet: float = 0.3  # seconds without events before a burst is processed
    rescan_interval: float = 300.0  # full rescan, for events the kernel dropped
    log_file: str | None = None


@dataclass(frozen=True)
class RefreshSettings:
    """When cached metadata is asked for again (`link` and `watch`): a paper younger than
    `young_days` every `young_every_days`, an older one every `old_every_days`; at most
    `max_requests` requests of a run go to it (0: never, but for `vaultpapers refresh`)."""

    young_days: float = 365.0
    young_every_days: float = 7.0
    old_every_days: float = 90.0
    max_requests: int = 1


@dataclass(frozen=True)
class TagSelection:
    """Which tags get an index note (`index_tags`): every tag by default; none when `off`.
    A glob names a tag with its nested tags (`project` covers `project/a`, `project/*` only
    the nested ones), case-insensitively as Obsidian compares tags; `exclude` wins."""

    include: tuple[str, ...] = ()  # empty: every tag
    exclude: tuple[str, ...] = ()
    off: bool = False

    def indexes(self, tag: str) -> bool:
        if self.off:
            return False
        levels = tag_with_parents(tag.casefold())
        if self.include and not _matches_any(levels, self.include):
            return False
        return not _matches_any(levels, self.exclude)


def _matches_any(levels: list[str], patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(level, pattern) for level in levels for pattern in patterns)


@dataclass(frozen=True)
class Settings:
    papers_folder: str = "Papers"
    tag_index_folder: str = "Papers/Tags"
    series_index_folder: str = "Papers/Series"
    index_dataview: bool = False
    filename_pattern: str = "{title} ({id})"
    inline_links: str = "each"
    adopt_notes: str = "insert"
    titles: str = "search"
    link_label: str = "short"
    paper_tags: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    index_tags: TagSelection = field(default_factory=TagSelection)
    max_note_bytes: int = 10_000_000
    citekey_pattern: str = DEFAULT_CITEKEY_PATTERN
    citekey_aliases: bool = False
    bibliography: tuple[str, ...] = ()
    arxiv: ArxivSettings = field(default_factory=ArxivSettings)
    watch: WatchSettings = field(default_factory=WatchSettings)
    refresh: RefreshSettings = field(default_factory=RefreshSettings)

    @property
    def for_notes(self) -> str:
        """The settings the notes are made from, as text to digest. How arXiv is asked and
        when the watcher runs change no note: changing them must not make a run redo every
        note (the watcher's settle time differing from the last `link`'s did, at start-up)."""
        return repr(
            replace(self, arxiv=ArxivSettings(), watch=WatchSettings(), refresh=RefreshSettings())
        )


_FILENAME_FIELDS = ("title", "short_title", "id", "year", "first_author")


def load_settings(vault: Path, environ: Mapping[str, str] | None = None) -> Settings:
    """Read the vault's config file (optional) and apply environment overrides."""
    environ = os.environ if environ is None else environ
    path = vault / STATE_DIR / CONFIG_FILE
    raw: Any = {}
    if path.exists():
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    settings = settings_from_mapping(raw, source=str(path))
    return _apply_environment(settings, environ)


def settings_from_mapping(raw: Any, *, source: str = "config") -> Settings:
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: expected a mapping of settings, got {type(raw).__name__}")
    _reject_unknown(raw, Settings, source)
    values: dict[str, Any] = {}
    for key, value in raw.items():
        where = f"{source}: {key}"
        if key == "arxiv":
            values["arxiv"] = _arxiv_settings(value, where)
        elif key == "watch":
            values["watch"] = _watch_settings(value, where)
        elif key == "refresh":
            values["refresh"] = _refresh_settings(value, where)
        elif key == "citekey_pattern":
            values[key] = _text(value, where)
            if (why := check_pattern(values[key])) is not None:
                raise ConfigError(f"{where}: {why}")
        elif key == "citekey_aliases":
            if not isinstance(value, bool):
                raise ConfigError(f"{where}: expected true or false, got {value!r}")
            values[key] = value
        elif key == "bibliography":
            values[key] = _text_list(value, where)
            for path in values[key]:
                _check_bibliography(path, where)
        elif key in ("papers_folder", "tag_index_folder", "series_index_folder"):
            values[key] = _text(value, where)
            _check_folder(values[key], where)
        elif key in ("filename_pattern", "link_label"):
            values[key] = _text(value, where)
        elif key == "index_dataview":
            if not isinstance(value, bool):
                raise ConfigError(f"{where}: expected true or false, got {value!r}")
            values[key] = value
        elif key == "inline_links":
            values[key] = _choice(value, where, INLINE_LINK_MODES, true="each", false="off")
        elif key == "adopt_notes":
            values[key] = _choice(value, where, ADOPT_MODES, true="insert", false="off")
        elif key == "titles":
            values[key] = _choice(value, where, TITLE_MODES, true="search", false="off")
        elif key == "index_tags":
            values[key] = _tag_selection(value, where)
        elif key in ("paper_tags", "exclude"):
            values[key] = _text_list(value, where)
        elif key == "max_note_bytes":
            values[key] = _number(value, where, int, minimum=1)
    settings = Settings(**values)
    _check_filename_pattern(settings.filename_pattern, f"{source}: filename_pattern")
    _check_tags(settings.paper_tags, f"{source}: paper_tags")
    return settings


def _apply_environment(settings: Settings, environ: Mapping[str, str]) -> Settings:
    arxiv = settings.arxiv
    if api := environ.get("VAULTPAPERS_ARXIV_API"):
        arxiv = replace(arxiv, api_url=_url(api, "VAULTPAPERS_ARXIV_API"))
    if (delay := environ.get("VAULTPAPERS_ARXIV_DELAY")) is not None:
        try:
            parsed = float(delay)
        except ValueError:
            raise ConfigError(f"VAULTPAPERS_ARXIV_DELAY: expected seconds, got {delay!r}") from None
        arxiv = replace(arxiv, delay=_number(parsed, "VAULTPAPERS_ARXIV_DELAY", float, minimum=0))
    return replace(settings, arxiv=arxiv)


def _arxiv_settings(raw: Any, where: str) -> ArxivSettings:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping (api_url, delay, timeout, batch_size)")
    _reject_unknown(raw, ArxivSettings, where)
    values: dict[str, Any] = {}
    for key, value in raw.items():
        at = f"{where}.{key}"
        if key == "api_url":
            values[key] = _url(value, at)
        elif key in ("delay", "timeout"):
            values[key] = _number(value, at, float, minimum=0 if key == "delay" else 0.1)
        elif key == "batch_size":
            values[key] = _number(value, at, int, minimum=1, maximum=2000)
        elif key == "max_retries":
            values[key] = _number(value, at, int, minimum=0, maximum=20)
    return ArxivSettings(**values)


def _watch_settings(raw: Any, where: str) -> WatchSettings:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping (settle, quiet, rescan_interval, log_file)")
    _reject_unknown(raw, WatchSettings, where)
    values: dict[str, Any] = {}
    for key, value in raw.items():
        at = f"{where}.{key}"
        if key == "log_file":
            values[key] = _text(value, at)
        else:
            minimum = 1.0 if key == "rescan_interval" else 0.0
            values[key] = _number(value, at, float, minimum=minimum)
    return WatchSettings(**values)


def _refresh_settings(raw: Any, where: str) -> RefreshSettings:
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{where}: expected a mapping (young_days, young_every_days, old_every_days, "
            "max_requests)"
        )
    _reject_unknown(raw, RefreshSettings, where)
    values: dict[str, Any] = {}
    for key, value in raw.items():
        at = f"{where}.{key}"
        if key == "max_requests":
            values[key] = _number(value, at, int, minimum=0, maximum=100)
        else:
            values[key] = _number(value, at, float, minimum=0 if key == "young_days" else 0.01)
    return RefreshSettings(**values)


def _check_bibliography(path: str, where: str) -> None:
    """A bibliography `link` keeps written: a `.bib` or `.json` file inside the vault (a file
    elsewhere is only written when named on the command line: `vaultpapers export -o`)."""
    parts = Path(path).parts
    if Path(path).is_absolute() or ".." in parts or any(p.startswith(".") for p in parts):
        raise ConfigError(
            f"{where}: {path!r} is not a file inside the vault; to write one elsewhere, use "
            "`vaultpapers export -o FILE`"
        )
    if not path.lower().endswith((".bib", ".json")):
        raise ConfigError(f"{where}: {path!r} must end in .bib (BibTeX) or .json (CSL-JSON)")


def _reject_unknown(
    raw: dict[Any, Any], schema: type, where: str, keys: tuple[str, ...] | None = None
) -> None:
    known = list(keys) if keys is not None else [f.name for f in fields(schema)]
    for key in raw:
        if key not in known:
            import difflib  # only for a mistyped key

            close = difflib.get_close_matches(str(key), known, n=1)
            hint = (
                f" (did you mean {close[0]!r}?)" if close else f"; known keys: {', '.join(known)}"
            )
            raise ConfigError(f"{where}: unknown key {key!r}{hint}")


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: expected non-empty text, got {value!r}")
    return value.strip()


def _text_list(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{where}: expected a list of text, got {value!r}")
    return tuple(value)


_GLOB_PART = re.compile(r"\[[^\]]*\]|[*?]")  # what a glob adds to a tag's characters


def _tag_selection(value: Any, where: str) -> TagSelection:
    if value is True or value is None:
        return TagSelection()
    if value is False:
        return TagSelection(off=True)
    if not isinstance(value, dict) or not value:
        raise ConfigError(
            f"{where}: expected true, false, or a mapping with include and/or exclude globs "
            f"(e.g. {{exclude: [flashcards]}}), got {value!r}"
        )
    _reject_unknown(value, TagSelection, where, keys=("include", "exclude"))
    globs: dict[str, tuple[str, ...]] = {}
    for key, patterns in value.items():
        at = f"{where}.{key}"
        listed = _text_list(patterns, at)
        cleaned = []
        for pattern in listed:
            name = pattern.strip().removeprefix("#")
            if not is_valid_tag(_GLOB_PART.sub("a", name)):
                raise ConfigError(
                    f"{at}: {pattern!r} can match no tag (tags hold letters, digits, _, - "
                    "and /; globs may add *, ? and [...])"
                )
            cleaned.append(name.casefold())
        globs[key] = tuple(cleaned)
    return TagSelection(include=globs.get("include", ()), exclude=globs.get("exclude", ()))


def _choice(value: Any, where: str, choices: tuple[str, ...], *, true: str, false: str) -> str:
    """One of `choices`; YAML's true and false stand for the `true` and `false` choices."""
    if value is True:
        return true
    if value is False:
        return false
    if value not in choices:
        raise ConfigError(f"{where}: expected one of {', '.join(choices)}, got {value!r}")
    return str(value)


def _number(
    value: Any, where: str, kind: type, *, minimum: float, maximum: float | None = None
) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{where}: expected a number, got {value!r}")
    if kind is int and not float(value).is_integer():
        raise ConfigError(f"{where}: expected a whole number, got {value!r}")
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
        raise ConfigError(f"{where}: expected a number {bound}, got {value!r}")
    return kind(value)


def _url(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.startswith(("http://", "https://")):
        raise ConfigError(f"{where}: expected an http(s) URL, got {value!r}")
    return value.split("?", 1)[0]


def _check_folder(folder: str, where: str) -> None:
    parts = Path(folder).parts
    if Path(folder).is_absolute() or ".." in parts or any(p.startswith(".") for p in parts):
        raise ConfigError(f"{where}: must be a folder inside the vault, not hidden, got {folder!r}")


def _check_filename_pattern(pattern: str, where: str) -> None:
    import string

    names = {name for _, name, _, _ in string.Formatter().parse(pattern) if name is not None}
    unknown = names - set(_FILENAME_FIELDS)
    if unknown:
        raise ConfigError(
            f"{where}: unknown field {{{sorted(unknown)[0]}}}; use {', '.join(_FILENAME_FIELDS)}"
        )
    if "id" not in names:
        raise ConfigError(f"{where}: must contain {{id}} so every paper gets a unique name")


def _check_tags(tags: tuple[str, ...], where: str) -> None:
    for tag in tags:
        if not is_valid_tag(tag.lstrip("#")):
            raise ConfigError(f"{where}: {tag!r} is not a valid Obsidian tag")
