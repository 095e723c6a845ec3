"""Ranking settings: every knob of the ranking layer, typed, range-checked and documented."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from recommender.errors import SettingsError
from recommender.options import check_names, coerce_fields, field_options, query_schemas

SECONDS_PER_DAY = 86_400.0
RecencyReference = Literal["source", "now"]

# (lowest, highest, whether the lowest itself is excluded) of every numeric setting; None when
# open. The same check runs for the config file, the CLI and the HTTP query string, because all
# three build a RankingSettings. Upper bounds keep sums of weighted components finite (a weight
# of 1e308 made scores infinite) and requests bounded in memory (candidate_pool).
RANGES: dict[str, tuple[float | None, float | None, bool]] = {
    "weight_*": (0.0, 1e6, False),
    "half_life_days": (0.0, 1e6, True),
    "max_age_days": (0.0, None, False),
    "min_shared_tags": (0, None, False),
    "dedupe_threshold": (0.0, 1.0, False),
    "dedupe_min_lexical": (0.0, 1.0, False),
    "dedupe_window_threshold": (0.0, 1.0, False),
    "dedupe_window_days": (0.0, None, False),
    "dedupe_window_min_lexical": (0.0, 1.0, False),
    "dedupe_certain_threshold": (0.0, 1.0, False),
    "mmr_lambda": (0.0, 1.0, False),
    "min_relatedness": (-1.0, 1.0, False),
    "candidate_pool": (1, 100_000, False),
}


def _check_range(
    name: str, value: float | None, low: float | None, high: float | None, open_low: bool
) -> None:
    """:class:`SettingsError` naming the setting and its range when ``value`` is outside."""
    if value is None:
        return
    below = low is not None and (value <= low if open_low else value < low)
    above = high is not None and value > high
    if not (below or above):
        return
    if open_low and low == 0:
        wanted = "positive"
    elif open_low:
        wanted = f"more than {low:g}"
    else:
        wanted = f"at least {low:g}" if low is not None else ""
    if high is not None:
        wanted = f"between {low:g} and {high:g}" if not open_low else f"{wanted}, at most {high:g}"
    raise SettingsError(f"{name} must be {wanted}, got {value!r}")


@dataclass(frozen=True)
class RankingSettings:
    """Named, documented knobs (``[ranking]`` in ``recommender.toml``; per call as keywords).

    Defaults: similarity leads; lexical evidence, recency, category and tags adjust. A related
    story typically has dense cosine 0.45-0.75 with all-MiniLM-L6-v2, an unrelated one
    0.0-0.25; the adjustments reorder close calls without lifting an unrelated story over a
    related one. See README ("How ranking works") for how the defaults were chosen.
    """

    # -- weights of the normalized components
    weight_similarity: float = 1.0
    """Dense cosine of the embeddings, in [-1, 1]."""
    weight_lexical: float = 0.5
    """TF-IDF cosine (names counted double), in [0, 1]."""
    weight_topic: float = 1.0
    """Topic cosine (the articles' words keep company across the site, storage/topics.py), in
    [-1, 1]. Chosen with ``weight_lexical`` on development data only: Lee50 pairs among
    documents 1-25 and ECB+ topics 1-35 (benchmarks/lee_experiments.py, README "How ranking
    works")."""
    weight_recency: float = 0.10
    """0.5 ** (age / half_life), in [0, 1]."""
    weight_category: float = 0.05
    """1 when the candidate shares the source's category."""
    weight_tags: float = 0.05
    """Share of the source's tag weight (rare tags weigh more) the candidate shares, in [0, 1]."""

    # -- recency
    half_life_days: float = 90.0
    recency_reference: RecencyReference = "source"
    """Age measured against the source article's date ("source") or the current time ("now")."""
    max_age_days: float | None = None
    """Hard window: nothing older than this (against the reference point)."""
    only_older: bool = False
    """Only articles published before the source ("see also from the archive")."""
    only_newer: bool = False
    """Only articles published after the source (follow-ups)."""
    evergreen_tag: str | None = "evergreen"
    """Articles with this tag (or a true ``evergreen`` field) are exempt from decay and max age."""

    # -- category, tags, language
    same_category_only: bool = False
    categories_allow: tuple[str, ...] = ()
    """If not empty, only these categories may be recommended."""
    categories_deny: tuple[str, ...] = ()
    min_shared_tags: int = 0
    same_language: bool = True
    """When both articles carry a language, they must match."""

    # -- duplicates and diversity
    dedupe: bool = True
    dedupe_threshold: float = 0.90
    """Dense cosine at or above which two articles are one story (reposts, copies), whatever
    the time between them, when their words agree too (``dedupe_min_lexical``)."""
    dedupe_min_lexical: float = 0.675
    """TF-IDF cosine a pair above ``dedupe_threshold`` also needs to be one story: a follow-up
    months later about the same people reaches the dense threshold with new facts in new
    words; a repost repeats the words. Chosen on labelled pairs (benchmarks/copies.py)."""
    dedupe_window_threshold: float = 0.80
    """A lower cosine that also makes two articles one story when published close together
    (wire copies and updates of the same news cycle; follow-ups and replies that quote the
    story, days later, stay apart). Thresholds and window chosen on labelled pairs
    (benchmarks/copies.py)."""
    dedupe_window_days: float = 1.0
    dedupe_window_min_lexical: float = 0.40
    """TF-IDF cosine a pair within the window also needs to be one story: other outlets' own
    reports of one event, the same day, reach the window's dense threshold in other words
    (TF-IDF cosine 0.3-0.4); wire copies and updates reuse the text. 0 turns it off.
    Chosen on labelled pairs (benchmarks/copies.py) and ECB+ development topics
    (benchmarks/real_corpora.py)."""
    dedupe_certain_threshold: float = 0.92
    """Dense cosine at or above which two articles published within the window, or one of them
    undated, are copies whatever their words (wire copies cut to different lengths share the
    lead but not all the words; without it ECB+ showed a duplicate in one list of ten). 1: off."""
    mmr_lambda: float = 1.0
    """Maximal marginal relevance: 1 = pure relevance, lower = more diverse lists."""

    # -- relatedness floor, fallback and candidates
    min_relatedness: float = 0.175
    """The floor: a candidate whose relatedness (the content evidence: weighted mean of dense
    cosine, lexical cosine and topic cosine, ``why.relatedness``) is below it is not shown, so
    a list may be shorter than k, or empty. Calibrated on Lee50's human ratings and the demo
    gold set (README, "The relatedness floor"); -1 turns it off."""
    fallback: tuple[str, ...] = ()
    """Fill order when filters or the floor leave fewer than k, only if the site asks for it
    (e.g. ``["same_category", "recent"]``: recent in the source's category, then recent); the
    filled results are marked ``why.fallback`` and need not clear the floor."""
    candidate_pool: int = 100
    """Nearest neighbours fetched before re-ranking (grown automatically when filters bite)."""

    def __post_init__(self) -> None:
        coerce_fields(self)  # config files, query strings and JSON are untyped; finite numbers
        for f in dataclasses.fields(self):
            bounds = RANGES.get("weight_*" if f.name.startswith("weight_") else f.name)
            if bounds is not None:
                _check_range(f.name, getattr(self, f.name), *bounds)
        if self.recency_reference not in ("source", "now"):
            raise SettingsError("recency_reference must be 'source' or 'now'")
        if self.only_older and self.only_newer:
            raise SettingsError("only_older and only_newer exclude each other")
        unknown = set(self.fallback) - {"same_category", "recent"}
        if unknown:
            raise SettingsError(f"unknown fallback(s) {sorted(unknown)}: use same_category, recent")

    def replace(self, **options: Any) -> RankingSettings:
        """A copy with some settings changed; unknown names are an error."""
        check_names(RankingSettings, options)
        return dataclasses.replace(self, **options)

    def to_dict(self) -> dict[str, Any]:
        return {
            k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, strict: bool = False) -> RankingSettings:
        known = field_options(cls)
        if strict:
            check_names(cls, data)
        return cls(**{k: v for k, v in data.items() if k in known})


def query_schemas_with_ranges() -> dict[str, dict[str, Any]]:
    """The OpenAPI schema of every setting as a query parameter, with its range (RANGES) and
    the allowed fallback names: the document promises what the checks enforce."""
    schemas = query_schemas(RankingSettings)
    for name, schema in schemas.items():
        bounds = RANGES.get("weight_*" if name.startswith("weight_") else name)
        if bounds is not None:
            low, high, open_low = bounds
            if low is not None:
                schema["exclusiveMinimum" if open_low else "minimum"] = low
            if high is not None:
                schema["maximum"] = high
    schemas["fallback"]["items"] = {"type": "string", "enum": ["same_category", "recent"]}
    return schemas
