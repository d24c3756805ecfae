"""Papers named by title in real lines from real notes (tests/realtitles/, sources in its
SOURCES.md): no line may link a wrong paper; precision and recall are printed (`pytest -s -n 0`)."""

from __future__ import annotations

from collections import Counter

from paths import TESTS
from vaultpapers.markdown.titles import TitleIndex, find_titles, near_misses

HERE = TESTS / "realtitles"
# Lines that stood inside front matter or a code block in their note are judged there.
WRAPPED = {"front-matter": "---\n{}\n---\n", "in-code": "```\n{}\n```\n"}


def _papers() -> TitleIndex:
    rows = []
    for line in (HERE / "papers.tsv").read_text(encoding="utf-8").splitlines():
        key, year, title = line.split("\t")
        rows.append((key, title, int(year)))
    return TitleIndex.of(rows)


def _lines() -> list[tuple[str, str | None, str, str]]:
    rows = []
    for line in (HERE / "lines.tsv").read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        source, expect, shape, text = line.split("\t", 3)
        rows.append((source, None if expect == "-" else expect, shape, text))
    return rows


def test_real_lines_link_no_wrong_paper_and_say_how_many_they_find() -> None:
    index = _papers()
    rows = _lines()
    assert len(rows) >= 200
    wrong: list[str] = []
    found = missed = reported = 0
    missed_shapes: Counter[str] = Counter()
    for source, expect, shape, text in rows:
        note = WRAPPED.get(shape, "{}\n").format(text)
        matches = find_titles(note, index)
        keys = {match.title.key for match in matches}
        reported += len(near_misses(note, index, matches))
        if keys - {expect}:
            wrong.append(f"{source} [{shape}] {text!r}: linked {sorted(keys)}, expected {expect}")
        if expect is not None:
            if expect in keys:
                found += 1
            else:
                missed += 1
                missed_shapes[shape] += 1
    links = found + len(wrong)
    precision = found / links if links else 1.0
    recall = found / (found + missed)
    print(
        f"\nreal lines: {len(rows)} ({found + missed} cite a known paper by title); "
        f"links {links}, right {found}, wrong {len(wrong)}; "
        f"precision {precision:.1%}, recall {recall:.1%} ({found}/{found + missed})"
    )
    print("missed, by shape:", dict(missed_shapes.most_common()))
    print(f"near misses reported (never linked): {reported}")
    assert not wrong, "\n".join(wrong)
    assert recall >= 0.90
