"""arXiv identifiers: what parses, to which canonical key, and why the rest is rejected."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vaultpapers.arxiv.ids import OLD_STYLE_ARCHIVES, ArxivId, InvalidArxivId, parse_arxiv_id


@pytest.mark.parametrize(
    ("text", "key", "version"),
    [
        # New style, four digits (April 2007 to December 2014).
        ("0704.0001", "0704.0001", None),
        ("0706.1234", "0706.1234", None),
        ("1412.6980", "1412.6980", None),
        ("1412.6980v9", "1412.6980", 9),
        # New style, five digits (from January 2015).
        ("1501.00001", "1501.00001", None),
        ("1706.03762", "1706.03762", None),
        ("2103.03206", "2103.03206", None),
        ("2103.03206v2", "2103.03206", 2),
        ("2107.14795v12", "2107.14795", 12),
        # Decorations arXiv's own parser strips.
        ("arXiv:2103.03206", "2103.03206", None),
        ("ARXIV:2103.03206v1", "2103.03206", 1),
        ("arxiv: 2103.03206", "2103.03206", None),
        ("2105.01601.pdf", "2105.01601", None),
        ("2107.14795v2.pdf", "2107.14795", 2),
        ("2107.14795v2.PDF", "2107.14795", 2),
        ("hep-th/9711200.ps.gz", "hep-th/9711200", None),
        ("  2103.03206\n", "2103.03206", None),
        # Old style; the subject class is not part of the key.
        ("hep-th/9711200", "hep-th/9711200", None),
        ("hep-th/9711200v2", "hep-th/9711200", 2),
        ("hep-th/9108001", "hep-th/9108001", None),
        ("math.GT/0309136", "math/0309136", None),
        ("math.GT/0309136v1", "math/0309136", 1),
        ("cond-mat.mes-hall/0102536", "cond-mat/0102536", None),
        ("cs.AI/0001001", "cs/0001001", None),
        ("physics/0611001", "physics/0611001", None),
        ("quant-ph/0703999", "quant-ph/0703999", None),
        ("solv-int/9901001", "solv-int/9901001", None),
        ("HEP-TH/9711200", "hep-th/9711200", None),
        ("arXiv:astro-ph/0001001v3", "astro-ph/0001001", 3),
    ],
)
def test_valid_ids_parse_to_their_canonical_key_and_version(
    text: str, key: str, version: int | None
) -> None:
    assert parse_arxiv_id(text) == ArxivId(key, version)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (
            "2006.162360",
            "6 digits after the dot; new-style ids have 4 (0704-1412) or 5 (from 1501)",
        ),
        (
            "2103.0320",
            "4 digits after the dot; new-style ids have 4 (0704-1412) or 5 (from 1501)",
        ),
        (
            "1412.12345",
            "5 digits after the dot; new-style ids have 4 (0704-1412) or 5 (from 1501)",
        ),
        ("2013.01234", "month 13 does not exist (YYMM 2013)"),
        ("2100.01234", "month 00 does not exist (YYMM 2100)"),
        ("0612.1234", "new-style ids start at 0704 (April 2007); 0612 is earlier"),
        ("21030.3206", "5 digits before the dot; new-style ids start with 4 (YYMM)"),
        ("2103.00000", "sequence number 00000 does not exist"),
        ("2103.03206v0", "version v0 does not exist; versions start at v1"),
        ("2103.03206v01", "version v01 has a leading zero"),
        ("hep-th/0000000", "month 00 does not exist (YYMM 0000)"),
        ("hep-th/971120", "6 digits after the slash; old-style ids have 7 (YYMMNNN)"),
        ("hep-th/97112001", "8 digits after the slash; old-style ids have 7 (YYMMNNN)"),
        ("hep-th/8912001", "year 89 is outside the old scheme (1991 to March 2007)"),
        ("hep-th/9713001", "month 13 does not exist (YYMM 9713)"),
        ("hep-th/9711000", "sequence number 000 does not exist"),
        ("hep-th/0704001", "the old scheme ended in March 2007; 0704 needs a new-style id"),
        ("hep-th/9711200v0", "version v0 does not exist; versions start at v1"),
        ("images/9711200", "unknown arXiv archive 'images'"),
        (
            "cs.LG",
            "not shaped like an arXiv id (YYMM.NNNNN or archive/YYMMNNN, optionally "
            "followed by vN)",
        ),
        (
            "2103.03206abc",
            "not shaped like an arXiv id (YYMM.NNNNN or archive/YYMMNNN, "
            "optionally followed by vN)",
        ),
        ("", "empty identifier"),
        ("arXiv:", "empty identifier"),
    ],
)
def test_malformed_ids_are_rejected_with_a_reason(text: str, reason: str) -> None:
    with pytest.raises(InvalidArxivId) as raised:
        parse_arxiv_id(text)
    assert raised.value.text == text
    assert raised.value.reason == reason
    assert reason in str(raised.value)


def test_invalid_id_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        parse_arxiv_id("2006.162360")


@pytest.mark.parametrize(
    ("arxiv_id", "versioned", "filename_part"),
    [
        (ArxivId("2103.03206"), "2103.03206", "2103.03206"),
        (ArxivId("2103.03206", 2), "2103.03206v2", "2103.03206"),
        (ArxivId("hep-th/9711200", 2), "hep-th/9711200v2", "hep-th_9711200"),
        (ArxivId("math/0309136"), "math/0309136", "math_0309136"),
    ],
)
def test_versioned_form_and_file_name_part(
    arxiv_id: ArxivId, versioned: str, filename_part: str
) -> None:
    assert arxiv_id.versioned == versioned
    assert str(arxiv_id) == versioned
    assert arxiv_id.filename_part == filename_part


def test_ids_sort_by_key_then_version_with_unversioned_first() -> None:
    ids = [
        ArxivId("2103.03206", 2),
        ArxivId("1706.03762"),
        ArxivId("2103.03206"),
        ArxivId("2103.03206", 1),
    ]
    assert sorted(ids) == [
        ArxivId("1706.03762"),
        ArxivId("2103.03206"),
        ArxivId("2103.03206", 1),
        ArxivId("2103.03206", 2),
    ]


def test_ids_are_hashable_values() -> None:
    assert {parse_arxiv_id("arXiv:2103.03206"), parse_arxiv_id("2103.03206.pdf")} == {
        ArxivId("2103.03206")
    }
    assert parse_arxiv_id("2103.03206v2").unversioned() == ArxivId("2103.03206")
    with pytest.raises(AttributeError):
        parse_arxiv_id("2103.03206").key = "1706.03762"  # type: ignore[misc]


_NEW_STYLE_IDS = st.builds(
    lambda year, month, number, version: (
        f"{year:02d}{month:02d}."
        + (f"{number % 10_000 or 1:04d}" if year * 100 + month <= 1412 else f"{number or 1:05d}")
        + ("" if version is None else f"v{version}")
    ),
    st.integers(7, 99),
    st.integers(1, 12),
    st.integers(0, 99_999),
    st.none() | st.integers(1, 99),
).filter(lambda text: text[:4] >= "0704" and not "1412" < text[:4] < "1501")

_OLD_STYLE_IDS = st.builds(
    lambda archive, year, month, number, version: (
        f"{archive}/{year:02d}{month:02d}{number:03d}" + ("" if version is None else f"v{version}")
    ),
    st.sampled_from(sorted(OLD_STYLE_ARCHIVES)),
    st.sampled_from([*range(91, 100), *range(0, 7)]),
    st.integers(1, 12),
    st.integers(1, 999),
    st.none() | st.integers(1, 99),
)


@given(_NEW_STYLE_IDS | _OLD_STYLE_IDS)
def test_every_well_formed_id_round_trips(text: str) -> None:
    parsed = parse_arxiv_id(text)
    assert parsed.versioned == text
    assert parse_arxiv_id(parsed.versioned) == parsed
    assert not set(parsed.filename_part) & set('\\/:*?"<>|#^[]')
