"""Finding arXiv references in notes, and where a link to the paper note may go.

In the notes below ``‸`` marks where a link may be inserted (``insert_at``). It is removed before
the note is scanned.
"""

from __future__ import annotations

import time
from typing import NamedTuple

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from vaultpapers.arxiv.ids import ArxivId
from vaultpapers.markdown.references import (
    _REFERENCE,
    InvalidReference,
    ReferenceScan,
    _reference_matches,
    find_references,
)
from vaultpapers.markdown.spans import (
    code_spans,
    front_matter_span,
    html_block_spans,
    link_constructs,
    strictly_inside,
    wikilink_spans,
)

CARET = "‸"


class Ref(NamedTuple):
    versioned: str
    written: str
    line: int
    insertable: bool = True


def scan_marked(marked: str) -> tuple[str, list[int], ReferenceScan]:
    text = marked.replace(CARET, "")
    carets = [index - number for number, index in enumerate(_caret_indexes(marked))]
    return text, carets, find_references(text)


def _caret_indexes(marked: str) -> list[int]:
    return [index for index, char in enumerate(marked) if char == CARET]


def check(marked: str, expected: list[Ref]) -> ReferenceScan:
    text, carets, scan = scan_marked(marked)
    found = [
        Ref(r.arxiv_id.versioned, text[r.start : r.end], r.line, r.insert_at is not None)
        for r in scan.references
    ]
    assert found == expected
    assert [r.insert_at for r in scan.references if r.insert_at is not None] == carets
    return scan


# --- every form users paste --------------------------------------------------------------------

URL_FORMS = [
    (
        "Perceiver https://arxiv.org/abs/2103.03206‸ generalizes attention.",
        [Ref("2103.03206", "https://arxiv.org/abs/2103.03206", 1)],
    ),
    (
        "퍼시버(https://arxiv.org/abs/2105.01601‸)가 제안되었다.",
        [Ref("2105.01601", "https://arxiv.org/abs/2105.01601", 1)],
    ),
    (
        "MLP-Mixer 논문 https://arxiv.org/abs/2105.01601‸를 읽었다.",
        [Ref("2105.01601", "https://arxiv.org/abs/2105.01601", 1)],
    ),
    (
        "PDF: https://arxiv.org/abs/2105.01601.pdf‸.",
        [Ref("2105.01601", "https://arxiv.org/abs/2105.01601.pdf", 1)],
    ),
    (
        "https://arxiv.org/pdf/2107.14795v2‸",
        [Ref("2107.14795v2", "https://arxiv.org/pdf/2107.14795v2", 1)],
    ),
    (
        "download https://arxiv.org/pdf/2107.14795v2.pdf‸ first",
        [Ref("2107.14795v2", "https://arxiv.org/pdf/2107.14795v2.pdf", 1)],
    ),
    (
        "http://www.arxiv.org/abs/1706.03762v5‸ or https://export.arxiv.org/abs/1706.03762‸",
        [
            Ref("1706.03762v5", "http://www.arxiv.org/abs/1706.03762v5", 1),
            Ref("1706.03762", "https://export.arxiv.org/abs/1706.03762", 1),
        ],
    ),
    (
        "Section 3: https://arxiv.org/html/2403.09611v1#S3‸",
        [Ref("2403.09611v1", "https://arxiv.org/html/2403.09611v1#S3", 1)],
    ),
    (
        "https://arxiv.org/abs/2103.03206?context=cs#x‸, then more",
        [Ref("2103.03206", "https://arxiv.org/abs/2103.03206?context=cs#x", 1)],
    ),
    (
        "https://arxiv.org/ps/hep-th/9711200v2‸ and https://arxiv.org/format/2103.03206‸",
        [
            Ref("hep-th/9711200v2", "https://arxiv.org/ps/hep-th/9711200v2", 1),
            Ref("2103.03206", "https://arxiv.org/format/2103.03206", 1),
        ],
    ),
    (
        "https://arxiv.org/abs/math.GT/0309136‸",
        [Ref("math/0309136", "https://arxiv.org/abs/math.GT/0309136", 1)],
    ),
    (
        "https://doi.org/10.48550/arXiv.2103.03206‸ https://dx.doi.org/10.48550/ARXIV.1706.03762‸",
        [
            Ref("2103.03206", "https://doi.org/10.48550/arXiv.2103.03206", 1),
            Ref("1706.03762", "https://dx.doi.org/10.48550/ARXIV.1706.03762", 1),
        ],
    ),
    (
        "https://www.alphaxiv.org/abs/2103.03206‸ and https://huggingface.co/papers/2103.03206‸",
        [
            Ref("2103.03206", "https://www.alphaxiv.org/abs/2103.03206", 1),
            Ref("2103.03206", "https://huggingface.co/papers/2103.03206", 1),
        ],
    ),
    (
        "https://ar5iv.org/abs/1706.03762‸ or https://ar5iv.labs.arxiv.org/html/1706.03762‸",
        [
            Ref("1706.03762", "https://ar5iv.org/abs/1706.03762", 1),
            Ref("1706.03762", "https://ar5iv.labs.arxiv.org/html/1706.03762", 1),
        ],
    ),
    (
        "without scheme: arxiv.org/abs/2103.03206‸.",
        [Ref("2103.03206", "arxiv.org/abs/2103.03206", 1)],
    ),
    (
        "code https://github.com/x/y https://arxiv.org/abs/2103.03206‸ https://paperswithcode.com",
        [Ref("2103.03206", "https://arxiv.org/abs/2103.03206", 1)],
    ),
    (
        "(see https://arxiv.org/abs/2103.03206v2‸). And https://arxiv.org/abs/1706.03762‸;",
        [
            Ref("2103.03206v2", "https://arxiv.org/abs/2103.03206v2", 1),
            Ref("1706.03762", "https://arxiv.org/abs/1706.03762", 1),
        ],
    ),
    (
        "**https://arxiv.org/abs/2103.03206‸** and _https://arxiv.org/abs/1706.03762‸_",
        [
            Ref("2103.03206", "https://arxiv.org/abs/2103.03206", 1),
            Ref("1706.03762", "https://arxiv.org/abs/1706.03762", 1),
        ],
    ),
    (
        "archived https://web.archive.org/web/2021/https://arxiv.org/abs/2103.03206‸ copy",
        [Ref("2103.03206", "https://arxiv.org/abs/2103.03206", 1)],
    ),
    (
        "https://en.wikipedia.org/wiki/Perceiver_(arXiv:2103.03206)‸ is a made-up page",
        [Ref("2103.03206", "arXiv:2103.03206", 1)],
    ),
]

PREFIXED_FORMS = [
    ("Attention arXiv:1706.03762‸.", [Ref("1706.03762", "arXiv:1706.03762", 1)]),
    ("arxiv: 1706.03762‸ with one space", [Ref("1706.03762", "arxiv: 1706.03762", 1)]),
    ("ARXIV:1706.03762v7‸", [Ref("1706.03762v7", "ARXIV:1706.03762v7", 1)]),
    (
        "arXiv:2106.12345v2‸ [cs.CV] 23 Jun 2021",
        [Ref("2106.12345v2", "arXiv:2106.12345v2", 1)],
    ),
    ("(arXiv:hep-th/9711200‸)", [Ref("hep-th/9711200", "arXiv:hep-th/9711200", 1)]),
    (
        "journal = {arXiv preprint arXiv:2103.03206‸},",
        [Ref("2103.03206", "arXiv:2103.03206", 1)],
    ),
    (
        "doi:10.48550/arXiv.2103.03206‸ in BibTeX",
        [Ref("2103.03206", "10.48550/arXiv.2103.03206", 1)],
    ),
    (
        "searched https://scholar.google.com/scholar?q=arXiv:2103.03206&hl=en‸.",
        [Ref("2103.03206", "arXiv:2103.03206", 1)],
    ),
]

OLD_STYLE_FORMS = [
    ("Maldacena hep-th/9711200‸ started it.", [Ref("hep-th/9711200", "hep-th/9711200", 1)]),
    ("Perelman math.GT/0309136v1‸", [Ref("math/0309136v1", "math.GT/0309136v1", 1)]),
    ("(cond-mat/0102536‸)", [Ref("cond-mat/0102536", "cond-mat/0102536", 1)]),
    (
        "_hep-th/9711200‸_ 논문hep-ph/9905221‸를",
        [
            Ref("hep-th/9711200", "hep-th/9711200", 1),
            Ref("hep-ph/9905221", "hep-ph/9905221", 1),
        ],
    ),
    ("https://example.com/hep-th/9711200 is a path", []),
    ("xhep-th/9711200 is glued to a word", []),
    ("hep-th/97112001 has too many digits", []),
    ("hep-th/9713200 has month 13 and is not a reference", []),
    ("images/9711200 is no archive", []),
]

MARKDOWN_CONTEXTS = [
    (
        "- [Perceiver](https://arxiv.org/abs/2103.03206)‸ reads images.",
        [Ref("2103.03206", "https://arxiv.org/abs/2103.03206", 1)],
    ),
    (
        "[arXiv:2103.03206](https://arxiv.org/abs/2103.03206v2)‸",
        [Ref("2103.03206", "arXiv:2103.03206", 1)],
    ),
    (
        "[Perceiver, arXiv:2103.03206](https://deepmind.com/perceiver)‸",
        [Ref("2103.03206", "arXiv:2103.03206", 1)],
    ),
    (
        '[P](https://arxiv.org/abs/2103.03206 "Perceiver (arXiv:2103.03206)")‸',
        [Ref("2103.03206", "https://arxiv.org/abs/2103.03206", 1)],
    ),
    (
        "[![arXiv](https://img.shields.io/badge/arXiv-2103.03206-red)]"
        "(https://arxiv.org/abs/2103.03206)‸",
        [Ref("2103.03206", "https://arxiv.org/abs/2103.03206", 1)],
    ),
    (
        "<https://arxiv.org/abs/2103.03206>‸ in angle brackets",
        [Ref("2103.03206", "https://arxiv.org/abs/2103.03206", 1)],
    ),
    (
        "[Perceiver][1] is great.\n\n[1]: https://arxiv.org/abs/2103.03206",
        [Ref("2103.03206", "https://arxiv.org/abs/2103.03206", 3, insertable=False)],
    ),
    (
        '<a href="https://arxiv.org/abs/2103.03206">Perceiver</a>',
        [Ref("2103.03206", "https://arxiv.org/abs/2103.03206", 1, insertable=False)],
    ),
    (
        "[Perceiver arXiv:2103.03206][p] and [p]\n\n[p]: https://deepmind.com",
        [Ref("2103.03206", "arXiv:2103.03206", 1, insertable=False)],
    ),
    (
        "## Perceiver (arXiv:2103.03206)\n> quoted: https://arxiv.org/abs/1706.03762‸",
        [
            Ref("2103.03206", "arXiv:2103.03206", 1, insertable=False),
            Ref("1706.03762", "https://arxiv.org/abs/1706.03762", 2),
        ],
    ),
    (
        "See `code` then arXiv:2103.03206‸ and %% hidden %% https://arxiv.org/abs/1706.03762‸",
        [
            Ref("2103.03206", "arXiv:2103.03206", 1),
            Ref("1706.03762", "https://arxiv.org/abs/1706.03762", 1),
        ],
    ),
    (
        "https://arxiv.org/abs/2103.03206‸%% a comment glued to the URL %%",
        [Ref("2103.03206", "https://arxiv.org/abs/2103.03206", 1)],
    ),
]


# Seen in public notes and paper lists (quoted lines, with where they came from):
# haoyangliu123/awesome-deepseek-r1 README.md, "[[Paper]](https://arxiv.org/abs/1707.06347)";
# awesome lists and project READMEs, "[[arXiv]](…) [[pdf]](….pdf)", "[[arXiv:2010.03509]](…)."
NEW_FORMS = [
    (
        "https://browse.arxiv.org/pdf/1611.03530.pdf‸ on generalization",
        [Ref("1611.03530", "https://browse.arxiv.org/pdf/1611.03530.pdf", 1)],
    ),
    (
        "https://www.arxiv-vanity.com/papers/2102.07350/‸ and the /#S4 anchor: "
        "https://www.arxiv-vanity.com/papers/1905.13189/#S4‸",
        [
            Ref("2102.07350", "https://www.arxiv-vanity.com/papers/2102.07350/", 1),
            Ref("1905.13189", "https://www.arxiv-vanity.com/papers/1905.13189/#S4", 1),
        ],
    ),
    (
        "    - [RNN Transducer (RNN-T)](https://www.arxiv-vanity.com/papers/1911.01629/)‸",
        [Ref("1911.01629", "https://www.arxiv-vanity.com/papers/1911.01629/", 1)],
    ),
    (
        "[XL-NET](https://papers.cool/arxiv/1906.08237)‸、[ELECTRA](https://papers.cool/arxiv/2003.10555)‸",
        [
            Ref("1906.08237", "https://papers.cool/arxiv/1906.08237", 1),
            Ref("2003.10555", "https://papers.cool/arxiv/2003.10555", 1),
        ],
    ),
    (
        "ref: NExT-QA | https://www.semanticscholar.org/arxiv/2105.08276‸",
        [Ref("2105.08276", "https://www.semanticscholar.org/arxiv/2105.08276", 1)],
    ),
    (
        "The paper arXiv 2402.17152‸ and (arXiv 2103.03206v2‸).",
        [
            Ref("2402.17152", "arXiv 2402.17152", 1),
            Ref("2103.03206v2", "arXiv 2103.03206v2", 1),
        ],
    ),
    (
        "论文：[arXiv 2604.02547](https://ar5iv.labs.arxiv.org/html/2604.02547)‸ — 2026",
        [Ref("2604.02547", "arXiv 2604.02547", 1)],
    ),
    (
        "- arXiv：2603.19220‸（v1 2026-03-19，v2 2026-03-22）",
        [Ref("2603.19220", "arXiv：2603.19220", 1)],
    ),
    (
        "**arXiv:** 2511.07399‸\n**arXiv**: 2309.03943‸ (v1 2023-09-07)\n**arXiv：** 2602.22983‸",
        [
            Ref("2511.07399", "arXiv:** 2511.07399", 1),
            Ref("2309.03943", "arXiv**: 2309.03943", 2),
            Ref("2602.22983", "arXiv：** 2602.22983", 3),
        ],
    ),
]

BUTTON_LINKS = [
    (
        "- Proximal Policy Optimization Algorithms [[Paper]](https://arxiv.org/abs/1707.06347)‸",
        [Ref("1707.06347", "https://arxiv.org/abs/1707.06347", 1)],
    ),
    (
        "[[arXiv]](https://arxiv.org/abs/2204.03067)‸ [[pdf]](https://arxiv.org/pdf/2204.03067.pdf)‸",
        [
            Ref("2204.03067", "https://arxiv.org/abs/2204.03067", 1),
            Ref("2204.03067", "https://arxiv.org/pdf/2204.03067.pdf", 1),
        ],
    ),
    (
        "Markov processes. [[arXiv:2010.03509]](https://arxiv.org/abs/2010.03509)‸.",
        [Ref("2010.03509", "arXiv:2010.03509", 1)],
    ),
    (
        "[[Paper]](https://arxiv.org/abs/1707.06347)‸[[Code]](https://github.com/openai/baselines)",
        [Ref("1707.06347", "https://arxiv.org/abs/1707.06347", 1)],
    ),
    # cmhungsteve/Awesome-Transformer-Attention README.md: the brackets around the link are
    # text; the link goes after them.
    (
        "(*Nanjing University*). [[Paper](https://arxiv.org/abs/2106.13797)]‸"
        "[[PyTorch](https://github.com/whai362/PVT)]",
        [Ref("2106.13797", "https://arxiv.org/abs/2106.13797", 1)],
    ),
    (
        "| PPO | [[arXiv]](https://arxiv.org/abs/1707.06347)‸ |\n|---|---|\n",
        [Ref("1707.06347", "https://arxiv.org/abs/1707.06347", 1)],
    ),
    (
        "![[fig]](https://arxiv.org/html/1707.06347v2/x1.png)‸",
        [Ref("1707.06347v2", "https://arxiv.org/html/1707.06347v2/x1.png", 1)],
    ),
    (
        '[[Paper]](https://arxiv.org/abs/1707.06347 "PPO")‸ and [[Note]] (https://arxiv.org/abs/2103.03206‸)',
        [
            Ref("1707.06347", "https://arxiv.org/abs/1707.06347", 1),
            Ref("2103.03206", "https://arxiv.org/abs/2103.03206", 1),
        ],
    ),
    # A link inserted right before '(' could become '[[…]](…)', one Markdown link: none goes there.
    (
        "arXiv:1707.06347(v2), arXiv:1706.03762(Vaswani et al.) and arXiv:2103.03206‸ (2021)",
        [
            Ref("1707.06347", "arXiv:1707.06347", 1, insertable=False),
            Ref("1706.03762", "arXiv:1706.03762", 1, insertable=False),
            Ref("2103.03206", "arXiv:2103.03206", 1),
        ],
    ),
]

# A backslash before a bracket, a ']' that closes no bracket, a link inside a link: CommonMark
# reads no link there, but a reader that ignores escapes, or pairs brackets its own way, does;
# and the user wrote the shape of one. The parentheses after a ']' are kept whole whatever the
# brackets before them say: a link goes after the ')', or, right before a '(', nowhere.
ESCAPED_AND_STRAY_BRACKETS = [
    # Found by the reliability property test (hypothesis): the link went inside the '(...)'.
    (
        "\\[[Paper]](https://arxiv.org/abs/1501.00001)‸",
        [Ref("1501.00001", "https://arxiv.org/abs/1501.00001", 1)],
    ),
    (
        '\\[[Paper]](https://arxiv.org/abs/1501.00001 "PPO")‸ and more',
        [Ref("1501.00001", "https://arxiv.org/abs/1501.00001", 1)],
    ),
    (
        "\\[[[Paper]](https://arxiv.org/abs/1501.00001)‸",
        [Ref("1501.00001", "https://arxiv.org/abs/1501.00001", 1)],
    ),
    (
        "\\\\[[Paper]](https://arxiv.org/abs/1501.00001)‸",  # an escaped backslash: a real button
        [Ref("1501.00001", "https://arxiv.org/abs/1501.00001", 1)],
    ),
    (
        "[\\[x](https://arxiv.org/abs/1501.00001)‸",
        [Ref("1501.00001", "https://arxiv.org/abs/1501.00001", 1)],
    ),
    (
        "\\[\\[Paper]](https://arxiv.org/abs/1501.00001)‸",
        [Ref("1501.00001", "https://arxiv.org/abs/1501.00001", 1)],
    ),
    (
        "\\[x](https://arxiv.org/abs/1501.00001)‸ and [x\\](https://arxiv.org/abs/1501.00002)‸",
        [
            Ref("1501.00001", "https://arxiv.org/abs/1501.00001", 1),
            Ref("1501.00002", "https://arxiv.org/abs/1501.00002", 1),
        ],
    ),
    (
        "\\<https://arxiv.org/abs/1501.00001>‸",
        [Ref("1501.00001", "https://arxiv.org/abs/1501.00001", 1)],
    ),
    (
        "[x]](https://arxiv.org/abs/1501.00001)‸ and ](https://arxiv.org/abs/1501.00002)‸",
        [
            Ref("1501.00001", "https://arxiv.org/abs/1501.00001", 1),
            Ref("1501.00002", "https://arxiv.org/abs/1501.00002", 1),
        ],
    ),
    (
        "[a [b](u)](https://arxiv.org/abs/1501.00001)‸",
        [Ref("1501.00001", "https://arxiv.org/abs/1501.00001", 1)],
    ),
    # '[x](url)' is a link when 'x' is undefined, '[a][x]' one when it is defined: either way
    # the two overlap, and no link goes inside or after them.
    (
        "[a][x](https://arxiv.org/abs/1501.00001) and [\\\\][x](https://arxiv.org/abs/1501.00002)",
        [
            Ref("1501.00001", "https://arxiv.org/abs/1501.00001", 1, insertable=False),
            Ref("1501.00002", "https://arxiv.org/abs/1501.00002", 1, insertable=False),
        ],
    ),
    (
        "\\[[Paper]](https://arxiv.org/abs/1501.00001)(v2)",
        [Ref("1501.00001", "https://arxiv.org/abs/1501.00001", 1, insertable=False)],
    ),
    # Escaped brackets that look like no link change nothing.
    (
        "\\[1\\] https://arxiv.org/abs/1501.00001‸ and \\[arXiv:1501.00002‸\\]",
        [
            Ref("1501.00001", "https://arxiv.org/abs/1501.00001", 1),
            Ref("1501.00002", "arXiv:1501.00002", 1),
        ],
    ),
    (
        "(see \\[2\\], https://arxiv.org/abs/1501.00001‸)",
        [Ref("1501.00001", "https://arxiv.org/abs/1501.00001", 1)],
    ),
]

# Dataview reads these values (github.com/blacksmithgu/obsidian-dataview, inline-field.ts):
# a link inserted there would change them. Lines seen in public vaults: "source:: https://arxiv.org/
# abs/2310.03714", "**links**:: https://arxiv.org/abs/2311.16867", "  - sources:: https://…, https://…".
DATAVIEW_FIELDS = [
    (
        "source:: https://arxiv.org/abs/2310.03714\ningested:: [[2026-07-08]]\n\n"
        "DSPy https://arxiv.org/abs/2310.03714‸ compiles prompts.",
        [
            Ref("2310.03714", "https://arxiv.org/abs/2310.03714", 1, insertable=False),
            Ref("2310.03714", "https://arxiv.org/abs/2310.03714", 4),
        ],
    ),
    (
        "**pertinence**:: 8\n**links**:: https://arxiv.org/abs/2311.16867\n",
        [Ref("2311.16867", "https://arxiv.org/abs/2311.16867", 2, insertable=False)],
    ),
    (
        "- ### Provenance\n  - sources:: https://arxiv.org/abs/2308.08155, arXiv:2308.00352\n"
        "    continued https://arxiv.org/abs/2307.07924\n- next https://arxiv.org/abs/2105.01601‸",
        [
            Ref("2308.08155", "https://arxiv.org/abs/2308.08155", 2, insertable=False),
            Ref("2308.00352", "arXiv:2308.00352", 2, insertable=False),
            Ref("2307.07924", "https://arxiv.org/abs/2307.07924", 3, insertable=False),
            Ref("2105.01601", "https://arxiv.org/abs/2105.01601", 4),
        ],
    ),
    (
        "Paper key-name:: arXiv:2103.03206\n> source:: https://arxiv.org/abs/1706.03762\n",
        [
            Ref("2103.03206", "arXiv:2103.03206", 1, insertable=False),
            Ref("1706.03762", "https://arxiv.org/abs/1706.03762", 2, insertable=False),
        ],
    ),
    (
        "Read [source:: https://arxiv.org/abs/2310.03714] then (via:: arXiv:2103.03206) "
        "and arXiv:1706.03762‸ [rating:: 5]",
        [
            Ref("2310.03714", "https://arxiv.org/abs/2310.03714", 1, insertable=False),
            Ref("2103.03206", "arXiv:2103.03206", 1, insertable=False),
            Ref("1706.03762", "arXiv:1706.03762", 1),
        ],
    ),
    # '::' that Dataview does not read as a field: a key with '.', '+', ':' or ',' in it, a
    # task (no full-line fields), a URL's single colon.
    (
        "In C++, e.g. std::vector holds https://arxiv.org/abs/2103.03206‸\n"
        "Note: see std::map and arXiv:1706.03762‸\n"
        "- [ ] read:: https://arxiv.org/abs/2105.01601‸\n",
        [
            Ref("2103.03206", "https://arxiv.org/abs/2103.03206", 1),
            Ref("1706.03762", "arXiv:1706.03762", 2),
            Ref("2105.01601", "https://arxiv.org/abs/2105.01601", 3),
        ],
    ),
    # Dataview does read 'std::vector' opening a line as a field named 'std'.
    (
        "std::vector of https://arxiv.org/abs/2103.03206\n",
        [Ref("2103.03206", "https://arxiv.org/abs/2103.03206", 1, insertable=False)],
    ),
]

HTML_BLOCKS = [
    (
        '<div>\n<a href="https://arxiv.org/abs/2508.03782">arXiv: 2508.03782v1</a>\n</div>\n\n'
        "After the block https://arxiv.org/abs/2508.03782‸",
        [
            Ref("2508.03782", "https://arxiv.org/abs/2508.03782", 2, insertable=False),
            Ref("2508.03782v1", "arXiv: 2508.03782v1", 2, insertable=False),
            Ref("2508.03782", "https://arxiv.org/abs/2508.03782", 5),
        ],
    ),
    (
        "<details>\n<summary>arXiv:2103.03206</summary>\n\nMarkdown again: arXiv:2103.03206‸\n"
        "\n</details>",
        [
            Ref("2103.03206", "arXiv:2103.03206", 2, insertable=False),
            Ref("2103.03206", "arXiv:2103.03206", 4),
        ],
    ),
    (
        "<pre>\narXiv:2103.03206\n\narXiv:1706.03762\n</pre> arXiv:2105.01601\narXiv:2107.14795‸",
        [
            Ref("2103.03206", "arXiv:2103.03206", 2, insertable=False),
            Ref("1706.03762", "arXiv:1706.03762", 4, insertable=False),
            Ref("2105.01601", "arXiv:2105.01601", 5, insertable=False),
            Ref("2107.14795", "arXiv:2107.14795", 6),
        ],
    ),
    (
        "<!-- note --> https://arxiv.org/abs/2103.03206\n<?php arXiv:1706.03762 ?>\n"
        "<![CDATA[ arXiv:2105.01601 ]]>\n<!DOCTYPE html> arXiv:2107.14795\nok arXiv:1906.06819‸",
        [
            Ref("2103.03206", "https://arxiv.org/abs/2103.03206", 1, insertable=False),
            Ref("1706.03762", "arXiv:1706.03762", 2, insertable=False),
            Ref("2105.01601", "arXiv:2105.01601", 3, insertable=False),
            Ref("2107.14795", "arXiv:2107.14795", 4, insertable=False),
            Ref("1906.06819", "arXiv:1906.06819", 5),
        ],
    ),
    (
        "> <table><tr><td>\n> arXiv:2103.03206\n>\n> arXiv:1706.03762‸\n\n"
        "- <div>\n  arXiv:2105.01601\n  </div>",
        [
            Ref("2103.03206", "arXiv:2103.03206", 2, insertable=False),
            Ref("1706.03762", "arXiv:1706.03762", 4),
            Ref("2105.01601", "arXiv:2105.01601", 7, insertable=False),
        ],
    ),
    # A line holding only a tag opens a block after a blank line, but cannot interrupt a paragraph.
    (
        "See arXiv:2103.03206‸\n<span>\nand arXiv:1706.03762‸\n\n<span>\narXiv:2105.01601\n",
        [
            Ref("2103.03206", "arXiv:2103.03206", 1),
            Ref("1706.03762", "arXiv:1706.03762", 3),
            Ref("2105.01601", "arXiv:2105.01601", 6, insertable=False),
        ],
    ),
    # Text inside an inline <a> element is a link's already: a link there would nest in it.
    (
        'See <a href="https://arxiv.org/abs/2508.03782">arXiv: 2508.03782v1</a> for details',
        [
            Ref("2508.03782", "https://arxiv.org/abs/2508.03782", 1, insertable=False),
            Ref("2508.03782v1", "arXiv: 2508.03782v1", 1, insertable=False),
        ],
    ),
    # Inline HTML in a paragraph is no block: Markdown is rendered around and inside it.
    (
        "Text <span>arXiv:2103.03206‸</span> and <b>https://arxiv.org/abs/1706.03762‸</b>",
        [
            Ref("2103.03206", "arXiv:2103.03206", 1),
            Ref("1706.03762", "https://arxiv.org/abs/1706.03762", 1),
        ],
    ),
]

# '#bib.bibN' on a paper's HTML page is entry N of its bibliography: some other paper.
BIBLIOGRAPHY_ENTRIES = [
    ("https://ar5iv.labs.arxiv.org/html/1708.02551#bib.bib39", []),
    (
        "diffusion models [[16](https://arxiv.org/html/2503.08122v1#bib.bib16), "
        "[18](https://arxiv.org/html/2503.08122v1#bib.bib18)]",
        [],
    ),
    (
        "https://ar5iv.labs.arxiv.org/html/1708.02551#S3‸ and "
        "https://arxiv.org/html/2403.09611v1#S2.F1‸ and https://ar5iv.org/html/1708.02551#bib‸",
        [
            Ref("1708.02551", "https://ar5iv.labs.arxiv.org/html/1708.02551#S3", 1),
            Ref("2403.09611v1", "https://arxiv.org/html/2403.09611v1#S2.F1", 1),
            Ref("1708.02551", "https://ar5iv.org/html/1708.02551#bib", 1),
        ],
    ),
]


@pytest.mark.parametrize(
    ("marked", "expected"),
    URL_FORMS
    + PREFIXED_FORMS
    + OLD_STYLE_FORMS
    + MARKDOWN_CONTEXTS
    + NEW_FORMS
    + BUTTON_LINKS
    + ESCAPED_AND_STRAY_BRACKETS
    + DATAVIEW_FIELDS
    + HTML_BLOCKS
    + BIBLIOGRAPHY_ENTRIES,
)
def test_references_and_insertion_points(marked: str, expected: list[Ref]) -> None:
    check(marked, expected)


# --- what is not a reference -------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "```python\nurl = 'https://arxiv.org/abs/2103.03206'\n```",
        "~~~\narXiv:1706.03762\n~~~",
        "- item\n    ```\n    arXiv:1706.03762\n    ```",
        "> ```\n> https://arxiv.org/abs/2103.03206\n> ```",
        "Inline `arXiv:2103.03206` and ``https://arxiv.org/abs/1706.03762``",
        "<!-- https://arxiv.org/abs/2103.03206 -->",
        "%% arXiv:2103.03206 %%",
        "$$\n\\text{arXiv:2103.03206}\n$$",
        "[[Perceiver arXiv:2103.03206]] and [[https://arxiv.org/abs/1706.03762]]",
        "![[arXiv:2103.03206.pdf]]",
        "https://arxiv.org/list/cs.LG/recent and https://arxiv.org/a/jaegle_a_1",
        "A bare number 2103.03206 is too ambiguous to be a reference.",
        "the arXiv: page, arXiv 2024 was a good year, arXiv 2402 and arXiv 1.5",
        "arXiv 2013.01234 has month 13, arXiv 2103.032066 six digits, arXiv 2103.0320",
        "arXiv 2103.03206v and arXiv 2103.03206x are glued to letters",
        "papers.cool/arxiv/cs.AI and semanticscholar.org/arxiv/ lists, arxiv-vanity.com/papers/",
        "arXiv:cs.LG is a category",
        "https://notarxiv.org/abs/2103.03206",
        "https://arxiv.org/abs/ with nothing after",
    ],
)
def test_not_a_reference(text: str) -> None:
    assert find_references(text) == ReferenceScan((), ())


def test_skip_spans_hide_the_tools_own_regions() -> None:
    text = (
        "Mine: arXiv:2103.03206\n"
        "<!-- generated -->\nhttps://arxiv.org/abs/1706.03762\n<!-- end -->\n"
    )
    generated = (text.index("<!-- generated"), text.index("<!-- end -->") + len("<!-- end -->"))
    scan = find_references(text, skip_spans=[generated])
    assert [r.arxiv_id.key for r in scan.references] == ["2103.03206"]


# --- front matter ------------------------------------------------------------------------------


def test_front_matter_references_count_but_accept_no_insertion() -> None:
    marked = (
        "---\n"
        "layout: post\n"
        'title: "Perceiver 리뷰"\n'
        "paper: https://arxiv.org/abs/2103.03206\n"
        "arxiv: 2103.03206\n"
        "---\n"
        "# Perceiver\n"
        "본문에서 https://arxiv.org/abs/2103.03206‸ 를 다시 인용한다.\n"
    )
    check(
        marked,
        [
            Ref("2103.03206", "https://arxiv.org/abs/2103.03206", 4, insertable=False),
            Ref("2103.03206", "arxiv: 2103.03206", 5, insertable=False),
            Ref("2103.03206", "https://arxiv.org/abs/2103.03206", 8),
        ],
    )


def test_front_matter_after_a_bom_and_with_crlf() -> None:
    text = "\ufeff---\r\nsource: arXiv:1706.03762\r\n---\r\nBody arXiv:2103.03206\r\n"
    scan = find_references(text)
    assert [(r.arxiv_id.key, r.line, r.insert_at is None) for r in scan.references] == [
        ("1706.03762", 2, True),
        ("2103.03206", 4, False),
    ]
    assert text[: scan.references[1].insert_at].endswith("Body arXiv:2103.03206")


# --- a whole note ------------------------------------------------------------------------------


def test_a_korean_research_note() -> None:
    marked = (
        "---\n"
        "tags: [paper, vision]\n"
        "---\n"
        "# Perceiver 정리\n"
        "\n"
        "원문: https://arxiv.org/abs/2103.03206‸\n"
        "관련 연구로 MLP-Mixer(https://arxiv.org/abs/2105.01601‸)가 있다.\n"
        "\n"
        "```python\n"
        "# 코드 안의 링크는 무시: https://arxiv.org/abs/1706.03762\n"
        "```\n"
        "\n"
        "| 논문 | 링크 |\n"
        "|---|---|\n"
        "| Perceiver IO | https://arxiv.org/abs/2107.14795v2‸ |\n"
        "\n"
        "오타: https://arxiv.org/abs/2006.162360\n"
    )
    scan = check(
        marked,
        [
            Ref("2103.03206", "https://arxiv.org/abs/2103.03206", 6),
            Ref("2105.01601", "https://arxiv.org/abs/2105.01601", 7),
            Ref("2107.14795v2", "https://arxiv.org/abs/2107.14795v2", 15),
        ],
    )
    assert [r.in_table for r in scan.references] == [False, False, True]
    assert scan.invalid == (
        InvalidReference(
            "https://arxiv.org/abs/2006.162360",
            17,
            "6 digits after the dot; new-style ids have 4 (0704-1412) or 5 (from 1501)",
        ),
    )
    assert scan.keys == ("2103.03206", "2105.01601", "2107.14795")


# --- malformed references ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "written", "line", "reason"),
    [
        (
            "# Notes\n\nTypo: https://arxiv.org/abs/2006.162360 oops",
            "https://arxiv.org/abs/2006.162360",
            3,
            "6 digits after the dot; new-style ids have 4 (0704-1412) or 5 (from 1501)",
        ),
        ("arXiv:2013.01234", "arXiv:2013.01234", 1, "month 13 does not exist (YYMM 2013)"),
        (
            "a\nb\nhttps://arxiv.org/pdf/2103.03206v0.pdf",
            "https://arxiv.org/pdf/2103.03206v0.pdf",
            3,
            "version v0 does not exist; versions start at v1",
        ),
        (
            "[paper](https://arxiv.org/abs/2103.0320)",
            "https://arxiv.org/abs/2103.0320",
            1,
            "4 digits after the dot; new-style ids have 4 (0704-1412) or 5 (from 1501)",
        ),
        (
            "https://arxiv.org/abs/foo/1234567",
            "https://arxiv.org/abs/foo/1234567",
            1,
            "unknown arXiv archive 'foo'",
        ),
        (
            "see arXiv:0612.1234.",
            "arXiv:0612.1234",
            1,
            "new-style ids start at 0704 (April 2007); 0612 is earlier",
        ),
    ],
)
def test_malformed_references_are_reported_not_guessed(
    text: str, written: str, line: int, reason: str
) -> None:
    scan = find_references(text)
    assert scan.references == ()
    assert scan.invalid == (InvalidReference(written, line, reason),)


def test_malformed_references_in_code_are_not_reported() -> None:
    assert find_references("`https://arxiv.org/abs/2006.162360`") == ReferenceScan((), ())


# --- one reference per insertion point ---------------------------------------------------------


def test_a_link_citing_a_paper_twice_gives_one_reference() -> None:
    text = "[arXiv:2103.03206v1](https://arxiv.org/abs/2103.03206v2) and arXiv:2103.03206"
    scan = find_references(text)
    assert [(r.arxiv_id.versioned, r.insert_at) for r in scan.references] == [
        ("2103.03206v1", text.index(" and")),
        ("2103.03206", len(text)),
    ]


def test_different_papers_at_one_insertion_point_are_kept() -> None:
    text = "[arXiv:2103.03206](https://arxiv.org/abs/1706.03762)"
    scan = find_references(text)
    assert [(r.arxiv_id.key, r.insert_at) for r in scan.references] == [
        ("2103.03206", len(text)),
        ("1706.03762", len(text)),
    ]


# --- tables ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "in_table"),
    [
        ("| Paper | Link |\n|---|---|\n| P | https://arxiv.org/abs/2103.03206 |", True),
        ("| arXiv:2103.03206 | Link |\n| --- | :-: |\n| P | x |", True),
        ("Paper | Link\n--- | ---\nP | arXiv:2103.03206", True),
        ("| a | b |\n|---|---|\n| x | y |\n\narXiv:2103.03206 | after the table", False),
        ("Prose with | a pipe and arXiv:2103.03206 | more", False),
        ("| no | delimiter |\n| P | arXiv:2103.03206 |", False),
    ],
)
def test_in_table(text: str, in_table: bool) -> None:
    (reference,) = find_references(text).references
    assert reference.in_table is in_table


# --- an existing link right after the reference ------------------------------------------------


@pytest.mark.parametrize(
    ("text", "target"),
    [
        (
            "https://arxiv.org/abs/2103.03206 [[Perceiver (2103.03206)|Perceiver]]",
            "Perceiver (2103.03206)",
        ),
        ("arXiv:2103.03206[[Perceiver (2103.03206)]]", "Perceiver (2103.03206)"),
        (
            "| P | https://arxiv.org/abs/2103.03206 [[Perceiver (2103.03206)\\|P]] |\n",
            "Perceiver (2103.03206)",
        ),
        (
            "[P](https://arxiv.org/abs/2103.03206) [[Perceiver (2103.03206)#Abstract|P]]",
            "Perceiver (2103.03206)",
        ),
        ("arXiv:2103.03206 [[Perceiver (2103.03206)#^summary]]", "Perceiver (2103.03206)"),
        ("arXiv:2103.03206  [[two spaces are too far]]", None),
        ("arXiv:2103.03206 ![[an embed is not a link]]", None),
        ("arXiv:2103.03206 and [[later]]", None),
    ],
)
def test_next_wikilink(text: str, target: str | None) -> None:
    (reference,) = find_references(text).references
    assert reference.next_wikilink == target


def test_reference_records_are_plain_values() -> None:
    (reference,) = find_references("arXiv:2103.03206v2").references
    assert reference.arxiv_id == ArxivId("2103.03206", 2)
    assert (reference.start, reference.end, reference.line) == (0, 18, 1)
    assert reference.insert_at == 18
    assert not reference.in_table
    assert reference.next_wikilink is None


# --- speed -------------------------------------------------------------------------------------


def _large_note(size: int) -> str:
    paragraph = (
        "## Perceiver 정리\n"
        "원문 https://arxiv.org/abs/2103.03206 과 [MLP-Mixer](https://arxiv.org/abs/2105.01601)를"
        " 비교한다. arXiv:1706.03762 [cs.CL] 도 참고. `inline code` and **bold** text, #tag.\n"
        "\n"
        "```python\nprint('https://arxiv.org/abs/2107.14795')\n```\n"
        "| 논문 | 링크 |\n|---|---|\n| Old | hep-th/9711200 |\n\n"
        + "Plain prose about attention and transformers without any links at all. " * 20
        + "\n\n"
    )
    return paragraph * (size // len(paragraph) + 1)


def test_a_five_megabyte_note_is_scanned_completely() -> None:
    # How fast is the benchmark harness's business (benchmarks/), not a timed test's.
    text = _large_note(5_000_000)
    scan = find_references(text)
    assert len(scan.references) == 4 * (len(text) // len(_large_note(1)))


@pytest.mark.slow
@pytest.mark.parametrize(
    "text",
    [
        "arXiv:" * 200_000,
        "https://arxiv.org/abs/" * 50_000,
        "arXiv:2103." + "1" * 1_000_000,
        "hep-th/9711200 " * 70_000,
        "/1234567" * 125_000,
        "https://arxiv.org/abs/2103.03206" + "(" * 1_000_000,
        "[x](" * 250_000 + "arXiv:2103.03206",
        "arXiv 1" * 150_000,
        "arXiv 2103.03206 " * 60_000,
        "source:: arXiv:2103.03206\n" * 40_000,
        "<div>\narXiv:2103.03206\n" * 40_000,
        "[[P]](https://arxiv.org/abs/2103.03206)" * 25_000,
        "[[P]](" * 150_000 + "https://arxiv.org/abs/2103.03206",
    ],
    ids=[
        "prefixes",
        "url-prefixes",
        "long-digits",
        "many-old-ids",
        "slashes",
        "parens",
        "links",
        "spaced-prefixes",
        "spaced-ids",
        "field-lines",
        "html-blocks",
        "button-links",
        "button-starts",
    ],
)
def test_hostile_notes_stay_linear(text: str) -> None:
    started = time.perf_counter()
    find_references(text)
    assert time.perf_counter() - started < 10


# --- properties --------------------------------------------------------------------------------

_CHUNKS = [
    " ",
    " ",
    " ",
    "\n",
    "\n",
    "\n\n",
    "the ",
    "논문 ",
    "가",
    "(",
    ")",
    "[",
    "]",
    "](",
    "<",
    ">",
    "`",
    "``",
    "```",
    "~~~",
    "\n```\n",
    "%%",
    "$$",
    "<!--",
    "-->",
    "[[",
    "]]",
    "|",
    "\n|---|---|\n",
    "> ",
    "# ",
    "- ",
    "!",
    '"',
    "'",
    "*",
    "_",
    "\\",
    "#",
    "---\n",
    ".",
    ",",
    ":",
    "/",
    "\r\n",
    "https://arxiv.org/abs/2103.03206",
    "https://arxiv.org/pdf/2107.14795v2.pdf",
    "arXiv:1706.03762",
    "arXiv: 2106.12345v2 [cs.CV]",
    "hep-th/9711200",
    "math.GT/0309136",
    "https://doi.org/10.48550/arXiv.2105.01601",
    "https://arxiv.org/abs/2006.162360",
    "https://x.org/a_(b)",
    "[P](https://arxiv.org/abs/2103.03206)",
    "<https://arxiv.org/abs/2103.03206>",
    "[[Perceiver (2103.03206)|P]]",
    '<a href="https://arxiv.org/abs/1706.03762">',
    "[1]: ",
    "[[Paper]](https://arxiv.org/abs/1707.06347)",
    "[[Paper]]",
    "(https://arxiv.org/abs/1707.06347)",
    "source:: ",
    "::",
    "**links**:: ",
    "[src:: ",
    "(via:: ",
    "<div>",
    "\n<div>\n",
    "\n<pre>\n",
    "</pre>",
    "\n<span>\n",
    "arXiv 2402.17152",
    "arXiv：2603.19220",
    "**arXiv:** 2511.07399",
    "https://ar5iv.labs.arxiv.org/html/1708.02551#bib.bib39",
]

markdownish = st.lists(
    st.sampled_from(_CHUNKS) | st.text(alphabet="ab ()[]<>`|\n#-*", max_size=4), max_size=60
).map("".join)


def _assert_scan_is_consistent(text: str, scan: ReferenceScan) -> None:
    code = code_spans(text)
    wikilinks = wikilink_spans(text)
    front_matter = front_matter_span(text)
    # A line starting an HTML block ends the paragraph: no link's text runs across it.
    prose_links = link_constructs(text, exclude=html_block_spans(text))
    constructs = sorted((c.start, c.end) for c in prose_links)
    starts = [r.start for r in scan.references]
    assert starts == sorted(starts)
    for reference in scan.references:
        assert 0 <= reference.start < reference.end <= len(text)
        assert reference.line == text.count("\n", 0, reference.start) + 1
        assert not any(start <= reference.start < end for start, end in code + wikilinks)
        position = reference.insert_at
        if position is None:
            continue
        assert reference.end <= position <= len(text)
        assert not strictly_inside(position, code)
        assert not strictly_inside(position, wikilinks)
        assert not any(start < position < end for start, end in constructs)
        assert front_matter is None or position >= front_matter[1]
    for invalid in scan.invalid:
        assert invalid.text in text
        assert invalid.reason


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(markdownish)
@example("[a `b](c` d)e https://arxiv.org/abs/2103.03206")
@example("---\narXiv:1706.03762\n---\n[x](arXiv:2103.03206 'a')")
@example("<!--\n```\n-->arXiv:1706.03762\n```")
@example("[arXiv 2402.17152\n<div>\n]()")
def test_scans_never_fail_and_never_point_inside_a_construct(text: str) -> None:
    _assert_scan_is_consistent(text, find_references(text))


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(markdownish)
def test_a_link_inserted_at_insert_at_is_found_next_time(text: str) -> None:
    scan = find_references(text)
    edited = text
    for position in sorted({r.insert_at for r in scan.references if r.insert_at is not None})[::-1]:
        edited = edited[:position] + " [[P]]" + edited[position:]
    rescan = find_references(edited)
    assert [r.arxiv_id for r in rescan.references] == [r.arxiv_id for r in scan.references]
    for before, after in zip(scan.references, rescan.references, strict=True):
        assert (after.insert_at is None) == (before.insert_at is None)
        if after.insert_at is not None:
            assert after.next_wikilink == "P"


_FORMS = [
    "https://arxiv.org/abs/2103.03206",
    "http://export.arxiv.org/abs/hep-th/9711200v2",
    "https://www.arxiv.org/pdf/2107.14795v2.pdf",
    "arXiv.org/abs/2103.03206",
    "https://dx.doi.org/10.48550/arXiv.2105.01601",
    "10.48550/ARXIV.1706.03762",
    "https://www.alphaxiv.org/abs/2103.03206",
    "https://HuggingFace.co/papers/2103.03206",
    "https://ar5iv.labs.arxiv.org/html/1706.03762",
    "ar5iv.org/abs/1706.03762",
    "arXiv:",
    "ARXIV: 2103.03206",
    "arxiv:math.GT/0309136",
    "cond-mat.mes-hall/0102536",
    "hep-th/9711200",
    "/1234567",
    "2103.03206",
    "v2",
    ".pdf",
    "https://browse.arxiv.org/pdf/1611.03530",
    "www.arxiv-vanity.com/papers/",
    "papers.cool/arxiv/",
    "https://www.semanticscholar.org/arxiv/",
    "arXiv ",
    "ARXIV 2402.17152",
    "arXiv：",
    "**arXiv:** ",
    "arXiv**: ",
    "#bib.bib3",
]


@settings(max_examples=300)
@given(
    st.lists(
        st.sampled_from(_FORMS)
        | st.sampled_from(["", " ", "\n", "/", ".", "-", "_", "(", "x", "가", ":"]),
        max_size=30,
    ).map("".join)
)
def test_anchored_search_finds_exactly_what_the_full_pattern_finds(text: str) -> None:
    # find_references only runs its pattern near literal anchors, for speed; that must never
    # change what is found.
    assert [m.span() for m in _reference_matches(text)] == [
        m.span() for m in _REFERENCE.finditer(text)
    ]


# Fragments whose inside must never receive a link, and whose references are never found.
_SEALED = [
    "`arXiv:1901.00001`",
    "\n```\nhttps://arxiv.org/abs/1901.00002\n```\n",
    "\n~~~md\n[x](https://arxiv.org/abs/1901.00003)\n~~~\n",
    "<!-- arXiv:1901.00004 -->",
    "%% https://arxiv.org/abs/1901.00005 %%",
    "$$ arXiv:1901.00006 $$",
    "[[Perceiver arXiv:1901.00007]]",
    "[[Perceiver arXiv 1901.00008]]",
]
# Fragments that may hold a reference but whose inside must never receive a link.
_ATOMIC = [
    "[Perceiver](https://arxiv.org/abs/2103.03206)",
    '[arXiv:1706.03762](https://arxiv.org/abs/1706.03762 "title")',
    "![fig](https://arxiv.org/html/2103.03206v2/x1.png)",
    "<https://arxiv.org/abs/2105.01601>",
    '<a href="https://arxiv.org/abs/2107.14795">',
    "[[Paper]](https://arxiv.org/abs/1707.06347)",
    "![[fig]](https://arxiv.org/abs/1707.06347 'PPO')",
    # Whole lines and blocks: no link anywhere inside, nor at the end of their last line.
    "\nsource:: https://arxiv.org/abs/2310.03714\n",
    "\n- **links**:: arXiv:2311.16867\n",
    "[via:: https://arxiv.org/abs/2310.03714]",
    "(via:: arXiv 2310.03714)",
    '\n\n<div>\n<a href="https://arxiv.org/abs/2508.03782">arXiv: 2508.03782v1</a>\n</div>\n',
    "\n\n<pre>\narXiv:2508.03782\n\narXiv:2103.03206\n</pre>\n",
]
_PROSE = [
    "arXiv:2103.03206",
    "https://arxiv.org/abs/2105.01601",
    "(https://arxiv.org/abs/2105.01601)가",
    "hep-th/9711200",
    "the model",
    "논문에서 제안한",
    "**bold**",
]


@settings(max_examples=200)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(_SEALED + _ATOMIC + _PROSE), st.sampled_from([" ", "\n", "\n\n"])
        ),
        max_size=25,
    )
)
def test_built_notes_keep_code_sealed_and_constructs_whole(
    fragments: list[tuple[str, str]],
) -> None:
    text = ""
    sealed: list[tuple[int, int]] = []
    atomic: list[tuple[int, int]] = []
    for fragment, separator in fragments:
        start = len(text)
        text += fragment + separator
        if fragment in _SEALED:
            sealed.append((start, start + len(fragment)))
        elif fragment in _ATOMIC:
            atomic.append((start, start + len(fragment)))
    scan = find_references(text)
    assert not any(r.arxiv_id.key.startswith("1901.") for r in scan.references)
    for reference in scan.references:
        if reference.insert_at is not None:
            assert not any(start < reference.insert_at < end for start, end in sealed + atomic)


# Link shapes, and what may stand right before or after one: brackets, and backslashes that
# escape its first bracket or only each other.
_LINK_SHAPES = [
    "[[Paper]]({})",
    '[[arXiv]]({} "title")',
    "[x]({})",
    "![fig]({})",
    "<{}>",
    "[[Paper]({})]",
]
_NEIGHBOURS = ["", " ", "x", "\\", "\\\\", "[", "\\[", "[\\", "]", "\\]", "!", "\\!", "(", ")"]


@settings(max_examples=300)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(_NEIGHBOURS),
            st.sampled_from(_LINK_SHAPES),
            st.sampled_from(_NEIGHBOURS),
        ),
        min_size=1,
        max_size=6,
    )
)
@example([("\\", "[[Paper]]({})", "")])  # found by the reliability property test
def test_brackets_and_backslashes_around_a_link_never_let_a_link_inside_it(
    pieces: list[tuple[str, str, str]],
) -> None:
    text = ""
    shapes: list[tuple[int, int]] = []
    for number, (before, shape, after) in enumerate(pieces):
        text += before
        written = shape.format(f"https://arxiv.org/abs/1501.{number + 1:05d}")
        shapes.append((len(text), len(text) + len(written)))
        text += written + after
    scan = find_references(text)
    assert len(scan.references) == len(pieces)
    _assert_scan_is_consistent(text, scan)
    for reference in scan.references:
        if reference.insert_at is not None:
            assert not any(start < reference.insert_at < end for start, end in shapes), text


@pytest.mark.parametrize(
    "text",
    [
        "# Notes on https://arxiv.org/abs/2103.03206\n",
        "## arXiv:2103.03206 revisited\n",
        "   ### [Perceiver](https://arxiv.org/abs/2103.03206)\n",
    ],
)
def test_a_reference_in_a_heading_counts_but_gets_no_link(text: str) -> None:
    """A link added to a heading would change its anchor and break [[Note#Heading]] links."""
    (reference,) = find_references(text).references
    assert reference.arxiv_id.key == "2103.03206"
    assert reference.insert_at is None


def test_a_hash_tag_line_is_not_a_heading() -> None:
    (reference,) = find_references("#review https://arxiv.org/abs/2103.03206\n").references
    assert reference.insert_at is not None
