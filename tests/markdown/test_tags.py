"""Obsidian tags: which names are tags, the tags derived from arXiv categories, and the tags
a note already carries in its body and front matter."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from vaultpapers.markdown.tags import (
    body_tags,
    category_tag,
    front_matter_tags,
    is_valid_tag,
    tag_with_parents,
)


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("paper", True),
        ("to-read", True),
        ("reading_list", True),
        ("arxiv/cs-LG", True),
        ("논문", True),
        ("논문/비전", True),
        ("y1984", True),
        ("2021-review", True),
        ("1984", False),
        ("2021/01", False),
        ("cs.LG", False),
        ("two words", False),
        ("", False),
        ("/leading", False),
        ("trailing/", False),
        ("double//slash", False),
        ("#hash", False),
        ("a,b", False),
        ("emoji🙂", False),
    ],
)
def test_is_valid_tag(name: str, valid: bool) -> None:
    assert is_valid_tag(name) is valid


@pytest.mark.parametrize(
    ("category", "tag"),
    [
        ("cs.LG", "arxiv/cs-LG"),
        ("cs.CV", "arxiv/cs-CV"),
        ("hep-th", "arxiv/hep-th"),
        ("math-ph", "arxiv/math-ph"),
        ("stat.ML", "arxiv/stat-ML"),
        ("physics.optics", "arxiv/physics-optics"),
        ("cond-mat.mes-hall", "arxiv/cond-mat-mes-hall"),
    ],
)
def test_category_tag(category: str, tag: str) -> None:
    assert category_tag(category) == tag
    assert is_valid_tag(tag)


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("a/b/c", ["a", "a/b", "a/b/c"]),
        ("arxiv/cs-LG", ["arxiv", "arxiv/cs-LG"]),
        ("paper", ["paper"]),
    ],
)
def test_tag_with_parents(tag: str, expected: list[str]) -> None:
    assert tag_with_parents(tag) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("A note about #attention and #transformers.", ["attention", "transformers"]),
        ("#inbox at the start of a line", ["inbox"]),
        ("#논문 정리와 #비전/분류", ["논문", "비전/분류"]),
        ("Nested #ml/vision, then #ML/Vision again and #ml/vision", ["ml/vision"]),
        ("# Heading is not a tag\n## Second #real", ["real"]),
        ("mid-word a#b and c#d are not tags", []),
        ("URL fragment https://x.org/#frag and [t](#anchor)", []),
        ("entity &#123; and &#x1F600;", []),
        ("[[Note#Heading]] and [[#Local heading]] and ![[img.png#x]]", []),
        ("`#code` and\n```\n#also code\n```\nafter #yes", ["yes"]),
        ("Text <!-- #hidden --> %% #hidden %% #shown", ["shown"]),
        # Obsidian takes no tags from HTML: not from attributes (a hex colour is no tag), nor
        # from an HTML block, where Markdown is not rendered.
        ('<div style="background-color: #f8f9fa">\nin the block #no\n</div>\n\n#yes', ["yes"]),
        ('Text <span style="color: #ff0000">red #shown</span> <img alt="a #b">', ["shown"]),
        (
            "<!-- a comment line --> #no\n<style>\n.x { color: #fff }\n\n#ccc\n</style>\n#yes",
            ["yes"],
        ),
        ("`<span title=' #code'>` #a and \\<b #escaped>", ["a", "escaped"]),
        ("issue #123 is a number, #2021 too, but #y2021 is a tag", ["y2021"]),
        ("#cs.LG stops at the dot", ["cs"]),
        ("---\ntags: [fm]\n---\n#body", ["body"]),
        ("---\ntitle: '#not-body'\n---\ntext", []),
        ("tab\t#tabbed and (#paren)", ["tabbed"]),
    ],
)
def test_body_tags(text: str, expected: list[str]) -> None:
    assert body_tags(text) == expected


def test_a_hex_colour_in_an_html_attribute_is_no_tag() -> None:
    # Issue 16: '<div style="background-color: #f8f9fa">' made a tag index 'Tag f8f9fa.md'.
    note = (
        '<div style="background-color: #f8f9fa; padding: 10px">\n'
        "<b>Paper</b> #inside-the-block\n</div>\n\n"
        '<span style="color: #e74c3c">inline</span> #real\n'
    )
    assert body_tags(note) == ["real"]


def test_body_tags_skip_the_tools_own_regions() -> None:
    text = "#mine\n<!-- begin -->\n#generated\n<!-- end -->\n"
    generated = (text.index("#generated"), text.index("<!-- end"))
    assert body_tags(text, skip_spans=[generated]) == ["mine"]


@pytest.mark.parametrize(
    ("front_matter", "expected"),
    [
        ("tags: [paper, vision]", ["paper", "vision"]),
        ("tags:\n  - paper\n  - '#to-read'\n  - 논문", ["paper", "to-read", "논문"]),
        ("tags: paper, vision", ["paper", "vision"]),
        ('tags: "paper vision #ml"', ["paper", "vision", "ml"]),
        ("tags: paper vision #a YAML comment", ["paper", "vision"]),
        ("tags: [2021, cs.LG, good tag, ok]", ["ok"]),
        ("tags: [Paper, paper, PAPER]", ["Paper"]),
        ("tags:", []),
        ("tags: []", []),
        ("tags: 2021", []),
        ("tags: true", []),
        ("tags: [[nested], fine]", ["fine"]),
    ],
)
def test_front_matter_tags(front_matter: str, expected: list[str]) -> None:
    value = yaml.safe_load(front_matter)["tags"]
    assert front_matter_tags(value) == expected


@given(st.text(max_size=200))
def test_tags_found_are_always_valid(text: str) -> None:
    for tag in body_tags(text):
        assert is_valid_tag(tag)
        assert f"#{tag}" in text
    for tag in front_matter_tags(text):
        assert is_valid_tag(tag)


@given(st.text(alphabet=st.characters(categories=["L", "Nd"]) | st.sampled_from("_-"), min_size=1))
def test_every_valid_tag_is_found_in_a_body(name: str) -> None:
    if is_valid_tag(name):
        assert body_tags(f"text #{name} text") == [name]
