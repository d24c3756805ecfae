"""Editing front matter touches only the keys vaultpapers owns; the user's lines stay as typed."""

from __future__ import annotations

import datetime as dt

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from vaultpapers.markdown.properties import (
    PropertiesError,
    dump_property,
    edit_properties,
    find_front_matter,
)

OWNED = ("vaultpapers", "arxiv_id", "title", "published", "tags")


def test_user_keys_comments_and_quoting_survive_byte_for_byte() -> None:
    user_yaml = (
        "# my reading status\n"
        'status: "reading"   # keep my quotes\n'
        "rating: 5\n"
        "notes: |\n"
        "  first line\n"
        "\n"
        "  second paragraph\n"
    )
    edited = edit_properties(
        user_yaml + "title: Old title\n",
        {"vaultpapers": "paper", "arxiv_id": "2103.03206", "title": "Perceiver: New"},
        OWNED,
    )
    for line in user_yaml.splitlines(keepends=True):
        assert line in edited
    assert 'title: "Perceiver: New"\n' in edited
    assert "Old title" not in edited


def test_a_value_obsidian_reformatted_is_not_rewritten() -> None:
    obsidian_style = 'title: "Perceiver: General Perception"\npublished: 2021-03-04\n'
    desired = {"title": "Perceiver: General Perception", "published": dt.date(2021, 3, 4)}
    assert edit_properties(obsidian_style, desired, ("title", "published")) == obsidian_style


def test_ids_that_look_like_numbers_are_written_quoted() -> None:
    edited = edit_properties("", {"arxiv_id": "2103.10000"}, ("arxiv_id",))
    assert edited == 'arxiv_id: "2103.10000"\n'
    front = find_front_matter(f"---\n{edited}---\n")
    assert front is not None and front.data == {"arxiv_id": "2103.10000"}


def test_new_owned_keys_go_next_to_the_owned_keys_present() -> None:
    edited = edit_properties(
        "mine: 1\nvaultpapers: paper\ntags:\n  - x\nalso_mine: 2\n",
        {"vaultpapers": "paper", "arxiv_id": "1706.03762", "tags": ["x"]},
        OWNED,
    )
    assert edited == (
        'mine: 1\nvaultpapers: paper\narxiv_id: "1706.03762"\ntags:\n  - x\nalso_mine: 2\n'
    )


def test_owned_keys_no_longer_wanted_are_removed_and_nothing_else() -> None:
    edited = edit_properties("mine: 1\ndoi: 10.1/x\nrest: 2\n", {}, ("doi",))
    assert edited == "mine: 1\nrest: 2\n"


def test_crlf_front_matter_stays_crlf() -> None:
    edited = edit_properties("mine: 1\r\ntitle: a\r\n", {"title": "b"}, ("title",), newline="\r\n")
    assert edited == "mine: 1\r\ntitle: b\r\n"


def test_unparseable_front_matter_is_refused_not_rewritten() -> None:
    with pytest.raises(Exception):  # noqa: B017 - yaml's own error type, any is fine
        edit_properties("title: [unclosed\n", {"title": "x"}, ("title",))


def test_a_list_valued_front_matter_is_refused() -> None:
    with pytest.raises(PropertiesError):
        edit_properties("- a\n- b\n", {"title": "x"}, ("title",))


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("---\ntitle: [unclosed\n---\nbody", "expected ',' or ']'"),
        ("---\n- a list\n---\nbody", "not a mapping"),
        ("---\njust a scalar\n---\nbody", "not a mapping"),
    ],
)
def test_bad_front_matter_is_found_and_explained(text: str, error: str) -> None:
    front = find_front_matter(text)
    assert front is not None and front.data is None
    assert error in (front.error or "")


def test_front_matter_with_bom_already_stripped_crlf_and_dots_closing() -> None:
    front = find_front_matter("---\r\ntitle: x\r\n...\r\nbody")
    assert front is not None and front.data == {"title": "x"}
    assert front.end == len("---\r\ntitle: x\r\n...\r\n")


def test_no_front_matter_when_the_dashes_are_not_on_the_first_line() -> None:
    assert find_front_matter("\n---\ntitle: x\n---\n") is None
    assert find_front_matter("# Title\n\n---\n") is None


@given(
    value=st.one_of(
        st.text(),
        st.integers(),
        st.dates(),
        st.lists(st.text(), max_size=4),
        st.sampled_from(["yes", "No", "null", "~", "2103.03206", "- a", "a: b", "#x", "1e3"]),
    )
)
@settings(max_examples=300)
def test_every_property_we_write_reads_back_exactly(value: object) -> None:
    text = dump_property("title", value)
    assert yaml.safe_load(text) == {"title": value}
    front = find_front_matter(f"---\n{text}---\n")
    assert front is not None and front.data == {"title": value}


# -- front matter in the plain shapes is read without PyYAML, and reads the same ---------------

KEYS = ["title", "tags", "aliases", "my-key", "제목", "_x", "on", "Yes", "NULL", "2x", "a b", "k"]
TRICKY = [
    *["yes", "No", "off", "~", "null", "[]", "[a]", "{}", "0", "12", "012", "1_000", "1:20"],
    *["0x1F", "1e3", "3.14", ".inf", "-1", "+1", "2021-02-03", "2021-02-30", "2021-2-3"],
    *["2021-02-03 10:00", "https://arxiv.org/abs/1706.03762", "a: b", "a:", "a #b", "a#b"],
    *["'x'", "'it''s'", '"x"', '"a\\nb"', '"a"b"', '""', "''", "&a x", "*a", "!x y", "=", "<<"],
    *["Wei García", "논문 메모", "x ", " x", "a\tb", "a\u2028b", "a\x85b", "\ufeffx", "|", ">"],
    *["[a, b]", "[a,b]", "[a", "[", "[a, [b]]", "[a: b]", "[a:b]", "['a, b']", "[ ]", "[a, ]"],
    *["[1, 2021-02-03]", "[yes]", "['x', \"y\"]", "[a] b", "[a]]", "[a #b]", "[,]"],
]
PLAIN = ["Wei García", "논문 메모", "Attention Is All You Need", '"2103.03206"', "'x'", "7"]
PLAIN += ["[nlp, 정리]", "['1-1 with Niki (old)']", "[]"]
values = st.one_of(
    st.sampled_from(PLAIN),
    st.sampled_from(TRICKY),
    st.text(st.sampled_from("aZ가9 :#'\"-_./,[]{}&*!|>%@`?~=\\\t\x85\u2028"), max_size=8),
)
# Mostly lines of the plain shapes, so that whole texts often take the direct way.
lines = st.one_of(
    st.tuples(st.sampled_from(KEYS[:6]), st.just(": "), values).map("".join),
    st.tuples(st.sampled_from(KEYS[:6]), st.just(":")).map("".join),
    st.tuples(st.sampled_from(["", "  "]), st.just("- "), values).map("".join),
    st.tuples(st.sampled_from(KEYS), st.sampled_from([": ", ":", ":  "]), values).map("".join),
    st.tuples(st.sampled_from(["", "  ", "    ", " "]), st.just("- "), values).map("".join),
    st.sampled_from(["", "-", "# a comment", "  nested: 1", "key: |", "  folded", "---"]),
)


def same_values(a: object, b: object) -> bool:
    """Equal, and of the same types all the way down (True == 1, a date is not a datetime)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same_values(a[k], b[k]) for k in a)  # type: ignore[call-overload]
    if isinstance(a, list):
        return len(a) == len(b) and all(map(same_values, a, b))  # type: ignore[arg-type]
    return a == b


@settings(max_examples=1500, deadline=None)
@given(st.lists(lines, max_size=8), st.sampled_from(["\n", "\r\n", ""]))
def test_front_matter_read_directly_is_what_pyyaml_reads(body: list[str], end: str) -> None:
    from vaultpapers.markdown.properties import _read_simple

    text = "\n".join(body) + end
    simple = _read_simple(text)
    if simple is None:
        return  # left to PyYAML
    assert same_values(simple, yaml.load(text, Loader=yaml.CSafeLoader))


@pytest.mark.parametrize(
    "text",
    [
        "tags:\n- a\n  - b\n",  # the second line continues the first item: "a - b"
        "title: x \n",  # plain text loses its trailing space
        "title: x\r\n",
        "title: 'a\x85b'\n",  # NEL is a line break in YAML 1.1
        'title: "a\u2028b"\n',
        "title: 2021-02-30\n",
        "on: x\n",  # the key is True
    ],
)
def test_front_matter_yaml_could_read_otherwise_is_left_to_pyyaml(text: str) -> None:
    from vaultpapers.markdown.properties import _read_simple

    assert _read_simple(text) is None


def test_a_paper_note_front_matter_is_read_directly() -> None:
    from vaultpapers.markdown.properties import _read_simple, dump_properties

    written = dump_properties(
        {
            "vaultpapers": "paper",
            "arxiv_id": "1706.03762",
            "version": 7,
            "title": "Attention Is All You Need",
            "authors": ["Ashish Vaswani", "Łukasz Kaiser"],
            "published": dt.date(2017, 6, 12),
            "url": "https://arxiv.org/abs/1706.03762",
            "aliases": ["Attention Is All You Need"],
            "tags": ["arxiv/cs-CL", "paper"],
            "related": [],
        }
    )
    simple = _read_simple(written)
    assert simple is not None
    assert same_values(simple, yaml.safe_load(written))
