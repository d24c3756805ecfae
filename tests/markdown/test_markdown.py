"""Where a note is not prose: front matter, code, comments, math, wikilinks, links, tables."""

from __future__ import annotations

import itertools
import time

import pytest

from vaultpapers.markdown.spans import (
    LineIndex,
    code_spans,
    dataview_field_spans,
    front_matter_span,
    html_block_spans,
    html_tag_spans,
    in_spans,
    line_number,
    link_constructs,
    merge_spans,
    overlaps,
    strictly_inside,
    table_spans,
    wikilink_spans,
)


def pieces(text: str, spans: list[tuple[int, int]]) -> list[str]:
    return [text[start:end] for start, end in spans]


# --- front matter ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "front_matter"),
    [
        ("---\ntitle: Perceiver\n---\nBody", "---\ntitle: Perceiver\n---\n"),
        ("---\r\ntitle: x\r\n---\r\nBody", "---\r\ntitle: x\r\n---\r\n"),
        ("\ufeff---\ntags: [ml]\n---\nBody", "---\ntags: [ml]\n---\n"),
        ("---\nlayout: post\ntitle: x\n...\nBody", "---\nlayout: post\ntitle: x\n...\n"),
        ("---\n---\nBody", "---\n---\n"),
        ("---\ntitle: x\n---", "---\ntitle: x\n---"),
        (
            '---\nlayout: post\ntitle: "Perceiver 리뷰"\ncategories: [paper]\n---\n# 본문',
            '---\nlayout: post\ntitle: "Perceiver 리뷰"\ncategories: [paper]\n---\n',
        ),
    ],
)
def test_front_matter_covers_both_delimiter_lines(text: str, front_matter: str) -> None:
    span = front_matter_span(text)
    assert span is not None
    assert text[span[0] : span[1]] == front_matter


@pytest.mark.parametrize(
    "text",
    [
        "Body first\n---\ntitle: x\n---\n",
        "---\ntitle: never closed\n",
        " ---\ntitle: x\n---\n",
        "----\ntitle: x\n----\n",
        "",
    ],
)
def test_no_front_matter(text: str) -> None:
    assert front_matter_span(text) is None


# --- code, comments, math ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Use `x = 1` here", ["`x = 1`"]),
        ("Use ``a`b`` and `c`", ["``a`b``", "`c`"]),
        ("A lone ` backtick stays prose", []),
        ("Runs of different length ``a` do not close", []),
        ("Escaped \\`not code` but `this`", ["` but `"]),
        ("`spans\ncontinue` on the next line", ["`spans\ncontinue`"]),
        ("`not across\n\na blank line`", []),
        ("# Heading with `open\nparagraph with close`", []),
        ("| `a | b` |\n| c | d |", ["`a | b`"]),
        (
            "```python\nurl = 'https://arxiv.org/abs/2103.03206'\n```\nafter",
            ["```python\nurl = 'https://arxiv.org/abs/2103.03206'\n```"],
        ),
        ("~~~\ncode\n~~~\nafter", ["~~~\ncode\n~~~"]),
        ("````\n```\nstill code\n````\nafter", ["````\n```\nstill code\n````"]),
        ("~~~\n```\nstill code\n~~~", ["~~~\n```\nstill code\n~~~"]),
        ("```\nnever closed\nto the end", ["```\nnever closed\nto the end"]),
        (
            "- item\n    ```bash\n    pip install x\n    ```\n- next",
            ["    ```bash\n    pip install x\n    ```"],
        ),
        ("> ```\n> quoted code\n> ```\noutside", ["> ```\n> quoted code\n> ```"]),
        ("> ```\n> quote ends the code\noutside", ["> ```\n> quote ends the code"]),
        ("``` not a fence ` because of the backtick\nx", []),
        ("text ``` mid-line is no fence\nx", []),
        ("a <!-- hidden\ncomment --> b", ["<!-- hidden\ncomment -->"]),
        ("a <!-- never closed\nrest", ["<!-- never closed\nrest"]),
        ("a %% obsidian comment %% b", ["%% obsidian comment %%"]),
        ("a %%\nblock\ncomment\n%% b", ["%%\nblock\ncomment\n%%"]),
        ("a %% unclosed\nrest", ["%% unclosed\nrest"]),
        ("$$\n\\sum_i x_i\n$$ after", ["$$\n\\sum_i x_i\n$$"]),
        ("costs $$ only once", []),
        ("`<!--` is code, so this --> is prose", ["`<!--`"]),
        ("<!-- `backtick` inside a comment -->", ["<!-- `backtick` inside a comment -->"]),
        ("\\%% escaped", []),
        ("---\ntitle: `not code`\n---\nbody `code`", ["`code`"]),
        ("CRLF `code`\r\n```\r\nx\r\n```\r\nafter", ["`code`", "```\r\nx\r\n```\r"]),
    ],
)
def test_code_spans(text: str, expected: list[str]) -> None:
    assert pieces(text, code_spans(text)) == expected


def test_code_spans_are_sorted_and_disjoint() -> None:
    text = "`a` <!-- `b` --> %% c %% ```\nd\n```\n$$e$$ `f`"
    spans = code_spans(text)
    assert list(spans) == sorted(spans)
    assert all(end <= next_start for (_, end), (next_start, _) in itertools.pairwise(spans))


# --- wikilinks ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("See [[Perceiver (2103.03206)]].", ["[[Perceiver (2103.03206)]]"]),
        (
            "![[diagram.png]] and [[Note#Heading|shown]]",
            ["![[diagram.png]]", "[[Note#Heading|shown]]"],
        ),
        ("| [[Paper\\|alias]] |", ["[[Paper\\|alias]]"]),
        ("[[not\nacross lines]]", []),
        ("[single] brackets", []),
    ],
)
def test_wikilink_spans(text: str, expected: list[str]) -> None:
    assert pieces(text, wikilink_spans(text)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # '[[Paper]](url)' is one inline link with the text '[Paper]' (CommonMark), no wikilink.
        (
            "PPO [[Paper]](https://arxiv.org/abs/1707.06347) [[Code]](https://github.com/x/y)",
            [
                ("inline", "[[Paper]](https://arxiv.org/abs/1707.06347)"),
                ("inline", "[[Code]](https://github.com/x/y)"),
            ],
        ),
        (
            "![[fig]](https://arxiv.org/html/1707.06347/x1.png)",
            [("inline", "![[fig]](https://arxiv.org/html/1707.06347/x1.png)")],
        ),
        ('[[arXiv]](<a b.pdf> "t")', [("inline", '[[arXiv]](<a b.pdf> "t")')]),
        ("[[Note]] (not a destination) [[Note]](two words) [[Note]]", []),
    ],
)
def test_a_wikilink_followed_by_a_destination_is_a_markdown_link(
    text: str, expected: list[tuple[str, str]]
) -> None:
    assert [(c.kind, text[c.start : c.end]) for c in link_constructs(text)] == expected
    wikilinks = pieces(text, wikilink_spans(text))
    assert all(text[end : end + 1] != "(" for end in (c.end for c in link_constructs(text)))
    assert wikilinks == ([] if expected else ["[[Note]]", "[[Note]]", "[[Note]]"])


# --- HTML blocks -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '<div>\n<a href="https://arxiv.org/abs/2508.03782">arXiv: 2508.03782</a>\n</div>\n\nMd',
            ['<div>\n<a href="https://arxiv.org/abs/2508.03782">arXiv: 2508.03782</a>\n</div>\n'],
        ),
        ("<pre>\na\n\nb\n</PRE> tail\nafter", ["<pre>\na\n\nb\n</PRE> tail\n"]),
        ("<script type='x'>\nno end", ["<script type='x'>\nno end"]),
        ("<!-- c\n\n--> tail\nafter", ["<!-- c\n\n--> tail\n"]),
        ("<?php x ?>\nafter", ["<?php x ?>\n"]),
        ("<!DOCTYPE html>\nafter", ["<!DOCTYPE html>\n"]),
        ("<![CDATA[ x\n]]>\nafter", ["<![CDATA[ x\n]]>\n"]),
        ("<DIV class=x>\nin\n   \nout", ["<DIV class=x>\nin\n"]),
        ("</table>\nin\n\nout", ["</table>\nin\n"]),
        ("<details/>\nin", ["<details/>\nin"]),
        ("> <div>\n> in\n>\n> out", ["> <div>\n> in\n"]),
        ("- <div>\n  in\n\nout", ["- <div>\n  in\n"]),
        ("\n<span>\nin\n\nout", ["<span>\nin\n"]),
        ('<a href="x">\nin\n\nout', ['<a href="x">\nin\n']),
        # Kind 7 cannot interrupt a paragraph; a tag that is not alone on its line is inline.
        ("para\n<span>\nmore", []),
        ("<span>text</span> more", []),
        ("<a href='x'>arXiv</a>", []),
        ("para\n<divx>\n<pre-x> text\n<unknown", []),
        ("text <div>\nmid-line", []),
        ("```\n<div>\n```\nafter", []),
        ("---\nx: <div>\n---\nbody", []),
        ("`<div>`\n", []),
    ],
)
def test_html_block_spans(text: str, expected: list[str]) -> None:
    assert pieces(text, html_block_spans(text)) == expected


def test_html_tag_spans() -> None:
    text = '<div style="background-color: #f8f9fa"> `<b>` \\<i> </div> a < b'
    assert pieces(text, html_tag_spans(text, exclude=code_spans(text))) == [
        '<div style="background-color: #f8f9fa">',
        "</div>",
    ]


# --- Dataview inline fields --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "source:: https://arxiv.org/abs/2310.03714\nnext",
            ["source:: https://arxiv.org/abs/2310.03714\n"],
        ),
        ("**links**:: x\n", ["**links**:: x\n"]),
        ("Key with spaces:: x", ["Key with spaces:: x"]),
        ("key-name_2/sub:: x", ["key-name_2/sub:: x"]),
        ("> source:: x\n", ["> source:: x\n"]),
        ("## Heading:: x\n", ["## Heading:: x\n"]),
        ("😀 mood:: good\n", ["😀 mood:: good\n"]),
        ("- src:: a\n  more a\n  - sub\n", ["- src:: a\n  more a\n"]),
        ("1. src:: a\n\nb", ["1. src:: a\n"]),
        (
            "I read [source:: https://x.org/a_(b)] and (via:: y) here",
            ["[source:: https://x.org/a_(b)]", "(via:: y)"],
        ),
        ("[a:: [b] c] d", ["[a:: [b] c]"]),
        ("- [ ] task [due:: 2024-01-01]", ["[due:: 2024-01-01]"]),
        ("key:: value [b:: c]", ["[b:: c]"]),
        ("std::vector\n", ["std::vector\n"]),
        ("[open:: never closed", ["[open:: never closed"]),
        # Dataview reads none of these as a field.
        ("- [ ] task:: not a field in a task", []),
        ("e.g. std::vector", []),
        ("Note: see std::map", []),
        ("C++ std::vector", []),
        ("a*b:: x", []),
        ("[a](b) and c::d", []),
        ("https://x.org/a is one colon", []),
        ("`code:: x`\n```\nk:: v\n```", []),
        ("---\nk:: v\n---\nbody", []),
        ("x" * 32769 + ":: too long a line for Dataview", []),
    ],
)
def test_dataview_field_spans(text: str, expected: list[str]) -> None:
    assert pieces(text, dataview_field_spans(text)) == expected


# --- links and raw HTML ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "[Perceiver](https://arxiv.org/abs/2103.03206)",
            [("inline", "[Perceiver](https://arxiv.org/abs/2103.03206)")],
        ),
        ('[t](https://x.org/a_(b) "title") rest', [("inline", '[t](https://x.org/a_(b) "title")')]),
        ("[t](<with space.md>)", [("inline", "[t](<with space.md>)")]),
        ("[t](url 'title')", [("inline", "[t](url 'title')")]),
        ("[t](url (title))", [("inline", "[t](url (title))")]),
        ("[multi\nline](url)", [("inline", "[multi\nline](url)")]),
        ("[t]()", [("inline", "[t]()")]),
        (
            "[![badge](https://img.shields.io/x.svg)](https://arxiv.org/abs/2103.03206)",
            [
                (
                    "inline",
                    "[![badge](https://img.shields.io/x.svg)](https://arxiv.org/abs/2103.03206)",
                ),
                ("inline", "![badge](https://img.shields.io/x.svg)"),
            ],
        ),
        (
            "<https://arxiv.org/abs/2103.03206>",
            [("autolink", "<https://arxiv.org/abs/2103.03206>")],
        ),
        (
            '<a href="https://arxiv.org/abs/2103.03206">',
            [("html", '<a href="https://arxiv.org/abs/2103.03206">')],
        ),
        ("<br/>", [("html", "<br/>")]),
        (
            '<a href="u">arXiv</a> and <A\nname=x>y</A >',
            [
                ("html", '<a href="u">arXiv</a>'),
                ("html", '<a href="u">'),
                ("html", "</a>"),
                ("html", "<A\nname=x>y</A >"),
                ("html", "<A\nname=x>"),
                ("html", "</A >"),
            ],
        ),
        ("<a>\n\nno</a>", [("html", "<a>"), ("html", "</a>")]),
        ("[text][ref]", [("reference", "[text][ref]")]),
        ("[text][]", [("reference", "[text][]")]),
        (
            "[Perceiver] is defined below.\n\n[perceiver]: https://arxiv.org/abs/2103.03206",
            [
                ("reference", "[Perceiver]"),
                ("definition", "[perceiver]: https://arxiv.org/abs/2103.03206"),
                ("reference", "[perceiver]"),
            ],
        ),
        ("arXiv:2106.12345v2 [cs.CV] 23 Jun 2021", []),
        ("- [ ] task and [x] done", []),
        ("[^1]: a footnote is prose", []),
        ("[t] (url) with a space is no link", []),
        ("[t](url with spaces)", []),
        ("\\[t](url)", []),
        ("a < b and c > d", []),
        ("`[t](url)` in code", []),
        ("[t](url\n\n) blank line", []),
        ("[a [b](u1) c](u2)", [("inline", "[b](u1)")]),
    ],
)
def test_link_constructs(text: str, expected: list[tuple[str, str]]) -> None:
    assert [(c.kind, text[c.start : c.end]) for c in link_constructs(text)] == expected


# Checked against markdown-it-py 4 in CommonMark mode: '\\[[Paper]](u)' renders as text,
# '[a][x](u)' (no 'x' defined) as '[a]' and a link 'x', '[a [b](u1) c](u2)' as text around 'b'.
@pytest.mark.parametrize(
    ("text", "strict", "loose"),
    [
        ("\\[[Paper]](u)", [], [("inline", "[[Paper]](u)")]),
        ("\\[t](u) and [t\\](v)", [], [("inline", "[t](u)"), ("inline", "[t\\](v)")]),
        ("\\<https://x.org>", [], [("autolink", "<https://x.org>")]),
        ("[x]](u) and ](v)", [], [("inline", "](u)"), ("inline", "](v)")]),
        (
            "[a [b](u1) c](u2)",
            [("inline", "[b](u1)")],
            [("inline", "[a [b](u1) c](u2)"), ("inline", "[b](u1)")],
        ),
        ("\\\\[[Paper]](u)", [("inline", "[[Paper]](u)")], [("inline", "[[Paper]](u)")]),
        ("[\\[x](u)", [("inline", "[\\[x](u)")], [("inline", "[x](u)")]),
        ("\\[1\\] and \\[2\\]: prose", [], []),
    ],
)
def test_a_loose_reading_takes_escaped_stray_and_nested_brackets_for_links(
    text: str, strict: list[tuple[str, str]], loose: list[tuple[str, str]]
) -> None:
    assert [(c.kind, text[c.start : c.end]) for c in link_constructs(text)] == strict
    assert [(c.kind, text[c.start : c.end]) for c in link_constructs(text, loose=True)] == loose


def test_an_undefined_reference_label_can_still_open_an_inline_link() -> None:
    """'[a][x](u)' with no '[x]:' defined is '[a]' and the inline link '[x](u)' (CommonMark);
    it is still taken for a reference link too, so no link goes after '[a][x]'."""
    text = "[a][x](https://arxiv.org/abs/1501.00001)"
    assert [(c.kind, text[c.start : c.end]) for c in link_constructs(text)] == [
        ("reference", "[a][x]"),
        ("inline", "[x](https://arxiv.org/abs/1501.00001)"),
    ]


@pytest.mark.parametrize(
    ("kind", "allowed"),
    [
        ("inline", True),
        ("autolink", True),
        ("reference", False),
        ("definition", False),
        ("html", False),
    ],
)
def test_insertion_is_allowed_only_after_inline_links_and_autolinks(
    kind: str, allowed: bool
) -> None:
    samples = {
        "inline": "[t](u)",
        "autolink": "<https://x.org>",
        "reference": "[t][r]",
        "definition": "[r]: https://x.org",
        "html": "<span>",
    }
    construct = link_constructs(samples[kind])[0]
    assert construct.kind == kind
    assert construct.insertion_after_allowed is allowed


# --- tables ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Papers:\n\n| Paper | Link |\n|---|---|\n"
            "| Perceiver | https://arxiv.org/abs/2103.03206 |\n\nAfter",
            ["| Paper | Link |\n|---|---|\n| Perceiver | https://arxiv.org/abs/2103.03206 |"],
        ),
        (
            "Paper | Link\n:--- | ---:\nPerceiver | x\nMLP-Mixer | y",
            ["Paper | Link\n:--- | ---:\nPerceiver | x\nMLP-Mixer | y"],
        ),
        (
            "| 논문 | 링크 |\n| :-: | --- |\n| 퍼시버 | x |",
            ["| 논문 | 링크 |\n| :-: | --- |\n| 퍼시버 | x |"],
        ),
        ("| a |\n|---|---|\n| x |", []),
        ("a | b\nno delimiter row", []),
        ("Prose with a | pipe\nand another | pipe", []),
        ("| a | b |\n|---|---|\n| x | y |\n> quote ends it", ["| a | b |\n|---|---|\n| x | y |"]),
        ("```\n| a | b |\n|---|---|\n```", []),
        ("Title\n---", []),
    ],
)
def test_table_spans(text: str, expected: list[str]) -> None:
    assert pieces(text, table_spans(text)) == expected


# --- lines and spans ---------------------------------------------------------------------------


def test_line_index_and_line_number_agree() -> None:
    text = "first\nsecond\r\n\nfourth 논문\nfifth"
    index = LineIndex(text)
    for offset in range(len(text) + 1):
        assert index.line_of(offset) == line_number(text, offset) == text.count("\n", 0, offset) + 1
    assert index.line_count == 5
    assert text[index.line_start(4) : index.line_end(4)] == "fourth 논문"
    assert index.line_end(5) == len(text)


def test_span_helpers() -> None:
    spans = merge_spans([(10, 20), (0, 5)], [(15, 25), (25, 30), (40, 40)])
    assert spans == [(0, 5), (10, 25), (25, 30)]
    assert in_spans(10, spans) and in_spans(24, spans) and not in_spans(5, spans)
    assert strictly_inside(11, spans) and not strictly_inside(10, spans)
    assert not strictly_inside(25, spans) and not strictly_inside(5, spans)
    assert overlaps(4, 6, spans) and not overlaps(5, 10, spans) and overlaps(29, 31, spans)


# --- no catastrophic inputs --------------------------------------------------------------------

_MEGABYTE = 1_000_000

_HOSTILE_NOTES = {
    "backtick staircase": "".join("`" * k + " x " for k in range(1, 1400)),
    "unclosed backticks": "` a\n\n" * (_MEGABYTE // 5),
    "open brackets": "[" * _MEGABYTE,
    "link starts": "[x](" * (_MEGABYTE // 4),
    "link starts with titles": '[a](b "' * (_MEGABYTE // 7),
    "link then spaces": "[a](b" + " " * _MEGABYTE,
    "tag starts": "<a " * (_MEGABYTE // 3),
    "quoted attributes": '<a b="' * (_MEGABYTE // 6),
    "spaces before a fence": " " * _MEGABYTE + "```",
    "fence lines": "```\n" * (_MEGABYTE // 4),
    "pipes": "|-" * (_MEGABYTE // 2),
    "dollars": "$$" * (_MEGABYTE // 2) + "$",
    "comment starts": "<!--" * (_MEGABYTE // 4),
    "wikilink starts": "[[" * (_MEGABYTE // 2),
    "button links": "[[a]](" * (_MEGABYTE // 6),
    "field separators": "::" * (_MEGABYTE // 2),
    "bracketed field starts": "[a:: (b:: " * (_MEGABYTE // 10),
    "field lines": "- k:: v\n" * (_MEGABYTE // 8),
    "html block starts": "<div>\n" * (_MEGABYTE // 6),
    "raw text starts": "<pre>" * (_MEGABYTE // 5),
    "tag lines after prose": "a\n<span>\n" * (_MEGABYTE // 9),
    "declarations": "<!x\n" * (_MEGABYTE // 4),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(_HOSTILE_NOTES))
def test_scanners_stay_fast_on_hostile_notes(name: str) -> None:
    text = _HOSTILE_NOTES[name]
    started = time.perf_counter()
    code_spans(text)
    link_constructs(text)
    table_spans(text)
    wikilink_spans(text)
    front_matter_span(text)
    html_block_spans(text)
    html_tag_spans(text)
    dataview_field_spans(text)
    # Generous: the point is linear time (about a second at most), not minutes.
    assert time.perf_counter() - started < 10
