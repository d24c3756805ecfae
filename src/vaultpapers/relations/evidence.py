"""What, beyond a shared name, says that a mention of a name means a given paper.

Different groups reuse names: "MSA" is memory sparse attention in one paper and multi-head
self-attention in the next abstract; a 2025 explainer is titled "ResNet: ..."; "SSD" was a
detector years before a decoding method took the name. A name alone links two papers only when
nothing in their metadata speaks against it:

- dates: a paper cannot mention a name before the named paper existed, so a name in use well
  before its paper appeared was borrowed by that paper, not coined;
- what the mentioning text says the acronym stands for, against what the named paper says;
- for an acronym, the fields (arXiv categories) and the days another group needs to read a
  paper before it can build on it;
- shared authors: the same group reusing its own name is its own evidence (and makes the later
  paper a successor).
"""

from __future__ import annotations

from datetime import timedelta

from vaultpapers.arxiv.papers import Paper
from vaultpapers.relations.aliases import expansion_in, same_expansion, title_expansion

# A model is often talked about before its report reaches arXiv (DeepSeek-V4, Seedance 2.0 were
# mentioned a few weeks early); a name in use longer before its paper was not coined there.
EARLY_MENTION = timedelta(days=62)
# An acronym names a method, not a product announced ahead: another group's paper can only use
# it once it has read the paper, which takes more than a few days.
READING_TIME = timedelta(days=7)


def before_it_existed(mentioner: Paper, named: Paper, name: str) -> bool:
    """Whether `mentioner` was written before `named` (and its name) existed."""
    written = max(mentioner.published, mentioner.updated)
    if is_acronym(name):
        return written < named.published
    return written < named.published - EARLY_MENTION


def too_soon(mentioner: Paper, named: Paper, name: str) -> bool:
    """Whether another group mentions an acronym too soon after its paper appeared to mean it."""
    return is_acronym(name) and mentioner.published < named.published + READING_TIME


def meaning_of(paper: Paper, name: str) -> str | None:
    """What the paper's own title or abstract says `name` stands for."""
    return title_expansion(paper.title, name) or expansion_in(paper.summary, name)


def other_meaning(mentioner: Paper, named: Paper, name: str) -> str | None:
    """Why `name` in `mentioner` is not `named`'s name, going by what it stands for: the
    mentioner spells it out, and not as the named paper does. None when nothing says so."""
    theirs = expansion_in(mentioner.title, name) or expansion_in(mentioner.summary, name)
    if theirs is None:
        return None
    own = meaning_of(named, name)
    if own is not None and same_expansion(theirs, own):
        return None
    if own is None:
        return f'{mentioner.arxiv_id} spells "{name}" out as "{theirs}", {named.arxiv_id} does not'
    return f'"{name}" is "{theirs}" in {mentioner.arxiv_id} but "{own}" in {named.arxiv_id}'


def is_acronym(name: str) -> bool:
    """All capitals, an optional plural 's' aside: "SSD", "BRIGHT", "ARMs"."""
    letters = name.removesuffix("s") if len(name) > 2 else name
    return letters.isalpha() and letters.isupper()


def outside_field(mentioner: Paper, named: Paper) -> bool:
    """True when the named paper's primary category is none of the mentioner's categories
    (both known): an acronym there is most likely another field's."""
    primary = named.primary_category or (named.categories[0] if named.categories else "")
    return bool(primary and mentioner.categories) and primary not in mentioner.categories
