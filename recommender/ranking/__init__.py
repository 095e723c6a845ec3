"""The ranking layer: settings, pure signal functions, filters, duplicate collapse, editorial
rules, and the ranker that puts them together for one loaded version.

    settings.py   RankingSettings (every knob, typed and range-checked)
    signals.py    recency, category, tags, combine, MMR: pure, normalized functions
    filters.py    hard and soft candidate masks (language, windows, sections)
    dedupe.py     the one rule for "copies of one story"
    rules.py      editorial rules: pins, blocks, never-pair, blocked sections
    ranker.py     candidates -> filters -> scores -> collapse -> MMR -> fallback -> pins
"""

from __future__ import annotations

from recommender.ranking.settings import SECONDS_PER_DAY, RankingSettings

__all__ = ["SECONDS_PER_DAY", "RankingSettings"]
