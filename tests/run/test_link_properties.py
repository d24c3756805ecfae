"""Properties of `link` on arbitrary Markdown: user notes only gain links; twice equals once."""

from __future__ import annotations

import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from reliability.harness import own_note_on_a_paper, without_our_additions
from vaultpapers.arxiv.cache import PaperCache
from vaultpapers.config import Settings
from vaultpapers.run.options import RunOptions
from vaultpapers.run.pipeline import run_link
from vaultpapers.run.sources import cache_path
from vaults import (
    MALDACENA,
    MIXER,
    PERCEIVER,
    PERCEIVER_IO,
    build_vault,
    is_only_insertions,
    snapshot,
)

CACHED = (PERCEIVER, PERCEIVER_IO, MIXER, MALDACENA)
IDS = ["2103.03206", "2107.14795v2", "2105.01601", "hep-th/9711200", "2301.00001"]
NEAR_MISSES = [
    "https://arxiv.org/abs/2006.162360",
    "arXiv:2013.01234",
    "2103.03206",
    "https://example.org/abs/2103.03206",
    "arxiv.org/list/cs.LG",
    "hep-th/97112",
    "mAP@0.5:0.95",
]


@st.composite
def reference(draw: st.DrawFn) -> str:
    arxiv_id = draw(st.sampled_from(IDS))
    form = draw(
        st.sampled_from(
            [
                "https://arxiv.org/abs/{}",
                "https://arxiv.org/pdf/{}",
                "https://arxiv.org/abs/{}.pdf",
                "http://export.arxiv.org/abs/{}?context=cs",
                "arXiv:{}",
                "({})가",
                "[paper](https://arxiv.org/abs/{})",
                "<https://arxiv.org/abs/{}>",
                "https://doi.org/10.48550/arXiv.{}",
                "| a | https://arxiv.org/abs/{} |",
            ]
        )
    )
    if form.startswith("(") and "/" not in arxiv_id:
        return f"(https://arxiv.org/abs/{arxiv_id})가"
    return form.format(arxiv_id)


FRAGMENTS = st.one_of(
    reference(),
    st.sampled_from(NEAR_MISSES),
    st.sampled_from(
        [
            " ",
            "\n",
            "\r\n",
            "\n\n",
            "```\n",
            "```python\n",
            "~~~\n",
            "`",
            "# Heading ",
            "- ",
            "> ",
            "|---|---|\n",
            "#review ",
            "#비전 ",
            "[[Some note]]",
            "[[Some note|alias]]",
            "논문을 읽었다. ",
            "Perceiver ",
            "$\\alpha$ ",
            "<!-- comment -->",
            "%% hidden %%",
            "**bold** ",
            "](",
            "[",
            ")",
        ]
    ),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=8),
)

FRONT_MATTER = st.sampled_from(
    [
        "",
        "---\ntitle: Notes\ntags: [review]\n---\n",
        '---\nlayout: post\ntitle: "A: b"\nlink: https://arxiv.org/abs/2103.03206\n---\n',
        "---\nbroken: [yaml\n---\n",
        "\ufeff---\ntitle: bom\n---\n",
    ]
)


@st.composite
def markdown_note(draw: st.DrawFn) -> str:
    return draw(FRONT_MATTER) + "".join(draw(st.lists(FRAGMENTS, max_size=40)))


def linked_vault(root: Path, notes: dict[str, str]) -> Path:
    vault = build_vault(root, {path: text.encode("utf-8") for path, text in notes.items()})
    cache_path(vault).parent.mkdir()
    with PaperCache(cache_path(vault)) as cache:
        cache.put_many(CACHED)
    return vault


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(notes=st.lists(markdown_note(), min_size=1, max_size=3))
# Found by hypothesis: the user's own note on a paper ending in blank lines of mixed endings.
@example(
    notes=['---\nlayout: post\ntitle: "A: b"\nlink: https://arxiv.org/abs/2103.03206\n---\n\n\r\n']
)
def test_user_notes_only_gain_links_and_a_second_run_changes_nothing(notes: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        files = {f"note {i}.md": text for i, text in enumerate(notes)}
        vault = linked_vault(Path(tmp) / "vault", files)
        run_link(vault, Settings(), RunOptions(offline=True))

        paper_notes = sorted((vault / "Papers").glob("*.md")) if (vault / "Papers").exists() else []
        # Paper notes did not exist before the run, so a link to one can only be ours; so is
        # a link to a user's own note on a paper.
        stems = [p.stem for p in paper_notes]
        stems += [Path(path).stem for path, text in files.items() if own_note_on_a_paper(text)]
        for path, old in files.items():
            new = (vault / path).read_bytes().decode("utf-8")
            assert is_only_insertions(old, new)
            assert without_our_additions(old, new, stems) == old
        for paper_note in paper_notes:
            text = paper_note.read_text(encoding="utf-8")
            assert isinstance(yaml.safe_load(text.split("---\n")[1]), dict)

        once = snapshot(vault)
        report = run_link(vault, Settings(), RunOptions(offline=True))
        assert not [r for r in report.results if r.outcome.value == "written"]
        assert snapshot(vault) == once
