"""What the reliability tests share: vaults with a filled cache, the real command line run
in-process or as a child process (optionally under a real fault), and the checks that say a
vault is undamaged."""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from urllib.parse import unquote

import yaml
from click.testing import CliRunner, Result

import vaultpapers
from vaultpapers.arxiv.cache import PaperCache
from vaultpapers.arxiv.papers import Paper
from vaultpapers.cli import main
from vaultpapers.notes.paper_note import ADOPTED_PROPERTIES
from vaultpapers.run.sources import cache_path
from vaultpapers.scan.note import named_paper
from vaultpapers.testing import FakeArxiv
from vaults import build_vault

SRC = Path(vaultpapers.__file__).resolve().parents[1]
TEMP_SUFFIX = ".vaultpapers.tmp"
# Nothing listens on port 9: a run that should not touch the network fails fast if it does.
NO_API = "http://127.0.0.1:9/api/query"


def seed_cache(vault: Path, papers: Iterable[Paper]) -> None:
    cache_path(vault).parent.mkdir(parents=True, exist_ok=True)
    with PaperCache(cache_path(vault)) as cache:
        cache.put_many(papers)


def cached_vault(root: Path, files: Mapping[str, str | bytes], papers: Iterable[Paper]) -> Path:
    """A vault on disk whose metadata cache already holds `papers`."""
    vault = build_vault(root, dict(files))
    seed_cache(vault, papers)
    return vault


def environment(api: FakeArxiv | None = None) -> dict[str, str]:
    return {"VAULTPAPERS_ARXIV_API": api.url if api else NO_API, "VAULTPAPERS_ARXIV_DELAY": "0"}


def link(vault: Path, api: FakeArxiv | None = None, *args: str) -> Result:
    """`vaultpapers link VAULT ARGS`, in this process."""
    return CliRunner().invoke(main, ["link", str(vault), *args], env=environment(api))


def child_env(api: FakeArxiv | None = None) -> dict[str, str]:
    path = os.pathsep.join(p for p in (str(SRC), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, **environment(api)}


def link_command(vault: Path, *args: str, preamble: str = "") -> list[str]:
    """The command line of a child `vaultpapers link`; `preamble` runs first in the child
    (to put it under a real fault: a file-size limit, fewer privileges)."""
    if not preamble:
        return [sys.executable, "-m", "vaultpapers", "link", str(vault), *args]
    script = (
        f"{preamble}\n"
        "import sys\n"
        "from vaultpapers.cli import main\n"
        "main(['link', *sys.argv[1:]], prog_name='vaultpapers')\n"
    )
    return [sys.executable, "-c", script, str(vault), *args]


def link_in_child(
    vault: Path,
    api: FakeArxiv | None = None,
    *args: str,
    preamble: str = "",
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        link_command(vault, *args, preamble=preamble),
        env=child_env(api),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def file_size_limit(limit: int) -> str:
    """Preamble: the kernel refuses to grow any file past `limit` bytes, as a full disk would
    refuse the bytes of one write (EFBIG instead of ENOSPC, the same failed write)."""
    return (
        "import resource, signal\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        f"resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit}))\n"
    )


# Root ignores file modes through CAP_DAC_OVERRIDE; dropping it (and DAC_READ_SEARCH) makes
# chmod bite for a root process too. Unprivileged, the sets are empty and this changes nothing.
WITHOUT_ROOTS_FILE_ACCESS = """
import ctypes, os
if os.geteuid() == 0:
    class _Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]
    class _Data(ctypes.Structure):
        _fields_ = [(n, ctypes.c_uint32) for n in ("effective", "permitted", "inheritable")]
    _libc = ctypes.CDLL(None, use_errno=True)
    _header, _data = _Header(0x20080522, 0), (_Data * 2)()
    if _libc.capget(ctypes.byref(_header), _data) != 0:
        raise OSError(ctypes.get_errno(), "capget")
    _keep = ~((1 << 1) | (1 << 2)) & 0xFFFFFFFF  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
    for _field in ("effective", "permitted", "inheritable"):
        setattr(_data[0], _field, getattr(_data[0], _field) & _keep)
    if _libc.capset(ctypes.byref(_header), _data) != 0:
        raise OSError(ctypes.get_errno(), "capset")
"""


def front_matter(text: str) -> dict | None:
    """The properties of a note as any YAML reader sees them (None: no front matter)."""
    text = text.removeprefix("\ufeff").replace("\r\n", "\n")
    if not text.startswith("---\n"):
        return None
    yaml_text, closing, _ = text[4:].partition("\n---\n")
    assert closing, "front matter without its closing line"
    data = yaml.safe_load(yaml_text)
    return data if data is not None else {}


def notes_on_disk(vault: Path) -> list[Path]:
    return sorted(
        path
        for path in vault.rglob("*.md")
        if not any(part.startswith(".") for part in path.relative_to(vault).parts)
        and path.is_file()
        and not path.is_symlink()
    )


def paper_notes(vault: Path) -> dict[str, list[str]]:
    """Paper key -> every note that claims it, found by `arxiv_id` as vaultpapers finds them."""
    claims: dict[str, list[str]] = {}
    for path in notes_on_disk(vault):
        try:
            data = front_matter(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, yaml.YAMLError, AssertionError):
            continue
        if isinstance(data, dict) and data.get("vaultpapers") == "paper":
            claims.setdefault(str(data.get("arxiv_id")), []).append(
                path.relative_to(vault).as_posix()
            )
    return claims


def inserted_link(stems: Iterable[str]) -> re.Pattern[str]:
    """A wikilink vaultpapers inserts after a reference, to one of the notes named `stems`."""
    names = "|".join(re.escape(stem) for stem in sorted(stems, key=len, reverse=True))
    return re.compile(rf" \[\[(?:[^\[\]\n]*/)?(?:{names})(?:\\?\|)[^\]\n]*\]\]")


# A note whose name a wikilink cannot hold gets a Markdown link with a percent-encoded path.
_MARKDOWN_LINK = re.compile(r" \[(?:[^\[\]\\\n]|\\.)*\]\(([^()\s]+)\)")


def without_inserted_links(text: str, stems: Iterable[str]) -> str:
    stems = list(stems)
    if not stems:
        return text
    names = {f"{stem}.md" for stem in stems}

    def drop(link: re.Match[str]) -> str:
        name = unquote(link.group(1)).rsplit("/", 1)[-1]
        return "" if name in names else link.group(0)

    return _MARKDOWN_LINK.sub(drop, inserted_link(stems).sub("", text))


def own_note_on_a_paper(text: str) -> bool:
    """Whether a user's note names one paper in its properties: it is that paper's note."""
    try:
        data = front_matter(text)
    except (yaml.YAMLError, AssertionError):
        return False  # unreadable: vaultpapers leaves such a note as it is
    return isinstance(data, dict) and named_paper(data) is not None


_OUR_SECTION = re.compile(
    r"<!-- vaultpapers:begin ([a-z]+) -->.*?<!-- vaultpapers:end \1 -->(?:\r?\n)?", re.DOTALL
)


def without_our_additions(old: str, new: str, stems: Iterable[str]) -> str:
    """`new` without what vaultpapers may add to a user's note: links after references and,
    in the user's own note on a paper, our sections (appended after a blank line) and the
    paper's properties it lacked (appended to its front matter). Equals `old` when nothing
    else changed."""
    text = without_inserted_links(new, stems)
    if text == old:
        return text
    had = {line.split(":", 1)[0].casefold() for line in old.splitlines() if ":" in line}
    added = "|".join(key for key in ADOPTED_PROPERTIES if key not in had)
    if added and text.startswith(("---", "\ufeff---")):
        block = rf"^(?:{added}):.*\r?\n(?:(?:  - |- ).*\r?\n)*"
        head, sep, rest = text.partition("\n---")
        text = re.sub(block, "", head + "\n", flags=re.MULTILINE)[:-1] + sep + rest
    if not _OUR_SECTION.search(old):
        stripped = _OUR_SECTION.sub("", text)
        ending = old[len(old.rstrip("\r\n")) :]
        if stripped != text and stripped.endswith(ending):
            # Our sections came at the end, set apart by a blank line: every line ending of
            # the user's is still there, and one or two more.
            text = stripped.rstrip("\r\n") + ending
        elif (
            stripped != text and stripped.startswith(old) and not stripped[len(old) :].strip("\r\n")
        ):
            # The same, the user's last lines blank in mixed endings ('\n\r\n'): they are all
            # there, followed by the line ending that sets our sections apart.
            text = old
    return text


def temp_files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob(f"*{TEMP_SUFFIX}"))


def sqlite_files_are_intact(vault: Path) -> dict[str, str]:
    """Every SQLite file vaultpapers keeps, with SQLite's own integrity verdict ("ok")."""
    verdicts = {}
    for path in sorted((vault / ".vaultpapers").glob("*.sqlite")):
        # Closed at once (`with` on a connection only commits): a connection left for the
        # garbage collector keeps the WAL's shared memory mapped while the next run may
        # remove and make the files again, which can read as a damaged file, or a SIGBUS.
        with contextlib.closing(sqlite3.connect(path)) as db:
            verdicts[path.name] = db.execute("PRAGMA integrity_check").fetchone()[0]
    return verdicts


def wait_until(predicate: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


def lines_naming(output: str, *words: str) -> list[str]:
    """The lines of `output` that mention every one of `words`."""
    return [line for line in output.splitlines() if all(word in line for word in words)]
