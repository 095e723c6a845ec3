"""What an upsert must do with each article it is given: a pure function, tested by hand."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from recommender.articles import Article


@dataclass(frozen=True)
class UpsertPlan:
    """Positions (into the given articles) by what an upsert must do with them."""

    new: tuple[int, ...]  # ids not in the index: embed and add
    changed_text: tuple[int, ...]  # indexed, text differs: embed and replace
    metadata_only: tuple[int, ...]  # indexed, same text, other fields differ: reuse the vector
    unchanged: tuple[int, ...]  # indexed exactly as given: nothing to do

    @property
    def to_embed(self) -> tuple[int, ...]:
        return tuple(sorted(self.new + self.changed_text))

    @property
    def written(self) -> tuple[int, ...]:
        """Every article the new version must (re)write, in input order."""
        return tuple(sorted(self.new + self.changed_text + self.metadata_only))


def plan_upsert(
    articles: Sequence[Article],
    hashes: Sequence[str],
    stored_hashes: Mapping[str, str],
    stored: Callable[[Sequence[str]], Sequence[Article]],
) -> UpsertPlan:
    """Sort articles by what an upsert must do: a pure function of what is given and stored.

    ``stored_hashes``: text hash by indexed id; ``stored(ids)``: the indexed articles of those
    ids (only called for ids whose text is unchanged, to compare their other fields).
    """
    new, changed, same_text = [], [], []
    for i, (article, digest) in enumerate(zip(articles, hashes, strict=True)):
        known = stored_hashes.get(article.id)
        if known is None:
            new.append(i)
        elif known != digest:
            changed.append(i)
        else:
            same_text.append(i)
    old = stored([articles[i].id for i in same_text]) if same_text else []
    unchanged = [i for i, before in zip(same_text, old, strict=True) if before == articles[i]]
    metadata = [i for i, before in zip(same_text, old, strict=True) if before != articles[i]]
    return UpsertPlan(tuple(new), tuple(changed), tuple(metadata), tuple(unchanged))
