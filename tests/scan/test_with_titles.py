"""A first run scans its notes before it knows any title, then adds the titles it learned to
those scans (`with_titles`) rather than scanning every note again: the result must be the
scan a run knowing the titles makes."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from factories import make_paper
from vaultpapers.markdown.titles import TitleIndex
from vaultpapers.model import FileState, Note
from vaultpapers.scan.note import scan_from_row, scan_note, scan_to_row, with_titles

PAPERS = (
    make_paper(
        "1512.03385", "Deep Residual Learning for Image Recognition", published="2015-12-10"
    ),
    make_paper("2006.11239", "Denoising Diffusion Probabilistic Models", published="2020-06-19"),
    make_paper("2010.02502", "Denoising Diffusion Implicit Models", published="2020-10-06"),
    make_paper("2005.14165", "Language Models are Few-Shot Learners", published="2020-05-28"),
    make_paper("2002.99999", "Contrastive Learning", published="2020-02-01"),
)
INDEX = TitleIndex.of((p.arxiv_id, p.title, p.published.year) for p in PAPERS)
_PIECES = st.sampled_from(
    [
        *(p.title for p in PAPERS),
        "Denoising Difusion Implicit Models",  # a near miss
        "Training Compute-Optimal Large Language Models (2022)",  # a title to look up
        "Deep Residual Learning",
        "(2015)",
        "https://arxiv.org/abs/2006.11239",
        "arXiv:2006.112399",  # not an id: a problem on its line
        "[paper](https://arxiv.org/abs/1512.03385)",
        "[[Deep Residual Learning for Image Recognition (1512.03385)|He 2015]]",
        "learning",
        "the",
        "\n",
        "\n- ",
        "\n## ",
        "```\n",
        "`",
        "[",
        "](",
        ")",
        ": ",
        "#tag",
        "<!-- vaultpapers:begin related -->",
        "<!-- vaultpapers:end related -->",
    ]
)
_FRONT = st.sampled_from(
    [
        "",
        "---\ntags: [a]\n---\n",
        "---\nsource: https://arxiv.org/abs/2005.14165\n---\n",
        "---\nvaultpapers: paper\narxiv_id: 12\n---\n",
        "---\nvaultpapers: false\nurl: https://arxiv.org/abs/2005.14165\n---\n",
        "---\nbroken: [\n---\n",
    ]
)


def note_of(text: str) -> Note:
    return Note("n.md", text, False, FileState(1, len(text), "d"), "1:1:1:1")


@settings(max_examples=300, deadline=None)
@given(front=_FRONT, pieces=st.lists(_PIECES, max_size=25))
def test_titles_added_to_a_scan_are_the_scan_made_knowing_them(
    front: str, pieces: list[str]
) -> None:
    text = front + " ".join(pieces) + "\n"
    full = scan_note(note_of(text), titles=INDEX)
    without = scan_note(note_of(text))
    # As a first run has it: the scan kept as a row, decoded, then given the titles.
    kept = scan_from_row("n.md", "1:1:1:1", scan_to_row(without))
    for earlier in (without, kept):
        added = with_titles(earlier, text, INDEX)
        if added is None:  # front matter not read: such a note is scanned anew
            assert any(p.code == "front-matter-invalid" for p in full.problems)
            continue
        assert scan_to_row(added) == scan_to_row(full)
        assert added.references == full.references


def test_a_scan_already_matched_against_titles_is_scanned_anew() -> None:
    text = "- Denoising Diffusion Probabilistic Models (2020)\n"
    assert with_titles(scan_note(note_of(text), titles=INDEX), text, INDEX) is None
