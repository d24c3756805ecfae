"""`vaultpapers related`: why a paper is related to others, offline and read-only."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from vaultpapers.arxiv.ids import parse_arxiv_id
from vaultpapers.arxiv.papers import Paper, Resolution
from vaultpapers.config import Settings
from vaultpapers.markdown.properties import find_front_matter
from vaultpapers.notes.paper_note import section_text
from vaultpapers.plan.planner import Plan, plan_link
from vaultpapers.relations.detect import Explanation, explain_paper
from vaultpapers.run.sources import cache_path, open_cache
from vaultpapers.scan.note import NoteScan, named_paper, scan_or_report
from vaultpapers.vaultfs.files import read_vault


@dataclass(frozen=True)
class RelatedExplained:
    """`vaultpapers related`: the explanation, the entries the user added to the paper's
    related list or vetoed, and the titles of the papers named."""

    explanation: Explanation
    added_by_you: list[str]
    removed_by_you: list[str]
    titles: dict[str, str]

    @property
    def lines(self) -> list[str]:
        return [
            *self.explanation.lines,
            *(f"your word: {entry}" for entry in self.added_by_you),
            *(f"removed by you (listed in `unrelated`): {entry}" for entry in self.removed_by_you),
        ]


def explain_related(vault: Path, settings: Settings, arxiv_id: str) -> RelatedExplained:
    """Why a paper is related to others in this vault: its name, its series, each detected
    relation with its reason, and what the user added or vetoed. Offline, writes nothing.

    Raises InvalidArxivId for a malformed id and LookupError for a paper without metadata.
    """
    key = parse_arxiv_id(arxiv_id).key
    notes, _ = read_vault(vault, settings)
    scans = [scan_or_report(note) for note in notes]
    keys = {k for scan in scans for k in (scan.paper_key, scan.names_paper) if k} | {key}
    papers: dict[str, Paper] = {}
    if cache_path(vault).is_file():  # read-only: no cache is made to find out there is none
        with open_cache(vault) as cache:
            papers = cache.get_many(keys)
    if key not in papers:
        raise LookupError(f"no metadata for arXiv {key} yet; run `vaultpapers link` first")
    library = [paper for k, paper in papers.items() if k in keys]
    explanation = explain_paper(key, library)
    plan = plan_link(scans, Resolution(papers), settings)
    text = _text_after(plan, scans, key)
    section = section_text(text, "related") if text else None
    own = [ln[2:] for ln in (section or "").splitlines() if ln.startswith("- ") and "you " in ln]
    front = find_front_matter(text) if text else None
    vetoed = (front.data or {}).get("unrelated") if front else None
    removed = [str(entry) for entry in vetoed] if isinstance(vetoed, list) else []
    return RelatedExplained(explanation, own, removed, {p.arxiv_id: p.title for p in library})


def _text_after(plan: Plan, scans: list[NoteScan], key: str) -> str | None:
    """The paper note's text once the plan is applied (or as it is, if nothing changes)."""
    for write in plan.writes:
        # (A paper note's write carries its text, or renders it: none gains links alone.)
        text = write.new_text("") if write.kind in ("paper", "own") else None
        front = find_front_matter(text) if text is not None else None
        data = front.data if front is not None else None
        if data and key in (data.get("arxiv_id"), named_paper(data)):
            return text
    note = next((scan.note for scan in scans if key in (scan.paper_key, scan.names_paper)), None)
    return note.text if note else None
