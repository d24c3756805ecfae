"""Front matter ("properties" in Obsidian): reading it, and editing only the keys we own.

Editing works on the YAML text block by block (a top-level key with its continuation lines),
so user keys keep their exact text: comments, quoting, order. Re-emitting the whole mapping
would reformat them, and python-frontmatter's dump strips and reorders, so it is used only
for loading.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml
from frontmatter.default_handlers import YAMLHandler

_FRONT_MATTER = re.compile(
    r"\A---[ \t]*\r?\n(?P<yaml>(?:.*?\r?\n)??)(?P<close>(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z))",
    re.DOTALL,
)
_YAML = YAMLHandler()
# libyaml's loader is many times faster than PyYAML's pure-Python one and builds the same values.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _load(yaml_text: str) -> Any:
    """What PyYAML's safe loader reads in `yaml_text`.

    Front matter as Obsidian and vaultpapers write it (`key: value` lines, lists of `- item`,
    values that are text, whole numbers or dates) is read here directly: libyaml parses fast,
    but PyYAML builds the values in Python, a large part of the time it takes to scan a note.
    Anything else, or anything YAML could read another way, goes to PyYAML."""
    simple = _read_simple(yaml_text)
    return _YAML.load(yaml_text, Loader=_LOADER) if simple is None else simple


_SIMPLE_KEY_LINE = re.compile(r"([^\W\d][\w-]*):(?: (.*))?")
_SIMPLE_ITEM_LINE = re.compile(r"( *)- (.*)")
_WHOLE_NUMBER = re.compile(r"0|[1-9][0-9]*")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_NON_PRINTABLE = yaml.reader.Reader.NON_PRINTABLE  # characters PyYAML refuses outright
_NOT_SIMPLE = object()


def _read_simple(yaml_text: str) -> dict[str, Any] | None:
    """The mapping in `yaml_text` if it has only the shapes `_load` reads itself, else None."""
    if "\r" in yaml_text or not yaml_text.endswith("\n") or _NON_PRINTABLE.search(yaml_text):
        return None
    data: dict[str, Any] = {}
    list_key: str | None = None  # the key whose `- item` lines come next
    indent: str | None = None  # how far its items are indented
    for line in yaml_text[:-1].split("\n"):
        item = _SIMPLE_ITEM_LINE.fullmatch(line)
        if item is not None:
            value = _simple_scalar(item[2])
            if list_key is None or value is _NOT_SIMPLE or indent not in (None, item[1]):
                return None
            indent = item[1]
            if data[list_key] is None:
                data[list_key] = []
            data[list_key].append(value)
            continue
        entry = _SIMPLE_KEY_LINE.fullmatch(line)
        if entry is None or entry[1].lower() in _YAML_WORDS:
            return None
        key, text = entry[1], entry[2]
        list_key = indent = None
        if text is None:  # nothing, or the list on the lines below
            data[key] = None
            list_key = key
            continue
        if text[:1] == "[":
            value = _simple_list(text[1:-1]) if text[-1] == "]" and len(text) > 1 else _NOT_SIMPLE
        else:
            value = _simple_scalar(text)
        if value is _NOT_SIMPLE:
            return None
        data[key] = value
    return data


def _simple_list(inner: str) -> Any:
    """`[a, b]`: its items, if each is a `_simple_scalar` without ":" (which in a list could
    start a mapping), given its inside `inner`; `_NOT_SIMPLE` otherwise."""
    if not inner:
        return []
    items = []
    for piece in inner.split(","):
        piece = piece.strip(" ")
        value = _simple_scalar(piece)
        if value is _NOT_SIMPLE or (isinstance(value, str) and ":" in piece):
            return _NOT_SIMPLE
        items.append(value)
    return items


def _simple_scalar(text: str) -> Any:
    """The value of a one-line YAML scalar that can only mean text, a whole number or a
    date; `_NOT_SIMPLE` for any other."""
    if not text:
        return _NOT_SIMPLE
    first = text[0]
    if first in ("'", '"'):
        inner = text[1:-1]
        if len(text) < 2 or text[-1] != first or first in inner or "\\" in inner:
            return _NOT_SIMPLE
        return _NOT_SIMPLE if _UNSAFE_IN_QUOTES.search(inner) else inner
    if first in "0123456789":
        if _WHOLE_NUMBER.fullmatch(text):
            return int(text)
        if _DATE.fullmatch(text):
            try:
                return dt.date.fromisoformat(text)
            except ValueError:
                return _NOT_SIMPLE  # PyYAML fails on it in its own way
        return _NOT_SIMPLE
    if (
        first.isalpha()
        and text[-1].isalnum()
        and _PLAIN_READ.fullmatch(text)
        and ": " not in text
        and text.lower() not in _YAML_WORDS
    ):
        return text
    return _NOT_SIMPLE


class PropertiesError(ValueError):
    """Front matter that cannot be read or safely edited; the message says why."""


@dataclass(frozen=True)
class FrontMatter:
    start: int  # the whole block, both delimiter lines included
    end: int
    yaml_start: int  # the YAML text between the delimiters
    yaml_end: int
    data: dict[str, Any] | None  # None when the YAML is invalid or not a mapping
    error: str | None = None


def find_front_matter(text: str, known: Mapping[str, Any] | None = None) -> FrontMatter | None:
    """The front matter and what its YAML holds; `known` is that, when the caller wrote it."""
    match = _FRONT_MATTER.match(text)
    if match is None:
        return None
    if known is not None:
        return FrontMatter(0, match.end(), *match.span("yaml"), dict(known))
    yaml_text = match.group("yaml")
    try:
        data = _load(yaml_text) if yaml_text.strip() else {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 2})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        return FrontMatter(0, match.end(), *match.span("yaml"), None, f"{problem}{where}")
    if not isinstance(data, dict):
        kind = type(data).__name__
        return FrontMatter(0, match.end(), *match.span("yaml"), None, f"is a {kind}, not a mapping")
    return FrontMatter(0, match.end(), *match.span("yaml"), data)


class _ObsidianDumper(yaml.SafeDumper):
    """Indents list items under their key, as Obsidian writes properties."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        return super().increase_indent(flow, False)


def dump_property(key: str, value: Any) -> str:
    """`key: value` as YAML, the way Obsidian writes properties (lists indented, strings
    double-quoted when they must be). The shapes we write (text, whole numbers, dates, lists
    of text) are emitted directly, PyYAML's pure-Python emitter being far slower; anything
    else goes through it."""
    if _PLAIN_KEY.fullmatch(key):
        if isinstance(value, bool) or value is None:
            pass
        elif isinstance(value, int):
            return f"{key}: {value}\n"
        elif isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return f"{key}: {value.isoformat()}\n"
        elif isinstance(value, str):
            return f"{key}: {_scalar(value)}\n"
        elif isinstance(value, list) and not value:
            return f"{key}: []\n"
        elif isinstance(value, list) and all(isinstance(item, str) for item in value):
            return f"{key}:\n" + "".join(f"  - {_scalar(item)}\n" for item in value)
    return yaml.dump(
        {key: value},
        Dumper=_ObsidianDumper,
        allow_unicode=True,
        sort_keys=False,
        default_flow_style=False,
        width=1_000_000,
    )


_PLAIN_KEY = re.compile(r"[a-z_][a-z0-9_]*")
# Plain (unquoted) only when YAML cannot read it as anything but this text: starts with a
# letter of any script, no indicator or comment characters, not a word YAML 1.1 reads as a
# boolean or null.
# \w is what str.isalnum() accepts, and "_": letters and digits of any script; then the
# punctuation that is safe inside a plain scalar.
_PLAIN_CHARACTERS = re.compile(r"[\w ./()+\-,':&=?%@~;]*")
# What reads as plain text: the same, and ":" too where no space follows (URLs).
_PLAIN_READ = re.compile(r"[\w ./()+\-,':&=?%@~;:]*")
_YAML_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null"}
# Characters YAML treats as line breaks or that JSON would not escape, and BOM/controls.
_UNSAFE_IN_QUOTES = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff\ud800-\udfff]")


def _scalar(text: str) -> str:
    """The text as a YAML scalar."""
    if (
        text[:1].isalpha()
        and text[-1:].isalnum()
        and _PLAIN_CHARACTERS.fullmatch(text)
        and ": " not in text
        and text.lower() not in _YAML_WORDS
    ):
        return text
    # A JSON string is a YAML double-quoted one; characters YAML would read as line breaks
    # (U+0085, U+2028...) or not at all are escaped too (JSON leaves them raw).
    quoted = json.dumps(text, ensure_ascii=False)
    return _UNSAFE_IN_QUOTES.sub(lambda match: f"\\u{ord(match.group()):04x}", quoted)


def dump_properties(values: Mapping[str, Any]) -> str:
    return "".join(dump_property(key, value) for key, value in values.items())


@dataclass
class _Block:
    key: str | None  # None for comments and lines we do not recognise; kept verbatim
    text: str


def _split_blocks(yaml_text: str) -> list[_Block]:
    blocks: list[_Block] = []
    for line in yaml_text.splitlines(keepends=True):
        continues = line[:1] in (" ", "\t") or line.startswith("- ") or line.rstrip() in ("", "-")
        if blocks and blocks[-1].key is not None and continues:
            blocks[-1].text += line
        elif line[:1] in ("#", " ", "\t", "-", "") or ":" not in line:
            blocks.append(_Block(None, line))
        else:
            blocks.append(_Block("?", line))
    for block in blocks:
        if block.key == "?":
            block.key = _block_key(block.text)
    return blocks


def _block_key(text: str) -> str | None:
    try:
        parsed = _load(text)
    except yaml.YAMLError:
        return None
    if isinstance(parsed, dict) and len(parsed) == 1:
        key = next(iter(parsed))
        return key if isinstance(key, str) else None
    return None


def _same(a: Any, b: Any) -> bool:
    # Types matter: `version: "2"` or a date written as text must be rewritten.
    return type(a) is type(b) and a == b


def edit_properties(
    yaml_text: str,
    desired: Mapping[str, Any],
    owned: Sequence[str],
    *,
    newline: str = "\n",
) -> str:
    """Return `yaml_text` with owned keys set to `desired` (absent owned keys removed).

    Blocks whose value already equals the desired one are left as written, so a note that
    Obsidian reformatted is not rewritten back and forth. Raises PropertiesError when the
    result would not keep every other key exactly.
    """
    before = _load(yaml_text) if yaml_text.strip() else {}
    if not isinstance(before, dict):
        raise PropertiesError("front matter is not a mapping")
    blocks = _split_blocks(yaml_text)
    if blocks and not blocks[-1].text.endswith("\n"):
        blocks[-1].text += newline
    position = {block.key: index for index, block in enumerate(blocks) if block.key}
    rendered: dict[str, str | None] = {}
    for key in owned:
        if key in desired:
            current = before.get(key, _MISSING)
            if current is not _MISSING and _same(current, desired[key]) and key in position:
                continue
            rendered[key] = dump_property(key, desired[key]).replace("\n", newline)
        elif key in position:
            rendered[key] = None
    if not rendered:
        return yaml_text
    new_keys = [key for key in owned if key in rendered and key not in position]
    head, after = _insertion_points(new_keys, owned, position)
    first_owned = min((position[k] for k in owned if k in position), default=None)
    result: list[str] = []
    for index, block in enumerate(blocks):
        if index == first_owned:
            result.extend(rendered[k] or "" for k in head)
        if block.key in rendered:
            replacement = rendered[block.key]
            if replacement is not None:
                result.append(replacement + _trailing_blank_lines(block.text, newline))
        else:
            result.append(block.text)
        result.extend(rendered[k] or "" for k in after.get(block.key or "", ()))
    if first_owned is None:
        result.extend(rendered[k] or "" for k in head)
    text = "".join(result)
    _verify(before, text, desired, owned)
    return text


_MISSING = object()


def _insertion_points(
    new_keys: Sequence[str], owned: Sequence[str], position: Mapping[str, int]
) -> tuple[list[str], dict[str, list[str]]]:
    """A new owned key goes right after the closest earlier owned key present, else before
    the first owned key present (or at the end when there is none)."""
    head: list[str] = []
    after: dict[str, list[str]] = {}
    for key in new_keys:
        earlier = [k for k in owned[: list(owned).index(key)] if k in position]
        if earlier:
            after.setdefault(earlier[-1], []).append(key)
        else:
            head.append(key)
    return head, after


def _trailing_blank_lines(block_text: str, newline: str) -> str:
    body = block_text.rstrip(" \t\r\n")
    return newline * max(block_text[len(body) :].count("\n") - 1, 0)


def _verify(
    before: dict[str, Any], text: str, desired: Mapping[str, Any], owned: Sequence[str]
) -> None:
    try:
        after = _load(text) if text.strip() else {}
    except yaml.YAMLError as exc:
        raise PropertiesError(f"editing the front matter would break it: {exc}") from exc
    if not isinstance(after, dict):
        raise PropertiesError("editing the front matter would break it")
    for key, value in before.items():
        if key not in owned and (key not in after or not _same(after[key], value)):
            raise PropertiesError(f"editing the front matter would change your key {key!r}")
    for key in owned:
        if key in desired and not _same(after.get(key, _MISSING), desired[key]):
            raise PropertiesError(f"could not set {key!r} in the front matter")
        if key not in desired and key in after:
            raise PropertiesError(f"could not remove {key!r} from the front matter")
